"""GET PERFORMANCE speeds and the DVD+R DL / DVD-R DL layer break: the MMC
bytes, the simulated drive's answers, and the burner's choices
(docs/mmc-performance.md)."""

import pytest

from burner import layers, performance, simperf, simstate
from burner.drive import Drive, Status
from burner.errors import CANNOT_WRITE, TOO_BIG, BurnError
from burner.recorder import Plan
from burner.sense import ScsiError
from burner.sim import SimTransport
from burner.simsense import field_pointer
from burner.transport import FROM_DEVICE, TO_DEVICE, RecordingTransport

DVD_PLUS_R_DL, DVD_MINUS_R_DL = 4173824, 4171712


def sim_disc(tmp_path, profile, capacity=None, name="disc.img", **kw):
    path = str(tmp_path / name)
    simstate.create(path, profile, capacity=capacity, **kw)
    return path


def open_drive(path, record=False):
    t = SimTransport(path)
    if record:
        t = RecordingTransport(t)
    return Drive(t, sleep=lambda s: None)


def status_for(path, medium=True):
    st = simstate.load(path)
    return Status(device="sim:" + path, is_mmc=True, profile=st.profile, medium=medium)


def refused(call):
    with pytest.raises(ScsiError) as info:
        call()
    s = info.value.sense
    return s.key, s.asc, s.ascq


# ---- performance.py: bytes ------------------------------------------------------------------
def test_get_performance_cdb_fields():
    cdb = performance.get_performance(performance.TYPE_WRITE_SPEED, max_descriptors=5)
    assert len(cdb) == 12 and cdb[0] == 0xAC
    assert cdb[10] == 0x03 and int.from_bytes(cdb[8:10], "big") == 5
    assert cdb[1] == 0                       # data type is ignored for type 03h
    cdb = performance.get_performance(performance.TYPE_PERFORMANCE, 1, write=True,
                                      start_lba=0x12345678)
    assert cdb[1] == 0x04 and cdb[10] == 0   # Write bit, Except 00b (nominal), type 00h
    assert cdb[2:6] == bytes.fromhex("12345678")
    assert performance.get_performance(performance.TYPE_PERFORMANCE, write=False,
                                       exceptions=performance.EXCEPT_ALL)[1] == 0x01


def _speed_reply(*descs):
    body = b"".join(descs)
    return (4 + len(body)).to_bytes(4, "big") + bytes(4) + body


def _speed_desc(flags, end, read, write):
    return bytes([flags, 0, 0, 0]) + end.to_bytes(4, "big") + read.to_bytes(4, "big") \
        + write.to_bytes(4, "big")


def test_parse_write_speeds_from_a_real_dvd_plus_r_dl_reply():
    # what an LG BD writer listed for a blank DVD+R DL (dvd+rw-mediainfo output):
    # "02/4173823 R@8.0x1385=11079KB/s W@4.0x1385=5540KB/s", then W@2.4x=3324
    reply = _speed_reply(_speed_desc(0x02, 4173823, 11079, 5540),
                         _speed_desc(0x02, 4173823, 11079, 3324))
    speeds = performance.parse_write_speeds(reply)
    assert [s.write_kbs for s in speeds] == [5540, 3324]
    first = speeds[0]
    assert first.exact and not first.rdd and not first.mrw and first.wrc == 0
    assert first.end_lba == 4173823 and first.read_kbs == 11079
    assert performance.distinct_write_x(speeds, 1385.0) == [4.0, 2.4]


def test_parse_write_speed_flag_bits():
    speeds = performance.parse_write_speeds(_speed_reply(_speed_desc(0x1D, 9, 1, 2)))
    s = speeds[0]
    assert (s.wrc, s.rdd, s.exact, s.mrw) == (3, True, False, True)


def test_parse_refuses_a_length_that_is_not_whole_descriptors():
    bad = (4 + 15).to_bytes(4, "big") + bytes(4 + 15)
    with pytest.raises(performance.PerformanceError):
        performance.parse_write_speeds(bad)
    with pytest.raises(performance.PerformanceError):
        performance.parse_write_speeds(bytes(5))


