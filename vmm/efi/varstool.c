/*
 * polyvmm-vars: the VARS file tool.
 *   check FILE                  0 if OVMF would accept the store, else 1
 *   list FILE                   live variables: GUID, name, attributes, size
 *   get FILE NAME [GUID]        a variable's data as hex
 *   set FILE NAME GUID HEX      set a non-volatile BS+RT variable (hex bytes)
 *   delete FILE NAME [GUID]     delete a variable
 * Writes replace the file atomically (temp file, fsync, rename).
 */
#define LOG_MOD "vars"
#include "efi/varstool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efi/varstore.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: polyvmm-vars check FILE\n"
		   "       polyvmm-vars list FILE\n"
		   "       polyvmm-vars get FILE NAME [GUID]\n"
		   "       polyvmm-vars set FILE NAME GUID HEXDATA\n"
		   "       polyvmm-vars delete FILE NAME [GUID]\n"
		   "GUID defaults to the EFI global variable GUID (BootOrder, Boot0001...).\n");
}

static uint8_t *load(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		fprintf(stderr, "polyvmm-vars: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > 64 << 20) {
		fprintf(stderr, "polyvmm-vars: %s: not a VARS image\n", path);
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	r = buf ? pread_full(fd, buf, *len, 0) : -ENOMEM;
	close(fd);
	if (r < 0) {
		fprintf(stderr, "polyvmm-vars: %s: %s\n", path, strerror(-r));
		free(buf);
		return NULL;
	}
	return buf;
}

static int hexnibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int varstool_main(int argc, char **argv)
{
	struct varstore vs;
	struct efivar v;
	const char *cmd, *file;
	uint8_t guid[16], *img;
	size_t len;
	char why[256], name[128], g[37];
	int r;

	if (argc < 3) {
		usage(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	cmd = argv[1];
	file = argv[2];
	img = load(file, &len);
	if (!img)
		return 1;
	if (varstore_open(&vs, img, len, why, sizeof(why)) < 0) {
		printf("%s: INVALID: %s\n", file, why);
		free(img);
		return 1;
	}
	memcpy(guid, efi_global_guid, 16);
	if (!strcmp(cmd, "check")) {
		unsigned n = 0;
		v.next = 0;
		while (varstore_next(&vs, &v))
			n++;
		printf("%s: OK: %u variables, %zu bytes free\n", file, n,
		       vs.store + vs.store_size - vs.end);
		r = 0;
	} else if (!strcmp(cmd, "list")) {
		v.next = 0;
		while (varstore_next(&vs, &v)) {
			efivar_name(&v, name, sizeof(name));
			efi_guid_format(v.guid, g);
			printf("%s %-24s attrs=%#x size=%u\n", g, name, v.attrs, v.data_size);
		}
		r = 0;
	} else if (!strcmp(cmd, "get") || !strcmp(cmd, "delete") || !strcmp(cmd, "set")) {
		bool set = !strcmp(cmd, "set");
		if (argc < 4 || (set && argc != 6) || (!set && argc > 5)) {
			usage(stderr);
			free(img);
			return 2;
		}
		if (argc >= 5 && efi_guid_parse(argv[4], guid) < 0) {
			fprintf(stderr, "polyvmm-vars: bad GUID '%s'\n", argv[4]);
			free(img);
			return 2;
		}
		if (!strcmp(cmd, "get")) {
			r = varstore_get(&vs, argv[3], guid, &v);
			if (r == 0) {
				for (uint32_t i = 0; i < v.data_size; i++)
					printf("%02x%s", v.data[i], i + 1 == v.data_size ? "\n" : " ");
				if (!v.data_size)
					printf("\n");
			}
		} else {
			if (set) {
				size_t hl = strlen(argv[5]);
				uint8_t *d = malloc(hl / 2 + 1);
				if (!d || hl % 2) {
					fprintf(stderr, "polyvmm-vars: HEXDATA must be pairs of hex digits\n");
					free(d);
					free(img);
					return 2;
				}
				for (size_t i = 0; i < hl / 2; i++) {
					int hi = hexnibble(argv[5][2 * i]), lo = hexnibble(argv[5][2 * i + 1]);
					if (hi < 0 || lo < 0) {
						fprintf(stderr, "polyvmm-vars: bad hex '%s'\n", argv[5]);
						free(d);
						free(img);
						return 2;
					}
					d[i] = (uint8_t)(hi << 4 | lo);
				}
				r = varstore_set(&vs, argv[3], guid, EFI_VAR_NV_BS_RT, d, (uint32_t)(hl / 2));
				free(d);
			} else {
				r = varstore_delete(&vs, argv[3], guid);
			}
			if (r == 0)
				r = write_file_atomic(file, img, len);
		}
		if (r == -ENOENT)
			fprintf(stderr, "polyvmm-vars: %s: no variable %s\n", file, argv[3]);
		else if (r < 0)
			fprintf(stderr, "polyvmm-vars: %s: %s\n", file, strerror(-r));
		r = r < 0 ? 1 : 0;
	} else {
		usage(stderr);
		r = 2;
	}
	free(img);
	return r;
}
