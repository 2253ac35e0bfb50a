"""Golden CDB sequences: what the burner sends for each medium profile,
compared with sequences written by hand from what libburn and cdrecord send
(docs/burner-mmc.md) -- not recorded from our own output:

* CD TAO ends a track with SYNCHRONIZE CACHE alone (libburn dropped CLOSE
  TRACK there after drives refused it; cdrecord never sent it), then CLOSE
  SESSION fixates; a test write fixates nothing.
* DVD-R disc-at-once: page 05h with write type 2 and no link size, FP or
  packet size; RESERVE TRACK; no CLOSE at all (the drive closes a DAO
  track, session and disc itself).  Incremental: LS_V with the link size of
  feature 0021h (the simulated drive lists 16), no fixed packets, CLOSE TRACK
  and CLOSE SESSION.
* DVD+R: CLOSE TRACK of the track written, then CLOSE SESSION or finalize
  with function 101b (minimal radius); BD-R finalizes with 110b.
* SET STREAMING's end LBA is the last sector of the medium (checked in
  tests/test_burner_mmc.py; here only the CDB).

Probing differs between tools, so the comparison starts at the first
PREVENT ALLOW MEDIUM REMOVAL (the write phase) and ends with its release.
"""

import os

import pytest

from burner import recorder
from burner.drive import Drive
from burner.sim import SimTransport
from burner.sources import FileSource
from burner.progress import Progress
from burner.transport import RecordingTransport
from burner_support import make_disc

SECTORS = 320          # 20 WRITEs of 16 sectors; above the CD minimum of 300


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


PREVENT = h("1E 00 00 00 01 00")
ALLOW = h("1E 00 00 00 00 00")
SYNC = h("35 02 00 00 00 00 00 00 00 00")          # SYNCHRONIZE CACHE, Immed
TUR = h("00 00 00 00 00 00")
CLOSE_TRACK_1 = h("5B 01 01 00 00 01 00 00 00 00")  # Immed, function 001, track 1
CLOSE_SESSION = h("5B 01 02 00 00 00 00 00 00 00")  # function 010
FINALIZE_DVD_PLUS_R = h("5B 01 05 00 00 00 00 00 00 00")   # function 101
FINALIZE_BD_R = h("5B 01 06 00 00 00 00 00 00 00")         # function 110
SET_CD_SPEED_MAX = h("BB 00 FF FF FF FF 00 00 00 00 00 00")
SET_STREAMING = h("B6 00 00 00 00 00 00 00 00 00 1C 00")   # 28-byte descriptor
MODE_SELECT_05 = h("55 10 00 00 00 00 00 00 3C 00")        # PF, 8 + 52 bytes


