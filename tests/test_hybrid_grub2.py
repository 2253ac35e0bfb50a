"""GRUB2 hybrid images (xorrisofs --grub2-mbr FILE, --grub2-boot-info, -G
FILE): the system area and the patched boot image against xorrisofs' for
the same tree and options (addresses named, as in test_hybrid_sysarea)."""

import os
import re
import struct

import pytest

from isofuse.master.layout import Layout, LayoutError
from isofuse.master.options import ROCK_KEEP, BootSpec, MasterOptions
from isofuse.master.sourcetree import scan
from test_hybrid_sysarea import EPOCH, master_api, run

BOOT_HYBRID = "/usr/lib/grub/i386-pc/boot_hybrid.img"
GRUB_BIOS_MARKER = "ISOFUSE-GRUB-BIOS-MARKER"
ELTORITO = "boot/grub/eltorito.img"
GRUB_WORDS = ["-b", ELTORITO, "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
              "--grub2-boot-info"]


def make_grub_tree(work):
    """GRUB's BIOS El Torito image, its built-in config printing
    GRUB_BIOS_MARKER on the serial port before it halts."""
    src = os.path.join(work, "gtree")
    os.makedirs(os.path.join(src, "boot", "grub"))
    early = os.path.join(work, "early.cfg")
    with open(early, "w") as f:
        f.write("serial --unit=0 --speed=115200\nterminal_output serial\n"
                f"echo {GRUB_BIOS_MARKER}\nhalt\n")
    run(["grub-mkimage", "-O", "i386-pc-eltorito", "-p", "/boot/grub", "-c", early,
         "-o", os.path.join(src, ELTORITO), "biosdisk", "iso9660", "echo", "halt", "serial",
         "terminal", "normal"])
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("hello\n")
    return src


def grub_options(**extra):
    return MasterOptions(rock=ROCK_KEEP, source_date_epoch=EPOCH, boot=[
        BootSpec(ELTORITO, load_size=4, info_table=True, grub2_boot_info=True)], **extra)


@pytest.fixture(scope="module")
def grub_tree(tmp_path_factory):
    return make_grub_tree(str(tmp_path_factory.mktemp("grubtree")))


def xorrisofs(src, out, words):
    run(["xorrisofs", "-quiet", "-R", "-o", out, *words, src],
        env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_grub2_mbr_and_boot_info_as_xorrisofs(grub_tree, tmp_path):
    ours, theirs = str(tmp_path / "ours.iso"), str(tmp_path / "theirs.iso")
    layout = master_api(grub_tree, ours, grub_options(grub2_mbr=BOOT_HYBRID))
    xorrisofs(grub_tree, theirs, ["--grub2-mbr", BOOT_HYBRID, *GRUB_WORDS])
    mine, other = read(ours), read(theirs)
    sector = layout.file_extents(layout.boot_nodes[0])[0][0]
    text = run(["xorriso", "-indev", theirs, "-find", "/" + ELTORITO, "-exec",
                "report_lba"]).stdout.decode()
    xsector = int(re.search(r"File data lba:\s+\d+ ,\s+(\d+)", text).group(1))
    # the file's bytes, then its 512-byte address + 4 at 432 (boot_hybrid.img loads
    # the image's core from there), then the rest of the file
    for image, at in ((mine, sector), (other, xsector)):
        assert image[:432] == read(BOOT_HYBRID)[:432]
        assert struct.unpack_from("<Q", image, 432)[0] == at * 4 + 4
        assert image[440:512] == read(BOOT_HYBRID)[440:512]
        assert not image[512:32768].strip(b"\x00")
        # --grub2-boot-info: the image's own address + 5 at its byte 2548
        assert struct.unpack_from("<Q", image, at * 2048 + 2548)[0] == at * 4 + 5

    def report(path):
        text = run(["xorriso", "-indev", path, "-report_system_area", "plain"]).stdout
        return [line for line in text.decode().splitlines()
                if not line.startswith("ISO image size/512")]
    assert report(ours) == report(theirs)
    assert "System area summary: MBR grub2-mbr cyl-align-off" in report(ours)


def test_minus_g_copies_the_file_as_is(grub_tree, tmp_path):
    ours, theirs = str(tmp_path / "ours.iso"), str(tmp_path / "theirs.iso")
    master_api(grub_tree, ours, MasterOptions(rock=ROCK_KEEP, source_date_epoch=EPOCH,
                                              system_area_file=BOOT_HYBRID))
    xorrisofs(grub_tree, theirs, ["-G", BOOT_HYBRID])
    assert read(ours)[:32768] == read(theirs)[:32768] == \
        read(BOOT_HYBRID).ljust(32768, b"\x00")


def test_grub2_mbr_needs_a_boot_image(grub_tree):
    with pytest.raises(LayoutError, match="El Torito"):
        Layout(scan([grub_tree]), MasterOptions(grub2_mbr=BOOT_HYBRID))


def test_only_one_system_area_source(grub_tree):
    with pytest.raises(LayoutError, match="only one of"):
        Layout(scan([grub_tree]), grub_options(grub2_mbr=BOOT_HYBRID,
                                               system_area_file=BOOT_HYBRID))


def test_grub2_boot_info_needs_a_large_enough_image(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.img").write_bytes(b"\x00" * 2048)
    options = MasterOptions(boot=[BootSpec("small.img", grub2_boot_info=True)])
    with pytest.raises(LayoutError, match="2556 bytes"):
        Layout(scan([str(src)]), options)


def test_without_grub_options_no_patch(grub_tree, tmp_path):
    out = str(tmp_path / "plain.iso")
    layout = master_api(grub_tree, out, MasterOptions(rock=ROCK_KEEP, boot=[
        BootSpec(ELTORITO, load_size=4)]))
    sector = layout.file_extents(layout.boot_nodes[0])[0][0]
    data = read(out)
    original = read(os.path.join(grub_tree, ELTORITO))
    assert data[sector * 2048:sector * 2048 + len(original)] == original
    assert not data[:32768].strip(b"\x00")


def test_boot_info_table_sum_covers_the_grub2_boot_info(grub_tree, tmp_path):
    """xorriso checks a boot info table's 32-bit sum (bytes 20-23) against
    the image as written, GRUB2's boot info at 2548 included, and only then
    reports "boot-info-table" for the entry."""
    ours, theirs = str(tmp_path / "ours.iso"), str(tmp_path / "theirs.iso")
    master_api(grub_tree, ours, grub_options(grub2_mbr=BOOT_HYBRID))
    xorrisofs(grub_tree, theirs, ["--grub2-mbr", BOOT_HYBRID, *GRUB_WORDS])

    def options(path):
        text = run(["xorriso", "-indev", path, "-report_el_torito", "plain"]).stdout.decode()
        return re.findall(r"^El Torito img opts :\s+1\s+(.*)$", text, re.M)
    assert options(theirs) == ["boot-info-table grub2-boot-info"]
    assert options(ours) == options(theirs)
