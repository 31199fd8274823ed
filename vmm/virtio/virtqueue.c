/*
 * Split virtqueues, virtio 1.x section 2.7. Ring layout (little-endian):
 *   descriptor: addr u64, len u32, flags u16, next u16      (16 bytes)
 *   driver ring: flags u16, idx u16, ring[size] u16, used_event u16
 *   device ring: flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16
 * The indexes are free-running 16-bit counters.
 */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "util.h"

#define DESC_SIZE 16

static uint16_t load16_acquire(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void store16_release(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

void vq_reset(struct virtq *q, const struct guest_mem *mem)
{
	memset(q, 0, sizeof(*q));
	q->size = VQ_MAX_SIZE;
	q->msix_vector = 0xffff;	/* VIRTIO_MSI_NO_VECTOR */
	q->mem = mem;
}

int vq_enable(struct virtq *q)
{
	uint64_t n = q->size;

	/* 2.7: the size is a power of two up to 32768; we offer VQ_MAX_SIZE. */
	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return -EINVAL;
	q->desc = gm_ptr(q->mem, q->desc_gpa, DESC_SIZE * n);
	q->avail = gm_ptr(q->mem, q->avail_gpa, 6 + 2 * n);
	q->used = gm_ptr(q->mem, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = q->avail = q->used = NULL;
		return -EINVAL;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_valid = false;
	q->ready = true;
	return 0;
}

bool vq_has_work(const struct virtq *q)
{
	return q->ready && load16_acquire(q->avail + 2) != q->last_avail;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void read_desc(const uint8_t *table, unsigned i, struct desc *d)
{
	const uint8_t *p = table + (size_t)i * DESC_SIZE;

	/* One read of each field: the guest may change the table meanwhile. */
	d->addr = get_le64(p);
	d->len = get_le32(p + 8);
	d->flags = get_le16(p + 12);
	d->next = get_le16(p + 14);
}

int vq_pop(struct virtq *q, struct vq_elem *e)
{
	const uint8_t *table = q->desc;
	unsigned tsize = q->size, idx, count = 0;
	uint16_t avail_idx;
	bool in_indirect = false;

	if (!q->ready)
		return 0;
	avail_idx = load16_acquire(q->avail + 2);
	if (avail_idx == q->last_avail)
		return 0;
	/* A driver cannot have more than size requests outstanding. */
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EBADMSG;
	idx = get_le16(q->avail + 4 + 2 * (q->last_avail % q->size));
	q->last_avail++;
	e->head = (uint16_t)idx;
	e->nout = e->nin = 0;
	e->in_len = 0;
	if (idx >= q->size)
		return -EBADMSG;

	for (;;) {
		struct desc d;
		void *buf;

		if (idx >= tsize || ++count > tsize)	/* out of the table, or a loop */
			return -EBADMSG;
		read_desc(table, idx, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* 2.7.5.3: only with the feature, not inside an indirect
			 * table, not combined with NEXT, a whole number of entries. */
			if (!q->indirect || in_indirect || (d.flags & VRING_DESC_F_NEXT) ||
			    d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > 65536)
				return -EBADMSG;
			table = gm_ptr(q->mem, d.addr, d.len);
			if (!table)
				return -EBADMSG;
			tsize = d.len / DESC_SIZE;
			in_indirect = true;
			idx = 0;
			count = 0;
			continue;
		}
		if (d.len) {
			buf = gm_ptr(q->mem, d.addr, d.len);
			if (!buf || e->nin + e->nout >= VQ_MAX_SEGS)
				return -EBADMSG;
			if (d.flags & VRING_DESC_F_WRITE) {
				e->in[e->nin++] = (struct iovec){ buf, d.len };
				e->in_len += d.len;
			} else {
				/* 2.7.4.2: readable buffers come before writable ones. */
				if (e->nin)
					return -EBADMSG;
				e->out[e->nout++] = (struct iovec){ buf, d.len };
			}
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		idx = d.next;
	}
}

void vq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *ent = q->used + 4 + 8 * (q->used_idx % q->size);

	put_le32(ent, head);
	put_le32(ent + 4, len);
	q->used_idx++;
	store16_release(q->used + 2, q->used_idx);
}

bool vq_need_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, event;
	bool valid = q->signalled_valid;

	/* The used index must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16_acquire(q->avail) & VRING_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = now;
	q->signalled_valid = true;
	event = load16_acquire(q->avail + 4 + 2 * q->size);
	/* 2.7.10: interrupt when used_idx moved past used_event. */
	return !valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void vq_set_notify(struct virtq *q, bool enable)
{
	if (!q->ready)
		return;
	if (q->event_idx) {
		if (enable)
			store16_release(q->used + 4 + 8 * q->size, q->last_avail);
	} else {
		store16_release(q->used, enable ? 0 : VRING_USED_F_NO_NOTIFY);
	}
	/* Publish before re-checking the driver ring (vq_has_work). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
