"""Partitions appended behind the ISO image (xorrisofs -append_partition N
TYPE FILE), and the GPT that -appended_part_as_gpt describes them with.

Where they go (as xorriso 1.5.4 places them; docs/hybrid-boot.md): right
after the ISO file system, in partition number order, each taking its
file's size in whole 2048-byte sectors (not aligned to cylinders, even
with an isohybrid MBR: only the ISO's end is).  The -pad padding then follows
the last partition (it is no longer part of the ISO's volume space), and
with -appended_part_as_gpt the GPT's backup ends the image.

TYPE is an MBR type byte (0xNN) or a GPT type GUID (8-4-4-4-12 text, or
32 hex digits in stored byte order).  A byte 0xEF means the EFI System
GUID in a GPT, any other byte Basic Data; a GUID means MBR type 0xEF for
the EFI System GUID, else 0x83.
"""

import os
from dataclasses import dataclass
from typing import List, Optional

from ..format import gpt, mbr

from ..format.sectors import SECTOR, sectors_for
BLOCKS_PER_SECTOR = SECTOR // mbr.SECTOR
MAX_PARTITIONS = 4
EFI_MBR_TYPE = 0xEF
LINUX_MBR_TYPE = 0x83


class PartitionError(Exception):
    """An appended partition cannot be made (the message says why)."""


@dataclass
class AppendedPartition:
    number: int
    mbr_type: int
    gpt_type: bytes
    path: str
    size: int                       # bytes of the file
    start: Optional[int] = None     # 2048-byte sector in the image
    sectors: int = 0                # its room, rounded as placed


def parse_type(text):
    """(MBR type byte, GPT type GUID bytes) of a -append_partition TYPE."""
    text = str(text).strip()
    if "-" in text or len(text) == 32:
        try:
            guid = gpt.guid_from_text(text)
        except ValueError:
            raise PartitionError(f"not a partition type: {text}") from None
        return (EFI_MBR_TYPE if guid == gpt.EFI_SYSTEM else LINUX_MBR_TYPE), guid
    try:
        byte = mbr.parse_type(text)
    except ValueError:
        raise PartitionError(f"not a partition type: {text} (0xNN or a GPT type GUID)") \
            from None
    return byte, (gpt.EFI_SYSTEM if byte == EFI_MBR_TYPE else gpt.BASIC_DATA)


def _file_size(option, path):
    """The size of a non-empty regular file, or PartitionError naming ``option``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise PartitionError(f"{option}: cannot read {path}: {exc.strerror}") from None
    if not os.path.isfile(path) or st.st_size == 0:
        raise PartitionError(f"{option}: {path} is not a non-empty file")
    return st.st_size


def parse_partitions(specs) -> List[AppendedPartition]:
    """The (number, type, path) triples, checked, in number order."""
    parts = {}
    for number, type_text, path in specs:
        number = int(number)
        if not 1 <= number <= MAX_PARTITIONS:
            raise PartitionError(f"-append_partition: partition number {number} is not 1-4")
        if number in parts:
            raise PartitionError(f"-append_partition: partition {number} given twice")
        size = _file_size("-append_partition", path)
        mbr_type, gpt_type = parse_type(type_text)
        parts[number] = AppendedPartition(number, mbr_type, gpt_type, path, size)
    return [parts[n] for n in sorted(parts)]


def prepended_partition(path):
    """-efi-boot-part DISKFILE as a partition of EFI System type (placed
    later, in front of the ISO's file data; it has no MBR slot)."""
    return AppendedPartition(0, EFI_MBR_TYPE, gpt.EFI_SYSTEM, path,
                             _file_size("-efi-boot-part", path))


def place(partitions, sector):
    """Give each partition its start from ``sector`` on, one after the
    other in whole sectors; returns the sector after the last."""
    for part in partitions:
        part.sectors = sectors_for(part.size)
        part.start = sector
        sector += part.sectors
    return sector


def mbr_entries(partitions, heads, sectors):
    """{slot number: 16-byte MBR entry} of the appended partitions."""
    return {part.number: mbr.encode_entry(0, part.mbr_type, part.start * BLOCKS_PER_SECTOR,
                                          part.sectors * BLOCKS_PER_SECTOR, heads, sectors)
            for part in partitions}


def gpt_requests(partitions):
    """[(start, blocks, type, flags, name)] of the appended partitions as
    GPT entries (libisofs: "AppendedN", flags 0), for gap_filled."""
    return [(part.start * BLOCKS_PER_SECTOR, part.sectors * BLOCKS_PER_SECTOR,
             part.gpt_type, 0, f"Appended{part.number}") for part in partitions]


def gap_filled(requests, first_usable, backup_start):
    """[(type, first, last, flags, name)]: the requested (start, blocks,
    type, flags, name) partitions in start order, the room before, between
    and after them filled with "GapN" Basic Data entries (libisofs
    iso_write_gpt; 512-byte blocks, ``backup_start`` the first block of
    the backup entry array)."""
    out, gap, position = [], 0, first_usable
    for start, blocks, type_guid, flags, name in sorted(requests, key=lambda r: r[0]):
        if position < start:
            out.append((gpt.BASIC_DATA, position, start - 1, gpt.READ_ONLY_REQUIRED,
                        f"Gap{gap}"))
            gap += 1
        end = min(start + blocks, backup_start)
        out.append((type_guid, start, end - 1, flags, name))
        position = max(position, start + blocks)
    if position < backup_start:
        out.append((gpt.BASIC_DATA, position, backup_start - 1, gpt.READ_ONLY_REQUIRED,
                    f"Gap{gap}"))
    return out
