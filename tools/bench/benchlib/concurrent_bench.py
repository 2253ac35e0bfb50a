"""tools/bench/concurrent: readers and walkers at once, isofuse against fuseiso.

One image (``xorriso -as mkisofs -R -J``, cached like tools/bench/run's):
2,000 files of about 512 KiB (1 GiB together) in folders of 100, and one
1 GiB file.  For each reader, a fresh mount with the image in the page
cache, then for ``--seconds`` (default 60):

  64 reader threads   open a file, pread 128 KiB at a random offset, close;
                      the place is a random byte of all the data, so a
                      file is picked in proportion to its size (the 1 GiB
                      file for about half of the reads)
  8 walker threads    walk the whole tree (scandir) and lstat every entry,
                      over and over; a walk counts when it is complete

Reported: data MB/s of the readers, reads done, the slowest read and the
99th percentile, walks finished, the median walk and the slowest lstat,
the daemon's peak RSS, and where the slowest reads were (file, offset,
open or pread, when in the run), side by side with ratios and issue #17's goals
(walks >= 1.0x fuseiso's, slowest read <= fuseiso's, data throughput kept).
Every 16th read is compared with the generator.  The client is one Python
process: its threads give up the GIL in every system call, but on a busy
2-core machine it competes with the daemon alike for both readers, and a
thread whose answer has come still waits for the GIL before its clock
stops (part of every slowest read; docs/mount-concurrency.md).  With
``--client processes`` each reader and walker is a process of its own.
"""

import bisect
import heapq
import os
import random
import statistics
import threading
import time

from . import cli, images, report
from .common import MiB, BenchError, Conditions, import_baseline, log
from .fusemount import mountpoint, remove_mountpoint
from .readers import ISOFUSE_MOUNT_IMPORTS, READER_NAMES, make_readers
from .report import Goal, Metric

PROG = "tools/bench/concurrent"
BIG_NAME = "huge.bin"
BIG_SHIFT = 987_654_321
CHECK_EVERY = 16               # reads between two content checks (per thread)
SLOWEST_KEPT = 5               # slowest reads reported with file, offset and step

M = Metric
METRICS = [
    M("data_mb_s", "readers' data throughput", "MB/s", True, "{:.0f}",
      Goal(2.06, False, why="#17: keep")),
    M("reads", "reads done", "reads", True, "{:.0f}"),
    M("slowest_read_s", "slowest read (open+pread+close)", "s", False, "{:.3f}",
      Goal(1.0, True)),
    M("p99_read_s", "99th percentile read", "s", False, "{:.4f}"),
    M("walks", "walks finished (scandir + lstat all)", "walks", True, "{:.0f}",
      Goal(1.0, False)),
    M("median_walk_s", "median walk", "s", False, "{:.2f}"),
    M("slowest_lstat_s", "slowest lstat", "s", False, "{:.3f}"),
    M("peak_rss_mib", "daemon peak RSS (VmHWM)", "MiB", False, "{:.1f}"),
]


# ---------------------------------------------------------------------------
# the image

