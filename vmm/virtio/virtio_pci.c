/*
 * virtio over PCI, modern interface (virtio 1.2, 4.1). Register layout of
 * the common configuration structure (4.1.4.3):
 *   0x00 device_feature_select   0x04 device_feature     0x08 driver_feature_select
 *   0x0c driver_feature          0x10 config_msix_vector 0x12 num_queues
 *   0x14 device_status           0x15 config_generation  0x16 queue_select
 *   0x18 queue_size              0x1a queue_msix_vector  0x1c queue_enable
 *   0x1e queue_notify_off        0x20 queue_desc         0x28 queue_driver
 *   0x30 queue_device
 */
#define LOG_MOD "virtio"
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_PCI_SUBSYS	0x1100

/* Vendor capability types (4.1.4). */
#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_ISR		3
#define CAP_DEVICE	4
#define CAP_PCI_CFG	5

#define MSIX_BAR	2
#define MSIX_BAR_SIZE	0x1000
#define MSIX_PBA_OFF	0x800

static void set_status_locked(struct virtio_pci *vp, uint8_t v)
{
	__atomic_store_n(&vp->status, v, __ATOMIC_RELEASE);
}

bool virtio_pci_live(const struct virtio_pci *vp)
{
	uint8_t s = __atomic_load_n(&vp->status, __ATOMIC_ACQUIRE);
	return (s & VIRTIO_STATUS_DRIVER_OK) &&
	       !(s & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static void raise_intx(struct virtio_pci *vp, uint8_t bit)
{
	__atomic_fetch_or(&vp->isr, bit, __ATOMIC_ACQ_REL);
	pci_set_irq(&vp->pci, 1);
}

void virtio_pci_interrupt(struct virtio_pci *vp, unsigned q)
{
	uint16_t vec;

	if (q >= vp->nqueues)
		return;
	if (msix_enabled(&vp->msix)) {
		vec = __atomic_load_n(&vp->q[q].vq.msix_vector, __ATOMIC_RELAXED);
		if (vec != VIRTIO_NO_VECTOR)
			msix_notify(&vp->msix, vec);
		return;
	}
	raise_intx(vp, 1);
}

void virtio_pci_needs_reset(struct virtio_pci *vp)
{
	uint16_t vec = __atomic_load_n(&vp->msix_config, __ATOMIC_RELAXED);

	__atomic_fetch_or(&vp->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);
	log_guest("%s: driver's queue is malformed; device needs reset", vp->pci.name);
	if (msix_enabled(&vp->msix)) {
		if (vec != VIRTIO_NO_VECTOR)
			msix_notify(&vp->msix, vec);
		return;
	}
	raise_intx(vp, 2);
}

/* Status 0 or VM reset (2.4): queues, features and vectors to defaults. */
static void device_reset(struct virtio_pci *vp)
{
	for (unsigned i = 0; i < vp->nqueues; i++)
		pthread_mutex_lock(&vp->q[i].lock);
	for (unsigned i = 0; i < vp->nqueues; i++)
		vq_reset(&vp->q[i].vq, vp->mem);
	if (vp->ops->reset)
		vp->ops->reset(vp);
	for (unsigned i = vp->nqueues; i-- > 0;)
		pthread_mutex_unlock(&vp->q[i].lock);
	vp->drv_features = 0;
	vp->dev_feature_sel = vp->drv_feature_sel = 0;
	vp->queue_sel = 0;
	vp->msix_config = VIRTIO_NO_VECTOR;
	__atomic_store_n(&vp->isr, 0, __ATOMIC_RELEASE);
	pci_set_irq(&vp->pci, 0);
	set_status_locked(vp, 0);
}

/* --- common configuration ------------------------------------------------------- */

static struct virtio_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->nqueues ? &vp->q[vp->queue_sel] : NULL;
}

static void common_snapshot(struct virtio_pci *vp, uint8_t *c)
{
	struct virtio_queue *q = selected(vp);

	memset(c, 0, VIRTIO_PCI_COMMON_LEN);
	put_le32(c + 0x00, vp->dev_feature_sel);
	put_le32(c + 0x04, vp->dev_feature_sel < 2 ? (uint32_t)(vp->dev_features >> (32 * vp->dev_feature_sel)) : 0);
	put_le32(c + 0x08, vp->drv_feature_sel);
	put_le32(c + 0x0c, vp->drv_feature_sel < 2 ? (uint32_t)(vp->drv_features >> (32 * vp->drv_feature_sel)) : 0);
	put_le16(c + 0x10, vp->msix_config);
	put_le16(c + 0x12, (uint16_t)vp->nqueues);
	c[0x14] = vp->status;
	c[0x15] = 0;	/* config_generation: our device configuration never changes */
	put_le16(c + 0x16, vp->queue_sel);
	if (q) {
		pthread_mutex_lock(&q->lock);
		put_le16(c + 0x18, q->vq.size);
		put_le16(c + 0x1a, q->vq.msix_vector);
		put_le16(c + 0x1c, q->vq.ready);
		put_le16(c + 0x1e, vp->queue_sel);
		put_le64(c + 0x20, q->vq.desc_gpa);
		put_le64(c + 0x28, q->vq.avail_gpa);
		put_le64(c + 0x30, q->vq.used_gpa);
		pthread_mutex_unlock(&q->lock);
	}
}

static uint16_t valid_vector(struct virtio_pci *vp, uint64_t v)
{
	/* 4.1.5.1.2: a vector the device cannot use reads back as NO_VECTOR. */
	return v < vp->msix.nvec ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	uint8_t old = vp->status;

	if (v == 0) {
		device_reset(vp);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* 3.1.1: accept only a subset of ours, and only the modern interface. */
		if ((vp->drv_features & ~vp->dev_features) ||
		    !(vp->drv_features & (1ULL << VIRTIO_F_VERSION_1))) {
			log_guest("%s: driver features %#llx refused", vp->pci.name,
				  (unsigned long long)vp->drv_features);
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	/* NEEDS_RESET stays until the driver resets the device. */
	set_status_locked(vp, (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET)));
}

static void enable_queue(struct virtio_pci *vp, struct virtio_queue *q)
{
	int r;

	pthread_mutex_lock(&q->lock);
	if (q->vq.ready) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->vq.event_idx = virtio_has(vp, VIRTIO_RING_F_EVENT_IDX);
	q->vq.indirect = virtio_has(vp, VIRTIO_RING_F_INDIRECT_DESC);
	r = vq_enable(&q->vq);
	pthread_mutex_unlock(&q->lock);
	if (r < 0) {
		log_guest("%s: queue %u: size %u or ring addresses invalid", vp->pci.name,
			  (unsigned)(q - vp->q), q->vq.size);
		virtio_pci_needs_reset(vp);
	}
}

static void set_half(uint64_t *field, unsigned byte_off, uint64_t val, unsigned size)
{
	uint64_t mask = size == 8 ? ~0ULL : ((1ULL << (8 * size)) - 1) << (8 * byte_off);

	*field = (*field & ~mask) | ((val << (8 * byte_off)) & mask);
}

static void common_write(struct virtio_pci *vp, unsigned off, uint64_t val, unsigned size)
{
	struct virtio_queue *q = selected(vp);

	switch (off) {
	case 0x00:
		vp->dev_feature_sel = (uint32_t)val;
		return;
	case 0x08:
		vp->drv_feature_sel = (uint32_t)val;
		return;
	case 0x0c:
		if (vp->drv_feature_sel < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&vp->drv_features, 4 * vp->drv_feature_sel, (uint32_t)val, 4);
		return;
	case 0x10:
		vp->msix_config = valid_vector(vp, val & 0xffff);
		return;
	case 0x14:
		write_status(vp, (uint8_t)val);
		return;
	case 0x16:
		vp->queue_sel = (uint16_t)val;
		return;
	}
	if (!q)
		return;
	if (off == 0x1c) {
		if ((val & 0xffff) == 1)
			enable_queue(vp, q);
		return;
	}
	pthread_mutex_lock(&q->lock);
	if (off == 0x1a) {
		__atomic_store_n(&q->vq.msix_vector, valid_vector(vp, val & 0xffff), __ATOMIC_RELAXED);
	} else if (!q->vq.ready) {
		/* Size and ring addresses only change while the queue is off. */
		if (off == 0x18)
			q->vq.size = (uint16_t)val;
		else if (off >= 0x20 && off < 0x28)
			set_half(&q->vq.desc_gpa, off - 0x20, val, size);
		else if (off >= 0x28 && off < 0x30)
			set_half(&q->vq.avail_gpa, off - 0x28, val, size);
		else if (off >= 0x30 && off < 0x38)
			set_half(&q->vq.used_gpa, off - 0x30, val, size);
	}
	pthread_mutex_unlock(&q->lock);
}

/* --- BAR 0 ------------------------------------------------------------------------ */

uint64_t virtio_pci_bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint8_t c[VIRTIO_PCI_COMMON_LEN];
	uint64_t v = 0;

	if (off + size <= VIRTIO_PCI_COMMON_LEN) {
		pthread_mutex_lock(&vp->lock);
		common_snapshot(vp, c);
		pthread_mutex_unlock(&vp->lock);
		memcpy(&v, c + off, size);
		return v;
	}
	if (off >= VIRTIO_PCI_ISR && off < VIRTIO_PCI_ISR + 4) {
		/* 4.1.4.5: reading the ISR status clears it and the INTx line. */
		v = off == VIRTIO_PCI_ISR ? __atomic_exchange_n(&vp->isr, 0, __ATOMIC_ACQ_REL) : 0;
		pci_set_irq(&vp->pci, 0);
		return v;
	}
	if (off >= VIRTIO_PCI_DEVCFG && off + size <= VIRTIO_PCI_DEVCFG + vp->config_len) {
		vp->ops->read_config(vp, (unsigned)(off - VIRTIO_PCI_DEVCFG), &v, size);
		return v;
	}
	return off >= VIRTIO_PCI_NOTIFY ? 0 : ~0ULL;
}

void virtio_pci_bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct virtio_pci *vp = opaque;

	if (off + size <= VIRTIO_PCI_COMMON_LEN) {
		pthread_mutex_lock(&vp->lock);
		common_write(vp, (unsigned)off, val, size);
		pthread_mutex_unlock(&vp->lock);
		return;
	}
	if (off >= VIRTIO_PCI_NOTIFY && off < VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * vp->nqueues) {
		unsigned q = (unsigned)(off - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT;
		if (vp->host.kick)
			vp->host.kick(vp->host.ctx, q);
	}
	/* The device configuration of our devices is read-only; ISR too. */
}

static const struct io_ops bar0_ops = {
	.read = virtio_pci_bar0_read,
	.write = virtio_pci_bar0_write,
};

static uint64_t msix_bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	return msix_table_read(&vp->msix, off, size);
}

