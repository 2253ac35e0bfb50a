"""BD-R Pseudo-Overwrite in the simulated drive (MMC-6 feature 0038h).

A BD-R SRM formatted with FORMAT UNIT type 32h, subtype 00b (simformat) stays
a sequential disc -- new data goes at the next writable address of an open
track, READ DISC/TRACK INFORMATION report it as they do on any BD-R SRM --
but a WRITE to sectors that are already recorded is taken as well: the
drive writes the new data to a replacement cluster of the spare areas and
maps the logical sectors to it, so a READ returns the new data.  This is
what lets a BD-R grow like a DVD+RW (growisofs: the volume descriptors at
16 are rewritten after each new session).

Each WRITE of recorded sectors takes one replacement cluster (32 sectors,
64 KiB) per cluster it touches; a BD-R cannot rewrite a replacement either,
so writing the same cluster again takes another.  When the spare areas hold
no more, the WRITE fails before anything is stored with MEDIUM ERROR, NO
DEFECT SPARE LOCATION AVAILABLE (3/32/00, the SPC-4 code for it; no public
text of MMC-6 was found saying more) and INFORMATION = the first sector.
"""

from .simdisc import readable_ranges
from .simsense import Check

CLUSTER = 32
NO_SPARE = (3, 0x32, 0x00)


def is_overwrite(sim, lba, blocks):
    """A WRITE the drive pseudo-overwrites: a POW disc in a drive with
    feature 0038h, and every sector of it already recorded (below the NWA,
    inside a track's written data)."""
    st = sim.state
    if not (st.pow and sim.drive_kind.pseudo_overwrite) or blocks == 0 \
            or lba + blocks > st.nwa:
        return False
    end = lba + blocks
    covered = lba
    for start, stop in sorted(readable_ranges(st)):
        if start <= covered < stop:
            covered = stop
        if covered >= end:
            return True
    return False


def replace(sim, lba, blocks):
    """Take the replacement clusters for an overwrite, or refuse it."""
    st = sim.state
    needed = (lba + blocks - 1) // CLUSTER - lba // CLUSTER + 1
    if needed > st.pow_spare:
        raise Check(*NO_SPARE, info=lba)
    if sim.dummy_backup is None:
        st.pow_spare -= needed
        st.pow_replaced += needed
