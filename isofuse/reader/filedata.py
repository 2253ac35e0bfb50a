"""File contents: plain extents (one or several, ECMA-119 §6.5.1 multi-extent
files) and zisofs-compressed files, decompressed block by block."""

import zlib

from ..format import FormatError
from ..format import zisofs
from ..format.sectors import SECTOR
from .cache import LRUCache
from .errors import CorruptEntry


class FileReader:
    def __init__(self, source, block_cache_bytes):
        self.source = source
        self._blocks = LRUCache(block_cache_bytes)
        self._tables = LRUCache(4096, cost=lambda _: 1)

    def read(self, inode, offset, size):
        if offset >= inode.size or size <= 0:
            return b""
        size = min(size, inode.size - offset)
        if inode.zisofs is not None:
            return self._read_zisofs(inode, offset, size)
        return self._read_stored(inode, offset, size)

    def read_cached(self, inode, offset, size):
        """What ``read`` gives, if the page cache holds every byte of it
        (``ImageSource.pread_cached``), else None.  Stored files only: a
        zisofs block goes through the block cache, which one thread owns."""
        if inode.zisofs is not None:
            return None
        if offset >= inode.size or size <= 0:
            return b""
        size = min(size, inode.size - offset)
        parts = []
        for start, length in self._pieces(inode, offset, size):
            data = self.source.pread_cached(start, length)
            if data is None or len(data) < length:
                return None
            parts.append(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _pieces(self, inode, offset, size):
        """(byte position on the image, bytes) of [offset, offset+size) of
        the file, extent by extent (ECMA-119 §6.5.1 multi-extent files)."""
        extent_start = 0
        end = offset + size
        for sector, length in inode.extents:
            extent_end = extent_start + length
            if extent_end > offset and extent_start < end:
                lo = max(offset, extent_start) - extent_start
                hi = min(end, extent_end) - extent_start
                yield sector * SECTOR + lo, hi - lo
            extent_start = extent_end
            if extent_start >= end:
                break

    def _read_stored(self, inode, offset, size):
        """Map [offset, offset+size) of the file onto its extents."""
        parts = []
        for start, length in self._pieces(inode, offset, size):
            data = self.source.pread(start, length)
            if len(data) < length:
                raise CorruptEntry(f"{inode.name!r}: data lies beyond the end "
                                   "of the image")
            parts.append(data)
        return b"".join(parts)

    def _stored_size(self, inode):
        return sum(length for _, length in inode.extents)

    def _zisofs_table(self, inode):
        key = inode.extents
        table = self._tables.get(key)
        if table is not None:
            return table
        stored = self._stored_size(inode)
        try:
            header = zisofs.decode_header(self._read_stored(inode, 0, min(stored, 16)))
            if header.uncompressed_size != inode.size:
                raise FormatError("zisofs header and ZF entry disagree on the size")
            raw = self._read_stored(inode, header.table_offset,
                                    min(header.table_size, max(stored - header.table_offset, 0)))
            offsets = zisofs.decode_block_table(raw, header)
        except FormatError as exc:
            raise CorruptEntry(f"{inode.name!r}: zisofs: {exc}") from None
        if offsets and offsets[-1] > stored:
            raise CorruptEntry(f"{inode.name!r}: zisofs block table points past the data")
        table = (header, offsets)
        self._tables.put(key, table)
        return table

    def _zisofs_block(self, inode, header, offsets, index):
        key = (inode.extents[0], index)
        block = self._blocks.get(key)
        if block is not None:
            return block
        start, stop = offsets[index], offsets[index + 1]
        want = min(header.block_size, inode.size - (index << header.block_log2))
        if stop == start:
            block = bytes(want)  # an empty block stands for zeros
        else:
            compressed = self._read_stored(inode, start, stop - start)
            try:
                inflater = zlib.decompressobj()
                # max_length bounds memory whatever the stream claims.
                block = inflater.decompress(compressed, header.block_size)
            except zlib.error as exc:
                raise CorruptEntry(f"{inode.name!r}: zisofs block {index}: {exc}") from None
            if len(block) < want:
                raise CorruptEntry(f"{inode.name!r}: zisofs block {index} too short")
            block = block[:want]
        self._blocks.put(key, block)
        return block

    def _read_zisofs(self, inode, offset, size):
        header, offsets = self._zisofs_table(inode)
        parts = []
        end = offset + size
        index = offset >> header.block_log2
        while offset < end:
            block = self._zisofs_block(inode, header, offsets, index)
            within = offset - (index << header.block_log2)
            piece = block[within:within + (end - offset)]
            if not piece:
                break
            parts.append(piece)
            offset += len(piece)
            index += 1
        return b"".join(parts)
