#!/usr/bin/env python3
"""Disk throughput: polyvmm's virtio-blk and NVMe vs QEMU's, same backend,
same guest, same L1; and the host (L1) reading the backend directly.

usage: bench/disk.py [--seconds 5] [--mib 256]

L1 (the firmware in the nested harness) gets four disks: its ESP, the
payload (Debian's QEMU + iobench), the test OS disk (tests/fixtures) and a
scratch disk. Each VM boots the test OS through OVMF and GRUB's "bench"
entry, whose init runs bench/iobench.c on the VM's second disk, which is
the scratch disk (a raw L1 block device, O_DIRECT in both VMMs:
polyvmm's default, QEMU's cache=none). iobench also runs in L1 on the
scratch disk itself. Results go to out/bench/disk.md.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("POLYBOOT_OUT", os.path.join(TOP, "out"))
sys.path.insert(0, os.path.join(TOP, "tests", "harness"))
import harness  # noqa: E402
from payload import build_payload, write_report  # noqa: E402

SCRATCH_MIB = 512
TESTS = ["seqread", "seqwrite", "randread", "randwrite", "randread4"]
PHASES = ["host", "polyvmm-virtio", "qemu-virtio", "polyvmm-nvme", "qemu-nvme"]

SCRIPT = r"""#!/bin/sh
. ./lib.sh
# Disks by size: the payload is ext4 "bench", the OS disk and the scratch disk.
for b in /sys/block/vd*; do
	case $(cat $b/size) in
	$((OS_BYTES / 512))) OS=/dev/${b##*/} ;;
	$((SCRATCH_MIB * 2048))) SCR=/dev/${b##*/} ;;
	esac
done
mkdir -p /mnt/bench
for d in /dev/vd?; do mount -t ext4 -o ro $d /mnt/bench 2>/dev/null && break; done
B=/mnt/bench
echo "BENCH-INFO os=$OS scratch=$SCR"
Q="$B/qemu/ld.so --library-path $B/qemu/lib $B/qemu/qemu-system-x86_64 -L $B/qemu/share"
cp $FW/OVMF_VARS_4M.fd /tmp/vars.fd
polyvmm-vars boot-add /tmp/vars.fd --disk $OS --part 1 --loader '\EFI\debian\grubx64.efi' --label debian >/dev/null

# GRUB's third entry ("bench"): Ctrl-N twice once the countdown runs.
guest() {
	local name=$1
	shift
	cp /tmp/vars.fd /tmp/$name.fd
	vm_run vm "$@"
	vm_expect vm 'automatically in' 600 >/dev/null
	vm_send vm '\016'
	sleep 1
	vm_send vm '\016'
	sleep 1
	vm_send vm '\r'
	vm_expect vm 'IOBENCH randread4' 900 >/dev/null
	vm_wait vm 120 >/dev/null
	tr -d '\r' </tmp/vm.log | grep -E '^(IOBENCH|POLYBOOT-GUEST|polyboot-init)' | sed "s/^/RESULT $name /"
}

PHASE=@PHASE@
case $PHASE in
host)
	$B/iobench $SCR @SECONDS@ @MIB@ | sed 's/^/RESULT host /' ;;
polyvmm-*)
	dev=${PHASE#*-}
	guest $PHASE polyvmm --name vm --serial stdio --firmware $FW/OVMF_CODE_4M.fd \
		--vars /tmp/$PHASE.fd --cpus 2 --memory 512M \
		--disk path=$OS,if=$dev --disk path=$SCR,if=$dev ;;
qemu-*)
	if [ $PHASE = qemu-virtio ]; then
		qd="-device virtio-blk-pci,drive=os -device virtio-blk-pci,drive=scr"
	else
		qd="-device nvme,drive=os,serial=os -device nvme,drive=scr,serial=scratch"
	fi
	guest $PHASE $Q -machine q35,accel=kvm -cpu host -smp 2 -m 512M -nodefaults \
		-no-user-config -display none -serial stdio -monitor none \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=$FW/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,unit=1,file=/tmp/$PHASE.fd \
		-drive if=none,id=os,format=raw,cache=none,file=$OS \
		-drive if=none,id=scr,format=raw,cache=none,file=$SCR $qd ;;
