"""The simulated drive at the CDB level: it refuses what real drives refuse
and produces what they produce (docs/burner-sim-contract.md,
docs/simulated-drive.md).  No burner here: SimTransport + burner.mmc."""

import os
import subprocess
import sys
import time

import pytest

from burner import mmc, pages, simstate, simtool
from burner.sense import ScsiError, TransportError
from burner.sim import DISPATCH, SimTransport
from burner.simsense import field_pointer
from burner.transport import FROM_DEVICE, NONE, TO_DEVICE

SECTOR = 2048


def disc(tmp_path, profile="cd-r", name=None, **kw):
    path = str(tmp_path / (name or f"{profile}.disc"))
    kw.setdefault("formatted", profile in ("dvd+rw", "bd-re", "dvd-rw-ro"))
    simstate.create(path, profile, **kw)
    return path


def send(t, cdb, data=None, length=0):
    if data is not None:
        return t.execute(cdb, TO_DEVICE, data)
    return t.execute(cdb, FROM_DEVICE if length else NONE, None, length)


def refused(t, cdb, data=None, length=0):
    with pytest.raises(ScsiError) as info:
        send(t, cdb, data, length)
    return info.value


def sense_of(err):
    return err.key, err.asc, err.ascq


def track(t, number):
    return mmc.parse_track_information(send(t, mmc.read_track_information(number), length=36))


def disc_info(t):
    return mmc.parse_disc_information(send(t, mmc.read_disc_information(), length=34))


def write(t, lba, blocks, fill=b"\x5a"):
    send(t, mmc.write10(lba, blocks), fill * (blocks * SECTOR))


def page05(write_type, ls_v=False, link=0, track_mode=5, multi=0, fp=False, packet=0,
           bufe=True, test=False, block=8):
    return pages.build_write_parameters(pages.WriteParameters(
        write_type=write_type, ls_v=ls_v, link_size=link, track_mode=track_mode,
        multisession=multi, fixed_packet=fp, packet_size=packet, bufe=bufe,
        test_write=test, block_type=block))


def select(t, data):
    return send(t, mmc.mode_select(len(data)), data)


CD_TAO = page05(1, track_mode=4)
CD_TAO_MULTI = page05(1, track_mode=4, multi=3)
DVD_INCR = page05(0, ls_v=True, link=16, multi=3)
DVD_DAO = page05(2)


def configuration(t, rt=0, start=0, length=2048):
    return send(t, mmc.get_configuration(rt, start, length), length=length)


def features(reply):
    """{code: (current, descriptor bytes)} of a GET CONFIGURATION reply."""
    out, pos, end = {}, 8, 4 + int.from_bytes(reply[0:4], "big")
    while pos + 4 <= min(end, len(reply)):
        code, add = int.from_bytes(reply[pos:pos + 2], "big"), reply[pos + 3]
        out[code] = (bool(reply[pos + 2] & 1), reply[pos:pos + 4 + add])
        pos += 4 + add
    return out


def profiles_listed(reply):
    desc = features(reply)[0x0000][1]
    return [int.from_bytes(desc[p:p + 2], "big") for p in range(4, len(desc), 4)]


# ---- READ TRACK INFORMATION ------------------------------------------------------------------
@pytest.mark.parametrize("profile,ffh", [("cd-r", True), ("cd-rw", True), ("dvd+r", True),
                                         ("dvd+r-dl", True), ("dvd-r", False),
                                         ("dvd-rw", False), ("dvd-r-dl", False),
                                         ("bd-r", False), ("dvd+rw", False), ("bd-re", False)])
def test_invisible_track_only_on_cd_and_dvd_plus_r(tmp_path, profile, ffh):
    with SimTransport(disc(tmp_path, profile)) as t:
        if ffh:
            assert track(t, 0xFF).next_writable == 0
        else:
            err = refused(t, mmc.read_track_information(0xFF), length=36)
            assert sense_of(err) == (5, 0x24, 0) and err.sense.field == (True, 2, None)
        assert track(t, 1).next_writable == 0        # the number always works
        assert sense_of(refused(t, mmc.read_track_information(2), length=36)) == (5, 0x24, 0)


