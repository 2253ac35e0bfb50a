"""Boot images that are partitions (issue #12): the El Torito EFI image as
an appended partition (xorrisofs ``-e --interval:appended_partition_N:all::``,
archiso's releng line, Ubuntu 22.04/24.04) and ``-efi-boot-part DISKFILE``
(a disk file as the GPT's EFI system partition, in front of the ISO's file
data).  The same words run through ``isofuse master`` and xorrisofs: the
same boot catalog (xorriso -report_el_torito plain: the EFI entry is the
partition's start in 2048-byte units with its size as the sector count),
the same partition tables (-report_system_area, addresses named), the
partition's bytes where the tables say, and the images boot from the disk
side (SeaBIOS and OVMF, as tests/test_hybrid_boot.py boots)."""

import os
import re
import shutil
import subprocess

import pytest

from isofuse.format import gpt
from mountutil import ISOFUSE
from test_hybrid_boot import boot_disk, boot_ovmf
from test_hybrid_grub2 import BOOT_HYBRID, GRUB_BIOS_MARKER, GRUB_WORDS, make_grub_tree
from test_hybrid_sysarea import (BIOS_MARKER, EFI_MARKER, EPOCH, ISOHDPFX, ISOLINUX_WORDS,
                                 make_boot_tree, raw_report, reports_match, run)

EFI_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
INTERVAL_EFI = ["-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::",
                "-no-emul-boot"]

# name -> (tree, words before the source); @ESP@ is the EFI image's copy,
# @P3@ a 70000-byte file
LINES = {
    # archiso releng: bios.syslinux.mbr + eltorito, uefi-x64.systemd-boot.esp + eltorito
    "archiso-releng": ("isolinux", [
        "-isohybrid-mbr", ISOHDPFX, "--mbr-force-bootable", "-partition_offset", "16",
        *ISOLINUX_WORDS, "-append_partition", "2", EFI_GUID, "@ESP@", *INTERVAL_EFI,
        "-isohybrid-gpt-basdat"]),
    # the same without the offset, a second partition behind the ESP, ":::"
    "isohybrid-two": ("isolinux", [
        "-isohybrid-mbr", ISOHDPFX, *ISOLINUX_WORDS, "-append_partition", "2", "0xef",
        "@ESP@", "-append_partition", "3", "0x83", "@P3@", "-eltorito-alt-boot", "-e",
        "--interval:appended_partition_2:::", "-no-emul-boot", "-isohybrid-gpt-basdat"]),
    # Ubuntu 22.04 (its -report_el_torito as_mkisofs, the ESP given as a file)
    "ubuntu": ("grub", [
        "--grub2-mbr", BOOT_HYBRID, "-partition_offset", "16", "--mbr-force-bootable",
        "-append_partition", "2", "28732ac11ff8d211ba4b00a0c93ec93b", "@ESP@",
        "-appended_part_as_gpt", "-iso_mbr_part_type", "a2a0d0ebe5b9334487c068b6b72699c7",
        *GRUB_WORDS, "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:::",
        "-no-emul-boot"]),
    # -efi-boot-part DISKFILE: the ESP in front of the file data
    "efi-boot-part": ("isolinux", [
        "-J", *ISOLINUX_WORDS, "-eltorito-alt-boot", "-e", "boot/grub/efi.img",
        "-no-emul-boot", "-efi-boot-part", "@ESP@"]),
    "efi-boot-part-appended": ("isolinux", [
        *ISOLINUX_WORDS, "-efi-boot-part", "@ESP@", "-append_partition", "3", "0x83",
        "@P3@"]),
}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("partboot"))
    isolinux = make_boot_tree(work)
    esp = os.path.join(work, "esp.img")
    shutil.copy(os.path.join(isolinux, "boot", "grub", "efi.img"), esp)
    p3 = os.path.join(work, "p3.img")
    with open(p3, "wb") as f:
        f.write(bytes(range(256)) * 273 + bytes(112))
    return {"isolinux": isolinux, "grub": make_grub_tree(work), "@ESP@": esp, "@P3@": p3}


def words_of(name, trees):
    tree, words = LINES[name]
    return [trees.get(word, word) for word in words], trees[tree]


