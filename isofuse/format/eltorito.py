"""El Torito boot catalog (El Torito specification 1.0, §2).

The catalog is a sequence of 32-byte entries: a validation entry (§2.1), the
initial/default entry (§2.2), then optional section headers (§2.3) each
followed by its section entries (§2.4).
"""

import struct
from dataclasses import dataclass, field
from typing import List

from .errors import FormatError

ENTRY_SIZE = 32
HEADER_VALIDATION = 0x01
HEADER_MORE = 0x90
HEADER_LAST = 0x91
BOOTABLE = 0x88
MAX_ENTRIES = 64 * 1024 // ENTRY_SIZE  # bound the walk: a catalog is tiny

PLATFORMS = {0x00: "x86", 0x01: "PowerPC", 0x02: "Mac", 0xEF: "EFI"}
MEDIA_TYPES = {0: "no emulation", 1: "1.2M floppy", 2: "1.44M floppy",
               3: "2.88M floppy", 4: "hard disk"}


@dataclass
class BootEntry:
    platform: int
    bootable: bool
    media_type: int
    load_segment: int
    system_type: int
    sector_count: int   # in 512-byte virtual sectors
    load_rba: int       # 2048-byte sector of the boot image
    section_id: bytes = b""

    @property
    def platform_name(self):
        return PLATFORMS.get(self.platform, f"0x{self.platform:02x}")

    @property
    def media_name(self):
        return MEDIA_TYPES.get(self.media_type & 0x0F, f"type {self.media_type}")


@dataclass
class BootCatalog:
    platform: int
    id_string: str
    entries: List[BootEntry] = field(default_factory=list)


def _checksum_ok(entry):
    # §2.1: the 16-bit little-endian words of the validation entry sum to 0.
    words = struct.unpack("<16H", entry)
    return sum(words) & 0xFFFF == 0


def _boot_entry(raw, platform, section_id=b""):
    # §2.2 / §2.4: indicator, media, load segment, system type, unused,
    # sector count, load RBA.
    return BootEntry(platform=platform, bootable=raw[0] == BOOTABLE,
                     media_type=raw[1], load_segment=struct.unpack_from("<H", raw, 2)[0],
                     system_type=raw[4], sector_count=struct.unpack_from("<H", raw, 6)[0],
                     load_rba=struct.unpack_from("<I", raw, 8)[0], section_id=section_id)


def decode_catalog(data):
    """Decode a boot catalog from the bytes of its sector(s)."""
    if len(data) < 2 * ENTRY_SIZE:
        raise FormatError("boot catalog truncated")
    validation = bytes(data[0:ENTRY_SIZE])
    if validation[0] != HEADER_VALIDATION or validation[30:32] != b"\x55\xaa":
        raise FormatError("boot catalog has no validation entry")
    if not _checksum_ok(validation):
        raise FormatError("boot catalog validation checksum is wrong")
    platform = validation[1]
    catalog = BootCatalog(platform=platform,
                          id_string=validation[4:28].rstrip(b"\x00 ").decode("latin-1"))
    catalog.entries.append(_boot_entry(data[ENTRY_SIZE:2 * ENTRY_SIZE], platform))
    pos = 2 * ENTRY_SIZE
    limit = min(len(data), MAX_ENTRIES * ENTRY_SIZE)
    while pos + ENTRY_SIZE <= limit:
        header = data[pos:pos + ENTRY_SIZE]
        if header[0] not in (HEADER_MORE, HEADER_LAST):
            break
        section_platform = header[1]
        count = struct.unpack_from("<H", header, 2)[0]
        section_id = bytes(header[4:32]).rstrip(b"\x00")
        pos += ENTRY_SIZE
        for _ in range(count):
            if pos + ENTRY_SIZE > limit:
                break
            raw = data[pos:pos + ENTRY_SIZE]
            pos += ENTRY_SIZE
            if raw[0] == 0x44:
                continue  # §2.5 section entry extension: nothing we need
            catalog.entries.append(_boot_entry(raw, section_platform, section_id))
        if header[0] == HEADER_LAST:
            break
    return catalog


# ---- encoders ----------------------------------------------------------------------------

def _entry_bytes(entry):
    return struct.pack("<BBHBBHI20x", BOOTABLE if entry.bootable else 0, entry.media_type,
                       entry.load_segment, entry.system_type, 0, entry.sector_count,
                       entry.load_rba)


def encode_catalog(entries, id_string=b""):
    """A catalog sector: validation entry for the first entry's platform,
    the default entry, then one section per further platform (0x91 last)."""
    if not entries:
        raise FormatError("a boot catalog needs at least one entry")
    first = entries[0]
    validation = bytearray(struct.pack("<BBH24sH", HEADER_VALIDATION, first.platform, 0,
                                       id_string[:24].ljust(24, b"\x00"), 0) + b"\x55\xaa")
    words = struct.unpack("<16H", bytes(validation))
    checksum = (-sum(words)) & 0xFFFF
    validation[28:30] = struct.pack("<H", checksum)
    out = bytearray(validation) + _entry_bytes(first)
    rest = entries[1:]
    sections = []
    for entry in rest:
        if sections and sections[-1][0] == entry.platform:
            sections[-1][1].append(entry)
        else:
            sections.append((entry.platform, [entry]))
    for i, (platform, group) in enumerate(sections):
        header = HEADER_LAST if i == len(sections) - 1 else HEADER_MORE
        out += struct.pack("<BBH28s", header, platform, len(group), b"")
        for entry in group:
            out += _entry_bytes(entry)
    if len(out) > 2048:
        raise FormatError("too many boot entries for one catalog sector")
    return bytes(out.ljust(2048, b"\x00"))
