/*
 * OVMF variable store: edk2 MdeModulePkg/Include/Guid/VariableFormat.h
 * (VARIABLE_STORE_HEADER, AUTHENTICATED_VARIABLE_HEADER, states),
 * MdePkg/Include/Pi/PiFirmwareVolume.h (EFI_FIRMWARE_VOLUME_HEADER), and
 * the checks of OvmfPkg/Library/PlatformInitLib/Platform.c
 * PlatformValidateNvVarStore and the FVB driver's ValidateFvHeader.
 *
 * Not implemented: time-based authenticated writes (we only write
 * non-authenticated variables: Boot####, BootOrder, BootNext), the FTW
 * spare/working blocks (never touched here), non-authenticated stores on
 * write (read is supported).
 */
#define LOG_MOD "varstore"
#include "efi/varstore.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define FV_SIGNATURE		"_FVH"
#define VAR_START_ID		0x55aa
#define VAR_FORMATTED		0x5a
#define VAR_HEALTHY		0xfe
#define VAR_IN_DELETED_TRANSITION 0xfe
#define VAR_DELETED		0xfd
#define VAR_HEADER_VALID_ONLY	0x7f
#define VAR_ADDED		0x3f
#define STORE_HDR_SIZE		28
#define AUTH_HDR_SIZE		60
#define PLAIN_HDR_SIZE		32

/* fff12b8d-7696-4c8b-a985-2747075b4f50 */
static const uint8_t nv_data_fv_guid[16] = { 0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
					     0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 };
/* aaf32c78-947b-439a-a180-2e144ec37792 */
static const uint8_t auth_var_guid[16] = { 0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
					   0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };
/* ddcf3616-3275-4164-98b6-fe85707ffe7d */
static const uint8_t plain_var_guid[16] = { 0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
					    0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d };
const struct guid efi_global_guid = { { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
					  0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c } };

static size_t hdr_size(const struct varstore *vs)
{
	return vs->authenticated ? AUTH_HDR_SIZE : PLAIN_HDR_SIZE;
}

/* Decodes the variable header at @off; false if there is none. */
static bool parse_at(const struct varstore *vs, size_t off, struct efivar *v)
{
	const uint8_t *h;
	size_t hs = hdr_size(vs), limit = vs->store + vs->store_size;

	if (off + hs > limit)
		return false;
	h = vs->img + off;
	if (get_le16(h) != VAR_START_ID)
		return false;
	memset(v, 0, sizeof(*v));
	v->off = off;
	v->state = h[2];
	v->attrs = get_le32(h + 4);
	if (vs->authenticated) {
		v->name_size = get_le32(h + 36);
		v->data_size = get_le32(h + 40);
		memcpy(v->guid.b, h + 44, 16);
	} else {
		v->name_size = get_le32(h + 8);
		v->data_size = get_le32(h + 12);
		memcpy(v->guid.b, h + 16, 16);
	}
	/* A header whose sizes run past the store is an interrupted write. */
	if (v->name_size > limit - off - hs || v->data_size > limit - off - hs - v->name_size)
		return false;
	v->name = h + hs;
	v->data = v->name + v->name_size;
	v->next = ALIGN_UP(off + hs + v->name_size + v->data_size, 4);
	return true;
}

static bool live(uint8_t state)
{
	/* Added, possibly in the middle of being replaced (IN_DELETED_TRANSITION
	 * cleared bit 0), but not deleted (bit 1 clear). */
	return state == VAR_ADDED || state == (VAR_ADDED & VAR_IN_DELETED_TRANSITION);
}

/* edk2 writes a new variable in four steps: the header with State 0xFF,
 * State = HEADER_VALID_ONLY, name and data, State = ADDED. A store cut off
 * after the first step holds a header with State 0xFF, which edk2 skips
 * (neither added nor deleted) and appends after: a valid store. */
#define VAR_HEADER_WRITING	0xff

