/*
 * 16550A UART (COM1). The guest drives it through io_ops; transmitted bytes
 * go to an injected tx callback, received bytes come from uart16550_rx().
 *
 * Locking: one mutex per UART. The tx callback and the irq line are called
 * with it held, so they must not call back into the UART; rx_space is
 * called without it.
 */
#ifndef POLYBOOT_VMM_DEV_UART16550_H
#define POLYBOOT_VMM_DEV_UART16550_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/irq.h"

#define UART_FIFO_SIZE 16

struct uart16550 {
	pthread_mutex_t lock;
	struct irq_line irq;
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
	/* The guest drained the receive FIFO: more input fits (may be NULL). */
	void (*rx_space)(void *ctx);
	void *rx_ctx;
	uint8_t ier, iir_pending_thre, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	int irq_level;
};

void uart16550_init(struct uart16550 *u, struct irq_line irq,
		    void (*tx)(void *ctx, uint8_t byte), void *tx_ctx,
		    void (*rx_space)(void *ctx), void *rx_ctx);

/* Power-on register values (a VM reset). */
void uart16550_reset(struct uart16550 *u);

/* Offers received bytes; returns how many fit in the FIFO (the rest must
 * be offered again after rx_space). Any thread. */
size_t uart16550_rx(struct uart16550 *u, const uint8_t *buf, size_t n);

/* Register block: 8 ports at the base (COM1: 0x3F8). Byte accesses only;
 * wider accesses act on the byte at the offset. */
extern const struct io_ops uart16550_ops;

#endif
