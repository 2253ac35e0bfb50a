"""Growing an image file with --append-to keeps every session listed and
readable, as xorriso's growing does: each session's descriptors stay at its
own start + 16, sectors 16-31 hold a copy of the newest, sessions start on
64 KiB boundaries behind the whole volume (docs/mkisofs-options.md,
"Growing an image file").  Checked with xorriso (-toc, -load session N),
isoinfo, our reader and our mount."""

import json
import os
import re
import subprocess

import pytest

from isofuse.reader import ReadOptions, open_image
from mountutil import ISOFUSE, mounted

MASTER = ISOFUSE + ["master"]
TOC_SESSION = re.compile(r"ISO session\s*:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)s")


def run(argv, check=True):
    result = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def master(*args, check=True):
    return run(MASTER + list(args), check=check)


def xorriso_toc(image):
    """[(start, own size)] of the sessions xorriso finds, and its messages."""
    out = run(["xorriso", "-indev", image, "-toc"])
    text = out.stdout + out.stderr
    return [(int(m.group(2)), int(m.group(3))) for m in TOC_SESSION.finditer(text)], text


def xorriso_names(image, session_number):
    """The root's names in xorriso's session N (counted from 1)."""
    out = run(["xorriso", "-indev", image, "-load", "session", session_number, "-lsd", "/*"])
    return sorted(re.findall(r"'/([^'/]+)'", out.stdout))


def our_names(image, session_index):
    with open_image(str(image), ReadOptions(session=session_index)) as img:
        return sorted(os.fsdecode(child.name) for child in img.listdir(img.root))


def our_sessions(image):
    out = run(ISOFUSE + ["info", "--json", image])
    return json.loads(out.stdout)["sessions"]


@pytest.fixture
def folders(tmp_path):
    """Three folders, one per session; each session's expected root."""
    made = []
    for name in ("one", "two", "three"):
        folder = tmp_path / name
        (folder / f"dir_{name}").mkdir(parents=True)
        (folder / f"{name}.txt").write_text(name * 100)
        (folder / f"dir_{name}" / "data.bin").write_bytes(os.urandom(40_000))
        made.append(folder)
    expected = [["dir_one", "one.txt"],
                ["dir_one", "dir_two", "one.txt", "two.txt"],
                ["dir_three", "dir_two", "one.txt", "three.txt", "two.txt"]]
    return made, expected


def grow_three(image, folders):
    one, two, three = folders
    master("-quiet", "-R", "-J", "--append-to", image, one)
    master("-quiet", "-R", "-J", "--append-to", image, two)
    master("-quiet", "-R", "-J", "--append-to", image, "--remove", "dir_one", three)


def check_chain(sessions):
    """xorriso's rule: each session starts on the first 32-sector boundary
    behind the previous one's own end."""
    for (start, size), (nxt, _) in zip(sessions, sessions[1:]):
        assert nxt == (start + size + 31) // 32 * 32, sessions


def test_a_new_image_grown_three_times_lists_every_session(folders, tmp_path):
    made, expected = folders
    image = tmp_path / "grown.iso"
    grow_three(image, made)
    sessions, text = xorriso_toc(image)
    assert "broken" not in text, text
    assert [start for start, _ in sessions][0] == 32     # as xorriso begins an image
    assert len(sessions) == 3
    check_chain(sessions)
    assert our_sessions(image) == [start for start, _ in sessions]
    for number, names in enumerate(expected):
        assert xorriso_names(image, number + 1) == names
        assert our_names(image, number) == names
    # isoinfo (sector 16 only): the newest tree, the whole volume's size
    info = run(["isoinfo", "-d", "-i", image]).stdout
    size = int(re.search(r"Volume size is: (\d+)", info).group(1))
    assert size * 2048 == os.path.getsize(image)
    listing = run(["isoinfo", "-R", "-f", "-i", image]).stdout.split()
    assert "/three.txt" in listing and "/dir_one" not in listing


