/* MC146818 RTC/CMOS with a fake clock and timer. */
#include "test.h"

#include <time.h>

#include "dev/rtc.h"
#include "fakes.h"
#include "machine/layout.h"

#define NS 1000000000LL

struct env {
	struct io_bus bus;
	struct rtc r;
	struct fake_irq irq;
	struct fake_clock clk;
	struct fake_timer tmr;
};

/* 2031-07-14 23:59:58 UTC, a Monday. */
static int64_t when(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm) * NS;
}

static struct env *env_new(uint64_t low, uint64_t high)
{
	struct env *e = calloc(1, sizeof(*e));
	e->clk.real = when(2031, 7, 14, 23, 59, 58);
	e->clk.mono = 1000 * NS;
	io_bus_init(&e->bus, "pio");
	rtc_init(&e->r, fake_vclock(&e->clk), fake_line(&e->irq, 8), fake_vtimer(&e->tmr), low, high, 4);
	io_bus_add(&e->bus, 0x70, 2, &rtc_ops, &e->r, "rtc");
	return e;
}

static uint8_t rd(struct env *e, uint8_t idx)
{
	io_bus_write_val(&e->bus, 0x70, idx, 1);
	return (uint8_t)io_bus_read_val(&e->bus, 0x71, 1);
}

static void wr(struct env *e, uint8_t idx, uint8_t v)
{
	io_bus_write_val(&e->bus, 0x70, idx, 1);
	io_bus_write_val(&e->bus, 0x71, v, 1);
}

static void env_free(struct env *e)
{
	io_bus_destroy(&e->bus);
	free(e);
}

TEST(rtc_bcd_24h_and_century)
{
	struct env *e = env_new(256 << 20, 0);
	CHECK_EQ(rd(e, 0x00), 0x58);
	CHECK_EQ(rd(e, 0x02), 0x59);
	CHECK_EQ(rd(e, 0x04), 0x23);
	CHECK_EQ(rd(e, 0x06), 0x02);	/* Monday = 2 */
	CHECK_EQ(rd(e, 0x07), 0x14);
	CHECK_EQ(rd(e, 0x08), 0x07);
	CHECK_EQ(rd(e, 0x09), 0x31);
	CHECK_EQ(rd(e, LAYOUT_RTC_CENTURY), 0x20);
	/* Two seconds later the date rolls over. */
	fake_advance(&e->clk, 2 * NS);
	CHECK_EQ(rd(e, 0x04), 0x00);
	CHECK_EQ(rd(e, 0x07), 0x15);
	env_free(e);
}

TEST(rtc_binary_and_12h_modes)
{
	struct env *e = env_new(256 << 20, 0);
	wr(e, 0x0b, 0x04);		/* binary, 12 h */
	CHECK_EQ(rd(e, 0x00), 58);
	CHECK_EQ(rd(e, 0x04), 0x80 | 11);	/* 23h = 11 PM */
	e->clk.real = when(2031, 7, 15, 0, 30, 0);
	CHECK_EQ(rd(e, 0x04), 12);		/* 00:30 = 12 AM */
	e->clk.real = when(2031, 7, 15, 12, 5, 0);
	CHECK_EQ(rd(e, 0x04), 0x80 | 12);	/* noon = 12 PM */
	wr(e, 0x0b, 0x00);			/* BCD, 12 h */
	e->clk.real = when(2031, 7, 15, 21, 0, 0);
	CHECK_EQ(rd(e, 0x04), 0x89);		/* 9 PM */
	env_free(e);
}

TEST(rtc_vrt_uip_and_nmi_mask)
{
	struct env *e = env_new(256 << 20, 0);
	wr(e, 0x0d, 0x00);
	CHECK_EQ(rd(e, 0x0d), 0x80);		/* VRT reads 1 whatever is written */
	CHECK_EQ(rd(e, 0x0a), 0x26);		/* UIP clear mid-second */
	e->clk.real = when(2031, 1, 1, 0, 0, 0) + NS - 100000;	/* 100 us before the update */
	CHECK_EQ(rd(e, 0x0a), 0xa6);
	fake_advance(&e->clk, 200000);
	CHECK_EQ(rd(e, 0x0a), 0x26);
	/* OVMF sets bit 7 (NMI disable) on the index: the same register. */
	CHECK_EQ(rd(e, 0x80 | 0x0a), 0x26);
	CHECK_EQ(rd(e, 0x80 | 0x0d), 0x80);
	/* The index port itself is write-only. */
	CHECK_EQ(io_bus_read_val(&e->bus, 0x70, 1), 0xff);
	env_free(e);
}