static bool known_state(uint8_t s)
{
	return s == VAR_HEADER_WRITING || s == VAR_HEADER_VALID_ONLY || s == VAR_ADDED ||
	       s == (VAR_ADDED & VAR_IN_DELETED_TRANSITION) || s == (VAR_ADDED & VAR_DELETED) ||
	       s == (VAR_ADDED & VAR_DELETED & VAR_IN_DELETED_TRANSITION) ||
	       s == (VAR_HEADER_VALID_ONLY & VAR_DELETED);
}

int varstore_open(struct varstore *vs, uint8_t *img, size_t len, char *why, size_t wl)
{
	uint64_t fvlen;
	uint16_t hlen, sum = 0;
	const uint8_t *s;
	size_t off, nvars = 0;
	struct efivar v;

	memset(vs, 0, sizeof(*vs));
	vs->img = img;
	vs->len = len;
	if (len < 0x48 + STORE_HDR_SIZE) {
		snprintf(why, wl, "image of %zu bytes is too small", len);
		return -EINVAL;
	}
	for (int i = 0; i < 16; i++) {
		if (img[i]) {
			snprintf(why, wl, "firmware volume: zero vector not zero");
			return -EINVAL;
		}
	}
	if (memcmp(img + 16, nv_data_fv_guid, 16)) {
		snprintf(why, wl, "firmware volume: not an NV data volume (GUID)");
		return -EINVAL;
	}
	if (memcmp(img + 40, FV_SIGNATURE, 4)) {
		snprintf(why, wl, "firmware volume: no _FVH signature");
		return -EINVAL;
	}
	fvlen = get_le64(img + 32);
	hlen = get_le16(img + 48);
	if (fvlen != len) {
		snprintf(why, wl, "firmware volume length %#llx does not match the file (%#zx)",
			 (unsigned long long)fvlen, len);
		return -EINVAL;
	}
	if (hlen < 0x48 || hlen > len - STORE_HDR_SIZE || (hlen & 1)) {
		snprintf(why, wl, "firmware volume header length %#x invalid", hlen);
		return -EINVAL;
	}
	for (unsigned i = 0; i < hlen; i += 2)
		sum = (uint16_t)(sum + get_le16(img + i));
	if (sum != 0) {
		snprintf(why, wl, "firmware volume header checksum wrong");
		return -EINVAL;
	}
	if (img[55] != 2) {
		snprintf(why, wl, "firmware volume revision %u, want 2", img[55]);
		return -EINVAL;
	}
	vs->store = hlen;
	s = img + hlen;
	if (!memcmp(s, auth_var_guid, 16)) {
		vs->authenticated = true;
	} else if (memcmp(s, plain_var_guid, 16)) {
		snprintf(why, wl, "variable store: unknown format GUID");
		return -EINVAL;
	}
	vs->store_size = get_le32(s + 16);
	if (vs->store_size < STORE_HDR_SIZE || vs->store_size > len - hlen) {
		snprintf(why, wl, "variable store size %#zx does not fit the volume", vs->store_size);
		return -EINVAL;
	}
	if (s[20] != VAR_FORMATTED || s[21] != VAR_HEALTHY) {
		snprintf(why, wl, "variable store not formatted/healthy (format %#x state %#x)", s[20], s[21]);
		return -EINVAL;
	}
	vs->vars = ALIGN_UP(hlen + STORE_HDR_SIZE, 4);
	for (off = vs->vars; parse_at(vs, off, &v); off = v.next) {
		if (!known_state(v.state)) {
			snprintf(why, wl, "variable at %#zx has invalid state %#x", off, v.state);
			return -EINVAL;
		}
		if (v.state != VAR_HEADER_VALID_ONLY && v.state != VAR_HEADER_WRITING && (v.name_size < 2 || (v.name_size & 1) ||
		    get_le16(v.name + v.name_size - 2) != 0)) {
			snprintf(why, wl, "variable at %#zx has a malformed name", off);
			return -EINVAL;
		}
		nvars++;
	}
	vs->end = off;
	return 0;
}

