/*
 * The planner (see plan.h): sizes, CPU sets, the disk arbiter and the
 * device check for a selection of OSes.
 *
 * The disk rules, per VM and per disk of the inventory it touches:
 *  - What it wants: with disks = auto, its ESP and every partition (or
 *    whole disk) its needs name; then its `disk =` lines, which override
 *    the mode of what they name. Partitions from the inventory on a disk
 *    it wants whole (a BIOS install) are part of that disk.
 *  - A partition a Windows hibernation or BitLocker protects is never
 *    given to a non-Windows OS writable: wanted as data it is left out
 *    (a note), wanted in another role it is an error.
 *  - polyboot's own ESP (discovery's polyboot_esp, or plan_host's
 *    firmware_part) is written by the firmware: wanted from the inventory
 *    it is a copy-on-write view, asked rw by a line it is an error, and a
 *    BIOS install on its disk is refused.
 *  - Its ESP is a copy-on-write view when another selected OS wants the
 *    same partition.
 *  - A partition or disk writable (rw) by two VMs is an error; ro and cow
 *    views may sit beside one writer.
 *  - It gets the whole disk (path=) when it wants a whole disk, or when it
 *    wants partitions of a disk no other selected OS touches, all of them
 *    rw and some from the inventory (not only `disk =` lines), and the disk
 *    holds neither polyboot's ESP nor (for a non-Windows OS) a protected
 *    NTFS volume. Otherwise a synthetic disk (synth=, GPT disks only) of
 *    its rw and cow partitions, and another, read-only, of its ro ones;
 *    the guest sees the partitions under their own numbers.
 *
 * The devices, planned between what each VM wants and the rules above
 * (plan_devices()): the `device =` lines of every VM are checked together
 * by devs_check() (refusals are errors at the line, warnings notes); then
 * the passthrough policy offers each OS the disk controllers it is alone
 * on and keeps those the check passes without a warning. A VM's wants on
 * the disks behind a device it gets are dropped (the disks go with the
 * device; its ESP there sets boot_on_device), and another VM wanting one
 * of them is an error at the device line. Without the machine's devices
 * (plan_host.devs NULL) device lines are only checked against each other.
 */
#include "plan.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

#define MAX_WANTS	(INV_MAX_NEEDS + CONF_MAX_DISKS + 2)
#define MIB		(1ull << 20)
#define PLAN_DISK_IF	"virtio"	/* every disk, for now (nvme: one day, per disk) */

/* --- host ------------------------------------------------------------------------ */

/* "0-3,5" into @h->cpu_ids; the count, or 0 when unreadable. */
static unsigned parse_cpulist(const char *s, struct plan_host *h)
{
	unsigned n = 0;

	while (*s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			return 0;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b < a)
				return 0;
		}
		for (unsigned long c = a; c <= b && c < 65536; c++) {
			if (n < PLAN_MAX_CPUS)
				h->cpu_ids[n] = (uint16_t)c;
			n++;
		}
		if (*end != ',')
			break;
		s = end + 1;
	}
	h->ncpu_ids = MIN(n, PLAN_MAX_CPUS);
	return n;
}

int plan_host_read(struct plan_host *h, const char *root)
{
	char path[512], line[256];
	unsigned long long kb;
	FILE *f;

	memset(h, 0, sizeof(*h));
	if (!root || !strcmp(root, "/"))
		root = "";
	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/online", root);
	f = fopen(path, "re");
	if (f) {
		if (fgets(line, sizeof(line), f))
			h->cpus = parse_cpulist(line, h);
		fclose(f);
	}
	if (!h->cpus && !root[0]) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		h->cpus = n > 0 ? (unsigned)n : 0;
		h->ncpu_ids = 0;
	}
	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1 && kb < (1ull << 53))
			h->memory = kb * 1024;
	fclose(f);
	return h->cpus && h->memory ? 0 : -ENOENT;
}

/* --- sections and OSes ----------------------------------------------------------- */

static const char *sec_match(const struct conf_os *s)
{
	return s->match[0] ? s->match : s->name;
}

static bool sec_matches(const struct conf_os *s, const struct inv_os *os)
{
	const char *m = sec_match(s);

	return !strcmp(m, os->id) || !fnmatch(m, os->label, FNM_CASEFOLD);
}

int plan_conf_for_os(const struct conf *c, const struct inv *inv, int os)
{
	if (os < 0 || (unsigned)os >= inv->noses)
		return -1;
	for (unsigned k = 0; k < c->nos && k < CONF_MAX_OS; k++)
		if (sec_matches(&c->os[k], &inv->oses[os]))
			return (int)k;
	return -1;
}

/* The OS section @k stands for: the first OS whose section it is. -1
 * when none; then @other is the section that took the first OS it
 * matches, or -1 when it matches none. */
static int sec_os(const struct conf *c, const struct inv *inv, unsigned k, int *other)
{
	*other = -1;
	for (unsigned i = 0; i < inv->noses; i++) {
		int s;

		if (!sec_matches(&c->os[k], &inv->oses[i]))
			continue;
		s = plan_conf_for_os(c, inv, (int)i);
		if (s == (int)k)
			return (int)i;
		if (*other < 0)
			*other = s;
	}
	return -1;
}

/* "id 'label', id 'label', ..." cut to @len. */
static void list_oses(const struct inv *inv, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (!inv->noses) {
		snprintf(buf, len, "no OS was found");
		return;
	}
	for (unsigned i = 0; i < inv->noses; i++) {
		char one[200];
		int w = snprintf(one, sizeof(one), "%s%s '%s'", i ? ", " : "", inv->oses[i].id,
				 inv->oses[i].label);

		if (w < 0 || n + (size_t)w + 5 >= len) {
			snprintf(buf + n, len - n, "%s...", i ? ", " : "");
			return;
		}
		memcpy(buf + n, one, (size_t)w + 1);
		n += (size_t)w;
	}
}

