"""BD-R SRM+POW: a BD-R formatted for Pseudo-Overwrite (FORMAT UNIT 32h,
subtype 00b; feature 0038h current afterwards) is grown like a DVD+RW --
the new session at the drive's next writable address, the volume
descriptors at 16-31 rewritten (the drive remaps them) and verified -- as
growisofs does (docs/burner-mmc.md).  Without POW a BD-R stays sequential,
exactly as before (the golden sequences of test_burner_golden.py, here on a
drive that has POW too)."""

import os
import subprocess

import pytest

from burner import errors, formatting, mmc, simstate
from burner.drive import Drive
from burner.sim import SimTransport
from burner_support import make_disc, make_tree, run, state
from mountutil import mounted
from test_burner_golden import (ALLOW, CLOSE_TRACK_1, EXPECTED, PREVENT, SET_STREAMING,
                                SYNC, TUR, _compare, h, record)

CLOSE_TRACK_2 = h("5B 01 01 00 00 02 00 00 00 00")


@pytest.fixture
def trees(tmp_path):
    first = make_tree(tmp_path / "one", {"keep.txt": b"keep\n", "gone.txt": b"gone\n",
                                         "big.bin": os.urandom(400_000)})
    second = make_tree(tmp_path / "two", {"new.txt": b"new\n", "dir/b.txt": b"b\n"})
    return first, second


def pow_disc(tmp_path, drive="writer-pow"):
    """A blank BD-R formatted for pseudo-overwrite by the burner."""
    path = make_disc(tmp_path, "bd-r", drive=drive)
    with SimTransport(path) as t:
        drive_ = Drive(t, sleep=lambda s: None)
        formatting.format_medium(drive_, drive_.probe(), how="pow")
    return path


def probe(path):
    with SimTransport(path) as t:
        return Drive(t, sleep=lambda s: None).probe()


def logged(*args):
    """Run the CLI; the CDBs sent from PREVENT to ALLOW (the write phase)."""
    log, real = [], SimTransport._execute

    def spy(self, cdb, direction, data, length, timeout, name):
        log.append(bytes(cdb))
        return real(self, cdb, direction, data, length, timeout, name)
    SimTransport._execute = spy
    try:
        result = run(*args)
    finally:
        SimTransport._execute = real
    first = log.index(PREVENT)
    return result, log[first:log.index(ALLOW, first) + 1]


def iso_files(disc):
    """The tree isoinfo (a reader we did not write) finds through sector 16 --
    what a drive's reader sees on a one-session disc."""
    out = subprocess.run(["isoinfo", "-R", "-f", "-i", disc], capture_output=True,
                         text=True, check=True).stdout
    return sorted(out.split())


def files_seen(disc, mnt):
    with mounted(disc, mnt):
        return sorted(os.path.relpath(os.path.join(d, f), mnt)
                      for d, _, fs in os.walk(mnt) for f in fs)


# ---- probing and formatting ------------------------------------------------------------------
def test_probe_sees_pow_after_the_format(tmp_path):
    blank = probe(make_disc(tmp_path, "bd-r", drive="writer-pow"))
    assert blank.pow_capable and not blank.pseudo_overwrite
    assert blank.profile_info.name == "BD-R SRM" and not blank.profile_info.overwritable
    path = pow_disc(tmp_path)
    st = probe(path)
    assert st.profile == 0x41 and st.pseudo_overwrite
    assert st.profile_info.name == "BD-R SRM+POW" and st.profile_info.overwritable
    assert st.next_writable == 0 and st.free_blocks == 11826176     # spare areas taken
    assert state(path).pow and state(path).formatted
    code, out, err = run("--list", "--device", f"sim:{path}")
    assert code == 0 and "BD-R SRM+POW" in out, err


