/* pflash: OVMF's probe and command sequences, flash semantics, and the
 * crash-safe persistence of the variable store file. */
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dev/pflash.h"
#include "fakes.h"
#include "log.h"
#include "util.h"

#define SIZE (16 * 4096)
#define MS 1000000LL

struct env {
	struct io_bus bus;
	struct pflash p;
	struct fake_clock clk;
	struct fake_timer tmr;
	int mapped;	/* read-array mapping state seen by the machine */
	int toggles;
	char path[512];
};

static void set_read_array(void *ctx, bool on)
{
	struct env *e = ctx;
	e->mapped = on;
	e->toggles++;
}

static struct env *env_new(bool file, bool ro)
{
	struct env *e = calloc(1, sizeof(*e));
	uint8_t img[SIZE];
	static int n;

	e->clk.mono = 100 * MS;
	e->mapped = 1;
	io_bus_init(&e->bus, "mmio");
	if (file) {
		memset(img, 0xff, sizeof(img));
		memcpy(img + 0x28, "_FVH", 4);
		img[0x10] = 0x8d;
		snprintf(e->path, sizeof(e->path), "%s/vars%d.fd", test_tmpdir(), n++);
		CHECK_EQ(write_file_atomic(e->path, img, sizeof(img)), 0);
		CHECK_EQ(pflash_open(&e->p, e->path, 0, ro, fake_vclock(&e->clk), fake_vtimer(&e->tmr),
				     set_read_array, e), 0);
	} else {
		CHECK_EQ(pflash_open(&e->p, NULL, SIZE, ro, fake_vclock(&e->clk), fake_vtimer(&e->tmr),
				     set_read_array, e), 0);
	}
	io_bus_add(&e->bus, 0xffc00000, SIZE, &pflash_ops, &e->p, "vars");
	return e;
}

static void env_free(struct env *e)
{
	pflash_close(&e->p);
	io_bus_destroy(&e->bus);
	free(e);
}

static uint8_t rd(struct env *e, uint32_t off)
{
	return (uint8_t)io_bus_read_val(&e->bus, 0xffc00000 + off, 1);
}

static void wr(struct env *e, uint32_t off, uint8_t v)
{
	io_bus_write_val(&e->bus, 0xffc00000 + off, v, 1);
}

static int file_equals_image(struct env *e)
{
	uint8_t buf[SIZE];
	int fd = open(e->path, O_RDONLY);
	int ok = fd >= 0 && read(fd, buf, SIZE) == SIZE && !memcmp(buf, e->p.image, SIZE);
	if (fd >= 0)
		close(fd);
	return ok;
}

TEST(pflash_ovmf_probe_detects_flash)
{
	struct env *e = env_new(false, false);
	uint8_t orig;

	/* QemuFlashDetected(): the first byte that is not 0x00/0x50/0x70. */
	e->p.image[0x10] = 0x8d;
	orig = rd(e, 0x10);
	CHECK_EQ(orig, 0x8d);
	wr(e, 0x10, 0x50);
	CHECK(rd(e, 0x10) != 0x50);	/* not RAM */
	wr(e, 0x10, 0x70);
	CHECK_EQ(rd(e, 0x10), 0x00);	/* status 0: FLASH */
	CHECK_EQ(e->mapped, 0);		/* status mode: reads must trap */
	wr(e, 0x10, 0xff);
	CHECK_EQ(rd(e, 0x10), orig);
	CHECK_EQ(e->mapped, 1);
	env_free(e);
}

