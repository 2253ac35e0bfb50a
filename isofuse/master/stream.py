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
import threading
from array import array
from collections import OrderedDict


from ..format.sectors import SECTOR
from .copyway import kernel_copy_pays
ZERO_CHUNK = bytes(1 << 20)
ZERO_VIEW = memoryview(ZERO_CHUNK)    # slices of it are zeros without a copy
COPY_CHUNK = 8 << 20
# Where the kernel's copy does not pay (copyway.py), file data goes through
# this buffer: small enough to stay in the CPU cache between read and write.
BOUNCE_CHUNK = 256 << 10
WRITE_BATCH = 1 << 20     # small files are written in batches of about this size
SMALL_FILE = 256 << 10    # read and written whole; larger files are copied by the kernel


class SourceChanged(Exception):
    """A source file can no longer give the bytes the layout planned for."""


class Readahead:
    """Asks the kernel to start reading the files that come next.

    Copying many small files one by one waits for the disk once per file
    (nothing tells the kernel which file comes next).  A thread walks ahead
    of the copy and announces each upcoming file with
    posix_fadvise(WILLNEED), which queues the reads and returns, so the disk
    works on many files at once and the copy finds them in the page cache.
    It stays at most ``window_files`` files and ``window_bytes`` bytes ahead
    (it only needs to cover the disk's latency), announces at most
    ``per_file`` bytes of each file (the kernel's own readahead handles long
    sequential files), and ignores every error: the copy reports them.
    """

    def __init__(self, items, window_files=2048, window_bytes=64 << 20, per_file=4 << 20,
                 starts=None):
        self._items = items
        self._starts = starts             # items' stream offsets (packed), if known
        self._per_file = per_file
        self._window_files = window_files
        self._window_bytes = window_bytes
        self._copied_offset = 0           # stream offset the copy has reached
        self._misses = 0                  # probes in a row that found no cached data
        self._wake = threading.Event()
        self._stop = False
        self._thread = None

    def probed(self, uncached):
        """Record a probe of the copy's current file; True when the
        readahead should start: two probes in a row found no cached data (a
        single one can be a false alarm: RWF_NOWAIT also gives up on pages
        that are cached but marked for readahead)."""
        self._misses = self._misses + 1 if uncached else 0
        return self._misses >= 2

    @property
    def running(self):
        return self._thread is not None

    def start(self):
        if self._thread is None and not self._stop and len(self._items) > 1 \
                and hasattr(os, "posix_fadvise"):
            self._thread = threading.Thread(target=self._run, name="isofuse-readahead",
                                            daemon=True)
            self._thread.start()
        return self

    def reached(self, offset):
        """The copy has reached stream offset ``offset``."""
        self._copied_offset = offset
        if self._thread is not None:
            self._wake.set()

    def stop(self):
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self):
        # The items are walked where they are: a list of every file's path
        # and offsets made here would cost as much as the items themselves.
        per_file, items = self._per_file, self._items
        starts = self._starts
        if starts is None:
            starts = array("q", [item.start for item in items])
        count = len(items)
        for index, item in enumerate(items):
            if item.data is not None or item.reader is not None:
                continue
            path = item.path
            if path is None:
                continue
            start = starts[index]
            while not self._stop:
                copied = bisect.bisect_left(starts, self._copied_offset)
                if index - copied < self._window_files and (
                        copied >= count or start - starts[copied] < self._window_bytes):
                    break
                self._wake.clear()
                self._wake.wait(0.5)
            if self._stop:
                return
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, min(item.size, per_file), os.POSIX_FADV_WILLNEED)
            except OSError:
                pass
            finally:
                os.close(fd)


