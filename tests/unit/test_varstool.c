/* polyvmm-vars boot commands on a copy of OVMF's VARS template, with a GPT
 * disk made by util-linux sfdisk. */
#include "test.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efi/loadopt.h"
#include "efi/varstool.h"
#include "efi/varstore.h"
#include "util.h"

#define ESP_UUID	"6a3c1e7d-2b4f-4e8a-9d10-112233445566"
#define ROOT_UUID	"0c9b8a7f-6e5d-4c3b-2a19-080706050403"

static char vars_path[300], disk_path[300];
static char out[8192], err[8192];

/* Points file descriptor @fd at a fresh file; returns that file's fd and
 * the old descriptor in *@saved. */
static int redirect(int fd, const char *name, int *saved)
{
	char path[320];
	int f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	*saved = dup(fd);
	dup2(f, fd);
	return f;
}

/* Puts @fd back and reads what was written into @buf. */
static void restore(int fd, int saved, int f, char *buf, size_t len)
{
	ssize_t n;

	dup2(saved, fd);
	close(saved);
	n = pread(f, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(f);
}

/* Runs polyvmm-vars with the NULL-terminated arguments; its stdout goes
 * to out[], its stderr to err[]. Returns the exit status. */
static int __attribute__((sentinel)) vars(const char *cmd, ...)
{
	char *argv[32];
	int argc = 0, saved_out, saved_err, f_out, f_err, r;
	const char *a;
	va_list ap;

	argv[argc++] = (char *)"polyvmm-vars";
	argv[argc++] = (char *)cmd;
	argv[argc++] = vars_path;
	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	fflush(stdout);
	f_out = redirect(1, "stdout", &saved_out);
	f_err = redirect(2, "stderr", &saved_err);
	r = varstool_main(argc, argv);
	fflush(stdout);
	restore(1, saved_out, f_out, out, sizeof(out));
	restore(2, saved_err, f_err, err, sizeof(err));
	return r;
}

static size_t read_file(const char *path, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, len) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* A copy of the OVMF template and a 16 MiB disk with an ESP (1) and a
 * root partition (2). */
static bool setup(void)
{
	static uint8_t tmpl[0x84000];
	const char *script =
		"label: gpt\n"
		"start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=" ESP_UUID "\n"
		"start=6144, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=" ROOT_UUID "\n";
	char cmd[400];
	size_t len;
	int fd;

	snprintf(vars_path, sizeof(vars_path), "%s/OVMF_VARS.fd", test_tmpdir());
	snprintf(disk_path, sizeof(disk_path), "%s/disk.img", test_tmpdir());
	len = read_file("/usr/share/OVMF/OVMF_VARS_4M.fd", tmpl, sizeof(tmpl));
	fd = open(vars_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!len || fd < 0 || write_full(fd, tmpl, len) < 0) {
		test_fail(__FILE__, __LINE__, "OVMF_VARS_4M.fd missing (Debian package ovmf)");
		return false;
	}
	close(fd);
	fd = open(disk_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 16 << 20) < 0)
		test_fail(__FILE__, __LINE__, "cannot create %s", disk_path);
	close(fd);
	snprintf(cmd, sizeof(cmd), "sfdisk -q --no-reread --no-tell-kernel '%s'", disk_path);
	if (test_sh(cmd, script, out, sizeof(out)) != 0) {
		test_fail(__FILE__, __LINE__, "sfdisk (util-linux) failed: %s", out);
		return false;
	}
	return true;
}

/* The stored Boot#### is exactly what loadopt_build makes, NV+BS+RT. */
static void check_stored(const char *name, unsigned partnum, const char *guid, uint64_t start,
			 uint64_t size, const char *desc, const char *loader)
{
	static uint8_t img[0x84000];
	struct loadopt_hd hd = { .partnum = partnum, .start = start, .size = size };
	size_t len = read_file(vars_path, img, sizeof(img));
	struct varstore vs;
	struct efivar v;
	uint8_t want[512];
	char why[256];
	int n;

	CHECK_EQ(guid_parse(guid, &hd.part_guid), 0);
	n = loadopt_build(want, sizeof(want), LOAD_OPTION_ACTIVE, desc, &hd, loader, NULL, 0);
	CHECK(n > 0);
	CHECK_EQ(varstore_open(&vs, img, len, why, sizeof(why)), 0);
	CHECK_EQ(varstore_get(&vs, name, &efi_global_guid, &v), 0);
	CHECK_EQ(v.attrs, EFI_VAR_NV_BS_RT);
	CHECK_EQ(v.data_size, n);
	CHECK(n > 0 && v.data_size == (uint32_t)n && !memcmp(v.data, want, (size_t)n));
}

