#include "core/guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int gm_add(struct guest_mem *m, uint64_t gpa, uint64_t size, void *hva)
{
	if (size == 0 || gpa + size - 1 < gpa || !hva)
		return -EINVAL;
	if (m->n == GM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < m->n; i++) {
		const struct gm_region *r = &m->r[i];
		if (gpa <= r->gpa + r->size - 1 && r->gpa <= gpa + size - 1)
			return -EINVAL;
	}
	m->r[m->n++] = (struct gm_region){ gpa, size, hva };
	return 0;
}

static const struct gm_region *find(const struct guest_mem *m, uint64_t gpa)
{
	for (unsigned i = 0; i < m->n; i++)
		if (gpa - m->r[i].gpa < m->r[i].size)
			return &m->r[i];
	return NULL;
}

void *gm_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r = find(m, gpa);

	if (len == 0)
		len = 1;
	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

/* Walks [gpa, gpa+len) region by region; with @copy false it only checks. */
static int walk(const struct guest_mem *m, uint64_t gpa, uint8_t *buf, size_t len,
		bool to_guest, bool copy)
{
	while (len) {
		const struct gm_region *r = find(m, gpa);
		uint64_t off, n;
		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		n = r->size - off;
		if (n > len)
			n = len;
		if (copy) {
			if (to_guest)
				memcpy(r->hva + off, buf, n);
			else
				memcpy(buf, r->hva + off, n);
			buf += n;
		}
		gpa += n;
		len -= n;
		if (len && gpa == 0)
			return -EFAULT; /* wrapped */
	}
	return 0;
}

int gm_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len)
{
	int r = walk(m, gpa, buf, len, false, false);
	return r ? r : walk(m, gpa, buf, len, false, true);
}

int gm_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
	int r = walk(m, gpa, (uint8_t *)buf, len, true, false);
	return r ? r : walk(m, gpa, (uint8_t *)buf, len, true, true);
}
