"""Volume descriptors (ECMA-119 §8).

One 2048-byte sector each, starting at sector 16 of a session: boot record
(type 0, §8.2), primary (type 1, §8.4), supplementary / enhanced (type 2,
§8.5; Joliet is a supplementary descriptor with a UCS-2 escape sequence; the
ISO 9660:1999 enhanced descriptor is type 2 with version 2), partition (type
3, ignored) and the set terminator (type 255, §8.3).
"""

from dataclasses import dataclass, field
from typing import Optional

from . import numbers
from .dates import decode_text_date
from .errors import FormatError
from .sectors import SECTOR

SECTOR_SIZE = SECTOR         # §6.1.2; the logical block size a descriptor must give
FIRST_DESCRIPTOR_SECTOR = 16
STANDARD_ID = b"CD001"

TYPE_BOOT_RECORD = 0
TYPE_PRIMARY = 1
TYPE_SUPPLEMENTARY = 2
TYPE_PARTITION = 3
TYPE_TERMINATOR = 255

ELTORITO_SYSTEM_ID = b"EL TORITO SPECIFICATION"

# Joliet: escape sequences (§8.5.6) for UCS-2 levels 1, 2 and 3.
JOLIET_ESCAPES = {b"%/@": 1, b"%/C": 2, b"%/E": 3}


def is_descriptor(sector):
    """True when a sector carries the "CD001" standard identifier (§8.1.2)."""
    return len(sector) >= 7 and sector[1:6] == STANDARD_ID


@dataclass
class BootRecord:
    """§8.2; for El Torito the catalog sector is at byte 71 (El Torito §2.0)."""
    system_id: bytes
    boot_id: bytes
    catalog_sector: Optional[int]

    @property
    def is_el_torito(self):
        return self.system_id.rstrip(b"\x00") == ELTORITO_SYSTEM_ID


@dataclass
class VolumeDescriptor:
    """A primary (§8.4) or supplementary/enhanced (§8.5) volume descriptor."""
    type: int
    version: int
    flags: int
    system_id: str
    volume_id: str
    volume_space_size: int
    escape_sequences: bytes
    volume_set_size: int
    volume_sequence_number: int
    logical_block_size: int
    path_table_size: int
    l_path_table: int
    m_path_table: int
    root_record: bytes
    volume_set_id: str
    publisher_id: str
    preparer_id: str
    application_id: str
    copyright_file_id: str
    abstract_file_id: str
    bibliographic_file_id: str
    creation_time: Optional[tuple]
    modification_time: Optional[tuple]
    expiration_time: Optional[tuple]
    effective_time: Optional[tuple]
    file_structure_version: int
    mismatches: list = field(default_factory=list)

    @property
    def joliet_level(self):
        """1..3 for a Joliet SVD, 0 otherwise (§8.5.6 escape sequences)."""
        if self.type != TYPE_SUPPLEMENTARY or self.version != 1:
            return 0
        for escape, level in JOLIET_ESCAPES.items():
            if escape in self.escape_sequences:
                return level
        return 0

    @property
    def is_enhanced(self):
        """ISO 9660:1999 enhanced volume descriptor: type 2, version 2."""
        return self.type == TYPE_SUPPLEMENTARY and self.version == 2


