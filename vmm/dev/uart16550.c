/*
 * 16550A UART. National Semiconductor PC16550D datasheet (1995): registers
 * (table II), interrupt priorities (table IV), FIFO control, loopback.
 *
 * Not implemented: baud-rate timing (transmission is instant), the
 * character timeout interrupt (received data raises "data available" at
 * once, whatever the FIFO trigger level), modem-status interrupts from the
 * outside world (MSR only reflects loopback), break and parity errors.
 */
#define LOG_MOD "uart"
#include "dev/uart16550.h"

#include <string.h>

#include "log.h"

#define UART_RBR 0	/* receive buffer (DLAB=0, read) */
#define UART_THR 0	/* transmit holding (DLAB=0, write) */
#define UART_IER 1
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* THR empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

void uart16550_reset(struct uart16550 *u)
{
	pthread_mutex_lock(&u->lock);
	u->ier = 0;
	u->lcr = 0;
	u->mcr = MCR_OUT2;
	u->lsr = LSR_THRE | LSR_TEMT;
	/* A terminal is attached: carrier, DSR and CTS asserted. */
	u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->scr = 0;
	u->dll = 0x0c;	/* 9600 baud until the guest programs it */
	u->dlm = 0;
	u->fcr = 0;
	u->rx_head = u->rx_count = 0;
	u->iir_pending_thre = 0;
	if (u->irq_level) {
		u->irq_level = 0;
		irq_set(&u->irq, 0);
	}
	pthread_mutex_unlock(&u->lock);
}

void uart16550_init(struct uart16550 *u, struct irq_line irq,
		    void (*tx)(void *ctx, uint8_t byte), void *tx_ctx,
		    void (*rx_space)(void *ctx), void *rx_ctx)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->irq = irq;
	u->tx = tx;
	u->tx_ctx = tx_ctx;
	u->rx_space = rx_space;
	u->rx_ctx = rx_ctx;
	uart16550_reset(u);
}

/* The highest-priority pending interrupt (IIR low bits), lock held. */
static uint8_t pending_iir(const struct uart16550 *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr & LSR_OE))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->iir_pending_thre)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Drives the IRQ line; PCs gate the ISA interrupt with OUT2. Lock held. */
static void update_irq(struct uart16550 *u)
{
	int level = pending_iir(u) != IIR_NO_INT && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(&u->irq, level);
	}
}

/* Puts one byte in the receive FIFO; false when full. Lock held. */
static int push_rx(struct uart16550 *u, uint8_t b)
{
	unsigned cap = (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
	if (u->rx_count >= cap)
		return 0;
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
	return 1;
}

size_t uart16550_rx(struct uart16550 *u, const uint8_t *buf, size_t n)
{
	size_t took = 0;

	pthread_mutex_lock(&u->lock);
	/* In loopback the receiver is disconnected from the outside. */
	if (!(u->mcr & MCR_LOOP)) {
		while (took < n && push_rx(u, buf[took]))
			took++;
		update_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
	return took;
}

static void transmit(struct uart16550 *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		if (!push_rx(u, b))
			u->lsr |= LSR_OE;	/* the loopback overran the FIFO */
	} else if (u->tx) {
		u->tx(u->tx_ctx, b);
	}
	/* Transmission is instant: the THR is empty again at once. */
	u->lsr |= LSR_THRE | LSR_TEMT;
	u->iir_pending_thre = 1;
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
	struct uart16550 *u = opaque;
	uint8_t v = 0xff;
	int drained = 0;

	if (off >= 8)
		return ~0ULL;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RBR:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
			break;
		}
		v = 0;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			u->rx_count--;
			drained = u->rx_count == 0;
		}
		if (!u->rx_count)
			u->lsr &= (uint8_t)~LSR_DR;
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = pending_iir(u);
		/* Reading IIR while it reports THR empty acknowledges that. */
		if (v == IIR_THRI)
			u->iir_pending_thre = 0;
		if (u->fcr & FCR_ENABLE)
			v |= IIR_FIFO_ON;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr;
		u->lsr &= (uint8_t)~LSR_OE;	/* error bits clear on read */
		break;
	case UART_MSR:
		if (u->mcr & MCR_LOOP) {
			/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
			v = (uint8_t)((u->mcr & MCR_DTR ? MSR_DSR : 0) | (u->mcr & MCR_RTS ? MSR_CTS : 0) |
				      (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0));
		} else {
			v = u->msr;
		}
		u->msr &= 0xf0;	/* delta bits clear on read */
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (drained && u->rx_space)
		u->rx_space(u->rx_ctx);
	return v;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct uart16550 *u = opaque;
	uint8_t b = (uint8_t)val;
	int drained = 0;

	if (off >= 8)
		return;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = b;
		else
			transmit(u, b);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = b;
		} else {
			uint8_t old = u->ier;
			u->ier = b & 0x0f;
			/* Enabling the THR interrupt while THR is empty raises it. */
			if (!(old & IER_THRI) && (u->ier & IER_THRI) && (u->lsr & LSR_THRE))
				u->iir_pending_thre = 1;
		}
		break;
	case UART_FCR:
		if ((b & FCR_ENABLE) != (u->fcr & FCR_ENABLE) || (b & FCR_CLEAR_RX)) {
			drained = u->rx_count != 0;
			u->rx_head = u->rx_count = 0;
			u->lsr &= (uint8_t)~LSR_DR;
		}
		u->fcr = b & 0xc9;	/* enable, DMA mode, trigger level */
		break;
	case UART_LCR:
		u->lcr = b;
		break;
	case UART_MCR:
		u->mcr = b & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break;	/* read-only (factory test writes ignored) */
	case UART_SCR:
		u->scr = b;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (drained && u->rx_space)
		u->rx_space(u->rx_ctx);
}

const struct io_ops uart16550_ops = { uart_read, uart_write };
