"""The test OS disk (tests/fixtures/mkosdisk.py) for e2e modules whose test
pack boots it inside the firmware: builds it (or finds it up to date),
copies it for this test, and makes the test pack with lib.sh and facts.sh
(DISK_SIZE, ROOT_OFFSET: where the root file system starts)."""
import json
import os
import shutil
import subprocess

from harness import make_testpack


def os_disk_pack(ctx, name, script, mkosdisk_args=()):
    """Returns (disk image path, test pack path, facts)."""
    fx = os.path.join(ctx.out, "fixtures")
    r = subprocess.run(["python3", os.path.join(ctx.top, "tests", "fixtures", "mkosdisk.py"), "--out", fx] +
                       list(mkosdisk_args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("fixture build failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "fixture ready", flush=True)
    variant = dict(zip(mkosdisk_args, list(mkosdisk_args)[1:])).get("--variant")
    base = "os-" + variant if variant else "os"
    with open(os.path.join(fx, base + ".json")) as f:
        facts = json.load(f)
    root = [p for p in facts["partitions"] if p["number"] == facts["root_partition"]][0]
    work = os.path.join(ctx.out, "test-work")
    os.makedirs(work, exist_ok=True)
    disk = os.path.join(work, "%s-os.img" % name)
    shutil.copyfile(os.path.join(fx, base + ".img"), disk)
    facts_sh = os.path.join(work, "%s-facts.sh" % name)
    with open(facts_sh, "w") as f:
        f.write("DISK_SIZE=%d\nROOT_OFFSET=%d\n" % (facts["disk_size"], root["first_lba"] * 512))
    lib = os.path.join(ctx.top, "tests", "e2e", "guest", "lib.sh")
    pack = make_testpack(os.path.join(work, "%s.tar" % name), script,
                         [("lib.sh", lib, 0o644), ("facts.sh", facts_sh, 0o644)])
    return disk, pack, facts
