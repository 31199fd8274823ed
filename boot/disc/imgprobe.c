#include "disc/imgprobe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/gpt.h"
#include "disk/mbr.h"
#include "guid.h"
#include "utf16.h"
#include "util.h"

#define ISO_SECTOR	2048
#define ISO_VD_MAX	64	/* volume descriptors looked at */
#define CATALOG_MAX	(4 * ISO_SECTOR)

const char *img_kind_name(enum img_kind k)
{
	static const char *const names[] = {
		[IMG_UNKNOWN] = "unknown",	[IMG_RAW] = "raw",
		[IMG_VHD_FIXED] = "vhd-fixed",	[IMG_VHD_DYNAMIC] = "vhd-dynamic",
		[IMG_VHD_DIFF] = "vhd-diff",	[IMG_VHDX] = "vhdx",
		[IMG_QCOW] = "qcow",		[IMG_QCOW2] = "qcow2",
		[IMG_ISO] = "iso",
	};

	if ((unsigned)k >= ARRAY_SIZE(names))
		return "unknown";
	return names[k];
}

static bool rd(const struct vol *v, uint64_t off, void *buf, size_t len)
{
	return vol_read(v, off, buf, len) == 0;
}

/* A space-padded on-disk string, printable ASCII only, trailing spaces dropped. */
static void put_str(char *dst, size_t cap, const uint8_t *s, size_t len)
{
	size_t n = 0;

	while (n < len && n + 1 < cap && s[n]) {
		dst[n] = s[n] >= 0x20 && s[n] < 0x7f ? (char)s[n] : '?';
		n++;
	}
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
}

/* --- partition tables ---------------------------------------------------- */

static int vol_read_cb(void *ctx, uint64_t off, void *buf, size_t len)
{
	return vol_read(ctx, off, buf, len);
}

/* A FAT, NTFS, exFAT or BitLocker boot sector rather than an MBR. */
static bool is_boot_sector(const uint8_t *s)
{
	uint16_t bps = get_le16(s + 11);
	uint8_t spc = s[13];

	if (!memcmp(s + 3, "NTFS    ", 8) || !memcmp(s + 3, "EXFAT   ", 8) ||
	    !memcmp(s + 3, "-FVE-FS-", 8))
		return true;
	return (s[0] == 0xeb || s[0] == 0xe9) && bps >= 512 && bps <= 4096 &&
	       !(bps & (bps - 1)) && spc && !(spc & (spc - 1)) && get_le16(s + 14) &&
	       s[16] >= 1 && s[16] <= 4 && (s[21] == 0xf0 || s[21] >= 0xf8);
}

/* The partition table of the raw disk @v: 0, or -ENOENT if it has none. */
static int read_table(const struct vol *v, struct img_info *out, char *why, size_t whylen)
{
	static const char esp_text[] = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
	struct guid esp;
	uint8_t s[512];
	union {
		struct gpt g;
		struct mbr m;
	} *t;
	char w[160];
	int r = -ENOENT;

	if (!rd(v, 0, s, sizeof(s)))
		return -ENOENT;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	guid_parse(esp_text, &esp);
	for (unsigned ss = 512; ss <= 4096; ss *= 8) {
		if (gpt_read(vol_read_cb, (void *)v, v->size, ss, &t->g, w, sizeof(w)) != 0)
			continue;
		snprintf(out->table, sizeof(out->table), "gpt");
		out->nparts = t->g.nparts;
		for (unsigned i = 0; i < t->g.nparts; i++)
			if (guid_eq(&t->g.parts[i].type, &esp))
				out->has_esp = true;
		if (t->g.used_backup)
			set_why(why, whylen, "the primary GPT is damaged: %s", w);
		r = 0;
		goto out;
	}
	if (s[510] != 0x55 || s[511] != 0xaa)
		goto out;
	if (is_boot_sector(s)) {
		out->table[0] = 0;	/* a filesystem without a partition table */
		r = 0;
		goto out;
	}
	if (mbr_read(vol_read_cb, (void *)v, v->size, 512, &t->m, w, sizeof(w)) != 0)
		goto out;
	if (t->m.protective) {
		snprintf(out->table, sizeof(out->table), "gpt");
		set_why(why, whylen, "a protective MBR but no valid GPT");
		r = 0;
		goto out;
	}
	snprintf(out->table, sizeof(out->table), "mbr");
	out->nparts = t->m.nparts;
	for (unsigned i = 0; i < t->m.nparts; i++)
		if (t->m.parts[i].type == 0xef)
			out->has_esp = true;
	if (w[0])
		set_why(why, whylen, "%s", w);
	r = 0;
out:
	free(t);
	return r;
}

