/*
 * Block backends on host files and block devices, and on memory.
 *
 * O_DIRECT (cache=none) is the default where the host allows it: the guest
 * has its own page cache, and the firmware host should not spend RAM on a
 * second one. Guest buffers that do not meet the alignment O_DIRECT needs
 * (rare: virtio descriptors may be 512-byte aligned pieces) go through a
 * bounce buffer instead of failing.
 */
#define LOG_MOD "blk"
#include "disk/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define DIO_ALIGN 4096u		/* memory alignment used for bounce buffers */
#define BOUNCE_MAX (1u << 20)	/* larger unaligned requests are split */

int64_t iov_total(const struct iovec *iov, int n)
{
	uint64_t t = 0;

	if (n < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		t += iov[i].iov_len;
		if (iov[i].iov_len > (1ULL << 62) || t > (1ULL << 62))
			return -EINVAL;
	}
	return (int64_t)t;
}

int iov_sub(const struct iovec *src, int n, uint64_t skip, uint64_t len, struct iovec *dst, int max)
{
	int m = 0;

	for (int i = 0; i < n && len; i++) {
		uint64_t k;
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		if (m == max)
			return -EINVAL;
		k = MIN(len, src[i].iov_len - skip);
		dst[m++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, k };
		len -= k;
		skip = 0;
	}
	return len ? -EINVAL : m;
}

static bool iov_copy(const struct iovec *iov, int n, uint64_t skip, uint8_t *buf, size_t len,
		     bool to_iov)
{
	for (int i = 0; i < n && len; i++) {
		size_t k;
		uint8_t *p;
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		k = MIN(len, iov[i].iov_len - skip);
		p = (uint8_t *)iov[i].iov_base + skip;
		if (to_iov)
			memcpy(p, buf, k);
		else
			memcpy(buf, p, k);
		buf += k;
		len -= k;
		skip = 0;
	}
	return len == 0;
}

bool iov_to_buf(const struct iovec *iov, int n, uint64_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

bool iov_from_buf(const struct iovec *iov, int n, uint64_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}

static int check_range(const struct blk *b, uint64_t off, uint64_t len)
{
	if (off > b->size || len > b->size - off)
		return -EINVAL;
	return 0;
}

int blk_readv(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	int64_t len = iov_total(iov, n);

	if (len < 0)
		return (int)len;
	if (check_range(b, off, (uint64_t)len))
		return -EINVAL;
	return len ? b->ops->readv(b, iov, n, off) : 0;
}

int blk_writev(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	int64_t len = iov_total(iov, n);

	if (len < 0)
		return (int)len;
	if (check_range(b, off, (uint64_t)len))
		return -EINVAL;
	if (b->ro)
		return -EROFS;
	return len ? b->ops->writev(b, iov, n, off) : 0;
}

int blk_read(struct blk *b, void *buf, uint64_t len, uint64_t off)
{
	struct iovec v = { buf, len };
	return blk_readv(b, &v, 1, off);
}

int blk_write(struct blk *b, const void *buf, uint64_t len, uint64_t off)
{
	struct iovec v = { (void *)buf, len };
	return blk_writev(b, &v, 1, off);
}

int blk_flush(struct blk *b)
{
	return b->ro ? 0 : b->ops->flush(b);
}

int blk_discard(struct blk *b, uint64_t off, uint64_t len)
{
	if (check_range(b, off, len))
		return -EINVAL;
	if (b->ro)
		return -EROFS;
	if (!b->can_discard || !b->ops->discard)
		return -EOPNOTSUPP;
	return len ? b->ops->discard(b, off, len) : 0;
}

int blk_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool unmap)
{
	if (check_range(b, off, len))
		return -EINVAL;
	if (b->ro)
		return -EROFS;
	if (!b->can_write_zeroes || !b->ops->write_zeroes)
		return -EOPNOTSUPP;
	return len ? b->ops->write_zeroes(b, off, len, unmap) : 0;
}

void blk_close(struct blk *b)
{
	if (b->ops && b->ops->close)
		b->ops->close(b);
	b->ops = NULL;
	b->priv = NULL;
}

/* --- files and block devices -------------------------------------------------- */

struct blk_file {
	int fd;
	uint64_t base;		/* offset of the range inside the file */
	bool bdev;
};

static bool iov_aligned(const struct iovec *iov, int n, uint64_t off, unsigned align)
{
	if (off % align)
		return false;
	for (int i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % align || iov[i].iov_len % align)
			return false;
	return true;
}

