#!/usr/bin/env python3
"""./build.sh run: boots out/esp.img in the fixed QEMU, as a PC's UEFI would,
with the serial console on this terminal (Ctrl-a x quits QEMU)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mem", default="4G")
    ap.add_argument("--smp", type=int, default=2)
    a = ap.parse_args()
    m = harness.Machine("demo", esp=os.path.join(a.out, "esp.img"), mem=a.mem, smp=a.smp,
                        qemu=a.qemu)
    args = m.command()
    i = args.index("-serial")
    args[i + 1] = "mon:stdio"
    print("polyboot demo: %s\n(serial console below; Ctrl-a x quits)\n" % " ".join(args[:1]), flush=True)
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
