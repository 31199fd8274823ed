/* GPT: build and read back, fallback to the backup table, rejection of
 * malformed tables, and agreement with util-linux sfdisk both ways. */
#include "test.h"

#include <cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "disk/blk.h"
#include "disk/gpt.h"
#include "util.h"

#define ESP_TYPE	"c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define LINUX_TYPE	"0fc63daf-8483-4772-8e79-3d69d8477de4"

struct image {
	uint8_t *b;
	uint64_t size;
	unsigned ss;
	uint64_t lbas;
};

static int image_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct image *im = ctx;

	if (off > im->size || len > im->size - off) {
		test_fail(__FILE__, __LINE__, "read of %zu bytes at %#llx past the disk", len,
			  (unsigned long long)off);
		return -EIO;
	}
	memcpy(buf, im->b + off, len);
	return 0;
}

static struct guid G(const char *s)
{
	struct guid g;

	if (guid_parse(s, &g) < 0)
		test_fail(__FILE__, __LINE__, "bad GUID %s", s);
	return g;
}

static bool guid_is(const struct guid *g, const char *text)
{
	struct guid want = G(text);

	return guid_eq(g, &want);
}

/* A table for a disk of @lbas LBAs of @ss bytes, partitions 1, 2 and 4
 * (3 unused, as after deleting one) with non-ASCII names. */
