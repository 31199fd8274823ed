/*
 * The only module that talks to /dev/kvm. Everything else (devices, PCI,
 * machine wiring) goes through these functions or the injected objects
 * they implement (irq_line, msi_sink), so it can be tested without KVM.
 * All functions return 0 (or a value >= 0) or -errno.
 */
#ifndef POLYBOOT_VMM_KVM_KVM_H
#define POLYBOOT_VMM_KVM_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct kvm_run;
struct kvm_cpuid2;

/* RAM, firmware, and the memory BARs of passed-through devices (a BAR
 * split around its MSI-X table takes up to three). */
#define KVMVM_MAX_SLOTS 256
#define KVMVM_MAX_MSI_ROUTES 1024

struct kvmvm_slot {
	bool used;
	uint64_t gpa, size;
	void *hva;
	bool readonly;
};

struct kvmvm {
	int kvm_fd;
	int vm_fd;
	int run_size;			/* mmap size of struct kvm_run */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	struct kvmvm_slot slots[KVMVM_MAX_SLOTS];
	pthread_mutex_t lock;		/* slots and GSI routes */
	/* MSI routes for irqfds: GSIs from 24 up (0..23 are the irqchip pins). */
	struct {
		bool used;
		uint64_t addr;
		uint32_t data;
	} msi[KVMVM_MAX_MSI_ROUTES];
	bool immediate_exit;		/* KVM_CAP_IMMEDIATE_EXIT */
	unsigned phys_bits;		/* host MAXPHYADDR (CPUID 0x80000008) */
	bool amd;			/* AuthenticAMD host */
};

/* Opens /dev/kvm (path for tests), checks the API and the capabilities we
 * need, and creates an x86 VM with in-kernel irqchip and PIT. */
int kvmvm_open(struct kvmvm *vm, const char *dev);
void kvmvm_close(struct kvmvm *vm);

/* Maps [gpa, gpa+size) to @hva. Returns the slot number (>= 0). A read-only
 * slot makes guest writes MMIO exits. */
int kvmvm_map(struct kvmvm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly);
/* Removes the slot that starts at @gpa. */
int kvmvm_unmap(struct kvmvm *vm, uint64_t gpa);

/* Level of an irqchip input (GSI 0..23). */
int kvmvm_irq_line(struct kvmvm *vm, unsigned gsi, int level);
/* One MSI, delivered now (KVM_SIGNAL_MSI). */
int kvmvm_signal_msi(struct kvmvm *vm, uint64_t addr, uint32_t data);

/* irqfd on an irqchip pin; @resample_fd >= 0 for level-triggered INTx. */
int kvmvm_irqfd_pin(struct kvmvm *vm, int fd, unsigned gsi, int resample_fd);
/* irqfd delivering an MSI: allocates a route, returns its GSI (>= 24). */
int kvmvm_irqfd_msi(struct kvmvm *vm, int fd, uint64_t addr, uint32_t data);
/* Re-targets an MSI route (the guest rewrote the vector). */
int kvmvm_msi_route_update(struct kvmvm *vm, int gsi, uint64_t addr, uint32_t data);
/* Detaches @fd from @gsi and frees an MSI route. */
int kvmvm_irqfd_del(struct kvmvm *vm, int fd, int gsi);

/* ioeventfd: a guest write of @len bytes at @addr (PIO when @pio) signals
 * @fd without an exit; @datamatch < 0 matches any value. */
int kvmvm_ioeventfd(struct kvmvm *vm, int fd, uint64_t addr, unsigned len, bool pio,
		    int64_t datamatch, bool assign);

/* --- vCPUs ------------------------------------------------------------- */
struct kvmvcpu {
	struct kvmvm *vm;
	int fd;
	unsigned id;
	struct kvm_run *run;
};

/* Creates vCPU @id (= its APIC ID) with CPUID for an @ncpus machine. */
int kvmvcpu_create(struct kvmvm *vm, struct kvmvcpu *vcpu, unsigned id, unsigned ncpus);
void kvmvcpu_destroy(struct kvmvcpu *vcpu);

/* Why kvmvcpu_loop() returned. */
enum kvm_stop {
	KVMSTOP_STOPPED,	/* *stop was set (kicked) */
	KVMSTOP_RESET,		/* the guest asked for a reset through KVM */
	KVMSTOP_POWEROFF,	/* the guest powered off through KVM */
	KVMSTOP_CRASH,		/* triple fault, failed entry, internal error... */
	KVMSTOP_ERROR,		/* KVM_RUN itself failed */
};

struct io_bus;

/*
 * Runs the vCPU, dispatching port I/O to @pio and MMIO to @mmio, until
 * *@stop becomes non-zero or the guest does something only the machine
 * can handle. Writes a one-line description into @why for anything but
 * KVMSTOP_STOPPED. Called on the vCPU's own thread.
 */
enum kvm_stop kvmvcpu_loop(struct kvmvcpu *vcpu, struct io_bus *pio, struct io_bus *mmio,
			   volatile int *stop, char *why, unsigned len);
/* Makes a vCPU leave KVM_RUN soon (set from another thread, then signal it). */
void kvmvcpu_request_exit(struct kvmvcpu *vcpu, bool on);
/* A line about the vCPU state for crash reports (RIP, CS, CR0). */
void kvmvcpu_describe(struct kvmvcpu *vcpu, char *buf, unsigned len);
/* kvmvcpu_describe plus RFLAGS and the run state (running, halted, ...);
 * only on a vCPU outside KVM_RUN. */
void kvmvcpu_describe_stopped(struct kvmvcpu *vcpu, char *buf, unsigned len);

/*
 * Builds the CPUID table a vCPU gets from the host's supported table:
 * topology of @ncpus cores in one socket, APIC ID @id, SEV hidden, real
 * physical-address width. Exposed for unit tests (no KVM needed).
 */
int kvm_cpuid_patch(struct kvm_cpuid2 *c, unsigned id, unsigned ncpus, bool amd);

#endif
