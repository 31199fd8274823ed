/* VFIO passthrough model: config-space emulation, BAR memory slots around
 * the MSI-X table, MSI/MSI-X/INTx routing, ROM, reset and backend errors,
 * against a fake device built from config spaces captured from QEMU
 * devices (tests/data/pci, see capture.py there) or built here; plus the
 * host side's sysfs checks and the command-line parser. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bus.h"
#include "dev/vfio_pci.h"
#include "log.h"
#include "machine/layout.h"
#include "machine/machine.h"
#include "machine/vfio_host.h"
#include "util.h"

#define SLOT		0x0c
#define DEVFN		(SLOT << 3)
#define PAGE		4096u

/* --- fake device ------------------------------------------------------------ */

struct set_call {
	int irq, act;
	unsigned start, count;
	int fds[64];
};

struct cfg_write {
	unsigned off, len;
	uint32_t val;
};

struct fake_dev {
	uint8_t cfg[4096];
	unsigned cfg_size;
	struct vfio_pci_region region[VFIO_PCI_NREGIONS];
	uint8_t *buf[VFIO_PCI_NREGIONS];	/* region contents */
	struct vfio_pci_irq_info irq[3];
	struct cfg_write cw[512];
	unsigned ncw;
	struct set_call set[128];
	unsigned nset;
	unsigned resets, region_reads, region_writes;
	int reset_ret;
	bool fail;				/* every op fails with -EIO */
	bool fail_set_irqs;
	uint64_t last_write_off;
	unsigned last_write_idx;
	uint32_t last_write_val;
};

static int f_cfg_read(void *ctx, unsigned off, void *buf, unsigned len)
{
	struct fake_dev *f = ctx;
	if (f->fail)
		return -EIO;
	if (off + len > f->cfg_size)
		return -EINVAL;
	memcpy(buf, f->cfg + off, len);
	return 0;
}

static int f_cfg_write(void *ctx, unsigned off, const void *buf, unsigned len)
{
	struct fake_dev *f = ctx;
	uint32_t v = 0;
	if (f->fail)
		return -EIO;
	if (off + len > f->cfg_size)
		return -EINVAL;
	memcpy(&v, buf, len);
	if (f->ncw < ARRAY_SIZE(f->cw))
		f->cw[f->ncw++] = (struct cfg_write){ off, len, v };
	memcpy(f->cfg + off, buf, len);
	return 0;
}

static int f_cfg_size(void *ctx)
{
	struct fake_dev *f = ctx;
	return (int)f->cfg_size;
}

static int f_region_info(void *ctx, unsigned idx, struct vfio_pci_region *out)
{
	struct fake_dev *f = ctx;
	*out = f->region[idx];
	return 0;
}

static int f_region_read(void *ctx, unsigned idx, uint64_t off, void *buf, size_t len)
{
	struct fake_dev *f = ctx;
	f->region_reads++;
	if (f->fail)
		return -EIO;
	if (!f->buf[idx] || off + len > f->region[idx].size)
		return -EINVAL;
	memcpy(buf, f->buf[idx] + off, len);
	return 0;
}

static int f_region_write(void *ctx, unsigned idx, uint64_t off, const void *buf, size_t len)
{
	struct fake_dev *f = ctx;
	uint32_t v = 0;
	f->region_writes++;
	if (f->fail)
		return -EIO;
	if (!f->buf[idx] || off + len > f->region[idx].size)
		return -EINVAL;
	memcpy(f->buf[idx] + off, buf, len);
	memcpy(&v, buf, MIN(len, 4));
	f->last_write_idx = idx;
	f->last_write_off = off;
	f->last_write_val = v;
	return 0;
}

static int f_irq_info(void *ctx, enum vfio_pci_irq irq, struct vfio_pci_irq_info *out)
{
	struct fake_dev *f = ctx;
	*out = f->irq[irq];
	return 0;
}

static int f_set_irqs(void *ctx, enum vfio_pci_irq irq, enum vfio_pci_irq_action act,
		      unsigned start, unsigned count, const int *fds)
{
	struct fake_dev *f = ctx;
	if (f->nset < ARRAY_SIZE(f->set)) {
		struct set_call *c = &f->set[f->nset++];
		*c = (struct set_call){ irq, act, start, count, { 0 } };
		for (unsigned i = 0; i < count && i < 64; i++)
			c->fds[i] = fds[i];
	}
	return f->fail || f->fail_set_irqs ? -EIO : 0;
}

static int f_reset(void *ctx)
{
	struct fake_dev *f = ctx;
	f->resets++;
	return f->fail ? -EIO : f->reset_ret;
}

static const char *f_reset_method(void *ctx)
{
	return "flr";
}

/* --- fake VM and eventfds ------------------------------------------------------- */

struct fake_map {
	uint64_t gpa, size;
	void *hva;
};

struct fake_route {
	int fd, gsi;
	uint64_t addr;
	uint32_t data;
	bool live;
};

struct fake_vm {
	bool dead;			/* no VM running */
	struct fake_map map[64];	/* live slots */
	unsigned nmap, map_calls, unmap_calls;
	struct fake_route route[256];
	unsigned nroute, route_adds, route_updates, irqfd_dels;
	int intx_fd, intx_resample;
	unsigned intx_gsi, intx_calls;
	/* eventfds */
	bool open[4096];
	bool pending[4096];
	int next_fd;
	unsigned nopen;
};

static int v_map(void *ctx, uint64_t gpa, uint64_t size, void *hva)
{
	struct fake_vm *vm = ctx;
	vm->map_calls++;
	if (vm->dead)
		return -ENODEV;
	if (vm->nmap == ARRAY_SIZE(vm->map))
		return -ENOSPC;
	vm->map[vm->nmap++] = (struct fake_map){ gpa, size, hva };
	return 0;
}

static int v_unmap(void *ctx, uint64_t gpa)
{
	struct fake_vm *vm = ctx;
	vm->unmap_calls++;
	if (vm->dead)
		return 0;
	for (unsigned i = 0; i < vm->nmap; i++) {
		if (vm->map[i].gpa == gpa) {
			vm->map[i] = vm->map[--vm->nmap];
			return 0;
		}
	}
	return -ENOENT;
}

static struct fake_route *find_route(struct fake_vm *vm, int gsi)
{
	for (unsigned i = 0; i < vm->nroute; i++)
		if (vm->route[i].live && vm->route[i].gsi == gsi)
			return &vm->route[i];
	return NULL;
}

static int v_route_add(void *ctx, int fd, uint64_t addr, uint32_t data)
{
	struct fake_vm *vm = ctx;
	if (vm->dead)
		return -ENODEV;
	if (vm->nroute == ARRAY_SIZE(vm->route))
		return -ENOSPC;
	vm->route_adds++;
	vm->route[vm->nroute] = (struct fake_route){ fd, 24 + (int)vm->nroute, addr, data, true };
	return vm->route[vm->nroute++].gsi;
}

static int v_route_update(void *ctx, int gsi, uint64_t addr, uint32_t data)
{
	struct fake_vm *vm = ctx;
	struct fake_route *r;
	if (vm->dead)
		return 0;
	vm->route_updates++;
	r = find_route(vm, gsi);
	if (!r)
		return -ENOENT;
	r->addr = addr;
	r->data = data;
	return 0;
}

static int v_irqfd_del(void *ctx, int fd, int gsi)
{
	struct fake_vm *vm = ctx;
	struct fake_route *r;
	if (vm->dead)
		return 0;
	vm->irqfd_dels++;
	if (gsi < 24) {
		if (vm->intx_fd == fd && vm->intx_gsi == (unsigned)gsi)
			vm->intx_fd = -1;
		return 0;
	}
	r = find_route(vm, gsi);
	if (!r || r->fd != fd)
		return -ENOENT;
	r->live = false;
	return 0;
}

static int v_intx(void *ctx, int fd, unsigned gsi, int resample)
{
	struct fake_vm *vm = ctx;
	if (vm->dead)
		return -ENODEV;
	vm->intx_calls++;
	vm->intx_fd = fd;
	vm->intx_gsi = gsi;
	vm->intx_resample = resample;
	return 0;
}

