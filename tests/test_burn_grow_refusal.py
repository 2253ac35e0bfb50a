"""Growing a DVD+RW is refused, through the command line, where the grown
copy of the descriptors at 16 would cover a file the grown volume still
names (burner/descriptorblock.check_replaced_sectors, the real check: no
stub).  The refusal is one line on stderr, a non-zero exit, no traceback,
and the disc reads back byte for byte as before, through the simulated
drive and with xorriso.

The first session: genisoimage -R (ECMA-119 layout: primary at 16, the
terminator at 17, sector 18 left empty, path tables 19-22, the root at 23),
with its one file moved into sector 18 and its directory record pointed
there (ECMA-119 §9.1.3, the both-endian extent location at bytes 2-9) -- a
volume a compact writer could make.  Growing it with Joliet needs three
descriptors (primary, supplementary, terminator: 16-18), and the grown
volume keeps that file where it is.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from burner import simstate
from burner.errors import SOURCE
from burner_support import REPO, make_disc, make_tree

SECTOR = 2048
FILE_AT = 18                    # right behind genisoimage's terminator
NEEDED = ("genisoimage", "xorriso")
pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in NEEDED),
                                reason="needs " + " and ".join(NEEDED))
PAYLOAD = os.urandom(1500)


def _cli(script, *args):
    """The installed console script (setup.cfg), or its main by module."""
    path = shutil.which(script)
    main = {"isofuse-burn": "main", "isofuse-growisofs": "main_growisofs"}[script]
    argv = [path] if path else [sys.executable, "-c",
                                f"import sys; from burner import cli; sys.exit(cli.{main}())"]
    return subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def _record_of(directory, name):
    """Offset in ``directory`` (one sector) of the record named ``name``."""
    pos = 0
    while pos < len(directory) and directory[pos]:
        length, name_length = directory[pos], directory[pos + 32]
        if directory[pos + 33:pos + 33 + name_length] == name:
            return pos
        pos += length
    raise AssertionError(f"{name!r} not in the directory")


def _first_session(tmp_path):
    """genisoimage's image with its file moved to sector 18."""
    tree = make_tree(tmp_path / "one", {"early.bin": PAYLOAD})
    image = tmp_path / "first.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(image), tree], check=True,
                   capture_output=True)
    data = bytearray(image.read_bytes())
    assert data[17 * SECTOR] == 0xFF                    # the terminator at 17
    assert not any(data[FILE_AT * SECTOR:(FILE_AT + 1) * SECTOR])   # 18: empty
    root = int.from_bytes(data[16 * SECTOR + 156 + 2:16 * SECTOR + 156 + 6], "little")
    directory = data[root * SECTOR:(root + 1) * SECTOR]
    rec = root * SECTOR + _record_of(directory, b"EARLY.BIN;1")
    old = int.from_bytes(data[rec + 2:rec + 6], "little")
    data[FILE_AT * SECTOR:FILE_AT * SECTOR + len(PAYLOAD)] = PAYLOAD
    data[old * SECTOR:old * SECTOR + len(PAYLOAD)] = bytes(len(PAYLOAD))
    data[rec + 2:rec + 6] = FILE_AT.to_bytes(4, "little")
    data[rec + 6:rec + 10] = FILE_AT.to_bytes(4, "big")
    image.write_bytes(bytes(data))
    return image


def _xorriso_file(disc, tmp_path):
    """The file as xorriso extracts it from the disc's volume."""
    out = tmp_path / "extracted.bin"
    subprocess.run(["xorriso", "-indev", str(disc), "-osirrox", "on",
                    "-extract", "/early.bin", str(out)], check=True, capture_output=True)
    data = out.read_bytes()
    out.unlink()
    return data


def _read_back(disc, tmp_path):
    """The disc's recorded sectors copied through the simulated drive
    (READ commands, isofuse-burn --image-out): their sha256."""
    copy = tmp_path / "readback.iso"
    done = _cli("isofuse-burn", "--image-out", copy, f"sim:{disc}")
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    copy.unlink()
    return digest


@pytest.fixture
def grown_disc(tmp_path):
    """A DVD+RW holding the first session, xorriso reading its file."""
    disc = make_disc(tmp_path, "dvd+rw")
    done = _cli("isofuse-burn", "--device", f"sim:{disc}", _first_session(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _xorriso_file(disc, tmp_path) == PAYLOAD
    return disc


@pytest.mark.parametrize("front_end", [
    ("isofuse-burn", "--device", "{disc}", "--multi", "--add", "{tree}"),
    ("isofuse-growisofs", "-M", "{disc}", "-R", "-J", "{tree}"),
    ("isofuse-growisofs", "-dry-run", "-M", "{disc}", "-R", "-J", "{tree}"),
], ids=["isofuse-burn", "growisofs", "growisofs-dry-run"])
def test_growing_over_a_named_file_is_refused_and_writes_nothing(tmp_path, grown_disc,
                                                                 front_end):
    second = make_tree(tmp_path / "two", {"second.txt": b"the second session\n"})
    before_state = simstate.load(grown_disc)
    before = _read_back(grown_disc, tmp_path)
    with open(grown_disc, "rb") as f:
        before_bytes = f.read()
    script, *args = front_end
    args = [a.format(disc=f"sim:{grown_disc}", tree=second) for a in args]
    done = _cli(script, *args)
    assert done.returncode == SOURCE, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    message = lines[0]
    assert "sectors 16-18" in message and "the disc's own set ends at 17" in message
    assert "file /" in message and "early.bin" in message.lower()
    assert f"lies at sector {FILE_AT}-{FILE_AT}" in message
    assert "nothing was written" in message
    # the disc as it was: its bytes, its state, what the drive reads back,
    # and xorriso still finds the first session's file
    with open(grown_disc, "rb") as f:
        assert f.read() == before_bytes
    assert simstate.load(grown_disc) == before_state
    assert _read_back(grown_disc, tmp_path) == before
    assert _xorriso_file(grown_disc, tmp_path) == PAYLOAD


def test_the_same_grow_without_joliet_is_not_refused(tmp_path, grown_disc):
    """The control: growisofs -M without -J keeps the disc's own two
    descriptors (16-17), covers nothing the tree names, and grows; both
    sessions' files read back with xorriso."""
    second = make_tree(tmp_path / "two", {"second.txt": b"the second session\n"})
    done = _cli("isofuse-growisofs", "-M", f"sim:{grown_disc}", "-R", second)
    assert done.returncode == 0, done.stderr
    assert _xorriso_file(grown_disc, tmp_path) == PAYLOAD
    out = tmp_path / "second.txt"
    subprocess.run(["xorriso", "-indev", grown_disc, "-osirrox", "on",
                    "-extract", "/second.txt", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == b"the second session\n"
