"""Hybrid images (xorrisofs -isohybrid-mbr, -isohybrid-gpt-basdat,
-isohybrid-apm-hfsplus): our system area against xorrisofs' for the same
tree and options, read by xorriso -report_system_area, sgdisk and fdisk.

The only differences allowed are the boot images' addresses: xorrisofs'
directory area is a few sectors longer, so its files start later.  The
comparison maps each image's boot image addresses to names first.  GUIDs
and the MBR id are the deterministic ones xorriso derives from the volume
date under SOURCE_DATE_EPOCH (docs/hybrid-boot.md)."""

import os
import re
import shutil
import struct
import subprocess

import pytest

from isofuse.format import apm, gpt, mbr
from isofuse.master.layout import Layout, LayoutError
from isofuse.master.options import ROCK_KEEP, BootSpec, MasterOptions
from isofuse.master.sourcetree import scan
from isofuse.master.stream import ImageStream

ISOHDPFX = "/usr/lib/ISOLINUX/isohdpfx.bin"
SYSLINUX_BIOS = "/usr/lib/syslinux/modules/bios"
EPOCH = 1700000000
BIOS_MARKER = "ISOFUSE-BIOS-MARK"
EFI_MARKER = "ISOFUSE-EFI-MARKER"
ISOLINUX_WORDS = ["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                  "-boot-load-size", "4", "-boot-info-table"]
EFI_WORDS = ["-eltorito-alt-boot", "-e", "boot/grub/efi.img", "-no-emul-boot"]
# name -> (xorrisofs words after -isohybrid-mbr, whether the EFI entry is there,
#          gpt_basdat, apm_hfsplus)
VARIANTS = {
    "mbr": (ISOLINUX_WORDS, False, False, False),
    "gpt": (ISOLINUX_WORDS + EFI_WORDS + ["-isohybrid-gpt-basdat"], True, True, False),
    "gpt-apm": (ISOLINUX_WORDS + EFI_WORDS + ["-isohybrid-gpt-basdat",
                                              "-isohybrid-apm-hfsplus"], True, True, True),
}


def run(argv, env=None):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                          env=env, timeout=300)


def efi_image(work):
    """A 4 MiB FAT image holding GRUB as EFI/BOOT/BOOTX64.EFI; its built-in
    grub.cfg prints EFI_MARKER and halts (the OVMF boot test)."""
    cfg = os.path.join(work, "grub.cfg")
    with open(cfg, "w") as f:
        f.write(f"echo {EFI_MARKER}\nhalt\n")
    efi = os.path.join(work, "bootx64.efi")
    run(["grub-mkstandalone", "--format=x86_64-efi", f"--output={efi}",
         "--install-modules=echo halt normal", "--locales=", "--fonts=", "--themes=",
         f"boot/grub/grub.cfg={cfg}"])
    image = os.path.join(work, "efi.img")
    run(["mkfs.vfat", "-C", image, "4096"])
    run(["mmd", "-i", image, "::/EFI", "::/EFI/BOOT"])
    run(["mcopy", "-i", image, efi, "::/EFI/BOOT/BOOTX64.EFI"])
    return image


def make_boot_tree(work):
    """isolinux (prints BIOS_MARKER on the serial port, then powers off),
    a GRUB EFI image and a file."""
    src = os.path.join(work, "tree")
    os.makedirs(os.path.join(src, "isolinux"))
    os.makedirs(os.path.join(src, "boot", "grub"))
    shutil.copy("/usr/lib/ISOLINUX/isolinux.bin", os.path.join(src, "isolinux"))
    for module in ("ldlinux.c32", "poweroff.c32", "libcom32.c32", "libutil.c32"):
        shutil.copy(os.path.join(SYSLINUX_BIOS, module), os.path.join(src, "isolinux"))
    with open(os.path.join(src, "isolinux", "isolinux.cfg"), "w") as f:
        f.write(f"SERIAL 0 115200\nSAY {BIOS_MARKER}ER\nDEFAULT off\nLABEL off\n"
                "  COM32 poweroff.c32\n")
    shutil.move(efi_image(work), os.path.join(src, "boot", "grub", "efi.img"))
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("hello\n")
    return src


