/* PE headers of systemd's EFI stub (systemd-boot-efi) and of a UKI built
 * from it with objcopy (binutils), compared with `objdump -h/-p`; a PE32
 * linked with ld -m i386pe; then truncated and damaged headers. */
#include "test.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/pe.h"
#include "util.h"

#define STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

struct img {
	uint8_t *buf;
	size_t len;
	struct vol_mem m;
	struct vol v;
	struct pe_info pe;
	char why[256];
};

static bool load(struct img *im, const char *name)
{
	memset(im, 0, sizeof(*im));
	im->buf = test_load(name, &im->len);
	if (!im->buf)
		return false;
	vol_from_mem(&im->v, &im->m, im->buf, im->len);
	return true;
}

static bool make_uki(void)
{
	if (!test_need(STUB, "systemd-boot-efi") || !test_need("objcopy", "binutils") ||
	    !test_need("objdump", "binutils"))
		return false;
	return test_shf("cp " STUB " stub.efi && "
		  "printf 'NAME=\"Debian GNU/Linux\"\\nVERSION_ID=\"12\"\\n' > osrel && "
		  "printf 'root=/dev/sda2 quiet' > cmdline && printf '6.1.0-test' > uname && "
		  "head -c 300001 /dev/zero | tr '\\0' 'k' > kernel && head -c 70000 /dev/zero > initrd && "
		  "objcopy --add-section .osrel=osrel --change-section-vma .osrel=0x20000 "
		  "--add-section .cmdline=cmdline --change-section-vma .cmdline=0x30000 "
		  "--add-section .uname=uname --change-section-vma .uname=0x40000 "
		  "--add-section .linux=kernel --change-section-vma .linux=0x2000000 "
		  "--add-section .initrd=initrd --change-section-vma .initrd=0x3000000 stub.efi uki.efi") == 0;
}

/* Our section table as objdump -h prints it: name, size, VMA, file offset. */
static void sections_text(const struct img *im, uint64_t base, char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (unsigned i = 0; i < im->pe.nsect; i++) {
		const struct pe_section *s = &im->pe.sect[i];
		uint32_t size = s->vsize && s->vsize < s->raw_size ? s->vsize : s->raw_size;

		n += (size_t)snprintf(out + n, len - n, "%s %08x %016llx %08x\n", s->name, size,
				      (unsigned long long)(base + s->vaddr), s->raw_off);
	}
}

static void same_as_objdump(const char *name, struct img *im)
{
	char ours[4096];

	if (test_shf("objdump -h %s | awk '/^ +[0-9]+ / { print $2, $3, $4, $6 }'", name))
		return;
	sections_text(im, 0, ours, sizeof(ours));
	CHECK_STR(ours, test_sh_out);
	if (test_shf("objdump -p %s | awk '/^Magic/ { print $2 } /^Subsystem/ { print $2 }'", name))
		return;
	snprintf(ours, sizeof(ours), "%s\n%08x\n", im->pe.pe32plus ? "020b" : "010b",
		 im->pe.subsystem);
	CHECK_STR(ours, test_sh_out);
}

TEST(pe_systemd_stub)
{
	struct img im;

	if (!make_uki() || !load(&im, "stub.efi"))
		return;
	CHECK_EQ(pe_parse(&im.v, &im.pe, im.why, sizeof(im.why)), 0);
	CHECK_STR(im.why, "");
	CHECK_EQ(im.pe.machine, PE_MACHINE_X64);
	CHECK_STR(pe_machine_name(im.pe.machine), "x64");
	CHECK(im.pe.pe32plus);
	CHECK_EQ(im.pe.subsystem, PE_SUBSYSTEM_EFI_APPLICATION);
	CHECK(pe_is_efi(&im.pe));
	CHECK(!pe_is_uki(&im.pe));
	CHECK(pe_find(&im.pe, ".sbat") != NULL);
	CHECK(pe_find(&im.pe, ".linux") == NULL);
	same_as_objdump("stub.efi", &im);
	free(im.buf);
}

