"""The stage's operations tier, without a kernel: ``stage.staging.Stage`` (the
overlay and the model of the disc behind one set of calls) and
``StageOperations``' coroutines (run with trio, as s3ql's t3 tests and
pyfuse3's examples do).

Every change is made twice: through the stage, and with plain system calls
on a "twin" folder that holds what the merged tree must be.  The oracles are
things we did not write: the twin's listing (the kernel's own filesystem),
``isofuse master -print-size`` of the twin -- df must equal it, as the
mounted tests hold -- and xorriso's listing of image.iso."""

import errno
import hashlib
import os
import stat
import subprocess
import sys
import types

import pyfuse3
import pytest
import trio

import corpus as corpus_mod
from corpus import run
from mountutil import ISOFUSE
from isofuse.cli.stage import parse_options
from isofuse.fuseops.stage_ops import StageOperations
from isofuse.stage.control import CONTROL_FILES, CONTROL_INO
from isofuse.stage.disc import Disc
from isofuse.stage.layers import FolderLayer
from isofuse.stage.overlay import Overlay
from isofuse.stage.staging import Changes

ROOT = pyfuse3.ROOT_INODE
DEFAULT_PROFILE = ["-r", "-J", "-iso-level", "2"]
REPORT, SIZE, IMAGE = (CONTROL_FILES[name] for name in (b"report", b"size", b"image.iso"))


