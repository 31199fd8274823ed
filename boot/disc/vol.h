/*
 * A volume: a byte range of something readable (a partition of a disk, a
 * file inside a filesystem, a disk image), as the discovery readers see it.
 * Every reader in boot/disc/ takes a struct vol and nothing else, so the
 * same code reads a real /dev node, an image file on the host, or a buffer
 * in a unit test or fuzz target.
 *
 * Everything read through a vol is untrusted input.
 */
#ifndef POLYBOOT_BOOT_DISC_VOL_H
#define POLYBOOT_BOOT_DISC_VOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Reads @len bytes at byte offset @off; 0 or -errno (same as gpt_read_fn). */
typedef int (*vol_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

struct vol {
	vol_read_fn read_at;
	void *ctx;
	uint64_t base;	/* where the volume starts in what read_at reads */
	uint64_t size;	/* bytes */
};

/* Reads inside the volume only: -EIO for a range that is not. */
static inline int vol_read(const struct vol *v, uint64_t off, void *buf, size_t len)
{
	if (off > v->size || len > v->size - off)
		return -EIO;
	if (len == 0)
		return 0;
	return v->read_at(v->ctx, v->base + off, buf, len);
}

/* The sub-range [@off, @off + @len) of @v as a volume; -EINVAL if it is not inside. */
static inline int vol_sub(const struct vol *v, uint64_t off, uint64_t len, struct vol *out)
{
	if (off > v->size || len > v->size - off)
		return -EINVAL;
	*out = *v;
	out->base = v->base + off;
	out->size = len;
	return 0;
}

/* A volume over a memory buffer (tests, fuzz targets): ctx points at this. */
struct vol_mem {
	const uint8_t *buf;
	size_t len;
};

static inline int vol_mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct vol_mem *m = ctx;

	if (off > m->len || len > m->len - off)
		return -EIO;
	if (len)
		memcpy(buf, m->buf + off, len);
	return 0;
}

static inline void vol_from_mem(struct vol *v, struct vol_mem *m, const void *buf, size_t len)
{
	m->buf = buf;
	m->len = len;
	v->read_at = vol_mem_read;
	v->ctx = m;
	v->base = 0;
	v->size = len;
}

#endif
