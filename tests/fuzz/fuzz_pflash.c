/* libFuzzer: command sequences to the variable-store flash (in memory). */
#include <stdlib.h>

#include "dev/pflash.h"
#include "fuzz_common.h"
#include "log.h"

static int64_t mono(void *c) { return 0; }
static int arm(void *c, int64_t d) { return 0; }
static void ra(void *c, bool on) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct io_bus bus;
	struct pflash *p = calloc(1, sizeof(*p));
	struct vclock clk = { mono, mono, NULL };
	struct vtimer tm = { arm, NULL };
	const struct fuzz_region regions[] = { { &bus, 0xffc00000, 8 * 4096 } };

	log_set_level(LOG_ERR);
	io_bus_init(&bus, "mmio");
	if (pflash_open(p, NULL, 8 * 4096, size & 1, clk, tm, ra, NULL) == 0) {
		io_bus_add(&bus, 0xffc00000, 8 * 4096, &pflash_ops, p, "vars");
		fuzz_run_accesses(data, size, regions, 1);
		pflash_timer_fire(p);
		pflash_reset(p);
		pflash_close(p);
	}
	io_bus_destroy(&bus);
	free(p);
	return 0;
}