unsigned plan_default_set(struct conf *c, const struct inv *inv, int *sel, unsigned max)
{
	bool want[CONF_MAX_OS] = { false };
	int os[CONF_MAX_OS];
	unsigned k[CONF_MAX_OS], n = 0, nos = MIN(c->nos, CONF_MAX_OS);

	for (unsigned i = 0; i < c->ndefault && i < CONF_MAX_DEFAULT; i++) {
		struct conf_os *s = conf_find_os(c, c->defaults[i]);

		/* a name without its section is conf_parse()'s error already */
		if (s && s - c->os < CONF_MAX_OS)
			want[s - c->os] = true;
	}
	for (unsigned i = 0; i < nos; i++) {
		const struct conf_os *s = &c->os[i];
		int other, o = sec_os(c, inv, i, &other);
		unsigned line = s->line_match ? s->line_match : s->line;
		const char *key = s->line_match ? "match" : "";

		if (o < 0 && other >= 0) {
			conf_error(c, line, key, "[os %s]: match '%s' finds only OSes that [os %s] already stands for",
				   s->name, sec_match(s), c->os[other].name);
		} else if (o < 0) {
			char found[120];

			list_oses(inv, found, sizeof(found));
			conf_error(c, line, key, "[os %s]: match '%s' finds no installed OS (found: %s)", s->name,
				   sec_match(s), found);
		} else if (want[i] || s->autostart) {
			unsigned j = n++;

			/* insertion by order; equal orders keep the file's order */
			while (j > 0 && c->os[k[j - 1]].order > s->order) {
				k[j] = k[j - 1];
				os[j] = os[j - 1];
				j--;
			}
			k[j] = i;
			os[j] = o;
		}
	}
	n = MIN(n, max);
	for (unsigned i = 0; i < n; i++)
		sel[i] = os[i];
	return n;
}

/* --- helpers for the plan ---------------------------------------------------------- */

static const char *human(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (u + 1 < ARRAY_SIZE(unit) && b >= 1ull << (10 * (u + 1)))
		u++;
	if (b % (1ull << (10 * u)) == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(b >> (10 * u)), unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)b / (double)(1ull << (10 * u)), unit[u]);
	return buf;
}

/* Appends to the string @buf of @len, cut to fit. */
static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static bool is_windows(const struct inv_os *os)
{
	return strstr(os->kind, "windows") != NULL;
}

static bool protected_part(const struct inv_part *p)
{
	return p->hibernated || p->bitlocker;
}

static const char *protect_why(const struct inv_part *p)
{
	return p->bitlocker ? "it is BitLocker-encrypted" : "Windows is hibernated on it";
}

/* "/dev/vda3 (ext4 'data')" */
static const char *part_name(const struct inv *inv, int d, int pi, char *buf, size_t len)
{
	const struct inv_part *p = &inv->disks[d].parts[pi];

	buf[0] = 0;
	cat(buf, len, "%s", p->dev[0] ? p->dev : p->id);
	if (p->fs[0] && p->label[0])
		cat(buf, len, " (%s '%s')", p->fs, p->label);
	else if (p->fs[0])
		cat(buf, len, " (%s)", p->fs);
	else if (p->label[0])
		cat(buf, len, " ('%s')", p->label);
	return buf;
}

/* "/dev/vda (dualboot)" */
static const char *disk_name(const struct inv *inv, int d, char *buf, size_t len)
{
	const struct inv_disk *k = &inv->disks[d];

	const char *base = strrchr(k->dev, '/');

	buf[0] = 0;
	cat(buf, len, "%s", k->dev[0] ? k->dev : k->id);
	if (k->name[0] && strcmp(k->name, k->dev) && (!base || strcmp(k->name, base + 1)))
		cat(buf, len, " (%s)", k->name);
	return buf;
}

static const char *disk_short(const struct inv_disk *k)
{
	const char *b;

	if (k->name[0])
		return k->name;
	b = strrchr(k->dev, '/');
	return b ? b + 1 : k->dev[0] ? k->dev : k->id;
}

static bool disk_is_gpt(const struct inv_disk *k)
{
	if (k->table[0])
		return !strcmp(k->table, "gpt");
	return !strncmp(k->id, "gpt:", 4);
}

/* "0-1,4" of the CPUs @first..@first+@n-1 of the host's online list. */
static void format_cpuset(const struct plan_host *h, unsigned first, unsigned n, char *buf, size_t len)
{
	bool ids = h->ncpu_ids >= h->cpus && h->ncpu_ids > 0;
	unsigned i = 0;

	buf[0] = 0;
	while (i < n) {
		unsigned a = ids ? h->cpu_ids[first + i] : first + i, b = a, j = i + 1;

		while (j < n && (ids ? h->cpu_ids[first + j] : first + j) == b + 1) {
			b++;
			j++;
		}
		if (a == b)
			cat(buf, len, "%s%u", buf[0] ? "," : "", a);
		else
			cat(buf, len, "%s%u-%u", buf[0] ? "," : "", a, b);
		i = j;
	}
}

/* --- the plan ------------------------------------------------------------------------- */

struct want {
	int disk, part;			/* inventory indices; part -1: the whole disk */
	enum conf_disk_mode mode;
	unsigned line;			/* its `disk =` line; 0: from the inventory */
	bool esp;			/* the OS's ESP */
};

struct work {
	struct plan_vm *vm;
	const struct inv_os *os;
	const struct conf_os *s;	/* NULL: no section */
	const struct plan_host *host;
	bool bad;			/* refused already: no disks planned */
	unsigned nw;
	struct want w[MAX_WANTS];
};

static unsigned sec_line(const struct work *w)
{
	return w->s ? w->s->line : 0;
}

static void note(struct plan_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct plan_vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->nnotes >= PLAN_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(vm->notes[vm->nnotes++], sizeof(vm->notes[0]), fmt, ap);
	va_end(ap);
}

/* Adds (or, from a `disk =` line, overrides) what @w wants. */
static struct want *want_add(struct work *w, int disk, int part, enum conf_disk_mode mode, unsigned line)
{
	struct want *x = NULL;

	for (unsigned i = 0; i < w->nw; i++)
		if (w->w[i].disk == disk && w->w[i].part == part)
			x = &w->w[i];
	if (x) {
		if (line) {
			x->mode = mode;
			x->line = line;
		}
		return x;
	}
	if (w->nw == MAX_WANTS)
		return NULL;
	x = &w->w[w->nw++];
	*x = (struct want){ .disk = disk, .part = part, .mode = mode, .line = line };
	return x;
}

static bool disk_protected(const struct inv_disk *k)
{
	for (unsigned i = 0; i < k->nparts; i++)
		if (protected_part(&k->parts[i]))
			return true;
	return false;
}

/* The ESP polyboot runs from: discovery's flag, or the one it mounted. */
static bool fw_part(const struct plan_host *h, const struct inv_part *p)
{
	return p->polyboot_esp || (h->firmware_part[0] && !strcasecmp(p->id, h->firmware_part));
}

static bool fw_disk(const struct plan_host *h, const struct inv_disk *k)
{
	for (unsigned i = 0; i < k->nparts; i++)
		if (fw_part(h, &k->parts[i]))
			return true;
	return false;
}

