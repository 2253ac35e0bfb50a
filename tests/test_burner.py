"""isofuse-burn against the simulated drive: every path, fault and refusal."""

import hashlib
import json
import os
import subprocess

import pytest

from burner import errors, mmc, pages, sense, simstate
from burner.drive import Drive
from burner.sim import SimTransport
from burner_support import disc_bytes, make_disc, make_tree, run, run_process, state
from mountutil import mounted

ISO_SIZE_SECTORS = None


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / "src", {
        "README.txt": b"hello from the burner\n",
        "photos/2026/big.jpg": os.urandom(700_000),
        "docs/notes.txt": b"notes\n" * 100,
    })


@pytest.fixture
def image(tmp_path, tree):
    """An ISO image made by the project's own master (xorriso is not needed)."""
    out = tmp_path / "src.iso"
    subprocess.run(["isofuse", "master", "-quiet", "-r", "-J", "-o", str(out), tree],
                   check=True)
    return str(out)


# ---- layers alone ------------------------------------------------------------------------------
def test_sense_fixed_and_descriptor_formats():
    s = sense.decode(sense.fixed(3, 0x0C, 0x09))
    assert (s.key, s.asc, s.ascq) == (3, 0x0C, 0x09)
    assert "underrun" in s.message and "3/0C/09" in str(s)
    desc = bytes([0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0])
    s = sense.decode(desc)
    assert (s.key, s.asc, s.ascq) == (5, 0x24, 0) and "invalid field" in s.message
    prog = sense.decode(sense.fixed(2, 0x04, 0x07, progress=0.5))
    assert abs(prog.progress - 0.5) < 0.001
    assert sense.decode(b"") is None


def test_mmc_builders_and_parsers():
    assert mmc.write10(0x12345, 16) == bytes([0x2A, 0, 0, 1, 0x23, 0x45, 0, 0, 16, 0])
    assert mmc.close_track_session(mmc.CLOSE_TRACK, 1) == \
        bytes([0x5B, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    assert mmc.blank(mmc.BLANK_MINIMAL) == bytes([0xA1, 0x11] + [0] * 10)
    info = mmc.parse_disc_information(bytes([0, 32, 0x10 | 0x04 | 0x01, 1, 2, 1, 2]) + bytes(27))
    assert info.erasable and info.status == mmc.DISC_APPENDABLE and info.sessions == 2
    page = pages.build_write_parameters(pages.WriteParameters(
        write_type=pages.WT_TAO, multisession=pages.MULTI_KEEP))[8:]
    assert page[2] == 0x41 and page[3] == 0xC4 and page[4] == 8
    back = pages.parse_write_parameters(page)
    assert back.write_type == pages.WT_TAO and back.multisession == pages.MULTI_KEEP


def test_sim_answers_like_a_drive(tmp_path):
    path = make_disc(tmp_path, "dvd+r")
    with SimTransport(path) as t:
        d = Drive(t)
        st = d.probe()
        assert st.is_mmc and st.profile == 0x1B and st.medium and st.next_writable == 0
        with pytest.raises(sense.ScsiError) as exc:   # no page 05h on DVD+R
            d.cmd(mmc.mode_sense(pages.WRITE_PARAMETERS), "from-device", length=64)
        assert exc.value.matches(5, 0x24, 0)
        with pytest.raises(sense.ScsiError) as exc:   # not at the NWA
            d.write(100, bytes(2048))
        assert exc.value.matches(5, 0x21, 0x02)


# ---- burning each profile ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["cd-r", "cd-rw", "dvd-r", "dvd+r", "dvd+rw", "bd-r",
                                     "bd-re"])
