/*
 * The polyvmm machine: RAM, firmware (OVMF flash or a legacy BIOS ROM), the
 * Q35-flavoured device set,
 * vCPU threads and the I/O thread, and the lifecycle (power-off, reset,
 * crash). main.c turns the command line into a struct machine_config and
 * calls machine_run().
 */
#ifndef POLYBOOT_VMM_MACHINE_MACHINE_H
#define POLYBOOT_VMM_MACHINE_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk/diskspec.h"

#define MACHINE_MAX_CPUS 255
#define MACHINE_MAX_SMBIOS_OVERRIDES 32
#define MACHINE_MAX_DISKS 8
#define MACHINE_MAX_VFIO 8

enum machine_reboot { REBOOT_RESTART, REBOOT_EXIT };

/* polyvmm's exit status: what happened to the guest. */
enum machine_exit {
	MEXIT_POWEROFF = 0,	/* the guest powered off (ACPI S5) */
	MEXIT_ERROR = 1,	/* the VMM failed (setup, host error) */
	MEXIT_USAGE = 2,	/* bad command line */
	MEXIT_RESET = 3,	/* the guest asked for a reset (--reboot=exit) */
	MEXIT_CRASH = 4,	/* triple fault, KVM internal error, failed entry */
	MEXIT_KILLED = 5,	/* stopped by a signal (SIGTERM/SIGINT) */
	MEXIT_STOPPED = 6,	/* force-stopped through the control socket */
};

/* --device vfio=BDF[,rom=auto|off|FILE]: a host PCI function passed through. */
enum machine_vfio_rom { MVFIO_ROM_AUTO, MVFIO_ROM_OFF, MVFIO_ROM_FILE };

struct machine_vfio {
	char bdf[16];			/* normalised: "0000:01:00.0" */
	enum machine_vfio_rom rom;	/* auto: the device's own ROM */
	char rom_file[256];		/* MVFIO_ROM_FILE */
};

struct machine_config {
	const char *name;		/* for logs */
	const char *firmware;		/* OVMF_CODE*.fd */
	const char *bios;		/* or a legacy BIOS image (SeaBIOS bios-256k.bin) */
	const char *vars;		/* per-VM OVMF_VARS*.fd, updated in place */
	bool vars_readonly;
	unsigned cpus;
	uint64_t memory;		/* bytes */
	const char *serial;		/* "stdio", "file:PATH", "socket:PATH", "none" */
	enum machine_reboot reboot;
	bool trace_io;
	const char *kvm_dev;		/* default /dev/kvm */
	const char *dmi_dir;		/* host SMBIOS strings (default /sys/class/dmi/id) */
	const char *smbios_set[MACHINE_MAX_SMBIOS_OVERRIDES];	/* "type1.serial=..." */
	unsigned n_smbios_set;
	struct disk_spec disk[MACHINE_MAX_DISKS];	/* --disk */
	unsigned ndisks;
	const char *control;		/* --control: unix socket path, or NULL */
	struct machine_vfio vfio[MACHINE_MAX_VFIO];	/* --device vfio=... */
	unsigned nvfio;
};

/* Fills the defaults (1 CPU, 512 MiB, serial stdio, reboot restart). */
void machine_config_defaults(struct machine_config *c);

/*
 * Parses the value of --device: "vfio=BDF[,rom=auto|off|FILE]" (BDF as
 * 0000:01:00.0 or 01:00.0, hex). On error writes a one-line reason.
 * Returns 0 or -EINVAL.
 */
int machine_vfio_parse(const char *s, struct machine_vfio *out, char *why, size_t len);

/* Checks the config; on error writes a one-line reason. Returns 0 or -EINVAL. */
int machine_config_check(const struct machine_config *c, char *why, size_t len);

/*
 * Runs the VM until it powers off, crashes, is killed, or resets with
 * --reboot=exit. Returns an enum machine_exit value and writes a one-line
 * reason into @why.
 */
int machine_run(const struct machine_config *c, char *why, size_t len);

/* Dry runs (no KVM): the memory map, and the ACPI tables as files. */
int machine_print_layout(const struct machine_config *c, int fd);
int machine_dump_acpi(const struct machine_config *c, const char *dir);

/* Guest RAM split: [0, low) and [4 GiB, 4 GiB + high). */
void machine_ram_split(uint64_t memory, uint64_t *low, uint64_t *high);

#endif
