/*
 * The control channel: a line protocol (control_input) and its unix socket
 * server on the event loop. Replies are buffered per client; while a client
 * does not read them its input is not read either (no unbounded buffering),
 * and other clients and the VM go on.
 */
#define LOG_MOD "control"
#include "machine/control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

void control_conn_init(struct control_conn *c)
{
	memset(c, 0, sizeof(*c));
}

/* Appends the printf-formatted text to the reply, control bytes as '?';
 * the caller guarantees CONTROL_REPLY_MAX bytes of room per line. */
__attribute__((format(printf, 3, 4)))
static void reply_add(char *reply, size_t *len, const char *fmt, ...)
{
	char line[CONTROL_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	for (int i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)line[i];
		reply[(*len)++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	reply[(*len)++] = '\n';
	reply[*len] = '\0';
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Command @cmd (@n bytes, may hold NULs) is exactly @word? */
static bool cmd_is(const char *cmd, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(cmd, word, n);
}

static void run_line(struct control_conn *c, const struct control_ops *ops, char *reply, size_t *len)
{
	const char *cmd = c->line;
	size_t n = c->len;
	char quoted[CONTROL_LINE_MAX + 1];
	int r;

	if (n && cmd[n - 1] == '\r')
		n--;
	while (n && is_blank(cmd[n - 1]))
		n--;
	while (n && is_blank(*cmd)) {
		cmd++;
		n--;
	}
	if (!n)
		return;
	if (cmd_is(cmd, n, "status")) {
		char buf[CONTROL_STATUS_MAX];

		buf[0] = '\0';
		r = ops->status(ops->ctx, buf, sizeof(buf));
		buf[sizeof(buf) - 1] = '\0';
		if (r < 0)
			reply_add(reply, len, "err status: %s", strerror(-r));
		else
			reply_add(reply, len, "ok %s", buf);
	} else if (cmd_is(cmd, n, "powerbutton")) {
		r = ops->powerbutton(ops->ctx);
		if (r < 0)
			reply_add(reply, len, "err powerbutton: %s", strerror(-r));
		else
			reply_add(reply, len, "ok %s", r > 0 ? "listening" : "not-listening");
	} else if (cmd_is(cmd, n, "reset") || cmd_is(cmd, n, "stop")) {
		bool reset = cmd[0] == 'r';

		r = reset ? ops->reset(ops->ctx) : ops->stop(ops->ctx);
		if (r < 0)
			reply_add(reply, len, "err %s: %s", reset ? "reset" : "stop", strerror(-r));
		else
			reply_add(reply, len, "ok");
	} else {
		/* NULs in the command must not cut the echo short. */
		for (size_t i = 0; i < n; i++)
			quoted[i] = cmd[i] ? cmd[i] : '?';
		quoted[n] = '\0';
		reply_add(reply, len, "err unknown command '%s' (status, powerbutton, reset, stop)", quoted);
	}
}

ssize_t control_input(struct control_conn *c, const struct control_ops *ops, const char *data,
		      size_t n, char *reply, size_t replylen, size_t *outlen)
{
	size_t i, len = 0;

	*outlen = 0;
	if (replylen < CONTROL_REPLY_MAX)
		return -EINVAL;
	reply[0] = '\0';
	for (i = 0; i < n && replylen - len >= CONTROL_REPLY_MAX; i++) {
		char ch = data[i];

		if (ch == '\n') {
			if (!c->discard)
				run_line(c, ops, reply, &len);
			c->len = 0;
			c->discard = false;
		} else if (c->discard) {
			continue;
		} else if (c->len == sizeof(c->line)) {
			reply_add(reply, &len, "err line too long");
			c->len = 0;
			c->discard = true;
		} else {
			c->line[c->len++] = ch;
		}
	}
	*outlen = len;
	return (ssize_t)i;
}

/* --- the socket server ------------------------------------------------------- */

int control_path_check(const char *path)
{
	struct sockaddr_un a;

	if (!path || !path[0])
		return -EINVAL;
	return strlen(path) < sizeof(a.sun_path) ? 0 : -ENAMETOOLONG;
}

static void client_drop(struct control_client *cl)
{
	if (cl->fd < 0)
		return;
	if (cl->watched)
		ev_del(cl->srv->loop, &cl->src);
	close(cl->fd);
	cl->fd = -1;
	cl->watched = 0;
	log_debug("client %ld disconnected", (long)(cl - cl->srv->client));
}

static int client_watch(struct control_client *cl, uint32_t events)
{
	int r;

	if (cl->watched == events)
		return 0;
	if (cl->watched)
		ev_del(cl->srv->loop, &cl->src);
	cl->watched = 0;
	r = ev_add(cl->srv->loop, &cl->src, events);
	if (r == 0)
		cl->watched = events;
	return r;
}

/* Sends buffered replies: 0 (all or some sent, or would block) or -errno. */
static int client_flush(struct control_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		cl->out_off += (size_t)w;
	}
	cl->out_off = cl->out_len = 0;
	return 0;
}

/* The client finished sending: a last line without '\n' still counts, and
 * its reply is sent if the socket takes it now. */
static void client_eof(struct control_client *cl)
{
	size_t got;

	if (cl->conn.len && !cl->conn.discard &&
	    control_input(&cl->conn, cl->srv->ops, "\n", 1, cl->out + cl->out_len,
			  CONTROL_OUT_SIZE - cl->out_len, &got) == 1) {
		cl->out_len += got;
		(void)client_flush(cl);
	}
}

/*
 * Alternates: send replies, feed held input while replies fit, read more
 * input once everything is answered and sent. A bounded number of reads
 * per call keeps one chatty client from starving the loop.
 */
static void client_ready(struct ev_source *src, uint32_t events)
{
	struct control_client *cl = src->opaque;
	uint32_t want = EPOLLIN;
	int reads = 0;

	if (cl->fd < 0)
		return;	/* dropped earlier in this round */
	for (;;) {
		if (client_flush(cl) < 0)
			goto drop;
		if (cl->out_len) {
			/* Client not reading; its input waits. */
			if (cl->in_off < cl->in_len && CONTROL_OUT_SIZE - cl->out_len >= CONTROL_REPLY_MAX)
				goto feed;
			want = EPOLLOUT;
			break;
		}
		if (cl->in_off < cl->in_len)
			goto feed;
		if (reads++ == 8)
			break;
		{
			ssize_t n = recv(cl->fd, cl->in, sizeof(cl->in), MSG_DONTWAIT);
			if (n == 0) {
				client_eof(cl);
				goto drop;
			}
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				goto drop;
			}
			cl->in_off = 0;
			cl->in_len = (size_t)n;
		}
		continue;
feed:
		{
			size_t got;
			ssize_t used = control_input(&cl->conn, cl->srv->ops, cl->in + cl->in_off,
						     cl->in_len - cl->in_off, cl->out + cl->out_len,
						     CONTROL_OUT_SIZE - cl->out_len, &got);
			if (used < 0)
				goto drop;	/* cannot happen: room was checked */
			cl->in_off += (size_t)used;
			cl->out_len += got;
			if (cl->in_off == cl->in_len)
				cl->in_off = cl->in_len = 0;
		}
	}
	if (client_watch(cl, want) < 0)
		goto drop;
	return;
drop:
	client_drop(cl);
}

static void listen_ready(struct ev_source *src, uint32_t events)
{
	static const char busy[] = "err too many clients\n";
	struct control_server *s = src->opaque;
	struct control_client *cl = NULL;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;	/* EAGAIN, or the peer gave up already */
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (s->client[i].fd < 0) {
			cl = &s->client[i];
			break;
		}
	}
	if (!cl) {
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing to do: it is closed anyway */
		}
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->src = (struct ev_source){ fd, client_ready, cl, "control-client" };
	cl->watched = 0;
	cl->in_off = cl->in_len = cl->out_off = cl->out_len = 0;
	control_conn_init(&cl->conn);
	if (client_watch(cl, EPOLLIN) < 0) {
		close(fd);
		cl->fd = -1;
		return;
	}
	log_debug("client %ld connected", (long)(cl - s->client));
}

