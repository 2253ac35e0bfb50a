"""1:1 copies of a disc (the HOWTO's 4.7): which sectors hold data, reading
them with retries, and the list of every sector that never read.

A disc is not one run of sectors from 0 to its capacity.  A multisession CD
has lead-out/lead-in gaps between sessions, DVD±R and BD-R have border zones,
and a CD track written in TAO ends in 2 run-out blocks; a drive answers
reading any of them with an error, never with zeros.  So the copy asks the
drive where the recorded tracks are (READ DISC INFORMATION, then READ TRACK
INFORMATION per track, MMC-6 6.22/6.27; READ TOC 6.26 for drives without
it) and reads those only.  An image copy keeps every track at its own offset
(the gaps stay holes in a sparse file), so ``isofuse mount`` of the copy
shows every session.  The facts are in docs/burner-copying.md.
"""

import errno
import os
import time
from dataclasses import dataclass
from typing import List

from .errors import DEVICE_GONE, NO_MEDIUM, SOURCE, BurnError
from .profiles import is_cd
from .profiles import profile as profile_info

from isofuse.format.sectors import SECTOR
CHUNK = 16              # sectors per read (32 KiB: well within one SG_IO transfer)
RETRIES = 5             # tries per unreadable sector (the first included)
FIRST_PAUSE = 0.2       # seconds before the second try; doubles with every try
RUNOUT = 2              # CD TAO: run-out blocks the drive adds after a track's data


class ReadFailed(Exception):
    """The medium did not give these sectors this time (may succeed later)."""


@dataclass(frozen=True)
class Extent:
    """Recorded sectors of one track: ``blocks`` sectors from ``start``."""
    session: int
    track: int
    start: int
    blocks: int

    @property
    def end(self):
        return self.start + self.blocks


@dataclass
class DiscMap:
    extents: List[Extent]
    how: str                        # which command said where the tracks are

    @property
    def sessions(self):
        return sorted({e.session for e in self.extents})

    @property
    def end(self):
        return max((e.end for e in self.extents), default=0)

    @property
    def blocks(self):
        return sum(e.blocks for e in self.extents)

    def describe(self):
        where = ", ".join(f"{e.start}-{e.end - 1}" for e in self.extents)
        return f"{len(self.sessions)} session(s), {len(self.extents)} track(s) at {where}"


# ---- readers: one attempt at reading sectors ---------------------------------------------------
class DriveReader:
    """READ(10) through a Drive (the simulated drive, or SG_IO)."""

    def __init__(self, drive, label):
        self.drive = drive
        self.label = label

    def read(self, lba, blocks):
        from .sense import NOT_READY, ScsiError
        try:
            return self.drive.read(lba, blocks)
        except ScsiError as exc:
            if exc.key == NOT_READY and exc.asc == 0x3A:
                raise BurnError(f"{self.label}: the disc was removed while it was read",
                                NO_MEDIUM) from None
            raise ReadFailed(str(exc.sense)) from None


class FdReader:
    """pread on a block device (the kernel's sr driver) or an image file."""
    GONE = (errno.ENODEV, errno.ENXIO)

    def __init__(self, fd, label):
        self.fd = fd
        self.label = label

    def read(self, lba, blocks):
        try:
            data = os.pread(self.fd, blocks * SECTOR, lba * SECTOR)
        except OSError as exc:
            if exc.errno == errno.ENOMEDIUM:
                raise BurnError(f"{self.label}: the disc was removed while it was read",
                                NO_MEDIUM) from None
            if exc.errno in self.GONE:
                raise BurnError(f"{self.label}: the drive is gone: {exc.strerror}",
                                DEVICE_GONE) from None
            raise ReadFailed(exc.strerror) from None
        if len(data) < blocks * SECTOR:
            raise ReadFailed("the device ended early")
        return data


