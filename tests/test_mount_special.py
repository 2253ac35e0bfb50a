"""Multisession, zisofs, files over 4 GiB, El Torito and `isofuse info`,
block devices, the mount(8) path and the detached daemon."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from corpus import run
from mountutil import ISOFUSE, is_mounted, mounted, unmount
from treelisting import format_rows, listing


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def isofuse(*args, check=True):
    return run(ISOFUSE + list(args), check=check, timeout=60)


# ---- multisession ---------------------------------------------------------------

@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    work = tmp_path_factory.mktemp("ms")
    s1, s2 = work / "s1", work / "s2"
    write(s1 / "old.txt", b"first session\n")
    write(s1 / "keep" / "kept.txt", b"kept\n")
    write(s2 / "new.txt", b"second session\n")
    # xorriso growing an image file: 2 sessions, newest descriptors copied to 16-31
    grown = work / "grown.iso"
    run(["xorriso", "-dev", str(grown), "-map", str(s1), "/", "-commit"])
    run(["xorriso", "-dev", str(grown), "-map", str(s2), "/", "-rm", "/old.txt", "--",
         "-commit"])
    # genisoimage -C/-M: the second session written behind the first
    g1, g2, glued = work / "g1.iso", work / "g2.iso", work / "glued.iso"
    run(["genisoimage", "-quiet", "-R", "-o", str(g1), str(s1)])
    nwa = (os.path.getsize(g1) // 2048 + 15) // 16 * 16
    run(["genisoimage", "-quiet", "-R", "-C", f"0,{nwa}", "-M", str(g1), "-o", str(g2),
         str(s2)])
    with open(glued, "wb") as out:
        out.write(g1.read_bytes())
        out.seek(nwa * 2048)
        out.write(g2.read_bytes())
    toc = run(["xorriso", "-indev", str(grown), "-toc"]).stdout.decode() + \
        run(["xorriso", "-indev", str(grown), "-toc"]).stderr.decode()
    grown_starts = [int(m) for m in re.findall(r"ISO session\s*:\s*\d+\s*,\s*(\d+)", toc)]
    return {"grown": grown, "glued": glued, "nwa": nwa, "grown_starts": grown_starts}


@pytest.mark.mount
def test_multisession_newest_by_default(sessions, tmp_path):
    with mounted(sessions["grown"], tmp_path / "g"):
        assert sorted(os.listdir(tmp_path / "g")) == ["keep", "new.txt"]
        assert (tmp_path / "g" / "keep" / "kept.txt").read_bytes() == b"kept\n"
    with mounted(sessions["glued"], tmp_path / "m"):
        assert sorted(os.listdir(tmp_path / "m")) == ["keep", "new.txt", "old.txt"]
        assert (tmp_path / "m" / "old.txt").read_bytes() == b"first session\n"


@pytest.mark.mount
def test_multisession_older_session_by_number_and_sector(sessions, tmp_path):
    with mounted(sessions["grown"], tmp_path / "a", ["session=0"]):
        assert sorted(os.listdir(tmp_path / "a")) == ["keep", "old.txt"]
    with mounted(sessions["glued"], tmp_path / "b", ["session=0"]):
        assert sorted(os.listdir(tmp_path / "b")) == ["keep", "old.txt"]
    with mounted(sessions["glued"], tmp_path / "c", [f"sbsector={sessions['nwa']}"]):
        assert "new.txt" in os.listdir(tmp_path / "c")


def test_info_lists_the_sessions_xorriso_reports(sessions):
    info = json.loads(isofuse("info", "--json", str(sessions["grown"])).stdout)
    assert sessions["grown_starts"], "xorriso -toc reported no sessions"
    assert info["sessions"] == sessions["grown_starts"]
    info = json.loads(isofuse("info", "--json", str(sessions["glued"])).stdout)
    assert info["sessions"] == [0, sessions["nwa"]]
    bad = isofuse("mount", "-f", "-o", "session=7", str(sessions["glued"]), "/tmp",
                  check=False)
    assert bad.returncode != 0 and b"session 7 does not exist" in bad.stderr


# ---- zisofs --------------------------------------------------------------------------

@pytest.mark.mount
def test_zisofs_files_read_decompressed(tmp_path):
    src = tmp_path / "src"
    write(src / "text.txt", b"a compressible line of text\n" * 30000)
    write(src / "zeros.bin", bytes(300_000))
    write(src / "random.bin", os.urandom(70_000))
    write(src / "tiny", b"x")
    image = tmp_path / "z.iso"
    run(["xorriso", "-outdev", str(image), "-map", str(src), "/",
         "-set_filter_r", "--zisofs", "/", "--", "-commit"])
    report = run(["xorriso", "-indev", str(image), "-show_stream", "/text.txt"]).stdout
    assert b"zisofs" in report or os.path.getsize(image) < 400_000
    fields = ("path", "type", "size", "sha256")
    with mounted(image, tmp_path / "mnt"):
        assert format_rows(listing(str(tmp_path / "mnt")), fields) == \
            format_rows(listing(str(src)), fields)
        # random access inside a compressed block
        with open(tmp_path / "mnt" / "text.txt", "rb") as f:
            f.seek(100_003)
            assert f.read(50) == (b"a compressible line of text\n" * 30000)[100_003:100_053]
    with mounted(image, tmp_path / "raw", ["nocompress"]):
        assert os.path.getsize(tmp_path / "raw" / "text.txt") < 100_000


# ---- files over 4 GiB --------------------------------------------------------------------

BIG = 4 * 1024 ** 3 + 12345
BOUNDARY = 0xFFFFF800


@pytest.fixture(scope="module")
def big_image(tmp_path_factory):
    work = tmp_path_factory.mktemp("big", numbered=True)
    src = work / "src"
    src.mkdir()
    with open(src / "huge.bin", "wb") as f:
        f.truncate(BIG)
        for offset, marker in ((0, b"HEAD"), (BOUNDARY - 2000, b"EDGE"), (BIG - 4000, b"TAIL")):
            f.seek(offset)
            f.write(marker * 1000)
    image = work / "big.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-iso-level", "3", "-R", "-o", str(image),
         str(src)])
    yield src, image
    os.unlink(image)


@pytest.mark.mount
@pytest.mark.slow
def test_file_over_4gib_reads_as_one_file(big_image, tmp_path):
    src, image = big_image
    with mounted(image, tmp_path / "mnt"):
        path = tmp_path / "mnt" / "huge.bin"
        assert os.path.getsize(path) == BIG
        with open(src / "huge.bin", "rb") as want, open(path, "rb") as got:
            for offset in (0, BOUNDARY - 3000, BOUNDARY - 10, BIG - 5000):
                want.seek(offset)
                got.seek(offset)
                assert got.read(1 << 20) == want.read(1 << 20), offset


# ---- El Torito and info ------------------------------------------------------------------

@pytest.fixture(scope="module")
def boot_image(tmp_path_factory):
    work = tmp_path_factory.mktemp("eltorito")
    src = work / "src"
    write(src / "boot.img", os.urandom(2048))
    write(src / "efi.img", os.urandom(65536))
    write(src / "hello.txt", b"hello\n")
    image = work / "boot.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "BOOT_VOL",
         "-publisher", "The Publisher", "-p", "The Preparer", "-A", "The Application",
         "-b", "boot.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
         "-c", "boot.cat", "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot",
         "-o", str(image), str(src)])
    return image


def test_info_boot_entries_match_xorriso(boot_image):
    report = run(["xorriso", "-indev", str(boot_image), "-report_el_torito", "plain"]
                 ).stdout.decode()
    rows = re.findall(r"El Torito boot img :\s+(\d+)\s+(\S+)\s+(\S)\s+(\S+)\s+(0x[0-9a-f]+)"
                      r"\s+\S+\s+(\d+)\s+(\d+)", report)
    assert len(rows) == 2, report
    catalog = int(re.search(r"El Torito catalog\s*:\s*(\d+)", report).group(1))
    info = json.loads(isofuse("info", "--json", str(boot_image)).stdout)
    assert info["boot"]["catalog_sector"] == catalog
    platforms = {"BIOS": "x86", "UEFI": "EFI"}
    for row, entry in zip(rows, info["boot"]["entries"]):
        _, platform, bootable, emul, segment, load_size, lba = row
        assert entry["platform"] == platforms[platform]
        assert entry["bootable"] == (bootable == "y")
        assert entry["media"] == "no emulation" and emul == "none"
        assert entry["load_segment"] == int(segment, 16)
        assert entry["sector_count"] == int(load_size)
        assert entry["load_rba"] == int(lba)
    assert "El Torito" in info["extensions"]


def test_info_descriptors_match_isoinfo(boot_image):
    text = run(["isoinfo", "-d", "-i", str(boot_image)]).stdout.decode()
    fields = dict(re.findall(r"^([A-Za-z ]+?):[ \t]*(.*)$", text, re.M))
    info = json.loads(isofuse("info", "--json", str(boot_image)).stdout)
    pvd = info["primary"]
    assert pvd["volume_id"] == fields["Volume id"].strip()
    assert pvd["publisher"] == fields["Publisher id"].strip()
    assert pvd["preparer"] == fields["Data preparer id"].strip()
    assert pvd["application"] == fields["Application id"].strip()
    assert str(pvd["volume_space_size"]) == re.search(r"Volume size is:\s*(\d+)", text).group(1)
    assert info["joliet"]["volume_id"] == "BOOT_VOL"
    human = isofuse("info", str(boot_image)).stdout.decode()
    assert "BOOT_VOL" in human and "El Torito boot catalog" in human


def test_info_and_mount_refuse_a_non_image(tmp_path):
    junk = tmp_path / "junk.iso"
    junk.write_bytes(os.urandom(200_000))
    for args in (["info", str(junk)], ["mount", "-f", str(junk), str(tmp_path)]):
        result = isofuse(*args, check=False)
        assert result.returncode == 1
        message = result.stderr.decode().strip()
        assert "no ISO 9660 volume descriptors" in message
        assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert not is_mounted(tmp_path)


def test_usage_errors_are_clear(tmp_path):
    result = isofuse("mount", "-o", "bogus", "x.iso", str(tmp_path), check=False)
    assert result.returncode == 2 and b"unknown mount option 'bogus'" in result.stderr
    result = isofuse("mount", str(tmp_path / "missing.iso"), str(tmp_path), check=False)
    assert result.returncode == 1 and b"no such file" in result.stderr
    assert b"mount" in isofuse("mount", "--help").stdout


# ---- block devices, mount(8) and the detached daemon -------------------------------------------

@pytest.mark.mount
def test_block_device(corpus, tmp_path):
    item = corpus["genisoimage-rr"]
    try:
        loop = subprocess.run(["losetup", "-r", "-f", "--show", item.image],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True
                              ).stdout.decode().strip()
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.fail(f"losetup failed: {exc}")
    try:
        with mounted(loop, tmp_path / "mnt"):
            fields = ("path", "type", "size", "sha256", "target")
            assert format_rows(listing(str(tmp_path / "mnt")), fields) == \
                format_rows(listing(item.source), fields)
    finally:
        subprocess.run(["losetup", "-d", loop])


@pytest.mark.mount
def test_detached_daemon_and_mount_t_fuse(corpus, tmp_path):
    item = corpus["xorriso-rr-joliet"]
    for how in ("isofuse", "mount(8)"):
        mnt = tmp_path / how.replace("(8)", "")
        mnt.mkdir()
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(sys.executable) + ":" + env.get("PATH", "")
        if how == "isofuse":
            args = ISOFUSE + ["mount", item.image, str(mnt)]
        else:
            # mount(8) runs mount.fuse3 with a minimal PATH; name the program
            # explicitly ("PROGRAM#SOURCE") so the test does not depend on
            # where pip put the script.  With isofuse on the default PATH,
            # "-t fuse.isofuse IMAGE" is the same call.
            program = os.path.join(os.path.dirname(sys.executable), "isofuse")
            args = ["mount", "-t", "fuse", "-o", "ro,norock", f"{program}#{item.image}",
                    str(mnt)]
        try:
            result = subprocess.run(args, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, timeout=60)
            assert result.returncode == 0, result.stderr.decode()
            # the command returned: the mount is already there
            assert is_mounted(mnt)
            assert (mnt / "README.txt").read_bytes() == b"isofuse test corpus\n"
            if how == "mount(8)":
                # norock: the Joliet tree (no symlinks, owners of the kernel's default)
                assert os.lstat(mnt / "README.txt").st_mode & 0o777 == 0o555
            fsname = [line.split()[0] for line in open("/proc/mounts")
                      if line.split()[1] == str(mnt)]
            assert fsname == [item.image]
        finally:
            unmount(str(mnt))
        deadline = time.monotonic() + 10
        while subprocess.run(["pgrep", "-f", f"isofuse.*{mnt}"],
                             stdout=subprocess.DEVNULL).returncode == 0:
            assert time.monotonic() < deadline, "daemon still running after unmount"
            time.sleep(0.1)


def test_mount_points_with_escaped_characters(tmp_path):
    """The kernel escapes space, tab and backslash in its mount tables; the
    mount is found there (read-ahead raised, the burner's mounted-disc check)
    with the path as it is."""
    from mountutil import staged
    from isofuse.fuseops.session import READ_AHEAD_KB, _mount_device
    from isofuse.mounttable import unescape
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "f.txt").write_bytes(b"x" * 10)
    mnt = tmp_path / "a b\tc\\d"
    with staged(upper, mnt):
        with open("/proc/self/mountinfo") as f:
            points = [unescape(line.split()[4]) for line in f]
        assert str(mnt) in points
        device = _mount_device(str(mnt))
        assert (mnt / "f.txt").read_bytes() == b"x" * 10       # the first OPEN
        with open(f"/sys/class/bdi/{device}/read_ahead_kb") as f:
            assert int(f.read()) == READ_AHEAD_KB