def test_pow_format_is_refused_where_it_cannot_be(tmp_path, trees):
    plain = make_disc(tmp_path, "bd-r", name="plain.disc")          # drive without 0038h
    with SimTransport(plain) as t:
        d = Drive(t, sleep=lambda s: None)
        with pytest.raises(errors.BurnError) as info:
            formatting.format_medium(d, d.probe(), how="pow")
    assert info.value.code == errors.CANNOT_WRITE and "0038h" in str(info.value)
    used = make_disc(tmp_path, "bd-r", name="used.disc", drive="writer-pow")
    assert run("--device", f"sim:{used}", "--multi", trees[0])[0] == 0
    dvd = make_disc(tmp_path, "dvd+rw", name="dvd.disc", drive="writer-pow")
    for path, words in ((used, "only a blank BD-R"), (dvd, "is for BD-R")):
        with SimTransport(path) as t:
            d = Drive(t, sleep=lambda s: None)
            with pytest.raises(errors.BurnError) as info:
                formatting.format_medium(d, d.probe(), how="pow")
        assert info.value.code == errors.CANNOT_WRITE and words in str(info.value)
    assert not state(used).pow and state(used).closed_sessions == 1   # untouched


# ---- growing ---------------------------------------------------------------------------------
def test_multi_grows_a_pow_bd_r_like_a_dvd_plus_rw(tmp_path, trees):
    first, second = trees
    disc = pow_disc(tmp_path)
    (code, _, err), log = logged("--device", f"sim:{disc}", "--multi", "--verify", first)
    assert code == 0, err
    nwa = state(disc).nwa
    # growisofs' BD-R POW sequence: the data in whole 64 KiB clusters, CLOSE
    # TRACK, and no CLOSE SESSION (the disc is grown within one session)
    chunks = [h("2A 00") + lba.to_bytes(4, "big") + h("00 00 10 00") for lba in range(0, nwa, 16)]
    assert nwa % 32 == 0
    _compare_cdbs(log, [PREVENT, SET_STREAMING, *chunks, SYNC, TUR, CLOSE_TRACK_1, TUR, ALLOW])
    code, out, err = run("--device", f"sim:{disc}", "--msinfo")
    assert code == 0 and out.strip() == f"0,{nwa}", (out, err)

    (code, _, err), log = logged("--device", f"sim:{disc}", "--multi", "--verify",
                                 "--add", second, "--remove", "gone.txt")
    assert code == 0, err
    end = state(disc).nwa
    chunks = [h("2A 00") + lba.to_bytes(4, "big") + h("00 00 10 00")
              for lba in range(nwa, end, 16)]
    rewrite = h("2A 00 00 00 00 10 00 00 10 00")                   # 16 sectors at 16
    _compare_cdbs(log, [PREVENT, SET_STREAMING, *chunks, rewrite, SYNC, TUR, CLOSE_TRACK_2,
                        TUR, ALLOW])
    st = state(disc)
    assert [(t.start, t.session) for t in st.tracks] == [(0, 1), (nwa, 1)]
    assert st.status == "appendable" and st.closed_sessions == 0 and st.pow_replaced == 1
    info = probe(disc)
    assert info.disc.sessions == 1 and info.recorded_end <= end
    code, out, _ = run("--device", f"sim:{disc}", "--msinfo")
    assert out.strip() == f"0,{end}"
    assert files_seen(disc, tmp_path / "mnt") == ["big.bin", "dir/b.txt", "keep.txt", "new.txt"]
    # a reader we did not write sees the grown tree through the descriptors at 16
    assert iso_files(disc) == ["/big.bin", "/dir", "/dir/b.txt", "/keep.txt", "/new.txt"]


def _compare_cdbs(log, expected):
    assert len(log) == len(expected), [c.hex() for c in log]
    for i, (got, want) in enumerate(zip(log, expected)):
        assert got == want, f"command {i}: sent {got.hex()}, expected {want.hex()}"


