"""Partial blanking (BLANK types 010b a track, 101b unclose the last session,
110b the last session; MMC-6 §6.2.3) on CD-RW and sequential DVD-RW;
finalizing a disc whose sessions are all closed (growisofs -M
/dev/dvd=/dev/zero: CLOSE 101b on DVD+R, 110b on BD-R, CLOSE SESSION with
page 05h multi-session 00b on DVD-R); and -fix on a disc with nothing open.
At the CDB level against the simulated drive, then through isofuse-burn
--blank/--finalize and the cdrecord and growisofs dialects, the disc read
back with xorriso."""

import os
import subprocess

import pytest

from burner import closing, errors, mmc
from burner.drive import Drive
from burner.sense import ScsiError
from burner.sim import SimTransport
from burner.transport import RecordingTransport
from burner_support import make_disc, run, state
from test_burn_dialect_cdrecord import disc_files, run_as
from test_sim_drive import disc, disc_info, page05, refused, select, send, sense_of, track, \
    write

SECTOR = 2048
CD_TAO_MULTI = page05(1, track_mode=4, multi=3)
DVD_INCR_MULTI = page05(0, ls_v=True, link=16, multi=3)
DVD_INCR_CLOSE = page05(0, ls_v=True, link=16, multi=0)


def cd_track(t, blocks=320):
    """One TAO track at the NWA: the WRITEs, then SYNCHRONIZE CACHE."""
    nwa = track(t, 0xFF).next_writable
    for lba in range(nwa, nwa + blocks, 32):
        write(t, lba, 32)
    send(t, mmc.synchronize_cache())
    return nwa


def cd_session(t, blocks=320):
    start = cd_track(t, blocks)
    send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
    return start


def blank(t, kind, address=0):
    """BLANK, then TEST UNIT READY until the drive is no longer busy."""
    send(t, mmc.blank(kind, address=address))
    for _ in range(20):
        try:
            send(t, mmc.test_unit_ready())
            return
        except ScsiError as exc:
            assert (exc.key, exc.asc, exc.ascq) == (2, 4, 7)
    raise AssertionError("still blanking")


# ---- the simulated drive ---------------------------------------------------------------------
def test_sim_blank_last_session_of_a_cd_rw(tmp_path):
    path = disc(tmp_path, "cd-rw")
    with SimTransport(path) as t:
        select(t, CD_TAO_MULTI)
        first = cd_session(t)
        second = cd_session(t)
        assert disc_info(t).sessions == 3 and second == 322 + 11400
        blank(t, mmc.BLANK_SESSION)
        info = disc_info(t)
        assert info.status == mmc.DISC_APPENDABLE and info.sessions == 2
        assert track(t, 0xFF).next_writable == second        # the same gap again
        assert sense_of(refused(t, mmc.read10(second, 1), length=SECTOR))[:2] == (5, 0x21)
        assert send(t, mmc.read10(first, 1), length=SECTOR) == b"\x5a" * SECTOR
        blank(t, mmc.BLANK_SESSION)
        assert disc_info(t).status == mmc.DISC_BLANK
        assert sense_of(refused(t, mmc.blank(mmc.BLANK_SESSION, immed=False))) == (5, 0x2C, 0)
    assert os.path.getsize(path) == 0


def test_sim_blank_track_reopens_its_session(tmp_path):
    """Two tracks in one session; blanking the last leaves the session
    incomplete with track 1, written on behind it; only the last track can
    be named."""
    with SimTransport(disc(tmp_path, "cd-rw")) as t:
        select(t, CD_TAO_MULTI)
        cd_track(t)
        second = cd_track(t)
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        err = refused(t, mmc.blank(mmc.BLANK_TRACK, immed=False, address=1))
        assert sense_of(err) == (5, 0x24, 0) and err.sense.field == (True, 2, None)
        blank(t, mmc.BLANK_TRACK, 2)
        info = disc_info(t)
        assert info.status == mmc.DISC_APPENDABLE and info.last_session_state == \
            mmc.SESSION_INCOMPLETE
        assert track(t, 0xFF).next_writable == second      # where track 2 was
        select(t, CD_TAO_MULTI)                              # BLANK resets page 05h
        assert cd_track(t) == second
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert disc_info(t).sessions == 2


