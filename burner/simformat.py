"""Blanking and formatting in the simulated drive: BLANK (MMC-6 §6.2),
FORMAT UNIT (§6.5) and READ FORMAT CAPACITIES (§6.24), per profile as
docs/burner-sim-contract.md item 5 says.  A blank BD-R SRM takes format type
32h: with subtype 00b (SRM+POW, on a drive with feature 0038h) it becomes a
pseudo-overwrite disc (simwrite).

A DVD-RW moves between its two profiles as real discs do: FORMAT UNIT makes
a sequential one (0014h) restricted overwrite (0013h); BLANK makes it
sequential again.
"""

import os

from . import simblank
from .simsense import Check, invalid_cdb_field, invalid_parameter
from .simwrite import _check_writable

BUSY_POLLS = 4          # TEST UNIT READY polls an Immed blank/format stays busy
DVD_RW_ECC = 16         # type-dependent parameter of the DVD-RW formats: ECC block size
BD_FULL_SPARE = 12219392   # BD-RE 31h: no spare areas (the whole user area)
BLANKABLE = (0x0A, 0x13, 0x14)
BD_SUBTYPES = {0x30: {0b00: "full", 0b10: "quick", 0b11: "none"},
               0x31: {0b00: "quick", 0b01: "none"}}
# BD-R format type 32h (MMC-6 §6.5.4): subtype 00b SRM+POW, 01b SRM with spare
# areas and no POW; 10b (RRM) is not offered by this drive.
BD_R_SUBTYPES = {0b00: "pow", 0b01: "srm"}
BD_R_FORMAT = 0x32
BD_CLUSTER = 32                 # sectors per BD cluster (64 KiB): the replacement unit
# Spare area per recording layer (sectors): the default is the BD-RE one this
# sim uses (12,219,392 - 11,826,176: ISA + OSA); the small one is a model value.
BD_R_SPARE_DEFAULT, BD_R_SPARE_SMALL = 393216, 8192
BD_LAYER = 12219392
SEQUENTIAL_TO_RO = (0x00, 0x10, 0x15)   # formats that turn 0014h into 0013h


def offered(st):
    """(format type, blocks, type-dependent parameter) READ FORMAT CAPACITIES
    lists for the medium, in the drive's order."""
    cap = st.capacity
    if st.profile == 0x1A:
        return [(0x26, cap, 0)]
    if st.profile == 0x14:
        return [(0x00, cap, DVD_RW_ECC), (0x10, cap, DVD_RW_ECC), (0x15, cap, DVD_RW_ECC)]
    if st.profile == 0x13:
        return [(0x00, cap, DVD_RW_ECC), (0x10, cap, DVD_RW_ECC), (0x11, cap, DVD_RW_ECC),
                (0x13, cap, DVD_RW_ECC)]
    if st.profile == 0x43:
        return [(0x00, cap, 0), (0x30, cap, 0), (0x31, max(cap, BD_FULL_SPARE), 0)]
    if st.profile == 0x41 and _blank_bd_r(st):
        layers = max(1, round(cap / BD_LAYER))
        return [(BD_R_FORMAT, cap - layers * BD_R_SPARE_DEFAULT, 0),
                (BD_R_FORMAT, cap - layers * BD_R_SPARE_SMALL, 0)]
    return []


def _blank_bd_r(st):
    """Format type 32h is for a blank BD-R only (nothing written, not formatted)."""
    return st.status == "blank" and not st.formatted and st.open_track is None \
        and not st.recorded_end


