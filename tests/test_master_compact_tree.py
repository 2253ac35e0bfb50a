"""The compact tree of `isofuse master` (sourcetree.Node): a scanned file
keeps its folder's node instead of its own source path, rare fields live
outside the slots, the kind of node is its class.  Checked where it could
go wrong -- folders merged from several sources, graft points, a source
given with a trailing slash -- by bsdtar reading the images back, and the
memory it saves by tracemalloc."""

import os
import tracemalloc

from corpus import run
from mountutil import ISOFUSE
from treelisting import format_rows, listing

MASTER = ISOFUSE + ["master", "-quiet"]
FIELDS = ("path", "type", "size", "sha256")


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _extracted(image, tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    run(["bsdtar", "-xf", str(image), "-C", str(out)])
    return format_rows(listing(str(out)), FIELDS)


def test_folders_merged_from_two_sources_read_each_source(tmp_path):
    """Two SOURCE folders with a folder of the same name: its files come
    from both (each file's data from the source it was found in), as the
    union of the two trees."""
    one, two = tmp_path / "one", tmp_path / "two"
    _write(str(one / "shared" / "a.txt"), b"from one\n")
    _write(str(one / "shared" / "deep" / "x.bin"), os.urandom(5000))
    _write(str(two / "shared" / "b.txt"), b"from two\n" * 300)
    _write(str(two / "shared" / "deep" / "y.bin"), os.urandom(7000))
    _write(str(two / "only-two" / "c.txt"), b"c\n")
    union = tmp_path / "union"
    for source in (one, two):
        run(["cp", "-a", f"{source}/.", str(union)])
    image = tmp_path / "merged.iso"
    run(MASTER + ["-R", "-J", "-o", str(image), str(one), str(two)])
    assert _extracted(image, tmp_path) == format_rows(listing(str(union)), FIELDS)


def test_graft_points_and_a_trailing_slash(tmp_path):
    """Graft points onto one folder (two sources merged there) and a
    source named with a trailing slash: bsdtar finds every file's bytes."""
    src = tmp_path / "src"
    _write(str(src / "p" / "one.txt"), b"1" * 3000)
    _write(str(src / "q" / "two.txt"), b"2" * 5000)
    _write(str(src / "r" / "sub" / "three.txt"), b"3" * 7000)
    image = tmp_path / "graft.iso"
    run(MASTER + ["-R", "-J", "-graft-points", "-o", str(image),
                  f"/m={src}/p/", f"/m={src}/q", f"/m/s={src}/r"])
    want = tmp_path / "want"
    for part in ("p", "q"):
        run(["mkdir", "-p", str(want / "m")])
        run(["cp", "-a", f"{src}/{part}/.", str(want / "m")])
    run(["cp", "-a", f"{src}/r", str(want / "m" / "s")])
    assert _extracted(image, tmp_path) == format_rows(listing(str(want)), FIELDS)


def test_scanned_paths_are_the_folders_listing(tmp_path):
    """A scanned file's path is the one os.scandir gives it, and the
    kind attributes follow the mode (stat module)."""
    import stat
    from isofuse.master import sourcetree
    _write(str(tmp_path / "t" / "d" / "f.txt"), b"f")
    os.symlink("d/f.txt", tmp_path / "t" / "link")
    root = sourcetree.scan([str(tmp_path / "t")])
    seen = {}
    for node in root.walk():
        seen[node.path_on_disc()] = node
    for folder, dirs, files in os.walk(os.fsencode(tmp_path / "t")):
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = b"/" + os.path.relpath(entry.path, os.fsencode(tmp_path / "t"))
                node = seen[rel]
                assert node.path == entry.path
                mode = entry.stat(follow_symlinks=False).st_mode
                assert (node.is_dir, node.is_regular, node.is_symlink) == \
                    (stat.S_ISDIR(mode), stat.S_ISREG(mode), stat.S_ISLNK(mode))
    assert seen[b"/link"].symlink == b"d/f.txt"


def test_planned_session_memory_per_file(tmp_path):
    """A planned session of 5,000 small files holds at most 650 bytes per
    file (Python objects, as tracemalloc counts them; 6225122 held 820:
    its Node, source path and DataItem alone took 460)."""
    from isofuse.master import session, sourcetree
    from isofuse.cli.master import parse_command_line
    for folder in range(20):
        for number in range(250):
            _write(str(tmp_path / "src" / f"folder-{folder:02}" / f"file-{number:03}.txt"),
                   b"x" * (number * 7))
    options = parse_command_line(["-R", "-J", "-o", "/dev/null", str(tmp_path / "src")]).options
    tracemalloc.start()
    try:
        planned = session.Session(sourcetree.scan([str(tmp_path / "src")]), options)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert planned.sectors > 5000
    assert held / 5000 <= 650
