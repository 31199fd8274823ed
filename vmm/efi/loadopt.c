/*
 * EFI_LOAD_OPTION: UEFI 2.10 section 3.1.3. Device path nodes: section
 * 10.3 (hardware 10.3.2, ACPI 10.3.3, messaging 10.3.4, media 10.3.5, End
 * 10.3.1). Text forms: section 10.6.1 as edk2
 * MdePkg/Library/UefiDevicePathLib/DevicePathToText.c prints them with
 * DisplayOnly and AllowShortcuts off, with two differences: GUIDs are in
 * lower case, as efibootmgr and guid_format() print them (edk2's %g gives
 * upper case), and no '/' follows the ',' between path instances (edk2
 * means not to add one, but tests the string's terminator instead of its
 * last character).
 *
 * Not implemented: the text forms of rarer nodes (ATAPI, Fibre Channel,
 * SAS, iSCSI, UART, Bluetooth, Wi-Fi, RAM disks, BBS, ...), which come out
 * in the generic form; edk2's shortcut names for console vendor nodes
 * (VenPcAnsi() and friends).
 */
#include "efi/loadopt.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf16.h"
#include "util.h"

#define LO_ATTRS		0
#define LO_FILE_PATH_LEN	4
#define LO_DESC			6

#define DP_HW			0x01
#define DP_ACPI			0x02
#define DP_MSG			0x03
#define DP_MEDIA		0x04
#define DP_BBS			0x05
#define DP_END			0x7f

#define DP_HW_PCI		1
#define DP_HW_VENDOR		4
#define DP_HW_CONTROLLER	5
#define DP_ACPI_HID		1
#define DP_MSG_SCSI		2
#define DP_MSG_USB		5
#define DP_MSG_VENDOR		10
#define DP_MSG_MAC		11
#define DP_MSG_IPV4		12
#define DP_MSG_IPV6		13
#define DP_MSG_SATA		18
#define DP_MSG_NVME		23
#define DP_MSG_URI		24
#define DP_MEDIA_HD		1
#define DP_MEDIA_VENDOR		3
#define DP_MEDIA_FILE		4
#define DP_MEDIA_FV_FILE	6
#define DP_MEDIA_FV		7
#define DP_END_INSTANCE		0x01
#define DP_END_ENTIRE		0xff

#define DP_HDR			4	/* Type, SubType, Length */

/* Hard drive node, section 10.3.5.1 */
#define HD_LEN			42
#define HD_PARTNUM		4
#define HD_START		8
#define HD_SIZE			16
#define HD_SIGNATURE		24
#define HD_MBR_TYPE		40
#define HD_SIG_TYPE		41
#define HD_MBR_TYPE_GPT		0x02
#define HD_SIG_TYPE_MBR		0x01
#define HD_SIG_TYPE_GUID	0x02

/* --- text ----------------------------------------------------------------------- */

/* A NUL-terminated string being appended to; output past @cap is dropped. */
struct text {
	char *s;
	size_t cap, len;
};

static void __attribute__((format(printf, 2, 3))) text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = MIN(t->len + (size_t)n, t->cap - 1);
}

static void text_hex(struct text *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		text_add(t, "%02x", p[i]);
}

static void text_guid(struct text *t, const uint8_t *p)
{
	struct guid g;
	char s[GUID_TEXT_LEN];

	memcpy(g.b, p, sizeof(g.b));
	guid_format(&g, s);
	text_add(t, "%s", s);
}

static void text_utf16(struct text *t, const uint8_t *p, size_t units)
{
	t->len += utf16le_to_utf8(t->s + t->len, t->cap - t->len, p, units);
}

