/*
 * libFuzzer: the VFIO passthrough model with a fake device built here (no
 * files: the target runs from anywhere). The input starts with 4 bytes
 * choosing the device (MSI layout and vectors, MSI-X table size and BAR,
 * ROM mode, config size, backend failures), then 8-byte records:
 *   {u8 op, u8 size, u16 addr, u32 value}
 * op % 16: 0/1 config read/write (ECAM), 2/3 BAR0, 4/5 BAR2, 6/7 the I/O
 * BAR, 8 the ROM, 9 a VM reset (VM gone, bus reset, new VM), 10 a new VM
 * without a reset, 11 an eventfd signalled, 12 backend failures on/off, else a
 * config write. BARs start programmed and decoding.
 *
 * Invariants (abort = crash report): memory slots page aligned and never
 * overlapping; no eventfd closed while an irqfd uses it; after fini every
 * eventfd closed, no slot, route or INTx irqfd left in the live VM.
 */
#include <errno.h>
#include <stdlib.h>

#include "dev/vfio_pci.h"
#include "fuzz_common.h"
#include "log.h"
#include "machine/layout.h"
#include "util.h"

#define DEVFN		(0x0c << 3)
#define BAR0_GPA	0xc0000000ULL
#define BAR2_GPA	0xc0100000ULL
#define ROM_GPA		0xc0200000ULL
#define IO_PORT		0x6000
#define NFD		4096

struct fdev {
	uint8_t cfg[4096];
	unsigned cfg_size;
	struct vfio_pci_region region[VFIO_PCI_NREGIONS];
	uint8_t *buf[VFIO_PCI_NREGIONS];
	struct vfio_pci_irq_info irq[3];
	unsigned ops, fail_period;
	bool failing;
};

struct fvm {
	bool dead;
	struct { uint64_t gpa, size; } map[256];
	unsigned nmap;
	struct { int fd; bool live; } route[512];
	unsigned nroute;
	int intx_fd;
	bool open[NFD], pending[NFD];
	int next_fd;
	unsigned nopen;
};

static bool fail(struct fdev *f)
{
	f->ops++;
	return f->failing && f->fail_period && f->ops % f->fail_period == 0;
}

static int d_cfg_read(void *ctx, unsigned off, void *buf, unsigned len)
{
	struct fdev *f = ctx;
	if (fail(f))
		return -EIO;
	if (off + len > f->cfg_size)
		return -EINVAL;
	memcpy(buf, f->cfg + off, len);
	return 0;
}

static int d_cfg_write(void *ctx, unsigned off, const void *buf, unsigned len)
{
	struct fdev *f = ctx;
	if (fail(f))
		return -EIO;
	if (off + len > f->cfg_size || len > 4 || !len)
		abort();	/* the model forwards natural accesses only */
	if (off >= 0x10 && off < 0x28)
		abort();	/* BARs are never forwarded */
	memcpy(f->cfg + off, buf, len);
	return 0;
}

static int d_cfg_size(void *ctx)
{
	return (int)((struct fdev *)ctx)->cfg_size;
}

static int d_region_info(void *ctx, unsigned idx, struct vfio_pci_region *out)
{
	struct fdev *f = ctx;
	if (idx >= VFIO_PCI_NREGIONS)
		abort();
	*out = f->region[idx];
	return 0;
}

static int d_region_read(void *ctx, unsigned idx, uint64_t off, void *buf, size_t len)
{
	struct fdev *f = ctx;
	if (fail(f))
		return -EIO;
	if (idx >= VFIO_PCI_NREGIONS || !f->buf[idx] || off + len > f->region[idx].size)
		return -EINVAL;
	memcpy(buf, f->buf[idx] + off, len);
	return 0;
}

static int d_region_write(void *ctx, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	struct fdev *f = ctx;
	if (fail(f))
		return -EIO;
	if (idx >= VFIO_PCI_ROM || !f->buf[idx] || off + len > f->region[idx].size)
		return -EINVAL;
	memcpy(f->buf[idx] + off, buf, len);
	return 0;
}

static int d_irq_info(void *ctx, enum vfio_pci_irq irq, struct vfio_pci_irq_info *out)
{
	*out = ((struct fdev *)ctx)->irq[irq];
	return 0;
}

static int d_set_irqs(void *ctx, enum vfio_pci_irq irq, enum vfio_pci_irq_action act,
		      unsigned start, unsigned count, const int *fds)
{
	struct fdev *f = ctx;
	if ((unsigned)irq > 2 || start + count > VFIO_PCI_MSIX_MAX || (count && !fds))
		abort();
	return fail(f) ? -EIO : 0;
}

