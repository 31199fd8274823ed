/*
 * Device wiring of the polyvmm machine: which model sits at which port or
 * address, what it is given (interrupt lines, clocks, timers, memory), and
 * the firmware configuration (fw_cfg) OVMF or SeaBIOS reads. All addresses
 * come from layout.h; see shared/research/ovmf-platform.md for why each
 * exists, and machine/bios.h for the legacy BIOS (--bios).
 */
#define LOG_MOD "machine"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "acpi/smbios.h"
#include "log.h"
#include "machine/bios.h"
#include "machine/layout.h"
#include "machine/machine_priv.h"
#include "util.h"

/* --- timers on the I/O thread (struct vtimer for the devices) --------------- */

static void timer_expired(void *opaque, uint64_t n)
{
	struct machine_timer *t = opaque;
	t->fire(t->dev);
}

static int timer_arm(void *ctx, int64_t deadline)
{
	struct machine_timer *t = ctx;
	int64_t now = vclock_mono(&host_clock);

	if (deadline == 0)
		return ev_timer_disarm(&t->t);
	return ev_timer_arm(&t->t, deadline > now ? (uint64_t)(deadline - now) : 1, 0);
}

static int timer_init(struct machine *m, struct machine_timer *t, void (*fire)(void *), void *dev,
		      const char *name)
{
	t->fire = fire;
	t->dev = dev;
	t->m = m;
	return ev_timer_init(&m->loop, &t->t, timer_expired, t, name);
}

static void rtc_fire(void *dev)
{
	rtc_timer_fire(dev);
}

static void pflash_fire(void *dev)
{
	pflash_timer_fire(dev);
}

/* --- callbacks from the devices --------------------------------------------- */

static void on_power_off(void *ctx)
{
	machine_post_event(ctx, MEV_POWEROFF, "guest powered off (ACPI S5)");
}

static void on_reset(void *ctx, const char *why)
{
	machine_post_event(ctx, MEV_RESET, "guest reset through %s", why);
}

static void on_pm_update(void *ctx, uint16_t base, bool enabled)
{
	struct machine *m = ctx;
	acpi_pm_update(&m->pm, base, enabled);
}

static void com1_tx(void *ctx, uint8_t b)
{
	struct machine *m = ctx;
	serial_backend_put(&m->serial, b);
}

static void com1_space(void *ctx)
{
	struct machine *m = ctx;
	serial_backend_kick(&m->serial);
}

static size_t serial_input(void *ctx, const uint8_t *buf, size_t n)
{
	struct machine *m = ctx;
	return uart16550_rx(&m->com1, buf, n);
}

static void serial_quit(void *ctx)
{
	machine_post_event(ctx, MEV_KILLED, "quit from the console (Ctrl-a x)");
}

/* The VARS flash: mapped as a read-only slot in read-array mode. */
static void vars_read_array(void *ctx, bool on)
{
	struct machine *m = ctx;
	int r = 0;

	if (!m->vm_live || on == m->vars_slot)
		return;
	if (on)
		r = kvmvm_map(&m->vm, m->vars_gpa, m->vars_size, m->pflash.image, true);
	else
		r = kvmvm_unmap(&m->vm, m->vars_gpa);
	if (r < 0)
		log_err("variable store %smap failed: %s", on ? "" : "un", strerror(-r));
	else
		m->vars_slot = on;
}

/* Writes to the firmware code (a read-only slot) are dropped. */
static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
	struct machine *m = opaque;
	uint64_t v = 0;
	if (off + size <= m->code_size)
		memcpy(&v, m->code + off, size);
	return v;
}

static void rom_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	log_guest("write to the firmware code at +%#llx dropped", (unsigned long long)off);
}

static const struct io_ops rom_ops = { rom_read, rom_write };

/* --- firmware images --------------------------------------------------------- */

