/*
 * rlog: bounded logs rotate to PATH.1 and never hold more than their limit.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rlog.h"
#include "test.h"

static long fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(rlog_rotates_at_limit)
{
	char path[512], old[520], line[100];
	struct rlog l;

	snprintf(path, sizeof(path), "%s/r.log", test_tmpdir());
	snprintf(old, sizeof(old), "%s.1", path);
	remove(path);
	remove(old);
	CHECK_EQ(rlog_open(&l, path, 4096), 0);
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < 40; i++)		/* 4000 bytes: fits */
		CHECK_EQ(rlog_write(&l, line, sizeof(line)), 0);
	CHECK_EQ(fsize(path), 4000);
	CHECK_EQ(fsize(old), -1);
	CHECK_EQ(rlog_write(&l, line, sizeof(line)), 0);	/* 4100: rotates first */
	CHECK_EQ(fsize(old), 4000);
	CHECK_EQ(fsize(path), 100);
	CHECK_EQ(rlog_sync(&l), 0);
	rlog_close(&l);
	/* reopening appends */
	CHECK_EQ(rlog_open(&l, path, 4096), 0);
	CHECK_EQ(rlog_write(&l, "x\n", 2), 0);
	CHECK_EQ(fsize(path), 102);
	rlog_close(&l);
	CHECK_EQ(rlog_write(&l, "x", 1), -EBADF);
}

TEST(rlog_huge_write_keeps_tail)
{
	static char big[10000];
	char path[512];
	struct rlog l;

	snprintf(path, sizeof(path), "%s/big.log", test_tmpdir());
	remove(path);
	memset(big, 'b', sizeof(big));
	big[sizeof(big) - 1] = 'E';
	CHECK_EQ(rlog_open(&l, path, 4096), 0);
	CHECK_EQ(rlog_write(&l, big, sizeof(big)), 0);
	CHECK_EQ(fsize(path), 4096);
	rlog_close(&l);
}
