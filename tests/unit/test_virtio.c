/*
 * virtio-blk over the modern PCI transport, driven as a guest driver would:
 * feature negotiation, queue setup, requests laid out in fake guest memory
 * (split, indirect, wrapping indexes), interrupts (MSI-X, INTx + ISR,
 * event-idx suppression), and malformed rings that must end in
 * DEVICE_NEEDS_RESET without touching anything outside guest RAM.
 */
#include "test.h"

#include <stdlib.h>

#include "fakes.h"
#include "util.h"
#include "virtio/virtio_blk.h"

#define RAM_SIZE	(1 << 20)
#define DESC		0x1000
#define AVAIL		0x3000
#define USED		0x4000
#define BUF		0x10000
#define DISK_SIZE	(64 * 1024)

struct drv {
	struct guest_mem mem;
	uint8_t *ram;
	uint8_t *disk;
	struct blk blk;
	struct io_bus pio, mmio;
	struct pci_bus bus;
	struct virtio_blk vb;
	struct fake_irq irq;
	int msis;
	uint16_t qsize, avail_idx, used_seen;
	unsigned ndesc;
};

static int count_msi(void *ctx, uint64_t a, uint32_t d)
{
	((struct drv *)ctx)->msis++;
	return 0;
}

static void kick(void *ctx, unsigned q)
{
	struct drv *d = ctx;
	virtio_blk_process(&d->vb, q);
}

static void w(struct drv *d, uint64_t off, uint64_t v, unsigned size)
{
	virtio_pci_bar0_write(&d->vb.vp, off, v, size);
}

static uint64_t r(struct drv *d, uint64_t off, unsigned size)
{
	return virtio_pci_bar0_read(&d->vb.vp, off, size);
}

static void setup_dev(struct drv *d, bool ro)
{
	memset(d, 0, sizeof(*d));
	d->ram = fake_ram(&d->mem, RAM_SIZE);
	d->disk = malloc(DISK_SIZE);
	for (int i = 0; i < DISK_SIZE; i++)
		d->disk[i] = (uint8_t)(i * 7 + i / 512);
	CHECK_EQ(blk_open_mem(&d->blk, d->disk, DISK_SIZE, ro), 0);
	snprintf(d->blk.serial, sizeof(d->blk.serial), "SERIAL-0123456789ABC");
	io_bus_init(&d->pio, "pio");
	io_bus_init(&d->mmio, "mmio");
	pci_bus_init(&d->bus, &d->pio, &d->mmio, 0xb0000000, fake_line(&d->irq, 0));
	CHECK_EQ(virtio_blk_init(&d->vb, "vblk", &d->blk, 1, &d->mem,
				 (struct msi_sink){ count_msi, d },
				 (struct virtio_host){ kick, NULL, d }), 0);
	CHECK_EQ(pci_bus_add(&d->bus, &d->vb.vp.pci, 4 << 3), 0);
}

static void teardown(struct drv *d)
{
	virtio_blk_fini(&d->vb);
	io_bus_destroy(&d->pio);
	io_bus_destroy(&d->mmio);
	free(d->ram);
	free(d->disk);
}

static uint64_t dev_features(struct drv *d)
{
	w(d, 0x00, 0, 4);
	uint64_t f = r(d, 0x04, 4);
	w(d, 0x00, 1, 4);
	return f | r(d, 0x04, 4) << 32;
}

