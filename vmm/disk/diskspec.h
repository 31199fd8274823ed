/*
 * The --disk option of polyvmm:
 *
 *   --disk path=FILE|DEVICE[,if=virtio|nvme][,ro][,serial=S]
 *          [,cache=auto|none|writeback][,queues=N][,offset=BYTES][,size=BYTES]
 *   --disk synth=DISK,parts=N[+N...][,cow=N[+N...]][,if=...][,ro][,serial=S]...
 *
 * path=: a raw image file, a whole block device or a partition, or the
 * byte range offset/size of one. synth=: a virtual GPT disk holding only
 * the listed partitions of DISK, at their original places, with the
 * partitions listed in cow= given as private copy-on-write views (the
 * guest may write them; the writes are kept in memory and dropped when
 * the VM ends). if= defaults to virtio; queues= (virtio: request queues,
 * NVMe: I/O queue pairs) to the number of vCPUs, at most 16.
 */
#ifndef POLYBOOT_VMM_DISK_DISKSPEC_H
#define POLYBOOT_VMM_DISK_DISKSPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "disk/blk.h"

#define DISK_MAX_PARTS 16

enum disk_if { DISK_IF_VIRTIO = 0, DISK_IF_NVME };

struct disk_spec {
	enum disk_if iface;
	char path[256];			/* path= or synth= */
	bool synth;
	unsigned parts[DISK_MAX_PARTS];	/* synth: partition numbers, 1-based */
	unsigned nparts;
	uint32_t cow_mask;		/* synth: bit i set = parts[i] is copy-on-write */
	bool ro;
	char serial[BLK_SERIAL_LEN + 1];	/* empty: derived from the path */
	enum blk_cache cache;
	unsigned queues;		/* 0: default */
	uint64_t offset, size;
};

/* Parses one --disk value. Returns 0 or -EINVAL with a reason in @why. */
int disk_spec_parse(const char *s, struct disk_spec *d, char *why, unsigned whylen);

#endif
