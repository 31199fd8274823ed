/*
 * ACPI tables for polyvmm, handed to OVMF through fw_cfg as QEMU does:
 * "etc/acpi/rsdp", "etc/acpi/tables" and the linker/loader script
 * "etc/table-loader" (research note 12.1). OVMF allocates the blobs, patches
 * the pointers, computes the checksums and installs each table it finds.
 * Tables: RSDP, XSDT, FADT (rev 6), FACS, DSDT, MADT, MCFG, WAET.
 */
#ifndef POLYBOOT_VMM_ACPI_ACPI_H
#define POLYBOOT_VMM_ACPI_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_LOADER_ENTRY	128
#define ACPI_LOADER_FILE_LEN	56
#define ACPI_FILE_RSDP		"etc/acpi/rsdp"
#define ACPI_FILE_TABLES	"etc/acpi/tables"
#define ACPI_FILE_LOADER	"etc/table-loader"

struct acpi_config {
	unsigned ncpus;
	uint64_t mmio64_base, mmio64_size;	/* 64-bit PCI window; size 0: none */
	uint64_t mmio32_end;	/* end of the 32-bit window; 0: LAYOUT_MMIO32_END */
};

struct acpi_blobs {
	uint8_t *rsdp, *tables, *loader;
	size_t rsdp_len, tables_len, loader_len;
	/* Where each table starts in @tables (for tests and dumps). */
	struct {
		char sig[5];
		size_t off, len;
	} index[16];
	unsigned ntables;
};

/* Builds the three blobs. Returns 0 or -errno (-EINVAL for a bad config). */
int acpi_build(const struct acpi_config *c, struct acpi_blobs *out);
void acpi_blobs_free(struct acpi_blobs *b);

/* Runs the loader script as OVMF would, with the tables blob at @tables_base
 * and the RSDP at @rsdp_base: patches pointers in place and fills checksums.
 * Returns 0 or -EINVAL for a malformed script (tests use it to check ours). */
int acpi_link(struct acpi_blobs *b, uint64_t rsdp_base, uint64_t tables_base);

/* Writes every table (linked at fixed addresses) to @dir/<SIG>.dat, the
 * form `iasl -d` reads. */
int acpi_dump(const struct acpi_config *c, const char *dir);

/* 8-bit checksum: the value that makes @len bytes sum to 0. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* The DSDT's AML body (without the table header), for golden tests. */
int acpi_build_dsdt_body(const struct acpi_config *c, uint8_t **out, size_t *len);

#endif