static void msix_bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct virtio_pci *vp = opaque;
	msix_table_write(&vp->msix, off, val, size);
}

static const struct io_ops msix_bar_ops = {
	.read = msix_bar_read,
	.write = msix_bar_write,
};

/* --- PCI hooks ---------------------------------------------------------------------- */

/*
 * VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): a window into the BARs through config
 * space. The driver sets bar, offset and length, then reads or writes
 * pci_cfg_data; we perform that access on the BAR.
 */
static bool pcicfg_access(struct virtio_pci *vp, unsigned *off, unsigned *len,
			  const struct io_ops **ops)
{
	unsigned c = vp->pcicfg_cap;
	uint8_t bar = vp->pci.cfg[c + 4];

	*off = pci_get32(&vp->pci, c + 8);
	*len = pci_get32(&vp->pci, c + 12);
	if ((*len != 1 && *len != 2 && *len != 4) || *off % *len)
		return false;
	if (bar == 0 && *off + *len <= VIRTIO_PCI_BAR0_SIZE)
		*ops = &bar0_ops;
	else if (bar == MSIX_BAR && *off + *len <= MSIX_BAR_SIZE)
		*ops = &msix_bar_ops;
	else
		return false;
	return true;
}

static bool vp_cfg_read(struct pci_dev *d, unsigned off, unsigned size, uint32_t *val)
{
	struct virtio_pci *vp = d->opaque;
	unsigned data = vp->pcicfg_cap + 16, boff, blen;
	const struct io_ops *ops;
	uint32_t v;

	if (off + size <= data || off >= data + 4 || !pcicfg_access(vp, &boff, &blen, &ops))
		return false;
	v = (uint32_t)ops->read(vp, boff, blen);
	pci_set32(d->cfg, data, v);
	*val = 0;
	memcpy(val, d->cfg + off, size);
	return true;
}

