"""Mounted images equal their source trees.

Images come from xorriso, genisoimage and pycdlib (tests/corpus.py); the
comparison is the canonical listing of tools/treelisting.py over the fields
each kind of image can carry.
"""

import os
import stat

import pytest

import corpus as corpus_mod
from mountutil import daemon_log, mounted
from treelisting import format_rows, listing

NAMES = ["xorriso-rr-joliet", "xorriso-rr112", "genisoimage-rr", "pycdlib-rr112",
         "plain-level1", "plain-level2", "plain-level3", "iso9660-1999",
         "joliet-only", "joliet-view", "pycdlib-joliet-astral"]


def expected_rows(item):
    rows = listing(item.source, exclude=item.exclude)
    if item.rename:
        for row in rows:
            row["path"] = item.rename(row["path"])
        rows.sort(key=lambda r: r["path"])
    return rows


def diff(expected, got):
    import difflib
    return "\n".join(difflib.unified_diff(expected, got, "source", "mounted", lineterm="",
                                          n=0))


@pytest.mark.mount
@pytest.mark.parametrize("name", NAMES)
def test_mounted_tree_equals_source(corpus, name, tmp_path):
    item = corpus[name]
    mnt = tmp_path / "mnt"
    with mounted(item.image, mnt, item.mount_options):
        got = format_rows(listing(str(mnt)), item.fields)
    expected = format_rows(expected_rows(item), item.fields)
    assert got == expected, diff(expected, got)
    assert "Traceback" not in daemon_log(mnt)


@pytest.mark.mount
def test_plain_iso_defaults_follow_the_kernel(corpus, tmp_path):
    """Without Rock Ridge: mode 0555, owner 0:0, one link, as Linux isofs."""
    item = corpus["plain-level1"]
    mnt = tmp_path / "mnt"
    with mounted(item.image, mnt):
        for row in listing(str(mnt)):
            assert row["mode"] == "0555", row
            assert (row["uid"], row["gid"]) == ("0", "0"), row
            assert row["nlink"] == "1", row


@pytest.mark.mount
def test_mount_options_override_owner_and_modes(corpus, tmp_path):
    item = corpus["plain-level1"]
    mnt = tmp_path / "mnt"
    with mounted(item.image, mnt, ["uid=1234,gid=567,mode=0444,dmode=0750"]):
        st_file = os.stat(mnt / "readme.txt")
        st_dir = os.stat(mnt / "data")
        assert (st_file.st_uid, st_file.st_gid) == (1234, 567)
        assert stat.S_IMODE(st_file.st_mode) == 0o444
        assert stat.S_IMODE(st_dir.st_mode) == 0o750


@pytest.mark.mount
def test_rock_ridge_details(corpus, tmp_path):
    """Hard links share an inode (and st_nlink), devices keep major/minor,
    dates after 2038 stay in the future, deep directories appear at their
    place and rr_moved is gone."""
    for name in ("xorriso-rr112", "genisoimage-rr", "xorriso-rr-joliet"):
        item = corpus[name]
        mnt = tmp_path / name
        with mounted(item.image, mnt):
            a = os.lstat(mnt / "links" / "original")
            b = os.lstat(mnt / "links" / "hardlink")
            c = os.lstat(mnt / "hardlink-elsewhere")
            assert a.st_ino == b.st_ino == c.st_ino, name
            assert a.st_nlink == 3
            assert a.st_blocks == (a.st_size + 511) // 512
            dev = os.lstat(mnt / "dev" / "loop0")
            assert stat.S_ISBLK(dev.st_mode)
            assert (os.major(dev.st_rdev), os.minor(dev.st_rdev)) == (7, 0)
            assert os.lstat(mnt / "future").st_mtime == corpus_mod.AFTER_2038
            assert os.readlink(mnt / "links" / "double-slash") == "a//b"
            bottom = mnt.joinpath(*["level%02d" % i for i in range(1, 13)], "bottom.txt")
            assert bottom.read_bytes() == b"twelve levels down\n"
            assert not (mnt / "rr_moved").exists() and not (mnt / ".rr_moved").exists()


