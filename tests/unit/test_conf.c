/*
 * conf: polyboot.conf parsing, every key and every error with its line,
 * and how inih's syntax (comments, quotes, CRLF, indentation) comes out.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "ini.h"
#include "log.h"
#include "test.h"
#include "util.h"

#define PATH "/esp/EFI/polyboot/polyboot.conf"

static struct conf C;

static int parse(const char *text)
{
	return conf_parse(&C, PATH, text, strlen(text));
}

/* Error @i as conf_format_error() writes it. */
static const char *err(unsigned i)
{
	static char buf[4][512];
	char *b = buf[i % 4];

	conf_format_error(&C, i, b, sizeof(buf[0]));
	return b;
}

/* The one error of a one-line [os x] value, formatted. */
static const char *os_err(const char *line)
{
	char text[512];

	snprintf(text, sizeof(text), "[os x]\n%s\n", line);
	if (parse(text) != 1)
		return "(not one error)";
	return err(0);
}

static const char *global_err(const char *line)
{
	char text[512];

	snprintf(text, sizeof(text), "[global]\n%s\n", line);
	if (parse(text) != 1)
		return "(not one error)";
	return err(0);
}

TEST(conf_full)
{
	static const char text[] =
		"# polyboot.conf\n"					/* 1 */
		"[global]\n"						/* 2 */
		"mode = auto\n"						/* 3 */
		"timeout = 10\n"					/* 4 */
		"default = debian, windows\n"				/* 5 */
		"on_all_stopped = menu\n"				/* 6 */
		"log_level = debug\n"					/* 7 */
		"console = serial\n"					/* 8 */
		"reserve_memory = 512M\n"				/* 9 */
		"reserve_cpus = 1\n"					/* 10 */
		"grace = 30\n"						/* 11 */
		"\n"							/* 12 */
		"[os debian]\n"						/* 13 */
		"match = gpt:0fc63daf-8483-4772-8e79-3d69d8477de4\n"	/* 14 */
		"cpus = 4\n"						/* 15 */
		"memory = 8G\n"						/* 16 */
		"disks = none\n"					/* 17 */
		"disk = gpt:1234 ro\n"					/* 18 */
		"disk = /dev/sdb cow\n"					/* 19 */
		"disk = /dev/sdc\n"					/* 20 */
		"device = 01:00.0\n"					/* 21 */
		"device = 0000:0A:1f.7\n"				/* 22 */
		"firmware = uefi\n"					/* 23 */
		"autostart = yes\n"					/* 24 */
		"order = -5\n"						/* 25 */
		"delay = 2.5\n"						/* 26 */
		"on_reboot = stop\n"					/* 27 */
		"[os windows]\n"					/* 28 */
		"match = Windows*\n"					/* 29 */
		"firmware = bios\n"					/* 30 */
		"native = bootnext\n";					/* 31 */
	const struct conf_os *o;

	CHECK_EQ(parse(text), 0);
	CHECK_EQ(C.nerr, 0);
	CHECK_STR(C.path, PATH);
	CHECK(C.present);
	CHECK_EQ(C.mode, CONF_MODE_AUTO);
	CHECK_EQ(C.timeout, 10);
	CHECK_EQ(C.ndefault, 2);
	CHECK_STR(C.defaults[0], "debian");
	CHECK_STR(C.defaults[1], "windows");
	CHECK_EQ(C.line_default, 5);
	CHECK_EQ(C.on_all_stopped, CONF_AFTER_MENU);
	CHECK_EQ(C.log_level, LOG_DEBUG);
	CHECK(C.console_serial);
	CHECK(!C.console_fb);
	CHECK_EQ(C.reserve_memory, 512ull << 20);
	CHECK_EQ(C.line_reserve_memory, 9);
	CHECK_EQ(C.reserve_cpus, 1);
	CHECK_EQ(C.grace_s, 30);
	CHECK_EQ(C.nos, 2);

	o = &C.os[0];
	CHECK_STR(o->name, "debian");
	CHECK_EQ(o->line, 13);
	CHECK_STR(o->match, "gpt:0fc63daf-8483-4772-8e79-3d69d8477de4");
	CHECK_EQ(o->line_match, 14);
	CHECK_EQ(o->cpus, 4);
	CHECK_EQ(o->line_cpus, 15);
	CHECK_EQ(o->memory, 8ull << 30);
	CHECK_EQ(o->line_memory, 16);
	CHECK_EQ(o->disks, CONF_DISKS_NONE);
	CHECK_EQ(o->ndisks, 3);
	CHECK_STR(o->disk[0].what, "gpt:1234");
	CHECK_EQ(o->disk[0].mode, CONF_DISK_RO);
	CHECK_EQ(o->disk[0].line, 18);
	CHECK_STR(o->disk[1].what, "/dev/sdb");
	CHECK_EQ(o->disk[1].mode, CONF_DISK_COW);
	CHECK_STR(o->disk[2].what, "/dev/sdc");
	CHECK_EQ(o->disk[2].mode, CONF_DISK_RW);
	CHECK_EQ(o->disk[2].line, 20);
	CHECK_EQ(o->ndevices, 2);
	CHECK_STR(o->device[0].bdf, "0000:01:00.0");
	CHECK_EQ(o->device[0].line, 21);
	CHECK_STR(o->device[1].bdf, "0000:0a:1f.7");
	CHECK_EQ(o->device[1].line, 22);
	CHECK_EQ(o->firmware, CONF_FW_OVMF);
	CHECK_EQ(o->line_firmware, 23);
	CHECK(o->autostart);
	CHECK_EQ(o->order, -5);
	CHECK_EQ(o->delay_ms, 2500);
	CHECK_EQ(o->on_reboot, CONF_REBOOT_STOP);
	CHECK_EQ(o->native, CONF_NATIVE_AUTO);
	CHECK_EQ(C.os[1].native, CONF_NATIVE_BOOTNEXT);

	o = &C.os[1];
	CHECK_STR(o->name, "windows");
	CHECK_EQ(o->line, 28);
	CHECK_STR(o->match, "Windows*");
	CHECK_EQ(o->firmware, CONF_FW_SEABIOS);
	CHECK_EQ(o->line_firmware, 30);
	CHECK(conf_find_os(&C, "windows") == o);
	CHECK(conf_find_os(&C, "Windows") == NULL);
	CHECK_STR(conf_fw_name(o->firmware), "seabios");
	CHECK_STR(conf_disk_mode_name(CONF_DISK_COW), "cow");
}

