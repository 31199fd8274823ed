#include "disc/ntfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utf16.h"
#include "util.h"

#define AT_ATTRIBUTE_LIST	0x20
#define AT_FILE_NAME		0x30
#define AT_VOLUME_NAME		0x60
#define AT_VOLUME_INFORMATION	0x70
#define AT_DATA			0x80
#define AT_INDEX_ROOT		0x90
#define AT_INDEX_ALLOCATION	0xa0
#define AT_END			0xffffffffu

#define REC_IN_USE		0x0001
#define REC_IS_DIR		0x0002

#define ROOT_RECORD		5
#define VOLUME_RECORD		3
#define MREF_MASK		0x0000ffffffffffffull
#define MAX_CLUSTER		(2u << 20)	/* 2 MiB, the largest NTFS allows */
#define CHUNK			(64u << 10)	/* MFT bytes read at once */

struct run {
	uint64_t vcn, lcn, len;	/* clusters */
	bool sparse;
};

struct ntfs {
	const struct vol *v;
	uint32_t csize, recsize;
	uint64_t nclus;
	struct run *runs;	/* $MFT's $DATA */
	unsigned nruns;
};

/* An attribute found in a record, its header checked against the record. */
struct attr {
	const uint8_t *p;
	uint32_t type, len;
	bool nonres;
	uint8_t name_len;
	uint16_t flags;
	const uint8_t *value;	/* resident */
	uint32_t value_len;
};

/*
 * Applies the update sequence array of the multi-sector structure @buf of
 * @len bytes with magic @magic ("FILE", "INDX"): the last two bytes of
 * each 512-byte block (or of the whole structure if smaller) must hold the
 * update sequence number, and get back the value saved in the array.
 * 0 or -EINVAL.
 */
static int usa_fixup(uint8_t *buf, uint32_t len, const char *magic, uint16_t min_ofs)
{
	uint32_t stride = MIN(512u, len), blocks = len / stride;
	uint16_t usa_ofs = get_le16(buf + 4), usa_cnt = get_le16(buf + 6);

	if (memcmp(buf, magic, 4) != 0)
		return -EINVAL;
	if (usa_cnt != blocks + 1 || usa_ofs < min_ofs || (usa_ofs & 1) ||
	    (uint32_t)usa_ofs + 2u * usa_cnt > len)
		return -EINVAL;
	for (uint32_t i = 0; i < blocks; i++) {
		uint8_t *end = buf + (i + 1) * stride - 2;

		if (memcmp(end, buf + usa_ofs, 2) != 0)
			return -EINVAL;
		memcpy(end, buf + usa_ofs + 2 * (i + 1), 2);
	}
	return 0;
}

/* An MFT record: fixups, and the header fields attribute walking relies on. */
static int fixup(uint8_t *rec, uint32_t len)
{
	uint16_t first_attr = get_le16(rec + 20);
	uint32_t used = get_le32(rec + 24);

	if (usa_fixup(rec, len, "FILE", 42) < 0)
		return -EINVAL;
	if (used > len || first_attr < get_le16(rec + 4) + 2u * get_le16(rec + 6) ||
	    (first_attr & 7) || (uint32_t)first_attr + 4 > used)
		return -EINVAL;
	return 0;
}

/*
 * The next attribute of record @rec after *@pos (start with the record's
 * first attribute offset): 1 with @a filled, 0 at the end marker, -EINVAL
 * for an attribute that does not fit the record.
 */
static int attr_next(const uint8_t *rec, uint32_t *pos, struct attr *a)
{
	uint32_t used = get_le32(rec + 24), p = *pos;
	uint16_t name_off;

	if (p + 4 > used)
		return -EINVAL;
	a->p = rec + p;
	a->type = get_le32(a->p);
	if (a->type == AT_END)
		return 0;
	if (p + 24 > used)
		return -EINVAL;
	a->len = get_le32(a->p + 4);
	if (a->len < 24 || (a->len & 7) || a->len > used - p)
		return -EINVAL;
	a->nonres = a->p[8];
	a->name_len = a->p[9];
	name_off = get_le16(a->p + 10);
	a->flags = get_le16(a->p + 12);
	if (a->name_len && (uint32_t)name_off + 2u * a->name_len > a->len)
		return -EINVAL;
	if (a->nonres) {
		if (a->len < 64 || get_le16(a->p + 32) >= a->len)
			return -EINVAL;
		a->value = NULL;
		a->value_len = 0;
	} else {
		uint32_t vlen = get_le32(a->p + 16);
		uint16_t voff = get_le16(a->p + 20);

		if (voff > a->len || vlen > a->len - voff)
			return -EINVAL;
		a->value = a->p + voff;
		a->value_len = vlen;
	}
	*pos = p + a->len;
	return 1;
}

