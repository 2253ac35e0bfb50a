"""`isofuse stage`: real mounts, files copied in with ordinary tools, the
future disc's size held against `isofuse master -print-size` after every
step, rules in both modes, persistence, image.iso."""

import errno
import os
import shutil
import signal
import subprocess
import time

import pytest

import corpus as corpus_mod
from corpus import run
from mountutil import ISOFUSE, is_mounted, mounted, staged, unmount
from treelisting import format_rows, listing

pytestmark = pytest.mark.mount

CONTENT = ("path", "type", "mode", "size", "sha256", "target")
DEFAULT_PROFILE = ["-r", "-J", "-iso-level", "2"]


def print_size(tree, options=DEFAULT_PROFILE):
    out = subprocess.run(ISOFUSE + ["master", "-quiet", *options, "-print-size", str(tree)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return int(out.stdout)


def df_used(mnt):
    st = os.statvfs(mnt)
    return st.f_blocks - st.f_bfree, st.f_blocks, st.f_frsize


def assert_df_is_print_size(mnt, options=DEFAULT_PROFILE):
    used, total, block = df_used(mnt)
    assert block == 2048
    assert used == print_size(mnt, options), "df and isofuse master -print-size disagree"


@pytest.fixture
def lower(tmp_path):
    return corpus_mod.make_plain_tree(str(tmp_path / "lower"))


def test_overlay_semantics_and_exact_size_through_a_session(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower]):
        assert sorted(os.listdir(mnt)) == ["data", "emptydir", "readme.txt"]
        assert_df_is_print_size(mnt)
        assert df_used(mnt)[1] == 360_000            # cd700 by default
        # copy a tree in with cp, rsync and tar
        run(["cp", "-a", os.path.join(os.path.dirname(corpus_mod.__file__)), str(mnt / "cp")])
        assert_df_is_print_size(mnt)
        run(["rsync", "-a", str(lower) + "/", str(mnt / "rsync")])
        assert_df_is_print_size(mnt)
        run(["tar", "-C", str(lower), "-cf", str(tmp_path / "t.tar"), "."])
        (mnt / "untar").mkdir()
        run(["tar", "-C", str(mnt / "untar"), "-xf", str(tmp_path / "t.tar")])
        assert_df_is_print_size(mnt)
        # write into a lower file: copy-up; the lower stays untouched
        with open(mnt / "data" / "file2", "ab") as f:
            f.write(b"appended" * 1000)
        assert open(os.path.join(lower, "data", "file2"), "rb").read()[-8:] != b"appended"
        assert (upper / "data" / "file2").exists()
        assert_df_is_print_size(mnt)
        # delete a lower file and a lower directory: whiteouts
        os.unlink(mnt / "readme.txt")
        shutil.rmtree(mnt / "emptydir")
        assert sorted(os.listdir(mnt)) == ["cp", "data", "rsync", "untar"]
        assert (upper / ".wh.readme.txt").exists() and (upper / ".wh.emptydir").exists()
        assert os.path.exists(os.path.join(lower, "readme.txt"))
        assert_df_is_print_size(mnt)
        # rename a lower directory (merged): no EXDEV, contents move along
        os.rename(mnt / "data", mnt / "moved")
        assert sorted(os.listdir(mnt / "moved")) == ["empty.txt", "file1.bin", "file2", "sub"]
        assert not (mnt / "data").exists()
        assert_df_is_print_size(mnt)
        # a new directory where a lower one was: opaque, the old content stays hidden
        (mnt / "data").mkdir()
        assert os.listdir(mnt / "data") == []
        assert_df_is_print_size(mnt)
        # hard links and symlinks
        os.link(mnt / "moved" / "file1.bin", mnt / "hard")
        assert os.stat(mnt / "hard").st_nlink == 2
        os.symlink("moved/file2", mnt / "link")
        assert os.readlink(mnt / "link") == "moved/file2"
        assert_df_is_print_size(mnt)
        truncated = mnt / "moved" / "file1.bin"
        os.truncate(truncated, 100)
        assert_df_is_print_size(mnt)
        before = format_rows(listing(str(mnt)), CONTENT)
    # unmount and mount again: the same tree
    with staged(upper, mnt, [lower]):
        assert format_rows(listing(str(mnt)), CONTENT) == before
        assert_df_is_print_size(mnt)


def test_image_iso_is_the_disc_and_refuses_changes_while_open(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower]):
        (mnt / "new.txt").write_bytes(b"staged\n")
        image = mnt / ".isofuse" / "image.iso"
        assert ".isofuse" not in os.listdir(mnt)           # not part of the disc
        assert os.path.getsize(image) == print_size(mnt) * 2048
        with open(image, "rb") as held:
            with pytest.raises(OSError) as info:
                (mnt / "another.txt").write_bytes(b"x")
            assert info.value.errno == errno.EBUSY
            data = held.read()
        copy = tmp_path / "copy.iso"
        copy.write_bytes(data)
        (mnt / "another.txt").write_bytes(b"now it works\n")   # closed: changes allowed
        expected = format_rows(listing(str(mnt)), ("path", "type", "size", "sha256"))
    # the image holds the tree as it was while it was read
    with mounted(copy, tmp_path / "check"):
        got = format_rows(listing(str(tmp_path / "check")), ("path", "type", "size", "sha256"))
    assert got == [line for line in expected if not line.startswith("another.txt")]
    # other readers agree
    text = run(["isoinfo", "-d", "-i", str(copy)]).stdout.decode()
    assert "Rock Ridge" in text and "Joliet" in text