int varstore_next(const struct varstore *vs, struct efivar *v)
{
	size_t off = v->next ? v->next : vs->vars;

	while (parse_at(vs, off, v)) {
		if (live(v->state))
			return 1;
		off = v->next;
	}
	return 0;
}

void efivar_name(const struct efivar *v, char *out, size_t len)
{
	size_t n = 0;
	for (uint32_t i = 0; i + 1 < v->name_size && n + 1 < len; i += 2) {
		uint16_t c = get_le16(v->name + i);
		if (!c)
			break;
		out[n++] = c < 0x80 && isprint(c) ? (char)c : '?';
	}
	out[n] = 0;
}

static bool name_eq(const struct efivar *v, const char *name)
{
	size_t n = strlen(name);
	if (v->name_size != 2 * (n + 1))
		return false;
	for (size_t i = 0; i < n; i++)
		if (get_le16(v->name + 2 * i) != (uint8_t)name[i])
			return false;
	return true;
}

int varstore_get(const struct varstore *vs, const char *name, const struct guid *guid,
		 struct efivar *v)
{
	v->next = 0;
	while (varstore_next(vs, v))
		if (guid_eq(&v->guid, guid) && name_eq(v, name))
			return 0;
	return -ENOENT;
}

int varstore_delete(struct varstore *vs, const char *name, const struct guid *guid)
{
	struct efivar v;
	int found = -ENOENT;

	v.next = 0;
	while (varstore_next(vs, &v)) {
		if (guid_eq(&v.guid, guid) && name_eq(&v, name)) {
			vs->img[v.off + 2] &= VAR_DELETED;	/* flash-style: clear bits only */
			found = 0;
		}
	}
	return found;
}

/* Rewrites the store with only the live variables (edk2's "reclaim"). */
static void compact(struct varstore *vs)
{
	size_t limit = vs->store + vs->store_size, w = vs->vars;
	uint8_t *copy = malloc(limit - vs->vars);
	struct efivar v;

	if (!copy)
		return;
	v.next = 0;
	while (varstore_next(vs, &v)) {
		size_t n = v.next - v.off;
		memcpy(copy + (w - vs->vars), vs->img + v.off, n);
		w += n;
	}
	memset(vs->img + vs->vars, 0xff, limit - vs->vars);
	memcpy(vs->img + vs->vars, copy, w - vs->vars);
	vs->end = w;
	free(copy);
}

int varstore_set(struct varstore *vs, const char *name, const struct guid *guid, uint32_t attrs,
		 const void *data, uint32_t size)
{
	size_t hs = hdr_size(vs), nlen = strlen(name), need, limit = vs->store + vs->store_size;
	uint8_t *h;

	if (!vs->authenticated)
		return -EOPNOTSUPP;
	if (nlen == 0 || nlen > 512 || size > vs->store_size)
		return -EINVAL;
	need = ALIGN_UP(hs + 2 * (nlen + 1) + size, 4);
	varstore_delete(vs, name, guid);
	if (vs->end + need > limit)
		compact(vs);
	if (vs->end + need > limit)
		return -ENOSPC;
	h = vs->img + vs->end;
	memset(h, 0, hs);
	put_le16(h, VAR_START_ID);
	h[2] = VAR_ADDED;
	put_le32(h + 4, attrs);
	put_le32(h + 36, (uint32_t)(2 * (nlen + 1)));
	put_le32(h + 40, size);
	memcpy(h + 44, guid->b, 16);
	for (size_t i = 0; i <= nlen; i++)
		put_le16(h + hs + 2 * i, (uint8_t)name[i]);
	memcpy(h + hs + 2 * (nlen + 1), data, size);
	/* Padding to the next header stays erased (0xFF). */
	vs->end += need;
	return 0;
}
