/*
 * NVMe controller driven as a host driver would, through BAR 0 with queues
 * in fake guest memory: enable/reset, admin commands and their error
 * statuses, I/O with every PRP shape (one page, two pages, lists, chained
 * lists, bad offsets, addresses outside RAM), phase tags across wraps, a
 * full completion queue, doorbell abuse, read-only namespaces, MSI-X.
 */
#include "test.h"

#include <stdlib.h>

#include "dev/nvme.h"
#include "fakes.h"
#include "util.h"

#define RAM_SIZE	(4 << 20)
#define ASQ		0x1000
#define ACQ		0x2000
#define IOSQ		0x3000
#define IOCQ		0x5000
#define DATA		0x10000
#define DISK_SIZE	(1 << 20)

struct q {
	uint64_t sq, cq;
	uint16_t size, cqsize, tail, head;
	bool phase;
	unsigned qid;
};

struct host {
	struct guest_mem mem;
	uint8_t *ram, *disk;
	struct blk blk;
	struct io_bus pio, mmio;
	struct pci_bus bus;
	struct nvme n;
	struct fake_irq irq;
	int msis;
	struct q adm, io;
	uint16_t cid;
};

static int count_msi(void *ctx, uint64_t a, uint32_t d)
{
	((struct host *)ctx)->msis++;
	return 0;
}

static void kick(void *ctx, unsigned sqid)
{
	struct host *h = ctx;
	nvme_process_sq(&h->n, sqid);
}

static void wr(struct host *h, uint64_t off, uint64_t v, unsigned size)
{
	nvme_bar0_write(&h->n, off, v, size);
}

static uint64_t rd(struct host *h, uint64_t off, unsigned size)
{
	return nvme_bar0_read(&h->n, off, size);
}

static void enable(struct host *h, uint16_t asize)
{
	h->adm = (struct q){ ASQ, ACQ, asize, asize, 0, 0, true, 0 };
	wr(h, NVME_REG_AQA, (uint32_t)(asize - 1) << 16 | (asize - 1), 4);
	wr(h, NVME_REG_ASQ, ASQ, 8);
	wr(h, NVME_REG_ACQ, ACQ, 8);
	wr(h, NVME_REG_CC, 1 | 6 << 16 | 4 << 20, 4);
}

static void setup(struct host *h, bool ro)
{
	memset(h, 0, sizeof(*h));
	h->ram = fake_ram(&h->mem, RAM_SIZE);
	h->disk = malloc(DISK_SIZE);
	for (int i = 0; i < DISK_SIZE; i++)
		h->disk[i] = (uint8_t)(i * 13 + i / 512);
	CHECK_EQ(blk_open_mem(&h->blk, h->disk, DISK_SIZE, ro), 0);
	io_bus_init(&h->pio, "pio");
	io_bus_init(&h->mmio, "mmio");
	pci_bus_init(&h->bus, &h->pio, &h->mmio, 0xb0000000, fake_line(&h->irq, 0));
	CHECK_EQ(nvme_init(&h->n, "nvme", &h->blk, 4, &h->mem, (struct msi_sink){ count_msi, h },
			   (struct nvme_host){ kick, h }), 0);
	CHECK_EQ(pci_bus_add(&h->bus, &h->n.pci, 5 << 3), 0);
	enable(h, 16);
	CHECK_EQ(rd(h, NVME_REG_CSTS, 4) & NVME_CSTS_RDY, 1);
}

static void teardown(struct host *h)
{
	io_bus_destroy(&h->pio);
	io_bus_destroy(&h->mmio);
	free(h->ram);
	free(h->disk);
}

struct sqe {
	uint8_t opc;
	uint32_t nsid;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12;
};

/* Writes the command at the tail; @ring false leaves the doorbell alone.
 * Returns its command identifier. */
