"""The simulated drive's disc: a plain image file plus a JSON state file.

``sim:PATH`` means: the disc's contents are the (sparse) image file PATH,
readable by ``isofuse mount PATH`` like any image (sessions sit at their
LBAs), and the disc's state -- profile, capacity, blank/appendable/complete,
sessions and tracks, formatting, injected faults -- is kept in
``PATH.state.json`` so one disc can be written run after run.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from .profiles import BY_NAME, CAPACITY, PROFILES


def state_path(path):
    return os.fspath(path) + ".state.json"


@dataclass
class Track:
    start: int
    size: int
    session: int

    @property
    def end(self):
        return self.start + self.size


@dataclass
class DiscState:
    profile: int
    capacity: int
    kind: str = "mmc"               # "mmc", or "disk" (not an MMC device at all)
    drive_writes: bool = True       # False: a read-only CD/DVD-ROM drive
    medium: bool = True
    formatted: bool = False         # overwritable media: FORMAT UNIT done
    status: str = "blank"           # blank, appendable, complete
    tracks: List[Track] = field(default_factory=list)
    closed_sessions: int = 0
    nwa: int = 0                    # next writable address (sequential media)
    recorded_end: int = 0           # first sector after everything written
    open_track: Optional[int] = None  # start of a track written but not closed
    speed_kbs: int = 0              # throttle: 0 = as fast as the host sends
    faults: Dict[str, object] = field(default_factory=dict)
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


def load(path):
    with open(state_path(path)) as f:
        raw = json.load(f)
    raw["tracks"] = [Track(**t) for t in raw.get("tracks", [])]
    return DiscState(**raw)


def save(path, state):
    tmp = state_path(path) + ".tmp"
    data = asdict(state)
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, state_path(path))


def create(path, profile="cd-r", capacity=None, formatted=False, drive_writes=True,
           kind="mmc", speed_kbs=0, faults=None, image=None):
    """A new blank disc (or, with ``image``, a closed disc holding that
    image -- what a pressed CD-ROM or a finalized disc looks like)."""
    number = BY_NAME[profile] if isinstance(profile, str) else profile
    state = DiscState(profile=number, capacity=capacity or CAPACITY.get(number, 360000),
                      kind=kind, drive_writes=drive_writes, formatted=formatted,
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
