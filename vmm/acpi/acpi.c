/*
 * ACPI table generation. ACPI 6.4: 5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT,
 * 5.2.10 FACS, 5.2.11.1 DSDT, 5.2.12 MADT; PCI Firmware 3.2 4.1.2 MCFG;
 * Microsoft "Windows ACPI Emulated Devices Table" (WAET). The loader script
 * format is QEMU's hw/acpi/bios-linker-loader.c as consumed by edk2
 * OvmfPkg/AcpiPlatformDxe/QemuFwCfgAcpi.c (research note 12).
 *
 * Not implemented: HPET, SRAT/SLIT (no NUMA), x2APIC MADT entries (at most
 * 255 CPUs), CPU hotplug, S3/S4 (only \_S5 exists), PCI hotplug in AML.
 */
#define LOG_MOD "acpi"
#include "acpi/acpi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "log.h"
#include "machine/layout.h"
#include "util.h"

#define OEM_ID		"POLYBT"
#define OEM_TABLE_ID	"POLYVMM "
#define CREATOR_ID	"PBVM"

#define LOADER_ALLOCATE		1
#define LOADER_ADD_POINTER	2
#define LOADER_ADD_CHECKSUM	3
#define ZONE_HIGH		1
#define ZONE_FSEG		2

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)(0 - s);
}

/* --- the loader script ------------------------------------------------------- */

struct loader {
	struct aml s;	/* just a byte buffer */
};

static void loader_entry(struct loader *l, const uint8_t e[ACPI_LOADER_ENTRY])
{
	aml_bytes(&l->s, e, ACPI_LOADER_ENTRY);
}

static void loader_alloc(struct loader *l, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t e[ACPI_LOADER_ENTRY] = { 0 };
	put_le32(e, LOADER_ALLOCATE);
	snprintf((char *)e + 4, ACPI_LOADER_FILE_LEN, "%s", file);
	put_le32(e + 4 + 56, align);
	e[4 + 60] = zone;
	loader_entry(l, e);
}

static void loader_pointer(struct loader *l, const char *dst, const char *src, uint32_t off, uint8_t size)
{
	uint8_t e[ACPI_LOADER_ENTRY] = { 0 };
	put_le32(e, LOADER_ADD_POINTER);
	snprintf((char *)e + 4, ACPI_LOADER_FILE_LEN, "%s", dst);
	snprintf((char *)e + 60, ACPI_LOADER_FILE_LEN, "%s", src);
	put_le32(e + 116, off);
	e[120] = size;
	loader_entry(l, e);
}

static void loader_checksum(struct loader *l, const char *file, uint32_t result, uint32_t start, uint32_t len)
{
	uint8_t e[ACPI_LOADER_ENTRY] = { 0 };
	put_le32(e, LOADER_ADD_CHECKSUM);
	snprintf((char *)e + 4, ACPI_LOADER_FILE_LEN, "%s", file);
	put_le32(e + 60, result);
	put_le32(e + 64, start);
	put_le32(e + 68, len);
	loader_entry(l, e);
}

/* --- table building ---------------------------------------------------------- */

struct builder {
	struct aml t;		/* the tables blob */
	struct loader l;
	struct acpi_blobs *out;
};

/* Starts a table at a 64-byte-aligned offset; returns its offset. The
 * checksum byte stays 0: OVMF computes it (ADD_CHECKSUM). */
static size_t table_begin(struct builder *b, const char *sig, uint8_t rev)
{
	uint8_t h[36] = { 0 };
	static const uint8_t pad[64];
	size_t off;

	if (b->t.len % 64)
		aml_bytes(&b->t, pad, 64 - b->t.len % 64);
	off = b->t.len;
	memcpy(h, sig, 4);
	h[8] = rev;
	memcpy(h + 10, OEM_ID, 6);
	memcpy(h + 16, OEM_TABLE_ID, 8);
	put_le32(h + 24, 1);		/* OEM revision */
	memcpy(h + 28, CREATOR_ID, 4);
	put_le32(h + 32, 1);		/* creator revision */
	aml_bytes(&b->t, h, sizeof(h));
	return off;
}

