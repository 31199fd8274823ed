/*
 * inv: discovery's JSON read back (the golden inventory of the discovery
 * end-to-end test), lookups, and malformed inputs refused with the JSON
 * path of the first bad field.
 */
#include <stdio.h>
#include <stdlib.h>

#include "inv.h"
#include "test.h"

/* tests/data/discovery/inventory.json, NUL-terminated, in a malloc'd buffer */
static char *load_golden(size_t *len)
{
	char path[512];
	char *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/discovery/inventory.json", POLYBOOT_TEST_DATA);
	f = fopen(path, "rb");
	if (!f) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

static int parse(struct inv *inv, const char *json, char *why, size_t whylen)
{
	return inv_from_json(inv, json, strlen(json), why, whylen);
}

TEST(inv_golden)
{
	struct inv *inv = calloc(1, sizeof(*inv));
	char why[160] = "x";
	size_t len = 0;
	char *json = load_golden(&len);
	const struct inv_os *os;
	const struct inv_disk *d;
	int i, disk = -1;

	if (!json || !inv)
		goto out;
	CHECK_EQ(inv_from_json(inv, json, len, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(inv->ndisks, 9);
	CHECK_EQ(inv->noses, 11);

	/* the dual boot disk: ESP, MSR, hibernated C:, data, Linux, swap, BitLocker */
	i = inv_find_disk(inv, "gpt:2d85d00b-e291-58cd-8152-d315c1dee289");
	CHECK_EQ(i, 4);
	d = &inv->disks[4];
	CHECK_STR(d->name, "dualboot");
	CHECK_STR(d->dev, "");		/* taken out of the golden file */
	CHECK_STR(d->table, "gpt");
	CHECK_EQ(d->size, 268435456);
	CHECK_EQ(d->nparts, 7);
	CHECK_EQ(d->parts[0].num, 1);
	CHECK_STR(d->parts[0].type_name, "esp");
	CHECK_STR(d->parts[0].fs, "vfat");
	CHECK_STR(d->parts[0].label, "SYSTEM");
	CHECK_EQ(d->parts[0].start, 1048576);
	CHECK_EQ(d->parts[0].size, 67108864);
	CHECK_STR(d->parts[1].fs, "");		/* the MSR: fs type null */
	CHECK(d->parts[2].hibernated && !d->parts[2].bitlocker);
	CHECK_STR(d->parts[2].label, "Windows");
	CHECK(!d->parts[3].hibernated && !d->parts[3].bitlocker);
	CHECK(d->parts[6].bitlocker && !d->parts[6].hibernated);
	CHECK_STR(d->parts[6].fs, "BitLocker");
	CHECK(inv->disks[5].parts[0].polyboot_esp);
	CHECK(!d->parts[0].polyboot_esp);
	CHECK_STR(inv->disks[1].table, "mbr");
	CHECK_EQ(inv->disks[1].parts[2].num, 5);
	CHECK_EQ(inv->disks[7].nparts, 0);
	CHECK_STR(inv->disks[7].table, "");

	/* lookups: ids case-insensitively */
	CHECK_EQ(inv_find_part(inv, "686C9C69-BB81-52D2-9FC8-6CF7081E173D", &disk), 3);
	CHECK_EQ(disk, 4);
	CHECK_EQ(inv_find_part(inv, "1234abcd-05", NULL), 2);
	CHECK_EQ(inv_find_part(inv, "nope", &disk), -1);
	CHECK_EQ(inv_find_part(inv, "", &disk), -1);
	CHECK_EQ(inv_find_disk(inv, "MBR:1234ABCD"), 1);
	CHECK_EQ(inv_find_disk(inv, ""), -1);
	CHECK_EQ(inv_find_os(inv, "windows-1fc089b7"), 10);
	CHECK_EQ(inv_find_os(inv, "windows"), -1);

	/* Windows: UEFI on the shared ESP, hibernated and BitLocker through its needs */
	os = &inv->oses[10];
	CHECK_STR(os->kind, "windows");
	CHECK_STR(os->label, "Windows Boot Manager");
	CHECK_STR(os->firmware, "uefi");
	CHECK_EQ(os->esp_disk, 4);
	CHECK_EQ(os->esp_part, 0);
	CHECK_STR(os->loader, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
	CHECK_EQ(os->vm_disk, -1);
	CHECK(!os->image);
	CHECK_EQ(os->bootnext, 1);
	CHECK(!os->has_kexec);
	CHECK_EQ(os->nneeds, 5);
	CHECK_STR(os->needs[2].role, "system");
	CHECK_EQ(os->needs[2].disk, 4);
	CHECK_EQ(os->needs[2].part, 2);
	CHECK_EQ(os->nwarnings, 2);
	CHECK(os->hibernated && os->bitlocker);

	/* Debian: kexec facts */
	os = &inv->oses[6];
	CHECK_STR(os->id, "grub-6120df4a");
	CHECK_EQ(os->bootnext, 0);
	CHECK(os->has_kexec && !os->kexec_uki);
	CHECK_EQ(os->kexec_disk, 4);
	CHECK_EQ(os->kexec_part, 4);
	CHECK_STR(os->kernel, "/boot/vmlinuz-6.1.0-28-amd64");
	CHECK_EQ(os->ninitrd, 1);
	CHECK_STR(os->initrd[0], "/boot/initrd.img-6.1.0-28-amd64");
	CHECK_STR(os->cmdline, "root=UUID=49d96ef3-5f6b-5d28-91e2-f1f59c35be20 ro quiet");
	CHECK(!os->hibernated && !os->bitlocker);	/* its data partition is not hibernated */
	CHECK_EQ(os->nneeds, 4);

	/* Fedora: two initrds */
	CHECK_EQ(inv->oses[7].ninitrd, 2);
	CHECK_STR(inv->oses[7].initrd[1], "/$tuned_initrd");
	/* systemd-boot: a UKI */
	CHECK(inv->oses[9].has_kexec && inv->oses[9].kexec_uki);
	CHECK_EQ(inv->oses[9].bootnext, 3);

	/* BIOS: the whole disk, a whole-disk need */
	os = &inv->oses[1];
	CHECK_STR(os->id, "bios-grub2-776319fe");
	CHECK_EQ(os->vm_disk, 1);
	CHECK_EQ(os->esp_disk, -1);
	CHECK_EQ(os->bootnext, -1);
	CHECK_EQ(os->needs[0].disk, 1);
	CHECK_EQ(os->needs[0].part, -1);
	CHECK_STR(os->needs[0].role, "disk");
	CHECK_EQ(os->needs[2].part, 2);
	CHECK_EQ(inv->oses[2].nwarnings, 11);
	CHECK_EQ(inv->oses[2].ninitrd, 0);

	/* images and the ISO */
	for (i = 3; i <= 5; i++)
		CHECK(inv->oses[i].image);
	CHECK(inv->oses[8].image);
	CHECK_EQ(inv->oses[3].esp_disk, -1);
	CHECK_STR(inv->oses[3].firmware, "unknown");

	inv_free(inv);
	CHECK_EQ(inv->ndisks, 0);
	inv_free(inv);		/* twice is harmless */
out:
	free(json);
	free(inv);
}

/* Every cut of the golden file is refused without a leak or a crash. */
TEST(inv_golden_truncated)
{
	struct inv *inv = calloc(1, sizeof(*inv));
	size_t len = 0;
	char *json = load_golden(&len);
	char why[160];

	if (!json || !inv)
		goto out;
	for (size_t n = 0; n < len - 2; n += 61) {
		CHECK_EQ(inv_from_json(inv, json, n, why, sizeof(why)), -EINVAL);
		CHECK(why[0] != 0);
	}
	CHECK_EQ(inv_from_json(inv, json, len, NULL, 0), 0);
	inv_free(inv);
out:
	free(json);
	free(inv);
}

#define DISK0 "{\"id\":\"gpt:d0\",\"dev\":\"/dev/vda\",\"name\":\"vda\",\"size\":1048576,\"partitions\":[" \
	"{\"id\":\"p1\",\"dev\":\"/dev/vda1\",\"num\":1,\"start\":1024,\"size\":2048," \
	"\"fs\":{\"type\":\"vfat\",\"label\":null}}]}"

TEST(inv_minimal)
{
	struct inv *inv = calloc(1, sizeof(*inv));
	char why[160];

	/* what the planner needs, nothing more */
	CHECK_EQ(parse(inv, "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"efi-loader\","
			    "\"label\":\"A\",\"firmware\":\"uefi\",\"vm\":{\"partition\":\"/dev/vda1\","
			    "\"loader\":\"\\\\EFI\\\\a.efi\"},\"needs\":[{\"partition\":\"p1\",\"role\":\"esp\"}]}]}",
		       why, sizeof(why)),
		 0);
	CHECK_STR(why, "");
	CHECK_EQ(inv->oses[0].esp_disk, 0);
	CHECK_EQ(inv->oses[0].esp_part, 0);
	CHECK_STR(inv->oses[0].loader, "\\EFI\\a.efi");
	CHECK_EQ(inv->oses[0].bootnext, -1);
	CHECK_EQ(inv->oses[0].nwarnings, 0);
	CHECK_STR(inv->disks[0].dev, "/dev/vda");
	CHECK_STR(inv->disks[0].parts[0].dev, "/dev/vda1");
	CHECK_EQ(inv_find_part(inv, "/dev/vda1", NULL), 0);
	CHECK_EQ(inv_find_disk(inv, "/dev/vda"), 0);
	inv_free(inv);

	/* human text is cut to fit; an id that does not fit is refused */
	{
		char json[1024], big[300];

		memset(big, 'L', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		snprintf(json, sizeof(json), "{\"disks\":[],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"%s\","
			 "\"firmware\":\"bios\",\"vm\":{},\"needs\":[]}]}", big);
		CHECK_EQ(parse(inv, json, why, sizeof(why)), 0);
		CHECK_EQ(strlen(inv->oses[0].label), sizeof(inv->oses[0].label) - 1);
		inv_free(inv);
		snprintf(json, sizeof(json), "{\"disks\":[],\"oses\":[{\"id\":\"%.60s\",\"kind\":\"k\",\"label\":\"l\","
			 "\"firmware\":\"bios\",\"vm\":{},\"needs\":[]}]}", big);
		CHECK_EQ(parse(inv, json, why, sizeof(why)), -EINVAL);
		CHECK_STR(why, "oses[0].id: longer than 39 bytes");
	}
	free(inv);
}

TEST(inv_malformed)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "[1]", "not a JSON object" },
		{ "{\"oses\":[]}", "disks: missing" },
		{ "{\"disks\":{},\"oses\":[]}", "disks: not an array" },
		{ "{\"polyboot_inventory\":2,\"disks\":[],\"oses\":[]}",
		  "polyboot_inventory: version 2; this polyboot reads version 1" },
		{ "{\"polyboot_inventory\":\"1\",\"disks\":[],\"oses\":[]}", "polyboot_inventory: not a number" },
		{ "{\"disks\":[]}", "oses: missing" },
		{ "{\"disks\":[7],\"oses\":[]}", "disks[0]: not an object" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1}],\"oses\":[]}", "disks[0].partitions: missing" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":-1,\"partitions\":[]}],\"oses\":[]}",
		  "disks[0].size: not a whole number" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1.5,\"partitions\":[]}],\"oses\":[]}",
		  "disks[0].size: not a whole number" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1e30,\"partitions\":[]}],\"oses\":[]}",
		  "disks[0].size: not a whole number" },
		{ "{\"disks\":[{\"id\":\"\",\"size\":1,\"partitions\":[]}],\"oses\":[]}", "disks[0].id: empty" },
		{ "{\"disks\":[{\"id\":\"d\",\"dev\":5,\"size\":1,\"partitions\":[]}],\"oses\":[]}",
		  "disks[0].dev: not a string" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1,\"partitions\":[{\"id\":\"p\",\"num\":0,\"start\":0,\"size\":1}]}],\"oses\":[]}",
		  "disks[0].partitions[0].num: 0 is no partition number" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1,\"partitions\":[{\"id\":\"p\",\"num\":1,\"size\":1}]}],\"oses\":[]}",
		  "disks[0].partitions[0].start: missing" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1,\"partitions\":[{\"id\":\"p\",\"num\":1,\"start\":0,\"size\":1,\"fs\":[]}]}],\"oses\":[]}",
		  "disks[0].partitions[0].fs: not an object" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1,\"partitions\":[{\"id\":\"p\",\"num\":1,\"start\":0,\"size\":1,\"windows\":{\"hibernated\":1}}]}],\"oses\":[]}",
		  "disks[0].partitions[0].windows.hibernated: not true or false" },
		{ "{\"disks\":[{\"id\":\"d\",\"size\":1,\"partitions\":[]},{\"id\":\"D\",\"size\":1,\"partitions\":[]}],\"oses\":[]}",
		  "disks[1].id: 'D' is used twice" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{}]}", "oses[0].id: missing" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"uefi\",\"needs\":[]}]}",
		  "oses[0].vm: missing" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"uefi\",\"vm\":{\"partition\":\"x\",\"loader\":\"l\"},\"needs\":[]}]}",
		  "oses[0].vm.partition: no such partition 'x'" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"uefi\",\"vm\":{\"partition\":\"p1\"},\"needs\":[]}]}",
		  "oses[0].vm.loader: missing" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{\"disk\":\"gpt:nope\"},\"needs\":[]}]}",
		  "oses[0].vm.disk: no such disk 'gpt:nope'" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[{\"partition\":\"p1\",\"role\":\"esp\"},{\"partition\":\"x\",\"role\":\"root\"}]}]}",
		  "oses[0].needs[1].partition: no such partition 'x'" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[{\"partition\":\"p1\"}]}]}",
		  "oses[0].needs[0].role: missing" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[{\"role\":\"disk\"}]}]}",
		  "oses[0].needs[0].disk: missing" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[],\"native\":{\"bootnext\":\"12G4\"}}]}",
		  "oses[0].native.bootnext: '12G4' is not 4 hex digits" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[],\"native\":{\"bootnext\":\"1\"}}]}",
		  "oses[0].native.bootnext: '1' is not 4 hex digits" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[],\"native\":{\"kexec\":{\"partition\":\"p1\",\"kernel\":\"/k\",\"initrd\":[\"/a\",2]}}}]}",
		  "oses[0].native.kexec.initrd[1]: not a path" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[],\"native\":{\"kexec\":{\"partition\":\"p1\",\"kernel\":\"/k\",\"initrd\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}}}]}",
		  "oses[0].native.kexec.initrd: 5 items, at most 4 are handled" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[],\"native\":{\"kexec\":{\"partition\":\"p1\"}}}]}",
		  "oses[0].native.kexec.kernel: missing" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[],\"warnings\":{}}]}",
		  "oses[0].warnings: not an array" },
		{ "{\"disks\":[" DISK0 "],\"oses\":[{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[]},"
		  "{\"id\":\"a\",\"kind\":\"k\",\"label\":\"l\",\"firmware\":\"bios\",\"vm\":{},\"needs\":[]}]}",
		  "oses[1].id: 'a' is used twice" },
	};
	struct inv *inv = calloc(1, sizeof(*inv));
	char why[160];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(inv, bad[i].json, why, sizeof(why));

		if (r != -EINVAL || strncmp(why, bad[i].why, strlen(bad[i].why)))
			test_fail(__FILE__, __LINE__, "case %u: %d \"%s\", want \"%s\"", i, r, why, bad[i].why);
		CHECK_EQ(inv->ndisks, 0);
		CHECK_EQ(inv->noses, 0);
	}
	/* not NUL-terminated: only @len bytes are read */
	CHECK_EQ(inv_from_json(inv, "{\"disks\":[],\"oses\":[]}garbage", 22, why, sizeof(why)), 0);
	CHECK_EQ(inv_from_json(inv, NULL, 0, why, sizeof(why)), -EINVAL);
	/* nesting far beyond anything discovery writes */
	{
		size_t n = 5000;
		char *deep = malloc(2 * n + 1);

		memset(deep, '[', n);
		memset(deep + n, ']', n);
		deep[2 * n] = 0;
		CHECK_EQ(parse(inv, deep, why, sizeof(why)), -EINVAL);
		free(deep);
	}
	free(inv);
}
