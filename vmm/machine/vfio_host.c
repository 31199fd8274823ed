/*
 * VFIO on the host: container, groups, device file, regions, interrupts.
 * Reference: Linux 6.12 Documentation/driver-api/vfio.rst and
 * include/uapi/linux/vfio.h (the legacy container/group interface, which
 * every kernel with CONFIG_VFIO_CONTAINER has; iommufd is not used).
 *
 * Sequence: open /dev/vfio/vfio, check the API version and type1; per
 * device check sysfs (bound to vfio-pci, IOMMU group), open
 * /dev/vfio/<group> (once per group), check it is viable, attach it to the
 * container (the first one sets the IOMMU type), get the device fd, its
 * info, regions (mmap'ed where VFIO allows) and interrupts; then map guest
 * RAM for DMA. Teardown in reverse.
 *
 * Not implemented: iommufd (/dev/iommu), VFIO_DEVICE_PCI_HOT_RESET for
 * devices without a function reset, the VGA region, IGD OpRegion and
 * other device-specific regions.
 */
#define LOG_MOD "vfio"
#include "machine/vfio_host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* The last path component of the symlink @path, into @out; -errno if none. */
static int link_name(const char *path, char *out, size_t len)
{
	char buf[512];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	const char *b;

	if (n < 0)
		return -errno;
	buf[n] = 0;
	b = strrchr(buf, '/');
	if (snprintf(out, len, "%s", b ? b + 1 : buf) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int vfio_parse_bdf(const char *s, char out[16])
{
	unsigned f[4], nf = 0, dom, bus, dev, fn;
	char sep[4];
	const char *p = s;

	/* [domain:]bus:device.function, hex. */
	for (;;) {
		unsigned x = 0, digits = 0;
		while (hex_digit(*p) >= 0 && digits < 5) {
			x = x * 16 + (unsigned)hex_digit(*p++);
			digits++;
		}
		if (!digits || nf == 4)
			return -EINVAL;
		f[nf] = x;
		sep[nf++] = *p;
		if (*p != ':' && *p != '.')
			break;
		p++;
	}
	if (*p)
		return -EINVAL;
	if (nf == 3 && sep[0] == ':' && sep[1] == '.') {
		dom = 0, bus = f[0], dev = f[1], fn = f[2];
	} else if (nf == 4 && sep[0] == ':' && sep[1] == ':' && sep[2] == '.') {
		dom = f[0], bus = f[1], dev = f[2], fn = f[3];
	} else {
		return -EINVAL;
	}
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, 16, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* --- sysfs ------------------------------------------------------------------ */

int vfio_host_check_sysfs(const char *sysfs, const char *bdf, int *group, char *why, size_t len)
{
	char dir[256], path[320], name[64];
	struct stat st;
	int r;

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs, bdf);
	if (stat(dir, &st) < 0) {
		r = -errno;
		snprintf(why, len, "no such PCI function (%s: %s)", dir, strerror(errno));
		return r;
	}
	snprintf(path, sizeof(path), "%s/driver", dir);
	if ((r = link_name(path, name, sizeof(name))) < 0) {
		snprintf(why, len, "not bound to any driver (%s missing): bind it to vfio-pci first "
			 "(polyboot does this)", path);
		return -ENODEV;
	}
	if (strcmp(name, "vfio-pci")) {
		snprintf(why, len, "not bound to vfio-pci (driver %s): bind it first (polyboot does this)",
			 name);
		return -EBUSY;
	}
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	if ((r = link_name(path, name, sizeof(name))) < 0) {
		snprintf(why, len, "no IOMMU group (%s missing): the IOMMU is off or does not cover "
			 "the device (intel_iommu=on or amd_iommu=on, VT-d/AMD-Vi enabled in the "
			 "firmware setup)", path);
		return -ENODEV;
	}
	*group = atoi(name);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vfio_host_group_members(const char *sysfs, int group, char *buf, size_t len)
{
	char dir[256], path[512], drv[64];
	char *names[64];
	unsigned n = 0;
	size_t used = 0;
	struct dirent *e;
	DIR *d;

	buf[0] = 0;
	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%d/devices", sysfs, group);
	d = opendir(dir);
	if (!d) {
		snprintf(buf, len, "%s unreadable: %s", dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) && n < ARRAY_SIZE(names)) {
		if (e->d_name[0] == '.')
			continue;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/driver", dir, names[i]);
		if (link_name(path, drv, sizeof(drv)) < 0)
			snprintf(drv, sizeof(drv), "no driver");
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s (%s)", i ? ", " : "",
						 names[i], drv);
		free(names[i]);
	}
	if (!n)
		snprintf(buf, len, "none listed in %s", dir);
}

static void read_reset_method(struct vfio_host_dev *h)
{
	char path[320], buf[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/reset_method", h->c->sysfs, h->bdf);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	/* "flr bus": the kernel tries them in this order; the first one is
	 * what a reset normally uses. */
	buf[strcspn(buf, " \n")] = 0;
	if (snprintf(h->reset_method, sizeof(h->reset_method), "%s", buf) >= (int)sizeof(h->reset_method))
		h->reset_method[0] = 0;
}

/* --- container and groups ----------------------------------------------------- */

int vfio_container_open(struct vfio_container *c, const char *sysfs, const char *devdir)
{
	char path[256];
	int r;

	memset(c, 0, sizeof(*c));
	c->sysfs = sysfs ? sysfs : "/sys";
	c->devdir = devdir ? devdir : "/dev/vfio";
	snprintf(path, sizeof(path), "%s/vfio", c->devdir);
	c->fd = open(path, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		r = -errno;
		log_err("cannot open %s: %s (is the kernel built with VFIO, and are we root?)", path,
			strerror(errno));
		return r;
	}
	r = ioctl(c->fd, VFIO_GET_API_VERSION);
	if (r != VFIO_API_VERSION) {
		log_err("%s: VFIO API version %d, want %d", path, r, VFIO_API_VERSION);
		goto err;
	}
	if (ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0) {
		c->iommu_type = VFIO_TYPE1v2_IOMMU;
	} else if (ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0) {
		c->iommu_type = VFIO_TYPE1_IOMMU;
	} else {
		log_err("%s: no type1 IOMMU backend (CONFIG_VFIO_IOMMU_TYPE1)", path);
		goto err;
	}
	return 0;
err:
	close(c->fd);
	c->fd = -1;
	return -ENOTSUP;
}

/* The group's fd, opened and attached on first use. */
static int group_get(struct vfio_container *c, const char *bdf, int id)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[256], members[1024];
	int fd, r;

	for (unsigned i = 0; i < c->ngroups; i++)
		if (c->group[i].id == id)
			return c->group[i].fd;
	if (c->ngroups == VFIO_HOST_MAX_GROUPS) {
		log_err("%s: more than %d IOMMU groups", bdf, VFIO_HOST_MAX_GROUPS);
		return -ENOSPC;
	}
	snprintf(path, sizeof(path), "%s/%d", c->devdir, id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (errno == EBUSY)
			log_err("%s: %s is busy: another process (another VM?) has IOMMU group %d open",
				bdf, path, id);
		else if (errno == ENOENT)
			log_err("%s: %s missing: IOMMU group %d has no VFIO group device (is vfio-pci "
				"bound, and devtmpfs mounted?)", bdf, path, id);
		else
			log_err("%s: cannot open %s: %s", bdf, path, strerror(errno));
		return r;
	}
	if ((r = xioctl(fd, VFIO_GROUP_GET_STATUS, &st)) < 0) {
		log_err("%s: VFIO_GROUP_GET_STATUS on %s: %s", bdf, path, strerror(-r));
		goto err;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		vfio_host_group_members(c->sysfs, id, members, sizeof(members));
		log_err("%s: group %d is not viable: every device in IOMMU group %d must be bound to "
			"vfio-pci (members: %s)", bdf, id, id, members);
		r = -EBUSY;
		goto err;
	}
	if ((r = xioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) < 0) {
		log_err("%s: VFIO_GROUP_SET_CONTAINER for %s: %s", bdf, path, strerror(-r));
		goto err;
	}
	if (!c->iommu_set) {
		if ((r = xioctl(c->fd, VFIO_SET_IOMMU, (void *)(uintptr_t)c->iommu_type)) < 0) {
			log_err("%s: VFIO_SET_IOMMU (%s): %s", bdf,
				c->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1", strerror(-r));
			goto err;
		}
		c->iommu_set = true;
		log_info("container: %s IOMMU", c->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1");
	}
	c->group[c->ngroups].id = id;
	c->group[c->ngroups].fd = fd;
	c->ngroups++;
	log_info("%s: IOMMU group %d (%s) attached", bdf, id, path);
	return fd;
err:
	close(fd);
	return r;
}

/* The IOVA ranges the IOMMU accepts (reserved ranges such as the MSI
 * window or an RMRR are holes between them), for a failed DMA map. */
static void log_iova_ranges(struct vfio_container *c)
{
	struct vfio_iommu_type1_info *info = calloc(1, 4096);
	uint32_t off;

	if (!info)
		return;
	info->argsz = 4096;
	if (xioctl(c->fd, VFIO_IOMMU_GET_INFO, info) < 0 || !(info->flags & VFIO_IOMMU_INFO_CAPS)) {
		free(info);
		return;
	}
	for (off = info->cap_offset; off >= sizeof(*info) && off + 16 <= MIN(info->argsz, 4096u);) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			const struct vfio_iommu_type1_info_cap_iova_range *r = (const void *)h;
			for (uint32_t i = 0; i < r->nr_iovas && off + 16 + 16 * (i + 1) <= 4096; i++)
				log_err("  usable IOVA range %u: %#llx-%#llx", i,
					(unsigned long long)r->iova_ranges[i].start,
					(unsigned long long)r->iova_ranges[i].end);
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	free(info);
}

int vfio_container_map_dma(struct vfio_container *c, uint64_t iova, uint64_t size, void *hva)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)hva,
		.iova = iova,
		.size = size,
	};
	int r;

	if (c->fd < 0 || !c->iommu_set || c->ndma == VFIO_HOST_MAX_DMA)
		return -EINVAL;
	r = xioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m);
	if (r < 0) {
		log_err("DMA map of guest RAM %#llx-%#llx: %s%s", (unsigned long long)iova,
			(unsigned long long)(iova + size - 1), strerror(-r),
			r == -ENOMEM ? " (pinning it failed: RLIMIT_MEMLOCK, or host memory)" :
			r == -EINVAL || r == -EPERM ? " (outside the IOMMU's usable IOVA ranges?)" : "");
		log_iova_ranges(c);
		return r;
	}
	c->dma[c->ndma].iova = iova;
	c->dma[c->ndma].size = size;
	c->ndma++;
	log_info("DMA: guest RAM %#llx-%#llx mapped (%llu MiB pinned)", (unsigned long long)iova,
		 (unsigned long long)(iova + size - 1), (unsigned long long)(size >> 20));
	return 0;
}

