#define LOG_MOD "detect"
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc/bls.h"
#include "disc/detect.h"
#include "disc/fat.h"
#include "disc/grubcfg.h"
#include "disc/imgprobe.h"
#include "disc/pe.h"
#include "disc/scan.h"
#include "util.h"

#define CFG_MAX		(1u << 20)	/* a config file read whole */
#define LOADER_MAX	(64u << 20)	/* a loader compared byte for byte */
#define WALK_DEPTH	3
#define WALK_BUDGET	4000

/* --- small helpers ---------------------------------------------------------------- */
static void backslashes(char *dst, size_t len, const char *path)
{
	snprintf(dst, len, "%s%s", path[0] == '/' || path[0] == '\\' ? "" : "\\", path);
	for (char *c = dst; *c; c++)
		if (*c == '/')
			*c = '\\';
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Copies what fits of @src (a cut never splits a UTF-8 sequence). */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (!len)
		return;
	if (n >= len) {
		n = len - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	if (n)
		memcpy(dst, src, n);
	dst[n] = 0;
}

static void join3(char *dst, size_t len, const char *a, const char *b, const char *c)
{
	size_t n;

	copy_str(dst, len, a);
	n = strlen(dst);
	copy_str(dst + n, len - n, b);
	n = strlen(dst);
	copy_str(dst + n, len - n, c);
}

static const char *part_where(const struct sc_part *p, char *buf, size_t len)
{
	join3(buf, len, p->disk->name, " partition ", "");
	snprintf(buf + strlen(buf), len - strlen(buf), "%u", p->num);
	return buf;
}

/* Same bytes? Both files are read whole, up to LOADER_MAX. */
static bool same_file(struct scan *s, struct sc_part *pa, const char *a, struct sc_part *pb,
		      const char *b)
{
	char *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;
	uint64_t sa = 0, sb = 0;
	bool same = false;

	if (sc_stat(s, pa, a, &sa) != 1 || sc_stat(s, pb, b, &sb) != 1 || sa != sb)
		return false;
	if (sc_read_file(s, pa, a, LOADER_MAX, &da, &la) == 0 &&
	    sc_read_file(s, pb, b, LOADER_MAX, &db, &lb) == 0)
		same = la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return same;
}

/* --- Linux: root partition, os-release, fstab ------------------------------------- */

/* The value of @key= in a kernel command line (the last one wins, as in the kernel). */
static bool cmdline_get(const char *cmdline, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	bool found = false;
	const char *c = cmdline;

	while (*c) {
		const char *w;
		size_t n;

		while (*c == ' ' || *c == '\t')
			c++;
		w = c;
		if (*c == '"') {	/* "key=va lue" */
			w = ++c;
			while (*c && *c != '"')
				c++;
		} else {
			while (*c && *c != ' ' && *c != '\t')
				c++;
		}
		n = (size_t)(c - w);
		if (*c == '"')
			c++;
		if (n > kl && strncmp(w, key, kl) == 0 && w[kl] == '=') {
			snprintf(out, len, "%.*s", (int)(n - kl - 1), w + kl + 1);
			found = true;
		}
	}
	return found;
}

static void read_fstab(struct scan *s, struct sc_os *os, struct sc_part *root)
{
	char *data, *line, *save = NULL, where[64];
	size_t len;
	unsigned lineno = 0;

	if (sc_read_file(s, root, "/etc/fstab", CFG_MAX, &data, &len) < 0)
		return;
	part_where(root, where, sizeof(where));
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char spec[160], mp[128], type[32], opts[256];
		struct sc_part *p;
		const char *role;

		lineno++;
		while (isspace((unsigned char)*line))
			line++;
		if (!*line || *line == '#')
			continue;
		opts[0] = 0;
		if (sscanf(line, "%159s %127s %31s %255s", spec, mp, type, opts) < 3)
			continue;
		if (strstr(opts, "noauto") || strcmp(type, "proc") == 0 || strcmp(type, "tmpfs") == 0)
			continue;
		if (strncmp(spec, "UUID=", 5) != 0 && strncmp(spec, "PARTUUID=", 9) != 0 &&
		    strncmp(spec, "LABEL=", 6) != 0 && strncmp(spec, "PARTLABEL=", 10) != 0 &&
		    strncmp(spec, "/dev/", 5) != 0)
			continue;
		p = scan_resolve_spec(s, spec);
		if (!p) {
			warn_add(&os->warn, "%s /etc/fstab:%u: %s (%s) is on no disk found", where, lineno,
				 spec, mp);
			continue;
		}
		if (strcmp(type, "swap") == 0)
			role = "swap";
		else if (strcmp(mp, "/") == 0)
			role = "root";
		else if (strcmp(mp, "/boot") == 0)
			role = "boot";
		else if (strcmp(mp, "/boot/efi") == 0 || strcmp(mp, "/efi") == 0)
			role = "esp";
		else if (strcmp(mp, "/home") == 0)
			role = "home";
		else
			role = "data";
		scan_need(os, NULL, p, role, strcmp(type, "swap") == 0 ? "" : mp);
	}
	free(data);
}

/* os-release of a mounted root, into @label; false if there is none. */
static bool read_osrel(struct scan *s, struct sc_part *root, struct osrel *rel)
{
	char *data;
	size_t len;

	if (sc_read_file(s, root, "/etc/os-release", 65536, &data, &len) < 0 &&
	    sc_read_file(s, root, "/usr/lib/os-release", 65536, &data, &len) < 0)
		return false;
	osrel_parse(data, len, rel);
	free(data);
	return true;
}

static void osrel_label(const struct osrel *rel, char *out, size_t len)
{
	if (rel->pretty_name[0])
		copy_str(out, len, rel->pretty_name);
	else if (rel->name[0])
		join3(out, len, rel->name, rel->version[0] ? " " : "", rel->version);
	else
		copy_str(out, len, rel->id);
}

/*
 * Resolves root= of @e, mounts the root (with rootflags=subvol=), and adds
 * what the OS needs. Sets @label from os-release when it is still empty.
 */
static void inspect_linux(struct scan *s, struct sc_os *os, struct sc_entry *e, bool is_default)
{
	char spec[160], flags[160], *sv;
	struct sc_part *root;
	struct osrel rel;

	if (!cmdline_get(e->cmdline, "root", spec, sizeof(spec))) {
		if (is_default)
			warn_add(&os->warn, "'%s': no root= on the kernel command line", e->title);
		return;
	}
	root = scan_resolve_spec(s, spec);
	if (!root) {
		if (is_default && strncmp(spec, "/dev/", 5) == 0 && strncmp(spec, "/dev/disk/", 10) != 0)
			warn_add(&os->warn, "'%s': root=%s names a kernel device, which depends on probe order: the root partition is not known",
				 e->title, spec);
		else if (is_default)
			warn_add(&os->warn, "'%s': root=%s is on no disk found", e->title, spec);
		return;
	}
	e->root = root;
	scan_need(os, NULL, root, "root", "/");
	if (!is_default)
		return;
	if (root->fs.type == FS_BTRFS && cmdline_get(e->cmdline, "rootflags", flags, sizeof(flags)) &&
	    (sv = strstr(flags, "subvol="))) {
		char sub[64];

		snprintf(sub, sizeof(sub), "%.*s", (int)strcspn(sv + 7, ","), sv + 7);
		if (scan_remount_subvol(s, root, sub) < 0) {
			warn_add(&os->warn, "'%s': rootflags=subvol=%s: no such subvolume; the top of the filesystem is read instead",
				 e->title, sub);
			scan_remount_subvol(s, root, NULL);
		}
	}
	memset(&rel, 0, sizeof(rel));
	if (read_osrel(s, root, &rel) && !os->label[0])
		osrel_label(&rel, os->label, sizeof(os->label));
	read_fstab(s, os, root);
}

