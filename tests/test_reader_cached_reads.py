"""Reads that never wait for the disk (``read_cached``, RWF_NOWAIT).

The mount copies a random read at once when the page cache holds its bytes
and hands it to a thread otherwise; these tests pin both sides against
util-linux's fincore (what is cached) and against the files xorriso was
given (what the bytes are).
"""

import array
import dataclasses
import errno
import os

import pytest

from burner_support import make_tree
from corpus import run
from isofuse.reader import open_image
from reader_support import evict_from_page_cache

BIG = 3 << 20


def pattern(size, seed):
    """Every 4-byte word different: a read from a wrong offset shows."""
    words = array.array("I", range(seed, seed + size // 4 + 1)).tobytes()
    return words[:size]


@pytest.fixture
def image(tmp_path):
    files = {"big.bin": pattern(BIG, 1), "small.txt": b"small\n", "empty": b""}
    src = make_tree(tmp_path / "src", files)
    iso = tmp_path / "cached.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(iso), str(src)])
    with open_image(str(iso)) as img:
        yield img, files


def node(img, name):
    return img.lookup(img.root, name.encode())


def test_cached_bytes_are_the_files_bytes(image):
    img, files = image
    big = node(img, "big.bin")
    assert img.read(big, 0, BIG) == files["big.bin"]         # now in the page cache
    for offset, size in ((0, 4096), (12345, 1 << 17), (BIG - 100, 4096), (BIG, 10)):
        got = img.read_cached(big, offset, size)
        assert got is not None, (offset, size)
        assert bytes(got) == files["big.bin"][offset:offset + size]
    assert img.read_cached(node(img, "empty"), 0, 4096) == b""


def test_after_an_eviction_the_answer_is_none_or_the_right_bytes(image):
    """RWF_NOWAIT never waits, but it may start the read-ahead and find the
    pages there a moment later (a fast disk): after an eviction either
    answer is right, wrong bytes never are.  Once read, the bytes are
    cached."""
    img, files = image
    big = node(img, "big.bin")
    want = files["big.bin"][1 << 20:(1 << 20) + (1 << 17)]
    evict_from_page_cache(img.source.path)
    got = img.read_cached(big, 1 << 20, 1 << 17)
    assert got is None or bytes(got) == want
    assert img.read(big, 1 << 20, 1 << 17) == want
    got = img.read_cached(big, 1 << 20, 1 << 17)
    assert got is not None and bytes(got) == want


def test_a_page_that_would_wait_gives_none_and_the_next_read_asks_again(image,
                                                                        monkeypatch):
    img, files = image
    big = node(img, "big.bin")
    real = os.preadv
    answers = []

    def would_block_once(fd, buffers, offset, flags=0):
        answers.append(flags)
        if len(answers) == 1:
            raise BlockingIOError(errno.EAGAIN, "would block")
        return real(fd, buffers, offset, flags)

    img.read(big, 0, 4096)                                      # cached now
    monkeypatch.setattr(os, "preadv", would_block_once)
    assert img.read_cached(big, 0, 4096) is None                # EAGAIN: not cached
    assert bytes(img.read_cached(big, 0, 4096)) == files["big.bin"][:4096]
    assert answers == [os.RWF_NOWAIT, os.RWF_NOWAIT]            # asked again


def test_a_read_across_extents_is_cached_only_whole(image, monkeypatch):
    """A file in two extents (ECMA-119 §6.5.1): big.bin's data seen through
    two records, 1 MiB and 2 MiB, so the bytes are known; a real
    multi-extent file needs 4 GiB (test_master's slow test covers it)."""
    img, files = image
    big = node(img, "big.bin")
    sector = big.extents[0][0]
    split = dataclasses.replace(big, extents=((sector, 1 << 20),
                                              (sector + 512, BIG - (1 << 20))))
    at, size = (1 << 20) - 1000, 1 << 17                       # spans both
    want = files["big.bin"][at:at + size]
    assert img.read(split, at, size) == want                   # both pieces cached
    got = img.read_cached(split, at, size)
    assert got is not None and bytes(got) == want
    real = img.source.pread_cached
    second = (sector + 512) * 2048
    monkeypatch.setattr(img.source, "pread_cached",
                        lambda offset, length: None if offset == second
                        else real(offset, length))
    assert img.read_cached(split, at, size) is None            # one piece missing


def test_a_source_that_refuses_nowait_reads_is_not_asked_again(image, monkeypatch):
    img, files = image
    big = node(img, "big.bin")
    calls = []

    def refusing(fd, buffers, offset, flags=0):
        calls.append(flags)
        raise OSError(errno.EOPNOTSUPP, "not supported")

    monkeypatch.setattr(os, "preadv", refusing)
    assert img.read_cached(big, 0, 4096) is None
    assert img.read_cached(big, 0, 4096) is None
    assert calls == [os.RWF_NOWAIT]                             # asked once
    assert img.read(big, 0, 4096) == files["big.bin"][:4096]   # plain reads go on
