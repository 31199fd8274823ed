/*
 * The host's boot options: BootOrder, BootCurrent and every Boot####
 * variable of the EFI global variable GUID, read from an efivarfs
 * directory (/sys/firmware/efi/efivars in the firmware; a directory of
 * the same format, 4 bytes of attributes then the data, in tests) and
 * decoded with vmm/efi/loadopt.h. Read-only: nothing here writes a
 * variable.
 */
#ifndef POLYBOOT_BOOT_DISC_EFIVARS_H
#define POLYBOOT_BOOT_DISC_EFIVARS_H

#include <stdbool.h>
#include <stdint.h>

#include "efi/loadopt.h"

#define EFIVARS_DEFAULT_DIR	"/sys/firmware/efi/efivars"
#define EFIVARS_MAX_OPTS	64

struct efivars_opt {
	unsigned num;		/* #### */
	struct loadopt lo;	/* lo.optional points at nothing after load */
	bool bad;		/* the variable did not decode; lo.desc says why */
};

struct efivars {
	bool present;		/* the directory exists */
	int bootcurrent;	/* -1 when absent */
	unsigned norder;
	uint16_t order[EFIVARS_MAX_OPTS];
	unsigned nopts;		/* sorted by num */
	struct efivars_opt opts[EFIVARS_MAX_OPTS];
};

/* Reads @dir. 0 (also when @dir does not exist: present = false) or
 * -errno for an unreadable directory. */
int efivars_load(const char *dir, struct efivars *out);

/* Position of Boot@num in BootOrder, or -1. */
int efivars_order_pos(const struct efivars *ev, unsigned num);

#endif
