/* EFI_LOAD_OPTION and device paths: golden bytes written from the spec,
 * text forms as edk2 prints them, malformed options, UTF-16 conversion. */
#include "test.h"

#include <stdlib.h>

#include "efi/loadopt.h"
#include "utf16.h"
#include "util.h"

/* UTF-16LE of an ASCII character, for writing golden bytes by hand. */
#define U(c) (c), 0

/* Boot0001 as efibootmgr or an installer writes it (UEFI 2.10 3.1.3,
 * 10.3.5.1, 10.3.5.4, 10.3.1). */
static const uint8_t golden[] = {
	0x01, 0x00, 0x00, 0x00,				/* Attributes: ACTIVE */
	0x62, 0x00,					/* FilePathListLength: 42 + 52 + 4 */
	U('d'), U('e'), U('b'), U('i'), U('a'), U('n'), 0, 0,	/* Description */
	/* HD: media (4), hard drive (1), 42 bytes */
	0x04, 0x01, 0x2a, 0x00,
	0x01, 0x00, 0x00, 0x00,				/* PartitionNumber */
	0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* PartitionStart */
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,	/* PartitionSize */
	0xf2, 0xa8, 0xc9, 0xd1, 0x5e, 0x0b, 0x7a, 0x4c,	/* PartitionSignature: */
	0x9f, 0x3e, 0x2a, 0x6b, 0x8c, 0x4d, 0x1e, 0x70,	/* d1c9a8f2-0b5e-4c7a-9f3e-2a6b8c4d1e70 */
	0x02,						/* MBRType: GPT */
	0x02,						/* SignatureType: GUID */
	/* File path: media (4), file (4), 4 + 2 * 24 bytes */
	0x04, 0x04, 0x34, 0x00,
	U('\\'), U('E'), U('F'), U('I'), U('\\'), U('d'), U('e'), U('b'), U('i'), U('a'),
	U('n'), U('\\'), U('g'), U('r'), U('u'), U('b'), U('x'), U('6'), U('4'), U('.'),
	U('e'), U('f'), U('i'), 0, 0,
	/* End of the entire device path */
	0x7f, 0xff, 0x04, 0x00,
};

static const char golden_text[] =
	"HD(1,GPT,d1c9a8f2-0b5e-4c7a-9f3e-2a6b8c4d1e70,0x800,0x100000)/\\EFI\\debian\\grubx64.efi";

static struct loadopt_hd golden_hd(void)
{
	struct loadopt_hd hd = { .partnum = 1, .start = 0x800, .size = 0x100000 };

	CHECK_EQ(guid_parse("D1C9A8F2-0B5E-4C7A-9F3E-2A6B8C4D1E70", &hd.part_guid), 0);
	return hd;
}

TEST(loadopt_build_golden)
{
	struct loadopt_hd hd = golden_hd();
	uint8_t buf[512];

	CHECK_EQ(sizeof(golden), 118);
	/* Forward slashes become backslashes. */
	CHECK_EQ(loadopt_build(buf, sizeof(buf), LOAD_OPTION_ACTIVE, "debian", &hd,
			       "/EFI/debian/grubx64.efi", NULL, 0), sizeof(golden));
	CHECK_MEM(buf, golden, sizeof(golden));
	CHECK_EQ(loadopt_build(buf, sizeof(golden), LOAD_OPTION_ACTIVE, "debian", &hd,
			       "\\EFI\\debian\\grubx64.efi", NULL, 0), sizeof(golden));
	CHECK_MEM(buf, golden, sizeof(golden));
	/* Every shorter buffer is too small, and nothing is written past it. */
	for (size_t len = 0; len < sizeof(golden); len++) {
		uint8_t *b = malloc(len ? len : 1);
		CHECK_EQ(loadopt_build(b, len, LOAD_OPTION_ACTIVE, "debian", &hd,
				       "\\EFI\\debian\\grubx64.efi", NULL, 0), -ENOSPC);
		free(b);
	}
}

