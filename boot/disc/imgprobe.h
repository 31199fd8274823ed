/*
 * What an OS image file is (a .vhd/.vhdx/.qcow2/.iso/.img found on a
 * disk, given as a volume), enough for discovery to list it and decide
 * how it could be booted. Headers only: no image format is decoded past
 * its header, so only raw images and fixed VHDs have their partition
 * table read (gpt.h, mbr.h).
 *
 *   qcow/qcow2  "QFI\xfb" at 0, big-endian version (1; 2 or 3), virtual
 *               size at 24, backing file offset at 8 (nonzero: an overlay)
 *   VHDX        "vhdxfile" at 0 and the creator (UTF-16); the region table
 *               at 192 KiB (else its copy at 256 KiB), CRC-32C checked,
 *               gives the metadata region, whose table gives the Virtual
 *               Disk Size item; a Parent Locator item means differencing
 *   VHD         the 512-byte footer "conectix" at the end (or the 511-byte
 *               footer of old Virtual PC), big-endian, checksum = one's
 *               complement of the byte sum without the checksum field;
 *               disk type 2 fixed, 3 dynamic, 4 differencing; dynamic and
 *               differencing disks also carry a copy at offset 0, which is
 *               used when the end footer is missing
 *   ISO 9660    "CD001" at 32 KiB + 1: the primary volume descriptor's
 *               volume ID and size, and El Torito: the boot record's
 *               catalog, its validation entry (checksum, 55 AA), default
 *               entry and section headers; bootable entries for platform
 *               0 (x86 BIOS) and 0xEF (EFI). An MBR signature as well
 *               makes it a hybrid image, whose table is read too.
 *   raw         an MBR signature at 510 or a GPT: the partition table; a
 *               FAT/NTFS/exFAT boot sector at 0 is a partitionless image
 *               (table "")
 *
 * Everything is untrusted; only a few sectors are read.
 */
#ifndef POLYBOOT_BOOT_DISC_IMGPROBE_H
#define POLYBOOT_BOOT_DISC_IMGPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disc/vol.h"

enum img_kind {
	IMG_UNKNOWN,
	IMG_RAW,
	IMG_VHD_FIXED,
	IMG_VHD_DYNAMIC,
	IMG_VHD_DIFF,
	IMG_VHDX,
	IMG_QCOW,
	IMG_QCOW2,
	IMG_ISO,
};

struct img_info {
	enum img_kind kind;
	uint64_t virtual_size;	/* bytes the guest sees; 0 if unknown */
	uint64_t data_off;	/* where the raw disk starts in the file: 0 (raw, fixed VHD) */
	char table[8];		/* "gpt", "mbr" or "" (raw, fixed VHD and hybrid ISO only) */
	unsigned nparts;
	bool has_esp;		/* a GPT ESP type or an MBR type 0xEF partition */
	char iso_volume_id[33];
	bool iso_hybrid;	/* an ISO with an MBR (isohybrid) */
	bool eltorito, eltorito_bios, eltorito_efi;
	uint32_t qcow2_version;	/* qcow and qcow2: the header version */
	bool qcow2_backing;	/* qcow/qcow2 with a backing file, VHDX with a parent */
	bool vhd_checksum_ok;
	char creator[16];	/* VHD creator application, VHDX creator (UTF-8) */
};

/* "raw", "vhd-fixed", "vhd-dynamic", "vhd-diff", "vhdx", "qcow", "qcow2",
 * "iso", or "unknown". */
const char *img_kind_name(enum img_kind k);

/*
 * Fills @out. Returns 0, with IMG_UNKNOWN when nothing is recognised;
 * @why then says so, and otherwise notes damage that did not stop the
 * probe (a bad VHD checksum, a missing end footer, an unreadable region
 * table). -ENOMEM is the only error.
 */
int img_probe(const struct vol *v, struct img_info *out, char *why, size_t whylen);

#endif
