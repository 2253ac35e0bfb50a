"""Random access to the bytes of an image file or a disc device."""

import errno
import fcntl
import os
import stat
import struct

from ..format.sectors import SECTOR
from .errors import ReaderError

_CDROMMULTISESSION = 0x5310  # linux/cdrom.h
_CDROM_LBA = 0x01


class ImageSource:
    """pread-based access; safe to share between readers (no file offset)."""

    def __init__(self, path):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise ReaderError(f"cannot open {path}: {exc.strerror}") from None
        try:
            st = os.fstat(self.fd)
            if stat.S_ISDIR(st.st_mode):
                raise ReaderError(f"{path} is a directory, not an image")
            self.is_block_device = stat.S_ISBLK(st.st_mode)
            # For block devices st_size is 0; seeking to the end works for
            # both (and for a disc, it is what the drive reports).
            self.size = os.lseek(self.fd, 0, os.SEEK_END)
        except ReaderError:
            os.close(self.fd)
            raise
        except OSError as exc:
            os.close(self.fd)
            raise ReaderError(f"cannot read {path}: {exc.strerror}") from None
        # Whether a pread may be asked never to wait (RWF_NOWAIT): off after
        # the first refusal (a filesystem or device without it).
        self._can_read_nowait = hasattr(os, "RWF_NOWAIT")

    @property
    def sectors(self):
        return self.size // SECTOR

    def pread(self, offset, size):
        """Up to ``size`` bytes at ``offset``; short at the end of the image."""
        if offset >= self.size or size <= 0:
            return b""
        size = min(size, self.size - offset)
        chunks = []
        while size > 0:
            try:
                data = os.pread(self.fd, size, offset)
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            if not data:
                break
            chunks.append(data)
            offset += len(data)
            size -= len(data)
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    def pread_cached(self, offset, size):
        """The bytes at ``offset`` (as ``pread``, a bytes-like object) if the
        page cache holds all of them, else None, without waiting for the
        disk: preadv2 with RWF_NOWAIT (Linux 4.14) answers EAGAIN, or reads
        short, where a page is missing (and starts reading it ahead)."""
        if not self._can_read_nowait:
            return None
        if offset >= self.size or size <= 0:
            return b""
        size = min(size, self.size - offset)
        buffer = bytearray(size)
        try:
            got = os.preadv(self.fd, [buffer], offset, os.RWF_NOWAIT)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
                self._can_read_nowait = False
            return None     # EINTR and read errors alike: the blocking read decides
        return buffer if got == size else None

    def will_need(self, offset, size):
        """Best effort: let the kernel start reading these bytes now
        (POSIX_FADV_WILLNEED returns at once), so that the preads that follow
        find them in the page cache instead of waiting for the disk."""
        try:
            os.posix_fadvise(self.fd, offset, size, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass          # a device or filesystem without read-ahead: no hint

    def read_sectors(self, sector, count=1):
        return self.pread(sector * SECTOR, count * SECTOR)

    def last_session_from_drive(self):
        """Start of the last session as the drive reports it (CD-ROM ioctl),
        or None where that is not a CD drive.  Like the kernel, trust it only
        for XA discs."""
        if not self.is_block_device:
            return None
        # struct cdrom_multisession { union cdrom_addr addr (4 bytes);
        # u8 xa_flag; u8 addr_format; } -- padded to 8 bytes.
        buf = bytearray(struct.pack("iBB2x", 0, 0, _CDROM_LBA))
        try:
            fcntl.ioctl(self.fd, _CDROMMULTISESSION, buf)
        except OSError:
            return None
        lba, xa_flag, _ = struct.unpack("iBB2x", bytes(buf))
        return lba if xa_flag and lba > 0 else None

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
