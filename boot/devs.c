/*
 * PCI passthrough (see devs.h): the device inventory from sysfs, the
 * feasibility check and the vfio-pci binding.
 *
 * Sysfs used (Documentation/ABI/testing/sysfs-bus-pci and friends):
 *   /sys/bus/pci/devices/BDF/{vendor,device,subsystem_*,class}   hex ids
 *   .../BDF/driver -> .../drivers/NAME, .../BDF/iommu_group -> .../N
 *   .../BDF/reset_method   "flr bus" (5.15+; no file: no reset method)
 *   .../BDF/boot_vga       "1" on the display the firmware booted on
 *   .../BDF/driver_override, .../driver/unbind, /sys/bus/pci/drivers_probe
 *   /sys/kernel/iommu_groups/N/devices/BDF, the entries of /sys/class/iommu
 *   /sys/block/X           its realpath lies under the PCI device's path
 *                          (a native NVMe multipath head lies under
 *                          nvme-subsystem/, whose nvmeN links name the
 *                          controllers)
 *   /sys/class/input/inputN/capabilities/key   the key bitmap
 *   /sys/class/vtconsole/vtconN/{name,bind}, /sys/bus/platform/drivers/
 *
 * Not implemented: SR-IOV virtual functions are listed like any function
 * but nothing creates them; a device whose group has more than
 * DEVS_MAX_GROUP other members is refused (members_cut) rather than
 * checked member by member; the key bitmap is read as 64-bit words
 * (x86-64 kernels).
 */
#define LOG_MOD "devs"
#include "devs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "inv.h"
#include "util.h"

#define PATH_LEN	512

/* --- small sysfs helpers -------------------------------------------------------- */

static const char *norm_root(const char *root)
{
	return !root || !strcmp(root, "/") ? "" : root;
}

/* The first line of @path without its newline; "" and -errno when unreadable. */
static int read_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = 0;
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static uint32_t read_hex(const char *path)
{
	char buf[32], *end;
	unsigned long v;

	if (read_line(path, buf, sizeof(buf)) < 0 || !buf[0])
		return 0;
	v = strtoul(buf, &end, 16);
	return *end ? 0 : (uint32_t)v;
}

/* The last component of the symlink @path, or "" when it is none. */
static void link_base(const char *path, char *buf, size_t len)
{
	char target[PATH_LEN];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *b;

	buf[0] = 0;
	if (n <= 0)
		return;
	target[n] = 0;
	b = strrchr(target, '/');
	b = b ? b + 1 : target;
	n = (ssize_t)MIN(strlen(b), len - 1);	/* a name longer than @buf is cut */
	memcpy(buf, b, (size_t)n);
	buf[n] = 0;
}

static int link_num(const char *path)
{
	char b[32], *end;
	long v;

	link_base(path, b, sizeof(b));
	if (!b[0])
		return -1;
	v = strtol(b, &end, 10);
	return *end || v < 0 || v > INT_MAX ? -1 : (int)v;
}

static unsigned count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of @path (no dot files), sorted, malloc'd; the count, or 0. */
static unsigned list_dir(const char *path, char ***out)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL;
	unsigned n = 0, cap = 0;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap ? cap * 2 : 32) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = cap ? cap * 2 : 32;
		}
		v[n] = strdup(e->d_name);
		if (v[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Is @path below the directory @dir ("/a/b" is below "/a", not "/ab")? */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n && !strncmp(path, dir, n) && path[n] == '/';
}

/* "01:00.0" or "0000:01:00.0" (any case) into "0000:01:00.0"; false when
 * it is neither. */
static bool norm_bdf(const char *in, char *out)
{
	size_t n = in ? strlen(in) : 0;
	const char *s = in;
	char dom[5] = "0000";

	if (n == 12) {
		for (unsigned i = 0; i < 4; i++)
			if (hex_digit(in[i]) < 0)
				return false;
		if (in[4] != ':')
			return false;
		memcpy(dom, in, 4);
		s = in + 5;
	} else if (n != 7) {
		return false;
	}
	for (unsigned i = 0; i < 7; i++)
		if (i == 2 ? s[i] != ':' : i == 5 ? s[i] != '.' : hex_digit(s[i]) < 0)
			return false;
	snprintf(out, DEVS_BDF_LEN, "%.4s:%.7s", dom, s);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	return true;
}

/* --- classes ------------------------------------------------------------------------ */

static const struct {
	uint32_t cls, mask;
	const char *name;
} classes[] = {
	{ 0x010802, 0xffffff, "NVMe controller" },
	{ 0x010800, 0xffff00, "NVM controller" },
	{ 0x010601, 0xffffff, "SATA controller (AHCI)" },
	{ 0x010600, 0xffff00, "SATA controller" },
	{ 0x010700, 0xffff00, "SAS controller" },
	{ 0x010400, 0xffff00, "RAID controller" },
	{ 0x010100, 0xffff00, "IDE controller" },
	{ 0x010000, 0xffff00, "SCSI controller" },
	{ 0x010000, 0xff0000, "storage controller" },
	{ 0x020000, 0xffff00, "Ethernet controller" },
	{ 0x020000, 0xff0000, "network controller" },
	{ 0x030000, 0xffff00, "VGA controller" },
	{ 0x030200, 0xffff00, "3D controller" },
	{ 0x030000, 0xff0000, "display controller" },
	{ 0x040300, 0xffff00, "audio device" },
	{ 0x040100, 0xffff00, "audio controller" },
	{ 0x040000, 0xff0000, "multimedia controller" },
	{ 0x050000, 0xff0000, "memory controller" },
	{ 0x060000, 0xffff00, "host bridge" },
	{ 0x060100, 0xffff00, "ISA bridge" },
	{ 0x060400, 0xffff00, "PCI bridge" },
	{ 0x060900, 0xffff00, "PCI bridge" },
	{ 0x060000, 0xff0000, "bridge" },
	{ 0x070000, 0xff0000, "communication controller" },
	{ 0x080000, 0xff0000, "system peripheral" },
	{ 0x090000, 0xff0000, "input device controller" },
	{ 0x0b0000, 0xff0000, "processor" },
	{ 0x0c0330, 0xffffff, "USB controller (xHCI)" },
	{ 0x0c0320, 0xffffff, "USB controller (EHCI)" },
	{ 0x0c0310, 0xffffff, "USB controller (OHCI)" },
	{ 0x0c0300, 0xffffff, "USB controller (UHCI)" },
	{ 0x0c0340, 0xffffff, "USB4 controller" },
	{ 0x0c0300, 0xffff00, "USB controller" },
	{ 0x0c0500, 0xffff00, "SMBus controller" },
	{ 0x0c0000, 0xff0000, "serial bus controller" },
	{ 0x0d0000, 0xff0000, "wireless controller" },
	{ 0x100000, 0xff0000, "encryption controller" },
	{ 0x110000, 0xff0000, "signal processing controller" },
	{ 0x120000, 0xff0000, "processing accelerator" },
};

const char *devs_class_name(uint32_t class)
{
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if ((class & classes[i].mask) == classes[i].cls)
			return classes[i].name;
	return "device";
}

bool devs_is_bridge(uint32_t class)
{
	uint32_t c = class >> 8;

	return c == 0x0600 || c == 0x0604 || c == 0x0609;
}

bool devs_is_disk_controller(uint32_t class)
{
	uint32_t c = class >> 8;

	return c == 0x0106 || c == 0x0107 || c == 0x0108;
}

/* --- free-form text -------------------------------------------------------------------- */

bool devs_keys_keyboard(const char *bitmap)
{
	/* KEY_ENTER 28, KEY_A 30, KEY_Z 44, KEY_SPACE 57: all in the last word */
	static const uint64_t want = 1ull << 28 | 1ull << 30 | 1ull << 44 | 1ull << 57;
	const char *last = NULL, *p = bitmap;
	uint64_t v = 0;
	size_t n = 0;

	if (!bitmap)
		return false;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		last = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		n = (size_t)(p - last);
		if (*p == '\n')
			break;
	}
	if (!last || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		int h = hex_digit(last[i]);

		if (h < 0)
			return false;
		v = v << 4 | (uint64_t)h;
	}
	return (v & want) == want;
}

