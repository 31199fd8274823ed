/*
 * The guest-physical and I/O layout of polyvmm's Q35-flavoured machine.
 * Everything that must agree between the device models, the ACPI tables and
 * the firmware lives here. Values that Debian's OVMF hard-codes are marked
 * (OVMF); see shared/research/ovmf-platform.md sections 2-4.
 */
#ifndef POLYBOOT_VMM_MACHINE_LAYOUT_H
#define POLYBOOT_VMM_MACHINE_LAYOUT_H

#include <stdint.h>

/* RAM below 4 GiB ends at or below this; the rest starts at 4 GiB. */
#define LAYOUT_LOWMEM_MAX	0x80000000ULL
#define LAYOUT_HIGHMEM_BASE	0x100000000ULL

/* PCI Express ECAM, 256 buses (OVMF: PcdPciExpressBaseAddress). */
#define LAYOUT_ECAM_BASE	0xB0000000ULL
#define LAYOUT_ECAM_SIZE	0x10000000ULL

/* 32-bit PCI MMIO window OVMF uses on Q35 (OVMF). */
#define LAYOUT_MMIO32_BASE	0xC0000000ULL
#define LAYOUT_MMIO32_END	0xFC000000ULL	/* exclusive */

/* PCI I/O port window OVMF uses on Q35 (OVMF). */
#define LAYOUT_PCI_IO_BASE	0x6000
#define LAYOUT_PCI_IO_END	0x10000		/* exclusive */

#define LAYOUT_IOAPIC_BASE	0xFEC00000ULL
#define LAYOUT_HPET_BASE	0xFED00000ULL	/* reserved by OVMF, not emulated */
#define LAYOUT_LAPIC_BASE	0xFEE00000ULL

/* KVM housekeeping pages, outside RAM and every PCI window (as QEMU). */
#define LAYOUT_KVM_IDENTITY_MAP	0xFEFFC000ULL
#define LAYOUT_KVM_TSS		0xFEFFD000ULL

/* Firmware flash ends at 4 GiB: VARS, then CODE (OVMF 4M: 0xFFC00000). */
#define LAYOUT_FLASH_END	0x100000000ULL

/*
 * --bios (SeaBIOS): the image ends at 4 GiB as well, and its last 128 KiB
 * also show at 0xE0000-0xFFFFF (QEMU's "isa-bios"); 0xC0000-0xDFFFF is the
 * option ROM area. SeaBIOS assigns 32-bit BARs downwards from the IOAPIC,
 * so its PCI window reaches up to it (SeaBIOS BUILD_PCIMEM_END).
 */
#define LAYOUT_ROM_AREA_BASE	0xC0000ULL
#define LAYOUT_ROM_AREA_END	0x100000ULL	/* exclusive */
#define LAYOUT_ISA_BIOS_MAX	0x20000ULL
#define LAYOUT_BIOS_MMIO32_END	0xFEC00000ULL	/* exclusive */

/* ICH9 LPC ACPI PM block (OVMF programs PMBASE = 0x600). */
#define LAYOUT_PM_BASE		0x600
#define LAYOUT_PM1_EVT		(LAYOUT_PM_BASE + 0x00)	/* 4 bytes: STS, EN */
#define LAYOUT_PM1_CNT		(LAYOUT_PM_BASE + 0x04)	/* 2 bytes */
#define LAYOUT_PM_TMR		(LAYOUT_PM_BASE + 0x08)	/* 4 bytes */
#define LAYOUT_GPE0		(LAYOUT_PM_BASE + 0x20)	/* 16 bytes: 8 STS, 8 EN */
#define LAYOUT_GPE0_LEN		16
#define LAYOUT_PM_LEN		0x80
#define LAYOUT_SCI_GSI		9

/* Legacy devices. */
#define LAYOUT_COM1_BASE	0x3F8
#define LAYOUT_COM1_GSI		4
#define LAYOUT_RTC_BASE		0x70
#define LAYOUT_RTC_GSI		8
#define LAYOUT_RTC_CENTURY	0x32	/* CMOS index of the century byte (FADT) */
#define LAYOUT_FWCFG_BASE	0x510	/* selector 0x510, data 0x511 */
#define LAYOUT_FWCFG_DMA	0x514	/* 8 bytes, big-endian address */
#define LAYOUT_RESET_CF9	0xCF9
#define LAYOUT_PORT92		0x92
#define LAYOUT_I8042_CMD	0x64

/* PCI INTx: slot @slot pin @pin (0=INTA..3=INTD) on bus 0 -> IOAPIC GSI.
 * The DSDT _PRT and the PCI core both use this. */
#define LAYOUT_INTX_GSI_BASE	16
#define LAYOUT_INTX_GSI_COUNT	8
static inline unsigned layout_intx_gsi(unsigned slot, unsigned pin)
{
	return LAYOUT_INTX_GSI_BASE + ((slot + pin) % LAYOUT_INTX_GSI_COUNT);
}

/* Fixed PCI functions on bus 0. */
#define LAYOUT_HOSTBRIDGE_DEVFN	0x00		/* 00:00.0, 8086:29C0 */
#define LAYOUT_LPC_DEVFN	((0x1f << 3) | 0)	/* 00:1f.0, 8086:2918 */
#define LAYOUT_DISK_SLOT0	0x04	/* --disk N is 00:(4+N).0 */

#endif