class ImageStream:
    def __init__(self, layout, metadata=None, max_open_files=64):
        self.layout = layout
        self._metadata = metadata
        self.size = layout.size
        # the layout's list and offsets, shared by every stream over it
        # (a copy per stream is a pointer per file, and isofuse master has
        # two streams: one in each process)
        self.items = layout.data_items
        self._starts, self._ends = layout.data_bounds()
        self._files = OrderedDict()
        self._max_open = max_open_files
        # Sequential reads (a burner, cp of image.iso) get a Readahead once a
        # probed source file turns out not to be in the page cache.
        self._next_offset = 0
        self._probe_index = 0
        self._readahead = Readahead(self.items, starts=self._starts)  # started when needed

    @property
    def metadata(self):
        """Every byte before the first file's data (encoded when first needed)."""
        if self._metadata is None:
            self._metadata = self.layout.encode_metadata()
        return self._metadata

    def metadata_pieces(self):
        """(offset, bytes) pieces of the metadata for a sequential writer:
        the encoded metadata if it is there, else encoded piece by piece
        (Layout.metadata_pieces) without keeping them."""
        if self._metadata is not None:
            return iter([(0, self._metadata)])
        return self.layout.metadata_pieces()

    @property
    def metadata_length(self):
        return (self.layout.metadata_sectors - self.layout.base) * SECTOR

    # ---- random access ----------------------------------------------------------------------
    def _fd(self, path):
        fd = self._files.get(path)
        if fd is not None:
            self._files.move_to_end(path)
            return fd
        fd = _open_source(path)
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
            data = _pread_exactly(self._fd(item.path), item, size, offset)
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
        sequential = offset == self._next_offset
        self._next_offset = offset + size
        parts = []
        end = offset + size
        meta_end = self.metadata_length
        if offset < meta_end:
            parts.append(self.metadata[offset:min(end, meta_end)])
            offset = min(end, meta_end)
        starts, ends, items = self._starts, self._ends, self.items
        index = bisect.bisect_right(starts, offset) - 1
        while offset < end:
            if index >= 0 and offset < ends[index]:
                item = items[index]
                if sequential and index >= self._probe_index:
                    self._sequential_at(index, item)
                if offset == starts[index] and ends[index] <= end and item.size <= SMALL_FILE \
                        and item.data is None and item.reader is None and not item.patch:
                    # a whole small file: open, read, close (no fd kept)
                    piece = self._read_small_file(item, False)[0]
                else:
                    piece = self._item_bytes(item, offset - starts[index],
                                             min(end, ends[index]) - offset)
            else:   # zeros up to the next item
                next_start = starts[index + 1] if index + 1 < len(starts) else self.size
                piece = ZERO_CHUNK[:min(end, next_start) - offset] \
                    if min(end, next_start) - offset <= len(ZERO_CHUNK) \
                    else bytes(min(end, next_start) - offset)
                index += 1
            parts.append(piece)
            offset += len(piece)
        return b"".join(parts)

    def _sequential_at(self, index, item):
        """Reading has reached item ``index`` in order: keep the readahead
        going, or probe whether it is needed (every 64 items)."""
        self._probe_index = index + 64
        readahead = self._readahead
        if readahead.running:
            readahead.reached(item.start)
        elif item.path is not None and item.data is None and item.reader is None:
            try:
                fd = self._fd(item.path)
            except SourceChanged:
                return      # reported by the read itself
            if readahead.probed(not _in_page_cache(fd)):
                readahead.reached(item.start)
                readahead.start()

    def close(self):
        self._readahead.stop()
        while self._files:
            _, fd = self._files.popitem()
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- sequential output -------------------------------------------------------------------
    def write_to(self, out_fd, progress=None, writer=None):
        """Write the whole image to ``out_fd`` (a file, pipe or device).

        File data goes through copy_file_range (regular file to regular file,
        the kernel copies or reflinks) or sendfile; zeros are skipped with a
        seek on regular files (sparse output) and written elsewhere.  A
        Readahead thread keeps the disk busy with the files that come next.
        With a ``writer`` (datawriter.DataWriter, for outputs that take
        positional writes) the file data comes from that second process
        while this one encodes the metadata.
        """
        out_is_file = stat.S_ISREG(os.fstat(out_fd).st_mode)
        if writer is not None:
            writer.write(self, out_fd, out_is_file)
            return
        for _, piece in self.metadata_pieces():
            self._write_all(out_fd, piece)
        if progress is not None:
            progress(self.metadata_length, self.size)
        self.write_data(out_fd, out_is_file, progress)
        if out_is_file:
            os.ftruncate(out_fd, os.lseek(out_fd, 0, os.SEEK_CUR))

    def write_data(self, out_fd, out_is_file, progress):
        """The file data and the zeros after the metadata, sequentially from
        the output's current position (the metadata's end)."""
        size = self.size
        # The readahead thread only pays off when the sources are not in the
        # page cache (with them cached, it just competes for the interpreter):
        # it starts the first time a probed file turns out not to be.
        readahead = Readahead(self.items, starts=self._starts)
        # Small files (and their zero tails) are gathered and written in
        # batches: one write per file costs more than the copy itself.
        batch, batched = [], 0
        small_files = _SmallFileReader()

        def flush():
            nonlocal batch, batched
            if batch:
                self._write_all(out_fd, b"".join(batch))
                batch, batched = [], 0

        try:
            position = self.metadata_length
            for count, item in enumerate(self.items):
                start = (item.sector - item.base) * SECTOR
                if start > position:
                    if start - position < SECTOR:
                        batch.append(ZERO_VIEW[:start - position])
                        batched += start - position
                    else:
                        flush()
                        self._zeros(out_fd, start - position, out_is_file)
                probe = False
                if count & 63 == 0:
                    if readahead.running:
                        readahead.reached(start)
                    else:
                        probe = True
                length = item.size
                position = start + length
                # FileData (a file of the tree, never patched) is asked
                # through its node: two property calls fewer per file
                node = item.node
                if (node.data is None and node.reader is None) if node is not None \
                        else (item.data is None and not item.patch and item.reader is None):
                    if length <= SMALL_FILE:
                        if probe:
                            data, uncached = self._read_small_file(item, True)
                        else:
                            data = small_files.read(item, node, length)
                        pad = -length % SECTOR
                        batch.append(data)
                        if pad:
                            batch.append(ZERO_VIEW[:pad])
                        position += pad
                        batched += length + pad
                        if batched >= WRITE_BATCH:
                            flush()
                    else:
                        # Large files are read sequentially with the kernel's own
                        # readahead; probing them would only disturb it.
                        flush()
                        self._copy_file(out_fd, item, out_is_file, progress, start)
                        uncached = False
                    if probe and readahead.probed(uncached):
                        readahead.reached(start)
                        readahead.start()
                else:
                    flush()
                    self._copy_item(out_fd, item, progress, start)
                if progress is not None:
                    progress(position - batched, size)
            flush()
            if size > position:
                self._zeros(out_fd, size - position, out_is_file)
            if progress is not None:
                progress(size, size)
        finally:
            readahead.stop()
            small_files.close()

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

    def _copy_item(self, out_fd, item, progress, start):
        """Data that is not a plain file: synthetic, patched or from a reader."""
        for offset in range(0, item.size, COPY_CHUNK):
            data = self._item_bytes(item, offset, min(COPY_CHUNK, item.size - offset))
            self._write_all(out_fd, data)
            if progress is not None:
                progress(start + offset + len(data), self.size)

    @staticmethod
    def _read_small_file(item, probe):
        """(the planned bytes of a small source file, whether a probe found it
        outside the page cache)."""
        src = _open_source(item.path)
        try:
            uncached = probe and not _in_page_cache(src)
            data = _pread_exactly(src, item, item.size, 0)
        finally:
            os.close(src)
        return data, uncached

    def _copy_file(self, out_fd, item, out_is_file, progress, start):
        """Copy one (large) source file: copy_file_range where the output
        filesystem shares blocks or offloads the copy, a read and a write
        through one buffer on other files (copyway.py), sendfile to pipes and
        devices."""
        # Sequential output reads each file once: open, copy, close (the fd
        # cache is for random access).
        src = _open_source(item.path)
        try:
            self._copy_file_data(src, out_fd, item, out_is_file, progress, start)
            _refuse_if_longer(src, item)
        finally:
            os.close(src)

    def _copy_file_data(self, src, out_fd, item, out_is_file, progress, start):
        """The planned ``item.size`` bytes of ``src`` to the output."""
        if out_is_file and not kernel_copy_pays(src, out_fd):
            self._bounce_copy(src, out_fd, item, progress, start)
            return
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
                # no kernel copy here (or the file ended): the rest
                # goes through the buffer, which says if it is short
                self._bounce_copy(src, out_fd, item, progress, start, offset)
                return
            offset += copied
            if progress is not None and item.size > COPY_CHUNK:
                progress(start + offset, self.size)

    def _bounce_copy(self, src, out_fd, item, progress, start, offset=0):
        """Copy ``item`` from ``src`` (from ``offset`` on) to the output's
        position through one reused buffer."""
        buffer = memoryview(bytearray(BOUNCE_CHUNK))
        while offset < item.size:
            n = os.preadv(src, [buffer[:min(BOUNCE_CHUNK, item.size - offset)]], offset)
            if not n:
                raise _shorter(item)
            self._write_all(out_fd, buffer[:n])
            offset += n
            if progress is not None and offset % COPY_CHUNK < n:
                progress(start + offset, self.size)


