"""isofuse-burn's cdrecord dialect (cdrecord, wodim, xorrecord, cdrskin):
real command lines replayed against the simulated drive, the disc checked
afterwards with tools we did not write (xorriso reads each session, the
image bytes are compared), and every refusal shown to write nothing.

Where each command line comes from is said at its test.  The parsers the
printed reports are checked against (see also burner/dialects/reports.py):

* K3b, libk3b/tools/k3bmsinfofetcher.cpp MsInfoFetcher::slotProcessExited:
  the first line of stdout split at ',' into two integers;
* mkisofs/genisoimage/xorrisofs -C START,NEXT (the same text);
* Brasero, plugins/cdrtools/burn-cdrecord.c brasero_cdrecord_stdout_read:
  "Last chance to quit, " (the countdown), "Disk sub type: Ultra High speed+"
  (must not appear);
* shell scripts: ``wodim -atip | grep -q "Disk type"`` (a disc is in the
  drive), ``grep "Is erasable"``, ``awk`` on "ATIP start of lead out";
* K3b, libk3b/core/k3bdefaultexternalprograms.cpp K3bCdrecordProgram::scan:
  ``cdrecord -version`` must contain "Cdrecord" (wodim: "Wodim") followed by
  a version of 2.0 or more, and ``-help`` must mention gracetime, -overburn
  and -tao for K3b to use them.
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys

import pytest

from burner import cli, cli_common, errors, recorder
from burner.dialects import DialectError, devaddr, guess, hooks, reports, translate
from burner_support import disc_bytes, make_disc, make_tree, run, state

SECTOR = 2048


# ---- helpers ---------------------------------------------------------------------------------
def run_as(program, *args, stdin=None):
    """Run the dialect front end in-process: (exit status, stdout, stderr)."""
    return run(*args, stdin=stdin, program=program)


def run_process_as(program, *args, stdin=None):
    """The same in a process of its own (a real pipe on standard input)."""
    code = f"import sys; from burner.cli import main; sys.exit(main(sys.argv[1:], " \
           f"program={program!r}))"
    return subprocess.run([sys.executable, "-c", code] + [str(a) for a in args], input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def disc_files(path, sbsector=0):
    """The files xorriso sees in the session starting at ``sbsector``."""
    proc = subprocess.run(["xorriso", "-abort_on", "FAILURE", "-indev", f"stdio:{path}",
                           "-load", "sbsector", str(sbsector), "-find", "/", "-type", "f"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    return sorted(line.strip("'") for line in proc.stdout.split())


def untouched(disc):
    """Nothing was written: the disc's state is still blank and its file empty."""
    st = state(disc)
    return st.status == "blank" and not st.tracks and os.path.getsize(disc) == 0


def image_on(disc, image, start=0):
    with open(image, "rb") as f:
        data = f.read()
    return disc_bytes(disc, start, len(data) // SECTOR) == data


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / "tree", {"README.txt": b"dialects\n",
                                         "photos/a.jpg": os.urandom(300_000)})


@pytest.fixture
def image(tmp_path, tree):
    """An image made by genisoimage (not by the project)."""
    out = tmp_path / "cd_image.iso"
    subprocess.run(["genisoimage", "-quiet", "-r", "-J", "-o", str(out), tree], check=True)
    return str(out)


@pytest.fixture
def no_wait(monkeypatch):
    """gracetime= waits for real; the tests count the seconds instead."""
    slept = []
    monkeypatch.setattr(hooks, "sleep", slept.append)
    return slept


# ---- real command lines, replayed ------------------------------------------------------------
def test_cdrecord_man_page_image(tmp_path, image):
    """cdrecord(1)/wodim(1) EXAMPLES and the CD-Writing HOWTO: 'cdrecord -v
    speed=2 dev=2,0 cdimage' (the drive given as sim: here)."""
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", "-v", "speed=2", f"dev=sim:{disc}", image)
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"
    assert disc_files(disc) == ["/README.txt", "/photos/a.jpg"]


def test_cdrecord_man_page_on_the_fly(tmp_path, tree, image):
    """cdrecord(1) EXAMPLES: 'mkisofs -R /master/tree | cdrecord -v fs=6m
    speed=2 dev=2,0 -' (the image on standard input, its size from the ISO)."""
    disc = make_disc(tmp_path, "cd-r")
    with open(image, "rb") as f:
        code, _, err = run_as("cdrecord", "-v", "fs=6m", "speed=2", f"dev=sim:{disc}", "-",
                              stdin=f.read())
    assert code == 0, err
    assert image_on(disc, image)


def test_cdrecord_man_page_blank_fast(tmp_path, image):
    """cdrecord(1) EXAMPLES: 'cdrecord -v dev=2,0 blank=fast' -- no question
    asked: the command line is the confirmation."""
    disc = make_disc(tmp_path, "cd-rw")
    assert run_as("cdrecord", f"dev=sim:{disc}", image)[0] == 0
    assert state(disc).status == "complete"
    code, _, err = run_as("cdrecord", "-v", f"dev=sim:{disc}", "blank=fast")
    assert code == 0, err
    assert state(disc).status == "blank" and not state(disc).tracks


def test_brasero_image_burn(tmp_path, image):
    """Brasero plugins/cdrtools/burn-cdrecord.c (image track): 'cdrecord -v
    dev=DEV gracetime=0 speed=8 driveropts=burnfree fs=16m -data -nopad IMAGE'."""
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", "-v", f"dev=sim:{disc}", "gracetime=0", "speed=8",
                          "driveropts=burnfree", "fs=16m", "-data", "-nopad", image)
    assert code == 0, err
    assert image_on(disc, image)


