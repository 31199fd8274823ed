/*
 * iobench: block device throughput with O_DIRECT, for the disk benchmark
 * (bench/disk.py). Runs in a guest (on its virtio-blk or NVMe disk) and on
 * the host (on the backend itself), so the numbers compare.
 *
 *   iobench DEVICE SECONDS SIZE_MIB
 *
 * Over the first SIZE_MIB of DEVICE, each test for SECONDS:
 *   seqread   1 MiB reads, sequential          seqwrite  1 MiB writes
 *   randread  4 KiB reads, random, 1 in flight randwrite 4 KiB writes
 *   randread4 4 KiB reads, random, 4 threads (4 in flight)
 * and prints "IOBENCH <test> mbps=<MB/s> iops=<ops/s>" per test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct job {
	int fd;
	int write;
	size_t bs;
	uint64_t span;		/* bytes of the device used */
	int random;
	double seconds;
	uint64_t ops;
	unsigned seed;
	int err;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *p)
{
	struct job *j = p;
	uint8_t *buf;
	uint64_t blocks = j->span / j->bs, pos = 0;
	double end = now() + j->seconds;

	if (posix_memalign((void **)&buf, 4096, j->bs)) {
		j->err = ENOMEM;
		return NULL;
	}
	memset(buf, 0x5a, j->bs);
	while (now() < end) {
		/* check the clock every 16 operations */
		for (int k = 0; k < 16; k++) {
			uint64_t b = j->random ? (uint64_t)rand_r(&j->seed) % blocks : pos++ % blocks;
			ssize_t n = j->write ? pwrite(j->fd, buf, j->bs, (off_t)(b * j->bs))
					     : pread(j->fd, buf, j->bs, (off_t)(b * j->bs));
			if (n != (ssize_t)j->bs) {
				j->err = n < 0 ? errno : EIO;
				free(buf);
				return NULL;
			}
			j->ops++;
		}
	}
	free(buf);
	return NULL;
}

static int test(const char *name, const char *dev, int write, size_t bs, int random, int threads,
		double seconds, uint64_t span)
{
	struct job j[8];
	pthread_t t[8];
	uint64_t ops = 0;
	double t0, dt;
	int fd = open(dev, (write ? O_RDWR : O_RDONLY) | O_DIRECT);

	if (fd < 0) {
		fprintf(stderr, "iobench: %s: %s\n", dev, strerror(errno));
		return 1;
	}
	t0 = now();
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){ fd, write, bs, span, random, seconds, 0, 1234u + (unsigned)i, 0 };
		pthread_create(&t[i], NULL, run, &j[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (j[i].err) {
			fprintf(stderr, "iobench: %s: %s\n", name, strerror(j[i].err));
			close(fd);
			return 1;
		}
		ops += j[i].ops;
	}
	if (write)
		fdatasync(fd);
	dt = now() - t0;
	close(fd);
	printf("IOBENCH %s mbps=%.1f iops=%.0f\n", name, (double)ops * (double)bs / dt / 1e6,
	       (double)ops / dt);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	double secs;
	uint64_t span;
	int r = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: iobench DEVICE SECONDS SIZE_MIB\n");
		return 2;
	}
	secs = atof(argv[2]);
	span = strtoull(argv[3], NULL, 10) << 20;
	if (secs <= 0 || span < (1 << 20)) {
		fprintf(stderr, "iobench: bad SECONDS or SIZE_MIB\n");
		return 2;
	}
	r |= test("seqread", argv[1], 0, 1 << 20, 0, 1, secs, span);
	r |= test("seqwrite", argv[1], 1, 1 << 20, 0, 1, secs, span);
	r |= test("randread", argv[1], 0, 4096, 1, 1, secs, span);
	r |= test("randwrite", argv[1], 1, 4096, 1, 1, secs, span);
	r |= test("randread4", argv[1], 0, 4096, 1, 4, secs, span);
	return r;
}
