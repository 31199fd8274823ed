/*
 * polyvmm-vars: the VARS file tool.
 *   check FILE                  0 if OVMF would accept the store, else 1
 *   list FILE                   live variables: GUID, name, attributes, size
 *   get FILE NAME [GUID]        a variable's data as hex
 *   set FILE NAME GUID HEX      set a non-volatile BS+RT variable (hex bytes)
 *   delete FILE NAME [GUID]     delete a variable
 *   boot-list FILE              BootNext, BootCurrent, BootOrder, every Boot####
 *   boot-add FILE OPTIONS       add a Boot#### that boots a file on a GPT
 *                               partition, and put it into BootOrder
 *   boot-order FILE XXXX,...    set BootOrder
 *   boot-next FILE XXXX|--clear set or delete BootNext
 *   boot-delete FILE XXXX       delete Boot#### and take it out of BootOrder
 *                               (and BootNext)
 * The boot variables are those of UEFI 2.10 section 3.3: EFI global
 * variables, Boot#### with #### in upper-case hex, BootOrder/BootNext as
 * UINT16 option numbers. Writes replace the file atomically (temp file,
 * fsync, rename), and only once the whole edit has succeeded in memory.
 */
#define LOG_MOD "vars"
#include "efi/varstool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/blk.h"
#include "disk/gpt.h"
#include "efi/loadopt.h"
#include "efi/varstore.h"
#include "util.h"

#define BOOT_NUMS	0x10000		/* Boot0000 .. BootFFFF */

