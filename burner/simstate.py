"""The simulated drive's disc: a plain image file plus a state file.

``sim:PATH`` means: the disc's contents are the (sparse) image file PATH,
readable by ``isofuse mount PATH`` like any image (sessions sit at their
LBAs), and the disc's state -- profile, capacity, blank/appendable/complete,
sessions and tracks, formatting, injected faults, pending unit attentions --
is kept in ``PATH.state.json`` so one disc can be written run after run and a
change made by ``simtool`` is seen by the next open.

The state file is rewritten in place (never a temporary file renamed over it),
so a user who may write the two files but not their folder -- a member of
group ``cdrom`` -- can use the disc.  Its first line carries the length and
SHA-256 of the JSON that follows: a save cut short by a crash is detected at
load (``StateError``) instead of being read as a wrong disc.
"""

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Optional

from .profiles import BY_NAME, PROFILES, capacity_for

MAGIC = "ISOFUSE-SIM-STATE 1"
DRIVE_KINDS = ("writer", "writer-pow", "rom", "combo")


class StateError(Exception):
    """The state file exists but cannot be used (damaged, unreadable)."""


def state_path(path):
    return os.fspath(path) + ".state.json"


@dataclass
class Track:
    start: int
    size: int                       # sectors, run-out included
    session: int
    runout: int = 0                 # CD TAO: the 2 run-out sectors at the end (unreadable)

    @property
    def end(self):
        return self.start + self.size

    @property
    def data_end(self):
        return self.end - self.runout


@dataclass
class DiscState:
    profile: int
    capacity: int
    kind: str = "mmc"               # "mmc", or "disk" (not an MMC device at all)
    drive: str = "writer"           # writer (all formats), writer-pow (and BD-R POW),
                                    # rom (DVD-ROM), combo (writes CD)
    medium: bool = True
    formatted: bool = False         # overwritable media: FORMAT UNIT done
    status: str = "blank"           # blank, appendable, complete
    tracks: List[Track] = field(default_factory=list)
    closed_sessions: int = 0
    nwa: int = 0                    # next writable address (sequential media)
    recorded_end: int = 0           # first sector after everything written
    open_track: Optional[int] = None  # start of a track written but not closed
    damaged: bool = False           # the open track was cut by a reset/power loss/removal
    reserved: Optional[int] = None  # DVD-R DAO: sectors reserved by RESERVE TRACK
    sao: Optional[List[int]] = None  # CD SAO: [next LBA to write, lead-out LBA] (cue sheet)
    quick_blanked: bool = False     # DVD-RW after BLANK minimal: DAO only
    speed_kbs: int = 0              # throttle: 0 = as fast as the host sends
    faults: Dict[str, object] = field(default_factory=dict)
    read_faults_left: Dict[str, int] = field(default_factory=dict)  # LBA -> failures left
    attention: List[str] = field(default_factory=list)   # pending unit attentions
    becoming_ready: int = 0         # media commands still answered 2/04/01
    deferred: Optional[List[int]] = None   # [key, asc, ascq, lba] for the next command
    underrun_protection_events: int = 0    # starved buffer paused and resumed (BUFE)
    certification: str = ""         # BD-RE: how the last FORMAT UNIT certified
    pow: bool = False               # BD-R formatted SRM+POW (FORMAT UNIT 32h, subtype 00b)
    pow_spare: int = 0              # BD-R with spare areas: replacement clusters left
    pow_replaced: int = 0           # clusters pseudo-overwritten so far
    ejects: int = 0

    @property
    def info(self):
        return PROFILES[self.profile]

    def session_tracks(self, session):
        return [t for t in self.tracks if t.session == session]

    def session_starts(self):
        out = []
        for t in self.tracks:
            if not out or out[-1][0] != t.session:
                out.append((t.session, t.start))
        return [start for _, start in out]


# ---- the file -------------------------------------------------------------------------------
def _encode(state):
    body = json.dumps(asdict(state), indent=1, sort_keys=True).encode()
    head = f"{MAGIC} {len(body)} {hashlib.sha256(body).hexdigest()}\n".encode()
    return head + body


