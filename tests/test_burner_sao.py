"""CD session-at-once (cdrecord -sao/-dao) and CD-ROM XA mode 2 form 1 tracks
(-xa/-xa1): the simulated drive at the CDB level, the burner's command
sequence written by hand from MMC-6 and what libburn/cdrecord send, and the
real command lines through the cdrecord dialect, the disc read back with
xorriso afterwards.

Sources for the expected bytes: MMC-6 §6.33 SEND CUE SHEET and §7.5.4 page
05h; libburn's burn_create_toc_entries (lead-in entry TNO 0 index 0 data
form 01h at MSF 00:00:00, track 1 index 0 at 00:00:00 -- LBA -150 --,
index 1 at 00:02:00, lead-out AAh at the end of the track, CTL/ADR 41h for
a data track, data form 10h for mode 1); cdrecord's drv_mmc (page 05h write
type 2, data block type 10 and session format 20h for -xa, sub-header
submode 08h: data, form 1).
"""

import os
import subprocess

import pytest

from burner import errors, mmc, recorder
from burner.drive import Drive
from burner.progress import Progress
from burner.sim import SimTransport
from burner.sources import FileSource
from burner.transport import RecordingTransport
from burner_support import make_disc, state
from test_burn_dialect_cdrecord import disc_files, image_on, run_as, untouched
from test_burner_golden import (ALLOW, MODE_SELECT_05, PREVENT, SET_CD_SPEED_MAX, SYNC, TUR,
                                _compare, h, page05)
from test_sim_drive import disc, disc_info, page05 as sim_page05, refused, select, send, \
    sense_of, track, write

SECTOR = 2048
BLOCKS = 320

# page 05h for SAO: BUFE | write type 2; multisession 00b | track mode 4;
# data block type 8 (mode 1), session format 00h.  -xa: block type 10,
# session format 20h, sub-header 00 00 08 00 (bytes 48-51).
CD_SAO = page05(0x42, 0x04)
CD_SAO_MULTI = page05(0x42, 0xC4, b8=0x20)
CD_XA_TAO = bytearray(page05(0x41, 0x04, b8=0x20))
CD_XA_TAO[8 + 4] = 0x0A
CD_XA_TAO[8 + 50] = 0x08
CD_XA_TAO = bytes(CD_XA_TAO)
# the cue sheet of a 320-sector data track, byte by byte
CUE_320 = h("41 00 00 01 00 00 00 00"      # lead-in: TNO 0, index 0, form 01h, 00:00:00
            "41 01 00 10 00 00 00 00"      # track 1 index 0 (pre-gap): LBA -150 = 00:00:00
            "41 01 01 10 00 00 02 00"      # track 1 index 1: LBA 0 = 00:02:00
            "41 AA 01 01 00 00 06 14")     # lead-out at LBA 320 = 470 frames = 00:06:20
SEND_CUE_320 = h("5D 00 00 00 00 00 00 00 20 00")   # 32 bytes of cue sheet


def pregap_writes():
    """-150 .. -1 in 16-sector WRITEs (the last one 6 sectors); LBAs in two's
    complement."""
    out, lba = [], -150
    while lba < 0:
        n = min(16, -lba)
        out.append(h("2A 00") + (lba & 0xFFFFFFFF).to_bytes(4, "big") + h("00")
                   + n.to_bytes(2, "big") + h("00"))
        lba += n
    return out


def data_writes():
    return [h("2A 00") + (16 * i).to_bytes(4, "big") + h("00 00 10 00")
            for i in range(BLOCKS // 16)]


@pytest.fixture
def image(tmp_path):
    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "readme.txt").write_bytes(b"session at once\n" * 500)
    (src / "data.bin").write_bytes(os.urandom(300_000))
    out = tmp_path / "image.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "SAO", "-o", str(out),
                    str(src)], check=True, stderr=subprocess.DEVNULL)
    return str(out)


# ---- the simulated drive at the CDB level ----------------------------------------------------
def sao_disc(t, multi=0):
    select(t, sim_page05(2, track_mode=4, multi=multi))


