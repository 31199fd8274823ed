/* Block backends on files (ranges, read-only, O_DIRECT with unaligned
 * guest buffers, discard, write-zeroes) and the --disk syntax. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/blk.h"
#include "disk/diskspec.h"

#define SIZE (1 << 20)

static const char *make_file(const char *name, unsigned seed)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	uint8_t *buf = malloc(SIZE);
	int fd;

	snprintf(p, 256, "%s/%s", test_tmpdir(), name);
	for (int i = 0; i < SIZE; i++)
		buf[i] = (uint8_t)(i / 512 + seed);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, SIZE) != SIZE)
		test_fail(__FILE__, __LINE__, "cannot create %s", p);
	close(fd);
	free(buf);
	return p;
}

TEST(blk_file_ranges_and_read_only)
{
	const char *p = make_file("a.img", 0);
	struct blk_open_opts o = { .cache = BLK_CACHE_WRITEBACK, .offset = 4096, .length = 8192 };
	struct blk b;
	char why[256];
	uint8_t buf[1024];

	CHECK_EQ(blk_open_file(&b, p, &o, why, sizeof(why)), 0);
	CHECK_EQ(b.size, 8192);
	CHECK_EQ(blk_read(&b, buf, 512, 0), 0);
	CHECK_EQ(buf[0], 8);		/* sector 8 of the file */
	CHECK_EQ(blk_read(&b, buf, 1024, 8192 - 512), -EINVAL);	/* crosses the end */
	CHECK_EQ(blk_read(&b, buf, 512, UINT64_MAX - 100), -EINVAL);
	memset(buf, 0xee, 512);
	CHECK_EQ(blk_write(&b, buf, 512, 512), 0);
	CHECK_EQ(blk_flush(&b), 0);
	blk_close(&b);
	/* The write went to file sector 9, nothing else moved. */
	o = (struct blk_open_opts){ .ro = true };
	CHECK_EQ(blk_open_file(&b, p, &o, why, sizeof(why)), 0);
	CHECK_EQ(b.size, SIZE);
	CHECK_EQ(blk_read(&b, buf, 1024, 8 * 512), 0);
	CHECK_EQ(buf[0], 8);
	CHECK_EQ(buf[512], 0xee);
	CHECK_EQ(blk_write(&b, buf, 512, 0), -EROFS);
	CHECK_EQ(blk_discard(&b, 0, 512), -EROFS);
	blk_close(&b);
	/* Ranges outside the file and odd sizes are refused at open. */
	o = (struct blk_open_opts){ .offset = SIZE, .length = 512 };
	CHECK_EQ(blk_open_file(&b, p, &o, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "outside"));
	o = (struct blk_open_opts){ .offset = 0, .length = 1000 };
	CHECK_EQ(blk_open_file(&b, p, &o, why, sizeof(why)), -EINVAL);
	o = (struct blk_open_opts){ 0 };
	CHECK_EQ(blk_open_file(&b, "/nonexistent/x.img", &o, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "/nonexistent/x.img"));
}

TEST(blk_direct_io_with_unaligned_guest_buffers)
{
	const char *p = make_file("d.img", 3);
	struct blk_open_opts o = { .cache = BLK_CACHE_AUTO };
	struct blk b;
	char why[256];
	uint8_t *mem = aligned_alloc(4096, 3 * 4096);
	struct iovec v[3];

	CHECK_EQ(blk_open_file(&b, p, &o, why, sizeof(why)), 0);
	/* Whether or not the test filesystem allows O_DIRECT, unaligned
	 * buffers (a 512-byte piece at an odd address) must work. */
	v[0] = (struct iovec){ mem + 1, 512 };
	v[1] = (struct iovec){ mem + 4096 + 7, 1024 };
	v[2] = (struct iovec){ mem + 8192, 512 };
	CHECK_EQ(blk_readv(&b, v, 3, 4096), 0);
	CHECK_EQ(mem[1], 8 + 3);
	CHECK_EQ(mem[4096 + 7], 9 + 3);
	CHECK_EQ(mem[4096 + 7 + 512], 10 + 3);
	CHECK_EQ(mem[8192 + 511], 11 + 3);
	memset(mem + 1, 0x42, 512);
	CHECK_EQ(blk_writev(&b, v, 1, 0), 0);
	memset(mem, 0, 4096);
	CHECK_EQ(blk_read(&b, mem, 512, 0), 0);
	CHECK_EQ(mem[0], 0x42);
	CHECK_EQ(mem[511], 0x42);
	/* Write-zeroes and discard (a hole) on a file. */
	CHECK_EQ(blk_write_zeroes(&b, 4096, 4096, false), 0);
	CHECK_EQ(blk_discard(&b, 8192, 4096), 0);
	CHECK_EQ(blk_read(&b, mem, 8192, 4096), 0);
	for (int i = 0; i < 8192; i++)
		if (mem[i]) {
			CHECK_EQ(mem[i], 0);
			break;
		}
	blk_close(&b);
	free(mem);
}

TEST(diskspec_syntax)
{
	struct disk_spec d;
	char why[256];

	CHECK_EQ(disk_spec_parse("path=/dev/sda2,if=nvme,ro,serial=ABC,queues=4,cache=none", &d, why, sizeof(why)), 0);
	CHECK_STR(d.path, "/dev/sda2");
	CHECK_EQ(d.iface, DISK_IF_NVME);
	CHECK(d.ro);
	CHECK_STR(d.serial, "ABC");
	CHECK_EQ(d.queues, 4);
	CHECK_EQ(d.cache, BLK_CACHE_NONE);
	CHECK_EQ(disk_spec_parse("synth=/dev/nvme0n1,parts=1+3,cow=1", &d, why, sizeof(why)), 0);
	CHECK(d.synth);
	CHECK_EQ(d.nparts, 2);
	CHECK_EQ(d.parts[1], 3);
	CHECK_EQ(d.cow_mask, 1);
	CHECK_EQ(disk_spec_parse("path=x.img,offset=1M,size=4096", &d, why, sizeof(why)), 0);
	CHECK_EQ(d.offset, 1 << 20);
	/* Errors name the problem. */
	CHECK_EQ(disk_spec_parse("if=nvme", &d, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "required"));
	CHECK_EQ(disk_spec_parse("path=a,if=scsi", &d, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "if=scsi"));
	CHECK_EQ(disk_spec_parse("path=a,bogus=1", &d, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "bogus"));
	CHECK_EQ(disk_spec_parse("path=a,offset=100", &d, why, sizeof(why)), -EINVAL);
	CHECK_EQ(disk_spec_parse("path=a,parts=1", &d, why, sizeof(why)), -EINVAL);
	CHECK_EQ(disk_spec_parse("synth=a,parts=1,cow=2", &d, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "cow=2"));
	CHECK_EQ(disk_spec_parse("synth=a,parts=1+1", &d, why, sizeof(why)), -EINVAL);
	CHECK_EQ(disk_spec_parse("path=a,serial=123456789012345678901", &d, why, sizeof(why)), -EINVAL);
	CHECK_EQ(disk_spec_parse("path=a,queues=17", &d, why, sizeof(why)), -EINVAL);
}
