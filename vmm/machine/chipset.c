/*
 * MCH host bridge + ICH9 LPC bridge config registers.
 * Intel 3 Series Chipset (MCH) datasheet 5.1.13 PCIEXBAR; ICH9 datasheet
 * 13.1 (LPC PCI config: PMBASE 0x40, ACPI_CNTL 0x44, PIRQx_ROUT, RCBA).
 *
 * PAM0-6 (MCH datasheet 5.1.18-24, 0x90-0x96: read/write enables of
 * 0xC0000-0xFFFFF) are stored with their reserved bits read-only, which is
 * all SeaBIOS checks (src/fw/shadow.c: PAM0 bit 4 set means the BIOS area
 * is already RAM). They do not remap anything: the area is always RAM
 * (machine/bios.h), so "read-only" segments stay writable.
 *
 * Not implemented: PCIEXBAR relocation (ECAM stays at 0xB0000000, which is
 * what OVMF and SeaBIOS program; another value is logged), SMRAM registers
 * (no SMM), the RCBA register block itself, GPIO and the other LPC decoders.
 */
#define LOG_MOD "chipset"
#include "machine/chipset.h"

#include <string.h>

#include "log.h"
#include "machine/layout.h"

static void mch_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	uint64_t bar;

	if (off < MCH_PAM0 + MCH_PAM_COUNT && off + size > MCH_PAM0) {
		const uint8_t *p = &d->cfg[MCH_PAM0];
		log_debug("PAM %02x %02x %02x %02x %02x %02x %02x", p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
		return;
	}
	if (off + size <= MCH_PCIEXBAR || off >= MCH_PCIEXBAR + 8)
		return;
	bar = (uint64_t)pci_get32(d, MCH_PCIEXBAR) | (uint64_t)pci_get32(d, MCH_PCIEXBAR + 4) << 32;
	/* OVMF writes 0 to both halves, then base | enable. */
	if ((bar & 1) && (bar & ~0xfULL) != LAYOUT_ECAM_BASE)
		log_guest("PCIEXBAR moved to %#llx; ECAM stays at %#llx",
			  (unsigned long long)(bar & ~0xfULL), (unsigned long long)LAYOUT_ECAM_BASE);
	if ((bar & 0x6) != 0)
		log_guest("PCIEXBAR length %llu (not 256 buses) ignored", (unsigned long long)((bar >> 1) & 3));
}

static const struct pci_dev_ops mch_ops = { .cfg_write = mch_cfg_write };

static void lpc_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	struct chipset *c = d->opaque;
	bool pm = (off < ICH9_LPC_PMBASE + 4 && off + size > ICH9_LPC_PMBASE) ||
		  (off <= ICH9_LPC_ACPI_CTRL && off + size > ICH9_LPC_ACPI_CTRL);

	if (pm && c->pm_update) {
		uint16_t base = (uint16_t)(pci_get32(d, ICH9_LPC_PMBASE) & 0xff80);
		c->pm_update(c->pm_ctx, base, d->cfg[ICH9_LPC_ACPI_CTRL] & ICH9_LPC_ACPI_EN);
	}
}

static const struct pci_dev_ops lpc_ops = { .cfg_write = lpc_cfg_write };

int chipset_init(struct chipset *c, struct pci_bus *bus,
		 void (*pm_update)(void *ctx, uint16_t base, bool enabled), void *pm_ctx)
{
	struct pci_dev *m = &c->mch, *l = &c->lpc;
	int r;

	c->pm_update = pm_update;
	c->pm_ctx = pm_ctx;

	pci_dev_init(m, "mch", 0x8086, 0x29c0, 0x060000, 0x02, true);
	pci_dev_set_subsystem(m, 0x1af4, 0x1100);
	/* The host bridge has no interrupt pin (OVMF asserts on it) and no BARs. */
	pci_set16(m->wmask, PCI_COMMAND, 0);
	memset(&m->wmask[MCH_PCIEXBAR], 0xff, 8);
	m->wmask[MCH_PCIEXBAR] = 0xf7;	/* bit 3 reserved */
	/* PAM0 has only the 0xF0000 enables (5:4); PAM1-6 two 16 KiB halves each. */
	m->wmask[MCH_PAM0] = 0x30;
	memset(&m->wmask[MCH_PAM0 + 1], 0x33, MCH_PAM_COUNT - 1);
	m->ops = &mch_ops;
	m->opaque = c;
	r = pci_bus_add(bus, m, LAYOUT_HOSTBRIDGE_DEVFN);
	if (r)
		return r;

	pci_dev_init(l, "lpc", 0x8086, 0x2918, 0x060100, 0x02, true);
	pci_dev_set_subsystem(l, 0x1af4, 0x1100);
	/* Multi-function like the real ICH9 (SATA/SMBus would be 1f.2/1f.3). */
	l->cfg[PCI_HEADER_TYPE] = 0x80;
	/* OVMF's SioBusDxe binds only when IO|MEM can be set (research 8). */
	pci_set32(l->cfg, ICH9_LPC_PMBASE, 0x00000001);
	pci_set32(l->wmask, ICH9_LPC_PMBASE, 0x0000ff80);
	l->wmask[ICH9_LPC_ACPI_CTRL] = 0xff;	/* ACPI_EN + SCI IRQ select */
	memset(&l->wmask[ICH9_LPC_PIRQA_ROUT], 0x8f, 4);
	memset(&l->wmask[ICH9_LPC_PIRQE_ROUT], 0x8f, 4);
	memset(&l->cfg[ICH9_LPC_PIRQA_ROUT], 0x80, 4);	/* routing disabled at reset */
	memset(&l->cfg[ICH9_LPC_PIRQE_ROUT], 0x80, 4);
	pci_set32(l->wmask, ICH9_LPC_RCBA, 0xffffc001);
	l->ops = &lpc_ops;
	l->opaque = c;
	return pci_bus_add(bus, l, LAYOUT_LPC_DEVFN);
}
