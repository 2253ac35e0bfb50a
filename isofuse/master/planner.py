"""The per-directory planner: the records of one directory and their sizes.

Given one directory of a recorded tree (isotree), the planner decides its
records (".", "..", then one per child, several for a multi-extent file),
how long each is, which Rock Ridge entries go into a continuation area, and
so how many sectors the directory and its continuation areas take.  It
reads nothing but the tree and places nothing: the layout gives the
sectors, the size model (sizing.py) only adds the sizes up, as libisofs
separates counting blocks from writing them.

Sizes depend only on names and System Use contents, never on locations
(CE, CL and PL entries have fixed sizes), so a plan made once stays right
when the directories are placed.

A plain file (one link, one extent, its Rock Ridge entries inside the
record: the common case) gets no record object: the plan keeps its size
only, and the encoder (direncode.py) makes its record from the tree entry.
Every other record is a PlannedRecord, listed by the child it belongs to.
"""

from array import array

from ..format import dirrecord as dr
from ..format import susp
from ..format.dates import BINARY_LAST, clamp_binary_seconds, encode_binary_date
from ..format.sectors import SECTOR
from .rockridge_writer import entry_size

MAX_EXTENT_BYTES = 0xFFFFF800       # ECMA-119 §9.1.4 733 field, sector aligned
MAX_RECORD = dr.MAX_RECORD_LENGTH
BINARY_DATE_END = BINARY_LAST + 1   # dates from here on are clamped (§9.1.5: year 1900+255)


class LayoutError(Exception):
    """The tree cannot become an image with these options (message says why)."""


def extent_lengths_for(size):
    """How ``size`` bytes of file data split into extents of at most
    MAX_EXTENT_BYTES (ISO 9660 level 3 multi-extent files, §6.5.1); one
    extent, possibly empty, for a small file."""
    parts = []
    while True:
        part = min(size, MAX_EXTENT_BYTES)
        parts.append(part)
        size -= part
        if size <= 0:
            return parts


def extent_count_for(size):
    """len(extent_lengths_for(size)), without building the list (the stage
    asks on every write whether a file's number of records changed)."""
    return (size + MAX_EXTENT_BYTES - 1) // MAX_EXTENT_BYTES or 1


def extent_lengths(node):
    """The extent lengths of a file's data (an earlier session's file keeps
    its own split); sizes only, usable before the data has its place."""
    old = node.old_extents
    if old is not None:
        return [length for _, length in old]
    return extent_lengths_for(node.size)


class PlannedRecord:
    """One directory record to be: sizes now, locations at encoding time."""

    __slots__ = ("identifier", "flags", "target", "length", "date", "inline", "overflow",
                 "ce_location", "part", "size", "tail")

    def __init__(self, identifier, flags, target, length, date, inline, overflow, part, size,
                 tail):
        self.identifier = identifier
        self.flags = flags
        self.target = target        # DiscEntry whose extent/size the record carries
        self.length = length
        self.date = date            # seconds, already clamped (RecordDates.seconds)
        self.inline = inline        # SU entries in the record
        self.overflow = overflow    # SU entries in a continuation area (after a CE)
        # (sector from the directory's first continuation sector, offset, length)
        self.ce_location = None
        self.part = part            # which extent of a multi-extent file
        self.size = size            # bytes of the encoded record
        # the bytes after the fixed part (dirrecord.record_tail) when the
        # inline entries hold no location marker and there is no CE, else None
        self.tail = tail


class DirectoryPlan:
    """The records of one directory: ``sizes`` of every record in order
    (packed: an array of 16-bit lengths, not a list of ints),
    ``dots`` (the "." and ".." records), ``special`` (child index -> the
    PlannedRecords of that child: none for a child the tree records
    without a record, such as a symlink in Joliet); a child not in
    ``special`` is a plain file with one record.  ``extent_bytes`` and
    ``ce_sectors`` are the sectors it takes; ``ce_start`` is the first
    continuation sector, given by the layout."""

    __slots__ = ("sizes", "dots", "special", "extent_bytes", "ce_sectors", "ce_start")

    def __init__(self, sizes, dots, special, ce_sectors):
        self.sizes = sizes
        self.dots = dots
        self.special = special
        self.extent_bytes = dr.extent_bytes(sizes)
        self.ce_sectors = ce_sectors
        self.ce_start = 0

    @property
    def sectors(self):
        """Sectors of the directory's extent and its continuation areas."""
        return self.extent_bytes // SECTOR + self.ce_sectors


