"""Fields of the kernel's mount tables (/proc/mounts, /proc/self/mountinfo)."""

import os
import re
from typing import NamedTuple, Optional

MOUNTINFO = "/proc/self/mountinfo"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def unescape(field):
    """The kernel writes space, tab, newline and backslash in paths as
    three-digit octal escapes (\\040, \\011, \\012, \\134)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


class MountEntry(NamedTuple):
    device: str                 # "major:minor" of the mounted filesystem
    mount_point: str
    fs_type: Optional[str]


def mount_entries(mountinfo=MOUNTINFO):
    """The mounts of ``mountinfo``, oldest first.  proc(5): "36 35 98:0
    /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": the device is
    field 3, the mount point field 5, the type the first field after the
    " - " that ends the optional fields.  OSError if it cannot be read."""
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 5:
                continue
            after = line.partition(" - ")[2].split()
            yield MountEntry(fields[2], unescape(fields[4]), after[0] if after else None)


def mounted_at(mountpoint, mountinfo=MOUNTINFO):
    """The newest mount at ``mountpoint``, or None; OSError if the table
    cannot be read.  Only the parent is resolved: resolving the mount point
    itself would stat it, which for a FUSE mount served by this very
    process is a request it cannot answer while it runs this."""
    absolute = os.path.abspath(mountpoint)
    target = os.path.join(os.path.realpath(os.path.dirname(absolute)),
                          os.path.basename(absolute))
    found = None
    for entry in mount_entries(mountinfo):
        if entry.mount_point == target:
            found = entry           # the last one listed is the newest mount
    return found
