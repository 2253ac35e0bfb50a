"""Mount lifecycle: mount, (daemonise), serve with trio (or, for operations
that never await, without an event loop: ``fuseops.blocking_loop``),
always unmount.

Modelled on pyfuse3's examples and s3ql: ``pyfuse3.init`` mounts before any
fork, so a caller that runs ``isofuse mount`` in the background finds the
mount in place as soon as the command returns; SIGINT/SIGTERM end the loop
cleanly; an external ``fusermount3 -u`` ends it too.
"""

import logging
import os
import signal
import subprocess
import sys

import pyfuse3

from ..mounttable import mounted_at
from . import fusectl

log = logging.getLogger("isofuse.fuse")

READ_AHEAD_KB = 1024  # lets the kernel send 1 MiB reads (libfuse's max_pages)


class MountError(Exception):
    """The mount itself failed (mount point missing, busy, no /dev/fuse)."""


def fuse_options(fsname, allow_other=False, extra=(), read_only=True, subtype="isofuse"):
    options = set(pyfuse3.default_options)
    options.update({"fsname=" + fsname.replace(",", "\\,"), "subtype=" + subtype,
                    "default_permissions"})
    if read_only:
        options.add("ro")
    if allow_other:
        options.add("allow_other")
    options.update(extra)
    return options


def _mount_device(mountpoint):
    """"major:minor" of the filesystem mounted at ``mountpoint``, from
    /proc/self/mountinfo (a stat would be a request to ourselves)."""
    entry = mounted_at(mountpoint)
    return entry.device if entry is not None else None


def _raise_read_ahead(mountpoint):
    """Best effort: a bigger read-ahead window gives fewer, larger FUSE reads."""
    try:
        device = _mount_device(mountpoint)
        if device is None:
            return
        with open(f"/sys/class/bdi/{device}/read_ahead_kb", "w") as f:
            f.write(str(READ_AHEAD_KB))
    except OSError as exc:
        log.debug("could not raise read-ahead: %s", exc)


def _raise_read_ahead_at_first_open(operations, mountpoint):
    """Raise the read-ahead window while answering the first OPEN.

    Not earlier: the kernel sets the window again from the INIT handshake
    (to what it offered, 128 KiB).  Not later: an opened file keeps the
    window it was opened with.  The first OPEN comes after INIT and before
    the file it opens gets its window, so it is the moment that works."""
    original = operations.open

    async def open_first(*args, **kwargs):
        operations.open = original          # once
        _raise_read_ahead(mountpoint)
        return await original(*args, **kwargs)

    operations.open = open_first


def _daemonize(log_file=None):
    """Detach from the terminal; the parent exits once the mount exists."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    target = devnull
    if log_file:
        target = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(devnull, 0)
    os.dup2(target, 1)
    os.dup2(target, 2)


def _worker_settings():
    """pyfuse3's request workers (ISOFUSE_FUSE_TASKS=min,max overrides, for
    benchmarks)."""
    value = os.environ.get("ISOFUSE_FUSE_TASKS")
    if value:
        low, high = (int(x) for x in value.split(","))
        return {"min_tasks": low, "max_tasks": high}
    return {}


async def _serve(mountpoint):
    import trio     # here, not at the top: the stage serves without it (fuseops.deferred_trio)
    async with trio.open_nursery() as nursery:
        async def stop_on_signal():
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM,
                                           signal.SIGHUP) as signals:
                async for _ in signals:
                    pyfuse3.terminate()
                    return

        nursery.start_soon(stop_on_signal)
        try:
            await pyfuse3.main(**_worker_settings())
        except ConnectionAbortedError:
            # The kernel ended the connection (an abort through
            # /sys/fs/fuse/connections, or at unmount while requests were
            # in flight): the mount is gone either way, as after ENODEV.
            log.info("%s: the kernel aborted the FUSE connection", mountpoint)
        nursery.cancel_scope.cancel()


def _serve_blocking(mountpoint):
    """One worker, no event loop (``fuseops.blocking_loop``)."""
    from .blocking_loop import serve_blocking
    try:
        serve_blocking(pyfuse3.main(min_tasks=1, max_tasks=1))
    except ConnectionAbortedError:
        log.info("%s: the kernel aborted the FUSE connection", mountpoint)


def _unmount_aborted(mountpoint, connection):
    """After an abort the mount stays in the table (its files answer
    ENOTCONN), and pyfuse3.close does not remove it: libfuse takes an
    errored /dev/fuse descriptor for an unmounted one.  Detach it here --
    only if our connection (``connection``: its fusectl number) is still
    what is mounted there."""
    if connection is None or fusectl.connection_number(mountpoint) != connection:
        return
    done = subprocess.run(["fusermount3", "-u", "-z", mountpoint], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        log.error("%s: the aborted mount could not be detached: %s", mountpoint,
                  done.stderr.strip())


def serve(operations, mountpoint, options, foreground=True, log_file=None, blocking=False):
    """Mount ``operations`` at ``mountpoint`` and serve until unmounted.
    ``blocking``: the operations never await (each request runs to its
    end), so they are served without trio, one request after the other."""
    try:
        pyfuse3.init(operations, mountpoint, options)
    except RuntimeError as exc:
        raise MountError(f"cannot mount on {mountpoint}: {exc}") from None
    _raise_read_ahead_at_first_open(operations, mountpoint)
    connection = fusectl.connection_number(mountpoint)
    try:
        if not foreground:
            sys.stdout.flush()
            sys.stderr.flush()
            _daemonize(log_file)
        if blocking:
            _serve_blocking(mountpoint)
        else:
            import trio
            trio.run(_serve, mountpoint)
    finally:
        pyfuse3.close(unmount=True)
        # an aborted connection ends the loop like an unmount (ENODEV) or
        # with ConnectionAbortedError, and is still mounted either way
        _unmount_aborted(mountpoint, connection)