def test_report_and_size_files(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    long_name = "J" * 70 + ".txt"
    with staged(upper, mnt, [lower], ["medium=1000"]):
        (mnt / long_name).write_bytes(b"too long for Joliet")
        report = (mnt / ".isofuse" / "report").read_text()
        assert f"PROBLEM\t/{long_name}\tname longer than Joliet's 64 characters" in report
        assert "NAME\t/readme.txt\tREADME.TXT;1\treadme.txt" in report
        size = dict(line.split(" ", 1) for line in
                    (mnt / ".isofuse" / "size").read_text().splitlines())
        assert int(size["sectors"]) == print_size(mnt)
        assert size["medium"] == "1000 sectors 1000 sectors"
        # beyond the medium in report mode: allowed, and reported
        (mnt / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        assert "CAPACITY" in (mnt / ".isofuse" / "report").read_text()


def test_strict_mode_refuses_what_breaks_the_disc(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower], ["strict,medium=400"],
                allow_log=r"WARNING: refused") as proc:
        with pytest.raises(OSError) as info:
            (mnt / ("J" * 70)).write_bytes(b"x")
        assert info.value.errno == errno.ENAMETOOLONG
        # 31-character ISO names, 7 levels of them and a long file name: an
        # ISO path of 258 characters
        long_dirs = mnt.joinpath(*[("%d" % i) * 40 for i in range(7)])
        long_dirs.mkdir(parents=True)
        with pytest.raises(OSError) as info:
            (long_dirs / ("8" * 40 + ".txt")).write_bytes(b"x")
        assert info.value.errno == errno.ENAMETOOLONG   # ISO path over 255 characters
        # with Rock Ridge, deep short paths are fine: relocated to rr_moved
        mnt.joinpath(*["d%d" % i for i in range(12)]).mkdir(parents=True)
        with pytest.raises(OSError) as info:
            (mnt / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
        assert info.value.errno == errno.ENOSPC
        assert df_used(mnt)[0] <= 400
        (mnt / "fits.txt").write_bytes(b"small files still fit")
    with staged(tmp_path / "upper2", mnt, [lower], ["strict,norock,nojoliet"],
                allow_log=r"WARNING: refused"):
        nine = mnt.joinpath(*["l%d" % i for i in range(7)])
        nine.mkdir(parents=True)                      # 8 levels with the root: fine
        with pytest.raises(OSError) as info:
            (nine / "l7").mkdir()                     # the 9th level
        assert info.value.errno == errno.ENAMETOOLONG
        assert_df_is_print_size(mnt, ["-iso-level", "2"])


def test_kill_9_keeps_everything_fsynced(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower]) as proc:
        with open(mnt / "saved.txt", "wb") as f:
            f.write(b"must survive\n")
            f.flush()
            os.fsync(f.fileno())
        os.unlink(mnt / "readme.txt")
        os.rename(mnt / "data", mnt / "renamed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        unmount(str(mnt))
    assert not is_mounted(mnt)
    with staged(upper, mnt, [lower]):
        assert (mnt / "saved.txt").read_bytes() == b"must survive\n"
        assert sorted(os.listdir(mnt)) == ["emptydir", "renamed", "saved.txt"]
        assert_df_is_print_size(mnt)
    # no work files left in the upper folder
    leftovers = [p for p in upper.rglob(".wh..wh.tmp.*")]
    assert leftovers == []


def test_lower_is_a_multisession_image(tmp_path):
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    (s1 / "dir").mkdir(parents=True)
    (s1 / "dir" / "old.txt").write_bytes(b"first session\n")
    (s2 / "dir").mkdir(parents=True)
    (s2 / "dir" / "new.txt").write_bytes(b"second session\n")
    image = tmp_path / "grown.iso"
    run(["xorriso", "-dev", str(image), "-map", str(s1), "/", "-commit"])
    run(["xorriso", "-dev", str(image), "-map", str(s2), "/", "-commit"])
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [image]):
        assert sorted(os.listdir(mnt / "dir")) == ["new.txt", "old.txt"]
        assert (mnt / "dir" / "old.txt").read_bytes() == b"first session\n"
        os.unlink(mnt / "dir" / "old.txt")
        (mnt / "dir" / "third.txt").write_bytes(b"third\n")
        assert sorted(os.listdir(mnt / "dir")) == ["new.txt", "third.txt"]
        msinfo = (mnt / ".isofuse" / "msinfo").read_text().strip()
        start, nwa = map(int, msinfo.split(","))
        assert nwa >= start
        assert_df_is_print_size(mnt)
        image_copy = tmp_path / "next.iso"
        shutil.copyfile(mnt / ".isofuse" / "image.iso", image_copy)
    with mounted(image_copy, tmp_path / "check"):
        assert sorted(os.listdir(tmp_path / "check" / "dir")) == ["new.txt", "third.txt"]
        assert (tmp_path / "check" / "dir" / "new.txt").read_bytes() == b"second session\n"


def test_usage_errors(tmp_path):
    (tmp_path / "m").mkdir()
    r = subprocess.run(ISOFUSE + ["stage", "-o", "medium=floppy", str(tmp_path / "u"),
                                  str(tmp_path / "m")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    assert r.returncode == 2 and b"medium=floppy" in r.stderr
    r = subprocess.run(ISOFUSE + ["stage", "--lower", str(tmp_path / "nope"),
                                  str(tmp_path / "u"), str(tmp_path / "m")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 1 and b"no such folder" in r.stderr
    assert b"Traceback" not in r.stderr


def test_xattrs_show_through_and_copy_up(lower, tmp_path):
    os.setxattr(os.path.join(lower, "readme.txt"), "user.origin", b"lower")
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower]):
        assert os.getxattr(mnt / "readme.txt", "user.origin") == b"lower"
        assert "user.origin" in os.listxattr(mnt / "readme.txt")
        os.setxattr(mnt / "readme.txt", "user.stage", b"upper")
        assert os.getxattr(upper / "readme.txt", "user.stage") == b"upper"
        assert os.getxattr(upper / "readme.txt", "user.origin") == b"lower"
    assert os.listxattr(os.path.join(lower, "readme.txt")) == ["user.origin"]


def test_reserved_names_and_control_directory(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower], ["control=_disc,showcontrol"]):
        assert "_disc" in os.listdir(mnt)
        assert sorted(os.listdir(mnt / "_disc")) == ["image.iso", "report", "size"]
        with pytest.raises(OSError) as info:
            (mnt / ".wh.sneaky").write_bytes(b"x")
        assert info.value.errno == errno.EINVAL
        with pytest.raises(OSError):
            (mnt / "_disc" / "report").write_text("no")


def test_report_mode_lists_paths_and_depth_it_allows(lower, tmp_path):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower], ["norock,nojoliet"]):
        deep = mnt.joinpath(*["l%d" % i for i in range(8)])
        deep.mkdir(parents=True)                     # allowed in report mode
        long_dirs = mnt.joinpath(*[("%d" % i) * 40 for i in range(7)])
        long_dirs.mkdir(parents=True)
        (long_dirs / ("8" * 40 + ".txt")).write_bytes(b"x")
        report = (mnt / ".isofuse" / "report").read_text()
        assert "PROBLEM\t/l0/l1/l2/l3/l4/l5/l6/l7\tdirectory deeper than ISO 9660's 8 levels" \
            in report
        assert "ISO 9660 path of 258 characters (at most 255)" in report


