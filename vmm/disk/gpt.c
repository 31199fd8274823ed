/*
 * GPT: UEFI 2.10 section 5.3 (header: Table 5-5, entry: Table 5-6) and the
 * protective MBR of section 5.2.3 (Tables 5-3 and 5-4). Which table wins
 * follows edk2 MdeModulePkg/Universal/Disk/PartitionDxe/Gpt.c
 * (PartitionInstallGptChildHandles): the primary if valid, else the backup
 * at the last LBA.
 *
 * Not implemented: repairing a bad table (edk2 rewrites one copy from the
 * other; this code only reads), hybrid MBR partitions (ignored), checking
 * that the two copies agree.
 */
#include "disk/gpt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "disk/blk.h"
#include "utf16.h"
#include "util.h"

#define GPT_SIGNATURE		"EFI PART"
#define GPT_REVISION_1_0	0x00010000
#define GPT_HEADER_SIZE		92
#define GPT_ENTRY_SIZE		128
/* The 16 KiB that 5.3.2 reserves for each entry array. */
#define GPT_ARRAY_BYTES		(GPT_MAX_PARTS * GPT_ENTRY_SIZE)
#define GPT_MIN_SECTOR		512
#define GPT_MAX_SECTOR		4096

/* GPT header, Table 5-5 */
#define HDR_SIGNATURE		0
#define HDR_REVISION		8
#define HDR_SIZE		12
#define HDR_CRC			16
#define HDR_MY_LBA		24
#define HDR_ALTERNATE_LBA	32
#define HDR_FIRST_USABLE	40
#define HDR_LAST_USABLE		48
#define HDR_DISK_GUID		56
#define HDR_ENTRY_LBA		72
#define HDR_NUM_ENTRIES		80
#define HDR_ENTRY_SIZE		84
#define HDR_ENTRY_CRC		88

/* Partition entry, Table 5-6 */
#define ENT_TYPE		0
#define ENT_UUID		16
#define ENT_FIRST_LBA		32
#define ENT_LAST_LBA		40
#define ENT_ATTRS		48
#define ENT_NAME		56

/* Legacy MBR, Table 5-1, and its partition records, Table 5-2 */
#define MBR_PARTS		446
#define MBR_SIGNATURE		510
#define MBR_PART_START_CHS	1
#define MBR_PART_TYPE		4
#define MBR_PART_END_CHS	5
#define MBR_PART_START_LBA	8
#define MBR_PART_SIZE		12
#define MBR_TYPE_GPT_PROTECTIVE	0xee

/* The reflected CRC-32 (polynomial 0xEDB88320) four bits at a time: entry
 * i is i shifted through the polynomial four times. */
static const uint32_t crc32_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t gpt_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = crc >> 4 ^ crc32_nibble[crc & 15];
		crc = crc >> 4 ^ crc32_nibble[crc & 15];
	}
	return ~crc;
}

static bool sector_size_ok(unsigned ss)
{
	return ss >= GPT_MIN_SECTOR && ss <= GPT_MAX_SECTOR && !(ss & (ss - 1));
}

/* Writes a reason into @why (if any) and returns -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
invalid(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* 5.3.3: each used entry lies inside the usable LBAs, and no two overlap. */
static int check_parts(const struct gpt *g, char *why, size_t whylen)
{
	for (unsigned i = 0; i < g->nparts; i++) {
		const struct gpt_part *p = &g->parts[i];

		if (p->first_lba > p->last_lba || p->first_lba < g->first_usable ||
		    p->last_lba > g->last_usable)
			return invalid(why, whylen, "partition %u (LBAs %llu-%llu) outside the "
				       "usable LBAs %llu-%llu",
				       p->num, (unsigned long long)p->first_lba,
				       (unsigned long long)p->last_lba,
				       (unsigned long long)g->first_usable,
				       (unsigned long long)g->last_usable);
		for (unsigned j = 0; j < i; j++) {
			const struct gpt_part *q = &g->parts[j];

			if (p->first_lba <= q->last_lba && q->first_lba <= p->last_lba)
				return invalid(why, whylen, "partition %u overlaps partition %u",
					       p->num, q->num);
		}
	}
	return 0;
}

const struct gpt_part *gpt_find(const struct gpt *g, unsigned num)
{
	for (unsigned i = 0; i < g->nparts; i++)
		if (g->parts[i].num == num)
			return &g->parts[i];
	return NULL;
}

/* --- reading -------------------------------------------------------------------- */

struct reader {
	gpt_read_fn read;
	void *ctx;
	uint64_t lbas;		/* whole LBAs on the disk */
	unsigned ss;
};

