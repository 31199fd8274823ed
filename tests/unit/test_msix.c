/* MSI-X: capability, table and PBA accesses, masking and pending delivery. */
#include "test.h"

#include "pci/msix.h"

struct sent {
	uint64_t addr[16];
	uint32_t data[16];
	int n;
};

static int record(void *ctx, uint64_t addr, uint32_t data)
{
	struct sent *s = ctx;
	if (s->n < 16) {
		s->addr[s->n] = addr;
		s->data[s->n] = data;
	}
	s->n++;
	return 0;
}

TEST(msix_masking_pending_and_table_access)
{
	struct pci_dev d;
	struct msix x;
	struct sent s = { .n = 0 };
	unsigned cap;

	pci_dev_init(&d, "t", 1, 2, 0x010802, 0, true);
	CHECK_EQ(msix_init(&x, &d, 4, 0, 0x2000, 0x3000, (struct msi_sink){ record, &s }), 0);
	cap = x.cap;
	CHECK_EQ(d.cfg[cap], PCI_CAP_ID_MSIX);
	CHECK_EQ(pci_get16(&d, cap + 2), 3);		/* table size - 1 */
	CHECK_EQ(pci_get32(&d, cap + 4), 0x2000);	/* BIR 0 */
	CHECK_EQ(pci_get32(&d, cap + 8), 0x3000);
	/* Disabled: the device must use INTx. */
	CHECK_EQ(msix_notify(&x, 0), -ENODEV);
	/* Vectors start masked. */
	CHECK_EQ(msix_table_read(&x, 12, 4), 1);
	msix_table_write(&x, 16, 0xfee01000, 4);	/* vector 1 address */
	msix_table_write(&x, 20, 0, 4);
	msix_table_write(&x, 24, 0x4041, 4);
	d.cfg[cap + 3] = 0x80;				/* enable */
	msix_cfg_write(&x, cap + 2, 2);
	CHECK_EQ(msix_notify(&x, 1), 0);		/* masked: pending */
	CHECK_EQ(s.n, 0);
	CHECK_EQ(msix_table_read(&x, 0x1000, 4), 0x2);	/* PBA bit 1 */
	msix_table_write(&x, 28, 0, 4);			/* unmask: delivered */
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.addr[0], 0xfee01000);
	CHECK_EQ(s.data[0], 0x4041);
	CHECK_EQ(msix_table_read(&x, 0x1000, 4), 0);
	CHECK_EQ(msix_notify(&x, 1), 0);
	CHECK_EQ(s.n, 2);
	/* Function mask holds everything. */
	d.cfg[cap + 3] = 0xc0;
	msix_cfg_write(&x, cap + 3, 1);
	CHECK_EQ(msix_notify(&x, 1), 0);
	CHECK_EQ(s.n, 2);
	d.cfg[cap + 3] = 0x80;
	msix_cfg_write(&x, cap + 3, 1);
	CHECK_EQ(s.n, 3);
	/* 64-bit table access. */
	msix_table_write(&x, 32, 0x00000000fee02000ULL, 8);
	CHECK_EQ(msix_table_read(&x, 32, 8), 0xfee02000);
	/* Bad vectors and malformed accesses. */
	CHECK_EQ(msix_notify(&x, 4), -EINVAL);
	CHECK_EQ(msix_table_read(&x, 2, 4), ~0ULL);		/* misaligned */
	CHECK_EQ(msix_table_read(&x, 0, 2), ~0ULL);		/* 2 bytes */
	CHECK_EQ(msix_table_read(&x, 4 * 16, 4), ~0ULL);	/* past the table */
	msix_table_write(&x, 0x1000, 0xff, 4);			/* PBA is read-only */
	CHECK_EQ(msix_table_read(&x, 0x1000, 4), 0);
	msix_reset(&x);
	CHECK_EQ(msix_table_read(&x, 28, 4), 1);
	CHECK_EQ(msix_init(&x, &d, 0, 0, 0, 0x100, (struct msi_sink){ record, &s }), -EINVAL);
	CHECK_EQ(msix_init(&x, &d, 4, 0, 0, 0x20, (struct msi_sink){ record, &s }), -EINVAL);	/* overlap */
}

static int fired_vec = -1;

/* Vector 1 has an irqfd; the others fall back to the sink. */
static int fire_one(void *ctx, unsigned vec)
{
	if (vec != 1)
		return -ENOENT;
	fired_vec = (int)vec;
	return 0;
}

TEST(msix_fire_hook_and_fallback)
{
	struct pci_dev d;
	struct msix x;
	struct sent s = { .n = 0 };

	pci_dev_init(&d, "t", 1, 2, 0x010802, 0, true);
	CHECK_EQ(msix_init(&x, &d, 4, 0, 0x2000, 0x3000, (struct msi_sink){ record, &s }), 0);
	x.fire = fire_one;
	x.vector_ctx = NULL;
	for (unsigned v = 0; v < 4; v++)
		msix_table_write(&x, 16 * v + 12, 0, 4);	/* unmask */
	d.cfg[x.cap + 3] = 0x80;
	msix_cfg_write(&x, x.cap + 3, 1);
	CHECK_EQ(msix_notify(&x, 1), 0);
	CHECK_EQ(fired_vec, 1);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(msix_notify(&x, 2), 0);
	CHECK_EQ(s.n, 1);
	/* A masked vector stays pending and goes through the hook on unmask. */
	fired_vec = -1;
	msix_table_write(&x, 16 + 12, 1, 4);
	CHECK_EQ(msix_notify(&x, 1), 0);
	CHECK_EQ(fired_vec, -1);
	msix_table_write(&x, 16 + 12, 0, 4);
	CHECK_EQ(fired_vec, 1);
	CHECK_EQ(s.n, 1);
}
