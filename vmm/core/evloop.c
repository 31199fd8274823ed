#define LOG_MOD "evloop"
#include "core/evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

static void stop_ready(struct ev_source *s, uint32_t events)
{
	struct evloop *l = s->opaque;
	uint64_t v;
	if (read(l->stop_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("stop eventfd: %s", strerror(errno));
	l->stopping = true;
}

int ev_init(struct evloop *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0) {
		r = -errno;
		close(l->epfd);
		return r;
	}
	l->stop_src = (struct ev_source){ l->stop_fd, stop_ready, l, "stop" };
	r = ev_add(l, &l->stop_src, EPOLLIN);
	if (r) {
		close(l->stop_fd);
		close(l->epfd);
	}
	return r;
}

void ev_destroy(struct evloop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	l->epfd = l->stop_fd = -1;
}

int ev_add(struct evloop *l, struct ev_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? -errno : 0;
}

int ev_del(struct evloop *l, struct ev_source *s)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL) < 0 ? -errno : 0;
}

int ev_run_once(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(l->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct ev_source *s = evs[i].data.ptr;
		s->ready(s, evs[i].events);
	}
	return n;
}

int ev_run(struct evloop *l)
{
	while (!l->stopping) {
		int r = ev_run_once(l, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void ev_stop(struct evloop *l)
{
	uint64_t one = 1;
	/* Nothing useful to do on failure: the counter is already non-zero. */
	if (write(l->stop_fd, &one, sizeof(one)) < 0)
		return;
}

static void timer_ready(struct ev_source *s, uint32_t events)
{
	struct ev_timer *t = (struct ev_timer *)s;
	uint64_t n = 0;

	if (read(s->fd, &n, sizeof(n)) != sizeof(n))
		return; /* EAGAIN: disarmed meanwhile */
	t->fire(t->opaque, n);
}

int ev_timer_init(struct evloop *l, struct ev_timer *t, void (*fire)(void *, uint64_t),
		  void *opaque, const char *name)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int r;

	if (fd < 0)
		return -errno;
	t->src = (struct ev_source){ fd, timer_ready, t, name };
	t->fire = fire;
	t->opaque = opaque;
	r = ev_add(l, &t->src, EPOLLIN);
	if (r)
		close(fd);
	return r;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
}

int ev_timer_arm(struct ev_timer *t, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = { ns_to_ts(period_ns), ns_to_ts(first_ns ? first_ns : 1) };
	return timerfd_settime(t->src.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int ev_timer_disarm(struct ev_timer *t)
{
	struct itimerspec its = { 0 };
	return timerfd_settime(t->src.fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void ev_timer_destroy(struct evloop *l, struct ev_timer *t)
{
	ev_del(l, &t->src);
	close(t->src.fd);
	t->src.fd = -1;
}
