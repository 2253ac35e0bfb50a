"""Numerical fields of ECMA-119 §7.

ECMA-119 names each encoding by its clause number: 7.1.1 (711) is an 8-bit
number, 7.2.1/7.2.2 (721/722) 16-bit little/big endian, 7.2.3 (723) 16-bit
both-byte orders, 7.3.1/7.3.2 (731/732) 32-bit little/big endian and 7.3.3
(733) 32-bit both-byte orders.

Policy for a both-byte-order field whose halves disagree: trust the little
endian half, as the Linux kernel does (pycdlib rejects such images, which
makes disks with one broken field unreadable).  The mismatch is reported to an
optional callback so the reader can log it once.
"""

import struct

from .errors import FormatError

_U16LE = struct.Struct("<H")
_U16BE = struct.Struct(">H")
_U32LE = struct.Struct("<I")
_U32BE = struct.Struct(">I")


def _need(data, offset, size):
    if offset < 0 or offset + size > len(data):
        raise FormatError(f"field at {offset}+{size} beyond record of {len(data)} bytes")


def u711(data, offset):
    _need(data, offset, 1)
    return data[offset]


def u721(data, offset):
    _need(data, offset, 2)
    return _U16LE.unpack_from(data, offset)[0]


def u722(data, offset):
    _need(data, offset, 2)
    return _U16BE.unpack_from(data, offset)[0]


def u731(data, offset):
    _need(data, offset, 4)
    return _U32LE.unpack_from(data, offset)[0]


def u732(data, offset):
    _need(data, offset, 4)
    return _U32BE.unpack_from(data, offset)[0]


def mismatch_ignored(field, little, big):
    """Default handler for a both-endian mismatch: keep the little endian value."""


def u723(data, offset, on_mismatch=mismatch_ignored, field="723"):
    little = u721(data, offset)
    big = u722(data, offset + 2)
    if little != big:
        on_mismatch(field, little, big)
    return little


def u733(data, offset, on_mismatch=mismatch_ignored, field="733"):
    # Hot path (every directory record has two): one bounds check, two unpacks.
    if offset < 0 or offset + 8 > len(data):
        raise FormatError(f"field at {offset}+8 beyond record of {len(data)} bytes")
    little = _U32LE.unpack_from(data, offset)[0]
    big = _U32BE.unpack_from(data, offset + 4)[0]
    if little != big:
        on_mismatch(field, little, big)
    return little


def pack_723(value):
    return _U16LE.pack(value) + _U16BE.pack(value)


def pack_733(value):
    return _U32LE.pack(value) + _U32BE.pack(value)


def pack_731(value):
    return _U32LE.pack(value)


def pack_732(value):
    return _U32BE.pack(value)


def pack_721(value):
    return _U16LE.pack(value)


def pack_722(value):
    return _U16BE.pack(value)
