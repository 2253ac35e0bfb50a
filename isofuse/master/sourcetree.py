"""The tree to master: source folders and files, merged under one root.

``SOURCE`` arguments follow mkisofs: a folder's contents go to the root of
the image, a file goes to the root; with graft points (``-graft-points``)
``/path/on/disc=SOURCE`` puts SOURCE at that path.  Every entry is lstat'ed
once here; the layout and the stream work from these records only, so the
image size is fixed before any data is read.
"""

import os
import stat
from stat import S_ISDIR, S_ISLNK, S_ISREG, S_ISSOCK
from types import MappingProxyType
from typing import Dict

from ..bulk import collector_paused


class SourceError(Exception):
    """A source cannot be used (missing, unreadable); the message names it."""


# The children of every non-directory: empty and read-only.
NO_CHILDREN = MappingProxyType({})


class Node:
    """One entry of the tree to master (a plain class with slots: big trees
    have hundreds of thousands of them)."""

    __slots__ = ("name", "mode", "uid", "gid", "size", "mtime", "atime", "ctime", "nlink",
                 "rdev", "dev_ino", "path", "symlink", "parent", "children", "data",
                 "old_extents", "reader", "is_dir", "is_regular", "is_symlink")

    def __init__(self, name, mode, uid=0, gid=0, size=0, mtime=0, atime=0, ctime=0, nlink=1,
                 rdev=0, dev_ino=None, path=None, symlink=None, parent=None, data=None):
        self.name = name                  # bytes, as on the source
        self.uid, self.gid, self.size, self.nlink, self.rdev = uid, gid, size, nlink, rdev
        self.mtime, self.atime, self.ctime = mtime, atime, ctime
        self.dev_ino = dev_ino            # hard links share it
        self.path = path                  # where the data comes from
        self.symlink = symlink
        self.parent = parent
        self.data = data                  # synthetic content (boot catalog ...)
        self.old_extents = None           # data already on the disc (multisession)
        self.reader = None                # read(offset, size) for data not in a file
        # set_mode inlined: this runs once per file of the tree
        self.mode = mode
        self.is_dir = is_dir = S_ISDIR(mode)
        self.is_regular = S_ISREG(mode)
        self.is_symlink = S_ISLNK(mode)
        # Only directories get a dict of their own (one per file adds up).
        self.children: Dict[bytes, "Node"] = {} if is_dir else NO_CHILDREN

    def set_mode(self, mode):
        self.mode = mode
        self.is_dir = S_ISDIR(mode)
        self.is_regular = S_ISREG(mode)
        self.is_symlink = S_ISLNK(mode)
        if self.is_dir and self.children is NO_CHILDREN:
            self.children = {}

    def depth(self):
        d, node = 0, self
        while node.parent is not None:
            d += 1
            node = node.parent
        return d

    def path_on_disc(self):
        parts, node = [], self
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return b"/" + b"/".join(reversed(parts))

    def walk(self):
        """Every node below (not including) this one, parents before children."""
        stack = [self]
        while stack:
            node = stack.pop()
            for child in node.children.values():
                yield child
                if child.is_dir:
                    stack.append(child)


def _from_stat(name, st, path):
    # A stat result unpacks to its ten integer fields (times in whole
    # seconds, as struct stat has them): much cheaper than ten attributes.
    mode, ino, dev, nlink, uid, gid, size, atime, mtime, ctime = st
    node = Node(name, mode, uid, gid, size if S_ISREG(mode) else 0, mtime, atime, ctime,
                nlink, st.st_rdev, (dev, ino), path)
    if S_ISLNK(mode):
        node.symlink = os.readlink(os.fsencode(path))
    return node


def new_directory(name, mtime, mode=0o40755):
    return Node(name=name, mode=mode, mtime=mtime, atime=mtime, ctime=mtime, nlink=2)


