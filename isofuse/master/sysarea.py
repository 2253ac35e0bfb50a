"""The system area (sectors 0-15) of a hybrid image, as xorrisofs makes it.

``-isohybrid-mbr FILE`` (isohdpfx.bin): the file's first 432 bytes, the
512-byte address of the first El Torito image at 432, a disk id, and a
partition table whose first entry covers the whole image, so the same
image boots from a USB stick (the BIOS runs the MBR, which loads
isolinux.bin from the disk).  Images marked ``-isohybrid-gpt-basdat`` add a
GPT (the ISO and each marked image as partitions, the marked images also as
MBR entries of type 0xEF, which is what UEFI firmware boots from), images
marked ``-isohybrid-apm-hfsplus`` an Apple Partition Map.  The image is
padded to whole cylinders (the geometry libisofs chooses) and the GPT's
backup takes its last sectors.  ``--grub2-mbr FILE`` (GRUB's
boot_hybrid.img) puts a file in the system area and patches the boot
image's address into it; ``-G FILE`` copies a file there as it is.  Appended partitions
(appended.py) may also hold an El Torito image (``-e
--interval:appended_partition_N:all::``), and ``-efi-boot-part DISKFILE``
puts a file's data in front of the ISO's file data as the GPT's EFI
system partition.

Every byte layout and where it comes from: docs/hybrid-boot.md.  Planning
happens in two steps, because the table needs the boot images' sectors:
``settle`` fixes the image size once the file data has its place,
``encode`` makes the bytes.
"""

import re
import time
import zlib
from dataclasses import dataclass
from typing import List

from ..format import apm, gpt, mbr
from . import appended

from ..format.sectors import SECTOR, sectors_for, round_up
SYSTEM_AREA_BYTES = 16 * SECTOR
BLOCKS_PER_SECTOR = SECTOR // mbr.SECTOR
DEFAULT_HEADS, DEFAULT_SECTORS = 64, 32
GRUB2_MBR_ADDRESS_OFFSET = 4     # boot_hybrid.img loads the image from its 5th block
ISOHYBRID_TYPE = 0x17            # the type isohybrid gives the ISO partition
EFI_BOOT_IMAGE = "--efi-boot-image"  # -efi-boot-part's "the El Torito EFI image"
# xorrisofs' interval reader naming an appended partition as a boot image:
# --interval:appended_partition_N:all:: (or ":::": the interval left empty
# means all of it too); no zeroizers, no source
PARTITION_INTERVAL = re.compile(r"--interval:appended_partition_(\d+):(all)?::$")
MAX_ENTRY_BLOCKS = 0xFFFFFFFF


class SystemAreaError(Exception):
    """The hybrid options cannot be met (the message says why)."""


@dataclass
class BootImage:
    """An El Torito image as the system area sees it."""
    sector: int
    size: int
    gpt_basdat: bool = False
    apm_hfsplus: bool = False
    efi: bool = False                 # platform 0xEF (-efi-boot-part --efi-boot-image)


def wanted(options):
    return bool(options.hybrid_mbr or options.grub2_mbr or options.system_area_file
                or options.append_partitions or options.efi_boot_part
                or options.partition_offset)


def unsupported(options):
    """The message for hybrid options this engine does not make, or None."""
    if options.efi_boot_part and options.hybrid_mbr:
        return ("-efi-boot-part with -isohybrid-mbr asks for overlapping MBR partitions "
                "(xorrisofs fails on it too)")
    if sum(1 for f in (options.hybrid_mbr, options.grub2_mbr, options.system_area_file)
           if f) > 1:
        return "only one of -isohybrid-mbr, --grub2-mbr and -G can fill the system area"
    return None


def appended_partition_of(image_path):
    """The partition number N of a boot image given as xorrisofs'
    ``--interval:appended_partition_N:all::`` (the El Torito image is
    appended partition N), else None."""
    match = PARTITION_INTERVAL.match(image_path)
    return int(match.group(1)) if match else None


