/* 16550 UART driven through its port range as a vCPU would. */
#include "test.h"

#include "dev/uart16550.h"
#include "fakes.h"

#define BASE 0x3f8

struct env {
	struct io_bus bus;
	struct uart16550 u;
	struct fake_irq irq;
	uint8_t out[256];
	unsigned nout;
	int space_calls;
};

static void tx(void *ctx, uint8_t b)
{
	struct env *e = ctx;
	if (e->nout < sizeof(e->out))
		e->out[e->nout++] = b;
}

static void space(void *ctx)
{
	((struct env *)ctx)->space_calls++;
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	io_bus_init(&e->bus, "pio");
	uart16550_init(&e->u, fake_line(&e->irq, 4), tx, e, space, e);
	io_bus_add(&e->bus, BASE, 8, &uart16550_ops, &e->u, "com1");
	return e;
}

static void env_free(struct env *e)
{
	io_bus_destroy(&e->bus);
	free(e);
}

static uint8_t in(struct env *e, unsigned r)
{
	return (uint8_t)io_bus_read_val(&e->bus, BASE + r, 1);
}

static void out(struct env *e, unsigned r, uint8_t v)
{
	io_bus_write_val(&e->bus, BASE + r, v, 1);
}

TEST(uart_reset_values_and_scratch)
{
	struct env *e = env_new();
	CHECK_EQ(in(e, 1), 0);		/* IER */
	CHECK_EQ(in(e, 2), 0x01);	/* IIR: no interrupt */
	CHECK_EQ(in(e, 5), 0x60);	/* LSR: THRE | TEMT */
	/* OVMF's SerialPresent(): the scratch register round-trips. */
	out(e, 7, 0xaa);
	CHECK_EQ(in(e, 7), 0xaa);
	out(e, 7, 0x55);
	CHECK_EQ(in(e, 7), 0x55);
	env_free(e);
}

TEST(uart_dlab_aliases_divisor)
{
	struct env *e = env_new();
	out(e, 3, 0x83);		/* DLAB, 8N1 */
	out(e, 0, 0x01);		/* 115200 */
	out(e, 1, 0x00);
	CHECK_EQ(in(e, 0), 0x01);
	CHECK_EQ(in(e, 1), 0x00);
	CHECK_EQ(e->nout, 0);		/* DLL writes are not transmitted */
	out(e, 3, 0x03);
	out(e, 1, 0x0f);
	CHECK_EQ(in(e, 1), 0x0f);	/* IER again */
	env_free(e);
}

TEST(uart_transmit_and_thre_interrupt)
{
	struct env *e = env_new();
	out(e, 0, 'h');
	out(e, 0, 'i');
	CHECK_EQ(e->nout, 2);
	CHECK_MEM(e->out, "hi", 2);
	CHECK_EQ(e->irq.level[4], 0);	/* IER off */
	out(e, 1, 0x02);		/* ETBEI: THR already empty -> interrupt */
	CHECK_EQ(e->irq.level[4], 1);
	CHECK_EQ(in(e, 2) & 0x0f, 0x02);	/* reading IIR acknowledges THRE */
	CHECK_EQ(e->irq.level[4], 0);
	CHECK_EQ(in(e, 2) & 0x0f, 0x01);
	out(e, 0, 'x');			/* THR empties again at once */
	CHECK_EQ(e->irq.level[4], 1);
	/* OUT2 gates the ISA line. */
	out(e, 4, 0x00);
	CHECK_EQ(e->irq.level[4], 0);
	out(e, 4, 0x08);
	CHECK_EQ(e->irq.level[4], 1);
	env_free(e);
}

TEST(uart_receive_fifo_flow_control)
{
	struct env *e = env_new();
	uint8_t buf[40];

	for (int i = 0; i < 40; i++)
		buf[i] = (uint8_t)('a' + i % 26);
	/* Without FIFOs enabled the receiver holds one byte. */
	CHECK_EQ(uart16550_rx(&e->u, buf, 40), 1);
	CHECK_EQ(in(e, 0), 'a');
	out(e, 2, 0x01);		/* enable FIFOs */
	CHECK_EQ(uart16550_rx(&e->u, buf, 40), UART_FIFO_SIZE);
	CHECK(in(e, 5) & 0x01);		/* DR */
	CHECK_EQ(in(e, 5) & 0x02, 0);	/* no overrun: nothing was dropped */
	CHECK_EQ(e->irq.level[4], 0);
	out(e, 1, 0x01);		/* ERBFI */
	CHECK_EQ(e->irq.level[4], 1);
	CHECK_EQ(in(e, 2), 0xc4);	/* FIFOs on, data available */
	for (int i = 0; i < UART_FIFO_SIZE; i++)
		CHECK_EQ(in(e, 0), buf[i]);
	CHECK_EQ(e->space_calls, 2);	/* drained twice: after 'a', after the FIFO */
	CHECK_EQ(in(e, 5) & 0x01, 0);
	CHECK_EQ(e->irq.level[4], 0);
	CHECK_EQ(in(e, 0), 0);		/* empty RBR reads 0 */
	/* FCR clear-receive discards what is held. */
	uart16550_rx(&e->u, buf, 3);
	out(e, 2, 0x03);
	CHECK_EQ(in(e, 5) & 0x01, 0);
	env_free(e);
}

TEST(uart_loopback_and_interrupt_priority)
{
	struct env *e = env_new();
	out(e, 2, 0x01);
	out(e, 4, 0x10 | 0x08 | 0x01);	/* loopback, OUT2, DTR */
	CHECK_EQ(in(e, 6) & 0xf0, 0x80 | 0x20);	/* DCD (OUT2), DSR (DTR) */
	out(e, 0, 'Z');
	CHECK_EQ(e->nout, 0);		/* looped back, not sent */
	CHECK_EQ(in(e, 0), 'Z');
	/* Outside input is ignored in loopback. */
	CHECK_EQ(uart16550_rx(&e->u, (const uint8_t *)"q", 1), 0);
	/* Overrun in loopback sets LSR.OE (cleared by reading LSR). */
	for (int i = 0; i < UART_FIFO_SIZE + 1; i++)
		out(e, 0, (uint8_t)i);
	CHECK(in(e, 5) & 0x02);
	CHECK_EQ(in(e, 5) & 0x02, 0);
	out(e, 4, 0x08);
	out(e, 2, 0x03);
	/* Line status beats data available beats THRE. */
	out(e, 1, 0x07);
	uart16550_rx(&e->u, (const uint8_t *)"a", 1);
	CHECK_EQ(in(e, 2) & 0x0f, 0x04);
	in(e, 0);
	CHECK_EQ(in(e, 2) & 0x0f, 0x02);
	env_free(e);
}

TEST(uart_malformed_accesses)
{
	struct env *e = env_new();
	/* Wider accesses act on the byte at the offset; offsets past 7 don't exist. */
	io_bus_write_val(&e->bus, BASE + 7, 0x1234, 1);
	CHECK_EQ(in(e, 7), 0x34);
	CHECK_EQ(io_bus_read_val(&e->bus, BASE + 8, 1), 0xff);
	io_bus_write_val(&e->bus, BASE + 4, 0xffffffff, 4);	/* a dword write hits MCR */
	CHECK_EQ(in(e, 4), 0x1f);
	/* LSR and MSR are read-only. */
	out(e, 5, 0x00);
	CHECK_EQ(in(e, 5), 0x60);
	uart16550_reset(&e->u);
	CHECK_EQ(in(e, 7), 0);
	env_free(e);
}
