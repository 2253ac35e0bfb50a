"""The logical sector: the one unit every ISO 9660 and MMC size is counted in.

ECMA-119 6.1.2 fixes the logical sector at 2048 bytes for a CD-ROM (the
user data of a Mode 1 / Mode 2 Form 1 sector, Red Book/Yellow Book), and
MMC-6 4.2 uses the same 2048-byte user data block for DVD and BD.  Every
module counts in this one constant.
"""

SECTOR = 2048


def sectors_for(size):
    """How many whole sectors hold `size` bytes (a partial sector counts)."""
    return (size + SECTOR - 1) // SECTOR


def round_up(value, unit):
    """`value` rounded up to a whole multiple of `unit` (an alignment)."""
    return (value + unit - 1) // unit * unit
