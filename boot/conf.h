/*
 * The headless configuration file, \EFI\polyboot\polyboot.conf on the ESP
 * polyboot booted from. INI syntax, parsed with inih (Debian's libinih).
 * The schema is documented in README.md ("Configuration file"):
 *
 *   [global]  mode, timeout, default, on_all_stopped, log_level, console,
 *             reserve_memory, reserve_cpus, grace, passthrough, cpu_pinning
 *   [os NAME] match, cpus, memory, disks, disk (repeatable), device
 *             (repeatable), passthrough, firmware, autostart, order,
 *             delay, on_reboot, native
 *
 * passthrough = auto | off (the planner's default policy, plan.h): auto
 * gives an OS a disk controller (NVMe, SATA, SAS) by PCI passthrough
 * instead of emulated disks when that OS is the only one found on every
 * disk behind the controller and the device check passes without a
 * warning (IOMMU on, its IOMMU group its own, not the controller of
 * polyboot's ESP, a reset method). [global] sets it for every OS
 * (default auto), an [os] section for its OS (default: the global one).
 *
 * Parsing never stops at the first problem: every error is recorded with
 * the file, line and key it concerns, and what could be parsed is kept, so
 * the boot manager shows all of them at once and falls back to the menu.
 * The planner (plan.h) adds its own errors (overcommit, disk conflicts)
 * with the same conf_error(), pointing at the key that caused them.
 */
#ifndef POLYBOOT_BOOT_CONF_H
#define POLYBOOT_BOOT_CONF_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_OS		16
#define CONF_MAX_DISKS		8
#define CONF_MAX_DEVICES	8
#define CONF_MAX_DEFAULT	16
#define CONF_MAX_ERRORS		32
#define CONF_NAME_MAX		48
#define CONF_MATCH_MAX		128
#define CONF_MAX_SIZE		(64 * 1024)	/* a bigger file is an error */

enum conf_mode { CONF_MODE_MENU, CONF_MODE_AUTO };
enum conf_after { CONF_AFTER_POWEROFF, CONF_AFTER_MENU };
enum conf_fw { CONF_FW_AUTO, CONF_FW_OVMF, CONF_FW_SEABIOS };
enum conf_disk_mode { CONF_DISK_RO, CONF_DISK_RW, CONF_DISK_COW };
enum conf_reboot { CONF_REBOOT_RESTART, CONF_REBOOT_STOP };
enum conf_disks { CONF_DISKS_AUTO, CONF_DISKS_NONE };
enum conf_native { CONF_NATIVE_AUTO, CONF_NATIVE_KEXEC, CONF_NATIVE_BOOTNEXT };
/* passthrough =: an [os] section's DEFAULT is the global value */
enum conf_pt { CONF_PT_DEFAULT, CONF_PT_AUTO, CONF_PT_OFF };

/* disk = WHAT [ro|rw|cow]: WHAT is an inventory disk id (gpt:<guid>,
 * mbr:<sig>), a partition id (its GUID or <sig>-<nn>), or a /dev path. */
struct conf_disk {
	char what[CONF_MATCH_MAX];
	enum conf_disk_mode mode;	/* default rw for a disk, rw for a partition */
	unsigned line;
};

/* device = 0000:BB:DD.F (PCI passthrough; devs.h checks it, plan.h plans it). */
struct conf_device {
	char bdf[16];
	unsigned line;
};

struct conf_os {
	char name[CONF_NAME_MAX];	/* [os NAME] */
	char match[CONF_MATCH_MAX];	/* inventory id, or a glob on the label; default NAME */
	unsigned cpus;			/* 0: the planner's default */
	uint64_t memory;		/* bytes; 0: the planner's default */
	enum conf_disks disks;		/* auto: what discovery says the OS needs */
	unsigned ndisks;
	struct conf_disk disk[CONF_MAX_DISKS];
	unsigned ndevices;
	struct conf_device device[CONF_MAX_DEVICES];
	enum conf_fw firmware;
	bool autostart;
	int order;			/* start order, lower first (default 0) */
	unsigned delay_ms;		/* wait after the previous start (delay = 2.5 -> 2500) */
	enum conf_reboot on_reboot;
	enum conf_native native;	/* how "boot natively" starts it */
	enum conf_pt passthrough;	/* default: the global value */
	/* where each key was set (0: not set), for the planner's messages */
	unsigned line, line_match, line_cpus, line_memory, line_firmware, line_passthrough;
};

struct conf_err {
	unsigned line;			/* 0: the file as a whole */
	char key[CONF_NAME_MAX];	/* "" when no key is concerned */
	char msg[320];
};

struct conf {
	char path[256];			/* as given to the parser, used in messages */
	bool present;			/* a file was read (false: built-in defaults) */
	enum conf_mode mode;		/* default menu */
	int timeout;			/* seconds of countdown before the default set; -1 none (default 5) */
	unsigned ndefault;
	char defaults[CONF_MAX_DEFAULT][CONF_NAME_MAX];	/* default = a, b (os section names) */
	unsigned line_default;
	enum conf_after on_all_stopped;	/* default poweroff */
	int log_level;			/* LOG_ERR..LOG_DEBUG of log.h (default info) */
	bool console_serial, console_fb;	/* console = serial, fb (default both) */
	uint64_t reserve_memory;	/* kept for the firmware (default 256 MiB) */
	unsigned reserve_cpus;		/* default 0: CPUs are shared with the firmware */
	unsigned grace_s;		/* power button -> force stop after (default 60) */
	enum conf_pt passthrough;	/* AUTO (default) or OFF */
	bool cpu_pinning;		/* a disjoint cpuset per VM (default yes) */
	unsigned line_reserve_memory, line_passthrough;
	unsigned nos;
	struct conf_os os[CONF_MAX_OS];
	unsigned nerr, err_dropped;
	struct conf_err err[CONF_MAX_ERRORS];
};

/* The built-in defaults (no file). */
void conf_defaults(struct conf *c);

/* Parses @text (@len bytes, any content) as file @path. Returns the number
 * of errors recorded (0 = valid). */
int conf_parse(struct conf *c, const char *path, const char *text, size_t len);

/* Reads and parses @path. -errno when it cannot be read (then c holds the
 * defaults and one error naming the file), else as conf_parse(). */
int conf_load(struct conf *c, const char *path);

/* Records an error at @line/@key ("" for none). */
void conf_error(struct conf *c, unsigned line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "FILE:LINE: key 'KEY': MSG" (or "FILE:LINE: MSG", "FILE: MSG") for
 * error @i, into @buf. */
void conf_format_error(const struct conf *c, unsigned i, char *buf, size_t len);

/* The section for @name, or NULL. */
struct conf_os *conf_find_os(struct conf *c, const char *name);

const char *conf_disk_mode_name(enum conf_disk_mode m);
const char *conf_fw_name(enum conf_fw f);
/* The passthrough policy for section @s (NULL: an OS without one):
 * CONF_PT_AUTO or CONF_PT_OFF. */
enum conf_pt conf_passthrough(const struct conf *c, const struct conf_os *s);

#endif
