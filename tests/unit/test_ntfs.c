/* NTFS volumes made by mkntfs and filled by ntfscp (ntfs-3g, no mount):
 * label, serial and version compared with blkid and ntfsinfo, the root
 * names discovery looks for, hiberfil.sys signatures compared with
 * ntfs-3g's own hibernation check; then a fake BitLocker boot sector and
 * damaged volumes (fixups, attribute lengths, runlists, truncation). */
#include "test.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/ntfs.h"
#include "util.h"

static bool have_tools(void)
{
	static const char *const tools[][2] = {
		{ "mkntfs", "ntfs-3g" }, { "ntfscp", "ntfs-3g" }, { "ntfsls", "ntfs-3g" },
		{ "ntfsinfo", "ntfs-3g" }, { "blkid", "util-linux" },
	};
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
		ok &= test_need(tools[i][0], tools[i][1]);
	return ok;
}

/* A host file of @len bytes starting with @head, zeros after it. */
static int host_file(const char *name, const char *head, size_t len)
{
	return test_shf("head -c %zu /dev/zero > %s && printf '%s' | dd of=%s conv=notrunc status=none",
		  len, name, head, name);
}

struct img {
	uint8_t *buf;
	size_t len;
	struct vol_mem m;
	struct vol v;
};

static bool load_img(struct img *im, const char *name)
{
	memset(im, 0, sizeof(*im));
	im->buf = test_load(name, &im->len);
	if (!im->buf)
		return false;
	vol_from_mem(&im->v, &im->m, im->buf, im->len);
	return true;
}

/* MFT record @num of a fresh volume, whose MFT is one run; NULL (and a
 * failure) unless it holds @name, in UTF-16. */
static uint8_t *record(struct img *im, uint64_t num, const char *name)
{
	uint64_t csize = get_le16(im->buf + 11) * (uint64_t)im->buf[13];
	int8_t cpr = (int8_t)im->buf[64];
	uint64_t recsize = cpr > 0 ? cpr * csize : 1ull << -cpr;
	uint8_t *rec = im->buf + get_le64(im->buf + 48) * csize + num * recsize;
	uint8_t u[64];
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++) {
		u[2 * i] = (uint8_t)name[i];
		u[2 * i + 1] = 0;
	}
	if (!memmem(rec, recsize, u, 2 * n) || memcmp(rec, "FILE", 4)) {
		test_fail(__FILE__, __LINE__, "record %llu is not %s", (unsigned long long)num, name);
		return NULL;
	}
	return rec;
}

/* The first attribute of @type in record @rec (before fixups matter). */
static uint8_t *attr(uint8_t *rec, uint32_t type)
{
	uint32_t pos = get_le16(rec + 20);

	while (pos < 1000 && get_le32(rec + pos) != 0xffffffff) {
		if (get_le32(rec + pos) == type)
			return rec + pos;
		if (get_le32(rec + pos + 4) == 0)
			break;
		pos += get_le32(rec + pos + 4);
	}
	test_fail(__FILE__, __LINE__, "no attribute %#x", type);
	return NULL;
}

/* The record number ntfsls gives @name in the root. */
static uint64_t inode_of(const char *img, const char *name)
{
	if (test_shf("ntfsls -i %s | awk '$2 == \"%s\" { print $1 }'", img, name))
		return 0;
	return strtoull(test_sh_out, NULL, 10);
}

static uint64_t rec_windows, rec_boot, rec_hiber;

/*
 * A 16 MiB volume with the root entries of an installed Windows. ntfscp
 * cannot make directories, so Windows and Boot are files here; tests
 * that want them as directories set the record's directory flag.
 */
static bool make_windows(const char *name)
{
	if (!have_tools())
		return false;
	if (host_file("wake64k", "wake", 65536) || host_file("small", "x", 100) ||
	    test_shf("rm -f %s && truncate -s 16M %s && mkntfs -F -Q -L 'Win Label' %s >/dev/null 2>&1 && "
	       "ntfscp %s wake64k hiberfil.sys && ntfscp %s small pagefile.sys && "
	       "ntfscp %s small bootmgr && ntfscp %s small Windows && ntfscp %s small Boot",
	       name, name, name, name, name, name, name, name))
		return false;
	rec_windows = inode_of(name, "Windows");
	rec_boot = inode_of(name, "Boot");
	rec_hiber = inode_of(name, "hiberfil.sys");
	return rec_windows >= 16 && rec_boot >= 16 && rec_hiber >= 16;
}

/* ntfs-3g's verdict: does it refuse to write to @name as hibernated?
 * (Asked on a copy, which the write changes when it is not.) */
