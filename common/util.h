/* Small helpers shared by polyvmm and polyboot. All return 0 or -errno. */
#ifndef POLYBOOT_COMMON_UTIL_H
#define POLYBOOT_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define __must_check __attribute__((warn_unused_result))

/* Full read/write at an offset, retrying short transfers and EINTR. */
int pread_full(int fd, void *buf, size_t len, off_t off) __must_check;
int pwrite_full(int fd, const void *buf, size_t len, off_t off) __must_check;
int write_full(int fd, const void *buf, size_t len) __must_check;

/*
 * Parses a size such as "4096", "512K", "256M", "4G" (binary units) into
 * bytes. Returns -EINVAL for anything else, -ERANGE on overflow.
 */
int parse_size(const char *s, uint64_t *out) __must_check;
/* The same, decimal digits only (no 0x, no octal: "0512M" is 512 MiB). */
int parse_size_dec(const char *s, uint64_t *out) __must_check;
/* Decimal digits only, up to @max: 0, -EINVAL or -ERANGE. */
int parse_dec(const char *s, uint64_t max, uint64_t *out) __must_check;
/* Parses an unsigned decimal or 0x-hex number that must fit in @max. */
int parse_u64(const char *s, uint64_t max, uint64_t *out) __must_check;

/*
 * Replaces @path atomically with @len bytes of @data: writes @path.tmp,
 * fsyncs it, renames it over @path and fsyncs the directory, so a crash at
 * any moment leaves either the old or the new contents.
 */
int write_file_atomic(const char *path, const void *data, size_t len) __must_check;

/* Writes the printf-formatted reason into @why (when given and not empty):
 * how parsers of untrusted input say what they refused. */
void set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* The value of hex digit @c (either case), or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline uint16_t get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t get_le64(const void *p)
{
	return get_le32(p) | (uint64_t)get_le32((const uint8_t *)p + 4) << 32;
}

static inline void put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(void *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

static inline void put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void put_be64(void *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32((uint8_t *)p + 4, (uint32_t)v);
}

static inline uint16_t get_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t get_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t get_be64(const void *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32((const uint8_t *)p + 4);
}

#endif
