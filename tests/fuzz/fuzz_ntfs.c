/*
 * libFuzzer: ntfs_probe() on a volume made from the input: boot sector,
 * fixups, attribute walking, runlists and the $MFT walk must stay inside
 * the input and end, whatever the input claims.
 */
#include <string.h>

#include "disc/ntfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntfs_info ni;
	struct vol_mem m;
	struct vol v;
	char why[128];

	vol_from_mem(&v, &m, data, size);
	if (ntfs_probe(&v, &ni, why, sizeof(why)) == 0) {
		if (!memchr(ni.label, 0, sizeof(ni.label)) || !memchr(ni.hiber_sig, 0, 5))
			__builtin_trap();
	}
	return 0;
}
