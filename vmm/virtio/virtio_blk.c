/*
 * virtio-blk, virtio 1.2 section 5.2. A request is a 16-byte header
 * (type u32, reserved u32, sector u64) in device-readable buffers, then
 * the data, then one status byte at the end of the device-writable
 * buffers. The device may not assume how the driver splits that into
 * descriptors (2.7.4), so the header and status are found by byte offset.
 * Sectors are always 512 bytes, whatever blk_size says.
 */
#define LOG_MOD "virtio-blk"
#include "virtio/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define HDR_LEN 16

/* Config space offsets (5.2.4). */
#define CFG_CAPACITY		0
#define CFG_SEG_MAX		12
#define CFG_BLK_SIZE		20
#define CFG_PHYS_EXP		24
#define CFG_MIN_IO		26
#define CFG_NUM_QUEUES		34
#define CFG_MAX_DISCARD		36
#define CFG_MAX_DISCARD_SEG	40
#define CFG_DISCARD_ALIGN	44
#define CFG_MAX_WZ		48
#define CFG_MAX_WZ_SEG		52
#define CFG_WZ_MAY_UNMAP	56

/* The data part of a request: @src without its first @skip and last @trim
 * bytes. Returns the number of entries (0 for a request too short). */
static int iov_slice(const struct iovec *src, int n, uint64_t skip, uint64_t trim, struct iovec *dst)
{
	int64_t total = iov_total(src, n);
	int m;

	if (total < 0 || (uint64_t)total < skip + trim)
		return 0;
	m = iov_sub(src, n, skip, (uint64_t)total - skip - trim, dst, VQ_MAX_SEGS);
	return m < 0 ? 0 : m;
}

