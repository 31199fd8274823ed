/*
 * NVMe controller (NVM Express 1.4 subset) with one namespace on a struct
 * blk backend: what OVMF's NvmExpressDxe, Linux's nvme driver and
 * Windows' stornvme use. Registers CAP/VS/INTMS/INTMC/CC/CSTS/AQA/ASQ/ACQ
 * and doorbells in BAR 0 (with the MSI-X table and PBA), admin commands
 * (identify, create/delete I/O queues, get/set features, get log page,
 * abort, asynchronous event request), I/O commands (read, write, flush,
 * write zeroes, dataset management), PRP lists, MSI-X per completion
 * queue or INTx, phase tags, controller reset and shutdown.
 *
 * Threads: register and doorbell writes come from vCPU threads. Admin
 * commands run right there (they never touch the backend). An I/O
 * submission doorbell only records the new tail and calls the injected
 * kick; the machine runs nvme_process_sq() for that queue on its I/O
 * thread. Each queue has its own lock; the controller lock covers the
 * queue tables and the registers.
 *
 * Everything the guest controls (queue addresses and sizes, PRPs,
 * command fields, doorbell values) is checked; a bad command completes
 * with the status code the specification gives for it.
 */
#ifndef POLYBOOT_VMM_DEV_NVME_H
#define POLYBOOT_VMM_DEV_NVME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "core/irq.h"
#include "disk/blk.h"
#include "pci/msix.h"
#include "pci/pci.h"

#define NVME_MAX_IOQ	16		/* I/O submission = completion queues */
#define NVME_MAX_QSIZE	1024		/* CAP.MQES + 1 */
#define NVME_PAGE	4096u		/* CC.MPS 0, the only page size we offer */
#define NVME_MDTS	7		/* max transfer 2^7 pages = 512 KiB */
#define NVME_MAX_AER	4
#define NVME_BAR0_SIZE	0x4000
#define NVME_MSIX_OFF	0x2000
#define NVME_PBA_OFF	0x3000

/* Registers (NVMe 1.4, 3.1). */
#define NVME_REG_CAP	0x00
#define NVME_REG_VS	0x08
#define NVME_REG_INTMS	0x0c
#define NVME_REG_INTMC	0x10
#define NVME_REG_CC	0x14
#define NVME_REG_CSTS	0x1c
#define NVME_REG_AQA	0x24
#define NVME_REG_ASQ	0x28
#define NVME_REG_ACQ	0x30
#define NVME_REG_DBS	0x1000

#define NVME_CC_EN	0x1
#define NVME_CSTS_RDY	0x1
#define NVME_CSTS_CFS	0x2

/* Status: SCT << 8 | SC (NVMe 1.4, 4.6.1.2). */
#define NVME_SC_SUCCESS			0x000
#define NVME_SC_INVALID_OPCODE		0x001
#define NVME_SC_INVALID_FIELD		0x002
#define NVME_SC_DATA_XFER_ERROR		0x004
#define NVME_SC_INTERNAL		0x006
#define NVME_SC_INVALID_NS		0x00b
#define NVME_SC_CMD_SEQ_ERROR		0x00c
#define NVME_SC_PRP_OFFSET		0x013
#define NVME_SC_NS_WRITE_PROTECTED	0x020
#define NVME_SC_LBA_RANGE		0x080
#define NVME_SC_CQ_INVALID		0x100
#define NVME_SC_QID_INVALID		0x101
#define NVME_SC_QSIZE_INVALID		0x102
#define NVME_SC_AER_LIMIT		0x105
#define NVME_SC_IV_INVALID		0x108
#define NVME_SC_LOG_INVALID		0x109
#define NVME_SC_QDEL_INVALID		0x10c
#define NVME_SC_FEAT_NOT_SAVEABLE	0x10d
#define NVME_SC_WRITE_FAULT		0x280
#define NVME_SC_READ_ERROR		0x281
#define NVME_SC_DNR			0x4000	/* do not retry */

struct nvme_cq {
	bool valid;
	uint64_t gpa;
	uint8_t *ring;			/* host pointer, size * 16 bytes */
	uint16_t size, head, tail;
	bool phase;
	bool ien;
	uint16_t iv;
	unsigned nsq;			/* submission queues using it */
	bool waiting;			/* an SQ stopped because this CQ was full */
	pthread_mutex_t lock;
};

struct nvme_sq {
	bool valid;
	uint64_t gpa;
	uint8_t *ring;			/* size * 64 bytes */
	uint16_t size, head;
	uint16_t tail;			/* last doorbell value; atomic */
	uint16_t cqid;
	pthread_mutex_t lock;
};

/* Injected by the machine: run nvme_process_sq(@sqid) soon, elsewhere. */
struct nvme_host {
	void (*kick)(void *ctx, unsigned sqid);
	void *ctx;
};

struct nvme_stats {
	uint64_t reads, writes, flushes, errors;	/* commands */
	uint64_t bytes_read, bytes_written;
};

struct nvme {
	struct pci_dev pci;
	struct msix msix;
	struct blk *blk;
	const struct guest_mem *mem;
	struct nvme_host host;
	unsigned nioq;			/* I/O queue pairs offered */
	unsigned lba_shift;		/* 9 or 12 */

	pthread_mutex_t lock;		/* registers and queue tables */
	uint32_t cc, csts, aqa, intms;
	uint64_t asq, acq;
	struct nvme_sq sq[NVME_MAX_IOQ + 1];	/* [0] is the admin queue */
	struct nvme_cq cq[NVME_MAX_IOQ + 1];
	unsigned nsq_granted, ncq_granted;	/* Number of Queues feature */
	bool queues_created;
	uint16_t aer_cid[NVME_MAX_AER];
	unsigned naer;
	uint32_t feat[256];		/* stored feature values */
	uint8_t nguid[16];
	bool intx;			/* INTx level */
	struct nvme_stats stats;	/* atomics */
};

/*
 * Sets up the controller with up to @nioq I/O queue pairs (1..16) for
 * namespace 1 on @blk. The caller adds n->pci to the bus.
 */
int nvme_init(struct nvme *n, const char *name, struct blk *blk, unsigned nioq,
	      const struct guest_mem *mem, struct msi_sink sink, struct nvme_host host);

/* Executes the I/O submission queue @sqid up to its tail. */
void nvme_process_sq(struct nvme *n, unsigned sqid);

/* BAR 0 handlers, exposed for tests (the PCI core calls them). */
uint64_t nvme_bar0_read(void *opaque, uint64_t off, unsigned size);
void nvme_bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size);

#endif