def write_pregap(t):
    for lba in range(-150, 0, 15):
        write(t, lba, 15, b"\0")                        # the pre-gap: not user data


def test_sim_cd_sao_cue_sheet_pregap_and_no_close(tmp_path):
    path = disc(tmp_path, "cd-r")
    with SimTransport(path) as t:
        sao_disc(t)
        send(t, mmc.send_cue_sheet(len(CUE_320)), CUE_320)
        assert sense_of(refused(t, mmc.write10(0, 16), bytes(16 * SECTOR))) == (5, 0x21, 2)
        write_pregap(t)
        for lba in range(0, BLOCKS, 32):
            write(t, lba, 32, bytes([lba // 32 + 1]))
        assert sense_of(refused(t, mmc.write10(BLOCKS, 1), bytes(SECTOR))) == (5, 0x21, 2)
        send(t, mmc.synchronize_cache())
        info = disc_info(t)
        assert info.status == mmc.DISC_COMPLETE and info.sessions == 1
        t1 = track(t, 1)
        assert (t1.start, t1.size) == (0, BLOCKS)      # no TAO run-out in SAO
        assert send(t, mmc.read10(BLOCKS - 1, 1), length=SECTOR) == bytes([10]) * SECTOR
        assert sense_of(refused(t, mmc.close_track_session(mmc.CLOSE_SESSION))) == (5, 0x2C, 0)
    assert os.path.getsize(path) == BLOCKS * SECTOR     # the pre-gap is not in the image
    assert state(path).tracks[0].runout == 0


def test_sim_cd_sao_multisession_leaves_room_for_the_next(tmp_path):
    with SimTransport(disc(tmp_path, "cd-rw")) as t:
        sao_disc(t, multi=3)
        sheet = mmc.data_track_cue_sheet(BLOCKS)
        assert sheet == CUE_320
        send(t, mmc.send_cue_sheet(len(sheet)), sheet)
        write_pregap(t)
        for lba in range(0, BLOCKS, 16):
            write(t, lba, 16)
        send(t, mmc.synchronize_cache())
        assert disc_info(t).status == mmc.DISC_APPENDABLE
        assert track(t, 2).next_writable == BLOCKS + 11400   # lead-out+lead-in+pre-gap


@pytest.mark.parametrize("entry,byte,value", [
    (0, 1, 0x01),        # lead-in TNO not 0
    (1, 2, 0x01),        # track 1 must start with index 0 (the pre-gap)
    (1, 3, 0x20),        # data form 20h (XA) but page 05h says mode 1
    (2, 6, 0x03),        # index 1 not at 00:02:00 (LBA 0)
    (3, 1, 0x02),        # a second track instead of the lead-out
    (0, 0, 0x01),        # CTL 0: an audio lead-in before a data track
    (2, 4, 0x80),        # SCMS on a data track
])
def test_sim_cue_sheet_fields_are_checked(tmp_path, entry, byte, value):
    sheet = bytearray(CUE_320)
    sheet[entry * 8 + byte] = value
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        sao_disc(t)
        err = refused(t, mmc.send_cue_sheet(len(sheet)), bytes(sheet))
        assert sense_of(err) == (5, 0x26, 0)
        pointed = err.sense.field[1]
        assert entry * 8 <= pointed < entry * 8 + 8 or (entry, byte) == (3, 1)


def test_sim_cue_sheet_needs_sao_a_blank_disc_and_whole_descriptors(tmp_path):
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        select(t, sim_page05(1, track_mode=4))              # TAO: no cue sheet
        assert sense_of(refused(t, mmc.send_cue_sheet(32), CUE_320)) == (5, 0x2C, 0)
        sao_disc(t)
        assert sense_of(refused(t, mmc.send_cue_sheet(28), CUE_320[:28])) == (5, 0x1A, 0)
        assert sense_of(refused(t, mmc.send_cue_sheet(40), CUE_320 + CUE_320[:8])) \
            == (5, 0x26, 0)
        assert sense_of(refused(t, mmc.write10(-150, 1), bytes(SECTOR))) == (5, 0x2C, 0)
    written = disc(tmp_path, "cd-rw", name="written.disc")
    with SimTransport(written) as t:
        select(t, sim_page05(1, track_mode=4, multi=3))
        for lba in range(0, 320, 32):
            write(t, lba, 32)
        send(t, mmc.synchronize_cache())
        send(t, mmc.close_track_session(mmc.CLOSE_SESSION))
        sao_disc(t)
        assert sense_of(refused(t, mmc.send_cue_sheet(32), CUE_320)) == (5, 0x2C, 0)


def test_sim_sao_cut_short_leaves_the_track_damaged(tmp_path):
    with SimTransport(disc(tmp_path, "cd-rw")) as t:
        sao_disc(t)
        send(t, mmc.send_cue_sheet(32), CUE_320)
        write_pregap(t)
        write(t, 0, 30)
        send(t, mmc.synchronize_cache())
        assert track(t, 1).damaged and disc_info(t).status == mmc.DISC_BLANK


def test_sim_xa_page_and_form(tmp_path):
    """Mode 2 form 1: data block type 10 in an XA session (20h), sub-header
    submode without the form 2 bit; the cue sheet's form must be 20h."""
    with SimTransport(disc(tmp_path, "cd-r")) as t:
        bad = bytearray(CD_XA_TAO)
        bad[8 + 50] = 0x28                                  # submode: form 2
        assert refused(t, mmc.mode_select(len(bad)), bytes(bad)).sense.field == \
            (False, 8 + 50, 5)
        select(t, CD_XA_TAO)
        xa_sao = bytearray(CD_XA_TAO)
        xa_sao[8 + 2] = 0x42
        select(t, bytes(xa_sao))
        assert sense_of(refused(t, mmc.send_cue_sheet(32), CUE_320)) == (5, 0x26, 0)
        sheet = mmc.data_track_cue_sheet(BLOCKS, mmc.CUE_FORM_MODE2_FORM1)
        send(t, mmc.send_cue_sheet(32), sheet)


# ---- the burner's sequence, by hand ----------------------------------------------------------
def record(tmp_path, profile="cd-r", **options):
    image = tmp_path / "img"
    image.write_bytes(os.urandom(BLOCKS * SECTOR))
    rec = RecordingTransport(SimTransport(make_disc(tmp_path, profile)))
    drive = Drive(rec, sleep=lambda s: None)
    status = drive.probe()
    opts = recorder.Options(**options)
    source = FileSource(str(image))
    plan = recorder.plan_burn(drive, status, source.size, opts)
    recorder.write_plan(drive, status, source, plan, opts, Progress("t", "quiet"))
    rec.close()
    first = next(i for i, (cdb, _, _) in enumerate(rec.log) if cdb == PREVENT)
    return rec.log[first:]


def _with_cue(log):
    """The cue sheet is data-out too: compare it with its CDB."""
    return [(cdb, data if cdb[0] in (0x55, 0x5D) else None, ok) for cdb, data, ok in log]


def _compare_cue(log, expected):
    got = [(cdb, data) if data is not None else cdb for cdb, data, ok in _with_cue(log)]
    assert all(ok for _, _, ok in log)
    assert got == expected, [g.hex() if isinstance(g, bytes) else g[0].hex() for g in got]


def test_golden_cd_sao(tmp_path):
    """MODE SELECT (write type 2), SEND CUE SHEET, the pre-gap from -150, the
    data from 0, SYNCHRONIZE CACHE -- and no CLOSE: the drive writes lead-in
    and lead-out."""
    expected = [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_SAO), (SEND_CUE_320, CUE_320),
                *pregap_writes(), *data_writes(), SYNC, TUR, ALLOW]
    _compare_cue(record(tmp_path, write_type="sao"), expected)


def test_golden_cd_sao_multi(tmp_path):
    expected = [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_SAO_MULTI),
                (SEND_CUE_320, CUE_320), *pregap_writes(), *data_writes(), SYNC, TUR, ALLOW]
    _compare_cue(record(tmp_path, write_type="sao", multi=True), expected)


def test_golden_cd_xa_tao(tmp_path):
    """-xa: the TAO sequence with a mode 2 form 1 page; 2048 bytes a sector."""
    expected = [PREVENT, SET_CD_SPEED_MAX, (MODE_SELECT_05, CD_XA_TAO), *data_writes(),
                SYNC, TUR, h("5B 01 02 00 00 00 00 00 00 00"), TUR, ALLOW]
    _compare(record(tmp_path, xa=True), expected)


def test_sao_refused_on_a_disc_with_a_session(tmp_path, image):
    disc_path = make_disc(tmp_path, "cd-rw")
    assert run_as("cdrecord", f"dev=sim:{disc_path}", "-multi", image)[0] == 0
    before = state(disc_path)
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-sao", "-multi", image)
    assert code == errors.CANNOT_WRITE and "session-at-once needs a blank CD" in err
    assert "blank=fast" in err and state(disc_path) == before


# ---- real command lines through the cdrecord dialect -----------------------------------------
def test_cdrecord_dao_image(tmp_path, image):
    """The HOWTO line 'cdrecord -v -dao dev=/dev/sr0 image.iso': a CD-R
    written session-at-once reads back like the TAO one."""
    sao = make_disc(tmp_path, "cd-r", name="sao.disc")
    tao = make_disc(tmp_path, "cd-r", name="tao.disc")
    code, out, err = run_as("cdrecord", "-v", "-dao", f"dev=sim:{sao}", image)
    assert code == 0, err
    assert run_as("cdrecord", "-v", "-tao", f"dev=sim:{tao}", image)[0] == 0
    assert image_on(sao, image) and state(sao).status == "complete"
    assert disc_files(sao) == disc_files(tao) == ["/data.bin", "/docs/readme.txt"]
    assert state(sao).tracks[0].runout == 0 and state(tao).tracks[0].runout == 2


def test_cdrecord_sao_blank_fast_cd_rw(tmp_path, image):
    """'wodim -v dev=/dev/sr0 blank=fast -sao image.iso' on a written CD-RW:
    blanked, then one session-at-once."""
    disc_path = make_disc(tmp_path, "cd-rw")
    assert run_as("wodim", f"dev=sim:{disc_path}", "-multi", image)[0] == 0
    code, _, err = run_as("wodim", "-v", f"dev=sim:{disc_path}", "blank=fast", "-sao", image)
    assert code == 0, err
    st = state(disc_path)
    assert st.status == "complete" and len(st.tracks) == 1 and st.tracks[0].runout == 0
    assert image_on(disc_path, image)


def test_cdrecord_sao_multi_then_tao_session(tmp_path, tree_and_next):
    """'cdrecord -sao -multi' then -msinfo, then a next session mastered for
    it (mkisofs -C) burned TAO: both sessions read."""
    first, second_tree = tree_and_next
    disc_path = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-sao", "-multi", first)
    assert code == 0, err
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc_path}", "-msinfo")
    blocks = state(disc_path).tracks[0].size
    assert code == 0 and out.strip() == f"0,{blocks + 11400}"
    nxt = tmp_path / "next.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-C", out.strip(), "-M",
                    first, "-o", str(nxt), second_tree], check=True,
                   stderr=subprocess.DEVNULL)
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-multi", "-data", str(nxt))
    assert code == 0, err
    assert "/next.txt" in disc_files(disc_path, blocks + 11400)


