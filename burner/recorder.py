"""Drive logic per medium profile: check, then write, then close.

Sequences (what the established burners send; reference.md):

* CD-R/RW (wodim/libburn TAO): MODE SELECT page 05h (BUFE, test write,
  TAO, multisession bits, track mode 4, mode 1 blocks), WRITE(10) at the
  NWA in 32 KiB chunks (track padded to 300 sectors), SYNCHRONIZE CACHE,
  CLOSE TRACK, CLOSE SESSION (page 05h's multisession bits decide whether
  the disc stays appendable).
* DVD-R/-RW sequential (growisofs): page 05h write type 0 (incremental:
  multisession) or 2 (DAO + RESERVE TRACK: single session), LS_V, link size
  16, FP, packet 16, track mode 5; then as CD.
* DVD+R, BD-R: no page 05h; WRITE at the NWA, SYNCHRONIZE CACHE, CLOSE
  TRACK, then CLOSE SESSION (stays appendable) or FINALIZE.
* DVD+RW, BD-RE: FORMAT UNIT when READ FORMAT CAPACITIES says unformatted,
  WRITE anywhere, SYNCHRONIZE CACHE.  Multisession grows the ISO: the new
  session goes behind the old one and its descriptors are copied to 16-31.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Optional

from . import mmc, pages
from .drive import SECTOR
from .errors import (CANNOT_WRITE, DISC_CLOSED, NO_DUMMY, NO_MEDIUM, NO_SESSION, NOT_MMC,
                     TOO_BIG, VERIFY_FAILED, WRITE_FAILED, BurnError)
from .profiles import is_cd
from .sense import ScsiError

CHUNK_SECTORS = 16           # 32 KiB per WRITE(10): what wodim and growisofs send
MIN_CD_TRACK = 300           # Red Book: a data track is at least 4 seconds
OVERWRITE_ALIGN = 16         # grown sessions start on 32 KiB (ECC block) boundaries
BUFFER_POLL_EVERY = 32       # chunks between READ BUFFER CAPACITY polls
DVD_LINK_SIZE = 16
DVD_PACKET = 16


@dataclass
class Options:
    dummy: bool = False
    multi: bool = False
    speed_x: Optional[float] = None      # None/0 = maximum
    overburn: bool = False
    verify: bool = False


@dataclass
class Plan:
    """Decided before the first write."""
    start: int                      # first LBA written
    blocks: int                     # sectors written (padding included)
    track: int = 0                  # number of the track to close
    family: str = ""
    descriptors: Optional[bytes] = None   # overwritable multisession: copy to 16
    digests: list = field(default_factory=list)


def check_writable(status, opts, want_append=False):
    """The refusals that depend only on the drive and the disc."""
    if not status.is_mmc:
        raise BurnError(f"{status.device} is not a CD/DVD/BD drive (not an MMC device: "
                        f"{status.vendor} {status.product})", NOT_MMC)
    if not status.can_write:
        raise BurnError(f"{status.device}: drive cannot write ({status.vendor} "
                        f"{status.product} is a read-only drive)", CANNOT_WRITE)
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive (insert one, or use --wait)",
                        NO_MEDIUM)
    p = status.profile_info
    if not p.writable:
        raise BurnError(f"{status.device}: the disc is a {p.name}: it cannot be written",
                        CANNOT_WRITE)
    if not p.overwritable and status.disc and status.disc.status == mmc.DISC_COMPLETE:
        raise BurnError(f"{status.device}: the {p.name} is closed (complete): nothing can "
                        "be added" + (" (blank it first: --blank fast)"
                                      if status.disc.erasable else ""), DISC_CLOSED)
    if opts.dummy:
        if not p.dummy:
            raise BurnError(f"{status.device}: a {p.name} has no test-write mode; --dummy "
                            "is possible on CD-R/RW and DVD-R/RW only", NO_DUMMY)
        if is_cd(status.profile) and not status.test_write:
            raise BurnError(f"{status.device}: this drive cannot do test writes", NO_DUMMY)


def plan_burn(drive, status, size, opts, descriptors=None, start=None):
    """Where the data goes and how many sectors; refuses a source larger
    than the free space unless --overburn."""
    check_writable(status, opts)
    p = status.profile_info
    blocks = (size + SECTOR - 1) // SECTOR
    if p.family == "cd":
        blocks = max(blocks, MIN_CD_TRACK)
    if p.overwritable:
        first = start or 0
        free = status.free_blocks + status.recorded_end - first \
            if status.free_blocks else status.capacity_blocks - first
        track = 1
    else:
        ti = drive.track_info()
        if ti.next_writable is None:
            raise BurnError(f"{status.device}: the drive reports no writable address "
                            "(closed disc?)", DISC_CLOSED)
        first, free, track = ti.next_writable, ti.free_blocks, ti.track
        if start is not None and start != first:
            raise BurnError(f"{status.device}: the session was mastered for sector {start} "
                            f"but the drive writes at {first}", WRITE_FAILED)
    if blocks > free and not opts.overburn:
        raise BurnError(f"{status.device}: the source needs {blocks} sectors "
                        f"({blocks * SECTOR / 1e6:.1f} MB) but the {p.name} has {free} free "
                        f"({free * SECTOR / 1e6:.1f} MB); --overburn to try anyway", TOO_BIG)
    return Plan(first, blocks, track, p.family, descriptors)


def _prepare(drive, status, plan, opts, progress):
    p = status.profile_info
    drive.lock(True)
    kbs = opts.speed_x * p.one_x_kbs if opts.speed_x else None
    drive.set_speed(is_cd(status.profile), kbs, plan.start + plan.blocks)
    if p.family == "cd":
        drive.mode_select_write_parameters(pages.WriteParameters(
            write_type=pages.WT_TAO, test_write=opts.dummy, bufe=True,
            multisession=pages.MULTI_KEEP if opts.multi else pages.MULTI_CLOSE,
            track_mode=pages.TRACK_MODE_DATA_CD, block_type=pages.BLOCK_MODE1,
            session_format=pages.SESSION_XA if opts.multi else pages.SESSION_CDROM))
    elif p.family == "dvd-r":
        dao = not opts.multi
        drive.mode_select_write_parameters(pages.WriteParameters(
            write_type=pages.WT_SAO if dao else pages.WT_INCREMENTAL, test_write=opts.dummy,
            bufe=True, ls_v=True, link_size=DVD_LINK_SIZE,
            multisession=pages.MULTI_KEEP if opts.multi else pages.MULTI_CLOSE,
            fixed_packet=True, packet_size=DVD_PACKET, track_mode=pages.TRACK_MODE_DATA_DVD,
            block_type=pages.BLOCK_MODE1))
        if dao:
            drive.reserve_track(plan.blocks)
    elif p.overwritable and status.formatted is False:
        format_medium(drive, status, progress)


def format_medium(drive, status, progress=None):
    """FORMAT UNIT with the format READ FORMAT CAPACITIES offers (DVD+RW 26h,
    BD-RE 30h with the default spare area)."""
    caps = drive.format_capacities()
    wanted = 0x30 if status.profile == 0x43 else 0x26
    fmt = next((f for f in caps.formats if f[1] == wanted), None) or \
        (caps.formats[0] if caps.formats else (caps.current_blocks, wanted, 0))
    if progress:
        progress.phase("format", f"formatting the {status.profile_info.name}")
    drive.format(fmt[0], fmt[1], (lambda v: progress.fraction("formatting", v))
                 if progress else None)


def _write_failed(status, exc, lba):
    return BurnError(f"{status.device}: writing failed at sector {lba}: {exc.sense}; "
                     "the disc was NOT burned completely", WRITE_FAILED)


def write_plan(drive, status, source, plan, opts, progress):
    """Send the data and close; raises BurnError on any drive error."""
    p = status.profile_info
    total = plan.blocks * SECTOR
    lba = plan.start
    try:
        _prepare(drive, status, plan, opts, progress)
        progress.phase("write", ("test write (dummy): " if opts.dummy else "writing ")
                       + f"{plan.blocks} sectors at {plan.start} on the {p.name}")
        done = 0
        fill = None
        n = 0
        while done < total:
            want = min(CHUNK_SECTORS * SECTOR, total - done)
            data = source.read(done, want) if done < source.size else b""
            if len(data) < want:
                data = data + bytes(want - len(data))      # padding / CD minimum
            drive.write(lba, data)
            if opts.verify:
                plan.digests.append(hashlib.sha256(data).digest())
            lba += want // SECTOR
            done += want
            n += 1
            if n % BUFFER_POLL_EVERY == 0:
                try:
                    fill = drive.buffer_capacity().fill
                except ScsiError:
                    fill = None
            progress.update(done, total, fill)
        if plan.descriptors is not None:          # grown ISO: make the new session visible
            drive.write(16, plan.descriptors + bytes(-len(plan.descriptors) % SECTOR))
        progress.update(done, total, fill, force=True)
        progress.phase("close", "flushing the drive cache and closing")
        drive.synchronize()
        if not p.overwritable:
            drive.close(mmc.CLOSE_TRACK, plan.track)
            if not opts.dummy:
                if p.family in ("cd", "dvd-r"):
                    drive.close(mmc.CLOSE_SESSION)     # page 05h says keep open or not
                else:
                    drive.close(mmc.CLOSE_SESSION if opts.multi else mmc.FINALIZE)
    except ScsiError as exc:
        raise _write_failed(status, exc, lba) from None
    finally:
        try:
            drive.lock(False)
        except Exception:
            pass


def verify(drive, status, source, plan, progress):
    """Read every written sector back; compare SHA-256 per 32 KiB chunk, then
    find the first bad sector (re-reading the source where it can)."""
    total = plan.blocks * SECTOR
    progress.phase("verify", "reading back and comparing")
    lba = plan.start
    for i, digest in enumerate(plan.digests):
        blocks = min(CHUNK_SECTORS, plan.blocks - i * CHUNK_SECTORS)
        try:
            back = drive.read(lba, blocks)
        except ScsiError as exc:
            raise BurnError(f"{status.device}: verify: sector {lba} unreadable: {exc.sense}",
                            VERIFY_FAILED) from None
        if hashlib.sha256(back).digest() != digest:
            where = f"sectors {lba}-{lba + blocks - 1}"
            if source.rereadable:
                offset = i * CHUNK_SECTORS * SECTOR
                want = source.read(offset, blocks * SECTOR) if offset < source.size else b""
                want = want + bytes(blocks * SECTOR - len(want))
                for s in range(blocks):
                    part = slice(s * SECTOR, (s + 1) * SECTOR)
                    if hashlib.sha256(back[part]).digest() != hashlib.sha256(want[part]).digest():
                        where = f"sector {lba + s}"
                        break
            raise BurnError(f"{status.device}: verify FAILED: {where} read back differently "
                            "from what was written", VERIFY_FAILED)
        lba += blocks
        progress.update(min((i + 1) * CHUNK_SECTORS * SECTOR, total), total, what="verified")
    progress.update(total, total, force=True, what="verified")


def msinfo(drive, status):
    """(start of the last session, next writable address) as the drive says
    (READ TOC format 1, READ TRACK INFORMATION); on overwritable media the
    grown ISO's volume size gives the next start."""
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive", NO_MEDIUM)
    p = status.profile_info
    if p.overwritable:
        if not status.recorded_end:
            raise BurnError(f"{status.device}: the {p.name} holds no ISO 9660 session yet",
                            NO_SESSION)
        from isofuse.format import FormatError
        from isofuse.format.descriptors import decode_volume_descriptor
        try:   # the grown ISO's primary descriptor says where it ends
            end = decode_volume_descriptor(drive.read(16, 1)).volume_space_size
        except FormatError:
            raise BurnError(f"{status.device}: no ISO 9660 volume at sector 16",
                            NO_SESSION) from None
        return 0, -(-end // OVERWRITE_ALIGN) * OVERWRITE_ALIGN
    if status.disc is None or status.disc.status == mmc.DISC_BLANK:
        raise BurnError(f"{status.device}: the disc is blank: there is no previous session",
                        NO_SESSION)
    if status.disc.status == mmc.DISC_COMPLETE or status.next_writable is None:
        raise BurnError(f"{status.device}: the disc is closed: no next session possible",
                        DISC_CLOSED)
    if status.last_session_start is None:
        raise BurnError(f"{status.device}: the drive does not report the last session",
                        NO_SESSION)
    return status.last_session_start, status.next_writable