static uint16_t push(struct host *h, struct q *q, const struct sqe *c, bool ring)
{
	uint8_t *e = h->ram + q->sq + 64 * q->tail;

	memset(e, 0, 64);
	put_le32(e, c->opc | (uint32_t)++h->cid << 16);
	put_le32(e + 4, c->nsid);
	put_le64(e + 24, c->prp1);
	put_le64(e + 32, c->prp2);
	put_le32(e + 40, c->cdw10);
	put_le32(e + 44, c->cdw11);
	put_le32(e + 48, c->cdw12);
	q->tail = (uint16_t)((q->tail + 1) % q->size);
	if (ring)
		wr(h, NVME_REG_DBS + 8 * q->qid, q->tail, 4);
	return h->cid;
}

/* Takes one completion, which must be for command @cid: returns its
 * status (SCT/SC/DNR), -1 if none. */
static int reap_cid(struct host *h, struct q *q, uint32_t *dw0, uint16_t cid)
{
	uint8_t *e = h->ram + q->cq + 16 * q->head;
	uint32_t dw3 = get_le32(e + 12);

	if (((dw3 >> 16) & 1) != q->phase)
		return -1;
	if (dw0)
		*dw0 = get_le32(e);
	CHECK_EQ(dw3 & 0xffff, cid);
	CHECK_EQ(get_le32(e + 8) >> 16, q->qid);
	if (++q->head == q->cqsize) {
		q->head = 0;
		q->phase = !q->phase;
	}
	wr(h, NVME_REG_DBS + 8 * q->qid + 4, q->head, 4);
	return (int)(dw3 >> 17);
}

static int reap(struct host *h, struct q *q, uint32_t *dw0)
{
	return reap_cid(h, q, dw0, h->cid);
}

static int cmd(struct host *h, struct q *q, struct sqe c, uint32_t *dw0)
{
	push(h, q, &c, true);
	return reap(h, q, dw0);
}

static int admin(struct host *h, struct sqe c)
{
	return cmd(h, &h->adm, c, NULL);
}

static void make_io_queues(struct host *h, uint16_t sqsize, uint16_t cqsize)
{
	CHECK_EQ(admin(h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ,
					.cdw10 = (uint32_t)(cqsize - 1) << 16 | 1, .cdw11 = 1 << 16 | 3 }), 0);
	CHECK_EQ(admin(h, (struct sqe){ .opc = 0x01, .prp1 = IOSQ,
					.cdw10 = (uint32_t)(sqsize - 1) << 16 | 1, .cdw11 = 1 << 16 | 1 }), 0);
	h->io = (struct q){ IOSQ, IOCQ, sqsize, cqsize, 0, 0, true, 1 };
}

#define DNR NVME_SC_DNR

