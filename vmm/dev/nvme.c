/*
 * NVMe controller, NVM Express Base Specification 1.4 (section numbers
 * below). Submission entries are 64 bytes (CDW0: opcode, CID in 31:16;
 * NSID at 4; PRP1 at 24, PRP2 at 32; CDW10-15 at 40..63); completion
 * entries 16 bytes (DW0 result, DW2 SQ head | SQ id << 16, DW3 CID |
 * phase << 16 | status << 17).
 */
#define LOG_MOD "nvme"
#include "dev/nvme.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define SQE_SIZE 64
#define CQE_SIZE 16
#define MAX_PRPS ((1u << NVME_MDTS) + 1)

/* Admin opcodes (5). */
#define ADM_DELETE_SQ	0x00
#define ADM_CREATE_SQ	0x01
#define ADM_GET_LOG	0x02
#define ADM_DELETE_CQ	0x04
#define ADM_CREATE_CQ	0x05
#define ADM_IDENTIFY	0x06
#define ADM_ABORT	0x08
#define ADM_SET_FEAT	0x09
#define ADM_GET_FEAT	0x0a
#define ADM_AER		0x0c

/* NVM command set opcodes (6). */
#define IO_FLUSH	0x00
#define IO_WRITE	0x01
#define IO_READ		0x02
#define IO_WRITE_ZEROES	0x08
#define IO_DSM		0x09

/* Features (5.21.1). */
#define FEAT_ARBITRATION	0x01
#define FEAT_POWER_MGMT		0x02
#define FEAT_TEMP_THRESH	0x04
#define FEAT_ERR_RECOVERY	0x05
#define FEAT_VWC		0x06
#define FEAT_NUM_QUEUES		0x07
#define FEAT_IRQ_COALESCE	0x08
#define FEAT_IRQ_CONFIG		0x09
#define FEAT_WRITE_ATOMIC	0x0a
#define FEAT_ASYNC_EVENT	0x0b

/* Log pages (5.14.1). */
#define LOG_ERROR	0x01
#define LOG_SMART	0x02
#define LOG_FW_SLOT	0x03
#define LOG_EFFECTS	0x05

struct cmd {
	uint8_t opc;
	uint16_t cid;
	uint32_t nsid;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13;
};

static void parse_cmd(const uint8_t *e, struct cmd *c)
{
	uint32_t cdw0 = get_le32(e);

	c->opc = (uint8_t)cdw0;
	c->cid = (uint16_t)(cdw0 >> 16);
	c->nsid = get_le32(e + 4);
	c->prp1 = get_le64(e + 24);
	c->prp2 = get_le64(e + 32);
	c->cdw10 = get_le32(e + 40);
	c->cdw11 = get_le32(e + 44);
	c->cdw12 = get_le32(e + 48);
	c->cdw13 = get_le32(e + 52);
}

/* --- interrupts ---------------------------------------------------------------- */

/* Pin-based interrupts (7.5.1): asserted while any enabled CQ holds
 * entries the host has not consumed and vector 0 is not masked. */
static void update_intx(struct nvme *n)
{
	bool level = false;

	if (msix_enabled(&n->msix))
		return;
	for (unsigned i = 0; i <= n->nioq; i++) {
		struct nvme_cq *cq = &n->cq[i];
		if (cq->valid && cq->ien && cq->head != cq->tail)
			level = true;
	}
	if (n->intms & 1)
		level = false;
	if (level != n->intx) {
		n->intx = level;
		pci_set_irq(&n->pci, level);
	}
}

/* After posting to @cq (no queue lock held). */
static void cq_interrupt(struct nvme *n, struct nvme_cq *cq)
{
	if (!cq->ien)
		return;
	if (msix_enabled(&n->msix)) {
		msix_notify(&n->msix, cq->iv);
		return;
	}
	pthread_mutex_lock(&n->lock);
	update_intx(n);
	pthread_mutex_unlock(&n->lock);
}

/* --- queues ---------------------------------------------------------------------- */

static bool cq_full(const struct nvme_cq *cq)
{
	return (uint16_t)((cq->tail + 1) % cq->size) == cq->head;
}

/* Posts a completion; the caller checked for room. cq->lock held. */
static void cq_post(struct nvme_cq *cq, uint16_t sqid, uint16_t sqhd, uint16_t cid,
		    uint16_t status, uint32_t dw0)
{
	uint8_t *e = cq->ring + (size_t)cq->tail * CQE_SIZE;

	put_le32(e, dw0);
	put_le32(e + 4, 0);
	put_le32(e + 8, (uint32_t)sqhd | (uint32_t)sqid << 16);
	/* The phase tag makes the entry valid: write the dword holding it last. */
	__atomic_store_n((uint32_t *)(e + 12),
			 (uint32_t)cid | (uint32_t)cq->phase << 16 | (uint32_t)status << 17,
			 __ATOMIC_RELEASE);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase = !cq->phase;
	}
}

static void *queue_ring(struct nvme *n, uint64_t gpa, uint64_t bytes)
{
	if (gpa % NVME_PAGE)
		return NULL;
	return gm_ptr(n->mem, gpa, bytes);
}

static void sq_setup(struct nvme_sq *sq, uint64_t gpa, uint8_t *ring, uint16_t size, uint16_t cqid)
{
	sq->gpa = gpa;
	sq->ring = ring;
	sq->size = size;
	sq->head = 0;
	__atomic_store_n(&sq->tail, 0, __ATOMIC_RELAXED);
	sq->cqid = cqid;
	sq->valid = true;
}

