"""The kinds of drive the simulator can be: which media each reads and writes.

MMC-6 §5.3.1: feature 0000h lists *every* profile the drive can use, reading
included, so a DVD-ROM drive lists DVD-R and DVD+RW too; whether it can
write a medium is told only by the write features (and page 2Ah), which is
why these are separate sets here.
"""

from dataclasses import dataclass

CD = (0x08, 0x09, 0x0A)
DVD = (0x10, 0x11, 0x13, 0x14, 0x15, 0x1A, 0x1B, 0x2B)
BD = (0x40, 0x41, 0x42, 0x43)
WRITABLE_CD = (0x09, 0x0A)
WRITABLE_DVD = (0x11, 0x13, 0x14, 0x15, 0x1A, 0x1B, 0x2B)
WRITABLE_BD = (0x41, 0x42, 0x43)


@dataclass(frozen=True)
class DriveKind:
    name: str
    product: str           # INQUIRY product identification
    reads: tuple           # profiles, highest first, as feature 0000h lists them
    writes: tuple          # profiles this drive can write
    pseudo_overwrite: bool = False   # feature 0038h: BD-R SRM+POW (MMC-6 §5.3)

    def reads_profile(self, profile):
        return profile in self.reads

    def writes_profile(self, profile):
        return profile in self.writes


def _desc(*groups):
    return tuple(sorted({p for g in groups for p in g}, reverse=True))


KINDS = {
    "writer": DriveKind("writer", "SIM BD WRITER", _desc(CD, DVD, BD),
                        _desc(WRITABLE_CD, WRITABLE_DVD, WRITABLE_BD)),
    # a BD writer that also has feature 0038h BD-R Pseudo-Overwrite
    "writer-pow": DriveKind("writer-pow", "SIM BDPOW WRITER", _desc(CD, DVD, BD),
                            _desc(WRITABLE_CD, WRITABLE_DVD, WRITABLE_BD),
                            pseudo_overwrite=True),
    "rom": DriveKind("rom", "SIM DVD-ROM", _desc(CD, DVD), ()),
    "combo": DriveKind("combo", "SIM CD-RW/DVD", _desc(CD, DVD), _desc(WRITABLE_CD)),
}


def kind(name):
    return KINDS[name]