bool devs_cmdline_iommu(const char *cmdline, char *out, size_t len)
{
	static const char *const words[] = { "intel_iommu=", "amd_iommu=", "iommu=", "iommu.",
					     "vfio", "vfio-pci.", "vfio_pci." };
	const char *p = cmdline;
	size_t n = 0;
	bool off = false;

	if (len)
		out[0] = 0;
	while (p && *p) {
		const char *w;
		size_t wl;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		wl = (size_t)(p - w);
		if (!wl)
			break;
		for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
			size_t kl = strlen(words[i]);
			const char *v;

			if (wl < kl || strncmp(w, words[i], kl))
				continue;
			if (len && n + wl + 2 <= len) {
				n += (size_t)snprintf(out + n, len - n, "%s%.*s", n ? " " : "", (int)wl, w);
			}
			/* intel_iommu=off / amd_iommu=off / iommu=off, also in a list "on,off" */
			v = w + kl;
			if (words[i][kl - 1] == '=' && strncmp(words[i], "iommu.", 6)) {
				const char *e = w + wl;

				while (v < e) {
					size_t vl = strcspn(v, ", \t\n");

					if (v + vl > e)
						vl = (size_t)(e - v);
					if (vl == 3 && !strncmp(v, "off", 3))
						off = true;
					v += vl + 1;
				}
			}
			break;
		}
	}
	return off;
}

/* --- the scan --------------------------------------------------------------------------- */

static bool is_keyboard_dir(const char *dir)
{
	char path[PATH_LEN + 32], bitmap[1024];

	snprintf(path, sizeof(path), "%s/capabilities/key", dir);
	return read_line(path, bitmap, sizeof(bitmap)) == 0 && devs_keys_keyboard(bitmap);
}

static void scan_group(const char *root, struct devs_dev *d)
{
	char path[PATH_LEN], **names;
	unsigned n;

	if (d->group < 0)
		return;
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/devices", root, d->group);
	n = list_dir(path, &names);
	for (unsigned i = 0; i < n; i++) {
		struct devs_member *m = &d->members[d->nmembers];

		if (!strcmp(names[i], d->bdf) || strlen(names[i]) >= DEVS_BDF_LEN)
			continue;
		if (d->nmembers == DEVS_MAX_GROUP) {
			d->members_cut = true;
			break;
		}
		snprintf(m->bdf, sizeof(m->bdf), "%s", names[i]);
		snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/class", root, names[i]);
		m->class = read_hex(path);
		m->bridge = devs_is_bridge(m->class);
		d->nmembers++;
	}
	free_list(names, n);
}

