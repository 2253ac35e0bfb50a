"""Descriptor sets and sessions.

A session's descriptors start at session_start + 16 and end with a
terminator (ECMA-119 §8.3).  Readers take the last session of a multisession
disc; on an image file there is no drive to ask, so later sessions are found
by looking behind the end of each session's volume space for the next
descriptor set (a genisoimage ``-C``/``-M`` session written behind its
predecessor).  xorriso's grown images copy the newest descriptors to sectors
16-31, so their newest session is the one at sector 0's descriptors.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from ..format import FormatError
from ..format import descriptors as vd
from .errors import ReaderError

MAX_DESCRIPTORS = 84       # the kernel looks at sectors 16..99 at most
# How far behind a session's ISO end we look for the next one.  The largest
# gap a disc leaves between sessions is a DVD-R's first border zone (border-
# out plus border-in, 32 MiB: 16,384 sectors; docs/simulated-drive.md); a CD
# leaves 11,400 (lead-out, lead-in, pre-gap) plus 2 TAO run-out sectors, and
# a data track is padded to at least 300 sectors, so a small first session's
# track ends up to 300 sectors behind its ISO volume; images have less.
MAX_SESSION_GAP = 16384 + 300 + 150
SCAN_CHUNK = 32


@dataclass
class DescriptorSet:
    session_start: int
    primary: Optional[vd.VolumeDescriptor] = None
    joliet: Optional[vd.VolumeDescriptor] = None
    enhanced: Optional[vd.VolumeDescriptor] = None
    boot_record: Optional[vd.BootRecord] = None
    others: List[int] = field(default_factory=list)
    terminated: bool = False
    warnings: List[str] = field(default_factory=list)

    @property
    def end_sector(self):
        """Where the session ends (at the earliest).

        The volume space size counts from sector 0 in a first session and in
        xorriso's copy at sectors 16-31, but genisoimage -C and xorriso write
        the size of the new session alone into a later session's own
        descriptors.  A size that does not even reach this session's
        descriptors can only be relative; otherwise take the absolute reading,
        which is the smaller one, so a forward search misses nothing.
        """
        if self.primary is None:
            return 0
        size = self.primary.volume_space_size
        if size <= self.session_start + vd.FIRST_DESCRIPTOR_SECTOR:
            return self.session_start + size
        return size


def read_descriptor_set(source, session_start):
    """Decode the descriptors of the session starting at ``session_start``."""
    result = DescriptorSet(session_start=session_start)
    first = session_start + vd.FIRST_DESCRIPTOR_SECTOR
    for sector_no in range(first, first + MAX_DESCRIPTORS):
        sector = source.read_sectors(sector_no)
        if len(sector) < vd.SECTOR_SIZE or not vd.is_descriptor(sector):
            break
        kind = sector[0]
        if kind == vd.TYPE_TERMINATOR:
            result.terminated = True
            break
        try:
            if kind == vd.TYPE_PRIMARY and result.primary is None:
                result.primary = vd.decode_volume_descriptor(sector)
            elif kind == vd.TYPE_SUPPLEMENTARY:
                svd = vd.decode_volume_descriptor(sector)
                if svd.is_enhanced and result.enhanced is None:
                    result.enhanced = svd
                elif svd.joliet_level and result.joliet is None:
                    result.joliet = svd
            elif kind == vd.TYPE_BOOT_RECORD and result.boot_record is None:
                result.boot_record = vd.decode_boot_record(sector)
            else:
                result.others.append(kind)
        except FormatError as exc:
            result.warnings.append(f"descriptor at sector {sector_no}: {exc}")
    for desc in (result.primary, result.joliet, result.enhanced):
        for name, lo, hi in (desc.mismatches if desc else ()):
            result.warnings.append(
                f"{name}: little endian {lo} and big endian {hi} differ; using {lo}")
    return result


def _looks_like_session(source, start):
    """A whole descriptor set (a primary descriptor and a terminator) at
    start + 16, whose root directory lies inside the image."""
    sector = source.read_sectors(start + vd.FIRST_DESCRIPTOR_SECTOR)
    if len(sector) < vd.SECTOR_SIZE or sector[0] != vd.TYPE_PRIMARY \
            or not vd.is_descriptor(sector):
        return False
    found = read_descriptor_set(source, start)
    if found.primary is None or not found.terminated:
        return False
    root_extent = int.from_bytes(found.primary.root_record[2:6], "little")
    return 0 < root_extent < source.sectors


def _next_session(source, after):
    """First sector s >= after with a primary descriptor at s + 16."""
    limit = min(after + MAX_SESSION_GAP, source.sectors - vd.FIRST_DESCRIPTOR_SECTOR - 1)
    s = after
    while s <= limit:
        count = min(SCAN_CHUNK, limit - s + 1)
        chunk = source.read_sectors(s + vd.FIRST_DESCRIPTOR_SECTOR, count)
        for i in range(count):
            off = i * vd.SECTOR_SIZE
            if chunk[off:off + 6] == b"\x01CD001" and _looks_like_session(source, s + i):
                return s + i
        s += count
    return None


GROWN_FIRST_SESSION = 32  # libisoburn leaves sectors 0-31 for the copy


def _chain(source, start, descriptors):
    """Sessions from ``start`` on, each found behind the previous one's end."""
    sessions = [start]
    end = descriptors.end_sector
    while end and end < source.sectors - vd.FIRST_DESCRIPTOR_SECTOR:
        nxt_start = _next_session(source, end)
        if nxt_start is None or nxt_start in sessions:
            break
        sessions.append(nxt_start)
        nxt = read_descriptor_set(source, nxt_start)
        if nxt.primary is None or nxt.end_sector <= end:
            break
        end = nxt.end_sector
    return sessions


