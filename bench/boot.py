#!/usr/bin/env python3
"""polyvmm vs QEMU, side by side in the same L1 (the firmware in the nested
harness), same OVMF files, same vCPUs and memory, same KVM.

usage: bench/boot.py [--runs 5] [--cpus 1,2] [--memory 256M]

Measures, for each VMM, alternating runs:
  - time from process start to "Shell>" on the serial console (OVMF's 5 s
    startup.nsh countdown is skipped for both by typing ESC when it appears),
  - the VMM's resident memory at that moment, without the guest RAM mapping,
and reports medians, the polyvmm/QEMU ratios and the binary sizes. QEMU is
Debian's qemu-system-x86_64 (the host's package), carried into L1 with its
shared libraries on a payload disk. Results go to out/bench/boot.md.
"""
import argparse
import os
import re
import statistics
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("POLYBOOT_OUT", os.path.join(TOP, "out"))
sys.path.insert(0, os.path.join(TOP, "tests", "harness"))
import harness  # noqa: E402
from payload import build_payload, write_report  # noqa: E402

SCRIPT = r"""#!/bin/sh
mkdir -p /mnt/bench
mount -t ext4 -o ro /dev/vdb /mnt/bench || { echo "BENCH-ERROR cannot mount the payload"; exit 1; }
B=/mnt/bench
FW=/usr/share/polyboot/firmware
Q="$B/qemu/ld.so --library-path $B/qemu/lib $B/qemu/qemu-system-x86_64 -L $B/qemu/share"
echo "BENCH-INFO polyvmm_bytes=$(stat -c %s /bin/polyvmm) qemu_bytes=$(stat -c %s $B/qemu/qemu-system-x86_64) qemu_libs_bytes=$(du -sb $B/qemu/lib | cut -f1)"
for cpus in @CPUS@; do
	for i in $(seq 1 @RUNS@); do
		cp $FW/OVMF_VARS_4M.fd /tmp/pv.fd
		r=$($B/bench-boot --esc-on startup.nsh --pattern 'Shell>' --fw-name OVMF_CODE --fw-anon-kib 528 -- polyvmm --firmware $FW/OVMF_CODE_4M.fd \
			--vars /tmp/pv.fd --cpus $cpus --memory @MEM@ --serial stdio)
		echo "BENCH vmm=polyvmm cpus=$cpus run=$i $r"
		cp $FW/OVMF_VARS_4M.fd /tmp/qv.fd
		r=$($B/bench-boot --esc-on startup.nsh --pattern 'Shell>' -- $Q -machine q35,accel=kvm -cpu host \
			-smp $cpus -m @MEM@ -nodefaults -no-user-config -display none -serial stdio -monitor none \
			-drive if=pflash,format=raw,unit=0,readonly=on,file=$FW/OVMF_CODE_4M.fd \
			-drive if=pflash,format=raw,unit=1,file=/tmp/qv.fd)
		echo "BENCH vmm=qemu cpus=$cpus run=$i $r"
	done
done
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cpus", default="1,2")
    ap.add_argument("--memory", default="256M")
    a = ap.parse_args()
    work = os.path.join(OUT, "bench")
    os.makedirs(work, exist_ok=True)
    img, qver = build_payload(work, [os.path.join(OUT, "bin", "bench-boot")])
    script = (SCRIPT.replace("@CPUS@", " ".join(a.cpus.split(",")))
              .replace("@RUNS@", str(a.runs)).replace("@MEM@", a.memory))
    pack = harness.make_testpack(os.path.join(work, "bench.tar"), script)
    m = harness.Machine("bench-boot", testpack=pack, drives=[(img, "virtio", "ro")])
    with m:
        m.expect(r"init: test pack finished", timeout=3600)
    text = m.text().replace("\r", "")
    info = re.search(r"BENCH-INFO (.*)", text)
    rows = {}
    for mm in re.finditer(r"^BENCH vmm=(\S+) cpus=(\d+) run=\d+ (.*)$", text, re.M):
        vmm, cpus, rest = mm.group(1), int(mm.group(2)), mm.group(3)
        b = re.search(r"BOOT ms=(\d+) vmm_rss_kib=(\d+) total_rss_kib=\d+ fw_rss_kib=(\d+)", rest)
        if not b:
            print("run failed: %s %s cpus: %s" % (vmm, cpus, rest))
            continue
        rows.setdefault((vmm, cpus), []).append((int(b.group(1)), int(b.group(2)), int(b.group(3))))
    if not rows:
        sys.exit("bench: no results; serial log %s" % m.log_path)
    sizes = dict(kv.split("=") for kv in info.group(1).split()) if info else {}
    lines = ["# polyvmm vs QEMU: boot to the UEFI shell", "",
             "Nested harness (QEMU TCG L0 with emulated SVM, our firmware as L1, both VMMs on L1's",
             "KVM), Debian OVMF 2022.11 (OVMF_CODE_4M.fd + a fresh OVMF_VARS_4M.fd per run),",
             "%s guest RAM, %d alternating runs each; OVMF's startup.nsh countdown skipped with ESC" % (a.memory, a.runs),
             "for both. QEMU: %s, `-machine q35,accel=kvm -cpu host -nodefaults`." % qver, "",
             "| vCPUs | polyvmm to Shell> (median) | QEMU to Shell> (median) | ratio | polyvmm RSS w/o guest RAM | of it, firmware images | QEMU RSS w/o guest RAM |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for cpus in sorted({c for _, c in rows}):
        p = rows.get(("polyvmm", cpus), [])
        q = rows.get(("qemu", cpus), [])
        if not p or not q:
            continue
        pt, qt = statistics.median(x[0] for x in p), statistics.median(x[0] for x in q)
        pr, qr = statistics.median(x[1] for x in p), statistics.median(x[1] for x in q)
        pf = statistics.median(x[2] for x in p)
        lines.append("| %d | %.2f s | %.2f s | %.2f | %.1f MiB | %.1f MiB | %.1f MiB |" % (
            cpus, pt / 1000, qt / 1000, pt / qt, pr / 1024, pf / 1024, qr / 1024))
    if sizes:
        lines += ["", "Binary size: polyvmm %.0f KiB (static, no libraries); QEMU %.1f MiB + %.1f MiB of shared libraries." % (
            int(sizes["polyvmm_bytes"]) / 1024, int(sizes["qemu_bytes"]) / 2**20,
            int(sizes["qemu_libs_bytes"]) / 2**20)]
    lines += ["", "Raw (ms, RSS KiB): " + "; ".join(
        "%s/%d: %s" % (v, c, " ".join("%d,%d" % r[:2] for r in rs)) for (v, c), rs in sorted(rows.items()))]
    lines += ["", "RSS counts every resident page of the process except the guest RAM mapping. For polyvmm",
              "the firmware images are the OVMF code file mapped read-only into the guest and the",
              "in-memory variable store; QEMU holds its own copies of both inside its figure."]
    write_report(os.path.join(work, "boot.md"), lines)


if __name__ == "__main__":
    main()