def test_brasero_on_the_fly_multi(tmp_path, image):
    """Brasero burn-cdrecord.c (from its imager on stdin): 'cdrecord -v dev=DEV
    gracetime=0 -immed minbuf=80 speed=8 -overburn driveropts=burnfree -multi
    fs=4m tsize=Ns -data -nopad -'."""
    disc = make_disc(tmp_path, "cd-r")
    size = os.path.getsize(image)
    with open(image, "rb") as f:
        code, _, err = run_as("wodim", "-v", f"dev=sim:{disc}", "gracetime=0", "-immed",
                              "minbuf=80", "speed=8", "-overburn", "driveropts=burnfree",
                              "-multi", "fs=4m", f"tsize={size // SECTOR}s", "-data", "-nopad",
                              "-", stdin=f.read())
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "appendable"


def test_brasero_dummy_writes_nothing(tmp_path, image):
    """Brasero with "simulate": 'cdrecord -v dev=DEV -dummy gracetime=0
    speed=4 fs=16m -data -nopad IMAGE': a test write records nothing."""
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("cdrecord", "-v", f"dev=sim:{disc}", "-dummy", "gracetime=0",
                          "speed=4", "fs=16m", "-data", "-nopad", image)
    assert code == 0, err
    assert state(disc).status == "blank" and not state(disc).tracks


def test_brasero_blank_all(tmp_path, image):
    """Brasero burn-cdrecord.c brasero_cdrecord_set_argv_blank: 'cdrecord -v
    dev=DEV blank=all'."""
    disc = make_disc(tmp_path, "cd-rw")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    code, _, err = run_as("cdrecord", "-v", f"dev=sim:{disc}", "blank=all")
    assert code == 0, err
    assert state(disc).status == "blank"


def test_k3b_cd_on_the_fly(tmp_path, image, no_wait):
    """K3b CdrecordWriter::prepareProcess + K3bDataJob: 'cdrecord -v
    gracetime=2 dev=DEV speed=24 -tao driveropts=burnfree -data -tsize=Ns -'.
    gracetime=2 is waited (counted here) and the line Brasero watches is
    printed."""
    disc = make_disc(tmp_path, "cd-r")
    size = os.path.getsize(image)
    with open(image, "rb") as f:
        code, out, err = run_as("cdrecord", "-v", "gracetime=2", f"dev=sim:{disc}",
                                "speed=24", "-tao", "driveropts=burnfree", "-data",
                                f"-tsize={size // SECTOR}s", "-", stdin=f.read())
    assert code == 0, err
    assert no_wait == [2]
    assert "Last chance to quit, starting real write in    2 seconds." in out
    assert image_on(disc, image) and state(disc).status == "complete"


def test_k3b_dvd_minus_r_sao(tmp_path, image, no_wait):
    """K3b CdrecordWriter on DVD media ("cdrecord only supports SAO for DVD"):
    'cdrecord -v gracetime=2 dev=DEV speed=4 -sao driveropts=burnfree -data
    IMAGE' -- a blank DVD-R is written disc-at-once and closed."""
    disc = make_disc(tmp_path, "dvd-r")
    code, _, err = run_as("cdrecord", "-v", "gracetime=2", f"dev=sim:{disc}", "speed=4",
                          "-sao", "driveropts=burnfree", "-data", image)
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"


def test_k3b_multisession_cd_with_waiti(tmp_path, tree, image, no_wait):
    """K3b K3bDataJob, multisession "continue" on the fly: 'cdrecord dev=DEV
    -msinfo' for mkisofs -C, then 'cdrecord -v gracetime=2 dev=DEV speed=16
    -tao driveropts=burnfree -multi -waiti -data -tsize=Ns -' fed by the
    mkisofs run (xorrisofs here) that read the disc first."""
    disc = make_disc(tmp_path, "cd-r")
    assert run_as("cdrecord", "-v", "gracetime=2", f"dev=sim:{disc}", "speed=16", "-tao",
                  "-multi", "-data", image)[0] == 0
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-msinfo")
    first = out.split("\n")[0].split(",")                  # K3b's parser
    assert code == 0 and len(first) == 2
    start, nwa = int(first[0]), int(first[1])
    more = make_tree(tmp_path / "more", {"second.txt": b"second session\n"})
    session = subprocess.run(["xorrisofs", "-quiet", "-r", "-M", disc, "-C", f"{start},{nwa}",
                              more], stdout=subprocess.PIPE, check=True).stdout
    proc = run_process_as("cdrecord", "-v", "gracetime=0", f"dev=sim:{disc}", "speed=16",
                          "-tao", "driveropts=burnfree", "-multi", "-waiti", "-data",
                          f"-tsize={len(session) // SECTOR}s", "-", stdin=session)
    assert proc.returncode == 0, proc.stderr
    assert disc_files(disc, nwa) == ["/README.txt", "/photos/a.jpg", "/second.txt"]
    assert state(disc).status == "appendable"