static void sample_gpt(struct gpt *g, unsigned ss, uint64_t lbas)
{
	uint64_t a = 1u << 20 >> (ss == 512 ? 9 : 12);	/* 1 MiB in LBAs */

	memset(g, 0, sizeof(*g));
	g->sector_size = ss;
	g->disk_guid = G("11111111-2222-3333-4444-555555555555");
	g->first_usable = gpt_head_bytes(ss) / ss;
	g->last_usable = lbas - gpt_tail_bytes(ss) / ss - 1;
	g->nparts = 3;
	g->parts[0] = (struct gpt_part){ .num = 1, .type = G(ESP_TYPE),
		.uuid = G("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), .first_lba = a,
		.last_lba = 2 * a - 1, .attrs = 1, .name = "EFI system partition" };
	g->parts[1] = (struct gpt_part){ .num = 2, .type = G(LINUX_TYPE),
		.uuid = G("01234567-89ab-cdef-0123-456789abcdef"), .first_lba = 2 * a,
		.last_lba = 3 * a - 1, .attrs = 1ull << 60, .name = "racine \xc3\xa9t\xc3\xa9" };
	g->parts[2] = (struct gpt_part){ .num = 4, .type = G(LINUX_TYPE),
		.uuid = G("fedcba98-7654-3210-fedc-ba9876543210"), .first_lba = 3 * a,
		.last_lba = g->last_usable, .name = "data \xf0\x9f\x92\xbe" };
}

/* A whole disk image holding the table gpt_build() makes of @g. */
static void build_image(struct image *im, const struct gpt *g, unsigned ss, uint64_t lbas)
{
	size_t tb = gpt_tail_bytes(ss);

	im->ss = ss;
	im->lbas = lbas;
	im->size = lbas * ss;
	im->b = calloc(1, im->size);
	CHECK_EQ(gpt_build(g, lbas, ss, im->b, gpt_head_bytes(ss), im->b + im->size - tb, tb), 0);
}

static void check_same(const struct gpt *a, const struct gpt *b)
{
	CHECK(guid_eq(&a->disk_guid, &b->disk_guid));
	CHECK_EQ(a->first_usable, b->first_usable);
	CHECK_EQ(a->last_usable, b->last_usable);
	CHECK_EQ(a->sector_size, b->sector_size);
	CHECK_EQ(a->nparts, b->nparts);
	for (unsigned i = 0; i < a->nparts && i < b->nparts; i++) {
		const struct gpt_part *p = &a->parts[i], *q = &b->parts[i];

		CHECK_EQ(p->num, q->num);
		CHECK(guid_eq(&p->type, &q->type));
		CHECK(guid_eq(&p->uuid, &q->uuid));
		CHECK_EQ(p->first_lba, q->first_lba);
		CHECK_EQ(p->last_lba, q->last_lba);
		CHECK_EQ(p->attrs, q->attrs);
		CHECK_STR(p->name, q->name);
	}
}

static int read_image(const struct image *im, struct gpt *g, char *why, size_t wl)
{
	return gpt_read(image_read, (void *)im, im->size, im->ss, g, why, wl);
}

/* Recomputes the CRCs of the header at @lba and of its entry array (if
 * it is inside the image) after a test edited them. */
static void fix_crcs(struct image *im, uint64_t lba)
{
	uint8_t *h = im->b + lba * im->ss;
	uint64_t array = get_le64(h + 72) * im->ss;
	uint64_t bytes = (uint64_t)get_le32(h + 80) * get_le32(h + 84);

	if (array < im->size && bytes <= im->size - array)
		put_le32(h + 88, gpt_crc32(0, im->b + array, bytes));
	put_le32(h + 16, 0);
	put_le32(h + 16, gpt_crc32(0, h, get_le32(h + 12)));
}

/* The entry of partition @num in the primary (@backup false) or backup array. */
static uint8_t *entry(struct image *im, unsigned num, bool backup)
{
	uint8_t *h = im->b + (backup ? im->lbas - 1 : 1) * im->ss;

	return im->b + get_le64(h + 72) * im->ss + (num - 1) * 128;
}

TEST(gpt_crc32_check_value)
{
	CHECK_EQ(gpt_crc32(0, "123456789", 9), 0xcbf43926);
	CHECK_EQ(gpt_crc32(gpt_crc32(0, "1234", 4), "56789", 5), 0xcbf43926);
	CHECK_EQ(gpt_crc32(0, "", 0), 0);
}

TEST(guid_text_forms)
{
	static const uint8_t bytes[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
					   0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
	static const char *const bad[] = {
		"", "C12A7328-F81F-11D2-BA4B-00A0C93EC93", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B0",
		"C12A7328F81F-11D2-BA4B-00A0C93EC93B0", "C12A7328-F81F-11D2-BA4B_00A0C93EC93B",
		"G12A7328-F81F-11D2-BA4B-00A0C93EC93B", " 12A7328-F81F-11D2-BA4B-00A0C93EC93B",
		"+12A7328-F81F-11D2-BA4B-00A0C93EC93B",
	};
	struct guid g;
	char s[GUID_TEXT_LEN];

	CHECK_EQ(guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", &g), 0);
	CHECK_MEM(g.b, bytes, 16);
	guid_format(&g, s);
	CHECK_STR(s, ESP_TYPE);
	CHECK_EQ(guid_parse(ESP_TYPE, &g), 0);
	CHECK_MEM(g.b, bytes, 16);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(guid_parse(bad[i], &g), -EINVAL);
	CHECK(!guid_is_zero(&g));
	memset(&g, 0, sizeof(g));
	CHECK(guid_is_zero(&g));
}

TEST(gpt_build_then_read)
{
	static const unsigned sizes[] = { 512, 4096 };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned ss = sizes[i];
		uint64_t lbas = (8u << 20) / ss;	/* 8 MiB */
		struct gpt g, r;
		struct image im;
		char why[256];
		uint8_t *last;

		sample_gpt(&g, ss, lbas);
		build_image(&im, &g, ss, lbas);
		CHECK_EQ(read_image(&im, &r, why, sizeof(why)), 0);
		CHECK_STR(why, "");
		CHECK(!r.used_backup);
		check_same(&g, &r);
		CHECK(gpt_find(&r, 4) == &r.parts[2]);
		CHECK(gpt_find(&r, 3) == NULL);
		/* 5.2.3: protective MBR covering the disk; 5.3.2: the two
		 * headers point at each other. */
		CHECK_EQ(get_le16(im.b + 510), 0xaa55);
		CHECK_EQ(im.b[446 + 4], 0xee);
		CHECK_EQ(get_le32(im.b + 446 + 8), 1);
		CHECK_EQ(get_le32(im.b + 446 + 12), lbas - 1);
		last = im.b + (lbas - 1) * ss;
		CHECK_MEM(last, "EFI PART", 8);
		CHECK_EQ(get_le64(im.b + ss + 32), lbas - 1);
		CHECK_EQ(get_le64(last + 24), lbas - 1);
		CHECK_EQ(get_le64(last + 32), 1);
		CHECK_EQ(get_le64(last + 72), lbas - 1 - 16384 / ss);
		/* Unused entry 3 is all zero; the name is UTF-16LE. */
		for (int k = 0; k < 128; k++)
			CHECK_EQ(entry(&im, 3, false)[k], 0);
		CHECK_EQ(get_le16(entry(&im, 2, false) + 56 + 2 * 7), 0xe9);
		/* Also through a block backend. */
		{
			struct blk b;
			CHECK_EQ(blk_open_mem(&b, im.b, im.size, true), 0);
			b.lbs = ss;
			CHECK_EQ(gpt_read_blk(&b, &r, why, sizeof(why)), 0);
			check_same(&g, &r);
			blk_close(&b);
		}
		free(im.b);
	}
}

TEST(gpt_bad_primary_uses_backup)
{
	static const struct {
		unsigned off;		/* in LBA 1 (>= 512: in the primary array) */
		uint32_t val;		/* written as a 32-bit value, or ... */
		bool flip;		/* ... the byte flipped, CRCs left alone */
		const char *why;
	} cases[] = {
		{ 0, 0, true, "signature" },
		{ 60, 0, true, "header CRC wrong" },	/* the disk GUID */
		{ 512 + 130, 0, true, "entry array CRC wrong" },
		{ 8, 0x00020000, false, "revision" },
		{ 12, 91, false, "header size 91" },
		{ 12, 513, false, "header size 513" },
		{ 24, 2, false, "MyLBA is 2" },
		{ 84, 100, false, "entry size 100" },
		{ 84, 192, false, "entry size 192" },
		{ 80, 1025, false, "1025 partition entries" },
		{ 40, 1, false, "overlap" },		/* first usable LBA 1: the header */
		{ 40, 20, false, "overlap" },		/* inside the primary array */
		{ 48, 1 << 20, false, "outside the disk" },	/* last usable LBA */
		{ 72, 1 << 20, false, "entry array" },		/* array LBA */
		{ 72, 0, false, "entry array" },
	};
	const uint64_t lbas = 16384;
	struct gpt g, r;
	struct image im;
	char why[512];

	sample_gpt(&g, 512, lbas);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		build_image(&im, &g, 512, lbas);
		if (cases[i].flip) {
			im.b[512 + cases[i].off] ^= 0x10;
		} else {
			put_le32(im.b + 512 + cases[i].off, cases[i].val);
			fix_crcs(&im, 1);
		}
		CHECK_EQ(read_image(&im, &r, why, sizeof(why)), 0);
		CHECK(r.used_backup);
		if (!strstr(why, "primary GPT") || !strstr(why, cases[i].why) ||
		    !strstr(why, "using the backup"))
			test_fail(__FILE__, __LINE__, "case %zu: why \"%s\"", i, why);
		check_same(&g, &r);
		free(im.b);
	}
}

TEST(gpt_both_tables_bad)
{
	const uint64_t lbas = 16384;
	struct gpt g, r;
	struct image im;
	char why[512];

	sample_gpt(&g, 512, lbas);
	build_image(&im, &g, 512, lbas);
	im.b[512 + 16] ^= 1;			/* primary header CRC */
	im.b[(lbas - 33) * 512 + 5] ^= 1;	/* backup array */
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "primary GPT: header CRC wrong; backup GPT: entry array CRC wrong");
	free(im.b);

	/* Not a GPT disk at all. */
	build_image(&im, &g, 512, lbas);
	im.b[446 + 4] = 0x83;
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "protective MBR") != NULL);
	im.b[510] = 0;
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "no MBR signature") != NULL);
	/* Unusable geometry. */
	im.ss = 1000;
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	im.ss = 512;
	im.size = 1024;
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "too small") != NULL);
	free(im.b);
}

