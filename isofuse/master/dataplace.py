"""Where the file data goes: one DataItem per file, in the trees' order.

Every regular file with data gets a run of whole sectors after the
metadata (hard links one run, empty files and data of an earlier session
none), in ISO 9660 tree order -- directories depth first, the files of
each in record order -- then the files only the Joliet tree shows, then
those no tree lists (-hide: xorrisofs and genisoimage write their data
all the same); hybrid boot images first, and -sort weights reorder the
rest.  A file's extents (ISO 9660 level 3 splits at MAX_EXTENT_BYTES,
§6.5.1) follow from its first sector.
"""

from ..format.sectors import SECTOR, sectors_for
from .planner import MAX_EXTENT_BYTES, extent_lengths_for


def file_key(node):
    """One key per file: hard links (same device and inode) share it."""
    if node.is_regular and node.nlink > 1 and node.dev_ino is not None:
        return node.dev_ino
    return node


# a DataItem met by the data walk whose sector is given once all are met
PENDING = -1


class _InTheStream:
    """``start`` and ``end``: where a run of file data lies in the session's
    byte stream (from its ``sector``, ``base`` and ``size``)."""

    __slots__ = ()

    @property
    def start(self):
        """Offset in the session's byte stream."""
        return (self.sector - self.base) * SECTOR

    @property
    def end(self):
        return self.start + self.size


class DataItem(_InTheStream):
    """A run of file data in the image: ``size`` bytes from ``path`` (or
    from ``data``) at sector ``sector``; the rest of its last sector is zero."""

    __slots__ = ("sector", "size", "path", "data", "patch_offset", "patch", "source_size",
                 "base", "reader")
    node = None     # not a file of the source tree (FileData is)

    def __init__(self, sector, size, path=None, data=None, source_size=0, reader=None, base=0):
        self.sector = sector
        self.size = size
        self.path = path
        self.data = data
        self.patch_offset = 0       # boot-info-table: bytes replaced in the data
        self.patch = b""
        self.source_size = source_size  # the size the file had when scanned
        self.base = base            # first sector of the session (stream offset 0)
        self.reader = reader        # read(offset, size) when the data is not a file

    @classmethod
    def patched(cls, item, offset, patch):
        """A copy of ``item`` (a DataItem or FileData) whose bytes from
        ``offset`` on are replaced by ``patch`` when read."""
        copy = cls(item.sector, item.size, item.path, item.data, item.source_size,
                   item.reader, item.base)
        copy.patch_offset, copy.patch = offset, patch
        return copy


class FileData(_InTheStream):
    """The DataItem of a source tree's file: its sector, size and node
    (``path``, ``data`` and ``reader`` read from the node).  One per file
    with data, so four slots instead of DataItem's nine; a boot image
    whose bytes are patched gets a DataItem instead (DataItem.patched)."""

    __slots__ = ("sector", "size", "node", "base")
    patch_offset = 0
    patch = b""

    def __init__(self, sector, node, base):
        self.sector = sector
        self.size = node.size
        self.node = node
        self.base = base

    @property
    def path(self):
        return self.node.path

    @property
    def data(self):
        return self.node.data

    @property
    def reader(self):
        return self.node.reader

    @property
    def source_size(self):
        """The size the file had when scanned."""
        return self.size


