/* State shared by machine.c (lifecycle, vCPUs) and devices.c (wiring). */
#ifndef POLYBOOT_VMM_MACHINE_MACHINE_PRIV_H
#define POLYBOOT_VMM_MACHINE_MACHINE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/clock.h"
#include "core/evloop.h"
#include "core/guest_mem.h"
#include "kvm/kvm.h"
#include "machine/chipset.h"
#include "machine/control.h"
#include "machine/machine.h"
#include "machine/serial_backend.h"
#include "pci/pci.h"
#include "dev/uart16550.h"
#include "dev/rtc.h"
#include "dev/acpi_pm.h"
#include "dev/sysctl.h"
#include "dev/fwcfg.h"
#include "dev/pflash.h"
#include "dev/nvme.h"
#include "core/worker.h"
#include "virtio/virtio_blk.h"

struct machine_disk;
struct machine_vfio_dev;
struct vfio_container;

/* --device vfio=... functions sit at 00:0c.0 on (one slot each, in command
 * line order), after the slots --disk may take (LAYOUT_DISK_SLOT0 +
 * MACHINE_MAX_DISKS), so adding a disk never moves a passed-through device. */
#define MACHINE_VFIO_SLOT0 0x0c

/* Why the vCPUs stopped (first writer wins until the machine restarts). */
enum machine_event {
	MEV_NONE = 0,
	MEV_POWEROFF,
	MEV_RESET,
	MEV_CRASH,
	MEV_KILLED,
	MEV_ERROR,
	MEV_STOPPED,		/* "stop" on the control socket */
};

struct machine_timer {
	struct ev_timer t;
	void (*fire)(void *dev);
	void *dev;
	struct machine *m;
};

struct machine {
	struct machine_config cfg;
	struct kvmvm vm;
	bool vm_live;			/* vm is open; irq lines reach it */
	pthread_rwlock_t vm_lock;	/* vm_live vs. interrupt injection */
	struct kvmvcpu vcpu[MACHINE_MAX_CPUS];
	pthread_t thread[MACHINE_MAX_CPUS];
	volatile int stop;		/* vCPUs leave their loops */

	/* RAM and firmware flash. */
	uint64_t ram_low, ram_high;
	uint8_t *ram;			/* one mapping: low part then high part */
	struct guest_mem mem;
	uint8_t *code;			/* OVMF_CODE or BIOS image (read-only slot) */
	uint64_t code_size, code_gpa;
	uint64_t vars_gpa, vars_size;	/* size 0: no variable store (--bios) */
	bool vars_slot;			/* VARS mapped as a read-only slot now */

	struct io_bus pio, mmio;
	struct evloop loop;
	int event_fd;			/* vCPU threads -> main loop */
	struct ev_source event_src;
	int event;			/* enum machine_event */
	char why[256];
	int signal_fd;
	struct ev_source signal_src;

	/* Devices. */
	struct pci_bus pci;
	struct chipset chipset;
	struct uart16550 com1;
	struct rtc rtc;
	struct acpi_pm pm;
	struct sysctl sysctl;
	struct fwcfg fwcfg;
	struct pflash pflash;
	struct machine_timer rtc_timer, pflash_timer;
	struct serial_backend serial;
	uint64_t mmio64_base, mmio64_size;
	unsigned resets;
	struct machine_disk *disk[MACHINE_MAX_DISKS];
	struct vfio_container *vfio_container;	/* NULL without --device vfio= */
	struct machine_vfio_dev *vfio[MACHINE_MAX_VFIO];

	/* --control: the supervisor's socket (I/O thread only). */
	struct control_server control;
	struct control_ops control_ops;
	int64_t start_ns;		/* monotonic, when the VM first started */
	unsigned powerbutton;		/* presses through the control socket */
};

/* Records the first stop event and wakes the main loop. Any thread. */
void machine_post_event(struct machine *m, enum machine_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Injected interrupt plumbing used by the devices. */
void machine_set_irq(void *ctx, unsigned gsi, int level);
int machine_send_msi(void *ctx, uint64_t addr, uint32_t data);

/* devices.c: creates the device models once (they survive resets), and
 * resets them before each (re)start of the VM. */
int machine_devices_init(struct machine *m);
void machine_devices_reset(struct machine *m);
void machine_devices_fini(struct machine *m);
/* disks.c: the --disk devices and their I/O threads. */
int machine_disks_init(struct machine *m);
void machine_disks_reset(struct machine *m);
void machine_disks_fini(struct machine *m);
/* passthrough.c: the --device vfio= functions. init opens them (VFIO
 * container, DMA mapping of guest RAM) and puts them on bus 0; their
 * reset is part of pci_bus_reset(); vm_started runs after every start of
 * a KVM VM (irqfds); fini resets and closes them. */
int machine_passthrough_init(struct machine *m);
void machine_passthrough_vm_started(struct machine *m);
void machine_passthrough_fini(struct machine *m);
/* Maps the firmware (flash or BIOS ROM) into the (new) VM. */
int machine_map_flash(struct machine *m);

#endif