/* Edits an entry the same way in both arrays and fixes the CRCs, so only
 * the partition checks can object. */
static void edit_both(struct image *im, unsigned num, unsigned off, uint64_t val)
{
	put_le64(entry(im, num, false) + off, val);
	put_le64(entry(im, num, true) + off, val);
	fix_crcs(im, 1);
	fix_crcs(im, im->lbas - 1);
}

TEST(gpt_rejects_bad_partitions)
{
	const uint64_t lbas = 16384;
	struct gpt g, r;
	struct image im;
	char why[512];

	sample_gpt(&g, 512, lbas);

	build_image(&im, &g, 512, lbas);
	edit_both(&im, 2, 32, g.parts[0].last_lba);	/* starts in partition 1 */
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "primary GPT: partition 2 overlaps partition 1; "
		       "backup GPT: partition 2 overlaps partition 1");
	free(im.b);

	build_image(&im, &g, 512, lbas);
	edit_both(&im, 4, 40, g.last_usable + 1);
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "partition 4 (LBAs 6144-16351) outside the usable LBAs 34-16350") != NULL);
	free(im.b);

	build_image(&im, &g, 512, lbas);
	edit_both(&im, 1, 40, g.parts[0].first_lba - 1);	/* ends before it starts */
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "partition 1") != NULL);
	free(im.b);
}

