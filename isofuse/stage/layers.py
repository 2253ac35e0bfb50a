"""Read-only lower layers of a staging directory: folders, or ISO images and
discs read through isofuse's reader (typically the previous session of a
multisession disc).  Paths are relative, as bytes, b"" for the top."""

import os
import stat
import threading
from dataclasses import dataclass
from typing import Optional

from ..reader.options import ReadOptions
from .inodes import ORIGIN_XATTR


@dataclass
class Attr:
    """What a layer says about one entry (like os.stat_result)."""
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int
    atime: int
    ctime: int
    nlink: int
    rdev: int
    identity: tuple          # shared by hard links of one layer

    @property
    def is_dir(self):
        return stat.S_ISDIR(self.mode)


def attr_from_stat(st, layer_id):
    return Attr(mode=st.st_mode, uid=st.st_uid, gid=st.st_gid, size=st.st_size,
                mtime=st[stat.ST_MTIME], atime=st[stat.ST_ATIME], ctime=st[stat.ST_CTIME],
                nlink=st.st_nlink, rdev=st.st_rdev, identity=(layer_id, st.st_dev, st.st_ino))


# The longest path handed to the kernel in one piece (PATH_MAX is 4096 with
# its NUL).  A deeper entry is reached through an O_PATH descriptor of an
# ancestor ("anchor"), as /proc/self/fd/N/REST: a tree may be deeper than
# PATH_MAX on any Linux filesystem, and so on the stage.
LONG_PATH = 3000
MAX_ANCHORS = 256


class FolderLayer:
    """A plain folder (also the upper layer's read side)."""

    def __init__(self, path, layer_id):
        self.root = os.fsencode(os.path.abspath(path))
        self.layer_id = layer_id
        self.name = path
        # rel of an ancestor -> O_PATH fd, oldest first; one cache per
        # thread (the disc model is built in one while requests are
        # answered in another): a path handed out stays valid until the
        # thread that got it asks for the next one
        self._local = threading.local()

    @property
    def _anchors(self):
        anchors = getattr(self._local, "anchors", None)
        if anchors is None:
            anchors = self._local.anchors = {}
        return anchors

    def real(self, rel):
        """A path of ``rel`` for the next system call (a /proc/self/fd path
        when the plain one would be too long: use it at once)."""
        if not rel:
            return self.root
        path = self.root + b"/" + rel
        return path if len(path) < LONG_PATH else self._anchored(rel)

    def _anchored(self, rel):
        parts = rel.split(b"/")
        fd, base, used = None, 0, len(self.root) + 1
        for i, part in enumerate(parts):
            used += len(part) + 1
            if used > LONG_PATH and i > base:
                fd = self._anchor(b"/".join(parts[:i]), fd, b"/".join(parts[base:i]))
                base, used = i, 24 + len(part)
        prefix = self.root if fd is None else b"/proc/self/fd/%d" % fd
        return prefix + b"/" + b"/".join(parts[base:])

    def _anchor(self, anchor_rel, parent_fd, chunk):
        fd = self._anchors.pop(anchor_rel, None)
        if fd is None:
            if parent_fd is None:
                chunk = self.root + b"/" + chunk
            fd = os.open(chunk, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW,
                         dir_fd=parent_fd)
            if len(self._anchors) >= MAX_ANCHORS:
                # the oldest half: an operation uses a few, the newest
                for old in list(self._anchors)[:MAX_ANCHORS // 2]:
                    os.close(self._anchors.pop(old))
        self._anchors[anchor_rel] = fd      # the newest now
        return fd

    def forget_anchors(self, rel=None):
        """A folder at ``rel`` was renamed or removed (None: anything was;
        the calling thread's anchors)."""
        anchors = self._anchors
        if not anchors:
            return
        prefix = (rel or b"") + b"/"
        for key in [k for k in anchors
                    if rel is None or not rel or k == rel or k.startswith(prefix)]:
            os.close(anchors.pop(key))

    def attr(self, rel) -> Optional[Attr]:
        try:
            return attr_from_stat(os.lstat(self.real(rel)), self.layer_id)
        except OSError:
            return None

    def listdir(self, rel):
        try:
            return os.listdir(self.real(rel))
        except OSError:
            return []

    def readlink(self, rel):
        return os.readlink(self.real(rel))

    def read(self, rel, offset, size):
        with open(self.real(rel), "rb") as f:
            f.seek(offset)
            return f.read(size)

    def xattrs(self, rel):
        try:
            return {os.fsencode(name): os.getxattr(self.real(rel), name, follow_symlinks=False)
                    for name in os.listxattr(self.real(rel), follow_symlinks=False)
                    if name != ORIGIN_XATTR}
        except OSError:
            return {}

    def getxattr(self, rel, name):
        if os.fsdecode(name) == ORIGIN_XATTR:
            return None     # the stage's own bookkeeping (stage.inodes)
        try:
            return os.getxattr(self.real(rel), name, follow_symlinks=False)
        except OSError:
            return None

    def data_path(self, rel):
        """Where the mastering engine reads the file's data (later: a plain
        path, never an anchored one)."""
        return os.fsdecode(os.path.join(self.root, rel) if rel else self.root)

    def close(self):
        self.forget_anchors()


class ImageLayer:
    """An ISO image or disc, read lazily through isofuse's reader."""

    def __init__(self, path, layer_id, session=None):
        from ..reader.image import open_image   # only an image lower needs the reader
        self.image = open_image(path, ReadOptions(session=session))
        self.layer_id = layer_id
        self.name = path

    def _inode(self, rel):
        return self.image.resolve(rel) if rel else self.image.root

    def attr(self, rel):
        inode = self._inode(rel)
        if inode is None:
            return None
        return Attr(mode=inode.mode, uid=inode.uid, gid=inode.gid, size=inode.size,
                    mtime=inode.mtime, atime=inode.atime, ctime=inode.ctime,
                    nlink=inode.nlink, rdev=inode.rdev,
                    identity=(self.layer_id, 0, inode.ino))

    def listdir(self, rel):
        inode = self._inode(rel)
        if inode is None or not inode.is_dir:
            return []
        return [child.name for child in self.image.listdir(inode)]

    def readlink(self, rel):
        return self.image.readlink(self._inode(rel))

    def read(self, rel, offset, size):
        return self.image.read(self._inode(rel), offset, size)

    def xattrs(self, rel):
        return {}

    def getxattr(self, rel, name):
        return None

    def extents(self, rel):
        inode = self._inode(rel)
        return list(inode.extents) if inode is not None and inode.zisofs is None else None

    def data_path(self, rel):
        return None

    def close(self):
        self.image.close()


def open_lower(spec, layer_id, session=None):
    """A folder stays a folder; anything else is read as an ISO image."""
    if os.path.isdir(spec):
        return FolderLayer(spec, layer_id)
    return ImageLayer(spec, layer_id, session=session)
