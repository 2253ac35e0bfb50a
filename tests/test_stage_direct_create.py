"""New files and folders made at their name in the upper folder (no work
name, no rename, no lookup of their own where only the upper folder can
hold the name): the same answers as mkdir(2) and open(O_CREAT|O_EXCL) give
on a plain folder, and a lower folder of the same name still stays hidden
(the work-name path with its opaque marker)."""

import errno
import os
import stat

import pytest

from isofuse.stage.layers import FolderLayer
from isofuse.stage.overlay import Overlay
from isofuse.stage.whiteouts import OPAQUE


@pytest.fixture
def overlay(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "shared").mkdir(parents=True)
    (lower / "shared" / "old.txt").write_bytes(b"lower")
    upper.mkdir()
    (upper / "only-upper").mkdir()
    ov = Overlay(str(upper), [FolderLayer(str(lower), "lower0")])
    yield ov, upper
    ov.close()


def plain_errno(call, *args):
    try:
        call(*args)
    except OSError as exc:
        return exc.errno
    return None


def test_mkdir_and_create_at_their_name_match_a_plain_folder(overlay, tmp_path):
    ov, upper = overlay
    plain = tmp_path / "plain"
    plain.mkdir()
    old_umask = os.umask(0o022)
    try:
        assert ov.mkdir(b"only-upper", b"d", 0o750) == b"only-upper/d"
        os.mkdir(plain / "d", 0o750)
        rel, fd = ov.create(b"only-upper", b"f", os.O_WRONLY, 0o640)
        os.close(fd)
        os.close(os.open(plain / "f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
        for name in ("d", "f"):
            assert stat.S_IMODE(os.lstat(upper / "only-upper" / name).st_mode) == \
                stat.S_IMODE(os.lstat(plain / name).st_mode)
        # a second time: EEXIST, as mkdir(2) and O_EXCL say on a plain folder
        for name in (b"d", b"f"):
            with pytest.raises(OSError) as raised:
                ov.mkdir(b"only-upper", name, 0o755)
            assert raised.value.errno == plain_errno(os.mkdir, plain / os.fsdecode(name))
            with pytest.raises(OSError) as raised:
                ov.create(b"only-upper", name, os.O_WRONLY, 0o644)
            assert raised.value.errno == plain_errno(
                os.open, plain / os.fsdecode(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    finally:
        os.umask(old_umask)
    assert sorted(os.listdir(upper / "only-upper")) == ["d", "f"]     # no work files left


def test_a_lower_folder_of_the_same_name_stays_hidden(overlay):
    ov, upper = overlay
    ov.unlink(b"shared/old.txt")
    ov.rmdir(b"shared")
    assert ov.mkdir(b"", b"shared", 0o755) == b"shared"
    assert os.path.exists(upper / "shared" / os.fsdecode(OPAQUE))
    assert ov.listdir(ov.resolve(b"shared")) == []
    with pytest.raises(OSError) as raised:
        ov.mkdir(b"", b"shared", 0o755)
    assert raised.value.errno == errno.EEXIST
