"""The read-only mount daemon's CPU priority (``nice=N``).

One trio thread answers every request of a mount.  When the programs
reading it keep both CPUs busy (the kernel's page cache answers most of
their reads), the scheduler gives that thread one share among theirs and
every reader waits for it: a kernel filesystem does the same work in its
callers' time, a FUSE daemon in its own.  Measured with 64 reader and 8
walker processes on two CPUs (docs/mount-concurrency.md): at nice 0 the
mount served 96-142 MB/s with a slowest read of 0.37-0.75 s, at nice -10
304-380 MB/s and 0.14-0.16 s (fuseiso: 63-152 MB/s, 0.21-0.34 s).

So where the daemon may raise its priority (root, or CAP_SYS_NICE) it
runs at DEFAULT_NICE unless told otherwise; elsewhere it stays as it was
started, and so does a daemon started with a nice value of its own
(``nice -n 5 isofuse mount ...``).  The daemon sleeps while nobody reads
the mount: the priority only decides who waits while it works.
"""

import logging
import os

log = logging.getLogger("isofuse.fuse")

DEFAULT_NICE = -10


class PriorityError(Exception):
    """An asked-for nice value that this process may not take."""


def set_daemon_nice(nice=None):
    """Give this thread (and the threads and daemon it starts afterwards)
    the nice value ``nice``; None: DEFAULT_NICE where allowed, if the
    process still has the default 0.  Returns the nice value in force."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    wanted = nice
    if wanted is None:
        if current != 0:
            return current          # started with a priority of its own: keep it
        wanted = DEFAULT_NICE
    if wanted == current:
        return current
    try:
        os.setpriority(os.PRIO_PROCESS, 0, wanted)
    except PermissionError:
        if nice is None:
            log.debug("nice %d not allowed here; the daemon keeps %d", wanted, current)
            return current
        raise PriorityError(f"nice={nice}: a nice value below {current} needs root or "
                            "CAP_SYS_NICE") from None
    log.debug("daemon nice value %d", wanted)
    return wanted
