"""Foundation: the firmware image boots as a UEFI application in L0 and
gives its init a working nested KVM.

One L0 boot of out/esp.img (OVMF -> \\EFI\\BOOT\\BOOTX64.EFI = polyboot.efi)
with a test pack that checks, from inside the firmware, that /dev/kvm and
nested paging work and that a real-mode L2 guest runs.
"""
import os
import re

from harness import make_testpack

CHECKS = ["ovmf-started-polyboot-from-esp", "banner", "own-init", "panic-reboots", "efi-boot-current",
          "dev-kvm", "nested-paging", "kvm-smoke-l2-guest", "poweroff"]

SCRIPT = r"""#!/bin/sh
check() { if [ "$2" = 0 ]; then echo "CHECK $1 PASS $3"; else echo "CHECK $1 FAIL $3"; fi; }
info=$(polyboot info)
echo "$info" | sed 's/^/info: /'
[ "$(tr '\0' ' ' </proc/1/cmdline)" = "/bin/sh /init " ] && [ ! -e /sbin/init ] && grep -q 'polyboot /init: PID 1 of the firmware' /init
check own-init $? "pid1=$(tr '\0' ' ' </proc/1/cmdline)"
[ "$(cat /proc/sys/kernel/panic)" = 10 ]; check panic-reboots $? "kernel.panic=$(cat /proc/sys/kernel/panic)"
[ -c /dev/kvm ]; check dev-kvm $? "$(ls -l /dev/kvm 2>&1)"
echo "$info" | grep -q '^nested-paging: on$'; check nested-paging $? "$(echo "$info" | grep -E 'kvm-module|nested-paging' | tr '\n' ' ')"
out=$(./kvm-smoke 1234 4321 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] && echo "$out" | grep -q "sum=5555 text='hello from L2'"; check kvm-smoke-l2-guest $? "rc=$rc"
"""


def run(ctx):
    pack = make_testpack(os.path.join(ctx.out, "test-work", "foundation.tar"), SCRIPT,
                         [("kvm-smoke", os.path.join(ctx.out, "bin", "kvm-smoke"), 0o755)])
    with open(os.path.join(ctx.out, "initramfs.d", "etc", "polyboot-version")) as f:
        version = f.read().strip()
    with ctx.machine("boot", testpack=pack) as m:
        bds = m.expect(r"BdsDxe: starting (Boot[0-9A-F]{4}) \"([^\"]*)\" from ([^\r\n]*)", timeout=300)
        boot, desc, path = (g.decode() for g in bds.groups())
        # OVMF's auto-created option for a disk boots \EFI\BOOT\BOOTX64.EFI from it;
        # the ESP is the only disk (virtio-blk).
        ctx.check("ovmf-started-polyboot-from-esp", "Pci(" in path and "Shell" not in desc,
                  "%s %r from %s" % (boot, desc, path))
        banner = m.expect(r"polyboot (\S+) - parallel boot firmware", timeout=240)
        ctx.check("banner", banner.group(1).decode() == version,
                  "banner version %s, built %s" % (banner.group(1).decode(), version))
        m.expect(r"init: test pack finished", timeout=600)
        rc = m.wait_exit(timeout=120)
        ctx.check("poweroff", rc == 0, "QEMU exit status %s" % rc)
        text = m.text().replace("\r", "")
        # BootCurrent read inside the firmware (efivarfs) must be the option BdsDxe started.
        cur = re.search(r"^info: efi-boot-current: (Boot[0-9A-F]{4})", text, re.M)
        ctx.check("efi-boot-current", cur is not None and cur.group(1) == boot,
                  "firmware sees %s, BdsDxe started %s" % (cur.group(1) if cur else None, boot))
        ctx.serial_checks(text, ["own-init", "panic-reboots", "dev-kvm", "nested-paging", "kvm-smoke-l2-guest"])
