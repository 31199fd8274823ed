/*
 * VFIO PCI passthrough device model. PCI Local Bus 3.0 ch. 6 (config
 * space, BARs, expansion ROM, MSI 6.8.1, MSI-X 6.8.2), PCI Express Base
 * 4.0 7.5.3 (PCI Express capability), PCI Firmware 3.0 5.1 (ROM images
 * and the PCIR data structure); the split of work follows research note
 * ovmf-platform.md section 14.
 *
 * Config space: v->emu marks the bits whose reads come from our image
 * (pci.cfg), v->fwd the bytes whose guest writes reach the device. The
 * image is the device's config space with the emulated parts rewritten;
 * the bus applies its write masks to it before our cfg_write hook runs.
 *
 * Interrupts: every vector has an eventfd that the device signals through
 * VFIO. A vector the guest has enabled and unmasked also has a KVM MSI
 * route with an irqfd on that eventfd, so it reaches the guest without
 * passing through polyvmm. A masked vector simply has no irqfd: when the
 * device fires it, the eventfd counter keeps the event, the pending bit
 * (MSI pending register, MSI-X PBA) reads it without consuming it, and
 * KVM delivers it the moment unmasking attaches the irqfd again (KVM
 * injects at once when it finds the eventfd already signalled).
 *
 * Not implemented: legacy VGA ranges (0xA0000, 0x3B0-0x3DF; OVMF's GOP
 * uses the BARs), device-specific quirks (GPUs' config-space mirrors in
 * BARs), Resizable BAR and SR-IOV (both capabilities are hidden), MSI-X
 * tables larger than the 64 KiB PCI allows with the PBA outside its BAR,
 * VFIO error/request interrupts, hot-unplug.
 */
#define LOG_MOD "vfio"
#include "dev/vfio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define PAGE			4096ULL

#define CAP_NEXT		1
#define MSI_CTRL		2
#define  MSI_CTRL_ENABLE	0x0001
#define  MSI_CTRL_MMC		0x000e
#define  MSI_CTRL_MME		0x0070
#define  MSI_CTRL_64		0x0080
#define  MSI_CTRL_PVM		0x0100
#define MSI_ADDR_LO		4
#define MSIX_CTRL		2
#define  MSIX_CTRL_QSIZE	0x07ff
#define  MSIX_CTRL_MASKALL	0x4000
#define  MSIX_CTRL_ENABLE	0x8000
#define MSIX_TABLE		4
#define MSIX_PBA		8
#define MSIX_CAP_LEN		12
#define MSIX_VEC_MASKED		0x1

#define EXP_FLAGS		2
#define  EXP_FLAGS_VERS		0x000f
#define  EXP_FLAGS_TYPE		0x00f0
#define  EXP_FLAGS_SLOT		0x0100
#define EXP_LNKCAP		0x0c	/* link, slot and root registers: 0x0c-0x23 */
#define EXP_ROOT_END		0x24
#define EXP_LNKCAP2		0x2c	/* link2 and slot2 registers: 0x2c-0x3b */
#define EXP_V2_END		0x3c
#define EXP_TYPE_ENDPOINT	0x0
#define EXP_TYPE_LEG_END	0x1

#define EXT_CAP_SRIOV		0x0010
#define EXT_CAP_REBAR		0x0015
#define EXT_CAP_VF_REBAR	0x0024

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static const struct pci_dev_ops vfio_pci_dev_ops;
static const struct io_ops bar_trap_ops, rom_ops;

/* --- small helpers ----------------------------------------------------------- */

static bool overlaps(unsigned off, unsigned size, unsigned start, unsigned len)
{
	return off < start + len && start < off + size;
}

/* Bytes [off, off+len) read from the image and are never forwarded. */
static void emulate(struct vfio_pci *v, unsigned off, unsigned len)
{
	for (unsigned i = off; i < off + len && i < PCI_CFG_SIZE; i++) {
		v->emu[i] = 0xff;
		v->fwd[i] = 0;
	}
}

static uint64_t pow2_ceil(uint64_t x)
{
	uint64_t p = 1;
	while (p < x && p)
		p <<= 1;
	return p;
}

static uint32_t ones(unsigned size)
{
	return 0xffffffffu >> (32 - 8 * size);
}

/* --- eventfds and routes (v->lock held) ---------------------------------------- */

static int efd_new(struct vfio_pci *v)
{
	int fd = v->efd.create(v->efd.ctx);
	if (fd < 0)
		log_guest("%s: cannot create an eventfd: %s", v->name, strerror(-fd));
	return fd;
}

static void efd_put(struct vfio_pci *v, int *fd)
{
	if (*fd >= 0)
		v->efd.close(v->efd.ctx, *fd);
	*fd = -1;
}

static void vec_detach(struct vfio_pci *v, struct vfio_pci_vec *e)
{
	if (e->gsi >= 0)
		v->vm.irqfd_del(v->vm.ctx, e->efd, e->gsi);
	e->gsi = -1;
}

/* Routes @e's eventfd to the guest as (addr, data), adding or updating. */
static void vec_route(struct vfio_pci *v, struct vfio_pci_vec *e, uint64_t addr, uint32_t data)
{
	int r;

	if (e->efd < 0)
		return;
	if (e->gsi >= 0) {
		if (e->raddr == addr && e->rdata == data)
			return;
		r = v->vm.msi_route_update(v->vm.ctx, e->gsi, addr, data);
		if (r < 0) {
			log_guest("%s: MSI route %d update: %s", v->name, e->gsi, strerror(-r));
			return;
		}
	} else {
		r = v->vm.msi_route_add(v->vm.ctx, e->efd, addr, data);
		if (r < 0) {
			if (r != -ENODEV)
				log_guest("%s: MSI route for %#llx/%#x: %s; the vector stays silent",
					  v->name, (unsigned long long)addr, data, strerror(-r));
			return;
		}
		e->gsi = r;
	}
	e->raddr = addr;
	e->rdata = data;
}

static bool vec_pending(struct vfio_pci *v, const struct vfio_pci_vec *e)
{
	/* An attached irqfd consumes the eventfd at once: only a vector
	 * without one can have something waiting. */
	return e->efd >= 0 && e->gsi < 0 && v->efd.pending(v->efd.ctx, e->efd);
}

static int set_irqs(struct vfio_pci *v, enum vfio_pci_irq irq, enum vfio_pci_irq_action act,
		    unsigned start, unsigned count, const int *fds)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X" };
	int r = v->dev.set_irqs(v->dev.ctx, irq, act, start, count, fds);

	if (r < 0)
		log_guest("%s: %s %s vectors %u+%u: %s", v->name, names[irq],
			  count ? (act == VFIO_PCI_ACT_UNMASK ? "unmask" : "trigger") : "disable",
			  start, count, strerror(-r));
	return r;
}

/* --- INTx (v->lock held) ---------------------------------------------------------- */

static void intx_attach(struct vfio_pci *v)
{
	int r;

	if (!v->intx_on || v->intx_attached)
		return;
	r = v->vm.intx_irqfd(v->vm.ctx, v->intx_efd, v->intx_gsi, v->intx_resample);
	if (r == 0)
		v->intx_attached = true;
	else if (r != -ENODEV)
		log_guest("%s: INTx irqfd on GSI %u: %s", v->name, v->intx_gsi, strerror(-r));
}