/* preadv/pwritev until done; a short transfer continues where it stopped. */
static int rw_full(int fd, bool write, const struct iovec *iov_in, int n, uint64_t off)
{
	struct iovec stack[64], *iov = stack, *heap = NULL;
	int r = 0;

	if (n <= 0)
		return 0;
	if (n > (int)ARRAY_SIZE(stack)) {
		iov = heap = malloc(sizeof(*iov) * (size_t)n);
		if (!heap)
			return -ENOMEM;
	}
	memcpy(iov, iov_in, sizeof(*iov) * (size_t)n);
	while (n > 0) {
		ssize_t k = write ? pwritev(fd, iov, MIN(n, IOV_MAX), (off_t)off)
				  : preadv(fd, iov, MIN(n, IOV_MAX), (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0) {	/* the file shrank under us */
			r = -EIO;
			break;
		}
		off += (uint64_t)k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	free(heap);
	return r;
}

static int file_rw(struct blk *b, bool write, const struct iovec *iov, int n, uint64_t off)
{
	struct blk_file *f = b->priv;
	uint8_t *bounce;
	uint64_t done = 0, len;
	int r = 0;

	off += f->base;
	if (!b->direct || iov_aligned(iov, n, off, b->lbs))
		return rw_full(f->fd, write, iov, n, off);

	/* Unaligned guest memory with O_DIRECT: copy through an aligned buffer.
	 * The offset and length are block multiples (the devices use sectors;
	 * the logical block size of the backend is what the guest sees). */
	len = (uint64_t)iov_total(iov, n);
	if (off % b->lbs || len % b->lbs)
		return -EINVAL;
	if (posix_memalign((void **)&bounce, DIO_ALIGN, (size_t)MIN(len, BOUNCE_MAX)))
		return -ENOMEM;
	while (done < len && r == 0) {
		size_t chunk = (size_t)MIN(len - done, BOUNCE_MAX);
		struct iovec bv = { bounce, chunk };

		if (write) {
			iov_to_buf(iov, n, done, bounce, chunk);
			r = rw_full(f->fd, true, &bv, 1, off + done);
		} else {
			r = rw_full(f->fd, false, &bv, 1, off + done);
			iov_from_buf(iov, n, done, bounce, chunk);
		}
		done += chunk;
	}
	free(bounce);
	return r;
}

static int file_readv(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return file_rw(b, false, iov, n, off);
}

static int file_writev(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return file_rw(b, true, iov, n, off);
}

static int file_flush(struct blk *b)
{
	struct blk_file *f = b->priv;
	return fdatasync(f->fd) < 0 ? -errno : 0;
}

static int file_discard(struct blk *b, uint64_t off, uint64_t len)
{
	struct blk_file *f = b->priv;
	uint64_t range[2] = { f->base + off, len };

	if (f->bdev)
		return ioctl(f->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)range[0],
		      (off_t)len) < 0)
		return -errno;
	return 0;
}

static int zero_by_writing(struct blk *b, uint64_t off, uint64_t len)
{
	const size_t chunk = 65536;
	uint8_t *zero;
	int r = 0;

	if (posix_memalign((void **)&zero, DIO_ALIGN, chunk))
		return -ENOMEM;
	memset(zero, 0, chunk);
	while (len && r == 0) {
		uint64_t k = MIN(len, chunk);
		struct iovec v = { zero, k };

		r = file_rw(b, true, &v, 1, off);
		off += k;
		len -= k;
	}
	free(zero);
	return r;
}

