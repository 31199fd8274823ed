/* libFuzzer: config-space accesses through conf1 and ECAM to the chipset
 * and a device with BARs, capabilities and MSI-X; BARs move around. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "log.h"
#include "machine/chipset.h"
#include "machine/layout.h"
#include "pci/msix.h"
#include "pci/pci.h"

static void pm(void *c, uint16_t b, bool e) {}
static uint64_t bar_read(void *o, uint64_t off, unsigned size) { return msix_table_read(o, off, size); }
static void bar_write(void *o, uint64_t off, uint64_t v, unsigned size) { msix_table_write(o, off, v, size); }
static const struct io_ops bar_ops = { bar_read, bar_write };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct io_bus pio, mmio;
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	struct chipset *cs = calloc(1, sizeof(*cs));
	struct pci_dev *d = calloc(1, sizeof(*d));
	struct msix *x = calloc(1, sizeof(*x));
	const struct fuzz_region regions[] = {
		{ &pio, 0xcf8, 8 }, { &mmio, LAYOUT_ECAM_BASE + (3 << 15), 4096 },
		{ &mmio, LAYOUT_ECAM_BASE, 4096 }, { &mmio, LAYOUT_ECAM_BASE + (0x1f << 15), 4096 },
		{ &mmio, 0xc0000000, 0x4000 }, { &pio, 0x6000, 0x100 },
	};

	log_set_level(LOG_ERR);
	io_bus_init(&pio, "pio");
	io_bus_init(&mmio, "mmio");
	pci_bus_init(bus, &pio, &mmio, LAYOUT_ECAM_BASE, (struct irq_line){ fuzz_irq_nop, NULL, 0 });
	chipset_init(cs, bus, pm, NULL);
	pci_dev_init(d, "dev", 0x1af4, 0x1042, 0x010000, 1, true);
	pci_dev_set_bar(d, 0, PCI_BAR_MEM32, 0x4000, false, &bar_ops, x);
	pci_dev_set_bar(d, 2, PCI_BAR_MEM64, 0x100000, true, &bar_ops, x);
	pci_dev_set_bar(d, 4, PCI_BAR_IO, 0x40, false, &bar_ops, x);
	pci_dev_set_intx_pin(d, 1);
	msix_init(x, d, 8, 0, 0x0, 0x1000, (struct msi_sink){ fuzz_msi_nop, NULL });
	pci_add_ext_cap(d, 1, 1, 0x40);
	pci_bus_add(bus, d, 3 << 3);
	fuzz_run_accesses(data, size, regions, sizeof(regions) / sizeof(regions[0]));
	pci_set_irq(d, 1);
	pci_bus_reset(bus);
	io_bus_destroy(&pio);
	io_bus_destroy(&mmio);
	free(bus);
	free(cs);
	free(d);
	free(x);
	return 0;
}
