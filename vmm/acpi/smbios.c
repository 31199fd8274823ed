/*
 * SMBIOS 3.0 (DMTF DSP0134 3.0.0): 5.2.2 64-bit entry point, 6.1.3 string
 * sets, 7.1 BIOS (type 0), 7.2 System (1, UUID byte order 7.2.1), 7.3
 * Baseboard (2), 7.4 Chassis (3), 7.5 Processor (4), 7.17 Physical Memory
 * Array (16), 7.18 Memory Device (17), 7.20 Memory Array Mapped Address
 * (19), 7.33 System Boot Information (32), 7.45 End-of-Table (127).
 * OVMF reads the blobs in OvmfPkg/SmbiosPlatformDxe/Qemu.c.
 *
 * Not implemented: caches (type 7), slots (type 9), OEM strings (type 11).
 */
#define LOG_MOD "smbios"
#include "acpi/smbios.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "guid.h"
#include "util.h"

static const struct {
	const char *key;	/* "typeN.key" */
	const char *sysfs;	/* file in /sys/class/dmi/id */
	const char *def;
} fields[SMB_NFIELDS] = {
	[SMB_BIOS_VENDOR] = { "type0.vendor", "bios_vendor", "polyboot" },
	[SMB_BIOS_VERSION] = { "type0.version", "bios_version", "polyvmm OVMF" },
	[SMB_BIOS_DATE] = { "type0.date", "bios_date", "01/01/2024" },
	[SMB_SYS_MANUFACTURER] = { "type1.manufacturer", "sys_vendor", "polyboot" },
	[SMB_SYS_PRODUCT] = { "type1.product", "product_name", "polyvmm" },
	[SMB_SYS_VERSION] = { "type1.version", "product_version", "1.0" },
	[SMB_SYS_SERIAL] = { "type1.serial", "product_serial", "" },
	[SMB_SYS_UUID] = { "type1.uuid", "product_uuid", "" },
	[SMB_SYS_SKU] = { "type1.sku", "product_sku", "" },
	[SMB_SYS_FAMILY] = { "type1.family", "product_family", "" },
	[SMB_BOARD_MANUFACTURER] = { "type2.manufacturer", "board_vendor", "polyboot" },
	[SMB_BOARD_PRODUCT] = { "type2.product", "board_name", "polyvmm" },
	[SMB_BOARD_VERSION] = { "type2.version", "board_version", "" },
	[SMB_BOARD_SERIAL] = { "type2.serial", "board_serial", "" },
	[SMB_BOARD_ASSET] = { "type2.asset", "board_asset_tag", "" },
	[SMB_CHASSIS_MANUFACTURER] = { "type3.manufacturer", "chassis_vendor", "polyboot" },
	[SMB_CHASSIS_TYPE] = { "type3.type", "chassis_type", "1" },
	[SMB_CHASSIS_VERSION] = { "type3.version", "chassis_version", "" },
	[SMB_CHASSIS_SERIAL] = { "type3.serial", "chassis_serial", "" },
	[SMB_CHASSIS_ASSET] = { "type3.asset", "chassis_asset_tag", "" },
};

static void trim_copy(char *dst, const char *src)
{
	size_t n = strlen(src);
	while (n && isspace((unsigned char)src[n - 1]))
		n--;
	while (n && isspace((unsigned char)*src)) {
		src++;
		n--;
	}
	if (n >= SMBIOS_STR_MAX)
		n = SMBIOS_STR_MAX - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	/* Strings in the table are NUL-terminated: no control characters. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20)
			dst[i] = ' ';
}

void smbios_info_init(struct smbios_info *i, const char *dmi_dir)
{
	memset(i, 0, sizeof(*i));
	i->ncpus = 1;
	for (int f = 0; f < SMB_NFIELDS; f++) {
		char path[4096], buf[256];
		FILE *fp;
		trim_copy(i->s[f], fields[f].def);
		if (!dmi_dir)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dmi_dir, fields[f].sysfs);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		if (fgets(buf, sizeof(buf), fp)) {
			char t[SMBIOS_STR_MAX];
			trim_copy(t, buf);
			/* Placeholders some vendors ship are no better than nothing. */
			if (t[0] && strcmp(t, "Default string") && strcmp(t, "To Be Filled By O.E.M."))
				memcpy(i->s[f], t, sizeof(t));
		}
		fclose(fp);
	}
}

