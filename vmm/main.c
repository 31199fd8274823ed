/*
 * polyvmm: one VM on KVM running Debian's stock OVMF or SeaBIOS.
 * The command line becomes a struct machine_config; the exit status says
 * what happened to the guest (see usage()).
 */
#define LOG_MOD "polyvmm"
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "efi/varstool.h"
#include "log.h"
#include "machine/control.h"
#include "machine/machine.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: polyvmm --firmware CODE.fd [--vars VARS.fd] [options]\n"
"       polyvmm --bios BIOS.bin [options]\n"
"\n"
"  --firmware FILE      OVMF code image (OVMF_CODE_4M.fd), mapped read-only below 4 GiB\n"
"  --bios FILE          a legacy BIOS instead (SeaBIOS bios-256k.bin): read-only below\n"
"                       4 GiB, its last 128 KiB copied to 0xE0000 at every reset;\n"
"                       SeaBIOS prints on COM1. Excludes --firmware and --vars\n"
"  --vars FILE          this VM's UEFI variable store (a copy of OVMF_VARS_4M.fd);\n"
"                       guest writes reach the file atomically (temp file + rename)\n"
"  --vars-readonly      never write the variable store (guest writes are dropped)\n"
"  --cpus N             vCPUs (default 1)\n"
"  --memory SIZE        guest RAM, e.g. 512M, 4G (default 512M)\n"
"  --serial SPEC        COM1: stdio (default), file:PATH, socket:PATH, none\n"
"  --name NAME          name used in log lines\n"
"  --reboot MODE        restart (default): a guest reset restarts the VM in-process;\n"
"                       exit: polyvmm exits with status 3 and the caller decides\n"
"  --disk SPEC          an emulated disk (repeatable, at most 8):\n"
"                         path=FILE|DEV[,if=virtio|nvme][,ro][,serial=S][,queues=N]\n"
"                              [,cache=auto|none|writeback][,offset=BYTES][,size=BYTES]\n"
"                         synth=DISK,parts=N[+N..][,cow=N[+N..]][,if=..][,ro][,serial=S]\n"
"                       (a virtual GPT disk of only those partitions of DISK; cow= ones\n"
"                       get a private copy-on-write view)\n"
"  --device vfio=BDF[,rom=auto|off|FILE]\n"
"                       pass the host PCI function BDF (0000:01:00.0 or 01:00.0)\n"
"                       through with VFIO (repeatable, at most 8; bound to vfio-pci,\n"
"                       its whole IOMMU group too). It appears at 00:0c.0 on (one\n"
"                       slot each, in order), with all guest RAM mapped for its DMA.\n"
"                       rom=auto (default): its own expansion ROM; off: none;\n"
"                       FILE: that image instead (rom= takes the rest of the value)\n"
"  --smbios KEY=VALUE   override an SMBIOS string, e.g. type1.serial=ABC (repeatable)\n"
"  --dmi-dir DIR        where the host's SMBIOS strings are read (default /sys/class/dmi/id)\n"
"  --control PATH       a unix socket (mode 0600) for the supervisor, one command a line:\n"
"                         status       ok state=running name=.. pid=.. cpus=.. memory=BYTES\n"
"                                      uptime_ms=.. resets=.. powerbutton=..\n"
"                         powerbutton  press the ACPI power button: ok listening|not-listening\n"
"                         reset        reset the VM as the guest would (see --reboot)\n"
"                         stop         force-stop: polyvmm exits with status 6\n"
"  --trace-io           log every port and MMIO access\n"
"  --log-level LEVEL    err, warn, info (default), debug\n"
"  --print-layout       print the guest memory map and exit (no KVM needed)\n"
"  --dump-acpi DIR      write the ACPI tables to DIR/<SIG>.dat and exit (no KVM needed)\n"
"\n"
"exit status: 0 guest powered off, 1 VMM error, 2 usage error, 3 guest reset\n"
"(with --reboot=exit), 4 guest crashed (triple fault, KVM error), 5 killed by a signal,\n"
"6 force-stopped through the control socket.\n"
"Each non-zero status comes with a one-line reason on stderr.\n");
}

enum {
	OPT_FIRMWARE = 256, OPT_VARS, OPT_VARS_RO, OPT_CPUS, OPT_MEMORY, OPT_SERIAL, OPT_NAME,
	OPT_REBOOT, OPT_SMBIOS, OPT_DMI_DIR, OPT_TRACE, OPT_LOG, OPT_LAYOUT, OPT_DUMP_ACPI, OPT_HELP,
	OPT_KVM, OPT_DISK, OPT_CONTROL, OPT_BIOS, OPT_DEVICE,
};

