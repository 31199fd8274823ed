/*
 * MC146818A RTC + CMOS. Motorola MC146818A datasheet (registers A-D,
 * divider chain, update cycle), and the PC CMOS map used by PC firmware
 * (memory sizes at 0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5B-0x5D; century at
 * 0x32; SeaBIOS: CPU count 0x5F, boot order 0x38/0x3D).
 *
 * Time is never stored: each read converts host time plus the guest's
 * offset, so the clock cannot drift. UIP is set for the 244 us before each
 * second boundary, as on the real part.
 *
 * Not implemented: the upper 128-byte bank (0x72/0x73), divider reset
 * states other than "running", the SQW output pin.
 */
#define LOG_MOD "rtc"
#include "dev/rtc.h"

#include <string.h>
#include <time.h>

#include "log.h"
#include "machine/layout.h"

#define REG_SEC		0x00
#define REG_SEC_ALARM	0x01
#define REG_MIN		0x02
#define REG_MIN_ALARM	0x03
#define REG_HOUR	0x04
#define REG_HOUR_ALARM	0x05
#define REG_WDAY	0x06
#define REG_MDAY	0x07
#define REG_MONTH	0x08
#define REG_YEAR	0x09
#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d

#define A_UIP		0x80
#define B_SET		0x80
#define B_PIE		0x40
#define B_AIE		0x20
#define B_UIE		0x10
#define B_DM		0x04	/* binary (1) or BCD (0) */
#define B_24H		0x02
#define C_IRQF		0x80
#define C_PF		0x40
#define C_AF		0x20
#define C_UF		0x10
#define D_VRT		0x80

#define NS		1000000000LL
#define UIP_NS		244000LL	/* 244 us before the update */

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

static int64_t guest_ns(struct rtc *r)
{
	return vclock_real(&r->clock) + r->offset_ns;
}

/* Encodes a field per register B (BCD or binary). */
static uint8_t enc(const struct rtc *r, unsigned v)
{
	return (r->cmos[REG_B] & B_DM) ? (uint8_t)v : to_bcd(v);
}

static unsigned dec(const struct rtc *r, uint8_t v)
{
	return (r->cmos[REG_B] & B_DM) ? v : from_bcd(v);
}

static uint8_t enc_hour(const struct rtc *r, unsigned h)
{
	if (r->cmos[REG_B] & B_24H)
		return enc(r, h);
	/* 12-hour: 12, 1..11 with bit 7 for PM. */
	return (uint8_t)(enc(r, h % 12 == 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0));
}

