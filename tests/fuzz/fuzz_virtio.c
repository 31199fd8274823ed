/*
 * libFuzzer: virtio-blk with a live queue whose descriptor table, driver
 * ring and buffers come from the input (placed in guest RAM), then the
 * rest of the input as register and notify accesses to BAR 0. Covers
 * malformed chains, indirect tables, bad lengths and addresses, resets in
 * the middle, feature and queue reconfiguration.
 */
#include <stdlib.h>

#include "fuzz_common.h"
#include "log.h"
#include "util.h"
#include "virtio/virtio_blk.h"

#define RAM 0x10000
#define DISK 0x8000

static struct virtio_blk *vb_g;

static void kick(void *ctx, unsigned q) { virtio_blk_process(vb_g, q); }
static uint64_t bar_read(void *o, uint64_t off, unsigned size) { return virtio_pci_bar0_read(o, off, size); }
static void bar_write(void *o, uint64_t off, uint64_t v, unsigned size) { virtio_pci_bar0_write(o, off, v, size); }
static const struct io_ops bar_ops = { bar_read, bar_write };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM], disk[DISK];
	struct fuzz_pci *f = calloc(1, sizeof(*f));
	struct virtio_blk *vb = calloc(1, sizeof(*vb));
	struct blk blk;
	size_t seed = MIN(size, (size_t)0xc0);
	const struct fuzz_region regions[] = { { &f->mmio, 0, VIRTIO_PCI_BAR0_SIZE } };

	log_set_level(LOG_ERR);
	vb_g = vb;
	memset(ram, 0, sizeof(ram));
	/* An 8-entry queue: driver ring at 0x0, descriptor table at 0x40
	 * (small inputs reach both); the rest of the input is also data at
	 * 0x1000 for the buffers to point at. */
	memcpy(ram, data, seed);
	memcpy(ram + 0x1000, data + seed, MIN(size - seed, (size_t)RAM - 0x1000));
	fuzz_pci_init(f, ram, RAM);
	blk_open_mem(&blk, disk, DISK, size & 1);
	if (virtio_blk_init(vb, "fuzz", &blk, 2, &f->mem, (struct msi_sink){ fuzz_msi_nop, NULL },
			    (struct virtio_host){ kick, NULL, NULL }) == 0 &&
	    pci_bus_add(&f->bus, &vb->vp.pci, 4 << 3) == 0) {
		io_bus_add(&f->mmio, 0, VIRTIO_PCI_BAR0_SIZE, &bar_ops, &vb->vp, "bar0");
		/* A driver that negotiated everything and enabled queue 0. */
		bar_write(&vb->vp, 0x14, 3, 1);
		bar_write(&vb->vp, 0x08, 0, 4);
		bar_write(&vb->vp, 0x0c, (uint32_t)vb->vp.dev_features, 4);
		bar_write(&vb->vp, 0x08, 1, 4);
		bar_write(&vb->vp, 0x0c, (uint32_t)(vb->vp.dev_features >> 32), 4);
		bar_write(&vb->vp, 0x14, 0xb, 1);
		bar_write(&vb->vp, 0x18, 8, 2);
		bar_write(&vb->vp, 0x20, 0x40, 8);
		bar_write(&vb->vp, 0x28, 0x0, 8);
		bar_write(&vb->vp, 0x30, 0x800, 8);
		bar_write(&vb->vp, 0x1c, 1, 2);
		bar_write(&vb->vp, 0x14, 0xf, 1);
		bar_write(&vb->vp, VIRTIO_PCI_NOTIFY, 0, 2);
		if (size > seed)
			fuzz_run_accesses(data + seed, size - seed, regions, 1);
		bar_write(&vb->vp, VIRTIO_PCI_NOTIFY, 0, 2);
	}
	virtio_blk_fini(vb);
	fuzz_pci_fini(f);
	free(vb);
	free(f);
	return 0;
}
