"""The model of the disc keeps the files of untouched lower folders packed
(isofuse.stage.packed) and makes Nodes of a folder's files only when it
changes or an image is laid out.  The oracles are those of the facade
tests: a twin folder changed with plain system calls, ``isofuse master
-print-size`` of it (df must equal it after every step) and xorriso's
listing of image.iso; the memory test counts the Python objects the
interpreter holds."""

import gc
import os
import tracemalloc

import pytest

from isofuse.master.sourcetree import Node
from isofuse.stage.disc import Disc, Profile
from isofuse.stage.layers import FolderLayer
from isofuse.stage.overlay import Overlay
from isofuse.stage.packed import PackedFiles, column_value, pack_column, unpack_column
from test_stage_facade import Twin, extracted, folder_listing, image_bytes, print_size

LONG_NAME = "a name longer than Joliet allows, sixty-four UCS-2 characters at most.txt"


def make_linked_tree(root):
    """Folders of files with hard links inside and across folders, symlinks,
    empty files and a name Joliet cannot hold."""
    for i in range(6):
        folder = os.path.join(root, f"dir{i}")
        os.makedirs(os.path.join(folder, "inner"))
        for j in range(5):
            with open(os.path.join(folder, f"f{j}.txt"), "wb") as f:
                f.write(b"%d-%d " % (i, j) * (j * 900 + i))
        os.symlink(f"f{i % 5}.txt", os.path.join(folder, "link"))
        with open(os.path.join(folder, "inner", "x.bin"), "wb") as f:
            f.write(b"x" * (5000 + i))
    os.link(os.path.join(root, "dir0", "f3.txt"), os.path.join(root, "dir0", "hard"))
    os.link(os.path.join(root, "dir0", "f3.txt"), os.path.join(root, "dir4", "hard"))
    with open(os.path.join(root, "dir2", LONG_NAME), "wb") as f:
        f.write(b"long\n")
    return root


@pytest.fixture
def linked(tmp_path):
    t = Twin(tmp_path, make_linked_tree(str(tmp_path / "lower")))
    yield t
    t.close()


def test_df_stays_exact_while_packed_folders_change(linked):
    t = linked
    t.check()
    t.write("dir1/f2.txt", b"copied up and longer " * 300)      # a packed file
    t.check()
    t.unlink("dir0/hard")                    # one name of a hard link ...
    t.check()
    t.truncate("dir4/f1.txt", 7)
    t.unlink("dir4/hard")                    # ... and its name in another folder
    t.check()
    t.link("dir3/f1.txt", "dir5/also")
    t.rename("dir2/f0.txt", "dir5/inner/moved.txt")
    t.check()
    t.symlink("dir3/inner/new-link", "../f4.txt")
    for name in ("f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt", "link"):
        t.unlink(f"dir1/{name}")
    t.unlink("dir1/inner/x.bin")
    t.rmdir("dir1/inner")
    t.rmdir("dir1")
    t.check()


def test_the_report_names_a_packed_file_and_the_image_holds_all(linked, tmp_path):
    report = linked.stage.disc.report_text()
    assert f"PROBLEM\t/dir2/{LONG_NAME}\tname longer than Joliet's 64 characters" in report
    assert "NAME\t/dir0/f3.txt\tF3.TXT;1\tf3.txt" in report
    (tmp_path / "image.iso").write_bytes(image_bytes(linked.stage))
    # xorriso shows hard links as separate files with the same content
    assert extracted(tmp_path / "image.iso", tmp_path / "out") == \
        folder_listing(linked.twin)


def test_a_lower_folder_costs_no_node_per_file(tmp_path):
    lower = tmp_path / "lower"
    folders, files = 40, 100
    for i in range(folders):
        (lower / f"d{i:02d}").mkdir(parents=True)
        for j in range(files):
            (lower / f"d{i:02d}" / f"file-{j:03d}.dat").write_bytes(b"z" * j)
    upper = tmp_path / "upper"
    upper.mkdir()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        overlay = Overlay(str(upper), [FolderLayer(str(lower), "lower0")])
        disc = Disc(overlay, Profile())
        assert disc.entry_count() == 1 + folders + folders * files
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    nodes = sum(1 for obj in gc.get_objects() if isinstance(obj, Node))
    assert nodes <= 1 + folders + 10        # the root and the folders
    # (a Node per file was ~400 bytes with its name, ints and model entries)
    assert held / (folders * files) < 150, held
    assert disc.size_of(b"d07/file-042.dat") == 42
    assert disc.size_of(b"d07/nothing") == 0
    overlay.close()


@pytest.mark.parametrize("values", [[5, 5, 5], [0, 255, 3], [1 << 40, 7, 1 << 33],
                                    [-3, 70000, 0], [2 ** 64 - 1 + 10, 10], [1 << 70, 0]])
def test_columns_give_back_their_values(values):
    column = pack_column(values)
    assert unpack_column(column, len(values)) == values
    assert [column_value(column, i) for i in range(len(values))] == values


def test_packed_files_make_the_nodes_back():
    rows = [(0o100644, 1000, 100, 12, 5, 6, 7, 1, 0),
            (0o120777, 0, 0, 0, 9, 9, 9, 1, 0),
            (0o100600, 1000, 100, 1 << 33, 5, 5, 5, 2, 0)]
    packed = PackedFiles([b"a.txt", b"l", b"big"], rows, {2: ("lower0", 1, 99)},
                         {1: b"a.txt"})
    nodes = packed.nodes(Node)
    assert [n.name for n in nodes] == [b"a.txt", b"l", b"big"]
    assert [(n.mode, n.uid, n.gid, n.size, n.mtime, n.atime, n.ctime, n.nlink, n.rdev)
            for n in nodes] == rows
    assert nodes[1].symlink == b"a.txt" and nodes[1].is_symlink
    assert nodes[2].dev_ino == ("lower0", 1, 99) and nodes[0].dev_ino is None
    assert packed.index(b"big") == 2 and packed.index(b"bi") == -1
    assert packed.index(b"a.txt/l") == -1
    assert packed.data_files() == ([12], [(1 << 33, ("lower0", 1, 99))])


def test_devices_and_fifos_of_a_packed_folder_are_measured(tmp_path):
    """Rock Ridge records a device's number in a PN entry (RRIP 4.1.2):
    df equals -print-size with the folder packed and unpacked, and the
    number comes back from the packed columns as lstat gives it."""
    lower = tmp_path / "lower"
    (lower / "dev").mkdir(parents=True)
    os.mkfifo(lower / "dev" / "pipe")
    (lower / "dev" / "plain.txt").write_bytes(b"plain\n")
    try:
        os.mknod(lower / "dev" / "null", 0o20666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    t = Twin(tmp_path, str(lower))
    try:
        assert t.used_sectors() == print_size(t.twin)
        node = t.stage.disc.node(b"dev/null")           # unpacks the folder
        assert node.rdev == os.makedev(1, 3)
        assert node.mode == os.lstat(lower / "dev" / "null").st_mode
        assert t.used_sectors() == print_size(t.twin)
    finally:
        t.close()
