"""isofuse-burn's growisofs dialect: real growisofs command lines (the man
page, Brasero, K3b, scripts) replayed against the simulated drive, the disc
read back with xorriso; -dry-run and refusals shown to write nothing."""

import os
import shutil
import subprocess

import pytest

from burner import cli_common, errors
from burner.dialects import DialectError, translate
from burner_support import make_disc, make_tree, state
from test_burn_dialect_cdrecord import disc_files, image_on, run_as, untouched

SECTOR = 2048


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / "files", {"some/one.txt": b"one\n", "two.bin": os.urandom(70000)})


@pytest.fixture
def more(tmp_path):
    return make_tree(tmp_path / "more", {"three.txt": b"three\n"})


@pytest.fixture
def image(tmp_path, tree):
    out = tmp_path / "image.iso"
    subprocess.run(["genisoimage", "-quiet", "-r", "-J", "-o", str(out), tree], check=True)
    return str(out)


def growisofs(*args, stdin=None):
    return run_as("growisofs", *args, stdin=stdin)


# ---- the man page's examples -----------------------------------------------------------------
def test_man_page_initial_and_merged_session(tmp_path, tree, more):
    """growisofs(1) EXAMPLES: 'growisofs -Z /dev/dvd -R -J /some/files', then
    'growisofs -M /dev/dvd -R -J /more/files'.  A DVD+R stays appendable
    (no -dvd-compat); the second session holds both trees' files."""
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = growisofs("-Z", f"sim:{disc}", "-R", "-J", tree)
    assert code == 0, err
    assert state(disc).status == "appendable"
    assert disc_files(disc) == ["/some/one.txt", "/two.bin"]
    nwa = state(disc).nwa
    code, _, err = growisofs("-M", f"sim:{disc}", "-R", "-J", more)
    assert code == 0, err
    assert disc_files(disc, nwa) == ["/some/one.txt", "/three.txt", "/two.bin"]


def test_man_page_premastered_image(tmp_path, image):
    """growisofs(1) EXAMPLES: 'growisofs -dvd-compat -Z /dev/dvd=image.iso':
    the image as it is, the DVD-R closed."""
    disc = make_disc(tmp_path, "dvd-r")
    code, _, err = growisofs("-dvd-compat", "-Z", f"sim:{disc}={image}")
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"


def test_man_page_close_with_dev_zero(tmp_path, tree):
    """growisofs(1) EXAMPLES: 'growisofs -M /dev/dvd=/dev/zero' closes a
    multisession disc without adding data: the DVD+R left appendable by -Z
    is finalized (CLOSE function 101b), its session still reads, and nothing
    more can be added."""
    disc = make_disc(tmp_path, "dvd+r")
    assert growisofs("-Z", f"sim:{disc}", "-R", tree)[0] == 0
    before = state(disc)
    assert before.status == "appendable"
    code, _, err = growisofs("-M", f"sim:{disc}=/dev/zero")
    assert code == 0, err
    after = state(disc)
    assert after.status == "complete" and after.tracks == before.tracks
    assert disc_files(disc) == disc_files_expected(tree)
    code, _, err = growisofs("-M", f"sim:{disc}", "-R", tree)
    assert code == errors.DISC_CLOSED and "closed" in err


def disc_files_expected(tree):
    return sorted("/" + os.path.relpath(os.path.join(d, f), tree)
                  for d, _, files in os.walk(tree) for f in files)


# ---- scripts and front ends --------------------------------------------------------------------
def test_script_dry_run_then_burn(tmp_path, image):
    """mkouhei/scripts dvdwrite.sh: 'if growisofs -dry-run -dvd-compat -Z
    /dev/scd0=$ISOIMAGE; then growisofs -dvd-compat -Z /dev/scd0=$ISOIMAGE'.
    -dry-run used to be '-d ry-run' and burned; now it checks everything and
    writes nothing, and the second line burns."""
    disc = make_disc(tmp_path, "dvd+r")
    code, out, err = growisofs("-dry-run", "-dvd-compat", "-Z", f"sim:{disc}={image}")
    assert code == 0, err
    assert "dry run: would write" in out and "nothing was written" in out
    assert untouched(disc)
    code, _, err = growisofs("-dvd-compat", "-Z", f"sim:{disc}={image}")
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"


def test_dry_run_still_refuses_what_would_fail(tmp_path, image):
    """-dry-run runs the checks: an image too large for the disc fails."""
    disc = make_disc(tmp_path, "dvd+r", capacity=20)
    code, _, err = growisofs("-dry-run", "-Z", f"sim:{disc}={image}")
    assert code == errors.TOO_BIG and untouched(disc)