static int d_reset(void *ctx)
{
	return fail(ctx) ? -EIO : 0;
}

static int v_map(void *ctx, uint64_t gpa, uint64_t size, void *hva)
{
	struct fvm *vm = ctx;
	if ((gpa | size | (uintptr_t)hva) & 0xfff || !size)
		abort();
	if (vm->dead)
		return -ENODEV;
	for (unsigned i = 0; i < vm->nmap; i++)
		if (gpa < vm->map[i].gpa + vm->map[i].size && vm->map[i].gpa < gpa + size)
			return -EEXIST;	/* as KVM: the guest overlapped two BARs */
	if (vm->nmap == 256)
		return -ENOSPC;
	vm->map[vm->nmap].gpa = gpa;
	vm->map[vm->nmap++].size = size;
	return 0;
}

static int v_unmap(void *ctx, uint64_t gpa)
{
	struct fvm *vm = ctx;
	if (vm->dead)
		return 0;
	for (unsigned i = 0; i < vm->nmap; i++) {
		if (vm->map[i].gpa == gpa) {
			vm->map[i] = vm->map[--vm->nmap];
			return 0;
		}
	}
	abort();	/* unmapping what was never mapped */
}

static int v_route_add(void *ctx, int fd, uint64_t addr, uint32_t data)
{
	struct fvm *vm = ctx;
	if (fd < 0 || fd >= NFD || !vm->open[fd])
		abort();
	if (vm->dead)
		return -ENODEV;
	if (vm->nroute == 512)
		return -ENOSPC;
	vm->route[vm->nroute].fd = fd;
	vm->route[vm->nroute].live = true;
	return 24 + (int)vm->nroute++;
}

static int v_route_update(void *ctx, int gsi, uint64_t addr, uint32_t data)
{
	struct fvm *vm = ctx;
	if (vm->dead)
		return 0;
	if (gsi < 24 || gsi >= 24 + (int)vm->nroute || !vm->route[gsi - 24].live)
		abort();
	return 0;
}

static int v_irqfd_del(void *ctx, int fd, int gsi)
{
	struct fvm *vm = ctx;
	if (vm->dead)
		return 0;
	if (gsi < 24) {
		if (vm->intx_fd != fd)
			abort();
		vm->intx_fd = -1;
		return 0;
	}
	if (gsi >= 24 + (int)vm->nroute || !vm->route[gsi - 24].live || vm->route[gsi - 24].fd != fd)
		abort();
	vm->route[gsi - 24].live = false;
	return 0;
}

static int v_intx(void *ctx, int fd, unsigned gsi, int resample)
{
	struct fvm *vm = ctx;
	if (fd < 0 || fd >= NFD || !vm->open[fd] || resample < 0 || !vm->open[resample])
		abort();
	if (vm->dead)
		return -ENODEV;
	if (vm->intx_fd >= 0)
		abort();	/* registered twice */
	vm->intx_fd = fd;
	return 0;
}

static int e_create(void *ctx)
{
	struct fvm *vm = ctx;
	for (int i = 0; i < NFD; i++) {
		int fd = (vm->next_fd + i) % NFD;
		if (!vm->open[fd]) {
			vm->open[fd] = true;
			vm->pending[fd] = false;
			vm->next_fd = fd + 1;
			vm->nopen++;
			return fd;
		}
	}
	return -EMFILE;
}

static void e_close(void *ctx, int fd)
{
	struct fvm *vm = ctx;
	if (fd < 0 || fd >= NFD || !vm->open[fd])
		abort();
	if (!vm->dead) {
		if (vm->intx_fd == fd)
			abort();
		for (unsigned i = 0; i < vm->nroute; i++)
			if (vm->route[i].live && vm->route[i].fd == fd)
				abort();
	}
	vm->open[fd] = false;
	vm->nopen--;
}

static bool e_pending(void *ctx, int fd)
{
	struct fvm *vm = ctx;
	if (fd < 0 || fd >= NFD || !vm->open[fd])
		abort();
	return vm->pending[fd];
}

/* The old VM is closed: its slots, routes and irqfds are gone. */
static void vm_kill(struct fvm *vm)
{
	vm->dead = true;
	vm->nmap = 0;
	vm->nroute = 0;
	vm->intx_fd = -1;
}