/* What the OS needs, from the inventory (disks = auto). */
static void wants_auto(struct conf *c, const struct inv *inv, struct work *w)
{
	const struct inv_os *os = w->os;
	char pn[120];

	if (os->esp_disk >= 0) {
		struct want *x = want_add(w, os->esp_disk, os->esp_part, CONF_DISK_RW, 0);

		if (x)
			x->esp = true;
	}
	if (os->vm_disk >= 0)
		want_add(w, os->vm_disk, -1, CONF_DISK_RW, 0);
	for (unsigned i = 0; i < os->nneeds && i < INV_MAX_NEEDS; i++) {
		const struct inv_need *n = &os->needs[i];
		const struct inv_part *p = n->part >= 0 ? &inv->disks[n->disk].parts[n->part] : NULL;

		if (p && protected_part(p) && !is_windows(os)) {
			part_name(inv, n->disk, n->part, pn, sizeof(pn));
			if (!strcmp(n->role, "data")) {
				note(w->vm, "%s left out: %s, and only Windows may write it", pn, protect_why(p));
				continue;
			}
			conf_error(c, sec_line(w), "", "'%s' needs %s as its %s partition, but %s: only Windows may write it",
				   w->vm->name, pn, n->role, protect_why(p));
			w->bad = true;
			continue;
		}
		want_add(w, n->disk, n->part, CONF_DISK_RW, 0);
	}
}

/* Its `disk =` lines. */
static void wants_conf(struct conf *c, const struct inv *inv, struct work *w)
{
	char dn[120];

	for (unsigned i = 0; w->s && i < w->s->ndisks && i < CONF_MAX_DISKS; i++) {
		const struct conf_disk *cd = &w->s->disk[i];
		int d = inv_find_disk(inv, cd->what), part = -1;

		if (d < 0)
			part = inv_find_part(inv, cd->what, &d);
		if (d < 0) {
			conf_error(c, cd->line, "disk", "no disk or partition '%s' in the inventory", cd->what);
			w->bad = true;
			continue;
		}
		if (part < 0) {
			const struct inv_disk *k = &inv->disks[d];

			disk_name(inv, d, dn, sizeof(dn));
			if (cd->mode == CONF_DISK_COW) {
				conf_error(c, cd->line, "disk", "%s is a whole disk: cow applies to partitions; use ro or rw",
					   dn);
				w->bad = true;
				continue;
			}
			if (cd->mode == CONF_DISK_RW && fw_disk(w->host, k)) {
				conf_error(c, cd->line, "disk",
					   "%s holds the ESP polyboot runs from, which the firmware writes; use ro", dn);
				w->bad = true;
				continue;
			}
			if (cd->mode == CONF_DISK_RW && !is_windows(w->os) && disk_protected(k)) {
				conf_error(c, cd->line, "disk",
					   "%s holds a hibernated or BitLocker Windows volume, which only Windows may write; use ro",
					   dn);
				w->bad = true;
				continue;
			}
		} else {
			const struct inv_part *p = &inv->disks[d].parts[part];

			part_name(inv, d, part, dn, sizeof(dn));
			if (cd->mode == CONF_DISK_RW && protected_part(p) && !is_windows(w->os)) {
				conf_error(c, cd->line, "disk", "%s: %s, and only Windows may write it; use ro or cow", dn,
					   protect_why(p));
				w->bad = true;
				continue;
			}
			if (cd->mode == CONF_DISK_RW && fw_part(w->host, p)) {
				conf_error(c, cd->line, "disk", "%s is the ESP polyboot runs from; use cow or ro", dn);
				w->bad = true;
				continue;
			}
		}
		if (!want_add(w, d, part, cd->mode, cd->line)) {
			conf_error(c, cd->line, "disk", "too many disks and partitions for one OS");
			w->bad = true;
		}
	}
}

/* Partitions from the inventory on a disk the VM gets whole (a BIOS
 * install's root, swap) are that disk, in its mode. */
static void drop_covered(struct work *w)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->nw; i++) {
		const struct want *x = &w->w[i];
		bool covered = false;

		for (unsigned j = 0; x->part >= 0 && !x->line && j < w->nw; j++)
			covered |= w->w[j].disk == x->disk && w->w[j].part < 0;
		if (!covered)
			w->w[n++] = *x;
	}
	w->nw = n;
}

/* Does a want of @u cover partition @part (-1: any part) of disk @d? */
static bool wants_overlap(const struct work *u, int d, int part)
{
	for (unsigned i = 0; i < u->nw; i++) {
		const struct want *x = &u->w[i];

		if (x->disk == d && (part < 0 || x->part < 0 || x->part == part))
			return true;
	}
	return false;
}

/* The first other VM that touches partition @part (-1: anything) of disk @d. */
static const struct work *touched_by(const struct work *ws, unsigned n, const struct work *self, int d, int part)
{
	for (unsigned i = 0; i < n; i++)
		if (&ws[i] != self && wants_overlap(&ws[i], d, part))
			return &ws[i];
	return NULL;
}