/* --- qcow ---------------------------------------------------------------- */

static bool probe_qcow(const struct vol *v, struct img_info *out, char *why, size_t whylen)
{
	uint8_t h[32];
	uint32_t ver;

	if (!rd(v, 0, h, sizeof(h)) || memcmp(h, "QFI\xfb", 4) != 0)
		return false;
	ver = get_be32(h + 4);
	if (ver < 1 || ver > 3) {
		set_why(why, whylen, "qcow version %u", ver);
		return true;		/* IMG_UNKNOWN */
	}
	out->kind = ver == 1 ? IMG_QCOW : IMG_QCOW2;
	out->qcow2_version = ver;
	out->qcow2_backing = get_be64(h + 8) != 0;
	out->virtual_size = get_be64(h + 24);
	return true;
}

/* --- VHDX ---------------------------------------------------------------- */

/* CRC-32C (Castagnoli, reflected 0x82F63B78), as VHDX checksums its structures. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffff;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

static bool guid_is(const uint8_t *p, const char *text)
{
	struct guid g;

	return guid_parse(text, &g) == 0 && !memcmp(p, g.b, 16);
}

/* The Virtual Disk Size item of the metadata region, and whether there is a
 * Parent Locator; -errno if the region or table is bad. */
static int vhdx_metadata(const struct vol *v, uint64_t off, uint32_t len, struct img_info *out)
{
	uint8_t *t;
	uint16_t n;
	int r = -EINVAL;

	if (len < 65536)
		return -EINVAL;
	t = malloc(65536);
	if (!t)
		return -ENOMEM;
	if (!rd(v, off, t, 65536) || memcmp(t, "metadata", 8) != 0)
		goto out;
	n = get_le16(t + 10);
	if (n > 2047)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = t + 32 + 32 * i;
		uint32_t ioff = get_le32(e + 16), ilen = get_le32(e + 20);

		if (guid_is(e, "a8d35f2d-b30b-454d-abf7-d3d84834ab0c"))
			out->qcow2_backing = true;	/* Parent Locator */
		if (!guid_is(e, "2fa54224-cd1b-4876-b211-5dbed83bf4b8"))
			continue;			/* Virtual Disk Size */
		if (ilen != 8 || ioff < 65536 || ioff > len - 8) {
			r = -EINVAL;
			goto out;
		}
		{
			uint8_t sz[8];

			if (!rd(v, off + ioff, sz, 8))
				goto out;
			out->virtual_size = get_le64(sz);
			r = 0;
		}
	}
out:
	free(t);
	return r;
}

