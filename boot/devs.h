/*
 * PCI passthrough: the machine's PCI devices as the planner sees them,
 * whether a device may go to a VM (and what that costs), and moving a
 * device between its own driver and vfio-pci.
 *
 *   devs_scan()        every /sys/bus/pci/devices entry: ids, class,
 *                      driver, IOMMU group and its other members, reset
 *                      methods, the boot display, the keyboards and block
 *                      devices behind it; the IOMMU's state.
 *   devs_match_inv()   the disks and OSes of discovery's inventory behind
 *                      each device (matched by /dev name).
 *   devs_check()       per request (device -> VM): ok, ok with warnings,
 *                      or refused, in plain words with what would fix it.
 *   devs_bind_vfio()   driver_override, unbind, drivers_probe, verified;
 *   devs_restore()     and back to the driver it had.
 *
 * Everything reads and writes under a root prefix ("" is this machine),
 * so the tests run on fake sysfs trees; every sysfs write goes through
 * the function set with devs_set_writer(). The kernel ABI used is
 * Documentation/ABI/testing/sysfs-bus-pci (driver_override,
 * drivers_probe, reset_method, boot_vga) and sysfs-kernel-iommu_groups.
 */
#ifndef POLYBOOT_BOOT_DEVS_H
#define POLYBOOT_BOOT_DEVS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct inv;

#define DEVS_MAX		256	/* PCI functions kept (more are left out) */
#define DEVS_MAX_GROUP		16	/* other members of a group listed */
#define DEVS_MAX_BLOCK		16	/* block devices behind one device */
#define DEVS_MAX_OSES		8	/* OSes behind one device */
#define DEVS_BDF_LEN		16	/* "0000:00:04.0" */
#define DEVS_MSG_LEN		320
/* How long devs_bind_vfio()/devs_restore() wait for the kernel to bind
 * (drivers may probe asynchronously) and for /dev/vfio/N to appear. */
#define DEVS_WAIT_MS		2000

struct devs_member {
	char bdf[DEVS_BDF_LEN];
	uint32_t class;
	bool bridge;			/* excepted from "the whole group to one VM" */
};

struct devs_block {
	char name[32];			/* /sys/block entry: nvme0n1, sda, vda */
	int disk;			/* inventory disk with that /dev name, -1 */
};

struct devs_dev {
	char bdf[DEVS_BDF_LEN];		/* dddd:bb:dd.f, lower case */
	uint16_t vendor, device, sub_vendor, sub_device;
	uint32_t class;			/* 0xCCSSPP */
	char driver[32];		/* the bound driver, "" none */
	int group;			/* IOMMU group, -1 none */
	unsigned nmembers;		/* the group's other members (up to DEVS_MAX_GROUP) */
	struct devs_member members[DEVS_MAX_GROUP];
	bool members_cut;		/* the group has more: never passed */
	char reset[64];			/* reset_method: "flr bus"; "" none */
	bool boot_vga;			/* the display the firmware booted on */
	unsigned keyboards;		/* keyboards behind it */
	unsigned nblock;
	struct devs_block block[DEVS_MAX_BLOCK];
	unsigned noses;			/* devs_match_inv(): inventory OSes on those disks */
	int oses[DEVS_MAX_OSES];
	char path[256];			/* its sysfs directory, resolved */
};

struct devs_list {
	bool iommu;			/* on and working: units and groups */
	unsigned iommu_units;		/* /sys/class/iommu entries */
	unsigned iommu_groups;		/* /sys/kernel/iommu_groups entries */
	char cmdline[160];		/* the IOMMU words of /proc/cmdline, "" none */
	bool cmdline_off;		/* intel_iommu=off or amd_iommu=off among them */
	bool vfio_pci;			/* the vfio-pci driver is there */
	bool serial;			/* ttyS0 is a UART (sysfs type not 0) */
	unsigned keyboards;		/* keyboards in the machine */
	unsigned ndev;
	bool cut;			/* more than DEVS_MAX functions */
	struct devs_dev *dev;		/* ndev of them, by BDF; malloc'd */
};

/* Reads the machine under @root ("" or "/": this one). A machine without
 * PCI (no /sys/bus/pci/devices) gives an empty list. 0, or -ENOMEM;
 * devs_free() releases @l either way. */
int devs_scan(const char *root, struct devs_list *l);
void devs_free(struct devs_list *l);

/* Fills each device's block[].disk and oses[] from @inv (a block device
 * "nvme0n1" is the inventory disk "/dev/nvme0n1"). */
void devs_match_inv(struct devs_list *l, const struct inv *inv);

/* The device @bdf ("0000:01:00.0" or "01:00.0", any case), or NULL. */
const struct devs_dev *devs_find(const struct devs_list *l, const char *bdf);

/* "NVMe controller", "USB controller (xHCI)", "VGA controller", ... */
const char *devs_class_name(uint32_t class);
/* Bridges (host, PCI-to-PCI): never passed, excepted from group rules. */
bool devs_is_bridge(uint32_t class);
/* NVMe, SATA and SAS controllers: what the passthrough policy gives. */
bool devs_is_disk_controller(uint32_t class);