def test_sim_blank_track_on_a_damaged_open_track(tmp_path):
    """A track cut by a reset: blank=track erases it (the rewritable disc is
    usable again without blanking all)."""
    path = disc(tmp_path, "dvd-rw", faults={"reset_at": 100})
    with SimTransport(path) as t:
        select(t, DVD_INCR_MULTI)
        for lba in range(0, 96, 16):
            write(t, lba, 16)
        assert sense_of(refused(t, mmc.write10(96, 16), bytes(16 * SECTOR))) == (6, 0x29, 0)
        assert track(t, 1).damaged
        blank(t, mmc.BLANK_TRACK, 1)
        assert disc_info(t).status == mmc.DISC_BLANK
        t1 = track(t, 1)
        assert not t1.damaged and t1.blank and t1.next_writable == 0


def test_sim_unclose_and_close_again(tmp_path):
    """101b: a closed DVD-RW's last session is incomplete again, its track
    still reads; CLOSE SESSION with 11b then leaves room for a session."""
    with SimTransport(disc(tmp_path, "dvd-rw")) as t:
        select(t, DVD_INCR_CLOSE)
        for lba in range(0, 320, 16):
            write(t, lba, 16)
        send(t, mmc.synchronize_cache())
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert disc_info(t).status == mmc.DISC_COMPLETE
        blank(t, mmc.BLANK_UNCLOSE)
        info = disc_info(t)
        assert (info.status, info.last_session_state, info.sessions) == \
            (mmc.DISC_APPENDABLE, mmc.SESSION_INCOMPLETE, 1)
        assert send(t, mmc.read10(0, 1), length=SECTOR) == b"\x5a" * SECTOR
        assert sense_of(refused(t, mmc.blank(mmc.BLANK_UNCLOSE, immed=False))) == \
            (5, 0x2C, 0)                                    # nothing closed to unclose
        select(t, DVD_INCR_MULTI)
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert disc_info(t).status == mmc.DISC_APPENDABLE
        assert track(t, 2).next_writable == 320 + 16384


def test_sim_partial_blank_needs_a_sequential_rw(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-rw-ro")) as t:
        err = refused(t, mmc.blank(mmc.BLANK_SESSION, immed=False))
        assert sense_of(err) == (5, 0x24, 0)
    with SimTransport(disc(tmp_path, "cd-r", name="r.disc")) as t:
        assert sense_of(refused(t, mmc.blank(mmc.BLANK_SESSION))) == (5, 0x30, 5)


@pytest.mark.parametrize("profile,function", [("dvd+r", 5), ("dvd+r", 6), ("bd-r", 6)])
def test_sim_finalize_a_disc_with_closed_sessions(tmp_path, profile, function):
    with SimTransport(disc(tmp_path, profile)) as t:
        for lba in range(0, 320, 32):
            write(t, lba, 32)
        send(t, mmc.synchronize_cache())
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert sense_of(refused(t, mmc.close_track_session(mmc.CLOSE_SESSION))) == \
            (5, 0x2C, 0)                                    # nothing open to close
        send(t, mmc.close_track_session(function))
        assert disc_info(t).status == mmc.DISC_COMPLETE


def test_sim_dvd_r_closes_with_multisession_00b(tmp_path):
    with SimTransport(disc(tmp_path, "dvd-r")) as t:
        select(t, DVD_INCR_MULTI)
        for lba in range(0, 320, 16):
            write(t, lba, 16)
        send(t, mmc.synchronize_cache())
        send(t, mmc.close_track_session(mmc.CLOSE_TRACK, 1))
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert sense_of(refused(t, mmc.close_track_session(mmc.CLOSE_SESSION))) == \
            (5, 0x2C, 0)                                    # 11b: nothing to close
        select(t, DVD_INCR_CLOSE)
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        assert disc_info(t).status == mmc.DISC_COMPLETE


def test_sim_cd_cannot_be_closed_without_a_session(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        select(t, CD_TAO_MULTI)
        cd_session(t)
        select(t, page05(1, track_mode=4))
        assert sense_of(refused(t, mmc.close_track_session(mmc.CLOSE_SESSION))) == \
            (5, 0x2C, 0)


# ---- the recorder: nothing open is not an error ----------------------------------------------
def test_close_with_nothing_open_sends_no_close(tmp_path, image):
    disc_path = make_disc(tmp_path, "dvd+r")
    assert run("-d", f"sim:{disc_path}", "--multi", image)[0] == 0
    rec = RecordingTransport(SimTransport(disc_path))
    drive = Drive(rec, sleep=lambda s: None)
    closed = closing.close_open_track(drive, drive.probe(), multi=False)
    rec.close()
    assert closed.nothing_open
    assert all(ok for _, _, ok in rec.log)                  # no 5/2C/00 on the way
    assert mmc.CLOSE_TRACK_SESSION not in [cdb[0] for cdb, _, _ in rec.log]
    assert state(disc_path).status == "appendable"


# ---- isofuse-burn and the dialects -----------------------------------------------------------
@pytest.fixture
def image(tmp_path):
    return _iso(tmp_path, "one", {"one.txt": b"first session\n"})


def _iso(tmp_path, name, files, msinfo=None, previous=None):
    src = tmp_path / f"src-{name}"
    src.mkdir()
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    out = tmp_path / f"{name}.iso"
    extra = ["-C", msinfo, "-M", previous] if msinfo else []
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", *extra, "-o", str(out),
                    str(src)], check=True, stderr=subprocess.DEVNULL)
    return str(out)


