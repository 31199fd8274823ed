/*
 * Machine lifecycle: guest RAM, the KVM VM and its vCPU threads, exit
 * dispatch to the I/O buses, and the stop events (power-off, reset, crash,
 * signals). A guest reset with --reboot=restart builds a fresh KVM VM (new
 * vCPUs, irqchip and PIT in their power-on state) around the same RAM and
 * device models, which are reset; that is simpler and more faithful than
 * rewinding every vCPU register by hand.
 */
#define LOG_MOD "machine"
#include "machine/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "machine/bios.h"
#include "machine/layout.h"
#include "machine/machine_priv.h"
#include "machine/vfio_host.h"
#include "util.h"

#define KICK_SIGNAL SIGUSR1

void machine_config_defaults(struct machine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->name = "vm";
	c->cpus = 1;
	c->memory = 512ULL << 20;
	c->serial = "stdio";
	c->reboot = REBOOT_RESTART;
	c->dmi_dir = "/sys/class/dmi/id";
}

int machine_config_check(const struct machine_config *c, char *why, size_t len)
{
	struct stat st;

	if (!c->firmware && !c->bios) {
		snprintf(why, len, "--firmware (OVMF_CODE_4M.fd) or --bios (bios-256k.bin) is required");
		return -EINVAL;
	}
	if (c->bios && (c->firmware || c->vars || c->vars_readonly)) {
		snprintf(why, len, "--bios excludes --firmware, --vars and --vars-readonly");
		return -EINVAL;
	}
	if (c->firmware && stat(c->firmware, &st) < 0) {
		snprintf(why, len, "--firmware %s: %s", c->firmware, strerror(errno));
		return -EINVAL;
	}
	if (c->bios) {
		char size_why[128];
		if (stat(c->bios, &st) < 0) {
			snprintf(why, len, "--bios %s: %s", c->bios, strerror(errno));
			return -EINVAL;
		}
		if (bios_check_size((uint64_t)st.st_size, size_why, sizeof(size_why)) < 0) {
			snprintf(why, len, "--bios %s: %s", c->bios, size_why);
			return -EINVAL;
		}
	}
	if (c->vars && stat(c->vars, &st) < 0) {
		snprintf(why, len, "--vars %s: %s", c->vars, strerror(errno));
		return -EINVAL;
	}
	if (c->cpus < 1 || c->cpus > MACHINE_MAX_CPUS) {
		snprintf(why, len, "--cpus %u: must be 1..%d", c->cpus, MACHINE_MAX_CPUS);
		return -EINVAL;
	}
	if (c->memory < (128ULL << 20) || c->memory % (2ULL << 20)) {
		snprintf(why, len, "--memory: at least 128M and a multiple of 2M (OVMF needs room)");
		return -EINVAL;
	}
	if (serial_backend_parse(c->serial) < 0) {
		snprintf(why, len, "--serial %s: want stdio, file:PATH, socket:PATH or none", c->serial);
		return -EINVAL;
	}
	if (c->control && control_path_check(c->control) < 0) {
		snprintf(why, len, "--control %s: want a unix socket path (at most 107 bytes)", c->control);
		return -EINVAL;
	}
	if (c->nvfio > MACHINE_MAX_VFIO) {
		snprintf(why, len, "too many --device vfio= (at most %d)", MACHINE_MAX_VFIO);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->nvfio; i++) {
		const struct machine_vfio *v = &c->vfio[i];
		char bdf[16];

		if (vfio_parse_bdf(v->bdf, bdf) < 0) {
			snprintf(why, len, "--device vfio=%.16s: not a PCI address such as 0000:01:00.0", v->bdf);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (!strcmp(c->vfio[j].bdf, bdf)) {
				snprintf(why, len, "--device vfio=%s given twice", bdf);
				return -EINVAL;
			}
		}
		if (v->rom == MVFIO_ROM_FILE) {
			if (stat(v->rom_file, &st) < 0) {
				snprintf(why, len, "--device vfio=%s,rom=%s: %s", bdf, v->rom_file, strerror(errno));
				return -EINVAL;
			}
			if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > 0x1000000) {
				snprintf(why, len, "--device vfio=%s,rom=%s: want a file of 1 byte to 16 MiB",
					 bdf, v->rom_file);
				return -EINVAL;
			}
		}
	}
	return 0;
}

void machine_ram_split(uint64_t memory, uint64_t *low, uint64_t *high)
{
	*low = memory < LAYOUT_LOWMEM_MAX ? memory : LAYOUT_LOWMEM_MAX;
	*high = memory - *low;
}

