/* The control channel: the line protocol with fake ops, then the socket server. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/evloop.h"
#include "machine/control.h"
#include "util.h"

struct fake {
	int status, presses, resets, stops;
	int listening;		/* what powerbutton returns */
	int fail;		/* -errno every op returns when set */
	const char *status_text;
};

static int f_status(void *ctx, char *buf, size_t len)
{
	struct fake *f = ctx;

	f->status++;
	if (f->fail)
		return f->fail;
	if (f->status_text)
		snprintf(buf, len, "%s", f->status_text);
	else
		snprintf(buf, len, "state=running name=vm1 pid=42 cpus=2 memory=536870912 "
			 "uptime_ms=1500 resets=%d powerbutton=%d", f->resets, f->presses);
	return 0;
}

static int f_powerbutton(void *ctx)
{
	struct fake *f = ctx;

	if (f->fail)
		return f->fail;
	f->presses++;
	return f->listening;
}

static int f_reset(void *ctx)
{
	struct fake *f = ctx;

	if (f->fail)
		return f->fail;
	f->resets++;
	return 0;
}

static int f_stop(void *ctx)
{
	struct fake *f = ctx;

	if (f->fail)
		return f->fail;
	f->stops++;
	return 0;
}

struct env {
	struct fake f;
	struct control_ops ops;
	struct control_conn c;
	char reply[1 << 16];
	size_t len;
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	e->ops = (struct control_ops){ &e->f, f_status, f_powerbutton, f_reset, f_stop };
	control_conn_init(&e->c);
	return e;
}

/* Feeds @n bytes in pieces of @chunk, collecting every reply in e->reply. */
static void feed_n(struct env *e, const char *data, size_t n, size_t chunk)
{
	e->len = 0;
	e->reply[0] = '\0';
	while (n) {
		size_t k = n < chunk ? n : chunk, got;
		ssize_t used = control_input(&e->c, &e->ops, data, k, e->reply + e->len,
					     sizeof(e->reply) - e->len, &got);
		CHECK(used > 0);
		if (used <= 0)
			return;
		CHECK_EQ(strlen(e->reply + e->len), got);
		e->len += got;
		data += used;
		n -= (size_t)used;
	}
}

static const char *feed(struct env *e, const char *s)
{
	feed_n(e, s, strlen(s), strlen(s) + 1);
	return e->reply;
}

#define STATUS_0 "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 uptime_ms=1500 resets=0 powerbutton=0\n"

TEST(control_status)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "status\n"), STATUS_0);
	CHECK_EQ(e->f.status, 1);
	free(e);
}

TEST(control_powerbutton_listening_or_not)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "powerbutton\n"), "ok not-listening\n");
	e->f.listening = 1;
	CHECK_STR(feed(e, "powerbutton\n"), "ok listening\n");
	CHECK_EQ(e->f.presses, 2);
	CHECK_STR(feed(e, "status\n"),
		  "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 uptime_ms=1500 resets=0 powerbutton=2\n");
	free(e);
}

TEST(control_reset_and_stop)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "reset\n"), "ok\n");
	CHECK_EQ(e->f.resets, 1);
	CHECK_EQ(e->f.stops, 0);
	CHECK_STR(feed(e, "stop\n"), "ok\n");
	CHECK_EQ(e->f.stops, 1);
	CHECK_EQ(e->f.resets, 1);
	free(e);
}

TEST(control_op_errors_are_replies)
{
	struct env *e = env_new();

	e->f.fail = -EIO;
	CHECK_STR(feed(e, "status\npowerbutton\nreset\nstop\n"),
		  "err status: Input/output error\nerr powerbutton: Input/output error\n"
		  "err reset: Input/output error\nerr stop: Input/output error\n");
	free(e);
}

TEST(control_crlf_and_blanks)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "status\r\n"), STATUS_0);
	CHECK_STR(feed(e, "  \tpowerbutton \t\r\n"), "ok not-listening\n");
	CHECK_STR(feed(e, " stop \n"), "ok\n");
	/* Only one trailing '\r' is a line end; an inner one is part of the command. */
	CHECK_STR(feed(e, "stop\r\r\n"),
		  "err unknown command 'stop?' (status, powerbutton, reset, stop)\n");
	CHECK_STR(feed(e, "st op\n"),
		  "err unknown command 'st op' (status, powerbutton, reset, stop)\n");
	CHECK_EQ(e->f.stops, 1);
	free(e);
}

TEST(control_empty_lines_get_no_reply)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "\n"), "");
	CHECK_STR(feed(e, "\r\n\n   \n\t\r\n"), "");
	CHECK_STR(feed(e, "\n\nstatus\n\n"), STATUS_0);
	CHECK_EQ(e->f.status, 1);
	free(e);
}