TEST(gpt_many_entries)
{
	/* A 1024-entry array with 129 partitions in use: more than we keep. */
	const uint64_t lbas = 16384;
	struct gpt g, r;
	struct image im;
	char why[512];
	uint8_t *h;

	sample_gpt(&g, 512, lbas);
	g.nparts = 0;
	g.first_usable = 2 + 256;
	build_image(&im, &g, 512, lbas);
	h = im.b + 512;
	put_le32(h + 80, 1024);
	for (unsigned i = 0; i < 129; i++) {
		uint8_t *e = im.b + 2 * 512 + i * 128;
		memcpy(e, G(LINUX_TYPE).b, 16);
		put_le64(e + 32, 1000 + i);
		put_le64(e + 40, 1000 + i);
	}
	fix_crcs(&im, 1);
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), 0);	/* the backup is empty */
	CHECK(strstr(why, "129 partitions in use (at most 128") != NULL);
	/* 128 in use is fine, and entry numbers are kept past 128. */
	memset(im.b + 2 * 512, 0, 2 * 128);
	memcpy(im.b + 2 * 512 + 1000 * 128, G(LINUX_TYPE).b, 16);
	put_le64(im.b + 2 * 512 + 1000 * 128 + 32, 5000);
	put_le64(im.b + 2 * 512 + 1000 * 128 + 40, 5999);
	fix_crcs(&im, 1);
	CHECK_EQ(read_image(&im, &r, why, sizeof(why)), 0);
	CHECK(!r.used_backup);
	CHECK_EQ(r.nparts, 128);
	CHECK_EQ(r.parts[0].num, 3);
	CHECK_EQ(r.parts[127].num, 1001);
	CHECK_EQ(r.parts[127].first_lba, 5000);
	free(im.b);
}