TEST(conf_defaults)
{
	const struct conf_os *o;

	conf_defaults(&C);
	CHECK(!C.present);
	CHECK_EQ(C.mode, CONF_MODE_MENU);
	CHECK_EQ(C.timeout, 5);
	CHECK_EQ(C.ndefault, 0);
	CHECK_EQ(C.on_all_stopped, CONF_AFTER_POWEROFF);
	CHECK_EQ(C.log_level, LOG_INFO);
	CHECK(C.console_serial && C.console_fb);
	CHECK_EQ(C.reserve_memory, 256ull << 20);
	CHECK_EQ(C.reserve_cpus, 0);
	CHECK_EQ(C.grace_s, 60);
	CHECK(C.cpu_pinning);

	/* an empty file and a bare section are the same defaults */
	CHECK_EQ(parse(""), 0);
	CHECK(C.present);
	CHECK_EQ(C.timeout, 5);
	CHECK_EQ(C.nos, 0);
	CHECK_EQ(parse("[global]\n[os plain]"), 0);
	CHECK_EQ(C.nos, 1);
	o = &C.os[0];
	CHECK_STR(o->name, "plain");
	CHECK_STR(o->match, "plain");
	CHECK_EQ(o->line, 2);
	CHECK_EQ(o->line_match + o->line_cpus + o->line_memory + o->line_firmware, 0);
	CHECK_EQ(o->cpus, 0);
	CHECK_EQ(o->memory, 0);
	CHECK_EQ(o->disks, CONF_DISKS_AUTO);
	CHECK_EQ(o->ndisks + o->ndevices, 0);
	CHECK_EQ(o->firmware, CONF_FW_AUTO);
	CHECK(!o->autostart);
	CHECK_EQ(o->order, 0);
	CHECK_EQ(o->delay_ms, 0);
	CHECK_EQ(o->on_reboot, CONF_REBOOT_RESTART);
}

/* The reader's line count is the handler's: keys after blank lines,
 * comments, bad lines, a long comment line and a BOM. */
TEST(conf_line_numbers)
{
	char text[2048];
	size_t n = 0;

	n += (size_t)sprintf(text + n, "\xef\xbb\xbf[os a]\n");		/* 1 */
	n += (size_t)sprintf(text + n, "\n; c\n# c\n");			/* 2-4 */
	n += (size_t)sprintf(text + n, "# ");				/* 5: 500 bytes */
	memset(text + n, 'x', 498);
	n += 498;
	n += (size_t)sprintf(text + n, "\nbogus\n");			/* 6 */
	n += (size_t)sprintf(text + n, "cpus = 2\n");			/* 7 */
	n += (size_t)sprintf(text + n, "memory = 1Q\n");		/* 8 */
	n += (size_t)sprintf(text + n, "[os b]\n\n\nfirmware = x\n");	/* 9-12 */
	CHECK_EQ(conf_parse(&C, PATH, text, n), 3);
	CHECK_EQ(C.os[0].line, 1);
	CHECK_STR(C.os[0].name, "a");
	CHECK_EQ(C.os[0].line_cpus, 7);
	CHECK_EQ(C.os[1].line, 9);
	CHECK_EQ(C.err[0].line, 6);
	CHECK_EQ(C.err[1].line, 8);
	CHECK_EQ(C.err[2].line, 12);
	CHECK_STR(err(0), PATH ":6: syntax error: want 'key = value', '[section]' or a comment");
	CHECK_STR(err(1), PATH ":8: key 'memory': memory '1Q': want a size such as 512M or 4G");
	CHECK_STR(err(2), PATH ":12: key 'firmware': firmware 'x': want auto, ovmf, seabios, uefi or bios");
}

TEST(conf_crlf_and_last_line)
{
	CHECK_EQ(parse("[global]\r\nmode = auto\r\ntimeout = none\r\n\r\n[os w]\r\nmemory = 4G\r\ncpus = 1x"), 1);
	CHECK_EQ(C.mode, CONF_MODE_AUTO);
	CHECK_EQ(C.timeout, -1);
	CHECK_EQ(C.os[0].memory, 4ull << 30);
	CHECK_EQ(C.os[0].line_memory, 6);
	CHECK_STR(err(0), PATH ":7: key 'cpus': cpus '1x': want a number from 1 to 255");
}

/*
 * inih's own rules (libinih 55, Debian's defaults): ';' and '#' start a
 * comment line, only " ;" an inline one, and an indented line continues
 * the previous value. conf_reader() makes " #" an inline comment too and
 * leading whitespace insignificant; these check what comes out.
 */
TEST(conf_comments)
{
	static const char text[] =
		"; comment\n"
		"  # indented comment\n"
		"[global] ; section comment\n"
		"mode = auto ; inline\n"
		"timeout = 7\t# inline with a tab\n"
		"log_level = warn# not a comment, so a bad value\n"
		"[os a] # comment\n"
		"match = a;b#c\n"
		"memory = 2G ;; twice\n"
		"cpus = ; only a comment\n";

	CHECK_EQ(parse(text), 2);
	CHECK_EQ(C.mode, CONF_MODE_AUTO);
	CHECK_EQ(C.timeout, 7);
	CHECK_STR(err(0), PATH ":6: key 'log_level': log_level 'warn# not a comment, so a bad value': "
			  "want err, warn, info or debug");
	CHECK_STR(C.os[0].match, "a;b#c");
	CHECK_EQ(C.os[0].memory, 2ull << 30);
	CHECK_STR(err(1), PATH ":10: key 'cpus': cpus '': want a number from 1 to 255");
}