TEST(pflash_program_clears_bits_erase_sets_block)
{
	struct env *e = env_new(false, false);

	/* QemuFlashWrite: 0x10 + data per byte, never polls, ends with 0xFF. */
	wr(e, 0x1234, 0x10);
	CHECK_EQ(e->mapped, 0);
	wr(e, 0x1234, 0xa5);
	CHECK_EQ(rd(e, 0x5555), 0x80);		/* status: ready */
	wr(e, 0x1235, 0x40);
	wr(e, 0x1235, 0x0f);
	wr(e, 0x1235, 0xff);
	CHECK_EQ(rd(e, 0x1234), 0xa5);
	CHECK_EQ(rd(e, 0x1235), 0x0f);
	/* Programming can only clear bits. */
	wr(e, 0x1234, 0x10);
	wr(e, 0x1234, 0x5a);
	wr(e, 0, 0xff);
	CHECK_EQ(rd(e, 0x1234), 0xa5 & 0x5a);
	/* Block erase anywhere inside the 4 KiB block. */
	wr(e, 0x1800, 0x20);
	wr(e, 0x1800, 0xd0);
	CHECK_EQ(rd(e, 0), 0x80);		/* status after erase */
	wr(e, 0, 0xff);
	CHECK_EQ(rd(e, 0x1234), 0xff);
	CHECK_EQ(rd(e, 0x1000), 0xff);
	CHECK_EQ(rd(e, 0x0fff), 0xff);
	env_free(e);
}

TEST(pflash_malformed_sequences)
{
	struct env *e = env_new(false, false);

	e->p.image[0x2000] = 0x11;
	/* Erase setup not followed by confirm: sequence error, no erase. */
	wr(e, 0x2000, 0x20);
	wr(e, 0x2000, 0x33);
	CHECK_EQ(rd(e, 0x2000) & 0x30, 0x30);
	wr(e, 0, 0x50);				/* clear status */
	CHECK_EQ(rd(e, 0x2000), 0x11);
	/* Unknown commands (CFI query, ID) go back to read-array. */
	wr(e, 0x55, 0x98);
	CHECK_EQ(rd(e, 0x2000), 0x11);
	CHECK_EQ(e->mapped, 1);
	/* A wide program writes each byte. */
	wr(e, 0x3000, 0x10);
	io_bus_write_val(&e->bus, 0xffc03000, 0x11223344, 4);
	wr(e, 0, 0xff);
	CHECK_EQ(io_bus_read_val(&e->bus, 0xffc03000, 4), 0x11223344);
	/* Status mode answers wide reads with the status in every byte. */
	wr(e, 0, 0x70);
	CHECK_EQ(io_bus_read_val(&e->bus, 0xffc00000, 2), 0x8080);
	wr(e, 0, 0xff);
	/* Outside the region: not ours. */
	CHECK_EQ(io_bus_read_val(&e->bus, 0xffc00000 + SIZE, 1), 0xff);
	CHECK_EQ(e->p.dirty, 1);		/* no file: nothing flushes */
	CHECK_EQ(e->tmr.deadline, 0);
	env_free(e);
}

TEST(pflash_readonly_drops_writes)
{
	struct env *e = env_new(true, true);
	uint8_t before = rd(e, 0x100);

	wr(e, 0x100, 0x10);
	wr(e, 0x100, 0x00);
	CHECK_EQ(rd(e, 0x100), 0x80);		/* still answers like flash */
	wr(e, 0, 0xff);
	CHECK_EQ(rd(e, 0x100), before);
	wr(e, 0x0, 0x20);
	wr(e, 0x0, 0xd0);
	wr(e, 0, 0xff);
	CHECK_EQ(rd(e, 0x28), '_');
	CHECK_EQ(pflash_flush(&e->p), 0);
	CHECK(file_equals_image(e));
	env_free(e);
}

TEST(pflash_flushes_after_quiet_period_atomically)
{
	struct env *e = env_new(true, false);

	wr(e, 0x200, 0x10);
	wr(e, 0x200, 0x12);
	CHECK(!file_equals_image(e));		/* not yet on disk */
	CHECK_EQ(e->tmr.deadline, e->clk.mono + PFLASH_QUIET_NS);
	/* More writes push the deadline, but never past 1 s after the first. */
	for (int i = 0; i < 30; i++) {
		e->clk.mono += 40 * MS;
		wr(e, 0x300 + i, 0x10);
		wr(e, 0x300 + i, 0);
	}
	CHECK(e->tmr.deadline <= 100 * MS + PFLASH_MAX_DELAY_NS);
	e->clk.mono = e->tmr.deadline;
	pflash_timer_fire(&e->p);
	CHECK(file_equals_image(e));
	CHECK_EQ(e->p.flushes, 1);
	CHECK(!e->p.dirty);
	/* An early timer (before the quiet time) does not flush. */
	wr(e, 0x400, 0x10);
	wr(e, 0x400, 0);
	pflash_timer_fire(&e->p);
	CHECK_EQ(e->p.flushes, 1);
	CHECK(e->tmr.deadline > e->clk.mono);
	/* Reset and close flush synchronously. */
	pflash_reset(&e->p);
	CHECK(file_equals_image(e));
	CHECK_EQ(e->p.flushes, 2);
	env_free(e);
}

