"""Rock Ridge Interchange Protocol (RRIP 1.10 / 1.12, IEEE P1282) entries.

Entries of one directory record (its System Use area plus its continuation
areas, in order) are folded into one :class:`RockRidge` record by
:func:`collect`.  Sections cited are those of RRIP 1.12 (§4.1.x).
"""

import os
import struct
from dataclasses import dataclass, field
from typing import Optional

from . import numbers
from .dates import (clamp_binary_seconds, decode_binary_date, decode_text_date,
                    encode_binary_date)
from .errors import FormatError

# TF flags (RRIP §4.1.6): which stamps follow, in this order.
TF_CREATION = 0x01
TF_MODIFY = 0x02
TF_ACCESS = 0x04
TF_ATTRIBUTES = 0x08
TF_BACKUP = 0x10
TF_EXPIRATION = 0x20
TF_EFFECTIVE = 0x40
TF_LONG_FORM = 0x80
TF_ORDER = (("creation", TF_CREATION), ("modify", TF_MODIFY), ("access", TF_ACCESS),
            ("attributes", TF_ATTRIBUTES), ("backup", TF_BACKUP),
            ("expiration", TF_EXPIRATION), ("effective", TF_EFFECTIVE))

# SL component flags (RRIP §4.1.3.1) and NM flags (§4.1.4).
SL_CONTINUE = 0x01
SL_CURRENT = 0x02
SL_PARENT = 0x04
SL_ROOT = 0x08
NM_CONTINUE = 0x01
NM_CURRENT = 0x02
NM_PARENT = 0x04

RRIP_IDENTIFIERS = ("RRIP_1991A", "IEEE_P1282", "IEEE_1282")

MAX_DEV_PART = 0x7FFFFFFF  # largest major/minor os.makedev accepts (C int)

_ROOT = object()  # marker for an SL root component


@dataclass
class ZisofsInfo:
    """ZF (zisofs, not part of RRIP proper): how a file's data is compressed."""
    algorithm: bytes
    header_size: int   # in bytes (stored as size/4)
    block_log2: int
    uncompressed_size: int


@dataclass(slots=True)
class RockRidge:
    """Everything Rock Ridge says about one directory record."""
    mode: Optional[int] = None
    nlink: Optional[int] = None
    uid: Optional[int] = None
    gid: Optional[int] = None
    serial: Optional[int] = None
    rdev: Optional[int] = None
    name: Optional[bytes] = None
    symlink: Optional[bytes] = None
    times: dict = field(default_factory=dict)
    child_link: Optional[int] = None    # CL: real location of a relocated dir
    parent_link: Optional[int] = None   # PL: real parent of a relocated dir
    relocated: bool = False             # RE: this record is the moved copy
    zisofs: Optional[ZisofsInfo] = None
    seen: set = field(default_factory=set)

    @property
    def present(self):
        return bool(self.seen)


_PX_FIELDS = struct.Struct("<I4xI4xI4xI")


def _px(rr, d):
    # RRIP §4.1.1: mode, links, uid, gid as 733; 1.12 adds the serial number.
    if len(d) < 36:
        raise FormatError("PX entry too short")
    # little endian halves of the 733 fields (the kernel's choice too)
    rr.mode, rr.nlink, rr.uid, rr.gid = _PX_FIELDS.unpack_from(d, 4)
    if len(d) >= 44:
        rr.serial = numbers.u733(d, 36)


def _pn(rr, d):
    # RRIP §4.1.2: device number as two 733 halves.  Writers disagree on the
    # split: genisoimage puts major and minor in the halves, libisofs the
    # whole Linux dev_t in the low half.  A zero high half therefore means
    # "low holds a dev_t", decoded with the Linux/glibc encoding (the kernel
    # decodes it as an old 8:8 pair and gets minors above 255 wrong), else
    # major=high, minor=low.
    if len(d) < 20:
        raise FormatError("PN entry too short")
    high, low = numbers.u733(d, 4), numbers.u733(d, 12)
    if high > MAX_DEV_PART or (high != 0 and low > MAX_DEV_PART):
        # Garbage halves: os.makedev takes C ints and would raise
        # OverflowError out of the collector, losing the whole directory.
        raise FormatError(f"PN device number {high}:{low} out of range")
    if high == 0:
        rr.rdev = os.makedev(os.major(low), os.minor(low))
    else:
        rr.rdev = os.makedev(high, low)


