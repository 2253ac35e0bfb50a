"""isofuse-burn's burn paths through the kernel: the simulated drive served
as a real SCSI LUN (LIO + TCMU + tcm_loop, burner/tcmu.py, docs/tcmu.md),
isofuse-burn talking to /dev/srN over SG_IO, all in ONE tools/vm guest.

Every path is checked with something we did not write: the guest kernel's
isofs mounting /dev/srN (after the eject/load a user does after a burn)
and the files compared with the source, the kernel's sr driver reading the
disc back (dd) and compared with the image, xorriso -toc / -list_formats and
cdrskin -minfo reading the medium's state.  And each path's disc is the
same, byte for byte and track for track, as the same commands give on
sim:PATH directly, without the kernel.

Paths: DVD-R, DVD+RW growing (two sessions on overwritable media), BD-R,
blanking a CD-RW (fast) and a DVD-RW (all), formatting a DVD+RW and a BD-RE,
--verify (and a silently corrupted sector that --verify and the kernel's
read both see), copying a disc to an image and to another disc.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_support import (REPO, TOOLS, make_iso,  # noqa: E402,F401
                        no_guest_left_behind, run_sim_guest, vm_setup)

sys.path.insert(0, TOOLS)
import treelisting  # noqa: E402

pytestmark = [pytest.mark.vm, pytest.mark.slow,
              pytest.mark.timeout(900)]      # the module's one boot: ~2-4 min

# name -> (profile, simtool create options); /dev/srN is the N-th
DRIVES = [("dvd-r", "dvd-r", []), ("grow", "dvd+rw", []), ("bd-r", "bd-r", []),
          ("blank-cd", "cd-rw", []), ("blank-dvd", "dvd-rw", []),
          ("format-dvd", "dvd+rw", ["--unformatted"]),
          ("format-bd", "bd-re", ["--unformatted"]),
          # not a CD: READ CAPACITY of a TAO CD counts its two run-out blocks,
          # which no drive reads (3/11/00), and sr's read-ahead into them makes
          # it cut the capacity to below the image (docs/tcmu.md)
          ("verify", "dvd+r", []), ("corrupt", "dvd+r", ["--fault", "corrupt_at=20"]),
          ("pressed", "dvd-rom", ["--image", "{img}"]), ("copy", "bd-r", [])]
DEV = {name: "/dev/sr%d" % i for i, (name, _, _) in enumerate(DRIVES)}
LIST_FIELDS = ("path", "type", "size", "sha256")

# Each step: (name, isofuse-burn arguments); {dev:NAME} is the drive's
# node in the guest and sim:PATH on the host, {W} the work folder.
BURNS = [
    ("dvd-r", ["--device", "{dev:dvd-r}", "{W}/img.iso"]),
    ("grow-1", ["--device", "{dev:grow}", "--multi", "{W}/src"]),
    ("grow-2", ["--device", "{dev:grow}", "--multi", "--add", "{W}/src2"]),
    ("bd-r", ["--device", "{dev:bd-r}", "{W}/img.iso"]),
    ("blank-cd-burn", ["--device", "{dev:blank-cd}", "{W}/img.iso"]),
    ("blank-cd", ["--device", "{dev:blank-cd}", "--blank", "fast", "--yes"]),
    ("blank-dvd-burn", ["--device", "{dev:blank-dvd}", "--multi", "{W}/img.iso"]),
    ("blank-dvd", ["--device", "{dev:blank-dvd}", "--blank", "all", "--yes"]),
    ("format-dvd", ["--device", "{dev:format-dvd}", "--format", "--yes"]),
    ("format-bd", ["--device", "{dev:format-bd}", "--format", "quick", "--yes"]),
    ("verify", ["--device", "{dev:verify}", "--verify", "{W}/img.iso"]),
    ("corrupt", ["--device", "{dev:corrupt}", "--verify", "{W}/img.iso"]),
    ("copy-image", ["-q", "--image-out", "{W}/out/copy.iso", "{dev:pressed}"]),
    ("copy-disc", ["--device", "{dev:copy}", "--verify", "{dev:pressed}"]),
]
# (name, what): the external checks in the guest, after the burns.
MOUNTS = ["dvd-r", "grow", "bd-r", "copy"]
TOCS = ["dvd-r", "grow", "bd-r", "copy"]          # xorriso -indev DEV -toc
BLANK_STATES = ["blank-cd", "blank-dvd"]          # cdrskin -minfo, xorriso -toc
FORMATS = ["format-dvd", "format-bd"]             # xorriso -list_formats
READ_BACK = ["verify", "corrupt", "copy"]         # dd from sr

SCRIPT = r'''
W={work}
cd {repo}
py="$VM_PYTHON"
run() {{ step=$1; shift; echo "== $step"; "$@" > $W/out/$step.log 2>&1; echo "rc=$?"; }}
reload() {{ "$py" -c "$SR_RELOAD" "$1"; }}
mkdir -p $W/out
echo "== devfd"; echo through-dev-fd | cat /dev/fd/0
{burns}
# each loop over DISC=DEVICE pairs
for pair in {mounts}; do
    disc=${{pair%%=*}}; dev=${{pair#*=}}
    reload $dev; mkdir -p /tmp/m-$disc
    run mount-$disc mount -t iso9660 -o ro $dev /tmp/m-$disc &&
        "$py" tools/treelisting.py /tmp/m-$disc > $W/out/$disc.list
    umount /tmp/m-$disc
done
for pair in {tocs}; do
    disc=${{pair%%=*}}; dev=${{pair#*=}}
    run toc-$disc xorriso -indev $dev -toc
done
for pair in {blanks}; do
    disc=${{pair%%=*}}; dev=${{pair#*=}}
    run minfo-$disc cdrskin dev=$dev -minfo
    run outtoc-$disc xorriso -outdev $dev -toc
done
run atip-wodim wodim dev={atip} -atip
run atip-cdrskin cdrskin dev={atip} -atip
for pair in {formats}; do
    disc=${{pair%%=*}}; dev=${{pair#*=}}
    run formats-$disc xorriso -outdev $dev -list_formats
done
for pair in {readback}; do
    disc=${{pair%%=*}}; dev=${{pair#*=}}
    reload $dev
    run read-$disc dd if=$dev of=$W/out/read-$disc.bin bs=2048 count={sectors}
done
echo "== done"
'''


def _sim(work, name):
    return os.path.join(work, "discs", name + ".img")


def _expand(args, work, device):
    """{W} and {dev:NAME} of a BURNS step; device(name) gives the drive."""
    out = []
    for arg in args:
        arg = arg.replace("{W}", work)
        if arg.startswith("{dev:"):
            arg = device(arg[5:-1])
        out.append(arg)
    return out


def _create_discs(root, img):
    for name, profile, options in DRIVES:
        path = _sim(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([sys.executable, "-m", "burner.simtool", "create", path,
                        "--profile", profile] + [o.format(img=img) for o in options],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)


def _trees(work):
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "dir"))
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("hello through /dev/sr\n")
    with open(os.path.join(src, "dir", "data.bin"), "wb") as f:
        f.write(hashlib.sha256(b"paths").digest() * 20000)      # 640 KB
    src2 = os.path.join(work, "src2")
    os.makedirs(os.path.join(src2, "more"))
    with open(os.path.join(src2, "more", "second.txt"), "w") as f:
        f.write("second session\n")
    return src, src2


def _on_host(work):
    """The same burns on sim:PATH directly (their own copies of the discs,
    below work/host): {step: exit status}."""
    host = os.path.join(work, "host")
    _create_discs(host, os.path.join(work, "img.iso"))
    codes = {}
    for step, args in BURNS:
        argv = _expand(args, work, lambda name: "sim:" + _sim(host, name))
        argv = [a.replace(os.path.join(work, "out"), host) for a in argv]
        codes[step] = subprocess.run([sys.executable, "-m", "burner.cli"] + argv,
                                     cwd=REPO, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).returncode
    return host, codes


def _pairs(names):
    return " ".join("%s=%s" % (n, DEV[n]) for n in names)


@pytest.fixture(scope="module")
def guest(vm_setup):
    """All paths in one boot (the guest always powers off: run_in_guest
    kills QEMU on any way out); returns what the checks need."""
    # not below pytest's basetemp: other pytest sessions on this machine
    # remove all but their three newest, also while this one still runs
    work = tempfile.mkdtemp(prefix="isofuse-tcmu-paths-")
    try:
        yield _boot_and_burn(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _boot_and_burn(work):
    src, src2 = _trees(work)
    img = make_iso(src, os.path.join(work, "img.iso"), "-R", "-J")
    _create_discs(work, img)
    host, host_codes = _on_host(work)
    burns = "\n".join(
        "run %s \"$py\" -m burner.cli %s" % (step, " ".join(
            _expand(args, work, lambda name: DEV[name]))) for step, args in BURNS)
    script = SCRIPT.format(work=work, repo=REPO, burns=burns, mounts=_pairs(MOUNTS),
                           tocs=_pairs(TOCS), blanks=_pairs(BLANK_STATES),
                           formats=_pairs(FORMATS), readback=_pairs(READ_BACK),
                           atip=DEV["blank-cd"],
                           sectors=os.path.getsize(img) // 2048)
    result = run_sim_guest(script, [_sim(work, name) for name, _, _ in DRIVES],
                           share=[work], timeout=700)
    print(result.stdout, result.stderr[-3000:])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "== done" in result.stdout, result.stdout[-3000:]
    return {"out": result.stdout, "work": work, "src": src, "src2": src2, "img": img,
            "host": host, "host_codes": host_codes}


def _section(out, name):
    return out.split("== %s\n" % name, 1)[1].split("\n== ", 1)[0]


def _rc(guest, name):
    return int(_section(guest["out"], name).split("rc=", 1)[1].split("\n", 1)[0])


def _log(guest, name):
    with open(os.path.join(guest["work"], "out", name + ".log")) as f:
        return f.read()


def _ok(guest, name):
    assert _rc(guest, name) == 0, _log(guest, name)


def _project(lines):
    idx = [treelisting.FIELDS.index(f) for f in LIST_FIELDS]
    return sorted("\t".join(line.split("\t")[i] for i in idx)
                  for line in lines if line.strip())


def _kernel_listing(guest, name):
    _ok(guest, "mount-" + name)
    with open(os.path.join(guest["work"], "out", name + ".list")) as f:
        return _project(f.read().splitlines())


def _source_listing(*roots):
    rows = []
    for root in roots:
        rows += treelisting.format_rows(treelisting.listing(root))
    return _project(rows)


def _sha(path, limit=None):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(limit) if limit else f.read()).hexdigest()


def _layout(path):
    """The sim's state of the medium (tracks, sessions, format): what the
    drive would report."""
    with open(path + ".state.json") as f:
        state = json.loads(f.read().split("\n", 1)[1])
    return {k: state.get(k) for k in ("tracks", "nwa", "status", "closed_sessions",
                                      "recorded_end", "formatted")}


def _same_as_on_host(guest, name, contents=True):
    """The disc made through the kernel is the one sim:PATH made."""
    via_kernel, direct = _sim(guest["work"], name), _sim(guest["host"], name)
    assert _layout(via_kernel) == _layout(direct)
    if contents:
        assert _sha(via_kernel) == _sha(direct)


def test_the_guest_has_dev_fd(guest):
    assert _section(guest["out"], "devfd").strip() == "through-dev-fd"


def test_dvd_r(guest):
    _ok(guest, "dvd-r")
    assert guest["host_codes"]["dvd-r"] == 0
    assert _kernel_listing(guest, "dvd-r") == _source_listing(guest["src"])
    toc = _log(guest, "toc-dvd-r")
    assert "Media current: DVD-R sequential recording" in toc, toc
    assert "is written , is closed" in toc, toc
    _same_as_on_host(guest, "dvd-r")


def test_dvd_plus_rw_grows_a_second_session(guest):
    _ok(guest, "grow-1")
    _ok(guest, "grow-2")
    assert guest["host_codes"]["grow-1"] == guest["host_codes"]["grow-2"] == 0
    # the kernel mounts the newest session, which names the files of both
    # (their contents: the next test)
    names = [line.split("\t")[:3] for line in _kernel_listing(guest, "grow")]
    want = [line.split("\t")[:3] for line in _source_listing(guest["src"],
                                                             guest["src2"])]
    assert names == want
    toc = _log(guest, "toc-grow")
    assert "Media current: DVD+RW" in toc, toc
    # the same tracks on the host (the bytes differ: the sessions are
    # mastered from folders, with the time of mastering in them)
    _same_as_on_host(guest, "grow", contents=False)


def test_dvd_plus_rw_growing_keeps_the_first_sessions_files(guest):
    """The kernel reads every file of both sessions as written: growing put
    the new descriptors over the start of sectors 16-31 and kept the first
    session's data behind them (docs/burner-mmc.md)."""
    assert _kernel_listing(guest, "grow") == _source_listing(guest["src"],
                                                             guest["src2"])


