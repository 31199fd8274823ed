"""Device passthrough end to end (VFIO) in the nested harness, full image.

L0 has an emulated IOMMU (intel-iommu, interrupt remapping), an NVMe
controller at 00:04.0 holding the GRUB Debian fixture (variant "vfio", with
the e1000e driver: tests/fixtures/mkosdisk.py --net) and an e1000e NIC at
00:05.0. polyboot.conf on the ESP gives both to that OS, headless:

1. The planner accepts the plan; the boot manager binds both functions to
   vfio-pci, starts polyvmm with --device vfio=..., and the OS boots through
   OVMF from the passed-through controller: its marker line says its root
   disk is an NVMe disk and its write went through.
2. The guest's write lands on the L0 disk image (counted on the host).
3. The guest sees the NIC with its real IDs (8086:10d3), driven by e1000e,
   and gets MSI or MSI-X interrupts on it (/proc/interrupts in the guest).
4. When the VM has stopped, both functions go back to their drivers (nvme,
   and none for the NIC), the menu returns, and in the recovery shell
   `polyboot devices --json` lists the controller with its IOMMU group and
   the OS discovery finds on its disk again (the firmware reads it).
5. The default policy (passthrough = auto): with a `device =` line for the
   NIC only, the planner gives the OS its NVMe controller by itself (it is
   the only OS on it), and the OS boots from it as above.
"""
import json
import os
import re
import subprocess
import time

from mgrlib import console_marker, esp_get, esp_put, headless_run

NVME = "0000:00:04.0"
NIC = "0000:00:05.0"
LABEL = "polyboot test Debian vfio"

CONF = """\
# passthrough: the OS's NVMe controller and a NIC
[global]
mode = auto
on_all_stopped = menu

[os vfio]
match = %s
cpus = 1
memory = 1G
device = %s
device = %s
autostart = yes
""" % (LABEL, NVME, NIC)


