"""tools/bench/stage: ``isofuse stage`` against fuse-overlayfs over the same folders.

Both filesystems mount a writable UPPER folder over the same read-only LOWER
folder.  Every step gets a fresh mount with fresh, empty upper (and, for
fuse-overlayfs, work) folders; the two filesystems take turns step by step,
so load changes hit both alike.  Steps:

  write     sequential write of a 1 GiB file, 1 MiB blocks, fsync at the end
  read      sequential read of a 1 GiB file that lives in the lower folder:
            cold (page cache dropped), again on a fresh mount with the lower
            file cached, and re-read on the same mount
  create    2,000 small files (open, write 100 bytes, close)
  ls -l     os.scandir + lstat of each entry of that folder: on the same
            mount, then on a fresh mount over the same upper (cold)
  untar     tar -xf of a source tree (this checkout's isofuse/ and tests/,
            copied until ~3,000 files) into the mount
  mount     time until a mount over a lower folder with 100,000 small files
            answers, then until its first df answers, and the daemon's peak
            resident memory after that df

Prints a table (or JSON with ``--json``) with isofuse / fuse-overlayfs
ratios, the goals (issue #17's where it sets one: untar, create, mount
time and memory; otherwise within 2x on metadata and 70% of the
throughput on data) and whether they are met.  Nothing is asserted on
timings; the exit status is 1 only when a step fails or a content check
does not match.
"""

import argparse
import contextlib
import json
import os
import random
import shlex
import shutil
import sys
import tarfile
import time

from . import cli, pyspy, report
from .common import (REPO, MiB, BenchError, Conditions, Pool, drop_caches,
                     import_baseline, log, read_sequential, rmtree, timed_command)
from .fusemount import FuseDaemon, PROBE, clear_stale, mountpoint, remove_mountpoint
from .report import Goal, Metric

PROG = "tools/bench/stage"
LOWER_VERSION = 1              # bump when the generated lower folders change
BLOCK = 1 * MiB                # dd bs=1M
POOL = Pool(0x57A6E, 8 * MiB + 4093)
MOUNT_TIMEOUT = 600.0
FS_NAMES = ("isofuse", "fuse-overlayfs")

DATA = Goal(0.70, False, why="")          # throughput: >= 70% of fuse-overlayfs
META = Goal(2.0, True, why="")            # metadata time: <= 2x fuse-overlayfs
M = Metric
METRICS = [
    M("write_mbps", "seq write 1 GiB, 1 MiB blocks + fsync", "MB/s", True, "{:.0f}", DATA),
    M("read_cold_mbps", "seq read 1 GiB lower file, cold", "MB/s", True, "{:.0f}", DATA),
    M("read_warm_mbps", "seq read, fresh mount, lower cached", "MB/s", True, "{:.0f}",
      DATA),
    M("read_reread_mbps", "seq re-read, same mount", "MB/s", True, "{:.0f}", DATA),
    M("create_s", "create N small files (100 B)", "s", False, "{:.3f}", Goal(1.0, True)),
    M("ls_same_s", "ls -l N files, same mount", "s", False, "{:.3f}", META),
    M("ls_fresh_s", "ls -l N files, fresh mount, cold", "s", False, "{:.3f}", META),
    M("mount_ls_fresh_s", "mount + ls -l N files, fresh mount, cold", "s", False, "{:.3f}"),
    M("untar_s", "tar -xf source tree", "s", False, "{:.3f}", Goal(1.0, True)),
    M("mount_many_cold_s", "mount over M-file lower, cold", "s", False, "{:.3f}",
      Goal(0.3, True, absolute=True)),
    M("mount_many_warm_s", "mount over M-file lower, warm", "s", False, "{:.3f}",
      Goal(0.3, True, absolute=True)),
    M("mount_many_df_s", "mount over M-file lower + first df, warm", "s", False,
      "{:.3f}"),
    M("mount_tiny_warm_s", "mount over 2-file lower, warm", "s", False, "{:.3f}"),
    M("mount_many_rss_mib", "daemon peak RSS, M-file lower, after df", "MiB", False,
      "{:.1f}", Goal(50, True, absolute=True)),
    M("mount_tiny_rss_mib", "daemon peak RSS, 2-file lower", "MiB", False, "{:.1f}"),
]
STEP_OF = {"write_mbps": "write", "read_cold_mbps": "read", "read_warm_mbps": "read",
           "read_reread_mbps": "read", "create_s": "create", "ls_same_s": "create",
           "ls_fresh_s": "create", "mount_ls_fresh_s": "create", "untar_s": "untar", "mount_many_cold_s": "mount",
           "mount_many_warm_s": "mount", "mount_many_df_s": "mount",
           "mount_tiny_warm_s": "mount", "mount_many_rss_mib": "mount",
           "mount_tiny_rss_mib": "mount"}