/* The first attribute of @type in @rec, unnamed if @unnamed: 1, 0, -EINVAL. */
static int attr_find(const uint8_t *rec, uint32_t type, bool unnamed, struct attr *a)
{
	uint32_t pos = get_le16(rec + 20);
	int r;

	while ((r = attr_next(rec, &pos, a)) == 1) {
		if (a->type == type && (!unnamed || !a->name_len))
			return 1;
	}
	return r;
}

/* The attribute of @type named "$I30" (a directory's file name index). */
static int attr_find_i30(const uint8_t *rec, uint32_t type, struct attr *a)
{
	static const uint8_t i30[8] = { '$', 0, 'I', 0, '3', 0, '0', 0 };
	uint32_t pos = get_le16(rec + 20);
	int r;

	while ((r = attr_next(rec, &pos, a)) == 1) {
		if (a->type == type && a->name_len == 4 &&
		    !memcmp(a->p + get_le16(a->p + 10), i30, sizeof(i30)))
			return 1;
	}
	return r;
}

/*
 * Decodes the mapping pairs of non-resident attribute @a into at most
 * @max runs. Every run must lie inside the volume's @nclus clusters.
 * Returns 0 (with *@n runs, possibly cut at @max), or -EINVAL.
 */
static int decode_runs(const struct attr *a, uint64_t nclus, struct run *runs, unsigned max,
		       unsigned *n)
{
	const uint8_t *p = a->p + get_le16(a->p + 32), *end = a->p + a->len;
	uint64_t vcn = get_le64(a->p + 16);
	int64_t lcn = 0;

	*n = 0;
	while (p < end && *p && *n < max) {
		unsigned lsz = *p & 0x0f, osz = *p >> 4;
		uint64_t len = 0;
		int64_t delta = 0;

		if (lsz == 0 || lsz > 8 || osz > 8 || (size_t)(end - p) < 1u + lsz + osz)
			return -EINVAL;
		for (unsigned i = 0; i < lsz; i++)
			len |= (uint64_t)p[1 + i] << (8 * i);
		if (len == 0 || len > nclus || vcn > nclus)
			return -EINVAL;
		if (osz) {
			uint64_t u = 0;

			for (unsigned i = 0; i < osz; i++)
				u |= (uint64_t)p[1 + lsz + i] << (8 * i);
			if (osz < 8 && (u >> (8 * osz - 1)) & 1)
				u |= ~0ull << (8 * osz);	/* sign-extend */
			delta = (int64_t)u;
			if ((delta > 0 && lcn > INT64_MAX - delta) ||
			    (delta < 0 && lcn < INT64_MIN - delta))
				return -EINVAL;
			lcn += delta;
			if (lcn < 0 || (uint64_t)lcn > nclus || len > nclus - (uint64_t)lcn)
				return -EINVAL;
		}
		runs[*n].vcn = vcn;
		runs[*n].lcn = osz ? (uint64_t)lcn : 0;
		runs[*n].len = len;
		runs[*n].sparse = !osz;
		(*n)++;
		vcn += len;
		p += 1 + lsz + osz;
	}
	return 0;
}

/* Reads bytes [@off, @off + @len) of the stream mapped by @runs. */
static int stream_read(struct ntfs *c, const struct run *runs, unsigned nruns, uint64_t off,
		       uint8_t *buf, size_t len)
{
	while (len) {
		uint64_t vcn = off / c->csize;
		const struct run *r = NULL;
		uint64_t in, k;
		int e;

		for (unsigned i = 0; i < nruns; i++) {
			if (vcn >= runs[i].vcn && vcn - runs[i].vcn < runs[i].len) {
				r = &runs[i];
				break;
			}
		}
		if (!r || r->sparse)
			return -EINVAL;
		in = (vcn - r->vcn) * c->csize + off % c->csize;
		k = MIN((uint64_t)len, r->len * c->csize - in);
		e = vol_read(c->v, r->lcn * c->csize + in, buf, (size_t)k);
		if (e < 0)
			return e;
		buf += k;
		off += k;
		len -= (size_t)k;
	}
	return 0;
}