def _sl_components(d):
    # RRIP §4.1.3: flags byte, then components (flags, length, content).
    pos, end = 5, len(d)
    while pos + 2 <= end:
        flags, length = d[pos], d[pos + 1]
        content = d[pos + 2:pos + 2 + length]  # tolerate a short last component
        yield flags, content
        pos += 2 + length


def _tf(rr, d):
    if len(d) < 5:
        raise FormatError("TF entry too short")
    flags = d[4]
    size = 17 if flags & TF_LONG_FORM else 7
    pos = 5
    for name, bit in TF_ORDER:
        if not flags & bit:
            continue
        if pos + size > len(d):
            break  # truncated: keep what was there
        raw = d[pos:pos + size]
        if size == 17:
            decoded = decode_text_date(raw)
            value = decoded[0] if decoded else None
        else:
            value = decode_binary_date(raw)
        if value is not None:
            rr.times[name] = value
        pos += size


def _zf(rr, d):
    if len(d) < 16:
        raise FormatError("ZF entry too short")
    rr.zisofs = ZisofsInfo(algorithm=bytes(d[4:6]), header_size=d[6] * 4,
                           block_log2=d[7], uncompressed_size=numbers.u733(d, 8))


class _Collector:
    """Folds entries into a RockRidge record; multi-entry fields (NM, SL)
    accumulate across entries and continuation areas."""

    def __init__(self):
        self.rr = RockRidge()
        self.name_parts = []
        self.name_done = False
        self.components = []   # finished components (bytes or _ROOT)
        self.pending = b""     # a component continued in the next entry
        self.pending_open = False
        self.errors = []

    def add(self, entry):
        try:
            self._add(entry)
        except FormatError as exc:
            # One bad entry spoils only itself (the record keeps the rest).
            self.errors.append(exc)

    def _add(self, entry):
        sig, d, rr = entry.signature, entry.data, self.rr
        if sig == b"PX":
            _px(rr, d)
        elif sig == b"PN":
            _pn(rr, d)
        elif sig == b"SL":
            self._sl(d)
        elif sig == b"NM":
            self._nm(d)
        elif sig == b"TF":
            _tf(rr, d)
        elif sig in (b"CL", b"PL") and len(d) < 12:
            raise FormatError(f"{sig.decode()} entry too short")
        elif sig == b"CL":
            rr.child_link = numbers.u733(d, 4)
        elif sig == b"PL":
            rr.parent_link = numbers.u733(d, 4)
        elif sig == b"RE":
            rr.relocated = True
        elif sig == b"ZF":
            _zf(rr, d)
        else:
            return  # RR (1.09 flags), SF, AL, PD, ...: nothing we use
        rr.seen.add(sig)

    def _nm(self, d):
        if len(d) < 5 or self.name_done:
            return
        flags = d[4]
        if flags & (NM_CURRENT | NM_PARENT):
            return  # "." / "..": the record's own name is right
        self.name_parts.append(bytes(d[5:]))
        if not flags & NM_CONTINUE:
            self.name_done = True

    def _sl(self, d):
        if len(d) < 5:
            return
        for flags, content in _sl_components(d):
            if flags & SL_ROOT:
                part = _ROOT
            elif flags & SL_CURRENT:
                part = b"."
            elif flags & SL_PARENT:
                part = b".."
            else:
                part = bytes(content)
            if part is _ROOT:
                self._finish_pending()
                self.components.append(_ROOT)
                continue
            self.pending += part
            self.pending_open = True
            if not flags & SL_CONTINUE:
                self._finish_pending()

    def _finish_pending(self):
        if self.pending_open:
            self.components.append(self.pending)
        self.pending, self.pending_open = b"", False

    def result(self):
        rr = self.rr
        if self.name_parts:
            rr.name = b"".join(self.name_parts)
        if b"SL" in rr.seen:
            self._finish_pending()
            rr.symlink = symlink_target(self.components)
        return rr


