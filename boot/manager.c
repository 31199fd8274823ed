#define LOG_MOD "manager"
#include "manager.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/input.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "devs.h"
#include "disc/mnt.h"
#include "disc/report.h"
#include "disc/scan.h"
#include "inv.h"
#include "log.h"
#include "plan.h"
#include "rlog.h"
#include "sup.h"
#include "tui.h"
#include "util.h"

#define MAX_CONS	2
#define LOG_MAX		(1024 * 1024)
#define CONSOLE_LOG_MAX	(512 * 1024)
#define CONF_REL	"EFI/polyboot/polyboot.conf"
#define EFI_GLOBAL_GUID	"8be4df61-93ca-11d2-aa0d-00e098032b8c"

struct vmslot {
	bool used;
	struct plan_vm pv;
	struct sup_vm sup;
	uint64_t start_at_ms;		/* pending start (order/delay), 0 none */
	bool pending;
	char cgroup[160];
	/* its devices on vfio-pci (pv.devices[0..nbound)), with the driver
	 * each had */
	unsigned nbound;
	struct devs_saved saved[CONF_MAX_DEVICES];
	/* while it holds the ESP's disk: its VARS file in RAM and where it
	 * goes back */
	char vars_ram[400], vars_esp[400];
};

struct mgr {
	/* options */
	const char *config_path, *inventory_path, *esp_opt, *polyvmm, *fwdir, *rundir;
	const char *cgroot, *inputdir, *sysfs;
	bool stdio_console;
	/* state */
	struct conf conf;
	struct inv *inv;		/* not in struct mgr: the compiler could not tell copies apart */
	struct plan_host host;
	struct tui *tui;
	struct tui_model model;
	int con[MAX_CONS];
	struct termios con_saved[MAX_CONS];
	unsigned ncon;
	int con_fb;			/* index in con[] of the framebuffer console, -1 */
	bool display_given;		/* the boot display went to a VM: menu on serial only */
	struct devs_list devs;		/* the PCI devices, read once at start */
	int focus;			/* -2 none (headless), -1 menu, else a VM slot */
	bool menu_shown;
	struct vmslot vm[PLAN_MAX_VMS];
	int row_slot[INV_MAX_OSES];	/* inventory OS -> VM slot, -1 */
	unsigned edit_cpus[INV_MAX_OSES];
	uint64_t edit_mem[INV_MAX_OSES];
	char esp[256];			/* the ESP's mount point, "" none */
	char esp_part[48];		/* its partition id */
	bool esp_mounted;
	int esp_lent;			/* the VM slot its disk went to (logs in RAM), -1 */
	char esp_dir[256];		/* where it is mounted again afterwards */
	struct rlog log;
	bool started_any;
	char failed[48];		/* a VM of this round that failed, "" none */
	uint64_t countdown_end;		/* 0: no countdown */
	int exit_code;			/* -1: keep running */
	bool shutting_down;		/* power off/reboot asked: waiting for the VMs */
	int sigfd;
	int button_fd[4];
	unsigned nbutton;
	char errors[1024];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- logging: the ESP's polyboot.log, and the consoles when no menu ------ */

static void con_write(struct mgr *m, const void *buf, size_t n)
{
	for (unsigned i = 0; i < m->ncon; i++)
		if (write_full(m->con[i], buf, n) < 0)
			continue;
}

static void log_sink(void *ctx, enum log_level level, const char *line)
{
	struct mgr *m = ctx;
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (m->log.fd >= 0) {
		struct timespec ts;
		char stamp[32];
		int k;

		clock_gettime(CLOCK_BOOTTIME, &ts);
		k = snprintf(stamp, sizeof(stamp), "[%5lld.%03ld] ", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
		rlog_write(&m->log, stamp, (size_t)k);
		rlog_write(&m->log, buf, (size_t)n - 2);
		rlog_write(&m->log, "\n", 1);
		rlog_sync(&m->log);
	}
	/* The menu owns the screen while shown; VM consoles own it when focused. */
	if (m->focus == -2 || (!m->menu_shown && m->focus == -1))
		con_write(m, buf, (size_t)n);
}

/* --- consoles ------------------------------------------------------------- */

static void con_add(struct mgr *m, int fd)
{
	struct termios t;

	if (m->ncon == MAX_CONS || fd < 0)
		return;
	if (tcgetattr(fd, &t) == 0) {
		m->con_saved[m->ncon] = t;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		tcsetattr(fd, TCSANOW, &t);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	m->con[m->ncon++] = fd;
}

static void con_open(struct mgr *m)
{
	if (m->stdio_console) {
		con_add(m, dup(STDIN_FILENO));
		return;
	}
	if (m->conf.console_serial) {
		int fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
		struct termios t;

		if (fd >= 0 && tcgetattr(fd, &t) == 0)
			con_add(m, fd);
		else if (fd >= 0)
			close(fd);
	}
	if (m->conf.console_fb && access("/sys/class/graphics/fb0", F_OK) == 0) {
		int fd = open("/dev/tty1", O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (fd >= 0) {
			m->con_fb = (int)m->ncon;
			con_add(m, fd);
			if (m->con_fb == (int)m->ncon)	/* not added */
				m->con_fb = -1;
		}
	}
	if (m->ncon == 0)	/* whatever init gave us */
		con_add(m, dup(STDIN_FILENO));
}

static void con_restore(struct mgr *m)
{
	static const char reset[] = "\033[0m\033[?25h\r\n";

	con_write(m, reset, sizeof(reset) - 1);
	for (unsigned i = 0; i < m->ncon; i++) {
		tcsetattr(m->con[i], TCSANOW, &m->con_saved[i]);
		close(m->con[i]);
	}
	m->ncon = 0;
}

/* --- discovery ------------------------------------------------------------ */

/* Runs the scan in a child (its private mount namespace dies with it) and
 * reads the inventory back as JSON. */
static int scan_inventory(struct mgr *m, char **json, size_t *len)
{
	int p[2], st;
	pid_t pid;
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (m->inventory_path) {
		int fd = open(m->inventory_path, O_RDONLY | O_CLOEXEC);
		struct stat sb;
		int r;

		if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size > (16 << 20)) {
			r = fd < 0 ? -errno : -EFBIG;
			if (fd >= 0)
				close(fd);
			return r;
		}
		buf = malloc((size_t)sb.st_size + 1);
		if (!buf || pread_full(fd, buf, (size_t)sb.st_size, 0) < 0) {
			free(buf);
			close(fd);
			return -EIO;
		}
		close(fd);
		buf[sb.st_size] = 0;
		*json = buf;
		*len = (size_t)sb.st_size;
		return 0;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct scan_opts o = { 0 };
		struct scan *s;
		char *out;

		close(p[0]);
		log_set_sink(NULL, NULL);
		s = scan_new(&o);
		if (!s || scan_add_sysfs(s, "") < 0 || scan_run(s) < 0)
			_exit(1);
		out = report_json(s);
		if (!out || write_full(p[1], out, strlen(out)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf)
			break;
		if (n + 1 >= cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(p[0], buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -ENOMEM;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0) {
		free(buf);
		return -EIO;
	}
	buf[n] = 0;
	*json = buf;
	*len = n;
	return 0;
}

/* --- the ESP --------------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Mounts, read-write, the ESP that holds \EFI\polyboot (the one we booted
 * from): it keeps the configuration, the VMs' VARS files and the logs. */
static void esp_mount(struct mgr *m)
{
	char dir[300], probe[340];

	if (m->esp_opt) {
		snprintf(m->esp, sizeof(m->esp), "%s", m->esp_opt);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/esp", m->rundir);
	mkdir(dir, 0755);
	for (unsigned d = 0; d < m->inv->ndisks; d++) {
		const struct inv_disk *disk = &m->inv->disks[d];

		for (unsigned i = 0; i < disk->nparts; i++) {
			const struct inv_part *p = &disk->parts[i];

			if (strcmp(p->type_name, "esp") || strcmp(p->fs, "vfat") || !p->dev[0])
				continue;
			if (mount(p->dev, dir, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME,
				  "utf8,errors=remount-ro") < 0) {
				log_warn("cannot mount %s (ESP): %s", p->dev, strerror(errno));
				continue;
			}
			snprintf(probe, sizeof(probe), "%s/EFI/polyboot", dir);
			if (is_dir(probe)) {
				snprintf(m->esp, sizeof(m->esp), "%.200s", dir);
				snprintf(m->esp_part, sizeof(m->esp_part), "%s", p->id);
				m->esp_mounted = true;
				log_info("firmware ESP: %s (%s), mounted read-write", p->dev, p->id);
				return;
			}
			umount(dir);
		}
	}
	log_warn("no ESP with \\EFI\\polyboot found: no configuration file, VARS files kept in memory only");
}

static void mkdirs(const char *base, const char *rel)
{
	char path[400];
	size_t bl = strlen(base);

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	for (char *p = path + bl + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void logs_open(struct mgr *m)
{
	char path[400];

	if (!m->esp[0])
		return;
	mkdirs(m->esp, "EFI/polyboot/logs");
	snprintf(path, sizeof(path), "%s/EFI/polyboot/logs/polyboot.log", m->esp);
	if (rlog_open(&m->log, path, LOG_MAX) < 0)
		log_warn("cannot open %s: %s", path, strerror(errno));
	else
		rlog_write(&m->log, "--- polyboot started\n", 21);
}

/* --- the menu --------------------------------------------------------------- */

static const char *where_of(const struct mgr *m, const struct inv_os *o, char *buf, size_t len)
{
	int d = o->esp_disk >= 0 ? o->esp_disk : o->vm_disk;
	int p = o->esp_disk >= 0 ? o->esp_part : -1;

	if (d < 0 && o->nneeds) {
		d = o->needs[0].disk;
		p = o->needs[0].part;
	}
	if (d < 0) {
		snprintf(buf, len, "-");
	} else if (p >= 0 && m->inv->disks[d].parts[p].dev[0]) {
		const char *s = strrchr(m->inv->disks[d].parts[p].dev, '/');

		snprintf(buf, len, "%.39s", s ? s + 1 : m->inv->disks[d].parts[p].dev);
	} else if (p >= 0) {
		snprintf(buf, len, "%s:%u", m->inv->disks[d].name, m->inv->disks[d].parts[p].num);
	} else {
		snprintf(buf, len, "%s", m->inv->disks[d].name);
	}
	return buf;
}

static void fmt_mem(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ull << 30) && b % (1ull << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(b >> 30));
	else if (b >= (1ull << 30))
		snprintf(buf, len, "%.1f GiB", (double)b / (1ull << 30));
	else
		snprintf(buf, len, "%llu MiB", (unsigned long long)(b >> 20));
}

static void model_update(struct mgr *m)
{
	struct tui_model *md = &m->model;

	for (unsigned i = 0; i < m->inv->noses && i < TUI_MAX_ROWS; i++) {
		struct tui_row *r = &md->rows[i];
		int s = m->row_slot[i];
		char mem[32];

		if (s < 0) {
			r->state = TUI_STOPPED;
			if (m->edit_cpus[i] || m->edit_mem[i]) {
				fmt_mem(mem, sizeof(mem), m->edit_mem[i]);
				snprintf(r->detail, sizeof(r->detail), "%u CPU%s, %s", m->edit_cpus[i],
					 m->edit_cpus[i] == 1 ? "" : "s", mem);
			} else {
				r->detail[0] = 0;
			}
			continue;
		}
		const struct vmslot *v = &m->vm[s];

		fmt_mem(mem, sizeof(mem), v->pv.memory);
		switch (v->sup.state) {
		case SUP_STARTING:
			r->state = TUI_STARTING;
			snprintf(r->detail, sizeof(r->detail), "%s", v->pending ? "waiting (order/delay)" : "");
			break;
		case SUP_RUNNING:
			r->state = TUI_RUNNING;
			snprintf(r->detail, sizeof(r->detail), "%u CPU%s, %s", v->pv.cpus, v->pv.cpus == 1 ? "" : "s",
				 mem);
			break;
		case SUP_STOPPING:
			r->state = TUI_STOPPING;
			snprintf(r->detail, sizeof(r->detail), "shutting down");
			break;
		case SUP_STOPPED:
			r->state = TUI_STOPPED;
			snprintf(r->detail, sizeof(r->detail), "%.60s", v->sup.reason);
			break;
		case SUP_FAILED:
			r->state = TUI_FAILED;
			snprintf(r->detail, sizeof(r->detail), "%.60s", v->sup.reason);
			break;
		}
	}
	md->countdown = m->countdown_end ? (int)((m->countdown_end - now_ms() + 999) / 1000) : -1;
	snprintf(md->message, sizeof(md->message), "%s", m->errors);
}

static void menu_draw(struct mgr *m)
{
	static char frame[64 * 1024];
	size_t n;

	if (m->focus != -1)
		return;
	model_update(m);
	n = tui_render(m->tui, &m->model, frame, sizeof(frame));
	con_write(m, frame, n);
	m->menu_shown = true;
}

static void model_init(struct mgr *m, const char *version)
{
	struct tui_model *md = &m->model;
	char mem[32];

	memset(md, 0, sizeof(*md));
	snprintf(md->title, sizeof(md->title), "polyboot %s", version);
	fmt_mem(mem, sizeof(mem), m->host.memory);
	snprintf(md->info, sizeof(md->info), "%u CPUs, %s, %s", m->host.cpus, mem,
		 access("/dev/kvm", F_OK) == 0 ? "KVM ready" : "NO KVM");
	md->nrows = m->inv->noses < TUI_MAX_ROWS ? m->inv->noses : TUI_MAX_ROWS;
	for (unsigned i = 0; i < md->nrows; i++) {
		const struct inv_os *o = &m->inv->oses[i];
		struct tui_row *r = &md->rows[i];

		snprintf(r->label, sizeof(r->label), "%s", o->label[0] ? o->label : o->id);
		snprintf(r->kind, sizeof(r->kind), "%s", o->kind);
		where_of(m, o, r->where, sizeof(r->where));
		r->can_native = o->has_kexec || o->bootnext >= 0;
		r->cpus = 2;
		r->memory = 1ull << 30;
	}
	md->countdown = -1;
	md->max_cpus = m->host.cpus;
	md->max_memory = m->host.memory > m->conf.reserve_memory ? m->host.memory - m->conf.reserve_memory : 0;
}

/* The configuration's and the planner's errors, for the log and the menu. */
static void errors_collect(struct mgr *m, unsigned from)
{
	size_t n = strlen(m->errors);

	for (unsigned i = from; i < m->conf.nerr; i++) {
		char line[400];

		const char *shown = line, *base = strrchr(m->conf.path, '/');
		size_t plen = strlen(m->conf.path);

		conf_format_error(&m->conf, i, line, sizeof(line));
		log_err("%s", line);
		/* The menu is narrow: the file's name without its directory. */
		if (base && plen && strncmp(line, m->conf.path, plen) == 0)
			shown = line + (base + 1 - m->conf.path);
		if (n + strlen(shown) + 2 < sizeof(m->errors))
			n += (size_t)snprintf(m->errors + n, sizeof(m->errors) - n, "%s%s", n ? "\n" : "", shown);
	}
	if (m->conf.err_dropped)
		log_err("%u more errors not shown", m->conf.err_dropped);
}

/* --- VMs --------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out, r = 0;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if ((r = write_full(out, buf, (size_t)n)) < 0)
			break;
	if (n < 0)
		r = -errno;
	if (!r && fsync(out) < 0)
		r = -errno;
	close(in);
	close(out);
	return r;
}

static int run_wait(const char *const argv[], char *out, size_t outlen)
{
	int p[2], st;
	pid_t pid;
	size_t n = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + n, outlen - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) >= outlen - 1)
			break;
	}
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The VM's VARS file: kept on the ESP, made from the OVMF template on the
 * first start with a Boot#### for the OS's loader; the OS owns it after. */
static int vars_prepare(struct mgr *m, struct vmslot *v, char *path, size_t len)
{
	const struct inv_os *o = &m->inv->oses[v->pv.os];
	char tmp[420], tmpl[300], why[300], partnum[16];
	const char *dir = m->esp[0] ? m->esp : m->rundir;
	int r;

	if (m->esp[0]) {
		mkdirs(m->esp, "EFI/polyboot/vars");
		snprintf(path, len, "%s/EFI/polyboot/vars/%s", dir, v->pv.vars_name);
	} else {
		snprintf(path, len, "%s/%s", dir, v->pv.vars_name);
	}
	{
		struct stat st;

		if (stat(path, &st) == 0) {
			char bad[440];

			if (st.st_size > 0 && st.st_size % 4096 == 0)
				return 0;
			/* Cut short by a power cut before it was synced: keep it
			 * for inspection, start again from the template. */
			snprintf(bad, sizeof(bad), "%s.broken", path);
			rename(path, bad);
			log_warn("%s: VARS file %s was damaged (%lld bytes), kept as %s; making a new one",
				 v->pv.name, path, (long long)st.st_size, bad);
		}
	}
	snprintf(tmpl, sizeof(tmpl), "%s/OVMF_VARS_4M.fd", m->fwdir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((r = copy_file(tmpl, tmp)) < 0) {
		log_err("%s: cannot create its VARS file %s: %s", v->pv.name, path, strerror(-r));
		return r;
	}
	/* an ESP on a passed-through device is read here, before it is bound */
	if (v->pv.loader[0] && (v->pv.boot_disk >= 0 || v->pv.boot_on_device) && o->esp_disk >= 0) {
		const char *argv[] = { m->polyvmm, "vars", "boot-add", tmp, "--disk",
				       m->inv->disks[o->esp_disk].dev, "--part", partnum, "--loader",
				       v->pv.loader, "--label", o->label[0] ? o->label : o->id, NULL };

		snprintf(partnum, sizeof(partnum), "%u", v->pv.boot_part);
		r = run_wait(argv, why, sizeof(why));
		if (r != 0) {
			log_err("%s: cannot add its boot entry: %s", v->pv.name, why);
			unlink(tmp);
			return -EIO;
		}
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	/* The new name and size must survive a power cut (vfat keeps the size
	 * in the directory entry): sync the whole ESP. */
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			syncfs(dfd);
			close(dfd);
		}
	}
	log_info("%s: new VARS file %s (Boot0001 -> %s)", v->pv.name, path, v->pv.loader);
	return 0;
}

static void cgroup_prepare(struct mgr *m, struct vmslot *v)
{
	char path[160], file[220];
	int fd;

	v->cgroup[0] = 0;
	snprintf(path, sizeof(path), "%.100s/cgroup.controllers", m->cgroot);
	if (!v->pv.cpuset[0] || access(path, F_OK) < 0)
		return;
	snprintf(path, sizeof(path), "%.100s/cgroup.subtree_control", m->cgroot);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "+cpuset", 7) < 0)
			log_warn("cgroup: cannot enable the cpuset controller: %s", strerror(errno));
		close(fd);
	}
	snprintf(path, sizeof(path), "%.100s/polyboot-%s", m->cgroot, v->pv.name);
	mkdir(path, 0755);
	snprintf(file, sizeof(file), "%s/cpuset.cpus", path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v->pv.cpuset, strlen(v->pv.cpuset)) < 0) {
		log_warn("%s: cpuset %s not applied: %s", v->pv.name, v->pv.cpuset, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	snprintf(v->cgroup, sizeof(v->cgroup), "%s", path);
}

/* --- devices ------------------------------------------------------------------ */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Does @d hold the disk of the ESP polyboot mounted? */
static bool holds_esp(const struct mgr *m, const struct devs_dev *d)
{
	int disk = -1;
	const char *b;

	if (!m->esp_part[0] || inv_find_part(m->inv, m->esp_part, &disk) < 0 || disk < 0)
		return false;
	b = strrchr(m->inv->disks[disk].dev, '/');
	for (unsigned i = 0; b && i < d->nblock; i++)
		if (!strcmp(d->block[i].name, b + 1))
			return true;
	return false;
}

/* The boot display goes to a VM: the menu leaves the framebuffer console
 * (serial only from now on) and the firmware framebuffer is let go. */
static void display_give(struct mgr *m, const struct vmslot *v, const char *bdf)
{
	char why[300];
	int r;

	if (m->display_given)
		return;
	m->display_given = true;
	if (m->con_fb >= 0) {
		unsigned k = (unsigned)m->con_fb;

		tcsetattr(m->con[k], TCSANOW, &m->con_saved[k]);
		close(m->con[k]);
		for (unsigned i = k; i + 1 < m->ncon; i++) {
			m->con[i] = m->con[i + 1];
			m->con_saved[i] = m->con_saved[i + 1];
		}
		m->ncon--;
		m->con_fb = -1;
		log_warn("%s gets %s, the boot display: the menu moves to the serial console", v->pv.name, bdf);
	}
	r = devs_release_display(m->sysfs, why, sizeof(why));
	if (r < 0)
		log_warn("the boot display was not let go entirely: %s", why);
	else
		log_info("boot display: %d console and framebuffer binding%s released", r, r == 1 ? "" : "s");
}

/* The VM @v gets the disk of polyboot's ESP: its VARS file moves to RAM
 * (@vars is changed to it), so does the log, and the ESP is unmounted
 * until the VM stops (esp_return()). */
static int esp_lend(struct mgr *m, struct vmslot *v, char *vars, size_t len)
{
	char logp[400];
	int r;

	if (!m->esp_mounted)	/* --esp DIR: not ours to unmount */
		return 0;
	for (unsigned i = 0; i < PLAN_MAX_VMS; i++) {
		struct vmslot *o = &m->vm[i];

		if (o == v || !o->used)
			continue;
		if (o->sup.pid > 0) {
			log_err("%s: its device holds the disk of the ESP polyboot runs from, which %s uses (its VARS file) while it runs: start %s alone",
				v->pv.name, o->pv.name, v->pv.name);
			snprintf(v->sup.reason, sizeof(v->sup.reason), "the ESP's disk is in use by %.40s", o->pv.name);
			return -EBUSY;
		}
		rlog_close(&o->sup.console_log);	/* a stopped VM's log holds the ESP too */
	}
	if (v->pv.firmware != CONF_FW_SEABIOS) {
		snprintf(v->vars_ram, sizeof(v->vars_ram), "%s/%s", m->rundir, v->pv.vars_name);
		if ((r = copy_file(vars, v->vars_ram)) < 0) {
			log_err("%s: cannot copy its VARS file to %s: %s", v->pv.name, v->vars_ram, strerror(-r));
			snprintf(v->sup.reason, sizeof(v->sup.reason), "no VARS file in RAM (see the log)");
			v->vars_ram[0] = 0;
			return r;
		}
		snprintf(v->vars_esp, sizeof(v->vars_esp), "%s", vars);
		snprintf(vars, len, "%s", v->vars_ram);
	}
	snprintf(logp, sizeof(logp), "%s/polyboot.log", m->rundir);
	log_warn("%s gets the disk of the ESP polyboot runs from: the ESP is unmounted and the logs are kept in RAM (%s) until it stops",
		 v->pv.name, logp);
	rlog_close(&m->log);
	sync();
	if (umount(m->esp) < 0) {
		r = -errno;
		snprintf(logp, sizeof(logp), "%.300s/EFI/polyboot/logs/polyboot.log", m->esp);
		rlog_open(&m->log, logp, LOG_MAX);
		log_err("%s: cannot unmount the ESP %s: %s", v->pv.name, m->esp, strerror(-r));
		snprintf(v->sup.reason, sizeof(v->sup.reason), "the ESP is busy (see the log)");
		return r;
	}
	if (rlog_open(&m->log, logp, LOG_MAX) == 0)
		rlog_write(&m->log, "--- the ESP is lent to a VM: logs in RAM\n", 41);
	snprintf(m->esp_dir, sizeof(m->esp_dir), "%s", m->esp);
	m->esp[0] = 0;
	m->esp_mounted = false;
	m->esp_lent = (int)(v - m->vm);
	return 0;
}

/* The VM that had the ESP's disk stopped and its device is back with its
 * driver: mount the ESP again, put the VARS file and the RAM log back. */
static void esp_return(struct mgr *m, struct vmslot *v)
{
	char ram[400], buf[4096];
	const char *dev;
	int disk = -1, part, fd;
	ssize_t n;

	m->esp_lent = -1;
	part = inv_find_part(m->inv, m->esp_part, &disk);
	if (part < 0 || disk < 0)
		return;
	dev = m->inv->disks[disk].parts[part].dev;
	/* the driver probes it again, maybe asynchronously */
	for (unsigned t = 0; access(dev, F_OK) < 0 && t < 5000; t += 100)
		sleep_ms(100);
	if (mount(dev, m->esp_dir, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, "utf8,errors=remount-ro") < 0) {
		log_warn("the ESP (%s) could not be mounted again: %s; the logs stay in RAM%s%s until power-off", dev,
			 strerror(errno), v->vars_ram[0] ? ", and so does the VARS file " : "", v->vars_ram);
		return;
	}
	snprintf(m->esp, sizeof(m->esp), "%s", m->esp_dir);
	m->esp_mounted = true;
	if (v->vars_ram[0]) {
		char tmp[420];
		int r;

		snprintf(tmp, sizeof(tmp), "%s.new", v->vars_esp);
		if ((r = copy_file(v->vars_ram, tmp)) < 0 || rename(tmp, v->vars_esp) < 0) {
			log_warn("%s: its VARS file could not go back to %s (%s); it stays in %s until power-off", v->pv.name,
				 v->vars_esp, strerror(r < 0 ? -r : errno), v->vars_ram);
			unlink(tmp);
		} else {
			unlink(v->vars_ram);
			v->vars_ram[0] = 0;
		}
	}
	/* the log: back on the ESP, with what was kept in RAM */
	snprintf(ram, sizeof(ram), "%s/polyboot.log", m->rundir);
	rlog_close(&m->log);
	snprintf(buf, sizeof(buf), "%s/EFI/polyboot/logs/polyboot.log", m->esp);
	if (rlog_open(&m->log, buf, LOG_MAX) == 0 && (fd = open(ram, O_RDONLY | O_CLOEXEC)) >= 0) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			rlog_write(&m->log, buf, (size_t)n);
		close(fd);
		unlink(ram);
	}
	{
		int dfd = open(m->esp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			syncfs(dfd);
			close(dfd);
		}
	}
	log_info("the ESP %s is mounted again: logs and VARS files on it", m->esp);
}

/* Gives @v's devices back to their drivers (after the VM stopped, or
 * when its start failed). */
static void devices_give_back(struct mgr *m, struct vmslot *v)
{
	bool had_esp = m->esp_lent == (int)(v - m->vm);

	while (v->nbound) {
		unsigned i = --v->nbound;
		const char *bdf = v->pv.devices[i];
		const struct devs_saved *sv = &v->saved[i];
		char why[400];

		if (devs_restore(m->sysfs, bdf, sv, why, sizeof(why)) < 0)
			log_err("%s: %s not given back to %s: %s", v->pv.name, bdf,
				sv->driver[0] ? sv->driver : "no driver", why);
		else if (!sv->was_vfio)
			log_info("%s back to %s", bdf, sv->driver[0] ? sv->driver : "no driver");
	}
	if (had_esp)
		esp_return(m, v);
}

/* Before @v starts: every device to vfio-pci (the boot display and the
 * ESP's disk first let go). 0, or -errno with the reason in @v. */
static int devices_take(struct mgr *m, struct vmslot *v, char *vars, size_t len)
{
	bool esp = false;
	int r;

	for (unsigned i = 0; i < v->pv.ndevices; i++) {
		const struct devs_dev *d = devs_find(&m->devs, v->pv.devices[i]);

		esp |= d && holds_esp(m, d);
	}
	if (esp && (r = esp_lend(m, v, vars, len)) < 0)
		return r;
	for (unsigned i = 0; i < v->pv.ndevices; i++) {
		const char *bdf = v->pv.devices[i];
		const struct devs_dev *d = devs_find(&m->devs, bdf);
		struct devs_saved *sv = &v->saved[i];
		char why[400];

		if (d && d->boot_vga)
			display_give(m, v, bdf);
		r = devs_bind_vfio(m->sysfs, bdf, sv, why, sizeof(why));
		if (r < 0) {
			log_err("%s: cannot give %s to the VM: %s", v->pv.name, bdf, why);
			snprintf(v->sup.reason, sizeof(v->sup.reason), "cannot bind %s (see the log)", bdf);
			devices_give_back(m, v);
			return r;
		}
		v->nbound = i + 1;
		log_info("%s: %s (%s) on vfio-pci%s%s%s", v->pv.name, bdf, d ? devs_class_name(d->class) : "?",
			 sv->was_vfio ? " already" : ", was ", sv->was_vfio ? "" : sv->driver[0] ? sv->driver : "unbound",
			 v->pv.device_auto[i] ? " (passthrough auto)" : "");
	}
	return 0;
}

static void vm_launch(struct mgr *m, struct vmslot *v)
{
	const char *argv[SUP_MAX_ARGS];
	char code[300], vars[400], cpus[16], mem[32], ctl[300], logp[400], memw[32];
	char devarg[CONF_MAX_DEVICES][32];
	unsigned n = 0;
	int r;

	v->pending = false;
	/* Legacy BIOS installs run SeaBIOS, which keeps no variables. */
	if (v->pv.firmware != CONF_FW_SEABIOS && vars_prepare(m, v, vars, sizeof(vars)) < 0) {
		snprintf(v->sup.reason, sizeof(v->sup.reason), "no VARS file (see the log)");
		v->sup.state = SUP_FAILED;
		snprintf(m->failed, sizeof(m->failed), "%s", v->pv.name);
		return;
	}
	cgroup_prepare(m, v);
	snprintf(code, sizeof(code), "%s/%s", m->fwdir,
		 v->pv.firmware == CONF_FW_SEABIOS ? "bios-256k.bin" : "OVMF_CODE_4M.fd");
	snprintf(cpus, sizeof(cpus), "%u", v->pv.cpus);
	snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(v->pv.memory >> 20));
	/* A unix socket path has room for 107 bytes: refuse rather than cut it. */
	if (snprintf(ctl, sizeof(v->sup.ctl_path), "%s/%s.ctl", m->rundir, v->pv.name) >=
	    (int)sizeof(v->sup.ctl_path)) {
		log_err("%s: control socket path %s/%s.ctl is longer than a unix socket allows (107 bytes): use a shorter --run-dir",
			  v->pv.name, m->rundir, v->pv.name);
		snprintf(v->sup.reason, sizeof(v->sup.reason), "run dir too long");
		v->sup.state = SUP_FAILED;
		snprintf(m->failed, sizeof(m->failed), "%s", v->pv.name);
		return;
	}
	memcpy(v->sup.ctl_path, ctl, sizeof(v->sup.ctl_path));
	/* the devices, bound last: nothing above can fail after them */
	if (v->pv.ndevices && devices_take(m, v, vars, sizeof(vars)) < 0) {
		v->sup.state = SUP_FAILED;
		snprintf(m->failed, sizeof(m->failed), "%s", v->pv.name);
		return;
	}
	argv[n++] = m->polyvmm;
	argv[n++] = "--name";
	argv[n++] = v->pv.name;
	if (v->pv.firmware == CONF_FW_SEABIOS) {
		argv[n++] = "--bios";
		argv[n++] = code;
	} else {
		argv[n++] = "--firmware";
		argv[n++] = code;
		argv[n++] = "--vars";
		argv[n++] = vars;
	}
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--memory";
	argv[n++] = mem;
	argv[n++] = "--serial";
	argv[n++] = "stdio";
	argv[n++] = "--control";
	argv[n++] = ctl;
	argv[n++] = "--reboot";
	argv[n++] = v->pv.on_reboot == CONF_REBOOT_STOP ? "exit" : "restart";
	for (unsigned i = 0; i < v->pv.ndisks && n + 3 < SUP_MAX_ARGS; i++) {
		argv[n++] = "--disk";
		argv[n++] = v->pv.disks[i].spec;
	}
	for (unsigned i = 0; i < v->pv.ndevices && n + 3 < SUP_MAX_ARGS; i++) {
		snprintf(devarg[i], sizeof(devarg[i]), "vfio=%.16s", v->pv.devices[i]);
		argv[n++] = "--device";
		argv[n++] = devarg[i];
	}
	argv[n] = NULL;
	if (m->esp[0]) {
		snprintf(logp, sizeof(logp), "%s/EFI/polyboot/logs/%s.console.log", m->esp, v->pv.name);
		if (rlog_open(&v->sup.console_log, logp, CONSOLE_LOG_MAX) == 0)
			rlog_write(&v->sup.console_log, "\n--- VM started\n", 16);
	}
	r = sup_spawn(&v->sup, argv, v->cgroup[0] ? v->cgroup : NULL);
	v->sup.t_start_ms = now_ms();
	if (r < 0) {
		snprintf(v->sup.reason, sizeof(v->sup.reason), "cannot start polyvmm: %s", strerror(-r));
		v->sup.state = SUP_FAILED;
		snprintf(m->failed, sizeof(m->failed), "%s", v->pv.name);
		log_err("%s: %s", v->pv.name, v->sup.reason);
		devices_give_back(m, v);
		return;
	}
	fmt_mem(memw, sizeof(memw), v->pv.memory);
	log_info("started %s (%s): %u CPU%s%s%s, %s, %u disk%s, %u device%s, pid %d", v->pv.name,
		 m->inv->oses[v->pv.os].label, v->pv.cpus, v->pv.cpus == 1 ? "" : "s",
		 v->pv.cpuset[0] ? " on cpuset " : "", v->pv.cpuset, memw, v->pv.ndisks,
		 v->pv.ndisks == 1 ? "" : "s", v->pv.ndevices, v->pv.ndevices == 1 ? "" : "s", (int)v->sup.pid);
	for (unsigned i = 0; i < v->pv.ndisks; i++)
		log_info("%s: disk %u: %s", v->pv.name, i, v->pv.disks[i].desc);
	for (unsigned i = 0; i < v->pv.nnotes; i++)
		log_info("%s: %s", v->pv.name, v->pv.notes[i]);
}

static unsigned running_count(const struct mgr *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PLAN_MAX_VMS; i++)
		if (m->vm[i].used && (m->vm[i].sup.pid > 0 || m->vm[i].pending))
			n++;
	return n;
}

/* Applies the menu's resource edits as [os] sections of the configuration. */
static void apply_edits(struct mgr *m, const int *sel, unsigned nsel)
{
	for (unsigned i = 0; i < nsel; i++) {
		int os = sel[i], ci;
		struct conf_os *s;

		if (!m->edit_cpus[os] && !m->edit_mem[os])
			continue;
		ci = plan_conf_for_os(&m->conf, m->inv, os);
		if (ci < 0) {
			if (m->conf.nos == CONF_MAX_OS)
				continue;
			ci = (int)m->conf.nos++;
			s = &m->conf.os[ci];
			memset(s, 0, sizeof(*s));
			char id[sizeof(m->inv->oses[os].id)];

			memcpy(id, m->inv->oses[os].id, sizeof(id));
			snprintf(s->name, sizeof(s->name), "%.40s", id);
			snprintf(s->match, sizeof(s->match), "%s", id);
			s->disks = CONF_DISKS_AUTO;
		}
		s = &m->conf.os[ci];
		s->cpus = m->edit_cpus[os];
		s->memory = m->edit_mem[os];
	}
}

/* Plans and starts @sel; false with the reasons shown when refused. */
static bool start_set(struct mgr *m, const int *sel, unsigned nsel)
{
	static struct plan p;
	int want[PLAN_MAX_VMS];
	unsigned nwant = 0, before = m->conf.nerr;
	uint64_t t = now_ms();

	m->errors[0] = 0;
	for (unsigned i = 0; i < nsel && nwant < PLAN_MAX_VMS; i++) {
		if (m->row_slot[sel[i]] >= 0 && m->vm[m->row_slot[sel[i]]].sup.pid > 0)
			continue;	/* already running */
		want[nwant++] = sel[i];
	}
	if (!nwant)
		return false;
	/* The planner sees what already runs as part of the selection. */
	for (unsigned i = 0; i < PLAN_MAX_VMS && nwant < PLAN_MAX_VMS; i++)
		if (m->vm[i].used && m->vm[i].sup.pid > 0)
			want[nwant++] = m->vm[i].pv.os;
	apply_edits(m, want, nwant);
	if (plan_make(&p, &m->conf, m->inv, &m->host, want, nwant) != 0) {
		log_err("cannot start the selection:");
		errors_collect(m, before);
		m->conf.nerr = before;
		return false;
	}
	for (unsigned i = 0; i < p.nvm; i++) {
		struct vmslot *v;
		int s = m->row_slot[p.vm[i].os];

		if (s >= 0 && m->vm[s].sup.pid > 0)
			continue;
		if (s < 0) {
			for (s = 0; s < PLAN_MAX_VMS && m->vm[s].used; s++)
				;
			if (s == PLAN_MAX_VMS)
				break;
		} else {
			sup_release(&m->vm[s].sup);
		}
		v = &m->vm[s];
		memset(v, 0, sizeof(*v));
		v->used = true;
		v->pv = p.vm[i];
		sup_init(&v->sup, v->pv.name);
		m->row_slot[v->pv.os] = s;
		t += v->pv.delay_ms;
		v->pending = true;
		v->sup.state = SUP_STARTING;
		v->start_at_ms = t;
	}
	m->started_any = true;
	m->failed[0] = 0;
	m->countdown_end = 0;
	return true;
}

static void vm_command(struct mgr *m, struct vmslot *v, const char *cmd)
{
	char reply[200];
	int r;

	if (v->sup.pid <= 0)
		return;
	r = sup_control(v->sup.ctl_path, cmd, reply, sizeof(reply), 2000);
	if (r < 0) {
		log_warn("%s: control %s: %s%s", v->pv.name, cmd, strerror(-r),
			 strcmp(cmd, "stop") == 0 ? "; killing it" : "");
		if (strcmp(cmd, "stop") == 0)
			kill(v->sup.pid, SIGKILL);
		return;
	}
	log_info("%s: %s: %s", v->pv.name, cmd, reply);
	if (strcmp(cmd, "powerbutton") == 0 && strstr(reply, "not-listening"))
		log_warn("%s has not enabled the ACPI power button (no button driver?): it will be "
			 "force-stopped in %u s unless it shuts down by itself", v->pv.name, m->conf.grace_s);
}

static void power_button_all(struct mgr *m)
{
	uint64_t t = now_ms();

	for (unsigned i = 0; i < PLAN_MAX_VMS; i++) {
		struct vmslot *v = &m->vm[i];

		if (v->pending) {	/* not started yet: never will be */
			v->pending = false;
			v->sup.state = SUP_STOPPED;
			snprintf(v->sup.reason, sizeof(v->sup.reason), "not started (power button)");
			continue;
		}
		if (!v->used || v->sup.pid <= 0)
			continue;
		vm_command(m, v, "powerbutton");
		v->sup.t_button_ms = t;
		v->sup.state = SUP_STOPPING;
	}
}

/* --- native boot ------------------------------------------------------------ */

static int write_bootnext(unsigned num)
{
	char path[200];
	unsigned char data[6] = { 0x07, 0, 0, 0, (unsigned char)(num & 0xff), (unsigned char)(num >> 8) };
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/BootNext-%s", EFIVARS_DEFAULT_DIR, EFI_GLOBAL_GUID);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
		r = -errno;
	close(fd);
	return r;
}

/* Reads the initrds into one memfd (concatenated cpio archives are one). */
static int initrd_fd(int rootfd, const struct inv_os *o)
{
	int fd = (int)syscall(SYS_memfd_create, "initrd", 1u /* MFD_CLOEXEC */);

	if (fd < 0)
		return -errno;
	for (unsigned i = 0; i < o->ninitrd; i++) {
		int in = mnt_openat(rootfd, o->initrd[i], 0);
		char buf[65536];
		ssize_t n;

		if (in < 0) {
			close(fd);
			return in;
		}
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write_full(fd, buf, (size_t)n) < 0) {
				close(in);
				close(fd);
				return -EIO;
			}
		close(in);
	}
	return fd;
}

static int native_kexec(struct mgr *m, const struct inv_os *o, char *why, size_t whylen)
{
	const struct inv_disk *d;
	const struct inv_part *p;
	char dir[300];
	const char *kfs;
	int dfd, rootfd, kfd, ifd = -1, r;
	unsigned long flags = 0;

	if (!o->has_kexec || o->kexec_uki || o->kexec_disk < 0 || o->kexec_part < 0) {
		set_why(why, whylen, "no kernel to kexec for %s", o->label);
		return -ENOENT;
	}
	d = &m->inv->disks[o->kexec_disk];
	p = &d->parts[o->kexec_part];
	if (!mnt_options(p->fs, &kfs)) {
		set_why(why, whylen, "cannot read %s filesystems", p->fs);
		return -ENOTSUP;
	}
	snprintf(dir, sizeof(dir), "%s/kexec", m->rundir);
	mkdir(dir, 0755);
	dfd = open(d->dev, O_RDONLY | O_CLOEXEC);
	if (dfd < 0) {
		set_why(why, whylen, "%s: %s", d->dev, strerror(errno));
		return -errno;
	}
	r = mnt_mount(dfd, p->start, p->size, 512, p->fs, NULL, dir, why, whylen);
	close(dfd);
	if (r < 0)
		return r;
	rootfd = mnt_open_root(dir);
	kfd = rootfd >= 0 ? mnt_openat(rootfd, o->kernel, 0) : rootfd;
	if (kfd < 0) {
		set_why(why, whylen, "%s: %s", o->kernel, strerror(-kfd));
		r = kfd;
		goto out;
	}
	if (o->ninitrd) {
		ifd = initrd_fd(rootfd, o);
		if (ifd < 0) {
			set_why(why, whylen, "initrd: %s", strerror(-ifd));
			r = ifd;
			close(kfd);
			goto out;
		}
		lseek(ifd, 0, SEEK_SET);
	} else {
		flags |= 2;	/* KEXEC_FILE_NO_INITRAMFS */
	}
	log_info("kexec %s: %s%s%s %s", o->label, o->kernel, o->ninitrd ? " initrd " : "",
		 o->ninitrd ? o->initrd[0] : "", o->cmdline);
	r = (int)syscall(SYS_kexec_file_load, kfd, ifd, strlen(o->cmdline) + 1, o->cmdline, flags);
	if (r < 0) {
		r = -errno;
		set_why(why, whylen, "kexec_file_load: %s", strerror(errno));
	}
	close(kfd);
	if (ifd >= 0)
		close(ifd);
out:
	if (rootfd >= 0)
		close(rootfd);
	mnt_umount(dir);
	return r;
}

static void native_boot(struct mgr *m, int os)
{
	const struct inv_os *o = &m->inv->oses[os];
	char why[300] = "";

	if (running_count(m)) {
		snprintf(m->errors, sizeof(m->errors), "Stop the running VMs before booting an OS natively.");
		return;
	}
	enum conf_native how = CONF_NATIVE_AUTO;
	int ci = plan_conf_for_os(&m->conf, m->inv, os);

	if (ci >= 0)
		how = m->conf.os[ci].native;
	if (how != CONF_NATIVE_BOOTNEXT && o->has_kexec && !o->kexec_uki) {
		if (native_kexec(m, o, why, sizeof(why)) == 0) {
			con_restore(m);
			log_set_sink(NULL, NULL);
			rlog_close(&m->log);
			if (m->esp_mounted)
				umount(m->esp);
			sync();
			reboot(RB_KEXEC);
			log_err("kexec: %s", strerror(errno));
			exit(MGR_EXIT_ERROR);
		}
		log_err("native boot of %s by kexec failed: %s", o->label, why);
	}
	if (how != CONF_NATIVE_KEXEC && o->bootnext >= 0) {
		int r = write_bootnext((unsigned)o->bootnext);

		if (r == 0) {
			log_info("BootNext = Boot%04X (%s); rebooting", o->bootnext, o->label);
			m->exit_code = MGR_EXIT_REBOOT;
			return;
		}
		snprintf(why, sizeof(why), "cannot set BootNext: %s", strerror(-r));
	}
	snprintf(m->errors, sizeof(m->errors), "Cannot boot %s natively: %s", o->label,
		 why[0] ? why : "no kexec entry and no Boot#### entry");
	log_err("%s", m->errors);
}

/* --- events ----------------------------------------------------------------- */

static void focus_set(struct mgr *m, int focus)
{
	static char sb[8192];
	char line[160];
	size_t n;

	m->focus = focus;
	if (focus == -1) {
		menu_draw(m);
		return;
	}
	if (focus < 0)
		return;
	n = sup_scrollback(&m->vm[focus].sup, sb, sizeof(sb));
	snprintf(line, sizeof(line), "\033[0m\033[?25h\033[H\033[2J[polyboot] console of %s (Ctrl-] next console)\r\n",
		 m->vm[focus].pv.name);
	con_write(m, line, strlen(line));
	con_write(m, sb, n);
}

static void focus_next(struct mgr *m)
{
	int start = m->focus < 0 ? 0 : m->focus + 1;

	for (int i = start; i < PLAN_MAX_VMS; i++)
		if (m->vm[i].used && (m->vm[i].sup.pid > 0 || m->vm[i].sup.sb_len)) {
			focus_set(m, i);
			return;
		}
	focus_set(m, -1);
}

static void do_action(struct mgr *m, const struct tui_action *a)
{
	int sel[TUI_MAX_ROWS];
	unsigned nsel = 0;

	switch (a->kind) {
	case TUI_START:
		for (unsigned i = 0; i < m->model.nrows; i++)
			if (m->model.rows[i].selected)
				sel[nsel++] = (int)i;
		if (!nsel && a->row >= 0)
			sel[nsel++] = a->row;
		if (start_set(m, sel, nsel))
			for (unsigned i = 0; i < m->model.nrows; i++)
				m->model.rows[i].selected = false;
		break;
	case TUI_NATIVE:
		if (a->row >= 0)
			native_boot(m, a->row);
		break;
	case TUI_EDITED:
		if (a->row >= 0 && a->row < (int)m->inv->noses) {
			m->edit_cpus[a->row] = a->cpus;
			m->edit_mem[a->row] = a->memory;
			m->model.rows[a->row].cpus = a->cpus;
			m->model.rows[a->row].memory = a->memory;
		}
		break;
	case TUI_SHELL:
		if (running_count(m))
			snprintf(m->errors, sizeof(m->errors), "Stop the running VMs before opening the shell.");
		else
			m->exit_code = MGR_EXIT_SHELL;
		break;
	case TUI_REBOOT:
	case TUI_POWEROFF:
		m->shutting_down = true;
		m->exit_code = -1;
		if (running_count(m)) {
			power_button_all(m);
			m->started_any = true;
			m->conf.on_all_stopped = a->kind == TUI_REBOOT ? CONF_AFTER_MENU : CONF_AFTER_POWEROFF;
			if (a->kind == TUI_REBOOT)
				m->exit_code = -3;	/* reboot once all stopped */
		} else {
			m->exit_code = a->kind == TUI_REBOOT ? MGR_EXIT_REBOOT : MGR_EXIT_POWEROFF;
		}
		break;
	case TUI_POWERBUTTON:
		power_button_all(m);
		break;
	case TUI_STOP:
		if (a->row >= 0 && m->row_slot[a->row] >= 0)
			vm_command(m, &m->vm[m->row_slot[a->row]], "stop");
		break;
	case TUI_CONSOLE_NEXT:
		focus_next(m);
		return;
	case TUI_CANCEL_COUNTDOWN:
		m->countdown_end = 0;
		break;
	default:
		break;
	}
	menu_draw(m);
}

static void on_console_input(struct mgr *m, int fd)
{
	unsigned char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return;
	if (m->focus == -2) {	/* headless: a key shows the menu */
		focus_set(m, -1);
		return;
	}
	if (m->focus >= 0) {
		struct vmslot *v = &m->vm[m->focus];
		ssize_t i, start = 0;

		for (i = 0; i < n; i++) {
			if (buf[i] != 0x1d)
				continue;
			if (i > start && v->sup.in_fd >= 0 && write_full(v->sup.in_fd, buf + start, (size_t)(i - start)) < 0)
				log_warn("%s: console input lost", v->pv.name);
			focus_next(m);
			return;
		}
		if (v->sup.in_fd >= 0 && write_full(v->sup.in_fd, buf, (size_t)n) < 0)
			log_warn("%s: console input lost", v->pv.name);
		return;
	}
	{
		struct tui_action acts[16];
		int k = tui_input(m->tui, &m->model, buf, (size_t)n, acts, 16);

		for (int i = 0; i < k && m->focus == -1; i++)
			do_action(m, &acts[i]);
		if (k == 0)
			menu_draw(m);
	}
}

static void on_vm_output(struct mgr *m, int s)
{
	static char buf[16384];
	ssize_t n = sup_output(&m->vm[s].sup, now_ms(), buf, sizeof(buf));

	if (n > 0 && m->focus == s)
		con_write(m, buf, (size_t)n);
	if (n > 0 && m->vm[s].sup.state == SUP_RUNNING && m->focus == -1 && n == (ssize_t)m->vm[s].sup.out_bytes)
		menu_draw(m);	/* first output: starting -> running */
}

/* A failed VM's last console lines, into the log: what it was doing. */
static void log_console_tail(const struct vmslot *v)
{
	char buf[2048], *lines[64], *line, *save = NULL;
	size_t n = sup_scrollback(&v->sup, buf, sizeof(buf) - 1);
	unsigned count = 0;

	buf[n] = 0;
	for (size_t i = 0; i < n; i++)	/* escape sequences, CRs and other controls */
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\n')
			buf[i] = ' ';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strspn(line, " ") != strlen(line))
			lines[count++ % 64] = line;
	for (unsigned i = count > 6 ? count - 6 : 0; i < count; i++)
		log_warn("%s console: %.200s", v->pv.name, lines[i % 64]);
}

static void all_stopped_check(struct mgr *m)
{
	if (!m->started_any || running_count(m))
		return;
	m->started_any = false;
	if (m->exit_code == -3) {
		m->exit_code = MGR_EXIT_REBOOT;
		return;
	}
	if (m->shutting_down) {
		log_info("every VM has stopped: powering off");
		m->exit_code = MGR_EXIT_POWEROFF;
		return;
	}
	/* A VM that failed (could not start, crashed, VMM error) is shown in
	 * the menu rather than hidden by a power-off. */
	if (m->failed[0]) {
		log_warn("every VM has stopped, %s failed: back to the menu", m->failed);
		m->failed[0] = 0;
		if (m->focus != -1)
			focus_set(m, -1);
		return;
	}
	if (m->conf.on_all_stopped == CONF_AFTER_POWEROFF) {
		log_info("every VM has stopped: powering off");
		m->exit_code = MGR_EXIT_POWEROFF;
		return;
	}
	log_info("every VM has stopped: back to the menu");
	if (m->focus != -1)
		focus_set(m, -1);
}

/* The machine's power button (or SIGTERM): every VM gets its own power
 * button; the machine powers off when the last one has stopped. */
static void shutdown_request(struct mgr *m)
{
	m->shutting_down = true;
	if (running_count(m)) {
		power_button_all(m);
		m->started_any = true;
	} else {
		m->exit_code = MGR_EXIT_POWEROFF;
	}
}

static void on_signal(struct mgr *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t pid;

			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				for (unsigned i = 0; i < PLAN_MAX_VMS; i++) {
					struct vmslot *v = &m->vm[i];
					uint64_t t = now_ms();

					if (!v->used || v->sup.pid != pid)
						continue;
					while (sup_output(&v->sup, t, (char[4096]){ 0 }, 4096) > 0)
						;
					while (sup_errput(&v->sup) > 0)
						;
					sup_reaped(&v->sup, st, t);
					if (v->sup.state == SUP_FAILED) {
						snprintf(m->failed, sizeof(m->failed), "%s", v->pv.name);
						log_console_tail(v);
					}
					log_info("%s stopped: %s after %.1f s", v->pv.name, v->sup.reason,
						 (double)(t - v->sup.t_start_ms) / 1000);
					devices_give_back(m, v);
					if (v->cgroup[0])
						rmdir(v->cgroup);
					if (m->focus == (int)i)
						focus_set(m, -1);
				}
			}
			all_stopped_check(m);
			menu_draw(m);
		} else {
			/* SIGTERM/SIGINT/SIGHUP: like the power button */
			log_info("signal %u: shutting down", si.ssi_signo);
			shutdown_request(m);
		}
	}
}