/* Two VMs writing the same thing. */
static void check_conflicts(struct conf *c, const struct inv *inv, struct work *ws, unsigned n)
{
	for (unsigned u = 0; u < n; u++) {
		for (unsigned v = u + 1; v < n; v++) {
			bool whole_said[INV_MAX_DISKS] = { false };

			for (unsigned i = 0; i < ws[u].nw; i++) {
				const struct want *a = &ws[u].w[i];

				for (unsigned j = 0; j < ws[v].nw; j++) {
					const struct want *b = &ws[v].w[j];
					bool whole = a->part < 0 || b->part < 0;
					char what[120], hint[64];
					unsigned line;

					if (a->disk != b->disk || (!whole && a->part != b->part) ||
					    a->mode != CONF_DISK_RW || b->mode != CONF_DISK_RW)
						continue;
					if (whole) {
						if (whole_said[a->disk])
							continue;
						whole_said[a->disk] = true;
						snprintf(what, sizeof(what), "disk ");
						disk_name(inv, a->disk, what + 5, sizeof(what) - 5);
						snprintf(hint, sizeof(hint), "%s", inv->disks[a->disk].id);
					} else {
						snprintf(what, sizeof(what), "partition ");
						part_name(inv, a->disk, a->part, what + 10, sizeof(what) - 10);
						snprintf(hint, sizeof(hint), "%s", inv->disks[a->disk].parts[a->part].id);
					}
					line = a->line ? a->line : b->line ? b->line : sec_line(&ws[u]) ? sec_line(&ws[u]) :
						sec_line(&ws[v]);
					conf_error(c, line, a->line || b->line ? "disk" : "",
						   "%s would be writable by both '%s' and '%s'; give one of them `disk = %s ro` or start them separately",
						   what, ws[u].vm->name, ws[v].vm->name, hint);
					if (a->line && b->line)
						conf_error(c, b->line, "disk",
							   "%s would be writable by both '%s' and '%s'; give one of them `disk = %s ro` or start them separately",
							   what, ws[u].vm->name, ws[v].vm->name, hint);
					ws[u].bad = ws[v].bad = true;
				}
			}
		}
	}
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* One --disk of partitions @parts (@cow among them) of disk @d. */
static int add_synth(struct conf *c, const struct inv *inv, struct work *w, int d, unsigned *parts,
		     unsigned n, const unsigned *cow, unsigned ncow, bool ro)
{
	const struct inv_disk *k = &inv->disks[d];
	struct plan_vm *vm = w->vm;
	struct plan_disk *pd;
	char list[128] = "";

	if (vm->ndisks == PLAN_MAX_DISKS) {
		conf_error(c, sec_line(w), "", "'%s' would get more than %u disks", vm->name, PLAN_MAX_DISKS);
		return -ENOSPC;
	}
	if (n > 16) {
		conf_error(c, sec_line(w), "", "'%s' would get %u partitions of %s; a disk of partitions holds 16",
			   vm->name, n, disk_short(k));
		return -ENOSPC;
	}
	qsort(parts, n, sizeof(*parts), cmp_uint);
	pd = &vm->disks[vm->ndisks++];
	memset(pd, 0, sizeof(*pd));
	pd->disk = d;
	pd->synth = true;
	pd->writable = !ro;
	snprintf(pd->iface, sizeof(pd->iface), "%s", PLAN_DISK_IF);
	snprintf(pd->spec, sizeof(pd->spec), "synth=%s,parts=", k->dev);
	snprintf(pd->desc, sizeof(pd->desc), "%s parts ", disk_short(k));
	for (unsigned i = 0; i < n; i++) {
		bool is_cow = false;

		for (unsigned j = 0; j < ncow; j++)
			is_cow |= cow[j] == parts[i];
		cat(pd->spec, sizeof(pd->spec), "%s%u", i ? "+" : "", parts[i]);
		cat(pd->desc, sizeof(pd->desc), "%s%u%s", i ? "+" : "", parts[i], is_cow ? "(cow)" : "");
	}
	for (unsigned j = 0; j < ncow; j++)
		cat(list, sizeof(list), "%s%u", j ? "+" : "", cow[j]);
	if (ncow)
		cat(pd->spec, sizeof(pd->spec), ",cow=%s", list);
	cat(pd->spec, sizeof(pd->spec), "%s,if=%s", ro ? ",ro" : "", PLAN_DISK_IF);
	cat(pd->desc, sizeof(pd->desc), " %s", ro ? "ro" : "rw");
	return 0;
}

static int add_whole(struct conf *c, const struct inv *inv, struct work *w, int d, bool ro)
{
	const struct inv_disk *k = &inv->disks[d];
	struct plan_vm *vm = w->vm;
	struct plan_disk *pd;

	if (vm->ndisks == PLAN_MAX_DISKS) {
		conf_error(c, sec_line(w), "", "'%s' would get more than %u disks", vm->name, PLAN_MAX_DISKS);
		return -ENOSPC;
	}
	pd = &vm->disks[vm->ndisks++];
	memset(pd, 0, sizeof(*pd));
	pd->disk = d;
	pd->writable = !ro;
	snprintf(pd->iface, sizeof(pd->iface), "%s", PLAN_DISK_IF);
	snprintf(pd->spec, sizeof(pd->spec), "path=%s%s,if=%s", k->dev, ro ? ",ro" : "", PLAN_DISK_IF);
	snprintf(pd->desc, sizeof(pd->desc), "%s whole disk %s", disk_short(k), ro ? "ro" : "rw");
	return 0;
}

/* Why @w cannot have disk @d whole, for a message. */
static void why_not_whole(const struct inv *inv, const struct work *ws, unsigned n, const struct work *w, int d,
			  char *buf, size_t len)
{
	const struct work *o = touched_by(ws, n, w, d, -1);
	const struct inv_disk *k = &inv->disks[d];

	if (o)
		snprintf(buf, len, "'%s' uses it too", o->vm->name);
	else if (fw_disk(w->host, k))
		snprintf(buf, len, "it holds the ESP polyboot runs from");
	else if (!is_windows(w->os) && disk_protected(k))
		snprintf(buf, len, "it holds a hibernated or BitLocker Windows volume");
	else
		snprintf(buf, len, "only some of its partitions are asked for");
}

/* The --disk arguments of one VM, and its boot disk. */
static void build_disks(struct conf *c, const struct inv *inv, struct work *ws, unsigned n, struct work *w)
{
	const struct inv_os *os = w->os;
	struct plan_vm *vm = w->vm;
	int order[MAX_WANTS];
	unsigned nd = 0;
	int first = os->esp_disk >= 0 ? os->esp_disk : os->vm_disk;

	/* the boot disk first, then the others as they were asked for */
	if (first >= 0)
		for (unsigned i = 0; i < w->nw; i++)
			if (w->w[i].disk == first) {
				order[nd++] = first;
				break;
			}
	for (unsigned i = 0; i < w->nw; i++) {
		bool seen = false;

		for (unsigned j = 0; j < nd; j++)
			seen |= order[j] == w->w[i].disk;
		if (!seen)
			order[nd++] = w->w[i].disk;
	}

	for (unsigned t = 0; t < nd; t++) {
		int d = order[t];
		const struct inv_disk *k = &inv->disks[d];
		const struct want *whole = NULL;
		unsigned rw[MAX_WANTS], ro[MAX_WANTS], cow[MAX_WANTS], nrw = 0, nro = 0, ncow = 0;
		bool any_auto = false, all_rw = true;
		char dn[120];
		unsigned first_disk = vm->ndisks;

		disk_name(inv, d, dn, sizeof(dn));
		if (!k->dev[0]) {
			conf_error(c, sec_line(w), "", "'%s' needs disk %s, which has no device path in the inventory",
				   vm->name, k->id);
			w->bad = true;
			return;
		}
		for (unsigned i = 0; i < w->nw; i++) {
			const struct want *x = &w->w[i];

			if (x->disk != d)
				continue;
			if (x->part < 0) {
				if (!whole || x->line)
					whole = x;
				continue;
			}
			any_auto |= !x->line;
			all_rw &= x->mode == CONF_DISK_RW;
			if (x->mode == CONF_DISK_RO) {
				ro[nro++] = k->parts[x->part].num;
			} else {
				rw[nrw++] = k->parts[x->part].num;
				if (x->mode == CONF_DISK_COW)
					cow[ncow++] = k->parts[x->part].num;
			}
		}
		if (whole) {
			/* a partition line on a disk it gets whole cannot be honoured */
			for (unsigned i = 0; i < w->nw; i++)
				if (w->w[i].disk == d && w->w[i].part >= 0 && w->w[i].line &&
				    w->w[i].mode != whole->mode) {
					conf_error(c, w->w[i].line, "disk",
						   "this partition is on %s, which '%s' gets whole (%s); name the disk instead",
						   dn, vm->name, conf_disk_mode_name(whole->mode));
					w->bad = true;
				}
			if (!whole->line && whole->mode == CONF_DISK_RW) {
				/* the whole disk of a BIOS install: nothing else may be on it */
				if (fw_disk(w->host, k)) {
					conf_error(c, sec_line(w), "",
						   "'%s' boots from the whole disk %s, which holds the ESP polyboot runs from; a VM may not write it",
						   vm->name, dn);
					w->bad = true;
					return;
				}
				if (!is_windows(os) && disk_protected(k)) {
					conf_error(c, sec_line(w), "",
						   "'%s' boots from the whole disk %s, which holds a hibernated or BitLocker Windows volume only Windows may write",
						   vm->name, dn);
					w->bad = true;
					return;
				}
			}
			if (add_whole(c, inv, w, d, whole->mode == CONF_DISK_RO) < 0) {
				w->bad = true;
				return;
			}
		} else if (any_auto && all_rw && !touched_by(ws, n, w, d, -1) && !fw_disk(w->host, k) &&
			   (is_windows(os) || !disk_protected(k))) {
			if (add_whole(c, inv, w, d, false) < 0) {
				w->bad = true;
				return;
			}
		} else {
			if (!disk_is_gpt(k)) {
				char why[100];

				why_not_whole(inv, ws, n, w, d, why, sizeof(why));
				conf_error(c, sec_line(w), "",
					   "'%s' may only get some partitions of %s (%s), but polyvmm builds disks of chosen partitions from GPT disks only",
					   vm->name, dn, why);
				w->bad = true;
				return;
			}
			if ((nrw && add_synth(c, inv, w, d, rw, nrw, cow, ncow, false) < 0) ||
			    (nro && add_synth(c, inv, w, d, ro, nro, NULL, 0, true) < 0)) {
				w->bad = true;
				return;
			}
		}

		/* where the guest finds its loader */
		for (unsigned i = first_disk; i < vm->ndisks; i++) {
			const struct plan_disk *pd = &vm->disks[i];

			if (os->esp_disk == d && vm->boot_disk < 0) {
				unsigned num = k->parts[os->esp_part].num;
				bool has = !pd->synth;

				for (unsigned j = 0; pd->synth && j < nrw + nro; j++)
					has |= (pd->writable ? j < nrw && rw[j] == num : j < nro && ro[j] == num);
				if (has) {
					vm->boot_disk = (int)i;
					vm->boot_part = num;
				}
			} else if (os->esp_disk < 0 && os->vm_disk == d && !pd->synth && vm->boot_disk < 0) {
				vm->boot_disk = (int)i;
				vm->boot_part = 0;
			}
		}
	}
}

/* --- devices ------------------------------------------------------------------------- */

#define MAX_REQS	(PLAN_MAX_VMS * CONF_MAX_DEVICES + DEVS_MAX)

/* Without the machine's devices: only that no device goes to two VMs. */
static void devices_unknown(struct conf *c, struct work *ws, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct plan_vm *vm = ws[i].vm;

		for (unsigned j = 0; ws[i].s && j < ws[i].s->ndevices && j < CONF_MAX_DEVICES; j++) {
			const struct conf_device *dv = &ws[i].s->device[j];
			bool dup = false;

			for (unsigned k = 0; k < vm->ndevices; k++)
				dup |= !strcmp(vm->devices[k], dv->bdf);
			if (dup)	/* conf_parse() said so */
				continue;
			for (unsigned u = 0; u < i; u++)
				for (unsigned k = 0; ws[u].s && k < ws[u].s->ndevices && k < CONF_MAX_DEVICES; k++) {
					const struct conf_device *o = &ws[u].s->device[k];

					if (strcmp(o->bdf, dv->bdf))
						continue;
					conf_error(c, o->line, "device", "%s is given to both '%s' and '%s'", dv->bdf,
						   ws[u].vm->name, vm->name);
					conf_error(c, dv->line, "device", "%s is given to both '%s' and '%s'", dv->bdf,
						   ws[u].vm->name, vm->name);
				}
			snprintf(vm->devices[vm->ndevices++], sizeof(vm->devices[0]), "%s", dv->bdf);
		}
	}
}

