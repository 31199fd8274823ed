/*
 * devs: the PCI device inventory, the passthrough check and the vfio-pci
 * binding, on fake sysfs trees built here (relative symlinks as the
 * kernel makes them, so realpath() resolves inside the tree), and the
 * planner's passthrough policy on top of them.
 *
 * The machine of most tests (fake_pc()):
 *   00:00.0 host bridge          group 0
 *   00:01.0 PCI bridge (root port) group 12, with 01:00.0 VGA + 01:00.1 audio
 *   00:02.0 VGA, boot display     group 1
 *   00:04.0 NVMe (flr) nvme0n1    group 2
 *   00:05.0 virtio-blk vda        group 3
 *   00:14.0 xHCI with a keyboard  group 4
 *   00:1c.0 PCI bridge            group 5, with 02:00.0 NVMe nvme1n1 (no reset)
 *   00:1f.2 SATA (AHCI) sda       group 6
 *   00:1f.3 audio                 group 6 too (one group of two endpoints)
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "devs.h"
#include "inv.h"
#include "plan.h"
#include "test.h"

static char root[512];

/* mkdir -p of root/@rel */
static void mkdirs(const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(const char *rel, const char *fmt, ...)
{
	char p[1024], dir[1024], *slash;
	va_list ap;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		mkdirs(dir);
	}
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	if (!f) {
		test_fail(__FILE__, __LINE__, "cannot write %s", p);
		return;
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* The symlink root/@link -> root/@target, written relative as sysfs does. */
static void ln(const char *link, const char *target)
{
	char p[1024], t[1024] = "", dir[1024], *slash;

	snprintf(dir, sizeof(dir), "%s", link);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		mkdirs(dir);
		for (const char *s = dir; s; s = strchr(s + 1, '/'))
			strcat(t, "../");
	}
	strcat(t, target);
	snprintf(p, sizeof(p), "%s/%s", root, link);
	unlink(p);
	if (symlink(t, p) < 0)
		test_fail(__FILE__, __LINE__, "symlink %s -> %s", p, t);
}

static void fresh(const char *name)
{
	char cmd[700];

	snprintf(root, sizeof(root), "%s/%s", test_tmpdir(), name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_EQ(system(cmd), 0);
	mkdir(root, 0755);
}

/* A PCI function at sys/devices/@parent/@bdf. */
static void pci(const char *parent, const char *bdf, unsigned vendor, unsigned device, unsigned cls,
		const char *driver, int group, const char *reset)
{
	char dev[300], rel[400];

	snprintf(dev, sizeof(dev), "sys/devices/%s/%s", parent, bdf);
#define F(name, ...) (snprintf(rel, sizeof(rel), "%s/" name, dev), put(rel, __VA_ARGS__))
	F("vendor", "0x%04x\n", vendor);
	F("device", "0x%04x\n", device);
	F("subsystem_vendor", "0x%04x\n", 0x1af4);
	F("subsystem_device", "0x%04x\n", 0x1100);
	F("class", "0x%06x\n", cls);
	F("driver_override", "(null)\n");
	if (reset)
		F("reset_method", "%s\n", reset);
	if ((cls >> 8) == 0x0300)
		F("boot_vga", "0\n");
#undef F
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	ln(rel, dev);
	if (driver) {
		char drv[200];

		snprintf(drv, sizeof(drv), "sys/bus/pci/drivers/%s", driver);
		mkdirs(drv);
		snprintf(rel, sizeof(rel), "%s/driver", dev);
		ln(rel, drv);
	}
	if (group >= 0) {
		char g[200];

		snprintf(g, sizeof(g), "sys/kernel/iommu_groups/%d", group);
		snprintf(rel, sizeof(rel), "%s/devices/%s", g, bdf);
		ln(rel, dev);
		snprintf(rel, sizeof(rel), "%s/iommu_group", dev);
		ln(rel, g);
	}
}

/* A whole disk /sys/block/@name at sys/devices/@path. */
static void blk(const char *name, const char *path)
{
	char dev[400], link[200];

	snprintf(dev, sizeof(dev), "sys/devices/%s", path);
	mkdirs(dev);
	snprintf(link, sizeof(link), "sys/block/%s", name);
	ln(link, dev);
}

/* An input device at sys/devices/@path/input/@name; @keys its key bitmap. */
static void input(const char *name, const char *path, const char *keys)
{
	char dev[400], rel[500], link[200];

	snprintf(dev, sizeof(dev), "sys/devices/%s/input/%s", path, name);
	snprintf(rel, sizeof(rel), "%s/capabilities/key", dev);
	put(rel, "%s\n", keys);
	snprintf(link, sizeof(link), "sys/class/input/%s", name);
	ln(link, dev);
}

#define KBD_KEYS "1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe"
#define POWER_KEYS "10000000000000 0"

static void iommu_on(void)
{
	mkdirs("sys/class/iommu/dmar0");
	mkdirs("sys/bus/pci/drivers/vfio-pci");
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt quiet\n");
}

static void fake_pc(bool iommu)
{
	pci("pci0000:00", "0000:00:00.0", 0x8086, 0x3e30, 0x060000, NULL, iommu ? 0 : -1, NULL);
	pci("pci0000:00", "0000:00:01.0", 0x8086, 0x1901, 0x060400, "pcieport", iommu ? 12 : -1, NULL);
	pci("pci0000:00/0000:00:01.0", "0000:01:00.0", 0x10de, 0x1c82, 0x030000, NULL, iommu ? 12 : -1, "bus");
	pci("pci0000:00/0000:00:01.0", "0000:01:00.1", 0x10de, 0x0fb9, 0x040300, "snd_hda_intel", iommu ? 12 : -1,
	    "flr bus");
	pci("pci0000:00", "0000:00:02.0", 0x8086, 0x3e92, 0x030000, NULL, iommu ? 1 : -1, "flr");
	put("sys/devices/pci0000:00/0000:00:02.0/boot_vga", "1\n");
	pci("pci0000:00", "0000:00:04.0", 0x144d, 0xa808, 0x010802, "nvme", iommu ? 2 : -1, "flr bus");
	pci("pci0000:00", "0000:00:05.0", 0x1af4, 0x1001, 0x010000, "virtio-pci", iommu ? 3 : -1, "flr");
	pci("pci0000:00", "0000:00:14.0", 0x8086, 0xa36d, 0x0c0330, "xhci_hcd", iommu ? 4 : -1, "flr");
	pci("pci0000:00", "0000:00:1c.0", 0x8086, 0xa33c, 0x060400, "pcieport", iommu ? 5 : -1, NULL);
	pci("pci0000:00/0000:00:1c.0", "0000:02:00.0", 0x15b7, 0x5006, 0x010802, "nvme", iommu ? 5 : -1, NULL);
	pci("pci0000:00", "0000:00:1f.2", 0x8086, 0xa352, 0x010601, "ahci", iommu ? 6 : -1, "bus");
	pci("pci0000:00", "0000:00:1f.3", 0x8086, 0xa348, 0x040300, "snd_hda_intel", iommu ? 6 : -1, "flr");
	blk("nvme0n1", "pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1");
	blk("nvme1n1", "pci0000:00/0000:00:1c.0/0000:02:00.0/nvme/nvme1/nvme1n1");
	blk("sda", "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda");
	blk("vda", "pci0000:00/0000:00:05.0/virtio1/block/vda");
	blk("loop0", "virtual/block/loop0");
	input("input3", "pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/0003:046D:C31C.0001", KBD_KEYS);
	input("input0", "LNXSYSTM:00/LNXPWRBN:00", POWER_KEYS);
	put("sys/class/tty/ttyS0/type", "4\n");
	if (iommu)
		iommu_on();
}

/* Inventory: Debian alone on nvme0n1 (with polyboot's ESP on sda), Windows
 * + Linux on sda, Arch on nvme1n1 and a data disk vda. */
static const char inventory[] =
	"{'disks':["
	"{'id':'gpt:n0','dev':'/dev/nvme0n1','size':1073741824,'partitions':["
	" {'id':'n0-1','dev':'/dev/nvme0n1p1','num':1,'start':1048576,'size':1048576,'type_name':'esp'},"
	" {'id':'n0-2','dev':'/dev/nvme0n1p2','num':2,'start':2097152,'size':1048576,'type_name':'linux'}]},"
	"{'id':'gpt:sa','dev':'/dev/sda','size':1073741824,'partitions':["
	" {'id':'sa-1','dev':'/dev/sda1','num':1,'start':1048576,'size':1048576,'type_name':'esp'},"
	" {'id':'sa-2','dev':'/dev/sda2','num':2,'start':2097152,'size':1048576,'type_name':'basic-data'},"
	" {'id':'sa-3','dev':'/dev/sda3','num':3,'start':3145728,'size':1048576,'type_name':'linux'},"
	" {'id':'sa-4','dev':'/dev/sda4','num':4,'start':4194304,'size':1048576,'type_name':'esp',"
	"  'polyboot_esp':true}]},"
	"{'id':'gpt:n1','dev':'/dev/nvme1n1','size':1073741824,'partitions':["
	" {'id':'n1-1','dev':'/dev/nvme1n1p1','num':1,'start':1048576,'size':1048576,'type_name':'esp'}]},"
	"{'id':'gpt:va','dev':'/dev/vda','size':1073741824,'partitions':["
	" {'id':'va-1','dev':'/dev/vda1','num':1,'start':1048576,'size':1048576,'type_name':'linux'}]}"
	"],'oses':["
	"{'id':'grub-deb','kind':'grub','label':'Debian','firmware':'uefi',"
	" 'vm':{'partition':'n0-1','loader':'\\\\EFI\\\\debian\\\\grubx64.efi'},"
	" 'needs':[{'partition':'n0-1','role':'esp'},{'partition':'n0-2','role':'root'}]},"
	"{'id':'windows-1','kind':'windows','label':'Windows','firmware':'uefi',"
	" 'vm':{'partition':'sa-1','loader':'\\\\EFI\\\\Microsoft\\\\Boot\\\\bootmgfw.efi'},"
	" 'needs':[{'partition':'sa-1','role':'esp'},{'partition':'sa-2','role':'system'}]},"
	"{'id':'grub-fed','kind':'grub','label':'Fedora','firmware':'uefi',"
	" 'vm':{'partition':'sa-1','loader':'\\\\EFI\\\\fedora\\\\grubx64.efi'},"
	" 'needs':[{'partition':'sa-1','role':'esp'},{'partition':'sa-3','role':'root'}]},"
	"{'id':'sd-arch','kind':'systemd-boot','label':'Arch','firmware':'uefi',"
	" 'vm':{'partition':'n1-1','loader':'\\\\EFI\\\\systemd\\\\systemd-bootx64.efi'},"
	" 'needs':[{'partition':'n1-1','role':'esp'}]}"
	"]}";

enum { DEB, WIN, FED, ARCH };

static struct inv *inv;

static void load_inv(const char *text)
{
	static char json[sizeof(inventory) + 4096];
	char why[160];

	if (!inv)
		inv = calloc(1, sizeof(*inv));
	else
		inv_free(inv);
	snprintf(json, sizeof(json), "%s", text);
	for (char *p = json; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (inv_from_json(inv, json, strlen(json), why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "inventory: %s", why);
}

static bool has(const char *s, const char *word)
{
	return s && strstr(s, word) != NULL;
}

#define CHECK_HAS(s, word)                                                                   \
	do {                                                                                 \
		if (!has((s), (word)))                                                       \
			test_fail(__FILE__, __LINE__, "\"%s\" not in \"%s\"", (word), (s)); \
	} while (0)

static struct devs_req R(const char *bdf, const char *vm, int os)
{
	struct devs_req r = { .os = os };

	snprintf(r.bdf, sizeof(r.bdf), "%s", bdf);
	snprintf(r.vm, sizeof(r.vm), "%s", vm);
	return r;
}

/* --- the inventory of the machine ----------------------------------------------------- */

TEST(devs_scan_fake_pc)
{
	struct devs_list l;
	const struct devs_dev *d;

	fresh("scan");
	fake_pc(true);
	CHECK_EQ(devs_scan(root, &l), 0);
	CHECK_EQ(l.ndev, 12);
	CHECK(l.iommu);
	CHECK_EQ(l.iommu_units, 1);
	CHECK_EQ(l.iommu_groups, 8);
	CHECK_STR(l.cmdline, "intel_iommu=on iommu=pt");
	CHECK(!l.cmdline_off);
	CHECK(l.vfio_pci);
	CHECK(l.serial);
	CHECK_EQ(l.keyboards, 1);
	/* sorted by BDF */
	CHECK_STR(l.dev[0].bdf, "0000:00:00.0");
	CHECK_STR(l.dev[11].bdf, "0000:02:00.0");

	d = devs_find(&l, "00:04.0");
	CHECK(d != NULL);
	if (d) {
		CHECK_EQ(d->vendor, 0x144d);
		CHECK_EQ(d->device, 0xa808);
		CHECK_EQ(d->sub_vendor, 0x1af4);
		CHECK_EQ(d->sub_device, 0x1100);
		CHECK_EQ(d->class, 0x010802);
		CHECK_STR(devs_class_name(d->class), "NVMe controller");
		CHECK_STR(d->driver, "nvme");
		CHECK_EQ(d->group, 2);
		CHECK_EQ(d->nmembers, 0);
		CHECK_STR(d->reset, "flr bus");
		CHECK(!d->boot_vga);
		CHECK(devs_is_disk_controller(d->class));
	}
	d = devs_find(&l, "0000:01:00.0");
	CHECK(d && d->group == 12 && d->nmembers == 2 && !d->driver[0] && !d->boot_vga);
	if (d) {
		CHECK_STR(d->members[0].bdf, "0000:00:01.0");
		CHECK(d->members[0].bridge);
		CHECK_STR(d->members[1].bdf, "0000:01:00.1");
		CHECK(!d->members[1].bridge);
		CHECK_EQ(d->members[1].class, 0x040300);
	}
	d = devs_find(&l, "0000:00:02.0");
	CHECK(d && d->boot_vga && d->reset[0]);
	d = devs_find(&l, "0000:00:14.0");
	CHECK(d && d->keyboards == 1);
	CHECK_STR(devs_class_name(0x0c0330), "USB controller (xHCI)");
	CHECK_STR(devs_class_name(0x0c0320), "USB controller (EHCI)");
	CHECK_STR(devs_class_name(0x010601), "SATA controller (AHCI)");
	CHECK_STR(devs_class_name(0x030000), "VGA controller");
	CHECK_STR(devs_class_name(0x020000), "Ethernet controller");
	CHECK_STR(devs_class_name(0x040300), "audio device");
	CHECK_STR(devs_class_name(0x060400), "PCI bridge");
	CHECK_STR(devs_class_name(0xff0000), "device");
	CHECK(devs_is_bridge(0x060400) && devs_is_bridge(0x060000) && !devs_is_bridge(0x060100));
	CHECK(!devs_find(&l, "0000:09:00.0"));
	CHECK(!devs_find(&l, "garbage"));
	devs_free(&l);

	/* no PCI at all: an empty list, the IOMMU off */
	fresh("scan-empty");
	CHECK_EQ(devs_scan(root, &l), 0);
	CHECK_EQ(l.ndev, 0);
	CHECK(!l.iommu && !l.vfio_pci && !l.serial);
	devs_free(&l);
}

/* (g) the disks behind each device, and the OSes on them */
TEST(devs_disks_behind)
{
	struct devs_list l;
	const struct devs_dev *d;
	int oses[8];
	bool known;

	fresh("disks");
	fake_pc(true);
	load_inv(inventory);
	CHECK_EQ(devs_scan(root, &l), 0);
	devs_match_inv(&l, inv);
	d = devs_find(&l, "0000:00:04.0");
	CHECK(d && d->nblock == 1);
	if (d) {
		CHECK_STR(d->block[0].name, "nvme0n1");
		CHECK_EQ(d->block[0].disk, 0);
		CHECK_EQ(d->noses, 1);
		CHECK_EQ(d->oses[0], DEB);
	}
	d = devs_find(&l, "0000:00:1f.2");
	CHECK(d && d->nblock == 1 && !strcmp(d->block[0].name, "sda") && d->noses == 2);
	if (d) {
		CHECK_EQ(d->oses[0], WIN);
		CHECK_EQ(d->oses[1], FED);
		CHECK_EQ(devs_oses_behind(d, inv, oses, 1, &known), 1);	/* cut to @max */
		CHECK(known);
	}
	d = devs_find(&l, "0000:00:05.0");
	CHECK(d && d->nblock == 1 && !strcmp(d->block[0].name, "vda") && d->block[0].disk == 3 && d->noses == 0);
	/* behind a bridge: the bridge and the endpoint both have it */
	d = devs_find(&l, "0000:00:1c.0");
	CHECK(d && d->nblock == 1 && !strcmp(d->block[0].name, "nvme1n1"));
	d = devs_find(&l, "0000:02:00.0");
	CHECK(d && d->nblock == 1 && d->noses == 1 && d->oses[0] == ARCH);
	d = devs_find(&l, "0000:00:02.0");
	CHECK(d && d->nblock == 0);
	/* a disk the inventory does not have */
	blk("sdb", "pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sdb");
	devs_free(&l);
	CHECK_EQ(devs_scan(root, &l), 0);
	d = devs_find(&l, "0000:00:1f.2");
	CHECK(d && d->nblock == 2);
	if (d) {
		CHECK_EQ(devs_oses_behind(d, inv, oses, 8, &known), 2);
		CHECK(!known);
	}
	devs_free(&l);

	/* native NVMe multipath: the head lies under nvme-subsystem/ */
	fresh("multipath");
	pci("pci0000:00", "0000:00:04.0", 0x144d, 0xa808, 0x010802, "nvme", 2, "flr");
	mkdirs("sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0");
	blk("nvme0n1", "virtual/nvme-subsystem/nvme-subsys0/nvme0n1");
	ln("sys/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0", "sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0");
	CHECK_EQ(devs_scan(root, &l), 0);
	d = devs_find(&l, "0000:00:04.0");
	CHECK(d && d->nblock == 1 && !strcmp(d->block[0].name, "nvme0n1"));
	devs_free(&l);
}

/* a group of 18 functions: 16 others listed, the device marked */
TEST(devs_big_group)
{
	struct devs_list l;
	const struct devs_dev *d;
	char bdf[16];

	fresh("biggroup");
	for (unsigned i = 0; i < 18; i++) {
		snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", i + 1);
		pci("pci0000:00", bdf, 0x8086, 0x1000 + i, 0x020000, NULL, 1, "flr");
	}
	CHECK_EQ(devs_scan(root, &l), 0);
	d = devs_find(&l, "0000:00:01.0");
	CHECK(d && d->nmembers == DEVS_MAX_GROUP && d->members_cut);
	devs_free(&l);
}

TEST(devs_text_parsers)
{
	char out[160];

	CHECK(devs_keys_keyboard(KBD_KEYS));
	CHECK(devs_keys_keyboard("402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe\n"));
	CHECK(!devs_keys_keyboard(POWER_KEYS));
	CHECK(!devs_keys_keyboard("0"));
	CHECK(!devs_keys_keyboard(""));
	CHECK(!devs_keys_keyboard("xyz"));
	CHECK(!devs_keys_keyboard("1ffffffffffffffffe"));	/* more than 64 bits in a word */
	CHECK(!devs_keys_keyboard(NULL));

	CHECK(!devs_cmdline_iommu("quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1c82", out, sizeof(out)));
	CHECK_STR(out, "intel_iommu=on iommu=pt vfio-pci.ids=10de:1c82");
	CHECK(devs_cmdline_iommu("amd_iommu=off", out, sizeof(out)));
	CHECK(devs_cmdline_iommu("intel_iommu=sm_on,off quiet", out, sizeof(out)));
	CHECK_STR(out, "intel_iommu=sm_on,off");
	CHECK(!devs_cmdline_iommu("intel_iommu=offset iommu.strict=1", out, sizeof(out)));
	CHECK(!devs_cmdline_iommu("", out, sizeof(out)));
	CHECK_STR(out, "");
	CHECK(!devs_cmdline_iommu("iommu=pt", out, 4));	/* cut: nothing half written */
	CHECK_STR(out, "");
}

/* --- feasibility ------------------------------------------------------------------------- */

static struct devs_list L;
static struct devs_ctx ctx;

static void machine(const char *name, bool iommu)
{
	devs_free(&L);
	fresh(name);
	fake_pc(iommu);
	load_inv(inventory);
	CHECK_EQ(devs_scan(root, &L), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.inv = inv;
	ctx.serial_console = true;
	ctx.menu_on_display = true;
}

/* (a) a group of two endpoints (and their root port) */
TEST(devs_check_group)
{
	struct devs_req r[3];
	struct devs_decision d[3];

	machine("group", true);
	r[0] = R("0000:01:00.0", "win", WIN);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 1);
	CHECK_EQ(d[0].verdict, DEVS_REFUSED);
	CHECK_HAS(d[0].msg, "IOMMU group 12");
	CHECK_HAS(d[0].msg, "0000:01:00.1 (audio device)");
	CHECK_HAS(d[0].msg, "not given to 'win'");
	CHECK_HAS(d[0].msg, "device = 0000:01:00.1");
	CHECK_HAS(d[0].msg, "ACS");
	CHECK(!has(d[0].msg, "0000:00:01.0"));	/* the root port is a bridge: excepted */

	/* both: fine (the GPU has only a bus reset, which is a reset method) */
	r[1] = R("0000:01:00.1", "win", WIN);
	CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 0);
	CHECK_EQ(d[0].verdict, DEVS_OK);
	CHECK_EQ(d[1].verdict, DEVS_OK);
	CHECK_STR(d[0].msg, "");

	/* the other endpoint to another VM */
	r[1] = R("0000:01:00.1", "linux", DEB);
	CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 2);
	CHECK_HAS(d[0].msg, "'linux' gets it");
	CHECK_HAS(d[1].msg, "'win' gets it");
	CHECK_HAS(d[1].msg, "0000:01:00.0 (VGA controller)");

	/* two endpoints, no bridge: SATA and audio in group 6 */
	r[0] = R("0000:00:1f.2", "win", WIN);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 1);
	CHECK_HAS(d[0].msg, "IOMMU group 6 with 0000:00:1f.3");

	/* a group too big to list is refused as a whole */
	{
		struct devs_dev *g = (struct devs_dev *)devs_find(&L, "0000:00:1f.2");

		g->members_cut = true;
		r[0] = R("0000:00:1f.2", "win", WIN);
		r[1] = R("0000:00:1f.3", "win", WIN);
		CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 1);
		CHECK_HAS(d[0].msg, "more than 16 other devices");
		g->members_cut = false;
	}

	/* bridges themselves are refused, the host bridge too */
	r[0] = R("0000:00:1c.0", "win", WIN);
	r[1] = R("0000:00:00.0", "win", WIN);
	CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 2);
	CHECK_HAS(d[0].msg, "is a bridge");
	CHECK_HAS(d[0].msg, "pass the devices behind it");
	CHECK_HAS(d[1].msg, "host bridge");
	CHECK_HAS(d[1].msg, "cannot be passed through");
}

