/* FAT12/16/32 images made by mkfs.vfat and filled by mtools (dosfstools,
 * mtools), read back through fat.h and compared with what the tools wrote
 * and what blkid says; then damaged images: cluster chains that loop, end
 * early or leave the volume, directory chains that loop, bad BPBs. */
#include "test.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/fat.h"
#include "util.h"

/* The tests need these tools: a missing one is a failure, not a skip. */
static bool have_tools(void)
{
	static const char *const tools[][2] = {
		{ "mkfs.vfat", "dosfstools" }, { "mcopy", "mtools" }, { "mmd", "mtools" },
		{ "mdel", "mtools" }, { "mshowfat", "mtools" }, { "blkid", "util-linux" },
	};
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
		ok &= test_need(tools[i][0], tools[i][1]);
	return ok;
}

/* A file of @len bytes whose byte i is a function of i and @seed. */
static void pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((i * 7 + seed * 13 + (i >> 9)) & 0xff);
}

static void write_host(const char *name, size_t len, unsigned seed)
{
	char path[512];
	uint8_t *buf = malloc(len ? len : 1);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	pattern(buf, len, seed);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_full(fd, buf, len) < 0)
		test_fail(__FILE__, __LINE__, "cannot write %s", path);
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* The file at @path must hold @len bytes of pattern @seed. */
static void check_file(struct fat *f, const char *path, size_t len, unsigned seed, int line)
{
	uint8_t *want = malloc(len + 1);
	struct fat_stat st;
	char *data = NULL;
	size_t got = 0;
	int r;

	pattern(want, len, seed);
	r = fat_stat(f, path, &st);
	if (r != 0 || st.dir || st.size != len)
		test_fail(__FILE__, line, "stat %s: %d dir %d size %llu (want %zu)", path, r,
			  st.dir, (unsigned long long)st.size, len);
	r = fat_read_file(f, path, 1 << 26, &data, &got);
	if (r != 0 || got != len || memcmp(data, want, len) != 0 || data[len] != 0)
		test_fail(__FILE__, line, "read %s: %d, %zu bytes", path, r, got);
	free(data);
	free(want);
}

struct img {
	uint8_t *buf;
	size_t len;
	struct vol_mem m;
	struct vol v;
	struct fat *f;
};

static bool open_img(struct img *im, const char *name)
{
	char why[256];
	int r;

	memset(im, 0, sizeof(*im));
	im->buf = test_load(name, &im->len);
	if (!im->buf)
		return false;
	vol_from_mem(&im->v, &im->m, im->buf, im->len);
	r = fat_open(&im->v, &im->f, why, sizeof(why));
	if (r != 0) {
		test_fail(__FILE__, __LINE__, "fat_open %s: %d (%s)", name, r, why);
		return false;
	}
	return true;
}

static void close_img(struct img *im)
{
	if (im->f)
		fat_close(im->f);
	free(im->buf);
}

/* blkid must see a vfat with this LABEL and UUID. */
static void check_blkid(const char *name, const char *label, const char *uuid)
{
	CHECK_STR(test_blkid_tag(name, "TYPE"), "vfat");
	CHECK_STR(test_blkid_tag(name, "LABEL"), label);
	CHECK_STR(test_blkid_tag(name, "UUID"), uuid);
}

struct listing {
	char text[4096];
	size_t n;
	int stop_after;
};

static int list_cb(void *ctx, const char *name, const struct fat_stat *st)
{
	struct listing *l = ctx;

	l->n += (size_t)snprintf(l->text + l->n, sizeof(l->text) - l->n, "%s%s:%llu\n", name,
				 st->dir ? "/" : "", (unsigned long long)st->size);
	if (l->stop_after && --l->stop_after == 0)
		return 42;
	return 0;
}

static const char *list(struct fat *f, const char *path, int *rc)
{
	static struct listing l;

	memset(&l, 0, sizeof(l));
	*rc = fat_list(f, path, list_cb, &l);
	return l.text;
}

