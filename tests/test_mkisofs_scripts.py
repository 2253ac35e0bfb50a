"""Real command lines from real scripts, replayed (issue #12).

Each line is taken from the script cited with it, its shell variables
filled in; only the program name is replaced: the same words run once
through ``isofuse master`` and once through the reference (xorrisofs, or
genisoimage where xorrisofs refuses or ignores an option of the line), in
two copies of the same small tree.  The two images must agree for every
reader we did not write and for ours: xorriso (the extracted tree and
-report_el_torito; -report_system_area for hybrid lines), isoinfo (ISO 9660,
Rock Ridge and Joliet name lists), bsdtar, 7z and our reader (paths, types,
modes, link targets, contents).  What legitimately differs is masked:
sector addresses (boot catalog, the boot info table that -boot-info-table
patches into bytes 8-63, GRUB2's boot info at 2548), GUIDs drawn at random
by xorriso, and TRANS.TBL column padding.  Boot images are dummies except
ISOLINUX's isolinux.bin and isohdpfx.bin, which are installed here.
"""

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

from isofuse.cli.master import parse_command_line
from isofuse.reader import open_image
from reader_support import entries

ISOFUSE = [sys.executable, "-m", "isofuse.cli.main", "master"]
XORRISOFS = ["xorriso", "-as", "mkisofs"]
GENISOIMAGE = ["genisoimage"]
ISOLINUX_BIN = "/usr/lib/ISOLINUX/isolinux.bin"
ISOHDPFX = "/usr/lib/ISOLINUX/isohdpfx.bin"
BOOT_HYBRID = "/usr/lib/grub/i386-pc/boot_hybrid.img"
T0 = 1_700_000_000


# ---- trees -------------------------------------------------------------------------------------

def _file(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)


def _blob(seed, size):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def cidata(work):
    _file(f"{work}/user-data", "#cloud-config\npassword: passw0rd\nssh_pwauth: True\n")
    _file(f"{work}/meta-data", "instance-id: iid-local01\nlocal-hostname: cloudimg\n")


def isolinux(root, efi=None, extra=True):
    shutil.copy(ISOLINUX_BIN, _mkdirs(f"{root}/isolinux") + "/isolinux.bin")
    _file(f"{root}/isolinux/isolinux.cfg", "default linux\nlabel linux\n  kernel /vmlinuz\n")
    _file(f"{root}/isolinux/ldlinux.c32", _blob("ldlinux", 3000))
    if efi:
        _file(f"{root}/{efi}", _blob("efi", 64 * 1024))
    if extra:
        _file(f"{root}/live/vmlinuz", _blob("kernel", 70_000))
        _file(f"{root}/live/initrd.img", _blob("initrd", 40_000))
        _file(f"{root}/.disk/info", "Live image\n")
        _file(f"{root}/md5sum.txt", "0123  ./live/vmlinuz\n")
        _file(f"{root}/Some Long File Name.Documentation.txt", "long\n")
        os.symlink("live/vmlinuz", f"{root}/vmlinuz")


def grub_eltorito(root, name):
    _file(f"{root}/boot/grub/{name}", _blob(name, 30_000))
    _file(f"{root}/boot/grub/grub.cfg", "menuentry live {\n linux /live/vmlinuz\n}\n")
    _file(f"{root}/live/vmlinuz", _blob("kernel", 50_000))


def fat_image(path, files):
    """A 1 MiB FAT file system (mkfs.vfat, mtools) holding {name: bytes}."""
    subprocess.run(["mkfs.vfat", "-C", path, "1024"], check=True, stdout=subprocess.PIPE)
    folders = sorted({name.rsplit("/", depth)[0] for name in files
                      for depth in range(1, name.count("/") + 1)})
    for folder in folders:
        subprocess.run(["mmd", "-i", path, "::/" + folder], check=True)
    for name, data in files.items():
        source = path + ".part"
        _file(source, data)
        subprocess.run(["mcopy", "-i", path, source, "::/" + name], check=True)
        os.unlink(source)


