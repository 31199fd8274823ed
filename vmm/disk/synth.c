/*
 * Synthetic GPT disks (see synth.h). The disk has the size of the real one
 * so every partition keeps its LBAs; it is a sorted list of extents:
 * the generated head (protective MBR, GPT header, entry array), the chosen
 * partitions (a range of the real disk, or a copy-on-write view of one),
 * the generated tail (backup entry array and header). Gaps read as zeros.
 */
#define LOG_MOD "synth"
#include "disk/synth.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk/gpt.h"
#include "log.h"
#include "util.h"

#define COW_CLUSTER 4096u
#define MAX_EXTENTS (DISK_MAX_PARTS + 2)

/* A private copy-on-write view of @base: written clusters live in a
 * sparse memory file. */
struct cow {
	struct blk base;	/* read-only */
	int fd;			/* memfd of the partition's size */
	uint8_t *map;		/* one bit per cluster: in the overlay */
	pthread_mutex_t lock;
};

enum ext_kind { EXT_MEM, EXT_PART, EXT_COW };

struct extent {
	uint64_t start, len;
	enum ext_kind kind;
	uint8_t *mem;		/* EXT_MEM */
	struct blk part;	/* EXT_PART */
	struct cow *cow;	/* EXT_COW */
};

struct synth {
	struct extent ext[MAX_EXTENTS];
	unsigned n;
	uint8_t *head, *tail;
};

/* --- copy-on-write ---------------------------------------------------------------- */

static bool cow_has(const struct cow *c, uint64_t cl)
{
	return c->map[cl / 8] & (1u << (cl % 8));
}

static int cow_read_cluster(struct cow *c, uint64_t cl, uint8_t *buf)
{
	if (cow_has(c, cl))
		return pread_full(c->fd, buf, COW_CLUSTER, (off_t)(cl * COW_CLUSTER));
	return blk_read(&c->base, buf, COW_CLUSTER, cl * COW_CLUSTER);
}

/* @off/@len inside the partition, whose size is a cluster multiple (a
 * partition of whole 4 KiB units; checked at open). */