def read_format_capacities(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    kind = 2 if st.formatted else 1
    descs = st.capacity.to_bytes(4, "big") + bytes([kind]) + (2048).to_bytes(3, "big")
    if sim.drive_kind.writes_profile(st.profile):
        for fmt_type, blocks, param in offered(st):
            descs += blocks.to_bytes(4, "big") + bytes([fmt_type << 2]) \
                + param.to_bytes(3, "big")
    reply = bytes([0, 0, 0, len(descs)]) + descs
    return reply[:int.from_bytes(cdb[7:9], "big")]


def _parse_format_request(sim, cdb, data):
    """Check the CDB and the format descriptor against what is offered;
    returns (format type, subtype, blocks)."""
    if not cdb[1] & 0x10 or cdb[1] & 7 != 1:       # FmtData=1, format code 001b
        raise invalid_cdb_field(1, 4 if not cdb[1] & 0x10 else 2)
    data = bytes(data or b"")
    if len(data) < 12:
        raise Check(5, 0x1A, 0x00)
    if int.from_bytes(data[2:4], "big") != 8:
        raise invalid_parameter(2, 7)
    blocks = int.from_bytes(data[4:8], "big")
    fmt_type, subtype = data[8] >> 2, data[8] & 3
    param = int.from_bytes(data[9:12], "big")
    kinds = [o for o in offered(sim.state) if o[0] == fmt_type]
    if not kinds:
        raise invalid_parameter(8, 7)
    match = kinds[0]
    if fmt_type == BD_R_FORMAT:
        # the spare area size is chosen by sending one of the offered counts
        match = next((o for o in kinds if o[1] == blocks), None)
        if match is None:
            raise invalid_parameter(4, 7)
        if subtype not in BD_R_SUBTYPES or \
                (subtype == 0b00 and not sim.drive_kind.pseudo_overwrite):
            raise invalid_parameter(8, 1)         # SRM+POW needs feature 0038h
    elif fmt_type in BD_SUBTYPES:
        if subtype not in BD_SUBTYPES[fmt_type]:
            raise invalid_parameter(8, 1)
    elif subtype:
        raise invalid_parameter(8, 1)
    if blocks > match[1] and not (fmt_type == 0x26 and blocks == 0xFFFFFFFF):
        raise invalid_parameter(4, 7)
    if param != match[2]:
        raise invalid_parameter(9, 7)
    return fmt_type, subtype, blocks


def _erase_structure(st):
    st.tracks, st.closed_sessions, st.status = [], 0, "blank"
    st.nwa = st.recorded_end = 0
    st.open_track, st.damaged, st.reserved, st.sao = None, False, None, None


def format_unit(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    _check_writable(sim)
    fmt_type, subtype, blocks = _parse_format_request(sim, cdb, data)
    polls = BUSY_POLLS
    if st.profile == 0x14 and fmt_type in SEQUENTIAL_TO_RO:
        _erase_structure(st)
        st.profile, st.quick_blanked = 0x13, False   # now restricted overwrite
        sim.page05 = None
    elif st.profile == 0x13 and fmt_type in (0x00, 0x10):
        st.recorded_end = 0                          # a new format: old data gone
    if fmt_type in BD_SUBTYPES:
        st.certification = BD_SUBTYPES[fmt_type][subtype]
        polls *= 3 if st.certification == "full" else 1
    elif fmt_type == BD_R_FORMAT:
        _format_bd_r(st, subtype, blocks)
    st.formatted = True
    sim.save()
    sim.busy = sim.busy_total = polls
    return b""


def _format_bd_r(st, subtype, blocks):
    """The spare areas come out of the user data area: the user capacity
    becomes ``blocks``; with SRM+POW their clusters take pseudo-overwrites."""
    st.pow_spare = (st.capacity - blocks) // BD_CLUSTER
    st.capacity = blocks
    st.pow = BD_R_SUBTYPES[subtype] == "pow"


def blank(sim, cdb, data):
    """Types 000b (the whole disc), 001b (minimal), 010b (a track), 101b
    (unclose the last session) and 110b (the last session), MMC-6 §6.2; a
    DVD-RW becomes sequential (0014h), and after a minimal blank takes DAO
    only.  The partial types need a sequential CD-RW/DVD-RW (simblank)."""
    sim.need_medium()
    st = sim.state
    _check_writable(sim)
    if st.profile not in BLANKABLE:
        raise Check(5, 0x30, 0x05)
    kind = cdb[1] & 7
    if kind in simblank.PARTIAL:
        simblank.blank_partially(sim, kind, int.from_bytes(cdb[2:6], "big"))
        sim.page05 = None
        sim.save()
        sim.busy = sim.busy_total = BUSY_POLLS
        return b""
    if kind not in (0, 1):
        raise invalid_cdb_field(1, 2)
    if kind == 0:
        os.ftruncate(sim.fd, 0)
    _erase_structure(st)
    if st.profile in (0x13, 0x14):
        st.profile, st.formatted, st.quick_blanked = 0x14, False, kind == 1
    sim.page05 = None
    sim.save()
    sim.busy = sim.busy_total = BUSY_POLLS * (3 if kind == 0 else 1)
    return b""
