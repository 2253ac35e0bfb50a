"""The trees recorded on the disc, projected from one source tree.

The ISO 9660 tree (also carrying Rock Ridge) has translated names and, with
Rock Ridge, directories deeper than 8 levels moved to ``rr_moved`` (RRIP
§4.1.5: a CL placeholder stays at the original place, the moved directory
carries RE, its ".." carries PL).  The Joliet tree keeps the source's shape
with UTF-16 names.  Both point at the same file data.
"""

from dataclasses import replace
from typing import List

from . import naming
from .options import (DEEP_ALLOW, DEEP_DROP, DEEP_ERROR, DEEP_RELOCATE, MAX_ISO_LEVELS)
from .sourcetree import new_directory

RR_MOVED = b"rr_moved"
HIDDEN_RR_MOVED = b".rr_moved"     # -hide-rr-moved, as genisoimage and xorrisofs name it


class TreeError(Exception):
    """The tree cannot be recorded with the chosen options."""


class DiscEntry:
    """An entry of a recorded tree (slotted: there is one per file and tree)."""

    __slots__ = ("node", "identifier", "is_dir", "parent", "children", "level",
                 "relocated_to", "placeholder", "extent", "size", "number", "plan",
                 "is_relocation_dir")

    def __init__(self, node, identifier, is_dir, parent=None, level=1, placeholder=None):
        self.node = node                # sourcetree.Node
        self.identifier = identifier    # the recorded file identifier
        self.is_dir = is_dir
        self.parent = parent
        self.children: List["DiscEntry"] = []
        self.level = level              # the root is level 1 (§6.8.2.1)
        self.relocated_to = None        # CL placeholder -> moved directory
        self.placeholder = placeholder  # moved directory -> its CL placeholder
        self.extent = 0                 # filled by the layout
        self.size = 0
        self.number = 0                 # path table directory number
        self.plan = None                # planner.DirectoryPlan, made by the layout
        self.is_relocation_dir = False  # rr_moved itself (gets RE, as libisofs writes it)

    @property
    def is_placeholder(self):
        return self.relocated_to is not None

    @property
    def is_relocated(self):
        return self.placeholder is not None


class _NotADirectory:
    """What a DiscEntry has that is fixed for a file, symlink, device or
    FIFO (class attributes: nothing stored per file)."""

    __slots__ = ()
    is_dir = False
    children = ()
    relocated_to = None
    placeholder = None
    is_placeholder = False
    is_relocated = False
    is_relocation_dir = False


class FileEntry(_NotADirectory):
    """A file, symlink, device or FIFO of a recorded tree: its node and
    identifier; everything else a DiscEntry has is fixed for it (a lighter
    object: there is one per file and tree; no parent, which nothing
    reads for a file)."""

    __slots__ = ("node", "identifier")

    def __init__(self, node, identifier):
        self.node = node
        self.identifier = identifier