def test_parse_keeps_only_descriptors_that_arrived():
    # the header counts 3, the allocation length let 1 through
    reply = _speed_reply(*[_speed_desc(2, 1, 1, w) for w in (3, 2, 1)])[:8 + 16]
    assert performance.parse_header(reply).available == 3
    assert [s.write_kbs for s in performance.parse_write_speeds(reply)] == [3]


def test_parse_nominal_performance():
    desc = (0).to_bytes(4, "big") + (3324).to_bytes(4, "big") + (219903).to_bytes(4, "big") \
        + (5540).to_bytes(4, "big")
    reply = (4 + 16).to_bytes(4, "big") + bytes([0x02, 0, 0, 0]) + desc
    header, perf = performance.parse_performance(reply)
    assert header.write and not header.exceptions
    assert perf == [performance.Performance(0, 3324, 219903, 5540)]


@pytest.mark.parametrize("kbs,one_x,text", [(8467, 176.4, "48x"), (3324, 1385.0, "2.4x"),
                                            (53946, 4495.5, "12x"), (22160, 1385.0, "16x"),
                                            (8991, 4495.5, "2x")])
def test_speeds_as_nx_of_the_medium(kbs, one_x, text):
    assert performance.format_x(performance.x_factor(kbs, one_x)) == text


# ---- the simulated drive: GET PERFORMANCE ---------------------------------------------------
@pytest.mark.parametrize("profile,capacity,want", [
    ("cd-r", None, [48, 40, 32, 24, 16, 8, 4]),
    ("dvd+r", None, [16, 12, 8, 6, 4, 2.4]),
    ("dvd-r", None, [16, 12, 8, 6, 4, 2]),
    (0x2B, DVD_PLUS_R_DL, [8, 6, 4, 2.4]),
    (0x15, DVD_MINUS_R_DL, [8, 6, 4, 2]),
    ("bd-r", None, [12, 10, 8, 6, 4, 2]),
    ("bd-r", 24438784, [8, 6, 4, 2]),            # BD-R 50 GB (dual layer)
])
def test_sim_lists_the_write_speeds_of_the_medium(tmp_path, profile, capacity, want):
    path = sim_disc(tmp_path, profile, capacity)
    report = layers.list_speeds(open_drive(path), status_for(path))
    assert report.x == want and not report.reason
    assert report.text().split(", ")[0] == performance.format_x(want[0])
    end = simstate.load(path).capacity - 1
    assert all(s.end_lba == end and s.exact for s in report.speeds)


def test_sim_speeds_are_capped_by_the_disc_throttle(tmp_path):
    path = sim_disc(tmp_path, "dvd+r", speed_kbs=11080)          # a little over 8x
    assert layers.list_speeds(open_drive(path), status_for(path)).x == [8, 6, 4, 2.4]
    slow = sim_disc(tmp_path, "cd-r", name="slow.img", speed_kbs=500)      # below 4x: the one speed
    report = layers.list_speeds(open_drive(slow), status_for(slow))
    assert [s.write_kbs for s in report.speeds] == [500]


def test_sim_header_counts_all_descriptors_when_fewer_are_asked(tmp_path):
    path = sim_disc(tmp_path, "cd-r")
    drive = open_drive(path)
    reply = drive.cmd(performance.get_performance(max_descriptors=1), FROM_DEVICE,
                      length=performance.reply_length(1))
    assert len(reply) == 8 + 16
    assert performance.parse_header(reply).available == 7


def test_rom_drive_has_no_speed_list_and_that_is_not_an_error(tmp_path):
    path = sim_disc(tmp_path, "dvd+r", drive="rom")
    drive = open_drive(path)
    key = refused(lambda: drive.cmd(performance.get_performance(), FROM_DEVICE, length=520))
    assert key == (5, 0x24, 0x00)
    report = layers.list_speeds(drive, status_for(path))
    assert report.speeds == [] and "5/24/00" in report.reason
    assert report.text().startswith("not reported")


def test_no_disc_no_speed_list(tmp_path):
    path = sim_disc(tmp_path, "cd-r")
    assert layers.list_speeds(open_drive(path), status_for(path, medium=False)).reason \
        == "no disc"


