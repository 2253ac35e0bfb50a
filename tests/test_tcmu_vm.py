"""The simulated drive as a real SCSI MMC device (LIO + TCMU + tcm_loop,
burner/tcmu.py, docs/tcmu.md) in ONE tools/vm guest: real burners (wodim,
cdrskin, growisofs, xorriso) and isofuse-burn write through /dev/srN, the
discs are read back by the guest kernel's isofs and by isofuse's reader on
the sim file, and each must hold what was written.

The guest is started through the tools/vm script run by a Python in a
virtualenv below /tmp (the guest's /tmp is its own: tools/vm must share the
venv as it shares the checkout).

The simulator gaps real burners hit once (tests/test_sim_drive.py has each
at the CDB level; docs/simulated-drive.md): cdrskin's SAO page 05h (track
mode and block type 0) and cue sheet (lead form 14h) for "-multi IMG" on a
CD-RW; growisofs's fixed-packet page 05h on DVD-R (FP=1, packet size 16,
MMC-6 §7.5.4); growisofs's tray reload (eject, eject, load) after a burn,
whose medium change must reach the command after the load; page 2Ah's
write speed on a disc without a throttle (wodim's SIGFPE).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_support import (REPO, SR_RELOAD, TOOLS, VM_SCRIPT, make_iso,  # noqa: E402,F401
                        no_guest_left_behind, vm_setup)

sys.path.insert(0, TOOLS)
import treelisting  # noqa: E402

pytestmark = pytest.mark.timeout(900)     # the module's one boot: 2-5 min

CD_SPEED_KBS = 7056
# The CDB sequences real burners send (captured by the handler, one line per
# CDB: "CDB | direction length | result [| parameter data]"); regenerate
# with ISOFUSE_UPDATE_CDB_REFERENCE=1 (docs/tcmu.md says what they show).
REFERENCE_DIR = os.path.join(REPO, "tests", "data", "tcmu-cdb")
UPDATE_REFERENCE = "ISOFUSE_UPDATE_CDB_REFERENCE"
REFERENCES = {"wodim-cdr": "wodim-cd-r-tao.trace",
              "cdrskin-cdrw-tao": "cdrskin-cd-rw-tao-multi.trace",
              "growisofs-dvdprw": "growisofs-dvd+rw-Z.trace",
              "growisofs-dvdr": "growisofs-dvd-r-Z.trace",
              "xorriso-bdr": "xorriso-bd-r.trace",
              "burn-cd-1": "isofuse-burn-cd-r-multi.trace",
              "nonroot-burn": "isofuse-burn-cd-r-nonroot.trace"}
# Polling whose count depends on timing (TEST UNIT READY, GET EVENT STATUS,
# READ BUFFER CAPACITY, READ TRACK INFORMATION for progress) and the number of
# WRITEs (their size is the burner's choice) are not compared.
POLLING = {"00", "4a", "5c", "52", "2a"}
LIST_FIELDS = ("path", "type", "size", "sha256")

# (drive index, profile, disc name); /dev/srN is the N-th --sim-drive.
# CDs get a write speed (40x), except wodim's: a disc without one ("as fast
# as the host sends") once reported 0 kB/s in page 2Ah and wodim divided by
# it after fixating (SIGFPE); the page now reports the medium's nominal
# speed, and wodim's burn is the test of that.
DISCS = [(0, "cd-r", "wodim-cdr"), (1, "dvd+rw", "growisofs-dvdprw"),
         (2, "bd-r", "xorriso-bdr"), (3, "cd-rw", "cdrskin-cdrw"),
         (4, "dvd-r", "growisofs-dvdr"), (5, "cd-r", "burn-cd"),
         (6, "cd-rw", "cdrskin-tao"), (7, "cd-r", "fault-opc"),
         (8, "cd-r", "fault-medium"), (9, "cd-r", "nonroot-burn"),
         (10, "cd-r", "nonroot-wodim")]
FAULTS = {"fault-opc": "power_calibration=1", "fault-medium": "medium_error_at=100"}
NOBODY, CDROM_GID = 65534, 24

SCRIPT = r'''
W={work}
cd {repo}
py="$VM_PYTHON"
run() {{ name=$1; shift; echo "== $name"; "$@" > $W/out/$name.log 2>&1; echo "rc=$?"; }}
traced() {{    # traced N NAME CMD...: run, keeping the CDBs drive N got meanwhile
    n=$1; shift
    eval "t=\$T$n"
    before=$(wc -l < "$t")
    run "$@"
    tail -n +$((before + 1)) "$t" > $W/out/$1.trace
}}
listing() {{ "$py" tools/treelisting.py "$1" > $W/out/$2.list 2>&1; }}
mkdir -p $W/out
{traces}
echo "== python"; "$py" -c 'import sys; print(sys.prefix)'
run scanbus wodim -scanbus
run checkdrive wodim -checkdrive dev=/dev/sr0
run atip wodim -atip dev=/dev/sr0
run cdrskin-devices cdrskin --devices
run burn-list "$py" -m burner.cli --list --json
traced 0 wodim-cdr wodim -v dev=/dev/sr0 -data $W/img.iso
traced 1 growisofs-dvdprw growisofs -Z /dev/sr1=$W/img.iso
traced 2 xorriso-bdr xorriso -outdev /dev/sr2 -map $W/src / -commit
run cdrskin-cdrw cdrskin -v dev=/dev/sr3 -multi $W/img.iso
traced 6 cdrskin-cdrw-tao cdrskin -v -tao dev=/dev/sr6 -multi $W/img.iso
run msinfo wodim -msinfo dev=/dev/sr6
traced 4 growisofs-dvdr growisofs -Z /dev/sr4 -R -J $W/src
run growisofs-dvdr-M growisofs -M /dev/sr4 -R -J $W/src2
traced 5 burn-cd-1 "$py" -m burner.cli --device /dev/sr5 --multi $W/img.iso
run burn-cd-2 "$py" -m burner.cli --device /dev/sr5 --multi $W/img2.iso
traced 7 fault-opc wodim -v dev=/dev/sr7 -data $W/img.iso
traced 8 fault-medium cdrskin -v -tao dev=/dev/sr8 $W/img.iso
# a user in group cdrom, /dev/srN root:cdrom 0660; the image comes on stdin
# (the work folder is root's)
# as Debian's udev rules leave every CD drive's sr and sg node (wodim's
# libscg opens the sg nodes too)
chown root:cdrom /dev/sr* /dev/sg*; chmod 0660 /dev/sr* /dev/sg*
asuser() {{ setpriv --reuid={nobody} --regid={nobody} --groups={cdrom} "$@" < $W/img.iso; }}
run nonroot-id asuser id
traced 9 nonroot-burn asuser "$py" -m burner.cli --device /dev/sr9 -
# wodim as that user: a FIFO it may lock (fs=2m below RLIMIT_MEMLOCK), the
# image where the user may read it
cp $W/img.iso /tmp/img-user.iso; chmod 0644 /tmp/img-user.iso
traced 10 nonroot-wodim asuser wodim -v fs=2m dev=/dev/sr10 -data /tmp/img-user.iso
for n in 0 2 6; do
    mkdir -p /tmp/k$n
    # eject and load (CDROMEJECT, CDROMCLOSETRAY) as a user would after a
    # burn through sg: the unit attention makes sr read the new capacity
    "$py" -c "$SR_RELOAD" /dev/sr$n
    run mount-k$n mount -t iso9660 -o ro /dev/sr$n /tmp/k$n && listing /tmp/k$n k$n
    umount /tmp/k$n 2>/dev/null
done
i=0
for img in {images}; do
    mkdir -p /tmp/f$i
    run mount-f$i "$py" -m isofuse.cli.main mount "$img" /tmp/f$i && listing /tmp/f$i f$i
    fusermount3 -u /tmp/f$i 2>/dev/null
    i=$((i + 1))
done
echo "== done"
'''


def _rc(out, name):
    part = out.split("== %s\n" % name, 1)[1]
    return int(part.split("rc=", 1)[1].split("\n", 1)[0])


def _project(lines, fields=treelisting.FIELDS):
    idx = [fields.index(f) for f in LIST_FIELDS]
    return sorted("\t".join(line.split("\t")[i] for i in idx)
                  for line in lines if line.strip())


def _burn_on_sim(disc, iso):
    return subprocess.run([sys.executable, "-m", "burner.cli", "--device",
                           "sim:" + disc, "--multi", iso], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode


def _speed(profile, name=None):
    if name in ("wodim-cdr", "nonroot-wodim"):
        return []                    # no throttle: page 2Ah's nominal speed
    return ["--speed", str(CD_SPEED_KBS)] if profile.startswith("cd") else []


def _venv(base):
    """A virtualenv below /tmp whose Python sees the project (the editable
    install lives in the base interpreter's site-packages)."""
    path = os.path.join(base, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                    "--without-pip", path], check=True)
    return os.path.join(path, "bin", "python")


