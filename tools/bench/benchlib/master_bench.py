"""tools/bench/master: ``isofuse master`` against genisoimage and ``xorriso -as mkisofs``.

Builds two source trees once (benchlib/trees.py; cached with ``--keep``)
and runs every tool with the same options (``-quiet -R -J``) on the same
tree, round robin, measuring wall time, peak RSS and user+sys CPU time of
the tool's process for: writing the image to a regular file next to the
trees (cold page cache and warm), writing to /dev/null, and
``-print-size``.  Each timing is the median of ``--repeat`` runs.  It
checks cheaply that the images are what the tools said (-print-size) and
that ``isofuse info`` opens each one, then prints a table with isofuse /
peer ratios and issue #17's goals (or JSON with ``--json``).  Nothing here
asserts on timings; it only reports.
"""

import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys

from . import cli, report, trees
from .common import (REPO, SECTOR, BenchError, Conditions, child_env, drop_caches,
                     import_baseline, log)
from .procs import gnu_time, run_measured
from .report import Goal, Metric

PROG = "tools/bench/master"
TOOL_NAMES = ("isofuse", "genisoimage", "xorriso")
COMMON_OPTS = ["-quiet", "-R", "-J"]
MODES = ("file_cold", "file_warm", "devnull", "print_size")

M = Metric
METRICS = [
    M("file_cold_s", "write to file, cold cache", "s", False),
    M("file_warm_s", "write to file, warm cache", "s", False),
    M("devnull_s", "write to /dev/null, warm", "s", False),
    M("print_size_s", "-print-size, warm", "s", False),
    M("file_cold_cpu_s", "user+sys CPU, file, cold", "s", False),
    M("file_warm_cpu_s", "user+sys CPU, file, warm", "s", False),
    M("devnull_cpu_s", "user+sys CPU, /dev/null", "s", False),
    M("print_size_cpu_s", "user+sys CPU, -print-size", "s", False),
    M("write_rss_mib", "peak RSS, writing", "MiB", False, "{:.1f}"),
    M("print_size_rss_mib", "peak RSS, -print-size", "MiB", False, "{:.1f}"),
]
GOALS = {   # (tree, key): goal, all against genisoimage
    ("big", "file_warm_s"): Goal(0.9, True, "genisoimage"),
    ("small", "file_warm_s"): Goal(0.9, True, "genisoimage"),
    ("small", "file_cold_s"): Goal(0.33, True, "genisoimage", why="#17: keep"),
    ("small", "write_rss_mib"): Goal(1.0, True, "genisoimage"),
}


def metrics_for(kinds):
    return [m._replace(part=kind, goal=GOALS.get((kind, m.key)))
            for kind in kinds for m in METRICS]


class Tool:
    def __init__(self, name, base):
        self.name = name
        self.base = base            # argv prefix; mkisofs options follow

    def argv(self, *rest):
        return [*self.base, *COMMON_OPTS, *rest]


def make_tools(names, isofuse_cmd):
    tools = []
    for name in names:
        if name == "isofuse":
            base = (shlex.split(isofuse_cmd) if isofuse_cmd
                    else [sys.executable, "-m", "isofuse.cli.main", "master"])
        else:
            exe = shutil.which(name)
            if not exe:
                log(f"{name} not found: skipped")
                continue
            base = [exe] if name == "genisoimage" else [exe, "-as", "mkisofs"]
        tools.append(Tool(name, base))
    if not tools:
        raise BenchError("no tool to measure")
    return tools


def isofuse_info(image, log_path):
    """``isofuse info --json IMAGE``: (info, None) or (None, error text)."""
    argv = [sys.executable, "-m", "isofuse.cli.main", "info", "--json", image]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          env=child_env(), text=True)
    if proc.returncode != 0:
        with open(log_path, "a") as f:
            f.write(f"--- {' '.join(argv)}\n{proc.stderr}")
        return None, f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
    try:
        return json.loads(proc.stdout), None
    except ValueError as exc:
        return None, f"bad JSON: {exc}"


