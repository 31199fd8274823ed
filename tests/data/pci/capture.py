#!/usr/bin/env python3
"""Captures the config spaces the VFIO unit tests use (tests/data/pci/):
QEMU's NVMe controller (1b36:0010), e1000e NIC (8086:10d3) and a display
(bochs-display, 1234:1111 class 0x0380, with its expansion ROM; not a boot
VGA, so sysfs reads its ROM BAR, not the legacy shadow at 0xC0000), as the
firmware's kernel (L1) reads them from sysfs: NAME.config (4096 bytes), NAME.resource (sysfs `resource`: BARs
0-5, then the ROM) and vga.rom. Reproducible with the project's fixed QEMU:

    ./build.sh image && python3 tests/data/pci/capture.py

The files are committed; this script is how they were made, not part of the
test run.
"""
import base64
import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "harness"))
import harness  # noqa: E402

DEVICES = {"nvme": "0x1b36:0x0010", "e1000e": "0x8086:0x10d3", "vga": "0x1234:0x1111"}

SCRIPT = r"""#!/bin/sh
dump() { # NAME FILE
	echo "PCIDUMP-BEGIN $1"
	base64 <$2
	echo "PCIDUMP-END $1"
}
for d in /sys/bus/pci/devices/*; do
	id="$(cat $d/vendor):$(cat $d/device)"
	case $id in
	%s
	*) continue ;;
	esac
	dump $n.config $d/config
	dump $n.resource $d/resource
	if [ -e $d/rom ]; then
		echo 1 >$d/rom && dump $n.rom $d/rom
		echo 0 >$d/rom
	fi
done
"""


def main():
    out = os.path.dirname(os.path.abspath(__file__))
    cases = "\n\t".join("%s) n=%s ;;" % (i, n) for n, i in DEVICES.items())
    pack = harness.make_testpack(os.path.join(harness.WORKDIR, "pci-capture.tar"), SCRIPT % cases)
    drv = os.path.join(harness.WORKDIR, "pci-capture-nvme.img")
    with open(drv, "wb") as f:
        f.truncate(16 << 20)
    m = harness.Machine("pci-capture", testpack=pack, drives=[(drv, "nvme")],
                        devices=["e1000e,romfile=", "bochs-display,romfile=vgabios-bochs-display.bin"])
    with m:
        m.expect(r"init: test pack finished", timeout=600)
        text = m.text().replace("\r", "")
    got = re.findall(r"^PCIDUMP-BEGIN (\S+)\n(.*?)^PCIDUMP-END \1$", text, re.M | re.S)
    for name, b64 in got:
        data = base64.b64decode("".join(b64.split()))
        if name == "vga.rom" or name.endswith(".config") or name.endswith(".resource"):
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
            print("%s: %d bytes" % (name, len(data)))
    missing = ({n + ".config" for n in DEVICES} | {"vga.rom"}) - {n for n, _ in got}
    if missing:
        sys.exit("capture: missing %s" % sorted(missing))


if __name__ == "__main__":
    main()
