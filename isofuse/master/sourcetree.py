"""The tree to master: source folders and files, merged under one root.

``SOURCE`` arguments follow mkisofs: a folder's contents go to the root of
the image, a file goes to the root; with graft points (``-graft-points``)
``/path/on/disc=SOURCE`` puts SOURCE at that path.  Every entry is lstat'ed
once here; the layout and the stream work from these records only, so the
image size is fixed before any data is read.
"""

import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from stat import S_ISLNK, S_ISREG, S_ISSOCK
from types import MappingProxyType
from typing import Dict, Optional, Tuple

from ..bulk import collector_paused


class SourceError(Exception):
    """A source cannot be used (missing, unreadable); the message names it."""


# The children of every non-directory: empty and read-only.
NO_CHILDREN = MappingProxyType({})


class Node:
    """One entry of the tree to master.  Big trees have hundreds of
    thousands, so a node is kept small:

    - the fields every entry has are slots; the rare ones (``nlink`` other
      than 1, ``rdev``, ``dev_ino``, ``symlink``, ``data``, ``old_extents``,
      ``reader``; a directory's ``children``) read as the class defaults
      below until set, and only then go into the entry's own ``__dict__``
      (a plain file of a scan never gets one);
    - ``is_dir``, ``is_regular`` and ``is_symlink`` belong to the kind of
      node (DirectoryNode, RegularNode, SymlinkNode; Node for the other
      kinds), switched by ``set_mode``;
    - a file found by the scan in a folder records that folder's node
      instead of its own source path: ``path`` is made from the folder's
      path and the name when asked (a path of 100 bytes per file adds up
      to 10 MiB for 100,000 files).
    """

    __slots__ = ("name", "mode", "uid", "gid", "size", "mtime", "atime", "ctime",
                 "_path", "parent", "__dict__")

    # the rare fields' values until set (see above)
    nlink = 1
    rdev = 0
    dev_ino = None          # (device, inode): hard links share it
    symlink = None          # a symlink's target
    data = None             # synthetic content (boot catalog ...)
    old_extents = None      # data already on the disc (multisession)
    reader = None           # read(offset, size) for data not in a file
    children = NO_CHILDREN  # a directory's: {name: Node}
    is_dir = is_regular = is_symlink = False

    def __init__(self, name, mode, uid=0, gid=0, size=0, mtime=0, atime=0, ctime=0, nlink=1,
                 rdev=0, dev_ino=None, path=None, symlink=None, parent=None, data=None):
        self.name = name                  # bytes, as on the source
        self.mode = mode
        self.uid, self.gid, self.size = uid, gid, size
        self.mtime, self.atime, self.ctime = mtime, atime, ctime
        self._path = path                 # where the data comes from
        self.parent = parent
        if nlink != 1:
            self.nlink = nlink
        if rdev:
            self.rdev = rdev
        if dev_ino is not None:
            self.dev_ino = dev_ino
        if symlink is not None:
            self.symlink = symlink
        if data is not None:
            self.data = data
        kind = _KINDS.get(mode & _S_IFMT, Node)
        if kind is not self.__class__:
            self.__class__ = kind
        if kind is DirectoryNode:
            # Only directories get a dict of their own (one per file adds up).
            self.children: Dict[bytes, "Node"] = {}

    @property
    def path(self):
        """Where the data comes from (None: nowhere on disk)."""
        folder = self._path
        if isinstance(folder, Node):
            # a file the scan found in ``folder`` (_scan_directory): the
            # path os.scandir gave it
            return folder._path + b"/" + self.name
        return folder

    @path.setter
    def path(self, value):
        self._path = value

    @property
    def source_folder(self):
        """The folder node whose path and this node's name make ``path``
        (a file the scan found in it), or None (the path is its own)."""
        folder = self._path
        return folder if isinstance(folder, Node) else None

    def set_mode(self, mode):
        self.mode = mode
        kind = _KINDS.get(mode & _S_IFMT, Node)
        if kind is not self.__class__:
            self.__class__ = kind
        if kind is DirectoryNode and self.children is NO_CHILDREN:
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


class DirectoryNode(Node):
    """A Node of a directory (see Node)."""
    __slots__ = ()
    is_dir = True


class RegularNode(Node):
    """A Node of a regular file (see Node)."""
    __slots__ = ()
    is_regular = True


class SymlinkNode(Node):
    """A Node of a symbolic link (see Node)."""
    __slots__ = ()
    is_symlink = True


