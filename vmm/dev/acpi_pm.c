/*
 * ACPI PM block of the ICH9 LPC: ACPI 6.4 sections 4.8.3 (PM1 event and
 * control registers, PM timer) and 5.6 (SCI), ICH9 datasheet 13.8.3.
 * Layout: +0 PM1_STS, +2 PM1_EN, +4 PM1_CNT, +8 PM_TMR, +0x20 GPE0_STS (8),
 * +0x28 GPE0_EN (8); the FADT generated in vmm/acpi/ says the same. +0x30
 * SMI_EN (ICH9 13.8.3.8) is plain storage whose reset value has APMC_EN:
 * no SMI is ever raised, and firmware that finds APMC_EN set takes SMM as
 * already initialised (SeaBIOS src/fw/smm.c ich9_lpc_apmc_smm_setup; QEMU
 * hw/acpi/ich9.c sets the bit when SMM is off).
 *
 * Not implemented: sleep states other than S5 (no S3/S4: we do not offer
 * them in \_Sx), the timer-carry event (TMR_STS), RTC wake.
 */
#define LOG_MOD "acpi-pm"
#include "dev/acpi_pm.h"

#include <string.h>

#include "log.h"
#include "machine/layout.h"

#define PM1_STS		0x00
#define PM1_EN		0x02
#define PM1_CNT		0x04
#define PM_TMR		0x08
#define GPE0_STS	0x20
#define GPE0_EN		0x28
#define SMI_EN		0x30
#define SMI_EN_APMC	0x00000020

#define PM1_PWRBTN	0x0100
#define PM1_WAK		0x8000
#define PM1_STS_W1C	0x8d31	/* WAK, PWRBTN_OVR, RTC, SLPBTN, PWRBTN, GBL, BM, TMR */
#define PM1_EN_MASK	0x0521	/* RTC_EN, PWRBTN_EN, GBL_EN, TMR_EN */
#define CNT_SCI_EN	0x0001
#define CNT_SLP_TYP(v)	(((v) >> 10) & 7)
#define CNT_SLP_EN	0x2000

static void update_sci(struct acpi_pm *pm)
{
	int level = 0;

	if (pm->pm1_sts & pm->pm1_en & PM1_EN_MASK)
		level = 1;
	for (int i = 0; i < 8; i++)
		if (pm->gpe_sts[i] & pm->gpe_en[i])
			level = 1;
	/* SCI only exists in ACPI mode. */
	if (!(pm->pm1_cnt & CNT_SCI_EN))
		level = 0;
	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_set(&pm->sci, level);
	}
}

void acpi_pm_init(struct acpi_pm *pm, struct io_bus *pio, struct vclock clock,
		  struct irq_line sci, void (*power_off)(void *ctx), void *ctx)
{
	memset(pm, 0, sizeof(*pm));
	pthread_mutex_init(&pm->lock, NULL);
	pm->pio = pio;
	pm->clock = clock;
	pm->sci = sci;
	pm->power_off = power_off;
	pm->ctx = ctx;
	pm->timer_epoch = vclock_mono(&clock);
	pm->smi_en = SMI_EN_APMC;
}

int acpi_pm_update(struct acpi_pm *pm, uint16_t base, bool enabled)
{
	int r = 0;

	base &= 0xff80;
	pthread_mutex_lock(&pm->lock);
	if (pm->registered && (!enabled || base != pm->base)) {
		io_bus_del(pm->pio, pm->base, pm);
		pm->registered = false;
	}
	if (enabled && base && !pm->registered) {
		r = io_bus_add(pm->pio, base, LAYOUT_PM_LEN, &acpi_pm_ops, pm, "acpi-pm");
		if (r == 0) {
			pm->registered = true;
			pm->base = base;
		} else {
			log_guest("PM block at %#x overlaps another device; not decoded", base);
		}
	}
	pthread_mutex_unlock(&pm->lock);
	return r;
}