struct vars {
	const char *file;
	uint8_t *img;
	size_t len;
	struct varstore vs;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: polyvmm-vars check FILE\n"
		   "       polyvmm-vars list FILE\n"
		   "       polyvmm-vars get FILE NAME [GUID]\n"
		   "       polyvmm-vars set FILE NAME GUID HEXDATA\n"
		   "       polyvmm-vars delete FILE NAME [GUID]\n"
		   "       polyvmm-vars boot-list FILE\n"
		   "       polyvmm-vars boot-add FILE --disk IMAGE|DEVICE --part N --loader PATH\n"
		   "                    --label TEXT [--first|--last] [--num XXXX]\n"
		   "       polyvmm-vars boot-add FILE --part-guid GUID --start LBA --size LBAS\n"
		   "                    --partnum N --loader PATH --label TEXT [--first|--last]\n"
		   "                    [--num XXXX]\n"
		   "       polyvmm-vars boot-order FILE XXXX[,XXXX...]\n"
		   "       polyvmm-vars boot-next FILE XXXX|--clear\n"
		   "       polyvmm-vars boot-delete FILE XXXX\n"
		   "GUID defaults to the EFI global variable GUID (BootOrder, Boot0001...).\n"
		   "XXXX is a Boot#### number in hex. boot-add reads the GPT of the disk (or\n"
		   "takes the partition's GUID, first LBA and size in LBAs), writes the lowest\n"
		   "free Boot#### (or XXXX, replacing it) that boots PATH on the partition\n"
		   "(e.g. \\EFI\\debian\\grubx64.efi), puts it first (default) or last in\n"
		   "BootOrder and prints its name.\n");
}

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("polyvmm-vars: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int usage_error(void)
{
	usage(stderr);
	return 2;
}

static uint8_t *load(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > 64 << 20) {
		fail("%s: not a VARS image", path);
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	r = buf ? pread_full(fd, buf, *len, 0) : -ENOMEM;
	close(fd);
	if (r < 0) {
		fail("%s: %s", path, strerror(-r));
		free(buf);
		return NULL;
	}
	return buf;
}

/* Writes the edited image back; 0 or 1 (after a message). */
static int save(const struct vars *v)
{
	int r = write_file_atomic(v->file, v->img, v->len);

	return r < 0 ? fail("%s: %s", v->file, strerror(-r)) : 0;
}

/* Reports a varstore error for variable @name; returns 1. */
static int var_error(const struct vars *v, const char *name, int err)
{
	if (err == -ENOENT)
		return fail("%s: no variable %s", v->file, name);
	return fail("%s: %s: %s", v->file, name, strerror(-err));
}

/* --- generic variables ------------------------------------------------------------ */

static int cmd_check(struct vars *v, int argc, char **argv)
{
	struct efivar ev = { .next = 0 };
	unsigned n = 0;

	if (argc)
		return usage_error();
	while (varstore_next(&v->vs, &ev))
		n++;
	printf("%s: OK: %u variables, %zu bytes free\n", v->file, n,
	       v->vs.store + v->vs.store_size - v->vs.end);
	return 0;
}

static int cmd_list(struct vars *v, int argc, char **argv)
{
	struct efivar ev = { .next = 0 };
	char name[128], g[GUID_TEXT_LEN];

	if (argc)
		return usage_error();
	while (varstore_next(&v->vs, &ev)) {
		efivar_name(&ev, name, sizeof(name));
		guid_format(&ev.guid, g);
		printf("%s %-24s attrs=%#x size=%u\n", g, name, ev.attrs, ev.data_size);
	}
	return 0;
}

/* NAME [GUID] arguments; the GUID defaults to the global variable GUID.
 * Returns 0, or exit status 2 after a message. */
static int name_guid_args(int argc, char **argv, struct guid *guid)
{
	*guid = efi_global_guid;
	if (argc == 2 && guid_parse(argv[1], guid) < 0) {
		fail("bad GUID '%s'", argv[1]);
		return 2;
	}
	return 0;
}

static int cmd_get(struct vars *v, int argc, char **argv)
{
	struct efivar ev;
	struct guid guid;
	int r;

	if (argc < 1 || argc > 2)
		return usage_error();
	r = name_guid_args(argc, argv, &guid);
	if (r)
		return r;
	r = varstore_get(&v->vs, argv[0], &guid, &ev);
	if (r < 0)
		return var_error(v, argv[0], r);
	for (uint32_t i = 0; i < ev.data_size; i++)
		printf("%02x%s", ev.data[i], i + 1 == ev.data_size ? "" : " ");
	printf("\n");
	return 0;
}

static int cmd_set(struct vars *v, int argc, char **argv)
{
	struct guid guid;
	size_t hl;
	uint8_t *d;
	int r;

	if (argc != 3)
		return usage_error();
	r = name_guid_args(2, argv, &guid);
	if (r)
		return r;
	hl = strlen(argv[2]);
	if (hl % 2 || strspn(argv[2], "0123456789abcdefABCDEF") != hl) {
		fail("HEXDATA must be pairs of hex digits, not '%s'", argv[2]);
		return 2;
	}
	d = malloc(hl / 2 + 1);
	if (!d)
		return fail("out of memory");
	for (size_t i = 0; i < hl / 2; i++)
		d[i] = (uint8_t)(hex_digit(argv[2][2 * i]) << 4 | hex_digit(argv[2][2 * i + 1]));
	r = varstore_set(&v->vs, argv[0], &guid, EFI_VAR_NV_BS_RT, d, (uint32_t)(hl / 2));
	free(d);
	return r < 0 ? var_error(v, argv[0], r) : save(v);
}

static int cmd_delete(struct vars *v, int argc, char **argv)
{
	struct guid guid;
	int r;

	if (argc < 1 || argc > 2)
		return usage_error();
	r = name_guid_args(argc, argv, &guid);
	if (r)
		return r;
	r = varstore_delete(&v->vs, argv[0], &guid);
	return r < 0 ? var_error(v, argv[0], r) : save(v);
}

/* --- boot variables --------------------------------------------------------------- */

enum order_place { ORDER_REMOVE, ORDER_FIRST, ORDER_LAST };

static void boot_var_name(char out[9], unsigned num)
{
	snprintf(out, 9, "Boot%04X", num);
}

/* XXXX: one to four hex digits. */
static int parse_boot_num(const char *s, unsigned *num)
{
	size_t n = strlen(s);

	*num = 0;
	if (n < 1 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0)
			return -EINVAL;
		*num = *num << 4 | (unsigned)d;
	}
	return 0;
}

static bool boot_exists(const struct vars *v, unsigned num)
{
	struct efivar ev;
	char name[9];

	boot_var_name(name, num);
	return varstore_get(&v->vs, name, &efi_global_guid, &ev) == 0;
}

static void mark(uint8_t *bits, unsigned num)
{
	bits[num / 8] |= (uint8_t)(1u << num % 8);
}

static bool marked(const uint8_t *bits, unsigned num)
{
	return bits[num / 8] >> num % 8 & 1;
}

