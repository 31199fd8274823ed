/* fw_cfg: the port interface and DMA as OVMF's QemuFwCfgLib uses them. */
#include "test.h"

#include "dev/fwcfg.h"
#include "fakes.h"
#include "util.h"

#define RAM (64 * 1024)

struct env {
	struct io_bus bus;
	struct fwcfg f;
	struct guest_mem mem;
	uint8_t *ram;
};

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	e->ram = fake_ram(&e->mem, RAM);
	io_bus_init(&e->bus, "pio");
	CHECK_EQ(fwcfg_init(&e->f, &e->mem), 0);
	io_bus_add(&e->bus, 0x510, 2, &fwcfg_io_ops, &e->f, "fw_cfg");
	io_bus_add(&e->bus, 0x514, 8, &fwcfg_dma_ops, &e->f, "fw_cfg-dma");
	return e;
}

static void env_free(struct env *e)
{
	fwcfg_free(&e->f);
	io_bus_destroy(&e->bus);
	free(e->ram);
	free(e);
}

static void sel(struct env *e, uint16_t key)
{
	io_bus_write_val(&e->bus, 0x510, key, 2);
}

static void read_bytes(struct env *e, void *buf, size_t n)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)io_bus_read_val(&e->bus, 0x511, 1);
}

/* Writes a DMA descriptor at @desc and kicks it with two BE 32-bit writes. */
static uint32_t dma(struct env *e, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *d = e->ram + desc;
	put_be32(d, control);
	put_be32(d + 4, len);
	put_be64(d + 8, addr);
	/* The register is big-endian: a guest on x86 writes bswap32(high), bswap32(low). */
	io_bus_write_val(&e->bus, 0x514, __builtin_bswap32((uint32_t)(desc >> 32)), 4);
	io_bus_write_val(&e->bus, 0x518, __builtin_bswap32((uint32_t)desc), 4);
	return get_be32(d);
}

/* OVMF's QemuFwCfgFindFile: scan the directory for @name. */
static int find_file(struct env *e, const char *name, uint16_t *key, uint32_t *size)
{
	uint8_t b[4], ent[64];
	uint32_t n;
	sel(e, FWCFG_FILE_DIR);
	read_bytes(e, b, 4);
	n = get_be32(b);
	for (uint32_t i = 0; i < n; i++) {
		read_bytes(e, ent, 64);
		if (!strcmp((char *)ent + 8, name)) {
			*size = get_be32(ent);
			*key = get_be16(ent + 4);
			return 0;
		}
	}
	return -ENOENT;
}

TEST(fwcfg_signature_id_and_nb_cpus)
{
	struct env *e = env_new();
	char sig[5] = { 0 };
	uint8_t id[4], cpus[2] = { 4, 0 };

	sel(e, FWCFG_SIGNATURE);
	read_bytes(e, sig, 4);
	CHECK_STR(sig, "QEMU");
	sel(e, FWCFG_ID);
	read_bytes(e, id, 4);
	CHECK_EQ(get_le32(id), 3);	/* traditional + DMA */
	CHECK_EQ(fwcfg_add_item(&e->f, FWCFG_NB_CPUS, cpus, 2), 0);
	sel(e, FWCFG_NB_CPUS);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1), 4);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1), 0);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1), 0);	/* past the end: zeros */
	/* Unknown keys read as zeros. */
	sel(e, 0x1234);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1), 0);
	/* Reserved keys cannot be replaced by add_item. */
	CHECK_EQ(fwcfg_add_item(&e->f, FWCFG_FILE_DIR, cpus, 2), -EINVAL);
	CHECK_EQ(fwcfg_add_item(&e->f, FWCFG_SIGNATURE, cpus, 2), -EINVAL);
	env_free(e);
}

TEST(fwcfg_file_directory_sorted_big_endian)
{
	struct env *e = env_new();
	uint16_t key;
	uint32_t size;
	uint8_t b[4], ent[64];
	char name[60];
	static const char long_name[] = "etc/this-name-is-much-longer-than-the-fifty-six-bytes-allowed";

	CHECK_EQ(fwcfg_add_file(&e->f, "etc/zzz", "z", 1, false), 0);
	CHECK_EQ(fwcfg_add_file(&e->f, "etc/e820", "0123456789abcdefghij", 20, false), 0);
	CHECK_EQ(fwcfg_add_file(&e->f, "etc/acpi/tables", "T", 1, false), 0);
	CHECK_EQ(fwcfg_add_file(&e->f, long_name, "x", 1, false), -ENAMETOOLONG);
	sel(e, FWCFG_FILE_DIR);
	read_bytes(e, b, 4);
	CHECK_EQ(get_be32(b), 3);
	read_bytes(e, ent, 64);
	CHECK_STR((char *)ent + 8, "etc/acpi/tables");
	read_bytes(e, ent, 64);
	CHECK_STR((char *)ent + 8, "etc/e820");
	CHECK_EQ(get_be32(ent), 20);
	CHECK(get_be16(ent + 4) >= FWCFG_FILE_FIRST);
	CHECK_EQ(find_file(e, "etc/e820", &key, &size), 0);
	CHECK_EQ(size, 20);
	sel(e, key);
	read_bytes(e, name, 20);
	CHECK_MEM(name, "0123456789abcdefghij", 20);
	/* Replacing a file keeps its key and updates its size. */
	CHECK_EQ(fwcfg_add_file(&e->f, "etc/e820", "abc", 3, false), 0);
	CHECK_EQ(find_file(e, "etc/e820", &key, &size), 0);
	CHECK_EQ(size, 3);
	CHECK_EQ(find_file(e, "etc/nope", &key, &size), -ENOENT);
	env_free(e);
}