def _scan_directory(target, path, on_error):
    """Fill ``target`` with the entries of the folder at ``path``.

    The walk uses bytes paths: names come back as the bytes on the source
    without a decode/encode round trip per entry (this runs once per file).
    """
    stack = [(target, os.fsencode(path))]
    while stack:
        node, folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = [(e.name, e.path, e.stat(follow_symlinks=False)) for e in entries]
        except OSError as exc:
            on_error(SourceError(f"cannot read folder {os.fsdecode(folder)}: {exc.strerror}"))
            continue
        children = node.children
        for name, child_path, st in listing:
            mode = st.st_mode
            if S_ISREG(mode):
                # _from_stat inlined: the common case, once per file (a
                # regular file has no device number)
                mode, ino, dev, nlink, uid, gid, size, atime, mtime, ctime = st
                child = Node(name, mode, uid, gid, size, mtime, atime, ctime, nlink, 0,
                             (dev, ino), child_path)
            elif S_ISSOCK(mode):
                continue  # sockets cannot be stored (mkisofs skips them too)
            else:
                try:
                    child = _from_stat(name, st, child_path)
                except OSError as exc:
                    on_error(SourceError(f"cannot read {os.fsdecode(child_path)}: "
                                         f"{exc.strerror}"))
                    continue
            if name in children:
                child = _attach(node, child)
            else:
                child.parent = node
                children[name] = child
            if child.is_dir:
                stack.append((child, child_path))


def _attach(parent, child):
    existing = parent.children.get(child.name)
    if existing is not None and existing.is_dir and child.is_dir:
        # Two sources with the same folder: merge, the first one's attributes win.
        for grandchild in list(child.children.values()):
            _attach(existing, grandchild)
        return existing
    child.parent = parent
    parent.children[child.name] = child
    return child


def _graft_target(root, disc_path, mtime):
    """The directory node for a path on the disc, created as needed."""
    node = root
    for part in filter(None, disc_path.split(b"/")):
        child = node.children.get(part)
        if child is None:
            child = new_directory(part, mtime)
            _attach(node, child)
        elif not child.is_dir:
            raise SourceError(f"graft point {disc_path.decode(errors='replace')}: "
                              f"{part.decode(errors='replace')} is a file")
        node = child
    return node


def _split_graft(spec):
    """"disc/path=source" with "\\=" escaping a literal "=" (mkisofs)."""
    i = 0
    while i < len(spec):
        if spec[i] == "\\" and i + 1 < len(spec):
            i += 2
            continue
        if spec[i] == "=":
            return spec[:i].replace("\\=", "="), spec[i + 1:].replace("\\=", "=")
        i += 1
    return None, spec.replace("\\=", "=")


def scan(sources, graft_points=False, on_error=None, root_mtime=None):
    """Build the tree from the command line's SOURCE arguments.

    ``on_error`` receives SourceError for entries that cannot be read; by
    default the first one is raised (the CLI offers skipping instead).
    """
    with collector_paused():
        return _scan(sources, graft_points, on_error, root_mtime)


def _scan(sources, graft_points, on_error, root_mtime):
    def raise_error(exc):
        raise exc

    on_error = on_error or raise_error
    root = new_directory(b"", 0)
    newest = 0
    for spec in sources:
        disc_path, source = _split_graft(spec) if graft_points else (None, spec)
        try:
            st = os.lstat(source)
        except OSError as exc:
            raise SourceError(f"{source}: {exc.strerror}") from None
        target = root if not disc_path else None
        if stat.S_ISDIR(st.st_mode):
            if disc_path:
                target = _graft_target(root, os.fsencode(disc_path), st[stat.ST_MTIME])
                _copy_attributes(target, st)
            elif not root.path:
                _copy_attributes(root, st)
                root.path = source
            _scan_directory(target, source, on_error)
        else:
            if disc_path:
                parent_path, _, name = os.fsencode(disc_path).rstrip(b"/").rpartition(b"/")
                if disc_path.endswith("/"):
                    parent_path, name = os.fsencode(disc_path).rstrip(b"/"), \
                        os.fsencode(os.path.basename(source))
                target = _graft_target(root, parent_path, st[stat.ST_MTIME])
            else:
                name = os.fsencode(os.path.basename(source))
            _attach(target, _from_stat(name, st, source))
        newest = max(newest, st[stat.ST_MTIME])
    if not root.mtime:
        root.mtime = root.atime = root.ctime = root_mtime if root_mtime is not None else newest
    return root


def _copy_attributes(node, st):
    node.set_mode(st.st_mode)
    node.uid, node.gid = st.st_uid, st.st_gid
    node.mtime, node.atime, node.ctime = st[stat.ST_MTIME], st[stat.ST_ATIME], st[stat.ST_CTIME]
    node.nlink = st.st_nlink