def symlink_target(components):
    """Join SL components into a path.

    A root component first makes the target absolute; a root component later
    on is how xorriso encodes an empty component ("a//b"), so it stands for
    an empty name there.
    """
    if not components:
        return b""
    absolute = components[0] is _ROOT
    rest = components[1:] if absolute else components
    parts = [b"" if c is _ROOT else c for c in rest]
    joined = b"/".join(parts)
    return b"/" + joined if absolute else joined


_QUICK_IGNORED = (b"RR", b"PD", b"SP", b"ER", b"AL", b"SF")


def quick_collect(area):
    """The common case in one pass: an area holding only PX, TF, a one-entry
    NM and entries we ignore.  Returns None for anything else (continuation
    areas, symlinks, devices, relocation, zisofs, damage), which the caller
    then reads with :func:`collector` -- same result, more work."""
    rr = RockRidge()
    pos, end = 0, len(area)
    try:
        while pos + 4 <= end:
            signature = area[pos:pos + 2]
            length = area[pos + 2]
            if length < 4:
                if signature != b"\x00\x00":
                    return None
                break
            if pos + length > end:
                return None
            if signature == b"PX":
                _px(rr, area[pos:pos + length])
            elif signature == b"TF":
                _tf(rr, area[pos:pos + length])
            elif signature == b"NM":
                if length < 5 or area[pos + 4] != 0 or rr.name is not None:
                    return None
                rr.name = area[pos + 5:pos + length]
            elif signature == b"ST":
                break
            elif signature in _QUICK_IGNORED:
                pos += length
                continue
            else:
                return None
            rr.seen.add(signature)
            pos += length
    except FormatError:
        return None
    return rr


def collect(entries):
    """Fold an iterable of SUSP entries into a :class:`RockRidge`."""
    collector = _Collector()
    for entry in entries:
        collector.add(entry)
    return collector.result()


def collector():
    """A collector to feed entries one by one (continuation areas arrive
    later than the record's own area)."""
    return _Collector()


# ---- encoders (RRIP 1.12 §4.1) ----------------------------------------------------------

def _entry(signature, payload):
    from .susp import encode_entry
    return encode_entry(signature, payload)


def encode_px(mode, nlink, uid, gid, serial=None):
    """§4.1.1; the serial number (file serial, RRIP 1.12) makes it 44 bytes."""
    from .numbers import pack_733
    payload = pack_733(mode) + pack_733(nlink) + pack_733(uid) + pack_733(gid)
    if serial is not None:
        payload += pack_733(serial)
    return _entry(b"PX", payload)


def encode_pn(rdev):
    """§4.1.2 as libisofs writes it: the Linux dev_t split into its high and
    low 32 bits.  xorriso reads this back exactly, and so does the kernel
    for majors below 4096 and minors below 256 (it reads a zero high half as
    the old 16-bit encoding); genisoimage's major/minor split is read right
    by the kernel but not by xorriso."""
    from .numbers import pack_733
    return _entry(b"PN", pack_733(rdev >> 32) + pack_733(rdev & 0xFFFFFFFF))


def encode_tf(modify, access, attributes):
    """§4.1.6: modify, access and attribute-change times, 7-byte form."""
    return encode_tf_dates(*(encode_binary_date(clamp_binary_seconds(t))
                             for t in (modify, access, attributes)))


# SUSP header (signature, length 5 + 3 x 7, version 1) and TF flags
_TF_THREE_DATES = b"TF" + bytes((26, 1, TF_MODIFY | TF_ACCESS | TF_ATTRIBUTES))


def encode_tf_dates(modify, access, attributes):
    """encode_tf with the three 7-byte dates (§9.1.5) already encoded: a
    writer encodes each second once, not three times per file."""
    return _TF_THREE_DATES + modify + access + attributes


