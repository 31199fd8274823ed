/* img_probe() on images made by qemu-img (qemu-utils), sfdisk (fdisk),
 * mkfs.vfat and xorriso, compared with what `qemu-img info` and
 * `xorriso -report_el_torito` say about them; then damaged footers,
 * region tables and boot catalogs. */
#include "test.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/imgprobe.h"
#include "util.h"

struct img {
	uint8_t *buf;
	size_t len;
	struct vol_mem m;
	struct vol v;
	struct img_info info;
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

static int probe(struct img *im)
{
	return img_probe(&im->v, &im->info, im->why, sizeof(im->why));
}

/* `qemu-img info`'s virtual size of @name. */
static uint64_t qemu_size(const char *name)
{
	if (test_shf("qemu-img info --output=json %s | sed -n 's/.*\"virtual-size\": *\\([0-9]*\\).*/\\1/p'",
	       name))
		return 0;
	return strtoull(test_sh_out, NULL, 10);
}

static bool make_gpt_disk(void)
{
	return test_need("sfdisk", "fdisk") &&
	       test_shf("rm -f gpt.raw && truncate -s 16M gpt.raw && printf 'label: gpt\\n"
		  "size=4M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\\n"
		  "size=4M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n"
		  "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n' | sfdisk -q gpt.raw") == 0;
}

TEST(img_raw_gpt_mbr_and_partitionless)
{
	struct img im;

	if (!make_gpt_disk() || !test_need("mkfs.vfat", "dosfstools"))
		return;
	if (test_shf("rm -f mbr.raw && truncate -s 16M mbr.raw && printf 'label: dos\\n"
	       "size=4M, type=ef\\nsize=4M, type=83\\ntype=5\\nsize=1M, type=83\\n' | sfdisk -q mbr.raw && "
	       "rm -f fat.raw && mkfs.vfat -C fat.raw 4096 >/dev/null"))
		return;
	if (load(&im, "gpt.raw")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_RAW);
		CHECK_STR(img_kind_name(im.info.kind), "raw");
		CHECK_STR(im.info.table, "gpt");
		CHECK_EQ(im.info.nparts, 3);
		CHECK(im.info.has_esp);
		CHECK_EQ(im.info.virtual_size, 16 << 20);
		CHECK_EQ(im.info.data_off, 0);
		CHECK_STR(im.why, "");
		/* the primary header damaged: the backup is used, and said so */
		im.buf[512 + 40] ^= 1;	/* FirstUsableLBA, under the header CRC */
		CHECK_EQ(probe(&im), 0);
		CHECK_STR(im.info.table, "gpt");
		CHECK_EQ(im.info.nparts, 3);
		CHECK(strstr(im.why, "primary GPT") != NULL);
		/* both damaged: a protective MBR alone */
		im.buf[im.len - 512 + 40] ^= 1;
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_RAW);
		CHECK_STR(im.info.table, "gpt");
		CHECK_EQ(im.info.nparts, 0);
		CHECK(!im.info.has_esp);
		free(im.buf);
	}
	if (load(&im, "mbr.raw")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_RAW);
		CHECK_STR(im.info.table, "mbr");
		CHECK_EQ(im.info.nparts, 4);	/* 1, 2, 3 (extended), 5 */
		CHECK(im.info.has_esp);
		free(im.buf);
	}
	if (load(&im, "fat.raw")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_RAW);
		CHECK_STR(im.info.table, "");
		CHECK_EQ(im.info.nparts, 0);
		free(im.buf);
	}
}

/* Recomputes the checksum of the VHD footer at @f. */
static void vhd_fix_sum(uint8_t *f)
{
	uint32_t sum = 0;

	put_be32(f + 64, 0);
	for (int i = 0; i < 512; i++)
		sum += f[i];
	put_be32(f + 64, ~sum);
}

