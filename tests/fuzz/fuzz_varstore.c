/* libFuzzer: validation and walking of a variable store image that is the
 * OVMF template with the input spliced in at input-chosen places. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "efi/varstore.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t tmpl[0x84000];
	static size_t tlen;
	uint8_t *img;
	struct varstore vs;
	struct efivar v;
	char why[256];

	if (!tlen) {
		int fd = open("/usr/share/OVMF/OVMF_VARS_4M.fd", O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, tmpl, sizeof(tmpl)) : -1;
		tlen = n > 0 ? (size_t)n : sizeof(tmpl);
		if (fd >= 0)
			close(fd);
	}
	img = malloc(tlen);
	memcpy(img, tmpl, tlen);
	/* {u32 offset, u8 len, bytes...} patches. */
	for (size_t i = 0; i + 5 <= size;) {
		size_t off = get_le32(data + i) % tlen, n = data[i + 4];
		i += 5;
		if (n > size - i)
			n = size - i;
		if (n > tlen - off)
			n = tlen - off;
		memcpy(img + off, data + i, n);
		i += n;
	}
	if (varstore_open(&vs, img, tlen, why, sizeof(why)) == 0) {
		v.next = 0;
		while (varstore_next(&vs, &v)) {
			char name[64];
			efivar_name(&v, name, sizeof(name));
		}
		varstore_set(&vs, "Fuzz", &efi_global_guid, EFI_VAR_NV_BS_RT, data, (uint32_t)(size % 512));
		varstore_open(&vs, img, tlen, why, sizeof(why));
	}
	free(img);
	return 0;
}
