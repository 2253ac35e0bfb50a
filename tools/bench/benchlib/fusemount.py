"""A FUSE daemon run in the foreground as our child, and its mount point.

Every daemon runs in its own session and is unmounted (``fusermount3 -u``,
lazily if it has to), reaped and, if it lingers, signalled by process group
in ``finally`` blocks, so Ctrl-C, SIGTERM or an error leave no mount or
process behind."""

import contextlib
import os
import shutil
import statistics
import subprocess
import time

from .common import BenchError, log
from .procs import log_tail, spawn, stop_child

PROBE = "probe.txt"            # a root-level file of every tree, stat'ed to see "mounted"


def mounted_paths():
    paths = set()
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                paths.add(fields[4].replace("\\040", " "))
    except OSError:
        pass
    return paths


def fusermount():
    return shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"


def unmount(path, lazy=False):
    cmd = [fusermount(), "-u"] + (["-z"] if lazy else []) + [path]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)


def clear_stale(mountpoint):
    if mountpoint in mounted_paths():
        log(f"{mountpoint} is still mounted (earlier run?): unmounting")
        unmount(mountpoint)
        if mountpoint in mounted_paths():
            unmount(mountpoint, lazy=True)


def proc_status_kib(pid, field):
    """A ``kB`` field of /proc/PID/status (VmHWM = peak RSS, VmRSS = now)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def remove_mountpoint(path):
    """Unmount what is left there and remove the (empty) folder."""
    clear_stale(path)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def mountpoint(workdir, name):
    """A mount folder of this process: runs sharing a work folder do not
    unmount each other's mounts."""
    path = os.path.join(workdir, f"mnt-{name}-{os.getpid()}")
    os.makedirs(path, exist_ok=True)
    return path


class FuseDaemon:
    """Start ``argv`` (a foreground FUSE daemon), wait until ``probe``
    answers through the mount, measure, and stop it again.

    ``hooks`` (optional) has ``attach(pid)`` called once mounted and
    ``detach(handle)`` before unmounting: the py-spy profiler."""

    def __init__(self, name, argv, mountpoint, log_path, timeout=300.0, hooks=None):
        self.name = name
        self.argv = argv
        self.mountpoint = mountpoint
        self.probe = os.path.join(mountpoint, PROBE)
        self.log_path = log_path
        self.timeout = timeout
        self.hooks = hooks
        self.proc = None
        self.hook_handle = None
        self.started = None            # perf_counter() when the daemon was started
        self.mount_seconds = None
        self.peak_rss_kib = None

    def start(self):
        with open(self.log_path, "a") as logf:
            logf.write(f"--- {' '.join(self.argv)}\n")
            logf.flush()
            self.started = t0 = time.perf_counter()
            self.proc = spawn(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                              stderr=logf)
        while not self._answers():
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode} "
                                 f"before mounting; see {self.log_path}:\n"
                                 + log_tail(self.log_path, 20))
            if time.perf_counter() - t0 > self.timeout:
                raise BenchError(f"{self.name}: not mounted after {self.timeout:.0f} s")
            time.sleep(0.0005)
        self.mount_seconds = time.perf_counter() - t0
        if self.hooks is not None:
            self.hook_handle = self.hooks.attach(self.proc.pid)
        return self

    def _answers(self):
        """A file of the tree can be stat'ed through the mount, and the
        mount is in the mount table (not a file of the bare folder)."""
        try:
            os.stat(self.probe)
        except OSError:
            return False
        return self.mountpoint in mounted_paths()

    def sample_rss(self):
        """Peak RSS (VmHWM) so far, in KiB, kept as the highest seen."""
        if self.proc is not None and self.proc.poll() is None:
            v = proc_status_kib(self.proc.pid, "VmHWM")
            if v is not None:
                self.peak_rss_kib = max(v, self.peak_rss_kib or 0)
        return self.peak_rss_kib

    def resident_kib(self):
        """Resident memory now (VmRSS), in KiB."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        return proc_status_kib(self.proc.pid, "VmRSS")

    def stop(self):
        """Unmount and reap the daemon; escalate if it does not go."""
        if self.proc is None:
            return
        self.sample_rss()
        try:
            if self.hook_handle is not None:
                self.hooks.detach(self.hook_handle)
                self.hook_handle = None
            wait = self._unmount() if self.mountpoint in mounted_paths() else 0.2
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                if wait > 1:
                    log(f"{self.name} (pid {self.proc.pid}) still running after "
                        "unmount: SIGTERM")
                stop_child(self.proc)
        finally:
            # a daemon killed just after mounting leaves a dead mount behind
            if self.mountpoint in mounted_paths():
                unmount(self.mountpoint, lazy=True)
            self.proc = None

    def _unmount(self):
        """fusermount -u, retried; lazily if busy.  Returns how long the
        daemon may take to exit afterwards."""
        for _ in range(10):
            r = unmount(self.mountpoint)
            if r.returncode == 0 or self.mountpoint not in mounted_paths():
                return 30
            time.sleep(0.2)
        log(f"unmount of {self.mountpoint} failed ({r.stderr.strip()}); lazy unmount")
        unmount(self.mountpoint, lazy=True)
        return 30


@contextlib.contextmanager
def mounted(name, argv, mountpoint, log_path, **kw):
    """A started FuseDaemon, stopped on the way out whatever happened."""
    daemon = FuseDaemon(name, argv, mountpoint, log_path, **kw)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()


def median_mount_seconds(repeats, start):
    """Median of ``repeats`` mount times; ``start()`` gives a context manager."""
    times = []
    for _ in range(max(1, repeats)):
        with start() as daemon:
            times.append(daemon.mount_seconds)
    return statistics.median(times)
