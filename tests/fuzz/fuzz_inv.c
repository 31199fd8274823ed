/*
 * libFuzzer: discovery's JSON read back (inv_from_json), then the planner
 * on what was read: every OS selected with no configuration, and again
 * with sections that match by glob and ask for disks, CPUs and memory.
 * Besides memory safety it checks that every index the inventory hands
 * out is in range and every string is NUL-terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "inv.h"
#include "plan.h"

#define TERMINATED(s) (strnlen((s), sizeof(s)) < sizeof(s))

static void check_ref(const struct inv *inv, int disk, int part, bool whole_ok)
{
	if (disk < 0 && part < 0)
		return;
	if (disk < 0 || (unsigned)disk >= inv->ndisks)
		__builtin_trap();
	if (part < 0 ? !whole_ok : (unsigned)part >= inv->disks[disk].nparts)
		__builtin_trap();
}

static void check_inv(const struct inv *inv)
{
	if (inv->ndisks > INV_MAX_DISKS || inv->noses > INV_MAX_OSES)
		__builtin_trap();
	for (unsigned i = 0; i < inv->ndisks; i++) {
		const struct inv_disk *d = &inv->disks[i];

		if (!TERMINATED(d->id) || !TERMINATED(d->dev) || !TERMINATED(d->name) || d->nparts > INV_MAX_PARTS ||
		    (d->nparts && !d->parts))
			__builtin_trap();
		for (unsigned j = 0; j < d->nparts; j++)
			if (!TERMINATED(d->parts[j].id) || !TERMINATED(d->parts[j].label) || !d->parts[j].num)
				__builtin_trap();
	}
	for (unsigned i = 0; i < inv->noses; i++) {
		const struct inv_os *o = &inv->oses[i];

		if (!TERMINATED(o->id) || !TERMINATED(o->label) || !TERMINATED(o->loader) || !TERMINATED(o->cmdline) ||
		    o->nneeds > INV_MAX_NEEDS || o->ninitrd > INV_MAX_INITRD || o->bootnext > 0xffff)
			__builtin_trap();
		check_ref(inv, o->esp_disk, o->esp_part, false);
		check_ref(inv, o->kexec_disk, o->kexec_part, false);
		if (o->vm_disk >= (int)inv->ndisks)
			__builtin_trap();
		for (unsigned j = 0; j < o->nneeds; j++)
			check_ref(inv, o->needs[j].disk, o->needs[j].part, true);
		if (inv_find_os(inv, o->id) != (int)i)
			__builtin_trap();
	}
}

static void check_plan(const struct plan *p, const struct inv *inv)
{
	if (p->nvm > PLAN_MAX_VMS)
		__builtin_trap();
	for (unsigned i = 0; i < p->nvm; i++) {
		const struct plan_vm *vm = &p->vm[i];

		if (vm->ndisks > PLAN_MAX_DISKS || vm->nnotes > PLAN_MAX_NOTES || !TERMINATED(vm->cpuset) ||
		    vm->boot_disk >= (int)vm->ndisks || (unsigned)vm->os >= inv->noses)
			__builtin_trap();
		for (unsigned j = 0; j < vm->ndisks; j++)
			if (!TERMINATED(vm->disks[j].spec) || !TERMINATED(vm->disks[j].desc))
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inv *inv = malloc(sizeof(*inv));
	struct conf *c = malloc(sizeof(*c));
	struct plan *p = malloc(sizeof(*p));
	struct plan_host h = { .cpus = 64, .memory = 64ull << 30 };
	int sel[PLAN_MAX_VMS];
	unsigned n;
	char why[128];

	if (!inv || !c || !p)
		goto out;
	if (inv_from_json(inv, (const char *)data, size, why, sizeof(why)) != 0) {
		if (!TERMINATED(why) || !why[0])
			__builtin_trap();
		goto out;
	}
	check_inv(inv);

	/* everything at once, no configuration */
	conf_defaults(c);
	n = inv->noses < PLAN_MAX_VMS ? inv->noses : PLAN_MAX_VMS;
	for (unsigned i = 0; i < n; i++)
		sel[i] = (int)i;
	if (plan_make(p, c, inv, &h, sel, n) == 0)
		check_plan(p, inv);

	/* sections by glob, with disk lines naming the first disk and partition */
	conf_defaults(c);
	c->nos = 3;
	snprintf(c->os[0].name, sizeof(c->os[0].name), "a");
	snprintf(c->os[0].match, sizeof(c->os[0].match), "*i*");
	c->os[0].autostart = true;
	c->os[0].memory = 1ull << 30;
	c->os[0].cpus = 2;
	if (inv->ndisks) {
		c->os[0].ndisks = 1;
		snprintf(c->os[0].disk[0].what, sizeof(c->os[0].disk[0].what), "%s", inv->disks[0].id);
		c->os[0].disk[0].mode = CONF_DISK_RO;
		if (inv->disks[0].nparts) {
			c->os[1].ndisks = 1;
			snprintf(c->os[1].disk[0].what, sizeof(c->os[1].disk[0].what), "%s",
				 inv->disks[0].parts[0].id);
			c->os[1].disk[0].mode = CONF_DISK_COW;
		}
	}
	snprintf(c->os[1].name, sizeof(c->os[1].name), "b");
	snprintf(c->os[1].match, sizeof(c->os[1].match), "*");
	c->os[1].autostart = true;
	c->os[1].order = -1;
	c->os[1].disks = CONF_DISKS_NONE;
	snprintf(c->os[2].name, sizeof(c->os[2].name), "c");
	snprintf(c->os[2].match, sizeof(c->os[2].match), "%s", inv->noses ? inv->oses[inv->noses - 1].id : "x");
	c->os[2].autostart = true;
	n = plan_default_set(c, inv, sel, PLAN_MAX_VMS);
	if (n > PLAN_MAX_VMS)
		__builtin_trap();
	for (unsigned i = 0; i < n; i++)
		if (sel[i] < 0 || (unsigned)sel[i] >= inv->noses)
			__builtin_trap();
	if (plan_make(p, c, inv, &h, sel, n) == 0)
		check_plan(p, inv);
	inv_free(inv);
out:
	free(inv);
	free(c);
	free(p);
	return 0;
}