# ---- reading with retries ---------------------------------------------------------------------
def read_retrying(reader, lba, blocks, tries=RETRIES, sleep=time.sleep):
    """(data, bad): ``blocks`` sectors from ``lba``; a chunk that fails is
    read sector by sector, each sector up to ``tries`` times with a growing
    pause (a scratch often reads on a later try, once the drive has
    re-focused).  ``bad`` lists (sector, reason) of those that never read;
    their place in ``data`` is zeros."""
    try:
        return reader.read(lba, blocks), []
    except ReadFailed:
        pass
    out, bad = bytearray(), []
    for sector in range(lba, lba + blocks):
        data, reason = _read_sector(reader, sector, tries, sleep)
        if data is None:
            bad.append((sector, reason))
            data = bytes(SECTOR)
        out += data
    return bytes(out), bad


def _read_sector(reader, sector, tries, sleep):
    reason = None
    for attempt in range(tries):
        try:
            return reader.read(sector, 1), None
        except ReadFailed as exc:
            reason = str(exc)
        if attempt < tries - 1:
            sleep(FIRST_PAUSE * 2 ** attempt)
    return None, reason


def sector_ranges(sectors):
    """"7, 12-15, 100" for [7, 12, 13, 14, 15, 100]."""
    out, run = [], []
    for s in sorted(sectors):
        if run and s == run[-1] + 1:
            run.append(s)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [s]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(out)


def unreadable_error(label, bad, tries=RETRIES):
    """One line naming every sector that never read (exit 12)."""
    if len(bad) == 1:
        sector, reason = bad[0]
        return BurnError(f"{label}: sector {sector} unreadable after {tries} tries: {reason}",
                         SOURCE)
    return BurnError(f"{label}: {len(bad)} sectors unreadable after {tries} tries each: "
                     f"{sector_ranges(s for s, _ in bad)} (first: {bad[0][1]})", SOURCE)


def read_bytes(source, offset, size):
    """``size`` bytes at ``offset`` of a disc source: recorded sectors are
    read (with retries; any sector that never reads fails the read), sectors
    outside every track are zeros -- they are holes, not data."""
    first, last = offset // SECTOR, (offset + size + SECTOR - 1) // SECTOR
    out = bytearray((last - first) * SECTOR)
    bad = []
    for ext in source.disc_map.extents:
        lo, hi = max(first, ext.start), min(last, ext.end)
        for lba in range(lo, hi, CHUNK):
            n = min(CHUNK, hi - lba)
            data, failed = read_retrying(source.reader, lba, n, source.RETRIES, source.sleep)
            out[(lba - first) * SECTOR:(lba - first + n) * SECTOR] = data
            bad += failed
    if bad:
        raise unreadable_error(source.label, bad, source.RETRIES)
    skip = offset - first * SECTOR
    return bytes(out[skip:skip + size])


# ---- where the data is --------------------------------------------------------------------------
def map_from_drive(drive, profile, reader):
    """The recorded tracks of the disc in ``drive`` (``reader`` reads it,
    to find a CD track's run-out blocks and an overwritable disc's ISO end)."""
    from .sense import ScsiError
    if profile_info(profile).overwritable:
        return DiscMap([Extent(1, 1, 0, _overwritable_end(drive, reader))],
                       "the ISO volume size")
    try:
        extents, how = _tracks_by_information(drive), "READ TRACK INFORMATION"
    except ScsiError:
        extents, how = _tracks_by_toc(drive), "READ TOC"
    if is_cd(profile):
        extents = [_without_runout(reader, e) for e in extents]
    return DiscMap(extents, how)


def _tracks_by_information(drive):
    """MMC-6 6.22.3.1: tracks first..last of the last session; 6.27.3 per
    track: Blank bit (nothing recorded), NWA_V (an incomplete track: its data
    ends at the next writable address), else the track size."""
    info = drive.disc_info()
    extents = []
    for number in range(max(1, info.first_track), info.last_track_last_session + 1):
        ti = drive.track_info(number)
        if ti.blank:
            continue
        blocks = ti.next_writable - ti.start if ti.next_writable is not None else ti.size
        if blocks > 0:
            extents.append(Extent(ti.session, ti.track, ti.start, blocks))
    return extents