/* The inventory disk that is block device @name ("/dev/@name"), -1. */
static int block_disk(const struct inv *inv, const char *name)
{
	for (unsigned i = 0; i < inv->ndisks; i++) {
		const char *dev = inv->disks[i].dev, *b = strrchr(dev, '/');

		if (!strncmp(dev, "/dev/", 5) && b && !strcmp(b + 1, name))
			return (int)i;
	}
	return -1;
}

static bool disk_behind(const struct inv *inv, const struct devs_dev *d, int k)
{
	for (unsigned i = 0; i < d->nblock; i++)
		if (block_disk(inv, d->block[i].name) == k)
			return true;
	return false;
}

/* The block device of the disk with polyboot's ESP ("nvme0n1"), "" none. */
static void esp_block(const struct inv *inv, const struct plan_host *h, char *buf, size_t len)
{
	buf[0] = 0;
	for (unsigned i = 0; i < inv->ndisks; i++) {
		const char *dev = inv->disks[i].dev, *b = strrchr(dev, '/');

		if (fw_disk(h, &inv->disks[i]) && !strncmp(dev, "/dev/", 5) && b) {
			snprintf(buf, len, "%s", b + 1);
			return;
		}
	}
}

static bool vm_add_device(struct plan_vm *vm, const char *bdf, unsigned flags, bool auto_)
{
	if (vm->ndevices == CONF_MAX_DEVICES)
		return false;
	snprintf(vm->devices[vm->ndevices], sizeof(vm->devices[0]), "%s", bdf);
	vm->device_flags[vm->ndevices] = flags;
	vm->device_auto[vm->ndevices++] = auto_;
	return true;
}

/* "nvme0n1, nvme1n1" */
static const char *blocks_words(const struct devs_dev *d, char *buf, size_t len)
{
	buf[0] = 0;
	for (unsigned i = 0; i < d->nblock; i++)
		cat(buf, len, "%s%s", i ? ", " : "", d->block[i].name);
	return buf;
}

