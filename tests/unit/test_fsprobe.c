/* fs_probe() on volumes made by each filesystem's Debian tools (and a few
 * hand-made headers for formats Debian cannot make: LVM2 labels without a
 * block device, HFS+, APFS, BitLocker), compared field by field with what
 * `blkid -p` prints for the same image. */
#include "test.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "disc/fsprobe.h"
#include "util.h"

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return pread_full(*(int *)ctx, buf, len, (off_t)off);
}

/* fs_probe() on image @name, read through a file descriptor. */
static int probe_file(const char *name, struct fs_probe *p, uint64_t limit)
{
	char path[512];
	struct vol v;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		return -errno;
	}
	v.read_at = fd_read;
	v.ctx = &fd;
	v.base = 0;
	v.size = (uint64_t)lseek(fd, 0, SEEK_END);
	if (limit && limit < v.size)
		v.size = limit;
	r = fs_probe(&v, p);
	close(fd);
	return r;
}

/* Probes @name and compares TYPE, UUID and LABEL with blkid's. */
static void same_as_blkid(const char *name, enum fs_type want, const char *uuid,
			  const char *label, int line)
{
	struct fs_probe p;

	if (probe_file(name, &p, 0) != 0)
		test_fail(__FILE__, line, "fs_probe %s failed", name);
	if (p.type != want)
		test_fail(__FILE__, line, "%s: type %s, want %s", name, fs_type_name(p.type),
			  fs_type_name(want));
	if (strcmp(fs_type_name(p.type), test_blkid_tag(name, "TYPE")))
		test_fail(__FILE__, line, "%s: TYPE %s, blkid says %s", name,
			  fs_type_name(p.type), test_blkid_tag(name, "TYPE"));
	if (strcmp(p.uuid, test_blkid_tag(name, "UUID")))
		test_fail(__FILE__, line, "%s: UUID \"%s\", blkid says \"%s\"", name, p.uuid,
			  test_blkid_tag(name, "UUID"));
	if (strcmp(p.label, test_blkid_tag(name, "LABEL")))
		test_fail(__FILE__, line, "%s: LABEL \"%s\", blkid says \"%s\"", name, p.label,
			  test_blkid_tag(name, "LABEL"));
	if (uuid && strcmp(p.uuid, uuid))
		test_fail(__FILE__, line, "%s: UUID \"%s\", want \"%s\"", name, p.uuid, uuid);
	if (label && strcmp(p.label, label))
		test_fail(__FILE__, line, "%s: LABEL \"%s\", want \"%s\"", name, p.label, label);
}

#define SAME(name, type, uuid, label) same_as_blkid(name, type, uuid, label, __LINE__)

TEST(fsprobe_type_names)
{
	CHECK_STR(fs_type_name(FS_VFAT), "vfat");
	CHECK_STR(fs_type_name(FS_LUKS), "crypto_LUKS");
	CHECK_STR(fs_type_name(FS_LVM2), "LVM2_member");
	CHECK_STR(fs_type_name(FS_BITLOCKER), "BitLocker");
	CHECK_STR(fs_type_name(FS_UNKNOWN), "");
	CHECK_STR(fs_type_name((enum fs_type)99), "");
}

TEST(fsprobe_vfat_and_exfat)
{
	if (!test_need("mkfs.vfat", "dosfstools") || !test_need("mkfs.exfat", "exfatprogs") ||
	    !test_need("blkid", "util-linux"))
		return;
	if (test_shf("rm -f v1 v2 v3 x1 && mkfs.vfat -C v1 2048 -n EFISYS -i 4a3b2c1d >/dev/null && "
	       "mkfs.vfat -C v2 40960 -F 32 -i 00c0ffee >/dev/null && "
	       "mkfs.vfat -C v3 20480 -F 16 -n 'a b  ' -i 1 >/dev/null 2>&1 && "
	       "truncate -s 16M x1 && mkfs.exfat -L 'Ex Label' x1 >/dev/null"))
		return;
	SAME("v1", FS_VFAT, "4A3B-2C1D", "EFISYS");
	SAME("v2", FS_VFAT, "00C0-FFEE", "");
	SAME("v3", FS_VFAT, "0000-0001", "a b");
	SAME("x1", FS_EXFAT, NULL, "Ex Label");
}

