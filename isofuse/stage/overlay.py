"""Overlay semantics over one writable upper folder and read-only lower layers.

Everything a user changes lands in the upper folder at once, so it survives
an unmount, and a killed daemon leaves nothing half-done: new entries are
made under a temporary name, given their owner and mode, and renamed into
place (a regular file that its creating open(2) gives its exact mode and
owner is made at its name: it is complete from the start); a failing
operation removes what it made (upper stays as it was).

Representation in the upper folder (a plain folder, no special file types,
so it survives copying, archiving and filesystems without device nodes);
see ``whiteouts`` for the markers:

- ``.wh.NAME``          a whiteout: NAME of the lower layers is deleted;
- ``.wh..wh.long.HASH`` the whiteout of a name too long for ``.wh.NAME``
                        (over 251 bytes), holding the full name;
- ``.wh..wh..opq``      in a folder: the folder is opaque, lower layers'
                        folder of the same path does not show through;
- ``.wh..wh.tmp.*``     work files of an unfinished operation (removed at mount).

Names starting with ``.wh.`` are reserved and never shown.  Renaming a
directory that merges lower layers copies it up whole (users see no EXDEV).
"""

import errno
import os
import stat

from .inodes import keep_origin
from .layers import FolderLayer
from .whiteouts import (OPAQUE, TEMP_PREFIX, WHITEOUT_PREFIX, check_name,  # noqa: F401
                        clean_work_files, clear_markers, drop_whiteout, is_opaque,
                        is_whiteout, make_opaque, make_whiteout, remove_quietly, temp_path,
                        whited_out)

COPY_CHUNK = 1 << 20


class OverlayError(OSError):
    def __init__(self, code, message=""):
        super().__init__(code, message or os.strerror(code))


class Entry:
    """One visible path of the merged tree."""

    __slots__ = ("rel", "attr", "in_upper", "lowers", "source")

    def __init__(self, rel, attr, in_upper, lowers, source):
        self.rel = rel            # path relative to the top, bytes
        self.attr = attr          # layers.Attr of the visible object
        self.in_upper = in_upper
        self.lowers = lowers      # lower layers merged below this directory
        self.source = source      # the layer the visible object comes from

    @property
    def is_dir(self):
        return stat.S_ISDIR(self.attr.mode)


def join(parent, name):
    return parent + b"/" + name if parent else name


def split(rel):
    parent, _, name = rel.rpartition(b"/")
    return parent, name