def test_bd_r(guest):
    _ok(guest, "bd-r")
    assert guest["host_codes"]["bd-r"] == 0
    assert _kernel_listing(guest, "bd-r") == _source_listing(guest["src"])
    toc = _log(guest, "toc-bd-r")
    assert "Media current: BD-R sequential recording" in toc, toc
    assert "is written , is closed" in toc, toc
    _same_as_on_host(guest, "bd-r")


@pytest.mark.parametrize("name,profile", [("blank-cd", "CD-RW"), ("blank-dvd", "DVD-RW")])
def test_blank(guest, name, profile):
    _ok(guest, name + "-burn")
    _ok(guest, name)
    assert guest["host_codes"][name] == 0
    minfo = _log(guest, "minfo-" + name)
    assert "disk status:" in minfo and "empty" in minfo.split("disk status:", 1)[1]\
        .split("\n", 1)[0], minfo
    toc = _log(guest, "outtoc-" + name)
    assert "Media current: " + profile in toc and "is blank" in toc, toc
    _same_as_on_host(guest, name)


def test_cdrskin_sees_the_cd_rw_as_erasable(guest):
    """READ TOC/PMA/ATIP format 0100b (MMC-6 §6.26.2.6): the ATIP's Disc Type
    bit (byte 6 bit 6) says CD-RW (docs/simulated-drive.md)."""
    minfo = _log(guest, "minfo-blank-cd")
    assert "Mounted media type:       CD-RW" in minfo, minfo
    assert "Disk Is erasable" in minfo, minfo


