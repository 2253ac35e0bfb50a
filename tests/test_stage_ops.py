"""`isofuse stage` operations without a kernel mount (issue 14, one test per
failure class): a small facade calls the pyfuse3 operations as the kernel
does -- a path is looked up name by name, then the operation gets inode
numbers, a request context (uid, gid, umask) and, for ftruncate, the file
handle -- so each case runs in milliseconds and no kernel cache can hide a
wrong answer."""

import errno
import os
import stat
import types

import pyfuse3
import pytest
import trio

from isofuse.cli.stage import HELP, allow_other_problem, parse_options
from isofuse.fuseops.session import fuse_options
from isofuse.fuseops.stage_ops import StageOperations
from isofuse.stage.disc import Disc, Profile
from isofuse.stage.inodes import lower_ino, upper_ino
from isofuse.stage.layers import FolderLayer
from isofuse.stage.overlay import Overlay


def ctx(uid=0, gid=0, umask=0):
    return types.SimpleNamespace(uid=uid, gid=gid, umask=umask, pid=os.getpid())


class Fields:
    """pyfuse3.SetattrFields as the kernel fills it."""
    def __init__(self, **changed):
        for name in ("size", "mode", "uid", "gid", "atime", "mtime"):
            setattr(self, "update_" + name, name in changed)


def attributes(**values):
    attr = pyfuse3.EntryAttributes()
    for name, value in values.items():
        setattr(attr, {"size": "st_size", "mode": "st_mode", "uid": "st_uid",
                       "gid": "st_gid", "atime": "st_atime_ns",
                       "mtime": "st_mtime_ns"}[name], value)
    return attr


class Kernel:
    """The stage's operations, called as pyfuse3 calls them."""

    def __init__(self, upper, lowers=()):
        self.overlay = Overlay(str(upper), [FolderLayer(str(path), f"lower{i}")
                                            for i, path in enumerate(lowers)])
        self.ops = StageOperations(self.overlay, Disc(self.overlay, Profile()))

    def close(self):
        self.overlay.close()

    def call(self, name, *args):
        return trio.run(getattr(self.ops, name), *args)

    def errno_of(self, name, *args):
        with pytest.raises(pyfuse3.FUSEError) as info:
            self.call(name, *args)
        return info.value.errno

    def ino(self, path):
        ino = pyfuse3.ROOT_INODE
        for name in filter(None, path.split("/")):
            attr = self.call("lookup", ino, os.fsencode(name), ctx())
            if attr.st_ino == 0:
                raise FileNotFoundError(path)
            ino = attr.st_ino
        return ino

    def parent(self, path):
        head, _, name = path.rpartition("/")
        return self.ino(head), os.fsencode(name)

    def lookup(self, path):
        return self.call("lookup", *self.parent(path), ctx())

    def stat(self, path):
        return self.call("getattr", self.ino(path), ctx())

    def create(self, path, mode=0o644, flags=os.O_RDWR, who=None):
        info, attr = self.call("create", *self.parent(path), stat.S_IFREG | mode, flags,
                               who or ctx())
        return info.fh, attr

    def mkdir(self, path, mode=0o755, who=None):
        return self.call("mkdir", *self.parent(path), stat.S_IFDIR | mode, who or ctx())

    def mknod(self, path, mode, rdev=0, who=None):
        return self.call("mknod", *self.parent(path), mode, rdev, who or ctx())

    def symlink(self, path, target):
        return self.call("symlink", *self.parent(path), os.fsencode(target), ctx())

    def link(self, src, dst):
        return self.call("link", self.ino(src), *self.parent(dst), ctx())

    def unlink(self, path):
        return self.call("unlink", *self.parent(path), ctx())

    def rename(self, src, dst, flags=0):
        return self.call("rename", *self.parent(src), *self.parent(dst), flags, ctx())

    def setattr(self, ino, fh=None, **values):
        return self.call("setattr", ino, attributes(**values), Fields(**values), fh, ctx())

    def open(self, path, flags=os.O_RDONLY):
        return self.call("open", self.ino(path), flags, ctx()).fh

    def listdir(self, path):
        names = []
        fh = self.call("opendir", self.ino(path), ctx())
        original = pyfuse3.readdir_reply
        pyfuse3.readdir_reply = lambda token, name, attr, next_id: names.append(name) or True
        try:
            self.call("readdir", fh, 0, None)
        finally:
            pyfuse3.readdir_reply = original
            self.call("releasedir", fh)
        return sorted(os.fsdecode(n) for n in names)


