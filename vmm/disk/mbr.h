/*
 * MBR partition tables (the "DOS" label): the four primary entries of
 * LBA 0 and the chain of extended boot records (EBRs) that hold the
 * logical partitions, numbered 5, 6, ... as Linux numbers them. Used by
 * discovery (legacy BIOS installs, MBR disks) next to gpt.h.
 *
 * Everything is untrusted: EBR chains that loop, point outside the
 * extended partition or the disk, or run longer than MBR_MAX_PARTS are
 * cut there with a reason; nothing is read outside the disk.
 */
#ifndef POLYBOOT_VMM_DISK_MBR_H
#define POLYBOOT_VMM_DISK_MBR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk/gpt.h"

#define MBR_MAX_PARTS 64

struct mbr_part {
	unsigned num;		/* 1-4 primary, 5.. logical */
	uint8_t type;		/* system ID (0x83 Linux, 0x07 NTFS, 0x05/0x0f/0x85 extended...) */
	bool active;		/* boot indicator 0x80 */
	uint64_t start_lba, sectors;
};

struct mbr {
	uint32_t disk_signature;	/* at 440, what Windows' BCD and Linux PARTUUID use */
	bool protective;		/* a 0xEE entry: the disk is GPT */
	unsigned nparts;
	struct mbr_part parts[MBR_MAX_PARTS];	/* primaries, then logicals in chain order */
};

/* Is partition type @t an extended partition (0x05, 0x0f, 0x85)? */
bool mbr_is_extended(uint8_t t);

/*
 * Reads the MBR of a disk of @disk_size bytes with @sector_size-byte LBAs
 * through @read_at (as gpt.h). Returns 0, -EINVAL when LBA 0 has no
 * 0x55AA signature (@why says so), or the read error. A damaged EBR chain
 * is not an error: the logicals read so far are kept and @why names the
 * fault (empty when there was none).
 */
int mbr_read(gpt_read_fn read_at, void *ctx, uint64_t disk_size, unsigned sector_size,
	     struct mbr *out, char *why, size_t whylen);

#endif