def test_next_session_from_isofuse_master_on_stdin(tmp_path, image):
    """'isofuse master -C $m -M DEV -o - more | cdrecord -multi dev=DEV -':
    the session's descriptor counts the whole volume (START+length), so
    standard input is as long as the volume minus the next address."""
    disc = make_disc(tmp_path, "cd-r")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    m = run_as("cdrecord", f"dev=sim:{disc}", "-msinfo")[1].strip()
    more = make_tree(tmp_path / "more", {"second.txt": b"second\n"})
    stream = subprocess.run(["isofuse", "master", "-quiet", "-r", "-C", m, "-M", disc, "-o",
                             "-", more], stdout=subprocess.PIPE, check=True).stdout
    proc = run_process_as("cdrecord", f"dev=sim:{disc}", "-multi", "-", stdin=stream)
    assert proc.returncode == 0, proc.stderr
    nwa = int(m.split(",")[1])
    assert state(disc).tracks[-1].size >= len(stream) // SECTOR
    assert disc_files(disc, nwa) == ["/README.txt", "/photos/a.jpg", "/second.txt"]


def test_xorrecord_single_image(tmp_path, image):
    """xorrecord(1) EXAMPLES "Write a single ISO 9660 filesystem image":
    'xorrecord -v dev=/dev/sr0 speed=12 fs=8m blank=as_needed -eject
    padsize=300k my_image.iso' on a used CD-RW: blanked, written, padded."""
    disc = make_disc(tmp_path, "cd-rw")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    code, _, err = run_as("xorrecord", "-v", f"dev=sim:{disc}", "speed=12", "fs=8m",
                          "blank=as_needed", "-eject", "padsize=300k", image)
    assert code == 0, err
    st = state(disc)
    assert st.status == "complete" and len(st.tracks) == 1 and st.ejects >= 1
    sectors = os.path.getsize(image) // SECTOR
    assert image_on(disc, image)
    assert st.tracks[0].size >= sectors + 150                      # 300k of zeros
    assert disc_bytes(disc, sectors, 150) == bytes(150 * SECTOR)


@pytest.mark.parametrize("profile", ["dvd+rw", "cd-r"])
def test_xorrecord_multiple_sessions(tmp_path, tree, image, profile):
    """xorrecord(1) EXAMPLES "Write multiple ISO 9660 sessions": the first
    session with '-v dev=/dev/sr0 speed=12 fs=8m -multi --grow_overwriteable_iso
    blank=as_needed -eject padsize=300k image_1.iso', 'm=$(xorrecord
    dev=/dev/sr0 -msinfo)', 'xorrisofs -M /dev/sr0 -C $m -o image_2.iso -J
    -graft-points /dir2=./tree2', then the same burn line for image_2.iso.
    Works alike on a DVD+RW (grown) and a CD-R (a second session)."""
    disc = make_disc(tmp_path, profile)
    image1 = tmp_path / "image_1.iso"
    subprocess.run(["xorrisofs", "-quiet", "-o", str(image1), "-J", "-graft-points",
                    f"/dir1={tree}"], check=True)
    burn = ["-v", f"dev=sim:{disc}", "speed=12", "fs=8m", "-multi",
            "--grow_overwriteable_iso"]
    code, _, err = run_as("xorrecord", *burn, "blank=as_needed", "-eject", "padsize=300k",
                          image1)
    assert code == 0, err
    code, m, err = run_as("xorrecord", f"dev=sim:{disc}", "-msinfo",
                          "--grow_overwriteable_iso")
    assert code == 0, err
    tree2 = make_tree(tmp_path / "tree2", {"new.txt": b"two\n"})
    image2 = tmp_path / "image_2.iso"
    subprocess.run(["xorrisofs", "-quiet", "-M", disc, "-C", m.strip(), "-o", str(image2),
                    "-J", "-graft-points", f"/dir2={tree2}"], check=True)
    code, _, err = run_as("xorrecord", *burn, "-eject", "padsize=300k", image2)
    assert code == 0, err
    nwa = int(m.split(",")[1])
    seen = disc_files(disc, 0 if profile == "dvd+rw" else nwa)
    assert "/dir1/README.txt" in seen and "/dir2/new.txt" in seen


