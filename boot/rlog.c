#include "rlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int rlog_open(struct rlog *l, const char *path, uint64_t max)
{
	struct stat st;

	l->fd = -1;
	l->dirty = false;
	l->max = max < 4096 ? 4096 : max;
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s", path) >= sizeof(l->path))
		return -ENAMETOOLONG;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (l->fd < 0)
		return -errno;
	l->size = fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

static int rotate(struct rlog *l)
{
	char old[sizeof(l->path) + 2];

	snprintf(old, sizeof(old), "%s.1", l->path);
	fsync(l->fd);
	close(l->fd);
	l->fd = -1;
	if (rename(l->path, old) < 0)
		return -errno;
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (l->fd < 0)
		return -errno;
	l->size = 0;
	return 0;
}

int rlog_write(struct rlog *l, const void *buf, size_t n)
{
	int r;

	if (l->fd < 0)
		return -EBADF;
	/* A single write bigger than the limit is cut to its tail. */
	if (n > l->max) {
		buf = (const char *)buf + (n - l->max);
		n = l->max;
	}
	if (l->size + n > l->max && l->size > 0 && (r = rotate(l)) < 0)
		return r;
	if ((r = write_full(l->fd, buf, n)) < 0)
		return r;
	l->size += n;
	l->dirty = true;
	return 0;
}

int rlog_sync(struct rlog *l)
{
	if (l->fd < 0 || !l->dirty)
		return 0;
	l->dirty = false;
	return fdatasync(l->fd) < 0 ? -errno : 0;
}

void rlog_close(struct rlog *l)
{
	if (l->fd >= 0) {
		fsync(l->fd);
		close(l->fd);
	}
	l->fd = -1;
}
