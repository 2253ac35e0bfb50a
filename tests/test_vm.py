"""Tests of tools/vm: a real Linux kernel (isofs, sr, sg) in a QEMU guest.

Each boot costs ~10-20 s, so all kernel listings are made in one boot
(module fixture ``kernel_views``).

Known differences between the kernel's view of a "xorriso -as mkisofs -R -J"
image and the source tree (asserted below, so a change gets noticed):

* nlink of directories: xorriso records 1 in the Rock Ridge PX entry of
  directories and the kernel reports that; the source has 2 + subdirectories.
  (genisoimage records the real count, and the kernel reports it.)
* hardlink groups: Rock Ridge keeps nlink (2 for both names of a hard-linked
  file) but the kernel numbers inodes by directory record position, so the two
  names get different inode numbers and treelisting cannot group them.
* Everything else matches with Rock Ridge: path, type (incl. symlinks and
  FIFOs), mode, uid, gid, size, mtime (whole seconds; RR keeps no fractions
  in the short form, so the source tree uses whole-second mtimes), rdev,
  symlink target, contents.
* genisoimage relocates directories deeper than 8 levels into "rr_moved" and
  leaves that directory visible; xorriso does not.
* Without Rock Ridge (norock) the kernel shows the Joliet tree: no symlinks or
  FIFOs (xorriso leaves them out of Joliet), long names cut (xorriso 1.5.4:
  to 65 characters, keeping the extension), every
  file and directory mode 0555, uid/gid 0, nlink 1.  Without Joliet too, it
  shows the ISO 9660 level 1 names, lower-cased by map=normal (8.3, "_" for
  other characters); symlinks and FIFOs appear as empty files.
"""

import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm_support  # noqa: E402
from vm_support import (KERNEL_VS_SOURCE_FIELDS, SG_IO_PROBE,  # noqa: E402,F401
                        listing_request, make_iso, make_tree, run_vm_cli,
                        no_guest_left_behind, running_guests, sg_io_probe_lines,
                        vm_setup)

TOOLS = vm_support.TOOLS
sys.path.insert(0, TOOLS)
import treelisting  # noqa: E402

ALL_BUT_LINKS = [f for f in treelisting.FIELDS if f not in ("nlink", "hardlink")]


def source_listing(root, fields):
    return treelisting.format_rows(treelisting.listing(root), fields)


def project(lines, fields, wanted):
    idx = [fields.index(f) for f in wanted]
    return ["\t".join(line.split("\t")[i] for i in idx) for line in lines]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("vmtree")
    src = make_tree(base / "src")
    rj = make_iso(src, base / "rj.iso", "-R", "-J")
    gen = str(base / "gen.iso")
    subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-o", gen, src],
                   check=True)
    return {"src": src, "rj": rj, "gen": gen}


@pytest.fixture(scope="module")
def kernel_views(vm_setup, tree):
    """All kernel listings of this module, made in a single boot."""
    reqs = {
        "rj": tree["rj"],
        "rj-norock": listing_request(tree["rj"], norock=True),
        "rj-plain": listing_request(tree["rj"], norock=True, nojoliet=True),
        "gen": tree["gen"],
    }
    start = time.monotonic()
    by_req = vm_support.kernel_listings_by_image(reqs.values())
    print("kernel listing boot: %.1fs" % (time.monotonic() - start))
    return {name: by_req[req] for name, req in reqs.items()}


@pytest.mark.vm
def test_kernel_listing_equals_source_xorriso(tree, kernel_views):
    fields = list(treelisting.FIELDS)
    src = source_listing(tree["src"], fields)
    kern = kernel_views["rj"]
    assert project(kern, fields, KERNEL_VS_SOURCE_FIELDS) == \
        project(src, fields, KERNEL_VS_SOURCE_FIELDS)
    # stricter: everything except link counts matches too
    assert project(kern, fields, ALL_BUT_LINKS) == \
        project(src, fields, ALL_BUT_LINKS)
    # the documented differences
    k = {line.split("\t")[0]: dict(zip(fields, line.split("\t"))) for line in kern}
    assert {r["nlink"] for r in k.values() if r["type"] == "d"} == {"1"}
    assert k["hello.txt"]["nlink"] == k["hardlink.txt"]["nlink"] == "2"
    assert k["hello.txt"]["hardlink"] == "hello.txt"
    assert k["hardlink.txt"]["hardlink"] == "hardlink.txt"
    assert "p" in {r["type"] for r in k.values()}          # the FIFO survived


@pytest.mark.vm
def test_kernel_listing_genisoimage(tree, kernel_views):
    fields = list(treelisting.FIELDS)
    src = source_listing(tree["src"], fields)
    kern = kernel_views["gen"]
    moved = [line for line in kern if line.split("\t")[0].split("/")[0] == "rr_moved"]
    assert moved, "genisoimage's rr_moved is expected to be visible"
    kern = [line for line in kern if line not in moved]
    wanted = [f for f in fields if f != "hardlink"]
    assert project(kern, fields, wanted) == project(src, fields, wanted)


