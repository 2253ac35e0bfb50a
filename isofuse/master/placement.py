"""Where the system area and the volume descriptors go, for given options.

ECMA-119 §6.2.1: sectors 0-15 of a volume are the system area; the volume
descriptor set starts at sector 16 (§8: the primary descriptor first, the
terminator last).  What sits in between, and right after the terminator,
depends on the options alone: the El Torito boot record (El Torito §2.0,
with its catalog after the set), the Joliet supplementary descriptor, the
ISO 9660:1999 enhanced descriptor, the MD5 superblock tag (--md5) and, with
-partition_offset, a second descriptor set at the partition's sector 16.
Both the layout and the size model (sizing.py) count the sectors here.
"""

from ..format.descriptors import FIRST_DESCRIPTOR_SECTOR
from .planner import LayoutError

SYSTEM_AREA_SECTORS = FIRST_DESCRIPTOR_SECTOR     # §6.2.1: the set starts right after


class DescriptorPlacement:
    """The sectors of one session's descriptors (None: not recorded);
    ``end`` is the first sector after them."""

    __slots__ = ("pvd", "boot_record", "joliet_svd", "evd", "terminator", "superblock_tag",
                 "catalog", "partition_descriptors", "end")

    def __init__(self):
        self.pvd = self.terminator = self.end = 0
        self.boot_record = self.joliet_svd = self.evd = None
        self.superblock_tag = self.catalog = None
        # -partition_offset: (pvd, joliet svd, evd, terminator) of the partition
        self.partition_descriptors = None


def place_descriptors(options, session_start=0):
    """The descriptors of a session starting at ``session_start``, after
    its 16 sectors of system area."""
    place = DescriptorPlacement()
    (place.pvd, place.boot_record, place.joliet_svd, place.evd, place.terminator), sector = \
        _descriptor_set(options, session_start + SYSTEM_AREA_SECTORS, options.boot)
    if options.md5:
        place.superblock_tag, sector = sector, sector + 1   # right after the terminator
    if options.boot:
        place.catalog, sector = sector, sector + 1
    if options.partition_offset:
        place.partition_descriptors, sector = _partition_descriptors(options, sector)
    place.end = sector
    return place


def _partition_descriptors(options, sector):
    """-partition_offset P: the partition starting at sector P gets its
    own descriptor set at its sector 16 (P + 16), as libisofs writes it."""
    offset = options.partition_offset
    if offset < SYSTEM_AREA_SECTORS:
        raise LayoutError(f"-partition_offset {offset}: it must be 0 or at least 16")
    if options.md5:
        raise LayoutError("--md5 with -partition_offset is not supported yet")
    first = SYSTEM_AREA_SECTORS + offset
    if sector > first:
        raise LayoutError(f"-partition_offset {offset} is too small: the volume "
                          f"descriptors reach sector {sector}")
    (pvd, _, joliet_svd, evd, terminator), sector = _descriptor_set(options, first, False)
    return (pvd, joliet_svd, evd, terminator), sector


def _descriptor_set(options, sector, boot):
    """(primary, boot record, Joliet, enhanced, terminator) placed from
    ``sector`` on in the order ECMA-119 §8 and xorrisofs write them (None:
    not recorded), and the sector after the terminator."""
    pvd, sector = sector, sector + 1
    boot_record = joliet_svd = evd = None
    if boot:
        boot_record, sector = sector, sector + 1
    if options.joliet:
        joliet_svd, sector = sector, sector + 1
    if options.enhanced:
        evd, sector = sector, sector + 1
    return (pvd, boot_record, joliet_svd, evd, sector), sector + 1
