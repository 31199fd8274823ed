/*
 * fw_cfg: QEMU docs/specs/fw_cfg.rst (the interface OVMF's QemuFwCfgLib
 * uses: edk2 OvmfPkg/Library/QemuFwCfgLib), research note section 5.
 *
 * Not implemented: the MMIO variant, the legacy write path through the data
 * port (removed in QEMU 2.4; DMA WRITE is supported for writable files),
 * per-item callbacks.
 */
#define LOG_MOD "fw_cfg"
#include "dev/fwcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define FWCFG_ID_TRADITIONAL	0x01
#define FWCFG_ID_DMA		0x02

static struct fwcfg_item *find_key(struct fwcfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

static int cmp_names(const void *a, const void *b)
{
	const struct fwcfg_item *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Rebuilds the directory: BE32 count, then {BE32 size, BE16 key, u16, name[56]}
 * sorted by name (QEMU keeps it sorted; OVMF scans it linearly). */
static int rebuild_dir(struct fwcfg *f)
{
	const struct fwcfg_item *files[FWCFG_MAX_ITEMS];
	unsigned nf = 0;
	uint8_t *d;
	uint32_t len;
	struct fwcfg_item *it;

	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].name[0])
			files[nf++] = &f->items[i];
	qsort(files, nf, sizeof(files[0]), cmp_names);
	len = 4 + nf * 64;
	d = calloc(1, len);
	if (!d)
		return -ENOMEM;
	put_be32(d, nf);
	for (unsigned i = 0; i < nf; i++) {
		uint8_t *e = d + 4 + i * 64;
		put_be32(e, files[i]->len);
		put_be16(e + 4, files[i]->key);
		memcpy(e + 8, files[i]->name, FWCFG_NAME_LEN);
	}
	free(f->dir);
	f->dir = d;
	f->dir_len = len;
	it = find_key(f, FWCFG_FILE_DIR);
	if (it) {
		it->data = d;
		it->len = len;
	}
	return 0;
}

static int set_item(struct fwcfg *f, uint16_t key, const char *name, const void *data,
		    uint32_t len, bool writable)
{
	struct fwcfg_item *it = find_key(f, key);
	uint8_t *copy = NULL;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	if (!it) {
		if (f->n == FWCFG_MAX_ITEMS) {
			free(copy);
			return -ENOSPC;
		}
		it = &f->items[f->n++];
		memset(it, 0, sizeof(*it));
		it->key = key;
	} else if (it->data != f->dir) {
		free(it->data);
	}
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	it->data = copy;
	it->len = len;
	it->writable = writable;
	return 0;
}

int fwcfg_init(struct fwcfg *f, const struct guest_mem *mem)
{
	uint8_t id[4];
	int r;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->mem = mem;
	put_le32(id, FWCFG_ID_TRADITIONAL | FWCFG_ID_DMA);
	if ((r = set_item(f, FWCFG_SIGNATURE, NULL, "QEMU", 4, false)) < 0 ||
	    (r = set_item(f, FWCFG_ID, NULL, id, 4, false)) < 0 ||
	    (r = set_item(f, FWCFG_FILE_DIR, NULL, NULL, 0, false)) < 0)
		return r;
	return rebuild_dir(f);
}

void fwcfg_free(struct fwcfg *f)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].data != f->dir)
			free(f->items[i].data);
	free(f->dir);
	f->dir = NULL;
	f->n = 0;
}

int fwcfg_add_item(struct fwcfg *f, uint16_t key, const void *data, uint32_t len)
{
	int r;
	if (key >= FWCFG_FILE_FIRST || key == FWCFG_FILE_DIR || key <= FWCFG_ID)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	r = set_item(f, key, NULL, data, len, false);
	pthread_mutex_unlock(&f->lock);
	return r;
}

int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, uint32_t len, bool writable)
{
	uint16_t key = FWCFG_FILE_FIRST;
	int r;

	if (!name || !name[0])
		return -EINVAL;
	if (strlen(name) >= FWCFG_NAME_LEN)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->n; i++) {
		if (!strcmp(f->items[i].name, name)) {
			key = f->items[i].key;
			goto found;
		}
		if (f->items[i].key >= key)
			key = (uint16_t)(f->items[i].key + 1);
	}
found:
	r = set_item(f, key, name, data, len, writable);
	if (r == 0)
		r = rebuild_dir(f);
	pthread_mutex_unlock(&f->lock);
	return r;
}

const uint8_t *fwcfg_file(struct fwcfg *f, const char *name, uint32_t *len)
{
	for (unsigned i = 0; i < f->n; i++) {
		if (f->items[i].name[0] && !strcmp(f->items[i].name, name)) {
			*len = f->items[i].len;
			return f->items[i].data;
		}
	}
	return NULL;
}

void fwcfg_reset(struct fwcfg *f)
{
	pthread_mutex_lock(&f->lock);
	f->sel = 0;
	f->off = 0;
	f->dma_addr = 0;
	pthread_mutex_unlock(&f->lock);
}

