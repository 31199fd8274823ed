"""Nested-KVM test harness: boots polyboot (or any EFI disk) in L0.

L0 is the fixed QEMU built by `./build.sh qemu` (see shared/HARNESS.md):
TCG with an emulated AMD SVM CPU, so the firmware's kernel (L1) gets a
working /dev/kvm with nested paging and our VMM can run L2 guests.

    m = Machine("boot-smoke", esp=out/"esp.img", testpack=pack)
    m.start()
    m.expect(r"polyboot .* parallel boot firmware", timeout=120)
    m.send("reset -s\\r")
    m.wait_exit(timeout=60)

Every machine logs its serial console to out/test-logs/<name>.serial.log and
is always killed (with its process group) when the test ends.
"""
import atexit
import io
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.environ.get("POLYBOOT_OUT", os.path.join(TOP, "out"))
LOGDIR = os.path.join(OUT, "test-logs")
WORKDIR = os.path.join(OUT, "test-work")

_live = set()


def _kill_all():
    for m in list(_live):
        m.kill()


atexit.register(_kill_all)


class Timeout(Exception):
    pass


class Machine:
    """One L0 virtual machine with OVMF as its firmware."""

    def __init__(self, name, esp=None, mem="4G", smp=2, drives=(), testpack=None,
                 fw_cfg=(), iommu=False, extra_args=(), qemu=None, copy_esp=True,
                 devices=(), mttcg=None, monitor=False, vars_template=None, esp_bootindex=True):
        self.name = name
        # L0's TCG threading: one thread per vCPU (multi) unless the test or
        # POLYBOOT_L0_TCG=single says one thread for all of them.
        self.mttcg = mttcg if mttcg is not None else os.environ.get("POLYBOOT_L0_TCG", "multi") != "single"
        self.monitor = monitor
        self.vars_template = vars_template
        # bootindex makes OVMF follow QEMU's boot order and delete the
        # Boot#### options it does not list: off when a test brings its own.
        self.esp_bootindex = esp_bootindex
        self.qemu = qemu or os.environ.get("POLYBOOT_QEMU")
        if not self.qemu or not os.path.exists(self.qemu):
            raise RuntimeError("fixed QEMU not found (run ./build.sh qemu, or set POLYBOOT_QEMU)")
        self.work = os.path.join(WORKDIR, name)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        os.makedirs(LOGDIR, exist_ok=True)
        self.log_path = os.path.join(LOGDIR, name + ".serial.log")
        self.esp = esp if esp is not None else os.path.join(OUT, "esp.img")
        if self.esp and copy_esp:
            dst = os.path.join(self.work, "esp.img")
            subprocess.run(["cp", "--sparse=always", self.esp, dst], check=True)
            self.esp = dst
        self.mem, self.smp = mem, smp
        self.drives = list(drives)
        self.devices = list(devices)
        self.fw_cfg = list(fw_cfg)
        if testpack is not None:
            self.fw_cfg.append(("opt/polyboot/testpack", testpack))
        self.iommu = iommu
        self.extra_args = list(extra_args)
        self.proc = None
        self.buf = bytearray()
        self.pos = 0
        self.lock = threading.Condition()
        self.eof = False
        self.t_start = None

    # --- lifecycle ---
    def command(self):
        fw = os.path.join(OUT, "firmware")
        vars_copy = os.path.join(self.work, "OVMF_VARS_4M.fd")
        shutil.copy(self.vars_template or os.path.join(fw, "OVMF_VARS_4M.fd"), vars_copy)
        args = [self.qemu,
                "-machine", "q35,smm=off" + (",kernel-irqchip=split" if self.iommu else ""),
                "-accel", "tcg,thread=%s,tb-size=512" % ("multi" if self.mttcg else "single"),
                "-cpu", "max,+svm", "-smp", str(self.smp), "-m", self.mem,
                "-nodefaults", "-no-user-config", "-display", "none",
                "-serial", "stdio", "-monitor", "none",
                "-L", "/usr/share/qemu", "-L", "/usr/share/seabios",
                "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + os.path.join(fw, "OVMF_CODE_4M.fd"),
                "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
        if self.iommu:
            args += ["-device", "intel-iommu,intremap=on,caching-mode=on"]
        if self.esp:
            args += ["-drive", "if=none,id=esp,format=raw,file=" + self.esp,
                     "-device", "virtio-blk-pci,drive=esp" + (",bootindex=1" if self.esp_bootindex else "")]
        for i, d in enumerate(self.drives):
            # (path, interface) with interface virtio|nvme|ahci, or a raw -drive/-device pair
            path, iface = d[0], d[1]
            ro = ",readonly=on" if len(d) > 2 and d[2] == "ro" else ""
            args += ["-drive", "if=none,id=d%d,format=raw,file=%s%s" % (i, path, ro)]
            if iface == "virtio":
                args += ["-device", "virtio-blk-pci,drive=d%d" % i]
            elif iface == "nvme":
                args += ["-device", "nvme,drive=d%d,serial=polyboot-nvme-%d" % (i, i)]
            elif iface == "ahci":
                args += ["-device", "ide-hd,drive=d%d,bus=ide.%d" % (i, i)]
            else:
                raise ValueError("unknown drive interface " + iface)
        for dev in self.devices:
            args += ["-device", dev]
        for name, path in self.fw_cfg:
            args += ["-fw_cfg", "name=%s,file=%s" % (name, path)]
        if self.monitor:
            # The human monitor on a socket, for powerdown() (the ACPI power button).
            self.monitor_path = os.path.join(self.work, "monitor.sock")
            i = args.index("-monitor")
            args[i + 1] = "unix:%s,server=on,wait=off" % self.monitor_path
        return args + self.extra_args

    def start(self):
        args = self.command()
        with open(os.path.join(self.work, "qemu.cmdline"), "w") as f:
            f.write(" ".join(args) + "\n")
        self.logf = open(self.log_path, "wb")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _live.add(self)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            with self.lock:
                if not data:
                    self.eof = True
                    self.lock.notify_all()
                    break
                self.buf += data
                self.logf.write(data)
                self.logf.flush()
                self.lock.notify_all()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        _live.discard(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        if hasattr(self, "logf"):
            self.logf.close()

    def elapsed(self):
        return time.monotonic() - self.t_start

    # --- console ---
    def text(self):
        with self.lock:
            return self.buf.decode("utf-8", "replace")

    def vars_path(self):
        """L0's UEFI variable store (OVMF_VARS) of this machine."""
        return os.path.join(self.work, "OVMF_VARS_4M.fd")

    def powerdown(self):
        """Presses the machine's ACPI power button (needs monitor=True)."""
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(self.monitor_path)
            c.sendall(b"system_powerdown\n")
            time.sleep(0.5)

    def raw(self):
        """Everything the serial console printed so far, as bytes."""
        with self.lock:
            return bytes(self.buf)

    def tail(self, n=2000):
        return self.text()[-n:]

    def expect(self, pattern, timeout):
        """Waits until @pattern (regex) appears after the last match; returns the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                m = rx.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    why = "QEMU exited (status %s)" % self.proc.poll() if self.eof else "timeout %ds" % timeout
                    raise Timeout("%s: waiting for %r: %s; serial log %s; last output:\n%s" % (
                        self.name, pattern, why, self.log_path,
                        self.buf[-1500:].decode("utf-8", "replace")))
                self.lock.wait(min(left, 1.0))

    def send(self, text, delay=0.0):
        """Types @text on the serial console (optionally one char at a time)."""
        data = text.encode() if isinstance(text, str) else text
        if delay:
            for b in data:
                self.proc.stdin.write(bytes([b]))
                self.proc.stdin.flush()
                time.sleep(delay)
        else:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("%s: QEMU did not exit within %ds; last output:\n%s" % (
                self.name, timeout, self.tail(1500)))


def make_testpack(path, script, files=()):
    """Writes a tar that /init unpacks and runs: run.sh is @script, plus
    (name, source path, mode) files. Returns @path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tarfile.open(path, "w") as tar:
        data = script.encode()
        ti = tarfile.TarInfo("run.sh")
        ti.size, ti.mode = len(data), 0o755
        tar.addfile(ti, io.BytesIO(data))
        for name, src, mode in files:
            with open(src, "rb") as f:
                data = f.read()
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), mode
            tar.addfile(ti, io.BytesIO(data))
    return path