static int load_code(struct machine *m)
{
	const char *path = m->cfg.bios ? m->cfg.bios : m->cfg.firmware;
	char why[128];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		log_err("firmware %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (m->cfg.bios && bios_check_size((uint64_t)st.st_size, why, sizeof(why)) < 0) {
		log_err("BIOS %s: %s", path, why);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size <= 0 || st.st_size % 4096 || st.st_size > 16 << 20) {
		log_err("firmware %s: size %lld is not a multiple of 4 KiB up to 16 MiB",
			path, (long long)st.st_size);
		close(fd);
		return -EINVAL;
	}
	m->code_size = (uint64_t)st.st_size;
	/* A private copy: KVM maps it read-only, the file is never written. */
	m->code = mmap(NULL, m->code_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->code == MAP_FAILED) {
		m->code = NULL;
		return -errno;
	}
	m->code_gpa = LAYOUT_FLASH_END - m->code_size;
	return 0;
}

int machine_map_flash(struct machine *m)
{
	int r = kvmvm_map(&m->vm, m->code_gpa, m->code_size, m->code, true);
	if (r < 0)
		return r;
	m->vars_slot = false;
	if (m->vars_size && m->pflash.mode == PFLASH_READ_ARRAY) {
		r = kvmvm_map(&m->vm, m->vars_gpa, m->vars_size, m->pflash.image, true);
		if (r < 0)
			return r;
		m->vars_slot = true;
	}
	return 0;
}

/* 64-bit PCI window: everything from the end of RAM (1 GiB aligned) to the
 * top of the physical address space; OVMF places its own window inside it
 * whichever way it sizes it (research note section 2). */
static void mmio64_window(struct machine *m, unsigned phys_bits)
{
	uint64_t top, base = LAYOUT_HIGHMEM_BASE + m->ram_high;

	base = ALIGN_UP(base, 1ULL << 30);
	if (phys_bits < 36 || phys_bits > 52)
		phys_bits = 40;
	if (phys_bits > 48)
		phys_bits = 48;	/* what 4-level paging guests can reach */
	top = 1ULL << phys_bits;
	m->mmio64_base = base;
	m->mmio64_size = top > base ? top - base : 0;
}

static unsigned host_phys_bits(void)
{
	unsigned eax = 0, ebx, ecx, edx;
	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0x80000000));
	if (eax < 0x80000008)
		return 36;
	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0x80000008), "c"(0));
	return eax & 0xff;
}

/* --- fw_cfg contents --------------------------------------------------------- */

static int add_e820(struct machine *m)
{
	uint8_t e[3 * 20];
	size_t n = 0;

	put_le64(e + n, 0);
	put_le64(e + n + 8, m->ram_low);
	put_le32(e + n + 16, 1);	/* RAM */
	n += 20;
	if (m->ram_high) {
		put_le64(e + n, LAYOUT_HIGHMEM_BASE);
		put_le64(e + n + 8, m->ram_high);
		put_le32(e + n + 16, 1);
		n += 20;
	}
	/* KVM's identity map and TSS pages (reserved, as QEMU does). */
	put_le64(e + n, LAYOUT_KVM_IDENTITY_MAP);
	put_le64(e + n + 8, 0x4000);
	put_le32(e + n + 16, 2);
	n += 20;
	return fwcfg_add_file(&m->fwcfg, "etc/e820", e, (uint32_t)n, false);
}

static int add_acpi(struct machine *m)
{
	struct acpi_config ac = { m->cfg.cpus, m->mmio64_base, m->mmio64_size,
				  m->cfg.bios ? LAYOUT_BIOS_MMIO32_END : 0 };
	struct acpi_blobs b;
	int r = acpi_build(&ac, &b);

	if (r < 0)
		return r;
	if ((r = fwcfg_add_file(&m->fwcfg, ACPI_FILE_RSDP, b.rsdp, (uint32_t)b.rsdp_len, false)) < 0 ||
	    (r = fwcfg_add_file(&m->fwcfg, ACPI_FILE_TABLES, b.tables, (uint32_t)b.tables_len, false)) < 0)
		goto out;
	r = fwcfg_add_file(&m->fwcfg, ACPI_FILE_LOADER, b.loader, (uint32_t)b.loader_len, false);
out:
	acpi_blobs_free(&b);
	return r;
}