def _decode(raw, where):
    if raw.startswith(b"{"):                    # a state file from before the header
        body = raw
    else:
        head, _, body = raw.partition(b"\n")
        parts = head.decode("ascii", "replace").split(" ")
        if len(parts) != 4 or " ".join(parts[:2]) != MAGIC:
            raise StateError(f"{where}: not a simulated-disc state file")
        if not parts[2].isdigit() or int(parts[2]) != len(body) \
                or hashlib.sha256(body).hexdigest() != parts[3]:
            raise StateError(f"{where}: the state file is damaged (a save was cut short?); "
                             "create the disc again with python3 -m burner.simtool create")
    try:
        return json.loads(body)
    except ValueError:
        raise StateError(f"{where}: the state file is damaged (not valid JSON)") from None


def _from_raw(raw, where):
    raw = dict(raw)
    if raw.pop("drive_writes", True) is False and "drive" not in raw:
        raw["drive"] = "rom"                    # older files: a read-only drive
    known = {f.name for f in fields(DiscState)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise StateError(f"{where}: unknown state fields {', '.join(unknown)}")
    try:
        raw["tracks"] = [Track(**t) for t in raw.get("tracks", [])]
        state = DiscState(**raw)
    except TypeError as exc:
        raise StateError(f"{where}: bad state file ({exc})") from None
    if state.profile not in PROFILES or state.drive not in DRIVE_KINDS:
        raise StateError(f"{where}: bad profile or drive kind in the state file")
    return state


def load(path):
    """The disc's state; FileNotFoundError when there is no disc, StateError
    when the file is there but damaged."""
    where = state_path(path)
    with open(where, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)       # a concurrent save is finished first
        raw = f.read()
    return _from_raw(_decode(raw, where), where)


def save(path, state):
    """Rewrite the state file in place: no temporary file, no rename, so the
    folder need not be writable; the header detects a save cut short."""
    data = _encode(state)
    where = state_path(path)
    try:
        fd = os.open(where, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)      # readers never see half a save
        view = memoryview(data)
        while view:
            view = view[os.pwrite(fd, view, len(data) - len(view)):]
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


# ---- changes a person makes with simtool ----------------------------------------------------
READY_POLLS = 2      # media commands answered 2/04/01 after a disc is loaded


def attend(state, what):
    """Queue a unit attention (SPC-4 §5.14 / MMC-6 §4.1.6): a reset or
    power-on supersedes any pending one (SPC-4 §6.x: it is the highest)."""
    if what == "reset":
        state.attention = ["reset"]
    elif what not in state.attention:
        state.attention.append(what)


def load_disc(state):
    """A disc goes in (or the tray closes on it): 6/28/00, then "becoming
    ready" for a few commands."""
    state.medium = True
    attend(state, "medium_changed")
    state.becoming_ready = int(state.faults.get("ready_polls", READY_POLLS))


def power_cycle(state):
    """Power lost and back: a track open for writing is damaged (MMC-6
    §6.27.3.4: Damage=1, NWA_V=0), 6/29/00 is reported, the drive spins up."""
    if state.open_track is not None:
        state.damaged = True
    attend(state, "reset")
    if state.medium:
        state.becoming_ready = int(state.faults.get("ready_polls", READY_POLLS))


def create(path, profile="cd-r", capacity=None, formatted=False, drive_writes=True,
           kind="mmc", speed_kbs=0, faults=None, image=None, drive=None):
    """A new blank disc (or, with ``image``, a closed disc holding that
    image -- what a pressed CD-ROM or a finalized disc looks like).
    ``drive_writes=False`` is the older spelling of ``drive="rom"``."""
    number = BY_NAME[profile] if isinstance(profile, str) else profile
    drive = drive or ("writer" if drive_writes else "rom")
    if drive not in DRIVE_KINDS:
        raise ValueError(f"drive kind {drive!r}: one of {', '.join(DRIVE_KINDS)}")
    state = DiscState(profile=number, capacity=capacity or capacity_for(profile),
                      kind=kind, drive=drive, formatted=formatted,
                      speed_kbs=speed_kbs, faults=dict(faults or {}))
    with open(path, "wb") as f:
        if image is not None:
            with open(image, "rb") as src:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    f.write(chunk)
    if image is not None:
        size = (os.path.getsize(path) + 2047) // 2048
        state.tracks = [Track(0, size, 1)]
        state.closed_sessions = 1
        state.status = "complete"
        state.nwa = state.recorded_end = size
        state.formatted = True
    save(path, state)
    return state