def options_for(variant, **extra):
    """The MasterOptions the xorrisofs words of ``variant`` mean."""
    _, with_efi, basdat, hfsplus = VARIANTS[variant]
    boot = [BootSpec("isolinux/isolinux.bin", load_size=4, info_table=True)]
    if with_efi:
        boot.append(BootSpec("boot/grub/efi.img", platform=0xEF, gpt_basdat=basdat,
                             apm_hfsplus=hfsplus))
    return MasterOptions(rock=ROCK_KEEP, source_date_epoch=EPOCH, boot=boot,
                         boot_catalog="isolinux/boot.cat", hybrid_mbr=ISOHDPFX, **extra)


def master_api(src, out, options):
    layout = Layout(scan([src]), options)
    with ImageStream(layout) as stream, open(out, "wb") as f:
        stream.write_to(f.fileno())
    return layout


def xorrisofs(src, out, words):
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    run(["xorrisofs", "-quiet", "-R", "-o", out, "-isohybrid-mbr", ISOHDPFX, *words, src],
        env=env)


@pytest.fixture(scope="module")
def boot_tree(tmp_path_factory):
    return make_boot_tree(str(tmp_path_factory.mktemp("hybridtree")))


@pytest.fixture(scope="module")
def images(boot_tree, tmp_path_factory):
    work = tmp_path_factory.mktemp("hybrid")
    made = {}
    for variant, (words, _, _, _) in VARIANTS.items():
        ours, theirs = str(work / f"{variant}.iso"), str(work / f"{variant}-x.iso")
        layout = master_api(boot_tree, ours, options_for(variant))
        xorrisofs(boot_tree, theirs, words)
        made[variant] = (ours, theirs, layout)
    return made


def file_lbas(image):
    """[(2048-byte sector, sectors, path)] of every file's data."""
    text = run(["xorriso", "-indev", image, "-find", "/", "-type", "f", "-exec",
                "report_lba"]).stdout.decode()
    return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in
            re.finditer(r"File data lba:\s+\d+ ,\s+(\d+) ,\s+(\d+) ,.*'(/\S+)'$", text,
                        re.M)]


def boot_lbas(image, ends=False):
    """{2048-byte sector: file name} of the El Torito boot images; with
    ``ends`` also {sector after the image: name + ".end"} and the first
    file data sector as "DATA0"."""
    text = run(["xorriso", "-indev", image, "-report_el_torito", "plain"]).stdout.decode()
    boot = {int(line.split()[-1]) for line in text.splitlines()
            if line.startswith("El Torito boot img :")}
    files = file_lbas(image)
    found, after = {}, {}
    if ends and files:
        found[min(lba for lba, blocks, _ in files if blocks)] = "DATA0"
    for lba, blocks, path in files:
        if lba in boot:
            after[lba + blocks] = os.path.basename(path) + ".end"
            found[lba] = os.path.basename(path)
    if ends:
        found.update(after)     # an end where the next image starts is named as an end
    return found


def normalized_report(image):
    """xorriso -report_system_area plain, its addresses named (report_lines)."""
    return [named for _, named in report_lines(image) if named is not None]


