#include "disc/fat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf16.h"
#include "util.h"

#define CACHE_BLK	4096	/* bytes of FAT per cache slot */
#define CACHE_SLOTS	16
#define MAX_DEPTH	64	/* directory levels a path may go down */
/* FAT32 cluster numbers end at 0x0ffffff6 (0x0ffffff7 is "bad"): 2 + this - 1 */
#define FAT32_MAX_CLUS	0x0ffffff5u

#define ATTR_VOLUME	0x08
#define ATTR_DIR	0x10
#define ATTR_LFN	0x0f
#define LFN_MAX		20	/* 20 entries x 13 units = 260 >= 255 */

struct fat {
	struct vol v;
	unsigned bits;
	uint32_t bps, csize;	/* bytes per sector, per cluster */
	uint64_t fat_off;	/* the FAT in use, bytes from the volume start */
	uint64_t fat_len;	/* its bytes */
	uint64_t root_off;	/* FAT12/16: the fixed root directory */
	uint32_t root_entries;
	uint32_t root_clus;	/* FAT32 */
	uint64_t data_off;	/* cluster 2 */
	uint32_t nclus;		/* data clusters: numbers 2..nclus+1 */
	uint32_t serial;
	char label[48];

	struct {
		uint64_t blk;	/* block number + 1; 0 = empty */
		uint32_t used;
		uint8_t data[CACHE_BLK];
	} cache[CACHE_SLOTS];
	uint32_t clock;

	/* Where the last read of a chain got to, so sequential reads do not
	 * walk the chain from its start each time. */
	struct chain {
		uint32_t first, idx, clus;
		uint32_t tortoise, power, lam;	/* Brent's cycle detection */
	} cur;
};

/* A directory or file as a lookup found it. */
struct node {
	bool dir, root;
	uint32_t clus;
	uint32_t size;
};

/* One directory entry as dir_walk() hands it over. */
struct dent {
	const uint8_t *raw;		/* the 32-byte short entry */
	uint8_t attr;
	uint32_t clus;
	uint32_t size;
	bool has_long;
	char lname[FAT_NAME_MAX];	/* the long name, when has_long */
	char sname[40];			/* the 8.3 name as shown, UTF-8 */
};

/* --- names ------------------------------------------------------------ */

/* Code page 437, 0x80..0xff, as Unicode. */
static const uint16_t cp437_hi[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

/* Appends code point @c as UTF-8 at @out[*n] if it fits (@cap with NUL). */
static void put_utf8(char *out, size_t cap, size_t *n, uint32_t c)
{
	char e[3];
	size_t k;

	if (c < 0x80) {
		e[0] = (char)c;
		k = 1;
	} else if (c < 0x800) {
		e[0] = (char)(0xc0 | c >> 6);
		e[1] = (char)(0x80 | (c & 0x3f));
		k = 2;
	} else {
		e[0] = (char)(0xe0 | c >> 12);
		e[1] = (char)(0x80 | (c >> 6 & 0x3f));
		e[2] = (char)(0x80 | (c & 0x3f));
		k = 3;
	}
	if (*n + k < cap) {
		memcpy(out + *n, e, k);
		*n += k;
	}
	out[*n] = 0;
}

/* Appends @len bytes of a code page 437 name, trailing spaces dropped,
 * lower-cased (ASCII) when @lower. */
static void put_cp437(char *out, size_t cap, size_t *n, const uint8_t *s, size_t len, bool lower)
{
	while (len && s[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < len; i++) {
		uint32_t c = s[i];

		if (c >= 0x80)
			c = cp437_hi[c - 0x80];
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		else if (lower && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		put_utf8(out, cap, n, c);
	}
}

/* The 8.3 name of short entry @e as Windows shows it. */
static void short_name(const uint8_t *e, char *out, size_t cap)
{
	uint8_t base[8];
	size_t n = 0;

	memcpy(base, e, 8);
	if (base[0] == 0x05)
		base[0] = 0xe5;
	out[0] = 0;
	put_cp437(out, cap, &n, base, 8, e[12] & 0x08);
	if (memcmp(e + 8, "   ", 3) != 0) {
		put_utf8(out, cap, &n, '.');
		put_cp437(out, cap, &n, e + 8, 3, e[12] & 0x10);
	}
}

static uint8_t lfn_checksum(const uint8_t *e)
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + e[i]);
	return sum;
}

/* Decodes one UTF-8 character at *@s (a stray byte stands for itself). */
static uint32_t utf8_next(const char **s)
{
	const uint8_t *p = (const uint8_t *)*s;
	uint32_t c = p[0];
	unsigned more = 0;

	if (c >= 0xc2 && c < 0xe0) {
		c &= 0x1f;
		more = 1;
	} else if (c >= 0xe0 && c < 0xf0) {
		c &= 0x0f;
		more = 2;
	} else if (c >= 0xf0 && c < 0xf5) {
		c &= 0x07;
		more = 3;
	}
	for (unsigned i = 1; i <= more; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s += 1;
			return p[0];
		}
	}
	for (unsigned i = 1; i <= more; i++)
		c = c << 6 | (p[i] & 0x3f);
	*s += 1 + more;
	return c;
}

