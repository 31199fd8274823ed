/*
 * What a volume holds, by its superblock magic numbers, with the UUID and
 * label strings blkid (util-linux) prints for it, so discovery can match
 * fstab/crypttab/loader entries that name a volume by UUID= or LABEL=.
 *
 * Recognised, in this order (the first match wins):
 *   crypto_LUKS  "LUKS\xba\xbe" at 0, version 1 or 2; UUID the string at
 *                168, label (LUKS2) at 24
 *   LVM2_member  "LABELONE" in sector 0..3 with "LVM2 001"; UUID the PV id
 *                in LVM's 6-4-4-4-4-4-6 form
 *   BitLocker    "-FVE-FS-" at 3 (no UUID or label)
 *   ntfs         ntfs.h's probe; UUID the serial as 16 upper-case hex digits
 *   exfat        "EXFAT   " at 3; UUID "ABCD-1234" from the volume serial,
 *                label from the root directory's label entry
 *   xfs          "XFSB" at 0; UUID at 32, label (fname) at 108
 *   btrfs        "_BHRfS_M" at 64 KiB + 64; fsid, label
 *   ext2/3/4     0xEF53 at 1024 + 56; ext4 when a feature ext3 lacks is on,
 *                ext3 when it has a journal, else ext2 (blkid's rules); a
 *                journal device is not reported
 *   iso9660      "CD001" at 32 KiB + 1; UUID the modification (else
 *                creation) date "YYYY-MM-DD-HH-MM-SS-CC", label the
 *                Joliet volume ID when it differs, else the PVD's
 *   vfat         fat.h's checks; UUID "ABCD-1234" from the volume ID, label
 *                from the root directory's label entry, else the boot
 *                sector's; "NO NAME" is no label
 *   hfsplus      "H+"/"HX" at 1024 (no UUID or label: they need the catalog)
 *   apfs         "NXSB" at 32; UUID the container's
 *   swap         "SWAPSPACE2"/"SWAP-SPACE" at the end of a 4..64 KiB page;
 *                UUID at 1036, label at 1052 (version 1 only)
 * UUIDs of ext/btrfs/xfs/swap/apfs are lower-case 8-4-4-4-12 in byte order.
 * On-disk strings end at their first NUL, lose trailing spaces, and show
 * control characters as '?'.
 *
 * Everything read is untrusted; only a few sectors are read (ntfs and vfat
 * read their root directory; see ntfs.h and fat.h).
 */
#ifndef POLYBOOT_BOOT_DISC_FSPROBE_H
#define POLYBOOT_BOOT_DISC_FSPROBE_H

#include "disc/vol.h"

enum fs_type {
	FS_UNKNOWN,
	FS_VFAT,
	FS_EXFAT,
	FS_EXT2,
	FS_EXT3,
	FS_EXT4,
	FS_BTRFS,
	FS_XFS,
	FS_NTFS,
	FS_BITLOCKER,
	FS_ISO9660,
	FS_SWAP,
	FS_HFSPLUS,
	FS_APFS,
	FS_LUKS,
	FS_LVM2,
};

struct fs_probe {
	enum fs_type type;
	char uuid[64];
	char label[128];	/* UTF-8 */
};

/* blkid's TYPE for @t ("vfat", "crypto_LUKS", ...); "" for FS_UNKNOWN. */
const char *fs_type_name(enum fs_type t);

/*
 * Fills @out (FS_UNKNOWN, "" and "" when nothing is recognised). A read
 * error, or damage past the magic number, only means "not this type":
 * the result is always 0.
 */
int fs_probe(const struct vol *v, struct fs_probe *out);

#endif
