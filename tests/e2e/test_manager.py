"""The boot manager, end to end in the nested harness: the full image
(OVMF -> polyboot.efi -> /init -> polyboot) with fixture OS disks attached,
no test pack, one guest at a time (two side by side: test_manager_parallel,
opt-in; the parallel logic without KVM: test_manager_host).

1. Headless: polyboot.conf on the ESP starts the GRUB Debian fixture (on
   NVMe) with no menu; its VARS file is made on the ESP with a Boot#### for
   its loader, it boots to its marker (in its console log on the ESP), powers
   off, and the outer machine powers off by itself; the firmware's console
   shows no guest output.
2. Menu: a configuration with a syntax error, an unknown key, an
   overcommitted memory size and a partition claimed writable by two OSes
   shows all four errors (file:line) on the menu and in the log, and the
   menu works: the test selects one OS over the serial console, starts it,
   switches to its console and sees its marker, switches back, and presses
   the machine's ACPI power button (QEMU system_powerdown): the boot manager
   presses the guest's, the guest shuts down, the machine powers off.
3. Native: "boot natively" on the GRUB Debian kexecs its kernel: the guest's
   marker appears on the firmware's own serial console, and no VM ran.
4. BootNext: L0's variables hold a Boot#### for the GRUB Debian; with
   `native = bootnext` in its section, "boot natively" sets BootNext in L0's
   variables and reboots; after the reboot L0's OVMF starts that entry and
   the guest's marker appears on the machine's console.
"""
import os
import re
import subprocess
import time

from mgrlib import (console_leaks, console_marker, error_conf, error_want, esp_get, esp_ls, esp_put, fixtures,
                    headless_run, key_on_row, menu_rows, row_of, select_only,
                    wait_frame, work_copy)


def typist(m):
    """Types on @m's serial console with a pause after each key group."""
    return lambda k: (m.send(k), time.sleep(0.5))


def headless(ctx, facts):
    disk = work_copy(ctx, facts, "", "headless")
    m = ctx.machine("headless", drives=[(disk, "nvme")])
    esp_put(m.esp, "EFI/polyboot/polyboot.conf", """\
# one OS, no menu
[global]
mode = auto
on_all_stopped = poweroff

[os debian]
match = polyboot test Debian
cpus = 2
memory = 768M
autostart = yes
""")
    t0 = time.monotonic()
    rc, text = headless_run(m, timeout=600)
    ctx.check("headless-poweroff", rc == 0, "QEMU exit status %s after %.0f s" % (rc, time.monotonic() - t0))
    log = esp_get(m.esp, "EFI/polyboot/logs/polyboot.log") or ""
    ctx.check("headless-started", re.search(r"started debian \(polyboot test Debian\): 2 CPUs", log) is not None
              and "debian: disk 0: nvme0n1 whole disk rw" in log,
              "log: %s" % re.findall(r"(?:started|debian: disk) .*", log))
    ctx.check("headless-powered-off", re.search(r"debian stopped: powered off after", log) is not None,
              "log: %s" % re.findall(r"stopped: .*", log))
    mk, _ = console_marker(m.esp, "debian")
    ctx.check("headless-marker", "cpus=2" in mk and "write=ok" in mk and "data=ok" in mk, "marker: %s" % mk)
    vars_files = esp_ls(m.esp, "EFI/polyboot/vars")
    ctx.check("headless-vars-on-esp", len([v for v in vars_files if v.lower().endswith(".fd")]) == 1 and
              re.search(r"new VARS file .* \(Boot0001 -> \\EFI\\debian\\grubx64\.efi\)", log) is not None,
              "vars: %s" % vars_files)
    leaked, said = console_leaks(text, 1)
    ctx.check("headless-console-clean", not leaked and said,
              "guest output on the firmware console: %s" % leaked)


