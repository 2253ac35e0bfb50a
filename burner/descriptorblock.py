"""The descriptor block of a grown ISO volume on overwritable media.

Growing (DVD+RW, DVD-RW restricted overwrite, BD-RE, BD-R SRM+POW) writes
the new session behind the volume, then makes readers see it by putting its
volume descriptors at sector 16, where every reader starts (ECMA-119 §6.2.1,
§8).  Sectors 16-31 are one 32 KiB ECC block, which DVD-RW restricted
overwrite takes only whole, so the block is read back, the new descriptors
up to and including their terminator (ECMA-119 §8.3) put over its start,
and the whole block written again: whatever follows the descriptors there
-- on a disc whose first session starts at sector 0, that session's path
tables, directories and file data -- stays as it was (growisofs -M reads the
block back the same way).  Nothing behind a terminator is read as a
descriptor, so old descriptors left behind a shorter new set are harmless.

Before anything is written the replaced sectors are checked: where the new
set is longer than the one on the disc, it covers sectors that held the old
volume's content, and if any extent the new tree names (a file, directory,
path table or boot catalog/image) lies there the burn is refused -- the
new session would point at its own descriptors.  docs/burner-mmc.md
("Growing on overwritable media") has the comparison with growisofs and
xorriso.
"""

from isofuse.format import FormatError
from isofuse.format import descriptors as vd
from isofuse.format.dirrecord import decode_record, iter_records
from isofuse.format.eltorito import decode_catalog

from isofuse.format.sectors import sectors_for

from .drive import SECTOR
from .errors import SOURCE, BurnError

FIRST = 16                  # ECMA-119 §6.2.1: the volume descriptor set starts here
SECTORS = 16                # sectors 16-31: one 32 KiB ECC block
# libisofs' superblock checksum tags (libisofs doc/checksums.txt, as
# xorriso -md5 writes them) cover the descriptors before them: behind a
# new set they would be stale, so they go, as the zeros of a fresh copy.
STALE_TAGS = (b"libisofs_sb_checksum_tag_v1", b"libisofs_rlsb32_checksum_tag_v1")
MAX_DIRECTORIES = 1_000_000     # a bound on the walk of a damaged tree


def descriptor_count(block):
    """Sectors of the descriptor set at the start of ``block`` (sectors
    16-31), its terminator included (ECMA-119 §8.3)."""
    count = 0
    for pos in range(0, len(block) - SECTOR + 1, SECTOR):
        sector = block[pos:pos + SECTOR]
        if not vd.is_descriptor(sector):
            break
        count += 1
        if sector[0] == vd.TYPE_TERMINATOR:
            break
    return count


