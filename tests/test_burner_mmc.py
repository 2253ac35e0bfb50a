"""The burner's drive logic against MMC (issue #11): burns that would not
read back as asked are refused or fail, never reported as success, and the
commands follow what real drives accept (libburn's and cdrecord's choices).

Faults a drive shows that the simulator does not model on its own are
injected by ``Injecting``, a transport between the drive logic and the
simulated drive that changes chosen answers at the CDB level.
"""

import os
import subprocess

import pytest

from burner import errors, features, formatting, mmc, pages, recorder, sense, simstate
from burner.drive import Drive
from burner.progress import Progress
from burner.sim import SimTransport
from burner.sources import FileSource
from burner.transport import RecordingTransport, Transport
from burner_support import make_disc, make_tree, run
from reader_support import paths


class Injecting(Transport):
    """Forwards to the simulated drive; ``rules`` is a list of functions
    (cdb, data) -> None (forward), bytes (the answer) or a Sense to raise."""

    def __init__(self, inner, *rules):
        self.inner, self.name, self.rules = inner, inner.name, list(rules)

    def _execute(self, cdb, direction, data, length, timeout, name):
        for rule in self.rules:
            out = rule(cdb, data)
            if isinstance(out, sense.Sense):
                raise sense.ScsiError(out, name)
            if isinstance(out, Exception):
                raise out
            if out is not None:
                return out[:length]
        return self.inner._execute(cdb, direction, data, length, timeout, name)

    def close(self):
        self.inner.close()


def on_write_number(n, answer):
    """Answer the n-th WRITE(10) (1-based) with ``answer`` instead."""
    seen = {"writes": 0}

    def rule(cdb, data):
        if cdb[0] == mmc.WRITE_10:
            seen["writes"] += 1
            if seen["writes"] == n:
                return answer
        return None
    return rule


def files_seen(disc):
    """Paths a reader of the newest session sees (isofuse's own reader, as
    `isofuse mount` shows them)."""
    return [path.lstrip("/") for path in paths(disc, files_only=True)]


def burn(drive, source_path, opts):
    status = drive.probe()
    source = FileSource(str(source_path))
    plan = recorder.plan_burn(drive, status, source.size, opts)
    recorder.write_plan(drive, status, source, plan, opts, Progress("t", "quiet"))
    return status, plan, source


def burn_failure(tmp_path, profile, *rules):
    """Burn 320 random sectors through ``rules``; the BurnError it ends in."""
    image = tmp_path / "data.img"
    image.write_bytes(os.urandom(320 * 2048))
    disc = make_disc(tmp_path, profile)
    drive = Drive(Injecting(SimTransport(disc), *rules), sleep=lambda s: None)
    try:
        with pytest.raises(errors.BurnError) as info:
            burn(drive, image, recorder.Options())
    finally:
        drive.t.close()
    return info.value


@pytest.fixture
def trees(tmp_path):
    first = make_tree(tmp_path / "one", {"old.txt": b"old\n", "big.bin": os.urandom(700_000)})
    second = make_tree(tmp_path / "two", {"new.txt": b"new\n", "dir/b.txt": b"b\n"})
    return first, second


# ---- 1. a folder without --multi onto an appendable disc ---------------------------------------
@pytest.mark.parametrize("profile", ["cd-r", "dvd+r", "bd-r", "dvd-r"])
def test_folder_without_multi_on_an_appendable_disc_shows_the_folder(tmp_path, trees, profile):
    first, second = trees
    disc = make_disc(tmp_path, profile)
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--verify", second)
    assert code == 0, err
    assert files_seen(disc) == ["dir/b.txt", "new.txt"]
    assert simstate.load(disc).status == "complete"      # without --multi: closed


def test_image_mastered_for_sector_0_is_refused_on_an_appendable_disc(tmp_path, trees):
    first, second = trees
    disc = make_disc(tmp_path, "cd-r")
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    image = tmp_path / "plain.iso"
    subprocess.run(["isofuse", "master", "-quiet", "-r", "-o", str(image), second], check=True)
    before = simstate.load(disc)
    code, _, err = run("--device", f"sim:{disc}", str(image))
    assert code == errors.SOURCE and "mastered for sector 0" in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert simstate.load(disc).tracks == before.tracks       # nothing written