class DataPlacement:
    """The DataItems of one layout: ``items`` by file key (file_key),
    ``data_items`` in the order of the image.  ``catalog_node`` is the
    El Torito catalog (at ``catalog_sector``, among the descriptors)."""

    def __init__(self, options, base, catalog_node, catalog_sector):
        self.options = options
        self.base = base
        self.catalog_node = catalog_node
        self.catalog_sector = catalog_sector
        self.items = {}
        self.data_items = []

    def item_of(self, node):
        """The DataItem of a regular file's data (one per hard-linked file;
        None for an empty file, the boot catalog and data of an earlier
        session, which take no new sector).  Its sector comes from place."""
        if node.size == 0 or node.old_extents is not None or node is self.catalog_node:
            return None
        key = file_key(node)
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = FileData(None, node, self.base)
        return item

    def place(self, sector, trees, root_node, placed_first=()):
        """Give every file's data its sectors from ``sector`` on: the
        ``placed_first`` nodes, then the files of each of ``trees`` (the
        ISO 9660 root, then with -hide the Joliet root), then with -hide
        the files no tree lists; with sort weights (-sort) the heavier
        files first, ties in that order.  Returns the sector after the
        last."""
        # FileData in placement order (each knows the node it was met as
        # first, which -sort weighs: a list of (item, node) pairs would
        # cost a tuple per file)
        order = []
        for node in placed_first:
            item = self.item_of(node)
            if item is not None and item.sector is None:
                item.sector = PENDING
                order.append(item)
        first = len(order)
        placed_first = frozenset(placed_first)
        for root in trees:
            self._collect_tree(root, placed_first, order)
        if self.options.hide_iso:
            self._collect_unlisted(root_node, placed_first, order)
        weights = self.options.sort_weights
        if weights:
            # genisoimage -sort, xorrisofs --sort-weight: heavier first
            order[first:] = sorted(order[first:], key=lambda item: -weights.get(item.node, 0))
        self.data_items[:] = order
        for item in self.data_items:
            item.sector = sector
            sector += sectors_for(item.size)
        return sector

    def _collect_unlisted(self, root_node, placed_first, order):
        """Append the files no tree lists (-hide without Joliet, or hidden
        from both trees): xorrisofs and genisoimage write their data all
        the same.  In name order below each folder, for a stable image."""
        hidden = self.options.hide_iso
        stack = [(root_node, False)]
        while stack:
            node, inside = stack.pop()
            folders = []
            for name in sorted(node.children):
                kid = node.children[name]
                below = inside or kid in hidden
                if kid.is_dir:
                    folders.append((kid, below))
                elif below and kid.is_regular and kid not in placed_first:
                    item = self.item_of(kid)
                    if item is not None and item.sector is None:
                        item.sector = PENDING
                        order.append(item)
            stack.extend(reversed(folders))

    def _collect_tree(self, root, placed_first, order):
        """Append the FileData of every file of a tree not met yet to
        ``order``, in the tree's order: directories depth first, the files
        of each in record order (marking each item PENDING)."""
        append = order.append
        item_of = self.item_of
        extents, catalog, base = self.items, self.catalog_node, self.base
        level = self.options.names.level
        stack = [root]
        while stack:
            directory = stack.pop()
            subdirs = []
            for child in directory.children:
                node = child.node
                if child.is_dir:
                    subdirs.append(child)
                    continue
                if node.size > MAX_EXTENT_BYTES and level < 3:
                    continue                    # not recorded (Joliet of a -hide file)
                if not node.size or not node.is_regular or child.is_placeholder \
                        or node is catalog or node in placed_first:
                    continue                    # no data, a CL placeholder, symlink, device
                if node.nlink == 1 and node.old_extents is None:
                    item = extents.get(node)
                    if item is None:
                        # item_of inlined: a file with one link, met once
                        item = extents[node] = FileData(None, node, base)
                else:
                    item = item_of(node)        # hard links, data of an earlier session
                    if item is None:
                        continue
                if item.sector is None:
                    item.sector = PENDING
                    append(item)
            stack.extend(reversed(subdirs))

    def file_extents(self, node):
        """[(sector, bytes)] of a file's data, split at MAX_EXTENT_BYTES."""
        if node is self.catalog_node:
            return [(self.catalog_sector, SECTOR)]
        old = node.old_extents
        if old is not None:
            return old
        item = self.items.get(file_key(node))
        size = node.size if node.is_regular else 0
        if item is None:
            return [(0, 0)] if size == 0 else None
        out, sector = [], item.sector
        for part in extent_lengths_for(size):
            out.append((sector, part))
            sector += sectors_for(part)
        return out
