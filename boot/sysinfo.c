#define LOG_MOD "sysinfo"
#include "sysinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Reads the first line of root/path into buf (without newline). */
static int read_line(const char *root, const char *path, char *buf, size_t len)
{
	char full[512];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	f = fopen(full, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static bool exists(const char *root, const char *path)
{
	char full[512];
	snprintf(full, sizeof(full), "%s%s", root, path);
	return access(full, F_OK) == 0;
}

static bool param_on(const char *root, const char *path)
{
	char v[16];
	return read_line(root, path, v, sizeof(v)) == 0 && (v[0] == 'Y' || v[0] == '1');
}

static unsigned count_dir(const char *root, const char *path)
{
	char full[512];
	struct dirent *d;
	unsigned n = 0;
	DIR *dir;

	snprintf(full, sizeof(full), "%s%s", root, path);
	dir = opendir(full);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* "0-3,5" -> 5 */
static unsigned count_cpulist(const char *s)
{
	unsigned n = 0;
	while (*s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			break;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (b >= a)
			n += (unsigned)(b - a + 1);
		s = *end == ',' ? end + 1 : end;
		if (*end != ',')
			break;
	}
	return n;
}

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"

int sysinfo_read(const char *root, struct sysinfo_facts *f)
{
	char line[256];
	FILE *mi;
	char path[512];

	if (!root)
		return -EINVAL;
	if (strcmp(root, "/") == 0)
		root = "";
	memset(f, 0, sizeof(*f));
	f->boot_current = -1;
	if (read_line(root, "/etc/polyboot-version", f->version, sizeof(f->version)))
		snprintf(f->version, sizeof(f->version), "unknown");
	if (read_line(root, "/sys/devices/system/cpu/online", line, sizeof(line)) == 0)
		f->cpus = count_cpulist(line);
	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	mi = fopen(path, "re");
	if (mi) {
		while (fgets(line, sizeof(line), mi)) {
			unsigned long long kb;
			if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
				f->mem_total = kb * 1024;
		}
		fclose(mi);
	}
	f->efi = exists(root, "/sys/firmware/efi");
	snprintf(path, sizeof(path), "%s/sys/firmware/efi/efivars/BootCurrent-" EFI_GLOBAL_GUID, root);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			unsigned char b[6];
			/* efivarfs: 4 bytes of attributes, then the UINT16 value */
			if (read(fd, b, sizeof(b)) == 6)
				f->boot_current = b[4] | b[5] << 8;
			close(fd);
		}
	}
	f->kvm = exists(root, "/dev/kvm");
	if (exists(root, "/sys/module/kvm_amd")) {
		snprintf(f->kvm_vendor, sizeof(f->kvm_vendor), "kvm_amd");
		f->nested_paging = param_on(root, "/sys/module/kvm_amd/parameters/npt");
		f->nested = param_on(root, "/sys/module/kvm_amd/parameters/nested");
	} else if (exists(root, "/sys/module/kvm_intel")) {
		snprintf(f->kvm_vendor, sizeof(f->kvm_vendor), "kvm_intel");
		f->nested_paging = param_on(root, "/sys/module/kvm_intel/parameters/ept");
		f->nested = param_on(root, "/sys/module/kvm_intel/parameters/nested");
	}
	f->iommu_groups = count_dir(root, "/sys/kernel/iommu_groups");
	return 0;
}

void sysinfo_print(const struct sysinfo_facts *f, int fd)
{
	dprintf(fd, "version: %s\n", f->version);
	dprintf(fd, "cpus: %u\n", f->cpus);
	dprintf(fd, "memory: %llu MiB\n", (unsigned long long)(f->mem_total >> 20));
	dprintf(fd, "efi: %s\n", f->efi ? "yes" : "no");
	if (f->boot_current >= 0)
		dprintf(fd, "efi-boot-current: Boot%04X\n", f->boot_current);
	dprintf(fd, "kvm: %s\n", f->kvm ? "yes" : "no");
	dprintf(fd, "kvm-module: %s\n", f->kvm_vendor[0] ? f->kvm_vendor : "none");
	dprintf(fd, "nested-paging: %s\n", f->nested_paging ? "on" : "off");
	dprintf(fd, "iommu-groups: %u\n", f->iommu_groups);
}