TEST(nvme_registers_identify_features)
{
	struct host h;
	uint32_t dw0;
	uint64_t cap;

	setup(&h, false);
	cap = rd(&h, NVME_REG_CAP, 8);
	CHECK_EQ(cap & 0xffff, NVME_MAX_QSIZE - 1);
	CHECK(cap & (1ULL << 16));		/* CQR */
	CHECK(cap & (1ULL << 37));		/* NVM command set */
	CHECK_EQ((cap >> 48) & 0xff, 0);	/* 4 KiB pages only */
	CHECK_EQ(rd(&h, NVME_REG_VS, 4), 0x00010400);
	CHECK_EQ(pci_get32(&h.n.pci, PCI_REVISION_ID) >> 8, 0x010802);

	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .prp1 = DATA, .cdw10 = 1 }), 0);
	CHECK_MEM(h.ram + DATA + 24, "polyvmm NVMe disk", 17);
	CHECK_EQ(get_le32(h.ram + DATA + 80), 0x00010400);
	CHECK_EQ(h.ram[DATA + 512], 0x66);
	CHECK_EQ(get_le32(h.ram + DATA + 516), 1);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .nsid = 1, .prp1 = DATA, .cdw10 = 0 }), 0);
	CHECK_EQ(get_le64(h.ram + DATA), DISK_SIZE / 512);
	CHECK_EQ((get_le32(h.ram + DATA + 128) >> 16) & 0xff, 9);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .nsid = 0, .prp1 = DATA, .cdw10 = 2 }), 0);
	CHECK_EQ(get_le32(h.ram + DATA), 1);
	CHECK_EQ(get_le32(h.ram + DATA + 4), 0);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .nsid = 1, .prp1 = DATA, .cdw10 = 3 }), 0);
	CHECK_EQ(h.ram[DATA], 2);	/* NGUID descriptor */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .nsid = 7, .prp1 = DATA, .cdw10 = 0 }), NVME_SC_INVALID_NS | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .prp1 = DATA, .cdw10 = 0x55 }), NVME_SC_INVALID_FIELD | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x7f }), NVME_SC_INVALID_OPCODE | DNR);

	/* Number of queues: granted up to what we have, 0-based. */
	CHECK_EQ(cmd(&h, &h.adm, (struct sqe){ .opc = 0x09, .cdw10 = 7, .cdw11 = 63 << 16 | 63 }, &dw0), 0);
	CHECK_EQ(dw0, 3u << 16 | 3);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x0a, .cdw10 = 0x33 }), NVME_SC_INVALID_FIELD | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x09, .cdw10 = 1u << 31 | 6, .cdw11 = 1 }), NVME_SC_FEAT_NOT_SAVEABLE | DNR);
	CHECK_EQ(cmd(&h, &h.adm, (struct sqe){ .opc = 0x0a, .cdw10 = 6 }, &dw0), 0);
	CHECK_EQ(dw0, 1);	/* volatile write cache on */
	/* Logs: SMART, effects, unknown. */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x02, .prp1 = DATA, .cdw10 = 127 << 16 | 2 }), 0);
	CHECK_EQ(h.ram[DATA + 3], 100);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x02, .prp1 = DATA, .cdw10 = 1023u << 16 | 5 }), 0);
	CHECK_EQ(get_le32(h.ram + DATA + 1024 + 4 * 2), 1);	/* read supported */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x02, .prp1 = DATA, .cdw10 = 127 << 16 | 0x42 }), NVME_SC_LOG_INVALID | DNR);
	/* Four asynchronous event requests are held; the fifth is refused. */
	for (int i = 0; i < 4; i++) {
		struct sqe c = { .opc = 0x0c };
		push(&h, &h.adm, &c, true);
		CHECK_EQ(reap(&h, &h.adm, NULL), -1);
	}
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x0c }), NVME_SC_AER_LIMIT | DNR);
	teardown(&h);
}

TEST(nvme_queue_creation_errors)
{
	struct host h;

	setup(&h, false);
	/* CQ: qid 0, beyond the limit, not contiguous, bad vector, size 1, outside RAM. */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ, .cdw10 = 7 << 16 | 0, .cdw11 = 1 }), NVME_SC_QID_INVALID | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ, .cdw10 = 7 << 16 | 9, .cdw11 = 1 }), NVME_SC_QID_INVALID | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ, .cdw10 = 7 << 16 | 1, .cdw11 = 0 }), NVME_SC_INVALID_FIELD | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ, .cdw10 = 7 << 16 | 1, .cdw11 = 9 << 16 | 1 }), NVME_SC_IV_INVALID | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ, .cdw10 = 0 << 16 | 1, .cdw11 = 1 }), NVME_SC_QSIZE_INVALID | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = RAM_SIZE - 4096, .cdw10 = 1023u << 16 | 1, .cdw11 = 1 }), NVME_SC_INVALID_FIELD | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ + 8, .cdw10 = 7 << 16 | 1, .cdw11 = 1 }), NVME_SC_INVALID_FIELD | DNR);
	/* SQ on a CQ that does not exist. */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x01, .prp1 = IOSQ, .cdw10 = 7 << 16 | 1, .cdw11 = 1 << 16 | 1 }), NVME_SC_CQ_INVALID | DNR);
	make_io_queues(&h, 8, 8);
	/* Twice the same, deleting a CQ still in use, deleting unknown queues. */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x05, .prp1 = IOCQ, .cdw10 = 7 << 16 | 1, .cdw11 = 1 }), NVME_SC_QID_INVALID | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x04, .cdw10 = 1 }), NVME_SC_QDEL_INVALID | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x00, .cdw10 = 3 }), NVME_SC_QID_INVALID | DNR);
	/* Too late to change the number of queues. */
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x09, .cdw10 = 7, .cdw11 = 0 }), NVME_SC_CMD_SEQ_ERROR | DNR);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x00, .cdw10 = 1 }), 0);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x04, .cdw10 = 1 }), 0);
	teardown(&h);
}