TEST(conf_indentation)
{
	/* indented keys are keys, not continuation lines (inih's default
	 * would make "cpus = 2" more of memory's value) */
	static const char text[] =
		"  [os a]\n"
		"    memory = 4G\n"
		"    cpus = 2\n"
		"\tfirmware = ovmf\n"
		"[global]\n"
		"default = a,\n"
		"          b\n";

	CHECK_EQ(parse(text), 1);
	CHECK_EQ(C.os[0].memory, 4ull << 30);
	CHECK_EQ(C.os[0].cpus, 2);
	CHECK_EQ(C.os[0].line_cpus, 3);
	CHECK_EQ(C.os[0].firmware, CONF_FW_OVMF);
	CHECK_EQ(C.ndefault, 1);
	CHECK_STR(err(0), PATH ":7: syntax error: want 'key = value', '[section]' or a comment");
}

TEST(conf_quotes)
{
	static const char text[] =
		"[os a]\n"
		"match = \"My OS (x86_64)\"\n"
		"memory = \"1G\"\n"
		"firmware = \"\n"
		"disk = \"/dev/sda\" ro\n"
		"[os b]\n"
		"match = \"a ; b\"\n";

	CHECK_EQ(parse(text), 1);
	CHECK_STR(C.os[0].match, "My OS (x86_64)");
	CHECK_EQ(C.os[0].memory, 1ull << 30);
	/* only a whole value loses its quotes; " ;" still starts a comment */
	CHECK_STR(err(0), PATH ":4: key 'firmware': firmware '\"': want auto, ovmf, seabios, uefi or bios");
	CHECK_EQ(C.os[0].ndisks, 1);
	CHECK_STR(C.os[0].disk[0].what, "\"/dev/sda\"");
	CHECK_STR(C.os[1].match, "\"a");
}

TEST(conf_case)
{
	CHECK_EQ(parse("[GLOBAL]\nMode = AUTO\nLog_Level = Info\n[OS Deb]\nFirmware = SeaBIOS\n"
		       "Autostart = ON\nDisk = x COW\n"), 0);
	CHECK_EQ(C.mode, CONF_MODE_AUTO);
	CHECK_EQ(C.log_level, LOG_INFO);
	CHECK_STR(C.os[0].name, "Deb");
	CHECK_EQ(C.os[0].firmware, CONF_FW_SEABIOS);
	CHECK(C.os[0].autostart);
	CHECK_EQ(C.os[0].disk[0].mode, CONF_DISK_COW);
	CHECK_EQ(parse("[os a]\nmatch: colon\n"), 0);
	CHECK_STR(C.os[0].match, "colon");
}

TEST(conf_sizes)
{
	static const struct {
		const char *v;
		uint64_t bytes;		/* 0: an error */
	} t[] = {
		{ "67108864", 64ull << 20 }, { "65536K", 64ull << 20 }, { "64M", 64ull << 20 },
		{ "64m", 64ull << 20 }, { "1g", 1ull << 30 }, { "2T", 2ull << 40 },
		{ "16777215T", 16777215ull << 40 },
		{ "16777216T", 0 }, { "99999999999T", 0 }, { "18446744073709551615", UINT64_MAX },
		{ "18446744073709551616", 0 }, { "999999999999999999999999999", 0 },
		{ "", 0 }, { "M", 0 }, { "4GB", 0 }, { "4 G", 0 }, { "1.5G", 0 }, { "-1G", 0 },
		{ "+1G", 0 }, { "0x100M", 0 }, { "12Q", 0 },
	};
	char line[128], want[256];

	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(line, sizeof(line), "[global]\nreserve_memory = %s\n", t[i].v);
		if (t[i].bytes) {
			CHECK_EQ(parse(line), 0);
			CHECK_EQ(C.reserve_memory, t[i].bytes);
			CHECK_EQ(C.line_reserve_memory, 2);
		} else {
			CHECK_EQ(parse(line), 1);
			CHECK_EQ(C.reserve_memory, 256ull << 20);
			CHECK_EQ(C.line_reserve_memory, 0);
			snprintf(want, sizeof(want), PATH ":2: key 'reserve_memory': reserve_memory '%s': "
				 "want a size such as 512M or 4G", t[i].v);
			CHECK_STR(err(0), want);
		}
	}
	/* 0 is a valid reserve; 18446744073709551615 bytes too */
	CHECK_EQ(parse("[global]\nreserve_memory = 0\n"), 0);
	CHECK_EQ(C.reserve_memory, 0);
	CHECK_EQ(parse("[os a]\nmemory = 64M\n"), 0);
	CHECK_STR(os_err("memory = 63M"), PATH ":2: key 'memory': memory '63M': want at least 64M");
	CHECK_STR(os_err("memory = 12Q"), PATH ":2: key 'memory': memory '12Q': want a size such as 512M or 4G");
	CHECK_STR(os_err("memory = 99999999999T"),
		  PATH ":2: key 'memory': memory '99999999999T': want a size such as 512M or 4G");
	CHECK_EQ(C.os[0].memory, 0);
	CHECK_EQ(C.os[0].line_memory, 0);
}

