"""The simulated drive's GET PERFORMANCE (ACh), READ DISC STRUCTURE (ADh) and
SEND DISC STRUCTURE (BFh) answers.

Each answer is a function of the sim's ``simstate.DiscState`` (and, for the
layer break, the disc's path) with the CDB and data-out that returns the
reply bytes or raises the sim's CHECK CONDITION (``simsense.Check``); the
``handle_*`` functions at the end are the ``sim.DISPATCH`` entries.  The speeds per medium are what
real drives of each kind list (docs/mmc-performance.md says where the
numbers come from); the layer break is kept in ``PATH.layers.json`` next to
the disc so it survives a re-open without touching the state file's format.
"""

import json
import os
from dataclasses import asdict, dataclass
from typing import Optional

from . import layers, performance, simkinds, simstate
from .profiles import profile as profile_info
from .simsense import Check, invalid_cdb_field, invalid_parameter
from isofuse.format.sectors import round_up

ONE_LAYER_BD = 12219392         # BD-R 25 GB; larger BD-R are dual/triple layer

# Write speeds (Nx, fastest first) and the read speed each medium lists.
SPEEDS = {
    0x09: ((48, 40, 32, 24, 16, 8, 4), 48),          # CD-R
    0x0A: ((24, 16, 10, 4), 40),                     # CD-RW (high/ultra speed)
    0x11: ((16, 12, 8, 6, 4, 2), 16),                # DVD-R
    0x13: ((6, 4, 2), 12),                           # DVD-RW restricted overwrite
    0x14: ((6, 4, 2), 12),                           # DVD-RW sequential
    0x15: ((8, 6, 4, 2), 12),                        # DVD-R DL
    0x1A: ((8, 4, 2.4), 12),                         # DVD+RW
    0x1B: ((16, 12, 8, 6, 4, 2.4), 16),              # DVD+R
    0x2B: ((8, 6, 4, 2.4), 12),                      # DVD+R DL
    0x41: ((12, 10, 8, 6, 4, 2), 12),                # BD-R SRM
    0x42: ((12, 10, 8, 6, 4, 2), 12),                # BD-R RRM
    0x43: ((2,), 8),                                 # BD-RE
}
BD_MULTI_LAYER = {2: ((8, 6, 4, 2), 8), 3: ((4, 2), 6)}   # BD-R 50 GB, 100 GB
EXACT = 0x02                    # descriptor byte 0 as real drives send it (Exact, WRC 00b)


def _need_medium(state):
    if not state.medium:
        raise Check(2, 0x3A, 0x00)


def _drive(state):
    return simkinds.kind(state.drive)


# ---- GET PERFORMANCE -------------------------------------------------------------------------
def medium_speeds_kbs(state):
    """(write speeds kB/s fastest first, read kB/s) for the loaded medium,
    capped by the disc's ``speed_kbs`` throttle: the sim never offers a
    speed it will not write at; a throttle below every speed is itself the
    one speed listed."""
    table = SPEEDS.get(state.profile)
    if table is None:
        return [], 0
    if state.profile in (0x41, 0x42) and state.capacity > ONE_LAYER_BD:
        table = BD_MULTI_LAYER[2 if state.capacity <= 2 * ONE_LAYER_BD else 3]
    one_x = profile_info(state.profile).one_x_kbs
    writes = [round(x * one_x) for x in table[0]]
    read = round(table[1] * one_x)
    if state.speed_kbs:
        writes = [w for w in writes if w <= state.speed_kbs] or [state.speed_kbs]
    return writes, read


def _reply(flag_byte, descriptors, wanted):
    """Header counting every descriptor, then as many as the host asked for
    (the allocation length truncates the rest, as SPC wants)."""
    length = 4 + performance.DESCRIPTOR * len(descriptors)
    return length.to_bytes(4, "big") + bytes([flag_byte, 0, 0, 0]) + b"".join(descriptors[:wanted])


def _write_speed_reply(state, wanted):
    drive = _drive(state)
    if not drive.writes:
        raise invalid_cdb_field(10)      # a ROM drive has no write speed descriptors
    writes, read = medium_speeds_kbs(state)
    if not drive.writes_profile(state.profile):
        writes = []                      # a combo drive holding a DVD: nothing to list
    end = max(state.capacity, 1) - 1
    descs = [bytes([EXACT, 0, 0, 0]) + end.to_bytes(4, "big") + read.to_bytes(4, "big")
             + w.to_bytes(4, "big") for w in writes]
    return _reply(0, descs, wanted)


def in_effect(writes, requested_kbs):
    """The speed a drive picks for a SET STREAMING / SET CD SPEED request:
    the fastest it has that is not above the request, else its slowest."""
    if not requested_kbs:
        return writes[0]
    return next((w for w in writes if w <= requested_kbs), writes[-1])