_S_IFMT = 0o170000
_KINDS = {stat.S_IFDIR: DirectoryNode, stat.S_IFREG: RegularNode, stat.S_IFLNK: SymlinkNode}


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
    # Files share modes, times and often sizes (a folder unpacked in one
    # second): one int object for each value instead of one per file and
    # field (32 bytes each, 12 MiB for 100,000 files).
    shared = {}
    share = shared.setdefault
    while stack:
        node, folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = [(e.name, e.stat(follow_symlinks=False)) for e in entries]
        except OSError as exc:
            on_error(SourceError(f"cannot read folder {os.fsdecode(folder)}: {exc.strerror}"))
            continue
        # A plain file records its folder's node when the folder's own path
        # is the one scanned here (not for a folder merged from a second
        # source): Node.path then gives folder + b"/" + name, as os.scandir
        # does; elsewhere each file keeps its path.
        derived = node if node._path is folder else None
        prefix = folder if folder.endswith(b"/") else folder + b"/"
        children = node.children
        for name, st in listing:
            mode = st.st_mode
            if S_ISREG(mode):
                # _from_stat inlined: the common case, once per file (a
                # regular file has no device number; one with a single link
                # needs no identity: only hard links are told apart by it)
                mode, ino, dev, nlink, uid, gid, size, atime, mtime, ctime = st
                child = RegularNode(name, share(mode, mode), uid, gid, share(size, size),
                                    share(mtime, mtime), share(atime, atime),
                                    share(ctime, ctime), nlink, 0,
                                    (dev, ino) if nlink > 1 else None,
                                    derived or prefix + name)
            elif S_ISSOCK(mode):
                continue  # sockets cannot be stored (mkisofs skips them too)
            else:
                child_path = prefix + name
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


