/*
 * libFuzzer: fs_probe() and img_probe() on a volume made from the input
 * (all the superblock parsers, FAT/NTFS through fat.h and ntfs.h, VHD/VHDX/
 * qcow/ISO headers and the partition tables of raw images). Strings must
 * come back NUL-terminated.
 */
#include <string.h>

#include "disc/fsprobe.h"
#include "disc/imgprobe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_probe p;
	struct img_info ii;
	struct vol_mem m;
	struct vol v;
	char why[128];

	vol_from_mem(&v, &m, data, size);
	if (fs_probe(&v, &p) != 0 || !memchr(p.uuid, 0, sizeof(p.uuid)) ||
	    !memchr(p.label, 0, sizeof(p.label)))
		__builtin_trap();
	(void)fs_type_name(p.type);
	if (img_probe(&v, &ii, why, sizeof(why)) == 0) {
		if (!memchr(ii.iso_volume_id, 0, sizeof(ii.iso_volume_id)) ||
		    !memchr(ii.creator, 0, sizeof(ii.creator)) ||
		    !memchr(ii.table, 0, sizeof(ii.table)))
			__builtin_trap();
	}
	return 0;
}