/* Marks in @seen (BOOT_NUMS bits) the numbers of the Boot#### variables. */
static void boot_nums(const struct vars *v, uint8_t *seen)
{
	struct efivar ev = { .next = 0 };
	char name[16];

	memset(seen, 0, BOOT_NUMS / 8);
	while (varstore_next(&v->vs, &ev)) {
		efivar_name(&ev, name, sizeof(name));
		/* Upper-case hex only: "Boot000a" is not a load option. */
		if (!guid_eq(&ev.guid, &efi_global_guid) || strlen(name) != 8 ||
		    strncmp(name, "Boot", 4) || strspn(name + 4, "0123456789ABCDEF") != 4)
			continue;
		mark(seen, (unsigned)strtoul(name + 4, NULL, 16));
	}
}

/*
 * Rewrites BootOrder without @num, then with @num first or last as
 * @place says. An order left empty is deleted (UEFI has no empty
 * variables). Returns 0 or -errno.
 */
static int update_order(struct vars *v, unsigned num, enum order_place place)
{
	struct efivar ev;
	size_t n = 0, k = 0;
	uint8_t *order;
	int r;

	if (varstore_get(&v->vs, "BootOrder", &efi_global_guid, &ev) == 0)
		n = ev.data_size / 2;
	order = malloc(2 * (n + 1));
	if (!order)
		return -ENOMEM;
	if (place == ORDER_FIRST)
		put_le16(order + 2 * k++, (uint16_t)num);
	for (size_t i = 0; i < n; i++)
		if (get_le16(ev.data + 2 * i) != num)
			put_le16(order + 2 * k++, get_le16(ev.data + 2 * i));
	if (place == ORDER_LAST)
		put_le16(order + 2 * k++, (uint16_t)num);
	if (place == ORDER_REMOVE && k == n)
		r = 0;		/* it was not there */
	else if (k)
		r = varstore_set(&v->vs, "BootOrder", &efi_global_guid, EFI_VAR_NV_BS_RT, order,
				 (uint32_t)(2 * k));
	else
		r = varstore_delete(&v->vs, "BootOrder", &efi_global_guid);
	free(order);
	return r;
}

/* Prints a UINT16 variable such as BootNext as "Name: XXXX", if present. */
static void print_boot_u16(const struct vars *v, const char *name)
{
	struct efivar ev;

	if (varstore_get(&v->vs, name, &efi_global_guid, &ev) < 0)
		return;
	if (ev.data_size == 2)
		printf("%s: %04X\n", name, get_le16(ev.data));
	else
		printf("%s: (malformed: %u bytes)\n", name, ev.data_size);
}

static int cmd_boot_list(struct vars *v, int argc, char **argv)
{
	uint8_t seen[BOOT_NUMS / 8];
	struct efivar ev;
	struct loadopt lo;
	char name[9];

	if (argc)
		return usage_error();
	print_boot_u16(v, "BootNext");
	print_boot_u16(v, "BootCurrent");
	if (varstore_get(&v->vs, "BootOrder", &efi_global_guid, &ev) == 0) {
		printf("BootOrder: ");
		for (uint32_t i = 0; i + 1 < ev.data_size; i += 2)
			printf("%s%04X", i ? "," : "", get_le16(ev.data + i));
		printf("\n");
	}
	boot_nums(v, seen);
	for (unsigned num = 0; num < BOOT_NUMS; num++) {
		if (!marked(seen, num))
			continue;
		boot_var_name(name, num);
		if (varstore_get(&v->vs, name, &efi_global_guid, &ev) < 0)
			continue;
		if (loadopt_parse(ev.data, ev.data_size, &lo) < 0)
			printf("%s  (malformed load option, %u bytes)\n", name, ev.data_size);
		else
			printf("%s%c %s\t%s\n", name, lo.attrs & LOAD_OPTION_ACTIVE ? '*' : ' ',
			       lo.desc, lo.path);
	}
	return 0;
}

/* The HD() node for partition @partnum of the GPT on @disk. */
static int hd_from_disk(const char *disk, const char *partnum, struct loadopt_hd *hd)
{
	const struct blk_open_opts o = { .ro = true, .cache = BLK_CACHE_WRITEBACK };
	const struct gpt_part *p;
	struct blk b;
	struct gpt g;
	uint64_t num;
	char why[400];
	int r;

	if (parse_u64(partnum, GPT_MAX_ENTRIES, &num) < 0 || !num)
		return fail("bad partition number '%s'", partnum);
	r = blk_open_file(&b, disk, &o, why, sizeof(why));
	if (r < 0)
		return fail("%s", why);
	r = gpt_read_blk(&b, &g, why, sizeof(why));
	blk_close(&b);
	if (r < 0)
		return fail("%s: %s", disk, why);
	if (g.used_backup)
		fprintf(stderr, "polyvmm-vars: warning: %s: %s\n", disk, why);
	p = gpt_find(&g, (unsigned)num);
	if (!p)
		return fail("%s: no partition %s", disk, partnum);
	hd->partnum = p->num;
	hd->part_guid = p->uuid;
	hd->start = p->first_lba;
	hd->size = p->last_lba - p->first_lba + 1;
	return 0;
}

