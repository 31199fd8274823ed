"""The boot manager on the host, no KVM and no QEMU: `polyboot menu` runs
against an inventory that `polyboot scan --json` made of the fixture OS
disks, with an ESP directory, on a pseudo-terminal, and with
tests/e2e/guest/fakevmm.py in place of polyvmm (it prints a marker line with
the arguments it was given, echoes console input and serves the control
socket; its `vars` subcommand is the real polyvmm's variable tool).

- headless: two OSes on autostart start, get the planned CPUs, cpusets,
  memory and disks, get a VARS file on the ESP with a Boot#### for their
  loader, their console logs and the manager's log land on the ESP, and the
  manager exits for power-off when both powered off;
- a VM that crashes brings the menu back instead of powering off;
- menu: a configuration with four errors shows each with file:line, the
  test selects two of three OSes with the keys, starts them, switches to
  each console (scrollback shows its marker; typed input reaches it),
  presses the power-button key and the manager exits for power-off;
- check-config: the same errors offline, exit 1; a good file plans.
- PCI passthrough on a fake sysfs tree (--sysfs), with a thread playing the
  kernel's part (driver_override, unbind, drivers_probe move the driver
  link; /dev/vfio/N appears): a `device =` line binds the device to
  vfio-pci before polyvmm starts, polyvmm gets `--device vfio=BDF`, and the
  device is back with its driver after the VM powered off; a device that
  cannot be unbound fails its VM with the reason on the menu; check-config
  shows the device, and the IOMMU-off error at the device line.
"""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time

from mgrlib import error_conf, error_want, last_frame, menu_rows as rows, select_only


