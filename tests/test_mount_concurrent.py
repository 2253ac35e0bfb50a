"""Many readers and walkers at once through a real mount.

The mount stores small files in the kernel's page cache at their first open
and copies large reads in worker threads; under concurrent opens of the same
files (the case where a store could wait for a page a pending READ holds)
every byte must still be what xorriso was given, and nothing may hang.
"""

import os
import random
import threading
import time

import pytest

from burner_support import make_tree
from corpus import run
from mountutil import mounted

READERS = 24
WALKERS = 4
SECONDS = 4.0


def content(index, size):
    seed = f"<file {index}>".encode()
    return (seed * (size // len(seed) + 1))[:size]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("concurrent")
    src = root / "src"
    rnd = random.Random(17)
    files = {}
    for i in range(240):
        # mostly small (stored at open), some above the store limit
        size = rnd.choice([0, rnd.randrange(1, 4096), rnd.randrange(4096, 130_000),
                           rnd.randrange(130_000, 600_000)])
        rel = f"d{i % 12:02d}/f{i:03d}.bin"
        files[rel] = content(i, size)
    files["huge.bin"] = content(999, 6 << 20)
    make_tree(src, files)
    image = root / "concurrent.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(image), str(src)])
    return image, files


@pytest.mark.mount
def test_concurrent_readers_and_walkers_see_the_source(tree, tmp_path):
    image, files = tree
    names = sorted(files)
    mnt = tmp_path / "mnt"
    failures = []
    stop_at = time.monotonic() + SECONDS
    reads = [0] * READERS
    walks = [0] * WALKERS

    def reader(k):
        rnd = random.Random(k)
        while time.monotonic() < stop_at and not failures:
            rel = rnd.choice(names[:8] if k % 3 == 0 else names)  # some files hot
            want = files[rel]
            offset = rnd.randrange(0, max(len(want), 1))
            size = rnd.choice([4096, 128 << 10, 1 << 20])
            fd = os.open(mnt / rel, os.O_RDONLY)
            try:
                got = os.pread(fd, size, offset) if k % 2 else _read_all(fd)
            finally:
                os.close(fd)
            expected = want[offset:offset + size] if k % 2 else want
            if got != expected:
                failures.append(f"{rel} at {offset}: {len(got)} bytes differ")
            reads[k] += 1

    def walker(k):
        while time.monotonic() < stop_at and not failures:
            seen = {}
            for dirpath, _dirs, filenames in os.walk(mnt):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    seen[os.path.relpath(path, mnt)] = os.lstat(path).st_size
            if seen != {rel: len(data) for rel, data in files.items()}:
                failures.append("a walk saw another tree")
            walks[k] += 1

    with mounted(image, mnt):
        threads = [threading.Thread(target=reader, args=(k,)) for k in range(READERS)]
        threads += [threading.Thread(target=walker, args=(k,)) for k in range(WALKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a reader or walker hangs"
    assert not failures, failures[:5]
    assert min(reads) > 0 and min(walks) > 0


def _read_all(fd):
    parts = []
    while True:
        piece = os.read(fd, 256 << 10)
        if not piece:
            return b"".join(parts)
        parts.append(piece)