class RecordDates:
    """A node's recording date in seconds (clamped to the 7-byte form of
    §9.1.5, no later than SOURCE_DATE_EPOCH when that is set) and its
    encoded bytes, each second encoded once (the cache is shared with the
    Rock Ridge TF entries)."""

    def __init__(self, fixed_time, cache=None):
        self.fixed_time = fixed_time
        self.cache = {} if cache is None else cache

    def seconds(self, node):
        t = node.mtime
        if self.fixed_time is not None and t > self.fixed_time:
            t = self.fixed_time
        if not 0 <= t < BINARY_DATE_END:
            t = clamp_binary_seconds(t)
        return t

    def encoded(self, seconds):
        date = self.cache.get(seconds)
        if date is None:
            date = self.cache[seconds] = encode_binary_date(seconds)
        return date


def place_continuations(records):
    """Give each record's continuation area a place in the directory's
    continuation sectors, packed without an area crossing a sector (each
    CE names one sector's bytes, SUSP §5.1); returns the sectors used."""
    used, offset = 0, 0
    for record in records:
        if record.overflow:
            length = sum(entry_size(e) for e in record.overflow)
            if offset + length > SECTOR:
                used += 1
                offset = 0
            record.ce_location = (used, offset, length)
            offset += length
    return used + (1 if offset else 0)


def new_record(identifier, flags, target, length, date, entries, part=0):
    """A PlannedRecord; System Use ``entries`` that do not fit in the record
    go to a continuation area (SUSP §5.1 CE)."""
    if not entries:
        tail = dr.record_tail(identifier)
        return PlannedRecord(identifier, flags, target, length, date, (), (), part,
                             33 + len(tail), tail)
    total, plain = 0, True
    for e in entries:
        if e.__class__ is bytes:
            total += len(e)
        else:
            total += entry_size(e)
            plain = False
    size = dr.record_length(len(identifier), total)
    if size <= MAX_RECORD:      # the common case: everything in the record
        return PlannedRecord(identifier, flags, target, length, date, entries, (), part, size,
                             dr.record_tail(identifier, b"".join(entries)) if plain else None)
    inline, overflow = _split_su(identifier, entries)
    su = sum(entry_size(e) for e in inline) + susp.CE_LENGTH
    return PlannedRecord(identifier, flags, target, length, date, inline, overflow, part,
                         dr.record_length(len(identifier), su), None)


def _split_su(identifier, entries):
    """Entries that fit in the record, and the rest for a continuation area."""
    room = MAX_RECORD - dr.record_length(len(identifier), susp.CE_LENGTH)
    inline, used = [], 0
    for i, entry in enumerate(entries):
        size = entry_size(entry)
        if used + size > room:
            overflow = entries[i:]
            break
        inline.append(entry)
        used += size
    else:
        overflow = []
    if sum(entry_size(e) for e in overflow) > SECTOR:
        raise LayoutError(f"Rock Ridge data for {identifier!r} exceeds one "
                          "continuation area")
    return inline, overflow