static void scan_one(const char *root, const char *name, struct devs_dev *d)
{
	char dir[PATH_LEN], path[PATH_LEN + 32], buf[16];

	snprintf(d->bdf, sizeof(d->bdf), "%s", name);
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/%s", root, name);
#define RD(f) (snprintf(path, sizeof(path), "%s/" f, dir), read_hex(path))
	d->vendor = (uint16_t)RD("vendor");
	d->device = (uint16_t)RD("device");
	d->sub_vendor = (uint16_t)RD("subsystem_vendor");
	d->sub_device = (uint16_t)RD("subsystem_device");
	d->class = RD("class") & 0xffffff;
#undef RD
	snprintf(path, sizeof(path), "%s/driver", dir);
	link_base(path, d->driver, sizeof(d->driver));
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	d->group = link_num(path);
	snprintf(path, sizeof(path), "%s/reset_method", dir);
	read_line(path, d->reset, sizeof(d->reset));
	snprintf(path, sizeof(path), "%s/boot_vga", dir);
	d->boot_vga = read_line(path, buf, sizeof(buf)) == 0 && !strcmp(buf, "1");
	if (!realpath(dir, d->path))
		d->path[0] = 0;
	scan_group(root, d);
}

static void add_block(struct devs_list *l, const char *name, const char *real)
{
	for (unsigned i = 0; i < l->ndev; i++) {
		struct devs_dev *d = &l->dev[i];

		if (!below(real, d->path) || d->nblock == DEVS_MAX_BLOCK)
			continue;
		bool have = false;

		for (unsigned j = 0; j < d->nblock; j++)
			have |= !strcmp(d->block[j].name, name);
		if (have)
			continue;
		snprintf(d->block[d->nblock].name, sizeof(d->block[0].name), "%s", name);
		d->block[d->nblock++].disk = -1;
	}
}

static void scan_blocks(const char *root, struct devs_list *l)
{
	char path[PATH_LEN], real[PATH_MAX], **names;
	unsigned n;

	snprintf(path, sizeof(path), "%s/sys/block", root);
	n = list_dir(path, &names);
	for (unsigned i = 0; i < n; i++) {
		char *slash;

		if (strlen(names[i]) >= sizeof(l->dev[0].block[0].name))
			continue;
		snprintf(path, sizeof(path), "%s/sys/block/%s", root, names[i]);
		if (!realpath(path, real))
			continue;
		add_block(l, names[i], real);
		/* a native NVMe multipath head: the controllers are links
		 * nvmeN beside it in the subsystem's directory */
		slash = strrchr(real, '/');
		if (slash && strstr(real, "/nvme-subsystem/")) {
			char dir[PATH_MAX], **ctl;
			unsigned m;

			*slash = 0;
			snprintf(dir, sizeof(dir), "%s", real);
			m = list_dir(dir, &ctl);
			for (unsigned j = 0; j < m; j++) {
				char p2[PATH_MAX + 80], r2[PATH_MAX];

				if (strncmp(ctl[j], "nvme", 4) || ctl[j][4] < '0' || ctl[j][4] > '9' ||
				    strchr(ctl[j] + 4, 'n'))
					continue;
				snprintf(p2, sizeof(p2), "%s/%s", dir, ctl[j]);
				if (realpath(p2, r2))
					add_block(l, names[i], r2);
			}
			free_list(ctl, m);
		}
	}
	free_list(names, n);
}

static void scan_keyboards(const char *root, struct devs_list *l)
{
	char path[PATH_LEN], real[PATH_MAX], **names;
	unsigned n;

	snprintf(path, sizeof(path), "%s/sys/class/input", root);
	n = list_dir(path, &names);
	for (unsigned i = 0; i < n; i++) {
		if (strncmp(names[i], "input", 5))
			continue;
		snprintf(path, sizeof(path), "%s/sys/class/input/%s", root, names[i]);
		if (!is_keyboard_dir(path) || !realpath(path, real))
			continue;
		l->keyboards++;
		for (unsigned j = 0; j < l->ndev; j++)
			if (below(real, l->dev[j].path))
				l->dev[j].keyboards++;
	}
	free_list(names, n);
}

