"""Pure format layer: ISO 9660 (ECMA-119) and its extensions, bytes <-> records.

Nothing here reads files, talks to FUSE or knows about trio.  Every decoder
takes ``bytes`` and returns plain records, raising :class:`FormatError` for
input it cannot make sense of.  Field offsets are those of ECMA-119 (cited per
field as "ECMA-119 §x.y", byte positions counted from 0 unlike the standard's
BP numbers that start at 1).
"""

from .errors import FormatError

__all__ = ["FormatError"]