/* Simple case folding to lower case: enough for names people type. */
static uint32_t fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0xc0)
		return c;
	if (c <= 0xde && c != 0xd7)
		return c + 32;			/* Latin-1 */
	if (c >= 0x100 && c <= 0x17f) {		/* Latin Extended-A */
		if (c == 0x178)
			return 0xff;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		if (c != 0x138 && c != 0x149 && c != 0x17f)
			return c | 1;
		return c;
	}
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 32;			/* Greek */
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 37;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 63;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;			/* Cyrillic */
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	return c;
}

/* Compares @a (NUL-terminated) with the first @blen bytes of @b. */
static bool name_eq(const char *a, const char *b, size_t blen)
{
	const char *bend = b + blen;

	while (*a && b < bend) {
		if (fold(utf8_next(&a)) != fold(utf8_next(&b)))
			return false;
	}
	return !*a && b >= bend;
}

/* --- the FAT ---------------------------------------------------------- */

/* Byte @off of the FAT in use, through the cache. */
static int fat_byte(struct fat *f, uint64_t off, uint8_t *out)
{
	uint64_t blk = off / CACHE_BLK;
	unsigned victim = 0;
	size_t n;
	int r;

	if (off >= f->fat_len)
		return -EIO;
	for (unsigned i = 0; i < CACHE_SLOTS; i++) {
		if (f->cache[i].blk == blk + 1) {
			f->cache[i].used = ++f->clock;
			*out = f->cache[i].data[off % CACHE_BLK];
			return 0;
		}
		if (f->cache[i].used < f->cache[victim].used)
			victim = i;
	}
	n = (size_t)MIN((uint64_t)CACHE_BLK, f->fat_len - blk * CACHE_BLK);
	f->cache[victim].blk = 0;
	r = vol_read(&f->v, f->fat_off + blk * CACHE_BLK, f->cache[victim].data, n);
	if (r < 0)
		return r;
	f->cache[victim].blk = blk + 1;
	f->cache[victim].used = ++f->clock;
	*out = f->cache[victim].data[off % CACHE_BLK];
	return 0;
}

/*
 * The entry after cluster @c: 0 with *@next a valid cluster, 1 at an end
 * of chain mark, -EIO for a free, bad, reserved or out-of-range value.
 */
static int fat_next(struct fat *f, uint32_t c, uint32_t *next)
{
	uint8_t b[4] = { 0 };
	uint64_t off;
	uint32_t v, eoc, bad;
	unsigned n;
	int r;

	if (c < 2 || c > f->nclus + 1)
		return -EIO;
	if (f->bits == 12) {
		off = c + c / 2;
		n = 2;
	} else {
		off = (uint64_t)c * (f->bits / 8);
		n = f->bits / 8;
	}
	for (unsigned i = 0; i < n; i++) {
		r = fat_byte(f, off + i, &b[i]);
		if (r < 0)
			return r;
	}
	v = get_le32(b);
	if (f->bits == 12) {
		v = (c & 1) ? (v & 0xffff) >> 4 : v & 0xfff;
		eoc = 0xff8;
		bad = 0xff7;
	} else if (f->bits == 16) {
		eoc = 0xfff8;
		bad = 0xfff7;
	} else {
		v &= 0x0fffffff;
		eoc = 0x0ffffff8;
		bad = 0x0ffffff7;
	}
	if (v >= eoc)
		return 1;
	if (v == bad || v < 2 || v > f->nclus + 1)
		return -EIO;
	*next = v;
	return 0;
}