/* The host's power button: ACPI button input devices (KEY_POWER). */
static void buttons_open(struct mgr *m)
{
	DIR *d = opendir(m->inputdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && m->nbutton < 4) {
		char path[300], name[80] = "";
		unsigned long keys[(KEY_MAX + 1) / (8 * sizeof(long)) + 1] = { 0 };
		int fd;

		if (strncmp(e->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "%.200s/%.60s", m->inputdir, e->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0 ||
		    !(keys[KEY_POWER / (8 * sizeof(long))] & (1ul << (KEY_POWER % (8 * sizeof(long)))))) {
			close(fd);
			continue;
		}
		ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
		log_debug("power button: %s (%s)", path, name);
		m->button_fd[m->nbutton++] = fd;
	}
	closedir(d);
}

static void on_button(struct mgr *m, int fd)
{
	struct input_event ev[16];
	ssize_t n = read(fd, ev, sizeof(ev));

	for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
		if (ev[i].type != EV_KEY || ev[i].code != KEY_POWER || ev[i].value != 1)
			continue;
		log_info("power button pressed");
		shutdown_request(m);
	}
}

static void on_tick(struct mgr *m)
{
	uint64_t t = now_ms();
	bool redraw = false;

	for (unsigned i = 0; i < PLAN_MAX_VMS; i++) {
		struct vmslot *v = &m->vm[i];

		if (!v->used)
			continue;
		if (v->pending && t >= v->start_at_ms) {
			vm_launch(m, v);
			redraw = true;
			all_stopped_check(m);
		}
		if (v->sup.pid > 0 && v->sup.t_button_ms && t - v->sup.t_button_ms > (uint64_t)m->conf.grace_s * 1000) {
			log_warn("%s did not shut down within %u s of the power button: force-stopping it",
				 v->pv.name, m->conf.grace_s);
			v->sup.t_button_ms = 0;
			vm_command(m, v, "stop");
		}
		if (v->sup.console_log.fd >= 0)
			rlog_sync(&v->sup.console_log);
	}
	if (m->countdown_end) {
		if (t >= m->countdown_end) {
			int sel[TUI_MAX_ROWS];
			unsigned n;

			m->countdown_end = 0;
			n = plan_default_set(&m->conf, m->inv, sel, TUI_MAX_ROWS);
			log_info("countdown over: starting the default selection");
			start_set(m, sel, n);
		}
		redraw = true;
	}
	if (redraw)
		menu_draw(m);
}