def _brasero_lists(tmp_path, tree):
    paths = tmp_path / "brasero_tmp_paths"
    paths.write_text(f"/={tree}\n")
    excluded = tmp_path / "brasero_tmp_exclude"
    excluded.write_text("")
    return str(paths), str(excluded)


def test_brasero_size_probe(tmp_path, tree):
    """Brasero's growisofs plugin asks the size first: 'growisofs
    -use-the-force-luke=notray -use-the-force-luke=dao -dvd-compat -speed=3
    -use-the-force-luke=tty -Z /dev/scd0 -dry-run -r -input-charset utf8
    -graft-points -path-list FILE -exclude-list FILE -print-size' (from a
    Brasero debug log): the sector count, nothing written."""
    paths, excluded = _brasero_lists(tmp_path, tree)
    disc = make_disc(tmp_path, "dvd-r")
    options = ["-r", "-input-charset", "utf8", "-graft-points", "-path-list", paths,
               "-exclude-list", excluded]
    code, out, err = growisofs("-use-the-force-luke=notray", "-use-the-force-luke=dao",
                               "-dvd-compat", "-speed=3", "-use-the-force-luke=tty", "-Z",
                               f"sim:{disc}", "-dry-run", *options, "-print-size")
    assert code == 0, err
    master = subprocess.run(["isofuse", "master", "-print-size", *options],
                            stdout=subprocess.PIPE, text=True, check=True).stdout
    assert out == master and int(out) > 0
    assert f"Total extents scheduled to be written = {int(out)}" in err   # Brasero reads it
    assert untouched(disc)


def test_brasero_burn(tmp_path, tree):
    """The same Brasero line without -dry-run/-print-size burns: DAO
    (-use-the-force-luke=dao) on the blank DVD-R, closed (-dvd-compat)."""
    paths, excluded = _brasero_lists(tmp_path, tree)
    disc = make_disc(tmp_path, "dvd-r")
    code, _, err = growisofs("-use-the-force-luke=notray", "-use-the-force-luke=dao",
                             "-dvd-compat", "-speed=3", "-use-the-force-luke=tty", "-Z",
                             f"sim:{disc}", "-r", "-input-charset", "utf8", "-graft-points",
                             "-path-list", paths, "-exclude-list", excluded)
    assert code == 0, err
    assert state(disc).status == "complete"
    assert disc_files(disc) == ["/some/one.txt", "/two.bin"]


@pytest.mark.parametrize("k3b", ["0.12", "19.12"])
def test_k3b_image_on_stdin(tmp_path, image, k3b):
    """K3b (debug reports of K3b 0.12 and 19.12.3): 'growisofs -Z
    /dev/scd0=/dev/fd/0 -use-the-force-luke=notray -use-the-force-luke=tty
    [-use-the-force-luke=4gms] -use-the-force-luke=tracksize:N -dvd-compat
    -speed=4 -use-the-force-luke=bufsize:32m' with the image on stdin."""
    disc = make_disc(tmp_path, "dvd+r")
    sectors = os.path.getsize(image) // SECTOR
    newer = ["-use-the-force-luke=4gms"] if k3b == "19.12" else []
    with open(image, "rb") as f:
        code, _, err = growisofs("-Z", f"sim:{disc}=/dev/fd/0", "-use-the-force-luke=notray",
                                 "-use-the-force-luke=tty", *newer,
                                 f"-use-the-force-luke=tracksize:{sectors}", "-dvd-compat",
                                 "-speed=4", "-use-the-force-luke=bufsize:32m", stdin=f.read())
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"


def test_brasero_image_file_with_tracksize(tmp_path, image):
    """Brasero burning an image file (its debug logs): 'growisofs
    -use-the-force-luke=notray -use-the-force-luke=4gms -dvd-compat -speed=16
    -use-the-force-luke=tracksize:N -use-the-force-luke=tty -Z
    /dev/sr1=/home/.../Spirit Of 76.iso' -- a name with spaces, and the
    track size given as well."""
    spaced = tmp_path / "Spirit Of 76.iso"
    shutil.copy(image, spaced)
    disc = make_disc(tmp_path, "dvd+rw")
    sectors = os.path.getsize(image) // SECTOR
    code, _, err = growisofs("-use-the-force-luke=notray", "-use-the-force-luke=4gms",
                             "-dvd-compat", "-speed=16", f"-use-the-force-luke=tracksize:{sectors}",
                             "-use-the-force-luke=tty", "-Z", f"sim:{disc}={spaced}")
    assert code == 0, err
    assert image_on(disc, image)


