"""Read-only lower layers of a staging directory: folders, or ISO images and
discs read through isofuse's reader (typically the previous session of a
multisession disc).  Paths are relative, as bytes, b"" for the top."""

import os
import stat
from dataclasses import dataclass
from typing import Optional

from ..reader import ReadOptions, open_image


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


class FolderLayer:
    """A plain folder (also the upper layer's read side)."""

    def __init__(self, path, layer_id):
        self.root = os.fsencode(os.path.abspath(path))
        self.layer_id = layer_id
        self.name = path

    def real(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

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
                    for name in os.listxattr(self.real(rel), follow_symlinks=False)}
        except OSError:
            return {}

    def getxattr(self, rel, name):
        try:
            return os.getxattr(self.real(rel), name, follow_symlinks=False)
        except OSError:
            return None

    def data_path(self, rel):
        """Where the mastering engine reads the file's data."""
        return os.fsdecode(self.real(rel))

    def close(self):
        pass


class ImageLayer:
    """An ISO image or disc, read lazily through isofuse's reader."""

    def __init__(self, path, layer_id, session=None):
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