@pytest.fixture
def tree_and_next(tmp_path, image):
    more = tmp_path / "more"
    more.mkdir()
    (more / "next.txt").write_bytes(b"the second session\n")
    return image, str(more)


def test_k3b_multisession_xa(tmp_path, image):
    """K3b's CD line for a multisession data CD: 'cdrecord -v gracetime=2
    dev=DEV speed=24 -tao driveropts=burnfree -multi -xa -tsize=Ns -' (here
    the image as a file): mode 2 form 1 in an XA session; the sim file is
    mountable (xorriso reads it)."""
    disc_path = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", "-v", "gracetime=2", f"dev=sim:{disc_path}", "speed=24",
                          "-tao", "driveropts=burnfree", "-multi", "-xa", image)
    assert code == 0, err
    assert state(disc_path).status == "appendable" and image_on(disc_path, image)
    assert disc_files(disc_path) == ["/data.bin", "/docs/readme.txt"]


def test_xa1_sao(tmp_path, image):
    """'cdrecord -dao -xa1 image' (older K3b): SAO with cue sheet form 20h."""
    disc_path = make_disc(tmp_path, "cd-rw")
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-dao", "-xa1", image)
    assert code == 0, err
    assert state(disc_path).status == "complete" and image_on(disc_path, image)


def test_xa_on_dvd_is_refused(tmp_path, image):
    disc_path = make_disc(tmp_path, "dvd-r")
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-xa", image)
    assert code == errors.CANNOT_WRITE and "CD only" in err and untouched(disc_path)


