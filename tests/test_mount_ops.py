"""The read-only mount's operations, called without a kernel (s3ql's t3 tier).

Images come from xorriso; what the operations answer is compared with the
files xorriso was given.  ``pyfuse3.notify_store`` is replaced by a recorder
(there is no FUSE session here): what the mount would hand the kernel's page
cache is checked byte for byte.
"""

import errno
import logging
import os

import pyfuse3
import pytest
import trio

from burner_support import make_tree
from corpus import run
from isofuse.fuseops.readonly import STORE_AT_OPEN_BYTES, ReadOnlyImageOperations
from isofuse.reader import open_image
from isofuse.reader.tree import ROOT_INO

SIZES = {"empty.txt": 0, "small.txt": 1000, "limit.bin": STORE_AT_OPEN_BYTES,
         "over.bin": STORE_AT_OPEN_BYTES + 1, "big.bin": 3 << 20}


def content(name, size):
    seed = name.encode() * 8
    return (seed * (size // len(seed) + 1))[:size]


@pytest.fixture
def image(tmp_path):
    src = make_tree(tmp_path / "src", {**{name: content(name, size)
                                          for name, size in SIZES.items()},
                                       "sub/inner.txt": b"inner\n"})
    iso = tmp_path / "ops.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(iso), str(src)])
    with open_image(str(iso)) as img:
        yield img


@pytest.fixture
def stores(monkeypatch):
    """Every notify_store call the operations make: (inode, offset, bytes)."""
    calls = []
    monkeypatch.setattr(pyfuse3, "notify_store",
                        lambda ino, off, data: calls.append((ino, off, bytes(data))))
    return calls


def call(coroutine_function, *args):
    return trio.run(coroutine_function, *args)


def looked_up(ops, name):
    return call(ops.lookup, ROOT_INO, name.encode(), None).st_ino


def test_small_files_are_stored_whole_at_their_first_open(image, stores):
    ops = ReadOnlyImageOperations(image)
    for name, size in SIZES.items():
        ino = looked_up(ops, name)
        info = call(ops.open, ino, os.O_RDONLY, None)
        assert info.keep_cache
        if 0 < size <= STORE_AT_OPEN_BYTES:
            assert stores[-1] == (ino, 0, content(name, size)), name
        else:
            assert all(stored[0] != ino for stored in stores), name
    assert len(stores) == 2                     # small.txt and limit.bin


def test_a_file_is_stored_again_only_after_the_kernel_forgot_it(image, stores):
    ops = ReadOnlyImageOperations(image)
    ino = looked_up(ops, "small.txt")
    call(ops.open, ino, os.O_RDONLY, None)
    call(ops.open, ino, os.O_RDONLY, None)
    assert len(stores) == 1       # pages the kernel holds are never stored again
    looked_up(ops, "small.txt")                 # a second kernel reference
    call(ops.forget, [(ino, 1)])
    call(ops.open, ino, os.O_RDONLY, None)
    assert len(stores) == 1                     # still held: no store
    call(ops.forget, [(ino, 1)])                # the kernel's inode is gone
    ino = looked_up(ops, "small.txt")
    call(ops.open, ino, os.O_RDONLY, None)
    assert len(stores) == 2 and stores[-1][2] == content("small.txt", 1000)


def test_without_notify_store_reads_answer_as_before(image, monkeypatch):
    attempts = []

    def unsupported(ino, off, data):
        attempts.append(ino)
        raise OSError(errno.ENOSYS, "no NOTIFY_STORE")

    monkeypatch.setattr(pyfuse3, "notify_store", unsupported)
    ops = ReadOnlyImageOperations(image)
    for name in ("small.txt", "limit.bin"):
        ino = looked_up(ops, name)
        call(ops.open, ino, os.O_RDONLY, None)
        assert call(ops.read, ino, 0, 1 << 20) == content(name, SIZES[name])
    assert len(attempts) == 1                   # ENOSYS once: not tried again


def test_large_reads_copied_in_a_thread_return_the_file(image, stores):
    ops = ReadOnlyImageOperations(image)
    ino = looked_up(ops, "big.bin")
    call(ops.open, ino, os.O_RDONLY, None)
    want = content("big.bin", SIZES["big.bin"])

    async def read_concurrently():
        pieces = {}

        async def one(offset):
            pieces[offset] = await ops.read(ino, offset, 1 << 20)

        async with trio.open_nursery() as nursery:
            for offset in range(0, len(want), 1 << 20):
                nursery.start_soon(one, offset)
        return b"".join(pieces[k] for k in sorted(pieces))

    assert call(read_concurrently) == want
    assert call(ops.read, ino, len(want) - 5, 1 << 20) == want[-5:]


def test_reader_errors_get_their_errno_at_the_one_boundary(image, monkeypatch, caplog):
    ops = ReadOnlyImageOperations(image)
    node = image.resolve("over.bin")
    # the file's extent placed beyond the end of the image: a damaged entry
    monkeypatch.setattr(node, "extents", ((image.source.sectors + 10, node.size),))
    with caplog.at_level(logging.WARNING, logger="isofuse"):
        with pytest.raises(pyfuse3.FUSEError) as damaged:
            call(ops.read, looked_up(ops, "over.bin"), 0, 4096)
    assert damaged.value.errno == errno.EIO
    assert any("beyond the end" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)

    def denied(*args):
        raise PermissionError(errno.EACCES, "device says no")

    monkeypatch.setattr(image, "lookup", denied)
    with pytest.raises(pyfuse3.FUSEError) as refused:
        call(ops.lookup, ROOT_INO, b"small.txt", None)
    assert refused.value.errno == errno.EACCES

    monkeypatch.setattr(image, "listdir", lambda *args: 1 / 0)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="isofuse"):
        with pytest.raises(pyfuse3.FUSEError) as bug:
            call(ops.opendir, ROOT_INO, None)
    assert bug.value.errno == errno.EIO
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)



