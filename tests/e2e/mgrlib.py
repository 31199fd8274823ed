"""Helpers of the boot manager's e2e tests (test_manager*.py): the fixture
OS disks, files on the ESP image (mtools, no mount), and reading and
driving the menu over a console (tui.c's frames)."""
import json
import os
import re
import subprocess
import time

FIX_VARIANTS = [("", False), ("b", False), ("wa", True), ("wb", True)]
ESC = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def fixtures(ctx):
    fx = os.path.join(ctx.out, "fixtures")
    facts = {}
    for variant, wait in FIX_VARIANTS:
        cmd = ["python3", os.path.join(ctx.top, "tests", "fixtures", "mkosdisk.py"), "--out", fx]
        if variant:
            cmd += ["--variant", variant]
        if wait:
            cmd += ["--wait"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("fixture build failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        print(r.stdout.strip().splitlines()[-1], flush=True)
        name = "os-" + variant if variant else "os"
        with open(os.path.join(fx, name + ".json")) as f:
            facts[variant] = json.load(f)
        facts[variant]["path"] = os.path.join(fx, name + ".img")
    return facts


def work_copy(ctx, facts, variant, tag):
    dst = os.path.join(ctx.out, "test-work", "manager-%s-%s.img" % (tag, variant or "os"))
    subprocess.run(["cp", "--sparse=always", facts[variant]["path"], dst], check=True)
    return dst


def fat(esp):
    """mtools' name for the FAT partition of the GPT disk image @esp."""
    table = json.loads(subprocess.run(["sfdisk", "-J", esp], capture_output=True, text=True,
                                      check=True).stdout)["partitiontable"]
    return "%s@@%d" % (esp, table["partitions"][0]["start"] * 512)


def esp_put(esp, rel, text):
    """Writes @text as ::/@rel on the FAT image @esp (mtools, no mount)."""
    tmp = esp + ".put"
    subprocess.run(["mmd", "-i", fat(esp), "::/" + os.path.dirname(rel)], capture_output=True)
    with open(tmp, "w") as f:
        f.write(text)
    subprocess.run(["mcopy", "-o", "-i", fat(esp), tmp, "::/" + rel], check=True)
    os.remove(tmp)


def esp_get(esp, rel):
    r = subprocess.run(["mtype", "-i", fat(esp), "::/" + rel], capture_output=True)
    return r.stdout.decode(errors="replace") if r.returncode == 0 else None


def esp_ls(esp, rel):
    r = subprocess.run(["mdir", "-b", "-i", fat(esp), "::/" + rel], capture_output=True, text=True)
    return r.stdout.split() if r.returncode == 0 else []


def last_frame(raw):
    """The menu's last full frame as text lines (tui.c positions each line
    with ESC[row;1H after clearing the screen)."""
    i = raw.rfind(b"\x1b[2J")
    if i < 0:
        return []
    frame = raw[i + 4:]
    lines = {}
    for m in re.finditer(rb"\x1b\[(\d+);1H(?:\x1b\[K)?(.*?)(?=\x1b\[\d+;1H|$)", frame, re.S):
        lines[int(m.group(1))] = ESC.sub(b"", m.group(2)).decode(errors="replace").rstrip()
    return [lines[k] for k in sorted(lines)]


def wait_frame(m, pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        f = last_frame(m.raw())
        if pred(f):
            return f
        time.sleep(0.5)
    return last_frame(m.raw())


def row_of(frame, label):
    """Index (0-based, in menu order) of the row whose label is @label."""
    rows = [l for l in frame if l.startswith("[ ]") or l.startswith("[*]") or l.startswith(">")]
    for i, l in enumerate(rows):
        if re.search(r"\]\s+%s\s{2,}" % re.escape(label), l):
            return i
    return -1


def menu_rows(frame):
    """The OS rows of a frame: "[ ] label  kind  disk  status" ("[*]" selected)."""
    return [l for l in frame if l.startswith("[ ]") or l.startswith("[*]")]


def select_only(send, rows, want):
    """Makes the selection exactly the rows whose line matches @want (a
    regex), from the top (Home), with j and Space; @send types keys."""
    send("\x1b[H")
    pos = 0
    for i, l in enumerate(rows):
        if bool(re.search(want, l)) != l.startswith("[*]"):
            send("j" * (i - pos) + " ")
            pos = i


def key_on_row(send, row, key):
    """Moves the cursor to @row (from Home) and types @key."""
    send("\x1b[H")
    send("j" * row)
    send(key)


def headless_run(m, timeout=600, until=None):
    """Boots the machine @m with polyboot.conf in auto mode: waits for the
    banner, then (when @until is a callable) calls it, then waits for
    "every VM has stopped" and QEMU's exit. Returns (exit status or a
    failure text, the firmware console's text)."""
    with m:
        m.expect(r"polyboot .* parallel boot firmware", timeout=300)
        try:
            if until:
                until(m)
            m.expect(r"every VM has stopped", timeout=timeout)
            rc = m.wait_exit(timeout=60)
        except Exception as e:        # noqa: BLE001 - reported by the callers' checks
            rc = "no power-off: %s" % str(e)[:300]
        text = m.text().replace("\r", "")
    return rc, text


def console_marker(esp, name):
    """(the POLYBOOT-GUEST marker line of VM @name's console log on the ESP
    or "", whether that guest logged its graceful shutdown)."""
    con = (esp_get(esp, "EFI/polyboot/logs/%s.console.log" % name) or "").replace("\r", "")
    line = re.search(r"^POLYBOOT-GUEST .*$", con, re.M)
    return (line.group(0) if line else ""), "POLYBOOT-GUEST-SHUTDOWN" in con


def console_leaks(text, nos):
    """What of a guest's output reached the firmware console after the boot
    manager scanned (L0's own OVMF prints before it), and whether it said
    it starts @nos OSes: ([leaked words], said)."""
    after = text[text.rfind("scanning the disks"):]
    leaked = [w for w in ("POLYBOOT-GUEST", "GNU GRUB", "Loading Linux", "BdsDxe", "Linux version")
              if w in after]
    return leaked, ("starting %d OS%s" % (nos, "es" if nos > 1 else "")) in after


# A polyboot.conf with one error of each kind the boot manager must report
# by file and line: line 3 an unknown key, line 4 not INI, line 7 more
# memory than the machine has, lines 9 and 14 one partition writable by two
# OSes. Fill in: memory of "third", the partition GUID twice, wa's memory.
ERROR_CONF = """\
[global]
mode = auto
colour = blue
this line is not ini
[os third]
match = polyboot test Debian
memory = %s
autostart = yes
disk = %s rw
[os wa]
match = polyboot test Debian wa
cpus = 1
memory = %s
disk = %s rw
autostart = yes
"""

def error_conf(third_mem, p3, wa_mem):
    return ERROR_CONF % (third_mem, p3, wa_mem, p3)


def error_want(third_mem):
    """For each error of error_conf(@third_mem, ...): (what the 80-column
    menu shows, what the log on the ESP says in full). @third_mem is "64G"
    or "64T": the total the planner reports is a little over it."""
    unit = {"G": "GiB", "T": "TiB"}[third_mem[-1]]
    return {
        "syntax": (r"polyboot\.conf:4: syntax error", r"conf:4: syntax error"),
        "unknown-key": (r"polyboot\.conf:3: unknown key 'colour'", r"conf:3: unknown key 'colour'"),
        "overcommit": (r"polyboot\.conf:7: key 'memory'",
                       r"conf:7: key 'memory': the selected OSes need %s\.\d %s .*available"
                       % (third_mem[:-1], unit)),
        "disk-conflict": (r"polyboot\.conf:(9|14): key 'disk'", r"conf:(9|14): key 'disk': .*writable by both"),
    }