static void text_ipv4(struct text *t, const uint8_t *a)
{
	text_add(t, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void text_ipv6(struct text *t, const uint8_t *a)
{
	for (int i = 0; i < 16; i += 2)
		text_add(t, "%s%02x%02x", i ? ":" : "", a[i], a[i + 1]);
}

static void text_protocol(struct text *t, uint16_t proto)
{
	if (proto == 6)
		text_add(t, "TCP");
	else if (proto == 17)
		text_add(t, "UDP");
	else
		text_add(t, "0x%x", proto);
}

/* --- node formatters: @n is a node of @len bytes, at least the minimum of
 * its node_fmts[] entry. -------------------------------------------------------- */

static void fmt_pci(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Pci(0x%x,0x%x)", n[5], n[4]);	/* Device, Function */
}

static void fmt_controller(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Ctrl(0x%x)", get_le32(n + 4));
}

/* VenHw, VenMsg, VenMedia: GUID, then the vendor data in hex. */
static void fmt_vendor(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Ven%s(", n[0] == DP_HW ? "Hw" : n[0] == DP_MSG ? "Msg" : "Media");
	text_guid(t, n + 4);
	if (len > 20) {
		text_add(t, ",");
		text_hex(t, n + 20, len - 20);
	}
	text_add(t, ")");
}

/* ACPI _HID/_UID; compressed EISA IDs with the "PNP" vendor get names. */
static void fmt_acpi(struct text *t, const uint8_t *n, size_t len)
{
	static const struct {
		uint16_t id;
		const char *name;
	} names[] = {
		{ 0x0a03, "PciRoot" }, { 0x0a08, "PcieRoot" }, { 0x0604, "Floppy" },
		{ 0x0301, "Keyboard" }, { 0x0501, "Serial" }, { 0x0401, "ParallelPort" },
	};
	uint32_t hid = get_le32(n + 4), uid = get_le32(n + 8);

	if ((hid & 0xffff) != 0x41d0) {		/* EISA "PNP" */
		text_add(t, "Acpi(0x%08x,0x%x)", hid, uid);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (names[i].id == hid >> 16) {
			text_add(t, "%s(0x%x)", names[i].name, uid);
			return;
		}
	}
	text_add(t, "Acpi(PNP%04x,0x%x)", hid >> 16, uid);
}

static void fmt_scsi(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Scsi(0x%x,0x%x)", get_le16(n + 4), get_le16(n + 6));
}

static void fmt_usb(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "USB(0x%x,0x%x)", n[4], n[5]);
}

/* 32 address bytes, of which Ethernet (IfType 0 or 1) uses 6. */
static void fmt_mac(struct text *t, const uint8_t *n, size_t len)
{
	uint8_t iftype = n[36];

	text_add(t, "MAC(");
	text_hex(t, n + 4, iftype <= 1 ? 6 : 32);
	text_add(t, ",0x%x)", iftype);
}

/* Local, remote, ports, protocol, static flag; since UEFI 2.0 also the
 * gateway and subnet mask (27 bytes instead of 19). */
static void fmt_ipv4(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "IPv4(");
	text_ipv4(t, n + 8);
	text_add(t, ",");
	text_protocol(t, get_le16(n + 16));
	text_add(t, ",%s,", n[18] ? "Static" : "DHCP");
	text_ipv4(t, n + 4);
	if (len == 27) {
		text_add(t, ",");
		text_ipv4(t, n + 19);
		text_add(t, ",");
		text_ipv4(t, n + 23);
	}
	text_add(t, ")");
}

/* Local, remote, ports, protocol, origin; since UEFI 2.3.1 also the prefix
 * length and gateway (60 bytes instead of 43). */
static void fmt_ipv6(struct text *t, const uint8_t *n, size_t len)
{
	static const char *const origin[] = { "Static", "StatelessAutoConfigure",
					      "StatefulAutoConfigure" };

	text_add(t, "IPv6(");
	text_ipv6(t, n + 20);
	text_add(t, ",");
	text_protocol(t, get_le16(n + 40));
	text_add(t, ",%s,", origin[MIN(n[42], 2)]);
	text_ipv6(t, n + 4);
	if (len == 60) {
		text_add(t, ",0x%x,", n[43]);
		text_ipv6(t, n + 44);
	}
	text_add(t, ")");
}

static void fmt_sata(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Sata(0x%x,0x%x,0x%x)", get_le16(n + 4), get_le16(n + 6), get_le16(n + 8));
}

/* Namespace ID, then the EUI-64 from its last byte to its first. */
static void fmt_nvme(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "NVMe(0x%x", get_le32(n + 4));
	for (int i = 7; i >= 0; i--)
		text_add(t, "%c%02x", i == 7 ? ',' : '-', n[8 + i]);
	text_add(t, ")");
}