# ---- CD TAO ----------------------------------------------------------------------------------
def test_cd_tao_track_ends_at_sync_with_run_out_and_close_track_is_refused(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        select(t, CD_TAO_MULTI)
        for lba in range(0, 320, 16):
            write(t, lba, 16)
        send(t, mmc.synchronize_cache())
        ti = track(t, 1)
        assert ti.size == 322 and ti.next_writable is None     # 2 run-out sectors added
        err = refused(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        assert sense_of(err) == (5, 0x2C, 0)
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert disc_info(t).status == mmc.DISC_APPENDABLE
        assert track(t, 0xFF).next_writable == 322 + 11400
        assert sense_of(refused(t, mmc.read10(320, 1), length=SECTOR)) == (3, 0x11, 0)
        assert sense_of(refused(t, mmc.read10(400, 1), length=SECTOR)) == (5, 0x21, 0)
        assert send(t, mmc.read10(319, 1), length=SECTOR) == b"\x5a" * SECTOR
        nwa = 322 + 11400                       # a second session: 6900 after it
        for lba in range(nwa, nwa + 304, 16):
            write(t, lba, 16)
        send(t, mmc.synchronize_cache())
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert track(t, 0xFF).next_writable == nwa + 306 + 6900


def test_cd_test_write_fixates_nothing(tmp_path):
    path = disc(tmp_path, "cd-r")
    with SimTransport(path) as t:
        select(t, page05(1, track_mode=4, test=True))
        for lba in range(0, 304, 16):
            write(t, lba, 16)
        send(t, mmc.synchronize_cache())
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
    st = simstate.load(path)
    assert st.status == "blank" and not st.tracks and os.path.getsize(path) == 0


# ---- DVD-R DAO / incremental -----------------------------------------------------------------
def test_dvd_r_dao_needs_a_reservation_and_closes_itself(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-r")) as t:
        select(t, DVD_DAO)
        assert sense_of(refused(t, mmc.write10(0, 16), bytes(16 * SECTOR))) == (5, 0x2C, 0)
        send(t, mmc.reserve_track(32))
        write(t, 0, 16)
        write(t, 16, 16)
        assert sense_of(refused(t, mmc.write10(32, 16), bytes(16 * SECTOR))) == (5, 0x21, 2)
        send(t, mmc.synchronize_cache())
        assert disc_info(t).status == mmc.DISC_COMPLETE
        for function in (mmc.CLOSE_TRACK, mmc.CLOSE_SESSION):
            err = refused(t, mmc.close_track_session(function, 1))
            assert sense_of(err) == (5, 0x2C, 0)


def test_dvd_r_incremental_closes_by_track_number_then_session(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-r")) as t:
        select(t, DVD_INCR)
        write(t, 0, 32)
        send(t, mmc.synchronize_cache())
        assert track(t, 1).next_writable == 32            # SYNC does not close on DVD
        err = refused(t, mmc.close_track_session(mmc.CLOSE_TRACK, 2))
        assert sense_of(err) == (5, 0x24, 0) and err.sense.field == (True, 4, None)
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert track(t, 2).next_writable == 32 + 16384   # the first border zone
        write(t, 32 + 16384, 16)
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 2))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert track(t, 3).next_writable == 32 + 16384 + 16 + 3072   # a later border


# ---- DVD+R / BD-R ----------------------------------------------------------------------------
@pytest.mark.parametrize("profile,gap,align,finalize,refused_function", [
    ("dvd+r", 2048, 16, 5, 3), ("dvd+r-dl", 2048, 16, 6, 3), ("bd-r", 4096, 32, 6, 5)])
def test_plus_r_and_bd_r_close_track_then_session(tmp_path, profile, gap, align, finalize,
                                                   refused_function):
    with SimTransport(disc(tmp_path, profile)) as t:
        write(t, 0, 20)
        assert sense_of(refused(t, mmc.close_track_session(mmc.CLOSE_SESSION))) == (5, 0x2C, 0)
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        nwa = track(t, 2).next_writable
        assert nwa == -(-(20 + gap) // align) * align
        assert sense_of(refused(t, mmc.read10(20, 1), length=SECTOR)) == (5, 0x21, 0)
        write(t, nwa, 16)
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 2))
        err = refused(t, mmc.close_track_session(refused_function))
        assert sense_of(err) == (5, 0x24, 0)
        send(t, mmc.close_track_session(finalize))
        assert disc_info(t).status == mmc.DISC_COMPLETE


@pytest.mark.parametrize("profile", ["dvd+rw", "bd-re", "dvd-rw-ro"])
def test_close_on_overwritable_media_is_answered_good(tmp_path, profile):
    with SimTransport(disc(tmp_path, profile)) as t:
        write(t, 0, 16)
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))