static void intx_enable(struct vfio_pci *v)
{
	if (v->intx_on || !v->pci.cfg[PCI_INTERRUPT_PIN])
		return;
	v->intx_efd = efd_new(v);
	v->intx_resample = efd_new(v);
	if (v->intx_efd < 0 || v->intx_resample < 0)
		goto err;
	/* The device's line masks itself when it fires; the resample eventfd
	 * (signalled by KVM on the guest's EOI) unmasks it. */
	if (set_irqs(v, VFIO_PCI_IRQ_INTX, VFIO_PCI_ACT_TRIGGER, 0, 1, &v->intx_efd) < 0)
		goto err;
	if (set_irqs(v, VFIO_PCI_IRQ_INTX, VFIO_PCI_ACT_UNMASK, 0, 1, &v->intx_resample) < 0) {
		set_irqs(v, VFIO_PCI_IRQ_INTX, VFIO_PCI_ACT_TRIGGER, 0, 0, NULL);
		goto err;
	}
	v->intx_on = true;
	v->mode = VFIO_MODE_INTX;
	intx_attach(v);
	return;
err:
	efd_put(v, &v->intx_efd);
	efd_put(v, &v->intx_resample);
}

static void intx_disable(struct vfio_pci *v)
{
	if (!v->intx_on)
		return;
	if (v->intx_attached)
		v->vm.irqfd_del(v->vm.ctx, v->intx_efd, (int)v->intx_gsi);
	v->intx_attached = false;
	set_irqs(v, VFIO_PCI_IRQ_INTX, VFIO_PCI_ACT_TRIGGER, 0, 0, NULL);
	efd_put(v, &v->intx_efd);
	efd_put(v, &v->intx_resample);
	v->intx_on = false;
	if (v->mode == VFIO_MODE_INTX)
		v->mode = VFIO_MODE_NONE;
}

/* --- MSI (v->lock held) ------------------------------------------------------------ */

static unsigned msi_data_off(const struct vfio_pci *v)
{
	return v->msi_cap + (v->msi_64 ? 0xc : 0x8);
}

static unsigned msi_mask_off(const struct vfio_pci *v)
{
	return v->msi_cap + (v->msi_64 ? 0x10 : 0xc);
}

static unsigned msi_len(const struct vfio_pci *v)
{
	return (v->msi_64 ? 0xe : 0xa) + (v->msi_pvm ? 0xa : 0);
}

static void msi_sync(struct vfio_pci *v)
{
	const struct pci_dev *d = &v->pci;
	uint64_t addr = pci_get32(d, v->msi_cap + MSI_ADDR_LO);
	uint32_t data = pci_get16(d, msi_data_off(v));
	uint32_t mask = v->msi_pvm ? pci_get32(d, msi_mask_off(v)) : 0;
	unsigned n = v->msi_nvec;

	if (v->msi_64)
		addr |= (uint64_t)pci_get32(d, v->msi_cap + 8) << 32;
	for (unsigned i = 0; i < n; i++) {
		/* Multiple Message: vector i replaces the low log2(n) data bits. */
		if (mask & (1u << i))
			vec_detach(v, &v->msi[i]);
		else
			vec_route(v, &v->msi[i], addr, (data & ~(n - 1)) | i);
	}
}

static void msi_off(struct vfio_pci *v)
{
	if (!v->msi_nvec)
		return;
	for (unsigned i = 0; i < v->msi_nvec; i++)
		vec_detach(v, &v->msi[i]);
	set_irqs(v, VFIO_PCI_IRQ_MSI, VFIO_PCI_ACT_TRIGGER, 0, 0, NULL);
	for (unsigned i = 0; i < v->msi_nvec; i++)
		efd_put(v, &v->msi[i].efd);
	v->msi_nvec = 0;
	v->mode = VFIO_MODE_NONE;
}

static void msi_on(struct vfio_pci *v, unsigned n)
{
	int fds[VFIO_PCI_MSI_MAX];

	if (v->mode == VFIO_MODE_MSIX) {
		log_guest("%s: MSI enabled while MSI-X is on; ignored", v->name);
		return;
	}
	/* VFIO takes one interrupt type at a time. */
	intx_disable(v);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = v->msi[i].efd = efd_new(v);
		if (fds[i] < 0)
			goto err;
	}
	if (set_irqs(v, VFIO_PCI_IRQ_MSI, VFIO_PCI_ACT_TRIGGER, 0, n, fds) < 0)
		goto err;
	v->msi_nvec = n;
	v->mode = VFIO_MODE_MSI;
	msi_sync(v);
	return;
err:
	for (unsigned i = 0; i < n; i++)
		efd_put(v, &v->msi[i].efd);
	intx_enable(v);
}

/* After a guest write to the MSI capability. */
static void msi_update(struct vfio_pci *v)
{
	uint16_t ctrl = pci_get16(&v->pci, v->msi_cap + MSI_CTRL);
	unsigned mme = (ctrl & MSI_CTRL_MME) >> 4, n = 1u << mme;
	bool on = ctrl & MSI_CTRL_ENABLE;

	if (n > v->msi_max)	/* more than the device has: undefined; clamp */
		n = v->msi_max;
	if (v->msi_nvec && (!on || n != v->msi_nvec)) {
		msi_off(v);
		if (!on)
			intx_enable(v);
	}
	if (on && !v->msi_nvec)
		msi_on(v, n);
	else if (v->msi_nvec)
		msi_sync(v);
}

static uint32_t msi_pending(struct vfio_pci *v)
{
	uint32_t bits = 0;
	for (unsigned i = 0; i < v->msi_nvec; i++)
		if (vec_pending(v, &v->msi[i]))
			bits |= 1u << i;
	return bits;
}

/* --- MSI-X (v->lock held) ---------------------------------------------------------- */

static bool msix_wanted(const struct vfio_pci *v, unsigned i)
{
	return v->msix_on && !v->msix_maskall && !(v->msix[i].ctrl & MSIX_VEC_MASKED);
}

/*
 * Hands vectors [msix_count, want) to the device. VFIO allocates host
 * interrupts per vector, so vectors are handed over as the guest unmasks
 * them (doubling, to keep the number of calls small). Kernels without
 * dynamic MSI-X allocation (before 6.5, or VFIO_IRQ_INFO_NORESIZE) need
 * the whole index disabled and enabled again with the larger count; an
 * interrupt the device raises in that window is lost, as with QEMU.
 */