def make(name, trees, out, program):
    words, src = words_of(name, trees)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    subprocess.run(program + ["-quiet", "-R", "-o", out, *words, src], check=True, env=env,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return out


def ours(name, trees, tmp_path):
    return make(name, trees, str(tmp_path / f"{name}.iso"), ISOFUSE + ["master"])


def theirs(name, trees, tmp_path):
    return make(name, trees, str(tmp_path / f"{name}-x.iso"), ["xorrisofs"])


def catalog(image):
    """[[N, platform, bootable, emulation, segment, hdpt, load size, LBA]]
    and {N: 2048-byte blocks} as xorriso reports them."""
    text = run(["xorriso", "-indev", image, "-report_el_torito", "plain"]).stdout.decode()
    entries = [line.split(":", 1)[1].split() for line in text.splitlines()
               if line.startswith("El Torito boot img :")]
    blocks = {int(n): int(b) for n, b in
              re.findall(r"^El Torito img blks :\s+(\d+)\s+(\d+)$", text, re.M)}
    return entries, blocks


def gpt_partitions(image):
    """{name: (first, blocks)} of the image's GPT (our decoder; the names
    are xorriso's)."""
    with open(image, "rb") as f:
        head = f.read(64 * 512)
    header = gpt.decode_header(head[512:1024])
    start = header["entries_lba"] * 512
    out = {}
    for i in range(header["entry_count"]):
        _, _, first, last, _, name = gpt.decode_entry(head[start + 128 * i:
                                                            start + 128 * (i + 1)])
        if name:
            out[name] = (first, last + 1 - first)
    return out


def partition_start(image, number):
    """(first 512-byte block, blocks) of appended partition ``number``, by
    the GPT when it lists it ("AppendedN"), else by its MBR slot."""
    with open(image, "rb") as f:
        head = f.read(1024)
    listed = gpt_partitions(image) if gpt.decode_header(head[512:]) else {}
    if f"Appended{number}" in listed:
        return listed[f"Appended{number}"]
    m = re.search(rf"^MBR partition      :\s+{number}\s+\S+\s+\S+\s+(\d+)\s+(\d+)$",
                  raw_report(image), re.M)
    return int(m.group(1)), int(m.group(2))


INTERVAL_LINES = ["archiso-releng", "isohybrid-two", "ubuntu"]


@pytest.mark.parametrize("name", INTERVAL_LINES)
def test_efi_entry_is_the_appended_partition(trees, tmp_path, name):
    mine, other = ours(name, trees, tmp_path), theirs(name, trees, tmp_path)
    (my_entries, my_blocks), (x_entries, x_blocks) = catalog(mine), catalog(other)
    # the same entries; the files' addresses differ (our directories are
    # smaller), so the LBA column is compared through the partition
    assert [e[:7] for e in my_entries] == [e[:7] for e in x_entries]
    assert my_blocks == x_blocks and 2 in my_blocks
    for image, entries in ((mine, my_entries), (other, x_entries)):
        start, blocks = partition_start(image, 2)
        efi = entries[1]
        assert efi[1] == "UEFI" and int(efi[7]) * 4 == start and int(efi[6]) == blocks
    assert reports_match(mine, other), (raw_report(mine), raw_report(other))
    # the partition holds the ESP, byte for byte, and mtools reads it there
    with open(trees["@ESP@"], "rb") as f:
        esp = f.read()
    start, _ = partition_start(mine, 2)
    with open(mine, "rb") as f:
        f.seek(start * 512)
        assert f.read(len(esp)) == esp
    listing = run(["mdir", "-i", f"{mine}@@{start * 512}", "::/EFI/BOOT"]).stdout.decode()
    assert "BOOTX64" in listing


@pytest.mark.parametrize("name", INTERVAL_LINES + ["efi-boot-part", "efi-boot-part-appended"])
def test_print_size_is_the_image_size(trees, tmp_path, name):
    mine = ours(name, trees, tmp_path)
    words, src = words_of(name, trees)
    size = subprocess.run(ISOFUSE + ["master", "-R", "-print-size", *words, src], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))).stdout
    assert int(size) * 2048 == os.path.getsize(mine)


@pytest.mark.parametrize("name", ["efi-boot-part", "efi-boot-part-appended"])
def test_efi_boot_part_diskfile_as_xorrisofs(trees, tmp_path, name):
    """xorrisofs places the file right after the directories, before the
    file data ("EFI boot partition", EFI System type), gaps around it."""
    mine, other = ours(name, trees, tmp_path), theirs(name, trees, tmp_path)
    assert reports_match(mine, other), (raw_report(mine), raw_report(other))
    assert catalog(mine)[0] and [e[:7] for e in catalog(mine)[0]] == \
        [e[:7] for e in catalog(other)[0]]
    with open(trees["@ESP@"], "rb") as f:
        esp = f.read()
    for image in (mine, other):
        start, blocks = gpt_partitions(image)["EFI boot partition"]
        assert blocks == -(-len(esp) // 2048) * 4
        with open(image, "rb") as f:
            f.seek(start * 512)
            assert f.read(len(esp)) == esp
        # inside the ISO's volume space, before the first file's data
        text = run(["xorriso", "-indev", image, "-find", "/", "-type", "f", "-exec",
                    "report_lba"]).stdout.decode()
        first_file = min(int(lba) for lba in re.findall(r"File data lba:\s+\d+ ,\s+(\d+)",
                                                        text))
        assert (start + blocks) // 4 <= first_file
    # our reader and xorriso see the same files as in xorrisofs' image
    listing = [sorted(run(["xorriso", "-indev", image, "-find", "/"]).stdout.decode()
                      .split()) for image in (mine, other)]
    assert listing[0] == listing[1]


# ---- booting from the disk side ------------------------------------------------------------------

@pytest.mark.vm
def test_archiso_releng_boots_from_disk(trees, tmp_path):
    """isohdpfx.bin -> isolinux (SeaBIOS); OVMF finds the appended ESP,
    which is the El Torito EFI image too."""
    image = ours("archiso-releng", trees, tmp_path)
    assert BIOS_MARKER in boot_disk(image, str(tmp_path / "bios.log"))
    assert EFI_MARKER in boot_ovmf(image, tmp_path)


@pytest.mark.vm
def test_ubuntu_line_boots_from_disk(trees, tmp_path):
    """boot_hybrid.img -> GRUB's El Torito image (SeaBIOS); OVMF boots the
    appended ESP through the GPT."""
    image = ours("ubuntu", trees, tmp_path)
    assert GRUB_BIOS_MARKER in boot_disk(image, str(tmp_path / "bios.log"))
    assert EFI_MARKER in boot_ovmf(image, tmp_path)


@pytest.mark.vm
def test_efi_boot_part_diskfile_boots_ovmf(trees, tmp_path):
    image = ours("efi-boot-part", trees, tmp_path)
    assert EFI_MARKER in boot_ovmf(image, tmp_path)