TEST(loadopt_parse_golden)
{
	struct loadopt lo;
	char g[GUID_TEXT_LEN];

	CHECK_EQ(loadopt_parse(golden, sizeof(golden), &lo), 0);
	CHECK_EQ(lo.attrs, LOAD_OPTION_ACTIVE);
	CHECK_STR(lo.desc, "debian");
	CHECK(lo.has_hd);
	CHECK_EQ(lo.hd.partnum, 1);
	CHECK_EQ(lo.hd.start, 0x800);
	CHECK_EQ(lo.hd.size, 0x100000);
	guid_format(&lo.hd.part_guid, g);
	CHECK_STR(g, "d1c9a8f2-0b5e-4c7a-9f3e-2a6b8c4d1e70");
	CHECK_STR(lo.file, "\\EFI\\debian\\grubx64.efi");
	CHECK_STR(lo.path, golden_text);
	CHECK_EQ(lo.optional_len, 0);
	CHECK(lo.optional == golden + sizeof(golden));
}

TEST(loadopt_round_trip)
{
	static const uint8_t windows[] = { 'W', 'I', 'N', 'D', 'O', 'W', 'S', 0, 1, 0 };
	struct loadopt_hd hd = { .partnum = 7, .start = 1ull << 40, .size = 12345 };
	/* Non-ASCII, with a character beyond U+FFFF (a surrogate pair). */
	const char *desc = "Syst\xc3\xa8me \xf0\x9f\x90\xa7";
	struct loadopt lo;
	uint8_t buf[1024];
	int len;

	CHECK_EQ(guid_parse("00112233-4455-6677-8899-aabbccddeeff", &hd.part_guid), 0);
	len = loadopt_build(buf, sizeof(buf), LOAD_OPTION_ACTIVE | LOAD_OPTION_HIDDEN, desc, &hd,
			    "\\EFI\\Microsoft\\Boot\\bootmgfw.efi", windows, sizeof(windows));
	CHECK(len > 0);
	CHECK_EQ(loadopt_parse(buf, (size_t)len, &lo), 0);
	CHECK_EQ(lo.attrs, LOAD_OPTION_ACTIVE | LOAD_OPTION_HIDDEN);
	CHECK_STR(lo.desc, desc);
	CHECK(lo.has_hd);
	CHECK_EQ(lo.hd.partnum, 7);
	CHECK_EQ(lo.hd.start, 1ull << 40);
	CHECK_EQ(lo.hd.size, 12345);
	CHECK(guid_eq(&lo.hd.part_guid, &hd.part_guid));
	CHECK_STR(lo.file, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
	CHECK_STR(lo.path, "HD(7,GPT,00112233-4455-6677-8899-aabbccddeeff,0x10000000000,0x3039)/"
			   "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
	CHECK_EQ(lo.optional_len, sizeof(windows));
	CHECK(lo.optional && !memcmp(lo.optional, windows, sizeof(windows)));
}

TEST(loadopt_build_rejects)
{
	struct loadopt_hd hd = golden_hd();
	uint8_t buf[512], *big;
	char *path;

	CHECK_EQ(loadopt_build(buf, sizeof(buf), 1, "x", &hd, "EFI\\boot.efi", NULL, 0), -EINVAL);
	CHECK_EQ(loadopt_build(buf, sizeof(buf), 1, "x", &hd, "", NULL, 0), -EINVAL);
	CHECK_EQ(loadopt_build(buf, sizeof(buf), 1, "\xff", &hd, "\\a", NULL, 0), -EINVAL);
	CHECK_EQ(loadopt_build(buf, sizeof(buf), 1, "x", &hd, "\\\xc3", NULL, 0), -EINVAL);
	CHECK_EQ(loadopt_build(buf, sizeof(buf), 1, "x", &hd, "\\a", buf, sizeof(buf)), -ENOSPC);
	hd.partnum = 0;
	CHECK_EQ(loadopt_build(buf, sizeof(buf), 1, "x", &hd, "\\a", NULL, 0), -EINVAL);
	/* A File() node longer than its 16-bit length field can say. */
	hd.partnum = 1;
	path = malloc(40000);
	big = malloc(100000);
	memset(path, 'a', 39999);
	path[0] = '\\';
	path[39999] = 0;
	CHECK_EQ(loadopt_build(big, 100000, 1, "x", &hd, path, NULL, 0), -EINVAL);
	free(path);
	free(big);
}

/* A load option around a hand-written device path. */
static size_t wrap(uint8_t *buf, const uint8_t *path, size_t plen)
{
	static const uint8_t head[] = { 0x01, 0, 0, 0, 0, 0, U('x'), 0, 0 };

	memcpy(buf, head, sizeof(head));
	put_le16(buf + 4, (uint16_t)plen);
	memcpy(buf + sizeof(head), path, plen);
	return sizeof(head) + plen;
}

#define END 0x7f, 0xff, 0x04, 0x00
#define PCIROOT0 0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0
#define ZERO4 0, 0, 0, 0
#define ZERO16 ZERO4, ZERO4, ZERO4, ZERO4

TEST(loadopt_path_text)
{
	static const struct {
		const char *text;
		uint8_t path[200];
		size_t len;
	} cases[] = {
		/* OVMF's UiApp and shell entries: a file in a firmware volume. */
		{ "Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)",
		  { 0x04, 0x07, 0x14, 0x00, 0xc9, 0xbd, 0xb8, 0x7c, 0xeb, 0xf8, 0x34, 0x4f,
		    0xaa, 0xea, 0x3e, 0xe4, 0xaf, 0x65, 0x16, 0xa1,
		    0x04, 0x06, 0x14, 0x00, 0x21, 0xaa, 0x2c, 0x46, 0x14, 0x76, 0x03, 0x45,
		    0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31, END }, 44 },
		/* OVMF's PXE entry. */
		{ "PciRoot(0x0)/Pci(0x3,0x0)/MAC(525400123456,0x1)/"
		  "IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)",
		  { PCIROOT0, 0x01, 0x01, 0x06, 0x00, 0x00, 0x03,
		    0x03, 0x0b, 0x25, 0x00, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0,
		    ZERO4, ZERO4, ZERO4, ZERO4, ZERO4, ZERO4, 0x01,
		    0x03, 0x0c, 0x1b, 0x00, ZERO4, ZERO4, 0, 0, 0, 0, 0, 0, 0, ZERO4, ZERO4, END },
		  12 + 6 + 37 + 27 + 4 },
		/* HTTP boot: IPv4 with a static address, TCP, then the URI. */
		{ "IPv4(10.0.0.1,TCP,Static,10.0.0.2)/Uri(http://10.0.0.1/boot.efi?)",
		  { 0x03, 0x0c, 0x13, 0x00, 10, 0, 0, 2, 10, 0, 0, 1, 0, 0, 0, 0, 6, 0, 1,
		    0x03, 0x18, 0x1d, 0x00, 'h', 't', 't', 'p', ':', '/', '/', '1', '0', '.', '0', '.',
		    '0', '.', '1', '/', 'b', 'o', 'o', 't', '.', 'e', 'f', 'i', '\n', END },
		  19 + 29 + 4 },
		{ "IPv6(0000:0000:0000:0000:0000:0000:0000:0001,UDP,StatelessAutoConfigure,"
		  "fe80:0000:0000:0000:0000:0000:0000:0002,0x40,0000:0000:0000:0000:0000:0000:0000:0000)",
		  { 0x03, 0x0d, 0x3c, 0x00, 0xfe, 0x80, 0, 0, ZERO4, ZERO4, 0, 0, 0, 2,
		    ZERO4, ZERO4, ZERO4, 0, 0, 0, 1, 0, 0, 0, 0, 17, 0, 1, 0x40, ZERO16, END },
		  60 + 4 },
		/* polyvmm's NVMe disk, then an SATA, a SCSI and a USB one. */
		{ "PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-11-22-33-44-55-66-77)",
		  { PCIROOT0, 0x01, 0x01, 0x06, 0x00, 0x00, 0x04,
		    0x03, 0x17, 0x10, 0x00, 0x01, 0, 0, 0, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		    0x00, END }, 12 + 6 + 16 + 4 },
		{ "PcieRoot(0x1)/Pci(0x1f,0x2)/Sata(0x0,0xffff,0x0)",
		  { 0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x08, 0x0a, 1, 0, 0, 0,
		    0x01, 0x01, 0x06, 0x00, 0x02, 0x1f, 0x03, 0x12, 0x0a, 0x00, 0, 0, 0xff, 0xff, 0, 0,
		    END }, 12 + 6 + 10 + 4 },
		{ "Acpi(PNP0a0b,0x0)/Scsi(0x1,0x2)/USB(0x3,0x0)/Ctrl(0x2)/Acpi(0x12345678,0x9)",
		  { 0x02, 0x01, 0x0c, 0x00, 0xd0, 0x41, 0x0b, 0x0a, ZERO4,
		    0x03, 0x02, 0x08, 0x00, 1, 0, 2, 0, 0x03, 0x05, 0x06, 0x00, 3, 0,
		    0x01, 0x05, 0x08, 0x00, 2, 0, 0, 0,
		    0x02, 0x01, 0x0c, 0x00, 0x78, 0x56, 0x34, 0x12, 9, 0, 0, 0, END },
		  12 + 8 + 6 + 8 + 12 + 4 },
		/* Vendor nodes with and without data; MBR partitions. */
		{ "VenHw(d1c9a8f2-0b5e-4c7a-9f3e-2a6b8c4d1e70,0102ff)/"
		  "VenMedia(d1c9a8f2-0b5e-4c7a-9f3e-2a6b8c4d1e70)/HD(2,MBR,0x12345678,0x800,0x1000)",
		  { 0x01, 0x04, 0x17, 0x00, 0xf2, 0xa8, 0xc9, 0xd1, 0x5e, 0x0b, 0x7a, 0x4c,
		    0x9f, 0x3e, 0x2a, 0x6b, 0x8c, 0x4d, 0x1e, 0x70, 0x01, 0x02, 0xff,
		    0x04, 0x03, 0x14, 0x00, 0xf2, 0xa8, 0xc9, 0xd1, 0x5e, 0x0b, 0x7a, 0x4c,
		    0x9f, 0x3e, 0x2a, 0x6b, 0x8c, 0x4d, 0x1e, 0x70,
		    0x04, 0x01, 0x2a, 0x00, 2, 0, 0, 0, 0, 8, 0, 0, ZERO4, 0, 0x10, 0, 0, ZERO4,
		    0x78, 0x56, 0x34, 0x12, ZERO4, ZERO4, ZERO4, 0x01, 0x01, END },
		  23 + 20 + 42 + 4 },
		/* Generic forms: an unknown messaging node (UART), an unknown type, a
		 * PCI node too short for its fields; two instances. */
		{ "Msg(14,0000000000c2010000000000080101)/Path(32,1,ab),Pci(0x2,0x0)/HardwarePath(1,07)",
		  { 0x03, 0x0e, 0x13, 0x00, 0, 0, 0, 0, 0, 0xc2, 0x01, 0, 0, 0, 0, 0, 0x08, 0x01, 0x01,
		    0x20, 0x01, 0x05, 0x00, 0xab, 0x7f, 0x01, 0x04, 0x00,
		    0x01, 0x01, 0x06, 0x00, 0x00, 0x02, 0x01, 0x01, 0x05, 0x00, 0x07, END },
		  19 + 5 + 4 + 6 + 5 + 4 },
		/* A file path split in two nodes. */
		{ "\\EFI\\debian/grubx64.efi",
		  { 0x04, 0x04, 0x1c, 0x00, U('\\'), U('E'), U('F'), U('I'), U('\\'), U('d'),
		    U('e'), U('b'), U('i'), U('a'), U('n'), 0, 0,
		    0x04, 0x04, 0x1c, 0x00, U('g'), U('r'), U('u'), U('b'), U('x'), U('6'), U('4'),
		    U('.'), U('e'), U('f'), U('i'), 0, 0, END }, 28 + 28 + 4 },
	};
	uint8_t buf[256];
	struct loadopt lo;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = wrap(buf, cases[i].path, cases[i].len);

		CHECK_EQ(loadopt_parse(buf, len, &lo), 0);
		if (strcmp(lo.path, cases[i].text))
			test_fail(__FILE__, __LINE__, "case %zu:\n    got  %s\n    want %s", i, lo.path,
				  cases[i].text);
		CHECK(!lo.has_hd);
	}
	CHECK_STR(lo.file, "\\EFI\\debian\\grubx64.efi");
}

TEST(loadopt_parse_rejects)
{
	uint8_t buf[256];
	struct loadopt lo;

	/* Every truncation of a valid option. */
	for (size_t len = 0; len < sizeof(golden); len++)
		CHECK_EQ(loadopt_parse(golden, len, &lo), -EINVAL);
	/* Description not NUL-terminated, ending on an odd byte. */
	memcpy(buf, golden, 6);
	memcpy(buf + 6, "a\0b\0c", 5);
	CHECK_EQ(loadopt_parse(buf, 11, &lo), -EINVAL);
	/* FilePathListLength past the end, zero, or short of the End node. */
	memcpy(buf, golden, sizeof(golden));
	put_le16(buf + 4, 0x63);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	put_le16(buf + 4, 0);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	put_le16(buf + 4, 0x61);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	put_le16(buf + 4, 0x5e);	/* ends right after the File node */
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	put_le16(buf + 4, 0x62);
	/* A node of length 0, 3, or running past the list. */
	put_le16(buf + 20 + 2, 0);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	put_le16(buf + 20 + 2, 3);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	put_le16(buf + 20 + 2, 0x63);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	/* The End node missing (replaced by End Instance). */
	memcpy(buf, golden, sizeof(golden));
	buf[sizeof(golden) - 3] = 0x01;
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), -EINVAL);
	/* Further paths in the list are not looked at, as in edk2. */
	memcpy(buf, golden, sizeof(golden));
	put_le16(buf + 4, 0x62 + 3);
	memcpy(buf + sizeof(golden), "\x01\x02\x03", 3);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden) + 3, &lo), 0);
	CHECK_EQ(lo.optional_len, 0);
}

