/*
 * The small text formats that sit next to a boot loader configuration:
 *
 *   - Boot Loader Specification type #1 entries (loader/entries/NAME.conf,
 *     https://uapi-group.org/specifications/specs/boot_loader_specification/),
 *     their menu order and the UAPI version comparison they sort by
 *     (https://uapi-group.org/specifications/specs/version_format_specification/);
 *   - os-release(5) files (/etc/os-release, /usr/lib/os-release and the
 *     .osrel section of a unified kernel image);
 *   - the GRUB environment block (grubenv), where GRUB keeps saved_entry,
 *     next_entry and, on older Fedora, kernelopts.
 *
 * All input is untrusted: the parsers read only @len bytes (no NUL needed),
 * never allocate, cut values that do not fit the fixed-size fields (saying
 * so where there is a @why) and never fail on junk lines.
 */
#ifndef POLYBOOT_BOOT_DISC_BLS_H
#define POLYBOOT_BOOT_DISC_BLS_H

#include <stddef.h>

#define BLS_PATH_MAX		256	/* linux, initrd, efi, devicetree, title, ... */
#define BLS_OPTIONS_MAX		2048	/* all options lines joined */
#define BLS_MAX_INITRD		8
#define BLS_FILENAME_MAX	128
#define BLS_ID_MAX		64	/* machine-id, architecture */

struct bls_entry {
	char filename[BLS_FILENAME_MAX];	/* set by the caller: "<id>.conf" */
	char title[BLS_PATH_MAX];
	char version[BLS_PATH_MAX];
	char machine_id[BLS_ID_MAX];
	char sort_key[BLS_PATH_MAX];
	char linux_path[BLS_PATH_MAX];		/* the "linux" key */
	unsigned ninitrd;
	char initrd[BLS_MAX_INITRD][BLS_PATH_MAX];	/* in file order */
	char options[BLS_OPTIONS_MAX];		/* "options" lines joined by one space */
	char efi[BLS_PATH_MAX];
	char devicetree[BLS_PATH_MAX];
	char architecture[BLS_ID_MAX];
};

/*
 * Parses one entry file of @len bytes into @out (cleared first; filename is
 * cleared too, so set it afterwards). Lines are "key value" (any run of
 * spaces or tabs between them, trailing blanks dropped); '#' lines, blank
 * lines and unknown keys are skipped. An "initrd" line may name several
 * files separated by blanks (as Fedora's blscfg accepts). Values that do
 * not fit, and initrds past BLS_MAX_INITRD, are cut and noted in @why (may
 * be NULL). Returns 0, or -EINVAL when there is neither "linux" nor "efi"
 * (@why says so).
 */
int bls_parse(const char *text, size_t len, struct bls_entry *out, char *why, size_t whylen);

/*
 * Menu order of the specification's "Sorting" section, for qsort(): entries
 * whose file name marks them "bad" by boot counting ("+0" or "+0-N" before
 * ".conf") last; entries with a sort-key before those without; two with a
 * sort-key by sort-key, then machine-id (strcmp, empty lowest), then version
 * descending; two without by version descending; then by file name without
 * ".conf", descending in version order; strcmp of the file names breaks
 * the last ties. Negative when @a comes first.
 */
int bls_compare(const struct bls_entry *a, const struct bls_entry *b);

/*
 * UAPI version comparison: <0, 0, >0 as @a is older than, equal to or newer
 * than @b. '~' sorts lower than anything, even the end of the string
 * ("1~rc1" < "1"), as systemd's implementation does; '-' lower than other
 * continuations, '^' higher, '.' lower; numbers compare numerically
 * (leading zeros ignored, no length limit); letters compare as ASCII
 * ("A" < "a"); other characters only separate. NULL is the empty string.
 */
int bls_vercmp(const char *a, const char *b);

/* --- os-release(5) ------------------------------------------------------ */

#define OSREL_MAX 256

struct osrel {
	char name[OSREL_MAX];			/* NAME */
	char pretty_name[OSREL_MAX];		/* PRETTY_NAME; "" if absent */
	char id[OSREL_MAX];			/* ID */
	char id_like[OSREL_MAX];		/* ID_LIKE */
	char version[OSREL_MAX];		/* VERSION */
	char version_id[OSREL_MAX];		/* VERSION_ID */
	char version_codename[OSREL_MAX];	/* VERSION_CODENAME */
	char image_id[OSREL_MAX];		/* IMAGE_ID */
	char build_id[OSREL_MAX];		/* BUILD_ID */
};

/*
 * Parses an os-release file: KEY=value lines where the value uses shell
 * quoting ('single' literal, "double" with \" \\ \$ \` escapes, unquoted
 * backslash escapes, concatenated pieces). Comments, blank lines, unknown
 * keys and malformed lines are skipped; long values are cut. Returns 0, or
 * -EINVAL when none of the known keys was found.
 */
int osrel_parse(const char *text, size_t len, struct osrel *out);

/* --- GRUB environment block --------------------------------------------- */

#define GRUBENV_MAX_VARS	32
#define GRUBENV_NAME_MAX	64
#define GRUBENV_VALUE_MAX	1024

struct grubenv {
	unsigned nvars;
	unsigned dropped;	/* variables past GRUBENV_MAX_VARS or with too long a name */
	struct {
		char name[GRUBENV_NAME_MAX];
		char value[GRUBENV_VALUE_MAX];	/* unescaped; cut if longer */
	} vars[GRUBENV_MAX_VARS];
};

/*
 * Parses a grubenv file: the header line "# GRUB Environment Block" (else
 * -EINVAL), then name=value lines, then '#' padding. GRUB writes a
 * backslash before every '\' and newline of a value, so "\\" reads as one
 * backslash and a backslash before a line break keeps the line break in
 * the value. A later assignment of the same name replaces the earlier one.
 * Returns 0 or -EINVAL.
 */
int grubenv_parse(const char *text, size_t len, struct grubenv *out);

/* The value of @name in @env, or NULL. */
const char *grubenv_get(const struct grubenv *env, const char *name);

#endif
