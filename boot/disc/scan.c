#define LOG_MOD "scan"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/detect.h"
#include "disc/fat.h"
#include "disc/mnt.h"
#include "disc/scan.h"
#include "disk/mbr.h"
#include "log.h"
#include "util.h"

#define FILE_MAX_DEFAULT (1u << 20)

void warn_add(struct warns *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n == SCAN_MAX_WARN) {
		w->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(w->msg[w->n], SCAN_WARN_LEN, fmt, ap);
	va_end(ap);
	/* the same fact reported twice (two entries, two passes) counts once */
	for (unsigned i = 0; i < w->n; i++)
		if (strcmp(w->msg[i], w->msg[w->n]) == 0)
			return;
	w->n++;
}

struct scan *scan_new(const struct scan_opts *opts)
{
	struct scan *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (opts)
		s->opts = *opts;
	if (!s->opts.mnt_dir)
		s->opts.mnt_dir = "/run/polyboot-scan";
	return s;
}

static void part_release(struct sc_part *p)
{
	if (p->fat) {
		fat_close(p->fat);
		p->fat = NULL;
	}
	if (p->mnt_err == 1) {
		if (p->rootfd >= 0)
			close(p->rootfd);
		mnt_umount(p->mnt);
		rmdir(p->mnt);
		p->mnt_err = 0;
	}
}

void scan_free(struct scan *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->ndisks; i++) {
		struct sc_disk *d = s->disks[i];

		for (unsigned j = 0; j < d->nparts; j++)
			part_release(&d->parts[j]);
		if (d->fd >= 0)
			close(d->fd);
		free(d);
	}
	free(s);
}

/* --- disks ------------------------------------------------------------------ */
static int disk_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct sc_disk *d = ctx;

	if (off > d->size || len > d->size - off)
		return -EIO;
	return pread_full(d->fd, buf, len, (off_t)off);
}

static void read_sysfs_str(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)len, f)) {
		size_t n = strlen(out);

		while (n && isspace((unsigned char)out[n - 1]))
			out[--n] = 0;
	}
	fclose(f);
	for (char *c = out; *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
}

int scan_add_disk(struct scan *s, const char *path)
{
	struct sc_disk *d;
	struct stat st;
	const char *base;

	if (s->ndisks == SCAN_MAX_DISKS) {
		warn_add(&s->warn, "%s: more than %d disks; not scanned", path, SCAN_MAX_DISKS);
		return -ENOSPC;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->path, sizeof(d->path), "%s", path);
	base = strrchr(path, '/');
	snprintf(d->name, sizeof(d->name), "%s", base ? base + 1 : path);
	d->sector = 512;
	/* O_RDONLY only: discovery never opens a disk for writing. */
	d->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (d->fd < 0) {
		int r = -errno;

		warn_add(&s->warn, "%s: cannot open: %s", path, strerror(-r));
		free(d);
		return r;
	}
	if (fstat(d->fd, &st) < 0)
		goto bad;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;
		int ss;

		if (ioctl(d->fd, BLKGETSIZE64, &sz) < 0)
			goto bad;
		d->size = sz;
		if (ioctl(d->fd, BLKSSZGET, &ss) == 0 && ss >= 512 && ss <= 4096 && !(ss & (ss - 1)))
			d->sector = (unsigned)ss;
	} else if (S_ISREG(st.st_mode)) {
		d->size = (uint64_t)st.st_size;
		d->image = true;
		snprintf(d->transport, sizeof(d->transport), "image");
	} else {
		errno = ENOTBLK;
		goto bad;
	}
	s->disks[s->ndisks++] = d;
	return 0;
bad:;
	int r = -errno;

	warn_add(&s->warn, "%s: %s", path, strerror(-r));
	close(d->fd);
	free(d);
	return r;
}

