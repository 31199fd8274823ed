/*
 * VFIO PCI passthrough: the guest-visible model of a host PCI function that
 * polyvmm hands to the guest. It builds a struct pci_dev for bus 0 from the
 * device's own config space and keeps the parts a guest must not reach
 * emulated (BARs, expansion ROM BAR, MSI and MSI-X, the header type, the
 * PCIe port type and link registers); everything else is read from and
 * written to the device. Research note ovmf-platform.md section 14.
 *
 * The model never calls the kernel: the device (VFIO regions, interrupts,
 * reset), the VM (memory slots, MSI routes, irqfds) and eventfds are
 * injected as the three ops structures below, so unit tests and the fuzzer
 * drive it with fakes. machine/vfio_host.c implements the device and
 * eventfd ops on /dev/vfio; machine/passthrough.c the VM ops on KVM.
 *
 * Threads: config accesses arrive with the PCI bus lock held (bus hooks);
 * trapped BAR accesses come from vCPU threads without it; reset and
 * vm_started from the main thread. Interrupt state has its own lock.
 */
#ifndef POLYBOOT_VMM_DEV_VFIO_PCI_H
#define POLYBOOT_VMM_DEV_VFIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci/pci.h"

#define VFIO_PCI_NREGIONS	7	/* BAR0-5, then the ROM (index 6) */
#define VFIO_PCI_ROM		6
#define VFIO_PCI_MAX_AREAS	8	/* mmap'ed parts of one region */
#define VFIO_PCI_MAX_PIECES	16	/* memory slots of one BAR */
#define VFIO_PCI_MSIX_MAX	2048	/* PCI: table size is 11 bits */
#define VFIO_PCI_MSI_MAX	32

/* Interrupt indexes, numbered as VFIO numbers them. */
enum vfio_pci_irq { VFIO_PCI_IRQ_INTX = 0, VFIO_PCI_IRQ_MSI = 1, VFIO_PCI_IRQ_MSIX = 2 };
/* VFIO_DEVICE_SET_IRQS actions. */
enum vfio_pci_irq_action { VFIO_PCI_ACT_TRIGGER, VFIO_PCI_ACT_UNMASK };

enum vfio_rom_mode { VFIO_ROM_AUTO, VFIO_ROM_OFF, VFIO_ROM_FILE };

/* One region (BAR or ROM) as the host describes it. */
struct vfio_pci_area {
	uint64_t off, size;	/* inside the region, page aligned */
	void *hva;		/* where the host mapped it */
};

struct vfio_pci_region {
	uint64_t size;		/* 0: the region does not exist */
	bool read, write;
	unsigned nareas;	/* mmap'ed areas (0: all accesses trapped) */
	struct vfio_pci_area area[VFIO_PCI_MAX_AREAS];
};

struct vfio_pci_irq_info {
	unsigned count;		/* vectors (INTx: 0 or 1) */
	bool resizable;		/* MSI-X vectors can be added while enabled */
};

/*
 * The device. Every function returns 0 (or a count) or -errno; the model
 * logs failures on guest accesses (rate-limited) and carries on.
 */
struct vfio_dev_ops {
	/* @len (1..4) bytes of config space at @off. */
	int (*cfg_read)(void *ctx, unsigned off, void *buf, unsigned len);
	int (*cfg_write)(void *ctx, unsigned off, const void *buf, unsigned len);
	/* Size of the config region (256 or 4096). */
	int (*cfg_size)(void *ctx);
	/* Region @idx (0-5 BARs, 6 ROM), once at init. */
	int (*region_info)(void *ctx, unsigned idx, struct vfio_pci_region *out);
	/* Trapped accesses (I/O BARs, unmappable parts, the ROM contents). */
	int (*region_read)(void *ctx, unsigned idx, uint64_t off, void *buf, size_t len);
	int (*region_write)(void *ctx, unsigned idx, uint64_t off, const void *buf, size_t len);
	int (*irq_info)(void *ctx, enum vfio_pci_irq irq, struct vfio_pci_irq_info *out);
	/*
	 * VFIO_DEVICE_SET_IRQS: eventfds @fds[0..count) for vectors @start.. of
	 * @irq (an fd of -1 detaches that vector); @count 0 with @fds NULL
	 * disables the whole index.
	 */
	int (*set_irqs)(void *ctx, enum vfio_pci_irq irq, enum vfio_pci_irq_action act,
			unsigned start, unsigned count, const int *fds);
	/* Function reset; -ENOTTY when the device has no reset method. */
	int (*reset)(void *ctx);
	/* How reset() resets ("flr", "pm", "bus"...), for the log. */
	const char *(*reset_method)(void *ctx);
	void *ctx;
};

/* The VM. Calls for a VM that is not running are no-ops (map, route add
 * and INTx irqfd then fail with -ENODEV; unmap, update and delete succeed). */
struct vfio_vm_ops {
	/* A memory slot of @size bytes at @gpa backed by @hva (BAR memory). */
	int (*map)(void *ctx, uint64_t gpa, uint64_t size, void *hva);
	int (*unmap)(void *ctx, uint64_t gpa);
	/* irqfd on a new MSI route; returns its GSI (>= 0). */
	int (*msi_route_add)(void *ctx, int fd, uint64_t addr, uint32_t data);
	int (*msi_route_update)(void *ctx, int gsi, uint64_t addr, uint32_t data);
	/* Detaches @fd from @gsi (an MSI route is freed). */
	int (*irqfd_del)(void *ctx, int fd, int gsi);
	/* Level-triggered irqfd on irqchip pin @gsi, EOI signalled on @resample_fd. */
	int (*intx_irqfd)(void *ctx, int fd, unsigned gsi, int resample_fd);
	void *ctx;
};

