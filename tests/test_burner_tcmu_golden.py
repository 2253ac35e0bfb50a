"""isofuse-burn's CDB sequence against the sequences real burners sent.

tests/data/tcmu-cdb/ keeps what wodim, cdrskin, growisofs and xorriso sent
to the simulated drive through the kernel (captured by burner/tcmu.py in
tests/test_tcmu_vm.py).  Here isofuse-burn does the same job (the same
medium, the same number of sectors, the same session mode) on the
in-process simulator, and its write phase is compared with theirs on the
points MMC-6 makes a burner get right:

* the write parameters page (05h, MMC-6 §7.5.4) that the drive accepted
  last before the first WRITE: write type, multisession field, track mode,
  data block type, link size, fixed packets and packet size;
* the order of the writing commands: page 05h, SEND OPC INFORMATION
  (§6.36) and RESERVE TRACK (§6.31) before the first WRITE, every WRITE before SYNCHRONIZE CACHE (§6.41: the
  drive's buffer goes to the medium before a track is closed), SYNCHRONIZE
  CACHE before CLOSE TRACK SESSION (§6.3), CLOSE TRACK before CLOSE
  SESSION, nothing written after a close;
* the WRITEs: one contiguous extent starting at the next writable address
  of the blank disc (LBA 0) and ending where the reference's ends;
* the CLOSE functions sent (001b track, 010b session, ...).

Each difference found must be one of ALLOWED (docs/tcmu.md lists them with
the reason); a difference that disappears fails the test too, so that list
stays true.  Probing (INQUIRY, GET CONFIGURATION, MODE SENSE, ...), polling
and the size of each WRITE are the programs' own choice and not compared.
"""

import os
import struct

import pytest

from burner import drive as burner_drive
from burner.sim import SimTransport
from burner.transport import RecordingTransport
from burner_support import make_disc, run

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                             "tcmu-cdb")
CD_SPEED_KBS = 7056       # the CD discs of tests/test_tcmu_vm.py

MODE_SELECT_10, SEND_OPC, RESERVE_TRACK, WRITE_10, WRITE_12 = 0x55, 0x54, 0x53, 0x2A, 0xAA
SYNCHRONIZE_CACHE, CLOSE_TRACK_SESSION = 0x35, 0x5B
CLOSE_FUNCTIONS = {0: "stop background format", 1: "track", 2: "session",
                   3: "stop background format (3)", 5: "finalize DVD+R",
                   6: "finalize BD-R"}

# reference file -> (profile, speed in kB/s, isofuse-burn options for the
# same job).  wodim -data (no -multi): a closed single session;
# cdrskin -tao -multi, growisofs -Z on a DVD-R (appendable: growisofs
# leaves -Z sessions open) and xorriso -commit on a BD-R (also
# appendable): --multi.
CASES = {
    "wodim-cd-r-tao.trace": ("cd-r", 0, []),
    "cdrskin-cd-rw-tao-multi.trace": ("cd-rw", CD_SPEED_KBS, ["--multi"]),
    "growisofs-dvd+rw-Z.trace": ("dvd+rw", 0, []),
    "growisofs-dvd-r-Z.trace": ("dvd-r", 0, ["--multi"]),
    "xorriso-bd-r.trace": ("bd-r", 0, ["--multi"]),
}

# The differences MMC-6 allows, per reference (docs/tcmu.md explains each).
ALLOWED = {
    "wodim-cd-r-tao.trace": {
        "page05 audio pause length: reference 150, isofuse 0",
        "SEND OPC INFORMATION: reference sends it (refused), isofuse does not",
    },
    "cdrskin-cd-rw-tao-multi.trace": {
        "page05 audio pause length: reference 150, isofuse 0",
        "page05 session format: reference 00h, isofuse 20h",
    },
    "growisofs-dvd+rw-Z.trace": {
        "CLOSE functions: reference ['stop background format', 'session'], isofuse []",
    },
    "growisofs-dvd-r-Z.trace": {
        "page05 fixed packets: reference 1, isofuse 0",
        "page05 packet size: reference 16, isofuse 0",
        "SEND OPC INFORMATION: reference sends it (refused), isofuse does not",
    },
    "xorriso-bd-r.trace": {
        "RESERVE TRACK: reference reserves 352 sectors, isofuse does not",
    },
}


