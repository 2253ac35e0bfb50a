#!/usr/bin/env python3
"""Canonical listing of a directory tree, for comparing readers.

The same listing is made of a source folder, of an isofuse mount and (inside
the tools/vm guest) of the Linux kernel's own isofs mount, so tests can diff
the three line by line.  Standard library only: it also runs inside the guest.

One line per entry, tab separated, sorted by path:

    path type mode uid gid size mtime nlink rdev link-target sha256 hardlink-group

type is one of f d l c b p s; size, sha256 are "-" for non-files; hardlink-group
is the path of the first entry (in sorted order) that shares the entry's inode,
"-" for entries with st_nlink == 1 and for directories.  Fields can be left out
(``--fields``) where readers are known to differ (see the callers' docs).
"""

import argparse
import hashlib
import os
import stat
import sys

FIELDS = ("path", "type", "mode", "uid", "gid", "size", "mtime", "nlink",
          "rdev", "target", "sha256", "hardlink")

_TYPES = ((stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"),
          (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b"), (stat.S_ISFIFO, "p"),
          (stat.S_ISSOCK, "s"))


def _type_letter(mode):
    for test, letter in _TYPES:
        if test(mode):
            return letter
    return "?"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def _walk(root):
    """Yield (relative path, lstat result) for every entry below root."""
    stack = [""]
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel) if rel else root
        with os.scandir(full) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            st = entry.stat(follow_symlinks=False)
            yield child, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(child)


def listing(root, hashes=True, exclude=()):
    """Return a list of dicts, one per entry below root, sorted by path."""
    rows = []
    for rel, st in _walk(root):
        if any(rel == x or rel.startswith(x + "/") for x in exclude):
            continue
        kind = _type_letter(st.st_mode)
        full = os.path.join(root, rel)
        row = {
            "path": rel,
            "type": kind,
            "mode": "%04o" % stat.S_IMODE(st.st_mode),
            "uid": str(st.st_uid),
            "gid": str(st.st_gid),
            "size": str(st.st_size) if kind == "f" else "-",
            "mtime": str(int(st.st_mtime)),
            "nlink": str(st.st_nlink),
            "rdev": "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
                    if kind in "cb" else "-",
            "target": os.readlink(full) if kind == "l" else "-",
            "sha256": _sha256(full) if kind == "f" and hashes else "-",
            "_ino": (st.st_dev, st.st_ino),
            "_nlink": st.st_nlink,
        }
        rows.append(row)
    rows.sort(key=lambda r: r["path"])
    first_path = {}
    for row in rows:
        if row["type"] != "d" and row["_nlink"] > 1:
            row["hardlink"] = first_path.setdefault(row["_ino"], row["path"])
        else:
            row["hardlink"] = "-"
    for row in rows:
        del row["_ino"], row["_nlink"]
    return rows


def format_rows(rows, fields=FIELDS):
    return ["\t".join(row[f] for f in fields) for row in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Print a canonical, sorted listing of a directory tree "
                    "(one tab-separated line per entry) for diffing readers.")
    parser.add_argument("root", help="directory to list")
    parser.add_argument("--fields", default=",".join(FIELDS),
                        help="comma-separated fields to print (default: all: %(default)s)")
    parser.add_argument("--no-hash", action="store_true",
                        help="do not read file contents (sha256 printed as -)")
    parser.add_argument("--exclude", action="append", default=[],
                        help="relative path to leave out (with everything below it)")
    args = parser.parse_args(argv)
    fields = [f for f in args.fields.split(",") if f]
    unknown = set(fields) - set(FIELDS)
    if unknown:
        parser.error("unknown field(s): " + ", ".join(sorted(unknown)))
    if not os.path.isdir(args.root):
        parser.error(f"not a directory: {args.root}")
    for line in format_rows(listing(args.root, hashes=not args.no_hash,
                                    exclude=args.exclude), fields):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