def mixed_layout(files, files_bytes):
    """(relative path, size, pool offset) of the small files, deterministic."""
    rng = random.Random(files * 7 + files_bytes)
    mean = files_bytes // files
    for i in range(files):
        size = rng.randrange(mean // 8, 2 * mean - mean // 8 + 1)
        yield f"g{i // 100:03d}/part-{i:05d}.bin", size, rng.randrange(images.POOL.size)


def build_mixed(src, param):
    files, files_mib, big_mib = (int(x) for x in param.split("-"))
    entries = []
    for rel, size, off in mixed_layout(files, files_mib * MiB):
        os.makedirs(os.path.join(src, os.path.dirname(rel)), exist_ok=True)
        images.POOL.write_file(os.path.join(src, rel), off, size)
        entries.append([rel, size, off])
    images.POOL.write_file(os.path.join(src, BIG_NAME), BIG_SHIFT, big_mib * MiB)
    entries.append([BIG_NAME, big_mib * MiB, BIG_SHIFT])
    extra = ["-iso-level", "3"] if big_mib * MiB >= 4 * (1 << 30) - 2048 else []
    return {"kind": "mixed", "entries": entries,
            "data_bytes": sum(e[1] for e in entries),
            "dirs": len({os.path.dirname(e[0]) for e in entries}) - 1}, extra


# ---------------------------------------------------------------------------
# the load

class Picker:
    """A random byte of all the data: (path, size, pool offset, file offset)."""

    def __init__(self, mnt, entries):
        self.entries = [(os.path.join(mnt, rel), size, off) for rel, size, off in entries]
        self.ends = []
        total = 0
        for _, size, _ in self.entries:
            total += size
            self.ends.append(total)
        self.total = total

    def pick(self, rng):
        at = rng.randrange(self.total)
        i = bisect.bisect_right(self.ends, at)
        path, size, pool_off = self.entries[i]
        return path, size, pool_off, at - (self.ends[i] - size)


def reader_loop(picker, read_size, stop, seed, out, started):
    rng = random.Random(seed)
    lat = []
    slowest = []                   # heap of the SLOWEST_KEPT slowest, with details
    nbytes = bad = errors = 0
    while not stop.is_set():
        path, size, pool_off, off = picker.pick(rng)
        off = min(off, max(0, size - read_size))
        try:
            data, times = read_at(path, off, read_size)
        except OSError:
            errors += 1
            continue
        took = times[-1] - times[0]
        lat.append(took)
        if len(slowest) < SLOWEST_KEPT or took > slowest[0][0]:
            detail = {"s": took, "file": os.path.basename(path), "offset": off,
                      "open_s": times[1] - times[0], "pread_s": times[2] - times[1],
                      "close_s": times[3] - times[2], "at_s": times[0] - started}
            (heapq.heappush if len(slowest) < SLOWEST_KEPT else heapq.heapreplace)(
                slowest, (took, len(lat), detail))
        nbytes += len(data)
        if len(lat) % CHECK_EVERY == 0 and data != images.POOL.slice(pool_off + off,
                                                                      len(data)):
            bad += 1
    out.append({"latencies": lat, "bytes": nbytes, "bad": bad, "errors": errors,
                "slowest": [d for _, _, d in slowest]})


def read_at(path, offset, size):
    """The data and the clock before open, after open, after pread, after
    close: which step of a slow read was slow."""
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    t1 = time.perf_counter()
    try:
        data = os.pread(fd, size, offset)
        t2 = time.perf_counter()
    finally:
        os.close(fd)
    return data, (t0, t1, t2, time.perf_counter())


def walk_once(top, stop, slowest):
    """Walk and lstat everything; False if stopped before the end."""
    stack = [top]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if stop.is_set():
                    return False
                t0 = time.perf_counter()
                os.lstat(e.path)
                slowest[0] = max(slowest[0], time.perf_counter() - t0)
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
    return True


def walker_loop(top, stop, out):
    walks = []
    slowest = [0.0]
    errors = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            if walk_once(top, stop, slowest):
                walks.append(time.perf_counter() - t0)
        except OSError:
            errors += 1
    out.append({"walks": walks, "slowest_lstat": slowest[0], "errors": errors})


def run_load(mnt, meta, args):
    """Readers and walkers for args.seconds; their raw results."""
    if args.client == "processes":
        return _run_load_in_processes(mnt, meta, args)
    stop = threading.Event()
    picker = Picker(mnt, meta["entries"])
    reads, walks, threads = [], [], []
    started = time.perf_counter()
    for i in range(args.reader_threads):
        threads.append(threading.Thread(
            target=reader_loop,
            args=(picker, args.read_kib * 1024, stop, i, reads, started),
            daemon=True))
    for _ in range(args.walker_threads):
        threads.append(threading.Thread(target=walker_loop, args=(mnt, stop, walks),
                                        daemon=True))
    try:
        elapsed = _run_for(threads, stop, args.seconds)
    finally:
        for t in threads:
            if t.ident is not None:             # started
                t.join(timeout=30)
    _check_finished(reads, walks, args)
    return reads, walks, elapsed


def _run_for(workers, stop, seconds):
    """Start the threads or processes ``workers``, let them run for
    ``seconds`` and tell them to stop; how long they ran."""
    t0 = time.perf_counter()
    try:
        for worker in workers:
            worker.start()
        time.sleep(seconds)
    finally:
        stop.set()
    return time.perf_counter() - t0


def _check_finished(reads, walks, args):
    if len(reads) != args.reader_threads or len(walks) != args.walker_threads:
        raise BenchError(f"{len(reads)}/{args.reader_threads} readers and "
                         f"{len(walks)}/{args.walker_threads} walkers finished "
                         "(an error in a thread, see above)")


def _run_load_in_processes(mnt, meta, args):
    """The same loops, each reader and walker a process of its own (fork):
    no interpreter lock shared between them, as separate programs reading
    the mount would be.  Each sends its results through a queue."""
    import multiprocessing
    import queue as queue_mod
    context = multiprocessing.get_context("fork")
    stop, results = context.Event(), context.Queue()
    picker = Picker(mnt, meta["entries"])
    started = time.perf_counter()

    def reader(seed):
        out = []
        try:
            reader_loop(picker, args.read_kib * 1024, stop, seed, out, started)
        finally:
            results.put(("reader", out[0] if out else None))

    def walker():
        out = []
        try:
            walker_loop(mnt, stop, out)
        finally:
            results.put(("walker", out[0] if out else None))

    procs = [context.Process(target=reader, args=(i,)) for i in range(args.reader_threads)]
    procs += [context.Process(target=walker) for _ in range(args.walker_threads)]
    reads, walks = [], []
    try:
        elapsed = _run_for(procs, stop, args.seconds)
    finally:
        started_procs = [proc for proc in procs if proc.pid is not None]
        try:
            for _ in started_procs:
                kind, result = results.get(timeout=60)
                if result is not None:
                    (reads if kind == "reader" else walks).append(result)
        except queue_mod.Empty:
            pass
        for proc in started_procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    _check_finished(reads, walks, args)
    return reads, walks, elapsed


def summarise(reads, walks, elapsed):
    lat = sorted(x for r in reads for x in r["latencies"])
    walk_times = [x for w in walks for x in w["walks"]]
    bad = sum(r["bad"] for r in reads)
    errors = sum(r["errors"] for r in reads) + sum(w["errors"] for w in walks)
    return {
        "data_mb_s": sum(r["bytes"] for r in reads) / elapsed / 1e6,
        "reads": len(lat),
        "slowest_read_s": lat[-1] if lat else None,
        "p99_read_s": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
        "walks": len(walk_times),
        "median_walk_s": statistics.median(walk_times) if walk_times else None,
        "slowest_lstat_s": max(w["slowest_lstat"] for w in walks) if walks else None,
        "elapsed_s": elapsed,
        "slowest_reads": sorted((d for r in reads for d in r["slowest"]),
                                key=lambda d: -d["s"])[:SLOWEST_KEPT],
        "errors": errors,
        "content_check": ("ok" if not bad and not errors
                          else f"{bad} reads differ, {errors} calls failed"),
    }


def warm_image(path):
    """Untimed: read the image once, so both readers start from the page cache."""
    buf = bytearray(4 * MiB)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def bench_reader(reader, image, meta, args, ctx):
    warm_image(image)
    mnt = mountpoint(ctx["workdir"], reader.name)
    ctx["mounts"].add(mnt)
    with reader.mount(image, mnt, ctx["logdir"]) as m:
        log(f"  {reader.name}: mounted in {m.mount_seconds:.2f} s; {args.reader_threads} "
            f"readers and {args.walker_threads} walkers for {args.seconds:g} s")
        res = summarise(*run_load(mnt, meta, args))
        res["peak_rss_mib"] = (m.sample_rss() or 0) / 1024 or None
    log(f"  {reader.name}: {res['data_mb_s']:.0f} MB/s, {res['walks']} walks, slowest "
        f"read {res['slowest_read_s'] or 0:.3f} s")
    return res


# ---------------------------------------------------------------------------

def failed_runs(results, names):
    """Readers whose run had failed calls or wrong bytes (a daemon that died
    under the load): their figures judge nothing."""
    return [n for n in names if results.get(n, {}).get("content_check", "ok") != "ok"]


def goal_verdicts(results, names):
    """#17's verdicts, or none when a reader's run failed."""
    if failed_runs(results, names):
        return []
    return report.comparison(METRICS, {"": results}, names)[2]


def goals_line(results, names):
    failed = failed_runs(results, names)
    if failed:
        return (f"goals not judged: the run of {', '.join(failed)} failed "
                "(see the content checks)")
    return report.goals_note(goal_verdicts(results, names))


def render_table(results, names, info):
    header, rows, _ = report.comparison(METRICS, {"": results}, names)
    if failed_runs(results, names):
        rows = [row[:-1] + [""] for row in rows]       # no "met?" to read
    p = info["params"]
    unit = "processes" if p.get("client") == "processes" else "threads"
    notes = [
        f"image: {info['image']}",
        f"load: {p['reader_threads']} reader {unit} (open, pread {p['read_kib']} KiB at "
        "a random byte of the data, close) and "
        f"{p['walker_threads']} walker {unit} (scandir + lstat of the whole tree) for "
        f"{p['seconds']:g} s on a fresh mount, image in the page cache; MB = 10^6 bytes",
        "ratio = isofuse / fuseiso; 'better' = whether a higher or a lower ratio "
        "favours isofuse; goals from issue #17" if len(names) > 1 else "",
        report.host_note(info),
        "content checks (every 16th read): " + ", ".join(
            f"{n}={results[n].get('content_check')}" for n in names if n in results),
        goals_line(results, names),
    ] + [slowest_note(n, results[n]) for n in names if n in results]
    if info.get("isofuse_import_s") is not None:
        notes.append(f"isofuse interpreter start + imports alone: "
                     f"{info['isofuse_import_s']:.3f} s (median of 3)")
    return "\n".join(report.format_table(header, rows) + [""] + [n for n in notes if n])


def slowest_note(name, result):
    """Where the slowest reads were (file, offset, which step, when)."""
    parts = [f"{d['file']}@{d['offset']} {d['s']:.3f} s (open {d['open_s']:.3f}, "
             f"pread {d['pread_s']:.3f}, close {d['close_s']:.3f}) at {d['at_s']:.0f} s"
             for d in result.get("slowest_reads", [])[:3]]
    return f"{name} slowest reads: " + "; ".join(parts) if parts else ""


def parse_args(argv):
    p = cli.parser(PROG, __doc__.split("\n\n", 1)[1],
                   "Needs xorriso, fuseiso and fusermount3.  A full run builds a "
                   "2 GiB image (cached with --keep) and takes about 3 minutes.  No "
                   "timed assertions: it reports.")
    cli.add_common(p, quick_help="small sizes for a smoke run (200 files of 32 MiB "
                                 "together, a 32 MiB file, 5 s)",
                   keep_help="keep the image built by this run; later runs with the "
                             "same sizes reuse it")
    p.add_argument("--files", type=int, default=None, metavar="N",
                   help="files besides the big one (default 2000; 200 with --quick)")
    p.add_argument("--files-mib", type=int, default=None, metavar="MIB",
                   help="their size together (default 1024; 32 with --quick)")
    p.add_argument("--big-mib", type=int, default=None, metavar="MIB",
                   help="size of the big file (default 1024; 32 with --quick)")
    p.add_argument("--seconds", type=float, default=None, metavar="S",
                   help="how long the load runs on each mount (default 60; 5 with "
                        "--quick)")
    p.add_argument("--reader-threads", type=int, default=64, metavar="N",
                   help="threads reading at random places (default 64)")
    p.add_argument("--walker-threads", type=int, default=8, metavar="N",
                   help="threads walking and lstat'ing the tree (default 8)")
    p.add_argument("--client", choices=("threads", "processes"), default="threads",
                   help="run the readers and walkers as threads of this process "
                        "(default, #17's load) or as processes of their own, which "
                        "share no interpreter lock (docs/mount-concurrency.md)")
    p.add_argument("--read-kib", type=int, default=128, metavar="KIB",
                   help="bytes a read asks for, in KiB (default 128)")
    p.add_argument("--readers", default=",".join(READER_NAMES),
                   help="comma-separated readers to measure (default: isofuse,fuseiso)")
    cli.add_isofuse_cmd(p)
    args = p.parse_args(argv)
    cli.defaults(args, {"files": 200, "files_mib": 32, "big_mib": 32, "seconds": 5.0},
                 {"files": 2000, "files_mib": 1024, "big_mib": 1024, "seconds": 60.0})
    args.reader_names = cli.names_option(args.readers, READER_NAMES, "reader", p)
    if min(args.files, args.files_mib, args.big_mib, args.reader_threads,
           args.walker_threads, args.read_kib) < 1 or args.seconds <= 0:
        p.error("sizes, thread counts and --seconds must be positive")
    return args


def bench(args, ctx, built):
    readers = make_readers(args.reader_names, args.isofuse_cmd)
    param = f"{args.files}-{args.files_mib}-{args.big_mib}"
    image, meta, new = images.get_image(ctx["workdir"], "mixed", build_mixed, param)
    if new:
        built.append(image)
    conditions = Conditions()
    results = {}
    for reader in readers:
        results[reader.name] = bench_reader(reader, image, meta, args, ctx)
        conditions.sample()
    names = [r.name for r in readers]
    info = {
        "image": (f"{args.files} files of {args.files_mib} MiB together in "
                  f"{meta['dirs']} folders + one {args.big_mib} MiB file "
                  f"({meta['image_bytes'] / MiB:.0f} MiB image)"),
        "params": {k: getattr(args, k) for k in ("files", "files_mib", "big_mib",
                                                 "seconds", "reader_threads",
                                                 "walker_threads", "read_kib",
                                                 "client")},
        **conditions.facts(),
        "readers": {r.name: r.argv_for("IMAGE", "DIR") for r in readers},
        "isofuse_import_s": (import_baseline(ISOFUSE_MOUNT_IMPORTS)
                             if "isofuse" in names and not args.isofuse_cmd else None),
        "goals": goal_verdicts(results, names),
    }
    bad = [n for n in names if results[n]["content_check"] != "ok"]
    return report.emit(args.json, {"info": info, "results": results},
                       lambda: render_table(results, names, info), failed=bool(bad))


def main(argv=None):
    args, workdir = cli.start(PROG, parse_args, argv)
    if workdir is None or not cli.have_tools(PROG, ("xorriso",)):
        return 2
    built = []
    ctx = {"workdir": workdir, "logdir": os.path.join(workdir, "logs"), "mounts": set()}

    def cleanup():
        for mnt in ctx["mounts"]:
            remove_mountpoint(mnt)
        if not args.keep:
            for path in built:
                images.remove_image(path)

    return cli.run_main(PROG, "concurrent-bench", lambda: bench(args, ctx, built),
                        cleanup, "threads stopped, mounts cleaned up")
