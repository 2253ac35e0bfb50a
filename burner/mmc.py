"""SCSI/MMC command builders and reply parsers: pure functions on bytes.

Builders return CDB bytes; parsers take the data a command returned.
Section numbers refer to MMC-6 (T10/1836-D rev 2g) and SPC-4.
"""

import struct
from dataclasses import dataclass, field
from typing import List, Optional

# ---- opcodes --------------------------------------------------------------------------------
TEST_UNIT_READY = 0x00
START_STOP_UNIT = 0x1B
FORMAT_UNIT = 0x04
INQUIRY = 0x12
PREVENT_ALLOW = 0x1E
READ_FORMAT_CAPACITIES = 0x23
READ_CAPACITY = 0x25
READ_10 = 0x28
WRITE_10 = 0x2A
SYNCHRONIZE_CACHE = 0x35
READ_TOC = 0x43
GET_CONFIGURATION = 0x46
READ_DISC_INFORMATION = 0x51
READ_TRACK_INFORMATION = 0x52
RESERVE_TRACK = 0x53
MODE_SELECT_10 = 0x55
MODE_SENSE_10 = 0x5A
CLOSE_TRACK_SESSION = 0x5B
READ_BUFFER_CAPACITY = 0x5C
SEND_CUE_SHEET = 0x5D
BLANK = 0xA1
GET_PERFORMANCE = 0xAC
READ_DISC_STRUCTURE = 0xAD
SET_STREAMING = 0xB6
SEND_DISC_STRUCTURE = 0xBF
SET_CD_SPEED = 0xBB

NAMES = {TEST_UNIT_READY: "TEST UNIT READY", START_STOP_UNIT: "START STOP UNIT",
         FORMAT_UNIT: "FORMAT UNIT", INQUIRY: "INQUIRY", PREVENT_ALLOW: "PREVENT ALLOW",
         READ_FORMAT_CAPACITIES: "READ FORMAT CAPACITIES", READ_CAPACITY: "READ CAPACITY",
         READ_10: "READ(10)", WRITE_10: "WRITE(10)", SYNCHRONIZE_CACHE: "SYNCHRONIZE CACHE",
         READ_TOC: "READ TOC", GET_CONFIGURATION: "GET CONFIGURATION",
         READ_DISC_INFORMATION: "READ DISC INFORMATION",
         READ_TRACK_INFORMATION: "READ TRACK INFORMATION", RESERVE_TRACK: "RESERVE TRACK",
         MODE_SELECT_10: "MODE SELECT(10)", MODE_SENSE_10: "MODE SENSE(10)",
         CLOSE_TRACK_SESSION: "CLOSE TRACK/SESSION", READ_BUFFER_CAPACITY: "READ BUFFER CAPACITY",
         BLANK: "BLANK", SET_STREAMING: "SET STREAMING", SET_CD_SPEED: "SET CD SPEED",
         GET_PERFORMANCE: "GET PERFORMANCE", READ_DISC_STRUCTURE: "READ DISC STRUCTURE",
         SEND_DISC_STRUCTURE: "SEND DISC STRUCTURE", SEND_CUE_SHEET: "SEND CUE SHEET"}

CLOSE_TRACK, CLOSE_SESSION, FINALIZE = 1, 2, 6   # §6.3: close function codes
BLANK_ALL, BLANK_MINIMAL = 0, 1                  # §6.2: blanking types
BLANK_TRACK, BLANK_UNCLOSE, BLANK_SESSION = 2, 5, 6   # §6.2: a track, unclose, last session
INVISIBLE_TRACK = 0xFF                           # §6.27: the track being written


def name(cdb):
    return NAMES.get(cdb[0], f"opcode {cdb[0]:02X}h")


def _u16(v):
    return v.to_bytes(2, "big")


def _u32(v):
    return v.to_bytes(4, "big")


# ---- builders -------------------------------------------------------------------------------
def test_unit_ready():
    return bytes(6)


def inquiry(length=96):
    return bytes([INQUIRY, 0, 0]) + _u16(length) + b"\0"


def get_configuration(rt=0, start=0, length=1024):
    """§6.6: RT 0 all features, 1 current, 2 the one at ``start``."""
    return bytes([GET_CONFIGURATION, rt & 3]) + _u16(start) + bytes(3) + _u16(length) + b"\0"


def read_disc_information(length=34):
    return bytes([READ_DISC_INFORMATION, 0]) + bytes(5) + _u16(length) + b"\0"


