"""Mount lifecycle: mount, (daemonise), serve with trio, always unmount.

Modelled on pyfuse3's examples and s3ql: ``pyfuse3.init`` mounts before any
fork, so a caller that runs ``isofuse mount`` in the background finds the
mount in place as soon as the command returns; SIGINT/SIGTERM end the loop
cleanly; an external ``fusermount3 -u`` ends it too.
"""

import logging
import os
import signal
import sys

import pyfuse3
import trio

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


def _raise_read_ahead(mountpoint):
    """Best effort: a bigger read-ahead window gives fewer, larger FUSE reads."""
    try:
        dev = os.stat(mountpoint).st_dev
        path = f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb"
        with open(path, "w") as f:
            f.write(str(READ_AHEAD_KB))
    except OSError as exc:
        log.debug("could not raise read-ahead: %s", exc)


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
    async with trio.open_nursery() as nursery:
        async def stop_on_signal():
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM,
                                           signal.SIGHUP) as signals:
                async for _ in signals:
                    pyfuse3.terminate()
                    return

        nursery.start_soon(stop_on_signal)
        nursery.start_soon(trio.to_thread.run_sync, _raise_read_ahead, mountpoint)
        await pyfuse3.main(**_worker_settings())
        nursery.cancel_scope.cancel()


def serve(operations, mountpoint, options, foreground=True, log_file=None):
    """Mount ``operations`` at ``mountpoint`` and serve until unmounted."""
    try:
        pyfuse3.init(operations, mountpoint, options)
    except RuntimeError as exc:
        raise MountError(f"cannot mount on {mountpoint}: {exc}") from None
    try:
        if not foreground:
            sys.stdout.flush()
            sys.stderr.flush()
            _daemonize(log_file)
        trio.run(_serve, mountpoint)
    finally:
        pyfuse3.close(unmount=True)
