#!/usr/bin/env python3
"""Write a reproducible newc cpio archive of a directory tree.

usage: mkcpio.py ROOT DEVNODES OUT

Every entry is owned by root, stamped with $SOURCE_DATE_EPOCH, and listed in
sorted order, so the same tree gives the same bytes. DEVNODES lists device
nodes to add without needing root ("path mode type major minor" per line),
which the kernel needs before devtmpfs is mounted (/dev/console).
"""
import os
import stat
import sys


def header(ino, mode, nlink, mtime, size, rdev_major, rdev_minor, name):
    namez = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, nlink, mtime, size, 0, 0,
              rdev_major, rdev_minor, len(namez), 0]
    h = b"070701" + b"".join(b"%08X" % f for f in fields) + namez
    return h + b"\0" * (-len(h) % 4)


def main():
    root, devnodes, out = sys.argv[1:4]
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            entries.append(os.path.relpath(full, root))
    entries.sort()
    ino = 1
    with open(out, "wb") as f:
        for rel in entries:
            full = os.path.join(root, rel)
            st = os.lstat(full)
            perm = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                data = os.readlink(full).encode()
                f.write(header(ino, stat.S_IFLNK | 0o777, 1, mtime, len(data), 0, 0, rel))
            elif stat.S_ISDIR(st.st_mode):
                data = b""
                f.write(header(ino, stat.S_IFDIR | perm, 2, mtime, 0, 0, 0, rel))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as src:
                    data = src.read()
                f.write(header(ino, stat.S_IFREG | perm, 1, mtime, len(data), 0, 0, rel))
            else:
                sys.exit("mkcpio: unsupported file type: " + full)
            f.write(data + b"\0" * (-len(data) % 4))
            ino += 1
        with open(devnodes) as spec:
            for lineno, line in enumerate(spec, 1):
                line = line.split("#", 1)[0].split()
                if not line:
                    continue
                if len(line) != 5 or line[2] not in ("c", "b"):
                    sys.exit("mkcpio: %s:%d: want 'path mode c|b major minor'" % (devnodes, lineno))
                path, mode, kind, major, minor = line
                fmt = stat.S_IFCHR if kind == "c" else stat.S_IFBLK
                f.write(header(ino, fmt | int(mode, 8), 1, mtime, 0,
                               int(major), int(minor), path.lstrip("/")))
                ino += 1
        f.write(header(0, 0, 1, 0, 0, 0, 0, "TRAILER!!!"))
        f.write(b"\0" * (-f.tell() % 512))


if __name__ == "__main__":
    main()
