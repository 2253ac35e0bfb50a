"""Partial blanking in the simulated drive: BLANK types 010b (a track),
101b (unclose the last session) and 110b (the last session), MMC-6 §6.2.3,
on a sequential CD-RW (000Ah) or DVD-RW (0014h).

What each leaves (docs/simulated-drive.md, "BLANK"):

* 110b: the last session -- its tracks, or the track still open in it -- is
  erased; the disc is appendable behind the session before (or blank when
  it was the only one).
* 010b: the track named in bytes 2-5 must be the last one on the disc (the
  open or damaged one included); it is erased and its session is left
  incomplete, open for a new track; a session that had no other track is
  gone, as with 110b.
* 101b: the last closed session's closure (CD lead-out, DVD border-out) is
  erased: its tracks stay and read, the session is incomplete again, and
  the next track is written behind its last one.  Nothing closed: 5/2C/00.

The sectors erased are cut from the image file (they were the last ones).
"""

import os

from .simdisc import SECTOR
from .simsense import invalid_cdb_field, sequence_error
from isofuse.format.sectors import round_up

TRACK, UNCLOSE, SESSION = 2, 5, 6
PARTIAL = (TRACK, UNCLOSE, SESSION)
SEQUENTIAL_RW = (0x0A, 0x14)
ALIGN = {"cd": 1, "dvd-r": 16}     # the next writable address after unclosing


def blank_partially(sim, kind, track):
    st = sim.state
    if st.profile not in SEQUENTIAL_RW:
        raise invalid_cdb_field(1, 2)      # restricted overwrite has no sessions to blank
    if kind == UNCLOSE:
        _unclose(sim)
    elif kind == SESSION:
        _blank_last_session(sim)
    else:
        _blank_track(sim, track)


def _cut(sim, start):
    """Erase everything from ``start`` on (the image file ends there)."""
    os.ftruncate(sim.fd, min(os.fstat(sim.fd).st_size, max(start, 0) * SECTOR))


def _last_session(st):
    """The number of the session holding the last track (open or closed)."""
    if st.open_track is not None:
        return st.closed_sessions + 1
    return st.tracks[-1].session if st.tracks else 0


def _drop_open_track(st):
    start = st.open_track
    st.open_track, st.damaged, st.reserved, st.sao = None, False, None, None
    return start


def _reopen_after(sim):
    """The state once the last session is gone: appendable behind the
    sessions left (the usual session gap after the last of them), or blank."""
    from .simwrite import _next_session_start
    st = sim.state
    st.closed_sessions = len({t.session for t in st.tracks})
    if not st.tracks:
        st.status, st.nwa, st.recorded_end = "blank", 0, 0
        return
    st.status = "appendable"
    st.recorded_end = st.tracks[-1].end
    st.nwa = _next_session_start(sim, st.closed_sessions)


def _blank_last_session(sim):
    st = sim.state
    session = _last_session(st)
    if not session:
        raise sequence_error()             # a blank disc has no session
    starts = [t.start for t in st.session_tracks(session)]
    if st.open_track is not None:
        starts.append(_drop_open_track(st))
    st.tracks = [t for t in st.tracks if t.session != session]
    _cut(sim, min(starts))
    _reopen_after(sim)


def _blank_track(sim, number):
    st = sim.state
    last = len(st.tracks) + (1 if st.open_track is not None else 0)
    if not last:
        raise sequence_error()
    if number != last:
        raise invalid_cdb_field(2)         # only the last track can be blanked
    if st.open_track is not None:          # the track being written (or damaged)
        start = _drop_open_track(st)
        _cut(sim, start)
        st.nwa = start
        if st.tracks:
            st.recorded_end = st.tracks[-1].end
        else:
            st.status, st.recorded_end = "blank", 0
        return
    track = st.tracks.pop()
    _cut(sim, track.start)
    if st.session_tracks(track.session):
        st.closed_sessions = min(st.closed_sessions, track.session - 1)
        st.status = "appendable"
        st.nwa = _aligned(sim, st.tracks[-1].end)
        st.recorded_end = st.tracks[-1].end
    else:
        _reopen_after(sim)


def _unclose(sim):
    st = sim.state
    if st.open_track is not None or not st.closed_sessions or \
            st.session_tracks(st.closed_sessions + 1):
        raise sequence_error()             # the last session is not closed
    st.closed_sessions -= 1
    st.status = "appendable"
    st.nwa = _aligned(sim, st.tracks[-1].end)
    st.recorded_end = st.tracks[-1].end


def _aligned(sim, lba):
    align = ALIGN.get(sim.info.family, 1)
    return round_up(lba, align)

