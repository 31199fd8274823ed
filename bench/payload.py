"""The benchmarks' payload disk: Debian's qemu-system-x86_64 with its shared
libraries and option ROMs, carried into L1 (which has no QEMU) so that both
VMMs run side by side on the same KVM; plus the benchmark's own tools."""
import os
import re
import shutil
import subprocess
import sys

QEMU_ROMS = ["kvmvapic.bin", "linuxboot_dma.bin", "linuxboot.bin", "multiboot_dma.bin", "pvh.bin"]


def build_payload(work, files):
    """An ext4 image with Debian's QEMU, its libraries and ROMs (qemu/) and
    @files at the top; returns (path, QEMU's version line)."""
    root = os.path.join(work, "payload")
    shutil.rmtree(root, ignore_errors=True)
    q = os.path.join(root, "qemu")
    os.makedirs(os.path.join(q, "lib"))
    os.makedirs(os.path.join(q, "share"))
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        sys.exit("bench: Debian's qemu-system-x86_64 is not installed (./build.sh deps)")
    shutil.copy(qemu, q)
    ldd = subprocess.run(["ldd", qemu], capture_output=True, text=True, check=True).stdout
    for m in re.finditer(r"(/\S+) \(0x", ldd):
        lib = m.group(1)
        dst = os.path.join(q, "lib", os.path.basename(lib))
        shutil.copy(os.path.realpath(lib), dst)
    ld = [l for l in os.listdir(os.path.join(q, "lib")) if l.startswith("ld-linux")]
    if not ld:
        sys.exit("bench: no dynamic loader found in ldd output")
    os.rename(os.path.join(q, "lib", ld[0]), os.path.join(q, "ld.so"))
    for rom in QEMU_ROMS:
        src = os.path.join("/usr/share/qemu", rom)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(q, "share"))
    for f in files:
        shutil.copy(f, root)
    ver = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    with open(os.path.join(root, "qemu-version"), "w") as f:
        f.write(ver + "\n")
    size = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(q) for fn in fns)
    img = os.path.join(work, "payload.img")
    mib = size // (1 << 20) + 64
    if os.path.exists(img):
        os.unlink(img)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "bench", "-d", root, img, "%dM" % mib], check=True)
    return img, ver


def write_report(path, lines):
    """Writes the Markdown report and shows it."""
    report = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(report)
    print(report)