static void cq_setup(struct nvme_cq *cq, uint64_t gpa, uint8_t *ring, uint16_t size, bool ien,
		     uint16_t iv)
{
	cq->gpa = gpa;
	cq->ring = ring;
	cq->size = size;
	cq->head = cq->tail = 0;
	cq->phase = true;
	cq->ien = ien;
	cq->iv = iv;
	cq->nsq = 0;
	cq->waiting = false;
	cq->valid = true;
}

/* Controller reset (CC.EN 1 -> 0, 7.3.2) and VM reset: every queue gone. */
static void ctrl_reset(struct nvme *n)
{
	for (unsigned i = 0; i <= NVME_MAX_IOQ; i++) {
		pthread_mutex_lock(&n->sq[i].lock);
		n->sq[i].valid = false;
		pthread_mutex_unlock(&n->sq[i].lock);
		pthread_mutex_lock(&n->cq[i].lock);
		n->cq[i].valid = false;
		pthread_mutex_unlock(&n->cq[i].lock);
	}
	n->csts &= ~(uint32_t)NVME_CSTS_RDY;
	n->naer = 0;
	n->queues_created = false;
	n->nsq_granted = n->ncq_granted = n->nioq;
	if (n->intx) {
		n->intx = false;
		pci_set_irq(&n->pci, 0);
	}
}

/* CC.EN 0 -> 1 (7.6.1): admin queues from AQA/ASQ/ACQ, checks of CC. */
static void ctrl_enable(struct nvme *n)
{
	unsigned sqs = (n->aqa & 0xfff) + 1, cqs = ((n->aqa >> 16) & 0xfff) + 1;
	unsigned mps = (n->cc >> 7) & 0xf, css = (n->cc >> 4) & 0x7, ams = (n->cc >> 11) & 0x7;
	uint8_t *sr = queue_ring(n, n->asq, (uint64_t)sqs * SQE_SIZE);
	uint8_t *cr = queue_ring(n, n->acq, (uint64_t)cqs * CQE_SIZE);

	if (mps != 0 || css != 0 || ams != 0 || sqs < 2 || cqs < 2 || !sr || !cr) {
		log_guest("%s: enable refused: CC %#x AQA %#x ASQ %#llx ACQ %#llx", n->pci.name,
			  n->cc, n->aqa, (unsigned long long)n->asq, (unsigned long long)n->acq);
		n->csts |= NVME_CSTS_CFS;
		return;
	}
	sq_setup(&n->sq[0], n->asq, sr, (uint16_t)sqs, 0);
	cq_setup(&n->cq[0], n->acq, cr, (uint16_t)cqs, true, 0);
	n->cq[0].nsq = 1;
	n->csts = NVME_CSTS_RDY;
}

/* --- PRPs (4.3) -------------------------------------------------------------------- */

struct xfer {
	struct iovec iov[MAX_PRPS];
	int n;
};

static int add_page(struct nvme *n, struct xfer *x, uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(n->mem, gpa, len);

	if (!p)
		return NVME_SC_DATA_XFER_ERROR;
	/* Merge with the previous piece when contiguous in host memory. */
	if (x->n && (uint8_t *)x->iov[x->n - 1].iov_base + x->iov[x->n - 1].iov_len == p) {
		x->iov[x->n - 1].iov_len += len;
		return 0;
	}
	if (x->n == (int)MAX_PRPS)
		return NVME_SC_INVALID_FIELD;
	x->iov[x->n++] = (struct iovec){ p, len };
	return 0;
}

/* Maps @len bytes described by PRP1/PRP2 into @x; returns an NVMe status. */
static int map_prps(struct nvme *n, const struct cmd *c, uint64_t len, struct xfer *x)
{
	uint64_t off = c->prp1 % NVME_PAGE, first = MIN(len, NVME_PAGE - off), left, list;
	int st;

	x->n = 0;
	if (len == 0)
		return 0;
	if (len > (uint64_t)NVME_PAGE << NVME_MDTS)
		return NVME_SC_INVALID_FIELD;
	if (c->prp1 & 3)
		return NVME_SC_PRP_OFFSET;
	if ((st = add_page(n, x, c->prp1, first)))
		return st;
	left = len - first;
	if (left == 0)
		return 0;
	if (left <= NVME_PAGE) {
		/* PRP2 is the second (and last) page. */
		if (c->prp2 % NVME_PAGE)
			return NVME_SC_PRP_OFFSET;
		return add_page(n, x, c->prp2, left);
	}
	/* PRP2 points to a PRP list; the last entry of a full list page
	 * points to the next list page. */
	list = c->prp2;
	if (list & 7)
		return NVME_SC_PRP_OFFSET;
	while (left) {
		uint64_t entries = (NVME_PAGE - list % NVME_PAGE) / 8, e;
		const uint8_t *l = gm_ptr(n->mem, list, entries * 8);

		if (!l)
			return NVME_SC_DATA_XFER_ERROR;
		for (uint64_t i = 0; i < entries && left; i++) {
			e = get_le64(l + 8 * i);
			if (i == entries - 1 && left > NVME_PAGE) {
				if (e & 7)
					return NVME_SC_PRP_OFFSET;
				list = e;	/* chained list page */
				break;
			}
			if (e % NVME_PAGE)
				return NVME_SC_PRP_OFFSET;
			if ((st = add_page(n, x, e, MIN(left, NVME_PAGE))))
				return st;
			left -= MIN(left, NVME_PAGE);
		}
	}
	return 0;
}