def _two_sessions(tmp_path, profile, image):
    disc_path = make_disc(tmp_path, profile)
    assert run_as("cdrecord", f"dev=sim:{disc_path}", "-multi", image)[0] == 0
    code, msinfo, _ = run_as("cdrecord", f"dev=sim:{disc_path}", "-msinfo")
    assert code == 0
    second = _iso(tmp_path, "two", {"two.txt": b"second session\n"}, msinfo.strip(), image)
    assert run_as("cdrecord", f"dev=sim:{disc_path}", "-multi", second)[0] == 0
    return disc_path, int(msinfo.strip().split(",")[1])


@pytest.mark.parametrize("profile", ["cd-rw", "dvd-rw"])
def test_cdrecord_blank_session(tmp_path, image, profile):
    """'cdrecord dev=DEV blank=session': the second session is gone, the
    first reads, and a session can be added where the second was."""
    disc_path, second = _two_sessions(tmp_path, profile, image)
    assert disc_files(disc_path, second) == ["/one.txt", "/two.txt"]
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "blank=session")
    assert code == 0, err
    st = state(disc_path)
    assert st.status == "appendable" and len(st.tracks) == 1 and st.nwa == second
    assert disc_files(disc_path) == ["/one.txt"]
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc_path}", "-msinfo")
    assert out.strip() == f"0,{second}"


def test_isofuse_burn_blank_track_of_a_single_session_disc(tmp_path, image):
    disc_path = make_disc(tmp_path, "cd-rw")
    assert run("-d", f"sim:{disc_path}", image)[0] == 0
    code, _, err = run("-d", f"sim:{disc_path}", "--blank", "track")
    assert code == errors.NOT_CONFIRMED and state(disc_path).status == "complete"
    code, _, err = run("-d", f"sim:{disc_path}", "--blank", "track", "--yes")
    assert code == 0, err
    assert state(disc_path).status == "blank" and os.path.getsize(disc_path) == 0