void machine_post_event(struct machine *m, enum machine_event ev, const char *fmt, ...)
{
	int expected = MEV_NONE;
	uint64_t one = 1;

	if (__atomic_compare_exchange_n(&m->event, &expected, (int)ev, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->why, sizeof(m->why), fmt, ap);
		va_end(ap);
	}
	if (write(m->event_fd, &one, sizeof(one)) < 0) {
		/* counter already non-zero: the loop will wake */
	}
}

/* --- interrupts (injected into the devices) ----------------------------------- */

void machine_set_irq(void *ctx, unsigned gsi, int level)
{
	struct machine *m = ctx;
	int r = 0;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_irq_line(&m->vm, gsi, level);
	pthread_rwlock_unlock(&m->vm_lock);
	if (r < 0)
		log_warn("irq %u: %s", gsi, strerror(-r));
}

int machine_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct machine *m = ctx;
	int r = 0;

	pthread_rwlock_rdlock(&m->vm_lock);
	if (m->vm_live)
		r = kvmvm_signal_msi(&m->vm, addr, data);
	pthread_rwlock_unlock(&m->vm_lock);
	return r;
}

/* --- vCPU threads --------------------------------------------------------------- */

struct vcpu_arg {
	struct machine *m;
	unsigned idx;
};

static void kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

static void *vcpu_thread(void *p)
{
	struct vcpu_arg *a = p;
	struct machine *m = a->m;
	struct kvmvcpu *v = &m->vcpu[a->idx];
	char why[256];
	sigset_t set;

	free(a);
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	switch (kvmvcpu_loop(v, &m->pio, &m->mmio, &m->stop, why, sizeof(why))) {
	case KVMSTOP_STOPPED:
		break;
	case KVMSTOP_RESET:
		machine_post_event(m, MEV_RESET, "%s", why);
		break;
	case KVMSTOP_POWEROFF:
		machine_post_event(m, MEV_POWEROFF, "%s", why);
		break;
	case KVMSTOP_CRASH:
		machine_post_event(m, MEV_CRASH, "%s", why);
		break;
	case KVMSTOP_ERROR:
		machine_post_event(m, MEV_ERROR, "%s", why);
		break;
	}
	return NULL;
}

static void stop_vcpus(struct machine *m, unsigned n)
{
	__atomic_store_n(&m->stop, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++) {
		kvmvcpu_request_exit(&m->vcpu[i], true);
		pthread_kill(m->thread[i], KICK_SIGNAL);
	}
	for (unsigned i = 0; i < n; i++) {
		/* Without KVM_CAP_IMMEDIATE_EXIT a kick can land just before KVM_RUN:
		 * kick again until the thread is gone. */
		struct timespec ts;
		while (1) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(m->thread[i], NULL, &ts) == 0)
				break;
			pthread_kill(m->thread[i], KICK_SIGNAL);
		}
	}
}

/* --- the I/O thread's event sources --------------------------------------------- */

