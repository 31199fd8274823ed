/*
 * libFuzzer: the free-form sysfs text devs.c parses (a capabilities/key
 * bitmap, the kernel command line) and the passthrough check on a machine
 * and requests made of the input. Besides memory safety it checks that
 * every message is NUL-terminated within its field, that a refusal has a
 * message, that flags only come with granted requests, and that the
 * returned count is the number refused.
 *
 * Input: byte 0 picks the machine's facts (IOMMU, vfio-pci, serial,
 * display), byte 1 the device count; then 8 bytes per device (class,
 * group, members, reset, boot_vga, keyboards, blocks), 3 per request
 * (device, VM, OS); the rest is text for the parsers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devs.h"

#define NDEV 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t classes[] = { 0x010802, 0x010601, 0x030000, 0x040300, 0x060400,
					    0x060000, 0x0c0330, 0x020000 };
	static struct devs_dev dev[NDEV];
	struct devs_list l = { .dev = dev };
	struct devs_ctx ctx = { 0 };
	struct devs_req req[12];
	struct devs_decision out[12];
	char text[512], words[160];
	unsigned n = 0, nreq = 0, refused = 0;
	size_t at = 2;

	if (size < 2)
		return 0;
	memset(dev, 0, sizeof(dev));
	l.iommu = data[0] & 1;
	l.iommu_units = data[0] & 2 ? 1 : 0;
	l.vfio_pci = data[0] & 4;
	ctx.serial_console = data[0] & 8;
	ctx.menu_on_display = data[0] & 16;
	l.keyboards = data[0] >> 5;
	if (data[0] & 32)
		snprintf(ctx.esp_disk, sizeof(ctx.esp_disk), "nvme0n1");
	for (; n < (data[1] % (NDEV + 1)) && at + 8 <= size; n++, at += 8) {
		struct devs_dev *d = &dev[n];
		const uint8_t *b = data + at;

		snprintf(d->bdf, sizeof(d->bdf), "0000:%02x:00.0", n);
		d->class = classes[b[0] % 8];
		d->group = b[1] % 4 == 3 ? -1 : b[1] % 4;
		d->nmembers = b[2] % 4;
		for (unsigned m = 0; m < d->nmembers; m++) {
			snprintf(d->members[m].bdf, sizeof(d->members[m].bdf), "0000:%02x:00.0", (b[2] >> 2) + m);
			d->members[m].class = classes[(b[3] + m) % 8];
			d->members[m].bridge = devs_is_bridge(d->members[m].class);
		}
		if (b[4] & 1)
			snprintf(d->reset, sizeof(d->reset), "flr bus");
		d->boot_vga = b[4] & 2;
		d->keyboards = b[5] % 3;
		d->nblock = b[6] % 3;
		for (unsigned k = 0; k < d->nblock; k++)
			snprintf(d->block[k].name, sizeof(d->block[k].name), "nvme%un1", (b[7] + k) % 3);
	}
	l.ndev = n;
	for (; nreq < 12 && at + 3 <= size && data[at] != 0xff; nreq++, at += 3) {
		memset(&req[nreq], 0, sizeof(req[nreq]));
		snprintf(req[nreq].bdf, sizeof(req[nreq].bdf), "0000:%02x:00.0", data[at] % (NDEV + 2));
		snprintf(req[nreq].vm, sizeof(req[nreq].vm), "vm%u", data[at + 1] % 3);
		req[nreq].os = (int)(data[at + 2] % 4) - 1;
	}
	if (devs_check(&l, req, nreq, &ctx, out) > nreq)
		__builtin_trap();
	for (unsigned i = 0; i < nreq; i++) {
		if (strnlen(out[i].msg, sizeof(out[i].msg)) >= sizeof(out[i].msg))
			__builtin_trap();
		if (out[i].verdict == DEVS_REFUSED && (!out[i].msg[0] || out[i].flags))
			__builtin_trap();
		if (out[i].verdict == DEVS_OK && out[i].msg[0])
			__builtin_trap();
		refused += out[i].verdict == DEVS_REFUSED;
	}
	if (devs_check(&l, req, nreq, &ctx, out) != refused)
		__builtin_trap();

	/* the rest as text */
	if (at < size) {
		size_t len = size - at < sizeof(text) - 1 ? size - at : sizeof(text) - 1;

		memcpy(text, data + at, len);
		text[len] = 0;
		(void)devs_keys_keyboard(text);
		(void)devs_cmdline_iommu(text, words, sizeof(words));
		if (strnlen(words, sizeof(words)) >= sizeof(words))
			__builtin_trap();
		(void)devs_cmdline_iommu(text, words, 5);
		if (strnlen(words, 5) >= 5)
			__builtin_trap();
	}
	return 0;
}
