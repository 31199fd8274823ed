/*
 * Discovery: every disk, partition and installed OS of the machine, read
 * without writing a byte (see mnt.h for how filesystems are mounted, and
 * fat.h/ntfs.h for what is read without mounting).
 *
 * A scan is built in three steps:
 *   scan_new()                       options (efivars directory, mounts on/off)
 *   scan_add_sysfs()/scan_add_disk() the disks: block devices or image files
 *   scan_run()                       partitions, filesystems, then the OS
 *                                    detectors (detect.h), then sharing
 * and read through the structures below or printed by report.h.
 *
 * Everything found on a disk is untrusted. Faults are never fatal: they
 * become warnings on the disk, partition or OS they concern, naming the
 * place (disk, partition, file and line).
 *
 * Identifiers are stable across reboots and renumbering of disks: a disk
 * is "gpt:<disk GUID>" or "mbr:<signature>", a partition its GPT unique
 * GUID or "<signature>-<nn>" (Linux's PARTUUID), an OS "<kind>-<hash>" of
 * what it is anchored to (the ESP's partition id and the loader path, the
 * disk for BIOS installs, the partition and path of an image file).
 */
#ifndef POLYBOOT_BOOT_DISC_SCAN_H
#define POLYBOOT_BOOT_DISC_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disc/bootcode.h"
#include "disc/efivars.h"
#include "disc/fsprobe.h"
#include "disc/ntfs.h"
#include "disc/vol.h"
#include "disk/gpt.h"
#include "guid.h"

#define SCAN_MAX_DISKS		32
#define SCAN_MAX_OSES		64
#define SCAN_MAX_WARN		12
#define SCAN_WARN_LEN		240
#define SCAN_MAX_NEEDS		16
#define SCAN_MAX_ENTRIES	16
#define SCAN_MAX_INITRD		4
#define SCAN_PATH_MAX		256

struct warns {
	unsigned n, dropped;
	char msg[SCAN_MAX_WARN][SCAN_WARN_LEN];
};

