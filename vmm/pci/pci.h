/*
 * PCI bus 0 of the machine: configuration space through conf1 (0xCF8/0xCFC)
 * and ECAM, per-device config images with write masks, BAR sizing and
 * relocation, capabilities, INTx. Devices fill in a struct pci_dev and get
 * called back; they never see the bus registers or KVM.
 */
#ifndef POLYBOOT_VMM_PCI_PCI_H
#define POLYBOOT_VMM_PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/irq.h"

#define PCI_CFG_SIZE		4096
#define PCI_NUM_BARS		6
#define PCI_ROM_SLOT		6	/* bar[6] is the expansion ROM */

/* Standard header registers (type 0). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x0001
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_PARITY	0x0040
#define  PCI_COMMAND_SERR	0x0100
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_INTERRUPT	0x0008
#define  PCI_STATUS_CAP_LIST	0x0010
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_LATENCY_TIMER	0x0d
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_CAP_ID_PM		0x01
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_EXP		0x10
#define PCI_CAP_ID_MSIX		0x11

enum pci_bar_type { PCI_BAR_NONE = 0, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_dev;

struct pci_bar {
	enum pci_bar_type type;
	bool prefetch;
	uint64_t size;			/* power of two; IO >= 4, MEM >= 16 */
	const struct io_ops *ops;	/* accesses at offsets inside the BAR; NULL
					 * when the device maps memory itself */
	void *opaque;
	/* Current decode state, kept by the bus. */
	bool mapped;
	uint64_t addr;
};

struct pci_dev_ops {
	/* Called after a config write of @size bytes at @off was applied through
	 * the write masks (bus lock held: do not call pci_cfg_* from here). */
	void (*cfg_write)(struct pci_dev *d, unsigned off, unsigned size, uint32_t val);
	/* Optional read override: return true and set *val to handle it. */
	bool (*cfg_read)(struct pci_dev *d, unsigned off, unsigned size, uint32_t *val);
	/* BAR @idx started (@mapped) or stopped decoding at @addr; for devices
	 * that back a BAR with memory (VFIO) rather than io_ops. */
	void (*bar_moved)(struct pci_dev *d, int idx, bool mapped, uint64_t addr);
	/* Device reset (VM reset); the bus restores the config image first. */
	void (*reset)(struct pci_dev *d);
};

struct pci_bus;

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits cleared by writing 1 */
	uint8_t cfg_reset[PCI_CFG_SIZE];	/* image restored on reset */
	struct pci_bar bar[PCI_NUM_BARS + 1];
	const struct pci_dev_ops *ops;
	void *opaque;
	const char *name;
	struct pci_bus *bus;
	uint8_t devfn;
	bool pcie;			/* 4 KiB config space */
	struct irq_line intx;		/* set by pci_bus_add from the _PRT mapping */
	int intx_level;
	uint8_t last_cap;		/* for chaining capabilities */
	uint8_t next_cap;		/* next free offset for a capability */
	uint16_t last_ext_cap, next_ext_cap;
};

struct pci_bus {
	struct pci_dev *dev[256];	/* bus 0, by devfn */
	struct io_bus *pio, *mmio;
	struct irq_line intx;		/* set_level/ctx template; gsi per device */
	uint64_t ecam_base;
	uint32_t conf1_addr;
	pthread_mutex_t lock;		/* config space */
	const struct io_ops *cf9_ops;	/* byte accesses at 0xCF9 (reset control) */
	void *cf9_opaque;
};

/*
 * Sets up bus 0 with conf1 at 0xCF8-0xCFF on @pio and ECAM at @ecam_base
 * (256 buses, 256 MiB) on @mmio. @intx carries the set_level callback used
 * for every device's INTx line (the GSI comes from layout_intx_gsi()).
 */
int pci_bus_init(struct pci_bus *bus, struct io_bus *pio, struct io_bus *mmio,
		 uint64_t ecam_base, struct irq_line intx);

/* Byte accesses at 0xCF9, inside the conf1 address register, go to @ops
 * (the ICH9 reset control register) at offset 0. */
void pci_bus_set_cf9(struct pci_bus *bus, const struct io_ops *ops, void *opaque);

/*
 * Initialises @d: IDs, class (class << 16 | subclass << 8 | prog-if),
 * revision, standard write masks (COMMAND, latency, interrupt line...).
 * @pcie gives a 4 KiB config space (extended capabilities).
 */
void pci_dev_init(struct pci_dev *d, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, bool pcie);
void pci_dev_set_subsystem(struct pci_dev *d, uint16_t vendor, uint16_t id);
/* INTx pin 1..4 (INTA..INTD); 0 for none. */
void pci_dev_set_intx_pin(struct pci_dev *d, uint8_t pin);

/* Declares BAR @idx (a 64-bit BAR uses idx and idx+1); -EINVAL on a bad
 * size or index. @ops may be NULL when bar_moved maps memory instead. */
int pci_dev_set_bar(struct pci_dev *d, int idx, enum pci_bar_type type, uint64_t size,
		    bool prefetch, const struct io_ops *ops, void *opaque);
/* Expansion ROM BAR of @size bytes (read-only handler). */
int pci_dev_set_rom(struct pci_dev *d, uint64_t size, const struct io_ops *ops, void *opaque);

/* Adds a capability of @len bytes with ID @id; returns its config offset
 * (> 0x40), or -ENOSPC. The caller fills the body and its write masks. */
int pci_add_cap(struct pci_dev *d, uint8_t id, unsigned len);
/* PCIe extended capability (at 0x100 and up); returns its offset. */
int pci_add_ext_cap(struct pci_dev *d, uint16_t id, uint8_t version, unsigned len);
/* PCI Express capability (v2) for a function of @port_type (PCI_EXP_TYPE_*);
 * returns its offset or -ENOSPC. */
#define PCI_EXP_TYPE_ENDPOINT	0x0
#define PCI_EXP_TYPE_RC_END	0x9	/* root complex integrated endpoint */
int pci_add_pcie_cap(struct pci_dev *d, unsigned port_type);
/* Finds capability @id; returns its offset or 0. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id);

/* Puts @d at @devfn (bus 0). Snapshots the config image for reset. */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *d, uint8_t devfn);

/* Config access by (devfn, offset), as conf1/ECAM do; unimplemented
 * functions read all-ones. Exposed for tests. */
uint32_t pci_cfg_read(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size);
void pci_cfg_write(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size, uint32_t val);

/* Sets the INTx input of @d (level); honours COMMAND.INTX_DISABLE and
 * keeps STATUS.INTERRUPT. Any thread. */
void pci_set_irq(struct pci_dev *d, int level);

/* VM reset: unmaps every BAR, restores config images, calls ops->reset. */
void pci_bus_reset(struct pci_bus *bus);

/* Little helpers on a device's config image. */
static inline uint16_t pci_get16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}

static inline uint32_t pci_get32(const struct pci_dev *d, unsigned off)
{
	return (uint32_t)d->cfg[off] | (uint32_t)d->cfg[off + 1] << 8 |
	       (uint32_t)d->cfg[off + 2] << 16 | (uint32_t)d->cfg[off + 3] << 24;
}

static inline void pci_set16(uint8_t *p, unsigned off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static inline void pci_set32(uint8_t *p, unsigned off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

#endif
