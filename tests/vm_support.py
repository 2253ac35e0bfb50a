"""Helpers for tests that boot a real Linux kernel with tools/vm.

Import from test modules (tests/ is on sys.path when pytest runs them):

    from vm_support import vm_setup, kernel_listings_by_image, run_in_vm

* ``vm_setup``: session fixture; sets tools/vm up once (installs packages,
  downloads the kernel, builds the initramfs) and checks that no guest is
  left running at the end of the session.
* ``kernel_listings_by_image(requests, ...)``: list many images with the
  kernel's isofs in ONE boot (~15 s) -> {request: lines}; use it from a
  session- or module-scoped fixture.
* ``run_in_vm(command, images=..., ...)``: run a shell command chrooted into
  the host root inside the guest with images attached as /dev/sr0, ... (the
  project and its python work there; the fuse module is loaded and /dev/fuse
  exists, so ``isofuse mount /dev/sr0 /tmp/x`` works).
* ``run_sim_guest(command, sim_drives, ...)``: the same with simulated discs
  attached as real SCSI drives (LIO + TCMU, docs/tcmu.md); ``SR_RELOAD``
  (eject and load a drive, as after a burn through sg) is in $SR_RELOAD.
* ``make_tree(root)``: a small source tree exercising the interesting cases.
* ``SG_IO_PROBE``: a tiny script (INQUIRY and GET CONFIGURATION over SG_IO
  through burner's transport) to run inside the guest.
"""

import os
import shutil
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
TOOLS = os.path.join(REPO, "tools")
VM_SCRIPT = os.path.join(TOOLS, "vm")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import vmlib  # noqa: E402
from vmlib import (GuestResult, VMError, VMTimeout, listing_request,  # noqa: E402,F401
                   running_guests)

#: Fields on which the kernel's listing of a Rock Ridge image made with
#: "xorriso -as mkisofs -R" equals treelisting of the source tree.  Others
#: differ for documented reasons (see tests/test_vm.py, KNOWN_DIFFERENCES).
KERNEL_VS_SOURCE_FIELDS = ("path", "type", "size", "sha256", "target", "mode")

_setup_done = None


def ensure_vm():
    """Set tools/vm up once per process (idempotent and cheap when cached)."""
    global _setup_done
    if _setup_done is None:
        _setup_done = vmlib.setup(quiet=False)
    return _setup_done


@pytest.fixture(scope="session")
def vm_setup():
    """Session fixture: tools/vm is set up; no guest may outlive the session."""
    try:
        cfg = ensure_vm()
    except VMError as exc:
        pytest.fail("tools/vm setup failed: %s" % exc, pytrace=False)
    yield cfg
    left = running_guests()
    for pid in left:          # never leave a guest behind, even on failure
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not left, "QEMU guests left running: %s" % left


@pytest.fixture(autouse=True)
def no_guest_left_behind():
    """Per test (autouse where imported): a guest this test started must be
    gone when it ends, whatever happened."""
    yield
    left = running_guests()
    for pid in left:
        os.kill(pid, 9)
    assert not left, "QEMU guest left running: %s" % left


def kernel_listings_by_image(requests, fields=None, hashes=True, timeout=180):
    """List several images in one boot.

    requests: image paths and/or listing_request(image, norock=, nojoliet=,
    options=) tuples.  Returns {request: list of treelisting lines}, keyed by
    the request exactly as given (so a plain path maps to its default mount).
    """
    requests = list(requests)
    ensure_vm()
    listings = vmlib.kernel_listings(requests, fields=fields, hashes=hashes,
                                     timeout=timeout)
    return dict(zip([r if isinstance(r, tuple) else os.fspath(r)
                     for r in requests], listings))


def run_in_vm(command, images=(), share=(), timeout=120, env=None,
              files=None, chroot=True):
    """Run command (shell script str or argv list) in the guest; returns
    GuestResult(returncode, stdout, stderr) (+ .console, .seconds).
    Raises VMTimeout when the time limit killed the guest."""
    ensure_vm()
    return vmlib.run_in_guest(command, images=images, share=share,
                              chroot=chroot, timeout=timeout, env=env,
                              files=files)


def run_sim_guest(command, sim_drives, share=(), timeout=600, trace=False):
    """Run command in a guest with the simulated discs sim_drives attached
    as real SCSI drives /dev/sr0, /dev/sr1, ... (docs/tcmu.md); $SR_RELOAD
    in it is SR_RELOAD (so "$VM_PYTHON" -c "$SR_RELOAD" /dev/srN works)."""
    ensure_vm()
    return vmlib.run_in_guest(command, share=share, timeout=timeout,
                              sim_drives=sim_drives, sim_trace=trace,
                              env={"SR_RELOAD": SR_RELOAD})


