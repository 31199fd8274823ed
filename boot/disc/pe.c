#include "disc/pe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SECTION_HDR	40

int pe_parse(const struct vol *v, struct pe_info *out, char *why, size_t whylen)
{
	uint8_t dos[64], hdr[24 + 72], *tbl;
	uint32_t lfanew;
	uint16_t nsect, optsize, magic;
	uint64_t tbl_off;
	int r;

	memset(out, 0, sizeof(*out));
	set_why(why, whylen, "%s", "");
	r = vol_read(v, 0, dos, sizeof(dos));
	if (r < 0 || dos[0] != 'M' || dos[1] != 'Z') {
		set_why(why, whylen, "no MZ header");
		return r < 0 ? r : -EINVAL;
	}
	lfanew = get_le32(dos + 0x3c);
	if (lfanew < 4 || lfanew > v->size || v->size - lfanew < 24) {
		set_why(why, whylen, "e_lfanew %#x outside the file", lfanew);
		return -EINVAL;
	}
	memset(hdr, 0, sizeof(hdr));
	r = vol_read(v, lfanew, hdr, (size_t)MIN((uint64_t)sizeof(hdr), v->size - lfanew));
	if (r < 0)
		return r;
	if (memcmp(hdr, "PE\0\0", 4) != 0) {
		set_why(why, whylen, "no PE signature at %#x", lfanew);
		return -EINVAL;
	}
	out->machine = get_le16(hdr + 4);
	nsect = get_le16(hdr + 6);
	optsize = get_le16(hdr + 20);
	if (nsect > PE_MAX_SECTIONS) {
		set_why(why, whylen, "%u sections (at most %u)", nsect, PE_MAX_SECTIONS);
		return -EINVAL;
	}
	if (optsize < 70 || (uint64_t)lfanew + 24 + optsize > v->size) {
		set_why(why, whylen, "optional header of %u bytes", optsize);
		return -EINVAL;
	}
	magic = get_le16(hdr + 24);
	if (magic != 0x10b && magic != 0x20b) {
		set_why(why, whylen, "optional header magic %#x", magic);
		return -EINVAL;
	}
	out->pe32plus = magic == 0x20b;
	out->subsystem = get_le16(hdr + 24 + 68);

	tbl_off = (uint64_t)lfanew + 24 + optsize;
	if (tbl_off > v->size || (uint64_t)nsect * SECTION_HDR > v->size - tbl_off) {
		set_why(why, whylen, "section table (%u sections at %#llx) outside the file", nsect,
		    (unsigned long long)tbl_off);
		return -EINVAL;
	}
	tbl = malloc((size_t)nsect * SECTION_HDR + 1);
	if (!tbl)
		return -ENOMEM;
	r = vol_read(v, tbl_off, tbl, (size_t)nsect * SECTION_HDR);
	if (r < 0) {
		free(tbl);
		return r;
	}
	for (unsigned i = 0; i < nsect; i++) {
		const uint8_t *s = tbl + i * SECTION_HDR;
		struct pe_section *d = &out->sect[i];

		for (int k = 0; k < 8 && s[k]; k++)
			d->name[k] = s[k] > 0x20 && s[k] < 0x7f ? (char)s[k] : '?';
		d->vsize = get_le32(s + 8);
		d->vaddr = get_le32(s + 12);
		d->raw_size = get_le32(s + 16);
		d->raw_off = get_le32(s + 20);
		if (d->raw_size && ((uint64_t)d->raw_off + d->raw_size > v->size)) {
			set_why(why, whylen, "section %s (%#x bytes at %#x) outside the file", d->name,
			    d->raw_size, d->raw_off);
			free(tbl);
			memset(out, 0, sizeof(*out));
			return -EINVAL;
		}
	}
	out->nsect = nsect;
	free(tbl);
	return 0;
}

const struct pe_section *pe_find(const struct pe_info *pe, const char *name)
{
	for (unsigned i = 0; i < pe->nsect && i < PE_MAX_SECTIONS; i++)
		if (!strcmp(pe->sect[i].name, name))
			return &pe->sect[i];
	return NULL;
}

int pe_read_section(const struct vol *v, const struct pe_section *s, size_t max, char **data,
		    size_t *len)
{
	uint32_t n = s->raw_size;
	char *buf;
	int r;

	*data = NULL;
	*len = 0;
	if (s->vsize && s->vsize < n)
		n = s->vsize;	/* the rest is file alignment padding */
	if (n > max)
		return -EFBIG;
	if ((uint64_t)s->raw_off + n > v->size)
		return -EINVAL;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	r = vol_read(v, s->raw_off, buf, n);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[n] = 0;
	*data = buf;
	*len = n;
	return 0;
}

bool pe_is_uki(const struct pe_info *pe)
{
	return pe_find(pe, ".linux") != NULL;
}

bool pe_is_efi(const struct pe_info *pe)
{
	return pe->subsystem >= PE_SUBSYSTEM_EFI_APPLICATION &&
	       pe->subsystem <= PE_SUBSYSTEM_EFI_RUNTIME_DRIVER;
}

const char *pe_machine_name(uint16_t machine)
{
	switch (machine) {
	case PE_MACHINE_X64:
		return "x64";
	case PE_MACHINE_I386:
		return "ia32";
	case PE_MACHINE_ARM64:
		return "aa64";
	case PE_MACHINE_ARM:
	case PE_MACHINE_ARMNT:
		return "arm";
	case PE_MACHINE_RISCV64:
		return "riscv64";
	case PE_MACHINE_LOONGARCH64:
		return "loongarch64";
	default:
		return "unknown";
	}
}
