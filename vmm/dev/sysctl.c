/*
 * Reset control: ICH9 datasheet 13.7.5 (RST_CNT at 0xCF9: SYS_RST bit 1,
 * RST_CPU bit 2, FULL_RST bit 3), IBM PC/AT System Control Port A (0x92:
 * bit 0 fast reset, bit 1 A20), 8042 command 0xFE (pulse reset line).
 *
 * There is deliberately no keyboard controller: 0x64 reads 0xFF, which is
 * how OVMF's Ps2KeyboardDxe and Linux recognise an absent 8042 quickly (the
 * FADT also says "no 8042"); only the reset command is honoured, because
 * OVMF's ResetWarm uses it (research note section 11).
 *
 * Not implemented: A20 masking (KVM guests run with A20 on), the 8042's
 * other commands and data port 0x60.
 */
#define LOG_MOD "sysctl"
#include "dev/sysctl.h"

#include <string.h>

#include "log.h"

#define RCR_SYS_RST	0x02
#define RCR_RST_CPU	0x04
#define RCR_FULL_RST	0x08
#define P92_RESET	0x01
#define P92_A20		0x02

void sysctl_init(struct sysctl *s, void (*reset)(void *ctx, const char *why), void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->reset = reset;
	s->ctx = ctx;
	sysctl_reset(s);
}

void sysctl_reset(struct sysctl *s)
{
	pthread_mutex_lock(&s->lock);
	s->rcr = 0;
	s->port92 = P92_A20;	/* A20 enabled, as KVM runs */
	pthread_mutex_unlock(&s->lock);
}

static uint64_t cf9_read(void *opaque, uint64_t off, unsigned size)
{
	struct sysctl *s = opaque;
	uint8_t v;
	pthread_mutex_lock(&s->lock);
	v = s->rcr;
	pthread_mutex_unlock(&s->lock);
	return off == 0 ? v : 0xff;
}

static void cf9_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct sysctl *s = opaque;
	uint8_t b = (uint8_t)val;
	int go;

	if (off != 0)
		return;
	pthread_mutex_lock(&s->lock);
	/* RST_CPU going 0 -> 1 starts the reset; SYS_RST/FULL_RST select the
	 * kind, which for a VM is the same thing. */
	go = (b & RCR_RST_CPU) && !(s->rcr & RCR_RST_CPU);
	s->rcr = b & (RCR_SYS_RST | RCR_FULL_RST);
	pthread_mutex_unlock(&s->lock);
	if (go && s->reset)
		s->reset(s->ctx, "reset control register 0xCF9");
}

static uint64_t p92_read(void *opaque, uint64_t off, unsigned size)
{
	struct sysctl *s = opaque;
	uint8_t v;
	pthread_mutex_lock(&s->lock);
	v = s->port92 & P92_A20;	/* bit 0 reads 0: never "reset in progress" */
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void p92_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct sysctl *s = opaque;
	uint8_t b = (uint8_t)val;
	int go;

	pthread_mutex_lock(&s->lock);
	go = (b & P92_RESET) && !(s->port92 & P92_RESET);
	s->port92 = b & (P92_A20 | P92_RESET);
	pthread_mutex_unlock(&s->lock);
	if (go && s->reset)
		s->reset(s->ctx, "fast reset through port 0x92");
}

static uint64_t kbc_read(void *opaque, uint64_t off, unsigned size)
{
	return ~0ULL;
}

static void kbc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct sysctl *s = opaque;
	if (off == 0 && (uint8_t)val == 0xfe && s->reset)
		s->reset(s->ctx, "keyboard controller reset (0x64 <- 0xFE)");
}

const struct io_ops sysctl_cf9_ops = { cf9_read, cf9_write };
const struct io_ops sysctl_port92_ops = { p92_read, p92_write };
const struct io_ops sysctl_i8042_ops = { kbc_read, kbc_write };