def test_medium_is_the_blank_space_of_a_disc_in_a_drive(lower, tmp_path):
    disc = tmp_path / "dvd"
    run(["python3", "-m", "burner.simtool", "create", str(disc), "--profile", "dvd+r"])
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [lower], [f"medium=sim:{disc}"]):
        used, total, _ = df_used(mnt)
        assert total == 2_295_104                    # a blank single-layer DVD+R
        assert "sim:" in (mnt / ".isofuse" / "size").read_text()
        assert_df_is_print_size(mnt)


def test_lookup_answers_follow_every_change(tmp_path):
    """The operations keep lookup answers for readdir and forget only what a
    change touches: every answer equals a fresh lstat of the upper file
    after create, write, setattr, hard link, rename and unlink (called
    directly, so the kernel's own cache cannot hide a stale answer)."""
    import pyfuse3
    import trio
    from isofuse.fuseops.stage_ops import StageOperations
    from isofuse.stage.disc import Disc, Profile
    from isofuse.stage.layers import FolderLayer
    from isofuse.stage.overlay import Overlay

    upper, lower = tmp_path / "upper", tmp_path / "lower"
    upper.mkdir()
    (lower / "sub").mkdir(parents=True)
    (lower / "sub" / "old.txt").write_bytes(b"old")
    overlay = Overlay(str(upper), [FolderLayer(str(lower), "lower0")])
    ops = StageOperations(overlay, Disc(overlay, Profile()))
    root = pyfuse3.ROOT_INODE

    class Fields:
        update_size = update_mode = update_uid = update_gid = update_atime = False
        update_mtime = False

    def check(*names):
        for parent, name in names:
            got = ops.stage.lookup(parent, name)
            path = upper / ops.stage.path_of(parent).decode() / name.decode()
            if not path.exists():
                assert got is None, name
                continue
            st = os.lstat(path)
            assert (got.st_size, got.st_mode, got.st_nlink, got.st_mtime_ns) == \
                (st.st_size, st.st_mode, st.st_nlink, st.st_mtime_ns), name

    async def session():
        info, attr = await ops.create(root, b"a.txt", 0o100644, os.O_WRONLY, None)
        check((root, b"a.txt"))
        await ops.write(info.fh, 0, b"x" * 5000)
        check((root, b"a.txt"))
        await ops.release(info.fh)
        check((root, b"a.txt"))
        fields = Fields()
        fields.update_size = True
        new = pyfuse3.EntryAttributes()
        new.st_size = 10
        await ops.setattr(attr.st_ino, new, fields, None, None)
        check((root, b"a.txt"))
        await ops.link(attr.st_ino, root, b"b.txt", None)
        check((root, b"a.txt"), (root, b"b.txt"))
        info2 = await ops.open(attr.st_ino, os.O_WRONLY, None)
        await ops.write(info2.fh, 10, b"more")
        await ops.release(info2.fh)
        check((root, b"a.txt"), (root, b"b.txt"))
        sub = ops.stage.lookup(root, b"sub").st_ino
        ops.stage.lookup(sub, b"old.txt")                     # cached from the lower layer
        info3, _ = await ops.create(sub, b"new.txt", 0o100644, os.O_WRONLY, None)
        await ops.release(info3.fh)                      # the parent was copied up
        check((root, b"sub"), (sub, b"new.txt"))
        await ops.rename(root, b"a.txt", sub, b"c.txt", 0, None)
        check((root, b"a.txt"), (sub, b"c.txt"), (root, b"b.txt"))
        await ops.unlink(root, b"b.txt", None)
        check((root, b"b.txt"), (sub, b"c.txt"))

    try:
        trio.run(session)
    finally:
        overlay.close()