def test_restricted_overwrite_takes_whole_ecc_blocks(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-rw-ro")) as t:
        write(t, 32, 16)
        assert sense_of(refused(t, mmc.write10(40, 16), bytes(16 * SECTOR))) == (5, 0x21, 2)
        assert sense_of(refused(t, mmc.write10(48, 8), bytes(8 * SECTOR))) == (5, 0x21, 2)


# ---- the Damage bit, resets, removal ---------------------------------------------------------
def test_reset_mid_write_damages_the_track_and_close_repairs_it(tmp_path):
    path = disc(tmp_path, "dvd+r", faults={"reset_at": 40})
    with SimTransport(path) as t:
        write(t, 0, 16)
        write(t, 16, 16)
        assert sense_of(refused(t, mmc.write10(32, 16), bytes(16 * SECTOR))) == (6, 0x29, 0)
    with SimTransport(path) as t:                      # the damage is in the state
        raw = send(t, mmc.read_track_information(1), length=36)
        assert raw[5] & 0x20 and not raw[7] & 0x01     # Damage, NWA_V clear
        assert sense_of(refused(t, mmc.write10(32, 16), bytes(16 * SECTOR))) == (5, 0x21, 2)
        assert send(t, mmc.read10(16, 16), length=16 * SECTOR) == b"\x5a" * 16 * SECTOR
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        ti = track(t, 1)
        assert ti.size == 32 and ti.last_recorded == 31
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert disc_info(t).status == mmc.DISC_APPENDABLE


def test_reset_loses_what_the_buffer_held(tmp_path):
    path = disc(tmp_path, "dvd+r", faults={"reset_at": 200}, speed_kbs=1000)
    with SimTransport(path) as t:
        for lba in range(0, 192, 16):          # 384 KiB: less than the 2 MiB buffer
            write(t, lba, 16)
        refused(t, mmc.write10(192, 16), bytes(16 * SECTOR))
    st = simstate.load(path)
    assert st.damaged and st.nwa == 0          # nothing had reached the disc yet


def test_medium_removed_mid_write_keeps_what_was_written(tmp_path):
    path = disc(tmp_path, "cd-r", faults={"remove_at": 50})
    with SimTransport(path) as t:
        select(t, CD_TAO)
        write(t, 0, 32)
        err = refused(t, mmc.write10(32, 32), b"\x5a" * (32 * SECTOR))
        assert sense_of(err) == (2, 0x3A, 0)
    assert simtool.main(["set", path, "--insert", "--clear-faults"]) == 0
    st = simstate.load(path)
    assert st.damaged and st.nwa == 50 and st.open_track == 0
    with open(path, "rb") as f:
        assert f.read(50 * SECTOR) == b"\x5a" * (50 * SECTOR)


# ---- page 05h --------------------------------------------------------------------------------
BASE = 8           # the page starts after the 8-byte MODE SELECT(10) header


@pytest.mark.parametrize("profile,data,byte,bit", [
    ("cd-r", page05(3, track_mode=4), 2, 3),                     # raw: TAO and SAO only
    ("cd-r", page05(1, track_mode=4, ls_v=True), 2, 5),
    ("cd-r", page05(1, track_mode=5), 3, 3),
    ("cd-r", page05(1, track_mode=4, multi=1), 3, 7),
    ("cd-r", page05(1, track_mode=4, block=13), 4, 3),           # mode 2 mixed form
    ("cd-r", page05(1, track_mode=4, block=10), 8, 7),           # mode 2 needs an XA session
    ("cd-r", page05(1, track_mode=4, link=7), 5, 7),
    ("dvd-r", page05(0, link=16), 2, 5),                         # incremental needs LS_V
    ("dvd-r", page05(0, ls_v=True, link=32), 5, 7),              # not a 0021h link size
    ("dvd-r", page05(0, ls_v=True, link=16, fp=True, packet=32), 10, 7),  # not one ECC block
    ("dvd-r", page05(2, fp=True, packet=16), 3, 5),              # fixed packets: incremental only
    ("cd-r", page05(1, track_mode=4, fp=True, packet=16), 3, 5),
    ("dvd-r", page05(0, ls_v=True, link=16, packet=16), 10, 7),
    ("dvd-r", page05(2, ls_v=True, link=16), 2, 5),              # DAO: no link size
    ("dvd-r", page05(2, link=16), 5, 7),
    ("dvd-r", page05(1), 2, 3),                                  # no TAO on DVD
    ("dvd+r", page05(0, ls_v=True, link=16), 0, 5),              # no page 05h at all
    ("bd-r", DVD_DAO, 0, 5),
])
def test_page05_rejected_field_is_pointed_at(tmp_path, profile, data, byte, bit):
    with SimTransport(disc(tmp_path, profile)) as t:
        err = refused(t, mmc.mode_select(len(data)), data)
        assert sense_of(err) == (5, 0x26, 0)
        assert field_pointer(err.sense_bytes) == (BASE + byte, bit, False)
        assert err.sense.field == (False, BASE + byte, bit)


@pytest.mark.parametrize("profile,data", [("cd-r", CD_TAO), ("cd-rw", CD_TAO_MULTI),
                                          ("dvd-r", DVD_INCR), ("dvd-r", DVD_DAO),
                                          ("dvd-rw", DVD_DAO), ("dvd-r-dl", DVD_INCR)])
def test_page05_valid_pages_are_taken_and_read_back(tmp_path, profile, data):
    with SimTransport(disc(tmp_path, profile)) as t:
        select(t, data)
        back = mmc.mode_page(send(t, mmc.mode_sense(pages.WRITE_PARAMETERS), length=256))
        assert back == data[8:]


# growisofs's page 05h for DVD-R (as growisofs sent it before the fix):
# BUFE, LS_V, incremental; multi-session 11b, FP=1, track mode 5; link size 16;
# packet size 16
GROWISOFS_DVD_R = bytes(8) + bytes.fromhex("0532 60e5 0810 0000 0000 0000 0010") + bytes(38)


@pytest.mark.parametrize("profile", ["dvd-r", "dvd-rw", "dvd-r-dl"])
def test_fixed_packet_incremental_is_taken_as_growisofs_sends_it(tmp_path, profile):
    """MMC-6 §7.5.4: fixed packets (FP=1, packet size 16) with Incremental
    writing, as growisofs selects on every DVD-R; then it writes."""
    with SimTransport(disc(tmp_path, profile)) as t:
        select(t, GROWISOFS_DVD_R)
        back = mmc.mode_page(send(t, mmc.mode_sense(pages.WRITE_PARAMETERS), length=256))
        assert back == GROWISOFS_DVD_R[8:]
        write(t, 0, 32)
        assert track(t, 1).next_writable == 32


def test_quick_blanked_dvd_rw_takes_dao_only(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-rw")) as t:
        assert features(configuration(t, 2, 0x21))[0x21][0]     # 0021h current
        send(t, mmc.blank(mmc.BLANK_MINIMAL))
        while True:
            try:
                send(t, mmc.test_unit_ready())
                break
            except ScsiError as exc:
                assert sense_of(exc) == (2, 0x04, 0x07)
        assert not features(configuration(t, 2, 0x21))[0x21][0]
        err = refused(t, mmc.mode_select(len(DVD_INCR)), DVD_INCR)
        assert field_pointer(err.sense_bytes) == (BASE + 2, 3, False)
        select(t, DVD_DAO)
        send(t, mmc.blank(mmc.BLANK_ALL))
        while t.busy:
            t.busy -= 1
        assert features(configuration(t, 2, 0x21))[0x21][0]
        select(t, DVD_INCR)


# cdrskin -multi on a blank CD-RW (tests/data/tcmu-cdb, SAO): page 05h SAO with
# BUFE, multi-session 11b, track mode and data block type 0 (the cue sheet
# says them), audio pause 150; the cue sheet has lead-in/lead-out data form 14h
CDRSKIN_SAO = bytes(8) + bytes.fromhex("0532 42c0") + bytes(18) + bytes.fromhex("0096") \
    + bytes(28)
CDRSKIN_CUE = bytes.fromhex("41000014 00000000 41010010 00000000 41010110 00000200"
                            "41aa0114 00000619")          # lead-out at 00:06:25, LBA 325


def test_cdrskin_sao_page_and_cue_sheet_burn_the_cd(tmp_path):
    """MMC-6 §7.5.4 / §6.33: with SAO the cue sheet, not page 05h, gives
    the track's mode and form; cdrskin's page and sheet are taken and its
    session-at-once burn leaves the disc appendable."""
    with SimTransport(disc(tmp_path, "cd-rw")) as t:
        select(t, CDRSKIN_SAO)
        send(t, mmc.send_cue_sheet(len(CDRSKIN_CUE)), CDRSKIN_CUE)
        for lba in range(-150, 325, 25):
            write(t, lba, 25)
        send(t, mmc.synchronize_cache())
        assert disc_info(t).status == mmc.DISC_APPENDABLE


def test_cd_sao_cue_sheet_form_must_match_page_05h_when_it_gives_one(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        select(t, page05(2, track_mode=4))                 # data block type 8: mode 1
        xa = bytearray(CDRSKIN_CUE)
        xa[11] = xa[19] = 0x20                             # but the sheet says XA form 1
        err = refused(t, mmc.send_cue_sheet(len(xa)), bytes(xa))
        assert sense_of(err) == (5, 0x26, 0) and err.sense.field == (False, 11, 7)


# ---- GET CONFIGURATION, page 2Ah, drive kinds ------------------------------------------------
def test_get_configuration_rt_start_and_allocation_length(tmp_path):
    with SimTransport(disc(tmp_path, "dvd+r")) as t:
        every = features(configuration(t, 0))
        assert {0x0000, 0x0001, 0x0003, 0x001E, 0x001F, 0x0021, 0x0023, 0x0026, 0x002A,
                0x002B, 0x002D, 0x002F, 0x003B, 0x0040, 0x0041, 0x0107} <= set(every)
        assert every[0x002B][0] and not every[0x002D][0] and not every[0x002A][0]
        current = features(configuration(t, 1))
        assert set(current) == {c for c, (cur, _) in every.items() if cur}
        assert list(features(configuration(t, 2, 0x002B))) == [0x002B]
        assert min(features(configuration(t, 0, 0x0030))) >= 0x0030
        full = configuration(t, 0)
        head = configuration(t, 0, length=8)
        assert len(head) == 8 and head[0:4] == full[0:4]          # length counts it all
        assert int.from_bytes(head[6:8], "big") == 0x1B
        link = features(configuration(t, 2, 0x0021))[0x0021][1]
        assert link[7] == 1 and link[8] == 16                     # one link size: 16


@pytest.mark.parametrize("drive,reads,writes_features", [
    ("writer", {0x08, 0x09, 0x0A, 0x10, 0x11, 0x13, 0x14, 0x15, 0x1A, 0x1B, 0x2B, 0x40,
                0x41, 0x42, 0x43}, {0x21, 0x23, 0x26, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F,
                                    0x3B, 0x41}),
    ("rom", {0x08, 0x09, 0x0A, 0x10, 0x11, 0x13, 0x14, 0x15, 0x1A, 0x1B, 0x2B}, set()),
    ("combo", {0x08, 0x09, 0x0A, 0x10, 0x11, 0x13, 0x14, 0x15, 0x1A, 0x1B, 0x2B},
     {0x2D, 0x2E}),
])
def test_drive_kinds_list_what_they_read_and_only_their_write_features(
        tmp_path, drive, reads, writes_features):
    with SimTransport(disc(tmp_path, "dvd-r", drive=drive)) as t:
        reply = configuration(t)
        assert set(profiles_listed(reply)) == reads
        assert int.from_bytes(reply[6:8], "big") == 0x11          # it reads the DVD-R
        write_codes = {0x21, 0x23, 0x26, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x3B, 0x41}
        assert set(features(reply)) & write_codes == writes_features
        assert features(reply).get(0x2F, (False,))[0] == (drive == "writer")
        page = mmc.mode_page(send(t, mmc.mode_sense(pages.CAPABILITIES), length=256))
        assert bool(page[4] & 0x80) == (drive != "rom")          # BUF: byte 4 bit 7
        assert page[3] & 0x13 == {"writer": 0x13, "rom": 0, "combo": 0x03}[drive]
        if drive != "writer":
            err = refused(t, mmc.write10(0, 16), bytes(16 * SECTOR))
            assert sense_of(err) in ((5, 0x20, 0), (5, 0x30, 5))


def capability_speeds(t):
    """Page 2Ah (MMC-3 §5.5.10) max read, current read, max write, current
    write, current write speed selected, kB/s."""
    page = mmc.mode_page(send(t, mmc.mode_sense(pages.CAPABILITIES), length=256))
    return tuple(int.from_bytes(page[o:o + 2], "big") for o in (8, 14, 18, 20, 28))


def test_page_2a_reports_the_nominal_speed_without_a_throttle(tmp_path):
    """wodim divides by the page's write speed (SIGFPE on 0): a disc created
    without --speed reports the medium's fastest speed, as GET PERFORMANCE
    lists it; SET CD SPEED lowers the current one; a throttle caps both."""
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        assert capability_speeds(t) == (8467, 8467, 8467, 8467, 8467)     # 48x
        send(t, bytes([mmc.SET_CD_SPEED, 0, 0xFF, 0xFF, 0x02, 0xC2]) + bytes(6))  # 4x
        assert capability_speeds(t)[2:] == (8467, 706, 706)
    with SimTransport(disc(tmp_path, "dvd-r", speed_kbs=5540)) as t:
        assert capability_speeds(t) == (22160, 22160, 5540, 5540, 5540)    # 16x read, 4x
    with SimTransport(disc(tmp_path, "dvd-r", name="rom.disc", drive="rom")) as t:
        assert capability_speeds(t)[2:] == (0, 0, 0)


def test_combo_drive_writes_cd(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r", drive="combo")) as t:
        assert features(configuration(t, 2, 0x2D))[0x2D][0]
        select(t, CD_TAO)
        write(t, 0, 16)


def test_a_bd_in_a_dvd_drive_is_no_medium_it_reads(tmp_path):
    with SimTransport(disc(tmp_path, "bd-r", drive="rom")) as t:
        assert int.from_bytes(configuration(t)[6:8], "big") == 0
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x30, 0)


def test_mode_page_01h_error_recovery(tmp_path):
    """MMC-6 §7.3 page 01h (libburn asks for it): length 0Ah, full recovery
    (no recovery bits), retry counts; MODE SENSE 3Fh lists 01h first."""
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        page = mmc.mode_page(send(t, mmc.mode_sense(0x01), length=256))
        assert page[:4] == bytes([0x01, 0x0A, 0x00, 5]) and len(page) == 12
        every = send(t, mmc.mode_sense(0x3F), length=256)
        assert every[8:20] == page and every[20] == 0x05
        short = send(t, bytes([0x1A, 0, 0x01, 0, 255, 0]), length=255)   # MODE SENSE(6)
        assert short[4:] == page
        assert sense_of(refused(t, mmc.mode_sense(0x30), length=256)) == (5, 0x24, 0)


# ---- FORMAT UNIT -----------------------------------------------------------------------------
def format_data(blocks, fmt_type, param=0, subtype=0):
    data = bytearray(mmc.format_parameters(blocks, fmt_type, param))
    data[8] |= subtype
    return bytes(data)


def formats_offered(t):
    caps = mmc.parse_format_capacities(send(t, mmc.read_format_capacities(), length=252))
    return {f[1]: (f[0], f[2]) for f in caps.formats}


@pytest.mark.parametrize("profile,types", [("dvd+rw", {0x26}), ("dvd-rw", {0, 0x10, 0x15}),
                                           ("dvd-rw-ro", {0, 0x10, 0x11, 0x13}),
                                           ("bd-re", {0, 0x30, 0x31}), ("dvd+r", set())])
def test_format_types_per_profile(tmp_path, profile, types):
    with SimTransport(disc(tmp_path, profile, formatted=False)) as t:
        offered = formats_offered(t)
        assert set(offered) == types
        for bad in {0x26, 0x30, 0x15} - types:
            err = refused(t, mmc.format_unit(), format_data(1000, bad))
            assert err.sense.field == (False, 8, 7)
        for fmt_type, (blocks, param) in offered.items():
            if param:                                       # a wrong parameter is refused
                err = refused(t, mmc.format_unit(), format_data(blocks, fmt_type, param + 1))
                assert err.sense.field == (False, 9, 7)


def test_bd_re_certification_subtypes(tmp_path):
    path = disc(tmp_path, "bd-re", formatted=False)
    with SimTransport(path) as t:
        err = refused(t, mmc.format_unit(), format_data(11826176, 0x30, subtype=0b01))
        assert err.sense.field == (False, 8, 1)
        send(t, mmc.format_unit(), format_data(11826176, 0x30, subtype=0b10))
    assert simstate.load(path).certification == "quick"


def test_dvd_rw_sequential_becomes_restricted_overwrite_and_back(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-rw")) as t:
        blocks, param = formats_offered(t)[0x15]
        send(t, mmc.format_unit(), format_data(blocks, 0x15, param))
        t.busy = 0
        assert int.from_bytes(configuration(t)[6:8], "big") == 0x13
        assert features(configuration(t, 2, 0x26))[0x26][0]
        write(t, 0, 16)                                      # random access now
        write(t, 64, 16)
        send(t, mmc.blank(mmc.BLANK_ALL))
        t.busy = 0
        assert int.from_bytes(configuration(t)[6:8], "big") == 0x14


# ---- unit attention, becoming ready, deferred errors -----------------------------------------
def test_reset_from_simtool_is_reported_once_to_a_new_open(tmp_path):
    path = disc(tmp_path, "cd-r")
    assert simtool.main(["set", path, "--reset"]) == 0
    with SimTransport(path) as t:
        send(t, mmc.inquiry(), length=96)                    # INQUIRY never hears of it
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x29, 0)
        send(t, mmc.test_unit_ready())
    with SimTransport(path) as t:
        send(t, mmc.test_unit_ready())                       # once, not per open


def test_disc_change_then_becoming_ready(tmp_path):
    path = disc(tmp_path, "dvd+r")
    assert simtool.main(["set", path, "--remove"]) == 0
    with SimTransport(path) as t:
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x3A, 0)
    assert simtool.main(["set", path, "--insert"]) == 0
    with SimTransport(path) as t:
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x28, 0)
        assert int.from_bytes(configuration(t)[6:8], "big") == 0     # not ready yet
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x04, 0x01)
        assert sense_of(refused(t, mmc.read_disc_information(), length=34)) == (2, 4, 1)
        send(t, mmc.test_unit_ready())
        assert int.from_bytes(configuration(t)[6:8], "big") == 0x1B