static int loop(struct mgr *m)
{
	while (m->exit_code < 0) {
		struct pollfd p[MAX_CONS + 4 + 2 * PLAN_MAX_VMS + 1];
		int owner[sizeof(p) / sizeof(p[0])];	/* -1 console, -2 signal, -3 button, else VM slot */
		unsigned n = 0;
		int r;

		for (unsigned i = 0; i < m->ncon; i++) {
			p[n] = (struct pollfd){ .fd = m->con[i], .events = POLLIN };
			owner[n++] = -1;
		}
		p[n] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
		owner[n++] = -2;
		for (unsigned i = 0; i < m->nbutton; i++) {
			p[n] = (struct pollfd){ .fd = m->button_fd[i], .events = POLLIN };
			owner[n++] = -3;
		}
		for (unsigned i = 0; i < PLAN_MAX_VMS; i++) {
			if (!m->vm[i].used)
				continue;
			if (m->vm[i].sup.out_fd >= 0) {
				p[n] = (struct pollfd){ .fd = m->vm[i].sup.out_fd, .events = POLLIN };
				owner[n++] = (int)i;
			}
			if (m->vm[i].sup.err_fd >= 0) {
				p[n] = (struct pollfd){ .fd = m->vm[i].sup.err_fd, .events = POLLIN };
				owner[n++] = 1000 + (int)i;
			}
		}
		r = poll(p, n, 500);
		if (r < 0 && errno != EINTR)
			return MGR_EXIT_ERROR;
		for (unsigned i = 0; r > 0 && i < n && m->exit_code < 0; i++) {
			if (!p[i].revents)
				continue;
			if (owner[i] == -1)
				on_console_input(m, p[i].fd);
			else if (owner[i] == -2)
				on_signal(m);
			else if (owner[i] == -3)
				on_button(m, p[i].fd);
			else if (owner[i] >= 1000)
				sup_errput(&m->vm[owner[i] - 1000].sup);
			else
				on_vm_output(m, owner[i]);
		}
		on_tick(m);
	}
	return m->exit_code;
}

