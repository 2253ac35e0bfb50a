"""tools/bench/run: isofuse mount against fuseiso on the same images.

Builds (and optionally caches) two images with ``xorriso -as mkisofs -R -J``:

  big    four equally sized files of random-looking data (default 4 x 512 MiB)
  small  N small files (default 100,000) in nested directories

then mounts each image with every reader, in the same order, and measures
mount time, sequential read throughput, ``find -ls``, reading every small
file and the peak RSS of the FUSE daemon.  Prints a table of isofuse /
fuseiso ratios with the goals (or JSON with ``--json``).  Nothing here
asserts on timings; it only reports.

Run as root to drop the page cache between the "cold" measurements
(``/proc/sys/vm/drop_caches``); otherwise the cold numbers are reported as
not cold.
"""

import argparse
import hashlib
import os
import time

from . import cli, images, pyspy, report
from .common import (GiB, MiB, BenchError, Conditions, drop_caches, import_baseline, log,
                     read_sequential, timed_command)
from .fusemount import median_mount_seconds, mountpoint, remove_mountpoint
from .readers import ISOFUSE_MOUNT_IMPORTS, READER_NAMES, make_readers
from .report import Goal, Metric

PROG = "tools/bench/run"
BUF_SIZE = 1 * MiB             # read buffer, as 'dd bs=1M'


def _keep(limit, at_most=True):
    return Goal(limit, at_most, why="keep")


M = Metric
METRICS = [
    M("mount_cold_s", "mount time, cold cache", "s", False, "{:.3f}", part="big"),
    M("mount_warm_s", "mount time, warm (median)", "s", False, "{:.3f}", part="big"),
    M("read_cold_gbps", "seq read 1 MiB bufs, cold cache", "GB/s", True, "{:.3f}",
      part="big"),
    M("read_reread_gbps", "seq re-read, same mount, all cached", "GB/s", True, "{:.3f}",
      _keep(5.9, False), "big"),
    M("read_warm_fresh_gbps", "seq read, fresh mount, image cached", "GB/s", True,
      "{:.3f}", _keep(2.1, False), "big"),
    M("peak_rss_mib", "daemon peak RSS (VmHWM)", "MiB", False, "{:.1f}", part="big"),
    M("mount_cold_s", "mount time, cold cache", "s", False, "{:.3f}", part="small"),
    M("mount_warm_s", "mount time, warm (median)", "s", False, "{:.3f}", part="small"),
    M("find_cold_s", "find -ls, cold cache", "s", False, goal=_keep(0.7), part="small"),
    M("find_warm_s", "find -ls, again on same mount", "s", False, goal=_keep(0.7),
      part="small"),
    M("find_fresh_s", "find -ls, fresh mount, image cached", "s", False,
      goal=_keep(0.7), part="small"),
    M("read_all_cold_s", "read every file, cold cache", "s", False,
      goal=Goal(0.9, True), part="small"),
    M("read_all_warm_s", "read every file, again same mount", "s", False,
      goal=Goal(0.75, True, why="#17: keep"), part="small"),
    M("read_all_fresh_s", "read every file, fresh mount, cached", "s", False,
      goal=Goal(0.8, True), part="small"),
    M("peak_rss_mib", "daemon peak RSS (VmHWM)", "MiB", False, "{:.1f}", part="small"),
]


# ---------------------------------------------------------------------------
# measurements

def read_big_files(mnt, meta, drop_each, state):
    """Sequential read of every big file; returns aggregate GB/s and details."""
    buf = bytearray(BUF_SIZE)
    total_bytes = 0
    total_time = 0.0
    per_file = []
    for name in meta["files"]:
        if drop_each:
            state["dropped"] = drop_caches() and state["dropped"]
        n, dt = read_sequential(os.path.join(mnt, name), buf)
        if n != meta["per_file"]:
            raise BenchError(f"{name}: read {n} bytes, expected {meta['per_file']}")
        per_file.append(n / dt / 1e9)
        total_bytes += n
        total_time += dt
    return {"gbps": total_bytes / total_time / 1e9, "seconds": total_time,
            "per_file_gbps": per_file}


