"""Closing what is open (cdrecord -fix), finalizing (growisofs -M DEV=/dev/zero)
and blanking part of a disc (cdrecord blank=session|track|unclose).

The CLOSE TRACK/SESSION functions are MMC-6 §6.3's; which one each medium
takes is in docs/burner-mmc.md.
"""

from dataclasses import dataclass
from typing import Optional

from . import features as feat
from . import mmc, pages
from .errors import CANNOT_WRITE, DISC_CLOSED, NO_SESSION, USAGE, BurnError
from .recorder import FINALIZE_BD_R, FINALIZE_DVD_PLUS_R, RESTRICTED_OVERWRITE

@dataclass
class Closed:
    """What close_open_track did: the track it closed (None: none was open),
    whether it closed a session; neither when nothing was left open."""
    track: Optional[int] = None
    session: bool = False

    @property
    def nothing_open(self):
        return self.track is None and not self.session


def _nothing_open(status, ti):
    """An appendable disc whose sessions are all closed and whose next track
    is blank (cdrecord -fix after a -multi/-nofix burn): nothing to close.
    (READ DISC INFORMATION byte 2 bits 3-2: the last session empty, 00b.)"""
    return status.disc is not None and status.disc.status == mmc.DISC_APPENDABLE \
        and status.disc.last_session_state == mmc.SESSION_EMPTY and ti.blank \
        and not ti.damaged and status.damaged_track is None


def _select_closing_parameters(drive, status, multi):
    """Page 05h for the close: TAO (CD) or incremental (DVD-R), with the
    multi-session bits that decide whether the disc stays appendable."""
    p = status.profile_info
    if p.family not in ("cd", "dvd-r"):
        return
    cd = p.family == "cd"
    drive.mode_select_write_parameters(pages.WriteParameters(
        write_type=pages.WT_TAO if cd else pages.WT_INCREMENTAL,
        bufe=status.underrun_free, multisession=pages.MULTI_KEEP if multi
        else pages.MULTI_CLOSE, ls_v=not cd,
        link_size=0 if cd else (feat.link_sizes(status.features) or [0])[0],
        track_mode=pages.TRACK_MODE_DATA_CD if cd else pages.TRACK_MODE_DATA_DVD,
        block_type=pages.BLOCK_MODE1))


def close_open_track(drive, status, multi):
    """cdrecord -fix: close a track left open (or damaged) by an aborted
    write, then the session (appendable with --multi, else closed).  On a
    disc with nothing open nothing is sent (a CLOSE would be refused,
    5/2C/00): Closed().nothing_open."""
    p = status.profile_info
    if p.overwritable and not p.pseudo_overwrite:
        raise BurnError(f"{status.device}: a {p.name} has no tracks to close", USAGE)
    ti = drive.writable_track(status)
    if not p.pseudo_overwrite and _nothing_open(status, ti):
        return Closed()
    open_track = ti.damaged or (not ti.blank and ti.next_writable is not None) \
        or status.damaged_track is not None
    _select_closing_parameters(drive, status, multi)
    track = ti.track if open_track else None
    if open_track:
        drive.close(mmc.CLOSE_TRACK, ti.track)
    if p.pseudo_overwrite and multi:
        return Closed(track)                        # grown within its one open session
    if p.family in ("cd", "dvd-r") or multi:
        drive.close(mmc.CLOSE_SESSION)
    else:
        drive.close(FINALIZE_BD_R if p.family == "bd-r" else FINALIZE_DVD_PLUS_R)
    return Closed(track, True)


def finalize_disc(drive, status):
    """growisofs -M /dev/dvd=/dev/zero: close an appendable DVD±R/-RW or BD-R
    for good without writing a session.  What is still open is closed
    (close_open_track without --multi); a disc whose sessions are all closed
    is finalized with CLOSE function 101b (DVD+R) / 110b (BD-R) -- MMC-6
    §6.3.3, the functions growisofs sends -- or, on DVD-R/-RW, CLOSE SESSION
    with page 05h multi-session 00b.  A CD's last lead-out already points at
    a next session: it is closed only by a last session burned without
    -multi."""
    check_finalizable(status)
    p = status.profile_info
    ti = drive.writable_track(status)
    if p.pseudo_overwrite or not _nothing_open(status, ti):
        return close_open_track(drive, status, multi=False)
    _select_closing_parameters(drive, status, multi=False)
    if p.family == "dvd-r":
        drive.close(mmc.CLOSE_SESSION)
    else:
        drive.close(FINALIZE_BD_R if p.family == "bd-r" else FINALIZE_DVD_PLUS_R)
    return Closed(None, True)


def check_finalizable(status):
    """The refusals of finalize_disc, before anything is sent (also for
    growisofs -dry-run)."""
    p = status.profile_info
    name = p.name
    if p.overwritable and not p.pseudo_overwrite:
        raise BurnError(f"{status.device}: a {name} is overwritable: there is nothing to "
                        "close", USAGE)
    if status.disc is None or status.disc.status == mmc.DISC_BLANK:
        raise BurnError(f"{status.device}: the {name} is blank: there is no session to "
                        "close", NO_SESSION)
    if status.disc.status == mmc.DISC_COMPLETE:
        raise BurnError(f"{status.device}: the {name} is closed already", DISC_CLOSED)
    if p.family == "cd":
        raise BurnError(f"{status.device}: a CD whose last session was closed with room for "
                        "another cannot be closed without writing one: burn the last session "
                        "without -multi", CANNOT_WRITE)


# ---- partial blanking ----------------------------------------------------------------------
PARTIAL_BLANK = {"session": mmc.BLANK_SESSION, "track": mmc.BLANK_TRACK,
                 "unclose": mmc.BLANK_UNCLOSE}


def partial_blank(status, what):
    """(BLANK type, address) for cdrecord's blank=session|track|unclose
    (MMC-6 §6.2.3: 110b the last session, 010b the last track -- its number
    in the address field --, 101b unclose the last session), checked first:
    only a sequential CD-RW/DVD-RW that holds a session."""
    p = status.profile_info
    if status.profile not in (0x0A, 0x14):
        raise BurnError(f"{status.device}: blank={what} needs a CD-RW or a sequential DVD-RW; "
                        f"the disc is a {p.name}" + (" (restricted overwrite has no "
                                                     "sessions: --blank all makes it "
                                                     "sequential)" if status.profile ==
                                                     RESTRICTED_OVERWRITE else ""),
                        CANNOT_WRITE)
    disc = status.disc
    if disc is None or disc.status == mmc.DISC_BLANK:
        raise BurnError(f"{status.device}: the {p.name} is blank: no {what} to blank",
                        NO_SESSION)
    if what == "unclose" and disc.last_session_state == mmc.SESSION_INCOMPLETE:
        raise BurnError(f"{status.device}: the last session of the {p.name} is not closed: "
                        "nothing to unclose", NO_SESSION)
    address = 0
    if what == "track":
        last = disc.last_track_last_session
        address = status.damaged_track or \
            (last if disc.status == mmc.DISC_COMPLETE else last - 1)
    return PARTIAL_BLANK[what], address