def print_size(tree, options=DEFAULT_PROFILE):
    out = subprocess.run(ISOFUSE + ["master", "-quiet", *options, "-print-size", str(tree)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return int(out.stdout)


def caller(uid=0, gid=0, umask=0o022):
    """A request context as pyfuse3 passes it."""
    return types.SimpleNamespace(uid=uid, gid=gid, umask=umask, pid=os.getpid())


def folder_listing(root):
    """(path, type, size, sha256 or link target) of everything below root."""
    rows = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                rows.append((rel, "link", 0, os.readlink(path)))
            elif stat.S_ISDIR(st.st_mode):
                rows.append((rel, "dir", 0, ""))
            else:
                with open(path, "rb") as f:
                    rows.append((rel, "file", st.st_size, hashlib.sha256(f.read()).hexdigest()))
    return sorted(rows)


class Twin:
    """A stage over ``lower``, and a plain folder that is what its merged
    tree must be; each change is made on both."""

    def __init__(self, tmp_path, lower, options=()):
        self.upper = tmp_path / "upper"
        self.upper.mkdir()
        self.lower = lower
        self.twin = tmp_path / "twin"
        run(["cp", "-a", str(lower), str(self.twin)])      # hard links stay links
        profile, _ = parse_options(list(options))
        self.overlay = Overlay(str(self.upper), [FolderLayer(str(lower), "lower0")])
        self.ops = StageOperations(self.overlay, Disc(self.overlay, profile))
        self.stage = self.ops.stage

    def close(self):
        self.overlay.close()

    # ---- paths -> inode numbers, as the kernel walks them
    def ino(self, path):
        ino = ROOT
        for name in filter(None, path.split("/")):
            attr = self.stage.lookup(ino, os.fsencode(name))
            if attr is None:
                raise FileNotFoundError(path)
            ino = attr.st_ino
        return ino

    def parent(self, path):
        head, _, name = path.rpartition("/")
        return self.ino(head), os.fsencode(name)

    # ---- changes, through the stage and on the twin
    def write(self, path, data, offset=0):
        try:
            fh = self.stage.open(self.ino(path), os.O_WRONLY).fh
        except FileNotFoundError:
            fh = self.stage.create(*self.parent(path), stat.S_IFREG | 0o644, os.O_WRONLY,
                                   caller())[0].fh
        try:
            assert self.stage.write(fh, offset, data) == len(data)
        finally:
            self.stage.release(fh)
        with open(self.twin / path, "r+b" if (self.twin / path).exists() else "wb") as f:
            f.seek(offset)
            f.write(data)

    def mkdir(self, path):
        self.stage.mkdir(*self.parent(path), stat.S_IFDIR | 0o755, caller())
        (self.twin / path).mkdir()

    def unlink(self, path):
        self.stage.unlink(*self.parent(path))
        os.unlink(self.twin / path)

    def rmdir(self, path):
        self.stage.rmdir(*self.parent(path))
        os.rmdir(self.twin / path)

    def rename(self, src, dst):
        self.stage.rename(*self.parent(src), *self.parent(dst))
        os.rename(self.twin / src, self.twin / dst)

    def symlink(self, path, target):
        self.stage.symlink(*self.parent(path), os.fsencode(target), caller())
        os.symlink(target, self.twin / path)

    def link(self, src, dst):
        self.stage.link(self.ino(src), *self.parent(dst))
        os.link(self.twin / src, self.twin / dst)

    def truncate(self, path, size):
        self.stage.setattr(self.ino(path), Changes(size=size))
        os.truncate(self.twin / path, size)

    # ---- what the stage shows
    def listing(self, ino=ROOT, prefix=""):
        rows = []
        fh = self.stage.opendir(ino)
        try:
            entries = list(self.stage.readdir(fh, 0))
        finally:
            self.stage.releasedir(fh)
        for name, attr, _ in entries:
            rel = os.path.join(prefix, os.fsdecode(name))
            if stat.S_ISDIR(attr.st_mode):
                rows.append((rel, "dir", 0, ""))
                rows += self.listing(attr.st_ino, rel)
            elif stat.S_ISLNK(attr.st_mode):
                rows.append((rel, "link", 0, os.fsdecode(self.stage.readlink(attr.st_ino))))
            else:
                rows.append((rel, "file", attr.st_size,
                             hashlib.sha256(self.read(attr.st_ino)).hexdigest()))
        return sorted(rows)

    def read(self, ino, size=None):
        fh = self.stage.open(ino, os.O_RDONLY).fh
        try:
            size = size if size is not None else self.stage.getattr(ino).st_size
            return self.stage.read(fh, 0, size)
        finally:
            self.stage.release(fh)

    def used_sectors(self):
        space = self.stage.statfs()
        assert space.block_size == 2048
        return space.blocks - space.free

    def check(self, options=DEFAULT_PROFILE):
        """The merged tree is the twin, and df is its -print-size."""
        assert self.listing() == folder_listing(self.twin)
        assert self.used_sectors() == print_size(self.twin, options)


@pytest.fixture
def lower(tmp_path):
    return corpus_mod.make_plain_tree(str(tmp_path / "lower"))


@pytest.fixture
def twin(tmp_path, lower):
    t = Twin(tmp_path, lower)
    yield t
    t.close()


def upper_names(upper, sub=""):
    return sorted(os.listdir(upper / sub))


def test_every_change_keeps_the_tree_and_df_exact(twin):
    twin.check()
    twin.write("new.txt", b"staged\n" * 300)                     # create + write
    twin.check()
    twin.write("data/file2", b"appended" * 1000, offset=4096)    # copy-up of a lower file
    assert (twin.upper / "data" / "file2").exists()
    assert os.path.getsize(os.path.join(twin.lower, "data", "file2")) == 4096
    twin.check()
    twin.mkdir("made")
    twin.write("made/inner.bin", os.urandom(70_000))
    twin.check()
    twin.rename("data", "moved")                                 # a merged lower directory
    twin.rename("new.txt", "made/renamed.txt")
    twin.check()
    twin.symlink("link", "moved/file2")
    twin.link("moved/file1.bin", "hard")
    assert twin.stage.getattr(twin.ino("hard")).st_nlink == 2
    twin.check()
    twin.truncate("moved/file1.bin", 100)
    twin.check()
    twin.unlink("made/inner.bin")
    twin.rmdir("emptydir")
    twin.check()


def set_size(size):
    attr = pyfuse3.EntryAttributes()
    attr.st_size = size
    return attr


def size_only():
    """pyfuse3.SetattrFields of an ftruncate."""
    return types.SimpleNamespace(update_size=True, update_mode=False, update_uid=False,
                                 update_gid=False, update_atime=False, update_mtime=False)


def test_ops_coroutines_answer_as_the_stage(twin):
    """StageOperations only translates: a request through its coroutine
    gives pyfuse3 the stage's own answer, errors as FUSEError errnos."""
    ops = twin.ops

    async def session():
        info, attr = await ops.create(ROOT, b"a.txt", stat.S_IFREG | 0o666, os.O_WRONLY,
                                      caller(umask=0o022))
        assert stat.S_IMODE(attr.st_mode) == 0o644 and attr.entry_timeout > 0
        assert await ops.write(info.fh, 0, b"12345") == 5
        assert await ops.write(info.fh, 5, b"6" * 9000) == 9000
        with open(twin.twin / "a.txt", "wb") as f:
            f.write(b"12345" + b"6" * 9000)
        assert twin.used_sectors() == print_size(twin.twin)   # before the close, too
        await ops.setattr(attr.st_ino, set_size(5), size_only(), info.fh, caller())
        await ops.release(info.fh)
        looked = await ops.lookup(ROOT, b"a.txt", caller())
        mine = twin.stage.lookup(ROOT, b"a.txt")
        assert (looked.st_ino, looked.st_size, looked.st_mtime_ns) == \
            (mine.st_ino, mine.st_size, mine.st_mtime_ns) == \
            (mine.st_ino, 5, os.lstat(twin.upper / "a.txt").st_mtime_ns)
        assert (await ops.lookup(ROOT, b"nothing", caller())).st_ino == 0   # cacheable "no"
        with pytest.raises(pyfuse3.FUSEError) as info:
            await ops.mkdir(ROOT, b"a.txt", stat.S_IFDIR | 0o755, caller())
        assert info.value.errno == errno.EEXIST
        with pytest.raises(pyfuse3.FUSEError) as info:
            await ops.rename(ROOT, b"a.txt", ROOT, b"readme.txt", pyfuse3.RENAME_NOREPLACE,
                             caller())
        assert info.value.errno == errno.EEXIST
        stats = await ops.statfs(caller())
        space = twin.stage.statfs()
        assert (stats.f_blocks, stats.f_bfree, stats.f_files, stats.f_frsize) == \
            (space.blocks, space.free, space.files, 2048)

    trio.run(session)
    with open(twin.twin / "a.txt", "wb") as f:
        f.write(b"12345")
    twin.check()


def test_whiteouts_and_opaque_folders_in_the_upper(twin):
    twin.unlink("readme.txt")
    twin.rmdir("emptydir")
    assert twin.stage.lookup(ROOT, b"readme.txt") is None
    assert upper_names(twin.upper) == [".wh.emptydir", ".wh.readme.txt"]
    assert os.path.exists(os.path.join(twin.lower, "readme.txt"))   # the lower is untouched
    twin.check()
    twin.rename("data", "moved")
    twin.mkdir("data")                                  # where a lower folder was
    assert twin.listing(twin.ino("data")) == []
    assert ".wh..wh..opq" in upper_names(twin.upper, "data")
    twin.check()
    twin.write("readme.txt", b"back again\n")           # a new file drops the whiteout
    assert ".wh.readme.txt" not in upper_names(twin.upper)
    twin.check()
    with pytest.raises(OSError) as info:                # reserved names
        twin.stage.create(ROOT, b".wh.sneaky", stat.S_IFREG | 0o644, os.O_WRONLY, caller())
    assert info.value.errno == errno.EINVAL


@pytest.mark.allow_log(r"^refused /")
def test_strict_mode_refuses_names_the_disc_cannot_hold(tmp_path, lower):
    t = Twin(tmp_path, lower, ["strict,medium=400"])
    try:
        before = upper_names(t.upper)
        with pytest.raises(OSError) as info:
            t.stage.create(ROOT, b"J" * 70, stat.S_IFREG | 0o644, os.O_WRONLY, caller())
        assert info.value.errno == errno.ENAMETOOLONG       # Joliet's 64 characters
        assert upper_names(t.upper) == before               # nothing left behind
        path = ""
        for i in range(7):                                  # 7 levels of 40-character names
            path = os.path.join(path, str(i) * 40)
            t.mkdir(path)
        with pytest.raises(OSError) as info:                # an ISO path of 258 characters
            t.stage.create(t.ino(path), b"8" * 40 + b".txt", stat.S_IFREG | 0o644,
                           os.O_WRONLY, caller())
        assert info.value.errno == errno.ENAMETOOLONG
        with pytest.raises(OSError) as info:                # renaming into it: the same rule
            t.stage.rename(ROOT, b"readme.txt", t.ino(path), b"8" * 40 + b".txt")
        assert info.value.errno == errno.ENAMETOOLONG
        deep = ""
        for i in range(12):                                 # Rock Ridge relocates deep folders
            deep = os.path.join(deep, f"d{i}")
            t.mkdir(deep)
        t.check()
    finally:
        t.close()


@pytest.mark.allow_log(r"^refused /")
def test_strict_mode_without_rock_ridge_refuses_a_ninth_level(tmp_path, lower):
    t = Twin(tmp_path, lower, ["strict,norock,nojoliet"])
    try:
        path = ""
        for i in range(7):
            path = os.path.join(path, f"l{i}")
            t.mkdir(path)                                   # 8 levels with the root
        with pytest.raises(OSError) as info:
            t.stage.mkdir(t.ino(path), b"l7", stat.S_IFDIR | 0o755, caller())
        assert info.value.errno == errno.ENAMETOOLONG
        t.check(["-iso-level", "2"])
    finally:
        t.close()


@pytest.mark.allow_log(r"would be full")
def test_strict_mode_refuses_what_the_medium_cannot_hold(tmp_path, lower):
    t = Twin(tmp_path, lower, ["strict,medium=400"])
    try:
        fh = t.stage.create(ROOT, b"big.bin", stat.S_IFREG | 0o644, os.O_WRONLY,
                            caller())[0].fh
        chunk = b"x" * (128 << 10)
        offset = 0
        with pytest.raises(OSError) as info:
            while offset < 2 << 20:
                offset += t.stage.write(fh, offset, chunk)
        assert info.value.errno == errno.ENOSPC
        t.stage.release(fh)
        assert offset < 2 << 20 and t.used_sectors() <= 400
        with open(t.twin / "big.bin", "wb") as f:
            f.write(chunk * (offset // len(chunk)))
        t.check()
        with pytest.raises(OSError) as info:                # truncate up: the same rule
            t.stage.setattr(t.ino("readme.txt"), Changes(size=2 << 20))
        assert info.value.errno == errno.ENOSPC
        t.write("fits.txt", b"small files still fit")
        t.check()
    finally:
        t.close()


def test_control_files_show_the_disc(tmp_path, lower):
    t = Twin(tmp_path, lower, ["medium=1000"])
    try:
        long_name = "J" * 70 + ".txt"
        t.write(long_name, b"too long for Joliet")       # report mode: allowed
        report = t.read(REPORT).decode()
        assert f"PROBLEM\t/{long_name}\tname longer than Joliet's 64 characters" in report
        assert "NAME\t/readme.txt\tREADME.TXT;1\treadme.txt" in report
        size = dict(line.split(" ", 1) for line in t.read(SIZE).decode().splitlines())
        assert int(size["sectors"]) == print_size(t.twin)
        assert size["medium"] == "1000 sectors 1000 sectors"
        t.write("big.bin", os.urandom(3 << 20))           # beyond the medium: reported
        assert "CAPACITY" in t.read(REPORT).decode()
        with pytest.raises(OSError) as info:
            t.stage.open(REPORT, os.O_WRONLY)
        assert info.value.errno == errno.EACCES
        with pytest.raises(OSError) as info:
            t.stage.unlink(CONTROL_INO, b"report")
        assert info.value.errno == errno.EPERM
        names = [entry[0] for entry in t.stage.readdir(t.stage.opendir(ROOT), 0)]
        assert b".isofuse" not in names                      # not part of the disc
        assert t.stage.lookup(ROOT, b".isofuse").st_ino == CONTROL_INO
        with pytest.raises(OSError) as info:                 # msinfo: only over a disc
            t.stage.lookup(CONTROL_INO, b"msinfo")
        assert info.value.errno == errno.ENOENT
    finally:
        t.close()


def test_a_create_that_fails_leaves_no_file_behind(twin, monkeypatch):
    """The file exists in upper before the model hears of it; when that
    step fails the caller gets the error, and neither upper nor the disc
    keeps the file (the twin, which never got it, is the oracle)."""
    def broken(rel, st=None):
        raise OSError(errno.EIO, "the model failed")
    monkeypatch.setattr(twin.stage.disc, "added", broken)
    with pytest.raises(OSError) as info:
        twin.stage.create(ROOT, b"half.txt", stat.S_IFREG | 0o644, os.O_WRONLY, caller())
    assert info.value.errno == errno.EIO
    monkeypatch.undo()
    assert not (twin.upper / "half.txt").exists()
    twin.check()

def test_image_iso_is_the_disc_and_holds_changes_back(twin, tmp_path):
    twin.write("new.txt", b"staged\n")
    size = twin.stage.getattr(IMAGE).st_size
    assert size == print_size(twin.twin) * 2048
    fh = twin.stage.open(IMAGE, os.O_RDONLY).fh
    try:
        with pytest.raises(OSError) as info:
            twin.stage.create(ROOT, b"another.txt", stat.S_IFREG | 0o644, os.O_WRONLY,
                              caller())
        assert info.value.errno == errno.EBUSY
        data = b"".join(twin.stage.read(fh, offset, 1 << 20)
                        for offset in range(0, size, 1 << 20))
    finally:
        twin.stage.release(fh)
    assert len(data) == size
    image = tmp_path / "copy.iso"
    image.write_bytes(data)
    files = run(["xorriso", "-indev", str(image), "-find", "/", "-type", "f"],
                ).stdout.decode().split()
    assert sorted(name.strip("'").lstrip("/") for name in files) == \
        sorted(row[0] for row in folder_listing(twin.twin) if row[1] == "file")
    twin.write("another.txt", b"now it works\n")           # closed: changes allowed
    twin.check()


def make_wide_tree(root, folders=300, deep=0):
    """``folders`` folders of three files each (the model is measured in
    batches of folders while it is built), a hard link, and a chain of
    ``deep`` nested folders (Rock Ridge relocates those below level 8)."""
    for i in range(folders):
        folder = os.path.join(root, f"f{i // 30:02d}", f"sub{i:03d}")
        os.makedirs(folder)
        for j in range(3):
            with open(os.path.join(folder, f"file{j}.txt"), "wb") as f:
                f.write(b"%d.%d\n" % (i, j) * (i % 7 * 300 + j))
    first = os.path.join(root, "f00", "sub000")
    os.link(os.path.join(first, "file2.txt"), os.path.join(first, "hard.txt"))
    path = root
    for level in range(deep):
        path = os.path.join(path, f"deep{level}")
        os.makedirs(path)
        with open(os.path.join(path, "here.txt"), "wb") as f:
            f.write(b"level %d\n" % level)
    return root


def image_bytes(stage):
    """The whole of the control file image.iso, read through the stage."""
    size = stage.getattr(IMAGE).st_size
    fh = stage.open(IMAGE, os.O_RDONLY).fh
    try:
        return b"".join(stage.read(fh, offset, 1 << 20) for offset in range(0, size, 1 << 20))
    finally:
        stage.release(fh)


def extracted(image, out):
    """What xorriso reads from an image, as a folder listing."""
    run(["xorriso", "-osirrox", "on", "-indev", str(image), "-extract", "/", str(out)])
    return folder_listing(out)


@pytest.mark.parametrize("deep", [0, 11])
def test_a_wide_lower_tree_is_measured_and_mastered_exactly(tmp_path, deep):
    lower = make_wide_tree(str(tmp_path / "lower"), deep=deep)
    t = Twin(tmp_path, lower)
    try:
        t.ops.init()                    # the model is built in the background
        t.check()
        t.write("f03/sub100/new.txt", b"one more\n")
        t.unlink("f05/sub151/file1.txt")
        t.check()
        (tmp_path / "image.iso").write_bytes(image_bytes(t.stage))
        assert extracted(tmp_path / "image.iso", tmp_path / "out") == folder_listing(t.twin)
    finally:
        t.close()


def test_the_adapter_copies_every_field_of_an_answer():
    from isofuse.fuseops.stage_ops import reply
    from isofuse.stage.attributes import STAT_FIELDS, Attributes
    values = {name: 1000 + i for i, name in enumerate(STAT_FIELDS)}
    values["st_mode"] = stat.S_IFREG | 0o640
    got = reply(Attributes(**values, timeout=7.5))
    assert {name: getattr(got, name) for name in STAT_FIELDS} == values
    assert got.entry_timeout == got.attr_timeout == 7.5
    assert reply(None).st_ino == 0 and reply(None).entry_timeout > 0


def test_the_capability_xattr_of_new_files_is_answered_and_kept(twin):
    """The kernel asks for security.capability before every write: for a
    file the stage made it answers without asking upper, until setcap
    (a setxattr through the stage) gives the file one."""
    opened, attr = twin.stage.create(ROOT, b"tool", stat.S_IFREG | 0o755, os.O_WRONLY,
                                     caller())
    twin.stage.release(opened.fh)
    with pytest.raises(OSError) as info:
        twin.stage.getxattr(attr.st_ino, b"security.capability")
    assert info.value.errno == errno.ENODATA
    # a v2 capability set: cap_net_bind_service, permitted and effective
    value = bytes.fromhex("01000002" "00040000" "00000000" "00000000" "00000000")
    twin.stage.setxattr(attr.st_ino, b"security.capability", value)
    assert twin.stage.getxattr(attr.st_ino, b"security.capability") == value
    assert os.getxattr(twin.upper / "tool", "security.capability") == value
    twin.stage.rename(ROOT, b"tool", ROOT, b"renamed")
    assert twin.stage.getxattr(twin.ino("renamed"), b"security.capability") == value


def test_the_stage_starts_without_the_mastering_engine(tmp_path):
    """What a mount loads before it answers: not the layout, the size model
    or the image stream (the model's thread imports them while the mount
    already answers)."""
    code = ("import sys, isofuse.cli.stage, isofuse.fuseops.stage_ops, isofuse.stage.disc; "
            "print(' '.join(m for m in ('isofuse.master.layout', 'isofuse.master.sizing', "
            "'isofuse.master.stream', 'isofuse.master.sourcetree') if m in sys.modules))")
    loaded = run([sys.executable, "-c", code]).stdout.decode().split()
    assert loaded == []
    lower = corpus_mod.make_plain_tree(str(tmp_path / "lower"))
    t = Twin(tmp_path, lower)
    try:
        t.ops.init()
        t.check()                       # and the engine is there when needed
    finally:
        t.close()