TEST(gpt_build_rejects)
{
	const uint64_t lbas = 16384;
	uint8_t head[2 * 4096 + 16384], tail[4096 + 16384];
	struct gpt g;

#define REJECT(stmt)                                                              \
	do {                                                                      \
		sample_gpt(&g, 512, lbas);                                        \
		stmt;                                                             \
		CHECK_EQ(gpt_build(&g, lbas, 512, head, sizeof(head), tail, sizeof(tail)), -EINVAL); \
	} while (0)
	sample_gpt(&g, 512, lbas);
	CHECK_EQ(gpt_build(&g, lbas, 512, head, sizeof(head), tail, sizeof(tail)), 0);
	CHECK_EQ(gpt_build(&g, lbas, 512, head, 17407, tail, sizeof(tail)), -EINVAL);
	CHECK_EQ(gpt_build(&g, lbas, 512, head, sizeof(head), tail, 16895), -EINVAL);
	CHECK_EQ(gpt_build(&g, lbas, 4096, head, sizeof(head), tail, sizeof(tail)), -EINVAL);
	REJECT(g.first_usable = 33);			/* inside the primary array */
	REJECT(g.last_usable = lbas - 33);		/* inside the backup array */
	REJECT(g.parts[1].num = 1);			/* twice */
	REJECT(g.parts[1].num = 0);
	REJECT(g.parts[1].num = 129);
	REJECT(memset(&g.parts[1].type, 0, 16));
	REJECT(g.parts[1].first_lba = g.parts[0].last_lba);
	REJECT(g.parts[2].last_lba = g.last_usable + 1);
	REJECT(strcpy(g.parts[0].name, "\xc3("));	/* not UTF-8 */
	REJECT(strcpy(g.parts[0].name, "0123456789012345678901234567890123456"));
	REJECT(g.nparts = GPT_MAX_PARTS + 1);
#undef REJECT
	/* 36 code units fit exactly, with no NUL. */
	sample_gpt(&g, 512, lbas);
	strcpy(g.parts[0].name, "012345678901234567890123456789012345");
	CHECK_EQ(gpt_build(&g, lbas, 512, head, sizeof(head), tail, sizeof(tail)), 0);
}

/* --- util-linux agrees ----------------------------------------------------------- */

TEST(gpt_reads_sfdisk_table)
{
	const char *script =
		"label: gpt\n"
		"label-id: 9A8B7C6D-1111-2222-3333-444455556666\n"
		"start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
		"uuid=0F0E0D0C-0B0A-0908-0706-050403020100, name=\"EFI System\"\n"
		"start=6144, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, "
		"uuid=01234567-89AB-CDEF-0123-456789ABCDEF, name=\"Linux r\xc3\xa9\", "
		"attrs=\"LegacyBIOSBootable\"\n";
	const struct blk_open_opts o = { .ro = true, .cache = BLK_CACHE_WRITEBACK };
	char path[300], cmd[400], out[4096], why[256];
	struct gpt g;
	struct blk b;
	int fd;

	snprintf(path, sizeof(path), "%s/sfdisk.img", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 16 << 20) == 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "sfdisk -q --no-reread --no-tell-kernel '%s'", path);
	if (test_sh(cmd, script, out, sizeof(out)) != 0) {
		test_fail(__FILE__, __LINE__, "sfdisk (util-linux) failed: %s", out);
		return;
	}
	CHECK_EQ(blk_open_file(&b, path, &o, why, sizeof(why)), 0);
	CHECK_EQ(gpt_read_blk(&b, &g, why, sizeof(why)), 0);
	blk_close(&b);
	CHECK(!g.used_backup);
	CHECK(guid_is(&g.disk_guid, "9a8b7c6d-1111-2222-3333-444455556666"));
	CHECK_EQ(g.sector_size, 512);
	CHECK_EQ(g.first_usable, 2048);		/* sfdisk's default alignment */
	CHECK_EQ(g.last_usable, 32768 - 34);
	CHECK_EQ(g.nparts, 2);
	CHECK_EQ(g.parts[0].num, 1);
	CHECK(guid_is(&g.parts[0].type, ESP_TYPE));
	CHECK(guid_is(&g.parts[0].uuid, "0f0e0d0c-0b0a-0908-0706-050403020100"));
	CHECK_EQ(g.parts[0].first_lba, 2048);
	CHECK_EQ(g.parts[0].last_lba, 6143);
	CHECK_STR(g.parts[0].name, "EFI System");
	CHECK_EQ(g.parts[1].num, 2);
	CHECK(guid_is(&g.parts[1].uuid, "01234567-89ab-cdef-0123-456789abcdef"));
	CHECK_EQ(g.parts[1].first_lba, 6144);
	CHECK_EQ(g.parts[1].last_lba, 14335);
	CHECK_EQ(g.parts[1].attrs, 1ull << 2);
	CHECK_STR(g.parts[1].name, "Linux r\xc3\xa9");
}

