"""The image as a random-access stream: any byte range at any time.

Metadata comes from the layout's encoded bytes, file data from the source
files (opened on demand, a few kept open), everything else is zeros.  The
same object serves ``isofuse master`` (sequential, with kernel copies where
possible), the staging filesystem's image.iso and the burner.
"""

import bisect
import errno
import os
import stat
from collections import OrderedDict


ZERO_CHUNK = bytes(1 << 20)
COPY_CHUNK = 8 << 20


class SourceChanged(Exception):
    """A source file can no longer give the bytes the layout planned for."""


class ImageStream:
    def __init__(self, layout, metadata=None, max_open_files=64):
        self.layout = layout
        self.metadata = metadata if metadata is not None else layout.encode_metadata()
        self.size = layout.size
        self.items = [item for item in layout.data_items]
        self._starts = [item.start for item in self.items]
        self._files = OrderedDict()
        self._max_open = max_open_files

    # ---- random access ----------------------------------------------------------------------
    def _fd(self, path):
        fd = self._files.get(path)
        if fd is not None:
            self._files.move_to_end(path)
            return fd
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise SourceChanged(f"cannot open {path}: {exc.strerror}") from None
        self._files[path] = fd
        while len(self._files) > self._max_open:
            _, old = self._files.popitem(last=False)
            os.close(old)
        return fd

    def _item_bytes(self, item, offset, size):
        """``size`` bytes of ``item``'s data from ``offset`` (within its size)."""
        if item.data is not None:
            data = item.data[offset:offset + size]
        elif item.reader is not None:
            data = item.reader(offset, size)
            if len(data) < size:
                raise SourceChanged(f"{item.path or 'a file of a lower layer'} is shorter "
                                    f"than when the image was planned")
        else:
            fd = self._fd(item.path)
            data = os.pread(fd, size, offset)
            while len(data) < size:
                more = os.pread(fd, size - len(data), offset + len(data))
                if not more:
                    raise SourceChanged(f"{item.path} is shorter than when the image "
                                        f"was planned ({item.source_size} bytes)")
                data += more
        if item.patch and offset < item.patch_offset + len(item.patch) \
                and offset + size > item.patch_offset:
            data = bytearray(data)
            for i, byte in enumerate(item.patch):
                pos = item.patch_offset + i - offset
                if 0 <= pos < len(data):
                    data[pos] = byte
            data = bytes(data)
        return data

    def read(self, offset, size):
        """Bytes [offset, offset+size) of the image (short at its end)."""
        if offset >= self.size or size <= 0:
            return b""
        size = min(size, self.size - offset)
        parts = []
        end = offset + size
        meta_end = len(self.metadata)
        while offset < end:
            if offset < meta_end:
                piece = self.metadata[offset:min(end, meta_end)]
            else:
                index = bisect.bisect_right(self._starts, offset) - 1
                item = self.items[index] if index >= 0 else None
                if item is not None and offset < item.end:
                    n = min(end, item.end) - offset
                    piece = self._item_bytes(item, offset - item.start, n)
                else:
                    next_start = self._starts[index + 1] if index + 1 < len(self._starts) \
                        else self.size
                    piece = bytes(min(end, next_start) - offset)
            parts.append(piece)
            offset += len(piece)
        return b"".join(parts)

    def close(self):
        while self._files:
            _, fd = self._files.popitem()
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- sequential output -------------------------------------------------------------------
    def write_to(self, out_fd, progress=None):
        """Write the whole image to ``out_fd`` (a file, pipe or device).

        File data goes through copy_file_range (regular file to regular file,
        the kernel copies or reflinks) or sendfile; zeros are skipped with a
        seek on regular files (sparse output) and written elsewhere.
        """
        out_is_file = stat.S_ISREG(os.fstat(out_fd).st_mode)
        written = 0

        def advance(n):
            nonlocal written
            written += n
            if progress is not None:
                progress(written, self.size)

        self._write_all(out_fd, self.metadata)
        advance(len(self.metadata))
        position = len(self.metadata)
        for item in self.items:
            if item.start > position:
                self._zeros(out_fd, item.start - position, out_is_file)
                advance(item.start - position)
                position = item.start
            self._copy_item(out_fd, item, out_is_file, advance)
            position = item.end
        if self.size > position:
            self._zeros(out_fd, self.size - position, out_is_file)
            advance(self.size - position)
        if out_is_file:
            os.ftruncate(out_fd, os.lseek(out_fd, 0, os.SEEK_CUR))

    @staticmethod
    def _write_all(fd, data):
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def _zeros(self, fd, count, out_is_file):
        if out_is_file:
            os.lseek(fd, count, os.SEEK_CUR)
            return
        while count:
            n = min(count, len(ZERO_CHUNK))
            self._write_all(fd, ZERO_CHUNK[:n])
            count -= n

    def _copy_item(self, out_fd, item, out_is_file, advance):
        if item.data is not None or item.patch or item.reader is not None:
            for offset in range(0, item.size, COPY_CHUNK):
                data = self._item_bytes(item, offset, min(COPY_CHUNK, item.size - offset))
                self._write_all(out_fd, data)
                advance(len(data))
            return
        # Sequential output reads each file once: open, copy, close (the fd
        # cache is for random access).
        try:
            src = os.open(item.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise SourceChanged(f"cannot open {os.fsdecode(item.path)}: "
                                f"{exc.strerror}") from None
        try:
            self._copy_from(src, out_fd, item, out_is_file, advance)
        finally:
            os.close(src)

    def _copy_from(self, src, out_fd, item, out_is_file, advance):
        offset = 0
        while offset < item.size:
            n = min(COPY_CHUNK, item.size - offset)
            copied = 0
            try:
                if out_is_file:
                    copied = os.copy_file_range(src, out_fd, n, offset)
                else:
                    copied = os.sendfile(out_fd, src, offset, n)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS,
                                     errno.EOPNOTSUPP, errno.EBADF):
                    raise
                copied = 0
            if copied == 0:
                data = os.pread(src, n, offset)
                if not data:
                    raise SourceChanged(f"{os.fsdecode(item.path)} is shorter than when "
                                        f"the image was planned ({item.source_size} bytes)")
                self._write_all(out_fd, data)
                copied = len(data)
            offset += copied
            advance(copied)
        # files that grew after planning: the image holds the planned size only