def test_power_cycle_damages_an_open_track(tmp_path):
    path = disc(tmp_path, "dvd+r")
    with SimTransport(path) as t:
        write(t, 0, 16)
    assert simtool.main(["set", path, "--power-cycle"]) == 0
    with SimTransport(path) as t:
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x29, 0)
        raw = None
        for _ in range(4):
            try:
                raw = send(t, mmc.read_track_information(0xFF), length=36)
                break
            except ScsiError as exc:
                assert sense_of(exc) == (2, 4, 1)
        assert raw[5] & 0x20 and not raw[7] & 1


def test_eject_and_load_report_a_medium_change(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        send(t, mmc.start_stop(eject=True, start=False))
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x3A, 0x02)   # tray open
        assert sense_of(refused(t, mmc.read_disc_information(), length=34)) == (2, 0x3A, 2)
        assert int.from_bytes(configuration(t)[6:8], "big") == 0    # no current profile
        send(t, mmc.start_stop(eject=True, start=True))
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x28, 0)


def test_growisofs_tray_reload_reports_the_change_after_the_load(tmp_path):
    """growisofs reloads the tray: eject (Immed), eject, load.  The second
    eject finds the tray open (good status); the change is reported to the
    first command after the load, then the drive becomes ready."""
    with SimTransport(disc(tmp_path, "dvd+rw")) as t:
        send(t, bytes([mmc.START_STOP_UNIT, 1, 0, 0, 0x02, 0]))   # eject, Immed
        send(t, mmc.start_stop(eject=True, start=False))            # tray is open
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x3A, 0x02)
        send(t, mmc.start_stop(eject=True, start=True))             # load
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x28, 0)
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x04, 0x01)
        for _ in range(20):                                         # becoming ready
            try:
                send(t, mmc.test_unit_ready())
                break
            except ScsiError as err:
                assert sense_of(err) == (2, 0x04, 0x01)
        else:
            pytest.fail("the drive never became ready after the load")


