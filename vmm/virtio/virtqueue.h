/*
 * Split virtqueues (virtio 1.x, section 2.7): the descriptor table, the
 * driver (available) ring and the device (used) ring in guest memory.
 *
 * The guest owns the rings, so everything read from them is untrusted:
 * descriptor indexes, lengths, chains that loop, indirect tables inside
 * indirect tables, buffers outside RAM. Such a chain makes vq_pop() return
 * -EBADMSG and the device goes to DEVICE_NEEDS_RESET; nothing is touched
 * outside guest RAM and nothing ends the VMM.
 */
#ifndef POLYBOOT_VMM_VIRTIO_VIRTQUEUE_H
#define POLYBOOT_VMM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/guest_mem.h"

#define VQ_MAX_SIZE	1024	/* queue size we offer (power of two) */
#define VQ_MAX_SEGS	(VQ_MAX_SIZE + 2)	/* buffers in one chain */

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;
	/* Negotiated features. */
	bool event_idx, indirect;
	/* Device state. */
	uint16_t last_avail;	/* next driver ring entry to take */
	uint16_t used_idx;	/* next device ring entry to fill */
	uint16_t signalled_used; /* used_idx at the last interrupt (event_idx) */
	bool signalled_valid;
	/* Host pointers to the rings, valid while ready. */
	uint8_t *desc, *avail, *used;
	const struct guest_mem *mem;
};

/* A request: the device-readable buffers, then the device-writable ones. */
struct vq_elem {
	uint16_t head;
	int nout, nin;
	struct iovec out[VQ_MAX_SEGS];	/* guest -> device */
	struct iovec in[VQ_MAX_SEGS];	/* device -> guest */
	uint64_t in_len;		/* total bytes of in[] */
};

/* Resets a queue to what the driver sees after device reset. */
void vq_reset(struct virtq *q, const struct guest_mem *mem);

/*
 * queue_enable: checks the size and that the three rings lie in guest RAM
 * with their required alignment (2.7: 16, 2, 4). Returns 0 or -EINVAL.
 */
int vq_enable(struct virtq *q);

/*
 * Takes the next request. Returns 1 with @e filled, 0 when the driver
 * ring is empty, -EBADMSG for a malformed ring or chain (the request is
 * consumed; the device must not trust the queue again before reset).
 */
int vq_pop(struct virtq *q, struct vq_elem *e);

/* Returns request @head with @len bytes written into its in[] buffers. */
void vq_push(struct virtq *q, uint16_t head, uint32_t len);

/* After pushes: does the driver want an interrupt now (NO_INTERRUPT flag
 * or used_event, 2.7.7 / 2.7.10)? Updates the event_idx bookkeeping. */
bool vq_need_interrupt(struct virtq *q);

/* Driver wants notifications? Sets avail_event (event_idx) or the
 * NO_NOTIFY flag around a processing pass, as in 2.7.10. */
void vq_set_notify(struct virtq *q, bool enable);

/* Has the driver added requests the device has not taken? */
bool vq_has_work(const struct virtq *q);

#endif
