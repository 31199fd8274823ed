/*
 * libFuzzer: pe_parse() on a file made from the input, then every section
 * read back (up to 1 MiB) and the UKI sections looked up.
 */
#include <stdlib.h>
#include <string.h>

#include "disc/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pe_info *pe = malloc(sizeof(*pe));
	struct vol_mem m;
	struct vol v;
	char why[128];

	if (!pe)
		return 0;
	vol_from_mem(&v, &m, data, size);
	if (pe_parse(&v, pe, why, sizeof(why)) == 0) {
		if (pe->nsect > PE_MAX_SECTIONS)
			__builtin_trap();
		for (unsigned i = 0; i < pe->nsect; i++) {
			char *buf;
			size_t len;

			if (pe_read_section(&v, &pe->sect[i], 1 << 20, &buf, &len) == 0) {
				if (buf[len] != 0)
					__builtin_trap();
				free(buf);
			}
		}
		(void)pe_is_uki(pe);
		(void)pe_is_efi(pe);
		(void)pe_find(pe, ".osrel");
		(void)pe_machine_name(pe->machine);
	}
	free(pe);
	return 0;
}
