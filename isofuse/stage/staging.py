"""The stage: the writable merged tree (``overlay``) and the model of the
future disc (``disc``) behind one set of operations, by inode number, as a
filesystem driver is asked -- with no FUSE in it.  ``fuseops.stage_ops``
only translates pyfuse3's requests into these calls; tests call them
directly (``tests/test_stage_facade.py``).

Every change is checked against the disc first (ISO 9660 / Joliet rules and,
in strict mode, the medium's capacity), made by the overlay, told to the
model, and forgets the cached answers it makes stale.  Errors are OSError
with the errno to answer.

Inode numbers are stable across remounts (``stage.inodes``: the upper
file's own number, or a hash of the lower layer's identity of the entry);
an unlinked file stays usable through its open handles until the last
close.  The control directory (``stage.control``) has fixed inode numbers
and is not part of the disc.  While ``image.iso`` is open, changes to the
tree are refused with EBUSY, so the image read is consistent from its first
byte to its last.
"""

import errno
import logging
import os
import stat
from collections import namedtuple

from ..format.sectors import SECTOR, sectors_for
from .attributes import of_layer, of_stat
from .control import CONTROL_INO, FIRST_PATH_INO, ControlDirectory, error
from .handles import Handle, OpenFiles
from .inodes import ORIGIN_XATTR, ROOT, InodeMap, UpperNumbers, lower_ino, upper_ino
from .overlay import OverlayError, join

log = logging.getLogger("isofuse.stage")

# statfs: every new entry needs at least one directory record of 34 bytes
# (ECMA-119 9.1: 33 bytes and a 1-byte identifier) in the room left.
MIN_RECORD = 34
# Every change goes through the stage, and the kernel drops what it cached
# for the entries an operation touches: names and attributes can be cached
# for long.  (Changing UPPER behind the mount's back is unsupported.)
TIMEOUT = 60.0
ATTR_CACHE_LIMIT = 100_000
# The kernel asks for this one before every write (to drop file
# capabilities, as on any filesystem); only setcap, through the stage, sets
# it (docs/stage-internals.md).
CAPABILITY_XATTR = b"security.capability"

# What open and create answer: the handle, and whether the kernel may keep
# the file's pages (the tree changes only through the stage) or must ask
# for every read (control files change with the tree).
Opened = namedtuple("Opened", "fh keep_cache direct_io")
# What statfs answers, in sectors.
Space = namedtuple("Space", "block_size blocks free files free_files name_max")


class Changes:
    """What a setattr changes (None: left as it is)."""
    __slots__ = ("size", "mode", "uid", "gid", "atime_ns", "mtime_ns")

    def __init__(self, size=None, mode=None, uid=None, gid=None, atime_ns=None,
                 mtime_ns=None):
        self.size, self.mode, self.uid, self.gid = size, mode, uid, gid
        self.atime_ns, self.mtime_ns = atime_ns, mtime_ns


def apply_changes(target, changes):
    """Size, mode, owner, times on an upper path or an open fd.  The kernel
    has worked out which S_ISUID/S_ISGID bits a chown or a write by a
    non-root user clears and sends them as a mode change; a chown of the
    upper file clears them there as well (as on any Linux filesystem), so
    the mode goes first."""
    if changes.size is not None:
        os.truncate(target, changes.size)
    if changes.mode is not None:
        os.chmod(target, stat.S_IMODE(changes.mode))
    follow = {} if isinstance(target, int) else {"follow_symlinks": False}
    if changes.uid is not None or changes.gid is not None:
        os.chown(target, -1 if changes.uid is None else changes.uid,
                 -1 if changes.gid is None else changes.gid, **follow)
    atime_ns, mtime_ns = changes.atime_ns, changes.mtime_ns
    if atime_ns is None and mtime_ns is None:
        return
    if atime_ns is None or mtime_ns is None:
        # one of the two is kept: utime takes both (tar, touch give both)
        st = os.stat(target) if isinstance(target, int) else os.lstat(target)
        atime_ns = st.st_atime_ns if atime_ns is None else atime_ns
        mtime_ns = st.st_mtime_ns if mtime_ns is None else mtime_ns
    os.utime(target, ns=(atime_ns, mtime_ns), **follow)