TEST(conf_global_values)
{
	CHECK_EQ(parse("[global]\ntimeout = 0\n"), 0);
	CHECK_EQ(C.timeout, 0);
	CHECK_EQ(parse("[global]\ntimeout = 3600\n"), 0);
	CHECK_EQ(C.timeout, 3600);
	CHECK_EQ(parse("[global]\ntimeout = -1\n"), 0);
	CHECK_EQ(C.timeout, -1);
	CHECK_EQ(parse("[global]\ntimeout = NONE\n"), 0);
	CHECK_EQ(C.timeout, -1);
	CHECK_EQ(parse("[global]\nconsole = fb\n"), 0);
	CHECK(!C.console_serial && C.console_fb);
	CHECK_EQ(parse("[global]\nconsole = serial,fb\n"), 0);
	CHECK(C.console_serial && C.console_fb);
	CHECK_EQ(parse("[global]\nconsole = fb serial\n"), 0);
	CHECK(C.console_serial && C.console_fb);
	CHECK_EQ(parse("[global]\nconsole = both\n"), 0);
	CHECK(C.console_serial && C.console_fb);
	CHECK_EQ(parse("[global]\nlog_level = err\n"), 0);
	CHECK_EQ(C.log_level, LOG_ERR);
	CHECK_EQ(parse("[global]\nlog_level = warn\n"), 0);
	CHECK_EQ(C.log_level, LOG_WARN);
	CHECK_EQ(parse("[global]\ngrace = 1\nreserve_cpus = 255\n"), 0);
	CHECK_EQ(C.grace_s, 1);
	CHECK_EQ(C.reserve_cpus, 255);
	CHECK(C.cpu_pinning);
	CHECK_EQ(parse("[global]\ncpu_pinning = no\n"), 0);
	CHECK(!C.cpu_pinning);
	CHECK_EQ(parse("[global]\ncpu_pinning = Yes\n"), 0);
	CHECK(C.cpu_pinning);
	CHECK_EQ(parse("[global]\ndefault = a b,,c , a\n[os a]\n[os b]\n[os c]\n"), 0);
	CHECK_EQ(C.ndefault, 3);
	CHECK_STR(C.defaults[2], "c");
	CHECK_EQ(parse("[global]\ndefault =\n"), 0);
	CHECK_EQ(C.ndefault, 0);
	CHECK_EQ(C.line_default, 2);

	CHECK_STR(global_err("mode = manual"), PATH ":2: key 'mode': mode 'manual': want menu or auto");
	CHECK_STR(global_err("timeout = 3601"),
		  PATH ":2: key 'timeout': timeout '3601': want seconds from 0 to 3600, or none");
	CHECK_STR(global_err("timeout = -2"),
		  PATH ":2: key 'timeout': timeout '-2': want seconds from 0 to 3600, or none");
	CHECK_STR(global_err("timeout = 010x"),
		  PATH ":2: key 'timeout': timeout '010x': want seconds from 0 to 3600, or none");
	CHECK_STR(global_err("on_all_stopped = reboot"),
		  PATH ":2: key 'on_all_stopped': on_all_stopped 'reboot': want poweroff or menu");
	CHECK_STR(global_err("log_level = verbose"),
		  PATH ":2: key 'log_level': log_level 'verbose': want err, warn, info or debug");
	CHECK_STR(global_err("console = vga"),
		  PATH ":2: key 'console': console 'vga': want serial, fb or both");
	CHECK_STR(global_err("console = ,"), PATH ":2: key 'console': console ',': want serial, fb or both");
	CHECK(C.console_serial && C.console_fb);
	CHECK_STR(global_err("reserve_cpus = 256"),
		  PATH ":2: key 'reserve_cpus': reserve_cpus '256': want a number from 0 to 255");
	CHECK_STR(global_err("grace = 0"), PATH ":2: key 'grace': grace '0': want seconds from 1 to 3600");
	CHECK_EQ(C.grace_s, 60);
	CHECK_STR(global_err("cpu_pinning = some"),
		  PATH ":2: key 'cpu_pinning': cpu_pinning 'some': want yes or no");
	CHECK(C.cpu_pinning);
	CHECK_STR(global_err("default = a/b"),
		  PATH ":2: key 'default': default 'a/b': want names of [os NAME] sections");
}

TEST(conf_os_values)
{
	CHECK_EQ(parse("[os a]\ncpus = 255\norder = 1000\ndelay = 600\nautostart = off\n"), 0);
	CHECK_EQ(C.os[0].cpus, 255);
	CHECK_EQ(C.os[0].order, 1000);
	CHECK_EQ(C.os[0].delay_ms, 600000);
	CHECK(!C.os[0].autostart);
	CHECK_EQ(parse("[os a]\norder = -1000\ndelay = 0.125\nautostart = 1\ndisks = AUTO\n"), 0);
	CHECK_EQ(C.os[0].order, -1000);
	CHECK_EQ(C.os[0].delay_ms, 125);
	CHECK(C.os[0].autostart);
	CHECK_EQ(parse("[os a]\norder = +3\ndelay = 1.5\nfirmware = OVMF\n"), 0);
	CHECK_EQ(C.os[0].order, 3);
	CHECK_EQ(C.os[0].delay_ms, 1500);
	CHECK_EQ(parse("[os a]\ndevice = FFFF:FF:1F.7\nfirmware = seabios\n"), 0);
	CHECK_STR(C.os[0].device[0].bdf, "ffff:ff:1f.7");

	CHECK_STR(os_err("cpus = 0"), PATH ":2: key 'cpus': cpus '0': want a number from 1 to 255");
	CHECK_STR(os_err("cpus = 256"), PATH ":2: key 'cpus': cpus '256': want a number from 1 to 255");
	CHECK_EQ(C.os[0].line_cpus, 0);
	CHECK_STR(os_err("disks = some"), PATH ":2: key 'disks': disks 'some': want auto or none");
	CHECK_STR(os_err("firmware = coreboot"),
		  PATH ":2: key 'firmware': firmware 'coreboot': want auto, ovmf, seabios, uefi or bios");
	CHECK_EQ(C.os[0].line_firmware, 0);
	CHECK_STR(os_err("autostart = maybe"), PATH ":2: key 'autostart': autostart 'maybe': want yes or no");
	CHECK_STR(os_err("order = 1001"), PATH ":2: key 'order': order '1001': want a number from -1000 to 1000");
	CHECK_STR(os_err("order = --1"), PATH ":2: key 'order': order '--1': want a number from -1000 to 1000");
	CHECK_STR(os_err("delay = 600.001"),
		  PATH ":2: key 'delay': delay '600.001': want seconds from 0 to 600, such as 2.5");
	CHECK_STR(os_err("delay = 1.2345"),
		  PATH ":2: key 'delay': delay '1.2345': want seconds from 0 to 600, such as 2.5");
	CHECK_STR(os_err("delay = .5"), PATH ":2: key 'delay': delay '.5': want seconds from 0 to 600, such as 2.5");
	CHECK_STR(os_err("delay = 5."), PATH ":2: key 'delay': delay '5.': want seconds from 0 to 600, such as 2.5");
	CHECK_STR(os_err("on_reboot = halt"), PATH ":2: key 'on_reboot': on_reboot 'halt': want restart or stop");
	CHECK_STR(os_err("match ="),
		  PATH ":2: key 'match': match '': want an OS id or a glob on its label (1 to 127 characters)");
	CHECK_STR(C.os[0].match, "x");
	CHECK_STR(os_err("disk = /dev/sda rx"), PATH ":2: key 'disk': disk '/dev/sda rx': want WHAT "
			 "[ro|rw|cow] (WHAT: a disk or partition id, or a /dev path)");
	CHECK_STR(os_err("disk = /dev/sda ro rw"), PATH ":2: key 'disk': disk '/dev/sda ro rw': want WHAT "
			 "[ro|rw|cow] (WHAT: a disk or partition id, or a /dev path)");
	CHECK_EQ(C.os[0].ndisks, 0);
	CHECK_STR(os_err("device = 1:00.0"),
		  PATH ":2: key 'device': device '1:00.0': want a PCI address such as 0000:01:00.0 or 01:00.0");
	CHECK_STR(os_err("device = 00:20.0"),
		  PATH ":2: key 'device': device '00:20.0': want a PCI address such as 0000:01:00.0 or 01:00.0");
	CHECK_STR(os_err("device = 00:1f.8"),
		  PATH ":2: key 'device': device '00:1f.8': want a PCI address such as 0000:01:00.0 or 01:00.0");
	CHECK_STR(os_err("device = 0000-00:1f.0"),
		  PATH ":2: key 'device': device '0000-00:1f.0': want a PCI address such as 0000:01:00.0 or 01:00.0");
	CHECK_STR(os_err("device = 0g00:00:1f.0"),
		  PATH ":2: key 'device': device '0g00:00:1f.0': want a PCI address such as 0000:01:00.0 or 01:00.0");
	CHECK_EQ(C.os[0].ndevices, 0);
}

