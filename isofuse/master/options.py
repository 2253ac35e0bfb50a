"""Everything that decides what image a tree becomes."""

from dataclasses import dataclass, field
from typing import List, Optional

from .naming import NameRules

ROCK_OFF = None
ROCK_RATIONALIZED = "rationalized"   # mkisofs -r: owners 0, modes made sensible
ROCK_KEEP = "keep"                   # mkisofs -R: owners and modes as they are

DEEP_RELOCATE = "relocate"  # Rock Ridge: move deep directories to rr_moved
DEEP_ERROR = "error"        # no Rock Ridge: refuse a tree deeper than 8 levels
DEEP_ALLOW = "allow"        # -D: record them deep anyway (violates ISO 9660)
DEEP_DROP = "drop"          # leave directories beyond 8 levels out, say so

MAX_ISO_LEVELS = 8          # ECMA-119 §6.8.2.1, counting the root
DEFAULT_PADDING_SECTORS = 150


@dataclass
class BootSpec:
    """One El Torito entry (mkisofs -b / -e and their modifiers)."""
    image_path: str                   # path of the boot image on the disc
    platform: int = 0x00              # 0x00 x86 BIOS, 0xEF EFI
    emulation: str = "none"           # none, floppy (size decides), hdd
    load_size: Optional[int] = None   # 512-byte sectors; default the whole file
    load_segment: int = 0
    info_table: bool = False          # -boot-info-table
    bootable: bool = True
    # xorrisofs marks "the current El Torito boot image" with these (the
    # MasterOptions flags of the same names say whether any entry has one)
    grub2_boot_info: bool = False     # --grub2-boot-info
    gpt_basdat: bool = False          # -isohybrid-gpt-basdat
    apm_hfsplus: bool = False         # -isohybrid-apm-hfsplus


@dataclass
class MasterOptions:
    names: NameRules = field(default_factory=NameRules)
    rock: Optional[str] = ROCK_OFF
    rrip_112: bool = False            # PX with serial numbers (hard links)
    joliet: bool = False
    joliet_long: bool = False
    deep: Optional[str] = None        # None: relocate with Rock Ridge, else error
    volume_id: str = "CDROM"
    publisher: str = ""
    preparer: str = ""
    application: str = "ISOFUSE"
    system_id: str = "LINUX"
    volume_set_id: str = ""
    copyright_file: str = ""
    abstract_file: str = ""
    bibliographic_file: str = ""
    boot: List[BootSpec] = field(default_factory=list)
    boot_catalog: str = "boot.catalog"
    padding_sectors: int = DEFAULT_PADDING_SECTORS
    source_date_epoch: Optional[int] = None
    session_start: int = 0             # multisession: where this session is written
    # a later session's descriptors give its own length as the volume space
    # size (genisoimage -C, xorrisofs -C, what cdrecord -isosize reads), not
    # the whole volume's (the form a copy at sector 16 needs)
    own_session_size: bool = False
    now: Optional[int] = None          # creation time when no SOURCE_DATE_EPOCH
    # xorrisofs hybrid booting (the system area, partitions, checksums)
    hybrid_mbr: Optional[str] = None   # -isohybrid-mbr FILE (isohdpfx.bin)
    hybrid_gpt_basdat: bool = False    # -isohybrid-gpt-basdat
    hybrid_apm_hfsplus: bool = False   # -isohybrid-apm-hfsplus
    partition_offset: int = 0          # -partition_offset LBA
    append_partitions: list = field(default_factory=list)  # (number, type, path)
    efi_boot_part: Optional[str] = None  # -efi-boot-part DISKFILE|--efi-boot-image
    appended_part_as_gpt: bool = False  # -appended_part_as_gpt
    iso_mbr_part_type: Optional[str] = None  # -iso_mbr_part_type
    grub2_mbr: Optional[str] = None    # --grub2-mbr FILE (copied, boot address patched in)
    system_area_file: Optional[str] = None  # -G FILE: its first 32 KiB copied verbatim
    mbr_force_bootable: bool = False   # --mbr-force-bootable: an MBR entry marked 0x80
    grub2_boot_info: bool = False      # --grub2-boot-info
    md5: bool = False                  # --md5, -checksum_algorithm_iso md5
    # --modification-date=YYYYMMDDhhmmsscc as given (the volume dates and
    # the UUID GRUB searches for; ``now`` holds its whole seconds)
    modification_date: Optional[str] = None
    # -volume_date c|m|x|f: {kind: seconds} for the creation, modification,
    # expiration and effective dates (ECMA-119 §8.4.26-29); the volume's
    # own time for c and m, "not specified" for x and f when absent
    volume_dates: dict = field(default_factory=dict)
    # -hide / -hide-joliet: source nodes left out of the ISO 9660 (and Rock
    # Ridge) tree or out of the Joliet tree; their data is still written
    hide_iso: set = field(default_factory=set)
    hide_joliet: set = field(default_factory=set)
    hide_rr_moved: bool = False        # -hide-rr-moved: the relocation folder is .rr_moved
    # -sort / --sort-weight: node -> weight; heavier files' data comes first
    sort_weights: dict = field(default_factory=dict)

    @property
    def deep_policy(self):
        if self.deep is not None:
            return self.deep
        return DEEP_RELOCATE if self.rock else DEEP_ERROR

    @property
    def enhanced(self):
        return self.names.level >= 4


def staging_profile(level=2, rock=ROCK_RATIONALIZED, joliet=True, joliet_long=False):
    """The staging filesystem's disc, the HOWTO's: Rock Ridge with mkisofs
    -r semantics, Joliet, ISO level 2 names (``isofuse master -r -J
    -iso-level 2``); what isofuse stage shows and isofuse-burn masters
    folders with."""
    return MasterOptions(names=NameRules(level=level), rock=rock, joliet=joliet,
                         joliet_long=joliet_long)
