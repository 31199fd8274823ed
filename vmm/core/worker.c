#define LOG_MOD "worker"
#include "core/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

static void *worker_main(void *p)
{
	struct worker *w = p;
	uint64_t n;
	sigset_t all;

	/* Signals are for the I/O thread (signalfd) and the vCPUs (kicks). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		ssize_t k = read(w->efd, &n, sizeof(n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_err("%s: eventfd: %s", w->name, strerror(errno));
			break;
		}
		if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			break;
		w->run(w->ctx, w->arg);
	}
	return NULL;
}

int worker_start(struct worker *w, const char *name, void (*run)(void *, unsigned), void *ctx,
		 unsigned arg)
{
	int r;

	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->run = run;
	w->ctx = ctx;
	w->arg = arg;
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->efd < 0)
		return -errno;
	r = -pthread_create(&w->thread, NULL, worker_main, w);
	if (r) {
		close(w->efd);
		w->efd = -1;
		return r;
	}
	pthread_setname_np(w->thread, w->name);
	w->running = true;
	return 0;
}

void worker_kick(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("%s: kick: %s", w->name, strerror(errno));
}

void worker_stop(struct worker *w)
{
	if (!w->running)
		return;
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	worker_kick(w);
	pthread_join(w->thread, NULL);
	close(w->efd);
	w->efd = -1;
	w->running = false;
}
