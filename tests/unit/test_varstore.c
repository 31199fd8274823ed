/* The OVMF variable store: validation like OVMF's, iteration, editing. */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efi/varstore.h"
#include "util.h"

static uint8_t *template(size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open("/usr/share/OVMF/OVMF_VARS_4M.fd", O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		test_fail(__FILE__, __LINE__, "OVMF_VARS_4M.fd missing (Debian package ovmf)");
		return NULL;
	}
	*len = (size_t)st.st_size;
	b = malloc(*len);
	if (read(fd, b, *len) != (ssize_t)*len)
		test_fail(__FILE__, __LINE__, "short read");
	close(fd);
	return b;
}

static const struct guid guid = { { 0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x34, 0x12,
				     0x12, 0x34, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc } };

TEST(varstore_template_set_get_delete)
{
	size_t len;
	uint8_t *img = template(&len);
	struct varstore vs;
	struct efivar v;
	char why[256], name[64], g[37];
	int n = 0;

	if (!img)
		return;
	CHECK_EQ(varstore_open(&vs, img, len, why, sizeof(why)), 0);
	CHECK(vs.authenticated);
	v.next = 0;
	CHECK_EQ(varstore_next(&vs, &v), 0);	/* the template is empty */
	CHECK_EQ(varstore_set(&vs, "BootOrder", &efi_global_guid, EFI_VAR_NV_BS_RT, "\x01\x00", 2), 0);
	CHECK_EQ(varstore_set(&vs, "PolyTest", &guid, EFI_VAR_NV_BS_RT, "abc", 3), 0);
	CHECK_EQ(varstore_set(&vs, "PolyTest", &guid, EFI_VAR_NV_BS_RT, "defg", 4), 0);
	CHECK_EQ(varstore_get(&vs, "PolyTest", &guid, &v), 0);
	CHECK_EQ(v.data_size, 4);
	CHECK_MEM(v.data, "defg", 4);
	efivar_name(&v, name, sizeof(name));
	CHECK_STR(name, "PolyTest");
	guid_format(&v.guid, g);
	CHECK_STR(g, "12345678-1234-1234-1234-123456789abc");
	v.next = 0;
	while (varstore_next(&vs, &v))
		n++;
	CHECK_EQ(n, 2);	/* the replaced copy is deleted */
	/* The edited image still validates (what OVMF will see). */
	CHECK_EQ(varstore_open(&vs, img, len, why, sizeof(why)), 0);
	CHECK_EQ(varstore_get(&vs, "BootOrder", &efi_global_guid, &v), 0);
	CHECK_EQ(varstore_delete(&vs, "BootOrder", &efi_global_guid), 0);
	CHECK_EQ(varstore_get(&vs, "BootOrder", &efi_global_guid, &v), -ENOENT);
	CHECK_EQ(varstore_delete(&vs, "BootOrder", &efi_global_guid), -ENOENT);
	/* Filling the store compacts deleted copies, then reports -ENOSPC. */
	{
		static uint8_t big[60000];
		int r = 0, i;
		for (i = 0; i < 40 && r == 0; i++)
			r = varstore_set(&vs, "Big", &guid, EFI_VAR_NV_BS_RT, big, sizeof(big));
		CHECK_EQ(r, 0);	/* replacing one variable never fills it */
		r = 0;
		for (i = 0; i < 10 && r == 0; i++) {
			char nm[16];
			snprintf(nm, sizeof(nm), "Big%d", i);
			r = varstore_set(&vs, nm, &guid, EFI_VAR_NV_BS_RT, big, sizeof(big));
		}
		CHECK_EQ(r, -ENOSPC);
		CHECK_EQ(varstore_open(&vs, img, len, why, sizeof(why)), 0);
	}
	free(img);
}

TEST(varstore_rejects_what_ovmf_rejects)
{
	size_t len;
	uint8_t *img = template(&len), *c;
	struct varstore vs;
	char why[256];

	if (!img)
		return;
	c = malloc(len);
#define BREAK(stmt, what)                                                   \
	do {                                                                \
		memcpy(c, img, len);                                        \
		stmt;                                                       \
		CHECK_EQ(varstore_open(&vs, c, len, why, sizeof(why)), -EINVAL); \
		CHECK(strstr(why, what) != NULL);                           \
	} while (0)
	BREAK(c[16] ^= 1, "GUID");
	BREAK(c[40] = 'x', "_FVH");
	BREAK(c[0x2c] ^= 1, "checksum");	/* attributes: covered by the checksum */
	BREAK(put_le64(c + 32, len * 2), "length");
	BREAK(c[0x48] ^= 1, "format GUID");
	BREAK(c[0x48 + 20] = 0, "formatted");
	BREAK(put_le32(c + 0x48 + 16, (uint32_t)len), "size");
	/* A variable with an impossible state byte. */
	BREAK((put_le16(c + 0x64, 0x55aa), c[0x66] = 0x12, put_le32(c + 0x64 + 36, 4),
	       put_le32(c + 0x64 + 40, 0)), "invalid state");
	CHECK_EQ(varstore_open(&vs, c, 100, why, sizeof(why)), -EINVAL);
	free(c);
	/* A header whose sizes run off the end is an interrupted write: the
	 * store stays valid and the walk stops there (as edk2's does). */
	put_le16(img + 0x64, 0x55aa);
	img[0x66] = 0x7f;
	put_le32(img + 0x64 + 36, 0xfffffff0);
	CHECK_EQ(varstore_open(&vs, img, len, why, sizeof(why)), 0);
	CHECK_EQ(vs.end, 0x64);
	/* edk2's first step of a new variable: the whole header, State still
	 * 0xFF, name and data not yet written (a SIGKILL seen there in CI).
	 * Valid, not a variable, and the walk goes on after it. */
	img[0x66] = 0xff;
	put_le32(img + 0x64 + 36, 8);
	put_le32(img + 0x64 + 40, 4);
	CHECK_EQ(varstore_open(&vs, img, len, why, sizeof(why)), 0);
	CHECK_EQ(vs.end, 0x64 + 60 + 12);
	{
		struct efivar v = { 0 };
		CHECK_EQ(varstore_next(&vs, &v), 0);	/* nothing live */
	}
	free(img);
	{
		struct guid g;
		CHECK_EQ(guid_parse("8be4df61-93ca-11d2-aa0d-00e098032b8c", &g), 0);
		CHECK(guid_eq(&g, &efi_global_guid));
		CHECK_EQ(guid_parse("8be4df61-93ca-11d2-aa0d", &g), -EINVAL);
	}
}
