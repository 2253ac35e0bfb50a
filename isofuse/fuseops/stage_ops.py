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


def reply(attributes):
    """pyfuse3's EntryAttributes of the stage's answer (None: no such name,
    an answer the kernel may cache as inode 0)."""
    attr = pyfuse3.EntryAttributes()
    if attributes is None:
        attr.st_ino = 0
        attr.entry_timeout = TIMEOUT
        return attr
    # the fields of attributes.STAT_FIELDS, spelt out (a hot path: every
    # lookup, getattr and readdir entry)
    a = attributes
    attr.st_ino, attr.st_mode, attr.st_nlink = a.st_ino, a.st_mode, a.st_nlink
    attr.st_uid, attr.st_gid, attr.st_rdev = a.st_uid, a.st_gid, a.st_rdev
    attr.st_size, attr.st_blocks, attr.st_blksize = a.st_size, a.st_blocks, a.st_blksize
    attr.st_atime_ns, attr.st_mtime_ns, attr.st_ctime_ns = \
        a.st_atime_ns, a.st_mtime_ns, a.st_ctime_ns
    attr.entry_timeout = attr.attr_timeout = a.timeout
    return attr


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
    # after the other without an event loop (fuseops.blocking_loop).
    NEVER_AWAITS = True

    def __init__(self, overlay, disc, control_name=b".isofuse", show_control=False,
                 msinfo=None):
        super().__init__()
        self.stage = Stage(overlay, disc, control_name, show_control, msinfo)
        self.disc = disc

    def init(self):
        # the first request of the mount, in the serving process: the model
        # of the disc is built from here on, while requests are answered
        self.disc.start()

    async def lookup(self, parent_inode, name, ctx=None):
        return reply(self.stage.lookup(parent_inode, name))

    async def getattr(self, inode, ctx=None):
        return reply(self.stage.getattr(inode))

    async def forget(self, inode_list):
        pass  # path inodes stay valid as long as their path; cheap to keep

    async def readlink(self, inode, ctx):
        return self.stage.readlink(inode)

    async def opendir(self, inode, ctx):
        return self.stage.opendir(inode)

    async def readdir(self, fh, start_id, token):
        for name, attributes, next_id in self.stage.readdir(fh, start_id):
            if not pyfuse3.readdir_reply(token, name, reply(attributes), next_id):
                break

    async def releasedir(self, fh):
        self.stage.releasedir(fh)

    async def open(self, inode, flags, ctx):
        return file_info(self.stage.open(inode, flags))

    async def create(self, parent_inode, name, mode, flags, ctx):
        opened, attributes = self.stage.create(parent_inode, name, mode, flags, ctx)
        return file_info(opened), reply(attributes)

    async def read(self, fh, off, size):
        return self.stage.read(fh, off, size)

    async def write(self, fh, off, buf):
        return self.stage.write(fh, off, buf)

    async def fsync(self, fh, datasync):
        self.stage.fsync(fh, datasync)

    async def fsyncdir(self, fh, datasync):
        self.stage.fsyncdir(fh, datasync)

    async def release(self, fh):
        self.stage.release(fh)

    async def setattr(self, inode, attr, fields, fh, ctx):
        return reply(self.stage.setattr(inode, changes_of(attr, fields), fh))

    async def mkdir(self, parent_inode, name, mode, ctx):
        return reply(self.stage.mkdir(parent_inode, name, mode, ctx))

    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        return reply(self.stage.mknod(parent_inode, name, mode, rdev, ctx))

    async def symlink(self, parent_inode, name, target, ctx):
        return reply(self.stage.symlink(parent_inode, name, target, ctx))

    async def link(self, inode, new_parent_inode, new_name, ctx):
        return reply(self.stage.link(inode, new_parent_inode, new_name))

    async def unlink(self, parent_inode, name, ctx):
        self.stage.unlink(parent_inode, name)

    async def rmdir(self, parent_inode, name, ctx):
        self.stage.rmdir(parent_inode, name)

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        self.stage.rename(parent_inode_old, name_old, parent_inode_new, name_new,
                          noreplace=bool(flags & pyfuse3.RENAME_NOREPLACE),
                          exchange=bool(flags & pyfuse3.RENAME_EXCHANGE))

    async def getxattr(self, inode, name, ctx):
        if name == CAPABILITY_XATTR and self.stage.lacks_capability(inode):
            # the probe before every write (2.9 a file of tar -xf): one
            # exception, not an OSError translated at the boundary
            raise pyfuse3.FUSEError(errno.ENODATA)
        return self.stage.getxattr(inode, name)

    async def listxattr(self, inode, ctx):
        return self.stage.listxattr(inode)

    async def setxattr(self, inode, name, value, ctx):
        self.stage.setxattr(inode, name, value)

    async def removexattr(self, inode, name, ctx):
        self.stage.removexattr(inode, name)

    async def statfs(self, ctx):
        space = self.stage.statfs()
        stats = pyfuse3.StatvfsData()
        stats.f_bsize = stats.f_frsize = space.block_size
        stats.f_blocks = space.blocks
        stats.f_bfree = stats.f_bavail = space.free
        stats.f_files = space.files
        stats.f_ffree = stats.f_favail = space.free_files
        stats.f_namemax = space.name_max
        return stats
