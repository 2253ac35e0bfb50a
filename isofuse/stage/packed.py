"""The files of a lower folder that nothing changed yet, packed.

Mounting a stage over a big lower tree models every entry of it (the disc
needs their names and sizes); a ``sourcetree.Node`` per file costs about
200 bytes with its name and ints, 40 MiB for 100,000 files.  Until a
folder is changed or laid out, its entries other than folders are kept
here instead, as columns: the names joined in one bytes object (a name
never holds "/", POSIX.1-2017 3.170), and each attribute either one int
(all equal: modes, owners and times repeat in a tree) or an array of
offsets from the smallest value in the narrowest item size that holds
them -- a few bytes a file.  ``nodes`` makes Nodes of them again,
equal to what reading the folder gives.
"""

import stat
from array import array

# Attributes a Node has for a lower file, in the order the columns keep
# them (sourcetree.Node's constructor takes them in this order after the
# name; dev_ino and the link target are kept apart, for the few that
# have one).
FIELDS = ("mode", "uid", "gid", "size", "mtime", "atime", "ctime", "nlink", "rdev")
MODE, SIZE = FIELDS.index("mode"), FIELDS.index("size")
_TYPECODES = "BHIQ"     # unsigned, 1, 2, 4 and 8 bytes


def pack_column(values):
    """One int when every value is equal, else (smallest, array of offsets)."""
    low, high = min(values), max(values)
    if low == high:
        return low
    span = high - low
    offsets = [value - low for value in values]
    for code in _TYPECODES:
        if span < 1 << (8 * array(code).itemsize):
            return low, array(code, offsets)
    return low, offsets     # wider than any int of struct stat: kept as is


def unpack_column(column, count):
    """The ``count`` values of a column, as a list."""
    if isinstance(column, int):
        return [column] * count
    low, offsets = column
    return [low + offset for offset in offsets]


def column_value(column, index):
    if isinstance(column, int):
        return column
    return column[0] + column[1][index]


class PackedFiles:
    """The entries other than folders of one folder, in columns."""

    __slots__ = ("names", "count", "columns", "links", "symlinks")

    def __init__(self, names, rows, links, symlinks):
        """``names``: bytes names; ``rows``: a tuple of FIELDS' values for
        each; ``links``: index -> dev_ino of the hard-linked regular files;
        ``symlinks``: index -> link target."""
        self.names = b"/".join(names)
        self.count = len(names)
        self.columns = tuple(pack_column(column) for column in zip(*rows))
        self.links = links or None
        self.symlinks = symlinks or None

    def name_list(self):
        return self.names.split(b"/") if self.count else []

    def index(self, name):
        """The index of ``name``, or -1."""
        if b"/" in name or name not in self.names:
            return -1       # the substring test first: cheap, and mostly enough
        try:
            return self.name_list().index(name)
        except ValueError:
            return -1

    def value(self, field, index):
        return column_value(self.columns[FIELDS.index(field)], index)

    def sizes(self):
        return unpack_column(self.columns[SIZE], self.count)

    def data_files(self):
        """([size of each regular file with one name], [(size, link key)
        of each hard-linked one])."""
        sizes = self.sizes()
        links = self.links or {}
        mode = self.columns[MODE]
        if isinstance(mode, int) and not links:     # one mode for all (common)
            return (sizes if stat.S_ISREG(mode) else []), []
        modes = unpack_column(mode, self.count)
        singles = [size for i, (mode, size) in enumerate(zip(modes, sizes))
                   if stat.S_ISREG(mode) and i not in links]
        return singles, [(sizes[i], key) for i, key in links.items()]

    def nodes(self, node_class):
        """Nodes of every entry (``node_class``: sourcetree.Node), without
        parent or data path."""
        values = [unpack_column(column, self.count) for column in self.columns]
        links = self.links or {}
        symlinks = self.symlinks or {}
        made = []
        for i, (name, row) in enumerate(zip(self.name_list(), zip(*values))):
            node = node_class(name, *row, links.get(i))
            target = symlinks.get(i)
            if target is not None:
                node.symlink = target
            made.append(node)
        return made