@pytest.fixture
def layers(tmp_path):
    upper, lower = tmp_path / "upper", tmp_path / "lower"
    upper.mkdir()
    (lower / "dir").mkdir(parents=True)
    (lower / "dir" / "a.txt").write_bytes(b"lower a")
    (lower / "file.txt").write_bytes(b"lower file")
    return upper, lower


@pytest.fixture
def kernel(layers):
    k = Kernel(*layers[:1], lowers=[layers[1]])
    yield k
    k.close()


def upper_listing(upper):
    return sorted(str(p.relative_to(upper)) for p in upper.rglob("*"))


# 1 ---------------------------------------------------------------------------------------
def test_names_up_to_255_bytes_and_their_whiteouts(layers, kernel):
    upper, lower = layers
    for length in (251, 252, 253, 254, 255):
        (lower / "dir" / ("L" * length)).write_bytes(b"lower")
    kernel = Kernel(upper, [lower])         # see the new lower names
    for length in (252, 253, 254, 255):
        fh, _ = kernel.create("/dir/" + "n" * length)
        kernel.call("release", fh)
        kernel.mkdir("/" + "d" * length)
        kernel.unlink("/dir/" + "L" * length)      # a lower file: needs a whiteout
    kernel.unlink("/dir/" + "L" * 251)
    names = kernel.listdir("/dir")
    assert names == sorted(["a.txt"] + ["n" * n for n in (252, 253, 254, 255)])
    long_markers = [p for p in (upper / "dir").iterdir() if p.name.startswith(".wh..wh.long.")]
    assert sorted(p.read_bytes() for p in long_markers) == \
        sorted(b"L" * n for n in (252, 253, 254, 255))     # 251 fits .wh.NAME
    assert (upper / "dir" / (".wh." + "L" * 251)).exists()
    assert kernel.errno_of("lookup", kernel.ino("/dir"), b"x" * 256, ctx()) == \
        errno.ENAMETOOLONG
    assert kernel.errno_of("create", kernel.ino("/dir"), b"x" * 256, 0o100644,
                           os.O_WRONLY, ctx()) == errno.ENAMETOOLONG
    again = Kernel(upper, [lower])                          # after a remount
    assert again.listdir("/dir") == names
    with pytest.raises(FileNotFoundError):
        again.ino("/dir/" + "L" * 255)


# 2 ---------------------------------------------------------------------------------------
def test_a_failed_create_leaves_upper_as_it_was(layers, kernel, monkeypatch):
    upper, _ = layers
    kernel.mkdir("/made")
    before = upper_listing(upper)

    def broken(path, mode, owner, parent_dir):
        raise OSError(errno.EIO, "injected")
    monkeypatch.setattr(Overlay, "_own", staticmethod(broken))
    dir_ino = kernel.ino("/dir")
    for op, args in (("create", (dir_ino, b"new", 0o104755, os.O_WRONLY, ctx())),
                     ("create", (dir_ino, b"new", 0o100644, os.O_WRONLY, ctx(uid=7))),
                     ("mkdir", (dir_ino, b"new", 0o40755, ctx())),
                     ("mknod", (dir_ino, b"new", stat.S_IFIFO | 0o644, 0, ctx())),
                     ("symlink", (dir_ino, b"new", b"target", ctx()))):
        assert kernel.errno_of(op, *args) == errno.EIO, op
    monkeypatch.undo()
    # a file the creating open makes complete (no work name): a failure
    # after the open removes it
    monkeypatch.setattr("isofuse.stage.overlay.drop_whiteout",
                        lambda directory, name: broken(None, None, None, None))
    assert kernel.errno_of("create", dir_ino, b"new", 0o100644, os.O_WRONLY, ctx()) \
        == errno.EIO
    monkeypatch.undo()
    # the parent was copied up (invisible); nothing else, no work files
    assert [p for p in upper_listing(upper) if p not in before] == ["dir"]
    assert kernel.listdir("/dir") == ["a.txt"]
    assert kernel.lookup("/dir/new").st_ino == 0
    fh, _ = kernel.create("/dir/new")                      # no EEXIST afterwards
    kernel.call("release", fh)
    assert not list(upper.rglob(".wh..wh.tmp.*"))


