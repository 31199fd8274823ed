/* libFuzzer: port and DMA accesses to fw_cfg with 64 KiB of guest RAM that
 * the input also fills (so DMA descriptors point anywhere). */
#include <stdlib.h>

#include "dev/fwcfg.h"
#include "fuzz_common.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[65536];
	struct guest_mem mem = { 0 };
	struct io_bus bus;
	struct fwcfg *f = calloc(1, sizeof(*f));
	const struct fuzz_region regions[] = { { &bus, 0x510, 2 }, { &bus, 0x514, 8 } };
	size_t half = size / 2;

	log_set_level(LOG_ERR);
	memset(ram, 0, sizeof(ram));
	/* The first half of the input is guest memory (descriptors, data). */
	for (size_t i = 0; i < half; i++)
		ram[(i * 97) % sizeof(ram)] = data[i];
	gm_add(&mem, 0, sizeof(ram), ram);
	io_bus_init(&bus, "pio");
	fwcfg_init(f, &mem);
	fwcfg_add_file(f, "etc/a", "hello", 5, false);
	fwcfg_add_file(f, "etc/w", "12345678", 8, true);
	fwcfg_add_item(f, FWCFG_NB_CPUS, "\x02\x00", 2);
	io_bus_add(&bus, 0x510, 2, &fwcfg_io_ops, f, "fw_cfg");
	io_bus_add(&bus, 0x514, 8, &fwcfg_dma_ops, f, "dma");
	fuzz_run_accesses(data + half, size - half, regions, 2);
	fwcfg_free(f);
	io_bus_destroy(&bus);
	free(f);
	return 0;
}