/* Copies @len bytes of @buf to the host buffer of an admin command. */
static int to_host(struct nvme *n, const struct cmd *c, const void *buf, uint64_t len)
{
	static __thread struct xfer x;
	const uint8_t *p = buf;
	int st = map_prps(n, c, len, &x);

	for (int i = 0; !st && i < x.n; i++) {
		memcpy(x.iov[i].iov_base, p, x.iov[i].iov_len);
		p += x.iov[i].iov_len;
	}
	return st;
}

/* --- identify (5.15) ------------------------------------------------------------------ */

static void put_str(uint8_t *dst, size_t len, const char *s)
{
	size_t k = strnlen(s, len);

	memset(dst, ' ', len);	/* ASCII, space padded */
	memcpy(dst, s, k);
}

static void identify_ctrl(struct nvme *n, uint8_t *id)
{
	uint16_t oncs = 0;

	put_le16(id + 0, pci_get16(&n->pci, PCI_VENDOR_ID));
	put_le16(id + 2, pci_get16(&n->pci, PCI_SUBSYSTEM_VENDOR_ID));
	put_str(id + 4, 20, n->blk->serial);
	put_str(id + 24, 40, "polyvmm NVMe disk");
	put_str(id + 64, 8, "1.0");
	id[72] = 6;			/* RAB */
	id[77] = NVME_MDTS;
	put_le32(id + 80, 0x00010400);	/* VER 1.4 */
	id[111] = 1;			/* CNTRLTYPE: I/O controller */
	id[258] = 3;			/* ACL: 4 aborts */
	id[259] = NVME_MAX_AER - 1;	/* AERL */
	id[260] = 0x03;			/* FRMW: 1 slot, slot 1 read-only */
	id[261] = 0x02;			/* LPA: commands supported and effects log */
	put_le16(id + 266, 0x0157);	/* WCTEMP 343 K */
	put_le16(id + 268, 0x0175);	/* CCTEMP 373 K */
	id[512] = 0x66;			/* SQES: 64 bytes */
	id[513] = 0x44;			/* CQES: 16 bytes */
	put_le32(id + 516, 1);		/* NN */
	if (n->blk->can_discard && !n->blk->ro)
		oncs |= 1u << 2;	/* dataset management */
	if (n->blk->can_write_zeroes && !n->blk->ro)
		oncs |= 1u << 3;	/* write zeroes */
	put_le16(id + 520, oncs);
	id[525] = 0x01;			/* VWC present: flush matters */
	snprintf((char *)id + 768, 256, "nqn.2026-01.org.polyboot:nvme:%s", n->blk->serial);
	put_le16(id + 2048, 2500);	/* PSD0: max power 25 W (0.01 W units) */
}

static void identify_ns(struct nvme *n, uint8_t *id)
{
	uint64_t nlb = n->blk->size >> n->lba_shift;

	put_le64(id + 0, nlb);		/* NSZE */
	put_le64(id + 8, nlb);		/* NCAP */
	put_le64(id + 16, nlb);		/* NUSE */
	id[25] = 0;			/* NLBAF: one format */
	id[26] = 0;			/* FLBAS: format 0 */
	if (n->blk->can_discard)
		id[33] = 0x08 | 0x01;	/* DLFEAT: deallocate in write zeroes, reads 0 */
	if (n->blk->ro)
		id[99] = 1;		/* NSATTR: write protected */
	memcpy(id + 104, n->nguid, 16);
	put_le32(id + 128, n->lba_shift << 16);	/* LBAF0: LBADS, no metadata */
}

static int admin_identify(struct nvme *n, const struct cmd *c)
{
	uint8_t *buf = calloc(1, NVME_PAGE);
	unsigned cns = c->cdw10 & 0xff;
	int st = 0;

	if (!buf)
		return NVME_SC_INTERNAL;
	switch (cns) {
	case 0x00:	/* namespace */
		if (c->nsid == 1)
			identify_ns(n, buf);
		else if (c->nsid != 0xffffffff)
			st = NVME_SC_INVALID_NS | NVME_SC_DNR;
		break;
	case 0x01:
		identify_ctrl(n, buf);
		break;
	case 0x02:	/* active namespaces above NSID */
		if (c->nsid >= 0xfffffffe)
			st = NVME_SC_INVALID_NS | NVME_SC_DNR;
		else if (c->nsid < 1)
			put_le32(buf, 1);
		break;
	case 0x03:	/* namespace identification descriptors: the NGUID */
		if (c->nsid != 1) {
			st = NVME_SC_INVALID_NS | NVME_SC_DNR;
			break;
		}
		buf[0] = 0x02;
		buf[1] = 16;
		memcpy(buf + 4, n->nguid, 16);
		break;
	default:
		st = NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	}
	if (!st)
		st = to_host(n, c, buf, NVME_PAGE);
	free(buf);
	return st;
}

/* --- log pages (5.14) --------------------------------------------------------------------- */

static void put_le128(uint8_t *p, uint64_t v)
{
	put_le64(p, v);
	put_le64(p + 8, 0);
}