static bool ntfs3g_hibernated(const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cd '%s' && cp %s chk.img && ntfscp chk.img small probe.txt",
		 test_tmpdir(), name);
	test_sh(cmd, NULL, test_sh_out, sizeof(test_sh_out));
	return strstr(test_sh_out, "hibernated") != NULL;
}

TEST(ntfs_label_serial_version_names_as_blkid_and_ntfsinfo)
{
	struct ntfs_info ni;
	struct img im;
	char why[256], serial[32];
	uint8_t *rec;

	if (!make_windows("w.img") || !load_img(&im, "w.img"))
		return;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_STR(ni.label, "Win Label");
	CHECK_STR(test_blkid_tag("w.img", "LABEL"), "Win Label");
	snprintf(serial, sizeof(serial), "%016llX", (unsigned long long)ni.serial);
	CHECK_STR(test_blkid_tag("w.img", "UUID"), serial);
	CHECK_STR(test_blkid_tag("w.img", "TYPE"), "ntfs");
	CHECK(!ni.bitlocker);
	CHECK(!ni.dirty);
	CHECK_EQ(ni.ntfs_major, 3);
	CHECK_EQ(ni.ntfs_minor, 1);
	if (test_shf("ntfsinfo -m w.img | grep -E 'Volume Version|Cluster Size|MFT Record Size'") == 0)
		CHECK_STR(test_sh_out, "\tVolume Version: 3.1\n\tCluster Size: 4096\n\tMFT Record Size: 1024\n");
	CHECK_EQ(ni.cluster_size, 4096);
	CHECK_EQ(ni.record_size, 1024);
	CHECK(ni.has_bootmgr);
	CHECK(ni.has_pagefile);
	CHECK(ni.has_hiberfil);
	CHECK(!ni.has_windows_dir);	/* files, not directories */
	CHECK(!ni.has_boot_dir);
	CHECK_EQ(ni.hiber, NTFS_HIBER_NONE);
	CHECK_STR(ni.hiber_sig, "wake");
	CHECK(!ntfs3g_hibernated("w.img"));

	/* the directory flag makes them the Windows and Boot directories */
	rec = record(&im, rec_windows, "Windows");
	if (rec)
		rec[22] |= 0x02;
	rec = record(&im, rec_boot, "Boot");
	if (rec)
		rec[22] |= 0x02;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK(ni.has_windows_dir);
	CHECK(ni.has_boot_dir);

	/* $VOLUME_INFORMATION's dirty flag */
	rec = record(&im, 3, "$Volume");
	if (rec) {
		uint8_t *a = attr(rec, 0x70);

		if (a)
			a[get_le16(a + 20) + 10] |= 0x01;
	}
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK(ni.dirty);
	free(im.buf);
}

/* hiberfil.sys's first bytes, compared with ntfs-3g's hibernation check. */
TEST(ntfs_hiberfil_signatures)
{
	static const struct {
		const char *head;
		size_t len;
		enum ntfs_hiber want;
		const char *sig;
	} cases[] = {
		{ "HIBR", 65536, NTFS_HIBER_HIBERNATED, "HIBR" },	/* non-resident */
		{ "hibr", 65536, NTFS_HIBER_HIBERNATED, "hibr" },
		{ "wake", 65536, NTFS_HIBER_NONE, "wake" },
		{ "RSTR", 65536, NTFS_HIBER_NONE, "RSTR" },
		{ "", 65536, NTFS_HIBER_NONE, "" },			/* zeros */
		{ "abc\\001", 65536, NTFS_HIBER_UNKNOWN, "abc?" },
		{ "HiBr", 64, NTFS_HIBER_HIBERNATED, "HiBr" },		/* resident */
		{ "", 0, NTFS_HIBER_NONE, "" },				/* empty */
	};
	struct ntfs_info ni;
	char why[256];

	if (!have_tools())
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct img im;

		/* a fresh volume each time: ntfscp will not write to a hibernated one */
		if (host_file("hf", cases[i].head, cases[i].len) || host_file("small", "x", 100) ||
		    test_shf("rm -f h.img && truncate -s 16M h.img && mkntfs -F -Q h.img >/dev/null 2>&1 && "
		       "ntfscp h.img hf hiberfil.sys") || !load_img(&im, "h.img"))
			return;
		CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
		if (ni.hiber != cases[i].want || strcmp(ni.hiber_sig, cases[i].sig))
			test_fail(__FILE__, __LINE__, "case %zu: hiber %d sig \"%s\" (%s)", i,
				  ni.hiber, ni.hiber_sig, why);
		CHECK(ni.has_hiberfil);
		/* ntfs-3g calls hibernated what starts "hibr" or "HIBR" */
		if (cases[i].len >= 4096)
			CHECK_EQ(ntfs3g_hibernated("h.img"), !strcmp(cases[i].head, "HIBR") ||
							     !strcmp(cases[i].head, "hibr"));
		free(im.buf);
	}
}