class Pty:
    """polyboot on a pseudo-terminal: send keys, read frames."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.buf = b""

    def pump(self, secs):
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.buf += data

    def send(self, data):
        os.write(self.fd, data.encode() if isinstance(data, str) else data)
        self.pump(0.4)

    def wait_for(self, pred, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if pred():
                return True
            self.pump(0.2)
        return pred()

    def frame(self):
        return last_frame(self.buf)

    def wait_exit(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.pump(0.2)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(st)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return "timeout"


class FakeKernel(threading.Thread):
    """The kernel's side of driver_override/unbind/drivers_probe on a fake
    sysfs tree: moves the driver link, makes /dev/vfio/N."""

    def __init__(self, root, drivers):
        super().__init__(daemon=True)
        self.root, self.drivers, self.stop = root, dict(drivers), False

    def path(self, *p):
        return os.path.join(self.root, *p)

    def take(self, f):
        try:
            with open(f) as fh:
                v = fh.read().strip()
            if v:
                open(f, "w").close()
            return v
        except OSError:
            return ""

    def link(self, bdf, drv):
        dev = os.path.realpath(self.path("sys/bus/pci/devices", bdf))
        lk = os.path.join(dev, "driver")
        if os.path.lexists(lk):
            os.remove(lk)
        if drv:
            os.symlink(os.path.relpath(self.path("sys/bus/pci/drivers", drv), dev), lk)

    def run(self):
        while not self.stop:
            drv_dir = self.path("sys/bus/pci/drivers")
            for d in os.listdir(drv_dir):
                bdf = self.take(os.path.join(drv_dir, d, "unbind"))
                if bdf:
                    self.link(bdf, None)
            bdf = self.take(self.path("sys/bus/pci/drivers_probe"))
            if bdf:
                with open(self.path("sys/bus/pci/devices", bdf, "driver_override")) as fh:
                    ov = fh.read().strip()
                if ov == "vfio-pci":
                    self.link(bdf, "vfio-pci")
                    group = os.path.basename(os.readlink(self.path("sys/bus/pci/devices", bdf, "iommu_group")))
                    os.makedirs(self.path("dev/vfio"), exist_ok=True)
                    open(self.path("dev/vfio", group), "w").close()
                else:
                    self.link(bdf, self.drivers.get(bdf))
            time.sleep(0.02)


def fake_sysfs(root):
    """IOMMU on; 03:00.0 an Ethernet controller on e1000e (group 9), 04:00.0
    one on igb (group 10) whose driver has no unbind file."""
    def put(rel, text=""):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def ln(rel, target):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(os.path.relpath(os.path.join(root, target), os.path.dirname(p)), p)

    os.makedirs(os.path.join(root, "sys/class/iommu/dmar0"))
    os.makedirs(os.path.join(root, "sys/bus/pci/drivers/vfio-pci"))
    put("sys/bus/pci/drivers/vfio-pci/unbind")
    put("sys/bus/pci/drivers/e1000e/unbind")
    os.makedirs(os.path.join(root, "sys/bus/pci/drivers/igb"))
    put("sys/bus/pci/drivers_probe")
    for bdf, drv, group in (("0000:03:00.0", "e1000e", 9), ("0000:04:00.0", "igb", 10)):
        dev = "sys/devices/pci0000:00/0000:00:1c.0/" + bdf
        for k, v in (("vendor", "0x8086"), ("device", "0x10d3"), ("subsystem_vendor", "0x8086"),
                     ("subsystem_device", "0xa01f"), ("class", "0x020000"), ("reset_method", "flr"),
                     ("driver_override", "(null)")):
            put(dev + "/" + k, v + "\n")
        ln("sys/bus/pci/devices/" + bdf, dev)
        ln(dev + "/driver", "sys/bus/pci/drivers/" + drv)
        ln("sys/kernel/iommu_groups/%d/devices/%s" % (group, bdf), dev)
        ln(dev + "/iommu_group", "sys/kernel/iommu_groups/%d" % group)


def run(ctx):
    out, top = ctx.out, ctx.top
    work = os.path.join(out, "test-work", "manager-host")
    # Control sockets live in the run dir: a unix socket path holds 107 bytes,
    # and the clone may sit anywhere, so the run dirs go under a short /tmp path.
    runs = tempfile.mkdtemp(prefix="pb-")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    fx = os.path.join(out, "fixtures")
    disks = []
    for variant, wait in (("", False), ("wa", True), ("wb", True)):
        cmd = ["python3", os.path.join(top, "tests", "fixtures", "mkosdisk.py"), "--out", fx]
        cmd += (["--variant", variant] if variant else []) + (["--wait"] if wait else [])
        subprocess.run(cmd, check=True, capture_output=True)
        disks.append(os.path.join(fx, ("os-" + variant if variant else "os") + ".img"))
    polyboot = os.path.join(out, "bin", "polyboot")
    scan = subprocess.run([polyboot, "scan", "--json", "--efivars", ""] + sum((["--disk", d] for d in disks), []),
                          capture_output=True, text=True)
    inv_path = os.path.join(work, "inventory.json")
    with open(inv_path, "w") as f:
        f.write(scan.stdout)
    inv = json.loads(scan.stdout)
    labels = sorted(o["label"] for o in inv["oses"])
    ctx.check("host-inventory", scan.returncode == 0 and labels == [
        "polyboot test Debian", "polyboot test Debian wa", "polyboot test Debian wb"], "OSes: %s" % labels)
    p3 = [p for p in inv["disks"][0]["partitions"] if p["num"] == 3][0]["id"]

    env = dict(os.environ, POLYVMM_REAL=os.path.join(out, "bin", "polyvmm"), TERM="vt100")
    fake = os.path.join(top, "tests", "e2e", "guest", "fakevmm.py")

    def setup(name, conf, run=None, sysfs=None):
        d = os.path.join(work, name)
        esp = os.path.join(d, "esp")
        os.makedirs(os.path.join(esp, "EFI", "polyboot"))
        os.makedirs(os.path.join(d, "cg"))
        os.makedirs(os.path.join(d, "input"))
        with open(os.path.join(esp, "EFI", "polyboot", "polyboot.conf"), "w") as f:
            f.write(conf)
        return d, esp, [polyboot, "menu", "--inventory", inv_path, "--esp", esp, "--console", "stdio",
                        "--polyvmm", fake, "--firmware-dir", os.path.join(out, "firmware"),
                        "--run-dir", run or os.path.join(runs, name), "--cgroup-root", os.path.join(d, "cg"),
                        "--input-dir", os.path.join(d, "input")] + (["--sysfs", sysfs] if sysfs else [])

    def read(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- headless ------------------------------------------------------------
    d, esp, argv = setup("headless", """\
