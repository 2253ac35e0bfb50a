"""Growing an ISO volume on overwritable media keeps the first session's
data behind its descriptors (sectors 16-31 are read back, only the new
descriptors put over their start: burner/descriptorblock.py).

Checked with xorriso -indev (every file of the grown volume extracted and
compared) and isofuse's reader on each session's own descriptors; the files
hold random bytes, so zeros written over them cannot pass for them.
"""

import hashlib
import os
import subprocess

import pytest

from burner import descriptorblock
from burner.errors import SOURCE, BurnError
from burner_support import make_disc, make_tree, run, state
from isofuse.reader import open_image
from isofuse.reader.image import ReadOptions

pytestmark = pytest.mark.skipif(not subprocess.run(["sh", "-c", "command -v xorriso"],
                                                   capture_output=True).stdout,
                                reason="xorriso is not installed")

GROWING = ["dvd+rw", "bd-re", "dvd-rw-ro"]


def _sources(tmp_path):
    first = make_tree(tmp_path / "one", {"hello.txt": os.urandom(23),
                                         "dir/data.bin": os.urandom(640_000)})
    second = make_tree(tmp_path / "two", {"more/second.txt": os.urandom(40)})
    third = make_tree(tmp_path / "three", {"third.bin": os.urandom(70_000)})
    return first, second, third


def _files(*roots):
    out = {}
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    out["/" + os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _xorriso_files(image, tmp_path):
    """Every file of the volume xorriso reads, extracted: {path: sha256}."""
    out = tmp_path / "extracted"
    subprocess.run(["xorriso", "-indev", image, "-osirrox", "on", "-extract", "/", str(out)],
                   check=True, capture_output=True)
    files = _files(out)
    subprocess.run(["chmod", "-R", "u+w", str(out)], check=True)
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return files


def _reader_files(image, sbsector):
    """{path: sha256} of the tree whose descriptors are at sbsector + 16,
    read by isofuse's reader."""
    out = {}
    with open_image(image, ReadOptions(sbsector=sbsector)) as img:
        stack = [(img.root, "")]
        while stack:
            inode, prefix = stack.pop()
            for child in img.listdir(inode):
                path = prefix + "/" + child.name.decode()
                if child.is_dir:
                    stack.append((child, path))
                else:
                    out[path] = hashlib.sha256(img.read(child, 0, child.size)).hexdigest()
    return out


def _grow(disc, *args):
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", *args)
    assert code == 0, err


def _session_start(disc):
    code, out, err = run("--device", f"sim:{disc}", "--msinfo")
    assert code == 0, err
    return int(out.split(",")[1])


@pytest.mark.parametrize("profile", GROWING)
def test_growing_twice_keeps_every_file_of_every_session(tmp_path, profile):
    if profile == "dvd-rw-ro":
        disc = make_disc(tmp_path, "dvd-rw-ro", formatted=True)
    else:
        disc = make_disc(tmp_path, profile)
    first, second, third = _sources(tmp_path)
    _grow(disc, first)
    starts = [0, _session_start(disc)]
    _grow(disc, "--add", second)
    starts.append(_session_start(disc))
    _grow(disc, "--add", third)
    want = _files(first, second, third)
    assert _xorriso_files(disc, tmp_path) == want
    assert _reader_files(disc, 0) == want                 # the copy at 16: the newest
    # each later session's own descriptors name the first session's files too
    assert _reader_files(disc, starts[1]) == _files(first, second)
    assert _reader_files(disc, starts[2]) == want
    assert state(disc).recorded_end > starts[2]


def test_a_longer_descriptor_set_replaces_only_what_the_new_tree_does_not_use(tmp_path):
    """A first session with two descriptors (xorrisofs without -J: primary,
    terminator, and its root directory at 18); the folder burned next has a
    Joliet descriptor too, so its set covers 16-18: the old root, which the
    new tree does not use.  Everything behind 18 stays."""
    first, second, _ = _sources(tmp_path)
    image = str(tmp_path / "first.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-o", image, first], check=True,
                   capture_output=True)
    with open(image, "rb") as f:
        old = f.read()
    assert descriptorblock.descriptor_count(old[16 * 2048:32 * 2048]) == 2
    disc = make_disc(tmp_path, "dvd+rw")
    code, _, err = run("--device", f"sim:{disc}", image)
    assert code == 0, err
    _grow(disc, "--add", second)
    with open(disc, "rb") as f:
        grown = f.read()
    assert descriptorblock.descriptor_count(grown[16 * 2048:32 * 2048]) == 3
    assert grown[19 * 2048:32 * 2048] == old[19 * 2048:32 * 2048]
    assert _xorriso_files(disc, tmp_path) == _files(first, second)


class ImageVolume:
    def __init__(self, data):
        self.data = data

    def read(self, lba, count):
        return self.data[lba * 2048:(lba + count) * 2048]


def _xorriso_first_session(tmp_path):
    """xorriso's image of the first tree (primary, terminator, root directory
    at 18), its sectors 16-31, and a three-sector set (the primary, the same
    descriptor again as a supplementary one, the terminator) that would
    cover 18."""
    first, _, _ = _sources(tmp_path)
    image = str(tmp_path / "first.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-o", image, first], check=True,
                   capture_output=True)
    with open(image, "rb") as f:
        data = f.read()
    block = data[16 * 2048:32 * 2048]
    primary, terminator = block[:2048], block[2048:4096]
    return data, block, primary + b"\x02" + primary[1:] + terminator


