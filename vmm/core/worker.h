/*
 * I/O worker threads: a thread that sleeps on an eventfd and runs one
 * callback each time it is signalled. A device queue gets one; the vCPU
 * that rings the doorbell only writes the eventfd (or KVM does it for us
 * through an ioeventfd), so the guest never waits for host I/O.
 */
#ifndef POLYBOOT_VMM_CORE_WORKER_H
#define POLYBOOT_VMM_CORE_WORKER_H

#include <pthread.h>
#include <stdbool.h>

struct worker {
	int efd;			/* eventfd: write 1 to wake the thread */
	pthread_t thread;
	bool running;
	volatile bool stop;
	void (*run)(void *ctx, unsigned arg);
	void *ctx;
	unsigned arg;
	char name[16];
};

/* Starts the thread; @run(@ctx, @arg) is called once per wakeup (several
 * signals before it runs coalesce into one call). Returns 0 or -errno. */
int worker_start(struct worker *w, const char *name, void (*run)(void *, unsigned), void *ctx,
		 unsigned arg);
/* Wakes the thread. Any thread; async-signal-safe. */
void worker_kick(struct worker *w);
/* Stops and joins the thread, closes the eventfd. */
void worker_stop(struct worker *w);

#endif