def fixture(ctx):
    fx = os.path.join(ctx.out, "fixtures")
    r = subprocess.run(["python3", os.path.join(ctx.top, "tests", "fixtures", "mkosdisk.py"), "--out", fx,
                        "--variant", "vfio", "--net"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("fixture build failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "fixture ready", flush=True)
    work = os.path.join(ctx.out, "test-work")
    os.makedirs(work, exist_ok=True)
    disk = os.path.join(work, "vfio-os.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(fx, "os-vfio.img"), disk], check=True)
    return disk


def writes(disk):
    """Lines the guest appended to /data/written.txt, counted in the raw image."""
    with open(disk, "rb") as f:
        return f.read().count(b"written boot=")


def l0(ctx, name, disk, conf):
    """L0 with an IOMMU, the NVMe controller holding @disk and the NIC."""
    m = ctx.machine(name, iommu=True, extra_args=[
        "-drive", "if=none,id=nv,format=raw,file=" + disk,
        "-device", "nvme,drive=nv,serial=polyboot-vfio,addr=0x4",
        "-device", "e1000e,romfile=,addr=0x5"])
    esp_put(m.esp, "EFI/polyboot/polyboot.conf", conf)
    return m


def default_policy(ctx, disk):
    """No device line for the NVMe controller: the planner's default gives it."""
    conf = CONF.replace("device = %s\n" % NVME, "").replace("on_all_stopped = menu", "on_all_stopped = poweroff")
    before = writes(disk)
    m = l0(ctx, "policy", disk, conf)
    rc, _ = headless_run(m, timeout=900)
    log = esp_get(m.esp, "EFI/polyboot/logs/polyboot.log") or ""
    mk, _ = console_marker(m.esp, "vfio")
    ctx.check("policy-gives-controller",
              re.search(r"passthrough auto: %s \(NVMe controller\) with nvme0n1, instead of emulated disks"
                        % re.escape(NVME), log) is not None and
              re.search(r"started vfio .* 0 disks, 2 devices", log) is not None,
              "log: %s" % re.findall(r".*(?:passthrough|started vfio).*", log)[:6])
    ctx.check("policy-boots", "model=nvme:" in mk and "write=ok" in mk and writes(disk) == before + 1 and rc == 0,
              "marker: %r; exit %s" % (mk, rc))
    ctx.check("policy-restored", "%s back to nvme" % NVME in log, "log: %s" % re.findall(r".*back to.*", log))


def run(ctx):
    disk = fixture(ctx)
    explicit(ctx, disk)
    default_policy(ctx, disk)


def explicit(ctx, disk):
    before = writes(disk)
    m = l0(ctx, "passthrough", disk, CONF)
    shell, rc = "", None
    t0 = time.monotonic()
    with m:
        m.expect(r"polyboot .* parallel boot firmware", timeout=300)
        try:
            m.expect(r"every VM has stopped", timeout=900)
            time.sleep(3)                          # the menu's frame
            m.send("s")
            m.expect(r"recovery shell", timeout=60)
            time.sleep(1)
            m.send("echo DRV-NVME=$(basename $(readlink /sys/bus/pci/devices/%s/driver)) "
                   "DRV-NIC=$(basename $(readlink /sys/bus/pci/devices/%s/driver) 2>/dev/null); "
                   "echo DEVS-BEGIN; polyboot devices --json; echo DEVS-END; polyboot devices; "
                   "echo SHELL-DONE\r" % (NVME, NIC))
            m.expect(r"\nSHELL-DONE\r?\n", timeout=300)    # the output, not the echoed command
            shell = m.text().replace("\r", "")
            shell = shell[shell.rfind("recovery shell"):]
            m.send("poweroff -f\r")
            rc = m.wait_exit(timeout=60)
        except Exception as e:        # noqa: BLE001 - reported by the checks below
            rc = "failed: %s" % str(e)[:400]
    print("[vfio] machine ran %.0f s" % (time.monotonic() - t0), flush=True)
    log = esp_get(m.esp, "EFI/polyboot/logs/polyboot.log") or ""
    con = (esp_get(m.esp, "EFI/polyboot/logs/vfio.console.log") or "").replace("\r", "")
    mk, _ = console_marker(m.esp, "vfio")
    nic = re.search(r"^POLYBOOT-GUEST-NIC .*$", con, re.M)
    nic = nic.group(0) if nic else ""

    ctx.check("bound-to-vfio", all(re.search(r"%s.*vfio-pci" % re.escape(b), log) for b in (NVME, NIC)),
              "log: %s" % re.findall(r".*(?:vfio|%s|%s).*" % (NVME, NIC), log)[:8])
    # No emulated disk: the controller's disk went with the controller.
    ctx.check("started-with-devices", re.search(r"started vfio .* 0 disks, 2 devices", log) is not None,
              "log: %s" % re.findall(r"(?:started|vfio:) .*", log)[:6])
    ctx.check("guest-boots-from-passthrough", "model=nvme:" in mk and "write=ok" in mk and "data=ok" in mk,
              "marker: %r; console tail: %r" % (mk, con[-600:]))
    after = writes(disk)
    ctx.check("write-on-l0-disk", after == before + 1, "written lines in the L0 image: %d -> %d" % (before, after))
    ctx.check("nic-real-ids", "id=8086:10d3" in nic and "driver=e1000e" in nic, "NIC line: %r" % nic)
    irqs = re.search(r"irqs=(\S+)", nic)
    msi = [x for x in (irqs.group(1).split(",") if irqs else []) if "MSI" in x and int(x.rsplit(":", 1)[1]) > 0]
    ctx.check("nic-msi-interrupts", bool(msi), "NIC line: %r" % nic)
    drv = re.search(r"^DRV-NVME=(\S*) DRV-NIC=(\S*)$", shell, re.M)
    ctx.check("restored-drivers", drv is not None and drv.groups() == ("nvme", "") and
              "%s back to nvme" % NVME in log and "%s back to no driver" % NIC in log,
              "shell: %s; log: %s" % (drv.group(0) if drv else None, re.findall(r".*back to.*", log)[:4]))
    devs = None
    j = re.search(r"DEVS-BEGIN\n(.*?)\nDEVS-END", shell, re.S)
    if j:
        try:
            devs = json.loads(j.group(1))
        except ValueError:
            devs = None
    ctrl = next((d for d in (devs or {}).get("devices", []) if d.get("bdf") == NVME), None)
    ctx.check("planner-shows-controller", ctrl is not None and ctrl.get("iommu_group", -1) >= 0 and
              LABEL in json.dumps(ctrl.get("oses", ctrl)), "controller: %s" % json.dumps(ctrl)[:600])
    ctx.check("poweroff", rc == 0, "QEMU exit status %s" % rc)