static int disk_read(const struct reader *rd, uint64_t off, void *buf, size_t len, char *why,
		     size_t whylen)
{
	int r = rd->read(rd->ctx, off, buf, len);

	if (r < 0)
		snprintf(why, whylen, "reading %zu bytes at offset %llu: %s", len,
			 (unsigned long long)off, strerror(-r));
	return r;
}

/* 5.2.3: the protective MBR, checked as Linux (is_pmbr_valid) and edk2 do:
 * a 0xEE partition record starting at LBA 1; other records are ignored. */
static int check_pmbr(const struct reader *rd, char *why, size_t whylen)
{
	uint8_t mbr[512];
	int r = disk_read(rd, 0, mbr, sizeof(mbr), why, whylen);

	if (r < 0)
		return r;
	if (get_le16(mbr + MBR_SIGNATURE) != 0xaa55)
		return invalid(why, whylen, "no MBR signature in LBA 0 (not a GPT disk)");
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *pr = mbr + MBR_PARTS + 16 * i;

		if (pr[MBR_PART_TYPE] == MBR_TYPE_GPT_PROTECTIVE &&
		    get_le32(pr + MBR_PART_START_LBA) == 1)
			return 0;
	}
	return invalid(why, whylen, "no protective MBR (type 0xEE from LBA 1): not a GPT disk");
}

static void parse_entry(const uint8_t *e, unsigned num, struct gpt_part *p)
{
	p->num = num;
	memcpy(p->type.b, e + ENT_TYPE, sizeof(p->type.b));
	memcpy(p->uuid.b, e + ENT_UUID, sizeof(p->uuid.b));
	p->first_lba = get_le64(e + ENT_FIRST_LBA);
	p->last_lba = get_le64(e + ENT_LAST_LBA);
	p->attrs = get_le64(e + ENT_ATTRS);
	utf16le_to_utf8(p->name, sizeof(p->name), e + ENT_NAME, GPT_NAME_UNITS);
}

/* Reads and checks the header at @lba (5.3.2 "GPT Header validity") and
 * its entry array into @out. */
static int read_table(const struct reader *rd, uint64_t lba, struct gpt *out, char *why,
		      size_t whylen)
{
	uint8_t buf[GPT_MAX_SECTOR];	/* the header, then pieces of the entry array */
	uint64_t first, last, array_lba, array_lbas;
	uint32_t hsize, crc, nent, esz, array_crc, used = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->sector_size = rd->ss;
	r = disk_read(rd, lba * rd->ss, buf, rd->ss, why, whylen);
	if (r < 0)
		return r;
	if (memcmp(buf + HDR_SIGNATURE, GPT_SIGNATURE, 8))
		return invalid(why, whylen, "no \"EFI PART\" signature at LBA %llu",
			       (unsigned long long)lba);
	if (get_le32(buf + HDR_REVISION) >> 16 != GPT_REVISION_1_0 >> 16)
		return invalid(why, whylen, "revision %#x, want 1.x", get_le32(buf + HDR_REVISION));
	hsize = get_le32(buf + HDR_SIZE);
	if (hsize < GPT_HEADER_SIZE || hsize > rd->ss)
		return invalid(why, whylen, "header size %u (want %u to %u)", hsize, GPT_HEADER_SIZE,
			       rd->ss);
	crc = get_le32(buf + HDR_CRC);
	put_le32(buf + HDR_CRC, 0);
	if (gpt_crc32(0, buf, hsize) != crc)
		return invalid(why, whylen, "header CRC wrong");
	if (get_le64(buf + HDR_MY_LBA) != lba)
		return invalid(why, whylen, "MyLBA is %llu, not %llu",
			       (unsigned long long)get_le64(buf + HDR_MY_LBA),
			       (unsigned long long)lba);
	first = get_le64(buf + HDR_FIRST_USABLE);
	last = get_le64(buf + HDR_LAST_USABLE);
	array_lba = get_le64(buf + HDR_ENTRY_LBA);
	nent = get_le32(buf + HDR_NUM_ENTRIES);
	esz = get_le32(buf + HDR_ENTRY_SIZE);
	array_crc = get_le32(buf + HDR_ENTRY_CRC);
	memcpy(out->disk_guid.b, buf + HDR_DISK_GUID, sizeof(out->disk_guid.b));

	if (esz < GPT_ENTRY_SIZE || esz > GPT_MAX_SECTOR || (esz & (esz - 1)))
		return invalid(why, whylen, "entry size %u is not 128 x 2^n (up to %u)", esz,
			       GPT_MAX_SECTOR);
	if (nent > GPT_MAX_ENTRIES)
		return invalid(why, whylen, "%u partition entries (at most %u supported)", nent,
			       GPT_MAX_ENTRIES);
	array_lbas = ((uint64_t)nent * esz + rd->ss - 1) / rd->ss;
	if (first > last || last >= rd->lbas)
		return invalid(why, whylen, "usable LBAs %llu-%llu outside the disk's %llu",
			       (unsigned long long)first, (unsigned long long)last,
			       (unsigned long long)rd->lbas);
	if (array_lba == 0 || array_lba >= rd->lbas || array_lbas > rd->lbas - array_lba)
		return invalid(why, whylen, "entry array (LBA %llu, %u entries) outside the disk",
			       (unsigned long long)array_lba, nent);
	/* The header and its array lie outside the usable range and apart. */
	if ((lba >= first && lba <= last) ||
	    (array_lbas && array_lba <= last && first < array_lba + array_lbas) ||
	    (lba >= array_lba && lba < array_lba + array_lbas))
		return invalid(why, whylen,
			       "header (LBA %llu), entry array (LBA %llu+%llu) and usable LBAs "
			       "(%llu-%llu) overlap",
			       (unsigned long long)lba, (unsigned long long)array_lba,
			       (unsigned long long)array_lbas, (unsigned long long)first,
			       (unsigned long long)last);
	out->first_usable = first;
	out->last_usable = last;

	/* The array, a bufferful of entries at a time, without allocating. */
	crc = 0;
	for (uint32_t i = 0, per = sizeof(buf) / esz; i < nent; i += per) {
		uint32_t k = MIN(per, nent - i);

		r = disk_read(rd, array_lba * rd->ss + (uint64_t)i * esz, buf, (size_t)k * esz, why,
			      whylen);
		if (r < 0)
			return r;
		crc = gpt_crc32(crc, buf, (size_t)k * esz);
		for (uint32_t j = 0; j < k; j++) {
			const uint8_t *e = buf + (size_t)j * esz;
			struct guid type;

			memcpy(type.b, e + ENT_TYPE, sizeof(type.b));
			if (guid_is_zero(&type))
				continue;	/* unused entry */
			if (used++ < GPT_MAX_PARTS)
				parse_entry(e, i + j + 1, &out->parts[out->nparts++]);
		}
	}
	if (crc != array_crc)
		return invalid(why, whylen, "entry array CRC wrong");
	if (used > GPT_MAX_PARTS)
		return invalid(why, whylen, "%u partitions in use (at most %u supported)", used,
			       GPT_MAX_PARTS);
	return check_parts(out, why, whylen);
}