static struct sc_entry *add_entry(struct sc_os *os)
{
	struct sc_entry *e;

	if (os->nentries == SCAN_MAX_ENTRIES) {
		os->entries_dropped++;
		return NULL;
	}
	e = &os->entries[os->nentries++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* After entries are in: kernel partitions, roots, label, kexec choice. */
static void finish_linux(struct scan *s, struct sc_os *os, int def)
{
	if (def < 0 || (unsigned)def >= os->nentries)
		def = os->nentries ? 0 : -1;
	/* the default first, so its root and os-release decide the label */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < os->nentries; i++) {
			struct sc_entry *e = &os->entries[i];
			bool is_def = (int)i == def;

			if (is_def != (pass == 0))
				continue;
			e->is_default = is_def;
			if (strcmp(e->kind, "linux") != 0 && strcmp(e->kind, "uki") != 0)
				continue;
			inspect_linux(s, os, e, is_def);
			/* a separate /boot (the root's own is already "root") */
			if (e->kpart && e->kpart != os->esp)
				scan_need(os, NULL, e->kpart, "boot", "");
		}
	if (def >= 0 && (strcmp(os->entries[def].kind, "linux") == 0 || strcmp(os->entries[def].kind, "uki") == 0) &&
	    os->entries[def].kpart)
		os->kexec = def;
	/* no root with an os-release: the one next to the kernel, then the title */
	if (!os->label[0] && def >= 0 && os->entries[def].kpart && os->entries[def].kpart != os->esp) {
		struct osrel rel;

		memset(&rel, 0, sizeof(rel));
		if (read_osrel(s, os->entries[def].kpart, &rel))
			osrel_label(&rel, os->label, sizeof(os->label));
	}
	if (!os->label[0] && def >= 0)
		copy_str(os->label, sizeof(os->label), os->entries[def].title);
}

/* --- GRUB ---------------------------------------------------------------------------- */
/*
 * A config built into the GRUB image (grub-mkimage -c, grub-mkstandalone,
 * Debian's monolithic grubx64.efi): the "mods" section of the PE holds a
 * struct grub_module_info ("mimg", offset, size) and objects {type, size}:
 * 1 a memdisk (a FAT or tar image GRUB shows as (memdisk)), 2 the config,
 * 3 the prefix. The evaluator reads the config as the virtual file
 * <loader dir>/<loader>#config on the ESP, so that $root and $prefix start
 * as GRUB's do, and (memdisk) is read with fat.h.
 */
struct grub_embed {
	char vpath[SCAN_PATH_MAX];	/* the virtual file */
	char *config;
	size_t config_len;
	uint8_t *memdisk;
	size_t memdisk_len;
	struct vol_mem mdmem;
	struct fat *mdfat;
};

struct grub_ctx {
	struct scan *s;
	struct sc_disk *boot;	/* the disk GRUB starts from is hd0 */
	struct sc_part *start;
	struct grub_embed *emb;
};

static unsigned disk_index(struct grub_ctx *g, struct sc_disk *d)
{
	unsigned i, bi = 0;

	for (i = 0; i < g->s->ndisks; i++)
		if (g->s->disks[i] == g->boot)
			bi = i;
	for (i = 0; i < g->s->ndisks; i++)
		if (g->s->disks[i] == d)
			break;
	if (d == g->boot)
		return 0;
	return i < bi ? i + 1 : i;
}

static void grub_dev_name(struct grub_ctx *g, struct sc_part *p, char *dev, size_t len)
{
	snprintf(dev, len, "hd%u,%s%u", disk_index(g, p->disk),
		 strcmp(p->disk->table, "gpt") == 0 ? "gpt" : "msdos", p->num);
}

static struct sc_part *grub_dev_part(struct grub_ctx *g, const char *dev)
{
	unsigned hd, num;
	char tbl[8];