static int e_create(void *ctx)
{
	struct fake_vm *vm = ctx;
	int fd = 1000 + vm->next_fd++;
	if (fd >= 4096)
		return -EMFILE;
	vm->open[fd] = true;
	vm->nopen++;
	return fd;
}

static void e_close(void *ctx, int fd)
{
	struct fake_vm *vm = ctx;
	if (fd < 0 || fd >= 4096 || !vm->open[fd]) {
		test_fail(__FILE__, __LINE__, "close of eventfd %d that is not open", fd);
		return;
	}
	vm->open[fd] = false;
	vm->pending[fd] = false;
	vm->nopen--;
}

static bool e_pending(void *ctx, int fd)
{
	struct fake_vm *vm = ctx;
	return fd >= 0 && fd < 4096 && vm->pending[fd];
}

static unsigned live_routes(struct fake_vm *vm)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vm->nroute; i++)
		n += vm->route[i].live;
	return n;
}

/* The live route for eventfd @fd, or NULL. */
static struct fake_route *route_of(struct fake_vm *vm, int fd)
{
	for (unsigned i = 0; i < vm->nroute; i++)
		if (vm->route[i].live && vm->route[i].fd == fd)
			return &vm->route[i];
	return NULL;
}

/* --- environment --------------------------------------------------------------- */

struct env {
	struct io_bus pio, mmio;
	struct pci_bus bus;
	struct fake_dev dev;
	struct fake_vm vm;
	struct vfio_pci *v;
};

static void fake_irq_nop(void *ctx, unsigned gsi, int level)
{
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	io_bus_init(&e->pio, "pio");
	io_bus_init(&e->mmio, "mmio");
	CHECK_EQ(pci_bus_init(&e->bus, &e->pio, &e->mmio, LAYOUT_ECAM_BASE,
			      (struct irq_line){ fake_irq_nop, NULL, 0 }), 0);
	e->vm.intx_fd = -1;
	return e;
}

/* A region of @size bytes; memory ones are one mmap'ed area backed by a
 * page-aligned buffer. */
static void fake_region(struct fake_dev *f, unsigned idx, uint64_t size, bool mmap)
{
	uint64_t alloc = ALIGN_UP(size, PAGE);
	free(f->buf[idx]);
	f->region[idx] = (struct vfio_pci_region){ .size = size, .read = true, .write = idx != 6 };
	f->buf[idx] = aligned_alloc(PAGE, alloc);
	memset(f->buf[idx], 0, alloc);
	if (mmap) {
		f->region[idx].nareas = 1;
		f->region[idx].area[0] = (struct vfio_pci_area){ 0, size, f->buf[idx] };
	}
}

static const struct vfio_dev_ops dev_ops_tmpl = {
	f_cfg_read, f_cfg_write, f_cfg_size, f_region_info, f_region_read, f_region_write,
	f_irq_info, f_set_irqs, f_reset, f_reset_method, NULL,
};

static int env_init_model(struct env *e, enum vfio_rom_mode rom, const uint8_t *img, size_t len)
{
	struct vfio_dev_ops d = dev_ops_tmpl;
	struct vfio_vm_ops vm = { v_map, v_unmap, v_route_add, v_route_update, v_irqfd_del, v_intx, &e->vm };
	struct vfio_efd_ops ef = { e_create, e_close, e_pending, &e->vm };
	struct vfio_pci_config c = { "0000:00:03.0", rom, img, len };
	int r;

	d.ctx = &e->dev;
	e->v = calloc(1, sizeof(*e->v));
	r = vfio_pci_init(e->v, &c, d, vm, ef);
	if (r == 0)
		CHECK_EQ(vfio_pci_add(e->v, &e->bus, DEVFN), 0);
	return r;
}

/* Init, bus reset (as the machine does before every start), VM started. */
static void env_start(struct env *e, enum vfio_rom_mode rom, const uint8_t *img, size_t len)
{
	CHECK_EQ(env_init_model(e, rom, img, len), 0);
	pci_bus_reset(&e->bus);
	vfio_pci_vm_started(e->v);
}

static void env_free(struct env *e)
{
	if (e->v) {
		vfio_pci_fini(e->v);
		CHECK_EQ(e->vm.nopen, 0);	/* every eventfd closed */
		free(e->v);
	}
	for (unsigned i = 0; i < VFIO_PCI_NREGIONS; i++)
		free(e->dev.buf[i]);
	io_bus_destroy(&e->pio);
	io_bus_destroy(&e->mmio);
	free(e);
}

static uint32_t rd(struct env *e, unsigned off, unsigned size)
{
	return pci_cfg_read(&e->bus, DEVFN, off, size);
}

static void wr(struct env *e, unsigned off, unsigned size, uint32_t v)
{
	pci_cfg_write(&e->bus, DEVFN, off, size, v);
}

static unsigned find_cap(struct env *e, uint8_t id)
{
	unsigned off = rd(e, PCI_CAPABILITY_LIST, 1) & 0xfc;
	for (int n = 0; off >= 0x40 && n < 48; n++) {
		if (rd(e, off, 1) == id)
			return off;
		off = rd(e, off + 1, 1) & 0xfc;
	}
	return 0;
}

/* Raw capability of the fake device (the captured bytes). */
static unsigned raw_cap(const struct fake_dev *f, uint8_t id)
{
	unsigned off = f->cfg[PCI_CAPABILITY_LIST] & 0xfc;
	for (int n = 0; off >= 0x40 && n < 48; n++) {
		if (f->cfg[off] == id)
			return off;
		off = f->cfg[off + 1] & 0xfc;
	}
	return 0;
}

static const struct set_call *last_set(struct env *e)
{
	return e->dev.nset ? &e->dev.set[e->dev.nset - 1] : NULL;
}

/* --- captured devices -------------------------------------------------------------- */