def _scan(sources, graft_points, on_error, root_mtime, walker=None):
    def raise_error(exc):
        raise exc

    on_error = on_error or raise_error
    root = new_directory(b"", 0)
    newest = 0
    for spec in sources:
        disc_path, source = _split_graft(spec) if graft_points else (None, spec)
        if walker is not None and not walker.keep(os.fsencode(source)):
            continue
        try:
            st = walker.stat(source) if walker is not None else os.lstat(source)
        except OSError as exc:
            raise SourceError(f"{source}: {exc.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            _add_folder(root, disc_path, source, st, on_error, walker)
        else:
            _add_file(root, disc_path, source, st, walker)
        newest = max(newest, st[stat.ST_MTIME])
    if not root.mtime:
        root.mtime = root.atime = root.ctime = root_mtime if root_mtime is not None else newest
    return root


def _add_folder(root, disc_path, source, st, on_error, walker):
    """A folder SOURCE: its contents go to the root or to its graft point."""
    if disc_path:
        target = _graft_target(root, os.fsencode(disc_path), st[stat.ST_MTIME])
        _copy_attributes(target, st)
        if walker is not None:
            walker.entered(target, os.fsencode(source))
    else:
        target = root
        if not root.path:
            _copy_attributes(root, st)
            root.path = source
    if walker is None:
        _scan_directory(target, source, on_error)
    else:
        _scan_directory_ruled(target, source, on_error, walker, (st.st_dev, st.st_ino))


def _add_file(root, disc_path, source, st, walker):
    if disc_path:
        parent_path, _, name = os.fsencode(disc_path).rstrip(b"/").rpartition(b"/")
        if disc_path.endswith("/"):
            parent_path, name = os.fsencode(disc_path).rstrip(b"/"), \
                os.fsencode(os.path.basename(source))
        target = _graft_target(root, parent_path, st[stat.ST_MTIME])
    else:
        target = root
        name = os.fsencode(os.path.basename(source))
        if walker is not None:
            name = walker.rename(name)
    node = _from_stat(name, st, source)
    if walker is not None:
        walker.entered(node, os.fsencode(source))
    _attach(target, node)


def _scan_directory_ruled(target, path, on_error, walker, top):
    """_scan_directory with the mkisofs rules of ``walker``: excluded
    entries are left out, links followed with -f (a link to a folder that
    is its own ancestor is an error: it would never end), names converted."""
    stack = [(target, os.fsencode(path), (top,))]
    while stack:
        node, folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = [(e.name, e.path) for e in entries]
        except OSError as exc:
            on_error(SourceError(f"cannot read folder {os.fsdecode(folder)}: {exc.strerror}"))
            continue
        for name, child_path in listing:
            if not walker.keep(child_path):
                continue
            try:
                st = walker.stat(child_path)
                if S_ISSOCK(st.st_mode) or walker.is_output(st):
                    continue
                child = _from_stat(walker.rename(name), st, child_path)
            except OSError as exc:
                on_error(SourceError(f"cannot read {os.fsdecode(child_path)}: "
                                     f"{exc.strerror}"))
                continue
            except SourceError as exc:
                on_error(exc)
                continue
            if child.is_dir and child.dev_ino in ancestors:
                on_error(SourceError(f"{os.fsdecode(child_path)}: a link to a folder "
                                     "that contains it (-f would never end)"))
                continue
            walker.entered(child, child_path)
            child = _attach(node, child)
            if child.is_dir:
                stack.append((child, child_path, ancestors + ((st.st_dev, st.st_ino),)))


def _copy_attributes(node, st):
    node.set_mode(st.st_mode)
    node.uid, node.gid = st.st_uid, st.st_gid
    node.mtime, node.atime, node.ctime = st[stat.ST_MTIME], st[stat.ST_ATIME], st[stat.ST_CTIME]
    node.nlink = st.st_nlink


# ---- mkisofs rules: exclusion, hiding, links, charsets, owners, sort weights ----------------

@dataclass(frozen=True)
class ScanRules:
    """What the mkisofs options ask of the scan (the defaults ask nothing)."""
    follow_links: bool = False          # -f: a symlink becomes what it points to
    exclude: Tuple[str, ...] = ()       # -m/-x/-exclude-list patterns
    no_bak: bool = False                # -no-bak
    hide: Tuple[str, ...] = ()          # -hide: not in the ISO 9660 / Rock Ridge tree
    hide_joliet: Tuple[str, ...] = ()   # -hide-joliet
    cache_inodes: bool = True           # -no-cache-inodes: no shared data for hard links
    input_charset: Optional[str] = None   # the charset of the names on the source
    output_charset: Optional[str] = None  # the charset of the recorded (Rock Ridge) names
    uid: Optional[int] = None
    gid: Optional[int] = None
    file_mode: Optional[int] = None
    dir_mode: Optional[int] = None
    new_dir_mode: Optional[int] = None  # folders made for graft points
    table_name: Optional[str] = None    # -T: TRANS.TBL in every folder
    hide_joliet_trans_tbl: bool = False
    skip_inode: Optional[tuple] = None  # (dev, ino) of the output file: never a source

    @property
    def overrides_owners(self):
        return any(v is not None for v in (self.uid, self.gid, self.file_mode, self.dir_mode))

    @property
    def filters(self):
        return bool(self.exclude or self.no_bak or self.hide or self.hide_joliet)

    @property
    def renames(self):
        return bool(self.input_charset or self.output_charset)


# genisoimage -no-bak: names holding '~' or '#', or ending in .bak
_BACKUP = re.compile(r"[~#]|\.bak$", re.DOTALL)


class PathMatcher:
    """mkisofs/xorrisofs patterns: one without '/' matches the leaf name,
    one with '/' the disk path (as formed from the SOURCE argument, or
    absolute); shell wildcards (fnmatch), no case folding."""

    def __init__(self, patterns, backups=False):
        leaf, full = [], []
        for pattern in patterns:
            pattern = pattern.rstrip("/") if pattern != "/" else pattern
            (full if "/" in pattern else leaf).append(fnmatch.translate(pattern))
        self._leaf = re.compile("|".join(leaf), re.DOTALL).match if leaf else None
        self._full = re.compile("|".join(full), re.DOTALL).match if full else None
        self._backups = backups

    def __bool__(self):
        return bool(self._leaf or self._full or self._backups)

    def matches(self, path):
        """``path`` as bytes (the disk path)."""
        text = os.fsdecode(path)
        leaf = text.rstrip("/").rpartition("/")[2]
        if self._leaf and self._leaf(leaf):
            return True
        if self._backups and _BACKUP.search(leaf):
            return True
        if self._full:
            return bool(self._full(text) or self._full(os.path.abspath(text)))
        return False


class ScanResult:
    """What the scan found besides the tree: the nodes to hide."""

    def __init__(self):
        self.hidden_iso = set()
        self.hidden_joliet = set()
        self.excluded = 0


def scan_with_rules(sources, rules, graft_points=False, on_error=None, say=None):
    """scan() with the mkisofs rules: returns (root, ScanResult).

    Exclusion and hiding look at each disk path once; -f follows links
    (a link to a folder is scanned as that folder, loops are refused);
    names are converted between charsets.  ``say`` receives -v messages.
    """
    result = ScanResult()
    if rules.filters or rules.follow_links or rules.renames or not rules.cache_inodes \
            or rules.new_dir_mode is not None or rules.skip_inode is not None:
        walker = _RuleWalker(rules, result, say)
    else:
        walker = None
    with collector_paused():
        root = _scan(sources, graft_points, on_error, None, walker)
    if walker is not None:
        walker.finish(root)
    return root, result


class _RuleWalker:
    """The per-entry decisions of a scan with rules (the plain scan stays
    as fast as it was: it never calls this)."""

    def __init__(self, rules, result, say):
        self.rules = rules
        self.result = result
        self.say = say
        self.exclude = PathMatcher(rules.exclude, backups=rules.no_bak)
        self.hide = PathMatcher(rules.hide)
        self.hide_joliet = PathMatcher(rules.hide_joliet)

    def stat(self, path):
        """lstat, or stat with -f (a dangling link stays a link)."""
        if self.rules.follow_links:
            try:
                return os.stat(path)
            except OSError:
                pass
        return os.lstat(path)

    def is_output(self, st):
        """The image being written, inside a source folder (mkisofs -o
        tree/x.iso tree): left out, as genisoimage and xorrisofs do."""
        if self.rules.skip_inode == (st.st_dev, st.st_ino):
            if self.say:
                self.say("left out the output file")
            return True
        return False

    def keep(self, path):
        """False for an excluded disk path (-m, -x, -exclude-list, -no-bak)."""
        if self.exclude and self.exclude.matches(path):
            self.result.excluded += 1
            if self.say:
                self.say(f"excluded {os.fsdecode(path)}")
            return False
        return True

    def entered(self, node, path):
        """Mark a new node for hiding, forget its inode with -no-cache-inodes."""
        if self.hide and self.hide.matches(path):
            self.result.hidden_iso.add(node)
        if self.hide_joliet and self.hide_joliet.matches(path):
            self.result.hidden_joliet.add(node)
        if not self.rules.cache_inodes and not node.is_dir:
            node.dev_ino = None          # -no-cache-inodes: no hard links

    def rename(self, name):
        rules = self.rules
        if not rules.renames:
            return name
        try:
            text = name.decode(rules.input_charset or "utf-8")
            return text.encode(rules.output_charset or "utf-8")
        except UnicodeError:
            raise SourceError(f"{os.fsdecode(name)}: not a name in "
                              f"{rules.input_charset or 'utf-8'} that "
                              f"{rules.output_charset or 'utf-8'} can hold") from None

    def finish(self, root):
        if self.rules.new_dir_mode is None:
            return
        for node in root.walk():
            if node.is_dir and node.path is None:    # made for a graft point
                node.set_mode(stat.S_IFDIR | self.rules.new_dir_mode)


def rationalize(root):
    """mkisofs -r on the tree itself (owner 0, modes as the Rock Ridge
    writer rationalizes them), so that -uid/-gid/-*-mode applied after it
    win, as in genisoimage."""
    from .rockridge_writer import rationalized_mode
    for node in [root, *root.walk()]:
        node.mode = rationalized_mode(node.mode)
        node.uid = node.gid = 0


def apply_owners(root, rules):
    """-uid, -gid, -file-mode (plain files), -dir-mode (folders)."""
    if not rules.overrides_owners:
        return
    for node in [root, *root.walk()]:
        if rules.uid is not None:
            node.uid = rules.uid
        if rules.gid is not None:
            node.gid = rules.gid
        if node.is_regular and rules.file_mode is not None:
            node.mode = stat.S_IFREG | rules.file_mode
        elif node.is_dir and rules.dir_mode is not None:
            node.mode = stat.S_IFDIR | rules.dir_mode


def sort_weights(root, rules):
    """-sort / --sort-weight: {node: weight} for the regular files whose
    disk path (or path on the disc) matches a rule; a folder's weight goes
    to what is below it; the first matching rule wins (genisoimage)."""
    compiled = [(re.compile(fnmatch.translate(os.path.normpath(p)), re.DOTALL).match,
                 os.path.isabs(p), w) for p, w in rules]
    weights = {}
    stack = [(root, None)]
    while stack:
        node, inherited = stack.pop()
        for child in node.children.values():
            weight = _first_weight(child, compiled)
            if weight is None:
                weight = inherited
            if child.is_dir:
                stack.append((child, weight))
            elif child.is_regular and weight:
                weights[child] = weight
    return weights


def _first_weight(node, compiled):
    disc = os.fsdecode(node.path_on_disc())
    disk = os.path.normpath(os.fsdecode(node.path)) if node.path else None
    for match, absolute, weight in compiled:
        for candidate in (disk, os.path.abspath(disk) if disk else None, disc,
                          disc.lstrip("/")):
            if candidate is not None and match(candidate):
                return weight
    return None
