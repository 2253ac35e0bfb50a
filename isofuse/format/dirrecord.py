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




def encode_record(extent, data_length, date7, flags, identifier, system_use=b"",
                  volume_sequence=1):
    """§9.1: one directory record.  ``date7`` is the 7-byte recording date.

    The System Use area is padded to an even record length (as mkisofs and
    libisofs do); a record longer than 255 bytes cannot exist.
    """
    name_length = len(identifier)
    pad = b"\x00" if name_length % 2 == 0 else b""
    length = 33 + name_length + len(pad) + len(system_use)
    if length % 2:
        system_use += b"\x00"
        length += 1
    if length > 255:
        raise FormatError(f"directory record of {length} bytes (at most 255)")
    # One pack for the fixed part: the big endian halves of the 733/723
    # fields are passed in as ready-made bytes.
    return _ENCODE_FIXED.pack(length, 0, extent, _U32BE.pack(extent), data_length,
                              _U32BE.pack(data_length), date7, flags, 0, 0,
                              volume_sequence, _U16BE.pack(volume_sequence),
                              name_length) + identifier + pad + system_use


def encode_record_into(buffer, offset, extent, data_length, date7, flags, identifier,
                       system_use=b"", volume_sequence=1):
    """encode_record, written straight into ``buffer`` at ``offset`` (no
    intermediate bytes: a layout encodes hundreds of thousands of records);
    returns the record's length.  Padding bytes are not written: the buffer
    must hold zeros there (a fresh bytearray does)."""
    name_length = len(identifier)
    length = record_length(name_length, len(system_use))
    if length > 255:
        raise FormatError(f"directory record of {length} bytes (at most 255)")
    _ENCODE_FIXED.pack_into(buffer, offset, length, 0, extent, _U32BE.pack(extent),
                            data_length, _U32BE.pack(data_length), date7, flags, 0, 0,
                            volume_sequence, _U16BE.pack(volume_sequence), name_length)
    start = offset + 33 + name_length + (1 - name_length % 2)
    buffer[offset + 33:offset + 33 + name_length] = identifier
    buffer[start:start + len(system_use)] = system_use
    return length


_ENCODE_FIXED = struct.Struct("<BBI4sI4s7sBBBH2sB")
_U32BE = struct.Struct(">I")
_U16BE = struct.Struct(">H")

# For writers that encode records by the hundred thousand: the fixed part
# (§9.1.1-9.1.11) as one struct, whose fields are length, extended attribute
# length, extent (LE), extent (BE, 4 bytes from U32BE), data length (LE),
# data length (BE), date (7 bytes), flags, unit size, gap size, volume
# sequence (LE), volume sequence (BE, 2 bytes), identifier length; the rest
# of the record is record_tail().
FIXED_PART = _ENCODE_FIXED
U32BE = _U32BE.pack
VOLUME_SEQUENCE_1_BE = _U16BE.pack(1)
PAD_AFTER_IDENTIFIER = (b"\x00", b"")        # §9.1.12, by the identifier length's parity


def record_tail(identifier, system_use=b""):
    """The bytes of a record after its fixed part: identifier, its padding
    byte, System Use and the padding to an even record length."""
    tail = identifier + PAD_AFTER_IDENTIFIER[len(identifier) & 1] + system_use
    return tail + b"\x00" if len(tail) & 1 == 0 else tail   # 33 + odd is even


def record_length(identifier_length, system_use_length):
    """The length encode_record will produce, without encoding."""
    length = 33 + identifier_length + (1 - identifier_length % 2) + system_use_length
    return length + (length % 2)
