"""1:1 copies of a disc (the HOWTO's 4.7): each session where it was, the
gaps never read, retries, every unreadable sector named, and no target disc
wasted on a source that does not read."""

import os
from types import SimpleNamespace

import pytest

from burner import copying, errors, mmc, sources
from burner.errors import BurnError
from burner.sense import ScsiError, Sense

from burner_support import make_disc, run, state

SECTOR = 2048
GAP, RUNOUT = 11400, 2


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch):
    """The pauses between read tries grow from FIRST_PAUSE; tests need not wait."""
    monkeypatch.setattr(copying, "FIRST_PAUSE", 0.001)


class FakeDrive:
    """A CD-R with sessions, answering the Drive methods the copy uses as a
    strict drive does: READ(10) of a gap or of a TAO run-out block fails;
    ``bad`` = {lba: failures before it reads (None: never)}."""

    def __init__(self, sessions, profile=0x09, bad=None, runout=RUNOUT):
        self.tracks, self.data, lba = [], {}, 0
        for number, blocks in enumerate(sessions, 1):
            self.tracks.append((number, lba, blocks + runout))
            for i in range(blocks):
                self.data[lba + i] = (b"%d:%d " % (number, lba + i)).ljust(SECTOR, b".")
            lba += blocks + runout + GAP
        self.profile = profile
        self.bad = dict(bad or {})
        self.reads = []
        self.t = SimpleNamespace(close=lambda: None)

    def configuration(self):
        return mmc.Configuration(self.profile, [self.profile])

    def disc_info(self):
        n = len(self.tracks)
        return mmc.DiscInfo(False, 3, mmc.DISC_COMPLETE, 1, n, n, n)

    def track_info(self, number):
        session, start, size = self.tracks[number - 1]
        return mmc.TrackInfo(number, session, start, None, 0, size, False, None)

    def read(self, lba, blocks):
        self.reads.append((lba, blocks))
        out = b""
        for sector in range(lba, lba + blocks):
            if sector in self.bad:
                left = self.bad[sector]
                if left is None or left > 0:
                    if left:
                        self.bad[sector] = left - 1
                    raise ScsiError(Sense(3, 0x11, 0x00), "READ(10)")
            if sector not in self.data:
                raise ScsiError(Sense(3, 0x11, 0x00) if self._runout(sector)
                                else Sense(5, 0x21, 0x00), "READ(10)")
            out += self.data[sector]
        return out

    def _runout(self, sector):
        return any(start + size - RUNOUT <= sector < start + size
                   for _, start, size in self.tracks)

    def gap_reads(self):
        """Reads that touched a sector outside every track's data, beyond the
        one probe per run-out block."""
        touched = [s for lba, n in self.reads for s in range(lba, lba + n)
                   if s not in self.data]
        probes = [s for _, start, size in self.tracks for s in range(start + size - RUNOUT,
                                                                     start + size)]
        return [s for s in touched if s not in probes or touched.count(s) > 1]


def sim_source(drive):
    return sources.SimDiscSource("sim:fake", drive=drive, sleep=lambda s: None)


def test_map_has_each_session_where_it_was_without_the_runout():
    drive = FakeDrive([30, 20, 10])
    source = sim_source(drive)
    assert [(e.session, e.start, e.blocks) for e in source.disc_map.extents] == [
        (1, 0, 30), (2, 30 + RUNOUT + GAP, 20), (3, 2 * (RUNOUT + GAP) + 50, 10)]
    assert source.size == (2 * (RUNOUT + GAP) + 60) * SECTOR


def test_image_copy_puts_every_session_at_its_offset_and_reads_no_gap(tmp_path):
    drive = FakeDrive([30, 20])
    source = sim_source(drive)
    out = tmp_path / "copy.iso"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT)
    try:
        copying.copy_extents(source, fd)
    finally:
        os.close(fd)
    data = out.read_bytes()
    assert len(data) == (30 + RUNOUT + GAP + 20) * SECTOR
    for lba, sector in drive.data.items():
        assert data[lba * SECTOR:(lba + 1) * SECTOR] == sector
    assert data[30 * SECTOR:(30 + RUNOUT + GAP) * SECTOR] == bytes((RUNOUT + GAP) * SECTOR)
    assert drive.gap_reads() == []
    assert os.stat(out).st_blocks * 512 < len(data) // 4     # the gap is a hole


def test_a_sector_that_reads_on_a_later_try_is_copied(tmp_path):
    drive = FakeDrive([40], bad={7: 3})
    source = sim_source(drive)
    assert source.read(0, 16 * SECTOR) == b"".join(drive.data[i] for i in range(16))


def test_every_unreadable_sector_is_named_not_only_the_first(tmp_path):
    drive = FakeDrive([40, 20], bad={5: None, 6: None, 41 + RUNOUT + GAP: None})
    source = sim_source(drive)
    fd = os.open(tmp_path / "copy.iso", os.O_WRONLY | os.O_CREAT)
    with pytest.raises(BurnError) as info:
        copying.copy_extents(source, fd)
    os.close(fd)
    assert info.value.code == errors.SOURCE
    assert f"3 sectors unreadable after 5 tries each: 5-6, {41 + RUNOUT + GAP}" in str(info.value)


def test_retries_pause_longer_each_time():
    waits = []
    drive = FakeDrive([20], bad={3: None})
    source = sources.SimDiscSource("sim:fake", drive=drive, sleep=waits.append)
    with pytest.raises(BurnError):
        source.read(0, 8 * SECTOR)
    assert len(waits) == copying.RETRIES - 1
    assert waits == sorted(waits) and waits[-1] > waits[0]


