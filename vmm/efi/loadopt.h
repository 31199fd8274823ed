/*
 * EFI_LOAD_OPTION, the contents of Boot#### variables (UEFI 2.10 section
 * 3.1.3), and the device paths inside them (section 10.3):
 *
 *   UINT32  Attributes              LOAD_OPTION_*
 *   UINT16  FilePathListLength      bytes of FilePathList
 *   CHAR16  Description[]           NUL-terminated UTF-16LE
 *   EFI_DEVICE_PATH FilePathList[]  device paths, each ended by an End node
 *   UINT8   OptionalData[]          the rest of the variable
 *
 * A device path is a chain of nodes {UINT8 Type, UINT8 SubType, UINT16
 * Length (with these 4 bytes), data}, ended by End Entire (0x7F, 0xFF).
 * The options built here boot a file on a GPT partition through a
 * short-form path, which firmware resolves by finding the partition GUID
 * on any disk (section 3.1.2):
 *
 *   HD(1,GPT,<partition GUID>,0x800,0x100000)/\EFI\debian\grubx64.efi
 *
 * Options parsed here come from a VARS file and are untrusted: every
 * length is checked, and the text forms are sanitised (see utf16.h).
 */
#ifndef POLYBOOT_VMM_EFI_LOADOPT_H
#define POLYBOOT_VMM_EFI_LOADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guid.h"

/* Attributes (section 3.1.3) */
#define LOAD_OPTION_ACTIVE		0x00000001
#define LOAD_OPTION_FORCE_RECONNECT	0x00000002
#define LOAD_OPTION_HIDDEN		0x00000008
#define LOAD_OPTION_CATEGORY_APP	0x00000100

#define LOADOPT_DESC_MAX	256	/* bytes kept of the UTF-8 description, with the NUL */
#define LOADOPT_FILE_MAX	512	/* ... of the file path */
#define LOADOPT_TEXT_MAX	1024	/* ... of the device path text */

/* A hard drive media device path node (section 10.3.5.1) for a GPT
 * partition. LBAs are in the disk's logical blocks. */
struct loadopt_hd {
	uint32_t partnum;	/* 1-based GPT entry index */
	struct guid part_guid;	/* UniquePartitionGUID */
	uint64_t start, size;	/* first LBA and number of LBAs */
};

struct loadopt {
	uint32_t attrs;
	char desc[LOADOPT_DESC_MAX];	/* UTF-8, cut to fit */
	bool has_hd;			/* the path has a GPT HD() node ... */
	struct loadopt_hd hd;		/* ... the first one */
	char file[LOADOPT_FILE_MAX];	/* its File() nodes joined, or "" */
	char path[LOADOPT_TEXT_MAX];	/* FilePathList[0] as text, cut to fit */
	const uint8_t *optional;	/* OptionalData, inside the parsed buffer */
	size_t optional_len;
};

/*
 * Encodes a load option with @attrs, the description @desc (UTF-8), the
 * device path HD(@hd)/File(@file_path)/End and @optional_len bytes of
 * optional data. @file_path is absolute, in UTF-8; '/' becomes '\'.
 * Returns the size written into @buf, -ENOSPC if @len is too small, or
 * -EINVAL for malformed UTF-8, a relative path, partition number 0 or a
 * path too long for the 16-bit lengths.
 */
int loadopt_build(uint8_t *buf, size_t len, uint32_t attrs, const char *desc,
		  const struct loadopt_hd *hd, const char *file_path, const uint8_t *optional,
		  size_t optional_len);

/*
 * Decodes the load option in @buf as edk2's boot manager validates it
 * (BmValidateOption): the description is NUL-terminated inside @buf,
 * FilePathListLength fits, and FilePathList[0] is a chain of nodes of at
 * least 4 bytes each that ends with End Entire inside FilePathListLength
 * (further paths in the list are not looked at). Returns 0 or -EINVAL.
 *
 * @out->path is the text form of section 10.6.1 as edk2's
 * ConvertDevicePathToText prints it (but with lower-case GUIDs, as
 * efibootmgr prints them) for: PciRoot/PcieRoot/Acpi, Pci, Ctrl,
 * VenHw/VenMsg/VenMedia, Scsi, USB, MAC, IPv4, IPv6, Sata, NVMe, Uri, HD,
 * file paths, Fv, FvFile; any other node (or one too short for its
 * fields) in the generic form, e.g. Msg(14,0000...).
 */
int loadopt_parse(const uint8_t *buf, size_t len, struct loadopt *out);

#endif
