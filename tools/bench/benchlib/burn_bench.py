"""tools/bench/burn: the stream from the mastering engine into the simulated drive.

Runs ``isofuse-burn`` (this checkout, ``python3 -m burner.cli``) with
``--json`` on a folder, so that the folder is mastered on the fly and
streamed into a simulated drive (``sim:DISC``, see ``burner/sim.py``):

  big    the 2 GiB tree of tools/bench/master (4 x 512 MiB random data)
         onto a fresh BD-R without throttle, page cache cold and warm
  small  its 100,000-file tree the same way
  cd     the 100,000-file tree onto a CD-R throttled to 52x (7,800 kB/s)

The source trees are those of tools/bench/master (benchlib/trees.py; the
same cached trees in the work folder are reused).  Every JSON event of the
burner is timestamped as it arrives, together with the burner's CPU time
from /proc/PID/stat, which gives: time until the "write" phase (start-up,
probing, mastering layout), the write phase (from the "write" to the
"close" event), sustained MB/s over it, CPU % of one core during it, the
close, the total wall time and the process's user+sys CPU (os.wait4).
The simulated drive is a transport inside the burner's process, so its work
(pwrite of every sector into the disc image) is part of every CPU figure.

Goals (from the issue): >= 200 MB/s sustained (4x a 12x BD drive) and
< 10% of a core at 52x CD (7.8 MB/s).  Nothing is asserted on timings;
the exit status is 1 only when a burn or a check of the disc fails.

Run as root for cold-cache numbers.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time

from . import cli, report, trees
from .common import (REPO, SECTOR, MiB, BenchError, Conditions, child_env, drop_caches,
                     import_baseline, log)
from .master_bench import isofuse_info
from .procs import log_tail, reaping, spawn, wait4

PROG = "tools/bench/burn"
TCK = os.sysconf("SC_CLK_TCK")
STREAM_GOAL_MB_S = 200.0        # >= 4 x a 12x BD drive
CD_CPU_GOAL_PCT = 10.0          # < 10% of a core at 52x CD
CD_KEEP_UP = 0.95               # 52x run: achieved rate >= 95% of the throttle
PARTS = ("big", "small", "cd")


# ---------------------------------------------------------------------------
# simulated discs

def disc_files(disc):
    return [disc, disc + ".state.json", disc + ".state.json.tmp"]


def remove_disc(disc):
    for path in disc_files(disc):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def create_disc(disc, profile, speed_kbs, log_path):
    remove_disc(disc)
    argv = [sys.executable, "-m", "burner.simtool", "create", disc, "--profile", profile]
    if speed_kbs:
        argv += ["--speed", str(speed_kbs)]
    with open(log_path, "a") as logf:
        logf.write(f"--- {' '.join(argv)}\n")
        logf.flush()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                              env=child_env())
    if proc.returncode != 0:
        raise BenchError(f"simtool create exited with {proc.returncode}; see {log_path}")


# ---------------------------------------------------------------------------
# one burn

def proc_cpu(pid):
    """(user, sys) seconds of a process from /proc/PID/stat, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()    # fields[0] is field 3 (state)
    return int(fields[11]) / TCK, int(fields[12]) / TCK


def burn(disc, tree, log_path):
    """Run the burner on tree into sim:disc; return (timeline, wall, rusage)."""
    argv = [sys.executable, "-m", "burner.cli", "-d", "sim:" + disc, "--json", tree]
    events = []
    with open(log_path, "a") as logf:
        logf.write(f"--- {' '.join(argv)}\n")
        logf.flush()
        t0 = time.perf_counter()
        proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=logf)
        with reaping(proc):
            for line in proc.stdout:
                now = time.perf_counter() - t0
                cpu = proc_cpu(proc.pid)
                text = line.decode(errors="replace").strip()
                if not text:
                    continue
                try:
                    ev = json.loads(text)
                except ValueError:
                    ev = {"event": "text", "message": text}
                events.append((now, cpu, ev))
            ru = wait4(proc)
            wall = time.perf_counter() - t0
        logf.write("".join(f"[{t:9.3f} s] {json.dumps(ev)}\n" for t, _, ev in events))
    if proc.returncode != 0:
        raise BenchError(f"burner exited with {proc.returncode}; see {log_path}:\n"
                         f"{log_tail(log_path)}")
    return events, wall, ru