def test_cdrecord_unclose_then_fix_multi_then_a_new_session(tmp_path, image):
    """A CD-RW closed by a burn without -multi: 'blank=unclose' reopens the
    session, '-fix -multi' closes it with room for another, and the next
    session (mkisofs -C from -msinfo) reads with both files."""
    disc_path = make_disc(tmp_path, "cd-rw")
    assert run_as("cdrecord", f"dev=sim:{disc_path}", image)[0] == 0
    assert state(disc_path).status == "complete"
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "blank=unclose")
    assert code == 0, err
    assert state(disc_path).status == "appendable"
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-fix", "-multi")
    assert code == 0, err
    code, msinfo, _ = run_as("cdrecord", f"dev=sim:{disc_path}", "-msinfo")
    assert code == 0 and msinfo.strip() == f"0,{state(disc_path).tracks[0].end + 11400}"
    second = _iso(tmp_path, "two", {"two.txt": b"2\n"}, msinfo.strip(), image)
    assert run_as("cdrecord", f"dev=sim:{disc_path}", second)[0] == 0
    start = int(msinfo.strip().split(",")[1])
    assert disc_files(disc_path, start) == ["/one.txt", "/two.txt"]


def test_burning_onto_an_unclosed_session_is_refused(tmp_path, image):
    disc_path = make_disc(tmp_path, "cd-rw")
    assert run("-d", f"sim:{disc_path}", image)[0] == 0
    assert run_as("cdrecord", f"dev=sim:{disc_path}", "blank=unclose")[0] == 0
    before = state(disc_path)
    code, _, err = run("-d", f"sim:{disc_path}", "--multi", image)
    assert code == errors.DISC_CLOSED and "--close" in err and state(disc_path) == before


@pytest.mark.parametrize("what", ["session", "track", "unclose"])
def test_partial_blank_refusals(tmp_path, what):
    blank_disc = make_disc(tmp_path, "cd-rw", name="blank.disc")
    code, _, err = run("-d", f"sim:{blank_disc}", "--blank", what, "--yes")
    assert code == errors.NO_SESSION and "blank" in err
    ro = make_disc(tmp_path, "dvd-rw-ro", name="ro.disc", formatted=True)
    code, _, err = run("-d", f"sim:{ro}", "--blank", what, "--yes")
    assert code == errors.CANNOT_WRITE and "restricted overwrite" in err


@pytest.mark.parametrize("profile", ["dvd+r", "bd-r", "dvd-r"])
def test_growisofs_finalize_with_dev_zero(tmp_path, image, profile):
    """growisofs -M /dev/dvd=/dev/zero after '-Z /dev/dvd=image' (left
    appendable): the disc is complete and its session still reads."""
    from test_burn_dialect_growisofs import growisofs
    disc_path = make_disc(tmp_path, profile)
    code, _, err = growisofs("-Z", f"sim:{disc_path}={image}")
    assert code == 0, err
    assert state(disc_path).status == "appendable"
    code, _, err = growisofs("-M", f"sim:{disc_path}=/dev/zero")
    assert code == 0, err
    assert state(disc_path).status == "complete" and disc_files(disc_path) == ["/one.txt"]
    code, _, err = growisofs("-M", f"sim:{disc_path}=/dev/zero")
    assert code == errors.DISC_CLOSED and "closed already" in err


def test_finalize_refusals(tmp_path, image):
    blank_disc = make_disc(tmp_path, "dvd+r", name="blank.disc")
    code, _, err = run("-d", f"sim:{blank_disc}", "--finalize")
    assert code == errors.NO_SESSION and "blank" in err
    cd = make_disc(tmp_path, "cd-r")
    assert run("-d", f"sim:{cd}", "--multi", image)[0] == 0
    code, _, err = run("-d", f"sim:{cd}", "--finalize")
    assert code == errors.CANNOT_WRITE and "without -multi" in err
    assert state(cd).status == "appendable"


def test_growisofs_dry_run_finalize_writes_nothing(tmp_path, image):
    from test_burn_dialect_growisofs import growisofs
    disc_path = make_disc(tmp_path, "dvd+r")
    assert growisofs("-Z", f"sim:{disc_path}={image}")[0] == 0
    before = state(disc_path)
    code, out, err = growisofs("-dry-run", "-M", f"sim:{disc_path}=/dev/zero")
    assert code == 0, err
    assert "would close (finalize)" in out and state(disc_path) == before
