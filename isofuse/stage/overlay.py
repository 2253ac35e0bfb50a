"""Overlay semantics over one writable upper folder and read-only lower layers.

Everything a user changes lands in the upper folder at once, so it survives
an unmount, and a killed daemon leaves nothing half-done: new entries are
made under a temporary name and renamed into place.

Representation in the upper folder (a plain folder, no special file types,
so it survives copying, archiving and filesystems without device nodes):

- ``.wh.NAME``      a whiteout: NAME of the lower layers is deleted;
- ``.wh..wh..opq``  in a folder: the folder is opaque, lower layers' folder
                    of the same path does not show through;
- ``.wh..wh.tmp.*`` work files of an unfinished copy-up (removed at mount).

Names starting with ``.wh.`` are reserved and never shown.  Renaming a
directory that merges lower layers copies it up whole (users see no EXDEV).
"""

import errno
import os
import secrets
import stat

from .layers import FolderLayer

WHITEOUT_PREFIX = b".wh."
OPAQUE = b".wh..wh..opq"
TEMP_PREFIX = b".wh..wh.tmp."
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
        self._clean_work_files()

    # ---- paths in the upper folder -------------------------------------------------------------
    def upper_real(self, rel):
        return self.upper.real(rel)

    def _whiteout(self, rel):
        parent, name = split(rel)
        return self.upper_real(join(parent, WHITEOUT_PREFIX + name))

    def _is_opaque(self, rel):
        return os.path.lexists(os.path.join(self.upper_real(rel), OPAQUE))

    def _clean_work_files(self):
        """Remove what an interrupted copy-up left (never a user's file)."""
        for dirpath, dirnames, filenames in os.walk(self.upper.root):
            for name in filenames + dirnames:
                if name.startswith(TEMP_PREFIX):
                    path = os.path.join(dirpath, name)
                    if os.path.isdir(path) and not os.path.islink(path):
                        import shutil
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        os.unlink(path)

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
        if rel is None:
            self._dirs.clear()
            return
        prefix = rel + b"/"
        for key in [k for k in self._dirs if k == rel or k.startswith(prefix)] \
                if rel else list(self._dirs):
            del self._dirs[key]

    def lookup(self, parent, name):
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
            if os.path.lexists(self._whiteout(rel)):
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
            for name in self.upper.listdir(entry.rel):
                if name.startswith(WHITEOUT_PREFIX):
                    if name != OPAQUE and not name.startswith(TEMP_PREFIX):
                        hidden.add(name[len(WHITEOUT_PREFIX):])
                    continue
                names.add(name)
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
    def _temp_name(self, parent_rel):
        return self.upper_real(join(parent_rel, TEMP_PREFIX + secrets.token_hex(6).encode()))

    def copy_up(self, entry):
        """Make the entry exist in the upper folder (metadata and data)."""
        if entry.in_upper:
            return entry
        parent_rel, _ = split(entry.rel)
        self.copy_up(self._must(parent_rel))
        attr, layer, rel = entry.attr, entry.source, entry.rel
        dest = self.upper_real(rel)
        if entry.is_dir:
            os.mkdir(dest, stat.S_IMODE(attr.mode) | 0o700)
            self._finish_attributes(dest, attr, layer, rel)
            os.chmod(dest, stat.S_IMODE(attr.mode))
        else:
            temp = self._temp_name(parent_rel)
            try:
                if stat.S_ISREG(attr.mode):
                    self._copy_data(layer, rel, temp, attr)
                elif stat.S_ISLNK(attr.mode):
                    os.symlink(layer.readlink(rel), temp)
                else:
                    os.mknod(temp, attr.mode, attr.rdev)
                self._finish_attributes(temp, attr, layer, rel)
                os.rename(temp, dest)
            except BaseException:
                if os.path.lexists(temp):
                    os.unlink(temp)
                raise
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
        follow = False
        if not stat.S_ISLNK(attr.mode):
            os.chmod(path, stat.S_IMODE(attr.mode))
        try:
            os.chown(path, attr.uid, attr.gid, follow_symlinks=follow)
        except PermissionError:
            pass  # not root: the copy belongs to the user
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

    # ---- changes ---------------------------------------------------------------------------------------
    def _drop_whiteout(self, rel):
        try:
            os.unlink(self._whiteout(rel))
        except FileNotFoundError:
            pass

    def _make_whiteout(self, rel):
        fd = os.open(self._whiteout(rel), os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    def _prepare_new(self, parent_rel, name):
        if name.startswith(WHITEOUT_PREFIX):
            raise OverlayError(errno.EINVAL, "names starting with .wh. are reserved")
        parent = self._must(parent_rel)
        if not parent.is_dir:
            raise OverlayError(errno.ENOTDIR)
        rel = join(parent_rel, name)
        if self.lookup(parent, name) is not None:
            raise OverlayError(errno.EEXIST)
        self.copy_up(parent)
        return rel

    def _place(self, temp, rel):
        """Move a finished new entry into place, then drop its whiteout."""
        os.rename(temp, self.upper_real(rel))
        self._drop_whiteout(rel)
        self.invalidate(rel)

    def create(self, parent_rel, name, flags, mode):
        rel = self._prepare_new(parent_rel, name)
        path = self.upper_real(rel)
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
        self._drop_whiteout(rel)
        self.invalidate(rel)
        return rel, fd

    def mkdir(self, parent_rel, name, mode):
        rel = self._prepare_new(parent_rel, name)
        temp = self._temp_name(parent_rel)
        os.mkdir(temp, mode)
        if self.in_lowers(rel):
            # a lower folder of the same name must not show through
            os.close(os.open(os.path.join(temp, OPAQUE), os.O_WRONLY | os.O_CREAT, 0o600))
        self._place(temp, rel)
        return rel

    def symlink(self, parent_rel, name, target):
        rel = self._prepare_new(parent_rel, name)
        temp = self._temp_name(parent_rel)
        os.symlink(target, temp)
        self._place(temp, rel)
        return rel

    def mknod(self, parent_rel, name, mode, rdev):
        rel = self._prepare_new(parent_rel, name)
        temp = self._temp_name(parent_rel)
        os.mknod(temp, mode, rdev)
        self._place(temp, rel)
        return rel

    def link(self, rel, parent_rel, name):
        entry = self._must(rel)
        if entry.is_dir:
            raise OverlayError(errno.EPERM)
        new = self._prepare_new(parent_rel, name)
        entry = self.copy_up(entry)
        os.link(self.upper_real(entry.rel), self.upper_real(new))
        self._drop_whiteout(new)
        self.invalidate(new)
        return new

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

    def _clear_markers(self, rel):
        """Whiteouts inside an upper folder that is about to go."""
        path = self.upper_real(rel)
        for name in os.listdir(path):
            if name.startswith(WHITEOUT_PREFIX):
                os.unlink(os.path.join(path, name))

    def _remove(self, entry):
        rel = entry.rel
        shadowed = self.in_lowers(rel)
        if shadowed:
            self.copy_up(self._must(split(rel)[0]))
        if entry.in_upper:
            if entry.is_dir:
                self._clear_markers(rel)
                os.rmdir(self.upper_real(rel))
            else:
                os.unlink(self.upper_real(rel))
        if shadowed:
            self._make_whiteout(rel)
        self.invalidate(rel)

    def rename(self, old, new_parent_rel, new_name, noreplace=False):
        src = self._must(old)
        new_parent = self._must(new_parent_rel)
        if new_name.startswith(WHITEOUT_PREFIX):
            raise OverlayError(errno.EINVAL, "names starting with .wh. are reserved")
        new = join(new_parent_rel, new_name)
        if new == old:
            return new
        if new.startswith(old + b"/"):
            raise OverlayError(errno.EINVAL)
        dst = self.lookup(new_parent, new_name)
        if dst is not None:
            if noreplace:
                raise OverlayError(errno.EEXIST)
            if dst.is_dir and not src.is_dir:
                raise OverlayError(errno.EISDIR)
            if src.is_dir and not dst.is_dir:
                raise OverlayError(errno.ENOTDIR)
            if dst.is_dir and self.listdir(dst):
                raise OverlayError(errno.ENOTEMPTY)
        src_shadowed = self.in_lowers(old)
        if src.is_dir and src.lowers:
            src = self.copy_up_tree(src)   # lower contents move along
        else:
            src = self.copy_up(src)
        self.copy_up(new_parent)
        dst_shadowed = self.in_lowers(new)
        if dst is not None and dst.in_upper and dst.is_dir:
            self._clear_markers(new)
        if src.is_dir and dst_shadowed:
            marker = os.path.join(self.upper_real(old), OPAQUE)
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o600))
        os.rename(self.upper_real(old), self.upper_real(new))
        self._drop_whiteout(new)
        if src_shadowed:
            self.copy_up(self._must(split(old)[0]))
            self._make_whiteout(old)
        self.invalidate(old)
        self.invalidate(new)
        return new

    def open_upper(self, rel, flags):
        """Open for writing (after copy-up)."""
        entry = self.copy_up(self._must(rel))
        return os.open(self.upper_real(entry.rel), flags & ~(os.O_CREAT | os.O_EXCL))

    def close(self):
        for layer in self.lowers:
            layer.close()
