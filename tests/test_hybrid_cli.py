"""Hybrid command lines as build scripts write them, run through
`isofuse master` and through xorrisofs (the same words): the same system
area report (addresses named, see test_hybrid_sysarea.normalized_report),
the same El Torito entries, and --md5 images that xorriso verifies."""

import os
import re
import subprocess

import pytest

from mountutil import ISOFUSE
from test_hybrid_sysarea import (EPOCH, ISOHDPFX, make_boot_tree, normalized_report,
                                 raw_report, reports_match, run)

# live-build's iso-hybrid line (binary_iso with syslinux and grub-efi),
# debian-cd's amd64 line (its -e spelled as -e: with --efi-boot, xorrisofs
# closes the entry before the -isohybrid-* marks), an Ubuntu 18.04 line,
# and an appended ESP as archiso writes it (without its -partition_offset)
LINES = {
    "live-build": ["-R", "-r", "-J", "-joliet-long", "-l", "-cache-inodes", "-iso-level", "3",
                   "-A", "Debian Live", "-p", "Live Systems project", "-publisher",
                   "Live Systems project", "-V", "Debian bookworm", "--modification-date="
                   "2023111422132000", "-isohybrid-mbr", ISOHDPFX, "-b",
                   "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                   "-boot-load-size", "4", "-boot-info-table", "-eltorito-alt-boot", "-e",
                   "boot/grub/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat",
                   "-isohybrid-apm-hfsplus"],
    "debian-cd": ["-r", "-checksum_algorithm_iso", "sha256,sha512", "-V", "Debian 12 amd64",
                  "-J", "-joliet-long", "-cache-inodes", "-isohybrid-mbr", ISOHDPFX, "-b",
                  "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-boot-load-size", "4",
                  "-boot-info-table", "-no-emul-boot", "-eltorito-alt-boot", "-e",
                  "boot/grub/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat",
                  "-isohybrid-apm-hfsplus"],
    "ubuntu": ["-r", "-V", "Ubuntu 18.04 LTS amd64", "-cache-inodes", "-J", "-l",
               "-isohybrid-mbr", ISOHDPFX, "-c", "isolinux/boot.cat", "-b",
               "isolinux/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4",
               "-boot-info-table", "-eltorito-alt-boot", "-e", "boot/grub/efi.img",
               "-no-emul-boot", "-isohybrid-gpt-basdat"],
    "appended-esp": ["-iso-level", "3", "-full-iso9660-filenames", "-joliet", "-joliet-long",
                     "-rational-rock", "-volid", "ARCH_202311", "-appid", "Arch Linux live",
                     "-isohybrid-mbr", ISOHDPFX, "-eltorito-boot", "isolinux/isolinux.bin",
                     "-eltorito-catalog", "isolinux/boot.cat", "-no-emul-boot",
                     "-boot-load-size", "4", "-boot-info-table", "-append_partition", "2",
                     "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "@ESP@",
                     "-appended_part_as_gpt"],
    # an isohybrid partition from sector 16 (archiso's -partition_offset)
    "partition-offset": ["-R", "-isohybrid-mbr", ISOHDPFX, "-partition_offset", "16", "-b",
                         "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                         "-boot-load-size", "4", "-boot-info-table", "-append_partition", "2",
                         "0xef", "@ESP@", "-appended_part_as_gpt"],
    # the El Torito EFI image as the GPT's "EFI boot partition"
    "efi-boot-part": ["-R", "-J", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                      "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                      "-eltorito-alt-boot", "-e", "boot/grub/efi.img", "-no-emul-boot",
                      "-efi-boot-part", "--efi-boot-image"],
    # ... with a partition behind the ISO: its MBR slot beside the protective
    # entry, "Appended3" between gaps in the GPT
    "efi-boot-part-appended": ["-R", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                               "-no-emul-boot", "-eltorito-alt-boot", "-e",
                               "boot/grub/efi.img", "-no-emul-boot", "-efi-boot-part",
                               "--efi-boot-image", "-append_partition", "3", "0x83",
                               "@ESP@"],
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("hybridcli"))
    src = make_boot_tree(work)
    esp = os.path.join(work, "esp.img")
    with open(os.path.join(src, "boot", "grub", "efi.img"), "rb") as f, open(esp, "wb") as out:
        out.write(f.read())
    return src, esp