static int admin_get_log(struct nvme *n, const struct cmd *c)
{
	unsigned lid = c->cdw10 & 0xff;
	uint64_t numd = ((c->cdw10 >> 16) | (uint64_t)(c->cdw11 & 0xffff) << 16) + 1;
	uint64_t len = numd * 4, off = c->cdw12 | (uint64_t)c->cdw13 << 32, size;
	uint8_t *page, *out;
	int st;

	switch (lid) {
	case LOG_ERROR:
		size = 64;	/* ELPE 0: one (empty) entry */
		break;
	case LOG_SMART:
	case LOG_FW_SLOT:
		size = 512;
		break;
	case LOG_EFFECTS:
		size = 4096;
		break;
	default:
		return NVME_SC_LOG_INVALID | NVME_SC_DNR;
	}
	if (off % 4 || off >= size || len > (uint64_t)NVME_PAGE << NVME_MDTS)
		return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	page = calloc(1, size);
	out = calloc(1, len);
	if (!page || !out) {
		free(page);
		free(out);
		return NVME_SC_INTERNAL;
	}
	if (lid == LOG_SMART) {
		uint64_t rd = __atomic_load_n(&n->stats.bytes_read, __ATOMIC_RELAXED);
		uint64_t wr = __atomic_load_n(&n->stats.bytes_written, __ATOMIC_RELAXED);

		put_le16(page + 1, 313);	/* composite temperature, K */
		page[3] = 100;			/* available spare */
		page[4] = 10;			/* spare threshold */
		/* data units: thousands of 512-byte units, rounded up */
		put_le128(page + 32, (rd / 512 + 999) / 1000);
		put_le128(page + 48, (wr / 512 + 999) / 1000);
		put_le128(page + 64, __atomic_load_n(&n->stats.reads, __ATOMIC_RELAXED));
		put_le128(page + 80, __atomic_load_n(&n->stats.writes, __ATOMIC_RELAXED));
		put_le128(page + 112, 1);	/* power cycles */
	} else if (lid == LOG_FW_SLOT) {
		page[0] = 1;			/* active slot 1 */
		put_str(page + 8, 8, "1.0");
	} else if (lid == LOG_EFFECTS) {
		static const uint8_t adm[] = { ADM_DELETE_SQ, ADM_CREATE_SQ, ADM_GET_LOG, ADM_DELETE_CQ,
					       ADM_CREATE_CQ, ADM_IDENTIFY, ADM_ABORT, ADM_SET_FEAT,
					       ADM_GET_FEAT, ADM_AER };
		for (unsigned i = 0; i < sizeof(adm); i++)
			put_le32(page + 4 * adm[i], 1);	/* CSUPP */
		put_le32(page + 1024 + 4 * IO_FLUSH, 1);
		put_le32(page + 1024 + 4 * IO_READ, 1);
		put_le32(page + 1024 + 4 * IO_WRITE, 1 | 2);	/* CSUPP | LBCC */
		if (n->blk->can_write_zeroes)
			put_le32(page + 1024 + 4 * IO_WRITE_ZEROES, 1 | 2);
		if (n->blk->can_discard)
			put_le32(page + 1024 + 4 * IO_DSM, 1 | 2);
	}
	memcpy(out, page + off, MIN(len, size - off));
	st = to_host(n, c, out, len);
	free(page);
	free(out);
	return st;
}

/* --- features (5.21) ----------------------------------------------------------------------- */

static int admin_features(struct nvme *n, const struct cmd *c, uint32_t *dw0)
{
	unsigned fid = c->cdw10 & 0xff, sel = (c->cdw10 >> 8) & 7;
	bool set = c->opc == ADM_SET_FEAT;

	switch (fid) {
	case FEAT_ARBITRATION:
	case FEAT_POWER_MGMT:
	case FEAT_TEMP_THRESH:
	case FEAT_ERR_RECOVERY:
	case FEAT_IRQ_COALESCE:
	case FEAT_IRQ_CONFIG:
	case FEAT_WRITE_ATOMIC:
	case FEAT_ASYNC_EVENT:
	case FEAT_VWC:
		break;
	case FEAT_NUM_QUEUES:
		if (set) {
			unsigned nsq = (c->cdw11 & 0xffff) + 1, ncq = (c->cdw11 >> 16) + 1;
			/* 0xffff (65536 queues) is invalid; after queues exist it is too late. */
			if (nsq > 65535 || ncq > 65535)
				return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
			if (n->queues_created)
				return NVME_SC_CMD_SEQ_ERROR | NVME_SC_DNR;
			n->nsq_granted = MIN(nsq, n->nioq);
			n->ncq_granted = MIN(ncq, n->nioq);
		}
		*dw0 = (n->ncq_granted - 1) << 16 | (n->nsq_granted - 1);
		return 0;
	default:
		return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	}
	if (set) {
		if (c->cdw10 & (1u << 31))	/* SV: nothing is saveable */
			return NVME_SC_FEAT_NOT_SAVEABLE | NVME_SC_DNR;
		n->feat[fid] = c->cdw11;
	}
	*dw0 = sel == 3 ? 0x4 : n->feat[fid];	/* SEL 3: capabilities: changeable */
	return 0;
}

/* --- queue management (5.3-5.6) ------------------------------------------------------------ */

static int admin_create_cq(struct nvme *n, const struct cmd *c)
{
	unsigned qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1, iv = c->cdw11 >> 16;
	bool pc = c->cdw11 & 1, ien = c->cdw11 & 2;
	uint8_t *ring;

	if (qid == 0 || qid > n->ncq_granted || n->cq[qid].valid)
		return NVME_SC_QID_INVALID | NVME_SC_DNR;
	if (size < 2 || size > NVME_MAX_QSIZE)
		return NVME_SC_QSIZE_INVALID | NVME_SC_DNR;
	if (!pc)	/* CAP.CQR: queues must be physically contiguous */
		return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	if (iv >= n->msix.nvec)
		return NVME_SC_IV_INVALID | NVME_SC_DNR;
	ring = queue_ring(n, c->prp1, (uint64_t)size * CQE_SIZE);
	if (!ring)
		return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	pthread_mutex_lock(&n->cq[qid].lock);
	cq_setup(&n->cq[qid], c->prp1, ring, (uint16_t)size, ien, (uint16_t)iv);
	pthread_mutex_unlock(&n->cq[qid].lock);
	n->queues_created = true;
	return 0;
}