def read_template(path):
    """The first 32 KiB of a system area file (zeros after a short file)."""
    try:
        with open(path, "rb") as f:
            data = f.read(SYSTEM_AREA_BYTES)
    except OSError as exc:
        raise SystemAreaError(f"cannot read {path}: {exc.strerror}") from None
    return data.ljust(SYSTEM_AREA_BYTES, b"\x00")


def volume_uuid(options, volume_time):
    """libisofs' "volume uuid": the 16 digits of the modification date
    (YYYYMMDDhhmmsscc, UTC), from which it derives the MBR id and, with
    SOURCE_DATE_EPOCH, the GPT GUIDs."""
    if options.modification_date:
        return options.modification_date[:16].encode("ascii")
    return (time.strftime("%Y%m%d%H%M%S", time.gmtime(volume_time)) + "00").encode("ascii")


def guid_from_uuid(uuid, counter):
    """xorriso's deterministic GUID (SOURCE_DATE_EPOCH): the volume uuid's
    bytes marked as a version 4 UUID, bytes 9-15 rotated by two, byte 9
    xor ``counter`` (0 the disk, 1.. the partitions in table order)."""
    u = bytearray(uuid)
    u[7] = (u[7] & 0x0F) | 0x40
    u[8] = (u[8] & 0x3F) | 0x80
    u[9:16] = u[14:16] + u[9:14]
    u[9] ^= counter & 0xFF
    return bytes(u)