static void chain_start(struct chain *ch, uint32_t first)
{
	ch->first = first;
	ch->idx = 0;
	ch->clus = first;
	ch->tortoise = first;
	ch->power = 1;
	ch->lam = 0;
}

/* Moves @ch one cluster on: 0, 1 at the end of the chain, -ELOOP, -EIO. */
static int chain_step(struct fat *f, struct chain *ch)
{
	uint32_t next;
	int r;

	if (ch->idx >= f->nclus)
		return -ELOOP;		/* longer than the volume: a loop */
	r = fat_next(f, ch->clus, &next);
	if (r)
		return r;
	if (ch->power == ch->lam) {
		ch->tortoise = ch->clus;
		ch->power *= 2;
		ch->lam = 0;
	}
	ch->clus = next;
	ch->idx++;
	ch->lam++;
	if (ch->clus == ch->tortoise)
		return -ELOOP;
	return 0;
}

static uint64_t clus_off(const struct fat *f, uint32_t c)
{
	return f->data_off + (uint64_t)(c - 2) * f->csize;
}

static bool clus_ok(const struct fat *f, uint32_t c)
{
	return c >= 2 && c <= f->nclus + 1;
}

/* --- directories ------------------------------------------------------ */

typedef int (*dent_fn)(void *ctx, const struct dent *d);

struct lfn_state {
	bool end;		/* the end-of-directory entry was seen */
	unsigned total, next;	/* entries in the sequence; ordinal expected next */
	uint8_t sum;
	uint8_t units[LFN_MAX * 13 * 2];
};

/* Feeds one 32-byte entry; returns what @fn returned (sets @l->end at the
 * end of the directory). */
static int dir_entry(struct fat *f, struct lfn_state *l, const uint8_t *e, struct dent *d,
		     dent_fn fn, void *ctx)
{
	static const uint8_t lfn_pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	uint8_t attr = e[11];

	if (e[0] == 0) {
		l->end = true;
		return 0;
	}
	if (e[0] == 0xe5) {
		l->total = 0;
		return 0;
	}
	if ((attr & 0x3f) == ATTR_LFN) {
		unsigned ord = e[0] & 0x3f;

		if (e[0] & 0x40) {
			if (ord == 0 || ord > LFN_MAX) {
				l->total = 0;
				return 0;
			}
			l->total = ord;
			l->sum = e[13];
			memset(l->units, 0, sizeof(l->units));
		} else if (!l->total || ord != l->next || ord == 0 || e[13] != l->sum) {
			l->total = 0;
			return 0;
		}
		for (unsigned i = 0; i < 13; i++)
			memcpy(l->units + ((ord - 1) * 13 + i) * 2, e + lfn_pos[i], 2);
		l->next = ord - 1;
		return 0;
	}

	d->raw = e;
	d->attr = attr;
	d->clus = get_le16(e + 26);
	if (f->bits == 32)
		d->clus |= (uint32_t)get_le16(e + 20) << 16;
	d->size = get_le32(e + 28);
	d->has_long = false;
	if (l->total && l->next == 0 && lfn_checksum(e) == l->sum && get_le16(l->units)) {
		utf16le_to_utf8(d->lname, sizeof(d->lname), l->units, l->total * 13);
		d->has_long = true;
	}
	l->total = 0;
	short_name(e, d->sname, sizeof(d->sname));
	return fn(ctx, d);
}

/*
 * Calls @fn for each short entry of directory @dir, with its long name
 * when it has a valid one. Returns 0 at the end, what @fn returned when
 * nonzero, or -EIO/-ELOOP for a damaged directory.
 */