def read_track_information(track=INVISIBLE_TRACK, length=36):
    """§6.27: addressing type 1 = by track number (FFh: the invisible track)."""
    return bytes([READ_TRACK_INFORMATION, 1]) + _u32(track) + b"\0" + _u16(length) + b"\0"


def read_toc(fmt=0, track=0, length=804, msf=False):
    return bytes([READ_TOC, 0x02 if msf else 0, fmt & 0x0F, 0, 0, 0, track]) \
        + _u16(length) + b"\0"


def read_capacity():
    return bytes([READ_CAPACITY]) + bytes(9)


def mode_sense(page, length=256):
    """MODE SENSE(10) with DBD (no block descriptors), current values."""
    return bytes([MODE_SENSE_10, 0x08, page & 0x3F]) + bytes(4) + _u16(length) + b"\0"


def mode_select(length):
    """MODE SELECT(10) with PF (page format)."""
    return bytes([MODE_SELECT_10, 0x10]) + bytes(5) + _u16(length) + b"\0"


def write10(lba, blocks):
    """§6.44; a CD SAO pre-gap starts at LBA -150: the LBA field is two's
    complement (§4.2.2.3: negative addresses lie in the lead-in area)."""
    return bytes([WRITE_10, 0]) + (lba & 0xFFFFFFFF).to_bytes(4, "big") + b"\0" \
        + _u16(blocks) + b"\0"


def read10(lba, blocks):
    return bytes([READ_10, 0]) + _u32(lba) + b"\0" + _u16(blocks) + b"\0"


def synchronize_cache(immed=True):
    return bytes([SYNCHRONIZE_CACHE, 0x02 if immed else 0]) + bytes(8)


def close_track_session(function, track=0, immed=True):
    return bytes([CLOSE_TRACK_SESSION, 0x01 if immed else 0, function & 7, 0]) \
        + _u16(track) + bytes(4)


def blank(kind=BLANK_MINIMAL, immed=True, address=0):
    """§6.2: byte 1 Immed bit 4, blanking type bits 2-0; bytes 2-5 the start
    address / track number (the track for type 010b, 0 otherwise)."""
    return bytes([BLANK, (0x10 if immed else 0) | (kind & 7)]) + _u32(address) + bytes(6)


def send_cue_sheet(length):
    """§6.33 SEND CUE SHEET: bytes 6-8 the cue sheet size in bytes."""
    return bytes([SEND_CUE_SHEET]) + bytes(5) + length.to_bytes(3, "big") + b"\0"


def format_unit(immed=True):
    """§6.5: FmtData=1, format code 001; the parameter list follows."""
    return bytes([FORMAT_UNIT, 0x11]) + bytes(4)


def format_parameters(blocks, fmt_type, param=0, immed=True, subtype=0):
    """Format list header (§6.5.3.2) + one format descriptor (§6.5.3.3):
    number of blocks, byte 4 format type (bits 7-2) and format subtype
    (bits 1-0, BD-RE's certification choice for type 30h), then the
    type-dependent parameter exactly as READ FORMAT CAPACITIES offered it."""
    header = bytes([0, 0x82 if immed else 0x80]) + _u16(8)   # FOV + Immed
    return header + _u32(blocks) + bytes([fmt_type << 2 | (subtype & 3)]) \
        + param.to_bytes(3, "big")


def read_format_capacities(length=252):
    return bytes([READ_FORMAT_CAPACITIES]) + bytes(6) + _u16(length) + b"\0"


def reserve_track(blocks):
    return bytes([RESERVE_TRACK, 0]) + bytes(3) + _u32(blocks) + b"\0"


def set_cd_speed(read_kbs=0xFFFF, write_kbs=0xFFFF):
    return bytes([SET_CD_SPEED, 0]) + _u16(read_kbs) + _u16(write_kbs) + bytes(6)


def set_streaming(length=28):
    return bytes([SET_STREAMING]) + bytes(8) + _u16(length) + b"\0"


def streaming_descriptor(end_lba, read_kbs, write_kbs):
    """§6.39.3 performance descriptor: speeds as kB per 1000 ms."""
    return bytes([0, 0, 0, 0]) + _u32(0) + _u32(end_lba) + _u32(read_kbs) + _u32(1000) \
        + _u32(write_kbs) + _u32(1000)


def read_buffer_capacity():
    return bytes([READ_BUFFER_CAPACITY]) + bytes(6) + _u16(12) + b"\0"


def start_stop(eject=False, start=True):
    return bytes([START_STOP_UNIT, 0, 0, 0, (0x02 if eject else 0) | (0x01 if start else 0), 0])


def prevent_allow(prevent):
    return bytes([PREVENT_ALLOW, 0, 0, 0, 0x01 if prevent else 0, 0])