def test_dao_on_dvd_r_is_still_disc_at_once(tmp_path, image):
    disc_path = make_disc(tmp_path, "dvd-r")
    code, _, err = run_as("cdrecord", f"dev=sim:{disc_path}", "-dao", image)
    assert code == 0, err
    assert state(disc_path).status == "complete" and state(disc_path).reserved is None


def test_cdrecord_dummy_dao_writes_nothing(tmp_path, image):
    """'cdrecord -dummy -dao dev=DEV image.iso': the whole SAO sequence in
    test-write mode; the disc stays blank, its state without a cue sheet."""
    disc_path = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", "-dummy", "-dao", f"dev=sim:{disc_path}", image)
    assert code == 0, err
    assert untouched(disc_path) and state(disc_path).sao is None


def test_isofuse_burn_sao_with_verify(tmp_path, image):
    """A mixed line 'isofuse-burn -d DEV --verify -sao image': read back and
    compared; the TOC's session starts at 0 as written."""
    disc_path = make_disc(tmp_path, "cd-rw")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{disc_path}", "--verify", "-sao", image)
    assert code == 0, err
    assert "verified" in err and image_on(disc_path, image)


def test_k3b_image_writer_multi_dao_xa1(tmp_path, image):
    """K3b 0.12's image writer job, image not to be fixed: 'cdrecord ...
    -multi -dao -xa1 IMAGE' (noFix adds -multi, the DAO write mode -dao, the
    automatic data mode with noFix -xa1): SAO, mode 2 form 1, appendable."""
    disc_path = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", "-v", f"dev=sim:{disc_path}", "speed=16", "-multi",
                          "-dao", "-xa1", image)
    assert code == 0, err
    st = state(disc_path)
    assert st.status == "appendable" and st.tracks[0].runout == 0
    assert st.nwa == st.tracks[0].end + 11400 and image_on(disc_path, image)