/* The HD() node from --part-guid, --start, --size and --partnum. */
static int hd_from_args(const char *guid, const char *start, const char *size,
			const char *partnum, struct loadopt_hd *hd)
{
	uint64_t num;

	if (guid_parse(guid, &hd->part_guid) < 0)
		return fail("bad GUID '%s'", guid);
	if (parse_u64(start, UINT64_MAX, &hd->start) < 0 ||
	    parse_u64(size, UINT64_MAX, &hd->size) < 0 || !hd->size)
		return fail("bad --start or --size");
	if (parse_u64(partnum, UINT32_MAX, &num) < 0 || !num)
		return fail("bad partition number '%s'", partnum);
	hd->partnum = (uint32_t)num;
	return 0;
}

static int cmd_boot_add(struct vars *v, int argc, char **argv)
{
	const char *disk = NULL, *part = NULL, *loader = NULL, *label = NULL, *num_s = NULL;
	const char *guid = NULL, *start = NULL, *size = NULL, *partnum = NULL;
	const struct {
		const char *name;
		const char **val;
	} opts[] = {
		{ "--disk", &disk }, { "--part", &part }, { "--loader", &loader },
		{ "--label", &label }, { "--num", &num_s }, { "--part-guid", &guid },
		{ "--start", &start }, { "--size", &size }, { "--partnum", &partnum },
	};
	uint8_t seen[BOOT_NUMS / 8];
	enum order_place place = ORDER_FIRST;
	struct loadopt_hd hd;
	uint8_t opt[4096];
	unsigned num;
	char name[9];
	int r, len;

	for (int i = 0; i < argc; i++) {
		size_t k;

		if (!strcmp(argv[i], "--first")) {
			place = ORDER_FIRST;
			continue;
		}
		if (!strcmp(argv[i], "--last")) {
			place = ORDER_LAST;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(opts) && strcmp(argv[i], opts[k].name); k++)
			;
		if (k == ARRAY_SIZE(opts) || i + 1 == argc) {
			fail("boot-add: unknown option or missing value: %s", argv[i]);
			return usage_error();
		}
		*opts[k].val = argv[++i];
	}
	if (!loader || !label)
		return usage_error();
	if (disk && part && !guid && !start && !size && !partnum)
		r = hd_from_disk(disk, part, &hd);
	else if (!disk && !part && guid && start && size && partnum)
		r = hd_from_args(guid, start, size, partnum, &hd);
	else
		return usage_error();
	if (r)
		return r;

	if (num_s) {
		if (parse_boot_num(num_s, &num) < 0)
			return fail("bad boot option number '%s'", num_s);
	} else {
		boot_nums(v, seen);
		for (num = 0; num < BOOT_NUMS && marked(seen, num); num++)
			;
		if (num == BOOT_NUMS)
			return fail("%s: no free Boot#### number", v->file);
	}
	boot_var_name(name, num);

	len = loadopt_build(opt, sizeof(opt), LOAD_OPTION_ACTIVE, label, &hd, loader, NULL, 0);
	if (len < 0)
		return fail("cannot encode the load option: %s",
			    len == -ENOSPC ? "label or loader too long"
					   : "label or loader not UTF-8, or loader not absolute");
	r = varstore_set(&v->vs, name, &efi_global_guid, EFI_VAR_NV_BS_RT, opt, (uint32_t)len);
	if (r == 0)
		r = update_order(v, num, place);
	if (r < 0)
		return var_error(v, name, r);
	r = save(v);
	if (r == 0)
		printf("%s\n", name);
	return r;
}

