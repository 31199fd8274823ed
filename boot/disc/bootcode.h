/*
 * What a legacy BIOS would run: the boot code in LBA 0 of a disk (the
 * MBR's first 440 bytes) and the boot sector of a partition (VBR).
 *
 * The loaders are told apart by the strings and fields their code carries:
 *   GRUB 2 boot.img       "GRUB \0Geom\0Hard Disk\0Read\0 Error" at 0x180,
 *                         jmp 0x65; the LBA of core.img at 0x5c (LE64)
 *   GRUB legacy stage1    the same strings, jmp 0x4a, version 3.2 at 0x3e
 *   Windows NT6+ (Vista+) "Invalid partition table", "Error loading
 *                         operating system" and the TPM call's "TCPA"
 *   Windows NT5 (2000/XP) the same messages without "TCPA"
 *   syslinux mbr.bin      "Missing operating system." and "Multiple active
 *                         partitions."; gptmbr.bin "Missing OS" and "Disk error"
 *   isolinux isohybrid    "isolinux.bin missing or corrupt."
 * anything else with non-zero code is "unknown", all-zero code is "none"
 * (a disk set up for UEFI only, or a data disk).
 */
#ifndef POLYBOOT_BOOT_DISC_BOOTCODE_H
#define POLYBOOT_BOOT_DISC_BOOTCODE_H

#include <stdbool.h>
#include <stdint.h>

enum bootcode {
	BOOTCODE_NONE,
	BOOTCODE_GRUB2,
	BOOTCODE_GRUB_LEGACY,
	BOOTCODE_WINDOWS_NT6,
	BOOTCODE_WINDOWS_NT5,
	BOOTCODE_SYSLINUX,
	BOOTCODE_SYSLINUX_GPT,
	BOOTCODE_ISOHYBRID,
	BOOTCODE_UNKNOWN,
};

struct bootcode_info {
	enum bootcode kind;
	uint64_t grub_core_lba;	/* GRUB 2: where boot.img loads core.img from */
};

/* Classifies the first 512 bytes of a disk (or of a partition). Never fails. */
void bootcode_classify(const uint8_t sec[512], struct bootcode_info *out);

/* "none", "grub2", "grub-legacy", "windows-nt6", "windows-nt5", "syslinux",
 * "syslinux-gpt", "isohybrid", "unknown" */
const char *bootcode_name(enum bootcode k);

/* Is the sector GRUB 2's diskboot.img, the first sector of a core.img? */
bool bootcode_is_grub_core(const uint8_t sec[512]);

/* Does a partition's first sector look like a boot sector a chain-loading
 * MBR would run: 0x55AA and an x86 jump (EB xx / E9 xx xx) at the start? */
bool bootcode_vbr_bootable(const uint8_t sec[512]);

#endif
