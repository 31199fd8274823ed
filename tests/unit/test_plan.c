/*
 * plan: sizes and CPU sets, the disk arbiter (whole disks, synthetic disks
 * with a copy-on-write ESP, conflicts, `disk =` lines), devices, the
 * default set and the host facts, on a small inventory written here:
 *
 *   /dev/vda  gpt  1 ESP, 2 MSR, 3 NTFS 'Windows' (hibernated), 4 NTFS 'Data',
 *                  5 ext4 'debian-root', 6 swap: Windows + Debian (which
 *                  also mounts C: as data) + a Linux whose /home is C:
 *   /dev/vdb  gpt  1 ESP, 2 ext4 'boot', 3 btrfs 'fedora': Fedora, and a
 *                  rescue loader with Fedora's root
 *   /dev/vdc  mbr  1 ext4, 5 swap: Ubuntu for BIOS, and a second BIOS OS
 *   /dev/vdd  gpt  1 polyboot's own ESP, 2 ext4 'arch': Arch
 *   and an image file.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "conf.h"
#include "inv.h"
#include "plan.h"
#include "test.h"
#include "util.h"

static const char inventory[] =
	"{'polyboot_inventory':1,'disks':["
	"{'id':'gpt:a','dev':'/dev/vda','name':'vda','table':'gpt','size':1073741824,'partitions':["
	"{'id':'a1','dev':'/dev/vda1','num':1,'start':1048576,'size':67108864,'type_name':'esp',"
	" 'fs':{'type':'vfat','label':'SYSTEM'}},"
	"{'id':'a2','dev':'/dev/vda2','num':2,'start':68157440,'size':16777216,'type_name':'msr'},"
	"{'id':'a3','dev':'/dev/vda3','num':3,'start':84934656,'size':67108864,'type_name':'basic-data',"
	" 'fs':{'type':'ntfs','label':'Windows'},'windows':{'bitlocker':false,'hibernated':true}},"
	"{'id':'a4','dev':'/dev/vda4','num':4,'start':152043520,'size':48234496,'type_name':'basic-data',"
	" 'fs':{'type':'ntfs','label':'Data'},'windows':{'bitlocker':false,'hibernated':false}},"
	"{'id':'a5','dev':'/dev/vda5','num':5,'start':200278016,'size':50331648,'type_name':'linux',"
	" 'fs':{'type':'ext4','label':'debian-root'}},"
	"{'id':'a6','dev':'/dev/vda6','num':6,'start':250609664,'size':8388608,'type_name':'linux-swap',"
	" 'fs':{'type':'swap','label':null}}]},"
	"{'id':'gpt:b','dev':'/dev/vdb','name':'vdb','table':'gpt','size':1073741824,'partitions':["
	"{'id':'b1','dev':'/dev/vdb1','num':1,'start':1048576,'size':35651584,'fs':{'type':'vfat','label':null}},"
	"{'id':'b2','dev':'/dev/vdb2','num':2,'start':36700160,'size':67108864,'fs':{'type':'ext4','label':'boot'}},"
	"{'id':'b3','dev':'/dev/vdb3','num':3,'start':103809024,'size':117440512,"
	" 'fs':{'type':'btrfs','label':'fedora'}}]},"
	"{'id':'mbr:c','dev':'/dev/vdc','name':'vdc','table':'mbr','size':67108864,'partitions':["
	"{'id':'c-01','dev':'/dev/vdc1','num':1,'start':1048576,'size':41943040,'fs':{'type':'ext4','label':'ubuntu'}},"
	"{'id':'c-05','dev':'/dev/vdc5','num':5,'start':44040192,'size':8388608,'fs':{'type':'swap'}}]},"
	"{'id':'gpt:d','dev':'/dev/vdd','name':'esp','table':'gpt','size':268435456,'partitions':["
	"{'id':'d1','dev':'/dev/vdd1','num':1,'start':1048576,'size':134217728,'polyboot_esp':true,"
	" 'fs':{'type':'vfat','label':'POLYBOOT'}},"
	"{'id':'d2','dev':'/dev/vdd2','num':2,'start':135266304,'size':67108864,'fs':{'type':'ext4','label':'arch'}}]}"
	"],'oses':["
	"{'id':'windows-1fc0','kind':'windows','label':'Windows Boot Manager','firmware':'uefi',"
	" 'vm':{'partition':'a1','loader':'\\\\EFI\\\\Microsoft\\\\Boot\\\\bootmgfw.efi'},"
	" 'native':{'bootnext':'0001','kexec':null},"
	" 'needs':[{'partition':'a1','role':'esp'},{'partition':'a2','role':'msr'},"
	"  {'partition':'a3','role':'system'},{'partition':'a4','role':'data'}],'warnings':['hibernated']},"
	"{'id':'grub-deb','kind':'grub','label':'Debian GNU/Linux 12 (bookworm)','firmware':'uefi',"
	" 'vm':{'partition':'a1','loader':'\\\\EFI\\\\debian\\\\shimx64.efi'},"
	" 'needs':[{'partition':'a1','role':'esp'},{'partition':'a5','role':'root'},"
	"  {'partition':'a4','role':'data'},{'partition':'a3','role':'data'},{'partition':'a6','role':'swap'}]},"
	"{'id':'grub-fed','kind':'grub','label':'Fedora Linux 39','firmware':'uefi',"
	" 'vm':{'partition':'b1','loader':'\\\\EFI\\\\fedora\\\\shimx64.efi'},"
	" 'needs':[{'partition':'b1','role':'esp'},{'partition':'b3','role':'root'},{'partition':'b2','role':'boot'}]},"
	"{'id':'efi-rescue','kind':'efi-loader','label':'Rescue','firmware':'uefi',"
	" 'vm':{'partition':'b1','loader':'\\\\EFI\\\\rescue\\\\x.efi'},"
	" 'needs':[{'partition':'b1','role':'esp'},{'partition':'b3','role':'root'}]},"
	"{'id':'bios-ub','kind':'bios-grub2','label':'Ubuntu 22.04.4 LTS','firmware':'bios',"
	" 'vm':{'disk':'mbr:c'},"
	" 'needs':[{'disk':'mbr:c','role':'disk'},{'partition':'c-01','role':'root'},{'partition':'c-05','role':'swap'}]},"
	"{'id':'bios-dos','kind':'bios-other','label':'FreeDOS','firmware':'bios','vm':{'disk':'mbr:c'},"
	" 'needs':[{'disk':'mbr:c','role':'disk'}]},"
	"{'id':'grub-hib','kind':'grub','label':'Hib Linux','firmware':'uefi',"
	" 'vm':{'partition':'a1','loader':'\\\\EFI\\\\hib\\\\grubx64.efi'},"
	" 'needs':[{'partition':'a1','role':'esp'},{'partition':'a3','role':'home'}]},"
	"{'id':'sd-arch','kind':'systemd-boot','label':'Arch Linux','firmware':'uefi',"
	" 'vm':{'partition':'d1','loader':'\\\\EFI\\\\systemd\\\\systemd-bootx64.efi'},"
	" 'needs':[{'partition':'d1','role':'esp'},{'partition':'d2','role':'root'}]},"
	"{'id':'disk-image-1','kind':'disk-image','label':'debian.img','firmware':'uefi',"
	" 'vm':{'partition':'d2','image':'/images/debian.img'},'needs':[{'partition':'d2','role':'image'}]},"
	"{'id':'other-x','kind':'other','label':'Mystery','firmware':'unknown',"
	" 'vm':{'partition':'b1','loader':'\\\\EFI\\\\x.efi'},'needs':[{'partition':'b1','role':'esp'}]}"
	"]}";

enum { WIN, DEB, FED, RESCUE, UB, DOS, HIB, ARCH, IMG, MYST };

static struct inv *inv;
static struct conf conf;
static struct plan plan;

static const struct plan_host host8 = { .cpus = 8, .memory = 8ull << 30 };

static void setup(void)
{
	static char json[sizeof(inventory)];
	char why[160];

	if (!inv)
		inv = calloc(1, sizeof(*inv));
	else
		inv_free(inv);
	for (size_t i = 0; i < sizeof(inventory); i++)
		json[i] = inventory[i] == '\'' ? '"' : inventory[i];
	if (inv_from_json(inv, json, strlen(json), why, sizeof(why)))
		test_fail(__FILE__, __LINE__, "inventory: %s", why);
	conf_defaults(&conf);
	snprintf(conf.path, sizeof(conf.path), "polyboot.conf");
}

static struct conf_os *sec(const char *name, const char *match, unsigned line)
{
	struct conf_os *s = &conf.os[conf.nos++];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->match, sizeof(s->match), "%s", match ? match : name);
	s->line = line;
	s->line_match = match ? line + 1 : 0;
	return s;
}

static void sec_disk(struct conf_os *s, const char *what, enum conf_disk_mode m, unsigned line)
{
	struct conf_disk *d = &s->disk[s->ndisks++];

	snprintf(d->what, sizeof(d->what), "%s", what);
	d->mode = m;
	d->line = line;
}

static void sec_device(struct conf_os *s, const char *bdf, unsigned line)
{
	struct conf_device *d = &s->device[s->ndevices++];

	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	d->line = line;
}

static void dump_errors(void)
{
	char buf[400];

	for (unsigned i = 0; i < conf.nerr; i++) {
		conf_format_error(&conf, i, buf, sizeof(buf));
		fprintf(stderr, "  error: %s\n", buf);
	}
}

/* Is there an error at @line, key @key, whose message is (or, with a
 * trailing '*', starts with) @msg? */
