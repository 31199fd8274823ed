/*
 * Time for device models, injected so tests can drive it: the RTC reads wall
 * time, the PM timer and UIP window read monotonic time.
 */
#ifndef POLYBOOT_VMM_CORE_CLOCK_H
#define POLYBOOT_VMM_CORE_CLOCK_H

#include <stdint.h>

struct vclock {
	int64_t (*monotonic_ns)(void *ctx);
	int64_t (*realtime_ns)(void *ctx);	/* nanoseconds since the Unix epoch, UTC */
	void *ctx;
};

/* The host's clocks (CLOCK_MONOTONIC, CLOCK_REALTIME). */
extern const struct vclock host_clock;

static inline int64_t vclock_mono(const struct vclock *c)
{
	return c->monotonic_ns(c->ctx);
}

static inline int64_t vclock_real(const struct vclock *c)
{
	return c->realtime_ns(c->ctx);
}

/*
 * A one-shot timer a device can arm (the RTC's periodic and update
 * interrupts). The owner calls the device's expiry function when the
 * deadline passes; tests call it directly.
 */
struct vtimer {
	/* Fire at @deadline_ns on the monotonic clock; 0 disarms. */
	int (*arm)(void *ctx, int64_t deadline_ns);
	void *ctx;
};

static inline int vtimer_arm(const struct vtimer *t, int64_t deadline_ns)
{
	return t->arm ? t->arm(t->ctx, deadline_ns) : 0;
}

#endif