static void msix_grow(struct vfio_pci *v, unsigned want)
{
	unsigned old = v->msix_count, n = MAX(want, 2 * old);
	int *fds;
	int r;

	n = MIN(n, v->msix_nvec);
	if (n <= old)
		return;
	fds = malloc(n * sizeof(*fds));
	if (!fds)
		return;
	for (unsigned i = 0; i < n; i++) {
		if (i >= old)
			v->msix[i].efd = efd_new(v);
		fds[i] = v->msix[i].efd;
		if (fds[i] < 0)
			goto err;
	}
	if (v->msix_resizable || old == 0) {
		r = set_irqs(v, VFIO_PCI_IRQ_MSIX, VFIO_PCI_ACT_TRIGGER, old, n - old, fds + old);
	} else {
		set_irqs(v, VFIO_PCI_IRQ_MSIX, VFIO_PCI_ACT_TRIGGER, 0, 0, NULL);
		r = set_irqs(v, VFIO_PCI_IRQ_MSIX, VFIO_PCI_ACT_TRIGGER, 0, n, fds);
		if (r < 0 && set_irqs(v, VFIO_PCI_IRQ_MSIX, VFIO_PCI_ACT_TRIGGER, 0, old, fds) < 0) {
			/* The device lost its vectors: nothing old can fire. */
			for (unsigned i = 0; i < old; i++) {
				vec_detach(v, &v->msix[i]);
				efd_put(v, &v->msix[i].efd);
			}
			v->msix_count = 0;
			free(fds);
			for (unsigned i = old; i < n; i++)
				efd_put(v, &v->msix[i].efd);
			return;
		}
	}
	if (r < 0)
		goto err;
	v->msix_count = n;
	free(fds);
	return;
err:
	for (unsigned i = old; i < n; i++)
		efd_put(v, &v->msix[i].efd);
	free(fds);
}

static void msix_sync_vec(struct vfio_pci *v, unsigned i)
{
	struct vfio_pci_vec *e = &v->msix[i];

	if (!msix_wanted(v, i)) {
		vec_detach(v, e);
		return;
	}
	if (i >= v->msix_count)
		msix_grow(v, i + 1);
	if (i < v->msix_count)
		vec_route(v, e, e->addr, e->data);
}

static void msix_sync(struct vfio_pci *v)
{
	for (unsigned i = 0; i < v->msix_nvec; i++)
		msix_sync_vec(v, i);
}

static void msix_off(struct vfio_pci *v)
{
	if (!v->msix_on)
		return;
	for (unsigned i = 0; i < v->msix_nvec; i++)
		vec_detach(v, &v->msix[i]);
	if (v->msix_count)
		set_irqs(v, VFIO_PCI_IRQ_MSIX, VFIO_PCI_ACT_TRIGGER, 0, 0, NULL);
	for (unsigned i = 0; i < v->msix_count; i++)
		efd_put(v, &v->msix[i].efd);
	v->msix_count = 0;
	v->msix_on = false;
	v->mode = VFIO_MODE_NONE;
}

static void msix_on(struct vfio_pci *v)
{
	unsigned want = 1;

	if (v->mode == VFIO_MODE_MSI) {
		log_guest("%s: MSI-X enabled while MSI is on; ignored", v->name);
		return;
	}
	intx_disable(v);
	v->msix_on = true;
	v->mode = VFIO_MODE_MSIX;
	/* At least vector 0, so the device is in MSI-X mode as the guest
	 * believes (Linux enables MSI-X long before it unmasks a vector). */
	for (unsigned i = 0; i < v->msix_nvec; i++)
		if (msix_wanted(v, i))
			want = i + 1;
	msix_grow(v, want);
	if (!v->msix_count) {
		v->msix_on = false;
		v->mode = VFIO_MODE_NONE;
		intx_enable(v);
		return;
	}
	msix_sync(v);
}

/* After a guest write to the MSI-X message control register. */
static void msix_update(struct vfio_pci *v)
{
	uint16_t ctrl = pci_get16(&v->pci, v->msix_cap + MSIX_CTRL);
	bool on = ctrl & MSIX_CTRL_ENABLE, mask = ctrl & MSIX_CTRL_MASKALL;
	bool mask_changed = mask != v->msix_maskall;

	v->msix_maskall = mask;
	if (on && !v->msix_on) {
		msix_on(v);
	} else if (!on && v->msix_on) {
		msix_off(v);
		intx_enable(v);
	} else if (v->msix_on && mask_changed) {
		msix_sync(v);
	}
}

static uint64_t msix_table_read(struct vfio_pci *v, uint64_t off, unsigned size)
{
	uint64_t val = 0;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return ~0ULL;
	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < size; i += 4) {
		const struct vfio_pci_vec *e = &v->msix[(off + i) / 16];
		uint32_t w;
		switch ((off + i) % 16) {
		case 0: w = (uint32_t)e->addr; break;
		case 4: w = (uint32_t)(e->addr >> 32); break;
		case 8: w = e->data; break;
		default: w = e->ctrl; break;
		}
		val |= (uint64_t)w << (8 * i);
	}
	pthread_mutex_unlock(&v->lock);
	return val;
}

static void msix_table_write(struct vfio_pci *v, uint64_t off, uint64_t val, unsigned size)
{
	unsigned vec = (unsigned)(off / 16);

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return;
	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < size; i += 4) {
		struct vfio_pci_vec *e = &v->msix[vec];
		uint32_t w = (uint32_t)(val >> (8 * i));
		switch ((off + i) % 16) {
		case 0: e->addr = (e->addr & ~0xffffffffULL) | w; break;
		case 4: e->addr = (e->addr & 0xffffffffULL) | (uint64_t)w << 32; break;
		case 8: e->data = w; break;
		default: e->ctrl = w & MSIX_VEC_MASKED; break;
		}
	}
	msix_sync_vec(v, vec);
	pthread_mutex_unlock(&v->lock);
}

static uint64_t msix_pba_read(struct vfio_pci *v, uint64_t off, unsigned size)
{
	uint64_t val = 0;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return ~0ULL;
	pthread_mutex_lock(&v->lock);
	for (unsigned b = 0; b < 8 * size; b++) {
		uint64_t i = off * 8 + b;
		if (i < v->msix_count && vec_pending(v, &v->msix[i]))
			val |= 1ULL << b;
	}
	pthread_mutex_unlock(&v->lock);
	return val;
}

static void msix_table_reset(struct vfio_pci *v)
{
	for (unsigned i = 0; i < v->msix_nvec; i++)
		v->msix[i] = (struct vfio_pci_vec){ .efd = -1, .gsi = -1, .ctrl = MSIX_VEC_MASKED };
	v->msix_maskall = false;
}

/* Every interrupt off, nothing re-enabled (v->lock held). */
static void irqs_off(struct vfio_pci *v)
{
	msix_off(v);
	msi_off(v);
	intx_disable(v);
}

/* --- BARs ------------------------------------------------------------------------ */

static bool in_msix_table(const struct vfio_pci *v, unsigned bar, uint64_t off)
{
	return v->msix_cap && bar == v->msix_table_bar && off >= v->msix_table_off &&
	       off < v->msix_table_off + 16ULL * v->msix_nvec;
}