int control_server_open(struct control_server *s, const char *path, struct evloop *loop,
			const struct control_ops *ops)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int r;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		s->client[i].fd = -1;
		s->client[i].srv = s;
	}
	if ((r = control_path_check(path)) < 0) {
		log_err("control socket path %s: %s", path ? path : "(none)", strerror(-r));
		return r;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("control socket %s: exists and is not a socket", path);
			return -EEXIST;
		}
		if (unlink(path) < 0) {
			r = -errno;
			log_err("control socket %s: cannot remove the stale one: %s", path, strerror(errno));
			return r;
		}
	}
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		r = -errno;
		goto err;
	}
	/* Owner only, from the moment it exists. */
	old = umask(0177);
	r = bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(s->listen_fd, 8) < 0) {
		r = -errno;
		unlink(path);
		goto err;
	}
	s->loop = loop;
	s->ops = ops;
	s->listen_src = (struct ev_source){ s->listen_fd, listen_ready, s, "control-listen" };
	if ((r = ev_add(loop, &s->listen_src, EPOLLIN)) < 0) {
		unlink(path);
		goto err;
	}
	return 0;
err:
	log_err("control socket %s: %s", path, strerror(-r));
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	free(s->path);
	s->path = NULL;
	return r;
}

void control_server_close(struct control_server *s)
{
	if (!s->path)
		return;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		client_drop(&s->client[i]);
	ev_del(s->loop, &s->listen_src);
	close(s->listen_fd);
	s->listen_fd = -1;
	unlink(s->path);
	free(s->path);
	s->path = NULL;
}