/* (b) the boot display */
TEST(devs_check_boot_display)
{
	struct devs_req r = R("0000:00:02.0", "win", WIN);
	struct devs_decision d;

	machine("vga", true);
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 0);
	CHECK_EQ(d.verdict, DEVS_WARN);
	CHECK_HAS(d.msg, "boot display");
	CHECK_HAS(d.msg, "menu moves to the serial console");
	CHECK_EQ(d.flags, DEVS_F_DISPLAY);

	ctx.serial_console = false;
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 1);
	CHECK_EQ(d.verdict, DEVS_REFUSED);
	CHECK_HAS(d.msg, "boot display");
	CHECK_HAS(d.msg, "no serial console");
	CHECK_EQ(d.flags, 0);

	/* the menu is not on the display (console = serial): nothing to say */
	ctx.menu_on_display = false;
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 0);
	CHECK_EQ(d.verdict, DEVS_OK);
}

/* the USB controller with the only keyboard */
TEST(devs_check_keyboard)
{
	struct devs_req r = R("0000:00:14.0", "win", WIN);
	struct devs_decision d;

	machine("kbd", true);
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 0);
	CHECK_EQ(d.verdict, DEVS_WARN);
	CHECK_HAS(d.msg, "only keyboard");
	CHECK_HAS(d.msg, "serial console");
	CHECK_EQ(d.flags, DEVS_F_KEYBOARD);
	ctx.serial_console = false;
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 1);
	CHECK_HAS(d.msg, "only keyboard");
	CHECK_HAS(d.msg, "no serial console");
	CHECK_HAS(d.msg, "another USB controller");

	/* a PS/2 keyboard stays with the firmware */
	input("input1", "platform/i8042/serio0", KBD_KEYS);
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	CHECK_EQ(L.keyboards, 2);
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 0);
	CHECK_EQ(d.verdict, DEVS_OK);
}