/* The URI is not NUL-terminated; non-printable bytes show as '?'. */
static void fmt_uri(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Uri(");
	for (size_t i = DP_HDR; i < len; i++)
		text_add(t, "%c", n[i] >= 0x20 && n[i] < 0x7f ? n[i] : '?');
	text_add(t, ")");
}

static void fmt_hd(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "HD(%u,", get_le32(n + HD_PARTNUM));
	if (n[HD_SIG_TYPE] == HD_SIG_TYPE_GUID) {
		text_add(t, "GPT,");
		text_guid(t, n + HD_SIGNATURE);
	} else if (n[HD_SIG_TYPE] == HD_SIG_TYPE_MBR) {
		text_add(t, "MBR,0x%08x", get_le32(n + HD_SIGNATURE));
	} else {
		text_add(t, "%u,0", n[HD_SIG_TYPE]);
	}
	text_add(t, ",0x%llx,0x%llx)", (unsigned long long)get_le64(n + HD_START),
		 (unsigned long long)get_le64(n + HD_SIZE));
}

static void fmt_file(struct text *t, const uint8_t *n, size_t len)
{
	text_utf16(t, n + DP_HDR, (len - DP_HDR) / 2);
}

static void fmt_fv_file(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "FvFile(");
	text_guid(t, n + 4);
	text_add(t, ")");
}

static void fmt_fv(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, "Fv(");
	text_guid(t, n + 4);
	text_add(t, ")");
}

static void fmt_end_instance(struct text *t, const uint8_t *n, size_t len)
{
	text_add(t, ",");
}

/* Section 10.6.1.1: Path(type,subtype,data), or HardwarePath(subtype,data)
 * and the like for the known types; numbers in decimal as edk2 prints them. */
static void fmt_generic(struct text *t, const uint8_t *n, size_t len)
{
	static const char *const type_names[] = {
		[DP_HW] = "HardwarePath", [DP_ACPI] = "AcpiPath", [DP_MSG] = "Msg",
		[DP_MEDIA] = "MediaPath", [DP_BBS] = "BbsPath",
	};

	if (n[0] < ARRAY_SIZE(type_names) && type_names[n[0]])
		text_add(t, "%s(%u", type_names[n[0]], n[1]);
	else
		text_add(t, "Path(%u,%u", n[0], n[1]);
	if (len > DP_HDR) {
		text_add(t, ",");
		text_hex(t, n + DP_HDR, len - DP_HDR);
	}
	text_add(t, ")");
}

static const struct node_fmt {
	uint8_t type, subtype;
	uint8_t min_len;	/* shorter nodes take the generic form */
	void (*fmt)(struct text *t, const uint8_t *n, size_t len);
} node_fmts[] = {
	{ DP_HW, DP_HW_PCI, 6, fmt_pci },
	{ DP_HW, DP_HW_VENDOR, 20, fmt_vendor },
	{ DP_HW, DP_HW_CONTROLLER, 8, fmt_controller },
	{ DP_ACPI, DP_ACPI_HID, 12, fmt_acpi },
	{ DP_MSG, DP_MSG_SCSI, 8, fmt_scsi },
	{ DP_MSG, DP_MSG_USB, 6, fmt_usb },
	{ DP_MSG, DP_MSG_VENDOR, 20, fmt_vendor },
	{ DP_MSG, DP_MSG_MAC, 37, fmt_mac },
	{ DP_MSG, DP_MSG_IPV4, 19, fmt_ipv4 },
	{ DP_MSG, DP_MSG_IPV6, 43, fmt_ipv6 },
	{ DP_MSG, DP_MSG_SATA, 10, fmt_sata },
	{ DP_MSG, DP_MSG_NVME, 16, fmt_nvme },
	{ DP_MSG, DP_MSG_URI, DP_HDR, fmt_uri },
	{ DP_MEDIA, DP_MEDIA_HD, HD_LEN, fmt_hd },
	{ DP_MEDIA, DP_MEDIA_VENDOR, 20, fmt_vendor },
	{ DP_MEDIA, DP_MEDIA_FILE, DP_HDR, fmt_file },
	{ DP_MEDIA, DP_MEDIA_FV_FILE, 20, fmt_fv_file },
	{ DP_MEDIA, DP_MEDIA_FV, 20, fmt_fv },
	{ DP_END, DP_END_INSTANCE, DP_HDR, fmt_end_instance },
};

