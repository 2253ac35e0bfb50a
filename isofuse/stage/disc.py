"""The future disc: a model of the merged tree as the mastering engine sees
it, its exact size, and the ISO 9660 / Joliet rules it breaks.

The staging filesystem tells the model about every change; the model keeps
a ``sourcetree.Node`` per visible folder, and per visible file of a folder
that changed -- the files of an untouched lower folder stay packed
(``packed.PackedFiles``) until it changes or an image is laid out --, so
``image.iso`` is mastered from it directly and the size (``SizeModel``)
equals ``isofuse master -print-size`` of the same tree with the same options.
"""

import errno
import functools
import gc
import logging
import os
import stat
import threading
import types
from dataclasses import dataclass, field

from ..bulk import collector_paused
from ..format.media import STAGE_MEDIA
from ..master import naming
from ..master.options import MAX_ISO_LEVELS, MasterOptions, staging_profile
from .layers import FolderLayer, attr_from_stat
from .overlay import WHITEOUT_PREFIX, Entry, join, split
from .packed import PackedFiles
from .pacing import Pacer

# Capacities in 2048-byte sectors (docs/media-capacity.md).
MEDIA = STAGE_MEDIA
MAX_PATH = 255
# A file identifier has at most NameRules.file_limit characters for name,
# "." and extension, and ";1" (ECMA-119 7.5.1); one more for safety.
FILE_IDENTIFIER_EXTRA = 3

log = logging.getLogger("isofuse.stage")


@dataclass
class Profile:
    """What the disc will be: the mastering options, the medium, the mode."""
    master: MasterOptions = field(default_factory=staging_profile)
    medium: str = "cd700"
    medium_sectors: int = MEDIA["cd700"]
    strict: bool = False
    # Multisession: the image is the next session of the disc in the lower
    # image layer (its files are referenced where they are, not copied);
    # set by the CLI from msinfo, with master.session_start = next.
    next_session: bool = False


@functools.lru_cache(maxsize=None)
def _engine():
    """The parts of the mastering engine the model uses, imported when it
    is first needed -- in the model's thread at mount, so the mount answers
    before they are loaded (about as long as the rest of the stage takes
    to import)."""
    from ..master import layout, sizing, sourcetree, sysarea
    return types.SimpleNamespace(Layout=layout.Layout, SizeModel=sizing.SizeModel,
                                 Node=sourcetree.Node, wants_system_area=sysarea.wanted,
                                 MAX_EXTENT_BYTES=layout.MAX_EXTENT_BYTES)


def _over_one_extent(size):
    """Does a file of ``size`` bytes need more than one extent (a directory
    record's data length has 32 bits, ECMA-119 9.1.4)?"""
    return size > _engine().MAX_EXTENT_BYTES


class _MeasuredInBatches:
    """The first measurement of a big tree, a batch of directories at a
    time while it is loaded.  Measuring a directory makes short-lived
    reference cycles (records pointing at their parents); with the
    collector paused for the build they would pile up until its end (40
    MiB for 100,000 files), so each batch's are collected at once
    (a young-generation collection: its cost is that of the batch; a
    batch of about ENTRIES entries keeps the peak a few MiB above the
    model)."""
    DIRECTORIES = 256
    ENTRIES = 4096

    def __init__(self, size, options):
        self.size = size
        self.pending = self.pending_entries = 0
        # whole-layout measures (see SizeModel) are not worth repeating
        self.batched = not (options.boot or options.md5 or options.hide_iso
                            or options.hide_joliet or _engine().wants_system_area(options))

    def loaded(self, rel, entries):
        """A directory of ``entries`` children is in place and counted."""
        if rel.count(b"/") >= MAX_ISO_LEVELS - 2:
            # a folder at level 8 or deeper: relocating its subfolders
            # takes a whole layout to measure
            self.batched = False
        self.pending += 1
        self.pending_entries += entries
        if self.batched and (self.pending >= self.DIRECTORIES
                             or self.pending_entries >= self.ENTRIES):
            self.finish()

    def finish(self):
        self.size.total_sectors()
        self.pending = self.pending_entries = 0
        gc.collect(0)