int devs_scan(const char *root, struct devs_list *l)
{
	char path[PATH_LEN], buf[4096], **names;
	unsigned n, k = 0;

	memset(l, 0, sizeof(*l));
	root = norm_root(root);
	snprintf(path, sizeof(path), "%s/sys/class/iommu", root);
	l->iommu_units = count_dir(path);
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups", root);
	l->iommu_groups = count_dir(path);
	l->iommu = l->iommu_units && l->iommu_groups;
	snprintf(path, sizeof(path), "%s/proc/cmdline", root);
	if (read_line(path, buf, sizeof(buf)) == 0)
		l->cmdline_off = devs_cmdline_iommu(buf, l->cmdline, sizeof(l->cmdline));
	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/vfio-pci", root);
	l->vfio_pci = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/sys/class/tty/ttyS0/type", root);
	l->serial = read_line(path, buf, 16) == 0 && buf[0] && strcmp(buf, "0");

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices", root);
	n = list_dir(path, &names);
	if (n) {
		l->dev = calloc(MIN(n, DEVS_MAX), sizeof(*l->dev));
		if (!l->dev) {
			free_list(names, n);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		char b[DEVS_BDF_LEN];

		if (!norm_bdf(names[i], b) || strcmp(b, names[i]))
			continue;	/* not a PCI address as the kernel writes it */
		if (k == DEVS_MAX) {
			l->cut = true;
			break;
		}
		scan_one(root, names[i], &l->dev[k++]);
	}
	l->ndev = k;
	free_list(names, n);
	scan_blocks(root, l);
	scan_keyboards(root, l);
	return 0;
}

void devs_free(struct devs_list *l)
{
	free(l->dev);
	l->dev = NULL;
	l->ndev = 0;
}

const struct devs_dev *devs_find(const struct devs_list *l, const char *bdf)
{
	char b[DEVS_BDF_LEN];

	if (!l || !norm_bdf(bdf, b))
		return NULL;
	for (unsigned i = 0; i < l->ndev; i++)
		if (!strcmp(l->dev[i].bdf, b))
			return &l->dev[i];
	return NULL;
}

/* --- the inventory -------------------------------------------------------------------- */

static int inv_disk_of_block(const struct inv *inv, const char *name)
{
	for (unsigned i = 0; inv && i < inv->ndisks; i++) {
		const char *dev = inv->disks[i].dev, *b = strrchr(dev, '/');

		if (!strncmp(dev, "/dev/", 5) && b && !strcmp(b + 1, name))
			return (int)i;
	}
	return -1;
}

static bool os_on_disk(const struct inv_os *o, int d)
{
	if (o->esp_disk == d || o->vm_disk == d)
		return true;
	for (unsigned i = 0; i < o->nneeds && i < INV_MAX_NEEDS; i++)
		if (o->needs[i].disk == d)
			return true;
	return false;
}

unsigned devs_oses_behind(const struct devs_dev *d, const struct inv *inv, int *oses, unsigned max,
			  bool *all_known)
{
	int disks[DEVS_MAX_BLOCK];
	unsigned nd = 0, n = 0;

	if (all_known)
		*all_known = true;
	for (unsigned i = 0; i < d->nblock; i++) {
		int k = inv_disk_of_block(inv, d->block[i].name);

		if (k >= 0)
			disks[nd++] = k;
		else if (all_known)
			*all_known = false;
	}
	for (unsigned o = 0; inv && o < inv->noses; o++) {
		bool on = false;

		for (unsigned i = 0; i < nd && !on; i++)
			on = os_on_disk(&inv->oses[o], disks[i]);
		if (on && n < max)
			oses[n++] = (int)o;
	}
	return n;
}

void devs_match_inv(struct devs_list *l, const struct inv *inv)
{
	for (unsigned i = 0; i < l->ndev; i++) {
		struct devs_dev *d = &l->dev[i];

		for (unsigned j = 0; j < d->nblock; j++)
			d->block[j].disk = inv_disk_of_block(inv, d->block[j].name);
		d->noses = devs_oses_behind(d, inv, d->oses, DEVS_MAX_OSES, NULL);
	}
}

/* --- feasibility ------------------------------------------------------------------------- */

static void say(struct devs_decision *o, enum devs_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A refusal replaces everything; a warning is added to the others. */
static void say(struct devs_decision *o, enum devs_verdict v, const char *fmt, ...)
{
	size_t n = v == DEVS_REFUSED ? 0 : strnlen(o->msg, sizeof(o->msg));
	va_list ap;

	if (v == DEVS_REFUSED)
		o->msg[0] = 0;
	else if (n && n + 3 < sizeof(o->msg))
		n += (size_t)snprintf(o->msg + n, sizeof(o->msg) - n, "; ");
	if (n + 1 < sizeof(o->msg)) {
		va_start(ap, fmt);
		vsnprintf(o->msg + n, sizeof(o->msg) - n, fmt, ap);
		va_end(ap);
	}
	if (v > o->verdict)
		o->verdict = v;
}

/* "0000:01:00.0 (NVMe controller)" */
static const char *dev_name(const struct devs_dev *d, const char *bdf, char *buf, size_t len)
{
	if (d)
		snprintf(buf, len, "%s (%s)", d->bdf, devs_class_name(d->class));
	else
		snprintf(buf, len, "%s", bdf);
	return buf;
}

static const char *os_words(const struct inv *inv, int o, char *buf, size_t len)
{
	const struct inv_os *os = &inv->oses[o];

	snprintf(buf, len, "'%.60s'", os->label[0] ? os->label : os->id);
	return buf;
}

static void check_iommu(const struct devs_list *l, const char *name, struct devs_decision *o)
{
	char why[200] = "";

	if (l->cmdline_off)
		snprintf(why, sizeof(why), " (the kernel command line has %.120s)", l->cmdline);
	if (!l->iommu_units)
		say(o, DEVS_REFUSED,
		    "%s: the IOMMU is off%s: enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup and start polyboot again; `polyboot devices` shows the IOMMU state",
		    name, why);
	else
		say(o, DEVS_REFUSED,
		    "%s: the IOMMU is not working (%u IOMMU units but no IOMMU groups)%s: check VT-d/AMD-Vi in the firmware setup and the kernel log (dmesg | grep -i -e DMAR -e AMD-Vi)",
		    name, l->iommu_units, why);
}

/* The other endpoints of @d's group that do not go to @r's VM. */
static void check_group(const struct devs_dev *d, const struct devs_req *req, unsigned n, unsigned i,
			const char *name, struct devs_decision *o)
{
	char list[200] = "", fix[120] = "";
	const char *other_vm = NULL;
	unsigned bad = 0;

	for (unsigned m = 0; m < d->nmembers; m++) {
		const struct devs_member *mb = &d->members[m];
		int j = -1;
		size_t l = strlen(list);

		if (mb->bridge)
			continue;
		for (unsigned k = 0; k < n && j < 0; k++)
			if (!strcmp(req[k].bdf, mb->bdf) && !strcmp(req[k].vm, req[i].vm))
				j = (int)k;
		if (j >= 0)
			continue;
		for (unsigned k = 0; k < n && !other_vm; k++)
			if (!strcmp(req[k].bdf, mb->bdf))
				other_vm = req[k].vm;
		if (l + 60 < sizeof(list))
			snprintf(list + l, sizeof(list) - l, "%s%s (%s)", l ? ", " : "", mb->bdf,
				 devs_class_name(mb->class));
		if (!bad)
			snprintf(fix, sizeof(fix), "device = %s", mb->bdf);
		bad++;
	}
	if (!bad)
		return;
	if (other_vm)
		say(o, DEVS_REFUSED,
		    "%s is in IOMMU group %d with %s, and '%s' gets %s: a group goes to one VM as a whole; give them all to one VM, or move the card to another slot (one with ACS has a group of its own)",
		    name, d->group, list, other_vm, bad == 1 ? "it" : "one of them");
	else
		say(o, DEVS_REFUSED,
		    "%s is in IOMMU group %d with %s, which %s not given to '%s': a group goes to one VM as a whole; give %s to '%s' too (%s), or move the card to another slot (one with ACS has a group of its own)",
		    name, d->group, list, bad == 1 ? "is" : "are", req[i].vm, bad == 1 ? "it" : "them", req[i].vm,
		    fix);
}

static void check_esp(const struct devs_dev *d, const struct devs_req *r, const struct devs_ctx *ctx,
		      const char *name, struct devs_decision *o)
{
	int oses[DEVS_MAX_OSES];
	unsigned n;
	bool hold = false;

	if (!ctx || !ctx->esp_disk[0])
		return;
	for (unsigned i = 0; i < d->nblock; i++)
		hold |= !strcmp(d->block[i].name, ctx->esp_disk);
	if (!hold)
		return;
	n = ctx->inv ? devs_oses_behind(d, ctx->inv, oses, DEVS_MAX_OSES, NULL) : 0;
	for (unsigned i = 0; i < n; i++) {
		char who[80];

		if (oses[i] == r->os)
			continue;
		say(o, DEVS_REFUSED,
		    "%s holds %s with the ESP polyboot runs from, and %s is on its disks too: the firmware needs its ESP while other OSes can run; give it only to an OS alone on its disks, or put polyboot on another disk (a USB stick)",
		    name, ctx->esp_disk, os_words(ctx->inv, oses[i], who, sizeof(who)));
		return;
	}
	o->flags |= DEVS_F_ESP;
	say(o, DEVS_WARN,
	    "%s holds %s with the ESP polyboot runs from: while '%s' runs the firmware cannot reach its ESP, so its logs are kept in RAM only",
	    name, ctx->esp_disk, r->vm);
}

unsigned devs_check(const struct devs_list *l, const struct devs_req *req, unsigned n,
		    const struct devs_ctx *ctx, struct devs_decision *out)
{
	unsigned refused = 0, kbd_left = l ? l->keyboards : 0;
	bool serial = ctx && ctx->serial_console, display = ctx && ctx->menu_on_display;

	/* keyboards that stay with the firmware when every request is granted */
	for (unsigned i = 0; l && i < n; i++) {
		const struct devs_dev *d = devs_find(l, req[i].bdf);
		bool seen = false;

		for (unsigned j = 0; j < i; j++)
			seen |= !strcmp(req[j].bdf, req[i].bdf);
		if (d && !seen)
			kbd_left -= MIN(kbd_left, d->keyboards);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct devs_dev *d = devs_find(l, req[i].bdf);
		struct devs_decision *o = &out[i];
		char name[80];
		int dup = -1;

		memset(o, 0, sizeof(*o));
		dev_name(d, req[i].bdf, name, sizeof(name));
		if (!l || !l->iommu) {
			if (l)
				check_iommu(l, name, o);
			else
				say(o, DEVS_REFUSED, "%s: the machine's PCI devices are not known", name);
			goto next;
		}
		if (!d) {
			say(o, DEVS_REFUSED, "no PCI device %s on this machine; `polyboot devices` lists them",
			    req[i].bdf);
			goto next;
		}
		if (!l->vfio_pci) {
			say(o, DEVS_REFUSED,
			    "%s: the firmware's kernel has no vfio-pci driver (CONFIG_VFIO_PCI), so nothing can be passed through",
			    name);
			goto next;
		}
		if ((d->class >> 8) == 0x0600) {
			say(o, DEVS_REFUSED, "%s is the host bridge, which stays with the firmware: it cannot be passed through",
			    d->bdf);
			goto next;
		}
		if ((d->class >> 16) == 0x06) {
			say(o, DEVS_REFUSED,
			    "%s is a bridge: bridges stay with the firmware; pass the devices behind it instead", name);
			goto next;
		}
		for (unsigned j = 0; j < n && dup < 0; j++)
			if (j != i && !strcmp(req[j].bdf, req[i].bdf) && strcmp(req[j].vm, req[i].vm))
				dup = (int)j;
		if (dup >= 0) {
			const struct devs_req *a = (unsigned)dup < i ? &req[dup] : &req[i];
			const struct devs_req *b = (unsigned)dup < i ? &req[i] : &req[dup];

			say(o, DEVS_REFUSED,
			    "%s is given to both '%s' and '%s': a device can be in one VM only; remove one of the device lines",
			    name, a->vm, b->vm);
			goto next;
		}
		if (d->group < 0) {
			say(o, DEVS_REFUSED,
			    "%s is in no IOMMU group (the IOMMU does not cover it), so it cannot be passed through safely",
			    name);
			goto next;
		}
		if (d->members_cut) {
			say(o, DEVS_REFUSED,
			    "%s is in IOMMU group %d with more than %d other devices (no ACS between them): move the card to a slot with a group of its own",
			    name, d->group, DEVS_MAX_GROUP);
			goto next;
		}
		check_group(d, req, n, i, name, o);
		if (o->verdict == DEVS_REFUSED)
			goto next;
		check_esp(d, &req[i], ctx, name, o);
		if (o->verdict == DEVS_REFUSED)
			goto next;
		if (d->boot_vga && display) {
			if (!serial) {
				say(o, DEVS_REFUSED,
				    "%s is the boot display, where the menu runs, and there is no serial console to move the menu to: connect a serial port (console = serial), or give the VM another GPU",
				    name);
				goto next;
			}
			o->flags |= DEVS_F_DISPLAY;
			say(o, DEVS_WARN, "%s is the boot display: the menu moves to the serial console while '%s' runs",
			    name, req[i].vm);
		}
		if (d->keyboards && !kbd_left && display) {
			if (!serial) {
				say(o, DEVS_REFUSED,
				    "%s has the only keyboard the menu can use, and there is no serial console: plug a keyboard into another USB controller, or connect a serial port",
				    name);
				goto next;
			}
			o->flags |= DEVS_F_KEYBOARD;
			say(o, DEVS_WARN,
			    "%s has the only keyboard: while '%s' runs the menu takes keys from the serial console only",
			    name, req[i].vm);
		}
		if (!d->reset[0]) {
			o->flags |= DEVS_F_NORESET;
			say(o, DEVS_WARN,
			    "%s has no reset method: the device may not work after the OS reboots (power the machine off and on to recover it)",
			    name);
		}
next:
		if (o->verdict == DEVS_REFUSED) {
			o->flags = 0;
			refused++;
		}
	}
	return refused;
}

/* --- binding --------------------------------------------------------------------------- */

static devs_write_fn writer;
static void *writer_ctx;

int devs_write_file(const char *path, const char *value)
{
	size_t n = strlen(value);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;	/* as `echo >` */
	ssize_t w;

	if (fd < 0)
		return -errno;
	/* one write: sysfs takes a store as one call */
	w = write(fd, value, n);
	if (w < 0)
		r = -errno;
	else if ((size_t)w != n)
		r = -EIO;
	close(fd);
	return r;
}

void devs_set_writer(devs_write_fn fn, void *ctx)
{
	writer = fn;
	writer_ctx = ctx;
}

static int wr(const char *path, const char *value)
{
	return writer ? writer(writer_ctx, path, value) : devs_write_file(path, value);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits up to DEVS_WAIT_MS for @dir/driver to be @want ("" none). */
static bool wait_driver(const char *dir, const char *want, char *cur, size_t len)
{
	char path[PATH_LEN + 16];

	snprintf(path, sizeof(path), "%s/driver", dir);
	for (unsigned t = 0;; t += 50) {
		link_base(path, cur, len);
		if (!strcmp(cur, want))
			return true;
		if (t >= DEVS_WAIT_MS)
			return false;
		sleep_ms(50);
	}
}

static bool wait_exists(const char *path)
{
	for (unsigned t = 0;; t += 50) {
		if (access(path, F_OK) == 0)
			return true;
		if (t >= DEVS_WAIT_MS)
			return false;
		sleep_ms(50);
	}
}

int devs_bind_vfio(const char *root, const char *bdf, struct devs_saved *saved, char *why, size_t whylen)
{
	char b[DEVS_BDF_LEN], dir[PATH_LEN], path[PATH_LEN + 32], cur[32];
	int r;

	memset(saved, 0, sizeof(*saved));
	saved->group = -1;
	set_why(why, whylen, "%s", "");
	root = norm_root(root);
	if (!norm_bdf(bdf, b)) {
		set_why(why, whylen, "'%s' is not a PCI address", bdf ? bdf : "");
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/%s", root, b);
	if (access(dir, F_OK) < 0) {
		set_why(why, whylen, "%s: no such device", dir);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	saved->group = link_num(path);
	if (saved->group < 0) {
		set_why(why, whylen, "%s: no IOMMU group", path);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s/driver", dir);
	link_base(path, saved->driver, sizeof(saved->driver));
	if (!strcmp(saved->driver, "vfio-pci")) {
		saved->was_vfio = true;
		saved->driver[0] = 0;
		goto group;
	}
	snprintf(path, sizeof(path), "%s/driver_override", dir);
	if ((r = wr(path, "vfio-pci")) < 0) {
		set_why(why, whylen, "cannot write vfio-pci to %s: %s", path, strerror(-r));
		return r;
	}
	if (saved->driver[0]) {
		snprintf(path, sizeof(path), "%s/driver/unbind", dir);
		if ((r = wr(path, b)) < 0) {
			set_why(why, whylen, "cannot unbind %s from %s (%s): %s", b, saved->driver, path,
				strerror(-r));
			snprintf(path, sizeof(path), "%s/driver_override", dir);
			wr(path, "\n");
			return r;
		}
	}
	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers_probe", root);
	if ((r = wr(path, b)) < 0) {
		set_why(why, whylen, "cannot write %s to %s: %s", b, path, strerror(-r));
		goto undo;
	}
	if (!wait_driver(dir, "vfio-pci", cur, sizeof(cur))) {
		set_why(why, whylen, "%s: %s after drivers_probe, not vfio-pci (%s/driver)", b,
			cur[0] ? cur : "no driver", dir);
		r = -EIO;
		goto undo;
	}
group:
	snprintf(path, sizeof(path), "%s/dev/vfio/%d", root, saved->group);
	if (!wait_exists(path)) {
		set_why(why, whylen, "%s is on vfio-pci, but %s is not there", b, path);
		r = -ENOENT;
		if (saved->was_vfio)
			return r;
		goto undo;
	}
	return 0;
undo:
	/* best effort: the host keeps its device (an NVMe with its disks) */
	{
		char w2[8];

		devs_restore(root, b, saved, w2, sizeof(w2));
	}
	return r;
}

int devs_restore(const char *root, const char *bdf, const struct devs_saved *saved, char *why, size_t whylen)
{
	char b[DEVS_BDF_LEN], dir[PATH_LEN], path[PATH_LEN + 32], cur[32];
	int r;

	set_why(why, whylen, "%s", "");
	if (saved->was_vfio)
		return 0;
	root = norm_root(root);
	if (!norm_bdf(bdf, b)) {
		set_why(why, whylen, "'%s' is not a PCI address", bdf ? bdf : "");
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/%s", root, b);
	snprintf(path, sizeof(path), "%s/driver", dir);
	link_base(path, cur, sizeof(cur));
	if (cur[0] && strcmp(cur, saved->driver)) {
		snprintf(path, sizeof(path), "%s/driver/unbind", dir);
		if ((r = wr(path, b)) < 0) {
			set_why(why, whylen, "cannot unbind %s from %s (%s): %s", b, cur, path, strerror(-r));
			return r;
		}
	}
	snprintf(path, sizeof(path), "%s/driver_override", dir);
	if ((r = wr(path, "\n")) < 0) {
		set_why(why, whylen, "cannot clear %s: %s", path, strerror(-r));
		return r;
	}
	if (saved->driver[0] && strcmp(cur, saved->driver)) {
		snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers_probe", root);
		if ((r = wr(path, b)) < 0) {
			set_why(why, whylen, "cannot write %s to %s: %s", b, path, strerror(-r));
			return r;
		}
	}
	if (!wait_driver(dir, saved->driver, cur, sizeof(cur))) {
		set_why(why, whylen, "%s: %s after drivers_probe, not %s (%s/driver)", b, cur[0] ? cur : "no driver",
			saved->driver[0] ? saved->driver : "no driver", dir);
		return -EIO;
	}
	return 0;
}

int devs_release_display(const char *root, char *why, size_t whylen)
{
	static const char *const fbdrv[] = { "simple-framebuffer", "simpledrm", "efi-framebuffer",
					     "vesa-framebuffer" };
	char path[PATH_LEN], file[PATH_LEN + 80], val[128], **names;
	unsigned n;
	int count = 0, first = 0;

	set_why(why, whylen, "%s", "");
	root = norm_root(root);
	snprintf(path, sizeof(path), "%s/sys/class/vtconsole", root);
	n = list_dir(path, &names);
	for (unsigned i = 0; i < n; i++) {
		int r;

		snprintf(file, sizeof(file), "%s/%s/name", path, names[i]);
		if (read_line(file, val, sizeof(val)) < 0 || !strstr(val, "frame buffer"))
			continue;
		snprintf(file, sizeof(file), "%s/%s/bind", path, names[i]);
		if (read_line(file, val, sizeof(val)) == 0 && !strcmp(val, "0"))
			continue;
		if ((r = wr(file, "0")) < 0) {
			if (!first) {
				first = r;
				set_why(why, whylen, "cannot write 0 to %s: %s", file, strerror(-r));
			}
			continue;
		}
		count++;
	}
	free_list(names, n);
	for (size_t d = 0; d < ARRAY_SIZE(fbdrv); d++) {
		snprintf(path, sizeof(path), "%s/sys/bus/platform/drivers/%s", root, fbdrv[d]);
		n = list_dir(path, &names);
		for (unsigned i = 0; i < n; i++) {
			struct stat st;
			int r;

			snprintf(file, sizeof(file), "%s/%s", path, names[i]);
			if (!strcmp(names[i], "module") || lstat(file, &st) < 0 || !S_ISLNK(st.st_mode))
				continue;
			snprintf(file, sizeof(file), "%s/unbind", path);
			if ((r = wr(file, names[i])) < 0) {
				if (!first) {
					first = r;
					set_why(why, whylen, "cannot unbind %s from %s (%s): %s", names[i], fbdrv[d],
						file, strerror(-r));
				}
				continue;
			}
			count++;
		}
		free_list(names, n);
	}
	return first ? first : count;
}

/* --- output ------------------------------------------------------------------------------ */

static const char *iommu_words(const struct devs_list *l, char *buf, size_t len)
{
	if (l->iommu)
		snprintf(buf, len, "on (%u unit%s, %u groups)", l->iommu_units, l->iommu_units == 1 ? "" : "s",
			 l->iommu_groups);
	else if (l->iommu_units)
		snprintf(buf, len, "not working (%u unit%s, no groups)", l->iommu_units,
			 l->iommu_units == 1 ? "" : "s");
	else
		snprintf(buf, len, "off (enable VT-d or AMD-Vi in the firmware setup)");
	return buf;
}

void devs_print(const struct devs_list *l, const struct inv *inv, FILE *f)
{
	char w[120];

	fprintf(f, "IOMMU: %s%s%s%s\n", iommu_words(l, w, sizeof(w)), l->cmdline[0] ? "; kernel command line: " : "",
		l->cmdline, l->vfio_pci ? "" : "; no vfio-pci driver");
	fprintf(f, "%-13s %-9s %-24s %-14s %5s %-10s %s\n", "BDF", "ids", "class", "driver", "group", "reset",
		"boot display, keyboards, disks -> OSes");
	for (unsigned i = 0; i < l->ndev; i++) {
		const struct devs_dev *d = &l->dev[i];
		char ids[16], grp[12], what[600] = "";
		size_t n = 0;

		snprintf(ids, sizeof(ids), "%04x:%04x", d->vendor, d->device);
		if (d->group >= 0)
			snprintf(grp, sizeof(grp), "%d", d->group);
		else
			snprintf(grp, sizeof(grp), "-");
		if (d->boot_vga)
			n += (size_t)snprintf(what + n, sizeof(what) - n, "boot display");
		if (d->keyboards && n < sizeof(what))
			n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%u keyboard%s", n ? ", " : "",
					      d->keyboards, d->keyboards == 1 ? "" : "s");
		for (unsigned j = 0; j < d->nblock && n + 40 < sizeof(what); j++) {
			int k = inv_disk_of_block(inv, d->block[j].name);

			n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%s", n ? ", " : "", d->block[j].name);
			for (unsigned o = 0, first = 1; k >= 0 && o < inv->noses && n + 80 < sizeof(what); o++) {
				if (!os_on_disk(&inv->oses[o], k))
					continue;
				n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%s '%.40s'", first ? " -> " : ", ",
						      inv->oses[o].id, inv->oses[o].label);
				first = 0;
			}
		}
		fprintf(f, "%-13s %-9s %-24.24s %-14.14s %5s %-10.10s %s\n", d->bdf, ids, devs_class_name(d->class),
			d->driver[0] ? d->driver : "-", grp, d->reset[0] ? d->reset : "-", what);
		if (d->nmembers) {
			char m[400] = "";
			size_t k = 0;

			for (unsigned j = 0; j < d->nmembers && k + 60 < sizeof(m); j++)
				k += (size_t)snprintf(m + k, sizeof(m) - k, "%s%s (%s)", j ? ", " : "", d->members[j].bdf,
						      devs_class_name(d->members[j].class));
			fprintf(f, "%-13s   group %d also: %s\n", "", d->group, m);
		}
	}
	if (!l->ndev)
		fprintf(f, "(no PCI devices)\n");
}

char *devs_json(const struct devs_list *l, const struct inv *inv)
{
	cJSON *root = cJSON_CreateObject(), *io, *arr;
	char *out;

	if (!root)
		return NULL;
	io = cJSON_AddObjectToObject(root, "iommu");
	cJSON_AddBoolToObject(io, "on", l->iommu);
	cJSON_AddNumberToObject(io, "units", l->iommu_units);
	cJSON_AddNumberToObject(io, "groups", l->iommu_groups);
	cJSON_AddStringToObject(io, "cmdline", l->cmdline);
	cJSON_AddBoolToObject(io, "cmdline_off", l->cmdline_off);
	cJSON_AddBoolToObject(root, "vfio_pci", l->vfio_pci);
	cJSON_AddBoolToObject(root, "serial", l->serial);
	cJSON_AddNumberToObject(root, "keyboards", l->keyboards);
	arr = cJSON_AddArrayToObject(root, "devices");
	for (unsigned i = 0; arr && i < l->ndev; i++) {
		const struct devs_dev *d = &l->dev[i];
		cJSON *o = cJSON_CreateObject(), *a, *rs;
		char h[16];

		if (!o)
			break;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "bdf", d->bdf);
#define HEX(k, v, w) (snprintf(h, sizeof(h), "%0*x", w, (unsigned)(v)), cJSON_AddStringToObject(o, k, h))
		HEX("vendor", d->vendor, 4);
		HEX("device", d->device, 4);
		HEX("subsystem_vendor", d->sub_vendor, 4);
		HEX("subsystem_device", d->sub_device, 4);
		HEX("class", d->class, 6);
#undef HEX
		cJSON_AddStringToObject(o, "class_name", devs_class_name(d->class));
		if (d->driver[0])
			cJSON_AddStringToObject(o, "driver", d->driver);
		else
			cJSON_AddNullToObject(o, "driver");
		if (d->group >= 0)
			cJSON_AddNumberToObject(o, "iommu_group", d->group);
		else
			cJSON_AddNullToObject(o, "iommu_group");
		a = cJSON_AddArrayToObject(o, "group");
		for (unsigned j = 0; a && j < d->nmembers; j++) {
			cJSON *m = cJSON_CreateObject();

			if (!m)
				break;
			cJSON_AddItemToArray(a, m);
			cJSON_AddStringToObject(m, "bdf", d->members[j].bdf);
			cJSON_AddStringToObject(m, "class_name", devs_class_name(d->members[j].class));
			cJSON_AddBoolToObject(m, "bridge", d->members[j].bridge);
		}
		rs = cJSON_AddArrayToObject(o, "reset");
		for (const char *p = d->reset; rs && *p;) {
			size_t n = strcspn(p, " ");
			char word[64];

			snprintf(word, sizeof(word), "%.*s", (int)n, p);
			if (n)
				cJSON_AddItemToArray(rs, cJSON_CreateString(word));
			p += n;
			p += strspn(p, " ");
		}
		cJSON_AddBoolToObject(o, "boot_vga", d->boot_vga);
		cJSON_AddNumberToObject(o, "keyboards", d->keyboards);
		/* every OS on the disks behind it, with its label */
		a = cJSON_AddArrayToObject(o, "oses");
		if (a && inv) {
			int oses[DEVS_MAX_OSES];
			unsigned k = devs_oses_behind(d, inv, oses, DEVS_MAX_OSES, NULL);

			for (unsigned j = 0; j < k; j++) {
				cJSON *x = cJSON_CreateObject();

				if (!x)
					break;
				cJSON_AddItemToArray(a, x);
				cJSON_AddStringToObject(x, "id", inv->oses[oses[j]].id);
				cJSON_AddStringToObject(x, "label", inv->oses[oses[j]].label);
			}
		}
		a = cJSON_AddArrayToObject(o, "disks");
		for (unsigned j = 0; a && j < d->nblock; j++) {
			cJSON *b = cJSON_CreateObject(), *os;
			int k = inv_disk_of_block(inv, d->block[j].name);

			if (!b)
				break;
			cJSON_AddItemToArray(a, b);
			cJSON_AddStringToObject(b, "name", d->block[j].name);
			if (k >= 0)
				cJSON_AddStringToObject(b, "disk", inv->disks[k].id);
			else
				cJSON_AddNullToObject(b, "disk");
			os = cJSON_AddArrayToObject(b, "oses");
			for (unsigned x = 0; os && k >= 0 && x < inv->noses; x++)
				if (os_on_disk(&inv->oses[x], k))
					cJSON_AddItemToArray(os, cJSON_CreateString(inv->oses[x].id));
		}
	}
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}
