/*
 * AML emitter. ACPI 6.4: 20.2 (AML grammar: NameString 20.2.2, PkgLength
 * 20.2.4, data objects 20.2.3), 6.4 (resource descriptors: 6.4.2.5 IO,
 * 6.4.2.1 IRQ, 6.4.3.5.1-3 QWord/DWord/Word address space, 6.4.2.9 End Tag).
 * Tested byte for byte against iasl output (tests/data/acpi/).
 */
#include "acpi/aml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guid.h"

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

bool aml_ok(const struct aml *a)
{
	return !a->oom;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->oom || n == 0)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 64;
		uint8_t *nb;
		while (cap < a->len + n)
			cap *= 2;
		nb = realloc(a->buf, cap);
		if (!nb) {
			a->oom = true;
			return;
		}
		a->buf = nb;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_append(struct aml *a, struct aml *child)
{
	if (child->oom)
		a->oom = true;
	aml_bytes(a, child->buf, child->len);
	aml_free(child);
}

unsigned aml_pkglen_encode(size_t body_len, uint8_t out[4])
{
	/* The length counts the PkgLength bytes themselves. */
	if (body_len + 1 < 0x40) {
		out[0] = (uint8_t)(body_len + 1);
		return 1;
	}
	for (unsigned n = 2; n <= 4; n++) {
		size_t total = body_len + n;
		if (total < (1u << (4 + 8 * (n - 1)))) {
			out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
			for (unsigned i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0;
}

static void nameseg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };
	for (size_t i = 0; i < n && i < 4; i++)
		seg[i] = (char)toupper((unsigned char)s[i]);
	aml_bytes(a, seg, 4);
}

void aml_name(struct aml *a, const char *name)
{
	const char *segs[16];
	size_t lens[16];
	unsigned n = 0;
	const char *p = name;

	while (*p == '\\' || *p == '^')
		aml_byte(a, (uint8_t)*p++);
	while (*p && n < 16) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		segs[n] = p;
		lens[n++] = l;
		p += l;
		if (*p == '.')
			p++;
	}
	if (n == 0) {
		aml_byte(a, 0x00);	/* NullName */
		return;
	}
	if (n == 2)
		aml_byte(a, 0x2e);	/* DualNamePrefix */
	else if (n > 2) {
		aml_byte(a, 0x2f);	/* MultiNamePrefix */
		aml_byte(a, (uint8_t)n);
	}
	for (unsigned i = 0; i < n; i++)
		nameseg(a, segs[i], lens[i]);
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	unsigned n;

	if (v == 0) {
		aml_byte(a, AML_ZERO);
		return;
	}
	if (v == 1) {
		aml_byte(a, AML_ONE);
		return;
	}
	if (v <= 0xff) {
		b[0] = 0x0a;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = 0x0b;
		n = 2;
	} else if (v <= 0xffffffff) {
		b[0] = 0x0c;
		n = 4;
	} else {
		b[0] = 0x0e;
		n = 8;
	}
	for (unsigned i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n + 1);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);
	aml_bytes(a, s, strlen(s) + 1);
}

uint32_t aml_eisaid_value(const char *id)
{
	uint16_t vendor, product;
	if (strlen(id) != 7)
		return 0;
	vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 | ((id[1] - 0x40) & 0x1f) << 5 |
			    ((id[2] - 0x40) & 0x1f));
	product = (uint16_t)strtoul(id + 3, NULL, 16);
	/* Both halves are stored big-endian. */
	return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 |
	       (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xff) << 24;
}

void aml_eisaid(struct aml *a, const char *id)
{
	aml_int(a, aml_eisaid_value(id));
}

void aml_name_decl(struct aml *a, const char *name, struct aml *v)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
	aml_append(a, v);
}

void aml_pkg(struct aml *a, uint8_t op, bool ext, struct aml *body)
{
	uint8_t pl[4];
	unsigned n = aml_pkglen_encode(body->len, pl);

	if (n == 0) {
		a->oom = true;
		aml_free(body);
		return;
	}
	if (ext)
		aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, op);
	aml_bytes(a, pl, n);
	aml_append(a, body);
}

