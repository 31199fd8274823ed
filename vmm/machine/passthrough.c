/*
 * PCI passthrough wiring (--device vfio=BDF[,rom=auto|off|FILE]): one VFIO
 * container for the VM with all guest RAM mapped for DMA (iova = GPA; the
 * RAM mapping never moves, so once at start), each function opened
 * (machine/vfio_host.c), modelled (dev/vfio_pci.c) and put on bus 0 from
 * slot MACHINE_VFIO_SLOT0 on. The model's VM ops are KVM memory slots and
 * irqfds on the current VM; polyvmm creates a new KVM VM at every guest
 * reset, so they check m->vm_live under m->vm_lock, and after every start
 * the model registers its irqfds again (machine_passthrough_vm_started).
 *
 * 64-bit BARs: OVMF 2022.11 gives them a 32 GiB window unless fw_cfg
 * opt/ovmf/X-PciMmio64Mb asks for more (research note section 14.8); the
 * file is added when the devices' 64-bit BARs need it.
 */
#define LOG_MOD "vfio"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev/vfio_pci.h"
#include "log.h"
#include "machine/layout.h"
#include "machine/machine_priv.h"
#include "machine/vfio_host.h"
#include "util.h"

_Static_assert(MACHINE_VFIO_SLOT0 >= LAYOUT_DISK_SLOT0 + MACHINE_MAX_DISKS &&
	       MACHINE_VFIO_SLOT0 + MACHINE_MAX_VFIO <= (LAYOUT_LPC_DEVFN >> 3),
	       "passthrough slots collide with disks or the LPC bridge");

#define OVMF_MMIO64_DEFAULT	(32ULL << 30)	/* OVMF 2022.11's window without the knob */
#define MMIO64_HEADROOM		(1ULL << 30)	/* for the emulated devices' 64-bit BARs */
#define ROM_MAX			0x1000000ULL	/* largest ROM BAR (16 MiB) */

struct machine_vfio_dev {
	struct machine *m;
	struct vfio_host_dev host;
	bool host_open, model_init;
	struct vfio_pci pci;
};

/* --- command line ---------------------------------------------------------------- */

int machine_vfio_parse(const char *s, struct machine_vfio *out, char *why, size_t len)
{
	const char *p;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "vfio=", 5)) {
		set_why(why, len, "--device '%s': want vfio=0000:BB:DD.F[,rom=auto|off|FILE]", s);
		return -EINVAL;
	}
	s += 5;
	p = strchr(s, ',');
	{
		char bdf[32];
		size_t n = p ? (size_t)(p - s) : strlen(s);
		if (n >= sizeof(bdf) || (memcpy(bdf, s, n), bdf[n] = 0, vfio_parse_bdf(bdf, out->bdf) < 0)) {
			set_why(why, len, "--device vfio='%.*s': want a PCI address such as 0000:01:00.0",
				(int)MIN(n, 64), s);
			return -EINVAL;
		}
	}
	while (p) {
		s = p + 1;
		if (strncmp(s, "rom=", 4)) {
			set_why(why, len, "--device vfio=%s: unknown option '%s' (want rom=auto|off|FILE)",
				out->bdf, s);
			return -EINVAL;
		}
		s += 4;
		/* A file name may hold commas: rom= takes the rest. */
		p = NULL;
		if (!strcmp(s, "auto")) {
			out->rom = MVFIO_ROM_AUTO;
		} else if (!strcmp(s, "off")) {
			out->rom = MVFIO_ROM_OFF;
		} else if (!*s || strlen(s) >= sizeof(out->rom_file)) {
			set_why(why, len, "--device vfio=%s: rom= wants auto, off or a file name (under %zu bytes)",
				out->bdf, sizeof(out->rom_file));
			return -EINVAL;
		} else {
			out->rom = MVFIO_ROM_FILE;
			snprintf(out->rom_file, sizeof(out->rom_file), "%s", s);
		}
	}
	return 0;
}

/* --- the model's VM ops: KVM, only while a VM is running ---------------------------- */

static int vm_map(void *ctx, uint64_t gpa, uint64_t size, void *hva)
{
	struct machine *m = ctx;
	int r = -ENODEV;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_map(&m->vm, gpa, size, hva, false);
	pthread_rwlock_unlock(&m->vm_lock);
	return r < 0 ? r : 0;
}

static int vm_unmap(void *ctx, uint64_t gpa)
{
	struct machine *m = ctx;
	int r = 0;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)	/* a closed VM took its slots along */
		r = kvmvm_unmap(&m->vm, gpa);
	pthread_rwlock_unlock(&m->vm_lock);
	return r;
}

