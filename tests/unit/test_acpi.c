/* ACPI: the AML emitter against iasl goldens, the generated tables, the
 * loader script as OVMF runs it, and iasl's verdict on a dump. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "acpi/aml.h"
#include "machine/layout.h"
#include "util.h"

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/acpi/%s", POLYBOOT_TEST_DATA, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		return NULL;
	}
	buf = malloc((size_t)st.st_size);
	if (read(fd, buf, (size_t)st.st_size) != st.st_size)
		test_fail(__FILE__, __LINE__, "short read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Compares an AML body with a golden table's body (after its header). */
static void check_golden(const char *file, const uint8_t *body, size_t len)
{
	size_t glen;
	uint8_t *g = slurp(file, &glen);
	if (!g)
		return;
	if (glen < 36 || glen - 36 != len) {
		test_fail(__FILE__, __LINE__, "%s: body %zu bytes, ours %zu", file, glen - 36, len);
	} else {
		for (size_t i = 0; i < len; i++) {
			if (g[36 + i] != body[i]) {
				test_fail(__FILE__, __LINE__, "%s: first difference at body offset %#zx: %#x vs ours %#x",
					  file, i, g[36 + i], body[i]);
				break;
			}
		}
	}
	free(g);
}

TEST(aml_pkglen_encoding_boundaries)
{
	uint8_t b[4];
	CHECK_EQ(aml_pkglen_encode(0, b), 1);
	CHECK_EQ(b[0], 1);
	CHECK_EQ(aml_pkglen_encode(0x3e, b), 1);
	CHECK_EQ(b[0], 0x3f);
	CHECK_EQ(aml_pkglen_encode(0x3f, b), 2);	/* 0x41 total: two bytes */
	CHECK_EQ(b[0], 0x41);
	CHECK_EQ(b[1], 0x04);
	CHECK_EQ(aml_pkglen_encode(0xffd, b), 2);	/* 0xfff */
	CHECK_EQ(aml_pkglen_encode(0xffe, b), 3);
	CHECK_EQ(b[0], 0x80 | 0x1);
	CHECK_EQ(aml_pkglen_encode(0x0ffffffb, b), 4);
	CHECK_EQ(aml_pkglen_encode(0x0ffffffc, b), 0);	/* too long */
	CHECK_EQ(aml_eisaid_value("PNP0A08"), 0x080ad041);
	CHECK_EQ(aml_eisaid_value("PNP0501"), 0x0105d041);
	CHECK_EQ(aml_eisaid_value("BAD"), 0);
}

TEST(aml_names_and_data_match_iasl)
{
	struct aml top, sb, dev, v, e;

	aml_init(&top);
	aml_init(&sb);
	aml_init(&dev);
#define NAME(n, emit) do { aml_init(&v); emit; aml_name_decl(&dev, n, &v); } while (0)
	NAME("_HID", aml_eisaid(&v, "PNP0A08"));
	NAME("_CID", aml_eisaid(&v, "PNP0501"));
	NAME("_UID", aml_int(&v, 0));
	NAME("ONE1", aml_int(&v, 1));
	NAME("BYT1", aml_int(&v, 0x2a));
	NAME("WRD1", aml_int(&v, 0x1234));
	NAME("DWD1", aml_int(&v, 0x12345678));
	NAME("QWD1", aml_int(&v, 0x123456789aULL));
	NAME("STR1", aml_string(&v, "polyboot"));
	aml_init(&e);
	aml_int(&e, 0);
	aml_int(&e, 0x10);
	aml_string(&e, "x");
	NAME("PKG1", aml_package(&v, 3, &e));
#undef NAME
	aml_device(&sb, "DEV0", &dev);
	aml_scope(&top, "\\_SB", &sb);
	CHECK(aml_ok(&top));
	check_golden("names.aml", top.buf, top.len);
	aml_free(&top);
}

TEST(aml_resources_match_iasl)
{
	struct aml top, v;
	struct aml_res r;

	aml_init(&top);
	aml_res_init(&r);
	aml_res_word_bus(&r, 0, 0xff);
	aml_res_word_io(&r, 0x0d00, 0xffff);
	aml_res_io(&r, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&r, 4);
	aml_res_dword_mem(&r, 0xc0000000, 0xfbffffff, false);
	aml_res_dword_mem(&r, 0xa0000, 0xbffff, true);
	aml_res_qword_mem(&r, 0x800000000ULL, 0xfffffffffULL, false);
	aml_init(&v);
	aml_res_finish(&v, &r);
	aml_name_decl(&top, "RES1", &v);
	CHECK(aml_ok(&top));
	check_golden("resources.aml", top.buf, top.len);
	aml_free(&top);
}