/* (c) the controller of polyboot's ESP */
TEST(devs_check_esp)
{
	struct devs_req r = R("0000:00:1f.2", "win", WIN);
	struct devs_decision d;

	machine("esp", true);
	snprintf(ctx.esp_disk, sizeof(ctx.esp_disk), "sda");
	/* take the audio device out of group 6, so only the ESP speaks */
	unlink(strcat(strcpy((char[600]){ 0 }, root), "/sys/kernel/iommu_groups/6/devices/0000:00:1f.3"));
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	/* Windows and Fedora on sda: refused, naming the other */
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 1);
	CHECK_HAS(d.msg, "ESP polyboot runs from");
	CHECK_HAS(d.msg, "'Fedora'");
	CHECK_HAS(d.msg, "USB stick");

	/* Windows alone on it: allowed, but the logs go to RAM */
	load_inv("{'disks':[{'id':'gpt:sa','dev':'/dev/sda','size':1,'partitions':["
		 " {'id':'sa-1','dev':'/dev/sda1','num':1,'start':1048576,'size':1048576,'type_name':'esp'},"
		 " {'id':'sa-4','dev':'/dev/sda4','num':4,'start':4194304,'size':1048576,'polyboot_esp':true}]}],"
		 "'oses':[{'id':'windows-1','kind':'windows','label':'Windows','firmware':'uefi',"
		 " 'vm':{'partition':'sa-1','loader':'\\\\EFI\\\\x.efi'},'needs':[{'partition':'sa-1','role':'esp'}]}]}");
	ctx.inv = inv;
	r.os = 0;
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 0);
	CHECK_EQ(d.verdict, DEVS_WARN);
	CHECK_HAS(d.msg, "ESP polyboot runs from");
	CHECK_HAS(d.msg, "RAM only");
	CHECK_EQ(d.flags, DEVS_F_ESP);
	/* another disk's controller: nothing to say */
	ctx.esp_disk[0] = 0;
	CHECK_EQ(devs_check(&L, &r, 1, &ctx, &d), 0);
	CHECK_EQ(d.verdict, DEVS_OK);
}