static void event_ready(struct ev_source *s, uint32_t events)
{
	struct machine *m = s->opaque;
	uint64_t v;
	if (read(m->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("event fd: %s", strerror(errno));
	if (__atomic_load_n(&m->event, __ATOMIC_SEQ_CST) != MEV_NONE)
		ev_stop(&m->loop);
}

static void signal_ready(struct ev_source *s, uint32_t events)
{
	struct machine *m = s->opaque;
	struct signalfd_siginfo si;

	if (read(m->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	machine_post_event(m, MEV_KILLED, "stopped by signal %s", strsignal((int)si.ssi_signo));
}

/* --- the control socket (I/O thread) ------------------------------------------ */

static int ctl_status(void *ctx, char *buf, size_t len)
{
	struct machine *m = ctx;
	int64_t up = vclock_mono(&host_clock) - m->start_ns;

	snprintf(buf, len, "state=running name=%s pid=%ld cpus=%u memory=%llu uptime_ms=%lld resets=%u powerbutton=%u",
		 m->cfg.name, (long)getpid(), m->cfg.cpus, (unsigned long long)m->cfg.memory,
		 (long long)(up / 1000000), m->resets, m->powerbutton);
	return 0;
}

static int ctl_powerbutton(void *ctx)
{
	struct machine *m = ctx;
	bool listening = acpi_pm_power_button(&m->pm);

	m->powerbutton++;
	log_info("power button pressed through the control socket (guest %s)",
		 listening ? "listening" : "not listening");
	return listening;
}

static int ctl_reset(void *ctx)
{
	log_info("reset requested through the control socket");
	machine_post_event(ctx, MEV_RESET, "reset through the control socket");
	return 0;
}

static int ctl_stop(void *ctx)
{
	log_info("stop requested through the control socket");
	machine_post_event(ctx, MEV_STOPPED, "force-stopped through the control socket");
	return 0;
}

/* --- RAM ------------------------------------------------------------------------ */

static int alloc_ram(struct machine *m)
{
	uint64_t total;
	int r;

	machine_ram_split(m->cfg.memory, &m->ram_low, &m->ram_high);
	total = m->ram_low + m->ram_high;
	/* One anonymous mapping, never touched here: pages appear on first
	 * guest access, so polyvmm's own resident memory stays small. */
	m->ram = mmap(NULL, total, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED) {
		r = -errno;
		log_err("cannot reserve %llu MiB of guest RAM: %s", (unsigned long long)(total >> 20),
			strerror(errno));
		m->ram = NULL;
		return r;
	}
	madvise(m->ram, total, MADV_HUGEPAGE);
	madvise(m->ram, total, MADV_DONTDUMP);
	memset(&m->mem, 0, sizeof(m->mem));
	if ((r = gm_add(&m->mem, 0, m->ram_low, m->ram)) < 0)
		return r;
	if (m->ram_high && (r = gm_add(&m->mem, LAYOUT_HIGHMEM_BASE, m->ram_high, m->ram + m->ram_low)) < 0)
		return r;
	return 0;
}

static int map_ram(struct machine *m)
{
	int r = kvmvm_map(&m->vm, 0, m->ram_low, m->ram, false);
	if (r < 0)
		return r;
	if (m->ram_high) {
		r = kvmvm_map(&m->vm, LAYOUT_HIGHMEM_BASE, m->ram_high, m->ram + m->ram_low, false);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Creates the KVM VM, vCPUs and threads; the devices already exist. */
static int start_vm(struct machine *m)
{
	int r;

	r = kvmvm_open(&m->vm, m->cfg.kvm_dev);
	if (r < 0)
		return r;
	if ((r = map_ram(m)) < 0 || (r = machine_map_flash(m)) < 0)
		goto err_vm;
	pthread_rwlock_wrlock(&m->vm_lock);
	m->vm_live = true;
	pthread_rwlock_unlock(&m->vm_lock);
	/* Passed-through devices' irqfds died with the previous VM. */
	machine_passthrough_vm_started(m);
	for (unsigned i = 0; i < m->cfg.cpus; i++) {
		r = kvmvcpu_create(&m->vm, &m->vcpu[i], i, m->cfg.cpus);
		if (r < 0) {
			for (unsigned j = 0; j < i; j++)
				kvmvcpu_destroy(&m->vcpu[j]);
			goto err_live;
		}
	}
	m->stop = 0;
	for (unsigned i = 0; i < m->cfg.cpus; i++) {
		struct vcpu_arg *a = malloc(sizeof(*a));
		if (!a) {
			r = -ENOMEM;
		} else {
			a->m = m;
			a->idx = i;
			r = -pthread_create(&m->thread[i], NULL, vcpu_thread, a);
			if (r)
				free(a);
		}
		if (r) {
			stop_vcpus(m, i);
			for (unsigned j = 0; j < m->cfg.cpus; j++)
				kvmvcpu_destroy(&m->vcpu[j]);
			goto err_live;
		}
	}
	return 0;
err_live:
	pthread_rwlock_wrlock(&m->vm_lock);
	m->vm_live = false;
	pthread_rwlock_unlock(&m->vm_lock);
err_vm:
	kvmvm_close(&m->vm);
	return r;
}

static void stop_vm(struct machine *m)
{
	int ev;

	stop_vcpus(m, m->cfg.cpus);
	/* Stopped from outside (control socket, signal) rather than by the
	 * guest: say where each vCPU was, so a hung guest leaves a trace. */
	ev = __atomic_load_n(&m->event, __ATOMIC_SEQ_CST);
	if (ev == MEV_STOPPED || ev == MEV_KILLED) {
		char desc[320];

		for (unsigned i = 0; i < m->cfg.cpus; i++) {
			kvmvcpu_describe_stopped(&m->vcpu[i], desc, sizeof(desc));
			log_info("at stop: %s", desc);
		}
	}
	pthread_rwlock_wrlock(&m->vm_lock);
	m->vm_live = false;
	pthread_rwlock_unlock(&m->vm_lock);
	for (unsigned i = 0; i < m->cfg.cpus; i++)
		kvmvcpu_destroy(&m->vcpu[i]);
	kvmvm_close(&m->vm);
	m->vars_slot = false;
}

static int setup_signals(struct machine *m)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set;

	/* The kick signal must interrupt KVM_RUN, so no SA_RESTART. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	/* vCPU threads inherit this mask and unblock only the kick signal;
	 * SIGTERM/SIGINT/SIGHUP are read through a signalfd on the I/O thread. */
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	sigdelset(&set, KICK_SIGNAL);
	m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->signal_fd < 0)
		return -errno;
	m->signal_src = (struct ev_source){ m->signal_fd, signal_ready, m, "signals" };
	return ev_add(&m->loop, &m->signal_src, EPOLLIN);
}

static int exit_code(int ev)
{
	switch (ev) {
	case MEV_POWEROFF: return MEXIT_POWEROFF;
	case MEV_RESET: return MEXIT_RESET;
	case MEV_CRASH: return MEXIT_CRASH;
	case MEV_KILLED: return MEXIT_KILLED;
	case MEV_STOPPED: return MEXIT_STOPPED;
	default: return MEXIT_ERROR;
	}
}

int machine_run(const struct machine_config *cfg, char *why, size_t len)
{
	struct machine *m;
	int r, ev;

	if (machine_config_check(cfg, why, len) < 0)
		return MEXIT_USAGE;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(why, len, "out of memory");
		return MEXIT_ERROR;
	}
	m->cfg = *cfg;
	m->event_fd = m->signal_fd = -1;
	pthread_rwlock_init(&m->vm_lock, NULL);
	if ((r = ev_init(&m->loop)) < 0 || (r = io_bus_init(&m->pio, "pio")) < 0 ||
	    (r = io_bus_init(&m->mmio, "mmio")) < 0) {
		snprintf(why, len, "setup: %s", strerror(-r));
		free(m);
		return MEXIT_ERROR;
	}
	m->pio.trace = m->mmio.trace = cfg->trace_io;
	m->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->event_src = (struct ev_source){ m->event_fd, event_ready, m, "machine-events" };
	if (m->event_fd < 0 || ev_add(&m->loop, &m->event_src, EPOLLIN) < 0 || setup_signals(m) < 0) {
		snprintf(why, len, "setup: event loop: %s", strerror(errno));
		r = MEXIT_ERROR;
		goto out;
	}
	if ((r = alloc_ram(m)) < 0) {
		snprintf(why, len, "cannot allocate %llu MiB of guest RAM", (unsigned long long)(cfg->memory >> 20));
		r = MEXIT_ERROR;
		goto out;
	}
	if ((r = machine_devices_init(m)) < 0) {
		snprintf(why, len, "device setup failed: %s (see above)", strerror(-r));
		r = MEXIT_ERROR;
		goto out_dev;
	}
	m->control_ops = (struct control_ops){ m, ctl_status, ctl_powerbutton, ctl_reset, ctl_stop };
	if (cfg->control && (r = control_server_open(&m->control, cfg->control, &m->loop,
						     &m->control_ops)) < 0) {
		snprintf(why, len, "--control %s: %s", cfg->control, strerror(-r));
		r = MEXIT_ERROR;
		goto out_dev;
	}
	m->start_ns = vclock_mono(&host_clock);

	for (;;) {
		machine_devices_reset(m);
		if ((r = start_vm(m)) < 0) {
			snprintf(why, len, "cannot start the VM: %s (see above)", strerror(-r));
			r = MEXIT_ERROR;
			break;
		}
		r = ev_run(&m->loop);
		stop_vm(m);
		ev = __atomic_load_n(&m->event, __ATOMIC_SEQ_CST);
		if (r < 0 && ev == MEV_NONE) {
			snprintf(why, len, "event loop: %s", strerror(-r));
			r = MEXIT_ERROR;
			break;
		}
		if (ev == MEV_RESET && cfg->reboot == REBOOT_RESTART) {
			m->resets++;
			log_info("guest reset (%s): restarting (reset #%u)", m->why, m->resets);
			m->event = MEV_NONE;
			m->loop.stopping = false;
			continue;
		}
		snprintf(why, len, "%s", m->why[0] ? m->why : "stopped");
		r = exit_code(ev);
		break;
	}
out_dev:
	control_server_close(&m->control);
	machine_devices_fini(m);
	munmap(m->ram, m->ram_low + m->ram_high);
out:
	if (m->event_fd >= 0)
		close(m->event_fd);
	if (m->signal_fd >= 0)
		close(m->signal_fd);
	ev_destroy(&m->loop);
	io_bus_destroy(&m->pio);
	io_bus_destroy(&m->mmio);
	free(m);
	return r;
}
