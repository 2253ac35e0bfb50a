"""The source trees of the mastering benchmarks (tools/bench/master, burn).

  big    four files of incompressible data (default 4 x 512 MiB = 2 GiB)
  small  100,000 small text files in nested folders
         (100 folders x 10 subfolders x 100 files)

Built once in the work folder under names that carry their size and
TREE_VERSION; the description (``TREE.json``) is written last and marks
the tree complete, so both benchmarks reuse one another's trees."""

import contextlib
import json
import os
import random
import shutil
import tempfile
import time

from . import cli
from .common import MiB, log

TREE_VERSION = 1               # bump when the generated trees change
CHUNK = 4 * MiB
SUBDIRS = 10                   # small tree: subfolders per top folder
LEAF_FILES = 100               # small tree: files per subfolder
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
         "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
         "xray", "yankee", "zulu")


def _big_tree(path, per_file):
    rng = random.Random(0xB16F11E5)
    for i in range(4):
        with open(os.path.join(path, f"big{i}.bin"), "wb") as f:
            left = per_file
            while left > 0:
                n = min(left, CHUNK)
                f.write(rng.randbytes(n))
                left -= n
    return {"files": 4, "dirs": 0, "data_bytes": 4 * per_file}


def _leaf(sub, rng, first, where):
    """Up to LEAF_FILES text files in ``sub``; returns (files, bytes)."""
    made = data = 0
    for k in range(LEAF_FILES):
        if made >= where["left"]:
            break
        nwords = rng.randrange(2, 300)
        text = (f"file {first + made} ({where['t']}/{where['s']}/{k})\n"
                + " ".join(rng.choice(WORDS) for _ in range(nwords)) + "\n")
        raw = text.encode()
        with open(os.path.join(sub, f"note-{k:03d}.txt"), "wb") as f:
            f.write(raw)
        made += 1
        data += len(raw)
    return made, data


def _small_tree(path, nfiles):
    rng = random.Random(nfiles * 1009 + 3)
    ntop = -(-nfiles // (SUBDIRS * LEAF_FILES))
    made = data = dirs = 0
    for t in range(ntop):
        top = os.path.join(path, f"dir{t:03d}")
        os.mkdir(top)
        dirs += 1
        for s in range(SUBDIRS):
            if made >= nfiles:
                break
            sub = os.path.join(top, f"sub{s:02d}")
            os.mkdir(sub)
            dirs += 1
            n, b = _leaf(sub, rng, made, {"t": t, "s": s, "left": nfiles - made})
            made += n
            data += b
    return {"files": made, "dirs": dirs, "data_bytes": data}


def get_tree(workdir, kind, param):
    """Return (path, meta, built_now); reuses a complete cached tree."""
    name = f"master-src-{kind}-{param}-t{TREE_VERSION}"
    path = os.path.join(workdir, name)
    meta_path = path + ".json"          # written last: marks the tree complete
    if os.path.isdir(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        log(f"using cached {kind} tree {path}")
        return path, meta, False
    if os.path.exists(path):
        log(f"removing incomplete tree {path}")
        shutil.rmtree(path)
    log(f"building {kind} tree {path} ...")
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=workdir)
    try:
        meta = _big_tree(tmp, param) if kind == "big" else _small_tree(tmp, param)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    meta["kind"] = kind
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    log(f"built {kind} tree in {time.perf_counter() - t0:.1f} s")
    return path, meta, True


def remove_tree(path):
    with contextlib.suppress(OSError):
        os.unlink(path + ".json")
    shutil.rmtree(path, ignore_errors=True)


def get_trees(workdir, kinds, big_mib, small_files, built):
    """{kind: (path, meta)} for the kinds wanted; new trees go into ``built``."""
    trees = {}
    for kind in kinds:
        param = big_mib * MiB if kind == "big" else small_files
        path, meta, new = get_tree(workdir, kind, param)
        if new:
            built.append(path)
        trees[kind] = (path, meta)
    return trees


def describe(trees):
    desc = []
    for kind, (_, m) in trees.items():
        if kind == "big":
            desc.append(f"big = 4 x {m['data_bytes'] / 4 / MiB:.0f} MiB random data")
        else:
            desc.append(f"small = {m['files']} files in {m['dirs']} folders, "
                        f"{m['data_bytes'] / MiB:.1f} MiB of text")
    return "; ".join(desc)


QUICK_HELP = "small sizes for a smoke run (4 x 16 MiB, 2000 files, --repeat 1)"


def add_options(parser, repeat_help):
    """--small-files, --big-mib and --repeat: the trees' sizes, the runs."""
    parser.add_argument("--small-files", type=int, default=None, metavar="N",
                        help="number of small files (default 100000; 2000 with --quick)")
    parser.add_argument("--big-mib", type=int, default=None, metavar="MIB",
                        help="size of each of the four big files (default 512; 16 with "
                             "--quick)")
    parser.add_argument("--repeat", type=int, default=None, metavar="N",
                        help=f"{repeat_help}; the median is shown (default 3)")


def fill_defaults(args):
    cli.defaults(args, {"small_files": 2000, "big_mib": 16, "repeat": 1},
                 {"small_files": 100_000, "big_mib": 512, "repeat": 3})