TEST(acpi_dsdt_matches_iasl_golden)
{
	struct acpi_config c = { 2, 0x800000000ULL, 0x800000000ULL };
	uint8_t *body;
	size_t len;

	CHECK_EQ(acpi_build_dsdt_body(&c, &body, &len), 0);
	check_golden("dsdt-2cpu.aml", body, len);
	free(body);
}

static bool has_dword(const uint8_t *p, size_t len, uint32_t v)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (p[i] == (uint8_t)v && p[i + 1] == (uint8_t)(v >> 8) &&
		    p[i + 2] == (uint8_t)(v >> 16) && p[i + 3] == (uint8_t)(v >> 24))
			return true;
	return false;
}

TEST(acpi_dsdt_bios_window_reaches_the_ioapic)
{
	struct acpi_config ovmf = { 1, 0, 0 }, bios = { 1, 0, 0, LAYOUT_BIOS_MMIO32_END };
	struct acpi_config bad = bios;
	struct acpi_blobs b;
	uint8_t *body;
	size_t len;

	/* OVMF's window ends at 0xFC000000; SeaBIOS places BARs below the
	 * IOAPIC, so the _CRS of a --bios machine goes up to 0xFEBFFFFF. */
	CHECK_EQ(acpi_build_dsdt_body(&ovmf, &body, &len), 0);
	CHECK(has_dword(body, len, 0xfbffffff));
	CHECK(!has_dword(body, len, 0xfebfffff));
	free(body);
	CHECK_EQ(acpi_build_dsdt_body(&bios, &body, &len), 0);
	CHECK(has_dword(body, len, 0xfebfffff));
	CHECK(!has_dword(body, len, 0xfbffffff));
	CHECK(has_dword(body, len, (uint32_t)LAYOUT_MMIO32_BASE));
	free(body);
	bad.mmio32_end = LAYOUT_IOAPIC_BASE + 0x1000;
	CHECK_EQ(acpi_build(&bad, &b), -EINVAL);
	bad.mmio32_end = LAYOUT_MMIO32_BASE;
	CHECK_EQ(acpi_build(&bad, &b), -EINVAL);
	CHECK_EQ(acpi_build(&bios, &b), 0);
	acpi_blobs_free(&b);
}

