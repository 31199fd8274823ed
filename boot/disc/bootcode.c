#include <string.h>

#include "disc/bootcode.h"
#include "util.h"

static bool has(const uint8_t *code, size_t len, const char *s)
{
	return memmem(code, len, s, strlen(s)) != NULL;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static const char grub_strings[] = "GRUB \0Geom\0Hard Disk\0Read\0 Error";

void bootcode_classify(const uint8_t sec[512], struct bootcode_info *out)
{
	const size_t code = 440;	/* the disk signature follows */

	memset(out, 0, sizeof(*out));
	if (all_zero(sec, code)) {
		out->kind = BOOTCODE_NONE;
		return;
	}
	if (memmem(sec, code, grub_strings, sizeof(grub_strings) - 1)) {
		if (sec[0] == 0xeb && sec[1] == 0x48 && sec[0x3e] == 3 && sec[0x3f] == 2) {
			out->kind = BOOTCODE_GRUB_LEGACY;
		} else {
			out->kind = BOOTCODE_GRUB2;
			out->grub_core_lba = get_le64(sec + 0x5c);
		}
		return;
	}
	if (has(sec, code, "Invalid partition table") &&
	    has(sec, code, "Error loading operating system")) {
		out->kind = has(sec, code, "TCPA") ? BOOTCODE_WINDOWS_NT6 : BOOTCODE_WINDOWS_NT5;
		return;
	}
	if (has(sec, code, "isolinux.bin missing or corrupt")) {
		out->kind = BOOTCODE_ISOHYBRID;
		return;
	}
	if (has(sec, code, "Missing operating system.") && has(sec, code, "Multiple active partitions")) {
		out->kind = BOOTCODE_SYSLINUX;
		return;
	}
	if (has(sec, code, "Missing OS") && has(sec, code, "Disk error")) {
		out->kind = BOOTCODE_SYSLINUX_GPT;
		return;
	}
	out->kind = BOOTCODE_UNKNOWN;
}

const char *bootcode_name(enum bootcode k)
{
	static const char *const names[] = {
		[BOOTCODE_NONE] = "none",
		[BOOTCODE_GRUB2] = "grub2",
		[BOOTCODE_GRUB_LEGACY] = "grub-legacy",
		[BOOTCODE_WINDOWS_NT6] = "windows-nt6",
		[BOOTCODE_WINDOWS_NT5] = "windows-nt5",
		[BOOTCODE_SYSLINUX] = "syslinux",
		[BOOTCODE_SYSLINUX_GPT] = "syslinux-gpt",
		[BOOTCODE_ISOHYBRID] = "isohybrid",
		[BOOTCODE_UNKNOWN] = "unknown",
	};
	return (unsigned)k < ARRAY_SIZE(names) && names[k] ? names[k] : "unknown";
}

bool bootcode_is_grub_core(const uint8_t sec[512])
{
	/* diskboot.img: "loading" then "Geom\0Read\0 Error" in its code */
	static const char s[] = "Geom\0Read\0 Error";

	return memmem(sec, 512, "loading", 7) && memmem(sec, 512, s, sizeof(s) - 1);
}

bool bootcode_vbr_bootable(const uint8_t sec[512])
{
	if (sec[510] != 0x55 || sec[511] != 0xaa)
		return false;
	return (sec[0] == 0xeb && sec[2] == 0x90) || sec[0] == 0xe9;
}
