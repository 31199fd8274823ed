/*
 * libFuzzer: gpt_read() on a disk image made from the input. gpt_read must
 * never crash, read outside the disk or return a table that breaks its own
 * rules, and what it returns must survive gpt_build() and a second read.
 *
 * Input: one mode byte, then the disk:
 *   bit 2 clear: a small disk holding a valid table from gpt_build(), with
 *     {u16 where, u8 len, bytes...} patches; where < 0x8000 is an offset
 *     from the start of the disk, else the patch starts where - 0x8000 + 1
 *     bytes before its end.
 *     bit 0: 4096-byte sectors; bit 1: recompute both tables' CRCs after
 *     patching (so the checks behind them are reached); bits 4-7: LBAs
 *     added after the table's end (the backup header is no longer last).
 *   bit 2 set: the rest of the input is the disk (512-byte sectors).
 *   bit 3: reads that touch the last LBA fail with -EIO.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "disk/gpt.h"
#include "util.h"

struct disk {
	const uint8_t *b;
	uint64_t size;
	unsigned ss;
	bool fail_last;
};

static int disk_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct disk *d = ctx;

	if (off > d->size || len > d->size - off)
		__builtin_trap();	/* gpt_read left the disk */
	if (d->fail_last && off + len > d->size - d->ss)
		return -EIO;
	memcpy(buf, d->b + off, len);
	return 0;
}

static void sample(struct gpt *g, unsigned ss, uint64_t lbas)
{
	static const struct guid type = { { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
					    0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 } };

	memset(g, 0, sizeof(*g));
	g->sector_size = ss;
	g->first_usable = gpt_head_bytes(ss) / ss;
	g->last_usable = lbas - gpt_tail_bytes(ss) / ss - 1;
	g->nparts = 3;
	for (unsigned i = 0; i < 3; i++) {
		struct gpt_part *p = &g->parts[i];

		p->num = 2 * i + 1;
		p->type = type;
		p->uuid.b[0] = (uint8_t)i;
		p->first_lba = g->first_usable + 4 * i;
		p->last_lba = p->first_lba + 2;
		strcpy(p->name, "part");
	}
}

/* The valid disk of @lbas LBAs that patches apply to, built once. */
static const uint8_t *seed_image(unsigned ss, uint64_t lbas)
{
	static uint8_t *seeds[2];
	uint8_t **img = &seeds[ss == 4096];
	struct gpt g;

	if (!*img) {
		*img = calloc(1, lbas * ss);
		sample(&g, ss, lbas);
		if (gpt_build(&g, lbas, ss, *img, gpt_head_bytes(ss),
			      *img + lbas * ss - gpt_tail_bytes(ss), gpt_tail_bytes(ss)))
			__builtin_trap();
	}
	return *img;
}

/* Recomputes the CRCs of the header at @lba and its array, where they are
 * inside the image. */
static void fix_crcs(uint8_t *img, uint64_t size, unsigned ss, uint64_t lba)
{
	uint8_t *h = img + lba * ss;
	uint64_t array = get_le64(h + 72), bytes = (uint64_t)get_le32(h + 80) * get_le32(h + 84);
	uint32_t hsize = get_le32(h + 12);

	if (array < size / ss && bytes <= size - array * ss)
		put_le32(h + 88, gpt_crc32(0, img + array * ss, bytes));
	put_le32(h + 16, 0);
	put_le32(h + 16, gpt_crc32(0, h, MIN(hsize, ss)));
}

/* What gpt_read promises about a table it accepts. */
static void check_table(const struct gpt *g)
{
	if (g->nparts > GPT_MAX_PARTS || g->first_usable > g->last_usable)
		__builtin_trap();
	for (unsigned i = 0; i < g->nparts; i++) {
		const struct gpt_part *p = &g->parts[i];

		if (strnlen(p->name, GPT_NAME_MAX) == GPT_NAME_MAX || guid_is_zero(&p->type) ||
		    p->first_lba < g->first_usable || p->last_lba > g->last_usable ||
		    p->first_lba > p->last_lba || (i && p->num <= g->parts[i - 1].num))
			__builtin_trap();
	}
}

/* A table gpt_read accepted, rebuilt on a disk of the same size, reads back
 * the same (when it fits gpt_build's 128-entry layout). */
static void check_rebuild(const struct gpt *g, uint64_t lbas)
{
	unsigned ss = g->sector_size;
	size_t hb = gpt_head_bytes(ss), tb = gpt_tail_bytes(ss);
	struct disk d = { .size = lbas * ss, .ss = ss };
	struct gpt *again = malloc(sizeof(*again));
	uint8_t *img = calloc(1, lbas * ss);
	char why[256];

	if (lbas * ss >= hb + tb &&
	    gpt_build(g, lbas, ss, img, hb, img + lbas * ss - tb, tb) == 0) {
		d.b = img;
		if (gpt_read(disk_read, &d, d.size, ss, again, why, sizeof(why)) != 0 ||
		    again->used_backup || again->nparts != g->nparts ||
		    again->first_usable != g->first_usable || again->last_usable != g->last_usable ||
		    memcmp(again->parts, g->parts, g->nparts * sizeof(g->parts[0])))
			__builtin_trap();
	}
	free(img);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disk d = { 0 };
	struct gpt *g;
	uint8_t *img;
	char why[512];
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	d.fail_last = mode & 8;
	if (mode & 4) {
		d.ss = 512;
		d.size = size;
		img = malloc(size ? size : 1);
		memcpy(img, data, size);
	} else {
		unsigned ss = mode & 1 ? 4096 : 512;
		uint64_t lbas = (gpt_head_bytes(ss) + gpt_tail_bytes(ss)) / ss + 16;

		d.ss = ss;
		d.size = (lbas + (mode >> 4)) * ss;
		img = calloc(1, d.size);
		memcpy(img, seed_image(ss, lbas), lbas * ss);
		for (size_t i = 0; i + 3 <= size;) {
			unsigned where = get_le16(data + i);
			size_t n = MIN(data[i + 2], size - i - 3);
			uint64_t off = where < 0x8000 ? where : d.size - 1 - (where - 0x8000);

			i += 3;
			if (off < d.size)
				memcpy(img + off, data + i, MIN(n, d.size - off));
			i += n;
		}
		if (mode & 2) {
			fix_crcs(img, d.size, ss, 1);
			fix_crcs(img, d.size, ss, lbas - 1);
		}
	}
	d.b = img;
	g = malloc(sizeof(*g));
	if (gpt_read(disk_read, &d, d.size, d.ss, g, why, sizeof(why)) == 0) {
		check_table(g);
		check_rebuild(g, d.size / d.ss);
	}
	free(g);
	free(img);
	return 0;
}
