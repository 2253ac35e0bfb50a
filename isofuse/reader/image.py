"""An opened image: which session, which tree, and access to its files."""

import logging

from ..format import FormatError
from ..format import dirrecord as dr
from ..format import eltorito, susp
from ..format.dates import format_iso_time
from ..format.sectors import SECTOR
from . import susp_reader
from .errors import CorruptEntry, ReaderError
from .filedata import FileReader
from .options import ReadOptions
from .source import ImageSource
from .tree import VIEW_JOLIET, VIEW_PLAIN, VIEW_ROCKRIDGE, TreeReader
from .volume import choose_session

log = logging.getLogger("isofuse.reader")

# Neighbouring file extents closer than this are fetched as one span: the
# gap costs less to read than a second request to the disk.
PREFETCH_GAP = 64 * 1024


def _rock_ridge_in_use(source, pvd):
    """SUSP §5.3: an SP entry in the root's "." record says SUSP is in use;
    Rock Ridge then shows through its ER (or, for old writers without ER,
    through RRIP entries in that same record)."""
    try:
        root = dr.decode_record(pvd.root_record, 0)
        head = source.pread(root.data_start * SECTOR, SECTOR)
        dot = dr.decode_record(head, 0)
    except FormatError:
        return False, 0
    sp = susp.root_sharing_protocol(dot.system_use)
    if sp is None:
        return False, 0
    for entry in susp_reader.entries(source, dot.system_use):
        if entry.signature == b"ER":
            try:
                if susp.decode_er(entry).identifier.startswith(
                        ("RRIP_1991A", "IEEE_P1282", "IEEE_1282")):
                    return True, sp.skip_length
            except FormatError:
                continue
        if entry.signature in (b"PX", b"RR", b"NM", b"TF"):
            return True, sp.skip_length
    return False, sp.skip_length