static int vm_route_add(void *ctx, int fd, uint64_t addr, uint32_t data)
{
	struct machine *m = ctx;
	int r = -ENODEV;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_irqfd_msi(&m->vm, fd, addr, data);
	pthread_rwlock_unlock(&m->vm_lock);
	return r;
}

static int vm_route_update(void *ctx, int gsi, uint64_t addr, uint32_t data)
{
	struct machine *m = ctx;
	int r = 0;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_msi_route_update(&m->vm, gsi, addr, data);
	pthread_rwlock_unlock(&m->vm_lock);
	return r;
}

static int vm_irqfd_del(void *ctx, int fd, int gsi)
{
	struct machine *m = ctx;
	int r = 0;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_irqfd_del(&m->vm, fd, gsi);
	pthread_rwlock_unlock(&m->vm_lock);
	return r;
}

static int vm_intx_irqfd(void *ctx, int fd, unsigned gsi, int resample_fd)
{
	struct machine *m = ctx;
	int r = -ENODEV;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_irqfd_pin(&m->vm, fd, gsi, resample_fd);
	pthread_rwlock_unlock(&m->vm_lock);
	return r;
}

/* --- setup --------------------------------------------------------------------------- */

static int load_rom(const char *bdf, const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		log_err("%s: rom=%s: %s", bdf, path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > ROM_MAX) {
		log_err("%s: rom=%s: want a file of 1 byte to 16 MiB", bdf, path);
		close(fd);
		return -EINVAL;
	}
	*len = (size_t)st.st_size;
	*out = malloc(*len);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	r = pread_full(fd, *out, *len, 0);
	close(fd);
	if (r < 0) {
		log_err("%s: rom=%s: %s", bdf, path, strerror(-r));
		free(*out);
		*out = NULL;
	}
	return r;
}

static int add_device(struct machine *m, unsigned i)
{
	const struct machine_vfio *spec = &m->cfg.vfio[i];
	struct machine_vfio_dev *d = calloc(1, sizeof(*d));
	struct vfio_vm_ops vm = { vm_map, vm_unmap, vm_route_add, vm_route_update, vm_irqfd_del,
				  vm_intx_irqfd, m };
	struct vfio_pci_config pc = { spec->bdf, VFIO_ROM_AUTO, NULL, 0 };
	uint8_t *rom = NULL;
	uint8_t devfn = (uint8_t)((MACHINE_VFIO_SLOT0 + i) << 3);
	const struct pci_dev *p;
	int r;

	if (!d)
		return -ENOMEM;
	m->vfio[i] = d;
	d->m = m;
	if ((r = vfio_host_dev_open(&d->host, m->vfio_container, spec->bdf)) < 0)
		return r;
	d->host_open = true;
	if (spec->rom == MVFIO_ROM_OFF) {
		pc.rom = VFIO_ROM_OFF;
	} else if (spec->rom == MVFIO_ROM_FILE) {
		pc.rom = VFIO_ROM_FILE;
		if ((r = load_rom(spec->bdf, spec->rom_file, &rom, &pc.rom_len)) < 0)
			return r;
		pc.rom_image = rom;
	}
	r = vfio_pci_init(&d->pci, &pc, vfio_host_dev_ops(&d->host), vm, vfio_host_efd_ops());
	free(rom);
	if (r < 0) {
		log_err("%s: cannot model the device: %s", spec->bdf, strerror(-r));
		return r;
	}
	d->model_init = true;
	if ((r = vfio_pci_add(&d->pci, &m->pci, devfn)) < 0) {
		log_err("%s: slot 00:%02x.0 taken", spec->bdf, devfn >> 3);
		return r;
	}
	p = &d->pci.pci;
	log_info("%s: guest 00:%02x.0, %04x:%04x class %06x%s, INTx %s, MSI %u, MSI-X %u", spec->bdf,
		 devfn >> 3, pci_get16(p, PCI_VENDOR_ID), pci_get16(p, PCI_DEVICE_ID),
		 pci_get32(p, 8) >> 8, p->pcie ? " (PCIe, integrated endpoint)" : "",
		 p->cfg[PCI_INTERRUPT_PIN] ? "yes" : "no", d->pci.msi_cap ? d->pci.msi_max : 0,
		 d->pci.msix_nvec);
	for (int b = 0; b <= PCI_ROM_SLOT; b++) {
		static const char *const tn[] = { "-", "I/O", "mem32", "mem64" };
		const struct pci_bar *pb = &p->bar[b];
		if (pb->type == PCI_BAR_NONE)
			continue;
		log_info("%s:   %s%d %s%s %#llx bytes, %u memory slot%s", spec->bdf,
			 b == PCI_ROM_SLOT ? "ROM" : "BAR", b == PCI_ROM_SLOT ? 0 : b, tn[pb->type],
			 pb->prefetch ? " prefetchable" : "", (unsigned long long)pb->size,
			 b < PCI_NUM_BARS ? d->pci.bar[b].npieces : 0,
			 b < PCI_NUM_BARS && d->pci.bar[b].npieces == 1 ? "" : "s");
	}
	return 0;
}