def test_multisession_disc_onto_another_disc_is_refused_saying_what_to_do(tmp_path):
    source = sim_source(FakeDrive([30, 20]))
    with pytest.raises(BurnError) as info:
        copying.refuse_unless_copyable(source)
    assert info.value.code == errors.CANNOT_COPY
    assert "2 session(s)" in str(info.value) and "--image-out" in str(info.value)
    copying.refuse_unless_copyable(sim_source(FakeDrive([30])))     # one session: fine


def test_runout_probe_keeps_a_track_whose_last_blocks_read():
    drive = FakeDrive([30], runout=0)          # a pressed/SAO disc: no run-out
    assert sim_source(drive).disc_map.extents[0].blocks == 30


# ---- on the simulated drive ---------------------------------------------------------------------
def image_of(tmp_path, files, name="image.iso"):
    from burner_support import make_tree
    tree = make_tree(tmp_path / (name + ".tree"), files)
    src = sources.MasteredSource([tree])
    try:
        data = src.read(0, src.size)
    finally:
        src.close()
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def two_sessions(tmp_path):
    """A CD-R with two sessions (the second keeps the first's files)."""
    from burner_support import make_tree
    disc = make_disc(tmp_path, "cd-r", name="multi")
    one = make_tree(tmp_path / "one", {"one.txt": b"one\n", "big.bin": os.urandom(700_000)})
    two = make_tree(tmp_path / "two", {"two.txt": b"two\n"})
    for folder in (one, two):
        code, _, err = run("--device", f"sim:{disc}", "--multi", folder)
        assert code == 0, err
    assert len({t.session for t in state(disc).tracks}) == 2
    return disc


def test_image_copy_of_a_multisession_disc_shows_every_session(tmp_path, two_sessions):
    from isofuse.master.previous import import_previous
    copy = tmp_path / "copy.iso"
    code, _, err = run("--image-out", copy, f"sim:{two_sessions}")
    assert code == 0, err
    assert "2 session(s)" in err
    root, info = import_previous(str(copy))
    assert sorted(root.children) == [b"big.bin", b"one.txt", b"two.txt"]
    assert info["start"] == state(two_sessions).tracks[1].start
    with open(two_sessions, "rb") as f:
        disc = f.read()
    data = copy.read_bytes()
    for track in state(two_sessions).tracks:          # each track where it was
        lo, hi = track.start * SECTOR, (track.end - track.runout) * SECTOR
        assert data[lo:hi] == disc[lo:hi]


def test_multisession_disc_onto_another_disc_is_refused(tmp_path, two_sessions):
    target = make_disc(tmp_path, "cd-r", name="target")
    code, _, err = run("--device", f"sim:{target}", f"sim:{two_sessions}")
    assert code == errors.CANNOT_COPY
    assert "--image-out" in err and "Traceback" not in err
    assert state(target).status == "blank" and not state(target).tracks


def test_unreadable_source_costs_no_write_once_disc(tmp_path):
    image = image_of(tmp_path, {"a.bin": os.urandom(300_000)})
    src = make_disc(tmp_path, "dvd-rom", name="scratched", image=image,
                    faults={"read_error_at": [[20, -1], [21, -1], [90, -1]]})
    target = make_disc(tmp_path, "cd-r", name="target")
    code, _, err = run("-q", "--device", f"sim:{target}", f"sim:{src}")
    assert code == errors.SOURCE
    assert "3 sectors unreadable" in err and "20-21, 90" in err
    assert state(target).status == "blank" and state(target).nwa == 0   # never written


def test_on_the_fly_writes_while_reading(tmp_path):
    image = image_of(tmp_path, {"a.bin": os.urandom(300_000)})
    src = make_disc(tmp_path, "dvd-rom", name="scratched", image=image,
                    faults={"read_error_at": [[90, -1]]})
    target = make_disc(tmp_path, "cd-r", name="target")
    code, _, err = run("-q", "--on-the-fly", "--device", f"sim:{target}", f"sim:{src}")
    assert code == errors.SOURCE and "sector 90 unreadable" in err
    assert state(target).nwa > 0                      # the disc was being written


def test_a_readable_disc_is_read_first_then_burned(tmp_path):
    image = image_of(tmp_path, {"a.bin": os.urandom(300_000)})
    src = make_disc(tmp_path, "dvd-rom", name="pressed", image=image,
                    faults={"read_error_at": [[30, 2]]})        # reads on the third try
    target = make_disc(tmp_path, "cd-r", name="target")
    code, _, err = run("--device", f"sim:{target}", "--verify", f"sim:{src}")
    assert code == 0, err
    assert "before writing" in err
    with open(image, "rb") as f, open(target, "rb") as g:
        want = f.read()
        assert g.read(len(want)) == want


def test_image_copy_with_an_unreadable_sector_ends_in_one_line(tmp_path):
    image = image_of(tmp_path, {"a.bin": os.urandom(100_000)})
    src = make_disc(tmp_path, "dvd-rom", name="scratched", image=image,
                    faults={"read_error_at": [[17, -1]]})
    copy = tmp_path / "copy.iso"
    code, _, err = run("-q", "--image-out", copy, f"sim:{src}")
    assert code == errors.SOURCE
    assert "sector 17 unreadable after 5 tries" in err and "removed" in err
    assert err.count("\n") == 1 and not copy.exists()