def test_image_mastered_for_the_next_address_is_burned_there(tmp_path, trees):
    first, second = trees
    disc = make_disc(tmp_path, "cd-r")
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    code, out, _ = run("--device", f"sim:{disc}", "--msinfo")
    msinfo = out.strip()
    image = tmp_path / "next.iso"
    subprocess.run(["isofuse", "master", "-quiet", "-r", "-C", msinfo, "-M", disc,
                    "-o", str(image), second], check=True)
    code, _, err = run("--device", f"sim:{disc}", "--verify", str(image))
    assert code == 0, err
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]


@pytest.mark.parametrize("tool", ["genisoimage", "xorrisofs"])
def test_next_session_images_of_other_masters_are_burned_there(tmp_path, trees, tool):
    """genisoimage and xorrisofs -C write the session's own length as its
    volume space size (isofuse master the whole volume's): both are placed."""
    first, second = trees
    disc = make_disc(tmp_path, "cd-r")
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    msinfo = run("--device", f"sim:{disc}", "--msinfo")[1].strip()
    image = tmp_path / "next.iso"
    subprocess.run([tool, "-quiet", "-r", "-C", msinfo, "-M", disc, "-o", str(image), second],
                   check=True, stderr=subprocess.DEVNULL)
    code, _, err = run("--device", f"sim:{disc}", "--verify", str(image))
    assert code == 0, err
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]


def test_next_session_on_standard_input_takes_its_own_length(tmp_path, trees):
    """The HOWTO's pipe: mkisofs -C $(cdrecord -msinfo) -M DEV ... | burner -;
    the session's length is its descriptor's volume space size, as cdrecord
    -isosize takes it."""
    from burner_support import run_process
    first, second = trees
    disc = make_disc(tmp_path, "dvd+r")
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    msinfo = run("--device", f"sim:{disc}", "--msinfo")[1].strip()
    image = subprocess.run(["genisoimage", "-quiet", "-r", "-C", msinfo, "-M", disc, second],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    proc = run_process("--device", f"sim:{disc}", "--verify", "-", stdin=image)
    assert proc.returncode == 0, proc.stderr
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]


def test_raw_data_is_refused_where_the_disc_already_has_a_session(tmp_path, trees):
    disc = make_disc(tmp_path, "dvd+r")
    assert run("--device", f"sim:{disc}", "--multi", trees[0])[0] == 0
    raw = tmp_path / "raw.bin"
    raw.write_bytes(os.urandom(64 * 2048))
    code, _, err = run("--device", f"sim:{disc}", str(raw))
    assert code == errors.SOURCE and "no ISO 9660 session" in err


# ---- 2. growing: the descriptor rewrite at 16 is written whole and verified --------------------
def test_grown_session_descriptor_copy_is_verified(tmp_path, trees):
    first, second = trees
    disc = make_disc(tmp_path, "dvd+rw")
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    st = simstate.load(disc)
    st.faults["corrupt_at"] = 16
    simstate.save(disc, st)
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", second)
    assert code == errors.VERIFY_FAILED and "sectors 16-31" in err, err


@pytest.mark.parametrize("profile", ["dvd+rw", "dvd-rw-ro", "bd-re"])
def test_grown_session_rewrites_the_whole_ecc_block(tmp_path, trees, profile):
    first, second = trees
    disc = make_disc(tmp_path, profile, formatted=True)
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    log = []
    real = SimTransport._execute

    def spy(self, cdb, direction, data, length, timeout, name):
        log.append(bytes(cdb))
        return real(self, cdb, direction, data, length, timeout, name)
    SimTransport._execute = spy
    try:
        code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", second)
    finally:
        SimTransport._execute = real
    assert code == 0, err
    at16 = [c for c in log if c[0] == mmc.WRITE_10 and int.from_bytes(c[2:6], "big") == 16]
    assert len(at16) == 1 and int.from_bytes(at16[0][7:9], "big") == 16   # 32 KiB
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]


# ---- 3. unit attention in the middle of a burn ---------------------------------------------------
RESET = sense.Sense(sense.UNIT_ATTENTION, 0x29, 0x00)
CHANGED = sense.Sense(sense.UNIT_ATTENTION, 0x28, 0x00)


def test_unit_attention_mid_burn_aborts(tmp_path):
    error = burn_failure(tmp_path, "cd-r", on_write_number(5, RESET))
    text = str(error)
    assert error.code == errors.WRITE_FAILED
    assert "reset" in text and "not trustworthy" in text and "spoiled" in text, text