TEST(varstool_boot_commands)
{
	if (!setup())
		return;
	CHECK_EQ(vars("boot-list", NULL), 0);
	CHECK_STR(out, "");		/* the template has no boot variables */

	CHECK_EQ(vars("boot-add", "--disk", disk_path, "--part", "1", "--loader",
		      "\\EFI\\debian\\grubx64.efi", "--label", "debian", NULL), 0);
	CHECK_STR(out, "Boot0000\n");
	check_stored("Boot0000", 1, ESP_UUID, 2048, 4096, "debian", "\\EFI\\debian\\grubx64.efi");
	CHECK_EQ(vars("boot-add", "--part-guid", ROOT_UUID, "--start", "6144", "--size", "0x2000",
		      "--partnum", "2", "--loader", "/EFI/fedora/shimx64.efi", "--label",
		      "Fedora Linux", "--last", NULL), 0);
	CHECK_STR(out, "Boot0001\n");
	check_stored("Boot0001", 2, ROOT_UUID, 6144, 8192, "Fedora Linux",
		     "\\EFI\\fedora\\shimx64.efi");
	CHECK_EQ(vars("boot-add", "--num", "a0", "--disk", disk_path, "--part", "2", "--loader",
		      "\\EFI\\arch\\grubx64.efi", "--label", "Arch", "--first", NULL), 0);
	CHECK_STR(out, "Boot00A0\n");
	/* With 0000 and 0001 taken, the lowest free number is 0002. */
	CHECK_EQ(vars("boot-add", "--disk", disk_path, "--part", "1", "--loader", "\\a.efi",
		      "--label", "a", NULL), 0);
	CHECK_STR(out, "Boot0002\n");

	CHECK_EQ(vars("boot-list", NULL), 0);
	CHECK_STR(out,
		  "BootOrder: 0002,00A0,0000,0001\n"
		  "Boot0000* debian\tHD(1,GPT," ESP_UUID ",0x800,0x1000)/\\EFI\\debian\\grubx64.efi\n"
		  "Boot0001* Fedora Linux\tHD(2,GPT," ROOT_UUID ",0x1800,0x2000)/\\EFI\\fedora\\shimx64.efi\n"
		  "Boot0002* a\tHD(1,GPT," ESP_UUID ",0x800,0x1000)/\\a.efi\n"
		  "Boot00A0* Arch\tHD(2,GPT," ROOT_UUID ",0x1800,0x2000)/\\EFI\\arch\\grubx64.efi\n");

	CHECK_EQ(vars("boot-order", "1,a0,0", NULL), 0);
	CHECK_EQ(vars("boot-next", "00A0", NULL), 0);
	CHECK_EQ(vars("boot-delete", "0002", NULL), 0);
	CHECK_EQ(vars("boot-list", NULL), 0);
	CHECK(!strncmp(out, "BootNext: 00A0\nBootOrder: 0001,00A0,0000\nBoot0000* ", 51));
	CHECK(strstr(out, "Boot0002") == NULL);

	/* Deleting the BootNext target drops BootNext too. */
	CHECK_EQ(vars("boot-delete", "a0", NULL), 0);
	CHECK_EQ(vars("boot-list", NULL), 0);
	CHECK(!strncmp(out, "BootOrder: 0001,0000\nBoot0000* ", 31));
	CHECK_EQ(vars("boot-next", "0", NULL), 0);
	CHECK_EQ(vars("boot-next", "--clear", NULL), 0);
	CHECK_EQ(vars("boot-next", "--clear", NULL), 0);	/* already gone: fine */
	CHECK_EQ(vars("get", "BootNext", NULL), 1);
	/* The last entry out of BootOrder deletes it. */
	CHECK_EQ(vars("boot-delete", "0001", NULL), 0);
	CHECK_EQ(vars("boot-delete", "0000", NULL), 0);
	CHECK_EQ(vars("get", "BootOrder", NULL), 1);

	/* OVMF still accepts the store. */
	CHECK_EQ(vars("check", NULL), 0);
	CHECK(!strncmp(out, vars_path, strlen(vars_path)) && strstr(out, ": OK: 0 variables"));
}