def test_k3b_0_11_on_the_fly(tmp_path, tree):
    """K3b 0.11 (a forum post's K3b debug output): 'growisofs -Z /dev/hdc
    -use-the-force-luke=notray -use-the-force-luke=tty -use-the-force-luke=dao
    -dvd-compat -speed=1 -gui -graft-points -volid "K3b data project" -volset ""
    -appid ... -publisher "" -preparer "K3b - Version 0.11.23" -sysid LINUX
    -volset-size 1 -volset-seqno 1 -sort FILE -rational-rock -hide-list FILE
    -full-iso9660-filenames -iso-level 2 -path-list FILE'.  isofuse master
    takes a volume set of one volume (-volset-size 1), so the line burns; a
    set of two is refused before the drive is touched."""
    sort = tmp_path / "k3b.sort"
    sort.write_text("")
    hide = tmp_path / "k3b.hide"
    hide.write_text("")
    paths = tmp_path / "k3b.paths"
    paths.write_text(f"/={tree}\n")
    disc = make_disc(tmp_path, "dvd-r")
    head = ["-Z", f"sim:{disc}", "-use-the-force-luke=notray", "-use-the-force-luke=tty",
            "-use-the-force-luke=dao", "-dvd-compat", "-speed=1", "-gui", "-graft-points",
            "-volid", "K3b data project", "-volset", "", "-appid",
            "K3B THE CD KREATOR VERSION 0.11.23", "-publisher", "", "-preparer",
            "K3b - Version 0.11.23", "-sysid", "LINUX"]
    tail = ["-sort", sort, "-rational-rock", "-hide-list", hide, "-full-iso9660-filenames",
            "-iso-level", "2", "-path-list", paths]
    code, _, err = growisofs(*head, "-volset-size", "2", "-volset-seqno", "1", *tail)
    assert code == errors.USAGE and "-volset-size" in err and untouched(disc)
    code, _, err = growisofs(*head, "-volset-size", "1", "-volset-seqno", "1", *tail)
    assert code == 0, err
    assert disc_files(disc) == ["/some/one.txt", "/two.bin"]


def test_discspan_script_and_its_test_mode(tmp_path, tree):
    """DiscSpan (a Python backup script): 'growisofs -Z DRIVE -speed=S
    -use-the-force-luke=notray -use-the-force-luke=tty -gui -V DiscSpanData -A
    DiscSpan -p Unknown -iso-level 3 -l -r -hide-rr-moved -J -joliet-long
    -graft-points --path-list LIST'; its "test" mode adds
    -use-the-force-luke=dummy (a test write: nothing recorded)."""
    listing = tmp_path / "list.discspanlist"
    listing.write_text(f"/some/one.txt={tree}/some/one.txt\n/two.bin={tree}/two.bin\n")
    line = ["-speed=4", "-use-the-force-luke=notray", "-use-the-force-luke=tty", "-gui", "-V",
            "DiscSpanData", "-A", "DiscSpan", "-p", "Unknown", "-iso-level", "3", "-l", "-r",
            "-hide-rr-moved", "-J", "-joliet-long", "-graft-points", "--path-list", listing]
    disc = make_disc(tmp_path, "dvd-r")
    code, _, err = growisofs("-Z", f"sim:{disc}", *line[:3], "-use-the-force-luke=dummy",
                             *line[3:])
    assert code == 0, err
    assert untouched(disc)
    code, _, err = growisofs("-Z", f"sim:{disc}", *line)
    assert code == 0, err
    assert disc_files(disc) == ["/some/one.txt", "/two.bin"]


def test_dao_closes_the_disc(tmp_path, image):
    """-use-the-force-luke=dao without -dvd-compat: disc-at-once, which
    closes the DVD-R (as growisofs and Brasero's notes say)."""
    disc = make_disc(tmp_path, "dvd-r")
    code, _, err = growisofs("-use-the-force-luke=dao", "-Z", f"sim:{disc}={image}")
    assert code == 0, err
    assert state(disc).status == "complete" and image_on(disc, image)


def test_refused_force_options(tmp_path, image):
    """ubDistBuild's 'growisofs -speed=3 -dvd-compat -Z "$3"=/dev/stdin
    -use-the-force-luke=notray -use-the-force-luke=spare:min
    -use-the-force-luke=bufsize:128m' and an Xbox script's
    '-use-the-force-luke=break:1913760': refused, nothing opened."""
    disc = make_disc(tmp_path, "bd-r")
    code, _, err = growisofs("-speed=3", "-dvd-compat", "-Z", f"sim:{disc}=/dev/stdin",
                             "-use-the-force-luke=notray", "-use-the-force-luke=spare:min",
                             "-use-the-force-luke=bufsize:128m", stdin=b"")
    assert code == errors.USAGE and "spare:min" in err
    code, _, err = growisofs("-use-the-force-luke=notray", "-use-the-force-luke=dao",
                             "-use-the-force-luke=break:1913760", "-dvd-compat", "-speed=2",
                             "-Z", f"sim:{disc}={image}")
    assert code == errors.USAGE and "break:1913760" in err
    assert untouched(disc)