def writes(start=0):
    return [h("2A 00") + (start + 16 * i).to_bytes(4, "big") + h("00 00 10 00")
            for i in range(SECTORS // 16)]


def page05(b2, b3, b5=0, b8=0, packet=0):
    """Header (8 zero bytes) + page 05h, bytes written out by hand."""
    page = bytearray(52)
    page[0], page[1], page[2], page[3], page[4], page[5], page[8] = 0x05, 0x32, b2, b3, 0x08, \
        b5, b8
    page[10:14] = packet.to_bytes(4, "big")
    return bytes(8) + bytes(page)


# CD TAO (wodim -tao -data, libburn): BUFE 0x40 | TAO 1; byte 3: multisession
# bits (00 close / 11 keep) | track mode 4; byte 4 = 8 (mode 1); byte 8: 00
# CD-ROM, 20h CD-ROM XA for multisession.
CD_SINGLE = page05(0x41, 0x04)
CD_MULTI = page05(0x41, 0xC4, b8=0x20)
CD_DUMMY = page05(0x51, 0x04)
# DVD-R DAO: BUFE | write type 2; multisession 00 | track mode 5; no LS_V,
# link size, FP or packet size.  Incremental: BUFE | LS_V | write type 0;
# multisession 11 | track mode 5; link size 16 (feature 0021h); no packets.
DVD_R_DAO = page05(0x42, 0x05)
DVD_R_INCR = page05(0x60, 0xC5, b5=16)

EXPECTED = {
    ("cd-r", False): [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_SINGLE), *writes(),
                      SYNC, TUR, CLOSE_SESSION, TUR, ALLOW],
    ("cd-r", True): [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_MULTI), *writes(),
                     SYNC, TUR, CLOSE_SESSION, TUR, ALLOW],
    ("cd-rw", False): [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_SINGLE), *writes(),
                       SYNC, TUR, CLOSE_SESSION, TUR, ALLOW],
    ("dvd-r", False): [PREVENT, SET_STREAMING, (MODE_SELECT_05, DVD_R_DAO),
                       h("53 00 00 00 00 00 00 01 40 00"),    # RESERVE TRACK 320
                       *writes(), SYNC, TUR, ALLOW],
    ("dvd-r", True): [PREVENT, SET_STREAMING, (MODE_SELECT_05, DVD_R_INCR), *writes(),
                      SYNC, TUR, CLOSE_TRACK_1, TUR, CLOSE_SESSION, TUR, ALLOW],
    ("dvd+r", False): [PREVENT, SET_STREAMING, *writes(), SYNC, TUR, CLOSE_TRACK_1, TUR,
                       FINALIZE_DVD_PLUS_R, TUR, ALLOW],
    ("dvd+r", True): [PREVENT, SET_STREAMING, *writes(), SYNC, TUR, CLOSE_TRACK_1, TUR,
                      CLOSE_SESSION, TUR, ALLOW],
    ("bd-r", False): [PREVENT, SET_STREAMING, *writes(), SYNC, TUR, CLOSE_TRACK_1, TUR,
                      FINALIZE_BD_R, TUR, ALLOW],
    ("bd-r", True): [PREVENT, SET_STREAMING, *writes(), SYNC, TUR, CLOSE_TRACK_1, TUR,
                     CLOSE_SESSION, TUR, ALLOW],
    ("dvd+rw", False): [PREVENT, SET_STREAMING, *writes(), SYNC, TUR, ALLOW],
    ("bd-re", False): [PREVENT, SET_STREAMING, *writes(), SYNC, TUR, ALLOW],
}


def record(tmp_path, profile, multi, dummy=False, **disc):
    image = tmp_path / "img"
    with open(image, "wb") as f:
        f.write(os.urandom(SECTORS * 2048))
    path = make_disc(tmp_path, profile, **disc)
    rec = RecordingTransport(SimTransport(path))
    drive = Drive(rec, sleep=lambda s: None)
    status = drive.probe()
    opts = recorder.Options(multi=multi, dummy=dummy)
    source = FileSource(str(image))
    plan = recorder.plan_burn(drive, status, source.size, opts)
    recorder.write_plan(drive, status, source, plan, opts, Progress("t", "quiet"))
    rec.close()
    log = rec.log
    first = next(i for i, (cdb, _, _) in enumerate(log) if cdb == PREVENT)
    return log[first:]


def _compare(log, expected):
    got = [(cdb, data) if data is not None and cdb[0] == 0x55 else cdb
           for cdb, data, ok in log]
    assert all(ok for _, _, ok in log)
    assert len(got) == len(expected), [x.hex() if isinstance(x, bytes) else x[0].hex()
                                       for x in got]
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"command {i}: sent {g!r}, expected {e!r}"


@pytest.mark.parametrize("profile,multi", sorted(EXPECTED))
def test_golden_sequence(tmp_path, profile, multi):
    _compare(record(tmp_path, profile, multi), EXPECTED[(profile, multi)])


def test_golden_cd_dummy(tmp_path):
    expected = [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_DUMMY), *writes(),
                SYNC, TUR, ALLOW]      # SYNCHRONIZE CACHE ends the track; no fixation
    _compare(record(tmp_path, "cd-r", False, dummy=True), expected)


def test_golden_unformatted_bd_re_formats_first(tmp_path):
    log = record(tmp_path, "bd-re", False, formatted=False)
    ops = [cdb[0] for cdb, _, _ in log]
    # READ FORMAT CAPACITIES, FORMAT UNIT (Immed, FmtData), TEST UNIT READY polls
    assert ops[:5] == [0x1E, 0xB6, 0x23, 0x04, 0x00]
    fmt = next(data for cdb, data, _ in log if cdb[0] == 0x04)
    assert fmt[1] & 0x02 and fmt[8] >> 2 == 0x30      # Immed; format type 30h (BD-RE)
    assert fmt[8] & 3 == 0b10                          # subtype: quick certification
    assert ops[-3:] == [0x35, 0x00, 0x1E]
