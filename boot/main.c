/*
 * polyboot: the firmware's own program, started by /init.
 *
 *   polyboot info      facts about this machine (KVM, nested paging, IOMMU, EFI)
 *   polyboot version   the firmware version
 *   polyboot scan      discovery: every disk, partition and installed OS
 *
 * Started without arguments it is the boot manager. Until the boot manager
 * exists it prints the machine facts and exits with status 3, which tells
 * /init to open the recovery shell.
 */
#define LOG_MOD "polyboot"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disc/report.h"
#include "disc/scan.h"
#include "log.h"
#include "sysinfo.h"

#define EXIT_WANT_SHELL 3

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
	struct sysinfo_facts f;

	sysinfo_read("/", &f);
	printf("polyboot %s: %u CPUs, %llu MiB, KVM %s (%s, nested paging %s), %u IOMMU groups\n",
	       f.version, f.cpus, (unsigned long long)(f.mem_total >> 20),
	       f.kvm ? "ready" : "MISSING", f.kvm_vendor[0] ? f.kvm_vendor : "no module",
	       f.nested_paging ? "on" : "off", f.iommu_groups);
	printf("polyboot: the boot manager is not built yet; opening the recovery shell\n");
	return EXIT_WANT_SHELL;
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
	{ "menu", cmd_menu, "the boot manager (default)" },
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
