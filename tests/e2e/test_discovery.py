"""Discovery (polyboot scan): every installed OS on every disk, read-only.

The fixture disks (tests/fixtures/mkdiscovery.py: a Windows + Debian dual
boot with one shared ESP, a Fedora-like BLS layout, systemd-boot with a UKI,
legacy BIOS GRUB on an MBR disk and on a GPT disk with a damaged primary
table, OS images on a data partition, and a disk of corrupt inputs) are
scanned twice:

  on the host      out/bin/polyboot scan --json --disk IMG... (as root: the
                   Linux filesystems are mounted through read-only loop
                   devices in a private mount namespace)
  in the firmware  the same disks attached to L0 as NVMe and virtio-blk
                   disks, next to the firmware's own ESP; polyboot scan run
                   by a test pack

Both inventories, with device names replaced by the fixtures' names, must
equal tests/data/discovery/inventory.json (the golden file; regenerate it
with POLYBOOT_UPDATE_GOLDEN=1 and review the diff). Every disk must be
bit-identical (sha256) after each scan, nothing may stay mounted and no
loop device may stay attached.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess

from harness import make_testpack

CHECKS = ["fixtures",
          "host-scan", "host-golden", "host-table", "host-disks-unchanged", "host-nothing-mounted",
          "fw-scan", "fw-golden", "fw-table", "fw-efivarfs", "fw-nothing-mounted", "fw-loops-detached",
          "fw-disks-unchanged"]

# (fixture, interface in L0): the order the firmware lists them in is its own
DISKS = [("dualboot", "nvme"), ("fedora", "virtio"), ("uki", "virtio"), ("biosmbr", "virtio"),
         ("biosgpt", "virtio"), ("data", "virtio"), ("broken", "virtio"), ("truncated", "virtio")]

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "data", "discovery", "inventory.json")

SCRIPT = r"""#!/bin/sh
. ./lib.sh
polyboot scan --json --efivars /run/test/efivars >/tmp/scan.json 2>/tmp/scan.err
rc=$?
check fw-scan $rc "status $rc $(head -c 300 /tmp/scan.err)"
echo "SCAN-JSON-BEGIN"
cat /tmp/scan.json
echo "SCAN-JSON-END"
polyboot scan --efivars /run/test/efivars >/tmp/scan.txt 2>&1
echo "SCAN-TABLE-BEGIN"
cat /tmp/scan.txt
echo "SCAN-TABLE-END"
# the machine's own boot variables (efivarfs), as the boot manager reads them
polyboot scan --json >/tmp/real.json 2>&1
grep -q '"efivars":[[:space:]]*true' /tmp/real.json && grep -q '"boot_current":[[:space:]]*"[0-9A-F]\{4\}"' /tmp/real.json
check fw-efivarfs $? "$(grep -E '"(efivars|boot_current)"' /tmp/real.json | tr -d '\n\t')"
m=$(grep -c -E ' (ext4|btrfs|xfs|vfat|ntfs3|iso9660) ' /proc/mounts)
[ "$m" = 0 ]; check fw-nothing-mounted $? "$m filesystems mounted: $(grep -E ' (ext4|btrfs|xfs|vfat|ntfs3) ' /proc/mounts | tr '\n' ';')"
n=0
for l in /sys/block/loop*; do
	[ -e "$l/loop/backing_file" ] && n=$((n + 1))