def parse_trace(path):
    """The handler's trace lines -> [(cdb, data out or None, ok)], the form
    RecordingTransport keeps."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" | ")
            if len(parts) < 3:
                continue
            cdb = bytes.fromhex(parts[0])
            data = bytes.fromhex(parts[3]) if len(parts) > 3 else None
            out.append((cdb, data, parts[2].startswith("ok")))
    return out


def page05_fields(data):
    """MMC-6 §7.5.4 write parameters page in a MODE SELECT(10) parameter
    list (8-byte header, no block descriptors), or None."""
    page = data[8:]
    if len(page) < 16 or page[0] & 0x3F != 0x05:
        return None
    return {
        "write type": page[2] & 0x0F,
        "test write": page[2] >> 4 & 1,
        "link size valid": page[2] >> 5 & 1,
        "buffer underrun free": page[2] >> 6 & 1,
        "multisession": page[3] >> 6,
        "fixed packets": page[3] >> 5 & 1,
        "track mode": page[3] & 0x0F,
        "data block type": page[4] & 0x0F,
        "link size": page[5] if page[2] & 0x20 else 0,
        "session format": page[8],
        "packet size": struct.unpack_from(">I", page, 10)[0],
        "audio pause length": struct.unpack_from(">H", page, 14)[0],
    }


def write_phase(log):
    """What a burn did to the medium, from the first WRITE's preparation to
    its last CLOSE: {"page05", "opc", "reserve", "extent", "order", "closes"}."""
    first_write = next(i for i, (cdb, _, ok) in enumerate(log)
                       if cdb[0] in (WRITE_10, WRITE_12) and ok)
    last_write = max(i for i, (cdb, _, ok) in enumerate(log)
                     if cdb[0] in (WRITE_10, WRITE_12) and ok)
    closes = [i for i, (cdb, _, ok) in enumerate(log)
              if cdb[0] == CLOSE_TRACK_SESSION and ok and i > last_write]
    end = max(closes + [i for i, (cdb, _, ok) in enumerate(log)
                        if cdb[0] == SYNCHRONIZE_CACHE and ok and i > last_write]
              or [last_write])
    pages = [page05_fields(data) for cdb, data, ok in log[:first_write]
             if cdb[0] == MODE_SELECT_10 and ok and data]
    pages = [p for p in pages if p]
    phase = {"page05": pages[-1] if pages else None,
             "opc": any(cdb[0] == SEND_OPC for cdb, _, _ in log[:first_write]),
             "reserve": [struct.unpack_from(">I", cdb, 5)[0]
                         for cdb, _, ok in log[:first_write]
                         if cdb[0] == RESERVE_TRACK and ok],
             "extent": _extent(log[first_write:last_write + 1]),
             "closes": [CLOSE_FUNCTIONS.get(log[i][0][2] & 7, log[i][0][2] & 7)
                        for i in closes],
             "order": _order(log, first_write, last_write, end)}
    return phase


def _extent(writes):
    """(first LBA, end LBA) of the WRITEs, which must follow each other."""
    start = pos = None
    for cdb, _, ok in writes:
        if cdb[0] not in (WRITE_10, WRITE_12):
            continue
        lba = struct.unpack_from(">I", cdb, 2)[0]
        count = struct.unpack_from(">H", cdb, 7)[0] if cdb[0] == WRITE_10 else \
            struct.unpack_from(">I", cdb, 6)[0]
        if start is None:
            start = pos = lba
        assert ok and lba == pos, "WRITE at %d, expected %d (not contiguous)" % (lba, pos)
        pos += count
    return start, pos


def _order(log, first_write, last_write, end):
    """The MMC ordering rules that a write phase breaks (empty: none)."""
    broken = []
    ops = [cdb[0] for cdb, _, ok in log[first_write:end + 1] if ok]
    after = [cdb[0] for cdb, _, ok in log[last_write + 1:end + 1] if ok]
    if SYNCHRONIZE_CACHE not in after:
        broken.append("no SYNCHRONIZE CACHE after the last WRITE")
    elif CLOSE_TRACK_SESSION in after and \
            after.index(CLOSE_TRACK_SESSION) < after.index(SYNCHRONIZE_CACHE):
        broken.append("CLOSE before SYNCHRONIZE CACHE")
    if any(op in (MODE_SELECT_10, RESERVE_TRACK, SEND_OPC) for op in ops):
        broken.append("page 05h, RESERVE TRACK or SEND OPC after the first WRITE")
    functions = [cdb[2] & 7 for cdb, _, ok in log[last_write + 1:end + 1]
                 if cdb[0] == CLOSE_TRACK_SESSION and ok]
    if 1 in functions and 2 in functions and functions.index(1) > functions.index(2):
        broken.append("CLOSE SESSION before CLOSE TRACK")
    return broken


def differences(reference, ours):
    """The points on which our write phase differs from the reference's."""
    diffs = set()
    ref_page, our_page = reference["page05"], ours["page05"]
    if (ref_page is None) != (our_page is None):
        diffs.add("page05: reference %s, isofuse %s" % (
            "sends it" if ref_page else "none", "sends it" if our_page else "none"))
    elif ref_page:
        for field, value in ref_page.items():
            if our_page[field] != value:
                diffs.add("page05 %s: reference %s, isofuse %s" % (
                    field, _show(field, value), _show(field, our_page[field])))
    if reference["opc"] != ours["opc"]:
        diffs.add("SEND OPC INFORMATION: %s" % (
            "reference sends it (refused), isofuse does not" if reference["opc"]
            else "isofuse sends it, the reference does not"))
    if reference["reserve"] != ours["reserve"]:
        diffs.add("RESERVE TRACK: reference %s, isofuse %s" % (
            _reserve(reference["reserve"]), _reserve(ours["reserve"])))
    if reference["extent"] != ours["extent"]:
        diffs.add("WRITE extent: reference %s, isofuse %s" % (
            reference["extent"], ours["extent"]))
    if reference["closes"] != ours["closes"]:
        diffs.add("CLOSE functions: reference %s, isofuse %s" % (
            reference["closes"], ours["closes"]))
    return diffs