static bool skip_block_name(const char *n)
{
	static const char *const skip[] = { "loop", "ram", "zram", "sr", "dm-", "md", "fd", "nbd", "mtdblock" };

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strncmp(n, skip[i], strlen(skip[i])) == 0)
			return true;
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int scan_add_sysfs(struct scan *s, const char *sysroot)
{
	char path[512], link[512], *names[SCAN_MAX_DISKS * 2];
	unsigned n = 0;
	int added = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/sys/block", sysroot);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < ARRAY_SIZE(names)) {
		if (de->d_name[0] == '.' || skip_block_name(de->d_name))
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), cmp_name);
	for (unsigned i = 0; i < n; i++) {
		char val[64];
		struct sc_disk *d;
		ssize_t l;

		snprintf(path, sizeof(path), "%s/sys/block/%s/size", sysroot, names[i]);
		read_sysfs_str(path, val, sizeof(val));
		if (!val[0] || strcmp(val, "0") == 0)	/* empty card reader, ejected medium */
			goto next;
		snprintf(path, sizeof(path), "%s/dev/%s", sysroot, names[i]);
		if (scan_add_disk(s, path) < 0)
			goto next;
		d = s->disks[s->ndisks - 1];
		snprintf(d->name, sizeof(d->name), "%s", names[i]);
		snprintf(path, sizeof(path), "%s/sys/block/%s/device/model", sysroot, names[i]);
		read_sysfs_str(path, d->model, sizeof(d->model));
		snprintf(path, sizeof(path), "%s/sys/block/%s/removable", sysroot, names[i]);
		read_sysfs_str(path, val, sizeof(val));
		d->removable = strcmp(val, "1") == 0;
		snprintf(path, sizeof(path), "%s/sys/block/%s", sysroot, names[i]);
		l = readlink(path, link, sizeof(link) - 1);
		link[l > 0 ? l : 0] = 0;
		if (strncmp(names[i], "nvme", 4) == 0)
			snprintf(d->transport, sizeof(d->transport), "nvme");
		else if (strncmp(names[i], "vd", 2) == 0)
			snprintf(d->transport, sizeof(d->transport), "virtio");
		else if (strstr(link, "/usb"))
			snprintf(d->transport, sizeof(d->transport), "usb");
		else if (strstr(link, "/ata"))
			snprintf(d->transport, sizeof(d->transport), "sata");
		else if (strncmp(names[i], "mmcblk", 6) == 0)
			snprintf(d->transport, sizeof(d->transport), "mmc");
		else
			snprintf(d->transport, sizeof(d->transport), "scsi");
		added++;
next:
		free(names[i]);
	}
	return added;
}