static void vp_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	struct virtio_pci *vp = d->opaque;
	unsigned data = vp->pcicfg_cap + 16, boff, blen;
	const struct io_ops *ops;

	msix_cfg_write(&vp->msix, off, size);
	if (off + size <= data || off >= data + 4 || !pcicfg_access(vp, &boff, &blen, &ops))
		return;
	ops->write(vp, boff, pci_get32(d, data) & (blen == 4 ? ~0u : (1u << (8 * blen)) - 1), blen);
}

static void vp_bar_moved(struct pci_dev *d, int idx, bool mapped, uint64_t addr)
{
	struct virtio_pci *vp = d->opaque;

	if (idx != 0 || !vp->host.doorbell)
		return;
	for (unsigned q = 0; q < vp->nqueues; q++)
		vp->host.doorbell(vp->host.ctx, q, addr + VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * q,
				  2, mapped);
}

static void vp_reset(struct pci_dev *d)
{
	struct virtio_pci *vp = d->opaque;

	pthread_mutex_lock(&vp->lock);
	device_reset(vp);
	pthread_mutex_unlock(&vp->lock);
	msix_reset(&vp->msix);
}

static const struct pci_dev_ops vp_pci_ops = {
	.cfg_read = vp_cfg_read,
	.cfg_write = vp_cfg_write,
	.bar_moved = vp_bar_moved,
	.reset = vp_reset,
};