def compile_isofuse():
    """Byte-compile the checkout's isofuse as an installed package is (pip
    and Debian compile on install), so that a PYTHONDONTWRITEBYTECODE
    environment does not make every isofuse run compile its modules again."""
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    os.path.join(REPO, "isofuse")], check=True, env=child_env(),
                   stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------------------
# the benchmark

def _print_size(tool, src, log_path, checks, time_exe):
    os.sync()
    r = run_measured(tool.argv("-print-size", src), log_path, capture=True,
                     time_exe=time_exe)
    try:
        sectors = int(r["stdout"].split()[-1])
    except (ValueError, IndexError):
        raise BenchError(f"{tool.name}: -print-size printed {r['stdout']!r}")
    checks.setdefault("print_size_sectors", sectors)
    if checks["print_size_sectors"] != sectors:
        checks["print_size_stable"] = False
    return r


def _to_file(tool, src, out_path, log_path, checks, cold, ctx):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(out_path)
    if cold:
        if not drop_caches():
            ctx["state"]["dropped"] = False
    else:
        os.sync()
    try:
        r = run_measured(tool.argv("-o", out_path, src), log_path,
                         time_exe=ctx["time_exe"])
        size = os.path.getsize(out_path)
        checks.setdefault("image_bytes", size)
        if checks["image_bytes"] != size:
            checks["size_stable"] = False
        if "info_ok" not in checks:
            info, err = isofuse_info(out_path, log_path)
            checks["info_ok"] = info is not None
            if info is None:
                checks["info_error"] = err
            else:
                checks["volume_space_size"] = \
                    info.get("primary", {}).get("volume_space_size")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out_path)
    return r


def run_once(mode, tool, src, ctx, checks):
    log_path = os.path.join(ctx["logdir"], f"master-{tool.name}-{ctx['kind']}.log")
    if mode == "print_size":
        return _print_size(tool, src, log_path, checks, ctx["time_exe"])
    if mode == "devnull":
        os.sync()
        return run_measured(tool.argv("-o", os.devnull, src), log_path,
                            time_exe=ctx["time_exe"])
    return _to_file(tool, src, ctx["out_path"], log_path, checks, mode == "file_cold",
                    ctx)


def summarise(runs, checks, modes):
    res = {}
    for mode in modes:
        rs = runs[mode]
        res[f"{mode}_s"] = statistics.median(r["wall_s"] for r in rs)
        res[f"{mode}_cpu_s"] = statistics.median(r["cpu_s"] for r in rs)
        res[f"{mode}_user_s"] = statistics.median(r["user_s"] for r in rs)
        res[f"{mode}_sys_s"] = statistics.median(r["sys_s"] for r in rs)
        res[f"{mode}_rss_mib"] = max(r["rss_kib"] for r in rs) / 1024
        res[f"{mode}_runs_s"] = [round(r["wall_s"], 3) for r in rs]
    res["write_rss_mib"] = max(res[f"{m}_rss_mib"] for m in modes if m != "print_size")
    sectors = checks.get("print_size_sectors")
    size = checks.get("image_bytes")
    checks["size_matches_print_size"] = (sectors is not None and size is not None
                                         and size == sectors * SECTOR)
    checks["size_matches_volume_size"] = (checks.get("volume_space_size") is not None
                                          and size == checks["volume_space_size"] * SECTOR)
    res["checks"] = checks
    return res


def bench_tree(kind, src, tools, args, ctx):
    """Round robin over tools for every mode and repetition."""
    runs = {t.name: {m: [] for m in MODES} for t in tools}
    checks = {t.name: {} for t in tools}
    ctx = dict(ctx, kind=kind,
               out_path=os.path.join(ctx["workdir"], f"master-out-{kind}-{os.getpid()}.iso"))
    ctx["out_paths"].add(ctx["out_path"])
    modes = [m for m in MODES if not (m == "file_cold" and args.no_cold)]
    for mode in modes:
        for rep in range(args.repeat):
            for tool in tools:
                ctx["conditions"].sample()
                r = run_once(mode, tool, src, ctx, checks[tool.name])
                r.pop("stdout")
                runs[tool.name][mode].append(r)
                log(f"{kind} {mode} #{rep + 1} {tool.name}: {r['wall_s']:.2f} s wall, "
                    f"{r['cpu_s']:.2f} s cpu, {r['rss_kib'] / 1024:.0f} MiB")
    return {t.name: summarise(runs[t.name], checks[t.name], modes) for t in tools}


