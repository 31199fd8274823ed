/*
 * The planner: before anything starts, turns a selection of OSes (from the
 * menu or the configuration) into one VM plan each, or explains why not.
 *
 *  - CPUs and memory: what each VM gets (its [os] section, or defaults
 *    sized to the machine), checked against the host minus the firmware's
 *    reserve; overcommit is refused. When the CPUs suffice every VM gets a
 *    cpuset of its own (cgroup v2), so VMs never fight over cores.
 *  - Disks (the arbiter): no disk or partition is writable by two running
 *    VMs. An OS alone on a disk gets the whole disk; OSes sharing a disk
 *    get synthetic disks of their own partitions (vmm/disk/synth.h), with
 *    a shared ESP as a per-VM copy-on-write view. A hibernated or BitLocker
 *    NTFS volume is never writable by an OS other than its own. Explicit
 *    `disk =` lines add disks and partitions with their mode.
 *  - Devices (devs.h): every `device =` line is checked with the machine's
 *    PCI devices (IOMMU on, the whole IOMMU group to one VM, no device in
 *    two VMs, polyboot's ESP, the boot display and the last keyboard of
 *    the menu, reset methods); warnings become notes of the VM. The disks
 *    behind a device a VM gets go with it: they are dropped from its
 *    emulated disks, and another VM wanting them is an error. The disk
 *    of polyboot's ESP goes to a VM only when it is the one VM planned
 *    (the others keep their VARS files there).
 *  - The passthrough policy (`passthrough = auto`, the default): an OS
 *    that is the only OS discovery found on every disk behind a disk
 *    controller (NVMe, SATA, SAS class) gets that controller instead of
 *    emulated disks when the device check passes without a warning and
 *    nothing in the configuration says otherwise (a `disk =` line on
 *    those disks, another VM using them, disks = none, a BIOS install).
 *    With the IOMMU off the policy gives nothing, silently.
 *
 * Every refusal is a conf_error() naming the file, line and key that asked
 * for it (line 0 when it came from the menu), in plain words with what
 * would fix it.
 */
#ifndef POLYBOOT_BOOT_PLAN_H
#define POLYBOOT_BOOT_PLAN_H
#include <stdbool.h>
#include <stdint.h>
#include "conf.h"
#include "devs.h"
#include "inv.h"

#define PLAN_MAX_VMS		CONF_MAX_OS
#define PLAN_MAX_DISKS		8
#define PLAN_DEFAULT_MEMORY	(1024ull << 20)	/* per VM, when the machine has room */
#define PLAN_MIN_MEMORY		(128ull << 20)
#define PLAN_VMM_OVERHEAD	(32ull << 20)	/* per VM: polyvmm, page tables, buffers */
#define PLAN_MAX_CPUS		512
#define PLAN_MAX_NOTES		8
#define PLAN_NOTE_LEN		320

struct plan_host {
	unsigned cpus;			/* online CPUs */
	uint64_t memory;		/* MemTotal, bytes */
	/* the online CPUs' numbers, ascending; when ncpu_ids < cpus (a host
	 * filled by hand) the CPUs are taken to be 0..cpus-1 */
	unsigned ncpu_ids;
	uint16_t cpu_ids[PLAN_MAX_CPUS];
	/* the id of the ESP polyboot runs from and writes (VARS files, logs),
	 * "" none: never given to a VM writable (besides discovery's
	 * polyboot_esp flag) */
	char firmware_part[48];
	/* the machine's PCI devices, for `device =` lines and the
	 * passthrough policy; NULL: not known, then device lines are only
	 * checked against each other and the policy gives nothing */
	const struct devs_list *devs;
	bool serial_console;		/* the menu can move to a serial console */
	bool menu_on_display;		/* the menu is drawn on the boot display */
};

struct plan_disk {
	char spec[512];			/* polyvmm --disk argument (path=...|synth=...) */
	char desc[160];			/* "vda whole disk rw", "vda parts 1(cow)+2" */
	int disk;			/* inventory disk index */
	bool writable;
	bool synth;			/* partitions only (else the whole disk) */
	char iface[8];			/* "virtio" (also in spec); "nvme" one day */
};

struct plan_vm {
	int os;				/* inventory index */
	int conf;			/* conf.os index, -1 when the OS has no section */
	char name[CONF_NAME_MAX];	/* section name, else the OS id */
	unsigned cpus;
	uint64_t memory;
	char cpuset[64];		/* "2-3": its own CPUs (overcommit is refused) */
	enum conf_fw firmware;		/* resolved: OVMF or SEABIOS */
	unsigned ndisks;
	struct plan_disk disks[PLAN_MAX_DISKS];
	/* the Boot#### entry a new VARS file gets (UEFI): the disk index in
	 * disks[] (as the guest sees it), its partition number there, loader */
	int boot_disk;
	unsigned boot_part;
	char loader[INV_PATH_MAX];
	char vars_name[64];		/* file under \EFI\polyboot\vars\: <os id>.fd */
	int order;
	unsigned delay_ms;
	enum conf_reboot on_reboot;
	/* PCI devices passed through (--device vfio=BDF), `device =` lines
	 * first, then the policy's */
	unsigned ndevices;
	char devices[CONF_MAX_DEVICES][16];
	unsigned device_flags[CONF_MAX_DEVICES];	/* DEVS_F_* of devs.h */
	bool device_auto[CONF_MAX_DEVICES];		/* given by the policy */
	/* its ESP is on a passed-through device: the Boot#### entry of a new
	 * VARS file is made from the host's disk (inventory esp_disk) before
	 * the device is bound; boot_part is the ESP's number */
	bool boot_on_device;
	/* what the arbiter left out and why (e.g. a partition Windows is
	 * hibernated on, wanted as data by another OS), the device check's
	 * warnings and the passthrough policy's decisions */
	unsigned nnotes;
	char notes[PLAN_MAX_NOTES][PLAN_NOTE_LEN];
};

struct plan {
	unsigned nvm;
	struct plan_vm vm[PLAN_MAX_VMS];	/* in start order */
	uint64_t mem_available;			/* host memory minus the reserve */
	unsigned cpus_available;
};

/* Plans the OSes @sel[0..nsel) (inventory indices). Returns 0 when all of
 * them can start (@p filled), else the number of errors added to @c. */
int plan_make(struct plan *p, struct conf *c, const struct inv *inv, const struct plan_host *h,
	      const int *sel, unsigned nsel);

/* The conf section that matches OS @os (by id, then label glob), or -1. */
int plan_conf_for_os(const struct conf *c, const struct inv *inv, int os);

/* The default set: OSes of sections with autostart=yes or named in
 * global default=, in order. Unmatched sections are errors in @c. Returns
 * the count written to @sel (at most @max). */
unsigned plan_default_set(struct conf *c, const struct inv *inv, int *sel, unsigned max);

/* Reads the host's CPUs and memory (sysconf, /proc/meminfo under @root). */
int plan_host_read(struct plan_host *h, const char *root);

#endif