class DirectoryPlanner:
    """Plans the ISO 9660 (with ``rock``: Rock Ridge, a RockRidgeWriter)
    and the Joliet directories of one tree."""

    def __init__(self, options, rock, dates):
        self.options = options
        self.rock = rock
        self.dates = dates

    def _dots(self, directory, rock):
        """The "." and ".." records (§6.8.2.2)."""
        is_root = directory.parent is None
        parent = directory.parent or directory
        seconds = self.dates.seconds
        return [new_record(b"\x00", dr.FLAG_DIRECTORY, directory, 0,
                           seconds(directory.node),
                           rock.for_self(directory, is_root) if rock else None),
                new_record(b"\x01", dr.FLAG_DIRECTORY, parent, 0, seconds(parent.node),
                           rock.for_parent(directory) if rock else None)]

    def iso_plan(self, directory):
        """The plan of a directory of the ISO 9660 tree."""
        rock = self.rock
        dots = self._dots(directory, rock)
        sizes = array("H", (dots[0].size, dots[1].size))
        special = {}
        su_length = rock.plain_file_su_length if rock else lambda node: 0
        for index, child in enumerate(directory.children):
            node = child.node
            # a plain file: one link, one extent of new data, its Rock
            # Ridge entries in the record (the common case, once per file)
            if node.is_regular and node.nlink == 1 and node.old_extents is None \
                    and node.size <= MAX_EXTENT_BYTES:
                n = su_length(node)
                if n is not None:
                    length = dr.record_length(len(child.identifier), n)
                    if length <= MAX_RECORD:
                        sizes.append(length)
                        continue
            records = special[index] = self._iso_child_records(child)
            sizes.extend(record.size for record in records)
        ce_sectors = place_continuations(
            dots + [r for records in special.values() for r in records])
        return DirectoryPlan(sizes, dots, special, ce_sectors)

    def _iso_child_records(self, child):
        rock = self.rock
        node = child.node
        entries = rock.for_child(child) if rock else None
        date = self.dates.seconds(node)
        if child.is_dir:
            return [new_record(child.identifier, dr.FLAG_DIRECTORY, child, 0, date, entries)]
        if child.is_placeholder:
            return [new_record(child.identifier, 0, child.relocated_to, 0, date, entries)]
        if node.old_extents is None and node.size <= MAX_EXTENT_BYTES:
            # one extent (also for symlinks and devices)
            return [new_record(child.identifier, 0, child, node.size if node.is_regular else 0,
                               date, entries)]
        old = node.old_extents
        if old is not None and len(old) > 1:
            parts = [length for _, length in old]   # an earlier session's split
        else:
            size = node.size if node.is_regular else 0
            if size > MAX_EXTENT_BYTES and self.options.names.level < 3:
                raise LayoutError(f"{node.path_on_disc().decode(errors='replace')} is 4 GiB "
                                  "or larger: it needs -iso-level 3 (multi-extent files)")
            parts = extent_lengths_for(size)
        # Every record carries the Rock Ridge entries (as libisofs does):
        # readers that list records one by one still show the real name.
        return self._extent_records(child, parts, date, entries)

    @staticmethod
    def _extent_records(child, parts, date, entries):
        """One record per extent, all but the last flagged (§9.1.6 bit 7)."""
        last = len(parts) - 1
        return [new_record(child.identifier, dr.FLAG_MULTI_EXTENT if i < last else 0, child,
                           length, date, entries, part=i)
                for i, length in enumerate(parts)]

    def joliet_plan(self, directory):
        """The plan of a directory of the Joliet tree: no System Use, and
        only directories and regular files (Joliet has no symlinks,
        devices or FIFOs)."""
        dots = self._dots(directory, None)
        sizes = array("H", (dots[0].size, dots[1].size))
        special = {}
        seconds = self.dates.seconds
        for index, child in enumerate(directory.children):
            node = child.node
            if child.is_dir:
                record = new_record(child.identifier, dr.FLAG_DIRECTORY, child, 0,
                                    seconds(node), None)
                special[index] = [record]
                sizes.append(record.size)
                continue
            if not node.is_regular:
                special[index] = []
                continue
            if node.old_extents is None and node.size <= MAX_EXTENT_BYTES:
                sizes.append(dr.record_length(len(child.identifier), 0))
                continue
            parts = extent_lengths(node)
            if len(parts) > 1 and self.options.names.level < 3:
                special[index] = []     # reported for the ISO tree already
                continue
            records = special[index] = self._extent_records(child, parts, seconds(node), None)
            sizes.extend(record.size for record in records)
        return DirectoryPlan(sizes, dots, special, 0)