def test_wodim_and_cdrskin_read_the_atip(guest):
    """wodim -atip and cdrskin -atip print the sim's ATIP: the start of
    lead-in 97:26:66 (LBA -11634), the last possible start of lead-out at
    the disc's capacity (360000 sectors: 80:02:00), and erasable."""
    for tool in ("wodim", "cdrskin"):
        _ok(guest, "atip-" + tool)
        text = _log(guest, "atip-" + tool)
        assert "Is erasable" in text, text
        assert re.search(r"ATIP start of lead in:\s+-11634 \(97:26/66\)", text), text
    text = _log(guest, "atip-wodim")
    assert re.search(r"ATIP start of lead out:\s+360000 \(80:02/00\)", text), text


@pytest.mark.parametrize("name", FORMATS)
def test_format(guest, name):
    _ok(guest, name)
    assert guest["host_codes"][name] == 0
    formats = _log(guest, "formats-" + name)
    assert "Format status: formatted" in formats, formats
    _same_as_on_host(guest, name)


def _read_back(guest, name):
    """What the kernel's sr read from the disc (as many sectors as the image)."""
    _ok(guest, "read-" + name)
    with open(os.path.join(guest["work"], "out", "read-%s.bin" % name), "rb") as f:
        return f.read()


def _image(guest):
    with open(guest["img"], "rb") as f:
        return f.read()