static void table_end(struct builder *b, size_t off)
{
	size_t len = b->t.len - off;
	struct acpi_blobs *o = b->out;

	if (b->t.oom)
		return;
	put_le32(b->t.buf + off + 4, (uint32_t)len);
	loader_checksum(&b->l, ACPI_FILE_TABLES, (uint32_t)(off + 9), (uint32_t)off, (uint32_t)len);
	if (o->ntables < sizeof(o->index) / sizeof(o->index[0])) {
		memcpy(o->index[o->ntables].sig, b->t.buf + off, 4);
		o->index[o->ntables].sig[4] = 0;
		o->index[o->ntables].off = off;
		o->index[o->ntables].len = len;
		o->ntables++;
	}
}

/* A pointer field inside the tables blob to another table in it: store
 * the target's offset; OVMF adds the blob's address. */
static void table_ptr(struct builder *b, size_t field, size_t target, uint8_t size)
{
	if (b->t.oom)
		return;
	if (size == 8)
		put_le64(b->t.buf + field, target);
	else
		put_le32(b->t.buf + field, (uint32_t)target);
	loader_pointer(&b->l, ACPI_FILE_TABLES, ACPI_FILE_TABLES, (uint32_t)field, size);
}

static void zeros(struct aml *a, size_t n)
{
	static const uint8_t z[64];
	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		aml_bytes(a, z, k);
		n -= k;
	}
}

static size_t build_facs(struct builder *b)
{
	uint8_t f[64] = { 0 };
	size_t off;
	static const uint8_t pad[64];

	if (b->t.len % 64)
		aml_bytes(&b->t, pad, 64 - b->t.len % 64);
	off = b->t.len;
	memcpy(f, "FACS", 4);
	put_le32(f + 4, 64);
	f[32] = 2;	/* version */
	aml_bytes(&b->t, f, sizeof(f));
	return off;	/* no checksum: FACS has none */
}

/* The _OSC method of the PCI host bridge: grants the OS native control of
 * PCIe hotplug, SHPC, PME, AER and the PCIe capability (PCI FW 3.2, 4.5). */