TEST(ntfs_without_hiberfil_and_big_records)
{
	struct ntfs_info ni;
	struct img im;
	char why[256], serial[32];

	if (!have_tools())
		return;
	/* 4096-byte sectors and MFT records, 64 KiB clusters */
	if (test_shf("rm -f b.img && truncate -s 64M b.img && "
	       "mkntfs -F -Q -s 4096 -c 65536 -L Data b.img >/dev/null 2>&1") ||
	    !load_img(&im, "b.img"))
		return;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_STR(ni.label, "Data");
	CHECK_EQ(ni.cluster_size, 65536);
	CHECK_EQ(ni.record_size, 4096);
	snprintf(serial, sizeof(serial), "%016llX", (unsigned long long)ni.serial);
	CHECK_STR(test_blkid_tag("b.img", "UUID"), serial);
	CHECK(!ni.has_hiberfil && !ni.has_pagefile && !ni.has_bootmgr && !ni.has_windows_dir);
	CHECK_EQ(ni.hiber, NTFS_HIBER_NONE);
	free(im.buf);
}

TEST(ntfs_bitlocker_boot_sector)
{
	uint8_t bs[4096] = { 0 };
	struct vol_mem m;
	struct vol v;
	struct ntfs_info ni;

	memcpy(bs, "\xeb\x58\x90-FVE-FS-", 11);
	put_le16(bs + 11, 512);
	bs[510] = 0x55;
	bs[511] = 0xaa;
	vol_from_mem(&v, &m, bs, sizeof(bs));
	CHECK_EQ(ntfs_probe(&v, &ni, NULL, 0), 0);
	CHECK(ni.bitlocker);
	CHECK_STR(ni.label, "");
	memcpy(bs + 3, "MSDOS5.0", 8);
	CHECK_EQ(ntfs_probe(&v, &ni, NULL, 0), -EINVAL);
}

TEST(ntfs_damaged_volumes)
{
	struct ntfs_info ni;
	struct img im;
	char why[256];
	uint8_t *rec0, *rec3, *hib, save[8];

	if (!make_windows("d.img") || !load_img(&im, "d.img"))
		return;
	rec0 = record(&im, 0, "$MFT");
	rec3 = record(&im, 3, "$Volume");
	hib = record(&im, rec_hiber, "hiberfil.sys");
	if (!rec0 || !rec3 || !hib)
		return;

	/* record 0's fixup does not match: not a usable NTFS */
	rec0[510] ^= 0xff;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "update sequence") != NULL);
	rec0[510] ^= 0xff;
	/* an update sequence array that runs past the record */
	memcpy(save, rec0 + 4, 2);
	put_le16(rec0 + 4, 1020);
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	memcpy(rec0 + 4, save, 2);

	/* record 3's fixup: the probe goes on without a label */
	rec3[1022] ^= 0xff;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK_STR(ni.label, "");
	CHECK(strstr(why, "$Volume") != NULL);
	CHECK(ni.has_hiberfil);
	rec3[1022] ^= 0xff;

	/* an attribute of length 0 in hiberfil.sys's record: the root index
	 * still names it, so it is there but its state is unknown */
	{
		uint8_t *a = hib + get_le16(hib + 20);

		memcpy(save, a + 4, 4);
		put_le32(a + 4, 0);
		CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
		CHECK(ni.has_hiberfil);
		CHECK_EQ(ni.hiber, NTFS_HIBER_UNKNOWN);
		CHECK(strstr(why, "hiberfil.sys") != NULL);
		CHECK(ni.has_pagefile);
		put_le32(a + 4, 0xfffffff0);	/* past the record */
		CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
		CHECK_EQ(ni.hiber, NTFS_HIBER_UNKNOWN);
		memcpy(a + 4, save, 4);
	}

	/* hiberfil.sys's first run outside the volume */
	{
		uint8_t *a = attr(hib, 0x80), *mp;

		if (a && a[8]) {
			mp = a + get_le16(a + 32);
			memcpy(save, mp, 8);
			mp[0] = 0x41;		/* 1 length byte, 4 offset bytes */
			mp[1] = 1;
			put_le32(mp + 2, 0x7fffffff);
			mp[6] = 0;
			CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
			CHECK_EQ(ni.hiber, NTFS_HIBER_UNKNOWN);
			memcpy(mp, save, 8);
		} else {
			test_fail(__FILE__, __LINE__, "hiberfil.sys's $DATA is resident");
		}
	}

	/* $MFT's runlist outside the volume, a negative LCN, no terminator */
	{
		uint8_t *a = attr(rec0, 0x80), *mp;

		if (a) {
			mp = a + get_le16(a + 32);
			memcpy(save, mp, 8);
			mp[0] = 0x31;
			put_le16(mp + 2, 0xffff);
			mp[4] = 0x7f;
			CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
			CHECK(strstr(why, "runlist") != NULL);
			mp[4] = 0xff;	/* -1 */
			CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
			memcpy(mp, save, 8);
			/* the runlist runs to the end of the attribute without a 0 */
			memset(mp, 0x11, a + get_le32(a + 4) - mp);
			CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
		}
	}
	free(im.buf);

	/* boot sector fields */
	if (!load_img(&im, "d.img"))
		return;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	im.buf[64] = 0xe0;	/* 2^32-byte records */
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	im.buf[64] = 0xf6;
	im.buf[13] = 3;		/* sectors per cluster */
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	im.buf[13] = 0xe0;	/* 2^32 sectors per cluster */
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	im.buf[13] = 8;
	put_le64(im.buf + 48, 1ull << 40);	/* MFT past the end */
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	put_le64(im.buf + 48, 5);		/* not where $MFT is */
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	free(im.buf);

	/* truncated images */
	if (!load_img(&im, "d.img"))
		return;
	im.v.size = 1 << 20;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "do not fit") != NULL);
	im.v.size = 300;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), -EIO);
	free(im.buf);
}