/* mkfs.vfat @opts on a new image of @kib KiB, filled as every test wants. */
static bool make_fs(const char *name, unsigned kib, const char *opts)
{
	if (!have_tools())
		return false;
	write_host("one", 6, 1);
	write_host("empty", 0, 2);
	write_host("big", 100000, 3);
	write_host("deep", 3000, 4);
	return test_shf("rm -f %s && mkfs.vfat -C %s %u %s >/dev/null", name, name, kib, opts) == 0 &&
	       test_shf("mmd -i %s ::EFI ::EFI/BOOT ::EFI/BOOT/a ::EFI/BOOT/a/b ::EFI/BOOT/a/b/c", name) == 0 &&
	       test_shf("mcopy -i %s one '::A long file name.txt' && mcopy -i %s one ::lower.txt && "
		  "mcopy -i %s one ::MiXed.Txt && mcopy -i %s empty ::empty && "
		  "mcopy -i %s big ::EFI/BOOT/BOOTX64.EFI && mcopy -i %s deep '::EFI/BOOT/a/b/c/Deep file.conf'",
		  name, name, name, name, name, name) == 0;
}

static void check_common(struct fat *f)
{
	struct fat_stat st;
	int rc;

	CHECK_STR(list(f, "", &rc),
		  "EFI/:0\nA long file name.txt:6\nlower.txt:6\nMiXed.Txt:6\nempty:0\n");
	CHECK_EQ(rc, 0);
	CHECK_STR(list(f, "/efi\\boot", &rc), "a/:0\nBOOTX64.EFI:100000\n");
	CHECK_EQ(rc, 0);
	check_file(f, "/A long file name.txt", 6, 1, __LINE__);
	check_file(f, "a LONG file NAME.TXT", 6, 1, __LINE__);
	check_file(f, "ALONGF~1.TXT", 6, 1, __LINE__);	/* the 8.3 alias */
	check_file(f, "LOWER.TXT", 6, 1, __LINE__);
	check_file(f, "empty", 0, 2, __LINE__);
	check_file(f, "\\EFI\\BOOT\\bootx64.efi", 100000, 3, __LINE__);
	check_file(f, "efi/boot/a/b/c/deep FILE.conf", 3000, 4, __LINE__);
	check_file(f, "efi/boot/a/b/../b/./c/deep FILE.conf", 3000, 4, __LINE__);
	check_file(f, "/../efi//boot/a/b/c/deep FILE.conf", 3000, 4, __LINE__);
	CHECK_EQ(fat_stat(f, "", &st), 0);
	CHECK(st.dir);
	CHECK_EQ(fat_stat(f, "/", &st), 0);
	CHECK(st.dir);
	CHECK_EQ(fat_stat(f, "/EFI/BOOT/a", &st), 0);
	CHECK(st.dir);
	CHECK_EQ(fat_stat(f, "/EFI/nothing", &st), -ENOENT);
	CHECK_EQ(fat_stat(f, "/lower.txt/x", &st), -ENOTDIR);
	CHECK_EQ(fat_list(f, "/lower.txt", list_cb, NULL), -ENOTDIR);
	CHECK_EQ(fat_stat(f, "/A long file name", &st), -ENOENT);

	/* partial reads across clusters, past the end, of a directory */
	{
		uint8_t want[100000], buf[5000];
		size_t got;

		pattern(want, sizeof(want), 3);
		CHECK_EQ(fat_read(f, "EFI/BOOT/BOOTX64.EFI", 4000, buf, sizeof(buf), &got), 0);
		CHECK_EQ(got, sizeof(buf));
		CHECK_MEM(buf, want + 4000, sizeof(buf));
		CHECK_EQ(fat_read(f, "EFI/BOOT/BOOTX64.EFI", 1, buf, 3, &got), 0);
		CHECK_EQ(got, 3);
		CHECK_MEM(buf, want + 1, 3);
		CHECK_EQ(fat_read(f, "EFI/BOOT/BOOTX64.EFI", 99000, buf, sizeof(buf), &got), 0);
		CHECK_EQ(got, 1000);
		CHECK_MEM(buf, want + 99000, 1000);
		CHECK_EQ(fat_read(f, "EFI/BOOT/BOOTX64.EFI", 100000, buf, sizeof(buf), &got), 0);
		CHECK_EQ(got, 0);
		CHECK_EQ(fat_read(f, "EFI", 0, buf, sizeof(buf), &got), -EISDIR);
	}
	{
		char *data = NULL;
		size_t len;

		CHECK_EQ(fat_read_file(f, "EFI/BOOT/BOOTX64.EFI", 99999, &data, &len), -EFBIG);
		CHECK(data == NULL);
		CHECK_EQ(fat_read_file(f, "EFI/BOOT/BOOTX64.EFI", 100000, &data, &len), 0);
		free(data);
	}
	/* a nonzero return from the callback stops the listing */
	{
		struct listing l;

		memset(&l, 0, sizeof(l));
		l.stop_after = 2;
		CHECK_EQ(fat_list(f, "/", list_cb, &l), 42);
		CHECK_STR(l.text, "EFI/:0\nA long file name.txt:6\n");
	}
}