void vfio_container_close(struct vfio_container *c)
{
	for (unsigned i = 0; i < c->ndma; i++) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = c->dma[i].iova, .size = c->dma[i].size,
		};
		int r = xioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u);
		if (r < 0)
			log_warn("DMA unmap of %#llx+%#llx: %s", (unsigned long long)u.iova,
				 (unsigned long long)u.size, strerror(-r));
	}
	c->ndma = 0;
	for (unsigned i = 0; i < c->ngroups; i++)
		close(c->group[i].fd);
	c->ngroups = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* --- device ------------------------------------------------------------------- */

static const char *region_name(unsigned idx)
{
	static const char *const n[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM" };
	return idx < ARRAY_SIZE(n) ? n[idx] : "config";
}

/* VFIO_DEVICE_GET_REGION_INFO with its capability chain, into a malloc'd
 * buffer (*out). */
static int region_info(struct vfio_host_dev *h, unsigned idx, struct vfio_region_info **out)
{
	struct vfio_region_info *ri = calloc(1, sizeof(*ri));
	int r;

	if (!ri)
		return -ENOMEM;
	ri->argsz = sizeof(*ri);
	ri->index = idx;
	if ((r = xioctl(h->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) < 0)
		goto err;
	if (ri->argsz > sizeof(*ri)) {
		uint32_t sz = ri->argsz;
		struct vfio_region_info *big = realloc(ri, sz);
		if (!big) {
			r = -ENOMEM;
			goto err;
		}
		ri = big;
		memset(ri, 0, sz);
		ri->argsz = sz;
		ri->index = idx;
		if ((r = xioctl(h->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) < 0)
			goto err;
	}
	*out = ri;
	return 0;
err:
	free(ri);
	return r;
}

static const struct vfio_info_cap_header *find_cap(const struct vfio_region_info *ri, uint16_t id)
{
	uint32_t off = (ri->flags & VFIO_REGION_INFO_FLAG_CAPS) ? ri->cap_offset : 0;

	for (int guard = 0; off >= sizeof(*ri) && off + sizeof(struct vfio_info_cap_header) <= ri->argsz &&
			    guard < 32; guard++) {
		const struct vfio_info_cap_header *c = (const void *)((const char *)ri + off);
		if (c->id == id)
			return c;
		off = c->next;
	}
	return NULL;
}

/* Reads region @idx and mmaps what may be mapped. */
static int region_setup(struct vfio_host_dev *h, unsigned idx)
{
	struct vfio_region_info *ri;
	const struct vfio_info_cap_header *cap;
	struct vfio_pci_region *pr = &h->region[idx];
	struct vfio_region_sparse_mmap_area whole, *areas = &whole;
	unsigned nareas = 1, mapped = 0;
	int r, prot = 0;
	bool sparse = false;

	if ((r = region_info(h, idx, &ri)) < 0) {
		log_err("%s: VFIO_DEVICE_GET_REGION_INFO %s: %s", h->bdf, region_name(idx), strerror(-r));
		return r;
	}
	h->reg[idx] = (struct vfio_host_region){ ri->offset, ri->size, ri->flags };
	pr->size = ri->size;
	pr->read = ri->flags & VFIO_REGION_INFO_FLAG_READ;
	pr->write = ri->flags & VFIO_REGION_INFO_FLAG_WRITE;
	if (!ri->size || !(ri->flags & VFIO_REGION_INFO_FLAG_MMAP) || idx == VFIO_PCI_ROM)
		goto out;
	/* Sparse areas (older kernels leave out the MSI-X table that way);
	 * the model keeps the table page trapped either way. */
	cap = find_cap(ri, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	if (cap) {
		const struct vfio_region_info_cap_sparse_mmap *sp = (const void *)cap;
		if ((const char *)&sp->areas[sp->nr_areas] <= (const char *)ri + ri->argsz) {
			areas = (struct vfio_region_sparse_mmap_area *)sp->areas;
			nareas = sp->nr_areas;
			sparse = true;
		}
	} else {
		whole = (struct vfio_region_sparse_mmap_area){ 0, ri->size };
	}
	prot = (pr->read ? PROT_READ : 0) | (pr->write ? PROT_WRITE : 0);
	for (unsigned a = 0; a < nareas && pr->nareas < VFIO_PCI_MAX_AREAS; a++) {
		void *p;

		if (!areas[a].size)
			continue;
		p = mmap(NULL, areas[a].size, prot, MAP_SHARED, h->fd, (off_t)(ri->offset + areas[a].offset));
		if (p == MAP_FAILED) {
			log_warn("%s: %s: mmap of +%#llx (%#llx bytes) failed: %s; those accesses trap (slow)",
				 h->bdf, region_name(idx), (unsigned long long)areas[a].offset,
				 (unsigned long long)areas[a].size, strerror(errno));
			continue;
		}
		pr->area[pr->nareas++] = (struct vfio_pci_area){ areas[a].offset, areas[a].size, p };
		mapped++;
	}
out:
	if (ri->size)
		log_info("%s: %s region: %#llx bytes at file offset %#llx,%s%s%s %u of %u area%s mapped%s",
			 h->bdf, region_name(idx), (unsigned long long)ri->size,
			 (unsigned long long)ri->offset, pr->read ? " read" : "", pr->write ? " write" : "",
			 (ri->flags & VFIO_REGION_INFO_FLAG_MMAP) ? " mmap," : "", mapped,
			 (ri->flags & VFIO_REGION_INFO_FLAG_MMAP) && idx != VFIO_PCI_ROM ? nareas : 0,
			 nareas == 1 ? "" : "s", sparse ? " (sparse)" : "");
	free(ri);
	return 0;
}

int vfio_host_dev_open(struct vfio_host_dev *h, struct vfio_container *c, const char *bdf)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info *ri;
	char why[512];
	int gfd, r;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->c = c;
	snprintf(h->bdf, sizeof(h->bdf), "%s", bdf);
	if ((r = vfio_host_check_sysfs(c->sysfs, h->bdf, &h->group, why, sizeof(why))) < 0) {
		log_err("%s: %s", h->bdf, why);
		return r;
	}
	read_reset_method(h);
	gfd = group_get(c, h->bdf, h->group);
	if (gfd < 0)
		return gfd;
	h->fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, h->bdf);
	if (h->fd < 0) {
		r = -errno;
		log_err("%s: VFIO_GROUP_GET_DEVICE_FD (group %d): %s%s", h->bdf, h->group, strerror(errno),
			errno == EBUSY ? " (the device is open elsewhere)" : "");
		h->fd = -1;
		return r;
	}
	if ((r = xioctl(h->fd, VFIO_DEVICE_GET_INFO, &di)) < 0) {
		log_err("%s: VFIO_DEVICE_GET_INFO: %s", h->bdf, strerror(-r));
		goto err;
	}
	h->flags = di.flags;
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
	    di.num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX) {
		log_err("%s: not a VFIO PCI device (flags %#x, %u regions, %u irqs)", h->bdf, di.flags,
			di.num_regions, di.num_irqs);
		r = -ENOTSUP;
		goto err;
	}
	for (unsigned i = 0; i < VFIO_PCI_NREGIONS; i++)
		if ((r = region_setup(h, i)) < 0)
			goto err;
	if ((r = region_info(h, VFIO_PCI_CONFIG_REGION_INDEX, &ri)) < 0) {
		log_err("%s: config region: %s", h->bdf, strerror(-r));
		goto err;
	}
	h->cfg = (struct vfio_host_region){ ri->offset, ri->size, ri->flags };
	free(ri);
	for (unsigned i = 0; i < 3; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = i };
		if ((r = xioctl(h->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii)) < 0) {
			log_err("%s: VFIO_DEVICE_GET_IRQ_INFO %u: %s", h->bdf, i, strerror(-r));
			goto err;
		}
		h->irq[i].count = ii.count;
		h->irq[i].resizable = !(ii.flags & VFIO_IRQ_INFO_NORESIZE);
	}
	if (!(h->flags & VFIO_DEVICE_FLAGS_RESET))
		log_warn("%s: no reset method (VFIO_DEVICE_GET_INFO has no RESET flag): the device keeps "
			 "its state across VM resets", h->bdf);
	log_info("%s: opened: config %llu bytes, INTx %u, MSI %u, MSI-X %u%s, reset %s", h->bdf,
		 (unsigned long long)h->cfg.size, h->irq[0].count, h->irq[1].count, h->irq[2].count,
		 h->irq[2].count && h->irq[2].resizable ? " (dynamic)" : "",
		 !(h->flags & VFIO_DEVICE_FLAGS_RESET) ? "none" :
		 h->reset_method[0] ? h->reset_method : "VFIO_DEVICE_RESET");
	return 0;
err:
	vfio_host_dev_close(h);
	return r;
}

