"""What the simulated drive reports about the disc and reads from it:
READ DISC INFORMATION (MMC-6 §6.22), READ TRACK INFORMATION (§6.27),
READ TOC/PMA/ATIP (§6.26: formats 0000b TOC, 0001b session info, 0100b
ATIP), READ CAPACITY (§6.23) and READ(10) (§6.15).

Reading is as strict as a drive: only sectors inside a track's written data
read; a session gap, the TAO run-out and anything past the recorded end
answer an error (docs/burner-sim-contract.md 7), never zeros.
"""

import os

from .simsense import Check, invalid_cdb_field

from isofuse.format.sectors import SECTOR
INVISIBLE = 0xFF
FFH_PROFILES = (0x09, 0x0A, 0x1B, 0x2B)    # READ TRACK INFO FFh: CD and DVD+R(DL) only


def _u16_split(out, lsb, msb, value):
    out[lsb], out[msb] = value & 0xFF, value >> 8


def disc_status(st):
    """(disc status, state of last session) of §6.22.3.1.4/5."""
    if st.info.overwritable:
        status = 2 if st.formatted and st.recorded_end else 0
        return status, 3 if status else 0
    status = {"blank": 0, "appendable": 1, "complete": 2}[st.status]
    if st.status == "complete":
        return status, 3
    # the open session is incomplete (01b) once it holds a track, open or
    # closed -- on a POW disc it stays so: the disc is grown in one session
    open_session = st.open_track is not None or st.session_tracks(st.closed_sessions + 1)
    return status, 1 if open_session else 0


def last_track_number(st):
    """Number of the last track in the last session: on an appendable
    sequential disc the incomplete (invisible) one."""
    if st.info.overwritable:
        return 1
    return len(st.tracks) + (0 if st.status == "complete" else 1)


