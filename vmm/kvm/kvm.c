/*
 * KVM backend: VM, memory slots, irqchip, irqfd/ioeventfd, vCPUs, CPUID.
 * Reference: Documentation/virt/kvm/api.rst of Linux 6.12.
 */
#define LOG_MOD "kvm"
#include "kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/bus.h"
#include "log.h"
#include "machine/layout.h"

#define MAX_CPUID_ENTRIES 256
#define IRQCHIP_PINS 24

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

static int check_cap(struct kvmvm *vm, long cap, const char *name)
{
	int r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
	if (r <= 0) {
		log_err("KVM lacks %s", name);
		return -ENOTSUP;
	}
	return 0;
}

static void host_vendor(struct kvmvm *vm)
{
	struct kvm_cpuid2 *c = vm->cpuid;
	vm->phys_bits = 36;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 0)
			vm->amd = e->ebx == 0x68747541; /* "Auth" */
		if (e->function == 0x80000008)
			vm->phys_bits = e->eax & 0xff;
	}
}

int kvmvm_open(struct kvmvm *vm, const char *dev)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = LAYOUT_KVM_IDENTITY_MAP;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	vm->kvm_fd = open(dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		r = -errno;
		log_err("cannot open %s: %s", dev ? dev : "/dev/kvm", strerror(errno));
		return r;
	}
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		log_err("KVM API version %d, want %d", r, KVM_API_VERSION);
		r = -ENOTSUP;
		goto err;
	}
	if ((r = check_cap(vm, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP")) ||
	    (r = check_cap(vm, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY")) ||
	    (r = check_cap(vm, KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM")) ||
	    (r = check_cap(vm, KVM_CAP_IRQFD, "KVM_CAP_IRQFD")) ||
	    (r = check_cap(vm, KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD")) ||
	    (r = check_cap(vm, KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING")) ||
	    (r = check_cap(vm, KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI")) ||
	    (r = check_cap(vm, KVM_CAP_PIT2, "KVM_CAP_PIT2")) ||
	    (r = check_cap(vm, KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID")))
		goto err;
	vm->immediate_exit = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		r = -EINVAL;
		goto err;
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + MAX_CPUID_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid) {
		r = -ENOMEM;
		goto err;
	}
	vm->cpuid->nent = MAX_CPUID_ENTRIES;
	r = xioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid);
	if (r < 0) {
		log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		goto err;
	}
	host_vendor(vm);

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = -errno;
		log_err("KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	/* Both must come before the first vCPU; outside RAM and PCI windows. */
	if ((r = xioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident)) < 0 ||
	    (r = ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS)) < 0) {
		r = r < 0 ? -errno : r;
		log_err("KVM TSS/identity map: %s", strerror(-r));
		goto err;
	}
	if ((r = xioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL)) < 0) {
		log_err("KVM_CREATE_IRQCHIP: %s", strerror(-r));
		goto err;
	}
	if ((r = xioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)) < 0) {
		log_err("KVM_CREATE_PIT2: %s", strerror(-r));
		goto err;
	}
	return 0;
err:
	kvmvm_close(vm);
	return r;
}

void kvmvm_close(struct kvmvm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
}

int kvmvm_map(struct kvmvm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly)
{
	struct kvm_userspace_memory_region r;
	int slot = -1, ret;

	pthread_mutex_lock(&vm->lock);
	for (int i = 0; i < KVMVM_MAX_SLOTS; i++) {
		if (!vm->slots[i].used) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		pthread_mutex_unlock(&vm->lock);
		return -ENOSPC;
	}
	r = (struct kvm_userspace_memory_region){
		.slot = (uint32_t)slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	ret = xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
	if (ret == 0)
		vm->slots[slot] = (struct kvmvm_slot){ true, gpa, size, hva, readonly };
	else
		log_err("map %#llx+%#llx: %s", (unsigned long long)gpa, (unsigned long long)size,
			strerror(-ret));
	pthread_mutex_unlock(&vm->lock);
	return ret < 0 ? ret : slot;
}

int kvmvm_unmap(struct kvmvm *vm, uint64_t gpa)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->lock);
	for (int i = 0; i < KVMVM_MAX_SLOTS; i++) {
		struct kvmvm_slot *s = &vm->slots[i];
		if (s->used && s->gpa == gpa) {
			struct kvm_userspace_memory_region r = {
				.slot = (uint32_t)i, .guest_phys_addr = gpa, .memory_size = 0,
			};
			ret = xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
			if (ret == 0)
				s->used = false;
			break;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int kvmvm_irq_line(struct kvmvm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)!!level };
	return xioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

int kvmvm_signal_msi(struct kvmvm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
	};
	int r = xioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);
	/* 0 means the interrupt was blocked (masked at the LAPIC): not an error. */
	return r < 0 ? r : 0;
}

/*
 * KVM_SET_GSI_ROUTING replaces the whole table, so it always carries the
 * default irqchip routes (GSI 0-15 to PIC and IOAPIC, 16-23 to IOAPIC) plus
 * every MSI route in use. Called with vm->lock held.
 */
static int commit_routes(struct kvmvm *vm)
{
	struct kvm_irq_routing *t;
	unsigned n = 0;
	int r;

	t = calloc(1, sizeof(*t) + (IRQCHIP_PINS + 16 + KVMVM_MAX_MSI_ROUTES) * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < IRQCHIP_PINS; gsi++) {
		if (gsi < 16 && gsi != 2) {
			t->entries[n].gsi = gsi;
			t->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			t->entries[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			t->entries[n].u.irqchip.pin = gsi % 8;
			n++;
		}
		t->entries[n].gsi = gsi;
		t->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		t->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		t->entries[n].u.irqchip.pin = gsi;
		n++;
	}
	for (unsigned i = 0; i < KVMVM_MAX_MSI_ROUTES; i++) {
		if (!vm->msi[i].used)
			continue;
		t->entries[n].gsi = IRQCHIP_PINS + i;
		t->entries[n].type = KVM_IRQ_ROUTING_MSI;
		t->entries[n].u.msi.address_lo = (uint32_t)vm->msi[i].addr;
		t->entries[n].u.msi.address_hi = (uint32_t)(vm->msi[i].addr >> 32);
		t->entries[n].u.msi.data = vm->msi[i].data;
		n++;
	}
	t->nr = n;
	r = xioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t);
	free(t);
	return r;
}

int kvmvm_irqfd_pin(struct kvmvm *vm, int fd, unsigned gsi, int resample_fd)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi };
	if (resample_fd >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resample_fd;
	}
	return xioctl(vm->vm_fd, KVM_IRQFD, &f);
}

int kvmvm_irqfd_msi(struct kvmvm *vm, int fd, uint64_t addr, uint32_t data)
{
	int idx = -1, r;

	pthread_mutex_lock(&vm->lock);
	for (int i = 0; i < KVMVM_MAX_MSI_ROUTES; i++) {
		if (!vm->msi[i].used) {
			idx = i;
			break;
		}
	}
	if (idx < 0) {
		pthread_mutex_unlock(&vm->lock);
		return -ENOSPC;
	}
	vm->msi[idx].used = true;
	vm->msi[idx].addr = addr;
	vm->msi[idx].data = data;
	r = commit_routes(vm);
	if (r < 0)
		vm->msi[idx].used = false;
	pthread_mutex_unlock(&vm->lock);
	if (r < 0)
		return r;
	r = kvmvm_irqfd_pin(vm, fd, (unsigned)(IRQCHIP_PINS + idx), -1);
	if (r < 0) {
		pthread_mutex_lock(&vm->lock);
		vm->msi[idx].used = false;
		commit_routes(vm);
		pthread_mutex_unlock(&vm->lock);
		return r;
	}
	return IRQCHIP_PINS + idx;
}

int kvmvm_msi_route_update(struct kvmvm *vm, int gsi, uint64_t addr, uint32_t data)
{
	int idx = gsi - IRQCHIP_PINS, r;

	if (idx < 0 || idx >= KVMVM_MAX_MSI_ROUTES)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	if (!vm->msi[idx].used) {
		pthread_mutex_unlock(&vm->lock);
		return -ENOENT;
	}
	vm->msi[idx].addr = addr;
	vm->msi[idx].data = data;
	r = commit_routes(vm);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int kvmvm_irqfd_del(struct kvmvm *vm, int fd, int gsi)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = (uint32_t)gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	int r = xioctl(vm->vm_fd, KVM_IRQFD, &f);
	int idx = gsi - IRQCHIP_PINS;

	if (idx >= 0 && idx < KVMVM_MAX_MSI_ROUTES) {
		pthread_mutex_lock(&vm->lock);
		vm->msi[idx].used = false;
		commit_routes(vm);
		pthread_mutex_unlock(&vm->lock);
	}
	return r;
}

int kvmvm_ioeventfd(struct kvmvm *vm, int fd, uint64_t addr, unsigned len, bool pio,
		    int64_t datamatch, bool assign)
{
	struct kvm_ioeventfd e = { .addr = addr, .len = len, .fd = fd };
	if (pio)
		e.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (datamatch >= 0) {
		e.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
		e.datamatch = (uint64_t)datamatch;
	}
	if (!assign)
		e.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return xioctl(vm->vm_fd, KVM_IOEVENTFD, &e);
}

/* --- CPUID ----------------------------------------------------------------- */

static unsigned order_base_2(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

int kvm_cpuid_patch(struct kvm_cpuid2 *c, unsigned id, unsigned ncpus, bool amd)
{
	unsigned core_bits = order_base_2(ncpus);
	struct kvm_cpuid_entry2 *e;

	if (ncpus == 0 || id >= ncpus)
		return -EINVAL;
	for (unsigned i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			/* APIC ID, logical processors per package, HTT. */
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
				 ((ncpus > 255 ? 255 : ncpus) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28;
			else
				e->edx &= ~(1u << 28);
			e->ecx |= 1u << 31;	/* running under a hypervisor */
			break;
		case 4:
			/* Cores per package - 1; threads sharing each cache level. */
			e->eax &= 0x3ff;
			if ((e->eax & 0x1f) != 0) {
				unsigned level = (e->eax >> 5) & 7;
				unsigned sharing = level >= 3 ? ncpus : 1;
				e->eax |= ((1u << core_bits) - 1) << 26 | (sharing - 1) << 14;
			}
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: SMT level (1 thread), core level (ncpus). */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8 | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = ncpus;
				e->ecx = 2u << 8 | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			if (amd) {
				if (ncpus > 1)
					e->ecx |= 1u << 1;	/* CmpLegacy */
				else
					e->ecx &= ~(1u << 1);
			}
			break;
		case 0x80000008:
			/* Keep the host's physical and linear address widths (EAX). */
			if (amd)
				e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) | (ncpus - 1);
			break;
		case 0x8000001e:
			if (amd) {
				e->eax = id;
				e->ebx = (e->ebx & ~0xff00u) | 0;	/* one thread per core */
				e->ecx = 0;
			}
			break;
		case 0x8000001f:
			/* Hide SEV: OVMF would probe MSR 0xC0010131 (research note 10.3). */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* --- vCPUs ----------------------------------------------------------------- */

int kvmvcpu_create(struct kvmvm *vm, struct kvmvcpu *vcpu, unsigned id, unsigned ncpus)
{
	struct kvm_cpuid2 *c;
	size_t csize = sizeof(*c) + vm->cpuid->nent * sizeof(c->entries[0]);
	int r;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		r = -errno;
		log_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return r;
	}
	vcpu->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		r = -errno;
		close(vcpu->fd);
		return r;
	}
	c = malloc(csize);
	if (!c) {
		r = -ENOMEM;
		goto err;
	}
	memcpy(c, vm->cpuid, csize);
	r = kvm_cpuid_patch(c, id, ncpus, vm->amd);
	if (r == 0)
		r = xioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0) {
		log_err("KVM_SET_CPUID2 on vCPU %u: %s", id, strerror(-r));
		goto err;
	}
	/* The vCPU starts at the reset vector (CS base 0xFFFF0000, IP 0xFFF0):
	 * exactly what OVMF wants, so no register setup here. */
	return 0;
err:
	munmap(vcpu->run, (size_t)vm->run_size);
	close(vcpu->fd);
	vcpu->fd = -1;
	return r;
}

void kvmvcpu_destroy(struct kvmvcpu *vcpu)
{
	if (vcpu->fd < 0)
		return;
	munmap(vcpu->run, (size_t)vcpu->vm->run_size);
	close(vcpu->fd);
	vcpu->fd = -1;
}

static void handle_io(struct io_bus *pio, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	/* String I/O (rep outs/ins) comes as @count back-to-back items. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			io_bus_write(pio, run->io.port, data, run->io.size);
		else
			io_bus_read(pio, run->io.port, data, run->io.size);
		data += run->io.size;
	}
}

static void handle_mmio(struct io_bus *mmio, struct kvm_run *run)
{
	if (run->mmio.len > 8)
		return;
	if (run->mmio.is_write)
		io_bus_write(mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
	else
		io_bus_read(mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
}

enum kvm_stop kvmvcpu_loop(struct kvmvcpu *v, struct io_bus *pio, struct io_bus *mmio,
			   volatile int *stop, char *why, unsigned len)
{
	char desc[192];

	while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
		struct kvm_run *run = v->run;
		int r = ioctl(v->fd, KVM_RUN, NULL);

		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			snprintf(why, len, "KVM_RUN on vCPU %u: %s", v->id, strerror(errno));
			return KVMSTOP_ERROR;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(pio, run);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(mmio, run);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_HLT:
			/* The in-kernel LAPIC handles HLT; an exit means a vCPU
			 * halted for good (interrupts off), as a dead guest does. */
			kvmvcpu_describe(v, desc, sizeof(desc));
			snprintf(why, len, "vCPU halted with interrupts disabled: %s", desc);
			return KVMSTOP_CRASH;
		case KVM_EXIT_SHUTDOWN:
			kvmvcpu_describe(v, desc, sizeof(desc));
			snprintf(why, len, "triple fault: %s", desc);
			return KVMSTOP_CRASH;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(why, len, "KVM entry failed on vCPU %u, hardware reason %#llx", v->id,
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return KVMSTOP_CRASH;
		case KVM_EXIT_INTERNAL_ERROR:
			kvmvcpu_describe(v, desc, sizeof(desc));
			snprintf(why, len, "KVM internal error %u: %s", run->internal.suberror, desc);
			return KVMSTOP_CRASH;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
				snprintf(why, len, "guest reset (KVM system event)");
				return KVMSTOP_RESET;
			}
			if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
				snprintf(why, len, "guest powered off (KVM system event)");
				return KVMSTOP_POWEROFF;
			}
			snprintf(why, len, "KVM system event %u", run->system_event.type);
			return KVMSTOP_CRASH;
		default:
			snprintf(why, len, "unhandled KVM exit %u on vCPU %u", run->exit_reason, v->id);
			return KVMSTOP_CRASH;
		}
	}
	return KVMSTOP_STOPPED;
}

void kvmvcpu_request_exit(struct kvmvcpu *vcpu, bool on)
{
	if (vcpu->vm->immediate_exit)
		__atomic_store_n(&vcpu->run->immediate_exit, on ? 1 : 0, __ATOMIC_SEQ_CST);
}

/* The registers' part of kvmvcpu_describe; @flags adds RFLAGS. Returns the
 * length written (as snprintf), or -1 when the registers cannot be read. */
static int describe_regs(struct kvmvcpu *vcpu, char *buf, unsigned len, bool flags)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int n;

	if (xioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || xioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(buf, len, "vCPU %u: registers unavailable", vcpu->id);
		return -1;
	}
	n = snprintf(buf, len, "vCPU %u: rip=%#llx cs=%#x(base %#llx) cr0=%#llx cr3=%#llx efer=%#llx rsp=%#llx",
		     vcpu->id, (unsigned long long)regs.rip, sregs.cs.selector,
		     (unsigned long long)sregs.cs.base, (unsigned long long)sregs.cr0,
		     (unsigned long long)sregs.cr3, (unsigned long long)sregs.efer,
		     (unsigned long long)regs.rsp);
	if (flags && n >= 0 && (unsigned)n + 1 < len)
		n += snprintf(buf + n, len - n, " rflags=%#llx%s", (unsigned long long)regs.rflags,
			      regs.rflags & 0x200 ? " (IF)" : "");
	return n;
}

void kvmvcpu_describe(struct kvmvcpu *vcpu, char *buf, unsigned len)
{
	describe_regs(vcpu, buf, len, false);
}

static const char *mp_state_name(unsigned s)
{
	switch (s) {
	case KVM_MP_STATE_RUNNABLE: return "running";
	case KVM_MP_STATE_UNINITIALIZED: return "waiting for INIT";
	case KVM_MP_STATE_INIT_RECEIVED: return "INIT received";
	case KVM_MP_STATE_HALTED: return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED: return "SIPI received";
	default: return "unknown state";
	}
}

void kvmvcpu_describe_stopped(struct kvmvcpu *vcpu, char *buf, unsigned len)
{
	struct kvm_mp_state mp;
	int n = describe_regs(vcpu, buf, len, true);

	if (n >= 0 && (unsigned)n + 1 < len && xioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0)
		snprintf(buf + n, len - n, ", %s", mp_state_name(mp.mp_state));
}