TEST(conf_lengths)
{
	char text[1024], want[256];

	/* match: 127 characters fit, 128 do not */
	memset(want, 'm', 128);
	want[127] = '\0';
	snprintf(text, sizeof(text), "[os a]\nmatch = %s\ndisk = %s\n", want, want);
	CHECK_EQ(parse(text), 0);
	CHECK_EQ(strlen(C.os[0].match), 127);
	CHECK_EQ(strlen(C.os[0].disk[0].what), 127);
	want[127] = 'm';
	want[128] = '\0';
	snprintf(text, sizeof(text), "[os a]\nmatch = %s\ndisk = %s rw\n", want, want);
	CHECK_EQ(parse(text), 2);
	CHECK_STR(C.os[0].match, "a");
	CHECK_EQ(C.os[0].ndisks, 0);

	/* names: 47 characters fit (inih alone would cut "os NAME" to 49) */
	memset(want, 'n', 48);
	want[47] = '\0';
	snprintf(text, sizeof(text), "[global]\ndefault = %s\n[os %s]\ncpus = 1\n", want, want);
	CHECK_EQ(parse(text), 0);
	CHECK_STR(C.os[0].name, want);
	CHECK_EQ(C.os[0].cpus, 1);
	want[47] = 'n';
	want[48] = '\0';
	snprintf(text, sizeof(text), "[os %s]\ncpus = 1\n", want);
	CHECK_EQ(parse(text), 1);
	CHECK_EQ(C.nos, 0);
	snprintf(want, sizeof(want), PATH ":1: bad OS name '%.48s' (want 1 to 47 of A-Z a-z 0-9 . _ -)",
		 text + 4);
	CHECK_STR(err(0), want);

	/* a line of 199 characters (comments and indentation aside) is
	 * inih's longest; the next one is refused, not cut */
	snprintf(text, sizeof(text), "   [os a] ; comment\nmatch = ");
	memset(text + strlen(text), 'x', 191);
	memcpy(text + strlen("   [os a] ; comment\nmatch = ") + 191, "   ; comment\n", 14);
	CHECK_EQ(parse(text), 1);	/* the match is too long for match */
	CHECK_EQ(C.err[0].line, 2);
	CHECK(strstr(C.err[0].msg, "want an OS id") != NULL);
	snprintf(text, sizeof(text), "[os a]\nmatch = ");
	memset(text + strlen(text), 'x', 192);
	memcpy(text + strlen("[os a]\nmatch = ") + 192, "\ncpus = 3\n", 11);
	CHECK_EQ(parse(text), 1);
	CHECK_STR(err(0), PATH ":2: line too long (more than 199 characters)");
	CHECK_EQ(C.os[0].cpus, 3);
	CHECK_EQ(C.os[0].line_cpus, 3);
}

TEST(conf_syntax_errors)
{
	static const char text[] =
		"[global\n"			/* 1 */
		"mode = auto\n"			/* 2: outside a section */
		"[os a] x\n"			/* 3 */
		"[os a]]\n"			/* 4 */
		"justaword\n"			/* 5 */
		"= value\n"			/* 6 */
		"[os a ; b]\n"			/* 7 */
		"[os b]\n"			/* 8 */
		"  : x\n"			/* 9 */
		"cpus = 2\n";			/* 10 */

	CHECK_EQ(parse(text), 8);
	CHECK_STR(err(0), PATH ":1: syntax error: missing ']'");
	CHECK_STR(err(1), PATH ":2: key 'mode' outside a section (put it under [global] or [os NAME])");
	CHECK_STR(err(2), PATH ":3: syntax error: text after ']'");
	CHECK_STR(err(3), PATH ":4: syntax error: text after ']'");
	CHECK_STR(err(4), PATH ":5: syntax error: want 'key = value', '[section]' or a comment");
	CHECK_STR(err(5), PATH ":6: syntax error: no key before '='");
	CHECK_STR(err(6), PATH ":7: syntax error: missing ']'");
	CHECK_STR(err(7), PATH ":9: syntax error: no key before '='");
	CHECK_EQ(C.mode, CONF_MODE_MENU);
	CHECK_EQ(C.nos, 1);
	CHECK_EQ(C.os[0].cpus, 2);
	CHECK_EQ(C.os[0].line, 8);
}