static void dsdt_osc(struct aml *dev)
{
	struct aml m, then, els, t;

	aml_init(&m);
	/* CreateDWordField (Arg3, Zero, CDW1) */
	aml_byte(&m, AML_CREATE_DWORD_FIELD_OP);
	aml_byte(&m, AML_ARG0 + 3);
	aml_int(&m, 0);
	aml_name(&m, "CDW1");
	/* If (LEqual (Arg0, ToUUID (PCI host bridge))) */
	aml_init(&then);
	aml_byte(&then, AML_CREATE_DWORD_FIELD_OP);
	aml_byte(&then, AML_ARG0 + 3);
	aml_int(&then, 4);
	aml_name(&then, "CDW2");
	aml_byte(&then, AML_CREATE_DWORD_FIELD_OP);
	aml_byte(&then, AML_ARG0 + 3);
	aml_int(&then, 8);
	aml_name(&then, "CDW3");
	/* Store (CDW3, Local0); And (Local0, 0x1F, Local0) */
	aml_byte(&then, AML_STORE_OP);
	aml_name(&then, "CDW3");
	aml_byte(&then, AML_LOCAL0);
	aml_byte(&then, AML_AND_OP);
	aml_byte(&then, AML_LOCAL0);
	aml_int(&then, 0x1f);
	aml_byte(&then, AML_LOCAL0);
	/* If (LNotEqual (Arg1, One)) { Or (CDW1, 0x08, CDW1) } (bad revision) */
	aml_init(&t);
	aml_byte(&t, AML_LNOT_OP);
	aml_byte(&t, AML_LEQUAL_OP);
	aml_byte(&t, AML_ARG0 + 1);
	aml_byte(&t, AML_ONE);
	aml_byte(&t, AML_OR_OP);
	aml_name(&t, "CDW1");
	aml_int(&t, 0x08);
	aml_name(&t, "CDW1");
	aml_pkg(&then, AML_IF_OP, false, &t);
	/* If (LNotEqual (CDW3, Local0)) { Or (CDW1, 0x10, CDW1) } (masked) */
	aml_init(&t);
	aml_byte(&t, AML_LNOT_OP);
	aml_byte(&t, AML_LEQUAL_OP);
	aml_name(&t, "CDW3");
	aml_byte(&t, AML_LOCAL0);
	aml_byte(&t, AML_OR_OP);
	aml_name(&t, "CDW1");
	aml_int(&t, 0x10);
	aml_name(&t, "CDW1");
	aml_pkg(&then, AML_IF_OP, false, &t);
	/* Store (Local0, CDW3) */
	aml_byte(&then, AML_STORE_OP);
	aml_byte(&then, AML_LOCAL0);
	aml_name(&then, "CDW3");

	aml_init(&t);
	aml_byte(&t, AML_LEQUAL_OP);
	aml_byte(&t, AML_ARG0);
	aml_uuid(&t, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
	aml_append(&t, &then);
	aml_pkg(&m, AML_IF_OP, false, &t);
	/* Else { Or (CDW1, 0x04, CDW1) } (unrecognised UUID) */
	aml_init(&els);
	aml_byte(&els, AML_OR_OP);
	aml_name(&els, "CDW1");
	aml_int(&els, 0x04);
	aml_name(&els, "CDW1");
	aml_pkg(&m, AML_ELSE_OP, false, &els);
	/* Return (Arg3) */
	aml_byte(&m, AML_RETURN_OP);
	aml_byte(&m, AML_ARG0 + 3);
	aml_method(dev, "_OSC", 4, &m);
}

static void name_int(struct aml *a, const char *name, uint64_t v)
{
	struct aml t;
	aml_init(&t);
	aml_int(&t, v);
	aml_name_decl(a, name, &t);
}

static void name_eisaid(struct aml *a, const char *name, const char *id)
{
	struct aml t;
	aml_init(&t);
	aml_eisaid(&t, id);
	aml_name_decl(a, name, &t);
}

static void name_string(struct aml *a, const char *name, const char *s)
{
	struct aml t;
	aml_init(&t);
	aml_string(&t, s);
	aml_name_decl(a, name, &t);
}

static void legacy_device(struct aml *scope, const char *name, const char *hid, unsigned uid,
			  uint16_t io, uint8_t len, unsigned irq)
{
	struct aml d, v;
	struct aml_res r;

	aml_init(&d);
	name_eisaid(&d, "_HID", hid);
	name_int(&d, "_UID", uid);
	aml_res_init(&r);
	aml_res_io(&r, io, io, 1, len);
	aml_res_irq_noflags(&r, irq);
	aml_init(&v);
	aml_res_finish(&v, &r);
	aml_name_decl(&d, "_CRS", &v);
	aml_device(scope, name, &d);
}

int acpi_build_dsdt_body(const struct acpi_config *c, uint8_t **out, size_t *len)
{
	struct aml top, sb, pci, isa, v, elems;
	struct aml_res r;
	unsigned n;

	aml_init(&top);
	aml_init(&sb);

	/* Processors: Windows needs a device per MADT processor UID. */
	for (unsigned i = 0; i < c->ncpus; i++) {
		struct aml cpu;
		char nm[16];
		snprintf(nm, sizeof(nm), "C%03X", i & 0xfff);
		aml_init(&cpu);
		name_string(&cpu, "_HID", "ACPI0007");
		name_int(&cpu, "_UID", i);
		aml_device(&sb, nm, &cpu);
	}

	aml_init(&pci);
	name_eisaid(&pci, "_HID", "PNP0A08");
	name_eisaid(&pci, "_CID", "PNP0A03");
	name_int(&pci, "_SEG", 0);
	name_int(&pci, "_UID", 0);
	name_int(&pci, "_BBN", 0);
	aml_res_init(&r);
	aml_res_word_bus(&r, 0, 0xff);
	aml_res_word_io(&r, 0x0000, 0x0cf7);
	aml_res_io(&r, 0x0cf8, 0x0cf8, 1, 8);	/* the config mechanism itself */
	aml_res_word_io(&r, 0x0d00, 0xffff);
	aml_res_dword_mem(&r, 0x000a0000, 0x000bffff, false);	/* legacy VGA window */
	aml_res_dword_mem(&r, (uint32_t)LAYOUT_MMIO32_BASE,
			  (uint32_t)((c->mmio32_end ? c->mmio32_end : LAYOUT_MMIO32_END) - 1), false);
	if (c->mmio64_size)
		aml_res_qword_mem(&r, c->mmio64_base, c->mmio64_base + c->mmio64_size - 1, false);
	aml_init(&v);
	aml_res_finish(&v, &r);
	aml_name_decl(&pci, "_CRS", &v);
	dsdt_osc(&pci);

	/* _PRT: APIC-mode routing of every slot's INTA-D to GSIs 16-23. */
	aml_init(&elems);
	n = 0;
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			struct aml e;
			aml_init(&e);
			aml_int(&e, (uint64_t)slot << 16 | 0xffff);
			aml_int(&e, pin);
			aml_int(&e, 0);
			aml_int(&e, layout_intx_gsi(slot, pin));
			aml_package(&elems, 4, &e);
			n++;
		}
	}
	/* More than 255 elements need VarPackage; 128 fit in a Package. */
	aml_init(&v);
	aml_package(&v, n, &elems);
	aml_name_decl(&pci, "_PRT", &v);

	aml_init(&isa);
	name_int(&isa, "_ADR", (uint64_t)(LAYOUT_LPC_DEVFN >> 3) << 16 | (LAYOUT_LPC_DEVFN & 7));
	legacy_device(&isa, "COM1", "PNP0501", 1, LAYOUT_COM1_BASE, 8, LAYOUT_COM1_GSI);
	legacy_device(&isa, "RTC", "PNP0B00", 0, LAYOUT_RTC_BASE, 2, LAYOUT_RTC_GSI);
	aml_device(&pci, "ISA", &isa);
	aml_device(&sb, "PCI0", &pci);
	aml_scope(&top, "\\_SB", &sb);

	/* \_S5: SLP_TYP 0 for PM1a and PM1b (our PM block treats 0 as off). */
	aml_init(&elems);
	for (int i = 0; i < 4; i++)
		aml_int(&elems, 0);
	aml_init(&v);
	aml_package(&v, 4, &elems);
	aml_name_decl(&top, "\\_S5", &v);

	if (!aml_ok(&top)) {
		aml_free(&top);
		return -ENOMEM;
	}
	*out = top.buf;
	*len = top.len;
	return 0;
}

