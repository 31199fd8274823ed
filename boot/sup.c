#define LOG_MOD "sup"
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void sup_init(struct sup_vm *v, const char *name)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->in_fd = v->out_fd = v->err_fd = -1;
	v->exit_status = -1;
	v->console_log.fd = -1;
	v->pid = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int sup_spawn(struct sup_vm *v, const char *const argv[], const char *cgroup)
{
	int in[2], out[2], err[2];
	pid_t pid;
	int r;

	if (!v->sb && !(v->sb = malloc(SUP_SCROLLBACK)))
		return -ENOMEM;
	v->sb_head = v->sb_len = 0;
	v->errlen = 0;
	v->last_err[0] = v->reason[0] = 0;
	v->exit_status = -1;
	v->t_output_ms = v->t_button_ms = v->t_stop_ms = 0;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto close_in;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto close_out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto close_err;
	}
	if (pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (cgroup) {
			char path[300];
			int fd;

			snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1)
				dprintf(err[1], "polyboot: cannot join %s: %s\n", cgroup, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		setsid();
		execv(argv[0], (char *const *)argv);
		dprintf(2, "polyboot: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	v->in_fd = in[1];
	v->out_fd = out[0];
	v->err_fd = err[0];
	fcntl(v->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(v->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(v->err_fd, F_SETFL, O_NONBLOCK);
	v->pid = pid;
	v->state = SUP_STARTING;
	return 0;
close_err:
	close(err[0]);
	close(err[1]);
close_out:
	close(out[0]);
	close(out[1]);
close_in:
	close(in[0]);
	close(in[1]);
	return r;
}

static void sb_put(struct sup_vm *v, const char *p, size_t n)
{
	if (n >= SUP_SCROLLBACK) {
		p += n - SUP_SCROLLBACK;
		n = SUP_SCROLLBACK;
	}
	for (size_t i = 0; i < n; i++) {
		size_t at = (v->sb_head + v->sb_len) % SUP_SCROLLBACK;

		v->sb[at] = p[i];
		if (v->sb_len < SUP_SCROLLBACK)
			v->sb_len++;
		else
			v->sb_head = (v->sb_head + 1) % SUP_SCROLLBACK;
	}
}

ssize_t sup_output(struct sup_vm *v, uint64_t now_ms, char *copy, size_t copylen)
{
	ssize_t n;

	if (v->out_fd < 0)
		return 0;
	n = read(v->out_fd, copy, copylen);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	if (n == 0) {
		close_fd(&v->out_fd);
		return 0;
	}
	if (!v->t_output_ms)
		v->t_output_ms = now_ms;
	if (v->state == SUP_STARTING)
		v->state = SUP_RUNNING;
	v->out_bytes += (uint64_t)n;
	sb_put(v, copy, (size_t)n);
	if (v->console_log.fd >= 0)
		rlog_write(&v->console_log, copy, (size_t)n);
	return n;
}

ssize_t sup_errput(struct sup_vm *v)
{
	char buf[512];
	ssize_t n;

	if (v->err_fd < 0)
		return 0;
	n = read(v->err_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	if (n == 0) {
		if (v->errlen) {
			v->errbuf[v->errlen] = 0;
			log_info("[%s] %s", v->name, v->errbuf);
			snprintf(v->last_err, sizeof(v->last_err), "%s", v->errbuf);
			v->errlen = 0;
		}
		close_fd(&v->err_fd);
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\n' || v->errlen == sizeof(v->errbuf) - 1) {
			v->errbuf[v->errlen] = 0;
			if (v->errlen) {
				log_info("[%s] %s", v->name, v->errbuf);
				snprintf(v->last_err, sizeof(v->last_err), "%s", v->errbuf);
			}
			v->errlen = 0;
			if (c == '\n')
				continue;
		}
		if (c != '\r')
			v->errbuf[v->errlen++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? c : '?';
	}
	return n;
}

const char *sup_status_words(int status)
{
	switch (status) {
	case 0: return "powered off";
	case 1: return "VMM error";
	case 2: return "bad VMM arguments";
	case 3: return "rebooted";
	case 4: return "crashed";
	case 5: return "killed";
	case 6: return "force-stopped";
	case 127: return "polyvmm missing";
	default: return "failed";
	}
}

const char *sup_state_name(enum sup_state s)
{
	static const char *const n[] = { "stopped", "starting", "running", "stopping", "failed" };

	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

void sup_reaped(struct sup_vm *v, int wstatus, uint64_t now_ms)
{
	v->pid = -1;
	v->t_stop_ms = now_ms;
	close_fd(&v->in_fd);
	if (WIFEXITED(wstatus)) {
		v->exit_status = WEXITSTATUS(wstatus);
	} else {
		v->exit_status = 128 + WTERMSIG(wstatus);
		snprintf(v->reason, sizeof(v->reason), "polyvmm died of signal %d", WTERMSIG(wstatus));
	}
	if (!v->reason[0]) {
		if (v->exit_status == 0 || v->exit_status == 3 || v->exit_status == 6 || !v->last_err[0])
			snprintf(v->reason, sizeof(v->reason), "%s", sup_status_words(v->exit_status));
		else
			snprintf(v->reason, sizeof(v->reason), "%s: %.140s", sup_status_words(v->exit_status),
				 v->last_err);
	}
	v->state = v->exit_status == 0 || v->exit_status == 3 || v->exit_status == 6 ? SUP_STOPPED
										       : SUP_FAILED;
	if (v->console_log.fd >= 0)
		rlog_sync(&v->console_log);
}

size_t sup_scrollback(const struct sup_vm *v, char *buf, size_t max)
{
	size_t n = v->sb_len < max ? v->sb_len : max;
	size_t start = (v->sb_head + v->sb_len - n) % SUP_SCROLLBACK;

	for (size_t i = 0; i < n; i++)
		buf[i] = v->sb[(start + i) % SUP_SCROLLBACK];
	return n;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int sup_control(const char *path, const char *cmd, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[256];
	size_t got = 0;
	uint64_t end = mono_ms() + (uint64_t)timeout_ms;
	int fd, r;

	if (len)
		reply[0] = 0;
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", cmd);
	if ((r = write_full(fd, line, strlen(line))) < 0)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(end - mono_ms());
		ssize_t n;

		if (left <= 0) {
			r = -ETIMEDOUT;
			goto out;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
			r = -errno;
			goto out;
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(fd, line + got, sizeof(line) - 1 - got);
		if (n <= 0) {
			r = n == 0 ? -ECONNRESET : -errno;
			goto out;
		}
		got += (size_t)n;
		line[got] = 0;
		if (strchr(line, '\n') || got == sizeof(line) - 1)
			break;
	}
	line[strcspn(line, "\r\n")] = 0;
	snprintf(reply, len, "%s", line);
	r = 0;
out:
	close(fd);
	return r;
}

void sup_release(struct sup_vm *v)
{
	close_fd(&v->in_fd);
	close_fd(&v->out_fd);
	close_fd(&v->err_fd);
	rlog_close(&v->console_log);
	free(v->sb);
	v->sb = NULL;
}
