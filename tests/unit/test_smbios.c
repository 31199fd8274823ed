/* SMBIOS: host strings from a fake DMI tree, overrides, and the structure
 * stream parsed back the way a reader (dmidecode, Windows) walks it. */
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "acpi/smbios.h"
#include "util.h"

static void put(const char *dir, const char *name, const char *val)
{
	char p[600];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f) {
		fputs(val, f);
		fclose(f);
	}
}

/* Finds structure @type; returns its start and sets *strs to its strings. */
static const uint8_t *find(const uint8_t *t, size_t len, uint8_t type, const uint8_t **strs)
{
	size_t off = 0;
	while (off + 4 <= len) {
		const uint8_t *s = t + off;
		size_t e = off + s[1];
		if (s[1] < 4 || e > len)
			return NULL;
		/* Strings end at a double NUL. */
		while (e + 1 < len && !(t[e] == 0 && t[e + 1] == 0))
			e++;
		if (s[0] == type) {
			*strs = t + off + s[1];
			return s;
		}
		if (s[0] == 127)
			return NULL;
		off = e + 2;
	}
	return NULL;
}

static const char *str(const uint8_t *strs, uint8_t idx)
{
	const char *p = (const char *)strs;
	if (idx == 0)
		return "";
	while (--idx)
		p += strlen(p) + 1;
	return p;
}

TEST(smbios_host_strings_and_overrides)
{
	char dir[512], err[256];
	struct smbios_info si;
	struct smbios_blobs b;
	const uint8_t *s, *strs;

	snprintf(dir, sizeof(dir), "%s/dmi", test_tmpdir());
	mkdir(dir, 0755);
	put(dir, "sys_vendor", "LENOVO\n");
	put(dir, "product_name", "  ThinkPad X1  \n");
	put(dir, "product_serial", "PF123456\n");
	put(dir, "product_uuid", "4600cb32-38ec-4b2f-8acb-81c6ea54f2d8\n");
	put(dir, "board_vendor", "LENOVO\n");
	put(dir, "bios_vendor", "Default string\n");	/* placeholder: ignored */
	put(dir, "chassis_type", "10\n");
	smbios_info_init(&si, dir);
	si.ncpus = 4;
	si.ram_low = 2ULL << 30;
	si.ram_high = 2ULL << 30;
	CHECK_STR(si.s[SMB_SYS_PRODUCT], "ThinkPad X1");
	CHECK_STR(si.s[SMB_BIOS_VENDOR], "polyboot");
	CHECK_EQ(smbios_info_set(&si, "type1.version=Gen 11", err, sizeof(err)), 0);
	CHECK_EQ(smbios_info_set(&si, "type9.nope=1", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unknown SMBIOS key 'type9.nope'") != NULL);
	CHECK_EQ(smbios_info_set(&si, "type1.serial", err, sizeof(err)), -EINVAL);
	CHECK_EQ(smbios_info_set(&si, "type1.uuid=not-a-uuid", err, sizeof(err)), -EINVAL);
	CHECK_EQ(smbios_info_set(&si, "type3.type=999", err, sizeof(err)), -EINVAL);

	CHECK_EQ(smbios_build(&si, &b), 0);
	s = find(b.tables, b.tables_len, 1, &strs);
	CHECK(s != NULL);
	if (s) {
		static const uint8_t uuid[16] = { 0x32, 0xcb, 0x00, 0x46, 0xec, 0x38, 0x2f, 0x4b,
						  0x8a, 0xcb, 0x81, 0xc6, 0xea, 0x54, 0xf2, 0xd8 };
		CHECK_STR(str(strs, s[4]), "LENOVO");
		CHECK_STR(str(strs, s[5]), "ThinkPad X1");
		CHECK_STR(str(strs, s[6]), "Gen 11");
		CHECK_STR(str(strs, s[7]), "PF123456");
		CHECK_MEM(s + 8, uuid, 16);
		CHECK_EQ(s[0x19], 0);	/* no SKU: string 0 */
	}
	s = find(b.tables, b.tables_len, 3, &strs);
	CHECK(s && s[5] == 10);
	s = find(b.tables, b.tables_len, 4, &strs);
	CHECK(s && s[0x23] == 4 && get_le16(s + 0x2a) == 4);
	s = find(b.tables, b.tables_len, 17, &strs);
	CHECK(s && get_le16(s + 12) == 4096);	/* MiB */
	{
		/* Walk every structure: two type 19 (below and above 4 GiB). */
		int n19 = 0;
		size_t off = 0;
		while (off + 4 <= b.tables_len && b.tables[off] != 127) {
			size_t e = off + b.tables[off + 1];
			if (b.tables[off] == 19)
				n19++;
			while (e + 1 < b.tables_len && !(b.tables[e] == 0 && b.tables[e + 1] == 0))
				e++;
			off = e + 2;
		}
		CHECK_EQ(n19, 2);
	}
	CHECK(find(b.tables, b.tables_len, 32, &strs) != NULL);
	/* Anchor: _SM3_, checksum, max size = the blob. */
	CHECK_MEM(b.anchor, "_SM3_", 5);
	CHECK_EQ(get_le32(b.anchor + 12), b.tables_len);
	{
		uint8_t sum = 0;
		for (int i = 0; i < 24; i++)
			sum = (uint8_t)(sum + b.anchor[i]);
		CHECK_EQ(sum, 0);
	}
	/* The stream ends with type 127 and a double NUL. */
	CHECK_EQ(b.tables[b.tables_len - 6], 127);
	CHECK_EQ(b.tables[b.tables_len - 1], 0);
	CHECK_EQ(b.tables[b.tables_len - 2], 0);
	smbios_blobs_free(&b);
}

TEST(smbios_defaults_without_host_tree)
{
	struct smbios_info si;
	struct smbios_blobs b;
	const uint8_t *s, *strs;

	smbios_info_init(&si, "/nonexistent");
	si.ram_low = 512 << 20;
	CHECK_EQ(smbios_build(&si, &b), 0);
	s = find(b.tables, b.tables_len, 0, &strs);
	CHECK(s && !strcmp(str(strs, s[4]), "polyboot"));
	s = find(b.tables, b.tables_len, 1, &strs);
	CHECK(s != NULL);
	if (s) {
		static const uint8_t zero[16];
		CHECK_MEM(s + 8, zero, 16);	/* UUID unknown */
	}
	smbios_blobs_free(&b);
}