static void region(struct fdev *f, unsigned idx, uint64_t size, bool mmap)
{
	f->region[idx] = (struct vfio_pci_region){ .size = size, .read = true, .write = true };
	f->buf[idx] = aligned_alloc(4096, ALIGN_UP(size, 4096));
	memset(f->buf[idx], 0x5a, ALIGN_UP(size, 4096));
	if (mmap) {
		f->region[idx].nareas = 1;
		f->region[idx].area[0] = (struct vfio_pci_area){ 0, size, f->buf[idx] };
	}
}

static void build(struct fdev *f, const uint8_t *h)
{
	uint8_t *c = f->cfg;
	unsigned nvec = h[2] + 1u, mmc = (h[0] >> 2) & 7;
	bool msix_bar2 = h[1] & 4;

	f->cfg_size = (h[0] & 0x40) ? 256 : 4096;
	put_le16(c, 0x8086);
	put_le16(c + 2, 0x10d3);
	put_le16(c + 6, 0x0010);
	put_le32(c + 8, 0x02000000);
	c[0x0e] = 0x80;
	put_le32(c + 0x10, 0xfe00000c);		/* mem64 prefetch 64 KiB */
	put_le32(c + 0x18, 0xfd000000);		/* mem32 4 KiB */
	put_le32(c + 0x1c, 0x0001);		/* I/O 256 */
	put_le32(c + 0x20, 0xfd100000);		/* mem32 2 KiB (sub-page) */
	c[0x34] = 0x40;
	c[0x3d] = 1;
	c[0x40] = 0x05, c[0x41] = 0x70;		/* MSI */
	put_le16(c + 0x42, (uint16_t)((mmc << 1) | (h[0] & 2 ? 0x80 : 0) | (h[0] & 1 ? 0x100 : 0)));
	c[0x70] = 0x11, c[0x71] = 0x80;		/* MSI-X */
	put_le16(c + 0x72, (uint16_t)(nvec - 1));
	put_le32(c + 0x74, msix_bar2 ? 0x0002 : 0x8000);
	put_le32(c + 0x78, msix_bar2 ? 0x0802 : 0xc000);
	c[0x80] = 0x10, c[0x81] = 0x00;		/* PCIe v2 */
	put_le16(c + 0x82, (uint16_t)(2 | (h[1] & 8 ? 0x10 : 0)));
	put_le32(c + 0x8c, 0x00437c12);
	put_le32(c + 0x100, 0x14010010);	/* SR-IOV -> 0x140 */
	put_le32(c + 0x140, 0x18020001);	/* AER -> 0x180 */
	put_le32(c + 0x180, 0x00010015);	/* REBAR, end */
	region(f, 0, 0x10000, true);
	region(f, 2, 0x1000, true);
	region(f, 3, 0x100, false);
	region(f, 4, 0x800, true);
	region(f, 6, 0x8000, false);
	f->buf[6][0] = 0x55, f->buf[6][1] = 0xaa, f->buf[6][2] = 8;
	put_le16(f->buf[6] + 0x18, 0x20);
	memcpy(f->buf[6] + 0x20, "PCIR", 4);
	put_le16(f->buf[6] + 0x24, 0x8086);
	put_le16(f->buf[6] + 0x26, 0x10d4);
	put_le16(f->buf[6] + 0x30, 8);
	f->buf[6][0x34] = h[3] & 3;		/* code type */
	f->buf[6][0x35] = h[3] & 4 ? 0x80 : 0;	/* last image or not */
	f->irq[0].count = 1;
	f->irq[1].count = 1u << MIN(mmc, 5u);
	f->irq[2].count = nvec;
	f->irq[2].resizable = h[0] & 0x20;
	f->fail_period = (h[1] >> 4) + 1;
	f->failing = h[0] & 0x80;
}

