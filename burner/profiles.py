"""MMC profiles (MMC-6 §5.3.1, table 89) and what a burner does with each."""

from dataclasses import dataclass

from isofuse.format import media


@dataclass(frozen=True)
class Profile:
    number: int
    name: str
    family: str            # "cd", "dvd-r", "dvd+r", "dvd+rw", "bd-r", "bd-re", "rom"
    writable: bool
    overwritable: bool     # random-access rewrite: multisession grows the ISO
    dummy: bool            # test write ("dummy") supported by the medium
    udev: str              # ID_CDROM_MEDIA_<udev>
    one_x_kbs: float       # kB/s of "1x" on this medium
    pseudo_overwrite: bool = False   # BD-R SRM+POW: sequential, recorded sectors remapped


PROFILES = {p.number: p for p in [
    Profile(0x08, "CD-ROM", "rom", False, False, False, "CD", 176.4),
    Profile(0x09, "CD-R", "cd", True, False, True, "CD_R", 176.4),
    Profile(0x0A, "CD-RW", "cd", True, False, True, "CD_RW", 176.4),
    Profile(0x10, "DVD-ROM", "rom", False, False, False, "DVD", 1385.0),
    Profile(0x11, "DVD-R", "dvd-r", True, False, True, "DVD_R", 1385.0),
    Profile(0x12, "DVD-RAM", "rom", False, False, False, "DVD_RAM", 1385.0),
    Profile(0x13, "DVD-RW restricted overwrite", "dvd+rw", True, True, False, "DVD_RW_RO", 1385.0),
    Profile(0x14, "DVD-RW sequential", "dvd-r", True, False, True, "DVD_RW_SEQ", 1385.0),
    Profile(0x15, "DVD-R DL", "dvd-r", True, False, True, "DVD_R_DL_SEQ", 1385.0),
    Profile(0x1A, "DVD+RW", "dvd+rw", True, True, False, "DVD_PLUS_RW", 1385.0),
    Profile(0x1B, "DVD+R", "dvd+r", True, False, False, "DVD_PLUS_R", 1385.0),
    Profile(0x2B, "DVD+R DL", "dvd+r", True, False, False, "DVD_PLUS_R_DL", 1385.0),
    Profile(0x40, "BD-ROM", "rom", False, False, False, "BD", 4495.5),
    Profile(0x41, "BD-R SRM", "bd-r", True, False, False, "BD_R", 4495.5),
    Profile(0x42, "BD-R RRM", "bd-r", True, False, False, "BD_R", 4495.5),
    Profile(0x43, "BD-RE", "bd-re", True, True, False, "BD_RE", 4495.5),
]}

# A BD-R SRM formatted for Pseudo-Overwrite is still profile 0041h (MMC-6
# §5.3.1); feature 0038h current tells it apart.  New data still go at the next
# writable address, but recorded sectors can be written again (the drive
# remaps them), so a burner grows it like a DVD+RW (as growisofs does).
BD_R_POW = Profile(0x41, "BD-R SRM+POW", "bd-r", True, True, False, "BD_R", 4495.5,
                   pseudo_overwrite=True)

# Names users and tests type (sim profiles), and the capacity each has.
BY_NAME = {"cd-r": 0x09, "cd-rw": 0x0A, "dvd-r": 0x11, "dvd-rw": 0x14, "dvd-rw-ro": 0x13,
           "dvd-r-dl": 0x15, "dvd+r": 0x1B, "dvd+r-dl": 0x2B, "dvd+rw": 0x1A,
           "bd-r": 0x41, "bd-r-rrm": 0x42, "bd-r-50": 0x41, "bd-r-100": 0x41, "bd-re": 0x43,
           "cd-rom": 0x08, "dvd-rom": 0x10, "bd-rom": 0x40}

# Nominal capacities in 2048-byte sectors, as drives report them for blank
# media (READ TRACK INFORMATION free blocks / READ FORMAT CAPACITIES); see
# docs/media-capacity.md for the sources.
CAPACITY = {0x09: media.CD_80_MIN, 0x0A: media.CD_80_MIN,
            0x11: media.DVD_SINGLE_LAYER, 0x13: media.DVD_SINGLE_LAYER,
            0x14: media.DVD_SINGLE_LAYER, 0x15: media.DVD_MINUS_R_DUAL_LAYER,
            0x1B: media.DVD_SINGLE_LAYER, 0x2B: media.DVD_PLUS_R_DUAL_LAYER,
            0x1A: media.DVD_SINGLE_LAYER, 0x41: media.BD_SINGLE_LAYER,
            0x42: media.BD_SINGLE_LAYER, 0x43: media.BD_RE_DEFAULT_SPARES,
            0x08: media.CD_80_MIN, 0x10: media.DVD_SINGLE_LAYER, 0x40: media.BD_SINGLE_LAYER}

# Names whose capacity differs from their profile's nominal one (same profile:
# a dual- or triple-layer BD-R is still profile 0041h).
NAMED_CAPACITY = {"bd-r-50": media.BD_DUAL_LAYER, "bd-r-100": media.BD_TRIPLE_LAYER}


def capacity_for(name_or_number):
    """Capacity of a sim medium given by name (``bd-r-50``) or profile number."""
    if isinstance(name_or_number, str):
        if name_or_number in NAMED_CAPACITY:
            return NAMED_CAPACITY[name_or_number]
        return CAPACITY.get(BY_NAME[name_or_number], media.CD_80_MIN)
    return CAPACITY.get(name_or_number, media.CD_80_MIN)


def profile(number):
    return PROFILES.get(number) or Profile(number, f"profile {number:#06x}", "unknown",
                                           False, False, False, "", 176.4)


def is_cd(number):
    return number in (0x08, 0x09, 0x0A)
