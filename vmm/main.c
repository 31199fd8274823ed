/* polyvmm entry point: placeholder until the machine is wired (issue 3). */
#include <stdio.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "polyvmm: not implemented yet\n");
	return 1;
}
