/* Synthetic GPT disks: only the chosen partitions of a real disk image are
 * visible, at their LBAs with their GUIDs; the rest reads as zeros and
 * refuses writes; copy-on-write partitions keep writes private; the
 * generated table is one that sfdisk accepts. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "disk/gpt.h"
#include "disk/synth.h"

#define MiB (1u << 20)
#define DISK (16 * MiB)

/* A 16 MiB GPT image with four 2 MiB partitions at 1, 3, 5, 7 MiB, each
 * filled with its number (0x11, 0x22, ...). */
static const char *make_disk(void)
{
	static char path[256];
	char cmd[1024];
	uint8_t *buf = malloc(2 * MiB);
	int fd;

	snprintf(path, sizeof(path), "%s/disk.img", test_tmpdir());
	snprintf(cmd, sizeof(cmd),
		 "truncate -s %u %s && printf 'label: gpt\\n"
		 "start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\\n"
		 "start=6144, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\\n"
		 "start=10240, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=other\\n"
		 "start=14336, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=more\\n'"
		 " | sfdisk -q %s", DISK, path, path);
	if (system(cmd) != 0) {
		test_fail(__FILE__, __LINE__, "sfdisk failed");
		free(buf);
		return path;
	}
	fd = open(path, O_RDWR);
	for (int p = 1; p <= 4; p++) {
		memset(buf, 0x11 * p, 2 * MiB);
		if (pwrite(fd, buf, 2 * MiB, (off_t)(1 + 2 * (p - 1)) * MiB) != 2 * MiB)
			test_fail(__FILE__, __LINE__, "write");
	}
	close(fd);
	free(buf);
	return path;
}

static int count_byte(const uint8_t *b, size_t n, uint8_t v)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		c += b[i] == v;
	return c;
}

TEST(synth_shows_only_chosen_partitions)
{
	const char *path = make_disk();
	struct disk_spec spec;
	struct blk b, real;
	struct blk_open_opts ro = { .ro = true };
	struct gpt *g = calloc(1, sizeof(*g)), *rg = calloc(1, sizeof(*rg));
	uint8_t *all = malloc(DISK);
	char why[512];

	CHECK_EQ(disk_spec_parse("synth=x,parts=1+2,cow=1", &spec, why, sizeof(why)), 0);
	snprintf(spec.path, sizeof(spec.path), "%s", path);
	CHECK_EQ(synth_open(&b, &spec, why, sizeof(why)), 0);
	CHECK_EQ(b.size, DISK);
	/* The whole disk: partitions 1 and 2 in place, no byte of 3 or 4. */
	CHECK_EQ(blk_read(&b, all, DISK, 0), 0);
	CHECK_EQ(count_byte(all + 1 * MiB, 2 * MiB, 0x11), 2 * MiB);
	CHECK_EQ(count_byte(all + 3 * MiB, 2 * MiB, 0x22), 2 * MiB);
	CHECK_EQ(count_byte(all + 5 * MiB, 4 * MiB, 0), 4 * MiB);	/* where 3 and 4 were */
	/* Outside the generated tables (CRCs and GUIDs may hold any byte),
	 * not one byte of partitions 3 and 4. */
	CHECK_EQ(count_byte(all + 34 * 512, DISK - 67 * 512, 0x33), 0);
	CHECK_EQ(count_byte(all + 34 * 512, DISK - 67 * 512, 0x44), 0);
	/* Its table: the two partitions with the original GUIDs and numbers. */
	CHECK_EQ(gpt_read_blk(&b, g, why, sizeof(why)), 0);
	CHECK(!g->used_backup);
	CHECK_EQ(blk_open_file(&real, path, &ro, why, sizeof(why)), 0);
	CHECK_EQ(gpt_read_blk(&real, rg, why, sizeof(why)), 0);
	CHECK_EQ(g->nparts, 2);
	CHECK_MEM(&g->disk_guid, &rg->disk_guid, sizeof(g->disk_guid));
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(g->parts[i].num, i + 1);
		CHECK_MEM(&g->parts[i].uuid, &rg->parts[i].uuid, sizeof(struct guid));
		CHECK_EQ(g->parts[i].first_lba, rg->parts[i].first_lba);
		CHECK_STR(g->parts[i].name, rg->parts[i].name);
	}
	/* Writes: partition 2 reaches the file; partition 1 (copy-on-write)
	 * reads back but leaves the file alone; outside: refused. */
	memset(all, 0xaa, 4096);
	CHECK_EQ(blk_write(&b, all, 4096, 3 * MiB + 512), 0);
	CHECK_EQ(blk_write(&b, all, 1024, 1 * MiB + 100 * 512), 0);
	CHECK_EQ(blk_read(&b, all + 8192, 4096, 1 * MiB + 99 * 512), 0);
	CHECK_EQ(all[8192], 0x11);
	CHECK_EQ(all[8192 + 512], 0xaa);
	CHECK_EQ(all[8192 + 1535], 0xaa);
	CHECK_EQ(all[8192 + 1536], 0x11);
	CHECK_EQ(blk_write(&b, all, 512, 5 * MiB), -EIO);	/* partition 3's place */
	CHECK_EQ(blk_write(&b, all, 512, 512), -EIO);		/* the generated table */
	CHECK_EQ(blk_read(&real, all + 8192, 4096, 3 * MiB + 512), 0);
	CHECK_EQ(count_byte(all + 8192, 4096, 0xaa), 4096);
	CHECK_EQ(blk_read(&real, all + 8192, 1024, 1 * MiB + 100 * 512), 0);
	CHECK_EQ(count_byte(all + 8192, 1024, 0x11), 1024);
	blk_close(&real);

	/* sfdisk accepts the generated disk as it is. */
	{
		char img[300], cmd[700];
		int fd;
		snprintf(img, sizeof(img), "%s/synth.img", test_tmpdir());
		CHECK_EQ(blk_read(&b, all, DISK, 0), 0);
		fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
		CHECK_EQ(write(fd, all, DISK), DISK);
		close(fd);
		snprintf(cmd, sizeof(cmd), "sfdisk --verify %s 2>&1 | grep -qi 'no errors detected'", img);
		CHECK_EQ(system(cmd), 0);
	}
	blk_close(&b);

	/* Errors name the problem. */
	CHECK_EQ(disk_spec_parse("synth=x,parts=1+7", &spec, why, sizeof(why)), 0);
	snprintf(spec.path, sizeof(spec.path), "%s", path);
	CHECK_EQ(synth_open(&b, &spec, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "no partition 7"));
	free(g);
	free(rg);
	free(all);
}