def _show(field, value):
    return "%02Xh" % value if field == "session format" else str(value)


def _reserve(sizes):
    return "reserves %s sectors" % "+".join(map(str, sizes)) if sizes else "does not"


def isofuse_burn_log(tmp_path, monkeypatch, profile, speed, options, sectors):
    """isofuse-burn's command line run for the job, every CDB recorded."""
    image = tmp_path / "job.img"
    with open(image, "wb") as f:
        f.write(os.urandom(sectors * 2048))
    disc = make_disc(tmp_path, profile, speed_kbs=speed)
    recorders = []

    def recording(device, write=True):
        rec = RecordingTransport(SimTransport(device[len("sim:"):]))
        recorders.append(rec)
        return rec

    monkeypatch.setattr(burner_drive, "open_transport", recording)
    code, _, err = run("--device", "sim:" + disc, *options, image)
    assert code == 0, err
    return [entry for rec in recorders for entry in rec.log]


@pytest.mark.parametrize("reference", sorted(CASES))
def test_write_phase_agrees_with_the_real_burner(tmp_path, monkeypatch, reference):
    ref = write_phase(parse_trace(os.path.join(REFERENCE_DIR, reference)))
    assert ref["order"] == [] and ref["extent"][0] == 0, ref
    profile, speed, options = CASES[reference]
    sectors = ref["extent"][1] - ref["extent"][0]
    ours = write_phase(isofuse_burn_log(tmp_path, monkeypatch, profile, speed,
                                        options, sectors))
    assert ours["order"] == [], ours["order"]
    assert differences(ref, ours) == ALLOWED[reference]


