"""System Use Sharing Protocol (SUSP 1.12, IEEE P1281) entries.

The System Use area of a directory record (ECMA-119 §9.1.13) holds a sequence
of entries: 2-byte signature, length (BP 3), version (BP 4), payload.  This
module splits an area into entries and decodes the SUSP-level ones: SP
(§5.3), CE (§5.1), ER (§5.5), ST (§5.4), PD (§5.2).  Rock Ridge entries are
decoded in :mod:`isofuse.format.rockridge`.
"""

from dataclasses import dataclass
from typing import NamedTuple

from . import numbers
from .errors import FormatError

SP_CHECK = b"\xbe\xef"
MAX_CE_CHAIN = 32  # the Linux kernel stops following CE after 32 hops


class Entry(NamedTuple):
    """One SUSP entry (a named tuple: millions are made while listing)."""
    signature: bytes
    version: int
    data: bytes  # the whole entry, header included, so offsets match the spec


@dataclass(frozen=True)
class Continuation:
    """CE (SUSP §5.1): where the System Use area goes on."""
    block: int
    offset: int
    length: int


@dataclass(frozen=True)
class SharingProtocol:
    """SP (SUSP §5.3): present in the root's "." record; skip_length bytes
    at the start of every other System Use area are to be ignored."""
    skip_length: int


@dataclass(frozen=True)
class ExtensionReference:
    """ER (SUSP §5.5): which extension (e.g. RRIP_1991A, IEEE_P1282) is used."""
    identifier: str
    descriptor: str
    source: str
    version: int


def iter_entries(area, on_error=None):
    """Yield the entries of a System Use area (or continuation area).

    Stops at ST, at padding (a length below 4, e.g. zero bytes after the last
    entry) and at an entry that would run past the area, which is reported to
    ``on_error``: a garbage area yields what was readable before the damage.
    """
    pos = 0
    end = len(area)
    while pos + 4 <= end:
        signature = bytes(area[pos:pos + 2])
        length = area[pos + 2]
        if length < 4:
            if signature != b"\x00\x00" and on_error is not None:
                on_error(FormatError(f"SUSP entry {signature!r} with length {length}"))
            return
        if signature == b"SL":
            length = _sl_length(area, pos, length, end)
        if pos + length > end:
            if on_error is not None:
                on_error(FormatError(f"SUSP entry {signature!r} runs past its area"))
            return
        if signature == b"ST":           # SUSP §5.4: end of this area
            return
        yield Entry(signature, area[pos + 3], bytes(area[pos:pos + length]))
        pos += length


def _component_walk_ends_at(area, pos, stop):
    """Walking RRIP SL components (flags, length, content) from the entry's
    byte 5 lands exactly on ``stop``."""
    at = pos + 5
    while at < stop:
        if at + 2 > len(area):
            return False
        at += 2 + area[at + 1]
    return at == stop


def _sl_length(area, pos, length, end):
    """The true length of an SL entry.

    genisoimage writes symlink targets that need more than 255 bytes as one
    SL entry in a continuation area and stores its length modulo 256 (a
    writer bug: SUSP 4.1 caps an entry's LEN at 255, so such a target must be
    split over several SL entries, RRIP 4.1.3; the case is held by
    tests/test_format_records.py).  When the declared length
    does not end on a component boundary but length + 256*k does, and
    something valid (the area's end, padding or another entry) follows, that
    is the real length.  Well-formed entries are returned unchanged.
    """
    if _component_walk_ends_at(area, pos, pos + length):
        return length
    candidate = length + 256
    while pos + candidate <= end:
        if _component_walk_ends_at(area, pos, pos + candidate):
            after = pos + candidate
            if after + 4 > end or area[after] == 0 or \
                    (65 <= area[after] <= 90 and 65 <= area[after + 1] <= 90
                     and area[after + 2] >= 4):
                return candidate
        candidate += 256
    return length


def decode_ce(entry):
    d = entry.data
    if len(d) < 28:
        raise FormatError("CE entry too short")
    return Continuation(block=numbers.u733(d, 4), offset=numbers.u733(d, 12),
                        length=numbers.u733(d, 20))


def decode_sp(entry):
    d = entry.data
    if len(d) < 7 or d[4:6] != SP_CHECK:
        raise FormatError("SP entry without its BE EF check bytes")
    return SharingProtocol(skip_length=d[6])


def decode_er(entry):
    d = entry.data
    if len(d) < 8:
        raise FormatError("ER entry too short")
    len_id, len_des, len_src, version = d[4], d[5], d[6], d[7]
    start = 8
    if start + len_id + len_des + len_src > len(d):
        raise FormatError("ER entry texts run past the entry")
    text = lambda a, n: d[a:a + n].decode("latin-1")
    return ExtensionReference(
        identifier=text(start, len_id),
        descriptor=text(start + len_id, len_des),
        source=text(start + len_id + len_des, len_src),
        version=version)


def root_sharing_protocol(system_use):
    """The SP entry of the root's "." record, or None (SUSP §5.3: it must be
    the first entry of that area)."""
    for entry in iter_entries(system_use):
        if entry.signature == b"SP":
            try:
                return decode_sp(entry)
            except FormatError:
                return None
        return None
    return None


# ---- encoders ------------------------------------------------------------------------

def encode_entry(signature, payload, version=1):
    length = 4 + len(payload)
    if length > 255:
        raise FormatError(f"SUSP entry {signature!r} of {length} bytes (at most 255)")
    return signature + bytes((length, version)) + payload


def encode_sp(skip_length=0):
    return encode_entry(b"SP", SP_CHECK + bytes((skip_length,)))


def encode_ce(block, offset, length):
    from .numbers import pack_733
    return encode_entry(b"CE", pack_733(block) + pack_733(offset) + pack_733(length))


CE_LENGTH = 28


def encode_er(identifier, descriptor, source, version=1):
    ident, desc, src = (t.encode("latin-1") for t in (identifier, descriptor, source))
    return encode_entry(b"ER", bytes((len(ident), len(desc), len(src), version))
                        + ident + desc + src)