def owner_of(caller):
    """New entries belong to whoever made them (when we run as root)."""
    return (caller.uid, caller.gid) if caller is not None else None


def privileged(caller):
    """Does the caller write as the kernel's CAP_FSETID holder would (root;
    the stage's own calls)?"""
    return caller is None or caller.uid == 0


def creation_mode(mode, caller):
    """The kernel applies the caller's umask unless the filesystem asks it
    not to; applying it again changes nothing, and the daemon's own umask
    never counts (the overlay sets the mode with chmod)."""
    return mode & ~caller.umask if caller is not None else mode


class Stage:
    def __init__(self, overlay, disc, control_name=b".isofuse", show_control=False,
                 msinfo=None):
        self.overlay = overlay
        self.disc = disc
        self.control = ControlDirectory(disc, overlay, control_name, msinfo)
        self.show_control = show_control
        self._inodes = InodeMap()
        self._upper_numbers = UpperNumbers()
        self._files = OpenFiles(self._inodes)
        self._attr_cache = {}    # rel -> attributes, until the next change
        self._image_readers = 0
        # numbers of the files this mount created and nobody gave a
        # security.capability since: answered without asking upper
        self._no_capability = set()
        # handles whose file's data, owner, mode or times changed (write,
        # setattr through them) and the model has not heard yet: it hears
        # at their close, or before anything reads the model (statfs, the
        # control files); in strict mode writes are told at once
        self._unreported = set()
        # the FUSE layer's way to make the kernel drop its cached attributes
        # of an inode the stage changed on its own (see _clear_set_id)
        self.kernel_forgets_attributes = lambda ino: None

    # ---- inodes and attributes -------------------------------------------------------------------
    def _rel(self, ino):
        rel = self._inodes.rel(ino)
        if rel is None:
            raise error(errno.ENOENT)
        return rel

    def _shared(self, ino):
        """Has the inode other names (whose cached answers a change to it
        makes stale)?"""
        return self._inodes.name_count(ino) > 1

    def _entry(self, rel):
        entry = self.overlay.resolve(rel)
        if entry is None:
            raise error(errno.ENOENT)
        return entry

    def _upper_attr(self, rel, st=None):
        """Attributes of an upper entry (``st``: its lstat, if just taken),
        with its stable inode number (``stage.inodes``: hard links of any
        type share it)."""
        path = self.overlay.upper_real(rel)
        st = st or os.lstat(path)
        ino = self._upper_numbers(path, st) if rel else ROOT
        self._inodes.bind(rel, ino)
        return of_stat(ino, st, TIMEOUT)

    def _lower_attr(self, rel, entry):
        ino = lower_ino(entry.attr.identity) if rel else ROOT
        self._inodes.bind(rel, ino)
        return of_layer(ino, entry.attr, TIMEOUT)

    def _attributes(self, rel, entry=None):
        entry = entry or self._entry(rel)
        if entry.in_upper:
            return self._upper_attr(rel)
        return self._lower_attr(rel, entry)

    def _orphan_attributes(self, inode):
        """getattr (fstat) of an open file whose last name is gone."""
        handle = self._files.of_inode(inode)
        if handle is None:
            raise error(errno.ENOENT)
        if handle.fd is not None:
            return of_stat(handle.ino, os.fstat(handle.fd), TIMEOUT)
        return of_layer(handle.ino, handle.attr, TIMEOUT)

    def _remember(self, rel, attr):
        """Keep a lookup answer (readdir asks for every name again)."""
        if len(self._attr_cache) < ATTR_CACHE_LIMIT:
            self._attr_cache[rel] = attr

    # ---- before a change ---------------------------------------------------------------------------
    def _changing(self, *touched):
        """Before a change: refused while image.iso is open; cached lookup
        answers are forgotten -- only those of ``touched`` paths when the
        caller knows the change affects nothing else, otherwise all of them
        (a rename, a copy-up or a hard link can change many answers)."""
        if self._image_readers:
            raise error(errno.EBUSY)
        if touched:
            for rel in touched:
                self._attr_cache.pop(rel, None)
        else:
            self._attr_cache.clear()

    def _changing_entry(self, rel, shared):
        """``_changing`` before a change of one entry's own data or
        attributes (``rel``: its path, None once it has none; ``shared``:
        it has other names): its cached answer is forgotten, or all of them
        when other names' answers change too."""
        if self._image_readers:
            raise error(errno.EBUSY)
        if rel is None or shared:
            self._attr_cache.clear()
        else:
            self._attr_cache.pop(rel, None)

    def _refresh_folder(self, rel, number):
        """After a new entry in a folder of the upper folder whose answer
        was cached (``number``: the one it answered, which stays: nothing
        replaced the folder): its new times and link count, answered from
        the cache when the kernel asks at once (it does: with
        default_permissions it needs them for the next name it walks
        there), with no xattr to read for its number."""
        st = os.lstat(self.overlay.upper_real(rel))
        if rel:
            self._upper_numbers.remember(st, number)
        self._remember(rel, of_stat(number, st, TIMEOUT))

    def _in_upper(self, rel):
        """Whether ``rel`` already exists in the upper folder (a change there
        needs no copy-up, which could touch its ancestors)."""
        entry = self.overlay.resolve(rel)
        return entry is not None and entry.in_upper

    def _touched_by_new_entry(self, parent_rel, name):
        """What creating ``name`` in ``parent_rel`` changes: the two paths,
        or everything (an empty tuple) when the parent must be copied up."""
        return (join(parent_rel, name), parent_rel) if self._in_upper(parent_rel) else ()

    def _guard_control(self, *inodes):
        for ino in inodes:
            if self.control.owns(ino):
                raise error(errno.EPERM)

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
                raise error(errno.ENAMETOOLONG)
            log.info("/%s: %s", where, "; ".join(problems))

    def _capacity_check(self, rel, new_size):
        """In strict mode: refuse to grow the file at ``rel`` to
        ``new_size`` when the disc would not hold it."""
        if not self.disc.profile.strict:
            return
        extra = sectors_for(new_size) - sectors_for(self.disc.size_of(rel))
        if extra > 0 and self.disc.over_capacity(extra):
            log.warning("refused: the %s would be full", self.disc.profile.medium)
            raise error(errno.ENOSPC)

    # ---- lookups -------------------------------------------------------------------------------------
    def lookup(self, parent_inode, name):
        """The attributes of ``name`` in a directory, or None if there is no
        such name (an answer the kernel may cache: every creation goes
        through the stage)."""
        if self.control.owns(parent_inode):
            self._report_changes()
            return self.control.lookup(parent_inode, name)
        if parent_inode == ROOT and name == self.control.name:
            self._report_changes()
            return self.control.attributes(CONTROL_INO)
        rel = join(self._rel(parent_inode), name)
        cached = self._attr_cache.get(rel)
        if cached is not None:
            return cached
        entry = self.overlay.resolve(rel)
        if entry is None:
            return None
        attr = self._attributes(rel, entry)
        self._remember(rel, attr)
        return attr

    def getattr(self, inode):
        if self.control.owns(inode):
            self._report_changes()
            return self.control.attributes(inode)
        rel = self._inodes.rel(inode)
        if rel is None:
            return self._orphan_attributes(inode)
        # what the last change or lookup answered is current: every change
        # and every first read (atime) forgets it (see _changing)
        cached = self._attr_cache.get(rel)
        if cached is not None:
            return cached
        attr = self._attributes(rel)
        self._remember(rel, attr)       # as a lookup's: the next change forgets it
        return attr

    def path_of(self, inode):
        """One path of the inode (relative, bytes), or None once it has none."""
        return self._inodes.rel(inode)

    def readlink(self, inode):
        entry = self._entry(self._rel(inode))
        if not stat.S_ISLNK(entry.attr.mode):
            raise error(errno.EINVAL)
        return entry.source.readlink(entry.rel)

    def opendir(self, inode):
        if inode == CONTROL_INO:
            names = self.control.names()
        else:
            entry = self._entry(self._rel(inode))
            if not entry.is_dir:
                raise error(errno.ENOTDIR)
            names = self.overlay.listdir(entry)
            self._attr_cache.pop(entry.rel, None)     # listing it may change its atime
            if inode == ROOT:
                names = [n for n in names if n != self.control.name]
                if self.show_control:
                    names.append(self.control.name)
        return self._files.add(Handle(inode, data=names))

    def readdir(self, fh, start):
        """(name, attributes, offset of the next name) of each name from
        offset ``start`` on; a name gone since opendir is left out."""
        handle = self._files[fh]
        names = handle.data
        for index in range(start, len(names)):
            try:
                attr = self.lookup(handle.ino, names[index])
            except OSError:
                continue
            if attr is not None:
                yield names[index], attr, index + 1

    def releasedir(self, fh):
        self._files.pop(fh)

    # ---- files ---------------------------------------------------------------------------------------
    def open(self, inode, flags):
        if self.control.owns(inode):
            return self._open_control(inode, flags)
        rel = self._rel(inode)
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND)
        handle = Handle(inode, rel=rel)
        if writing:
            self._changing()
            self.disc.wait()
            handle.fd = self.overlay.open_upper(rel, flags)
            self.disc.changed(rel)   # copy-up: the data now comes from the upper
            self._upper_attr(rel)    # a copy-up gives the entry the upper's number
        else:
            entry = self._entry(rel)
            handle.source, handle.attr = entry.source, entry.attr
            if hasattr(entry.source, "real"):
                handle.fd = os.open(entry.source.real(rel), os.O_RDONLY)
        handle.ino = self._inodes.resolve(inode)
        fh = self._files.add(handle)
        self._files.track(fh, handle, inode)
        return Opened(fh, True, False)

    def _open_control(self, inode, flags):
        self._report_changes()
        data, stream = self.control.open(inode, flags)
        if stream is not None:
            self._image_readers += 1
        return Opened(self._files.add(Handle(inode, data=data, stream=stream)), False, True)

    def create(self, parent_inode, name, mode, flags, caller=None):
        """A new regular file, open: (Opened, its attributes)."""
        if self.control.owns(parent_inode):
            raise error(errno.EACCES)
        parent_rel = self._rel(parent_inode)
        touched = self._touched_by_new_entry(parent_rel, name)
        parent_attr = self._attr_cache.get(parent_rel) if touched else None
        self._changing(*touched)
        self._rule_check(parent_rel, name, False)
        rel, fd = self.overlay.create(parent_rel, name, flags & ~os.O_CREAT,
                                      creation_mode(mode, caller), owner_of(caller))
        try:
            st = os.fstat(fd)
            self.disc.added(rel, st)
        except BaseException:
            # the caller is told the create failed: the file must not stay
            # in upper (and so on the disc) nor in the model
            os.close(fd)
            self._undo_create(rel)
            raise
        number = upper_ino(st.st_ino)           # new: no origin xattr
        self._upper_numbers.remember(st, number)
        self._inodes.bind(rel, number)
        attr = of_stat(number, st, TIMEOUT)
        self._remember(rel, attr)
        if parent_attr is not None:
            self._refresh_folder(parent_rel, parent_attr.st_ino)
        self._no_capability.add(number)
        handle = Handle(number, fd=fd, rel=rel)
        # A new file open write-only is written around the page cache
        # (direct I/O): nothing can read or map it through this handle,
        # and the kernel then sends no security.capability probe before
        # each write (docs/stage-requests.md).
        direct = (flags & os.O_ACCMODE) == os.O_WRONLY
        handle.clears_set_id = direct and not privileged(caller)
        fh = self._files.add(handle)
        self._files.track(fh, handle, number)
        return Opened(fh, True, direct), attr

    def _undo_create(self, rel):
        """Remove a file whose create failed after it was made in upper."""
        try:
            self.overlay.unlink(rel)
        except (OSError, OverlayError) as exc:
            log.error("%s: a failed create left the file in the upper folder: %s",
                      rel.decode(errors="replace"), exc)
        self.disc.removed(rel)

    def read(self, fh, off, size):
        handle = self._files[fh]
        if handle.stream is not None:
            return self._read_image(handle.stream, off, size)
        if handle.data is not None:
            return handle.data[off:off + size]
        if handle.fd is not None:
            if not handle.was_read:
                handle.was_read = True      # the first read may change the atime
                rel = self._inodes.rel(handle.ino)
                if rel is not None:
                    self._attr_cache.pop(rel, None)
            return os.pread(handle.fd, size, off)
        return handle.source.read(handle.rel, off, size)

    @staticmethod
    def _read_image(stream, off, size):
        from ..master.stream import SourceChanged  # loaded with the stream itself
        try:
            return stream.read(off, size)
        except (SourceChanged, OSError) as exc:
            log.warning("image.iso: %s", exc)
            raise error(errno.EIO) from None

    def write(self, fh, off, buf):
        handle = self._files[fh]
        if handle.fd is None or handle.rel is None or handle.source is not None:
            raise error(errno.EBADF)
        # the file is in the upper folder already (opened for writing); with
        # other hard links, their answers change too
        rel, shared = self._inodes.rel_and_shared(handle.ino)   # None: unlinked, not on the disc
        self._changing_entry(rel, shared)
        strict = self.disc.profile.strict
        if rel is not None and strict:
            self._capacity_check(rel, off + len(buf))
        if handle.clears_set_id:
            self._clear_set_id(handle)
        written = os.pwrite(handle.fd, buf, off)
        handle.wrote = True
        if rel is None:
            return written
        if strict:
            # the next write's capacity check needs the size now
            self.disc.data_grew(rel, off + written)
        else:
            # as for setattr through a handle: the model hears at the close
            # (tar writes 2.6 times a file, then closes) or before it is read
            self._unreported.add(handle)
        return written

    def _clear_set_id(self, handle):
        """Before a write through a direct-I/O handle by a writer without
        CAP_FSETID: what the kernel's should_remove_suid does for cached
        writes (S_ISUID, and S_ISGID with group execute), which for direct
        I/O it leaves to the filesystem.  The upper's own write removes a
        security.capability either way.  The kernel's cached mode is then
        stale: it is told to forget it."""
        mode = os.fstat(handle.fd).st_mode
        kill = mode & stat.S_ISUID
        if mode & stat.S_ISGID and mode & stat.S_IXGRP:
            kill |= stat.S_ISGID
        if kill:
            os.fchmod(handle.fd, stat.S_IMODE(mode) & ~kill)
            handle.wrote = True
            self._unreported.add(handle)
            self.kernel_forgets_attributes(handle.ino)

    def fsync(self, fh, datasync):
        handle = self._files.get(fh)
        if handle is not None and handle.fd is not None:
            (os.fdatasync if datasync else os.fsync)(handle.fd)

    def fsyncdir(self, fh, datasync):
        handle = self._files.get(fh)
        rel = self._inodes.rel(handle.ino) if handle is not None else None
        if rel is None or not self._in_upper(rel):
            return
        fd = os.open(self.overlay.upper_real(rel), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def release(self, fh):
        handle = self._files.pop(fh)
        if handle is None:
            return
        self._unreported.discard(handle)    # told below, with the rest
        if handle.stream is not None:
            handle.stream.close()
            self._image_readers -= 1
        if handle.fd is None:
            return
        rel = self._inodes.rel(handle.ino) if handle.rel is not None else None
        if rel is None or not handle.wrote:
            os.close(handle.fd)
            return
        try:
            st = os.fstat(handle.fd)        # times and size as they ended up
        finally:
            os.close(handle.fd)
        self.disc.changed(rel, st)
        # the file's number is the one it was opened with (its origin
        # xattr, if any, never changes once the file has its name)
        self._upper_numbers.remember(st, handle.ino)
        if not self._shared(handle.ino) and rel not in self._attr_cache:
            self._remember(rel, self._upper_attr(rel, st))

    # ---- changes ------------------------------------------------------------------------------------
    def setattr(self, inode, changes, fh=None):
        if self.control.owns(inode):
            raise error(errno.EPERM)
        rel, shared = self._inodes.rel_and_shared(inode)
        if rel is None:
            return self._setattr_orphan(inode, changes)
        handle = self._files.writable_of(inode) if changes.size is None else None
        if handle is not None:
            return self._setattr_open(rel, shared, handle, changes)
        rel, entry = self._about_to_change(inode)
        self.disc.wait()
        path = self.overlay.upper_real(self.overlay.copy_up(entry).rel)
        if changes.size is not None:
            self._capacity_check(rel, changes.size)
        number = self._inodes.ino(rel) if entry.in_upper else None
        apply_changes(path, changes)
        st = os.lstat(path)
        self.disc.changed(rel, st)
        if number is not None:      # no copy-up: the number stays
            self._upper_numbers.remember(st, number)
        return self._upper_attr(rel, st)

    def _setattr_open(self, rel, shared, handle, changes):
        """chmod, chown, utimes of a file open for writing (tar sets all
        three before it closes each file): through the descriptor of its
        upper file, which is in the upper folder already (no copy-up) and
        keeps its number.  Sizes take the path way (the descriptor may be
        read-only, as O_RDONLY|O_TRUNC opens it).  The model hears of the
        new owner, mode and times when the handle is closed (tar makes
        three such changes, then closes), or before the model is read."""
        self._changing_entry(rel, shared)
        number = self._inodes.ino(rel)
        fd = handle.fd
        apply_changes(fd, changes)
        st = os.fstat(fd)
        handle.wrote = True
        self._unreported.add(handle)
        self._upper_numbers.remember(st, number)
        attr = of_stat(number, st, TIMEOUT)     # what _upper_attr would say: no path to join
        if not shared:
            self._remember(rel, attr)   # the kernel asks for them again at once
        return attr

    def _setattr_orphan(self, inode, changes):
        """ftruncate, fchmod, fchown, futimens of an open, unlinked file:
        through its descriptor (nothing on the disc changes)."""
        if self._image_readers:
            raise error(errno.EBUSY)
        handle = self._files.of_inode(inode)
        if handle is None or handle.fd is None or handle.source is not None:
            raise error(errno.ENOENT if handle is None else errno.EROFS)
        apply_changes(handle.fd, changes)
        return of_stat(handle.ino, os.fstat(handle.fd), TIMEOUT)

    def _make(self, parent_inode, name, is_dir, make):
        """The common path of mkdir, mknod and symlink: checks, the
        overlay's ``make(parent_rel)`` (returns the new path), the model."""
        self._guard_control(parent_inode)
        parent_rel = self._rel(parent_inode)
        touched = self._touched_by_new_entry(parent_rel, name)
        parent_attr = self._attr_cache.get(parent_rel) if touched else None
        self._changing(*touched)
        self._rule_check(parent_rel, name, is_dir)
        rel = make(parent_rel)
        st = os.lstat(self.overlay.upper_real(rel))
        self.disc.added(rel, st)
        attr = self._upper_attr(rel, st)
        self._remember(rel, attr)       # the kernel's next lookup or getattr of it
        if parent_attr is not None:
            self._refresh_folder(parent_rel, parent_attr.st_ino)
        return attr

    def mkdir(self, parent_inode, name, mode, caller=None):
        mode, owner = creation_mode(mode, caller), owner_of(caller)
        return self._make(parent_inode, name, True,
                          lambda parent: self.overlay.mkdir(parent, name, mode, owner))

    def mknod(self, parent_inode, name, mode, rdev, caller=None):
        mode, owner = creation_mode(mode, caller), owner_of(caller)
        return self._make(parent_inode, name, False,
                          lambda parent: self.overlay.mknod(parent, name, mode, rdev, owner))

    def symlink(self, parent_inode, name, target, caller=None):
        owner = owner_of(caller)
        return self._make(parent_inode, name, False,
                          lambda parent: self.overlay.symlink(parent, name, target, owner))

    def link(self, inode, new_parent_inode, new_name):
        self._guard_control(inode, new_parent_inode)
        rel = self._rel(inode)
        parent_rel = self._rel(new_parent_inode)
        self._changing()
        self._rule_check(parent_rel, new_name, False)
        new = self.overlay.link(rel, parent_rel, new_name)
        st = os.lstat(self.overlay.upper_real(new))
        self.disc.changed(rel, st)
        self.disc.added(new, st)
        self._upper_attr(rel, st)          # both names now share one inode
        return self._upper_attr(new, st)

    def unlink(self, parent_inode, name):
        self._remove(parent_inode, name, self.overlay.unlink)

    def rmdir(self, parent_inode, name):
        self._remove(parent_inode, name, self.overlay.rmdir)

    def _remove(self, parent_inode, name, remove):
        """unlink and rmdir: the overlay's ``remove(rel)``, then the model."""
        self._guard_control(parent_inode)
        rel = join(self._rel(parent_inode), name)
        self._changing()
        self.disc.wait()
        remove(rel)
        self.disc.removed(rel)
        self._no_capability.discard(self._inodes.unbind(rel))   # its number may be reused

    def rename(self, parent_inode_old, name_old, parent_inode_new, name_new,
               noreplace=False, exchange=False):
        self._guard_control(parent_inode_old, parent_inode_new)
        if exchange:
            raise error(errno.EINVAL)
        old = join(self._rel(parent_inode_old), name_old)
        new_parent = self._rel(parent_inode_new)
        self._changing()
        entry = self.overlay.resolve(old)
        if entry is not None:
            self._rule_check(new_parent, name_new, entry.is_dir)
        self.disc.wait()
        new = self.overlay.rename(old, new_parent, name_new, noreplace=noreplace)
        if new == old or self.overlay.resolve(old) is not None:
            return      # two names of one file: rename(2) leaves both
        self._no_capability.discard(self._inodes.ino(new))      # replaced: see _remove
        self.disc.removed(new)
        self.disc.renamed(old, new)
        self._inodes.move(old, new, is_dir=entry is None or entry.is_dir)

    # ---- xattrs ----------------------------------------------------------------------------------------
    def getxattr(self, inode, name):
        if inode < FIRST_PATH_INO and inode != ROOT:
            raise error(errno.ENODATA)
        if name == CAPABILITY_XATTR and self.lacks_capability(inode):
            raise error(errno.ENODATA)
        entry = self._entry(self._rel(inode))
        value = entry.source.getxattr(entry.rel, name)
        if value is None:
            raise error(errno.ENODATA)
        return value

    def lacks_capability(self, inode):
        """Is the file one this mount created that nobody gave a
        security.capability since (the kernel's probe before every chown
        and page-cache write: answered ENODATA without asking upper)?"""
        return self._inodes.resolve(inode) in self._no_capability

    def listxattr(self, inode):
        if inode < FIRST_PATH_INO and inode != ROOT:
            return []
        entry = self._entry(self._rel(inode))
        return list(entry.source.xattrs(entry.rel))

    def setxattr(self, inode, name, value):
        self._change_xattr(inode, name, lambda path: os.setxattr(path, name, value,
                                                                 follow_symlinks=False))

    def removexattr(self, inode, name):
        self._change_xattr(inode, name, lambda path: os.removexattr(path, name,
                                                                    follow_symlinks=False))

    def _change_xattr(self, inode, name, change):
        if os.fsdecode(name) == ORIGIN_XATTR:
            raise error(errno.EPERM)   # the stage's inode bookkeeping
        rel, entry = self._about_to_change(inode)
        self.disc.wait()
        self._no_capability.discard(self._inodes.resolve(inode))
        change(self.overlay.upper_real(self.overlay.copy_up(entry).rel))

    # ---- the disc -------------------------------------------------------------------------------------
    def _report_changes(self):
        """Tell the model what setattr through open handles changed (see
        ``_setattr_open``), before it is read."""
        while self._unreported:
            handle = self._unreported.pop()
            rel = self._inodes.rel(handle.ino)
            if rel is not None and handle.fd is not None:
                self.disc.changed(rel, os.fstat(handle.fd))

    def statfs(self):
        """df shows the medium and exactly how full the disc will be; inodes:
        the entries there are, and as many more as the room left holds
        directory records for."""
        self._report_changes()
        medium = self.disc.profile.medium_sectors
        free = max(medium - self.disc.sectors(), 0)
        free_files = free * SECTOR // MIN_RECORD
        return Space(SECTOR, medium, free, self.disc.entry_count() + free_files, free_files,
                     255)