static int dir_walk(struct fat *f, const struct node *dir, dent_fn fn, void *ctx)
{
	struct lfn_state *l = NULL;
	struct dent *d = NULL;
	uint8_t *buf = NULL;
	struct chain ch;
	uint32_t seen = 0, per_read;
	int r = 0;

	l = malloc(sizeof(*l));
	d = malloc(sizeof(*d));
	buf = malloc(f->bps);
	if (!l || !d || !buf) {
		r = -ENOMEM;
		goto out;
	}
	l->total = 0;
	l->end = false;
	per_read = f->bps / 32;

	if (dir->root && f->bits != 32) {
		for (uint32_t i = 0; i < f->root_entries && !r && !l->end; i += per_read) {
			uint32_t n = MIN(per_read, f->root_entries - i);

			r = vol_read(&f->v, f->root_off + (uint64_t)i * 32, buf, f->bps);
			for (uint32_t k = 0; k < n && !r && !l->end; k++)
				r = dir_entry(f, l, buf + k * 32, d, fn, ctx);
		}
		goto out;
	}

	if (!clus_ok(f, dir->clus)) {
		r = -EIO;
		goto out;
	}
	chain_start(&ch, dir->clus);
	for (;;) {
		for (uint32_t s = 0; s < f->csize / f->bps && !r && !l->end; s++) {
			uint64_t off = clus_off(f, ch.clus) + (uint64_t)s * f->bps;

			r = vol_read(&f->v, off, buf, f->bps);
			for (uint32_t k = 0; k < per_read && !r && !l->end; k++) {
				if (seen++ >= FAT_DIR_MAX)
					l->end = true;	/* the most a directory may hold */
				else
					r = dir_entry(f, l, buf + k * 32, d, fn, ctx);
			}
		}
		if (r || l->end)
			break;
		r = chain_step(f, &ch);
		if (r == 1) {
			r = 0;		/* end of the chain */
			break;
		}
		if (r)
			break;
	}
out:
	free(l);
	free(d);
	free(buf);
	return r;
}

static bool is_dot(const uint8_t *e)
{
	return !memcmp(e, ".          ", 11) || !memcmp(e, "..         ", 11);
}

static bool is_label(uint8_t attr)
{
	return (attr & 0x3f) != ATTR_LFN && (attr & ATTR_VOLUME);
}

struct find_ctx {
	const char *name;
	size_t len;
	struct node found;
};

static int find_cb(void *ctx, const struct dent *d)
{
	struct find_ctx *c = ctx;

	if (is_label(d->attr) || is_dot(d->raw))
		return 0;
	if ((d->has_long && name_eq(d->lname, c->name, c->len)) ||
	    name_eq(d->sname, c->name, c->len)) {
		c->found.dir = d->attr & ATTR_DIR;
		c->found.root = false;
		c->found.clus = d->clus;
		c->found.size = c->found.dir ? 0 : d->size;
		return 2;
	}
	return 0;
}

static void root_node(const struct fat *f, struct node *n)
{
	n->dir = true;
	n->root = true;
	n->clus = f->bits == 32 ? f->root_clus : 0;
	n->size = 0;
}

static int resolve(struct fat *f, const char *path, struct node *out)
{
	struct node stack[MAX_DEPTH + 1];
	unsigned depth = 0;
	const char *p = path;

	root_node(f, &stack[0]);
	for (;;) {
		struct find_ctx c;
		size_t len;
		int r;

		while (*p == '/' || *p == '\\')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/\\");
		if (!stack[depth].dir)
			return -ENOTDIR;
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (depth)
				depth--;
			p += len;
			continue;
		}
		if (depth == MAX_DEPTH)
			return -ENAMETOOLONG;
		c.name = p;
		c.len = len;
		r = dir_walk(f, &stack[depth], find_cb, &c);
		if (r < 0)
			return r;
		if (r != 2)
			return -ENOENT;
		stack[++depth] = c.found;
		p += len;
	}
	*out = stack[depth];
	return 0;
}

/* --- the API ---------------------------------------------------------- */

static int label_cb(void *ctx, const struct dent *d)
{
	uint8_t *label = ctx;

	if (!is_label(d->attr) || (d->attr & ATTR_DIR))
		return 0;
	memcpy(label, d->raw, 11);
	if (label[0] == 0x05)
		label[0] = 0xe5;
	return 2;
}