TEST(fsprobe_ext2_ext3_ext4)
{
	static const struct {
		const char *opts;
		enum fs_type type;
	} cases[] = {
		{ "-t ext2", FS_EXT2 },
		{ "-t ext3", FS_EXT3 },
		{ "-t ext4", FS_EXT4 },
		{ "-t ext4 -O ^has_journal", FS_EXT4 },
		{ "-t ext3 -O extent", FS_EXT4 },
		{ "-t ext3 -O metadata_csum", FS_EXT4 },
		{ "-t ext2 -O dir_nlink", FS_EXT4 },
		{ "-t ext4 -O ^has_journal,^extent,^64bit,^flex_bg,^huge_file,^dir_nlink,"
		  "^extra_isize,^metadata_csum", FS_EXT2 },
	};

	if (!test_need("mkfs.ext4", "e2fsprogs") || !test_need("blkid", "util-linux"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char uuid[40];

		snprintf(uuid, sizeof(uuid), "0123abcd-0000-4000-8000-%012zx", i + 0xa0);
		if (test_shf("rm -f e && truncate -s 8M e && mke2fs -q -F %s -U %s -L 'ext lbl %zu' e",
		       cases[i].opts, uuid, i))
			return;
		same_as_blkid("e", cases[i].type, uuid, NULL, __LINE__);
	}
}

TEST(fsprobe_btrfs_xfs_swap)
{
	if (!test_need("mkfs.btrfs", "btrfs-progs") || !test_need("mkfs.xfs", "xfsprogs") ||
	    !test_need("mkswap", "util-linux") || !test_need("blkid", "util-linux"))
		return;
	if (test_shf("rm -f b x s && truncate -s 128M b && "
	       "mkfs.btrfs -q -L 'my btrfs' -U 11111111-2222-4333-8444-555555555555 b && "
	       "truncate -s 320M x && mkfs.xfs -q -L xfslabel -m uuid=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee x && "
	       "truncate -s 1M s && mkswap -q -L swappy -U 99999999-8888-4777-8666-555555555555 s"))
		return;
	SAME("b", FS_BTRFS, "11111111-2222-4333-8444-555555555555", "my btrfs");
	SAME("x", FS_XFS, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "xfslabel");
	SAME("s", FS_SWAP, "99999999-8888-4777-8666-555555555555", "swappy");
}

TEST(fsprobe_ntfs_and_bitlocker)
{
	struct fs_probe p;
	uint8_t bs[1024] = { 0 };
	struct vol_mem m;
	struct vol v;

	if (!test_need("mkntfs", "ntfs-3g") || !test_need("blkid", "util-linux"))
		return;
	if (test_shf("rm -f n && truncate -s 8M n && mkntfs -q -F -Q -L 'NT vol' n >/dev/null 2>&1"))
		return;
	SAME("n", FS_NTFS, NULL, "NT vol");

	memcpy(bs, "\xeb\x58\x90-FVE-FS-", 11);
	bs[510] = 0x55;
	bs[511] = 0xaa;
	vol_from_mem(&v, &m, bs, sizeof(bs));
	CHECK_EQ(fs_probe(&v, &p), 0);
	CHECK_EQ(p.type, FS_BITLOCKER);
	CHECK_STR(p.uuid, "");
}

TEST(fsprobe_iso9660)
{
	if (!test_need("xorriso", "xorriso") || !test_need("blkid", "util-linux"))
		return;
	if (test_shf("rm -rf d i1 i2 i3 && mkdir d && echo x > d/f && "
	       "xorriso -as mkisofs -quiet -V 'DEBIAN 12' -o i1 d && "
	       "xorriso -as mkisofs -quiet -J -V 'Install disc' --modification-date=2021020304050607 -o i2 d && "
	       "xorriso -as mkisofs -quiet -o i3 d"))
		return;
	SAME("i1", FS_ISO9660, NULL, "DEBIAN 12");
	SAME("i2", FS_ISO9660, "2021-02-03-04-05-06-07", "Install disc");
	SAME("i3", FS_ISO9660, NULL, "ISOIMAGE");	/* xorriso's default */
	/* a Joliet volume ID unlike the PVD's is the label; an unset
	 * modification date falls back to the creation date */
	if (test_shf("printf 'DIFFERENT' | dd of=i2 bs=1 seek=$((0x8000 + 40)) conv=notrunc status=none && "
	       "printf '0000000000000000\\000' | dd of=i2 bs=1 seek=$((0x8000 + 830)) conv=notrunc status=none && "
	       "printf '1999' | dd of=i2 bs=1 seek=$((0x8000 + 813)) conv=notrunc status=none"))
		return;
	SAME("i2", FS_ISO9660, "1999-02-03-04-05-06-07", "Install disc");
}

TEST(fsprobe_luks)
{
	if (!test_need("cryptsetup", "cryptsetup-bin") || !test_need("blkid", "util-linux"))
		return;
	if (test_shf("rm -f l1 l2 && printf pw > key && truncate -s 20M l1 l2 && "
	       "cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 "
	       "--uuid 11234567-89ab-cdef-0123-456789abcdef --key-file key l1 && "
	       "cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "
	       "--label 'root disk' --uuid 21234567-89ab-cdef-0123-456789abcdef --key-file key l2"))
		return;
	SAME("l1", FS_LUKS, "11234567-89ab-cdef-0123-456789abcdef", "");
	SAME("l2", FS_LUKS, "21234567-89ab-cdef-0123-456789abcdef", "root disk");
}

static void write_img(const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_full(fd, buf, len) < 0)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
	if (fd >= 0)
		close(fd);
}

