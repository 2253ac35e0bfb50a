"""Partitions appended behind the ISO (xorrisofs -append_partition N TYPE
FILE, -appended_part_as_gpt, -iso_mbr_part_type): the partition tables
against xorrisofs' for the same tree and options (xorriso
-report_system_area, addresses relative to the boot images and the ISO's
end: xorrisofs' directories take a few sectors more), and the partitions'
data where the tables say."""

import os
import re
import subprocess

import pytest

from isofuse.format import gpt, mbr
from isofuse.master.layout import Layout, LayoutError
from isofuse.master.options import ROCK_KEEP, BootSpec, MasterOptions
from isofuse.master.sourcetree import scan
from isofuse.master.stream import ImageStream
from test_hybrid_sysarea import (EFI_WORDS, EPOCH, ISOHDPFX, ISOLINUX_WORDS, make_boot_tree,
                                 master_api, normalized_report, run)

EFI_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_GUID = "0fc63daf-8483-4772-8e79-3d69d8477de4"
# name -> (isohybrid, [(number, type)], as GPT, -iso_mbr_part_type,
#          --mbr-force-bootable[, marks of the El Torito EFI image])
VARIANTS = {
    "mbr": (False, [(2, "0xef")], False, None, False),
    "mbr-two": (False, [(2, "0xef"), (3, "0x83")], False, "0x0c", False),
    "gpt": (False, [(2, "0xef")], True, None, False),
    "gpt-guid": (False, [(2, EFI_GUID), (4, LINUX_GUID)], True, "0x83", False),
    "isohybrid-mbr": (True, [(2, "0xef")], False, None, False),
    "isohybrid-gpt": (True, [(2, "28732ac11ff8d211ba4b00a0c93ec93b")], True, None, False),
    "guid-iso-type": (False, [(2, "0x0c")], False, LINUX_GUID, False),
    # archiso's line without its -partition_offset
    "isohybrid-gpt-bootable": (True, [(2, EFI_GUID)], True, None, True),
    "gpt-bootable": (False, [(2, "0xef")], True, None, True),
    "mbr-bootable": (False, [(2, "0xef")], False, None, True),
    # partition 3 (70000 bytes) right behind partition 2, not cylinder-aligned
    "isohybrid-two": (True, [(2, "0xef"), (3, "0x83")], False, None, False),
    # isohybrid's GPT (-isohybrid-gpt-basdat) with partitions behind the ISO:
    # they are listed in it as "AppendedN", its backup ends the image
    "isohybrid-basdat": (True, [(2, EFI_GUID)], False, None, True, ("gpt",)),
    "isohybrid-basdat-3": (True, [(3, "0x83")], False, None, False, ("gpt",)),
    "isohybrid-basdat-as-gpt": (True, [(2, "0xef"), (4, LINUX_GUID)], True, None, False,
                                ("gpt",)),
    "isohybrid-basdat-apm": (True, [(2, "0xef")], False, None, False, ("gpt", "apm")),
}


def _variant(name):
    isohybrid, specs, as_gpt, iso_type, bootable, *marks = VARIANTS[name]
    return isohybrid, specs, as_gpt, iso_type, bootable, (marks[0] if marks else ())


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("appended"))
    src = make_boot_tree(base)
    parts = {}
    for number, size in ((2, 100000), (3, 70000), (4, 3 << 20)):
        path = os.path.join(base, f"part{number}.img")
        with open(path, "wb") as f:
            f.write(bytes([number]) * size)
        parts[number] = path
    # partition 2 is a real FAT file system (the El Torito EFI image's copy)
    with open(os.path.join(src, "boot", "grub", "efi.img"), "rb") as f, \
            open(parts[2], "wb") as out:
        out.write(f.read())
    return src, parts


def our_options(variant, parts):
    isohybrid, specs, as_gpt, iso_type, bootable, marks = _variant(variant)
    extra = dict(append_partitions=[(n, t, parts[n]) for n, t in specs],
                 appended_part_as_gpt=as_gpt, iso_mbr_part_type=iso_type,
                 mbr_force_bootable=bootable)
    if isohybrid:
        extra.update(hybrid_mbr=ISOHDPFX, boot_catalog="isolinux/boot.cat",
                     boot=[BootSpec("isolinux/isolinux.bin", load_size=4, info_table=True)])
    if marks:
        extra["boot"].append(BootSpec("boot/grub/efi.img", platform=0xEF,
                                      gpt_basdat="gpt" in marks, apm_hfsplus="apm" in marks))
    return MasterOptions(rock=ROCK_KEEP, source_date_epoch=EPOCH, **extra)