def _tracks_by_toc(drive):
    """MMC-6 6.26.3.2 (format 0000b): track starts and the lead-out (AAh).
    Without track information a track is taken to end where the next starts."""
    from . import mmc
    from .transport import FROM_DEVICE
    reply = drive.cmd(mmc.read_toc(0), FROM_DEVICE, length=804)
    entries = mmc.parse_toc_tracks(reply)
    starts = [(n, lba) for n, lba in entries if n != 0xAA]
    leadout = next((lba for n, lba in entries if n == 0xAA), None)
    bounds = [lba for _, lba in starts[1:]] + [leadout]
    return [Extent(1, n, lba, end - lba) for (n, lba), end in zip(starts, bounds)
            if end is not None and end > lba]


def _without_runout(reader, ext):
    """A CD track written in TAO ends in 2 run-out blocks the drive added
    and will not read; the track size counts them (MMC-6, CD track-at-once).  A
    track whose last 2 blocks both fail to read ends before them."""
    if ext.blocks <= RUNOUT:
        return ext
    for lba in range(ext.end - RUNOUT, ext.end):
        try:
            reader.read(lba, 1)
            return ext
        except ReadFailed:
            continue
    return Extent(ext.session, ext.track, ext.start, ext.blocks - RUNOUT)


def _overwritable_end(drive, reader):
    """DVD+RW/BD-RE/DVD-RW restricted overwrite: one track as large as the
    formatted area; the data ends where the ISO volume at sector 16 says
    (growisofs keeps that descriptor current), else at READ CAPACITY's end."""
    from isofuse.format import FormatError
    from isofuse.format.descriptors import decode_volume_descriptor
    try:
        return decode_volume_descriptor(reader.read(16, 1)).volume_space_size
    except (ReadFailed, FormatError):
        last, _ = drive.read_capacity()
        return last + 1


# ---- copying all recorded sectors into a file ---------------------------------------------------
def copy_extents(source, fd, progress=None, what="copied"):
    """Write every recorded sector of ``source`` at its own offset of the
    file ``fd`` (gaps stay holes); read on past unreadable sectors so the
    final error names all of them.  The file ends where the last track does."""
    from .errors import OUTPUT
    total, done, bad = source.disc_map.blocks * SECTOR, 0, []
    for ext in source.disc_map.extents:
        for lba in range(ext.start, ext.end, CHUNK):
            n = min(CHUNK, ext.end - lba)
            data, failed = read_retrying(source.reader, lba, n, source.RETRIES, source.sleep)
            bad += failed
            try:
                os.pwrite(fd, data, lba * SECTOR)
            except OSError as exc:
                raise BurnError(f"writing the copy: {exc.strerror}", OUTPUT) from None
            done += len(data)
            if progress is not None:
                progress.update(done, total, what=what)
    import stat
    if stat.S_ISREG(os.fstat(fd).st_mode):      # a hole up to the end, if the end is one
        try:
            os.ftruncate(fd, source.disc_map.end * SECTOR)
        except OSError as exc:
            raise BurnError(f"writing the copy: {exc.strerror}", OUTPUT) from None
    if bad:
        raise unreadable_error(source.label, bad, source.RETRIES)
    return done


# ---- a disc burned onto other discs ---------------------------------------------------------
WRITE_ONCE_FAMILIES = ("cd", "dvd-r", "dvd+r", "bd-r")
ERASABLE = (0x0A, 0x14)          # CD-RW, DVD-RW sequential: blanked and written again


def is_disc_spec(spec):
    """Is this SOURCE another disc (sim: or a block device)?"""
    if spec.startswith("sim:"):
        return True
    try:
        import stat
        return stat.S_ISBLK(os.stat(spec).st_mode)
    except OSError:
        return False