def media_status(t):
    """GET EVENT STATUS NOTIFICATION, polled, media class: the status byte."""
    return send(t, bytes([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0]), length=8)[5]


def test_event_status_sees_the_open_tray_and_leaves_it_open(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        assert media_status(t) == 0x02                                # disc in
        send(t, mmc.start_stop(eject=True, start=False))
        assert media_status(t) == 0x01                                # tray open
        assert sense_of(refused(t, mmc.test_unit_ready())) == (2, 0x3A, 0x02)
        assert media_status(t) == 0x01                                # still open
        send(t, mmc.start_stop(eject=True, start=True))
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x28, 0)


def test_an_ejected_tray_comes_back_with_the_disc_at_the_next_open(tmp_path):
    path = disc(tmp_path, "cd-r")
    with SimTransport(path) as t:
        send(t, mmc.start_stop(eject=True, start=False))
    with SimTransport(path) as t:
        assert sense_of(refused(t, mmc.test_unit_ready())) == (6, 0x28, 0)


def test_deferred_error_reaches_the_next_command(tmp_path):
    path = disc(tmp_path, "dvd+r", faults={"deferred_error_at": 20})
    with SimTransport(path) as t:
        write(t, 0, 16)
        write(t, 16, 16)                                     # taken into the buffer
        err = refused(t, mmc.test_unit_ready())
        assert sense_of(err) == (3, 0x0C, 0) and err.sense.deferred and err.sense.info == 20
        assert err.sense_bytes[0] & 0x7F == 0x71
        send(t, mmc.test_unit_ready())                       # reported once
        assert track(t, 1).next_writable is None             # the track is damaged


