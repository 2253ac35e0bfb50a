"""zisofs file layout ("pz" algorithm, as written by mkzftree and libisofs).

A compressed file's data starts with a 16-byte header: magic, uncompressed
size (u32 LE), header size / 4, log2 of the block size.  Then a table of
(blocks + 1) u32 LE offsets from the start of the file; block i is the zlib
stream between offsets i and i+1, and an empty stream is a block of zeros.
"""

import struct
from dataclasses import dataclass

from .errors import FormatError

MAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"
HEADER_SIZE = 16
MIN_BLOCK_LOG2 = 15
MAX_BLOCK_LOG2 = 17


@dataclass(frozen=True)
class ZisofsHeader:
    uncompressed_size: int
    header_size: int
    block_log2: int

    @property
    def block_size(self):
        return 1 << self.block_log2

    @property
    def block_count(self):
        return (self.uncompressed_size + self.block_size - 1) >> self.block_log2

    @property
    def table_offset(self):
        return self.header_size

    @property
    def table_size(self):
        return 4 * (self.block_count + 1)


def decode_header(data):
    if len(data) < HEADER_SIZE or bytes(data[0:8]) != MAGIC:
        raise FormatError("zisofs header magic missing")
    size = struct.unpack_from("<I", data, 8)[0]
    header_size = data[12] * 4
    block_log2 = data[13]
    if not MIN_BLOCK_LOG2 <= block_log2 <= MAX_BLOCK_LOG2:
        raise FormatError(f"zisofs block size 2^{block_log2} out of range")
    if header_size < HEADER_SIZE:
        raise FormatError("zisofs header size too small")
    return ZisofsHeader(size, header_size, block_log2)


def decode_block_table(data, header):
    """Offsets of the compressed blocks: a list of block_count + 1 numbers,
    checked to be non-decreasing (a corrupt table must not make us read
    backwards or allocate huge buffers)."""
    need = header.table_size
    if len(data) < need:
        raise FormatError("zisofs block table truncated")
    offsets = list(struct.unpack_from(f"<{header.block_count + 1}I", data, 0))
    for a, b in zip(offsets, offsets[1:]):
        if b < a:
            raise FormatError("zisofs block table not increasing")
    return offsets
