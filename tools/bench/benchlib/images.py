"""ISO images of generated trees, built with ``xorriso -as mkisofs -R -J``.

The contents are slices of one deterministic pool, so reads through a mount
can be checked against the generator.  Images are cached in the work folder
under names that carry their parameters and GENERATOR_VERSION, with their
description next to them (``IMAGE.json``, written last)."""

import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
import time

from .common import GiB, MiB, BenchError, Pool, log
from .fusemount import PROBE

GENERATOR_VERSION = 1          # bump when the image contents change
POOL = Pool(0x150F05E, 16 * MiB + 4099)
FILES_PER_DIR = 100


def run_xorriso(src, out, extra=()):
    cmd = ["xorriso", "-as", "mkisofs", "-R", "-J", *extra, "-V", "BENCH", "-o", out, src]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise BenchError("xorriso failed:\n" + proc.stdout[-4000:])


def write_probe(src):
    with open(os.path.join(src, PROBE), "w") as f:
        f.write("isofuse benchmark probe\n")


def big_file_shift(index):
    """Pool offset of big file ``index``: the files differ from each other."""
    return index * 7_654_321 + 12345


def big_file_names(count=4):
    return [f"big{i}.bin" for i in range(count)]


def small_layout(n):
    """Yield (relative path, size, pool offset) for n small files."""
    rng = random.Random(n * 31 + 7)
    ndirs = max(1, math.ceil(n / FILES_PER_DIR))
    levels = max(1, math.ceil(math.log10(ndirs))) if ndirs > 1 else 1
    stems = ["report", "IMG", "notes", "a-rather-long-file-name-for-rock-ridge", "x",
             "Makefile-part", "data.backup"]
    exts = [".txt", ".jpg", ".c", ".html", "", ".json"]
    for i in range(n):
        digits = f"{i // FILES_PER_DIR:0{levels}d}"
        dirs = "/".join(f"d{c}" for c in digits)
        r = rng.random()
        if r < 0.60:
            size = rng.randrange(0, 2048)
        elif r < 0.95:
            size = rng.randrange(2048, 8192)
        else:
            size = rng.randrange(8192, 65536)
        name = f"{rng.choice(stems)}-{i:06d}{rng.choice(exts)}"
        yield f"{dirs}/{name}", size, rng.randrange(0, POOL.size)


def build_big(src, total_bytes):
    """Four files of pool data; returns (meta, extra xorriso options)."""
    per_file = total_bytes // 4
    for i, name in enumerate(big_file_names()):
        POOL.write_file(os.path.join(src, name), big_file_shift(i), per_file)
    extra = ["-iso-level", "3"] if per_file >= 4 * GiB - 2048 else []
    return {"kind": "big", "files": big_file_names(), "total_bytes": per_file * 4,
            "per_file": per_file}, extra


def build_small(src, n):
    """n small files (small_layout) and a few checksums of them."""
    total = count = 0
    samples = []
    made = set()
    for rel, size, off in small_layout(n):
        d = os.path.dirname(rel)
        if d not in made:
            os.makedirs(os.path.join(src, d), exist_ok=True)
            made.add(d)
        data = POOL.slice(off, size)
        with open(os.path.join(src, rel), "wb") as f:
            f.write(data)
        total += size
        count += 1
        if count % max(1, n // 20) == 1 and len(samples) < 25:
            samples.append([rel, hashlib.sha256(data).hexdigest()])
    return {"kind": "small", "files": count + 1, "total_bytes": total + 24,
            "dirs": len(made), "samples": samples}, []


def get_image(workdir, name, build, param):
    """(path, meta, built_now) of ``name``-``param``; reuses a cached image.

    ``build(src, param)`` fills an empty folder and returns (meta, extra
    xorriso options); the probe file is added for the mount check."""
    path = os.path.join(workdir, f"{name}-{param}-g{GENERATOR_VERSION}.iso")
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        log(f"using cached image {path}")
        return path, meta, False
    log(f"building {name} image {path} ...")
    t0 = time.perf_counter()
    src = tempfile.mkdtemp(prefix=f"src-{name}-", dir=workdir)
    tmp = path + f".tmp{os.getpid()}"
    try:
        write_probe(src)
        meta, extra = build(src, param)
        meta["generator"] = GENERATOR_VERSION
        run_xorriso(src, tmp, extra)
        meta["image_bytes"] = os.path.getsize(tmp)
        os.rename(tmp, path)
    finally:
        shutil.rmtree(src, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    log(f"built {os.path.basename(path)} ({meta['image_bytes'] / MiB:.0f} MiB) in "
        f"{time.perf_counter() - t0:.1f} s")
    return path, meta, True


def remove_image(path):
    for p in (path, path + ".json"):
        with contextlib.suppress(OSError):
            os.unlink(p)