static size_t build_dsdt(struct builder *b, const struct acpi_config *c)
{
	uint8_t *body;
	size_t len, off = table_begin(b, "DSDT", 2);

	if (acpi_build_dsdt_body(c, &body, &len) < 0) {
		b->t.oom = true;
		return off;
	}
	aml_bytes(&b->t, body, len);
	free(body);
	table_end(b, off);
	return off;
}

static void gas(struct aml *a, uint8_t space, uint8_t width, uint8_t access, uint64_t addr)
{
	uint8_t g[12] = { space, width, 0, access };
	put_le64(g + 4, addr);
	aml_bytes(a, g, sizeof(g));
}

static size_t build_fadt(struct builder *b, size_t facs, size_t dsdt)
{
	size_t off = table_begin(b, "FACP", 6), base;
	uint8_t f[276 - 36] = { 0 };	/* body: offsets below are -36 */
	uint32_t flags;

	put_le16(f + 46 - 36, LAYOUT_SCI_GSI);		/* SCI_INT */
	put_le32(f + 56 - 36, LAYOUT_PM1_EVT);		/* PM1a_EVT_BLK */
	put_le32(f + 64 - 36, LAYOUT_PM1_CNT);		/* PM1a_CNT_BLK */
	put_le32(f + 76 - 36, LAYOUT_PM_TMR);		/* PM_TMR_BLK */
	put_le32(f + 80 - 36, LAYOUT_GPE0);		/* GPE0_BLK */
	f[88 - 36] = 4;					/* PM1_EVT_LEN */
	f[89 - 36] = 2;					/* PM1_CNT_LEN */
	f[91 - 36] = 4;					/* PM_TMR_LEN */
	f[92 - 36] = LAYOUT_GPE0_LEN;			/* GPE0_BLK_LEN */
	put_le16(f + 96 - 36, 0x0fff);			/* P_LVL2_LAT: no C2 */
	put_le16(f + 98 - 36, 0x0fff);			/* P_LVL3_LAT: no C3 */
	f[108 - 36] = LAYOUT_RTC_CENTURY;		/* CENTURY */
	/* IAPC_BOOT_ARCH: legacy (ISA) devices, no 8042, no VGA. */
	put_le16(f + 109 - 36, 0x0001 | 0x0004);
	/* WBINVD, PROC_C1, no fixed sleep button (the power button is the fixed
	 * feature one), RTC wake not in fixed space, 32-bit PM timer, reset
	 * register supported. */
	flags = (1u << 0) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 10);
	put_le32(f + 112 - 36, flags);
	/* RESET_REG: 0xCF9 <- 0x0F (research note 11), byte access. */
	{
		struct aml g;
		aml_init(&g);
		gas(&g, 1, 8, 1, LAYOUT_RESET_CF9);
		memcpy(f + 116 - 36, g.buf, 12);
		aml_free(&g);
	}
	f[128 - 36] = 0x0f;				/* RESET_VALUE */
	f[131 - 36] = 0;				/* FADT minor version */
	{
		struct aml g;
		aml_init(&g);
		gas(&g, 1, 32, 0, LAYOUT_PM1_EVT);	/* X_PM1a_EVT_BLK */
		memcpy(f + 148 - 36, g.buf, 12);
		g.len = 0;
		gas(&g, 1, 16, 0, LAYOUT_PM1_CNT);	/* X_PM1a_CNT_BLK */
		memcpy(f + 172 - 36, g.buf, 12);
		g.len = 0;
		gas(&g, 1, 32, 0, LAYOUT_PM_TMR);	/* X_PM_TMR_BLK */
		memcpy(f + 208 - 36, g.buf, 12);
		g.len = 0;
		gas(&g, 1, LAYOUT_GPE0_LEN * 8, 0, LAYOUT_GPE0);	/* X_GPE0_BLK */
		memcpy(f + 220 - 36, g.buf, 12);
		aml_free(&g);
	}
	memcpy(f + 268 - 36, "POLYBOOT", 8);		/* hypervisor vendor */
	base = b->t.len;
	aml_bytes(&b->t, f, sizeof(f));
	(void)base;
	table_ptr(b, off + 36, facs, 4);		/* FIRMWARE_CTRL */
	table_ptr(b, off + 40, dsdt, 4);		/* DSDT */
	table_ptr(b, off + 132, facs, 8);		/* X_FIRMWARE_CTRL */
	table_ptr(b, off + 140, dsdt, 8);		/* X_DSDT */
	table_end(b, off);
	return off;
}

