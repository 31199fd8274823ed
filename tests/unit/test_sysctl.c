/* Reset paths: 0xCF9, port 0x92, 0x64 <- 0xFE. */
#include "test.h"

#include "dev/sysctl.h"
#include "fakes.h"

struct env {
	struct io_bus bus;
	struct sysctl s;
	int resets;
	const char *why;
};

static void on_reset(void *ctx, const char *why)
{
	struct env *e = ctx;
	e->resets++;
	e->why = why;
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	io_bus_init(&e->bus, "pio");
	sysctl_init(&e->s, on_reset, e);
	io_bus_add(&e->bus, 0xcf9, 1, &sysctl_cf9_ops, &e->s, "cf9");
	io_bus_add(&e->bus, 0x92, 1, &sysctl_port92_ops, &e->s, "port92");
	io_bus_add(&e->bus, 0x64, 1, &sysctl_i8042_ops, &e->s, "kbc");
	return e;
}

static void env_free(struct env *e)
{
	io_bus_destroy(&e->bus);
	free(e);
}

TEST(sysctl_cf9_reset_control)
{
	struct env *e = env_new();
	io_bus_write_val(&e->bus, 0xcf9, 0x02, 1);	/* SYS_RST alone latches */
	CHECK_EQ(e->resets, 0);
	CHECK_EQ(io_bus_read_val(&e->bus, 0xcf9, 1), 0x02);
	io_bus_write_val(&e->bus, 0xcf9, 0x06, 1);	/* OVMF ResetCold */
	CHECK_EQ(e->resets, 1);
	sysctl_reset(&e->s);
	io_bus_write_val(&e->bus, 0xcf9, 0x0e, 1);
	CHECK_EQ(e->resets, 2);
	sysctl_reset(&e->s);
	io_bus_write_val(&e->bus, 0xcf9, 0x0f, 1);	/* the FADT RESET_VALUE */
	CHECK_EQ(e->resets, 3);
	env_free(e);
}

TEST(sysctl_port92_a20_and_fast_reset)
{
	struct env *e = env_new();
	uint8_t v = (uint8_t)io_bus_read_val(&e->bus, 0x92, 1);
	CHECK_EQ(v, 0x02);
	/* OVMF: IoOr8(0x92, BIT1): read-modify-write must not reset. */
	io_bus_write_val(&e->bus, 0x92, v | 0x02, 1);
	CHECK_EQ(e->resets, 0);
	io_bus_write_val(&e->bus, 0x92, 0x00, 1);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x92, 1), 0x00);
	io_bus_write_val(&e->bus, 0x92, 0x03, 1);	/* bit 0: 0 -> 1 */
	CHECK_EQ(e->resets, 1);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x92, 1), 0x02);	/* bit 0 reads 0 */
	io_bus_write_val(&e->bus, 0x92, 0x03, 1);	/* no new transition */
	CHECK_EQ(e->resets, 1);
	env_free(e);
}

TEST(sysctl_keyboard_controller_reset_only)
{
	struct env *e = env_new();
	CHECK_EQ(io_bus_read_val(&e->bus, 0x64, 1), 0xff);	/* "no 8042" */
	io_bus_write_val(&e->bus, 0x64, 0xad, 1);		/* other commands ignored */
	CHECK_EQ(e->resets, 0);
	io_bus_write_val(&e->bus, 0x64, 0xfe, 1);
	CHECK_EQ(e->resets, 1);
	CHECK(strstr(e->why, "0xFE") != NULL);
	env_free(e);
}
