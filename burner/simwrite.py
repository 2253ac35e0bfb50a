"""Writing in the simulated drive: WRITE(10) (MMC-6 §6.44), SYNCHRONIZE CACHE
(§6.41), CLOSE TRACK/SESSION (§6.3), RESERVE TRACK (§6.31), speeds and the
buffer; the ends of tracks and sessions follow docs/burner-sim-contract.md 2.
"""

import os

from . import simcue, simpage05, simpow
from .simbuffer import BUFFER_BYTES
from .simdisc import FFH_PROFILES, SECTOR
from .simsense import Check, invalid_cdb_field, invalid_parameter, sequence_error
from .simstate import Track
from isofuse.format.sectors import round_up

TAO_RUNOUT = 2                     # CD TAO: run-out sectors the drive adds to a track
# Where the next session starts, counted from the end of the last track
# (run-out included).  CD: lead-out + lead-in + pre-gap (6750+4500+150 first,
# 2250+4500+150 later).  DVD/BD: docs/simulated-drive.md says where from.
SESSION_GAP = {"cd": (11400, 6900), "dvd-r": (16384, 3072), "dvd+r": (2048, 2048),
               "bd-r": (4096, 4096)}
ALIGN = {"cd": 1, "dvd-r": 16, "dvd+r": 16, "bd-r": 32}   # ECC block / BD cluster
FINALIZE_FUNCTIONS = {"cd": (2,), "dvd-r": (2,), "dvd+r": (2, 5, 6), "bd-r": (2, 6)}
CLOSE_TRACK, CLOSE_SESSION = 1, 2
NO_MULTISESSION = (0x15,)          # DVD-R DL sequential: a closed session closes the disc
WRITE_FAULTS = (("remove_at", (2, 0x3A, 0x00)), ("underrun_at", (3, 0x0C, 0x09)),
                ("medium_error_at", (3, 0x0C, 0x00)), ("reset_at", (6, 0x29, 0x00)),
                ("deferred_error_at", None))


def _dao(sim):
    return sim.info.family == "dvd-r" and simpage05.params(sim).write_type == simpage05.WT_DAO


def protected(sim):
    """Buffer-underrun protection: BUFE of page 05h where there is one;
    DVD+R and BD-R drives always link losslessly."""
    if simpage05.has_page05(sim):
        return simpage05.params(sim).bufe
    return True


def write_rate(sim):
    speed = sim.state.speed_kbs
    if sim.requested_kbs and speed:
        speed = min(speed, sim.requested_kbs)
    return speed * 1000.0


# ---- WRITE(10) -----------------------------------------------------------------------------
def _check_writable(sim):
    st = sim.state
    if not sim.drive_kind.writes:
        raise Check(5, 0x20, 0x00)                 # a ROM drive has no WRITE command
    if not sim.drive_kind.writes_profile(st.profile):
        raise Check(5, 0x30, 0x05)                 # cannot write this medium


def _long_write(sim):
    faults = sim.state.faults
    if "long_write" not in faults:
        return
    every, count = faults["long_write"]
    if sim.long_write_left == 0 and sim.writes % every == 0:
        sim.long_write_left = count + 1
    if sim.long_write_left > 1:
        sim.long_write_left -= 1
        raise Check(2, 0x04, 0x08)
    sim.long_write_left = 0


def _check_address(sim, lba, blocks):
    """Refuse a WRITE the medium cannot take here; True when it is a BD-R
    pseudo-overwrite of recorded sectors (simpow)."""
    st = sim.state
    if not st.info.overwritable and st.status != "complete" \
            and simpow.is_overwrite(sim, lba, blocks):
        return True
    if simcue.sao(sim):
        simcue.check_write(sim, lba, blocks)      # CD SAO: in order from the pre-gap
        return False
    if st.info.overwritable:
        if not st.formatted:
            raise Check(5, 0x30, 0x10)
        if st.profile == 0x13 and (lba % 16 or blocks % 16):
            raise Check(5, 0x21, 0x02, info=lba)   # restricted overwrite: whole ECC blocks
    else:
        if st.status == "complete" or st.damaged or lba != st.nwa:
            raise Check(5, 0x21, 0x02, info=lba)
        if _dao(sim):
            if st.reserved is None:
                raise sequence_error()             # DAO: RESERVE TRACK first
            start = st.open_track if st.open_track is not None else st.nwa
            if lba + blocks > start + st.reserved:
                raise Check(5, 0x21, 0x02, info=lba)
    if lba + blocks > st.capacity:
        raise Check(5, 0x63, 0x00)
    return False


def _fault_in(sim, lba, blocks):
    """The first injected write fault inside this WRITE: (name, sense, at)."""
    hit = None
    for name, sense in WRITE_FAULTS:
        at = sim.state.faults.get(name)
        if at is not None and lba <= at < lba + blocks and (hit is None or at < hit[2]):
            hit = (name, sense, at)
    return hit


