/*
 * ICH9 ACPI power-management block: PM1 event/control, the PM timer and
 * GPE0, at a base the LPC bridge's PMBASE register chooses (OVMF: 0x600).
 * SCI on an injected level-triggered line (GSI 9); S5 calls power_off.
 * SMI_EN reads APMC_EN set: there is no SMM, and SeaBIOS then skips its SMM
 * setup instead of waiting for an SMI (QEMU with smm=off does the same).
 */
#ifndef POLYBOOT_VMM_DEV_ACPI_PM_H
#define POLYBOOT_VMM_DEV_ACPI_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/clock.h"
#include "core/irq.h"

#define PM_TIMER_HZ 3579545

struct acpi_pm {
	pthread_mutex_t lock;
	struct io_bus *pio;
	struct vclock clock;
	struct irq_line sci;
	void (*power_off)(void *ctx);
	void *ctx;
	uint16_t base;		/* current PMBASE */
	bool registered;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint8_t gpe_sts[8], gpe_en[8];
	uint32_t smi_en;
	int64_t timer_epoch;	/* monotonic ns at which the counter was 0 */
	int sci_level;
};

/* The block starts unregistered, as after reset; acpi_pm_update() places it. */
void acpi_pm_init(struct acpi_pm *pm, struct io_bus *pio, struct vclock clock,
		  struct irq_line sci, void (*power_off)(void *ctx), void *ctx);

/*
 * The LPC bridge's PMBASE/ACPI_EN changed: moves the block to @base (bits
 * 15:7) and decodes it only when @enabled. Returns 0 or -errno (overlap).
 */
int acpi_pm_update(struct acpi_pm *pm, uint16_t base, bool enabled);

/* VM reset: registers to power-on values, block unregistered. */
void acpi_pm_reset(struct acpi_pm *pm);

/*
 * Presses the power button: sets PWRBTN_STS and raises SCI when the guest
 * enabled it. Returns true if the guest's OS listens (ACPI mode and
 * PWRBTN_EN set), i.e. a graceful shutdown can be expected.
 */
bool acpi_pm_power_button(struct acpi_pm *pm);

/* Raises GPE0 status bit @bit (0..63). */
void acpi_pm_gpe(struct acpi_pm *pm, unsigned bit);

extern const struct io_ops acpi_pm_ops;

#endif
