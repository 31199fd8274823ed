/*
 * polyboot: the firmware's own program, started by /init.
 *
 *   polyboot info      facts about this machine (KVM, nested paging, IOMMU, EFI)
 *   polyboot version   the firmware version
 *   polyboot scan      discovery: every disk, partition and installed OS
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

static int cmd_check_config(int argc, char **argv)
{
	static struct conf c;
	static struct inv inv;
	static struct plan p;
	const char *file = NULL, *invpath = NULL;
	struct plan_host h = { 0 };
	bool host_given = false;
	int sel[PLAN_MAX_VMS], r;
	unsigned nsel;

	for (int i = 1; i < argc; i++) {
		uint64_t v;

		if (strcmp(argv[i], "--inventory") == 0 && i + 1 < argc) {
			invpath = argv[++i];
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
				"usage: polyboot check-config FILE [--inventory SCAN.json] [--cpus N] [--memory SIZE]\n"
				"  Validates a polyboot.conf offline. With --inventory (a saved `polyboot scan\n"
				"  --json`) the default set is also planned against this machine (or the\n"
				"  --cpus/--memory given): overcommit, disk and device conflicts.\n");
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: polyboot check-config FILE [--inventory SCAN.json] [--cpus N] [--memory SIZE]\n");
		return 2;
	}
	conf_load(&c, file);
	if (invpath) {
		char *json = NULL, why[300];
		size_t len = 0;
		int fd = open(invpath, O_RDONLY | O_CLOEXEC);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (16 << 20) ||
		    !(json = malloc((size_t)st.st_size + 1)) ||
		    pread_full(fd, json, (size_t)st.st_size, 0) < 0) {
			fprintf(stderr, "polyboot: cannot read %s\n", invpath);
			free(json);
			if (fd >= 0)
				close(fd);
			return 1;
		}
		close(fd);
		len = (size_t)st.st_size;
		json[len] = 0;
		r = inv_from_json(&inv, json, len, why, sizeof(why));
		free(json);
		if (r < 0) {
			fprintf(stderr, "polyboot: %s: %s\n", invpath, why);
			return 1;
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
		printf("  %s: %u CPUs%s%s, %llu MiB\n", p.vm[i].name, p.vm[i].cpus, p.vm[i].cpuset[0] ? " on " : "",
		       p.vm[i].cpuset, (unsigned long long)(p.vm[i].memory >> 20));
		for (unsigned d = 0; d < p.vm[i].ndisks; d++)
			printf("    disk %u: %s\n", d, p.vm[i].disks[d].desc);
	}
	inv_free(&inv);
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

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "info", cmd_info, "print facts about this machine" },
	{ "version", cmd_version, "print the firmware version" },
	{ "scan", cmd_scan, "find installed OSes on every disk (--json, --disk PATH)" },
	{ "check-config", cmd_check_config, "validate a polyboot.conf (--inventory SCAN.json plans it)" },
	{ "menu", cmd_menu, "the boot manager (default; --help for its options)" },
};

static void usage(void)
{
	fprintf(stderr, "usage: polyboot [command]\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %-10s %s\n", cmds[i].name, cmds[i].help);
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
