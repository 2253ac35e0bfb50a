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
from ..format import pathtable
from ..format.sectors import sectors_for
from . import sysarea
from .isotree import directory_projection
from .layout import Layout, file_key
from .options import DEEP_RELOCATE, MAX_ISO_LEVELS
from .placement import place_descriptors
from .planner import DirectoryPlanner, LayoutError, RecordDates, extent_count_for
from .rockridge_writer import RockRidgeWriter


BULK_DIRECTORIES = 1000     # more changed directories than this: measured with the GC paused


class _Share:
    """One directory's sectors and path table bytes in each tree."""

    __slots__ = ("iso_sectors", "joliet_sectors", "iso_pt", "joliet_pt", "deep", "error")

    def __init__(self):
        self.iso_sectors = self.joliet_sectors = self.iso_pt = self.joliet_pt = 0
        self.deep = False
        self.error = None


class PlainTree:
    """How a caller that keeps every entry as a Node shows its tree to the
    model (the default).  A caller may keep some entries otherwise (the
    stage keeps the files of untouched lower folders as packed records):
    it then gives the model an object with the same two methods."""

    @staticmethod
    def directory_view(directory):
        """A Node with ``directory``'s attributes, parent and every child,
        to measure it by."""
        return directory

    @staticmethod
    def complete():
        """Make the tree below the root whole (before a whole layout)."""


class SizeModel:
    def __init__(self, root, options, tree=PlainTree):
        self.root = root
        self.options = options
        self.tree = tree
        # link counts and serial numbers change values, never sizes
        rock = RockRidgeWriter(options, lambda node: 1, lambda node: 1,
                               options.source_date_epoch) if options.rock else None
        self.planner = DirectoryPlanner(options, rock, RecordDates(options.source_date_epoch))
        self._shares = {}       # directory Node -> _Share
        self._dirty = set()
        # Files with one name are only summed: their sizes come with every
        # call.  Hard links (file_key) share their data, counted once:
        self._linked_sectors = {}   # file key -> sectors
        self._linked_names = {}     # file key -> number of names in the tree
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

    def file_added(self, node):
        """A name of a file enters the tree (with its present size)."""
        if not node.is_regular or node.old_extents is not None:
            return  # data of an earlier session takes no new sector
        key = file_key(node)
        self.data_added(node.size, None if key is node else key)

    def file_removed(self, node):
        """A name of a file leaves the tree (with the size it was added or
        last resized with)."""
        if not node.is_regular or node.old_extents is not None:
            return
        key = file_key(node)
        self.data_removed(node.size, None if key is node else key)

    def data_added(self, size, link_key=None):
        """A regular file of ``size`` bytes, new in this session, that the
        caller may keep as no Node; ``link_key``: its file_key when it is
        one name of a hard-linked file (None: its only name)."""
        if link_key is None:
            self.data_sectors += sectors_for(size)
            return
        names = self._linked_names.get(link_key, 0)
        self._linked_names[link_key] = names + 1
        if not names:
            self._linked_sectors[link_key] = sectors = sectors_for(size)
            self.data_sectors += sectors

    def single_files_added(self, sizes):
        """Regular files with one name each, of these sizes (data_added
        for a whole folder at once)."""
        self.data_sectors += sum(map(sectors_for, sizes))

    def data_removed(self, size, link_key=None):
        if link_key is None:
            self.data_sectors -= sectors_for(size)
            return
        left = self._linked_names.get(link_key, 0) - 1
        if left > 0:
            self._linked_names[link_key] = left
            return
        self._linked_names.pop(link_key, None)
        self.data_sectors -= self._linked_sectors.pop(link_key, 0)

    def file_resized(self, node, old_size):
        """A regular file's size changed (write, truncate), after the
        caller reported its name removed with the old size and added with
        the new one: a file with other names keeps the data it had until
        here."""
        key = file_key(node)
        if key is not node and key in self._linked_sectors:
            new = sectors_for(node.size)
            self.data_sectors += new - self._linked_sectors[key]
            self._linked_sectors[key] = new
        # crossing a 4 GiB extent boundary changes the number of records
        if extent_count_for(old_size) != extent_count_for(node.size) \
                and node.parent is not None:
            self._dirty.add(node.parent)

    # ---- the size ----------------------------------------------------------------------------------
    def _share(self, directory):
        share = _Share()
        iso, joliet = directory_projection(self.tree.directory_view(directory), self.options)
        for child in iso.children:
            if child.is_dir:
                share.iso_pt += pathtable.record_size(len(child.identifier))
                if self.options.names.level < 4 and child.level > MAX_ISO_LEVELS:
                    share.deep = True
        try:
            share.iso_sectors = self.planner.iso_plan(iso).sectors
        except LayoutError as exc:
            share.error = str(exc)
            share.iso_sectors = 1       # an empty plan's sector, as before
        if joliet is not None:
            share.joliet_pt = sum(pathtable.record_size(len(child.identifier))
                                  for child in joliet.children if child.is_dir)
            share.joliet_sectors = self.planner.joliet_plan(joliet).sectors
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
                or opts.hide_joliet or opts.partition_offset:
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
            self.tree.complete()
            whole = Layout(self.root, self.options)
            return whole.total_sectors - whole.base
        opts = self.options
        iso_pt = pathtable.record_size(1) + sum(s.iso_pt for s in self._shares.values())
        total = place_descriptors(opts).end + 2 * sectors_for(iso_pt)
        if opts.joliet:
            joliet_pt = pathtable.record_size(1) + sum(s.joliet_pt for s in
                                                       self._shares.values())
            total += 2 * sectors_for(joliet_pt)
        total += sum(s.iso_sectors + s.joliet_sectors for s in self._shares.values())
        return total + self.data_sectors + opts.padding_sectors
