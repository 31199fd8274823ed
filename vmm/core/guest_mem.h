/*
 * Guest physical memory as seen by device models: a few RAM regions, each
 * host-mapped. Every access is bounds-checked; a guest address outside RAM
 * is an error the device reports to the guest, never a crash.
 */
#ifndef POLYBOOT_VMM_CORE_GUEST_MEM_H
#define POLYBOOT_VMM_CORE_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct gm_region r[GM_MAX_REGIONS];
	unsigned n;
};

/* Adds a region; -EINVAL on overlap or wrap, -ENOSPC when full. */
int gm_add(struct guest_mem *m, uint64_t gpa, uint64_t size, void *hva);

/*
 * Host pointer to [gpa, gpa+len) if that range lies inside one region,
 * else NULL. len 0 is treated as 1.
 */
void *gm_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copies to/from guest memory; the range may span adjacent regions.
 * Returns 0 or -EFAULT (nothing is copied then). */
int gm_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len);
int gm_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len);

#endif
