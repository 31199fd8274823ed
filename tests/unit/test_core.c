/* Core plumbing: I/O bus dispatch, guest memory bounds, common helpers. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/evloop.h"
#include "core/guest_mem.h"
#include "core/worker.h"
#include "util.h"

struct rec {
	uint64_t last_off, last_val;
	unsigned last_size, writes, reads;
	uint64_t reg[4];
};

static uint64_t rec_read(void *o, uint64_t off, unsigned size)
{
	struct rec *r = o;
	r->reads++;
	r->last_off = off;
	r->last_size = size;
	return 0x1122334455667788ULL + off;
}

static void rec_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	struct rec *r = o;
	r->writes++;
	r->last_off = off;
	r->last_val = val;
	r->last_size = size;
}

static const struct io_ops rec_ops = { rec_read, rec_write };

TEST(bus_dispatch_offsets_and_unclaimed_all_ones)
{
	struct io_bus bus;
	struct rec a = { 0 }, b = { 0 };

	CHECK_EQ(io_bus_init(&bus, "pio"), 0);
	CHECK_EQ(io_bus_add(&bus, 0x3f8, 8, &rec_ops, &a, "a"), 0);
	CHECK_EQ(io_bus_add(&bus, 0x70, 2, &rec_ops, &b, "b"), 0);

	io_bus_write_val(&bus, 0x3fb, 0x80, 1);
	CHECK_EQ(a.writes, 1);
	CHECK_EQ(a.last_off, 3);
	CHECK_EQ(a.last_val, 0x80);
	CHECK_EQ(io_bus_read_val(&bus, 0x71, 1), 0x89);	/* low byte of base+1 */
	CHECK_EQ(b.last_off, 1);

	/* Nobody at 0x80: reads all-ones of the access size, writes dropped. */
	CHECK_EQ(io_bus_read_val(&bus, 0x80, 1), 0xff);
	CHECK_EQ(io_bus_read_val(&bus, 0x80, 2), 0xffff);
	CHECK_EQ(io_bus_read_val(&bus, 0x80, 4), 0xffffffff);
	uint8_t d[8];
	CHECK(!io_bus_read(&bus, 0xcd8, d, 8));
	CHECK_EQ(get_le64(d), ~0ULL);
	CHECK(!io_bus_write(&bus, 0x80, d, 1));
	io_bus_destroy(&bus);
}

TEST(bus_rejects_overlaps_and_bad_ranges)
{
	struct io_bus bus;
	struct rec a = { 0 };

	io_bus_init(&bus, "mmio");
	CHECK_EQ(io_bus_add(&bus, 0x1000, 0x1000, &rec_ops, &a, "x"), 0);
	CHECK_EQ(io_bus_add(&bus, 0x1fff, 1, &rec_ops, &a, "y"), -EEXIST);
	CHECK_EQ(io_bus_add(&bus, 0x0fff, 2, &rec_ops, &a, "y"), -EEXIST);
	CHECK_EQ(io_bus_add(&bus, 0x0, 0x1000, &rec_ops, &a, "y"), 0);	/* adjacent is fine */
	CHECK_EQ(io_bus_add(&bus, 0x2000, 0, &rec_ops, &a, "y"), -EINVAL);
	CHECK_EQ(io_bus_add(&bus, ~0ULL, 2, &rec_ops, &a, "y"), -EINVAL);
	CHECK_EQ(io_bus_add(&bus, ~0ULL, 1, &rec_ops, &a, "top"), 0);
	CHECK_EQ(io_bus_del(&bus, 0x1000, &a), 0);
	CHECK_EQ(io_bus_del(&bus, 0x1000, &a), -ENOENT);
	CHECK_EQ(io_bus_read_val(&bus, 0x1000, 4), 0xffffffff);
	CHECK_EQ(io_bus_add(&bus, 0x1800, 0x100, &rec_ops, &a, "z"), 0);
	io_bus_destroy(&bus);
}

TEST(bus_access_straddling_range_end_is_split)
{
	struct io_bus bus;
	struct rec a = { 0 };

	io_bus_init(&bus, "pio");
	io_bus_add(&bus, 0x510, 2, &rec_ops, &a, "fwcfg");
	/* 4-byte read at 0x511: byte 0 from the device (offset 1), rest unclaimed. */
	CHECK_EQ(io_bus_read_val(&bus, 0x511, 4), 0xffffff89);
	CHECK_EQ(a.reads, 1);
	CHECK_EQ(a.last_size, 1);
	io_bus_destroy(&bus);
}