/* Wraps "NameString + rest" in a package opcode. */
static void named_pkg(struct aml *a, uint8_t op, bool ext, const char *name,
		      const uint8_t *pre, size_t npre, struct aml *body)
{
	struct aml t;
	aml_init(&t);
	aml_name(&t, name);
	aml_bytes(&t, pre, npre);
	aml_append(&t, body);
	aml_pkg(a, op, ext, &t);
}

void aml_scope(struct aml *a, const char *name, struct aml *body)
{
	named_pkg(a, AML_SCOPE_OP, false, name, NULL, 0, body);
}

void aml_device(struct aml *a, const char *name, struct aml *body)
{
	named_pkg(a, AML_DEVICE_OP, true, name, NULL, 0, body);
}

void aml_method(struct aml *a, const char *name, unsigned nargs, struct aml *body)
{
	uint8_t flags = (uint8_t)(nargs & 7);
	named_pkg(a, AML_METHOD_OP, false, name, &flags, 1, body);
}

void aml_buffer(struct aml *a, const void *bytes, size_t n)
{
	struct aml t;
	aml_init(&t);
	aml_int(&t, n);
	aml_bytes(&t, bytes, n);
	aml_pkg(a, AML_BUFFER_OP, false, &t);
}

void aml_package(struct aml *a, unsigned nelems, struct aml *elems)
{
	struct aml t;
	aml_init(&t);
	aml_byte(&t, (uint8_t)nelems);
	aml_append(&t, elems);
	aml_pkg(a, AML_PACKAGE_OP, false, &t);
}

int aml_uuid(struct aml *a, const char *s)
{
	/* ToUUID's byte order is the EFI GUID's (ACPI 6.5, 19.6.142). */
	struct guid g;

	if (guid_parse(s, &g) < 0)
		return -EINVAL;
	aml_buffer(a, g.b, 16);
	return 0;
}

/* --- resource templates --------------------------------------------------- */

void aml_res_init(struct aml_res *r)
{
	aml_init(&r->a);
}

/* Large address-space descriptor header: tag, length, type, flags. */
static void addr_hdr(struct aml_res *r, uint8_t tag, uint16_t len, uint8_t type, uint8_t tflags)
{
	uint8_t h[6] = { tag, (uint8_t)len, (uint8_t)(len >> 8), type,
			 0x0c /* producer, MinFixed, MaxFixed, PosDecode */, tflags };
	aml_bytes(&r->a, h, sizeof(h));
}

static void le(struct aml_res *r, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(&r->a, (uint8_t)(v >> (8 * i)));
}

static void word_space(struct aml_res *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	addr_hdr(r, 0x88, 0x0d, type, tflags);
	le(r, 0, 2);			/* granularity */
	le(r, min, 2);
	le(r, max, 2);
	le(r, 0, 2);			/* translation */
	le(r, (uint32_t)max - min + 1, 2);
}

void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max)
{
	word_space(r, 2, 0, min, max);
}

void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max)
{
	word_space(r, 1, 3 /* EntireRange */, min, max);
}

void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max, bool cacheable)
{
	addr_hdr(r, 0x87, 0x17, 0, cacheable ? 0x03 : 0x01);
	le(r, 0, 4);
	le(r, min, 4);
	le(r, max, 4);
	le(r, 0, 4);
	le(r, (uint64_t)max - min + 1, 4);
}

void aml_res_qword_mem(struct aml_res *r, uint64_t min, uint64_t max, bool cacheable)
{
	addr_hdr(r, 0x8a, 0x2b, 0, cacheable ? 0x03 : 0x01);
	le(r, 0, 8);
	le(r, min, 8);
	le(r, max, 8);
	le(r, 0, 8);
	le(r, max - min + 1, 8);
}

void aml_res_io(struct aml_res *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01 /* Decode16 */, (uint8_t)min, (uint8_t)(min >> 8),
			 (uint8_t)max, (uint8_t)(max >> 8), align, len };
	aml_bytes(&r->a, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml_res *r, unsigned irq)
{
	uint16_t mask = (uint16_t)(1u << (irq & 15));
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };
	aml_bytes(&r->a, d, sizeof(d));
}

void aml_res_finish(struct aml *a, struct aml_res *r)
{
	uint8_t end[2] = { 0x79, 0x00 };
	aml_bytes(&r->a, end, 2);
	if (r->a.oom)
		a->oom = true;
	aml_buffer(a, r->a.buf, r->a.len);
	aml_free(&r->a);
}
