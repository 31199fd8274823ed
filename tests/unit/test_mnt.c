/* Reading files of a scanned filesystem (boot/disc/mnt.h): symlinks on
 * the scanned disk resolve inside it, never to the firmware's files;
 * only regular files are read, and never more than asked. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disc/mnt.h"

static void put_file(const char *root, const char *rel, const char *text)
{
	char p[1100];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

TEST(symlinks_stay_inside)
{
	char root[400], p[600], *data = NULL;
	size_t len = 0;
	int fd;

	snprintf(root, sizeof(root), "%s/fs", test_tmpdir());
	CHECK(mkdir(root, 0755) == 0);
	snprintf(p, sizeof(p), "%s/etc", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/usr", root);
	CHECK(mkdir(p, 0755) == 0);
	put_file(root, "usr/os-release", "NAME=inside\n");
	/* as distributions do: an absolute link */
	snprintf(p, sizeof(p), "%s/etc/os-release", root);
	CHECK(symlink("/usr/os-release", p) == 0);
	/* a link that would leave the filesystem */
	snprintf(p, sizeof(p), "%s/etc/escape", root);
	CHECK(symlink("../../../../../../../../etc/hostname", p) == 0);
	snprintf(p, sizeof(p), "%s/etc/abs", root);
	CHECK(symlink("/etc/hostname", p) == 0);

	fd = mnt_open_root(root);
	CHECK(fd >= 0);
	CHECK(mnt_read_file(fd, "/etc/os-release", 4096, &data, &len) == 0);
	CHECK_STR(data, "NAME=inside\n");
	CHECK_EQ(len, 12);
	free(data);
	/* /etc/hostname of the machine running the test is never reached */
	CHECK_EQ(mnt_read_file(fd, "/etc/escape", 4096, &data, &len), -ENOENT);
	CHECK_EQ(mnt_read_file(fd, "/etc/abs", 4096, &data, &len), -ENOENT);
	CHECK_EQ(mnt_read_file(fd, "../../etc/hostname", 4096, &data, &len), -ENOENT);
	/* limits and kinds */
	CHECK_EQ(mnt_read_file(fd, "/usr/os-release", 4, &data, &len), -EFBIG);
	CHECK_EQ(mnt_read_file(fd, "/etc", 4096, &data, &len), -EINVAL);
	CHECK(mnt_openat(fd, "/etc", 1) >= 0);
	CHECK_EQ(mnt_openat(fd, "/usr/os-release", 1), -ENOTDIR);
	close(fd);
}

TEST(options_never_write)
{
	const char *kfs = NULL;

	CHECK_STR(mnt_options("ext4", &kfs), "noload");
	CHECK_STR(kfs, "ext4");
	CHECK_STR(mnt_options("ext2", &kfs), "noload");
	CHECK_STR(mnt_options("btrfs", &kfs), "rescue=nologreplay");
	CHECK_STR(mnt_options("xfs", &kfs), "norecovery,nouuid");
	CHECK_STR(mnt_options("ntfs", &kfs), "");
	CHECK_STR(kfs, "ntfs3");
	CHECK(mnt_options("swap", &kfs) == NULL);
	CHECK(mnt_options("crypto_LUKS", &kfs) == NULL);
}