/* The driver side of 3.1.1, then queue 0 with @qsize entries. */
static bool negotiate(struct drv *d, uint64_t want, uint16_t qsize)
{
	w(d, 0x14, 0, 1);
	w(d, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	w(d, 0x08, 0, 4);
	w(d, 0x0c, (uint32_t)want, 4);
	w(d, 0x08, 1, 4);
	w(d, 0x0c, (uint32_t)(want >> 32), 4);
	w(d, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	if (!(r(d, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	w(d, 0x16, 0, 2);
	w(d, 0x18, qsize, 2);
	w(d, 0x20, DESC, 4);
	w(d, 0x24, 0, 4);
	w(d, 0x28, AVAIL, 8);
	w(d, 0x30, USED, 8);
	w(d, 0x1c, 1, 2);
	w(d, 0x14, 0xf, 1);	/* ACK | DRIVER | DRIVER_OK | FEATURES_OK */
	d->qsize = qsize;
	d->avail_idx = d->used_seen = 0;
	d->ndesc = 0;
	return true;
}

static const uint64_t BASIC = 1ULL << VIRTIO_F_VERSION_1;

static void put_desc(struct drv *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *p = d->ram + table + 16 * i;
	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

static void publish(struct drv *d, uint16_t head)
{
	put_le16(d->ram + AVAIL + 4 + 2 * (d->avail_idx % d->qsize), head);
	d->avail_idx++;
	put_le16(d->ram + AVAIL + 2, d->avail_idx);
	w(d, VIRTIO_PCI_NOTIFY, 0, 2);
}

/* A request: header, @len data bytes at BUF (device-writable for reads),
 * status byte. Returns the status byte, 0xff if not completed. */
static int request(struct drv *d, uint32_t type, uint64_t sector, uint32_t len)
{
	uint8_t *hdr = d->ram + BUF - 64;
	unsigned h = d->ndesc % d->qsize;
	uint16_t used;

	put_le32(hdr, type);
	put_le32(hdr + 4, 0);
	put_le64(hdr + 8, sector);
	d->ram[BUF - 16] = 0xff;
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	put_desc(d, DESC, h, BUF - 64, 16, VRING_DESC_F_NEXT, (uint16_t)((h + 1) % d->qsize));
	if (len) {
		put_desc(d, DESC, (h + 1) % d->qsize, BUF, len,
			 VRING_DESC_F_NEXT | (dev_writes ? VRING_DESC_F_WRITE : 0), (uint16_t)((h + 2) % d->qsize));
		put_desc(d, DESC, (h + 2) % d->qsize, BUF - 16, 1, VRING_DESC_F_WRITE, 0);
	} else {
		put_desc(d, DESC, (h + 1) % d->qsize, BUF - 16, 1, VRING_DESC_F_WRITE, 0);
	}
	publish(d, (uint16_t)h);
	used = get_le16(d->ram + USED + 2);
	if (used == d->used_seen)
		return 0xff;
	d->used_seen = used;
	return d->ram[BUF - 16];
}

static uint32_t last_used_len(struct drv *d)
{
	return get_le32(d->ram + USED + 4 + 8 * ((d->used_seen - 1) % d->qsize) + 4);
}

TEST(virtio_pci_identity_and_capabilities)
{
	struct drv d;
	unsigned off, types = 0;

	setup_dev(&d, false);
	CHECK_EQ(pci_get16(&d.vb.vp.pci, PCI_VENDOR_ID), 0x1af4);
	CHECK_EQ(pci_get16(&d.vb.vp.pci, PCI_DEVICE_ID), 0x1042);
	CHECK_EQ(d.vb.vp.pci.cfg[PCI_REVISION_ID], 1);
	/* The vendor capabilities 1..5, each pointing into BAR 0. */
	for (off = d.vb.vp.pci.cfg[PCI_CAPABILITY_LIST]; off; off = d.vb.vp.pci.cfg[off + 1])
		if (d.vb.vp.pci.cfg[off] == PCI_CAP_ID_VNDR)
			types |= 1u << d.vb.vp.pci.cfg[off + 3];
	CHECK_EQ(types, 0x3e);
	CHECK(pci_find_cap(&d.vb.vp.pci, PCI_CAP_ID_MSIX));
	CHECK(pci_find_cap(&d.vb.vp.pci, PCI_CAP_ID_EXP));
	CHECK(dev_features(&d) & BASIC);
	CHECK(!(dev_features(&d) & 1ULL << VIRTIO_BLK_F_RO));
	/* Device config: capacity in 512-byte sectors, blk_size. */
	CHECK_EQ(r(&d, VIRTIO_PCI_DEVCFG, 4), DISK_SIZE / 512);
	CHECK_EQ(r(&d, VIRTIO_PCI_DEVCFG + 4, 4), 0);
	CHECK_EQ(r(&d, VIRTIO_PCI_DEVCFG + 20, 4), 512);
	/* Unknown features and missing VERSION_1 are refused. */
	CHECK(!negotiate(&d, 1ULL << 60 | BASIC, 8));
	CHECK(!negotiate(&d, 0, 8));
	CHECK(negotiate(&d, BASIC, 8));
	teardown(&d);
}

TEST(virtio_blk_read_write_flush_getid)
{
	struct drv d;
	uint8_t expect[1024];

	setup_dev(&d, false);
	CHECK(negotiate(&d, BASIC | 1ULL << VIRTIO_BLK_F_FLUSH, 8));
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, 3, 1024), VIRTIO_BLK_S_OK);
	CHECK_MEM(d.ram + BUF, d.disk + 3 * 512, 1024);
	CHECK_EQ(last_used_len(&d), 1025);
	memset(d.ram + BUF, 0x5a, 512);
	memcpy(expect, d.disk, 1024);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_OUT, 1, 512), VIRTIO_BLK_S_OK);
	memset(expect + 512, 0x5a, 512);
	CHECK_MEM(d.disk, expect, 1024);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_GET_ID, 0, 20), VIRTIO_BLK_S_OK);
	CHECK_MEM(d.ram + BUF, "SERIAL-0123456789ABC", 20);
	/* Past the end, partial sectors, unknown types. */
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 1024), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, UINT64_MAX / 256, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, 0, 100), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, 77, 0, 512), VIRTIO_BLK_S_UNSUPP);
	/* Discard: the memory backend cannot; write-zeroes can. */
	put_le64(d.ram + BUF, 2);
	put_le32(d.ram + BUF + 8, 2);
	put_le32(d.ram + BUF + 12, 0);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_DISCARD, 0, 16), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16), VIRTIO_BLK_S_OK);
	memset(expect, 0, 1024);
	CHECK_MEM(d.disk + 1024, expect, 1024);
	CHECK_EQ(d.vb.stats.reads, 1);
	CHECK_EQ(d.vb.stats.writes, 1);
	teardown(&d);
}