static int io(struct host *h, uint8_t opc, uint64_t slba, unsigned nlb, uint64_t prp1, uint64_t prp2)
{
	return cmd(h, &h->io, (struct sqe){ .opc = opc, .nsid = 1, .prp1 = prp1, .prp2 = prp2,
					    .cdw10 = (uint32_t)slba, .cdw11 = (uint32_t)(slba >> 32),
					    .cdw12 = nlb - 1 }, NULL);
}

TEST(nvme_io_prps)
{
	struct host h;
	const uint64_t list = 0x40000;

	setup(&h, false);
	make_io_queues(&h, 16, 16);
	/* One page at an offset, then two pages (PRP1 + PRP2). */
	CHECK_EQ(io(&h, 0x02, 2, 1, DATA + 0x200, 0), 0);
	CHECK_MEM(h.ram + DATA + 0x200, h.disk + 1024, 512);
	CHECK_EQ(io(&h, 0x02, 0, 8, DATA + 0x800, DATA + 0x3000), 0);
	CHECK_MEM(h.ram + DATA + 0x800, h.disk, 0x800);
	CHECK_MEM(h.ram + DATA + 0x3000, h.disk + 0x800, 0x800);
	/* A PRP list of three pages, scattered. */
	put_le64(h.ram + list, DATA + 0x8000);
	put_le64(h.ram + list + 8, DATA + 0x6000);
	put_le64(h.ram + list + 16, DATA + 0xa000);
	CHECK_EQ(io(&h, 0x02, 16, 32, DATA, list), 0);
	CHECK_MEM(h.ram + DATA, h.disk + 16 * 512, 4096);
	CHECK_MEM(h.ram + DATA + 0x8000, h.disk + 16 * 512 + 4096, 4096);
	CHECK_MEM(h.ram + DATA + 0x6000, h.disk + 16 * 512 + 8192, 4096);
	CHECK_MEM(h.ram + DATA + 0xa000, h.disk + 16 * 512 + 12288, 4096);
	/* A list that starts 16 bytes before a page end: its second entry
	 * chains to the next list page. */
	put_le64(h.ram + list + 0xff0, DATA + 0x8000);
	put_le64(h.ram + list + 0xff8, list + 0x2000);
	put_le64(h.ram + list + 0x2000, DATA + 0x6000);
	put_le64(h.ram + list + 0x2008, DATA + 0xa000);
	memset(h.ram + DATA + 0x6000, 0, 4096);
	memset(h.ram + DATA + 0xa000, 0, 4096);
	CHECK_EQ(io(&h, 0x02, 40, 32, DATA, list + 0xff0), 0);
	CHECK_MEM(h.ram + DATA + 0x6000, h.disk + 40 * 512 + 8192, 4096);
	CHECK_MEM(h.ram + DATA + 0xa000, h.disk + 40 * 512 + 12288, 4096);
	/* Writes land in the backend. */
	memset(h.ram + DATA, 0xab, 8192);
	CHECK_EQ(io(&h, 0x01, 100, 16, DATA, DATA + 4096), 0);
	CHECK_EQ(h.disk[100 * 512], 0xab);
	CHECK_EQ(h.disk[116 * 512 - 1], 0xab);
	CHECK_EQ(h.n.stats.writes, 1);
	/* Bad PRPs: unaligned PRP1, PRP2 not page aligned, outside RAM, list
	 * entry with an offset. */
	CHECK_EQ(io(&h, 0x02, 0, 1, DATA + 2, 0), NVME_SC_PRP_OFFSET | DNR);
	CHECK_EQ(io(&h, 0x02, 0, 16, DATA, DATA + 0x10), NVME_SC_PRP_OFFSET | DNR);
	CHECK_EQ(io(&h, 0x02, 0, 1, RAM_SIZE + 0x1000, 0), NVME_SC_DATA_XFER_ERROR | DNR);
	CHECK_EQ(io(&h, 0x02, 0, 16, DATA, RAM_SIZE + 0x1000), NVME_SC_DATA_XFER_ERROR | DNR);
	put_le64(h.ram + list, DATA + 0x8004);
	CHECK_EQ(io(&h, 0x02, 16, 32, DATA, list), NVME_SC_PRP_OFFSET | DNR);
	/* LBA range, namespace, opcode, transfer size. */
	CHECK_EQ(io(&h, 0x02, DISK_SIZE / 512 - 1, 2, DATA, DATA + 4096), NVME_SC_LBA_RANGE | DNR);
	CHECK_EQ(io(&h, 0x02, UINT64_MAX - 1, 4, DATA, 0), NVME_SC_LBA_RANGE | DNR);
	CHECK_EQ(cmd(&h, &h.io, (struct sqe){ .opc = 0x02, .nsid = 2, .prp1 = DATA }, NULL), NVME_SC_INVALID_NS | DNR);
	CHECK_EQ(cmd(&h, &h.io, (struct sqe){ .opc = 0x55, .nsid = 1 }, NULL), NVME_SC_INVALID_OPCODE | DNR);
	CHECK_EQ(io(&h, 0x02, 0, 2048, DATA, list), NVME_SC_INVALID_FIELD | DNR);
	CHECK_EQ(cmd(&h, &h.io, (struct sqe){ .opc = 0x00, .nsid = 1 }, NULL), 0);	/* flush */
	/* Write zeroes works on the memory backend. */
	CHECK_EQ(io(&h, 0x08, 100, 1, 0, 0), 0);
	CHECK_EQ(h.disk[100 * 512], 0);
	teardown(&h);
}

