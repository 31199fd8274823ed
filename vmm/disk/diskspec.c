#include "disk/diskspec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* "1+3+4" -> parts; returns the count or -EINVAL. */
static int parse_parts(char *s, unsigned *out, unsigned max)
{
	unsigned n = 0;

	for (char *save = NULL, *t = strtok_r(s, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
		uint64_t v;
		if (n == max || parse_u64(t, 128, &v) < 0 || v == 0)
			return -EINVAL;
		for (unsigned i = 0; i < n; i++)
			if (out[i] == v)
				return -EINVAL;
		out[n++] = (unsigned)v;
	}
	return n ? (int)n : -EINVAL;
}

int disk_spec_parse(const char *s, struct disk_spec *d, char *why, unsigned whylen)
{
	unsigned cow[DISK_MAX_PARTS], ncow = 0;
	char buf[512], *save = NULL;

	memset(d, 0, sizeof(*d));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(why, whylen, "--disk: too long");
		return -EINVAL;
	}
	strcpy(buf, s);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *val = strchr(kv, '=');
		uint64_t v;
		int n;

		if (val)
			*val++ = 0;
		if (!strcmp(kv, "ro") && !val) {
			d->ro = true;
		} else if (!val || !*val) {
			snprintf(why, whylen, "--disk %s: '%s' needs a value", s, kv);
			return -EINVAL;
		} else if (!strcmp(kv, "path") || !strcmp(kv, "synth")) {
			if (d->path[0] || strlen(val) >= sizeof(d->path)) {
				snprintf(why, whylen, "--disk %s: one path= or synth= of at most %zu bytes",
					 s, sizeof(d->path) - 1);
				return -EINVAL;
			}
			strcpy(d->path, val);
			d->synth = kv[0] == 's';
		} else if (!strcmp(kv, "if")) {
			if (!strcmp(val, "virtio"))
				d->iface = DISK_IF_VIRTIO;
			else if (!strcmp(val, "nvme"))
				d->iface = DISK_IF_NVME;
			else {
				snprintf(why, whylen, "--disk %s: if=%s: virtio or nvme", s, val);
				return -EINVAL;
			}
		} else if (!strcmp(kv, "serial")) {
			if (strlen(val) > BLK_SERIAL_LEN) {
				snprintf(why, whylen, "--disk %s: serial longer than %u", s, BLK_SERIAL_LEN);
				return -EINVAL;
			}
			strcpy(d->serial, val);
		} else if (!strcmp(kv, "cache")) {
			if (!strcmp(val, "auto"))
				d->cache = BLK_CACHE_AUTO;
			else if (!strcmp(val, "none"))
				d->cache = BLK_CACHE_NONE;
			else if (!strcmp(val, "writeback"))
				d->cache = BLK_CACHE_WRITEBACK;
			else {
				snprintf(why, whylen, "--disk %s: cache=%s: auto, none or writeback", s, val);
				return -EINVAL;
			}
		} else if (!strcmp(kv, "queues")) {
			if (parse_u64(val, 16, &v) < 0 || v == 0) {
				snprintf(why, whylen, "--disk %s: queues=%s: 1 to 16", s, val);
				return -EINVAL;
			}
			d->queues = (unsigned)v;
		} else if (!strcmp(kv, "offset") || !strcmp(kv, "size")) {
			if (parse_size(val, &v) < 0 || v % BLK_SECTOR) {
				snprintf(why, whylen, "--disk %s: %s=%s: a multiple of 512 bytes", s, kv, val);
				return -EINVAL;
			}
			*(kv[0] == 'o' ? &d->offset : &d->size) = v;
		} else if (!strcmp(kv, "parts") || !strcmp(kv, "cow")) {
			n = parse_parts(val, kv[0] == 'p' ? d->parts : cow, DISK_MAX_PARTS);
			if (n < 0) {
				snprintf(why, whylen, "--disk %s: %s=%s: partition numbers joined by '+'", s, kv, val);
				return -EINVAL;
			}
			*(kv[0] == 'p' ? &d->nparts : &ncow) = (unsigned)n;
		} else {
			snprintf(why, whylen, "--disk %s: unknown key '%s'", s, kv);
			return -EINVAL;
		}
	}
	if (!d->path[0]) {
		snprintf(why, whylen, "--disk %s: path= or synth= is required", s);
		return -EINVAL;
	}
	if (d->synth != (d->nparts > 0) || (!d->synth && ncow) || (d->synth && (d->offset || d->size))) {
		snprintf(why, whylen, "--disk %s: parts= and cow= go with synth=, offset= and size= with path=", s);
		return -EINVAL;
	}
	for (unsigned i = 0; i < ncow; i++) {
		unsigned j;
		for (j = 0; j < d->nparts && d->parts[j] != cow[i]; j++)
			;
		if (j == d->nparts) {
			snprintf(why, whylen, "--disk %s: cow=%u is not among parts=", s, cow[i]);
			return -EINVAL;
		}
		d->cow_mask |= 1u << j;
	}
	return 0;
}