# ---------------------------------------------------------------------------
# report

def check_note(kind, res, names):
    parts = []
    for n in names:
        c = res.get(n, {}).get("checks")
        if not c:
            continue
        s = (f"{n}: {c.get('image_bytes')} bytes, -print-size "
             f"{c.get('print_size_sectors')} sectors "
             f"({'=' if c['size_matches_print_size'] else '!='} size/2048), "
             f"isofuse info {'ok' if c.get('info_ok') else 'FAILED'}")
        if c.get("info_ok"):
            s += (f" (volume {c.get('volume_space_size')} sectors"
                  f"{'' if c['size_matches_volume_size'] else ' != size/2048'})")
        if c.get("size_stable") is False or c.get("print_size_stable") is False:
            s += ", size varied between runs"
        parts.append(s)
    return f"checks {kind}: " + "; ".join(parts)


def render_table(results, names, info):
    header, rows, verdicts = report.comparison(metrics_for(results), results, names)
    notes = [
        f"trees: {info['trees']}",
        "commands: TOOL -quiet -R -J -o OUT|-print-size SRC, TOOL = "
        + ", ".join(" ".join(os.path.basename(a) if i == 0 else a
                             for i, a in enumerate(info["commands"][n][:-6]))
                    for n in names) + "; "
        f"times are medians of {info['repeat']} runs, tools run round robin; "
        "ratios = isofuse / peer, below 1.00x favours isofuse (every metric is "
        "lower-is-better); goals from issue #17, against genisoimage",
        report.cold_note(info["drop_caches"], "sync + drop_caches (page cache, "
                         "dentries, inodes) before each run"),
        "file writes go to the work folder's filesystem and end when the tool exits "
        "(no fsync); the image is deleted after every run",
        "isofuse is byte-compiled first (compileall), as an installed package is",
        "CPU: os.wait4 rusage of the tool's process (isofuse: the Python interpreter, "
        "start-up included); peak RSS: "
        + ("GNU time %M (max resident set size)" if info["gnu_time"] else
           "ru_maxrss (no GNU time: includes this script's RSS as a floor)"),
        report.host_note(info),
    ]
    if info.get("isofuse_import_s") is not None:
        notes.append(f"isofuse interpreter start + imports alone: "
                     f"{info['isofuse_import_s']:.3f} s (median of 3)")
    notes += [check_note(kind, res, names) for kind, res in results.items()]
    if info.get("problems"):
        notes.append("PROBLEMS: " + "; ".join(info["problems"]))
    notes.append(report.goals_note(verdicts))
    return "\n".join(report.format_table(header, rows) + [""] + [n for n in notes if n])


def problems_of(results):
    out = []
    for kind, res in results.items():
        for name, r in res.items():
            c = r["checks"]
            if not c.get("info_ok"):
                out.append(f"{kind}/{name}: isofuse info failed ({c.get('info_error')})")
            if name == "isofuse" and not c["size_matches_print_size"]:
                out.append(f"{kind}/isofuse: image size != -print-size sectors * 2048")
            if c.get("size_stable") is False or c.get("print_size_stable") is False:
                out.append(f"{kind}/{name}: image size not the same in every run")
    return out


# ---------------------------------------------------------------------------

DESCRIPTION = """\
Compare 'isofuse master' (this checkout) with genisoimage and
'xorriso -as mkisofs', all run as 'TOOL -quiet -R -J ...' on the same two
source trees:

  big    four 512 MiB files of incompressible data (2 GiB)
  small  100,000 small text files, 100 folders x 10 subfolders x 100 files

For each tree and tool it measures, as the median of --repeat runs with the
tools taking turns:

  write to file, cold   '-o FILE' in the work folder, page cache dropped first
  write to file, warm   the same with the tree in the page cache
  write to /dev/null    '-o /dev/null' (no disk writes)
  -print-size           computes the layout only, writes nothing

plus user+sys CPU time and peak RSS of the tool's process (os.wait4).  The
image is deleted after every run.  Cheap checks: the image size equals
the -print-size answer times 2048 (required for isofuse, recorded for the
peers) and 'isofuse info' opens every image.  The table shows
isofuse/genisoimage and isofuse/xorriso ratios and the goals of issue #17;
for every metric lower is better, so a ratio below 1.00x favours isofuse."""