TEST(virtio_blk_read_only_backend)
{
	struct drv d;
	uint8_t before[DISK_SIZE];

	setup_dev(&d, true);
	CHECK(dev_features(&d) & 1ULL << VIRTIO_BLK_F_RO);
	CHECK(negotiate(&d, BASIC | 1ULL << VIRTIO_BLK_F_RO, 8));
	memcpy(before, d.disk, DISK_SIZE);
	memset(d.ram + BUF, 0x11, 4096);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_OUT, 0, 4096), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_MEM(d.disk, before, DISK_SIZE);
	teardown(&d);
}

TEST(virtio_indexes_wrap_and_interrupts)
{
	struct drv d;
	unsigned cap;

	setup_dev(&d, false);
	CHECK(negotiate(&d, BASIC, 4));
	/* INTx: each completion raises the line; reading the ISR lowers it. */
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(d.irq.level[d.vb.vp.pci.intx.gsi], 1);
	CHECK_EQ(r(&d, VIRTIO_PCI_ISR, 1), 1);
	CHECK_EQ(d.irq.level[d.vb.vp.pci.intx.gsi], 0);
	CHECK_EQ(r(&d, VIRTIO_PCI_ISR, 1), 0);
	/* 70000 requests through a 4-entry queue: both 16-bit indexes wrap. */
	for (unsigned i = 0; i < 70000; i++)
		if (request(&d, VIRTIO_BLK_T_FLUSH, 0, 0) != VIRTIO_BLK_S_OK) {
			CHECK(!"request failed");
			break;
		}
	CHECK_EQ(d.vb.vp.q[0].vq.last_avail, (uint16_t)70001);
	/* MSI-X: vector 0 for the queue. */
	cap = d.vb.vp.msix.cap;
	msix_table_write(&d.vb.vp.msix, 0, 0xfee00000, 4);
	msix_table_write(&d.vb.vp.msix, 8, 0x30, 4);
	msix_table_write(&d.vb.vp.msix, 12, 0, 4);
	pci_cfg_write(&d.bus, 4 << 3, cap + 3, 1, 0x80);
	w(&d, 0x1a, 0, 2);
	CHECK_EQ(r(&d, 0x1a, 2), 0);
	w(&d, 0x1a, 9, 2);		/* no such vector */
	CHECK_EQ(r(&d, 0x1a, 2), VIRTIO_NO_VECTOR);
	w(&d, 0x1a, 0, 2);
	d.msis = 0;
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(d.msis, 1);
	/* The driver suppresses interrupts (VRING_AVAIL_F_NO_INTERRUPT). */
	put_le16(d.ram + AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ(d.msis, 1);
	teardown(&d);
}

TEST(virtio_event_idx)
{
	struct drv d;

	setup_dev(&d, false);
	CHECK(negotiate(&d, BASIC | 1ULL << VIRTIO_RING_F_EVENT_IDX, 8));
	/* used_event = 2: interrupts when the used index passes 2 -> 3. */
	put_le16(d.ram + AVAIL + 4 + 2 * 8, 2);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);	/* first: always */
	CHECK_EQ(d.irq.rises[d.vb.vp.pci.intx.gsi], 1);
	r(&d, VIRTIO_PCI_ISR, 1);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);	/* used 2 */
	CHECK_EQ(d.irq.rises[d.vb.vp.pci.intx.gsi], 1);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);	/* used 3 */
	CHECK_EQ(d.irq.rises[d.vb.vp.pci.intx.gsi], 2);
	/* The device asks for notifications at its next avail index. */
	CHECK_EQ(get_le16(d.ram + USED + 4 + 8 * 8), 3);
	teardown(&d);
}