def test_brasero_record_line(tmp_path, tree):
    """Brasero brasero_growisofs_set_argv_record for a data project, as it
    builds it: 'growisofs -use-the-force-luke=notray -use-the-force-luke=4gms
    -dvd-compat -speed=4 -Z DEV -r -J -input-charset utf8 -graft-points
    -path-list F -exclude-list F -V LABEL -A Brasero-3.12.2 -sysid LINUX -v';
    its progress parser reads the byte counter lines on stdout."""
    import re
    paths, excluded = _brasero_lists(tmp_path, tree)
    disc = make_disc(tmp_path, "dvd+r")
    code, out, err = growisofs("-use-the-force-luke=notray", "-use-the-force-luke=4gms",
                               "-dvd-compat", "-speed=4", "-Z", f"sim:{disc}", "-r", "-J",
                               "-input-charset", "utf8", "-graft-points", "-path-list", paths,
                               "-exclude-list", excluded, "-V", "Data disc", "-A",
                               "Brasero-3.12.2", "-sysid", "LINUX", "-v")
    assert code == 0, err
    assert state(disc).status == "complete" and disc_files(disc) == ["/some/one.txt", "/two.bin"]
    brasero = re.compile(r" *(\d+)/(\d+) \( *(\d+)\.(\d)%\) @ *(\d+)\.(\d)x, remaining "
                         r"\d+:\d+")
    counters = [m for m in map(brasero.match, out.splitlines()) if m]
    assert counters and counters[-1].group(1) == counters[-1].group(2)


def test_brasero_image_on_proc_self_fd(tmp_path, image):
    """Brasero with a piped image: 'growisofs -use-the-force-luke=notray
    -use-the-force-luke=4gms -dvd-compat -use-the-force-luke=tracksize:N
    -use-the-force-luke=tty -Z DEV=/proc/self/fd/0'."""
    disc = make_disc(tmp_path, "dvd-r")
    sectors = os.path.getsize(image) // SECTOR
    with open(image, "rb") as f:
        code, _, err = growisofs("-use-the-force-luke=notray", "-use-the-force-luke=4gms",
                                 "-dvd-compat", f"-use-the-force-luke=tracksize:{sectors}",
                                 "-use-the-force-luke=tty", "-Z", f"sim:{disc}=/proc/self/fd/0",
                                 stdin=f.read())
    assert code == 0, err
    assert image_on(disc, image) and state(disc).status == "complete"


# ---- growing overwritable media ----------------------------------------------------------------
@pytest.mark.parametrize("profile", ["dvd+rw", "bd-re", "dvd-rw-ro"])
def test_growing_overwritable_media(tmp_path, tree, more, profile):
    """-M on DVD+RW, BD-RE and DVD-RW restricted overwrite grows the ISO
    volume as growisofs does: the new session behind the old one, its
    descriptors copied to sector 16, so a reader of sector 16 (xorriso
    here) sees both trees."""
    disc = make_disc(tmp_path, profile, formatted=True)
    assert growisofs("-Z", f"sim:{disc}", "-R", "-J", tree)[0] == 0
    code, _, err = growisofs("-M", f"sim:{disc}", "-R", "-J", more)
    assert code == 0, err
    assert disc_files(disc) == ["/some/one.txt", "/three.txt", "/two.bin"]
    code, out, _ = run_as("cdrecord", f"dev=sim:{disc}", "-msinfo")
    start, nwa = (int(x) for x in out.split(","))
    assert start == 0 and nwa % 16 == 0 and nwa >= state(disc).recorded_end


def test_initial_session_overwrites_an_overwritable_disc(tmp_path, tree, more):
    disc = make_disc(tmp_path, "dvd+rw")
    assert growisofs("-Z", f"sim:{disc}", "-R", tree)[0] == 0
    assert growisofs("-Z", f"sim:{disc}", "-R", more)[0] == 0
    assert disc_files(disc) == ["/three.txt"]