esac
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    work = os.path.join(OUT, "bench")
    os.makedirs(work, exist_ok=True)
    fx = os.path.join(OUT, "fixtures")
    subprocess.run([sys.executable, os.path.join(TOP, "tests", "fixtures", "mkosdisk.py"), "--out", fx],
                   check=True)
    facts = json.load(open(os.path.join(fx, "os.json")))
    osimg = os.path.join(work, "disk-os.img")
    shutil.copyfile(os.path.join(fx, "os.img"), osimg)
    scratch = os.path.join(work, "disk-scratch.img")
    with open(scratch, "wb") as f:
        f.truncate(SCRATCH_MIB << 20)
    iobench = os.path.join(work, "iobench")
    subprocess.run(["musl-gcc", "-static", "-O2", "-s", "-pthread", "-o", iobench,
                    os.path.join(TOP, "bench", "iobench.c")], check=True)
    img, qver = build_payload(work, [iobench])
    facts_sh = os.path.join(work, "disk-facts.sh")
    with open(facts_sh, "w") as f:
        f.write("OS_BYTES=%d\nSCRATCH_MIB=%d\n" % (facts["disk_size"], SCRATCH_MIB))
    lib = os.path.join(TOP, "tests", "e2e", "guest", "lib.sh")
    text = ""
    # One L0 boot per phase, each retried once: in this harness L1 has been
    # seen to reset (no panic, no message) when a VMM starts right after
    # heavy I/O, and a phase must not take the others down with it.
    for phase in PHASES:
        script = ("#!/bin/sh\n. ./facts.sh\n" + SCRIPT.replace("#!/bin/sh\n", "")
                  .replace("@SECONDS@", str(a.seconds)).replace("@MIB@", str(a.mib))
                  .replace("@PHASE@", phase))
        pack = harness.make_testpack(os.path.join(work, "disk-%s.tar" % phase), script,
                                     [("lib.sh", lib, 0o644), ("facts.sh", facts_sh, 0o644)])
        for attempt in (1, 2):
            m = harness.Machine("bench-disk-" + phase, testpack=pack, extra_args=["-no-reboot"],
                                drives=[(img, "virtio", "ro"), (osimg, "virtio"), (scratch, "virtio")])
            try:
                with m:
                    m.expect(r"init: test pack finished", timeout=1800)
            except Exception as e:  # noqa: BLE001 - a reset ends QEMU (-no-reboot)
                print("bench: %s, attempt %d: %s" % (phase, attempt, str(e).splitlines()[0]), flush=True)
                continue
            out = m.text().replace("\r", "")
            text += out
            if "IOBENCH randread4" in out:
                break
    res = {}
    for mm in re.finditer(r"^RESULT (\S+) IOBENCH (\S+) mbps=([\d.]+) iops=(\d+)", text, re.M):
        res[(mm.group(1), mm.group(2))] = (float(mm.group(3)), int(mm.group(4)))
    if not res:
        sys.exit("bench: no results; serial logs in out/test-logs/bench-disk-*")

    def cell(who, t):
        v = res.get((who, t))
        if not v:
            return "failed"
        return "%.0f MB/s" % v[0] if t.startswith("seq") else "%d IOPS" % v[1]

    def ratio(a_, b_, t):
        x, y = res.get((a_, t)), res.get((b_, t))
        if not x or not y or not y[1]:
            return "-"
        return "%.2f" % (x[1] / y[1])

    lines = ["# Disk throughput: polyvmm vs QEMU, same backend, same guest", "",
             "Nested harness (QEMU TCG L0, our firmware as L1, both VMMs on L1's KVM). Guest: the",
             "test OS of tests/fixtures (Debian's %s kernel), 2 vCPUs, 512 MiB," % facts["kernel"]["version"],
             "booted through OVMF and GRUB; `bench/iobench.c` with O_DIRECT on the guest's second",
             "disk for %d s per test over its first %d MiB. Backend: the same raw L1 block device" % (a.seconds, a.mib),
             "(a virtio disk of L0), O_DIRECT in both VMMs (polyvmm's default, QEMU `cache=none`,",
             "aio=threads). QEMU: %s. \"host\" is iobench in L1 on that device." % qver, "",
             "| test | host | polyvmm virtio-blk | QEMU virtio-blk | ratio | polyvmm NVMe | QEMU NVMe | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    names = {"seqread": "sequential read 1 MiB", "seqwrite": "sequential write 1 MiB",
             "randread": "random read 4 KiB, 1 deep", "randwrite": "random write 4 KiB, 1 deep",
             "randread4": "random read 4 KiB, 4 threads"}
    for t in TESTS:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            names[t], cell("host", t), cell("polyvmm-virtio", t), cell("qemu-virtio", t),
            ratio("polyvmm-virtio", "qemu-virtio", t), cell("polyvmm-nvme", t), cell("qemu-nvme", t),
            ratio("polyvmm-nvme", "qemu-nvme", t)))
    lines += ["", "Ratios are polyvmm / QEMU (higher is better for polyvmm). Under nested TCG every",
              "guest exit is emulated, so absolute numbers are far below hardware; the ratios carry the",
              "comparison."]
    write_report(os.path.join(work, "disk.md"), lines)


if __name__ == "__main__":
    main()