TEST(fat12_names_paths_reads_label_serial_as_mtools_and_blkid)
{
	struct img im;

	if (!make_fs("f12.img", 1024, "-F 12 -n FAT12LBL -i 1234ABCD"))
		return;
	if (!open_img(&im, "f12.img"))
		return;
	CHECK_EQ(fat_bits(im.f), 12);
	CHECK_STR(fat_label(im.f), "FAT12LBL");
	CHECK_EQ(fat_serial(im.f), 0x1234abcd);
	check_blkid("f12.img", "FAT12LBL", "1234-ABCD");
	check_common(im.f);
	close_img(&im);
}

TEST(fat16_with_8k_clusters)
{
	struct img im;

	if (!make_fs("f16.img", 40 * 1024, "-F 16 -s 16 -n 'MY DISK' -i 0badcafe"))
		return;
	if (!open_img(&im, "f16.img"))
		return;
	CHECK_EQ(fat_bits(im.f), 16);
	CHECK_STR(fat_label(im.f), "MY DISK");
	CHECK_EQ(fat_serial(im.f), 0x0badcafe);
	check_blkid("f16.img", "MY DISK", "0BAD-CAFE");
	check_common(im.f);
	close_img(&im);
}

TEST(fat32_one_sector_clusters)
{
	struct img im;

	if (!make_fs("f32.img", 40 * 1024, "-F 32 -s 1 -n ESP -i 5eed0001"))
		return;
	if (!open_img(&im, "f32.img"))
		return;
	CHECK_EQ(fat_bits(im.f), 32);
	CHECK_STR(fat_label(im.f), "ESP");
	CHECK_EQ(fat_serial(im.f), 0x5eed0001);
	check_blkid("f32.img", "ESP", "5EED-0001");
	check_common(im.f);
	close_img(&im);
}

TEST(fat32_4096_byte_sectors)
{
	struct img im;

	if (!make_fs("f32k.img", 300 * 1024, "-F 32 -S 4096 -s 1 -i 00000001"))
		return;
	if (!open_img(&im, "f32k.img"))
		return;
	CHECK_EQ(fat_bits(im.f), 32);
	CHECK_STR(fat_label(im.f), "");		/* "NO NAME" */
	check_blkid("f32k.img", "", "0000-0001");
	check_common(im.f);
	close_img(&im);
}