# ---------------------------------------------------------------------------
# lower folders (generated once; kept across runs with --keep)

def _mark_probe(path):
    with open(os.path.join(path, PROBE), "w") as f:
        f.write("isofuse stage benchmark probe\n")


def _build_data_lower(path, size):
    _mark_probe(path)
    POOL.write_file(os.path.join(path, "big.bin"), 0, size)
    return {"files": 2, "big_bytes": size}


def _build_many_lower(path, nfiles):
    """nfiles small files: 100 folders x N subfolders x up to 100 files."""
    _mark_probe(path)
    rng = random.Random(nfiles * 17 + 1)
    per_leaf = 100
    leaves = max(1, -(-nfiles // per_leaf))
    made = 0
    for leaf in range(leaves):
        d = os.path.join(path, f"top{leaf % 100:02d}", f"sub{leaf // 100:03d}")
        os.makedirs(d, exist_ok=True)
        for _ in range(min(per_leaf, nfiles - made)):
            size = rng.randrange(0, 2048)
            with open(os.path.join(d, f"file-{made:06d}.txt"), "wb") as f:
                f.write(POOL.slice(made * 131, size))
            made += 1
    return {"files": made + 1, "leaf_dirs": leaves}


def get_lower(workdir, kind, param, built):
    name = f"lower-{kind}-{param}-v{LOWER_VERSION}"
    path = os.path.join(workdir, name)
    meta_path = path + ".json"
    if os.path.isdir(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        log(f"using cached lower folder {path}")
        return path, meta
    rmtree(path)
    os.makedirs(path)
    built.append(path)
    log(f"building lower folder {path} ...")
    t0 = time.perf_counter()
    meta = (_build_data_lower if kind == "data" else _build_many_lower)(path, param)
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    log(f"built {name} in {time.perf_counter() - t0:.1f} s")
    return path, meta


def tarball_sources(repo=REPO):
    """The files of the untar step's tarball: the checkout's isofuse/ and
    tests/ (also what stage_replay replays)."""
    files = []
    for top in ("isofuse", "tests"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(repo, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                if os.path.isfile(full) and not os.path.islink(full):
                    files.append(full)
    if not files:
        raise BenchError("no files under isofuse/ and tests/ to make a tarball of")
    return files


def build_tarball(workdir, target_files, built):
    """A tar of this checkout's isofuse/ and tests/ copied until ~target_files."""
    files = tarball_sources()
    copies = max(1, min(50, round(target_files / len(files))))
    path = os.path.join(workdir, f"untar-src-{os.getpid()}.tar")
    built.append(path)
    nbytes = nfiles = 0
    dirs = set()
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for c in range(copies):
            for full in files:
                arc = f"tree/copy{c:02d}/{os.path.relpath(full, REPO)}"
                try:
                    tar.add(full, arcname=arc, recursive=False)
                except OSError:
                    continue        # another engineer removed it meanwhile
                nbytes += os.path.getsize(full)
                nfiles += 1
                d = os.path.dirname(arc)
                while d and d not in dirs:
                    dirs.add(d)
                    d = os.path.dirname(d)
    return path, {"files": nfiles, "dirs": len(dirs), "bytes": nbytes,
                  "copies": copies, "tar_bytes": os.path.getsize(path)}


# ---------------------------------------------------------------------------
# filesystems

class Filesystem:
    def __init__(self, name, argv_for):
        self.name = name
        self.argv_for = argv_for      # (lower, upper, work, mountpoint) -> argv


def make_filesystems(names, isofuse_cmd, isofuse_options):
    out = []
    for name in names:
        if name == "isofuse":
            base = (shlex.split(isofuse_cmd) if isofuse_cmd
                    else [sys.executable, "-m", "isofuse.cli.main"])
            opts = ["-o", isofuse_options] if isofuse_options else []

            def argv(lower, upper, work, mnt, base=base, opts=opts):
                return [*base, "stage", "-f", *opts, "--lower", lower, upper, mnt]
            out.append(Filesystem("isofuse", argv))
        elif name == "fuse-overlayfs":
            exe = shutil.which("fuse-overlayfs")
            if not exe:
                log("fuse-overlayfs not found: skipped")
                continue

            def argv(lower, upper, work, mnt, exe=exe):
                return [exe, "-f", "-o",
                        f"lowerdir={lower},upperdir={upper},workdir={work}", mnt]
            out.append(Filesystem("fuse-overlayfs", argv))
    if not out:
        raise BenchError("no filesystem to measure")
    return out


class Stage:
    """Fresh upper + work folders for one filesystem and one step."""

    def __init__(self, ctx, fs, lower, label):
        self.ctx = ctx
        self.fs = fs
        self.lower = lower
        base = os.path.join(ctx["scratch"], f"{fs.name}-{label}")
        self.upper = base + "-upper"
        self.work = base + "-work"
        self.mnt = mountpoint(ctx["workdir"], fs.name)
        ctx["mounts"].add(self.mnt)

    def __enter__(self):
        for p in (self.upper, self.work):
            rmtree(p)
            os.makedirs(p)
        clear_stale(self.mnt)
        # The previous step's folders were just deleted: write that out now,
        # or the journal commit (and the discards of the freed blocks) land
        # in this step's timing, whichever filesystem runs it.
        os.sync()
        return self

    @contextlib.contextmanager
    def mounted(self):
        argv = self.fs.argv_for(self.lower, self.upper, self.work, self.mnt)
        rec = self.ctx.get("recorder") if self.fs.name == "isofuse" else None
        hooks = None
        if rec is not None and self.ctx["profile_mode"] == "wrap":
            argv = rec.wrap(argv)
        elif rec is not None:
            hooks = rec
        m = FuseDaemon(self.fs.name, argv, self.mnt,
                       os.path.join(self.ctx["logdir"], f"stage-{self.fs.name}.log"),
                       timeout=MOUNT_TIMEOUT, hooks=hooks)
        try:
            m.start()
            yield m
        finally:
            m.stop()
            self.ctx["conditions"].sample()

    def __exit__(self, *exc):
        clear_stale(self.mnt)
        rmtree(self.upper)
        rmtree(self.work)
        return False


# ---------------------------------------------------------------------------
# measurements

def seq_write(path, size):
    view = memoryview(POOL.slice(12345, BLOCK))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        t0 = time.perf_counter()
        left = size
        while left > 0:
            chunk = view[:min(BLOCK, left)]
            while chunk:
                n = os.write(fd, chunk)
                chunk = chunk[n:]
                left -= n
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def seq_read(path):
    return read_sequential(path, bytearray(BLOCK))


def check_big(path, size):
    with open(path, "rb") as f:
        for off in (0, size // 3, max(0, size - 4096)):
            f.seek(off)
            if f.read(4096) != POOL.slice(off, min(4096, size - off)):
                return f"differs at offset {off}"
    return "ok"


def create_small(folder, n):
    payload = POOL.slice(777, 100)
    os.mkdir(folder)
    t0 = time.perf_counter()
    for i in range(n):
        fd = os.open(os.path.join(folder, f"small-{i:05d}.txt"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, payload)
        finally:
            os.close(fd)
    return time.perf_counter() - t0


def ls_l(folder):
    t0 = time.perf_counter()
    count = total = 0
    with os.scandir(folder) as it:
        for e in it:
            total += os.lstat(e.path).st_size
            count += 1
    return time.perf_counter() - t0, count, total


def untar(tar_path, dest):
    os.mkdir(dest)
    return timed_command(["tar", "-xf", tar_path, "-C", dest], "tar -xf")


def count_tree(path):
    files = 0
    for _dirpath, _dirnames, filenames in os.walk(path):
        # fuse-overlayfs may mark new folders opaque with a .wh..wh..opq file
        files += len([n for n in filenames if not n.startswith(".wh.")])
    return files


def note_drop(ctx):
    ok = drop_caches()
    ctx["dropped"] = ctx["dropped"] and ok


def step_write(ctx, fs, res):
    size = ctx["big_bytes"]
    with Stage(ctx, fs, ctx["data_lower"], "write") as st:
        with st.mounted() as m:
            dt = seq_write(os.path.join(st.mnt, "written.bin"), size)
            m.sample_rss()
        got = os.path.getsize(os.path.join(st.upper, "written.bin"))
        if got != size:
            raise BenchError(f"{fs.name}: wrote {size} bytes, upper has {got}")
    res["write_mbps"] = size / dt / 1e6
    log(f"  {fs.name}: write {res['write_mbps']:.0f} MB/s")


def step_read(ctx, fs, res):
    size = ctx["big_bytes"]
    with Stage(ctx, fs, ctx["data_lower"], "read") as st:
        target = os.path.join(st.mnt, "big.bin")
        note_drop(ctx)
        with st.mounted():
            n, dt = seq_read(target)
            if n != size:
                raise BenchError(f"{fs.name}: read {n} bytes of big.bin, expected {size}")
            res["read_cold_mbps"] = n / dt / 1e6
            n, dt = seq_read(target)
            res["read_reread_mbps"] = n / dt / 1e6
            res["check_read"] = check_big(target, size)
        # lower file now in the host page cache; fresh mount: the daemon's speed
        with st.mounted():
            n, dt = seq_read(target)
            res["read_warm_mbps"] = n / dt / 1e6
    log(f"  {fs.name}: read cold {res['read_cold_mbps']:.0f}, warm fresh mount "
        f"{res['read_warm_mbps']:.0f}, re-read {res['read_reread_mbps']:.0f} MB/s")


def _ls_checked(fs, folder, n, when):
    dt, count, total = ls_l(folder)
    if count != n or total != 100 * n:
        raise BenchError(f"{fs.name}: ls -l ({when}) saw {count} files / {total} "
                         f"bytes, expected {n} / {100 * n}")
    return dt


def step_create_ls(ctx, fs, res):
    n = ctx["small_files"]
    with Stage(ctx, fs, ctx["data_lower"], "create") as st:
        folder = os.path.join(st.mnt, "many")
        with st.mounted():
            res["create_s"] = create_small(folder, n)
            res["ls_same_s"] = _ls_checked(fs, folder, n, "same mount")
        # fresh mount over the same (now populated) upper, caches dropped
        note_drop(ctx)
        with st.mounted() as m:
            res["ls_fresh_s"] = _ls_checked(fs, folder, n, "fresh mount")
            # what a user waits for: isofuse builds its model of the disc
            # in the background meanwhile
            res["mount_ls_fresh_s"] = time.perf_counter() - m.started
        on_upper = len([n for n in os.listdir(os.path.join(st.upper, "many"))
                        if not n.startswith(".wh.")])
        res["check_create"] = "ok" if on_upper == n else f"upper has {on_upper} files"
    log(f"  {fs.name}: create {res['create_s']:.2f} s, ls -l {res['ls_same_s']:.3f} s, "
        f"fresh mount {res['ls_fresh_s']:.3f} s")


def step_untar(ctx, fs, res):
    with Stage(ctx, fs, ctx["data_lower"], "untar") as st:
        with st.mounted():
            res["untar_s"] = untar(ctx["tar"], os.path.join(st.mnt, "x"))
        got = count_tree(os.path.join(st.upper, "x"))
        want = ctx["tar_meta"]["files"]
        res["check_untar"] = "ok" if got == want else f"upper has {got}/{want} files"
    log(f"  {fs.name}: untar {res['untar_s']:.2f} s")


def _mount_then_df(st):
    """Mount, then the first statvfs: (mount s, mount+df s, peak KiB, resident KiB).

    isofuse's df answers from its model of the whole future disc, so this
    is when a stage that builds that model lazily has built it."""
    with st.mounted() as m:
        os.statvfs(st.mnt)
        until_df = time.perf_counter() - m.started
        return m.mount_seconds, until_df, m.sample_rss(), m.resident_kib()


def step_mount(ctx, fs, res):
    repeats = max(1, ctx["mount_repeats"])
    with Stage(ctx, fs, ctx["many_lower"], "mount") as st:
        note_drop(ctx)
        res["mount_many_cold_s"], _, peak, resident = _mount_then_df(st)
        warm = sorted(_mount_then_df(st) for _ in range(repeats))
        mid = warm[len(warm) // 2]
        res["mount_many_warm_s"] = mid[0]
        res["mount_many_df_s"] = sorted(w[1] for w in warm)[len(warm) // 2]
        peaks = [peak] + [w[2] for w in warm]
        res["mount_many_rss_mib"] = max(p or 0 for p in peaks) / 1024 or None
        res["mount_many_resident_mib"] = (resident or 0) / 1024 or None
    with Stage(ctx, fs, ctx["data_lower"], "mount-small") as st:
        runs = [_mount_then_df(st) for _ in range(repeats)]
        res["mount_tiny_warm_s"] = sorted(r[0] for r in runs)[len(runs) // 2]
        res["mount_tiny_rss_mib"] = max(r[2] or 0 for r in runs) / 1024 or None
    log(f"  {fs.name}: mount over {ctx['many_meta']['files']} files: cold "
        f"{res['mount_many_cold_s']:.2f} s, warm {res['mount_many_warm_s']:.2f} s "
        f"(+df {res['mount_many_df_s']:.2f} s), peak RSS "
        f"{res['mount_many_rss_mib'] or 0:.0f} MiB; over 2 files "
        f"{res['mount_tiny_warm_s']:.2f} s")


STEPS = {
    "write": step_write,
    "read": step_read,
    "create": step_create_ls,
    "untar": step_untar,
    "mount": step_mount,
}


def shortfall(metric, ratio):
    """How far from fuse-overlayfs, as a slowdown factor (>1 = isofuse slower)."""
    if not ratio:
        return 0.0
    return 1.0 / ratio if metric.higher_is_better else ratio


def furthest_behind(results):
    """{"goal"/"any": (key, slowdown)}: the relative rows furthest behind."""
    worst = {}
    a, b = results.get("isofuse", {}), results.get("fuse-overlayfs", {})
    for m in METRICS:
        if m.key not in STEP_OF or a.get(m.key) is None or not b.get(m.key):
            continue
        s = shortfall(m, a[m.key] / b[m.key])
        for kind in (["goal", "any"] if m.goal else ["any"]):
            if kind not in worst or s > worst[kind][1]:
                worst[kind] = (m.key, s)
    return worst


# ---------------------------------------------------------------------------
# profiling the isofuse daemon with py-spy

def profile_step(ctx, fs, step):
    """Run one step again on isofuse with py-spy on each of its daemons.

    The mount step starts the daemons under py-spy (start-up and building
    the tree model are included); the others attach once mounted."""
    exe = pyspy.find_pyspy()
    if not exe:
        return None
    mode = "wrap" if step == "mount" else "attach"
    rec = pyspy.Recorder(exe, os.path.join(ctx["workdir"], "profile"), f"stage-{step}")
    ctx["recorder"], ctx["profile_mode"] = rec, mode
    t0 = time.perf_counter()
    try:
        STEPS[step](ctx, fs, {})
    finally:
        ctx["recorder"] = None
    summary = rec.merge(time.perf_counter() - t0)
    summary["step"] = step
    summary["mode"] = mode
    return summary


def profile_label(p):
    how = ("daemons started under py-spy, mount included" if p["mode"] == "wrap"
           else "py-spy attached once mounted")
    return f"step '{p['step']}' (run again after the timed steps; {how})"


def profiles_wanted(args, worst):
    if args.profile == "auto":
        steps = []
        for kind in ("goal", "any"):
            if kind in worst and STEP_OF[worst[kind][0]] not in steps:
                steps.append(STEP_OF[worst[kind][0]])
        return steps or args.steps[-1:]
    return [s.strip() for s in args.profile.split(",") if s.strip()]


def run_profiles(args, ctx, iso, worst, built):
    profiles = []
    for step in profiles_wanted(args, worst):
        why = [f"{k}: {worst[k][0]} {worst[k][1]:.1f}x slower"
               for k in ("goal", "any") if k in worst
               and STEP_OF[worst[k][0]] == step and args.profile == "auto"]
        log(f"profiling the isofuse daemon with py-spy during step '{step}'"
            + (f" (furthest behind, {'; '.join(why)})" if why else ""))
        prepare(args, ctx, [step], built)
        prof = profile_step(ctx, iso, step)
        if prof:
            profiles.append(prof)
    return profiles


# ---------------------------------------------------------------------------
# report

def render_table(results, names, info):
    metrics = [m._replace(label=m.label.replace("N ", f"{info['params']['small_files']:,} ")
                          .replace("M-file", f"{info['many_files']:,}-file"))
               for m in METRICS]
    header, rows, verdicts = report.comparison(metrics, {"": results}, names)
    tar = info["tar"]
    notes = [
        f"data: 1 file of {info['params']['big_bytes'] / MiB:.0f} MiB written/read in "
        f"1 MiB blocks; {info['params']['small_files']:,} files of 100 B; untar: "
        f"{tar['files']:,} files in {tar['dirs']} folders, {tar['bytes'] / MiB:.1f} MiB "
        f"({tar['copies']} copies of isofuse/ + tests/), timed until tar exits (no "
        f"sync); mount: lower with {info['many_files']:,} files, until a file in the "
        "root can be stat'ed (+df: until the first statvfs answers too); RSS = VmHWM "
        "after that df",
        "ratio = isofuse / fuse-overlayfs; 'better' = whether a higher or a lower "
        "ratio favours isofuse; goals: issue #17's (untar, create, mount, memory), "
        "else throughput >= 0.70x and metadata time <= 2.00x" if len(names) > 1 else "",
        "every step on a fresh mount with fresh empty upper/work folders over the same "
        "lower folder; 'ls -l fresh mount' remounts over the upper the create step "
        "filled; filesystems take turns step by step",
        report.cold_note(info["drop_caches"], "sync + drop_caches (page cache, "
                         "dentries, inodes) first"),
        report.command_note(info["commands"]),
        report.host_note(info),
    ]
    if info.get("isofuse_import_s") is not None:
        notes.append(f"isofuse interpreter start + imports alone: "
                     f"{info['isofuse_import_s']:.3f} s (median of 3; part of every "
                     "isofuse mount time)")
    checks = []
    for n in names:
        c = {k[6:]: v for k, v in results.get(n, {}).items() if k.startswith("check_")}
        if c:
            checks.append(f"{n}: " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())))
    if checks:
        notes.append("content checks: " + "; ".join(checks))
    notes.append(report.goals_note(verdicts))
    return "\n".join(report.format_table(header, rows) + [""] + [n for n in notes if n])


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,     # exact option names only
        description="Mount the same upper/lower folders with 'isofuse stage' and with "
                    "fuse-overlayfs and print side-by-side numbers: sequential write "
                    "and read, creating and listing small files, untar, and mount time "
                    "and memory over a lower folder with many files, with the goals of "
                    "issue #17.",
        epilog="Run as root for cold-cache numbers (drop_caches).  Needs "
               "fuse-overlayfs, fusermount3 and tar.  No timed assertions: it reports.")
    cli.add_common(p, quick_help="tiny sizes for a smoke run",
                   keep_help="keep the generated lower folders; later runs with the "
                             "same sizes reuse them",
                   workdir_help="lower folders, scratch uppers, mount points and logs")
    p.add_argument("--big-mib", type=int, default=None, metavar="MIB",
                   help="size of the written and the read file (default 1024; "
                        "64 with --quick)")
    p.add_argument("--small-files", type=int, default=None, metavar="N",
                   help="small files to create and list (default 2000; 200 with --quick)")
    p.add_argument("--mount-files", type=int, default=None, metavar="M",
                   help="files in the lower folder for the mount-time step "
                        "(default 100000; 2000 with --quick)")
    p.add_argument("--tar-files", type=int, default=None, metavar="N",
                   help="about how many files the untar tree has (default 3000; "
                        "one copy with --quick)")
    p.add_argument("--mount-repeats", type=int, default=3, metavar="N",
                   help="warm mounts for the median mount time (default 3)")
    p.add_argument("--fs", default=",".join(FS_NAMES),
                   help="comma-separated filesystems (default isofuse,fuse-overlayfs)")
    p.add_argument("--only", default=",".join(STEPS),
                   help=f"comma-separated steps to run (default {','.join(STEPS)})")
    cli.add_isofuse_cmd(p)
    p.add_argument("--isofuse-options", default="", metavar="OPTS",
                   help="-o options for isofuse stage (default: none, the default "
                        "profile)")
    p.add_argument("--profile", nargs="?", const="auto", metavar="STEPS",
                   help="afterwards, run steps again on isofuse with py-spy on the "
                        "daemon (comma-separated; default: the step furthest behind "
                        "its goal and the step furthest behind fuse-overlayfs); the "
                        "timed numbers are not affected")
    args = p.parse_args(argv)
    cli.defaults(args, {"big_mib": 64, "small_files": 200, "mount_files": 2000,
                        "tar_files": 1},
                 {"big_mib": 1024, "small_files": 2000, "mount_files": 100_000,
                  "tar_files": 3000})
    args.steps = cli.names_option(args.only, tuple(STEPS), "step", p)
    args.fs_names = cli.names_option(args.fs, FS_NAMES, "filesystem", p)
    if args.profile not in (None, "auto"):
        cli.names_option(args.profile, tuple(STEPS), "--profile step", p)
    if min(args.big_mib, args.small_files, args.mount_files, args.tar_files) < 1:
        p.error("sizes must be positive")
    return args


def prepare(args, ctx, steps, built):
    """The lower folders and the tarball the steps need (built once)."""
    if "mount" in steps and "many_lower" not in ctx:
        ctx["many_lower"], ctx["many_meta"] = get_lower(ctx["workdir"], "many",
                                                        args.mount_files, built)
    if "untar" in steps and "tar" not in ctx:
        ctx["tar"], ctx["tar_meta"] = build_tarball(ctx["workdir"], args.tar_files,
                                                    ctx["tars"])


def bench(args, ctx, built):
    fss = make_filesystems(args.fs_names, args.isofuse_cmd, args.isofuse_options)
    os.makedirs(ctx["scratch"])
    ctx.update(big_bytes=args.big_mib * MiB, small_files=args.small_files,
               mount_repeats=args.mount_repeats, dropped=drop_caches(),
               many_meta={"files": 0},
               tar_meta={"files": 0, "dirs": 0, "bytes": 0, "copies": 0})
    if not ctx["dropped"]:
        log("cannot drop the page cache (not root?): 'cold' numbers will be warm")
    ctx["data_lower"], _ = get_lower(ctx["workdir"], "data", ctx["big_bytes"], built)
    prepare(args, ctx, args.steps, built)
    results = {fs.name: {} for fs in fss}
    ctx["conditions"] = Conditions()
    for step in args.steps:
        log(f"step {step}")
        for fs in fss:
            try:
                STEPS[step](ctx, fs, results[fs.name])
            except (OSError, BenchError) as exc:
                # the code under test changes while we run: one failed step
                # is reported (exit status 1), the others still measured
                results[fs.name][f"check_{step}"] = f"FAILED: {exc}".splitlines()[0]
                log(f"  {fs.name}: step {step} failed: {exc}")
    names = [fs.name for fs in fss]
    worst = furthest_behind(results)
    iso = [fs for fs in fss if fs.name == "isofuse"]
    profiles = run_profiles(args, ctx, iso[0], worst, built) if args.profile and iso else []
    info = {
        "params": {"big_bytes": ctx["big_bytes"], "small_files": args.small_files,
                   "mount_repeats": args.mount_repeats, "steps": args.steps},
        "many_files": ctx["many_meta"]["files"],
        "tar": ctx["tar_meta"],
        "drop_caches": ctx["dropped"],
        "commands": {fs.name: fs.argv_for("LOWER", "UPPER", "WORK", "MNT") for fs in fss},
        **ctx["conditions"].facts(),
        "isofuse_import_s": (import_baseline(
            "import pyfuse3, trio, isofuse.cli.main, isofuse.cli.stage, "
            "isofuse.fuseops.stage_ops") if iso and not args.isofuse_cmd else None),
        "goals": report.comparison(METRICS, {"": results}, names)[2],
        "furthest_behind": {k: list(v) for k, v in worst.items()},
    }
    bad = [f"{n}: {k}={v}" for n in names for k, v in results[n].items()
           if k.startswith("check_") and v != "ok"]
    return report.emit(
        args.json, {"info": info, "results": results, "profiles": profiles},
        lambda: "\n\n".join([render_table(results, names, info)]
                             + [pyspy.render(profile_label(p), p) for p in profiles]),
        failed=bool(bad))


def main(argv=None):
    args, workdir = cli.start(PROG, parse_args, argv)
    if workdir is None or not cli.have_tools(PROG, ("tar",)):
        return 2
    built = []
    ctx = {"workdir": workdir, "logdir": os.path.join(workdir, "logs"),
           "scratch": os.path.join(workdir, f"stage-scratch-{os.getpid()}"),
           "mounts": set(), "tars": [], "recorder": None}

    def cleanup():
        for mnt in ctx["mounts"]:
            remove_mountpoint(mnt)
        rmtree(ctx["scratch"])
        for path in ctx["tars"] + ([] if args.keep else built):
            rmtree(path)
            for p in (path, path + ".json"):
                with contextlib.suppress(OSError):
                    os.unlink(p)

    return cli.run_main(PROG, "stage-bench", lambda: bench(args, ctx, built), cleanup,
                        "mounts cleaned up")