def test_burn_image_and_verify(tmp_path, image, profile):
    disc = make_disc(tmp_path, profile)
    code, out, err = run("--device", f"sim:{disc}", "--verify", image)
    assert code == 0, err
    assert "verified" in err
    size = os.path.getsize(image)
    with open(image, "rb") as f:
        assert disc_bytes(disc, 0, size // 2048) == f.read()
    st = state(disc)
    if profile in ("dvd+rw", "bd-re"):
        assert st.recorded_end == size // 2048
    else:
        assert st.status == "complete" and st.closed_sessions == 1


def test_unformatted_bd_re_is_formatted_first(tmp_path, image):
    disc = make_disc(tmp_path, "bd-re", formatted=False)
    code, out, err = run("--device", f"sim:{disc}", "--verify", image)
    assert code == 0, err
    assert "formatting" in err and state(disc).formatted


def test_folder_is_mastered_on_the_fly_and_mounts(tmp_path, tree):
    disc = make_disc(tmp_path, "cd-r")
    code, out, err = run("--device", f"sim:{disc}", "--verify", tree)
    assert code == 0, err
    with mounted(disc, tmp_path / "mnt") as _:
        with open(tmp_path / "mnt/photos/2026/big.jpg", "rb") as f:
            with open(os.path.join(tree, "photos/2026/big.jpg"), "rb") as g:
                assert f.read() == g.read()
        assert sorted(os.listdir(tmp_path / "mnt")) == ["README.txt", "docs", "photos"]


def test_stdin_with_the_iso_size(tmp_path, image):
    disc = make_disc(tmp_path, "dvd+r")
    with open(image, "rb") as f:
        data = f.read()
    proc = run_process("--device", f"sim:{disc}", "--verify", "-", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert disc_bytes(disc, 0, len(data) // 2048) == data
    disc = make_disc(tmp_path, "dvd+r", name="second")
    proc = run_process("--device", f"sim:{disc}", "-", stdin=b"not an iso" * 1000)
    assert proc.returncode == errors.USAGE and b"--size" in proc.stderr


def test_copy_another_disc(tmp_path, image):
    src = make_disc(tmp_path, "dvd-rom", name="pressed", image=image)
    dst = make_disc(tmp_path, "bd-r")
    code, _, err = run("--device", f"sim:{dst}", "--verify", f"sim:{src}")
    assert code == 0, err
    code, _, err = run("--image-out", tmp_path / "copy.iso", f"sim:{dst}")
    assert code == 0, err
    with open(image, "rb") as f, open(tmp_path / "copy.iso", "rb") as g:
        assert f.read() == g.read()


def test_dummy_leaves_the_disc_blank(tmp_path, image):
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run("--device", f"sim:{disc}", "--dummy", image)
    assert code == 0, err
    assert "test write" in err
    st = state(disc)
    assert st.status == "blank" and not st.tracks and os.path.getsize(disc) == 0


# ---- multisession ------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["cd-r", "dvd+r", "bd-r", "dvd+rw", "bd-re", "dvd-r"])
def test_multisession_end_to_end(tmp_path, profile):
    disc = make_disc(tmp_path, profile)
    # More than 300 sectors: a CD track is padded to 300, and the reader finds
    # the next session of an image file by scanning at most 11432 sectors
    # behind the previous session's end (isofuse/reader/volume.py).
    first = make_tree(tmp_path / "one", {"keep.txt": b"keep\n", "gone.txt": b"gone\n",
                                         "dir/a.txt": b"a\n", "big.bin": bytes(700_000)})
    second = make_tree(tmp_path / "two", {"new.txt": b"new\n", "dir/b.txt": b"b\n"})
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", first)
    assert code == 0, err
    code, out, err = run("--device", f"sim:{disc}", "--msinfo")
    assert code == 0, err
    start, nxt = (int(x) for x in out.strip().split(","))
    assert start == 0 and nxt > 0
    if profile == "cd-r":
        assert nxt > state(disc).tracks[0].end + 11000    # lead-out + lead-in gap
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", "--add", second,
                       "--remove", "gone.txt")
    assert code == 0, err
    code, out, _ = run("--device", f"sim:{disc}", "--msinfo")
    start2, _ = (int(x) for x in out.strip().split(","))
    assert start2 == (0 if profile in ("dvd+rw", "bd-re") else nxt)
    with mounted(disc, tmp_path / "mnt"):
        names = sorted(os.path.relpath(os.path.join(d, f), tmp_path / "mnt")
                       for d, _, fs in os.walk(tmp_path / "mnt") for f in fs)
        assert names == ["big.bin", "dir/a.txt", "dir/b.txt", "keep.txt", "new.txt"]
        with open(tmp_path / "mnt/keep.txt", "rb") as f:
            assert f.read() == b"keep\n"


def test_closing_without_multi_refuses_the_next(tmp_path, tree, image):
    disc = make_disc(tmp_path, "dvd+r")
    assert run("--device", f"sim:{disc}", image)[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--multi", tree)
    assert code == errors.DISC_CLOSED and "closed" in err
    code, _, err = run("--device", f"sim:{disc}", "--msinfo")
    assert code == errors.DISC_CLOSED


# ---- blanking ----------------------------------------------------------------------------------
def test_blank_needs_confirmation_then_works(tmp_path, image):
    disc = make_disc(tmp_path, "cd-rw")
    assert run("--device", f"sim:{disc}", image)[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--blank", "fast")
    assert code == errors.NOT_CONFIRMED and "--yes" in err
    assert state(disc).status == "complete"
    code, _, err = run("--device", f"sim:{disc}", "--blank", "all", "--yes", "--json")
    assert code == 0, err
    assert state(disc).status == "blank"
    code, _, err = run("--device", f"sim:{disc}", "--blank", "fast", "--yes", "--verify", image)
    assert code == 0, err


def test_blank_progress_lines(tmp_path, image):
    disc = make_disc(tmp_path, "cd-rw")
    assert run("--device", f"sim:{disc}", image)[0] == 0
    code, out, err = run("--device", f"sim:{disc}", "--blank", "all", "--yes", "--json")
    events = [json.loads(line) for line in out.splitlines()]
    fractions = [e["fraction"] for e in events if e.get("what") == "blanking"]
    assert fractions and fractions[-1] == 1.0


def test_blank_refused_on_cd_r(tmp_path):
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run("--device", f"sim:{disc}", "--blank", "fast", "--yes")
    assert code == errors.CANNOT_WRITE and "cannot be blanked" in err


# ---- refusals: clear message, distinct status, nothing written ---------------------------------
def _untouched(disc):
    st = state(disc)
    return st.status == "blank" and not st.tracks and os.path.getsize(disc) == 0


def test_refusals(tmp_path, image, tree):
    big = tmp_path / "big.iso"
    with open(big, "wb") as f:
        f.truncate(400 * 2048)
    cases = [
        (dict(profile="cd-r", kind="disk"), [image], errors.NOT_MMC, "not a CD/DVD/BD drive"),
        (dict(profile="cd-r", drive_writes=False), [image], errors.CANNOT_WRITE,
         "drive cannot write"),
        (dict(profile="cd-rom"), [image], errors.CANNOT_WRITE, "cannot be written"),
        (dict(profile="cd-r", capacity=300), [big], errors.TOO_BIG, "--overburn"),
        (dict(profile="dvd+rw"), ["--dummy", image], errors.NO_DUMMY, "test-write"),
        (dict(profile="dvd+r"), ["--dummy", image], errors.NO_DUMMY, "test-write"),
        (dict(profile="bd-r"), [tmp_path / "missing.iso"], errors.SOURCE, "missing.iso"),
        (dict(profile="cd-r"), ["--msinfo"], errors.NO_SESSION, "blank"),
        (dict(profile="cd-r"), [image, tree], errors.USAGE, "mix of folders"),
    ]
    for i, (kw, args, code, words) in enumerate(cases):
        disc = make_disc(tmp_path, name=f"case{i}", **kw)
        got, out, err = run("--device", f"sim:{disc}", *args)
        assert got == code, (kw, args, err)
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, err
        assert _untouched(disc) or kw.get("profile") == "cd-rom"
    # no medium
    disc = make_disc(tmp_path, name="empty")
    st = state(disc)
    st.medium = False
    simstate.save(disc, st)
    assert run("--device", f"sim:{disc}", image)[0] == errors.NO_MEDIUM
    # no such device / no simulated disc
    assert run("--device", "/dev/nonexistent-sr9", image)[0] == errors.NO_DEVICE
    assert run("--device", f"sim:{tmp_path}/nothing", image)[0] == errors.NO_DEVICE
    assert run(image)[0] == errors.USAGE


def test_overburn_tries_and_the_drive_refuses_beyond_the_end(tmp_path):
    big = tmp_path / "big.iso"
    with open(big, "wb") as f:
        f.truncate(400 * 2048)
    disc = make_disc(tmp_path, "cd-r", capacity=320)
    code, _, err = run("--device", f"sim:{disc}", "--overburn", big)
    assert code == errors.WRITE_FAILED and "5/63/00" in err and "NOT burned" in err


def test_mounted_disc_is_refused(tmp_path, image):
    disc = make_disc(tmp_path, "dvd+rw")
    assert run("--device", f"sim:{disc}", image)[0] == 0
    with mounted(disc, tmp_path / "mnt"):
        code, _, err = run("--device", f"sim:{disc}", image)
    assert code == errors.MOUNTED and "mounted" in err


def test_help_explains():
    proc = run_process("--help")
    assert proc.returncode == 0 and b"exit status" in proc.stdout and b"sim:PATH" in proc.stdout


def test_cdrecord_spellings(tmp_path, image):
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run(f"dev=sim:{disc}", "speed=4", "-multi", image)
    assert code == 0, err
    assert state(disc).status == "appendable"


# ---- faults: reported plainly, never success ---------------------------------------------------
@pytest.mark.parametrize("fault,value,words", [
    ("underrun_at", 40, "3/0C/09"),
    ("medium_error_at", 33, "3/0C/00"),
    ("power_calibration", 1, "power calibration"),
    ("remove_at", 50, "no medium"),
])
def test_faults_fail_plainly(tmp_path, image, fault, value, words):
    disc = make_disc(tmp_path, "cd-r", faults={fault: value})
    code, out, err = run("--device", f"sim:{disc}", "--verify", "--json", image)
    assert code == errors.WRITE_FAILED, err
    assert words in err and "NOT burned" in err and "Traceback" not in err
    events = [json.loads(line) for line in out.splitlines()]
    assert not any(e.get("ok") for e in events if e["event"] == "result")
    assert any(e["event"] == "result" and e["ok"] is False for e in events)
    if fault == "remove_at":
        assert run("--device", f"sim:{disc}", image)[0] == errors.NO_MEDIUM


def test_long_write_storm_is_waited_out(tmp_path, image):
    disc = make_disc(tmp_path, "dvd+r", faults={"long_write": [3, 4]})
    code, _, err = run("--device", f"sim:{disc}", "--verify", image)
    assert code == 0, err
    with open(image, "rb") as f:
        assert disc_bytes(disc, 0, os.path.getsize(image) // 2048) == f.read()


def test_verify_catches_a_corrupted_sector(tmp_path, image):
    disc = make_disc(tmp_path, "bd-r", faults={"corrupt_at": 77})
    code, _, err = run("--device", f"sim:{disc}", "--verify", image)
    assert code == errors.VERIFY_FAILED and "sector 77" in err


def test_throttle_shows_speed_and_buffer(tmp_path):
    image = tmp_path / "six.img"
    with open(image, "wb") as f:
        f.write(os.urandom(6 << 20))
    disc = make_disc(tmp_path, "cd-r", speed_kbs=4000)
    code, out, err = run("--device", f"sim:{disc}", "--json", image)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    prog = [e for e in events if e["event"] == "progress"]
    assert prog[-1]["bytes"] == prog[-1]["total"]
    assert any(e["buffer"] for e in prog if e.get("buffer") is not None)
    # 4000 kB/s = 22.7x CD; the first 2 MB fill the drive's buffer at once.
    # Only the ceiling is held (the throttle works); a busy machine may be
    # slower than the drive, which is not this test's business.
    assert 0 < prog[-1]["speed_x"] < 60


# ---- listing, parallel -------------------------------------------------------------------------
def test_list_json(tmp_path, image):
    a = make_disc(tmp_path, "cd-rw", name="a")
    b = make_disc(tmp_path, "dvd-rom", name="b", image=image, drive_writes=False)
    run("--device", f"sim:{a}", "--multi", image)
    code, out, _ = run("--list", "--json", "--device", f"sim:{a}", "--device", f"sim:{b}")
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["profile"] == "CD-RW" and rows[0]["state"] == "appendable"
    assert rows[0]["can_write"] and rows[1]["can_write"] is False
    assert rows[1]["profile"] == "DVD-ROM" and rows[1]["state"] == "complete"


def test_parallel_burns(tmp_path, tree):
    discs = [make_disc(tmp_path, p) for p in ("cd-r", "dvd+rw", "bd-r")]
    bad = make_disc(tmp_path, "dvd+r", name="bad", faults={"medium_error_at": 5})
    args = []
    for d in discs + [bad]:
        args += ["--device", f"sim:{d}"]
    code, out, err = run(*args, "--verify", "--json", tree)
    assert code == errors.WRITE_FAILED
    results = {e["device"]: e for e in map(json.loads, out.splitlines())
               if e["event"] == "result"}
    assert all(results[f"sim:{d}"]["ok"] for d in discs)
    assert results[f"sim:{bad}"]["ok"] is False
    images = {hashlib.sha256(disc_bytes(d, 0, 300)).hexdigest() for d in discs[1:]}
    assert len(images) == 1


def test_wait_burns_once_a_disc_is_inserted(tmp_path, image):
    import sys
    import time
    disc = make_disc(tmp_path, "cd-r")
    st = state(disc)
    st.medium = False
    simstate.save(disc, st)
    burning = subprocess.Popen([sys.executable, "-m", "burner.cli", "-q", "--device",
                                f"sim:{disc}", "--wait", "--timeout", "60", str(image)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        assert burning.poll() is None            # still waiting for the disc
        subprocess.run([sys.executable, "-m", "burner.simtool", "set", str(disc),
                        "--insert"], check=True)
        _, err = burning.communicate(timeout=120)
        assert burning.returncode == 0, err.decode()
    finally:
        if burning.poll() is None:
            burning.kill()
            burning.wait()
    assert disc_bytes(disc, 16, 1)[1:6] == b"CD001"


def test_wait_for_a_disc_times_out_plainly(tmp_path, image):
    disc = make_disc(tmp_path, "cd-r")
    st = state(disc)
    st.medium = False
    simstate.save(disc, st)
    code, _, err = run("--device", f"sim:{disc}", "--wait", "--timeout", "0.3", image)
    assert code == errors.NO_MEDIUM and "no disc inserted within" in err


def test_wait_wakes_on_the_udev_change_event(tmp_path):
    """With udev, the wait sleeps in the monitor's poll and checks the drive
    again as soon as a change event arrives; no fixed sleeps."""
    from burner import discovery
    disc = make_disc(tmp_path, "cd-r")
    st = state(disc)
    st.medium = False
    simstate.save(disc, st)

    class Event:
        def __init__(self, node):
            self.device_node = node

    class FakeMonitor:
        """Polls: nothing, an event of another drive, then this drive's
        change event -- the disc goes in just before that one."""

        def __init__(self):
            self.polls = []

        def poll(self, timeout):
            self.polls.append(timeout)
            if len(self.polls) == 1:
                return None
            if len(self.polls) == 2:
                return Event("/dev/sr9")
            st = state(disc)
            st.medium = True
            simstate.save(disc, st)
            return Event(os.path.realpath(f"sim:{disc}"))

    monitor = FakeMonitor()
    sleeps = []
    assert discovery.wait_for_medium(f"sim:{disc}", timeout=60, poll=5, sleep=sleeps.append,
                                     monitor_factory=lambda: monitor)
    assert len(monitor.polls) == 3 and all(0 < t <= 5 for t in monitor.polls)
    assert sleeps == []


def test_wait_without_udev_polls_the_drive(tmp_path):
    from burner import discovery
    disc = make_disc(tmp_path, "cd-r")
    st = state(disc)
    st.medium = False
    simstate.save(disc, st)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            st.medium = True
            simstate.save(disc, st)

    assert discovery.wait_for_medium(f"sim:{disc}", timeout=60, poll=0.5, sleep=sleep,
                                     monitor_factory=lambda: None)
    assert sleeps == [0.5, 0.5]