def test_a_copy_over_something_the_new_tree_names_is_refused(tmp_path):
    """The check itself, on xorriso's image: its root directory lies at 18,
    right behind its terminator; a three-sector set (its primary, the same
    descriptor again as a supplementary one, a terminator) would cover it."""
    data, block, longer = _xorriso_first_session(tmp_path)
    with pytest.raises(BurnError) as caught:
        descriptorblock.check_replaced_sectors(ImageVolume(data), block, longer, "sim:x")
    assert caught.value.code == SOURCE
    assert "directory / " in str(caught.value) and "sector 18-18" in str(caught.value)
    # the same set's own length, or a shorter one, covers descriptors only
    primary, terminator = block[:2048], block[2048:4096]
    descriptorblock.check_replaced_sectors(ImageVolume(data), block, primary + terminator,
                                           "sim:x")


def test_stale_checksum_tags_behind_the_new_set_are_cleared():
    """A libisofs superblock tag (xorriso -md5) covers the descriptors
    before it: behind a new set it would be wrong, so it goes; other data
    stays."""
    tag = b"libisofs_sb_checksum_tag_v1 pos=18 range_start=0".ljust(2048, b"\x00")
    data = os.urandom(2048)
    old = b"\x01CD001".ljust(2048, b"\x00") + b"\xffCD001".ljust(2048, b"\x00") + tag + data
    new = b"\x01CD001\x01".ljust(2048, b"\x07") + b"\xffCD001".ljust(2048, b"\x00")
    block = descriptorblock.merged_block(old, new)
    assert len(block) == 16 * 2048
    assert block[:4096] == new
    assert block[4096:6144] == bytes(2048)
    assert block[6144:8192] == data
    # data that only begins like a tag (it names another sector) stays
    lookalike = b"libisofs_sb_checksum_tag_v1 pos=40 range_start=0".ljust(2048, b"\x01")
    block = descriptorblock.merged_block(old[:4096] + lookalike + data, new)
    assert block[4096:6144] == lookalike


def test_bd_r_pow_growing_keeps_the_first_sessions_files(tmp_path):
    from test_burner_pow import pow_disc
    disc = pow_disc(tmp_path)
    first, second, _ = _sources(tmp_path)
    _grow(disc, first)
    _grow(disc, "--add", second)
    assert _xorriso_files(disc, tmp_path) == _files(first, second)


def test_growisofs_dialect_keeps_the_first_sessions_files(tmp_path):
    """growisofs -Z DEV -R -J first, then -M DEV -R -J second (growisofs(1))."""
    disc = make_disc(tmp_path, "dvd+rw")
    first, second, _ = _sources(tmp_path)
    for mode, folder in (("-Z", first), ("-M", second)):
        code, _, err = run(mode, f"sim:{disc}", "-R", "-J", folder, program="growisofs")
        assert code == 0, err
    assert _xorriso_files(disc, tmp_path) == _files(first, second)


@pytest.mark.parametrize("tool", [["isofuse", "master", "-quiet"], ["genisoimage", "-quiet"],
                                  ["xorrisofs", "-quiet"]])
def test_an_image_mastered_for_the_next_session_keeps_the_first_sessions_files(tmp_path,
                                                                              tool):
    """mkisofs -C $(isofuse-burn --msinfo) -M DISC: the image is grown with
    the whole volume's size in its copy at 16 (hooks.Grown's way)."""
    disc = make_disc(tmp_path, "dvd+rw")
    first, second, _ = _sources(tmp_path)
    _grow(disc, first)
    msinfo = run("--device", f"sim:{disc}", "--msinfo")[1].strip()
    image = str(tmp_path / "next.iso")
    subprocess.run(tool + ["-R", "-J", "-C", msinfo, "-M", disc, "-o", image, second],
                   check=True, capture_output=True)
    _grow(disc, image)
    assert _xorriso_files(disc, tmp_path) == _files(first, second)


def test_growisofs_dry_run_makes_the_burns_descriptor_check(tmp_path, monkeypatch):
    """growisofs -dry-run -M decides the grown copy of sectors 16-31 as the
    burn does (recorder.grown_block: reads only), so a copy the burn would
    refuse is refused by the dry run too, and nothing is written."""
    from burner import recorder
    first, second, _ = _sources(tmp_path)
    disc = make_disc(tmp_path, "dvd+rw")
    _grow(disc, first)
    before = state(disc)
    asked = []

    def refuse(drive, status, source, plan):
        asked.append(plan.start)
        raise BurnError(f"{status.device}: would cover the first session; nothing was "
                        "written", SOURCE)
    monkeypatch.setattr(recorder, "grown_block", refuse)
    code, out, err = run("-dry-run", "-M", f"sim:{disc}", "-R", "-J", second,
                         program="growisofs")
    assert asked and code != 0, out
    assert "would cover the first session" in err
    assert state(disc) == before


def test_a_tree_too_big_to_walk_is_refused(tmp_path, monkeypatch):
    """The check proves the copy covers nothing the tree names only by
    walking the whole tree: a walk cut short by its bound refuses."""
    data, block, longer = _xorriso_first_session(tmp_path)
    monkeypatch.setattr(descriptorblock, "MAX_DIRECTORIES", 1)
    with pytest.raises(BurnError) as caught:
        descriptorblock.check_replaced_sectors(ImageVolume(data), block, longer, "sim:x")
    assert caught.value.code == SOURCE
    assert "cannot be checked" in str(caught.value)
