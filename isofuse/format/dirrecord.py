"""Directory records (ECMA-119 §9.1) and the sector walk over a directory.

A directory's extent is a sequence of records; a record never crosses a
sector boundary (§6.8.1.1), a zero length byte means "the rest of this sector
is padding".  The walk is bounded by the extent's size and refuses records
that would run past the sector, so a corrupt length cannot make it loop or
read out of bounds.
"""

import struct
from dataclasses import dataclass
from typing import Optional

from .dates import decode_binary_date
from .errors import FormatError
from .sectors import SECTOR, sectors_for

MIN_RECORD_LENGTH = 34  # 33 fixed bytes + at least one name byte (§9.1)

FLAG_HIDDEN = 0x01        # §9.1.6 bit 0 "Existence"
FLAG_DIRECTORY = 0x02     # bit 1
FLAG_ASSOCIATED = 0x04    # bit 2
FLAG_RECORD_FORMAT = 0x08  # bit 3
FLAG_PROTECTION = 0x10    # bit 4
FLAG_MULTI_EXTENT = 0x80  # bit 7: another record of the same file follows

NAME_SELF = b"\x00"    # "." (§6.8.2.2)
NAME_PARENT = b"\x01"  # ".."


@dataclass(slots=True)
class DirectoryRecord:
    length: int
    ext_attr_length: int
    extent: int
    data_length: int
    mtime: Optional[int]
    flags: int
    file_unit_size: int
    interleave_gap: int
    volume_sequence_number: int
    name: bytes
    system_use: bytes
    offset: int = 0  # position of the record inside its directory extent
    # §7.3.3: the big endian halves of extent and size disagree with the
    # little endian ones (which are used, as by the kernel)
    endian_mismatch: bool = False

    @property
    def is_directory(self):
        return bool(self.flags & FLAG_DIRECTORY)

    @property
    def is_self(self):
        return self.name == NAME_SELF

    @property
    def is_parent(self):
        return self.name == NAME_PARENT

    @property
    def data_start(self):
        """First sector of the data: the extended attribute record comes first
        (§9.1.2), so skip it, as the kernel does."""
        return self.extent + self.ext_attr_length


# The fixed 33 bytes of §9.1 (little endian halves of the 733/723 fields).
_FIXED = struct.Struct("<BBI4xI4x7sBBBH2xB")
_FIXED_BE = struct.Struct(">6xI4xI")   # the big endian halves of extent and size


def decode_record(data, offset=0, limit=None):
    """Decode the record starting at ``data[offset]`` (§9.1).

    ``limit`` is the end of the sector holding the record: no record may
    cross it.
    """
    limit = len(data) if limit is None else min(limit, len(data))
    if offset >= limit:
        raise FormatError("record offset beyond data")
    length = data[offset]
    if length < MIN_RECORD_LENGTH - 1:
        raise FormatError(f"directory record length {length} too small")
    if offset + length > limit:
        raise FormatError("directory record runs past its sector")
    (length, ext_attr, extent, data_length, date, flags, unit_size, gap, volume_sequence,
     name_length) = _FIXED.unpack_from(data, offset)          # §9.1.1 - §9.1.10
    # Both-byte-order fields (733): the little endian half wins, as in the
    # kernel; a disagreeing big endian half is flagged for the caller to log.
    extent_be, length_be = _FIXED_BE.unpack_from(data, offset)
    if 33 + name_length > length:
        raise FormatError("directory record name runs past the record")
    name = bytes(data[offset + 33:offset + 33 + name_length])  # §9.1.11
    # §9.1.12: one padding byte follows an even-length name.
    su_start = 33 + name_length + (1 - name_length % 2)
    return DirectoryRecord(
        length=length,
        ext_attr_length=ext_attr,                           # §9.1.2
        extent=extent,                                      # §9.1.3
        data_length=data_length,                            # §9.1.4
        mtime=decode_binary_date(date),                     # §9.1.5
        flags=flags,                                        # §9.1.6
        file_unit_size=unit_size,                           # §9.1.7
        interleave_gap=gap,                                 # §9.1.8
        volume_sequence_number=volume_sequence,             # §9.1.9
        name=name,
        system_use=bytes(data[offset + su_start:offset + length])
        if su_start < length else b"",
        offset=offset,
        endian_mismatch=extent_be != extent or length_be != data_length,
    )