def test_xorrecord_on_the_fly_session(tmp_path, tree, image):
    """xorrecord(1) EXAMPLES "Write ISO 9660 session on-the-fly":
    'xorrisofs -M /dev/sr0 -C $m -J -graft-points /dir2=./tree2 | xorrecord -v
    dev=/dev/sr0 speed=12 fs=8m -waiti -multi --grow_overwriteable_iso -eject
    padsize=300k -' on a DVD+R."""
    disc = make_disc(tmp_path, "dvd+r")
    assert run_as("xorrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    m = run_as("xorrecord", f"dev=sim:{disc}", "-msinfo")[1].strip()
    tree2 = make_tree(tmp_path / "tree2", {"new.txt": b"two\n"})
    stream = subprocess.run(["xorrisofs", "-quiet", "-M", disc, "-C", m, "-J", "-graft-points",
                             f"/dir2={tree2}"], stdout=subprocess.PIPE, check=True).stdout
    proc = run_process_as("xorrecord", "-v", f"dev=sim:{disc}", "speed=12", "fs=8m", "-waiti",
                          "-multi", "--grow_overwriteable_iso", "-eject", "padsize=300k", "-",
                          stdin=stream)
    assert proc.returncode == 0, proc.stderr
    assert "/dir2/new.txt" in disc_files(disc, int(m.split(",")[1]))


def test_xorrecord_format_overwrite(tmp_path, image):
    """xorrecord(1) EXAMPLES "Format DVD-RW to avoid need for blanking before
    re-use": 'xorrecord -v dev=/dev/sr0 blank=format_overwrite -eject'; then an
    image burned onto the restricted-overwrite disc."""
    disc = make_disc(tmp_path, "dvd-rw")
    code, _, err = run_as("xorrecord", "-v", f"dev=sim:{disc}", "blank=format_overwrite",
                          "-eject")
    assert code == 0, err
    assert state(disc).profile == 0x13 and state(disc).formatted    # restricted overwrite
    assert run_as("xorrecord", f"dev=sim:{disc}", image)[0] == 0
    assert image_on(disc, image)


def test_xorrecord_devices_and_inquiries(tmp_path, image):
    """xorrecord(1) EXAMPLES: 'xorrecord --devices' and 'xorrecord dev=/dev/sr0
    -atip -toc --grow_overwriteable_iso' (two reports in one run)."""
    disc = make_disc(tmp_path, "cd-rw")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    code, out, _ = run_as("xorrecord", f"dev=sim:{disc}", "--devices")
    assert code == 0
    assert re.match(rf"0  -dev 'sim:{re.escape(disc)}' [rw-]{{6}} :  'ISOFUSE' '", out)
    code, out, _ = run_as("xorrecord", f"dev=sim:{disc}", "-atip", "-toc",
                          "--grow_overwriteable_iso")
    assert code == 0
    assert "  Is erasable" in out and out.index("ATIP info") < out.index("first: 1 last 1")


def test_xorrecord_afio_stream_is_refused(tmp_path):
    """xorrecord(1) EXAMPLES "Write compressed afio archive on-the-fly":
    'find . | afio -oZ - | xorrecord -v dev=/dev/sr0 speed=12 fs=64m -multi
    padsize=300k -': a stream that is no ISO image and has no tsize= is
    refused before anything is written (the size must be known first)."""
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = run_as("xorrecord", "-v", f"dev=sim:{disc}", "speed=12", "fs=64m",
                          "-multi", "padsize=300k", "-", stdin=os.urandom(100_000))
    assert code == errors.USAGE and "--size" in err
    assert untouched(disc)


def test_shell_script_fix_after_nofix(tmp_path, image):
    """joeytwiddle/jsh code/shellscript/cdrw/cdwritetracks.sh: tracks written
    with '... -nofix -', then 'cdrecord $CDRECORD_OPTS -dev=0,0,0 -fix' with
    CDRECORD_OPTS='minbuf=90 fs=31M speed=8 driveropts=burnfree' (its audio
    tracks are data here; the drive as sim:)."""
    disc = make_disc(tmp_path, "cd-r")
    opts = ["minbuf=90", "fs=31M", "speed=8", "driveropts=burnfree"]
    code, _, err = run_as("cdrecord", *opts, f"-dev=sim:{disc}", "-data", "-pad", "-nofix",
                          image)
    assert code == 0, err
    assert "-nofix" in err and state(disc).status == "appendable"
    code, _, err = run_as("cdrecord", *opts, f"-dev=sim:{disc}", "-fix")
    assert code == 0, err
    assert "nothing was left open" in err and state(disc).status == "appendable"


def test_shell_script_audio_is_refused(tmp_path):
    """The same script's track line: 'cdrecord minbuf=90 fs=31M speed=8
    driveropts=burnfree -dev=0,0,0 -audio -pad -nofix -': refused naming
    -audio, before the drive address is even looked up."""
    code, _, err = run_as("cdrecord", "minbuf=90", "fs=31M", "speed=8", "driveropts=burnfree",
                          "-dev=0,0,0", "-audio", "-pad", "-nofix", "-")
    assert code == errors.USAGE
    assert "-audio: audio CDs are not supported yet" in err


def test_dreamcast_script_lines(tmp_path, image):
    """buhman/dreamcast burn.sh: 'cdrecord -speed=8 -v dev=/dev/sr0 -dao -multi
    track1.wav' (a .wav is an audio track to cdrecord): refused, the disc
    untouched; 'cdrecord -eject -overburn -speed=8 -v dev=/dev/sr0 -tao -xa
    FILE': a mode 2 form 1 track (page 05h data block type 10, XA session)."""
    disc = make_disc(tmp_path, "cd-r")
    wav = tmp_path / "track1.wav"
    wav.write_bytes(bytes(4096))
    code, _, err = run_as("cdrecord", "-speed=8", "-v", f"dev=sim:{disc}", "-dao", "-multi",
                          wav)
    assert code == errors.USAGE and "audio" in err
    assert untouched(disc)
    code, _, err = run_as("cdrecord", "-eject", "-overburn", "-speed=8", "-v",
                          f"dev=sim:{disc}", "-tao", "-xa", image)
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"
    assert state(disc).ejects == 1


def test_wodim_atip_script_sees_a_disc(tmp_path):
    """A shell script's cd_test (seen through the search tool): 'if wodim -atip
    | grep -q "Disk type"; then echo "There is a CD in the drive"'; a second
    test of the same kind greps "Is not erasable"."""
    disc = make_disc(tmp_path, "cd-r")
    code, out, _ = run_as("wodim", f"dev=sim:{disc}", "-atip")
    assert code == 0 and "Disk type" in out and "Is not erasable" in out
    assert "Ultra High speed+" not in out              # Brasero would fail the disc
    lead_out = re.search(r"ATIP start of lead out: (\d+) \((\d\d):(\d\d)/(\d\d)\)", out)
    assert lead_out and int(lead_out.group(1)) == state(disc).capacity


def test_progress_lines_for_k3b_and_brasero(tmp_path, image):
    """The track lines K3b's and Brasero's cdrecord parsers read (their
    patterns, from K3b::CdrecordWriter::slotStdLine and
    brasero_cdrecord_stdout_read): the track size before writing, then
    'Track 01: N of M MB written (fifo F%) [buf B%] S.Sx.' ending in \\r."""
    disc = make_disc(tmp_path, "cd-r")
    code, out, err = run_as("cdrecord", "-v", f"dev=sim:{disc}", image)
    assert code == 0, err
    lines = re.split(r"[\r\n]", out)
    k3b = re.compile(r"Track\s(\d\d)\:\s*(\d*)\sof\s*(\d*)\sMB\swritten\s"
                     r"(?:\(fifo\s*(\d*)\%\)\s*)?(?:\[buf\s*(\d*)\%\])?.*")
    progress = [m for m in map(k3b.fullmatch, lines) if m]
    assert progress and progress[-1].group(2) == progress[-1].group(3)
    brasero = re.compile(r"Track\s*(\d+): *(\d+) of *(\d+) MB written \(fifo *(\d+)%\) "
                         r"\[buf *(\d+)%\] *(\d+)\.(\d+)x\.")
    assert any(brasero.match(line) for line in lines)
    assert re.search(r"^Track 01: data +\d+ MB", out, re.M) and "Total size:" in out
    assert out.index("Total size:") < out.index("MB written")
    for program, name in (("isofuse-burn", "n.disc"), ("cdrecord", "quiet.disc")):
        other = run_as(program, f"dev=sim:{make_disc(tmp_path, 'cd-r', name=name)}", image)
        assert other[0] == 0 and "MB written (fifo" not in other[1]    # cdrecord: -v only


# ---- the misparsed spellings: refused writes nothing, accepted writes the right thing --------
def test_data_spelling(tmp_path, image):
    """-data used to be '-d ata' (a second drive): now a data track."""
    disc = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{disc}", "-data", "-xa2", image)
    assert code == errors.USAGE and "-xa2" in err and untouched(disc)
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{disc}", "-data", image)
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"


def test_dao_spelling(tmp_path, image):
    """-dao used to be '-d ao': the real drive was burned, then 'ao: No such
    file'.  On a blank CD it is session-at-once (cue sheet, pre-gap from
    -150, no CLOSE); on a blank DVD-R disc-at-once; with --multi on a DVD-R
    refused before anything is written."""
    cd = make_disc(tmp_path, "cd-r")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{cd}", "-dao", image)
    assert code == 0, err
    assert image_on(cd, image) and state(cd).status == "complete"
    assert state(cd).tracks[0].runout == 0               # SAO: no TAO run-out
    dvd = make_disc(tmp_path, "dvd-r")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{dvd}", "-dao", image)
    assert code == 0, err
    assert image_on(dvd, image) and state(dvd).status == "complete"
    again = make_disc(tmp_path, "dvd-r", name="again.disc")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{again}", "-dao", "--multi", image)
    assert code == errors.CANNOT_WRITE and "disc-at-once" in err and untouched(again)


def test_tao_where_the_medium_has_none(tmp_path, image):
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = run_as("cdrecord", f"dev=sim:{disc}", "-tao", image)
    assert code == errors.CANNOT_WRITE and "no track-at-once" in err and untouched(disc)


# ---- -msinfo, byte for byte ------------------------------------------------------------------
def test_msinfo_is_cdrecords_text(tmp_path, image):
    """cdrecord prints printf("%ld,%ld\\n", offset, next) and, with -v, first
    "session offset: %ld\\n" (wodim.c print_msinfo); msifile= gets the
    numbers without the newline.  The numbers are the drive's: READ TOC
    format 1 and the next writable address of READ TRACK INFORMATION."""
    disc = make_disc(tmp_path, "cd-r")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-msinfo")
    st = state(disc)
    expected = f"0,{st.nwa}\n"
    assert code == 0 and out == expected and st.nwa == st.tracks[0].end + 11400
    msi = tmp_path / "msi"
    code, out, _ = run_as("wodim", "-v", f"dev=sim:{disc}", "-msinfo", f"msifile={msi}")
    assert out == "session offset: 0\n" + expected and msi.read_text() == expected.strip()
    assert run_as("isofuse-burn", f"dev=sim:{disc}", "-msinfo")[1] == expected


def test_msinfo_of_a_blank_disc_fails(tmp_path):
    disc = make_disc(tmp_path, "cd-r")
    code, out, err = run_as("cdrecord", f"dev=sim:{disc}", "-msinfo")
    assert code == errors.NO_SESSION and out == "" and "blank" in err


# ---- the other reports ------------------------------------------------------------------------
def test_toc_layout(tmp_path, image):
    """wodim.c print_toc/print_track: 'first: F last L', one line per track,
    'track:lout' with mode -1."""
    disc = make_disc(tmp_path, "cd-r")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-multi", image)[0] == 0
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-toc")
    end = state(disc).tracks[0].end
    m, s, f = reports.msf(end)
    assert code == 0 and out == (
        "first: 1 last 1\n"
        "track:   1 lba:         0 (        0) 00:02:00 adr: 1 control: 4 mode: 1\n"
        f"track:lout lba: {end:9d} ({end * 4:9d}) {m:02d}:{s:02d}:{f:02d} adr: 1 control: 4 "
        "mode: -1\n")


def test_msf_matches_cdrecords_examples():
    """Addresses and their MSF as real cdrecord -atip runs print them."""
    assert reports.msf(359846) == (79, 59, 71)
    assert reports.msf(-11634) == (97, 26, 66)
    assert reports.msf(335100) == (74, 30, 0)


def test_checkdrive_inq_prcap(tmp_path):
    disc = make_disc(tmp_path, "cd-r")
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-checkdrive")
    assert code == 0 and re.search(r"^Vendor_info    : '.{8}'$", out, re.M)
    assert re.search(r"^Identification : '.{16}'$", out, re.M)
    assert "Supported modes: TAO" in out and "Driver flags   : MMC-3" in out
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-inq")
    assert code == 0 and out.startswith("Device type    : ") and "Revision       : '" in out
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-prcap")
    assert code == 0 and out.startswith("Drive capabilities, per MMC-3 page 2A:")
    assert "  Does write CD-R media\n" in out and "Buffer size in KB: " in out


def test_scanbus_and_devices_layouts():
    facts = {"vendor": "HL-DT-ST", "product": "DVDRAM GH24NSD1 ", "revision": "LG00"}
    assert reports.scanbus_line((1, 0, 0), 100, facts) == \
        "\t1,0,0\t100) 'HL-DT-ST' 'DVDRAM GH24NSD1 ' 'LG00' Removable CD-ROM\n"
    text = reports.devices([("/dev/sg1", "rwrw--", facts)], "wodim")
    assert text.splitlines()[0] == "wodim: Overview of accessible drives (1 found) :"
    assert " 0  dev='/dev/sg1'\trwrw-- : 'HL-DT-ST' 'DVDRAM GH24NSD1'" in text
    assert reports.permissions(0o660) == "rwrw--"


def test_version_and_help_for_k3b():
    code, out, _ = run_as("cdrecord", "-version")
    version = re.search(r"Cdrecord\D*(\d+\.\d+)\s", out)
    assert code == 0 and version and float(version.group(1)) >= 2.0 and "Copyright" in out
    code, out, _ = run_as("wodim", "-version")
    assert code == 0 and re.search(r"Wodim\D*\d", out)
    code, out, _ = run_as("cdrecord", "-help")
    assert all(word in out for word in ("gracetime", "-overburn", "-tao"))
    assert "-text" not in out and "-clone" not in out       # K3b would use CD-TEXT / clone


# ---- options one by one ----------------------------------------------------------------------
def test_sizes():
    from burner.dialects.cdrecord import parse_size
    assert parse_size("tsize", "100s") == 204800
    assert parse_size("tsize", "300k") == 307200 and parse_size("fs", "6m") == 6 << 20
    assert parse_size("tsize", "4096") == 4096 and parse_size("fs", "1g") == 1 << 30
    for bad in ("12x", "s", "3f"):
        with pytest.raises(DialectError):
            parse_size("tsize", bad)


def test_blank_modes_translate():
    def argv(*words):
        return translate("cdrecord", ["dev=sim:/x", *words], {}).argv
    assert argv("blank=fast")[-3:] == ["--blank", "fast", "--yes"]
    assert argv("blank=minimal")[-3:] == ["--blank", "fast", "--yes"]
    assert argv("blank=disc")[-3:] == ["--blank", "all", "--yes"]
    assert argv("blank=as_needed")[-3:] == ["--blank", "as_needed", "--yes"]
    assert argv("blank=format_overwrite")[-3:] == ["--format", "quick", "--yes"]
    for partial in ("session", "track", "unclose"):
        assert argv(f"blank={partial}")[-3:] == ["--blank", partial, "--yes"]
    for refused in ("trtail", "unreserve", "deformat"):
        with pytest.raises(DialectError, match=f"blank={refused}"):
            argv(f"blank={refused}")


def test_blank_help_opens_nothing(tmp_path):
    code, _, err = run_as("cdrecord", "dev=/nonexistent/drive", "blank=help")
    assert code == 0 and "as_needed" in err and "fast" in err


def test_driveropts_reach_the_recorder(tmp_path, image, monkeypatch):
    """driveropts=noburnfree turns BUFE off even on a drive that has it."""
    seen = []
    real = recorder.write_plan

    def spy(drive, status, source, plan, opts, progress):
        seen.append(opts.underrun_free)
        return real(drive, status, source, plan, opts, progress)
    monkeypatch.setattr(recorder, "write_plan", spy)
    for value, expected in (("noburnfree", False), ("burnfree", True)):
        disc = make_disc(tmp_path, "cd-r", name=f"{value}.disc")
        assert run_as("cdrecord", f"dev=sim:{disc}", f"driveropts={value}", image)[0] == 0
        assert seen.pop() is expected
    with pytest.raises(DialectError, match="driveropts=varirec"):
        translate("cdrecord", ["dev=sim:/x", "driveropts=varirec=-2", "x"], {})


def test_countdown_on_a_terminal(no_wait):
    out = io.StringIO()
    hooks.countdown(3, out=out, tty=True)
    assert no_wait == [1, 1, 1]
    text = out.getvalue()
    assert text.count("\r") == 4 and "in    1 seconds." in text and "Operation starts." in text


def test_countdown_without_a_terminal(no_wait):
    out = io.StringIO()
    hooks.countdown(9, dummy=True, out=out, tty=False)
    assert no_wait == [9]
    assert out.getvalue() == "Last chance to quit, starting dummy write in    9 seconds.\n"


def test_pad_and_nopad(tmp_path, image):
    disc = make_disc(tmp_path, "dvd+r")
    assert run_as("cdrecord", f"dev=sim:{disc}", "-pad", image)[0] == 0
    sectors = os.path.getsize(image) // SECTOR
    assert state(disc).tracks[0].size == sectors + 15
    other = make_disc(tmp_path, "dvd+r", name="nopad.disc")
    assert run_as("xorrecord", f"dev=sim:{other}", "-nopad", image)[0] == 0
    assert state(other).tracks[0].size == sectors


def test_isosize_burns_the_volume_only(tmp_path, image):
    """-isosize: an image file with junk behind its ISO volume is burned as
    long as the volume says (ECMA-119 volume space size)."""
    padded = tmp_path / "padded.iso"
    with open(image, "rb") as f:
        padded.write_bytes(f.read() + os.urandom(20 * SECTOR))
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = run_as("cdrecord", f"dev=sim:{disc}", "-isosize", padded)
    assert code == 0, err
    assert state(disc).tracks[0].size == os.path.getsize(image) // SECTOR
    code, _, err = run_as("cdrecord", f"dev=sim:{disc}", "-isosize", tmp_path / "none.iso")
    assert code == errors.USAGE and "-isosize" in err


def test_cdr_device_environment(tmp_path, image, monkeypatch):
    disc = make_disc(tmp_path, "cd-r")
    monkeypatch.setenv("CDR_DEVICE", f"sim:{disc}")
    assert run_as("cdrecord", "-data", image)[0] == 0
    assert image_on(disc, image)


def test_refusals_come_before_the_drive_is_opened(tmp_path, monkeypatch):
    """Every not-understood option ends the run before any drive is opened
    (the drive here does not exist: opening it would fail differently)."""
    opened = []
    monkeypatch.setattr(cli_common, "open_drive", lambda *a, **k: opened.append(a))
    cases = [("cdrecord", ["dev=/dev/sr9", "-bogus", "x.iso"], "-bogus: unknown cdrecord"),
             ("cdrecord", ["dev=/dev/sr9", "cuefile=a.cue"], "cue sheets"),
             ("cdrecord", ["dev=/dev/sr9", "-raw96r", "x.iso"], "raw"),
             ("cdrecord", ["dev=/dev/sr9", "a.iso", "b.iso"], "one data track"),
             ("cdrecord", ["dev=/dev/sr9"], "No tracks specified"),
             ("cdrecord", ["-data", "x.iso"], "no drive given"),
             ("wodim", ["dev=/dev/sr9", "--grow_overwriteable_iso", "x"], "xorrecord/cdrskin"),
             ("cdrecord", ["dev=/dev/sr9", "-msinfo", "x.iso"], "No tracks allowed"),
             ("cdrecord", ["dev=/dev/sr9", "speed=4c", "x.iso"], "speed=4c"),
             ("cdrecord", ["dev=/dev/sr9", "gracetime=soon", "x.iso"], "gracetime=soon"),
             ("cdrecord", ["dev=/dev/sr9", "minbuf=10", "x.iso"], "between 25 and 95"),
             ("xorrecord", ["dev=/dev/sr9", "stream_recording=on", "x"], "stream recording"),
             ("isofuse-burn", ["-d", "/dev/sr9", "-dvd-compat", "x.iso"], "growisofs option"),
             ("isofuse-burn", ["-d", "/dev/sr9", "-xyz", "x.iso"], "-xyz: unknown"),
             ("cdrecord", ["dev=9,9,9", "-data", "x.iso"], "no drive at SCSI address")]
    for program, argv, words in cases:
        code, _, err = run_as(program, *argv)
        assert code == errors.USAGE and words in err, (program, argv, err)
        assert "Traceback" not in err
    assert opened == []


def test_isofuse_burn_recognises_cdrecord_lines():
    assert guess(["dev=/dev/sr0", "image.iso"]) == "mixed"
    assert guess(["-v", "-d", "/dev/sr0", "image.iso"]) == "mixed"
    assert guess(["--device", "/dev/sr0", "--multi", "image.iso"]) is None
    assert guess(["-Z", "/dev/sr0", "-R", "dir"]) == "growisofs"
    request = translate("mixed", ["-d", "sim:/x", "--verify", "-dao", "blank=fast", "i.iso"],
                        {})
    assert request.argv[:3] == ["-d", "sim:/x", "--verify"] and request.write_type == "sao"


# ---- dev= forms through sysfs ----------------------------------------------------------------
def _fake_sysfs(root, address, block=None, generic=None, old_style=False):
    device = root / "bus" / "scsi" / "devices" / address
    device.mkdir(parents=True)
    for kind, name in (("block", block), ("scsi_generic", generic)):
        if name and old_style:
            (device / f"{kind}:{name}").mkdir()
        elif name:
            (device / kind / name).mkdir(parents=True)
    return str(root)


def test_dev_bus_target_lun(tmp_path):
    sysfs = _fake_sysfs(tmp_path / "sys", "1:0:0:0", block="sr0", generic="sg1")
    _fake_sysfs(tmp_path / "sys", "2:0:1:0", generic="sg3", old_style=True)
    assert devaddr.resolve("1,0,0", sysfs) == "/dev/sr0"
    assert devaddr.resolve("ATA:1,0,0", sysfs) == "/dev/sr0"
    assert devaddr.resolve("ATAPI:2,1,0", sysfs, dev_root="/d") == "/d/sg3"
    assert devaddr.resolve("/dev/sg1", sysfs) == "/dev/sg1"
    assert devaddr.resolve("ATA:/dev/hdc", sysfs) == "/dev/hdc"
    with pytest.raises(DialectError, match="no drive at SCSI address 0,6,0"):
        devaddr.resolve("6,0", sysfs)            # target,lun on bus 0
    with pytest.raises(DialectError, match="not a device path"):
        devaddr.resolve("cdrom", sysfs)


def test_program_names_through_a_link(tmp_path, image):
    """isofuse-burn called through a link named cdrecord (as distributions
    install cdrecord emulations) speaks cdrecord; the isofuse-cdrecord entry
    point is declared in setup.cfg."""
    script = shutil.which("isofuse-burn")
    if script is None:
        pytest.skip("the isofuse-burn console script is not installed")
    link = tmp_path / "cdrecord"
    link.symlink_to(script)
    proc = subprocess.run([str(link), "-version"], stdout=subprocess.PIPE, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("Cdrecord")
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "setup.cfg")) as f:
        cfg = f.read()
    assert "isofuse-cdrecord = burner.cli:main_cdrecord" in cfg
    assert "isofuse-growisofs = burner.cli:main_growisofs" in cfg


