"""Constants, logging and host facts every benchmark uses."""

import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MiB = 1 << 20
GiB = 1 << 30
SECTOR = 2048                  # ECMA-119 6.1.2: a logical sector of a CD-ROM

_LOG_PREFIX = ["bench"]


class BenchError(Exception):
    """A step failed or a check did not match: reported, exit status 1."""


def set_log_prefix(prefix):
    _LOG_PREFIX[0] = prefix


def log(msg):
    print(f"[{_LOG_PREFIX[0]}] {msg}", file=sys.stderr, flush=True)


def default_workdir():
    return os.environ.get("ISOFUSE_BENCH_DIR") or "/var/tmp/isofuse-bench"


def child_env():
    """The environment of a child: this checkout first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"]
                                if env.get("PYTHONPATH") else "")
    return env


def drop_caches():
    """Best effort: write back, then drop page cache, dentries and inodes."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def rmtree(path):
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def git_commit():
    """The checkout's commit (short), '+dirty' when files differ from it.

    The code under test changes while the benchmark runs (several people
    work in this tree), so every result says which commit it measured."""
    try:
        head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h"],
                              capture_output=True, text=True, timeout=20)
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def host_info():
    return {"kernel": platform.release(), "cpus": os.cpu_count(),
            "python": platform.python_version()}


class Conditions:
    """What skews or explains a run's numbers: the 1-minute load average,
    sampled between steps, and the commit measured at start and end."""

    def __init__(self):
        self.samples = [os.getloadavg()[0]]
        self.commit_start = git_commit()

    def sample(self):
        self.samples.append(os.getloadavg()[0])

    def facts(self):
        """host, loadavg_1min [start, min, max, end], commit_start/_end."""
        self.sample()
        s = self.samples
        return {"host": host_info(),
                "loadavg_1min": [round(x, 2) for x in (s[0], min(s), max(s), s[-1])],
                "commit_start": self.commit_start, "commit_end": git_commit()}


def import_baseline(code, repeats=3):
    """Median wall time of starting python3 and running ``code`` (imports)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], env=child_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return None
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timed_command(argv, what):
    """Seconds ``argv`` takes to run (its output discarded); BenchError if
    it fails."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise BenchError(f"{what} failed: {r.stderr[-2000:]}")
    return dt


def read_sequential(path, buf):
    """Read a whole file, ``buf`` at a time: (bytes, seconds)."""
    total = 0
    with open(path, "rb", buffering=0) as f:
        t0 = time.perf_counter()
        while True:
            n = f.readinto(buf)
            if not n:
                break
            total += n
        return total, time.perf_counter() - t0


class Pool:
    """Deterministic random-looking bytes, repeated without end.

    Generated files are slices of it, so a read can be checked against
    the generator without keeping the files' contents.  An odd size keeps
    repeats from lining up with sectors."""

    def __init__(self, seed, size):
        self.seed = seed
        self.size = size
        self._data = None

    @property
    def data(self):
        if self._data is None:
            self._data = random.Random(self.seed).randbytes(self.size)
        return self._data

    def slice(self, offset, size):
        """``size`` bytes from ``offset`` of the endless repetition."""
        p = self.data
        out = bytearray()
        offset %= len(p)
        while size > 0:
            chunk = p[offset:offset + size]
            out += chunk
            size -= len(chunk)
            offset = 0
        return bytes(out)

    def write_file(self, path, offset, size, chunk=4 * MiB):
        """Write ``size`` bytes from ``offset`` into a new file at ``path``."""
        with open(path, "wb") as f:
            done = 0
            while done < size:
                n = min(chunk, size - done)
                f.write(self.slice(offset + done, n))
                done += n
