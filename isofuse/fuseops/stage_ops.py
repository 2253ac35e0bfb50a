"""pyfuse3 operations of ``isofuse stage``: a writable overlay whose every
change also updates the model of the future disc.  Errors become errno here
and only here.

Inode numbers are stable across remounts (``stage.inodes``: the upper
file's own number, or a hash of the lower layer's identity of the entry);
an unlinked file stays usable through its open handles until the last
close.  The control directory ``.isofuse`` (name configurable) has fixed
inode numbers and is not part of the disc.  While ``.isofuse/image.iso`` is open, changes to the tree are
refused with EBUSY, so the image read is consistent from its first byte to
its last (documented in the README).
"""

import errno
import logging
import os
import stat

import pyfuse3

from ..master.stream import ImageStream, SourceChanged
from ..stage.inodes import ORIGIN_XATTR, InodeMap, ROOT, UpperNumbers, lower_ino
from ..stage.overlay import join
from .boundary import errno_boundary, fuse_error
from ..format.sectors import sectors_for

log = logging.getLogger("isofuse.stage")

CONTROL_INO = 2
CONTROL_FILES = {b"report": 3, b"size": 4, b"image.iso": 5, b"msinfo": 6}
FIRST_PATH_INO = 100
# statfs: every new entry needs at least one directory record of 34 bytes
# (ECMA-119 9.1: 33 bytes and a 1-byte identifier) in the room left.
MIN_RECORD = 34
# Every change goes through this filesystem, and the kernel drops what it
# cached for the entries an operation touches: names and attributes can be
# cached for long.  (Changing UPPER behind the mount's back is unsupported.)
TIMEOUT = 60.0


class _Handle:
    __slots__ = ("ino", "fd", "rel", "data", "stream", "wrote", "source", "attr", "inos")

    def __init__(self, ino, fd=None, rel=None, data=None, stream=None):
        self.ino, self.fd, self.rel, self.data, self.stream = ino, fd, rel, data, stream
        self.wrote = False
        self.source = None      # the layer a read-only handle reads (lower layers never change)
        self.attr = None        # that entry's attributes when it was opened
        self.inos = ()          # the numbers the handle answers for once unlinked