def report_lines(image):
    """[(line, named line or None)] of xorriso -report_system_area plain:
    each line as it is and with every address as a name and
    an offset: from 0, the first file data, a boot image's start or end, or
    the ISO's end, whichever is the nearest below (so reports of images whose directories take a few
    sectors more compare equal; the last 512 blocks of the ISO count back
    from its end, a boot image's end is named as such); sizes as the end
    they give; gaps' incidental file names are left out."""
    text = run(["xorriso", "-indev", image, "-report_system_area", "plain"]).stdout.decode()
    anchors = {0: "0"}
    for sector, name in boot_lbas(image, ends=True).items():
        anchors[sector * 4] = name
    m = re.search(r"ISO image size/512 : (\d+)", text)
    if m:
        anchors[int(m.group(1))] = "ISO_END"
    # -efi-boot-part DISKFILE: a partition in front of the file data
    for number in re.findall(r"GPT partname local :\s+(\d+)\s+EFI boot partition$", text,
                             re.M):
        place = re.search(rf"GPT start and size :\s+{number}\s+(\d+)\s+(\d+)$", text, re.M)
        start, size = int(place.group(1)), int(place.group(2))
        anchors[start], anchors[start + size] = "EFIPART", "EFIPART.end"

    end = max(a for a, n in anchors.items() if n == "ISO_END") if m else None

    def name(value):
        if end is not None and 0 < end - value <= 512:
            return f"ISO_END-{end - value}"      # the GPT backup at the ISO's end
        base = max(a for a in anchors if a <= value)
        return f"{anchors[base]}+{value - base}"

    patterns = [(r"(MBR partition      :\s+\d+\s+\S+\s+\S+\s+)(\d+)(\s+)(\d+)$", True),
                (r"(GPT start and size :\s+\d+\s+)(\d+)(\s+)(\d+)$", True),
                (r"(APM start and size :\s+\d+\s+)(\d+)(\s+)(\d+)$", False)]
    out, partition = [], ""
    for line in text.splitlines():
        raw = line
        m = re.match(r"GPT partname local :\s+\d+\s+(\S+)", line)
        if m:
            partition = m.group(1)
        if line.startswith("GPT partition path") and partition.startswith("Gap"):
            out.append((raw, None))
            continue        # a file that happens to start where a gap starts
        for pattern, in_512 in patterns:
            m = re.match(pattern, line)
            if m:
                scale = 1 if in_512 else 4
                start, size = int(m.group(2)) * scale, int(m.group(4)) * scale
                line = f"{m.group(1)}{name(start)} .. {name(start + size)}"
        m = re.match(r"(GPT lba range      :\s+)(\d+)\s+(\d+)\s+(\d+)$", line)
        if m:
            line = m.group(1) + " ".join(name(int(m.group(i))) for i in (2, 3, 4))
        if line.startswith("ISO image size/512"):
            line = "ISO image size/512 : ISO_END"
        out.append((raw, line))
    return out


def raw_report(image):
    return run(["xorriso", "-indev", image, "-report_system_area", "plain"]).stdout.decode()


def reports_match(ours, theirs):
    """The same report, line by line as it is (addresses that do not
    depend on the directories' size, e.g. a cylinder-aligned end) or with
    the addresses named (see report_lines)."""
    mine, other = ([(raw, named) for raw, named in report_lines(image) if named is not None]
                   for image in (ours, theirs))
    return len(mine) == len(other) and all(
        raw == raw_other or named == named_other
        for (raw, named), (raw_other, named_other) in zip(mine, other))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_system_area_report_equals_xorrisofs(images, variant):
    ours, theirs, _ = images[variant]
    mine = normalized_report(ours)
    assert mine == normalized_report(theirs)
    assert "MBR isohybrid" in "\n".join(mine)
    if variant != "mbr":
        assert any(line.startswith("GPT type GUID") for line in mine)
    if variant == "gpt-apm":
        assert any(line.startswith("APM partition type :   1  Apple_HFS") for line in mine)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_system_area_bytes_differ_only_in_addresses(images, variant):
    """Byte for byte: the first 32 KiB and the GPT backup differ from
    xorrisofs' only where a boot image's address (or a CRC over one) is."""
    ours, theirs, layout = images[variant]
    with open(ours, "rb") as f:
        mine = f.read()
    with open(theirs, "rb") as f:
        other = f.read()
    assert len(mine) == len(other) == layout.total_sectors * 2048
    boot = {name: lba for lba, name in boot_lbas(ours).items()}
    xboot = {name: lba for lba, name in boot_lbas(theirs).items()}
    if boot == xboot:
        assert mine[:32768] == other[:32768]
    # the MBR's boot address is the first El Torito image's (isolinux.bin)
    assert struct.unpack_from("<Q", mine, 432)[0] == boot["isolinux.bin"] * 4
    assert struct.unpack_from("<Q", other, 432)[0] == xboot["isolinux.bin"] * 4
    assert mine[:432] == other[:432]
    assert mine[440:446] == other[440:446]          # MBR id from the volume date