TEST(loadopt_untrusted_text)
{
	uint8_t buf[4096], path[2048];
	struct loadopt lo;
	size_t n = 0, len;

	/* A description with an escape character and an unpaired surrogate. */
	memcpy(buf, golden, sizeof(golden));
	put_le16(buf + 6, 0x1b);
	put_le16(buf + 8, 0xd800);
	CHECK_EQ(loadopt_parse(buf, sizeof(golden), &lo), 0);
	CHECK_STR(lo.desc, "?\xef\xbf\xbd" "bian");
	/* A path whose text is longer than the buffer: cut, still terminated. */
	while (n + 6 + 4 <= sizeof(path)) {
		memcpy(path + n, "\x01\x01\x06\x00\x00\x1f", 6);
		n += 6;
	}
	memcpy(path + n, "\x7f\xff\x04\x00", 4);
	len = wrap(buf, path, n + 4);
	CHECK_EQ(loadopt_parse(buf, len, &lo), 0);
	CHECK_EQ(strlen(lo.path), LOADOPT_TEXT_MAX - 1);
	CHECK(!strncmp(lo.path, "Pci(0x1f,0x0)/Pci(0x1f,0x0)/", 28));
}

TEST(utf16_conversions)
{
	static const char *const bad[] = {
		"\x80", "\xc0\xaf", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xf8\x88\x80\x80\x80",
	};
	uint8_t u[16];
	char s[16];

	CHECK_EQ(utf8_to_utf16le(u, 8, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa7"), 5);
	CHECK_MEM(u, "a\0\xe9\0\xac\x20\x3d\xd8\x27\xdc", 10);
	CHECK_EQ(utf16le_to_utf8(s, sizeof(s), u, 5), 10);
	CHECK_STR(s, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa7");
	/* Cut at a character boundary, never inside one. */
	CHECK_EQ(utf16le_to_utf8(s, 7, u, 5), 6);
	CHECK_STR(s, "a\xc3\xa9\xe2\x82\xac");
	CHECK_EQ(utf16le_to_utf8(s, 9, u, 5), 6);
	CHECK_EQ(utf16le_to_utf8(s, 1, u, 5), 0);
	/* A surrogate pair cut by @units is an unpaired surrogate. */
	CHECK_EQ(utf16le_to_utf8(s, sizeof(s), u, 4), 9);
	CHECK_STR(s, "a\xc3\xa9\xe2\x82\xac\xef\xbf\xbd");
	CHECK_EQ(utf8_to_utf16le(u, 4, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa7"), -ENAMETOOLONG);
	CHECK_EQ(utf8_to_utf16le(u, 0, ""), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(utf8_to_utf16le(u, 8, bad[i]), -EINVAL);
}