static int cmd_boot_order(struct vars *v, int argc, char **argv)
{
	uint8_t listed[BOOT_NUMS / 8] = { 0 }, *order;
	size_t k = 0;
	char *list, *tok, *save_ptr;
	int r = 0;

	if (argc != 1)
		return usage_error();
	list = strdup(argv[0]);
	order = malloc(2 * (strlen(argv[0]) + 1));	/* 2 bytes per entry */
	if (!list || !order) {
		free(list);
		free(order);
		return fail("out of memory");
	}
	for (tok = strtok_r(list, ",", &save_ptr); tok && !r;
	     tok = strtok_r(NULL, ",", &save_ptr)) {
		unsigned num;

		if (parse_boot_num(tok, &num) < 0)
			r = fail("bad boot option number '%s'", tok);
		else if (marked(listed, num))
			r = fail("Boot%04X listed twice", num);
		else if (!boot_exists(v, num))
			r = fail("%s: no Boot%04X", v->file, num);
		else {
			put_le16(order + 2 * k++, (uint16_t)num);
			mark(listed, num);
		}
	}
	if (!r && !k)
		r = usage_error();
	if (!r) {
		r = varstore_set(&v->vs, "BootOrder", &efi_global_guid, EFI_VAR_NV_BS_RT, order,
				 (uint32_t)(2 * k));
		r = r < 0 ? var_error(v, "BootOrder", r) : save(v);
	}
	free(list);
	free(order);
	return r;
}

static int cmd_boot_next(struct vars *v, int argc, char **argv)
{
	uint8_t data[2];
	unsigned num;
	int r;

	if (argc != 1)
		return usage_error();
	if (!strcmp(argv[0], "--clear")) {
		r = varstore_delete(&v->vs, "BootNext", &efi_global_guid);
		return r < 0 && r != -ENOENT ? var_error(v, "BootNext", r) : save(v);
	}
	if (parse_boot_num(argv[0], &num) < 0)
		return fail("bad boot option number '%s'", argv[0]);
	if (!boot_exists(v, num))
		return fail("%s: no Boot%04X", v->file, num);
	put_le16(data, (uint16_t)num);
	r = varstore_set(&v->vs, "BootNext", &efi_global_guid, EFI_VAR_NV_BS_RT, data,
			 sizeof(data));
	return r < 0 ? var_error(v, "BootNext", r) : save(v);
}

static int cmd_boot_delete(struct vars *v, int argc, char **argv)
{
	struct efivar ev;
	unsigned num;
	char name[9];
	int r;

	if (argc != 1)
		return usage_error();
	if (parse_boot_num(argv[0], &num) < 0)
		return fail("bad boot option number '%s'", argv[0]);
	boot_var_name(name, num);
	r = varstore_delete(&v->vs, name, &efi_global_guid);
	if (r == 0)
		r = update_order(v, num, ORDER_REMOVE);
	/* A BootNext naming a missing option would be dropped by the
	 * firmware anyway; drop it now so boot-list shows what will happen. */
	if (r == 0 && varstore_get(&v->vs, "BootNext", &efi_global_guid, &ev) == 0 &&
	    ev.data_size == 2 && get_le16(ev.data) == num)
		r = varstore_delete(&v->vs, "BootNext", &efi_global_guid);
	return r < 0 ? var_error(v, name, r) : save(v);
}

static const struct {
	const char *name;
	int (*run)(struct vars *v, int argc, char **argv);	/* arguments after FILE */
} cmds[] = {
	{ "check", cmd_check },
	{ "list", cmd_list },
	{ "get", cmd_get },
	{ "set", cmd_set },
	{ "delete", cmd_delete },
	{ "boot-list", cmd_boot_list },
	{ "boot-add", cmd_boot_add },
	{ "boot-order", cmd_boot_order },
	{ "boot-next", cmd_boot_next },
	{ "boot-delete", cmd_boot_delete },
};

int varstool_main(int argc, char **argv)
{
	struct vars v;
	char why[256];
	size_t c;
	int r;

	if (argc < 3) {
		bool help = argc > 1 && !strcmp(argv[1], "--help");
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	for (c = 0; c < ARRAY_SIZE(cmds) && strcmp(argv[1], cmds[c].name); c++)
		;
	if (c == ARRAY_SIZE(cmds))
		return usage_error();
	v.file = argv[2];
	v.img = load(v.file, &v.len);
	if (!v.img)
		return 1;
	if (varstore_open(&v.vs, v.img, v.len, why, sizeof(why)) < 0) {
		printf("%s: INVALID: %s\n", v.file, why);
		free(v.img);
		return 1;
	}
	r = cmds[c].run(&v, argc - 3, argv + 3);
	free(v.img);
	return r;
}
