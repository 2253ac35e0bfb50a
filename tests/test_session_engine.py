"""The session engine (isofuse/master/session.py) both front ends call, and
the drive probe isofuse stage gets from the entry point instead of
importing the burner."""

import os
import subprocess
import sys

import pytest

from isofuse.master import session

EPOCH = "1700000000"


def xorriso_grown(tmp_path, times=3):
    image = str(tmp_path / "x.iso")
    for number in range(times):
        folder = tmp_path / f"s{number}"
        folder.mkdir()
        (folder / f"f{number}.txt").write_text(str(number))
        subprocess.run(["xorriso", "-dev", image, "-map", str(folder), f"/s{number}",
                        "-commit"], check=True, capture_output=True, timeout=300)
    return image


def test_the_grown_copy_is_xorrisos(tmp_path):
    """xorriso's copy at 16 is the newest session's own set with the whole
    volume's size (ECMA-119 §8.4.8) -- what grown_descriptor_copy makes."""
    from isofuse.reader import open_image
    image = xorriso_grown(tmp_path)
    with open_image(image) as img:
        start = img.sessions[-1]
    data = open(image, "rb").read()
    own = data[(start + 16) * 2048:(start + 32) * 2048]
    whole = int.from_bytes(data[16 * 2048 + 80:16 * 2048 + 84], "little")
    copy = session.grown_descriptor_copy(own, whole)
    assert copy == data[16 * 2048:16 * 2048 + len(copy)]
    assert copy[-2048] == 255                       # up to the terminator


def test_grow_start_follows_xorrisos_next_writable_address(tmp_path):
    image = xorriso_grown(tmp_path, times=2)
    from isofuse.master.previous import volume_end
    from isofuse.reader import open_image
    toc = subprocess.run(["xorriso", "-indev", image, "-toc"], capture_output=True,
                         text=True).stdout
    nwa = int(toc.split("Media nwa    :")[1].split("s")[0])
    with open_image(image) as img:
        assert session.grow_start(volume_end(img)) == nwa


def test_the_burner_and_isofuse_master_make_the_same_staging_image(tmp_path, monkeypatch):
    """One engine: isofuse-burn's folder source (the staging profile) and
    isofuse master -r -J -iso-level 2 give the same bytes."""
    from burner import sources
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.bin").write_bytes(os.urandom(30_000))
    for path in (src / "sub" / "b.bin", src / "a.txt", src / "sub", src):
        os.utime(path, (1600000000, 1600000000))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "master.iso"
    subprocess.run([sys.executable, "-m", "isofuse.cli.main", "master", "-quiet", "-r", "-J",
                    "-iso-level", "2", "-o", str(out), str(src)], check=True,
                   env=dict(os.environ))
    burned = sources.MasteredSource([str(src)])
    try:
        data = burned.read(0, burned.size)
    finally:
        burned.close()
    assert data == out.read_bytes()


def test_source_date_epoch_must_be_a_number():
    assert session.source_date_epoch({"SOURCE_DATE_EPOCH": "12"}) == 12
    assert session.source_date_epoch({}) is None
    with pytest.raises(session.SessionError, match="number of seconds") as caught:
        session.source_date_epoch({"SOURCE_DATE_EPOCH": "soon"})
    assert caught.value.usage


def test_a_start_inside_the_previous_session_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "a.txt").write_text("a")
    image = xorriso_grown(tmp_path, times=1)
    from isofuse.master.options import MasterOptions
    options = MasterOptions()
    with pytest.raises(session.SessionError, match="lies inside") as caught:
        session.build_tree(session.Sources([str(tmp_path / "a")]), options,
                           session.Continuation(image, start=40))
    assert caught.value.about == "start"


def test_isofuse_imports_no_burner():
    code = ("import sys, isofuse.cli.main, isofuse.cli.stage, isofuse.cli.master, "
            "isofuse.master.session\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'burner'], "
            "sorted(m for m in sys.modules if m.startswith('burner'))")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_burner_registers_the_drive_probe(tmp_path):
    """setup.cfg's entry point reaches burner.driveprobe: a simulated
    CD-R's blank space, as the drive reports it."""
    from isofuse.cli.main import drive_probe
    disc = tmp_path / "disc"
    subprocess.run([sys.executable, "-m", "burner.simtool", "create", str(disc),
                    "--profile", "cd-r"], check=True, stdout=subprocess.DEVNULL)
    facts = drive_probe()(f"sim:{disc}")
    assert facts.medium == "CD-R" and facts.free_blocks > 300_000
    assert facts.msinfo is None                      # blank: no session to continue


def test_without_the_burner_stage_says_so(monkeypatch):
    import importlib.metadata
    from isofuse.cli import main, stage
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [])
    with pytest.raises(stage.OptionError, match="burner .isofuse-burn.*not installed"):
        stage.parse_options(["medium=sim:/nowhere"], main.drive_probe())
    with pytest.raises(stage.OptionError, match="not installed"):
        stage.parse_options(["medium=sim:/nowhere"])
