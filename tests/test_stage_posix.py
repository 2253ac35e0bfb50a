"""A POSIX battery in the mounted tier (issue 14): every case runs, with the
same assertions, on an `isofuse stage` mount (``-o allow_other``, over a
lower folder) and on a plain folder of the same filesystem as UPPER -- the
folder is the oracle.  Operations as another user run as a real
unprivileged user that the fixture creates and removes.  After every case
on the stage, df equals `isofuse master -print-size` of the mount.

One mount serves the whole module (each case works in its own folder);
remount cases get their own."""

import errno
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

from mountutil import staged
from test_stage import assert_df_is_print_size

pytestmark = pytest.mark.mount

SYSTEM_PYTHON = "/usr/bin/python3"      # the test's interpreter may be unreadable to others

# Runs as the unprivileged user: each operation's result, or its errno name.
USER_RUNNER = r"""
import errno, json, os, sys
os.umask(0o022)
def create(path, mode):
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
def write(path, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
def read(path):
    with open(path, "rb") as f:
        return f.read().decode()
def create_setid_write(path, mode, data):
    # tar's order: create write-only, then set the mode (here before a write)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.fchmod(fd, mode)
        before = os.fstat(fd).st_mode
        os.write(fd, data.encode())
        return [before, os.fstat(fd).st_mode, os.lstat(path).st_mode]
    finally:
        os.close(fd)
OPS = {"create": create, "write": write, "read": read, "unlink": os.unlink,
       "create_setid_write": create_setid_write,
       "rename": os.rename, "chmod": os.chmod, "mkdir": os.mkdir, "rmdir": os.rmdir,
       "chgrp": lambda p, g: os.chown(p, -1, g), "chown": lambda p, u: os.chown(p, u, -1),
       "truncate": os.truncate, "link": os.link, "symlink": os.symlink,
       "mknod": lambda p, m: os.mknod(p, m, os.makedev(1, 3)),
       "utime_now": lambda p: os.utime(p), "utime": lambda p, t: os.utime(p, ns=(t, t)),
       "mode": lambda p: os.lstat(p).st_mode, "uid": lambda p: os.lstat(p).st_uid,
       "listdir": lambda p: sorted(os.listdir(p))}
out = []
for op, *args in json.loads(sys.argv[1]):
    try:
        result = OPS[op](*args)
        out.append(0 if result is None else result)
    except OSError as exc:
        out.append(errno.errorcode[exc.errno])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def user():
    """A real unprivileged user, removed afterwards."""
    name = f"isofuset{os.getpid() % 100000}"
    subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", "-f", name], stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def base():
    """A folder every user can traverse (pytest's own are root's only)."""
    path = tempfile.mkdtemp(prefix="isofuse-posix-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def stage_mount(base):
    lower = os.path.join(base, "lower")
    os.makedirs(os.path.join(lower, "shared"))
    with open(os.path.join(lower, "shared", "from-lower"), "w") as f:
        f.write("lower data")
    upper, mnt = os.path.join(base, "upper"), os.path.join(base, "mnt")
    with staged(upper, mnt, [lower], ["allow_other"]):
        os.chmod(mnt, 0o755)
        yield mnt


@pytest.fixture(scope="module")
def folder(base):
    path = os.path.join(base, "folder")
    os.mkdir(path, 0o755)
    return path


@pytest.fixture(params=["stage", "folder"])
def target(request, stage_mount, folder):
    """A fresh folder for one case, on the stage or on the oracle."""
    root = stage_mount if request.param == "stage" else folder
    case = os.path.join(root, request.node.name.replace("test_", "").replace("[", "-")
                        .replace("]", ""))
    os.mkdir(case)
    os.chmod(case, 0o777)
    yield case
    if request.param == "stage":
        try:
            assert_df_is_print_size(stage_mount)
        except Exception:
            print(open(stage_mount + ".log").read()[-3000:])
            raise


class As:
    """Run operations as the test user."""

    def __init__(self, user):
        self.user = user

    def __call__(self, *ops):
        out = subprocess.run(
            ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
             "--clear-groups", SYSTEM_PYTHON, "-c", USER_RUNNER, json.dumps(ops)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
        return json.loads(out.stdout)


@pytest.fixture
def as_user(user):
    return As(user)


def errno_of(function, *args):
    with pytest.raises(OSError) as info:
        function(*args)
    return errno.errorcode[info.value.errno]


def make(path, data=b"", mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


# ---- the battery -----------------------------------------------------------------------------
def test_chmod(target, as_user, user):
    f = make(os.path.join(target, "f"))
    os.chmod(f, 0o4755)
    assert stat.S_IMODE(os.lstat(f).st_mode) == 0o4755
    os.chmod(target, 0o1777)
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o1777
    assert as_user(["chmod", f, 0o777]) == ["EPERM"]           # not the owner
    os.chown(f, user.pw_uid, user.pw_gid)
    assert as_user(["chmod", f, 0o2750], ["mode", f]) == [0, stat.S_IFREG | 0o2750]


def test_chown(target, as_user, user):
    f = make(os.path.join(target, "f"), mode=0o6755)
    os.chown(f, user.pw_uid, user.pw_gid)
    # a chown, even by root, clears S_ISUID and S_ISGID (with group x)
    assert stat.S_IMODE(os.lstat(f).st_mode) == 0o755
    os.chmod(f, 0o6755)
    assert as_user(["chown", f, 0]) == ["EPERM"]
    assert as_user(["chgrp", f, user.pw_gid], ["mode", f]) == [0, stat.S_IFREG | 0o755]
    d = os.path.join(target, "d")
    os.mkdir(d)
    os.chmod(d, 0o2755)
    os.chown(d, user.pw_uid, -1)
    assert stat.S_IMODE(os.lstat(d).st_mode) == 0o2755             # folders keep it


def test_link(target, as_user):
    f = make(os.path.join(target, "f"), b"data")
    os.link(f, os.path.join(target, "g"))
    a, b = os.lstat(f), os.lstat(os.path.join(target, "g"))
    assert a.st_ino == b.st_ino and a.st_nlink == b.st_nlink == 2
    assert errno_of(os.link, f, os.path.join(target, "g")) == "EEXIST"
    os.mkdir(os.path.join(target, "dir"))
    assert errno_of(os.link, os.path.join(target, "dir"), os.path.join(target, "dl")) \
        == "EPERM"
    long = os.path.join(target, "h" * 255)
    os.link(f, long)
    assert os.lstat(long).st_nlink == 3
    assert errno_of(os.link, f, os.path.join(target, "h" * 256)) == "ENAMETOOLONG"
    closed = os.path.join(target, "closed")
    os.mkdir(closed, 0o755)
    mine = os.path.join(target, "mine")
    assert as_user(["create", mine, 0o644], ["link", mine, os.path.join(closed, "x")],
                   ["link", mine, os.path.join(target, "mine2")]) == [0, "EACCES", 0]


@pytest.mark.parametrize("kind", ["fifo", "char", "socket"])
def test_link_special_files(target, kind):
    """Class 4: hard links of FIFOs, devices and sockets are one inode."""
    a, b = os.path.join(target, "a"), os.path.join(target, "b")
    mode = {"fifo": stat.S_IFIFO, "char": stat.S_IFCHR, "socket": stat.S_IFSOCK}[kind]
    os.mknod(a, mode | 0o640, os.makedev(1, 3) if kind == "char" else 0)
    os.link(a, b)
    os.chmod(a, 0o600)
    os.chown(b, 123, 456)
    sa, sb = os.lstat(a), os.lstat(b)
    assert sa.st_ino == sb.st_ino
    assert (sa.st_nlink, sa.st_mode, sa.st_uid, sa.st_ctime_ns) == \
        (sb.st_nlink, sb.st_mode, sb.st_uid, sb.st_ctime_ns) == \
        (2, mode | 0o600, 123, sb.st_ctime_ns)
    os.unlink(a)
    assert os.lstat(b).st_nlink == 1


def test_mkdir(target, as_user):
    old = os.umask(0)
    try:
        os.mkdir(os.path.join(target, "open"), 0o777)
        os.mkdir(os.path.join(target, "sgid"))
        os.chmod(os.path.join(target, "sgid"), 0o2775)   # mkdir(2) drops S_ISGID
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(os.path.join(target, "open")).st_mode) == 0o777
    os.chown(os.path.join(target, "sgid"), -1, 4242)
    os.mkdir(os.path.join(target, "sgid", "inner"))
    inner = os.lstat(os.path.join(target, "sgid", "inner"))
    assert inner.st_gid == 4242 and inner.st_mode & stat.S_ISGID
    assert errno_of(os.mkdir, os.path.join(target, "open")) == "EEXIST"
    os.mkdir(os.path.join(target, "m" * 255))
    assert errno_of(os.mkdir, os.path.join(target, "m" * 256)) == "ENAMETOOLONG"
    closed = os.path.join(target, "closed")
    os.mkdir(closed, 0o755)
    assert as_user(["mkdir", os.path.join(closed, "x")],
                   ["mkdir", os.path.join(target, "mine")],
                   ["uid", os.path.join(target, "mine")])[:2] == ["EACCES", 0]


def test_mkfifo_and_mknod(target, as_user):
    old = os.umask(0)
    try:
        os.mkfifo(os.path.join(target, "fifo"), 0o666)
        os.mknod(os.path.join(target, "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    finally:
        os.umask(old)
    assert os.lstat(os.path.join(target, "fifo")).st_mode == stat.S_IFIFO | 0o666
    st = os.lstat(os.path.join(target, "null"))
    assert st.st_mode == stat.S_IFCHR | 0o666 and st.st_rdev == os.makedev(1, 3)
    assert as_user(["mknod", os.path.join(target, "dev"), stat.S_IFCHR | 0o600]) == ["EPERM"]
    assert errno_of(os.mkfifo, os.path.join(target, "fifo")) == "EEXIST"


def test_open(target, as_user):
    old = os.umask(0)
    try:
        fd = os.open(os.path.join(target, "suid"), os.O_CREAT | os.O_WRONLY, 0o4777)
        os.close(fd)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(os.path.join(target, "suid")).st_mode) == 0o4777
    assert errno_of(os.open, os.path.join(target, "suid"), os.O_CREAT | os.O_EXCL) == "EEXIST"
    for length in (252, 253, 254, 255):
        make(os.path.join(target, "n" * length), b"long")
    assert errno_of(os.open, os.path.join(target, "n" * 256), os.O_RDONLY) == "ENAMETOOLONG"
    assert errno_of(os.open, os.path.join(target, "n" * 256), os.O_CREAT | os.O_WRONLY) \
        == "ENAMETOOLONG"
    secret = make(os.path.join(target, "secret"), b"root only", 0o600)
    # a write by another user clears S_ISUID, as the kernel does
    assert as_user(["read", secret], ["write", os.path.join(target, "suid"), "x"],
                   ["mode", os.path.join(target, "suid")]) == \
        ["EACCES", 0, stat.S_IFREG | 0o777]


def test_a_write_to_a_new_file_clears_set_id_bits_unless_by_root(target, as_user):
    """A file created write-only is written around the page cache (direct
    I/O), where the kernel leaves clearing S_ISUID/S_ISGID to the
    filesystem: a write by a user without CAP_FSETID clears them (S_ISGID
    only with group execute), one by root keeps them, as on the folder."""
    setid = stat.S_IFREG | 0o6775
    assert as_user(["create_setid_write", os.path.join(target, "user"), 0o6775, "x"],
                   ["create_setid_write", os.path.join(target, "user-g"), 0o2755, "x"],
                   ["create_setid_write", os.path.join(target, "user-nox"), 0o2745, "x"]) == [
        [setid, stat.S_IFREG | 0o775, stat.S_IFREG | 0o775],
        [stat.S_IFREG | 0o2755, stat.S_IFREG | 0o755, stat.S_IFREG | 0o755],
        [stat.S_IFREG | 0o2745] * 3]
    path = os.path.join(target, "root")
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.fchmod(fd, 0o6775)
        os.write(fd, b"x")
        assert os.fstat(fd).st_mode == setid
    finally:
        os.close(fd)
    assert os.lstat(path).st_mode == setid
    # the writer's file, now root's and set-user-ID: another write clears it
    os.chown(path, 0, 0)
    os.chmod(path, 0o4777)
    assert as_user(["write", path, "y"], ["mode", path]) == [0, stat.S_IFREG | 0o777]


def test_a_write_to_a_new_file_drops_its_file_capability(target):
    """security.capability goes with the first write after it was set, on
    a direct-I/O handle too (the upper folder's own write drops it)."""
    import struct
    path = os.path.join(target, "capable")
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o755)
    try:
        # VFS_CAP_REVISION_2, effective; permitted: CAP_NET_BIND_SERVICE
        capability = struct.pack("<5I", 0x02000001, 1 << 10, 0, 0, 0)
        os.setxattr(path, "security.capability", capability)
        assert os.getxattr(path, "security.capability") == capability
        os.write(fd, b"x")
    finally:
        os.close(fd)
    assert errno_of(os.getxattr, path, "security.capability") == "ENODATA"


