#!/usr/bin/env python3
"""A stand-in for polyvmm, for testing the boot manager on the host (no KVM).

`fakevmm vars ...` runs the real polyvmm's variable tool ($POLYVMM_REAL).
Otherwise it takes polyvmm's options, prints a guest-like console on stdout
(a POLYBOOT-GUEST line with its name, CPUs, memory, disks and --device
arguments), echoes what is
typed on its console as "echo: <line>", and serves the control protocol on
--control: status, powerbutton (the guest prints POLYBOOT-GUEST-SHUTDOWN and
powers off: status 0), reset, stop (status 6). With FAKEVMM_MODE=poweroff it
powers off by itself after a second; FAKEVMM_MODE=crash exits with status 4
and a reason on stderr."""
import os
import select
import socket
import sys
import time


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "vars":
        os.execv(os.environ["POLYVMM_REAL"], [os.environ["POLYVMM_REAL"]] + sys.argv[1:])
    opts, disks, devices = {}, [], []
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        k = args[i][2:]
        v = args[i + 1] if i + 1 < len(args) else ""
        if k == "disk":
            disks.append(v)
        elif k == "device":
            devices.append(v)
        else:
            opts[k] = v
        i += 2
    name = opts.get("name", "?")
    mode = os.environ.get("FAKEVMM_MODE", "wait")
    if "bios" not in opts and not os.path.exists(opts.get("vars", "")):
        print("polyvmm[%s]: error: no variable store %s" % (name, opts.get("vars")), file=sys.stderr)
        sys.exit(1)
    sys.stderr.write("polyvmm[%s]: fake VM, %s CPUs, %s\n" % (name, opts.get("cpus"), opts.get("memory")))
    sys.stderr.flush()
    out = sys.stdout
    out.write("fake firmware of %s\r\n" % name)
    out.write("POLYBOOT-GUEST name=%s cpus=%s memory=%s reboot=%s firmware=%s disks=%s devices=%s\r\n" % (
        name, opts.get("cpus"), opts.get("memory"), opts.get("reboot"),
        "seabios" if "bios" in opts else "ovmf", ";".join(disks), ";".join(devices)))
    out.flush()
    if mode == "crash":
        print("polyvmm[%s]: error: guest crashed (triple fault)" % name, file=sys.stderr)
        sys.exit(4)
    srv = None
    if opts.get("control"):
        try:
            os.unlink(opts["control"])
        except FileNotFoundError:
            pass
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(opts["control"])
        srv.listen(4)
    t0 = time.monotonic()
    line = b""
    while True:
        if mode == "poweroff" and time.monotonic() - t0 > 1:
            sys.exit(0)
        fds = [0] + ([srv] if srv else [])
        r, _, _ = select.select(fds, [], [], 0.2)
        if 0 in r:
            data = os.read(0, 256)
            if not data:
                continue
            line += data
            while b"\r" in line or b"\n" in line:
                cut = min(i for i in (line.find(b"\r"), line.find(b"\n")) if i >= 0)
                out.write("echo: %s\r\n" % line[:cut].decode(errors="replace"))
                out.flush()
                line = line[cut + 1:]
        if srv and srv in r:
            c, _ = srv.accept()
            cmd = c.recv(256).decode().strip()
            if cmd == "status":
                c.sendall(b"ok state=running name=%s\n" % name.encode())
            elif cmd == "powerbutton":
                c.sendall(b"ok listening\n")
                c.close()
                out.write("POLYBOOT-GUEST-SHUTDOWN power button\r\n")
                out.flush()
                time.sleep(0.3)
                sys.exit(0)
            elif cmd == "stop":
                c.sendall(b"ok\n")
                c.close()
                sys.exit(6)
            else:
                c.sendall(b"err unknown command\n")
            c.close()


if __name__ == "__main__":
    main()