static bool has_err(unsigned line, const char *key, const char *msg)
{
	size_t n = strlen(msg);
	bool prefix = n && msg[n - 1] == '*';

	for (unsigned i = 0; i < conf.nerr; i++) {
		const struct conf_err *e = &conf.err[i];

		if (e->line == line && !strcmp(e->key, key) &&
		    (prefix ? !strncmp(e->msg, msg, n - 1) : !strcmp(e->msg, msg)))
			return true;
	}
	return false;
}

#define CHECK_ERR(line, key, msg)                                                         \
	do {                                                                              \
		if (!has_err((line), (key), (msg))) {                                     \
			test_fail(__FILE__, __LINE__, "no error %u '%s' \"%s\"", (unsigned)(line), \
				  (key), (msg));                                          \
			dump_errors();                                                    \
		}                                                                         \
	} while (0)

static int make(const struct plan_host *h, unsigned n, ...)
{
	int sel[PLAN_MAX_VMS];
	va_list ap;
	int r;

	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		sel[i] = va_arg(ap, int);
	va_end(ap);
	r = plan_make(&plan, &conf, inv, h, sel, n);
	return r;
}

#define CHECK_OK(expr)                                           \
	do {                                                     \
		int r_ = (expr);                                 \
		if (r_) {                                        \
			test_fail(__FILE__, __LINE__, "%s: %d errors", #expr, r_); \
			dump_errors();                           \
		}                                                \
	} while (0)

TEST(plan_alone_whole_disk)
{
	const struct plan_vm *vm;

	setup();
	CHECK_OK(make(&host8, 1, FED));
	CHECK_EQ(plan.nvm, 1);
	vm = &plan.vm[0];
	CHECK_EQ(vm->os, FED);
	CHECK_EQ(vm->conf, -1);
	CHECK_STR(vm->name, "grub-fed");
	CHECK_EQ(vm->ndisks, 1);
	CHECK_STR(vm->disks[0].spec, "path=/dev/vdb,if=virtio");
	CHECK_STR(vm->disks[0].desc, "vdb whole disk rw");
	CHECK_STR(vm->disks[0].iface, "virtio");
	CHECK(vm->disks[0].writable && !vm->disks[0].synth);
	CHECK_EQ(vm->disks[0].disk, 1);
	CHECK_EQ(vm->boot_disk, 0);
	CHECK_EQ(vm->boot_part, 1);
	CHECK_STR(vm->loader, "\\EFI\\fedora\\shimx64.efi");
	CHECK_STR(vm->vars_name, "grub-fed.fd");
	CHECK_EQ(vm->firmware, CONF_FW_OVMF);
	CHECK_EQ(vm->cpus, 2);
	CHECK_EQ(vm->memory, PLAN_DEFAULT_MEMORY);
	CHECK_STR(vm->cpuset, "0-1");
	CHECK_EQ(vm->on_reboot, CONF_REBOOT_RESTART);
	CHECK_EQ(vm->nnotes, 0);
	CHECK_EQ(plan.mem_available, (8ull << 30) - (256ull << 20));
	CHECK_EQ(plan.cpus_available, 8);

	/* Windows alone on the dual boot disk gets it whole, hibernated C: included */
	CHECK_OK(make(&host8, 1, WIN));
	CHECK_STR(plan.vm[0].disks[0].spec, "path=/dev/vda,if=virtio");
	CHECK_EQ(plan.vm[0].boot_part, 1);
}

TEST(plan_bios_whole_disk)
{
	setup();
	CHECK_OK(make(&host8, 1, UB));
	CHECK_EQ(plan.vm[0].ndisks, 1);
	CHECK_STR(plan.vm[0].disks[0].spec, "path=/dev/vdc,if=virtio");
	CHECK_EQ(plan.vm[0].boot_disk, 0);
	CHECK_EQ(plan.vm[0].boot_part, 0);
	CHECK_EQ(plan.vm[0].firmware, CONF_FW_SEABIOS);
	CHECK_STR(plan.vm[0].vars_name, "bios-ub.fd");

	/* two BIOS installs on one disk */
	CHECK_EQ(make(&host8, 2, UB, DOS), 1);
	CHECK_ERR(0, "",
		  "disk /dev/vdc would be writable by both 'bios-ub' and 'bios-dos'; give one of them `disk = mbr:c ro` or start them separately");
}

TEST(plan_not_whole_for_linux_beside_hibernated_windows)
{
	const struct plan_vm *vm;

	/* Debian alone: the disk holds a hibernated C:, so only its partitions,
	 * and C: (wanted as data) is left out with a note */
	setup();
	CHECK_OK(make(&host8, 1, DEB));
	vm = &plan.vm[0];
	CHECK_EQ(vm->ndisks, 1);
	CHECK_STR(vm->disks[0].spec, "synth=/dev/vda,parts=1+4+5+6,if=virtio");
	CHECK_STR(vm->disks[0].desc, "vda parts 1+4+5+6 rw");
	CHECK(vm->disks[0].synth && vm->disks[0].writable);
	CHECK_EQ(vm->boot_disk, 0);
	CHECK_EQ(vm->boot_part, 1);
	CHECK_EQ(vm->nnotes, 1);
	CHECK_STR(vm->notes[0],
		  "/dev/vda3 (ntfs 'Windows') left out: Windows is hibernated on it, and only Windows may write it");

	/* wanted as /home it is an error */
	CHECK_EQ(make(&host8, 1, HIB), 1);
	CHECK_ERR(0, "",
		  "'grub-hib' needs /dev/vda3 (ntfs 'Windows') as its home partition, but Windows is hibernated on it: only Windows may write it");
	setup();
	sec("hib", "grub-hib", 30);
	CHECK_EQ(make(&host8, 1, HIB), 1);
	CHECK_ERR(30, "", "'hib' needs /dev/vda3*");
}

TEST(plan_shared_esp_cow)
{
	const struct plan_vm *w, *d;
	struct conf_os *s;

	setup();
	s = sec("debian", "Debian*", 10);
	sec_disk(s, "a4", CONF_DISK_RO, 12);
	sec("win", "windows-1fc0", 20);
	CHECK_OK(make(&host8, 2, WIN, DEB));
	CHECK_EQ(plan.nvm, 2);
	w = &plan.vm[0];
	d = &plan.vm[1];
	CHECK_STR(w->name, "win");
	CHECK_EQ(w->conf, 1);
	CHECK_STR(d->name, "debian");
	CHECK_EQ(w->ndisks, 1);
	CHECK_STR(w->disks[0].spec, "synth=/dev/vda,parts=1+2+3+4,cow=1,if=virtio");
	CHECK_STR(w->disks[0].desc, "vda parts 1(cow)+2+3+4 rw");
	CHECK_EQ(w->boot_disk, 0);
	CHECK_EQ(w->boot_part, 1);
	CHECK_STR(w->loader, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
	CHECK_EQ(d->ndisks, 2);
	CHECK_STR(d->disks[0].spec, "synth=/dev/vda,parts=1+5+6,cow=1,if=virtio");
	CHECK_STR(d->disks[1].spec, "synth=/dev/vda,parts=4,ro,if=virtio");
	CHECK_STR(d->disks[1].desc, "vda parts 4 ro");
	CHECK(!d->disks[1].writable);
	CHECK_EQ(d->boot_disk, 0);
	CHECK_EQ(d->boot_part, 1);
	CHECK_EQ(d->nnotes, 1);
	CHECK_STR(w->cpuset, "0-1");
	CHECK_STR(d->cpuset, "2-3");

	/* polyboot's own ESP is always a private view, even for an OS alone */
	setup();
	CHECK_OK(make(&host8, 1, ARCH));
	CHECK_STR(plan.vm[0].disks[0].spec, "synth=/dev/vdd,parts=1+2,cow=1,if=virtio");
	CHECK_EQ(plan.vm[0].boot_part, 1);
	/* or the one the manager mounted */
	{
		struct plan_host h = host8;

		snprintf(h.firmware_part, sizeof(h.firmware_part), "B1");
		CHECK_OK(make(&h, 1, FED));
		CHECK_STR(plan.vm[0].disks[0].spec, "synth=/dev/vdb,parts=1+2+3,cow=1,if=virtio");
		s = sec("fedora", "Fedora*", 1);
		sec_disk(s, "b1", CONF_DISK_RW, 2);
		CHECK_EQ(make(&h, 1, FED), 1);
		CHECK_ERR(2, "disk", "/dev/vdb1 (vfat) is the ESP polyboot runs from; use cow or ro");
	}
}

TEST(plan_partition_conflict)
{
	struct conf_os *a, *b;

	/* no configuration: line 0 */
	setup();
	CHECK_EQ(make(&host8, 2, WIN, DEB), 1);
	CHECK_ERR(0, "",
		  "partition /dev/vda4 (ntfs 'Data') would be writable by both 'windows-1fc0' and 'grub-deb'; give one of them `disk = a4 ro` or start them separately");

	/* sections: the first one's line */
	setup();
	sec("fedora", "Fedora*", 3);
	sec("rescue", "efi-rescue", 9);
	CHECK_EQ(make(&host8, 2, FED, RESCUE), 1);
	CHECK_ERR(3, "",
		  "partition /dev/vdb3 (btrfs 'fedora') would be writable by both 'fedora' and 'rescue'; give one of them `disk = b3 ro` or start them separately");

	/* `disk =` lines on both sides: an error at each */
	setup();
	a = sec("fedora", "Fedora*", 3);
	sec_disk(a, "/dev/vdb3", CONF_DISK_RW, 5);
	b = sec("rescue", "efi-rescue", 9);
	sec_disk(b, "B3", CONF_DISK_RW, 11);
	CHECK_EQ(make(&host8, 2, FED, RESCUE), 2);
	CHECK_ERR(5, "disk", "partition /dev/vdb3 (btrfs 'fedora') would be writable by both*");
	CHECK_ERR(11, "disk", "partition /dev/vdb3 (btrfs 'fedora') would be writable by both*");

	/* ro on one side: both get synthetic disks, the ESP a private view for both */
	setup();
	b = sec("rescue", "efi-rescue", 9);
	sec_disk(b, "b3", CONF_DISK_RO, 11);
	CHECK_OK(make(&host8, 2, FED, RESCUE));
	CHECK_STR(plan.vm[0].disks[0].spec, "synth=/dev/vdb,parts=1+2+3,cow=1,if=virtio");
	CHECK_EQ(plan.vm[1].ndisks, 2);
	CHECK_STR(plan.vm[1].disks[0].spec, "synth=/dev/vdb,parts=1,cow=1,if=virtio");
	CHECK_STR(plan.vm[1].disks[1].spec, "synth=/dev/vdb,parts=3,ro,if=virtio");
	CHECK_EQ(plan.vm[1].boot_disk, 0);

	/* sharing an MBR disk cannot be done with partitions */
	setup();
	a = sec("ub", "bios-ub", 1);
	sec_disk(a, "mbr:c", CONF_DISK_RO, 2);
	b = sec("fed", "Fedora*", 5);
	sec_disk(b, "c-01", CONF_DISK_RW, 6);
	CHECK_EQ(make(&host8, 2, UB, FED), 1);
	CHECK_ERR(5, "",
		  "'fed' may only get some partitions of /dev/vdc ('ub' uses it too), but polyvmm builds disks of chosen partitions from GPT disks only");
}

TEST(plan_explicit_disks)
{
	struct conf_os *s;

	/* disks = none: only the lines; a whole disk ro, a partition cow */
	setup();
	s = sec("fedora", "Fedora*", 1);
	s->disks = CONF_DISKS_NONE;
	sec_disk(s, "gpt:b", CONF_DISK_RW, 2);
	sec_disk(s, "/dev/vdc", CONF_DISK_RO, 3);
	sec_disk(s, "a5", CONF_DISK_COW, 4);
	CHECK_OK(make(&host8, 1, FED));
	CHECK_EQ(plan.vm[0].ndisks, 3);
	CHECK_STR(plan.vm[0].disks[0].spec, "path=/dev/vdb,if=virtio");
	CHECK_STR(plan.vm[0].disks[1].spec, "path=/dev/vdc,ro,if=virtio");
	CHECK_STR(plan.vm[0].disks[1].desc, "vdc whole disk ro");
	CHECK_STR(plan.vm[0].disks[2].spec, "synth=/dev/vda,parts=5,cow=5,if=virtio");
	CHECK_EQ(plan.vm[0].boot_disk, 0);
	CHECK_EQ(plan.vm[0].boot_part, 1);

	/* disks = none without the ESP: no Boot#### entry to make */
	setup();
	s = sec("fedora", "Fedora*", 1);
	s->disks = CONF_DISKS_NONE;
	sec_disk(s, "b3", CONF_DISK_RW, 2);
	CHECK_OK(make(&host8, 1, FED));
	CHECK_STR(plan.vm[0].disks[0].spec, "synth=/dev/vdb,parts=3,if=virtio");
	CHECK_EQ(plan.vm[0].boot_disk, -1);

	/* an extra partition of another disk, added to the auto set */
	setup();
	s = sec("fedora", "Fedora*", 1);
	sec_disk(s, "d2", CONF_DISK_RW, 2);
	CHECK_OK(make(&host8, 1, FED));
	CHECK_EQ(plan.vm[0].ndisks, 2);
	CHECK_STR(plan.vm[0].disks[0].spec, "path=/dev/vdb,if=virtio");
	CHECK_STR(plan.vm[0].disks[1].spec, "synth=/dev/vdd,parts=2,if=virtio");

	/* unknown, cow on a whole disk, rw on a hibernated volume or polyboot's ESP */
	setup();
	s = sec("fedora", "Fedora*", 1);
	sec_disk(s, "nope", CONF_DISK_RW, 2);
	sec_disk(s, "gpt:a", CONF_DISK_COW, 3);
	sec_disk(s, "a3", CONF_DISK_RW, 4);
	sec_disk(s, "d1", CONF_DISK_RW, 5);
	sec_disk(s, "gpt:a", CONF_DISK_RW, 6);
	CHECK_EQ(make(&host8, 1, FED), 5);
	CHECK_ERR(2, "disk", "no disk or partition 'nope' in the inventory");
	CHECK_ERR(3, "disk", "/dev/vda is a whole disk: cow applies to partitions; use ro or rw");
	CHECK_ERR(4, "disk",
		  "/dev/vda3 (ntfs 'Windows'): Windows is hibernated on it, and only Windows may write it; use ro or cow");
	CHECK_ERR(5, "disk", "/dev/vdd1 (vfat 'POLYBOOT') is the ESP polyboot runs from; use cow or ro");
	CHECK_ERR(6, "disk",
		  "/dev/vda holds a hibernated or BitLocker Windows volume, which only Windows may write; use ro");

	/* a partition line on the disk a BIOS OS gets whole */
	setup();
	s = sec("ub", "Ubuntu*", 1);
	sec_disk(s, "c-05", CONF_DISK_RO, 2);
	CHECK_EQ(make(&host8, 1, UB), 1);
	CHECK_ERR(2, "disk", "this partition is on /dev/vdc, which 'ub' gets whole (rw); name the disk instead");
}

TEST(plan_memory)
{
	struct conf_os *a, *b;
	struct plan_host h = { .cpus = 8, .memory = (8ull << 30) - (128ull << 20) };

	setup();
	a = sec("debian", "Debian*", 1);
	a->memory = 8ull << 30;
	a->line_memory = 7;
	b = sec("fedora", "Fedora*", 10);
	b->memory = 1ull << 30;
	b->line_memory = 14;
	CHECK_EQ(make(&h, 2, DEB, FED), 1);
	CHECK_ERR(7, "memory",
		  "the selected OSes need 9.1 GiB (debian 8 GiB, fedora 1 GiB, + 64 MiB for the VMMs) but 7.6 GiB are available (7.9 GiB installed, 256 MiB reserved for the firmware); lower memory or start fewer OSes");

	/* defaults sized to the machine: what the configured sizes leave, in 64 MiB steps */
	setup();
	h.memory = 2ull << 30;
	CHECK_OK(make(&h, 3, DEB, FED, UB));
	/* (2048 - 256 - 3 * 32) / 3 = 565 -> 512 MiB */
	CHECK_EQ(plan.vm[0].memory, 512ull << 20);
	CHECK_EQ(plan.vm[2].memory, 512ull << 20);
	a = sec("fedora", "Fedora*", 1);
	a->memory = 1ull << 30;
	CHECK_OK(make(&h, 3, DEB, FED, UB));
	/* (2048 - 256 - 96 - 1024) / 2 = 336 -> 320 MiB */
	CHECK_EQ(plan.vm[0].memory, 320ull << 20);
	CHECK_EQ(plan.vm[1].memory, 1ull << 30);
	/* never below the minimum: then it does not fit */
	setup();
	h.memory = 512ull << 20;
	CHECK_EQ(make(&h, 3, DEB, FED, UB), 1);
	CHECK_EQ(plan.vm[0].memory, PLAN_MIN_MEMORY);
	CHECK_ERR(0, "", "the selected OSes need 480 MiB (grub-deb 128 MiB, grub-fed 128 MiB, bios-ub 128 MiB, + 96 MiB for the VMMs) but 256 MiB are available*");
	/* a big machine: 1 GiB each */
	CHECK_OK(make(&host8, 3, DEB, FED, UB));
	CHECK_EQ(plan.vm[1].memory, PLAN_DEFAULT_MEMORY);
}

TEST(plan_cpus)
{
	struct conf_os *a, *b;
	struct plan_host h = { .cpus = 4, .memory = 8ull << 30 };

	/* the sum */
	setup();
	conf.reserve_cpus = 1;
	a = sec("debian", "Debian*", 1);
	a->cpus = 3;
	a->line_cpus = 5;
	b = sec("fedora", "Fedora*", 8);
	b->cpus = 2;
	b->line_cpus = 9;
	CHECK_EQ(make(&h, 2, DEB, FED), 1);
	CHECK_ERR(5, "cpus",
		  "the selected OSes need 5 CPUs (debian 3, fedora 2) but 3 are available (4 online, 1 reserved for the firmware); lower cpus or start fewer OSes");
	CHECK_STR(plan.vm[0].cpuset, "");

	/* one alone asking too much */
	b->cpus = 8;
	CHECK_EQ(make(&h, 1, FED), 1);
	CHECK_ERR(9, "cpus", "'fedora' asks for 8 CPUs but 3 are available (4 online, 1 reserved for the firmware)");

	/* defaults: what configured ones leave, 1 to 2 each; more OSes than CPUs is refused */
	setup();
	CHECK_OK(make(&h, 2, DEB, FED));
	CHECK_EQ(plan.vm[0].cpus, 2);
	CHECK_STR(plan.vm[1].cpuset, "2-3");
	CHECK_OK(make(&h, 3, DEB, FED, UB));
	CHECK_EQ(plan.vm[0].cpus, 1);
	CHECK_STR(plan.vm[2].cpuset, "2");
	CHECK_EQ(make(&h, 5, DEB, FED, UB, WIN, ARCH), 2);	/* and Windows' data partition */
	CHECK_ERR(0, "", "the selected OSes need 5 CPUs*");
}

TEST(plan_cpusets)
{
	struct conf_os *a, *b;
	struct plan_host h = { .cpus = 6, .memory = 8ull << 30, .ncpu_ids = 6,
			       .cpu_ids = { 0, 1, 2, 3, 8, 9 } };

	setup();
	conf.reserve_cpus = 1;
	a = sec("fedora", "Fedora*", 1);
	a->cpus = 3;
	b = sec("ub", "Ubuntu*", 4);
	b->cpus = 2;
	CHECK_OK(make(&h, 2, FED, UB));
	CHECK_STR(plan.vm[0].cpuset, "1-3");
	CHECK_STR(plan.vm[1].cpuset, "8-9");
	b->cpus = 1;
	a->cpus = 4;
	CHECK_OK(make(&h, 2, FED, UB));
	CHECK_STR(plan.vm[0].cpuset, "1-3,8");
	CHECK_STR(plan.vm[1].cpuset, "9");

	/* cpu_pinning = no: no cpusets, the budget is still checked */
	conf.cpu_pinning = false;
	CHECK_OK(make(&h, 2, FED, UB));
	CHECK_STR(plan.vm[0].cpuset, "");
	CHECK_STR(plan.vm[1].cpuset, "");
	CHECK_EQ(plan.vm[0].cpus, 4);
	a->cpus = 5;
	CHECK_EQ(make(&h, 2, FED, UB), 1);
	a->cpus = 4;
	conf.cpu_pinning = true;

	/* without the list: 0..cpus-1 */
	h.ncpu_ids = 0;
	CHECK_OK(make(&h, 2, FED, UB));
	CHECK_STR(plan.vm[0].cpuset, "1-4");
	CHECK_STR(plan.vm[1].cpuset, "5");
}

TEST(plan_order_and_settings)
{
	struct conf_os *a, *b;

	setup();
	a = sec("fedora", "Fedora*", 1);
	a->order = 5;
	a->delay_ms = 2500;
	a->on_reboot = CONF_REBOOT_STOP;
	a->firmware = CONF_FW_SEABIOS;
	b = sec("ub", "Ubuntu*", 4);
	b->order = -1;
	CHECK_OK(make(&host8, 3, FED, WIN, UB));
	CHECK_STR(plan.vm[0].name, "ub");
	CHECK_STR(plan.vm[1].name, "windows-1fc0");
	CHECK_STR(plan.vm[2].name, "fedora");
	CHECK_EQ(plan.vm[2].order, 5);
	CHECK_EQ(plan.vm[2].delay_ms, 2500);
	CHECK_EQ(plan.vm[2].on_reboot, CONF_REBOOT_STOP);
	CHECK_EQ(plan.vm[2].firmware, CONF_FW_SEABIOS);
	CHECK_STR(plan.vm[0].cpuset, "0-1");
	CHECK_STR(plan.vm[2].cpuset, "4-5");

	/* one section matching two selected OSes: the second is named by its id */
	setup();
	sec("linux", "grub-*", 1);
	a = sec("any", "*Linux*", 3);
	CHECK_OK(make(&host8, 2, FED, ARCH));
	CHECK_STR(plan.vm[0].name, "any");
	CHECK_STR(plan.vm[1].name, "sd-arch");
	CHECK_EQ(plan.vm[1].conf, 1);

	/* refusals: image files, unknown firmware, twice, out of range */
	setup();
	CHECK_EQ(make(&host8, 4, IMG, MYST, FED, FED), 3);
	CHECK_ERR(0, "", "'disk-image-1': booting image files is not supported yet");
	CHECK_ERR(0, "",
		  "'other-x': discovery could not tell whether it boots through UEFI or BIOS; set firmware = ovmf or seabios in its section");
	CHECK_ERR(0, "", "'grub-fed' is selected twice");
	setup();
	CHECK_EQ(make(&host8, 1, 99), 1);
	CHECK_ERR(0, "", "no OS #99 in the inventory");
	CHECK_EQ(make(&host8, 0), 0);
	CHECK_EQ(plan.nvm, 0);
}

TEST(plan_devices)
{
	struct conf_os *a, *b;

	setup();
	a = sec("fedora", "Fedora*", 1);
	sec_device(a, "0000:01:00.0", 2);
	sec_device(a, "0000:02:00.0", 3);
	b = sec("ub", "Ubuntu*", 5);
	sec_device(b, "0000:01:00.0", 7);
	CHECK_EQ(make(&host8, 2, FED, UB), 2);
	CHECK_ERR(2, "device", "0000:01:00.0 is given to both 'fedora' and 'ub'");
	CHECK_ERR(7, "device", "0000:01:00.0 is given to both 'fedora' and 'ub'");
	CHECK_OK(make(&host8, 1, FED));
	CHECK_EQ(plan.vm[0].ndevices, 2);
	CHECK_STR(plan.vm[0].devices[1], "0000:02:00.0");
}

/* The machine's devices by hand (devs_scan() is test_devs.c's): vda
 * behind a SATA controller, vdb behind an NVMe controller, vdc behind
 * a virtio controller; a GPU with its audio device in one group. */
static struct devs_dev hand_dev[5];
static struct devs_list hand = { .dev = hand_dev };

static void hand_devs(bool iommu)
{
	static const struct {
		const char *bdf, *block;
		uint32_t cls;
		int group;
	} d[] = {
		{ "0000:00:17.0", "vda", 0x010601, 3 },
		{ "0000:00:04.0", "vdb", 0x010802, 4 },
		{ "0000:00:05.0", "vdc", 0x010000, 5 },
		{ "0000:01:00.0", NULL, 0x030000, 7 },
		{ "0000:01:00.1", NULL, 0x040300, 7 },
	};

	memset(hand_dev, 0, sizeof(hand_dev));
	hand.iommu = iommu;
	hand.iommu_units = iommu;
	hand.iommu_groups = iommu ? 8 : 0;
	hand.vfio_pci = true;
	hand.ndev = ARRAY_SIZE(d);
	for (unsigned i = 0; i < ARRAY_SIZE(d); i++) {
		struct devs_dev *x = &hand_dev[i];

		snprintf(x->bdf, sizeof(x->bdf), "%s", d[i].bdf);
		x->class = d[i].cls;
		x->group = iommu ? d[i].group : -1;
		snprintf(x->reset, sizeof(x->reset), "flr");
		if (d[i].block) {
			snprintf(x->block[0].name, sizeof(x->block[0].name), "%s", d[i].block);
			x->nblock = 1;
		}
	}
	/* the GPU and its audio device */
	snprintf(hand_dev[3].members[0].bdf, sizeof(hand_dev[3].members[0].bdf), "0000:01:00.1");
	hand_dev[3].members[0].class = 0x040300;
	hand_dev[3].nmembers = 1;
	snprintf(hand_dev[4].members[0].bdf, sizeof(hand_dev[4].members[0].bdf), "0000:01:00.0");
	hand_dev[4].members[0].class = 0x030000;
	hand_dev[4].nmembers = 1;
}

TEST(plan_devices_checked)
{
	struct plan_host h = host8;
	struct conf_os *a, *b;

	h.devs = &hand;
	h.serial_console = true;

	/* the IOMMU off: every device line refused at its line; the policy
	 * silent, and plans without device lines as before */
	hand_devs(false);
	setup();
	a = sec("fedora", "Fedora*", 1);
	sec_device(a, "0000:00:04.0", 2);
	CHECK_EQ(make(&h, 1, FED), 1);
	CHECK_ERR(2, "device", "0000:00:04.0 (NVMe controller): the IOMMU is off*");
	setup();
	CHECK_OK(make(&h, 1, FED));
	CHECK_STR(plan.vm[0].disks[0].spec, "path=/dev/vdb,if=virtio");
	CHECK_EQ(plan.vm[0].ndevices, 0);
	CHECK_EQ(plan.vm[0].nnotes, 0);

	/* on: the NVMe by a line takes vdb along; the rescue loader, which
	 * needs vdb's partitions, cannot run beside it */
	hand_devs(true);
	setup();
	a = sec("fedora", "Fedora*", 1);
	sec_device(a, "00:04.0", 2);
	snprintf(a->device[0].bdf, sizeof(a->device[0].bdf), "0000:00:04.0");
	CHECK_OK(make(&h, 1, FED));
	CHECK_EQ(plan.vm[0].ndevices, 1);
	CHECK_STR(plan.vm[0].devices[0], "0000:00:04.0");
	CHECK(!plan.vm[0].device_auto[0]);
	CHECK_EQ(plan.vm[0].ndisks, 0);
	CHECK(plan.vm[0].boot_on_device);
	CHECK_EQ(plan.vm[0].boot_part, 1);
	CHECK_EQ(make(&h, 2, FED, RESCUE), 1);
	CHECK_ERR(2, "device",
		  "0000:00:04.0 (NVMe controller) goes to 'fedora' with its disks, but 'efi-rescue' uses /dev/vdb behind it too; start them separately or give neither the device");

	/* the policy: vdb holds two OSes (Fedora, the rescue loader), vda
	 * three, vdc two BIOS installs: emulated disks everywhere, no word */
	setup();
	CHECK_OK(make(&h, 3, FED, WIN, UB));
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(plan.vm[i].ndevices, 0);
		CHECK_EQ(plan.vm[i].nnotes, 0);
	}

	/* the GPU without its audio device; with it, on another line, fine,
	 * and its missing reset method a note */
	setup();
	b = sec("win", "windows-1fc0", 10);
	sec_device(b, "0000:01:00.0", 11);
	CHECK_EQ(make(&h, 1, WIN), 1);
	CHECK_ERR(11, "device", "0000:01:00.0 (VGA controller) is in IOMMU group 7 with 0000:01:00.1 (audio device), which is not given to 'win'*");
	sec_device(b, "0000:01:00.1", 12);
	hand_dev[3].reset[0] = 0;
	CHECK_OK(make(&h, 1, WIN));
	CHECK_EQ(plan.vm[0].ndevices, 2);
	CHECK_EQ(plan.vm[0].device_flags[0], DEVS_F_NORESET);
	CHECK_EQ(plan.vm[0].nnotes, 1);
	CHECK(strstr(plan.vm[0].notes[0], "has no reset method") != NULL);
	/* a device this machine does not have */
	sec_device(b, "0000:09:00.0", 13);
	CHECK_EQ(make(&h, 1, WIN), 1);
	CHECK_ERR(13, "device", "no PCI device 0000:09:00.0 on this machine*");
}

TEST(plan_conf_for_os)
{
	setup();
	sec("win", "windows-1fc0", 1);
	sec("deb", "debian*", 3);		/* a glob on the label, any case */
	sec("grub", "grub-*", 5);		/* globs are on labels, not ids */
	sec("Ubuntu*", NULL, 7);		/* match defaults to the name */
	CHECK_EQ(plan_conf_for_os(&conf, inv, WIN), 0);
	CHECK_EQ(plan_conf_for_os(&conf, inv, DEB), 1);
	CHECK_EQ(plan_conf_for_os(&conf, inv, FED), -1);
	CHECK_EQ(plan_conf_for_os(&conf, inv, UB), 3);
	CHECK_EQ(plan_conf_for_os(&conf, inv, -1), -1);
	CHECK_EQ(plan_conf_for_os(&conf, inv, 1000), -1);
	conf.os[2].match[4] = 0;		/* "grub": no glob, not an id */
	CHECK_EQ(plan_conf_for_os(&conf, inv, FED), -1);
	/* first match wins */
	sec("any", "*", 9);
	sec("fed", "grub-fed", 11);
	CHECK_EQ(plan_conf_for_os(&conf, inv, FED), 4);
}

TEST(plan_default_set)
{
	struct conf_os *s;
	int sel[PLAN_MAX_VMS];

	setup();
	s = sec("win", "Windows*", 1);
	s->autostart = true;
	s->order = 1;
	s = sec("deb", "Debian*", 4);
	s->autostart = true;
	s->order = 2;
	sec("fed", "grub-fed", 7);
	sec("ub", "Ubuntu*", 10);
	snprintf(conf.defaults[conf.ndefault++], CONF_NAME_MAX, "fed");
	snprintf(conf.defaults[conf.ndefault++], CONF_NAME_MAX, "nosuch");	/* conf_parse's error */
	CHECK_EQ(plan_default_set(&conf, inv, sel, PLAN_MAX_VMS), 3);
	CHECK_EQ(conf.nerr, 0);
	CHECK_EQ(sel[0], FED);
	CHECK_EQ(sel[1], WIN);
	CHECK_EQ(sel[2], DEB);
	CHECK_EQ(plan_default_set(&conf, inv, sel, 2), 2);

	/* unmatched sections, autostart or not, are errors at their match line */
	s = sec("haiku", "Haiku*", 20);
	s = sec("linux", "*Linux*", 23);	/* Debian's and Fedora's already; Arch is free */
	s = sec("debian2", "Debian*", 26);
	conf.nerr = 0;
	CHECK_EQ(plan_default_set(&conf, inv, sel, PLAN_MAX_VMS), 3);
	CHECK_EQ(conf.nerr, 2);
	CHECK_ERR(21, "match",
		  "[os haiku]: match 'Haiku*' finds no installed OS (found: windows-1fc0 'Windows Boot Manager', grub-deb 'Debian GNU/Linux 12 (bookworm)', grub-fed 'Fedora Linux 39', ...)");
	CHECK_ERR(27, "match", "[os debian2]: match 'Debian*' finds only OSes that [os deb] already stands for");

	/* a section whose match defaulted to its name: the section's line */
	setup();
	sec("Plan9", NULL, 3);
	CHECK_EQ(plan_default_set(&conf, inv, sel, PLAN_MAX_VMS), 0);
	CHECK_ERR(3, "", "[os Plan9]: match 'Plan9' finds no installed OS*");
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

TEST(plan_host_read)
{
	const char *root = test_tmpdir();
	struct plan_host h;
	char dir[512];

	CHECK_EQ(plan_host_read(&h, root), -ENOENT);
	snprintf(dir, sizeof(dir), "%s/proc", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/devices/system/cpu", root);
	CHECK_EQ(test_shf("mkdir -p sys/devices/system/cpu"), 0);
	write_file(root, "proc/meminfo", "MemFree:  100 kB\nMemTotal:       8138200 kB\nSwapTotal: 0 kB\n");
	write_file(root, "sys/devices/system/cpu/online", "0-3,8,10-11\n");
	CHECK_EQ(plan_host_read(&h, root), 0);
	CHECK_EQ(h.memory, 8138200ull * 1024);
	CHECK_EQ(h.cpus, 7);
	CHECK_EQ(h.ncpu_ids, 7);
	CHECK_EQ(h.cpu_ids[4], 8);
	CHECK_EQ(h.cpu_ids[6], 11);
	write_file(root, "sys/devices/system/cpu/online", "0\n");
	CHECK_EQ(plan_host_read(&h, root), 0);
	CHECK_EQ(h.cpus, 1);
	write_file(root, "sys/devices/system/cpu/online", "garbage\n");
	CHECK_EQ(plan_host_read(&h, root), -ENOENT);

	/* this machine */
	CHECK_EQ(plan_host_read(&h, "/"), 0);
	CHECK(h.cpus >= 1);
	CHECK(h.memory > 0);
}

__attribute__((destructor)) static void cleanup(void)
{
	if (inv) {
		inv_free(inv);
		free(inv);
	}
}