/* --- partitions ---------------------------------------------------------------- */
static const struct {
	const char *guid, *name;
} gpt_types[] = {
	{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp" },
	{ "21686148-6449-6e6f-744e-656564454649", "bios-boot" },
	{ "e3c9e316-0b5c-4db8-817d-f92df00215ae", "msr" },
	{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "basic-data" },
	{ "de94bba4-06d1-4d40-a16a-bfd50179d6ac", "windows-recovery" },
	{ "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", "windows-ldm-meta" },
	{ "af9b60a0-1431-4f62-bc68-3311714a69ad", "windows-ldm-data" },
	{ "0fc63daf-8483-4772-8e79-3d69d8477de4", "linux" },
	{ "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "linux-root-x86-64" },
	{ "933ac7e1-2eb4-4f13-b844-0e14e2aef915", "linux-home" },
	{ "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", "linux-srv" },
	{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "linux-swap" },
	{ "bc13c2ff-59e6-4262-a352-b275fd6f7172", "xbootldr" },
	{ "e6d6d379-f507-44c2-a23c-238f2a3df928", "linux-lvm" },
	{ "a19d880f-05fc-4d3b-a006-743f0f84911e", "linux-raid" },
	{ "ca7d7ccb-63ed-4c53-861c-1742536059cc", "linux-luks" },
	{ "48465300-0000-11aa-aa11-00306543ecac", "apple-hfs" },
	{ "7c3457ef-0000-11aa-aa11-00306543ecac", "apple-apfs" },
	{ "426f6f74-0000-11aa-aa11-00306543ecac", "apple-boot" },
	{ "516e7cb4-6ecf-11d6-8ff8-00022d09712b", "freebsd" },
	{ "6a898cc3-1dd2-11b2-99a6-080020736631", "zfs" },
};

static const struct {
	uint8_t type;
	const char *name;
} mbr_types[] = {
	{ 0x01, "fat12" }, { 0x04, "fat16" }, { 0x06, "fat16" }, { 0x0e, "fat16" },
	{ 0x0b, "fat32" }, { 0x0c, "fat32" }, { 0x07, "ntfs-exfat" }, { 0x17, "hidden-ntfs" },
	{ 0x27, "windows-recovery" }, { 0x05, "extended" }, { 0x0f, "extended" },
	{ 0x85, "extended" }, { 0x82, "linux-swap" }, { 0x83, "linux" }, { 0x8e, "linux-lvm" },
	{ 0xfd, "linux-raid" }, { 0xef, "esp" }, { 0xee, "gpt-protective" },
	{ 0xa5, "freebsd" }, { 0xa6, "openbsd" }, { 0xa9, "netbsd" }, { 0xaf, "apple-hfs" },
};

static void add_gpt_parts(struct sc_disk *d, const struct gpt *g)
{
	d->guid = g->disk_guid;
	for (unsigned i = 0; i < g->nparts && d->nparts < GPT_MAX_PARTS; i++) {
		const struct gpt_part *gp = &g->parts[i];
		struct sc_part *p = &d->parts[d->nparts++];

		p->disk = d;
		p->num = gp->num;
		p->start = gp->first_lba * d->sector;
		p->size = (gp->last_lba - gp->first_lba + 1) * d->sector;
		guid_format(&gp->type, p->type);
		p->type_name = "unknown";
		for (size_t t = 0; t < ARRAY_SIZE(gpt_types); t++)
			if (strcmp(p->type, gpt_types[t].guid) == 0)
				p->type_name = gpt_types[t].name;
		snprintf(p->name, sizeof(p->name), "%s", gp->name);
		guid_format(&gp->uuid, p->partuuid);
		strcpy(p->id, p->partuuid);	/* 40 bytes into 48 */
	}
}

static void add_mbr_parts(struct sc_disk *d, const struct mbr *m)
{
	for (unsigned i = 0; i < m->nparts && d->nparts < GPT_MAX_PARTS; i++) {
		const struct mbr_part *mp = &m->parts[i];
		struct sc_part *p = &d->parts[d->nparts++];

		p->disk = d;
		p->num = mp->num;
		p->start = mp->start_lba * d->sector;
		p->size = mp->sectors * d->sector;
		p->active = mp->active;
		p->extended = mbr_is_extended(mp->type);
		snprintf(p->type, sizeof(p->type), "0x%02x", mp->type);
		p->type_name = "unknown";
		for (size_t t = 0; t < ARRAY_SIZE(mbr_types); t++)
			if (mbr_types[t].type == mp->type)
				p->type_name = mbr_types[t].name;
		snprintf(p->partuuid, sizeof(p->partuuid), "%08x-%02x", m->disk_signature, mp->num);
		strcpy(p->id, p->partuuid);	/* 40 bytes into 48 */
	}
}

static uint32_t fnv1a32(const void *buf, size_t len, uint32_t h)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

/* An MBR disk is known by its signature; without one (0), by its LBA 0 and size. */
static void mbr_id(struct sc_disk *d, uint32_t sig)
{
	if (sig)
		snprintf(d->id, sizeof(d->id), "mbr:%08x", sig);
	else
		snprintf(d->id, sizeof(d->id), "mbr:0-%08x", fnv1a32(d->lba0, 512, fnv1a32(&d->size, 8, 2166136261u)));
}

static void read_table(struct scan *s, struct sc_disk *d)
{
	char why[512];
	struct gpt *g;
	struct mbr m;
	int r;

	r = disk_read(d, 0, d->lba0, sizeof(d->lba0));
	if (r < 0) {
		warn_add(&d->warn, "%s: cannot read LBA 0: %s", d->name, strerror(-r));
		return;
	}
	bootcode_classify(d->lba0, &d->boot);
	r = mbr_read(disk_read, d, d->size, d->sector, &m, why, sizeof(why));
	if (r < 0) {
		snprintf(d->id, sizeof(d->id), "raw:%08x-%llu", fnv1a32(d->lba0, 512, 2166136261u),
			 (unsigned long long)d->size);
		return;		/* no partition table: a superfloppy or an empty disk */
	}
	d->mbr_sig = m.disk_signature;
	if (m.protective) {
		g = malloc(sizeof(*g));
		if (!g)
			return;
		why[0] = 0;
		r = gpt_read(disk_read, d, d->size, d->sector, g, why, sizeof(why));
		if (r == 0) {
			snprintf(d->table, sizeof(d->table), "gpt");
			if (g->used_backup)
				warn_add(&d->warn, "%s: primary GPT is damaged (%s); using the backup GPT at the end of the disk, as firmware does",
					 d->name, why);
			add_gpt_parts(d, g);
			char t[GUID_TEXT_LEN];

			guid_format(&g->disk_guid, t);
			snprintf(d->id, sizeof(d->id), "gpt:%s", t);
		} else {
			warn_add(&d->warn, "%s: protective MBR but no valid GPT: %s", d->name, why);
			mbr_id(d, m.disk_signature);
		}
		free(g);
		return;
	}
	snprintf(d->table, sizeof(d->table), "mbr");
	if (why[0])
		warn_add(&d->warn, "%s: %s", d->name, why);
	add_mbr_parts(d, &m);
	mbr_id(d, m.disk_signature);
}

static void part_dev_name(struct sc_disk *d, struct sc_part *p)
{
	size_t n = strlen(d->path);

	if (d->image)
		return;
	/* nvme0n1 -> nvme0n1p1, mmcblk0 -> mmcblk0p1, vda -> vda1 */
	char disk[SCAN_PATH_MAX];

	memcpy(disk, d->path, sizeof(disk));	/* p is inside d: no overlapping snprintf */
	snprintf(p->dev, sizeof(p->dev), "%s%s%u", disk,
		 n && isdigit((unsigned char)disk[n - 1]) ? "p" : "", p->num);
}

static void probe_parts(struct scan *s, struct sc_disk *d)
{
	for (unsigned i = 0; i < d->nparts; i++) {
		struct sc_part *p = &d->parts[i];
		struct vol v = { disk_read, d, p->start, p->size };
		char why[256];

		p->rootfd = -1;
		part_dev_name(d, p);
		if (p->extended)
			continue;
		if (p->start > d->size || p->size > d->size - p->start) {
			warn_add(&p->warn, "%s partition %u: extends past the end of the disk; not read",
				 d->name, p->num);
			continue;
		}
		fs_probe(&v, &p->fs);
		if (p->fs.type == FS_NTFS || p->fs.type == FS_BITLOCKER) {
			why[0] = 0;
			if (ntfs_probe(&v, &p->ntfs, why, sizeof(why)) == 0)
				p->ntfs_ok = true;
			else if (p->fs.type == FS_NTFS)
				warn_add(&p->warn, "%s partition %u: NTFS not readable: %s", d->name, p->num, why);
			if (p->ntfs_ok && p->ntfs.label[0] && !p->fs.label[0])
				memcpy(p->fs.label, p->ntfs.label, sizeof(p->fs.label));
		}
	}
}

/* --- filesystem access ------------------------------------------------------- */
static int part_fat(struct scan *s, struct sc_part *p)
{
	struct vol v = { disk_read, p->disk, p->start, p->size };
	char why[256];

	if (p->fat)
		return 0;
	if (p->fat_err)
		return p->fat_err;
	why[0] = 0;
	p->fat_err = fat_open(&v, &p->fat, why, sizeof(why));
	if (p->fat_err < 0)
		warn_add(&p->warn, "%s partition %u: FAT not readable: %s", p->disk->name, p->num, why);
	return p->fat_err;
}

static int part_mount(struct scan *s, struct sc_part *p)
{
	char why[256];
	int r;

	if (p->mnt_err)
		return p->mnt_err == 1 ? 0 : p->mnt_err;
	if (s->opts.no_mount)
		return p->mnt_err = -EPERM;
	if (!s->ns) {
		s->ns = mnt_ns_enter(s->opts.mnt_dir);
		if (s->ns == 0)
			s->ns = 1;
		else
			warn_add(&s->warn, "cannot make a private mount namespace at %s (%s): Linux filesystems are not read",
				 s->opts.mnt_dir, strerror(-s->ns));
	}
	if (s->ns != 1)
		return p->mnt_err = s->ns;
	snprintf(p->mnt, sizeof(p->mnt), "%s/%u", s->opts.mnt_dir, s->nmounts++);
	if (mkdir(p->mnt, 0700) < 0 && errno != EEXIST)
		return p->mnt_err = -errno;
	why[0] = 0;
	r = mnt_mount(p->disk->fd, p->start, p->size, p->disk->sector, fs_type_name(p->fs.type),
		      p->mnt_extra[0] ? p->mnt_extra : NULL, p->mnt, why, sizeof(why));
	if (r < 0) {
		/* with options from a kernel command line (subvol=), the OS that
		 * asked for them reports it */
		if (!p->mnt_extra[0])
			warn_add(&p->warn, "%s partition %u (%s): not read: %s", p->disk->name, p->num,
				 fs_type_name(p->fs.type), why);
		rmdir(p->mnt);
		return p->mnt_err = r;
	}
	p->rootfd = mnt_open_root(p->mnt);
	p->mnt_err = 1;
	if (p->rootfd < 0) {
		part_release(p);
		return p->mnt_err = -EIO;
	}
	return 0;
}

/* Remounts @p with @extra options (a btrfs subvolume); a no-op if the same. */
static int part_remount(struct scan *s, struct sc_part *p, const char *extra)
{
	if (strcmp(p->mnt_extra, extra) == 0 && p->mnt_err == 1)
		return 0;
	part_release(p);
	p->mnt_err = 0;
	snprintf(p->mnt_extra, sizeof(p->mnt_extra), "%s", extra);
	return part_mount(s, p);
}

enum access { ACC_NONE, ACC_FAT, ACC_MNT };

static enum access part_access(struct scan *s, struct sc_part *p)
{
	if (p->fs.type == FS_VFAT)
		return part_fat(s, p) == 0 ? ACC_FAT : ACC_NONE;
	switch (p->fs.type) {
	case FS_EXT2:
	case FS_EXT3:
	case FS_EXT4:
	case FS_BTRFS:
	case FS_XFS:
		return part_mount(s, p) == 0 ? ACC_MNT : ACC_NONE;
	default:
		return ACC_NONE;
	}
}

static void slashes(char *dst, size_t len, const char *path)
{
	snprintf(dst, len, "%s", path);
	for (char *c = dst; *c; c++)
		if (*c == '\\')
			*c = '/';
}

int sc_read_file(struct scan *s, struct sc_part *p, const char *path, size_t max, char **data,
		 size_t *len)
{
	char pth[SCAN_PATH_MAX];

	slashes(pth, sizeof(pth), path);
	switch (part_access(s, p)) {
	case ACC_FAT:
		return fat_read_file(p->fat, pth, max, data, len);
	case ACC_MNT:
		return mnt_read_file(p->rootfd, pth, max, data, len);
	default:
		return -ENOTSUP;
	}
}

int sc_stat(struct scan *s, struct sc_part *p, const char *path, uint64_t *size)
{
	char pth[SCAN_PATH_MAX];
	struct fat_stat fst;
	struct stat st;
	int fd, r;

	slashes(pth, sizeof(pth), path);
	switch (part_access(s, p)) {
	case ACC_FAT:
		r = fat_stat(p->fat, pth, &fst);
		if (r < 0)
			return r;
		if (size)
			*size = fst.size;
		return fst.dir ? 2 : 1;
	case ACC_MNT:
		fd = mnt_openat(p->rootfd, pth, 0);
		if (fd < 0)
			return fd;
		r = fstat(fd, &st) < 0 ? -errno : 0;
		close(fd);
		if (r < 0)
			return r;
		if (size)
			*size = (uint64_t)st.st_size;
		return S_ISDIR(st.st_mode) ? 2 : S_ISREG(st.st_mode) ? 1 : -EINVAL;
	default:
		return -ENOTSUP;
	}
}

struct fat_list_ctx {
	sc_list_fn cb;
	void *ctx;
};

static int fat_list_cb(void *ctx, const char *name, const struct fat_stat *st)
{
	struct fat_list_ctx *c = ctx;

	return c->cb(c->ctx, name, st->dir, st->size);
}

#define LIST_MAX 4096	/* entries of one directory looked at */

int sc_list(struct scan *s, struct sc_part *p, const char *path, sc_list_fn cb, void *ctx)
{
	char pth[SCAN_PATH_MAX];
	struct fat_list_ctx fc = { cb, ctx };
	struct dirent *de;
	unsigned n = 0;
	DIR *dir;
	int fd, r = 0;

	slashes(pth, sizeof(pth), path);
	switch (part_access(s, p)) {
	case ACC_FAT:
		return fat_list(p->fat, pth, fat_list_cb, &fc);
	case ACC_MNT:
		fd = mnt_openat(p->rootfd, pth, 1);
		if (fd < 0)
			return fd;
		dir = fdopendir(fd);
		if (!dir) {
			close(fd);
			return -errno;
		}
		while (!r && (de = readdir(dir)) && n++ < LIST_MAX) {
			struct stat st;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			/* lstat: a symlink is neither a file nor a directory here */
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
				r = cb(ctx, de->d_name, S_ISDIR(st.st_mode), (uint64_t)st.st_size);
		}
		closedir(dir);
		return r;
	default:
		return -ENOTSUP;
	}
}

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct sc_fvol *fv = ctx;

	return pread_full(fv->fd, buf, len, (off_t)off);
}

static int fatfile_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct sc_fvol *fv = ctx;
	size_t got = 0;
	int r = fat_read(fv->fat, fv->path, off, buf, len, &got);

	if (r < 0)
		return r;
	return got == len ? 0 : -EIO;
}