/* OVMF 2022.11 sizes its 64-bit PCI window at 32 GiB unless told (and
 * only trusts the CPU's physical-address width in later releases). */
static int size_mmio64(struct machine *m)
{
	uint64_t sum = 0, win, base, top;
	char mb[24];
	int r;

	for (unsigned i = 0; i < MACHINE_MAX_VFIO; i++) {
		if (!m->vfio[i] || !m->vfio[i]->model_init)
			continue;
		for (int b = 0; b < PCI_NUM_BARS; b++)
			if (m->vfio[i]->pci.pci.bar[b].type == PCI_BAR_MEM64)
				sum += m->vfio[i]->pci.pci.bar[b].size;
	}
	if (sum + MMIO64_HEADROOM <= OVMF_MMIO64_DEFAULT || m->cfg.bios)
		return 0;
	/* BARs are powers of two and placed largest first, so a power-of-two
	 * window at least their sum holds them all. */
	win = 1;
	while (win < sum + MMIO64_HEADROOM)
		win <<= 1;
	snprintf(mb, sizeof(mb), "%llu", (unsigned long long)(win >> 20));
	if ((r = fwcfg_add_file(&m->fwcfg, "opt/ovmf/X-PciMmio64Mb", mb, (uint32_t)strlen(mb), false)) < 0)
		return r;
	/* OVMF aligns the window to its size, above the end of RAM. */
	base = ALIGN_UP(LAYOUT_HIGHMEM_BASE + m->ram_high, win);
	top = m->mmio64_base + m->mmio64_size;
	log_info("64-bit BARs of passed-through devices need %llu MiB: OVMF's 64-bit PCI window set "
		 "to %s MiB (fw_cfg opt/ovmf/X-PciMmio64Mb), expected at %#llx", (unsigned long long)(sum >> 20),
		 mb, (unsigned long long)base);
	if (base + win > top)
		log_warn("that window ends at %#llx, beyond the %#llx the CPU can address: large BARs "
			 "may get no resources", (unsigned long long)(base + win), (unsigned long long)top);
	return 0;
}

int machine_passthrough_init(struct machine *m)
{
	int r;

	if (!m->cfg.nvfio)
		return 0;
	m->vfio_container = calloc(1, sizeof(*m->vfio_container));
	if (!m->vfio_container)
		return -ENOMEM;
	if ((r = vfio_container_open(m->vfio_container, NULL, NULL)) < 0) {
		free(m->vfio_container);
		m->vfio_container = NULL;
		return r;
	}
	for (unsigned i = 0; i < m->cfg.nvfio; i++)
		if ((r = add_device(m, i)) < 0)
			return r;
	/* Guest RAM for the devices' DMA (OVMF's drivers DMA into any boot
	 * services memory); the BARs are not mapped (no peer-to-peer). */
	if ((r = vfio_container_map_dma(m->vfio_container, 0, m->ram_low, m->ram)) < 0)
		return r;
	if (m->ram_high &&
	    (r = vfio_container_map_dma(m->vfio_container, LAYOUT_HIGHMEM_BASE, m->ram_high,
					m->ram + m->ram_low)) < 0)
		return r;
	return size_mmio64(m);
}

void machine_passthrough_vm_started(struct machine *m)
{
	for (unsigned i = 0; i < MACHINE_MAX_VFIO; i++)
		if (m->vfio[i] && m->vfio[i]->model_init)
			vfio_pci_vm_started(&m->vfio[i]->pci);
}

void machine_passthrough_fini(struct machine *m)
{
	for (unsigned i = 0; i < MACHINE_MAX_VFIO; i++) {
		struct machine_vfio_dev *d = m->vfio[i];
		if (!d)
			continue;
		if (d->model_init)
			vfio_pci_fini(&d->pci);
		if (d->host_open)
			vfio_host_dev_close(&d->host);
		free(d);
		m->vfio[i] = NULL;
	}
	if (m->vfio_container) {
		vfio_container_close(m->vfio_container);
		free(m->vfio_container);
		m->vfio_container = NULL;
	}
}
