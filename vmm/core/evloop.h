/*
 * The VMM's I/O thread: one epoll loop. Each source carries its own
 * callback; tests drive the loop one step at a time with ev_run_once().
 */
#ifndef POLYBOOT_VMM_CORE_EVLOOP_H
#define POLYBOOT_VMM_CORE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev_source;
typedef void (*ev_ready_fn)(struct ev_source *s, uint32_t events);

struct ev_source {
	int fd;
	ev_ready_fn ready;
	void *opaque;
	const char *name;
};

struct evloop {
	int epfd;
	int stop_fd;		/* eventfd written by ev_stop() */
	struct ev_source stop_src;
	volatile bool stopping;
};

int ev_init(struct evloop *l);
void ev_destroy(struct evloop *l);
/* Watches s->fd for @events (EPOLLIN...); @s must stay valid until ev_del. */
int ev_add(struct evloop *l, struct ev_source *s, uint32_t events);
int ev_del(struct evloop *l, struct ev_source *s);
/* Waits up to @timeout_ms (-1: forever) and dispatches ready sources.
 * Returns the number dispatched, or -errno. */
int ev_run_once(struct evloop *l, int timeout_ms);
/* Runs until ev_stop(); returns 0 or -errno. */
int ev_run(struct evloop *l);
/* Thread- and signal-safe. */
void ev_stop(struct evloop *l);

/*
 * A periodic or one-shot timer on the loop (timerfd). @period_ns 0 makes it
 * one-shot. The callback gets the number of expirations.
 */
struct ev_timer {
	struct ev_source src;
	void (*fire)(void *opaque, uint64_t expirations);
	void *opaque;
};
int ev_timer_init(struct evloop *l, struct ev_timer *t, void (*fire)(void *, uint64_t),
		  void *opaque, const char *name);
int ev_timer_arm(struct ev_timer *t, uint64_t first_ns, uint64_t period_ns);
int ev_timer_disarm(struct ev_timer *t);
void ev_timer_destroy(struct evloop *l, struct ev_timer *t);

#endif
