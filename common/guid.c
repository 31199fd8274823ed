#include "guid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Byte index in struct guid of each pair of hex digits in the text form:
 * the first three fields are stored little-endian. */
static const uint8_t text_to_byte[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

int guid_parse(const char *s, struct guid *g)
{
	struct guid t;

	for (unsigned i = 0; i < 16; i++) {
		int hi, lo;

		if ((i == 4 || i == 6 || i == 8 || i == 10) && *s++ != '-')
			return -EINVAL;
		/* Stops at a NUL: nothing past the end of @s is read. */
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return -EINVAL;
		t.b[text_to_byte[i]] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (*s)
		return -EINVAL;
	*g = t;
	return 0;
}

void guid_format(const struct guid *g, char out[GUID_TEXT_LEN])
{
	const uint8_t *b = g->b;

	snprintf(out, GUID_TEXT_LEN, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 get_le32(b), get_le16(b + 4), get_le16(b + 6), b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

bool guid_eq(const struct guid *a, const struct guid *b)
{
	return !memcmp(a->b, b->b, sizeof(a->b));
}

bool guid_is_zero(const struct guid *g)
{
	static const struct guid zero;
	return guid_eq(g, &zero);
}