void acpi_pm_reset(struct acpi_pm *pm)
{
	acpi_pm_update(pm, 0, false);
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
	memset(pm->gpe_sts, 0, sizeof(pm->gpe_sts));
	memset(pm->gpe_en, 0, sizeof(pm->gpe_en));
	pm->smi_en = SMI_EN_APMC;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

bool acpi_pm_power_button(struct acpi_pm *pm)
{
	bool listening;

	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= PM1_PWRBTN;
	listening = (pm->pm1_cnt & CNT_SCI_EN) && (pm->pm1_en & PM1_PWRBTN);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return listening;
}

void acpi_pm_gpe(struct acpi_pm *pm, unsigned bit)
{
	if (bit >= 64)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts[bit / 8] |= (uint8_t)(1u << (bit % 8));
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static uint32_t timer_value(struct acpi_pm *pm)
{
	int64_t ns = vclock_mono(&pm->clock) - pm->timer_epoch;
	/* ticks = ns * 3579545 / 1e9, without overflowing for years. */
	uint64_t s = (uint64_t)ns / 1000000000u, rem = (uint64_t)ns % 1000000000u;
	return (uint32_t)(s * PM_TIMER_HZ + rem * PM_TIMER_HZ / 1000000000u);
}

/* Reads one byte of the register file (lock held). */
static uint8_t reg_byte(struct acpi_pm *pm, unsigned off)
{
	switch (off) {
	case PM1_STS: case PM1_STS + 1:
		return (uint8_t)(pm->pm1_sts >> (8 * (off - PM1_STS)));
	case PM1_EN: case PM1_EN + 1:
		return (uint8_t)(pm->pm1_en >> (8 * (off - PM1_EN)));
	case PM1_CNT: case PM1_CNT + 1:
		return (uint8_t)(pm->pm1_cnt >> (8 * (off - PM1_CNT)));
	case PM_TMR: case PM_TMR + 1: case PM_TMR + 2: case PM_TMR + 3:
		return (uint8_t)(timer_value(pm) >> (8 * (off - PM_TMR)));
	default:
		if (off >= GPE0_STS && off < GPE0_STS + 8)
			return pm->gpe_sts[off - GPE0_STS];
		if (off >= GPE0_EN && off < GPE0_EN + 8)
			return pm->gpe_en[off - GPE0_EN];
		if (off >= SMI_EN && off < SMI_EN + 4)
			return (uint8_t)(pm->smi_en >> (8 * (off - SMI_EN)));
		return 0;
	}
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&pm->lock);
	if (off == PM_TMR && size == 4) {
		v = timer_value(pm);	/* one consistent sample */
	} else {
		for (unsigned i = 0; i < size; i++)
			v |= (uint64_t)reg_byte(pm, (unsigned)off + i) << (8 * i);
	}
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct acpi_pm *pm = opaque;
	bool off_now = false;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = (unsigned)off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		unsigned sh = 8 * (o & 1);

		if (o == PM1_STS || o == PM1_STS + 1) {
			pm->pm1_sts &= (uint16_t)~((b << sh) & PM1_STS_W1C);
		} else if (o == PM1_EN || o == PM1_EN + 1) {
			pm->pm1_en = (uint16_t)((pm->pm1_en & ~(0xff << sh)) | ((b << sh) & PM1_EN_MASK & (0xff << sh)));
		} else if (o == PM1_CNT || o == PM1_CNT + 1) {
			uint16_t cnt = (uint16_t)((pm->pm1_cnt & ~(0xff << sh)) | (b << sh));
			if (cnt & CNT_SLP_EN) {
				/* SLP_EN is write-only: act on it, never store it. */
				if (CNT_SLP_TYP(cnt) == 0)
					off_now = true;
				else
					log_guest("sleep type %u requested; only S5 (type 0) is supported",
						  CNT_SLP_TYP(cnt));
				cnt &= (uint16_t)~CNT_SLP_EN;
			}
			pm->pm1_cnt = cnt & 0x1c07;	/* SLP_TYP, GBL_RLS, BM_RLD, SCI_EN */
		} else if (o >= GPE0_STS && o < GPE0_STS + 8) {
			pm->gpe_sts[o - GPE0_STS] &= (uint8_t)~b;
		} else if (o >= GPE0_EN && o < GPE0_EN + 8) {
			pm->gpe_en[o - GPE0_EN] = b;
		} else if (o >= SMI_EN && o < SMI_EN + 4) {
			unsigned byte_sh = 8 * (o - SMI_EN);
			pm->smi_en = (pm->smi_en & ~(0xffu << byte_sh)) | (uint32_t)b << byte_sh;
		}
		/* The PM timer is read-only; other offsets are reserved. */
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (off_now && pm->power_off)
		pm->power_off(pm->ctx);
}

const struct io_ops acpi_pm_ops = { pm_read, pm_write };