static int probe_vhdx(const struct vol *v, struct img_info *out, char *why, size_t whylen)
{
	uint8_t id[520], *rt;
	int r = -EINVAL;

	if (!rd(v, 0, id, sizeof(id)) || memcmp(id, "vhdxfile", 8) != 0)
		return 0;
	out->kind = IMG_VHDX;
	utf16le_to_utf8(out->creator, sizeof(out->creator), id + 8, 256);
	rt = malloc(65536);
	if (!rt)
		return -ENOMEM;
	/* the region table, or its copy */
	for (uint64_t at = 192 << 10; at <= 256 << 10 && r != 0; at += 64 << 10) {
		uint32_t sum, n;

		if (!rd(v, at, rt, 65536) || memcmp(rt, "regi", 4) != 0)
			continue;
		sum = get_le32(rt + 4);
		memset(rt + 4, 0, 4);
		n = get_le32(rt + 8);
		if (crc32c(rt, 65536) != sum || n > 2047)
			continue;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *e = rt + 16 + 32 * i;

			if (guid_is(e, "8b7ca206-4790-4b9a-b8fe-575f050f886e")) {
				r = vhdx_metadata(v, get_le64(e + 16), get_le32(e + 24), out);
				break;
			}
		}
		if (r == -ENOMEM)
			break;
	}
	free(rt);
	if (r == -ENOMEM)
		return r;
	if (r)
		set_why(why, whylen, "VHDX: no valid region table or metadata: virtual size unknown");
	return 1;
}

/* --- VHD ----------------------------------------------------------------- */

static bool vhd_sum_ok(const uint8_t *f, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < 64 || i > 67)
			sum += f[i];
	return ~sum == get_be32(f + 64);
}

static int probe_vhd(const struct vol *v, struct img_info *out, char *why, size_t whylen)
{
	uint8_t f[512] = { 0 };
	size_t flen = 0;
	uint32_t type;

	if (v->size >= 512 && rd(v, v->size - 512, f, 512) && !memcmp(f, "conectix", 8))
		flen = 512;
	else if (v->size >= 511 && rd(v, v->size - 511, f, 511) && !memcmp(f, "conectix", 8)) {
		flen = 511;
		f[511] = 0;
	} else if (v->size >= 1024 && rd(v, 0, f, 512) && !memcmp(f, "conectix", 8))
		set_why(why, whylen, "VHD: no footer at the end, using its copy at offset 0");
	else
		return 0;
	out->vhd_checksum_ok = vhd_sum_ok(f, flen ? flen : 512);
	if (!out->vhd_checksum_ok && !why[0])
		set_why(why, whylen, "VHD: footer checksum wrong");
	put_str(out->creator, sizeof(out->creator), f + 28, 4);
	out->virtual_size = get_be64(f + 48);
	type = get_be32(f + 60);
	switch (type) {
	case 2:
		if (!flen) {
			set_why(why, whylen, "VHD: a fixed disk without a footer at the end");
			return 1;
		}
		out->kind = IMG_VHD_FIXED;
		{
			struct vol payload;
			uint64_t n = MIN(out->virtual_size, v->size - flen);

			if (out->virtual_size > v->size - flen)
				set_why(why, whylen, "VHD: fixed disk of %llu bytes in %llu",
				    (unsigned long long)out->virtual_size,
				    (unsigned long long)(v->size - flen));
			if (vol_sub(v, 0, n, &payload) == 0 &&
			    read_table(&payload, out, why, whylen) == -ENOMEM)
				return -ENOMEM;
		}
		return 1;
	case 3:
	case 4:
		out->kind = type == 3 ? IMG_VHD_DYNAMIC : IMG_VHD_DIFF;
		{
			uint8_t dh[8];
			uint64_t hoff = get_be64(f + 16);

			if (!rd(v, hoff, dh, 8) || memcmp(dh, "cxsparse", 8))
				set_why(why, whylen, "VHD: no dynamic disk header at %llu",
				    (unsigned long long)hoff);
		}
		return 1;
	default:
		set_why(why, whylen, "VHD: disk type %u", type);
		out->virtual_size = 0;
		return 1;
	}
}

/* --- ISO 9660 and El Torito ---------------------------------------------- */