def both(words, src, work):
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    ours, theirs = str(work / "ours.iso"), str(work / "theirs.iso")
    subprocess.run(ISOFUSE + ["master", "-quiet", "-o", ours, *words, src], check=True,
                   env=env, stderr=subprocess.PIPE, timeout=300)
    run(["xorrisofs", "-quiet", "-o", theirs, *words, src], env=env)
    return ours, theirs


def el_torito(image):
    text = run(["xorriso", "-indev", image, "-report_el_torito", "plain"]).stdout.decode()
    return [line.split()[2:6] for line in text.splitlines()
            if line.startswith("El Torito boot img :")]


@pytest.mark.parametrize("name", list(LINES))
def test_script_line_makes_xorrisofs_system_area(tree, tmp_path, name):
    src, esp = tree
    words = [esp if w == "@ESP@" else w for w in LINES[name]]
    ours, theirs = both(words, src, tmp_path)
    assert reports_match(ours, theirs), (raw_report(ours), raw_report(theirs))
    assert el_torito(ours) == el_torito(theirs)
    size = subprocess.run(ISOFUSE + ["master", "-print-size", *words, src],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                          env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))).stdout
    assert int(size) * 2048 == os.path.getsize(ours)


def test_md5_line_is_verified_by_xorriso(tree, tmp_path):
    src, _ = tree
    ours, theirs = both(["-R", "--md5", "-isohybrid-mbr", ISOHDPFX, "-b",
                         "isolinux/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4",
                         "-boot-info-table"], src, tmp_path)
    size = subprocess.run(ISOFUSE + ["master", "-R", "--md5", "-print-size", "-isohybrid-mbr",
                                     ISOHDPFX, "-b", "isolinux/isolinux.bin", "-no-emul-boot",
                                     "-boot-load-size", "4", "-boot-info-table", src],
                          stdout=subprocess.PIPE, check=True).stdout
    assert int(size) * 2048 == os.path.getsize(ours)
    for image in (ours, theirs):
        for command in (["-check_md5", "FAILURE", "--"],
                        ["-check_md5_r", "FAILURE", "/", "--"]):
            result = subprocess.run(["xorriso", "-md5", "on", "-indev", image, *command],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            text = result.stdout.decode(errors="replace")
            assert result.returncode == 0, text
            assert re.search(r"match", text), text
    assert normalized_report(ours) == normalized_report(theirs)


@pytest.mark.parametrize("words,message", [
    (["-isohybrid-mbr", ISOHDPFX, "-b", "isolinux/isolinux.bin", "-no-emul-boot",
      "-eltorito-alt-boot", "-e", "boot/grub/efi.img", "-no-emul-boot", "-efi-boot-part",
      "--efi-boot-image"], "overlapping MBR partitions"),
    (["-b", "isolinux/isolinux.bin", "-no-emul-boot", "-efi-boot-part", "--efi-boot-image"],
     "needs an EFI El Torito image"),
    (["-b", "isolinux/isolinux.bin", "-no-emul-boot", "-efi-boot-part", "/nonexistent.img"],
     "-efi-boot-part: cannot read /nonexistent.img"),
    (["-append_partition", "2", "0xef", "/etc/hostname", "-e",
      "--interval:appended_partition_3:all::"], "no -append_partition 3"),
    (["-e", "--interval:local_fs:0s-15s::x.iso"], "only --interval:appended_partition_N"),
    (["-partition_offset", "8"], "it must be 0 or at least 16"),
    (["-R", "--md5", "-partition_offset", "16"], "--md5 with -partition_offset"),
])
def test_unsupported_combinations_are_one_line_errors(tree, words, message):
    src, _ = tree
    result = subprocess.run(ISOFUSE + ["master", "-quiet", "-o", "/dev/null", *words, src],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = result.stderr.decode()
    assert result.returncode != 0
    assert message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
