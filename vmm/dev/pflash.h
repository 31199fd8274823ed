/*
 * The UEFI variable store flash (VARS, below OVMF's code): the CFI-01
 * command subset Debian's OVMF uses, backed by a file that is replaced
 * atomically, so a crash or power cut at any moment leaves a valid file.
 *
 * Persistence: the image lives in memory; programs and erases mark it dirty
 * and arm the injected timer; pflash_timer_fire() writes a snapshot of the
 * whole image (temp file, fsync, rename, fsync of the directory) once the
 * guest has been quiet for PFLASH_QUIET_NS, or at the latest
 * PFLASH_MAX_DELAY_NS after the first unsaved write; pflash_flush() writes
 * synchronously (reset, power-off, exit). Every snapshot is the store after
 * a prefix of the guest's program/erase sequence, which is what a power cut
 * on real flash leaves too; OVMF's fault-tolerant write and variable store
 * recover from exactly that.
 *
 * Fast path: in read-array mode the machine maps the image as a read-only
 * KVM memory slot (set_read_array(ctx, true)), so reads never exit; writes
 * still trap (read-only slot) and switch to command mode, where the slot is
 * removed (set_read_array(ctx, false)) and reads trap too.
 */
#ifndef POLYBOOT_VMM_DEV_PFLASH_H
#define POLYBOOT_VMM_DEV_PFLASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/clock.h"

#define PFLASH_BLOCK_SIZE	4096
#define PFLASH_QUIET_NS		(50LL * 1000 * 1000)
#define PFLASH_MAX_DELAY_NS	(1000LL * 1000 * 1000)

enum pflash_mode { PFLASH_READ_ARRAY, PFLASH_STATUS, PFLASH_PROGRAM, PFLASH_ERASE };

struct pflash {
	pthread_mutex_t lock;
	uint8_t *image;
	size_t size;
	char *path;		/* NULL: not persistent (tests, fuzzing) */
	bool readonly;
	enum pflash_mode mode;
	uint8_t status;
	bool dirty;
	int64_t first_dirty, last_write, armed;
	uint64_t generation;	/* bumps on every change (for flush races) */
	uint64_t flushes;	/* snapshots written */
	struct vclock clock;
	struct vtimer timer;
	void (*set_read_array)(void *ctx, bool on);
	void *ctx;
};

/*
 * Loads @path (whose size must be a non-zero multiple of 4 KiB) and removes
 * a stale "@path.tmp" left by a crash. @path NULL with @image_size creates an
 * in-memory flash filled with 0xFF. Returns 0 or -errno (logged, naming the file).
 */
int pflash_open(struct pflash *p, const char *path, size_t image_size, bool readonly,
		struct vclock clock, struct vtimer timer,
		void (*set_read_array)(void *ctx, bool on), void *ctx);
void pflash_close(struct pflash *p);

/* Writes the image now if it has unsaved changes. Returns 0 or -errno. */
int pflash_flush(struct pflash *p);

/* The injected timer expired: flush if the write burst is over. */
void pflash_timer_fire(struct pflash *p);

/* VM reset: back to read-array mode (unsaved changes are flushed). */
void pflash_reset(struct pflash *p);

/* Region handler for the whole flash (offsets from its base). */
extern const struct io_ops pflash_ops;

#endif
