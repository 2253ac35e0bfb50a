"""GET PERFORMANCE (ACh, MMC-6 §6.8): the CDB and its replies, pure functions on bytes.

Two of its data types matter to a burner:

* type 03h, write speed descriptors (§6.8.2.6 / the type-03h reply): the
  speeds the drive can write the loaded medium at -- what ``--list`` shows;
* type 00h, performance (§6.8.2.2): the nominal performance in effect,
  read or write (the Write bit), as a start/end LBA and speed pair.

Speeds are in kB/s, k = 1000 (MMC's unit); "Nx" is a speed divided by the
medium's 1x (``profiles.Profile.one_x_kbs``: CD 176.4, DVD 1385, BD 4495.5).
A drive without the command or the type answers 5/20/00 or 5/24/00: that is
"no speed list", never an error (``layers.list_speeds``).
See docs/mmc-performance.md for every field and its source.
"""

from dataclasses import dataclass
from typing import List

GET_PERFORMANCE = 0xAC

TYPE_PERFORMANCE = 0x00        # §6.8: nominal/exception performance data
TYPE_WRITE_SPEED = 0x03        # §6.8: write speed descriptors of the medium

EXCEPT_NOMINAL = 0             # CDB byte 1 bits 1-0: nominal performance only
EXCEPT_ALL = 1                 # the whole list, exceptions included
EXCEPT_ONLY = 2                # only the exceptions

HEADER = 8                     # reply header: data length (4), Write/Except (1), 3 reserved
DESCRIPTOR = 16                # both descriptor types are 16 bytes


class PerformanceError(ValueError):
    """A GET PERFORMANCE reply that cannot be what MMC describes."""


def _u32(data, pos):
    return int.from_bytes(data[pos:pos + 4], "big")


# ---- the CDB -------------------------------------------------------------------------------
def get_performance(kind=TYPE_WRITE_SPEED, max_descriptors=32, write=True, start_lba=0,
                    exceptions=EXCEPT_NOMINAL):
    """§6.8.1 CDB: byte 1 "data type" (for type 00h: bits 4-3 tolerance,
    bit 2 Write, bits 1-0 Except; ignored for type 03h), bytes 2-5 starting
    LBA, bytes 8-9 maximum number of descriptors, byte 10 type.  Tolerance
    is left 00b as growisofs and libburn send it (drives accept it)."""
    data_type = 0
    if kind == TYPE_PERFORMANCE:
        data_type = (0x04 if write else 0) | (exceptions & 3)
    return bytes([GET_PERFORMANCE, data_type]) + start_lba.to_bytes(4, "big") + bytes(2) \
        + max_descriptors.to_bytes(2, "big") + bytes([kind, 0])


def reply_length(descriptors):
    """Allocation a host needs for ``descriptors`` descriptors."""
    return HEADER + DESCRIPTOR * descriptors


# ---- replies -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplyHeader:
    available: int          # descriptors the drive has (from the data length)
    write: bool             # byte 4 bit 1: the data is write performance
    exceptions: bool        # byte 4 bit 0: the list holds exceptions (type 00h)


def parse_header(data):
    """The 8-byte header: bytes 0-3 "performance data length" counts the
    bytes after itself (4 more header bytes + 16 per descriptor), so a length
    that is not 4 + 16n is not a GET PERFORMANCE reply (dvd+rw-mediainfo
    checks the same)."""
    if len(data) < HEADER:
        raise PerformanceError(f"GET PERFORMANCE reply of {len(data)} bytes: shorter than "
                               f"its {HEADER}-byte header")
    length = _u32(data, 0)
    if length < 4 or (length - 4) % DESCRIPTOR:
        raise PerformanceError(f"GET PERFORMANCE data length {length} is not 4 + 16 per "
                               "descriptor")
    return ReplyHeader((length - 4) // DESCRIPTOR, bool(data[4] & 0x02), bool(data[4] & 0x01))


def _descriptors(data):
    """The descriptors present in ``data``: the ones the header announces,
    as far as the allocation length let the drive send them."""
    header = parse_header(data)
    present = min(header.available, (len(data) - HEADER) // DESCRIPTOR)
    return header, [data[HEADER + i * DESCRIPTOR:HEADER + (i + 1) * DESCRIPTOR]
                    for i in range(present)]


@dataclass(frozen=True)
class WriteSpeed:
    """One type-03h write speed descriptor."""
    wrc: int                # byte 0 bits 4-3: write rotation control (00b default CLV/CAV)
    rdd: bool               # byte 0 bit 2: restore drive defaults (speeds reset on media change)
    exact: bool             # byte 0 bit 1: the drive can write exactly this speed over the disc
    mrw: bool               # byte 0 bit 0: suitable for mixed read/write (MRW)
    end_lba: int            # bytes 4-7: last LBA the speeds apply to
    read_kbs: int           # bytes 8-11
    write_kbs: int          # bytes 12-15


def parse_write_speeds(data):
    """§6.8 type 03h reply -> [WriteSpeed] in the drive's order (fastest
    first on real drives)."""
    _, descs = _descriptors(data)
    out = []
    for d in descs:
        flags = d[0]
        out.append(WriteSpeed((flags >> 3) & 3, bool(flags & 0x04), bool(flags & 0x02),
                              bool(flags & 0x01), _u32(d, 4), _u32(d, 8), _u32(d, 12)))
    return out


@dataclass(frozen=True)
class Performance:
    """One type-00h performance descriptor (§6.8: nominal performance)."""
    start_lba: int          # bytes 0-3
    start_kbs: int          # bytes 4-7
    end_lba: int            # bytes 8-11
    end_kbs: int            # bytes 12-15


def parse_performance(data):
    """§6.8 type 00h reply -> (header, [Performance])."""
    header, descs = _descriptors(data)
    return header, [Performance(_u32(d, 0), _u32(d, 4), _u32(d, 8), _u32(d, 12))
                    for d in descs]


# ---- speeds as a user reads them -----------------------------------------------------------
def x_factor(kbs, one_x_kbs):
    """kB/s -> multiple of the medium's 1x (one decimal: drives round their
    kB/s to integers, 2.4 x 1385 = 3324, 48 x 176.4 = 8467)."""
    return round(kbs / one_x_kbs, 1)


def format_x(x):
    """16.0 -> "16x", 2.4 -> "2.4x"."""
    return f"{x:g}x"


def distinct_write_x(speeds: List[WriteSpeed], one_x_kbs):
    """The distinct write speeds as Nx, fastest first (drives list one
    descriptor per speed and rotation control; a user wants the speeds)."""
    seen = sorted({x_factor(s.write_kbs, one_x_kbs) for s in speeds if s.write_kbs},
                  reverse=True)
    return seen
