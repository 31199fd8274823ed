/*
 * The Q35-flavoured chipset functions on PCI bus 0: the MCH host bridge
 * (00:00.0, 8086:29C0, PCIEXBAR, PAM) and the ICH9 LPC bridge (00:1F.0,
 * 8086:2918: PMBASE, ACPI_CNTL, PIRQ routing, RCBA). Exactly the registers
 * Debian's OVMF (research note section 3) and SeaBIOS program; they read
 * back what was written.
 */
#ifndef POLYBOOT_VMM_MACHINE_CHIPSET_H
#define POLYBOOT_VMM_MACHINE_CHIPSET_H

#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"

#define MCH_PCIEXBAR		0x60	/* 64-bit: base | length | enable */
#define MCH_PAM0		0x90	/* PAM0 (0xF0000, bits 5:4) .. PAM6 (0x96) */
#define MCH_PAM_COUNT		7
#define ICH9_LPC_PMBASE		0x40	/* bits 15:7, bit 0 reads 1 */
#define ICH9_LPC_ACPI_CTRL	0x44	/* bit 7: ACPI_EN */
#define  ICH9_LPC_ACPI_EN	0x80
#define ICH9_LPC_PIRQA_ROUT	0x60	/* 0x60-0x63 PIRQ A-D, 0x68-0x6B E-H */
#define ICH9_LPC_PIRQE_ROUT	0x68
#define ICH9_LPC_RCBA		0xf0

struct chipset {
	struct pci_dev mch;
	struct pci_dev lpc;
	/* Called when the guest moves or enables the PM block (may be NULL). */
	void (*pm_update)(void *ctx, uint16_t base, bool enabled);
	void *pm_ctx;
};

/* Registers both functions on @bus. */
int chipset_init(struct chipset *c, struct pci_bus *bus,
		 void (*pm_update)(void *ctx, uint16_t base, bool enabled), void *pm_ctx);

#endif
