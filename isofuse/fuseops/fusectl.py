"""Best effort: a larger background-request limit for this mount's FUSE
connection, through the fusectl filesystem (docs/mount-concurrency.md).

The kernel lets a connection have ``max_background`` background requests
queued (default 12): page-cache READs (read-ahead) and every RELEASE.  A
RELEASE is forced past the limit but still counts, so under many readers
that open, read and close, RELEASEs keep the count at the limit and a
read-ahead waiting for a free place (``fuse_get_req`` in fs/fuse/dev.c,
woken only when the count falls to exactly the limit, overtaken by every
newcomer) can wait for seconds.  The limit comes from the INIT answer,
which pyfuse3 3.5 gives no way to set; root can also write it to
/sys/fs/fuse/connections/N/ (N: the minor device number of the mount) where
fusectl is mounted.  Anyone else keeps the kernel's default.
"""

import logging
import os

from ..mounttable import MOUNTINFO, mounted_at

log = logging.getLogger("isofuse.fuse")

CONNECTIONS = "/sys/fs/fuse/connections"
# More than the readers a busy client runs at once (the concurrency
# benchmark: 64 threads), so that a page-cache miss finds a free place at
# once; congestion (read-ahead beyond what was asked is skipped) at 3/4, the
# kernel's own ratio (12 and 9).
BACKGROUND_REQUESTS = 128
CONGESTION_THRESHOLD = BACKGROUND_REQUESTS * 3 // 4


def connection_number(mountpoint, mountinfo=MOUNTINFO):
    """The fusectl directory name of the FUSE mount at ``mountpoint`` (the
    minor number of its device), from the mount table: a stat of the mount
    point would be a request to this very process.  None if not mounted."""
    try:
        entry = mounted_at(mountpoint, mountinfo)
    except OSError:
        return None
    return (entry.device.partition(":")[2] or None) if entry is not None else None


def raise_background_limit(mountpoint, limit=BACKGROUND_REQUESTS,
                           congestion=CONGESTION_THRESHOLD, root=CONNECTIONS):
    """Write the limits to the connection's fusectl files; True when both
    were written.  Never raises: without root or fusectl the kernel's
    defaults stay, and only the slowest reads under load suffer."""
    number = connection_number(mountpoint)
    if number is None:
        return False
    directory = os.path.join(root, number)
    try:
        for name, value in (("max_background", limit),
                            ("congestion_threshold", congestion)):
            with open(os.path.join(directory, name), "w") as f:
                f.write(str(value))
    except OSError as exc:
        log.debug("could not raise the background request limit: %s", exc)
        return False
    return True
