/*
 * polyboot: the firmware's own program, started by /init.
 *
 *   polyboot info      facts about this machine (KVM, nested paging, IOMMU, EFI)
 *   polyboot version   the firmware version
 *
 * Started without arguments it is the boot manager. Until the boot manager
 * exists it prints the machine facts and exits with status 3, which tells
 * /init to open the recovery shell.
 */
#define LOG_MOD "polyboot"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "info", cmd_info, "print facts about this machine" },
	{ "version", cmd_version, "print the firmware version" },
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
