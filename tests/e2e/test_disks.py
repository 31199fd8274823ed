"""Emulated disks inside the firmware (L1): a GRUB-installed Debian
(tests/fixtures/mkosdisk.py) boots in polyvmm through a Boot#### entry that
polyvmm-vars wrote, OVMF -> GRUB menu -> Debian's kernel -> the marker line,
from virtio-blk on the real (L1) block device and from NVMe on an image file;
the guest's writes reach the backend, a read-only disk refuses them and stays
bit-identical, and a synthetic disk made of partitions 1 and 2 boots while
the guest finds no byte of partitions 3 and 4 (which the full disk shows).
"""

from osdisk import os_disk_pack

CHECKS = ["fixture-disk", "boot-entry",
          "virtio-grub-menu", "virtio-boot", "virtio-marker", "virtio-scan-sees-all", "virtio-write-in-backend",
          "nvme-boot", "nvme-marker", "nvme-write-in-backend",
          "ro-write-refused", "ro-backend-unchanged",
          "synth-boot", "synth-no-foreign-bytes", "synth-table"]

SCRIPT = r"""#!/bin/sh
. ./lib.sh
. ./facts.sh
FWARGS="--firmware $FW/OVMF_CODE_4M.fd"

# The fixture is the L1 virtio disk of exactly its size.
D=
for b in /sys/block/vd*; do
	[ "$(cat $b/size)" = $((DISK_SIZE / 512)) ] && D=/dev/${b##*/}
done
[ -n "$D" ]; check fixture-disk $? "$D"

cp $FW/OVMF_VARS_4M.fd /tmp/vars.fd
polyvmm-vars boot-add /tmp/vars.fd --disk $D --part 1 --loader '\EFI\debian\grubx64.efi' --label debian >/tmp/ba.log 2>&1
polyvmm-vars boot-list /tmp/vars.fd >>/tmp/ba.log 2>&1
grep -q 'HD(1,GPT,.*grubx64.efi' /tmp/ba.log; check boot-entry $? "$(tr '\n' ' ' </tmp/ba.log)"

marker() { tr -d '\r' </tmp/$1.log | grep '^POLYBOOT-GUEST' | tail -1; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# expect_marker VM CPUS MEM_MIB MODEL_PREFIX: the fields every boot must show
# (all CPUs, the memory, the disk model, ACPI with the RTC, COM1 and the
# power button it describes, the data file intact)
expect_marker() {
	local m=$(marker $1) kb
	kb=$(field "$m" mem_kb)
	[ "$(field "$m" cpus)" = $2 ] && [ "$(field "$m" acpi)" = on ] &&
	[ "$(field "$m" rtc)" = rtc_cmos ] && [ "$(field "$m" com1)" = 16550A@3f8 ] &&
	[ "$(field "$m" pwrbtn)" = acpi ] &&
	[ "$(field "$m" data)" = ok ] && [ "$kb" -gt $(($3 * 1024 * 85 / 100)) ] &&
	[ "$kb" -le $(($3 * 1024)) ] && case "$(field "$m" model)" in $4*) true ;; *) false ;; esac
}
# boot VM TIMEOUT args...: start, wait for the marker and the power-off
boot() {
	local n=$1 t=$2
	shift 2
	vm_start $n $FWARGS "$@"
	vm_expect $n '^POLYBOOT-GUEST' $t
	rc=$(vm_wait $n 120)
	echo "$n: $(marker $n) status=$rc after $(vm_elapsed $n)s"
}
# GRUB's second entry ("scan"): once the countdown runs GRUB reads keys;
# Ctrl-N is "down" in one byte.
pick_scan_entry() {
	vm_expect $1 'automatically in' 60
	vm_send $1 '\016'
	sleep 1
	vm_send $1 '\r'
}
# in_root IMAGE_OR_DEV OFFSET: mounts the root file system read-only on /mnt
in_root() {
	local l
	mkdir -p /mnt
	l=$(losetup -f) && losetup -r -o $2 $l $1 && mount -t ext4 -o ro $l /mnt
}
out_root() {
	local l=$(grep ' /mnt ' /proc/mounts | cut -d' ' -f1)
	umount /mnt 2>/dev/null
	[ -n "$l" ] && losetup -d $l
}

# 1. virtio-blk on the whole L1 block device, GRUB's "scan" entry chosen by key.
cp /tmp/vars.fd /tmp/v1.fd
vm_start vm $FWARGS --vars /tmp/v1.fd --cpus 2 --memory 1G --disk path=$D,if=virtio
vm_expect vm 'GNU GRUB' 300; check virtio-grub-menu $? "after $(vm_elapsed vm)s"
pick_scan_entry vm
vm_expect vm '^POLYBOOT-GUEST' 600
rc=$(vm_wait vm 120)
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" write)" = ok ]; check virtio-boot $? "status $rc after $(vm_elapsed vm)s: $m"
expect_marker vm 2 1024 virtio_blk; check virtio-marker $? "$m"
[ "$(field "$m" scan)" -gt 0 ] 2>/dev/null; check virtio-scan-sees-all $? "the full disk shows the other partitions' pattern: scan=$(field "$m" scan)"
in_root $D $ROOT_OFFSET && grep -q 'written boot=scan' /mnt/data/written.txt; check virtio-write-in-backend $? "$(cat /mnt/data/written.txt 2>&1 | tr '\n' ' ')"
out_root

# 2. NVMe on an image file (a copy of the disk), the default GRUB entry.
dd if=$D of=/tmp/os.img bs=1M 2>/dev/null
cp /tmp/vars.fd /tmp/v2.fd
boot vm 600 --vars /tmp/v2.fd --cpus 3 --memory 768M --disk path=/tmp/os.img,if=nvme
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" write)" = ok ] && [ "$(field "$m" disk)" = nvme0n1 ]; check nvme-boot $? "status $rc: $m"
expect_marker vm 3 768 nvme; check nvme-marker $? "$m"
in_root /tmp/os.img $ROOT_OFFSET && [ "$(grep -c 'written boot=default' /mnt/data/written.txt)" = 1 ]; check nvme-write-in-backend $? "$(cat /mnt/data/written.txt 2>&1 | tr '\n' ' ')"
out_root

# 3. Read-only: the guest's write fails cleanly, the image is unchanged.
before=$(sha256sum /tmp/os.img | cut -d' ' -f1)
boot vm 600 --vars /tmp/v2.fd --cpus 1 --memory 512M --disk path=/tmp/os.img,if=virtio,ro
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" data)" = ok ] && [ "$(field "$m" write)" != ok ] && [ -n "$(field "$m" write)" ]; check ro-write-refused $? "status $rc: $m"
after=$(sha256sum /tmp/os.img | cut -d' ' -f1)
[ "$before" = "$after" ]; check ro-backend-unchanged $? "sha256 $before -> $after"

# 4. A synthetic disk of partitions 1 (copy-on-write) and 2 of the image.
cp /tmp/vars.fd /tmp/v3.fd
vm_start vm $FWARGS --vars /tmp/v3.fd --cpus 2 --memory 512M --disk synth=/tmp/os.img,parts=1+2,cow=1,if=nvme
vm_expect vm 'GNU GRUB' 300
pick_scan_entry vm
vm_expect vm '^POLYBOOT-GUEST' 600
rc=$(vm_wait vm 120)
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" write)" = ok ] && [ "$(field "$m" data)" = ok ]; check synth-boot $? "status $rc after $(vm_elapsed vm)s: $m"
[ "$(field "$m" scan)" = 0 ] && [ "$(field "$m" disksize)" = $DISK_SIZE ]; check synth-no-foreign-bytes $? "scan=$(field "$m" scan) disksize=$(field "$m" disksize)"
grep -q 'disk0: NVMe synth:/tmp/os.img:1(cow)+2' /tmp/vm.log; check synth-table $? "$(grep 'disk0' /tmp/vm.log)"
"""


def run(ctx):
    disk, pack, _ = os_disk_pack(ctx, "disks", SCRIPT, ())
    with ctx.machine("ovmf", testpack=pack, drives=[(disk, "virtio")]) as m:
        m.expect(r"init: test pack finished", timeout=3000)
        m.wait_exit(timeout=60)
        ctx.serial_checks(m.text().replace("\r", ""), CHECKS)
