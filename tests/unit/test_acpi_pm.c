/* ICH9 ACPI PM block: timer, PM1 status/enable/control, SCI, S5, GPE0. */
#include "test.h"

#include "dev/acpi_pm.h"
#include "fakes.h"
#include "machine/layout.h"

struct env {
	struct io_bus bus;
	struct acpi_pm pm;
	struct fake_irq irq;
	struct fake_clock clk;
	int offs;
};

static void power_off(void *ctx)
{
	((struct env *)ctx)->offs++;
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	e->clk.mono = 5000000000LL;
	io_bus_init(&e->bus, "pio");
	acpi_pm_init(&e->pm, &e->bus, fake_vclock(&e->clk), fake_line(&e->irq, 9), power_off, e);
	CHECK_EQ(acpi_pm_update(&e->pm, 0x600, true), 0);
	return e;
}

static void env_free(struct env *e)
{
	io_bus_destroy(&e->bus);
	free(e);
}

#define RD(e, o, s) io_bus_read_val(&(e)->bus, 0x600 + (o), (s))
#define WR(e, o, v, s) io_bus_write_val(&(e)->bus, 0x600 + (o), (v), (s))

TEST(pm_timer_runs_at_3579545_hz)
{
	struct env *e = env_new();
	uint32_t t0 = (uint32_t)RD(e, 8, 4);
	fake_advance(&e->clk, 1000000000LL);
	CHECK_EQ((uint32_t)RD(e, 8, 4) - t0, 3579545);
	fake_advance(&e->clk, 1000);		/* 1 us = 3.58 ticks */
	CHECK_EQ((uint32_t)RD(e, 8, 4) - t0, 3579548);
	/* Full 32 bits (FADT TMR_VAL_EXT), wrapping after ~20 minutes. */
	fake_advance(&e->clk, 1200LL * 1000000000LL);
	CHECK_EQ(t0, 0);
	CHECK_EQ(RD(e, 8, 4), (1201ULL * 3579545 + 3) & 0xffffffff);
	/* Byte reads of the counter and writes to it (read-only). */
	WR(e, 8, 0, 4);
	CHECK_EQ(RD(e, 8, 1), RD(e, 8, 4) & 0xff);
	env_free(e);
}

TEST(pm_power_button_needs_sci_en_and_enable)
{
	struct env *e = env_new();
	CHECK(!acpi_pm_power_button(&e->pm));	/* OS not listening */
	CHECK_EQ(e->irq.level[9], 0);
	CHECK(RD(e, 0, 2) & 0x0100);		/* PWRBTN_STS latched anyway */
	WR(e, 0, 0x0100, 2);			/* W1C */
	CHECK_EQ(RD(e, 0, 2) & 0x0100, 0);
	WR(e, 4, 0x0001, 2);			/* SCI_EN (OVMF does this) */
	WR(e, 2, 0x0100, 2);			/* PWRBTN_EN (the OS does this) */
	CHECK_EQ(RD(e, 2, 2), 0x0100);
	CHECK(acpi_pm_power_button(&e->pm));
	CHECK_EQ(e->irq.level[9], 1);
	WR(e, 1, 0x01, 1);			/* byte write to the high half of PM1_STS */
	CHECK_EQ(e->irq.level[9], 0);
	env_free(e);
}

TEST(pm_s5_only_on_slp_en_with_type_0)
{
	struct env *e = env_new();
	/* OVMF: IoBitFieldWrite16(PMBASE+4, 10, 13, 0); IoOr16(PMBASE+4, BIT13) */
	WR(e, 4, 0x0001, 2);
	WR(e, 4, 0x0001 | (5 << 10), 2);	/* SLP_TYP 5 without SLP_EN: nothing */
	CHECK_EQ(e->offs, 0);
	CHECK_EQ(RD(e, 4, 2), 0x0001 | (5 << 10));
	WR(e, 4, 0x0001 | (3 << 10) | 0x2000, 2);	/* S3 is not supported */
	CHECK_EQ(e->offs, 0);
	CHECK_EQ(RD(e, 4, 2) & 0x2000, 0);	/* SLP_EN is write-only */
	WR(e, 4, 0x0001, 2);
	WR(e, 5, 0x20, 1);			/* byte write of SLP_EN, SLP_TYP 0 */
	CHECK_EQ(e->offs, 1);
	env_free(e);
}

TEST(pm_gpe0_and_relocation)
{
	struct env *e = env_new();
	WR(e, 4, 1, 2);
	acpi_pm_gpe(&e->pm, 9);
	CHECK_EQ(e->irq.level[9], 0);		/* not enabled */
	WR(e, 0x28 + 1, 0x02, 1);		/* GPE0_EN bit 9 */
	CHECK_EQ(e->irq.level[9], 1);
	CHECK_EQ(RD(e, 0x20, 2), 0x0200);
	WR(e, 0x20, 0x0200, 2);
	CHECK_EQ(e->irq.level[9], 0);
	/* The LPC bridge moves PMBASE: the old range stops decoding. */
	CHECK_EQ(acpi_pm_update(&e->pm, 0xb000, true), 0);
	CHECK_EQ(RD(e, 4, 2), 0xffff);
	CHECK_EQ(io_bus_read_val(&e->bus, 0xb004, 2), 0x0001);
	CHECK_EQ(acpi_pm_update(&e->pm, 0xb000, false), 0);
	CHECK_EQ(io_bus_read_val(&e->bus, 0xb004, 2), 0xffff);
	acpi_pm_reset(&e->pm);
	CHECK_EQ(acpi_pm_update(&e->pm, 0x600, true), 0);
	CHECK_EQ(RD(e, 4, 2), 0);
	acpi_pm_gpe(&e->pm, 200);	/* out of range: ignored */
	CHECK_EQ(RD(e, 0x20, 8), 0);
	env_free(e);
}

TEST(pm_smi_en_says_smm_is_set_up)
{
	struct env *e = env_new();

	/* SeaBIOS's ich9_lpc_apmc_smm_setup() returns when APMC_EN (bit 5) is
	 * set instead of raising an SMI and waiting for port 0xB3 forever. */
	CHECK_EQ(RD(e, 0x30, 4), 0x20);
	CHECK_EQ(RD(e, 0x30, 1), 0x20);
	/* Plain storage (iTCO-style read-modify-write), reset to APMC_EN. */
	WR(e, 0x30, 0x2020, 4);
	CHECK_EQ(RD(e, 0x30, 4), 0x2020);
	WR(e, 0x31, 0x00, 1);
	CHECK_EQ(RD(e, 0x30, 4), 0x20);
	WR(e, 0x30, 0, 4);
	CHECK_EQ(RD(e, 0x30, 4), 0);
	CHECK_EQ(e->offs, 0);
	acpi_pm_reset(&e->pm);
	CHECK_EQ(acpi_pm_update(&e->pm, 0x600, true), 0);
	CHECK_EQ(RD(e, 0x30, 4), 0x20);
	env_free(e);
}
