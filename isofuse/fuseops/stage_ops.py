"""pyfuse3 operations of ``isofuse stage``: each request becomes one call of
the stage (``stage.staging.Stage``: the overlay and the model of the future
disc), and its answer a pyfuse3 reply.  Nothing else happens here; errors
(OSError from the stage) become their errno at the boundary
(``fuseops.boundary``), as do bugs (EIO, logged).
"""

import errno

import pyfuse3

from ..stage.staging import CAPABILITY_XATTR, TIMEOUT, Changes, Stage
from .boundary import errno_boundary


# ENODATA of the capability probe, raised as it is (pyfuse3 only reads
# its errno); with_traceback(None) keeps tracebacks from piling up on it.
NO_DATA = pyfuse3.FUSEError(errno.ENODATA)


def reply(attributes):
    """pyfuse3's EntryAttributes of the stage's answer (None: no such name,
    an answer the kernel may cache as inode 0).  The stage's answers never
    change once made (a change makes new ones), so each is converted once:
    a cached getattr or lookup answer is answered again as it is."""
    if attributes is None:
        return NEGATIVE
    attr = attributes.converted
    if attr is None:
        attr = attributes.converted = converted(attributes)
    return attr


def negative():
    attr = pyfuse3.EntryAttributes()
    attr.st_ino = 0
    attr.entry_timeout = TIMEOUT
    return attr


NEGATIVE = negative()


def converted(a):
    """The fields of attributes.STAT_FIELDS, spelt out (a hot path: every
    lookup, getattr and readdir entry)."""
    attr = pyfuse3.EntryAttributes()
    attr.st_ino, attr.st_mode, attr.st_nlink = a.st_ino, a.st_mode, a.st_nlink
    attr.st_uid, attr.st_gid, attr.st_rdev = a.st_uid, a.st_gid, a.st_rdev
    attr.st_size, attr.st_blocks, attr.st_blksize = a.st_size, a.st_blocks, a.st_blksize
    attr.st_atime_ns, attr.st_mtime_ns, attr.st_ctime_ns = \
        a.st_atime_ns, a.st_mtime_ns, a.st_ctime_ns
    attr.entry_timeout = attr.attr_timeout = a.timeout
    return attr


def kernel_forgets_attributes(ino):
    """Drop the kernel's cached attributes of ``ino`` (a notification, not a
    reply: safe inside a request, since for attributes alone the kernel
    takes no lock that request may hold)."""
    try:
        pyfuse3.invalidate_inode(ino, attr_only=True)
    except OSError:
        pass        # ENOENT: the kernel holds no such inode, nothing is stale


def file_info(opened):
    return pyfuse3.FileInfo(fh=opened.fh, keep_cache=opened.keep_cache,
                            direct_io=opened.direct_io)


def changes_of(attr, fields):
    """What a SETATTR request changes, from pyfuse3's fields."""
    return Changes(size=attr.st_size if fields.update_size else None,
                   mode=attr.st_mode if fields.update_mode else None,
                   uid=attr.st_uid if fields.update_uid else None,
                   gid=attr.st_gid if fields.update_gid else None,
                   atime_ns=attr.st_atime_ns if fields.update_atime else None,
                   mtime_ns=attr.st_mtime_ns if fields.update_mtime else None)