static uint8_t *load_data(const char *name, size_t *len)
{
	char path[512];
	uint8_t *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pci/%s", POLYBOOT_TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f) {
		test_fail(__FILE__, __LINE__, "missing %s: the captured config spaces "
			  "(made by tests/data/pci/capture.py) must be in tests/data/pci", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

/*
 * Fake device NAME from NAME.config (256 or 4096 bytes) and NAME.resource
 * (sysfs: "start end flags" for BAR0-5, then the ROM); memory BARs are
 * mmap'able, I/O BARs not. Interrupt counts follow the capabilities.
 */
static bool load_capture(struct fake_dev *f, const char *name)
{
	char fn[64];
	size_t len;
	uint8_t *cfg, *res;
	char *line;
	unsigned cap;

	snprintf(fn, sizeof(fn), "%s.config", name);
	cfg = load_data(fn, &len);
	if (!cfg)
		return false;
	CHECK(len == 256 || len == 4096);
	f->cfg_size = len >= 4096 ? 4096 : 256;
	memcpy(f->cfg, cfg, MIN(len, sizeof(f->cfg)));
	free(cfg);
	snprintf(fn, sizeof(fn), "%s.resource", name);
	res = load_data(fn, &len);
	if (!res)
		return false;
	line = (char *)res;
	for (unsigned i = 0; i < VFIO_PCI_NREGIONS && line && *line; i++) {
		unsigned long long s, en, fl;
		if (sscanf(line, "%llx %llx %llx", &s, &en, &fl) != 3) {
			test_fail(__FILE__, __LINE__, "%s: bad line %u", fn, i);
			break;
		}
		if (en > s)
			fake_region(f, i, en - s + 1, i < 6 && (fl & 0x200));
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	free(res);
	f->irq[VFIO_PCI_IRQ_INTX].count = f->cfg[PCI_INTERRUPT_PIN] ? 1 : 0;
	if ((cap = raw_cap(f, PCI_CAP_ID_MSI)))
		f->irq[VFIO_PCI_IRQ_MSI].count = 1u << ((f->cfg[cap + 2] >> 1) & 7);
	if ((cap = raw_cap(f, PCI_CAP_ID_MSIX)))
		f->irq[VFIO_PCI_IRQ_MSIX].count = (get_le16(f->cfg + cap + 2) & 0x7ff) + 1;
	return true;
}

/* Every map is page aligned, inside [base, base+size) and off the MSI-X
 * table and PBA pages; together with those pages the maps cover the BAR. */
static void check_split(struct env *e, unsigned bar, uint64_t base, uint64_t size)
{
	const struct vfio_pci *v = e->v;
	uint64_t tab_s = v->msix_table_off & ~(PAGE - 1ULL),
		 tab_e = ALIGN_UP(v->msix_table_off + 16ULL * v->msix_nvec, PAGE);
	uint64_t pba_s = v->msix_pba_off & ~(PAGE - 1ULL),
		 pba_e = ALIGN_UP(v->msix_pba_off + 8ULL * ((v->msix_nvec + 63) / 64), PAGE);

	for (uint64_t p = 0; p < size; p += PAGE) {
		bool excl = (v->msix_table_bar == bar && p >= tab_s && p < tab_e) ||
			    (v->msix_pba_bar == bar && p >= pba_s && p < pba_e);
		unsigned hits = 0;
		for (unsigned i = 0; i < e->vm.nmap; i++) {
			const struct fake_map *m = &e->vm.map[i];
			if (base + p >= m->gpa && base + p < m->gpa + m->size) {
				hits++;
				/* The slot's memory is the BAR's own page. */
				CHECK(m->hva == e->dev.buf[bar] + (m->gpa - base));
			}
		}
		if (hits != (excl ? 0u : 1u))
			test_fail(__FILE__, __LINE__, "BAR%u page %#llx: %u memory slots, want %u", bar,
				  (unsigned long long)p, hits, excl ? 0 : 1);
	}
	for (unsigned i = 0; i < e->vm.nmap; i++)
		CHECK((e->vm.map[i].gpa & (PAGE - 1)) == 0 && (e->vm.map[i].size & (PAGE - 1)) == 0);
}

static void msix_entry(struct env *e, uint64_t table, unsigned vec, uint64_t addr, uint32_t data,
		       uint32_t ctrl)
{
	io_bus_write_val(&e->mmio, table + 16 * vec, (uint32_t)addr, 4);
	io_bus_write_val(&e->mmio, table + 16 * vec + 4, (uint32_t)(addr >> 32), 4);
	io_bus_write_val(&e->mmio, table + 16 * vec + 8, data, 4);
	io_bus_write_val(&e->mmio, table + 16 * vec + 12, ctrl, 4);
}

TEST(vfio_nvme_capture_bars_msix)
{
	struct env *e = env_new();
	const uint64_t bar = 0x800000000ULL;
	uint64_t table, pba;
	unsigned cap, nset, mcap;
	const struct set_call *c;
	struct fake_route *r;

	if (!load_capture(&e->dev, "nvme")) {
		env_free(e);
		return;
	}
	mcap = raw_cap(&e->dev, PCI_CAP_ID_MSIX);
	CHECK(mcap != 0);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(rd(e, PCI_VENDOR_ID, 4), 0x00101b36);
	CHECK_EQ(rd(e, PCI_HEADER_TYPE, 1) & 0x80, 0);
	/* Host addresses hidden: BAR0 is a bare 64-bit memory BAR. */
	CHECK_EQ(rd(e, 0x10, 4), 0x4);
	CHECK_EQ(rd(e, 0x14, 4), 0);
	CHECK_EQ(rd(e, PCI_ROM_ADDRESS, 4), 0);
	/* Sizing. */
	wr(e, 0x10, 4, 0xffffffff);
	wr(e, 0x14, 4, 0xffffffff);
	CHECK_EQ(rd(e, 0x10, 4), (uint32_t)~(e->dev.region[0].size - 1) | 0x4);
	CHECK_EQ(rd(e, 0x14, 4), 0xffffffff);
	/* MSI-X capability: the device's table size, not enabled. */
	cap = find_cap(e, PCI_CAP_ID_MSIX);
	CHECK_EQ(cap, mcap);
	CHECK_EQ(rd(e, cap + 2, 2), get_le16(e->dev.cfg + mcap + 2) & 0x7ff);
	CHECK_EQ(e->v->msix_nvec, (get_le16(e->dev.cfg + mcap + 2) & 0x7ff) + 1);
	table = bar + e->v->msix_table_off;
	pba = bar + e->v->msix_pba_off;

	/* Decode on: memory slots around the MSI-X table and PBA pages. */
	wr(e, 0x10, 4, (uint32_t)bar);
	wr(e, 0x14, 4, (uint32_t)(bar >> 32));
	CHECK_EQ(e->vm.nmap, 0);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK(e->vm.nmap >= 1);
	check_split(e, 0, bar, e->dev.region[0].size);
	/* The command register reached the device (bus master for DMA). */
	CHECK_EQ(get_le16(e->dev.cfg + PCI_COMMAND) & 0x6, 0x6);
	CHECK_EQ(rd(e, PCI_COMMAND, 2) & 0x7, 0x6);

	/* The table is emulated: vectors start masked, entries read back. */
	CHECK_EQ(io_bus_read_val(&e->mmio, table + 12, 4), 1);
	msix_entry(e, table, 0, 0xfee00000, 0x4041, 1);
	CHECK_EQ(io_bus_read_val(&e->mmio, table, 8), 0xfee00000);
	CHECK_EQ(io_bus_read_val(&e->mmio, table + 8, 4), 0x4041);
	CHECK_EQ(io_bus_read_val(&e->mmio, pba, 8), 0);
	CHECK_EQ(e->dev.region_writes, 0);	/* none reached the device */
	/* Other trapped parts of the BAR go to the device. */
	put_le32(e->dev.buf[0] + 0x1c, 0x12345678);
	CHECK_EQ(io_bus_read_val(&e->mmio, bar + 0x1c, 4), 0x12345678);
	io_bus_write_val(&e->mmio, bar + 0x14, 0x460001, 4);
	CHECK_EQ(e->dev.last_write_off, 0x14);
	CHECK_EQ(e->dev.last_write_val, 0x460001);

	/* Enable: INTx off, vector 0 handed over, nothing routed (masked). */
	nset = e->dev.nset;
	wr(e, cap + 2, 2, 0x8000);
	CHECK_EQ(rd(e, cap + 2, 2) & 0xc000, 0x8000);
	CHECK(e->dev.nset >= nset + 2);
	CHECK_EQ(e->dev.set[nset].irq, VFIO_PCI_IRQ_INTX);
	CHECK_EQ(e->dev.set[nset].count, 0);
	c = last_set(e);
	CHECK_EQ(c->irq, VFIO_PCI_IRQ_MSIX);
	CHECK_EQ(c->start, 0);
	CHECK_EQ(c->count, 1);
	CHECK_EQ(c->fds[0], e->v->msix[0].efd);
	CHECK_EQ(live_routes(&e->vm), 0);
	CHECK_EQ(e->vm.intx_fd, -1);

	/* Unmask vector 0: routed with the guest's address and data. */
	io_bus_write_val(&e->mmio, table + 12, 0, 4);
	r = route_of(&e->vm, e->v->msix[0].efd);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ(r->addr, 0xfee00000);
		CHECK_EQ(r->data, 0x4041);
	}
	/* Vector 3: the device gets more vectors (all of 0-3, the kernel
	 * cannot grow them in place here), then the route. */
	nset = e->dev.nset;
	msix_entry(e, table, 3, 0xfee01000, 0x4043, 0);
	CHECK_EQ(e->dev.nset, nset + 2);
	CHECK_EQ(e->dev.set[nset].count, 0);		/* disable */
	CHECK_EQ(e->dev.set[nset + 1].count, 4);	/* enable with 4 */
	CHECK_EQ(e->dev.set[nset + 1].fds[3], e->v->msix[3].efd);
	CHECK_EQ(e->dev.set[nset + 1].fds[0], e->v->msix[0].efd);
	r = route_of(&e->vm, e->v->msix[3].efd);
	CHECK(r && r->addr == 0xfee01000 && r->data == 0x4043);
	/* Data rewritten while unmasked: the route follows. */
	io_bus_write_val(&e->mmio, table + 3 * 16 + 8, 0x4044, 4);
	r = route_of(&e->vm, e->v->msix[3].efd);
	CHECK(r && r->data == 0x4044);
	/* Masked: no route; the device's event waits in the eventfd and
	 * shows in the PBA; unmasking routes it again. */
	io_bus_write_val(&e->mmio, table + 3 * 16 + 12, 1, 4);
	CHECK(route_of(&e->vm, e->v->msix[3].efd) == NULL);
	e->vm.pending[e->v->msix[3].efd] = true;
	CHECK_EQ(io_bus_read_val(&e->mmio, pba, 4), 1u << 3);
	io_bus_write_val(&e->mmio, table + 3 * 16 + 12, 0, 4);
	CHECK(route_of(&e->vm, e->v->msix[3].efd) != NULL);
	CHECK_EQ(live_routes(&e->vm), 2);
	/* Function mask holds everything, clearing it routes again. */
	wr(e, cap + 2, 2, 0xc000);
	CHECK_EQ(live_routes(&e->vm), 0);
	wr(e, cap + 2, 2, 0x8000);
	CHECK_EQ(live_routes(&e->vm), 2);
	/* Disable: routes gone, eventfds closed, INTx back. */
	wr(e, cap + 2, 2, 0);
	CHECK_EQ(live_routes(&e->vm), 0);
	c = &e->dev.set[e->dev.nset - 2];
	CHECK_EQ(c->irq, VFIO_PCI_IRQ_INTX);
	CHECK_EQ(c->count, 1);
	CHECK_EQ(last_set(e)->act, VFIO_PCI_ACT_UNMASK);
	CHECK_EQ(e->vm.nopen, 2);		/* INTx trigger + resample */
	CHECK(e->vm.intx_fd >= 0);

	/* Decode off: every memory slot unmapped. */
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	CHECK_EQ(e->vm.nmap, 0);
	env_free(e);
}

TEST(vfio_msix_resizable_grows_in_place)
{
	struct env *e = env_new();
	const uint64_t bar = 0xc0000000;
	unsigned cap, nset;

	if (!load_capture(&e->dev, "nvme")) {
		env_free(e);
		return;
	}
	e->dev.irq[VFIO_PCI_IRQ_MSIX].resizable = true;
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	cap = find_cap(e, PCI_CAP_ID_MSIX);
	wr(e, 0x10, 4, (uint32_t)bar);
	wr(e, 0x14, 4, 0);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	wr(e, cap + 2, 2, 0x8000);
	CHECK_EQ(e->v->msix_count, 1);
	nset = e->dev.nset;
	msix_entry(e, bar + e->v->msix_table_off, 9, 0xfee00000, 0x30, 0);
	/* One call adding vectors 1..9, vector 0 left alone. */
	CHECK_EQ(e->dev.nset, nset + 1);
	CHECK_EQ(e->dev.set[nset].start, 1);
	CHECK_EQ(e->dev.set[nset].count, 9);
	CHECK_EQ(e->v->msix_count, 10);
	CHECK_EQ(live_routes(&e->vm), 1);
	env_free(e);
}

TEST(vfio_e1000e_capture_io_bar_msi_pcie)
{
	struct env *e = env_new();
	unsigned msi, exp, xcap;
	const struct set_call *c;

	if (!load_capture(&e->dev, "e1000e")) {
		env_free(e);
		return;
	}
	exp = raw_cap(&e->dev, PCI_CAP_ID_EXP);
	CHECK(exp != 0);
	/* As a plain endpoint behind a root port, with a link. */
	e->dev.cfg[exp + 2] &= 0x0f;
	put_le32(e->dev.cfg + exp + 0x0c, 0x00437c11);
	put_le16(e->dev.cfg + exp + 0x12, 0x1011);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(rd(e, PCI_VENDOR_ID, 4), 0x10d38086);
	/* mem32 and I/O BAR sizing. */
	CHECK_EQ(rd(e, 0x10, 4), 0);
	wr(e, 0x10, 4, 0xffffffff);
	CHECK_EQ(rd(e, 0x10, 4), (uint32_t)~(e->dev.region[0].size - 1));
	CHECK_EQ(rd(e, 0x18, 4), 1);
	wr(e, 0x18, 4, 0xffffffff);
	CHECK_EQ(rd(e, 0x18, 4), (uint32_t)~(e->dev.region[2].size - 1) | 1);
	/* The I/O BAR is trapped to the device. */
	wr(e, 0x18, 4, 0x6000);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO);
	io_bus_write_val(&e->pio, 0x6004, 0xabcd, 4);
	CHECK_EQ(e->dev.last_write_idx, 2);
	CHECK_EQ(e->dev.last_write_off, 4);
	CHECK_EQ(e->dev.last_write_val, 0xabcd);
	CHECK_EQ(io_bus_read_val(&e->pio, 0x6004, 4), 0xabcd);
	CHECK_EQ(e->vm.nmap, 0);		/* I/O never becomes a slot */
	/* MSI-X in BAR3: the table page and the PBA page stay trapped. */
	wr(e, 0x1c, 4, 0xc1000000);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(e->v->msix_table_bar, 3);
	check_split(e, 3, 0xc1000000, e->dev.region[3].size);

	/* PCIe: integrated endpoint on our root bus, no link. */
	CHECK_EQ(find_cap(e, PCI_CAP_ID_EXP), exp);
	CHECK_EQ((rd(e, exp + 2, 2) >> 4) & 0xf, 0x9);
	CHECK_EQ(rd(e, exp + 2, 2) & 0xf, e->dev.cfg[exp + 2] & 0xf);	/* version kept */
	CHECK_EQ(rd(e, exp + 0x0c, 4), 0);
	CHECK_EQ(rd(e, exp + 0x10, 4), 0);
	CHECK_EQ(rd(e, exp + 4, 4), get_le32(e->dev.cfg + exp + 4));	/* DevCap passes */

	/* MSI with the device's one vector. */
	msi = find_cap(e, PCI_CAP_ID_MSI);
	CHECK(msi != 0);
	CHECK_EQ(rd(e, msi + 2, 2) & 0x81, 0x80);	/* 64-bit, disabled */
	wr(e, msi + 4, 4, 0xfee00000);
	wr(e, msi + 8, 4, 0);
	wr(e, msi + 12, 2, 0x4051);
	CHECK_EQ(rd(e, msi + 12, 2), 0x4051);
	wr(e, msi + 2, 2, 1);
	c = last_set(e);
	CHECK_EQ(c->irq, VFIO_PCI_IRQ_MSI);
	CHECK_EQ(c->count, 1);
	CHECK_EQ(live_routes(&e->vm), 1);
	CHECK(route_of(&e->vm, c->fds[0]) && route_of(&e->vm, c->fds[0])->data == 0x4051);
	CHECK_EQ(e->vm.intx_fd, -1);		/* INTx went off first */
	/* Retargeted while enabled. */
	wr(e, msi + 4, 4, 0xfee02000);
	CHECK(route_of(&e->vm, c->fds[0]) && route_of(&e->vm, c->fds[0])->addr == 0xfee02000);
	/* MSI-X cannot be enabled meanwhile. */
	xcap = find_cap(e, PCI_CAP_ID_MSIX);
	wr(e, xcap + 2, 2, 0x8000);
	CHECK_EQ(last_set(e)->irq, VFIO_PCI_IRQ_MSI);
	wr(e, xcap + 2, 2, 0);
	wr(e, msi + 2, 2, 0);
	CHECK_EQ(live_routes(&e->vm), 0);
	CHECK(e->vm.intx_fd >= 0);
	env_free(e);
}

TEST(vfio_msi_multiple_messages)
{
	struct env *e = env_new();
	unsigned msi;
	const struct set_call *c;

	if (!load_capture(&e->dev, "e1000e")) {
		env_free(e);
		return;
	}
	/* The same function advertising 4 messages (MMC = 2). */
	msi = raw_cap(&e->dev, PCI_CAP_ID_MSI);
	e->dev.cfg[msi + 2] = (uint8_t)((e->dev.cfg[msi + 2] & ~0x0e) | 2 << 1);
	e->dev.irq[VFIO_PCI_IRQ_MSI].count = 4;
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(rd(e, msi + 2, 2) & 0x0e, 4);
	wr(e, msi + 4, 4, 0xfee00000);
	wr(e, msi + 12, 2, 0x4060);
	wr(e, msi + 2, 2, 2 << 4 | 1);		/* MME = 2: 4 vectors */
	c = last_set(e);
	CHECK_EQ(c->irq, VFIO_PCI_IRQ_MSI);
	CHECK_EQ(c->count, 4);
	CHECK_EQ(live_routes(&e->vm), 4);
	for (unsigned i = 0; i < 4; i++) {
		struct fake_route *r = route_of(&e->vm, c->fds[i]);
		CHECK(r && r->data == (0x4060u | i) && r->addr == 0xfee00000);
	}
	/* MME beyond what the device has is clamped. */
	wr(e, msi + 2, 2, 0);
	wr(e, msi + 2, 2, 5 << 4 | 1);
	CHECK_EQ(last_set(e)->count, 4);
	wr(e, msi + 2, 2, 0);
	env_free(e);
}

TEST(vfio_vga_capture_rom_and_prefetch_bar)
{
	struct env *e = env_new();
	size_t rlen;
	uint8_t *rom = load_data("vga.rom", &rlen);
	uint8_t sum = 0;
	bool same = true;

	if (!rom || !load_capture(&e->dev, "vga")) {
		free(rom);
		env_free(e);
		return;
	}
	CHECK(e->dev.region[VFIO_PCI_ROM].size >= rlen);
	memcpy(e->dev.buf[VFIO_PCI_ROM], rom, rlen);
	/* The ROM names a sibling device: the model patches it back. */
	{
		unsigned pcir = get_le16(rom + 0x18);
		CHECK(!memcmp(rom + pcir, "PCIR", 4));
		CHECK_EQ(get_le16(rom + pcir + 6), 0x1111);
		put_le16(e->dev.buf[VFIO_PCI_ROM] + pcir + 6, 0x1112);
	}
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(rd(e, PCI_VENDOR_ID, 4), 0x11111234);
	/* Prefetchable 32-bit framebuffer BAR. */
	CHECK_EQ(rd(e, 0x10, 4), 0x8);
	wr(e, 0x10, 4, 0xffffffff);
	CHECK_EQ(rd(e, 0x10, 4), (uint32_t)~(e->dev.region[0].size - 1) | 0x8);
	/* ROM BAR sizing as OVMF does it. */
	CHECK_EQ(rd(e, PCI_ROM_ADDRESS, 4), 0);
	wr(e, PCI_ROM_ADDRESS, 4, 0xfffffffe);
	CHECK_EQ(rd(e, PCI_ROM_ADDRESS, 4), (uint32_t)~(e->dev.region[VFIO_PCI_ROM].size - 1));
	/* Read lazily, on the first access. */
	CHECK_EQ(e->dev.region_reads, 0);
	wr(e, 0x10, 4, 0xc0000000);
	wr(e, 0x18, 4, 0xc2000000);
	wr(e, PCI_ROM_ADDRESS, 4, 0xc1000001);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK_EQ(e->vm.nmap, 2);	/* BAR0 and BAR2, whole */
	for (size_t i = 0; i < rlen; i += 4) {
		uint32_t w = (uint32_t)io_bus_read_val(&e->mmio, 0xc1000000 + i, 4);
		if (memcmp(&w, rom + i, MIN(4, rlen - i)))
			same = false;
		for (unsigned k = 0; k < 4 && i + k < rom[2] * 512u; k++)
			sum = (uint8_t)(sum + (w >> (8 * k)));
	}
	CHECK_EQ(e->dev.region_reads, 1);
	/* Device ID restored, checksum valid: the original image again. */
	CHECK(same);
	CHECK_EQ(sum, 0);
	/* Read-only. */
	io_bus_write_val(&e->mmio, 0xc1000000, 0, 4);
	CHECK_EQ(io_bus_read_val(&e->mmio, 0xc1000000, 2), 0xaa55);
	/* No interrupt pin: nothing for INTx. */
	CHECK_EQ(rd(e, PCI_INTERRUPT_PIN, 1), 0);
	CHECK_EQ(e->vm.intx_calls, 0);
	free(rom);
	env_free(e);
}

TEST(vfio_rom_off_and_file)
{
	struct env *e = env_new();
	uint8_t img[3000];

	if (!load_capture(&e->dev, "vga")) {
		env_free(e);
		return;
	}
	env_start(e, VFIO_ROM_OFF, NULL, 0);
	wr(e, PCI_ROM_ADDRESS, 4, 0xfffffffe);
	CHECK_EQ(rd(e, PCI_ROM_ADDRESS, 4), 0);
	vfio_pci_fini(e->v);
	free(e->v);
	e->v = NULL;
	env_free(e);

	/* rom=FILE: a legacy image naming the wrong device; 3000 bytes make a
	 * 4 KiB ROM BAR. */
	e = env_new();
	load_capture(&e->dev, "vga");
	memset(img, 0, sizeof(img));
	img[0] = 0x55, img[1] = 0xaa, img[2] = 4;	/* 2 KiB image */
	put_le16(img + 0x18, 0x40);
	memcpy(img + 0x40, "PCIR", 4);
	put_le16(img + 0x44, 0x1234);
	put_le16(img + 0x46, 0xbeef);
	put_le16(img + 0x50, 4);			/* image length */
	img[0x55] = 0x80;				/* last image */
	img[6] = 0x42;
	env_start(e, VFIO_ROM_FILE, img, sizeof(img));
	wr(e, PCI_ROM_ADDRESS, 4, 0xfffffffe);
	CHECK_EQ(rd(e, PCI_ROM_ADDRESS, 4), 0xfffff000);
	wr(e, PCI_ROM_ADDRESS, 4, 0xc2000001);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK_EQ(io_bus_read_val(&e->mmio, 0xc2000046, 2), 0x1111);
	{
		uint8_t s = 0;
		for (unsigned i = 0; i < 2048; i++)
			s = (uint8_t)(s + io_bus_read_val(&e->mmio, 0xc2000000 + i, 1));
		CHECK_EQ(s, 0);
	}
	CHECK_EQ(io_bus_read_val(&e->mmio, 0xc2000000 + 2999, 1), 0);
	CHECK_EQ(e->dev.region_reads, 0);	/* the device's ROM never read */
	env_free(e);
}

/* --- a synthetic PCIe function --------------------------------------------------- */

/*
 * 8086:1234, multifunction header, INTA. BAR0 mem64 prefetchable 64 KiB
 * with the MSI-X table (16 vectors) at 0x8000 and the PBA at 0xc000,
 * BAR2 mem32 4 KiB, BAR3 I/O 256, BAR4 mem32 2 KiB (below a page: trapped).
 * Caps: PM 0x40, MSI 64-bit with per-vector masks and 8 messages 0x50,
 * MSI-X 0x70, PCIe v2 endpoint with a link 0x80. Extended: SR-IOV 0x100,
 * AER 0x140, Resizable BAR 0x180, DSN 0x1c0.
 */
static void synth(struct fake_dev *f)
{
	uint8_t *c = f->cfg;

	memset(c, 0, sizeof(f->cfg));
	f->cfg_size = 4096;
	put_le16(c + 0, 0x8086);
	put_le16(c + 2, 0x1234);
	put_le16(c + PCI_COMMAND, 0x0406);
	put_le16(c + PCI_STATUS, PCI_STATUS_CAP_LIST);
	put_le32(c + 8, 0x02000001);
	c[PCI_LATENCY_TIMER] = 0x20;
	c[PCI_HEADER_TYPE] = 0x80;
	put_le32(c + 0x10, 0xfe00000c);		/* host address, mem64 prefetch */
	put_le32(c + 0x14, 0x1);
	put_le32(c + 0x18, 0xfd000000);
	put_le32(c + 0x1c, 0xe001);
	put_le32(c + 0x20, 0xfd100000);
	put_le32(c + PCI_ROM_ADDRESS, 0xfd200000);
	c[PCI_CAPABILITY_LIST] = 0x40;
	c[PCI_INTERRUPT_LINE] = 11;
	c[PCI_INTERRUPT_PIN] = 1;
	c[0x40] = PCI_CAP_ID_PM, c[0x41] = 0x50;
	put_le16(c + 0x42, 0x0003);
	put_le16(c + 0x44, 0x0008);
	c[0x50] = PCI_CAP_ID_MSI, c[0x51] = 0x70;
	put_le16(c + 0x52, 0x0186);		/* PVM, 64-bit, MMC 3 */
	c[0x70] = PCI_CAP_ID_MSIX, c[0x71] = 0x80;
	put_le16(c + 0x72, 0x000f);
	put_le32(c + 0x74, 0x8000);
	put_le32(c + 0x78, 0xc000);
	c[0x80] = PCI_CAP_ID_EXP, c[0x81] = 0;
	put_le16(c + 0x82, 0x0102);		/* v2, endpoint, slot bit */
	put_le32(c + 0x84, 0x10008fc0);		/* DevCap (FLR) */
	put_le32(c + 0x8c, 0x00437c12);
	put_le16(c + 0x90, 0x0040);
	put_le16(c + 0x92, 0x1012);
	put_le32(c + 0xa4, 0x0000081f);		/* DevCap2 */
	put_le32(c + 0xac, 0x0000001e);		/* LnkCap2 */
	put_le32(c + 0x100, 0x14010010);	/* SR-IOV -> 0x140 */
	put_le32(c + 0x140, 0x18020001);	/* AER -> 0x180 */
	put_le32(c + 0x148, 0x00462030);
	put_le32(c + 0x180, 0x1c010015);	/* REBAR -> 0x1c0 */
	put_le32(c + 0x1c0, 0x00010003);	/* DSN, end */
	put_le32(c + 0x1c4, 0xdeadbeef);
	fake_region(f, 0, 0x10000, true);
	fake_region(f, 2, 0x1000, true);
	fake_region(f, 3, 0x100, false);
	fake_region(f, 4, 0x800, true);
	f->irq[VFIO_PCI_IRQ_INTX].count = 1;
	f->irq[VFIO_PCI_IRQ_MSI].count = 8;
	f->irq[VFIO_PCI_IRQ_MSIX].count = 16;
}

TEST(vfio_synth_header_caps_pcie)
{
	struct env *e = env_new();

	synth(&e->dev);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(rd(e, PCI_HEADER_TYPE, 1), 0);		/* multifunction bit cleared */
	CHECK_EQ(rd(e, 0x10, 4), 0xc);
	CHECK_EQ(rd(e, 0x14, 4), 0);
	CHECK_EQ(rd(e, 0x18, 4), 0);
	CHECK_EQ(rd(e, 0x1c, 4), 1);
	CHECK_EQ(rd(e, 0x20, 4), 0);
	CHECK_EQ(rd(e, 0x24, 4), 0);
	CHECK_EQ(rd(e, PCI_ROM_ADDRESS, 4), 0);		/* the device has no ROM region */
	CHECK_EQ(rd(e, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(rd(e, PCI_INTERRUPT_LINE, 1), 0);
	/* Passthrough registers come from the device. */
	CHECK_EQ(rd(e, PCI_LATENCY_TIMER, 1), 0x20);
	CHECK_EQ(rd(e, PCI_REVISION_ID, 1), 1);
	/* Sizing of the 64-bit pair. */
	wr(e, 0x10, 4, 0xffffffff);
	wr(e, 0x14, 4, 0xffffffff);
	CHECK_EQ(rd(e, 0x10, 4), 0xffff000c);
	CHECK_EQ(rd(e, 0x14, 4), 0xffffffff);
	/* Capability chain intact. */
	CHECK_EQ(find_cap(e, PCI_CAP_ID_PM), 0x40);
	CHECK_EQ(find_cap(e, PCI_CAP_ID_MSI), 0x50);
	CHECK_EQ(find_cap(e, PCI_CAP_ID_MSIX), 0x70);
	CHECK_EQ(find_cap(e, PCI_CAP_ID_EXP), 0x80);
	/* PCIe: integrated endpoint, no slot, no link. */
	CHECK_EQ(rd(e, 0x82, 2), 0x0092);
	CHECK_EQ(rd(e, 0x84, 4), 0x10008fc0);
	CHECK_EQ(rd(e, 0x8c, 4), 0);
	CHECK_EQ(rd(e, 0x90, 2), 0);
	CHECK_EQ(rd(e, 0x92, 2), 0);
	CHECK_EQ(rd(e, 0xa4, 4), 0x81f);
	CHECK_EQ(rd(e, 0xac, 4), 0);
	wr(e, 0x90, 2, 0x3);				/* ASPM: not forwarded */
	CHECK_EQ(get_le16(e->dev.cfg + 0x90), 0x40);
	/* Extended: SR-IOV and Resizable BAR unlinked. */
	CHECK_EQ(rd(e, 0x100, 4), 0x14000000);		/* null capability -> AER */
	CHECK_EQ(rd(e, 0x140, 4), 0x1c020001);		/* AER -> DSN */
	CHECK_EQ(rd(e, 0x148, 4), 0x00462030);		/* AER body passes */
	CHECK_EQ(rd(e, 0x1c0, 4), 0x00010003);
	CHECK_EQ(rd(e, 0x1c4, 4), 0xdeadbeef);
	env_free(e);
}

TEST(vfio_synth_passthrough_writes)
{
	struct env *e = env_new();

	synth(&e->dev);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	e->dev.ncw = 0;
	/* An ordinary register reaches the device as written. */
	wr(e, 0x44, 2, 0x0003);				/* PMCSR: D3hot */
	CHECK_EQ(e->dev.ncw, 1);
	CHECK_EQ(e->dev.cw[0].off, 0x44);
	CHECK_EQ(e->dev.cw[0].len, 2);
	CHECK_EQ(e->dev.cw[0].val, 3);
	CHECK_EQ(rd(e, 0x44, 2), 3);
	/* A dword over cache line, latency, header type and BIST: the
	 * read-only header type byte is left out. */
	e->dev.ncw = 0;
	wr(e, 0x0c, 4, 0x00ff4010);
	CHECK_EQ(e->dev.ncw, 2);
	CHECK(e->dev.cw[0].off == 0x0c && e->dev.cw[0].len == 2 && e->dev.cw[0].val == 0x4010);
	CHECK(e->dev.cw[1].off == 0x0f && e->dev.cw[1].len == 1 && e->dev.cw[1].val == 0);
	/* BARs, the MSI capability, the interrupt line: never forwarded. */
	e->dev.ncw = 0;
	wr(e, 0x10, 4, 0xc0000000);
	wr(e, 0x54, 4, 0xfee00000);
	wr(e, PCI_INTERRUPT_LINE, 1, 10);
	CHECK_EQ(e->dev.ncw, 0);
	CHECK_EQ(rd(e, PCI_INTERRUPT_LINE, 1), 10);
	/* COMMAND: all of it goes to the device; memory and I/O read back
	 * from our image. */
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_IO);
	CHECK_EQ(e->dev.ncw, 1);
	CHECK_EQ(e->dev.cw[0].off, PCI_COMMAND);
	CHECK_EQ(e->dev.cw[0].val, PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_IO);
	put_le16(e->dev.cfg + PCI_COMMAND, 0x0406 | PCI_COMMAND_MEMORY);
	CHECK_EQ(rd(e, PCI_COMMAND, 2), 0x0405);
	env_free(e);
}

TEST(vfio_synth_split_and_subpage)
{
	struct env *e = env_new();

	synth(&e->dev);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	wr(e, 0x10, 4, 0x0);
	wr(e, 0x14, 4, 0x10);				/* 64 GiB */
	wr(e, 0x18, 4, 0xc0000000);
	wr(e, 0x20, 4, 0xc0001000);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* BAR0 in three pieces around the table (0x8000) and PBA (0xc000)
	 * pages, BAR2 whole, BAR4 (2 KiB) none. */
	CHECK_EQ(e->vm.nmap, 4);
	check_split(e, 0, 0x1000000000ULL, 0x10000);
	for (unsigned i = 0; i < e->vm.nmap; i++) {
		const struct fake_map *m = &e->vm.map[i];
		CHECK(m->gpa != 0xc0001000);
		if (m->gpa == 0x1000000000ULL)
			CHECK_EQ(m->size, 0x8000);
		if (m->gpa == 0x1000009000ULL)
			CHECK_EQ(m->size, 0x3000);
		if (m->gpa == 0x100000d000ULL)
			CHECK_EQ(m->size, 0x3000);
	}
	/* The sub-page BAR is served through the device. */
	put_le32(e->dev.buf[4] + 0x10, 0xcafe);
	CHECK_EQ(io_bus_read_val(&e->mmio, 0xc0001010, 4), 0xcafe);
	/* Moving a BAR while decoding moves its slots. */
	wr(e, 0x18, 4, 0xc0100000);
	CHECK_EQ(e->vm.nmap, 4);
	{
		bool found = false;
		for (unsigned i = 0; i < e->vm.nmap; i++)
			found |= e->vm.map[i].gpa == 0xc0100000;
		CHECK(found);
	}
	wr(e, PCI_COMMAND, 2, 0);
	CHECK_EQ(e->vm.nmap, 0);
	env_free(e);
}

TEST(vfio_synth_msi_per_vector_mask)
{
	struct env *e = env_new();
	const struct set_call *c;
	int fds[2];

	synth(&e->dev);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(rd(e, 0x52, 2), 0x0186);
	wr(e, 0x54, 4, 0xfee00000);
	wr(e, 0x58, 4, 0);
	wr(e, 0x5c, 2, 0x4070);
	wr(e, 0x60, 4, 0x2);				/* vector 1 masked */
	wr(e, 0x52, 2, 1 << 4 | 1);			/* 2 messages */
	c = last_set(e);
	CHECK_EQ(c->irq, VFIO_PCI_IRQ_MSI);
	CHECK_EQ(c->count, 2);
	fds[0] = c->fds[0];
	fds[1] = c->fds[1];
	CHECK_EQ(live_routes(&e->vm), 1);
	CHECK(route_of(&e->vm, fds[0]) && route_of(&e->vm, fds[0])->data == 0x4070);
	/* Pending bits: the masked vector's waiting event. */
	e->vm.pending[fds[1]] = true;
	CHECK_EQ(rd(e, 0x64, 4), 0x2);
	wr(e, 0x64, 4, 0);				/* read-only */
	CHECK_EQ(rd(e, 0x64, 4), 0x2);
	wr(e, 0x60, 4, 0);				/* unmask: routed */
	CHECK(route_of(&e->vm, fds[1]) && route_of(&e->vm, fds[1])->data == 0x4071);
	e->vm.pending[fds[1]] = false;
	CHECK_EQ(rd(e, 0x64, 4), 0);
	/* A different message count re-enables with new vectors. */
	wr(e, 0x52, 2, 3 << 4 | 1);
	CHECK_EQ(last_set(e)->count, 8);
	CHECK_EQ(live_routes(&e->vm), 8);
	wr(e, 0x52, 2, 0);
	CHECK_EQ(live_routes(&e->vm), 0);
	CHECK_EQ(rd(e, 0x52, 2), 0x0186);			/* MME written back to 0 */
	env_free(e);
}

TEST(vfio_synth_intx_vm_started_and_reset)
{
	struct env *e = env_new();
	unsigned gsi = layout_intx_gsi(SLOT, 0);
	int trig, res;
	unsigned cap = 0x70;

	synth(&e->dev);
	e->vm.dead = true;				/* as before the first start */
	CHECK_EQ(env_init_model(e, VFIO_ROM_AUTO, NULL, 0), 0);
	pci_bus_reset(&e->bus);
	CHECK_EQ(e->dev.resets, 1);
	/* INTx handed to the device: trigger and resample (unmask) eventfds. */
	CHECK_EQ(e->dev.nset, 2);
	CHECK(e->dev.set[0].irq == VFIO_PCI_IRQ_INTX && e->dev.set[0].act == VFIO_PCI_ACT_TRIGGER &&
	      e->dev.set[0].count == 1);
	CHECK(e->dev.set[1].irq == VFIO_PCI_IRQ_INTX && e->dev.set[1].act == VFIO_PCI_ACT_UNMASK &&
	      e->dev.set[1].count == 1);
	trig = e->dev.set[0].fds[0];
	res = e->dev.set[1].fds[0];
	CHECK_EQ(e->vm.intx_calls, 0);
	/* The VM runs: the irqfd with resample on the bus's GSI. */
	e->vm.dead = false;
	vfio_pci_vm_started(e->v);
	CHECK_EQ(e->vm.intx_calls, 1);
	CHECK_EQ(e->vm.intx_fd, trig);
	CHECK_EQ(e->vm.intx_resample, res);
	CHECK_EQ(e->vm.intx_gsi, gsi);

	/* Program things, then a guest reset: the VM is torn down first. */
	wr(e, 0x10, 4, 0xc0000000);
	wr(e, 0x14, 4, 0);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	wr(e, cap + 2, 2, 0x8000);
	io_bus_write_val(&e->mmio, 0xc0008000 + 12, 0, 4);
	CHECK_EQ(live_routes(&e->vm), 1);
	CHECK(e->vm.nmap > 0);
	e->vm.dead = true;
	e->dev.ncw = 0;
	e->dev.nset = 0;
	pci_bus_reset(&e->bus);
	CHECK_EQ(e->dev.resets, 2);
	/* MSI-X off on the device, the command register cleared before the
	 * reset, INTx back with fresh eventfds. */
	CHECK(e->dev.set[0].irq == VFIO_PCI_IRQ_MSIX && e->dev.set[0].count == 0);
	CHECK(e->dev.ncw >= 1 && e->dev.cw[0].off == PCI_COMMAND && e->dev.cw[0].val == 0);
	CHECK_EQ(last_set(e)->irq, VFIO_PCI_IRQ_INTX);
	CHECK_EQ(e->vm.nopen, 2);
	/* Emulated state as at power-on. */
	CHECK_EQ(rd(e, 0x10, 4), 0xc);
	CHECK_EQ(rd(e, PCI_COMMAND, 2) & 3, 0);
	CHECK_EQ(rd(e, cap + 2, 2), 0x000f);
	CHECK_EQ(e->v->msix[0].ctrl, 1);
	e->vm.nmap = 0;			/* the old VM's slots died with it */
	e->vm.dead = false;
	vfio_pci_vm_started(e->v);
	CHECK_EQ(e->vm.intx_calls, 2);
	CHECK(e->vm.intx_fd != trig);
	CHECK_EQ(e->vm.intx_fd, e->dev.set[e->dev.nset - 2].fds[0]);
	CHECK_EQ(e->vm.intx_gsi, gsi);
	CHECK_EQ(live_routes(&e->vm), 1);		/* only the old VM's */
	env_free(e);
}

static char logged[16][256];
static unsigned nlogged;

static void log_capture(void *ctx, enum log_level level, const char *line)
{
	if (nlogged < 16)
		snprintf(logged[nlogged], sizeof(logged[0]), "%s", line);
	nlogged++;
}

static unsigned log_count(const char *needle)
{
	unsigned n = 0;
	for (unsigned i = 0; i < MIN(nlogged, 16u); i++)
		n += strstr(logged[i], needle) != NULL;
	return n;
}

TEST(vfio_reset_methods_logged)
{
	struct env *e = env_new();

	synth(&e->dev);
	nlogged = 0;
	log_set_sink(log_capture, NULL);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	CHECK_EQ(log_count("reset (flr)"), 1);
	e->dev.reset_ret = -ENOTTY;
	nlogged = 0;
	pci_bus_reset(&e->bus);
	pci_bus_reset(&e->bus);
	CHECK_EQ(log_count("no reset method"), 1);	/* said once */
	log_set_sink(NULL, NULL);
	env_free(e);
}

TEST(vfio_backend_errors)
{
	struct env *e = env_new();
	unsigned nset;

	synth(&e->dev);
	log_set_level(LOG_ERR);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	wr(e, 0x18, 4, 0xc0000000);
	wr(e, 0x1c, 4, 0x7000);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	e->dev.fail = true;
	/* Passthrough reads: all-ones; emulated ones still answer. */
	CHECK_EQ(rd(e, PCI_VENDOR_ID, 2), 0xffff);
	CHECK_EQ(rd(e, 0x44, 4), 0xffffffff);
	CHECK_EQ(rd(e, 0x18, 4), 0xc0000000);
	/* Trapped BAR accesses: all-ones, writes dropped. */
	CHECK_EQ(io_bus_read_val(&e->pio, 0x7000, 4), 0xffffffff);
	io_bus_write_val(&e->pio, 0x7000, 1, 4);
	wr(e, 0x44, 2, 3);
	/* Interrupt setup failing: nothing routed, nothing leaked. */
	nset = e->dev.nset;
	wr(e, 0x72, 2, 0x8000);
	CHECK(e->dev.nset > nset);
	CHECK_EQ(live_routes(&e->vm), 0);
	CHECK_EQ(e->v->msix_count, 0);
	wr(e, 0x52, 2, 1);
	CHECK_EQ(e->v->msi_nvec, 0);
	pci_bus_reset(&e->bus);
	e->dev.fail = false;
	e->dev.fail_set_irqs = true;
	pci_bus_reset(&e->bus);
	CHECK_EQ(e->vm.nopen, 0);
	wr(e, 0x52, 2, 1);
	CHECK_EQ(e->vm.nopen, 0);
	e->dev.fail_set_irqs = false;
	/* Unaligned and odd-sized table accesses are refused. */
	wr(e, 0x10, 4, 0xc1000000);
	wr(e, 0x14, 4, 0);
	wr(e, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK_EQ(io_bus_read_val(&e->mmio, 0xc1008002, 2), 0xffff);
	io_bus_write_val(&e->mmio, 0xc1008001, 0, 1);
	CHECK_EQ(io_bus_read_val(&e->mmio, 0xc1008000 + 12, 4), 1);
	log_set_level(LOG_INFO);
	env_free(e);

	/* A device that does not answer, or is a bridge, is refused. */
	e = env_new();
	synth(&e->dev);
	memset(e->dev.cfg, 0xff, 4);
	CHECK_EQ(env_init_model(e, VFIO_ROM_AUTO, NULL, 0), -ENODEV);
	free(e->v);
	e->v = NULL;
	synth(&e->dev);
	e->dev.cfg[PCI_HEADER_TYPE] = 0x01;
	CHECK_EQ(env_init_model(e, VFIO_ROM_AUTO, NULL, 0), -ENOTSUP);
	free(e->v);
	e->v = NULL;
	synth(&e->dev);
	e->dev.fail = true;
	CHECK_EQ(env_init_model(e, VFIO_ROM_AUTO, NULL, 0), -EIO);
	free(e->v);
	e->v = NULL;
	env_free(e);
}

TEST(vfio_msix_outside_bar_hidden)
{
	struct env *e = env_new();

	synth(&e->dev);
	put_le32(e->dev.cfg + 0x74, 0x20000 | 0);	/* table past BAR0's end */
	log_set_level(LOG_ERR);
	env_start(e, VFIO_ROM_AUTO, NULL, 0);
	log_set_level(LOG_INFO);
	CHECK_EQ(find_cap(e, PCI_CAP_ID_MSIX), 0);
	CHECK_EQ(find_cap(e, PCI_CAP_ID_MSI), 0x50);
	CHECK_EQ(rd(e, 0x51, 1), 0x80);			/* MSI now links to PCIe */
	CHECK_EQ(find_cap(e, PCI_CAP_ID_EXP), 0x80);
	env_free(e);
}

/* --- host side: sysfs checks, BDF and --device parsing --------------------------------- */

static void mk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mk(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	test_shf("%s", cmd);
}

TEST(vfio_host_sysfs_checks)
{
	const char *t = test_tmpdir();
	char why[512], members[512];
	int group = -1;

	mk("mkdir -p sys/bus/pci/devices/0000:00:03.0 sys/bus/pci/devices/0000:00:04.0 "
	   "sys/bus/pci/devices/0000:00:05.0 sys/bus/pci/drivers/vfio-pci sys/bus/pci/drivers/nvme "
	   "sys/kernel/iommu_groups/5/devices");
	mk("ln -s ../../drivers/nvme sys/bus/pci/devices/0000:00:03.0/driver");
	mk("ln -s ../../drivers/vfio-pci sys/bus/pci/devices/0000:00:04.0/driver");
	mk("ln -s ../../../kernel/iommu_groups/5 sys/bus/pci/devices/0000:00:04.0/iommu_group");
	mk("ln -s ../../drivers/vfio-pci sys/bus/pci/devices/0000:00:05.0/driver");
	mk("ln -s ../../../../bus/pci/devices/0000:00:04.0 sys/kernel/iommu_groups/5/devices/0000:00:04.0");
	mk("ln -s ../../../../bus/pci/devices/0000:00:03.0 sys/kernel/iommu_groups/5/devices/0000:00:03.0");
	{
		char sys[300];
		snprintf(sys, sizeof(sys), "%s/sys", t);
		CHECK_EQ(vfio_host_check_sysfs(sys, "0000:00:09.0", &group, why, sizeof(why)), -ENOENT);
		CHECK(strstr(why, "no such PCI function") && strstr(why, "/bus/pci/devices/0000:00:09.0"));
		CHECK(vfio_host_check_sysfs(sys, "0000:00:03.0", &group, why, sizeof(why)) < 0);
		CHECK_STR(why, "not bound to vfio-pci (driver nvme): bind it first (polyboot does this)");
		CHECK(vfio_host_check_sysfs(sys, "0000:00:05.0", &group, why, sizeof(why)) < 0);
		CHECK(strstr(why, "no IOMMU group") && strstr(why, "0000:00:05.0/iommu_group"));
		CHECK_EQ(vfio_host_check_sysfs(sys, "0000:00:04.0", &group, why, sizeof(why)), 0);
		CHECK_EQ(group, 5);
		vfio_host_group_members(sys, 5, members, sizeof(members));
		CHECK_STR(members, "0000:00:03.0 (nvme), 0000:00:04.0 (vfio-pci)");
	}
}

TEST(vfio_bdf_and_device_option)
{
	char b[16], why[256];
	struct machine_vfio v;

	CHECK_EQ(vfio_parse_bdf("0000:01:00.0", b), 0);
	CHECK_STR(b, "0000:01:00.0");
	CHECK_EQ(vfio_parse_bdf("1A:1f.7", b), 0);
	CHECK_STR(b, "0000:1a:1f.7");
	CHECK_EQ(vfio_parse_bdf("10000:01:00.0", b), -EINVAL);
	CHECK_EQ(vfio_parse_bdf("01:20.0", b), -EINVAL);
	CHECK_EQ(vfio_parse_bdf("01:00.8", b), -EINVAL);
	CHECK_EQ(vfio_parse_bdf("01:00", b), -EINVAL);
	CHECK_EQ(vfio_parse_bdf("01:00.0x", b), -EINVAL);
	CHECK_EQ(vfio_parse_bdf("0:0:0:0.0", b), -EINVAL);
	CHECK_EQ(vfio_parse_bdf("", b), -EINVAL);

	CHECK_EQ(machine_vfio_parse("vfio=01:00.0", &v, why, sizeof(why)), 0);
	CHECK_STR(v.bdf, "0000:01:00.0");
	CHECK_EQ(v.rom, MVFIO_ROM_AUTO);
	CHECK_EQ(machine_vfio_parse("vfio=0000:02:00.1,rom=off", &v, why, sizeof(why)), 0);
	CHECK_EQ(v.rom, MVFIO_ROM_OFF);
	CHECK_EQ(machine_vfio_parse("vfio=02:00.0,rom=auto", &v, why, sizeof(why)), 0);
	CHECK_EQ(v.rom, MVFIO_ROM_AUTO);
	CHECK_EQ(machine_vfio_parse("vfio=02:00.0,rom=/esp/roms/gpu,v2.rom", &v, why, sizeof(why)), 0);
	CHECK_EQ(v.rom, MVFIO_ROM_FILE);
	CHECK_STR(v.rom_file, "/esp/roms/gpu,v2.rom");
	CHECK_EQ(machine_vfio_parse("vfio=02:00.0,rom=", &v, why, sizeof(why)), -EINVAL);
	CHECK_EQ(machine_vfio_parse("vfio=02:00.0,bar=1", &v, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "unknown option 'bar=1'"));
	CHECK_EQ(machine_vfio_parse("nvme=02:00.0", &v, why, sizeof(why)), -EINVAL);
	CHECK_EQ(machine_vfio_parse("vfio=xx", &v, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "want a PCI address"));
}