# ---- reading ---------------------------------------------------------------------------------
def test_intermittent_read_fault_fails_n_times_then_reads_across_opens(tmp_path):
    path = disc(tmp_path, "dvd+r")
    with SimTransport(path) as t:
        write(t, 0, 32)
    assert simtool.main(["set", path, "--fault", "read_error_at=5:2",
                         "--fault", "read_error_at=9"]) == 0
    with SimTransport(path) as t:
        err = refused(t, mmc.read10(0, 8), length=8 * SECTOR)
        assert sense_of(err) == (3, 0x11, 0) and err.sense.info == 5
    with SimTransport(path) as t:
        refused(t, mmc.read10(5, 1), length=SECTOR)
        assert send(t, mmc.read10(5, 1), length=SECTOR) == b"\x5a" * SECTOR
        for _ in range(3):
            assert refused(t, mmc.read10(9, 1), length=SECTOR).sense.info == 9   # always


def test_never_written_sectors_are_errors_not_zeros(tmp_path):
    with SimTransport(disc(tmp_path, "bd-r")) as t:
        write(t, 0, 32)
        assert sense_of(refused(t, mmc.read10(32, 1), length=SECTOR)) == (5, 0x21, 0)
        err = refused(t, mmc.read10(16, 32), length=32 * SECTOR)   # half of it is written
        assert sense_of(err) == (5, 0x21, 0) and err.sense.info == 32


# ---- burn-free -------------------------------------------------------------------------------
def starve(t, start, writes=3, pause=0.15):
    """Send a few WRITEs slower than a 1000 kB/s drive drains 32 KiB."""
    for i in range(writes):
        write(t, start + 16 * i, 16)
        time.sleep(pause)


def fill_buffer(t, start):
    """2 MiB at once: the drive starts burning."""
    for i in range(64):
        write(t, start + 16 * i, 16)
    return start + 16 * 64


@pytest.mark.parametrize("profile,page", [("cd-r", CD_TAO), ("dvd-r", DVD_INCR),
                                          ("dvd+r", None), ("bd-r", None)])
def test_burn_free_pauses_and_resumes_a_starved_buffer(tmp_path, profile, page):
    path = disc(tmp_path, profile, speed_kbs=20000)
    with SimTransport(path) as t:
        if page:
            select(t, page)
        nxt = fill_buffer(t, 0)
        time.sleep(0.3)                    # 2 MiB drain in 0.1 s: the drive runs dry
        write(t, nxt, 16)
    st = simstate.load(path)
    assert st.underrun_protection_events >= 1 and st.nwa == nxt + 16


@pytest.mark.parametrize("profile,page", [("cd-r", page05(1, track_mode=4, bufe=False)),
                                          ("dvd-r", page05(0, ls_v=True, link=16,
                                                           bufe=False))])
def test_without_bufe_a_starved_buffer_is_an_underrun(tmp_path, profile, page):
    path = disc(tmp_path, profile, speed_kbs=20000)
    with SimTransport(path) as t:
        select(t, page)
        nxt = fill_buffer(t, 0)
        time.sleep(0.3)
        err = refused(t, mmc.write10(nxt, 16), bytes(16 * SECTOR))
        assert sense_of(err) == (3, 0x0C, 0x09)
    assert simstate.load(path).underrun_protection_events == 0


def test_a_host_as_fast_as_the_drive_never_starves_it(tmp_path):
    path = disc(tmp_path, "cd-r", speed_kbs=20000)
    with SimTransport(path) as t:
        select(t, page05(1, track_mode=4, bufe=False))
        for i in range(160):               # 5 MiB, the host waits on the full buffer
            write(t, 16 * i, 16)
        send(t, mmc.synchronize_cache())
    assert simstate.load(path).underrun_protection_events == 0


# ---- profiles and capacities -----------------------------------------------------------------
@pytest.mark.parametrize("name,profile,blocks", [
    ("dvd-rw-ro", 0x13, 2295104), ("dvd+r-dl", 0x2B, 4173824), ("dvd-r-dl", 0x15, 4171712),
    ("bd-r-rrm", 0x42, 12219392), ("bd-r-50", 0x41, 24438784), ("bd-r-100", 0x41, 48878592)])
def test_new_profiles_and_their_capacities(tmp_path, name, profile, blocks):
    path = str(tmp_path / "d")
    assert simtool.main(["create", path, "--profile", name]) == 0
    with SimTransport(path) as t:
        assert int.from_bytes(configuration(t)[6:8], "big") == profile
        ti = track(t, 1)
        assert (ti.next_writable or 0) + ti.free_blocks == blocks


# ---- simtool and the state file --------------------------------------------------------------
def test_simtool_drive_kinds_and_alias(tmp_path):
    for args, kind in ((["--drive", "combo"], "combo"), (["--read-only-drive"], "rom"),
                       ([], "writer"), (["--drive", "rom"], "rom")):
        path = str(tmp_path / f"d{kind}{len(args)}")
        assert simtool.main(["create", path, "--profile", "dvd-r"] + args) == 0
        assert simstate.load(path).drive == kind


