/*
 * A read-only evaluator for GRUB 2 configuration files: it runs the part
 * of the GRUB script language that distributions generate (Debian/Ubuntu
 * update-grub, Fedora/RHEL blscfg, os-prober entries, the stub grub.cfg
 * next to grubx64.efi on the ESP) far enough to collect the boot menu:
 * each entry's title, id, kernel, initrds and command line or chainload
 * target, and which entry GRUB would boot by default.
 *
 * Nothing is executed: commands that would load, boot or write (linux,
 * chainloader, save_env, ...) only fill in the menu entry being collected.
 * Files come through struct grub_fs_ops, so the same code reads real
 * partitions or an in-memory table in tests and fuzz targets.
 *
 * Everything read is untrusted. Limits (each hit is a warning naming
 * file:line, and evaluation goes on or stops gracefully): files of 1 MiB,
 * 8 nested configfile/source/normal/eval, 16 nested function calls, 32
 * nested blocks in a file or body and 128 in all, 200000 statements and
 * 8 MiB of text lexed, expanded, copied or read per grub_eval, 256
 * variables (names 64 bytes, values 4096), words of 4096 bytes, 128 words
 * a command, 64 entries. The evaluator uses about 50 KiB of stack at most
 * (musl, -Os) and a few MiB of heap, so it may run in a thread with
 * musl's default 128 KiB stack.
 */
#ifndef POLYBOOT_BOOT_DISC_GRUBCFG_H
#define POLYBOOT_BOOT_DISC_GRUBCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GRUB_MAX_ENTRIES	64
#define GRUB_MAX_INITRD		8
#define GRUB_MAX_WARNINGS	32
#define GRUB_MAX_FILES		16
#define GRUB_DEV_MAX		64
#define GRUB_PATH_MAX		256
#define GRUB_TITLE_MAX		512
#define GRUB_ID_MAX		128
#define GRUB_ARGS_MAX		4096
#define GRUB_WARNING_MAX	192
#define GRUB_FILE_MAX		(1u << 20)	/* largest configuration file read */

/*
 * The filesystem GRUB sees. Devices are GRUB names without parentheses
 * ("hd0,gpt2"); paths are absolute within the device. All four are
 * required.
 */
struct grub_fs_ops {
	/*
	 * search: @kind 'u' (filesystem UUID), 'l' (label) or 'f' (a file that
	 * exists). Writes the device into @dev (of @devlen). 0 or -ENOENT.
	 */
	int (*search)(void *ctx, char kind, const char *key, char *dev, size_t devlen);
	/*
	 * Reads @path on @dev (never empty) into a malloc()ed buffer that the
	 * caller of read_file (the evaluator) frees. -EFBIG if the file is
	 * larger than @max, -ENOENT, or another -errno.
	 */
	int (*read_file)(void *ctx, const char *dev, const char *path, size_t max, char **data,
			 size_t *len);
	/* Calls @cb for every file (not directory) name in directory @path; 0 or -errno. */
	int (*list_dir)(void *ctx, const char *dev, const char *path,
			int (*cb)(void *cbctx, const char *name), void *cbctx);
	/* 1 for a file (its size in *@size), 2 for a directory, 0 if absent, or -errno. */
	int (*stat)(void *ctx, const char *dev, const char *path, uint64_t *size);
	/* $grub_platform: "efi" or "pc"; NULL means "efi". */
	const char *platform;
};

struct grub_file_ref {
	char dev[GRUB_DEV_MAX];		/* "hd0,gpt2" */
	char path[GRUB_PATH_MAX];	/* "/vmlinuz-6.1.0", or "+1" for a boot sector */
};

enum grub_entry_kind {
	GRUB_ENTRY_OTHER,	/* nothing to boot: fwsetup, reboot, halt, ... */
	GRUB_ENTRY_LINUX,	/* linux/linuxefi/linux16 (+ initrd) */
	GRUB_ENTRY_CHAINLOADER,	/* chainloader or ntldr: @chain */
	GRUB_ENTRY_MULTIBOOT,	/* multiboot[2]: @kernel, @args; modules in @initrd */
	GRUB_ENTRY_CONFIGFILE,	/* configfile/source of another menu: @chain (not followed) */
};

struct grub_entry {
	enum grub_entry_kind kind;
	/* Submenu titles and the entry's own, joined by '>' ('>' in a title doubled), as default= takes them. */
	char title[GRUB_TITLE_MAX];
	char id[GRUB_ID_MAX];		/* --id, "" if none; BLS: file name without .conf */
	char classes[GRUB_ID_MAX];	/* --class values joined by spaces */
	char index_path[32];		/* position as default= numbers it: "3" or "1>2" */
	struct grub_file_ref kernel;	/* LINUX, MULTIBOOT */
	char args[GRUB_ARGS_MAX];	/* command line after expansion, words joined by spaces */
	unsigned ninitrd;
	struct grub_file_ref initrd[GRUB_MAX_INITRD];
	struct grub_file_ref chain;	/* CHAINLOADER, CONFIGFILE */
	bool from_bls;			/* made by blscfg from a BLS entry */
	char bls_file[128];		/* that entry's file name */
};

struct grub_result {
	unsigned nentries;
	unsigned entries_dropped;	/* past GRUB_MAX_ENTRIES */
	struct grub_entry entries[GRUB_MAX_ENTRIES];	/* in menu order, submenus flattened */
	/*
	 * Index in @entries of the entry GRUB boots by default: $default of
	 * the first menu that was complete (the innermost configfile with
	 * entries), as a number, title, id or '>' path of them; 0 when
	 * $default is unset or empty (GRUB boots the first entry); -1 when it
	 * names nothing or there are no entries.
	 */
	int default_index;
	int timeout;			/* $timeout of that menu in seconds; -1 if unset or not a number */
	unsigned nwarnings;
	/*
	 * Warnings not kept once @warnings is full. A repeat of a kept warning
	 * is not counted, except past the 2000th warning, when they are no
	 * longer compared (a file full of errors must not cost time).
	 */
	unsigned warnings_dropped;
	char warnings[GRUB_MAX_WARNINGS][GRUB_WARNING_MAX];	/* "file:line: what" */
	unsigned nfiles;
	unsigned files_dropped;
	struct grub_file_ref files[GRUB_MAX_FILES];	/* every file read, in order, once */
};

/*
 * Evaluates configuration file @path on device @dev (the partition GRUB
 * starts from: the ESP holding grubx64.efi, or the /boot/grub partition of
 * a BIOS install) into @out, which the caller allocates (it is large: put
 * it on the heap). $root starts as @dev, $prefix and $cmdpath as "(@dev)"
 * plus the directory of @path.
 *
 * Returns 0 when @path was read and evaluated (problems inside it are
 * warnings), the read error of @path itself, -EINVAL for bad arguments or
 * -ENOMEM. @out is filled in either case.
 */
int grub_eval(const struct grub_fs_ops *ops, void *ctx, const char *dev, const char *path,
	      struct grub_result *out);

#endif
