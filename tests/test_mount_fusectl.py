"""The background request limit of the mount's FUSE connection.

Under many readers the kernel's default of 12 background requests starves
page-cache misses behind RELEASEs (docs/mount-concurrency.md); the mount
raises the limit at INIT through fusectl where it can (root).  Proved
against the kernel: after mounting, fusectl reports the raised values,
that is, the kernel took them and the INIT answer did not reset them.
"""

import os

import pytest

from isofuse.fuseops import fusectl
from corpus import run
from mountutil import mounted

# Two lines in the kernel's mountinfo format (proc(5)): mount ID, parent
# ID, major:minor, root, mount point (octal escapes), options, ...
MOUNTINFO = (
    "25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
    "90 25 0:57 / /tmp/with\\040space rw,nosuid,nodev - fuse.isofuse /a.iso ro\n"
    "91 25 0:58 / /tmp/with\\040space rw,nosuid,nodev - fuse.isofuse /b.iso ro\n"
)


def test_connection_number_is_the_minor_of_the_newest_mount_there(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    assert fusectl.connection_number("/tmp/with space", str(info)) == "58"
    assert fusectl.connection_number("/tmp/elsewhere", str(info)) is None
    assert fusectl.connection_number("/tmp/x", str(tmp_path / "missing")) is None


def test_no_connection_directory_means_no_change_and_no_error(tmp_path):
    # a mount point that is not mounted: nothing is written, nothing raised
    assert fusectl.raise_background_limit(str(tmp_path), root=str(tmp_path)) is False
    assert os.listdir(tmp_path) == []


@pytest.mark.mount
def test_the_kernel_keeps_the_raised_limit_for_the_mount(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("fusectl's limits are writable by root only")
    # tools/setup mounts fusectl, as systemd does at boot
    assert os.path.ismount(fusectl.CONNECTIONS), \
        f"fusectl is not mounted at {fusectl.CONNECTIONS}: run tools/setup"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a\n")
    image = tmp_path / "a.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(image), str(src)])
    mnt = tmp_path / "mnt"
    with mounted(image, mnt):
        assert (mnt / "a.txt").read_text() == "a\n"
        number = fusectl.connection_number(str(mnt))
        assert number is not None
        directory = os.path.join(fusectl.CONNECTIONS, number)
        with open(os.path.join(directory, "max_background")) as f:
            assert int(f.read()) == fusectl.BACKGROUND_REQUESTS
        with open(os.path.join(directory, "congestion_threshold")) as f:
            assert int(f.read()) == fusectl.CONGESTION_THRESHOLD