static int admin_create_sq(struct nvme *n, const struct cmd *c)
{
	unsigned qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1, cqid = c->cdw11 >> 16;
	bool pc = c->cdw11 & 1;
	uint8_t *ring;

	if (qid == 0 || qid > n->nsq_granted || n->sq[qid].valid)
		return NVME_SC_QID_INVALID | NVME_SC_DNR;
	if (size < 2 || size > NVME_MAX_QSIZE)
		return NVME_SC_QSIZE_INVALID | NVME_SC_DNR;
	if (cqid == 0 || cqid > NVME_MAX_IOQ || !n->cq[cqid].valid)
		return NVME_SC_CQ_INVALID | NVME_SC_DNR;
	if (!pc)
		return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	ring = queue_ring(n, c->prp1, (uint64_t)size * SQE_SIZE);
	if (!ring)
		return NVME_SC_INVALID_FIELD | NVME_SC_DNR;
	pthread_mutex_lock(&n->sq[qid].lock);
	sq_setup(&n->sq[qid], c->prp1, ring, (uint16_t)size, (uint16_t)cqid);
	pthread_mutex_unlock(&n->sq[qid].lock);
	pthread_mutex_lock(&n->cq[cqid].lock);
	n->cq[cqid].nsq++;
	pthread_mutex_unlock(&n->cq[cqid].lock);
	n->queues_created = true;
	return 0;
}

static int admin_delete_sq(struct nvme *n, const struct cmd *c)
{
	unsigned qid = c->cdw10 & 0xffff, cqid;

	if (qid == 0 || qid > NVME_MAX_IOQ || !n->sq[qid].valid)
		return NVME_SC_QID_INVALID | NVME_SC_DNR;
	/* Commands run to completion inside nvme_process_sq(), which holds
	 * the queue lock: once we have it, nothing of this queue is in flight. */
	pthread_mutex_lock(&n->sq[qid].lock);
	n->sq[qid].valid = false;
	cqid = n->sq[qid].cqid;
	pthread_mutex_unlock(&n->sq[qid].lock);
	pthread_mutex_lock(&n->cq[cqid].lock);
	n->cq[cqid].nsq--;
	pthread_mutex_unlock(&n->cq[cqid].lock);
	return 0;
}

static int admin_delete_cq(struct nvme *n, const struct cmd *c)
{
	unsigned qid = c->cdw10 & 0xffff;
	int st = 0;

	if (qid == 0 || qid > NVME_MAX_IOQ || !n->cq[qid].valid)
		return NVME_SC_QID_INVALID | NVME_SC_DNR;
	pthread_mutex_lock(&n->cq[qid].lock);
	if (n->cq[qid].nsq)
		st = NVME_SC_QDEL_INVALID | NVME_SC_DNR;
	else
		n->cq[qid].valid = false;
	pthread_mutex_unlock(&n->cq[qid].lock);
	update_intx(n);
	return st;
}

/* Runs one admin command; returns its status, or -1 when it completes
 * later (asynchronous event request). n->lock held. */
static int admin_cmd(struct nvme *n, const struct cmd *c, uint32_t *dw0)
{
	switch (c->opc) {
	case ADM_DELETE_SQ:
		return admin_delete_sq(n, c);
	case ADM_CREATE_SQ:
		return admin_create_sq(n, c);
	case ADM_GET_LOG:
		return admin_get_log(n, c);
	case ADM_DELETE_CQ:
		return admin_delete_cq(n, c);
	case ADM_CREATE_CQ:
		return admin_create_cq(n, c);
	case ADM_IDENTIFY:
		return admin_identify(n, c);
	case ADM_ABORT:
		*dw0 = 1;	/* commands finish synchronously: nothing to abort */
		return 0;
	case ADM_SET_FEAT:
	case ADM_GET_FEAT:
		return admin_features(n, c, dw0);
	case ADM_AER:
		/* Held until an event; we never have one, so only the limit matters. */
		if (n->naer == NVME_MAX_AER)
			return NVME_SC_AER_LIMIT | NVME_SC_DNR;
		n->aer_cid[n->naer++] = c->cid;
		return -1;
	default:
		return NVME_SC_INVALID_OPCODE | NVME_SC_DNR;
	}
}

/* --- I/O commands (6) ---------------------------------------------------------------------- */

static int blk_status(struct nvme *n, int r, bool write)
{
	if (r == 0)
		return 0;
	__atomic_fetch_add(&n->stats.errors, 1, __ATOMIC_RELAXED);
	if (r == -EROFS)
		return NVME_SC_NS_WRITE_PROTECTED | NVME_SC_DNR;
	if (r == -EOPNOTSUPP)
		return NVME_SC_INVALID_OPCODE | NVME_SC_DNR;
	log_guest("%s: %s: %s error: %s", n->pci.name, n->blk->desc, write ? "write" : "read",
		  strerror(-r));
	return write ? NVME_SC_WRITE_FAULT : NVME_SC_READ_ERROR;
}

static int lba_range(struct nvme *n, uint64_t slba, uint64_t nlb, uint64_t *off, uint64_t *len)
{
	uint64_t total = n->blk->size >> n->lba_shift;

	if (slba > total || nlb > total - slba)
		return NVME_SC_LBA_RANGE | NVME_SC_DNR;
	*off = slba << n->lba_shift;
	*len = nlb << n->lba_shift;
	return 0;
}