static int mft_stream_read(struct ntfs *c, uint64_t off, uint8_t *buf, size_t len)
{
	return stream_read(c, c->runs, c->nruns, off, buf, len);
}

/* MFT record @num into @rec (recsize bytes), fixed up. */
static int read_record(struct ntfs *c, uint64_t num, uint8_t *rec)
{
	int r;

	if (num > UINT64_MAX / c->recsize)
		return -EINVAL;
	r = mft_stream_read(c, num * c->recsize, rec, c->recsize);
	if (r < 0)
		return r;
	return fixup(rec, c->recsize);
}

static int parse_boot(const struct vol *v, struct ntfs *c, struct ntfs_info *out,
		      uint64_t *mft_lcn, char *why, size_t whylen)
{
	uint8_t bs[512];
	uint32_t bps, spc_raw;
	int8_t cpr;
	uint64_t tot;
	int r;

	r = vol_read(v, 0, bs, sizeof(bs));
	if (r < 0) {
		set_why(why, whylen, "cannot read the boot sector");
		return r;
	}
	if (!memcmp(bs + 3, "-FVE-FS-", 8)) {
		out->bitlocker = true;
		return 1;
	}
	if (memcmp(bs + 3, "NTFS    ", 8) != 0) {
		set_why(why, whylen, "no NTFS OEM ID");
		return -EINVAL;
	}
	if (bs[510] != 0x55 || bs[511] != 0xaa) {
		set_why(why, whylen, "no boot sector signature");
		return -EINVAL;
	}
	bps = get_le16(bs + 11);
	if (bps < 256 || bps > 4096 || !is_pow2(bps)) {
		set_why(why, whylen, "bytes per sector %u", bps);
		return -EINVAL;
	}
	spc_raw = bs[13];
	if (spc_raw <= 0x80) {
		if (!is_pow2(spc_raw)) {
			set_why(why, whylen, "sectors per cluster %u", spc_raw);
			return -EINVAL;
		}
		c->csize = bps * spc_raw;
	} else {
		unsigned shift = 256 - spc_raw;

		if (shift > 12) {
			set_why(why, whylen, "sectors per cluster 2^%u", shift);
			return -EINVAL;
		}
		c->csize = bps << shift;
	}
	if (c->csize > MAX_CLUSTER) {
		set_why(why, whylen, "clusters of %u bytes", c->csize);
		return -EINVAL;
	}
	tot = get_le64(bs + 40);
	if (tot > v->size / bps) {
		set_why(why, whylen, "%llu sectors do not fit in %llu bytes", (unsigned long long)tot,
		    (unsigned long long)v->size);
		return -EINVAL;
	}
	c->nclus = tot * bps / c->csize;
	*mft_lcn = get_le64(bs + 48);
	if (*mft_lcn >= c->nclus) {
		set_why(why, whylen, "MFT at cluster %llu of %llu", (unsigned long long)*mft_lcn,
		    (unsigned long long)c->nclus);
		return -EINVAL;
	}
	cpr = (int8_t)bs[64];
	if (cpr > 0) {
		uint64_t rs = (uint64_t)cpr * c->csize;

		c->recsize = rs > 65536 ? 0 : (uint32_t)rs;
	} else {
		c->recsize = -cpr <= 16 ? 1u << -cpr : 0;
	}
	if (c->recsize < 256 || c->recsize > 65536 || !is_pow2(c->recsize)) {
		set_why(why, whylen, "MFT records of %d (encoded) clusters", cpr);
		return -EINVAL;
	}
	out->serial = get_le64(bs + 72);
	out->cluster_size = c->csize;
	out->record_size = c->recsize;
	return 0;
}