static int add_smbios(struct machine *m)
{
	struct smbios_info si;
	struct smbios_blobs b;
	char err[512];
	int r;

	smbios_info_init(&si, m->cfg.dmi_dir);
	si.ncpus = m->cfg.cpus;
	si.ram_low = m->ram_low;
	si.ram_high = m->ram_high;
	for (unsigned i = 0; i < m->cfg.n_smbios_set; i++) {
		if (smbios_info_set(&si, m->cfg.smbios_set[i], err, sizeof(err)) < 0) {
			log_err("--smbios: %s", err);
			return -EINVAL;
		}
	}
	if ((r = smbios_build(&si, &b)) < 0)
		return r;
	r = fwcfg_add_file(&m->fwcfg, "etc/smbios/smbios-tables", b.tables, (uint32_t)b.tables_len, false);
	if (r == 0)
		r = fwcfg_add_file(&m->fwcfg, "etc/smbios/smbios-anchor", b.anchor, sizeof(b.anchor), false);
	smbios_blobs_free(&b);
	return r;
}

static int setup_fwcfg(struct machine *m)
{
	uint8_t v[2];
	int r;

	if ((r = fwcfg_init(&m->fwcfg, &m->mem)) < 0)
		return r;
	put_le16(v, (uint16_t)m->cfg.cpus);
	if ((r = fwcfg_add_item(&m->fwcfg, FWCFG_NB_CPUS, v, 2)) < 0)
		return r;
	put_le16(v, 0);	/* no interactive boot menu: boot at once */
	if ((r = fwcfg_add_item(&m->fwcfg, FWCFG_BOOT_MENU, v, 2)) < 0 ||
	    (r = fwcfg_add_file(&m->fwcfg, "etc/boot-menu-wait", v, 2, false)) < 0)
		return r;
	if ((r = add_e820(m)) < 0 || (r = add_acpi(m)) < 0 || (r = add_smbios(m)) < 0)
		return r;
	if (m->cfg.bios) {
		/* SeaBIOS: the CPU limit (QEMU always gives it), and its own
		 * console on COM1 since there is no VGA (src/fw/paravirt.c). */
		put_le16(v, (uint16_t)m->cfg.cpus);
		if ((r = fwcfg_add_item(&m->fwcfg, FWCFG_MAX_CPUS, v, 2)) < 0)
			return r;
		put_le16(v, LAYOUT_COM1_BASE);
		if ((r = fwcfg_add_file(&m->fwcfg, "etc/sercon-port", v, 2, false)) < 0)
			return r;
	}
	return 0;
}

/* --- init / reset / fini --------------------------------------------------------- */

/* OVMF: the code (read-only slot; writes trap here) and the VARS flash. */
static int setup_ovmf_flash(struct machine *m)
{
	struct vtimer vt;
	int r;

	r = timer_init(m, &m->pflash_timer, pflash_fire, &m->pflash, "pflash");
	if (r < 0)
		return r;
	vt = (struct vtimer){ timer_arm, &m->pflash_timer };
	if (m->cfg.vars) {
		r = pflash_open(&m->pflash, m->cfg.vars, 0, m->cfg.vars_readonly, host_clock, vt,
				vars_read_array, m);
	} else {
		/* No store given: an empty one in memory (OVMF formats it). */
		r = pflash_open(&m->pflash, NULL, 0x84000, false, host_clock, vt, vars_read_array, m);
		log_warn("no --vars file: UEFI variables will not persist");
	}
	if (r < 0)
		return r;
	m->vars_size = m->pflash.size;
	m->vars_gpa = m->code_gpa - m->vars_size;
	if ((r = io_bus_add(&m->mmio, m->code_gpa, m->code_size, &rom_ops, m, "ovmf-code")) < 0 ||
	    (r = io_bus_add(&m->mmio, m->vars_gpa, m->vars_size, &pflash_ops, &m->pflash, "ovmf-vars")) < 0)
		return r;
	return 0;
}