static int io_rw(struct nvme *n, const struct cmd *c, struct xfer *x)
{
	bool write = c->opc == IO_WRITE;
	uint64_t slba = c->cdw10 | (uint64_t)c->cdw11 << 32, nlb = (c->cdw12 & 0xffff) + 1, off, len;
	int st = lba_range(n, slba, nlb, &off, &len), r;

	if (st)
		return st;
	if (write && n->blk->ro)
		return NVME_SC_NS_WRITE_PROTECTED | NVME_SC_DNR;
	if ((st = map_prps(n, c, len, x)))
		return st | NVME_SC_DNR;
	if (write) {
		r = blk_writev(n->blk, x->iov, x->n, off);
		if (r == 0 && (c->cdw12 & (1u << 30)))	/* FUA */
			r = blk_flush(n->blk);
		if (r == 0) {
			__atomic_fetch_add(&n->stats.writes, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&n->stats.bytes_written, len, __ATOMIC_RELAXED);
		}
	} else {
		r = blk_readv(n->blk, x->iov, x->n, off);
		if (r == 0) {
			__atomic_fetch_add(&n->stats.reads, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&n->stats.bytes_read, len, __ATOMIC_RELAXED);
		}
	}
	return blk_status(n, r, write);
}

static int io_dsm(struct nvme *n, const struct cmd *c, struct xfer *x)
{
	unsigned nr = (c->cdw10 & 0xff) + 1;
	uint8_t ranges[256 * 16];
	uint8_t *p = ranges;
	int st;

	if (!(c->cdw11 & 4))	/* only "deallocate" does something here */
		return 0;
	if (n->blk->ro)
		return NVME_SC_NS_WRITE_PROTECTED | NVME_SC_DNR;
	if ((st = map_prps(n, c, nr * 16, x)))
		return st | NVME_SC_DNR;
	for (int i = 0; i < x->n; i++) {
		memcpy(p, x->iov[i].iov_base, x->iov[i].iov_len);
		p += x->iov[i].iov_len;
	}
	for (unsigned i = 0; i < nr; i++) {
		uint64_t slba = get_le64(ranges + 16 * i + 8), nlb = get_le32(ranges + 16 * i + 4);
		uint64_t off, len;

		if ((st = lba_range(n, slba, nlb, &off, &len)))
			return st;
		/* Deallocation is advisory (6.7.1.1): a backend that cannot is fine. */
		if (len)
			blk_discard(n->blk, off, len);
	}
	return 0;
}

static int io_cmd(struct nvme *n, const struct cmd *c, struct xfer *x)
{
	uint64_t off, len;
	int st;

	if (c->opc == IO_FLUSH && (c->nsid == 1 || c->nsid == 0xffffffff)) {
		__atomic_fetch_add(&n->stats.flushes, 1, __ATOMIC_RELAXED);
		return blk_status(n, blk_flush(n->blk), true);
	}
	if (c->nsid != 1)
		return NVME_SC_INVALID_NS | NVME_SC_DNR;
	switch (c->opc) {
	case IO_READ:
	case IO_WRITE:
		return io_rw(n, c, x);
	case IO_WRITE_ZEROES:
		if (!n->blk->can_write_zeroes)
			break;
		st = lba_range(n, c->cdw10 | (uint64_t)c->cdw11 << 32, (c->cdw12 & 0xffff) + 1, &off, &len);
		if (st)
			return st;
		return blk_status(n, blk_write_zeroes(n->blk, off, len, c->cdw12 & (1u << 25)), true);
	case IO_DSM:
		if (!n->blk->can_discard)
			break;
		return io_dsm(n, c, x);
	}
	return NVME_SC_INVALID_OPCODE | NVME_SC_DNR;
}

/* --- submission queue processing ------------------------------------------------------------ */

/*
 * Runs @sqid from its head to the doorbell tail. @admin: n->lock is held
 * and commands are admin commands. Returns the CQ to interrupt, or NULL.
 */
static struct nvme_cq *run_sq(struct nvme *n, unsigned sqid, bool admin)
{
	static __thread struct xfer x;
	struct nvme_sq *sq = &n->sq[sqid];
	struct nvme_cq *cq;
	bool posted = false;

	pthread_mutex_lock(&sq->lock);
	if (!sq->valid || !(n->csts & NVME_CSTS_RDY)) {
		pthread_mutex_unlock(&sq->lock);
		return NULL;
	}
	cq = &n->cq[sq->cqid];
	for (;;) {
		uint16_t tail = __atomic_load_n(&sq->tail, __ATOMIC_ACQUIRE);
		uint8_t e[SQE_SIZE];
		uint32_t dw0 = 0;
		struct cmd c;
		int st;

		if (sq->head == tail)
			break;
		pthread_mutex_lock(&cq->lock);
		if (!cq->valid || cq_full(cq)) {
			/* Resumed by the CQ head doorbell. */
			cq->waiting = true;
			pthread_mutex_unlock(&cq->lock);
			break;
		}
		pthread_mutex_unlock(&cq->lock);

		memcpy(e, sq->ring + (size_t)sq->head * SQE_SIZE, SQE_SIZE);
		sq->head = (uint16_t)((sq->head + 1) % sq->size);
		parse_cmd(e, &c);
		if ((get_le32(e) >> 8) & 0xff) {
			/* FUSE and PSDT (SGLs) are not supported (Identify SGLS 0). */
			st = NVME_SC_INVALID_FIELD | NVME_SC_DNR;
		} else {
			st = admin ? admin_cmd(n, &c, &dw0) : io_cmd(n, &c, &x);
		}
		if (st < 0)
			continue;	/* completes later */
		pthread_mutex_lock(&cq->lock);
		cq_post(cq, (uint16_t)sqid, sq->head, c.cid, (uint16_t)st, dw0);
		pthread_mutex_unlock(&cq->lock);
		posted = true;
	}
	pthread_mutex_unlock(&sq->lock);
	return posted ? cq : NULL;
}