def test_sim_nominal_write_performance_follows_the_requested_speed(tmp_path):
    path = sim_disc(tmp_path, "dvd+r")
    t = SimTransport(path)
    drive = Drive(t)
    ask = performance.get_performance(performance.TYPE_PERFORMANCE, 4, write=True)
    header, perf = performance.parse_performance(
        drive.cmd(ask, FROM_DEVICE, length=performance.reply_length(4)))
    assert header.write and perf[0].start_kbs == 22160 and perf[0].end_lba == 2295103
    drive.set_speed(False, 9000, 2295103)      # SET STREAMING 9000 kB/s: the drive picks 6x
    _, perf = performance.parse_performance(
        drive.cmd(ask, FROM_DEVICE, length=performance.reply_length(4)))
    assert perf[0].start_kbs == perf[0].end_kbs == round(6 * 1385)


def test_sim_refuses_unknown_performance_types(tmp_path):
    path = sim_disc(tmp_path, "cd-r")
    drive = open_drive(path)
    assert refused(lambda: drive.cmd(performance.get_performance(kind=0x01), FROM_DEVICE,
                                     length=520)) == (5, 0x24, 0x00)


# ---- the simulated drive: layer boundary ----------------------------------------------------
def _read_boundary(drive):
    return layers.read_boundary(drive)


def _send(drive, l0):
    data = layers.layer_boundary_parameters(l0)
    drive.cmd(layers.send_layer_boundary(len(data)), TO_DEVICE, data)