def check_big_contents(mnt, meta):
    """Spot-check bytes at a few offsets against the generator."""
    size = meta["per_file"]
    for i, name in enumerate(meta["files"]):
        with open(os.path.join(mnt, name), "rb") as f:
            for off in (0, size // 3, size - 4096 if size > 4096 else 0):
                f.seek(off)
                got = f.read(4096)
                want = images.POOL.slice(images.big_file_shift(i) + off,
                                         min(4096, size - off))
                if got != want:
                    return f"{name} differs at offset {off}"
    return "ok"


def timed_find_ls(mnt):
    return timed_command(["find", mnt, "-ls"], "find -ls")


def read_all_small(mnt):
    """Walk the tree (scandir, no stat) and read every regular file."""
    buf = bytearray(256 * 1024)
    files = 0
    nbytes = 0
    t0 = time.perf_counter()
    stack = [mnt]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    with open(e.path, "rb", buffering=0) as f:
                        while True:
                            n = f.readinto(buf)
                            if not n:
                                break
                            nbytes += n
                    files += 1
    return time.perf_counter() - t0, files, nbytes


def check_small_contents(mnt, meta):
    for rel, digest in meta["samples"]:
        with open(os.path.join(mnt, rel), "rb") as f:
            if hashlib.sha256(f.read()).hexdigest() != digest:
                return f"{rel} differs"
    return "ok"


def bench_big(reader, image, meta, mnt, ctx):
    res = {}
    state = ctx["state"]
    state["dropped"] = drop_caches() and state["dropped"]
    with reader.mount(image, mnt, ctx["logdir"]) as m:
        res["mount_cold_s"] = m.mount_seconds
        log(f"  {reader.name}: mounted (cold) in {m.mount_seconds:.3f} s; "
            "reading, page cache dropped before each file")
        cold = read_big_files(mnt, meta, True, state)
        res["read_cold_gbps"] = cold["gbps"]
        res["read_cold_per_file_gbps"] = cold["per_file_gbps"]
        log(f"  {reader.name}: cold {cold['gbps']:.3f} GB/s; re-reading on the same mount")
        # The cold pass dropped the caches before each file, so only the last
        # file is still cached: one untimed pass fills the caches first.
        read_big_files(mnt, meta, False, state)
        again = read_big_files(mnt, meta, False, state)
        res["read_reread_gbps"] = again["gbps"]
        res["content_check"] = check_big_contents(mnt, meta)
        rss = m.sample_rss()
    # fresh mount with the image in the host page cache: the daemon's own speed
    with reader.mount(image, mnt, ctx["logdir"]) as m:
        warm = read_big_files(mnt, meta, False, state)
        res["read_warm_fresh_gbps"] = warm["gbps"]
        rss = max(rss or 0, m.sample_rss() or 0)
    log(f"  {reader.name}: re-read {again['gbps']:.3f} GB/s, "
        f"fresh mount/warm image {warm['gbps']:.3f} GB/s")
    res["mount_warm_s"] = median_mount_seconds(
        ctx["args"].mount_repeats, lambda: reader.mount(image, mnt, ctx["logdir"]))
    res["peak_rss_mib"] = rss / 1024 if rss else None
    return res


def _read_all_checked(reader, mnt, meta, res):
    dt, files, nbytes = read_all_small(mnt)
    res["files_read"] = files
    res["bytes_read"] = nbytes
    if files != meta["files"] or nbytes != meta["total_bytes"]:
        raise BenchError(f"{reader.name}: read {files} files / {nbytes} bytes, "
                         f"expected {meta['files']} / {meta['total_bytes']}")
    return dt


def bench_small(reader, image, meta, mnt, ctx):
    res = {}
    state = ctx["state"]
    state["dropped"] = drop_caches() and state["dropped"]
    with reader.mount(image, mnt, ctx["logdir"]) as m:
        res["mount_cold_s"] = m.mount_seconds
        log(f"  {reader.name}: mounted (cold) in {m.mount_seconds:.3f} s; find -ls")
        state["dropped"] = drop_caches() and state["dropped"]
        res["find_cold_s"] = timed_find_ls(mnt)
        res["find_warm_s"] = timed_find_ls(mnt)
        log(f"  {reader.name}: find -ls cold {res['find_cold_s']:.2f} s, same mount "
            f"{res['find_warm_s']:.2f} s; reading all files")
        state["dropped"] = drop_caches() and state["dropped"]
        res["read_all_cold_s"] = _read_all_checked(reader, mnt, meta, res)
        res["read_all_warm_s"] = _read_all_checked(reader, mnt, meta, res)
        res["content_check"] = check_small_contents(mnt, meta)
        rss = m.sample_rss()
    log(f"  {reader.name}: read all cold {res['read_all_cold_s']:.2f} s, same mount "
        f"{res['read_all_warm_s']:.2f} s; fresh mount with the image cached")
    # the image is in the page cache: a fresh mount reads with the daemon's speed
    # (after find -ls on that mount, as the numbers of issue #17 were taken)
    with reader.mount(image, mnt, ctx["logdir"]) as m:
        res["find_fresh_s"] = timed_find_ls(mnt)
        res["read_all_fresh_s"] = _read_all_checked(reader, mnt, meta, res)
        rss = max(rss or 0, m.sample_rss() or 0)
    log(f"  {reader.name}: read all, fresh mount {res['read_all_fresh_s']:.2f} s")
    res["mount_warm_s"] = median_mount_seconds(
        ctx["args"].mount_repeats, lambda: reader.mount(image, mnt, ctx["logdir"]))
    res["peak_rss_mib"] = rss / 1024 if rss else None
    return res


# ---------------------------------------------------------------------------
# optional profiling of the isofuse daemon with py-spy

def profile_isofuse(reader, imgs, mnt, ctx):
    exe = pyspy.find_pyspy()
    if not exe:
        return None
    outdir = os.path.join(ctx["workdir"], "profile")
    summaries = {}

    def record(m, label, action):
        rec = pyspy.Recorder(exe, outdir, label)
        handle = rec.attach(m.proc.pid)
        try:
            t0 = time.perf_counter()
            action()
        finally:
            rec.detach(handle)
        summaries[label] = rec.merge(time.perf_counter() - t0)

    if "small" in imgs:
        image, meta = imgs["small"]
        drop_caches()
        with reader.mount(image, mnt, ctx["logdir"]) as m:
            drop_caches()
            record(m, "small-find-ls", lambda: timed_find_ls(mnt))
            drop_caches()
            record(m, "small-read-all", lambda: read_all_small(mnt))
    if "big" in imgs:
        image, meta = imgs["big"]
        with reader.mount(image, mnt, ctx["logdir"]) as m:
            buf = bytearray(BUF_SIZE)
            record(m, "big-read-warm-image",
                   lambda: read_sequential(os.path.join(mnt, meta["files"][0]), buf))
    return summaries


# ---------------------------------------------------------------------------
# report

def render_table(results, names, info):
    header, rows, verdicts = report.comparison(METRICS, results, names)
    if "big" in results and "small" in results:
        row = ["mount time small/big image, warm [x]"]
        for n in names:
            a = results["small"].get(n, {}).get("mount_warm_s")
            b = results["big"].get(n, {}).get("mount_warm_s")
            row.append(f"{a / b:.2f}" if a and b else "-")
        row += [""] * (len(header) - len(row) - 3) + ["~1 ideal", "", ""]
        rows.append(row)
    notes = [
        f"images: {info['images']}",
        "ratio = isofuse value / fuseiso value; 'better' says whether a higher or a "
        "lower ratio favours isofuse; goals from issue #17 ('keep' = measured before, "
        "not to be lost)" if len(names) > 1 else "",
        report.cold_note(info["drop_caches"]),
        report.host_note(info),
        "mount time small/big: ~1 means mount time does not grow with the file count",
        f"isofuse interpreter start + imports alone: {info['isofuse_import_s']:.3f} s "
        "(median of 3; part of every isofuse mount time)"
        if info.get("isofuse_import_s") is not None else "",
        "content checks: " + ", ".join(
            f"{img}/{n}={results[img][n].get('content_check')}"
            for img in results for n in names if n in results[img]),
        report.goals_note(verdicts),
    ]
    return "\n".join(report.format_table(header, rows) + [""] + [n for n in notes if n])


def describe(imgs):
    desc = []
    if "big" in imgs:
        m = imgs["big"][1]
        desc.append(f"big = 4 x {m['per_file'] / MiB:.0f} MiB "
                    f"({m['image_bytes'] / MiB:.0f} MiB image)")
    if "small" in imgs:
        m = imgs["small"][1]
        desc.append(f"small = {m['files']} files in {m['dirs']} leaf dirs, "
                    f"{m['total_bytes'] / MiB:.0f} MiB data "
                    f"({m['image_bytes'] / MiB:.0f} MiB image)")
    return "; ".join(desc)


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,     # exact option names only
        description="Build a big-file and a many-small-files ISO image, mount each "
                    "with isofuse and with fuseiso, and print side-by-side numbers: "
                    "mount time, sequential read throughput, find -ls, reading every "
                    "small file and daemon peak memory, with the goals of issue #17.",
        epilog="Run as root for cold-cache numbers (drop_caches).  Needs xorriso, "
               "fuseiso and fusermount3/fusermount.  No timed assertions: it reports.")
    cli.add_common(p, quick_help="tiny sizes for a smoke run (64 MiB, 2000 files)",
                   keep_help="keep the images built by this run; any run with the same "
                             "sizes reuses them (without --keep, only images this run "
                             "built are deleted at the end)")
    p.add_argument("--small-files", type=int, default=None, metavar="N",
                   help="number of small files (default 100000; 2000 with --quick)")
    p.add_argument("--big-gib", type=float, default=None, metavar="GIB",
                   help="size of the big image's data, split over four files "
                        "(default 2; 1/16 with --quick)")
    p.add_argument("--readers", default=",".join(READER_NAMES),
                   help="comma-separated readers to measure (default: isofuse,fuseiso)")
    p.add_argument("--only", choices=["big", "small"],
                   help="measure only one of the two images")
    p.add_argument("--mount-repeats", type=int, default=3, metavar="N",
                   help="warm mounts per image for the median mount time (default 3)")
    cli.add_isofuse_cmd(p)
    p.add_argument("--profile", action="store_true",
                   help="afterwards, profile the isofuse daemon with py-spy during "
                        "find -ls, reading all small files and a big-file read "
                        "(separate mounts: the timed numbers are not affected)")
    args = p.parse_args(argv)
    cli.defaults(args, {"small_files": 2000, "big_gib": 1 / 16},
                 {"small_files": 100_000, "big_gib": 2.0})
    args.reader_names = cli.names_option(args.readers, READER_NAMES, "reader", p)
    if args.small_files < 1 or args.big_gib <= 0:
        p.error("sizes must be positive")
    return args