static void node_to_text(struct text *t, const uint8_t *n, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(node_fmts); i++) {
		const struct node_fmt *f = &node_fmts[i];

		if (f->type == n[0] && f->subtype == n[1] && len >= f->min_len) {
			f->fmt(t, n, len);
			return;
		}
	}
	fmt_generic(t, n, len);
}

/* --- parsing -------------------------------------------------------------------- */

/* Adds a File() node's path to @out->file: consecutive nodes name
 * directories opened one inside the other, so they are joined by one '\'. */
static void add_file(struct loadopt *out, const uint8_t *n, size_t len)
{
	struct text t = { out->file, sizeof(out->file), strlen(out->file) };
	const uint8_t *p = n + DP_HDR;
	size_t units = (len - DP_HDR) / 2;
	bool lead = units && get_le16(p) == '\\';
	bool trail = t.len && out->file[t.len - 1] == '\\';

	if (lead && trail) {
		p += 2;
		units--;
	} else if (t.len && !lead && !trail) {
		text_add(&t, "\\");
	}
	text_utf16(&t, p, units);
}

static void add_hd(struct loadopt *out, const uint8_t *n)
{
	out->has_hd = true;
	out->hd.partnum = get_le32(n + HD_PARTNUM);
	out->hd.start = get_le64(n + HD_START);
	out->hd.size = get_le64(n + HD_SIZE);
	memcpy(out->hd.part_guid.b, n + HD_SIGNATURE, sizeof(out->hd.part_guid.b));
}

/* Walks FilePathList[0] (@len bytes hold the whole list). */
static int parse_path(const uint8_t *dp, size_t len, struct loadopt *out)
{
	struct text t = { out->path, sizeof(out->path), 0 };
	bool sep = false;	/* a '/' goes before the next node */

	for (size_t off = 0;;) {
		const uint8_t *n = dp + off;
		bool end_instance;
		size_t nlen;

		if (len - off < DP_HDR)
			return -EINVAL;		/* no End node */
		nlen = get_le16(n + 2);
		if (nlen < DP_HDR || nlen > len - off)
			return -EINVAL;
		if (n[0] == DP_END && n[1] == DP_END_ENTIRE)
			return 0;
		end_instance = n[0] == DP_END && n[1] == DP_END_INSTANCE;
		if (sep && !end_instance)
			text_add(&t, "/");
		node_to_text(&t, n, nlen);
		sep = !end_instance;
		if (n[0] == DP_MEDIA && n[1] == DP_MEDIA_HD && nlen >= HD_LEN &&
		    n[HD_SIG_TYPE] == HD_SIG_TYPE_GUID && !out->has_hd)
			add_hd(out, n);
		else if (n[0] == DP_MEDIA && n[1] == DP_MEDIA_FILE)
			add_file(out, n, nlen);
		off += nlen;
	}
}