# ---- reply parsers --------------------------------------------------------------------------
@dataclass
class Inquiry:
    peripheral_type: int
    vendor: str
    product: str
    revision: str

    @property
    def is_mmc(self):
        return self.peripheral_type == 5      # SPC-4 table 49: CD/DVD device


def parse_inquiry(data):
    """SPC-4 §6.4.2 standard INQUIRY data."""
    text = lambda b: b.decode("ascii", "replace").strip()  # noqa: E731
    return Inquiry(data[0] & 0x1F, text(data[8:16]), text(data[16:32]), text(data[32:36]))


@dataclass
class Configuration:
    current_profile: int
    profiles: List[int] = field(default_factory=list)


def parse_configuration(data):
    """§6.6.2: header bytes 6-7 current profile; feature 0000h lists profiles."""
    if len(data) < 8:
        return Configuration(0)
    cfg = Configuration(int.from_bytes(data[6:8], "big"))
    end = min(len(data), 4 + int.from_bytes(data[0:4], "big"))
    pos = 8
    while pos + 4 <= end:
        code = int.from_bytes(data[pos:pos + 2], "big")
        add = data[pos + 3]
        if code == 0x0000:
            for p in range(pos + 4, min(pos + 4 + add, end), 4):
                cfg.profiles.append(int.from_bytes(data[p:p + 2], "big"))
        pos += 4 + add
    return cfg


DISC_BLANK, DISC_APPENDABLE, DISC_COMPLETE, DISC_OTHER = 0, 1, 2, 3
SESSION_EMPTY, SESSION_INCOMPLETE, SESSION_COMPLETE = 0, 1, 3
STATUS_NAMES = {0: "blank", 1: "appendable", 2: "complete", 3: "other"}


@dataclass
class DiscInfo:
    erasable: bool
    last_session_state: int
    status: int
    first_track: int
    sessions: int
    first_track_last_session: int
    last_track_last_session: int

    @property
    def status_name(self):
        return STATUS_NAMES[self.status]


def parse_disc_information(data):
    """§6.22.3.1 standard disc information: byte 2 bit 4 erasable, bits 3-2
    state of the last session, bits 1-0 disc status; sessions and track
    numbers split in LSB (bytes 4-6) and MSB (bytes 9-11)."""
    b2 = data[2]
    msb = lambda i: data[i] if len(data) > i else 0  # noqa: E731
    return DiscInfo(bool(b2 & 0x10), (b2 >> 2) & 3, b2 & 3, data[3],
                    data[4] | msb(9) << 8, data[5] | msb(10) << 8, data[6] | msb(11) << 8)


@dataclass
class TrackInfo:
    track: int
    session: int
    start: int
    next_writable: Optional[int]
    free_blocks: int
    size: int
    blank: bool
    last_recorded: Optional[int]
    damaged: bool = False
    reserved: bool = False


def parse_track_information(data):
    """§6.27.3: byte 5 bit 5 Damage, bits 3-0 track mode; byte 6 bit 7 RT
    (reserved track), bit 6 Blank; byte 7 bit 0 NWA_V, bit 1 LRA_V; bytes
    8-11 start, 12-15 next writable address, 16-19 free blocks, 24-27 size,
    28-31 last recorded address; bytes 32-33 the MSBs of track and session."""
    u32 = lambda i: int.from_bytes(data[i:i + 4], "big")  # noqa: E731
    nwa_valid = bool(data[7] & 0x01)
    lra_valid = bool(data[7] & 0x02) and len(data) >= 32
    return TrackInfo(data[2] | (data[32] << 8 if len(data) > 32 else 0),
                     data[3] | (data[33] << 8 if len(data) > 33 else 0),
                     u32(8), u32(12) if nwa_valid else None, u32(16), u32(24),
                     bool(data[6] & 0x40), u32(28) if lra_valid else None,
                     bool(data[5] & 0x20), bool(data[6] & 0x80))


@dataclass
class TocSession:
    first_session: int
    last_session: int
    last_session_start: int


def parse_toc_session(data):
    """§6.26.3.3 format 0001b: first/last complete session, then the start
    (LBA) of the first track in the last complete session."""
    return TocSession(data[2], data[3], struct.unpack(">i", data[8:12])[0])


def parse_toc_tracks(data):
    """§6.26.3.2 format 0000b: 8-byte descriptors (track number at byte 2,
    start LBA at 4-7); AAh is the lead-out."""
    end = min(len(data), 2 + int.from_bytes(data[0:2], "big"))
    out = []
    for pos in range(4, end - 7, 8):
        out.append((data[pos + 2], struct.unpack(">i", data[pos + 4:pos + 8])[0]))
    return out