@pytest.mark.mount
def test_inode_numbers_stable_across_mounts(corpus, tmp_path):
    item = corpus["genisoimage-rr"]
    seen = []
    for attempt in range(2):
        mnt = tmp_path / f"mnt{attempt}"
        with mounted(item.image, mnt):
            seen.append({row: os.lstat(os.path.join(mnt, row)).st_ino
                         for row in ("README.txt", "data/random.bin", "links",
                                     "level01/level02")})
    assert seen[0] == seen[1]
    assert len(set(seen[0].values())) == len(seen[0])


@pytest.mark.mount
def test_readdir_offsets_survive_seekdir(corpus, tmp_path):
    """telldir/seekdir: the offsets handed out by readdir stay valid."""
    import ctypes
    import ctypes.util
    item = corpus["xorriso-rr-joliet"]
    mnt = tmp_path / "mnt"
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    class Dirent(ctypes.Structure):
        _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                    ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                    ("d_name", ctypes.c_char * 256)]

    libc.opendir.restype = ctypes.c_void_p
    libc.readdir.restype = ctypes.POINTER(Dirent)
    libc.readdir.argtypes = [ctypes.c_void_p]
    libc.telldir.restype = ctypes.c_long
    libc.telldir.argtypes = [ctypes.c_void_p]
    libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
    libc.closedir.argtypes = [ctypes.c_void_p]
    with mounted(item.image, mnt):
        handle = libc.opendir(str(mnt / "names").encode())
        assert handle
        try:
            names, positions = [], []
            while True:
                positions.append(libc.telldir(handle))
                entry = libc.readdir(handle)
                if not entry:
                    break
                names.append(entry.contents.d_name)
            assert len(names) >= 5
            for index in (3, 1, 4):
                libc.seekdir(handle, positions[index])
                assert libc.readdir(handle).contents.d_name == names[index]
        finally:
            libc.closedir(handle)


@pytest.mark.mount
def test_statfs_reports_image_size(corpus, tmp_path):
    item = corpus["genisoimage-rr"]
    mnt = tmp_path / "mnt"
    with mounted(item.image, mnt):
        st = os.statvfs(mnt)
        assert st.f_frsize * st.f_blocks == os.path.getsize(item.image)
        assert st.f_bfree == 0


@pytest.mark.mount
def test_read_only(corpus, tmp_path):
    item = corpus["genisoimage-rr"]
    mnt = tmp_path / "mnt"
    with mounted(item.image, mnt):
        for attempt in (lambda: open(mnt / "README.txt", "w"),
                        lambda: open(mnt / "new-file", "w"),
                        lambda: os.mkdir(mnt / "newdir"),
                        lambda: os.unlink(mnt / "README.txt")):
            with pytest.raises(OSError) as info:
                attempt()
            assert info.value.errno in (30, 13)  # EROFS (or EACCES from the mode check)


@pytest.mark.mount
def test_hidden_flag_and_hide_option(tmp_path):
    """genisoimage -hidden sets the existence bit: shown by default (like the
    kernel), left out with -o hide."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "visible.txt").write_bytes(b"v")
    (src / "secret.txt").write_bytes(b"s")
    image = tmp_path / "hidden.iso"
    corpus_mod.run(["genisoimage", "-quiet", "-R", "-hidden", "secret.txt", "-o",
                    str(image), str(src)])
    with mounted(image, tmp_path / "a"):
        assert sorted(os.listdir(tmp_path / "a")) == ["secret.txt", "sub", "visible.txt"]
    with mounted(image, tmp_path / "b", ["hide"]):
        assert sorted(os.listdir(tmp_path / "b")) == ["sub", "visible.txt"]