def menu(ctx, facts):
    third = work_copy(ctx, facts, "", "menu")
    wa = work_copy(ctx, facts, "wa", "menu")
    p3 = facts[""]["partitions"][2]["partition_guid"].lower()
    m = ctx.machine("menu", drives=[(wa, "virtio"), (third, "nvme")], monitor=True)
    esp_put(m.esp, "EFI/polyboot/polyboot.conf", error_conf("64G", p3, "640M"))
    want = error_want("64G")
    with m:
        m.expect(r"polyboot .* parallel boot firmware", timeout=300)
        f = wait_frame(m, lambda f: row_of(f, "polyboot test Debian wa") >= 0, 240)
        screen = "\n".join(f)
        print("menu frame:\n" + screen, flush=True)
        on_screen = {name: re.search(pat, screen) is not None for name, (pat, _) in want.items()}
        ctx.check("menu-after-errors", row_of(f, "polyboot test Debian wa") >= 0 and
                  not re.search(r"started (third|wa)", m.text()), "rows: %s" % [l for l in f if "Debian" in l])
        # Select exactly wa (the default set, third and wa, is preselected).
        select_only(typist(m), menu_rows(f), r"Debian wa\s")
        f = wait_frame(m, lambda f: sum(1 for l in f if l.startswith("[*]")) == 1, 20)
        ctx.check("menu-selected", [l.split()[4] for l in f if l.startswith("[*]")] == ["wa"],
                  "\n".join(l for l in f if l.startswith("[")))
        m.send("\r")
        f = wait_frame(m, lambda f: any("running" in l for l in f if "Debian wa" in l), 300)
        ctx.check("menu-running", any("running" in l for l in f if "Debian wa" in l),
                  "\n".join(l for l in f if "Debian" in l))
        mark = len(m.raw())
        m.send("\x1d")                # Ctrl-]: wa's console, its scrollback first
        end, marker = time.monotonic() + 400, None
        while time.monotonic() < end and not marker:
            tail = m.raw()[mark:].decode(errors="replace").replace("\r", "")
            h = re.search(r"\[polyboot\] console of wa", tail)
            found = re.search(r"^POLYBOOT-GUEST [^\n]*(?=\n)", tail[h.end():], re.M) if h else None
            marker = found.group(0) if found else None
            time.sleep(1)
        ctx.check("console-switch-marker", bool(marker) and "write=ok" in marker, "marker: %s" % marker)
        m.send("\x1d")                # back to the menu
        f = wait_frame(m, lambda f: row_of(f, "polyboot test Debian wa") >= 0, 20)
        ctx.check("console-back-to-menu", row_of(f, "polyboot test Debian wa") >= 0, "\n".join(f[:6]))
        m.powerdown()                 # the machine's power button
        try:
            rc = m.wait_exit(timeout=300)
        except Exception as e:        # noqa: BLE001
            rc = "no exit: %s" % str(e)[:200]
    log = esp_get(m.esp, "EFI/polyboot/logs/polyboot.log") or ""
    for name, (pat, logpat) in want.items():
        ctx.check("config-error-" + name, on_screen[name] and re.search(logpat, log) is not None,
                  "pattern %r on the menu (%s), %r in polyboot.log" % (pat, on_screen[name], logpat))
    con = esp_get(m.esp, "EFI/polyboot/logs/wa.console.log") or ""
    ctx.check("power-button-graceful", "power button pressed" in log and "wa: powerbutton: ok listening" in log
              and "POLYBOOT-GUEST-SHUTDOWN" in con and re.search(r"wa stopped: powered off", log) is not None,
              "log: %s" % re.findall(r"(?:power button|powerbutton|stopped).*", log))
    ctx.check("menu-poweroff-after-last", rc == 0, "QEMU exit status %s" % rc)