# Eject and load (CDROMEJECT 5309h, CDROMCLOSETRAY 5319h) as a user does
# after a burn through sg: the unit attention makes sr read the new
# capacity before the disc is mounted or read.  Run with python3 -c.
SR_RELOAD = r'''
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
for request in (0x5309, 0x5319):
    try:
        fcntl.ioctl(fd, request)
    except OSError as exc:
        print("ioctl %#x: %s" % (request, exc), file=sys.stderr)
os.close(fd)
'''


def run_vm_cli(*args, timeout=300):
    """Run the tools/vm script; returns subprocess.CompletedProcess (text)."""
    return subprocess.run([sys.executable, VM_SCRIPT] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


def make_iso(src, out, *mkisofs_args):
    """xorriso -as mkisofs ARGS -o out src (fails the test if xorriso is
    missing: apt-get install xorriso)."""
    xorriso = shutil.which("xorriso")
    if not xorriso:
        pytest.fail("xorriso is not installed (apt-get install xorriso)",
                    pytrace=False)
    subprocess.run([xorriso, "-as", "mkisofs", "-quiet"] + list(mkisofs_args)
                   + ["-o", str(out), str(src)], check=True)
    return str(out)


FIXED_MTIME = 1000000000         # 2001-09-09, whole seconds


def _data(seed, size):
    out = bytearray()
    block = seed.encode()
    import hashlib
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def make_tree(root, fifo=True):
    """Create a small tree with the cases a reader must get right; all
    mtimes set to FIXED_MTIME.  Returns root."""
    root = str(root)
    os.makedirs(root, exist_ok=True)

    def f(rel, data=b"", mode=0o644):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)

    f("empty")
    f("hello.txt", b"hello, world\n")
    f("script.sh", b"#!/bin/sh\necho hi\n", 0o755)
    f("private", b"secret\n", 0o600)
    f("readonly.txt", b"read only\n", 0o444)
    f("big.bin", _data("big", 1 << 20 | 12345))
    f("exact-block.bin", _data("block", 2048))
    f("x" * 150 + ".txt", b"long name\n")
    f("Gr\u00fc\u00dfe mit Leerzeichen.txt", "gr\u00fc\u00df\n".encode())
    f("MixedCase.TXT", b"case\n")
    f("dir with spaces/inner.txt", b"inner\n")
    f("a/b/c/d/e/f/g/h/i/deep.txt", b"deep below 8 levels\n")
    f("private-dir/file", b"in a 0700 dir\n")
    os.chmod(os.path.join(root, "private-dir"), 0o700)
    os.makedirs(os.path.join(root, "empty-dir"))
    os.link(os.path.join(root, "hello.txt"), os.path.join(root, "hardlink.txt"))
    os.symlink("hello.txt", os.path.join(root, "link-rel"))
    os.symlink("/etc/hostname", os.path.join(root, "link-abs"))
    os.symlink("does/not/exist", os.path.join(root, "link-dangling"))
    os.symlink("a/b", os.path.join(root, "link-dir"))
    if fifo:
        os.mkfifo(os.path.join(root, "fifo"))
    # mtimes last, deepest first (creating entries changes a dir's mtime)
    for dirpath, dirnames, filenames in sorted(os.walk(root), reverse=True):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (FIXED_MTIME, FIXED_MTIME),
                     follow_symlinks=False)
    os.utime(root, (FIXED_MTIME, FIXED_MTIME))
    return root


# A script run inside the guest by the host's python3 (the project is
# importable there): INQUIRY and GET CONFIGURATION over SG_IO through the
# burner's own transport and MMC parsers, printing one line
# "DEVICE key=value ..." per device.
SG_IO_PROBE = r'''
import sys
from burner.drive import Drive, open_transport

for dev in sys.argv[1:]:
    with open_transport(dev, write=False) as transport:
        drive = Drive(transport)
        inq = drive.inquiry()
        profile = drive.configuration().current_profile
    print("%s type=%d vendor=%s product=%s profile=%#06x" % (
        dev, inq.peripheral_type, inq.vendor.strip().replace(" ", "_"),
        inq.product.strip().replace(" ", "_"), profile))
'''


def sg_io_probe_lines(stdout):
    """Parse SG_IO_PROBE output into {device: {key: value}}."""
    out = {}
    for line in stdout.splitlines():
        if not line.startswith("/dev/"):
            continue
        dev, *pairs = line.split()
        out[dev] = dict(p.split("=", 1) for p in pairs)
    return out