TEST(virtio_indirect_descriptors)
{
	struct drv d;
	const uint64_t table = 0x8000;

	setup_dev(&d, false);
	CHECK(negotiate(&d, BASIC | 1ULL << VIRTIO_RING_F_INDIRECT_DESC, 8));
	put_le32(d.ram + 0x9000, VIRTIO_BLK_T_IN);
	put_le64(d.ram + 0x9008, 4);
	/* header, two 256-byte data pieces, status */
	put_desc(&d, table, 0, 0x9000, 16, VRING_DESC_F_NEXT, 1);
	put_desc(&d, table, 1, BUF, 256, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	put_desc(&d, table, 2, BUF + 0x1000, 256, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	put_desc(&d, table, 3, 0x9100, 1, VRING_DESC_F_WRITE, 0);
	put_desc(&d, DESC, 0, table, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	d.ram[0x9100] = 0xff;
	publish(&d, 0);
	CHECK_EQ(d.ram[0x9100], VIRTIO_BLK_S_OK);
	CHECK_MEM(d.ram + BUF, d.disk + 4 * 512, 256);
	CHECK_MEM(d.ram + BUF + 0x1000, d.disk + 4 * 512 + 256, 256);
	teardown(&d);
}

/* Each malformed chain: NEEDS_RESET, a config interrupt, nothing written. */
static void expect_needs_reset(void (*make)(struct drv *), const char *what)
{
	struct drv d;

	setup_dev(&d, false);
	CHECK(negotiate(&d, BASIC | 1ULL << VIRTIO_RING_F_INDIRECT_DESC, 8));
	make(&d);
	if (!(r(&d, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET))
		test_fail(__FILE__, __LINE__, "%s: no DEVICE_NEEDS_RESET", what);
	if (!(r(&d, VIRTIO_PCI_ISR, 1) & 2))
		test_fail(__FILE__, __LINE__, "%s: no configuration interrupt", what);
	/* Later requests are ignored until the driver resets the device. */
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), 0xff);
	CHECK(negotiate(&d, BASIC, 8));
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	teardown(&d);
}

static void loop_chain(struct drv *d)
{
	put_desc(d, DESC, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	put_desc(d, DESC, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	publish(d, 0);
}

static void head_out_of_table(struct drv *d)
{
	publish(d, 8);
}

static void next_out_of_table(struct drv *d)
{
	put_desc(d, DESC, 0, BUF, 16, VRING_DESC_F_NEXT, 200);
	publish(d, 0);
}

static void buffer_outside_ram(struct drv *d)
{
	put_desc(d, DESC, 0, RAM_SIZE - 8, 16, 0, 0);
	publish(d, 0);
}

static void readable_after_writable(struct drv *d)
{
	put_desc(d, DESC, 0, BUF, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(d, DESC, 1, BUF, 16, 0, 0);
	publish(d, 0);
}

static void nested_indirect(struct drv *d)
{
	put_desc(d, 0x8000, 0, 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(d, DESC, 0, 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	publish(d, 0);
}

static void indirect_bad_length(struct drv *d)
{
	put_desc(d, DESC, 0, 0x8000, 17, VRING_DESC_F_INDIRECT, 0);
	publish(d, 0);
}

static void avail_idx_jump(struct drv *d)
{
	/* The driver claims more outstanding requests than the queue holds. */
	put_le16(d->ram + AVAIL + 2, 100);
	w(d, VIRTIO_PCI_NOTIFY, 0, 2);
}

TEST(virtio_malformed_rings)
{
	expect_needs_reset(loop_chain, "descriptor loop");
	expect_needs_reset(head_out_of_table, "head index out of the table");
	expect_needs_reset(next_out_of_table, "next index out of the table");
	expect_needs_reset(buffer_outside_ram, "buffer outside RAM");
	expect_needs_reset(readable_after_writable, "readable after writable");
	expect_needs_reset(nested_indirect, "indirect inside indirect");
	expect_needs_reset(indirect_bad_length, "indirect table length");
	expect_needs_reset(avail_idx_jump, "avail index jump");
}

TEST(virtio_queue_setup_checks)
{
	struct drv d;

	setup_dev(&d, false);
	/* Rings outside RAM or misaligned: the device refuses the queue. */
	w(&d, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	w(&d, 0x08, 1, 4);
	w(&d, 0x0c, 1, 4);
	w(&d, 0x14, 0xb, 1);
	w(&d, 0x18, 8, 2);
	w(&d, 0x20, RAM_SIZE - 16, 8);
	w(&d, 0x28, AVAIL, 8);
	w(&d, 0x30, USED, 8);
	w(&d, 0x1c, 1, 2);
	CHECK_EQ(r(&d, 0x1c, 2), 0);
	CHECK(r(&d, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* Queue size must be a power of two up to the maximum. */
	w(&d, 0x14, 0, 1);
	CHECK_EQ(r(&d, 0x18, 2), VQ_MAX_SIZE);
	w(&d, 0x18, 6, 2);
	w(&d, 0x20, DESC, 8);
	w(&d, 0x1c, 1, 2);
	CHECK_EQ(r(&d, 0x1c, 2), 0);
	/* Queues that do not exist read as size 0. */
	w(&d, 0x16, 5, 2);
	CHECK_EQ(r(&d, 0x18, 2), 0);
	/* The PCI config access window reaches the common configuration. */
	unsigned c = d.vb.vp.pcicfg_cap;
	pci_cfg_write(&d.bus, 4 << 3, c + 4, 1, 0);
	pci_cfg_write(&d.bus, 4 << 3, c + 8, 4, 0x12);	/* num_queues */
	pci_cfg_write(&d.bus, 4 << 3, c + 12, 4, 2);
	CHECK_EQ(pci_cfg_read(&d.bus, 4 << 3, c + 16, 4) & 0xffff, 1);
	teardown(&d);
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

TEST(virtio_blk_host_io_errors_reach_the_guest)
{
	struct drv d;

	setup_dev(&d, false);
	CHECK(negotiate(&d, BASIC | 1ULL << VIRTIO_BLK_F_FLUSH, 8));
	d.blk.ops = &failing_ops;	/* the host disk dies */
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(d.vb.stats.errors, 3);
	/* The device keeps working: no reset needed, no VMM exit. */
	CHECK(!(r(&d, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET));
	teardown(&d);
}