static bool in_msix_pba(const struct vfio_pci *v, unsigned bar, uint64_t off)
{
	return v->msix_cap && bar == v->msix_pba_bar && off >= v->msix_pba_off &&
	       off < v->msix_pba_off + 8ULL * ((v->msix_nvec + 63) / 64);
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct vfio_pci_bar *b = opaque;
	struct vfio_pci *v = b->v;
	uint8_t buf[8] = { 0 };
	int r;

	if (in_msix_table(v, b->idx, off))
		return msix_table_read(v, off - v->msix_table_off, size);
	if (in_msix_pba(v, b->idx, off))
		return msix_pba_read(v, off - v->msix_pba_off, size);
	r = v->dev.region_read(v->dev.ctx, b->idx, off, buf, size);
	if (r < 0) {
		log_guest("%s: BAR%u read of %u at %#llx: %s", v->name, b->idx, size,
			  (unsigned long long)off, strerror(-r));
		return ~0ULL;
	}
	return get_le64(buf);
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct vfio_pci_bar *b = opaque;
	struct vfio_pci *v = b->v;
	uint8_t buf[8];
	int r;

	if (in_msix_table(v, b->idx, off)) {
		msix_table_write(v, off - v->msix_table_off, val, size);
		return;
	}
	if (in_msix_pba(v, b->idx, off))
		return;	/* read-only */
	put_le64(buf, val);
	r = v->dev.region_write(v->dev.ctx, b->idx, off, buf, size);
	if (r < 0)
		log_guest("%s: BAR%u write of %u at %#llx: %s", v->name, b->idx, size,
			  (unsigned long long)off, strerror(-r));
}

static const struct io_ops bar_trap_ops = { bar_read, bar_write };

/* Removes [xs, xe) from the piece list of @b (at most one more piece). */
static void pieces_cut(struct vfio_pci_bar *b, uint64_t xs, uint64_t xe)
{
	for (unsigned i = 0; i < b->npieces; i++) {
		struct vfio_pci_piece *p = &b->piece[i];
		uint64_t s = p->off, e = p->off + p->size;

		if (xe <= s || xs >= e)
			continue;
		if (xs > s && xe < e && b->npieces < VFIO_PCI_MAX_PIECES) {
			/* Split: the right part becomes a new piece. */
			struct vfio_pci_piece *q = &b->piece[b->npieces++];
			*q = (struct vfio_pci_piece){ xe, e - xe, (uint8_t *)p->hva + (xe - s), false, 0 };
			p->size = xs - s;
		} else if (xs > s) {
			p->size = xs - s;
		} else if (xe < e) {
			p->hva = (uint8_t *)p->hva + (xe - s);
			p->off = xe;
			p->size = e - xe;
		} else {
			*p = b->piece[--b->npieces];
			i--;
		}
	}
}

/* The page-aligned, host-mapped parts of memory BAR @i that can be
 * memory slots: the mmap'ed areas less the MSI-X table and PBA pages. */
static void bar_pieces(struct vfio_pci *v, unsigned i)
{
	struct vfio_pci_bar *b = &v->bar[i];
	const struct pci_bar *pb = &v->pci.bar[i];

	b->npieces = 0;
	if (pb->type != PCI_BAR_MEM32 && pb->type != PCI_BAR_MEM64)
		return;
	for (unsigned a = 0; a < b->region.nareas && a < VFIO_PCI_MAX_AREAS; a++) {
		const struct vfio_pci_area *ar = &b->region.area[a];
		uint64_t s = ALIGN_UP(ar->off, PAGE), e = (ar->off + ar->size) & ~(PAGE - 1);
		uint8_t *hva;

		if (e > pb->size)
			e = pb->size & ~(PAGE - 1);
		if (!ar->hva || s >= e || b->npieces == VFIO_PCI_MAX_PIECES)
			continue;
		hva = (uint8_t *)ar->hva + (s - ar->off);
		if ((uintptr_t)hva & (PAGE - 1))
			continue;
		b->piece[b->npieces++] = (struct vfio_pci_piece){ s, e - s, hva, false, 0 };
	}
	if (v->msix_cap && v->msix_table_bar == i)
		pieces_cut(b, v->msix_table_off & ~(PAGE - 1),
			   ALIGN_UP(v->msix_table_off + 16ULL * v->msix_nvec, PAGE));
	if (v->msix_cap && v->msix_pba_bar == i)
		pieces_cut(b, v->msix_pba_off & ~(PAGE - 1),
			   ALIGN_UP(v->msix_pba_off + 8ULL * ((v->msix_nvec + 63) / 64), PAGE));
}

static void bar_unmap(struct vfio_pci *v, unsigned i)
{
	struct vfio_pci_bar *b = &v->bar[i];

	for (unsigned k = 0; k < b->npieces; k++) {
		struct vfio_pci_piece *p = &b->piece[k];
		if (!p->mapped)
			continue;
		int r = v->vm.unmap(v->vm.ctx, p->gpa);
		if (r < 0)
			log_guest("%s: BAR%u memory slot at %#llx: unmap: %s", v->name, i,
				  (unsigned long long)p->gpa, strerror(-r));
		p->mapped = false;
	}
}

/* Bus hook (bus lock held): BAR @idx decodes at @addr now, or stopped. The
 * bus keeps the whole BAR trapped on its MMIO bus; memory slots cover what
 * can be mapped and take precedence over the trap in KVM. */
static void vp_bar_moved(struct pci_dev *d, int idx, bool mapped, uint64_t addr)
{
	struct vfio_pci *v = container_of(d, struct vfio_pci, pci);
	struct vfio_pci_bar *b;

	if (idx < 0 || idx >= PCI_NUM_BARS)
		return;	/* the ROM is always trapped */
	b = &v->bar[idx];
	if (!mapped) {
		bar_unmap(v, (unsigned)idx);
		return;
	}
	for (unsigned k = 0; k < b->npieces; k++) {
		struct vfio_pci_piece *p = &b->piece[k];
		uint64_t gpa = addr + p->off;
		int r;

		if (p->mapped)
			continue;
		r = v->vm.map(v->vm.ctx, gpa, p->size, p->hva);
		if (r < 0) {
			log_guest("%s: BAR%d +%#llx at %#llx: no memory slot (%s); accesses trapped",
				  v->name, idx, (unsigned long long)p->off, (unsigned long long)gpa,
				  strerror(-r));
			continue;
		}
		p->mapped = true;
		p->gpa = gpa;
	}
}

/* --- expansion ROM --------------------------------------------------------------- */

/*
 * Some ROMs name a sibling device ID in their PCIR structure, and firmware
 * (SeaBIOS, some option ROM dispatchers) then refuses them for this
 * function. As QEMU does, such an image gets our device ID; a legacy x86
 * image (code type 0) is checksummed over its length (header byte 2, in
 * 512-byte units), so its checksum is made valid again through byte 6
 * (reserved in the PCI Firmware 3.0 header; SeaBIOS's build keeps its
 * checksum there too). EFI images carry no checksum.
 */