TEST(conf_section_errors)
{
	static const char text[] =
		"[foo]\n"			/* 1 */
		"cpus = 1\n"			/* 2: ignored, [foo] is reported */
		"[os]\n"			/* 3 */
		"[os a b]\n"			/* 4 */
		"[osx]\n"			/* 5 */
		"[os a]\n"			/* 6 */
		"cpus = 2\n"			/* 7 */
		"[ global ]\n"			/* 8 */
		"mode = auto\n"			/* 9 */
		"[os  a ]\n"			/* 10 */
		"cpus = 3\n";			/* 11: ignored */

	CHECK_EQ(parse(text), 5);
	CHECK_STR(err(0), PATH ":1: unknown section 'foo' (want [global] or [os NAME])");
	CHECK_STR(err(1), PATH ":3: [os] section without a name (want [os NAME])");
	CHECK_STR(err(2), PATH ":4: bad OS name 'a b' (want 1 to 47 of A-Z a-z 0-9 . _ -)");
	CHECK_STR(err(3), PATH ":5: unknown section 'osx' (want [global] or [os NAME])");
	CHECK_STR(err(4), PATH ":10: [os a] defined twice (first at line 6)");
	CHECK_EQ(C.mode, CONF_MODE_AUTO);
	CHECK_EQ(C.nos, 1);
	CHECK_EQ(C.os[0].cpus, 2);
}

TEST(conf_key_errors)
{
	static const char text[] =
		"[global]\n"			/* 1 */
		"timout = 3\n"			/* 2 */
		"cpus = 2\n"			/* 3 */
		"[os debian]\n"			/* 4 */
		"cpus = 4\n"			/* 5 */
		"memroy = 4G\n"			/* 6 */
		"cpus = 8\n"			/* 7 */
		"mem = 1G\n"			/* 8 */
		"timeout = 1\n"			/* 9 */
		"xyzzy = 1\n"			/* 10 */
		"[global]\n"			/* 11 */
		"timeout = 4\n"			/* 12 */
		"timeout = 9\n"			/* 13 */
		"disk = a\n"			/* 14 */
		"[os debian2]\n"		/* 15 */
		"cpus = 1\n";			/* 16: its own section, not twice */

	CHECK_EQ(parse(text), 9);
	CHECK_STR(err(0), PATH ":2: unknown key 'timout' in [global] (did you mean 'timeout'?)");
	CHECK_STR(err(1), PATH ":3: unknown key 'cpus' in [global] ('cpus' belongs in an [os NAME] section)");
	CHECK_STR(err(2), PATH ":6: unknown key 'memroy' in [os debian] (did you mean 'memory'?)");
	CHECK_STR(err(3), PATH ":7: key 'cpus': 'cpus' set twice (first at line 5)");
	CHECK_STR(err(4), PATH ":8: unknown key 'mem' in [os debian] (did you mean 'memory'?)");
	CHECK_STR(err(5), PATH ":9: unknown key 'timeout' in [os debian] ('timeout' belongs in [global])");
	CHECK_STR(err(6), PATH ":10: unknown key 'xyzzy' in [os debian]");
	CHECK_STR(err(7), PATH ":13: key 'timeout': 'timeout' set twice (first at line 12)");
	CHECK_STR(err(8), PATH ":14: unknown key 'disk' in [global] ('disk' belongs in an [os NAME] section)");
	CHECK_EQ(C.os[0].cpus, 4);	/* the first value stays */
	CHECK_EQ(C.os[0].line_cpus, 5);
	CHECK_EQ(C.timeout, 4);
	CHECK_EQ(C.os[1].cpus, 1);
	/* a bad value still counts as set */
	CHECK_EQ(parse("[os a]\ncpus = x\ncpus = 2\n"), 2);
	CHECK_STR(err(1), PATH ":3: key 'cpus': 'cpus' set twice (first at line 2)");
	CHECK_EQ(C.os[0].cpus, 0);
}

TEST(conf_limits)
{
	char text[4096];
	size_t n = 0;

	n += (size_t)sprintf(text + n, "[os a]\n");
	for (int i = 0; i < CONF_MAX_DISKS + 1; i++)
		n += (size_t)sprintf(text + n, "disk = /dev/d%d\n", i);
	for (int i = 0; i < CONF_MAX_DEVICES + 1; i++)
		n += (size_t)sprintf(text + n, "device = 00:%02x.0\n", i);
	n += (size_t)sprintf(text + n, "device = 0000:00:01.0\n");
	for (int i = 1; i < CONF_MAX_OS + 1; i++)
		n += (size_t)sprintf(text + n, "[os s%d]\n", i);
	n += (size_t)sprintf(text + n, "cpus = 1\n");
	CHECK_EQ(parse(text), 4);
	CHECK_EQ(C.os[0].ndisks, CONF_MAX_DISKS);
	CHECK_EQ(C.os[0].ndevices, CONF_MAX_DEVICES);
	CHECK_EQ(C.nos, CONF_MAX_OS);
	CHECK_STR(err(0), PATH ":10: key 'disk': too many disks in [os a] (at most 8)");
	CHECK_STR(err(1), PATH ":19: key 'device': too many devices in [os a] (at most 8)");
	CHECK_STR(err(2), PATH ":20: key 'device': device 0000:00:01.0 listed twice (first at line 12)");
	CHECK_STR(err(3), PATH ":36: too many [os] sections (at most 16)");

	n = (size_t)sprintf(text, "[global]\ndefault =");
	for (int i = 0; i < CONF_MAX_DEFAULT + 1; i++)
		n += (size_t)sprintf(text + n, " d%d", i);
	n += (size_t)sprintf(text + n, "\n");
	for (int i = 0; i < CONF_MAX_DEFAULT; i++)
		n += (size_t)sprintf(text + n, "[os d%d]\n", i);
	CHECK_EQ(parse(text), 1);
	CHECK_EQ(C.ndefault, CONF_MAX_DEFAULT);
	CHECK_STR(err(0), PATH ":2: key 'default': default: more than 16 names");

	/* errors: the first CONF_MAX_ERRORS kept, the rest counted */
	n = 0;
	for (int i = 0; i < CONF_MAX_ERRORS + 8; i++)
		n += (size_t)sprintf(text + n, "bad\n");
	CHECK_EQ(parse(text), CONF_MAX_ERRORS);
	CHECK_EQ(C.nerr, CONF_MAX_ERRORS);
	CHECK_EQ(C.err_dropped, 8);
	CHECK_EQ(C.err[CONF_MAX_ERRORS - 1].line, CONF_MAX_ERRORS);
}

