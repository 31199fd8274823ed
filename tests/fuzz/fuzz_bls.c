/*
 * libFuzzer: the BLS entry, os-release and grubenv parsers on the input,
 * and the version comparison and menu order on parts of it. Besides memory
 * safety it checks that both orders are antisymmetric (qsort needs that)
 * and that every string comes back NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disc/bls.h"

static int sgn(int v)
{
	return (v > 0) - (v < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct bls_entry *e = calloc(2, sizeof(*e));
	struct grubenv *g = malloc(sizeof(*g));
	struct osrel *o = malloc(sizeof(*o));
	char why[96], a[256], b[256];
	size_t half = size / 2, na, nb;

	if (!e || !g || !o)
		goto out;
	bls_parse(text, size, &e[0], why, sizeof(why));
	if (strnlen(why, sizeof(why)) == sizeof(why) || e[0].ninitrd > BLS_MAX_INITRD ||
	    strnlen(e[0].options, sizeof(e[0].options)) == sizeof(e[0].options))
		__builtin_trap();
	bls_parse(text + half, size - half, &e[1], NULL, 0);
	osrel_parse(text, size, o);
	if (strnlen(o->pretty_name, sizeof(o->pretty_name)) == sizeof(o->pretty_name))
		__builtin_trap();
	if (grubenv_parse(text, size, g) == 0) {
		if (g->nvars > GRUBENV_MAX_VARS)
			__builtin_trap();
		for (unsigned i = 0; i < g->nvars; i++)
			if (grubenv_get(g, g->vars[i].name) == NULL)
				__builtin_trap();
	}

	/* version strings: the two halves of the input */
	na = half < sizeof(a) - 1 ? half : sizeof(a) - 1;
	nb = size - half < sizeof(b) - 1 ? size - half : sizeof(b) - 1;
	memcpy(a, text, na);
	a[na] = 0;
	memcpy(b, text + half, nb);
	b[nb] = 0;
	if (sgn(bls_vercmp(a, b)) != -sgn(bls_vercmp(b, a)) || bls_vercmp(a, a) != 0)
		__builtin_trap();

	/* menu order, with file names from the input too */
	memcpy(e[0].filename, a, strnlen(a, sizeof(e[0].filename) - 1));
	memcpy(e[1].filename, b, strnlen(b, sizeof(e[1].filename) - 1));
	if (sgn(bls_compare(&e[0], &e[1])) != -sgn(bls_compare(&e[1], &e[0])) ||
	    bls_compare(&e[0], &e[0]) != 0)
		__builtin_trap();
out:
	free(e);
	free(g);
	free(o);
	return 0;
}