def ubuntu_remaster(work):
    """What Nitrokey's make-image.sh has before its xorriso line: the
    first 432 bytes of Ubuntu's MBR (boot_hybrid.img here), its EFI
    partition (a FAT image with EFI/boot/bootx64.efi) and the unpacked tree
    with GRUB's BIOS El Torito image (grub-mkimage)."""
    release = "ubuntu-22.04.1-desktop-amd64.iso"
    with open(BOOT_HYBRID, "rb") as f:
        _file(f"{work}/{release}.mbr", f.read(432))
    fat_image(f"{work}/{release}.efi", {"EFI/boot/bootx64.efi": _blob("shim", 20_000),
                                        "EFI/boot/grubx64.efi": _blob("grub", 30_000)})
    root = f"{work}/unpacked-iso"
    grub = _mkdirs(f"{root}/boot/grub/i386-pc")
    subprocess.run(["grub-mkimage", "-O", "i386-pc-eltorito", "-p", "/boot/grub", "-o",
                    f"{grub}/eltorito.img", "biosdisk", "iso9660", "normal"], check=True)
    _file(f"{root}/boot/grub/grub.cfg", "menuentry 'Try or Install Ubuntu' {\n"
          " linux /casper/vmlinuz boot=casper automatic-ubiquity ---\n}\n")
    _file(f"{root}/casper/vmlinuz", _blob("vmlinuz", 60_000))
    _file(f"{root}/casper/filesystem.squashfs", _blob("squashfs", 90_000))
    _file(f"{root}/preseed/ubuntu.seed", "d-i debian-installer/locale string en_US\n")
    _file(f"{root}/.disk/info", "Ubuntu 22.04.1 LTS \"Jammy Jellyfish\" - Release amd64\n")
    _file(f"{root}/md5sum.txt", "0123  ./casper/vmlinuz\n")
    _file(f"{root}/post-install.sh", "#!/bin/sh\n", 0o755)


def _mkdirs(path):
    os.makedirs(path, exist_ok=True)
    return path


def kernel_isoimage(work):
    root = f"{work}/arch/x86/boot/isoimage"
    shutil.copy(ISOLINUX_BIN, _mkdirs(root) + "/isolinux.bin")
    _file(f"{root}/ldlinux.c32", _blob("ldlinux", 3000))
    _file(f"{root}/linux", _blob("bzImage", 90_000))
    _file(f"{root}/isolinux.cfg", "default linux console=ttyS0\n")


def deep_tree(root):
    """A Slackware-like tree with a folder 10 levels down and a source/ to leave out."""
    isolinux(root, efi="isolinux/efiboot.img", extra=False)
    deep = os.path.join(root, *"slackware64/a/b/c/d/e/f/g/h".split("/"))
    _file(f"{deep}/pkg.txz", _blob("pkg", 5000))
    _file(f"{root}/source/a/SlackBuild", "build\n")
    _file(f"{root}/slackware64/PACKAGES.TXT", "packages\n")


def set_times(top):
    for folder, dirs, files in os.walk(top):
        for name in files + dirs:
            os.utime(os.path.join(folder, name), (T0, T0), follow_symlinks=False)
    os.utime(top, (T0, T0))


# ---- the lines ---------------------------------------------------------------------------------

class Line:
    def __init__(self, name, source, words, build, ref=XORRISOFS, cwd="", hybrid=None,
                 skip_views=None, pending=None):
        self.name = name
        self.source = source        # where the line comes from
        self.words = words          # the line after the program name
        self.build = build          # build(work): the tree the line reads
        self.ref = ref              # the program the line is compared with
        self.cwd = cwd              # run in work/cwd (lines using ".")
        self.hybrid = hybrid        # a hybrid line: what of the hybrid engine it needs
        # the engine change a line waits for: the test is a strict xfail (it
        # fails until the change lands, then its XPASS says: drop the mark)
        self.pending = pending
        # name lists known to differ, with the reason (every other view must match)
        self.skip_views = skip_views or {}


LIVE_OPTS = ["-A", "Debian Live", "-p", "live-build 4.0; http://live-systems.org/devel/live-build",
             "-publisher", "Debian Live project; http://live-systems.org/; debian-live@lists.debian.org",
             "-V", "Debian jessie 20150101-00:00"]


def cloud_localds(work):
    """cloud-localds' TEMP_D: the two files and the 100K seed.img it
    truncates before genisoimage writes over it."""
    cidata(f"{work}/tmp.cloud")
    with open(f"{work}/tmp.cloud/seed.img", "wb") as f:
        f.truncate(100 * 1024)


