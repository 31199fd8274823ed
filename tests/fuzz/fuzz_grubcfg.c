/*
 * libFuzzer: grub_eval() with the input as every file there is: the
 * grub.cfg it starts from, whatever it configfiles, sources or load_envs
 * (itself, so include loops are the point), and the BLS entries blscfg
 * lists. It must end (limits, never a hang), never pass an empty device to
 * the filesystem, and leave a result whose counts and strings are sane.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc/grubcfg.h"

struct fz {
	const uint8_t *data;
	size_t size;
	unsigned reads;
};

/*
 * A file that sources itself twice runs 2^8 times before the include
 * limit stops it (bounded, but slow under coverage instrumentation): after
 * this many reads every file is missing, to keep the fuzzer fast.
 */
#define MAX_READS 48

static void check_str(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		__builtin_trap();	/* not NUL-terminated */
}

static int fz_search(void *ctx, char kind, const char *key, char *dev, size_t devlen)
{
	if (kind != 'u' && kind != 'l' && kind != 'f')
		__builtin_trap();
	if (!key[0] || (key[0] & 1))
		return -ENOENT;
	/* sometimes with parentheses, which the evaluator must strip */
	snprintf(dev, devlen, key[0] & 2 ? "(hd%c,gpt2)" : "hd%c,gpt1", '0' + (key[0] & 3));
	return 0;
}

static int fz_read(void *ctx, const char *dev, const char *path, size_t max, char **data,
		   size_t *len)
{
	struct fz *f = ctx;

	if (!dev[0])
		__builtin_trap();
	if (++f->reads > MAX_READS)
		return -ENOENT;
	if (f->size > max)
		return -EFBIG;
	if (strstr(path, "missing"))
		return -ENOENT;
	*data = malloc(f->size ? f->size : 1);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, f->data, f->size);
	*len = f->size;
	return 0;
}

static int fz_list(void *ctx, const char *dev, const char *path,
		   int (*cb)(void *cbctx, const char *name), void *cbctx)
{
	static const char *const names[] = { "a-1.0.conf", "b-2.0.conf", "sub", "c+0-1.conf" };

	if (!dev[0])
		__builtin_trap();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cb(cbctx, names[i]);
	return 0;
}

static int fz_stat(void *ctx, const char *dev, const char *path, uint64_t *size)
{
	const struct fz *f = ctx;

	if (!dev[0])
		__builtin_trap();
	*size = f->size;
	return strstr(path, "missing") ? 0 : path[1] == 'd' ? 2 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size, 0 };
	struct grub_fs_ops ops = { fz_search, fz_read, fz_list, fz_stat, size & 1 ? "pc" : NULL };
	struct grub_result *r = malloc(sizeof(*r));

	if (!r)
		return 0;
	grub_eval(&ops, &f, "hd0,gpt2", "/boot/grub/grub.cfg", r);
	if (r->nentries > GRUB_MAX_ENTRIES || r->nwarnings > GRUB_MAX_WARNINGS ||
	    r->nfiles > GRUB_MAX_FILES || r->default_index < -1 ||
	    r->default_index >= (int)r->nentries)
		__builtin_trap();
	for (unsigned i = 0; i < r->nwarnings; i++)
		check_str(r->warnings[i], sizeof(r->warnings[i]));
	for (unsigned i = 0; i < r->nentries; i++) {
		const struct grub_entry *e = &r->entries[i];

		if (e->ninitrd > GRUB_MAX_INITRD)
			__builtin_trap();
		check_str(e->title, sizeof(e->title));
		check_str(e->args, sizeof(e->args));
		check_str(e->kernel.path, sizeof(e->kernel.path));
		check_str(e->index_path, sizeof(e->index_path));
	}
	free(r);
	return 0;
}