TEST(control_one_byte_at_a_time)
{
	struct env *e = env_new();
	const char *in = "powerbutton\r\nstatus\n";

	e->f.listening = 1;
	feed_n(e, in, strlen(in), 1);
	CHECK_STR(e->reply, "ok listening\n"
		  "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 uptime_ms=1500 resets=0 powerbutton=1\n");
	/* A partial line waits for its end. */
	CHECK_STR(feed(e, "sta"), "");
	CHECK_STR(feed(e, "tu"), "");
	CHECK_EQ(e->f.status, 1);
	CHECK_STR(feed(e, "s\n"),
		  "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 uptime_ms=1500 resets=0 powerbutton=1\n");
	free(e);
}

TEST(control_several_commands_in_one_read)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "reset\nbogus\n\npowerbutton\nstop\nstatus"),
		  "ok\nerr unknown command 'bogus' (status, powerbutton, reset, stop)\n"
		  "ok not-listening\nok\n");
	CHECK_EQ(e->f.resets, 1);
	CHECK_EQ(e->f.stops, 1);
	CHECK_EQ(e->f.status, 0);
	CHECK_STR(feed(e, "\n"),
		  "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 uptime_ms=1500 resets=1 powerbutton=1\n");
	free(e);
}

TEST(control_unknown_commands)
{
	struct env *e = env_new();

	CHECK_STR(feed(e, "STATUS\n"),
		  "err unknown command 'STATUS' (status, powerbutton, reset, stop)\n");
	CHECK_STR(feed(e, "status now\n"),
		  "err unknown command 'status now' (status, powerbutton, reset, stop)\n");
	CHECK_STR(feed(e, "statu\n"),
		  "err unknown command 'statu' (status, powerbutton, reset, stop)\n");
	/* Control bytes and DEL are not echoed as they are. */
	CHECK_STR(feed(e, "a\x1b[2Jb\x7f\n"),
		  "err unknown command 'a?[2Jb?' (status, powerbutton, reset, stop)\n");
	CHECK_EQ(e->f.status, 0);
	free(e);
}

TEST(control_nul_bytes)
{
	struct env *e = env_new();
	static const char in[] = "stop\0\nst\0atus\n\0\n";

	feed_n(e, in, sizeof(in) - 1, sizeof(in));
	CHECK_STR(e->reply, "err unknown command 'stop?' (status, powerbutton, reset, stop)\n"
		  "err unknown command 'st?atus' (status, powerbutton, reset, stop)\n"
		  "err unknown command '?' (status, powerbutton, reset, stop)\n");
	CHECK_EQ(e->f.stops, 0);
	CHECK_EQ(e->f.status, 0);
	free(e);
}

TEST(control_long_lines)
{
	struct env *e = env_new();
	char line[CONTROL_LINE_MAX + 2], exp[CONTROL_LINE_MAX + 100];
	char *big = malloc(100000);

	/* Exactly the buffer (a CR included) is still a line. */
	memset(line, 'x', CONTROL_LINE_MAX - 1);
	line[CONTROL_LINE_MAX - 1] = '\r';
	line[CONTROL_LINE_MAX] = '\n';
	line[CONTROL_LINE_MAX + 1] = '\0';
	memset(exp, 0, sizeof(exp));
	snprintf(exp, sizeof(exp), "err unknown command '%.*s' (status, powerbutton, reset, stop)\n",
		 CONTROL_LINE_MAX - 1, line);
	CHECK_STR(feed(e, line), exp);

	/* One byte more: one error as soon as it overflows, the rest of the
	 * line is dropped, the next line is read as usual. */
	memset(line, 'x', CONTROL_LINE_MAX + 1);
	line[CONTROL_LINE_MAX + 1] = '\0';
	CHECK_STR(feed(e, line), "err line too long\n");
	CHECK_STR(feed(e, "xxstop\n"), "");
	CHECK_EQ(e->f.stops, 0);
	CHECK_STR(feed(e, "stop\n"), "ok\n");

	/* A huge line, then a command, in one read. */
	memset(big, 's', 99000);
	strcpy(big + 99000, "status\nreset\n");
	CHECK_STR(feed(e, big), "err line too long\nok\n");
	CHECK_EQ(e->f.status, 0);
	CHECK_EQ(e->f.resets, 1);
	/* The same one byte at a time. */
	feed_n(e, big, strlen(big), 1);
	CHECK_STR(e->reply, "err line too long\nok\n");
	CHECK_EQ(e->f.resets, 2);
	free(big);
	free(e);
}