	if (sscanf(dev, "hd%u,%7[a-z]%u", &hd, tbl, &num) != 3 &&
	    (tbl[0] = 0, sscanf(dev, "hd%u,%u", &hd, &num) != 2))
		return NULL;
	for (unsigned i = 0; i < g->s->ndisks; i++) {
		struct sc_disk *d = g->s->disks[i];

		if (disk_index(g, d) != hd)
			continue;
		for (unsigned j = 0; j < d->nparts; j++)
			if (d->parts[j].num == num)
				return &d->parts[j];
	}
	return NULL;
}

static int gops_search(void *ctx, char kind, const char *key, char *dev, size_t devlen)
{
	struct grub_ctx *g = ctx;
	struct sc_part *p = NULL;

	if (kind == 'u')
		p = scan_find_fs_uuid(g->s, key);
	else if (kind == 'l')
		p = scan_find_fs_label(g->s, key);
	else if (kind == 'f') {
		/* GRUB looks on every partition; so do we, on the readable ones */
		for (unsigned i = 0; i < g->s->ndisks && !p; i++)
			for (unsigned j = 0; j < g->s->disks[i]->nparts && !p; j++) {
				struct sc_part *q = &g->s->disks[i]->parts[j];

				if (q->fs.type != FS_UNKNOWN && sc_stat(g->s, q, key, NULL) == 1)
					p = q;
			}
	}
	if (!p)
		return -ENOENT;
	grub_dev_name(g, p, dev, devlen);
	return 0;
}

static bool same_path(const char *a, const char *b);

static int dup_buf(const void *src, size_t n, size_t max, char **data, size_t *len)
{
	char *d;

	if (n > max)
		return -EFBIG;
	d = malloc(n + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, src, n);
	d[n] = 0;
	*data = d;
	*len = n;
	return 0;
}

static int gops_read(void *ctx, const char *dev, const char *path, size_t max, char **data,
		     size_t *len)
{
	struct grub_ctx *g = ctx;
	struct sc_part *p = grub_dev_part(g, dev);

	if (g->emb && strcmp(dev, "memdisk") == 0)
		return g->emb->mdfat ? fat_read_file(g->emb->mdfat, path, max, data, len) : -ENOENT;
	if (g->emb && p == g->start && same_path(path, g->emb->vpath))
		return dup_buf(g->emb->config, g->emb->config_len, max, data, len);

	return p ? sc_read_file(g->s, p, path, max, data, len) : -ENODEV;
}

struct gl_ctx {
	int (*cb)(void *cbctx, const char *name);
	void *cbctx;
};

static int gl_cb(void *ctx, const char *name, bool dir, uint64_t size)
{
	struct gl_ctx *c = ctx;

	return dir ? 0 : c->cb(c->cbctx, name);
}

static int md_list_cb(void *ctx, const char *name, const struct fat_stat *st)
{
	struct gl_ctx *c = ctx;

	return st->dir ? 0 : c->cb(c->cbctx, name);
}

static int gops_list(void *ctx, const char *dev, const char *path,
		     int (*cb)(void *cbctx, const char *name), void *cbctx)
{
	struct grub_ctx *g = ctx;
	struct sc_part *p = grub_dev_part(g, dev);
	struct gl_ctx c = { cb, cbctx };

	if (g->emb && strcmp(dev, "memdisk") == 0)
		return g->emb->mdfat ? fat_list(g->emb->mdfat, path, md_list_cb, &c) : -ENOENT;
	return p ? sc_list(g->s, p, path, gl_cb, &c) : -ENODEV;
}

static int gops_stat(void *ctx, const char *dev, const char *path, uint64_t *size)
{
	struct grub_ctx *g = ctx;
	struct sc_part *p = grub_dev_part(g, dev);
	struct fat_stat st;
	int r;

	if (g->emb && strcmp(dev, "memdisk") == 0) {
		if (!g->emb->mdfat || fat_stat(g->emb->mdfat, path, &st) < 0)
			return 0;
		if (size)
			*size = st.size;
		return st.dir ? 2 : 1;
	}
	if (g->emb && p == g->start && same_path(path, g->emb->vpath)) {
		if (size)
			*size = g->emb->config_len;
		return 1;
	}
	if (!p)
		return 0;
	r = sc_stat(g->s, p, path, size);
	return r < 0 ? 0 : r;
}

static const struct grub_fs_ops gops = {
	.search = gops_search,
	.read_file = gops_read,
	.list_dir = gops_list,
	.stat = gops_stat,
};

static bool grub_seen(const struct sc_os *os, const struct grub_entry *ge, struct grub_ctx *g)
{
	const struct grub_file_ref *k = ge->kind == GRUB_ENTRY_CHAINLOADER ? &ge->chain : &ge->kernel;
	struct sc_part *kp = grub_dev_part(g, k->dev);

	for (unsigned i = 0; i < os->nentries; i++) {
		const struct sc_entry *e = &os->entries[i];

		if (strncmp(e->title, ge->title, sizeof(e->title) - 1) == 0 && e->kpart == kp &&
		    strncmp(e->kernel, k->path, sizeof(e->kernel) - 1) == 0 &&
		    strncmp(e->cmdline, ge->args, sizeof(e->cmdline) - 1) == 0)
			return true;
	}
	return false;
}

/* Evaluates the GRUB config @cfg on @start and fills @os's entries. */
static void grub_collect(struct scan *s, struct sc_os *os, struct sc_part *start, const char *cfg,
			 bool bios, struct grub_embed *emb)
{
	struct grub_fs_ops ops = gops;

	struct grub_ctx g = { s, start->disk, start, emb };
	struct grub_result *res = calloc(1, sizeof(*res));
	char dev[32], where[64];

	if (!res)
		return;
	grub_dev_name(&g, start, dev, sizeof(dev));
	backslashes(os->config, sizeof(os->config), cfg);
	part_where(start, where, sizeof(where));
	ops.platform = bios ? "pc" : "efi";
	if (grub_eval(&ops, &g, dev, cfg, res) < 0)
		warn_add(&os->warn, "%s %s: not readable", where, cfg);
	for (unsigned i = 0; i < res->nwarnings; i++)
		warn_add(&os->warn, "%s", res->warnings[i]);
	for (unsigned i = 0; i < res->nentries; i++) {
		const struct grub_entry *ge = &res->entries[i];
		struct sc_entry *e;

		if (ge->kind == GRUB_ENTRY_OTHER || ge->kind == GRUB_ENTRY_CONFIGFILE)
			continue;	/* firmware setup, reboot, a menu of another config... */
		if (grub_seen(os, ge, &g))
			continue;	/* the same entry again: a config read twice (source loops) */
		e = add_entry(os);
		if (!e)
			break;
		copy_str(e->title, sizeof(e->title), ge->title);
		if ((int)i == res->default_index)
			e->is_default = true;
		if (ge->kind == GRUB_ENTRY_CHAINLOADER) {
			copy_str(e->kind, sizeof(e->kind), "chain");
			e->kpart = grub_dev_part(&g, ge->chain.dev);
			copy_str(e->kernel, sizeof(e->kernel), ge->chain.path);
			continue;
		}
		copy_str(e->kind, sizeof(e->kind), ge->kind == GRUB_ENTRY_LINUX ? "linux" : "multiboot");
		e->kpart = grub_dev_part(&g, ge->kernel.dev);
		copy_str(e->kernel, sizeof(e->kernel), ge->kernel.path);
		copy_str(e->cmdline, sizeof(e->cmdline), ge->args);
		for (unsigned k = 0; k < ge->ninitrd && e->ninitrd < SCAN_MAX_INITRD; k++) {
			if (grub_dev_part(&g, ge->initrd[k].dev) != e->kpart)
				warn_add(&os->warn, "'%s': initrd %s is on another partition than the kernel",
					 e->title, ge->initrd[k].path);
			copy_str(e->initrd[e->ninitrd++], sizeof(e->initrd[0]), ge->initrd[k].path);
		}
		if (!e->kpart && e->kernel[0])
			warn_add(&os->warn, "'%s': the device of %s is not on any disk found", e->title,
				 e->kernel);
	}
	if (res->nentries == 0)
		warn_add(&os->warn, "%s %s: no menu entry found", where, cfg);
	int def = -1;

	for (unsigned i = 0; i < os->nentries; i++)
		if (os->entries[i].is_default)
			def = (int)i;
	if (def < 0) {
		/* GRUB's default is an entry we skipped (e.g. firmware setup) or none */
		for (unsigned i = 0; i < os->nentries && def < 0; i++)
			if (strcmp(os->entries[i].kind, "linux") == 0)
				def = (int)i;
	}
	finish_linux(s, os, def);
	free(res);
}

/* --- the ESP ----------------------------------------------------------------------- */
#define NAMES_MAX 256	/* entries of one directory looked at */

struct names {
	unsigned n;
	struct {
		char name[128];
		bool dir;
	} e[NAMES_MAX];
};

static int names_cb(void *ctx, const char *name, bool dir, uint64_t size)
{
	struct names *nm = ctx;

	if (nm->n < NAMES_MAX && strlen(name) < sizeof(nm->e[0].name)) {
		copy_str(nm->e[nm->n].name, sizeof(nm->e[0].name), name);
		nm->e[nm->n++].dir = dir;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	int c = strcasecmp(a, b);	/* name is the first member */

	return c ? c : strcmp(a, b);
}

/* The entries of directory @path, sorted, so that the inventory does not
 * depend on directory order. */
static void list_names(struct scan *s, struct sc_part *p, const char *path, struct names *nm)
{
	nm->n = 0;
	sc_list(s, p, path, names_cb, nm);
	qsort(nm->e, nm->n, sizeof(nm->e[0]), cmp_name);
}

static bool has_name(const struct names *nm, const char *name, bool dir, char *actual)
{
	for (unsigned i = 0; i < nm->n; i++)
		if (nm->e[i].dir == dir && strcasecmp(nm->e[i].name, name) == 0) {
			if (actual)
				strcpy(actual, nm->e[i].name);
			return true;
		}
	return false;
}

/* The loaders of one ESP, for the fallback comparison. */
struct esp_loaders {
	unsigned n;
	struct sc_os *os[16];
};

/* PE sections of a UKI: .osrel label and .cmdline. */
static bool read_uki(struct scan *s, struct sc_part *p, const char *path, char *label, size_t llen,
		     char *cmdline, size_t clen)
{
	struct sc_fvol fv;
	struct pe_info *pe = malloc(sizeof(*pe));
	char why[128], *data;
	size_t len;
	bool uki = false;

	if (!pe)
		return false;
	if (sc_file_vol(s, p, path, &fv) < 0) {
		free(pe);
		return false;
	}
	if (pe_parse(&fv.v, pe, why, sizeof(why)) == 0 && pe_is_uki(pe)) {
		const struct pe_section *sec;

		uki = true;
		sec = pe_find(pe, ".osrel");
		if (sec && label && pe_read_section(&fv.v, sec, 65536, &data, &len) == 0) {
			struct osrel rel;

			memset(&rel, 0, sizeof(rel));
			osrel_parse(data, len, &rel);
			osrel_label(&rel, label, llen);
			free(data);
		}
		sec = pe_find(pe, ".cmdline");
		if (sec && cmdline && pe_read_section(&fv.v, sec, 65536, &data, &len) == 0) {
			copy_str(cmdline, clen, data);
			/* trailing newline / NULs from the build */
			for (size_t n = strlen(cmdline); n && isspace((unsigned char)cmdline[n - 1]);)
				cmdline[--n] = 0;
			free(data);
		}
	}
	sc_file_vol_put(&fv);
	free(pe);
	return uki;
}

static void add_uki_entry(struct scan *s, struct sc_os *os, struct sc_part *esp, const char *file)
{
	struct sc_entry *e = add_entry(os);
	char path[SCAN_PATH_MAX];

	if (!e)
		return;
	snprintf(path, sizeof(path), "\\EFI\\Linux\\%s", file);
	copy_str(e->kind, sizeof(e->kind), "uki");
	e->kpart = esp;
	copy_str(e->kernel, sizeof(e->kernel), path);
	read_uki(s, esp, path, e->title, sizeof(e->title), e->cmdline, sizeof(e->cmdline));
	if (!e->title[0])
		copy_str(e->title, sizeof(e->title), file);
}

static void detect_windows(struct scan *s, struct sc_part *esp, struct esp_loaders *ld)
{
	const char *loader = "\\EFI\\Microsoft\\Boot\\bootmgfw.efi";
	struct sc_disk *d = esp->disk;
	struct sc_os *os;
	char where[64];

	if (sc_stat(s, esp, loader, NULL) != 1)
		return;
	os = scan_new_os(s, "windows", esp->id, loader);
	if (!os)
		return;
	copy_str(os->label, sizeof(os->label), "Windows");
	os->esp = esp;
	copy_str(os->loader, sizeof(os->loader), loader);
	scan_need(os, NULL, esp, "esp", "");
	if (sc_stat(s, esp, "\\EFI\\Microsoft\\Boot\\BCD", NULL) != 1)
		warn_add(&os->warn, "%s: \\EFI\\Microsoft\\Boot\\BCD is missing; Windows Boot Manager will not find Windows",
			 part_where(esp, where, sizeof(where)));
	/* Windows' partitions: those of its disk (BCD names them by disk
	 * signature and offset; reading BCD is future work). */
	for (unsigned i = 0; i < d->nparts; i++) {
		struct sc_part *p = &d->parts[i];

		part_where(p, where, sizeof(where));
		if (strcmp(p->type_name, "msr") == 0) {
			scan_need(os, NULL, p, "msr", "");
		} else if (strcmp(p->type_name, "windows-recovery") == 0) {
			scan_need(os, NULL, p, "recovery", "");
		} else if (p->fs.type == FS_BITLOCKER) {
			scan_need(os, NULL, p, "data", "BitLocker");
			warn_add(&os->warn, "%s is BitLocker-encrypted: inside a VM Windows asks for the recovery key (the TPM measurements differ), and no other OS can read it",
				 where);
		} else if (p->fs.type == FS_NTFS) {
			bool sys = p->ntfs_ok && (p->ntfs.has_windows_dir || p->ntfs.has_hiberfil ||
						  p->ntfs.has_pagefile || p->ntfs.has_bootmgr);

			scan_need(os, NULL, p, sys ? "system" : "data", p->fs.label);
			if (p->ntfs_ok && p->ntfs.hiber == NTFS_HIBER_HIBERNATED)
				warn_add(&os->warn, "%s (%s) is hibernated (hiberfil.sys: %s, Fast Startup or hibernation): Windows must resume it; no other OS may write it, and it is never offered read-write to another VM",
					 where, p->fs.label[0] ? p->fs.label : "NTFS", p->ntfs.hiber_sig);
			else if (p->ntfs_ok && p->ntfs.dirty)
				warn_add(&os->warn, "%s (%s) is marked dirty: Windows was not shut down cleanly; chkdsk will run",
					 where, p->fs.label[0] ? p->fs.label : "NTFS");
		}
	}
	if (ld->n < ARRAY_SIZE(ld->os))
		ld->os[ld->n++] = os;
}

static const char *const helper_efi[] = {
	"mmx64.efi", "fbx64.efi", "fwupdx64.efi", "shimx64.efi", "grubx64.efi", "bootx64.efi",
	"mmia32.efi", "fbia32.efi", "bootia32.efi", "shimia32.efi", "grubia32.efi",
};

static bool is_helper_efi(const char *n)
{
	for (size_t i = 0; i < ARRAY_SIZE(helper_efi); i++)
		if (strcasecmp(n, helper_efi[i]) == 0)
			return true;
	return false;
}

#define MIMG_MAGIC 0x676d696d	/* "mimg" */

static void embed_free(struct grub_embed *e)
{
	if (e->mdfat)
		fat_close(e->mdfat);
	free(e->config);
	free(e->memdisk);
}

/* The objects of the "mods" section @m (@n bytes). */
static int embed_parse(const uint8_t *m, size_t n, struct grub_embed *e)
{
	uint64_t off, size;

	if (n < 24 || get_le32(m) != MIMG_MAGIC)
		return -EINVAL;
	off = get_le64(m + 8);
	size = get_le64(m + 16);
	if (size > n)
		size = n;
	while (off + 8 <= size) {
		uint32_t type = get_le32(m + off), osz = get_le32(m + off + 4);

		if (osz < 8 || osz > size - off)
			break;
		if (type == 2 && !e->config) {
			size_t l = strnlen((const char *)m + off + 8, osz - 8);

			if (dup_buf(m + off + 8, l, CFG_MAX, &e->config, &e->config_len) < 0)
				return -ENOMEM;
		} else if (type == 1 && !e->memdisk) {
			e->memdisk = malloc(osz - 8);
			if (!e->memdisk)
				return -ENOMEM;
			memcpy(e->memdisk, m + off + 8, osz - 8);
			e->memdisk_len = osz - 8;
		}
		off += osz;
		off = (off + 3) & ~3ull;	/* objects are 4-byte aligned */
	}
	return e->config ? 0 : -ENOENT;
}

static void grub_embedded(struct scan *s, struct sc_os *os, struct sc_part *esp, const char *image)
{
	struct grub_embed emb;
	struct pe_info *pe = malloc(sizeof(*pe));
	const struct pe_section *sec;
	struct vol v;
	struct vol_mem vm;
	char *img = NULL, *mods = NULL, why[160], where[64];
	size_t len = 0, mlen = 0;
	int r = -ENOENT;

	memset(&emb, 0, sizeof(emb));
	part_where(esp, where, sizeof(where));
	if (pe && sc_read_file(s, esp, image, LOADER_MAX, &img, &len) == 0) {
		vol_from_mem(&v, &vm, img, len);
		if (pe_parse(&v, pe, why, sizeof(why)) == 0 && (sec = pe_find(pe, "mods")) &&
		    pe_read_section(&v, sec, LOADER_MAX, &mods, &mlen) == 0)
			r = embed_parse((const uint8_t *)mods, mlen, &emb);
	}
	free(mods);
	free(img);
	free(pe);
	if (r < 0) {
		backslashes(os->config, sizeof(os->config), image);
		warn_add(&os->warn, "%s %s: no grub.cfg next to it and no configuration built into it; menu entries not read",
			 where, os->config);
		embed_free(&emb);
		return;
	}
	if (emb.memdisk) {
		struct vol mv;

		vol_from_mem(&mv, &emb.mdmem, emb.memdisk, emb.memdisk_len);
		if (fat_open(&mv, &emb.mdfat, why, sizeof(why)) < 0)
			emb.mdfat = NULL;	/* a tar or squashfs memdisk: not read */
	}
	join3(emb.vpath, sizeof(emb.vpath), image, "#config", "");
	grub_collect(s, os, esp, emb.vpath, false, &emb);
	embed_free(&emb);
}

static void detect_grub(struct scan *s, struct sc_part *esp, const char *vendor,
			const struct names *files, struct esp_loaders *ld)
{
	char shim[64], grub[64], cfgname[64], loader[SCAN_PATH_MAX], cfg[SCAN_PATH_MAX];
	bool has_shim = has_name(files, "shimx64.efi", false, shim);
	bool has_grub = has_name(files, "grubx64.efi", false, grub);
	struct sc_os *os;

	if (!has_shim && !has_grub)
		return;
	snprintf(loader, sizeof(loader), "\\EFI\\%s\\%s", vendor, has_shim ? shim : grub);
	os = scan_new_os(s, "grub", esp->id, loader);
	if (!os)
		return;
	os->esp = esp;
	copy_str(os->loader, sizeof(os->loader), loader);
	scan_need(os, NULL, esp, "esp", "");
	if (has_shim && !has_grub)
		warn_add(&os->warn, "\\EFI\\%s has shimx64.efi but no grubx64.efi: shim will not find its second stage",
			 vendor);
	if (has_name(files, "grub.cfg", false, cfgname)) {
		snprintf(cfg, sizeof(cfg), "/EFI/%s/%s", vendor, cfgname);
		grub_collect(s, os, esp, cfg, false, NULL);
	} else if (has_grub) {
		/* the config is built into grubx64.efi */
		snprintf(cfg, sizeof(cfg), "/EFI/%s/%s", vendor, grub);
		grub_embedded(s, os, esp, cfg);
	}
	if (!os->label[0])
		snprintf(os->label, sizeof(os->label), "GRUB (%s)", vendor);
	if (ld->n < ARRAY_SIZE(ld->os))
		ld->os[ld->n++] = os;
}

struct bls_list {
	unsigned n;
	struct bls_entry e[SCAN_MAX_ENTRIES];
	unsigned dropped;
};

static int cmp_bls(const void *a, const void *b)
{
	return bls_compare(a, b);
}

static void read_bls_dir(struct scan *s, struct sc_part *p, struct bls_list *bl, struct sc_os *os)
{
	struct names nm;
	char path[SCAN_PATH_MAX], why[160], *data;
	size_t len;

	list_names(s, p, "/loader/entries", &nm);
	for (unsigned i = 0; i < nm.n; i++) {
		if (nm.e[i].dir || !ends_with_ci(nm.e[i].name, ".conf"))
			continue;
		if (bl->n == ARRAY_SIZE(bl->e)) {
			bl->dropped++;
			continue;
		}
		snprintf(path, sizeof(path), "/loader/entries/%s", nm.e[i].name);
		if (sc_read_file(s, p, path, 65536, &data, &len) < 0)
			continue;
		struct bls_entry *e = &bl->e[bl->n];

		memset(e, 0, sizeof(*e));
		why[0] = 0;
		if (bls_parse(data, len, e, why, sizeof(why)) == 0) {
			copy_str(e->filename, sizeof(e->filename), nm.e[i].name);
			bl->n++;
		} else {
			warn_add(&os->warn, "%s partition %u %s: %s", p->disk->name, p->num, path,
				 why[0] ? why : "not a boot entry");
		}
		free(data);
	}
}

/* systemd-boot and its entries; false if it is not there. */
static bool detect_sdboot(struct scan *s, struct sc_part *esp, struct esp_loaders *ld,
			  const struct names *ukis)
{
	const char *loader = "\\EFI\\systemd\\systemd-bootx64.efi";
	struct bls_list *bl;
	struct sc_os *os;
	char *conf = NULL, def[128] = "";
	size_t len;
	int defi = -1;

	if (sc_stat(s, esp, loader, NULL) != 1)
		return false;
	os = scan_new_os(s, "systemd-boot", esp->id, loader);
	bl = calloc(1, sizeof(*bl));
	if (!os || !bl) {
		free(bl);
		return os != NULL;
	}
	os->esp = esp;
	copy_str(os->loader, sizeof(os->loader), loader);
	copy_str(os->config, sizeof(os->config), "\\loader\\loader.conf");
	scan_need(os, NULL, esp, "esp", "");
	if (sc_read_file(s, esp, "/loader/loader.conf", 65536, &conf, &len) == 0) {
		char *l, *save = NULL;

		/* the last "default" line wins */
		for (l = strtok_r(conf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			(void)sscanf(l, " default %127s", def);
		free(conf);
	}
	/* type #1 entries on the ESP and on XBOOTLDR partitions of the same disk */
	read_bls_dir(s, esp, bl, os);

	for (unsigned i = 0; i < esp->disk->nparts; i++)
		if (strcmp(esp->disk->parts[i].type_name, "xbootldr") == 0)
			read_bls_dir(s, &esp->disk->parts[i], bl, os);
	qsort(bl->e, bl->n, sizeof(bl->e[0]), cmp_bls);
	/* systemd-boot lists type #2 (UKIs) first, then type #1 */
	for (unsigned i = 0; i < ukis->n; i++) {
		add_uki_entry(s, os, esp, ukis->e[i].name);
		if (defi < 0 && def[0] && fnmatch(def, ukis->e[i].name, FNM_CASEFOLD) == 0)
			defi = (int)os->nentries - 1;
	}
	for (unsigned i = 0; i < bl->n; i++) {
		struct sc_entry *e = add_entry(os);
		const struct bls_entry *b = &bl->e[i];

		if (!e)
			break;
		copy_str(e->title, sizeof(e->title), b->title[0] ? b->title : b->filename);
		copy_str(e->kind, sizeof(e->kind), b->linux_path[0] ? "linux" : "chain");
		backslashes(e->kernel, sizeof(e->kernel), b->linux_path[0] ? b->linux_path : b->efi);
		/* paths are relative to the partition the entry was on: the ESP or an XBOOTLDR */
		e->kpart = esp;
		for (unsigned j = 0; j < esp->disk->nparts; j++) {
			struct sc_part *x = &esp->disk->parts[j];

			if (strcmp(x->type_name, "xbootldr") == 0 && sc_stat(s, esp, e->kernel, NULL) != 1 &&
			    sc_stat(s, x, e->kernel, NULL) == 1)
				e->kpart = x;
		}
		copy_str(e->cmdline, sizeof(e->cmdline), b->options);
		for (unsigned k = 0; k < b->ninitrd && e->ninitrd < SCAN_MAX_INITRD; k++)
			backslashes(e->initrd[e->ninitrd++], sizeof(e->initrd[0]), b->initrd[k]);
		if (defi < 0 && def[0] && fnmatch(def, b->filename, FNM_CASEFOLD) == 0)
			defi = (int)os->nentries - 1;
	}
	if (bl->dropped)
		warn_add(&os->warn, "more than %d boot entries; %u not read", SCAN_MAX_ENTRIES, bl->dropped);
	if (def[0] && defi < 0)
		warn_add(&os->warn, "\\loader\\loader.conf: default '%s' matches no entry; the first is used", def);
	finish_linux(s, os, defi);
	if (!os->label[0])
		copy_str(os->label, sizeof(os->label), "systemd-boot");
	free(bl);
	if (ld->n < ARRAY_SIZE(ld->os))
		ld->os[ld->n++] = os;
	return true;
}

static void detect_ukis(struct scan *s, struct sc_part *esp, const struct names *ukis,
			struct esp_loaders *ld)
{
	for (unsigned i = 0; i < ukis->n; i++) {
		char path[SCAN_PATH_MAX];
		struct sc_os *os;

		snprintf(path, sizeof(path), "\\EFI\\Linux\\%s", ukis->e[i].name);
		os = scan_new_os(s, "uki", esp->id, path);
		if (!os)
			return;
		os->esp = esp;
		copy_str(os->loader, sizeof(os->loader), path);
		scan_need(os, NULL, esp, "esp", "");
		add_uki_entry(s, os, esp, ukis->e[i].name);
		finish_linux(s, os, 0);
		if (ld->n < ARRAY_SIZE(ld->os))
			ld->os[ld->n++] = os;
	}
}

static void detect_other_loaders(struct scan *s, struct sc_part *esp, const char *vendor,
				 const struct names *files, struct esp_loaders *ld)
{
	for (unsigned i = 0; i < files->n; i++) {
		char path[SCAN_PATH_MAX];
		struct sc_os *os;

		if (files->e[i].dir || !ends_with_ci(files->e[i].name, ".efi") || is_helper_efi(files->e[i].name))
			continue;
		snprintf(path, sizeof(path), "\\EFI\\%s\\%s", vendor, files->e[i].name);
		os = scan_new_os(s, "efi-loader", esp->id, path);
		if (!os)
			return;
		os->esp = esp;
		copy_str(os->loader, sizeof(os->loader), path);
		snprintf(os->label, sizeof(os->label), "%s (%s)", vendor, files->e[i].name);
		read_uki(s, esp, path, os->label, sizeof(os->label), NULL, 0);
		scan_need(os, NULL, esp, "esp", "");
		if (ld->n < ARRAY_SIZE(ld->os))
			ld->os[ld->n++] = os;
		return;		/* one per vendor directory */
	}
}

/* A Linux kernel with its EFI stub ("HdrS" at 0x202): on a polyboot ESP, polyboot itself. */
static bool is_linux_kernel(struct scan *s, struct sc_part *p, const char *path)
{
	struct sc_fvol fv;
	uint8_t hdr[4];
	bool yes = false;

	if (sc_file_vol(s, p, path, &fv) < 0)
		return false;
	yes = vol_read(&fv.v, 0x202, hdr, 4) == 0 && memcmp(hdr, "HdrS", 4) == 0;
	sc_file_vol_put(&fv);
	return yes;
}

static void detect_fallback(struct scan *s, struct sc_part *esp, struct esp_loaders *ld)
{
	char actual[64], path[SCAN_PATH_MAX], where[64];
	struct names boot;
	struct sc_os *os;

	list_names(s, esp, "/EFI/BOOT", &boot);
	if (!has_name(&boot, "BOOTX64.EFI", false, actual))
		return;
	snprintf(path, sizeof(path), "\\EFI\\BOOT\\%s", actual);
	if (esp->polyboot_esp && is_linux_kernel(s, esp, path))
		return;		/* polyboot itself */
	for (unsigned i = 0; i < ld->n; i++)
		if (same_file(s, esp, path, ld->os[i]->esp, ld->os[i]->loader)) {
			ld->os[i]->fallback = true;
			return;
		}
	os = scan_new_os(s, "efi-fallback", esp->id, path);
	if (!os)
		return;
	os->esp = esp;
	copy_str(os->loader, sizeof(os->loader), path);
	if (!read_uki(s, esp, path, os->label, sizeof(os->label), NULL, 0) || !os->label[0])
		snprintf(os->label, sizeof(os->label), "EFI fallback loader on %s",
			 part_where(esp, where, sizeof(where)));
	scan_need(os, NULL, esp, "esp", "");
}

static void detect_esp(struct scan *s, struct sc_part *esp)
{
	struct names *efi = malloc(sizeof(*efi)), *files = malloc(sizeof(*files)),
		     *ukis = malloc(sizeof(*ukis));
	struct esp_loaders ld = { 0 };
	char ms[64], sd[64], lx[64];
	bool has_sdboot;

	if (!efi || !files || !ukis)
		goto out;
	list_names(s, esp, "/EFI", efi);
	memset(ukis, 0, sizeof(*ukis));
	if (has_name(efi, "Linux", true, lx)) {
		struct names all;
		char dir[80];

		snprintf(dir, sizeof(dir), "/EFI/%s", lx);
		list_names(s, esp, dir, &all);
		for (unsigned i = 0; i < all.n; i++)
			if (!all.e[i].dir && ends_with_ci(all.e[i].name, ".efi") && ukis->n < NAMES_MAX) {
				copy_str(ukis->e[ukis->n].name, sizeof(ukis->e[0].name), all.e[i].name);
				ukis->n++;
			}
	}
	esp->polyboot_esp = has_name(efi, "polyboot", true, NULL);
	if (has_name(efi, "Microsoft", true, ms))
		detect_windows(s, esp, &ld);
	has_sdboot = has_name(efi, "systemd", true, sd) && detect_sdboot(s, esp, &ld, ukis);
	if (!has_sdboot)	/* UKIs with no boot menu to list them are OSes of their own */
		detect_ukis(s, esp, ukis, &ld);
	for (unsigned i = 0; i < efi->n; i++) {
		const char *v = efi->e[i].name;
		char dir[80];

		if (!efi->e[i].dir || !strcasecmp(v, "BOOT") || !strcasecmp(v, "Microsoft") ||
		    !strcasecmp(v, "Linux") || !strcasecmp(v, "systemd") || !strcasecmp(v, "polyboot"))
			continue;
		snprintf(dir, sizeof(dir), "/EFI/%s", v);
		list_names(s, esp, dir, files);
		if (has_name(files, "shimx64.efi", false, NULL) || has_name(files, "grubx64.efi", false, NULL))
			detect_grub(s, esp, v, files, &ld);
		else
			detect_other_loaders(s, esp, v, files, &ld);
	}
	detect_fallback(s, esp, &ld);
out:
	free(efi);
	free(files);
	free(ukis);
}

/* --- macOS ---------------------------------------------------------------------------- */
static void detect_macos(struct scan *s, struct sc_part *p)
{
	struct sc_os *os;

	if (strcmp(p->type_name, "apple-apfs") != 0 && strcmp(p->type_name, "apple-hfs") != 0)
		return;
	os = scan_new_os(s, "macos", p->id, "");
	if (!os)
		return;
	copy_str(os->label, sizeof(os->label), p->name[0] ? p->name : "macOS");
	scan_need(os, NULL, p, "system", "");
	warn_add(&os->warn, "macOS is detected only: its licence and its firmware needs rule out running it in a polyboot VM");
}

/* --- legacy BIOS ------------------------------------------------------------------------ */
static struct sc_part *find_part_with(struct scan *s, struct sc_disk *d, const char *const *paths,
				      size_t npaths, const char **which)
{
	/* the active partition first, then the others in table order */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < d->nparts; i++) {
			struct sc_part *p = &d->parts[i];

			if (p->active != (pass == 0) || p->extended || p->fs.type == FS_UNKNOWN)
				continue;
			for (size_t k = 0; k < npaths; k++)
				if (sc_stat(s, p, paths[k], NULL) == 1) {
					*which = paths[k];
					return p;
				}
		}
	return NULL;
}

static struct sc_part *active_part(struct sc_disk *d)
{
	for (unsigned i = 0; i < d->nparts; i++)
		if (d->parts[i].active)
			return &d->parts[i];
	return NULL;
}

static void detect_bios(struct scan *s, struct sc_disk *d)
{
	static const char *const grub_cfgs[] = { "/boot/grub/grub.cfg", "/grub/grub.cfg", "/boot/grub2/grub.cfg", "/grub2/grub.cfg" };
	static const char *const menu_lsts[] = { "/boot/grub/menu.lst", "/grub/menu.lst", "/boot/grub/grub.conf" };
	static const char *const sl_cfgs[] = { "/boot/syslinux/syslinux.cfg", "/syslinux/syslinux.cfg", "/syslinux.cfg",
					       "/boot/extlinux/extlinux.conf", "/extlinux/extlinux.conf", "/extlinux.conf" };
	const char *which = NULL;
	struct sc_part *p, *act;
	struct sc_os *os;
	uint8_t sec[512];
	struct osrel rel;

	switch (d->boot.kind) {
	case BOOTCODE_GRUB2:
		os = scan_new_os(s, "bios-grub2", d->id, "");
		if (!os)
			return;
		os->disk = d;
		scan_need(os, d, NULL, "disk", "MBR boot code");
		if (pread_full(d->fd, sec, 512, (off_t)(d->boot.grub_core_lba * d->sector)) < 0 ||
		    d->boot.grub_core_lba * d->sector >= d->size || !bootcode_is_grub_core(sec))
			warn_add(&os->warn, "%s: GRUB's boot.img loads core.img from LBA %llu, which holds no core.img: this disk will not boot",
				 d->name, (unsigned long long)d->boot.grub_core_lba);
		for (unsigned i = 0; i < d->nparts; i++) {
			struct sc_part *q = &d->parts[i];
			uint64_t lba = d->boot.grub_core_lba * d->sector;

			if (strcmp(q->type_name, "bios-boot") == 0) {
				scan_need(os, NULL, q, "bios-boot", "core.img");
				if (lba < q->start || lba >= q->start + q->size)
					warn_add(&os->warn, "%s: core.img (LBA %llu) is outside the BIOS boot partition",
						 d->name, (unsigned long long)d->boot.grub_core_lba);
			}
		}
		p = find_part_with(s, d, grub_cfgs, ARRAY_SIZE(grub_cfgs), &which);
		if (!p) {
			warn_add(&os->warn, "%s: no partition of this disk holds GRUB's grub.cfg (its /boot may be on another disk)",
				 d->name);
			snprintf(os->label, sizeof(os->label), "GRUB (BIOS) on %s", d->name);
			return;
		}
		grub_collect(s, os, p, which, true, NULL);
		/* GRUB's own files are on @p (the root's role, when it is the root, stays) */
		scan_need(os, NULL, p, "boot", "");
		return;
	case BOOTCODE_GRUB_LEGACY:
		os = scan_new_os(s, "bios-grub-legacy", d->id, "");
		if (!os)
			return;
		os->disk = d;
		scan_need(os, d, NULL, "disk", "MBR boot code");
		p = find_part_with(s, d, menu_lsts, ARRAY_SIZE(menu_lsts), &which);
		if (p) {
			scan_need(os, NULL, p, "boot", which);
			memset(&rel, 0, sizeof(rel));
			if (read_osrel(s, p, &rel))
				osrel_label(&rel, os->label, sizeof(os->label));
			backslashes(os->config, sizeof(os->config), which);
		}
		if (!os->label[0])
			snprintf(os->label, sizeof(os->label), "GRUB legacy on %s", d->name);
		warn_add(&os->warn, "GRUB legacy menu.lst is not parsed; the OS boots in a VM, not natively");
		return;
	case BOOTCODE_WINDOWS_NT5:
	case BOOTCODE_WINDOWS_NT6:
	case BOOTCODE_SYSLINUX:
	case BOOTCODE_SYSLINUX_GPT:
	case BOOTCODE_UNKNOWN:
		break;
	default:
		return;
	}
	act = active_part(d);
	if (d->boot.kind == BOOTCODE_SYSLINUX || d->boot.kind == BOOTCODE_SYSLINUX_GPT) {
		p = find_part_with(s, d, sl_cfgs, ARRAY_SIZE(sl_cfgs), &which);
		os = scan_new_os(s, "bios-syslinux", d->id, "");
		if (!os)
			return;
		os->disk = d;
		scan_need(os, d, NULL, "disk", "MBR boot code");
		if (p) {
			scan_need(os, NULL, p, "boot", which);
			backslashes(os->config, sizeof(os->config), which);
			memset(&rel, 0, sizeof(rel));
			if (read_osrel(s, p, &rel))
				osrel_label(&rel, os->label, sizeof(os->label));
		}
		if (!os->label[0])
			snprintf(os->label, sizeof(os->label), "syslinux on %s", d->name);
		return;
	}
	if (!act || act->extended)
		return;		/* code that chain-loads nothing we can name */
	if (pread_full(d->fd, sec, 512, (off_t)act->start) < 0 || !bootcode_vbr_bootable(sec))
		return;
	bool win = (d->boot.kind == BOOTCODE_WINDOWS_NT6 || d->boot.kind == BOOTCODE_WINDOWS_NT5) &&
		   act->fs.type == FS_NTFS;

	os = scan_new_os(s, win ? "bios-windows" : "bios-other", d->id, "");
	if (!os)
		return;
	os->disk = d;
	scan_need(os, d, NULL, "disk", "MBR boot code");
	scan_need(os, NULL, act, win ? "system" : "boot", "active");
	if (win) {
		copy_str(os->label, sizeof(os->label), "Windows (BIOS)");
		if (!act->ntfs_ok || !act->ntfs.has_bootmgr)
			warn_add(&os->warn, "%s partition %u is active but holds no bootmgr", d->name, act->num);
		for (unsigned i = 0; i < d->nparts; i++)
			if (d->parts[i].fs.type == FS_NTFS && &d->parts[i] != act)
				scan_need(os, NULL, &d->parts[i], "data", d->parts[i].fs.label);
	} else {
		snprintf(os->label, sizeof(os->label), "BIOS boot sector of %s partition %u (%s)", d->name,
			 act->num, bootcode_name(d->boot.kind));
	}
}

/* --- image files --------------------------------------------------------------------- */
static const char *const image_ext[] = { ".img", ".raw", ".vhd", ".vhdx", ".qcow2", ".iso" };

struct walk {
	struct scan *s;
	struct sc_part *p;
	unsigned budget;
	unsigned depth;
	char dir[SCAN_PATH_MAX];
};

static void probe_image(struct scan *s, struct sc_part *p, const char *path)
{
	struct sc_fvol fv;
	struct img_info info;
	char why[160], where[64], disp[SCAN_PATH_MAX];
	const char *fmt = NULL, *base;
	struct sc_os *os;

	if (sc_file_vol(s, p, path, &fv) < 0)
		return;
	memset(&info, 0, sizeof(info));
	why[0] = 0;
	img_probe(&fv.v, &info, why, sizeof(why));
	sc_file_vol_put(&fv);
	switch (info.kind) {
	case IMG_RAW: fmt = "raw"; break;
	case IMG_VHD_FIXED: fmt = "vhd-fixed"; break;
	case IMG_VHD_DYNAMIC: fmt = "vhd-dynamic"; break;
	case IMG_VHD_DIFF: fmt = "vhd-differencing"; break;
	case IMG_VHDX: fmt = "vhdx"; break;
	case IMG_QCOW: fmt = "qcow"; break;
	case IMG_QCOW2: fmt = "qcow2"; break;
	case IMG_ISO: fmt = "iso"; break;
	default: return;	/* not an image: a file that only has the name */
	}
	os = scan_new_os(s, info.kind == IMG_ISO ? "iso" : "disk-image", p->id, path);
	if (!os)
		return;
	backslashes(disp, sizeof(disp), path);
	for (char *c = disp; *c; c++)
		if (*c == '\\')
			*c = '/';
	copy_str(os->loader, sizeof(os->loader), disp);
	os->image_part = p;
	copy_str(os->image_format, sizeof(os->image_format), fmt);
	os->image_size = info.virtual_size;
	base = strrchr(disp, '/');
	base = base ? base + 1 : disp;
	if (info.kind == IMG_ISO)
		join3(os->label, sizeof(os->label), info.iso_volume_id[0] ? info.iso_volume_id : base,
		      info.iso_volume_id[0] ? " - " : "", info.iso_volume_id[0] ? base : "");
	else
		copy_str(os->label, sizeof(os->label), base);
	if (info.kind == IMG_ISO)
		copy_str(os->firmware, sizeof(os->firmware), info.eltorito_efi ? "uefi" : info.eltorito_bios ? "bios" : "none");
	else if (info.kind == IMG_RAW || info.kind == IMG_VHD_FIXED)
		copy_str(os->firmware, sizeof(os->firmware), info.has_esp ? "uefi" : strcmp(info.table, "mbr") == 0 ? "bios" : "none");
	else
		copy_str(os->firmware, sizeof(os->firmware), "unknown");
	scan_need(os, NULL, p, "image", disp);
	part_where(p, where, sizeof(where));
	if (info.kind == IMG_ISO && !info.eltorito)
		warn_add(&os->warn, "%s %s: an ISO 9660 image with no El Torito boot record: not bootable", where, disp);
	if (info.kind != IMG_ISO && info.kind != IMG_RAW && info.kind != IMG_VHD_FIXED)
		warn_add(&os->warn, "%s %s: %s images are detected only; polyvmm boots raw images and fixed VHDs", where, disp, fmt);
	if ((info.kind == IMG_RAW || info.kind == IMG_VHD_FIXED) && !info.table[0])
		warn_add(&os->warn, "%s %s: no partition table inside", where, disp);
	if (why[0])
		warn_add(&os->warn, "%s %s: %s", where, disp, why);
}

static bool skip_dir(const char *n)
{
	static const char *const skip[] = { "proc", "sys", "dev", "run", "usr", "etc", "boot", "bin", "sbin",
					    "lib", "lib64", "lib32", "snap", "tmp", "EFI", "Windows",
					    "Program Files", "Program Files (x86)", "ProgramData",
					    "System Volume Information", "$Recycle.Bin", "lost+found", "nix" };

	if (n[0] == '.')
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strcasecmp(n, skip[i]) == 0)
			return true;
	return false;
}

static void walk(struct walk *w)
{
	struct names *wn;
	char saved[SCAN_PATH_MAX];

	if (w->budget == 0)
		return;
	wn = malloc(sizeof(*wn));
	if (!wn)
		return;
	list_names(w->s, w->p, w->dir[0] ? w->dir : "/", wn);
	for (unsigned i = 0; i < wn->n && w->budget; i++, w->budget--) {
		char path[SCAN_PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", w->dir, wn->e[i].name) >= (int)sizeof(path))
			continue;
		if (!wn->e[i].dir) {
			for (size_t k = 0; k < ARRAY_SIZE(image_ext); k++)
				if (ends_with_ci(wn->e[i].name, image_ext[k]))
					probe_image(w->s, w->p, path);
			continue;
		}
		if (w->depth + 1 >= WALK_DEPTH || skip_dir(wn->e[i].name))
			continue;
		copy_str(saved, sizeof(saved), w->dir);
		copy_str(w->dir, sizeof(w->dir), path);
		w->depth++;
		walk(w);
		w->depth--;
		copy_str(w->dir, sizeof(w->dir), saved);
	}
	free(wn);
}

static void detect_images(struct scan *s, struct sc_part *p)
{
	struct walk w = { s, p, WALK_BUDGET, 0, "" };

	switch (p->fs.type) {
	case FS_VFAT:
	case FS_EXT2:
	case FS_EXT3:
	case FS_EXT4:
	case FS_BTRFS:
	case FS_XFS:
		break;
	default:
		return;
	}
	if (strcmp(p->type_name, "esp") == 0)
		return;		/* loaders live there, not images */
	walk(&w);
}

/* --- boot variables --------------------------------------------------------------- */
static bool same_path(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '/' ? '\\' : (char)tolower((unsigned char)*a);
		char y = *b == '/' ? '\\' : (char)tolower((unsigned char)*b);

		if (x != y)
			return false;
	}
	return *a == *b;
}

struct sc_os *detect_bootopt_os(struct scan *s, const struct efivars_opt *o)
{
	struct sc_part *p;

	if (o->bad || !o->lo.has_hd || !o->lo.file[0])
		return NULL;
	p = scan_find_part_guid(s, &o->lo.hd.part_guid);
	if (!p)
		return NULL;
	for (unsigned i = 0; i < s->noses; i++) {
		struct sc_os *os = &s->oses[i];

		if (os->esp == p && same_path(os->loader, o->lo.file))
			return os;
	}
	/* a UKI that is an entry of an OS (systemd-boot lists \EFI\Linux) */
	for (unsigned i = 0; i < s->noses; i++) {
		struct sc_os *os = &s->oses[i];

		for (unsigned j = 0; j < os->nentries; j++)
			if (os->esp == p && strcmp(os->entries[j].kind, "uki") == 0 &&
			    same_path(os->entries[j].kernel, o->lo.file))
				return os;
	}
	/* \EFI\BOOT\BOOTX64.EFI of an ESP whose fallback copies an OS's loader */
	for (unsigned i = 0; i < s->noses; i++) {
		struct sc_os *os = &s->oses[i];

		if (os->esp == p && os->fallback && same_path(o->lo.file, "\\EFI\\BOOT\\BOOTX64.EFI"))
			return os;
	}
	return NULL;
}

static void match_bootvars(struct scan *s)
{
	/* the first in BootOrder wins when two options start the same loader */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < s->ev.nopts; i++) {
			const struct efivars_opt *o = &s->ev.opts[i];
			struct sc_os *os;
			int pos = efivars_order_pos(&s->ev, o->num);

			if ((pos >= 0) != (pass == 0) || !(o->lo.attrs & LOAD_OPTION_ACTIVE))
				continue;
			os = detect_bootopt_os(s, o);
			if (!os || os->bootnum >= 0)
				continue;
			if (pass == 0 || os->bootnum < 0)
				os->bootnum = (int)o->num;
			if (strcmp(os->kind, "windows") == 0 && o->lo.desc[0])
				copy_str(os->label, sizeof(os->label), o->lo.desc);
		}
}

int detect_all(struct scan *s)
{
	for (unsigned i = 0; i < s->ndisks; i++) {
		struct sc_disk *d = s->disks[i];

		for (unsigned j = 0; j < d->nparts; j++) {
			struct sc_part *p = &d->parts[j];

			if (p->fs.type == FS_VFAT && sc_stat(s, p, "/EFI", NULL) == 2)
				detect_esp(s, p);
			detect_macos(s, p);
		}
		detect_bios(s, d);
	}
	for (unsigned i = 0; i < s->ndisks; i++)
		for (unsigned j = 0; j < s->disks[i]->nparts; j++)
			detect_images(s, &s->disks[i]->parts[j]);
	match_bootvars(s);
	if (s->oses_dropped)
		warn_add(&s->warn, "more than %d OSes found; %u not listed", SCAN_MAX_OSES, s->oses_dropped);
	return 0;
}