class PlainJolietFile(_NotADirectory):
    """A file of a Joliet directory whose names are all plain (printable
    ASCII within the limit, naming.plain_joliet_identifiers): its
    identifier is its name in UTF-16, made when asked instead of kept (a
    FileEntry's identifier is some 60 bytes per file)."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    @property
    def identifier(self):
        return self.node.name.decode("ascii").encode("utf-16-be")


def _max_dir_depth(root, hidden=frozenset()):
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for child in node.children.values():
            if child.is_dir and child not in hidden:
                stack.append((child, level + 1))
    return deepest


def _shown(node, hidden):
    """A directory's children that the tree records: -hide / -hide-joliet
    leave a node (and, for a folder, all below it) out of one tree only."""
    kids = node.children.values()
    if hidden:
        return [kid for kid in kids if kid not in hidden]
    return list(kids)


def iso_rules(options):
    """The naming rules of the ISO 9660 tree: with Rock Ridge, level 4
    names are cut where the record keeps room for a CE entry."""
    rules = options.names
    if options.rock and rules.level >= 4 and rules.level4_limit > naming.LEVEL4_ROCK_RIDGE_MAX:
        return replace(rules, level4_limit=naming.LEVEL4_ROCK_RIDGE_MAX)
    return rules


def iso_named(kids, rules, extra_names=()):
    """[(kid, identifier, sort key)] of a directory's children (``kids``,
    then ``extra_names``' directories, with kid None), named by the ISO
    9660 rules; sorting by the keys gives the order of ECMA-119 §9.3."""
    keys = [None] * (len(kids) + len(extra_names))
    idents = naming.assign_iso_names(
        [(k.name, k.is_dir) for k in kids] + [(name, True) for name in extra_names],
        rules, keys)
    return list(zip(list(kids) + [None] * len(extra_names), idents, keys))


def joliet_named(node, options, hidden=frozenset()):
    """[(kid, identifier)] of a source directory's children as the Joliet
    tree records them, in its order (by UCS-2 identifier)."""
    return _joliet_named(node, options, hidden)[0]


def _joliet_named(node, options, hidden):
    """(joliet_named's list, whether every name is plain: each identifier
    is then the name in UTF-16)."""
    kids = [kid for _, kid in sorted(node.children.items())
            if not hidden or kid not in hidden]
    idents = naming.plain_joliet_identifiers([k.name for k in kids], options.joliet_long)
    if idents is not None:      # plain names: sorted already
        return list(zip(kids, idents)), True
    names = naming.assign_joliet_names([(k.name, k.is_dir) for k in kids],
                                       options.joliet_long)
    named = [(kid, naming.joliet_identifier(name)) for kid, name in zip(kids, names)]
    named.sort(key=lambda pair: pair[1])
    return named, False


def build_iso_tree(root, options, warn):
    rules = iso_rules(options)
    policy = options.deep_policy
    limit_levels = rules.level < 4 and policy != DEEP_ALLOW
    hidden = options.hide_iso
    relocation_name = HIDDEN_RR_MOVED if options.hide_rr_moved else RR_MOVED
    needs_relocation = limit_levels and _max_dir_depth(root, hidden) > MAX_ISO_LEVELS
    if needs_relocation and policy == DEEP_ERROR:
        raise TreeError("the tree is deeper than the 8 directory levels ISO 9660 allows; "
                        "use Rock Ridge (-R/-r) to relocate deep directories, -D to "
                        "record them anyway, or --drop-deep to leave them out")
    disc_root = DiscEntry(node=root, identifier=b"\x00", is_dir=True, level=1)
    rr_moved = None
    moved = []
    if needs_relocation and policy == DEEP_RELOCATE:
        rr_node = new_directory(relocation_name, root.mtime)
        rr_node.parent = root
        rr_moved = DiscEntry(node=rr_node, identifier=b"", is_dir=True, level=2,
                             parent=disc_root)
        rr_moved.is_relocation_dir = True

    stack = [disc_root]
    while stack:
        dentry = stack.pop()
        kids = _shown(dentry.node, hidden)
        extra = [rr_moved] if (dentry is disc_root and rr_moved is not None) else []
        named = iso_named(kids, rules, [relocation_name] * len(extra))
        level = dentry.level
        children = []           # in the order of kids, then sorted by their keys
        child_keys = []
        for kid, ident, key in named[:len(kids)]:
            if not kid.is_dir:      # once per file
                children.append(FileEntry(kid, ident))
                child_keys.append(key)
                continue
            entry = DiscEntry(kid, ident, True, dentry, level + 1)
            if limit_levels and entry.level > MAX_ISO_LEVELS:
                if policy == DEEP_DROP:
                    warn(f"left out (deeper than 8 levels): "
                         f"{kid.path_on_disc().decode(errors='replace')}")
                    continue
                # RRIP §4.1.5.1: a placeholder here, the directory in rr_moved.
                real = DiscEntry(node=kid, identifier=b"", is_dir=True, parent=rr_moved,
                                 level=rr_moved.level + 1, placeholder=entry)
                entry.is_dir = False
                entry.relocated_to = real
                entry.level = dentry.level
                moved.append(real)
                children.append(entry)
                child_keys.append(key)
                stack.append(real)
                continue
            children.append(entry)
            child_keys.append(key)
            stack.append(entry)
        for entry, (_, ident, key) in zip(extra, named[len(kids):]):
            entry.identifier = ident
            children.append(entry)
            child_keys.append(key)
        # ECMA-119 §9.3 order
        dentry.children = [children[i] for i in sorted(range(len(children)),
                                                      key=child_keys.__getitem__)]
    if rr_moved is not None:
        idents = naming.assign_iso_names([(m.node.name, True) for m in moved], rules)
        for entry, ident in zip(moved, idents):
            entry.identifier = ident
        rr_moved.children = sorted(moved, key=lambda e: naming.iso_sort_key(e.identifier))
        _fix_levels(rr_moved)
    return disc_root


def _fix_levels(rr_moved):
    """Moved directories sit at level 3; their subtrees follow."""
    stack = [rr_moved]
    while stack:
        entry = stack.pop()
        for child in entry.children:
            if child.is_dir:
                child.level = entry.level + 1
                stack.append(child)


def build_joliet_tree(root, options):
    # Directories that the ISO 9660 tree leaves out (--drop-deep) are left
    # out here too: their files get no data in the image.
    drop_deep = options.deep_policy == DEEP_DROP and options.names.level < 4
    hidden = options.hide_joliet
    disc_root = DiscEntry(node=root, identifier=b"\x00", is_dir=True, level=1)
    stack = [disc_root]
    while stack:
        dentry = stack.pop()
        level = dentry.level + 1
        children = dentry.children
        named, plain = _joliet_named(dentry.node, options, hidden)
        for kid, ident in named:
            if kid.is_dir:
                if drop_deep and level > MAX_ISO_LEVELS:
                    continue
                entry = DiscEntry(kid, ident, True, dentry, level)
                stack.append(entry)
            elif plain:
                entry = PlainJolietFile(kid)    # once per file
            else:
                entry = FileEntry(kid, ident)
            children.append(entry)
    return disc_root


def directory_projection(directory, options):
    """The ISO 9660 entry and (with Joliet) the Joliet entry of one source
    directory with its children, named and ordered as the tree builders
    do, for planning one directory alone (sizing.py).  No relocation and
    no hiding: the size model leaves those to a whole layout."""
    level = 1
    node = directory
    while node.parent is not None:
        level += 1
        node = node.parent
    parent = None
    if directory.parent is not None:
        parent = DiscEntry(node=directory.parent, identifier=b"\x00", is_dir=True)
    iso = DiscEntry(node=directory, identifier=b"\x00", is_dir=True, parent=parent,
                    level=level)
    named = iso_named(list(directory.children.values()), iso_rules(options))
    named.sort(key=lambda triple: triple[2])
    iso.children = [DiscEntry(kid, ident, True, iso, level + 1) if kid.is_dir
                    else FileEntry(kid, ident) for kid, ident, _ in named]
    joliet = None
    if options.joliet:
        joliet = DiscEntry(node=directory, identifier=b"\x00", is_dir=True, parent=parent)
        joliet.children = [DiscEntry(kid, ident, True, joliet, level + 1) if kid.is_dir
                           else FileEntry(kid, ident)
                           for kid, ident in joliet_named(directory, options)]
    return iso, joliet


def directories_in_path_table_order(root):
    """ECMA-119 §6.9.1: by level, then parent's number, then identifier --
    a breadth-first walk over sorted children.  Numbers the directories."""
    order = [root]
    root.number = 1
    i = 0
    while i < len(order):
        entry = order[i]
        for child in entry.children:
            if child.is_dir:
                order.append(child)
                child.number = len(order)
        i += 1
    return order
