"""Overlay semantics of `isofuse stage` against the kernel's overlayfs
(issue 14): the same lower tree, the same operations on an `isofuse stage`
mount and on `mount -t overlay` with redirect_dir=on; the merged trees must
be the same after every case, and after a remount of the stage.  df equals
`isofuse master -print-size` of the stage after every case."""

import hashlib
import os
import shutil
import stat
import subprocess

import pytest

from mountutil import is_mounted, staged
from test_stage import assert_df_is_print_size

pytestmark = pytest.mark.mount

PAST = 1_000_000_000          # lower files' mtime: kept by every copy-up


def make_lower(lower):
    files = {
        "cow/file": b"lower data", "trunc/file": b"t" * 5000, "mode/file": b"m",
        "within/a": b"a", "across/a": b"moves", "lowerdir/sub/x": b"x",
        "lowerdir/sub/y": b"y", "gone/file": b"g", "gone/keep": b"k", "tree/a/b/c": b"c",
        "opaque/old1": b"1", "opaque/old2": b"2", "merged/l1": b"l1", "hard/orig": b"h",
        "recreate/f": b"old", "recreate/other": b"o",
    }
    for rel, data in files.items():
        path = os.path.join(lower, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    os.mkfifo(os.path.join(lower, "mode", "fifo"), 0o644)
    os.symlink("file", os.path.join(lower, "mode", "link"))
    for dirpath, dirnames, filenames in os.walk(lower):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (PAST, PAST), follow_symlinks=False)


def copy_up_on_write(root):
    with open(os.path.join(root, "cow", "file"), "ab") as f:
        f.write(b" + appended")


def truncate(root):
    os.truncate(os.path.join(root, "trunc", "file"), 100)


def chmod(root):
    os.chmod(os.path.join(root, "mode", "file"), 0o600)
    os.chmod(os.path.join(root, "mode", "fifo"), 0o600)
    os.chown(os.path.join(root, "mode", "link"), 12, 34, follow_symlinks=False)


def rename_within_and_across(root):
    os.rename(os.path.join(root, "within", "a"), os.path.join(root, "within", "b"))
    os.mkdir(os.path.join(root, "newdir"))
    os.rename(os.path.join(root, "across", "a"), os.path.join(root, "newdir", "a"))
    os.rename(os.path.join(root, "lowerdir"), os.path.join(root, "newdir", "renamed"))
    os.rename(os.path.join(root, "newdir", "renamed", "sub", "x"),
              os.path.join(root, "within", "x"))


def whiteouts(root):
    os.unlink(os.path.join(root, "gone", "file"))
    shutil.rmtree(os.path.join(root, "tree"))


def opaque_dir(root):
    shutil.rmtree(os.path.join(root, "opaque"))
    os.mkdir(os.path.join(root, "opaque"))
    with open(os.path.join(root, "opaque", "new"), "wb") as f:
        f.write(b"new")


def rmdir_of_a_merged_dir(root):
    merged = os.path.join(root, "merged")
    with open(os.path.join(merged, "u1"), "wb") as f:
        f.write(b"upper")
    for name in os.listdir(merged):
        os.unlink(os.path.join(merged, name))
    os.rmdir(merged)


def hard_link_of_a_lower_file(root):
    os.link(os.path.join(root, "hard", "orig"), os.path.join(root, "hard", "copy"))
    with open(os.path.join(root, "hard", "copy"), "ab") as f:
        f.write(b" through the link")


def readdir_after_delete_and_recreate(root):
    path = os.path.join(root, "recreate", "f")
    os.unlink(path)
    assert sorted(os.listdir(os.path.join(root, "recreate"))) == ["other"]
    with open(path, "wb") as f:
        f.write(b"recreated")
    assert sorted(os.listdir(os.path.join(root, "recreate"))) == ["f", "other"]


CASES = [copy_up_on_write, truncate, chmod, rename_within_and_across, whiteouts, opaque_dir,
         rmdir_of_a_merged_dir, hard_link_of_a_lower_file, readdir_after_delete_and_recreate]


def merged_tree(root):
    """Everything a user sees of a tree: per path the type, mode, owner,
    size, content, link target, link count, and whether the lower mtime
    was kept."""
    rows = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            row = [stat.filemode(st.st_mode), st.st_uid, st.st_gid, st.st_mtime == PAST]
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    row += [st.st_size, st.st_nlink, hashlib.sha256(f.read()).hexdigest()]
            elif stat.S_ISLNK(st.st_mode):
                row.append(os.readlink(path))
            rows[os.path.relpath(path, root)] = row
    return rows


@pytest.fixture
def kernel_overlay(tmp_path):
    lower = tmp_path / "lower"
    make_lower(str(lower))
    parts = {name: tmp_path / name for name in ("kupper", "kwork", "kmnt")}
    for path in parts.values():
        path.mkdir()
    mnt = str(parts["kmnt"])
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={parts['kupper']},workdir={parts['kwork']},"
                    "redirect_dir=on", mnt], check=True)
    try:
        yield lower, mnt
    finally:
        subprocess.run(["umount", mnt])
        if is_mounted(mnt):
            subprocess.run(["umount", "-l", mnt])


def test_same_merged_tree_as_the_kernels_overlayfs(kernel_overlay, tmp_path):
    lower, kmnt = kernel_overlay
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    assert merged_tree(kmnt) == merged_tree(str(lower))
    with staged(upper, mnt, [lower]):
        assert merged_tree(str(mnt)) == merged_tree(kmnt)
        for case in CASES:
            case(kmnt)
            case(str(mnt))
            assert merged_tree(str(mnt)) == merged_tree(kmnt), case.__name__
            assert_df_is_print_size(mnt)
        expected = merged_tree(kmnt)
    with staged(upper, mnt, [lower]):
        assert merged_tree(str(mnt)) == expected
        assert_df_is_print_size(mnt)
