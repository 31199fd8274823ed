/*
 * Legacy BIOS images and the ISA ROM area (see bios.h). SeaBIOS's checks:
 * src/fw/shadow.c make_bios_writable_intel() reads PAM0 bit 4 ("RAM
 * present") and, when clear, copies code32flat_start..end from
 * address + 0xFFF00000, i.e. from the image mapped below 4 GiB; the code
 * it runs before that copy lies in the image's last 128 KiB.
 */
#include "machine/bios.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machine/layout.h"

int bios_check_size(uint64_t size, char *why, size_t len)
{
	if (size < BIOS_MIN_SIZE || size > BIOS_MAX_SIZE || size % BIOS_MIN_SIZE) {
		snprintf(why, len, "size %llu is not a multiple of 64 KiB from 64 KiB to 16 MiB",
			 (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

void bios_rom_area_reset(uint8_t *area, const uint8_t *image, uint64_t size)
{
	const uint64_t area_len = LAYOUT_ROM_AREA_END - LAYOUT_ROM_AREA_BASE;
	uint64_t n = size < LAYOUT_ISA_BIOS_MAX ? size : LAYOUT_ISA_BIOS_MAX;

	memset(area, 0, area_len - n);
	memcpy(area + area_len - n, image + size - n, n);
}