int fat_open(const struct vol *v, struct fat **out, char *why, size_t whylen)
{
	uint8_t bs[512], label[11];
	uint32_t bps, spc, rsvd, nfats, root_ent, tot, fatsz, root_secs, meta, fat_idx = 0;
	uint64_t need;
	struct node root;
	struct fat *f;
	int r;

	set_why(why, whylen, "%s", "");
	*out = NULL;
	r = vol_read(v, 0, bs, sizeof(bs));
	if (r < 0) {
		set_why(why, whylen, "cannot read the boot sector");
		return r;
	}
	if (bs[510] != 0x55 || bs[511] != 0xaa) {
		set_why(why, whylen, "no boot sector signature");
		return -EINVAL;
	}
	bps = get_le16(bs + 11);
	spc = bs[13];
	rsvd = get_le16(bs + 14);
	nfats = bs[16];
	root_ent = get_le16(bs + 17);
	tot = get_le16(bs + 19);
	if (!tot)
		tot = get_le32(bs + 32);
	fatsz = get_le16(bs + 22);
	if (!fatsz)
		fatsz = get_le32(bs + 36);
	if (bps < 512 || bps > 4096 || !is_pow2(bps)) {
		set_why(why, whylen, "bytes per sector %u", bps);
		return -EINVAL;
	}
	if (!is_pow2(spc)) {
		set_why(why, whylen, "sectors per cluster %u", spc);
		return -EINVAL;
	}
	if (!rsvd || nfats < 1 || nfats > 4 || !fatsz) {
		set_why(why, whylen, "reserved sectors %u, %u FATs of %u sectors", rsvd, nfats, fatsz);
		return -EINVAL;
	}
	if ((uint64_t)tot * bps > v->size) {
		set_why(why, whylen, "%u sectors of %u bytes do not fit in %llu bytes", tot, bps,
		    (unsigned long long)v->size);
		return -EINVAL;
	}
	root_secs = (root_ent * 32 + bps - 1) / bps;
	meta = rsvd + root_secs;
	if ((uint64_t)meta + (uint64_t)nfats * fatsz >= tot) {
		set_why(why, whylen, "no data area: %u sectors in all", tot);
		return -EINVAL;
	}
	meta += nfats * fatsz;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->v = *v;
	f->bps = bps;
	f->csize = bps * spc;
	f->nclus = (tot - meta) / spc;
	if (f->nclus < 4085)
		f->bits = 12;
	else if (f->nclus < 65525)
		f->bits = 16;
	else
		f->bits = 32;
	if (f->bits == 32) {
		uint16_t ext = get_le16(bs + 40);

		if (root_ent || f->nclus > FAT32_MAX_CLUS) {
			set_why(why, whylen, "FAT32 with %u root entries and %u clusters", root_ent,
			    f->nclus);
			goto bad;
		}
		if (ext & 0x80)
			fat_idx = ext & 0x0f;
		if (fat_idx >= nfats) {
			set_why(why, whylen, "active FAT %u of %u", fat_idx, nfats);
			goto bad;
		}
		f->root_clus = get_le32(bs + 44);
		if (!clus_ok(f, f->root_clus)) {
			set_why(why, whylen, "root cluster %u outside 2..%u", f->root_clus,
			    f->nclus + 1);
			goto bad;
		}
		f->serial = get_le32(bs + 67);
		memcpy(label, bs[66] == 0x29 ? bs + 71 : (const uint8_t *)"NO NAME    ", 11);
	} else {
		if (!root_ent) {
			set_why(why, whylen, "FAT%u without a root directory", f->bits);
			goto bad;
		}
		f->serial = get_le32(bs + 39);
		memcpy(label, bs[38] == 0x29 ? bs + 43 : (const uint8_t *)"NO NAME    ", 11);
	}
	if (f->bits == 12)
		need = (uint64_t)(f->nclus + 1) * 3 / 2 + 2;	/* through cluster nclus + 1 */
	else
		need = (uint64_t)(f->nclus + 2) * (f->bits / 8);
	if (need > (uint64_t)fatsz * bps) {
		set_why(why, whylen, "a FAT of %u sectors cannot map %u clusters", fatsz, f->nclus);
		goto bad;
	}
	f->fat_off = ((uint64_t)rsvd + (uint64_t)fat_idx * fatsz) * bps;
	f->fat_len = (uint64_t)fatsz * bps;
	f->root_off = ((uint64_t)rsvd + (uint64_t)nfats * fatsz) * bps;
	f->root_entries = root_ent;
	f->data_off = (uint64_t)meta * bps;

	/* The root directory's label entry wins over the boot sector's. */
	root_node(f, &root);
	{
		uint8_t dlabel[11];

		if (dir_walk(f, &root, label_cb, dlabel) == 2 && memcmp(dlabel, "NO NAME    ", 11))
			memcpy(label, dlabel, 11);
	}
	if (memcmp(label, "NO NAME    ", 11)) {
		size_t n = 0;

		put_cp437(f->label, sizeof(f->label), &n, label, 11, false);
	}
	*out = f;
	return 0;
bad:
	free(f);
	return -EINVAL;
}

