"""pyfuse3 operations for a read-only image: the boundary between the reader
and the kernel.

Inode numbers are the reader's (record position or RRIP serial; the root is
1), so they are stable across mounts.  The kernel holds references through
lookup counts; an inode the kernel still knows stays in ``self._inodes``
until it is forgotten.

Errors become errno values at one place, the errno boundary
(``fuseops.boundary``): a damaged entry (CorruptEntry) is EIO with a warning,
an OSError keeps its errno, anything else is a logged bug and EIO.

Round trips are what a small file costs (docs/mount-performance.md): names and
attributes come with READDIRPLUS and stay cached for a day (the image never
changes), FLUSH is answered ENOSYS once by pyfuse3's default and never sent
again, and the contents of a small file go to the kernel's page cache with the
answer to its first OPEN (FUSE_NOTIFY_STORE), so its READ never comes; the
first such open in a directory asks the disk for its neighbours' data.  Large
random reads copy in worker threads, so metadata requests need not wait for
the disk, unless the page cache holds their bytes (a read that cannot wait,
RWF_NOWAIT): those are copied at once (docs/mount-concurrency.md).
At INIT the connection's background request limit is raised where root can
(``fuseops.fusectl``): with the kernel's 12, a page-cache miss under many
readers waits for seconds behind the RELEASEs of their closes
(docs/mount-concurrency.md).
"""

import errno
import logging
import os

import pyfuse3
import trio

from ..reader import CorruptEntry
from ..reader.tree import ROOT_INO
from .boundary import errno_boundary
from .fusectl import raise_background_limit

log = logging.getLogger("isofuse.fuse")

# The image never changes while mounted: let the kernel cache names and
# attributes for a long time (the cache is dropped on unmount).
CACHE_TIMEOUT = 24 * 3600.0
STATFS_BLOCK_SIZE = 2048
# Files up to this size are read whole (one pread per extent) at their first
# open and stored in the kernel's page cache.  The kernel's default
# read-ahead window: the first READ would have asked for that much anyway.
STORE_AT_OPEN_BYTES = 128 * 1024
# Random reads at least this large copy their data in a worker thread when
# the page cache lacks some of it: the trio loop (one thread, every request)
# goes on answering lookups, getattrs and readdirs meanwhile, instead of
# queueing them behind the disk.  Smaller reads cost less than the hand-over
# to a thread, and a sequential stream is faster in the loop: its READs come
# in order, so the image's own read-ahead keeps up, and no hand-over is paid
# per MiB.
THREAD_READ_BYTES = 64 * 1024


