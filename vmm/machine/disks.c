/*
 * The emulated disks of the machine (--disk): a backend, a virtio-blk or
 * NVMe function on bus 0 from slot LAYOUT_DISK_SLOT0 on, and one I/O
 * thread per queue. Doorbells: virtio notifications are ioeventfds on the
 * queue's worker eventfd (KVM wakes the worker, the vCPU does not exit to
 * us); NVMe doorbells carry the new tail, so they exit, record it, and
 * kick the worker. Completions reach the guest through one irqfd per
 * MSI-X vector, whose KVM route follows the guest's vector table.
 */
#define LOG_MOD "disk"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "disk/synth.h"
#include "log.h"
#include "machine/layout.h"
#include "machine/machine_priv.h"
#include "util.h"

/* An eventfd per MSI-X vector, attached to a KVM MSI route (GSI) once the
 * guest has programmed and unmasked the vector. */
struct msix_irqfds {
	struct machine *m;
	struct msix *x;
	int efd[MSIX_MAX_VECTORS];
	int gsi[MSIX_MAX_VECTORS];	/* -1: no route in the current VM */
};

struct machine_disk {
	struct machine *m;
	struct msix_irqfds irq;
	struct blk blk;
	bool blk_open;
	struct virtio_blk *vb;
	struct nvme *nvme;
	unsigned nq;
	struct worker w[VIRTIO_MAX_QUEUES];
	char name[16];
};

static void run_virtio(void *ctx, unsigned q)
{
	struct machine_disk *d = ctx;
	virtio_blk_process(d->vb, q);
}

static void run_nvme(void *ctx, unsigned q)
{
	struct machine_disk *d = ctx;
	nvme_process_sq(d->nvme, q + 1);
}

static void virtio_kick(void *ctx, unsigned q)
{
	struct machine_disk *d = ctx;
	if (q < d->nq)
		worker_kick(&d->w[q]);
}

static void nvme_kick(void *ctx, unsigned sqid)
{
	struct machine_disk *d = ctx;
	if (sqid >= 1 && sqid <= d->nq)
		worker_kick(&d->w[sqid - 1]);
}

/* The guest moved the BAR holding queue @q's notify address. */
static void virtio_doorbell(void *ctx, unsigned q, uint64_t gpa, unsigned len, bool on)
{
	struct machine_disk *d = ctx;
	struct machine *m = d->m;
	int r = 0;

	if (q >= d->nq)
		return;
	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)	/* a VM being torn down takes its ioeventfds along */
		r = kvmvm_ioeventfd(&m->vm, d->w[q].efd, gpa, len, false, -1, on);
	pthread_rwlock_unlock(&m->vm_lock);
	if (r < 0)	/* the MMIO exit path (virtio_kick) still works */
		log_warn("%s: queue %u ioeventfd at %#llx: %s", d->name, q, (unsigned long long)gpa,
			 strerror(-r));
}

static void irqfd_vector_changed(void *ctx, unsigned vec)
{
	struct msix_irqfds *f = ctx;
	struct machine *m = f->m;
	uint64_t addr;
	uint32_t data;
	int r = 0;

	if (vec >= f->x->nvec || f->efd[vec] < 0)
		return;
	/* A masked vector keeps its route; msix.c holds its messages. */
	if (!msix_vector(f->x, vec, &addr, &data))
		return;
	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live) {
		if (f->gsi[vec] < 0) {
			r = kvmvm_irqfd_msi(&m->vm, f->efd[vec], addr, data);
			if (r >= 0)
				__atomic_store_n(&f->gsi[vec], r, __ATOMIC_RELEASE);
		} else {
			r = kvmvm_msi_route_update(&m->vm, f->gsi[vec], addr, data);
		}
	}
	pthread_rwlock_unlock(&m->vm_lock);
	if (r < 0)	/* KVM_SIGNAL_MSI through the sink still works */
		log_warn("MSI-X vector %u: irqfd route: %s", vec, strerror(-r));
}

static int irqfd_fire(void *ctx, unsigned vec)
{
	struct msix_irqfds *f = ctx;
	uint64_t one = 1;

	if (vec >= MSIX_MAX_VECTORS || __atomic_load_n(&f->gsi[vec], __ATOMIC_ACQUIRE) < 0)
		return -ENOENT;
	return write(f->efd[vec], &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static int irqfds_init(struct msix_irqfds *f, struct machine *m, struct msix *x)
{
	f->m = m;
	f->x = x;
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++)
		f->efd[v] = f->gsi[v] = -1;
	for (unsigned v = 0; v < x->nvec; v++) {
		f->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f->efd[v] < 0)
			return -errno;
	}
	x->vector_changed = irqfd_vector_changed;
	x->fire = irqfd_fire;
	x->vector_ctx = f;
	return 0;
}

