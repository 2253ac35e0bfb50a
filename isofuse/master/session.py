"""One session: what every front end masters (isofuse master, the burner's
folder burns and its growisofs dialect).

    sources + options [+ the previous session, where the new one starts,
    paths to remove]  ->  Session: a Layout, its ImageStream, and for
    growing the descriptor copy for sectors 16-31

The front ends only translate their command lines into these arguments
and turn SessionError into their own messages and exit codes.

Multisession in short (docs/mkisofs-options.md, "Growing an image file"):
a later session's extents count from sector 0 of the whole volume, so it
is mastered for the sector it will be written at (``start``); the files of
the previous session keep their extents (master/previous.py).  An image
file has no table of contents: growing it writes the new session behind
the volume, on a GROW_ALIGNMENT boundary, and copies the new descriptors
to sectors 16-31 where every reader looks first.  A growable image begins
at GROWN_FIRST_SESSION, as xorriso begins one, so the first session's own
descriptors are never the ones the copy replaces.
"""

import os
import stat
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ..format import descriptors as vd
from ..format.numbers import pack_733
from ..format.sectors import SECTOR, round_up
from ..reader.volume import GROWN_FIRST_SESSION
from . import layout as layout_mod
from .options import MasterOptions
from .sourcetree import ScanRules, scan_with_rules

__all__ = ["GROW_ALIGNMENT", "GROWN_FIRST_SESSION", "DESCRIPTOR_COPY_SECTOR", "SessionError",
           "Sources", "Continuation", "Session", "source_date_epoch", "is_new_image",
           "grow_start", "build_tree", "plan_session", "grown_descriptor_copy"]

# Sessions grown in an image file start on 32-sector (64 KiB) boundaries:
# libisoburn's alignment when xorriso grows an image file or overwritable
# medium, and where its chain of session headers looks for the next one
# (it probes start + 16 for the descriptors).  The burner's alignment on
# DVD+RW (16 sectors, one ECC block, as growisofs writes) is the medium's,
# not this one.
GROW_ALIGNMENT = 32
DESCRIPTOR_COPY_SECTOR = vd.FIRST_DESCRIPTOR_SECTOR   # ECMA-119 §6.2.1
# GROWN_FIRST_SESSION (32): a growable image's first session starts there;
# sectors 0-31 stay for the copy of the newest descriptors, as libisoburn
# leaves them, and readers look for the chain of sessions from there


class SessionError(Exception):
    """What was asked cannot be made: one line for the user.  ``usage``:
    the command line is at fault (a path to remove that is not there, a
    malformed SOURCE_DATE_EPOCH).  ``about`` "start": the start sector
    lies inside the previous session -- a mistake in -C for isofuse
    master, a disc that contradicts itself for the burner; each front end
    names it its own way."""

    def __init__(self, message, usage=False, about=None):
        super().__init__(message)
        self.usage = usage
        self.about = about


def source_date_epoch(environ=None):
    """SOURCE_DATE_EPOCH (reproducible-builds.org) as seconds, or None."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise SessionError("SOURCE_DATE_EPOCH must be a number of seconds", usage=True) from None


@dataclass
class Sources:
    """What goes into the new session from disk: SOURCE words (graft-point
    specs "DISC/PATH=SOURCE" with ``graft_points``), the scan's rules,
    -sort rules [(PATTERN, WEIGHT)], and where unreadable entries and -v's
    messages go (``on_error`` None: the first one is raised)."""
    specs: Sequence[str] = ()
    rules: ScanRules = ScanRules()
    graft_points: bool = False
    sort_rules: Sequence = ()
    on_error: Optional[Callable] = None
    say: Optional[Callable] = None


@dataclass
class Continuation:
    """The previous session a new one continues.

    image      the image file or device holding it
    sbsector   the start of the session continued (None: the newest)
    start      where the new session is written (-C's NEXT, the drive's
               next writable address); None grows the image: behind its
               volume, on a GROW_ALIGNMENT boundary
    removals   paths of the previous tree left out of the new one
    keep_volume_id  take the previous session's volume id (the burner's
               folder burns, when none is given)
    """
    image: str
    sbsector: Optional[int] = None
    start: Optional[int] = None
    removals: Sequence[str] = ()
    keep_volume_id: bool = False


def is_new_image(path):
    """Whether growing ``path`` begins a growable image: it does not exist
    yet, or is an empty regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def grow_start(volume_end):
    """Where a session grown behind a volume ending at ``volume_end`` starts."""
    return round_up(volume_end, GROW_ALIGNMENT)


def build_tree(sources, options, previous=None, warn=None):
    """The tree of the new session: the sources scanned, merged over the
    previous session's tree (``previous``: a Continuation), then the
    whole-tree rules applied.  With ``previous`` it sets
    ``options.session_start`` (without, the caller's stays); the hiding and
    sort weights the scan found go into ``options`` too."""
    root, scanned = scan_with_rules(list(sources.specs), sources.rules,
                                    graft_points=sources.graft_points,
                                    on_error=sources.on_error, say=sources.say)
    if previous is not None:
        root = _over_previous(root, bool(sources.specs), options, previous, warn)
    _finish_tree(root, scanned, sources, options)
    return root