static const struct option opts[] = {
	{ "firmware", required_argument, 0, OPT_FIRMWARE },
	{ "bios", required_argument, 0, OPT_BIOS },
	{ "vars", required_argument, 0, OPT_VARS },
	{ "vars-readonly", no_argument, 0, OPT_VARS_RO },
	{ "cpus", required_argument, 0, OPT_CPUS },
	{ "memory", required_argument, 0, OPT_MEMORY },
	{ "serial", required_argument, 0, OPT_SERIAL },
	{ "name", required_argument, 0, OPT_NAME },
	{ "reboot", required_argument, 0, OPT_REBOOT },
	{ "smbios", required_argument, 0, OPT_SMBIOS },
	{ "disk", required_argument, 0, OPT_DISK },
	{ "device", required_argument, 0, OPT_DEVICE },
	{ "dmi-dir", required_argument, 0, OPT_DMI_DIR },
	{ "control", required_argument, 0, OPT_CONTROL },
	{ "trace-io", no_argument, 0, OPT_TRACE },
	{ "log-level", required_argument, 0, OPT_LOG },
	{ "print-layout", no_argument, 0, OPT_LAYOUT },
	{ "dump-acpi", required_argument, 0, OPT_DUMP_ACPI },
	{ "kvm-device", required_argument, 0, OPT_KVM },
	{ "help", no_argument, 0, OPT_HELP },
	{ 0, 0, 0, 0 },
};

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "polyvmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see polyvmm --help)\n");
	return MEXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct machine_config c;
	const char *dump_acpi = NULL;
	bool layout = false;
	char why[320] = "";
	uint64_t v;
	int o, r;

	/* Multi-call: installed as polyvmm-vars too. */
	{
		const char *base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (!strcmp(base, "polyvmm-vars"))
			return varstool_main(argc, argv);
		if (argc > 1 && !strcmp(argv[1], "vars"))
			return varstool_main(argc - 1, argv + 1);
	}
	machine_config_defaults(&c);
	log_set_prefix("polyvmm");
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case OPT_FIRMWARE: c.firmware = optarg; break;
		case OPT_BIOS: c.bios = optarg; break;
		case OPT_VARS: c.vars = optarg; break;
		case OPT_VARS_RO: c.vars_readonly = true; break;
		case OPT_CPUS:
			if (parse_u64(optarg, MACHINE_MAX_CPUS, &v) < 0 || v == 0)
				return bad("--cpus '%s': want 1..255", optarg);
			c.cpus = (unsigned)v;
			break;
		case OPT_MEMORY:
			if (parse_size(optarg, &v) < 0)
				return bad("--memory '%s': want a size such as 512M or 4G", optarg);
			if (v < 4096)	/* a bare number means MiB, as QEMU's -m */
				v <<= 20;
			c.memory = v;
			break;
		case OPT_SERIAL: c.serial = optarg; break;
		case OPT_NAME: c.name = optarg; break;
		case OPT_REBOOT:
			if (!strcmp(optarg, "restart"))
				c.reboot = REBOOT_RESTART;
			else if (!strcmp(optarg, "exit"))
				c.reboot = REBOOT_EXIT;
			else
				return bad("--reboot '%s': want restart or exit", optarg);
			break;
		case OPT_SMBIOS:
			if (c.n_smbios_set == MACHINE_MAX_SMBIOS_OVERRIDES)
				return bad("too many --smbios options (at most %d)", MACHINE_MAX_SMBIOS_OVERRIDES);
			c.smbios_set[c.n_smbios_set++] = optarg;
			break;
		case OPT_DISK:
			if (c.ndisks == MACHINE_MAX_DISKS)
				return bad("too many --disk options (at most %d)", MACHINE_MAX_DISKS);
			if (disk_spec_parse(optarg, &c.disk[c.ndisks], why, sizeof(why)) < 0)
				return bad("%s", why);
			c.ndisks++;
			break;
		case OPT_DEVICE:
			if (c.nvfio == MACHINE_MAX_VFIO)
				return bad("too many --device options (at most %d)", MACHINE_MAX_VFIO);
			if (machine_vfio_parse(optarg, &c.vfio[c.nvfio], why, sizeof(why)) < 0)
				return bad("%s", why);
			c.nvfio++;
			break;
		case OPT_DMI_DIR: c.dmi_dir = optarg; break;
		case OPT_CONTROL:
			if (control_path_check(optarg) < 0)
				return bad("--control '%s': want a unix socket path (at most 107 bytes)", optarg);
			c.control = optarg;
			break;
		case OPT_TRACE: c.trace_io = true; break;
		case OPT_LOG: {
			enum log_level l;
			if (log_parse_level(optarg, &l) < 0)
				return bad("--log-level '%s': want err, warn, info or debug", optarg);
			log_set_level(l);
			break;
		}
		case OPT_LAYOUT: layout = true; break;
		case OPT_DUMP_ACPI: dump_acpi = optarg; break;
		case OPT_KVM: c.kvm_dev = optarg; break;
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return MEXIT_USAGE;
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	{
		char prefix[80];
		snprintf(prefix, sizeof(prefix), "polyvmm[%s]", c.name);
		log_set_prefix(prefix);
	}
	if (layout || dump_acpi) {
		if (layout && (r = machine_print_layout(&c, STDOUT_FILENO)) < 0) {
			fprintf(stderr, "polyvmm: --print-layout: %s\n", strerror(-r));
			return MEXIT_ERROR;
		}
		if (dump_acpi && (r = machine_dump_acpi(&c, dump_acpi)) < 0) {
			fprintf(stderr, "polyvmm: --dump-acpi %s: %s\n", dump_acpi, strerror(-r));
			return MEXIT_ERROR;
		}
		return 0;
	}
	r = machine_run(&c, why, sizeof(why));
	switch (r) {
	case MEXIT_POWEROFF:
		log_info("guest powered off");
		break;
	case MEXIT_RESET:
		fprintf(stderr, "polyvmm[%s]: guest reset: %s\n", c.name, why);
		break;
	case MEXIT_CRASH:
		fprintf(stderr, "polyvmm[%s]: guest crashed: %s\n", c.name, why);
		break;
	case MEXIT_KILLED:
	case MEXIT_STOPPED:
		fprintf(stderr, "polyvmm[%s]: %s\n", c.name, why);
		break;
	case MEXIT_USAGE:
		fprintf(stderr, "polyvmm: %s (see polyvmm --help)\n", why);
		break;
	default:
		fprintf(stderr, "polyvmm[%s]: error: %s\n", c.name, why);
		break;
	}
	return r;
}
