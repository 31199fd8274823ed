/*
 * MC146818 RTC and CMOS RAM at ports 0x70 (index, bit 7 = NMI mask) and
 * 0x71 (data). Time comes from an injected clock; interrupts (periodic,
 * alarm, update-ended) go to IRQ 8 through an injected line, timed with an
 * injected one-shot timer: the owner calls rtc_timer_fire() at the deadline.
 */
#ifndef POLYBOOT_VMM_DEV_RTC_H
#define POLYBOOT_VMM_DEV_RTC_H

#include <pthread.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/clock.h"
#include "core/irq.h"

struct rtc {
	pthread_mutex_t lock;
	struct vclock clock;
	struct irq_line irq;
	struct vtimer timer;
	uint8_t index;
	uint8_t cmos[128];
	int64_t offset_ns;	/* guest time minus host time */
	int64_t next_periodic;	/* monotonic deadline, 0 = none */
	int64_t next_update;	/* next second boundary, 0 = none */
	int64_t armed;		/* deadline handed to the timer */
};

/*
 * @ram_low: RAM below 4 GiB, @ram_high: RAM above 4 GiB, @ncpus: for the
 * SeaBIOS CPU-count byte. Fills the CMOS memory-size bytes PC firmware reads.
 */
void rtc_init(struct rtc *r, struct vclock clock, struct irq_line irq, struct vtimer timer,
	      uint64_t ram_low, uint64_t ram_high, unsigned ncpus);

/* VM reset: interrupt enables off, flags clear; time and CMOS RAM kept. */
void rtc_reset(struct rtc *r);

/* The timer armed through struct vtimer expired (any time after). */
void rtc_timer_fire(struct rtc *r);

/* Ports 0x70-0x71. */
extern const struct io_ops rtc_ops;

#endif