def test_every_real_burner_trace_is_compared():
    """A new reference file in tests/data/tcmu-cdb needs a case here (the
    isofuse-burn traces there are ours: they are not references)."""
    names = {n for n in os.listdir(REFERENCE_DIR) if n.endswith(".trace")
             and not n.startswith("isofuse-burn")}
    assert names == set(CASES)


def test_a_broken_order_is_found():
    """The checker itself: a CLOSE SESSION before SYNCHRONIZE CACHE and a
    WRITE gap are reported (so agreeing above means something)."""
    def cmd(text, ok=True):
        return (bytes.fromhex(text), None, ok)
    log = [cmd("2a 00 00 00 00 00 00 00 10 00"), cmd("5b 01 02 00 00 00 00 00 00 00"),
           cmd("35 02 00 00 00 00 00 00 00 00")]
    assert write_phase(log)["order"] == ["CLOSE before SYNCHRONIZE CACHE"]
    late_opc = [cmd("2a 00 00 00 00 00 00 00 10 00"), cmd("54 01 00 00 00 00 00 00 00 00"),
                cmd("2a 00 00 00 00 10 00 00 10 00"), cmd("35 02 00 00 00 00 00 00 00 00")]
    assert write_phase(late_opc)["order"] == [
        "page 05h, RESERVE TRACK or SEND OPC after the first WRITE"]
    gap = [cmd("2a 00 00 00 00 00 00 00 10 00"), cmd("2a 00 00 00 00 20 00 00 10 00"),
           cmd("35 02 00 00 00 00 00 00 00 00")]
    with pytest.raises(AssertionError, match="not contiguous"):
        write_phase(gap)


# isofuse-burn's own traces through /dev/srN (tests/test_tcmu_vm.py):
# file -> (isofuse-burn options, the number of sectors of the image).
OWN_TRACES = {"isofuse-burn-cd-r-multi.trace": ["--multi"],
              "isofuse-burn-cd-r-nonroot.trace": []}
POLLING = {0x00, 0x4A, 0x5C}   # TEST UNIT READY, GET EVENT STATUS, READ BUFFER CAPACITY
ALLOW_MEDIUM_REMOVAL = bytes.fromhex("1e 00 00 00 00 00")


@pytest.mark.parametrize("trace", sorted(OWN_TRACES))
def test_the_kernel_passes_isofuse_burns_commands_unchanged(tmp_path, monkeypatch,
                                                            trace):
    """isofuse-burn through /dev/srN (SG_IO, sr, the command filter,
    tcm_loop, TCMU) and on sim:PATH in-process send the same CDBs, byte for
    byte, but for polling and one ALLOW MEDIUM REMOVAL more through the
    kernel: sr's release of the last open unlocks the door itself
    (drivers/cdrom/cdrom.c, cdrom_release)."""
    via_kernel = [cdb for cdb, _, _ in parse_trace(os.path.join(REFERENCE_DIR, trace))
                  if cdb[0] not in POLLING]
    sectors = write_phase(parse_trace(os.path.join(REFERENCE_DIR, trace)))["extent"][1]
    direct = [cdb for cdb, _, _ in isofuse_burn_log(
        tmp_path, monkeypatch, "cd-r", CD_SPEED_KBS, OWN_TRACES[trace], sectors)
        if cdb[0] not in POLLING]
    assert via_kernel[-1] == ALLOW_MEDIUM_REMOVAL
    assert via_kernel[:-1] == direct