TEST(varstool_boot_errors_leave_the_file_alone)
{
	static uint8_t before[0x84000], after[0x84000];
	static const struct {
		const char *args[16];
		int status;
		const char *err;
	} cases[] = {
		{ { "boot-add", "--disk", disk_path, "--part", "3", "--loader", "\\a", "--label", "a" },
		  1, "disk.img: no partition 3" },
		{ { "boot-add", "--disk", vars_path, "--part", "1", "--loader", "\\a", "--label", "a" },
		  1, "no MBR signature" },
		{ { "boot-add", "--disk", disk_path, "--part", "1", "--loader", "a", "--label", "a" },
		  1, "loader not absolute" },
		{ { "boot-add", "--disk", disk_path, "--part", "1", "--loader", "\\a", "--label", "\xff" },
		  1, "not UTF-8" },
		{ { "boot-add", "--part-guid", "x", "--start", "1", "--size", "1", "--partnum", "1",
		    "--loader", "\\a", "--label", "a" }, 1, "bad GUID 'x'" },
		{ { "boot-add", "--part-guid", ESP_UUID, "--start", "1", "--size", "0", "--partnum",
		    "1", "--loader", "\\a", "--label", "a" }, 1, "bad --start or --size" },
		{ { "boot-add", "--num", "10000", "--disk", disk_path, "--part", "1", "--loader", "\\a",
		    "--label", "a" }, 1, "bad boot option number '10000'" },
		{ { "boot-order", "0000" }, 1, "no Boot0000" },
		{ { "boot-order", "0000,zz" }, 1, "no Boot0000" },
		{ { "boot-next", "0000" }, 1, "no Boot0000" },
		{ { "boot-delete", "0000" }, 1, "no variable Boot0000" },
		/* Usage errors. */
		{ { "boot-add", "--disk", disk_path, "--part", "1", "--label", "a" }, 2, "usage:" },
		{ { "boot-add", "--disk", disk_path, "--part", "1", "--loader", "\\a", "--label" }, 2,
		  "missing value: --label" },
		{ { "boot-add", "--disk", disk_path, "--part", "1", "--partnum", "1", "--loader", "\\a",
		    "--label", "a" }, 2, "usage:" },
		{ { "boot-add", "--bogus", "1", "--loader", "\\a", "--label", "a" }, 2,
		  "unknown option or missing value: --bogus" },
		{ { "boot-order", "," }, 2, "usage:" },
		{ { "boot-list", "extra" }, 2, "usage:" },
	};
	size_t n;

	if (!setup())
		return;
	n = read_file(vars_path, before, sizeof(before));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *const *a = cases[i].args;
		int r = vars(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
			     a[12], a[13], a[14], NULL);

		if (r != cases[i].status || !strstr(err, cases[i].err))
			test_fail(__FILE__, __LINE__, "case %zu: exit status %d, stderr:\n%s", i, r, err);
	}
	CHECK_EQ(read_file(vars_path, after, sizeof(after)), n);
	CHECK_MEM(before, after, n);
	/* Duplicates are refused once the option exists. */
	CHECK_EQ(vars("boot-add", "--disk", disk_path, "--part", "1", "--loader", "\\a", "--label",
		      "a", NULL), 0);
	n = read_file(vars_path, before, sizeof(before));
	CHECK_EQ(vars("boot-order", "0,0", NULL), 1);
	CHECK(strstr(err, "Boot0000 listed twice") != NULL);
	CHECK_EQ(read_file(vars_path, after, sizeof(after)), n);
	CHECK_MEM(before, after, n);
}