@pytest.mark.mount
def test_every_grown_session_mounts(folders, tmp_path):
    made, expected = folders
    image = tmp_path / "grown.iso"
    grow_three(image, made)
    for number, names in enumerate(expected):
        with mounted(image, tmp_path / f"mnt{number}", [f"session={number}"]):
            assert sorted(os.listdir(tmp_path / f"mnt{number}")) == names
            text = (tmp_path / f"mnt{number}" / made[0].name).with_suffix(".txt")
            assert text.read_text() == "one" * 100


def test_xorriso_and_isofuse_grow_each_others_images(folders, tmp_path):
    made, expected = folders
    one, two, three = made
    image = tmp_path / "mixed.iso"
    run(["xorriso", "-dev", image, "-map", one, "/", "-commit"])
    master("-quiet", "-R", "-J", "--append-to", image, two)
    master("-quiet", "-R", "-J", "--append-to", image, three)
    run(["xorriso", "-dev", image, "-map", tmp_path / "three" / "three.txt", "/four.txt",
         "-commit"])
    sessions, text = xorriso_toc(image)
    assert "broken" not in text, text
    assert len(sessions) == 4
    check_chain(sessions)
    assert our_sessions(image) == [start for start, _ in sessions]
    assert xorriso_names(image, 4) == ["dir_one", "dir_three", "dir_two", "four.txt",
                                       "one.txt", "three.txt", "two.txt"]
    for number, names in enumerate(expected[:2]):
        assert our_names(image, number) == names


def test_a_session_after_a_large_one_starts_behind_it(tmp_path):
    """A session longer than its start + 16 (its own size read as absolute
    would end inside it) is still followed, not overwritten."""
    image = tmp_path / "big.iso"
    small, large, last = (tmp_path / n for n in ("small", "large", "last"))
    for folder in (small, large, last):
        folder.mkdir()
    (small / "s.txt").write_text("s")
    (large / "l.bin").write_bytes(os.urandom(600_000))
    (last / "z.txt").write_text("z")
    run(["xorriso", "-dev", image, "-map", small, "/", "-commit"])
    for folder in (large, last):
        master("-quiet", "-R", "--append-to", image, folder)
    sessions, text = xorriso_toc(image)
    assert "broken" not in text, text
    check_chain(sessions)
    with open_image(str(image), ReadOptions(session=1)) as img:
        data = img.read(img.resolve("l.bin"), 0, 600_000)
    assert data == (large / "l.bin").read_bytes()


def test_growing_an_image_made_at_sector_0_says_what_it_costs(folders, tmp_path):
    """mkisofs -o images begin at sector 0: their descriptors are the ones
    the copy replaces (xorriso -dev does the same); --append-to says so,
    and every reader sees the newest tree."""
    (one, two, _), _ = folders
    image = tmp_path / "plain.iso"
    master("-quiet", "-R", "-o", image, one)
    grown = master("-R", "--append-to", image, two)
    assert "readers list only the newest session" in grown.stderr
    assert "--append-to on a new file" in grown.stderr
    sessions, text = xorriso_toc(image)
    assert "broken" not in text, text
    assert xorriso_names(image, 1) == ["dir_one", "dir_two", "one.txt", "two.txt"]
    quiet = master("-quiet", "-R", "--append-to", image, two)
    assert quiet.stderr == ""


def test_append_to_a_new_file_refuses_remove(folders, tmp_path):
    (one, _, _), _ = folders
    result = master("-R", "--append-to", tmp_path / "new.iso", "--remove", "x", one,
                    check=False)
    assert result.returncode == 2
    assert "holds no session yet" in result.stderr
    assert not (tmp_path / "new.iso").exists()
    assert "Traceback" not in result.stderr


def test_print_size_of_a_new_growable_image_is_its_first_session(folders, tmp_path):
    (one, _, _), _ = folders
    image = tmp_path / "new.iso"
    sectors = int(master("-quiet", "-R", "--append-to", image, "-print-size", one).stdout)
    assert not image.exists()
    master("-quiet", "-R", "--append-to", image, one)
    assert os.path.getsize(image) == (32 + sectors) * 2048