/* A file exactly one cluster long, a deleted file, a fragmented file. */
TEST(fat_one_cluster_deleted_and_fragmented_files)
{
	struct img im;
	struct fat_stat st;
	int rc;

	if (!have_tools())
		return;
	write_host("c1", 2048, 5);	/* -s 4: 2048-byte clusters */
	write_host("s1", 3000, 6);
	write_host("s2", 3000, 7);
	write_host("s3", 3000, 8);
	write_host("frag", 20000, 9);
	if (test_shf("rm -f fr.img && mkfs.vfat -C fr.img 512 -F 12 -s 4 >/dev/null && "
	       "mcopy -i fr.img c1 ::c1 && mcopy -i fr.img s1 ::s1 && mcopy -i fr.img s2 ::s2 && "
	       "mcopy -i fr.img s3 ::s3 && mdel -i fr.img ::s2 && mcopy -i fr.img frag ::frag"))
		return;
	/* mtools fills the hole s2 left first: frag is in two pieces */
	if (test_shf("mshowfat -i fr.img ::frag"))
		return;
	CHECK(strstr(test_sh_out, "> <") != NULL);
	if (!open_img(&im, "fr.img"))
		return;
	check_file(im.f, "c1", 2048, 5, __LINE__);
	check_file(im.f, "s1", 3000, 6, __LINE__);
	check_file(im.f, "s3", 3000, 8, __LINE__);
	check_file(im.f, "frag", 20000, 9, __LINE__);
	CHECK_EQ(fat_stat(im.f, "s2", &st), -ENOENT);
	CHECK_STR(list(im.f, "/", &rc), "c1:2048\ns1:3000\nfrag:20000\ns3:3000\n");
	close_img(&im);
}

TEST(fat_utf8_long_names)
{
	struct img im;
	int rc;

	if (!have_tools())
		return;
	write_host("u", 10, 10);
	if (test_shf("rm -f u.img && mkfs.vfat -C u.img 512 >/dev/null && "
	       "LC_ALL=C.UTF-8 mcopy -i u.img u '::Ünïcödé Ωμέγα.txt' && "
	       "LC_ALL=C.UTF-8 mmd -i u.img '::Café'"))
		return;
	if (!open_img(&im, "u.img"))
		return;
	CHECK_STR(list(im.f, "", &rc), "Ünïcödé Ωμέγα.txt:10\nCafé/:0\n");
	check_file(im.f, "üNÏCÖDÉ ΩΜΈΓΑ.TXT", 10, 10, __LINE__);
	check_file(im.f, "ünïcödé ωμέγα.txt", 10, 10, __LINE__);
	CHECK_EQ(fat_list(im.f, "CAFÉ", list_cb, NULL), 0);
	close_img(&im);
}

/* Hand-made 8.3 entries: NT case bits, 0x05 for 0xE5, bad LFN checksums. */
TEST(fat_short_names_case_bits_and_orphan_long_entries)
{
	struct img im;
	uint8_t *root;
	uint32_t rsvd, nfats, fatsz;
	int rc;

	if (!have_tools())
		return;
	if (test_shf("rm -f s.img && mkfs.vfat -C s.img 512 -F 12 >/dev/null"))
		return;
	if (!open_img(&im, "s.img"))
		return;
	rsvd = get_le16(im.buf + 14);
	nfats = im.buf[16];
	fatsz = get_le16(im.buf + 22);
	root = im.buf + (rsvd + nfats * fatsz) * 512;
	fat_close(im.f);
	im.f = NULL;

	memset(root, 0, 32 * 8);
	memcpy(root + 0, "README  TXT", 11);
	root[12] = 0x08;				/* base lower: readme.TXT */
	memcpy(root + 32, "\x05" "BC     DAT", 11);	/* 0xE5, CP437 sigma */
	root[32 + 12] = 0x10;				/* ext lower */
	/* an LFN entry whose checksum does not match the next short entry */
	root[64] = 0x41;
	root[64 + 11] = 0x0f;
	root[64 + 13] = 0x00;
	put_le16(root + 64 + 1, 'x');
	memcpy(root + 96, "NOLFN      ", 11);
	memcpy(root + 128, "LABEL2     ", 11);
	root[128 + 11] = 0x08;				/* a label: not listed */
	memcpy(root + 160, "GONE    TXT", 11);
	root[160] = 0xe5;				/* deleted */
	memcpy(root + 192, "DIR        ", 11);
	root[192 + 11] = 0x10;				/* a directory at cluster 0 */

	if (fat_open(&im.v, &im.f, NULL, 0) != 0) {
		test_fail(__FILE__, __LINE__, "fat_open");
		close_img(&im);
		return;
	}
	CHECK_STR(list(im.f, "/", &rc), "readme.TXT:0\nσBC.dat:0\nNOLFN:0\nDIR/:0\n");
	CHECK_EQ(rc, 0);
	CHECK_STR(fat_label(im.f), "LABEL2");
	/* a subdirectory without clusters is damage, not the root */
	CHECK_EQ(fat_list(im.f, "DIR", list_cb, NULL), -EIO);
	close_img(&im);
}

