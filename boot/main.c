/*
 * polyboot: the firmware's own program, started by /init.
 *
 *   polyboot info      facts about this machine (KVM, nested paging, IOMMU, EFI)
 *   polyboot version   the firmware version
 *   polyboot scan      discovery: every disk, partition and installed OS
 *   polyboot devices   PCI devices for passthrough: IOMMU groups, drivers,
 *                      reset methods, the disks and OSes behind each
 *   polyboot check-config FILE   validates a polyboot.conf offline
 *
 * Started without arguments it is the boot manager (manager.h); its exit
 * status tells /init what to do next (power off, shell, reboot).
 */
#define LOG_MOD "polyboot"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "conf.h"
#include "devs.h"
#include "disc/report.h"
#include "disc/scan.h"
#include "inv.h"
#include "log.h"
#include "manager.h"
#include "plan.h"
#include "sysinfo.h"
#include "util.h"

static int cmd_info(int argc, char **argv)
{
	struct sysinfo_facts f;
	const char *root = argc > 1 ? argv[1] : "/";

	if (sysinfo_read(root, &f) < 0) {
		log_err("cannot read machine facts under %s", root);
		return 1;
	}
	sysinfo_print(&f, STDOUT_FILENO);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	struct sysinfo_facts f;
	sysinfo_read("/", &f);
	printf("polyboot %s\n", f.version);
	return 0;
}

static int cmd_menu(int argc, char **argv)
{
	return manager_main(argc, argv);
}

/* A saved `polyboot scan --json` into @inv; 0, or 1 with a message. */
static int read_inventory(const char *path, struct inv *inv)
{
	char *json = NULL, why[300];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (16 << 20) || !(json = malloc((size_t)st.st_size + 1)) ||
	    pread_full(fd, json, (size_t)st.st_size, 0) < 0) {
		fprintf(stderr, "polyboot: cannot read %s\n", path);
		free(json);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	json[st.st_size] = 0;
	r = inv_from_json(inv, json, (size_t)st.st_size, why, sizeof(why));
	free(json);
	if (r < 0) {
		fprintf(stderr, "polyboot: %s: %s\n", path, why);
		return 1;
	}
	return 0;
}

/* The facts the device check needs about the menu's consoles. */
static void host_devices(struct plan_host *h, const struct conf *c, const struct devs_list *l, const char *root)
{
	char fb[300];

	snprintf(fb, sizeof(fb), "%s/sys/class/graphics/fb0", strcmp(root, "/") ? root : "");
	h->devs = l;
	h->serial_console = c->console_serial && l->serial;
	h->menu_on_display = c->console_fb && access(fb, F_OK) == 0;
}