/* The OSes of @inv whose disks (ESP, boot disk, needs) sit behind @d,
 * into @oses (at most @max); the count. @all_known is false when a block
 * device behind @d is not in the inventory. */
unsigned devs_oses_behind(const struct devs_dev *d, const struct inv *inv, int *oses, unsigned max,
			  bool *all_known);

/* Parsers of free-form sysfs text, public for the fuzz target:
 * a capabilities/key bitmap (hex words, most significant first, 64 bits
 * each) has the keys of a keyboard (A, Z, Enter, Space); */
bool devs_keys_keyboard(const char *bitmap);
/* the IOMMU words of a kernel command line into @out ("" none); true when
 * one of them turns the IOMMU off. */
bool devs_cmdline_iommu(const char *cmdline, char *out, size_t len);

/* --- feasibility ----------------------------------------------------------- */

struct devs_ctx {
	const struct inv *inv;		/* who uses the disks behind a device; NULL: unknown */
	char esp_disk[32];		/* block device holding polyboot's ESP ("nvme0n1"), "" unknown */
	bool serial_console;		/* the menu can run on a serial console */
	bool menu_on_display;		/* the menu is drawn on the framebuffer console */
};

struct devs_req {
	char bdf[DEVS_BDF_LEN];
	char vm[48];			/* the VM's name: messages, "the same VM" */
	int os;				/* its inventory OS, -1 unknown */
};

enum devs_verdict { DEVS_OK, DEVS_WARN, DEVS_REFUSED };

enum {
	DEVS_F_DISPLAY = 1 << 0,	/* the boot display the menu uses: menu to serial */
	DEVS_F_KEYBOARD = 1 << 1,	/* the menu's last keyboard */
	DEVS_F_ESP = 1 << 2,		/* holds polyboot's ESP: logs to RAM */
	DEVS_F_NORESET = 1 << 3,
};

struct devs_decision {
	enum devs_verdict verdict;
	unsigned flags;			/* DEVS_F_*, for ok and warned requests */
	char msg[DEVS_MSG_LEN];		/* why refused, or the warnings ("; "); "" when ok */
};

/*
 * Decides every request @req[0..n) together (the group rule and "one VM
 * per device" look at all of them) into @out[0..n). Refusals, each with
 * its own message: the IOMMU off or not working, no vfio-pci driver, no
 * such device, a bridge, a device given to two VMs, in no IOMMU group,
 * another endpoint of its group not given to the same VM, the disk of
 * polyboot's ESP while another OS uses its disks, the boot display or the
 * last keyboard of the menu without a serial console. Warnings: the ESP
 * for its only OS, the display or keyboard moving the menu to serial, no
 * reset method. Returns the number refused.
 */
unsigned devs_check(const struct devs_list *l, const struct devs_req *req, unsigned n,
		    const struct devs_ctx *ctx, struct devs_decision *out);

/* --- binding ---------------------------------------------------------------- */

struct devs_saved {
	char driver[32];		/* the driver it had, "" none */
	int group;
	bool was_vfio;			/* on vfio-pci already: nothing to restore */
};

/*
 * Every sysfs write of this module: @path (under the root) gets @value.
 * The default writes the file (devs_write_file()); tests set their own to
 * record the writes and play the kernel's part. NULL restores the
 * default.
 */
typedef int (*devs_write_fn)(void *ctx, const char *path, const char *value);
void devs_set_writer(devs_write_fn fn, void *ctx);
/* open(O_WRONLY) + one write of @value: 0 or -errno. */
int devs_write_file(const char *path, const char *value);

/* Gives @bdf to vfio-pci: writes "vfio-pci" to its driver_override,
 * unbinds it from its driver (saved in @saved), writes it to
 * drivers_probe, and checks that its driver is now vfio-pci and that
 * /dev/vfio/<group> exists. 0, or -errno with the sysfs path and what
 * went wrong in @why. */
int devs_bind_vfio(const char *root, const char *bdf, struct devs_saved *saved, char *why, size_t whylen);

/* Gives @bdf back: unbinds it from vfio-pci, clears driver_override,
 * drivers_probe, and checks that @saved's driver has it again (or none,
 * when it had none). 0 or -errno with @why. */
int devs_restore(const char *root, const char *bdf, const struct devs_saved *saved, char *why, size_t whylen);

/* Lets go of the boot display: unbinds fbcon from the virtual consoles
 * (vtcon*: bind <- 0) and the firmware framebuffer's platform driver
 * (simple-framebuffer, simpledrm, efi-framebuffer, vesa-framebuffer) from
 * its devices. The number of things released, or -errno with @why (the
 * first failure; the rest are still tried). */
int devs_release_display(const char *root, char *why, size_t whylen);

/* --- output ------------------------------------------------------------------- */

/* The table of `polyboot devices`: the IOMMU line, then a row per device. */
void devs_print(const struct devs_list *l, const struct inv *inv, FILE *f);
/* The same as JSON (cJSON; schema in README.md), malloc'd, or NULL. */
char *devs_json(const struct devs_list *l, const struct inv *inv);

#endif