def test_an_unexpected_error_fails_one_request_not_the_mount(tmp_path, monkeypatch, caplog):
    """pyfuse3 ends the mount on any exception but FUSEError: the errno
    boundary answers a bug with EIO (logged with its traceback) and an
    OSError with its errno, and the next request is served as usual."""
    import errno
    import pyfuse3
    import trio
    from isofuse.fuseops.stage_ops import StageOperations
    from isofuse.stage.disc import Disc, Profile
    from isofuse.stage.layers import FolderLayer
    from isofuse.stage.overlay import Overlay

    upper, lower = tmp_path / "upper", tmp_path / "lower"
    upper.mkdir()
    lower.mkdir()
    (lower / "a.txt").write_bytes(b"a")
    overlay = Overlay(str(upper), [FolderLayer(str(lower), "lower0")])
    ops = StageOperations(overlay, Disc(overlay, Profile()))
    sectors = ops.disc.sectors

    async def session():
        monkeypatch.setattr(ops.disc, "sectors", lambda: 1 / 0)
        with pytest.raises(pyfuse3.FUSEError) as bug:
            await ops.statfs(None)
        assert bug.value.errno == errno.EIO
        monkeypatch.setattr(ops.disc, "sectors", lambda: (_ for _ in ()).throw(
            PermissionError(errno.EACCES, "no")))
        with pytest.raises(pyfuse3.FUSEError) as denied:
            await ops.statfs(None)
        assert denied.value.errno == errno.EACCES
        monkeypatch.setattr(ops.disc, "sectors", sectors)
        stats = await ops.statfs(None)
        assert stats.f_blocks > stats.f_bfree > 0
        assert (await ops.lookup(pyfuse3.ROOT_INODE, b"a.txt", None)).st_size == 1

    try:
        with caplog.at_level("ERROR"):
            trio.run(session)
    finally:
        overlay.close()
    assert "ZeroDivisionError" in caplog.text and "statfs" in caplog.text