def _store(sim, lba, payload):
    if lba < 0:                                    # CD SAO pre-gap: not user data
        payload, lba = payload[-lba * SECTOR:], 0
    if not payload or sim.dummy_backup is not None:
        return
    at = sim.state.faults.get("corrupt_at")
    if at is not None and lba <= at < lba + len(payload) // SECTOR:
        payload = bytearray(payload)
        payload[(at - lba) * SECTOR] ^= 0xFF       # silently wrong: --verify must see it
    os.pwrite(sim.fd, payload, lba * SECTOR)


def _advance(sim, lba, stored):
    st = sim.state
    if not st.info.overwritable:
        if st.open_track is None:
            st.open_track = max(lba, 0)            # a SAO track starts at index 1 (LBA 0)
            sim.save()
        st.nwa = lba + stored
    st.recorded_end = max(st.recorded_end, lba + stored)
    sim.save_now_and_then()


def write10(sim, cdb, data):
    sim.need_medium()
    lba = int.from_bytes(cdb[2:6], "big", signed=True)   # CD SAO pre-gap: from -150
    blocks = int.from_bytes(cdb[7:9], "big")
    if data is None or len(data) != blocks * SECTOR:
        raise invalid_cdb_field(7)
    _check_writable(sim)
    _long_write(sim)
    sim.writes += 1
    if simpage05.has_page05(sim) and simpage05.params(sim).test_write:
        sim.start_dummy()
    if sim.state.faults.get("power_calibration") and not sim.calibrated:
        raise Check(3, 0x73, 0x03)
    sim.calibrated = True
    overwrite = _check_address(sim, lba, blocks)
    if overwrite:
        simpow.replace(sim, lba, blocks)           # or 3/32/00: the spare is used up
    fault = _fault_in(sim, lba, blocks)
    stored = blocks if fault is None else fault[2] - lba
    if fault is not None and fault[0] == "reset_at":
        return _reset_mid_write(sim, lba)
    if sim.buffer.accept(stored * SECTOR, write_rate(sim)):
        _starved(sim, lba)
    _store(sim, lba, bytes(data[:stored * SECTOR]))
    if overwrite:
        sim.save_now_and_then()                    # remapped: the NWA stays
    else:
        _advance(sim, lba, stored)
    if fault is not None:
        _fail_write(sim, fault)
    return b""


def _starved(sim, lba):
    """The buffer ran dry before this WRITE arrived."""
    st = sim.state
    if protected(sim):
        st.underrun_protection_events += 1       # paused, resumed: nothing lost
        sim.save()
        return
    if not st.info.overwritable and st.open_track is not None:
        st.damaged = True                        # the laser stopped mid-track
    sim.save()
    raise Check(3, 0x0C, 0x09, info=lba)


def _reset_mid_write(sim, lba):
    """A bus reset while writing: the command is aborted and reports 6/29/00;
    the drive's buffer (this WRITE and what it still held) is lost; the open
    track is damaged (contract item 6)."""
    st = sim.state
    lost = sim.buffer.lose()
    if not st.info.overwritable and st.open_track is not None:
        st.nwa = max(st.open_track, lba - lost)
        st.recorded_end = max([st.nwa] + [t.end for t in st.tracks])
        st.damaged = True
    sim.save()
    raise Check(6, 0x29, 0x00)


def _fail_write(sim, fault):
    name, sense, at = fault
    st = sim.state
    if name == "deferred_error_at":
        # the WRITE was taken into the buffer; writing sector ``at`` to the
        # disc fails later: the next command hears of it (response code 71h)
        st.deferred = [3, 0x0C, 0x00, at]
        if not st.info.overwritable and st.open_track is not None:
            st.damaged = True
        sim.save()
        return
    if name == "remove_at":
        st.medium = False
        if not st.info.overwritable and st.open_track is not None:
            st.damaged = True
    sim.save()
    raise Check(*sense, info=at if sense[0] == 3 else None)


# ---- the ends of tracks and sessions -------------------------------------------------------
def _close_open_track(sim, runout=0):
    st = sim.state
    start = st.open_track
    st.tracks.append(Track(start, st.nwa - start + runout, st.closed_sessions + 1, runout))
    st.nwa += runout
    st.recorded_end = max(st.recorded_end, st.nwa)
    st.open_track, st.damaged, st.reserved = None, False, None
    if st.status == "blank":
        st.status = "appendable"


def synchronize_cache(sim, cdb, data):
    """Flush the buffer.  CD TAO: this ends the track (2 run-out sectors);
    DVD-R DAO: with the reservation written, the drive closes track, session
    and disc itself."""
    sim.need_medium()
    st = sim.state
    sim.buffer.flush(write_rate(sim))
    if st.open_track is not None and not st.damaged:
        if simcue.sao(sim):
            _finish_sao(sim)
        elif sim.info.family == "cd":
            _close_open_track(sim, TAO_RUNOUT)
        elif _dao(sim) and st.reserved is not None and st.nwa - st.open_track >= st.reserved:
            _close_open_track(sim)
            st.closed_sessions += 1
            st.status = "complete"
    sim.save()
    return b""