/* The disks behind @d go with it to @w: dropped from @w's emulated
 * disks; another VM wanting one is an error at @line (the device line). */
static void take_disks(struct conf *c, const struct inv *inv, struct work *ws, unsigned n, struct work *w,
		       const struct devs_dev *d, unsigned line)
{
	unsigned k = 0;
	char dn[120];

	for (unsigned i = 0; i < w->nw; i++) {
		const struct want *x = &w->w[i];

		if (!disk_behind(inv, d, x->disk)) {
			w->w[k++] = *x;
			continue;
		}
		if (w->os->esp_disk == x->disk && w->os->esp_part >= 0) {
			w->vm->boot_on_device = true;
			w->vm->boot_part = inv->disks[x->disk].parts[w->os->esp_part].num;
		}
	}
	w->nw = k;
	for (unsigned u = 0; u < n; u++) {
		if (&ws[u] == w)
			continue;
		for (unsigned i = 0; i < ws[u].nw; i++) {
			if (!disk_behind(inv, d, ws[u].w[i].disk))
				continue;
			disk_name(inv, ws[u].w[i].disk, dn, sizeof(dn));
			conf_error(c, line ? line : sec_line(w), line ? "device" : "",
				   "%s (%s) goes to '%s' with its disks, but '%s' uses %s behind it too; start them separately or give neither the device",
				   d->bdf, devs_class_name(d->class), w->vm->name, ws[u].vm->name, dn);
			ws[u].bad = true;
			break;
		}
	}
}

/* May the policy give controller @d to @w? (The device check comes after.) */
static bool policy_candidate(const struct inv *inv, struct work *ws, unsigned n, struct work *w,
			     const struct devs_dev *d, const struct devs_req *req, unsigned nreq)
{
	bool known, wanted = false;
	int oses[2];

	if (!devs_is_disk_controller(d->class) || !d->nblock)
		return false;
	for (unsigned r = 0; r < nreq; r++)
		if (!strcmp(req[r].bdf, d->bdf))
			return false;	/* a `device =` line has it */
	if (devs_oses_behind(d, inv, oses, ARRAY_SIZE(oses), &known) != 1 || !known || oses[0] != w->vm->os)
		return false;
	for (unsigned i = 0; i < w->nw; i++) {
		if (!disk_behind(inv, d, w->w[i].disk))
			continue;
		if (w->w[i].line)
			return false;	/* a `disk =` line names it: emulated as asked */
		wanted = true;
	}
	if (!wanted)
		return false;
	for (unsigned i = 0; i < d->nblock; i++) {
		int k = block_disk(inv, d->block[i].name);

		if (touched_by(ws, n, w, k, -1) || (!is_windows(w->os) && disk_protected(&inv->disks[k])))
			return false;
	}
	return true;
}

/* The passthrough policy for @w: every candidate controller the device
 * check passes without a warning, checked with the `device =` lines
 * (@req[0..@nreq)) for the group rule. */
static void policy(struct conf *c, const struct inv *inv, struct work *ws, unsigned n, struct work *w,
		   struct devs_req *req, unsigned nreq, struct devs_decision *dec, const struct devs_ctx *ctx)
{
	const struct devs_list *l = w->host->devs;
	unsigned m = nreq;
	char bl[120];

	if (w->bad || conf_passthrough(c, w->s) == CONF_PT_OFF || (w->s && w->s->disks == CONF_DISKS_NONE) ||
	    w->vm->firmware != CONF_FW_OVMF)
		return;
	for (unsigned i = 0; i < l->ndev && m < MAX_REQS; i++) {
		if (!policy_candidate(inv, ws, n, w, &l->dev[i], req, nreq))
			continue;
		memset(&req[m], 0, sizeof(req[m]));
		snprintf(req[m].bdf, sizeof(req[m].bdf), "%s", l->dev[i].bdf);
		snprintf(req[m].vm, sizeof(req[m].vm), "%s", w->vm->name);
		req[m++].os = w->vm->os;
	}
	/* drop what the check does not pass cleanly, until what is left passes */
	for (bool dropped = true; dropped && m > nreq;) {
		unsigned k = nreq;

		dropped = false;
		devs_check(l, req, m, ctx, dec);
		for (unsigned r = nreq; r < m; r++) {
			if (dec[r].verdict == DEVS_OK) {
				req[k++] = req[r];
				continue;
			}
			note(w->vm, "passthrough auto: emulated disks instead, because %s", dec[r].msg);
			dropped = true;
		}
		m = k;
	}
	for (unsigned r = nreq; r < m; r++) {
		const struct devs_dev *d = devs_find(l, req[r].bdf);

		if (!vm_add_device(w->vm, d->bdf, 0, true)) {
			note(w->vm, "passthrough auto: %s not given: %u devices already", d->bdf, CONF_MAX_DEVICES);
			continue;
		}
		note(w->vm, "passthrough auto: %s (%s) with %s, instead of emulated disks", d->bdf,
		     devs_class_name(d->class), blocks_words(d, bl, sizeof(bl)));
		take_disks(c, inv, ws, n, w, d, 0);
	}
}