static void select_key(struct fwcfg *f, uint16_t key)
{
	f->sel = key;
	f->off = 0;
}

static uint64_t io_read(void *opaque, uint64_t off, unsigned size)
{
	struct fwcfg *f = opaque;
	const struct fwcfg_item *it;
	uint64_t v = 0;

	if (off != 1)
		return off == 0 ? 0 : ~0ULL;	/* the selector reads as 0 */
	pthread_mutex_lock(&f->lock);
	it = find_key(f, f->sel);
	/* The data port is a byte FIFO; wider reads take several bytes in
	 * order, as QEMU's x86 port does. Past the end: zeros. */
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = 0;
		if (it && f->off < it->len)
			b = it->data[f->off];
		if (it && f->off < it->len)
			f->off++;
		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&f->lock);
	return v;
}

static void io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fwcfg *f = opaque;

	if (off != 0 || size != 2) {
		/* Data-port writes were dropped from the interface (QEMU 2.4). */
		log_guest("ignored fw_cfg write at +%llu size %u", (unsigned long long)off, size);
		return;
	}
	pthread_mutex_lock(&f->lock);
	select_key(f, (uint16_t)val);
	pthread_mutex_unlock(&f->lock);
}

/* Runs one FW_CFG_DMA_ACCESS at guest address @desc (lock held). */
static void dma_transfer(struct fwcfg *f, uint64_t desc)
{
	uint8_t d[16];
	uint32_t control, len;
	uint64_t addr;
	struct fwcfg_item *it;
	uint32_t status = 0;

	if (gm_read(f->mem, desc, d, sizeof(d)) < 0) {
		log_guest("DMA descriptor at %#llx is outside RAM", (unsigned long long)desc);
		return;	/* nowhere to report the error */
	}
	control = get_be32(d);
	len = get_be32(d + 4);
	addr = get_be64(d + 8);
	if (control & FWCFG_DMA_SELECT)
		select_key(f, (uint16_t)(control >> 16));
	it = find_key(f, f->sel);
	if (control & FWCFG_DMA_WRITE) {
		if (!it || !it->writable || f->off > it->len || len > it->len - f->off ||
		    gm_read(f->mem, addr, it->data + f->off, len) < 0) {
			status = FWCFG_DMA_ERROR;
		} else {
			f->off += len;
		}
	} else if (control & FWCFG_DMA_READ) {
		uint32_t avail = (it && f->off < it->len) ? it->len - f->off : 0;
		uint32_t n = len < avail ? len : avail;
		/* Past the end of the item the guest gets zeros. */
		if (!gm_ptr(f->mem, addr, len ? len : 1) && len) {
			status = FWCFG_DMA_ERROR;
		} else if (len) {
			uint8_t *dst = gm_ptr(f->mem, addr, len);
			if (n)
				memcpy(dst, it->data + f->off, n);
			memset(dst + n, 0, len - n);
			f->off += n;
		}
	} else if (control & FWCFG_DMA_SKIP) {
		uint32_t avail = (it && f->off < it->len) ? it->len - f->off : 0;
		f->off += len < avail ? len : avail;
	}
	/* Completion: control becomes 0, or keeps only the error bit. */
	put_be32(d, status);
	if (gm_write(f->mem, desc, d, 4) < 0)
		log_guest("cannot complete DMA at %#llx", (unsigned long long)desc);
}

static uint64_t dma_read(void *opaque, uint64_t off, unsigned size)
{
	/* Reads return the "QEMU CFG" signature of the DMA register. */
	static const uint8_t sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
	uint64_t v = 0;
	for (unsigned i = 0; i < size && off + i < 8; i++)
		v |= (uint64_t)sig[off + i] << (8 * (size - 1 - i));
	return v;
}

static uint64_t bswap_n(uint64_t v, unsigned size)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < size; i++)
		r |= ((v >> (8 * i)) & 0xff) << (8 * (size - 1 - i));
	return r;
}

static void dma_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fwcfg *f = opaque;
	uint64_t be = bswap_n(val, size);	/* the register is big-endian */

	pthread_mutex_lock(&f->lock);
	if (off == 0 && size == 4) {
		f->dma_addr = be << 32;
	} else if (off == 4 && size == 4) {
		uint64_t desc = f->dma_addr | (uint32_t)be;
		f->dma_addr = 0;
		dma_transfer(f, desc);
	} else if (off == 0 && size == 8) {
		f->dma_addr = 0;
		dma_transfer(f, be);
	} else {
		log_guest("ignored fw_cfg DMA register write at +%llu size %u", (unsigned long long)off, size);
	}
	pthread_mutex_unlock(&f->lock);
}

const struct io_ops fwcfg_io_ops = { io_read, io_write };
const struct io_ops fwcfg_dma_ops = { dma_read, dma_write };