MAX_PAYLOAD = 250  # keeps every entry within SUSP's 255-byte length


def encode_nm_entry(name):
    """§4.1.4: one NM entry holding a whole name of at most MAX_PAYLOAD bytes."""
    return b"NM" + bytes((5 + len(name), 1, 0)) + name


def encode_nm(name):
    """§4.1.4: the name, split over several NM entries (CONTINUE flag) when
    it is longer than one entry holds."""
    if len(name) <= MAX_PAYLOAD:
        return [encode_nm_entry(name)]
    chunks = [name[i:i + MAX_PAYLOAD] for i in range(0, len(name), MAX_PAYLOAD)]
    return [_entry(b"NM", bytes((NM_CONTINUE if i < len(chunks) - 1 else 0,)) + chunk)
            for i, chunk in enumerate(chunks)]


def _components(target):
    """(flags, content) per path component (§4.1.3.1)."""
    parts = target.split(b"/")
    comps = []
    if target.startswith(b"/"):
        comps.append((SL_ROOT, b""))
        parts = parts[1:]
        if parts == [b""]:
            return comps  # "/" alone
    for part in parts:
        if part == b".":
            comps.append((SL_CURRENT, b""))
        elif part == b"..":
            comps.append((SL_PARENT, b""))
        elif part == b"" :
            # An empty component ("a//b", or a trailing "/"): recorded as an
            # empty plain component; readers join components with "/".
            comps.append((0, b""))
        else:
            comps.append((0, part))
    return comps


def encode_sl(target):
    """§4.1.3: the target as components in as many SL entries as needed
    (entry flag 1: more SL entries follow).

    Where a target needs several entries, they are split inside a
    component (its first part flagged CONTINUE), never between two: readers
    disagree on whether a new SL entry starts a new component (the kernel
    adds "/", libarchive does not), but all of them join a continued
    component without a separator.
    """
    capacity = MAX_PAYLOAD - 1          # the entry's flag byte comes first
    entries, body, used = [], [], 0

    def flush():
        nonlocal body, used
        entries.append(body)
        body, used = [], 0

    for flags, content in _components(target):
        while True:
            room = capacity - used
            if 2 + len(content) <= room:
                body.append((flags, content))
                used += 2 + len(content)
                break
            if len(content) >= 2 and room >= 3:
                # split this component: a part here (continued), the rest next
                cut = min(room - 2, len(content) - 1)
                body.append((flags | SL_CONTINUE, content[:cut]))
                content = content[cut:]
                flush()
                continue
            # No room to split this one: end the entry inside the last
            # earlier component that has two bytes or more; its last byte and
            # whatever followed it move on to the next entry.
            for j in range(len(body) - 1, -1, -1):
                f, c = body[j]
                if len(c) >= 2:
                    moved = [(f, c[-1:])] + body[j + 1:]
                    body[j:] = [(f | SL_CONTINUE, c[:-1])]
                    flush()
                    body = moved
                    used = sum(2 + len(x) for _, x in moved)
                    break
            else:
                flush()              # only one-byte components: a plain boundary
    flush()
    blobs = [b"".join(bytes((f, len(c))) + c for f, c in entry) for entry in entries]
    return [_entry(b"SL", bytes((1 if i < len(blobs) - 1 else 0,)) + blob)
            for i, blob in enumerate(blobs)]


def encode_cl(location):
    from .numbers import pack_733
    return _entry(b"CL", pack_733(location))


def encode_pl(location):
    from .numbers import pack_733
    return _entry(b"PL", pack_733(location))


def encode_re():
    return _entry(b"RE", b"")


ER_RRIP_110 = ("RRIP_1991A",
               "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX "
               "FILE SYSTEM SEMANTICS",
               "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE "
               "PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT "
               "INFORMATION.")
ER_RRIP_112 = ("IEEE_P1282",
               "THE IEEE P1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM "
               "SEMANTICS.",
               "PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA "
               "FOR THE P1282 SPECIFICATION.")
