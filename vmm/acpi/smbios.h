/*
 * SMBIOS 3.0 tables for the guest, handed to OVMF as fw_cfg files
 * "etc/smbios/smbios-tables" and "etc/smbios/smbios-anchor". Types 0, 1, 2
 * and 3 carry the host's own strings and UUID by default (Windows activation
 * and vendor drivers look at them), each overridable.
 */
#ifndef POLYBOOT_VMM_ACPI_SMBIOS_H
#define POLYBOOT_VMM_ACPI_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

#define SMBIOS_STR_MAX 64

enum smbios_field {
	SMB_BIOS_VENDOR, SMB_BIOS_VERSION, SMB_BIOS_DATE,
	SMB_SYS_MANUFACTURER, SMB_SYS_PRODUCT, SMB_SYS_VERSION, SMB_SYS_SERIAL,
	SMB_SYS_UUID, SMB_SYS_SKU, SMB_SYS_FAMILY,
	SMB_BOARD_MANUFACTURER, SMB_BOARD_PRODUCT, SMB_BOARD_VERSION, SMB_BOARD_SERIAL,
	SMB_BOARD_ASSET,
	SMB_CHASSIS_MANUFACTURER, SMB_CHASSIS_TYPE, SMB_CHASSIS_VERSION, SMB_CHASSIS_SERIAL,
	SMB_CHASSIS_ASSET,
	SMB_NFIELDS
};

struct smbios_info {
	char s[SMB_NFIELDS][SMBIOS_STR_MAX];	/* "" = not known */
	unsigned ncpus;
	uint64_t ram_low, ram_high;		/* bytes below / above 4 GiB */
};

/* Defaults, then the host's values from @dmi_dir (sysfs /sys/class/dmi/id
 * layout; NULL or missing files keep the defaults). */
void smbios_info_init(struct smbios_info *i, const char *dmi_dir);

/*
 * Applies "typeN.key=value" (e.g. "type1.serial=ABC"). Returns 0, or
 * -EINVAL with a message in @err naming the bad part.
 */
int smbios_info_set(struct smbios_info *i, const char *assignment, char *err, size_t errlen);

struct smbios_blobs {
	uint8_t *tables;
	size_t tables_len;
	uint8_t anchor[24];
};

int smbios_build(const struct smbios_info *i, struct smbios_blobs *out);
void smbios_blobs_free(struct smbios_blobs *b);

/* "xxxxxxxx-xxxx-..." -> SMBIOS byte order (first three fields little-endian). */
int smbios_parse_uuid(const char *s, uint8_t out[16]);

#endif
