/*
 * PCI bus 0: conf1 + ECAM dispatch, write-masked config images, BAR decode.
 * PCI Local Bus 3.0 ch. 6 (config space, BAR sizing), PCI Express Base 4.0
 * 7.2.2 (ECAM layout: bus << 20 | dev << 15 | fn << 12 | reg).
 *
 * Not implemented: buses other than 0 (no bridges), type 1 headers, I/O
 * BAR decode above 64 KiB, VGA legacy ranges, BAR overlap resolution (an
 * overlapping BAR stays unmapped and is logged).
 */
#define LOG_MOD "pci"
#include "pci/pci.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "machine/layout.h"

static uint32_t cfg_read_locked(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size);
static void cfg_write_locked(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size,
			     uint32_t val);

/* --- conf1 (0xCF8 address, 0xCFC-0xCFF data) -------------------------------- */

static uint64_t conf1_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t a, v;

	if (off == 1 && size == 1 && bus->cf9_ops)
		return bus->cf9_ops->read(bus->cf9_opaque, 0, 1);
	pthread_mutex_lock(&bus->lock);
	a = bus->conf1_addr;
	if (off < 4) {
		/* The address register; only whole-dword accesses are meaningful. */
		v = size == 4 ? a : 0xffffffff;
	} else if (!(a & 0x80000000u) || ((a >> 16) & 0xff) != 0 || off - 4 + size > 4) {
		v = 0xffffffff;
	} else {
		unsigned reg = (a & 0xfc) | (unsigned)(off - 4);
		/* conf1 reaches only the first 256 bytes (plus the 4-bit extension
		 * some chipsets have, which OVMF does not use). */
		v = cfg_read_locked(bus, (uint8_t)(a >> 8), reg, size);
	}
	pthread_mutex_unlock(&bus->lock);
	return v;
}

static void conf1_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t a;

	if (off == 1 && size == 1 && bus->cf9_ops) {
		bus->cf9_ops->write(bus->cf9_opaque, 0, val, 1);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	if (off < 4) {
		if (off == 0 && size == 4)
			bus->conf1_addr = (uint32_t)val & 0x80fffffcu;
	} else {
		a = bus->conf1_addr;
		if ((a & 0x80000000u) && ((a >> 16) & 0xff) == 0 && off - 4 + size <= 4)
			cfg_write_locked(bus, (uint8_t)(a >> 8), (a & 0xfc) | (unsigned)(off - 4), size,
					 (uint32_t)val);
	}
	pthread_mutex_unlock(&bus->lock);
}

static const struct io_ops conf1_addr_ops = { conf1_read, conf1_write };

static uint64_t conf1_data_read(void *opaque, uint64_t off, unsigned size)
{
	return conf1_read(opaque, off + 4, size);
}

static void conf1_data_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	conf1_write(opaque, off + 4, val, size);
}

static const struct io_ops conf1_data_ops = { conf1_data_read, conf1_data_write };

/* --- ECAM --------------------------------------------------------------------- */

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned reg = off & 0xfff;
	uint32_t v;

	if ((off >> 20) != 0 || size > 4 || (reg & (size - 1)))
		return ~0ULL; /* other buses, 8-byte or misaligned accesses */
	pthread_mutex_lock(&bus->lock);
	v = cfg_read_locked(bus, (uint8_t)(off >> 12), reg, size);
	pthread_mutex_unlock(&bus->lock);
	return v;
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned reg = off & 0xfff;

	if ((off >> 20) != 0 || size > 4 || (reg & (size - 1)))
		return;
	pthread_mutex_lock(&bus->lock);
	cfg_write_locked(bus, (uint8_t)(off >> 12), reg, size, (uint32_t)val);
	pthread_mutex_unlock(&bus->lock);
}

static const struct io_ops ecam_ops = { ecam_read, ecam_write };

void pci_bus_set_cf9(struct pci_bus *bus, const struct io_ops *ops, void *opaque)
{
	bus->cf9_ops = ops;
	bus->cf9_opaque = opaque;
}

int pci_bus_init(struct pci_bus *bus, struct io_bus *pio, struct io_bus *mmio,
		 uint64_t ecam_base, struct irq_line intx)
{
	int r;

	memset(bus, 0, sizeof(*bus));
	bus->pio = pio;
	bus->mmio = mmio;
	bus->ecam_base = ecam_base;
	bus->intx = intx;
	pthread_mutex_init(&bus->lock, NULL);
	/* 0xCF8-0xCFB address, 0xCFC-0xCFF data. On ICH9 a byte access at
	 * 0xCF9 is the reset control register: pci_bus_set_cf9() forwards it. */
	r = io_bus_add(pio, 0xcf8, 4, &conf1_addr_ops, bus, "pci-conf1-addr");
	if (r)
		return r;
	r = io_bus_add(pio, 0xcfc, 4, &conf1_data_ops, bus, "pci-conf1-data");
	if (r)
		return r;
	return io_bus_add(mmio, ecam_base, LAYOUT_ECAM_SIZE, &ecam_ops, bus, "pci-ecam");
}