class Disc:
    """The model of the future disc.  It is built from the merged tree once,
    in the background (``start``, at the mount's first request) or at the
    first call that needs it; every call that reads or changes it waits for
    that (``wait``), so its answers are exact from the first one on.  The
    tree must not change before the model is built: the stage calls
    ``wait`` before every change it makes."""

    def __init__(self, overlay, profile):
        self.overlay = overlay
        self.profile = profile
        self.violations = {}       # rel -> [message]
        self._count = 0             # entries of the disc (the root's included)
        self._folder_subtrees = {}  # rel -> the lower folder _load_folder read it from
        self._packed = {}           # directory Node -> PackedFiles of its other entries
        self._pacer = Pacer()
        self.root = self.size = None
        self._identifier_lengths = {}
        self._last_problems = (None, ())
        self._lock = threading.Lock()
        self._builder = None
        self._built = False
        self._build_error = None

    # ---- building ---------------------------------------------------------------------------------
    def start(self):
        """Build the model in a background thread (a mount answers lookups
        and reads meanwhile)."""
        with self._lock:
            if self._builder is None and not self._built:
                self._builder = threading.Thread(target=self._build_in_background,
                                                 name="isofuse-disc-model", daemon=True)
                self._builder.start()

    def _build_in_background(self):
        self._pacer.start()     # requests go first
        self._build_once()

    def wait(self):
        """Return once the model is built (building it here if nothing
        else does)."""
        if self._built:
            return
        self._pacer.hurry()     # (before the lock, which the builder holds)
        with self._lock:
            builder = self._builder
        if builder is None:
            self._build_once()
        else:
            builder.join()
        if self._build_error is not None:
            raise OSError(errno.EIO, f"the model of the disc could not be built: "
                          f"{self._build_error}")

    def _build_once(self):
        with self._lock:
            if self._built:
                return
            try:
                self._build()
            except Exception as exc:  # noqa: BLE001 -- reported by every wait()
                log.error("cannot model the disc: %s", exc, exc_info=True)
                self._build_error = exc
            finally:
                if threading.current_thread() is self._builder:
                    self.overlay.forget_anchors()    # the builder's own
            self._built = True

    def _build(self):
        with collector_paused():    # a node or more per file of the lower layers
            root_entry = self.overlay.root()
            self.root = self._node_for(root_entry, b"")
            self._count = 1
            self.size = _engine().SizeModel(self.root, self.profile.master, self)
            batch = _MeasuredInBatches(self.size, self.profile.master)

            def loaded(rel, directory):
                batch.loaded(rel, self._counted(rel, directory))
            self._load(root_entry, loaded)
            batch.finish()
            self._pacer.hurry()

    def _counted(self, rel, directory):
        """A directory just loaded: its children counted by the size model
        and checked against the rules; returns how many there are."""
        size = self.size
        for name, child in directory.children.items():
            if not child.is_dir:
                size.file_added(child)
            self._check(join(rel, name), child)
        entries = len(directory.children)
        packed = self._packed.get(directory)
        if packed is not None:
            singles, linked = packed.data_files()
            size.single_files_added(singles)
            for file_size, link_key in linked:
                size.data_added(file_size, link_key)
            self._check_packed(rel, packed)
            entries += packed.count
        size.directory_changed(directory)
        self._pacer.pause_if_busy()
        return entries

    def _check_packed(self, rel, packed):
        """The rules for a folder's packed files (no violation is recorded
        for them yet): most can break none, seen without asking."""
        sizes, names = packed.sizes(), packed.name_list()
        fits = self._any_file_fits(rel)
        limit = self._joliet_limit()
        largest = _engine().MAX_EXTENT_BYTES
        if fits and max(sizes) <= largest and (limit is None or max(map(len, names)) <= limit):
            return      # the common case: a whole folder passes at once
        for name, size in zip(names, sizes):
            big = size > largest
            if big or not fits or (limit is not None and len(name) > limit):
                self._check_entry(join(rel, name), name, False, big)

    # ---- packed files of untouched lower folders (packed.py, docs/stage-model-memory.md) ----
    def directory_view(self, directory):
        """SizeModel's view of a directory: with its packed files as Nodes
        made for measuring it (dropped afterwards)."""
        self._pacer.pause_if_busy()
        packed = self._packed.get(directory)
        if packed is None:
            return directory
        d = directory
        view = _engine().Node(d.name, d.mode, d.uid, d.gid, d.size, d.mtime, d.atime,
                              d.ctime, d.nlink, d.rdev, d.dev_ino)
        view.parent = d.parent
        view.children.update(d.children)
        for node in packed.nodes(_engine().Node):
            view.children[node.name] = node
        return view

    def complete(self):
        """SizeModel's call before a whole layout: every file a Node."""
        for directory in list(self._packed):
            self._unpack(directory)

    def _unpack(self, directory):
        """Make Nodes of a directory's packed files (it is changing).  The
        size model counted them already: files with one name by their
        sizes, hard links by their dev_ino, both unchanged."""
        packed = self._packed.pop(directory, None)
        if packed is None:
            return
        children = directory.children
        for node in packed.nodes(_engine().Node):
            node.parent = directory
            children[node.name] = node

    def node(self, rel):
        """The sourcetree.Node of the entry at ``rel``, or None.  (Nodes are
        found from the root by name: a dict of every path would cost 11 MiB
        per 100,000 files.)"""
        self.wait()
        return self._node(rel)

    def _node(self, rel):
        """The Node at ``rel``; a packed file's folder is unpacked for it."""
        node = self.root
        if rel:
            for name in rel.split(b"/"):
                child = node.children.get(name)
                if child is None:
                    packed = self._packed.get(node)
                    if packed is None or packed.index(name) < 0:
                        return None
                    self._unpack(node)
                    child = node.children[name]
                node = child
        return node

    @staticmethod
    def _walk(rel, node):
        """(rel, node) of everything below ``node``, parents first."""
        stack = [(rel, node)]
        while stack:
            base, current = stack.pop()
            for name, child in current.children.items():
                child_rel = join(base, name)
                yield child_rel, child
                if child.is_dir:
                    stack.append((child_rel, child))

    def _node_for(self, entry, name, symlink=None):
        """The model of an entry.  ``symlink``: its target if known (a
        link's target never changes; reading it again would update the
        link's atime, undoing a utimensat)."""
        a = entry.attr
        node = _engine().Node(name=name, mode=a.mode, uid=a.uid, gid=a.gid,
                    size=a.size if stat.S_ISREG(a.mode) else 0, mtime=a.mtime, atime=a.atime,
                    ctime=a.ctime, nlink=a.nlink, rdev=a.rdev, dev_ino=a.identity)
        layer, rel = entry.source, entry.rel
        if stat.S_ISLNK(a.mode):
            node.symlink = symlink if symlink is not None else layer.readlink(rel)
        elif stat.S_ISREG(a.mode):
            node.path = layer.data_path(rel)
            extents = layer.extents(rel) if self.profile.next_session and \
                hasattr(layer, "extents") else None
            if extents is not None:
                node.old_extents = extents      # already on the disc
            elif node.path is None:
                node.reader = lambda offset, size, layer=layer, rel=rel: \
                    layer.read(rel, offset, size)
        return node

    def _load(self, entry, loaded=None):
        """Nodes for everything below ``entry``; ``loaded(rel, node)`` is
        called for each directory once its children are in place."""
        stack = [(entry, self._node(entry.rel))]
        while stack:
            directory, parent = stack.pop()
            if not directory.in_upper and len(directory.lowers) == 1 \
                    and isinstance(directory.lowers[0], FolderLayer):
                self._load_folder(directory.rel, parent, directory.lowers[0], loaded)
                continue
            for name in self.overlay.listdir(directory):
                self._pacer.pause_if_busy()
                child = self.overlay.lookup(directory, name)
                if child is None:
                    continue
                node = self._node_for(child, name)
                node.parent = parent
                parent.children[name] = node
                self._count += 1
                if child.is_dir:
                    stack.append((child, node))
            if loaded is not None:
                loaded(directory.rel, parent)

    def _load_folder(self, rel, top, layer, loaded=None):
        """A subtree only one lower folder has: nothing can hide or merge
        there, so read it straight with scandir (mounting over a big
        previous tree is dominated by this).  Its folders become Nodes,
        its other entries a PackedFiles record per folder."""
        stack = [(rel, top)]
        # One int object per distinct value of a folder Node: modes, times,
        # owners repeat across a tree.  The data path is filled in only
        # when an image is laid out (``_fill_paths``).
        same = {}.setdefault
        Node = _engine().Node
        self._folder_subtrees[rel] = layer
        while stack:
            current, parent = stack.pop()
            names, rows, links, symlinks = self._scan_folder(layer, current, parent, same,
                                                             Node, stack)
            if names:
                self._packed[parent] = PackedFiles(names, rows, links, symlinks)
                self._count += len(names)
            if loaded is not None:
                loaded(current, parent)

    def _scan_folder(self, layer, current, parent, same, Node, stack):
        """One folder of ``_load_folder``: its subfolders as Nodes (pushed
        on ``stack``), the rest as packed rows."""
        names, rows, links, symlinks = [], [], {}, {}
        layer_id = layer.layer_id
        with os.scandir(layer.real(current)) as it:
            for item in it:
                name = item.name
                if name.startswith(WHITEOUT_PREFIX):
                    continue
                st = item.stat(follow_symlinks=False)
                mode, ino, dev, nlink, uid, gid, size, atime, mtime, ctime = st
                if stat.S_ISDIR(mode):
                    node = Node(name, same(mode, mode), same(uid, uid), same(gid, gid), 0,
                                same(mtime, mtime), same(atime, atime), same(ctime, ctime),
                                nlink, st.st_rdev, None)
                    node.parent = parent
                    parent.children[name] = node
                    self._count += 1
                    stack.append((join(current, name), node))
                    continue
                regular = stat.S_ISREG(mode)
                if regular and nlink > 1:
                    # the identity only tells hard links apart
                    links[len(names)] = (layer_id, dev, ino)
                elif stat.S_ISLNK(mode):
                    symlinks[len(names)] = os.readlink(item.path)
                names.append(name)
                rows.append((mode, uid, gid, size if regular else 0, mtime, atime, ctime,
                             nlink, 0 if regular else st.st_rdev))
                if len(names) & 255 == 0:
                    self._pacer.pause_if_busy()
        return names, rows, links, symlinks

    # ---- changes (called after the overlay made them) -----------------------------------
    def _visible(self, rel, st):
        """The overlay's entry at ``rel``; with ``st`` (the lstat or fstat
        the stage just took of the upper file there) without asking again."""
        if st is None or stat.S_ISDIR(st.st_mode):
            return self.overlay.resolve(rel)
        upper = self.overlay.upper
        return Entry(rel, attr_from_stat(st, upper.layer_id), True, [], upper)

    def added(self, rel, st=None):
        """A new entry at ``rel`` (``st``: its upper lstat, if known)."""
        self.wait()
        entry = self._visible(rel, st)
        parent = self._node(split(rel)[0])
        if entry is None or parent is None:
            return
        name = split(rel)[1]
        self._unpack(parent)
        if name in parent.children:
            self._removed(rel)
        node = self._node_for(entry, name)
        node.parent = parent
        parent.children[name] = node
        self._count += 1
        if entry.is_dir:
            self._load(entry, self._counted)
            self._check(rel)
        else:
            self.size.file_added(node)
            self._check(rel)
        self.size.directory_changed(parent)

    def _subtree(self, rel):
        """[(rel, node)] of the entry at ``rel`` and all below it, every
        file a Node (removing or laying out a folder unpacks it)."""
        node = self._node(rel)
        if node.is_dir and self._packed:
            self._unpack(node)
            for _, sub in self._walk(rel, node):
                if sub.is_dir:
                    self._unpack(sub)
        return [(rel, node), *self._walk(rel, node)]

    def removed(self, rel):
        self.wait()
        self._removed(rel)

    def _removed(self, rel):
        self._last_problems = (None, ())
        node = self._node(rel)
        if node is None:
            return
        for sub_rel, sub in self._subtree(rel):
            if sub.is_dir:
                self.size.directory_removed(sub)
            else:
                self.size.file_removed(sub)
            self._count -= 1
            self.violations.pop(sub_rel, None)
        parent = node.parent
        if parent is not None:
            parent.children.pop(node.name, None)
            self.size.directory_changed(parent)

    def changed(self, rel, st=None):
        """Attributes or size of an entry changed (setattr, write, copy-up;
        ``st``: its upper lstat or fstat, if known)."""
        self.wait()
        node = self._node(rel)
        if node is not None and st is not None and self._refreshed(rel, node, st):
            return
        entry = self._visible(rel, st) if node is not None else None
        if node is None or entry is None:
            return
        fresh = self._node_for(entry, node.name,
                               node.symlink if stat.S_ISLNK(node.mode) else None)
        old_kind = node.is_dir
        if node.is_regular:
            self.size.file_removed(node)
        old_size = node.size
        for attr in ("uid", "gid", "size", "mtime", "atime", "ctime", "nlink", "rdev",
                     "dev_ino", "path", "symlink", "reader", "old_extents"):
            setattr(node, attr, getattr(fresh, attr))
        node.set_mode(fresh.mode)
        if node.is_regular:
            self.size.file_added(node)
            if old_size != node.size:
                self.size.file_resized(node, old_size)
        if node.parent is not None:
            self.size.directory_changed(node.parent)   # a symlink target may differ
        if old_kind != node.is_dir or _over_one_extent(old_size) != \
                _over_one_extent(node.size):
            self._check(rel)

    def _refreshed(self, rel, node, st):
        """The cheap path of ``changed`` (every close after a write, every
        utimensat of tar): the same upper regular file with new times,
        owner, permissions or size.  None of those changes the size of its
        directory's records (Rock Ridge's PX and TF have fixed sizes; the
        number of extents moves with the size, which ``file_resized``
        handles), so the directory is not measured again."""
        if not (node.is_regular and stat.S_ISREG(st.st_mode)) or node.dev_ino != \
                (self.overlay.upper.layer_id, st.st_dev, st.st_ino):
            return False
        node.mode, node.uid, node.gid = st.st_mode, st.st_uid, st.st_gid
        node.mtime, node.atime, node.ctime = \
            st[stat.ST_MTIME], st[stat.ST_ATIME], st[stat.ST_CTIME]
        if node.nlink == st.st_nlink:
            self._resize(rel, node, st.st_size)
            return True
        # the size model counts a file with several names once, by its
        # device and inode: it is another file to the model now
        self.size.file_removed(node)
        old, node.nlink, node.size = node.size, st.st_nlink, st.st_size
        self.size.file_added(node)
        if old != node.size:
            self.size.file_resized(node, old)
            if _over_one_extent(old) != _over_one_extent(node.size):
                self._check(rel)
        return True

    def _resize(self, rel, node, new_size):
        old = node.size
        if new_size == old:
            return
        self.size.file_removed(node)
        node.size = new_size
        self.size.file_added(node)
        self.size.file_resized(node, old)
        if _over_one_extent(old) != _over_one_extent(new_size):
            self._check(rel)   # only the 4 GiB rule depends on the size

    def data_grew(self, rel, new_size):
        """Cheap path for writes: a regular file is at least ``new_size``
        bytes long now."""
        self.wait()
        node = self._node(rel)
        if node is not None and node.is_regular and new_size > node.size:
            self._resize(rel, node, new_size)

    def renamed(self, old, new):
        self.removed(old)
        self.added(new)

    def size_of(self, rel):
        """The size the disc has for the file at ``rel`` (0 if none)."""
        self.wait()
        head, name = split(rel)
        parent = self._node(head) if rel else None
        packed = self._packed.get(parent) if parent is not None else None
        if packed is not None and name not in parent.children:
            index = packed.index(name)     # a lower file nobody changed: left packed
            return packed.value("size", index) if index >= 0 else 0
        node = self._node(rel)
        return node.size if node is not None else 0

    def entry_count(self):
        self.wait()
        return self._count

    # ---- rules ------------------------------------------------------------------------------------
    def problems_for(self, parent_rel, name, is_dir):
        """What a new entry ``name`` in ``parent_rel`` would break."""
        self.wait()
        return self._problems_cached(parent_rel, name, is_dir)

    def _problems_cached(self, parent_rel, name, is_dir):
        key = (parent_rel, name, is_dir)
        if self._last_problems[0] == key:   # the check before a change, then after
            return list(self._last_problems[1])
        problems = self._problems_for(parent_rel, name, is_dir)
        self._last_problems = (key, tuple(problems))
        return problems

    def _problems_for(self, parent_rel, name, is_dir):
        opts = self.profile.master
        rules = opts.names
        problems = []
        limit = self._joliet_limit()
        if limit is not None:
            # a name has at most as many UTF-16 units as UTF-8 bytes
            # (an undecodable byte is one lone surrogate): short ones pass
            if len(name) > limit and len(name.decode("utf-8", "surrogateescape").encode(
                    "utf-16-be", "surrogatepass")) // 2 > limit:
                problems.append(f"name longer than Joliet's {limit} characters")
        depth = (parent_rel.count(b"/") + 2 if parent_rel else 1) + (1 if is_dir else 0)
        if is_dir and not opts.rock and rules.level < 4 and depth > MAX_ISO_LEVELS:
            problems.append("directory deeper than ISO 9660's 8 levels "
                            "(without Rock Ridge nothing can relocate it)")
        if rules.level < 4:
            length = self._iso_path_length(parent_rel, name, is_dir)
            if length > MAX_PATH:
                problems.append(f"ISO 9660 path of {length} characters "
                                f"(at most {MAX_PATH})")
        return problems

    def _iso_path_length(self, parent_rel, name, is_dir):
        """Length of the ISO 9660 path the entry will have (§6.8.2.1), with
        Rock Ridge's relocation of directories below level 8 to rr_moved;
        for a file whose folder's path leaves room for any identifier, a
        length that is certainly within MAX_PATH instead."""
        rules = self.profile.master.names
        length, level = self._folder_iso_path(parent_rel)
        if not is_dir and length + rules.file_limit + FILE_IDENTIFIER_EXTRA + 1 <= MAX_PATH:
            return length + 1   # at most that much shorter than the limit: not worked out
        if is_dir and self.profile.master.rock and level + 1 > MAX_ISO_LEVELS:
            length = len(b"RR_MOVED") + 1
        return length + self._identifier_length(name, is_dir) + 1

    def _folder_iso_path(self, parent_rel):
        """(length of the ISO 9660 path of a folder, its level)."""
        parts = []
        node = self._node(parent_rel)
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        parts.reverse()
        relocate = bool(self.profile.master.rock)
        length, level = 0, 1
        cache = self._identifier_lengths
        for part in parts:
            # folders come back in every path below them (a file's name
            # once: caching those cost 10 MiB per 100,000 files)
            ident_length = cache.get(part)
            if ident_length is None:
                ident_length = self._identifier_length(part, True)
                if len(cache) < 1 << 16:
                    cache[part] = ident_length
            if relocate and level + 1 > MAX_ISO_LEVELS:
                length, level = len(b"RR_MOVED") + 1, 2
            level += 1
            length += ident_length + 1
        return length, level

    def _any_file_fits(self, parent_rel):
        """Does any file name in the folder at ``parent_rel`` pass the path
        rules (whatever its identifier)?  Then only a name over Joliet's
        length or a 4 GiB file can break a rule there."""
        rules = self.profile.master.names
        if rules.level >= 4:
            return True
        length = self._folder_iso_path(parent_rel)[0]
        return length + rules.file_limit + FILE_IDENTIFIER_EXTRA + 1 <= MAX_PATH

    def _joliet_limit(self):
        opts = self.profile.master
        if not opts.joliet:
            return None
        return naming.JOLIET_LONG_MAX if opts.joliet_long else naming.JOLIET_MAX

    def _identifier_length(self, name, is_dir):
        rules = self.profile.master.names
        return len(naming.iso_identifier(*naming.iso_name(name, is_dir, rules), is_dir, rules))

    def _check(self, rel, node=None):
        node = node or self._node(rel)
        if node is None:
            return
        self._check_entry(rel, node.name, node.is_dir,
                          node.is_regular and _over_one_extent(node.size))

    def _check_entry(self, rel, name, is_dir, over_one_extent):
        problems = self._problems_cached(split(rel)[0], name, is_dir)
        if over_one_extent and self.profile.master.names.level < 3:
            problems.append("file of 4 GiB or more needs ISO level 3")
        if problems:
            self.violations[rel] = problems
        else:
            self.violations.pop(rel, None)

    # ---- the disc -----------------------------------------------------------------------------------
    def sectors(self):
        self.wait()
        return self.size.total_sectors()

    def over_capacity(self, extra_sectors=0):
        self.wait()
        return self.sectors() + extra_sectors > self.profile.medium_sectors

    def layout(self):
        self.wait()
        self.complete()
        self._fill_paths()
        return _engine().Layout(self.root, self.profile.master)

    def _fill_paths(self):
        """Give the files ``_load_folder`` made their data paths (a file
        with neither a path, a reader nor old extents is one of those)."""
        for top, layer in self._folder_subtrees.items():
            if self._node(top) is None:
                continue        # removed since
            for rel, node in self._subtree(top):
                if node.is_regular and node.path is None and node.reader is None \
                        and node.old_extents is None and node.data is None:
                    node.path = layer.data_path(rel)

    def size_text(self):
        self.wait()
        sectors = self.sectors()
        medium = self.profile.medium_sectors
        return (f"sectors {sectors}\nbytes {sectors * 2048}\n"
                f"medium {self.profile.medium} {medium} sectors\n"
                f"used {sectors * 100.0 / medium:.2f}%\n"
                f"free {max(medium - sectors, 0)} sectors\n")

    def report_text(self):
        self.wait()
        opts = self.profile.master
        lines = [f"# isofuse stage report: {len(self.violations)} problem(s), "
                 f"mode {'strict' if self.profile.strict else 'report'}"]
        sectors = self.sectors()
        if sectors > self.profile.medium_sectors:
            lines.append(f"CAPACITY\t{sectors} sectors needed, the {self.profile.medium} "
                         f"holds {self.profile.medium_sectors}")
        for rel in sorted(self.violations):
            for problem in self.violations[rel]:
                lines.append(f"PROBLEM\t/{rel.decode('utf-8', 'replace')}\t{problem}")
        lines.append("# name changes: original -> ISO 9660 -> Joliet")
        folders = [(b"", self.root)] + [(rel, node) for rel, node in
                                        self._walk(b"", self.root) if node.is_dir]
        for rel, node in sorted(folders, key=lambda folder: folder[0]):
            kids = [(kid.name, kid.is_dir) for kid in node.children.values()]
            packed = self._packed.get(node)
            if packed is not None:
                kids += [(name, False) for name in packed.name_list()]
            if not kids:
                continue
            iso = naming.assign_iso_names(kids, opts.names)
            joliet = naming.assign_joliet_names(kids, opts.joliet_long) if opts.joliet \
                else [None] * len(kids)
            for (name, _), iso_id, jname in zip(kids, iso, joliet):
                original = name.decode("utf-8", "replace")
                iso_text = iso_id.decode("latin-1")
                plain = iso_text.split(";")[0].rstrip(".")
                if plain != original or (jname is not None and jname != original):
                    path = "/" + join(rel, name).decode("utf-8", "replace")
                    lines.append(f"NAME\t{path}\t{iso_text}\t{jname if jname else '-'}")
        return "\n".join(lines) + "\n"
