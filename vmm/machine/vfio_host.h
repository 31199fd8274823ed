/*
 * The host side of VFIO passthrough: the VFIO container (one per VM, type1
 * IOMMU, guest RAM mapped for DMA at iova = GPA), IOMMU groups, and the
 * device files with their regions mmap'ed. It implements the device and
 * eventfd ops the passthrough model (dev/vfio_pci.h) is given.
 *
 * Every failure is logged with the device's BDF and the sysfs or /dev path
 * involved, since a serial console is all there is to debug it from.
 * Setup and teardown run on the main thread; the ops run on vCPU threads.
 */
#ifndef POLYBOOT_VMM_MACHINE_VFIO_HOST_H
#define POLYBOOT_VMM_MACHINE_VFIO_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/vfio_pci.h"

#define VFIO_HOST_MAX_GROUPS	8
#define VFIO_HOST_MAX_DMA	4

struct vfio_container {
	int fd;				/* /dev/vfio/vfio; -1 when closed */
	bool iommu_set;			/* VFIO_SET_IOMMU done (after the first group) */
	int iommu_type;			/* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
	unsigned ngroups;
	struct {
		int id;
		int fd;
	} group[VFIO_HOST_MAX_GROUPS];
	unsigned ndma;
	struct {
		uint64_t iova, size;
	} dma[VFIO_HOST_MAX_DMA];
	const char *sysfs;		/* "/sys" (tests point elsewhere) */
	const char *devdir;		/* "/dev/vfio" */
};

/* The host's view of one region: where it is in the device file. */
struct vfio_host_region {
	uint64_t offset, size;
	uint32_t flags;			/* VFIO_REGION_INFO_FLAG_* */
};

struct vfio_host_dev {
	char bdf[16];
	struct vfio_container *c;
	int fd;				/* device fd; -1 when closed */
	int group;
	uint32_t flags;			/* VFIO_DEVICE_FLAGS_* */
	struct vfio_host_region cfg;
	struct vfio_host_region reg[VFIO_PCI_NREGIONS];
	struct vfio_pci_region region[VFIO_PCI_NREGIONS];	/* for the model */
	struct vfio_pci_irq_info irq[3];	/* INTx, MSI, MSI-X */
	char reset_method[32];		/* first entry of sysfs reset_method */
};

/*
 * Opens /dev/vfio/vfio (@devdir, default "/dev/vfio") and checks the API
 * version and type1 support; @sysfs defaults to "/sys". Returns 0 or
 * -errno (logged).
 */
int vfio_container_open(struct vfio_container *c, const char *sysfs, const char *devdir);

/* Maps [iova, iova+size) of the IOMMU to @hva (guest RAM, iova = GPA).
 * Needs at least one device opened. The pages stay pinned until close. */
int vfio_container_map_dma(struct vfio_container *c, uint64_t iova, uint64_t size, void *hva);

/* Unmaps the DMA ranges, closes the groups and the container. */
void vfio_container_close(struct vfio_container *c);

/*
 * Opens function @bdf ("0000:01:00.0") through its IOMMU group, attaching
 * the group to @c (the first one also sets the IOMMU type), and reads its
 * regions (mmap'ing what may be mapped) and interrupts. Returns 0 or
 * -errno; every failure is logged naming @bdf and the path.
 */
int vfio_host_dev_open(struct vfio_host_dev *h, struct vfio_container *c, const char *bdf);
void vfio_host_dev_close(struct vfio_host_dev *h);

/* The ops for vfio_pci_init(): the device, and eventfds. */
struct vfio_dev_ops vfio_host_dev_ops(struct vfio_host_dev *h);
struct vfio_efd_ops vfio_host_efd_ops(void);

/*
 * Pre-checks without opening anything, under @sysfs: the function exists,
 * is bound to vfio-pci and has an IOMMU group (*group). On failure writes
 * a one-line reason (with the path) into @why and returns -errno.
 */
int vfio_host_check_sysfs(const char *sysfs, const char *bdf, int *group, char *why, size_t len);

/* "0000:00:03.0 (vfio-pci), 0000:00:03.1 (snd_hda_intel)": the members of
 * IOMMU group @group and their drivers, into @buf. */
void vfio_host_group_members(const char *sysfs, int group, char *buf, size_t len);

/* Normalises "BB:DD.F" or "DDDD:BB:DD.F" (hex) to "dddd:bb:dd.f" in @out
 * (16 bytes). Returns 0 or -EINVAL. */
int vfio_parse_bdf(const char *s, char out[16]);

#endif