def _performance_reply(state, cdb, wanted, requested_kbs):
    write = bool(cdb[1] & 0x04)
    exceptions = cdb[1] & 3
    if exceptions == 3:
        raise invalid_cdb_field(1, 0)    # Except 11b is reserved
    start = int.from_bytes(cdb[2:6], "big")
    end = max(state.capacity, 1) - 1
    if start > end:
        raise Check(5, 0x21, 0x00)
    writes, read = medium_speeds_kbs(state)
    if write and (not writes or not _drive(state).writes_profile(state.profile)):
        speed = 0
    else:
        speed = in_effect(writes, requested_kbs) if write else read
    descs = [] if exceptions == performance.EXCEPT_ONLY else [
        start.to_bytes(4, "big") + speed.to_bytes(4, "big") + end.to_bytes(4, "big")
        + speed.to_bytes(4, "big")]
    return _reply(0x02 if write else 0, descs, wanted)


def get_performance(state, cdb, requested_kbs=0):
    """ACh: type 03h write speed descriptors, type 00h nominal performance
    (no exceptions: the simulated disc has no slow zones); other types
    5/24/00."""
    _need_medium(state)
    kind = cdb[10]
    wanted = int.from_bytes(cdb[8:10], "big")
    if kind == performance.TYPE_WRITE_SPEED:
        return _write_speed_reply(state, wanted)
    if kind == performance.TYPE_PERFORMANCE:
        return _performance_reply(state, cdb, wanted, requested_kbs)
    raise invalid_cdb_field(10)


# ---- the layer break --------------------------------------------------------------------------
def layers_path(path):
    return os.fspath(path) + ".layers.json"


@dataclass
class LayerState:
    l0_capacity: int
    set_by_host: bool = False


def default_l0(state):
    """A blank DL disc's layer 0: half the disc, in whole ECC blocks."""
    return state.capacity // 2 // layers.ECC_BLOCK * layers.ECC_BLOCK


def load_layers(path, state):
    try:
        with open(layers_path(path)) as f:
            return LayerState(**json.load(f))
    except FileNotFoundError:
        return LayerState(default_l0(state))


def _save_layers(path, layer_state):
    # written in place: no new file needed in the disc's folder after the first time
    fd = os.open(layers_path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o664)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(layer_state), f)


def recording_started(state):
    return bool(state.recorded_end or state.tracks or state.open_track is not None
                or state.status != "blank")


def _dl_structure(state, cdb):
    """The checks both structure commands share: a disc, media type DVD,
    format 20h, and a double-layer medium (else 5/24/00: the format does
    not exist for it)."""
    _need_medium(state)
    if cdb[1] & 0x0F != layers.MEDIA_DVD:
        raise invalid_cdb_field(1, 3)
    if cdb[7] != layers.FORMAT_LAYER_BOUNDARY or not layers.is_double_layer(state.profile):
        raise invalid_cdb_field(7)


def read_disc_structure(state, cdb, path):
    """ADh format 20h: the L0 data area capacity and InitStatus (set once a
    host has sent it or recording has begun)."""
    _dl_structure(state, cdb)
    lay = load_layers(path, state)
    fixed = lay.set_by_host or recording_started(state)
    return (layers.STRUCTURE_LENGTH - 2).to_bytes(2, "big") + bytes(2) \
        + bytes([0x80 if fixed else 0, 0, 0, 0]) + lay.l0_capacity.to_bytes(4, "big")


def send_disc_structure(state, cdb, data, path, save=None):
    """BFh format 20h: set layer 0's size before recording.  Refused with
    5/26/00 once the break is fixed (sent before, or recording begun), for
    0 or more than the medium's layer 0; rounded up to a whole ECC block.
    Layer 1 ends at the same radius on an opposite-track-path disc, so the
    disc's capacity becomes twice layer 0."""
    drive = _drive(state)
    if not drive.writes:
        raise Check(5, 0x20, 0x00)       # a ROM drive has no SEND DISC STRUCTURE
    _dl_structure(state, cdb)
    if not drive.writes_profile(state.profile):
        raise Check(5, 0x30, 0x05)       # cannot write this medium in this drive
    if data is None or len(data) < layers.STRUCTURE_LENGTH:
        raise Check(5, 0x1A, 0x00)
    lay = load_layers(path, state)
    if lay.set_by_host or recording_started(state):
        raise invalid_parameter(8)       # the L0 capacity is fixed now
    wanted = int.from_bytes(data[8:12], "big")
    wanted = round_up(wanted, layers.ECC_BLOCK)
    if not 0 < wanted <= lay.l0_capacity:
        raise invalid_parameter(8)
    _save_layers(path, LayerState(wanted, True))
    state.capacity = min(state.capacity, 2 * wanted)
    (save or (lambda: simstate.save(path, state)))()
    return b""


def layer_break(path, state) -> Optional[int]:
    """The first LBA of layer 1 on a simulated DL disc (tests, simtool)."""
    if not layers.is_double_layer(state.profile):
        return None
    return load_layers(path, state).l0_capacity


# ---- sim.DISPATCH entries: (sim, cdb, data) -> bytes --------------------------------------------
def handle_get_performance(sim, cdb, data):
    sim.need_medium()
    return get_performance(sim.state, cdb, sim.requested_kbs)


def handle_read_disc_structure(sim, cdb, data):
    sim.need_medium()
    return read_disc_structure(sim.state, cdb, sim.path)


def handle_send_disc_structure(sim, cdb, data):
    if not sim.drive_kind.writes:
        raise Check(5, 0x20, 0x00)       # before the medium checks: no such command
    sim.need_medium()
    return send_disc_structure(sim.state, cdb, data, sim.path, save=sim.save)