static void rom_patch(struct vfio_pci *v)
{
	uint16_t vid = pci_get16(&v->pci, PCI_VENDOR_ID), did = pci_get16(&v->pci, PCI_DEVICE_ID);
	uint8_t *rom = v->rom;
	uint64_t off = 0;

	for (unsigned img = 0; img < 16 && off + 0x1a <= v->rom_size; img++) {
		uint64_t pcir, len;
		uint8_t code, ind;

		if (rom[off] != 0x55 || rom[off + 1] != 0xaa)
			break;
		pcir = off + get_le16(rom + off + 0x18);
		if (pcir + 0x18 > v->rom_size || memcmp(rom + pcir, "PCIR", 4))
			break;
		len = get_le16(rom + pcir + 0x10) * 512ULL;
		code = rom[pcir + 0x14];
		ind = rom[pcir + 0x15];
		if (get_le16(rom + pcir + 4) == vid && get_le16(rom + pcir + 6) != did) {
			uint64_t ilen = rom[off + 2] * 512ULL;
			log_info("%s: ROM image %u (code type %u) is for device %04x:%04x; patched to %04x%s",
				 v->name, img, code, vid, get_le16(rom + pcir + 6), did,
				 code == 0 ? " with its checksum fixed" : "");
			put_le16(rom + pcir + 6, did);
			if (code == 0 && ilen > 6 && off + ilen <= v->rom_size) {
				uint8_t sum = 0;
				rom[off + 6] = 0;
				for (uint64_t k = 0; k < ilen; k++)
					sum = (uint8_t)(sum + rom[off + k]);
				rom[off + 6] = (uint8_t)-sum;
			}
		}
		if ((ind & 0x80) || len == 0)
			break;
		off += len;
	}
}

/* v->lock held. */
static void rom_load(struct vfio_pci *v)
{
	uint64_t len = v->bar[VFIO_PCI_ROM].region.size;
	int r;

	v->rom_loaded = true;
	if (v->rom_mode != VFIO_ROM_AUTO)
		return;
	v->rom = malloc(v->rom_size);
	if (!v->rom) {
		log_err("%s: no memory for the %llu KiB ROM", v->name,
			(unsigned long long)(v->rom_size >> 10));
		return;
	}
	memset(v->rom, 0xff, v->rom_size);
	r = v->dev.region_read(v->dev.ctx, VFIO_PCI_ROM, 0, v->rom, MIN(len, v->rom_size));
	if (r < 0) {
		log_err("%s: reading the device's ROM failed (%s); it reads as all-ones "
			"(give one with rom=FILE, or hide it with rom=off)", v->name, strerror(-r));
		memset(v->rom, 0xff, v->rom_size);
		return;
	}
	if (v->rom[0] != 0x55 || v->rom[1] != 0xaa)
		log_warn("%s: the device's ROM has no 0x55AA signature; the firmware will ignore it",
			 v->name);
	else
		log_info("%s: ROM read from the device (%llu KiB)", v->name,
			 (unsigned long long)(v->rom_size >> 10));
	rom_patch(v);
}

static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
	struct vfio_pci *v = opaque;
	uint64_t val = ~0ULL;

	pthread_mutex_lock(&v->lock);
	if (!v->rom_loaded)
		rom_load(v);
	if (v->rom && off + size <= v->rom_size) {
		val = 0;
		memcpy(&val, v->rom + off, size);
	}
	pthread_mutex_unlock(&v->lock);
	return val;
}

static void rom_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	/* Read-only. */
}

static const struct io_ops rom_ops = { rom_read, rom_write };

static int rom_setup(struct vfio_pci *v, const struct vfio_pci_config *cfg)
{
	struct vfio_pci_region *reg = &v->bar[VFIO_PCI_ROM].region;
	int r;

	v->rom_mode = cfg->rom;
	if (cfg->rom == VFIO_ROM_OFF) {
		log_info("%s: expansion ROM hidden (rom=off)", v->name);
		return 0;
	}
	if (cfg->rom == VFIO_ROM_FILE) {
		if (!cfg->rom_image || !cfg->rom_len || cfg->rom_len > 0x1000000)
			return -EINVAL;
		v->rom_size = MAX(pow2_ceil(cfg->rom_len), 2048);
		v->rom = calloc(1, v->rom_size);
		if (!v->rom)
			return -ENOMEM;
		memcpy(v->rom, cfg->rom_image, cfg->rom_len);
		v->rom_loaded = true;
		rom_patch(v);
	} else {
		if (!reg->size)
			return 0;
		v->rom_size = MAX(pow2_ceil(reg->size), 2048);
		if (v->rom_size > 0x1000000) {
			log_warn("%s: ROM of %llu MiB is larger than a ROM BAR can be; hidden",
				 v->name, (unsigned long long)(reg->size >> 20));
			v->rom_size = 0;
			return 0;
		}
	}
	r = pci_dev_set_rom(&v->pci, v->rom_size, &rom_ops, v);
	if (r < 0)
		return r;
	return 0;
}

/* --- config space ---------------------------------------------------------------- */

static void forward(struct vfio_pci *v, unsigned off, unsigned size, uint32_t val)
{
	uint8_t b[4];

	put_le32(b, val);
	for (unsigned i = 0; i < size;) {
		unsigned n;
		int r;

		if (!v->fwd[off + i]) {
			i++;
			continue;
		}
		/* The largest naturally aligned access inside the run. */
		n = 1;
		if (!((off + i) & 3) && i + 4 <= size && v->fwd[off + i + 1] && v->fwd[off + i + 2] &&
		    v->fwd[off + i + 3])
			n = 4;
		else if (!((off + i) & 1) && i + 2 <= size && v->fwd[off + i + 1])
			n = 2;
		r = v->dev.cfg_write(v->dev.ctx, off + i, b + i, n);
		if (r < 0)
			log_guest("%s: config write of %u at %#x: %s", v->name, n, off + i, strerror(-r));
		i += n;
	}
}

static bool vp_cfg_read(struct pci_dev *d, unsigned off, unsigned size, uint32_t *val)
{
	struct vfio_pci *v = container_of(d, struct vfio_pci, pci);
	uint32_t emu = 0, img, hw;
	uint8_t buf[4] = { 0 };
	int r;

	if (off + size > v->cfg_size)
		return false;
	for (unsigned i = 0; i < size; i++)
		emu |= (uint32_t)v->emu[off + i] << (8 * i);
	if (v->msi_pvm && overlaps(off, size, msi_mask_off(v) + 4, 4)) {
		pthread_mutex_lock(&v->lock);
		pci_set32(d->cfg, msi_mask_off(v) + 4, msi_pending(v));
		pthread_mutex_unlock(&v->lock);
	}
	if (emu == ones(size))
		return false;	/* all from the image */
	r = v->dev.cfg_read(v->dev.ctx, off, buf, size);
	if (r < 0) {
		log_guest("%s: config read of %u at %#x: %s", v->name, size, off, strerror(-r));
		*val = ones(size);
		return true;
	}
	img = 0;
	for (unsigned i = 0; i < size; i++)
		img |= (uint32_t)d->cfg[off + i] << (8 * i);
	hw = get_le32(buf) & ones(size);
	*val = (hw & ~emu) | (img & emu);
	return true;
}

