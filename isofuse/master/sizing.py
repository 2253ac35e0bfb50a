"""The exact size of the image a changing tree will become, kept up to date
without re-walking the tree.

The layout is built so that every directory's share of the image depends on
that directory alone: its ISO 9660 records (names, Rock Ridge entries) and
continuation areas, its Joliet records, and its children's path table
records.  The model caches each directory's share and recomputes only the
directories it is told changed, with the very functions the layout uses, so
the total equals ``isofuse master -print-size`` of the same tree (tests hold
it to that after every step of a session).

Trees that need deep-directory relocation or El Torito fall back to a whole
layout (rare for staging; documented).
"""

from ..bulk import collector_paused
from . import naming, sysarea
from .isotree import DiscEntry
from .layout import SECTOR, SYSTEM_AREA_SECTORS, Layout, LayoutError, sectors_for
from .options import DEEP_RELOCATE, MAX_ISO_LEVELS
from ..format import pathtable


BULK_DIRECTORIES = 1000     # more changed directories than this: measured with the GC paused


class _Share:
    __slots__ = ("iso_sectors", "joliet_sectors", "iso_pt", "joliet_pt", "deep", "error")

    def __init__(self):
        self.iso_sectors = self.joliet_sectors = self.iso_pt = self.joliet_pt = 0
        self.deep = False
        self.error = None


class _Planner(Layout):
    """The layout's record functions, without planning a whole image."""

    def __init__(self, options):  # noqa: D401 -- deliberately skips Layout.__init__
        self.options = options
        self.warnings = []
        self._warn = self.warnings.append
        self.fixed_time = options.source_date_epoch
        self.catalog_node = None
        from .rockridge_writer import RockRidgeWriter
        # link counts and serial numbers change values, never sizes
        self.rr = RockRidgeWriter(options, lambda node: 1, lambda node: 1,
                                  self.fixed_time) if options.rock else None