[global]
mode = auto
[os debian]
match = polyboot test Debian
cpus = 1
memory = 512M
autostart = yes
[os wa]
match = polyboot test Debian wa
memory = 384M
autostart = yes
delay = 0.5
""")
    os.makedirs(os.path.join(d, "run"))
    p = Pty(argv, dict(env, FAKEVMM_MODE="poweroff"))
    rc = p.wait_exit(60)
    logs = os.path.join(esp, "EFI", "polyboot", "logs")
    log = read(os.path.join(logs, "polyboot.log"))
    ctx.check("host-headless-poweroff", rc == 0 and "every VM has stopped: powering off" in log,
              "exit %s; log tail: %s" % (rc, log[-300:]))
    mk = {n: re.search(r"^POLYBOOT-GUEST .*$", read(os.path.join(logs, n + ".console.log")), re.M)
          for n in ("debian", "wa")}
    ctx.check("host-headless-resources", bool(mk["debian"] and mk["wa"]) and
              "cpus=1 memory=512M" in mk["debian"].group(0) and "memory=384M" in mk["wa"].group(0) and
              "path=%s,if=virtio" % disks[0] in mk["debian"].group(0),
              "markers: %s" % {k: v.group(0) if v else None for k, v in mk.items()})
    ctx.check("host-headless-cpusets", re.search(r"started debian .* on cpuset \d", log) is not None or
              os.cpu_count() < 2, "cpus %s: %s" % (os.cpu_count(), re.findall(r"started .*", log)))
    vars_dir = os.path.join(esp, "EFI", "polyboot", "vars")
    vfiles = sorted(os.listdir(vars_dir)) if os.path.isdir(vars_dir) else []
    bl = ""
    if vfiles:
        bl = subprocess.run([env["POLYVMM_REAL"], "vars", "boot-list", os.path.join(vars_dir, vfiles[0])],
                            capture_output=True, text=True).stdout
    ctx.check("host-headless-vars", len(vfiles) == 2 and re.search(r"HD\(1,GPT,.*grubx64\.efi", bl, re.I),
              "vars %s; %s" % (vfiles, bl.strip()[:300]))
    ctx.check("host-headless-console-clean", b"POLYBOOT-GUEST" not in p.buf and b"starting 2 OSes" in p.buf,
              "console: %r" % p.buf[-300:])

    # --- a crashed VM brings the menu back ------------------------------------------
    d, esp, argv = setup("crash", "[global]\nmode = auto\n[os debian]\nmatch = polyboot test Debian\n"
                         "memory = 256M\nautostart = yes\n")
    p = Pty(argv, dict(env, FAKEVMM_MODE="crash"))
    ok = p.wait_for(lambda: any("failed" in l and "crashed" in l for l in rows(p.frame())), 30)
    ctx.check("host-crash-shows-menu", ok, "\n".join(p.frame()))
    p.send("p")
    rc = p.wait_exit(10)
    ctx.check("host-menu-poweroff-key", rc == 0, "exit %s" % rc)

    # --- a run dir too long for a unix socket path fails that VM, clearly ----------
    long_run = os.path.join(runs, "r" * 100)
    d, esp, argv = setup("longrun", "[global]\nmode = auto\n[os debian]\nmatch = polyboot test Debian\n"
                         "memory = 256M\nautostart = yes\n", run=long_run)
    p = Pty(argv, dict(env, FAKEVMM_MODE="poweroff"))
    ok = p.wait_for(lambda: any("failed run dir" in l for l in rows(p.frame())), 30)
    log = read(os.path.join(esp, "EFI", "polyboot", "logs", "polyboot.log"))
    ctx.check("host-long-run-dir-refused", ok and "longer than a unix socket allows" in log,
              "\n".join(p.frame()) + "\nlog: " + log[-300:])
    p.send("p")
    p.wait_exit(10)

    # --- menu with configuration errors, then keys ----------------------------------
    conf = error_conf("64T", p3, "384M") + """\