/* LVM2 label CRC, written here from LVM's description (CRC-32 from 0xf597a6cf). */
static uint32_t crc_lvm(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xf597a6cf;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return crc;
}

TEST(fsprobe_lvm2_label)
{
	static uint8_t img[4 << 20];	/* blkid skips RAID probes below 1.44 MB */
	uint8_t *l = img + 512;		/* sector 1, where pvcreate puts it */

	if (!test_need("blkid", "util-linux"))
		return;
	memset(img, 0, sizeof(img));
	memcpy(l, "LABELONE", 8);
	put_le64(l + 8, 1);
	put_le32(l + 20, 32);
	memcpy(l + 24, "LVM2 001", 8);
	memcpy(l + 32, "Z1l4ALk3uOrQ9SgjVvBmPFcRxqUh0Wd2", 32);
	put_le32(l + 16, crc_lvm(l + 20, 512 - 20));
	write_img("lvm", img, sizeof(img));
	SAME("lvm", FS_LVM2, "Z1l4AL-k3uO-rQ9S-gjVv-BmPF-cRxq-Uh0Wd2", "");
	/* a bad CRC is not LVM */
	l[100] ^= 1;
	write_img("lvm", img, sizeof(img));
	SAME("lvm", FS_UNKNOWN, "", "");
}

TEST(fsprobe_hfsplus_label)
{
	static uint8_t img[64 << 10];
	uint8_t *vh = img + 1024, *hdr = img + 2 * 4096, *leaf = img + 3 * 4096;
	const char *name = "Macintosh HD";
	struct fs_probe p;
	struct vol_mem m;
	struct vol v;

	if (!test_need("blkid", "util-linux"))
		return;
	memset(img, 0, sizeof(img));
	memcpy(vh, "H+", 2);
	put_be16(vh + 2, 4);
	put_be32(vh + 40, 4096);		/* block size */
	put_be32(vh + 44, 16);			/* blocks */
	put_be32(vh + 272 + 12, 2);		/* catalog: 2 blocks */
	put_be32(vh + 272 + 16, 2);		/* at block 2 */
	put_be32(vh + 272 + 20, 2);
	hdr[8] = 1;				/* header node */
	put_be16(hdr + 10, 3);
	put_be32(hdr + 20, 1);			/* leaf records */
	put_be32(hdr + 24, 1);			/* first leaf node */
	put_be32(hdr + 28, 1);
	put_be16(hdr + 32, 4096);		/* node size */
	leaf[8] = 0xff;				/* leaf node */
	leaf[9] = 1;
	put_be16(leaf + 10, 1);
	put_be16(leaf + 14, (uint16_t)(6 + 2 * strlen(name)));
	put_be32(leaf + 16, 1);			/* parent: the root's parent */
	put_be16(leaf + 20, (uint16_t)strlen(name));
	for (size_t i = 0; i < strlen(name); i++)
		put_be16(leaf + 22 + 2 * i, (uint16_t)name[i]);
	write_img("hfs", img, sizeof(img));
	/* blkid's UUID for HFS+ is an MD5 hash we do not make: TYPE and LABEL only */
	CHECK_STR(test_blkid_tag("hfs", "TYPE"), "hfsplus");
	CHECK_STR(test_blkid_tag("hfs", "LABEL"), name);
	vol_from_mem(&v, &m, img, sizeof(img));
	CHECK_EQ(fs_probe(&v, &p), 0);
	CHECK_EQ(p.type, FS_HFSPLUS);
	CHECK_STR(p.label, name);
	/* a catalog pointing past the volume: still HFS+, no label */
	put_be32(vh + 272 + 16, 0x7fffffff);
	CHECK_EQ(fs_probe(&v, &p), 0);
	CHECK_EQ(p.type, FS_HFSPLUS);
	CHECK_STR(p.label, "");
}