int smbios_info_set(struct smbios_info *i, const char *a, char *err, size_t errlen)
{
	const char *eq = strchr(a, '=');
	size_t klen;

	if (!eq) {
		snprintf(err, errlen, "'%s': want typeN.key=value", a);
		return -EINVAL;
	}
	klen = (size_t)(eq - a);
	for (int f = 0; f < SMB_NFIELDS; f++) {
		if (strlen(fields[f].key) != klen || strncmp(fields[f].key, a, klen))
			continue;
		if (strlen(eq + 1) >= SMBIOS_STR_MAX) {
			snprintf(err, errlen, "'%.*s': value longer than %d characters", (int)klen, a,
				 SMBIOS_STR_MAX - 1);
			return -EINVAL;
		}
		if (f == SMB_SYS_UUID && eq[1]) {
			uint8_t u[16];
			if (smbios_parse_uuid(eq + 1, u) < 0) {
				snprintf(err, errlen, "type1.uuid '%s' is not a UUID", eq + 1);
				return -EINVAL;
			}
		}
		if (f == SMB_CHASSIS_TYPE) {
			uint64_t v;
			if (parse_u64(eq + 1, 0x7f, &v) < 0) {
				snprintf(err, errlen, "type3.type '%s': want a number 1..127", eq + 1);
				return -EINVAL;
			}
		}
		trim_copy(i->s[f], eq + 1);
		return 0;
	}
	snprintf(err, errlen, "unknown SMBIOS key '%.*s' (known: type0.vendor/version/date, "
		 "type1.manufacturer/product/version/serial/uuid/sku/family, "
		 "type2.manufacturer/product/version/serial/asset, "
		 "type3.manufacturer/type/version/serial/asset)", (int)klen, a);
	return -EINVAL;
}

int smbios_parse_uuid(const char *s, uint8_t out[16])
{
	/* SMBIOS 2.6+ stores time-low, time-mid and time-hi little-endian:
	 * the EFI GUID byte order. */
	struct guid g;

	if (guid_parse(s, &g) < 0)
		return -EINVAL;
	memcpy(out, g.b, 16);
	return 0;
}

/* One structure: formatted area + string set. */
struct sstruct {
	struct aml *t;
	size_t start;
	char strs[8][SMBIOS_STR_MAX];
	unsigned nstr;
};

static uint8_t add_str(struct sstruct *s, const char *v)
{
	if (!v || !v[0])
		return 0;	/* string number 0: "none" */
	for (unsigned k = 0; k < s->nstr; k++)
		if (!strcmp(s->strs[k], v))
			return (uint8_t)(k + 1);
	if (s->nstr == 8)
		return 0;
	snprintf(s->strs[s->nstr], SMBIOS_STR_MAX, "%s", v);
	return (uint8_t)++s->nstr;
}

static void emit(struct aml *t, const uint8_t *fmt, size_t len, struct sstruct *s)
{
	aml_bytes(t, fmt, len);
	for (unsigned k = 0; k < s->nstr; k++)
		aml_bytes(t, s->strs[k], strlen(s->strs[k]) + 1);
	if (s->nstr == 0)
		aml_byte(t, 0);
	aml_byte(t, 0);
}

static void hdr(uint8_t *f, uint8_t type, uint8_t len, uint16_t handle)
{
	f[0] = type;
	f[1] = len;
	put_le16(f + 2, handle);
}

