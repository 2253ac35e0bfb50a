"""Property: for random trees and names, the mastered image opens in every
reader and round-trips (our reader, xorriso, bsdtar, isoinfo, pycdlib)."""

import hashlib
import os
import shutil
import stat
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isofuse.cli.main import main as isofuse_main
from isofuse.reader import open_image
from treelisting import format_rows, listing

FIELDS = ("path", "type", "mode", "size", "mtime", "target", "sha256")

# No backslash and no colon: bsdtar strips a leading "\\" or "X:" from member
# names (also for images made by xorriso) -- libarchive's Windows path
# handling, not a property of the image.
name_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00\\:"),
    min_size=1, max_size=40).filter(lambda n: n not in (".", "..")
                                   and len(n.encode()) <= 200)


def tree_strategy(depth=0):
    leaf = st.one_of(
        st.tuples(st.just("f"), st.binary(max_size=5000)),
        st.tuples(st.just("l"), st.text(alphabet="ab./", min_size=1, max_size=300)
                  .filter(lambda t: "\x00" not in t)),
    )
    if depth >= 10:
        return st.dictionaries(name_text, leaf, max_size=4)
    return st.dictionaries(
        name_text,
        st.one_of(leaf, st.tuples(st.just("d"), st.deferred(lambda: tree_strategy(depth + 3)))),
        max_size=5)


def materialize(root, tree):
    os.makedirs(root)
    for name, (kind, value) in tree.items():
        path = os.path.join(root, name)
        if kind == "f":
            with open(path, "wb") as f:
                f.write(value)
            os.utime(path, (1_600_000_000, 1_600_000_000))
        elif kind == "l":
            os.symlink(value, path)
        else:
            materialize(path, value)
    os.utime(root, (1_600_000_000, 1_600_000_000))


def reader_listing(image_path):
    """The same rows as treelisting, made through our reader API (no mount)."""
    rows = []
    with open_image(image_path) as image:
        stack = [(image.root, "")]
        while stack:
            node, prefix = stack.pop()
            for child in image.listdir(node):
                path = prefix + child.name.decode("utf-8", "surrogateescape")
                kind = "d" if child.is_dir else "l" if child.is_symlink else "f"
                rows.append({
                    "path": path, "type": kind, "mode": "%04o" % stat.S_IMODE(child.mode),
                    "size": str(child.size) if kind == "f" else "-",
                    "mtime": str(child.mtime),
                    "target": child.symlink.decode("utf-8", "surrogateescape")
                    if kind == "l" else "-",
                    "sha256": hashlib.sha256(image.read(child, 0, child.size)).hexdigest()
                    if kind == "f" else "-",
                })
                if child.is_dir:
                    stack.append((child, path + "/"))
    rows.sort(key=lambda r: r["path"])
    return rows


# derandomize: CI runs the same examples every time (set
# ISOFUSE_PROPERTY_EXAMPLES higher and ISOFUSE_PROPERTY_RANDOM=1 to explore).
@settings(max_examples=int(os.environ.get("ISOFUSE_PROPERTY_EXAMPLES", "25")), deadline=None,
          derandomize=not os.environ.get("ISOFUSE_PROPERTY_RANDOM"), database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(tree=tree_strategy(), level=st.sampled_from(["1", "2", "3", "4"]),
       joliet=st.booleans(), rr112=st.booleans())
def test_random_trees_round_trip_in_every_reader(tmp_path_factory, tree, level, joliet, rr112):
    work = tmp_path_factory.mktemp("prop")
    src = os.path.join(work, "src")
    materialize(src, tree)
    image = os.path.join(work, "out.iso")
    args = ["master", "-quiet", "-R", "-iso-level", level, "-o", image, src]
    if joliet:
        args.insert(2, "-J")
    if rr112:
        args.insert(2, "-rrip-1.12")
    assert isofuse_main(args) == 0
    want = format_rows(listing(src), FIELDS)
    # our reader
    assert format_rows(reader_listing(image), FIELDS) == want
    # xorriso: only our relocation folder may differ
    out = subprocess.run(["xorriso", "-indev", image, "-compare_r", src, "/"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode(
                             errors="replace")
    complaints = [line for line in out.splitlines() if "' (DISK) :" in line or
                  "' (ISO) :" in line]
    assert all("/rr_moved' (DISK) : cannot lstat()" in c for c in complaints), out
    # bsdtar extracts the same tree
    extracted = os.path.join(work, "bsdtar")
    os.makedirs(extracted)
    subprocess.run(["bsdtar", "-xpf", image, "-C", extracted], check=True,
                   stderr=subprocess.PIPE)
    assert format_rows(listing(extracted), FIELDS) == want
    # isoinfo and pycdlib open it
    subprocess.run(["isoinfo", "-d", "-i", image], check=True, stdout=subprocess.DEVNULL)
    import pycdlib
    iso = pycdlib.PyCdlib()
    iso.open(image)
    try:
        count = sum(len(files) for _, _, files in iso.get_rock_ridge_facade().walk("/"))
    finally:
        iso.close()
    assert count == sum(1 for r in listing(src, hashes=False) if r["type"] in "fl")
    shutil.rmtree(work)
