/* PCI bus 0: conf1/ECAM, write masks, BAR sizing and decode, capabilities,
 * INTx, and the Q35 chipset functions OVMF programs. */
#include "test.h"

#include "core/bus.h"
#include "machine/chipset.h"
#include "machine/layout.h"
#include "pci/pci.h"

struct fake_irq {
	int level[32];
	int changes;
};

static void fake_set_level(void *ctx, unsigned gsi, int level)
{
	struct fake_irq *f = ctx;
	f->level[gsi] = level;
	f->changes++;
}

struct env {
	struct io_bus pio, mmio;
	struct pci_bus bus;
	struct fake_irq irq;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	io_bus_init(&e->pio, "pio");
	io_bus_init(&e->mmio, "mmio");
	CHECK_EQ(pci_bus_init(&e->bus, &e->pio, &e->mmio, LAYOUT_ECAM_BASE,
			      (struct irq_line){ fake_set_level, &e->irq, 0 }), 0);
}

static void env_fini(struct env *e)
{
	io_bus_destroy(&e->pio);
	io_bus_destroy(&e->mmio);
}

static uint32_t conf1_rd(struct env *e, unsigned devfn, unsigned off, unsigned size)
{
	io_bus_write_val(&e->pio, 0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc), 4);
	return (uint32_t)io_bus_read_val(&e->pio, 0xcfc + (off & 3), size);
}

static void conf1_wr(struct env *e, unsigned devfn, unsigned off, unsigned size, uint32_t v)
{
	io_bus_write_val(&e->pio, 0xcf8, 0x80000000u | devfn << 8 | (off & 0xfc), 4);
	io_bus_write_val(&e->pio, 0xcfc + (off & 3), v, size);
}

static uint64_t ecam(unsigned devfn, unsigned off)
{
	return LAYOUT_ECAM_BASE + ((uint64_t)devfn << 12) + off;
}

/* A test device: BAR0 = 4 KiB MMIO, BAR2 = 64-bit 1 MiB, BAR4 = 32 bytes I/O. */
struct tdev {
	struct pci_dev pci;
	uint32_t last_write;
	uint64_t last_off;
	int writes;
};

static uint64_t tdev_read(void *o, uint64_t off, unsigned size)
{
	return 0xabcd0000u | (uint32_t)off;
}

static void tdev_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	struct tdev *t = o;
	t->last_off = off;
	t->last_write = (uint32_t)val;
	t->writes++;
}

static const struct io_ops tdev_ops = { tdev_read, tdev_write };

static void tdev_init(struct tdev *t)
{
	memset(t, 0, sizeof(*t));
	pci_dev_init(&t->pci, "tdev", 0x1234, 0x5678, 0x010802, 1, true);
	CHECK_EQ(pci_dev_set_bar(&t->pci, 0, PCI_BAR_MEM32, 0x1000, false, &tdev_ops, t), 0);
	CHECK_EQ(pci_dev_set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x100000, true, &tdev_ops, t), 0);
	CHECK_EQ(pci_dev_set_bar(&t->pci, 4, PCI_BAR_IO, 32, false, &tdev_ops, t), 0);
	pci_dev_set_intx_pin(&t->pci, 1);
}

TEST(pci_absent_functions_read_all_ones)
{
	struct env e;
	env_init(&e);
	CHECK_EQ(conf1_rd(&e, 0x08, 0, 4), 0xffffffff);
	CHECK_EQ(io_bus_read_val(&e.mmio, ecam(0x10, 0), 2), 0xffff);
	/* Other buses through ECAM and conf1. */
	CHECK_EQ(io_bus_read_val(&e.mmio, LAYOUT_ECAM_BASE + (1 << 20), 4), 0xffffffff);
	io_bus_write_val(&e.pio, 0xcf8, 0x80010000u, 4);
	CHECK_EQ(io_bus_read_val(&e.pio, 0xcfc, 4), 0xffffffff);
	/* Config cycle with the enable bit clear. */
	io_bus_write_val(&e.pio, 0xcf8, 0x00000000u, 4);
	CHECK_EQ(io_bus_read_val(&e.pio, 0xcfc, 4), 0xffffffff);
	env_fini(&e);
}

