/*
 * libFuzzer: fat.h on a volume made from the input: fat_open, then a walk
 * of the directory tree (four levels, 64 entries in all) reading every
 * file whole and in pieces, and lookups of paths discovery uses. Loops in
 * cluster chains and directories are the point: everything must end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disc/fat.h"

struct walk {
	struct fat *f;
	char path[1024];
	unsigned depth, visited;
};

static int visit(void *ctx, const char *name, const struct fat_stat *st)
{
	struct walk *w = ctx;
	size_t n = strlen(w->path), got;
	char *data;
	size_t len;
	char buf[700];
	struct fat_stat found;
	int r;

	if (++w->visited > 64)
		return 1;
	if (n + 1 + strlen(name) >= sizeof(w->path))
		return 0;
	snprintf(w->path + n, sizeof(w->path) - n, "/%s", name);
	if (st->dir) {
		if (w->depth < 4) {
			w->depth++;
			r = fat_list(w->f, w->path, visit, w);
			w->depth--;
			if (r == 1) {
				w->path[n] = 0;
				return 1;
			}
		}
	} else {
		/* A damaged directory can hold two entries of the same name (the
		 * seed "frag" twice): a lookup by path finds the first, so the
		 * size to expect is the one fat_stat() finds, not the listing's. */
		if (fat_read_file(w->f, w->path, 1 << 16, &data, &len) == 0) {
			if (fat_stat(w->f, w->path, &found) != 0 || len != found.size || data[len])
				__builtin_trap();
			free(data);
		}
		if (fat_read(w->f, w->path, st->size / 3, buf, sizeof(buf), &got) == 0 &&
		    got > sizeof(buf))
			__builtin_trap();
	}
	w->path[n] = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"EFI/BOOT/BOOTX64.EFI", "\\efi\\microsoft\\boot\\bootmgfw.efi", "loader/entries",
		"/a/../b/./c", "..", "",
	};
	struct vol_mem m;
	struct vol v;
	struct walk w = { 0 };
	struct fat_stat st;
	char why[128];

	vol_from_mem(&v, &m, data, size);
	if (fat_open(&v, &w.f, why, sizeof(why)) != 0)
		return 0;
	(void)fat_label(w.f);
	(void)fat_serial(w.f);
	fat_list(w.f, "/", visit, &w);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		fat_stat(w.f, paths[i], &st);
	fat_close(w.f);
	return 0;
}