/*
 * A root directory big enough for an $INDEX_ALLOCATION: names are found
 * through the index (a record whose $FILE_NAME no longer says it is in the
 * root is still found), and through the MFT walk when the index is
 * damaged.
 */
TEST(ntfs_root_index_blocks_and_fallback)
{
	struct ntfs_info ni;
	struct img im;
	char why[256];
	uint8_t *root, *pf;
	uint64_t rec_pf;

	if (!have_tools())
		return;
	if (host_file("hib", "HIBR", 8192) || host_file("small", "x", 10) ||
	    test_shf("rm -f i.img && truncate -s 16M i.img && mkntfs -F -Q i.img >/dev/null 2>&1 && "
	       "for i in $(seq 1 120); do ntfscp i.img small \"a long file name number $i.txt\" || exit 1; done && "
	       "ntfscp i.img small pagefile.sys && ntfscp i.img small bootmgr && "
	       "ntfscp i.img small zzz && ntfscp i.img hib hiberfil.sys"))
		return;
	rec_pf = inode_of("i.img", "pagefile.sys");
	if (!load_img(&im, "i.img"))
		return;
	root = record(&im, 5, "$I30");
	pf = record(&im, rec_pf, "pagefile.sys");
	if (!root || !pf)
		return;
	/* the root's index is in index blocks now */
	CHECK(attr(root, 0xa0) != NULL);
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK(ni.has_pagefile && ni.has_bootmgr && ni.has_hiberfil);
	CHECK_EQ(ni.hiber, NTFS_HIBER_HIBERNATED);
	CHECK_STR(ni.hiber_sig, "HIBR");

	/* pagefile.sys's own $FILE_NAME moved out of the root: the index
	 * still has it */
	{
		uint8_t *fn = attr(pf, 0x30);

		if (fn)
			put_le64(fn + get_le16(fn + 20), 0x0001000000000010ull);
	}
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK(ni.has_pagefile);

	/* the root record's fixup broken: the MFT walk finds the rest */
	root[510] ^= 0xff;
	CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
	CHECK(!ni.has_pagefile);	/* its $FILE_NAME is elsewhere now */
	CHECK(ni.has_bootmgr && ni.has_hiberfil);
	CHECK_EQ(ni.hiber, NTFS_HIBER_HIBERNATED);
	root[510] ^= 0xff;

	/* an index block's fixup broken: the same */
	{
		uint8_t *ia = attr(root, 0xa0);
		uint64_t csize = get_le16(im.buf + 11) * (uint64_t)im.buf[13];
		const uint8_t *mp = ia + get_le16(ia + 32);
		unsigned lsz = mp[0] & 15, osz = mp[0] >> 4;
		uint64_t lcn = 0;

		for (unsigned i = 0; i < osz; i++)
			lcn |= (uint64_t)mp[1 + lsz + i] << (8 * i);
		CHECK_MEM(im.buf + lcn * csize, "INDX", 4);
		im.buf[lcn * csize + 510] ^= 0xff;
		CHECK_EQ(ntfs_probe(&im.v, &ni, why, sizeof(why)), 0);
		CHECK(ni.has_bootmgr && ni.has_hiberfil);
		CHECK_EQ(ni.hiber, NTFS_HIBER_HIBERNATED);
	}
	free(im.buf);
}
