/* MBR boot code classification (boot/disc/bootcode.h) against the real
 * loaders Debian ships (grub-pc-bin, syslinux-common) and sectors made
 * from the strings of the Windows and GRUB legacy MBRs. */
#include "test.h"

#include <fcntl.h>
#include <unistd.h>

#include "disc/bootcode.h"
#include "util.h"

static int load(const char *path, uint8_t sec[512])
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	memset(sec, 0, 512);
	if (fd < 0) {
		test_fail(__FILE__, __LINE__, "%s: %s (install grub-pc-bin and syslinux-common)", path,
			  strerror(errno));
		return -1;
	}
	n = read(fd, sec, 512);
	close(fd);
	return n > 0 ? 0 : -1;
}

TEST(grub2_boot_img)
{
	uint8_t sec[512];
	struct bootcode_info bi;

	if (load("/usr/lib/grub/i386-pc/boot.img", sec) < 0)
		return;
	put_le64(sec + 0x5c, 2048);	/* as grub-bios-setup writes it */
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "grub2");
	CHECK_EQ(bi.grub_core_lba, 2048);
	CHECK(!bootcode_is_grub_core(sec));
}

TEST(grub2_core_img)
{
	uint8_t sec[512];

	if (load("/usr/lib/grub/i386-pc/diskboot.img", sec) < 0)
		return;
	CHECK(bootcode_is_grub_core(sec));
}

TEST(syslinux)
{
	uint8_t sec[512];
	struct bootcode_info bi;

	if (load("/usr/lib/syslinux/mbr/mbr.bin", sec) < 0)
		return;
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "syslinux");
	if (load("/usr/lib/syslinux/mbr/gptmbr.bin", sec) < 0)
		return;
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "syslinux-gpt");
}

static void put(uint8_t *sec, size_t off, const char *s, size_t n)
{
	memcpy(sec + off, s, n);
}

TEST(windows_and_legacy)
{
	static const char msgs[] = "Invalid partition table\0Error loading operating system\0Missing operating system";
	static const char grub[] = "GRUB \0Geom\0Hard Disk\0Read\0 Error";
	uint8_t sec[512] = { 0x33, 0xc0, 0x8e, 0xd0 };
	struct bootcode_info bi;

	put(sec, 0x163, msgs, sizeof(msgs));
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "windows-nt5");
	put(sec, 0x140, "TCPA", 4);
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "windows-nt6");

	memset(sec, 0, sizeof(sec));
	sec[0] = 0xeb;
	sec[1] = 0x48;
	sec[2] = 0x90;
	sec[0x3e] = 3;
	sec[0x3f] = 2;
	put(sec, 0x17e, grub, sizeof(grub) - 1);
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "grub-legacy");
}

TEST(none_unknown_and_signature_ignored)
{
	uint8_t sec[512] = { 0 };
	struct bootcode_info bi;

	/* a disk signature and a partition table are not boot code */
	put_le32(sec + 440, 0x1234abcd);
	sec[446] = 0x80;
	sec[510] = 0x55;
	sec[511] = 0xaa;
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "none");
	CHECK(!bootcode_vbr_bootable(sec));
	sec[0] = 0xfa;
	bootcode_classify(sec, &bi);
	CHECK_STR(bootcode_name(bi.kind), "unknown");
	sec[0] = 0xeb;
	sec[1] = 0x52;
	sec[2] = 0x90;
	CHECK(bootcode_vbr_bootable(sec));
	sec[511] = 0;
	CHECK(!bootcode_vbr_bootable(sec));
	CHECK_STR(bootcode_name((enum bootcode)99), "unknown");
}