/* Reads $MFT's record and the runlist of its $DATA. */
static int load_mft(struct ntfs *c, uint64_t mft_lcn, uint8_t *rec, uint64_t *records,
		    char *why, size_t whylen)
{
	struct attr a;
	int r;

	r = vol_read(c->v, mft_lcn * c->csize, rec, c->recsize);
	if (r < 0) {
		set_why(why, whylen, "cannot read MFT record 0");
		return r;
	}
	if (fixup(rec, c->recsize) < 0) {
		set_why(why, whylen, "MFT record 0: bad header or update sequence");
		return -EINVAL;
	}
	r = attr_find(rec, AT_DATA, true, &a);
	if (r <= 0 || !a.nonres || get_le64(a.p + 16) != 0) {
		set_why(why, whylen, "MFT record 0: no valid $DATA attribute");
		return -EINVAL;
	}
	c->runs = calloc(NTFS_MAX_RUNS, sizeof(*c->runs));
	if (!c->runs)
		return -ENOMEM;
	r = decode_runs(&a, c->nclus, c->runs, NTFS_MAX_RUNS, &c->nruns);
	if (r < 0 || !c->nruns || c->runs[0].sparse || c->runs[0].lcn != mft_lcn) {
		set_why(why, whylen, "MFT record 0: bad $DATA runlist");
		return -EINVAL;
	}
	*records = MIN(get_le64(a.p + 48) / c->recsize, (uint64_t)NTFS_MAX_RECORDS);
	return 0;
}

/* The first 4 bytes of the unnamed $DATA attribute @a (zeros past its end). */
static int data_head(struct ntfs *c, const struct attr *a, uint8_t sig[4])
{
	struct run run;
	unsigned n;
	int r;

	memset(sig, 0, 4);
	if (!a->nonres) {
		memcpy(sig, a->value, MIN(a->value_len, 4u));
		return 0;
	}
	if (a->flags & 0x40ff)		/* compressed or encrypted */
		return -EOPNOTSUPP;
	if (get_le64(a->p + 16) != 0 || get_le64(a->p + 48) == 0 || get_le64(a->p + 56) == 0)
		return 0;		/* not the start, or nothing written */
	r = decode_runs(a, c->nclus, &run, 1, &n);
	if (r < 0 || !n)
		return -EINVAL;
	if (run.sparse)
		return 0;
	return vol_read(c->v, run.lcn * c->csize, sig, MIN(get_le64(a->p + 56), 4ull));
}

/*
 * hiberfil.sys is record @num (in @rec): its $DATA head, through a resident
 * $ATTRIBUTE_LIST to the extension record holding VCN 0 if need be.
 */
static void check_hiber(struct ntfs *c, uint64_t num, const uint8_t *rec, uint8_t *ext,
			struct ntfs_info *out, char *why, size_t whylen)
{
	uint8_t sig[4];
	struct attr a;
	int r;

	r = attr_find(rec, AT_DATA, true, &a);
	if (r == 0 && attr_find(rec, AT_ATTRIBUTE_LIST, false, &a) == 1) {
		r = -EINVAL;
		if (!a.nonres) {
			for (uint32_t off = 0; off + 26 <= a.value_len;) {
				const uint8_t *e = a.value + off;
				uint16_t elen = get_le16(e + 4);

				if (elen < 26 || elen > a.value_len - off)
					break;
				if (get_le32(e) == AT_DATA && e[6] == 0 && get_le64(e + 8) == 0) {
					uint64_t ref = get_le64(e + 16) & MREF_MASK;

					if (ref != num && read_record(c, ref, ext) == 0 &&
					    (get_le64(ext + 32) & MREF_MASK) == num)
						r = attr_find(ext, AT_DATA, true, &a);
					break;
				}
				off += elen;
			}
		}
	}
	if (r <= 0 || data_head(c, &a, sig) < 0) {
		out->hiber = NTFS_HIBER_UNKNOWN;
		set_why(why, whylen, "hiberfil.sys: cannot read its data");
		return;
	}
	if (!memcmp(sig, "\0\0\0\0", 4)) {
		out->hiber = NTFS_HIBER_NONE;
		return;
	}
	for (int i = 0; i < 4; i++)
		out->hiber_sig[i] = sig[i] >= 0x20 && sig[i] < 0x7f ? (char)sig[i] : '?';
	out->hiber_sig[4] = 0;
	if (!strncasecmp(out->hiber_sig, "hibr", 4))
		out->hiber = NTFS_HIBER_HIBERNATED;
	else if (!strncasecmp(out->hiber_sig, "wake", 4) || !strncasecmp(out->hiber_sig, "rstr", 4))
		out->hiber = NTFS_HIBER_NONE;
	else
		out->hiber = NTFS_HIBER_UNKNOWN;
}