class SizeModel:
    def __init__(self, root, options):
        self.root = root
        self.options = options
        self.planner = _Planner(options)
        self._shares = {}       # directory Node -> _Share
        self._dirty = set()
        self._data = {}         # file key -> sectors (hard links counted once)
        self._names = {}        # file key -> number of names
        self.data_sectors = 0
        self.errors = []
        for node in [root] + list(root.walk()):
            if node.is_dir:
                self._dirty.add(node)
            else:
                self.file_added(node)

    # ---- what the caller reports ---------------------------------------------------------------
    def directory_changed(self, directory):
        """Children added, removed or renamed; a child's type or link target
        changed; or the directory moved (its depth may change)."""
        self._dirty.add(directory)

    def directory_removed(self, directory):
        self._shares.pop(directory, None)
        self._dirty.discard(directory)

    @staticmethod
    def _key(node):
        return Layout._key(node)

    def file_added(self, node):
        if not node.is_regular or node.old_extents is not None:
            return  # data of an earlier session takes no new sector
        key = self._key(node)
        self._names[key] = self._names.get(key, 0) + 1
        if key not in self._data:
            self._data[key] = sectors_for(node.size)
            self.data_sectors += self._data[key]

    def file_removed(self, node):
        if not node.is_regular or node.old_extents is not None:
            return
        key = self._key(node)
        left = self._names.get(key, 0) - 1
        if left > 0:
            self._names[key] = left
            return
        self._names.pop(key, None)
        self.data_sectors -= self._data.pop(key, 0)

    def file_resized(self, node, old_size):
        """A regular file's size changed (write, truncate)."""
        key = self._key(node)
        if key in self._data:
            new = sectors_for(node.size)
            self.data_sectors += new - self._data[key]
            self._data[key] = new
        # crossing a 4 GiB extent boundary changes the number of records
        if Layout._extent_lengths_for(old_size) != Layout._extent_lengths_for(node.size) \
                and node.parent is not None:
            self._dirty.add(node.parent)

    # ---- the size ----------------------------------------------------------------------------------
    def _depth(self, directory):
        depth, node = 1, directory
        while node.parent is not None:
            depth += 1
            node = node.parent
        return depth

    def _share(self, directory):
        share = _Share()
        opts = self.options
        rules = opts.names
        kids = list(directory.children.values())
        level = self._depth(directory)
        parent = DiscEntry(node=directory.parent or directory, identifier=b"\x00",
                           is_dir=True)
        entry = DiscEntry(node=directory, identifier=b"\x00", is_dir=True,
                          parent=parent if directory.parent is not None else None,
                          level=level)
        idents = naming.assign_iso_names([(k.name, k.is_dir) for k in kids], rules)
        for kid, ident in zip(kids, idents):
            entry.children.append(DiscEntry(node=kid, identifier=ident, is_dir=kid.is_dir,
                                            parent=entry, level=level + 1))
            if kid.is_dir:
                share.iso_pt += pathtable.record_size(len(ident))
                if rules.level < 4 and level + 1 > MAX_ISO_LEVELS:
                    share.deep = True
        entry.children.sort(key=lambda e: naming.iso_sort_key(e.identifier))
        try:
            records, sizes = self.planner._iso_records(entry)
        except LayoutError as exc:
            share.error = str(exc)
            records, sizes = [], []
        share.iso_sectors = (self.planner._packed_bytes(sizes) // SECTOR
                             + self.planner._place_continuations(records, 0))
        if opts.joliet:
            jentry = DiscEntry(node=directory, identifier=b"\x00", is_dir=True,
                               parent=parent if directory.parent is not None else None)
            jnames = naming.assign_joliet_names([(k.name, k.is_dir) for k in kids],
                                                opts.joliet_long)
            for kid, name in zip(kids, jnames):
                ident = naming.joliet_identifier(name)
                jentry.children.append(DiscEntry(node=kid, identifier=ident,
                                                 is_dir=kid.is_dir, parent=jentry))
                if kid.is_dir:
                    share.joliet_pt += pathtable.record_size(len(ident))
            jentry.children.sort(key=lambda e: e.identifier)
            share.joliet_sectors = self.planner._packed_bytes(
                self.planner._joliet_records(jentry)[1]) // SECTOR
        return share

    def _measure_dirty(self):
        for directory in list(self._dirty):
            self._shares[directory] = self._share(directory)
        self._dirty.clear()

    def _needs_whole_layout(self):
        opts = self.options
        # hybrid system areas, MD5 tags and hiding change sectors outside
        # the directories' shares: only a whole layout counts them
        if opts.boot or opts.md5 or sysarea.wanted(opts) or opts.hide_iso \
                or opts.hide_joliet:
            return True
        return (
            any(s.deep for s in self._shares.values())
            and self.options.deep_policy == DEEP_RELOCATE)

    def total_sectors(self):
        """Sectors of the image (what -print-size prints)."""
        if len(self._dirty) > BULK_DIRECTORIES:
            with collector_paused():    # the first count after mounting a big tree
                self._measure_dirty()
        else:
            self._measure_dirty()
        self.errors = [s.error for s in self._shares.values() if s.error]
        if self._needs_whole_layout():
            whole = Layout(self.root, self.options)
            return whole.total_sectors - whole.base
        opts = self.options
        descriptors = 2 + (1 if opts.joliet else 0) + (1 if opts.enhanced else 0)
        iso_pt = pathtable.record_size(1) + sum(s.iso_pt for s in self._shares.values())
        total = SYSTEM_AREA_SECTORS + descriptors + 2 * sectors_for(iso_pt)
        if opts.joliet:
            joliet_pt = pathtable.record_size(1) + sum(s.joliet_pt for s in
                                                       self._shares.values())
            total += 2 * sectors_for(joliet_pt)
        total += sum(s.iso_sectors + s.joliet_sectors for s in self._shares.values())
        return total + self.data_sectors + opts.padding_sectors