def test_gpt_is_valid_for_sgdisk(images):
    """sgdisk checks both headers' and the entry array's CRCs; isohybrid's
    GPT overlaps itself by design (the ISO partition holds the EFI one), so
    sgdisk reports exactly the problems it reports for xorrisofs' image."""
    ours, theirs, _ = images["gpt"]

    def verify(image):
        return subprocess.run(["sgdisk", "-v", image], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout.decode()
    check = verify(ours)
    assert check == verify(theirs)
    assert "CRC" not in check and "corrupt" not in check.lower(), check
    assert "MBR partitions 1 and 2 overlap" in check


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fdisk_sees_the_same_mbr_partitions(images, variant):
    ours, theirs, _ = images[variant]

    def table(image):
        text = run(["fdisk", "-l", "-t", "dos", image]).stdout.decode()
        rows = [line.split() for line in text.splitlines() if line.startswith(image)]
        return [(row[1] == "*", row[-1]) for row in rows]   # boot flag, type name
    assert table(ours) == table(theirs)
    assert table(ours)[0][0]                                 # partition 1 bootable


def test_structures_decode(images):
    """Our own decoders read back what the encoders wrote (and xorriso's)."""
    for image in images["gpt-apm"][:2]:
        with open(image, "rb") as f:
            data = f.read()
        table = mbr.decode_table(data[:512])
        assert table[0][:3] == (0x80, 0x00, 0) and table[1][1] == 0xEF
        header = gpt.decode_header(data[512:1024])
        assert header["entries_lba"] == 12 and header["entry_count"] == 208
        backup = gpt.decode_header(data[-512:])
        assert backup["my_lba"] == len(data) // 512 - 1 and backup["other_lba"] == 1
        first = gpt.decode_entry(data[12 * 512:12 * 512 + 128])
        assert first[0] == gpt.BASIC_DATA and first[5] == "ISOHybrid"
        assert apm.decode_entry(data[2048:4096])[3:] == ("Apple", "Apple_partition_map")
        assert apm.decode_entry(data[4096:6144])[3:] == ("EFI", "Apple_HFS")
        assert data[:8] == apm.ISOHYBRID_HEAD[:8]


def test_el_torito_still_reported(images):
    ours, theirs, _ = images["gpt"]

    def entries(image):
        text = run(["xorriso", "-indev", image, "-report_el_torito", "plain"]).stdout.decode()
        return [line.split()[2:6] for line in text.splitlines()
                if line.startswith("El Torito boot img :")]
    assert entries(ours) == entries(theirs)
    assert len(entries(ours)) == 2


def test_print_size_and_random_access(images):
    ours, _, layout = images["gpt"]
    size = os.path.getsize(ours)
    assert layout.total_sectors * 2048 == size
    with open(ours, "rb") as f:
        data = f.read()
    with ImageStream(layout) as stream:
        for offset in (0, 510, 512 * 2, 32767, size - 512, size - 70000, size - 1):
            assert stream.read(offset, 4096) == data[offset:offset + 4096], offset


def test_image_is_whole_cylinders_and_reproducible(images, boot_tree, tmp_path):
    ours, _, _ = images["mbr"]
    assert os.path.getsize(ours) % (64 * 32 * 512) == 0
    again = str(tmp_path / "again.iso")
    master_api(boot_tree, again, options_for("mbr"))
    with open(ours, "rb") as a, open(again, "rb") as b:
        assert a.read() == b.read()


def test_isohybrid_needs_a_boot_image(boot_tree):
    with pytest.raises(LayoutError, match="El Torito"):
        Layout(scan([boot_tree]), MasterOptions(hybrid_mbr=ISOHDPFX))


def test_apm_needs_a_prepared_mbr_file(boot_tree, tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"\xfa" * 432)
    options = options_for("gpt-apm")
    options.hybrid_mbr = str(plain)
    with pytest.raises(LayoutError, match="Apple Partition Map"):
        Layout(scan([boot_tree]), options)


def test_missing_mbr_file_is_one_line_error(boot_tree):
    options = options_for("mbr")
    options.hybrid_mbr = "/nonexistent/isohdpfx.bin"
    with pytest.raises(LayoutError, match="cannot read /nonexistent"):
        Layout(scan([boot_tree]), options)


def test_images_without_hybrid_options_keep_their_data_order(boot_tree):
    """Only hybrid images place the boot images first (as xorrisofs does)."""
    plain = options_for("gpt")
    plain.hybrid_mbr = None
    plain.boot[1].gpt_basdat = False
    layout = Layout(scan([boot_tree]), plain)
    hybrid = Layout(scan([boot_tree]), options_for("gpt"))
    first = lambda lay: [os.path.basename(item.path or b"") for item in lay.data_items[:2]]
    assert first(hybrid) == [b"efi.img", b"isolinux.bin"]
    assert first(layout) == [b"hello.txt", b"efi.img"]
