#include "core/clock.h"

#include <time.h>

static int64_t now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t host_mono(void *ctx)
{
	return now(CLOCK_MONOTONIC);
}

static int64_t host_real(void *ctx)
{
	return now(CLOCK_REALTIME);
}

const struct vclock host_clock = { host_mono, host_real, 0 };
