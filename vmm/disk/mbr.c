/*
 * MBR (UEFI 2.10 section 5.2.1 for the layout; the EBR chain as Linux's
 * block/partitions/msdos.c and every partitioning tool lay it out):
 *   LBA 0: boot code, disk signature at 440, four 16-byte entries at 446
 *          (status, CHS, type, CHS, start LBA u32, sectors u32), 0x55AA.
 *   An EBR at the start of the extended partition: entry 0 is a logical
 *   partition (start relative to this EBR), entry 1 the next EBR (start
 *   relative to the extended partition), and so on.
 */
#include "disk/mbr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define SIG_OFF 510
#define TABLE_OFF 446

bool mbr_is_extended(uint8_t t)
{
	return t == 0x05 || t == 0x0f || t == 0x85;
}

struct entry {
	uint8_t status, type;
	uint64_t start, sectors;
};

static void get_entry(const uint8_t *sec, unsigned i, struct entry *e)
{
	const uint8_t *p = sec + TABLE_OFF + 16 * i;

	e->status = p[0];
	e->type = p[4];
	e->start = get_le32(p + 8);
	e->sectors = get_le32(p + 12);
}

static int read_sector(gpt_read_fn read_at, void *ctx, uint64_t lba, unsigned ss, uint8_t *buf)
{
	int r = read_at(ctx, lba * ss, buf, 512);	/* the table is in the first 512 bytes */
	if (r < 0)
		return r;
	return buf[SIG_OFF] == 0x55 && buf[SIG_OFF + 1] == 0xaa ? 0 : -EINVAL;
}

static void add(struct mbr *m, unsigned num, const struct entry *e, uint64_t start)
{
	m->parts[m->nparts++] = (struct mbr_part){ num, e->type, e->status == 0x80, start, e->sectors };
}

/* Follows the EBR chain of the extended partition [ext, ext+len). */
static void read_logicals(gpt_read_fn read_at, void *ctx, unsigned ss, uint64_t lbas, uint64_t ext,
			  uint64_t len, struct mbr *m, char *why, size_t whylen)
{
	uint64_t seen[MBR_MAX_PARTS], ebr = ext;
	unsigned nseen = 0, num = 5;
	uint8_t sec[512];

	for (;;) {
		struct entry log, next;
		int r;

		for (unsigned i = 0; i < nseen; i++) {
			if (seen[i] == ebr) {
				snprintf(why, whylen, "EBR chain loops back to LBA %llu", (unsigned long long)ebr);
				return;
			}
		}
		if (nseen == MBR_MAX_PARTS || m->nparts == MBR_MAX_PARTS) {
			snprintf(why, whylen, "more than %d logical partitions", MBR_MAX_PARTS);
			return;
		}
		seen[nseen++] = ebr;
		r = read_sector(read_at, ctx, ebr, ss, sec);
		if (r < 0) {
			snprintf(why, whylen, "EBR at LBA %llu: %s", (unsigned long long)ebr,
				 r == -EINVAL ? "no 0x55AA signature" : strerror(-r));
			return;
		}
		get_entry(sec, 0, &log);
		get_entry(sec, 1, &next);
		if (log.type && log.sectors) {
			uint64_t start = ebr + log.start;
			if (start + log.sectors > ext + len || start + log.sectors > lbas) {
				snprintf(why, whylen, "logical partition %u at LBA %llu runs out of the extended partition",
					 num, (unsigned long long)start);
				return;
			}
			add(m, num++, &log, start);
		}
		if (!mbr_is_extended(next.type) || !next.sectors)
			return;
		if (next.start == 0) {
			snprintf(why, whylen, "EBR chain loops back to the first EBR at LBA %llu",
				 (unsigned long long)ext);
			return;
		}
		if (next.start >= len) {
			snprintf(why, whylen, "EBR link to LBA %llu outside the extended partition",
				 (unsigned long long)(ext + next.start));
			return;
		}
		ebr = ext + next.start;
	}
}

int mbr_read(gpt_read_fn read_at, void *ctx, uint64_t disk_size, unsigned sector_size,
	     struct mbr *out, char *why, size_t whylen)
{
	uint64_t lbas = sector_size ? disk_size / sector_size : 0;
	uint8_t sec[512];
	int r;

	memset(out, 0, sizeof(*out));
	if (why && whylen)
		why[0] = 0;
	if (sector_size < 512 || sector_size > 4096 || (sector_size & (sector_size - 1)) || lbas < 1) {
		snprintf(why, whylen, "bad geometry: %llu bytes, %u-byte sectors",
			 (unsigned long long)disk_size, sector_size);
		return -EINVAL;
	}
	r = read_sector(read_at, ctx, 0, sector_size, sec);
	if (r == -EINVAL)
		snprintf(why, whylen, "no MBR signature");
	if (r < 0)
		return r;
	out->disk_signature = get_le32(sec + 440);
	for (unsigned i = 0; i < 4; i++) {
		struct entry e;

		get_entry(sec, i, &e);
		if (!e.type || !e.sectors)
			continue;
		if (e.type == 0xee)
			out->protective = true;
		if (e.start + e.sectors > lbas && e.type != 0xee) {
			snprintf(why, whylen, "partition %u ends past the disk", i + 1);
			continue;
		}
		add(out, i + 1, &e, e.start);
	}
	/* Logical partitions of the first extended partition (as Linux). */
	for (unsigned i = 0, n = out->nparts; i < n; i++) {
		const struct mbr_part *p = &out->parts[i];
		if (mbr_is_extended(p->type) && p->start_lba) {
			read_logicals(read_at, ctx, sector_size, lbas, p->start_lba, p->sectors, out, why, whylen);
			break;
		}
	}
	return 0;
}
