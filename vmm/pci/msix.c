/*
 * MSI-X capability, vector table and PBA. PCI Local Bus 3.0, 6.8.2.
 *
 * Not implemented: more than 64 vectors; the table and PBA must share one
 * BAR (all our devices do).
 */
#define LOG_MOD "msix"
#include "pci/msix.h"

#include <errno.h>
#include <string.h>

#include "log.h"

#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_VEC_MASKED		0x1

int msix_init(struct msix *x, struct pci_dev *d, unsigned nvec, int bar,
	      uint32_t table_off, uint32_t pba_off, struct msi_sink sink)
{
	int cap;

	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_NUM_BARS ||
	    (table_off & 7) || (pba_off & 7) ||
	    (pba_off >= table_off && pba_off < table_off + nvec * MSIX_ENTRY_SIZE))
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	cap = pci_add_cap(d, PCI_CAP_ID_MSIX, 12);
	if (cap < 0)
		return cap;
	x->dev = d;
	x->cap = (unsigned)cap;
	x->nvec = nvec;
	x->bar = bar;
	x->table_off = table_off;
	x->pba_off = pba_off;
	x->sink = sink;
	pci_set16(d->cfg, x->cap + 2, (uint16_t)(nvec - 1));
	pci_set32(d->cfg, x->cap + 4, table_off | (uint32_t)bar);
	pci_set32(d->cfg, x->cap + 8, pba_off | (uint32_t)bar);
	d->wmask[x->cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	msix_reset(x);
	return 0;
}

static uint16_t ctrl(const struct msix *x)
{
	return pci_get16(x->dev, x->cap + 2);
}

bool msix_enabled(const struct msix *x)
{
	return (ctrl(x) & (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL)) == MSIX_CTRL_ENABLE;
}

/* Called with x->lock held; the vector is enabled and unmasked. */
static int deliver(struct msix *x, unsigned v)
{
	if (x->fire && x->fire(x->vector_ctx, v) == 0)
		return 0;
	return msi_send(&x->sink, x->entry[v].addr, x->entry[v].data);
}

/* Called with x->lock held. */
static void deliver_pending(struct msix *x)
{
	if (!msix_enabled(x))
		return;
	for (unsigned v = 0; v < x->nvec; v++) {
		if ((x->pending & (1ULL << v)) && !(x->entry[v].ctrl & MSIX_VEC_MASKED)) {
			x->pending &= ~(1ULL << v);
			deliver(x, v);
		}
	}
}

int msix_notify(struct msix *x, unsigned vec)
{
	int r = 0;

	if (vec >= x->nvec)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	if (!(ctrl(x) & MSIX_CTRL_ENABLE)) {
		r = -ENODEV;
	} else if ((ctrl(x) & MSIX_CTRL_MASKALL) || (x->entry[vec].ctrl & MSIX_VEC_MASKED)) {
		x->pending |= 1ULL << vec;
	} else {
		r = deliver(x, vec);
	}
	pthread_mutex_unlock(&x->lock);
	return r;
}

uint64_t msix_table_read(struct msix *x, uint64_t off, unsigned size)
{
	uint64_t pba = x->pba_off - x->table_off, v = ~0ULL;
	uint8_t buf[8];

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return ~0ULL;
	pthread_mutex_lock(&x->lock);
	if (off + size <= x->nvec * MSIX_ENTRY_SIZE) {
		for (unsigned i = 0; i < size; i += 4) {
			const struct msix_entry *e = &x->entry[(off + i) / MSIX_ENTRY_SIZE];
			uint32_t w;
			switch ((off + i) % MSIX_ENTRY_SIZE) {
			case 0: w = (uint32_t)e->addr; break;
			case 4: w = (uint32_t)(e->addr >> 32); break;
			case 8: w = e->data; break;
			default: w = e->ctrl; break;
			}
			memcpy(buf + i, &w, 4);
		}
		memcpy(&v, buf, 8);
		if (size == 4)
			v &= 0xffffffff;
	} else if (off >= pba && off + size <= pba + 8) {
		v = x->pending >> (8 * (off - pba));
		if (size == 4)
			v &= 0xffffffff;
	}
	pthread_mutex_unlock(&x->lock);
	return v;
}

void msix_table_write(struct msix *x, uint64_t off, uint64_t val, unsigned size)
{
	unsigned changed = MSIX_MAX_VECTORS;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return;
	pthread_mutex_lock(&x->lock);
	if (off + size <= x->nvec * MSIX_ENTRY_SIZE) {
		for (unsigned i = 0; i < size; i += 4) {
			struct msix_entry *e = &x->entry[(off + i) / MSIX_ENTRY_SIZE];
			uint32_t w = (uint32_t)(val >> (8 * i));
			switch ((off + i) % MSIX_ENTRY_SIZE) {
			case 0: e->addr = (e->addr & ~0xffffffffULL) | w; break;
			case 4: e->addr = (e->addr & 0xffffffffULL) | (uint64_t)w << 32; break;
			case 8: e->data = w; break;
			default: e->ctrl = w & MSIX_VEC_MASKED; break;
			}
			changed = (unsigned)((off + i) / MSIX_ENTRY_SIZE);
		}
		deliver_pending(x);
	}
	/* The PBA is read-only. */
	pthread_mutex_unlock(&x->lock);
	if (changed < MSIX_MAX_VECTORS && x->vector_changed)
		x->vector_changed(x->vector_ctx, changed);
}

void msix_cfg_write(struct msix *x, unsigned off, unsigned size)
{
	if (off + size <= x->cap + 2 || off >= x->cap + 4)
		return;
	pthread_mutex_lock(&x->lock);
	deliver_pending(x);
	pthread_mutex_unlock(&x->lock);
	if (x->vector_changed)
		for (unsigned v = 0; v < x->nvec; v++)
			x->vector_changed(x->vector_ctx, v);
}

void msix_reset(struct msix *x)
{
	pthread_mutex_lock(&x->lock);
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++)
		x->entry[v] = (struct msix_entry){ 0, 0, MSIX_VEC_MASKED };
	x->pending = 0;
	pthread_mutex_unlock(&x->lock);
}

bool msix_vector(struct msix *x, unsigned vec, uint64_t *addr, uint32_t *data)
{
	bool on;

	if (vec >= x->nvec)
		return false;
	pthread_mutex_lock(&x->lock);
	on = msix_enabled(x) && !(x->entry[vec].ctrl & MSIX_VEC_MASKED);
	*addr = x->entry[vec].addr;
	*data = x->entry[vec].data;
	pthread_mutex_unlock(&x->lock);
	return on;
}