void vfio_host_dev_close(struct vfio_host_dev *h)
{
	for (unsigned i = 0; i < VFIO_PCI_NREGIONS; i++) {
		for (unsigned a = 0; a < h->region[i].nareas; a++)
			munmap(h->region[i].area[a].hva, h->region[i].area[a].size);
		h->region[i].nareas = 0;
	}
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* --- the model's ops ------------------------------------------------------------- */

static int h_cfg_read(void *ctx, unsigned off, void *buf, unsigned len)
{
	struct vfio_host_dev *h = ctx;
	if (off + len > h->cfg.size)
		return -EINVAL;
	return pread_full(h->fd, buf, len, (off_t)(h->cfg.offset + off));
}

static int h_cfg_write(void *ctx, unsigned off, const void *buf, unsigned len)
{
	struct vfio_host_dev *h = ctx;
	if (off + len > h->cfg.size)
		return -EINVAL;
	return pwrite_full(h->fd, buf, len, (off_t)(h->cfg.offset + off));
}

static int h_cfg_size(void *ctx)
{
	struct vfio_host_dev *h = ctx;
	return (int)MIN(h->cfg.size, 4096);
}

static int h_region_info(void *ctx, unsigned idx, struct vfio_pci_region *out)
{
	struct vfio_host_dev *h = ctx;
	if (idx >= VFIO_PCI_NREGIONS)
		return -EINVAL;
	*out = h->region[idx];
	return 0;
}

static int h_region_read(void *ctx, unsigned idx, uint64_t off, void *buf, size_t len)
{
	struct vfio_host_dev *h = ctx;
	if (idx >= VFIO_PCI_NREGIONS || off + len > h->reg[idx].size || off + len < off)
		return -EINVAL;
	return pread_full(h->fd, buf, len, (off_t)(h->reg[idx].offset + off));
}

static int h_region_write(void *ctx, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	struct vfio_host_dev *h = ctx;
	if (idx >= VFIO_PCI_NREGIONS || off + len > h->reg[idx].size || off + len < off)
		return -EINVAL;
	return pwrite_full(h->fd, buf, len, (off_t)(h->reg[idx].offset + off));
}

static int h_irq_info(void *ctx, enum vfio_pci_irq irq, struct vfio_pci_irq_info *out)
{
	struct vfio_host_dev *h = ctx;
	if ((unsigned)irq >= 3)
		return -EINVAL;
	*out = h->irq[irq];
	return 0;
}

static int h_set_irqs(void *ctx, enum vfio_pci_irq irq, enum vfio_pci_irq_action act,
		      unsigned start, unsigned count, const int *fds)
{
	struct vfio_host_dev *h = ctx;
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, sz);
	int r;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->index = (uint32_t)irq;
	s->start = start;
	s->count = count;
	s->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		   (act == VFIO_PCI_ACT_UNMASK ? VFIO_IRQ_SET_ACTION_UNMASK : VFIO_IRQ_SET_ACTION_TRIGGER);
	for (unsigned i = 0; i < count; i++) {
		int32_t fd = fds[i];
		memcpy(s->data + i * sizeof(fd), &fd, sizeof(fd));
	}
	r = xioctl(h->fd, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	log_debug("%s: SET_IRQS index %d %s start %u count %u: %s", h->bdf, irq,
		  act == VFIO_PCI_ACT_UNMASK ? "unmask" : "trigger", start, count,
		  r < 0 ? strerror(-r) : "ok");
	return r < 0 ? r : 0;
}

static int h_reset(void *ctx)
{
	struct vfio_host_dev *h = ctx;
	int r;

	if (!(h->flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	r = xioctl(h->fd, VFIO_DEVICE_RESET, NULL);
	return r < 0 ? r : 0;
}

static const char *h_reset_method(void *ctx)
{
	struct vfio_host_dev *h = ctx;
	if (!(h->flags & VFIO_DEVICE_FLAGS_RESET))
		return "none";
	return h->reset_method[0] ? h->reset_method : "VFIO_DEVICE_RESET";
}

struct vfio_dev_ops vfio_host_dev_ops(struct vfio_host_dev *h)
{
	return (struct vfio_dev_ops){
		.cfg_read = h_cfg_read,
		.cfg_write = h_cfg_write,
		.cfg_size = h_cfg_size,
		.region_info = h_region_info,
		.region_read = h_region_read,
		.region_write = h_region_write,
		.irq_info = h_irq_info,
		.set_irqs = h_set_irqs,
		.reset = h_reset,
		.reset_method = h_reset_method,
		.ctx = h,
	};
}

static int e_create(void *ctx)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static void e_close(void *ctx, int fd)
{
	close(fd);
}

static bool e_pending(void *ctx, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

struct vfio_efd_ops vfio_host_efd_ops(void)
{
	return (struct vfio_efd_ops){ e_create, e_close, e_pending, NULL };
}
