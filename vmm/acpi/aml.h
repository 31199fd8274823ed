/*
 * A small AML (ACPI Machine Language) emitter: enough for polyvmm's DSDT.
 * ACPI 6.4 chapter 20 (AML grammar). Objects are built into growable byte
 * buffers; constructs with a PkgLength are built as a child buffer that is
 * then wrapped with aml_pkg(). Out-of-memory is sticky: aml_ok() tells at
 * the end, so callers do not check every call.
 */
#ifndef POLYBOOT_VMM_ACPI_AML_H
#define POLYBOOT_VMM_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
bool aml_ok(const struct aml *a);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* Appends @child and frees it (child's OOM propagates). */
void aml_append(struct aml *a, struct aml *child);

/* PkgLength encoding of a body of @body_len bytes (1-4 bytes); returns the
 * number of bytes written to @out, or 0 if too long (> 2^28 - 5). */
unsigned aml_pkglen_encode(size_t body_len, uint8_t out[4]);

/* A name string: "\\_SB.PCI0", "_HID", "^FOO"... Segments are padded with
 * '_' to 4 characters. */
void aml_name(struct aml *a, const char *name);
/* The shortest integer encoding (Zero, One, Ones, Byte/Word/DWord/QWord). */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISA ID "PNP0A08" as its compressed 32-bit integer. */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);

/* Name (NAME, value) where value was built in @v (consumed). */
void aml_name_decl(struct aml *a, const char *name, struct aml *v);
/* Opcode + PkgLength + @body (consumed); @ext adds the 0x5B prefix. */
void aml_pkg(struct aml *a, uint8_t op, bool ext, struct aml *body);
/* Scope (NAME) { body } / Device (NAME) { body } */
void aml_scope(struct aml *a, const char *name, struct aml *body);
void aml_device(struct aml *a, const char *name, struct aml *body);
/* Method (NAME, nargs, NotSerialized) { body } */
void aml_method(struct aml *a, const char *name, unsigned nargs, struct aml *body);
/* Buffer { bytes } and Package (n) { elements built in @elems } */
void aml_buffer(struct aml *a, const void *bytes, size_t n);
void aml_package(struct aml *a, unsigned nelems, struct aml *elems);
/* ToUUID("...") as a 16-byte Buffer, in ACPI's mixed byte order. */
int aml_uuid(struct aml *a, const char *uuid);

/* Opcodes used by hand-built method bodies. */
#define AML_ZERO	0x00
#define AML_ONE		0x01
#define AML_ONES	0xff
#define AML_NAME_OP	0x08
#define AML_SCOPE_OP	0x10
#define AML_BUFFER_OP	0x11
#define AML_PACKAGE_OP	0x12
#define AML_METHOD_OP	0x14
#define AML_LOCAL0	0x60
#define AML_ARG0	0x68
#define AML_STORE_OP	0x70
#define AML_AND_OP	0x7b
#define AML_OR_OP	0x7d
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LNOT_OP	0x92
#define AML_LEQUAL_OP	0x93
#define AML_IF_OP	0xa0
#define AML_ELSE_OP	0xa1
#define AML_RETURN_OP	0xa4
#define AML_EXT_PREFIX	0x5b
#define AML_DEVICE_OP	0x82	/* after 0x5B */

/* Resource template (the _CRS buffer contents; aml_buffer wraps them). */
struct aml_res {
	struct aml a;
};
void aml_res_init(struct aml_res *r);
void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max, bool cacheable);
void aml_res_qword_mem(struct aml_res *r, uint64_t min, uint64_t max, bool cacheable);
void aml_res_io(struct aml_res *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml_res *r, unsigned irq);
/* Ends the template (EndTag) and emits Buffer { ... } into @a. */
void aml_res_finish(struct aml *a, struct aml_res *r);

#endif
