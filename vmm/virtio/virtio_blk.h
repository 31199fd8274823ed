/*
 * virtio-blk (virtio 1.2, 5.2) on a struct blk backend: read, write,
 * flush, get-id, discard and write-zeroes (when the backend can), the
 * read-only flag, block size and topology, one or more request queues.
 *
 * virtio_blk_process() runs on the queue's I/O thread (or in a test); it
 * takes requests until the ring is empty, performs them synchronously on
 * the backend, and interrupts the driver once per batch.
 */
#ifndef POLYBOOT_VMM_VIRTIO_VIRTIO_BLK_H
#define POLYBOOT_VMM_VIRTIO_VIRTIO_BLK_H

#include <stdint.h>

#include "disk/blk.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_CONFIG_LEN 60

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

#define VIRTIO_BLK_MAX_SEG		32	/* discard/write-zeroes ranges per request */
#define VIRTIO_BLK_MAX_RANGE		(1u << 22)	/* sectors per range (2 GiB) */

struct virtio_blk_stats {
	uint64_t reads, writes, flushes, errors;	/* requests */
	uint64_t bytes_read, bytes_written;
};

struct virtio_blk {
	struct virtio_pci vp;
	struct blk *blk;
	uint8_t config[VIRTIO_BLK_CONFIG_LEN];
	struct vq_elem *elem[VIRTIO_MAX_QUEUES];	/* one per queue thread */
	struct virtio_blk_stats stats;			/* atomics */
};

/* Sets up the device with @nqueues request queues; the caller adds
 * vb->vp.pci to the bus. Returns 0 or -errno. */
int virtio_blk_init(struct virtio_blk *vb, const char *name, struct blk *blk, unsigned nqueues,
		    const struct guest_mem *mem, struct msi_sink sink, struct virtio_host host);
void virtio_blk_fini(struct virtio_blk *vb);

/* Serves queue @q until its ring is empty. */
void virtio_blk_process(struct virtio_blk *vb, unsigned q);

#endif
