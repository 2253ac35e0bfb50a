"""Apple Partition Map (Inside Macintosh: Devices, "The Partition Map";
docs/hybrid-boot.md).  All numbers are big endian.

Block 0 (driver descriptor) starts with "ER" and the block size (16 bit);
an isohybrid MBR keeps its boot code, so only its first 32 bytes become
ISOHYBRID_HEAD (libisofs' form: "ER", block size 2048, then x86 NOPs and
zeros; isohdpfx.bin starts with APM_READY_CODE so that this still runs).

Each further block holds one map entry:

    0  2  "PM"                      48 32  type ("Apple_HFS", ...)
    2  2  reserved                  80  4  first logical block (0)
    4  4  number of map entries     84  4  logical block count
    8  4  first physical block      88  4  status flags
   12  4  block count
   16 32  name
"""

import struct

SIGNATURE = b"PM"
# valid | allocated (the map's own entry)
FLAGS_MAP = 0x3
# valid | allocated | readable, and "automatic mount" for Apple_HFS (libisofs' choice)
FLAGS_DATA = 0x13
FLAG_AUTOMOUNT = 0x40000000
ISOHYBRID_HEAD = bytes.fromhex("4552080000009090") + bytes(24)
APM_READY_CODE = bytes.fromhex("33ed") + b"\x90" * 30


def encode_entry(map_entries, start, count, name, part_type, flags, block_size=2048):
    entry = (SIGNATURE + bytes(2) + struct.pack(">III", map_entries, start, count)
             + name.encode("ascii")[:32].ljust(32, b"\x00")
             + part_type.encode("ascii")[:32].ljust(32, b"\x00")
             + struct.pack(">III", 0, count, flags))
    return entry.ljust(block_size, b"\x00")


def data_flags(part_type):
    return FLAGS_DATA | (FLAG_AUTOMOUNT if part_type == "Apple_HFS" else 0)


def decode_entry(block):
    """(map entries, start, count, name, type) or None without "PM"."""
    if block[:2] != SIGNATURE:
        return None
    entries, start, count = struct.unpack_from(">III", block, 4)
    name = block[16:48].rstrip(b"\x00").decode("ascii", "replace")
    part_type = block[48:80].rstrip(b"\x00").decode("ascii", "replace")
    return entries, start, count, name, part_type
