#define LOG_MOD "mnt"
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "disc/mnt.h"
#include "util.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int mnt_ns_enter(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* Nothing mounted from now on propagates back to the parent namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	/* A tmpfs of our own under the mount points keeps them off the host. */
	if (mount("polyboot-scan", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=1m") < 0)
		return -errno;
	return 0;
}

static const struct {
	const char *fstype, *kernel_fs, *opts;
} fs_opts[] = {
	{ "ext2", "ext4", "noload" },
	{ "ext3", "ext4", "noload" },
	{ "ext4", "ext4", "noload" },
	{ "btrfs", "btrfs", "rescue=nologreplay" },
	{ "xfs", "xfs", "norecovery,nouuid" },	/* nouuid: a cloned disk next to its original */
	{ "ntfs", "ntfs3", "" },
	{ "vfat", "vfat", "" },
	{ "iso9660", "iso9660", "" },
};

const char *mnt_options(const char *fstype, const char **kernel_fs)
{
	for (size_t i = 0; i < ARRAY_SIZE(fs_opts); i++)
		if (strcmp(fs_opts[i].fstype, fstype) == 0) {
			if (kernel_fs)
				*kernel_fs = fs_opts[i].kernel_fs;
			return fs_opts[i].opts;
		}
	return NULL;
}

/* A read-only loop device over [offset, offset + size) of @disk_fd; returns its open fd. */
static int loop_attach(int disk_fd, uint64_t offset, uint64_t size, unsigned sector_size,
		       char *name, size_t namelen)
{
	int ctl, n, fd, r;
	struct loop_config cfg;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	for (int tries = 0; tries < 16; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			close(ctl);
			return r;
		}
		snprintf(name, namelen, "/dev/loop%d", n);
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			close(ctl);
			return r;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)disk_fd;
		cfg.block_size = sector_size;
		cfg.info.lo_offset = offset;
		cfg.info.lo_sizelimit = size;
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			close(ctl);
			return fd;
		}
		r = -errno;
		close(fd);
		if (r != -EBUSY)	/* EBUSY: someone took it first; ask again */
			break;
	}
	close(ctl);
	return r;
}

int mnt_mount(int disk_fd, uint64_t offset, uint64_t size, unsigned sector_size,
	      const char *fstype, const char *extra, const char *target, char *why, size_t whylen)
{
	const char *kfs, *opts = mnt_options(fstype, &kfs);
	char loop[32], data[256];
	int lfd, r;

	if (!opts) {
		snprintf(why, whylen, "discovery does not mount %s", fstype);
		return -ENOTSUP;
	}
	lfd = loop_attach(disk_fd, offset, size, sector_size, loop, sizeof(loop));
	if (lfd < 0) {
		snprintf(why, whylen, "read-only loop device: %s", strerror(-lfd));
		return lfd;
	}
	snprintf(data, sizeof(data), "%s%s%s", opts, extra && *extra && *opts ? "," : "", extra ? extra : "");
	r = mount(loop, target, kfs, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
	if (r < 0) {
		r = -errno;
		snprintf(why, whylen, "mount -t %s -o ro,%s: %s", kfs, data, strerror(-r));
	}
	/* With AUTOCLEAR the loop device goes when the last user (the mount, or this fd) does. */
	close(lfd);
	return r;
}

int mnt_umount(const char *target)
{
	if (umount2(target, 0) == 0)
		return 0;
	if (errno == EBUSY && umount2(target, MNT_DETACH) == 0)
		return 0;
	return -errno;
}

int mnt_open_root(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int mnt_openat(int rootfd, const char *path, int dir)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (dir ? O_DIRECTORY : 0);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int mnt_read_file(int rootfd, const char *path, size_t max, char **data, size_t *len)
{
	struct stat st;
	char *buf;
	int fd, r;

	fd = mnt_openat(rootfd, path, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = pread_full(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[st.st_size] = 0;
	*data = buf;
	*len = (size_t)st.st_size;
	return 0;
}