def geometry(image_blocks512, *, always=False):
    """(heads, sectors per head) as libisofs picks them: 64/32 while that
    reaches the image's end within 1024 cylinders, else the fewest heads
    with 32 sectors (a multiple of 4 with 63) that do."""
    if image_blocks512 <= DEFAULT_HEADS * DEFAULT_SECTORS * 1024:
        return DEFAULT_HEADS, DEFAULT_SECTORS
    for sectors in (32, 63):
        heads = -(-image_blocks512 // (sectors * 1024))
        if sectors % 4 and sectors % 2 == 0:
            heads += heads % 2
        elif sectors % 4:
            heads += -heads % 4
        if heads <= 255:
            return heads, sectors
    return 255, 63


class SystemArea:
    """Plans and encodes the system area of one image (and what it
    describes at the image's end: appended partitions, the GPT backup)."""

    def __init__(self, options, volume_time, boot_flags):
        self.options = options
        self.uuid = volume_uuid(options, volume_time)
        self.isohybrid = bool(options.hybrid_mbr)
        template = options.hybrid_mbr or options.grub2_mbr or options.system_area_file
        self.template = read_template(template) if template else bytes(SYSTEM_AREA_BYTES)
        try:
            self.partitions = appended.parse_partitions(options.append_partitions)
        except appended.PartitionError as exc:
            raise SystemAreaError(str(exc)) from None
        # -appended_part_as_gpt: a protective MBR and a GPT of the partitions
        self.appended_gpt = bool(self.partitions) and options.appended_part_as_gpt
        # -efi-boot-part: an EFI system partition in a GPT, either the El
        # Torito EFI image (--efi-boot-image) or a disk file placed in front
        # of the ISO's file data (libisofs' "partprepend")
        self.efi_gpt = bool(options.efi_boot_part)
        self.efi_file = None
        if options.efi_boot_part and options.efi_boot_part != EFI_BOOT_IMAGE:
            try:
                self.efi_file = appended.prepended_partition(options.efi_boot_part)
            except appended.PartitionError as exc:
                raise SystemAreaError(str(exc)) from None
        self.with_gpt = self.isohybrid and any(g for g, _ in boot_flags)
        self.apm_count = sum(1 for _, a in boot_flags if a) if self.isohybrid else 0
        if self.apm_count and self.template[:32] not in (apm.APM_READY_CODE,
                                                         apm.ISOHYBRID_HEAD):
            raise SystemAreaError(f"{options.hybrid_mbr} is not prepared for an Apple "
                                  "Partition Map (-isohybrid-apm-hfsplus)")
        # GPT entries follow the APM blocks (2048 bytes each, the map itself first)
        self.gpt_part_start = (self.apm_count + 2) * BLOCKS_PER_SECTOR if self.apm_count \
            else 2
        self.gpt_entries = (64 - self.gpt_part_start) * 4
        self.gpt_backup_sectors = ((self.gpt_entries // 4 + 1) * 512 + SECTOR - 1) // SECTOR \
            if (self.with_gpt or self.appended_gpt or self.efi_gpt) else 0
        # the GPT backup ends the ISO's volume space, or the whole image when
        # partitions follow the ISO (xorriso 1.5.4, observed)
        self.backup_at_end = bool(self.partitions) and self.gpt_backup_sectors > 0
        self.heads, self.sectors = DEFAULT_HEADS, DEFAULT_SECTORS
        self.volume_sectors = self.total_sectors = self.gpt_backup_start = None
        # -partition_offset: where the ISO's partition starts (512-byte blocks)
        self.offset_blocks = options.partition_offset * BLOCKS_PER_SECTOR

    # ---- planning -----------------------------------------------------------------------------
    def place_prepended(self, sector):
        """-efi-boot-part DISKFILE: the file's sectors from ``sector`` on
        (the first sector after the directories, before the file data, as
        libisofs places it); returns the sector after them."""
        if self.efi_file is None:
            return sector
        return appended.place([self.efi_file], sector)

    def settle(self, data_end, padding):
        """The image's layout after the file data ending at ``data_end``:
        the ISO's volume space (padding, isohybrid's whole cylinders and,
        without partitions behind it, the GPT backup included), then the
        appended partitions, the padding and the GPT backup.  Returns the
        image's sector count."""
        iso = data_end + (0 if self.partitions else padding)
        if not self.backup_at_end:
            iso += self.gpt_backup_sectors
        if self.isohybrid:
            self.heads, self.sectors = geometry(iso * BLOCKS_PER_SECTOR)
            cylinder_bytes = self.heads * self.sectors * mbr.SECTOR
            if iso * SECTOR / cylinder_bytes <= 1024 and cylinder_bytes % SECTOR == 0:
                iso = round_up(iso, cylinder_bytes // SECTOR)
        self.volume_sectors = end = iso
        self.gpt_backup_start = iso - self.gpt_backup_sectors
        if self.partitions:
            # right behind the ISO, not aligned to cylinders (xorriso 1.5.4
            # "cyl-align-on": only the ISO's end is)
            end = appended.place(self.partitions, iso) + padding
            if self.backup_at_end:
                self.gpt_backup_start = end
                end += self.gpt_backup_sectors
        self.total_sectors = end
        return end

    def boot_image_partition(self, number):
        """(sector, bytes) of appended partition ``number`` as an El Torito
        image (-e --interval:appended_partition_N:all::): its start and its
        whole room, which is what xorriso's catalog entry gives."""
        for part in self.partitions:
            if part.number == number:
                return part.start, part.sectors * SECTOR
        raise SystemAreaError(f"--interval:appended_partition_{number}:all:: names a "
                              f"partition that no -append_partition {number} makes")

    # ---- encoding ------------------------------------------------------------------------------
    def encode(self, boot_images: List[BootImage]):
        """The 32 KiB system area and [(sector, bytes)] for the end of the
        image (the GPT backup)."""
        area = bytearray(self.template)
        if self.efi_file is not None and self.efi_file.start is None:
            raise SystemAreaError("-efi-boot-part DISKFILE: the file was given no place in "
                                  "the image (this layout does not place it yet)")
        if not boot_images and (self.isohybrid or self.options.grub2_mbr):
            raise SystemAreaError("a hybrid system area needs an El Torito boot image (-b)")
        if self.isohybrid and self.apm_count:
            self._write_apm(area, boot_images)
        if self.isohybrid:
            mbr.put_boot_lba(area, boot_images[0].sector * BLOCKS_PER_SECTOR)
            mbr.put_disk_id(area, zlib.crc32(self.uuid) & 0xFFFFFFFF)
        elif self.options.grub2_mbr:
            # GRUB's boot_hybrid.img reads the boot image from here (-G: as is)
            mbr.put_boot_lba(area, boot_images[0].sector * BLOCKS_PER_SECTOR
                             + GRUB2_MBR_ADDRESS_OFFSET)
        if self.isohybrid or self.partitions or self.efi_gpt or self.offset_blocks:
            mbr.put_table(area, self._mbr_slots(boot_images))
        gpt_parts = self._gpt_partitions(boot_images)
        if gpt_parts is None:
            return bytes(area), []
        self._write_gpt(area, gpt_parts)
        return bytes(area), [(self.gpt_backup_start, self._gpt_backup(area))]

    def _gpt_partitions(self, boot_images):
        """[(type, first, last, flags, name)] of the GPT, or None without one."""
        if self.with_gpt:
            return self._isohybrid_gpt(boot_images)
        if self.efi_gpt:
            return self._efi_boot_part_gpt(boot_images)
        if self.appended_gpt:
            return self._named_iso_gap(appended.gap_filled(
                appended.gpt_requests(self.partitions), self._first_usable(),
                self.gpt_backup_start * BLOCKS_PER_SECTOR))
        return None

    def _first_usable(self):
        return self.gpt_part_start + self.gpt_entries // 4

    def _iso_type(self, default):
        """-iso_mbr_part_type: a byte replaces the ISO partition's type, a
        GUID makes it 0x83 (xorriso 1.5.4)."""
        given = self.options.iso_mbr_part_type
        if given is None:
            return default
        try:
            return mbr.parse_type(given)
        except ValueError:
            return appended.LINUX_MBR_TYPE

    def _mbr_slots(self, boot_images):
        """The four MBR entries: the ISO (or the GPT's protective entry),
        isohybrid's EFI boot images, the appended partitions in their slots."""
        blocks = self.volume_sectors * BLOCKS_PER_SECTOR
        slots = [None] * 4
        if self.efi_gpt or self.appended_gpt:
            # protective MBR (UEFI §5.2.3): block 1 to the image's last block
            slots[0] = mbr.encode_entry(0, 0xEE, 1, self.total_sectors * BLOCKS_PER_SECTOR - 1,
                                        self.heads, self.sectors)
        elif self.isohybrid:
            # libisofs make_isolinux_mbr: bootable, type 0x17 (0x00 with GPT/APM);
            # -partition_offset moves its start (iso_offset_partition_start)
            default = 0x00 if (self.with_gpt or self.apm_count) else ISOHYBRID_TYPE
            start = self.offset_blocks
            slots[0] = mbr.encode_entry(mbr.BOOTABLE, self._iso_type(default), start,
                                        blocks - start, self.heads, self.sectors,
                                        end_chs=mbr.chs(blocks - 1, self.heads, self.sectors,
                                                        capped_head=self.heads))
        else:
            # libisofs make_grub_msdos_label: type 0xCD, which becomes 0x83 when
            # the ISO starts at block 0
            start = self.offset_blocks
            default = 0xCD if start else appended.LINUX_MBR_TYPE
            slots[0] = mbr.encode_entry(0, self._iso_type(default), start, blocks - start,
                                        self.heads, self.sectors)
        dummy = b"\xfe\xff\xff"     # "beyond CHS": libisofs' CHS for these entries
        free = (i for i in range(1, 4))
        for image in boot_images:
            if self.isohybrid and image.gpt_basdat:
                slot = next(free, None)
                if slot is not None:
                    slots[slot] = mbr.encode_entry(
                        0, 0xEF, image.sector * BLOCKS_PER_SECTOR,
                        -(-image.size // mbr.SECTOR), 0, 0, start_chs=dummy, end_chs=dummy)
        if not self.appended_gpt:
            for number, entry in appended.mbr_entries(self.partitions, self.heads,
                                                      self.sectors).items():
                slots[number - 1] = entry
        if self.options.mbr_force_bootable:
            self._force_bootable(slots)
        return slots

    def _force_bootable(self, slots):
        """--mbr-force-bootable (xorriso 1.5.4, observed): with no entry
        marked 0x80, a protective MBR gets a bootable empty entry (type 0,
        block 0, one block) in its first free slot, any other MBR has its
        first entry marked."""
        if any(slot is not None and slot[0] == mbr.BOOTABLE for slot in slots):
            return
        if self.appended_gpt or self.efi_gpt:
            free = [i for i, slot in enumerate(slots) if slot is None]
            if free:
                slots[free[0]] = mbr.encode_entry(mbr.BOOTABLE, 0x00, 0, 1, self.heads,
                                                  self.sectors)
        else:
            slots[0] = bytes((mbr.BOOTABLE,)) + slots[0][1:]

    def _named_iso_gap(self, parts):
        """libisofs names the gap that is exactly the ISO's partition
        (-partition_offset to the volume's end) "ISO9660", typed by a GUID
        -iso_mbr_part_type."""
        end = self.volume_sectors * BLOCKS_PER_SECTOR
        out = []
        for type_guid, first, last, flags, name in parts:
            if name.startswith("Gap") and self.offset_blocks and \
                    first == self.offset_blocks and last + 1 == end:
                type_guid, name = self._iso_gpt_type(type_guid), "ISO9660"
            out.append((type_guid, first, last, flags, name))
        return out

    def _iso_gpt_type(self, default):
        given = self.options.iso_mbr_part_type
        if given and ("-" in given or len(given) == 32):
            try:
                return gpt.guid_from_text(given)
            except ValueError:
                pass
        return default

    def _efi_boot_part_gpt(self, boot_images):
        """-efi-boot-part (libisofs partprepend writer): the disk file, or the
        first EFI El Torito image (--efi-boot-image), as "EFI boot
        partition" (EFI System type, its size in whole sectors), the
        appended partitions, gaps around them."""
        if self.efi_file is not None:
            start, size = self.efi_file.start, self.efi_file.sectors * SECTOR
        else:
            efi = [image for image in boot_images if image.efi]
            if not efi:
                raise SystemAreaError("-efi-boot-part --efi-boot-image needs an EFI El Torito "
                                      "image (-e)")
            start, size = efi[0].sector, efi[0].size
        request = (start * BLOCKS_PER_SECTOR, sectors_for(size) * BLOCKS_PER_SECTOR,
                   gpt.EFI_SYSTEM, gpt.READ_ONLY_REQUIRED, "EFI boot partition")
        return appended.gap_filled([request] + appended.gpt_requests(self.partitions),
                                   self._first_usable(),
                                   self.gpt_backup_start * BLOCKS_PER_SECTOR)

    def _isohybrid_gpt(self, boot_images):
        """[(type, first, last, flags, name)]: the ISO from the partition
        offset to its end (or to the GPT backup inside it), each marked boot
        image (libisofs: "ISOHybrid", "ISOHybrid1", ... -- its size in whole
        2048-byte blocks), then the appended partitions that are no marked
        image ("AppendedN", flags 0; xorriso 1.5.4, observed)."""
        limit = self.gpt_backup_start * BLOCKS_PER_SECTOR
        iso_end = min(self.volume_sectors * BLOCKS_PER_SECTOR, limit)
        parts = [(gpt.BASIC_DATA, self.offset_blocks, iso_end - 1, gpt.READ_ONLY_REQUIRED,
                  "ISOHybrid")]
        marked = [image for image in boot_images if image.gpt_basdat]
        for number, image in enumerate(marked, 1):
            start = image.sector * BLOCKS_PER_SECTOR
            end = min(start + image.size // SECTOR * BLOCKS_PER_SECTOR, limit)
            parts.append((gpt.BASIC_DATA, start, end - 1, gpt.READ_ONLY_REQUIRED,
                          f"ISOHybrid{number}"))
        listed = {image.sector for image in marked}
        requests = [part for part in self.partitions if part.start not in listed]
        for start, blocks, type_guid, flags, name in appended.gpt_requests(requests):
            parts.append((type_guid, start, start + blocks - 1, flags, name))
        return parts

    def _write_gpt(self, area, parts):
        """The primary GPT: header in block 1, entries from gpt_part_start;
        the backup header is the image's last 512-byte block."""
        array = bytearray(self.gpt_entries * gpt.ENTRY_SIZE)
        for i, (type_guid, first, last, flags, name) in enumerate(parts):
            array[i * gpt.ENTRY_SIZE:(i + 1) * gpt.ENTRY_SIZE] = gpt.encode_entry(
                type_guid, guid_from_uuid(self.uuid, i + 1), first, last, flags, name)
        start = self.gpt_part_start * mbr.SECTOR
        area[start:start + len(array)] = array
        backup_lba = (self.gpt_backup_start + self.gpt_backup_sectors) * BLOCKS_PER_SECTOR - 1
        area[mbr.SECTOR:2 * mbr.SECTOR] = gpt.encode_header(
            1, backup_lba, self.gpt_part_start + self.gpt_entries // 4,
            backup_lba - self.gpt_entries // 4 - 1, guid_from_uuid(self.uuid, 0),
            self.gpt_part_start, self.gpt_entries, gpt.crc32(bytes(array)))

    def _gpt_backup(self, area):
        """The GPT backup's sectors: the entry array, then the backup
        header in the very last 512-byte block (UEFI §5.3.2)."""
        header = gpt.decode_header(bytes(area[mbr.SECTOR:2 * mbr.SECTOR]))
        start = self.gpt_part_start * mbr.SECTOR
        array = bytes(area[start:start + self.gpt_entries * gpt.ENTRY_SIZE])
        backup_lba = header["other_lba"]
        backup = gpt.encode_header(backup_lba, 1, header["first_usable"],
                                   header["last_usable"], header["disk_guid"],
                                   backup_lba - self.gpt_entries // 4, self.gpt_entries,
                                   header["entries_crc"])
        size = self.gpt_backup_sectors * SECTOR
        return (array + backup).rjust(size, b"\x00")

    def _write_apm(self, area, boot_images):
        """isohybrid's APM: the isohybrid head in bytes 0-31, the map's own
        entry in block 1, one "EFI"/"Apple_HFS" entry per marked image
        (2048-byte blocks, no gap entries)."""
        area[0:32] = apm.ISOHYBRID_HEAD
        marked = [image for image in boot_images if image.apm_hfsplus]
        count = len(marked) + 1
        blocks = [apm.encode_entry(count, 1, count, "Apple", "Apple_partition_map",
                                   apm.FLAGS_MAP)]
        for image in sorted(marked, key=lambda i: i.sector):
            size = image.size // SECTOR
            blocks.append(apm.encode_entry(count, image.sector, size, "EFI", "Apple_HFS",
                                           apm.data_flags("Apple_HFS")))
        for i, block in enumerate(blocks, 1):
            area[i * SECTOR:(i + 1) * SECTOR] = block

    def partition_items(self):
        """[(sector, size, path)] of the partitions' data (appended, and
        -efi-boot-part DISKFILE's in front of the file data)."""
        parts = self.partitions + ([self.efi_file] if self.efi_file is not None else [])
        return [(part.start, part.size, part.path) for part in parts]


def grub2_boot_info_patch(sector):
    """--grub2-boot-info: the boot image's 512-byte address + 5, as 64 bit
    LE, at byte 2548 of the image (where GRUB's cdboot.img reads it)."""
    return GRUB2_BOOT_INFO_OFFSET, (sector * BLOCKS_PER_SECTOR + 5).to_bytes(8, "little")


GRUB2_BOOT_INFO_OFFSET = 2548
