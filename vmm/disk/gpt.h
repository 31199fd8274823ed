/*
 * GUID Partition Tables (UEFI 2.10 section 5.3): reading the table of a
 * real disk the way firmware does, and generating the table of a
 * synthetic disk (synth.h) that sfdisk, Linux and OVMF accept.
 *
 * A disk of N logical blocks holds
 *   LBA 0          protective MBR (5.2.3): one partition of type 0xEE
 *   LBA 1          primary GPT header (5.3.2)
 *   LBA 2..        primary partition entry array (5.3.3)
 *   first..last    the usable LBAs, where partitions live
 *   ..N-2          backup partition entry array
 *   LBA N-1        backup GPT header
 * and each header carries a CRC32 of itself and of its entry array.
 *
 * Everything read from a disk is untrusted: gpt_read() checks every field
 * before use, reads only inside the disk and never allocates.
 */
#ifndef POLYBOOT_VMM_DISK_GPT_H
#define POLYBOOT_VMM_DISK_GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guid.h"

#define GPT_MAX_PARTS	128	/* partitions gpt_read keeps; entries gpt_build writes */
#define GPT_MAX_ENTRIES	1024	/* largest entry array gpt_read accepts */
#define GPT_NAME_UNITS	36	/* UTF-16 code units of a partition name */
#define GPT_NAME_MAX	(GPT_NAME_UNITS * 3 + 1)	/* as UTF-8, with the NUL */

struct gpt_part {
	unsigned num;			/* 1-based index in the entry array */
	struct guid type;		/* PartitionTypeGUID, never zero (unused entries) */
	struct guid uuid;		/* UniquePartitionGUID */
	uint64_t first_lba, last_lba;	/* inclusive */
	uint64_t attrs;
	char name[GPT_NAME_MAX];	/* UTF-8; see utf16.h for what decoding replaces */
};

struct gpt {
	struct guid disk_guid;
	uint64_t first_usable, last_usable;	/* inclusive */
	unsigned sector_size;			/* bytes per LBA */
	bool used_backup;			/* gpt_read: the primary table was bad */
	unsigned nparts;
	struct gpt_part parts[GPT_MAX_PARTS];	/* by entry index */
};

/* Reads @len bytes at byte offset @off of the disk; 0 or -errno. */
typedef int (*gpt_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

/*
 * Reads the GPT of a disk of @disk_size bytes (a whole number of LBAs is
 * used) made of @sector_size-byte LBAs (a power of two, 512 to 4096).
 *
 * Requires a protective MBR (a 0xEE partition starting at LBA 1, as Linux
 * and edk2 do), then validates the primary header at LBA 1 and its entry
 * array: signature, revision 1.x, header size, header CRC, MyLBA, entry
 * size (128 x 2^n, at most 4096), entry count (at most GPT_MAX_ENTRIES),
 * entry array CRC, usable range and array inside the disk and apart from
 * each other, and each used entry inside the usable range without
 * overlapping another. If any check fails it reads the backup header at
 * the last LBA instead, as edk2's PartitionDxe does, and sets
 * @out->used_backup with the primary's fault in @why.
 *
 * Returns 0 (@why is "" unless the backup was used), -EINVAL when neither
 * table is valid (@why names what is wrong with each), or the read
 * callback's error.
 */
int gpt_read(gpt_read_fn read_at, void *ctx, uint64_t disk_size, unsigned sector_size,
	     struct gpt *out, char *why, size_t whylen);

struct blk;
/* gpt_read() on a block backend, with its size and logical block size. */
int gpt_read_blk(struct blk *b, struct gpt *out, char *why, size_t whylen);

/* The partition with entry index @num, or NULL. */
const struct gpt_part *gpt_find(const struct gpt *g, unsigned num);

/* Bytes at the start of a disk that gpt_build() writes (protective MBR,
 * primary header, 128-entry array), and at its end (backup array and
 * header): 34 and 33 LBAs of 512 bytes, 6 and 5 of 4096. */
size_t gpt_head_bytes(unsigned sector_size);
size_t gpt_tail_bytes(unsigned sector_size);

/*
 * Generates the table of a disk of @disk_sectors LBAs of @sector_size
 * bytes (which must be @g->sector_size): the protective MBR, primary header
 * and 128-entry array into the first gpt_head_bytes() of @head, and the
 * backup array and header into the first gpt_tail_bytes() of @tail (the
 * last LBAs of the disk). The disk GUID, usable range and partitions come
 * from @g; each partition goes to entry @num - 1, so the guest sees the
 * partition numbers of the disk @g was read from.
 *
 * Returns 0, or -EINVAL (with @head and @tail undefined) if a buffer is
 * short, the usable range does not fit between the two tables, or a
 * partition has a number outside 1..128 or used twice, a zero type GUID,
 * LBAs outside the usable range or overlapping another, or a name that is
 * not UTF-8 or longer than 36 UTF-16 code units.
 */
int gpt_build(const struct gpt *g, uint64_t disk_sectors, unsigned sector_size,
	      uint8_t *head, size_t head_len, uint8_t *tail, size_t tail_len);

/* CRC-32 as GPT uses it (ISO 3309, reflected polynomial 0xEDB88320, as
 * zlib's crc32()): start with @crc = 0, chain calls to extend. */
uint32_t gpt_crc32(uint32_t crc, const void *buf, size_t len);

#endif
