/*
 * libFuzzer: loadopt_parse() on the input as a Boot#### variable's data
 * (never crash, never read past it), and loadopt_build() on strings taken
 * from it. What one builds, the other must read back the same.
 */
#include <stdlib.h>
#include <string.h>

#include "efi/loadopt.h"
#include "util.h"

static void check_same(const struct loadopt *a, const struct loadopt_hd *hd, uint32_t attrs,
		       const char *desc, const char *file, const uint8_t *optional,
		       size_t optional_len)
{
	if (!a->has_hd || a->hd.partnum != hd->partnum || a->hd.start != hd->start ||
	    a->hd.size != hd->size || !guid_eq(&a->hd.part_guid, &hd->part_guid) ||
	    a->attrs != attrs || strcmp(a->desc, desc) || strcmp(a->file, file) ||
	    a->optional_len != optional_len || memcmp(a->optional, optional, optional_len))
		__builtin_trap();
}

/* A parsed option with an HD() node and an absolute path, built again. */
static void rebuild(const struct loadopt *lo)
{
	static uint8_t buf[8192];
	struct loadopt again;
	char file[LOADOPT_FILE_MAX];
	int n;

	if (!lo->has_hd || !lo->hd.partnum || lo->file[0] != '\\')
		return;
	n = loadopt_build(buf, sizeof(buf), lo->attrs, lo->desc, &lo->hd, lo->file, lo->optional,
			  lo->optional_len);
	if (n < 0)
		return;		/* -ENOSPC: long optional data */
	/* loadopt_build turns '/' into '\'. */
	strcpy(file, lo->file);
	for (char *p = file; *p; p++)
		if (*p == '/')
			*p = '\\';
	if (loadopt_parse(buf, (size_t)n, &again))
		__builtin_trap();
	check_same(&again, &lo->hd, lo->attrs, lo->desc, file, lo->optional, lo->optional_len);
}

/* Input "desc\0path\0rest": build from those strings, then parse. */
static void build_from(const uint8_t *data, size_t size)
{
	static uint8_t buf[8192];
	const struct loadopt_hd hd = { .partnum = 1, .start = 2048, .size = 4096 };
	const char *desc = (const char *)data, *path, *end = (const char *)data + size;
	struct loadopt lo;
	int n;

	path = memchr(desc, 0, size);
	if (!path)
		return;
	path++;
	if (!memchr(path, 0, (size_t)(end - path)))
		return;
	n = loadopt_build(buf, sizeof(buf), LOAD_OPTION_ACTIVE, desc, &hd, path, NULL, 0);
	if (n >= 0 && (loadopt_parse(buf, (size_t)n, &lo) || !lo.has_hd || lo.hd.start != 2048))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);	/* exact size: ASan sees overreads */
	struct loadopt lo;

	memcpy(copy, data, size);
	if (loadopt_parse(copy, size, &lo) == 0) {
		if (strnlen(lo.desc, LOADOPT_DESC_MAX) == LOADOPT_DESC_MAX ||
		    strnlen(lo.path, LOADOPT_TEXT_MAX) == LOADOPT_TEXT_MAX ||
		    lo.optional + lo.optional_len != copy + size)
			__builtin_trap();
		rebuild(&lo);
	}
	build_from(copy, size);
	free(copy);
	return 0;
}
