/*
 * libFuzzer: the whole discovery (scan.h) on a disk made from the input:
 * partition tables, filesystem probes, FAT and NTFS readers, the ESP,
 * BIOS and image detectors, GRUB configs found on FAT, and the JSON
 * report. Nothing is mounted (no_mount) and no boot variables are read,
 * so the target runs anywhere. Inputs shorter than a sector are padded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disc/report.h"
#include "disc/scan.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_opts o = { .efivars = "", .no_mount = true };
	char path[64];
	struct scan *s;
	char *json;
	int fd;

	log_set_level(LOG_ERR);
	fd = memfd_create("fuzz-disk", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || ftruncate(fd, (off_t)((size + 511) / 512 * 512 + 512)) < 0) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	s = scan_new(&o);
	if (s && scan_add_disk(s, path) == 0 && scan_run(s) == 0) {
		json = report_json(s);
		free(json);
	}
	scan_free(s);
	close(fd);
	return 0;
}