/* The FAT entry of cluster @c of a FAT12 image (first FAT). */
static void set_fat12(uint8_t *img, uint32_t c, uint32_t v)
{
	uint8_t *p = img + get_le16(img + 14) * 512 + c + c / 2;
	uint16_t w = get_le16(p);

	if (c & 1)
		w = (uint16_t)((w & 0x000f) | v << 4);
	else
		w = (uint16_t)((w & 0xf000) | v);
	put_le16(p, w);
}

TEST(fat_damaged_file_chains)
{
	struct img im;
	char *data = NULL;
	size_t len;

	if (!have_tools())
		return;
	write_host("ten", 5120, 11);	/* 10 clusters of 512 */
	if (test_shf("rm -f d.img && mkfs.vfat -C d.img 512 -F 12 -s 1 >/dev/null && "
	       "mcopy -i d.img ten ::ten && mshowfat -i d.img ::ten"))
		return;
	CHECK_STR(test_sh_out, "::/ten <2-11>\n");
	if (!open_img(&im, "d.img"))
		return;
	check_file(im.f, "ten", 5120, 11, __LINE__);

	/* a loop back to the first cluster */
	set_fat12(im.buf, 11, 2);
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	check_file(im.f, "ten", 5120, 11, __LINE__);	/* the loop is past the end */
	set_fat12(im.buf, 6, 4);			/* 2 3 4 5 6 4 5 6 ... */
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_read_file(im.f, "ten", 1 << 20, &data, &len), -ELOOP);
	/* ends early */
	set_fat12(im.buf, 6, 0xfff);
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_read_file(im.f, "ten", 1 << 20, &data, &len), -EIO);
	/* a free cluster, a bad cluster, one past the volume */
	set_fat12(im.buf, 6, 0);
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_read_file(im.f, "ten", 1 << 20, &data, &len), -EIO);
	set_fat12(im.buf, 6, 0xff7);
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_read_file(im.f, "ten", 1 << 20, &data, &len), -EIO);
	set_fat12(im.buf, 6, 0xff0);
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_read_file(im.f, "ten", 1 << 20, &data, &len), -EIO);
	/* the first cluster itself out of range */
	set_fat12(im.buf, 6, 7);
	{
		uint8_t *root = im.buf + (get_le16(im.buf + 14) + 2 * get_le16(im.buf + 22)) * 512;

		CHECK_MEM(root, "TEN        ", 11);
		put_le16(root + 26, 4000);
	}
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_read_file(im.f, "ten", 1 << 20, &data, &len), -EIO);
	CHECK(data == NULL);
	close_img(&im);
}