class _FakeDrive:
    """A drive that answers INQUIRY only (for the drive lists)."""

    class t:                                   # noqa: N801 -- the Drive's transport slot
        @staticmethod
        def close():
            pass

    @staticmethod
    def cmd(cdb, direction=None, data=None, length=0, **kw):
        return bytes([5, 0x80, 5, 2, 31, 0, 0, 0]) + b"HL-DT-ST" + b"DVDRAM GH24NSD1 " + \
            b"LG00" + bytes(60)


def test_scanbus_and_devices_list_the_drives(tmp_path, monkeypatch):
    """-scanbus prints 'scsibus1:' and '\\t1,0,0\\t100) ...' (the address from
    sysfs); wodim --devices its overview with the node's permissions."""
    from burner import discovery
    node = tmp_path / "sr0"
    node.write_bytes(b"")
    os.chmod(node, 0o660)
    monkeypatch.setattr(discovery, "candidate_devices", lambda: ([str(node)], {}))
    monkeypatch.setattr(cli_common, "open_drive", lambda device, write=True: _FakeDrive())
    monkeypatch.setattr(devaddr, "address_of", lambda n, sysfs=None: (1, 0, 0))
    code, out, _ = run_as("cdrecord", "-scanbus")
    assert code == 0 and out == ("scsibus1:\n\t1,0,0\t100) 'HL-DT-ST' 'DVDRAM GH24NSD1 ' "
                                 "'LG00' Removable CD-ROM\n")
    code, out, _ = run_as("wodim", "--devices")
    assert code == 0 and f" 0  dev='{node}'\trwrw-- : 'HL-DT-ST' 'DVDRAM GH24NSD1'\n" in out
    code, out, _ = run_as("cdrecord", "dev=/dev/sr0", "-inq")
    assert out.startswith("Device type    : Removable CD-ROM\nVersion        : 5\n"
                          "Response Format: 2\nVendor_info    : 'HL-DT-ST'\n")


