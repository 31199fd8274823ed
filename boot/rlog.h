/*
 * Bounded, rotated log files (the firmware's logs on the ESP): appends to
 * PATH until it would pass @max bytes, then renames it to PATH.1 (replacing
 * the previous one) and starts a new PATH, so a log never takes more than
 * twice @max. rlog_sync() makes what was written durable; the boot manager
 * calls it after each of its own lines and once a second for VM consoles,
 * so a power cut loses at most the last lines.
 */
#ifndef POLYBOOT_BOOT_RLOG_H
#define POLYBOOT_BOOT_RLOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rlog {
	char path[256];
	int fd;			/* -1 when closed */
	uint64_t size, max;
	bool dirty;		/* written since the last sync */
};

/* Opens (creates) @path for appending. 0 or -errno. */
int rlog_open(struct rlog *l, const char *path, uint64_t max);
/* Appends @n bytes, rotating first when they would not fit. 0 or -errno. */
int rlog_write(struct rlog *l, const void *buf, size_t n);
int rlog_sync(struct rlog *l);
void rlog_close(struct rlog *l);

#endif
