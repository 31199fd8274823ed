/*
 * Helpers for libFuzzer targets that drive device models through their I/O
 * buses: the input is a sequence of 8-byte accesses
 * {u8 op, u8 size, u16 addr, u32 value}; op bit 0 = write, bits 1-7 pick a
 * region; size is reduced to 1, 2, 4 or 8.
 */
#ifndef POLYBOOT_TESTS_FUZZ_COMMON_H
#define POLYBOOT_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/bus.h"
#include "core/guest_mem.h"
#include "pci/pci.h"

/* Interrupt sinks that drop everything. */
static inline int fuzz_msi_nop(void *ctx, uint64_t addr, uint32_t data)
{
	return 0;
}

static inline void fuzz_irq_nop(void *ctx, unsigned gsi, int level)
{
}

/* Bus 0 with its I/O buses and guest RAM at 0, for PCI device targets. */
struct fuzz_pci {
	struct io_bus pio, mmio;
	struct pci_bus bus;
	struct guest_mem mem;
};

static inline void fuzz_pci_init(struct fuzz_pci *f, uint8_t *ram, uint64_t ram_size)
{
	memset(f, 0, sizeof(*f));
	gm_add(&f->mem, 0, ram_size, ram);
	io_bus_init(&f->pio, "pio");
	io_bus_init(&f->mmio, "mmio");
	pci_bus_init(&f->bus, &f->pio, &f->mmio, 0xb0000000,
		     (struct irq_line){ fuzz_irq_nop, NULL, 0 });
}

static inline void fuzz_pci_fini(struct fuzz_pci *f)
{
	io_bus_destroy(&f->pio);
	io_bus_destroy(&f->mmio);
}

struct fuzz_region {
	struct io_bus *bus;
	uint64_t base, len;
};

static inline void fuzz_run_accesses(const uint8_t *data, size_t size,
				     const struct fuzz_region *r, unsigned nr)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t *a = data + i;
		const struct fuzz_region *reg = &r[(a[0] >> 1) % nr];
		unsigned sz = sizes[a[1] & 3];
		uint64_t addr = reg->base + ((uint64_t)(a[2] | a[3] << 8) % (reg->len + 4));
		uint64_t val = (uint64_t)a[4] | (uint64_t)a[5] << 8 | (uint64_t)a[6] << 16 |
			       (uint64_t)a[7] << 24;
		if (a[1] & 0x80)
			val |= val << 32;
		if (a[0] & 1)
			io_bus_write_val(reg->bus, addr, val, sz);
		else
			(void)io_bus_read_val(reg->bus, addr, sz);
	}
}

#endif