static const uint8_t *find_table(struct acpi_blobs *b, const char *sig, size_t *len)
{
	for (unsigned i = 0; i < b->ntables; i++) {
		if (!strcmp(b->index[i].sig, sig)) {
			*len = b->index[i].len;
			return b->tables + b->index[i].off;
		}
	}
	return NULL;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

TEST(acpi_tables_link_and_checksum_like_ovmf)
{
	static const unsigned cpus[] = { 1, 4, 255 };
	for (unsigned k = 0; k < 3; k++) {
		struct acpi_config c = { cpus[k], 0x200000000ULL, 0x7e00000000ULL };
		struct acpi_blobs b;
		const uint8_t *t;
		size_t len;
		unsigned lapics = 0;

		CHECK_EQ(acpi_build(&c, &b), 0);
		CHECK_EQ(b.loader_len % ACPI_LOADER_ENTRY, 0);
		/* In the blob checksums are 0: OVMF computes them. */
		t = find_table(&b, "FACP", &len);
		CHECK(t && t[9] == 0);
		CHECK_EQ(acpi_link(&b, 0xf0000, 0x7f000000), 0);
		for (unsigned i = 0; i < b.ntables; i++)
			CHECK_EQ(sum8(b.tables + b.index[i].off, b.index[i].len), 0);
		CHECK_EQ(sum8(b.rsdp, 20), 0);
		CHECK_EQ(sum8(b.rsdp, 36), 0);
		CHECK_MEM(b.rsdp, "RSD PTR ", 8);
		/* RSDP -> XSDT -> FADT -> DSDT/FACS after linking. */
		{
			uint64_t xsdt = get_le64(b.rsdp + 24) - 0x7f000000;
			const uint8_t *x = b.tables + xsdt;
			uint64_t fadt;
			CHECK_MEM(x, "XSDT", 4);
			CHECK_EQ(get_le32(x + 4), 36 + 4 * 8);
			fadt = get_le64(x + 36) - 0x7f000000;
			CHECK_MEM(b.tables + fadt, "FACP", 4);
			CHECK_MEM(b.tables + get_le64(b.tables + fadt + 140) - 0x7f000000, "DSDT", 4);
			CHECK_MEM(b.tables + get_le32(b.tables + fadt + 36) - 0x7f000000, "FACS", 4);
			CHECK_EQ(get_le16(b.tables + fadt + 46), 9);		/* SCI */
			CHECK_EQ(get_le32(b.tables + fadt + 76), 0x608);	/* PM timer */
			CHECK_EQ(get_le64(b.tables + fadt + 120), 0xcf9);	/* reset register */
			CHECK_EQ(b.tables[fadt + 128], 0x0f);
			CHECK_EQ(get_le32(b.tables + fadt + 112) & (1u << 20), 0);	/* not HW-reduced */
		}
		t = find_table(&b, "APIC", &len);
		CHECK(t != NULL);
		for (size_t off = 44; t && off + 2 <= len; off += t[off + 1]) {
			if (t[off] == 0) {
				CHECK_EQ(t[off + 3], lapics);	/* APIC ID */
				lapics++;
			}
			if (t[off + 1] == 0)
				break;
		}
		CHECK_EQ(lapics, cpus[k]);
		t = find_table(&b, "MCFG", &len);
		CHECK(t && get_le64(t + 44) == 0xb0000000 && t[55] == 255);
		acpi_blobs_free(&b);
	}
	{
		struct acpi_config bad = { 0, 0, 0 };
		struct acpi_blobs b;
		CHECK_EQ(acpi_build(&bad, &b), -EINVAL);
		bad.ncpus = 256;
		CHECK_EQ(acpi_build(&bad, &b), -EINVAL);
	}
}

TEST(acpi_link_rejects_malformed_scripts)
{
	struct acpi_config c = { 2, 0, 0 };
	struct acpi_blobs b;
	uint8_t *e;

	CHECK_EQ(acpi_build(&c, &b), 0);
	/* Corrupt the first ADD_POINTER: point past the blob. */
	for (e = b.loader; e < b.loader + b.loader_len; e += ACPI_LOADER_ENTRY)
		if (get_le32(e) == 2)
			break;
	put_le32(e + 116, (uint32_t)b.tables_len);
	CHECK_EQ(acpi_link(&b, 0xf0000, 0x7f000000), -EINVAL);
	acpi_blobs_free(&b);
	CHECK_EQ(acpi_build(&c, &b), 0);
	b.loader_len -= 1;
	CHECK_EQ(acpi_link(&b, 0xf0000, 0x7f000000), -EINVAL);
	acpi_blobs_free(&b);
}

TEST(acpi_dump_is_accepted_by_iasl)
{
	struct acpi_config c = { 4, 0x200000000ULL, 0x7e00000000ULL };
	static const char *sigs[] = { "DSDT", "FACP", "APIC", "MCFG", "WAET", "XSDT", "FACS" };
	char dir[256], cmd[2048];

	snprintf(dir, sizeof(dir), "%s/acpi", test_tmpdir());
	mkdir(dir, 0755);
	CHECK_EQ(acpi_dump(&c, dir), 0);
	if (system("command -v iasl >/dev/null") != 0) {
		test_fail(__FILE__, __LINE__, "iasl not installed (acpica-tools; ./build.sh deps)");
		return;
	}
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* iasl -d prints "Error" lines and fails on tables it cannot parse. */
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -d %s.dat >%s.log 2>&1 && ! grep -qiE '(^|[^a-z])error' %s.log && test -s %s.dsl",
			 dir, sigs[i], sigs[i], sigs[i], sigs[i]);
		if (system(cmd) != 0)
			test_fail(__FILE__, __LINE__, "iasl -d %s.dat failed (see %s/%s.log)", sigs[i], dir, sigs[i]);
	}
	/* The disassembly names what we put there. */
	snprintf(cmd, sizeof(cmd), "grep -q 'PNP0A08' %s/DSDT.dsl && grep -q 'ACPI0007' %s/DSDT.dsl && "
		 "grep -q 'Local APIC NMI' %s/APIC.dsl", dir, dir, dir);
	CHECK_EQ(system(cmd), 0);
}