def analyse(events, wall, ru):
    """The figures of one burn from its timestamped events."""
    def first(pred, after=-1.0):
        for t, cpu, ev in events:
            if t >= after and pred(ev):
                return t, cpu, ev
        return None

    w = first(lambda e: e.get("event") == "phase" and e.get("phase") == "write")
    c = first(lambda e: e.get("event") == "phase" and e.get("phase") == "close",
              w[0] if w else 0.0)
    res = first(lambda e: e.get("event") == "result")
    if not (w and c and res):
        seen = [e.get("phase") or e.get("event") for _, _, e in events]
        raise BenchError(f"missing write/close/result events; saw {seen}")
    if not res[2].get("ok"):
        raise BenchError(f"burn failed: {res[2].get('message')}")
    written = [e for t, _, e in events
               if e.get("event") == "progress" and e.get("what") == "written"]
    if not written:
        raise BenchError("no 'written' progress event")
    total = written[-1]["total"]
    bufs = [e["buffer"] for t, _, e in events
            if w[0] <= t <= c[0] and e.get("event") == "progress"
            and e.get("what") == "written" and e.get("buffer") is not None]
    write_s = c[0] - w[0]
    out = {
        "to_write_s": w[0],
        "write_s": write_s,
        "close_s": res[0] - c[0],
        "wall_s": wall,
        "bytes": total,
        "sectors": res[2].get("sectors"),
        "write_mb_s": total / 1e6 / write_s if write_s > 0 else None,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "buffer_min_pct": min(bufs) * 100 if bufs else None,
        "phases": [e["phase"] for _, _, e in events if e.get("event") == "phase"],
    }
    if w[1] and c[1] and write_s > 0:
        du, ds = c[1][0] - w[1][0], c[1][1] - w[1][1]
        out["write_user_pct"] = 100 * du / write_s
        out["write_sys_pct"] = 100 * ds / write_s
        out["write_cpu_pct"] = 100 * (du + ds) / write_s
        out["to_write_cpu_s"] = w[1][0] + w[1][1]
    else:
        for k in ("write_user_pct", "write_sys_pct", "write_cpu_pct", "to_write_cpu_s"):
            out[k] = None
    return out


# A CD track written track-at-once ends in 2 run-out sectors that the drive
# adds (docs/simulated-drive.md); they count in the disc's recorded end but
# were never sent, so the image file is that much shorter.
RUN_OUT = {"cd-r": 2}


def disc_state(disc):
    """The simulated disc's state, read as the simulator reads it (the file
    has a header line before its JSON)."""
    from dataclasses import asdict
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from burner import simstate
    return asdict(simstate.load(disc))


def check_disc(disc, r, checks, log_path, profile="bd-r"):
    """Cheap checks of the disc after a burn; problems go into checks."""
    size = os.path.getsize(disc)
    state = disc_state(disc)
    sectors = r["sectors"]
    checks.setdefault("image_bytes", size)
    checks.setdefault("sectors", sectors)
    checks.setdefault("disc_status", state.get("status"))
    bad = checks.setdefault("bad", [])
    if sectors is None or size != sectors * SECTOR:
        bad.append(f"disc image is {size} bytes, result says {sectors} sectors")
    if r["bytes"] != (sectors or 0) * SECTOR:
        bad.append(f"progress total {r['bytes']} != {sectors} sectors")
    want_end = None if sectors is None else sectors + RUN_OUT.get(profile, 0)
    if state.get("status") != "complete" or state.get("recorded_end") != want_end:
        bad.append(f"disc state {state.get('status')}, recorded_end "
                   f"{state.get('recorded_end')} (want complete, {want_end})")
    if checks["image_bytes"] != size:
        bad.append("image size not the same in every run")
    if "info_ok" not in checks:         # isofuse info once per part and mode
        info, err = isofuse_info(disc, log_path)
        checks["info_ok"] = info is not None
        if info is None:
            bad.append(f"isofuse info failed ({err})")
        else:
            vss = info.get("primary", {}).get("volume_space_size")
            checks["volume_space_size"] = vss
            if vss is None or sectors is None or vss > sectors:
                bad.append(f"volume space size {vss} > {sectors} sectors burned")


def warm_tree(path):
    """Untimed: read every file once so the tree is in the page cache."""
    t0 = time.perf_counter()
    n = 0
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(MiB):
                    pass
            n += 1
    log(f"warm-up: read {n} files of {path} in {time.perf_counter() - t0:.1f} s")


