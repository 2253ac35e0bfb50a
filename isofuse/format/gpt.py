"""GUID Partition Table (UEFI 2.x specification §5.3; docs/hybrid-boot.md).

Header (92 bytes in a 512-byte sector, all little endian):

    0  8  signature "EFI PART"        40  8  first usable LBA
    8  4  revision 0x00010000         48  8  last usable LBA
   12  4  header size 92              56 16  disk GUID
   16  4  CRC-32 of the header        72  8  partition entry array LBA
   20  4  reserved 0                  80  4  number of entries
   24  8  this header's LBA           84  4  size of an entry (128)
   32  8  the other header's LBA      88  4  CRC-32 of the entry array

Entry (128 bytes): type GUID (16), partition GUID (16), first LBA (8),
last LBA (8, inclusive), attribute flags (8), name (72 bytes UTF-16LE).

A GUID is stored with its first three fields little endian (§Appendix A):
the text C12A7328-F81F-11D2-BA4B-00A0C93EC93B is stored as
28 73 2a c1 1f f8 d2 11 ba 4b 00 a0 c9 3e c9 3b.  The CRC is CRC-32 as
Ethernet and zlib compute it.
"""

import struct
import zlib

SIGNATURE = b"EFI PART"
REVISION = 0x00010000
HEADER_SIZE = 92
ENTRY_SIZE = 128
SECTOR = 512
_HEADER = struct.Struct("<8sIIIIQQQQ16sQIII")

BASIC_DATA = bytes.fromhex("a2a0d0ebe5b9334487c068b6b72699c7")   # EBD0A0A2-B9E5-4433-...
EFI_SYSTEM = bytes.fromhex("28732ac11ff8d211ba4b00a0c93ec93b")   # C12A7328-F81F-11D2-...
HFS_PLUS = bytes.fromhex("005346480000aa11aa1100306543ecac")     # 48465300-0000-11AA-...
# libisofs' flags for its ISO and boot image partitions: bit 60 (read-only,
# Microsoft basic data) and bit 0 (required by the platform)
READ_ONLY_REQUIRED = (1 << 60) | 1


def crc32(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def guid_from_text(text):
    """The 16 stored bytes of a GUID given as 8-4-4-4-12 text, or as the
    32 hex digits of the stored bytes (xorrisofs takes both)."""
    digits = text.replace("-", "")
    if len(digits) != 32:
        raise ValueError(f"not a GUID: {text}")
    raw = bytes.fromhex(digits)
    if "-" not in text:
        return raw
    return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]


def guid_text(stored):
    """8-4-4-4-12 text of 16 stored bytes."""
    canonical = stored[3::-1] + stored[5:3:-1] + stored[7:5:-1] + stored[8:]
    h = canonical.hex().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utf16_name(text):
    return text.encode("utf-16-le")[:72].ljust(72, b"\x00")


def encode_entry(type_guid, partition_guid, first_lba, last_lba, flags, name):
    return (type_guid + partition_guid + struct.pack("<QQQ", first_lba, last_lba, flags)
            + utf16_name(name))


def encode_header(my_lba, other_lba, first_usable, last_usable, disk_guid, entries_lba,
                  entry_count, entries_crc):
    """The 512-byte header sector, its CRC filled in."""
    fields = [SIGNATURE, REVISION, HEADER_SIZE, 0, 0, my_lba, other_lba, first_usable,
              last_usable, disk_guid, entries_lba, entry_count, ENTRY_SIZE, entries_crc]
    header = _HEADER.pack(*fields)
    fields[3] = crc32(header)
    return _HEADER.pack(*fields).ljust(SECTOR, b"\x00")


def decode_header(sector):
    """dict of a header sector's fields (None without the signature)."""
    if sector[:8] != SIGNATURE:
        return None
    names = ("signature", "revision", "header_size", "crc", "reserved", "my_lba",
             "other_lba", "first_usable", "last_usable", "disk_guid", "entries_lba",
             "entry_count", "entry_size", "entries_crc")
    return dict(zip(names, _HEADER.unpack_from(sector)))


def decode_entry(raw):
    """(type GUID, partition GUID, first, last, flags, name) of an entry."""
    first, last, flags = struct.unpack_from("<QQQ", raw, 32)
    name = raw[56:128].decode("utf-16-le", "replace").rstrip("\x00")
    return raw[:16], raw[16:32], first, last, flags, name