TEST(conf_default_names)
{
	static const char text[] =
		"[global]\n"			/* 1 */
		"mode = auto\n"			/* 2 */
		"default = debian windws arch\n"	/* 3 */
		"[os debian]\n"			/* 4 */
		"[os windows]\n";		/* 5 */

	CHECK_EQ(parse(text), 2);
	CHECK_EQ(C.ndefault, 3);
	CHECK_STR(err(0), PATH ":3: key 'default': default 'windws': no [os windws] section "
			  "(did you mean 'windows'?)");
	CHECK_STR(err(1), PATH ":3: key 'default': default 'arch': no [os arch] section");
	/* a section defined later than default= is fine */
	CHECK_EQ(parse("[global]\ndefault = z\n[os z]\n"), 0);
}

TEST(conf_file_errors)
{
	static const char nul[] = "[os a]\ncpus = 2\0 x\nmemory = 1G\n";
	char *big = malloc(CONF_MAX_SIZE + 1);

	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, '\n', CONF_MAX_SIZE + 1);
	memcpy(big, "[global]\nmode = auto\n", 21);
	CHECK_EQ(conf_parse(&C, PATH, big, CONF_MAX_SIZE), 0);
	CHECK_EQ(C.mode, CONF_MODE_AUTO);
	CHECK_EQ(conf_parse(&C, PATH, big, CONF_MAX_SIZE + 1), 1);
	CHECK_STR(err(0), PATH ": file is larger than 65536 bytes");
	CHECK_EQ(C.mode, CONF_MODE_MENU);
	free(big);

	/* a NUL byte spoils its line only */
	CHECK_EQ(conf_parse(&C, PATH, nul, sizeof(nul) - 1), 1);
	CHECK_STR(err(0), PATH ":2: line contains a NUL byte");
	CHECK_EQ(C.os[0].cpus, 0);
	CHECK_EQ(C.os[0].memory, 1ull << 30);
	CHECK_EQ(C.os[0].line_memory, 3);
}

TEST(conf_many_errors)
{
	static const char text[] =
		"timeout = 3\n"			/* 1 */
		"[global]\n"			/* 2 */
		"mode = fast\n"			/* 3 */
		"default = a, b\n"		/* 4 */
		"[os a]\n"			/* 5 */
		"memory = 12Q\n"		/* 6 */
		"cpus: many\n"			/* 7 */
		"oops\n"			/* 8 */
		"[os a]\n"			/* 9 */
		"[bar]\n"			/* 10 */
		"[os c]\n"			/* 11 */
		"firmware = efi\n";		/* 12 */

	CHECK_EQ(parse(text), 9);
	CHECK_STR(err(0), PATH ":1: key 'timeout' outside a section (put it under [global] or [os NAME])");
	CHECK_STR(err(1), PATH ":3: key 'mode': mode 'fast': want menu or auto");
	CHECK_STR(err(2), PATH ":6: key 'memory': memory '12Q': want a size such as 512M or 4G");
	CHECK_STR(err(3), PATH ":7: key 'cpus': cpus 'many': want a number from 1 to 255");
	CHECK_STR(err(4), PATH ":8: syntax error: want 'key = value', '[section]' or a comment");
	CHECK_STR(err(5), PATH ":9: [os a] defined twice (first at line 5)");
	CHECK_STR(err(6), PATH ":10: unknown section 'bar' (want [global] or [os NAME])");
	CHECK_STR(err(7), PATH ":12: key 'firmware': firmware 'efi': want auto, ovmf, seabios, uefi or bios");
	CHECK_STR(err(8), PATH ":4: key 'default': default 'b': no [os b] section");
	CHECK_EQ(C.nos, 2);
}

TEST(conf_format)
{
	char small[16];

	conf_defaults(&C);
	snprintf(C.path, sizeof(C.path), "f.conf");
	conf_error(&C, 0, NULL, "whole file");
	conf_error(&C, 3, "", "no key");
	conf_error(&C, 4, "cpus", "with %s", "key");
	CHECK_STR(err(0), "f.conf: whole file");
	CHECK_STR(err(1), "f.conf:3: no key");
	CHECK_STR(err(2), "f.conf:4: key 'cpus': with key");
	CHECK_STR(err(3), "");
	conf_format_error(&C, 2, small, sizeof(small));
	CHECK_STR(small, "f.conf:4: key '");
	conf_format_error(&C, 2, small, 0);
}

TEST(conf_load_file)
{
	const char *dir = test_tmpdir();
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	CHECK_EQ(conf_load(&C, path), -ENOENT);
	CHECK(!C.present);
	CHECK_EQ(C.nerr, 1);
	CHECK_EQ(C.err[0].line, 0);
	CHECK_STR(C.path, path);
	CHECK(strstr(err(0), ": cannot read: No such file or directory") != NULL);
	CHECK_EQ(C.timeout, 5);

	snprintf(path, sizeof(path), "%s/polyboot.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "[global]\ntimeout = 9\n[os a]\ncpus = 0\n", 37), 37);
	close(fd);
	CHECK_EQ(conf_load(&C, path), 1);
	CHECK(C.present);
	CHECK_EQ(C.timeout, 9);
	CHECK_EQ(C.err[0].line, 4);

	/* one byte over the limit is read, and refused */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, CONF_MAX_SIZE + 1), 0);
	close(fd);
	CHECK_EQ(conf_load(&C, path), 1);
	CHECK(strstr(err(0), "file is larger than 65536 bytes") != NULL);

	CHECK(conf_load(&C, dir) < 0);	/* a directory: EISDIR */
	CHECK_EQ(C.nerr, 1);
}