done
[ "$n" = 0 ]; check fw-loops-detached $? "$n loop devices attached"
"""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def normalize(inv, names):
    """Replaces machine-specific names (vda, nvme0n1, /dev/..., image paths)
    by the fixture names; @names maps a disk id to its fixture name."""
    subst = []
    for d in inv["disks"]:
        fx = names.get(d["id"], "unknown-disk")
        for n in (d.get("dev"), d.get("name")):
            if n:
                subst.append((n, fx))
        for p in d["partitions"]:
            if p.get("dev"):
                subst.append((p["dev"], "%s:%d" % (fx, p["num"])))
        d["name"] = fx
        for k in ("dev", "model", "transport"):
            d.pop(k, None)
        for p in d["partitions"]:
            p.pop("dev", None)
    # longest first, so /dev/vda1 is replaced before vda
    subst.sort(key=lambda s: -len(s[0]))

    def fix(v):
        if isinstance(v, str):
            for a, b in subst:
                v = re.sub(r"(?<![\w/.])" + re.escape(a) + r"(?![\w.])", b, v)
            return v
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    inv = fix(inv)
    inv["disks"].sort(key=lambda d: d["name"])
    inv["oses"].sort(key=lambda o: o["id"])
    return inv


def diff(a, b, path="", out=None, limit=25):
    """The first differences between two JSON values, as readable lines."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s.%s: missing (golden has %s)" % (path, k, json.dumps(b[k])[:200]))
            elif k not in b:
                out.append("%s.%s: unexpected %s" % (path, k, json.dumps(a[k])[:200]))
            else:
                diff(a[k], b[k], "%s.%s" % (path, k), out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append("%s: %d items, golden has %d" % (path, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), out, limit)
    elif a != b:
        out.append("%s: %s, golden %s" % (path, json.dumps(a)[:300], json.dumps(b)[:300]))
    return out


def compare(ctx, name, inv, names):
    got = normalize(inv, names)
    if os.environ.get("POLYBOOT_UPDATE_GOLDEN") and name == "host-golden":
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
            f.write("\n")
        print("golden file rewritten: %s" % GOLDEN, flush=True)
    try:
        with open(GOLDEN) as f:
            golden = json.load(f)
    except OSError as e:
        return ctx.check(name, False, "no golden file: %s" % e)
    d = diff(got, golden)
    if d:
        dump = os.path.join(ctx.out, "test-work", "discovery-%s.json" % name)
        with open(dump, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
        d.append("(whole inventory in %s)" % dump)
    return ctx.check(name, not d, "\n".join(d))


def table_ok(text):
    """The readable listing names every fixture OS kind and the warnings people need."""
    want = ["Windows Boot Manager", "Debian GNU/Linux 12 (bookworm)", "Fedora Linux 39",
            "Arch Linux", "Ubuntu 22.04", "HIBERNATED", "BITLOCKER", "primary GPT is damaged",
            "BootNext=0001", "installer.iso"]
    return [w for w in want if w not in text]


def run(ctx):
    fx = os.path.join(ctx.out, "fixtures", "discovery")
    r = subprocess.run(["python3", os.path.join(ctx.top, "tests", "fixtures", "mkdiscovery.py"), "--out", fx],
                       capture_output=True, text=True)
    ctx.check("fixtures", r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:])
    if r.returncode != 0:
        return
    facts = json.load(open(os.path.join(fx, "facts.json")))
    work = os.path.join(ctx.out, "test-work", "discovery")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # The firmware's own ESP is scanned too (it is a disk of the machine).
    esp = os.path.join(work, "esp.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(ctx.out, "esp.img"), esp], check=True)
    imgs = [(n, os.path.join(work, n + ".img"), iface) for n, iface in DISKS]
    for n, path, _ in imgs:
        subprocess.run(["cp", "--sparse=always", os.path.join(fx, n + ".img"), path], check=True)
    before = {path: sha256(path) for _, path, _ in imgs}
    before[esp] = sha256(esp)
    efivars = os.path.join(fx, "efivars")
    polyboot = os.path.join(ctx.out, "bin", "polyboot")

    # --- on the host -----------------------------------------------------------
    args = [polyboot, "scan", "--json", "--efivars", efivars, "--disk", esp]
    for _, path, _ in imgs:
        args += ["--disk", path]
    mounts_before = open("/proc/self/mounts").read()
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    ok = r.returncode == 0
    try:
        inv = json.loads(r.stdout)
    except ValueError as e:
        inv, ok = None, False
        r.stderr += "\nnot JSON: %s" % e
    ctx.check("host-scan", ok, "status %d\n%s" % (r.returncode, r.stderr[-2000:]))
    names = {}
    if inv:
        # disk ids -> fixture names: the esp is the first --disk, then DISKS in order
        for d, (n, _, _) in zip(inv["disks"], [("esp", esp, "")] + imgs):
            names[d["id"]] = n
        compare(ctx, "host-golden", inv, names)
    t = subprocess.run(args[:2] + args[3:], capture_output=True, text=True, timeout=300)
    missing = table_ok(t.stdout)
    ctx.check("host-table", t.returncode == 0 and not missing,
              "missing: %s\n%s" % (missing, t.stdout[-3000:]))
    changed = [p for p, h in before.items() if sha256(p) != h]
    ctx.check("host-disks-unchanged", not changed, "changed: %s" % changed)
    ctx.check("host-nothing-mounted", open("/proc/self/mounts").read() == mounts_before,
              "mounts differ after the scan")

    # --- in the firmware -------------------------------------------------------
    files = [("lib.sh", os.path.join(ctx.top, "tests", "e2e", "guest", "lib.sh"), 0o644)]
    for v in sorted(os.listdir(efivars)):
        files.append(("efivars/" + v, os.path.join(efivars, v), 0o644))
    pack = make_testpack(os.path.join(work, "discovery.tar"), SCRIPT, files)
    with ctx.machine("scan", esp=esp, copy_esp=False, testpack=pack,
                     drives=[(path, iface) for _, path, iface in imgs]) as m:
        m.expect(r"init: test pack finished", timeout=1200)
        m.wait_exit(timeout=60)
        text = m.text().replace("\r", "")
    ctx.serial_checks(text, ["fw-scan", "fw-efivarfs", "fw-nothing-mounted", "fw-loops-detached"])
    j = re.search(r"SCAN-JSON-BEGIN\n(.*?)SCAN-JSON-END", text, re.S)
    try:
        finv = json.loads(j.group(1)) if j else None
    except ValueError:
        finv = None
    if finv is None:
        ctx.check("fw-golden", False, "no JSON inventory on the console")
    else:
        # the firmware names disks by id exactly as the host did
        compare(ctx, "fw-golden", finv, names)
    tt = re.search(r"SCAN-TABLE-BEGIN\n(.*?)SCAN-TABLE-END", text, re.S)
    missing = table_ok(tt.group(1) if tt else "")
    ctx.check("fw-table", tt is not None and not missing, "missing: %s" % missing)
    changed = [p for p, h in before.items() if sha256(p) != h]
    ctx.check("fw-disks-unchanged", not changed, "changed: %s" % changed)
