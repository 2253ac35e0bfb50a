"""-partition_offset N (xorrisofs): the image holds a partition from
sector N with its own descriptor set (at N + 16) and directory trees whose
addresses count from the partition's start, so the partition alone is an
ISO 9660 file system too.  Checked against xorrisofs (partition tables)
and by reading the partition alone (xorriso, bsdtar, our reader)."""

import os
import re
import shutil
import subprocess

import pytest

from isofuse.master.layout import Layout, LayoutError
from isofuse.master.options import ROCK_KEEP, BootSpec, MasterOptions
from isofuse.master.sourcetree import scan
from isofuse.reader.image import open_image
from test_hybrid_grub2 import BOOT_HYBRID, ELTORITO, make_grub_tree
from test_hybrid_sysarea import (EFI_WORDS, EPOCH, ISOHDPFX, ISOLINUX_WORDS, make_boot_tree,
                                 master_api, raw_report, reports_match, run)

EFI_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GRUB_BOOT = [BootSpec(ELTORITO, load_size=4, info_table=True, grub2_boot_info=True)]
GRUB_WORDS = ["-b", ELTORITO, "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
              "--grub2-boot-info"]
ISOLINUX_BOOT = [BootSpec("isolinux/isolinux.bin", load_size=4, info_table=True)]


def isolinux_efi_boot(apm=False):
    """isolinux and the El Torito EFI image marked -isohybrid-gpt-basdat
    (and -isohybrid-apm-hfsplus)."""
    return ISOLINUX_BOOT + [BootSpec("boot/grub/efi.img", platform=0xEF, gpt_basdat=True,
                                     apm_hfsplus=apm)]


def variants(esp):
    """name -> (tree, our options, xorrisofs words)"""
    return {
        "plain-joliet": ("grub", dict(joliet=True, boot=GRUB_BOOT[:1]),
                         ["-J", *GRUB_WORDS]),
        "isohybrid": ("isolinux", dict(hybrid_mbr=ISOHDPFX, boot=ISOLINUX_BOOT,
                                       boot_catalog="isolinux/boot.cat"),
                      ["-isohybrid-mbr", ISOHDPFX, *ISOLINUX_WORDS]),
        # archiso's line (an ESP appended as a GPT partition)
        "archiso": ("isolinux", dict(hybrid_mbr=ISOHDPFX, boot=ISOLINUX_BOOT,
                                     boot_catalog="isolinux/boot.cat", mbr_force_bootable=True,
                                     append_partitions=[(2, EFI_GUID, esp)],
                                     appended_part_as_gpt=True),
                    ["-isohybrid-mbr", ISOHDPFX, "--mbr-force-bootable", *ISOLINUX_WORDS,
                     "-append_partition", "2", EFI_GUID, esp, "-appended_part_as_gpt"]),
        # Ubuntu's line (GRUB2 MBR, ESP appended, the ISO partition typed)
        "ubuntu": ("grub", dict(grub2_mbr=BOOT_HYBRID, mbr_force_bootable=True,
                                append_partitions=[(2, "28732ac11ff8d211ba4b00a0c93ec93b", esp)],
                                appended_part_as_gpt=True,
                                iso_mbr_part_type="a2a0d0ebe5b9334487c068b6b72699c7",
                                boot=GRUB_BOOT),
                   ["--grub2-mbr", BOOT_HYBRID, "--mbr-force-bootable", "-append_partition",
                    "2", "28732ac11ff8d211ba4b00a0c93ec93b", esp, "-appended_part_as_gpt",
                    "-iso_mbr_part_type", "a2a0d0ebe5b9334487c068b6b72699c7", *GRUB_WORDS]),
        "mbr-appended": ("grub", dict(append_partitions=[(2, "0xef", esp)]),
                         ["-append_partition", "2", "0xef", esp]),
        # isohybrid's GPT: "ISOHybrid" from the partition's start
        "isohybrid-gpt": ("isolinux", dict(hybrid_mbr=ISOHDPFX, boot=isolinux_efi_boot(),
                                           boot_catalog="isolinux/boot.cat"),
                          ["-isohybrid-mbr", ISOHDPFX, *ISOLINUX_WORDS, *EFI_WORDS,
                           "-isohybrid-gpt-basdat"]),
        "isohybrid-gpt-apm": ("isolinux", dict(hybrid_mbr=ISOHDPFX,
                                               boot=isolinux_efi_boot(apm=True),
                                               boot_catalog="isolinux/boot.cat"),
                              ["-isohybrid-mbr", ISOHDPFX, *ISOLINUX_WORDS, *EFI_WORDS,
                               "-isohybrid-gpt-basdat", "-isohybrid-apm-hfsplus"]),
        # archiso's releng line with its EFI image inside the ISO
        "isohybrid-gpt-appended": ("isolinux", dict(
            hybrid_mbr=ISOHDPFX, boot=isolinux_efi_boot(), boot_catalog="isolinux/boot.cat",
            mbr_force_bootable=True, append_partitions=[(2, EFI_GUID, esp)]),
            ["-isohybrid-mbr", ISOHDPFX, "--mbr-force-bootable", *ISOLINUX_WORDS,
             "-append_partition", "2", EFI_GUID, esp, *EFI_WORDS, "-isohybrid-gpt-basdat"]),
    }


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("offset"))
    isolinux = make_boot_tree(work)
    esp = os.path.join(work, "esp.img")
    shutil.copy(os.path.join(isolinux, "boot", "grub", "efi.img"), esp)
    return {"isolinux": isolinux, "grub": make_grub_tree(work), "esp": esp}