def iter_records(extent_bytes, sector_size=2048, on_error=None):
    """Yield every record of a directory extent, in order.

    A malformed record ends the walk of its sector (the rest of the sector
    cannot be trusted) and is reported to ``on_error(offset, exc)``; the walk
    goes on with the next sector, like the kernel's readdir.
    """
    extent_bytes = memoryview(extent_bytes)
    total = len(extent_bytes)
    for sector_start in range(0, total, sector_size):
        sector_end = min(sector_start + sector_size, total)
        pos = sector_start
        while pos < sector_end:
            length = extent_bytes[pos]
            if length == 0:
                break  # padding to the end of the sector (§6.8.1.1)
            try:
                record = decode_record(extent_bytes, pos, sector_end)
            except FormatError as exc:
                if on_error is not None:
                    on_error(pos, exc)
                break
            yield record
            pos += length




MAX_RECORD_LENGTH = 255   # §9.1.1: the length is one byte

# The fixed 33 bytes of §9.1.1-9.1.11 as one struct: length, extended
# attribute length, extent (733: LE, then the BE half as 4 ready bytes),
# data length (733), date (7 bytes), flags, unit size, gap size, volume
# sequence number (723: LE, BE half as 2 bytes), identifier length.  The
# rest of the record is its tail (record_tail).
_ENCODE_FIXED = struct.Struct("<BBI4sI4s7sBBBH2sB")
_U32BE = struct.Struct(">I").pack
_VOLUME_SEQUENCE_1_BE = struct.pack(">H", 1)   # single-volume sets only
PAD_AFTER_IDENTIFIER = (b"\x00", b"")        # §9.1.12, by the identifier length's parity


def record_tail(identifier, system_use=b""):
    """The bytes of a record after its fixed part: identifier, its padding
    byte (§9.1.12), System Use (§9.1.13) and one byte more where needed for
    an even record length (as mkisofs and libisofs write it)."""
    tail = identifier + PAD_AFTER_IDENTIFIER[len(identifier) & 1] + system_use
    return tail + b"\x00" if len(tail) & 1 == 0 else tail   # 33 + odd is even


def record_length(identifier_length, system_use_length):
    """The length of the record record_tail makes, without making it."""
    length = 33 + identifier_length + (1 - identifier_length % 2) + system_use_length
    return length + (length % 2)


def encode_record_into(buffer, offset, extent, data_length, date7, flags, identifier_length,
                       tail):
    """§9.1: write one directory record into ``buffer`` at ``offset``: the
    fixed part, then ``tail`` (record_tail of the identifier, whose length
    is ``identifier_length``, and the System Use).  ``date7`` is the 7-byte
    recording date (§9.1.5).  Returns the record's length.  This is the one
    record encoder: a layout writes hundreds of thousands of records, so
    it makes no intermediate bytes."""
    length = 33 + len(tail)
    if length > MAX_RECORD_LENGTH:
        raise FormatError(f"directory record of {length} bytes (at most 255)")
    _ENCODE_FIXED.pack_into(buffer, offset, length, 0, extent, _U32BE(extent), data_length,
                            _U32BE(data_length), date7, flags, 0, 0, 1,
                            _VOLUME_SEQUENCE_1_BE, identifier_length)
    buffer[offset + 33:offset + length] = tail
    return length


def encode_record(extent, data_length, date7, flags, identifier, system_use=b""):
    """One directory record as bytes (encode_record_into on a fresh buffer:
    for the few records written alone, such as the descriptors' root)."""
    tail = record_tail(identifier, system_use)
    record = bytearray(33 + len(tail))
    encode_record_into(record, 0, extent, data_length, date7, flags, len(identifier), tail)
    return bytes(record)


def record_offsets(sizes):
    """Where each record of a directory starts, for records of ``sizes``
    bytes written in order: a record never crosses a sector boundary
    (§6.8.1.1), one that would starts the next sector (the rest stays
    zero, which readers take as padding).  The one place this rule is
    applied when writing."""
    pos = 0
    for size in sizes:
        if pos % SECTOR + size > SECTOR:
            pos += SECTOR - pos % SECTOR
        yield pos
        pos += size


def extent_bytes(sizes):
    """The bytes of a directory extent holding records of ``sizes`` bytes
    placed by record_offsets: whole sectors, at least one."""
    end = 0
    for offset, size in zip(record_offsets(sizes), sizes):
        end = offset + size
    return max(sectors_for(end), 1) * SECTOR