/* --- main ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: polyboot [menu] [options]\n"
"  The boot manager: scans the disks, reads \\EFI\\polyboot\\polyboot.conf from\n"
"  the ESP it booted from, and starts the OSes (menu or headless).\n"
"  --config FILE      use FILE instead of the ESP's polyboot.conf\n"
"  --inventory FILE   use a saved `polyboot scan --json` instead of scanning\n"
"  --esp DIR          an ESP already mounted at DIR (VARS files, logs, config)\n"
"  --console stdio    draw on stdin/stdout instead of ttyS0 and tty1\n"
"  --polyvmm PATH     the VMM (default /bin/polyvmm)\n"
"  --firmware-dir DIR OVMF_CODE_4M.fd and OVMF_VARS_4M.fd (default\n"
"                     /usr/share/polyboot/firmware)\n"
"  --run-dir DIR      sockets and mounts (default /run/polyboot)\n"
"  --cgroup-root DIR  cgroup v2 root for the VMs' cpusets (default /sys/fs/cgroup)\n"
"  --input-dir DIR    where power-button input devices are (default /dev/input)\n"
"  --sysfs ROOT       read and write sys/ (PCI devices, vfio-pci binding) and\n"
"                     dev/vfio under ROOT (default: this machine)\n"
"exit status: 0 power off, 1 error, 2 usage, 3 recovery shell, 4 reboot\n");
}

static int parse_args(struct mgr *m, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },
		{ "inventory", required_argument, 0, 'i' },
		{ "esp", required_argument, 0, 'e' },
		{ "console", required_argument, 0, 'C' },
		{ "polyvmm", required_argument, 0, 'p' },
		{ "firmware-dir", required_argument, 0, 'f' },
		{ "run-dir", required_argument, 0, 'r' },
		{ "cgroup-root", required_argument, 0, 'g' },
		{ "input-dir", required_argument, 0, 'I' },
		{ "sysfs", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': m->config_path = optarg; break;
		case 'i': m->inventory_path = optarg; break;
		case 'e': m->esp_opt = optarg; break;
		case 'C':
			if (strcmp(optarg, "stdio")) {
				fprintf(stderr, "polyboot: --console: only 'stdio'\n");
				return MGR_EXIT_USAGE;
			}
			m->stdio_console = true;
			break;
		case 'p': m->polyvmm = optarg; break;
		case 'f': m->fwdir = optarg; break;
		case 'r': m->rundir = optarg; break;
		case 'g': m->cgroot = optarg; break;
		case 'I': m->inputdir = optarg; break;
		case 'S': m->sysfs = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return MGR_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return MGR_EXIT_USAGE;
	}
	return -1;
}

/* The PCI devices, once, before anything is bound (a controller on
 * vfio-pci hides its disks), and what the device check needs to know
 * about the menu's consoles. */