def merged_block(old_block, descriptors):
    """The block to write at 16: the new descriptors, then what the disc
    holds behind them (stale checksum tags cleared)."""
    size = SECTORS * SECTOR
    if len(descriptors) > size or len(descriptors) % SECTOR:
        raise BurnError("internal: the descriptor copy is not 1 to 16 whole sectors", SOURCE)
    old_block = old_block.ljust(size, b"\x00")[:size]
    out = bytearray(descriptors)
    for pos in range(len(descriptors), size, SECTOR):
        sector = old_block[pos:pos + SECTOR]
        out += bytes(SECTOR) if _is_checksum_tag(sector, FIRST + pos // SECTOR) else sector
    return bytes(out)


def _is_checksum_tag(sector, lba):
    """Whether ``sector`` is one of libisofs' superblock tags, recorded at
    ``lba``: a tag names its own sector (``NAME pos=LBA ...``), so file data
    that merely begins with a tag's name is never taken for one (and kept)."""
    return any(sector.startswith(b"%s pos=%d " % (name, lba)) for name in STALE_TAGS)


class FutureVolume:
    """The disc as it reads once the burn is done: the merged block at
    16-31, the new session from ``start`` on (the source), the disc's own
    sectors elsewhere (READ(10))."""

    def __init__(self, drive, source, start, block):
        self.drive, self.source, self.start, self.block = drive, source, start, block

    def read(self, lba, count):
        out = bytearray()
        for sector in range(lba, lba + count):
            out += self._sector(sector)
        return bytes(out)

    def _sector(self, lba):
        if FIRST <= lba < FIRST + SECTORS:
            pos = (lba - FIRST) * SECTOR
            return self.block[pos:pos + SECTOR]
        if lba >= self.start:
            offset = (lba - self.start) * SECTOR
            data = self.source.read(offset, SECTOR) if offset < self.source.size else b""
            return data.ljust(SECTOR, b"\x00")
        return bytes(self.drive.read(lba, 1)).ljust(SECTOR, b"\x00")


def tree_extents(volume, descriptors):
    """(what, first sector, sectors) of every extent the descriptor set
    ``descriptors`` names: path tables (ECMA-119 §8.4.14-17), directories
    and files (§9.1.3-4, every section of a multi-extent file), the El
    Torito catalog and boot images (El Torito §2.0, §2.2)."""
    for pos in range(0, len(descriptors) - SECTOR + 1, SECTOR):
        sector = descriptors[pos:pos + SECTOR]
        if sector[0] in (vd.TYPE_PRIMARY, vd.TYPE_SUPPLEMENTARY):
            yield from _volume_extents(volume, vd.decode_volume_descriptor(sector))
        elif sector[0] == vd.TYPE_BOOT_RECORD:
            yield from _boot_extents(volume, vd.decode_boot_record(sector))
        elif sector[0] == vd.TYPE_TERMINATOR:
            return


class TreeNotWalked(Exception):
    """The new volume's tree could not be walked to its end (a damaged
    tree, or more directories than MAX_DIRECTORIES)."""


def _volume_extents(volume, desc):
    table = sectors_for(desc.path_table_size)
    for where in (desc.l_path_table, desc.m_path_table):
        if where:
            yield "a path table", where, table
    root = decode_record(desc.root_record)
    pending, seen = [(b"", root)], set()
    while pending and len(seen) < MAX_DIRECTORIES:
        path, record = pending.pop()
        if record.data_start in seen:
            continue
        seen.add(record.data_start)
        yield "directory /" + path.decode("latin-1"), record.data_start, \
            sectors_for(record.data_length)
        data = volume.read(record.data_start, sectors_for(record.data_length))
        for entry in iter_records(data[:record.data_length]):
            if entry.is_self or entry.is_parent:
                continue
            name = path + (b"/" if path else b"") + entry.name
            if entry.is_directory:
                pending.append((name, entry))
            elif entry.data_length:
                yield "file /" + name.decode("latin-1"), entry.data_start, \
                    sectors_for(entry.data_length)
    if pending:
        # an unwalked rest could lie under the copy: no proof, no burn
        raise TreeNotWalked(f"more than {MAX_DIRECTORIES} directories")


def _boot_extents(volume, record):
    if not record.is_el_torito or not record.catalog_sector:
        return
    yield "the boot catalog", record.catalog_sector, 1
    try:
        catalog = decode_catalog(volume.read(record.catalog_sector, 1))
    except FormatError:
        return
    for entry in catalog.entries:
        if entry.load_rba:
            yield "a boot image", entry.load_rba, max(1, (entry.sector_count * 512
                                                          + SECTOR - 1) // SECTOR)


def check_replaced_sectors(volume, old_block, descriptors, device):
    """Refuse (before anything is written) a copy that would cover sectors
    the new tree still names.  Sectors that held the disc's own descriptor
    set can hold nothing else; only a longer new set needs the walk."""
    new, old = len(descriptors) // SECTOR, descriptor_count(old_block)
    if new <= old:
        return
    first, end = FIRST, FIRST + new
    try:
        extents = list(tree_extents(volume, descriptors))
    except TreeNotWalked as exc:
        raise BurnError(f"{device}: the new session's descriptors take sectors {first}-"
                        f"{end - 1}, more than the disc's own set, and its tree cannot be "
                        f"checked against them ({exc}); nothing was written", SOURCE) from None
    for what, start, count in extents:
        if start < end and start + count > first:
            raise BurnError(
                f"{device}: the new session's descriptors take sectors {first}-{end - 1} "
                f"(the disc's own set ends at {FIRST + old - 1}), but {what} of the grown "
                f"volume lies at sector {start}-{start + count - 1}: copying them would "
                "destroy it; nothing was written (grow it with no more descriptors than "
                "the disc has: leave out what the first session lacks, e.g. -J or the "
                "El Torito boot; or start a new disc)", SOURCE)
