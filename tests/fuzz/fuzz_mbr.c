/*
 * libFuzzer: mbr_read() on a disk made from the input (512-byte sectors,
 * padded to whole sectors). It must never read outside the disk, and every
 * partition it returns must lie inside the disk; EBR chains that loop or
 * wander are the point of this target.
 */
#include <stdlib.h>
#include <string.h>

#include "disk/mbr.h"

struct disk {
	const uint8_t *b;
	uint64_t size;
};

static int disk_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct disk *d = ctx;

	if (off > d->size || len > d->size - off)
		__builtin_trap();	/* mbr_read left the disk */
	memcpy(buf, d->b + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = (size + 511) / 512 * 512;
	uint8_t *img = calloc(1, n ? n : 512);
	struct disk d = { img, n };
	struct mbr m;
	char why[256];

	if (!img)
		return 0;
	memcpy(img, data, size);
	if (n && mbr_read(disk_read, &d, n, 512, &m, why, sizeof(why)) == 0) {
		for (unsigned i = 0; i < m.nparts; i++)
			if (m.parts[i].num > 4 && m.parts[i].start_lba + m.parts[i].sectors > n / 512)
				__builtin_trap();	/* a logical partition past the disk */
	}
	free(img);
	return 0;
}
