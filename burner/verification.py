"""Verification after a burn: every sector written is read back and compared
(SHA-256 per 32 KiB chunk), and a reader must find the new session where it
was written."""

import hashlib

from .errors import VERIFY_FAILED, BurnError
from .recorder import CHUNK_SECTORS
from .drive import SECTOR
from .sense import ScsiError


def verify(drive, status, source, plan, progress):
    """Read every written sector back -- the data, and the descriptor block
    rewritten at 16 when growing -- and compare SHA-256 per 32 KiB chunk;
    then check that a reader finds this session where it was written."""
    total = plan.blocks * SECTOR
    progress.phase("verify", "reading back and comparing")
    lba = plan.start
    for i, digest in enumerate(plan.digests):
        blocks = min(CHUNK_SECTORS, plan.blocks - i * CHUNK_SECTORS)
        back = _read_back(drive, status, lba, blocks)
        if hashlib.sha256(back).digest() != digest:
            raise BurnError(f"{status.device}: verify FAILED: "
                            f"{_first_bad(source, plan, i, lba, blocks, back)} read back "
                            "differently from what was written", VERIFY_FAILED)
        lba += blocks
        progress.update(min((i + 1) * CHUNK_SECTORS * SECTOR, total), total, what="verified")
    for extra_lba, blocks, digest in plan.extra_digests:
        if hashlib.sha256(_read_back(drive, status, extra_lba, blocks)).digest() != digest:
            raise BurnError(f"{status.device}: verify FAILED: the volume descriptors rewritten "
                            f"at sectors {extra_lba}-{extra_lba + blocks - 1} read back "
                            "differently: readers would not find the new session",
                            VERIFY_FAILED)
    _verify_session_start(drive, status, plan)
    progress.update(total, total, force=True, what="verified")


def _read_back(drive, status, lba, blocks):
    try:
        return drive.read(lba, blocks)
    except ScsiError as exc:
        raise BurnError(f"{status.device}: verify: sector {lba} unreadable: {exc.sense}",
                        VERIFY_FAILED) from None


def _first_bad(source, plan, chunk, lba, blocks, back):
    where = f"sectors {lba}-{lba + blocks - 1}"
    if not source.rereadable:
        return where
    offset = chunk * CHUNK_SECTORS * SECTOR
    want = source.read(offset, blocks * SECTOR) if offset < source.size else b""
    want = want + bytes(blocks * SECTOR - len(want))
    for s in range(blocks):
        part = slice(s * SECTOR, (s + 1) * SECTOR)
        if back[part] != want[part]:
            return f"sector {lba + s}"
    return where


def _verify_session_start(drive, status, plan):
    """A reader (the kernel, isofuse mount) opens the last session the TOC
    names: on sequential media that must be the one just written."""
    if status.profile_info.overwritable:
        return
    try:
        last = drive.toc_session().last_session_start
    except ScsiError as exc:
        raise BurnError(f"{status.device}: verify: the table of contents cannot be read: "
                        f"{exc.sense}", VERIFY_FAILED) from None
    if last != plan.start:
        raise BurnError(f"{status.device}: verify FAILED: the disc's last session starts at "
                        f"sector {last}, not at {plan.start} where this one was written: "
                        "readers would not see it", VERIFY_FAILED)