TEST(pe_uki_sections)
{
	const struct pe_section *s;
	struct img im;
	char *data;
	size_t len;

	if (!make_uki() || !load(&im, "uki.efi"))
		return;
	CHECK_EQ(pe_parse(&im.v, &im.pe, im.why, sizeof(im.why)), 0);
	CHECK(pe_is_uki(&im.pe));
	same_as_objdump("uki.efi", &im);

	s = pe_find(&im.pe, ".osrel");
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ(s->vaddr, 0x20000);
		CHECK_EQ(pe_read_section(&im.v, s, 4096, &data, &len), 0);
		CHECK_STR(data, "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n");
		CHECK_EQ(len, strlen(data));
		free(data);
	}
	s = pe_find(&im.pe, ".cmdline");
	if (s && pe_read_section(&im.v, s, 4096, &data, &len) == 0) {
		CHECK_STR(data, "root=/dev/sda2 quiet");
		free(data);
	} else {
		test_fail(__FILE__, __LINE__, "no .cmdline");
	}
	s = pe_find(&im.pe, ".uname");
	if (s && pe_read_section(&im.v, s, 4096, &data, &len) == 0) {
		CHECK_STR(data, "6.1.0-test");
		free(data);
	} else {
		test_fail(__FILE__, __LINE__, "no .uname");
	}
	s = pe_find(&im.pe, ".linux");
	if (s) {
		CHECK_EQ(pe_read_section(&im.v, s, 300000, &data, &len), -EFBIG);
		CHECK(data == NULL);
		CHECK_EQ(pe_read_section(&im.v, s, 300001, &data, &len), 0);
		CHECK_EQ(len, 300001);
		CHECK(data[0] == 'k' && data[300000] == 'k' && data[300001] == 0);
		free(data);
	} else {
		test_fail(__FILE__, __LINE__, "no .linux");
	}
	CHECK(pe_find(&im.pe, ".initrd") != NULL);
	CHECK(pe_find(&im.pe, ".nothing") == NULL);
	free(im.buf);
}

TEST(pe32_from_ld_i386pe)
{
	struct img im;

	if (!test_need("as", "binutils") || !test_need("ld", "binutils"))
		return;
	if (test_shf("printf '.text\\n.globl start\\nstart: ret\\n.data\\n.long 1\\n' > t.s && "
	       "as --32 t.s -o t.o && ld -m i386pe --subsystem 11 -e start t.o -o t32.efi") ||
	    !load(&im, "t32.efi"))
		return;
	CHECK_EQ(pe_parse(&im.v, &im.pe, im.why, sizeof(im.why)), 0);
	CHECK_EQ(im.pe.machine, PE_MACHINE_I386);
	CHECK_STR(pe_machine_name(im.pe.machine), "ia32");
	CHECK(!im.pe.pe32plus);
	CHECK_EQ(im.pe.subsystem, PE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER);
	CHECK(pe_is_efi(&im.pe));
	if (test_shf("objdump -p t32.efi | awk '/^Magic/ { print $2 } /^Subsystem/ { print $2 }'") == 0)
		CHECK_STR(test_sh_out, "010b\n0000000b\n");
	CHECK(pe_find(&im.pe, ".text") != NULL);
	CHECK_EQ(pe_find(&im.pe, ".text")->raw_off, 0x400);
	free(im.buf);
}

TEST(pe_damaged_headers)
{
	struct img im;
	struct pe_info pe;
	char why[256];
	uint32_t lfanew, tbl;
	uint16_t nsect;

	if (!make_uki() || !load(&im, "uki.efi"))
		return;
	lfanew = get_le32(im.buf + 0x3c);
	nsect = get_le16(im.buf + lfanew + 6);
	tbl = lfanew + 24 + get_le16(im.buf + lfanew + 20);

	/* truncated inside the section table */
	im.v.size = tbl + 40 * (nsect - 1) + 20;
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "section table") != NULL);
	/* the section table whole, the last section's data cut off */
	im.v.size = tbl + 40 * nsect;
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "outside the file") != NULL);
	CHECK_EQ(pe.nsect, 0);
	im.v.size = 40;
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EIO);
	im.v.size = im.len;

	put_le32(im.buf + 0x3c, (uint32_t)im.len + 16);		/* e_lfanew outside */
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "e_lfanew") != NULL);
	put_le32(im.buf + 0x3c, (uint32_t)im.len - 10);
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le32(im.buf + 0x3c, 0);
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le32(im.buf + 0x3c, lfanew);

	im.buf[lfanew + 2] = 'X';				/* PE signature */
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	im.buf[lfanew + 2] = 0;
	put_le16(im.buf + lfanew + 6, 97);			/* too many sections */
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le16(im.buf + lfanew + 6, 0xffff);
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le16(im.buf + lfanew + 6, nsect);
	put_le16(im.buf + lfanew + 24, 0x107);			/* optional header magic */
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le16(im.buf + lfanew + 24, 0x20b);
	put_le16(im.buf + lfanew + 20, 10);			/* optional header too small */
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le16(im.buf + lfanew + 20, 0xffff);
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le16(im.buf + lfanew + 20, (uint16_t)(tbl - lfanew - 24));
	/* a section whose raw data runs past the end */
	put_le32(im.buf + tbl + 16, 0xfffffff0);
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	put_le32(im.buf + tbl + 20, 0);
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	im.buf[0] = 'Z';
	CHECK_EQ(pe_parse(&im.v, &pe, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "MZ") != NULL);
	/* pe_read_section checks its section against the volume itself */
	{
		struct pe_section s = { ".x", 100, 0, 100, (uint32_t)im.len - 50 };
		char *data;
		size_t len;

		CHECK_EQ(pe_read_section(&im.v, &s, 1000, &data, &len), -EINVAL);
		CHECK(data == NULL);
	}
	free(im.buf);
}
