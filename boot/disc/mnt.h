/*
 * Mounting filesystems for discovery, so that nothing is ever written:
 *
 *  - scan_ns_enter() moves the calling process into a private mount
 *    namespace (nothing it mounts is seen by anyone else, and everything
 *    goes away with the process even if it crashes);
 *  - every filesystem is mounted from a read-only loop device over the
 *    partition's byte range (LOOP_CONFIGURE with LO_FLAGS_READ_ONLY |
 *    LO_FLAGS_AUTOCLEAR): the block layer refuses writes whatever the
 *    filesystem driver decides, and the loop device goes away at umount;
 *  - with options that keep drivers from writing on their own: ext2/3/4
 *    "ro,noload" (plain ro still replays the journal), btrfs
 *    "ro,rescue=nologreplay", xfs "ro,norecovery,nouuid", ntfs3 "ro", vfat "ro",
 *    iso9660 "ro"; always MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
 *  - files inside are opened with openat2(RESOLVE_IN_ROOT), so an
 *    absolute or ".." symlink on the scanned disk resolves inside that
 *    filesystem and never reaches the firmware's own files; only regular
 *    files are read, up to a size the caller gives.
 */
#ifndef POLYBOOT_BOOT_DISC_MNT_H
#define POLYBOOT_BOOT_DISC_MNT_H

#include <stddef.h>
#include <stdint.h>

/* Enters a private mount namespace and makes @dir (created if missing)
 * the place mounts go. 0 or -errno (-EPERM without CAP_SYS_ADMIN). */
int mnt_ns_enter(const char *dir);

/* The mount options used for filesystem @fstype (a blkid name), and the
 * kernel filesystem to mount it with; NULL if discovery never mounts it. */
const char *mnt_options(const char *fstype, const char **kernel_fs);

/*
 * Mounts @size bytes at @offset of the disk open (read-only) at @disk_fd
 * as @fstype on @target (a directory that exists), read-only as above.
 * @extra is appended to the options (e.g. "subvol=root") or NULL.
 * @sector_size is the disk's logical block size. 0 or -errno; on error
 * @why says which step failed.
 */
int mnt_mount(int disk_fd, uint64_t offset, uint64_t size, unsigned sector_size,
	      const char *fstype, const char *extra, const char *target, char *why, size_t whylen);

/* Unmounts @target (lazily if busy). 0 or -errno. */
int mnt_umount(const char *target);

/* Opens the directory @root of a mounted filesystem, for the calls below. */
int mnt_open_root(const char *root);

/*
 * Opens @path (absolute or relative, inside the filesystem whose root is
 * open at @rootfd) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. @dir asks
 * for a directory. Returns an fd or -errno.
 */
int mnt_openat(int rootfd, const char *path, int dir);

/* Reads the regular file @path (inside @rootfd) into a malloc'd,
 * NUL-terminated buffer: -EFBIG if larger than @max, -EINVAL if not a
 * regular file. */
int mnt_read_file(int rootfd, const char *path, size_t max, char **data, size_t *len);

#endif
