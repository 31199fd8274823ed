/*
 * sup: a child's console output reaches the scrollback (a ring that keeps
 * the newest bytes), its stderr lines become the exit reason, and the
 * control client speaks the one-line protocol with a timeout.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup.h"
#include "test.h"

static void drain(struct sup_vm *v)
{
	char buf[4096];

	while (v->out_fd >= 0 || v->err_fd >= 0) {
		struct pollfd p[2] = { { .fd = v->out_fd, .events = POLLIN }, { .fd = v->err_fd, .events = POLLIN } };

		if (poll(p, 2, 5000) <= 0)
			break;
		if (p[0].revents)
			sup_output(v, 1, buf, sizeof(buf));
		if (p[1].revents)
			sup_errput(v);
	}
}

TEST(sup_child_output_and_reason)
{
	const char *argv[] = { "/bin/sh", "-c", "echo console-line; echo 'polyvmm: error: no KVM' >&2; exit 4", NULL };
	struct sup_vm v;
	char sb[128];
	int st;
	size_t n;

	sup_init(&v, "t");
	CHECK_EQ(sup_spawn(&v, argv, NULL), 0);
	CHECK_EQ(v.state, SUP_STARTING);
	drain(&v);
	CHECK_EQ(waitpid(v.pid, &st, 0) > 0, 1);
	sup_reaped(&v, st, 2);
	CHECK_EQ(v.exit_status, 4);
	CHECK_EQ(v.state, SUP_FAILED);
	CHECK_STR(v.reason, "crashed: polyvmm: error: no KVM");
	n = sup_scrollback(&v, sb, sizeof(sb) - 1);
	sb[n] = 0;
	CHECK_STR(sb, "console-line\n");
	sup_release(&v);
}

TEST(sup_poweroff_is_stopped)
{
	const char *argv[] = { "/bin/sh", "-c", "echo x >&2; exit 0", NULL };
	struct sup_vm v;
	int st;

	sup_init(&v, "t");
	CHECK_EQ(sup_spawn(&v, argv, NULL), 0);
	drain(&v);
	CHECK_EQ(waitpid(v.pid, &st, 0) > 0, 1);
	sup_reaped(&v, st, 2);
	CHECK_EQ(v.state, SUP_STOPPED);
	CHECK_STR(v.reason, "powered off");
	sup_release(&v);
}

TEST(sup_scrollback_keeps_newest)
{
	struct sup_vm v;
	const char *argv[] = { "/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done", NULL };
	static char sb[SUP_SCROLLBACK + 1];
	size_t n;
	int st;

	sup_init(&v, "t");
	CHECK_EQ(sup_spawn(&v, argv, NULL), 0);
	drain(&v);
	CHECK_EQ(waitpid(v.pid, &st, 0) > 0, 1);
	sup_reaped(&v, st, 2);
	CHECK_EQ(v.out_bytes > SUP_SCROLLBACK, 1);
	n = sup_scrollback(&v, sb, sizeof(sb) - 1);
	CHECK_EQ(n, SUP_SCROLLBACK);
	sb[n] = 0;
	CHECK_EQ(strcmp(sb + n - 36, "line-1999-padding-padding-padding\n") == 0 ||
		 strstr(sb, "line-1999-padding-padding-padding\n") != NULL, 1);
	CHECK_EQ(strstr(sb, "line-0-") == NULL, 1);
	sup_release(&v);
}

struct srv {
	int fd;
	int mode;	/* 0 answer, 1 never answer */
};

static void *serve(void *arg)
{
	struct srv *s = arg;
	int c = accept(s->fd, NULL, NULL);
	char buf[64];
	ssize_t n;

	if (c < 0)
		return NULL;
	n = read(c, buf, sizeof(buf) - 1);
	if (n > 0 && s->mode == 0) {
		buf[n] = 0;
		if (strcmp(buf, "status\n") == 0)
			(void)!write(c, "ok state=running\r\n", 18);
		else
			(void)!write(c, "err what\n", 9);
	} else {
		usleep(400 * 1000);
	}
	close(c);
	return NULL;
}

TEST(sup_control_roundtrip_and_timeout)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct srv s;
	pthread_t t;
	char reply[64];

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/c.sock", test_tmpdir());
	unlink(a.sun_path);
	s.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(s.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(listen(s.fd, 2), 0);
	s.mode = 0;
	pthread_create(&t, NULL, serve, &s);
	CHECK_EQ(sup_control(a.sun_path, "status", reply, sizeof(reply), 2000), 0);
	CHECK_STR(reply, "ok state=running");
	pthread_join(t, NULL);
	s.mode = 1;
	pthread_create(&t, NULL, serve, &s);
	CHECK_EQ(sup_control(a.sun_path, "status", reply, sizeof(reply), 100), -ETIMEDOUT);
	pthread_join(t, NULL);
	close(s.fd);
	unlink(a.sun_path);
	CHECK_EQ(sup_control(a.sun_path, "status", reply, sizeof(reply), 100), -ENOENT);
}