void warn_add(struct warns *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct fat;
struct sc_disk;

struct sc_part {
	struct sc_disk *disk;
	unsigned num;			/* GPT entry index, MBR 1-4 primary, 5.. logical */
	uint64_t start, size;		/* bytes */
	char type[40];			/* GPT type GUID, or "0x83" */
	const char *type_name;		/* "esp", "linux", "msr", ... (scan.c) */
	char name[GPT_NAME_MAX];	/* GPT partition name */
	char partuuid[40];
	char id[48];
	char dev[SCAN_PATH_MAX + 8];	/* the /dev node, or "" for an image file */
	bool active;			/* MBR boot flag */
	bool extended;			/* an MBR extended container */
	bool polyboot_esp;		/* holds \EFI\polyboot: the firmware's own ESP */
	struct fs_probe fs;
	bool ntfs_ok;
	struct ntfs_info ntfs;
	struct warns warn;
	/* filesystem access, opened on first use */
	struct fat *fat;
	int fat_err;
	char mnt[80];
	int mnt_err;			/* 1 = mounted, 0 = not tried, -errno */
	int rootfd;
	char mnt_extra[64];		/* e.g. subvol=root */
};

struct sc_disk {
	char path[SCAN_PATH_MAX];	/* /dev/vda or the image file */
	char name[64];			/* vda, nvme0n1 or the file's base name */
	char model[64];
	char transport[16];		/* nvme, virtio, sata, usb, image ... */
	bool image;
	bool removable;
	int fd;				/* O_RDONLY */
	uint64_t size;
	unsigned sector;
	char table[8];			/* "gpt", "mbr", "" */
	struct guid guid;
	uint32_t mbr_sig;
	struct bootcode_info boot;
	uint8_t lba0[512];
	char id[48];
	unsigned nparts;
	struct sc_part parts[GPT_MAX_PARTS];
	struct warns warn;
};

/* What an OS needs of a partition (or of a whole disk: part NULL). */
struct sc_need {
	struct sc_disk *disk;
	struct sc_part *part;
	char role[16];		/* esp, root, boot, home, data, swap, system, msr, recovery, bios-boot, image */
	char detail[64];	/* a mount point, a file */
};

/* One bootable kernel of an OS (GRUB menu entry, BLS entry, UKI). */
struct sc_entry {
	char title[160];
	bool is_default;
	char kind[12];			/* linux, uki, chain, other */
	struct sc_part *kpart;		/* where kernel and initrds are */
	char kernel[SCAN_PATH_MAX];
	unsigned ninitrd;
	char initrd[SCAN_MAX_INITRD][SCAN_PATH_MAX];
	char cmdline[1024];
	struct sc_part *root;		/* the root= partition, when resolved */
};

struct sc_os {
	char id[40];
	char kind[20];		/* windows grub systemd-boot uki efi-loader efi-fallback macos
				   bios-grub2 bios-grub-legacy bios-windows bios-syslinux bios-other
				   disk-image iso */
	char label[128];
	char firmware[8];	/* uefi, bios */
	/* how a VM boots it */
	struct sc_part *esp;		/* UEFI: the loader's partition */
	char loader[SCAN_PATH_MAX];	/* UEFI: \EFI\...; image: file path */
	struct sc_disk *disk;		/* BIOS: the disk */
	struct sc_part *image_part;	/* image: the partition holding it */
	char image_format[16];		/* raw, vhd, vhdx, qcow2, iso */
	uint64_t image_size;
	bool fallback;			/* \EFI\BOOT\BOOTX64.EFI is this same loader */
	/* how it boots natively */
	int bootnum;			/* a matching Boot####, -1 if none */
	int kexec;			/* index into entries of the default Linux entry, -1 */
	unsigned nentries;
	struct sc_entry entries[SCAN_MAX_ENTRIES];
	unsigned entries_dropped;
	unsigned nneeds;
	struct sc_need needs[SCAN_MAX_NEEDS];
	char config[SCAN_PATH_MAX];	/* the boot config it was read from */
	struct warns warn;
};

struct scan_opts {
	const char *efivars;	/* NULL: EFIVARS_DEFAULT_DIR; "" none */
	const char *mnt_dir;	/* where mounts go (private namespace); NULL: /run/polyboot-scan */
	bool no_mount;		/* never mount (only userspace readers) */
};

struct scan {
	struct scan_opts opts;
	unsigned ndisks;
	struct sc_disk *disks[SCAN_MAX_DISKS];
	unsigned noses;
	struct sc_os oses[SCAN_MAX_OSES];
	unsigned oses_dropped;
	struct efivars ev;
	int ns;			/* 1 in a private mount namespace, 0 not tried, -errno */
	unsigned nmounts;
	struct warns warn;
};

struct scan *scan_new(const struct scan_opts *opts);
void scan_free(struct scan *s);

/* Adds a block device (/dev/vda) or an image file. 0 or -errno. */
int scan_add_disk(struct scan *s, const char *path);
/* Adds every disk under @sysroot/sys/block (NVMe, SATA/SCSI, virtio, USB;
 * not loop, ram, zram, optical or device-mapper), their nodes under
 * @sysroot/dev. Returns the number added or -errno. */
int scan_add_sysfs(struct scan *s, const char *sysroot);

/* Reads every disk and runs the detectors. 0, or -errno for an internal
 * failure (out of memory); faults of the disks are warnings. */
int scan_run(struct scan *s);

/* --- for the detectors (detect.c) and the GRUB evaluator glue ---------- */
struct sc_os *scan_new_os(struct scan *s, const char *kind, const char *anchor, const char *path);
void scan_need(struct sc_os *os, struct sc_disk *d, struct sc_part *p, const char *role,
	       const char *detail);

/* Files on a partition's filesystem (vfat read in userspace, others
 * mounted as mnt.h says). Paths use '/' or '\'. 0 or -errno. */
int sc_read_file(struct scan *s, struct sc_part *p, const char *path, size_t max, char **data,
		 size_t *len);
/* 1 regular file, 2 directory, or -errno (-ENOENT). */
int sc_stat(struct scan *s, struct sc_part *p, const char *path, uint64_t *size);
typedef int (*sc_list_fn)(void *ctx, const char *name, bool dir, uint64_t size);
int sc_list(struct scan *s, struct sc_part *p, const char *path, sc_list_fn cb, void *ctx);

/* A volume reading file @path of @p (for image and PE probes); release
 * with sc_file_vol_put(). */
struct sc_fvol {
	struct vol v;
	int fd;
	struct fat *fat;
	char path[SCAN_PATH_MAX];
};
int sc_file_vol(struct scan *s, struct sc_part *p, const char *path, struct sc_fvol *out);
void sc_file_vol_put(struct sc_fvol *fv);

/* Finding partitions by what configs name them with. */
struct sc_part *scan_find_fs_uuid(struct scan *s, const char *uuid);
struct sc_part *scan_find_fs_label(struct scan *s, const char *label);
struct sc_part *scan_find_partuuid(struct scan *s, const char *partuuid);
struct sc_part *scan_find_part_guid(struct scan *s, const struct guid *g);
/* UUID=, PARTUUID=, LABEL=, PARTLABEL=, /dev/disk/by-*, or a kernel
 * device name we know; NULL otherwise. */
struct sc_part *scan_resolve_spec(struct scan *s, const char *spec);

/* Mounts btrfs partition @p again with subvol=@subvol (rootflags=subvol=),
 * or with no subvol= when @subvol is NULL. */
int scan_remount_subvol(struct scan *s, struct sc_part *p, const char *subvol);

#endif