def test_descriptor_rewrite_on_pow_is_verified(tmp_path, trees):
    disc = pow_disc(tmp_path)
    assert run("--device", f"sim:{disc}", "--multi", trees[0])[0] == 0
    st = state(disc)
    st.faults["corrupt_at"] = 16
    simstate.save(disc, st)
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", trees[1])
    assert code == errors.VERIFY_FAILED and "sectors 16-31" in err, err


def test_spare_area_used_up_leaves_the_previous_session(tmp_path, trees):
    first, second = trees
    disc = pow_disc(tmp_path)
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    st = state(disc)
    st.pow_spare = 0
    simstate.save(disc, st)
    code, _, err = run("--device", f"sim:{disc}", "--multi", second)
    assert code == errors.WRITE_FAILED and len(err.strip().splitlines()[-1]) > 0
    last = err.strip().splitlines()[-1]
    assert "sector 16" in last and "spare areas" in last and "previous session" in last, err
    assert "--close --multi" in last
    assert iso_files(disc) == ["/big.bin", "/gone.txt", "/keep.txt"]    # 16 untouched
    code, _, err = run("--device", f"sim:{disc}", "--close", "--multi")
    assert code == 0, err
    st = state(disc)
    assert st.open_track is None and st.status == "appendable" and st.closed_sessions == 0


def test_close_without_multi_finalizes_a_pow_disc(tmp_path, trees):
    disc = pow_disc(tmp_path)
    assert run("--device", f"sim:{disc}", trees[0])[0] == 0   # stays open, as growisofs
    assert state(disc).status == "appendable"
    code, _, err = run("--device", f"sim:{disc}", "--close")
    assert code == 0, err
    assert state(disc).status == "complete"
    code, _, err = run("--device", f"sim:{disc}", "--msinfo")
    assert code == errors.DISC_CLOSED and "closed" in err
    code, _, err = run("--device", f"sim:{disc}", "--multi", trees[1])
    assert code == errors.DISC_CLOSED, err


# ---- without POW nothing changes -------------------------------------------------------------
@pytest.mark.parametrize("multi", [False, True])
def test_bd_r_without_pow_stays_sequential_in_a_pow_drive(tmp_path, multi):
    _compare(record(tmp_path, "bd-r", multi, drive="writer-pow"), EXPECTED[("bd-r", multi)])


def test_bd_r_without_pow_multi_adds_sessions_as_before(tmp_path, trees):
    disc = make_disc(tmp_path, "bd-r", drive="writer-pow")
    assert run("--device", f"sim:{disc}", "--multi", trees[0])[0] == 0
    code, out, _ = run("--device", f"sim:{disc}", "--msinfo")
    start, nxt = (int(x) for x in out.strip().split(","))
    assert code == 0 and start == 0 and nxt > state(disc).tracks[0].end + 4000  # a session gap
    assert run("--device", f"sim:{disc}", "--multi", trees[1])[0] == 0
    st = state(disc)
    assert [t.session for t in st.tracks] == [1, 2] and st.tracks[1].start == nxt
    assert st.pow_replaced == 0 and not st.pow


def test_mmc_names_of_the_close_sent(tmp_path):
    """The CDB constants above are the MMC-6 §6.3 CLOSE TRACK/SESSION layout."""
    assert CLOSE_TRACK_2 == mmc.close_track_session(mmc.CLOSE_TRACK, 2)
    assert CLOSE_TRACK_1 == mmc.close_track_session(mmc.CLOSE_TRACK, 1)


def test_a_folder_without_multi_on_a_used_pow_disc_is_refused(tmp_path, trees):
    disc = pow_disc(tmp_path)
    assert run("--device", f"sim:{disc}", "--multi", trees[0])[0] == 0
    before = state(disc)
    code, _, err = run("--device", f"sim:{disc}", trees[1])
    assert code == errors.SOURCE and "--multi" in err and "sector 0" in err, err
    after = state(disc)
    assert (after.nwa, after.pow_replaced, len(after.tracks)) == \
        (before.nwa, before.pow_replaced, len(before.tracks))
