"""The encoder of directories and path tables: planned records to bytes.

The planner (planner.py) has sized every record and the layout has placed
every directory and every file's data; this module writes the directory
records (ECMA-119 §9.1, each through dirrecord.encode_record_into, placed
by dirrecord.record_offsets), the Rock Ridge continuation areas (SUSP §5.1)
and the path tables (§9.4) into the metadata buffer.  A plain file's record,
only measured at planning, is made here from its tree entry, and checked
against the room planned for it.
"""

from ..format import dirrecord as dr
from ..format import pathtable, susp
from ..format.sectors import SECTOR
from .planner import BINARY_DATE_END, LayoutError
from .rockridge_writer import resolve


def path_table_name(directory):
    """A directory's identifier in the path table: the root's is one 0 byte
    (§9.4.5, §6.8.2.2)."""
    return b"\x00" if directory.parent is None else directory.identifier


def path_table_size(dirs):
    """Bytes of a path table listing ``dirs`` (§9.4)."""
    return sum(pathtable.record_size(len(path_table_name(d))) for d in dirs)


class DirectoryEncoder:
    """Writes into ``meta`` (the bytes of sectors ``base`` on).  ``rock``:
    the RockRidgeWriter (None without Rock Ridge); ``dates``: the
    planner's RecordDates; ``items``: DataItem of a file with one link, by
    its node; ``file_extents(node)``: [(sector, bytes)] of any file."""

    def __init__(self, meta, base, rock, dates, items, file_extents):
        self.meta = meta
        self.base = base
        self.rock = rock
        self.dates = dates
        self.items = items
        self.file_extents = file_extents

    def directory(self, directory, rock, delta=0, shift=0):
        """Encode a directory's records (with ``rock``: its System Use and
        continuation areas).  With -partition_offset it is encoded twice:
        the second copy ``delta`` sectors after the first, every address in
        it ``shift`` sectors lower (relative to the partition's start)."""
        plan = directory.plan
        meta = self.meta
        start = (directory.extent + delta - self.base) * SECTOR
        places = zip(dr.record_offsets(plan.sizes), plan.sizes)
        for record in plan.dots:
            self._record(start + next(places)[0], record, plan.ce_start, rock, delta, shift)
        plain_su = self.rock.plain_file_su if rock and self.rock else lambda node: b""
        items, special = self.items, plan.special
        dates = self.dates
        cache, plain_date = dates.cache, dates.fixed_time is None
        encode = dr.encode_record_into
        for index, child in enumerate(directory.children):
            records = special.get(index)
            if records is not None:
                for record in records:
                    self._record(start + next(places)[0], record, plan.ce_start, rock,
                                 delta, shift)
                continue
            # a plain file, measured at planning: its record is made here,
            # once per file and tree
            offset, planned = next(places)
            node = child.node
            identifier = child.identifier
            tail = dr.record_tail(identifier, plain_su(node))
            if 33 + len(tail) != planned:
                _wrong_room(directory)
            item = items.get(node)
            if item is not None:
                extent, length = item.sector - shift, item.size
            else:                   # an empty file (extent 0), the boot catalog
                extent, length = self.file_extents(node)[0]
                if extent:
                    extent -= shift
            mtime = node.mtime
            if not (plain_date and 0 <= mtime < BINARY_DATE_END):
                mtime = dates.seconds(node)
            date = cache.get(mtime) or dates.encoded(mtime)
            encode(meta, start + offset, extent, length, date, 0, len(identifier), tail)

    def _record(self, pos, record, ce_start, rock, delta, shift):
        """A record other than a plain file's, and its continuation area."""
        flags = record.flags
        target = record.target
        moved = delta - shift                   # directories and their CE areas
        if flags & dr.FLAG_DIRECTORY:           # ".", ".." and subdirectories
            extent, length = target.extent + moved, target.size
        elif target.is_dir:                     # CL placeholder
            extent, length = target.extent + moved, 0
        else:
            extent, length = self.file_extents(target.node)[record.part]
            if extent:
                extent -= shift
        tail = record.tail
        if tail is None:
            su = b"".join(resolve(e, moved) for e in record.inline)
            if record.overflow:
                sector, offset, ce_length = record.ce_location
                su += susp.encode_ce(ce_start + sector + moved, offset, ce_length)
            tail = dr.record_tail(record.identifier, su)
        dr.encode_record_into(self.meta, pos, extent, length, self.dates.encoded(record.date),
                              flags, len(record.identifier), tail)
        if rock and record.overflow:
            sector, offset, ce_length = record.ce_location
            area = b"".join(resolve(e, moved) for e in record.overflow)
            at = (ce_start + sector + delta - self.base) * SECTOR + offset
            self.meta[at:at + ce_length] = area

    def path_tables(self, dirs, l_table, m_table, moved=0):
        """ECMA-119 §9.4 path tables, the L copy at sector ``l_table``, the
        M copy at ``m_table`` (``moved``: added to every directory's
        extent, for -partition_offset's second tree)."""
        for sector, big_endian in ((l_table, False), (m_table, True)):
            table = b"".join(pathtable.encode_record(path_table_name(d), d.extent + moved,
                                                     d.parent.number if d.parent else 1,
                                                     big_endian)
                             for d in dirs)
            self.put(sector, table)

    def root_record(self, root, moved=0):
        """The root directory's record for a volume descriptor (§8.4.18)."""
        return dr.encode_record(root.extent + moved, root.size,
                                self.dates.encoded(self.dates.seconds(root.node)),
                                dr.FLAG_DIRECTORY, b"\x00")

    def put(self, sector, data):
        """``data`` at ``sector`` of the image."""
        start = (sector - self.base) * SECTOR
        self.meta[start:start + len(data)] = data


def _wrong_room(directory):
    # a record made now is not as long as planned: the directory would
    # spill into the next one's sectors
    raise LayoutError(f"internal error: a record in {directory.node.path_on_disc()!r} "
                      "does not take the room planned for it")