def native(ctx, facts):
    disk = work_copy(ctx, facts, "", "native")
    m = ctx.machine("native", drives=[(disk, "virtio")])
    esp_put(m.esp, "EFI/polyboot/polyboot.conf", "[global]\nmode = menu\ntimeout = -1\n")
    with m:
        m.expect(r"polyboot .* parallel boot firmware", timeout=300)
        f = wait_frame(m, lambda f: row_of(f, "polyboot test Debian") >= 0, 240)
        key_on_row(typist(m), row_of(f, "polyboot test Debian"), "n")
        try:
            mk = m.expect(r"POLYBOOT-GUEST [^\r\n]*(?=\r?\n)", timeout=300).group(0).decode()
        except Exception as e:        # noqa: BLE001
            mk = None
            print("native: %s" % str(e)[:300], flush=True)
        try:
            rc = m.wait_exit(timeout=120)
        except Exception:             # noqa: BLE001
            rc = None
        text = m.text()
    # The marker comes from the fixture's own kernel on L1's console: it saw
    # the disk as L0's virtio disk (vdb; the ESP is vda), not through a VM.
    ctx.check("native-kexec-marker", mk is not None and "disk=vdb" in mk and "started " not in text,
              "marker: %s" % mk)
    ctx.check("native-kexec-poweroff", rc == 0, "QEMU exit status %s" % rc)


def bootnext(ctx, facts):
    disk = work_copy(ctx, facts, "", "bootnext")
    tmpl = os.path.join(ctx.out, "test-work", "manager-bootnext-vars.fd")
    subprocess.run(["cp", os.path.join(ctx.out, "firmware", "OVMF_VARS_4M.fd"), tmpl], check=True)
    # L0's own boot entries, as on a PC: polyboot first, the installed OS last
    # (no bootindex, so OVMF keeps them).
    m = ctx.machine("bootnext", drives=[(disk, "virtio")], vars_template=tmpl, esp_bootindex=False)
    vars_tool = [os.path.join(ctx.out, "bin", "polyvmm"), "vars", "boot-add", tmpl]
    subprocess.run(vars_tool + ["--disk", m.esp, "--part", "1", "--loader", "\\EFI\\BOOT\\BOOTX64.EFI",
                                "--label", "polyboot", "--first"], check=True, capture_output=True)
    add = subprocess.run(vars_tool + ["--disk", disk, "--part", "1", "--loader", "\\EFI\\debian\\grubx64.efi",
                                      "--label", "polyboot fixture", "--last"], capture_output=True, text=True)
    entry = add.stdout.strip()
    esp_put(m.esp, "EFI/polyboot/polyboot.conf",
            "[global]\nmode = menu\ntimeout = -1\n[os debian]\nmatch = polyboot test Debian\nnative = bootnext\n")
    with m:
        m.expect(r"polyboot .* parallel boot firmware", timeout=300)
        f = wait_frame(m, lambda f: row_of(f, "polyboot test Debian") >= 0, 240)
        key_on_row(typist(m), row_of(f, "polyboot test Debian"), "n")
        try:
            started = m.expect(r"BdsDxe: starting (Boot[0-9A-F]{4}) \"([^\"]*)\"", timeout=300)
            started = "%s %s" % (started.group(1).decode(), started.group(2).decode())
            mk = m.expect(r"POLYBOOT-GUEST [^\r\n]*(?=\r?\n)", timeout=300).group(0).decode()
        except Exception as e:        # noqa: BLE001
            started = mk = None
            print("bootnext: %s" % str(e)[:300], flush=True)
        try:
            rc = m.wait_exit(timeout=120)
        except Exception:             # noqa: BLE001
            rc = None
        text = m.text()
    ctx.check("bootnext-reboot-into-entry", add.returncode == 0 and started == "%s polyboot fixture" % entry and
              text.count("parallel boot firmware") == 1,
              "boot-add: %s %s; after the reboot OVMF started %s" % (entry, add.stderr.strip(), started))
    ctx.check("bootnext-marker", mk is not None and "write=ok" in mk, "marker: %s" % mk)
    ctx.check("bootnext-poweroff", rc == 0, "QEMU exit status %s" % rc)


def run(ctx):
    facts = fixtures(ctx)
    headless(ctx, facts)
    menu(ctx, facts)
    native(ctx, facts)
    bootnext(ctx, facts)
