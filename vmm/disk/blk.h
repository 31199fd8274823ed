/*
 * Block backends for the emulated disks: what a virtio-blk or NVMe model
 * reads and writes. A backend is a byte range of something on the host (a
 * whole block device, a partition, a raw image file, a range inside one of
 * those) or a composed disk (synth.h). Device models see only struct blk:
 * every call is bounds-checked here, a read-only backend refuses writes with
 * -EROFS, and host I/O errors come back as -errno for the model to report
 * to the guest as a failed command; nothing here ever ends the VMM.
 *
 * Calls are synchronous and thread-safe (positioned I/O on a shared fd);
 * the devices run them on their queue threads, never on a vCPU thread.
 */
#ifndef POLYBOOT_VMM_DISK_BLK_H
#define POLYBOOT_VMM_DISK_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_SECTOR 512u
#define BLK_SERIAL_LEN 20	/* virtio-blk GET_ID and NVMe SN are 20 bytes */

struct blk;

struct blk_ops {
	/* Full transfers of the iovec at @off (already bounds-checked). */
	int (*readv)(struct blk *b, const struct iovec *iov, int n, uint64_t off);
	int (*writev)(struct blk *b, const struct iovec *iov, int n, uint64_t off);
	int (*flush)(struct blk *b);
	/* Optional; -EOPNOTSUPP when the host cannot do it after all. */
	int (*discard)(struct blk *b, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct blk *b, uint64_t off, uint64_t len, bool unmap);
	void (*close)(struct blk *b);
};

struct blk {
	const struct blk_ops *ops;
	void *priv;
	uint64_t size;		/* bytes, a multiple of the logical block size */
	unsigned lbs;		/* logical block size (512 or 4096) */
	unsigned pbs;		/* physical block size, >= lbs */
	bool ro;
	bool can_discard, can_write_zeroes;
	bool direct;		/* O_DIRECT in use */
	char serial[BLK_SERIAL_LEN + 1];
	char desc[128];		/* for messages: the path and range */
};

enum blk_cache { BLK_CACHE_AUTO = 0, BLK_CACHE_NONE, BLK_CACHE_WRITEBACK };

struct blk_open_opts {
	bool ro;
	enum blk_cache cache;	/* AUTO: O_DIRECT where the host allows it */
	uint64_t offset;	/* a range of the file/device ... */
	uint64_t length;	/* ... of this many bytes (0: to the end) */
	const char *serial;	/* NULL: derived from the path */
};

/*
 * Opens a regular file or block device (a whole disk or a partition), or
 * the range [offset, offset+length) of it. The size must be a multiple of
 * 512 bytes. Returns 0 or -errno with a reason in @why.
 */
int blk_open_file(struct blk *b, const char *path, const struct blk_open_opts *o,
		  char *why, unsigned whylen);

/* Backend on a memory buffer (tests, generated disks); @buf is not copied. */
int blk_open_mem(struct blk *b, void *buf, uint64_t size, bool ro);

void blk_close(struct blk *b);

/*
 * I/O for the device models. @off and the total length must lie inside the
 * backend (-EINVAL otherwise, nothing transferred); writes on a read-only
 * backend give -EROFS. Return 0 or -errno.
 */
int blk_readv(struct blk *b, const struct iovec *iov, int n, uint64_t off);
int blk_writev(struct blk *b, const struct iovec *iov, int n, uint64_t off);
int blk_read(struct blk *b, void *buf, uint64_t len, uint64_t off);
int blk_write(struct blk *b, const void *buf, uint64_t len, uint64_t off);
int blk_flush(struct blk *b);
int blk_discard(struct blk *b, uint64_t off, uint64_t len);
int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool unmap);

/* Total bytes of an iovec array; -EINVAL past 2^62 or for n < 0. */
int64_t iov_total(const struct iovec *iov, int n);
/* @dst = the bytes [skip, skip+len) of @src as at most @max entries.
 * Returns the number of entries, or -EINVAL if @src is too short. */
int iov_sub(const struct iovec *src, int n, uint64_t skip, uint64_t len, struct iovec *dst, int max);
/* Copies between a flat buffer and the bytes of @iov from @skip on;
 * false if the iovec holds fewer than skip + len bytes. */
bool iov_to_buf(const struct iovec *iov, int n, uint64_t skip, void *buf, size_t len);
bool iov_from_buf(const struct iovec *iov, int n, uint64_t skip, const void *buf, size_t len);

#endif