@pytest.fixture(scope="module")
def guest(vm_setup):
    """All burns of this module in one boot; returns what the checks need."""
    # not below pytest's basetemp: other pytest sessions on this machine
    # remove all but their three newest, also while this one still runs
    base = tempfile.mkdtemp(prefix="isofuse-tcmu-")
    try:
        yield _boot_and_burn(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _boot_and_burn(base):
    work = os.path.join(base, "work")
    os.makedirs(work)
    assert work.startswith("/tmp/"), work      # the guest hides it: shared
    venv_python = _venv(os.path.join(base, "venv-base"))
    src = os.path.join(work, "src")
    os.makedirs(src)
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("hello through TCMU\n")
    with open(os.path.join(src, "data.bin"), "wb") as f:
        f.write(hashlib.sha256(b"tcmu").digest() * 9000)
    src2 = os.path.join(work, "src2")
    os.makedirs(os.path.join(src2, "more"))
    with open(os.path.join(src2, "more", "second.txt"), "w") as f:
        f.write("second session\n")
    make_iso(src, os.path.join(work, "img.iso"), "-R", "-J")
    discs = {}
    for index, profile, name in DISCS:
        path = os.path.join(work, "discs", name + ".img")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fault = ["--fault", FAULTS[name]] if name in FAULTS else []
        subprocess.run([sys.executable, "-m", "burner.simtool", "create", path,
                        "--profile", profile] + _speed(profile, name) + fault, check=True,
                       cwd=REPO, stdout=subprocess.DEVNULL)
        discs[name] = path
    # the same isofuse-burn runs on sim:PATH directly, for comparison
    host_cd = os.path.join(work, "host-cd.img")
    subprocess.run([sys.executable, "-m", "burner.simtool", "create", host_cd,
                    "--profile", "cd-r"] + _speed("cd-r"), check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    host_rc = [_burn_on_sim(host_cd, os.path.join(work, "img.iso"))]
    # the second session is mastered for where the first left off
    msinfo = subprocess.run([sys.executable, "-m", "burner.cli", "--device",
                             "sim:" + host_cd, "--msinfo"], cwd=REPO, check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    make_iso(src2, os.path.join(work, "img2.iso"), "-R", "-J", "-C", msinfo,
             "-M", host_cd)
    host_rc.append(_burn_on_sim(host_cd, os.path.join(work, "img2.iso")))
    mounted = [discs["wodim-cdr"], discs["xorriso-bdr"], discs["cdrskin-tao"],
               discs["burn-cd"]]
    traces = "\n".join("T%d=%s" % (index, discs[name] + ".cdb-trace")
                       for index, _, name in DISCS)
    script = SCRIPT.format(work=work, repo=REPO, images=" ".join(mounted),
                           traces=traces, nobody=NOBODY, cdrom=CDROM_GID)
    argv = [venv_python, VM_SCRIPT, "run", "--timeout", "600", "--share", work,
            "--sim-trace", "--env", "SR_RELOAD=" + SR_RELOAD]
    for _, _, name in DISCS:
        argv += ["--sim-drive", discs[name]]
    proc = subprocess.run(argv + ["--", script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=700)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "== done" in proc.stdout, proc.stdout[-3000:]

    def log(name):
        with open(os.path.join(work, "out", name + ".log")) as f:
            return f.read()

    if os.environ.get(UPDATE_REFERENCE):
        os.makedirs(REFERENCE_DIR, exist_ok=True)
        for name, ref in REFERENCES.items():
            shutil.copyfile(os.path.join(work, "out", name + ".trace"),
                            os.path.join(REFERENCE_DIR, ref))

    def guest_listing(name):
        with open(os.path.join(work, "out", name + ".list")) as f:
            return _project(f.read().splitlines())

    return {"out": proc.stdout, "log": log, "listing": guest_listing, "work": work,
            "discs": discs, "host_cd": host_cd, "host_rc": host_rc, "src": src,
            "venv": os.path.dirname(os.path.dirname(venv_python))}


def _source_listing(root):
    return _project(treelisting.format_rows(treelisting.listing(root)))


@pytest.mark.vm
@pytest.mark.slow
def test_venv_python_below_tmp_runs_in_guest(guest):
    """The guest ran the venv's Python (it is the handler's too)."""
    out = guest["out"].split("== python\n", 1)[1].split("\n", 1)[0]
    assert out == guest["venv"]


@pytest.mark.vm
@pytest.mark.slow
def test_wodim_and_cdrskin_see_the_drive(guest):
    log = guest["log"]
    assert "'ISOFUSE ' 'SIM BD WRITER   '" in log("scanbus")
    assert "Removable CD-ROM" in log("scanbus")
    check = log("checkdrive")
    # an MMC writer, not "Generic CD-ROM": page 2Ah was understood
    assert "mmc_cdr" in check and "Supported modes: TAO" in check, check
    assert "ATIP start of lead in" in log("atip")
    assert "dev='/dev/sr0'" in log("cdrskin-devices")
    assert "(%d found)" % len(DISCS) in log("cdrskin-devices")
    for name in ("scanbus", "checkdrive", "atip", "cdrskin-devices"):
        assert _rc(guest["out"], name) == 0, log(name)


@pytest.mark.vm
@pytest.mark.slow
def test_isofuse_burn_lists_the_kernel_drives(guest):
    assert _rc(guest["out"], "burn-list") == 0
    rows = {r["device"]: r for r in json.loads(guest["log"]("burn-list"))}
    for index, profile, _ in DISCS:
        row = rows["/dev/sr%d" % index]
        assert row["mmc"] and row["vendor"] == "ISOFUSE", row
        assert row["can_write"] is True and row["medium"] is True, row


@pytest.mark.vm
@pytest.mark.slow
@pytest.mark.parametrize("burn,drive", [("wodim-cdr", 0), ("xorriso-bdr", 2),
                                        ("cdrskin-cdrw-tao", 6)])
def test_real_burner_writes_what_kernel_and_isofuse_read(guest, burn, drive):
    assert _rc(guest["out"], burn) == 0, guest["log"](burn)
    want = _source_listing(guest["src"])
    assert guest["listing"]("k%d" % drive) == want          # the guest's isofs
    mounted = {0: 0, 2: 1, 6: 2}[drive]
    assert guest["listing"]("f%d" % mounted) == want        # isofuse on the sim file


@pytest.mark.vm
@pytest.mark.slow
def test_cdrskin_multi_left_the_cd_rw_appendable(guest):
    msinfo = guest["log"]("msinfo").strip().splitlines()[-1]
    start, nxt = (int(x) for x in msinfo.split(","))
    assert start == 0 and nxt > os.path.getsize(
        os.path.join(guest["work"], "img.iso")) // 2048


@pytest.mark.vm
@pytest.mark.slow
def test_isofuse_burn_through_sr_equals_sim_path(guest):
    """CD TAO multisession through /dev/sr5 and on sim:PATH directly: the
    same disc bytes and the same track layout."""
    assert _rc(guest["out"], "burn-cd-1") == 0, guest["log"]("burn-cd-1")
    assert _rc(guest["out"], "burn-cd-2") == 0, guest["log"]("burn-cd-2")
    assert guest["host_rc"] == [0, 0]
    via_kernel, direct = guest["discs"]["burn-cd"], guest["host_cd"]
    with open(via_kernel, "rb") as a, open(direct, "rb") as b:
        assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()

    def layout(path):
        state = json.loads(open(path + ".state.json").read().split("\n", 1)[1])
        return {k: state[k] for k in ("tracks", "nwa", "status", "closed_sessions")}
    assert layout(via_kernel) == layout(direct)
    assert len(layout(direct)["tracks"]) == 2
    # the newest session holds both sessions' files (img2 was made with -M)
    names = [line.split("\t")[0] for line in guest["listing"]("f3")]
    assert names == ["data.bin", "hello.txt", "more", "more/second.txt"], names


def _completed(guest, name):
    assert _rc(guest["out"], name) == 0, guest["log"](name)


@pytest.mark.vm
@pytest.mark.slow
def test_cdrskin_multi_default_mode_on_cd_rw(guest):
    """cdrskin picks SAO for "-multi IMG" on a blank CD-RW (SEND CUE SHEET)."""
    _completed(guest, "cdrskin-cdrw")
    assert "real SAO mode" in guest["log"]("cdrskin-cdrw")


@pytest.mark.vm
@pytest.mark.slow
def test_growisofs_on_dvd_r(guest):
    """-Z with a fixed-packet page 05h, then -M after growisofs's tray reload."""
    _completed(guest, "growisofs-dvdr")
    _completed(guest, "growisofs-dvdr-M")


@pytest.mark.vm
@pytest.mark.slow
def test_growisofs_wrote_the_dvd_plus_rw(guest):
    """The image is on the disc byte for byte and growisofs got to its end
    (the tray reload after it: see the module doc)."""
    with open(os.path.join(guest["work"], "img.iso"), "rb") as f:
        want = f.read()
    with open(guest["discs"]["growisofs-dvdprw"], "rb") as f:
        assert f.read(len(want)) == want
    assert "writing lead-out" in guest["log"]("growisofs-dvdprw")


@pytest.mark.vm
@pytest.mark.slow
def test_growisofs_dvd_plus_rw_exit_status(guest):
    """growisofs reloads the tray after the burn and exits 0."""
    _completed(guest, "growisofs-dvdprw")


@pytest.mark.vm
@pytest.mark.slow
def test_handler_traced_every_cdb(guest):
    trace = open(guest["discs"]["wodim-cdr"] + ".cdb-trace").read().splitlines()
    ops = {line.split()[0] for line in trace}
    # INQUIRY, GET CONFIGURATION, MODE SENSE(10), WRITE(10), SYNCHRONIZE CACHE,
    # CLOSE TRACK/SESSION: what a TAO burn cannot do without
    assert {"12", "46", "5a", "2a", "35", "5b"} <= ops, sorted(ops)
    assert all(len(line.split(" | ")) >= 3 for line in trace)


def _opcodes(lines):
    """The CDB opcode sequence without polling, repeats collapsed."""
    out = []
    for line in lines:
        op = line.split()[0] if line.strip() else None
        if op and op not in POLLING and (not out or out[-1] != op):
            out.append(op)
    return out


@pytest.mark.vm
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_burners_send_the_reference_cdb_sequence(guest, name):
    """What each burner sends is what tests/data/tcmu-cdb keeps (so a change
    in the simulator's answers that changes a burner's behaviour shows)."""
    with open(os.path.join(guest["work"], "out", name + ".trace")) as f:
        got = _opcodes(f.read().splitlines())
    with open(os.path.join(REFERENCE_DIR, REFERENCES[name])) as f:
        want = _opcodes(f.read().splitlines())
    assert got and got == want


@pytest.mark.vm
@pytest.mark.slow
@pytest.mark.parametrize("name,burner,symptom", [
    ("fault-opc", "wodim", "Sense Code: 0x73 Qual 0x03"),
    ("fault-medium", "cdrskin", "[3 0C 00]")])
def test_injected_fault_fails_the_real_burner(guest, name, burner, symptom):
    """Power calibration (3/73/03) and a write error (3/0C/00) injected in
    the simulator: the real burners report a failure, as from a drive."""
    log = guest["log"](name)
    assert _rc(guest["out"], name) != 0, log
    assert symptom in log, log


@pytest.mark.vm
@pytest.mark.slow
@pytest.mark.parametrize("name", ["nonroot-burn"])
def test_non_root_in_group_cdrom_burns(guest, name):
    """uid nobody with group cdrom, /dev/srN root:cdrom 0660: the kernel's
    command filter lets the burn through; the disc holds the image."""
    ident = guest["log"]("nonroot-id")
    assert "uid=%d" % NOBODY in ident and "(cdrom)" in ident, ident
    assert _rc(guest["out"], name) == 0, guest["log"](name)
    with open(os.path.join(guest["work"], "img.iso"), "rb") as f:
        want = f.read()
    with open(guest["discs"][name], "rb") as f:
        assert f.read(len(want)) == want



@pytest.mark.vm
@pytest.mark.slow
def test_non_root_wodim_burns_on_the_eleventh_drive(guest):
    """wodim as uid nobody in group cdrom on /dev/sr10.  It once stopped with
    "Permission denied. Cannot open SCSI driver!" on the ninth and tenth
    drive: they were LUNs 8 and 9 of one tcm_loop target, and libusal keeps
    8 LUNs per target.  Each drive is now LUN 0 of its own target, as a real
    drive is (docs/tcmu.md).

    The kernel's SCSI command filter (scsi_cmd_allowed: a list of commands a
    user without CAP_SYS_RAWIO may send on a read-write open) let through
    every command wodim sent as root to the same kind of disc (/dev/sr0)
    but REZERO UNIT (01h), which is not on that list; wodim goes on without
    it (the simulator refuses it anyway, 5/20/00)."""
    log = guest["log"]("nonroot-wodim")
    assert _rc(guest["out"], "nonroot-wodim") == 0, log
    assert "Cannot open SCSI driver" not in log
    with open(os.path.join(guest["work"], "img.iso"), "rb") as f:
        want = f.read()
    with open(guest["discs"]["nonroot-wodim"], "rb") as f:
        assert f.read(len(want)) == want
    traces = {}
    for name in ("wodim-cdr", "nonroot-wodim"):
        with open(os.path.join(guest["work"], "out", name + ".trace")) as f:
            traces[name] = f.read().splitlines()
    rezero = [line for line in traces["wodim-cdr"] if line.startswith("01 ")]
    assert rezero and not any(line.startswith("01 ") for line in traces["nonroot-wodim"])
    as_root = [line for line in traces["wodim-cdr"] if line not in rezero]
    assert _opcodes(traces["nonroot-wodim"]) == _opcodes(as_root)