static void devices_scan(struct mgr *m)
{
	char fb[300];
	int r = devs_scan(m->sysfs, &m->devs);

	if (r < 0) {
		log_warn("PCI devices: %s; no device passthrough", strerror(-r));
		return;
	}
	devs_match_inv(&m->devs, m->inv);
	snprintf(fb, sizeof(fb), "%s/sys/class/graphics/fb0", m->sysfs);
	m->host.devs = &m->devs;
	m->host.serial_console = m->stdio_console || (m->conf.console_serial && m->devs.serial);
	m->host.menu_on_display = !m->stdio_console && m->conf.console_fb && access(fb, F_OK) == 0;
	if (m->devs.iommu)
		log_info("%u PCI devices; IOMMU on (%u groups)%s", m->devs.ndev, m->devs.iommu_groups,
			 m->devs.vfio_pci ? "" : ", but no vfio-pci driver");
	else
		log_info("%u PCI devices; IOMMU %s: no device passthrough (VT-d or AMD-Vi in the firmware setup)",
			 m->devs.ndev, m->devs.iommu_units ? "not working" : "off");
	if (m->devs.cmdline[0])
		log_info("kernel command line: %s", m->devs.cmdline);
}

static void read_version(char *buf, size_t len)
{
	int fd = open("/etc/polyboot-version", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		n = snprintf(buf, len, "dev");
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
}

int manager_main(int argc, char **argv)
{
	static struct mgr mgr;
	static struct inv inventory;
	struct mgr *m = &mgr;
	char *json = NULL, why[300], version[64], cpath[400];
	size_t jlen = 0;
	sigset_t set;
	int sel[TUI_MAX_ROWS], r;
	unsigned nsel;

	memset(m, 0, sizeof(*m));
	m->inv = &inventory;
	m->polyvmm = "/bin/polyvmm";
	m->fwdir = "/usr/share/polyboot/firmware";
	m->rundir = "/run/polyboot";
	m->cgroot = "/sys/fs/cgroup";
	m->inputdir = "/dev/input";
	m->sysfs = "";
	m->con_fb = -1;
	m->esp_lent = -1;
	m->log.fd = -1;
	m->focus = -2;
	m->exit_code = -1;
	if ((r = parse_args(m, argc, argv)) >= 0)
		return r;
	for (unsigned i = 0; i < INV_MAX_OSES; i++)
		m->row_slot[i] = -1;
	mkdir(m->rundir, 0755);
	read_version(version, sizeof(version));
	log_set_prefix("polyboot");
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	log_info("polyboot %s: scanning the disks", version);
	r = scan_inventory(m, &json, &jlen);
	if (r < 0) {
		log_err("discovery failed: %s", strerror(-r));
		json = strdup("{\"disks\":[],\"oses\":[]}");
		jlen = json ? strlen(json) : 0;
	}
	if (!json || inv_from_json(m->inv, json, jlen, why, sizeof(why)) < 0) {
		log_err("inventory: %s", json ? why : "out of memory");
		memset(m->inv, 0, sizeof(*m->inv));
	}
	free(json);
	log_info("found %u OS%s on %u disk%s", m->inv->noses, m->inv->noses == 1 ? "" : "es", m->inv->ndisks,
		 m->inv->ndisks == 1 ? "" : "s");
	esp_mount(m);
	logs_open(m);
	log_set_sink(log_sink, m);

	conf_defaults(&m->conf);
	if (m->config_path)
		snprintf(cpath, sizeof(cpath), "%s", m->config_path);
	else if (m->esp[0])
		snprintf(cpath, sizeof(cpath), "%.300s/%s", m->esp, CONF_REL);
	else
		cpath[0] = 0;
	if (cpath[0] && (m->config_path || access(cpath, F_OK) == 0)) {
		conf_load(&m->conf, cpath);
		log_info("configuration %s: %s", cpath, m->conf.nerr ? "errors (falling back to the menu)" : "ok");
	}
	log_set_level((enum log_level)m->conf.log_level);
	if (plan_host_read(&m->host, "/") < 0) {
		m->host.cpus = 1;
		m->host.memory = 1ull << 30;
	}
	memcpy(m->host.firmware_part, m->esp_part, sizeof(m->host.firmware_part));
	devices_scan(m);
	nsel = plan_default_set(&m->conf, m->inv, sel, TUI_MAX_ROWS);
	if (nsel) {	/* the planner's objections to the default set, shown at once */
		static struct plan probe;

		plan_make(&probe, &m->conf, m->inv, &m->host, sel, nsel);
	}
	errors_collect(m, 0);

	m->tui = tui_new(80, 24);
	if (!m->tui) {
		log_err("out of memory");
		return MGR_EXIT_ERROR;
	}
	model_init(m, version);
	con_open(m);
	buttons_open(m);
	if (m->conf.mode == CONF_MODE_AUTO && !m->conf.nerr && nsel) {
		log_info("mode auto: starting %u OS%s", nsel, nsel == 1 ? "" : "es");
		if (!start_set(m, sel, nsel))
			focus_set(m, -1);
	} else {
		if (m->conf.mode == CONF_MODE_AUTO && !nsel && !m->conf.nerr)
			snprintf(m->errors, sizeof(m->errors), "mode = auto, but no OS has autostart = yes");
		if (nsel && m->conf.timeout >= 0 && !m->conf.nerr)
			m->countdown_end = now_ms() + (uint64_t)m->conf.timeout * 1000;
		for (unsigned i = 0; i < nsel; i++)
			m->model.rows[sel[i]].selected = true;
		focus_set(m, -1);
	}
	r = loop(m);
	log_info("boot manager exits (%s)", r == MGR_EXIT_POWEROFF ? "power off" : r == MGR_EXIT_REBOOT ? "reboot"
					  : r == MGR_EXIT_SHELL ? "recovery shell" : "error");
	con_restore(m);
	log_set_sink(NULL, NULL);
	rlog_close(&m->log);
	for (unsigned i = 0; i < PLAN_MAX_VMS; i++)
		if (m->vm[i].used) {
			devices_give_back(m, &m->vm[i]);	/* none left bound, normally */
			sup_release(&m->vm[i].sup);
		}
	devs_free(&m->devs);
	if (m->esp_mounted && umount(m->esp) < 0)
		log_warn("umount %s: %s", m->esp, strerror(errno));
	sync();
	tui_free(m->tui);
	inv_free(m->inv);
	return r;
}
