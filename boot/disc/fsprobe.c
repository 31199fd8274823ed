#include "disc/fsprobe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc/fat.h"
#include "disc/ntfs.h"
#include "utf16.h"
#include "util.h"

const char *fs_type_name(enum fs_type t)
{
	static const char *const names[] = {
		[FS_UNKNOWN] = "",		[FS_VFAT] = "vfat",
		[FS_EXFAT] = "exfat",		[FS_EXT2] = "ext2",
		[FS_EXT3] = "ext3",		[FS_EXT4] = "ext4",
		[FS_BTRFS] = "btrfs",		[FS_XFS] = "xfs",
		[FS_NTFS] = "ntfs",		[FS_BITLOCKER] = "BitLocker",
		[FS_ISO9660] = "iso9660",	[FS_SWAP] = "swap",
		[FS_HFSPLUS] = "hfsplus",	[FS_APFS] = "apfs",
		[FS_LUKS] = "crypto_LUKS",	[FS_LVM2] = "LVM2_member",
	};

	if ((unsigned)t >= ARRAY_SIZE(names) || !names[t])
		return "";
	return names[t];
}

/* Reads @len bytes at @off; false if they are not there. */
static bool rd(const struct vol *v, uint64_t off, void *buf, size_t len)
{
	return vol_read(v, off, buf, len) == 0;
}

/* A fixed-size on-disk string: up to the first NUL, control characters
 * shown as '?', trailing spaces dropped. */
static void put_str(char *dst, size_t cap, const uint8_t *s, size_t len)
{
	size_t n = 0;

	while (n < len && n + 1 < cap && s[n]) {
		dst[n] = s[n] < 0x20 || s[n] == 0x7f ? '?' : (char)s[n];
		n++;
	}
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
}

static void set_label(struct fs_probe *out, const uint8_t *s, size_t len)
{
	put_str(out->label, sizeof(out->label), s, len);
}

/* Trailing spaces of a UTF-8 label decoded elsewhere. */
static void trim_label(struct fs_probe *out)
{
	size_t n = strlen(out->label);

	while (n && out->label[n - 1] == ' ')
		out->label[--n] = 0;
}

