"""Legacy BIOS inside the firmware (L1): the BIOS-bootable fixture
(tests/fixtures/mkosdisk.py --variant bios --bios: GRUB for i386-pc in a BIOS
boot partition, boot.img in LBA 0) boots in polyvmm --bios with Debian's
SeaBIOS: SeaBIOS's banner on COM1 (etc/sercon-port), GRUB's menu, Debian's
kernel, the marker line with ACPI (the tables SeaBIOS installs from
etc/table-loader), the guest's write in the backend and a clean power-off
(status 0); from virtio-blk on the L1 block device and from NVMe on an image
file. A guest reset (GRUB's reboot command) restarts the VM and SeaBIOS
runs its POST again from the ROM area polyvmm refills at every reset.
"""

from osdisk import os_disk_pack

CHECKS = ["fixture-disk",
          "virtio-seabios-banner", "virtio-grub-menu", "virtio-boot", "virtio-marker", "virtio-write-in-backend",
          "virtio-bars-in-window",
          "nvme-boot", "nvme-marker", "nvme-write-in-backend",
          "reset-reposts", "reset-boot"]

SCRIPT = r"""#!/bin/sh
. ./lib.sh
. ./facts.sh
FWARGS="--bios $FW/bios-256k.bin"

# The fixture is the L1 virtio disk of exactly its size.
D=
for b in /sys/block/vd*; do
	[ "$(cat $b/size)" = $((DISK_SIZE / 512)) ] && D=/dev/${b##*/}
done
[ -n "$D" ]; check fixture-disk $? "$D"

marker() { tr -d '\r' </tmp/$1.log | grep '^POLYBOOT-GUEST' | tail -1; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# expect_marker VM CPUS MEM_MIB MODEL_PREFIX (as test_disks.py)
expect_marker() {
	local m=$(marker $1) kb
	kb=$(field "$m" mem_kb)
	[ "$(field "$m" cpus)" = $2 ] && [ "$(field "$m" acpi)" = on ] &&
	[ "$(field "$m" rtc)" = rtc_cmos ] && [ "$(field "$m" com1)" = 16550A@3f8 ] &&
	[ "$(field "$m" pwrbtn)" = acpi ] &&
	[ "$(field "$m" data)" = ok ] && [ "$kb" -gt $(($3 * 1024 * 80 / 100)) ] &&
	[ "$kb" -le $(($3 * 1024)) ] && case "$(field "$m" model)" in $4*) true ;; *) false ;; esac
}
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

# 1. virtio-blk on the whole L1 block device, the default GRUB entry.
vm_start vm $FWARGS --cpus 1 --memory 512M --disk path=$D,if=virtio
vm_expect vm 'SeaBIOS \(version 1\.' 120; check virtio-seabios-banner $? "after $(vm_elapsed vm)s: $(grep -a -o 'SeaBIOS (version [^)]*)' /tmp/vm.log | head -1)"
vm_expect vm 'GNU GRUB' 300; check virtio-grub-menu $? "after $(vm_elapsed vm)s"
vm_expect vm '^POLYBOOT-GUEST' 900
rc=$(vm_wait vm 120)
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" write)" = ok ]; check virtio-boot $? "status $rc after $(vm_elapsed vm)s: $m"
expect_marker vm 1 512 virtio_blk; check virtio-marker $? "$m"
in_root $D $ROOT_OFFSET && grep -q 'written boot=default' /mnt/data/written.txt; check virtio-write-in-backend $? "$(cat /mnt/data/written.txt 2>&1 | tr '\n' ' ')"
out_root
# Linux keeps the BARs SeaBIOS assigned: they lie in the DSDT's windows.
! grep -aqE 'no compatible bridge window|can.t claim BAR' /tmp/vm.log; check virtio-bars-in-window $? "$(grep -aE 'bridge window|claim BAR' /tmp/vm.log | head -3 | tr -d '\r' | tr '\n' ' ')"
# for the log: polyvmm's own messages and the kernel's view of the timer
tr -d '\r' </tmp/vm.log | grep -aE '^polyvmm|8254|IO-APIC.*(timer|pin)|TIMER|clocksource:.*(tsc|hpet|acpi_pm)|00:04.0: BAR|root bus resource .mem' | head -24 | sed 's/^/  vm.log: /'

# 2. NVMe on an image file (a copy of the disk), two vCPUs.
dd if=$D of=/tmp/os.img bs=1M 2>/dev/null
# the lines already there (more than one if L1 rebooted and this pack runs again)
in_root /tmp/os.img $ROOT_OFFSET && before=$(grep -c 'written boot=default' /mnt/data/written.txt); out_root
vm_start vm $FWARGS --cpus 2 --memory 768M --disk path=/tmp/os.img,if=nvme
vm_expect vm '^POLYBOOT-GUEST' 900
rc=$(vm_wait vm 120)
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" write)" = ok ] && [ "$(field "$m" disk)" = nvme0n1 ]; check nvme-boot $? "status $rc after $(vm_elapsed vm)s: $m"
expect_marker vm 2 768 nvme; check nvme-marker $? "$m"
in_root /tmp/os.img $ROOT_OFFSET && [ "$(grep -c 'written boot=default' /mnt/data/written.txt)" = $((before + 1)) ]; check nvme-write-in-backend $? "$(cat /mnt/data/written.txt 2>&1 | tr '\n' ' ')"
out_root

# 3. A guest reset: GRUB's reboot command at its menu; the VM restarts in
# polyvmm (--reboot restart), SeaBIOS posts again and the OS boots.
vm_start vm $FWARGS --cpus 1 --memory 512M --disk path=/tmp/os.img,if=virtio
vm_expect vm 'automatically in' 300
vm_send vm 'c'
vm_expect vm 'grub>' 60
vm_send vm 'reboot\r'
vm_expect_n vm 'SeaBIOS \(version 1\.' 2 300
st=$?
grep -q 'restarting (reset #1)' /tmp/vm.log && [ $st = 0 ]; check reset-reposts $? "$(grep -a 'guest reset' /tmp/vm.log | head -1) banners=$(vm_count vm 'SeaBIOS \(version')"
vm_expect vm '^POLYBOOT-GUEST' 900
rc=$(vm_wait vm 120)
m=$(marker vm)
[ "$rc" = 0 ] && [ "$(field "$m" write)" = ok ]; check reset-boot $? "status $rc after $(vm_elapsed vm)s: $m"
"""


def run(ctx):
    disk, pack, _ = os_disk_pack(ctx, "seabios", SCRIPT, ("--variant", "bios", "--bios"))
    with ctx.machine("ovmf", testpack=pack, drives=[(disk, "virtio")]) as m:
        m.expect(r"init: test pack finished", timeout=3600)
        m.wait_exit(timeout=60)
        ctx.serial_checks(m.text().replace("\r", ""), CHECKS)