def test_verify_reads_back_what_the_kernel_reads(guest):
    _ok(guest, "verify")
    assert "verified" in _log(guest, "verify")
    assert _read_back(guest, "verify") == _image(guest)
    _same_as_on_host(guest, "verify")


def test_verify_finds_the_sector_the_drive_stored_wrong(guest):
    """corrupt_at=20: the drive stores LBA 20 with one byte flipped and says
    nothing; --verify fails (14) naming it, and the kernel reads exactly
    that sector differently."""
    assert _rc(guest, "corrupt") == 14, _log(guest, "corrupt")
    assert "sector 20 " in _log(guest, "corrupt")
    assert guest["host_codes"]["corrupt"] == 14
    got, want = _read_back(guest, "corrupt"), _image(guest)
    assert len(got) == len(want)
    differing = [i for i in range(len(want) // 2048)
                 if got[i * 2048:(i + 1) * 2048] != want[i * 2048:(i + 1) * 2048]]
    assert differing == [20]


def test_copy_disc_to_image(guest):
    _ok(guest, "copy-image")
    assert _sha(os.path.join(guest["work"], "out", "copy.iso")) == _sha(guest["img"])
    assert guest["host_codes"]["copy-image"] == 0
    assert _sha(os.path.join(guest["host"], "copy.iso")) == _sha(guest["img"])


def test_copy_disc_to_disc(guest):
    _ok(guest, "copy-disc")
    assert "verified" in _log(guest, "copy-disc")
    assert _kernel_listing(guest, "copy") == _source_listing(guest["src"])
    assert _read_back(guest, "copy") == _image(guest)
    toc = _log(guest, "toc-copy")
    assert "Media current: BD-R sequential recording" in toc, toc
    _same_as_on_host(guest, "copy")