[os wb]
match = polyboot test Debian wb
cpus = 1
memory = 384M
"""
    d, esp, argv = setup("menu", conf)
    p = Pty(argv, dict(env, FAKEVMM_MODE="wait"))
    p.wait_for(lambda: len(rows(p.frame())) == 3, 30)
    screen = "\n".join(p.frame())
    log = read(os.path.join(esp, "EFI", "polyboot", "logs", "polyboot.log"))
    for name, (spat, pat) in error_want("64T").items():
        ctx.check("host-config-error-" + name, re.search(spat, screen) is not None and
                  re.search(pat, log) is not None, "%r on screen and in the log:\n%s" % (pat, screen))
    select_only(p.send, rows(p.frame()), r"Debian w[ab]\s")
    sel = sorted(l.split()[4] for l in rows(p.frame()) if l.startswith("[*]"))
    ctx.check("host-menu-select", sel == ["wa", "wb"], "\n".join(rows(p.frame())))
    p.send("\r")
    ok = p.wait_for(lambda: sum(1 for l in rows(p.frame()) if "running" in l) == 2, 30)
    ctx.check("host-menu-two-running", ok, "\n".join(rows(p.frame())))
    seen = {}
    for _ in range(2):
        mark = len(p.buf)
        p.send("\x1d")
        p.pump(1)
        tail = p.buf[mark:].decode(errors="replace")
        h = re.search(r"\[polyboot\] console of (\S+)", tail)
        if h and re.search(r"POLYBOOT-GUEST name=%s " % h.group(1), tail):
            p.send("hello %s\r" % h.group(1))
            if p.wait_for(lambda: ("echo: hello %s" % h.group(1)).encode() in p.buf[mark:], 5):
                seen[h.group(1)] = True
    ctx.check("host-console-switch-and-input", sorted(seen) == ["wa", "wb"], "consoles: %s" % seen)
    p.send("\x1d")                    # the menu again
    ok = p.wait_for(lambda: len(rows(p.frame())) == 3, 5)
    p.send("b")
    rc = p.wait_exit(30)
    log = read(os.path.join(esp, "EFI", "polyboot", "logs", "polyboot.log"))
    stopped = dict(re.findall(r"(wa|wb) stopped: (.*) after", log))
    ctx.check("host-power-button", ok and rc == 0 and stopped == {"wa": "powered off", "wb": "powered off"} and
              "POLYBOOT-GUEST-SHUTDOWN" in read(os.path.join(esp, "EFI", "polyboot", "logs", "wa.console.log")),
              "exit %s, stopped %s" % (rc, stopped))
    ctx.check("host-wa-extra-disk", re.search(r"wa: disk \d: .*parts 3", log) is not None,
              "wa's disks: %s" % re.findall(r"wa: disk .*", log))

    # --- check-config --------------------------------------------------------------
    cfg = os.path.join(work, "menu", "esp", "EFI", "polyboot", "polyboot.conf")
    r = subprocess.run([polyboot, "check-config", cfg, "--inventory", inv_path, "--cpus", "2", "--memory", "4G"],
                       capture_output=True, text=True)
    errs = r.stdout.strip().splitlines()
    ctx.check("host-check-config-errors", r.returncode == 1 and len(errs) >= 5 and
              all(re.search(pat, r.stdout) for _, pat in error_want("64T").values()), r.stdout[-800:])
    good = os.path.join(work, "good.conf")
    with open(good, "w") as f:
        f.write("[os wa]\nmatch = polyboot test Debian wa\ncpus = 1\nmemory = 512M\nautostart = yes\n")
    r = subprocess.run([polyboot, "check-config", good, "--inventory", inv_path, "--cpus", "2", "--memory", "4G"],
                       capture_output=True, text=True)
    ctx.check("host-check-config-ok", r.returncode == 0 and "1 OS in the default set" in r.stdout and
              "wa: 1 CPUs" in r.stdout, r.stdout + r.stderr)

    # --- PCI passthrough on a fake sysfs tree ---------------------------------------
    sysfs = os.path.join(work, "sysfs")
    fake_sysfs(sysfs)
    kern = FakeKernel(sysfs, {"0000:03:00.0": "e1000e", "0000:04:00.0": "igb"})
    kern.start()
    dev_conf = ("[global]\nmode = auto\n[os debian]\nmatch = polyboot test Debian\nmemory = 256M\n"
                "autostart = yes\ndevice = 03:00.0\n")
    d, esp, argv = setup("vfio", dev_conf, sysfs=sysfs)
    p = Pty(argv, dict(env, FAKEVMM_MODE="poweroff"))
    rc = p.wait_exit(60)
    logs = os.path.join(esp, "EFI", "polyboot", "logs")
    log = read(os.path.join(logs, "polyboot.log"))
    mk = re.search(r"^POLYBOOT-GUEST .*$", read(os.path.join(logs, "debian.console.log")), re.M)
    dev = os.path.join(sysfs, "sys/bus/pci/devices/0000:03:00.0")
    ctx.check("host-vfio-bound-and-passed", rc == 0 and mk is not None and
              "devices=vfio=0000:03:00.0" in mk.group(0) and
              "0000:03:00.0 (Ethernet controller) on vfio-pci, was e1000e" in log,
              "exit %s; marker %s; log: %s" % (rc, mk and mk.group(0), log[-600:]))
    ctx.check("host-vfio-restored", "0000:03:00.0 back to e1000e" in log and
              os.readlink(os.path.join(dev, "driver")).endswith("/e1000e") and
              read(os.path.join(dev, "driver_override")).strip() == "", log[-600:])
    d, esp, argv = setup("vfio-fail", dev_conf.replace("03:00.0", "04:00.0"), sysfs=sysfs)
    p = Pty(argv, dict(env, FAKEVMM_MODE="poweroff"))
    ok = p.wait_for(lambda: any("failed cannot bind" in l for l in rows(p.frame())), 30)
    log = read(os.path.join(esp, "EFI", "polyboot", "logs", "polyboot.log"))
    ctx.check("host-vfio-bind-failure", ok and "cannot unbind 0000:04:00.0 from igb" in log and
              "POLYBOOT-GUEST" not in read(os.path.join(esp, "EFI", "polyboot", "logs", "debian.console.log")),
              "\n".join(p.frame()) + "\nlog: " + log[-600:])
    p.send("p")
    p.wait_exit(10)
    kern.stop = True
    cfg = os.path.join(work, "vfio", "esp", "EFI", "polyboot", "polyboot.conf")
    r = subprocess.run([polyboot, "check-config", cfg, "--inventory", inv_path, "--cpus", "2", "--memory", "4G",
                        "--sysfs", sysfs], capture_output=True, text=True)
    ctx.check("host-check-config-device", r.returncode == 0 and
              "device 0000:03:00.0: Ethernet controller, device line" in r.stdout, r.stdout + r.stderr)
    empty = os.path.join(work, "nosysfs")
    os.makedirs(empty)
    r = subprocess.run([polyboot, "check-config", cfg, "--inventory", inv_path, "--cpus", "2", "--memory", "4G",
                        "--sysfs", empty], capture_output=True, text=True)
    ctx.check("host-check-config-iommu-off", r.returncode == 1 and
              re.search(r"polyboot.conf:7: key 'device': 0000:03:00.0: the IOMMU is off", r.stdout) is not None,
              r.stdout + r.stderr)
    shutil.rmtree(runs, ignore_errors=True)