static size_t build_madt(struct builder *b, const struct acpi_config *c)
{
	size_t off = table_begin(b, "APIC", 5);
	uint8_t h[8];

	put_le32(h, (uint32_t)LAYOUT_LAPIC_BASE);
	put_le32(h + 4, 1);			/* PCAT_COMPAT: there are 8259s */
	aml_bytes(&b->t, h, sizeof(h));
	for (unsigned i = 0; i < c->ncpus; i++) {
		uint8_t e[8] = { 0, 8, (uint8_t)i, (uint8_t)i };
		put_le32(e + 4, 1);		/* enabled */
		aml_bytes(&b->t, e, sizeof(e));
	}
	{
		uint8_t e[12] = { 1, 12, 0 /* IOAPIC id */, 0 };
		put_le32(e + 4, (uint32_t)LAYOUT_IOAPIC_BASE);
		put_le32(e + 8, 0);		/* GSI base */
		aml_bytes(&b->t, e, sizeof(e));
	}
	{
		/* IRQ0 (PIT) -> GSI 2; IRQ 9 (SCI) level, active high. */
		uint8_t e[10] = { 2, 10, 0, 0 };
		put_le32(e + 4, 2);
		put_le16(e + 8, 0);
		aml_bytes(&b->t, e, sizeof(e));
		e[3] = LAYOUT_SCI_GSI;
		put_le32(e + 4, LAYOUT_SCI_GSI);
		put_le16(e + 8, 0x000d);
		aml_bytes(&b->t, e, sizeof(e));
	}
	{
		uint8_t e[6] = { 4, 6, 0xff /* all processors */, 0, 0, 1 /* LINT1 */ };
		aml_bytes(&b->t, e, sizeof(e));
	}
	table_end(b, off);
	return off;
}

