/*
 * KVM smoke test, run inside L1 by the end-to-end tests: creates a VM with
 * one vCPU in real mode, runs a guest that adds two numbers given in
 * registers, writes the sum and a string to an I/O port, and halts.
 * Prints what the guest wrote and exits 0 only if every step matched.
 *
 * usage: kvm-smoke A B     (16-bit numbers; the guest computes A+B)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_PORT 0xe9
#define MEM_SIZE 0x10000

/*
 * Real-mode guest at 0x1000 (CS=0x100, IP=0):
 *	add ax, bx          ; sum of the inputs
 *	mov dx, 0xe9
 *	out dx, ax          ; 16-bit write of the sum
 *	mov si, msg
 *   1: lodsb               ; DS=0x100
 *	test al, al
 *	jz 2f
 *	out dx, al
 *	jmp 1b
 *   2: hlt
 *   msg: "hello from L2\0"
 */
static const uint8_t guest[] = {
	0x01, 0xd8,		/* add ax, bx */
	0xba, 0xe9, 0x00,	/* mov dx, 0xe9 */
	0xef,			/* out dx, ax */
	0xbe, 0x14, 0x00,	/* mov si, 0x14 */
	0xac,			/* lodsb */
	0x84, 0xc0,		/* test al, al */
	0x74, 0x03,		/* jz +3 */
	0xee,			/* out dx, al */
	0xeb, 0xf8,		/* jmp -8 (to lodsb) */
	0xf4,			/* hlt */
	0x90, 0x90,		/* pad to 0x14 */
	'h', 'e', 'l', 'l', 'o', ' ', 'f', 'r', 'o', 'm', ' ', 'L', '2', 0,
};

static int fail(const char *what)
{
	printf("kvm-smoke: FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	char text[64];
	size_t tlen = 0;
	int kvm, vm, vcpu, mmap_size, version;
	uint16_t a, b, sum = 0;
	int got_sum = 0;
	uint8_t *mem;

	if (argc != 3) {
		fprintf(stderr, "usage: kvm-smoke A B\n");
		return 2;
	}
	a = (uint16_t)strtoul(argv[1], NULL, 0);
	b = (uint16_t)strtoul(argv[2], NULL, 0);

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return fail("KVM_GET_API_VERSION");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem + 0x1000, guest, sizeof(guest));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0x1000;
	sregs.cs.selector = 0x100;
	sregs.ds.base = 0x1000;
	sregs.ds.selector = 0x100;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rax = a;
	regs.rbx = b;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (int exits = 0; exits < 100; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *d = (uint8_t *)run + run->io.data_offset;
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != GUEST_PORT) {
				printf("kvm-smoke: FAIL unexpected io port %#x\n", run->io.port);
				return 1;
			}
			if (run->io.size == 2 && !got_sum) {
				sum = (uint16_t)(d[0] | d[1] << 8);
				got_sum = 1;
			} else if (run->io.size == 1 && tlen < sizeof(text) - 1) {
				text[tlen++] = (char)d[0];
			}
			break;
		}
		case KVM_EXIT_HLT:
			text[tlen] = 0;
			printf("kvm-smoke: guest wrote sum=%u text='%s' then halted\n", sum, text);
			if (!got_sum || sum != (uint16_t)(a + b) || strcmp(text, "hello from L2") != 0) {
				printf("kvm-smoke: FAIL expected sum=%u text='hello from L2'\n",
				       (uint16_t)(a + b));
				return 1;
			}
			printf("kvm-smoke: PASS\n");
			return 0;
		default:
			printf("kvm-smoke: FAIL exit reason %u\n", run->exit_reason);
			return 1;
		}
	}
	printf("kvm-smoke: FAIL too many exits\n");
	return 1;
}
