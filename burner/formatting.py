"""Formatting rewritable and pseudo-overwrite media: which format of the ones
READ FORMAT CAPACITIES offers (MMC-6 §6.24) is sent with FORMAT UNIT (§6.5),
with its type-dependent parameter passed back unchanged."""

from . import mmc
from .errors import CANNOT_WRITE, BurnError
from .profiles import BD_R_POW

# Format types (MMC-6 §6.5.4): DVD+RW 26h; DVD-RW to restricted overwrite
# 15h (quick) or 10h (full); BD-RE 30h with the spare area, whose subtype
# (byte 4 bits 1-0) chooses the certification: 00b full, 10b quick; a blank
# BD-R 32h with subtype 00b, SRM+POW (the drive's first, default, spare size).
FORMAT_CHOICES = {
    0x1A: {"quick": (0x26,), "full": (0x26,)},
    0x13: {"quick": (0x15, 0x13, 0x10), "full": (0x10,)},
    0x14: {"quick": (0x15, 0x10), "full": (0x10,)},
    0x43: {"quick": (0x30, 0x31), "full": (0x30, 0x31)},
    0x41: {"pow": (0x32,)},
}
BD_SUBTYPE = {"quick": 0b10, "full": 0b00}
BD_R_FORMAT, SRM_POW = 0x32, 0b00


def choose_format(status, caps, how="quick"):
    """(blocks, type, type-dependent parameter, subtype) among what READ
    FORMAT CAPACITIES offers; the parameter is passed back unchanged."""
    wanted = FORMAT_CHOICES.get(status.profile, {}).get(how, ())
    for fmt_type in wanted:
        for blocks, offered, param in caps.formats:
            if offered == fmt_type:
                subtype = BD_SUBTYPE[how] if fmt_type == 0x30 else \
                    SRM_POW if fmt_type == BD_R_FORMAT else 0
                return blocks, fmt_type, param, subtype
    offered = ", ".join(f"{t:02X}h" for _, t, _ in caps.formats) or "none"
    raise BurnError(f"{status.device}: the drive offers no {how} format for the "
                    f"{status.profile_info.name} (format types offered: {offered})",
                    CANNOT_WRITE)


def format_medium(drive, status, progress=None, how="quick"):
    """FORMAT UNIT with a format READ FORMAT CAPACITIES offers; ``how``:
    quick, full, or pow (a blank BD-R for Pseudo-Overwrite)."""
    if how == "pow":
        _check_pow_format(status)
    blocks, fmt_type, param, subtype = choose_format(status, drive.format_capacities(), how)
    if progress:
        progress.phase("format", f"formatting the {status.profile_info.name} ({how}, "
                       f"format type {fmt_type:02X}h)")
    drive.format(blocks, fmt_type, (lambda v: progress.fraction("formatting", v))
                 if progress else None, param=param, subtype=subtype)


def _check_pow_format(status):
    """SRM+POW needs a BD-R, blank, in a drive with feature 0038h."""
    name = status.profile_info.name
    if status.profile != BD_R_POW.number:
        raise BurnError(f"{status.device}: pseudo-overwrite formatting is for BD-R; the disc "
                        f"is a {name}", CANNOT_WRITE)
    if status.pseudo_overwrite:
        raise BurnError(f"{status.device}: the BD-R is formatted for pseudo-overwrite "
                        "already", CANNOT_WRITE)
    if not status.pow_capable:
        raise BurnError(f"{status.device}: this drive has no BD-R pseudo-overwrite (feature "
                        "0038h); the BD-R can only be written sequentially", CANNOT_WRITE)
    if status.disc is None or status.disc.status != mmc.DISC_BLANK:
        raise BurnError(f"{status.device}: only a blank BD-R can be formatted for "
                        "pseudo-overwrite; this one holds data", CANNOT_WRITE)