def find_sessions(source):
    """Start sectors of the sessions in an image, oldest first."""
    first = read_descriptor_set(source, 0)
    if first.primary is None:
        return []
    sessions = _chain(source, 0, first)
    # xorriso growing an image file: sessions start at 32, 64, ... each with
    # its own descriptors, and sectors 16-31 hold a copy of the newest set.
    if len(sessions) == 1 and source.sectors > GROWN_FIRST_SESSION + 17 \
            and _looks_like_session(source, GROWN_FIRST_SESSION):
        grown_first = read_descriptor_set(source, GROWN_FIRST_SESSION)
        grown = _chain(source, GROWN_FIRST_SESSION, grown_first)
        newest = read_descriptor_set(source, grown[-1]).primary
        if newest is not None and newest.root_record == first.primary.root_record:
            return grown
    return sessions


def choose_session(source, session=None, sbsector=None):
    """The descriptor set to read, with the list of sessions found.

    ``sbsector`` names a session start directly; ``session`` counts sessions
    from 0 (the kernel's ``session=`` mount option does the same); by default
    the newest session.
    """
    if sbsector is not None:
        if sbsector < 0 or sbsector + vd.FIRST_DESCRIPTOR_SECTOR >= source.sectors:
            raise ReaderError(f"sbsector {sbsector} is beyond the end of the image")
        sessions = [sbsector]
        start = sbsector
    else:
        drive_start = source.last_session_from_drive()
        sessions = find_sessions(source)
        if drive_start is not None and drive_start not in sessions:
            sessions.append(drive_start)
            sessions.sort()
        if not sessions:
            raise ReaderError(f"{source.path}: no ISO 9660 volume descriptors "
                              "(not an ISO 9660 image, or damaged)")
        if session is not None:
            if not 0 <= session < len(sessions):
                raise ReaderError(f"{source.path}: session {session} does not exist "
                                  f"(the image has {len(sessions)}, counted from 0)")
            start = sessions[session]
        else:
            start = sessions[-1]
    descriptors = read_descriptor_set(source, start)
    if descriptors.primary is None:
        raise ReaderError(f"{source.path}: no primary volume descriptor at sector "
                          f"{start + vd.FIRST_DESCRIPTOR_SECTOR}")
    return descriptors, sessions
