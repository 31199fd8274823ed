/*
 * GUIDs as UEFI stores them (UEFI 2.10 appendix A, EFI_GUID): 16 bytes
 * whose first three fields (32, 16 and 16 bits) are little-endian and whose
 * last 8 bytes are in text order. That is the byte order of GPT headers and
 * entries, device path nodes and variable headers, so a struct guid can be
 * copied to and from them directly.
 *
 * Text form (RFC 4122): "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; parsed
 * case-insensitively, printed in lower case as edk2 and Linux do.
 */
#ifndef POLYBOOT_COMMON_GUID_H
#define POLYBOOT_COMMON_GUID_H

#include <stdbool.h>
#include <stdint.h>

#define GUID_TEXT_LEN 37	/* 36 characters and the NUL */

struct guid {
	uint8_t b[16];
};

/* Parses the 36-character text form (nothing before or after it).
 * Returns 0 or -EINVAL. */
int guid_parse(const char *s, struct guid *g);

/* Writes the lower-case text form and a NUL. */
void guid_format(const struct guid *g, char out[GUID_TEXT_LEN]);

bool guid_eq(const struct guid *a, const struct guid *b);
bool guid_is_zero(const struct guid *g);

#endif