int gpt_read(gpt_read_fn read_at, void *ctx, uint64_t disk_size, unsigned sector_size,
	     struct gpt *out, char *why, size_t whylen)
{
	struct reader rd = { .read = read_at, .ctx = ctx, .ss = sector_size };
	char primary[192], backup[192];
	int r;

	why[0] = 0;
	if (!sector_size_ok(sector_size))
		return invalid(why, whylen, "sector size %u not supported", sector_size);
	rd.lbas = disk_size / sector_size;
	if (rd.lbas < 3)
		return invalid(why, whylen, "%llu bytes is too small for a GPT",
			       (unsigned long long)disk_size);
	r = check_pmbr(&rd, why, whylen);
	if (r < 0)
		return r;
	r = read_table(&rd, 1, out, primary, sizeof(primary));
	if (r == 0)
		return 0;
	if (r != -EINVAL) {
		snprintf(why, whylen, "primary GPT: %s", primary);
		return r;
	}
	r = read_table(&rd, rd.lbas - 1, out, backup, sizeof(backup));
	if (r == 0) {
		out->used_backup = true;
		snprintf(why, whylen, "primary GPT: %s; using the backup GPT", primary);
		return 0;
	}
	snprintf(why, whylen, "primary GPT: %s; backup GPT: %s", primary, backup);
	return r;
}

static int blk_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	return blk_read(ctx, buf, len, off);
}

int gpt_read_blk(struct blk *b, struct gpt *out, char *why, size_t whylen)
{
	return gpt_read(blk_read_at, b, b->size, b->lbs, out, why, whylen);
}

/* --- building ------------------------------------------------------------------- */

size_t gpt_head_bytes(unsigned sector_size)
{
	return 2 * (size_t)sector_size + GPT_ARRAY_BYTES;
}

size_t gpt_tail_bytes(unsigned sector_size)
{
	return GPT_ARRAY_BYTES + (size_t)sector_size;
}

/* Table 5-4. The ending CHS is 0xFFFFFF ("not representable") whatever the
 * size, as util-linux writes it. */
