"""Double-layer DVD (DVD+R DL 2Bh, DVD-R DL 15h): the layer break, and the
speed list ``--list`` shows.

MMC part (pure functions on bytes): READ DISC STRUCTURE (ADh, formerly READ
DVD STRUCTURE) and SEND DISC STRUCTURE (BFh) with format 20h "layer
boundary information": bytes 0-1 structure data length (10), byte 4 bit 7
InitStatus, bytes 8-11 "L0 data area capacity" -- the number of sectors on
layer 0, so the first LBA on layer 1 (the layer break).  InitStatus 0: the
capacity is the medium's default and can still be set; 1: it was set by a
host or recording has begun, and it is fixed.

Burner part (takes a ``drive.Drive`` and a ``drive.Status``, uses only
``Drive.cmd``): choose and send the layer break before the first write as
growisofs does, say where a plan crosses it, and list the write speeds.
Sections and sources: docs/mmc-performance.md.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from . import performance
from .errors import CANNOT_WRITE, TOO_BIG, BurnError
from .sense import ILLEGAL_REQUEST, NOT_READY, ScsiError
from .transport import FROM_DEVICE, MAX_TRANSFER, TO_DEVICE

READ_DISC_STRUCTURE = 0xAD
SEND_DISC_STRUCTURE = 0xBF
MEDIA_DVD = 0x0                 # CDB byte 1 bits 3-0: media type 0 = DVD / HD DVD
FORMAT_LAYER_BOUNDARY = 0x20
STRUCTURE_LENGTH = 12           # 4-byte header + 8 bytes of format 20h
ECC_BLOCK = 16                  # DVD ECC block: 16 sectors (32 KiB)
DL_PROFILES = (0x15, 0x2B)      # DVD-R DL sequential, DVD+R DL


# ---- MMC: CDBs and the format 20h structure -------------------------------------------------
def read_layer_boundary(length=STRUCTURE_LENGTH):
    """READ DISC STRUCTURE CDB: byte 1 media type, bytes 2-5 address, byte 6
    layer, byte 7 format, bytes 8-9 allocation length, byte 10 AGID."""
    return bytes([READ_DISC_STRUCTURE, MEDIA_DVD]) + bytes(5) \
        + bytes([FORMAT_LAYER_BOUNDARY]) + length.to_bytes(2, "big") + bytes(2)


def send_layer_boundary(length=STRUCTURE_LENGTH):
    """SEND DISC STRUCTURE CDB: byte 1 media type, byte 7 format, bytes 8-9
    parameter list length, byte 10 AGID."""
    return bytes([SEND_DISC_STRUCTURE, MEDIA_DVD]) + bytes(5) \
        + bytes([FORMAT_LAYER_BOUNDARY]) + length.to_bytes(2, "big") + bytes(2)


def layer_boundary_parameters(l0_capacity):
    """The SEND parameter list: data length 10, bytes 4-7 reserved, bytes
    8-11 the L0 data area capacity."""
    return (STRUCTURE_LENGTH - 2).to_bytes(2, "big") + bytes(6) + l0_capacity.to_bytes(4, "big")


@dataclass(frozen=True)
class LayerBoundary:
    l0_capacity: int        # sectors on layer 0 = first LBA of layer 1
    fixed: bool             # InitStatus: set by a host or recording began


def parse_layer_boundary(data):
    """Format 20h reply; a structure length under 10 is refused (the field
    would be missing -- dvd+rw-mediainfo calls it insane)."""
    if len(data) < STRUCTURE_LENGTH or int.from_bytes(data[0:2], "big") < STRUCTURE_LENGTH - 2:
        raise ValueError(f"layer boundary information of {len(data)} bytes, structure length "
                         f"{int.from_bytes(data[0:2], 'big') if len(data) >= 2 else 0}: "
                         "not format 20h")
    return LayerBoundary(int.from_bytes(data[8:12], "big"), bool(data[4] & 0x80))


# ---- the layer break ------------------------------------------------------------------------
def is_double_layer(profile):
    return profile in DL_PROFILES


def choose_layer_break(blocks, default_l0):
    """growisofs' choice: an image that fits on layer 0 keeps the drive's
    default (None: nothing to send); a larger one is split in half, rounded
    up to a whole ECC block, so both layers hold about the same and layer 1
    is never longer than layer 0 (opposite track path).  An image larger
    than both layers at their default cannot be split: TOO_BIG."""
    if blocks <= default_l0:
        return None
    if blocks > 2 * default_l0:
        raise BurnError(f"{blocks} sectors do not fit on the two layers "
                        f"({2 * default_l0} sectors)", TOO_BIG)
    ecc_blocks = -(-blocks // ECC_BLOCK)
    return -(-ecc_blocks // 2) * ECC_BLOCK


def break_in_plan(start, blocks, l0_capacity):
    """The first LBA on layer 1 when the sectors [start, start+blocks) cross
    the layer break, else None (all on one layer)."""
    if l0_capacity is None or not start < l0_capacity < start + blocks:
        return None
    return l0_capacity


@dataclass
class LayerDecision:
    """What ``prepare_layer_break`` did, for the progress output."""
    l0_capacity: Optional[int]          # layer 0 size in effect (None: unknown)
    sent: bool = False                  # SEND DISC STRUCTURE was sent
    break_lba: Optional[int] = None     # where the plan crosses to layer 1
    note: str = ""


def read_boundary(drive):
    """READ DISC STRUCTURE format 20h through ``drive.cmd``."""
    return parse_layer_boundary(drive.cmd(read_layer_boundary(), FROM_DEVICE,
                                          length=STRUCTURE_LENGTH))


def prepare_layer_break(drive, status, plan, multi=False):
    """Before the first write on a DL disc: keep the drive's layer break or
    send growisofs' choice.  Only a single-session burn of the first track
    sets it: a smaller layer 0 shrinks the disc to twice its size, which
    would leave no room for the sessions ``--multi`` keeps the disc open
    for.  A drive that cannot report the boundary keeps its default (a
    correct disc either way); a drive that refuses the break we send stops
    the burn before anything is written."""
    if not is_double_layer(status.profile):
        return LayerDecision(None, note="single-layer medium")
    try:
        boundary = read_boundary(drive)
    except (ScsiError, ValueError) as exc:
        return LayerDecision(None, note=f"layer boundary not reported ({exc}): drive default")
    decision = LayerDecision(boundary.l0_capacity)
    if boundary.fixed or multi or plan.start != 0:
        why = "fixed on the disc" if boundary.fixed else \
            "kept for later sessions (--multi)" if multi else "not the first track"
        decision.note = f"layer 0 holds {boundary.l0_capacity} sectors ({why})"
    else:
        chosen = choose_layer_break(plan.blocks, boundary.l0_capacity)
        if chosen is None:
            decision.note = f"the image fits on layer 0 ({boundary.l0_capacity} sectors)"
        else:
            _send_break(drive, status, chosen)
            decision.l0_capacity, decision.sent = chosen, True
            decision.note = f"layer break set at sector {chosen}"
    decision.break_lba = break_in_plan(plan.start, plan.blocks, decision.l0_capacity)
    return decision


def _send_break(drive, status, l0_capacity):
    data = layer_boundary_parameters(l0_capacity)
    try:
        drive.cmd(send_layer_boundary(len(data)), TO_DEVICE, data, timeout=180)
    except ScsiError as exc:
        # nothing is written yet: the disc is untouched
        raise BurnError(f"{status.device}: the drive refused the layer break at sector "
                        f"{l0_capacity}: {exc.sense}; nothing was written", CANNOT_WRITE) \
            from None


# ---- the speed list for --list --------------------------------------------------------------
UNSUPPORTED = {(ILLEGAL_REQUEST, 0x20), (ILLEGAL_REQUEST, 0x24)}
FIRST_ASK = 32                  # descriptors asked for at first (real drives have < 16)


@dataclass
class SpeedReport:
    """The write speeds of the loaded medium, or why there are none."""
    speeds: List[performance.WriteSpeed] = field(default_factory=list)
    x: List[float] = field(default_factory=list)    # distinct speeds as Nx, fastest first
    reason: str = ""                                # set when ``speeds`` is empty

    def text(self):
        if self.x:
            return ", ".join(performance.format_x(x) for x in self.x)
        return f"not reported ({self.reason})"

    def as_dict(self):
        return {"write_speeds_x": self.x,
                "write_speeds_kbs": [s.write_kbs for s in self.speeds],
                **({"speeds_reason": self.reason} if not self.x else {})}


def _ask_speeds(drive, count):
    return drive.cmd(performance.get_performance(performance.TYPE_WRITE_SPEED, count),
                     FROM_DEVICE, length=performance.reply_length(count))


def list_speeds(drive, status):
    """GET PERFORMANCE type 03h for ``--list``: the medium's write speeds.
    A drive without the command or the type (5/20/00, 5/24/00) gives an
    empty list with the reason, as does no disc; a reply that cannot be
    decoded says so instead of showing made-up speeds."""
    if not status.medium:
        return SpeedReport(reason="no disc")
    most = (MAX_TRANSFER - performance.HEADER) // performance.DESCRIPTOR
    try:
        reply = _ask_speeds(drive, FIRST_ASK)
        available = performance.parse_header(reply).available
        if available > FIRST_ASK:                  # the header counts them all: ask again
            reply = _ask_speeds(drive, min(available, most))
        speeds = performance.parse_write_speeds(reply)
    except ScsiError as exc:
        s = exc.sense
        if (s.key, s.asc) in UNSUPPORTED:
            return SpeedReport(reason=f"the drive has no write speed list [{s.key:X}/"
                                      f"{s.asc:02X}/{s.ascq:02X}]")
        if s.key == NOT_READY and s.asc == 0x3A:
            return SpeedReport(reason="no disc")
        return SpeedReport(reason=f"GET PERFORMANCE failed: {s}")
    except performance.PerformanceError as exc:
        return SpeedReport(reason=str(exc))
    x = performance.distinct_write_x(speeds, status.profile_info.one_x_kbs)
    return SpeedReport(speeds, x, "" if x else "the medium has no write speeds")