# 3 ---------------------------------------------------------------------------------------
def test_creation_modes_are_exact_and_setid_bits_kept(layers, kernel):
    upper, _ = layers
    old_umask = os.umask(0o077)         # the daemon's own umask must not count
    try:
        _, attr = kernel.create("/suid", 0o6777, who=ctx(uid=1234, gid=5678))
        assert attr.st_mode == stat.S_IFREG | 0o6777
        assert (attr.st_uid, attr.st_gid) == (1234, 5678)
        assert os.lstat(upper / "suid").st_mode == stat.S_IFREG | 0o6777
        assert kernel.mkdir("/d", 0o3777).st_mode == stat.S_IFDIR | 0o3777
        assert kernel.mknod("/fifo", stat.S_IFIFO | 0o666).st_mode == stat.S_IFIFO | 0o666
        assert kernel.create("/masked", 0o666, who=ctx(umask=0o022))[1].st_mode & 0o777 \
            == 0o644
    finally:
        os.umask(old_umask)
    # a set-group-ID folder gives its group and, to folders, its bit
    kernel.setattr(kernel.ino("/d"), gid=4321)
    assert kernel.mkdir("/d/sub", 0o755, who=ctx(uid=1, gid=2)).st_gid == 4321
    assert kernel.stat("/d/sub").st_mode & stat.S_ISGID
    # chown clears S_ISUID and (group-executable) S_ISGID, as the kernel does
    assert kernel.setattr(kernel.ino("/suid"), uid=99).st_mode & 0o7777 == 0o0777
    # the kernel's "kill suid" on a write by non-root arrives as a mode change
    kernel.setattr(kernel.ino("/suid"), mode=stat.S_IFREG | 0o4755)
    assert kernel.setattr(kernel.ino("/suid"), mode=stat.S_IFREG | 0o755).st_mode & 0o7777 \
        == 0o755


# 4 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFSOCK, stat.S_IFREG])
def test_hard_links_of_special_files_share_one_inode(kernel, kind):
    kernel.mknod("/a", kind | 0o640, os.makedev(1, 3) if kind == stat.S_IFCHR else 0)
    kernel.link("/a", "/b")
    a, b = kernel.lookup("/a"), kernel.lookup("/b")
    assert a.st_ino == b.st_ino and a.st_nlink == b.st_nlink == 2
    kernel.setattr(a.st_ino, mode=kind | 0o600, uid=42)
    b = kernel.stat("/b")
    assert (stat.S_IMODE(b.st_mode), b.st_uid) == (0o600, 42)
    assert kernel.stat("/a").st_ctime_ns == b.st_ctime_ns
    kernel.unlink("/a")
    assert kernel.stat("/b").st_nlink == 1


# 5 ---------------------------------------------------------------------------------------
def test_renaming_over_a_hard_linked_file_keeps_the_other_link(kernel):
    fh, _ = kernel.create("/x")
    kernel.call("write", fh, 0, b"data of x")
    kernel.call("release", fh)
    kernel.link("/x", "/y")
    fh, _ = kernel.create("/z")
    kernel.call("release", fh)
    x_ino = kernel.ino("/x")
    kernel.rename("/z", "/y")
    assert kernel.call("getattr", x_ino, ctx()).st_nlink == 1
    assert kernel.stat("/x").st_size == len(b"data of x")
    assert kernel.listdir("/") == ["dir", "file.txt", "x", "y"]
    kernel.link("/x", "/w")
    kernel.rename("/x", "/w")           # two names of one file: nothing happens
    assert kernel.lookup("/x").st_ino == kernel.lookup("/w").st_ino != 0


# 6 ---------------------------------------------------------------------------------------
def test_an_unlinked_open_file_stays_usable_until_the_last_close(kernel):
    fh, attr = kernel.create("/open.txt")
    kernel.call("write", fh, 0, b"0123456789")
    kernel.unlink("/open.txt")
    assert kernel.call("getattr", attr.st_ino, ctx()).st_size == 10        # fstat
    assert kernel.call("read", fh, 2, 4) == b"2345"                        # pread
    assert kernel.setattr(attr.st_ino, fh, size=3).st_size == 3            # ftruncate
    assert kernel.call("getattr", attr.st_ino, ctx()).st_nlink == 0
    kernel.call("write", fh, 3, b"more")
    assert kernel.call("read", fh, 0, 100) == b"012more"
    fh2, _ = kernel.create("/open.txt")          # the name is free for a new file
    kernel.call("release", fh2)
    assert kernel.stat("/open.txt").st_size == 0
    kernel.call("release", fh)
    assert kernel.errno_of("getattr", attr.st_ino, ctx()) == errno.ENOENT
    # a lower file opened for reading, then deleted
    fh = kernel.open("/file.txt")
    ino = kernel.ino("/file.txt")
    kernel.unlink("/file.txt")
    assert kernel.call("read", fh, 0, 100) == b"lower file"
    assert kernel.call("getattr", ino, ctx()).st_size == 10
    kernel.call("release", fh)


