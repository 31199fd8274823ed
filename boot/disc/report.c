#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "disc/detect.h"
#include "disc/report.h"
#include "disc/scan.h"
#include "util.h"

static cJSON *warn_json(const struct warns *w)
{
	cJSON *a = cJSON_CreateArray();

	for (unsigned i = 0; i < w->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(w->msg[i]));
	if (w->dropped) {
		char m[64];

		snprintf(m, sizeof(m), "(%u more warnings not kept)", w->dropped);
		cJSON_AddItemToArray(a, cJSON_CreateString(m));
	}
	return a;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *part_json(const struct sc_part *p)
{
	cJSON *o = cJSON_CreateObject(), *fs;

	cJSON_AddNumberToObject(o, "num", p->num);
	cJSON_AddStringToObject(o, "id", p->id);
	add_str_or_null(o, "dev", p->dev);
	cJSON_AddNumberToObject(o, "start", (double)p->start);
	cJSON_AddNumberToObject(o, "size", (double)p->size);
	cJSON_AddStringToObject(o, "type", p->type);
	cJSON_AddStringToObject(o, "type_name", p->type_name ? p->type_name : "unknown");
	if (p->name[0])
		cJSON_AddStringToObject(o, "name", p->name);
	if (p->active)
		cJSON_AddTrueToObject(o, "active");
	if (p->polyboot_esp)
		cJSON_AddTrueToObject(o, "polyboot_esp");
	if (!p->extended) {
		fs = cJSON_AddObjectToObject(o, "fs");
		add_str_or_null(fs, "type", p->fs.type == FS_UNKNOWN ? NULL : fs_type_name(p->fs.type));
		add_str_or_null(fs, "uuid", p->fs.uuid);
		add_str_or_null(fs, "label", p->fs.label);
	}
	if (p->ntfs_ok || p->fs.type == FS_BITLOCKER) {
		cJSON *n = cJSON_AddObjectToObject(o, "windows");

		cJSON_AddBoolToObject(n, "bitlocker", p->fs.type == FS_BITLOCKER);
		if (p->ntfs_ok && p->fs.type == FS_NTFS) {
			cJSON_AddBoolToObject(n, "hibernated", p->ntfs.hiber == NTFS_HIBER_HIBERNATED);
			cJSON_AddBoolToObject(n, "dirty", p->ntfs.dirty);
			cJSON_AddBoolToObject(n, "system", p->ntfs.has_windows_dir || p->ntfs.has_bootmgr ||
							    p->ntfs.has_hiberfil || p->ntfs.has_pagefile);
		}
	}
	cJSON_AddItemToObject(o, "warnings", warn_json(&p->warn));
	return o;
}

static cJSON *disk_json(const struct sc_disk *d)
{
	cJSON *o = cJSON_CreateObject(), *parts;

	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddStringToObject(o, "dev", d->path);
	cJSON_AddStringToObject(o, "name", d->name);
	add_str_or_null(o, "model", d->model);
	add_str_or_null(o, "transport", d->transport);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	cJSON_AddNumberToObject(o, "sector_size", d->sector);
	add_str_or_null(o, "table", d->table);
	cJSON_AddStringToObject(o, "bootcode", bootcode_name(d->boot.kind));
	if (d->boot.kind == BOOTCODE_GRUB2)
		cJSON_AddNumberToObject(o, "grub_core_lba", (double)d->boot.grub_core_lba);
	parts = cJSON_AddArrayToObject(o, "partitions");
	for (unsigned i = 0; i < d->nparts; i++)
		cJSON_AddItemToArray(parts, part_json(&d->parts[i]));
	cJSON_AddItemToObject(o, "warnings", warn_json(&d->warn));
	return o;
}

static cJSON *entry_json(const struct sc_entry *e)
{
	cJSON *o = cJSON_CreateObject(), *a;

	cJSON_AddStringToObject(o, "title", e->title);
	cJSON_AddStringToObject(o, "kind", e->kind);
	cJSON_AddBoolToObject(o, "default", e->is_default);
	add_str_or_null(o, "partition", e->kpart ? e->kpart->id : NULL);
	add_str_or_null(o, "kernel", e->kernel);
	a = cJSON_AddArrayToObject(o, "initrd");
	for (unsigned i = 0; i < e->ninitrd; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(e->initrd[i]));
	add_str_or_null(o, "cmdline", e->cmdline);
	add_str_or_null(o, "root", e->root ? e->root->id : NULL);
	return o;
}

/* The other OSes that need partition @p (or whole disk @d). */
static cJSON *sharers(const struct scan *s, const struct sc_os *self, const struct sc_need *n)
{
	cJSON *a = NULL;

	for (unsigned i = 0; i < s->noses; i++) {
		const struct sc_os *o = &s->oses[i];

		if (o == self)
			continue;
		for (unsigned j = 0; j < o->nneeds; j++) {
			const struct sc_need *m = &o->needs[j];
			bool same = n->part ? m->part == n->part : (m->disk == n->disk);

			/* image files side by side on one filesystem: polyboot reads
			 * that filesystem for both; no VM mounts it */
			if (!strcmp(n->role, "image") && !strcmp(m->role, "image"))
				continue;

			/* a whole disk is shared with every OS on one of its partitions */
			if (!same && !n->part && m->part && m->part->disk == n->disk)
				same = true;
			if (!same && n->part && !m->part && m->disk == n->part->disk)
				same = true;
			if (same) {
				if (!a)
					a = cJSON_CreateArray();
				cJSON_AddItemToArray(a, cJSON_CreateString(o->id));
				break;
			}
		}
	}
	return a;
}

static cJSON *os_json(const struct scan *s, const struct sc_os *os)
{
	cJSON *o = cJSON_CreateObject(), *vm, *nat, *a, *shares;

	cJSON_AddStringToObject(o, "id", os->id);
	cJSON_AddStringToObject(o, "label", os->label);
	cJSON_AddStringToObject(o, "kind", os->kind);
	cJSON_AddStringToObject(o, "firmware", os->firmware);
	vm = cJSON_AddObjectToObject(o, "vm");
	if (os->esp) {
		cJSON_AddStringToObject(vm, "partition", os->esp->id);
		cJSON_AddStringToObject(vm, "loader", os->loader);
		cJSON_AddBoolToObject(vm, "fallback_copy", os->fallback);
	} else if (os->disk) {
		cJSON_AddStringToObject(vm, "disk", os->disk->id);
	} else if (os->image_part) {
		cJSON_AddStringToObject(vm, "partition", os->image_part->id);
		cJSON_AddStringToObject(vm, "image", os->loader);
		cJSON_AddStringToObject(vm, "format", os->image_format);
		cJSON_AddNumberToObject(vm, "virtual_size", (double)os->image_size);
	}
	nat = cJSON_AddObjectToObject(o, "native");
	if (os->bootnum >= 0) {
		char b[12];

		snprintf(b, sizeof(b), "%04X", (unsigned)os->bootnum & 0xffff);
		cJSON_AddStringToObject(nat, "bootnext", b);
	} else {
		cJSON_AddNullToObject(nat, "bootnext");
	}
	if (os->kexec >= 0) {
		const struct sc_entry *e = &os->entries[os->kexec];
		cJSON *k = cJSON_AddObjectToObject(nat, "kexec");

		cJSON_AddStringToObject(k, "title", e->title);
		cJSON_AddStringToObject(k, "partition", e->kpart->id);
		cJSON_AddStringToObject(k, "kernel", e->kernel);
		a = cJSON_AddArrayToObject(k, "initrd");
		for (unsigned i = 0; i < e->ninitrd; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(e->initrd[i]));
		cJSON_AddStringToObject(k, "cmdline", e->cmdline);
		cJSON_AddBoolToObject(k, "uki", strcmp(e->kind, "uki") == 0);
	} else {
		cJSON_AddNullToObject(nat, "kexec");
	}
	add_str_or_null(o, "config", os->config);
	a = cJSON_AddArrayToObject(o, "entries");
	for (unsigned i = 0; i < os->nentries; i++)
		cJSON_AddItemToArray(a, entry_json(&os->entries[i]));
	if (os->entries_dropped)
		cJSON_AddNumberToObject(o, "entries_not_listed", os->entries_dropped);
	a = cJSON_AddArrayToObject(o, "needs");
	shares = cJSON_AddArrayToObject(o, "shares");
	for (unsigned i = 0; i < os->nneeds; i++) {
		const struct sc_need *n = &os->needs[i];
		cJSON *x = cJSON_CreateObject(), *with;

		if (n->part)
			cJSON_AddStringToObject(x, "partition", n->part->id);
		else
			cJSON_AddStringToObject(x, "disk", n->disk->id);
		cJSON_AddStringToObject(x, "role", n->role);
		if (n->detail[0])
			cJSON_AddStringToObject(x, "detail", n->detail);
		cJSON_AddItemToArray(a, x);
		with = sharers(s, os, n);
		if (with) {
			cJSON *y = cJSON_CreateObject();

			if (n->part)
				cJSON_AddStringToObject(y, "partition", n->part->id);
			else
				cJSON_AddStringToObject(y, "disk", n->disk->id);
			cJSON_AddStringToObject(y, "role", n->role);
			cJSON_AddItemToObject(y, "with", with);
			cJSON_AddItemToArray(shares, y);
		}
	}
	cJSON_AddItemToObject(o, "warnings", warn_json(&os->warn));
	return o;
}

char *report_json(const struct scan *s)
{
	cJSON *root = cJSON_CreateObject(), *a;
	char *out, b[12];

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "polyboot_inventory", 1);
	a = cJSON_AddArrayToObject(root, "disks");
	for (unsigned i = 0; i < s->ndisks; i++)
		cJSON_AddItemToArray(a, disk_json(s->disks[i]));
	a = cJSON_AddArrayToObject(root, "oses");
	for (unsigned i = 0; i < s->noses; i++)
		cJSON_AddItemToArray(a, os_json(s, &s->oses[i]));
	cJSON_AddBoolToObject(root, "efivars", s->ev.present);
	a = cJSON_AddArrayToObject(root, "boot_options");
	for (unsigned i = 0; i < s->ev.nopts; i++) {
		const struct efivars_opt *o = &s->ev.opts[i];
		cJSON *x = cJSON_CreateObject();
		struct sc_part *p = o->lo.has_hd ? scan_find_part_guid((struct scan *)s, &o->lo.hd.part_guid) : NULL;
		struct sc_os *os = detect_bootopt_os((struct scan *)s, o);

		snprintf(b, sizeof(b), "%04X", o->num);
		cJSON_AddStringToObject(x, "num", b);
		cJSON_AddStringToObject(x, "label", o->lo.desc);
		cJSON_AddBoolToObject(x, "active", !!(o->lo.attrs & LOAD_OPTION_ACTIVE));
		cJSON_AddBoolToObject(x, "hidden", !!(o->lo.attrs & LOAD_OPTION_HIDDEN));
		cJSON_AddBoolToObject(x, "valid", !o->bad);
		add_str_or_null(x, "path", o->lo.path);
		add_str_or_null(x, "partition", p ? p->id : NULL);
		add_str_or_null(x, "file", o->lo.file);
		add_str_or_null(x, "os", os ? os->id : NULL);
		cJSON_AddItemToArray(a, x);
	}
	a = cJSON_AddArrayToObject(root, "boot_order");
	for (unsigned i = 0; i < s->ev.norder; i++) {
		snprintf(b, sizeof(b), "%04X", s->ev.order[i]);
		cJSON_AddItemToArray(a, cJSON_CreateString(b));
	}
	if (s->ev.bootcurrent >= 0) {
		snprintf(b, sizeof(b), "%04X", (unsigned)s->ev.bootcurrent & 0xffff);
		cJSON_AddStringToObject(root, "boot_current", b);
	} else {
		cJSON_AddNullToObject(root, "boot_current");
	}
	cJSON_AddItemToObject(root, "warnings", warn_json(&s->warn));
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}

