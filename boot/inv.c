/*
 * The inventory read back from discovery's JSON (see inv.h; the producer
 * is disc/report.c:report_json()). The input is untrusted: every field is
 * type-checked, every string copied with its size checked, every
 * reference (a need's partition, the ESP of an OS) resolved, and the first
 * problem is reported with its JSON path.
 */
#include "inv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"
#include "util.h"

#define PATH_LEN 96		/* a JSON path; parents are printed with %.48s */

enum {
	S_REQ = 1 << 0,		/* must be present and a string */
	S_CUT = 1 << 1,		/* human text: cut to fit instead of refused */
	S_NONEMPTY = 1 << 2,
};

struct ctx {
	struct inv *inv;
	char *why;
	size_t whylen;
};

static int bad(struct ctx *x, const char *path, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct ctx *x, const char *path, const char *key, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!*path && !*key)
		set_why(x->why, x->whylen, "%s", msg);
	else
		set_why(x->why, x->whylen, "%s%s%s: %s", path, *path && *key ? "." : "", key, msg);
	return -EINVAL;
}

static const cJSON *item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A string field into @buf: missing or null is "" unless S_REQ. */
static int get_str(struct ctx *x, const cJSON *o, const char *path, const char *key, char *buf,
		   size_t size, unsigned flags)
{
	const cJSON *v = item(o, key);
	size_t n;

	buf[0] = 0;
	if (!v || cJSON_IsNull(v)) {
		if (flags & (S_REQ | S_NONEMPTY))
			return bad(x, path, key, "missing");
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(x, path, key, "not a string");
	n = strlen(v->valuestring);
	if (n >= size && !(flags & S_CUT))
		return bad(x, path, key, "longer than %zu bytes", size - 1);
	if ((flags & S_NONEMPTY) && !n)
		return bad(x, path, key, "empty");
	snprintf(buf, size, "%s", v->valuestring);
	return 0;
}

/* A whole number in 0..@max (missing: -ENOENT when not @req, @out unchanged). */
static int get_num(struct ctx *x, const cJSON *o, const char *path, const char *key, uint64_t max,
		   bool req, uint64_t *out)
{
	const cJSON *v = item(o, key);
	double d;

	if (!v) {
		if (req)
			return bad(x, path, key, "missing");
		return -ENOENT;
	}
	if (!cJSON_IsNumber(v))
		return bad(x, path, key, "not a number");
	d = v->valuedouble;
	/* 2^64 is exact as a double; NaN fails every comparison */
	if (!(d >= 0 && d < 18446744073709551616.0) || (double)(uint64_t)d != d || (uint64_t)d > max)
		return bad(x, path, key, "not a whole number from 0 to %llu", (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

/* An optional boolean (missing: false). */
static int get_bool(struct ctx *x, const cJSON *o, const char *path, const char *key, bool *out)
{
	const cJSON *v = item(o, key);

	*out = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return bad(x, path, key, "not true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* An object member: missing is NULL (-ENOENT when @req); another type is refused. */
static int get_obj(struct ctx *x, const cJSON *o, const char *path, const char *key, bool req,
		   bool nullable, const cJSON **out)
{
	const cJSON *v = item(o, key);

	*out = NULL;
	if (!v || (nullable && cJSON_IsNull(v)))
		return req ? bad(x, path, key, "missing") : 0;
	if (!cJSON_IsObject(v))
		return bad(x, path, key, "not an object");
	*out = v;
	return 0;
}

static int get_arr(struct ctx *x, const cJSON *o, const char *path, const char *key, bool req,
		   unsigned max, const cJSON **out, unsigned *n)
{
	const cJSON *v = item(o, key);
	int len;

	*out = NULL;
	*n = 0;
	if (!v)
		return req ? bad(x, path, key, "missing") : 0;
	if (!cJSON_IsArray(v))
		return bad(x, path, key, "not an array");
	len = cJSON_GetArraySize(v);
	if (len < 0 || (unsigned)len > max)
		return bad(x, path, key, "%d items, at most %u are handled", len, max);
	*out = v;
	*n = (unsigned)len;
	return 0;
}

/* --- disks ------------------------------------------------------------------ */

static int parse_part(struct ctx *x, const cJSON *o, const char *path, struct inv_part *p)
{
	const cJSON *fs, *win;
	uint64_t v;
	int r;

	if (!cJSON_IsObject(o))
		return bad(x, path, "", "not an object");
	if ((r = get_str(x, o, path, "id", p->id, sizeof(p->id), S_REQ | S_NONEMPTY)) ||
	    (r = get_str(x, o, path, "dev", p->dev, sizeof(p->dev), 0)) ||
	    (r = get_num(x, o, path, "num", 1u << 16, true, &v)))
		return r;
	if (!v)
		return bad(x, path, "num", "0 is no partition number");
	p->num = (unsigned)v;
	if ((r = get_num(x, o, path, "start", UINT64_MAX, true, &p->start)) ||
	    (r = get_num(x, o, path, "size", UINT64_MAX, true, &p->size)) ||
	    (r = get_str(x, o, path, "type_name", p->type_name, sizeof(p->type_name), S_CUT)) ||
	    (r = get_bool(x, o, path, "polyboot_esp", &p->polyboot_esp)) ||
	    (r = get_obj(x, o, path, "fs", false, true, &fs)) ||
	    (r = get_obj(x, o, path, "windows", false, true, &win)))
		return r;
	if (fs) {
		char sub[PATH_LEN];

		snprintf(sub, sizeof(sub), "%.48s.fs", path);
		if ((r = get_str(x, fs, sub, "type", p->fs, sizeof(p->fs), S_CUT)) ||
		    (r = get_str(x, fs, sub, "label", p->label, sizeof(p->label), S_CUT)))
			return r;
	}
	if (win) {
		char sub[PATH_LEN];

		snprintf(sub, sizeof(sub), "%.48s.windows", path);
		if ((r = get_bool(x, win, sub, "hibernated", &p->hibernated)) ||
		    (r = get_bool(x, win, sub, "bitlocker", &p->bitlocker)))
			return r;
	}
	return 0;
}

static int parse_disk(struct ctx *x, const cJSON *o, const char *path, struct inv_disk *d)
{
	const cJSON *parts, *e;
	unsigned n, i = 0;
	int r;

	if (!cJSON_IsObject(o))
		return bad(x, path, "", "not an object");
	if ((r = get_str(x, o, path, "id", d->id, sizeof(d->id), S_REQ | S_NONEMPTY)) ||
	    (r = get_str(x, o, path, "dev", d->dev, sizeof(d->dev), 0)) ||
	    (r = get_str(x, o, path, "name", d->name, sizeof(d->name), S_CUT)) ||
	    (r = get_str(x, o, path, "transport", d->transport, sizeof(d->transport), S_CUT)) ||
	    (r = get_str(x, o, path, "table", d->table, sizeof(d->table), S_CUT)) ||
	    (r = get_num(x, o, path, "size", UINT64_MAX, true, &d->size)) ||
	    (r = get_arr(x, o, path, "partitions", true, INV_MAX_PARTS, &parts, &n)))
		return r;
	if (!n)
		return 0;
	d->parts = calloc(n, sizeof(*d->parts));
	if (!d->parts)
		return bad(x, path, "partitions", "out of memory");
	cJSON_ArrayForEach(e, parts) {
		char sub[PATH_LEN];

		snprintf(sub, sizeof(sub), "%.48s.partitions[%u]", path, i);
		r = parse_part(x, e, sub, &d->parts[i]);
		if (r)
			return r;
		d->nparts = ++i;
	}
	return 0;
}

/* --- lookups ------------------------------------------------------------------ */

int inv_find_os(const struct inv *inv, const char *id)
{
	for (unsigned i = 0; i < inv->noses; i++)
		if (!strcmp(inv->oses[i].id, id))
			return (int)i;
	return -1;
}

int inv_find_disk(const struct inv *inv, const char *what)
{
	if (!what || !*what)
		return -1;
	for (unsigned i = 0; i < inv->ndisks; i++) {
		const struct inv_disk *d = &inv->disks[i];

		if (!strcasecmp(d->id, what) || (d->dev[0] && !strcmp(d->dev, what)))
			return (int)i;
	}
	return -1;
}

int inv_find_part(const struct inv *inv, const char *what, int *disk)
{
	if (!what || !*what)
		return -1;
	for (unsigned i = 0; i < inv->ndisks; i++) {
		const struct inv_disk *d = &inv->disks[i];

		for (unsigned j = 0; j < d->nparts; j++) {
			const struct inv_part *p = &d->parts[j];

			if (!strcasecmp(p->id, what) || (p->dev[0] && !strcmp(p->dev, what))) {
				if (disk)
					*disk = (int)i;
				return (int)j;
			}
		}
	}
	return -1;
}

/* The partition named by string field @key of @o, resolved. */
static int ref_part(struct ctx *x, const cJSON *o, const char *path, const char *key, int *disk, int *part)
{
	char id[48];
	int r = get_str(x, o, path, key, id, sizeof(id), S_REQ | S_NONEMPTY);

	if (r)
		return r;
	*part = inv_find_part(x->inv, id, disk);
	if (*part < 0)
		return bad(x, path, key, "no such partition '%s'", id);
	return 0;
}

/* --- OSes ------------------------------------------------------------------------ */

static int parse_kexec(struct ctx *x, const cJSON *k, const char *path, struct inv_os *os)
{
	const cJSON *a, *e;
	unsigned n, i = 0;
	int r;

	if ((r = ref_part(x, k, path, "partition", &os->kexec_disk, &os->kexec_part)) ||
	    (r = get_str(x, k, path, "kernel", os->kernel, sizeof(os->kernel), S_REQ | S_NONEMPTY)) ||
	    (r = get_str(x, k, path, "cmdline", os->cmdline, sizeof(os->cmdline), 0)) ||
	    (r = get_bool(x, k, path, "uki", &os->kexec_uki)) ||
	    (r = get_arr(x, k, path, "initrd", false, INV_MAX_INITRD, &a, &n)))
		return r;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || !e->valuestring || !*e->valuestring) {
			char sub[PATH_LEN];

			snprintf(sub, sizeof(sub), "%.48s.initrd[%u]", path, i);
			return bad(x, sub, "", "not a path");
		}
		if (strlen(e->valuestring) >= sizeof(os->initrd[0])) {
			char sub[PATH_LEN];

			snprintf(sub, sizeof(sub), "%.48s.initrd[%u]", path, i);
			return bad(x, sub, "", "longer than %zu bytes", sizeof(os->initrd[0]) - 1);
		}
		snprintf(os->initrd[i], sizeof(os->initrd[i]), "%s", e->valuestring);
		os->ninitrd = ++i;
	}
	os->has_kexec = true;
	return 0;
}

static int parse_native(struct ctx *x, const cJSON *o, const char *path, struct inv_os *os)
{
	const cJSON *nat, *k;
	char sub[PATH_LEN], b[8];
	int r;

	if ((r = get_obj(x, o, path, "native", false, true, &nat)) || !nat)
		return r;
	snprintf(sub, sizeof(sub), "%.48s.native", path);
	if ((r = get_str(x, nat, sub, "bootnext", b, sizeof(b), 0)))
		return r;
	if (b[0]) {
		unsigned v = 0;

		for (unsigned i = 0; i < 4; i++) {
			int h = hex_digit(b[i]);

			if (h < 0)
				return bad(x, sub, "bootnext", "'%s' is not 4 hex digits", b);
			v = v << 4 | (unsigned)h;
		}
		if (b[4])
			return bad(x, sub, "bootnext", "'%s' is not 4 hex digits", b);
		os->bootnext = (int)v;
	}
	if ((r = get_obj(x, nat, sub, "kexec", false, true, &k)) || !k)
		return r;
	snprintf(sub, sizeof(sub), "%.48s.native.kexec", path);
	return parse_kexec(x, k, sub, os);
}

static int parse_vm(struct ctx *x, const cJSON *o, const char *path, struct inv_os *os)
{
	const cJSON *vm;
	char sub[PATH_LEN], id[48];
	int r;

	if ((r = get_obj(x, o, path, "vm", true, false, &vm)))
		return r;
	snprintf(sub, sizeof(sub), "%.48s.vm", path);
	if (item(vm, "image")) {
		/* an image file: vm.partition holds it, vm.image is its path */
		char img[INV_PATH_MAX];

		if ((r = get_str(x, vm, sub, "image", img, sizeof(img), S_REQ | S_NONEMPTY)))
			return r;
		os->image = true;
		return 0;
	}
	if (item(vm, "partition")) {
		if ((r = ref_part(x, vm, sub, "partition", &os->esp_disk, &os->esp_part)) ||
		    (r = get_str(x, vm, sub, "loader", os->loader, sizeof(os->loader), S_REQ | S_NONEMPTY)))
			return r;
		return 0;
	}
	if (item(vm, "disk")) {
		if ((r = get_str(x, vm, sub, "disk", id, sizeof(id), S_REQ | S_NONEMPTY)))
			return r;
		os->vm_disk = inv_find_disk(x->inv, id);
		if (os->vm_disk < 0)
			return bad(x, sub, "disk", "no such disk '%s'", id);
	}
	return 0;
}

static int parse_needs(struct ctx *x, const cJSON *o, const char *path, struct inv_os *os)
{
	const cJSON *a, *e;
	unsigned n, i = 0;
	int r;

	if ((r = get_arr(x, o, path, "needs", true, INV_MAX_NEEDS, &a, &n)))
		return r;
	cJSON_ArrayForEach(e, a) {
		struct inv_need *nd = &os->needs[i];
		char sub[PATH_LEN], id[48];

		snprintf(sub, sizeof(sub), "%.48s.needs[%u]", path, i);
		if (!cJSON_IsObject(e))
			return bad(x, sub, "", "not an object");
		if (item(e, "partition")) {
			if ((r = ref_part(x, e, sub, "partition", &nd->disk, &nd->part)))
				return r;
		} else {
			if ((r = get_str(x, e, sub, "disk", id, sizeof(id), S_REQ | S_NONEMPTY)))
				return r;
			nd->disk = inv_find_disk(x->inv, id);
			nd->part = -1;
			if (nd->disk < 0)
				return bad(x, sub, "disk", "no such disk '%s'", id);
		}
		if ((r = get_str(x, e, sub, "role", nd->role, sizeof(nd->role), S_REQ | S_NONEMPTY)))
			return r;
		if (nd->part >= 0) {
			const struct inv_part *p = &x->inv->disks[nd->disk].parts[nd->part];

			os->hibernated |= p->hibernated;
			os->bitlocker |= p->bitlocker;
		}
		os->nneeds = ++i;
	}
	return 0;
}

static int parse_os(struct ctx *x, const cJSON *o, const char *path, struct inv_os *os)
{
	const cJSON *w;
	unsigned n;
	int r;

	os->esp_disk = os->esp_part = -1;
	os->vm_disk = -1;
	os->bootnext = -1;
	os->kexec_disk = os->kexec_part = -1;
	if (!cJSON_IsObject(o))
		return bad(x, path, "", "not an object");
	if ((r = get_str(x, o, path, "id", os->id, sizeof(os->id), S_REQ | S_NONEMPTY)) ||
	    (r = get_str(x, o, path, "kind", os->kind, sizeof(os->kind), S_REQ | S_NONEMPTY)) ||
	    (r = get_str(x, o, path, "label", os->label, sizeof(os->label), S_REQ | S_CUT)) ||
	    (r = get_str(x, o, path, "firmware", os->firmware, sizeof(os->firmware), S_REQ | S_CUT)) ||
	    (r = parse_vm(x, o, path, os)) ||
	    (r = parse_native(x, o, path, os)) ||
	    (r = parse_needs(x, o, path, os)) ||
	    (r = get_arr(x, o, path, "warnings", false, 1u << 16, &w, &n)))
		return r;
	os->nwarnings = n;
	if (!strcmp(os->kind, "disk-image") || !strcmp(os->kind, "iso"))
		os->image = true;
	return 0;
}

/* --- the whole ----------------------------------------------------------------------- */

void inv_free(struct inv *inv)
{
	for (unsigned i = 0; i < inv->ndisks && i < INV_MAX_DISKS; i++) {
		free(inv->disks[i].parts);
		inv->disks[i].parts = NULL;
		inv->disks[i].nparts = 0;
	}
	inv->ndisks = 0;
	inv->noses = 0;
}

/* Ids are how the configuration names things: two alike would be ambiguous. */
static int check_unique(struct ctx *x)
{
	const struct inv *inv = x->inv;
	char path[PATH_LEN];

	for (unsigned i = 0; i < inv->ndisks; i++) {
		const struct inv_disk *d = &inv->disks[i];

		if (inv_find_disk(inv, d->id) != (int)i) {
			snprintf(path, sizeof(path), "disks[%u]", i);
			return bad(x, path, "id", "'%s' is used twice", d->id);
		}
		for (unsigned j = 0; j < d->nparts; j++) {
			int pd = -1, pj = inv_find_part(inv, d->parts[j].id, &pd);

			if (pd != (int)i || pj != (int)j) {
				snprintf(path, sizeof(path), "disks[%u].partitions[%u]", i, j);
				return bad(x, path, "id", "'%s' is used twice", d->parts[j].id);
			}
		}
	}
	for (unsigned i = 0; i < inv->noses; i++)
		if (inv_find_os(inv, inv->oses[i].id) != (int)i) {
			snprintf(path, sizeof(path), "oses[%u]", i);
			return bad(x, path, "id", "'%s' is used twice", inv->oses[i].id);
		}
	return 0;
}

int inv_from_json(struct inv *inv, const char *json, size_t len, char *why, size_t whylen)
{
	struct ctx x = { .inv = inv, .why = why, .whylen = whylen };
	const cJSON *a, *e;
	cJSON *root;
	uint64_t ver;
	unsigned n, i;
	int r;

	memset(inv, 0, sizeof(*inv));
	set_why(why, whylen, "%s", "");
	if (!json) {
		set_why(why, whylen, "no input");
		return -EINVAL;
	}
	root = cJSON_ParseWithLength(json, len);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		if (at && at >= json && at <= json + len)
			set_why(why, whylen, "not JSON (at byte %zu)", (size_t)(at - json));
		else
			set_why(why, whylen, "not JSON");
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		r = bad(&x, "", "", "not a JSON object");
		goto out;
	}
	r = get_num(&x, root, "", "polyboot_inventory", UINT32_MAX, false, &ver);
	if (r == -ENOENT)
		r = 0;
	else if (!r && ver != 1)
		r = bad(&x, "", "polyboot_inventory", "version %llu; this polyboot reads version 1",
			(unsigned long long)ver);
	if (r)
		goto out;

	if ((r = get_arr(&x, root, "", "disks", true, INV_MAX_DISKS, &a, &n)))
		goto out;
	i = 0;
	cJSON_ArrayForEach(e, a) {
		char path[PATH_LEN];

		snprintf(path, sizeof(path), "disks[%u]", i);
		inv->ndisks = i + 1;	/* counted before it is filled: inv_free frees its partitions */
		if ((r = parse_disk(&x, e, path, &inv->disks[i])))
			goto out;
		i++;
	}

	if ((r = get_arr(&x, root, "", "oses", true, INV_MAX_OSES, &a, &n)))
		goto out;
	i = 0;
	cJSON_ArrayForEach(e, a) {
		char path[PATH_LEN];

		snprintf(path, sizeof(path), "oses[%u]", i);
		if ((r = parse_os(&x, e, path, &inv->oses[i])))
			goto out;
		inv->noses = ++i;
	}
	r = check_unique(&x);
out:
	cJSON_Delete(root);
	if (r)
		inv_free(inv);
	return r;
}