static void ecam_wr(struct io_bus *mmio, unsigned off, uint32_t v, unsigned size)
{
	io_bus_write_val(mmio, LAYOUT_ECAM_BASE + (DEVFN << 12) + off, v, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	struct io_bus pio, mmio;
	struct pci_bus *bus;
	struct fdev *f;
	struct fvm *vm;
	struct vfio_pci *v;
	struct vfio_pci_config pc = { "fuzz", VFIO_ROM_AUTO, NULL, 0 };
	uint8_t rom_file[3000];
	int r;

	if (size < 4)
		return 0;
	log_set_level(LOG_ERR);
	bus = calloc(1, sizeof(*bus));
	f = calloc(1, sizeof(*f));
	vm = calloc(1, sizeof(*vm));
	v = calloc(1, sizeof(*v));
	vm->intx_fd = -1;
	build(f, data);
	switch (data[1] & 3) {
	case 1: pc.rom = VFIO_ROM_OFF; break;
	case 2:
		memcpy(rom_file, f->buf[6], sizeof(rom_file));
		pc.rom = VFIO_ROM_FILE;
		pc.rom_image = rom_file;
		pc.rom_len = sizeof(rom_file);
		break;
	default: break;
	}
	io_bus_init(&pio, "pio");
	io_bus_init(&mmio, "mmio");
	pci_bus_init(bus, &pio, &mmio, LAYOUT_ECAM_BASE, (struct irq_line){ fuzz_irq_nop, NULL, 0 });
	r = vfio_pci_init(v, &pc,
			  (struct vfio_dev_ops){ d_cfg_read, d_cfg_write, d_cfg_size, d_region_info,
						 d_region_read, d_region_write, d_irq_info, d_set_irqs,
						 d_reset, NULL, f },
			  (struct vfio_vm_ops){ v_map, v_unmap, v_route_add, v_route_update, v_irqfd_del,
						v_intx, vm },
			  (struct vfio_efd_ops){ e_create, e_close, e_pending, vm });
	if (r == 0 && vfio_pci_add(v, bus, DEVFN) == 0) {
		/* As the machine: reset before the VM starts, then vm_started. */
		vm->dead = true;
		pci_bus_reset(bus);
		vm->dead = false;
		vfio_pci_vm_started(v);
		ecam_wr(&mmio, 0x10, (uint32_t)BAR0_GPA, 4);
		ecam_wr(&mmio, 0x14, 0, 4);
		ecam_wr(&mmio, 0x18, (uint32_t)BAR2_GPA, 4);
		ecam_wr(&mmio, 0x1c, IO_PORT, 4);
		ecam_wr(&mmio, 0x20, (uint32_t)BAR2_GPA + 0x1000, 4);
		ecam_wr(&mmio, 0x30, (uint32_t)ROM_GPA | 1, 4);
		ecam_wr(&mmio, 0x04, 0x7, 2);
		for (size_t i = 4; i + 8 <= size; i += 8) {
			const uint8_t *a = data + i;
			unsigned sz = sizes[a[1] & 3], addr = (unsigned)(a[2] | a[3] << 8);
			uint64_t val = get_le32(a + 4);

			if (a[1] & 0x80)
				val |= val << 32;
			switch (a[0] % 16) {
			case 0: (void)io_bus_read_val(&mmio, LAYOUT_ECAM_BASE + (DEVFN << 12) + addr % 4096, sz); break;
			case 2: (void)io_bus_read_val(&mmio, BAR0_GPA + addr % 0x10000, sz); break;
			case 3: io_bus_write_val(&mmio, BAR0_GPA + addr % 0x10000, val, sz); break;
			case 4: (void)io_bus_read_val(&mmio, BAR2_GPA + addr % 0x2000, sz); break;
			case 5: io_bus_write_val(&mmio, BAR2_GPA + addr % 0x2000, val, sz); break;
			case 6: (void)io_bus_read_val(&pio, IO_PORT + addr % 0x100, MIN(sz, 4u)); break;
			case 7: io_bus_write_val(&pio, IO_PORT + addr % 0x100, val, MIN(sz, 4u)); break;
			case 8: (void)io_bus_read_val(&mmio, ROM_GPA + addr % 0x8000, sz); break;
			case 9:
				vm_kill(vm);
				pci_bus_reset(bus);
				vm->dead = false;
				vfio_pci_vm_started(v);
				break;
			case 10:
				/* A new VM without a device reset. */
				vm_kill(vm);
				vm->dead = false;
				vfio_pci_vm_started(v);
				break;
			case 11:
				if (vm->open[val % NFD])
					vm->pending[val % NFD] = !vm->pending[val % NFD];
				break;
			case 12: f->failing = !f->failing; break;
			default:
				ecam_wr(&mmio, addr % 4096, (uint32_t)val, MIN(sz, 4u));
				break;
			}
		}
		vfio_pci_fini(v);
		if (vm->nopen || vm->nmap || vm->intx_fd >= 0)
			abort();
		for (unsigned i = 0; i < vm->nroute; i++)
			if (vm->route[i].live)
				abort();
	}
	io_bus_destroy(&pio);
	io_bus_destroy(&mmio);
	for (unsigned i = 0; i < VFIO_PCI_NREGIONS; i++)
		free(f->buf[i]);
	free(bus);
	free(f);
	free(vm);
	free(v);
	return 0;
}