static const char *human(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;
	double v = (double)b;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static const char *part_short(const struct sc_part *p, char *buf, size_t len)
{
	if (p->dev[0]) {
		const char *b = strrchr(p->dev, '/');

		snprintf(buf, len, "%.40s", b ? b + 1 : p->dev);
	} else {
		snprintf(buf, len, "%.40s:%u", p->disk->name, p->num);
	}
	return buf;
}

static void print_warns(FILE *out, const char *indent, const struct warns *w)
{
	for (unsigned i = 0; i < w->n; i++)
		fprintf(out, "%s! %s\n", indent, w->msg[i]);
	if (w->dropped)
		fprintf(out, "%s! (%u more warnings)\n", indent, w->dropped);
}

void report_table(const struct scan *s, FILE *out)
{
	char a[32], b[64];

	fprintf(out, "DISKS\n");
	for (unsigned i = 0; i < s->ndisks; i++) {
		const struct sc_disk *d = s->disks[i];

		fprintf(out, "  %-12s %-10s %-4s %-9s boot code: %-11s %s%s%s\n", d->name, human(d->size, a, sizeof(a)),
			d->table[0] ? d->table : "-", d->transport, bootcode_name(d->boot.kind), d->id,
			d->model[0] ? "  " : "", d->model);
		print_warns(out, "    ", &d->warn);
		for (unsigned j = 0; j < d->nparts; j++) {
			const struct sc_part *p = &d->parts[j];
			const char *fs = p->fs.type == FS_UNKNOWN ? "-" : fs_type_name(p->fs.type);

			fprintf(out, "    %-14s %-10s %-18s %-9s %-20s %s%s%s\n", part_short(p, b, sizeof(b)),
				human(p->size, a, sizeof(a)), p->type_name, p->extended ? "" : fs,
				p->fs.label[0] ? p->fs.label : "", p->active ? "active " : "",
				p->ntfs_ok && p->ntfs.hiber == NTFS_HIBER_HIBERNATED ? "HIBERNATED " : "",
				p->fs.type == FS_BITLOCKER ? "BITLOCKER" : "");
			print_warns(out, "      ", &p->warn);
		}
	}
	fprintf(out, "\nOPERATING SYSTEMS (%u)\n", s->noses);
	for (unsigned i = 0; i < s->noses; i++) {
		const struct sc_os *os = &s->oses[i];

		fprintf(out, "  %-40s %s\n", os->label, os->id);
		fprintf(out, "      %-13s %s", os->kind, os->firmware);
		if (os->esp)
			fprintf(out, "  %s %s%s", part_short(os->esp, b, sizeof(b)), os->loader,
				os->fallback ? " (also \\EFI\\BOOT\\BOOTX64.EFI)" : "");
		else if (os->disk)
			fprintf(out, "  whole disk %s", os->disk->name);
		else if (os->image_part)
			fprintf(out, "  %s image %s on %s", os->image_format, os->loader,
				part_short(os->image_part, b, sizeof(b)));
		fprintf(out, "\n");
		if (os->bootnum >= 0 || os->kexec >= 0) {
			fprintf(out, "      native:");
			if (os->bootnum >= 0)
				fprintf(out, " BootNext=%04X", (unsigned)os->bootnum);
			if (os->kexec >= 0)
				fprintf(out, " kexec %s", os->entries[os->kexec].kernel);
			fprintf(out, "\n");
		}
		for (unsigned j = 0; j < os->nentries; j++)
			fprintf(out, "      %c %s\n", os->entries[j].is_default ? '*' : '-', os->entries[j].title);
		fprintf(out, "      needs:");
		for (unsigned j = 0; j < os->nneeds; j++) {
			const struct sc_need *n = &os->needs[j];

			fprintf(out, " %s=%s", n->role, n->part ? part_short(n->part, b, sizeof(b)) : n->disk->name);
		}
		fprintf(out, "\n");
		print_warns(out, "      ", &os->warn);
	}
	if (s->ev.present) {
		fprintf(out, "\nBOOT OPTIONS (BootOrder:");
		for (unsigned i = 0; i < s->ev.norder; i++)
			fprintf(out, " %04X", s->ev.order[i]);
		fprintf(out, ")\n");
		for (unsigned i = 0; i < s->ev.nopts; i++) {
			const struct efivars_opt *o = &s->ev.opts[i];
			struct sc_os *os = detect_bootopt_os((struct scan *)s, o);

			fprintf(out, "  Boot%04X%c %-28s %s%s%s\n", o->num, o->lo.attrs & LOAD_OPTION_ACTIVE ? '*' : ' ',
				o->lo.desc, o->lo.path, os ? " -> " : "", os ? os->id : "");
		}
	}
	if (s->warn.n) {
		fprintf(out, "\nWARNINGS\n");
		print_warns(out, "  ", &s->warn);
	}
}