def bench(args, workdir, built, mounts):
    readers = make_readers(args.reader_names, args.isofuse_cmd)
    ctx = {"args": args, "workdir": workdir, "logdir": os.path.join(workdir, "logs"),
           "state": {"dropped": drop_caches()}}
    if not ctx["state"]["dropped"]:
        log("cannot drop the page cache (not root?): 'cold' numbers will be warm")
    big_bytes = max(4 * MiB, int(args.big_gib * GiB) // (4 * MiB) * (4 * MiB))
    kinds = [args.only] if args.only else ["big", "small"]
    imgs = {}
    for kind in kinds:
        build, param = ((images.build_big, big_bytes) if kind == "big"
                        else (images.build_small, args.small_files))
        path, meta, new = images.get_image(workdir, kind, build, param)
        if new:
            built.append(path)
        imgs[kind] = (path, meta)
    conditions = Conditions()
    results = {}
    for kind in kinds:
        path, meta = imgs[kind]
        results[kind] = {}
        log(f"{kind} image: {os.path.basename(path)}")
        for reader in readers:
            mnt = mountpoint(workdir, reader.name)
            mounts.add(mnt)
            fn = bench_big if kind == "big" else bench_small
            results[kind][reader.name] = fn(reader, path, meta, mnt, ctx)
            conditions.sample()
    profile = None
    iso = [r for r in readers if r.name == "isofuse"]
    if args.profile and iso:
        log("profiling the isofuse daemon with py-spy")
        profile = profile_isofuse(iso[0], imgs, mountpoint(workdir, "isofuse"), ctx)
    info = {
        "images": describe(imgs),
        "isofuse_import_s": (import_baseline(ISOFUSE_MOUNT_IMPORTS)
                             if iso and not args.isofuse_cmd else None),
        "drop_caches": ctx["state"]["dropped"],
        **conditions.facts(),
        "readers": {r.name: r.argv_for("IMAGE", "DIR") for r in readers},
        "params": {"small_files": args.small_files, "big_bytes": big_bytes,
                   "mount_repeats": args.mount_repeats},
    }
    names = [r.name for r in readers]
    info["goals"] = report.comparison(METRICS, results, names)[2]
    return report.emit(
        args.json, {"info": info, "results": results, "profile": profile},
        lambda: "\n\n".join([render_table(results, names, info)]
                             + [pyspy.render(label, s)
                                for label, s in (profile or {}).items()]))


def main(argv=None):
    args, workdir = cli.start(PROG, parse_args, argv)
    if workdir is None:
        return 2
    if not cli.have_tools(PROG, ("xorriso", "find")):
        return 2
    built, mounts = [], set()

    def cleanup():
        for mnt in mounts:
            remove_mountpoint(mnt)
        if not args.keep:
            for path in built:
                images.remove_image(path)

    return cli.run_main(PROG, "bench", lambda: bench(args, workdir, built, mounts),
                        cleanup, "mounts cleaned up")