TEST(guest_mem_bounds)
{
	static uint8_t lo[4096], hi[4096];
	struct guest_mem m = { 0 };
	uint8_t buf[16];

	CHECK_EQ(gm_add(&m, 0, sizeof(lo), lo), 0);
	CHECK_EQ(gm_add(&m, 0x100000000ULL, sizeof(hi), hi), 0);
	CHECK_EQ(gm_add(&m, 0x800, 16, lo), -EINVAL);	/* overlap */
	CHECK(gm_ptr(&m, 4095, 1) == lo + 4095);
	CHECK(gm_ptr(&m, 4095, 2) == NULL);
	CHECK(gm_ptr(&m, 0x2000, 1) == NULL);
	CHECK(gm_ptr(&m, 0x100000000ULL + 8, 8) == hi + 8);
	memset(buf, 0xab, sizeof(buf));
	CHECK_EQ(gm_write(&m, 4090, buf, 16), -EFAULT);	/* crosses into a hole */
	CHECK_EQ(lo[4090], 0);				/* nothing was written */
	CHECK_EQ(gm_write(&m, 100, buf, 16), 0);
	CHECK_EQ(lo[100], 0xab);
	CHECK_EQ(gm_read(&m, ~0ULL - 3, buf, 8), -EFAULT);
	CHECK_EQ(gm_add(&m, ~0ULL, 2, lo), -EINVAL);	/* wraps */
}

TEST(parse_size_units_and_errors)
{
	uint64_t v = 0;
	CHECK_EQ(parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(parse_size("256M", &v), 0);
	CHECK_EQ(v, 256ULL << 20);
	CHECK_EQ(parse_size("4g", &v), 0);
	CHECK_EQ(v, 4ULL << 30);
	CHECK_EQ(parse_size("", &v), -EINVAL);
	CHECK_EQ(parse_size("M", &v), -EINVAL);
	CHECK_EQ(parse_size("-1", &v), -EINVAL);
	CHECK_EQ(parse_size("12Q", &v), -EINVAL);
	CHECK_EQ(parse_size("99999999999T", &v), -ERANGE);
	CHECK_EQ(parse_u64("0x10", 0xff, &v), 0);
	CHECK_EQ(v, 16);
	CHECK_EQ(parse_u64("256", 0xff, &v), -ERANGE);
}

TEST(write_file_atomic_replaces_whole_file)
{
	char path[512], tmp[600];
	char buf[64] = { 0 };
	int fd;

	snprintf(path, sizeof(path), "%s/vars.fd", test_tmpdir());
	CHECK_EQ(write_file_atomic(path, "old contents", 12), 0);
	CHECK_EQ(write_file_atomic(path, "new", 3), 0);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 3);
	close(fd);
	CHECK_STR(buf, "new");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(access(tmp, F_OK) != 0);	/* no temp file left behind */
	CHECK_EQ(write_file_atomic("/nonexistent-dir/x", "a", 1), -ENOENT);
}

static void count_fire(void *o, uint64_t n)
{
	*(uint64_t *)o += n;
}

TEST(evloop_timer_and_stop)
{
	struct evloop l;
	struct ev_timer t;
	uint64_t fired = 0;

	CHECK_EQ(ev_init(&l), 0);
	CHECK_EQ(ev_timer_init(&l, &t, count_fire, &fired, "t"), 0);
	CHECK_EQ(ev_timer_arm(&t, 1000000, 0), 0);
	while (!fired)
		CHECK(ev_run_once(&l, 1000) >= 0);
	CHECK_EQ(fired, 1);
	ev_stop(&l);
	CHECK_EQ(ev_run(&l), 0);	/* returns because of the stop */
	ev_timer_destroy(&l, &t);
	ev_destroy(&l);
}

static void count_run(void *ctx, unsigned arg)
{
	__atomic_fetch_add((unsigned *)ctx, arg, __ATOMIC_SEQ_CST);
}

TEST(worker_runs_on_kick_and_stops)
{
	struct worker w;
	unsigned n = 0;

	CHECK_EQ(worker_start(&w, "t", count_run, &n, 3), 0);
	worker_kick(&w);
	for (int i = 0; i < 1000 && __atomic_load_n(&n, __ATOMIC_SEQ_CST) == 0; i++)
		usleep(1000);
	CHECK_EQ(__atomic_load_n(&n, __ATOMIC_SEQ_CST), 3);	/* one call, with its argument */
	worker_stop(&w);
	CHECK(!w.running);
	worker_stop(&w);	/* stopping twice is harmless */
}