static int cmd_check_config(int argc, char **argv)
{
	static struct conf c;
	static struct inv inv;
	static struct plan p;
	static struct devs_list devs;
	const char *file = NULL, *invpath = NULL, *sysfs = "/";
	struct plan_host h = { 0 };
	bool host_given = false;
	int sel[PLAN_MAX_VMS];
	unsigned nsel;

	for (int i = 1; i < argc; i++) {
		uint64_t v;

		if (strcmp(argv[i], "--inventory") == 0 && i + 1 < argc) {
			invpath = argv[++i];
		} else if (strcmp(argv[i], "--sysfs") == 0 && i + 1 < argc) {
			sysfs = argv[++i];
		} else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc && parse_u64(argv[i + 1], 4096, &v) == 0) {
			h.cpus = (unsigned)v;
			host_given = true;
			i++;
		} else if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc && parse_size(argv[i + 1], &v) == 0) {
			h.memory = v;
			host_given = true;
			i++;
		} else if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else {
			fprintf(stderr,
				"usage: polyboot check-config FILE [--inventory SCAN.json] [--cpus N] [--memory SIZE] [--sysfs DIR]\n"
				"  Validates a polyboot.conf offline. With --inventory (a saved `polyboot scan\n"
				"  --json`) the default set is also planned against this machine (or the\n"
				"  --cpus/--memory given): overcommit, disk and device conflicts, and the\n"
				"  `device =` lines and the passthrough policy against this machine's PCI\n"
				"  devices (or the sysfs tree under --sysfs DIR).\n");
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: polyboot check-config FILE [--inventory SCAN.json] [--cpus N] [--memory SIZE] [--sysfs DIR]\n");
		return 2;
	}
	conf_load(&c, file);
	if (invpath) {
		if (read_inventory(invpath, &inv))
			return 1;
		if (devs_scan(sysfs, &devs) == 0) {
			devs_match_inv(&devs, &inv);
			host_devices(&h, &c, &devs, sysfs);
		}
		if (!host_given || !h.cpus || !h.memory) {
			struct plan_host live;

			if (plan_host_read(&live, "/") == 0) {
				if (!h.cpus)
					h.cpus = live.cpus;
				if (!h.memory)
					h.memory = live.memory;
			}
		}
		nsel = plan_default_set(&c, &inv, sel, PLAN_MAX_VMS);
		if (nsel)
			plan_make(&p, &c, &inv, &h, sel, nsel);
	}
	for (unsigned i = 0; i < c.nerr; i++) {
		char line[400];

		conf_format_error(&c, i, line, sizeof(line));
		printf("%s\n", line);
	}
	if (c.err_dropped)
		printf("%s: %u more errors\n", file, c.err_dropped);
	if (c.nerr)
		return 1;
	printf("%s: ok", file);
	if (invpath)
		printf(" (%u OS%s in the default set)", p.nvm, p.nvm == 1 ? "" : "es");
	printf("\n");
	for (unsigned i = 0; invpath && i < p.nvm; i++) {
		const struct plan_vm *vm = &p.vm[i];

		printf("  %s: %u CPUs%s%s, %llu MiB\n", vm->name, vm->cpus, vm->cpuset[0] ? " on " : "", vm->cpuset,
		       (unsigned long long)(vm->memory >> 20));
		for (unsigned d = 0; d < vm->ndisks; d++)
			printf("    disk %u: %s\n", d, vm->disks[d].desc);
		for (unsigned d = 0; d < vm->ndevices; d++) {
			const struct devs_dev *dv = devs_find(&devs, vm->devices[d]);

			printf("    device %s: %s, %s\n", vm->devices[d], dv ? devs_class_name(dv->class) : "?",
			       vm->device_auto[d] ? "passthrough auto" : "device line");
		}
		for (unsigned k = 0; k < vm->nnotes; k++)
			printf("    note: %s\n", vm->notes[k]);
	}
	inv_free(&inv);
	devs_free(&devs);
	return 0;
}

static void scan_usage(void)
{
	fprintf(stderr,
		"usage: polyboot scan [--json] [--disk PATH]... [--efivars DIR] [--no-mount] [--sysroot DIR]\n"
		"  Finds every installed OS on every disk, without writing anything.\n"
		"  --json         print the inventory as JSON (schema in README.md)\n"
		"  --disk PATH    scan this block device or image file (repeatable);\n"
		"                 without it every disk under /sys/block is scanned\n"
		"  --efivars DIR  read Boot#### variables from DIR (default %s;\n"
		"                 \"\" for none)\n"
		"  --no-mount     read FAT and NTFS only; never mount Linux filesystems\n"
		"  --sysroot DIR  look for sys/block and dev/ under DIR\n", EFIVARS_DEFAULT_DIR);
}

static int cmd_scan(int argc, char **argv)
{
	struct scan_opts o = { 0 };
	const char *disks[SCAN_MAX_DISKS], *sysroot = "";
	unsigned ndisks = 0;
	bool json = false;
	struct scan *s;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--no-mount") == 0) {
			o.no_mount = true;
		} else if (strcmp(a, "--disk") == 0 && i + 1 < argc) {
			if (ndisks == SCAN_MAX_DISKS) {
				log_err("scan: at most %d disks", SCAN_MAX_DISKS);
				return 2;
			}
			disks[ndisks++] = argv[++i];
		} else if (strcmp(a, "--efivars") == 0 && i + 1 < argc) {
			o.efivars = argv[++i];
		} else if (strcmp(a, "--sysroot") == 0 && i + 1 < argc) {
			sysroot = argv[++i];
		} else {
			scan_usage();
			return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 ? 0 : 2;
		}
	}
	s = scan_new(&o);
	if (!s) {
		log_err("scan: out of memory");
		return 1;
	}
	if (ndisks) {
		for (unsigned i = 0; i < ndisks; i++)
			if (scan_add_disk(s, disks[i]) < 0)
				log_warn("scan: %s not scanned", disks[i]);
	} else if ((r = scan_add_sysfs(s, sysroot)) < 0) {
		log_err("scan: cannot list %s/sys/block: %s", sysroot, strerror(-r));
		scan_free(s);
		return 1;
	}
	r = scan_run(s);
	if (r < 0) {
		log_err("scan: %s", strerror(-r));
		scan_free(s);
		return 1;
	}
	if (json) {
		char *out = report_json(s);

		if (!out) {
			log_err("scan: out of memory");
			scan_free(s);
			return 1;
		}
		printf("%s\n", out);
		free(out);
	} else {
		report_table(s, stdout);
	}
	scan_free(s);
	return 0;
}

