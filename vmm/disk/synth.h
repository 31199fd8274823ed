/*
 * Synthetic disks: a virtual GPT disk made of chosen partitions of a real
 * disk (or disk image), each at its original LBAs with its original type
 * and partition GUIDs, attributes and name, plus a generated protective
 * MBR, primary and backup GPT. Everything else reads as zeros and cannot
 * be written (an I/O error for the guest), so an OS given "its" partitions
 * of a shared disk sees nothing of the others.
 *
 * A partition can instead be a private copy-on-write view: the guest reads
 * the real partition until it writes a block, which then lives in an
 * anonymous sparse memory file for the life of the VM (the shared-ESP
 * case: each OS may update its own files without touching the real ESP).
 */
#ifndef POLYBOOT_VMM_DISK_SYNTH_H
#define POLYBOOT_VMM_DISK_SYNTH_H

#include "disk/blk.h"
#include "disk/diskspec.h"

/* Opens the synthetic disk described by @s (s->synth set). Returns 0 or
 * -errno with a reason in @why. */
int synth_open(struct blk *b, const struct disk_spec *s, char *why, unsigned whylen);

#endif