def test_unit_attention_before_the_first_write_is_retried(tmp_path):
    image = tmp_path / "data.img"
    image.write_bytes(os.urandom(320 * 2048))
    disc = make_disc(tmp_path, "dvd+r")
    pending = {"left": 1}

    def once(cdb, data):
        if cdb[0] == mmc.PREVENT_ALLOW and pending["left"]:
            pending["left"] -= 1
            return CHANGED
        return None
    drive = Drive(Injecting(SimTransport(disc), once), sleep=lambda s: None)
    burn(drive, image, recorder.Options())
    drive.t.close()
    assert simstate.load(disc).status == "complete"


def test_unit_attention_during_close_aborts(tmp_path):

    def on_close(cdb, data):
        return RESET if cdb[0] == mmc.CLOSE_TRACK_SESSION else None
    error = burn_failure(tmp_path, "dvd+r", on_close)
    assert error.code == errors.WRITE_FAILED and "reset" in str(error)


def test_transport_failure_mid_burn_says_what_state_the_disc_is_in(tmp_path):
    gone = sense.TransportError("sim: WRITE(10): SG_IO failed: No such device", kind="gone")
    error = burn_failure(tmp_path, "dvd+r", on_write_number(4, gone))
    assert error.code == errors.DEVICE_GONE
    assert "48 sectors were written" in str(error) and "--close" in str(error)


# ---- the sector named in a write error ----------------------------------------------------------
def test_write_error_names_the_sector_from_the_information_field(tmp_path):
    bad = sense.Sense(sense.MEDIUM_ERROR, 0x0C, 0x00, info=37)
    error = burn_failure(tmp_path, "cd-rw", on_write_number(3, bad))
    text = str(error)
    assert "at sector 37:" in text and "blank it" in text, text


# ---- 7. writing is decided by the write features ------------------------------------------------
def feature(code, current, data=b""):
    return code.to_bytes(2, "big") + bytes([current & 1, len(data)]) + data


def configuration(profile, *features_bytes):
    body = bytes(2) + profile.to_bytes(2, "big") + b"".join(features_bytes)
    return len(body).to_bytes(4, "big") + body


def test_profile_list_does_not_make_a_writer():
    profiles = b"".join(p.to_bytes(2, "big") + bytes([p == 0x11, 0])
                        for p in (0x09, 0x0A, 0x10, 0x11, 0x1B))
    reply = configuration(0x11, feature(0x0000, 1, profiles), feature(0x001F, 1, bytes(4)),
                          feature(0x002B, 0, bytes(4)))        # DVD+R read, Write bit 0
    found = features.parse_features(reply)
    assert not features.writes_anything(found)
    assert not features.writes_profile(found, 0x11)


def test_combo_drive_writes_cd_only():
    reply = configuration(0x11, feature(0x002D, 0, bytes([0x46, 0, 0, 0])))   # BUF, CD-RW
    found = features.parse_features(reply)
    assert features.writes_anything(found)
    assert features.writes_profile(found, 0x09, current_only=False)
    assert not features.writes_profile(found, 0x11, current_only=False)
    assert not features.writes_profile(found, 0x09)            # not current: a DVD is in
    assert features.underrun_free(found, 0x09)


def test_incremental_link_sizes_come_from_feature_0021h():
    reply = configuration(0x14, feature(0x0021, 1, bytes([0, 1, 0x01, 2, 16, 32, 0, 0])))
    found = features.parse_features(reply)
    assert features.link_sizes(found) == [16, 32] and features.incremental_current(found)


def test_buf_is_byte_4_bit_7_of_page_2a():
    page = bytearray(30)
    page[0], page[1] = 0x2A, 28
    page[5] = 0x80                               # read bar code: not BUF
    assert not pages.parse_capabilities(bytes(page)).underrun_protection
    page[4] = 0x80
    assert pages.parse_capabilities(bytes(page)).underrun_protection