int smbios_build(const struct smbios_info *i, struct smbios_blobs *out)
{
	struct aml t;
	uint16_t h = 0;
	uint64_t total = i->ram_low + i->ram_high;
	unsigned sockets = 1, cores = i->ncpus ? i->ncpus : 1;

	memset(out, 0, sizeof(*out));
	aml_init(&t);

	{	/* Type 0: BIOS */
		uint8_t f[0x1a] = { 0 };
		struct sstruct s = { .t = &t };
		hdr(f, 0, sizeof(f), h++);
		f[4] = add_str(&s, i->s[SMB_BIOS_VENDOR]);
		f[5] = add_str(&s, i->s[SMB_BIOS_VERSION]);
		put_le16(f + 6, 0xe800);
		f[8] = add_str(&s, i->s[SMB_BIOS_DATE]);
		f[9] = 0;			/* 64 KiB ROM */
		f[10] = 0x08;			/* characteristics not supported */
		f[0x13] = 0x1c;			/* targeted content, UEFI, virtual machine */
		f[0x14] = 1;			/* BIOS major release */
		f[0x15] = 0;
		f[0x16] = 0xff;			/* no embedded controller */
		f[0x17] = 0xff;
		emit(&t, f, sizeof(f), &s);
	}
	{	/* Type 1: System */
		uint8_t f[0x1b] = { 0 };
		struct sstruct s = { .t = &t };
		hdr(f, 1, sizeof(f), h++);
		f[4] = add_str(&s, i->s[SMB_SYS_MANUFACTURER]);
		f[5] = add_str(&s, i->s[SMB_SYS_PRODUCT]);
		f[6] = add_str(&s, i->s[SMB_SYS_VERSION]);
		f[7] = add_str(&s, i->s[SMB_SYS_SERIAL]);
		if (i->s[SMB_SYS_UUID][0] && smbios_parse_uuid(i->s[SMB_SYS_UUID], f + 8) < 0)
			memset(f + 8, 0, 16);	/* unknown; 0xFF.. would mean "not settable" */
		f[0x18] = 6;			/* woken by the power switch */
		f[0x19] = add_str(&s, i->s[SMB_SYS_SKU]);
		f[0x1a] = add_str(&s, i->s[SMB_SYS_FAMILY]);
		emit(&t, f, sizeof(f), &s);
	}
	{	/* Type 2: Baseboard (handle 2), in chassis handle 3 */
		uint8_t f[0x0f] = { 0 };
		struct sstruct s = { .t = &t };
		hdr(f, 2, sizeof(f), h++);
		f[4] = add_str(&s, i->s[SMB_BOARD_MANUFACTURER]);
		f[5] = add_str(&s, i->s[SMB_BOARD_PRODUCT]);
		f[6] = add_str(&s, i->s[SMB_BOARD_VERSION]);
		f[7] = add_str(&s, i->s[SMB_BOARD_SERIAL]);
		f[8] = add_str(&s, i->s[SMB_BOARD_ASSET]);
		f[9] = 0x01;			/* hosting board */
		f[10] = 0;
		put_le16(f + 11, 3);
		f[13] = 0x0a;			/* motherboard */
		f[14] = 0;
		emit(&t, f, sizeof(f), &s);
	}
	{	/* Type 3: Chassis */
		uint8_t f[0x16] = { 0 };
		struct sstruct s = { .t = &t };
		uint64_t ct = 1;
		hdr(f, 3, sizeof(f), h++);
		f[4] = add_str(&s, i->s[SMB_CHASSIS_MANUFACTURER]);
		if (parse_u64(i->s[SMB_CHASSIS_TYPE], 0x7f, &ct) < 0 || ct == 0)
			ct = 1;
		f[5] = (uint8_t)ct;
		f[6] = add_str(&s, i->s[SMB_CHASSIS_VERSION]);
		f[7] = add_str(&s, i->s[SMB_CHASSIS_SERIAL]);
		f[8] = add_str(&s, i->s[SMB_CHASSIS_ASSET]);
		f[9] = f[10] = f[11] = 0x03;	/* boot-up, power, thermal: safe */
		f[12] = 0x02;			/* security: unknown */
		emit(&t, f, sizeof(f), &s);
	}
	for (unsigned sock = 0; sock < sockets; sock++) {	/* Type 4: Processor */
		uint8_t f[0x30] = { 0 };
		struct sstruct s = { .t = &t };
		char name[16];
		hdr(f, 4, sizeof(f), h++);
		snprintf(name, sizeof(name), "CPU %u", sock);
		f[4] = add_str(&s, name);
		f[5] = 0x03;			/* central processor */
		f[6] = 0x01;			/* family: other */
		f[7] = add_str(&s, "polyvmm");
		f[0x10] = add_str(&s, "virtual CPU");
		put_le16(f + 0x14, 2000);	/* max speed, MHz (nominal) */
		put_le16(f + 0x16, 2000);
		f[0x18] = 0x41;			/* socket populated, CPU enabled */
		f[0x19] = 0x01;			/* upgrade: other */
		put_le16(f + 0x1a, 0xffff);	/* no cache structures */
		put_le16(f + 0x1c, 0xffff);
		put_le16(f + 0x1e, 0xffff);
		f[0x23] = (uint8_t)(cores > 255 ? 0xff : cores);
		f[0x24] = f[0x23];
		f[0x25] = f[0x23];
		put_le16(f + 0x26, 0x0004);	/* 64-bit capable */
		put_le16(f + 0x28, 0x0001);	/* family 2: other */
		put_le16(f + 0x2a, (uint16_t)cores);
		put_le16(f + 0x2c, (uint16_t)cores);
		put_le16(f + 0x2e, (uint16_t)cores);
		emit(&t, f, sizeof(f), &s);
	}
	{	/* Type 16: Physical Memory Array */
		uint8_t f[0x17] = { 0 };
		struct sstruct s = { .t = &t };
		uint16_t arr = h;
		hdr(f, 16, sizeof(f), h++);
		f[4] = 0x01;			/* location: other */
		f[5] = 0x03;			/* use: system memory */
		f[6] = 0x06;			/* multi-bit ECC */
		put_le32(f + 7, 0x80000000);	/* see extended capacity */
		put_le16(f + 11, 0xfffe);	/* no error information */
		put_le16(f + 13, 1);
		put_le64(f + 15, total);
		emit(&t, f, sizeof(f), &s);

		/* Type 17: one device holding all RAM */
		{
			uint8_t d[0x28] = { 0 };
			struct sstruct ds = { .t = &t };
			uint64_t mib = total >> 20;
			hdr(d, 17, sizeof(d), h++);
			put_le16(d + 4, arr);
			put_le16(d + 6, 0xfffe);
			put_le16(d + 8, 64);	/* total width */
			put_le16(d + 10, 64);	/* data width */
			if (mib < 0x7fff) {
				put_le16(d + 12, (uint16_t)mib);
			} else {
				put_le16(d + 12, 0x7fff);
				put_le32(d + 0x1c, (uint32_t)mib);
			}
			d[14] = 0x09;		/* DIMM */
			d[16] = add_str(&ds, "DIMM 0");
			d[18] = 0x07;		/* RAM */
			put_le16(d + 19, 0x0002);	/* type detail: unknown */
			d[0x17] = add_str(&ds, "polyboot");
			emit(&t, d, sizeof(d), &ds);
		}
		/* Type 19: one per RAM range */
		for (int r = 0; r < 2; r++) {
			uint64_t start = r ? 0x100000000ULL : 0;
			uint64_t len = r ? i->ram_high : i->ram_low;
			uint8_t m[0x1f] = { 0 };
			struct sstruct ms = { .t = &t };
			if (!len)
				continue;
			hdr(m, 19, sizeof(m), h++);
			if ((start + len - 1) >> 10 < 0xffffffffULL) {
				put_le32(m + 4, (uint32_t)(start >> 10));
				put_le32(m + 8, (uint32_t)((start + len - 1) >> 10));
			} else {
				put_le32(m + 4, 0xffffffff);
				put_le32(m + 8, 0xffffffff);
				put_le64(m + 0x0f, start);
				put_le64(m + 0x17, start + len - 1);
			}
			put_le16(m + 12, arr);
			m[14] = 1;	/* partition width */
			emit(&t, m, sizeof(m), &ms);
		}
	}
	{	/* Type 32: System Boot Information: no errors */
		uint8_t f[0x0b] = { 0 };
		struct sstruct s = { .t = &t };
		hdr(f, 32, sizeof(f), h++);
		emit(&t, f, sizeof(f), &s);
	}
	{	/* Type 127: End of Table */
		uint8_t f[4] = { 0 };
		struct sstruct s = { .t = &t };
		hdr(f, 127, sizeof(f), h++);
		emit(&t, f, sizeof(f), &s);
	}
	if (!aml_ok(&t)) {
		aml_free(&t);
		return -ENOMEM;
	}
	out->tables = t.buf;
	out->tables_len = t.len;
	/* 64-bit entry point; OVMF fills in the table address. */
	memcpy(out->anchor, "_SM3_", 5);
	out->anchor[6] = 0x18;		/* entry point length */
	out->anchor[7] = 3;		/* SMBIOS 3.0 */
	out->anchor[8] = 0;
	out->anchor[9] = 0;		/* docrev */
	out->anchor[10] = 1;		/* entry point revision */
	put_le32(out->anchor + 12, (uint32_t)t.len);	/* maximum table size */
	put_le64(out->anchor + 16, 0);
	{
		uint8_t sum = 0;
		for (int k = 0; k < 0x18; k++)
			sum = (uint8_t)(sum + out->anchor[k]);
		out->anchor[5] = (uint8_t)(0 - sum);
	}
	return 0;
}

void smbios_blobs_free(struct smbios_blobs *b)
{
	free(b->tables);
	b->tables = NULL;
}