/* --- devices -------------------------------------------------------------------- */

void pci_dev_init(struct pci_dev *d, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, bool pcie)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->pcie = pcie;
	pci_set16(d->cfg, PCI_VENDOR_ID, vendor);
	pci_set16(d->cfg, PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION_ID] = revision;
	d->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	d->cfg[PCI_CLASS_DEVICE] = (uint8_t)(class_code >> 8);
	d->cfg[PCI_CLASS_DEVICE + 1] = (uint8_t)(class_code >> 16);
	pci_set16(d->wmask, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
					PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
					PCI_COMMAND_INTX_DISABLE);
	/* Status: the error bits are RW1C. */
	pci_set16(d->w1cmask, PCI_STATUS, 0xf900);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->next_cap = 0x40;
	d->next_ext_cap = 0x100;
}

void pci_dev_set_subsystem(struct pci_dev *d, uint16_t vendor, uint16_t id)
{
	pci_set16(d->cfg, PCI_SUBSYSTEM_VENDOR_ID, vendor);
	pci_set16(d->cfg, PCI_SUBSYSTEM_ID, id);
}

void pci_dev_set_intx_pin(struct pci_dev *d, uint8_t pin)
{
	d->cfg[PCI_INTERRUPT_PIN] = pin <= 4 ? pin : 0;
}

int pci_dev_set_bar(struct pci_dev *d, int idx, enum pci_bar_type type, uint64_t size,
		    bool prefetch, const struct io_ops *ops, void *opaque)
{
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * (unsigned)idx;
	uint64_t mask;
	uint32_t flags;

	if (idx < 0 || idx >= PCI_NUM_BARS || !is_pow2(size) ||
	    (type == PCI_BAR_MEM64 && idx == PCI_NUM_BARS - 1) ||
	    (type == PCI_BAR_IO && (size < 4 || size > 0x10000)) ||
	    (type == PCI_BAR_MEM32 && (size < 16 || size > 0x80000000ULL)) ||
	    (type == PCI_BAR_MEM64 && size < 16) || type == PCI_BAR_NONE)
		return -EINVAL;
	d->bar[idx] = (struct pci_bar){ .type = type, .prefetch = prefetch, .size = size,
					.ops = ops, .opaque = opaque };
	mask = ~(size - 1);
	if (type == PCI_BAR_IO) {
		flags = 0x1;
		pci_set32(d->wmask, off, (uint32_t)mask & 0xfffffffcu);
	} else {
		flags = (type == PCI_BAR_MEM64 ? 0x4 : 0) | (prefetch ? 0x8 : 0);
		pci_set32(d->wmask, off, (uint32_t)mask & 0xfffffff0u);
		if (type == PCI_BAR_MEM64) {
			pci_set32(d->wmask, off + 4, (uint32_t)(mask >> 32));
			d->bar[idx + 1].type = PCI_BAR_NONE;
		}
	}
	pci_set32(d->cfg, off, flags);
	return 0;
}

int pci_dev_set_rom(struct pci_dev *d, uint64_t size, const struct io_ops *ops, void *opaque)
{
	if (!is_pow2(size) || size < 2048 || size > 0x1000000)
		return -EINVAL;
	d->bar[PCI_ROM_SLOT] = (struct pci_bar){ .type = PCI_BAR_MEM32, .size = size,
						 .ops = ops, .opaque = opaque };
	pci_set32(d->wmask, PCI_ROM_ADDRESS, (uint32_t)~(size - 1) | 1u);
	return 0;
}

int pci_add_cap(struct pci_dev *d, uint8_t id, unsigned len)
{
	unsigned off = d->next_cap;

	len = (len + 3) & ~3u;
	if (len < 4 || off + len > 0x100)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->last_cap = (uint8_t)off;
	d->next_cap = (uint8_t)(off + len == 0x100 ? 0xff : off + len);
	return (int)off;
}

