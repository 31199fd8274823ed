/*
 * Fakes injected into device models by the unit tests: interrupt lines that
 * record levels and edges, a clock the test moves by hand, a timer that
 * records its deadline, guest memory in a calloc'd buffer.
 */
#ifndef POLYBOOT_TESTS_UNIT_FAKES_H
#define POLYBOOT_TESTS_UNIT_FAKES_H

#include <stdint.h>
#include <stdlib.h>

#include "core/bus.h"
#include "core/clock.h"
#include "core/guest_mem.h"
#include "core/irq.h"

struct fake_irq {
	int level[64];
	int rises[64];		/* 0 -> 1 transitions */
};

static inline void fake_irq_set(void *ctx, unsigned gsi, int level)
{
	struct fake_irq *f = ctx;
	if (gsi >= 64)
		return;
	if (level && !f->level[gsi])
		f->rises[gsi]++;
	f->level[gsi] = level;
}

static inline struct irq_line fake_line(struct fake_irq *f, unsigned gsi)
{
	return (struct irq_line){ fake_irq_set, f, gsi };
}

struct fake_clock {
	int64_t mono, real;
};

static inline int64_t fake_mono(void *c)
{
	return ((struct fake_clock *)c)->mono;
}

static inline int64_t fake_real(void *c)
{
	return ((struct fake_clock *)c)->real;
}

static inline struct vclock fake_vclock(struct fake_clock *c)
{
	return (struct vclock){ fake_mono, fake_real, c };
}

static inline void fake_advance(struct fake_clock *c, int64_t ns)
{
	c->mono += ns;
	c->real += ns;
}

struct fake_timer {
	int64_t deadline;
	int arms;
};

static inline int fake_timer_arm(void *ctx, int64_t d)
{
	struct fake_timer *t = ctx;
	t->deadline = d;
	t->arms++;
	return 0;
}

static inline struct vtimer fake_vtimer(struct fake_timer *t)
{
	return (struct vtimer){ fake_timer_arm, t };
}

/* Guest RAM of @size bytes at guest address 0. */
static inline uint8_t *fake_ram(struct guest_mem *m, size_t size)
{
	uint8_t *p = calloc(1, size);
	memset(m, 0, sizeof(*m));
	gm_add(m, 0, size, p);
	return p;
}

#endif