TEST(nvme_read_only_namespace)
{
	struct host h;
	uint8_t before[4096];

	setup(&h, true);
	make_io_queues(&h, 4, 4);
	memcpy(before, h.disk, sizeof(before));
	memset(h.ram + DATA, 0x77, 4096);
	CHECK_EQ(io(&h, 0x01, 0, 8, DATA, 0), NVME_SC_NS_WRITE_PROTECTED | DNR);
	CHECK_MEM(h.disk, before, sizeof(before));
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .nsid = 1, .prp1 = DATA, .cdw10 = 0 }), 0);
	CHECK_EQ(h.ram[DATA + 99] & 1, 1);	/* NSATTR: write protected */
	teardown(&h);
}

TEST(nvme_phase_wrap_full_cq_and_doorbell_abuse)
{
	struct host h;
	struct sqe flush = { .opc = 0x00, .nsid = 1 };

	setup(&h, false);
	make_io_queues(&h, 8, 4);
	/* 50 commands through a 4-entry CQ: the phase tag flips each lap. */
	for (int i = 0; i < 50; i++)
		CHECK_EQ(cmd(&h, &h.io, flush, NULL), 0);
	/* Three commands at once into a CQ with room for three: all complete;
	 * a fourth waits until the host frees an entry. */
	uint16_t cids[4];
	for (int i = 0; i < 4; i++)
		cids[i] = push(&h, &h.io, &flush, false);
	wr(&h, NVME_REG_DBS + 8, h.io.tail, 4);
	CHECK_EQ(h.n.sq[1].head, (h.io.tail + 8 - 1) % 8);	/* the fourth still queued */
	for (int i = 0; i < 4; i++)	/* each head doorbell frees room for the next */
		CHECK_EQ(reap_cid(&h, &h.io, NULL, cids[i]), 0);
	/* Doorbells beyond the queue size or for absent queues are ignored. */
	wr(&h, NVME_REG_DBS + 8, 200, 4);
	wr(&h, NVME_REG_DBS + 8 * 3, 1, 4);
	wr(&h, NVME_REG_DBS + 8 * 1000, 1, 4);
	wr(&h, NVME_REG_DBS + 4, 999, 4);
	CHECK_EQ(reap(&h, &h.io, NULL), -1);
	CHECK_EQ(cmd(&h, &h.io, flush, NULL), 0);
	teardown(&h);
}