def refuse_unless_copyable(source):
    """A disc onto another disc: only a single track at sector 0 can be put
    where it was.  A second session was mastered for its own start address
    (its directories point into the earlier sessions); on another disc the
    drive decides where a session goes (lead-in/lead-out and border sizes
    differ by medium and drive), so nothing guarantees that address."""
    from .errors import CANNOT_COPY
    disc = source.disc_map
    if not disc.extents:
        raise BurnError(f"{source.label}: nothing is recorded on this disc", SOURCE)
    if len(disc.extents) > 1 or disc.extents[0].start != 0:
        raise BurnError(
            f"{source.label} holds {disc.describe()}; a copy onto another disc cannot put "
            "each session at its own address. Copy it to an image instead (isofuse-burn "
            "--image-out copy.iso SOURCE keeps every session where it was), or burn its "
            "files as one new session: isofuse mount the disc and burn the folder", CANNOT_COPY)


def target_is_write_once(device):
    """True unless the disc in ``device`` can be written again (RW media);
    an unknown target (no disc yet, probing fails) counts as write-once."""
    from .drive import Drive, open_transport
    try:
        with open_transport(device, write=False) as t:
            status = Drive(t).probe()
    except Exception:
        return True
    if not status.medium or not status.profile:
        return True
    p = status.profile_info
    return p.family in WRITE_ONCE_FAMILIES and status.profile not in ERASABLE


def read_ahead(source, directory, progress=None):
    """Read the whole source into an image file in ``directory`` before the
    first WRITE, so an unreadable source sector costs no target disc.
    Returns the image's path."""
    from .errors import OUTPUT
    need = source.disc_map.end * SECTOR
    st = os.statvfs(directory)
    if st.f_bavail * st.f_frsize < need:
        raise BurnError(f"{directory}: {need // 2**20} MiB needed to read {source.label} "
                        "first, and there is less free room: set TMPDIR to a larger "
                        "folder, or burn with --on-the-fly", OUTPUT)
    path = os.path.join(directory, "source.iso")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        if progress is not None:
            progress.phase("read", f"reading {source.label} before writing "
                           "(--on-the-fly writes while reading)")
        copy_extents(source, fd, progress, what="read")
    finally:
        os.close(fd)
    return path


def burn_copy(args, burn, progress_for):
    """Burn the disc ``args.sources[0]`` onto ``args.device``: refused for a
    multisession disc; read completely first (into a temporary image) when a
    target is write-once, unless ``args.on_the_fly``; then ``burn(args)``."""
    import tempfile
    from .errors import USAGE
    from .sources import open_source
    spec = (list(args.sources) + list(args.add))[0]
    if spec in args.device:
        raise BurnError(f"{spec} is both the source and a target; copy to an image first "
                        "(--image-out), then burn the image", USAGE)
    source = open_source(spec, args.size)
    try:
        refuse_unless_copyable(source)
        if args.on_the_fly or not any(target_is_write_once(d) for d in args.device):
            source.close()
            source = None
            return burn(args)
        with tempfile.TemporaryDirectory(prefix="isofuse-burn-") as tmp:
            image = read_ahead(source, tmp, progress_for(spec))
            source.close()
            source = None
            args.sources, args.add, args.size = [image], [], None
            return burn(args)
    finally:
        if source is not None:
            source.close()


def copy_sequentially(source, fd, progress=None):
    """An image file or standard input into ``fd``, in order."""
    from .errors import OUTPUT
    done = 0
    while done < source.size:
        data = source.read(done, min(1 << 20, source.size - done))
        if not data:
            raise BurnError(f"{source.label}: ended after {done} bytes", SOURCE)
        try:
            os.write(fd, data)
        except OSError as exc:
            raise BurnError(f"writing the copy: {exc.strerror}", OUTPUT) from None
        done += len(data)
        if progress is not None:
            progress.update(done, source.size, what="copied")
    return done
