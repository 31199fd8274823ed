/*
 * libFuzzer: an NVMe controller with admin and one I/O queue pair whose
 * submission entries, PRP lists and data come from the input (placed in
 * guest RAM), then the rest of the input as register and doorbell
 * accesses. Covers every command decoder, PRP walking, queue creation and
 * deletion at odd moments, resets, bad doorbells.
 */
#include <stdlib.h>

#include "dev/nvme.h"
#include "fuzz_common.h"
#include "log.h"
#include "util.h"

#define RAM 0x20000
#define DISK 0x10000

static struct nvme *n_g;

static void kick(void *ctx, unsigned q) { nvme_process_sq(n_g, q); }
static uint64_t bar_read(void *o, uint64_t off, unsigned size) { return nvme_bar0_read(o, off, size); }
static void bar_write(void *o, uint64_t off, uint64_t v, unsigned size) { nvme_bar0_write(o, off, v, size); }
static const struct io_ops bar_ops = { bar_read, bar_write };

/* An admin command built by us (queue setup), at admin SQ slot @slot. */
static void admin(struct nvme *n, uint8_t *ram, unsigned slot, uint8_t opc, uint64_t prp1,
		  uint32_t cdw10, uint32_t cdw11)
{
	uint8_t *e = ram + 0x1000 + 64 * slot;

	memset(e, 0, 64);
	put_le32(e, opc | (slot + 1) << 16);
	put_le64(e + 24, prp1);
	put_le32(e + 40, cdw10);
	put_le32(e + 44, cdw11);
	bar_write(n, NVME_REG_DBS, slot + 1, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM], disk[DISK];
	struct fuzz_pci *f = calloc(1, sizeof(*f));
	struct nvme *n = calloc(1, sizeof(*n));
	struct blk blk;
	size_t seed = MIN(size, (size_t)0x800);
	const struct fuzz_region regions[] = { { &f->mmio, 0, 0x1100 }, { &f->mmio, 0x2000, 0x1100 } };

	log_set_level(LOG_ERR);
	n_g = n;
	memset(ram, 0, sizeof(ram));
	fuzz_pci_init(f, ram, RAM);
	blk_open_mem(&blk, disk, DISK, size & 1);
	if (nvme_init(n, "fuzz", &blk, 2, &f->mem, (struct msi_sink){ fuzz_msi_nop, NULL },
		      (struct nvme_host){ kick, NULL }) == 0 &&
	    pci_bus_add(&f->bus, &n->pci, 5 << 3) == 0) {
		io_bus_add(&f->mmio, 0, NVME_BAR0_SIZE, &bar_ops, n, "bar0");
		bar_write(n, NVME_REG_AQA, 15 << 16 | 15, 4);
		bar_write(n, NVME_REG_ASQ, 0x1000, 8);
		bar_write(n, NVME_REG_ACQ, 0x2000, 8);
		bar_write(n, NVME_REG_CC, 1 | 6 << 16 | 4 << 20, 4);
		admin(n, ram, 0, 0x05, 0x3000, 31 << 16 | 1, 1 << 16 | 3);	/* CQ 1 */
		admin(n, ram, 1, 0x01, 0x4000, 31 << 16 | 1, 1 << 16 | 1);	/* SQ 1 */
		/* Input: I/O submission entries (32 at 0x4000), the same bytes
		 * as admin entries in the free admin slots, the rest as PRP
		 * lists and data at 0x5000 and as register accesses. */
		memcpy(ram + 0x4000, data, seed);
		memcpy(ram + 0x5000, data + seed, MIN(size - seed, (size_t)RAM - 0x5000));
		if (size > 0)
			bar_write(n, NVME_REG_DBS + 8, data[0] % 32, 4);
		if (size > 1) {
			memcpy(ram + 0x1000 + 2 * 64, data, MIN(seed, (size_t)14 * 64));
			bar_write(n, NVME_REG_DBS, 2 + data[1] % 14, 4);
		}
		if (size > seed)
			fuzz_run_accesses(data + seed, size - seed, regions, 2);
	}
	fuzz_pci_fini(f);
	free(n);
	free(f);
	return 0;
}