/* Eventfds (the model never creates file descriptors itself). */
struct vfio_efd_ops {
	int (*create)(void *ctx);		/* fd >= 0 or -errno */
	void (*close)(void *ctx, int fd);
	bool (*pending)(void *ctx, int fd);	/* signalled, without consuming it */
	void *ctx;
};

struct vfio_pci_config {
	const char *name;		/* for logs, e.g. "0000:01:00.0" */
	enum vfio_rom_mode rom;
	const uint8_t *rom_image;	/* VFIO_ROM_FILE: contents (copied) */
	size_t rom_len;
};

/* An interrupt vector as handed to the device and routed in KVM. */
struct vfio_pci_vec {
	int efd;		/* -1: none */
	int gsi;		/* irqfd route in the running VM; -1: none */
	uint64_t addr;		/* MSI-X: the guest's table entry */
	uint32_t data;
	uint32_t ctrl;		/* MSI-X vector control (bit 0: masked) */
	uint64_t raddr;		/* what the route (gsi) delivers */
	uint32_t rdata;
};

/* A page-aligned part of a memory BAR backed by host memory. */
struct vfio_pci_piece {
	uint64_t off, size;	/* inside the BAR */
	void *hva;
	bool mapped;
	uint64_t gpa;		/* while mapped */
};

struct vfio_pci;

struct vfio_pci_bar {
	struct vfio_pci *v;
	unsigned idx;
	struct vfio_pci_region region;
	struct vfio_pci_piece piece[VFIO_PCI_MAX_PIECES];
	unsigned npieces;
};

enum vfio_pci_irq_mode { VFIO_MODE_NONE, VFIO_MODE_INTX, VFIO_MODE_MSI, VFIO_MODE_MSIX };

struct vfio_pci {
	struct pci_dev pci;
	char name[32];
	struct vfio_dev_ops dev;
	struct vfio_vm_ops vm;
	struct vfio_efd_ops efd;
	uint8_t emu[PCI_CFG_SIZE];	/* bits read from pci.cfg, not the device */
	uint8_t fwd[PCI_CFG_SIZE];	/* 1: guest writes of this byte reach the device */
	unsigned cfg_size;
	struct vfio_pci_bar bar[VFIO_PCI_NREGIONS];

	/* Expansion ROM (read-only, loaded on first read). */
	enum vfio_rom_mode rom_mode;
	uint8_t *rom;
	uint64_t rom_size;
	bool rom_loaded;

	/* MSI (capability at msi_cap, 0 if none). */
	unsigned msi_cap;
	bool msi_64, msi_pvm;
	unsigned msi_max;		/* vectors the device supports */
	unsigned msi_nvec;		/* enabled vectors, 0 while off */
	struct vfio_pci_vec msi[VFIO_PCI_MSI_MAX];

	/* MSI-X (capability at msix_cap, 0 if none). */
	unsigned msix_cap;
	unsigned msix_nvec;
	unsigned msix_table_bar, msix_pba_bar;
	uint64_t msix_table_off, msix_pba_off;
	struct vfio_pci_vec *msix;	/* msix_nvec entries */
	unsigned msix_count;		/* vectors handed to the device */
	bool msix_resizable;
	bool msix_on, msix_maskall;

	/* INTx. */
	bool intx_on, intx_attached;
	int intx_efd, intx_resample;
	unsigned intx_gsi;

	enum vfio_pci_irq_mode mode;	/* what the device delivers now */
	bool no_reset_logged;
	pthread_mutex_t lock;		/* interrupt state, ROM loading */
};

/*
 * Reads the device's config space and regions and builds v->pci. @cfg is
 * copied (the ROM image too). The ops must stay valid until
 * vfio_pci_fini(). Returns 0, -ENODEV (the device does not answer),
 * -ENOTSUP (not a type 0 function), -ENOMEM or a backend error.
 */
int vfio_pci_init(struct vfio_pci *v, const struct vfio_pci_config *cfg,
		  struct vfio_dev_ops dev, struct vfio_vm_ops vm, struct vfio_efd_ops efd);

/* Puts the function at @devfn on @bus (INTx GSI from the bus's routing). */
int vfio_pci_add(struct vfio_pci *v, struct pci_bus *bus, uint8_t devfn);

/*
 * A new VM started (polyvmm creates one at every guest reset; the old
 * one's slots and irqfds died with it): registers the INTx irqfd, any
 * live MSI/MSI-X routes and the memory slots of decoding BARs again.
 * Main thread, no vCPU running (normally right after the bus reset, when
 * only INTx is on). Takes the bus lock.
 */
void vfio_pci_vm_started(struct vfio_pci *v);

/* Turns every interrupt off, resets the device and frees what init took.
 * The caller closes the device afterwards. */
void vfio_pci_fini(struct vfio_pci *v);

/* The device reset happens through v->pci.ops->reset (pci_bus_reset). */

#endif