int pci_add_ext_cap(struct pci_dev *d, uint16_t id, uint8_t version, unsigned len)
{
	unsigned off = d->next_ext_cap;

	len = (len + 3) & ~3u;
	if (!d->pcie || len < 4 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	pci_set32(d->cfg, off, id | (uint32_t)(version & 0xf) << 16);
	if (d->last_ext_cap) {
		uint32_t h = pci_get32(d, d->last_ext_cap);
		pci_set32(d->cfg, d->last_ext_cap, (h & 0xfffff) | (uint32_t)off << 20);
	}
	d->last_ext_cap = (uint16_t)off;
	d->next_ext_cap = (uint16_t)(off + len);
	return (int)off;
}

int pci_add_pcie_cap(struct pci_dev *d, unsigned port_type)
{
	int cap = pci_add_cap(d, PCI_CAP_ID_EXP, 0x3c);

	if (cap < 0)
		return cap;
	/* PCIe 4.0, 7.5.3: capability version 2; Device Capabilities: 128-byte
	 * max payload, role-based error reporting; Device Control: relaxed
	 * ordering, no-snoop and payload/read-request sizes are the OS's. */
	pci_set16(d->cfg, (unsigned)cap + 2, (uint16_t)(2 | (port_type & 0xf) << 4));
	pci_set32(d->cfg, (unsigned)cap + 4, 1u << 15);
	pci_set16(d->cfg, (unsigned)cap + 8, 0x2810);
	pci_set16(d->wmask, (unsigned)cap + 8, 0x7cff);
	pci_set16(d->w1cmask, (unsigned)cap + 10, 0x000f);	/* Device Status errors */
	return cap;
}

unsigned pci_find_cap(const struct pci_dev *d, uint8_t id)
{
	unsigned off = d->cfg[PCI_CAPABILITY_LIST];
	for (int guard = 0; off >= 0x40 && guard < 48; guard++) {
		if (d->cfg[off] == id)
			return off;
		off = d->cfg[off + 1];
	}
	return 0;
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *d, uint8_t devfn)
{
	uint8_t pin = d->cfg[PCI_INTERRUPT_PIN];

	if (bus->dev[devfn])
		return -EEXIST;
	d->bus = bus;
	d->devfn = devfn;
	d->intx = bus->intx;
	if (pin)
		d->intx.gsi = layout_intx_gsi(devfn >> 3, (unsigned)(pin - 1));
	memcpy(d->cfg_reset, d->cfg, sizeof(d->cfg));
	pthread_mutex_lock(&bus->lock);
	bus->dev[devfn] = d;
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

/* --- BAR decode -------------------------------------------------------------- */

static uint64_t bar_address(const struct pci_dev *d, int idx)
{
	const struct pci_bar *b = &d->bar[idx];
	unsigned off = idx == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * (unsigned)idx;
	uint64_t a = pci_get32(d, off);

	if (idx == PCI_ROM_SLOT)
		return a & ~0x7ffULL;
	if (b->type == PCI_BAR_IO)
		return a & ~0x3ULL;
	a &= ~0xfULL;
	if (b->type == PCI_BAR_MEM64)
		a |= (uint64_t)pci_get32(d, off + 4) << 32;
	return a;
}

/* Whether BAR @idx should decode at address @a now. */
static bool bar_decodes(const struct pci_dev *d, int idx, uint64_t a)
{
	const struct pci_bar *b = &d->bar[idx];
	uint16_t cmd = pci_get16(d, PCI_COMMAND);

	if (b->type == PCI_BAR_NONE || b->size == 0 || a == 0)
		return false;
	if (b->type == PCI_BAR_IO)
		return (cmd & PCI_COMMAND_IO) && a + b->size <= 0x10000;
	if (!(cmd & PCI_COMMAND_MEMORY))
		return false;
	if (idx == PCI_ROM_SLOT && !(d->cfg[PCI_ROM_ADDRESS] & 1))
		return false;
	if (a + b->size < a)
		return false;
	/* A BAR being sized (all address bits set) is not a real placement. */
	if (a == (~(b->size - 1) & (b->type == PCI_BAR_MEM64 ? ~0ULL : 0xffffffffULL)))
		return false;
	return b->type == PCI_BAR_MEM64 || a + b->size <= 0x100000000ULL;
}

static void update_bars(struct pci_dev *d)
{
	for (int i = 0; i <= PCI_ROM_SLOT; i++) {
		struct pci_bar *b = &d->bar[i];
		uint64_t a;
		bool on;

		if (b->type == PCI_BAR_NONE)
			continue;
		a = bar_address(d, i);
		on = bar_decodes(d, i, a);
		if (b->mapped && (!on || a != b->addr)) {
			if (b->ops)
				io_bus_del(b->type == PCI_BAR_IO ? d->bus->pio : d->bus->mmio, b->addr, b->opaque);
			b->mapped = false;
			if (d->ops && d->ops->bar_moved)
				d->ops->bar_moved(d, i, false, b->addr);
		}
		if (on && !b->mapped) {
			int r = 0;
			if (b->ops)
				r = io_bus_add(b->type == PCI_BAR_IO ? d->bus->pio : d->bus->mmio, a, b->size,
					       b->ops, b->opaque, d->name);
			if (r) {
				log_guest("%s: BAR%d at %#llx+%#llx overlaps another range; left unmapped",
					  d->name, i, (unsigned long long)a, (unsigned long long)b->size);
				continue;
			}
			b->mapped = true;
			b->addr = a;
			if (d->ops && d->ops->bar_moved)
				d->ops->bar_moved(d, i, true, a);
		}
	}
}

static void update_intx(struct pci_dev *d)
{
	bool disabled = pci_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	if (d->cfg[PCI_INTERRUPT_PIN])
		irq_set(&d->intx, d->intx_level && !disabled);
}

/* --- config access ------------------------------------------------------------ */

static uint32_t cfg_read_locked(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size)
{
	struct pci_dev *d = bus->dev[devfn];
	uint32_t v = 0;

	if (!d || off + size > PCI_CFG_SIZE)
		return 0xffffffff >> (32 - 8 * size);
	if (!d->pcie && off >= 0x100)
		return 0xffffffff >> (32 - 8 * size);
	if (d->ops && d->ops->cfg_read && d->ops->cfg_read(d, off, size, &v))
		return v;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)__atomic_load_n(&d->cfg[off + i], __ATOMIC_RELAXED) << (8 * i);
	return v;
}

static void cfg_write_locked(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size,
			     uint32_t val)
{
	struct pci_dev *d = bus->dev[devfn];
	bool touch_bars = false, touch_cmd = false;

	if (!d || off + size > PCI_CFG_SIZE || (!d->pcie && off >= 0x100))
		return;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t wm = d->wmask[o], w1c = d->w1cmask[o];
		uint8_t cur = __atomic_load_n(&d->cfg[o], __ATOMIC_RELAXED);
		uint8_t nv = (uint8_t)((cur & ~wm) | (b & wm));
		nv &= (uint8_t)~(b & w1c);
		__atomic_store_n(&d->cfg[o], nv, __ATOMIC_RELAXED);
		if (o >= PCI_BASE_ADDRESS_0 && o < PCI_BASE_ADDRESS_0 + 24)
			touch_bars = true;
		if (o >= PCI_ROM_ADDRESS && o < PCI_ROM_ADDRESS + 4)
			touch_bars = true;
		if (o == PCI_COMMAND || o == PCI_COMMAND + 1)
			touch_cmd = true;
	}
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d, off, size, val);
	if (touch_bars || touch_cmd)
		update_bars(d);
	if (touch_cmd)
		update_intx(d);
}