def xorrisofs_words(variant, parts):
    isohybrid, specs, as_gpt, iso_type, bootable, marks = _variant(variant)
    words = ["-isohybrid-mbr", ISOHDPFX, *ISOLINUX_WORDS] if isohybrid else []
    if marks:
        words += EFI_WORDS + [{"gpt": "-isohybrid-gpt-basdat",
                               "apm": "-isohybrid-apm-hfsplus"}[m] for m in marks]
    if bootable:
        words.append("--mbr-force-bootable")
    for number, type_text in specs:
        words += ["-append_partition", str(number), type_text, parts[number]]
    if as_gpt:
        words.append("-appended_part_as_gpt")
    if iso_type:
        words += ["-iso_mbr_part_type", iso_type]
    return words


@pytest.fixture(scope="module")
def images(work, tmp_path_factory):
    src, parts = work
    out = tmp_path_factory.mktemp("appendedimg")
    made = {}
    for variant in VARIANTS:
        ours, theirs = str(out / f"{variant}.iso"), str(out / f"{variant}-x.iso")
        layout = master_api(src, ours, our_options(variant, parts))
        run(["xorrisofs", "-quiet", "-R", "-o", theirs, *xorrisofs_words(variant, parts), src],
            env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))
        made[variant] = (ours, theirs, layout)
    return made


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_partition_tables_equal_xorrisofs(images, variant):
    ours, theirs, _ = images[variant]
    mine = normalized_report(ours)
    assert mine == normalized_report(theirs)
    _, specs, as_gpt, _, bootable, marks = _variant(variant)
    number = specs[0][0]
    listed = f"Appended{number}" if as_gpt or marks else f"MBR partition      :   {number}"
    assert any(listed in line for line in mine), mine
    if bootable:
        assert any(re.match(r"MBR partition      :\s+\d\s+0x80", line) for line in mine)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_partition_data_where_the_table_says(images, work, variant):
    ours, _, layout = images[variant]
    _, parts = work
    with open(ours, "rb") as f:
        data = f.read()
    assert len(data) == layout.total_sectors * 2048
    _, specs, as_gpt, _, _, marks = _variant(variant)
    if as_gpt or marks:
        array = gpt.decode_header(data[512:1024])["entries_lba"] * 512
        entries = [gpt.decode_entry(data[array + 128 * i:array + 128 * (i + 1)])
                   for i in range(8)]
        starts = {int(name[8:]): first for _, _, first, _, _, name in entries
                  if name.startswith("Appended")}
    else:
        table = mbr.decode_table(data[:512])
        starts = {number: table[number - 1][2] for number, _ in specs}
    for number, _ in specs:
        with open(parts[number], "rb") as f:
            content = f.read()
        offset = starts[number] * 512
        assert data[offset:offset + len(content)] == content, number
    # the ISO's volume space ends where the first partition starts
    volume = int.from_bytes(data[16 * 2048 + 80:16 * 2048 + 84], "little")
    assert volume == layout.volume_sectors
    assert min(starts.values()) * 512 >= volume * 2048


def test_appended_fat_partition_is_readable(images):
    """mtools reads the appended EFI partition at its offset."""
    ours, _, _ = images["gpt"]
    with open(ours, "rb") as f:
        entry = gpt.decode_entry(f.read(2048)[1024 + 128:1024 + 256])
    assert entry[5] == "Appended2" and entry[0] == gpt.EFI_SYSTEM
    listing = run(["mdir", "-i", f"{ours}@@{entry[2] * 512}", "::/EFI/BOOT"]).stdout.decode()
    assert "BOOTX64" in listing


def test_random_access_over_partitions(images):
    ours, _, layout = images["gpt-guid"]
    with open(ours, "rb") as f:
        data = f.read()
    with ImageStream(layout) as stream:
        for offset in (layout.volume_sectors * 2048 - 3, len(data) - 40000, len(data) - 512):
            assert stream.read(offset, 70000) == data[offset:offset + 70000]


@pytest.mark.parametrize("specs,message", [
    ([(5, "0xef", "part2")], "not 1-4"),
    ([(2, "0xef", "part2"), (2, "0x83", "part2")], "given twice"),
    ([(2, "0xef", "/nonexistent.img")], "cannot read /nonexistent.img"),
    ([(2, "efi", "part2")], "not a partition type"),
    ([(2, "0x1ff", "part2")], "not a partition type"),
])
def test_bad_partitions_are_one_line_errors(work, specs, message):
    src, parts = work
    specs = [(n, t, parts[2] if p == "part2" else p) for n, t, p in specs]
    with pytest.raises(LayoutError, match=message):
        Layout(scan([src]), MasterOptions(append_partitions=specs))


def test_cli_error_for_a_bad_partition(work):
    src, _ = work
    result = subprocess.run(["isofuse", "master", "-quiet", "-o", "/dev/null",
                             "-append_partition", "2", "0xef", "/nonexistent.img", src],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert result.returncode != 0
    err = result.stderr.decode()
    assert "/nonexistent.img" in err and "Traceback" not in err, err
