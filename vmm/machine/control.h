/*
 * polyvmm's control channel (--control PATH): a unix stream socket on which
 * the boot manager asks for status, presses the power button, resets or
 * force-stops the VM. One command per line, one reply line per command:
 *
 *   status        ok state=running name=NAME pid=PID cpus=N memory=BYTES
 *                    uptime_ms=N resets=N powerbutton=N
 *   powerbutton   ok listening | ok not-listening
 *   reset         ok
 *   stop          ok
 *
 * Anything else gets "err ...". The line protocol (control_input) knows
 * nothing of KVM or the machine: it calls struct control_ops. The server
 * (control_server_*) runs on the I/O thread's event loop. Clients are
 * untrusted; nothing they send stops or harms the VM unless they ask.
 */
#ifndef POLYBOOT_VMM_MACHINE_CONTROL_H
#define POLYBOOT_VMM_MACHINE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/evloop.h"

#define CONTROL_LINE_MAX 256	/* longest command line, '\r' included, '\n' not */
#define CONTROL_REPLY_MAX 512	/* longest reply line, '\n' and a NUL included */
#define CONTROL_STATUS_MAX 400	/* what ops->status may write, NUL included */
#define CONTROL_MAX_CLIENTS 4
#define CONTROL_OUT_SIZE 4096	/* per-client output buffer */

struct control_ops {
	void *ctx;
	/* Writes "state=running name=... powerbutton=N" (NUL-terminated). */
	int (*status)(void *ctx, char *buf, size_t len);
	/* Presses the power button: > 0 the guest listens, 0 it does not. */
	int (*powerbutton)(void *ctx);
	/* Ask for a reset / a stop; both happen after the reply. */
	int (*reset)(void *ctx);
	int (*stop)(void *ctx);
};

/* One client's partial line. Zeroed (or control_conn_init) to start. */
struct control_conn {
	char line[CONTROL_LINE_MAX];
	size_t len;
	bool discard;		/* the line overflowed: drop up to its '\n' */
};

void control_conn_init(struct control_conn *c);

/*
 * Feeds @n received bytes to @c: each complete command goes through @ops
 * and its reply line ('\n'-terminated) is appended to @reply, which is kept
 * NUL-terminated; *@outlen is the reply text's length. It stops early when
 * @reply has no room left for another CONTROL_REPLY_MAX bytes, so the
 * caller sends what it got and calls again with the rest. Returns how many
 * bytes of @data it consumed, or -EINVAL if @replylen < CONTROL_REPLY_MAX.
 */
ssize_t control_input(struct control_conn *c, const struct control_ops *ops, const char *data,
		      size_t n, char *reply, size_t replylen, size_t *outlen);

struct control_client {
	struct control_server *srv;
	int fd;			/* -1: slot free */
	struct ev_source src;
	uint32_t watched;	/* EPOLLIN or EPOLLOUT */
	struct control_conn conn;
	char in[CONTROL_LINE_MAX];	/* read but not yet fed */
	size_t in_off, in_len;
	char out[CONTROL_OUT_SIZE];	/* replies not yet sent */
	size_t out_off, out_len;
};

struct control_server {
	int listen_fd;
	struct ev_source listen_src;
	struct evloop *loop;
	const struct control_ops *ops;
	char *path;
	struct control_client client[CONTROL_MAX_CLIENTS];
};

/* Checks @path fits a unix socket address; 0 or -ENAMETOOLONG/-EINVAL. */
int control_path_check(const char *path);

/*
 * Listens on @path (a stale socket there is replaced; any other file is
 * refused with -EEXIST), mode 0600, non-blocking, on @loop. @ops must stay
 * valid until control_server_close. Returns 0, or -errno with a message
 * logged.
 */
int control_server_open(struct control_server *s, const char *path, struct evloop *loop,
			const struct control_ops *ops);
/* Drops the clients and removes the socket file. Safe on a zeroed or
 * failed server. */
void control_server_close(struct control_server *s);

#endif