uint32_t pci_cfg_read(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size)
{
	uint32_t v;
	pthread_mutex_lock(&bus->lock);
	v = cfg_read_locked(bus, devfn, off, size);
	pthread_mutex_unlock(&bus->lock);
	return v;
}

void pci_cfg_write(struct pci_bus *bus, uint8_t devfn, unsigned off, unsigned size, uint32_t val)
{
	pthread_mutex_lock(&bus->lock);
	cfg_write_locked(bus, devfn, off, size, val);
	pthread_mutex_unlock(&bus->lock);
}

void pci_set_irq(struct pci_dev *d, int level)
{
	d->intx_level = level;
	if (level)
		__atomic_fetch_or(&d->cfg[PCI_STATUS], PCI_STATUS_INTERRUPT, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&d->cfg[PCI_STATUS], (uint8_t)~PCI_STATUS_INTERRUPT, __ATOMIC_RELAXED);
	update_intx(d);
}

void pci_bus_reset(struct pci_bus *bus)
{
	pthread_mutex_lock(&bus->lock);
	for (int i = 0; i < 256; i++) {
		struct pci_dev *d = bus->dev[i];
		if (!d)
			continue;
		memcpy(d->cfg, d->cfg_reset, sizeof(d->cfg));
		update_bars(d);	/* decode is off now: unmaps everything */
		d->intx_level = 0;
		update_intx(d);
		if (d->ops && d->ops->reset)
			d->ops->reset(d);
	}
	bus->conf1_addr = 0;
	pthread_mutex_unlock(&bus->lock);
}
