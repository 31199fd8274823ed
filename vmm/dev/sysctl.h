/*
 * The PC's reset paths: the ICH9 reset control register (0xCF9, reached
 * through the PCI conf1 block, see pci_bus_set_cf9), System Control Port A
 * (0x92: A20 gate, fast reset) and the keyboard controller's pulse-reset
 * command (0x64 <- 0xFE). Each reset request calls an injected callback.
 */
#ifndef POLYBOOT_VMM_DEV_SYSCTL_H
#define POLYBOOT_VMM_DEV_SYSCTL_H

#include <pthread.h>
#include <stdint.h>

#include "core/bus.h"

struct sysctl {
	pthread_mutex_t lock;
	void (*reset)(void *ctx, const char *why);
	void *ctx;
	uint8_t rcr;		/* 0xCF9 latch */
	uint8_t port92;
};

void sysctl_init(struct sysctl *s, void (*reset)(void *ctx, const char *why), void *ctx);
void sysctl_reset(struct sysctl *s);

/* 0xCF9 (1 byte; offset 0). */
extern const struct io_ops sysctl_cf9_ops;
/* 0x92 (1 byte). */
extern const struct io_ops sysctl_port92_ops;
/* 0x64 (1 byte): reads 0xFF (no keyboard controller), 0xFE resets. */
extern const struct io_ops sysctl_i8042_ops;

#endif
