/*
 * QEMU firmware configuration interface (fw_cfg), as Debian's OVMF reads it:
 * selector 0x510 (16-bit), data 0x511 (8-bit), DMA address 0x514-0x51B
 * (big-endian; the write of the low half starts the transfer).
 * Items are numeric keys or named files (keys from 0x20, listed in the
 * file directory at key 0x19).
 */
#ifndef POLYBOOT_VMM_DEV_FWCFG_H
#define POLYBOOT_VMM_DEV_FWCFG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/guest_mem.h"

#define FWCFG_SIGNATURE		0x00
#define FWCFG_ID		0x01
#define FWCFG_NB_CPUS		0x05
#define FWCFG_MAX_CPUS		0x0f
#define FWCFG_BOOT_MENU		0x0e
#define FWCFG_FILE_DIR		0x19
#define FWCFG_FILE_FIRST	0x20
#define FWCFG_MAX_ITEMS		96
#define FWCFG_NAME_LEN		56

/* DMA control bits (FW_CFG_DMA_ACCESS.control). */
#define FWCFG_DMA_ERROR		0x01
#define FWCFG_DMA_READ		0x02
#define FWCFG_DMA_SKIP		0x04
#define FWCFG_DMA_SELECT	0x08
#define FWCFG_DMA_WRITE		0x10

struct fwcfg_item {
	uint16_t key;
	char name[FWCFG_NAME_LEN];	/* "" for numeric items */
	uint8_t *data;
	uint32_t len;
	bool writable;			/* the guest may DMA-write it */
};

struct fwcfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct fwcfg_item items[FWCFG_MAX_ITEMS];
	unsigned n;
	uint8_t *dir;			/* generated file directory */
	uint32_t dir_len;
	uint16_t sel;
	uint32_t off;
	uint64_t dma_addr;		/* high half latched at 0x514 */
};

/* Sets up the signature, ID (with DMA) and an empty directory. */
int fwcfg_init(struct fwcfg *f, const struct guest_mem *mem);
void fwcfg_free(struct fwcfg *f);

/* Adds (or replaces) numeric item @key; @data is copied. */
int fwcfg_add_item(struct fwcfg *f, uint16_t key, const void *data, uint32_t len);
/* Adds (or replaces) file @name; @data is copied. -ENAMETOOLONG, -ENOSPC. */
int fwcfg_add_file(struct fwcfg *f, const char *name, const void *data, uint32_t len, bool writable);
/* A file's current contents (e.g. what the guest wrote); NULL if absent. */
const uint8_t *fwcfg_file(struct fwcfg *f, const char *name, uint32_t *len);

/* VM reset: selector and offset back to 0. */
void fwcfg_reset(struct fwcfg *f);

/* 0x510, 2 bytes: selector (write 16-bit) and data (read 8-bit at +1). */
extern const struct io_ops fwcfg_io_ops;
/* 0x514, 8 bytes: DMA address register. */
extern const struct io_ops fwcfg_dma_ops;

#endif