/* Apple's object checksum, from the APFS reference: Fletcher-64 over words. */
static uint64_t fletcher(const uint8_t *p, size_t len)
{
	uint64_t a = 0, b = 0, m = 0xffffffff, x, y;

	for (size_t i = 0; i < len; i += 4) {
		a = (a + get_le32(p + i)) % m;
		b = (b + a) % m;
	}
	x = m - ((a + b) % m);
	y = m - ((a + x) % m);
	return y << 32 | x;
}

TEST(fsprobe_apfs_container)
{
	static uint8_t img[64 << 10];
	struct fs_probe p;
	struct vol_mem m;
	struct vol v;

	if (!test_need("blkid", "util-linux"))
		return;
	memset(img, 0, sizeof(img));
	put_le64(img + 8, 1);			/* oid */
	put_le16(img + 24, 1);			/* container superblock */
	memcpy(img + 32, "NXSB", 4);
	put_le32(img + 36, 4096);
	put_le64(img + 40, 16);
	memcpy(img + 72, "\x5a\x0b\xc7\x3e\x11\x22\x43\x44\x85\x66\x77\x88\x99\xaa\xbb\xcc", 16);
	put_le64(img, fletcher(img + 8, 4096 - 8));
	write_img("apfs", img, sizeof(img));
	SAME("apfs", FS_APFS, "5a0bc73e-1122-4344-8566-778899aabbcc", "");
	/* a wrong checksum (blkid only notes it as SBBADCSUM) */
	img[100] ^= 1;
	vol_from_mem(&v, &m, img, sizeof(img));
	CHECK_EQ(fs_probe(&v, &p), 0);
	CHECK_EQ(p.type, FS_UNKNOWN);
}

TEST(fsprobe_unknown_and_truncated)
{
	static uint8_t zero[1 << 17];
	struct fs_probe p;
	struct vol_mem m;
	struct vol v;

	vol_from_mem(&v, &m, zero, sizeof(zero));
	CHECK_EQ(fs_probe(&v, &p), 0);
	CHECK_EQ(p.type, FS_UNKNOWN);
	CHECK_STR(p.uuid, "");
	CHECK_STR(p.label, "");
	v.size = 0;
	CHECK_EQ(fs_probe(&v, &p), 0);
	CHECK_EQ(p.type, FS_UNKNOWN);

	/* the first sectors of real volumes, cut before what identifies them */
	if (!test_need("mkfs.ext4", "e2fsprogs") || !test_need("mkfs.btrfs", "btrfs-progs"))
		return;
	if (test_shf("rm -f e b && truncate -s 8M e && mke2fs -q -F -t ext4 e && "
	       "truncate -s 128M b && mkfs.btrfs -q b"))
		return;
	CHECK_EQ(probe_file("e", &p, 1100), 0);
	CHECK_EQ(p.type, FS_UNKNOWN);
	CHECK_EQ(probe_file("e", &p, 2048), 0);
	CHECK_EQ(p.type, FS_EXT4);
	CHECK_EQ(probe_file("b", &p, 0x10000 + 0x100), 0);
	CHECK_EQ(p.type, FS_UNKNOWN);
}
