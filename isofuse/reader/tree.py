"""Directory trees of an image, parsed lazily, one directory at a time.

Three views of one image: the primary tree with Rock Ridge (names, modes,
owners, links, relocation from RRIP), the Joliet tree (UTF-16 names), and the
plain primary tree (ISO 9660 names mapped like the kernel's ``map=normal``).
Where no extension supplies a value the Linux isofs defaults apply: mode
0555 for files and directories, owner 0:0, one link, times from the record.
"""

import logging
import stat
from dataclasses import dataclass
from typing import Optional, Tuple

from ..format import FormatError
from ..format import dirrecord as dr
from ..format import names, rockridge
from ..format.sectors import SECTOR
from . import susp_reader
from .cache import LRUCache
from .errors import CorruptEntry

log = logging.getLogger("isofuse.reader")

VIEW_ROCKRIDGE = "rockridge"
VIEW_JOLIET = "joliet"
VIEW_PLAIN = "plain"

ROOT_INO = 1
# Inode numbers: the byte position of the entry's directory record (always
# above 16 * 2048, and stable across mounts), or, where RRIP 1.12 gives a file
# serial number (PX), that number offset into a range of its own so hard
# links share one inode and never collide with positions.
SERIAL_INO_BASE = 1 << 56
# Without serial numbers (RRIP 1.10), hard links still share their data
# extent and carry a PX link count above one: such files get an inode from
# the extent, so they show as one file, as they were on the source.
EXTENT_INO_BASE = 1 << 57
DEFAULT_MODE = 0o555            # kernel isofs: r-x for all, files and dirs
MAX_DIRECTORY_BYTES = 256 << 20  # a directory larger than this is corrupt
MAX_DEPTH = 1024
RELOCATION_DIR_NAMES = (b"rr_moved", b".rr_moved")
MAX_EXTENTS = 100               # the kernel gives up after 100 file sections
NAME_MAX = 255                  # what a Linux file name can hold


@dataclass(eq=False, slots=True)
class Inode:
    ino: int
    name: bytes
    mode: int
    nlink: int
    uid: int
    gid: int
    size: int
    rdev: int
    atime: int
    mtime: int
    ctime: int
    blocks: int
    extents: Tuple[Tuple[int, int], ...]   # (first sector, bytes) per extent
    symlink: Optional[bytes] = None
    zisofs: Optional[rockridge.ZisofsInfo] = None
    parent: Optional["Inode"] = None
    depth: int = 0
    position: int = 0                      # byte position of its record

    @property
    def is_dir(self):
        return stat.S_ISDIR(self.mode)

    @property
    def is_symlink(self):
        return stat.S_ISLNK(self.mode)

    @property
    def is_regular(self):
        return stat.S_ISREG(self.mode)