def parse_args(argv):
    p = cli.parser(PROG, DESCRIPTION, """\
A full run takes about
10-20 minutes on 2 cores and needs about 5 GiB free in the work folder.
No timed assertions: it only reports.""")
    cli.add_common(p, quick_help=trees.QUICK_HELP,
                   keep_help="keep the source trees built by this run; later runs with "
                             "the same sizes reuse them (without --keep only trees "
                             "built by this run are deleted)",
                   workdir_help="the trees, images and logs")
    trees.add_options(p, "runs per tool and measurement")
    p.add_argument("--only", choices=["big", "small"], help="measure only one tree")
    p.add_argument("--tools", default=",".join(TOOL_NAMES),
                   help="comma-separated tools (default: isofuse,genisoimage,xorriso)")
    p.add_argument("--no-cold", action="store_true",
                   help="skip the cold-cache file writes")
    cli.add_isofuse_cmd(p, "master")
    args = p.parse_args(argv)
    trees.fill_defaults(args)
    args.tool_names = cli.names_option(args.tools, TOOL_NAMES, "tool", p)
    if args.small_files < 1 or args.big_mib < 1 or args.repeat < 1:
        p.error("sizes and --repeat must be positive")
    return args


def bench(args, ctx, built):
    if not ctx["time_exe"]:
        log("GNU time (/usr/bin/time) not found: peak RSS is ru_maxrss, which starts "
            "at this script's own RSS (apt-get install time)")
    tools = make_tools(args.tool_names, args.isofuse_cmd)
    with_isofuse = any(t.name == "isofuse" for t in tools) and not args.isofuse_cmd
    if with_isofuse:
        compile_isofuse()
    kinds = [args.only] if args.only else ["big", "small"]
    srcs = trees.get_trees(ctx["workdir"], kinds, args.big_mib, args.small_files, built)
    ctx["state"] = {"dropped": True}
    if args.no_cold:
        ctx["state"]["dropped"] = None
    elif not drop_caches():
        ctx["state"]["dropped"] = False
        log("cannot drop the page cache (not root?): 'cold' numbers will be warm")
    ctx["conditions"] = Conditions()
    results = {kind: bench_tree(kind, srcs[kind][0], tools, args, ctx) for kind in kinds}
    names = [t.name for t in tools]
    info = {
        "trees": trees.describe(srcs),
        "tree_paths": {k: v[0] for k, v in srcs.items()},
        "commands": {t.name: t.argv("-o", "OUT", "SRC") for t in tools},
        "repeat": args.repeat,
        "drop_caches": ctx["state"]["dropped"],
        "gnu_time": ctx["time_exe"],
        **ctx["conditions"].facts(),
        "isofuse_import_s": (import_baseline("import isofuse.cli.main, "
                                             "isofuse.cli.master")
                             if with_isofuse else None),
        "goals": report.comparison(metrics_for(kinds), results, names)[2],
        "problems": problems_of(results),
    }
    return report.emit(args.json, {"info": info, "results": results},
                       lambda: render_table(results, names, info),
                       failed=bool(info["problems"]))


def main(argv=None):
    args, workdir = cli.start(PROG, parse_args, argv)
    if workdir is None:
        return 2
    built = []
    ctx = {"workdir": workdir, "logdir": os.path.join(workdir, "logs"),
           "out_paths": set(), "time_exe": gnu_time()}

    def cleanup():
        for path in ctx["out_paths"]:
            with contextlib.suppress(OSError):
                os.unlink(path)
        if not args.keep:
            for path in built:
                trees.remove_tree(path)

    return cli.run_main(PROG, "master-bench", lambda: bench(args, ctx, built), cleanup,
                        "children reaped, partial image removed")