static void vp_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	struct vfio_pci *v = container_of(d, struct vfio_pci, pci);

	if (off + size > v->cfg_size)
		return;
	/* Memory decode off: drop the memory slots before the device stops
	 * answering (VFIO revokes its mappings then, and a vCPU touching one
	 * would fault in KVM); the bus's unmap that follows finds none. */
	if (overlaps(off, size, PCI_COMMAND, 1) && !(d->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY))
		for (unsigned i = 0; i < PCI_NUM_BARS; i++)
			bar_unmap(v, i);
	forward(v, off, size, val);
	if (v->msi_cap && overlaps(off, size, v->msi_cap + MSI_CTRL, msi_len(v) - MSI_CTRL)) {
		pthread_mutex_lock(&v->lock);
		msi_update(v);
		pthread_mutex_unlock(&v->lock);
	}
	if (v->msix_cap && overlaps(off, size, v->msix_cap + MSIX_CTRL, 2)) {
		pthread_mutex_lock(&v->lock);
		msix_update(v);
		pthread_mutex_unlock(&v->lock);
	}
}

/* Bus hook on VM reset: the bus has restored our image and unmapped the
 * BARs. Interrupts off, DMA stopped, the function reset, INTx back on. */
static void device_reset(struct vfio_pci *v)
{
	const char *how = v->dev.reset_method ? v->dev.reset_method(v->dev.ctx) : "reset";
	uint8_t zero[2] = { 0, 0 }, id[2];
	int r;

	/* Bus master, memory and I/O off before the reset, as the guest sees
	 * them after it (the kernel restores this command register). */
	if ((r = v->dev.cfg_write(v->dev.ctx, PCI_COMMAND, zero, 2)) < 0)
		log_warn("%s: clearing the command register: %s", v->name, strerror(-r));
	r = v->dev.reset(v->dev.ctx);
	if (r == -ENOTTY) {
		if (!v->no_reset_logged)
			log_warn("%s: no reset method: the device keeps its state across VM resets",
				 v->name);
		v->no_reset_logged = true;
	} else if (r < 0) {
		log_err("%s: reset (%s) failed: %s", v->name, how, strerror(-r));
	} else {
		log_info("%s: reset (%s)", v->name, how);
	}
	if (v->dev.cfg_read(v->dev.ctx, PCI_VENDOR_ID, id, 2) < 0 || get_le16(id) == 0xffff)
		log_err("%s: the device does not answer after its reset", v->name);
}

static void vp_reset(struct pci_dev *d)
{
	struct vfio_pci *v = container_of(d, struct vfio_pci, pci);

	pthread_mutex_lock(&v->lock);
	irqs_off(v);
	msix_table_reset(v);
	device_reset(v);
	intx_enable(v);
	pthread_mutex_unlock(&v->lock);
}

static const struct pci_dev_ops vfio_pci_dev_ops = {
	.cfg_read = vp_cfg_read,
	.cfg_write = vp_cfg_write,
	.bar_moved = vp_bar_moved,
	.reset = vp_reset,
};

/* --- setup ----------------------------------------------------------------------- */

static int bars_setup(struct vfio_pci *v, const uint8_t *raw)
{
	static const char *const tname[] = { "-", "I/O", "mem32", "mem64" };

	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct vfio_pci_region *reg = &v->bar[i].region;
		uint32_t bits = get_le32(raw + PCI_BASE_ADDRESS_0 + 4 * i);
		enum pci_bar_type type;
		bool pf = false;
		int r;

		if (!reg->size)
			continue;
		if (bits & 1) {
			type = PCI_BAR_IO;
		} else {
			type = ((bits >> 1) & 3) == 2 ? PCI_BAR_MEM64 : PCI_BAR_MEM32;
			pf = bits & 8;
		}
		r = pci_dev_set_bar(&v->pci, i, type, reg->size, pf, &bar_trap_ops, &v->bar[i]);
		if (r < 0) {
			log_warn("%s: BAR%d (%s, %#llx bytes) cannot be emulated; hidden", v->name, i,
				 tname[type], (unsigned long long)reg->size);
			continue;
		}
		if (type == PCI_BAR_MEM64)
			i++;
	}
	return 0;
}

static bool msi_setup(struct vfio_pci *v, unsigned cap, const uint8_t *raw)
{
	struct pci_dev *d = &v->pci;
	uint16_t ctrl = get_le16(raw + cap + MSI_CTRL);
	struct vfio_pci_irq_info ii = { 0 };
	unsigned mmc = (ctrl & MSI_CTRL_MMC) >> 1, len, mask_off;

	if (v->dev.irq_info(v->dev.ctx, VFIO_PCI_IRQ_MSI, &ii) < 0 || !ii.count) {
		log_warn("%s: MSI capability without MSI interrupts from VFIO; hidden", v->name);
		return false;
	}
	v->msi_cap = cap;
	v->msi_64 = ctrl & MSI_CTRL_64;
	v->msi_pvm = ctrl & MSI_CTRL_PVM;
	v->msi_max = 1u << MIN(mmc, 5u);
	len = msi_len(v);
	if (cap + len > 0x100) {
		v->msi_cap = 0;
		return false;
	}
	emulate(v, cap + MSI_CTRL, len - MSI_CTRL);
	memset(d->cfg + cap + MSI_CTRL, 0, len - MSI_CTRL);
	/* Enable and Multiple Message Enable are the guest's; the rest is the
	 * device's (extended message data is not offered). */
	pci_set16(d->cfg, cap + MSI_CTRL, ctrl & (MSI_CTRL_MMC | MSI_CTRL_64 | MSI_CTRL_PVM));
	pci_set16(d->wmask, cap + MSI_CTRL, MSI_CTRL_ENABLE | MSI_CTRL_MME);
	pci_set32(d->wmask, cap + MSI_ADDR_LO, 0xfffffffc);
	if (v->msi_64)
		pci_set32(d->wmask, cap + 8, 0xffffffff);
	pci_set16(d->wmask, msi_data_off(v), 0xffff);
	mask_off = msi_mask_off(v);
	if (v->msi_pvm)
		pci_set32(d->wmask, mask_off, v->msi_max == 32 ? 0xffffffff : (1u << v->msi_max) - 1);
	return true;
}

