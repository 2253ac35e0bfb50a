"""Which SCSI device a device node belongs to, from sysfs.

One drive has several nodes: the block device /dev/srN (what gets mounted)
and the SCSI generic /dev/sgN (what cdrecord-style tools open).  Both lead
in sysfs to the same SCSI device directory named by its address
host:channel:target:lun (Documentation/ABI/testing/sysfs-class-scsi_generic
and sysfs-block in the kernel tree):

    /sys/class/scsi_generic/sgN/device -> .../host1/target1:0:0/1:0:0:0
    /sys/block/srM/device              -> .../host1/target1:0:0/1:0:0:0

So "is the disc in this drive mounted?" compares those directories, not the
paths the user typed.  ``sysfs`` and ``mounts`` are parameters so tests can
give a fake tree and a fake mount table.
"""

import os
import re
import stat

from isofuse.mounttable import unescape

SYSFS = "/sys"
MOUNTS = "/proc/self/mounts"
SCSI_ADDRESS = re.compile(r"^\d+:\d+:\d+:\d+$")


def _candidates(node, sysfs):
    """sysfs ``device`` links that may belong to ``node`` (by name, then by
    device number for nodes udev named differently)."""
    name = os.path.basename(node)
    links = [os.path.join(sysfs, "class", "scsi_generic", name, "device"),
             os.path.join(sysfs, "block", name, "device")]
    block = os.path.join(sysfs, "class", "block", name)
    if os.path.exists(os.path.join(block, "partition")):    # sdb1 -> sdb's device
        links.append(os.path.join(os.path.dirname(os.path.realpath(block)), "device"))
    try:
        st = os.stat(node)
    except OSError:
        return links
    kind = "block" if stat.S_ISBLK(st.st_mode) else "char" if stat.S_ISCHR(st.st_mode) else None
    if kind:
        number = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        links.append(os.path.join(sysfs, "dev", kind, number, "device"))
    return links


def scsi_address(node, sysfs=None):
    """The SCSI device directory (basename H:C:T:L) of ``node``, or None when
    it is not a SCSI device sysfs knows (a loop device, a file, no sysfs)."""
    sysfs = sysfs or SYSFS
    for link in _candidates(os.path.realpath(node), sysfs):
        if os.path.exists(link):
            target = os.path.realpath(link)
            if SCSI_ADDRESS.match(os.path.basename(target)):
                return target
    return None


def mount_entries(mounts=None):
    """(source, mount point) of every line of the mount table; [] if unreadable."""
    try:
        with open(mounts or MOUNTS) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        fields = line.split()
        if len(fields) > 1:
            out.append((unescape(fields[0]), unescape(fields[1])))
    return out


def mounted_at(device, sysfs=None, mounts=None):
    """Mount point of the disc in ``device``, or None.  A ``sim:`` disc is
    mounted when its image file is (loop or FUSE source named by its path);
    a real drive when any mounted block device has its SCSI address."""
    path = device[4:] if device.startswith("sim:") else device
    names = {path, os.path.abspath(path), os.path.realpath(path)}
    entries = mount_entries(mounts)
    for source, where in entries:
        if source in names:
            return where
    if device.startswith("sim:"):
        return None
    address = scsi_address(path, sysfs)
    if address is None:
        return None
    for source, where in entries:
        if source.startswith("/") and scsi_address(source, sysfs) == address:
            return where
    return None