static size_t build_mcfg(struct builder *b)
{
	size_t off = table_begin(b, "MCFG", 1);
	uint8_t e[24] = { 0 };

	put_le64(e + 8, LAYOUT_ECAM_BASE);
	put_le16(e + 16, 0);	/* segment */
	e[18] = 0;		/* start bus */
	e[19] = (uint8_t)(LAYOUT_ECAM_SIZE / (1 << 20) - 1);	/* end bus */
	aml_bytes(&b->t, e, sizeof(e));
	table_end(b, off);
	return off;
}

static size_t build_waet(struct builder *b)
{
	size_t off = table_begin(b, "WAET", 1);
	uint8_t e[4];
	put_le32(e, 1u << 1);	/* ACPI PM timer good: one read suffices */
	aml_bytes(&b->t, e, sizeof(e));
	table_end(b, off);
	return off;
}

static size_t build_xsdt(struct builder *b, const size_t *tables, unsigned n)
{
	size_t off = table_begin(b, "XSDT", 1), first = b->t.len;
	zeros(&b->t, 8 * n);
	for (unsigned i = 0; i < n; i++)
		table_ptr(b, first + 8 * i, tables[i], 8);
	table_end(b, off);
	return off;
}

int acpi_build(const struct acpi_config *c, struct acpi_blobs *out)
{
	struct builder b;
	size_t facs, dsdt, list[4], xsdt;
	uint8_t rsdp[36] = { 0 };

	if (!c->ncpus || c->ncpus > 255 || (c->mmio64_size && c->mmio64_base + c->mmio64_size < c->mmio64_base) ||
	    (c->mmio32_end && (c->mmio32_end <= LAYOUT_MMIO32_BASE || c->mmio32_end > LAYOUT_IOAPIC_BASE)))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&b, 0, sizeof(b));
	aml_init(&b.t);
	aml_init(&b.l.s);
	b.out = out;

	/* Allocations first: OVMF reads every blob before patching. */
	loader_alloc(&b.l, ACPI_FILE_RSDP, 16, ZONE_FSEG);
	loader_alloc(&b.l, ACPI_FILE_TABLES, 64, ZONE_HIGH);

	facs = build_facs(&b);
	dsdt = build_dsdt(&b, c);
	list[0] = build_fadt(&b, facs, dsdt);
	list[1] = build_madt(&b, c);
	list[2] = build_mcfg(&b);
	list[3] = build_waet(&b);
	xsdt = build_xsdt(&b, list, 4);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 2;			/* revision: ACPI 2.0+ */
	put_le32(rsdp + 20, 36);	/* length */
	put_le64(rsdp + 24, xsdt);	/* XSDT, patched by the loader */
	loader_pointer(&b.l, ACPI_FILE_RSDP, ACPI_FILE_TABLES, 24, 8);
	loader_checksum(&b.l, ACPI_FILE_RSDP, 8, 0, 20);
	loader_checksum(&b.l, ACPI_FILE_RSDP, 32, 0, 36);

	if (!aml_ok(&b.t) || !aml_ok(&b.l.s)) {
		aml_free(&b.t);
		aml_free(&b.l.s);
		return -ENOMEM;
	}
	out->rsdp = malloc(sizeof(rsdp));
	if (!out->rsdp) {
		aml_free(&b.t);
		aml_free(&b.l.s);
		return -ENOMEM;
	}
	memcpy(out->rsdp, rsdp, sizeof(rsdp));
	out->rsdp_len = sizeof(rsdp);
	out->tables = b.t.buf;
	out->tables_len = b.t.len;
	out->loader = b.l.s.buf;
	out->loader_len = b.l.s.len;
	return 0;
}