/* 16 bytes as a lower-case 8-4-4-4-12 UUID, in byte order. */
static void set_uuid(struct fs_probe *out, const uint8_t *u)
{
	snprintf(out->uuid, sizeof(out->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

/* A volume serial as "ABCD-1234". */
static void set_serial32(struct fs_probe *out, uint32_t s)
{
	snprintf(out->uuid, sizeof(out->uuid), "%04X-%04X", s >> 16, s & 0xffff);
}

/* --- crypto and volume managers ---------------------------------------- */

static bool probe_luks(const struct vol *v, struct fs_probe *out)
{
	uint8_t h[208];
	uint16_t ver;

	if (!rd(v, 0, h, sizeof(h)) || memcmp(h, "LUKS\xba\xbe", 6) != 0)
		return false;
	ver = get_be16(h + 6);
	if (ver != 1 && ver != 2)
		return false;
	out->type = FS_LUKS;
	put_str(out->uuid, sizeof(out->uuid), h + 168, 40);	/* the UUID is text */
	if (ver == 2)
		set_label(out, h + 24, 48);
	return true;
}

/* LVM's label CRC: CRC-32 (reflected 0xEDB88320) from 0xf597a6cf, no final xor. */
static uint32_t lvm_crc(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xf597a6cf;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return crc;
}

static bool probe_lvm2(const struct vol *v, struct fs_probe *out)
{
	uint8_t s[512];

	for (unsigned sec = 0; sec < 4; sec++) {
		uint32_t off;
		size_t n = 0;
		const uint8_t *id;

		if (!rd(v, sec * 512ull, s, sizeof(s)) || memcmp(s, "LABELONE", 8) ||
		    memcmp(s + 24, "LVM2 001", 8) || get_le64(s + 8) != sec)
			continue;
		if (lvm_crc(s + 20, 512 - 20) != get_le32(s + 16))
			continue;
		off = get_le32(s + 20);
		if (off < 32 || off > 512 - 32)
			continue;
		id = s + off;
		out->type = FS_LVM2;
		for (unsigned i = 0; i < 32; i++) {
			if (i == 6 || i == 10 || i == 14 || i == 18 || i == 22 || i == 26)
				out->uuid[n++] = '-';
			out->uuid[n++] = id[i] >= 0x20 && id[i] < 0x7f ? (char)id[i] : '?';
		}
		out->uuid[n] = 0;
		return true;
	}
	return false;
}

/* --- boot-sector filesystems ------------------------------------------- */

static bool probe_ntfs(const struct vol *v, const uint8_t *bs, struct fs_probe *out)
{
	struct ntfs_info ni;

	if (!memcmp(bs + 3, "-FVE-FS-", 8)) {
		out->type = FS_BITLOCKER;
		return true;
	}
	if (memcmp(bs + 3, "NTFS    ", 8) != 0 || ntfs_probe(v, &ni, NULL, 0) != 0)
		return false;
	out->type = FS_NTFS;
	snprintf(out->uuid, sizeof(out->uuid), "%016llX", (unsigned long long)ni.serial);
	snprintf(out->label, sizeof(out->label), "%s", ni.label);
	return true;
}

/* The label entry (0x83) of an exFAT root directory, following its FAT chain. */
static void exfat_label(const struct vol *v, const uint8_t *bs, struct fs_probe *out)
{
	unsigned bshift = bs[108], cshift = bs[109];
	uint64_t fat_off = (uint64_t)get_le32(bs + 80) << bshift;
	uint64_t heap = (uint64_t)get_le32(bs + 88) << bshift;
	uint32_t nclus = get_le32(bs + 92), clus = get_le32(bs + 96);
	uint64_t csize = 1ull << (bshift + cshift);
	uint8_t e[32];
	unsigned entries = 0;

	for (unsigned steps = 0; steps < 256; steps++) {
		uint8_t next[4];

		if (clus < 2 || clus - 2 >= nclus)
			return;
		for (uint64_t o = 0; o < csize; o += 32) {
			uint64_t at = heap + (uint64_t)(clus - 2) * csize + o;

			if (++entries > 65536 || !rd(v, at, e, 32))
				return;
			if (e[0] == 0)
				return;			/* end of directory */
			if (e[0] == 0x83) {
				utf16le_to_utf8(out->label, sizeof(out->label), e + 2,
						MIN(e[1], 11));
				trim_label(out);
				return;
			}
		}
		if (!rd(v, fat_off + 4ull * clus, next, 4))
			return;
		clus = get_le32(next);
	}
}

static bool probe_exfat(const struct vol *v, const uint8_t *bs, struct fs_probe *out)
{
	unsigned bshift = bs[108], cshift = bs[109];

	if (memcmp(bs + 3, "EXFAT   ", 8) != 0 || bs[510] != 0x55 || bs[511] != 0xaa)
		return false;
	for (int i = 11; i < 64; i++)
		if (bs[i])
			return false;		/* MustBeZero: the BPB of FAT */
	if (bshift < 9 || bshift > 12 || cshift > 25 - bshift || bs[110] < 1 || bs[110] > 2)
		return false;
	out->type = FS_EXFAT;
	set_serial32(out, get_le32(bs + 100));
	exfat_label(v, bs, out);
	return true;
}

static bool probe_vfat(const struct vol *v, struct fs_probe *out)
{
	struct fat *f;

	if (fat_open(v, &f, NULL, 0) != 0)
		return false;
	out->type = FS_VFAT;
	set_serial32(out, fat_serial(f));
	snprintf(out->label, sizeof(out->label), "%s", fat_label(f));
	fat_close(f);
	return true;
}

/* --- Linux filesystems -------------------------------------------------- */

static bool probe_xfs(const struct vol *v, struct fs_probe *out)
{
	uint8_t sb[120];
	uint32_t bsize;
	uint16_t ssize;

	if (!rd(v, 0, sb, sizeof(sb)) || memcmp(sb, "XFSB", 4) != 0)
		return false;
	bsize = get_be32(sb + 4);
	ssize = get_be16(sb + 102);
	if (bsize < 512 || bsize > 65536 || !is_pow2(bsize) || ssize < 512 || ssize > 32768 ||
	    !is_pow2(ssize) || !get_be32(sb + 88))
		return false;
	out->type = FS_XFS;
	set_uuid(out, sb + 32);
	set_label(out, sb + 108, 12);
	return true;
}

static bool probe_btrfs(const struct vol *v, struct fs_probe *out)
{
	uint8_t sb[0x12b + 256];

	if (!rd(v, 0x10000, sb, sizeof(sb)) || memcmp(sb + 0x40, "_BHRfS_M", 8) != 0)
		return false;
	out->type = FS_BTRFS;
	set_uuid(out, sb + 0x20);
	set_label(out, sb + 0x12b, 256);
	return true;
}

#define EXT_COMPAT_HAS_JOURNAL		0x0004
#define EXT_INCOMPAT_JOURNAL_DEV	0x0008
#define EXT2_INCOMPAT_SUPP		0x0012	/* filetype, meta_bg */
#define EXT3_INCOMPAT_SUPP		0x0016	/* and recover */
#define EXT3_RO_COMPAT_SUPP		0x0007	/* sparse_super, large_file, btree_dir */

static bool probe_ext(const struct vol *v, struct fs_probe *out)
{
	uint8_t sb[136];
	uint32_t compat, incompat, ro;

	if (!rd(v, 1024, sb, sizeof(sb)) || get_le16(sb + 56) != 0xef53)
		return false;
	if (get_le32(sb + 24) > 6 || !get_le32(sb + 0) || !get_le32(sb + 4))
		return false;		/* block size, inode and block counts */
	compat = get_le32(sb + 92);
	incompat = get_le32(sb + 96);
	ro = get_le32(sb + 100);
	if (incompat & EXT_INCOMPAT_JOURNAL_DEV)
		return false;		/* an external journal (blkid's "jbd") */
	if ((ro & ~EXT3_RO_COMPAT_SUPP) || (incompat & ~EXT3_INCOMPAT_SUPP))
		out->type = FS_EXT4;
	else if (compat & EXT_COMPAT_HAS_JOURNAL)
		out->type = FS_EXT3;
	else if (!(incompat & ~EXT2_INCOMPAT_SUPP))
		out->type = FS_EXT2;
	else
		return false;		/* needs recovery but has no journal */
	set_uuid(out, sb + 104);
	set_label(out, sb + 120, 16);
	return true;
}

static bool probe_swap(const struct vol *v, struct fs_probe *out)
{
	for (unsigned page = 4096; page <= 65536; page *= 2) {
		uint8_t magic[10], h[44];
		uint32_t ver;

		if (!rd(v, page - 10, magic, sizeof(magic)))
			return false;
		if (!memcmp(magic, "SWAP-SPACE", 10)) {
			out->type = FS_SWAP;	/* version 0: no UUID or label */
			return true;
		}
		if (memcmp(magic, "SWAPSPACE2", 10) != 0)
			continue;
		if (!rd(v, 1024, h, sizeof(h)))
			return false;
		ver = get_le32(h);
		if (ver != 1 && get_be32(h) != 1)
			return false;
		out->type = FS_SWAP;
		if (memcmp(h + 12, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16))
			set_uuid(out, h + 12);
		set_label(out, h + 28, 16);
		return true;
	}
	return false;
}

/* --- optical and Apple -------------------------------------------------- */

/* "YYYY-MM-DD-HH-MM-SS-CC" from an ISO 9660 date, unless it is unset. */
static bool iso_date_uuid(const uint8_t *d, struct fs_probe *out)
{
	bool zero = d[16] == 0;

	for (int i = 0; i < 16; i++) {
		if (d[i] < '0' || d[i] > '9')
			return false;
		if (d[i] != '0')
			zero = false;
	}
	if (zero)
		return false;
	snprintf(out->uuid, sizeof(out->uuid), "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-%.2s",
		 d, d + 4, d + 6, d + 8, d + 10, d + 12, d + 14);
	return true;
}

static bool probe_iso9660(const struct vol *v, struct fs_probe *out)
{
	uint8_t pvd[850], vd[120];

	if (!rd(v, 0x8000, pvd, sizeof(pvd)) || pvd[0] != 1 || memcmp(pvd + 1, "CD001", 5))
		return false;
	out->type = FS_ISO9660;
	if (!iso_date_uuid(pvd + 830, out))	/* modified, else created */
		iso_date_uuid(pvd + 813, out);
	set_label(out, pvd + 40, 32);

	/* a Joliet volume ID that says more than the PVD's */
	for (unsigned i = 17; i < 17 + 16; i++) {
		uint8_t le[32];
		bool same = true;

		if (!rd(v, i * 2048ull, vd, sizeof(vd)) || vd[0] == 255 ||
		    memcmp(vd + 1, "CD001", 5))
			break;
		if (vd[0] != 2 || vd[88] != '%' || vd[89] != '/' ||
		    (vd[90] != '@' && vd[90] != 'C' && vd[90] != 'E'))
			continue;
		for (int k = 0; k < 16; k++) {
			le[2 * k] = vd[40 + 2 * k + 1];
			le[2 * k + 1] = vd[40 + 2 * k];
			if (vd[40 + 2 * k] != 0 || vd[40 + 2 * k + 1] != pvd[40 + k])
				same = false;
		}
		if (!same) {
			utf16le_to_utf8(out->label, sizeof(out->label), le, 16);
			trim_label(out);
		}
		break;
	}
	return true;
}

/* The volume name: the key of the first catalog leaf record (parent 1). */
static void hfsplus_label(const struct vol *v, uint64_t base, const uint8_t *vh,
			  struct fs_probe *out)
{
	uint32_t bsize = get_be32(vh + 40);
	const uint8_t *ext = vh + 272 + 16;	/* the catalog file's extents */
	uint8_t hdr[34], node[14 + 8 + 255 * 2], be[255 * 2];
	uint32_t leaf, nsize, blk;
	uint64_t off = 0;
	unsigned len;

	if (!rd(v, base + (uint64_t)get_be32(ext) * bsize, hdr, sizeof(hdr)))
		return;
	leaf = get_be32(hdr + 24);
	nsize = get_be16(hdr + 32);
	if (!get_be32(hdr + 20) || nsize < sizeof(node) || !is_pow2(nsize))
		return;
	blk = (uint32_t)((uint64_t)leaf * nsize / bsize);
	for (int i = 0; i < 8; i++) {
		uint32_t start = get_be32(ext + 8 * i), count = get_be32(ext + 8 * i + 4);

		if (!count)
			return;
		if (blk < count) {
			off = ((uint64_t)start + blk) * bsize + (uint64_t)leaf * nsize % bsize;
			break;
		}
		blk -= count;
		if (i == 7)
			return;
	}
	if (!rd(v, base + off, node, sizeof(node)) || node[8] != 0xff || !get_be16(node + 10))
		return;
	len = get_be16(node + 20);
	if (get_be32(node + 16) != 1 || len > 255)
		return;
	for (unsigned i = 0; i < len; i++) {
		be[2 * i] = node[22 + 2 * i + 1];
		be[2 * i + 1] = node[22 + 2 * i];
	}
	utf16le_to_utf8(out->label, sizeof(out->label), be, len);
}

static bool probe_hfsplus(const struct vol *v, struct fs_probe *out)
{
	uint8_t vh[512];
	uint64_t base = 0;
	uint32_t bsize;

	if (!rd(v, 1024, vh, sizeof(vh)))
		return false;
	if (!memcmp(vh, "BD", 2)) {	/* an HFS wrapper around HFS+ */
		if (memcmp(vh + 124, "H+", 2) && memcmp(vh + 124, "HX", 2))
			return false;
		base = (uint64_t)get_be16(vh + 28) * 512 +
		       (uint64_t)get_be16(vh + 126) * get_be32(vh + 20);
		if (!rd(v, base + 1024, vh, sizeof(vh)))
			return false;
	}
	if (memcmp(vh, "H+", 2) && memcmp(vh, "HX", 2))
		return false;
	bsize = get_be32(vh + 40);
	if (bsize < 512 || !is_pow2(bsize))
		return false;
	out->type = FS_HFSPLUS;
	hfsplus_label(v, base, vh, out);
	return true;
}

/* Fletcher-64 over 32-bit words as APFS checksums its objects. */
static uint64_t apfs_fletcher(const uint8_t *p, size_t len)
{
	const uint64_t m = 0xffffffffu;
	uint64_t s1 = 0, s2 = 0, c1, c2;

	for (size_t i = 0; i + 4 <= len; i += 4) {
		s1 = (s1 + get_le32(p + i)) % m;
		s2 = (s2 + s1) % m;
	}
	c1 = m - (s1 + s2) % m;
	c2 = m - (s1 + c1) % m;
	return c2 << 32 | c1;
}

static bool probe_apfs(const struct vol *v, struct fs_probe *out)
{
	uint8_t *b = malloc(4096);
	bool ok;

	if (!b)
		return false;
	ok = rd(v, 0, b, 4096) && !memcmp(b + 32, "NXSB", 4) && get_le16(b + 24) == 1 &&
	     get_le16(b + 28) == 0 && get_le16(b + 30) == 0 && get_le32(b + 36) == 4096 &&
	     apfs_fletcher(b + 8, 4096 - 8) == get_le64(b);
	if (ok) {
		out->type = FS_APFS;
		set_uuid(out, b + 72);
	}
	free(b);
	return ok;
}

int fs_probe(const struct vol *v, struct fs_probe *out)
{
	uint8_t bs[512];

	memset(out, 0, sizeof(*out));
	if (probe_luks(v, out) || probe_lvm2(v, out))
		return 0;
	if (rd(v, 0, bs, sizeof(bs)) && (probe_ntfs(v, bs, out) || probe_exfat(v, bs, out)))
		return 0;
	memset(out, 0, sizeof(*out));
	if (probe_xfs(v, out) || probe_btrfs(v, out) || probe_ext(v, out) ||
	    probe_iso9660(v, out) || probe_vfat(v, out) || probe_hfsplus(v, out) ||
	    probe_apfs(v, out) || probe_swap(v, out))
		return 0;
	memset(out, 0, sizeof(*out));
	return 0;
}
