/*
 * UTF-16LE <-> UTF-8 for the strings firmware stores as CHAR16: GPT
 * partition names (UEFI 2.10 section 5.3.3), load option descriptions and
 * file path nodes (sections 3.1.3 and 10.3.5.4).
 *
 * UTF-16 read from disks and variables is untrusted and only ever shown
 * or compared, so decoding never fails: an unpaired surrogate becomes
 * U+FFFD and a C0 control character or DEL becomes '?', which keeps
 * terminal escapes out of listings. Encoding is strict: malformed UTF-8
 * (overlong forms, surrogates, code points past U+10FFFF) is rejected.
 */
#ifndef POLYBOOT_COMMON_UTF16_H
#define POLYBOOT_COMMON_UTF16_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes at most @units code units at @in (stopping early at a NUL unit)
 * into @out as NUL-terminated UTF-8. Output that does not fit in @outlen
 * bytes is cut at a character boundary. @outlen must be at least 1.
 * Returns the length of the UTF-8 string written.
 */
size_t utf16le_to_utf8(char *out, size_t outlen, const uint8_t *in, size_t units);

/*
 * Encodes the NUL-terminated UTF-8 string @in as UTF-16LE into @out, at
 * most @max_units code units, without a terminator. Returns the number of
 * units written, -EINVAL for malformed UTF-8, or -ENAMETOOLONG if it needs
 * more than @max_units.
 */
int utf8_to_utf16le(uint8_t *out, size_t max_units, const char *in);

#endif