static int add_vcap(struct pci_dev *d, uint8_t type, unsigned len, uint8_t bar, uint32_t off,
		    uint32_t size)
{
	int c = pci_add_cap(d, PCI_CAP_ID_VNDR, len);

	if (c < 0)
		return c;
	d->cfg[c + 2] = (uint8_t)len;
	d->cfg[c + 3] = type;
	d->cfg[c + 4] = bar;
	pci_set32(d->cfg, (unsigned)c + 8, off);
	pci_set32(d->cfg, (unsigned)c + 12, size);
	return c;
}

int virtio_pci_init(struct virtio_pci *vp, const char *name, uint16_t type, uint32_t class_code,
		    unsigned nqueues, uint64_t features, unsigned config_len,
		    const struct virtio_dev_ops *ops, void *dev, const struct guest_mem *mem,
		    struct msi_sink sink, struct virtio_host host)
{
	struct pci_dev *d = &vp->pci;
	int r, c;

	if (nqueues == 0 || nqueues > VIRTIO_MAX_QUEUES || config_len > 0x100 || !ops->read_config)
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->ops = ops;
	vp->dev = dev;
	vp->mem = mem;
	vp->host = host;
	vp->nqueues = nqueues;
	vp->config_len = config_len;
	vp->dev_features = features | 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |
			   1ULL << VIRTIO_RING_F_EVENT_IDX;
	vp->msix_config = VIRTIO_NO_VECTOR;
	pthread_mutex_init(&vp->lock, NULL);
	for (unsigned i = 0; i < nqueues; i++) {
		pthread_mutex_init(&vp->q[i].lock, NULL);
		vq_reset(&vp->q[i].vq, mem);
	}

	pci_dev_init(d, name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + type),
		     class_code, 1, true);
	pci_dev_set_subsystem(d, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS);
	pci_dev_set_intx_pin(d, 1);
	d->ops = &vp_pci_ops;
	d->opaque = vp;
	r = pci_dev_set_bar(d, 0, PCI_BAR_MEM64, VIRTIO_PCI_BAR0_SIZE, false, &bar0_ops, vp);
	if (r == 0)
		r = pci_dev_set_bar(d, MSIX_BAR, PCI_BAR_MEM32, MSIX_BAR_SIZE, false, &msix_bar_ops, vp);
	if (r < 0)
		return r;
	if ((r = add_vcap(d, CAP_COMMON, 16, 0, VIRTIO_PCI_COMMON, VIRTIO_PCI_COMMON_LEN)) < 0 ||
	    (r = add_vcap(d, CAP_ISR, 16, 0, VIRTIO_PCI_ISR, 4)) < 0 ||
	    (r = add_vcap(d, CAP_DEVICE, 16, 0, VIRTIO_PCI_DEVCFG, config_len ? config_len : 4)) < 0)
		return r;
	c = add_vcap(d, CAP_NOTIFY, 20, 0, VIRTIO_PCI_NOTIFY, VIRTIO_PCI_NOTIFY_MULT * nqueues);
	if (c < 0)
		return c;
	pci_set32(d->cfg, (unsigned)c + 16, VIRTIO_PCI_NOTIFY_MULT);
	c = add_vcap(d, CAP_PCI_CFG, 20, 0, 0, 0);
	if (c < 0)
		return c;
	vp->pcicfg_cap = (unsigned)c;
	d->wmask[c + 4] = 0xff;				/* bar */
	pci_set32(d->wmask, (unsigned)c + 8, ~0u);	/* offset */
	pci_set32(d->wmask, (unsigned)c + 12, ~0u);	/* length */
	pci_set32(d->wmask, (unsigned)c + 16, ~0u);	/* pci_cfg_data */
	r = msix_init(&vp->msix, d, nqueues + 1, MSIX_BAR, 0, MSIX_PBA_OFF, sink);
	if (r < 0)
		return r;
	r = pci_add_pcie_cap(d, PCI_EXP_TYPE_RC_END);
	return r < 0 ? r : 0;
}