TEST(img_vhd_fixed)
{
	struct img im;
	uint64_t size;

	if (!make_gpt_disk() || !test_need("qemu-img", "qemu-utils"))
		return;
	if (test_shf("qemu-img convert -O vpc -o subformat=fixed,force_size=on gpt.raw fixed.vhd"))
		return;
	/* qemu-img 7.2 counts the footer of a fixed VHD in; the footer's
	 * current size is the disk that was converted */
	size = 16 << 20;
	CHECK(qemu_size("fixed.vhd") == size || qemu_size("fixed.vhd") == size + 512);
	if (!load(&im, "fixed.vhd"))
		return;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_FIXED);
	CHECK_EQ(im.info.virtual_size, size);
	CHECK_EQ(im.info.data_off, 0);
	CHECK(im.info.vhd_checksum_ok);
	CHECK_STR(im.info.creator, "qem2");	/* qemu's mark for force_size */
	CHECK_STR(im.info.table, "gpt");	/* read through the footer: the backup GPT is at its place */
	CHECK_EQ(im.info.nparts, 3);
	CHECK(im.info.has_esp);
	CHECK_STR(im.why, "");

	/* a wrong checksum is noted, the footer still used */
	im.buf[im.len - 512 + 70] ^= 1;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_FIXED);
	CHECK(!im.info.vhd_checksum_ok);
	CHECK(strstr(im.why, "checksum") != NULL);
	im.buf[im.len - 512 + 70] ^= 1;

	/* the 511-byte footer of old Virtual PC (its last byte is reserved) */
	im.v.size = im.len - 1;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_FIXED);
	CHECK(im.info.vhd_checksum_ok);
	CHECK_STR(im.info.table, "gpt");

	/* an unknown disk type */
	im.v.size = im.len;
	put_be32(im.buf + im.len - 512 + 60, 7);
	vhd_fix_sum(im.buf + im.len - 512);
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_UNKNOWN);
	CHECK(strstr(im.why, "disk type 7") != NULL);
	free(im.buf);
}

TEST(img_vhd_dynamic_and_differencing)
{
	struct img im;
	uint64_t size;

	if (!test_need("qemu-img", "qemu-utils"))
		return;
	if (test_shf("rm -f dyn.vhd && qemu-img create -q -f vpc -o subformat=dynamic dyn.vhd 100M"))
		return;
	size = qemu_size("dyn.vhd");
	if (!load(&im, "dyn.vhd"))
		return;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_DYNAMIC);
	CHECK_STR(img_kind_name(im.info.kind), "vhd-dynamic");
	CHECK_EQ(im.info.virtual_size, size);
	CHECK(im.info.vhd_checksum_ok);
	CHECK_STR(im.info.creator, "qemu");
	CHECK_STR(im.info.table, "");
	CHECK_STR(im.why, "");

	/* differencing: type 4 in both footers */
	put_be32(im.buf + 60, 4);
	vhd_fix_sum(im.buf);
	put_be32(im.buf + im.len - 512 + 60, 4);
	vhd_fix_sum(im.buf + im.len - 512);
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_DIFF);
	CHECK(im.info.vhd_checksum_ok);

	/* the end footer lost: the copy at 0 */
	im.v.size = im.len - 512;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_DIFF);
	CHECK(strstr(im.why, "copy at offset 0") != NULL);

	/* no dynamic header where the footer says */
	im.v.size = im.len;
	memset(im.buf + 512, 0, 8);
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHD_DIFF);
	CHECK(strstr(im.why, "dynamic disk header") != NULL);
	free(im.buf);
}

TEST(img_vhdx_size_from_metadata)
{
	struct img im;

	if (!test_need("qemu-img", "qemu-utils"))
		return;
	if (test_shf("rm -f d.vhdx && qemu-img create -q -f vhdx d.vhdx 3G"))
		return;
	CHECK_EQ(qemu_size("d.vhdx"), 3ull << 30);
	if (!load(&im, "d.vhdx"))
		return;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHDX);
	CHECK_EQ(im.info.virtual_size, 3ull << 30);
	CHECK(strncmp(im.info.creator, "QEMU", 4) == 0);
	CHECK(!im.info.qcow2_backing);
	CHECK_STR(im.why, "");
	/* the region table's checksum wrong: its copy */
	im.buf[(192 << 10) + 20] ^= 1;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.virtual_size, 3ull << 30);
	/* both wrong: a VHDX of unknown size */
	im.buf[(256 << 10) + 20] ^= 1;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHDX);
	CHECK_EQ(im.info.virtual_size, 0);
	CHECK(strstr(im.why, "region table") != NULL);
	/* truncated inside the region table */
	im.v.size = 200 << 10;
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_VHDX);
	CHECK_EQ(im.info.virtual_size, 0);
	free(im.buf);
}

