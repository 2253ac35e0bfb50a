"""The PC Master Boot Record: the first 512 bytes of a disk (docs/hybrid-boot.md).

    0 - 439   boot code (isohdpfx.bin / GRUB's boot_hybrid.img fill 0-431;
              432-439 then hold the 512-byte LBA of the boot image, 64 bit LE)
  440 - 443   disk signature (MBR id), little endian
  444 - 445   zero
  446 - 509   four partition entries of 16 bytes
  510 - 511   0x55 0xAA

A partition entry: status (0x80 bootable, 0x00 not), CHS of the first
sector (3 bytes), type, CHS of the last sector (3 bytes), first LBA (32 bit
LE), number of sectors (32 bit LE).  Sectors are 512 bytes.  CHS packs
head, sector | (cylinder bits 8-9) << 6, cylinder bits 0-7.
"""

import struct

SECTOR = 512
ENTRY_SIZE = 16
TABLE_OFFSET = 446
BOOT_LBA_OFFSET = 432
DISK_ID_OFFSET = 440
SIGNATURE = b"\x55\xaa"
MAX_CYLINDERS = 1024
BOOTABLE = 0x80


def chs(lba, heads, sectors, *, capped_head=None):
    """The 3 CHS bytes of 512-byte sector ``lba`` with ``heads`` heads and
    ``sectors`` sectors per head.  Addresses beyond 1024 cylinders get the
    largest address (1023, ``capped_head`` or heads-1, sectors), as
    libisofs writes them."""
    cylinder, rest = divmod(lba, heads * sectors)
    head, sector = divmod(rest, sectors)
    sector += 1                          # sectors count from 1
    if cylinder >= MAX_CYLINDERS:
        cylinder = MAX_CYLINDERS - 1
        head = heads - 1 if capped_head is None else capped_head
        sector = sectors
    return bytes((head, sector | ((cylinder & 0x300) >> 2), cylinder & 0xFF))


def encode_entry(status, part_type, start, count, heads, sectors, start_chs=None,
                 end_chs=None):
    """One 16-byte partition entry (start and count in 512-byte sectors)."""
    if start_chs is None:
        start_chs = chs(start, heads, sectors)
    if end_chs is None:
        end_chs = chs(start + count - 1, heads, sectors)
    return (bytes((status,)) + start_chs + bytes((part_type,)) + end_chs
            + struct.pack("<II", start & 0xFFFFFFFF, min(count, 0xFFFFFFFF)))


def decode_entry(raw):
    """(status, type, start, count) of a 16-byte entry."""
    start, count = struct.unpack_from("<II", raw, 8)
    return raw[0], raw[4], start, count


def decode_table(sector0):
    """The four entries of an MBR as (status, type, start, count)."""
    return [decode_entry(sector0[TABLE_OFFSET + i * ENTRY_SIZE:
                                 TABLE_OFFSET + (i + 1) * ENTRY_SIZE]) for i in range(4)]


def put_table(area, entries):
    """Write up to four 16-byte entries (None: an empty slot) and the
    signature into ``area`` (a bytearray holding sector 0)."""
    for slot in range(4):
        entry = entries[slot] if slot < len(entries) else None
        start = TABLE_OFFSET + slot * ENTRY_SIZE
        area[start:start + ENTRY_SIZE] = entry if entry is not None else bytes(ENTRY_SIZE)
    area[510:512] = SIGNATURE


def put_boot_lba(area, lba512):
    """Bytes 432-439: the 64-bit LBA the boot code loads (isohdpfx.bin,
    GRUB's boot_hybrid.img read it there)."""
    area[BOOT_LBA_OFFSET:BOOT_LBA_OFFSET + 8] = struct.pack("<Q", lba512)


def put_disk_id(area, disk_id):
    area[DISK_ID_OFFSET:DISK_ID_OFFSET + 6] = struct.pack("<IH", disk_id, 0)


def parse_type(text):
    """An MBR partition type as xorrisofs takes it: 0xNN or decimal."""
    value = int(text, 16) if text.lower().startswith("0x") else int(text)
    if not 0 <= value <= 0xFF:
        raise ValueError(f"MBR partition type out of range: {text}")
    return value
