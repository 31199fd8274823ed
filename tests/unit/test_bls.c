/*
 * bls: Boot Loader Specification entries and their order, the UAPI version
 * comparison (the specification's own examples), os-release and grubenv.
 */
#include <stdlib.h>

#include "disc/bls.h"
#include "test.h"
#include "util.h"

static int parse(const char *text, struct bls_entry *e, char *why, size_t whylen)
{
	return bls_parse(text, strlen(text), e, why, whylen);
}

TEST(bls_parse_fedora)
{
	static const char text[] =
		"# /boot/loader/entries/6a98-3.8.0-2.fc19.x86_64.conf\n"
		"title        Fedora 19 (Rawhide)\n"
		"\n"
		"sort-key     fedora\n"
		"machine-id   6a9857a393724b7a981ebb5b8495b9ea\n"
		"version\t3.8.0-2.fc19.x86_64\r\n"
		"options      root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2   \n"
		"options\tquiet  splash\n"
		"architecture x64\n"
		"linux        /6a98/3.8.0-2.fc19.x86_64/linux\n"
		"initrd       /6a98/3.8.0-2.fc19.x86_64/intel-ucode.img\n"
		"initrd       /6a98/3.8.0-2.fc19.x86_64/initrd /extra.img\n"
		"devicetree   /dtb/board.dtb\n"
		"grub_users   $grub_users\n"
		"   # indented comment\n"
		"unknown\n";
	struct bls_entry e;
	char why[128];

	CHECK_EQ(parse(text, &e, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_STR(e.title, "Fedora 19 (Rawhide)");
	CHECK_STR(e.sort_key, "fedora");
	CHECK_STR(e.machine_id, "6a9857a393724b7a981ebb5b8495b9ea");
	CHECK_STR(e.version, "3.8.0-2.fc19.x86_64");
	CHECK_STR(e.options, "root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 quiet  splash");
	CHECK_STR(e.architecture, "x64");
	CHECK_STR(e.linux_path, "/6a98/3.8.0-2.fc19.x86_64/linux");
	CHECK_EQ(e.ninitrd, 3);
	CHECK_STR(e.initrd[0], "/6a98/3.8.0-2.fc19.x86_64/intel-ucode.img");
	CHECK_STR(e.initrd[1], "/6a98/3.8.0-2.fc19.x86_64/initrd");
	CHECK_STR(e.initrd[2], "/extra.img");
	CHECK_STR(e.devicetree, "/dtb/board.dtb");
	CHECK_STR(e.efi, "");
	CHECK_STR(e.filename, "");
}

TEST(bls_parse_limits)
{
	char text[4096], why[128];
	struct bls_entry e;
	size_t n = 0;

	/* efi alone is enough; neither is -EINVAL */
	CHECK_EQ(parse("title x\nefi /EFI/Linux/x.efi\n", &e, why, sizeof(why)), 0);
	CHECK_STR(e.efi, "/EFI/Linux/x.efi");
	CHECK_EQ(parse("title x\noptions quiet\n", &e, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "neither linux nor efi") != NULL);
	CHECK_EQ(parse("", &e, NULL, 0), -EINVAL);
	CHECK_EQ(bls_parse("linux /a\0linux /b", 17, &e, NULL, 0), 0);
	CHECK_STR(e.linux_path, "/a");

	/* a title of 300 bytes is cut to 255; 10 initrds to 8 */
	n += (size_t)sprintf(text + n, "title ");
	memset(text + n, 't', 300);
	n += 300;
	n += (size_t)sprintf(text + n, "\nlinux /vmlinuz\n");
	for (int i = 0; i < 10; i++)
		n += (size_t)sprintf(text + n, "initrd /i%d\n", i);
	CHECK_EQ(parse(text, &e, why, sizeof(why)), 0);
	CHECK_EQ(strlen(e.title), BLS_PATH_MAX - 1);
	CHECK_EQ(e.ninitrd, BLS_MAX_INITRD);
	CHECK_STR(e.initrd[7], "/i7");
	CHECK(strstr(why, "title cut") != NULL);
	CHECK(strstr(why, "more than 8 initrds") != NULL);

	/* options beyond 2047 bytes */
	n = (size_t)sprintf(text, "linux /k\n");
	for (int i = 0; i < 30; i++) {
		n += (size_t)sprintf(text + n, "options ");
		memset(text + n, 'o', 100);
		n += 100;
		text[n++] = '\n';
	}
	text[n] = 0;
	CHECK_EQ(parse(text, &e, why, sizeof(why)), 0);
	CHECK_EQ(strlen(e.options), BLS_OPTIONS_MAX - 1);
	CHECK(strstr(why, "options cut") != NULL);
}

static int sgn(int v)
{
	return (v > 0) - (v < 0);
}

TEST(bls_vercmp_spec_examples)
{
	static const struct {
		const char *a, *b;
		int r;
	} cases[] = {
		/* the specification's examples */
		{ "11", "11", 0 },
		{ "systemd-123", "systemd-123", 0 },
		{ "bar-123", "foo-123", -1 },
		{ "123a", "123", 1 },
		{ "123.a", "123", 1 },
		{ "123.a", "123.b", -1 },
		{ "123a", "123.a", 1 },
		{ "11\xce\xb1", "11\xce\xb2", 0 },
		{ "A", "a", -1 },
		{ "", "0", -1 },
		{ "0.", "0", 1 },
		{ "0.0", "0", 1 },
		{ "1_", "1", 0 },
		{ "_1", "1", 0 },
		{ "1_", "1.2", -1 },
		{ "1_2_3", "1.3.3", 1 },
		{ "1+", "1", 0 },
		{ "+1", "1", 0 },
		{ "1+", "1.2", -1 },
		{ "1+2+3", "1.3.3", 1 },
		/* '~' before everything, even the end */
		{ "1.0~rc1", "1.0", -1 },
		{ "1.0~rc1", "1.0~rc2", -1 },
		{ "1~~", "1~", -1 },
		{ "~", "", -1 },
		{ "~1", "0", -1 },
		/* '-' lower, '^' higher, '.' lower than letters */
		{ "123-9", "123.1-1", -1 },
		{ "1.0^1", "1.0", 1 },
		{ "1.0^1", "1.0^2", -1 },
		{ "1.0-1", "1.0", 1 },
		/* numbers */
		{ "1.010", "1.10", 0 },
		{ "2", "10", -1 },
		{ "123456789012345678901234567890", "99999999999999999999", 1 },
		{ "6.6.2-201.fc39.x86_64", "6.5.6-300.fc39.x86_64", 1 },
		{ "6.1.0-28-amd64", "6.1.0-27-amd64", 1 },
		{ "6.1.0-9-amd64", "6.1.0-10-amd64", -1 },
		{ "0-rescue-8f2a", "6.5.6-300.fc39.x86_64", -1 },
		{ NULL, "", 0 },
		{ NULL, "1", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = sgn(bls_vercmp(cases[i].a, cases[i].b));
		int rr = sgn(bls_vercmp(cases[i].b, cases[i].a));

		if (r != cases[i].r || rr != -cases[i].r)
			printf("  vercmp(\"%s\", \"%s\") = %d / %d, want %d\n",
			       cases[i].a ? cases[i].a : "(null)", cases[i].b, r, rr, cases[i].r);
		CHECK_EQ(r, cases[i].r);
		CHECK_EQ(rr, -cases[i].r);
	}
}

static int cmp_entries(const void *a, const void *b)
{
	return bls_compare(a, b);
}

TEST(bls_compare_order)
{
	static const struct {
		const char *file, *sort_key, *machine_id, *version;
	} in[] = {
		{ "z-nokey-old.conf", "", "", "5.10" },
		{ "a-bad+0-3.conf", "aaa", "m1", "9.9" },
		{ "fedora-6.5.conf", "fedora", "m2", "6.5" },
		{ "debian-6.1.conf", "debian", "m9", "6.1" },
		{ "fedora-6.6.conf", "fedora", "m2", "6.6" },
		{ "fedora-other.conf", "fedora", "m1", "1.0" },
		{ "b-nokey-new.conf", "", "", "6.0" },
		{ "noversion-2.conf", "", "", "" },
		{ "noversion-10.conf", "", "", "" },
		{ "tries+3-0.conf", "", "", "4.0" },
	};
	static const char *const want[] = {
		"debian-6.1.conf",	/* sort-key ascending */
		"fedora-other.conf",	/* then machine-id m1 < m2 */
		"fedora-6.6.conf",	/* then version descending */
		"fedora-6.5.conf",
		"b-nokey-new.conf",	/* no sort-key: version descending */
		"z-nokey-old.conf",
		"tries+3-0.conf",	/* tries left: not bad */
		"noversion-10.conf",	/* no version: file name descending */
		"noversion-2.conf",
		"a-bad+0-3.conf",	/* bad: last */
	};
	struct bls_entry *e = calloc(ARRAY_SIZE(in), sizeof(*e));

	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		snprintf(e[i].filename, sizeof(e[i].filename), "%s", in[i].file);
		snprintf(e[i].sort_key, sizeof(e[i].sort_key), "%s", in[i].sort_key);
		snprintf(e[i].machine_id, sizeof(e[i].machine_id), "%s", in[i].machine_id);
		snprintf(e[i].version, sizeof(e[i].version), "%s", in[i].version);
	}
	qsort(e, ARRAY_SIZE(in), sizeof(*e), cmp_entries);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_STR(e[i].filename, want[i]);
	CHECK_EQ(bls_compare(&e[0], &e[0]), 0);
	free(e);
}

TEST(osrel_quoting)
{
	static const char debian[] =
		"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
		"NAME=\"Debian GNU/Linux\"\n"
		"VERSION_ID=\"12\"\n"
		"VERSION=\"12 (bookworm)\"\n"
		"VERSION_CODENAME=bookworm\n"
		"ID=debian\n"
		"HOME_URL=\"https://www.debian.org/\"\n";
	static const char tricky[] =
		"# comment\n"
		"NAME='Fedora \\Linux'\n"
		"PRETTY_NAME=\"a \\\"quoted\\\" \\$x \\\\ y \\n\"\n"
		"  ID=fe\\ dora\n"
		"ID_LIKE=\"rhel centos\" # trailing comment\n"
		"VERSION_ID=39  \n"
		"BUILD_ID=\n"
		"IMAGE_ID=\"unterminated\n"
		"=x\n"
		"1ABC=x\n"
		"export VERSION=no\n"
		"VERSION_CODENAME=\"con\"'cat'enated\n"
		"VERSION = spaced\n";
	struct osrel o;
	char longv[400];

	CHECK_EQ(osrel_parse(debian, strlen(debian), &o), 0);
	CHECK_STR(o.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	CHECK_STR(o.name, "Debian GNU/Linux");
	CHECK_STR(o.version_id, "12");
	CHECK_STR(o.version, "12 (bookworm)");
	CHECK_STR(o.version_codename, "bookworm");
	CHECK_STR(o.id, "debian");
	CHECK_STR(o.id_like, "");

	CHECK_EQ(osrel_parse(tricky, strlen(tricky), &o), 0);
	CHECK_STR(o.name, "Fedora \\Linux");
	CHECK_STR(o.pretty_name, "a \"quoted\" $x \\ y \\n");
	CHECK_STR(o.id, "fe dora");
	CHECK_STR(o.id_like, "rhel centos");
	CHECK_STR(o.version_id, "39");
	CHECK_STR(o.build_id, "");
	CHECK_STR(o.image_id, "unterminated");
	CHECK_STR(o.version, "");
	CHECK_STR(o.version_codename, "concatenated");

	/* no PRETTY_NAME: stays empty; nothing known: -EINVAL */
	CHECK_EQ(osrel_parse("ID=arch\n", 8, &o), 0);
	CHECK_STR(o.pretty_name, "");
	CHECK_STR(o.id, "arch");
	CHECK_EQ(osrel_parse("hello world\n", 12, &o), -EINVAL);
	CHECK_EQ(osrel_parse("ID=x", 2, &o), -EINVAL);	/* length, not NUL, ends the text */

	memset(longv, 'v', sizeof(longv));
	memcpy(longv, "NAME=", 5);
	CHECK_EQ(osrel_parse(longv, sizeof(longv), &o), 0);
	CHECK_EQ(strlen(o.name), OSREL_MAX - 1);
}

TEST(grubenv_parse_block)
{
	static const char env[] =
		"# GRUB Environment Block\n"
		"# WARNING: Do not edit this file by tools other than grub-editenv!!!\n"
		"saved_entry=gnulinux-advanced-x>gnulinux-6.1.0-27-amd64-advanced-x\n"
		"kernelopts=root=UUID=a ro quiet\n"
		"esc=back\\\\slash and\\\nnewline\n"
		"empty=\n"
		"no equals sign\n"
		"=novalue\n"
		"saved_entry=replaced\n"
		"##########################################################\n"
		"##########################################################";
	struct grubenv *g = malloc(sizeof(*g));
	char buf[4096];
	size_t n;

	CHECK_EQ(grubenv_parse(env, sizeof(env) - 1, g), 0);
	CHECK_EQ(g->nvars, 4);
	CHECK_STR(grubenv_get(g, "saved_entry"), "replaced");
	CHECK_STR(grubenv_get(g, "kernelopts"), "root=UUID=a ro quiet");
	CHECK_STR(grubenv_get(g, "esc"), "back\\slash and\nnewline");
	CHECK_STR(grubenv_get(g, "empty"), "");
	CHECK(grubenv_get(g, "no equals sign") == NULL);
	CHECK_EQ(g->dropped, 1);

	CHECK_EQ(grubenv_parse("# GRUB Environment Block", 24, g), -EINVAL);
	CHECK_EQ(grubenv_parse("# GRUB environment block\nx=1\n", 29, g), -EINVAL);
	CHECK_EQ(grubenv_parse("", 0, g), -EINVAL);
	CHECK_EQ(grubenv_parse("# GRUB Environment Block\n", 25, g), 0);
	CHECK_EQ(g->nvars, 0);

	/* 40 variables: 32 kept; a 2000-byte value cut; a NUL ends the block */
	n = (size_t)sprintf(buf, "# GRUB Environment Block\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(buf + n, "v%d=%d\n", i, i);
	CHECK_EQ(grubenv_parse(buf, n, g), 0);
	CHECK_EQ(g->nvars, GRUBENV_MAX_VARS);
	CHECK_EQ(g->dropped, 8);
	CHECK_STR(grubenv_get(g, "v31"), "31");
	n = (size_t)sprintf(buf, "# GRUB Environment Block\nlong=");
	memset(buf + n, 'x', 2000);
	n += 2000;
	n += (size_t)sprintf(buf + n, "\nafter=1\n");
	buf[n++] = 0;
	n += (size_t)sprintf(buf + n, "hidden=1\n");
	CHECK_EQ(grubenv_parse(buf, n, g), 0);
	CHECK_EQ(strlen(grubenv_get(g, "long")), GRUBENV_VALUE_MAX - 1);
	CHECK_STR(grubenv_get(g, "after"), "1");
	CHECK(grubenv_get(g, "hidden") == NULL);
	free(g);
}