TEST(control_status_text_is_one_line)
{
	struct env *e = env_new();
	char *huge = malloc(2000);

	e->f.status_text = "name=a\nb\rc";
	CHECK_STR(feed(e, "status\n"), "ok name=a?b?c\n");
	memset(huge, 'n', 1999);
	huge[1999] = '\0';
	e->f.status_text = huge;
	feed(e, "status\n");
	CHECK_EQ(e->len, 3 + CONTROL_STATUS_MAX - 1 + 1);
	CHECK(e->len < CONTROL_REPLY_MAX);
	free(huge);
	free(e);
}

TEST(control_reply_room)
{
	struct env *e = env_new();
	char reply[CONTROL_REPLY_MAX];
	size_t got = 99;
	ssize_t used;

	/* Too small a buffer is refused and consumes nothing. */
	CHECK_EQ(control_input(&e->c, &e->ops, "stop\n", 5, reply, CONTROL_REPLY_MAX - 1, &got), -EINVAL);
	CHECK_EQ(got, 0);
	CHECK_EQ(e->f.stops, 0);
	/* Room for one reply: it stops after the first one. */
	used = control_input(&e->c, &e->ops, "reset\nreset\n", 12, reply, sizeof(reply), &got);
	CHECK_EQ(used, 6);
	CHECK_STR(reply, "ok\n");
	CHECK_EQ(got, 3);
	CHECK_EQ(e->f.resets, 1);
	used = control_input(&e->c, &e->ops, "reset\n", 6, reply, sizeof(reply), &got);
	CHECK_EQ(used, 6);
	CHECK_EQ(e->f.resets, 2);
	/* Nothing to do. */
	CHECK_EQ(control_input(&e->c, &e->ops, "", 0, reply, sizeof(reply), &got), 0);
	CHECK_EQ(got, 0);
	CHECK_STR(reply, "");
	free(e);
}

/* --- the socket server -------------------------------------------------------- */

struct srv_env {
	struct fake f;
	struct control_ops ops;
	struct evloop loop;
	struct control_server s;
	char path[200];
};

static struct srv_env *srv_new(const char *name)
{
	struct srv_env *e = calloc(1, sizeof(*e));

	e->ops = (struct control_ops){ &e->f, f_status, f_powerbutton, f_reset, f_stop };
	snprintf(e->path, sizeof(e->path), "%s/%s", test_tmpdir(), name);
	CHECK_EQ(ev_init(&e->loop), 0);
	return e;
}

static void srv_free(struct srv_env *e)
{
	control_server_close(&e->s);
	ev_destroy(&e->loop);
	free(e);
}

static void srv_addr(const struct srv_env *e, struct sockaddr_un *a)
{
	size_t n = strlen(e->path);

	CHECK(n < sizeof(a->sun_path));
	if (n < sizeof(a->sun_path))
		memcpy(a->sun_path, e->path, n + 1);
}

static int srv_connect(struct srv_env *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	srv_addr(e, &a);
	CHECK(fd >= 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Lets the loop run until nothing is ready. */
static void srv_spin(struct srv_env *e)
{
	for (int i = 0; i < 1000 && ev_run_once(&e->loop, 0) > 0; i++)
		;
}

/* What the server sent to @fd so far (NUL-terminated, static). */
static const char *srv_read(struct srv_env *e, int fd)
{
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t k;

	srv_spin(e);
	while (n + 1 < sizeof(buf) && (k = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	return buf;
}

static void say(int fd, const char *s)
{
	CHECK_EQ(send(fd, s, strlen(s), MSG_NOSIGNAL), strlen(s));
}

TEST(control_server_commands)
{
	struct srv_env *e = srv_new("ctl.sock");
	struct stat st;
	int fd;

	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), 0);
	CHECK_EQ(lstat(e->path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
	fd = srv_connect(e);
	say(fd, "status\r\n");
	CHECK_STR(srv_read(e, fd), STATUS_0);
	say(fd, "power");
	CHECK_STR(srv_read(e, fd), "");
	say(fd, "button\nreset\nstop\nnope\n");
	CHECK_STR(srv_read(e, fd), "ok not-listening\nok\nok\n"
		  "err unknown command 'nope' (status, powerbutton, reset, stop)\n");
	CHECK_EQ(e->f.presses, 1);
	CHECK_EQ(e->f.resets, 1);
	CHECK_EQ(e->f.stops, 1);
	close(fd);
	srv_spin(e);
	/* Closing removes the socket file. */
	control_server_close(&e->s);
	CHECK(lstat(e->path, &st) < 0 && errno == ENOENT);
	srv_free(e);
}

TEST(control_server_replaces_stale_socket_only)
{
	struct srv_env *e = srv_new("stale.sock");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), c;

	/* A socket left behind by a killed polyvmm. */
	srv_addr(e, &a);
	CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), 0);
	c = srv_connect(e);
	say(c, "stop\n");
	CHECK_STR(srv_read(e, c), "ok\n");
	close(c);
	control_server_close(&e->s);

	/* Anything else is left alone. */
	fd = open(e->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), -EEXIST);
	CHECK_EQ(access(e->path, F_OK), 0);
	unlink(e->path);
	/* Paths too long for sun_path, or empty. */
	memset(e->path, 'a', 150);
	e->path[150] = '\0';
	CHECK_EQ(control_path_check(e->path), -ENAMETOOLONG);
	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), -ENAMETOOLONG);
	CHECK_EQ(control_path_check(""), -EINVAL);
	CHECK_EQ(control_path_check("/run/polyboot/vm1.ctl"), 0);
	srv_free(e);
}