@pytest.fixture(scope="module")
def images(trees, tmp_path_factory):
    out = tmp_path_factory.mktemp("offsetimg")
    made = {}
    for name, (tree, extra, words) in variants(trees["esp"]).items():
        ours, theirs = str(out / f"{name}.iso"), str(out / f"{name}-x.iso")
        options = MasterOptions(rock=ROCK_KEEP, source_date_epoch=EPOCH, partition_offset=16,
                                **extra)
        layout = master_api(trees[tree], ours, options)
        run(["xorrisofs", "-quiet", "-R", "-o", theirs, "-partition_offset", "16", *words,
             trees[tree]], env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))
        made[name] = (ours, theirs, layout, trees[tree])
    return made


NAMES = list(variants("esp"))


@pytest.mark.parametrize("name", NAMES)
def test_partition_tables_equal_xorrisofs(images, name):
    ours, theirs, _, _ = images[name]
    assert reports_match(ours, theirs), (raw_report(ours), raw_report(theirs))
    assert "Partition offset   : 16" in raw_report(ours)


def partition_alone(image, tmp_path):
    part = str(tmp_path / "partition.iso")
    with open(image, "rb") as f, open(part, "wb") as out:
        f.seek(16 * 2048)
        shutil.copyfileobj(f, out)
    return part


def extracted(image, target):
    os.makedirs(target)
    run(["bsdtar", "-xf", image, "-C", target])
    return target


@pytest.mark.parametrize("name", NAMES)
def test_the_partition_alone_is_the_same_file_system(images, tmp_path, name):
    ours, _, layout, _ = images[name]
    part = partition_alone(ours, tmp_path)
    whole = extracted(ours, str(tmp_path / "whole"))
    alone = extracted(part, str(tmp_path / "alone"))
    assert subprocess.run(["diff", "-r", whole, alone]).returncode == 0
    with open_image(part) as image, open_image(ours) as full:
        assert sorted(c.name for c in image.listdir(image.root)) == \
            sorted(c.name for c in full.listdir(full.root))
    # xorriso reads the partition's own tree: same files and contents
    text = run(["xorriso", "-indev", part, "-find", "/", "-type", "f"]).stdout.decode()
    assert "hello.txt" in text
    # the two descriptor sets: the partition's counts from its own start
    with open(ours, "rb") as f:
        data = f.read(40 * 2048)
    first = int.from_bytes(data[16 * 2048 + 80:16 * 2048 + 84], "little")
    second = int.from_bytes(data[32 * 2048 + 80:32 * 2048 + 84], "little")
    assert first == layout.total_sectors
    assert second == layout.volume_sectors - 16


def test_xorriso_compares_the_partition_with_the_source(images, tmp_path):
    ours, _, _, src = images["plain-joliet"]
    part = partition_alone(ours, tmp_path)
    text = subprocess.run(["xorriso", "-indev", part, "-compare_r", src, "/"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    problems = [line for line in text.splitlines() if "(DISK)" in line or "(ISO)" in line]
    # times (SOURCE_DATE_EPOCH), the boot catalog and the patched boot image only
    unexpected = [line for line in problems if not re.search(r": st_[acm]time ", line)
                  and "boot.catalog" not in line and ELTORITO not in line]
    assert not unexpected, text


def test_print_size_exact(images):
    for ours, _, layout, _ in images.values():
        assert os.path.getsize(ours) == layout.total_sectors * 2048


def test_offsets_below_16_are_refused(trees):
    with pytest.raises(LayoutError, match="at least 16"):
        Layout(scan([trees["grub"]]), MasterOptions(partition_offset=4))


def test_images_without_offset_have_one_descriptor_set(trees, tmp_path):
    out = str(tmp_path / "plain.iso")
    master_api(trees["grub"], out, MasterOptions(rock=ROCK_KEEP))
    with open(out, "rb") as f:
        data = f.read(40 * 2048)
    assert data[32 * 2048 + 1:32 * 2048 + 6] != b"CD001"