LINES = [
    Line("cloud-localds", "canonical/cloud-utils bin/cloud-localds (filesystem iso9660)",
         ["-output", "tmp.cloud/seed.img", "-volid", "cidata", "-joliet", "-rock",
          "tmp.cloud/user-data", "tmp.cloud/meta-data"], cloud_localds, ref=GENISOIMAGE),
    Line("tf-images-seed", "scottyeager/tf-images fullvm/vm/seed.sh",
         ["-output", "seed.img", "-volid", "cidata", "-joliet", "-rock", "user-data",
          "meta-data"], cidata),
    Line("virtbuilders-seed", "runcom/virtbuilders gen_iso.sh",
         ["-output", "init.iso", "-volid", "cidata", "-joliet", "-rock", "user-data",
          "meta-data"], cidata),
    Line("virt-install-cloudinit",
         "virt-manager/virt-manager virtinst/install/installerinject.py _run_iso_commands "
         "(cloudinit=True)",
         ["-o", "virtinst-cloudinit.iso", "-J", "-input-charset", "utf8", "-rational-rock",
          "-V", "cidata", "inject"],
         lambda w: (cidata(w), _mkdirs(f"{w}/inject"), shutil.move(f"{w}/user-data",
                    f"{w}/inject/user-data"), shutil.move(f"{w}/meta-data",
                    f"{w}/inject/meta-data"))),
    Line("virt-install-unattended",
         "virt-manager/virt-manager virtinst/install/installerinject.py _run_iso_commands",
         ["-o", "virtinst-unattended.iso", "-J", "-input-charset", "utf8", "-rational-rock",
          "inject"],
         lambda w: _file(f"{w}/inject/ks.cfg", "text\nreboot\n")),
    Line("kernel-genimage",
         "torvalds/linux arch/x86/boot/genimage.sh geniso() (make isoimage)",
         ["-J", "-r", "-appid", "LINUX_BOOT", "-input-charset=utf-8", "-quiet", "-o",
          "arch/x86/boot/image.iso", "-b", "isolinux.bin", "-c", "boot.cat", "-no-emul-boot",
          "-boot-load-size", "4", "-boot-info-table", "arch/x86/boot/isoimage"],
         kernel_isoimage, ref=GENISOIMAGE),
    Line("littleos-grub-legacy", "kmakedos/littleOS old_src/backups/geniso.sh",
         ["-R", "-b", "boot/grub/stage2_eltorito", "-no-emul-boot", "-boot-load-size", "4",
          "-A", "os", "-input-charset", "utf8", "-boot-info-table", "-o", "os.iso", "iso"],
         lambda w: grub_eltorito(f"{w}/iso", "stage2_eltorito")),
    Line("linux-c-procedures", "codebuil/Linux.c.procedures cd.sh",
         ["-o", "myos.iso", "-input-charset", "utf-8", "-b", "isolinux/isolinux.bin",
          "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "./CD_root"],
         lambda w: isolinux(f"{w}/CD_root", extra=False), ref=GENISOIMAGE),
    Line("ulysses-make-iso", "sjkingo-archive/ulysses tools/make_iso.sh (mkisofs -q)",
         ["-R", "-q", "-b", "boot/grub/stage2_eltorito", "-no-emul-boot", "-boot-load-size",
          "4", "-boot-info-table", "-input-charset", "utf-8", "-o", "boot/kernel.iso",
          "arch/x86/boot"],
         lambda w: (grub_eltorito(f"{w}/arch/x86/boot", "stage2_eltorito"),
                    _mkdirs(f"{w}/boot")), ref=GENISOIMAGE),
    Line("mnmlistos-makefile", "EladKeyshawn/mnmlistOS Makefile (os.iso target)",
         ["-R", "-b", "boot/grub/stage2_eltorito", "-no-emul-boot", "-boot-load-size", "4",
          "-A", "os", "-input-charset", "utf8", "-quiet", "-boot-info-table", "-o", "os.iso",
          "iso"],
         lambda w: grub_eltorito(f"{w}/iso", "stage2_eltorito"), ref=GENISOIMAGE),
    Line("secondos32-build", "jevers851/SecondOS32 build",
         ["-R", "-b", "boot/grub/stage2_eltorito", "-no-emul-boot", "-boot-load-size", "4",
          "-A", "os", "-input-charset", "utf8", "-quiet", "-boot-info-table", "-o", "os.iso",
          "iso"],
         lambda w: (grub_eltorito(f"{w}/iso", "stage2_eltorito"),
                    _file(f"{w}/iso/boot/kernel.elf", _blob("elf", 12_000)),
                    _file(f"{w}/iso/boot/grub/menu.lst", "title os\nkernel /boot/kernel.elf\n"))),
    Line("tinydos", "Energomy/TinyDOS iso_gen.sh",
         ["-o", "TinyDOS-tiny.iso", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
          "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-J", "-R", "-V",
          "tinyDOS", "iso-root-beta/"],
         lambda w: isolinux(f"{w}/iso-root-beta")),
    Line("biosupdateiso", "carlpmac/biosupdateiso mkiso.sh (modifiers before -b, run in .)",
         ["-o", "../biosupdate.iso", "-q", "-l", "-N", "-boot-info-table", "-iso-level", "4",
          "-no-emul-boot", "-b", "isolinux/isolinux.bin", "-publisher",
          "https://github.com/carlpmac/biosupdateiso/", "-A", "BIOS Update ISO", "-V",
          "FDBIOSUP", "-v", "."],
         lambda w: isolinux(f"{w}/tree", extra=False), ref=GENISOIMAGE, cwd="tree"),
    Line("eayunos-trans-tbl", "eayun/EayunOS-building aio-building/tools/mkisofs.sh (-T)",
         ["-q", "-r", "-R", "-J", "-T", "-no-emul-boot", "-boot-load-size", "4", "-b",
          "isolinux/isolinux.bin", "-boot-info-table", "-V", "EayunOS", "-A",
          "EayunOS 20150101 x86_64 DVD", "-publisher", "Eayun", "-p", "Eayun", "-o",
          "EayunOS-4.1-1-20150101-x86_64-DVD.iso", "allinone/"],
         lambda w: isolinux(f"{w}/allinone"), ref=GENISOIMAGE,
         skip_views=dict.fromkeys(
             ("joliet", "7z"), "genisoimage lists a symbolic link in the Joliet tree (which "
             "7z reads) as an empty file; xorrisofs and isofuse leave it out (Joliet has no "
             "links)")),
    Line("ubuntu-sense-mans", "utrescu/ubuntu-sense-mans crear-cd.sh (-D, -cache-inodes)",
         ["-D", "-r", "-V", "ATTENDLESS_UBUNTU", "-cache-inodes", "-J", "-l", "-b",
          "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
          "-boot-load-size", "4", "-boot-info-table", "-o", "autoinstall.iso", "iso"],
         lambda w: isolinux(f"{w}/iso")),
    Line("tais-livecd", "psychomantys/tais-livecd make.sh",
         ["-o", "output.iso", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
          "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "root"],
         lambda w: isolinux(f"{w}/root", extra=False), ref=GENISOIMAGE),
    Line("schily-output-in-source", "dotcomrow/ubuntu-schily-libs script.sh (-o inside '.')",
         ["-o", "test.iso", "-b", "isolinux.bin", "-c", "boot.cat", "-no-emul-boot",
          "-boot-load-size", "4", "-boot-info-table", "-iso-level", "3", "-J", "-R", "-V",
          "test", "."],
         lambda w: (shutil.copy(ISOLINUX_BIN, _mkdirs(f"{w}/t") + "/isolinux.bin"),
                    _file(f"{w}/t/readme.md", "test\n")),
         cwd="t"),
    Line("archiso-eltorito",
         "archlinux/archiso archiso/mkarchiso _build_iso_image with bios.syslinux.eltorito "
         "and uefi-x64.systemd-boot.eltorito (efiboot.img inside the ISO)",
         ["-iso-level", "3", "-full-iso9660-filenames", "-joliet", "-joliet-long",
          "-rational-rock", "-volid", "ARCH_202601", "-appid",
          "Arch Linux baseline", "-publisher", "Arch Linux <https://archlinux.org>",
          "-preparer", "prepared by mkarchiso", "-eltorito-boot", "syslinux/isolinux.bin",
          "-eltorito-catalog", "syslinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4",
          "-boot-info-table", "-eltorito-alt-boot", "-e", "EFI/archiso/efiboot.img",
          "-no-emul-boot", "-output", "out/archlinux-2026.01.01-x86_64.iso", "iso/"],
         lambda w: (_mkdirs(f"{w}/out"), shutil.copy(ISOLINUX_BIN,
                    _mkdirs(f"{w}/iso/syslinux") + "/isolinux.bin"),
                    _file(f"{w}/iso/EFI/archiso/efiboot.img", _blob("esp", 96 * 1024)),
                    _file(f"{w}/iso/arch/x86_64/airootfs.sfs", _blob("sfs", 80_000)),
                    _file(f"{w}/iso/arch/boot/x86_64/vmlinuz-linux", _blob("vm", 40_000)),
                    _file(f"{w}/iso/syslinux/archiso_sys-linux.cfg", "LABEL arch64\n"))),
    Line("live-build-grub-pc",
         "debian-live/live-build scripts/build/binary_iso@d515ae5 (LB_BOOTLOADERS=grub-pc, "
         "iso)",
         ["-R", "-r", "-J", "-joliet-long", "-l", "-cache-inodes", "-iso-level", "3",
          *LIVE_OPTS, "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-b",
          "boot/grub/grub_eltorito", "-J", "-o", "live-image-amd64.iso", "binary"],
         lambda w: grub_eltorito(f"{w}/binary", "grub_eltorito")),
    Line("live-build-grub2-genisoimage",
         "debian-live/live-build scripts/build/binary_iso@0cc1bf5 (LH_BOOTLOADER=grub2, "
         "genisoimage, -allow-multidot)",
         ["-J", "-l", "-cache-inodes", "-allow-multidot", "-A", "Debian Live", "-p",
          "Debian Live", "-publisher", "Debian Live project", "-V", "Debian Live",
          "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-r", "-b",
          "boot/grub/grub_eltorito", "-J", "-o", "binary.iso", "binary"],
         lambda w: (grub_eltorito(f"{w}/binary", "grub_eltorito"),
                    _file(f"{w}/binary/live/filesystem.squashfs.md5", "x\n"),
                    _file(f"{w}/binary/pool/main/p/pkg_1.0.orig.tar.gz", "y\n")),
         ref=GENISOIMAGE),
    Line("howto-plain", "CD-Writing HOWTO v2.8.2, 3.1.1 Creating an image of the later CD-ROM",
         ["-r", "-o", "cd_image", "private_collection/"],
         lambda w: (_file(f"{w}/private_collection/letters/2026-01.txt", "dear\n"),
                    _file(f"{w}/private_collection/photo.JPG", _blob("jpg", 9000)),
                    _file(f"{w}/private_collection/mixed Case name.Txt", "x\n"))),
    Line("linuxjournal-floppy-boot",
         "Linux Journal 3335, Creating CDs (mkisofs -r -b boot/boot.img -c boot/boot.cat): "
         "floppy emulation",
         ["-r", "-b", "boot/boot.img", "-c", "boot/boot.cat", "-o", "cdimage.iso",
          "cdimage"],
         lambda w: (_file(f"{w}/cdimage/boot/boot.img", b"\xeb\x3c" + bytes(1474558)),
                    _file(f"{w}/cdimage/RedHat/base/comps", "base\n"))),
    # ---- hybrid lines ----
    Line("live-build-iso-hybrid",
         "debian-live/live-build scripts/build/binary_iso@d515ae5 (LIVE_IMAGE_TYPE=iso-hybrid, "
         "syslinux)",
         ["-R", "-r", "-J", "-joliet-long", "-l", "-cache-inodes", "-iso-level", "3",
          "-isohybrid-mbr", ISOHDPFX, "-partition_offset", "16", *LIVE_OPTS, "-b",
          "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
          "-boot-load-size", "4", "-boot-info-table", "-o", "live-image-amd64.hybrid.iso",
          "binary"],
         lambda w: isolinux(f"{w}/binary"), hybrid="-partition_offset"),
    Line("debian-cd-bookworm",
         "serhepopovych/debian-cd tools/boot/bookworm/boot-x86 + make_image (the options "
         "boot-x86 collects for BIOS and EFI, as recorded in a Debian 12 CD's .disk/mkisofs)",
         ["-r", "-checksum_algorithm_iso", "sha256,sha512", "-V", "Debian 12 amd64 1", "-o",
          "debian-12-amd64-CD-1.iso", "-J", "-joliet-long", "-cache-inodes",
          "-isohybrid-mbr", ISOHDPFX, "-b", "isolinux/isolinux.bin", "-c",
          "isolinux/boot.cat", "-boot-load-size", "4", "-boot-info-table", "-no-emul-boot",
          "-eltorito-alt-boot", "-e", "boot/grub/efi.img", "-no-emul-boot",
          "-isohybrid-gpt-basdat", "-isohybrid-apm-hfsplus", "boot1", "CD1"],
         lambda w: (isolinux(f"{w}/boot1", extra=False),
                    _file(f"{w}/CD1/boot/grub/efi.img", _blob("efi", 64 * 1024)),
                    _file(f"{w}/CD1/pool/main/b/base-files/base-files_12.4_amd64.deb",
                          _blob("deb", 20_000)),
                    _file(f"{w}/CD1/dists/bookworm/Release", "Origin: Debian\n"))),
    Line("slackware-dvd",
         "free-archer/make-slackware-iso makemyiso.sh (-hide-rr-moved, -m source, -v)",
         ["-iso-level", "4", "-full-iso9660-filenames", "-R", "-J", "-A",
          "Slackware Install cutefish", "-hide-rr-moved", "-v", "-d", "-N",
          "-eltorito-boot", "isolinux/isolinux.bin", "-eltorito-catalog",
          "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
          "-isohybrid-mbr", ISOHDPFX, "-eltorito-alt-boot", "-e", "isolinux/efiboot.img",
          "-no-emul-boot", "-isohybrid-gpt-basdat", "-m", "source", "-volid", "SlackDVD",
          "-output", "./slackware-cutefish-dvd-ext.iso", "./slackware64-current"],
         lambda w: deep_tree(f"{w}/slackware64-current"),
         skip_views=dict.fromkeys(
             ("iso9660", "rockridge", "joliet", "7z"),
             "xorriso 1.5.4 relocates folders deeper than 8 levels to .rr_moved even at "
             "-iso-level 4 (ISO 9660:1999 has no depth limit; genisoimage and isofuse "
             "leave them in place) and upper-cases level-4 names; readers that do not "
             "follow Rock Ridge CL/RE list the relocation (the Rock Ridge readers, our "
             "reader, xorriso's extraction and bsdtar, must agree)")),
    Line("archiso-releng-hybrid",
         "archlinux/archiso archiso/mkarchiso _build_iso_image with the releng boot modes "
         "bios.syslinux.mbr, bios.syslinux.eltorito, uefi-x64.systemd-boot.esp and "
         "uefi-x64.systemd-boot.eltorito (ESP appended as partition 2)",
         ["-iso-level", "3", "-full-iso9660-filenames", "-joliet", "-joliet-long",
          "-rational-rock", "-volid", "ARCH_202601", "-appid", "Arch Linux baseline",
          "-publisher", "Arch Linux <https://archlinux.org>", "-preparer",
          "prepared by mkarchiso", "-isohybrid-mbr", "iso/syslinux/isohdpfx.bin",
          "--mbr-force-bootable", "-partition_offset", "16", "-eltorito-boot",
          "syslinux/isolinux.bin", "-eltorito-catalog", "syslinux/boot.cat",
          "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-append_partition",
          "2", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "work/efiboot.img",
          "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::",
          "-no-emul-boot", "-isohybrid-gpt-basdat", "-output",
          "out/archlinux-2026.01.01-x86_64.iso", "iso/"],
         lambda w: (_mkdirs(f"{w}/out"), shutil.copy(ISOLINUX_BIN,
                    _mkdirs(f"{w}/iso/syslinux") + "/isolinux.bin"),
                    shutil.copy(ISOHDPFX, f"{w}/iso/syslinux/isohdpfx.bin"),
                    _file(f"{w}/work/efiboot.img", _blob("esp", 96 * 1024)),
                    _file(f"{w}/iso/arch/x86_64/airootfs.sfs", _blob("sfs", 80_000))),
         hybrid="an El Torito image in an appended partition"),
    Line("gxde-loong64-xorriso",
         "GXDE-OS/gxde-iso-builder-live iso-template/loong64-build.sh (-partition_offset, "
         "-append_partition, -e --interval:appended_partition_2:all::)",
         ["-R", "-r", "-J", "-joliet-long", "-l", "-cache-inodes", "-iso-level", "3", "-A",
          "GXDE", "-V", "GXDE", "-partition_offset", "16", "-append_partition", "2", "0xef",
          "loong64/boot/grub/efi.img", "-appended_part_as_gpt", "-eltorito-catalog",
          "boot.catalog", "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::",
          "-e", "boot/grub/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat",
          "-isohybrid-apm-hfsplus", "-o", "gxde.iso", "loong64"],
         lambda w: (_file(f"{w}/loong64/boot/grub/efi.img", _blob("efi", 64 * 1024)),
                    _file(f"{w}/loong64/live/filesystem.squashfs", _blob("sq", 30_000))),
         hybrid="-partition_offset and -append_partition"),
    Line("ubuntu-22.04-remaster",
         "Nitrokey/ubuntu-oem make-image.sh (Ubuntu 22.04.1: the askubuntu 1403546 form of "
         "`xorriso -report_el_torito as_mkisofs`; EFI image in appended partition 2)",
         ["-r", "-V", "Nitrokey OEM Ubuntu Install", "-o",
          "ubuntu-22.04.1-nitropad-oem-amd64.iso", "--grub2-mbr",
          "ubuntu-22.04.1-desktop-amd64.iso.mbr", "-partition_offset", "16",
          "--mbr-force-bootable", "-append_partition", "2",
          "28732ac11ff8d211ba4b00a0c93ec93b", "ubuntu-22.04.1-desktop-amd64.iso.efi",
          "-appended_part_as_gpt", "-iso_mbr_part_type", "a2a0d0ebe5b9334487c068b6b72699c7",
          "-c", "/boot.catalog", "-b", "/boot/grub/i386-pc/eltorito.img", "-no-emul-boot",
          "-boot-load-size", "4", "-boot-info-table", "--grub2-boot-info",
          "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:::", "-no-emul-boot",
          "./unpacked-iso/"],
         ubuntu_remaster, hybrid="an El Torito image in an appended partition",),
]


# ---- what the readers say -----------------------------------------------------------------------

def _run(args, cwd=None, check=True):
    result = subprocess.run([str(a) for a in args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if check and result.returncode != 0:
        raise AssertionError(f"{args[:3]} failed: {result.stderr.decode(errors='replace')}")
    return result


def _norm(path):
    """A path as every view spells it: lower case, no version, no final dot."""
    parts = [part.split(";")[0] for part in path.strip("/").split("/")]
    return "/".join(p[:-1] if p.endswith(".") else p for p in parts).lower()


def image_masks(image, line):
    """Byte ranges of the files of ``image`` that hold sector addresses,
    found by their extents: the boot catalog (all of it), and each boot
    image with the table -boot-info-table patches into bytes 8-63 or the
    address --grub2-boot-info writes at 2548.  {normalized path: ranges}."""
    specs = parse_command_line(line.words).options.boot
    with open_image(str(image)) as img:
        record = img.descriptors.boot_record
        catalog = img.boot_catalog()
        wanted = {record.catalog_sector: None} if record else {}
        for entry, spec in zip(catalog.entries if catalog else [], specs):
            ranges = wanted.setdefault(entry.load_rba, [])
            if ranges is not None and spec.info_table:
                ranges.append((8, 64))
            if ranges is not None and spec.grub2_boot_info:
                ranges.append((2548, 2556))
        masks = {}
        stack = [(img.root, "")]
        while stack:
            inode, prefix = stack.pop()
            for child in img.listdir(inode):
                path = prefix + "/" + child.name.decode("utf-8", "surrogateescape")
                if child.is_dir:
                    stack.append((child, path))
                elif child.extents and child.extents[0][0] in wanted:
                    masks[_norm(path)] = wanted[child.extents[0][0]]
    return masks


def _digest(data, ranges):
    if ranges is None:
        return "address-dependent"
    data = bytearray(data)
    for start, end in ranges:
        data[start:end] = bytes(end - start)
    return hashlib.sha256(data).hexdigest()[:16]


def _table_rows(data):
    """TRANS.TBL: the columns, not their padding."""
    return tuple(sorted(tuple(row.split()) for row in data.decode("latin-1").splitlines()))


def reader_listing(image, masks):
    rows = []
    for img, path, child in entries(image):
        rel = path.lstrip("/")
        if child.is_dir:
            rows.append((path, "dir", oct(stat.S_IMODE(child.mode))))
        elif child.symlink is not None:
            rows.append((path, "link", child.symlink))
        else:
            data = img.read(child, 0, child.size)
            content = _table_rows(data) if rel.endswith("TRANS.TBL") else \
                _digest(data, masks.get(_norm(rel), []))
            rows.append((path, oct(stat.S_IMODE(child.mode)), content))
    return sorted(rows)


def xorriso_extract(image, where, masks):
    _run(["xorriso", "-osirrox", "on", "-indev", image, "-extract", "/", where])
    rows = []
    for folder, dirs, files in os.walk(where):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, where)
            if os.path.islink(path):
                rows.append((rel, "link", os.readlink(path)))
                continue
            with open(path, "rb") as f:
                data = f.read()
            rows.append((rel, _table_rows(data) if rel.endswith("TRANS.TBL")
                         else _digest(data, masks.get(_norm(rel), []))))
        rows.extend((os.path.relpath(os.path.join(folder, d), where), "dir") for d in dirs)
    return sorted(rows)


def name_lists(image):
    """isoinfo's ISO 9660, Rock Ridge and Joliet lists, bsdtar's and 7z's."""
    out = {}
    for view, flags in (("iso9660", []), ("rockridge", ["-R"]), ("joliet", ["-J"])):
        result = _run(["isoinfo", "-i", image, *flags, "-f"], check=False)
        out[view] = sorted(result.stdout.decode("latin-1").split("\n"))
    out["bsdtar"] = sorted(_run(["bsdtar", "-tf", image]).stdout.decode().splitlines())
    slt = _run(["7z", "l", "-slt", image]).stdout.decode(errors="replace")
    out["7z"] = sorted(re.findall(r"^(Path|Size) = (.*)$", slt, re.M)[2:])
    return out


def eltorito_report(image):
    text = _run(["xorriso", "-indev", image, "-report_el_torito", "plain"]).stdout.decode()
    rows = []
    for line in text.splitlines():
        if line.startswith("El Torito catalog"):
            continue                                    # its sector
        if line.startswith("El Torito boot img"):
            line = line.rsplit(None, 1)[0]              # the image's sector
        rows.append(line)
    return rows


# sector-dependent columns of -report_system_area: starts, GUIDs drawn at random
_SA_DROP = {"MBR partition": (3,), "GPT start and size": (1,), "APM start and size": (1,),
            "GPT partition GUID": (1,), "GPT disk GUID": (0,), "GPT lba range": (0, 1, 2),
            "GPT entry array": (0, 1)}


def system_area_report(image):
    text = _run(["xorriso", "-indev", image, "-report_system_area", "plain"]).stdout.decode()
    rows = []
    for line in text.splitlines():
        label, _, rest = line.partition(":")
        fields = rest.split()
        drop = _SA_DROP.get(label.strip(), ())
        rows.append((label.strip(), [f for i, f in enumerate(fields) if i not in drop]))
    return rows


def assert_same_system_area(ours, theirs):
    """The same partitions, types, flags and paths; sizes and starts equal,
    or all off by the one difference of the ISO images' sizes (the
    partitions that cover or follow the ISO file system move with it)."""
    sizes = {label: fields for label, fields in ours}, {l: f for l, f in theirs}
    size_label = "ISO image size/512"
    delta = int(sizes[0][size_label][0]) - int(sizes[1][size_label][0])
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    for (label, mine), (_, ref) in zip(ours, theirs):
        assert len(mine) == len(ref), (label, mine, ref)
        for a, b in zip(mine, ref):
            moved = a.isdigit() and b.isdigit() and int(a) - int(b) == delta
            assert a == b or moved, (label, mine, ref, delta)


# ---- the test -----------------------------------------------------------------------------------

def _make(line, work, program):
    os.makedirs(work)
    line.build(work)
    set_times(work)
    cwd = os.path.join(work, line.cwd)
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(T0))
    result = subprocess.run(program + line.words, cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return result, cwd


def _output(line, cwd):
    return os.path.normpath(os.path.join(cwd, parse_command_line(line.words).output))


def _param(line):
    marks = [pytest.mark.xfail(strict=True, reason=line.pending)] if line.pending else []
    return pytest.param(line, id=line.name, marks=marks)


@pytest.mark.parametrize("line", [_param(line) for line in LINES])
def test_real_line_matches_the_reference(line, tmp_path):
    theirs, ref_cwd = _make(line, str(tmp_path / "ref"), line.ref)
    assert theirs.returncode == 0, theirs.stderr.decode(errors="replace")
    ours, our_cwd = _make(line, str(tmp_path / "ours"), ISOFUSE)
    assert ours.returncode == 0, ours.stderr.decode(errors="replace")
    if "-quiet" in line.words or "-q" in line.words:
        assert ours.stderr == b"", ours.stderr
    assert b"warning" not in ours.stderr, ours.stderr
    ref_image, our_image = _output(line, ref_cwd), _output(line, our_cwd)
    our_masks, ref_masks = image_masks(our_image, line), image_masks(ref_image, line)
    assert reader_listing(our_image, our_masks) == reader_listing(ref_image, ref_masks)
    assert xorriso_extract(our_image, str(tmp_path / "x-ours"), our_masks) == \
        xorriso_extract(ref_image, str(tmp_path / "x-ref"), ref_masks)
    ours_names, ref_names = name_lists(our_image), name_lists(ref_image)
    if line.ref is XORRISOFS and "-boot-info-table" in line.words:
        # xorriso 1.5.4 records relaxed lower-case ISO 9660 names when a line
        # has -boot-info-table (measured: "my-file .txt;1" where genisoimage
        # and xorriso without it write "MY_FILE_.TXT;1"); ours stay ISO 9660
        del ours_names["iso9660"], ref_names["iso9660"]
    for view in ref_names:
        if view not in line.skip_views:
            assert ours_names[view] == ref_names[view], view
    assert eltorito_report(our_image) == eltorito_report(ref_image)
    if line.hybrid is not None or "-isohybrid-mbr" in line.words:
        assert_same_system_area(system_area_report(our_image),
                                system_area_report(ref_image))


def test_enough_real_lines():
    assert len(LINES) >= 25
    assert len({line.source.split()[0] for line in LINES}) >= 20