/*
 * What conf.c builds on, checked against the libinih linked in: the
 * handler for a line runs before the reader is asked for the next line
 * (continuation lines included), ';' and '#' start comment lines, only
 * " ;" an inline comment, and an indented line continues a value.
 */
struct inih_probe {
	const char *p;
	unsigned line, ncalls;
	unsigned lines[8];
	char values[8][32];
};

static char *probe_reader(char *buf, int num, void *stream)
{
	struct inih_probe *t = stream;
	size_t n = strcspn(t->p, "\n");

	if (!*t->p)
		return NULL;
	if (t->p[n] == '\n')
		n++;
	snprintf(buf, (size_t)num, "%.*s", (int)n, t->p);
	t->p += n;
	t->line++;
	return buf;
}

static int probe_handler(void *user, const char *section, const char *name, const char *value)
{
	struct inih_probe *t = user;

	if (t->ncalls < 8) {
		t->lines[t->ncalls] = t->line;
		snprintf(t->values[t->ncalls], sizeof(t->values[0]), "%s=%s", name, value);
	}
	t->ncalls++;
	return 1;
}

TEST(conf_inih_defaults)
{
	struct inih_probe t = { .p = "[s]\n# c\n; c\na = 1 ; c\n  more\nb = 2 # c\n\n\nc = x;y\n" };

	CHECK_EQ(ini_parse_stream(probe_reader, &t, probe_handler, &t), 0);
	CHECK_EQ(t.ncalls, 4);
	CHECK_EQ(t.lines[0], 4);
	CHECK_STR(t.values[0], "a=1");
	CHECK_EQ(t.lines[1], 5);
	CHECK_STR(t.values[1], "a=more");
	CHECK_EQ(t.lines[2], 6);
	CHECK_STR(t.values[2], "b=2 # c");
	CHECK_EQ(t.lines[3], 9);
	CHECK_STR(t.values[3], "c=x;y");
	/* the line buffer conf.c's "line too long" assumes */
	CHECK_EQ(ini_max_line, 200);
}

TEST(conf_native_bad_value)
{
	static const char text[] = "[os a]\nnative = fast\n";

	CHECK_EQ(parse(text), 1);
	CHECK_EQ(C.err[0].line, 2);
	CHECK_STR(C.err[0].key, "native");
	CHECK(strstr(C.err[0].msg, "auto, kexec or bootnext") != NULL);
	CHECK_EQ(C.os[0].native, CONF_NATIVE_AUTO);
}

TEST(conf_passthrough)
{
	static const char text[] =
		"[global]\n"			/* 1 */
		"passthrough = OFF\n"		/* 2 */
		"[os a]\n"			/* 3 */
		"passthrough = auto\n"		/* 4 */
		"[os b]\n"			/* 5 */
		"device = 3:00.0\n";		/* 6: a bad device line is its own error */

	/* default: auto for every OS */
	conf_defaults(&C);
	CHECK_EQ(C.passthrough, CONF_PT_AUTO);
	CHECK_EQ(conf_passthrough(&C, NULL), CONF_PT_AUTO);

	CHECK_EQ(parse(text), 1);
	CHECK_EQ(C.passthrough, CONF_PT_OFF);
	CHECK_EQ(C.line_passthrough, 2);
	CHECK_EQ(C.os[0].passthrough, CONF_PT_AUTO);
	CHECK_EQ(C.os[0].line_passthrough, 4);
	CHECK_EQ(C.os[1].passthrough, CONF_PT_DEFAULT);
	CHECK_EQ(C.os[1].line_passthrough, 0);
	CHECK_EQ(conf_passthrough(&C, &C.os[0]), CONF_PT_AUTO);
	CHECK_EQ(conf_passthrough(&C, &C.os[1]), CONF_PT_OFF);	/* the global value */
	CHECK_EQ(conf_passthrough(&C, NULL), CONF_PT_OFF);
	CHECK_STR(err(0), PATH ":6: key 'device': device '3:00.0': want a PCI address such as 0000:01:00.0 or 01:00.0");

	/* per OS off under a global auto */
	CHECK_EQ(parse("[os a]\npassthrough = off\n"), 0);
	CHECK_EQ(conf_passthrough(&C, &C.os[0]), CONF_PT_OFF);
	CHECK_EQ(conf_passthrough(&C, NULL), CONF_PT_AUTO);

	/* bad values, twice, typos */
	CHECK_STR(global_err("passthrough = yes"),
		  PATH ":2: key 'passthrough': passthrough 'yes': want auto or off");
	CHECK_EQ(C.passthrough, CONF_PT_AUTO);
	CHECK_STR(os_err("passthrough = vfio"), PATH ":2: key 'passthrough': passthrough 'vfio': want auto or off");
	CHECK_EQ(C.os[0].passthrough, CONF_PT_DEFAULT);
	CHECK_EQ(parse("[global]\npassthrough = off\npassthrough = auto\n"), 1);
	CHECK_STR(err(0), PATH ":3: key 'passthrough': 'passthrough' set twice (first at line 2)");
	CHECK_EQ(C.passthrough, CONF_PT_OFF);
	CHECK_STR(os_err("passthrugh = off"), PATH ":2: unknown key 'passthrugh' in [os x] (did you mean 'passthrough'?)");
}

/* A planner message (conf_error) up to the size of struct conf_err's msg
 * is formatted whole after the file, line and key. */
TEST(conf_long_planner_message)
{
	char msg[400], buf[700];

	conf_defaults(&C);
	snprintf(C.path, sizeof(C.path), "%s", PATH);
	memset(msg, 'x', sizeof(msg));
	msg[300] = 0;
	conf_error(&C, 12, "device", "%s", msg);
	CHECK_EQ(strlen(C.err[0].msg), 300);
	conf_format_error(&C, 0, buf, sizeof(buf));
	CHECK_EQ(strlen(buf), strlen(PATH ":12: key 'device': ") + 300);
	msg[399 - 1] = 0;
	memset(msg, 'y', 398);
	conf_error(&C, 13, "device", "%s", msg);
	CHECK_EQ(strlen(C.err[1].msg), sizeof(C.err[1].msg) - 1);	/* cut, terminated */
}