TEST(nvme_reset_and_interrupts)
{
	struct host h;
	unsigned cap;

	setup(&h, false);
	make_io_queues(&h, 8, 8);
	/* INTx while MSI-X is off: asserted until the host consumes the entry. */
	{
		struct sqe c = { .opc = 0x00, .nsid = 1 };
		push(&h, &h.io, &c, true);
		CHECK_EQ(h.irq.level[h.n.pci.intx.gsi], 1);
		CHECK_EQ(reap(&h, &h.io, NULL), 0);
		CHECK_EQ(h.irq.level[h.n.pci.intx.gsi], 0);
	}
	/* MSI-X: the CQ's vector (1). */
	cap = h.n.msix.cap;
	msix_table_write(&h.n.msix, 16, 0xfee00000, 4);
	msix_table_write(&h.n.msix, 24, 0x31, 4);
	msix_table_write(&h.n.msix, 28, 0, 4);
	pci_cfg_write(&h.bus, 5 << 3, cap + 3, 1, 0x80);
	CHECK_EQ(io(&h, 0x02, 0, 1, DATA, 0), 0);
	CHECK_EQ(h.msis, 1);
	/* Controller reset: not ready, queues gone; enable again from scratch. */
	wr(&h, NVME_REG_CC, 0, 4);
	CHECK_EQ(rd(&h, NVME_REG_CSTS, 4) & NVME_CSTS_RDY, 0);
	CHECK(!h.n.sq[1].valid && !h.n.cq[1].valid);
	enable(&h, 8);
	CHECK_EQ(rd(&h, NVME_REG_CSTS, 4), NVME_CSTS_RDY);
	make_io_queues(&h, 8, 8);
	CHECK_EQ(io(&h, 0x02, 0, 1, DATA, 0), 0);
	/* Shutdown notification completes at once. */
	wr(&h, NVME_REG_CC, 1 | 6 << 16 | 4 << 20 | 1 << 14, 4);
	CHECK_EQ((rd(&h, NVME_REG_CSTS, 4) >> 2) & 3, 2);
	/* An admin queue outside RAM makes enabling fail (CSTS.CFS). */
	wr(&h, NVME_REG_CC, 0, 4);
	wr(&h, NVME_REG_ASQ, RAM_SIZE, 8);
	wr(&h, NVME_REG_CC, 1, 4);
	CHECK_EQ(rd(&h, NVME_REG_CSTS, 4) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_CFS);
	teardown(&h);
}

static int fail_rw(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return -EIO;
}

static int fail_flush(struct blk *b)
{
	return -EIO;
}

static const struct blk_ops failing_ops = { fail_rw, fail_rw, fail_flush, NULL, NULL, NULL };

TEST(nvme_host_io_errors_reach_the_guest)
{
	struct host h;

	setup(&h, false);
	make_io_queues(&h, 8, 8);
	h.blk.ops = &failing_ops;	/* the host disk dies */
	CHECK_EQ(io(&h, 0x02, 0, 1, DATA, 0), NVME_SC_READ_ERROR);
	CHECK_EQ(io(&h, 0x01, 0, 1, DATA, 0), NVME_SC_WRITE_FAULT);
	CHECK_EQ(cmd(&h, &h.io, (struct sqe){ .opc = 0x00, .nsid = 1 }, NULL), NVME_SC_WRITE_FAULT);
	CHECK_EQ(h.n.stats.errors, 3);
	/* Still ready; admin commands still work. */
	CHECK_EQ(rd(&h, NVME_REG_CSTS, 4), NVME_CSTS_RDY);
	CHECK_EQ(admin(&h, (struct sqe){ .opc = 0x06, .prp1 = DATA, .cdw10 = 1 }), 0);
	teardown(&h);
}