@errno_boundary
class StageOperations(pyfuse3.Operations):
    supports_dot_lookup = False
    enable_writeback_cache = False
    enable_acl = False

    def __init__(self, overlay, disc, control_name=b".isofuse", show_control=False,
                 msinfo=None):
        super().__init__()
        self.overlay = overlay
        self.disc = disc
        self.control_name = control_name
        self.show_control = show_control
        self.msinfo = msinfo
        self._inodes = InodeMap()
        self._upper_numbers = UpperNumbers()
        self._open = {}          # inode number -> {fh: handle} of its open files
        self._attr_cache = {}    # rel -> attributes, until the next change
        self._handles = {}
        self._next_fh = 1
        self._image_readers = 0

    # ---- inodes ----------------------------------------------------------------------------------
    def _rel(self, ino):
        rel = self._inodes.rel(ino)
        if rel is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return rel

    def _path_of(self, ino):
        """The path of an inode, or None once it has none (unlinked)."""
        return self._inodes.rel(ino)

    def _shared(self, ino):
        """Has the inode other names (whose cached answers a change to it
        makes stale)?"""
        return self._inodes.name_count(ino) > 1

    def _move_inodes(self, old, new, is_dir=True):
        self._inodes.move(old, new, is_dir)

    def _forget_path(self, rel):
        self._inodes.unbind(rel)

    def _open_handle_of(self, inode):
        """A handle of an open file that has lost its last name."""
        for ino in (inode, self._inodes.resolve(inode)):
            handles = self._open.get(ino)
            if handles:
                return next(iter(handles.values()))
        return None

    def _track(self, fh, handle, inode):
        handle.inos = {inode, self._inodes.resolve(inode)}
        for ino in handle.inos:
            self._open.setdefault(ino, {})[fh] = handle

    def _untrack(self, fh, handle):
        for ino in handle.inos:
            handles = self._open.get(ino)
            if handles is not None:
                handles.pop(fh, None)
                if not handles:
                    del self._open[ino]

    # ---- attributes ------------------------------------------------------------------------------
    def _entry(self, rel):
        entry = self.overlay.resolve(rel)
        if entry is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return entry

    def _attr_of(self, ino, a):
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = ino
        attr.entry_timeout = TIMEOUT
        attr.attr_timeout = TIMEOUT
        attr.st_mode, attr.st_nlink = a.mode, a.nlink
        attr.st_uid, attr.st_gid, attr.st_rdev = a.uid, a.gid, a.rdev
        attr.st_size = a.size
        attr.st_blksize = 4096
        attr.st_blocks = (a.size + 511) // 512
        attr.st_atime_ns = a.atime * 1_000_000_000
        attr.st_mtime_ns = a.mtime * 1_000_000_000
        attr.st_ctime_ns = a.ctime * 1_000_000_000
        return attr

    def _upper_attr(self, rel):
        """Attributes of an upper entry, with its stable inode number
        (``stage.inodes``: hard links of any type share it)."""
        path = self.overlay.upper_real(rel)
        st = os.lstat(path)
        ino = self._upper_numbers(path, st) if rel else ROOT
        self._inodes.bind(rel, ino)
        return self._upper_stat_attr(ino, rel, st)

    def _lower_attr(self, rel, entry):
        ino = lower_ino(entry.attr.identity) if rel else ROOT
        self._inodes.bind(rel, ino)
        return self._attr_of(ino, entry.attr)

    def _upper_stat_attr(self, ino, rel, st=None):
        """Exact (nanosecond) attributes of an entry in the upper folder."""
        st = st or os.lstat(self.overlay.upper_real(rel))
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = ino
        attr.entry_timeout = TIMEOUT
        attr.attr_timeout = TIMEOUT
        for name in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size",
                     "st_blocks", "st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
            setattr(attr, name, getattr(st, name))
        attr.st_blksize = st.st_blksize
        return attr

    def _attributes(self, rel):
        entry = self._entry(rel)
        if entry.in_upper:
            return self._upper_attr(rel)
        return self._lower_attr(rel, entry)

    def _orphan_attributes(self, inode):
        """getattr (fstat) of an open file whose last name is gone."""
        handle = self._open_handle_of(inode)
        if handle is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        if handle.fd is not None:
            return self._upper_stat_attr(handle.ino, None, os.fstat(handle.fd))
        return self._attr_of(handle.ino, handle.attr)

    @staticmethod
    def _negative():
        """"No such name", cacheable by the kernel (inode 0): tools probe for
        names before creating them; every creation goes through us, and the
        kernel replaces the negative entry then."""
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = 0
        attr.entry_timeout = TIMEOUT
        return attr

    def _control_content(self, ino):
        if ino == CONTROL_FILES[b"report"]:
            return self.disc.report_text().encode()
        if ino == CONTROL_FILES[b"size"]:
            return self.disc.size_text().encode()
        if ino == CONTROL_FILES[b"msinfo"] and self.msinfo:
            return self.msinfo.encode() + b"\n"
        return b""

    def _control_attr(self, ino):
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = ino
        attr.entry_timeout = 0
        attr.attr_timeout = 0
        root = self.overlay.root().attr
        attr.st_uid, attr.st_gid = root.uid, root.gid
        attr.st_mtime_ns = attr.st_ctime_ns = attr.st_atime_ns = root.mtime * 10 ** 9
        if ino == CONTROL_INO:
            attr.st_mode = stat.S_IFDIR | 0o555
            attr.st_nlink = 2
        else:
            attr.st_mode = stat.S_IFREG | 0o444
            attr.st_nlink = 1
            if ino == CONTROL_FILES[b"image.iso"]:
                attr.st_size = self.disc.sectors() * 2048
            else:
                attr.st_size = len(self._control_content(ino))
        attr.st_blksize = 2048
        attr.st_blocks = (attr.st_size + 511) // 512
        return attr

    def _control_names(self):
        return [name for name in CONTROL_FILES if name != b"msinfo" or self.msinfo]

    # ---- errors -----------------------------------------------------------------------------------
    @staticmethod
    def _fail(exc):
        return fuse_error(exc)

    def _changing(self, *touched):
        """Before a change: refused while image.iso is open; cached lookup
        answers are forgotten -- only those of ``touched`` paths when the
        caller knows the change affects nothing else, otherwise all of them
        (a rename, a copy-up or a hard link can change many answers)."""
        if self._image_readers:
            raise pyfuse3.FUSEError(errno.EBUSY)
        if touched:
            for rel in touched:
                self._attr_cache.pop(rel, None)
        else:
            self._attr_cache.clear()

    def _in_upper(self, rel):
        """Whether ``rel`` already exists in the upper folder (a change there
        needs no copy-up, which could touch its ancestors)."""
        entry = self.overlay.resolve(rel)
        return entry is not None and entry.in_upper

    def _touched_by_new_entry(self, parent_rel, name):
        """What creating ``name`` in ``parent_rel`` changes: the two paths,
        or everything (an empty tuple) when the parent must be copied up."""
        return (join(parent_rel, name), parent_rel) if self._in_upper(parent_rel) else ()

    def _about_to_change(self, inode):
        """Before changing an entry's own attributes or xattrs: its path and
        overlay entry, with the cached answers the change makes stale
        forgotten (its own, or all when a copy-up or other hard links are
        involved)."""
        self._guard_control(inode)
        rel = self._rel(inode)
        entry = self._entry(rel)
        self._changing(*(() if self._shared(inode) or not entry.in_upper else (rel,)))
        return rel, entry

    def _rule_check(self, parent_rel, name, is_dir):
        problems = self.disc.problems_for(parent_rel, name, is_dir)
        if problems:
            where = join(parent_rel, name).decode("utf-8", "replace")
            if self.disc.profile.strict:
                log.warning("refused /%s: %s", where, "; ".join(problems))
                raise pyfuse3.FUSEError(errno.ENAMETOOLONG)
            log.info("/%s: %s", where, "; ".join(problems))

    def _capacity_check(self, extra_sectors):
        if self.disc.profile.strict and extra_sectors > 0 \
                and self.disc.over_capacity(extra_sectors):
            log.warning("refused: the %s would be full", self.disc.profile.medium)
            raise pyfuse3.FUSEError(errno.ENOSPC)

    # ---- lookups -------------------------------------------------------------------------------------
    async def lookup(self, parent_inode, name, ctx=None):
        return self._lookup(parent_inode, name)

    def _lookup(self, parent_inode, name):
        if parent_inode == CONTROL_INO:
            ino = CONTROL_FILES.get(name)
            if ino is None or (name == b"msinfo" and not self.msinfo):
                raise pyfuse3.FUSEError(errno.ENOENT)
            return self._control_attr(ino)
        if parent_inode == pyfuse3.ROOT_INODE and name == self.control_name:
            return self._control_attr(CONTROL_INO)
        if parent_inode in CONTROL_FILES.values():
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        rel = join(self._rel(parent_inode), name)
        cached = self._attr_cache.get(rel)
        if cached is not None:
            return cached
        try:
            entry = self.overlay.resolve(rel)
        except OSError as exc:
            raise self._fail(exc) from None
        if entry is None:
            return self._negative()
        if entry.in_upper:
            attr = self._upper_attr(rel)
        else:
            attr = self._lower_attr(rel, entry)
        self._remember(rel, attr)
        return attr

    def _remember(self, rel, attr):
        """Keep a lookup answer (readdir asks for every name again)."""
        if len(self._attr_cache) < 100_000:
            self._attr_cache[rel] = attr

    async def getattr(self, inode, ctx=None):
        if inode == CONTROL_INO or inode in CONTROL_FILES.values():
            return self._control_attr(inode)
        rel = self._path_of(inode)
        try:
            if rel is None:
                return self._orphan_attributes(inode)
            return self._attributes(rel)
        except OSError as exc:
            raise self._fail(exc) from None

    async def forget(self, inode_list):
        pass  # path inodes stay valid as long as their path; cheap to keep

    async def readlink(self, inode, ctx):
        entry = self._entry(self._rel(inode))
        if not stat.S_ISLNK(entry.attr.mode):
            raise pyfuse3.FUSEError(errno.EINVAL)
        return entry.source.readlink(entry.rel)

    async def opendir(self, inode, ctx):
        if inode == CONTROL_INO:
            names = self._control_names()
        else:
            entry = self._entry(self._rel(inode))
            if not entry.is_dir:
                raise pyfuse3.FUSEError(errno.ENOTDIR)
            names = self.overlay.listdir(entry)
            if inode == pyfuse3.ROOT_INODE:
                names = [n for n in names if n != self.control_name]
                if self.show_control:
                    names.append(self.control_name)
        fh = self._next_fh
        self._next_fh += 1
        self._handles[fh] = _Handle(inode, data=names)
        return fh

    async def readdir(self, fh, start_id, token):
        handle = self._handles[fh]
        names = handle.data
        for index in range(start_id, len(names)):
            name = names[index]
            try:
                attr = self._lookup(handle.ino, name)
            except pyfuse3.FUSEError:
                continue  # gone since opendir
            if not attr.st_ino:
                continue
            if not pyfuse3.readdir_reply(token, name, attr, index + 1):
                break

    async def releasedir(self, fh):
        self._handles.pop(fh, None)

    # ---- files ---------------------------------------------------------------------------------------
    async def open(self, inode, flags, ctx):
        if inode in CONTROL_FILES.values():
            return self._open_control(inode, flags)
        rel = self._rel(inode)
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND)
        handle = _Handle(inode, rel=rel)
        try:
            if writing:
                self._changing()
                handle.fd = self.overlay.open_upper(rel, flags)
                self.disc.changed(rel)   # copy-up: the data now comes from the upper
                self._upper_attr(rel)    # a copy-up gives the entry the upper's number
            else:
                entry = self._entry(rel)
                handle.source, handle.attr = entry.source, entry.attr
                if hasattr(entry.source, "real"):
                    handle.fd = os.open(entry.source.real(rel), os.O_RDONLY)
        except OSError as exc:
            raise self._fail(exc) from None
        handle.ino = self._inodes.resolve(inode)
        # keep_cache: the tree changes only through this filesystem, whose
        # writes go through the same page cache.
        info = self._new_handle(handle, keep_cache=True)
        self._track(info.fh, handle, inode)
        return info

    def _open_control(self, inode, flags):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise pyfuse3.FUSEError(errno.EACCES)
        handle = _Handle(inode)
        if inode == CONTROL_FILES[b"image.iso"]:
            try:
                handle.stream = ImageStream(self.disc.layout())
            except Exception as exc:  # a tree that cannot become an image
                log.warning("image.iso: %s", exc)
                raise pyfuse3.FUSEError(errno.EIO) from None
            self._image_readers += 1
        else:
            handle.data = self._control_content(inode)
        return self._new_handle(handle, keep_cache=False, direct_io=True)

    def _new_handle(self, handle, keep_cache=True, direct_io=False):
        fh = self._next_fh
        self._next_fh += 1
        self._handles[fh] = handle
        return pyfuse3.FileInfo(fh=fh, keep_cache=keep_cache, direct_io=direct_io)

    @staticmethod
    def _owner(ctx):
        """New entries belong to whoever made them (when we run as root)."""
        return (ctx.uid, ctx.gid) if ctx is not None else None

    @staticmethod
    def _creation_mode(mode, ctx):
        """The kernel applies the caller's umask unless the filesystem asks
        it not to; applying it again changes nothing, and the daemon's own
        umask never counts (the overlay sets the mode with chmod)."""
        return mode & ~ctx.umask if ctx is not None else mode

    async def create(self, parent_inode, name, mode, flags, ctx):
        if parent_inode == CONTROL_INO or parent_inode in CONTROL_FILES.values():
            raise pyfuse3.FUSEError(errno.EACCES)
        parent_rel = self._rel(parent_inode)
        self._changing(*self._touched_by_new_entry(parent_rel, name))
        try:
            self._rule_check(parent_rel, name, False)
            rel, fd = self.overlay.create(parent_rel, name, flags & ~os.O_CREAT,
                                          self._creation_mode(mode, ctx), self._owner(ctx))
        except OSError as exc:
            raise self._fail(exc) from None
        self.disc.added(rel)
        attr = self._upper_attr(rel)
        self._remember(rel, attr)
        handle = _Handle(attr.st_ino, fd=fd, rel=rel)
        info = self._new_handle(handle, keep_cache=True)
        self._track(info.fh, handle, attr.st_ino)
        return info, attr

    async def read(self, fh, off, size):
        handle = self._handles[fh]
        if handle.stream is not None:
            try:
                return handle.stream.read(off, size)
            except (SourceChanged, OSError) as exc:
                log.warning("image.iso: %s", exc)
                raise pyfuse3.FUSEError(errno.EIO) from None
        if handle.data is not None:
            return handle.data[off:off + size]
        if handle.fd is not None:
            return os.pread(handle.fd, size, off)
        return handle.source.read(handle.rel, off, size)

    async def write(self, fh, off, buf):
        handle = self._handles[fh]
        if handle.fd is None or handle.rel is None or handle.source is not None:
            raise pyfuse3.FUSEError(errno.EBADF)
        # the file is in the upper folder already (opened for writing); with
        # other hard links, their answers change too
        rel = self._path_of(handle.ino)        # None: unlinked, not on the disc
        self._changing(*(() if self._shared(handle.ino) or rel is None else (rel,)))
        node = self.disc.nodes.get(rel) if rel is not None else None
        old_size = node.size if node is not None else 0
        new_size = max(old_size, off + len(buf))
        if rel is not None and new_size > old_size:
            self._capacity_check(sectors_for(new_size) - (sectors_for(old_size)))
        try:
            written = os.pwrite(handle.fd, buf, off)
        except OSError as exc:
            raise self._fail(exc) from None
        handle.wrote = True
        if rel is not None and new_size > old_size:
            self.disc.data_grew(rel, max(old_size, off + written))
        return written

    async def fsync(self, fh, datasync):
        handle = self._handles.get(fh)
        if handle is not None and handle.fd is not None:
            (os.fdatasync if datasync else os.fsync)(handle.fd)

    async def fsyncdir(self, fh, datasync):
        handle = self._handles.get(fh)
        if handle is None:
            return
        rel = self._path_of(handle.ino)
        if rel is None:
            return
        entry = self.overlay.resolve(rel)
        if entry is not None and entry.in_upper:
            fd = os.open(self.overlay.upper_real(rel), os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    async def release(self, fh):
        handle = self._handles.pop(fh, None)
        if handle is None:
            return
        self._untrack(fh, handle)
        if handle.stream is not None:
            handle.stream.close()
            self._image_readers -= 1
        if handle.fd is None:
            return
        os.close(handle.fd)
        rel = self._path_of(handle.ino) if handle.rel is not None else None
        if rel is not None and handle.wrote:
            self.disc.changed(rel)   # times and size as they ended up
            if not self._shared(handle.ino) and rel not in self._attr_cache:
                try:
                    self._remember(rel, self._upper_attr(rel))
                except OSError:
                    pass    # gone meanwhile: the next lookup says so

    # ---- changes ------------------------------------------------------------------------------------
    def _guard_control(self, *inodes):
        for ino in inodes:
            if ino == CONTROL_INO or ino in CONTROL_FILES.values():
                raise pyfuse3.FUSEError(errno.EPERM)

    async def setattr(self, inode, attr, fields, fh, ctx):
        self._guard_control(inode)
        if self._path_of(inode) is None:
            return self._setattr_orphan(inode, attr, fields)
        rel, entry = self._about_to_change(inode)
        try:
            path = self.overlay.upper_real(self.overlay.copy_up(entry).rel)
            if fields.update_size:
                node = self.disc.nodes.get(rel)
                old = node.size if node is not None else 0
                self._capacity_check(sectors_for(attr.st_size) - (sectors_for(old)))
            self._apply_attributes(path, attr, fields)
        except OSError as exc:
            raise self._fail(exc) from None
        self.disc.changed(rel)
        return self._upper_attr(rel)

    @staticmethod
    def _apply_attributes(target, attr, fields):
        """Size, mode, owner, times on an upper path or an open fd.  The
        kernel has worked out which S_ISUID/S_ISGID bits a chown or a write
        by a non-root user clears and sends them as a mode change; a chown
        of the upper file clears them there as well (as on any Linux
        filesystem), so the mode goes first."""
        if fields.update_size:
            os.truncate(target, attr.st_size)
        if fields.update_mode:
            os.chmod(target, stat.S_IMODE(attr.st_mode))
        follow = {} if isinstance(target, int) else {"follow_symlinks": False}
        if fields.update_uid or fields.update_gid:
            os.chown(target, attr.st_uid if fields.update_uid else -1,
                     attr.st_gid if fields.update_gid else -1, **follow)
        if fields.update_atime or fields.update_mtime:
            st = os.stat(target) if isinstance(target, int) else os.lstat(target)
            atime = attr.st_atime_ns if fields.update_atime else st.st_atime_ns
            mtime = attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns
            os.utime(target, ns=(atime, mtime), **follow)

    def _setattr_orphan(self, inode, attr, fields):
        """ftruncate, fchmod, fchown, futimens of an open, unlinked file:
        through its descriptor (nothing on the disc changes)."""
        if self._image_readers:
            raise pyfuse3.FUSEError(errno.EBUSY)
        handle = self._open_handle_of(inode)
        if handle is None or handle.fd is None or handle.source is not None:
            raise pyfuse3.FUSEError(errno.ENOENT if handle is None else errno.EROFS)
        try:
            self._apply_attributes(handle.fd, attr, fields)
            return self._upper_stat_attr(handle.ino, None, os.fstat(handle.fd))
        except OSError as exc:
            raise self._fail(exc) from None

    def _make(self, parent_inode, name, is_dir, ctx, make):
        """The common path of mkdir, mknod and symlink: checks, the overlay's
        ``make(parent_rel, owner)`` (returns the new path), the model."""
        self._guard_control(parent_inode)
        parent_rel = self._rel(parent_inode)
        self._changing(*self._touched_by_new_entry(parent_rel, name))
        try:
            self._rule_check(parent_rel, name, is_dir)
            rel = make(parent_rel, self._owner(ctx))
        except OSError as exc:
            raise self._fail(exc) from None
        self.disc.added(rel)
        return self._upper_attr(rel)

    async def mkdir(self, parent_inode, name, mode, ctx):
        mode = self._creation_mode(mode, ctx)
        return self._make(parent_inode, name, True, ctx,
                          lambda parent, owner: self.overlay.mkdir(parent, name, mode, owner))

    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        mode = self._creation_mode(mode, ctx)
        return self._make(parent_inode, name, False, ctx,
                          lambda parent, owner: self.overlay.mknod(parent, name, mode, rdev,
                                                                   owner))

    async def symlink(self, parent_inode, name, target, ctx):
        return self._make(parent_inode, name, False, ctx,
                          lambda parent, owner: self.overlay.symlink(parent, name, target,
                                                                     owner))

    async def link(self, inode, new_parent_inode, new_name, ctx):
        self._guard_control(inode, new_parent_inode)
        rel = self._rel(inode)
        parent_rel = self._rel(new_parent_inode)
        self._changing()
        try:
            self._rule_check(parent_rel, new_name, False)
            new = self.overlay.link(rel, parent_rel, new_name)
        except OSError as exc:
            raise self._fail(exc) from None
        self.disc.changed(rel)
        self.disc.added(new)
        self._upper_attr(rel)          # both names now share one inode
        return self._upper_attr(new)

    async def unlink(self, parent_inode, name, ctx):
        self._remove(parent_inode, name, self.overlay.unlink)

    async def rmdir(self, parent_inode, name, ctx):
        self._remove(parent_inode, name, self.overlay.rmdir)

    def _remove(self, parent_inode, name, remove):
        """unlink and rmdir: the overlay's ``remove(rel)``, then the model."""
        self._guard_control(parent_inode)
        rel = join(self._rel(parent_inode), name)
        self._changing()
        try:
            remove(rel)
        except OSError as exc:
            raise self._fail(exc) from None
        self.disc.removed(rel)
        self._forget_path(rel)

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        self._guard_control(parent_inode_old, parent_inode_new)
        if flags & pyfuse3.RENAME_EXCHANGE:
            raise pyfuse3.FUSEError(errno.EINVAL)
        old = join(self._rel(parent_inode_old), name_old)
        new_parent = self._rel(parent_inode_new)
        self._changing()
        try:
            entry = self.overlay.resolve(old)
            if entry is not None:
                self._rule_check(new_parent, name_new, entry.is_dir)
            new = self.overlay.rename(old, new_parent, name_new,
                                      noreplace=bool(flags & pyfuse3.RENAME_NOREPLACE))
        except OSError as exc:
            raise self._fail(exc) from None
        if new == old or self.overlay.resolve(old) is not None:
            return      # two names of one file: rename(2) leaves both
        self.disc.removed(new)
        self.disc.renamed(old, new)
        self._move_inodes(old, new, is_dir=entry is None or entry.is_dir)

    # ---- xattrs ----------------------------------------------------------------------------------------
    async def getxattr(self, inode, name, ctx):
        if inode < FIRST_PATH_INO and inode != pyfuse3.ROOT_INODE:
            raise pyfuse3.FUSEError(pyfuse3.ENOATTR)
        entry = self._entry(self._rel(inode))
        value = entry.source.getxattr(entry.rel, name)
        if value is None:
            raise pyfuse3.FUSEError(pyfuse3.ENOATTR)
        return value

    async def listxattr(self, inode, ctx):
        if inode < FIRST_PATH_INO and inode != pyfuse3.ROOT_INODE:
            return []
        entry = self._entry(self._rel(inode))
        return list(entry.source.xattrs(entry.rel))

    @staticmethod
    def _guard_origin(name):
        if os.fsdecode(name) == ORIGIN_XATTR:
            raise pyfuse3.FUSEError(errno.EPERM)   # the stage's inode bookkeeping

    async def setxattr(self, inode, name, value, ctx):
        self._guard_origin(name)
        rel, entry = self._about_to_change(inode)
        try:
            path = self.overlay.upper_real(self.overlay.copy_up(entry).rel)
            os.setxattr(path, name, value, follow_symlinks=False)
        except OSError as exc:
            raise self._fail(exc) from None

    async def removexattr(self, inode, name, ctx):
        self._guard_origin(name)
        rel, entry = self._about_to_change(inode)
        try:
            path = self.overlay.upper_real(self.overlay.copy_up(entry).rel)
            os.removexattr(path, name, follow_symlinks=False)
        except OSError as exc:
            raise self._fail(exc) from None

    # ---- the disc -------------------------------------------------------------------------------------
    async def statfs(self, ctx):
        """df shows the medium and exactly how full the disc will be."""
        medium = self.disc.profile.medium_sectors
        used = self.disc.sectors()
        stats = pyfuse3.StatvfsData()
        stats.f_bsize = stats.f_frsize = 2048
        stats.f_blocks = medium
        stats.f_bfree = stats.f_bavail = max(medium - used, 0)
        # inodes: the entries there are, and as many more as the room left
        # holds directory records for
        stats.f_ffree = stats.f_favail = stats.f_bfree * stats.f_bsize // MIN_RECORD
        stats.f_files = len(self.disc.nodes) + stats.f_ffree
        stats.f_namemax = 255
        return stats