static int file_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool unmap)
{
	struct blk_file *f = b->priv;
	uint64_t range[2] = { f->base + off, len };

	if (f->bdev)
		return ioctl(f->fd, BLKZEROOUT, range) < 0 ? -errno : 0;
	if (fallocate(f->fd, unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE,
		      (off_t)range[0], (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return zero_by_writing(b, off, len);
}

static void file_close(struct blk *b)
{
	struct blk_file *f = b->priv;

	if (f) {
		close(f->fd);
		free(f);
	}
}

static const struct blk_ops file_ops = {
	.readv = file_readv,
	.writev = file_writev,
	.flush = file_flush,
	.discard = file_discard,
	.write_zeroes = file_write_zeroes,
	.close = file_close,
};

/* queue/discard_max_bytes of the disk holding block device @rdev (for a
 * partition, the parent's queue). */
static bool bdev_discards(dev_t rdev)
{
	static const char *const rel[] = { "queue", "../queue" };
	char path[96], buf[32];

	for (unsigned i = 0; i < ARRAY_SIZE(rel); i++) {
		FILE *fp;
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s/discard_max_bytes",
			 major(rdev), minor(rdev), rel[i]);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		buf[0] = 0;
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = 0;
		fclose(fp);
		return strtoull(buf, NULL, 10) > 0;
	}
	return false;
}

static void default_serial(char *out, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	/* keep the end of long names: "disk-of-windows.img" -> "k-of-windows.img" */
	if (n > BLK_SERIAL_LEN)
		base += n - BLK_SERIAL_LEN;
	snprintf(out, BLK_SERIAL_LEN + 1, "%s", base);
}

int blk_open_file(struct blk *b, const char *path, const struct blk_open_opts *o,
		  char *why, unsigned whylen)
{
	struct blk_file *f;
	struct stat st;
	uint64_t size;
	int flags = (o->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC, fd = -1, r;
	bool direct = o->cache != BLK_CACHE_WRITEBACK;

	memset(b, 0, sizeof(*b));
	fd = open(path, flags | (direct ? O_DIRECT : 0));
	if (fd < 0 && errno == EINVAL && direct && o->cache == BLK_CACHE_AUTO) {
		direct = false;	/* tmpfs and friends: no O_DIRECT */
		fd = open(path, flags);
	}
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		r = -ENOMEM;
		snprintf(why, whylen, "%s: out of memory", path);
		goto fail;
	}
	f->fd = fd;
	b->ops = &file_ops;
	b->priv = f;
	b->lbs = BLK_SECTOR;
	b->pbs = BLK_SECTOR;
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0, psz = 0;

		f->bdev = true;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			r = -errno;
			snprintf(why, whylen, "%s: BLKGETSIZE64: %s", path, strerror(errno));
			goto fail_f;
		}
		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && (ssz == 512 || ssz == 4096))
			b->lbs = (unsigned)ssz;
		if (ioctl(fd, BLKPBSZGET, &psz) == 0 && psz >= (int)b->lbs && psz <= 65536)
			b->pbs = (unsigned)psz;
		b->can_discard = bdev_discards(st.st_rdev);
		b->can_write_zeroes = true;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
		b->pbs = 4096;
		b->can_discard = true;
		b->can_write_zeroes = true;
	} else {
		r = -EINVAL;
		snprintf(why, whylen, "%s: not a regular file or block device", path);
		goto fail_f;
	}
	if (o->offset > size || o->length > size - o->offset) {
		r = -EINVAL;
		snprintf(why, whylen, "%s: range %llu+%llu outside its %llu bytes", path,
			 (unsigned long long)o->offset, (unsigned long long)o->length,
			 (unsigned long long)size);
		goto fail_f;
	}
	f->base = o->offset;
	b->size = o->length ? o->length : size - o->offset;
	if (b->size == 0 || b->size % b->lbs || f->base % b->lbs) {
		r = -EINVAL;
		snprintf(why, whylen, "%s: size %llu or offset not a multiple of %u bytes", path,
			 (unsigned long long)b->size, b->lbs);
		goto fail_f;
	}
	b->ro = o->ro;
	b->direct = direct;
	if (o->serial)
		snprintf(b->serial, sizeof(b->serial), "%s", o->serial);
	else
		default_serial(b->serial, path);
	if (o->offset || o->length)
		snprintf(b->desc, sizeof(b->desc), "%s@%llu+%llu", path,
			 (unsigned long long)o->offset, (unsigned long long)b->size);
	else
		snprintf(b->desc, sizeof(b->desc), "%s", path);
	return 0;
fail_f:
	free(f);
	b->priv = NULL;
	b->ops = NULL;
fail:
	close(fd);
	return r;
}

/* --- memory ---------------------------------------------------------------------- */

static int mem_rw(struct blk *b, bool write, const struct iovec *iov, int n, uint64_t off)
{
	uint8_t *p = (uint8_t *)b->priv + off;

	for (int i = 0; i < n; i++) {
		if (write)
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, p, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	return 0;
}

static int mem_readv(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return mem_rw(b, false, iov, n, off);
}

static int mem_writev(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return mem_rw(b, true, iov, n, off);
}

static int mem_flush(struct blk *b)
{
	return 0;
}

static int mem_write_zeroes(struct blk *b, uint64_t off, uint64_t len, bool unmap)
{
	memset((uint8_t *)b->priv + off, 0, len);
	return 0;
}

static const struct blk_ops mem_ops = {
	.readv = mem_readv,
	.writev = mem_writev,
	.flush = mem_flush,
	.discard = NULL,
	.write_zeroes = mem_write_zeroes,
};

int blk_open_mem(struct blk *b, void *buf, uint64_t size, bool ro)
{
	if (!buf || size == 0 || size % BLK_SECTOR)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->ops = &mem_ops;
	b->priv = buf;
	b->size = size;
	b->lbs = BLK_SECTOR;
	b->pbs = BLK_SECTOR;
	b->ro = ro;
	b->can_write_zeroes = true;
	snprintf(b->serial, sizeof(b->serial), "memdisk");
	snprintf(b->desc, sizeof(b->desc), "memory");
	return 0;
}