static void devices_usage(void)
{
	fprintf(stderr,
		"usage: polyboot devices [--json] [--root DIR] [--inventory SCAN.json] [--no-scan]\n"
		"  The PCI devices as the passthrough planner sees them: ids, class, driver,\n"
		"  IOMMU group (and its other members), reset methods, the boot display,\n"
		"  keyboards, and the disks behind each with the OSes discovery found on them.\n"
		"  --json              as JSON (schema in README.md)\n"
		"  --root DIR          read sys/ and proc/ under DIR (a saved or fake tree)\n"
		"  --inventory FILE    a saved `polyboot scan --json` (else discovery runs,\n"
		"                      unless --root or --no-scan is given)\n");
}

static int cmd_devices(int argc, char **argv)
{
	static struct inv inv;
	static struct devs_list l;
	const char *root = "", *invpath = NULL;
	bool json = false, scan = true, have_inv = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			root = argv[++i];
			scan = false;
		} else if (!strcmp(argv[i], "--inventory") && i + 1 < argc) {
			invpath = argv[++i];
		} else if (!strcmp(argv[i], "--no-scan")) {
			scan = false;
		} else {
			devices_usage();
			return !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ? 0 : 2;
		}
	}
	if (invpath) {
		if (read_inventory(invpath, &inv))
			return 1;
		have_inv = true;
	} else if (scan) {
		/* discovery as `polyboot scan` runs it; its warnings are not
		 * what this command is about */
		enum log_level lv = log_get_level();
		struct scan_opts o = { 0 };
		struct scan *s = scan_new(&o);
		char *out = NULL, why[300];

		log_set_level(LOG_ERR);
		if (s && scan_add_sysfs(s, "") >= 0 && scan_run(s) >= 0)
			out = report_json(s);
		log_set_level(lv);
		if (out && inv_from_json(&inv, out, strlen(out), why, sizeof(why)) == 0)
			have_inv = true;
		else
			log_warn("discovery did not run (%s): disks are shown without their OSes",
				 out ? why : "no disks or no access");
		free(out);
		scan_free(s);
	}
	if (devs_scan(root, &l) < 0) {
		log_err("devices: out of memory");
		return 1;
	}
	if (have_inv)
		devs_match_inv(&l, &inv);
	if (json) {
		char *out = devs_json(&l, have_inv ? &inv : NULL);

		if (!out) {
			log_err("devices: out of memory");
			devs_free(&l);
			return 1;
		}
		printf("%s\n", out);
		free(out);
	} else {
		devs_print(&l, have_inv ? &inv : NULL, stdout);
	}
	devs_free(&l);
	if (have_inv)
		inv_free(&inv);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "info", cmd_info, "print facts about this machine" },
	{ "version", cmd_version, "print the firmware version" },
	{ "scan", cmd_scan, "find installed OSes on every disk (--json, --disk PATH)" },
	{ "devices", cmd_devices, "PCI devices for passthrough: IOMMU groups, drivers, disks (--json)" },
	{ "check-config", cmd_check_config, "validate a polyboot.conf (--inventory SCAN.json plans it)" },
	{ "menu", cmd_menu, "the boot manager (default; --help for its options)" },
};

static void usage(void)
{
	fprintf(stderr, "usage: polyboot [command]\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %-12s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv)
{
	log_set_prefix("polyboot");
	if (argc < 2)
		return cmd_menu(argc, argv);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "--help") != 0)
		log_err("unknown command '%s'", argv[1]);
	usage();
	return 2;
}