int loadopt_parse(const uint8_t *buf, size_t len, struct loadopt *out)
{
	size_t off, fpl;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < LO_DESC)
		return -EINVAL;
	out->attrs = get_le32(buf + LO_ATTRS);
	fpl = get_le16(buf + LO_FILE_PATH_LEN);
	for (off = LO_DESC;; off += 2) {
		if (len - off < 2)
			return -EINVAL;		/* no NUL inside the buffer */
		if (!get_le16(buf + off))
			break;
	}
	utf16le_to_utf8(out->desc, sizeof(out->desc), buf + LO_DESC, (off - LO_DESC) / 2);
	off += 2;
	if (fpl > len - off)
		return -EINVAL;
	r = parse_path(buf + off, fpl, out);
	if (r < 0)
		return r;
	out->optional = buf + off + fpl;
	out->optional_len = len - off - fpl;
	return 0;
}

/* --- building ------------------------------------------------------------------- */

static void put_node_hdr(uint8_t *n, uint8_t type, uint8_t subtype, size_t len)
{
	n[0] = type;
	n[1] = subtype;
	put_le16(n + 2, (uint16_t)len);
}

/* Encodes @s and a NUL at @buf + *@off, advancing *@off. */
static int put_utf16z(uint8_t *buf, size_t len, size_t *off, const char *s)
{
	size_t room = (len - *off) / 2;
	int n = room ? utf8_to_utf16le(buf + *off, room - 1, s) : -ENAMETOOLONG;

	if (n < 0)
		return n == -ENAMETOOLONG ? -ENOSPC : n;
	put_le16(buf + *off + 2 * (size_t)n, 0);
	*off += 2 * ((size_t)n + 1);
	return 0;
}

int loadopt_build(uint8_t *buf, size_t len, uint32_t attrs, const char *desc,
		  const struct loadopt_hd *hd, const char *file_path, const uint8_t *optional,
		  size_t optional_len)
{
	size_t off = LO_DESC, fp, file;
	int r;

	if (!hd->partnum || (file_path[0] != '\\' && file_path[0] != '/'))
		return -EINVAL;
	if (len < LO_DESC)
		return -ENOSPC;
	put_le32(buf + LO_ATTRS, attrs);
	r = put_utf16z(buf, len, &off, desc);
	if (r < 0)
		return r;

	fp = off;
	if (len - off < HD_LEN + DP_HDR)
		return -ENOSPC;
	memset(buf + off, 0, HD_LEN);
	put_node_hdr(buf + off, DP_MEDIA, DP_MEDIA_HD, HD_LEN);
	put_le32(buf + off + HD_PARTNUM, hd->partnum);
	put_le64(buf + off + HD_START, hd->start);
	put_le64(buf + off + HD_SIZE, hd->size);
	memcpy(buf + off + HD_SIGNATURE, hd->part_guid.b, sizeof(hd->part_guid.b));
	buf[off + HD_MBR_TYPE] = HD_MBR_TYPE_GPT;
	buf[off + HD_SIG_TYPE] = HD_SIG_TYPE_GUID;
	off += HD_LEN;

	file = off;
	off += DP_HDR;
	r = put_utf16z(buf, len, &off, file_path);
	if (r < 0)
		return r;
	if (off - file > UINT16_MAX)
		return -EINVAL;
	put_node_hdr(buf + file, DP_MEDIA, DP_MEDIA_FILE, off - file);
	for (size_t i = file + DP_HDR; i < off; i += 2)
		if (get_le16(buf + i) == '/')
			put_le16(buf + i, '\\');

	if (len - off < DP_HDR)
		return -ENOSPC;
	put_node_hdr(buf + off, DP_END, DP_END_ENTIRE, DP_HDR);
	off += DP_HDR;
	if (off - fp > UINT16_MAX)
		return -EINVAL;
	put_le16(buf + LO_FILE_PATH_LEN, (uint16_t)(off - fp));

	if (len - off < optional_len)
		return -ENOSPC;
	if (off + optional_len > INT_MAX)
		return -EINVAL;
	if (optional_len)
		memcpy(buf + off, optional, optional_len);
	return (int)(off + optional_len);
}
