/* Legacy BIOS (--bios): image sizes, the ROM area 0xC0000-0xFFFFF at reset,
 * and the MCH PAM registers as SeaBIOS's shadowing code programs them. */
#include "test.h"

#include <stdlib.h>

#include "core/bus.h"
#include "machine/bios.h"
#include "machine/chipset.h"
#include "machine/layout.h"
#include "pci/pci.h"

#define AREA_LEN (LAYOUT_ROM_AREA_END - LAYOUT_ROM_AREA_BASE)

TEST(bios_image_sizes)
{
	char why[128];

	CHECK_EQ(bios_check_size(64 << 10, why, sizeof(why)), 0);
	CHECK_EQ(bios_check_size(128 << 10, why, sizeof(why)), 0);
	CHECK_EQ(bios_check_size(256 << 10, why, sizeof(why)), 0);	/* bios-256k.bin */
	CHECK_EQ(bios_check_size(16 << 20, why, sizeof(why)), 0);
	CHECK_EQ(bios_check_size(0, why, sizeof(why)), -EINVAL);
	CHECK_EQ(bios_check_size(32 << 10, why, sizeof(why)), -EINVAL);
	CHECK_EQ(bios_check_size((256 << 10) + 4096, why, sizeof(why)), -EINVAL);
	CHECK_EQ(bios_check_size((16 << 20) + (64 << 10), why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "multiple of 64 KiB") != NULL);
}

static uint8_t *pattern(size_t len)
{
	uint8_t *p = malloc(len);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 12));
	return p;
}

TEST(bios_rom_area_shows_the_last_128k_at_0xe0000)
{
	const size_t size = 256 << 10;
	uint8_t *img = pattern(size), *area = malloc(AREA_LEN), zero[256] = { 0 };

	/* Whatever the guest left there (a previous boot) is replaced. */
	memset(area, 0xa5, AREA_LEN);
	bios_rom_area_reset(area, img, size);
	/* 0xE0000-0xFFFFF = image[128K, 256K): the reset vector's F000:E05B
	 * jump and SeaBIOS's pre-shadow code are where they would be in ROM. */
	CHECK_MEM(area + (0xE0000 - LAYOUT_ROM_AREA_BASE), img + size - (128 << 10), 128 << 10);
	CHECK_MEM(area + (0xFFFF0 - LAYOUT_ROM_AREA_BASE), img + size - 16, 16);
	/* 0xC0000-0xDFFFF: the empty option ROM area (zeros), not the image's
	 * first half, which SeaBIOS copies from 4 GiB - 256 KiB itself. */
	for (size_t off = 0; off < (128 << 10); off += sizeof(zero))
		CHECK_MEM(area + off, zero, sizeof(zero));
	free(img);
	free(area);
}

TEST(bios_rom_area_small_image)
{
	const size_t size = 64 << 10;
	uint8_t *img = pattern(size), *area = malloc(AREA_LEN), zero[256] = { 0 };

	memset(area, 0xff, AREA_LEN);
	bios_rom_area_reset(area, img, size);
	CHECK_MEM(area + (0xF0000 - LAYOUT_ROM_AREA_BASE), img, size);
	for (size_t off = 0; off < 0xF0000 - LAYOUT_ROM_AREA_BASE; off += sizeof(zero))
		CHECK_MEM(area + off, zero, sizeof(zero));
	free(img);
	free(area);
}

/* --- the PAM registers ------------------------------------------------------ */

struct env {
	struct io_bus pio, mmio;
	struct pci_bus bus;
	struct chipset c;
};

static void no_irq(void *ctx, unsigned gsi, int level)
{
}

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	io_bus_init(&e->pio, "pio");
	io_bus_init(&e->mmio, "mmio");
	CHECK_EQ(pci_bus_init(&e->bus, &e->pio, &e->mmio, LAYOUT_ECAM_BASE,
			      (struct irq_line){ no_irq, NULL, 0 }), 0);
	CHECK_EQ(chipset_init(&e->c, &e->bus, NULL, NULL), 0);
	return e;
}

static void env_free(struct env *e)
{
	io_bus_destroy(&e->pio);
	io_bus_destroy(&e->mmio);
	free(e);
}

static uint32_t conf1_rd(struct env *e, unsigned off, unsigned size)
{
	io_bus_write_val(&e->pio, 0xcf8, 0x80000000u | (off & 0xfc), 4);
	return (uint32_t)io_bus_read_val(&e->pio, 0xcfc + (off & 3), size);
}

static void conf1_wr(struct env *e, unsigned off, unsigned size, uint32_t v)
{
	io_bus_write_val(&e->pio, 0xcf8, 0x80000000u | (off & 0xfc), 4);
	io_bus_write_val(&e->pio, 0xcfc + (off & 3), v, size);
}

TEST(pam_registers_as_seabios_shadows)
{
	struct env *e = env_new();

	/* SeaBIOS's qemu_detect() and make_bios_writable() find the bridge by
	 * its IDs and subsystem (1af4:1100), then read PAM0: 0 at power-on,
	 * so the BIOS area is not RAM yet and it copies itself there. */
	CHECK_EQ(conf1_rd(e, PCI_VENDOR_ID, 4), 0x29c08086);
	CHECK_EQ(conf1_rd(e, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 1), 0);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 4), 0);
	CHECK_EQ(conf1_rd(e, MCH_PAM0 + 4, 4), 0);
	/* __make_bios_writable_intel: two dword writes, all read/write. */
	conf1_wr(e, MCH_PAM0, 4, 0x33333330);
	conf1_wr(e, MCH_PAM0 + 4, 4, 0x00333333);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 4), 0x33333330);
	CHECK_EQ(conf1_rd(e, MCH_PAM0 + 4, 4), 0x00333333);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 1) & 0x10, 0x10);	/* "RAM present" */
	/* make_bios_readonly_intel: read-only F segment, some ROM segments. */
	conf1_wr(e, MCH_PAM0, 4, 0x11111110);
	conf1_wr(e, MCH_PAM0 + 4, 4, 0x00313311);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 4), 0x11111110);
	CHECK_EQ(conf1_rd(e, MCH_PAM0 + 4, 4), 0x00313311);
	/* Reserved bits (PAM0 3:0, bits 3:2 and 7:6 of the others, 0x97) stay 0. */
	conf1_wr(e, MCH_PAM0, 4, 0xffffffff);
	conf1_wr(e, MCH_PAM0 + 4, 4, 0xffffffff);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 4), 0x33333330);
	CHECK_EQ(conf1_rd(e, MCH_PAM0 + 4, 4), 0x00333333);
	/* Byte access (QEMU's own PAM writes, other firmware). */
	conf1_wr(e, MCH_PAM0 + 6, 1, 0x11);
	CHECK_EQ(conf1_rd(e, MCH_PAM0 + 6, 1), 0x11);
	/* The registers OVMF programs are unaffected. */
	CHECK_EQ(conf1_rd(e, MCH_PCIEXBAR, 4), 0);
	/* A VM reset: PAM back to 0, so the next POST copies the BIOS again. */
	pci_bus_reset(&e->bus);
	CHECK_EQ(conf1_rd(e, MCH_PAM0, 4), 0);
	CHECK_EQ(conf1_rd(e, MCH_PAM0 + 4, 4), 0);
	env_free(e);
}
