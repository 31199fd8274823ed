/*
 * Interrupts as injected objects: a device raises a line or sends an MSI
 * without knowing whether KVM, a test fake or nothing is behind it.
 */
#ifndef POLYBOOT_VMM_CORE_IRQ_H
#define POLYBOOT_VMM_CORE_IRQ_H

#include <stdint.h>

/* A level-triggered line (ISA IRQ / IOAPIC GSI). */
struct irq_line {
	void (*set_level)(void *ctx, unsigned gsi, int level);
	void *ctx;
	unsigned gsi;
};

static inline void irq_set(const struct irq_line *l, int level)
{
	if (l->set_level)
		l->set_level(l->ctx, l->gsi, level);
}

/* Edge: raise then lower (ISA devices that pulse, e.g. the RTC). */
static inline void irq_pulse(const struct irq_line *l)
{
	irq_set(l, 1);
	irq_set(l, 0);
}

/* Message-signalled interrupts (MSI / MSI-X). Returns 0 or -errno. */
struct msi_sink {
	int (*send)(void *ctx, uint64_t addr, uint32_t data);
	void *ctx;
};

static inline int msi_send(const struct msi_sink *s, uint64_t addr, uint32_t data)
{
	return s->send ? s->send(s->ctx, addr, data) : 0;
}

#endif
