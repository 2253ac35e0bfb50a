"""Mount an image with ``isofuse mount -f`` for a test, and always clean up.

The daemon runs as a child process in the foreground so the test knows its
pid; on exit (normal, failure or timeout) the mount is unmounted (lazily if
busy) and the process is stopped, so no mount or daemon outlives a test.
"""

import contextlib
import os
import re
import subprocess
import sys
import time

from isofuse.mounttable import unescape

ISOFUSE = [sys.executable, "-m", "isofuse.cli.main"]
MOUNT_WAIT = 20.0


def mount_points(kind="fuse"):
    """Mount points of filesystems whose type starts with ``kind``, as paths
    (the kernel escapes spaces, tabs and backslashes in /proc/mounts)."""
    with open("/proc/mounts") as f:
        return [unescape(fields[1]) for fields in map(str.split, f)
                if fields[2].startswith(kind)]


def is_mounted(path):
    return os.path.realpath(path) in mount_points(kind="")


def unmount(path):
    if not is_mounted(path):
        return
    for args in (["fusermount3", "-u", path], ["fusermount3", "-u", "-z", path],
                 ["umount", "-l", path]):
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not is_mounted(path):
            return


@contextlib.contextmanager
def mounted(image, mountpoint, options=(), env=None, allow_log=None, prefix=()):
    """Mount ``image`` at ``mountpoint`` (created if needed); yield the
    daemon's Popen object.  The daemon's warnings and errors fail the test
    unless they match the regular expression ``allow_log``.  ``prefix``
    runs the daemon under another command (setpriv, for instance)."""
    args = [*prefix, *ISOFUSE, "mount", "-f", str(image), str(mountpoint)]
    for option in options:
        args += ["-o", option]
    with _running(args, mountpoint, env, allow_log) as proc:
        yield proc


@contextlib.contextmanager
def staged(upper, mountpoint, lowers=(), options=(), env=None, allow_log=None):
    """``isofuse stage -f`` with the given layers; always unmounted after."""
    args = ISOFUSE + ["stage", "-f", str(upper), str(mountpoint)]
    for lower in lowers:
        args += ["--lower", str(lower)]
    for option in options:
        args += ["-o", option]
    with _running(args, mountpoint, env, allow_log) as proc:
        yield proc


# What the daemon writes (cli/main.py's log format) when something went wrong.
_DAEMON_PROBLEM = re.compile(r"^isofuse: (WARNING|ERROR|CRITICAL): |^Traceback ", re.M)


def unexpected_daemon_log(text, allow_log=None):
    """The daemon's warning/error lines that ``allow_log`` does not match."""
    allowed = re.compile(allow_log) if allow_log else None
    return [line for line in text.splitlines() if _DAEMON_PROBLEM.match(line)
            and not (allowed and allowed.search(line))]


@contextlib.contextmanager
def _running(args, mountpoint, env, allow_log=None):
    os.makedirs(mountpoint, exist_ok=True)
    stderr_path = str(mountpoint) + ".log"
    with open(stderr_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    body_passed = False
    try:
        deadline = time.monotonic() + MOUNT_WAIT
        while not is_mounted(mountpoint):
            if proc.poll() is not None:
                with open(stderr_path, "rb") as f:
                    raise RuntimeError(f"isofuse mount exited with {proc.returncode}: "
                                       + f.read().decode(errors="replace"))
            if time.monotonic() > deadline:
                raise TimeoutError(f"{args} did not mount within {MOUNT_WAIT} s")
            time.sleep(0.02)
        yield proc
        body_passed = True
    finally:
        unmount(str(mountpoint))
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if body_passed:
        # Only after a passing body: a failing test's own error says more.
        problems = unexpected_daemon_log(daemon_log(mountpoint), allow_log)
        assert not problems, "the daemon logged:\n  " + "\n  ".join(problems[:10])


def daemon_log(mountpoint):
    with open(str(mountpoint) + ".log", "rb") as f:
        return f.read().decode(errors="replace")