static void read_catalog(const struct vol *v, uint32_t lba, struct img_info *out, char *why,
			 size_t whylen)
{
	uint8_t *c = malloc(CATALOG_MAX);
	uint64_t off = (uint64_t)lba * ISO_SECTOR;
	size_t len;
	uint16_t sum = 0;
	uint8_t platform;

	if (!c)
		return;
	if (off >= v->size) {
		set_why(why, whylen, "El Torito: catalog outside the image");
		goto out;
	}
	len = (size_t)MIN((uint64_t)CATALOG_MAX, v->size - off) / 32 * 32;
	if (len < 64 || !rd(v, off, c, len)) {
		set_why(why, whylen, "El Torito: catalog unreadable");
		goto out;
	}
	for (int i = 0; i < 32; i += 2)
		sum = (uint16_t)(sum + get_le16(c + i));
	if (c[0] != 1 || c[30] != 0x55 || c[31] != 0xaa || sum != 0) {
		set_why(why, whylen, "El Torito: bad validation entry");
		goto out;
	}
	out->eltorito = true;
	platform = c[1];
	/* the initial/default entry, then sections */
	for (size_t p = 32; p + 32 <= len;) {
		const uint8_t *e = c + p;

		if (p == 32) {
			if (e[0] == 0x88) {
				out->eltorito_bios |= platform == 0;
				out->eltorito_efi |= platform == 0xef;
			}
			p += 32;
			continue;
		}
		if (e[0] != 0x90 && e[0] != 0x91)
			break;		/* no more section headers */
		platform = e[1];
		p += 32;
		for (unsigned n = get_le16(e + 2); n && p + 32 <= len; p += 32) {
			const uint8_t *s = c + p;

			if (s[0] == 0x44)
				continue;	/* an extension of the previous entry */
			if (s[0] == 0x88) {
				out->eltorito_bios |= platform == 0;
				out->eltorito_efi |= platform == 0xef;
			}
			n--;
		}
		if (e[0] == 0x91)
			break;		/* the final header */
	}
out:
	free(c);
}

static int probe_iso(const struct vol *v, struct img_info *out, char *why, size_t whylen)
{
	uint8_t d[136];
	bool pvd = false;
	uint32_t catalog = 0;
	bool have_catalog = false;

	for (unsigned i = 16; i < 16 + ISO_VD_MAX; i++) {
		if (!rd(v, (uint64_t)i * ISO_SECTOR, d, sizeof(d)) || memcmp(d + 1, "CD001", 5))
			break;
		if (d[0] == 255)
			break;
		if (d[0] == 1 && !pvd) {
			pvd = true;
			put_str(out->iso_volume_id, sizeof(out->iso_volume_id), d + 40, 32);
			out->virtual_size = (uint64_t)get_le32(d + 80) * get_le16(d + 128);
		} else if (d[0] == 0 && !have_catalog &&
			   !memcmp(d + 7, "EL TORITO SPECIFICATION", 23)) {
			have_catalog = true;
			catalog = get_le32(d + 71);
		}
	}
	if (!pvd)
		return 0;
	out->kind = IMG_ISO;
	if (have_catalog)
		read_catalog(v, catalog, out, why, whylen);
	if (rd(v, 510, d, 2) && d[0] == 0x55 && d[1] == 0xaa) {
		out->iso_hybrid = true;
		if (read_table(v, out, why, whylen) == -ENOMEM)
			return -ENOMEM;
	}
	return 1;
}

int img_probe(const struct vol *v, struct img_info *out, char *why, size_t whylen)
{
	char w[1] = "";
	int r;

	memset(out, 0, sizeof(*out));
	if (!why || !whylen) {
		why = w;
		whylen = sizeof(w);
	}
	why[0] = 0;
	if (probe_qcow(v, out, why, whylen))
		return 0;
	r = probe_vhdx(v, out, why, whylen);
	if (r)
		return r < 0 ? r : 0;
	r = probe_vhd(v, out, why, whylen);
	if (r)
		return r < 0 ? r : 0;
	r = probe_iso(v, out, why, whylen);
	if (r)
		return r < 0 ? r : 0;
	r = read_table(v, out, why, whylen);
	if (r == 0) {
		out->kind = IMG_RAW;
		out->virtual_size = v->size;
		return 0;
	}
	if (r == -ENOMEM)
		return r;
	set_why(why, whylen, "not a disk image this probe knows");
	return 0;
}