static void irqfds_fini(struct msix_irqfds *f)
{
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++)
		if (f->x && f->efd[v] >= 0)
			close(f->efd[v]);
}

static int open_backend(struct machine_disk *d, const struct disk_spec *s)
{
	char why[512];
	int r;

	if (s->synth) {
		r = synth_open(&d->blk, s, why, sizeof(why));
	} else {
		struct blk_open_opts o = { s->ro, s->cache, s->offset, s->size,
					   s->serial[0] ? s->serial : NULL };
		r = blk_open_file(&d->blk, s->path, &o, why, sizeof(why));
	}
	if (r < 0)
		log_err("%s: %s", d->name, why);
	else
		d->blk_open = true;
	return r;
}

static int add_disk(struct machine *m, unsigned i)
{
	const struct disk_spec *s = &m->cfg.disk[i];
	struct msi_sink sink = { machine_send_msi, m };
	struct machine_disk *d = calloc(1, sizeof(*d));
	struct pci_dev *pci;
	int r;

	if (!d)
		return -ENOMEM;
	m->disk[i] = d;
	d->m = m;
	snprintf(d->name, sizeof(d->name), "disk%u", i);
	d->nq = s->queues ? s->queues : MIN(m->cfg.cpus, (unsigned)VIRTIO_MAX_QUEUES);
	if ((r = open_backend(d, s)) < 0)
		return r;
	if (s->iface == DISK_IF_NVME) {
		d->nvme = calloc(1, sizeof(*d->nvme));
		if (!d->nvme)
			return -ENOMEM;
		r = nvme_init(d->nvme, d->name, &d->blk, d->nq, &m->mem, sink,
			      (struct nvme_host){ nvme_kick, d });
		pci = &d->nvme->pci;
	} else {
		d->vb = calloc(1, sizeof(*d->vb));
		if (!d->vb)
			return -ENOMEM;
		r = virtio_blk_init(d->vb, d->name, &d->blk, d->nq, &m->mem, sink,
				    (struct virtio_host){ virtio_kick, virtio_doorbell, d });
		pci = &d->vb->vp.pci;
	}
	if (r == 0)
		r = irqfds_init(&d->irq, m, d->nvme ? &d->nvme->msix : &d->vb->vp.msix);
	if (r < 0) {
		log_err("%s: device setup: %s", d->name, strerror(-r));
		return r;
	}
	for (unsigned q = 0; q < d->nq; q++) {
		char tn[32];
		snprintf(tn, sizeof(tn), "d%uq%u", i % 100, q % 100);
		r = worker_start(&d->w[q], tn, s->iface == DISK_IF_NVME ? run_nvme : run_virtio, d, q);
		if (r < 0)
			return r;
	}
	r = pci_bus_add(&m->pci, pci, (uint8_t)((LAYOUT_DISK_SLOT0 + i) << 3));
	if (r < 0)
		return r;
	log_info("%s: %s %s%s, %llu MiB, %u queue%s, %s", d->name,
		 s->iface == DISK_IF_NVME ? "NVMe" : "virtio-blk", d->blk.desc, d->blk.ro ? " (read-only)" : "",
		 (unsigned long long)(d->blk.size >> 20), d->nq, d->nq > 1 ? "s" : "",
		 d->blk.direct ? "O_DIRECT" : "host page cache");
	return 0;
}

int machine_disks_init(struct machine *m)
{
	for (unsigned i = 0; i < m->cfg.ndisks; i++) {
		int r = add_disk(m, i);
		if (r < 0)
			return r;
	}
	return 0;
}

void machine_disks_reset(struct machine *m)
{
	/* The routes went with the previous VM; the guest programs the vectors
	 * again (the PCI reset masked them all). */
	for (unsigned i = 0; i < MACHINE_MAX_DISKS; i++)
		if (m->disk[i])
			for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++)
				m->disk[i]->irq.gsi[v] = -1;
}

void machine_disks_fini(struct machine *m)
{
	for (unsigned i = 0; i < MACHINE_MAX_DISKS; i++) {
		struct machine_disk *d = m->disk[i];
		if (!d)
			continue;
		for (unsigned q = 0; q < d->nq; q++)
			worker_stop(&d->w[q]);
		if (d->blk_open) {
			if (!d->blk.ro && blk_flush(&d->blk) < 0)
				log_err("%s: final flush of %s failed", d->name, d->blk.desc);
			blk_close(&d->blk);
		}
		irqfds_fini(&d->irq);
		if (d->vb)
			virtio_blk_fini(d->vb);
		free(d->vb);
		free(d->nvme);
		free(d);
		m->disk[i] = NULL;
	}
}