static bool msix_setup(struct vfio_pci *v, unsigned cap, const uint8_t *raw)
{
	struct pci_dev *d = &v->pci;
	uint16_t ctrl = get_le16(raw + cap + MSIX_CTRL);
	uint32_t t = get_le32(raw + cap + MSIX_TABLE), p = get_le32(raw + cap + MSIX_PBA);
	struct vfio_pci_irq_info ii = { 0 };
	unsigned n = (ctrl & MSIX_CTRL_QSIZE) + 1;
	const struct pci_bar *tb = &d->bar[t & 7], *pb = &d->bar[p & 7];

	if ((t & 7) >= PCI_NUM_BARS || (p & 7) >= PCI_NUM_BARS ||
	    (tb->type != PCI_BAR_MEM32 && tb->type != PCI_BAR_MEM64) ||
	    (pb->type != PCI_BAR_MEM32 && pb->type != PCI_BAR_MEM64) ||
	    (t & ~7u) + 16ULL * n > tb->size || (p & ~7u) + 8ULL * ((n + 63) / 64) > pb->size) {
		log_warn("%s: MSI-X table (BAR%u+%#x) or PBA (BAR%u+%#x) of %u vectors is not inside "
			 "a memory BAR; MSI-X hidden", v->name, t & 7, t & ~7u, p & 7, p & ~7u, n);
		return false;
	}
	if (v->dev.irq_info(v->dev.ctx, VFIO_PCI_IRQ_MSIX, &ii) < 0 || !ii.count) {
		log_warn("%s: MSI-X capability without MSI-X interrupts from VFIO; hidden", v->name);
		return false;
	}
	v->msix = calloc(n, sizeof(*v->msix));
	if (!v->msix)
		return false;
	v->msix_cap = cap;
	v->msix_nvec = n;
	v->msix_table_bar = t & 7;
	v->msix_table_off = t & ~7u;
	v->msix_pba_bar = p & 7;
	v->msix_pba_off = p & ~7u;
	v->msix_resizable = ii.resizable;
	msix_table_reset(v);
	emulate(v, cap + MSIX_CTRL, MSIX_CAP_LEN - MSIX_CTRL);
	pci_set16(d->cfg, cap + MSIX_CTRL, ctrl & MSIX_CTRL_QSIZE);
	pci_set16(d->wmask, cap + MSIX_CTRL, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	return true;
}

/*
 * Bus 0 is our root complex, so a PCIe endpoint on it is a Root Complex
 * Integrated Endpoint: Linux and Windows expect that type for a function
 * on the root bus (an "Endpoint" there is a topology real hardware never
 * has). An integrated endpoint has no link, slot or root registers, so
 * those read as zero. A Legacy Endpoint does not belong on a root complex
 * at all: its PCIe capability is hidden (QEMU does the same; Windows
 * prefers it). Returns false to hide the capability.
 */
static bool pcie_setup(struct vfio_pci *v, unsigned cap, const uint8_t *raw)
{
	struct pci_dev *d = &v->pci;
	uint16_t flags = get_le16(raw + cap + EXP_FLAGS);
	unsigned type = (flags & EXP_FLAGS_TYPE) >> 4, ver = flags & EXP_FLAGS_VERS;
	unsigned end = ver >= 2 ? EXP_V2_END : EXP_ROOT_END, limit = 0x100;

	if (type != EXP_TYPE_ENDPOINT && type != PCI_EXP_TYPE_RC_END) {
		log_info("%s: PCIe capability of a %s (type %u) hidden", v->name,
			 type == EXP_TYPE_LEG_END ? "legacy endpoint" : "port or bridge", type);
		return false;
	}
	/* A version 1 capability ends after the registers the function has
	 * (0x14 bytes for an endpoint with a link): never emulate into the
	 * capability that follows it. */
	for (unsigned off = raw[PCI_CAPABILITY_LIST] & 0xfc, n = 0; off >= 0x40 && off < 0x100 && n < 48;
	     off = raw[off + CAP_NEXT] & 0xfc, n++)
		if (off > cap && off < limit)
			limit = off;
	end = MIN(cap + end, limit) - cap;
	if (end < EXP_LNKCAP)
		return false;
	emulate(v, cap + EXP_FLAGS, 2);
	pci_set16(d->cfg, cap + EXP_FLAGS,
		  (uint16_t)((flags & ~(EXP_FLAGS_TYPE | EXP_FLAGS_SLOT)) | PCI_EXP_TYPE_RC_END << 4));
	if (end > EXP_LNKCAP) {
		unsigned e = MIN(end, (unsigned)EXP_ROOT_END);
		emulate(v, cap + EXP_LNKCAP, e - EXP_LNKCAP);
		memset(d->cfg + cap + EXP_LNKCAP, 0, e - EXP_LNKCAP);
	}
	if (ver >= 2 && end > EXP_LNKCAP2) {
		unsigned e = MIN(end, (unsigned)EXP_V2_END);
		emulate(v, cap + EXP_LNKCAP2, e - EXP_LNKCAP2);
		memset(d->cfg + cap + EXP_LNKCAP2, 0, e - EXP_LNKCAP2);
	}
	return true;
}

/* The standard capability list, with hidden entries unlinked. */
static void caps_setup(struct vfio_pci *v, const uint8_t *raw)
{
	struct pci_dev *d = &v->pci;
	unsigned keep[48], nkeep = 0, off = raw[PCI_CAPABILITY_LIST] & 0xfc;
	uint8_t seen[256 / 4] = { 0 };

	emulate(v, PCI_CAPABILITY_LIST, 1);
	if (!(get_le16(raw + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		off = 0;
	while (off >= 0x40 && off < 0x100 && !seen[off / 4] && nkeep < 48) {
		uint8_t id = raw[off];
		bool ok = true;

		seen[off / 4] = 1;
		if (id == PCI_CAP_ID_MSI)
			ok = msi_setup(v, off, raw);
		else if (id == PCI_CAP_ID_MSIX)
			ok = msix_setup(v, off, raw);
		else if (id == PCI_CAP_ID_EXP)
			ok = pcie_setup(v, off, raw);
		if (ok)
			keep[nkeep++] = off;
		off = raw[off + CAP_NEXT] & 0xfc;
	}
	d->cfg[PCI_CAPABILITY_LIST] = nkeep ? (uint8_t)keep[0] : 0;
	for (unsigned i = 0; i < nkeep; i++) {
		emulate(v, keep[i], 2);	/* ID and next pointer: read-only */
		d->cfg[keep[i] + CAP_NEXT] = i + 1 < nkeep ? (uint8_t)keep[i + 1] : 0;
	}
}

/*
 * Extended capabilities pass through, but SR-IOV (read-only VF BARs
 * confuse OVMF, and VFs are not ours to create) and Resizable BAR (the
 * guest would resize a BAR whose size we fixed) are unlinked. A hidden
 * first capability becomes a null capability (ID 0) that links on.
 */
static void ext_caps_setup(struct vfio_pci *v, const uint8_t *raw)
{
	struct pci_dev *d = &v->pci;
	unsigned keep[PCI_CFG_SIZE / 64], nkeep = 0, off = 0x100, n = 0;
	bool first_hidden = false;

	while (off >= 0x100 && off + 4 <= v->cfg_size && n++ < PCI_CFG_SIZE / 4 &&
	       nkeep < ARRAY_SIZE(keep)) {
		uint32_t h = get_le32(raw + off);
		uint16_t id = (uint16_t)h;

		if (h == 0 || h == 0xffffffff)
			break;
		if (id == EXT_CAP_SRIOV || id == EXT_CAP_REBAR || id == EXT_CAP_VF_REBAR) {
			log_info("%s: extended capability %#x at %#x hidden", v->name, id, off);
			if (off == 0x100)
				first_hidden = true;
		} else {
			keep[nkeep++] = off;
		}
		if ((h >> 20) <= off)
			break;	/* lists only go up; a loop ends here */
		off = (h >> 20) & 0xffc;
	}
	if (first_hidden) {
		emulate(v, 0x100, 4);
		pci_set32(d->cfg, 0x100, nkeep ? (uint32_t)keep[0] << 20 : 0);
	}
	for (unsigned i = 0; i < nkeep; i++) {
		uint32_t h = get_le32(raw + keep[i]) & 0xfffff;
		emulate(v, keep[i], 4);
		pci_set32(d->cfg, keep[i], h | (i + 1 < nkeep ? (uint32_t)keep[i + 1] << 20 : 0));
	}
}

int vfio_pci_init(struct vfio_pci *v, const struct vfio_pci_config *cfg,
		  struct vfio_dev_ops dev, struct vfio_vm_ops vm, struct vfio_efd_ops efd)
{
	uint8_t *raw;
	struct pci_dev *d = &v->pci;
	struct vfio_pci_irq_info ii = { 0 };
	bool has_exp = false;
	int r, size;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", cfg->name ? cfg->name : "vfio");
	v->dev = dev;
	v->vm = vm;
	v->efd = efd;
	v->intx_efd = v->intx_resample = -1;
	for (unsigned i = 0; i < VFIO_PCI_MSI_MAX; i++)
		v->msi[i] = (struct vfio_pci_vec){ .efd = -1, .gsi = -1 };
	pthread_mutex_init(&v->lock, NULL);

	size = dev.cfg_size(dev.ctx);
	if (size < 0)
		return size;
	if (size < 256) {
		log_err("%s: config space of %d bytes", v->name, size);
		return -ENODEV;
	}
	v->cfg_size = size >= PCI_CFG_SIZE ? PCI_CFG_SIZE : 256;
	raw = calloc(1, PCI_CFG_SIZE);
	if (!raw)
		return -ENOMEM;
	for (unsigned off = 0; off < v->cfg_size; off += 4) {
		if ((r = dev.cfg_read(dev.ctx, off, raw + off, 4)) < 0) {
			log_err("%s: reading config space at %#x: %s", v->name, off, strerror(-r));
			goto out;
		}
	}
	if (get_le16(raw) == 0xffff || get_le16(raw) == 0) {
		log_err("%s: the device does not answer (vendor ID %#06x)", v->name, get_le16(raw));
		r = -ENODEV;
		goto out;
	}
	if ((raw[PCI_HEADER_TYPE] & 0x7f) != 0) {
		log_err("%s: header type %#x: only endpoints (type 0) can be passed through",
			v->name, raw[PCI_HEADER_TYPE]);
		r = -ENOTSUP;
		goto out;
	}
	for (unsigned off = raw[PCI_CAPABILITY_LIST] & 0xfc, n = 0; off >= 0x40 && off < 0x100 && n < 48;
	     off = raw[off + CAP_NEXT] & 0xfc, n++)
		if (raw[off] == PCI_CAP_ID_EXP)
			has_exp = true;

	pci_dev_init(d, v->name, get_le16(raw + PCI_VENDOR_ID), get_le16(raw + PCI_DEVICE_ID),
		     get_le32(raw + 8) >> 8, raw[PCI_REVISION_ID], has_exp && v->cfg_size == PCI_CFG_SIZE);
	memcpy(d->cfg, raw, v->cfg_size);
	d->ops = &vfio_pci_dev_ops;
	d->opaque = v;
	memset(v->fwd, 1, v->cfg_size);

	/* Emulated header registers. COMMAND's memory and I/O enables are read
	 * from the image (the bus decodes BARs from it) but still written to
	 * the device: VFIO refuses BAR accesses and revokes BAR mappings while
	 * its own view of memory decode is off. */
	d->cfg[PCI_COMMAND] &= (uint8_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	v->emu[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY;
	emulate(v, PCI_HEADER_TYPE, 1);
	d->cfg[PCI_HEADER_TYPE] &= 0x7f;	/* one function, however many the device has */
	emulate(v, PCI_BASE_ADDRESS_0, 24);
	memset(d->cfg + PCI_BASE_ADDRESS_0, 0, 24);
	emulate(v, PCI_ROM_ADDRESS, 4);
	memset(d->cfg + PCI_ROM_ADDRESS, 0, 4);
	emulate(v, PCI_INTERRUPT_LINE, 2);
	d->cfg[PCI_INTERRUPT_LINE] = 0;

	for (unsigned i = 0; i < VFIO_PCI_NREGIONS; i++) {
		v->bar[i].v = v;
		v->bar[i].idx = i;
		if ((r = dev.region_info(dev.ctx, i, &v->bar[i].region)) < 0) {
			log_err("%s: region %u: %s", v->name, i, strerror(-r));
			goto out;
		}
	}
	if ((r = bars_setup(v, raw)) < 0 || (r = rom_setup(v, cfg)) < 0)
		goto out;
	caps_setup(v, raw);
	if (d->pcie)
		ext_caps_setup(v, raw);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		bar_pieces(v, i);
	if (d->cfg[PCI_INTERRUPT_PIN] &&
	    (dev.irq_info(dev.ctx, VFIO_PCI_IRQ_INTX, &ii) < 0 || !ii.count)) {
		log_info("%s: no INTx from VFIO; interrupt pin hidden", v->name);
		d->cfg[PCI_INTERRUPT_PIN] = 0;
	}
	if (d->cfg[PCI_INTERRUPT_PIN] > 4)
		d->cfg[PCI_INTERRUPT_PIN] = 0;
	r = 0;
out:
	free(raw);
	if (r < 0) {
		free(v->msix);
		free(v->rom);
		v->msix = NULL;
		v->rom = NULL;
	}
	return r;
}

int vfio_pci_add(struct vfio_pci *v, struct pci_bus *bus, uint8_t devfn)
{
	int r = pci_bus_add(bus, &v->pci, devfn);

	if (r < 0)
		return r;
	v->intx_gsi = v->pci.intx.gsi;
	/* INTx reaches KVM through an irqfd, never through the bus's line. */
	v->pci.intx.set_level = NULL;
	return 0;
}

void vfio_pci_vm_started(struct vfio_pci *v)
{
	struct pci_bus *bus = v->pci.bus;

	/* Whatever was registered belonged to the previous VM. After a bus
	 * reset nothing decodes; without one, decoding BARs get their memory
	 * slots again (bus lock: the bus owns the decode state). */
	if (bus)
		pthread_mutex_lock(&bus->lock);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		for (unsigned k = 0; k < v->bar[i].npieces; k++)
			v->bar[i].piece[k].mapped = false;
		if (v->pci.bar[i].mapped)
			vp_bar_moved(&v->pci, (int)i, true, v->pci.bar[i].addr);
	}
	pthread_mutex_lock(&v->lock);
	v->intx_attached = false;
	for (unsigned i = 0; i < VFIO_PCI_MSI_MAX; i++)
		v->msi[i].gsi = -1;
	for (unsigned i = 0; i < v->msix_nvec; i++)
		v->msix[i].gsi = -1;
	intx_attach(v);
	if (v->msi_nvec)
		msi_sync(v);
	if (v->msix_on)
		msix_sync(v);
	pthread_mutex_unlock(&v->lock);
	if (bus)
		pthread_mutex_unlock(&bus->lock);
}

void vfio_pci_fini(struct vfio_pci *v)
{
	pthread_mutex_lock(&v->lock);
	irqs_off(v);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		bar_unmap(v, i);
	device_reset(v);
	free(v->msix);
	free(v->rom);
	v->msix = NULL;
	v->msix_nvec = 0;
	v->msix_cap = 0;
	v->rom = NULL;
	pthread_mutex_unlock(&v->lock);
}
