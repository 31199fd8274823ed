#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disc/efivars.h"
#include "util.h"

#define GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define VAR_MAX 65536

/* Reads the data of one efivarfs file (after its 4 attribute bytes). */
static int read_var(int dfd, const char *name, uint8_t *buf, size_t max, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < max) {
		n = read(fd, buf + got, max - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got < 4)
		return -EINVAL;
	memmove(buf, buf + 4, got - 4);
	*len = got - 4;
	return 0;
}

static int cmp_opt(const void *a, const void *b)
{
	const struct efivars_opt *x = a, *y = b;

	return (int)x->num - (int)y->num;
}

int efivars_load(const char *dir, struct efivars *out)
{
	uint8_t *buf;
	size_t len;
	DIR *d;
	struct dirent *de;
	int dfd;

	memset(out, 0, sizeof(*out));
	out->bootcurrent = -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	buf = malloc(VAR_MAX);
	if (!buf) {
		closedir(d);
		return -ENOMEM;
	}
	out->present = true;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		unsigned num = 0;
		char tail[64];

		size_t nl = strlen(n);

		if (nl < 37 || n[nl - 37] != '-' || strcmp(n + nl - 36, GLOBAL_GUID) != 0)
			continue;
		if (strncmp(n, "BootOrder-", 10) == 0) {
			if (read_var(dfd, n, buf, VAR_MAX, &len) == 0) {
				for (size_t i = 0; i + 1 < len && out->norder < EFIVARS_MAX_OPTS; i += 2)
					out->order[out->norder++] = get_le16(buf + i);
			}
			continue;
		}
		if (strncmp(n, "BootCurrent-", 12) == 0) {
			if (read_var(dfd, n, buf, VAR_MAX, &len) == 0 && len >= 2)
				out->bootcurrent = get_le16(buf);
			continue;
		}
		if (nl != 8 + 1 + 36 || strncmp(n, "Boot", 4) != 0 || sscanf(n + 4, "%4x%63s", &num, tail) != 2 ||
		    tail[0] != '-')
			continue;
		for (int i = 4; i < 8; i++)	/* Boot#### uses upper-case hex */
			if (hex_digit(n[i]) < 0 || (n[i] >= 'a' && n[i] <= 'f'))
				num = ~0u;
		if (num > 0xffff || out->nopts == EFIVARS_MAX_OPTS)
			continue;
		struct efivars_opt *o = &out->opts[out->nopts++];

		memset(o, 0, sizeof(*o));
		o->num = num;
		if (read_var(dfd, n, buf, VAR_MAX, &len) < 0 || loadopt_parse(buf, len, &o->lo) < 0) {
			o->bad = true;
			memset(&o->lo, 0, sizeof(o->lo));
			snprintf(o->lo.desc, sizeof(o->lo.desc), "(Boot%04X does not decode)", num);
		}
		o->lo.optional = NULL;
		o->lo.optional_len = 0;
	}
	closedir(d);
	free(buf);
	qsort(out->opts, out->nopts, sizeof(out->opts[0]), cmp_opt);
	return 0;
}

int efivars_order_pos(const struct efivars *ev, unsigned num)
{
	for (unsigned i = 0; i < ev->norder; i++)
		if (ev->order[i] == num)
			return (int)i;
	return -1;
}