int machine_devices_init(struct machine *m)
{
	struct irq_line line = { machine_set_irq, m, 0 };
	struct irq_line l;
	int r;

	if ((r = load_code(m)) < 0)
		return r;
	mmio64_window(m, host_phys_bits());

	/* A legacy BIOS is only its ROM (read-only slot, writes trap here);
	 * its copy at 0xE0000 is written at every reset. */
	if (m->cfg.bios)
		r = io_bus_add(&m->mmio, m->code_gpa, m->code_size, &rom_ops, m, "bios");
	else
		r = setup_ovmf_flash(m);
	if (r < 0)
		return r;

	/* PCI: conf1 + ECAM, host bridge, LPC bridge (moves the PM block). */
	r = pci_bus_init(&m->pci, &m->pio, &m->mmio, LAYOUT_ECAM_BASE, line);
	if (r < 0)
		return r;
	acpi_pm_init(&m->pm, &m->pio, host_clock, (struct irq_line){ machine_set_irq, m, LAYOUT_SCI_GSI },
		     on_power_off, m);
	if ((r = chipset_init(&m->chipset, &m->pci, on_pm_update, m)) < 0)
		return r;

	/* Reset paths. */
	sysctl_init(&m->sysctl, on_reset, m);
	pci_bus_set_cf9(&m->pci, &sysctl_cf9_ops, &m->sysctl);
	if ((r = io_bus_add(&m->pio, LAYOUT_PORT92, 1, &sysctl_port92_ops, &m->sysctl, "port92")) < 0 ||
	    (r = io_bus_add(&m->pio, LAYOUT_I8042_CMD, 1, &sysctl_i8042_ops, &m->sysctl, "i8042")) < 0)
		return r;

	/* COM1 and its console. */
	l = line;
	l.gsi = LAYOUT_COM1_GSI;
	uart16550_init(&m->com1, l, com1_tx, m, com1_space, m);
	if ((r = io_bus_add(&m->pio, LAYOUT_COM1_BASE, 8, &uart16550_ops, &m->com1, "com1")) < 0)
		return r;
	if ((r = serial_backend_open(&m->serial, m->cfg.serial, &m->loop, serial_input, m,
				     serial_quit, m)) < 0)
		return r;

	/* RTC/CMOS. */
	if ((r = timer_init(m, &m->rtc_timer, rtc_fire, &m->rtc, "rtc")) < 0)
		return r;
	l.gsi = LAYOUT_RTC_GSI;
	rtc_init(&m->rtc, host_clock, l, (struct vtimer){ timer_arm, &m->rtc_timer },
		 m->ram_low, m->ram_high, m->cfg.cpus);
	if ((r = io_bus_add(&m->pio, LAYOUT_RTC_BASE, 2, &rtc_ops, &m->rtc, "rtc")) < 0)
		return r;

	/* fw_cfg. */
	if ((r = setup_fwcfg(m)) < 0)
		return r;
	if ((r = io_bus_add(&m->pio, LAYOUT_FWCFG_BASE, 2, &fwcfg_io_ops, &m->fwcfg, "fw_cfg")) < 0 ||
	    (r = io_bus_add(&m->pio, LAYOUT_FWCFG_DMA, 8, &fwcfg_dma_ops, &m->fwcfg, "fw_cfg-dma")) < 0)
		return r;
	if ((r = machine_disks_init(m)) < 0)
		return r;
	/* Passed-through devices (after fw_cfg: their 64-bit BARs may size
	 * OVMF's window). */
	return machine_passthrough_init(m);
}

void machine_devices_reset(struct machine *m)
{
	/* Also unmaps BARs, turns the PM block off and resets passed-through
	 * devices (their interrupts off, a function reset through VFIO). */
	pci_bus_reset(&m->pci);
	acpi_pm_reset(&m->pm);
	sysctl_reset(&m->sysctl);
	uart16550_reset(&m->com1);
	rtc_reset(&m->rtc);
	fwcfg_reset(&m->fwcfg);
	if (m->cfg.bios)
		bios_rom_area_reset(m->ram + LAYOUT_ROM_AREA_BASE, m->code, m->code_size);
	else
		pflash_reset(&m->pflash);
	machine_disks_reset(m);
}

void machine_devices_fini(struct machine *m)
{
	machine_passthrough_fini(m);	/* resets them; guest RAM still mapped */
	machine_disks_fini(m);
	if (m->pflash.image && pflash_flush(&m->pflash) < 0)
		log_err("the last UEFI variable changes could not be saved");
	pflash_close(&m->pflash);
	serial_backend_close(&m->serial);
	fwcfg_free(&m->fwcfg);
	if (m->code)
		munmap(m->code, m->code_size);
	m->code = NULL;
}

/* --- dry runs ------------------------------------------------------------------- */