class IsoImage:
    def __init__(self, path, options=None):
        self.options = options or ReadOptions()
        self.source = ImageSource(path)
        try:
            self._open()
        except Exception:
            self.source.close()
            raise

    def _open(self):
        opts = self.options
        if self.source.size < 17 * 2048:
            raise ReaderError(f"{self.source.path}: too small to be an ISO 9660 image "
                              f"({self.source.size} bytes)")
        self.descriptors, self.sessions = choose_session(
            self.source, session=opts.session, sbsector=opts.sbsector)
        for warning in self.descriptors.warnings:
            log.warning("%s: %s", self.source.path, warning)
        pvd = self.descriptors.primary
        self.has_rock_ridge, skip = _rock_ridge_in_use(self.source, pvd)
        fallback = (pvd.creation_time or (0, 0))[0]
        if opts.rock and self.has_rock_ridge:
            view, root = VIEW_ROCKRIDGE, pvd.root_record
        elif opts.joliet and self.descriptors.joliet is not None:
            view, root = VIEW_JOLIET, self.descriptors.joliet.root_record
        else:
            view, root = VIEW_PLAIN, pvd.root_record
        try:
            self.tree = TreeReader(self.source, root, view, opts, rock_skip=skip,
                                   fallback_time=fallback)
        except (FormatError, CorruptEntry) as exc:
            raise ReaderError(f"{self.source.path}: root directory unreadable: {exc}") \
                from None
        self.view = view
        self.files = FileReader(self.source, opts.block_cache_bytes)

    # ---- tree access ------------------------------------------------------
    @property
    def root(self):
        return self.tree.root

    def listdir(self, inode):
        return self.tree.listdir(inode)

    def lookup(self, directory, name):
        return self.tree.lookup(directory, name)

    def read(self, inode, offset, size):
        return self.files.read(inode, offset, size)

    def read_cached(self, inode, offset, size):
        """``read`` if the page cache holds the bytes, else None (no wait)."""
        return self.files.read_cached(inode, offset, size)

    def prefetch_small_files(self, directory, max_file_bytes, budget=32 << 20):
        """Start reading the stored data of the directory's files up to
        ``max_file_bytes`` into the page cache, without waiting (at most
        ``budget`` bytes).  A program that reads one file of a directory
        usually reads its neighbours next; their extents lie side by side on
        the image, so one hint per run of them replaces a wait for the disk
        per file."""
        self._will_need(sorted(
            extent for child in self.listdir(directory)
            if child.is_regular and 0 < child.size <= max_file_bytes and child.zisofs is None
            for extent in child.extents), budget)

    def prefetch_subdirectories(self, directory, budget=8 << 20):
        """Start reading the extents of the directory's subdirectories, without
        waiting: a walk that listed a directory lists its subdirectories next,
        and writers place directories together, apart from the file data."""
        self._will_need(sorted(child.extents[0] for child in self.listdir(directory)
                               if child.is_dir), budget)

    def _will_need(self, extents, budget):
        """Hint sorted (sector, bytes) extents to the kernel, neighbours
        closer than PREFETCH_GAP joined into one span, ``budget`` bytes at most."""
        runs = []
        for sector, length in extents:
            start = sector * SECTOR
            if runs and start - (runs[-1][0] + runs[-1][1]) <= PREFETCH_GAP:
                runs[-1][1] = max(runs[-1][1], start + length - runs[-1][0])
            else:
                runs.append([start, length])
        for start, length in runs:
            length = min(length, budget)
            self.source.will_need(start, length)
            budget -= length
            if budget <= 0:
                break

    def readlink(self, inode):
        if inode.symlink is None:
            raise CorruptEntry("not a symbolic link")
        return inode.symlink

    def resolve(self, path):
        """The inode at a slash-separated path (bytes or str), no symlinks
        followed; None when it does not exist."""
        if isinstance(path, str):
            path = path.encode("utf-8", "surrogateescape")
        node = self.root
        for part in path.split(b"/"):
            if not part or part == b".":
                continue
            if not node.is_dir:
                return None
            node = self.lookup(node, part)
            if node is None:
                return None
        return node

    @property
    def size(self):
        return self.source.size

    @property
    def volume_sectors(self):
        return self.descriptors.end_sector

    def close(self):
        self.source.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- description --------------------------------------------------------
    def boot_catalog(self):
        record = self.descriptors.boot_record
        if record is None or record.catalog_sector is None:
            return None
        data = self.source.read_sectors(record.catalog_sector)
        try:
            return eltorito.decode_catalog(data)
        except FormatError as exc:
            log.warning("%s: boot catalog: %s", self.source.path, exc)
            return None

    def info(self):
        """A plain dict describing the image (for ``isofuse info``)."""
        def describe(desc):
            if desc is None:
                return None
            return {
                "system_id": desc.system_id,
                "volume_id": desc.volume_id,
                "volume_set_id": desc.volume_set_id,
                "publisher": desc.publisher_id,
                "preparer": desc.preparer_id,
                "application": desc.application_id,
                "copyright_file": desc.copyright_file_id,
                "abstract_file": desc.abstract_file_id,
                "bibliographic_file": desc.bibliographic_file_id,
                "volume_space_size": desc.volume_space_size,
                "logical_block_size": desc.logical_block_size,
                "path_table_size": desc.path_table_size,
                "created": format_iso_time((desc.creation_time or (None,))[0]),
                "modified": format_iso_time((desc.modification_time or (None,))[0]),
                "expires": format_iso_time((desc.expiration_time or (None,))[0]),
                "effective": format_iso_time((desc.effective_time or (None,))[0]),
            }

        d = self.descriptors
        catalog = self.boot_catalog()
        boot = None
        if catalog is not None:
            boot = {
                "catalog_sector": d.boot_record.catalog_sector,
                "id": catalog.id_string,
                "entries": [{
                    "platform": e.platform_name,
                    "bootable": e.bootable,
                    "media": e.media_name,
                    "load_segment": e.load_segment,
                    "sector_count": e.sector_count,
                    "load_rba": e.load_rba,
                } for e in catalog.entries],
            }
        extensions = []
        if self.has_rock_ridge:
            extensions.append("Rock Ridge")
        if d.joliet is not None:
            extensions.append(f"Joliet (UCS-2 level {d.joliet.joliet_level})")
        if d.enhanced is not None:
            extensions.append("ISO 9660:1999")
        if boot is not None:
            extensions.append("El Torito")
        return {
            "image": self.source.path,
            "image_bytes": self.source.size,
            "sessions": self.sessions,
            "session_start": d.session_start,
            "tree": self.view,
            "extensions": extensions,
            "primary": describe(d.primary),
            "joliet": describe(d.joliet),
            "enhanced": describe(d.enhanced),
            "boot": boot,
            "warnings": d.warnings,
        }


def open_image(path, options=None):
    return IsoImage(path, options)
