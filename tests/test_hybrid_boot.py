"""Hybrid images boot from the disk side: QEMU with the image as a raw hard
disk (no CD drive), SeaBIOS running our MBR (isohdpfx.bin -> isolinux, or
GRUB's boot_hybrid.img -> GRUB's core in the El Torito image) and OVMF
finding GRUB's EFI image through our MBR/GPT partitions.  Each boot
prints a marker on the serial port and powers the guest off."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from test_hybrid_grub2 import BOOT_HYBRID, GRUB_BIOS_MARKER, grub_options, make_grub_tree
from test_hybrid_sysarea import (BIOS_MARKER, EFI_MARKER, make_boot_tree, master_api,
                                 options_for)

pytestmark = pytest.mark.vm

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def boot_disk(image, serial_log, firmware=(), timeout=120):
    """Boot ``image`` as an IDE hard disk; the serial output once the guest
    is off (or killed at the timeout, or once the marker is there)."""
    argv = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic",
            "-accel", "tcg", "-cpu", "max", "-m", "256", "-no-reboot", "-snapshot",
            *firmware, "-drive", f"file={image},format=raw,if=ide",
            "-serial", f"file:{serial_log}", "-monitor", "none"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    with open(serial_log, "rb") as f:
        return screen_text(f.read().decode("latin-1"))


# SeaBIOS and OVMF mirror the text screen to the serial port with terminal
# control sequences: a cursor move can land inside a marker
# ("ISOFUSE-BIOS-M\x1b[05;14H\x1b[05;15HARKE" was seen), and lines wrap at
# 80 columns.  The markers are looked for in the text without them.
CONTROL = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)|[\r\n]")


def screen_text(serial):
    return CONTROL.sub("", serial)


@pytest.fixture(scope="module")
def hybrid_image(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("hybridboot"))
    src = make_boot_tree(work)
    image = os.path.join(work, "hybrid.iso")
    master_api(src, image, options_for("gpt"))
    return image


def test_bios_boots_the_disk_through_our_mbr(hybrid_image, tmp_path):
    out = boot_disk(hybrid_image, str(tmp_path / "bios.log"))
    assert "Booting from Hard Disk" in out, out
    assert BIOS_MARKER in out, out


def boot_ovmf(image, tmp_path):
    for path in (OVMF_CODE, OVMF_VARS):
        assert os.path.exists(path), f"{path} missing: apt-get install ovmf"
    variables = str(tmp_path / "vars.fd")
    shutil.copy(OVMF_VARS, variables)
    firmware = ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,file={variables}"]
    return boot_disk(image, str(tmp_path / "efi.log"), firmware)


def test_ovmf_boots_the_disk_through_our_partitions(hybrid_image, tmp_path):
    out = boot_ovmf(hybrid_image, tmp_path)
    assert "HARDDISK" in out, out
    assert EFI_MARKER in out, out


def test_ovmf_boots_an_appended_efi_partition(hybrid_image, tmp_path):
    """The EFI image as -append_partition 2 0xef with -appended_part_as_gpt
    (the archiso / Ubuntu layout): OVMF finds it through our GPT."""
    src = os.path.join(os.path.dirname(hybrid_image), "tree")
    efi = str(tmp_path / "esp.img")
    shutil.copy(os.path.join(src, "boot", "grub", "efi.img"), efi)
    image = str(tmp_path / "appended.iso")
    options = options_for("mbr", append_partitions=[(2, "0xef", efi)],
                          appended_part_as_gpt=True)
    master_api(src, image, options)
    out = boot_ovmf(image, tmp_path)
    assert EFI_MARKER in out, out
    bios = boot_disk(image, str(tmp_path / "bios.log"))
    assert BIOS_MARKER in bios, bios


def test_bios_boots_grub_through_our_grub2_mbr(tmp_path):
    src = make_grub_tree(str(tmp_path))
    image = str(tmp_path / "grub.iso")
    master_api(src, image, grub_options(grub2_mbr=BOOT_HYBRID))
    out = boot_disk(image, str(tmp_path / "grub.log"))
    assert "Booting from Hard Disk" in out, out
    assert GRUB_BIOS_MARKER in out, out


def test_ovmf_boots_the_efi_boot_partition(hybrid_image, tmp_path):
    """-efi-boot-part --efi-boot-image: the El Torito EFI image is the GPT's
    EFI System partition (protective MBR); OVMF boots it from the disk."""
    src = os.path.join(os.path.dirname(hybrid_image), "tree")
    options = options_for("gpt", efi_boot_part="--efi-boot-image")
    options.hybrid_mbr = None
    options.boot[1].gpt_basdat = False
    image = str(tmp_path / "efipart.iso")
    master_api(src, image, options)
    out = boot_ovmf(image, tmp_path)
    assert EFI_MARKER in out, out


def test_archiso_layout_with_partition_offset_boots_both_ways(hybrid_image, tmp_path):
    """-partition_offset 16, isohybrid MBR, --mbr-force-bootable, an ESP
    appended as GPT partition: SeaBIOS boots isolinux, OVMF boots GRUB."""
    src = os.path.join(os.path.dirname(hybrid_image), "tree")
    efi = str(tmp_path / "esp.img")
    shutil.copy(os.path.join(src, "boot", "grub", "efi.img"), efi)
    image = str(tmp_path / "archiso.iso")
    options = options_for("mbr", partition_offset=16, mbr_force_bootable=True,
                          append_partitions=[(2, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", efi)],
                          appended_part_as_gpt=True)
    master_api(src, image, options)
    assert BIOS_MARKER in boot_disk(image, str(tmp_path / "bios.log"))
    assert EFI_MARKER in boot_ovmf(image, tmp_path)


def test_ubuntu_layout_with_partition_offset_boots_grub(tmp_path):
    """--grub2-mbr, -partition_offset 16, --grub2-boot-info: GRUB from the disk."""
    src = make_grub_tree(str(tmp_path))
    image = str(tmp_path / "ubuntu.iso")
    master_api(src, image, grub_options(grub2_mbr=BOOT_HYBRID, partition_offset=16,
                                        mbr_force_bootable=True))
    out = boot_disk(image, str(tmp_path / "grub.log"))
    assert GRUB_BIOS_MARKER in out, out