static const cJSON *json_get(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		test_fail(__FILE__, __LINE__, "sfdisk --json: no \"%s\"", key);
	return v;
}

/* GUIDs compare case-insensitively: sfdisk prints them in upper case. */
static void check_json_str(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = json_get(o, key);

	if (v && (!cJSON_IsString(v) || strcasecmp(v->valuestring, want)))
		test_fail(__FILE__, __LINE__, "sfdisk --json: %s is \"%s\", want \"%s\"", key,
			  cJSON_IsString(v) ? v->valuestring : "?", want);
}

static void check_json_num(const cJSON *o, const char *key, uint64_t want)
{
	const cJSON *v = json_get(o, key);

	if (v && (!cJSON_IsNumber(v) || (uint64_t)v->valuedouble != want))
		test_fail(__FILE__, __LINE__, "sfdisk --json: %s is %.0f, want %llu", key,
			  cJSON_IsNumber(v) ? v->valuedouble : -1.0, (unsigned long long)want);
}

TEST(gpt_build_accepted_by_sfdisk)
{
	const uint64_t lbas = 16384;
	char path[300], cmd[400], out[8192], g_text[GUID_TEXT_LEN];
	const cJSON *pt, *parts;
	cJSON *json;
	struct gpt g;
	struct image im;
	int fd;

	sample_gpt(&g, 512, lbas);
	build_image(&im, &g, 512, lbas);
	snprintf(path, sizeof(path), "%s/built.img", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && pwrite_full(fd, im.b, im.size, 0) == 0);
	close(fd);
	free(im.b);

	/* No warnings (they would go before the JSON on the same output). */
	snprintf(cmd, sizeof(cmd), "sfdisk --json '%s'", path);
	CHECK_EQ(test_sh(cmd, NULL, out, sizeof(out)), 0);
	json = cJSON_Parse(out);
	if (!json) {
		test_fail(__FILE__, __LINE__, "sfdisk --json: %s", out);
		return;
	}
	pt = json_get(json, "partitiontable");
	check_json_str(pt, "label", "gpt");
	guid_format(&g.disk_guid, g_text);
	check_json_str(pt, "id", g_text);
	check_json_num(pt, "firstlba", g.first_usable);
	check_json_num(pt, "lastlba", g.last_usable);
	check_json_num(pt, "sectorsize", 512);
	parts = json_get(pt, "partitions");
	CHECK_EQ(cJSON_GetArraySize(parts), 3);
	for (int i = 0; i < cJSON_GetArraySize(parts) && i < 3; i++) {
		const cJSON *p = cJSON_GetArrayItem(parts, i);
		const struct gpt_part *want = &g.parts[i];
		char node[320];

		snprintf(node, sizeof(node), "%s%u", path, want->num);
		check_json_str(p, "node", node);
		check_json_num(p, "start", want->first_lba);
		check_json_num(p, "size", want->last_lba - want->first_lba + 1);
		guid_format(&want->type, g_text);
		check_json_str(p, "type", g_text);
		guid_format(&want->uuid, g_text);
		check_json_str(p, "uuid", g_text);
		check_json_str(p, "name", want->name);
	}
	cJSON_Delete(json);

	snprintf(cmd, sizeof(cmd), "sfdisk --verify '%s'", path);
	CHECK_EQ(test_sh(cmd, NULL, out, sizeof(out)), 0);
	if (!strstr(out, "No errors detected.") || strstr(out, "arning") || strstr(out, "rror:"))
		test_fail(__FILE__, __LINE__, "sfdisk --verify: %s", out);
}