int sc_file_vol(struct scan *s, struct sc_part *p, const char *path, struct sc_fvol *fv)
{
	struct fat_stat fst;
	struct stat st;
	int r;

	memset(fv, 0, sizeof(*fv));
	fv->fd = -1;
	slashes(fv->path, sizeof(fv->path), path);
	switch (part_access(s, p)) {
	case ACC_FAT:
		r = fat_stat(p->fat, fv->path, &fst);
		if (r < 0)
			return r;
		if (fst.dir)
			return -EINVAL;
		fv->fat = p->fat;
		fv->v = (struct vol){ fatfile_read, fv, 0, fst.size };
		return 0;
	case ACC_MNT:
		/* one open: the size comes from the descriptor that is read */
		fv->fd = mnt_openat(p->rootfd, fv->path, 0);
		if (fv->fd < 0)
			return fv->fd;
		r = fstat(fv->fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
		if (r < 0) {
			sc_file_vol_put(fv);
			return r;
		}
		fv->v = (struct vol){ fd_read, fv, 0, (uint64_t)st.st_size };
		return 0;
	default:
		return -ENOTSUP;
	}
}

void sc_file_vol_put(struct sc_fvol *fv)
{
	if (fv->fd >= 0)
		close(fv->fd);
	fv->fd = -1;
}

/* --- finding partitions ------------------------------------------------------- */
#define FOR_EACH_PART(s, p)                                                          \
	for (unsigned di_ = 0; di_ < (s)->ndisks; di_++)                             \
		for (struct sc_part *p = (s)->disks[di_]->parts;                     \
		     p < (s)->disks[di_]->parts + (s)->disks[di_]->nparts; p++)

struct sc_part *scan_find_fs_uuid(struct scan *s, const char *uuid)
{
	FOR_EACH_PART(s, p)
		if (p->fs.uuid[0] && strcasecmp(p->fs.uuid, uuid) == 0)
			return p;
	return NULL;
}

struct sc_part *scan_find_fs_label(struct scan *s, const char *label)
{
	FOR_EACH_PART(s, p)
		if (p->fs.label[0] && strcmp(p->fs.label, label) == 0)
			return p;
	return NULL;
}

struct sc_part *scan_find_partuuid(struct scan *s, const char *partuuid)
{
	FOR_EACH_PART(s, p)
		if (strcasecmp(p->partuuid, partuuid) == 0)
			return p;
	return NULL;
}

struct sc_part *scan_find_part_guid(struct scan *s, const struct guid *g)
{
	char t[GUID_TEXT_LEN];

	guid_format(g, t);
	return scan_find_partuuid(s, t);
}

static struct sc_part *find_partlabel(struct scan *s, const char *name)
{
	FOR_EACH_PART(s, p)
		if (p->name[0] && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct sc_part *scan_resolve_spec(struct scan *s, const char *spec)
{
	static const struct {
		const char *prefix;
		int kind;
	} forms[] = {
		{ "UUID=", 0 }, { "/dev/disk/by-uuid/", 0 },
		{ "PARTUUID=", 1 }, { "/dev/disk/by-partuuid/", 1 },
		{ "LABEL=", 2 }, { "/dev/disk/by-label/", 2 },
		{ "PARTLABEL=", 3 }, { "/dev/disk/by-partlabel/", 3 },
	};
	char v[128];

	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		size_t n = strlen(forms[i].prefix);

		if (strncmp(spec, forms[i].prefix, n) != 0)
			continue;
		snprintf(v, sizeof(v), "%s", spec + n);
		/* fstab and udev quote or escape: "UUID=\"x\"" and \x20 are rare; strip quotes */
		if (v[0] == '"' && strlen(v) > 1 && v[strlen(v) - 1] == '"') {
			memmove(v, v + 1, strlen(v));
			v[strlen(v) - 1] = 0;
		}
		switch (forms[i].kind) {
		case 0: return scan_find_fs_uuid(s, v);
		case 1: return scan_find_partuuid(s, v);
		case 2: return scan_find_fs_label(s, v);
		default: return find_partlabel(s, v);
		}
	}
	FOR_EACH_PART(s, p)
		if (p->dev[0] && strcmp(p->dev, spec) == 0)
			return p;
	return NULL;
}

/* --- OSes ---------------------------------------------------------------------- */
struct sc_os *scan_new_os(struct scan *s, const char *kind, const char *anchor, const char *path)
{
	struct sc_os *os;
	uint32_t h = 2166136261u;
	char low[SCAN_PATH_MAX];

	if (s->noses == SCAN_MAX_OSES) {
		s->oses_dropped++;
		return NULL;
	}
	os = &s->oses[s->noses++];
	memset(os, 0, sizeof(*os));
	snprintf(os->kind, sizeof(os->kind), "%s", kind);
	snprintf(os->firmware, sizeof(os->firmware), "%s", strncmp(kind, "bios-", 5) == 0 ? "bios" : "uefi");
	os->bootnum = -1;
	os->kexec = -1;
	/* the id must not change with case or slash spelling of the same path */
	slashes(low, sizeof(low), path ? path : "");
	for (char *c = low; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	h = fnv1a32(kind, strlen(kind), h);
	h = fnv1a32("|", 1, h);
	h = fnv1a32(anchor, strlen(anchor), h);
	h = fnv1a32("|", 1, h);
	h = fnv1a32(low, strlen(low), h);
	snprintf(os->id, sizeof(os->id), "%s-%08x", kind, h);
	return os;
}

void scan_need(struct sc_os *os, struct sc_disk *d, struct sc_part *p, const char *role,
	       const char *detail)
{
	struct sc_need *n;

	if (p)
		d = p->disk;
	for (unsigned i = 0; i < os->nneeds; i++)
		if (os->needs[i].part == p && os->needs[i].disk == d)
			return;		/* the first role given stays */
	if (os->nneeds == SCAN_MAX_NEEDS) {
		warn_add(&os->warn, "more than %d partitions needed; the rest not listed", SCAN_MAX_NEEDS);
		return;
	}
	n = &os->needs[os->nneeds++];
	n->disk = d;
	n->part = p;
	snprintf(n->role, sizeof(n->role), "%s", role);
	snprintf(n->detail, sizeof(n->detail), "%s", detail ? detail : "");
}

/* Unmounts everything: the scan is over, nothing stays mounted. */
static void release_all(struct scan *s)
{
	for (unsigned i = 0; i < s->ndisks; i++)
		for (unsigned j = 0; j < s->disks[i]->nparts; j++)
			part_release(&s->disks[i]->parts[j]);
	if (s->ns == 1) {
		mnt_umount(s->opts.mnt_dir);
		rmdir(s->opts.mnt_dir);
	}
}

/*
 * Cloned disks and partitions (dd, a restored image) carry the same GUIDs
 * and filesystem UUIDs: the later disk's id gets a suffix so that ids stay
 * unique, and every duplicate is a warning, because UUID= and PARTUUID=
 * in a config then name whichever the firmware found first.
 */
static void check_clones(struct scan *s)
{
	for (unsigned i = 0; i < s->ndisks; i++)
		for (unsigned j = 0; j < i; j++) {
			struct sc_disk *a = s->disks[j], *b = s->disks[i];
			char id[48];

			if (strcmp(a->id, b->id) != 0)
				continue;
			warn_add(&s->warn, "%s and %s have the same identity %s (a cloned disk?): UUID= and PARTUUID= in configs may name either",
				 a->name, b->name, a->id);
			snprintf(id, sizeof(id), "%.40s#%u", b->id, i & 0xff);
			memcpy(b->id, id, sizeof(b->id));
			for (unsigned k = 0; k < b->nparts; k++) {
				snprintf(id, sizeof(id), "%.40s#%u", b->parts[k].id, i & 0xff);
				memcpy(b->parts[k].id, id, sizeof(b->parts[k].id));
			}
		}
	FOR_EACH_PART(s, p) {
		if (!p->fs.uuid[0] || p->fs.type == FS_UNKNOWN)
			continue;
		struct sc_part *first = scan_find_fs_uuid(s, p->fs.uuid);

		if (first != p)
			warn_add(&s->warn, "%s partition %u and %s partition %u have the same filesystem UUID %s: UUID= names the first",
				 first->disk->name, first->num, p->disk->name, p->num, p->fs.uuid);
	}
}

int scan_run(struct scan *s)
{
	const char *evdir = s->opts.efivars ? s->opts.efivars : EFIVARS_DEFAULT_DIR;
	int r;

	for (unsigned i = 0; i < s->ndisks; i++) {
		read_table(s, s->disks[i]);
		probe_parts(s, s->disks[i]);
	}
	check_clones(s);
	if (*evdir) {
		r = efivars_load(evdir, &s->ev);
		if (r < 0)
			warn_add(&s->warn, "%s: boot variables not readable: %s", evdir, strerror(-r));
	}
	r = detect_all(s);
	release_all(s);
	return r;
}

int scan_remount_subvol(struct scan *s, struct sc_part *p, const char *subvol)
{
	char extra[64] = "";

	if (subvol)
		snprintf(extra, sizeof(extra), "subvol=%s", subvol);
	return part_remount(s, p, extra);
}
