/*
 * The inventory as the boot manager uses it: disks, partitions and OSes
 * read back from discovery's JSON (report_json(), schema in README.md), so
 * the planner and the menu work the same from a live scan, from a saved
 * `polyboot scan --json` (check-config --inventory) and from test inputs.
 */
#ifndef POLYBOOT_BOOT_INV_H
#define POLYBOOT_BOOT_INV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INV_MAX_DISKS	32
#define INV_MAX_PARTS	128
#define INV_MAX_OSES	64
#define INV_MAX_NEEDS	16
#define INV_MAX_INITRD	4
#define INV_PATH_MAX	256

struct inv_part {
	char id[48];
	char dev[INV_PATH_MAX + 8];	/* "" for a partition of an image file */
	unsigned num;
	uint64_t start, size;		/* bytes */
	char type_name[16];		/* esp, linux, msr, basic-data, ... */
	char fs[16];			/* vfat, ext4, ntfs, ... or "" */
	char label[64];
	bool hibernated, bitlocker;	/* NTFS facts (never writable by another OS) */
	bool polyboot_esp;		/* the ESP polyboot runs from (the firmware writes it) */
};

struct inv_disk {
	char id[48];			/* gpt:<guid>, mbr:<sig> */
	char dev[INV_PATH_MAX];		/* /dev/vda or an image file */
	char name[64];
	char transport[16];
	char table[8];			/* gpt, mbr, "" */
	uint64_t size;
	unsigned nparts;
	struct inv_part *parts;		/* nparts of them */
};

/* A need: partition @part of disk @disk, or the whole disk (@part -1). */
struct inv_need {
	int disk, part;			/* indices into inv.disks / disks[disk].parts */
	char role[16];
};

struct inv_os {
	char id[40];
	char kind[20];
	char label[128];
	char firmware[8];		/* uefi, bios */
	/* how a VM boots it (indices -1 when not applicable) */
	int esp_disk, esp_part;		/* UEFI: the loader's partition */
	char loader[INV_PATH_MAX];	/* UEFI: \EFI\...\x.efi */
	int vm_disk;			/* BIOS: the whole disk */
	bool image;			/* an image file (kind disk-image or iso) */
	/* native boot */
	int bootnext;			/* Boot#### number, -1 none */
	bool has_kexec;
	int kexec_disk, kexec_part;	/* where kernel and initrds are */
	char kernel[INV_PATH_MAX];
	unsigned ninitrd;
	char initrd[INV_MAX_INITRD][INV_PATH_MAX];
	char cmdline[1024];
	bool kexec_uki;
	unsigned nneeds;
	struct inv_need needs[INV_MAX_NEEDS];
	unsigned nwarnings;
	bool hibernated, bitlocker;	/* one of its partitions is */
};

struct inv {
	unsigned ndisks;
	struct inv_disk disks[INV_MAX_DISKS];
	unsigned noses;
	struct inv_os oses[INV_MAX_OSES];
};

/* Parses discovery's JSON. 0, or -EINVAL with a reason in @why (the JSON
 * path of the first bad field). Unknown fields are ignored; dev, name,
 * transport, table, type_name, fs, windows, polyboot_esp, native and the
 * warnings may be missing (a saved inventory with device names taken out)
 * but are refused when of the wrong type. Human text (names, labels) is
 * cut to fit; ids and paths that do not fit are refused. @inv is
 * overwritten; after a success inv_free() releases it (on failure there
 * is nothing to free). */
int inv_from_json(struct inv *inv, const char *json, size_t len, char *why, size_t whylen);
void inv_free(struct inv *inv);		/* frees the partition arrays */

/* Lookups: index or -1. A partition is found by its id or its /dev path,
 * a disk by its id or /dev path. */
int inv_find_os(const struct inv *inv, const char *id);
int inv_find_disk(const struct inv *inv, const char *what);
int inv_find_part(const struct inv *inv, const char *what, int *disk);

#endif
