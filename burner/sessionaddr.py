"""The sector an image was mastered for, read from the image itself.

An ISO 9660 session records absolute sector numbers (ECMA-119 §6.8.2: every
extent is a logical block number of the volume), so a session mastered for
sector 0 and written at a disc's next writable address shows the previous
session's tree, or garbage.  ``mastered_start`` tells where an image belongs,
so the burner writes it only there.

mkisofs -C a,b makes the new session's primary descriptor count the whole
volume (ECMA-119 §8.4.8, volume space size = b + the session's sectors) and
its root directory lies inside the new session; a plain image has its root
inside itself and a volume space size about its own length.
"""

from isofuse.format import FormatError
from isofuse.format.descriptors import TYPE_PRIMARY, decode_volume_descriptor

SECTOR = 2048
PVD_OFFSET = 16 * SECTOR


def _descriptor_sector(source):
    head = getattr(source, "head", b"")
    if len(head) >= PVD_OFFSET + SECTOR:
        return head[PVD_OFFSET:PVD_OFFSET + SECTOR]
    if not source.rereadable or source.size < PVD_OFFSET + SECTOR:
        return None
    return source.read(PVD_OFFSET, SECTOR)


def mastered_start(source):
    """The first sector the image was made for, or None when the source is
    no ISO 9660 image (or one whose descriptor does not say)."""
    known = getattr(source, "mastered_for", None)
    if known is not None:
        return known
    sector = _descriptor_sector(source)
    if sector is None:
        return None
    try:
        pvd = decode_volume_descriptor(sector)
    except FormatError:
        return None
    if pvd.type != TYPE_PRIMARY:
        return None
    return start_from_descriptor(pvd.volume_space_size, root_extent(pvd.root_record),
                                 -(-source.size // SECTOR))


def root_extent(root_record):
    """ECMA-119 §9.1.3: bytes 2-9 of a directory record, the extent's
    location, both-endian; the little-endian half."""
    return int.from_bytes(root_record[2:6], "little")


def start_from_descriptor(volume_space_size, root, sectors):
    """See the module text; None when the numbers fit neither form."""
    later = volume_space_size - sectors
    if later > 0 and later <= root < volume_space_size:
        return later
    if root < sectors:
        return 0
    return None