TEST(fwcfg_dma_read_skip_select)
{
	struct env *e = env_new();
	uint16_t key;
	uint32_t size;
	uint8_t data[100];

	for (int i = 0; i < 100; i++)
		data[i] = (uint8_t)i;
	fwcfg_add_file(&e->f, "etc/blob", data, 100, false);
	CHECK_EQ(find_file(e, "etc/blob", &key, &size), 0);
	/* SELECT + READ of 10 bytes into 0x2000. */
	CHECK_EQ(dma(e, 0x1000, (uint32_t)key << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 10, 0x2000), 0);
	CHECK_MEM(e->ram + 0x2000, data, 10);
	/* SKIP 20, then READ continues at offset 30. */
	CHECK_EQ(dma(e, 0x1000, FWCFG_DMA_SKIP, 20, 0), 0);
	CHECK_EQ(dma(e, 0x1000, FWCFG_DMA_READ, 5, 0x3000), 0);
	CHECK_MEM(e->ram + 0x3000, data + 30, 5);
	/* Reading past the end zero-fills. */
	memset(e->ram + 0x4000, 0xee, 200);
	CHECK_EQ(dma(e, 0x1000, FWCFG_DMA_READ, 200, 0x4000), 0);
	CHECK_MEM(e->ram + 0x4000, data + 35, 65);
	CHECK_EQ(e->ram[0x4000 + 65], 0);
	CHECK_EQ(e->ram[0x4000 + 199], 0);
	/* OVMF reads even 4-byte scalars through DMA. */
	CHECK_EQ(dma(e, 0x1000, FWCFG_ID << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ, 4, 0x5000), 0);
	CHECK_EQ(get_le32(e->ram + 0x5000), 3);
	env_free(e);
}

TEST(fwcfg_dma_errors_never_write_outside_ram)
{
	struct env *e = env_new();
	uint8_t before[64];

	fwcfg_add_file(&e->f, "etc/blob", "hello", 5, false);
	/* Target outside guest RAM: ERROR, nothing written. */
	CHECK_EQ(dma(e, 0x1000, FWCFG_DMA_SELECT | FWCFG_DMA_READ | 0x0020 << 16, 5, RAM - 2),
		 FWCFG_DMA_ERROR);
	CHECK_EQ(dma(e, 0x1000, FWCFG_DMA_READ, 5, 0xffffffffffffff00ULL), FWCFG_DMA_ERROR);
	/* Writing a read-only file: ERROR, the file is unchanged. */
	memcpy(e->ram + 0x2000, "XXXXX", 5);
	CHECK_EQ(dma(e, 0x1000, 0x0020 << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 5, 0x2000),
		 FWCFG_DMA_ERROR);
	{
		uint32_t len;
		const uint8_t *p = fwcfg_file(&e->f, "etc/blob", &len);
		CHECK(p && len == 5 && !memcmp(p, "hello", 5));
	}
	/* A writable file accepts a DMA write that fits, and refuses one past its end. */
	fwcfg_add_file(&e->f, "etc/ramfb", "\0\0\0\0\0\0\0\0", 8, true);
	{
		uint16_t key;
		uint32_t size, len;
		const uint8_t *p;
		CHECK_EQ(find_file(e, "etc/ramfb", &key, &size), 0);
		CHECK_EQ(dma(e, 0x1000, (uint32_t)key << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_WRITE, 5, 0x2000), 0);
		p = fwcfg_file(&e->f, "etc/ramfb", &len);
		CHECK(p && !memcmp(p, "XXXXX", 5));
		CHECK_EQ(dma(e, 0x1000, FWCFG_DMA_WRITE, 5, 0x2000), FWCFG_DMA_ERROR);
	}
	/* A descriptor outside RAM cannot even be completed: no crash. */
	memcpy(before, e->ram + RAM - 64, 64);
	io_bus_write_val(&e->bus, 0x514, 0, 4);
	io_bus_write_val(&e->bus, 0x518, __builtin_bswap32(RAM - 8), 4);
	CHECK_MEM(before, e->ram + RAM - 64, 64);
	/* Odd register accesses are ignored; the DMA register reads its signature. */
	io_bus_write_val(&e->bus, 0x516, 0xffff, 2);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x514, 4), 0x51454d55);	/* "QEMU" big-endian */
	/* Data-port writes and byte selector writes are ignored. */
	io_bus_write_val(&e->bus, 0x511, 0x42, 1);
	io_bus_write_val(&e->bus, 0x510, 0x01, 1);
	sel(e, FWCFG_SIGNATURE);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1), 'Q');
	/* A wider data-port read takes consecutive bytes. */
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1) | io_bus_read_val(&e->bus, 0x511, 1) << 8, 0x4d45);
	fwcfg_reset(&e->f);
	CHECK_EQ(io_bus_read_val(&e->bus, 0x511, 1), 'Q');	/* key 0, offset 0 */
	env_free(e);
}
