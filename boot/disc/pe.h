/*
 * PE/COFF headers of EFI applications (PE Format, Microsoft; UEFI 2.10
 * section 2.1.1), for discovery to tell what an .efi file is: which CPU it
 * is for, whether it is an EFI application or driver, and whether it is a
 * Unified Kernel Image (a systemd stub with .linux, .initrd, .osrel,
 * .cmdline, .uname sections; UAPI group "Unified Kernel Image"
 * specification), whose sections can then be read.
 *
 * Layout: the MS-DOS header ("MZ", e_lfanew at 0x3c), "PE\0\0", the COFF
 * file header (machine, section count, optional header size), the
 * optional header (magic 0x10b PE32 or 0x20b PE32+, subsystem at 68 in
 * both), then the section table, 40 bytes a section.
 *
 * Everything is untrusted: e_lfanew, the headers and the section table
 * must lie inside the file, at most PE_MAX_SECTIONS sections, and every
 * section's raw data inside the file. Nothing is relocated or executed;
 * long section names ("/nnn" string table references) are kept as they
 * are.
 */
#ifndef POLYBOOT_BOOT_DISC_PE_H
#define POLYBOOT_BOOT_DISC_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disc/vol.h"

#define PE_MAX_SECTIONS	96

#define PE_MACHINE_I386		0x014c
#define PE_MACHINE_ARM		0x01c2	/* ARM Thumb-2 ("ARMTHUMB_MIXED") */
#define PE_MACHINE_ARMNT	0x01c4
#define PE_MACHINE_X64		0x8664
#define PE_MACHINE_ARM64	0xaa64
#define PE_MACHINE_RISCV64	0x5064
#define PE_MACHINE_LOONGARCH64	0x6264

#define PE_SUBSYSTEM_EFI_APPLICATION		10
#define PE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER	11
#define PE_SUBSYSTEM_EFI_RUNTIME_DRIVER		12

struct pe_section {
	char name[9];		/* NUL-terminated; unprintable bytes as '?' */
	uint32_t vsize, vaddr, raw_size, raw_off;
};

struct pe_info {
	uint16_t machine;
	uint16_t subsystem;
	bool pe32plus;
	unsigned nsect;
	struct pe_section sect[PE_MAX_SECTIONS];
};

/*
 * Parses the headers of the PE image @v. Returns 0, or -EINVAL with @why
 * naming the first thing that is wrong (or a read error). Any subsystem is
 * accepted: pe_is_efi() says whether it is an EFI one.
 */
int pe_parse(const struct vol *v, struct pe_info *out, char *why, size_t whylen);

/* The section called @name, or NULL. */
const struct pe_section *pe_find(const struct pe_info *pe, const char *name);

/*
 * The contents of section @s of @v: min(vsize, raw_size) bytes (raw_size
 * when vsize is 0), malloc'd with a NUL after them. -EFBIG above @max
 * bytes, -EINVAL if the data is not inside @v, -ENOMEM, or a read error.
 */
int pe_read_section(const struct vol *v, const struct pe_section *s, size_t max, char **data,
		    size_t *len);

/* A Unified Kernel Image: a .linux section. */
bool pe_is_uki(const struct pe_info *pe);
/* Subsystem 10, 11 or 12. */
bool pe_is_efi(const struct pe_info *pe);
/* "x64", "ia32", "aa64", "arm", "riscv64", "loongarch64" (the EFI boot
 * file suffixes), or "unknown". */
const char *pe_machine_name(uint16_t machine);

#endif