TEST(img_qcow2_qcow_versions_and_backing)
{
	struct img im;

	if (!test_need("qemu-img", "qemu-utils"))
		return;
	if (test_shf("rm -f q3 q2 q1 ov && qemu-img create -q -f qcow2 q3 5G && "
	       "qemu-img create -q -f qcow2 -o compat=0.10 q2 1G && "
	       "qemu-img create -q -f qcow q1 300M && "
	       "qemu-img create -q -f qcow2 -b q3 -F qcow2 ov"))
		return;
	if (load(&im, "q3")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_QCOW2);
		CHECK_EQ(im.info.qcow2_version, 3);
		CHECK_EQ(im.info.virtual_size, qemu_size("q3"));
		CHECK(!im.info.qcow2_backing);
		put_be32(im.buf + 4, 4);
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_UNKNOWN);
		CHECK(strstr(im.why, "version 4") != NULL);
		im.v.size = 20;		/* a cut header is not qcow */
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_UNKNOWN);
		free(im.buf);
	}
	if (load(&im, "q2")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_QCOW2);
		CHECK_EQ(im.info.qcow2_version, 2);
		CHECK_EQ(im.info.virtual_size, 1ull << 30);
		free(im.buf);
	}
	if (load(&im, "q1")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_QCOW);
		CHECK_EQ(im.info.qcow2_version, 1);
		CHECK_EQ(im.info.virtual_size, qemu_size("q1"));
		free(im.buf);
	}
	if (load(&im, "ov")) {
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_QCOW2);
		CHECK(im.info.qcow2_backing);
		CHECK_EQ(im.info.virtual_size, 5ull << 30);
		free(im.buf);
	}
}

/* xorriso's El Torito report for @name: "b" per BIOS image, "e" per UEFI. */
static void xorriso_boot(const char *name, char *out, size_t outlen)
{
	out[0] = 0;
	if (test_shf("xorriso -indev %s -report_el_torito plain 2>/dev/null | "
	       "awk '/^El Torito boot img/ { printf \"%%s\", $7 == \"BIOS\" ? \"b\" : $7 == \"UEFI\" ? \"e\" : \"?\" }'",
	       name) == 0) {
		size_t n = strnlen(test_sh_out, outlen - 1);

		memcpy(out, test_sh_out, n);
		out[n] = 0;
	}
}