TEST(pci_bar_sizing_and_decode)
{
	struct env e;
	struct tdev t;
	uint8_t devfn = 3 << 3;

	env_init(&e);
	tdev_init(&t);
	CHECK_EQ(pci_bus_add(&e.bus, &t.pci, devfn), 0);
	CHECK_EQ(conf1_rd(&e, devfn, 0, 4), 0x56781234);
	CHECK_EQ(pci_bus_add(&e.bus, &t.pci, devfn), -EEXIST);

	/* Sizing: write all-ones, read back the size mask and type bits. */
	conf1_wr(&e, devfn, 0x10, 4, 0xffffffff);
	CHECK_EQ(conf1_rd(&e, devfn, 0x10, 4), 0xfffff000);
	conf1_wr(&e, devfn, 0x18, 4, 0xffffffff);
	conf1_wr(&e, devfn, 0x1c, 4, 0xffffffff);
	CHECK_EQ(conf1_rd(&e, devfn, 0x18, 4), 0xfff0000c);	/* 64-bit, prefetchable */
	CHECK_EQ(conf1_rd(&e, devfn, 0x1c, 4), 0xffffffff);
	conf1_wr(&e, devfn, 0x20, 4, 0xffffffff);
	CHECK_EQ(conf1_rd(&e, devfn, 0x20, 4), 0xffffffe1);
	/* Unimplemented BARs are read-only zero. */
	conf1_wr(&e, devfn, 0x14, 4, 0xffffffff);
	CHECK_EQ(conf1_rd(&e, devfn, 0x14, 4), 0);

	/* Place them; nothing decodes until COMMAND enables it. */
	conf1_wr(&e, devfn, 0x10, 4, 0xc0000000);
	conf1_wr(&e, devfn, 0x18, 4, 0x00000000);
	conf1_wr(&e, devfn, 0x1c, 4, 0x00000008);	/* 0x8_0000_0000 */
	conf1_wr(&e, devfn, 0x20, 4, 0x6000);
	CHECK_EQ(io_bus_read_val(&e.mmio, 0xc0000010, 4), 0xffffffff);
	conf1_wr(&e, devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	CHECK_EQ(io_bus_read_val(&e.mmio, 0xc0000010, 4), 0xabcd0010);
	CHECK_EQ(io_bus_read_val(&e.mmio, 0x800000000ULL + 0x44, 4), 0xabcd0044);
	CHECK_EQ(io_bus_read_val(&e.pio, 0x6004, 2), 0x0004);
	io_bus_write_val(&e.mmio, 0xc0000ff8, 0x1122, 2);
	CHECK_EQ(t.last_off, 0xff8);
	CHECK_EQ(t.last_write, 0x1122);

	/* Relocation: the old address stops decoding, the new one starts. */
	conf1_wr(&e, devfn, 0x10, 4, 0xc0100000);
	CHECK_EQ(io_bus_read_val(&e.mmio, 0xc0000010, 4), 0xffffffff);
	CHECK_EQ(io_bus_read_val(&e.mmio, 0xc0100010, 4), 0xabcd0010);
	CHECK(t.pci.bar[0].mapped && t.pci.bar[0].addr == 0xc0100000);

	/* Sizing while decode is on must not map the BAR at the size mask. */
	conf1_wr(&e, devfn, 0x10, 4, 0xffffffff);
	CHECK(!t.pci.bar[0].mapped);
	CHECK_EQ(io_bus_read_val(&e.mmio, 0xfffff010, 4), 0xffffffff);

	/* Memory decode off unmaps the memory BARs but not the I/O BAR. */
	conf1_wr(&e, devfn, 0x10, 4, 0xc0000000);
	conf1_wr(&e, devfn, PCI_COMMAND, 2, PCI_COMMAND_IO);
	CHECK(!t.pci.bar[0].mapped && !t.pci.bar[2].mapped && t.pci.bar[4].mapped);

	/* A BAR placed on top of the ECAM window overlaps and stays unmapped. */
	conf1_wr(&e, devfn, 0x10, 4, (uint32_t)LAYOUT_ECAM_BASE);
	conf1_wr(&e, devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK(!t.pci.bar[0].mapped);
	CHECK_EQ(io_bus_read_val(&e.mmio, ecam(devfn, 0), 4), 0x56781234);

	pci_bus_reset(&e.bus);
	CHECK(!t.pci.bar[2].mapped);
	CHECK_EQ(conf1_rd(&e, devfn, PCI_COMMAND, 2), 0);
	CHECK_EQ(conf1_rd(&e, devfn, 0x10, 4), 0);
	env_fini(&e);
}

TEST(pci_write_masks_status_w1c_and_readonly_ids)
{
	struct env e;
	struct tdev t;
	uint8_t devfn = 4 << 3;

	env_init(&e);
	tdev_init(&t);
	pci_bus_add(&e.bus, &t.pci, devfn);
	conf1_wr(&e, devfn, 0, 4, 0xffffffff);		/* IDs are read-only */
	CHECK_EQ(conf1_rd(&e, devfn, 0, 4), 0x56781234);
	conf1_wr(&e, devfn, 0x08, 4, 0);		/* class/revision read-only */
	CHECK_EQ(conf1_rd(&e, devfn, 0x08, 4), 0x01080201);
	t.pci.cfg[PCI_STATUS + 1] = 0x80;		/* parity error detected */
	conf1_wr(&e, devfn, PCI_STATUS, 2, 0x8000);
	CHECK_EQ(conf1_rd(&e, devfn, PCI_STATUS, 2) & 0x8000, 0);
	conf1_wr(&e, devfn, PCI_INTERRUPT_LINE, 1, 0x0b);
	CHECK_EQ(conf1_rd(&e, devfn, PCI_INTERRUPT_LINE, 1), 0x0b);
	CHECK_EQ(conf1_rd(&e, devfn, PCI_INTERRUPT_PIN, 1), 1);
	conf1_wr(&e, devfn, PCI_INTERRUPT_PIN, 1, 3);
	CHECK_EQ(conf1_rd(&e, devfn, PCI_INTERRUPT_PIN, 1), 1);
	/* Byte and word accesses through conf1 at each offset inside the dword. */
	CHECK_EQ(conf1_rd(&e, devfn, 0x01, 1), 0x12);
	CHECK_EQ(conf1_rd(&e, devfn, 0x02, 2), 0x5678);
	/* Misaligned ECAM accesses are dropped. */
	CHECK_EQ(io_bus_read_val(&e.mmio, ecam(devfn, 1), 2), 0xffff);
	env_fini(&e);
}

TEST(pci_capability_chain)
{
	struct tdev t;
	int a, b, x, y;

	tdev_init(&t);
	a = pci_add_cap(&t.pci, PCI_CAP_ID_MSIX, 12);
	b = pci_add_cap(&t.pci, PCI_CAP_ID_EXP, 60);
	CHECK_EQ(a, 0x40);
	CHECK_EQ(b, 0x4c);
	CHECK_EQ(t.pci.cfg[PCI_CAPABILITY_LIST], 0x40);
	CHECK_EQ(t.pci.cfg[0x41], 0x4c);
	CHECK_EQ(t.pci.cfg[0x4d], 0);
	CHECK(t.pci.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	CHECK_EQ(pci_find_cap(&t.pci, PCI_CAP_ID_EXP), 0x4c);
	CHECK_EQ(pci_find_cap(&t.pci, PCI_CAP_ID_MSI), 0);
	CHECK_EQ(pci_add_cap(&t.pci, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	x = pci_add_ext_cap(&t.pci, 0x0001, 1, 0x40);
	y = pci_add_ext_cap(&t.pci, 0x000b, 1, 0x10);
	CHECK_EQ(x, 0x100);
	CHECK_EQ(y, 0x140);
	CHECK_EQ(pci_get32(&t.pci, 0x100), 0x14010001);
	/* A looping chain (a corrupted image) must not hang the walk. */
	t.pci.cfg[0x4d] = 0x40;
	CHECK_EQ(pci_find_cap(&t.pci, PCI_CAP_ID_VNDR), 0);
}

TEST(pci_intx_follows_disable_bit)
{
	struct env e;
	struct tdev t;
	uint8_t devfn = 5 << 3;
	unsigned gsi = layout_intx_gsi(5, 0);

	env_init(&e);
	tdev_init(&t);
	pci_bus_add(&e.bus, &t.pci, devfn);
	CHECK_EQ(t.pci.intx.gsi, gsi);
	pci_set_irq(&t.pci, 1);
	CHECK_EQ(e.irq.level[gsi], 1);
	CHECK(conf1_rd(&e, devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	conf1_wr(&e, devfn, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(e.irq.level[gsi], 0);
	conf1_wr(&e, devfn, PCI_COMMAND, 2, 0);
	CHECK_EQ(e.irq.level[gsi], 1);
	pci_set_irq(&t.pci, 0);
	CHECK_EQ(e.irq.level[gsi], 0);
	CHECK_EQ(conf1_rd(&e, devfn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	env_fini(&e);
}

static uint8_t cf9_val;
static uint64_t cf9_read(void *o, uint64_t off, unsigned size)
{
	return cf9_val;
}
static void cf9_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	cf9_val = (uint8_t)val;
}
static const struct io_ops cf9_ops = { cf9_read, cf9_write };

TEST(pci_conf1_address_register_and_cf9_byte_forwarding)
{
	struct env e;
	env_init(&e);
	pci_bus_set_cf9(&e.bus, &cf9_ops, NULL);
	io_bus_write_val(&e.pio, 0xcf8, 0x8000f87c, 4);
	CHECK_EQ(io_bus_read_val(&e.pio, 0xcf8, 4), 0x8000f87c);
	io_bus_write_val(&e.pio, 0xcf9, 0x06, 1);
	CHECK_EQ(cf9_val, 0x06);
	CHECK_EQ(io_bus_read_val(&e.pio, 0xcf9, 1), 0x06);
	/* The address register is untouched by the byte write. */
	CHECK_EQ(io_bus_read_val(&e.pio, 0xcf8, 4), 0x8000f87c);
	env_fini(&e);
}

struct pm_seen {
	uint16_t base;
	bool enabled;
	int calls;
};

static void pm_update(void *ctx, uint16_t base, bool enabled)
{
	struct pm_seen *s = ctx;
	s->base = base;
	s->enabled = enabled;
	s->calls++;
}

TEST(chipset_registers_as_ovmf_programs_them)
{
	struct env e;
	static struct chipset c;
	struct pm_seen pm = { 0 };
	uint8_t lpc = LAYOUT_LPC_DEVFN;

	env_init(&e);
	CHECK_EQ(chipset_init(&c, &e.bus, pm_update, &pm), 0);
	/* OVMF reads the host bridge DID through conf1 first. */
	CHECK_EQ(conf1_rd(&e, 0, 2, 2), 0x29c0);
	CHECK_EQ(conf1_rd(&e, 0, PCI_INTERRUPT_PIN, 1), 0);
	CHECK_EQ(conf1_rd(&e, lpc, 0x0a, 2), 0x0601);
	/* The trace of section 3, in order. */
	conf1_wr(&e, lpc, 0x40, 4, 0x00000601);
	CHECK_EQ(conf1_rd(&e, lpc, 0x40, 4), 0x00000601);
	CHECK_EQ(pm.base, 0x600);
	CHECK(!pm.enabled);
	conf1_wr(&e, lpc, 0x44, 1, 0x80);
	CHECK(pm.enabled);
	CHECK_EQ(pm.base, 0x600);
	conf1_wr(&e, lpc, 0xf0, 4, 0xfed1c001);
	CHECK_EQ(conf1_rd(&e, lpc, 0xf0, 4), 0xfed1c001);
	conf1_wr(&e, 0, 0x60, 4, 0);
	conf1_wr(&e, 0, 0x64, 4, 0);
	conf1_wr(&e, 0, 0x60, 4, 0xb0000001);
	CHECK_EQ(conf1_rd(&e, 0, 0x60, 4), 0xb0000001);
	conf1_wr(&e, lpc, 0x60, 4, 0x0b0b0a0a);
	conf1_wr(&e, lpc, 0x68, 4, 0x0b0b0a0a);
	CHECK_EQ(conf1_rd(&e, lpc, 0x60, 4), 0x0b0b0a0a);
	CHECK_EQ(conf1_rd(&e, lpc, 0x6b, 1), 0x0b);
	/* DXE then uses ECAM for the same registers. */
	CHECK_EQ(io_bus_read_val(&e.mmio, ecam(lpc, 0x40), 4), 0x00000601);
	/* SioBusDxe needs IO|MEM writable in the LPC command register. */
	conf1_wr(&e, lpc, PCI_COMMAND, 2, 0x3);
	CHECK_EQ(conf1_rd(&e, lpc, PCI_COMMAND, 2), 0x3);
	/* PMBASE low bits are read-only; moving it notifies the PM block. */
	conf1_wr(&e, lpc, 0x40, 2, 0xb07f);
	CHECK_EQ(conf1_rd(&e, lpc, 0x40, 2), 0xb001);
	CHECK_EQ(pm.base, 0xb000);
	env_fini(&e);
}
