"""--md5: libisofs' session and file checksums, verified by xorriso
(-check_md5 for the session, -check_md5_r for each file) on our images;
one flipped byte makes both fail.  xorriso loads recorded checksums only
with "-md5 on" (its default is off, for its own images too)."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

from isofuse.master.layout import Layout, LayoutError
from isofuse.master.options import ROCK_KEEP, BootSpec, MasterOptions
from isofuse.master.sourcetree import scan
from isofuse.master.stream import ImageStream

EPOCH = 1700000000


def xorriso_md5(image, *command):
    result = subprocess.run(["xorriso", "-md5", "on", "-indev", image, *command],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    return result.returncode, result.stdout.decode(errors="replace")


def check_session(image):
    return xorriso_md5(image, "-check_md5", "FAILURE", "--")


def check_files(image):
    return xorriso_md5(image, "-check_md5_r", "FAILURE", "/", "--")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    src = tmp_path_factory.mktemp("md5src")
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    (src / "empty").write_bytes(b"")
    (src / "sub" / "b.bin").write_bytes(os.urandom(5000))
    (src / "sub" / "deeper" / "big.bin").write_bytes(os.urandom(3 << 20))
    os.link(src / "a.txt", src / "sub" / "hardlink.txt")
    os.symlink("a.txt", src / "link")
    # a boot image with a boot info table: its MD5 covers the patched bytes
    (src / "boot.img").write_bytes(os.urandom(4096))
    return str(src)


def options(**extra):
    return MasterOptions(rock=ROCK_KEEP, md5=True, source_date_epoch=EPOCH, **extra)


def master(src, out, opts):
    layout = Layout(scan([src]), opts)
    with ImageStream(layout) as stream, open(out, "wb") as f:
        stream.write_to(f.fileno())
    return layout


@pytest.fixture(scope="module")
def image(tree, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("md5img") / "md5.iso")
    layout = master(tree, out, options(boot=[BootSpec("boot.img", load_size=4,
                                                      info_table=True)]))
    return out, layout


def data_sector(image, path):
    text = subprocess.run(["xorriso", "-indev", image, "-find", path, "-exec", "report_lba"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    return int(re.search(r"File data lba:\s+\d+ ,\s+(\d+)", text).group(1))


def flipped(image, offset, tmp_path):
    bad = str(tmp_path / "bad.iso")
    shutil.copy(image, bad)
    with open(bad, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes((byte[0] ^ 0xFF,)))
    return bad


def test_xorriso_checks_session_and_files(image):
    path, _ = image
    status, text = check_session(path)
    assert status == 0, text
    assert "Ok, session data match recorded md5" in text, text
    status, text = check_files(path)
    assert status == 0, text
    assert "File contents and their MD5 checksums match" in text, text
    assert "WARNING" not in text and "SORRY" not in text, text


def test_a_flipped_data_byte_fails_both_checks(image, tmp_path):
    path, _ = image
    bad = flipped(path, data_sector(path, "/sub/b.bin") * 2048 + 100, tmp_path)
    status, text = check_session(bad)
    assert status != 0 and "MD5 MISMATCH" in text.upper(), text
    status, text = check_files(bad)
    assert status != 0 and "Mismatch detected between file contents" in text, text


def test_a_flipped_directory_byte_fails_the_session_check(image, tmp_path):
    path, layout = image
    # a byte in the padding of the root directory's last sector
    offset = layout.iso_root.extent * 2048 + 2047
    bad = flipped(path, offset, tmp_path)
    status, text = check_session(bad)
    assert status != 0, text


def test_tags_and_array_as_libisofs_describes_them(image):
    path, layout = image
    with open(path, "rb") as f:
        data = f.read()
    plan = layout.checksums
    tags = {}
    for sector in (plan.sb_tag_sector, plan.tree_tag_sector, plan.session_tag_sector):
        line = data[sector * 2048:(sector + 1) * 2048].split(b"\n")[0].decode()
        name, *fields = line.split()
        values = dict(field.split("=") for field in fields)
        assert int(values["pos"]) == sector and values["range_start"] == "0"
        assert values["md5"] == hashlib.md5(data[:sector * 2048]).hexdigest()
        body = line[:line.index(" self=")]
        assert values["self"] == hashlib.md5(body.encode()).hexdigest()
        tags[name] = values
    assert tags["libisofs_sb_checksum_tag_v1"]["next"] == str(plan.tree_tag_sector)
    assert tags["libisofs_tree_checksum_tag_v1"]["next"] == str(plan.session_tag_sector)
    array = data[plan.array_sector * 2048:plan.array_sector * 2048 + 16 * plan.entries]
    assert array[:16] == hashlib.md5(data[:plan.array_sector * 2048]).digest()
    assert array[-16:] == hashlib.md5(array[:-16]).digest()
    assert hashlib.md5(b"").digest() in array              # the empty file


def test_same_structure_as_xorrisofs(tree, image, tmp_path):
    """xorrisofs --md5 on the same tree: three tags, the same number of
    checksummed files (hard links share an entry, symlinks have none)."""
    theirs = str(tmp_path / "x.iso")
    subprocess.run(["xorrisofs", "-quiet", "-R", "--md5", "-b", "boot.img", "-no-emul-boot",
                    "-boot-load-size", "4", "-boot-info-table", "-o", theirs, tree],
                   check=True, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))

    def summary(path):
        status, text = check_session(path)
        assert status == 0, text
        with open(path, "rb") as f:
            data = f.read()
        names = re.findall(rb"(libisofs_\w+_v1) pos=", data)
        blocks = re.search(r"Session MD5 \w+ , LBA 0 , (\d+) blocks", text)
        return names, blocks is not None
    assert summary(image[0]) == summary(theirs)


def test_print_size_and_random_access(image):
    path, layout = image
    size = os.path.getsize(path)
    assert layout.total_sectors * 2048 == size
    with open(path, "rb") as f:
        data = f.read()
    plan = layout.checksums
    for sector in (plan.session_tag_sector, plan.array_sector, plan.tree_tag_sector,
                   plan.sb_tag_sector):
        # a fresh stream: the array is computed on demand by the first read
        with ImageStream(layout) as stream:
            offset = sector * 2048 - 10
            assert stream.read(offset, 5000) == data[offset:offset + 5000], sector


def test_images_without_md5_have_no_tags(tree, tmp_path):
    out = str(tmp_path / "plain.iso")
    master(tree, out, MasterOptions(rock=ROCK_KEEP, source_date_epoch=EPOCH))
    with open(out, "rb") as f:
        assert b"libisofs_" not in f.read()


def test_md5_needs_rock_ridge(tree):
    with pytest.raises(LayoutError, match="Rock Ridge"):
        Layout(scan([tree]), MasterOptions(md5=True))


def test_md5_for_a_later_session_counts_from_its_start(tree):
    # the session's tags name its own start (xorriso's session_start=), and
    # the relocated superblock tag behind the grown copy is the engine's
    layout = Layout(scan([tree]), options(session_start=1000))
    assert layout.checksums is not None and layout.base == 1000


# ---- grown images (--append-to): the tag behind the descriptor copy ----------------------------

def xorriso_grown_with_md5(tmp_path):
    """An image xorriso -md5 on grew twice (its copy at 16 is followed by
    the relocated superblock tag)."""
    image = str(tmp_path / "xorriso-grown.iso")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name)
        subprocess.run(["xorriso", "-md5", "on", "-dev", image, "-map", str(tmp_path / name),
                        f"/{name}", "-commit"], check=True, capture_output=True, timeout=300)
    return image


def test_the_tag_behind_the_grown_copy_is_xorrisos(tmp_path):
    from isofuse.master.checksums import relocated_superblock_tag
    with open(xorriso_grown_with_md5(tmp_path), "rb") as f:
        data = f.read()
    theirs = data[18 * 2048:19 * 2048]
    assert theirs.startswith(b"libisofs_rlsb32_checksum_tag_v1 pos=18 ")
    start = int(re.search(rb"session_start=(\d+)", theirs).group(1))
    assert relocated_superblock_tag(data[:18 * 2048], start) == theirs


def isofuse_master(*words):
    return subprocess.run([sys.executable, "-m", "isofuse.cli.main", "master", "-quiet",
                           *map(str, words)], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("first", ["new-file", "sector-0"])
def test_xorriso_checks_every_grown_session(tree, tmp_path, first):
    image = tmp_path / "grown.iso"
    if first == "sector-0":
        assert isofuse_master("-R", "--md5", "-o", image, tree).returncode == 0
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name)
        grown = isofuse_master("-R", "--md5", "--append-to", image, tmp_path / name)
        assert grown.returncode == 0, grown.stderr
    status, text = check_session(str(image))
    assert status == 0 and "Ok, session data match recorded md5" in text, text
    status, text = check_files(str(image))
    assert status == 0 and "File contents and their MD5 checksums match" in text, text
    if first == "new-file":
        for number in (1, 2):
            status, text = xorriso_md5(str(image), "-load", "session", str(number),
                                       "-check_md5", "FAILURE", "--")
            assert status == 0 and "Ok, session data match" in text, text
