/* Boot#### variables read from an efivarfs-format directory
 * (boot/disc/efivars.h): order, current, decoding, and variables that
 * are malformed, of another GUID or not Boot#### at all. */
#include "test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/efivars.h"
#include "efi/loadopt.h"
#include "util.h"

#define G "-8be4df61-93ca-11d2-aa0d-00e098032b8c"

static void write_var(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	uint8_t attrs[4];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	put_le32(attrs, 7);
	CHECK(write(fd, attrs, 4) == 4);
	if (len)
		CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

TEST(boot_options)
{
	char dir[512];
	uint8_t buf[512], order[6];
	struct loadopt_hd hd = { .partnum = 1, .start = 2048, .size = 131072 };
	struct efivars *ev = calloc(1, sizeof(*ev));
	int n;

	snprintf(dir, sizeof(dir), "%s/ev", test_tmpdir());
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(guid_parse("11111111-2222-3333-4444-555555555555", &hd.part_guid) == 0);
	n = loadopt_build(buf, sizeof(buf), LOAD_OPTION_ACTIVE, "debian", &hd, "\\EFI\\debian\\shimx64.efi", NULL, 0);
	CHECK(n > 0);
	write_var(dir, "Boot0001" G, buf, (size_t)n);
	n = loadopt_build(buf, sizeof(buf), 0, "Off", &hd, "\\EFI\\BOOT\\BOOTX64.EFI", NULL, 0);
	write_var(dir, "Boot000A" G, buf, (size_t)n);
	write_var(dir, "Boot0002" G, "\x01\x00\x00\x00\xff\xff", 6);	/* FilePathListLength past the end */
	write_var(dir, "Boot000b" G, buf, (size_t)n);			/* lower-case hex: not a Boot#### */
	write_var(dir, "Boot0003-12345678-1234-1234-1234-123456789abc", buf, (size_t)n);
	write_var(dir, "BootNext" G, "\x01\x00", 2);
	put_le16(order, 0x000a);
	put_le16(order + 2, 0x0001);
	put_le16(order + 4, 0x0002);
	write_var(dir, "BootOrder" G, order, 6);
	write_var(dir, "BootCurrent" G, "\x01\x00", 2);

	CHECK(efivars_load(dir, ev) == 0);
	CHECK(ev->present);
	CHECK_EQ(ev->bootcurrent, 1);
	CHECK_EQ(ev->norder, 3);
	CHECK_EQ(ev->order[0], 0xa);
	CHECK_EQ(ev->nopts, 3);
	CHECK_EQ(ev->opts[0].num, 1);
	CHECK_EQ(ev->opts[1].num, 2);
	CHECK_EQ(ev->opts[2].num, 0xa);
	CHECK_STR(ev->opts[0].lo.desc, "debian");
	CHECK(ev->opts[0].lo.has_hd);
	CHECK_STR(ev->opts[0].lo.file, "\\EFI\\debian\\shimx64.efi");
	CHECK(ev->opts[0].lo.attrs & LOAD_OPTION_ACTIVE);
	CHECK(ev->opts[1].bad);
	CHECK_STR(ev->opts[1].lo.desc, "(Boot0002 does not decode)");
	CHECK(!(ev->opts[2].lo.attrs & LOAD_OPTION_ACTIVE));
	CHECK_EQ(efivars_order_pos(ev, 1), 1);
	CHECK_EQ(efivars_order_pos(ev, 0x77), -1);

	/* no directory: not an error, nothing present */
	CHECK(efivars_load("/nonexistent/efivars", ev) == 0);
	CHECK(!ev->present);
	CHECK_EQ(ev->bootcurrent, -1);
	free(ev);
}