_PROBE = bytearray(1)


def _in_page_cache(fd):
    """Whether the first byte of a file can be read without waiting for the
    disk (a read with RWF_NOWAIT); unknown counts as no."""
    try:
        os.preadv(fd, [_PROBE], 0, os.RWF_NOWAIT)
        return True
    except (OSError, AttributeError):
        return False


class _SmallFileReader:
    """Reads the small files of a sequential write whole, each opened by
    name in its source folder (openat): the files of a folder come one
    after the other, so the folder is opened once, and the kernel looks up
    one name per file instead of its whole path.  Anything else, or any
    failure, is opened by its path (whose error message names it)."""

    def __init__(self):
        self._folder = None
        self._fd = None

    def read(self, item, node, length):
        """The ``length`` planned bytes of ``item`` (``node``: its tree
        node or None), from a fresh open (no fd is kept)."""
        src = self.open(item, node)
        try:
            # one byte more than planned: there is one only if the file grew
            data = os.pread(src, length + 1, 0)
            if len(data) != length:
                data = _pread_exactly(src, item, length, 0)
        finally:
            os.close(src)
        return data

    def open(self, item, node):
        """An fd of ``item``'s source file (``node``: its tree node or None)."""
        folder = node.source_folder if node is not None else None
        if folder is None:
            return _open_source(item.path)
        if folder is not self._folder:
            self.close()
            try:
                self._fd = os.open(folder.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                return _open_source(node.path)
            self._folder = folder
        try:
            return os.open(node.name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self._fd)
        except OSError:
            return _open_source(node.path)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
        self._folder = self._fd = None


def _open_source(path):
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SourceChanged(f"cannot open {os.fsdecode(path)}: {exc.strerror}") from None


def _shorter(item):
    return SourceChanged(f"{os.fsdecode(item.path)} is shorter than when the image was "
                         f"planned ({item.source_size} bytes)")


def _longer(item):
    return SourceChanged(f"{os.fsdecode(item.path)} is longer than when the image was "
                         f"planned ({item.source_size} bytes): it changed while the "
                         "image was written")


def _refuse_if_longer(fd, item):
    """A byte after the planned end means the file grew after planning:
    the image would hold a cut copy of it, which no reader could tell."""
    if os.pread(fd, 1, item.size):
        raise _longer(item)


def _pread_exactly(fd, item, size, offset):
    """``size`` bytes of a source file from ``offset``: short reads are
    continued, the end of the file before them means the file shrank.  A
    read that reaches the planned end asks for one byte more, which is
    there only if the file grew."""
    extra = 1 if offset + size >= item.size else 0
    data = os.pread(fd, size + extra, offset)
    while len(data) < size:
        more = os.pread(fd, size + extra - len(data), offset + len(data))
        if not more:
            raise _shorter(item)
        data += more
    if len(data) > size:
        raise _longer(item)
    return data