static int cow_rw(struct cow *c, bool write, const struct iovec *iov, int n, uint64_t off,
		  uint64_t len)
{
	uint8_t buf[COW_CLUSTER];
	uint64_t done = 0;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	while (done < len && r == 0) {
		uint64_t cl = (off + done) / COW_CLUSTER, in = (off + done) % COW_CLUSTER;
		size_t k = (size_t)MIN(len - done, COW_CLUSTER - in);

		if (!write) {
			r = cow_read_cluster(c, cl, buf);
			if (r == 0)
				iov_from_buf(iov, n, done, buf + in, k);
		} else {
			/* A partial cluster starts from its current contents. */
			if (k < COW_CLUSTER)
				r = cow_read_cluster(c, cl, buf);
			if (r == 0) {
				iov_to_buf(iov, n, done, buf + in, k);
				r = pwrite_full(c->fd, buf, COW_CLUSTER, (off_t)(cl * COW_CLUSTER));
			}
			if (r == 0)
				c->map[cl / 8] |= (uint8_t)(1u << (cl % 8));
		}
		done += k;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static void cow_free(struct cow *c)
{
	if (!c)
		return;
	blk_close(&c->base);
	if (c->fd >= 0)
		close(c->fd);
	free(c->map);
	free(c);
}

static int cow_open(struct cow **out, const char *path, uint64_t off, uint64_t len, char *why,
		    unsigned whylen)
{
	struct blk_open_opts o = { .ro = true, .offset = off, .length = len };
	struct cow *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	if (len % COW_CLUSTER) {
		snprintf(why, whylen, "%s: copy-on-write needs a partition of whole 4 KiB units", path);
		free(c);
		return -EINVAL;
	}
	if ((r = blk_open_file(&c->base, path, &o, why, whylen)) < 0) {
		free(c);
		return r;
	}
	c->map = calloc(1, (size_t)(len / COW_CLUSTER / 8 + 1));
	c->fd = memfd_create("polyvmm-cow", MFD_CLOEXEC);
	if (!c->map || c->fd < 0 || ftruncate(c->fd, (off_t)len) < 0) {
		r = c->fd < 0 || !c->map ? -ENOMEM : -errno;
		snprintf(why, whylen, "%s: copy-on-write overlay: %s", path, strerror(-r));
		cow_free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* --- the composed disk ---------------------------------------------------------------- */

static struct extent *find_extent(struct synth *s, uint64_t pos, uint64_t *span)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct extent *e = &s->ext[i];
		if (pos < e->start) {
			*span = e->start - pos;	/* a gap up to this extent */
			return NULL;
		}
		if (pos < e->start + e->len) {
			*span = e->start + e->len - pos;
			return e;
		}
	}
	*span = UINT64_MAX;
	return NULL;
}

static int synth_rw(struct blk *b, bool write, const struct iovec *iov, int n, uint64_t off)
{
	struct synth *s = b->priv;
	uint64_t len = (uint64_t)iov_total(iov, n), done = 0;
	struct iovec *sub = malloc(sizeof(*sub) * (size_t)(n > 0 ? n : 1));
	int r = 0;

	if (!sub)
		return -ENOMEM;
	while (done < len && r == 0) {
		uint64_t pos = off + done, span, k;
		struct extent *e = find_extent(s, pos, &span);
		int m;

		k = MIN(span, len - done);
		m = iov_sub(iov, n, done, k, sub, n);
		if (m < 0) {
			r = m;
			break;
		}
		if (!e) {
			/* Outside every partition: zeros, and no writes. */
			if (write) {
				log_guest("%s: write at byte %llu outside the partitions refused", b->desc,
					  (unsigned long long)pos);
				r = -EIO;
			} else {
				for (int i = 0; i < m; i++)
					memset(sub[i].iov_base, 0, sub[i].iov_len);
			}
		} else if (e->kind == EXT_MEM) {
			if (write) {
				log_guest("%s: write to the generated partition table refused", b->desc);
				r = -EIO;
			} else {
				iov_from_buf(sub, m, 0, e->mem + (pos - e->start), k);
			}
		} else if (e->kind == EXT_PART) {
			r = write ? blk_writev(&e->part, sub, m, pos - e->start)
				  : blk_readv(&e->part, sub, m, pos - e->start);
		} else {
			r = cow_rw(e->cow, write, sub, m, pos - e->start, k);
		}
		done += k;
	}
	free(sub);
	return r;
}

static int synth_readv(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return synth_rw(b, false, iov, n, off);
}

static int synth_writev(struct blk *b, const struct iovec *iov, int n, uint64_t off)
{
	return synth_rw(b, true, iov, n, off);
}

static int synth_flush(struct blk *b)
{
	struct synth *s = b->priv;
	int r = 0;

	for (unsigned i = 0; i < s->n; i++)
		if (s->ext[i].kind == EXT_PART && !s->ext[i].part.ro) {
			int k = blk_flush(&s->ext[i].part);
			if (k < 0)
				r = k;
		}
	return r;
}

static void synth_free(struct synth *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (s->ext[i].kind == EXT_PART)
			blk_close(&s->ext[i].part);
		else if (s->ext[i].kind == EXT_COW)
			cow_free(s->ext[i].cow);
	}
	free(s->head);
	free(s->tail);
	free(s);
}

static void synth_close(struct blk *b)
{
	synth_free(b->priv);
}

static const struct blk_ops synth_ops = {
	.readv = synth_readv,
	.writev = synth_writev,
	.flush = synth_flush,
	.close = synth_close,
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int synth_open(struct blk *b, const struct disk_spec *spec, char *why, unsigned whylen)
{
	struct blk_open_opts ro = { .ro = true };
	struct blk parent;
	struct gpt *g = calloc(1, sizeof(*g)), *out = calloc(1, sizeof(*out));
	struct synth *s = calloc(1, sizeof(*s));
	uint64_t size, hb, tb;
	unsigned ss;
	int r;

	memset(b, 0, sizeof(*b));
	if (!g || !out || !s) {
		free(g);
		free(out);
		free(s);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	r = blk_open_file(&parent, spec->path, &ro, why, whylen);
	if (r < 0)
		goto out_free;
	size = parent.size;
	ss = parent.lbs;
	r = gpt_read_blk(&parent, g, why, whylen);
	blk_close(&parent);
	if (r < 0)
		goto out_free;
	if (g->used_backup)
		log_warn("%s: primary GPT damaged, using the backup: %s", spec->path, why);

	/* The new table: the same disk, only the chosen entries. */
	*out = *g;
	out->nparts = 0;
	for (unsigned i = 0; i < spec->nparts; i++) {
		const struct gpt_part *p = gpt_find(g, spec->parts[i]);
		if (!p) {
			snprintf(why, whylen, "%s has no partition %u", spec->path, spec->parts[i]);
			r = -ENOENT;
			goto out_free;
		}
		out->parts[out->nparts++] = *p;
	}
	hb = gpt_head_bytes(ss);
	tb = gpt_tail_bytes(ss);
	s->head = calloc(1, hb);
	s->tail = calloc(1, tb);
	if (!s->head || !s->tail) {
		r = -ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto out_free;
	}
	r = gpt_build(out, size / ss, ss, s->head, hb, s->tail, tb);
	if (r < 0) {
		snprintf(why, whylen, "%s: cannot build the synthetic GPT: %s", spec->path, strerror(-r));
		goto out_free;
	}
	s->ext[s->n++] = (struct extent){ .start = 0, .len = hb, .kind = EXT_MEM, .mem = s->head };
	s->ext[s->n++] = (struct extent){ .start = size - tb, .len = tb, .kind = EXT_MEM, .mem = s->tail };
	for (unsigned i = 0; i < out->nparts; i++) {
		const struct gpt_part *p = &out->parts[i];
		struct extent *e = &s->ext[s->n];
		uint64_t off = p->first_lba * ss, len = (p->last_lba - p->first_lba + 1) * ss;

		*e = (struct extent){ .start = off, .len = len };
		if (spec->cow_mask & (1u << i)) {
			e->kind = EXT_COW;
			r = cow_open(&e->cow, spec->path, off, len, why, whylen);
		} else {
			struct blk_open_opts o = { .ro = spec->ro, .cache = spec->cache, .offset = off,
						   .length = len };
			e->kind = EXT_PART;
			r = blk_open_file(&e->part, spec->path, &o, why, whylen);
		}
		if (r < 0)
			goto out_free;
		s->n++;
	}
	qsort(s->ext, s->n, sizeof(s->ext[0]), cmp_extent);

	b->ops = &synth_ops;
	b->priv = s;
	b->size = size;
	b->lbs = ss;
	b->pbs = ss;
	b->ro = spec->ro;
	if (spec->serial[0])
		snprintf(b->serial, sizeof(b->serial), "%s", spec->serial);
	else
		snprintf(b->serial, sizeof(b->serial), "synth%u", spec->parts[0]);
	snprintf(b->desc, sizeof(b->desc), "synth:%.80s", spec->path);
	for (unsigned i = 0; i < spec->nparts; i++) {
		size_t l = strlen(b->desc);
		snprintf(b->desc + l, sizeof(b->desc) - l, "%c%u%s", i ? '+' : ':', spec->parts[i],
			 spec->cow_mask & (1u << i) ? "(cow)" : "");
	}
	free(g);
	free(out);
	return 0;
out_free:
	synth_free(s);
	free(g);
	free(out);
	return r;
}