# ---- the track asked about --------------------------------------------------------------------
def test_a_drive_that_rejects_track_ff_still_gives_msinfo(tmp_path, trees):
    disc = make_disc(tmp_path, "cd-r")
    assert run("--device", f"sim:{disc}", "--multi", trees[0])[0] == 0

    def no_ff(cdb, data):
        if cdb[0] == mmc.READ_TRACK_INFORMATION and int.from_bytes(cdb[2:6], "big") == 0xFF:
            return sense.Sense(sense.ILLEGAL_REQUEST, 0x24, 0x00)
        return None
    drive = Drive(Injecting(SimTransport(disc), no_ff), sleep=lambda s: None)
    status = drive.probe()
    start, nwa = recorder.msinfo(drive, status)
    drive.t.close()
    assert start == 0 and nwa == simstate.load(disc).nwa


# ---- page 05h ---------------------------------------------------------------------------------
def test_rejected_write_parameters_name_the_field(tmp_path):
    # SPC-4 4.5.2.4.2: SKSV, C/D=0 (parameter list), field pointer 13 = page byte 5
    rejected = sense.Sense(sense.ILLEGAL_REQUEST, 0x26, 0x00, field=(False, 13, None))

    def refuse(cdb, data):
        return rejected if cdb[0] == mmc.MODE_SELECT_10 else None
    error = burn_failure(tmp_path, "cd-r", refuse)
    assert "page 05h byte 5 (link size)" in str(error)
    assert "nothing was written" in str(error)


def test_no_bufe_where_the_drive_has_no_buf(tmp_path):
    image = tmp_path / "data.img"
    image.write_bytes(os.urandom(320 * 2048))
    disc = make_disc(tmp_path, "cd-r")
    drive = Drive(RecordingTransport(SimTransport(disc)), sleep=lambda s: None)
    status = drive.probe()
    status.underrun_free = False
    source = FileSource(str(image))
    opts = recorder.Options()
    plan = recorder.plan_burn(drive, status, source.size, opts)
    recorder.write_plan(drive, status, source, plan, opts, Progress("t", "quiet"))
    drive.t.close()
    sent = next(d for c, d, _ in drive.t.log if c[0] == mmc.MODE_SELECT_10)
    assert sent[8 + 2] & 0x40 == 0


# ---- formats ------------------------------------------------------------------------------------
class Caps:
    def __init__(self, formats):
        self.formats = formats


class St:
    def __init__(self, profile):
        self.profile, self.device = profile, "test"
        from burner.profiles import profile as info
        self.profile_info = info(profile)


def test_format_choice_keeps_the_type_dependent_parameter():
    caps = Caps([(11826176, 0x30, 0x3000), (12219392, 0x31, 0x800)])
    assert formatting.choose_format(St(0x43), caps) == (11826176, 0x30, 0x3000, 0b10)
    assert formatting.choose_format(St(0x43), caps, "full") == (11826176, 0x30, 0x3000, 0)
    dvd_rw = Caps([(2295104, 0x00, 16), (2295104, 0x10, 16), (2295104, 0x15, 16)])
    assert formatting.choose_format(St(0x14), dvd_rw) == (2295104, 0x15, 16, 0)
    assert formatting.choose_format(St(0x14), dvd_rw, "full") == (2295104, 0x10, 16, 0)
    with pytest.raises(errors.BurnError):
        formatting.choose_format(St(0x1A), Caps([(100, 0x30, 0)]))


def test_format_unit_parameter_list():
    data = mmc.format_parameters(11826176, 0x30, 0x3000, subtype=0b10)
    assert data[:4] == bytes([0, 0x82, 0, 8])
    assert data[4:8] == (11826176).to_bytes(4, "big")
    assert data[8] == 0x30 << 2 | 0b10 and data[9:12] == bytes([0, 0x30, 0])


# ---- a fresh formatted DVD+RW: READ CAPACITY is the formatted size ----------------------------
def test_fresh_formatted_disc_reports_its_size_not_a_session(tmp_path, trees):
    disc = make_disc(tmp_path, "dvd+rw")
    capacity = simstate.load(disc).capacity

    def formatted_size(cdb, data):
        if cdb[0] == mmc.READ_CAPACITY:
            return (capacity - 1).to_bytes(4, "big") + (2048).to_bytes(4, "big")
        return None
    drive = Drive(Injecting(SimTransport(disc), formatted_size), sleep=lambda s: None)
    status = drive.probe()
    drive.t.close()
    assert status.recorded_end == 0 and status.free_blocks == capacity
    assert run("--device", f"sim:{disc}", "--multi", trees[0])[0] == 0
    drive = Drive(Injecting(SimTransport(disc), formatted_size), sleep=lambda s: None)
    status = drive.probe()
    start, nxt = recorder.msinfo(drive, status)
    drive.t.close()
    assert status.recorded_end < 1000 and start == 0 and nxt % 16 == 0


