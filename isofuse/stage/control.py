"""The control directory of a stage (``.isofuse`` by default): read-only
files that show the future disc -- ``report`` (rule violations, name
changes), ``size`` (sectors, medium, room left), ``image.iso`` (the image
itself, mastered on the fly) and, over a disc, ``msinfo``.

It has fixed inode numbers below those of any path, is not part of the
disc, and its answers are never cached (they change with every change of
the tree).
"""

import errno
import logging
import os
import stat

from ..format.sectors import SECTOR
from .attributes import Attributes

log = logging.getLogger("isofuse.stage")

CONTROL_INO = 2
CONTROL_FILES = {b"report": 3, b"size": 4, b"image.iso": 5, b"msinfo": 6}
IMAGE_INO = CONTROL_FILES[b"image.iso"]
CONTROL_INODES = frozenset([CONTROL_INO, *CONTROL_FILES.values()])
FIRST_PATH_INO = 100


def error(code):
    return OSError(code, os.strerror(code))


class ControlDirectory:
    def __init__(self, disc, overlay, name=b".isofuse", msinfo=None):
        self.disc = disc
        self.overlay = overlay
        self.name = name
        self.msinfo = msinfo

    @staticmethod
    def owns(ino):
        return ino in CONTROL_INODES

    def names(self):
        return [name for name in CONTROL_FILES if name != b"msinfo" or self.msinfo]

    def lookup(self, parent_ino, name):
        """A name in the control directory (``parent_ino`` is one of ours)."""
        if parent_ino != CONTROL_INO:
            raise error(errno.ENOTDIR)
        ino = CONTROL_FILES.get(name)
        if ino is None or (name == b"msinfo" and not self.msinfo):
            raise error(errno.ENOENT)
        return self.attributes(ino)

    def content(self, ino):
        if ino == CONTROL_FILES[b"report"]:
            return self.disc.report_text().encode()
        if ino == CONTROL_FILES[b"size"]:
            return self.disc.size_text().encode()
        if ino == CONTROL_FILES[b"msinfo"] and self.msinfo:
            return self.msinfo.encode() + b"\n"
        return b""

    def attributes(self, ino):
        root = self.overlay.root().attr
        times = root.mtime * 10 ** 9
        if ino == CONTROL_INO:
            mode, nlink, size = stat.S_IFDIR | 0o555, 2, 0
        else:
            mode, nlink = stat.S_IFREG | 0o444, 1
            size = self.disc.sectors() * SECTOR if ino == IMAGE_INO \
                else len(self.content(ino))
        return Attributes(ino, mode, nlink, root.uid, root.gid, 0, size, (size + 511) // 512,
                          SECTOR, times, times, times, timeout=0)

    def open(self, ino, flags):
        """(data, stream) of a control file opened for reading: the
        content as it is now, or the image's stream."""
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise error(errno.EACCES)
        if ino == CONTROL_INO:
            raise error(errno.EISDIR)
        if ino != IMAGE_INO:
            return self.content(ino), None
        from ..master.stream import ImageStream     # the engine: loaded when first needed
        try:
            return None, ImageStream(self.disc.layout())
        except Exception as exc:  # noqa: BLE001 -- a tree that cannot become an image
            log.warning("image.iso: %s", exc)
            raise error(errno.EIO) from None
