/*
 * FAT12/16/32 (Microsoft "FAT: General Overview of On-Disk Format" 1.03)
 * with VFAT long names, read-only: what discovery needs to look inside EFI
 * system partitions and FAT-formatted boot media.
 *
 * Layout: boot sector and BPB, reserved sectors, 1 to 4 copies of the FAT,
 * on FAT12/16 a fixed root directory, then the data clusters (numbered
 * from 2). The cluster count alone decides the FAT type (< 4085 FAT12,
 * < 65525 FAT16, else FAT32), as the specification says. The FAT in use
 * is the first, or on FAT32 the active one when mirroring is off.
 *
 * Names: a long name (LFN entries, ordinals and checksum checked) when
 * there is a valid one, else the 8.3 name as Windows shows it (code page
 * 437, NT lower-case bits 0x08/0x10 of byte 12). Lookups are case-
 * insensitive (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic) and
 * match either name; '/' and '\\' both separate components, "." and ".."
 * are understood, "" and "/" are the root.
 *
 * Everything is untrusted: cluster chains stop at an end mark and fail
 * (-EIO) at a free, bad or out-of-range cluster; loops are found (Brent's
 * cycle detection, -ELOOP) and no chain runs longer than the cluster
 * count; directories are cut at 65536 entries; nothing is read outside
 * the volume. The FAT is read through a small block cache, never whole.
 *
 * Limits: no writes, no exFAT (fsprobe.h names it), no timestamps or
 * attributes beyond "directory", 8.3 names always decoded as code page
 * 437, file sizes are 32-bit as on disk.
 */
#ifndef POLYBOOT_BOOT_DISC_FAT_H
#define POLYBOOT_BOOT_DISC_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disc/vol.h"

#define FAT_NAME_MAX	768	/* a name as UTF-8 with its NUL (255 UTF-16 units) */
#define FAT_DIR_MAX	65536	/* entries read from one directory */

struct fat;

struct fat_stat {
	bool dir;
	uint64_t size;		/* bytes; 0 for directories */
};

/*
 * Checks the boot sector of @v (signature, bytes per sector 512..4096 and a
 * power of two, sectors per cluster a power of two, reserved sectors, 1..4
 * FATs, FAT size, total sectors inside @v, FAT big enough for the cluster
 * count, root directory) and reads the volume label. Returns 0 with a
 * handle for fat_close(), -EINVAL (@why says what is wrong), -ENOMEM, or
 * the read error. @v is copied; what it reads from must outlive the handle.
 */
int fat_open(const struct vol *v, struct fat **out, char *why, size_t whylen);
void fat_close(struct fat *f);

/* 12, 16 or 32. */
unsigned fat_bits(const struct fat *f);
/* The label of the root directory's volume-label entry, else the boot
 * sector's, trailing spaces trimmed, "" for none or "NO NAME" (UTF-8). */
const char *fat_label(const struct fat *f);
/* The volume ID (serial number) of the boot sector. */
uint32_t fat_serial(const struct fat *f);

/* 0, -ENOENT, -ENOTDIR (a component before the last is a file), -EIO or
 * -ELOOP for a damaged directory, -ENAMETOOLONG past 64 levels. */
int fat_stat(struct fat *f, const char *path, struct fat_stat *st);

/*
 * Reads up to @len bytes of the file @path from byte @off into @buf;
 * *@got says how many (less than @len only at the end of the file).
 * -EISDIR for a directory, -EIO or -ELOOP for a damaged cluster chain,
 * or fat_stat()'s errors.
 */
int fat_read(struct fat *f, const char *path, uint64_t off, void *buf, size_t len, size_t *got);

/*
 * The whole file @path in a malloc'd buffer with a NUL after its @len
 * bytes (for the caller to free). -EFBIG if it is larger than @max bytes,
 * -ENOMEM, or fat_read()'s errors.
 */
int fat_read_file(struct fat *f, const char *path, size_t max, char **data, size_t *len);

/*
 * Calls @cb for each entry of the directory @path, in directory order,
 * with its UTF-8 name; volume labels, deleted entries, "." and ".." are
 * left out. A nonzero return from @cb stops the listing and is returned.
 * -ENOTDIR if @path is a file, else fat_stat()'s errors.
 */
int fat_list(struct fat *f, const char *path,
	     int (*cb)(void *ctx, const char *name, const struct fat_stat *st), void *ctx);

#endif