def disc_information(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    status, last_state = disc_status(st)
    erasable = st.profile in (0x0A, 0x13, 0x14, 0x1A, 0x43)
    sessions = 1 if st.info.overwritable else \
        st.closed_sessions + (0 if st.status == "complete" else 1)
    last = last_track_number(st)
    first_last = next(
        (i + 1 for i, t in enumerate(st.tracks) if t.session == sessions), last)
    out = bytearray(34)
    out[1] = 32
    out[2] = (0x10 if erasable else 0) | last_state << 2 | status
    out[3] = 1
    _u16_split(out, 4, 9, sessions)
    _u16_split(out, 5, 10, first_last)
    _u16_split(out, 6, 11, last)
    out[8] = 0x20 if st.profile in (0x09, 0x0A) and st.closed_sessions else 0
    return bytes(out[:int.from_bytes(cdb[7:9], "big")])


def _track_reply(sim, number, session, start, size, nwa=None, free=0, blank=False,
                 last=None, damaged=False):
    """§6.27.3 track information block: byte 5 bit 5 Damage, bits 3-0 track
    mode; byte 6 bit 6 Blank, bits 3-0 data mode; byte 7 bit 1 LRA_V, bit 0
    NWA_V; start, NWA, free blocks, size, last recorded address."""
    out = bytearray(36)
    out[1] = 34
    _u16_split(out, 2, 32, number)
    _u16_split(out, 3, 33, session)
    out[5] = (0x20 if damaged else 0) | (4 if sim.info.family == "cd" else 5)
    out[6] = (0x40 if blank else 0) | 1
    out[7] = (0x01 if nwa is not None else 0) | (0x02 if last is not None else 0)
    out[8:12] = start.to_bytes(4, "big")
    out[12:16] = (nwa or 0).to_bytes(4, "big")
    out[16:20] = max(0, free).to_bytes(4, "big")
    out[24:28] = size.to_bytes(4, "big")
    out[28:32] = (last or 0).to_bytes(4, "big")
    return bytes(out)


def _open_track_reply(sim):
    st = sim.state
    start = st.open_track if st.open_track is not None else st.nwa
    written = st.nwa - start
    size = st.reserved if st.reserved is not None else st.capacity - start
    if st.damaged:                      # Damage=1, NWA_V=0: nothing more can go there
        return _track_reply(sim, len(st.tracks) + 1, st.closed_sessions + 1, start, written,
                            last=st.nwa - 1 if written else None, damaged=True)
    free = (st.reserved - written) if st.reserved is not None else st.capacity - st.nwa
    return _track_reply(sim, len(st.tracks) + 1, st.closed_sessions + 1, start, size,
                        nwa=st.nwa, free=free, blank=not written,
                        last=st.nwa - 1 if written else None)


def track_information(sim, cdb, data):
    """Address type 01b only; track FFh only where MMC defines it."""
    sim.need_medium()
    st = sim.state
    if cdb[1] & 3 != 1:
        raise invalid_cdb_field(1, 1)
    number = int.from_bytes(cdb[2:6], "big")
    if number == INVISIBLE:
        if st.profile not in FFH_PROFILES or st.status == "complete":
            raise invalid_cdb_field(2)
        number = last_track_number(st)
    length = int.from_bytes(cdb[7:9], "big")
    if st.info.overwritable:
        if number != 1:
            raise invalid_cdb_field(2)
        end = st.recorded_end
        reply = _track_reply(sim, 1, 1, 0, st.capacity, nwa=end, free=st.capacity - end,
                             blank=not end, last=end - 1 if end else None)
        return reply[:length]
    if not 1 <= number <= last_track_number(st):
        raise invalid_cdb_field(2)
    if number == len(st.tracks) + 1:
        return _open_track_reply(sim)[:length]
    t = st.tracks[number - 1]
    return _track_reply(sim, number, t.session, t.start, t.size, last=t.end - 1)[:length]


CD_RECORDABLE = (0x09, 0x0A)       # CD-R, CD-RW: the ones with a pregroove (ATIP)
ATIP_FORMAT = 0b0100
ATIP_LEAD_IN = (97, 26, 66)         # start of lead-in as 80-min blanks carry it
MSF_ORIGIN = 150                    # MSF 00:02:00 is LBA 0 (MMC-6 §4.2.3.3)


def msf(lba):
    """Absolute time (M, S, F) of ``lba``: 75 frames a second (Red Book)."""
    frames = lba + MSF_ORIGIN
    return frames // 4500, frames // 75 % 60, frames % 75


def atip(sim, cdb):
    """READ TOC/PMA/ATIP format 0100b (MMC-6 §6.26.2.6, §6.26.3.6): the ATIP
    the drive reads from the pregroove of a CD-R/RW, blank or written.  A
    4-byte header (data length 26) and the 24-byte descriptor: byte 4
    indicative target writing power (bits 6-4) and reference speed (bits
    2-0); byte 5 URU (bit 6); byte 6 bit 7 always 1, Disc Type (bit 6: 0 =
    CD-R, 1 = CD-RW, what cdrskin and wodim report as "erasable"), Disc
    Sub-Type (bits 5-3), A1/A2/A3 valid (bits 2-0, none here); bytes 8-10
    the start time of lead-in (M, S, F), bytes 12-14 the last possible start
    time of lead-out -- the disc's capacity, which a blank disc's free
    blocks are counted up to.  Media without a pregroove (DVD, BD, pressed
    CD-ROM) have no ATIP: 5/24/00 on the format field."""
    st = sim.state
    if st.profile not in CD_RECORDABLE:
        raise invalid_cdb_field(2, 3)
    rewritable = st.profile == 0x0A
    desc = bytearray(24)
    desc[0] = 5 << 4 | (1 if rewritable else 0)      # power 5; reference speed 2x (CD-RW)
    desc[2] = 0x80 | (0x40 if rewritable else 0)      # sub-type 0: normal speed
    desc[4:7] = bytes(ATIP_LEAD_IN)
    desc[8:11] = bytes(msf(st.capacity))
    body = bytes(2) + bytes(desc)
    length = int.from_bytes(cdb[7:9], "big")
    return (len(body).to_bytes(2, "big") + body)[:length]


def toc(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    fmt = cdb[2] & 0x0F
    length = int.from_bytes(cdb[7:9], "big")
    if fmt == ATIP_FORMAT:
        return atip(sim, cdb)
    if not st.tracks:
        raise Check(5, 0x24, 0x00, field=(2, 3, True))     # blank disc: no TOC
    if fmt == 1:
        starts = st.session_starts()
        last = st.tracks[-1].session
        first_track = next(i + 1 for i, t in enumerate(st.tracks) if t.session == last)
        body = bytes([1, last]) + bytes([0, 0x14, first_track, 0]) \
            + starts[-1].to_bytes(4, "big")
    elif fmt == 0:
        descs = b"".join(bytes([0, 0x14, i + 1, 0]) + t.start.to_bytes(4, "big")
                         for i, t in enumerate(st.tracks))
        descs += bytes([0, 0x14, 0xAA, 0]) + st.tracks[-1].end.to_bytes(4, "big")
        body = bytes([1, len(st.tracks)]) + descs
    else:
        raise invalid_cdb_field(2, 3)
    return (len(body).to_bytes(2, "big") + body)[:length]


def capacity(sim, cdb, data):
    """SBC READ CAPACITY: the last LBA.  An overwritable disc reports its
    (formatted or formattable) size (what growisofs meets: the recorded end must
    come from the ISO image itself); sequential media the last recorded
    sector."""
    sim.need_medium()
    st = sim.state
    if st.info.overwritable:
        last = st.capacity - 1          # formatted, or to be formatted to, size
    else:
        last = max(st.recorded_end, 1) - 1
    return last.to_bytes(4, "big") + SECTOR.to_bytes(4, "big")


# ---- READ(10) -----------------------------------------------------------------------------
def readable_ranges(st):
    """Half-open [start, end) ranges of sectors a READ returns."""
    if st.info.overwritable:
        # a formatted block reads (zeros until written); unformatted nothing
        return [(0, st.capacity if st.formatted else 0)]
    ranges = [(t.start, t.data_end) for t in st.tracks]
    if st.open_track is not None and st.nwa > st.open_track:
        ranges.append((st.open_track, st.nwa))
    return ranges


def _unreadable(st, lba):
    """The sense for a sector that holds no data, or None if it reads."""
    for start, end in readable_ranges(st):
        if start <= lba < end:
            return None
    for t in st.tracks:
        if t.data_end <= lba < t.end:
            return Check(3, 0x11, 0x00, info=lba)     # TAO run-out: unrecovered read error
    return Check(5, 0x21, 0x00, info=lba)             # a gap, or beyond the recorded end


def _read_fault(sim, lba, blocks):
    """An injected read fault inside [lba, lba+blocks): 3/11/00 while its
    count lasts (kept in the state, so it survives a new open)."""
    st = sim.state
    for at, count in sim.read_error_faults():
        if not lba <= at < lba + blocks:
            continue
        left = st.read_faults_left.get(str(at), count)
        if left == 0:
            continue
        if left > 0:
            st.read_faults_left[str(at)] = left - 1
            sim.save()
        return Check(3, 0x11, 0x00, info=at)
    return None


def read10(sim, cdb, data):
    return read_blocks(sim, int.from_bytes(cdb[2:6], "big"), int.from_bytes(cdb[7:9], "big"))


def read_blocks(sim, lba, blocks):
    """The user data of sectors [lba, lba+blocks): what READ(10), READ(12)
    and READ CD (burner/simread.py) return, whatever the transfer length;
    a sector without data is refused by its own sense (5/21/00 past the
    recorded end or the medium's end, 3/11/00 a TAO run-out)."""
    sim.need_medium()
    ranges = readable_ranges(sim.state)
    if not any(start <= lba and lba + blocks <= end for start, end in ranges):
        for sector in range(lba, lba + blocks):     # name the first sector that fails
            refusal = _unreadable(sim.state, sector)
            if refusal is not None:
                raise refusal
    fault = _read_fault(sim, lba, blocks)
    if fault is not None:
        raise fault
    out = os.pread(sim.fd, blocks * SECTOR, lba * SECTOR)
    return out + bytes(blocks * SECTOR - len(out))