int machine_print_layout(const struct machine_config *c, int fd)
{
	uint64_t low, high;
	struct stat st;
	uint64_t code = 0, vars = 0x84000;
	struct machine tmp;

	machine_ram_split(c->memory, &low, &high);
	if (c->firmware && stat(c->firmware, &st) == 0)
		code = (uint64_t)st.st_size;
	if (c->vars && stat(c->vars, &st) == 0)
		vars = (uint64_t)st.st_size;
	if (c->bios && stat(c->bios, &st) == 0)
		code = (uint64_t)st.st_size;
	memset(&tmp, 0, sizeof(tmp));
	tmp.ram_high = high;
	mmio64_window(&tmp, host_phys_bits());
	dprintf(fd, "polyvmm %s: %u vCPUs, %llu MiB RAM\n", c->name, c->cpus,
		(unsigned long long)(c->memory >> 20));
	dprintf(fd, "%-18s %-18s %s\n", "start", "end", "what");
#define ROW(a, b, what) dprintf(fd, "%#018llx %#018llx %s\n", (unsigned long long)(a), \
				(unsigned long long)(b) - 1, what)
	ROW(0, low, "RAM (below 4 GiB)");
	if (c->bios)
		ROW(LAYOUT_ROM_AREA_BASE, LAYOUT_ROM_AREA_END,
		    "BIOS area (RAM; at reset zeros, the BIOS's last 128 KiB at the top)");
	ROW(LAYOUT_ECAM_BASE, LAYOUT_ECAM_BASE + LAYOUT_ECAM_SIZE, "PCIe ECAM (256 buses)");
	ROW(LAYOUT_MMIO32_BASE, c->bios ? LAYOUT_BIOS_MMIO32_END : LAYOUT_MMIO32_END, "PCI MMIO window (32-bit)");
	ROW(LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_BASE + 0x1000, "IOAPIC (in-kernel)");
	ROW(LAYOUT_LAPIC_BASE, LAYOUT_LAPIC_BASE + 0x100000, "LAPIC (in-kernel)");
	ROW(LAYOUT_KVM_IDENTITY_MAP, LAYOUT_KVM_TSS + 0x3000, "KVM identity map + TSS (reserved)");
	if (code && c->bios) {
		ROW(LAYOUT_FLASH_END - code, LAYOUT_FLASH_END, "BIOS ROM (read-only)");
	} else if (code) {
		ROW(LAYOUT_FLASH_END - code - vars, LAYOUT_FLASH_END - code, "UEFI variable store (pflash)");
		ROW(LAYOUT_FLASH_END - code, LAYOUT_FLASH_END, "firmware code (read-only)");
	}
	if (high)
		ROW(LAYOUT_HIGHMEM_BASE, LAYOUT_HIGHMEM_BASE + high, "RAM (above 4 GiB)");
	if (tmp.mmio64_size)
		ROW(tmp.mmio64_base, tmp.mmio64_base + tmp.mmio64_size, "PCI MMIO window (64-bit)");
#undef ROW
	dprintf(fd, "I/O ports: 0x70 RTC, 0x92 port A, 0x3f8 COM1, 0x510 fw_cfg (+DMA 0x514), "
		"0x600 ACPI PM (PMBASE), 0xcf8 PCI conf1 (+0xcf9 reset), 0x64 KBC reset, "
		"0x6000-0xffff PCI I/O window\n");
	for (unsigned i = 0; i < c->nvfio; i++) {
		const struct machine_vfio *v = &c->vfio[i];
		dprintf(fd, "PCI 00:%02x.0: passthrough of host %s (VFIO), ROM %s%s\n",
			MACHINE_VFIO_SLOT0 + i, v->bdf,
			v->rom == MVFIO_ROM_OFF ? "hidden" : v->rom == MVFIO_ROM_FILE ? "from " : "the device's own",
			v->rom == MVFIO_ROM_FILE ? v->rom_file : "");
	}
	return 0;
}

int machine_dump_acpi(const struct machine_config *c, const char *dir)
{
	struct machine tmp;
	struct acpi_config ac;
	uint64_t low;

	memset(&tmp, 0, sizeof(tmp));
	machine_ram_split(c->memory, &low, &tmp.ram_high);
	mmio64_window(&tmp, host_phys_bits());
	ac = (struct acpi_config){ c->cpus, tmp.mmio64_base, tmp.mmio64_size,
				   c->bios ? LAYOUT_BIOS_MMIO32_END : 0 };
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return acpi_dump(&ac, dir);
}