void fat_close(struct fat *f)
{
	free(f);
}

unsigned fat_bits(const struct fat *f)
{
	return f->bits;
}

const char *fat_label(const struct fat *f)
{
	return f->label;
}

uint32_t fat_serial(const struct fat *f)
{
	return f->serial;
}

int fat_stat(struct fat *f, const char *path, struct fat_stat *st)
{
	struct node n;
	int r = resolve(f, path, &n);

	if (r < 0)
		return r;
	st->dir = n.dir;
	st->size = n.size;
	return 0;
}

/* The cluster holding byte @idx * csize of the chain starting at @first. */
static int seek_cluster(struct fat *f, uint32_t first, uint32_t idx, uint32_t *clus)
{
	struct chain *ch = &f->cur;
	int r;

	if (!clus_ok(f, first))
		return -EIO;
	if (ch->first != first || ch->idx > idx || !clus_ok(f, ch->clus))
		chain_start(ch, first);
	while (ch->idx < idx) {
		r = chain_step(f, ch);
		if (r) {
			ch->first = 0;
			return r == 1 ? -EIO : r;	/* shorter than the file */
		}
	}
	*clus = ch->clus;
	return 0;
}

int fat_read(struct fat *f, const char *path, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct node n;
	uint8_t *p = buf;
	int r;

	*got = 0;
	r = resolve(f, path, &n);
	if (r < 0)
		return r;
	if (n.dir)
		return -EISDIR;
	if (off >= n.size)
		return 0;
	if (len > n.size - off)
		len = (size_t)(n.size - off);
	while (len) {
		uint32_t coff = (uint32_t)(off % f->csize), clus = 0;
		size_t k = MIN(len, (size_t)(f->csize - coff));

		r = seek_cluster(f, n.clus, (uint32_t)(off / f->csize), &clus);
		if (r < 0)
			return r;
		r = vol_read(&f->v, clus_off(f, clus) + coff, p, k);
		if (r < 0)
			return r;
		p += k;
		off += k;
		len -= k;
		*got += k;
	}
	return 0;
}

int fat_read_file(struct fat *f, const char *path, size_t max, char **data, size_t *len)
{
	struct fat_stat st;
	size_t got;
	char *buf;
	int r;

	*data = NULL;
	*len = 0;
	r = fat_stat(f, path, &st);
	if (r < 0)
		return r;
	if (st.dir)
		return -EISDIR;
	if (st.size > max)
		return -EFBIG;
	buf = malloc((size_t)st.size + 1);
	if (!buf)
		return -ENOMEM;
	r = fat_read(f, path, 0, buf, (size_t)st.size, &got);
	if (r == 0 && got != st.size)
		r = -EIO;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[got] = 0;
	*data = buf;
	*len = got;
	return 0;
}

struct list_ctx {
	int (*cb)(void *ctx, const char *name, const struct fat_stat *st);
	void *ctx;
};

static int list_cb(void *ctx, const struct dent *d)
{
	struct list_ctx *c = ctx;
	struct fat_stat st;

	if (is_label(d->attr) || is_dot(d->raw))
		return 0;
	st.dir = d->attr & ATTR_DIR;
	st.size = st.dir ? 0 : d->size;
	return c->cb(c->ctx, d->has_long ? d->lname : d->sname, &st);
}

int fat_list(struct fat *f, const char *path,
	     int (*cb)(void *ctx, const char *name, const struct fat_stat *st), void *ctx)
{
	struct list_ctx c = { cb, ctx };
	struct node n;
	int r;

	r = resolve(f, path, &n);
	if (r < 0)
		return r;
	if (!n.dir)
		return -ENOTDIR;
	return dir_walk(f, &n, list_cb, &c);
}
