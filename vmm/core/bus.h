/*
 * I/O buses (port I/O and MMIO): sorted, non-overlapping ranges with one
 * handler each. Devices see only an offset into their range and a value in
 * host byte order; they never see KVM. The vCPU loop and the unit tests
 * both dispatch through io_bus_read()/io_bus_write().
 */
#ifndef POLYBOOT_VMM_CORE_BUS_H
#define POLYBOOT_VMM_CORE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io_ops {
	/* @off is relative to the registered base; @size is 1, 2, 4 or 8. */
	uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
	void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
};

struct io_region {
	uint64_t base, len;
	const struct io_ops *ops;
	void *opaque;
	const char *name;
};

struct io_bus {
	const char *name;	/* "pio" or "mmio", for the trace */
	struct io_region *r;	/* sorted by base, never overlapping */
	size_t n, cap;
	pthread_rwlock_t lock;
	bool trace;		/* log every access (--trace-io) */
};

int io_bus_init(struct io_bus *bus, const char *name);
void io_bus_destroy(struct io_bus *bus);

/*
 * Registers [base, base+len) for @ops/@opaque. Returns 0, -EINVAL for an
 * empty or wrapping range, -EEXIST if it overlaps a registered range,
 * -ENOMEM. @name must outlive the registration.
 */
int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
	       const struct io_ops *ops, void *opaque, const char *name);

/* Removes the range starting at @base owned by @opaque; -ENOENT if none. */
int io_bus_del(struct io_bus *bus, uint64_t base, void *opaque);

/*
 * Dispatches one access of @size bytes (1..8) at @addr; @data is guest
 * (little-endian) byte order, as in struct kvm_run. An access that no range
 * claims reads as all-ones and is dropped on write; then the functions
 * return false. An access that straddles the end of a range is split
 * bytewise. The bus lock is not held while the handler runs, so a handler
 * may add or remove ranges (a BAR move).
 */
bool io_bus_read(struct io_bus *bus, uint64_t addr, void *data, unsigned size);
bool io_bus_write(struct io_bus *bus, uint64_t addr, const void *data, unsigned size);

/* Convenience for tests and internal users: value in host order. */
uint64_t io_bus_read_val(struct io_bus *bus, uint64_t addr, unsigned size);
void io_bus_write_val(struct io_bus *bus, uint64_t addr, uint64_t val, unsigned size);

/* The region covering @addr, copied into @out; false if none. */
bool io_bus_find(struct io_bus *bus, uint64_t addr, struct io_region *out);

#endif