static void plan_devices(struct conf *c, const struct inv *inv, struct work *ws, unsigned n)
{
	const struct plan_host *h = n ? ws[0].host : NULL;
	const struct devs_list *l = h ? h->devs : NULL;
	struct devs_ctx ctx = { .inv = inv };
	struct devs_decision *dec;
	struct devs_req *req;
	unsigned *vmof, *lineof, nreq = 0;

	if (!n)
		return;
	if (!l) {
		devices_unknown(c, ws, n);
		return;
	}
	req = calloc(MAX_REQS, sizeof(*req));
	dec = calloc(MAX_REQS, sizeof(*dec));
	vmof = calloc(MAX_REQS, sizeof(*vmof));
	lineof = calloc(MAX_REQS, sizeof(*lineof));
	if (!req || !dec || !vmof || !lineof) {
		conf_error(c, 0, "", "out of memory while planning the devices");
		goto out;
	}
	esp_block(inv, h, ctx.esp_disk, sizeof(ctx.esp_disk));
	ctx.serial_console = h->serial_console;
	ctx.menu_on_display = h->menu_on_display;

	/* the `device =` lines */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; ws[i].s && j < ws[i].s->ndevices && j < CONF_MAX_DEVICES; j++) {
			struct devs_req *r = &req[nreq];

			snprintf(r->bdf, sizeof(r->bdf), "%s", ws[i].s->device[j].bdf);
			snprintf(r->vm, sizeof(r->vm), "%s", ws[i].vm->name);
			r->os = ws[i].vm->os;
			vmof[nreq] = i;
			lineof[nreq++] = ws[i].s->device[j].line;
		}
	devs_check(l, req, nreq, &ctx, dec);
	for (unsigned r = 0; r < nreq; r++) {
		struct work *w = &ws[vmof[r]];

		if (dec[r].verdict == DEVS_REFUSED) {
			conf_error(c, lineof[r], "device", "%s", dec[r].msg);
			continue;
		}
		if ((dec[r].flags & DEVS_F_ESP) && n > 1) {
			/* the firmware unmounts its ESP for it: the others' VARS files are there */
			conf_error(c, lineof[r], "device",
				   "%s holds the disk of the ESP polyboot runs from, where the other VMs keep their VARS files: start '%s' alone",
				   req[r].bdf, w->vm->name);
			continue;
		}
		vm_add_device(w->vm, req[r].bdf, dec[r].flags, false);
		if (dec[r].verdict == DEVS_WARN)
			note(w->vm, "%s", dec[r].msg);
	}
	for (unsigned r = 0; r < nreq; r++) {
		const struct devs_dev *d = devs_find(l, req[r].bdf);

		if (dec[r].verdict != DEVS_REFUSED && !((dec[r].flags & DEVS_F_ESP) && n > 1) && d && d->nblock)
			take_disks(c, inv, ws, n, &ws[vmof[r]], d, lineof[r]);
	}

	/* the policy: silent without an IOMMU, as without devices */
	for (unsigned i = 0; l->iommu && i < n; i++)
		policy(c, inv, ws, n, &ws[i], req, nreq, dec, &ctx);
out:
	free(req);
	free(dec);
	free(vmof);
	free(lineof);
}

static void plan_disks(struct conf *c, const struct inv *inv, struct work *ws, unsigned n)
{
	char pn[120];

	for (unsigned i = 0; i < n; i++) {
		struct work *w = &ws[i];

		if (w->bad)
			continue;
		if (!w->s || w->s->disks == CONF_DISKS_AUTO)
			wants_auto(c, inv, w);
		wants_conf(c, inv, w);
		drop_covered(w);
	}
	/* the devices take the disks behind them along */
	plan_devices(c, inv, ws, n);

	/* a shared ESP, or polyboot's own: a private copy-on-write view */
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < ws[i].nw; j++) {
			struct want *x = &ws[i].w[j];
			const struct inv_part *p = x->part >= 0 ? &inv->disks[x->disk].parts[x->part] : NULL;

			if (!x->esp || x->line || x->mode != CONF_DISK_RW || !p)
				continue;
			if (fw_part(ws[i].host, p) || touched_by(ws, n, &ws[i], x->disk, x->part))
				x->mode = CONF_DISK_COW;
		}
	}
	/* polyboot's ESP wanted rw from the inventory in another role */
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < ws[i].nw; j++) {
			struct want *x = &ws[i].w[j];

			if (x->part < 0 || x->line || x->mode != CONF_DISK_RW ||
			    !fw_part(ws[i].host, &inv->disks[x->disk].parts[x->part]))
				continue;
			part_name(inv, x->disk, x->part, pn, sizeof(pn));
			note(ws[i].vm, "%s is the ESP polyboot runs from: given copy-on-write", pn);
			x->mode = CONF_DISK_COW;
		}
	}
	check_conflicts(c, inv, ws, n);
	for (unsigned i = 0; i < n; i++)
		if (!ws[i].bad)
			build_disks(c, inv, ws, n, &ws[i]);
}

static void plan_memory(struct conf *c, const struct plan_host *h, struct plan *p, struct work *ws, unsigned n)
{
	uint64_t conf_sum = 0, total = 0, over = n * PLAN_VMM_OVERHEAD, dflt = PLAN_DEFAULT_MEMORY;
	unsigned ndef = 0;
	int big = -1;

	for (unsigned i = 0; i < n; i++) {
		const struct conf_os *s = ws[i].s;

		if (s && s->memory) {
			conf_sum += s->memory;
			if (big < 0 || s->memory > ws[big].s->memory)
				big = (int)i;
		} else {
			ndef++;
		}
	}
	/* the defaults share what the configured sizes leave */
	if (ndef) {
		uint64_t left = p->mem_available > over + conf_sum ? p->mem_available - over - conf_sum : 0;

		dflt = MIN(left / ndef / (64 * MIB) * (64 * MIB), PLAN_DEFAULT_MEMORY);
		dflt = MAX(dflt, PLAN_MIN_MEMORY);
	}
	for (unsigned i = 0; i < n; i++) {
		ws[i].vm->memory = ws[i].s && ws[i].s->memory ? ws[i].s->memory : dflt;
		total += ws[i].vm->memory;
	}
	if (total + over > p->mem_available) {
		char need[24], avail[24], inst[24], res[24], ov[24], one[24], list[100] = "";

		for (unsigned i = 0; i < n; i++) {
			size_t l = strlen(list);

			cat(list, sizeof(list), "%s%s %s", i ? ", " : "", ws[i].vm->name,
			    human(ws[i].vm->memory, one, sizeof(one)));
			if (strlen(list) + 4 >= sizeof(list)) {
				list[l] = 0;
				cat(list, sizeof(list), "%s...", l ? ", " : "");
				break;
			}
		}
		conf_error(c, big >= 0 ? ws[big].s->line_memory : 0, big >= 0 ? "memory" : "",
			   "the selected OSes need %s (%s, + %s for the VMMs) but %s are available (%s installed, %s reserved for the firmware); lower memory or start fewer OSes",
			   human(total + over, need, sizeof(need)), list, human(over, ov, sizeof(ov)),
			   human(p->mem_available, avail, sizeof(avail)), human(h->memory, inst, sizeof(inst)),
			   human(c->reserve_memory, res, sizeof(res)));
	}
}