def test_k3b_data_job_on_the_fly_xa(tmp_path, image):
    """K3b's data job (libk3b/jobs/k3bdatajob.cpp setupCdrecordJob) for a
    mode 2 CD with a cdrecord that has xamix: '... -multi -xa -tsize=Ns -',
    the image piped from its mkisofs."""
    disc_path = make_disc(tmp_path, "cd-rw")
    with open(image, "rb") as f:
        data = f.read()
    code, _, err = run_as("cdrecord", "-v", "gracetime=2", f"dev=sim:{disc_path}", "speed=24",
                          "-tao", "driveropts=burnfree", "-multi", "-xa",
                          f"-tsize={len(data) // SECTOR}s", "-", stdin=data)
    assert code == 0, err
    assert state(disc_path).status == "appendable" and image_on(disc_path, image)
    assert disc_files(disc_path) == ["/data.bin", "/docs/readme.txt"]


def test_script_xa1_data_iso(tmp_path, image):
    """A Dreamcast self-boot burning script: '[cdrecord, f"-dev={scsi_id}",
    "-xa1", f"speed={speed}", data_iso]'."""
    disc_path = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", f"-dev=sim:{disc_path}", "-xa1", "speed=8", image)
    assert code == 0, err
    assert state(disc_path).status == "complete" and image_on(disc_path, image)
