#!/usr/bin/env python3
"""./build.sh run: boots out/esp.img in the fixed QEMU, as a PC's UEFI would,
with the serial console on this terminal (Ctrl-a x quits QEMU).

Three fixture OS disks are attached (built from Debian packages by
tests/fixtures/mkosdisk.py, copied to out/demo/ on the first run and kept
there): the GRUB Debian on NVMe, and two variants of it on virtio-blk that
wait for the power button after printing their marker line. The menu lists
all three; select two with Space, start them with Enter, switch consoles
with Ctrl-], press b for the power button. --no-disks boots the ESP alone."""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DISKS = [("", False, "nvme"), ("wa", True, "virtio"), ("wb", True, "virtio")]


def demo_disks(out):
    fx, demo = os.path.join(out, "fixtures"), os.path.join(out, "demo")
    os.makedirs(demo, exist_ok=True)
    drives = []
    for variant, wait, iface in DISKS:
        name = "os-" + variant if variant else "os"
        dst = os.path.join(demo, name + ".img")
        if not os.path.exists(dst):
            cmd = ["python3", os.path.join(TOP, "tests", "fixtures", "mkosdisk.py"), "--out", fx]
            cmd += ["--variant", variant] if variant else []
            cmd += ["--wait"] if wait else []
            subprocess.run(cmd, check=True)
            subprocess.run(["cp", "--sparse=always", os.path.join(fx, name + ".img"), dst], check=True)
        drives.append((dst, iface))
    return drives


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mem", default="4G")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--no-disks", action="store_true")
    a = ap.parse_args()
    drives = [] if a.no_disks else demo_disks(a.out)
    m = harness.Machine("demo", esp=os.path.join(a.out, "esp.img"), mem=a.mem, smp=a.smp,
                        qemu=a.qemu, drives=drives)
    args = m.command()
    i = args.index("-serial")
    args[i + 1] = "mon:stdio"
    print("polyboot demo: %s\n(serial console below; Ctrl-a x quits)\n" % " ".join(args[:1]), flush=True)
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