TEST(pflash_open_errors_and_stale_temp_file)
{
	struct pflash p;
	char path[512], tmp[600];
	struct fake_clock clk = { 0 };
	struct fake_timer tmr = { 0 };

	snprintf(path, sizeof(path), "%s/odd.fd", test_tmpdir());
	CHECK_EQ(write_file_atomic(path, "abc", 3), 0);
	CHECK_EQ(pflash_open(&p, path, 0, false, fake_vclock(&clk), fake_vtimer(&tmr), NULL, NULL), -EINVAL);
	CHECK_EQ(pflash_open(&p, "/nonexistent/vars.fd", 0, false, fake_vclock(&clk), fake_vtimer(&tmr),
			     NULL, NULL), -ENOENT);
	/* A temp file left by a crash is removed; the real file is used. */
	{
		uint8_t img[4096];
		memset(img, 0xff, sizeof(img));
		CHECK_EQ(write_file_atomic(path, img, sizeof(img)), 0);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		CHECK_EQ(write_file_atomic(tmp, "garbage", 7), 0);
		CHECK_EQ(pflash_open(&p, path, 0, false, fake_vclock(&clk), fake_vtimer(&tmr), NULL, NULL), 0);
		CHECK(access(tmp, F_OK) != 0);
		CHECK_EQ(p.size, 4096);
		pflash_close(&p);
	}
}

/*
 * Kills a child that keeps changing the image and flushing it, at random
 * moments, 50 times: the file must always be one complete image the child
 * wrote (every image carries its generation number in every block, so a
 * torn file would show two different numbers).
 */
TEST(pflash_file_survives_sigkill_at_any_moment)
{
	char path[512];
	uint8_t img[SIZE];
	int torn = 0, kills = 0, changed = 0;
	uint32_t last = 0;

	snprintf(path, sizeof(path), "%s/crash.fd", test_tmpdir());
	memset(img, 0, sizeof(img));
	CHECK_EQ(write_file_atomic(path, img, sizeof(img)), 0);
	srand(12345);
	for (int round = 0; round < 50; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct pflash p;
			struct fake_clock c = { 0 };
			struct fake_timer t = { 0 };
			log_set_level(LOG_ERR);
			if (pflash_open(&p, path, 0, false, fake_vclock(&c), fake_vtimer(&t), NULL, NULL) < 0)
				_exit(2);
			for (uint32_t g = get_le32(p.image) + 1;; g++) {
				for (uint32_t off = 0; off < SIZE; off += 4096)
					put_le32(p.image + off, g);
				p.dirty = true;
				if (pflash_flush(&p) < 0)
					_exit(3);
			}
		}
		usleep((useconds_t)(2000 + rand() % 20000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kills++;
		{
			int fd = open(path, O_RDONLY);
			ssize_t n = fd >= 0 ? read(fd, img, sizeof(img)) : -1;
			if (fd >= 0)
				close(fd);
			if (n != SIZE) {
				torn++;
				continue;
			}
			for (uint32_t off = 4096; off < SIZE; off += 4096)
				if (get_le32(img + off) != get_le32(img))
					torn++;
			if (get_le32(img) != last)
				changed++;
			last = get_le32(img);
		}
	}
	CHECK_EQ(kills, 50);
	CHECK_EQ(torn, 0);
	CHECK(changed > 25);	/* the child really was writing */
}