TEST(rtc_guest_sets_time_as_an_offset)
{
	struct env *e = env_new(256 << 20, 0);
	wr(e, 0x0b, 0x82);		/* SET, 24 h, BCD */
	wr(e, 0x09, 0x29);
	wr(e, 0x08, 0x02);
	wr(e, 0x07, 0x28);
	wr(e, 0x04, 0x23);
	wr(e, 0x02, 0x59);
	wr(e, 0x00, 0x59);
	CHECK_EQ(rd(e, 0x00), 0x59);	/* frozen while SET */
	fake_advance(&e->clk, 5 * NS);
	CHECK_EQ(rd(e, 0x00), 0x59);
	wr(e, 0x0b, 0x02);		/* run */
	fake_advance(&e->clk, NS);
	CHECK_EQ(rd(e, 0x09), 0x29);	/* 2029-02-28 23:59:59 + 1 s = 03-01 */
	CHECK_EQ(rd(e, 0x08), 0x03);
	CHECK_EQ(rd(e, 0x07), 0x01);
	CHECK_EQ(rd(e, 0x04), 0x00);
	/* An impossible time is refused; the clock keeps going. */
	wr(e, 0x0b, 0x82);
	wr(e, 0x08, 0x13);
	wr(e, 0x0b, 0x02);
	CHECK_EQ(rd(e, 0x08), 0x03);
	env_free(e);
}

TEST(rtc_periodic_update_and_alarm_interrupts)
{
	struct env *e = env_new(256 << 20, 0);
	int64_t d;

	wr(e, 0x0a, 0x26);		/* rate 6: 1024 Hz */
	wr(e, 0x0b, 0x42);		/* PIE */
	d = e->tmr.deadline;
	CHECK_EQ(d - e->clk.mono, NS / 1024);
	e->clk.mono = d;
	rtc_timer_fire(&e->r);
	CHECK_EQ(e->irq.rises[8], 1);
	CHECK_EQ(e->tmr.deadline, d + NS / 1024);
	/* IRQF stays set (no new edge) until C is read. */
	e->clk.mono = e->tmr.deadline;
	rtc_timer_fire(&e->r);
	CHECK_EQ(e->irq.rises[8], 1);
	CHECK_EQ(rd(e, 0x0c), 0xc0);	/* IRQF | PF */
	CHECK_EQ(rd(e, 0x0c), 0x00);	/* cleared by the read */
	/* Update-ended + alarm with "don't care" seconds/minutes. */
	wr(e, 0x0b, 0x32);		/* AIE | UIE */
	wr(e, 0x05, 0x00);		/* alarm at hour 00 (BCD) */
	wr(e, 0x03, 0xc0);
	wr(e, 0x01, 0xff);
	e->clk.real = when(2031, 7, 14, 23, 59, 59) + NS / 2;
	wr(e, 0x0b, 0x32);		/* re-arm for the new time */
	CHECK_EQ(e->tmr.deadline - e->clk.mono, NS / 2);
	fake_advance(&e->clk, NS / 2);
	rtc_timer_fire(&e->r);
	CHECK_EQ(rd(e, 0x0c), 0x80 | 0x20 | 0x10);	/* IRQF | AF | UF at 00:00:00 */
	fake_advance(&e->clk, NS);
	rtc_timer_fire(&e->r);
	CHECK_EQ(rd(e, 0x0c), 0x80 | 0x20 | 0x10);	/* hour still 00 */
	rtc_reset(&e->r);
	CHECK_EQ(rd(e, 0x0b) & 0x70, 0);
	CHECK_EQ(e->tmr.deadline, 0);
	env_free(e);
}

TEST(rtc_cmos_memory_sizes)
{
	struct env *e = env_new(256ULL << 20, 0);
	CHECK_EQ(rd(e, 0x15) | rd(e, 0x16) << 8, 640);
	CHECK_EQ(rd(e, 0x17) | rd(e, 0x18) << 8, 0xffff);	/* capped */
	CHECK_EQ(rd(e, 0x34) | rd(e, 0x35) << 8, (256 - 16) * 16);	/* 64 KiB units */
	CHECK_EQ(rd(e, 0x5b) | rd(e, 0x5c) << 8 | rd(e, 0x5d) << 16, 0);
	CHECK_EQ(rd(e, 0x5f), 3);	/* 4 CPUs */
	env_free(e);

	e = env_new(2ULL << 30, 4ULL << 30);	/* 6 GiB */
	CHECK_EQ(rd(e, 0x34) | rd(e, 0x35) << 8, (2048 - 16) * 16);
	CHECK_EQ(rd(e, 0x5b) | rd(e, 0x5c) << 8 | rd(e, 0x5d) << 16, (4ULL << 30) >> 16);
	/* Checksum over 0x10-0x2D. */
	{
		unsigned s = 0;
		for (int i = 0x10; i <= 0x2d; i++)
			s += rd(e, (uint8_t)i);
		CHECK_EQ(rd(e, 0x2e) << 8 | rd(e, 0x2f), s);
	}
	/* Plain CMOS RAM round-trips; C and D are read-only. */
	wr(e, 0x40, 0x5a);
	CHECK_EQ(rd(e, 0x40), 0x5a);
	wr(e, 0x0c, 0xff);
	CHECK_EQ(rd(e, 0x0c), 0);
	/* Accesses at other offsets are not ours. */
	CHECK_EQ(io_bus_read_val(&e->bus, 0x72, 1), 0xff);
	env_free(e);
}
