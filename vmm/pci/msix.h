/*
 * MSI-X for emulated PCI devices: the capability, the vector table and the
 * pending-bit array (both in one BAR), masking, and delivery through an
 * injected struct msi_sink. PCI Local Bus 3.0, 6.8.2.
 */
#ifndef POLYBOOT_VMM_PCI_MSIX_H
#define POLYBOOT_VMM_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/irq.h"
#include "pci/pci.h"

#define MSIX_MAX_VECTORS 64
#define MSIX_ENTRY_SIZE 16

struct msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl;		/* bit 0: vector masked */
};

struct msix {
	struct pci_dev *dev;
	unsigned cap;		/* config offset of the capability */
	unsigned nvec;
	int bar;
	uint32_t table_off, pba_off;	/* inside the BAR */
	struct msix_entry entry[MSIX_MAX_VECTORS];
	uint64_t pending;	/* one bit per vector */
	struct msi_sink sink;
	/* Optional: a vector's address/data/mask changed (for irqfd routes). */
	void (*vector_changed)(void *ctx, unsigned vec);
	/* Optional: delivers an unmasked vector another way (its irqfd);
	 * returns non-zero to fall back to the sink. */
	int (*fire)(void *ctx, unsigned vec);
	void *vector_ctx;
	pthread_mutex_t lock;
};

/*
 * Adds the MSI-X capability to @d with @nvec vectors whose table starts at
 * @table_off and PBA at @pba_off inside BAR @bar (the caller declares the
 * BAR and routes its accesses at those offsets to msix_table_ops).
 * Returns 0 or -errno.
 */
int msix_init(struct msix *x, struct pci_dev *d, unsigned nvec, int bar,
	      uint32_t table_off, uint32_t pba_off, struct msi_sink sink);

/* MSI-X enabled and not function-masked. */
bool msix_enabled(const struct msix *x);

/*
 * Signals vector @vec: delivered now, or held in the PBA while masked and
 * delivered on unmask. Returns 0, -EINVAL for a vector the device does not
 * have, -ENODEV when MSI-X is disabled (the device should use INTx).
 */
int msix_notify(struct msix *x, unsigned vec);

/* Table/PBA accesses: @off relative to the table start (table_off). The
 * table is followed by the PBA at pba_off - table_off. */
uint64_t msix_table_read(struct msix *x, uint64_t off, unsigned size);
void msix_table_write(struct msix *x, uint64_t off, uint64_t val, unsigned size);

/* Call from the device's cfg_write hook for writes touching the capability;
 * delivers pending vectors that became unmasked. */
void msix_cfg_write(struct msix *x, unsigned off, unsigned size);

/* Device/VM reset: every vector masked, nothing pending. */
void msix_reset(struct msix *x);

/* Address/data of @vec for the vector_changed consumer; false if masked. */
bool msix_vector(struct msix *x, unsigned vec, uint64_t *addr, uint32_t *data);

#endif