/* (d) no reset method; and a device in no group */
TEST(devs_check_reset)
{
	struct devs_req r[2] = { R("0000:02:00.0", "arch", ARCH) };
	struct devs_decision d[2];

	machine("reset", true);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 0);
	CHECK_EQ(d[0].verdict, DEVS_WARN);
	CHECK_HAS(d[0].msg, "no reset method");
	CHECK_HAS(d[0].msg, "may not work after the OS reboots");
	CHECK_EQ(d[0].flags, DEVS_F_NORESET);

	/* the boot display without a reset method: both warnings */
	unlink(strcat(strcpy((char[600]){ 0 }, root), "/sys/devices/pci0000:00/0000:00:02.0/reset_method"));
	unlink(strcat(strcpy((char[600]){ 0 }, root), "/sys/devices/pci0000:00/0000:00:05.0/iommu_group"));
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	r[0] = R("0000:00:02.0", "win", WIN);
	r[1] = R("0000:00:05.0", "win", WIN);
	CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 1);
	CHECK_EQ(d[0].verdict, DEVS_WARN);
	CHECK_HAS(d[0].msg, "boot display");
	CHECK_HAS(d[0].msg, "; 0000:00:02.0 (VGA controller) has no reset method");
	CHECK_EQ(d[0].flags, DEVS_F_DISPLAY | DEVS_F_NORESET);
	CHECK_HAS(d[1].msg, "in no IOMMU group");
}

