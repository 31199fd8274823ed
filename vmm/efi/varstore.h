/*
 * The UEFI variable store inside an OVMF VARS image (edk2's authenticated
 * variable format on a firmware volume), read and edited offline: for the
 * crash test ("is this file still one OVMF accepts?"), for polyvmm-vars and
 * for the boot manager (Boot####, BootOrder, BootNext).
 *
 * Layout (edk2 MdeModulePkg/Include/Guid/VariableFormat.h,
 * PiFirmwareVolume.h): firmware volume header (GUID
 * EFI_SYSTEM_NV_DATA_FV_GUID, "_FVH", 16-bit checksum) at 0, then the
 * variable store header (authenticated-variable GUID, size, format 0x5A,
 * state 0xFE), then variables (StartId 0x55AA, 4-byte aligned) until an
 * erased (0xFFFF) StartId.
 */
#ifndef POLYBOOT_VMM_EFI_VARSTORE_H
#define POLYBOOT_VMM_EFI_VARSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guid.h"

#define EFI_VAR_NON_VOLATILE		0x00000001
#define EFI_VAR_BOOTSERVICE_ACCESS	0x00000002
#define EFI_VAR_RUNTIME_ACCESS		0x00000004
#define EFI_VAR_NV_BS_RT		0x00000007

/* EFI_GLOBAL_VARIABLE: 8BE4DF61-93CA-11D2-AA0D-00E098032B8C */
extern const struct guid efi_global_guid;

struct varstore {
	uint8_t *img;		/* the whole VARS image (not owned) */
	size_t len;
	size_t store;		/* offset of the variable store header */
	size_t store_size;	/* its Size field */
	size_t vars;		/* first variable */
	size_t end;		/* first free byte (erased StartId) */
	bool authenticated;	/* authenticated header format (60 bytes) */
};

/* One variable as found in the store. */
struct efivar {
	size_t off;		/* header offset in the image */
	uint8_t state;
	uint32_t attrs;
	struct guid guid;
	const uint8_t *name;	/* UTF-16LE, NameSize bytes incl. the NUL */
	uint32_t name_size;
	const uint8_t *data;
	uint32_t data_size;
	size_t next;		/* offset of the next header */
};

/*
 * Checks an image the way OVMF does before using it (FV header fields and
 * checksum, store header, every variable header until the free space) and
 * maps it. On failure writes a reason into @why and returns -EINVAL.
 */
int varstore_open(struct varstore *vs, uint8_t *img, size_t len, char *why, size_t whylen);

/* Iterates over live (added, not deleted) variables: start with
 * it->next = 0; returns 1 with *v filled, 0 at the end. */
int varstore_next(const struct varstore *vs, struct efivar *v);

/* Finds a live variable by ASCII name and GUID; 0 or -ENOENT. */
int varstore_get(const struct varstore *vs, const char *name, const struct guid *guid,
		 struct efivar *v);

/*
 * Sets (adds or replaces) a variable the way the firmware would: the new
 * copy is appended and the old one marked deleted. When the free space is
 * too small the store is compacted first. -ENOSPC if it still does not fit.
 */
int varstore_set(struct varstore *vs, const char *name, const struct guid *guid, uint32_t attrs,
		 const void *data, uint32_t size);
/* Marks a variable deleted; -ENOENT if absent. */
int varstore_delete(struct varstore *vs, const char *name, const struct guid *guid);

/* Converts a variable's UTF-16 name to ASCII ('?' for others). */
void efivar_name(const struct efivar *v, char *out, size_t len);

#endif