TEST(img_iso_el_torito_and_hybrid)
{
	static const struct {
		const char *name, *opts, *report;
		bool bios, efi, hybrid;
	} cases[] = {
		{ "plain.iso", "", "", false, false, false },
		{ "bios.iso", "-b bios.bin -no-emul-boot -boot-load-size 4", "b", true, false, false },
		{ "efi.iso", "-e efi.img -no-emul-boot", "e", false, true, false },
		{ "both.iso", "-b bios.bin -no-emul-boot -boot-load-size 4 -eltorito-alt-boot "
			      "-e efi.img -no-emul-boot", "be", true, true, false },
		{ "hyb.iso", "-e efi.img -no-emul-boot -append_partition 2 0xef d/efi.img",
		  "e", false, true, true },
	};

	if (!test_need("xorriso", "xorriso") || !test_need("mkfs.vfat", "dosfstools"))
		return;
	if (test_shf("rm -rf d && mkdir d && echo x > d/readme && head -c 2048 /dev/zero > d/bios.bin && "
	       "mkfs.vfat -C d/efi.img 1440 >/dev/null"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct img im;
		char report[16];

		if (test_shf("rm -f %s && xorriso -as mkisofs -quiet -V 'Vol %zu' -o %s %s d", cases[i].name,
		       i, cases[i].name, cases[i].opts) || !load(&im, cases[i].name))
			return;
		xorriso_boot(cases[i].name, report, sizeof(report));
		CHECK_STR(report, cases[i].report);
		CHECK_EQ(probe(&im), 0);
		CHECK_EQ(im.info.kind, IMG_ISO);
		if (cases[i].hybrid)	/* the appended partition is not in the ISO */
			CHECK(im.info.virtual_size < im.len);
		else
			CHECK_EQ(im.info.virtual_size, im.len);
		CHECK_EQ(im.info.eltorito, cases[i].report[0] != 0);
		CHECK_EQ(im.info.eltorito_bios, cases[i].bios);
		CHECK_EQ(im.info.eltorito_efi, cases[i].efi);
		CHECK_EQ(im.info.iso_hybrid, cases[i].hybrid);
		if (strncmp(im.info.iso_volume_id, "Vol ", 4) || im.info.iso_volume_id[4] != (char)('0' + i))
			test_fail(__FILE__, __LINE__, "volume id \"%s\"", im.info.iso_volume_id);
		if (cases[i].hybrid) {
			CHECK_STR(im.info.table, "mbr");
			CHECK_EQ(im.info.nparts, 2);
			CHECK(im.info.has_esp);
		} else {
			CHECK_STR(im.info.table, "");
		}
		CHECK_STR(im.why, "");
		free(im.buf);
	}
}

TEST(img_iso_damaged_catalog)
{
	struct img im;
	uint32_t cat;

	if (!test_need("xorriso", "xorriso"))
		return;
	if (test_shf("rm -rf d c.iso && mkdir d && head -c 2048 /dev/zero > d/bios.bin && "
	       "xorriso -as mkisofs -quiet -o c.iso -b bios.bin -no-emul-boot d") || !load(&im, "c.iso"))
		return;
	CHECK_EQ(probe(&im), 0);
	CHECK(im.info.eltorito && im.info.eltorito_bios);
	/* the boot record is the descriptor after the PVD */
	CHECK_MEM(im.buf + 17 * 2048 + 7, "EL TORITO SPECIFICATION", 23);
	cat = get_le32(im.buf + 17 * 2048 + 71);
	im.buf[cat * 2048 + 28] ^= 1;		/* checksum */
	CHECK_EQ(probe(&im), 0);
	CHECK_EQ(im.info.kind, IMG_ISO);
	CHECK(!im.info.eltorito && !im.info.eltorito_bios);
	CHECK(strstr(im.why, "validation entry") != NULL);
	im.buf[cat * 2048 + 28] ^= 1;
	put_le32(im.buf + 17 * 2048 + 71, 0x7fffffff);
	CHECK_EQ(probe(&im), 0);
	CHECK(!im.info.eltorito);
	CHECK(strstr(im.why, "outside") != NULL);
	/* a section header claiming 65535 entries runs into the catalog's end */
	put_le32(im.buf + 17 * 2048 + 71, cat);
	im.buf[cat * 2048 + 64] = 0x91;
	im.buf[cat * 2048 + 65] = 0xef;
	put_le16(im.buf + cat * 2048 + 66, 0xffff);
	im.buf[cat * 2048 + 96] = 0x88;
	CHECK_EQ(probe(&im), 0);
	CHECK(im.info.eltorito_bios && im.info.eltorito_efi);
	free(im.buf);
}

TEST(img_unknown)
{
	static uint8_t junk[8192];
	struct img_info info;
	struct vol_mem m;
	struct vol v;
	char why[128];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 31 + 7);
	vol_from_mem(&v, &m, junk, sizeof(junk));
	CHECK_EQ(img_probe(&v, &info, why, sizeof(why)), 0);
	CHECK_EQ(info.kind, IMG_UNKNOWN);
	CHECK(why[0] != 0);
	CHECK_STR(img_kind_name(IMG_UNKNOWN), "unknown");
	v.size = 3;
	CHECK_EQ(img_probe(&v, &info, NULL, 0), 0);
	CHECK_EQ(info.kind, IMG_UNKNOWN);
}