enum { N_WINDOWS, N_BOOT, N_BOOTMGR, N_PAGEFILE, N_HIBERFIL };

/* Which root entry discovery looks for the $FILE_NAME value @fn of @len
 * bytes names (its parent is not checked), or -1. */
static int which_name(const uint8_t *fn, uint32_t len)
{
	static const char *const names[] = {
		[N_WINDOWS] = "Windows", [N_BOOT] = "Boot", [N_BOOTMGR] = "bootmgr",
		[N_PAGEFILE] = "pagefile.sys", [N_HIBERFIL] = "hiberfil.sys",
	};
	char name[64];

	if (len < 66 || fn[65] == 2)	/* the DOS 8.3 alias of another name */
		return -1;
	if (fn[64] > 20 || 66u + 2u * fn[64] > len)
		return -1;
	utf16le_to_utf8(name, sizeof(name), fn + 66, fn[64]);
	for (int i = 0; i < (int)ARRAY_SIZE(names); i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}

/* Record @num (in @rec, in use, a base record) is root entry @which. */
static void found(struct ntfs *c, int which, uint64_t num, const uint8_t *rec, uint8_t *ext,
		  struct ntfs_info *out, char *why, size_t whylen)
{
	bool dir = get_le16(rec + 22) & REC_IS_DIR;

	switch (which) {
	case N_WINDOWS:
		out->has_windows_dir |= dir;
		break;
	case N_BOOT:
		out->has_boot_dir |= dir;
		break;
	case N_BOOTMGR:
		out->has_bootmgr |= !dir;
		break;
	case N_PAGEFILE:
		out->has_pagefile |= !dir;
		break;
	case N_HIBERFIL:
		if (!dir && !out->has_hiberfil) {
			out->has_hiberfil = true;
			check_hiber(c, num, rec, ext, out, why, whylen);
		}
		break;
	}
}

/* Looks at the root-directory names of record @num. */
static void scan_record(struct ntfs *c, uint64_t num, const uint8_t *rec, uint8_t *ext,
			struct ntfs_info *out, char *why, size_t whylen)
{
	uint16_t flags = get_le16(rec + 22);
	uint32_t pos = get_le16(rec + 20);
	struct attr a;

	if (!(flags & REC_IN_USE) || (get_le64(rec + 32) & MREF_MASK) != 0)
		return;		/* free, or an extension of another record */
	while (attr_next(rec, &pos, &a) == 1) {
		int which;

		if (a.type != AT_FILE_NAME || a.nonres ||
		    a.value_len < 8 || (get_le64(a.value) & MREF_MASK) != ROOT_RECORD)
			continue;
		which = which_name(a.value, a.value_len);
		if (which >= 0) {
			found(c, which, num, rec, ext, out, why, whylen);
			return;
		}
	}
}

/* --- the root directory's index ---------------------------------------- */

#define IDX_MAX_BLOCKS	256	/* index blocks of the root directory read */
#define IDX_MAX_MATCH	16
#define IDX_MAX_RUNS	64

struct idx {
	uint64_t vcn[IDX_MAX_BLOCKS];	/* sub-nodes seen (read or to read) */
	unsigned nvcn;
	struct {
		uint64_t ref;
		int which;
		bool key_dir;		/* the key's "directory" file attribute */
	} match[IDX_MAX_MATCH];
	unsigned nmatch;
};

/*
 * The index entries in [@p, @end): names discovery looks for are noted,
 * sub-nodes queued. 0, or -EINVAL for a malformed node or too many
 * sub-nodes.
 */
static int parse_node(const uint8_t *p, const uint8_t *end, struct idx *x)
{
	while (end - p >= 16) {
		uint16_t len = get_le16(p + 8), klen = get_le16(p + 10), fl = get_le16(p + 12);

		if (len < 16 || (len & 7) || len > end - p)
			return -EINVAL;
		if (fl & 0x01) {		/* a sub-node before this entry */
			uint64_t vcn;
			bool seen = false;

			if (len < 24)
				return -EINVAL;
			vcn = get_le64(p + len - 8);
			for (unsigned i = 0; i < x->nvcn; i++)
				seen |= x->vcn[i] == vcn;
			if (!seen) {
				if (x->nvcn == IDX_MAX_BLOCKS)
					return -EINVAL;
				x->vcn[x->nvcn++] = vcn;
			}
		}
		if (fl & 0x02)			/* the last entry: no key */
			return 0;
		if (klen > len - 16)
			return -EINVAL;
		{
			int which = which_name(p + 16, klen);

			if (which >= 0 && x->nmatch < IDX_MAX_MATCH) {
				x->match[x->nmatch].ref = get_le64(p);
				x->match[x->nmatch].which = which;
				x->match[x->nmatch].key_dir =
					klen >= 60 && (get_le32(p + 16 + 56) & 0x10000000);
				x->nmatch++;
			}
		}
		p += len;
	}
	return -EINVAL;		/* no last entry */
}

/*
 * Finds the root entries through the root directory's $I30 index: the
 * $INDEX_ROOT node, then every index block its sub-node pointers reach in
 * $INDEX_ALLOCATION. The records named are then read and looked at.
 * 0 when the whole index was read, -errno when it could not be (what was
 * found is still noted).
 */
static int scan_root_index(struct ntfs *c, uint8_t *rec, uint8_t *ext, struct ntfs_info *out,
			   char *why, size_t whylen)
{
	struct run runs[IDX_MAX_RUNS];
	unsigned nruns = 0;
	uint32_t bsize, vcn_size, hoff;
	uint8_t *blk = NULL;
	struct attr a;
	struct idx *x;
	int r;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	r = read_record(c, ROOT_RECORD, rec);
	if (r < 0 || !(get_le16(rec + 22) & REC_IS_DIR))
		goto bad;
	if (attr_find_i30(rec, AT_INDEX_ROOT, &a) != 1 || a.nonres || a.value_len < 32)
		goto bad;
	bsize = get_le32(a.value + 8);
	hoff = get_le32(a.value + 16);
	if (hoff > a.value_len - 16 || get_le32(a.value + 20) > a.value_len - 16 ||
	    parse_node(a.value + 16 + hoff, a.value + 16 + get_le32(a.value + 20), x) < 0)
		goto bad;
	if (x->nvcn) {
		if (bsize < 512 || bsize > 65536 || !is_pow2(bsize))
			goto bad;
		vcn_size = bsize >= c->csize ? c->csize : 512;
		if (attr_find_i30(rec, AT_INDEX_ALLOCATION, &a) != 1 || !a.nonres ||
		    decode_runs(&a, c->nclus, runs, IDX_MAX_RUNS, &nruns) < 0)
			goto bad;
		blk = malloc(bsize);
		if (!blk) {
			r = -ENOMEM;
			goto out;
		}
		/* nvcn grows as blocks are read; it is capped, so this ends */
		for (unsigned i = 0; i < x->nvcn; i++) {
			uint64_t vcn = x->vcn[i];

			if (vcn > UINT64_MAX / vcn_size ||
			    stream_read(c, runs, nruns, vcn * vcn_size, blk, bsize) < 0 ||
			    usa_fixup(blk, bsize, "INDX", 40) < 0 || get_le64(blk + 16) != vcn)
				goto bad;
			hoff = get_le32(blk + 24);
			if (hoff > bsize - 24 || get_le32(blk + 28) > bsize - 24 ||
			    parse_node(blk + 24 + hoff, blk + 24 + get_le32(blk + 28), x) < 0)
				goto bad;
		}
	}
	r = 0;
	goto matches;
bad:
	r = -EINVAL;
matches:
	for (unsigned i = 0; i < x->nmatch; i++) {
		uint64_t ref = x->match[i].ref, num = ref & MREF_MASK;
		uint16_t seq = (uint16_t)(ref >> 48);

		if (read_record(c, num, rec) == 0 && (get_le16(rec + 22) & REC_IN_USE) &&
		    !(get_le64(rec + 32) & MREF_MASK) && (!seq || get_le16(rec + 16) == seq)) {
			found(c, x->match[i].which, num, rec, ext, out, why, whylen);
			continue;
		}
		/* a damaged record: believe the index */
		switch (x->match[i].which) {
		case N_WINDOWS:
			out->has_windows_dir |= x->match[i].key_dir;
			break;
		case N_BOOT:
			out->has_boot_dir |= x->match[i].key_dir;
			break;
		case N_BOOTMGR:
			out->has_bootmgr |= !x->match[i].key_dir;
			break;
		case N_PAGEFILE:
			out->has_pagefile |= !x->match[i].key_dir;
			break;
		case N_HIBERFIL:
			if (!out->has_hiberfil) {
				out->has_hiberfil = true;
				out->hiber = NTFS_HIBER_UNKNOWN;
				set_why(why, whylen, "hiberfil.sys: MFT record %llu is damaged",
				    (unsigned long long)num);
			}
			break;
		}
	}
out:
	free(blk);
	free(x);
	return r;
}

static void read_volume(struct ntfs *c, uint8_t *rec, struct ntfs_info *out, char *why,
			size_t whylen)
{
	struct attr a;

	if (read_record(c, VOLUME_RECORD, rec) < 0) {
		set_why(why, whylen, "$Volume (MFT record 3) is damaged");
		return;
	}
	if (attr_find(rec, AT_VOLUME_NAME, false, &a) == 1 && !a.nonres)
		utf16le_to_utf8(out->label, sizeof(out->label), a.value, a.value_len / 2);
	if (attr_find(rec, AT_VOLUME_INFORMATION, false, &a) == 1 && !a.nonres &&
	    a.value_len >= 12) {
		out->ntfs_major = a.value[8];
		out->ntfs_minor = a.value[9];
		out->dirty = get_le16(a.value + 10) & 0x0001;
	}
}

static bool all_found(const struct ntfs_info *o)
{
	return o->has_windows_dir && o->has_bootmgr && o->has_pagefile && o->has_hiberfil &&
	       o->has_boot_dir;
}

int ntfs_probe(const struct vol *v, struct ntfs_info *out, char *why, size_t whylen)
{
	struct ntfs c = { .v = v };
	uint8_t *rec = NULL, *ext = NULL, *chunk = NULL;
	uint64_t mft_lcn, records, per_chunk;
	int r;

	memset(out, 0, sizeof(*out));
	set_why(why, whylen, "%s", "");
	r = parse_boot(v, &c, out, &mft_lcn, why, whylen);
	if (r)
		return r > 0 ? 0 : r;

	rec = malloc(c.recsize);
	ext = malloc(c.recsize);
	per_chunk = MAX(CHUNK / c.recsize, 1u);
	chunk = malloc(per_chunk * c.recsize);
	if (!rec || !ext || !chunk) {
		r = -ENOMEM;
		goto out;
	}
	r = load_mft(&c, mft_lcn, rec, &records, why, whylen);
	if (r < 0)
		goto out;

	read_volume(&c, rec, out, why, whylen);

	r = scan_root_index(&c, rec, ext, out, why, whylen);
	if (r == -ENOMEM)
		goto out;
	if (r == 0)
		records = 0;	/* the index named everything there is */
	for (uint64_t i = 0; i < records && !all_found(out); i += per_chunk) {
		uint64_t n = MIN(per_chunk, records - i);
		bool whole = mft_stream_read(&c, i * c.recsize, chunk, n * c.recsize) == 0;

		for (uint64_t k = 0; k < n; k++) {
			uint8_t *p = chunk + k * c.recsize;

			if (!whole) {	/* read what can be read one by one */
				if (mft_stream_read(&c, (i + k) * c.recsize, p, c.recsize) < 0)
					continue;
			}
			if (fixup(p, c.recsize) == 0)
				scan_record(&c, i + k, p, ext, out, why, whylen);
		}
	}
	r = 0;
out:
	free(c.runs);
	free(rec);
	free(ext);
	free(chunk);
	return r;
}
