/*
 * An NTFS probe: what discovery needs to know about a Windows volume
 * without an NTFS driver. Not a reader: it reads a handful of MFT records
 * and the root directory's index, and looks for a few names there.
 *
 * Method (NTFS 3.x layout as documented by the Linux-NTFS project's
 * "NTFS Documentation" and the ntfs-3g layout header):
 *   - boot sector: "NTFS    " OEM ID at 3, bytes per sector, sectors per
 *     cluster (values above 0x80 mean 2^(256 - value) sectors), MFT LCN,
 *     clusters per MFT record (negative: 2^-n bytes), serial at 72. An OEM
 *     ID of "-FVE-FS-" is BitLocker: nothing else is read.
 *   - MFT record 0 ($MFT) at the MFT LCN: update sequence fixups applied
 *     and checked, its unnamed $DATA runlist decoded (signed LCN deltas,
 *     sparse runs, the first NTFS_MAX_RUNS), which maps every other record.
 *   - the root directory's names: through its $I30 index (record 5's
 *     $INDEX_ROOT node and the $INDEX_ALLOCATION blocks its sub-node
 *     pointers reach, "INDX" fixups checked), which finds them wherever
 *     their records are; then the records named are read (in use, base
 *     record, sequence number as the index says). Only when the index
 *     cannot be read completely: a walk of MFT records 0..min(MFT size /
 *     record size, NTFS_MAX_RECORDS) for $FILE_NAME attributes whose
 *     parent is record 5. Either way names are in the Win32 or POSIX
 *     namespace (DOS 8.3 aliases skipped), compared case-insensitively
 *     with Windows, Boot (directories: record flag 0x0002), bootmgr,
 *     pagefile.sys, hiberfil.sys (files).
 *   - hiberfil.sys: the first 4 bytes of its unnamed $DATA (resident, or
 *     the first run, also through a resident $ATTRIBUTE_LIST): "hibr" in
 *     any case means hibernated (Windows would lose data if the volume
 *     were written), "wake", "rstr" or zeros mean not.
 *   - record 3 ($Volume): $VOLUME_NAME (the label) and
 *     $VOLUME_INFORMATION (version, dirty flag 0x0001).
 *
 * Everything is untrusted and bounds-checked: record size 256..65536 and
 * a power of two, fixup arrays, attribute lengths and offsets, runlists
 * (no run outside the volume), at most NTFS_MAX_RUNS runs of $MFT. A
 * damaged record other than 0 is skipped; a damaged record 0 or boot
 * sector fails the probe.
 *
 * Limits: the root index is read whole but at most 256 index blocks; the
 * fallback walk sees only the first NTFS_MAX_RECORDS records (Windows
 * creates pagefile.sys and hiberfil.sys late, often past that); a
 * compressed or encrypted hiberfil.sys, one whose record is damaged, or a
 * non-resident attribute list gives NTFS_HIBER_UNKNOWN. Unlike ntfs-3g, a
 * hiberfil.sys shorter than 4 KiB is judged by its signature too.
 */
#ifndef POLYBOOT_BOOT_DISC_NTFS_H
#define POLYBOOT_BOOT_DISC_NTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disc/vol.h"

#define NTFS_MAX_RECORDS	16384
#define NTFS_MAX_RUNS		1024

enum ntfs_hiber {
	NTFS_HIBER_NONE,	/* no hiberfil.sys, or one that is not in use */
	NTFS_HIBER_HIBERNATED,	/* "hibr"/"HIBR": hibernated or fast startup */
	NTFS_HIBER_UNKNOWN,	/* could not be read, or an unknown signature */
};

struct ntfs_info {
	char label[128];	/* UTF-8, from $VOLUME_NAME */
	uint64_t serial;	/* boot sector offset 72 */
	bool bitlocker;		/* OEM ID "-FVE-FS-": nothing else is filled */
	bool dirty;		/* $VOLUME_INFORMATION flag 0x0001 */
	enum ntfs_hiber hiber;
	char hiber_sig[5];	/* hiberfil.sys's first 4 bytes ('?' unprintable), "" if 0 */
	bool has_windows_dir, has_bootmgr, has_pagefile, has_hiberfil, has_boot_dir;
	unsigned ntfs_major, ntfs_minor;
	uint32_t cluster_size, record_size;
};

/*
 * Probes @v. Returns 0 (with @why "" or a note on something damaged that
 * was skipped, such as an unreadable $Volume), -EINVAL when @v is not NTFS
 * or its boot sector or $MFT record is damaged (@why says what), -ENOMEM,
 * or a read error.
 */
int ntfs_probe(const struct vol *v, struct ntfs_info *out, char *why, size_t whylen);

#endif