TEST(fat32_directory_chain_loop)
{
	struct img im;
	uint32_t rsvd, root;
	uint8_t *fat;
	struct fat_stat st;

	if (!have_tools())
		return;
	if (test_shf("rm -f l.img && mkfs.vfat -C l.img 40960 -F 32 -s 1 >/dev/null"))
		return;
	if (!open_img(&im, "l.img"))
		return;
	rsvd = get_le16(im.buf + 14);
	root = get_le32(im.buf + 44);
	fat = im.buf + rsvd * 512;
	/* the root directory's single cluster points at itself; its entries
	 * are all deleted, so only the loop ends the walk */
	put_le32(fat + root * 4, root);
	for (int i = 0; i < 16 * 4; i++)	/* clusters 2 to 5 */
		im.buf[(rsvd + 2 * get_le32(im.buf + 36)) * 512 + i * 32] = 0xe5;
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_list(im.f, "/", list_cb, NULL), -ELOOP);
	CHECK_EQ(fat_stat(im.f, "/x", &st), -ELOOP);
	/* a two-cluster loop */
	put_le32(fat + root * 4, 5);
	put_le32(fat + 5 * 4, root);
	fat_close(im.f);
	CHECK_EQ(fat_open(&im.v, &im.f, NULL, 0), 0);
	CHECK_EQ(fat_stat(im.f, "/x", &st), -ELOOP);
	close_img(&im);
}

TEST(fat_bad_boot_sectors)
{
	static const struct {
		unsigned off, size;
		uint32_t val;
	} bad[] = {
		{ 510, 2, 0 },		/* signature */
		{ 11, 2, 0 },		/* bytes per sector */
		{ 11, 2, 1024 + 512 },
		{ 11, 2, 8192 },
		{ 13, 1, 3 },		/* sectors per cluster */
		{ 13, 1, 0 },
		{ 14, 2, 0 },		/* reserved sectors */
		{ 16, 1, 0 },		/* FATs */
		{ 16, 1, 5 },
		{ 22, 2, 0 },		/* FAT size */
		{ 22, 2, 1 },		/* too small for the clusters */
		{ 19, 2, 0xffff },	/* past the volume */
		{ 17, 2, 0 },		/* FAT12 without a root directory */
	};
	struct img im;
	char why[128];

	if (!have_tools())
		return;
	if (test_shf("rm -f b.img && mkfs.vfat -C b.img 1024 -F 12 >/dev/null"))
		return;
	if (!open_img(&im, "b.img"))
		return;
	fat_close(im.f);
	im.f = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint8_t save[2];
		struct fat *f = NULL;

		memcpy(save, im.buf + bad[i].off, 2);
		if (bad[i].size == 1)
			im.buf[bad[i].off] = (uint8_t)bad[i].val;
		else
			put_le16(im.buf + bad[i].off, (uint16_t)bad[i].val);
		why[0] = 0;
		if (fat_open(&im.v, &f, why, sizeof(why)) != -EINVAL || f || !why[0])
			test_fail(__FILE__, __LINE__, "case %zu accepted (%s)", i, why);
		memcpy(im.buf + bad[i].off, save, 2);
	}
	/* a truncated image: the BPB says more sectors than there are */
	im.v.size = 512 * 1024;
	CHECK_EQ(fat_open(&im.v, &im.f, why, sizeof(why)), -EINVAL);
	im.v.size = 100;
	CHECK_EQ(fat_open(&im.v, &im.f, why, sizeof(why)), -EIO);
	CHECK(im.f == NULL);
	close_img(&im);
}

TEST(fat32_root_cluster_checked)
{
	struct img im;
	char why[128];

	if (!have_tools())
		return;
	if (test_shf("rm -f r.img && mkfs.vfat -C r.img 40960 -F 32 -s 1 >/dev/null"))
		return;
	if (!open_img(&im, "r.img"))
		return;
	fat_close(im.f);
	im.f = NULL;
	put_le32(im.buf + 44, 1);
	CHECK_EQ(fat_open(&im.v, &im.f, why, sizeof(why)), -EINVAL);
	put_le32(im.buf + 44, 0x0fffffff);
	CHECK_EQ(fat_open(&im.v, &im.f, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "root cluster") != NULL);
	close_img(&im);
}
