/*
 * virtio 1.x over PCI, modern interface only (virtio 1.2 section 4.1):
 * device ID 0x1040 + type, revision 1, the vendor capabilities for the
 * common, notify, ISR, device and PCI-config-access structures, MSI-X.
 *
 * BAR 0 (64-bit, 16 KiB) holds the structures, BAR 2 (32-bit, 4 KiB) the
 * MSI-X table and PBA. A queue notification (a driver write at
 * VIRTIO_PCI_NOTIFY + 4 * queue) goes to the injected kick callback, which
 * the machine turns into a wakeup of that queue's I/O thread; with KVM the
 * machine registers an ioeventfd on the same address so the write does not
 * even leave the kernel (the doorbell callback tells it where).
 *
 * Locking: each queue has a lock, held by whoever processes that queue
 * and by the transport while the driver changes the queue or resets the
 * device. Interrupts are sent without any queue lock held.
 */
#ifndef POLYBOOT_VMM_VIRTIO_VIRTIO_PCI_H
#define POLYBOOT_VMM_VIRTIO_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "core/irq.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES	16

/* Feature bits (virtio 1.2, 6). */
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* BAR 0 layout. */
#define VIRTIO_PCI_COMMON	0x0000
#define VIRTIO_PCI_COMMON_LEN	0x38
#define VIRTIO_PCI_ISR		0x1000
#define VIRTIO_PCI_DEVCFG	0x2000
#define VIRTIO_PCI_NOTIFY	0x3000
#define VIRTIO_PCI_NOTIFY_MULT	4
#define VIRTIO_PCI_BAR0_SIZE	0x4000
#define VIRTIO_NO_VECTOR	0xffff

struct virtio_pci;

/* What the device model provides to the transport. */
struct virtio_dev_ops {
	/* Device configuration structure (5.x.4): @len bytes at @off, inside
	 * the config_len given at init. */
	void (*read_config)(struct virtio_pci *vp, unsigned off, void *buf, unsigned len);
	/* Device reset (status 0, VM reset): forget in-flight state. */
	void (*reset)(struct virtio_pci *vp);
};

/* Injected by the machine (or a test). */
struct virtio_host {
	/* A notification for queue @q arrived through MMIO. */
	void (*kick)(void *ctx, unsigned q);
	/* The notify address of queue @q is now @gpa (@on) or gone (!@on):
	 * for ioeventfd registration. Optional. */
	void (*doorbell)(void *ctx, unsigned q, uint64_t gpa, unsigned len, bool on);
	void *ctx;
};

struct virtio_queue {
	struct virtq vq;
	pthread_mutex_t lock;
};

struct virtio_pci {
	struct pci_dev pci;
	struct msix msix;
	const struct virtio_dev_ops *ops;
	void *dev;			/* the device model */
	const struct guest_mem *mem;
	struct virtio_host host;

	uint64_t dev_features;
	uint64_t drv_features;		/* final once FEATURES_OK */
	uint32_t dev_feature_sel, drv_feature_sel;
	uint16_t msix_config;
	uint8_t status;
	uint16_t queue_sel;
	uint8_t isr;			/* bit 0 queue, bit 1 config; atomic */
	unsigned nqueues;
	unsigned config_len;
	struct virtio_queue q[VIRTIO_MAX_QUEUES];
	pthread_mutex_t lock;		/* common configuration registers */
	unsigned pcicfg_cap;		/* VIRTIO_PCI_CAP_PCI_CFG offset */
};

/*
 * Sets up the PCI function for virtio device @type with @nqueues queues,
 * the device's feature bits (VERSION_1, INDIRECT_DESC and EVENT_IDX are
 * added), @config_len bytes of device configuration. Then the caller
 * adds vp->pci to the bus. Returns 0 or -errno.
 */
int virtio_pci_init(struct virtio_pci *vp, const char *name, uint16_t type, uint32_t class_code,
		    unsigned nqueues, uint64_t features, unsigned config_len,
		    const struct virtio_dev_ops *ops, void *dev, const struct guest_mem *mem,
		    struct msi_sink sink, struct virtio_host host);

/* Negotiated feature @bit. */
static inline bool virtio_has(const struct virtio_pci *vp, unsigned bit)
{
	return (vp->drv_features >> bit) & 1;
}

/* DRIVER_OK set and not failed: the queues may be processed. */
bool virtio_pci_live(const struct virtio_pci *vp);

/* Used-buffer notification for queue @q (MSI-X vector or INTx + ISR).
 * Call without the queue lock held. */
void virtio_pci_interrupt(struct virtio_pci *vp, unsigned q);

/* The device found the driver's queue unusable: DEVICE_NEEDS_RESET and a
 * configuration-change interrupt (2.1.2). */
void virtio_pci_needs_reset(struct virtio_pci *vp);

/* MMIO handlers of BAR 0, exposed for tests (the PCI core calls them). */
uint64_t virtio_pci_bar0_read(void *opaque, uint64_t off, unsigned size);
void virtio_pci_bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size);

#endif