# ---- -dvd-compat and -dry-run, the misparsed spellings ---------------------------------------
def test_dvd_compat_spelling(tmp_path, image):
    """-dvd-compat used to be '-d vd-compat' (a second drive).  Without -Z/-M
    it is refused and nothing is written; with them it closes the disc (and
    without it a DVD+R stays appendable)."""
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{disc}", "-dvd-compat", image)
    assert code == errors.USAGE and "growisofs option" in err and untouched(disc)
    code, _, err = run_as("isofuse-burn", "-dvd-compat", "-Z", f"sim:{disc}={image}")
    assert code == 0, err
    assert state(disc).status == "complete" and image_on(disc, image)
    open_disc = make_disc(tmp_path, "dvd+r", name="open.disc")
    assert run_as("isofuse-burn", "-Z", f"sim:{open_disc}={image}")[0] == 0
    assert state(open_disc).status == "appendable"


def test_dry_run_spelling(tmp_path, tree, image):
    """-dry-run used to be '-d ry-run' and burned.  Without -Z/-M it is
    refused; with them nothing is written; the same line without it burns."""
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = run_as("isofuse-burn", "-d", f"sim:{disc}", "-dry-run", image)
    assert code == errors.USAGE and "growisofs option" in err and untouched(disc)
    code, out, err = run_as("isofuse-burn", "-dry-run", "-Z", f"sim:{disc}", "-R", tree)
    assert code == 0 and "would write" in out and untouched(disc)
    assert run_as("isofuse-burn", "-Z", f"sim:{disc}", "-R", tree)[0] == 0
    assert disc_files(disc) == ["/some/one.txt", "/two.bin"]


# ---- refusals ----------------------------------------------------------------------------------
def test_initial_session_needs_a_blank_disc(tmp_path, tree, more):
    disc = make_disc(tmp_path, "dvd+r")
    assert growisofs("-Z", f"sim:{disc}", "-R", tree)[0] == 0
    before = state(disc)
    code, _, err = growisofs("-Z", f"sim:{disc}", "-R", more)
    assert code == errors.NO_SESSION and "-M adds one" in err
    assert state(disc) == before


def test_merge_needs_a_session(tmp_path, tree):
    disc = make_disc(tmp_path, "dvd+r")
    code, _, err = growisofs("-M", f"sim:{disc}", "-R", tree)
    assert code == errors.NO_SESSION and "-Z writes the first" in err and untouched(disc)


def test_refused_before_the_drive_is_opened(tmp_path, tree, monkeypatch):
    opened = []
    monkeypatch.setattr(cli_common, "open_drive", lambda *a, **k: opened.append(a))
    cases = [(["-Z", "/dev/sr9", "-R", "-bogus", tree], "unknown option -bogus"),
             (["-Z", "/dev/sr9", "-o", "out.iso", tree], "-o:"),
             (["-M", "/dev/sr9", "-C", "0,100", tree], "-C:"),
             (["-Z", "/dev/sr9", "-R"], "no SOURCE"),
             (["-R", "-J", tree], "-Z /dev/sr0"),
             (["-Z", "/dev/sr9", "-Z", "/dev/sr8", tree], "once"),
             (["-Z", "/dev/sr9=x.iso", "-R", tree], "no mkisofs options"),
             (["-use-the-force-luke=wibble", "-Z", "/dev/sr9", tree], "wibble: unknown"),
             (["-print-size", "-Z", "/dev/sr9", tree], "goes with -dry-run"),
             (["-speed=fast", "-Z", "/dev/sr9", tree], "-speed=fast")]
    for argv, words in cases:
        code, _, err = growisofs(*argv)
        assert code == errors.USAGE and words in err, (argv, err)
    assert opened == []


def test_translation():
    request = translate("growisofs", ["-Zsim:/d", "-overburn", "-speed=2.4", "-R", "dir"], {})
    assert request.argv == ["--device", "sim:/d", "--overburn", "--speed", "2.4", "--multi"]
    assert request.mkisofs == ["-R", "dir"] and request.initial_session
    request = translate("growisofs", ["-dvd-compat", "-M", "/dev/sr0", "-J", "dir"], {})
    assert "--multi" in request.argv and not request.initial_session
    with pytest.raises(DialectError):
        translate("growisofs", ["-Z", "/dev/sr0=/dev/zero"], {})


def test_growisofs_through_a_link(tmp_path):
    script = shutil.which("isofuse-burn")
    if script is None:
        pytest.skip("the isofuse-burn console script is not installed")
    link = tmp_path / "growisofs"
    link.symlink_to(script)
    proc = subprocess.run([str(link), "-version"], stdout=subprocess.PIPE, text=True)
    assert proc.returncode == 0 and "growisofs" in proc.stdout
