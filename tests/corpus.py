"""Test corpus: source trees generated here, images made from them by tools we
did not write (xorriso, genisoimage, pycdlib).

Each :class:`CorpusImage` names its image, the source tree it was made from
and which fields of the canonical listing (tools/treelisting.py) must match
between the source and the mounted image, plus how names are transformed
for non-Rock Ridge trees.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

T0 = 1_700_000_000          # 2023-11-14: a fixed mtime for reproducible trees
AFTER_2038 = 2_200_000_000  # 2039-09-20: Rock Ridge dates past 2038

# Fields that Rock Ridge carries exactly.
RR_FIELDS = ("path", "type", "mode", "uid", "gid", "size", "mtime", "rdev",
             "target", "sha256")
# Plain ISO 9660 / Joliet: no modes, owners, links; the kernel's defaults apply.
DATA_FIELDS = ("path", "type", "size", "mtime", "sha256")


@dataclass
class CorpusImage:
    name: str
    image: str
    source: Optional[str]
    fields: Tuple[str, ...] = RR_FIELDS
    mount_options: Tuple[str, ...] = ()
    # maps a source relative path to the path expected on the image
    rename: Optional[Callable[[str], str]] = None
    # source paths (and everything below) not expected on the image
    exclude: Tuple[str, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict)


def run(args, check=True, **kwargs):
    """Run a command with its output captured; a failure (with ``check``)
    raises with the end of its stderr."""
    args = [a if isinstance(a, (str, bytes)) else str(a) for a in args]
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): "
                           + result.stderr.decode(errors="replace")[-2000:])
    return result


def _content(seed, size):
    """Deterministic, incompressible-looking bytes."""
    import hashlib
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def _write(path, data, mode=0o644, mtime=T0, owner=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if owner:
        os.lchown(path, *owner)
    os.utime(path, (mtime, mtime))


def _fix_dir_times(root, mtime=T0):
    """Directory mtimes change as entries are added: set them last, deepest
    first."""
    for dirpath, dirnames, _ in sorted(os.walk(root), key=lambda t: -t[0].count("/")):
        os.utime(dirpath, (mtime, mtime))
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                os.utime(p, (mtime, mtime), follow_symlinks=False)


def _fresh_folder(root):
    """An empty folder at ``root``; returns a path joiner for it."""
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    return lambda *parts: os.path.join(root, *parts)


def make_rich_tree(root):
    """Everything Rock Ridge can carry: modes, owners, hard links, symlinks of
    every shape, devices, FIFOs, long and non-ASCII names, a deep tree, empty
    files and directories, hidden (dot) files, a date after 2038."""
    j = _fresh_folder(root)
    _write(j("README.txt"), b"isofuse test corpus\n")
    _write(j("data", "random.bin"), _content("random", 300_000))
    _write(j("data", "exactly-one-sector.bin"), _content("one", 2048))
    _write(j("data", "empty"), b"")
    _write(j("modes", "private"), b"secret\n", mode=0o600)
    _write(j("modes", "script.sh"), b"#!/bin/sh\necho hi\n", mode=0o755)
    _write(j("modes", "setuid"), b"x", mode=0o4755)
    _write(j("modes", "owned"), b"owned by 1000\n", owner=(1000, 1000))
    _write(j("modes", "odd-owner"), b"owned by 4242:31337\n", owner=(4242, 31337))
    os.makedirs(j("empty-dir"))
    _write(j(".hidden"), b"dot file\n")
    _write(j("future"), b"from 2039\n", mtime=AFTER_2038)
    long_name = "L" + "ä" * 100 + "-" + "x" * 20 + ".txt"   # 122 chars, 222 bytes
    _write(j("names", long_name), b"long name\n")
    _write(j("names", "Mixed Case With Spaces.TXT"), b"mixed\n")
    _write(j("names", "日本語のファイル名.txt"), b"japanese\n")
    _write(j("names", "emoji-\U0001F600.txt"), b"emoji\n")
    _write(j("names", "many.dots.in.name.tar.gz"), b"dots\n")
    # hard links
    _write(j("links", "original"), b"hard linked content\n")
    os.link(j("links", "original"), j("links", "hardlink"))
    os.link(j("links", "original"), j("hardlink-elsewhere"))
    # symlinks
    os.symlink("original", j("links", "relative"))
    os.symlink("../README.txt", j("links", "dotdot"))
    os.symlink("/etc/hostname", j("links", "absolute"))
    os.symlink("./a/../b/./c", j("links", "dots-inside"))
    os.symlink("a//b", j("links", "double-slash"))
    os.symlink("/", j("links", "root"))
    os.symlink("does-not-exist", j("links", "dangling"))
    os.symlink("/" + "/".join(["component%03d" % i for i in range(30)]),
               j("links", "long-300"))        # over 300 bytes: SL in a CE area
    # devices and FIFOs
    os.makedirs(j("dev"))
    os.mknod(j("dev", "null"), 0o666 | 0o020000, os.makedev(1, 3))
    os.mknod(j("dev", "loop0"), 0o660 | 0o060000, os.makedev(7, 0))
    os.mknod(j("dev", "big-minor"), 0o600 | 0o020000, os.makedev(259, 70000))
    os.mkfifo(j("dev", "fifo"), 0o644)
    # a tree deeper than ISO 9660's 8 levels (relocated by the writers)
    deep = j(*["level%02d" % i for i in range(1, 13)])
    _write(os.path.join(deep, "bottom.txt"), b"twelve levels down\n")
    _write(j("level01", "level02", "level03", "level04", "level05", "level06",
             "level07", "level08", "at-eight.txt"), b"eight\n")
    _fix_dir_times(root)
    for p in (j("future"),):
        os.utime(p, (AFTER_2038, AFTER_2038))
    return root


def make_plain_tree(root):
    """Names and depths plain ISO 9660 level 1 can hold unchanged (8.3,
    upper-case on the disc, shown lower-case)."""
    j = _fresh_folder(root)
    _write(j("readme.txt"), b"plain\n")
    _write(j("data", "file1.bin"), _content("p1", 5000))
    _write(j("data", "file2"), _content("p2", 4096))
    _write(j("data", "sub", "deep.dat"), _content("p3", 1))
    _write(j("data", "empty.txt"), b"")
    os.makedirs(j("emptydir"))
    _fix_dir_times(root)
    return root


def make_joliet_tree(root, astral=True):
    """Long (<= 64 characters) and non-ASCII names, no links or devices.

    ``astral``: include a name outside the BMP (a surrogate pair in UTF-16);
    genisoimage cannot write one (it cuts the name at that character).
    """
    j = _fresh_folder(root)
    _write(j("Read Me First.txt"), b"joliet\n")
    _write(j("Ünïcödé Folder", "naïve café.txt"), _content("j1", 7000))
    if astral:
        _write(j("Ünïcödé Folder", "emoji \U0001F600 name.txt"), b"surrogate pair\n")
    _write(j("Sixty-four characters exactly in this name to test the limit.tx"),
           b"64\n")
    _write(j("lower and UPPER.Case"), b"case\n")
    _fix_dir_times(root)
    return root


def _xorriso_mkisofs(out, *args):
    run(["xorriso", "-as", "mkisofs", "-quiet", "-o", out, *args])


def build(workdir):
    """Build the whole corpus below ``workdir``; return {name: CorpusImage}."""
    os.makedirs(workdir, exist_ok=True)
    rich = make_rich_tree(os.path.join(workdir, "src-rich"))
    plain = make_plain_tree(os.path.join(workdir, "src-plain"))
    joliet = make_joliet_tree(os.path.join(workdir, "src-joliet"))
    joliet_bmp = make_joliet_tree(os.path.join(workdir, "src-joliet-bmp"), astral=False)
    img = lambda name: os.path.join(workdir, name + ".iso")
    corpus = {}

    def add(item):
        corpus[item.name] = item

    # Rock Ridge 1.10 from xorriso (no serial numbers; hard links share an extent)
    _xorriso_mkisofs(img("xorriso-rr-joliet"), "-R", "-J", "-joliet-long", rich)
    add(CorpusImage("xorriso-rr-joliet", img("xorriso-rr-joliet"), rich,
                    RR_FIELDS + ("hardlink",)))
    # Rock Ridge 1.12 with serial numbers and hard links, xorriso native mode
    run(["xorriso", "-outdev", img("xorriso-rr112"), "-compliance", "new_rr",
         "-hardlinks", "on", "-joliet", "on", "-map", rich, "/", "-commit"])
    add(CorpusImage("xorriso-rr112", img("xorriso-rr112"), rich,
                    RR_FIELDS + ("hardlink",)))
    # genisoimage -R (keeps owners and modes), deep tree relocated to rr_moved
    run(["genisoimage", "-quiet", "-R", "-J", "-joliet-long", "-o", img("genisoimage-rr"),
         rich])
    add(CorpusImage("genisoimage-rr", img("genisoimage-rr"), rich,
                    RR_FIELDS + ("hardlink",),
                    notes="genisoimage writes a wrong SL length for symlinks that "
                          "need a continuation area; the target still reads right"))
    # pycdlib: Rock Ridge 1.12 + Joliet, written through its own API
    add(_pycdlib_image(img("pycdlib-rr112"), plain, rock_ridge="1.12",
                       name="pycdlib-rr112"))
    # plain ISO 9660 levels 1-3 and ISO 9660:1999
    run(["genisoimage", "-quiet", "-iso-level", "1", "-o", img("plain-level1"), plain])
    add(CorpusImage("plain-level1", img("plain-level1"), plain, DATA_FIELDS))
    run(["genisoimage", "-quiet", "-iso-level", "2", "-o", img("plain-level2"), plain])
    add(CorpusImage("plain-level2", img("plain-level2"), plain, DATA_FIELDS))
    _xorriso_mkisofs(img("plain-level3"), "-iso-level", "3", plain)
    add(CorpusImage("plain-level3", img("plain-level3"), plain, DATA_FIELDS))
    run(["genisoimage", "-quiet", "-iso-level", "4", "-o", img("iso9660-1999"), joliet_bmp])
    add(CorpusImage("iso9660-1999", img("iso9660-1999"), joliet_bmp, DATA_FIELDS,
                    mount_options=("map=off",),
                    notes="ISO 9660:1999 keeps the names as given (no ;1, any case): "
                          "shown unmapped with map=off"))
    # Joliet only
    run(["genisoimage", "-quiet", "-J", "-o", img("joliet-only"), joliet_bmp])
    add(CorpusImage("joliet-only", img("joliet-only"), joliet_bmp, DATA_FIELDS))
    # Rock Ridge and Joliet, mounted with norock: the Joliet tree
    # xorriso's Joliet holds UCS-2 only (it writes "_" for characters beyond
    # the BMP), so its tree is the BMP one.
    _xorriso_mkisofs(img("rr-and-joliet"), "-R", "-J", joliet_bmp)
    add(CorpusImage("joliet-view", img("rr-and-joliet"), joliet_bmp, DATA_FIELDS,
                    mount_options=("norock",)))
    # pycdlib writes UTF-16 with surrogate pairs: the astral name survives.
    add(_pycdlib_image(img("pycdlib-joliet-astral"), joliet, rock_ridge=None,
                       name="pycdlib-joliet-astral"))
    return corpus


def _pycdlib_image(out, source, rock_ridge, name):
    import pycdlib
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge=rock_ridge, joliet=3, vol_ident="PYCDLIB")
    rr = (lambda n: {"rr_name": n}) if rock_ridge else (lambda n: {})
    counter = iter(range(1, 1_000_000))
    opened = []
    dir_names = {}
    try:
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames.sort()
            rel = os.path.relpath(dirpath, source)
            for d in dirnames:
                rr_path = d if rel == "." else f"{rel}/{d}"
                parent = "" if rel == "." else dir_names[rel]
                iso_path = f"{parent}/D{next(counter):07d}"
                dir_names[rr_path] = iso_path
                iso.add_directory(iso_path, joliet_path="/" + rr_path, **rr(d))
            for fname in sorted(filenames):
                rr_path = fname if rel == "." else f"{rel}/{fname}"
                parent = "" if rel == "." else dir_names[rel]
                iso_name = f"F{next(counter):07d}.;1"
                fp = open(os.path.join(dirpath, fname), "rb")
                opened.append(fp)
                size = os.fstat(fp.fileno()).st_size
                iso.add_fp(fp, size, f"{parent}/{iso_name}",
                           joliet_path="/" + rr_path, **rr(fname))
        iso.write(out)
    finally:
        iso.close()
        for fp in opened:
            fp.close()
    # pycdlib records the time of writing, not the source's mtimes, and its
    # own modes (0o100444 files, 0o40555 dirs) and owners (0:0).
    return CorpusImage(name, out, source, ("path", "type", "size", "sha256"))