def _over_previous(root, has_sources, options, previous, warn):
    from .previous import import_previous, merge, remove_path
    old_root, info = import_previous(previous.image, sbsector=previous.sbsector)
    if previous.start is None:
        options.session_start = grow_start(info["volume_end"])
        if info["sessions"][0] == 0 and warn is not None:
            warn(_HISTORY_LOST.format(image=previous.image))
    elif previous.start < info["end"]:
        raise SessionError(f"the next writable sector {previous.start} lies inside the "
                           f"previous session (it ends at {info['end']})", about="start")
    else:
        options.session_start = previous.start
    if previous.keep_volume_id and info.get("volume_id"):
        options.volume_id = info["volume_id"]
    for path in previous.removals:
        if not remove_path(old_root, path):
            raise SessionError(f"--remove {path}: not in the previous session", usage=True)
    if has_sources:
        old_root.mtime = root.mtime or old_root.mtime
    return merge(old_root, root)


_HISTORY_LOST = (
    "{image}: its first session starts at sector 0, whose descriptors the copy of the "
    "new session's replaces: readers list only the newest session from now on (an "
    "image begun with --append-to on a new file keeps every session listed)")


def _finish_tree(root, scanned, sources, options):
    """What applies to the whole tree once it is complete: owners and
    modes, TRANS.TBL, hiding and sort weights for the layout."""
    from . import sourcetree, transtbl
    rules = sources.rules
    if options.rock == "rationalized" and rules.overrides_owners:
        # -r with -uid/-gid/-*-mode: rationalize here so the overrides win
        sourcetree.rationalize(root)
        options.rock = "keep"
    sourcetree.apply_owners(root, rules)
    if rules.table_name:
        catalog = [options.boot_catalog] if options.boot else []
        made = transtbl.add_tables(root, options.names, rules.table_name,
                                   options.source_date_epoch, engine_files=catalog)
        if rules.hide_joliet_trans_tbl:
            scanned.hidden_joliet.update(made)
    # -hide / -hide-joliet: out of one tree, the data still written
    options.hide_iso = scanned.hidden_iso
    options.hide_joliet = scanned.hidden_joliet
    if sources.sort_rules:
        options.sort_weights = sourcetree.sort_weights(root, list(sources.sort_rules))


class Session:
    """A planned session: its Layout, streams over it, and its descriptors."""

    def __init__(self, root, options: MasterOptions, warn=None):
        self.options = options
        self.layout = layout_mod.Layout(root, options, warn=warn)

    @property
    def start(self):
        """The sector the session is written at (its stream's offset 0)."""
        return self.layout.base

    @property
    def sectors(self):
        """The session's own length in sectors (what -print-size says)."""
        return self.layout.total_sectors - self.layout.base

    @property
    def volume_end(self):
        """The sector after the whole volume once this session is written."""
        return self.layout.total_sectors

    def stream(self, metadata=None):
        """A new ImageStream over the session (``metadata``: another
        stream's, shared so parallel burns encode it once)."""
        from .stream import ImageStream
        return ImageStream(self.layout, metadata)

    def descriptor_set(self, stream):
        """The session's volume descriptors as written (primary up to the
        terminator, ECMA-119 §8.3)."""
        lay = self.layout
        first = lay.pvd_sector - lay.base
        count = lay.terminator_sector - lay.pvd_sector + 1
        return stream.read(first * SECTOR, count * SECTOR)

    def grown_copy(self, stream, system_area=bytes(DESCRIPTOR_COPY_SECTOR * SECTOR)):
        """The copy of the descriptors for sectors 16-31 of the grown
        volume: the whole volume's size in them.  With --md5 the relocated
        superblock tag follows it, covering ``system_area`` (the image's
        sectors 0-15 as they are) and the copy (checksums.py)."""
        copy = grown_descriptor_copy(self.descriptor_set(stream), self.volume_end)
        if not self.options.md5:
            return copy
        from .checksums import relocated_superblock_tag
        return copy + relocated_superblock_tag(system_area + copy, self.start)


def grown_descriptor_copy(area, volume_end):
    """The descriptor set at the start of ``area`` (up to its terminator,
    ECMA-119 §8.3) as the copy for sector 16 of a grown volume: the volume
    space size (§8.4.8, bytes 80-87 both-endian) of its primary and
    supplementary descriptors (types 1 and 2) set to ``volume_end``, where
    readers -- and the next growing -- take the volume's end from
    (xorriso's growing, xorrecord --grow_overwriteable_iso and growisofs -M
    write it so)."""
    out = bytearray()
    for pos in range(0, len(area) - SECTOR + 1, SECTOR):
        sector = bytearray(area[pos:pos + SECTOR])
        if sector[0] in (vd.TYPE_PRIMARY, vd.TYPE_SUPPLEMENTARY) and vd.is_descriptor(sector):
            sector[80:88] = pack_733(volume_end)
        out += sector
        if sector[0] == vd.TYPE_TERMINATOR:
            break
    return bytes(out)


def plan_session(sources, options, previous=None, warn=None):
    """The Session of ``sources`` (a Sources) with ``options`` (changed in
    place: the start, hiding, sort weights), continuing ``previous`` (a
    Continuation) when given.  Raises SessionError, SourceError,
    TreeError and LayoutError (each with a one-line message)."""
    root = build_tree(sources, options, previous, warn)
    return Session(root, options, warn=warn)