TEST(control_server_four_clients_at_most)
{
	struct srv_env *e = srv_new("many.sock");
	int fd[CONTROL_MAX_CLIENTS], extra, again;

	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), 0);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		fd[i] = srv_connect(e);
		srv_spin(e);
	}
	extra = srv_connect(e);
	CHECK_STR(srv_read(e, extra), "err too many clients\n");
	CHECK_EQ(recv(extra, &again, 1, 0), 0);	/* closed */
	close(extra);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		say(fd[i], "reset\n");
		CHECK_STR(srv_read(e, fd[i]), "ok\n");
	}
	/* A client leaving (mid-line) frees its slot; the VM is not touched. */
	say(fd[1], "sto");
	srv_spin(e);
	close(fd[1]);
	srv_spin(e);
	CHECK_EQ(e->f.stops, 0);
	again = srv_connect(e);
	say(again, "status\n");
	CHECK_STR(srv_read(e, again), "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 "
		  "uptime_ms=1500 resets=4 powerbutton=0\n");
	close(again);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (i != 1)
			close(fd[i]);
	srv_spin(e);
	srv_free(e);
}

TEST(control_server_last_line_without_newline)
{
	struct srv_env *e = srv_new("eof.sock");
	int fd;

	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), 0);
	fd = srv_connect(e);
	say(fd, "reset\nstatus");
	shutdown(fd, SHUT_WR);
	CHECK_STR(srv_read(e, fd), "ok\n"
		  "ok state=running name=vm1 pid=42 cpus=2 memory=536870912 uptime_ms=1500 resets=1 powerbutton=0\n");
	close(fd);
	srv_free(e);
}

/*
 * A client that floods commands without reading: its input is read only as
 * fast as it reads replies, nothing is lost, and others are still served.
 */
TEST(control_server_backpressure)
{
	struct srv_env *e = srv_new("flood.sock");
	static char chunk[4096];
	const size_t want = 400000;	/* bytes: 200000 commands */
	static const char reply[] = "err unknown command 'x' (status, powerbutton, reset, stop)\n";
	size_t sent = 0, replies = 0, bytes = 0;
	int fd, other, rounds = 0;
	char buf[8192];

	CHECK_EQ(control_server_open(&e->s, e->path, &e->loop, &e->ops), 0);
	fd = srv_connect(e);
	other = srv_connect(e);
	for (size_t i = 0; i < sizeof(chunk); i += 2)
		memcpy(chunk + i, "x\n", 2);
	/* Flood without reading until the socket buffers are full. */
	for (;;) {
		ssize_t w = send(fd, chunk + sent % 2, MIN(sizeof(chunk) - 1, want - sent),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0)
			break;
		sent += (size_t)w;
		srv_spin(e);
		if (sent == want)
			break;
	}
	CHECK(sent < want);	/* the server stopped reading */
	say(other, "status\n");
	CHECK_STR(srv_read(e, other), STATUS_0);
	/* Now read, and send the rest: every command gets its reply. */
	while (replies < want / 2 && rounds++ < 1000000) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		for (ssize_t i = 0; i < r; i++)
			replies += buf[i] == '\n';
		if (r > 0)
			bytes += (size_t)r;
		if (sent < want) {
			ssize_t w = send(fd, chunk + sent % 2, MIN(sizeof(chunk) - 1, want - sent),
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
		}
		srv_spin(e);
	}
	CHECK_EQ(sent, want);
	CHECK_EQ(replies, want / 2);
	CHECK_EQ(bytes, want / 2 * (sizeof(reply) - 1));
	CHECK_EQ(e->f.status, 1);
	close(fd);
	close(other);
	srv_spin(e);
	srv_free(e);
}