@errno_boundary
class StageOperations(pyfuse3.Operations):
    supports_dot_lookup = False
    # Not the writeback cache: with it the kernel keeps the size and times
    # of every regular file itself and ignores ours, so the control files
    # (whose size follows the tree) would show stale sizes, and a write
    # beyond the medium in strict mode would fail at close, not at write.
    enable_writeback_cache = False
    enable_acl = False
    # Every operation runs to its end without awaiting (the stage answers
    # from the upper folder and its model at once): served one request
    # after the other without an event loop (fuseops.blocking_loop).  So
    # they are plain functions here; errno_boundary makes each the one
    # coroutine pyfuse3 awaits.
    NEVER_AWAITS = True

    def __init__(self, overlay, disc, control_name=b".isofuse", show_control=False,
                 msinfo=None):
        super().__init__()
        self.stage = Stage(overlay, disc, control_name, show_control, msinfo)
        self.stage.kernel_forgets_attributes = kernel_forgets_attributes
        self.disc = disc

    def init(self):
        # the first request of the mount, in the serving process: the model
        # of the disc is built from here on, while requests are answered
        self.disc.start()

    def lookup(self, parent_inode, name, ctx=None):
        return reply(self.stage.lookup(parent_inode, name))

    def getattr(self, inode, ctx=None):
        return reply(self.stage.getattr(inode))

    def forget(self, inode_list):
        pass  # path inodes stay valid as long as their path; cheap to keep

    def readlink(self, inode, ctx):
        return self.stage.readlink(inode)

    def opendir(self, inode, ctx):
        return self.stage.opendir(inode)

    def readdir(self, fh, start_id, token):
        for name, attributes, next_id in self.stage.readdir(fh, start_id):
            if not pyfuse3.readdir_reply(token, name, reply(attributes), next_id):
                break

    def releasedir(self, fh):
        self.stage.releasedir(fh)

    def open(self, inode, flags, ctx):
        return file_info(self.stage.open(inode, flags))

    def create(self, parent_inode, name, mode, flags, ctx):
        opened, attributes = self.stage.create(parent_inode, name, mode, flags, ctx)
        return file_info(opened), reply(attributes)

    def read(self, fh, off, size):
        return self.stage.read(fh, off, size)

    def write(self, fh, off, buf):
        return self.stage.write(fh, off, buf)

    def fsync(self, fh, datasync):
        self.stage.fsync(fh, datasync)

    def fsyncdir(self, fh, datasync):
        self.stage.fsyncdir(fh, datasync)

    def release(self, fh):
        self.stage.release(fh)

    def setattr(self, inode, attr, fields, fh, ctx):
        return reply(self.stage.setattr(inode, changes_of(attr, fields), fh))

    def mkdir(self, parent_inode, name, mode, ctx):
        return reply(self.stage.mkdir(parent_inode, name, mode, ctx))

    def mknod(self, parent_inode, name, mode, rdev, ctx):
        return reply(self.stage.mknod(parent_inode, name, mode, rdev, ctx))

    def symlink(self, parent_inode, name, target, ctx):
        return reply(self.stage.symlink(parent_inode, name, target, ctx))

    def link(self, inode, new_parent_inode, new_name, ctx):
        return reply(self.stage.link(inode, new_parent_inode, new_name))

    def unlink(self, parent_inode, name, ctx):
        self.stage.unlink(parent_inode, name)

    def rmdir(self, parent_inode, name, ctx):
        self.stage.rmdir(parent_inode, name)

    def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        self.stage.rename(parent_inode_old, name_old, parent_inode_new, name_new,
                          noreplace=bool(flags & pyfuse3.RENAME_NOREPLACE),
                          exchange=bool(flags & pyfuse3.RENAME_EXCHANGE))

    def getxattr(self, inode, name, ctx):
        if name == CAPABILITY_XATTR and self.stage.lacks_capability(inode):
            # the probe before every chown and page-cache write (1 a file
            # of tar -xf, 2.9 before write-only creates took direct I/O): one
            # exception, made once, not an OSError translated at the boundary
            raise NO_DATA.with_traceback(None)
        return self.stage.getxattr(inode, name)

    def listxattr(self, inode, ctx):
        return self.stage.listxattr(inode)

    def setxattr(self, inode, name, value, ctx):
        self.stage.setxattr(inode, name, value)

    def removexattr(self, inode, name, ctx):
        self.stage.removexattr(inode, name)

    def statfs(self, ctx):
        space = self.stage.statfs()
        stats = pyfuse3.StatvfsData()
        stats.f_bsize = stats.f_frsize = space.block_size
        stats.f_blocks = space.blocks
        stats.f_bfree = stats.f_bavail = space.free
        stats.f_files = space.files
        stats.f_ffree = stats.f_favail = space.free_files
        stats.f_namemax = space.name_max
        return stats
