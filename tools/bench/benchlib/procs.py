"""Children in their own session, reaped (or killed) whatever happens."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

from .common import BenchError, child_env

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def spawn(argv, **popen_kw):
    """Popen in a new session, with the stop signals held while forking.

    Own session: a Ctrl-C in the terminal reaches only the benchmark, which
    then stops its children in order.  The signals are blocked around the
    fork so that an interrupt cannot land between the fork and the caller
    getting the Popen (a child nobody would stop); the child unblocks them
    before exec."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return subprocess.Popen(
            argv, start_new_session=True, env=popen_kw.pop("env", child_env()),
            preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, old_mask),
            **popen_kw)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def kill_group(proc, sig=signal.SIGKILL):
    """Signal the child's process group (its session: it and what it wraps)."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, sig)


def stop_child(proc, grace=5.0):
    """SIGTERM the child's group, SIGKILL after ``grace`` seconds; reap it."""
    if proc.poll() is not None:
        return
    kill_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        kill_group(proc, signal.SIGKILL)
        proc.wait()


def log_tail(path, lines=15):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def gnu_time():
    """Path of GNU time, or None.  Used only for the peak RSS (%M)."""
    exe = shutil.which("time", path="/usr/bin:/bin")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    except OSError:
        return None
    return exe if "GNU" in out.stdout + out.stderr else None


@contextlib.contextmanager
def reaping(proc):
    """The caller reads the child and reaps it (setting ``returncode``);
    if it does not get that far (interrupted, an error), the child's
    group is killed and reaped here.  The child's stdout is closed."""
    try:
        yield proc
    finally:
        if proc.stdout:
            proc.stdout.close()
        if proc.returncode is None:
            kill_group(proc)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -9


def wait4(proc):
    """Reap the child with os.wait4: its rusage (user, sys, max RSS)."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ru


def run_measured(argv, log_path, capture=False, time_exe=None):
    """Run argv to completion; wall s, user+sys s, peak RSS KiB, stdout.

    The child is reaped with os.wait4: user and sys time are those of the
    tool's process (and of whatever it waited for).  Peak RSS comes from
    GNU time's %M when ``time_exe`` is given, because the ru_maxrss of a
    child forked from this script starts at this script's own RSS (Linux
    keeps the high-water mark across exec); without GNU time that
    ru_maxrss is used and is only an upper bound for small tools.
    """
    rss_file = None
    full = list(argv)
    if time_exe:
        fd, rss_file = tempfile.mkstemp(prefix="rss-", suffix=".txt",
                                        dir=os.path.dirname(log_path))
        os.close(fd)
        full = [time_exe, "-f", "%M", "-o", rss_file, *argv]
    try:
        with open(log_path, "a") as logf:
            logf.write(f"--- {' '.join(argv)}\n")
            logf.flush()
            t0 = time.perf_counter()
            proc = spawn(full, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                         stderr=logf)
            with reaping(proc):
                out = proc.stdout.read() if capture else b""
                ru = wait4(proc)
            wall = time.perf_counter() - t0
        rss_kib = ru.ru_maxrss
        if rss_file:
            with open(rss_file) as f:
                lines = [ln for ln in f.read().split() if ln.isdigit()]
            if lines:
                rss_kib = int(lines[-1])
    finally:
        if rss_file:
            with contextlib.suppress(OSError):
                os.unlink(rss_file)
    if proc.returncode != 0:
        raise BenchError(f"{argv[0]} ... exited with {proc.returncode}; "
                         f"see {log_path}:\n{log_tail(log_path)}")
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
            "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
            "rss_kib": rss_kib, "stdout": out.decode(errors="replace")}
