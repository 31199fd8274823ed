/*
 * I/O bus dispatch. A few dozen ranges at most, so a sorted array with binary
 * search; lookups take the read lock only for the search and copy the
 * region, so handlers run unlocked (they have their own device locks).
 */
#define LOG_MOD "bus"
#include "core/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "guest data is little-endian");

int io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->r);
	bus->r = NULL;
	bus->n = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first region with base > addr. */
static size_t upper_bound(const struct io_bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (bus->r[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
	       const struct io_ops *ops, void *opaque, const char *name)
{
	size_t i;
	int r = 0;

	if (len == 0 || base + len - 1 < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, base);
	if ((i > 0 && bus->r[i - 1].base + bus->r[i - 1].len - 1 >= base) ||
	    (i < bus->n && bus->r[i].base <= base + len - 1)) {
		r = -EEXIST;
		goto out;
	}
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct io_region *nr = realloc(bus->r, cap * sizeof(*nr));
		if (!nr) {
			r = -ENOMEM;
			goto out;
		}
		bus->r = nr;
		bus->cap = cap;
	}
	memmove(&bus->r[i + 1], &bus->r[i], (bus->n - i) * sizeof(*bus->r));
	bus->r[i] = (struct io_region){ base, len, ops, opaque, name };
	bus->n++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

int io_bus_del(struct io_bus *bus, uint64_t base, void *opaque)
{
	int r = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (size_t i = 0; i < bus->n; i++) {
		if (bus->r[i].base == base && bus->r[i].opaque == opaque) {
			memmove(&bus->r[i], &bus->r[i + 1], (bus->n - i - 1) * sizeof(*bus->r));
			bus->n--;
			r = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

bool io_bus_find(struct io_bus *bus, uint64_t addr, struct io_region *out)
{
	bool found = false;
	size_t i;

	pthread_rwlock_rdlock(&bus->lock);
	i = upper_bound(bus, addr);
	if (i > 0 && addr - bus->r[i - 1].base < bus->r[i - 1].len) {
		*out = bus->r[i - 1];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	return found;
}

static bool access_one(struct io_bus *bus, uint64_t addr, uint8_t *data,
		       unsigned size, bool is_write)
{
	struct io_region reg;
	uint64_t val = 0;

	if (!io_bus_find(bus, addr, &reg)) {
		if (!is_write)
			memset(data, 0xff, size);
		if (bus->trace)
			log_info("%s %s unclaimed %#llx/%u", bus->name, is_write ? "write" : "read",
				 (unsigned long long)addr, size);
		return false;
	}
	if (addr - reg.base + size > reg.len) {
		/* Straddles the end of the range: split into bytes. */
		bool any = false;
		for (unsigned i = 0; i < size; i++)
			any |= access_one(bus, addr + i, data + i, 1, is_write);
		return any;
	}
	if (is_write) {
		memcpy(&val, data, size);
		if (reg.ops->write)
			reg.ops->write(reg.opaque, addr - reg.base, val, size);
	} else {
		val = reg.ops->read ? reg.ops->read(reg.opaque, addr - reg.base, size) : ~0ULL;
		memcpy(data, &val, size);
	}
	if (bus->trace)
		log_info("%s %s %s+%#llx/%u %s %#llx", bus->name, is_write ? "write" : "read",
			 reg.name, (unsigned long long)(addr - reg.base), size,
			 is_write ? "<-" : "->", (unsigned long long)val);
	return true;
}

bool io_bus_read(struct io_bus *bus, uint64_t addr, void *data, unsigned size)
{
	if (size == 0 || size > 8)
		return false;
	return access_one(bus, addr, data, size, false);
}

bool io_bus_write(struct io_bus *bus, uint64_t addr, const void *data, unsigned size)
{
	uint8_t buf[8];

	if (size == 0 || size > 8)
		return false;
	memcpy(buf, data, size);
	return access_one(bus, addr, buf, size, true);
}

uint64_t io_bus_read_val(struct io_bus *bus, uint64_t addr, unsigned size)
{
	uint64_t v = 0;
	io_bus_read(bus, addr, &v, size);
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

void io_bus_write_val(struct io_bus *bus, uint64_t addr, uint64_t val, unsigned size)
{
	io_bus_write(bus, addr, &val, size);
}
