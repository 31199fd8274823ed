/*
 * Facts about the machine the firmware runs on, read from /proc, /sys and
 * /dev (under a root prefix, so tests can use a fake tree).
 */
#ifndef POLYBOOT_BOOT_SYSINFO_H
#define POLYBOOT_BOOT_SYSINFO_H

#include <stdbool.h>
#include <stdint.h>

struct sysinfo_facts {
	char version[64];		/* /etc/polyboot-version */
	unsigned cpus;			/* online CPUs */
	uint64_t mem_total;		/* bytes, MemTotal */
	bool efi;			/* booted through UEFI */
	int boot_current;		/* BootCurrent, -1 if unknown */
	bool kvm;			/* /dev/kvm exists */
	char kvm_vendor[16];		/* "kvm_intel", "kvm_amd" or "" */
	bool nested_paging;		/* EPT (Intel) or NPT (AMD) on */
	bool nested;			/* nested virtualization on */
	unsigned iommu_groups;		/* /sys/kernel/iommu_groups entries */
};

/* Reads everything under @root ("" or "/" for the real system). Missing
 * files leave defaults; returns 0 or -errno only for a bad @root. */
int sysinfo_read(const char *root, struct sysinfo_facts *f);

/* Prints the facts as "key: value" lines. */
void sysinfo_print(const struct sysinfo_facts *f, int fd);

#endif
