/*
 * Intel/Sharp CFI-01 flash, the subset edk2's QemuFlashFvbServicesRuntimeDxe
 * (OvmfPkg/QemuFlashFvbServicesRuntimeDxe/QemuFlash.c) uses: 0x50 clear
 * status, 0x70 read status, 0x10/0x40 byte program, 0x20+0xD0 block erase,
 * 0xFF read array. Research note section 7 (the probe sequence must see
 * status 0x00 after 0x50, 0x70).
 *
 * Not implemented: CFI query (0x98), read ID (0x90), buffered write (0xE8),
 * block lock (0x60), suspend/resume, timing (operations complete at once).
 */
#define LOG_MOD "pflash"
#include "dev/pflash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define ST_READY	0x80
#define ST_ERASE_ERR	0x20
#define ST_PROG_ERR	0x10
#define ST_SEQ_ERR	(ST_ERASE_ERR | ST_PROG_ERR)

/* Page-aligned, because the machine maps it into the guest as a memory slot. */
static uint8_t *alloc_image(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int pflash_open(struct pflash *p, const char *path, size_t image_size, bool readonly,
		struct vclock clock, struct vtimer timer,
		void (*set_read_array)(void *ctx, bool on), void *ctx)
{
	char tmp[4096];
	struct stat st;
	int fd, r;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->clock = clock;
	p->timer = timer;
	p->set_read_array = set_read_array;
	p->ctx = ctx;
	p->readonly = readonly;
	p->mode = PFLASH_READ_ARRAY;
	if (!path) {
		if (!image_size || image_size % PFLASH_BLOCK_SIZE)
			return -EINVAL;
		p->image = alloc_image(image_size);
		if (!p->image)
			return -ENOMEM;
		memset(p->image, 0xff, image_size);
		p->size = image_size;
		return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A crash between writing the temp file and renaming it leaves this:
	 * the real file is intact, the temp file is garbage. */
	if (!readonly && unlink(tmp) == 0)
		log_warn("%s: removed %s left by an earlier crash", path, tmp);
	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		log_err("variable store %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % PFLASH_BLOCK_SIZE ||
	    st.st_size > 16 * 1024 * 1024) {
		log_err("variable store %s: size %lld is not a multiple of 4 KiB up to 16 MiB",
			path, (long long)st.st_size);
		close(fd);
		return -EINVAL;
	}
	p->size = (size_t)st.st_size;
	p->image = alloc_image(p->size);
	if (!p->image) {
		close(fd);
		return -ENOMEM;
	}
	r = pread_full(fd, p->image, p->size, 0);
	close(fd);
	if (r < 0) {
		log_err("variable store %s: read: %s", path, strerror(-r));
		munmap(p->image, p->size);
		p->image = NULL;
		return r;
	}
	/* An OVMF store begins with a firmware volume header ("_FVH" at 0x28). */
	if (p->size < 0x30 || memcmp(p->image + 0x28, "_FVH", 4) != 0)
		log_warn("variable store %s has no firmware volume header; OVMF will reformat it", path);
	p->path = strdup(path);
	return p->path ? 0 : -ENOMEM;
}

void pflash_close(struct pflash *p)
{
	if (p->dirty && pflash_flush(p) < 0)
		log_err("variable store %s: last changes not saved", p->path);
	if (p->image)
		munmap(p->image, p->size);
	free(p->path);
	p->image = NULL;
	p->path = NULL;
}

int pflash_flush(struct pflash *p)
{
	uint8_t *snap;
	uint64_t gen;
	int r;

	pthread_mutex_lock(&p->lock);
	if (!p->dirty || !p->path || p->readonly) {
		p->dirty = false;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	snap = malloc(p->size);
	if (!snap) {
		pthread_mutex_unlock(&p->lock);
		return -ENOMEM;
	}
	memcpy(snap, p->image, p->size);
	gen = p->generation;
	pthread_mutex_unlock(&p->lock);

	/* Written without the lock: the guest keeps programming meanwhile. */
	r = write_file_atomic(p->path, snap, p->size);
	free(snap);

	pthread_mutex_lock(&p->lock);
	if (r == 0) {
		p->flushes++;
		if (p->generation == gen)
			p->dirty = false;	/* else newer writes wait for the next flush */
	} else {
		log_err("variable store %s: %s; keeping the changes in memory", p->path, strerror(-r));
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Deadline for the next snapshot (lock held). */
static void arm(struct pflash *p)
{
	int64_t d = 0;
	if (p->dirty && p->path && !p->readonly) {
		d = p->last_write + PFLASH_QUIET_NS;
		if (d > p->first_dirty + PFLASH_MAX_DELAY_NS)
			d = p->first_dirty + PFLASH_MAX_DELAY_NS;
	}
	if (d != p->armed) {
		p->armed = d;
		vtimer_arm(&p->timer, d);
	}
}

void pflash_timer_fire(struct pflash *p)
{
	int64_t now;
	bool due;

	pthread_mutex_lock(&p->lock);
	now = vclock_mono(&p->clock);
	p->armed = 0;
	due = p->dirty && (now >= p->last_write + PFLASH_QUIET_NS ||
			   now >= p->first_dirty + PFLASH_MAX_DELAY_NS);
	pthread_mutex_unlock(&p->lock);
	if (due)
		pflash_flush(p);
	pthread_mutex_lock(&p->lock);
	if (p->dirty && !due)
		arm(p);
	else if (p->dirty) {
		/* Writes arrived during the flush: a new burst. */
		p->first_dirty = vclock_mono(&p->clock);
		arm(p);
	}
	pthread_mutex_unlock(&p->lock);
}

/* Mode change with the read-array mapping kept in step (lock held). */
static void set_mode(struct pflash *p, enum pflash_mode m)
{
	bool was = p->mode == PFLASH_READ_ARRAY, now = m == PFLASH_READ_ARRAY;
	p->mode = m;
	if (was != now && p->set_read_array)
		p->set_read_array(p->ctx, now);
}

void pflash_reset(struct pflash *p)
{
	pflash_flush(p);
	pthread_mutex_lock(&p->lock);
	p->status = 0;
	p->mode = PFLASH_STATUS;	/* force the callback */
	set_mode(p, PFLASH_READ_ARRAY);
	pthread_mutex_unlock(&p->lock);
}

static void changed(struct pflash *p)
{
	int64_t now = vclock_mono(&p->clock);
	if (!p->dirty)
		p->first_dirty = now;
	p->dirty = true;
	p->last_write = now;
	p->generation++;
	arm(p);
}

static uint64_t pflash_read(void *opaque, uint64_t off, unsigned size)
{
	struct pflash *p = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = 0xff;
		if (p->mode == PFLASH_READ_ARRAY) {
			if (off + i < p->size)
				b = p->image[off + i];
		} else {
			b = p->status;
		}
		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void program(struct pflash *p, uint64_t off, uint64_t val, unsigned size)
{
	bool any = false;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		if (off + i >= p->size) {
			p->status |= ST_PROG_ERR;
			continue;
		}
		if (p->readonly)
			continue;	/* dropped silently, as on write-protected flash */
		/* Programming can only clear bits; erase sets them. */
		if ((p->image[off + i] & b) != p->image[off + i]) {
			p->image[off + i] &= b;
			any = true;
		}
	}
	if (any)
		changed(p);
}

static void erase(struct pflash *p, uint64_t off)
{
	uint64_t start = off & ~(uint64_t)(PFLASH_BLOCK_SIZE - 1);
	if (start >= p->size) {
		p->status |= ST_ERASE_ERR;
		return;
	}
	if (p->readonly)
		return;
	memset(p->image + start, 0xff, PFLASH_BLOCK_SIZE);
	changed(p);
}

static void pflash_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pflash *p = opaque;
	uint8_t cmd = (uint8_t)val;

	pthread_mutex_lock(&p->lock);
	switch (p->mode) {
	case PFLASH_PROGRAM:
		program(p, off, val, size);
		p->status |= ST_READY;
		set_mode(p, PFLASH_STATUS);
		break;
	case PFLASH_ERASE:
		if (cmd == 0xd0) {
			erase(p, off);
		} else {
			log_guest("erase setup followed by %#x, not 0xD0 (confirm)", cmd);
			p->status |= ST_SEQ_ERR;
		}
		p->status |= ST_READY;
		set_mode(p, PFLASH_STATUS);
		break;
	default:
		switch (cmd) {
		case 0xff:
			set_mode(p, PFLASH_READ_ARRAY);
			break;
		case 0x50:
			/* Clear status, back to read array (QEMU does the same);
			 * OVMF's probe then reads status 0x00 after 0x70. */
			p->status = 0;
			set_mode(p, PFLASH_READ_ARRAY);
			break;
		case 0x70:
			set_mode(p, PFLASH_STATUS);
			break;
		case 0x10:
		case 0x40:
			set_mode(p, PFLASH_PROGRAM);
			break;
		case 0x20:
			set_mode(p, PFLASH_ERASE);
			break;
		default:
			log_guest("unsupported flash command %#x at +%#llx", cmd, (unsigned long long)off);
			set_mode(p, PFLASH_READ_ARRAY);
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

const struct io_ops pflash_ops = { pflash_read, pflash_write };
