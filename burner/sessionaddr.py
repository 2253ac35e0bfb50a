"""The sector an image was mastered for, read from the image itself.

An ISO 9660 session records absolute sector numbers (ECMA-119 §6.8.2: every
extent is a logical block number of the volume), so a session mastered for
sector 0 and written at a disc's next writable address shows the previous
session's tree, or garbage.  ``placement`` tells whether an image belongs at
the address the burner would write it to, so it is written only there.

What a session's primary descriptor says (ECMA-119 §8.4.8 volume space size,
§8.4.18 the root directory record):
- a first session (or a plain image): its root lies inside it, and the
  volume space size is about its own length (padding and appended
  partitions may make the file longer or shorter than that);
- a later session made with mkisofs -C a,b: its root lies inside the new
  session, at b or later.  genisoimage and xorrisofs write the session's
  own length as the volume space size, isofuse master (like xorriso's copy
  at sector 16 of a grown image) the whole volume, b + its length.  Both are
  accepted.
"""

from dataclasses import dataclass
from typing import Optional

from isofuse.format import FormatError
from isofuse.format.descriptors import TYPE_PRIMARY, decode_volume_descriptor
from isofuse.format.dirrecord import decode_record

from isofuse.format.sectors import SECTOR, sectors_for
PVD_OFFSET = 16 * SECTOR
DESCRIPTOR_AREA = 16 * SECTOR      # sectors 16-31: a session's descriptor set
HEAD = PVD_OFFSET + DESCRIPTOR_AREA   # what a one-pass source keeps from its start


@dataclass(frozen=True)
class Placement:
    """Where an image belongs: ``start`` (None: it fits none of the
    addresses asked about and its descriptor does not tell), and how many
    sectors the session itself holds."""
    start: Optional[int]
    sectors: Optional[int] = None
    iso: bool = True


def descriptor_area(source):
    """Sectors 16-31 of an image (from the head a one-pass source kept), or
    b"" when they cannot be read."""
    head = getattr(source, "head", b"")
    if len(head) >= PVD_OFFSET + SECTOR:
        return head[PVD_OFFSET:PVD_OFFSET + DESCRIPTOR_AREA]
    if not source.rereadable or source.size < PVD_OFFSET + SECTOR:
        return b""
    return source.read(PVD_OFFSET, min(DESCRIPTOR_AREA, source.size - PVD_OFFSET))


def _descriptor_sector(source):
    return descriptor_area(source)[:SECTOR] or None


def read_primary(source):
    """(volume space size, root extent) of the source's primary descriptor,
    or None when the source is no ISO 9660 image."""
    sector = _descriptor_sector(source)
    if sector is None:
        return None
    try:
        pvd = decode_volume_descriptor(sector)
    except FormatError:
        return None
    if pvd.type != TYPE_PRIMARY:
        return None
    try:
        root = decode_record(pvd.root_record).extent          # ECMA-119 §8.4.18, §9.1.3
    except FormatError:
        return None
    return pvd.volume_space_size, root


def fits(volume_space_size, root, start, sectors=None):
    """The session's own length if an image with this descriptor was made
    for ``start`` (``sectors``: the image's length when known), else None.
    Without ``sectors`` (standard input) the descriptor's own length is
    read first as the session's -- what genisoimage and xorrisofs write, and
    what cdrecord -isosize burns -- and the whole-volume form only where
    that one cannot be."""
    if start == 0:
        length = sectors or volume_space_size
        return length if root < length else None
    lengths = [sectors] if sectors else [volume_space_size, volume_space_size - start]
    for length in lengths:
        if length > 0 and start <= root < start + length \
                and volume_space_size in (length, start + length):
            return length
    return None


def placement(source, candidates=(0,)):
    """Which of ``candidates`` (the addresses the burner may write at) the
    image was made for; a source that names where it belongs
    (``mastered_for``, a session mastered here) is taken at its word."""
    known = getattr(source, "mastered_for", None)
    if known is not None:
        return Placement(known)
    found = read_primary(source)
    if found is None:
        return Placement(None, iso=False)
    vss, root = found
    sectors = None if getattr(source, "size_from_descriptor", False) \
        else sectors_for(source.size)
    for start in candidates:
        length = fits(vss, root, start, sectors)
        if length is not None:
            return Placement(start, length)
    # None fits: say sector 0 where the image is a plain one (the common
    # mistake), else that its address is another one.
    return Placement(0 if fits(vss, root, 0, sectors) else None)