# 7 ---------------------------------------------------------------------------------------
def test_symlink_atime_set_with_nofollow_stays(kernel, layers):
    os.symlink("file.txt", layers[1] / "lowlink")
    kernel = Kernel(layers[0], [layers[1]])
    kernel.symlink("/link", "dir/a.txt")
    for path in ("/link", "/lowlink"):          # an upper link, a lower one (copy-up)
        ino = kernel.ino(path)
        attr = kernel.setattr(ino, atime=1_000_000_000_123, mtime=2_000_000_000_456)
        assert (attr.st_atime_ns, attr.st_mtime_ns) == (1_000_000_000_123, 2_000_000_000_456)
        assert kernel.stat(path).st_atime_ns == 1_000_000_000_123
        assert os.lstat(layers[0] / path[1:]).st_atime_ns == 1_000_000_000_123


# 8 ---------------------------------------------------------------------------------------
def test_first_rename_inside_a_lower_directory_succeeds(kernel, layers):
    kernel.rename("/dir/a.txt", "/dir/b.txt")
    assert kernel.listdir("/dir") == ["b.txt"]
    assert (layers[0] / "dir" / "b.txt").read_bytes() == b"lower a"


# 9 ---------------------------------------------------------------------------------------
def test_allow_other_reaches_the_mount_options(tmp_path):
    profile, extra = parse_options(["allow_other"])
    assert "allow_other" in fuse_options("u", extra["allow_other"], read_only=False)
    assert "allow_other" not in fuse_options("u", parse_options([])[1]["allow_other"],
                                             read_only=False)
    conf = tmp_path / "fuse.conf"
    conf.write_text("# mount_max = 1000\n#user_allow_other\n")
    assert "user_allow_other" in allow_other_problem(str(conf), euid=1000)
    assert allow_other_problem(str(conf), euid=0) is None
    conf.write_text("user_allow_other\n")
    assert allow_other_problem(str(conf), euid=1000) is None
    assert "/etc/fuse.conf has the line user_allow_other" in " ".join(HELP.split())


# 10 --------------------------------------------------------------------------------------
def test_statfs_inode_counts_make_sense(kernel, layers):
    _, lower = layers
    entries = 1 + sum(len(dirs) + len(files) for _, dirs, files in os.walk(lower))  # + root
    stats = kernel.call("statfs", ctx())
    assert 0 < stats.f_ffree <= stats.f_files
    assert stats.f_files - stats.f_ffree == entries
    assert stats.f_favail == stats.f_ffree and stats.f_namemax == 255
    kernel.mkdir("/more")
    fh, _ = kernel.create("/more/file")
    kernel.call("release", fh)
    kernel.unlink("/file.txt")
    stats = kernel.call("statfs", ctx())
    assert stats.f_files - stats.f_ffree == entries + 1