def test_a_reader_sees_what_a_new_write_only_file_gets(target):
    """The writer of a new write-only file bypasses the page cache; a reader
    that has read the file before still sees every later write."""
    path = os.path.join(target, "growing")
    writer = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.write(writer, b"a" * 100)
        reader = os.open(path, os.O_RDONLY)
        try:
            assert os.pread(reader, 4096, 0) == b"a" * 100
            os.write(writer, b"b" * 5000)
            assert os.fstat(reader).st_size == 5100
            assert os.pread(reader, 8192, 0) == b"a" * 100 + b"b" * 5000
            os.pwrite(writer, b"c" * 10, 50)
            assert os.pread(reader, 8192, 0) == b"a" * 50 + b"c" * 10 + b"a" * 40 + b"b" * 5000
        finally:
            os.close(reader)
    finally:
        os.close(writer)
    with open(path, "rb") as f:
        assert f.read() == b"a" * 50 + b"c" * 10 + b"a" * 40 + b"b" * 5000


def test_open_unlinked_file_stays_usable(target):
    """Class 6."""
    path = os.path.join(target, "f")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b"0123456789")
        os.unlink(path)
        assert os.fstat(fd).st_size == 10 and os.fstat(fd).st_nlink == 0
        assert os.pread(fd, 4, 2) == b"2345"
        os.ftruncate(fd, 3)
        assert os.fstat(fd).st_size == 3
        assert not os.path.lexists(path)
    finally:
        os.close(fd)