# ---- SET STREAMING ----------------------------------------------------------------------------
def test_set_streaming_end_is_the_last_lba_of_the_medium(tmp_path):
    image = tmp_path / "data.img"
    image.write_bytes(os.urandom(320 * 2048))
    disc = make_disc(tmp_path, "bd-r")
    capacity = simstate.load(disc).capacity
    drive = Drive(RecordingTransport(SimTransport(disc)), sleep=lambda s: None)
    burn(drive, image, recorder.Options())
    drive.t.close()
    sent = next(d for c, d, _ in drive.t.log if c[0] == mmc.SET_STREAMING)
    assert int.from_bytes(sent[8:12], "big") == capacity - 1


# ---- GET PERFORMANCE in --list, the layer break of a DL disc ----------------------------------
def test_list_shows_the_media_write_speeds(tmp_path):
    import json
    disc = make_disc(tmp_path, "cd-r")
    code, out, _ = run("--list", "--json", "--device", f"sim:{disc}")
    row = json.loads(out)[0]
    assert code == 0 and row["write_speeds_x"][0] == 48 and row["write_speeds_x"][-1] == 4
    code, out, _ = run("--list", "--device", f"sim:{disc}")
    assert "write speeds 48x" in out


def test_double_layer_burn_sets_the_layer_break_before_writing(tmp_path):
    image = tmp_path / "data.img"
    image.write_bytes(os.urandom(1500 * 2048))
    disc = make_disc(tmp_path, "dvd+r-dl", capacity=2000)      # layer 0: 1000 sectors
    drive = Drive(RecordingTransport(SimTransport(disc)), sleep=lambda s: None)
    burn(drive, image, recorder.Options())
    drive.t.close()
    ops = [c[0] for c, _, _ in drive.t.log]
    assert mmc.SEND_DISC_STRUCTURE in ops
    assert ops.index(mmc.SEND_DISC_STRUCTURE) < ops.index(mmc.WRITE_10)
    sent = next(d for c, d, _ in drive.t.log if c[0] == mmc.SEND_DISC_STRUCTURE)
    assert int.from_bytes(sent[8:12], "big") == 752       # half of 1500, 16-aligned


# ---- through the simulated drive's own faults --------------------------------------------------
def fault(disc, **faults):
    st = simstate.load(disc)
    st.faults.update(faults)
    simstate.save(disc, st)


def clear_faults(disc):
    st = simstate.load(disc)
    st.faults = {}
    simstate.save(disc, st)


@pytest.mark.parametrize("profile", ["cd-r", "dvd+r", "bd-r"])
def test_reset_mid_burn_fails_then_the_damaged_track_is_refused_until_closed(
        tmp_path, trees, profile):
    first, second = trees
    disc = make_disc(tmp_path, profile)
    fault(disc, reset_at=100)
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", first)
    assert code == errors.WRITE_FAILED and "reset" in err and "--close" in err, err
    clear_faults(disc)
    code, _, err = run("--device", f"sim:{disc}", "--multi", second)
    assert code == errors.DISC_CLOSED and "damaged" in err and "--close" in err, err
    code, _, err = run("--device", f"sim:{disc}", "--close", "--multi")
    assert code == 0, err
    code, _, err = run("--device", f"sim:{disc}", "--verify", second)
    assert code == 0, err
    assert files_seen(disc) == ["dir/b.txt", "new.txt"]


def test_deferred_write_error_is_a_failure(tmp_path, trees):
    disc = make_disc(tmp_path, "dvd+r")
    fault(disc, deferred_error_at=40)
    code, _, err = run("--device", f"sim:{disc}", trees[0])
    assert code == errors.WRITE_FAILED and "NOT burned" in err, err


