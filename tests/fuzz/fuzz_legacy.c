/* libFuzzer: random port accesses to the UART, RTC, ACPI PM block and the
 * reset ports, all on one bus, with fake clock/irq/timer. */
#include <stdlib.h>

#include "dev/acpi_pm.h"
#include "dev/rtc.h"
#include "dev/sysctl.h"
#include "dev/uart16550.h"
#include "fuzz_common.h"
#include "log.h"

static int64_t t_now;
static int64_t mono(void *c) { return t_now; }
static int64_t real(void *c) { return 1900000000LL * 1000000000LL + t_now; }
static void set_level(void *c, unsigned gsi, int level) {}
static int arm(void *c, int64_t d) { return 0; }
static void tx(void *c, uint8_t b) {}
static void off(void *c) {}
static void rst(void *c, const char *w) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct io_bus bus;
	struct uart16550 *u = calloc(1, sizeof(*u));
	struct rtc *r = calloc(1, sizeof(*r));
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	struct sysctl *s = calloc(1, sizeof(*s));
	struct vclock clk = { mono, real, NULL };
	struct irq_line irq = { set_level, NULL, 4 };
	struct vtimer tm = { arm, NULL };
	const struct fuzz_region regions[] = {
		{ &bus, 0x3f8, 8 }, { &bus, 0x70, 2 }, { &bus, 0x600, 0x80 }, { &bus, 0x92, 1 },
		{ &bus, 0xcf9, 1 }, { &bus, 0x64, 1 },
	};

	log_set_level(LOG_ERR);
	t_now = size * 1000003;
	io_bus_init(&bus, "pio");
	uart16550_init(u, irq, tx, NULL, NULL, NULL);
	rtc_init(r, clk, irq, tm, 256 << 20, 1ULL << 30, 2);
	acpi_pm_init(pm, &bus, clk, irq, off, NULL);
	acpi_pm_update(pm, 0x600, true);
	sysctl_init(s, rst, NULL);
	io_bus_add(&bus, 0x3f8, 8, &uart16550_ops, u, "uart");
	io_bus_add(&bus, 0x70, 2, &rtc_ops, r, "rtc");
	io_bus_add(&bus, 0x92, 1, &sysctl_port92_ops, s, "p92");
	io_bus_add(&bus, 0xcf9, 1, &sysctl_cf9_ops, s, "cf9");
	io_bus_add(&bus, 0x64, 1, &sysctl_i8042_ops, s, "kbc");
	fuzz_run_accesses(data, size, regions, sizeof(regions) / sizeof(regions[0]));
	uart16550_rx(u, data, size);
	rtc_timer_fire(r);
	acpi_pm_power_button(pm);
	io_bus_destroy(&bus);
	free(u);
	free(r);
	free(pm);
	free(s);
	return 0;
}