def _text(raw, ucs2=False):
    if ucs2:
        # Joliet descriptors hold UCS-2 BE identifiers; odd trailing bytes and
        # unpaired surrogates must not crash us.
        usable = raw[: len(raw) // 2 * 2]
        return usable.decode("utf-16-be", "replace").rstrip(" \x00")
    return raw.decode("latin-1").rstrip(" \x00")


def decode_volume_descriptor(sector):
    """Decode a type 1 or type 2 descriptor sector (§8.4 / §8.5)."""
    if len(sector) < SECTOR_SIZE:
        raise FormatError("volume descriptor shorter than a sector")
    if not is_descriptor(sector):
        raise FormatError("no CD001 standard identifier")
    vd_type = sector[0]
    if vd_type not in (TYPE_PRIMARY, TYPE_SUPPLEMENTARY):
        raise FormatError(f"descriptor type {vd_type} is not primary/supplementary")
    mismatches = []

    def both(decoder, offset, name):
        return decoder(sector, offset,
                       on_mismatch=lambda f, lo, hi: mismatches.append((f, lo, hi)),
                       field=name)

    escapes = bytes(sector[88:120])
    ucs2 = vd_type == TYPE_SUPPLEMENTARY and any(e in escapes for e in JOLIET_ESCAPES)
    block_size = both(numbers.u723, 128, "logical block size")
    if block_size != SECTOR_SIZE:
        # §6.1.2 allows 512/1024, but no writer of optical media uses them and
        # neither does the kernel's isofs on CD/DVD; refuse clearly.
        raise FormatError(f"logical block size {block_size} is not 2048")
    return VolumeDescriptor(
        type=vd_type,
        version=sector[6],
        flags=sector[7],
        system_id=_text(sector[8:40], ucs2),                       # §8.4.5
        volume_id=_text(sector[40:72], ucs2),                      # §8.4.6
        volume_space_size=both(numbers.u733, 80, "volume space size"),  # §8.4.8
        escape_sequences=escapes,                                  # §8.5.6
        volume_set_size=both(numbers.u723, 120, "volume set size"),
        volume_sequence_number=both(numbers.u723, 124, "volume sequence number"),
        logical_block_size=block_size,                             # §8.4.12
        path_table_size=both(numbers.u733, 132, "path table size"),
        l_path_table=numbers.u731(sector, 140),                    # §8.4.14
        m_path_table=numbers.u732(sector, 148),                    # §8.4.16
        root_record=bytes(sector[156:190]),                        # §8.4.18
        volume_set_id=_text(sector[190:318], ucs2),
        publisher_id=_text(sector[318:446], ucs2),
        preparer_id=_text(sector[446:574], ucs2),
        application_id=_text(sector[574:702], ucs2),
        copyright_file_id=_text(sector[702:739], ucs2),
        abstract_file_id=_text(sector[739:776], ucs2),
        bibliographic_file_id=_text(sector[776:813], ucs2),
        creation_time=decode_text_date(sector[813:830]),           # §8.4.26
        modification_time=decode_text_date(sector[830:847]),       # §8.4.27
        expiration_time=decode_text_date(sector[847:864]),         # §8.4.28
        effective_time=decode_text_date(sector[864:881]),          # §8.4.29
        file_structure_version=sector[881],
        mismatches=mismatches,
    )


def decode_boot_record(sector):
    """§8.2 boot record; El Torito puts the catalog's sector (731) at byte 71."""
    if not is_descriptor(sector) or sector[0] != TYPE_BOOT_RECORD:
        raise FormatError("not a boot record descriptor")
    system_id = bytes(sector[7:39])
    catalog = None
    if system_id.rstrip(b"\x00") == ELTORITO_SYSTEM_ID:
        catalog = numbers.u731(sector, 71)
    return BootRecord(system_id=system_id, boot_id=bytes(sector[39:71]),
                      catalog_sector=catalog)


# ---- encoders ------------------------------------------------------------------------------

def _field(text, size, ucs2=False, filler=b" "):
    raw = text.encode("utf-16-be") if ucs2 else text.encode("latin-1", "replace")
    if ucs2 and len(raw) > size:
        raw = raw[:size - size % 2]
    raw = raw[:size]
    if ucs2:
        # UCS-2 fields are padded with UCS-2 spaces (00 20).
        pad = size - len(raw)
        return raw + b"\x00\x20" * (pad // 2) + b"\x00" * (pad % 2)
    return raw + filler * (size - len(raw))


def encode_volume_descriptor(vd_type, version, *, system_id, volume_id, volume_space_size,
                             path_table_size, l_path_table, m_path_table, root_record,
                             volume_set_id="", publisher_id="", preparer_id="",
                             application_id="", copyright_file_id="", abstract_file_id="",
                             bibliographic_file_id="", created=None, modified=None,
                             expires=None, effective=None, escape_sequences=b"",
                             file_structure_version=1, literal_date=None):
    """A primary (§8.4) or supplementary/enhanced (§8.5) descriptor sector.
    ``literal_date``: 16 ASCII digits YYYYMMDDhhmmsscc taken as they are for
    the creation and modification dates (§8.4.26.1, hundredths included;
    the GMT offset byte stays 0), as xorrisofs --modification-date writes."""
    from .dates import encode_text_date
    from .numbers import pack_723, pack_731, pack_732, pack_733
    ucs2 = bool(escape_sequences)
    sector = bytearray(SECTOR_SIZE)
    sector[0] = vd_type
    sector[1:6] = STANDARD_ID
    sector[6] = version
    sector[8:40] = _field(system_id, 32, ucs2)
    sector[40:72] = _field(volume_id, 32, ucs2)
    sector[80:88] = pack_733(volume_space_size)
    sector[88:120] = escape_sequences.ljust(32, b"\x00")
    sector[120:124] = pack_723(1)                  # volume set size
    sector[124:128] = pack_723(1)                  # volume sequence number
    sector[128:132] = pack_723(SECTOR_SIZE)
    sector[132:140] = pack_733(path_table_size)
    sector[140:144] = pack_731(l_path_table)
    sector[148:152] = pack_732(m_path_table)
    sector[156:190] = root_record
    sector[190:318] = _field(volume_set_id, 128, ucs2)
    sector[318:446] = _field(publisher_id, 128, ucs2)
    sector[446:574] = _field(preparer_id, 128, ucs2)
    sector[574:702] = _field(application_id, 128, ucs2)
    sector[702:739] = _field(copyright_file_id, 37, ucs2)
    sector[739:776] = _field(abstract_file_id, 37, ucs2)
    sector[776:813] = _field(bibliographic_file_id, 37, ucs2)
    sector[813:830] = encode_text_date(created)
    sector[830:847] = encode_text_date(modified)
    sector[847:864] = encode_text_date(expires)
    sector[864:881] = encode_text_date(effective)
    if literal_date is not None:
        if len(literal_date) != 16:
            raise FormatError(f"a literal volume date has 16 digits, not {literal_date!r}")
        sector[813:829] = sector[830:846] = literal_date
    sector[881] = file_structure_version
    return bytes(sector)


def encode_boot_record(catalog_sector):
    """§8.2 boot record for El Torito (El Torito §2.0)."""
    from .numbers import pack_731
    sector = bytearray(SECTOR_SIZE)
    sector[0] = TYPE_BOOT_RECORD
    sector[1:6] = STANDARD_ID
    sector[6] = 1
    sector[7:7 + len(ELTORITO_SYSTEM_ID)] = ELTORITO_SYSTEM_ID
    sector[71:75] = pack_731(catalog_sector)
    return bytes(sector)


def encode_terminator():
    """§8.3 volume descriptor set terminator."""
    sector = bytearray(SECTOR_SIZE)
    sector[0] = TYPE_TERMINATOR
    sector[1:6] = STANDARD_ID
    sector[6] = 1
    return bytes(sector)