static uint8_t status_of(int r)
{
	if (r == 0)
		return VIRTIO_BLK_S_OK;
	return r == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/* DISCARD / WRITE_ZEROES: an array of {sector u64, num_sectors u32, flags u32}. */
static int do_ranges(struct virtio_blk *vb, const struct vq_elem *e, uint32_t type)
{
	struct blk *b = vb->blk;
	int64_t total = iov_total(e->out, e->nout) - HDR_LEN;
	unsigned nseg;
	int r = 0;

	if (total <= 0 || total % 16 || total / 16 > VIRTIO_BLK_MAX_SEG)
		return -EINVAL;
	nseg = (unsigned)(total / 16);
	for (unsigned i = 0; i < nseg && r == 0; i++) {
		uint8_t seg[16];
		uint64_t sector;
		uint32_t num, flags;

		if (!iov_to_buf(e->out, e->nout, HDR_LEN + 16 * i, seg, sizeof(seg)))
			return -EINVAL;
		sector = get_le64(seg);
		num = get_le32(seg + 8);
		flags = get_le32(seg + 12);
		/* 5.2.6.2: unmap is only meaningful for write-zeroes; other bits reserved. */
		if (flags & ~1u || (type == VIRTIO_BLK_T_DISCARD && flags))
			return -EOPNOTSUPP;
		if (num > VIRTIO_BLK_MAX_RANGE || sector > b->size / BLK_SECTOR)
			return -EINVAL;
		if (type == VIRTIO_BLK_T_DISCARD)
			r = blk_discard(b, sector * BLK_SECTOR, (uint64_t)num * BLK_SECTOR);
		else
			r = blk_write_zeroes(b, sector * BLK_SECTOR, (uint64_t)num * BLK_SECTOR, flags & 1);
	}
	return r;
}

/* Performs one request; returns the bytes written to the driver's buffers. */
static uint32_t handle(struct virtio_blk *vb, struct vq_elem *e, struct iovec *data)
{
	uint8_t hdr[HDR_LEN], st;
	uint32_t type, written = 0;
	uint64_t sector, off;
	int n, r;

	if (e->in_len < 1 || !iov_to_buf(e->out, e->nout, 0, hdr, HDR_LEN)) {
		log_guest("%s: request without header or status byte", vb->vp.pci.name);
		return 0;
	}
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	off = sector * BLK_SECTOR;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		n = iov_slice(e->in, e->nin, 0, 1, data);
		r = sector > UINT64_MAX / BLK_SECTOR || (e->in_len - 1) % BLK_SECTOR ? -EINVAL
										: blk_readv(vb->blk, data, n, off);
		if (r == 0) {
			written = (uint32_t)(e->in_len - 1);
			__atomic_fetch_add(&vb->stats.reads, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&vb->stats.bytes_read, written, __ATOMIC_RELAXED);
		}
		break;
	case VIRTIO_BLK_T_OUT: {
		int64_t len = iov_total(e->out, e->nout) - HDR_LEN;
		n = iov_slice(e->out, e->nout, HDR_LEN, 0, data);
		r = sector > UINT64_MAX / BLK_SECTOR || len % BLK_SECTOR ? -EINVAL
									 : blk_writev(vb->blk, data, n, off);
		if (r == 0) {
			__atomic_fetch_add(&vb->stats.writes, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&vb->stats.bytes_written, (uint64_t)len, __ATOMIC_RELAXED);
		}
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		r = blk_flush(vb->blk);
		__atomic_fetch_add(&vb->stats.flushes, 1, __ATOMIC_RELAXED);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		/* 20 bytes of serial, NUL-padded, as much as fits. */
		char id[BLK_SERIAL_LEN] = { 0 };
		uint64_t k = MIN(e->in_len - 1, (uint64_t)BLK_SERIAL_LEN);

		memcpy(id, vb->blk->serial, strnlen(vb->blk->serial, BLK_SERIAL_LEN));
		iov_from_buf(e->in, e->nin, 0, id, k);
		written = (uint32_t)k;
		r = 0;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r = do_ranges(vb, e, type);
		break;
	default:
		r = -EOPNOTSUPP;
		break;
	}
	if (r < 0 && r != -EOPNOTSUPP) {
		__atomic_fetch_add(&vb->stats.errors, 1, __ATOMIC_RELAXED);
		if (r != -EINVAL && r != -EROFS)
			log_guest("%s: %s: type %u sector %llu: %s", vb->vp.pci.name, vb->blk->desc,
				  type, (unsigned long long)sector, strerror(-r));
	}
	st = status_of(r);
	/* The status byte is the last byte of the writable buffers. */
	for (int i = e->nin - 1; i >= 0; i--) {
		if (e->in[i].iov_len) {
			((uint8_t *)e->in[i].iov_base)[e->in[i].iov_len - 1] = st;
			break;
		}
	}
	return written + 1;
}

void virtio_blk_process(struct virtio_blk *vb, unsigned qi)
{
	struct virtio_queue *q;
	struct vq_elem *e;
	struct iovec *data;
	bool pushed = false, bad = false, irq = false;
	int r = 0;

	if (qi >= vb->vp.nqueues || !virtio_pci_live(&vb->vp))
		return;
	q = &vb->vp.q[qi];
	e = vb->elem[qi];
	data = (struct iovec *)(e + 1);
	pthread_mutex_lock(&q->lock);
	for (;;) {
		vq_set_notify(&q->vq, false);
		while ((r = vq_pop(&q->vq, e)) > 0) {
			vq_push(&q->vq, e->head, handle(vb, e, data));
			pushed = true;
		}
		if (r < 0) {
			bad = true;
			break;
		}
		vq_set_notify(&q->vq, true);
		if (!vq_has_work(&q->vq))
			break;
	}
	if (pushed)
		irq = vq_need_interrupt(&q->vq);
	pthread_mutex_unlock(&q->lock);
	if (bad)
		virtio_pci_needs_reset(&vb->vp);
	if (irq)
		virtio_pci_interrupt(&vb->vp, qi);
}

static void read_config(struct virtio_pci *vp, unsigned off, void *buf, unsigned len)
{
	struct virtio_blk *vb = vp->dev;
	memcpy(buf, vb->config + off, len);
}

static const struct virtio_dev_ops blk_ops = {
	.read_config = read_config,
};

int virtio_blk_init(struct virtio_blk *vb, const char *name, struct blk *blk, unsigned nqueues,
		    const struct guest_mem *mem, struct msi_sink sink, struct virtio_host host)
{
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		     1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_TOPOLOGY;
	uint8_t *c = vb->config;
	unsigned exp = 0;
	int r;

	memset(vb, 0, sizeof(*vb));
	vb->blk = blk;
	if (blk->ro)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (nqueues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	if (blk->can_discard && !blk->ro)
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
	if (blk->can_write_zeroes && !blk->ro)
		f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;

	put_le64(c + CFG_CAPACITY, blk->size / BLK_SECTOR);
	put_le32(c + CFG_SEG_MAX, VQ_MAX_SIZE - 2);
	put_le32(c + CFG_BLK_SIZE, blk->lbs);
	while ((blk->lbs << exp) < blk->pbs)
		exp++;
	c[CFG_PHYS_EXP] = (uint8_t)exp;
	put_le16(c + CFG_MIN_IO, (uint16_t)(1u << exp));
	put_le16(c + CFG_NUM_QUEUES, (uint16_t)nqueues);
	put_le32(c + CFG_MAX_DISCARD, VIRTIO_BLK_MAX_RANGE);
	put_le32(c + CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_SEG);
	put_le32(c + CFG_DISCARD_ALIGN, blk->pbs / BLK_SECTOR);
	put_le32(c + CFG_MAX_WZ, VIRTIO_BLK_MAX_RANGE);
	put_le32(c + CFG_MAX_WZ_SEG, VIRTIO_BLK_MAX_SEG);
	c[CFG_WZ_MAY_UNMAP] = blk->can_discard;

	for (unsigned i = 0; i < nqueues && i < VIRTIO_MAX_QUEUES; i++) {
		/* the element, then room for its data iovec slice */
		vb->elem[i] = malloc(sizeof(struct vq_elem) + VQ_MAX_SEGS * sizeof(struct iovec));
		if (!vb->elem[i]) {
			virtio_blk_fini(vb);
			return -ENOMEM;
		}
	}
	/* class: mass storage, SCSI (what QEMU's virtio-blk says) */
	r = virtio_pci_init(&vb->vp, name, VIRTIO_ID_BLOCK, 0x010000, nqueues, f,
			    VIRTIO_BLK_CONFIG_LEN, &blk_ops, vb, mem, sink, host);
	if (r < 0)
		virtio_blk_fini(vb);
	return r;
}

void virtio_blk_fini(struct virtio_blk *vb)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		free(vb->elem[i]);
		vb->elem[i] = NULL;
	}
}