@pytest.mark.vm
def test_kernel_listing_joliet_and_plain(tree, kernel_views):
    fields = list(treelisting.FIELDS)
    src = {line.split("\t")[0]: dict(zip(fields, line.split("\t")))
           for line in source_listing(tree["src"], fields)}
    jol = {line.split("\t")[0]: dict(zip(fields, line.split("\t")))
           for line in kernel_views["rj-norock"]}
    expected = {p for p, r in src.items()
                if r["type"] in "fd" and all(len(c) <= 64 for c in p.split("/"))}
    long = [p for p in jol if p not in src]
    assert set(jol) - set(long) == expected
    # xorriso cuts the 154-character name to 61 + ".txt" (65) characters
    assert len(long) == 1 and len(long[0]) <= 66 and long[0].startswith("xxx")
    assert long[0].endswith(".txt")
    for path in expected:
        assert jol[path]["type"] == src[path]["type"]
        assert jol[path]["sha256"] == src[path]["sha256"]
        assert jol[path]["mode"] == "0555"

    plain = [dict(zip(fields, line.split("\t"))) for line in kernel_views["rj-plain"]]
    assert len(plain) == len(src)          # symlinks and the FIFO as files
    for row in plain:
        for comp in row["path"].split("/"):
            assert re.fullmatch(r"[a-z0-9_]{1,8}(\.[a-z0-9_]{1,3})?", comp), comp
    byname = {r["path"]: r for r in plain}
    assert byname["hello.txt"]["sha256"] == src["hello.txt"]["sha256"]
    assert byname["link_rel"]["type"] == "f" and byname["link_rel"]["size"] == "0"


@pytest.mark.vm
def test_cli_kernel_listing_format(tree, vm_setup, tmp_path):
    proc = run_vm_cli("kernel-listing", tree["rj"], "--fields",
                      "path,type,size,target", "--no-hash")
    assert proc.returncode == 0, proc.stderr
    expected = source_listing(tree["src"], ["path", "type", "size", "target"])
    assert proc.stdout.splitlines() == expected


@pytest.mark.vm
def test_sg_io_and_chroot_python(vm_setup, tree, tmp_path):
    """Two images as MMC drives; the host's python (chrooted) talks SG_IO."""
    share = tmp_path / "share"
    share.mkdir()
    script = ('"$VM_PYTHON" "$VM_CTL/probe.py" /dev/sr0 /dev/sg0 /dev/sr1 /dev/sg1\n'
              'test -c /dev/fuse && grep -qw fuse /proc/filesystems && echo fuse-ok\n'
              'echo "to stderr" >&2\n'
              'uname -r > "%s/uname"\n'
              'exit 3\n' % share)
    result = vm_support.run_in_vm(script, images=[tree["rj"], tree["gen"]],
                                  share=[share], files={"probe.py": SG_IO_PROBE})
    assert result.returncode == 3, result.stderr
    assert result.stderr == "to stderr\n"
    assert "fuse-ok" in result.stdout
    probe = sg_io_probe_lines(result.stdout)
    assert set(probe) == {"/dev/sr0", "/dev/sg0", "/dev/sr1", "/dev/sg1"}
    for dev, info in probe.items():
        assert info["type"] == "5", (dev, info)           # MMC device
        assert info["vendor"] == "QEMU", (dev, info)
        assert info["profile"] == "0x0008", (dev, info)   # CD-ROM
    assert (share / "uname").read_text().strip() == vm_setup.version


@pytest.mark.vm
def test_cli_run_busybox_status_and_output():
    proc = run_vm_cli("run", "--busybox", "--", "sh", "-c",
                      "echo out; echo err >&2; echo \"$0 $1\"; exit 7", "a b", "c")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "out\na b c\n"
    assert proc.stderr == "err\n"


@pytest.mark.vm
def test_time_limit_kills_stuck_guest(tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    start = time.monotonic()
    proc = run_vm_cli("run", "--busybox", "--timeout", "20", "--share",
                      str(share), "--", "sh", "-c",
                      "touch %s/started; sleep 1000" % share)
    elapsed = time.monotonic() - start
    assert proc.returncode == 124, proc.stderr
    assert "did not finish within 20s" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (share / "started").exists()
    assert elapsed < 40
    assert running_guests() == []


def test_cli_help_and_user_errors(tmp_path):
    proc = run_vm_cli("--help")
    assert proc.returncode == 0
    for word in ("setup", "run", "kernel-listing", "ISOFUSE_VM_CACHE"):
        assert word in proc.stdout
    for sub in ("setup", "run", "kernel-listing"):
        assert run_vm_cli(sub, "--help").returncode == 0
    proc = run_vm_cli("kernel-listing", str(tmp_path / "missing.iso"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "tools/vm: error: image not found: %s" % (tmp_path / "missing.iso")]
    proc = run_vm_cli("run", "--image", str(tmp_path / "missing.iso"), "--", "true")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    proc = run_vm_cli("run")
    assert proc.returncode == 2 and "no command" in proc.stderr
    proc = run_vm_cli("run", "--share", str(tmp_path / "nodir"), "--", "true")
    assert proc.returncode == 1 and "not a directory" in proc.stderr


@pytest.mark.vm
def test_setup_is_idempotent(vm_setup):
    import vmlib
    start = time.monotonic()
    again = vmlib.setup(quiet=True)
    assert again == vm_setup
    assert time.monotonic() - start < 5