@errno_boundary
class ReadOnlyImageOperations(pyfuse3.Operations):
    supports_dot_lookup = False
    enable_writeback_cache = False
    enable_acl = False

    def __init__(self, image, mountpoint=None):
        super().__init__()
        self.image = image
        # Where the image is mounted: at INIT the connection's background
        # request limit is raised there (fuseops.fusectl); None: not tried.
        self.mountpoint = mountpoint
        root = image.root
        self._inodes = {ROOT_INO: root}
        self._lookups = {ROOT_INO: 1}
        self._open_dirs = {}
        self._next_fh = 1
        # Inodes whose contents went to the kernel at an open, while the
        # kernel still holds that inode (see _store_contents).
        self._stored = set()
        self._can_store = True
        # Directories whose small files' data was asked of the disk ahead
        # (a first read in a directory), while the kernel holds them.
        self._prefetched = set()
        # Directories whose subdirectories were asked of the disk ahead.
        self._listed = set()
        # Where the last READ of each inode ended: a READ that starts there
        # continues a sequential stream.
        self._read_ends = {}

    # ---- helpers ---------------------------------------------------------------
    def _inode(self, ino):
        try:
            return self._inodes[ino]
        except KeyError:
            raise pyfuse3.FUSEError(errno.ENOENT) from None

    def _remember(self, inode):
        known = self._inodes.get(inode.ino)
        if known is None:
            self._inodes[inode.ino] = inode
            known = inode
        self._lookups[inode.ino] = self._lookups.get(inode.ino, 0) + 1
        return known

    def _attributes(self, inode):
        attr = pyfuse3.EntryAttributes()
        attr.st_ino = inode.ino
        attr.generation = 0
        attr.entry_timeout = CACHE_TIMEOUT
        attr.attr_timeout = CACHE_TIMEOUT
        attr.st_mode = inode.mode
        attr.st_nlink = inode.nlink
        attr.st_uid = inode.uid
        attr.st_gid = inode.gid
        attr.st_rdev = inode.rdev
        attr.st_size = inode.size
        attr.st_blksize = 2048
        attr.st_blocks = inode.blocks
        attr.st_atime_ns = inode.atime * 1_000_000_000
        attr.st_mtime_ns = inode.mtime * 1_000_000_000
        attr.st_ctime_ns = inode.ctime * 1_000_000_000
        return attr

    # ---- operations --------------------------------------------------------------
    def init(self):
        """Called by pyfuse3 while answering the kernel's INIT.  The
        connection exists (fusectl lists it from the mount on) and the INIT
        answer leaves its limits alone (max_background 0: keep), so a limit
        written now holds for the whole mount."""
        if self.mountpoint is not None:
            raise_background_limit(self.mountpoint)

    async def lookup(self, parent_inode, name, ctx=None):
        parent = self._inode(parent_inode)
        if not parent.is_dir:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        if name == b".":
            child = parent
        elif name == b"..":
            child = parent.parent or parent
        else:
            child = self.image.lookup(parent, name)
        if child is None:
            # "no such name", cached by the kernel as long as names are (the
            # image does not change): inode 0 makes a negative entry.
            negative = pyfuse3.EntryAttributes()
            negative.st_ino = 0
            negative.entry_timeout = CACHE_TIMEOUT
            return negative
        return self._attributes(self._remember(child))

    async def forget(self, inode_list):
        for ino, count in inode_list:
            if ino == ROOT_INO:
                continue  # the root lives as long as the mount
            left = self._lookups.get(ino, 0) - count
            if left > 0:
                self._lookups[ino] = left
            else:
                self._lookups.pop(ino, None)
                self._inodes.pop(ino, None)
                # The kernel dropped the inode and its cached pages.
                self._stored.discard(ino)
                self._prefetched.discard(ino)
                self._listed.discard(ino)
                self._read_ends.pop(ino, None)

    async def getattr(self, inode, ctx=None):
        return self._attributes(self._inode(inode))

    async def readlink(self, inode, ctx):
        node = self._inode(inode)
        if not node.is_symlink:
            raise pyfuse3.FUSEError(errno.EINVAL)
        return node.symlink

    async def opendir(self, inode, ctx):
        node = self._inode(inode)
        if not node.is_dir:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        children = self.image.listdir(node)
        if inode not in self._listed:
            # a walk lists the subdirectories next: their extents are
            # on their way from the disk while it reads this one
            self._listed.add(inode)
            self.image.prefetch_subdirectories(node)
        fh = self._next_fh
        self._next_fh += 1
        # A snapshot per open directory: offsets (index + 1) stay valid for
        # seekdir/telldir even if the listing cache evicts the directory.
        self._open_dirs[fh] = children
        return fh

    async def readdir(self, fh, start_id, token):
        children = self._open_dirs.get(fh)
        if children is None:
            raise pyfuse3.FUSEError(errno.EBADF)
        for index in range(start_id, len(children)):
            child = children[index]
            if not pyfuse3.readdir_reply(token, child.name,
                                         self._attributes(child), index + 1):
                break
            # readdirplus: the kernel now holds a reference to the child.
            self._remember(child)

    async def releasedir(self, fh):
        self._open_dirs.pop(fh, None)

    async def open(self, inode, flags, ctx):
        node = self._inode(inode)
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND):
            raise pyfuse3.FUSEError(errno.EROFS)
        if node.is_dir:
            raise pyfuse3.FUSEError(errno.EISDIR)
        if self._can_store and inode not in self._stored \
                and 0 < node.size <= STORE_AT_OPEN_BYTES and node.is_regular:
            self._store_contents(inode, node)
        # keep_cache: the image is immutable, so pages stay valid across opens.
        return pyfuse3.FileInfo(fh=inode, keep_cache=True, direct_io=False)

    def _store_contents(self, ino, node):
        """Put the whole file into the kernel's page cache (FUSE_NOTIFY_STORE)
        before the OPEN is answered, so that reading it needs no READ.

        Only at the first open of an inode the kernel holds: no read of it can
        be in flight then (a read needs an open file), so the store cannot
        wait for a page that a READ waiting for this very process has locked.
        After a FORGET the kernel's inode and its pages are gone: the next
        inode for that number is stored again at its first open."""
        self._stored.add(ino)
        self._prefetch_neighbours(node)
        try:
            data = self.image.read(node, 0, node.size)
        except (CorruptEntry, OSError):
            return            # the READs that follow report it (EIO, a warning)
        if len(data) != node.size:
            return
        try:
            pyfuse3.notify_store(ino, 0, data)
        except OSError as exc:
            # ENOSYS: the kernel has no NOTIFY_STORE; any other error: this
            # file is read through READ as usual.
            if exc.errno == errno.ENOSYS:
                self._can_store = False
            log.debug("notify_store %d: %s", ino, exc)

    def _prefetch_neighbours(self, node):
        """The other small files of the directory are likely read next: at
        the first store in a directory, their data is asked of the disk
        (without waiting) while this file is answered."""
        directory = node.parent
        if directory is None or directory.ino in self._prefetched:
            return
        self._prefetched.add(directory.ino)
        try:
            self.image.prefetch_small_files(directory, STORE_AT_OPEN_BYTES)
        except (CorruptEntry, OSError):
            pass              # a hint only; a damaged listing shows at readdir

    async def read(self, fh, off, size):
        node = self._inode(fh)
        sequential = off == 0 or self._read_ends.get(fh) == off
        self._read_ends[fh] = off + size
        # zisofs blocks go through the reader's caches, which one thread
        # owns: those stay in the loop.
        if size >= THREAD_READ_BYTES and not sequential and node.zisofs is None:
            # Bytes the page cache holds are copied at once: the hand-over
            # to a thread costs more than the copy, and the threads' turns
            # at the interpreter lock delay every request of the loop.
            cached = self.image.read_cached(node, off, size)
            if cached is not None:
                return cached
            return await trio.to_thread.run_sync(self.image.read, node, off, size)
        return self.image.read(node, off, size)

    async def release(self, fh):
        pass

    async def statfs(self, ctx):
        stats = pyfuse3.StatvfsData()
        stats.f_bsize = STATFS_BLOCK_SIZE
        stats.f_frsize = STATFS_BLOCK_SIZE
        stats.f_blocks = self.image.volume_sectors
        stats.f_bfree = 0
        stats.f_bavail = 0
        stats.f_files = len(self._inodes)
        stats.f_ffree = 0
        stats.f_favail = 0
        stats.f_namemax = 255
        return stats

    async def getxattr(self, inode, name, ctx):
        self._inode(inode)
        raise pyfuse3.FUSEError(pyfuse3.ENOATTR)

    async def listxattr(self, inode, ctx):
        self._inode(inode)
        return []

    async def access(self, inode, mode, ctx):
        # default_permissions makes the kernel check modes (this is then never
        # called); without it: everything readable, nothing writable.
        self._inode(inode)
        if mode & os.W_OK:
            raise pyfuse3.FUSEError(errno.EROFS)
        return True

    # Every modifying operation: the filesystem is read-only.
    async def setattr(self, inode, attr, fields, fh, ctx):
        raise pyfuse3.FUSEError(errno.EROFS)

    async def _refuse(self, *args, **kwargs):
        raise pyfuse3.FUSEError(errno.EROFS)

    mknod = mkdir = unlink = rmdir = symlink = rename = link = create = _refuse
    setxattr = removexattr = write = _refuse