void nvme_process_sq(struct nvme *n, unsigned sqid)
{
	struct nvme_cq *cq;

	if (sqid == 0 || sqid > NVME_MAX_IOQ)
		return;
	cq = run_sq(n, sqid, false);
	if (cq)
		cq_interrupt(n, cq);
}

/* --- registers -------------------------------------------------------------------------------- */

static uint64_t cap_value(void)
{
	return (uint64_t)(NVME_MAX_QSIZE - 1)	/* MQES */
	       | 1ULL << 16			/* CQR: contiguous queues required */
	       | 30ULL << 24			/* TO: 15 s */
	       | 1ULL << 37;			/* CSS: NVM command set */
	/* DSTRD 0 (4-byte doorbells), MPSMIN = MPSMAX = 0 (4 KiB pages) */
}

static uint64_t reg_read(struct nvme *n, uint64_t off, unsigned size)
{
	uint8_t r[0x38] = { 0 };
	uint64_t v = 0;

	if (off + size > sizeof(r))
		return 0;
	put_le64(r + NVME_REG_CAP, cap_value());
	put_le32(r + NVME_REG_VS, 0x00010400);
	put_le32(r + NVME_REG_INTMS, n->intms);
	put_le32(r + NVME_REG_INTMC, n->intms);
	put_le32(r + NVME_REG_CC, n->cc);
	put_le32(r + NVME_REG_CSTS, n->csts);
	put_le32(r + NVME_REG_AQA, n->aqa);
	put_le64(r + NVME_REG_ASQ, n->asq);
	put_le64(r + NVME_REG_ACQ, n->acq);
	memcpy(&v, r + off, size);
	return v;
}

static void set_bytes64(uint64_t *reg, unsigned byte, uint64_t val, unsigned size)
{
	uint64_t mask = size == 8 ? ~0ULL : ((1ULL << (8 * size)) - 1) << (8 * byte);
	*reg = (*reg & ~mask) | ((val << (8 * byte)) & mask);
}

static void write_cc(struct nvme *n, uint32_t v)
{
	uint32_t old = n->cc;

	n->cc = v;
	if ((v & NVME_CC_EN) && !(old & NVME_CC_EN))
		ctrl_enable(n);
	else if (!(v & NVME_CC_EN) && (old & NVME_CC_EN))
		ctrl_reset(n);
	if (((v >> 14) & 3) && !((old >> 14) & 3)) {
		/* Shutdown notification (7.6.2): make the data durable. */
		blk_flush(n->blk);
		n->csts = (n->csts & ~0xcu) | 0x8;	/* SHST: complete */
	} else if (!((v >> 14) & 3)) {
		n->csts &= ~0xcu;
	}
}

static void reg_write(struct nvme *n, uint64_t off, uint64_t val, unsigned size)
{
	switch (off) {
	case NVME_REG_INTMS:
		n->intms |= (uint32_t)val;
		update_intx(n);
		return;
	case NVME_REG_INTMC:
		n->intms &= ~(uint32_t)val;
		update_intx(n);
		return;
	case NVME_REG_CC:
		write_cc(n, (uint32_t)val);
		return;
	case NVME_REG_AQA:
		if (!(n->cc & NVME_CC_EN))
			n->aqa = (uint32_t)val & 0x0fff0fff;
		return;
	}
	if (n->cc & NVME_CC_EN)
		return;	/* ASQ and ACQ change only while disabled */
	if (off >= NVME_REG_ASQ && off + size <= NVME_REG_ASQ + 8)
		set_bytes64(&n->asq, (unsigned)(off - NVME_REG_ASQ), val & ~0xfffULL, size);
	else if (off >= NVME_REG_ACQ && off + size <= NVME_REG_ACQ + 8)
		set_bytes64(&n->acq, (unsigned)(off - NVME_REG_ACQ), val & ~0xfffULL, size);
}

/* Doorbell @idx: even = SQ tail of queue idx/2, odd = CQ head. */
static void doorbell(struct nvme *n, unsigned idx, uint32_t val)
{
	unsigned qid = idx / 2;
	struct nvme_cq *cq = NULL, *admin_cq = NULL;
	bool kick = false;

	if (qid > NVME_MAX_IOQ)
		return;
	pthread_mutex_lock(&n->lock);
	if (!(idx & 1)) {
		struct nvme_sq *sq = &n->sq[qid];
		if (!sq->valid || val >= sq->size) {
			log_guest("%s: bad SQ %u tail doorbell %u", n->pci.name, qid, val);
		} else {
			__atomic_store_n(&sq->tail, (uint16_t)val, __ATOMIC_RELEASE);
			if (qid == 0)
				admin_cq = run_sq(n, 0, true);
			else
				kick = true;
		}
	} else {
		cq = &n->cq[qid];
		pthread_mutex_lock(&cq->lock);
		if (!cq->valid || val >= cq->size) {
			log_guest("%s: bad CQ %u head doorbell %u", n->pci.name, qid, val);
			cq = NULL;
		} else {
			cq->head = (uint16_t)val;
			if (!cq->waiting)
				cq = NULL;
			else
				cq->waiting = false;
		}
		pthread_mutex_unlock(&n->cq[qid].lock);
		update_intx(n);	/* the INTx level follows the consumed entries */
	}
	pthread_mutex_unlock(&n->lock);
	if (admin_cq)
		cq_interrupt(n, admin_cq);
	if (kick && n->host.kick)
		n->host.kick(n->host.ctx, qid);
	if (cq) {
		/* Room again: restart the submission queues that wait on it. */
		for (unsigned s = 0; s <= NVME_MAX_IOQ; s++) {
			if (!n->sq[s].valid || n->sq[s].cqid != qid)
				continue;
			if (s == 0) {
				pthread_mutex_lock(&n->lock);
				admin_cq = run_sq(n, 0, true);
				pthread_mutex_unlock(&n->lock);
				if (admin_cq)
					cq_interrupt(n, admin_cq);
			} else if (n->host.kick) {
				n->host.kick(n->host.ctx, s);
			}
		}
	}
}

