"""Path tables (ECMA-119 §9.4): one record per directory, in the order of
§6.9.1, in a little-endian (L) and a big-endian (M) copy."""

import struct
from dataclasses import dataclass

from .errors import FormatError


@dataclass(frozen=True)
class PathTableRecord:
    identifier: bytes
    extent: int
    parent_number: int
    ext_attr_length: int = 0


def encode_record(identifier, extent, parent_number, big_endian=False):
    """§9.4: name length, extended attribute length, extent (731/732),
    parent directory number (721/722), identifier, pad to even."""
    order = ">" if big_endian else "<"
    pad = b"\x00" if len(identifier) % 2 else b""
    return struct.pack(order + "BBIH", len(identifier), 0, extent, parent_number) \
        + identifier + pad


def record_size(identifier_length):
    return 8 + identifier_length + (identifier_length % 2)


def decode_table(data, big_endian=False):
    """Every record of a path table (bounded by ``data``)."""
    order = ">" if big_endian else "<"
    records, pos = [], 0
    while pos + 8 <= len(data):
        length, ext_attr, extent, parent = struct.unpack_from(order + "BBIH", data, pos)
        if length == 0:
            break
        if pos + 8 + length > len(data):
            raise FormatError("path table record runs past the table")
        records.append(PathTableRecord(bytes(data[pos + 8:pos + 8 + length]), extent,
                                       parent, ext_attr))
        pos += 8 + length + (length % 2)
    return records