/* (e) the IOMMU off or not working; (f) one device, two VMs; no such device */
TEST(devs_check_iommu_and_dups)
{
	struct devs_req r[2] = { R("0000:00:04.0", "debian", DEB), R("0000:00:04.0", "arch", ARCH) };
	struct devs_decision d[2];

	machine("noiommu", false);
	CHECK(!L.iommu);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 1);
	CHECK_HAS(d[0].msg, "0000:00:04.0 (NVMe controller): the IOMMU is off");
	CHECK_HAS(d[0].msg, "VT-d");
	CHECK_HAS(d[0].msg, "AMD-Vi");
	CHECK_HAS(d[0].msg, "firmware setup");
	put("proc/cmdline", "quiet intel_iommu=off\n");
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	CHECK(L.cmdline_off);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 1);
	CHECK_HAS(d[0].msg, "the kernel command line has intel_iommu=off");
	/* units but no groups */
	mkdirs("sys/class/iommu/dmar0");
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 1);
	CHECK_HAS(d[0].msg, "the IOMMU is not working");
	CHECK_HAS(d[0].msg, "no IOMMU groups");
	CHECK_EQ(devs_check(NULL, r, 1, &ctx, d), 1);

	machine("dups", true);
	CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 2);
	CHECK_HAS(d[0].msg, "given to both 'debian' and 'arch'");
	CHECK_HAS(d[1].msg, "given to both 'debian' and 'arch'");
	r[1] = R("0000:07:00.0", "arch", ARCH);
	CHECK_EQ(devs_check(&L, r, 2, &ctx, d), 1);
	CHECK_EQ(d[0].verdict, DEVS_OK);
	CHECK_HAS(d[1].msg, "no PCI device 0000:07:00.0");
	CHECK_HAS(d[1].msg, "polyboot devices");

	/* no vfio-pci driver in the kernel */
	rmdir(strcat(strcpy((char[600]){ 0 }, root), "/sys/bus/pci/drivers/vfio-pci"));
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	CHECK_EQ(devs_check(&L, r, 1, &ctx, d), 1);
	CHECK_HAS(d[0].msg, "no vfio-pci driver");
}

/* --- binding ------------------------------------------------------------------------------ */

struct rec {
	unsigned n;
	char path[16][600], value[16][64];
	int fail_at;		/* -1: none; else the write that fails */
	bool kernel;		/* play the kernel: move the driver link */
	bool no_node;		/* ... but make no /dev/vfio/N */
	char orig[32];		/* the driver drivers_probe gives back */
};

static const char *tail(const char *path)
{
	size_t n = strlen(root);

	return !strncmp(path, root, n) ? path + n : path;
}

/* The device's driver link now points at @drv ("" none); a vfio-pci
 * device gets its /dev/vfio/N unless @no_node. */
static void set_driver(const char *bdf, const char *drv, bool no_node)
{
	char p[1500], real[800], link[900], t[100];
	int g;

	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", root, bdf);
	if (!realpath(p, real))
		return;
	snprintf(link, sizeof(link), "%s/driver", real + strlen(root) + 1);
	if (!drv[0]) {
		snprintf(p, sizeof(p), "%s/%s", root, link);
		unlink(p);
		return;
	}
	snprintf(t, sizeof(t), "sys/bus/pci/drivers/%s", drv);
	mkdirs(t);
	ln(link, t);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/iommu_group", root, bdf);
	g = (int)readlink(p, real, sizeof(real) - 1);
	if (g > 0 && !strcmp(drv, "vfio-pci") && !no_node) {
		real[g] = 0;
		snprintf(p, sizeof(p), "dev/vfio/%s", strrchr(real, '/') + 1);
		put(p, "%s", "");
	}
}

static int recorder(void *c, const char *path, const char *value)
{
	struct rec *r = c;
	const char *t = tail(path);
	char bdf[16], ov[64] = "", p[700];

	if (r->n < 16) {
		snprintf(r->path[r->n], sizeof(r->path[0]), "%s", t);
		snprintf(r->value[r->n], sizeof(r->value[0]), "%s", value);
	}
	if ((int)r->n++ == r->fail_at)
		return -EACCES;
	if (!r->kernel)
		return devs_write_file(path, value);
	/* what the kernel does with each file */
	if (strstr(t, "/driver/unbind") && sscanf(t, "/sys/bus/pci/devices/%15[^/]", bdf) == 1) {
		set_driver(bdf, "", false);
	} else if (strstr(t, "/driver_override")) {
		return devs_write_file(path, value);
	} else if (!strcmp(t, "/sys/bus/pci/drivers_probe")) {
		FILE *f;

		snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver_override", root, value);
		f = fopen(p, "r");
		if (f) {
			if (!fgets(ov, sizeof(ov), f))
				ov[0] = 0;
			fclose(f);
		}
		ov[strcspn(ov, "\n")] = 0;
		set_driver(value, !strcmp(ov, "vfio-pci") ? "vfio-pci" : r->orig, r->no_node);
	}
	return 0;
}