def test_combo_drive_refuses_a_dvd_before_writing(tmp_path, trees):
    disc = make_disc(tmp_path, "dvd-r", drive="combo")
    code, _, err = run("--device", f"sim:{disc}", trees[0])
    assert code == errors.CANNOT_WRITE and "cannot write a DVD-R" in err, err
    st = simstate.load(disc)
    assert not st.tracks and st.status == "blank"
    code, out, _ = run("--list", "--json", "--device", f"sim:{disc}")
    import json
    row = json.loads(out)[0]
    assert row["can_write"] and row["writable_profiles"] == ["CD-RW", "CD-R"] or \
        sorted(row["writable_profiles"]) == ["CD-R", "CD-RW"]
    cd = make_disc(tmp_path, "cd-r", name="cd", drive="combo")
    assert run("--device", f"sim:{cd}", "--verify", trees[0])[0] == 0


def test_read_only_drive_is_refused_with_status_5(tmp_path, trees):
    disc = make_disc(tmp_path, "dvd-r", drive="rom")
    code, _, err = run("--device", f"sim:{disc}", trees[0])
    assert code == errors.CANNOT_WRITE and "read-only drive" in err, err


def test_quick_blanked_dvd_rw_takes_one_dao_session(tmp_path, trees):
    first, second = trees
    disc = make_disc(tmp_path, "dvd-rw")
    assert run("--device", f"sim:{disc}", first)[0] == 0
    assert run("--device", f"sim:{disc}", "--blank", "fast", "--yes")[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--multi", second)
    assert code == errors.CANNOT_WRITE and "incrementally" in err, err
    assert simstate.load(disc).status == "blank"
    code, _, err = run("--device", f"sim:{disc}", "--verify", second)
    assert code == 0, err
    assert files_seen(disc) == ["dir/b.txt", "new.txt"]


def test_dvd_rw_formatted_to_restricted_overwrite_grows(tmp_path, trees):
    first, second = trees
    disc = make_disc(tmp_path, "dvd-rw")
    code, _, err = run("--device", f"sim:{disc}", "--format", "--yes")
    assert code == 0, err
    assert simstate.load(disc).profile == 0x13
    assert run("--device", f"sim:{disc}", "--multi", "--verify", first)[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", second)
    assert code == 0, err
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]


def test_bd_re_full_format_certifies(tmp_path):
    disc = make_disc(tmp_path, "bd-re", formatted=False)
    drive = Drive(RecordingTransport(SimTransport(disc)), sleep=lambda s: None)
    status = drive.probe()
    formatting.format_medium(drive, status, how="full")
    drive.t.close()
    sent = next(d for c, d, _ in drive.t.log if c[0] == mmc.FORMAT_UNIT)
    assert sent[8] == 0x30 << 2 and simstate.load(disc).formatted


def test_format_pow_from_the_command_line_then_grow(tmp_path, trees):
    first, second = trees
    disc = make_disc(tmp_path, "bd-r", drive="writer-pow")
    code, _, err = run("--device", f"sim:{disc}", "--format", "pow", "--yes")
    assert code == 0, err
    assert run("--device", f"sim:{disc}", "--multi", "--verify", first)[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", second)
    assert code == 0, err
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]
    plain = make_disc(tmp_path, "bd-r", name="plain.disc")        # a drive without 0038h
    code, _, err = run("--device", f"sim:{plain}", "--format", "pow", "--yes")
    assert code == errors.CANNOT_WRITE and "0038h" in err, err


@pytest.mark.parametrize("tool", ["genisoimage", "xorrisofs"])
def test_grown_image_of_another_master_counts_the_whole_volume_at_16(tmp_path, trees, tool):
    """Their next session says its own length; the copy at 16 must count the
    grown volume, or the next msinfo would point inside this session."""
    first, second = trees
    disc = make_disc(tmp_path, "dvd+rw")
    assert run("--device", f"sim:{disc}", "--multi", first)[0] == 0
    msinfo = run("--device", f"sim:{disc}", "--msinfo")[1].strip()
    nxt = int(msinfo.split(",")[1])
    image = tmp_path / "next.iso"
    subprocess.run([tool, "-quiet", "-r", "-C", msinfo, "-M", disc, "-o", str(image), second],
                   check=True, stderr=subprocess.DEVNULL)
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", str(image))
    assert code == 0, err
    assert files_seen(disc) == ["big.bin", "dir/b.txt", "new.txt", "old.txt"]
    end = nxt + os.path.getsize(image) // 2048
    again = run("--device", f"sim:{disc}", "--msinfo")[1].strip()
    assert again == f"0,{-(-end // 16) * 16}"
