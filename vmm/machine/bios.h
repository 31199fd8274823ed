/*
 * Legacy BIOS (SeaBIOS, --bios) images: the size polyvmm accepts and the
 * ISA ROM area 0xC0000-0xFFFFF as the BIOS finds it at power-on.
 *
 * QEMU maps the image read-only below 4 GiB and aliases its last 128 KiB at
 * 0xE0000 ("isa-bios", hw/i386/x86-common.c x86_bios_rom_init); SeaBIOS
 * then opens the area as RAM through the MCH PAM registers and copies
 * itself there from the 4 GiB copy (src/fw/shadow.c). polyvmm keeps the
 * area as guest RAM at all times, filled at every (re)start with what the
 * alias would show: the PAM registers are stored but change nothing.
 */
#ifndef POLYBOOT_VMM_MACHINE_BIOS_H
#define POLYBOOT_VMM_MACHINE_BIOS_H

#include <stddef.h>
#include <stdint.h>

#define BIOS_MIN_SIZE	0x10000ULL	/* must cover the 0xF0000 segment */
#define BIOS_MAX_SIZE	0x1000000ULL	/* 16 MiB below 4 GiB */

/* 0 if @size is a usable image size (a multiple of 64 KiB, 64 KiB up to
 * 16 MiB), else -EINVAL with the reason in @why. */
int bios_check_size(uint64_t size, char *why, size_t len);

/*
 * Writes the power-on contents of the ROM area into @area (guest RAM at
 * LAYOUT_ROM_AREA_BASE, LAYOUT_ROM_AREA_END - LAYOUT_ROM_AREA_BASE bytes):
 * the image's last min(@size, 128 KiB) bytes at its top, zeros below them
 * (QEMU's empty option ROM area).
 */
void bios_rom_area_reset(uint8_t *area, const uint8_t *image, uint64_t size);

#endif