def test_simtool_help_documents_every_fault():
    out = subprocess.run([sys.executable, "-m", "burner.simtool", "create", "--help"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    for name in ("underrun_at", "medium_error_at", "power_calibration", "remove_at",
                 "long_write", "corrupt_at", "reset_at", "read_error_at",
                 "deferred_error_at", "ready_polls"):
        assert name in out
    assert "--drive" in out and "--read-only-drive" in out


def test_simtool_bad_fault_is_one_line(tmp_path, capsys):
    assert simtool.main(["create", str(tmp_path / "d"), "--fault", "nonsense=1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nonsense" in err


def test_state_is_saved_in_place(tmp_path):
    path = disc(tmp_path, "dvd+r")
    before = os.stat(path + ".state.json").st_ino
    with SimTransport(path) as t:
        write(t, 0, 16)
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
    assert os.stat(path + ".state.json").st_ino == before
    assert sorted(os.listdir(tmp_path)) == ["dvd+r.disc", "dvd+r.disc.state.json"]
    assert simstate.load(path).tracks[0].size == 16


def test_a_save_cut_short_is_detected_with_a_clear_error(tmp_path, capsys):
    path = disc(tmp_path, "dvd+r")
    with open(path + ".state.json", "r+b") as f:
        raw = f.read()
        f.seek(0)
        f.truncate(len(raw) - 40)
    with pytest.raises(simstate.StateError):
        simstate.load(path)
    with pytest.raises(TransportError) as info:
        SimTransport(path)
    assert "damaged" in str(info.value)
    assert simtool.main(["show", path]) == 1
    assert "damaged" in capsys.readouterr().err


def test_a_write_in_progress_is_saved_for_a_host_that_dies(tmp_path, monkeypatch):
    from burner import sim
    monkeypatch.setattr(sim, "SAVE_EVERY_S", 0.0)
    path = disc(tmp_path, "dvd+r")
    t = SimTransport(path)
    write(t, 0, 16)
    write(t, 16, 16)                       # no SYNC, no close: the host was killed
    st = simstate.load(path)
    assert st.open_track == 0 and st.nwa == 32 and not st.damaged
    os.close(t.fd)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/bin/python3"),
                    reason="needs root to become another user, and a system python")
def test_a_user_who_cannot_write_the_folder_can_burn():
    """Files shared with the user (as simtool create --group cdrom does), the
    folder not: the state is still saved."""
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="sim-shared-")
    try:
        os.chmod(folder, 0o755)
        path = disc(__import__("pathlib").Path(folder), "dvd+r")
        for name in (path, path + ".state.json"):
            os.chmod(name, 0o666)
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        script = (f"import sys; sys.path.insert(0, {repo!r});"
                  "from burner.sim import SimTransport; from burner import mmc;"
                  f"t = SimTransport({path!r});"
                  "t.execute(mmc.write10(0, 16), 'to-device', bytes(16 * 2048));"
                  "t.execute(mmc.close_track_session(1, 1)); t.close()")
        done = subprocess.run(["/usr/bin/python3", "-c", script], user=65534, group=65534,
                              stderr=subprocess.PIPE, text=True, cwd="/")
        assert done.returncode == 0, done.stderr
        assert simstate.load(path).tracks[0].size == 16
    finally:
        shutil.rmtree(folder)


def test_dispatch_table_takes_new_entries(tmp_path, monkeypatch):
    monkeypatch.setitem(DISPATCH, 0xAC, lambda sim, cdb, data: b"\x01\x02")
    with SimTransport(disc(tmp_path, "dvd+r")) as t:
        assert send(t, bytes([0xAC]) + bytes(11), length=2) == b"\x01\x02"


def test_simtool_group_shares_both_files(tmp_path):
    import grp
    group = grp.getgrgid(os.getgid()).gr_name
    path = str(tmp_path / "d")
    assert simtool.main(["create", path, "--profile", "cd-r", "--group", group]) == 0
    for name in (path, path + ".state.json"):
        st = os.stat(name)
        assert st.st_gid == os.getgid() and st.st_mode & 0o777 == 0o660
    assert simtool.main(["create", str(tmp_path / "e"), "--group", "no-such-group-x"]) == 1


# ---- BD-R SRM+POW (feature 0038h) ------------------------------------------------------------
def pow_disc(tmp_path, drive="writer-pow", name=None):
    """A BD-R formatted SRM+POW with FORMAT UNIT 32h, subtype 00b, through the CDBs."""
    path = disc(tmp_path, "bd-r", drive=drive, name=name)
    with SimTransport(path) as t:
        caps = mmc.parse_format_capacities(send(t, mmc.read_format_capacities(), length=252))
        blocks = next(b for b, ft, _ in caps.formats if ft == 0x32)   # the default spare
        send(t, mmc.format_unit(), format_data(blocks, 0x32, subtype=0b00))
    return path


def ready(t):
    while True:                                         # an Immed format is polled
        try:
            return send(t, mmc.test_unit_ready())
        except ScsiError as err:
            assert sense_of(err) == (2, 0x04, 0x07)


def write_clusters(t, lba, blocks, fill):
    for at in range(lba, lba + blocks, 32):             # 64 KiB: the transport's limit
        write(t, at, min(32, lba + blocks - at), fill)


def read_back(t, lba, blocks):
    return b"".join(send(t, mmc.read10(at, min(32, lba + blocks - at)),
                         length=min(32, lba + blocks - at) * SECTOR)
                    for at in range(lba, lba + blocks, 32))


def test_bd_r_format_32h_only_on_a_blank_bd_r(tmp_path):
    with SimTransport(disc(tmp_path, "bd-r", drive="writer-pow")) as t:
        caps = mmc.parse_format_capacities(send(t, mmc.read_format_capacities(), length=252))
        assert caps.current_type == 1 and caps.current_blocks == 12219392   # blank
        spares = sorted(12219392 - b for b, ft, param in caps.formats if ft == 0x32)
        assert spares == [8192, 393216] and {f[2] for f in caps.formats} == {0}
        write(t, 0, 32)                                 # written sequentially: no longer blank
        assert 0x32 not in formats_offered(t)
        err = refused(t, mmc.format_unit(), format_data(11826176, 0x32))
        assert sense_of(err) == (5, 0x26, 0) and err.sense.field == (False, 8, 7)
    with SimTransport(disc(tmp_path, "dvd+r", drive="writer-pow")) as t:
        err = refused(t, mmc.format_unit(), format_data(2295104, 0x32))
        assert err.sense.field == (False, 8, 7)


def test_srm_pow_needs_feature_0038h_and_spare_sizes_offered(tmp_path):
    with SimTransport(disc(tmp_path, "bd-r", drive="writer")) as t:
        assert 0x38 not in features(configuration(t))           # no POW in this drive
        err = refused(t, mmc.format_unit(), format_data(11826176, 0x32, subtype=0b00))
        assert sense_of(err) == (5, 0x26, 0) and err.sense.field == (False, 8, 1)
        err = refused(t, mmc.format_unit(), format_data(11826175, 0x32, subtype=0b01))
        assert err.sense.field == (False, 4, 7)        # not one of the offered spare sizes
        send(t, mmc.format_unit(), format_data(11826176, 0x32, subtype=0b01))   # SRM-POW
        ready(t)
        write(t, 0, 32)
        err = refused(t, mmc.write10(0, 16), bytes(16 * SECTOR))
        assert sense_of(err) == (5, 0x21, 2)         # spare areas, but no overwrite
    with SimTransport(disc(tmp_path, "bd-r", drive="writer-pow", name="b")) as t:
        current, desc = features(configuration(t))[0x38]
        assert not current and desc[3] == 4                     # listed, no POW disc yet
    with SimTransport(pow_disc(tmp_path, name="c")) as t:
        assert features(configuration(t, rt=1))[0x38][0]       # current on the POW disc
        assert int.from_bytes(configuration(t)[6:8], "big") == 0x41   # still BD-R SRM


def test_pow_remaps_recorded_sectors_and_keeps_the_nwa(tmp_path):
    path = pow_disc(tmp_path)
    with SimTransport(path) as t:
        assert track(t, 1).free_blocks == 11826176              # user area after the spares
        write_clusters(t, 0, 64, b"A")
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        write(t, 16, 16, b"B")                                  # recorded: pseudo-overwrite
        back = read_back(t, 0, 64)
        assert back == b"A" * (16 * SECTOR) + b"B" * (16 * SECTOR) + b"A" * (32 * SECTOR)
        info, nxt = disc_info(t), track(t, 2)
        assert (info.status, info.last_session_state, info.sessions) == (1, 1, 1)
        assert not info.erasable and info.last_track_last_session == 2
        assert nxt.next_writable == 64 and nxt.free_blocks == 11826176 - 64
        for lba, blocks in ((96, 16), (48, 32)):   # beyond the NWA; across it
            err = refused(t, mmc.write10(lba, blocks), bytes(blocks * SECTOR))
            assert sense_of(err) == (5, 0x21, 2)
        assert sense_of(refused(t, mmc.read_track_information(0xFF), length=36)) == \
            (5, 0x24, 0)
    st = simstate.load(path)
    assert st.pow and st.pow_replaced == 1 and st.pow_spare == 393216 // 32 - 1


def test_pow_spare_area_used_up_is_a_medium_error(tmp_path):
    path = pow_disc(tmp_path)
    with SimTransport(path) as t:
        write_clusters(t, 0, 64, b"A")
    st = simstate.load(path)
    st.pow_spare = 1
    simstate.save(path, st)
    with SimTransport(path) as t:
        write(t, 0, 16, b"B")                                   # the last replacement
        err = refused(t, mmc.write10(32, 16), b"C" * (16 * SECTOR))
        assert sense_of(err) == (3, 0x32, 0) and err.sense.info == 32
        back = read_back(t, 0, 48)
        assert back == b"B" * (16 * SECTOR) + b"A" * (32 * SECTOR)   # nothing stored
        write(t, 64, 16, b"D")                       # appending at the NWA still works
    assert simstate.load(path).pow_spare == 0


def test_a_pow_disc_in_a_drive_without_0038h_is_only_sequential(tmp_path):
    path = pow_disc(tmp_path)
    with SimTransport(path) as t:
        write_clusters(t, 0, 64, b"A")
    st = simstate.load(path)
    st.drive = "writer"                               # the same disc in another drive
    simstate.save(path, st)
    with SimTransport(path) as t:
        assert 0x38 not in features(configuration(t))
        err = refused(t, mmc.write10(16, 16), bytes(16 * SECTOR))
        assert sense_of(err) == (5, 0x21, 2)


# ---- READ TOC/PMA/ATIP format 0100b: the ATIP of a CD-R/RW (MMC-6 §6.26.2.6) -------------------
def _atip(t, length=28):
    return send(t, mmc.read_toc(fmt=4, msf=True, length=length), length=length)


@pytest.mark.parametrize("profile,erasable", [("cd-r", False), ("cd-rw", True)])
def test_atip_of_a_cd(tmp_path, profile, erasable):
    """Header: data length 26 (the 24-byte descriptor and 2 reserved bytes);
    byte 6: bit 7 always 1, bit 6 Disc Type (1 = CD-RW); bytes 8-10 the start
    of lead-in 97:26:66 (LBA -11634), bytes 12-14 the last possible start of
    lead-out: the disc's capacity as absolute time (LBA + 150 frames), the
    same on a blank and on a written disc (the pregroove does not change)."""
    path = disc(tmp_path, profile, capacity=359_849)      # 79:59:74, a real 80-min blank
    with SimTransport(path) as t:
        blank = _atip(t)
        assert len(blank) == 28 and blank[0:2] == b"\x00\x1a"
        assert blank[6] & 0x80 and bool(blank[6] & 0x40) == erasable
        assert blank[6] & 0x07 == 0                         # no A1/A2/A3 values
        assert tuple(blank[8:11]) == (97, 26, 66)
        assert tuple(blank[12:15]) == (79, 59, 74)
        assert blank[4] & 0x07 == (1 if erasable else 0)    # reference speed 2x (CD-RW)
        assert _atip(t, 4) == blank[:4]                     # cut at the allocation length
        for lba in range(0, 300, 16):
            write(t, lba, min(16, 300 - lba))
        send(t, mmc.synchronize_cache())
        assert simstate.load(path).tracks
        assert _atip(t) == blank


def test_atip_of_the_default_80_minute_disc_ends_at_its_capacity(tmp_path):
    path = disc(tmp_path, "cd-rw")
    with SimTransport(path) as t:
        reply = _atip(t)
        free = track(t, 1).free_blocks
    m, s, f = reply[12:15]
    assert (m * 60 + s) * 75 + f - 150 == free == simstate.load(path).capacity


@pytest.mark.parametrize("profile", ["dvd-r", "dvd+rw", "bd-r", "bd-re", "cd-rom"])
def test_atip_is_refused_without_a_pregroove(tmp_path, profile):
    """DVD and BD carry no ATIP (nor does a pressed CD-ROM): ILLEGAL REQUEST,
    INVALID FIELD IN CDB, the field pointer at byte 2 (the format)."""
    kw = {"image": _tiny_image(tmp_path)} if profile == "cd-rom" else {}
    with SimTransport(disc(tmp_path, profile, **kw)) as t:
        err = refused(t, mmc.read_toc(fmt=4, msf=True, length=28), length=28)
    assert sense_of(err) == (5, 0x24, 0x00)
    assert err.sense.field == (True, 2, 3)


def _tiny_image(tmp_path):
    path = tmp_path / "pressed.iso"
    path.write_bytes(os.urandom(64 * SECTOR))
    return str(path)
