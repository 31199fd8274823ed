/*
 * libFuzzer: polyboot.conf parsing of arbitrary bytes. Besides memory
 * safety it checks the bounds every user of struct conf relies on: counts
 * within their arrays, every string NUL-terminated within its field, line
 * numbers within the file, and every error formatting without overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define FIELD_OK(f) (strnlen((f), sizeof(f)) < sizeof(f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = malloc(sizeof(*c));
	unsigned lines = 1;
	char buf[1024], small[8];
	int n;

	if (!c)
		return 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	n = conf_parse(c, "/esp/EFI/polyboot/polyboot.conf", (const char *)data, size);
	if (n < 0 || (unsigned)n != c->nerr || c->nerr > CONF_MAX_ERRORS ||
	    (c->err_dropped && c->nerr != CONF_MAX_ERRORS))
		__builtin_trap();
	if (c->nos > CONF_MAX_OS || c->ndefault > CONF_MAX_DEFAULT || !c->present)
		__builtin_trap();
	for (unsigned i = 0; i < c->nerr; i++) {
		const struct conf_err *e = &c->err[i];

		if (!FIELD_OK(e->key) || !FIELD_OK(e->msg) || !e->msg[0] || e->line > lines)
			__builtin_trap();
		conf_format_error(c, i, buf, sizeof(buf));
		if (strnlen(buf, sizeof(buf)) >= sizeof(buf) - 1 || !strstr(buf, e->msg))
			__builtin_trap();
		conf_format_error(c, i, small, sizeof(small));
		if (strnlen(small, sizeof(small)) == sizeof(small))
			__builtin_trap();
	}
	for (unsigned i = 0; i < c->ndefault; i++)
		if (!FIELD_OK(c->defaults[i]) || !c->defaults[i][0])
			__builtin_trap();
	for (unsigned i = 0; i < c->nos; i++) {
		const struct conf_os *o = &c->os[i];

		if (!FIELD_OK(o->name) || !o->name[0] || !FIELD_OK(o->match) || !o->match[0] ||
		    conf_find_os(c, o->name) != o || o->line == 0 || o->line > lines)
			__builtin_trap();
		if (o->ndisks > CONF_MAX_DISKS || o->ndevices > CONF_MAX_DEVICES ||
		    (o->cpus && (o->cpus > 255 || !o->line_cpus)) ||
		    (o->memory && (o->memory < (64ull << 20) || !o->line_memory)) ||
		    o->order < -1000 || o->order > 1000 || o->delay_ms > 600000)
			__builtin_trap();
		for (unsigned j = 0; j < o->ndisks; j++)
			if (!FIELD_OK(o->disk[j].what) || !o->disk[j].what[0] || o->disk[j].line < o->line)
				__builtin_trap();
		for (unsigned j = 0; j < o->ndevices; j++)
			if (strlen(o->device[j].bdf) != 12 || o->device[j].line < o->line)
				__builtin_trap();
	}
	if (c->timeout < -1 || c->timeout > 3600 || c->grace_s < 1 || c->grace_s > 3600 ||
	    c->reserve_cpus > 255 || (!c->console_serial && !c->console_fb))
		__builtin_trap();
	free(c);
	return 0;
}