@pytest.mark.parametrize("profile,capacity", [(0x2B, DVD_PLUS_R_DL), (0x15, DVD_MINUS_R_DL)])
def test_blank_dl_disc_reports_half_its_capacity_on_layer_0(tmp_path, profile, capacity):
    path = sim_disc(tmp_path, profile, capacity)
    b = _read_boundary(open_drive(path))
    assert b == layers.LayerBoundary(capacity // 2, fixed=False)


def test_layer_boundary_is_refused_on_single_layer_media(tmp_path):
    path = sim_disc(tmp_path, "dvd+r")
    drive = open_drive(path, record=True)
    try:
        _read_boundary(drive)
    except ScsiError as exc:
        assert (exc.sense.key, exc.sense.asc) == (5, 0x24)
    else:
        pytest.fail("READ DISC STRUCTURE 20h answered on a DVD+R")
    assert refused(lambda: _send(drive, 1000000)) == (5, 0x24, 0x00)
    assert simperf.layer_break(path, simstate.load(path)) is None


def test_send_sets_the_break_it_survives_a_reopen_and_the_disc_shrinks(tmp_path):
    path = sim_disc(tmp_path, 0x2B, DVD_PLUS_R_DL)
    _send(open_drive(path), 1500001)               # rounded up to an ECC block
    again = open_drive(path)
    assert _read_boundary(again) == layers.LayerBoundary(1500016, fixed=True)
    # layer 1 ends at the radius layer 0 ends at: the disc holds twice layer 0
    assert again.track_info(1).free_blocks == 2 * 1500016
    assert refused(lambda: _send(again, 1600000)) == (5, 0x26, 0x00)


def test_send_is_refused_after_writing_began(tmp_path):
    path = sim_disc(tmp_path, 0x2B, DVD_PLUS_R_DL)
    drive = open_drive(path)
    drive.write(0, bytes(32 * 1024))
    assert _read_boundary(drive).fixed
    with pytest.raises(ScsiError) as info:
        _send(drive, 1000000)
    assert (info.value.sense.key, info.value.sense.asc) == (5, 0x26)


def test_send_refuses_a_layer_0_larger_than_the_medium_has(tmp_path):
    path = sim_disc(tmp_path, 0x15, DVD_MINUS_R_DL)
    t = SimTransport(path)
    data = layers.layer_boundary_parameters(DVD_MINUS_R_DL // 2 + 16)
    with pytest.raises(ScsiError) as info:
        t.execute(layers.send_layer_boundary(len(data)), TO_DEVICE, data)
    assert (info.value.sense.key, info.value.sense.asc) == (5, 0x26)
    zero = layers.layer_boundary_parameters(0)
    with pytest.raises(ScsiError):
        t.execute(layers.send_layer_boundary(len(zero)), TO_DEVICE, zero)
    assert not _read_boundary(Drive(t)).fixed


def test_send_rejection_points_at_the_capacity_field(tmp_path):
    path = sim_disc(tmp_path, 0x2B, DVD_PLUS_R_DL)
    state = simstate.load(path)
    with pytest.raises(Exception) as info:
        simperf.send_disc_structure(state, layers.send_layer_boundary(),
                                    layers.layer_boundary_parameters(DVD_PLUS_R_DL), path)
    assert field_pointer(info.value.sense) == (8, None, False)


# ---- layers.py: the burner's choice ---------------------------------------------------------
def test_choose_layer_break_as_growisofs():
    assert layers.choose_layer_break(2086912, 2086912) is None       # fits on layer 0
    assert layers.choose_layer_break(3000000, 2086912) == 1500000
    # 3,000,001 sectors = 187,501 ECC blocks; half rounded up = 93,751 blocks
    assert layers.choose_layer_break(3000001, 2086912) == 93751 * 16
    with pytest.raises(BurnError) as info:
        layers.choose_layer_break(2 * 2086912 + 1, 2086912)
    assert info.value.code == TOO_BIG


def test_break_in_plan():
    assert layers.break_in_plan(0, 3000000, 1500000) == 1500000
    assert layers.break_in_plan(0, 1500000, 1500000) is None          # ends right at it
    assert layers.break_in_plan(1500000, 10, 1500000) is None         # all on layer 1
    assert layers.break_in_plan(0, 10, None) is None


def _sent_opcodes(drive):
    return [cdb[0] for cdb, _, _ in drive.t.log]


def test_prepare_sends_the_break_for_a_large_single_session_image(tmp_path):
    path = sim_disc(tmp_path, 0x2B, DVD_PLUS_R_DL)
    drive = open_drive(path, record=True)
    decision = layers.prepare_layer_break(drive, status_for(path), Plan(0, 3000001))
    assert decision.sent and decision.l0_capacity == 1500016 == decision.break_lba
    assert _sent_opcodes(drive) == [0xAD, 0xBF]
    assert drive.t.log[1][1] == layers.layer_boundary_parameters(1500016)
    assert simperf.layer_break(path, simstate.load(path)) == 1500016


@pytest.mark.parametrize("plan,multi", [(Plan(0, 1000000), False), (Plan(0, 3000000), True)])
def test_prepare_keeps_the_default_when_it_fits_or_for_multisession(tmp_path, plan, multi):
    path = sim_disc(tmp_path, 0x2B, DVD_PLUS_R_DL)
    drive = open_drive(path, record=True)
    decision = layers.prepare_layer_break(drive, status_for(path), plan, multi=multi)
    assert not decision.sent and decision.l0_capacity == DVD_PLUS_R_DL // 2
    assert _sent_opcodes(drive) == [0xAD]
    assert decision.break_lba == (DVD_PLUS_R_DL // 2 if plan.blocks > DVD_PLUS_R_DL // 2
                                  else None)
    assert simstate.load(path).capacity == DVD_PLUS_R_DL


def test_prepare_sends_nothing_on_single_layer_media(tmp_path):
    path = sim_disc(tmp_path, "dvd+r")
    drive = open_drive(path, record=True)
    assert layers.prepare_layer_break(drive, status_for(path), Plan(0, 2000000)).l0_capacity \
        is None
    assert drive.t.log == []


class _Refusing:
    """A drive that reports a boundary but refuses SEND DISC STRUCTURE."""
    name = "refusing"

    def __init__(self, inner):
        self.inner = inner

    def cmd(self, cdb, *args, **kw):
        if cdb[0] == layers.SEND_DISC_STRUCTURE:
            return self.inner.cmd(bytes([0xBF, 0x0F]) + cdb[2:], *args, **kw)  # bad media type
        return self.inner.cmd(cdb, *args, **kw)


def test_prepare_stops_before_writing_when_the_drive_refuses_the_break(tmp_path):
    path = sim_disc(tmp_path, 0x2B, DVD_PLUS_R_DL)
    with pytest.raises(BurnError) as info:
        layers.prepare_layer_break(_Refusing(open_drive(path)), status_for(path),
                                   Plan(0, 3000000))
    assert info.value.code == CANNOT_WRITE and "nothing was written" in str(info.value)
    assert simstate.load(path).recorded_end == 0