class Overlay:
    def __init__(self, upper_path, lowers):
        self.upper = FolderLayer(upper_path, "upper")
        self.lowers = list(lowers)
        self._dirs = {}
        clean_work_files(self.upper.root)

    # ---- paths in the upper folder -------------------------------------------------------------
    def upper_real(self, rel):
        return self.upper.real(rel)

    def _is_opaque(self, rel):
        return is_opaque(self.upper_real(rel))

    # ---- lookups --------------------------------------------------------------------------------------
    def root(self):
        entry = self._dirs.get(b"")
        if entry is None:
            attr = self.upper.attr(b"")
            lowers = [] if self._is_opaque(b"") else \
                [layer for layer in self.lowers if (a := layer.attr(b"")) and a.is_dir]
            entry = self._dirs[b""] = Entry(b"", attr, True, lowers, self.upper)
        return entry

    def invalidate(self, rel=None):
        """Forget cached directory entries: those at and below ``rel`` (the
        path a change touched), or all of them."""
        self.upper.forget_anchors(rel)
        if rel is None:
            self._dirs.clear()
            return
        prefix = rel + b"/"
        for key in [k for k in self._dirs if k == rel or k.startswith(prefix)] \
                if rel else list(self._dirs):
            del self._dirs[key]

    def lookup(self, parent, name):
        """The visible entry ``name`` of ``parent``, or None; a name over
        NAME_MAX is ENAMETOOLONG (as on any Linux filesystem)."""
        check_name(name)
        if name.startswith(WHITEOUT_PREFIX) or name in (b".", b".."):
            return None
        rel = join(parent.rel, name)
        cached = self._dirs.get(rel)
        if cached is not None:
            return cached
        entry = self._lookup(parent, rel, name)
        if entry is not None and entry.is_dir:
            self._dirs[rel] = entry
        return entry

    def _lookup(self, parent, rel, name):
        if parent.in_upper:
            up = self.upper.attr(rel)
            if up is not None:
                lowers = []
                if up.is_dir and not self._is_opaque(rel):
                    lowers = [layer for layer in parent.lowers
                              if (a := layer.attr(rel)) is not None and a.is_dir]
                return Entry(rel, up, True, lowers, self.upper)
            if parent.lowers and is_whiteout(self.upper_real(parent.rel), name):
                return None
        for i, layer in enumerate(parent.lowers):
            attr = layer.attr(rel)
            if attr is None:
                continue
            if not attr.is_dir:
                return Entry(rel, attr, False, [], layer)
            lowers = [layer] + [other for other in parent.lowers[i + 1:]
                                if (a := other.attr(rel)) is not None and a.is_dir]
            return Entry(rel, attr, False, lowers, layer)
        return None

    def resolve(self, rel):
        entry = self.root()
        if not rel:
            return entry
        # A cached folder is current (a change forgets it and everything
        # below it), so the walk from the root can start at the parent.
        parent_rel, name = split(rel)
        parent = self._dirs.get(parent_rel) if parent_rel else entry
        if parent is not None:
            return self.lookup(parent, name)
        for name in rel.split(b"/"):
            if entry is None or not entry.is_dir:
                return None
            entry = self.lookup(entry, name)
        return entry

    def _must(self, rel):
        entry = self.resolve(rel)
        if entry is None:
            raise OverlayError(errno.ENOENT)
        return entry

    def listdir(self, entry):
        """Names of a merged directory, sorted (stable readdir offsets)."""
        names, hidden = set(), set()
        if entry.in_upper:
            upper_names = self.upper.listdir(entry.rel)
            if entry.lowers:
                hidden = whited_out(self.upper_real(entry.rel), upper_names)
            names.update(name for name in upper_names if not name.startswith(WHITEOUT_PREFIX))
        for layer in entry.lowers:
            for name in layer.listdir(entry.rel):
                if name not in hidden and not name.startswith(WHITEOUT_PREFIX):
                    names.add(name)
        return sorted(names)

    def in_lowers(self, rel):
        """Does any lower layer under the parent have something at rel?"""
        parent = self.resolve(split(rel)[0])
        return parent is not None and any(layer.attr(rel) is not None
                                          for layer in parent.lowers)

    # ---- copy-up -------------------------------------------------------------------------------------
    def copy_up(self, entry):
        """Make the entry exist in the upper folder (metadata and data).
        The entry may be older than a copy-up made since (a rename's source
        copies up the parents it shares with the target): it is looked up
        again rather than copied twice."""
        if entry.in_upper:
            return entry
        entry = self._must(entry.rel)
        if entry.in_upper:
            return entry
        parent_rel, _ = split(entry.rel)
        self.copy_up(self._must(parent_rel))
        attr, layer, rel = entry.attr, entry.source, entry.rel
        parent_dir = self.upper_real(parent_rel)
        parent_times = os.lstat(parent_dir)
        temp = temp_path(parent_dir)
        try:
            if entry.is_dir:
                os.mkdir(temp, 0o700)
            elif stat.S_ISREG(attr.mode):
                self._copy_data(layer, rel, temp, attr)
            elif stat.S_ISLNK(attr.mode):
                os.symlink(layer.readlink(rel), temp)
            else:
                os.mknod(temp, attr.mode, attr.rdev)
            self._finish_attributes(temp, attr, layer, rel)
            keep_origin(temp, attr)         # the entry keeps its inode number
            os.rename(temp, self.upper_real(rel))
        except BaseException:
            remove_quietly(temp)
            raise
        # a copy-up is no change of the folder (overlayfs keeps its times too)
        os.utime(parent_dir, ns=(parent_times.st_atime_ns, parent_times.st_mtime_ns))
        self.invalidate(rel)
        return self._must(rel)

    def _copy_data(self, layer, rel, temp, attr):
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            source = layer.data_path(rel)
            if source is not None:
                with open(source, "rb") as src:
                    offset = 0
                    while offset < attr.size:
                        n = os.copy_file_range(src.fileno(), fd, COPY_CHUNK, offset, offset)
                        if n == 0:
                            break
                        offset += n
            else:
                offset = 0
                while offset < attr.size:
                    chunk = layer.read(rel, offset, min(COPY_CHUNK, attr.size - offset))
                    if not chunk:
                        break
                    os.pwrite(fd, chunk, offset)
                    offset += len(chunk)
            os.fsync(fd)  # the copy is complete before its name appears
        finally:
            os.close(fd)

    @staticmethod
    def _finish_attributes(path, attr, layer, rel):
        """Owner, then mode (a chown clears S_ISUID/S_ISGID), xattrs, times."""
        follow = False
        try:
            os.chown(path, attr.uid, attr.gid, follow_symlinks=follow)
        except PermissionError:
            pass  # not root: the copy belongs to the user
        if not stat.S_ISLNK(attr.mode):
            os.chmod(path, stat.S_IMODE(attr.mode))
        for name, value in layer.xattrs(rel).items():
            try:
                os.setxattr(path, name, value, follow_symlinks=follow)
            except OSError:
                pass  # the upper filesystem may not hold xattrs
        os.utime(path, (attr.atime, attr.mtime), follow_symlinks=follow)

    def copy_up_tree(self, entry):
        """Copy a directory and everything visible below it into the upper."""
        entry = self.copy_up(entry)
        for name in self.listdir(entry):
            child = self.lookup(entry, name)
            if child is None:
                continue
            if child.is_dir:
                self.copy_up_tree(child)
            else:
                self.copy_up(child)
        return self._must(entry.rel)

    # ---- new entries ---------------------------------------------------------------------------------
    def _prepare_new(self, parent_rel, name, exclusive=False):
        """The path of a new entry and its parent's entry (in the upper
        folder now), or EEXIST.  ``exclusive``: the caller makes the entry
        at its name with O_EXCL, which answers EEXIST itself where only the
        upper folder can hold the name (a parent there that merges no
        lower folder): no lookup then."""
        check_name(name)
        if name.startswith(WHITEOUT_PREFIX):
            raise OverlayError(errno.EINVAL, "names starting with .wh. are reserved")
        parent = self._must(parent_rel)
        if not parent.is_dir:
            raise OverlayError(errno.ENOTDIR)
        rel = join(parent_rel, name)
        if not (exclusive and parent.in_upper and not parent.lowers) \
                and self.lookup(parent, name) is not None:
            raise OverlayError(errno.EEXIST)
        return rel, self.copy_up(parent)

    @staticmethod
    def _own(path, mode, owner, parent_dir):
        """Owner and exact mode of a new entry.  The kernel has applied the
        caller's umask already, so the daemon's own umask must not count:
        the mode is set with chmod, after the chown (which would clear
        S_ISUID/S_ISGID).  A set-group-ID parent gives its group (and, to a
        folder, its S_ISGID) as the kernel's inode_init_owner does."""
        parent = os.stat(parent_dir)
        is_dir = mode is not None and stat.S_ISDIR(mode)
        if owner is not None and os.geteuid() == 0:
            uid, gid = owner
            if parent.st_mode & stat.S_ISGID:
                gid = parent.st_gid
            if (uid, gid) != (0, os.getegid()) or parent.st_mode & stat.S_ISGID:
                os.chown(path, uid, gid, follow_symlinks=False)
        if mode is not None:
            if is_dir and parent.st_mode & stat.S_ISGID:
                mode |= stat.S_ISGID
            os.chmod(path, stat.S_IMODE(mode))

    def _install(self, parent_rel, name, make, mode, owner, prepared=None):
        """Make a new entry: ``make(temp)`` creates it under a work name
        (its result, an fd for create, is returned); owner and mode are
        set; it is renamed into place and its whiteout dropped.  On any
        failure nothing of it stays in the upper folder.  ``prepared``:
        what ``_prepare_new`` said, if the caller asked already."""
        rel, parent = prepared or self._prepare_new(parent_rel, name)
        parent_dir = self.upper_real(parent_rel)
        temp = temp_path(parent_dir)
        result = None
        placed = False
        try:
            result = make(temp)
            self._own(temp, mode, owner, parent_dir)
            os.rename(temp, self.upper_real(rel))
            placed = True
            if parent.lowers:       # elsewhere no whiteout can matter
                drop_whiteout(parent_dir, name)
        except BaseException:
            if isinstance(result, int):
                os.close(result)
            remove_quietly(self.upper_real(rel) if placed else temp)
            raise
        # nothing was cached at a path that did not exist (lookup said so)
        self.upper.forget_anchors(rel)
        return rel, result

    def create(self, parent_rel, name, flags, mode, owner=None):
        """A new regular file, open with ``flags``: (its path, the fd)."""
        prepared = self._prepare_new(parent_rel, name, exclusive=True)
        parent_dir = self.upper_real(parent_rel)
        if not self._made_as_asked(parent_dir, mode, owner):
            # made under a work name and renamed into place, which would
            # replace what is there: the lookup skipped for the O_EXCL open
            if not prepared[1].lowers and self.lookup(prepared[1], name) is not None:
                raise OverlayError(errno.EEXIST)
            return self._install(
                parent_rel, name,
                lambda temp: os.open(temp, flags | os.O_CREAT | os.O_EXCL, 0o600),
                mode, owner, prepared)
        # The creating open gives the file its exact mode and owner, so it
        # is complete the moment its name exists: no work name, no chmod,
        # no rename (each a journalled change of the upper folder).
        rel, parent = prepared
        path = self.upper_real(rel)
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, stat.S_IMODE(mode))
        try:
            if parent.lowers:
                drop_whiteout(parent_dir, name)
        except BaseException:
            os.close(fd)
            remove_quietly(path)
            raise
        self.upper.forget_anchors(rel)
        return rel, fd

    @staticmethod
    def _made_as_asked(parent_dir, mode, owner):
        """Would a file made by open(2) with ``mode`` get exactly what
        ``_own`` gives it: permission bits the daemon's umask leaves alone
        (no set-ID bit, which the kernel may drop), and no chown to do?"""
        umask = os.umask(0)
        os.umask(umask)
        if stat.S_IMODE(mode) & (umask | 0o7000):
            return False
        if owner is None or os.geteuid() != 0:
            return True
        return tuple(owner) == (0, os.getegid()) and \
            not os.stat(parent_dir).st_mode & stat.S_ISGID

    def mkdir(self, parent_rel, name, mode, owner=None):
        mode = stat.S_IFDIR | stat.S_IMODE(mode)
        rel, parent = prepared = self._prepare_new(parent_rel, name, exclusive=True)
        if not parent.lowers and self._made_as_asked(self.upper_real(parent_rel), mode, owner):
            # As for create: mkdir(2) gives the folder its exact mode and
            # owner, and in a parent that merges no lower folder no marker
            # can be needed, so it is complete the moment its name exists
            # (mkdir answers EEXIST itself).
            os.mkdir(self.upper_real(rel), stat.S_IMODE(mode))
            self.upper.forget_anchors(rel)
            return rel
        if not parent.lowers and self.lookup(parent, name) is not None:
            raise OverlayError(errno.EEXIST)    # skipped above; the work name's rename replaces

        def make(temp):
            os.mkdir(temp, 0o700)
            if self.in_lowers(rel):
                make_opaque(temp)   # a lower folder of the same name must not show through
        return self._install(parent_rel, name, make, mode, owner, prepared)[0]

    def symlink(self, parent_rel, name, target, owner=None):
        return self._install(parent_rel, name, lambda temp: os.symlink(target, temp),
                             None, owner)[0]

    def mknod(self, parent_rel, name, mode, rdev, owner=None):
        return self._install(parent_rel, name,
                             lambda temp: os.mknod(temp, stat.S_IFMT(mode) | 0o600, rdev),
                             mode, owner)[0]

    def link(self, rel, parent_rel, name):
        entry = self._must(rel)
        if entry.is_dir:
            raise OverlayError(errno.EPERM)
        new, _ = self._prepare_new(parent_rel, name)
        entry = self.copy_up(entry)
        parent_dir = self.upper_real(parent_rel)
        os.link(self.upper_real(entry.rel), self.upper_real(new), follow_symlinks=False)
        try:
            drop_whiteout(parent_dir, name)
        except BaseException:
            remove_quietly(self.upper_real(new))
            raise
        self.invalidate(new)
        return new

    # ---- removals and renames ------------------------------------------------------------------------
    def unlink(self, rel):
        entry = self._must(rel)
        if entry.is_dir:
            raise OverlayError(errno.EISDIR)
        self._remove(entry)

    def rmdir(self, rel):
        entry = self._must(rel)
        if not entry.is_dir:
            raise OverlayError(errno.ENOTDIR)
        if self.listdir(entry):
            raise OverlayError(errno.ENOTEMPTY)
        self._remove(entry)

    def _remove(self, entry):
        """The whiteout first, then the upper object: a crash in between
        leaves the entry visible (upper wins), never the lower one back."""
        rel = entry.rel
        parent_rel, name = split(rel)
        shadowed = self.in_lowers(rel)
        if shadowed:
            self.copy_up(self._must(parent_rel))
            make_whiteout(self.upper_real(parent_rel), name)
        if entry.in_upper:
            try:
                if entry.is_dir:
                    # out of sight in one step, then gone with its markers
                    temp = temp_path(self.upper_real(parent_rel))
                    os.rename(self.upper_real(rel), temp)
                    remove_quietly(temp)
                else:
                    os.unlink(self.upper_real(rel))
            except BaseException:
                if shadowed:
                    drop_whiteout(self.upper_real(parent_rel), name)
                raise
        self.invalidate(rel)

    def _check_rename(self, src, dst, noreplace):
        if dst is None:
            return
        if noreplace:
            raise OverlayError(errno.EEXIST)
        if dst.is_dir and not src.is_dir:
            raise OverlayError(errno.EISDIR)
        if src.is_dir and not dst.is_dir:
            raise OverlayError(errno.ENOTDIR)
        if dst.is_dir and self.listdir(dst):
            raise OverlayError(errno.ENOTEMPTY)

    def rename(self, old, new_parent_rel, new_name, noreplace=False):
        check_name(new_name)
        src = self._must(old)
        new_parent = self._must(new_parent_rel)
        if new_name.startswith(WHITEOUT_PREFIX):
            raise OverlayError(errno.EINVAL, "names starting with .wh. are reserved")
        if not new_parent.is_dir:
            raise OverlayError(errno.ENOTDIR)
        new = join(new_parent_rel, new_name)
        if new == old:
            return new
        if new.startswith(old + b"/"):
            raise OverlayError(errno.EINVAL)
        dst = self.lookup(new_parent, new_name)
        self._check_rename(src, dst, noreplace)
        if dst is not None and self._same_object(src, dst):
            return new      # two names of one file: rename(2) does nothing
        old_parent_rel, old_name = split(old)
        src_shadowed = self.in_lowers(old)
        if src.is_dir and src.lowers:
            src = self.copy_up_tree(src)   # lower contents move along
        else:
            src = self.copy_up(src)
        self.copy_up(self._must(new_parent_rel))   # fresh: the copy-up above may have made it
        if dst is not None and dst.is_dir:
            dst = self.copy_up(dst)
            clear_markers(self.upper_real(new))    # empty but for markers
        if src.is_dir and self.in_lowers(new):
            make_opaque(self.upper_real(old))
        if src_shadowed:
            make_whiteout(self.upper_real(old_parent_rel), old_name)
        try:
            os.rename(self.upper_real(old), self.upper_real(new))
        except BaseException:
            if src_shadowed:
                drop_whiteout(self.upper_real(old_parent_rel), old_name)
            raise
        drop_whiteout(self.upper_real(new_parent_rel), new_name)
        self.invalidate(old)
        self.invalidate(new)
        return new

    def _same_object(self, a, b):
        """Are two visible entries names of one file (hard links)?"""
        if a.in_upper and b.in_upper:
            return os.path.samestat(os.lstat(self.upper_real(a.rel)),
                                    os.lstat(self.upper_real(b.rel)))
        return not a.in_upper and not b.in_upper and a.attr.identity == b.attr.identity

    def open_upper(self, rel, flags):
        """Open for writing (after copy-up)."""
        entry = self.copy_up(self._must(rel))
        return os.open(self.upper_real(entry.rel), flags & ~(os.O_CREAT | os.O_EXCL))

    def forget_anchors(self):
        """Close the long-path anchors the calling thread holds (a thread
        that is done with the layers)."""
        for layer in [self.upper, *self.lowers]:
            if isinstance(layer, FolderLayer):
                layer.forget_anchors()

    def close(self):
        self.upper.close()
        for layer in self.lowers:
            layer.close()
