/* MBR tables: primaries and the EBR chain of logical partitions, compared
 * with what sfdisk wrote; damaged chains (loops, links outside the
 * extended partition, missing signatures) are cut with a reason. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "disk/mbr.h"
#include "util.h"

#define DISK (64u << 20)

static int read_mem(void *ctx, uint64_t off, void *buf, size_t len)
{
	if (off + len > DISK)
		return -EIO;
	memcpy(buf, (uint8_t *)ctx + off, len);
	return 0;
}

/* sfdisk: 1 Linux active, 2 extended with three logicals, 3 NTFS. */
static uint8_t *make_disk(void)
{
	char path[256], cmd[1024];
	uint8_t *img = calloc(1, DISK);
	int fd;

	snprintf(path, sizeof(path), "%s/mbr.img", test_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "truncate -s %u %s && printf 'label: dos\\nlabel-id: 0x1234abcd\\n"
		 "start=2048, size=8192, type=83, bootable\\n"
		 "start=10240, size=40960, type=5\\n"
		 "start=51200, size=8192, type=7\\n"
		 "start=12288, size=4096, type=83\\n"
		 "start=18432, size=4096, type=82\\n"
		 "start=24576, size=8192, type=83\\n'"
		 " | sfdisk -q %s", DISK, path, path);
	if (system(cmd) != 0) {
		test_fail(__FILE__, __LINE__, "sfdisk failed");
		return img;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread_full(fd, img, DISK, 0) < 0)
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
	close(fd);
	return img;
}

TEST(mbr_primaries_and_logicals_as_sfdisk_wrote_them)
{
	uint8_t *img = make_disk();
	struct mbr m;
	char why[256];

	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(m.disk_signature, 0x1234abcd);
	CHECK(!m.protective);
	CHECK_EQ(m.nparts, 6);
	CHECK_EQ(m.parts[0].num, 1);
	CHECK(m.parts[0].active);
	CHECK_EQ(m.parts[0].start_lba, 2048);
	CHECK_EQ(m.parts[1].type, 0x05);
	CHECK(mbr_is_extended(m.parts[1].type));
	CHECK_EQ(m.parts[2].type, 0x07);
	/* logicals 5, 6, 7 with absolute LBAs */
	CHECK_EQ(m.parts[3].num, 5);
	CHECK_EQ(m.parts[3].start_lba, 12288);
	CHECK_EQ(m.parts[3].sectors, 4096);
	CHECK_EQ(m.parts[4].num, 6);
	CHECK_EQ(m.parts[4].type, 0x82);
	CHECK_EQ(m.parts[4].start_lba, 18432);
	CHECK_EQ(m.parts[5].num, 7);
	CHECK_EQ(m.parts[5].start_lba, 24576);
	free(img);
}

/* The EBR of logical 5 (the first sector of the extended partition). */
static uint8_t *ebr(uint8_t *img, uint64_t lba)
{
	return img + lba * 512;
}

TEST(mbr_damaged_chains_are_cut_with_a_reason)
{
	uint8_t *img = make_disk();
	uint8_t *first = ebr(img, 10240);
	uint64_t second_rel = get_le32(first + 446 + 16 + 8);	/* link to logical 6's EBR */
	uint8_t *second = ebr(img, 10240 + second_rel);
	struct mbr m;
	char why[256];

	/* A loop: logical 6's EBR links back to the first EBR. */
	uint8_t saved[16];
	memcpy(saved, second + 446 + 16, 16);
	second[446 + 16 + 4] = 0x05;
	put_le32(second + 446 + 16 + 8, 0);
	put_le32(second + 446 + 16 + 12, 1);
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK_EQ(m.nparts, 5);
	CHECK(strstr(why, "loops back to the first EBR") != NULL);	/* a zero link is the first EBR */
	put_le32(second + 446 + 16 + 8, (uint32_t)second_rel);	/* links to itself */
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK_EQ(m.nparts, 5);
	CHECK(strstr(why, "loops") != NULL);
	memcpy(second + 446 + 16, saved, 16);

	/* A link past the extended partition. */
	put_le32(first + 446 + 16 + 8, 40960 + 8);
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK_EQ(m.nparts, 4);
	CHECK(strstr(why, "outside the extended partition") != NULL);
	put_le32(first + 446 + 16 + 8, (uint32_t)second_rel);

	/* An EBR without its signature. */
	second[510] = 0;
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK_EQ(m.nparts, 4);
	CHECK(strstr(why, "no 0x55AA") != NULL);
	second[510] = 0x55;

	/* A logical partition running out of the extended one. */
	put_le32(first + 446 + 12, 1u << 30);
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK_EQ(m.nparts, 3);
	CHECK(strstr(why, "runs out") != NULL);

	/* No signature at all; a GPT protective entry. */
	img[510] = 0;
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "no MBR signature");
	img[510] = 0x55;
	memset(img + 446, 0, 64);
	img[446 + 4] = 0xee;
	put_le32(img + 446 + 8, 1);
	put_le32(img + 446 + 12, 0xffffffff);
	CHECK_EQ(mbr_read(read_mem, img, DISK, 512, &m, why, sizeof(why)), 0);
	CHECK(m.protective);
	free(img);
}