def test_rename(target, as_user):
    a, b, c = (os.path.join(target, n) for n in "abc")
    make(a, b"a")
    make(b, b"b")
    os.link(b, c)
    os.rename(a, b)                       # over a file with another hard link (class 5)
    assert open(c, "rb").read() == b"b" and os.lstat(c).st_nlink == 1
    assert sorted(os.listdir(target)) == ["b", "c"]
    d1, d2 = os.path.join(target, "d1"), os.path.join(target, "d2")
    os.makedirs(os.path.join(d1, "sub"))
    os.makedirs(os.path.join(d2, "full"))
    assert errno_of(os.rename, d1, d2) == "ENOTEMPTY"
    assert errno_of(os.rename, d1, os.path.join(d1, "sub", "x")) == "EINVAL"
    assert errno_of(os.rename, b, d1) == "EISDIR"
    assert errno_of(os.rename, d1, b) == "ENOTDIR"
    os.rename(d1, os.path.join(d2, "full", "moved" + "r" * 240))
    # sticky folder: others' files cannot be renamed or removed
    sticky = os.path.join(target, "sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    theirs = make(os.path.join(sticky, "roots"), b"r", 0o666)
    assert as_user(["rename", theirs, os.path.join(sticky, "x")], ["unlink", theirs],
                   ["create", os.path.join(sticky, "mine"), 0o644],
                   ["rename", os.path.join(sticky, "mine"), os.path.join(sticky, "mine2")],
                   ["unlink", os.path.join(sticky, "mine2")]) == ["EPERM", "EPERM", 0, 0, 0]


def test_rename_inside_a_lower_folder(stage_mount, as_user):
    """Class 8 (stage only: the oracle has no lower layer)."""
    shared = os.path.join(stage_mount, "shared")
    os.rename(os.path.join(shared, "from-lower"), os.path.join(shared, "renamed"))
    assert os.listdir(shared) == ["renamed"]
    assert_df_is_print_size(stage_mount)


def test_rmdir(target, as_user):
    d = os.path.join(target, "d")
    os.makedirs(os.path.join(d, "sub"))
    assert errno_of(os.rmdir, d) == "ENOTEMPTY"
    make(os.path.join(target, "f"))
    assert errno_of(os.rmdir, os.path.join(target, "f")) == "ENOTDIR"
    os.rmdir(os.path.join(d, "sub"))
    os.rmdir(d)
    assert os.listdir(target) == ["f"]
    sticky = os.path.join(target, "sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    os.mkdir(os.path.join(sticky, "roots"))
    assert as_user(["rmdir", os.path.join(sticky, "roots")],
                   ["mkdir", os.path.join(sticky, "mine")],
                   ["rmdir", os.path.join(sticky, "mine")]) == ["EPERM", 0, 0]


def test_symlink(target, as_user):
    link = os.path.join(target, "l")
    os.symlink("x" * 1000, link)
    assert os.readlink(link) == "x" * 1000
    os.symlink("f", os.path.join(target, "s" * 255))
    os.utime(link, ns=(1_000_000_007, 2_000_000_009), follow_symlinks=False)  # class 7
    st = os.lstat(link)
    assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_007, 2_000_000_009)
    assert errno_of(os.symlink, "f", link) == "EEXIST"
    assert errno_of(os.symlink, "f", os.path.join(target, "s" * 256)) == "ENAMETOOLONG"
    closed = os.path.join(target, "closed")
    os.mkdir(closed, 0o755)
    assert as_user(["symlink", "f", os.path.join(closed, "l")],
                   ["symlink", "f", os.path.join(target, "users")],
                   ["uid", os.path.join(target, "users")])[:2] == ["EACCES", 0]


def test_truncate(target, as_user):
    f = make(os.path.join(target, "f"), b"x" * 10000, 0o644)
    os.truncate(f, 100)
    assert os.lstat(f).st_size == 100
    os.truncate(f, 1 << 20)
    assert os.lstat(f).st_size == 1 << 20
    assert open(f, "rb").read(200)[100:] == b"\0" * 100
    assert as_user(["truncate", f, 0]) == ["EACCES"]
    assert errno_of(os.truncate, f, -1) == "EINVAL"


def test_unlink(target, as_user):
    os.mkdir(os.path.join(target, "d"))
    assert errno_of(os.unlink, os.path.join(target, "d")) == "EISDIR"
    assert errno_of(os.unlink, os.path.join(target, "none")) == "ENOENT"
    closed = os.path.join(target, "closed")
    os.mkdir(closed, 0o755)
    f = make(os.path.join(closed, "f"), mode=0o666)
    assert as_user(["unlink", f]) == ["EACCES"]
    os.unlink(f)
    assert os.listdir(closed) == []


def test_utimensat(target, as_user, user):
    f = make(os.path.join(target, "f"), mode=0o666)
    os.utime(f, ns=(123_456_789_012, 987_654_321_098))
    st = os.lstat(f)
    assert (st.st_atime_ns, st.st_mtime_ns) == (123_456_789_012, 987_654_321_098)
    # others may set "now" on a file they can write, not explicit times
    assert as_user(["utime", f, 5_000_000_000], ["utime_now", f]) == ["EPERM", 0]
    os.chmod(f, 0o644)
    assert as_user(["utime_now", f]) == ["EACCES"]


def test_long_paths(target):
    path = target
    for i in range(14):                        # about 3,500 bytes below the case folder
        path = os.path.join(path, f"{i:02d}" + "p" * 248)
        os.mkdir(path)
    leaf = make(os.path.join(path, "leaf"), b"deep")
    assert len(leaf) > 3500
    assert open(leaf, "rb").read() == b"deep"
    os.rename(leaf, os.path.join(path, "leaf2"))
    os.unlink(os.path.join(path, "leaf2"))



def test_paths_deeper_than_path_max(target):
    """Relative to a deep working folder, as find and rm -r work: the tree
    goes on beyond PATH_MAX (4096) like on any Linux filesystem."""
    here = os.getcwd()
    try:
        os.chdir(target)
        for i in range(24):                    # 24 x 251 bytes: about 6,000 bytes
            name = f"{i:02d}" + "q" * 249
            os.mkdir(name)
            os.chdir(name)
        make("leaf", b"deeper than PATH_MAX")
        os.link("leaf", "leaf2")
        os.rename("leaf2", "leaf3")
        os.symlink("leaf", "sym")
        os.chmod("leaf", 0o600)
        assert open("leaf", "rb").read() == b"deeper than PATH_MAX"
        assert sorted(os.listdir(".")) == ["leaf", "leaf3", "sym"]
        assert os.lstat("leaf3").st_nlink == 2 and os.readlink("sym") == "leaf"
        for name in ("leaf", "leaf3", "sym"):
            os.unlink(name)
        for i in reversed(range(24)):
            os.chdir("..")
            os.rmdir(f"{i:02d}" + "q" * 249)
        assert os.listdir(".") == []
    finally:
        os.chdir(here)

# ---- classes that need a remount or their own mount ------------------------------------------
def test_long_names_inodes_and_statfs_survive_a_remount(base, as_user):
    """Classes 1, 2, 9, 10, 11 through the kernel."""
    lower = os.path.join(base, "lower2")
    os.makedirs(os.path.join(lower, "dir"))
    for length in (250, 253, 255):
        make(os.path.join(lower, "dir", "L" * length), b"lower")
    upper, mnt = os.path.join(base, "upper2"), os.path.join(base, "mnt2")
    with staged(upper, mnt, [lower]):
        os.chmod(mnt, 0o755)
        d = os.path.join(mnt, "dir")
        assert as_user(["listdir", d]) == ["EACCES"]     # no allow_other: others shut out
        for length in (250, 253, 255):
            os.unlink(os.path.join(d, "L" * length))
            make(os.path.join(d, "n" * length), b"upper")
        assert sorted(os.listdir(d)) == ["n" * n for n in (250, 253, 255)]
        assert errno_of(os.lstat, os.path.join(d, "n" * 256)) == "ENAMETOOLONG"
        os.link(os.path.join(d, "n" * 255), os.path.join(mnt, "hard"))
        inodes = {name: os.lstat(os.path.join(d, name)).st_ino for name in os.listdir(d)}
        inodes["dir"] = os.lstat(d).st_ino
        st = os.statvfs(mnt)
        assert 0 < st.f_ffree <= st.f_files and st.f_namemax == 255
        assert_df_is_print_size(mnt)
    assert not list(__import__("pathlib").Path(upper).rglob(".wh..wh.tmp.*"))
    with staged(upper, mnt, [lower]):
        d = os.path.join(mnt, "dir")
        assert sorted(os.listdir(d)) == ["n" * n for n in (250, 253, 255)]
        again = {name: os.lstat(os.path.join(d, name)).st_ino for name in os.listdir(d)}
        again["dir"] = os.lstat(d).st_ino
        assert again == inodes
        assert os.lstat(os.path.join(mnt, "hard")).st_ino == inodes["n" * 255]
        out = subprocess.run(["find", mnt, "-inum", str(inodes["n" * 253])],
                             stdout=subprocess.PIPE, check=True).stdout.decode().split()
        assert out == [os.path.join(d, "n" * 253)]


def test_a_refused_create_leaves_nothing_behind(base):
    """Class 2: strict mode refuses a name Joliet cannot hold; upper keeps
    nothing of it, and the name stays free."""
    upper, mnt = os.path.join(base, "upper3"), os.path.join(base, "mnt3")
    with staged(upper, mnt, [], ["strict"], allow_log=r"WARNING: refused"):
        for make_entry in (lambda p: make(p), os.mkdir, os.mkfifo,
                           lambda p: os.symlink("t", p)):
            assert errno_of(make_entry, os.path.join(mnt, "J" * 70)) == "ENAMETOOLONG"
        assert os.listdir(mnt) == [] and os.listdir(upper) == []
        make(os.path.join(mnt, "J" * 60))
        assert os.listdir(upper) == ["J" * 60]
        assert_df_is_print_size(mnt)