def parse_read_capacity(data):
    """SBC: last logical block address, block length."""
    return int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")


def mode_page(data):
    """The first page of a MODE SENSE(10) reply, past the 8-byte header and
    the block descriptors (SPC-4 §7.5.5)."""
    skip = 8 + int.from_bytes(data[6:8], "big")
    page = data[skip:]
    if len(page) < 2:
        return b""
    return page[:2 + page[1]]


@dataclass
class FormatCapacities:
    current_blocks: int
    current_type: int          # 1 unformatted, 2 formatted, 3 no medium
    formats: List[tuple]       # (blocks, format type, type-dependent parameter)

    @property
    def formatted(self):
        return self.current_type == 2


def parse_format_capacities(data):
    """§6.24.3: 4-byte header, current/maximum capacity descriptor (descriptor
    type in byte 4 bits 1-0), then formattable capacity descriptors (format
    type in byte 4 bits 7-2)."""
    length = data[3]
    caps = FormatCapacities(int.from_bytes(data[4:8], "big"), data[8] & 3, [])
    for pos in range(12, min(len(data), 4 + length), 8):
        caps.formats.append((int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4] >> 2,
                             int.from_bytes(data[pos + 5:pos + 8], "big")))
    return caps


@dataclass
class BufferCapacity:
    size: int
    free: int

    @property
    def fill(self):
        return 0.0 if not self.size else max(0.0, 1 - self.free / self.size)


def parse_buffer_capacity(data):
    """§6.20.3: bytes 4-7 buffer length, 8-11 blank length (free)."""
    return BufferCapacity(int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big"))


# ---- CD session-at-once: the cue sheet (§6.33.3) ---------------------------------------------
CUE_PREGAP = 150              # track 1's pre-gap (2 s): LBA -150 .. -1, MSF 00:00:00
CUE_LEAD_OUT = 0xAA           # TNO of the lead-out entry
CUE_CTL_ADR_DATA = 0x41       # CTL 4 (data track, digital copy prohibited), ADR 1
CUE_FORM_LEAD = 0x01          # data form of the lead-in / lead-out entries (libburn)
CUE_FORM_MODE1 = 0x10         # CD-ROM mode 1: the host sends 2048 bytes a sector
CUE_FORM_MODE2_FORM1 = 0x20   # CD-ROM XA mode 2 form 1: 2048 bytes, sub-header by the drive


def lba_to_msf(lba):
    """Absolute time of an LBA (§4.2.2.3: MSF 00:02:00 is LBA 0), binary."""
    frames = lba + CUE_PREGAP
    return frames // 4500, frames // 75 % 60, frames % 75


def msf_to_lba(m, s, f):
    return (m * 60 + s) * 75 + f - CUE_PREGAP


@dataclass
class CueEntry:
    """One 8-byte cue sheet descriptor (§6.33.3.2): CTL/ADR, TNO, INDEX,
    DATA FORM, SCMS, absolute time M:S:F."""
    ctl_adr: int
    track: int
    index: int
    form: int
    scms: int
    lba: int

    def encode(self):
        return bytes([self.ctl_adr, self.track, self.index, self.form, self.scms,
                      *lba_to_msf(self.lba)])


def data_track_cue_sheet(blocks, form=CUE_FORM_MODE1):
    """The cue sheet of one data track, as libburn's burn_create_toc_entries
    and cdrecord's drv_mmc lay it out: lead-in, track 1 index 0 (the
    pre-gap, from LBA -150), index 1 at LBA 0, lead-out behind the track."""
    entries = [CueEntry(CUE_CTL_ADR_DATA, 0, 0, CUE_FORM_LEAD, 0, -CUE_PREGAP),
               CueEntry(CUE_CTL_ADR_DATA, 1, 0, form, 0, -CUE_PREGAP),
               CueEntry(CUE_CTL_ADR_DATA, 1, 1, form, 0, 0),
               CueEntry(CUE_CTL_ADR_DATA, CUE_LEAD_OUT, 1, CUE_FORM_LEAD, 0, blocks)]
    return b"".join(e.encode() for e in entries)


def parse_cue_sheet(data):
    """The descriptors of a cue sheet (a multiple of 8 bytes)."""
    return [CueEntry(data[i], data[i + 1], data[i + 2], data[i + 3], data[i + 4],
                     msf_to_lba(data[i + 5], data[i + 6], data[i + 7]))
            for i in range(0, len(data) - 7, 8)]