def test_first_open_in_a_directory_asks_the_disk_for_its_small_files(image, stores,
                                                                     monkeypatch):
    """The spans handed to posix_fadvise cover every small file's data as
    pycdlib places it, and no byte of the large ones."""
    import pycdlib

    advised = []
    monkeypatch.setattr(image.source, "will_need",
                        lambda offset, size: advised.append((offset, size)))
    ops = ReadOnlyImageOperations(image)
    call(ops.open, looked_up(ops, "small.txt"), os.O_RDONLY, None)
    assert advised
    count = len(advised)
    call(ops.open, looked_up(ops, "limit.bin"), os.O_RDONLY, None)
    assert len(advised) == count                    # once per directory

    iso = pycdlib.PyCdlib()
    iso.open(image.source.path)
    try:
        def data_range(name):
            record = iso.get_record(rr_path="/" + name)
            return record.extent_location() * 2048, record.get_data_length()
        ranges = {name: data_range(name) for name in SIZES if SIZES[name]}
    finally:
        iso.close()

    def covered(start, length):
        return any(a <= start and start + length <= a + n for a, n in advised)

    for name, (start, length) in ranges.items():
        small = length <= STORE_AT_OPEN_BYTES
        assert covered(start, length) == small, name
        if not small:
            assert not any(a < start + length and start < a + n for a, n in advised), name


def test_random_large_reads_of_the_disk_leave_the_loop_others_stay(image, stores,
                                                                monkeypatch):
    handed_over = []
    real = trio.to_thread.run_sync

    async def counting(fn, *args, **kwargs):
        handed_over.append(args[1:])
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(trio.to_thread, "run_sync", counting)
    ops = ReadOnlyImageOperations(image)
    ino = looked_up(ops, "big.bin")
    want = content("big.bin", SIZES["big.bin"])
    for offset in range(0, len(want), 1 << 20):          # a stream, in order
        assert call(ops.read, ino, offset, 1 << 20) == want[offset:offset + (1 << 20)]
    assert handed_over == []
    # bytes the page cache lacks (RWF_NOWAIT would answer EAGAIN): a thread
    cached = image.read_cached
    monkeypatch.setattr(image, "read_cached", lambda node, offset, size: None)
    assert call(ops.read, ino, 12345, 1 << 17) == want[12345:12345 + (1 << 17)]
    assert call(ops.read, ino, 5, 4096) == want[5:4101]   # small: in the loop
    assert handed_over == [(12345, 1 << 17)]
    # the same bytes from the page cache (the stream above read them all)
    monkeypatch.setattr(image, "read_cached", cached)
    assert call(ops.read, ino, 12345, 1 << 17) == want[12345:12345 + (1 << 17)]
    assert handed_over == [(12345, 1 << 17)]


def test_listing_a_directory_asks_the_disk_for_its_subdirectories(image, monkeypatch):
    import pycdlib

    advised = []
    monkeypatch.setattr(image.source, "will_need",
                        lambda offset, size: advised.append((offset, size)))
    ops = ReadOnlyImageOperations(image)
    call(ops.opendir, ROOT_INO, None)
    call(ops.opendir, ROOT_INO, None)
    iso = pycdlib.PyCdlib()
    iso.open(image.source.path)
    try:
        sub = iso.get_record(rr_path="/sub")
        start, length = sub.extent_location() * 2048, sub.get_data_length()
    finally:
        iso.close()
    assert len(advised) == 1                       # once while the kernel holds it
    assert advised[0][0] <= start and start + length <= sum(advised[0])