void acpi_blobs_free(struct acpi_blobs *b)
{
	free(b->rsdp);
	free(b->tables);
	free(b->loader);
	memset(b, 0, sizeof(*b));
}

/* --- running the loader script (tests, --dump-acpi) --------------------------- */

static uint8_t *blob(struct acpi_blobs *b, const char *name, size_t *len, uint64_t *base,
		     uint64_t rsdp_base, uint64_t tables_base)
{
	if (!strncmp(name, ACPI_FILE_RSDP, ACPI_LOADER_FILE_LEN)) {
		*len = b->rsdp_len;
		*base = rsdp_base;
		return b->rsdp;
	}
	if (!strncmp(name, ACPI_FILE_TABLES, ACPI_LOADER_FILE_LEN)) {
		*len = b->tables_len;
		*base = tables_base;
		return b->tables;
	}
	return NULL;
}

int acpi_link(struct acpi_blobs *b, uint64_t rsdp_base, uint64_t tables_base)
{
	if (b->loader_len % ACPI_LOADER_ENTRY)
		return -EINVAL;
	for (size_t i = 0; i < b->loader_len; i += ACPI_LOADER_ENTRY) {
		const uint8_t *e = b->loader + i;
		char f1[ACPI_LOADER_FILE_LEN + 1] = { 0 }, f2[ACPI_LOADER_FILE_LEN + 1] = { 0 };
		uint8_t *p, *q;
		size_t plen, qlen;
		uint64_t pbase, qbase;

		memcpy(f1, e + 4, ACPI_LOADER_FILE_LEN);
		switch (get_le32(e)) {
		case LOADER_ALLOCATE:
			if (!blob(b, f1, &plen, &pbase, rsdp_base, tables_base))
				return -EINVAL;
			break;
		case LOADER_ADD_POINTER: {
			uint32_t off = get_le32(e + 116);
			uint8_t size = e[120];
			uint64_t v = 0;
			memcpy(f2, e + 60, ACPI_LOADER_FILE_LEN);
			p = blob(b, f1, &plen, &pbase, rsdp_base, tables_base);
			q = blob(b, f2, &qlen, &qbase, rsdp_base, tables_base);
			if (!p || !q || (size != 1 && size != 2 && size != 4 && size != 8) ||
			    off > plen || size > plen - off)
				return -EINVAL;
			for (unsigned k = 0; k < size; k++)
				v |= (uint64_t)p[off + k] << (8 * k);
			/* As OVMF checks: the stored value is an offset inside the pointee. */
			if (v >= qlen)
				return -EINVAL;
			v += qbase;
			for (unsigned k = 0; k < size; k++)
				p[off + k] = (uint8_t)(v >> (8 * k));
			break;
		}
		case LOADER_ADD_CHECKSUM: {
			uint32_t res = get_le32(e + 60), start = get_le32(e + 64), len = get_le32(e + 68);
			p = blob(b, f1, &plen, &pbase, rsdp_base, tables_base);
			if (!p || res >= plen || start > plen || len > plen - start)
				return -EINVAL;
			p[res] = 0;
			p[res] = acpi_checksum(p + start, len);
			break;
		}
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int acpi_dump(const struct acpi_config *c, const char *dir)
{
	struct acpi_blobs b;
	char path[4096];
	int r;

	r = acpi_build(c, &b);
	if (r < 0)
		return r;
	/* Addresses as OVMF might choose them; any below 4 GiB will do. */
	r = acpi_link(&b, 0xf0000, 0x7f000000);
	for (unsigned i = 0; r == 0 && i < b.ntables; i++) {
		snprintf(path, sizeof(path), "%s/%s.dat", dir, b.index[i].sig);
		r = write_file_atomic(path, b.tables + b.index[i].off, b.index[i].len);
	}
	if (r == 0) {
		/* FACS has no header checksum but iasl reads it too. */
		snprintf(path, sizeof(path), "%s/FACS.dat", dir);
		r = write_file_atomic(path, b.tables, 64);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/RSDP.dat", dir);
		r = write_file_atomic(path, b.rsdp, b.rsdp_len);
	}
	acpi_blobs_free(&b);
	return r;
}