/* (h) bind and restore write the expected files, in order */
TEST(devs_bind_restore)
{
	struct rec rec = { .fail_at = -1, .kernel = true };
	struct devs_saved saved;
	char why[300], buf[64] = "";
	int fd;

	fresh("bind");
	fake_pc(true);
	snprintf(rec.orig, sizeof(rec.orig), "nvme");
	devs_set_writer(recorder, &rec);
	CHECK_EQ(devs_bind_vfio(root, "00:04.0", &saved, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_STR(saved.driver, "nvme");
	CHECK_EQ(saved.group, 2);
	CHECK(!saved.was_vfio);
	CHECK_EQ(rec.n, 3);
	CHECK_STR(rec.path[0], "/sys/bus/pci/devices/0000:00:04.0/driver_override");
	CHECK_STR(rec.value[0], "vfio-pci");
	CHECK_STR(rec.path[1], "/sys/bus/pci/devices/0000:00:04.0/driver/unbind");
	CHECK_STR(rec.value[1], "0000:00:04.0");
	CHECK_STR(rec.path[2], "/sys/bus/pci/drivers_probe");
	CHECK_STR(rec.value[2], "0000:00:04.0");

	/* again: it is on vfio-pci already, nothing written, nothing to restore */
	{
		struct devs_saved s2;

		rec.n = 0;
		CHECK_EQ(devs_bind_vfio(root, "0000:00:04.0", &s2, why, sizeof(why)), 0);
		CHECK(s2.was_vfio);
		CHECK_EQ(rec.n, 0);
		CHECK_EQ(devs_restore(root, "0000:00:04.0", &s2, why, sizeof(why)), 0);
		CHECK_EQ(rec.n, 0);
	}

	rec.n = 0;
	CHECK_EQ(devs_restore(root, "0000:00:04.0", &saved, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(rec.n, 3);
	CHECK_STR(rec.path[0], "/sys/bus/pci/devices/0000:00:04.0/driver/unbind");
	CHECK_STR(rec.path[1], "/sys/bus/pci/devices/0000:00:04.0/driver_override");
	CHECK_STR(rec.value[1], "\n");
	CHECK_STR(rec.path[2], "/sys/bus/pci/drivers_probe");
	fd = open(strcat(strcpy((char[700]){ 0 }, root), "/sys/bus/pci/devices/0000:00:04.0/driver_override"),
		  O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 1);
	if (fd >= 0)
		close(fd);

	/* a device without a driver: no unbind, and none after */
	rec.n = 0;
	rec.orig[0] = 0;
	CHECK_EQ(devs_bind_vfio(root, "0000:01:00.0", &saved, why, sizeof(why)), 0);
	CHECK_EQ(rec.n, 2);
	CHECK_STR(rec.path[1], "/sys/bus/pci/drivers_probe");
	CHECK_EQ(saved.group, 12);
	CHECK_EQ(devs_restore(root, "0000:01:00.0", &saved, why, sizeof(why)), 0);
	/* /dev/vfio/6 does not come: an error, and the device goes back */
	rec.n = 0;
	rec.no_node = true;
	snprintf(rec.orig, sizeof(rec.orig), "snd_hda_intel");
	CHECK_EQ(devs_bind_vfio(root, "0000:00:1f.3", &saved, why, sizeof(why)), -ENOENT);
	CHECK_HAS(why, "/dev/vfio/6 is not there");
	CHECK_EQ(rec.n, 6);
	CHECK_STR(rec.path[5], "/sys/bus/pci/drivers_probe");
	{
		char drv[64] = "";
		ssize_t k = readlink(strcat(strcpy((char[700]){ 0 }, root),
					     "/sys/bus/pci/devices/0000:00:1f.3/driver"), drv, sizeof(drv) - 1);

		CHECK(k > 0 && strstr(drv, "snd_hda_intel"));
	}
	rec.no_node = false;

	/* errors name the sysfs file; a failed unbind takes the override back */
	rec.n = 0;
	rec.fail_at = 1;
	snprintf(rec.orig, sizeof(rec.orig), "ahci");
	CHECK_EQ(devs_bind_vfio(root, "0000:00:1f.2", &saved, why, sizeof(why)), -EACCES);
	CHECK_HAS(why, "cannot unbind 0000:00:1f.2 from ahci");
	CHECK_HAS(why, "/sys/bus/pci/devices/0000:00:1f.2/driver/unbind");
	CHECK_EQ(rec.n, 3);
	CHECK_STR(rec.path[2], "/sys/bus/pci/devices/0000:00:1f.2/driver_override");
	CHECK_STR(rec.value[2], "\n");
	rec.n = 0;
	rec.fail_at = 0;
	CHECK_EQ(devs_bind_vfio(root, "0000:00:1f.2", &saved, why, sizeof(why)), -EACCES);
	CHECK_HAS(why, "cannot write vfio-pci to");
	CHECK_HAS(why, "driver_override: Permission denied");
	CHECK_EQ(devs_bind_vfio(root, "0000:09:00.0", &saved, why, sizeof(why)), -ENODEV);
	CHECK_HAS(why, "no such device");
	CHECK_EQ(devs_bind_vfio(root, "junk", &saved, why, sizeof(why)), -EINVAL);
	devs_set_writer(NULL, NULL);
}

TEST(devs_release_display)
{
	struct rec rec = { .fail_at = -1 };
	char why[300];

	fresh("display");
	put("sys/class/vtconsole/vtcon0/name", "(S) dummy device\n");
	put("sys/class/vtconsole/vtcon0/bind", "1\n");
	put("sys/class/vtconsole/vtcon1/name", "(M) frame buffer device\n");
	put("sys/class/vtconsole/vtcon1/bind", "1\n");
	put("sys/bus/platform/drivers/simple-framebuffer/unbind", "%s", "");
	mkdirs("sys/devices/platform/simple-framebuffer.0");
	ln("sys/bus/platform/drivers/simple-framebuffer/simple-framebuffer.0",
	   "sys/devices/platform/simple-framebuffer.0");
	mkdirs("sys/bus/platform/drivers/efi-framebuffer");
	devs_set_writer(recorder, &rec);
	CHECK_EQ(devs_release_display(root, why, sizeof(why)), 2);
	CHECK_EQ(rec.n, 2);
	CHECK_STR(rec.path[0], "/sys/class/vtconsole/vtcon1/bind");
	CHECK_STR(rec.value[0], "0");
	CHECK_STR(rec.path[1], "/sys/bus/platform/drivers/simple-framebuffer/unbind");
	CHECK_STR(rec.value[1], "simple-framebuffer.0");
	/* fbcon unbound already: only the framebuffer */
	rec.n = 0;
	rec.fail_at = 0;
	CHECK_EQ(devs_release_display(root, why, sizeof(why)), -EACCES);
	CHECK_HAS(why, "simple-framebuffer/unbind");
	devs_set_writer(NULL, NULL);
}

/* --- output ----------------------------------------------------------------------------------- */

TEST(devs_print_and_json)
{
	char *out = NULL, *json;
	size_t len = 0;
	FILE *f;

	machine("print", true);
	f = open_memstream(&out, &len);
	devs_print(&L, inv, f);
	fclose(f);
	CHECK_HAS(out, "IOMMU: on (1 unit, 8 groups); kernel command line: intel_iommu=on iommu=pt");
	CHECK_HAS(out, "0000:00:04.0  144d:a808 NVMe controller");
	CHECK_HAS(out, "nvme0n1 -> grub-deb 'Debian'");
	CHECK_HAS(out, "sda -> windows-1 'Windows', grub-fed 'Fedora'");
	CHECK_HAS(out, "boot display");
	CHECK_HAS(out, "1 keyboard");
	CHECK_HAS(out, "group 12 also: 0000:00:01.0 (PCI bridge), 0000:01:00.1 (audio device)");
	free(out);
	json = devs_json(&L, inv);
	CHECK(json != NULL);
	CHECK_HAS(json, "\"bdf\":\t\"0000:00:04.0\"");
	CHECK_HAS(json, "\"class_name\":\t\"NVMe controller\"");
	CHECK_HAS(json, "\"reset\":\t[\"flr\", \"bus\"]");
	CHECK_HAS(json, "\"oses\":\t[\"grub-deb\"]");
	CHECK_HAS(json, "\"oses\":\t[{\n\t\t\t\t\t\"id\":\t\"grub-deb\",\n\t\t\t\t\t\"label\":\t\"Debian\"");
	CHECK_HAS(json, "\"on\":\ttrue");
	free(json);

	machine("print-off", false);
	f = open_memstream(&out, &len);
	devs_print(&L, inv, f);
	fclose(f);
	CHECK_HAS(out, "IOMMU: off (enable VT-d or AMD-Vi in the firmware setup)");
	free(out);
}

/* --- (i) the planner's passthrough policy ------------------------------------------------------ */

static struct conf conf;
static struct plan plan;

static int make(const struct plan_host *h, unsigned n, ...)
{
	int sel[PLAN_MAX_VMS];
	va_list ap;

	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		sel[i] = va_arg(ap, int);
	va_end(ap);
	return plan_make(&plan, &conf, inv, h, sel, n);
}

static void dump(void)
{
	char buf[600];

	for (unsigned i = 0; i < conf.nerr; i++) {
		conf_format_error(&conf, i, buf, sizeof(buf));
		fprintf(stderr, "  error: %s\n", buf);
	}
	for (unsigned v = 0; v < plan.nvm; v++)
		for (unsigned i = 0; i < plan.vm[v].nnotes; i++)
			fprintf(stderr, "  note %s: %s\n", plan.vm[v].name, plan.vm[v].notes[i]);
}

static bool has_note(const struct plan_vm *vm, const char *word)
{
	for (unsigned i = 0; i < vm->nnotes; i++)
		if (has(vm->notes[i], word))
			return true;
	return false;
}

static struct conf_os *section(const char *name, const char *match, unsigned line)
{
	struct conf_os *s = &conf.os[conf.nos++];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->match, sizeof(s->match), "%s", match);
	s->line = line;
	return s;
}

TEST(devs_policy)
{
	struct plan_host h = { .cpus = 8, .memory = 8ull << 30 };
	const struct plan_vm *vm;

	machine("policy", true);
	conf_defaults(&conf);
	snprintf(conf.path, sizeof(conf.path), "polyboot.conf");
	h.devs = &L;
	h.serial_console = true;
	h.menu_on_display = true;

	/* Debian alone on nvme0n1: the controller, no emulated disk */
	CHECK_EQ(make(&h, 1, DEB), 0);
	vm = &plan.vm[0];
	CHECK_EQ(vm->ndevices, 1);
	CHECK_STR(vm->devices[0], "0000:00:04.0");
	CHECK(vm->device_auto[0]);
	CHECK_EQ(vm->ndisks, 0);
	CHECK(vm->boot_on_device);
	CHECK_EQ(vm->boot_part, 1);
	CHECK_EQ(vm->boot_disk, -1);
	CHECK(has_note(vm, "passthrough auto: 0000:00:04.0 (NVMe controller) with nvme0n1"));

	/* Windows and Fedora share sda: emulated, no device, no word about it */
	CHECK_EQ(make(&h, 1, WIN), 0);
	vm = &plan.vm[0];
	CHECK_EQ(vm->ndevices, 0);
	CHECK_EQ(vm->ndisks, 1);
	CHECK(!has_note(vm, "passthrough"));

	/* Arch alone on nvme1n1, but its controller has no reset method */
	CHECK_EQ(make(&h, 1, ARCH), 0);
	vm = &plan.vm[0];
	CHECK_EQ(vm->ndevices, 0);
	CHECK_EQ(vm->ndisks, 1);
	CHECK(has_note(vm, "passthrough auto: emulated disks instead, because 0000:02:00.0 (NVMe controller) has no reset method"));

	/* passthrough = off, globally or for the OS */
	conf.passthrough = CONF_PT_OFF;
	CHECK_EQ(make(&h, 1, DEB), 0);
	CHECK_EQ(plan.vm[0].ndevices, 0);
	CHECK_EQ(plan.vm[0].ndisks, 1);
	section("debian", "Debian", 1)->passthrough = CONF_PT_AUTO;
	CHECK_EQ(make(&h, 1, DEB), 0);
	CHECK_EQ(plan.vm[0].ndevices, 1);
	conf.passthrough = CONF_PT_AUTO;
	conf.os[0].passthrough = CONF_PT_OFF;
	CHECK_EQ(make(&h, 1, DEB), 0);
	CHECK_EQ(plan.vm[0].ndevices, 0);
	/* a `disk =` line on the disk: emulated as asked */
	conf.os[0].passthrough = CONF_PT_DEFAULT;
	conf.os[0].ndisks = 1;
	snprintf(conf.os[0].disk[0].what, sizeof(conf.os[0].disk[0].what), "n0-2");
	conf.os[0].disk[0].mode = CONF_DISK_RO;
	conf.os[0].disk[0].line = 3;
	CHECK_EQ(make(&h, 1, DEB), 0);
	CHECK_EQ(plan.vm[0].ndevices, 0);
	conf.nos = 0;

	/* the IOMMU off: emulated, silently */
	machine("policy-off", false);
	h.devs = &L;
	CHECK_EQ(make(&h, 1, DEB), 0);
	CHECK_EQ(plan.vm[0].ndevices, 0);
	CHECK_EQ(plan.vm[0].ndisks, 1);
	CHECK_EQ(plan.vm[0].nnotes, 0);
	if (conf.nerr)
		dump();
}

/* `device =` lines in the plan: the errors at their lines, the disks
 * going with the device, its warnings as notes */
TEST(devs_plan_device_lines)
{
	struct plan_host h = { .cpus = 8, .memory = 8ull << 30 };
	struct conf_os *s, *t;

	machine("lines", false);
	conf_defaults(&conf);
	snprintf(conf.path, sizeof(conf.path), "polyboot.conf");
	h.devs = &L;
	h.serial_console = true;
	h.menu_on_display = true;
	s = section("win", "Windows", 10);
	s->ndevices = 1;
	snprintf(s->device[0].bdf, sizeof(s->device[0].bdf), "0000:00:02.0");
	s->device[0].line = 12;
	CHECK_EQ(make(&h, 1, WIN), 1);
	CHECK(conf.nerr == 1 && conf.err[0].line == 12 && !strcmp(conf.err[0].key, "device"));
	CHECK_HAS(conf.err[0].msg, "the IOMMU is off");

	machine("lines-on", true);
	h.devs = &L;
	conf.nerr = 0;
	CHECK_EQ(make(&h, 1, WIN), 0);
	CHECK_EQ(plan.vm[0].ndevices, 1);
	CHECK(!plan.vm[0].device_auto[0]);
	CHECK_EQ(plan.vm[0].device_flags[0], DEVS_F_DISPLAY);
	CHECK(has_note(&plan.vm[0], "the menu moves to the serial console while 'win' runs"));
	h.serial_console = false;
	CHECK_EQ(make(&h, 1, WIN), 1);
	CHECK(conf.err[0].line == 12 && has(conf.err[0].msg, "no serial console"));
	h.serial_console = true;

	/* the NVMe to Debian by a line: nvme0n1 goes with it, so Windows
	 * cannot have a partition of it beside */
	conf.nerr = 0;
	conf.nos = 0;
	t = section("deb", "Debian", 30);
	t->ndevices = 1;
	snprintf(t->device[0].bdf, sizeof(t->device[0].bdf), "0000:00:04.0");
	t->device[0].line = 32;
	t->passthrough = CONF_PT_OFF;		/* a line is not the policy */
	CHECK_EQ(make(&h, 1, DEB), 0);
	CHECK_EQ(plan.vm[0].ndevices, 1);
	CHECK(!plan.vm[0].device_auto[0]);
	CHECK_EQ(plan.vm[0].ndisks, 0);
	CHECK(plan.vm[0].boot_on_device);
	s = section("win", "Windows", 10);
	s->ndisks = 1;
	snprintf(s->disk[0].what, sizeof(s->disk[0].what), "n0-2");
	s->disk[0].mode = CONF_DISK_RO;
	s->disk[0].line = 14;
	CHECK_EQ(make(&h, 2, DEB, WIN), 1);
	CHECK(conf.err[0].line == 32 && !strcmp(conf.err[0].key, "device"));
	CHECK_HAS(conf.err[0].msg, "goes to 'deb' with its disks, but 'win' uses /dev/nvme0n1");

	/* polyboot's ESP is on sda: its controller is refused while Windows is
	 * on it too; the audio device of its group alone breaks the group */
	conf.nerr = 0;
	conf.nos = 0;
	t = section("fed", "Fedora", 20);
	t->ndevices = 2;
	snprintf(t->device[0].bdf, sizeof(t->device[0].bdf), "0000:00:1f.2");
	t->device[0].line = 22;
	snprintf(t->device[1].bdf, sizeof(t->device[1].bdf), "0000:00:1f.3");
	t->device[1].line = 23;
	CHECK_EQ(make(&h, 1, FED), 1);
	CHECK(conf.err[0].line == 22 && has(conf.err[0].msg, "ESP polyboot runs from"));
	CHECK_HAS(conf.err[0].msg, "'Windows'");
	conf.nerr = 0;
	snprintf(t->device[0].bdf, sizeof(t->device[0].bdf), "0000:00:1f.3");
	t->ndevices = 1;
	CHECK_EQ(make(&h, 1, FED), 1);
	CHECK(conf.err[0].line == 22 && has(conf.err[0].msg, "IOMMU group 6"));

	/* the same device in two VMs: an error at each line */
	conf.nerr = 0;
	snprintf(t->device[0].bdf, sizeof(t->device[0].bdf), "0000:00:14.0");
	s = section("deb", "Debian", 30);
	s->ndevices = 1;
	snprintf(s->device[0].bdf, sizeof(s->device[0].bdf), "0000:00:14.0");
	s->device[0].line = 31;
	CHECK_EQ(make(&h, 2, FED, DEB), 2);
	CHECK(conf.err[0].line == 22 && has(conf.err[0].msg, "given to both 'fed' and 'deb'"));
	CHECK(conf.err[1].line == 31 && has(conf.err[1].msg, "given to both 'fed' and 'deb'"));

	/* Windows alone on sda (polyboot's ESP there too): it may have the
	 * controller, but only as the one VM, and the logs go to RAM */
	machine("lines-esp", true);
	unlink(strcat(strcpy((char[600]){ 0 }, root), "/sys/kernel/iommu_groups/6/devices/0000:00:1f.3"));
	devs_free(&L);
	CHECK_EQ(devs_scan(root, &L), 0);
	h.devs = &L;
	load_inv("{'disks':[{'id':'gpt:sa','dev':'/dev/sda','size':1,'partitions':["
		 " {'id':'sa-1','dev':'/dev/sda1','num':1,'start':1048576,'size':1048576,'type_name':'esp'},"
		 " {'id':'sa-4','dev':'/dev/sda4','num':4,'start':4194304,'size':1048576,'polyboot_esp':true}]},"
		 "{'id':'gpt:n0','dev':'/dev/nvme0n1','size':1,'partitions':["
		 " {'id':'n0-1','dev':'/dev/nvme0n1p1','num':1,'start':1048576,'size':1048576,'type_name':'esp'}]}],"
		 "'oses':[{'id':'windows-1','kind':'windows','label':'Windows','firmware':'uefi',"
		 " 'vm':{'partition':'sa-1','loader':'\\\\EFI\\\\x.efi'},'needs':[{'partition':'sa-1','role':'esp'}]},"
		 "{'id':'grub-deb','kind':'grub','label':'Debian','firmware':'uefi',"
		 " 'vm':{'partition':'n0-1','loader':'\\\\EFI\\\\y.efi'},'needs':[{'partition':'n0-1','role':'esp'}]}]}");
	conf.nerr = 0;
	conf.nos = 0;
	conf.passthrough = CONF_PT_OFF;
	t = section("win", "Windows", 10);
	t->ndevices = 1;
	snprintf(t->device[0].bdf, sizeof(t->device[0].bdf), "0000:00:1f.2");
	t->device[0].line = 12;
	CHECK_EQ(make(&h, 1, 0), 0);
	CHECK_EQ(plan.vm[0].ndevices, 1);
	CHECK_EQ(plan.vm[0].device_flags[0], DEVS_F_ESP);
	CHECK_EQ(plan.vm[0].ndisks, 0);
	CHECK(has_note(&plan.vm[0], "logs are kept in RAM only"));
	CHECK_EQ(make(&h, 2, 0, 1), 1);
	CHECK(conf.err[0].line == 12 && has(conf.err[0].msg, "start 'win' alone"));
	conf.passthrough = CONF_PT_AUTO;
	if (conf.nerr > 2)
		dump();
}

__attribute__((destructor)) static void cleanup(void)
{
	devs_free(&L);
	if (inv) {
		inv_free(inv);
		free(inv);
	}
}
