/*
 * libFuzzer: the control socket's line protocol. The first byte picks a
 * chunk size and a reply buffer size; the rest is what a client sends. The
 * replies must be the same whether the bytes come in chunks or all at once
 * with a large buffer, every reply is one line starting "ok" or "err", no
 * reply is longer than CONTROL_REPLY_MAX, and the ops see sane arguments.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machine/control.h"

struct fz {
	unsigned calls;
};

static int fz_status(void *ctx, char *buf, size_t len)
{
	struct fz *f = ctx;

	if (len < 2)
		__builtin_trap();
	f->calls++;
	/* A long status with a newline in it: must come out as one line. */
	memset(buf, 'n', len - 1);
	buf[len / 2] = '\n';
	buf[len - 1] = '\0';
	return f->calls % 5 == 0 ? -5 : 0;
}

static int fz_powerbutton(void *ctx)
{
	struct fz *f = ctx;

	return (int)(f->calls++ % 3) - 1;	/* error, not listening, listening */
}

static int fz_reset(void *ctx)
{
	struct fz *f = ctx;

	return f->calls++ % 2 ? -22 : 0;
}

static int fz_stop(void *ctx)
{
	((struct fz *)ctx)->calls++;
	return 0;
}

/* Runs @data through a fresh connection in pieces of @chunk with a reply
 * buffer of @replylen; returns the replies (malloc'd) and their length. */
static char *run(const uint8_t *data, size_t size, size_t chunk, size_t replylen, size_t *total)
{
	struct fz f = { 0 };
	const struct control_ops ops = { &f, fz_status, fz_powerbutton, fz_reset, fz_stop };
	struct control_conn c;
	size_t cap = 4096, len = 0, off = 0;
	char *all = malloc(cap), *reply = malloc(replylen);

	control_conn_init(&c);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, got;
		ssize_t used = control_input(&c, &ops, (const char *)data + off, n, reply, replylen, &got);

		if (used <= 0 || (size_t)used > n || got >= replylen || strlen(reply) != got ||
		    c.len > CONTROL_LINE_MAX)
			__builtin_trap();
		if (len + got + 1 > cap) {
			cap = (len + got + 1) * 2;
			all = realloc(all, cap);
		}
		memcpy(all + len, reply, got);
		len += got;
		off += (size_t)used;
	}
	all[len] = '\0';
	free(reply);
	*total = len;
	return all;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, replylen, la, lb;
	char *a, *b, *line;

	log_set_level(LOG_ERR);
	if (size < 1)
		return 0;
	chunk = (data[0] & 0x0f) + 1;
	replylen = CONTROL_REPLY_MAX + (data[0] >> 4) * 37;
	data++;
	size--;
	a = run(data, size, chunk, replylen, &la);
	b = run(data, size, size ? size : 1, 1 << 20, &lb);
	if (la != lb || memcmp(a, b, la))
		__builtin_trap();
	for (line = a; *line; ) {
		char *end = strchr(line, '\n');

		if (!end || end - line + 2 > CONTROL_REPLY_MAX ||
		    (strncmp(line, "ok", 2) && strncmp(line, "err ", 4)))
			__builtin_trap();
		for (char *p = line; p < end; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				__builtin_trap();
		line = end + 1;
	}
	if ((size_t)(line - a) != la)
		__builtin_trap();	/* a NUL inside the replies */
	free(a);
	free(b);
	return 0;
}