static unsigned dec_hour(const struct rtc *r, uint8_t v)
{
	unsigned h;
	if (r->cmos[REG_B] & B_24H)
		return dec(r, v);
	h = dec(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

/* Fills the time registers from the guest clock (lock held). */
static void latch_time(struct rtc *r)
{
	time_t t = (time_t)(guest_ns(r) / NS);
	struct tm tm;

	gmtime_r(&t, &tm);
	r->cmos[REG_SEC] = enc(r, (unsigned)tm.tm_sec);
	r->cmos[REG_MIN] = enc(r, (unsigned)tm.tm_min);
	r->cmos[REG_HOUR] = enc_hour(r, (unsigned)tm.tm_hour);
	r->cmos[REG_WDAY] = enc(r, (unsigned)tm.tm_wday + 1);
	r->cmos[REG_MDAY] = enc(r, (unsigned)tm.tm_mday);
	r->cmos[REG_MONTH] = enc(r, (unsigned)tm.tm_mon + 1);
	r->cmos[REG_YEAR] = enc(r, (unsigned)(tm.tm_year % 100));
	r->cmos[LAYOUT_RTC_CENTURY] = enc(r, (unsigned)(1900 + tm.tm_year) / 100);
}

/* The guest set the time (SET cleared): store it as an offset. */
static void commit_time(struct rtc *r)
{
	struct tm tm = { 0 };
	unsigned century = dec(r, r->cmos[LAYOUT_RTC_CENTURY]);
	int64_t want;

	tm.tm_sec = (int)dec(r, r->cmos[REG_SEC]);
	tm.tm_min = (int)dec(r, r->cmos[REG_MIN]);
	tm.tm_hour = (int)dec_hour(r, r->cmos[REG_HOUR]);
	tm.tm_mday = (int)dec(r, r->cmos[REG_MDAY]);
	tm.tm_mon = (int)dec(r, r->cmos[REG_MONTH]) - 1;
	/* Nanoseconds since 1970 in an int64 reach 2262: keep to 1900-2199. */
	if (century < 19 || century > 21)
		century = 20;
	tm.tm_year = (int)(century * 100 + dec(r, r->cmos[REG_YEAR]) % 100) - 1900;
	if (tm.tm_sec > 59 || tm.tm_min > 59 || tm.tm_hour > 23 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11) {
		log_guest("guest set an invalid time %02d:%02d:%02d %d-%d; ignored",
			  tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_mon + 1, tm.tm_mday);
		return;
	}
	want = (int64_t)timegm(&tm) * NS;
	r->offset_ns = want - (vclock_real(&r->clock) / NS) * NS;
}

/* Period of the periodic interrupt from register A rate bits (ns), 0 = off. */
static int64_t periodic_ns(const struct rtc *r)
{
	unsigned rate = r->cmos[REG_A] & 0x0f;
	if (rate == 0)
		return 0;
	if (rate <= 2)
		rate += 7;	/* 1 and 2 alias to 8 and 9 with the 32 kHz base */
	return (NS << (rate - 1)) / 32768;
}

static void update_irq(struct rtc *r)
{
	uint8_t c = r->cmos[REG_C] & (C_PF | C_AF | C_UF);
	uint8_t en = (uint8_t)((r->cmos[REG_B] & (B_PIE | B_AIE | B_UIE)));
	/* PIE/AIE/UIE are the same bit positions as PF/AF/UF. */
	if ((c & en) && !(r->cmos[REG_C] & C_IRQF)) {
		r->cmos[REG_C] |= C_IRQF;
		/* IRQ 8 is an edge interrupt on PCs: one pulse per IRQF. */
		irq_pulse(&r->irq);
	}
}

/* Arms the injected timer for the next event we care about (lock held). */
static void rearm(struct rtc *r)
{
	int64_t now = vclock_mono(&r->clock), next = 0;

	if (r->cmos[REG_B] & B_PIE) {
		int64_t p = periodic_ns(r);
		if (p && (!r->next_periodic || r->next_periodic < now - 1000 * p))
			r->next_periodic = now + p;
		if (!p)
			r->next_periodic = 0;
	} else {
		r->next_periodic = 0;
	}
	if ((r->cmos[REG_B] & (B_AIE | B_UIE)) && !(r->cmos[REG_B] & B_SET)) {
		int64_t g = guest_ns(r);
		r->next_update = now + (NS - g % NS);
	} else {
		r->next_update = 0;
	}
	if (r->next_periodic)
		next = r->next_periodic;
	if (r->next_update && (!next || r->next_update < next))
		next = r->next_update;
	if (next != r->armed) {
		r->armed = next;
		vtimer_arm(&r->timer, next);
	}
}

static int alarm_match(struct rtc *r)
{
	/* 0xC0-0xFF in an alarm register means "don't care". */
	return ((r->cmos[REG_SEC_ALARM] & 0xc0) == 0xc0 || r->cmos[REG_SEC_ALARM] == r->cmos[REG_SEC]) &&
	       ((r->cmos[REG_MIN_ALARM] & 0xc0) == 0xc0 || r->cmos[REG_MIN_ALARM] == r->cmos[REG_MIN]) &&
	       ((r->cmos[REG_HOUR_ALARM] & 0xc0) == 0xc0 || r->cmos[REG_HOUR_ALARM] == r->cmos[REG_HOUR]);
}

void rtc_timer_fire(struct rtc *r)
{
	int64_t now;

	pthread_mutex_lock(&r->lock);
	now = vclock_mono(&r->clock);
	r->armed = 0;
	if (r->next_periodic && now >= r->next_periodic) {
		int64_t p = periodic_ns(r);
		r->cmos[REG_C] |= C_PF;
		/* Keep the phase; skip periods we were too late for. */
		if (p)
			r->next_periodic += ((now - r->next_periodic) / p + 1) * p;
	}
	if (r->next_update && now >= r->next_update) {
		latch_time(r);
		r->cmos[REG_C] |= C_UF;
		if (alarm_match(r))
			r->cmos[REG_C] |= C_AF;
		r->next_update = 0;
	}
	update_irq(r);
	rearm(r);
	pthread_mutex_unlock(&r->lock);
}

static void set_mem_bytes(struct rtc *r, uint64_t ram_low, uint64_t ram_high, unsigned ncpus)
{
	uint64_t ext_kb = ram_low > (1 << 20) ? (ram_low - (1 << 20)) >> 10 : 0;
	uint64_t above16 = ram_low > (16 << 20) ? (ram_low - (16 << 20)) >> 16 : 0;
	uint64_t above4g = ram_high >> 16;
	unsigned sum = 0;

	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	if (above16 > 0xffff)
		above16 = 0xffff;
	if (above4g > 0xffffff)
		above4g = 0xffffff;
	r->cmos[0x0f] = 0;		/* shutdown status: normal */
	r->cmos[0x10] = 0;		/* no floppy drives */
	r->cmos[0x12] = 0;		/* no legacy hard disks */
	r->cmos[0x14] = 0x06;		/* equipment: FPU, VGA/EGA (80 col) */
	r->cmos[0x15] = 640 & 0xff;	/* base memory 640 KiB */
	r->cmos[0x16] = 640 >> 8;
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)ext_kb;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(ext_kb >> 8);
	r->cmos[0x34] = (uint8_t)above16;
	r->cmos[0x35] = (uint8_t)(above16 >> 8);
	r->cmos[0x5b] = (uint8_t)above4g;
	r->cmos[0x5c] = (uint8_t)(above4g >> 8);
	r->cmos[0x5d] = (uint8_t)(above4g >> 16);
	r->cmos[0x5f] = (uint8_t)(ncpus - 1);
	/* SeaBIOS boot order: hard disk first, then CD, then floppy. */
	r->cmos[0x3d] = 0x32;	/* 1st: HDD (2), 2nd: CD (3) */
	r->cmos[0x38] = 0x10;	/* 3rd: floppy (1); bit 0: floppy signature check on */
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
}

void rtc_reset(struct rtc *r)
{
	pthread_mutex_lock(&r->lock);
	r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SET);
	r->cmos[REG_C] = 0;
	r->next_periodic = r->next_update = 0;
	if (r->armed) {
		r->armed = 0;
		vtimer_arm(&r->timer, 0);
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_init(struct rtc *r, struct vclock clock, struct irq_line irq, struct vtimer timer,
	      uint64_t ram_low, uint64_t ram_high, unsigned ncpus)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->clock = clock;
	r->irq = irq;
	r->timer = timer;
	r->cmos[REG_A] = 0x26;		/* 32.768 kHz divider, 1024 Hz rate */
	r->cmos[REG_B] = B_24H;		/* 24 h, BCD */
	r->cmos[REG_D] = D_VRT;
	set_mem_bytes(r, ram_low, ram_high, ncpus ? ncpus : 1);
	latch_time(r);
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
	struct rtc *r = opaque;
	uint8_t v;

	if (off == 0)
		return 0xff;	/* the index port is write-only */
	if (off != 1)
		return ~0ULL;
	pthread_mutex_lock(&r->lock);
	switch (r->index) {
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY:
	case REG_MDAY: case REG_MONTH: case REG_YEAR: case LAYOUT_RTC_CENTURY:
		if (!(r->cmos[REG_B] & B_SET))
			latch_time(r);
		v = r->cmos[r->index];
		break;
	case REG_A: {
		int64_t into = guest_ns(r) % NS;
		v = r->cmos[REG_A] & 0x7f;
		if (!(r->cmos[REG_B] & B_SET) && into >= NS - UIP_NS)
			v |= A_UIP;
		break;
	}
	case REG_C:
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;	/* flags clear on read; IRQF re-arms */
		update_irq(r);
		break;
	case REG_D:
		v = D_VRT;	/* valid RAM and time, always */
		break;
	default:
		v = r->cmos[r->index];
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rtc *r = opaque;
	uint8_t b = (uint8_t)val;

	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		/* Bit 7 masks NMI on real boards; the index is 7 bits. */
		r->index = b & 0x7f;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	if (off != 1) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	switch (r->index) {
	case REG_A:
		r->cmos[REG_A] = b & 0x7f;	/* UIP is read-only */
		break;
	case REG_B: {
		uint8_t old = r->cmos[REG_B];
		if (!(old & B_SET) && (b & B_SET))
			latch_time(r);		/* freeze what the guest edits */
		/* Changing the format converts the stored time, as the guest
		 * reads it back in the new format at the next latch. */
		r->cmos[REG_B] = b;
		if ((old & B_SET) && !(b & B_SET)) {
			uint8_t nb = r->cmos[REG_B];
			r->cmos[REG_B] = old;	/* decode in the format it was written */
			commit_time(r);
			r->cmos[REG_B] = nb;
		}
		if (b & B_SET)
			r->cmos[REG_B] &= (uint8_t)~B_UIE;	/* SET clears UIE */
		update_irq(r);
		break;
	}
	case REG_C:
	case REG_D:
		break;	/* read-only */
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY:
	case REG_MDAY: case REG_MONTH: case REG_YEAR: case LAYOUT_RTC_CENTURY:
		/* Without SET the new field is taken with the current others. */
		if (!(r->cmos[REG_B] & B_SET))
			latch_time(r);
		r->cmos[r->index] = b;
		if (!(r->cmos[REG_B] & B_SET))
			commit_time(r);
		break;
	default:
		r->cmos[r->index] = b;
		break;
	}
	rearm(r);
	pthread_mutex_unlock(&r->lock);
}

const struct io_ops rtc_ops = { rtc_read, rtc_write };