# 11 --------------------------------------------------------------------------------------
def test_inode_numbers_are_stable_across_remounts(layers, kernel):
    upper, lower = layers
    fh, _ = kernel.create("/new.txt")
    kernel.call("release", fh)
    kernel.link("/new.txt", "/hard.txt")
    kernel.mkdir("/newdir")
    paths = ["/new.txt", "/hard.txt", "/newdir", "/dir", "/dir/a.txt", "/file.txt"]
    before = {path: kernel.lookup(path).st_ino for path in paths}
    assert before["/new.txt"] == before["/hard.txt"] == \
        upper_ino(os.lstat(upper / "new.txt").st_ino)
    lower_st = os.lstat(lower / "file.txt")
    assert before["/file.txt"] == lower_ino(("lower0", lower_st.st_dev, lower_st.st_ino))
    assert len(set(before.values())) == len(paths) - 1
    again = Kernel(upper, [lower])
    assert {path: again.lookup(path).st_ino for path in paths} == before
    # a copy-up keeps the number (a folder and a file: an xattr the user
    # does not see), also after a remount
    fh = again.open("/file.txt", os.O_WRONLY)
    again.call("release", fh)
    fh, _ = again.create("/dir/added")                 # copies /dir up
    again.call("release", fh)
    assert (upper / "dir").is_dir() and (upper / "file.txt").is_file()
    for path in ("/file.txt", "/dir", "/dir/a.txt"):
        assert again.lookup(path).st_ino == before[path], path
    assert again.call("listxattr", before["/file.txt"], ctx()) == []
    assert again.errno_of("setxattr", before["/file.txt"], b"user.isofuse.origin", b"x",
                          ctx()) == errno.EPERM
    third = Kernel(upper, [lower])
    assert {path: third.lookup(path).st_ino for path in paths} == before
    # a symlink cannot hold the xattr: its number changes at copy-up, and the
    # old number answers for it until it is removed
    os.symlink("file.txt", lower / "lowlink")
    fourth = Kernel(upper, [lower])
    old = fourth.lookup("/lowlink").st_ino
    fourth.setattr(old, uid=7)
    new = fourth.lookup("/lowlink").st_ino
    assert new == upper_ino(os.lstat(upper / "lowlink").st_ino) != old
    assert fourth.call("getattr", old, ctx()).st_uid == 7

# long paths ------------------------------------------------------------------------------
def test_paths_deeper_than_path_max_and_renames_above_them(kernel, layers):
    upper, _ = layers
    path = ""
    for i in range(24):                                 # about 6,000 bytes
        path += "/" + f"{i:02d}" + "q" * 249
        kernel.mkdir(path)
    fh, _ = kernel.create(path + "/leaf")
    kernel.call("write", fh, 0, b"deep")
    kernel.call("release", fh)
    assert kernel.stat(path + "/leaf").st_size == 4
    top = path.split("/")[1]
    kernel.rename("/" + top, "/moved")                 # every anchor below moves
    moved = "/moved" + path[len(top) + 1:]
    assert kernel.stat(moved + "/leaf").st_size == 4
    fh = kernel.open(moved + "/leaf")
    assert kernel.call("read", fh, 0, 10) == b"deep"
    kernel.call("release", fh)
    kernel.unlink(moved + "/leaf")
    assert kernel.listdir(moved) == []
    assert sorted(os.listdir(upper)) == ["moved"]


def test_write_only_creates_bypass_the_page_cache_and_clear_set_id_bits(layers, kernel,
                                                                        monkeypatch):
    """A file created write-only gets a direct-I/O handle (the kernel then
    probes no security.capability before each write); a created file that
    can be read or mapped keeps the page cache.  Through a direct handle
    the kernel leaves clearing S_ISUID/S_ISGID on a write by a non-root
    writer to us: cleared, and the kernel told to forget its cached mode."""
    upper, _ = layers
    told = []
    monkeypatch.setattr(pyfuse3, "invalidate_inode",
                        lambda ino, attr_only=False: told.append((ino, attr_only)))
    info, attr = kernel.call("create", *kernel.parent("/rw"), stat.S_IFREG | 0o644,
                             os.O_RDWR, ctx())
    assert info.direct_io is False and info.keep_cache is True
    user = ctx(uid=1234, gid=5678)
    info, attr = kernel.call("create", *kernel.parent("/wo"), stat.S_IFREG | 0o644,
                             os.O_WRONLY, user)
    assert info.direct_io is True
    kernel.setattr(attr.st_ino, fh=info.fh, mode=stat.S_IFREG | 0o6775)
    assert kernel.call("write", info.fh, 0, b"data") == 4
    assert os.lstat(upper / "wo").st_mode == stat.S_IFREG | 0o775
    assert told == [(attr.st_ino, True)]
    assert kernel.stat("/wo").st_mode == stat.S_IFREG | 0o775
    assert kernel.call("write", info.fh, 4, b"more") == 4     # nothing left to clear
    assert told == [(attr.st_ino, True)]
    kernel.call("release", info.fh)
    # root (CAP_FSETID) keeps them, as the kernel would
    info, attr = kernel.call("create", *kernel.parent("/root"), stat.S_IFREG | 0o6775,
                             os.O_WRONLY, ctx())
    assert info.direct_io is True
    kernel.call("write", info.fh, 0, b"data")
    kernel.call("release", info.fh)
    assert os.lstat(upper / "root").st_mode == stat.S_IFREG | 0o6775
    assert len(told) == 1