uint64_t nvme_bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct nvme *n = opaque;
	uint64_t v;

	if (off >= NVME_MSIX_OFF)
		return msix_table_read(&n->msix, off - NVME_MSIX_OFF, size);
	if (off >= NVME_REG_DBS)
		return 0;	/* doorbells are write-only */
	pthread_mutex_lock(&n->lock);
	v = reg_read(n, off, size);
	pthread_mutex_unlock(&n->lock);
	return v;
}

void nvme_bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct nvme *n = opaque;

	if (off >= NVME_MSIX_OFF) {
		msix_table_write(&n->msix, off - NVME_MSIX_OFF, val, size);
		return;
	}
	if (off >= NVME_REG_DBS) {
		if (size == 4 && off % 4 == 0)
			doorbell(n, (unsigned)(off - NVME_REG_DBS) / 4, (uint32_t)val);
		return;
	}
	pthread_mutex_lock(&n->lock);
	reg_write(n, off, val, size);
	pthread_mutex_unlock(&n->lock);
}

static const struct io_ops bar0_ops = {
	.read = nvme_bar0_read,
	.write = nvme_bar0_write,
};

/* --- PCI -------------------------------------------------------------------------------------- */

static void nvme_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	struct nvme *n = d->opaque;
	msix_cfg_write(&n->msix, off, size);
}

static void nvme_pci_reset(struct pci_dev *d)
{
	struct nvme *n = d->opaque;

	pthread_mutex_lock(&n->lock);
	ctrl_reset(n);
	n->cc = n->csts = n->aqa = n->intms = 0;
	n->asq = n->acq = 0;
	memset(n->feat, 0, sizeof(n->feat));
	n->feat[FEAT_VWC] = 1;
	pthread_mutex_unlock(&n->lock);
	msix_reset(&n->msix);
}

static const struct pci_dev_ops nvme_pci_ops = {
	.cfg_write = nvme_cfg_write,
	.reset = nvme_pci_reset,
};

/* A stable namespace GUID from the serial and size (FNV-1a). */
static void make_nguid(struct nvme *n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *s = n->blk->serial;

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; s[i]; i++)
			h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
		h = (h ^ n->blk->size) * 0x100000001b3ULL;
		put_be64(n->nguid + 8 * round, h);
	}
}

int nvme_init(struct nvme *n, const char *name, struct blk *blk, unsigned nioq,
	      const struct guest_mem *mem, struct msi_sink sink, struct nvme_host host)
{
	struct pci_dev *d = &n->pci;
	int r, pm;

	if (nioq == 0 || nioq > NVME_MAX_IOQ || (blk->lbs != 512 && blk->lbs != 4096))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->blk = blk;
	n->mem = mem;
	n->host = host;
	n->nioq = nioq;
	n->nsq_granted = n->ncq_granted = nioq;
	n->lba_shift = blk->lbs == 4096 ? 12 : 9;
	n->feat[FEAT_VWC] = 1;
	pthread_mutex_init(&n->lock, NULL);
	for (unsigned i = 0; i <= NVME_MAX_IOQ; i++) {
		pthread_mutex_init(&n->sq[i].lock, NULL);
		pthread_mutex_init(&n->cq[i].lock, NULL);
	}
	make_nguid(n);

	/* 1b36:0010 is the ID OSes know for an emulated NVMe controller; the
	 * class (01:08:02, NVMe I/O controller) is what binds the drivers. */
	pci_dev_init(d, name, 0x1b36, 0x0010, 0x010802, 2, true);
	pci_dev_set_subsystem(d, 0x1af4, 0x1100);
	pci_dev_set_intx_pin(d, 1);
	d->ops = &nvme_pci_ops;
	d->opaque = n;
	r = pci_dev_set_bar(d, 0, PCI_BAR_MEM64, NVME_BAR0_SIZE, false, &bar0_ops, n);
	if (r < 0)
		return r;
	pm = pci_add_cap(d, PCI_CAP_ID_PM, 8);
	if (pm < 0)
		return pm;
	pci_set16(d->cfg, (unsigned)pm + 2, 0x0003);		/* PMC: version 1.2 */
	pci_set16(d->cfg, (unsigned)pm + 4, 0x0008);		/* PMCSR: no soft reset */
	pci_set16(d->wmask, (unsigned)pm + 4, 0x0003);		/* power state */
	r = msix_init(&n->msix, d, nioq + 1, 0, NVME_MSIX_OFF, NVME_PBA_OFF, sink);
	if (r < 0)
		return r;
	r = pci_add_pcie_cap(d, PCI_EXP_TYPE_RC_END);
	return r < 0 ? r : 0;
}