static void plan_cpus(struct conf *c, const struct plan_host *h, struct plan *p, struct work *ws, unsigned n)
{
	unsigned avail = p->cpus_available, conf_sum = 0, ndef = 0, total = 0, dflt = 1, next;
	bool said = false;
	int big = -1;

	for (unsigned i = 0; i < n; i++) {
		const struct conf_os *s = ws[i].s;

		if (s && s->cpus) {
			conf_sum += s->cpus;
			if (big < 0 || s->cpus > ws[big].s->cpus)
				big = (int)i;
		} else {
			ndef++;
		}
	}
	if (ndef)
		dflt = MAX(1u, MIN(2u, avail > conf_sum ? (avail - conf_sum) / ndef : 0));
	for (unsigned i = 0; i < n; i++) {
		struct plan_vm *vm = ws[i].vm;

		vm->cpus = ws[i].s && ws[i].s->cpus ? ws[i].s->cpus : dflt;
		total += vm->cpus;
		if (vm->cpus > avail) {
			conf_error(c, ws[i].s && ws[i].s->cpus ? ws[i].s->line_cpus : 0, "cpus",
				   "'%s' asks for %u CPUs but %u are available (%u online, %u reserved for the firmware)",
				   vm->name, vm->cpus, avail, h->cpus, c->reserve_cpus);
			said = true;
		}
	}
	if (total > avail && !said) {
		char list[100] = "";

		for (unsigned i = 0; i < n; i++) {
			size_t l = strlen(list);

			cat(list, sizeof(list), "%s%s %u", i ? ", " : "", ws[i].vm->name, ws[i].vm->cpus);
			if (strlen(list) + 4 >= sizeof(list)) {
				list[l] = 0;
				cat(list, sizeof(list), "%s...", l ? ", " : "");
				break;
			}
		}
		conf_error(c, big >= 0 ? ws[big].s->line_cpus : 0, big >= 0 ? "cpus" : "",
			   "the selected OSes need %u CPUs (%s) but %u are available (%u online, %u reserved for the firmware); lower cpus or start fewer OSes",
			   total, list, avail, h->cpus, c->reserve_cpus);
		said = true;
	}
	if (said || !c->cpu_pinning)
		return;
	/* disjoint sets after the firmware's own CPUs */
	next = MIN(c->reserve_cpus, h->cpus);
	for (unsigned i = 0; i < n; i++) {
		format_cpuset(h, next, ws[i].vm->cpus, ws[i].vm->cpuset, sizeof(ws[i].vm->cpuset));
		next += ws[i].vm->cpus;
	}
}

static enum conf_fw resolve_fw(struct conf *c, struct work *w)
{
	enum conf_fw fw = w->s ? w->s->firmware : CONF_FW_AUTO;

	if (fw != CONF_FW_AUTO)
		return fw;
	if (!strcmp(w->os->firmware, "uefi"))
		return CONF_FW_OVMF;
	if (!strcmp(w->os->firmware, "bios"))
		return CONF_FW_SEABIOS;
	conf_error(c, sec_line(w), "",
		   "'%s': discovery could not tell whether it boots through UEFI or BIOS; set firmware = ovmf or seabios in its section",
		   w->vm->name);
	w->bad = true;
	return CONF_FW_OVMF;
}

static bool name_used(const struct plan *p, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(p->vm[i].name, name))
			return true;
	return false;
}

static unsigned nerrors(const struct conf *c)
{
	return c->nerr + c->err_dropped;
}

int plan_make(struct plan *p, struct conf *c, const struct inv *inv, const struct plan_host *h,
	      const int *sel, unsigned nsel)
{
	unsigned before = nerrors(c), n = 0;
	struct work *ws;

	memset(p, 0, sizeof(*p));
	p->mem_available = h->memory > c->reserve_memory ? h->memory - c->reserve_memory : 0;
	p->cpus_available = h->cpus > c->reserve_cpus ? h->cpus - c->reserve_cpus : 0;
	if (nsel > PLAN_MAX_VMS) {
		conf_error(c, 0, "", "%u OSes selected; at most %u run at once", nsel, PLAN_MAX_VMS);
		return (int)(nerrors(c) - before);
	}
	ws = calloc(PLAN_MAX_VMS, sizeof(*ws));
	if (!ws) {
		conf_error(c, 0, "", "out of memory while planning");
		return (int)(nerrors(c) - before);
	}

	/* the VMs in start order: by order, then as selected */
	for (unsigned i = 0; i < nsel; i++) {
		int o = sel[i], k;
		bool dup = false;
		unsigned j;

		if (o < 0 || (unsigned)o >= inv->noses) {
			conf_error(c, 0, "", "no OS #%d in the inventory", o);
			continue;
		}
		for (j = 0; j < n; j++)
			dup |= ws[j].os == &inv->oses[o];
		if (dup) {
			conf_error(c, 0, "", "'%s' is selected twice", inv->oses[o].id);
			continue;
		}
		k = plan_conf_for_os(c, inv, o);
		j = n++;
		while (j > 0 && (ws[j - 1].s ? ws[j - 1].s->order : 0) > (k >= 0 ? c->os[k].order : 0)) {
			ws[j] = ws[j - 1];
			j--;
		}
		memset(&ws[j], 0, sizeof(ws[j]));
		ws[j].os = &inv->oses[o];
		ws[j].s = k >= 0 ? &c->os[k] : NULL;
	}

	for (unsigned i = 0; i < n; i++) {
		struct work *w = &ws[i];
		struct plan_vm *vm = &p->vm[i];
		const struct inv_os *os = w->os;
		size_t l;

		w->vm = vm;
		w->host = h;
		vm->os = (int)(os - inv->oses);
		vm->conf = w->s ? (int)(w->s - c->os) : -1;
		vm->boot_disk = -1;
		snprintf(vm->name, sizeof(vm->name), "%s", w->s ? w->s->name : os->id);
		if (name_used(p, i, vm->name))
			snprintf(vm->name, sizeof(vm->name), "%s", os->id);
		vm->order = w->s ? w->s->order : 0;
		vm->delay_ms = w->s ? w->s->delay_ms : 0;
		vm->on_reboot = w->s ? w->s->on_reboot : CONF_REBOOT_RESTART;
		snprintf(vm->loader, sizeof(vm->loader), "%s", os->loader);
		snprintf(vm->vars_name, sizeof(vm->vars_name), "%.56s.fd", os->id);
		l = strlen(vm->vars_name) - 3;
		for (size_t j = 0; j < l; j++) {
			char ch = vm->vars_name[j];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      ch == '.' || ch == '_' || ch == '-') || (j == 0 && ch == '.'))
				vm->vars_name[j] = '_';
		}
		if (os->image) {
			conf_error(c, sec_line(w), "", "'%s': booting image files is not supported yet", vm->name);
			w->bad = true;
			continue;
		}
		vm->firmware = resolve_fw(c, w);
		if (!w->bad && os->esp_disk < 0 && os->vm_disk < 0) {
			conf_error(c, sec_line(w), "", "'%s': the inventory does not say how a VM boots it", vm->name);
			w->bad = true;
		}
	}
	p->nvm = n;

	plan_memory(c, h, p, ws, n);
	plan_cpus(c, h, p, ws, n);
	plan_disks(c, inv, ws, n);
	free(ws);
	return (int)(nerrors(c) - before);
}
