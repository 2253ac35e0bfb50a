"""Copying a scratched disc: unreadable sectors are read again (a scratch
often reads on a later try), and a sector that never reads fails the copy
plainly -- an image with holes is not a copy."""

import errno
import os

import pytest

from burner import errors, sources
from burner.errors import BurnError


@pytest.fixture
def disc(tmp_path):
    path = tmp_path / "disc.iso"
    path.write_bytes(os.urandom(40 * 2048))
    return path


def flaky_pread(bad_sector, failures):
    """os.pread that fails on ``bad_sector`` the first ``failures`` times."""
    real = os.pread
    left = {"n": failures}

    def pread(fd, size, offset):
        first, last = offset // 2048, (offset + size - 1) // 2048
        if first <= bad_sector <= last and left["n"] > 0:
            left["n"] -= 1
            raise OSError(errno.EIO, "Input/output error")
        return real(fd, size, offset)
    return pread


def test_a_sector_that_reads_on_a_later_try_is_copied(disc, monkeypatch):
    monkeypatch.setattr(sources.os, "pread", flaky_pread(bad_sector=7, failures=3))
    source = sources.BlockDeviceSource(str(disc), sleep=lambda s: None)
    assert source.read(0, 16 * 2048) == disc.read_bytes()[:16 * 2048]


def test_a_sector_that_never_reads_fails_the_copy_with_its_number(disc, monkeypatch):
    monkeypatch.setattr(sources.os, "pread", flaky_pread(bad_sector=7, failures=10 ** 6))
    waits = []
    source = sources.BlockDeviceSource(str(disc), sleep=waits.append)
    with pytest.raises(BurnError) as info:
        source.read(0, 16 * 2048)
    assert "sector 7 unreadable after 5 tries" in str(info.value)
    assert info.value.code == errors.SOURCE
    assert len(waits) == sources.BlockDeviceSource.RETRIES - 1   # a pause between tries