def parallel_read_s(path, readers=16):
    """Seconds for ``readers`` cat processes at once (xargs -P) to read every
    file of the tree: what the disk allows cold, the reference for the cold
    burns.  The tree is walked and stat'ed first, untimed, as the burner's
    layout does before its write phase."""
    files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    for name in files:
        os.lstat(name)
    listing = b"".join(os.fsencode(name) + b"\0" for name in files)
    t0 = time.perf_counter()
    subprocess.run(["xargs", "-0", "-P", str(readers), "-n", "256", "cat"], input=listing,
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------
# the benchmark

SUMMARY_KEYS = ("to_write_s", "to_write_cpu_s", "write_s", "write_mb_s", "write_cpu_pct",
                "write_user_pct", "write_sys_pct", "close_s", "wall_s", "cpu_s",
                "user_s", "sys_s", "buffer_min_pct")


def bench_part(part, tree, args, workdir, logdir, state):
    disc = os.path.join(workdir, f"burn-sim-{part}.img")
    state["discs"].add(disc)
    log_path = os.path.join(logdir, f"burn-{part}.log")
    if part == "cd":
        profile, speed, modes = "cd-r", args.cd_kbs, ["warm"]
    else:
        profile, speed = "bd-r", 0
        modes = ["warm"] if args.no_cold else ["cold", "warm"]
    out = {}
    for mode in modes:
        runs = []
        checks = {}
        for rep in range(args.repeat):
            if mode == "warm" and tree not in state["warm"]:
                warm_tree(tree)
            create_disc(disc, profile, speed, log_path)
            state["conditions"].sample()
            if mode == "cold":
                if not drop_caches():
                    state["dropped"] = False
            else:
                os.sync()
            try:
                events, wall, ru = burn(disc, tree, log_path)
                state["warm"].add(tree)
                r = analyse(events, wall, ru)
                check_disc(disc, r, checks, log_path, profile)
            finally:
                if not (args.keep and rep == args.repeat - 1):
                    remove_disc(disc)
            runs.append(r)
            cpu = r["write_cpu_pct"]
            log(f"{part} {mode} #{rep + 1}: {r['bytes'] / 1e6:.0f} MB, write phase "
                f"{r['write_s']:.2f} s = {r['write_mb_s']:.1f} MB/s at "
                + (f"{cpu:.0f}%" if cpu is not None else "?%") + " CPU; "
                f"{r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s cpu")
        res = {}
        for key in SUMMARY_KEYS:
            vals = [r[key] for r in runs if r.get(key) is not None]
            res[key] = statistics.median(vals) if vals else None
        if res["buffer_min_pct"] is not None:
            res["buffer_min_pct"] = min(r["buffer_min_pct"] for r in runs
                                        if r["buffer_min_pct"] is not None)
        res["phases"] = runs[0]["phases"]
        res["runs"] = [{k: (round(v, 4) if isinstance(v, float) else v)
                        for k, v in r.items() if k != "phases"} for r in runs]
        res["checks"] = checks
        if mode == "cold" and drop_caches():
            # stat, then 16 cat processes at once: the disk's own limit
            res["floor_read_s"] = parallel_read_s(tree)
            res["floor_mb_s"] = runs[0]["bytes"] / 1e6 / res["floor_read_s"]
            log(f"{part}: reading the tree cold with 16 readers took "
                f"{res['floor_read_s']:.2f} s")
        out[mode] = res
    return out


# ---------------------------------------------------------------------------
# report

def _cpu(res):
    v = res.get("write_cpu_pct")
    if v is None:
        return "-"
    return f"{v:.1f} (user {res['write_user_pct']:.1f}, sys {res['write_sys_pct']:.1f})"


def rows_of(results, info):
    """(metric, value, goal, met) rows."""
    rows = []
    cd_mb_s = info["cd_kbs"] / 1000
    for part, modes in results.items():
        for mode, res in modes.items():
            label = (f"cd {info['cd_kbs'] / 150:g}x ({cd_mb_s:g} MB/s), warm"
                     if part == "cd"
                     else f"{part}, {mode}")

            def row(name, value, goal="", met=None):
                rows.append([f"{label}: {name}", value, goal,
                             "" if met is None else ("yes" if met else "NO")])

            def num(key, fmt="{:.2f}"):
                v = res.get(key)
                return "-" if v is None else fmt.format(v)

            row("start to write phase (start-up, probe, layout) [s]", num("to_write_s"))
            row("write phase [s]", num("write_s"))
            mb = res.get("write_mb_s")
            cpu = res.get("write_cpu_pct")
            if part == "cd":
                want = CD_KEEP_UP * cd_mb_s
                row("achieved write rate [MB/s]", num("write_mb_s", "{:.1f}"),
                    f">= {want:.2f} (keeps up)", mb is not None and mb >= want)
                row("CPU in write phase [% of a core]", _cpu(res),
                    f"< {CD_CPU_GOAL_PCT:g}", cpu is not None and cpu < CD_CPU_GOAL_PCT)
                row("lowest drive buffer fill seen [%]", num("buffer_min_pct", "{:.0f}"))
            else:
                row("sustained write [MB/s]", num("write_mb_s", "{:.1f}"),
                    f">= {STREAM_GOAL_MB_S:g}", mb is not None and mb >= STREAM_GOAL_MB_S)
                row("CPU in write phase [% of a core]", _cpu(res))
                if res.get("floor_read_s") is not None:
                    row("reference: xargs -P16 cat of the stat'ed tree, cold [s]",
                        num("floor_read_s"))
                    row("reference: image bytes / that time [MB/s]",
                        num("floor_mb_s", "{:.1f}"))
            row("close (flush, close track, finalize) [s]", num("close_s"))
            row("total wall [s]", num("wall_s"))
            row("process user+sys CPU [s]", num("cpu_s"))
    return rows


def render_table(results, info):
    header = ["metric", f"value (median of {info['repeat']})", "goal", "met?"]
    lines = report.format_table(header, rows_of(results, info), left=(0, 3))
    notes = [
        f"trees: {info['trees']}",
        "command: " + " ".join(os.path.basename(a) if i == 0 else a
                               for i, a in enumerate(info["command"]))
        + "; a fresh disc per burn, in the work folder, deleted afterwards: "
        + ", ".join(([] if set(results) <= {"cd"} else
                     ["'python3 -m burner.simtool create DISC --profile bd-r' (no throttle)"])
                    + ([f"cd: '... --profile cd-r --speed {info['cd_kbs']}' (kB/s)"]
                       if "cd" in results else [])),
        "write phase = from the 'write' phase event to the 'close' phase event; "
        "MB/s = bytes written (last progress 'total') / write phase, MB = 10^6 bytes; "
        "the disc image goes to the work folder's page cache (no fsync)",
        "CPU: utime+stime of the burner process from /proc/PID/stat, read as each "
        "JSON event arrives; process CPU = os.wait4 rusage (interpreter start-up "
        "included).  The simulated drive is a transport inside the burner's "
        "process, so its work (pwrite of every sector into the disc image) is "
        "included in all CPU figures",
        report.cold_note(info["drop_caches"], "sync + drop_caches before each burn")
        + "; warm = tree read or burned before; cd runs warm",
        report.host_note(info),
        f"interpreter start + 'import burner.cli' alone: {info['import_s']:.3f} s "
        "(median of 3)" if info["import_s"] is not None else "",
    ]
    for part, modes in results.items():
        for mode, res in modes.items():
            c = res["checks"]
            s = (f"checks {part} {mode}: {c.get('image_bytes')} bytes = "
                 f"{c.get('sectors')} sectors, disc {c.get('disc_status')}, "
                 f"isofuse info {'ok' if c.get('info_ok') else 'FAILED'}")
            if c.get("info_ok"):
                s += f" (volume {c.get('volume_space_size')} sectors)"
            s += "; phases " + " > ".join(res["phases"])
            notes.append(s)
    if info.get("problems"):
        notes.append("PROBLEMS: " + "; ".join(info["problems"]))
    return "\n".join(lines + [""] + [n for n in notes if n])


def problems_of(results):
    out = []
    for part, modes in results.items():
        for mode, res in modes.items():
            for msg in dict.fromkeys(res["checks"].get("bad", [])):
                out.append(f"{part} {mode}: {msg}")
    return out


DESCRIPTION = """\
Measure the stream from the mastering engine into the simulated drive:
'python3 -m burner.cli -d sim:DISC --json TREE' (isofuse-burn, this
checkout) masters TREE on the fly and writes it to a fresh simulated disc:

  big    4 x 512 MiB random data (2 GiB) onto a BD-R, no throttle
  small  100,000 small text files onto a BD-R, no throttle
  cd     the small tree onto a CD-R throttled to 52x (7,800 kB/s)

big and small run with the page cache dropped first (cold) and with the
tree cached (warm); the trees are those of tools/bench/master (shared and
cached in the same work folder).  Each burner JSON event is timestamped on
arrival with the burner's CPU time (/proc/PID/stat), giving per burn:

  start to write phase   interpreter start-up, probing, mastering layout
  write phase            'write' event to 'close' event: MB/s and CPU %
                         of one core (the simulated drive runs inside the
                         burner's process, so its CPU is included)
  close                  flush, close track, finalize
  total wall, user+sys   os.wait4 of the burner

Goals: >= 200 MB/s sustained (4x a 12x BD drive); at 52x CD, < 10% of a
core while keeping up with the drive.  Values are medians of --repeat runs.
Checks: the burner says ok, the disc image holds the sectors it reported,
the disc is closed and 'isofuse info' opens it."""


def parse_args(argv):
    p = cli.parser(PROG, DESCRIPTION, """\
A full run takes about
5 minutes on 2 cores and needs about 5 GiB free in the work folder (the
trees plus one 2 GiB disc image at a time).  No timed assertions: the exit
status is 1 only when a burn or a check fails.""")
    cli.add_common(p, quick_help=trees.QUICK_HELP,
                   keep_help="keep the source trees built by this run and the last disc "
                             "of each part (burn-sim-PART.img + .state.json in the work "
                             "folder)",
                   workdir_help="the trees, disc images and logs")
    trees.add_options(p, "burns per part and cache state")
    p.add_argument("--only", choices=PARTS, help="measure only one part")
    p.add_argument("--no-cold", action="store_true",
                   help="skip the cold-cache burns (the tree is read once, untimed, "
                        "before the warm ones)")
    p.add_argument("--cd-kbs", type=int, default=7800, metavar="KBS",
                   help="throttle of the simulated CD drive in kB/s (1000 bytes/s; "
                        "default 7800 = 52x)")
    args = p.parse_args(argv)
    trees.fill_defaults(args)
    if args.small_files < 1 or args.big_mib < 1 or args.repeat < 1 or args.cd_kbs < 1:
        p.error("sizes, --repeat and --cd-kbs must be positive")
    return args


def bench(args, workdir, built, state):
    logdir = os.path.join(workdir, "logs")
    parts = [args.only] if args.only else list(PARTS)
    kinds = list(dict.fromkeys("small" if p == "cd" else p for p in parts))
    srcs = trees.get_trees(workdir, kinds, args.big_mib, args.small_files, built)
    if parts == ["cd"]:
        state["dropped"] = "n/a"
    elif args.no_cold:
        state["dropped"] = None
    elif not drop_caches():
        state["dropped"] = False
        log("cannot drop the page cache (not root?): 'cold' numbers will be warm")
    state["conditions"] = Conditions()
    results = {}
    for part in parts:
        tree = srcs["small" if part == "cd" else part][0]
        results[part] = bench_part(part, tree, args, workdir, logdir, state)
    info = {
        "trees": trees.describe(srcs),
        "tree_paths": {k: v[0] for k, v in srcs.items()},
        "command": [sys.executable, "-m", "burner.cli", "-d", "sim:DISC", "--json",
                    "TREE"],
        "repeat": args.repeat,
        "cd_kbs": args.cd_kbs,
        "goals": {"stream_mb_s": STREAM_GOAL_MB_S, "cd_cpu_pct": CD_CPU_GOAL_PCT,
                  "cd_keep_up_mb_s": CD_KEEP_UP * args.cd_kbs / 1000},
        "drop_caches": state["dropped"],
        **state["conditions"].facts(),
        "import_s": import_baseline("import burner.cli"),
        "problems": problems_of(results),
    }
    return report.emit(args.json, {"info": info, "results": results},
                       lambda: render_table(results, info),
                       failed=bool(info["problems"]))


def main(argv=None):
    args, workdir = cli.start(PROG, parse_args, argv)
    if workdir is None:
        return 2
    state = {"dropped": True, "discs": set(), "warm": set()}
    built = []

    def cleanup():
        if not args.keep:
            for disc in state["discs"]:
                remove_disc(disc)
            for path in built:
                trees.remove_tree(path)

    return cli.run_main(PROG, "burn-bench", lambda: bench(args, workdir, built, state),
                        cleanup, "burner reaped, disc images removed")