class TreeReader:
    """Parses directories of one view on demand and caches the results."""

    def __init__(self, source, root_record, view, options, rock_skip=0,
                 fallback_time=0):
        self.source = source
        self.view = view
        self.options = options
        self.rock_skip = rock_skip
        self.fallback_time = fallback_time
        self._listings = LRUCache(options.directory_cache_entries,
                                  cost=lambda entry: len(entry[0]) + 1)
        self._reported = set()
        self.directories_parsed = 0  # for tests and benchmarks: laziness shows here
        self.root = self._make_root(root_record)

    # ---- error reporting -------------------------------------------------
    def report(self, key, message):
        """Log a problem with one entry once, not at every access."""
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s: %s", self.source.path, message)

    # ---- records --------------------------------------------------------
    def _rock_ridge(self, record, where):
        if self.view != VIEW_ROCKRIDGE or not record.system_use:
            return None
        area = record.system_use
        quick = rockridge.quick_collect(area[self.rock_skip:] if self.rock_skip else area)
        if quick is not None:
            return quick if quick.seen else None
        collector = rockridge.collector()
        for entry in susp_reader.entries(
                self.source, record.system_use, self.rock_skip,
                on_error=lambda msg: self.report((where, msg), f"{where}: {msg}")):
            collector.add(entry)
        rr = collector.result()
        for exc in collector.errors:
            self.report((where, str(exc)), f"{where}: Rock Ridge: {exc}")
        return rr if rr.present else None

    def _read_extent(self, sector, length, what):
        if length > MAX_DIRECTORY_BYTES:
            raise CorruptEntry(f"{what}: directory of {length} bytes")
        if sector * SECTOR + length > self.source.size:
            raise CorruptEntry(f"{what}: extent at sector {sector} (+{length} bytes) "
                               "lies beyond the end of the image")
        data = self.source.pread(sector * SECTOR, length)
        if len(data) < length:
            raise CorruptEntry(f"{what}: short read")
        return data

    def _self_record(self, sector, what):
        """The "." record at the start of the directory at ``sector``."""
        head = self._read_extent(sector, SECTOR, what)
        try:
            record = dr.decode_record(head, 0)
        except FormatError as exc:
            raise CorruptEntry(f"{what}: {exc}") from None
        if not record.is_self:
            raise CorruptEntry(f"{what}: directory at sector {sector} does not "
                               "start with its '.' record")
        return record

    def _make_root(self, root_record):
        record = dr.decode_record(root_record, 0)
        if record.data_start * SECTOR + record.data_length > self.source.size:
            raise CorruptEntry(f"root directory at sector {record.data_start} lies "
                               "beyond the end of the image (truncated?)")
        # The root's attributes are those of its own "." record, as in the
        # kernel (the descriptor's copy has no System Use area); a damaged
        # "." falls back to the descriptor's copy.
        try:
            dot = self._self_record(record.data_start, "root directory")
        except CorruptEntry:
            dot = record
        rr = self._rock_ridge(dot, "root directory")
        inode = self._inode(dot, rr, name=b"", position=0, parent=None,
                            extents=((record.data_start, record.data_length),),
                            is_dir=True)
        inode.ino = ROOT_INO
        return inode

    def _inode(self, record, rr, name, position, parent, extents, is_dir):
        opts = self.options
        mtime = record.mtime if record.mtime is not None else self.fallback_time
        size = sum(length for _, length in extents)
        blocks = (size + 511) >> 9
        if is_dir:
            mode = stat.S_IFDIR | (opts.dmode if opts.dmode is not None else DEFAULT_MODE)
        else:
            mode = stat.S_IFREG | (opts.fmode if opts.fmode is not None else DEFAULT_MODE)
        inode = Inode(ino=position, name=name, mode=mode, nlink=1,
                      uid=opts.uid or 0, gid=opts.gid or 0, size=size, rdev=0,
                      atime=mtime, mtime=mtime, ctime=mtime, blocks=blocks,
                      extents=extents, parent=parent,
                      depth=parent.depth + 1 if parent else 0, position=position)
        if rr is not None:
            self._apply_rock_ridge(inode, rr, is_dir)
        return inode

    def _apply_rock_ridge(self, inode, rr, is_dir):
        opts = self.options
        if rr.mode is not None:
            kind = stat.S_IFMT(rr.mode)
            # The record's directory flag decides what we can parse; PX only
            # refines non-directories (symlinks, devices, FIFOs, sockets).
            if is_dir:
                kind = stat.S_IFDIR
            elif kind in (0, stat.S_IFDIR):
                kind = stat.S_IFREG
            perms = stat.S_IMODE(rr.mode)
            if opts.override_rock_perm:
                if is_dir and opts.dmode is not None:
                    perms = opts.dmode
                elif kind == stat.S_IFREG and opts.fmode is not None:
                    perms = opts.fmode
            inode.mode = kind | perms
        if rr.nlink:
            inode.nlink = rr.nlink
        if rr.uid is not None and opts.uid is None:
            inode.uid = rr.uid
        if rr.gid is not None and opts.gid is None:
            inode.gid = rr.gid
        if rr.serial and inode.ino != ROOT_INO:
            inode.ino = SERIAL_INO_BASE + rr.serial
        elif (rr.nlink or 0) > 1 and not is_dir and inode.size > 0 \
                and stat.S_ISREG(inode.mode) and inode.extents[0][0] > 0:
            inode.ino = EXTENT_INO_BASE + inode.extents[0][0]
        times = rr.times
        if "modify" in times:
            inode.mtime = times["modify"]
        if "access" in times:
            inode.atime = times["access"]
        ctime = times.get("attributes", times.get("creation"))
        if ctime is not None:
            inode.ctime = ctime
        if stat.S_ISLNK(inode.mode):
            inode.symlink = rr.symlink or b""
            inode.size = len(inode.symlink)
        elif stat.S_ISCHR(inode.mode) or stat.S_ISBLK(inode.mode):
            inode.rdev = rr.rdev or 0
        if rr.zisofs is not None and stat.S_ISREG(inode.mode):
            if rr.zisofs.algorithm == b"pz" and not opts.nocompress:
                inode.zisofs = rr.zisofs
                inode.size = rr.zisofs.uncompressed_size
            elif rr.zisofs.algorithm != b"pz":
                self.report(("zf", rr.zisofs.algorithm),
                            f"compression {rr.zisofs.algorithm!r} is not supported; "
                            "such files read as stored")

    # ---- directories ----------------------------------------------------
    def _is_ancestor_extent(self, parent, sector):
        node = parent
        while node is not None:
            if node.extents and node.extents[0][0] == sector:
                return True
            node = node.parent
        return False

    def _names_for(self, record, rr):
        if rr is not None and rr.name is not None:
            return rr.name
        if self.view == VIEW_JOLIET:
            return names.joliet_name(record.name)
        return names.plain_name(record.name, self.options.mapping)

    def _groups(self, records):
        """Join multi-extent records (§6.5.1: the same name, every record but
        the last flagged 0x80) into one group per file."""
        group = []
        for record in records:
            group.append(record)
            if not record.flags & dr.FLAG_MULTI_EXTENT or len(group) >= MAX_EXTENTS:
                yield group
                group = []
        if group:
            yield group

    def listdir(self, directory):
        """The children of a directory inode, in on-disc order."""
        if not directory.is_dir:
            raise CorruptEntry("not a directory")
        return self._listing(directory)[0]

    def _listing(self, directory):
        # Key by extent and parent chain depth-independent identity: the same
        # directory extent always parses to the same children.
        key = (directory.extents[0], directory.ino)
        cached = self._listings.get(key)
        if cached is None:
            children = self._parse_directory(directory)
            cached = (children, {c.name: c for c in children})
            self._listings.put(key, cached)
        return cached

    def _parse_directory(self, directory):
        self.directories_parsed += 1
        sector, length = directory.extents[0]
        where = f"directory {directory.name.decode('utf-8', 'replace') or '/'}"
        data = self._read_extent(sector, length, where)
        base = sector * SECTOR
        records = dr.iter_records(
            data, on_error=lambda off, exc: self.report(
                (sector, off), f"{where}: bad record at byte {off}: {exc}"))
        children = []
        seen_names = set()
        for group in self._groups(records):
            first = group[0]
            if first.is_self or first.is_parent:
                continue
            if first.flags & dr.FLAG_ASSOCIATED and not self.options.showassoc:
                continue
            if first.flags & dr.FLAG_HIDDEN and self.options.hide:
                continue
            try:
                child = self._child(directory, group, base + first.offset, where)
            except CorruptEntry as exc:
                self.report((sector, first.offset), str(exc))
                continue
            if child is None or not child.name or child.name in (b".", b"..") \
                    or b"/" in child.name or b"\x00" in child.name:
                continue
            if len(child.name) > NAME_MAX:
                # Linux cannot look such a name up (the kernel's isofs cuts
                # Rock Ridge names at 254 bytes); leave it out, say so once.
                self.report((sector, first.offset, "long"),
                            f"{where}: a name of {len(child.name)} bytes is longer than "
                            f"{NAME_MAX} and cannot be shown")
                continue
            if child.name in seen_names:
                self.report((sector, first.offset, "dup"),
                            f"{where}: duplicate name {child.name!r} ignored")
                continue
            seen_names.add(child.name)
            children.append(child)
        if directory.ino == ROOT_INO and self.view == VIEW_ROCKRIDGE:
            children = [c for c in children if not self._is_relocation_dir(c)]
        return children

    def _is_relocation_dir(self, child):
        """rr_moved holds the real copies of deep directories; they appear at
        their place through CL entries, so the folder is hidden once all it
        holds is relocated (what is left would otherwise show twice)."""
        if not child.is_dir or child.name not in RELOCATION_DIR_NAMES:
            return False
        try:
            return not self.listdir(child) and self._holds_relocated(child)
        except CorruptEntry:
            return False

    def _holds_relocated(self, directory):
        sector, length = directory.extents[0]
        data = self._read_extent(sector, length, "rr_moved")
        for record in dr.iter_records(data):
            if record.is_self or record.is_parent:
                continue
            rr = self._rock_ridge(record, "rr_moved")
            if rr is not None and rr.relocated:
                return True
        return False

    def _child(self, parent, group, position, where):
        first = group[0]
        for record in group:
            if record.endian_mismatch:
                self.report((position, "endian"),
                            f"{where}: {first.name!r}: little and big endian halves of "
                            "extent or size differ; using the little endian ones")
        rr = self._rock_ridge(first, where)
        if rr is not None and rr.relocated:
            return None  # RE: shown where its CL entry points
        name = self._names_for(first, rr)
        if rr is not None and rr.child_link is not None:
            return self._relocated_dir(parent, name, rr.child_link, position, where)
        is_dir = first.is_directory
        extents = tuple((r.data_start, r.data_length) for r in group)
        for start, size in extents:
            if size and start * SECTOR + size > self.source.size and not is_dir:
                # Reads of the missing part fail with EIO; stat still works.
                self.report((position, "beyond"),
                            f"{where}: {name!r} extends beyond the end of the image")
        if is_dir:
            if self._is_ancestor_extent(parent, extents[0][0]) or parent.depth >= MAX_DEPTH:
                raise CorruptEntry(f"{where}: {name!r} loops back to a parent directory")
        return self._inode(first, rr, name, position, parent, extents, is_dir)

    def _relocated_dir(self, parent, name, target, position, where):
        """CL (RRIP §4.1.5.1): the directory lives at ``target``; its own "."
        record carries its attributes."""
        if self._is_ancestor_extent(parent, target) or parent.depth >= MAX_DEPTH:
            raise CorruptEntry(f"{where}: relocated {name!r} loops back")
        dot = self._self_record(target, where)
        rr = self._rock_ridge(dot, where)
        inode = self._inode(dot, rr, name, position, parent,
                            ((target, dot.data_length),), is_dir=True)
        return inode

    def lookup(self, directory, name):
        return self._listing(directory)[1].get(name)
