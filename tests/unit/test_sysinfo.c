/* boot/sysinfo: machine facts read from a fake /proc, /sys and /dev tree. */
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysinfo.h"

static void put(const char *root, const char *path, const void *data, size_t len)
{
	char full[1024], cmd[1100];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", full);
	CHECK_EQ(system(cmd), 0);
	f = fopen(full, "wb");
	CHECK(f != NULL);
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

#define PUTS(root, path, s) put(root, path, s, sizeof(s) - 1)

TEST(sysinfo_amd_host_with_efi)
{
	char root[512];
	struct sysinfo_facts f;
	/* efivarfs: attributes (4 bytes) + UINT16 0x0003 */
	static const unsigned char bootcur[] = { 7, 0, 0, 0, 3, 0 };

	snprintf(root, sizeof(root), "%s/amd", test_tmpdir());
	PUTS(root, "/etc/polyboot-version", "1.2.3+gabc\n");
	PUTS(root, "/sys/devices/system/cpu/online", "0-3,6,8-9\n");
	PUTS(root, "/proc/meminfo", "MemTotal:        4030464 kB\nMemFree: 1 kB\n");
	PUTS(root, "/dev/kvm", "");
	PUTS(root, "/sys/module/kvm_amd/parameters/npt", "Y\n");
	PUTS(root, "/sys/module/kvm_amd/parameters/nested", "1\n");
	put(root, "/sys/firmware/efi/efivars/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c",
	    bootcur, sizeof(bootcur));
	PUTS(root, "/sys/kernel/iommu_groups/0/x", "");
	PUTS(root, "/sys/kernel/iommu_groups/1/x", "");

	CHECK_EQ(sysinfo_read(root, &f), 0);
	CHECK_STR(f.version, "1.2.3+gabc");
	CHECK_EQ(f.cpus, 7);
	CHECK_EQ(f.mem_total, 4030464ULL * 1024);
	CHECK(f.efi);
	CHECK_EQ(f.boot_current, 3);
	CHECK(f.kvm);
	CHECK_STR(f.kvm_vendor, "kvm_amd");
	CHECK(f.nested_paging);
	CHECK(f.nested);
	CHECK_EQ(f.iommu_groups, 2);
}

TEST(sysinfo_intel_without_ept_and_bare_tree)
{
	char root[512];
	struct sysinfo_facts f;

	snprintf(root, sizeof(root), "%s/intel", test_tmpdir());
	PUTS(root, "/sys/module/kvm_intel/parameters/ept", "N\n");
	CHECK_EQ(sysinfo_read(root, &f), 0);
	CHECK_STR(f.kvm_vendor, "kvm_intel");
	CHECK(!f.nested_paging);
	CHECK(!f.kvm);
	CHECK(!f.efi);
	CHECK_EQ(f.boot_current, -1);
	CHECK_STR(f.version, "unknown");
	CHECK_EQ(f.cpus, 0);
	CHECK_EQ(sysinfo_read(NULL, &f), -22);
}
