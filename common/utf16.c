#include "utf16.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"

static bool is_high_surrogate(uint32_t c)
{
	return c >= 0xd800 && c < 0xdc00;
}

static bool is_low_surrogate(uint32_t c)
{
	return c >= 0xdc00 && c < 0xe000;
}

/* Writes @c (a Unicode scalar value) as UTF-8; returns its length. */
static size_t utf8_put(uint32_t c, char out[4])
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

size_t utf16le_to_utf8(char *out, size_t outlen, const uint8_t *in, size_t units)
{
	size_t n = 0;

	for (size_t i = 0; i < units; i++) {
		uint32_t c = get_le16(in + 2 * i);
		char enc[4];
		size_t k;

		if (!c)
			break;
		if (is_high_surrogate(c) && i + 1 < units &&
		    is_low_surrogate(get_le16(in + 2 * (i + 1)))) {
			c = 0x10000 + ((c - 0xd800) << 10) + (get_le16(in + 2 * (i + 1)) - 0xdc00);
			i++;
		} else if (is_high_surrogate(c) || is_low_surrogate(c)) {
			c = 0xfffd;
		} else if (c < 0x20 || c == 0x7f) {
			c = '?';
		}
		k = utf8_put(c, enc);
		if (k >= outlen - n)
			break;
		memcpy(out + n, enc, k);
		n += k;
	}
	out[n] = 0;
	return n;
}

/* Decodes one character at *@s and advances past it (RFC 3629 section 4). */
static int utf8_get(const uint8_t **s, uint32_t *cp)
{
	const uint8_t *p = *s;
	uint32_t c = p[0], min;
	unsigned more;

	if (c < 0x80) {
		more = 0;
		min = 0;
	} else if ((c & 0xe0) == 0xc0) {
		more = 1;
		min = 0x80;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		more = 2;
		min = 0x800;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		more = 3;
		min = 0x10000;
		c &= 0x07;
	} else {
		return -EINVAL;
	}
	/* A NUL fails the continuation test, so this never reads past it. */
	for (unsigned i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -EINVAL;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || is_high_surrogate(c) || is_low_surrogate(c))
		return -EINVAL;
	*cp = c;
	*s = p + 1 + more;
	return 0;
}

int utf8_to_utf16le(uint8_t *out, size_t max_units, const char *in)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t n = 0;

	while (*s) {
		uint32_t c;

		if (utf8_get(&s, &c) < 0)
			return -EINVAL;
		if (c >= 0x10000) {
			if (max_units - n < 2)
				return -ENAMETOOLONG;
			c -= 0x10000;
			put_le16(out + 2 * n++, (uint16_t)(0xd800 | c >> 10));
			put_le16(out + 2 * n++, (uint16_t)(0xdc00 | (c & 0x3ff)));
		} else {
			if (max_units - n < 1)
				return -ENAMETOOLONG;
			put_le16(out + 2 * n++, (uint16_t)c);
		}
	}
	return (int)n;
}