def _finish_sao(sim):
    """CD SAO: with the track written up to the lead-out the drive writes
    lead-in and lead-out and closes the session (no run-out, no CLOSE)."""
    if not simcue.finish(sim):
        return
    _close_open_track(sim)
    _fixate(sim, simpage05.params(sim).multisession == 0b11)


def _fixate(sim, keep):
    """The session closed: room for another (``keep``), or the disc closed."""
    st = sim.state
    st.closed_sessions += 1
    if keep and st.profile not in NO_MULTISESSION:
        st.status = "appendable"
        st.nwa = _next_session_start(sim, st.closed_sessions)
    else:
        st.status = "complete"


def _next_session_start(sim, session):
    family = sim.info.family
    first, later = SESSION_GAP[family]
    align = ALIGN[family]
    start = sim.state.tracks[-1].end + (first if session == 1 else later)
    return round_up(start, align)


def _close_track(sim, cdb):
    st = sim.state
    number = int.from_bytes(cdb[4:6], "big")
    expected = len(st.tracks) + 1
    if st.open_track is None:
        raise sequence_error()                   # CD TAO after SYNCHRONIZE CACHE, DAO
    if number != expected and not (number == 0xFF and st.profile in FFH_PROFILES):
        raise invalid_cdb_field(4)
    _close_open_track(sim, TAO_RUNOUT if sim.info.family == "cd" and not st.damaged else 0)


def _close_session(sim, function):
    st = sim.state
    if function not in FINALIZE_FUNCTIONS[sim.info.family]:
        raise invalid_cdb_field(2, 2)
    session = st.closed_sessions + 1
    if st.open_track is None and not st.session_tracks(session) \
            and _finalizes_closed_sessions(sim, function):
        if sim.dummy_backup is None:
            st.status = "complete"               # growisofs -M /dev/dvd=/dev/zero
        return
    if st.open_track is not None or not st.session_tracks(session):
        raise sequence_error()                   # a track still open, or nothing to close
    if sim.dummy_backup is not None:
        return                                   # test write: nothing is fixated
    if simpage05.has_page05(sim):
        keep = simpage05.params(sim).multisession == 0b11 and function == CLOSE_SESSION
    else:
        keep = function == CLOSE_SESSION
    _fixate(sim, keep)


def close_track_session(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    function = cdb[2] & 7
    if st.info.overwritable:
        return b""       # DVD+RW: stops background formatting; others: nothing to close
    if st.status == "complete" or _dao(sim) or simcue.sao(sim):
        raise sequence_error()                   # DAO/SAO closes itself (contract 2)
    if function == CLOSE_TRACK:
        _close_track(sim, cdb)
    else:
        _close_session(sim, function)
    sim.save()
    return b""


def _finalizes_closed_sessions(sim, function):
    """Finalizing a disc whose sessions are all closed (nothing open, no new
    session): DVD+R 101b/110b, BD-R 110b (§6.3.3: the finalize functions
    need no open session); DVD-R/-RW a CLOSE SESSION with page 05h
    multi-session 00b, which closes the disc.  A CD cannot be closed so:
    its last lead-out already points at a next session."""
    st = sim.state
    if st.status != "appendable" or not st.closed_sessions:
        return False
    family = sim.info.family
    if family in ("dvd+r", "bd-r"):
        return function != CLOSE_SESSION
    if family == "dvd-r":
        return function == CLOSE_SESSION and simpage05.params(sim).multisession == 0b00
    return False


def reserve_track(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    if sim.info.family not in ("dvd-r", "dvd+r", "bd-r"):
        raise invalid_cdb_field(0)
    _check_writable(sim)
    if st.status == "complete" or st.open_track is not None:
        raise sequence_error()
    blocks = int.from_bytes(cdb[5:9], "big")
    if not blocks or st.nwa + blocks > st.capacity:
        raise invalid_cdb_field(5)
    st.reserved = blocks
    sim.save()
    return b""


# ---- speed and buffer ----------------------------------------------------------------------
def set_cd_speed(sim, cdb, data):
    write = int.from_bytes(cdb[4:6], "big")
    sim.requested_kbs = 0 if write == 0xFFFF else write
    return b""


def set_streaming(sim, cdb, data):
    """§6.39: performance descriptor; the end LBA may not pass the medium."""
    if not data or len(data) < 28:
        raise Check(5, 0x1A, 0x00)
    end = int.from_bytes(data[8:12], "big")
    if sim.state.medium and end > sim.state.capacity - 1:
        raise invalid_parameter(8, 7)
    sim.requested_kbs = int.from_bytes(data[20:24], "big")
    return b""


def read_buffer_capacity(sim, cdb, data):
    free = sim.buffer.free(write_rate(sim))
    return bytes([0, 10, 0, 0]) + BUFFER_BYTES.to_bytes(4, "big") + free.to_bytes(4, "big")