def test_gracetime_counts_down_on_a_terminal(tmp_path, image):
    """gracetime=2 in a real terminal (a pty): the seconds count down on one
    line, then the burn starts."""
    import pty
    disc = make_disc(tmp_path, "cd-r")
    master, slave = pty.openpty()
    code = "import sys; from burner.cli import main; sys.exit(main(sys.argv[1:], " \
           "program='cdrecord'))"
    proc = subprocess.Popen([sys.executable, "-c", code, "gracetime=2", f"dev=sim:{disc}",
                             image], stdout=slave, stderr=subprocess.DEVNULL,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait() == 0
    text = seen.decode()
    assert "\rLast chance to quit, starting real write in    2 seconds." in text
    assert "\rLast chance to quit, starting real write in    1 seconds." in text
    assert "Operation starts." in text and image_on(disc, image)


@pytest.mark.parametrize("profile,status", [("dvd+r", "appendable"), ("dvd-r-dl", "complete")])
def test_multi_if_possible(tmp_path, image, profile, status):
    """xorrecord --multi_if_possible: -multi on a DVD+R, not on a DVD-R DL
    (written disc-at-once, which closes it)."""
    disc = make_disc(tmp_path, profile)
    code, _, err = run_as("xorrecord", f"dev=sim:{disc}", "--multi_if_possible", image)
    assert code == 0, err
    assert state(disc).status == status


def test_atip_without_a_disc(tmp_path):
    disc = make_disc(tmp_path, "cd-r")
    subprocess.run([sys.executable, "-m", "burner.simtool", "set", disc, "--remove"],
                   check=True)
    code, out, err = run_as("wodim", f"dev=sim:{disc}", "-atip")
    assert code == errors.NO_MEDIUM and "No disk / Wrong disk!" in err
    assert "Disk type" not in out and out.startswith("Device type")


def test_entry_points(monkeypatch):
    """isofuse-cdrecord and isofuse-growisofs (setup.cfg) are these two."""
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/isofuse-cdrecord", "-version"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main_cdrecord() == 0
    assert out.getvalue().startswith("Cdrecord")
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/isofuse-growisofs", "-version"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main_growisofs() == 0
    assert "growisofs" in out.getvalue()


def test_help_texts_open_nothing():
    for program in ("cdrecord", "xorrecord", "growisofs"):
        code, out, _ = run_as(program, "-help")
        assert code == 0 and "README.md" in out
    assert "--grow_overwriteable_iso" in run_as("xorrecord", "-help")[1]
    assert "-Z /dev/dvd" in run_as("growisofs", "-help")[1]