static void put_pmbr(uint8_t *mbr, uint64_t lbas)
{
	uint8_t *pr = mbr + MBR_PARTS;

	pr[MBR_PART_START_CHS + 1] = 0x02;	/* CHS 0/0/2, i.e. LBA 1 */
	pr[MBR_PART_TYPE] = MBR_TYPE_GPT_PROTECTIVE;
	memset(pr + MBR_PART_END_CHS, 0xff, 3);
	put_le32(pr + MBR_PART_START_LBA, 1);
	put_le32(pr + MBR_PART_SIZE, (uint32_t)MIN(lbas - 1, 0xffffffffu));
	put_le16(mbr + MBR_SIGNATURE, 0xaa55);
}

static void put_header(uint8_t *h, const struct gpt *g, uint64_t my_lba, uint64_t alternate_lba,
		       uint64_t array_lba, uint32_t array_crc)
{
	memcpy(h + HDR_SIGNATURE, GPT_SIGNATURE, 8);
	put_le32(h + HDR_REVISION, GPT_REVISION_1_0);
	put_le32(h + HDR_SIZE, GPT_HEADER_SIZE);
	put_le64(h + HDR_MY_LBA, my_lba);
	put_le64(h + HDR_ALTERNATE_LBA, alternate_lba);
	put_le64(h + HDR_FIRST_USABLE, g->first_usable);
	put_le64(h + HDR_LAST_USABLE, g->last_usable);
	memcpy(h + HDR_DISK_GUID, g->disk_guid.b, sizeof(g->disk_guid.b));
	put_le64(h + HDR_ENTRY_LBA, array_lba);
	put_le32(h + HDR_NUM_ENTRIES, GPT_MAX_PARTS);
	put_le32(h + HDR_ENTRY_SIZE, GPT_ENTRY_SIZE);
	put_le32(h + HDR_ENTRY_CRC, array_crc);
	put_le32(h + HDR_CRC, gpt_crc32(0, h, GPT_HEADER_SIZE));
}

static int put_entry(uint8_t *e, const struct gpt_part *p)
{
	memcpy(e + ENT_TYPE, p->type.b, sizeof(p->type.b));
	memcpy(e + ENT_UUID, p->uuid.b, sizeof(p->uuid.b));
	put_le64(e + ENT_FIRST_LBA, p->first_lba);
	put_le64(e + ENT_LAST_LBA, p->last_lba);
	put_le64(e + ENT_ATTRS, p->attrs);
	/* Shorter names are NUL-padded by the zeroed entry. */
	return utf8_to_utf16le(e + ENT_NAME, GPT_NAME_UNITS, p->name) < 0 ? -EINVAL : 0;
}

int gpt_build(const struct gpt *g, uint64_t disk_sectors, unsigned sector_size, uint8_t *head,
	      size_t head_len, uint8_t *tail, size_t tail_len)
{
	bool seen[GPT_MAX_PARTS] = { false };
	uint64_t array_lbas;
	uint8_t *array;
	uint32_t array_crc;

	if (!sector_size_ok(sector_size) || g->sector_size != sector_size ||
	    head_len < gpt_head_bytes(sector_size) || tail_len < gpt_tail_bytes(sector_size) ||
	    g->nparts > GPT_MAX_PARTS)
		return -EINVAL;
	/* The usable range lies between the primary array (LBAs 2..) and
	 * the backup array, which ends just before the last LBA. */
	array_lbas = GPT_ARRAY_BYTES / sector_size;
	if (disk_sectors < 2 + array_lbas || g->first_usable < 2 + array_lbas ||
	    g->last_usable > disk_sectors - 2 - array_lbas || g->first_usable > g->last_usable)
		return -EINVAL;
	for (unsigned i = 0; i < g->nparts; i++) {
		const struct gpt_part *p = &g->parts[i];

		if (p->num < 1 || p->num > GPT_MAX_PARTS || seen[p->num - 1] ||
		    guid_is_zero(&p->type))
			return -EINVAL;
		seen[p->num - 1] = true;
	}
	if (check_parts(g, NULL, 0) < 0)
		return -EINVAL;

	memset(head, 0, gpt_head_bytes(sector_size));
	memset(tail, 0, gpt_tail_bytes(sector_size));
	put_pmbr(head, disk_sectors);
	array = head + 2 * sector_size;
	for (unsigned i = 0; i < g->nparts; i++)
		if (put_entry(array + (g->parts[i].num - 1) * GPT_ENTRY_SIZE, &g->parts[i]) < 0)
			return -EINVAL;
	array_crc = gpt_crc32(0, array, GPT_ARRAY_BYTES);
	memcpy(tail, array, GPT_ARRAY_BYTES);
	put_header(head + sector_size, g, 1, disk_sectors - 1, 2, array_crc);
	put_header(tail + GPT_ARRAY_BYTES, g, disk_sectors - 1, 1, disk_sectors - 1 - array_lbas,
		   array_crc);
	return 0;
}
