"""Replay tar -xf's FUSE requests straight into ``StageOperations``, without
a kernel: what the stage's Python costs per untarred file, alone.

The sequence per file is the one counted on the mounted bench
(docs/stage-requests.md): LOOKUP of the new name, CREATE, GETATTR of the
folder, then per 10 KiB record of tar a WRITE (preceded by a GETXATTR
``security.capability`` unless the create answered with direct I/O),
then futimens, the mode refresh (GETATTR) and probe before
fchown, fchown, fchmod (SETATTR through the open handle), RELEASE.
Folders: LOOKUP, MKDIR, and their times at the end.  The files are this
checkout's isofuse/ and tests/, copied until ~``--files``, as the bench's
tarball is.

The stage's operations never await (``NEVER_AWAITS``), so one
``send(None)`` runs each coroutine to its end, as ``fuseops.blocking_loop``
does under a mount.

    python3 tools/bench/benchlib/stage_replay.py [--files 3000] [--profile]
"""

import argparse
import cProfile
import os
import pstats
import shutil
import stat
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))      # tools/bench: benchlib as a package
from benchlib.stage_bench import tarball_sources  # noqa: E402 (needs the path above)
RECORD = 10240                  # tar's default record: one write(2) each
CAPABILITY = b"security.capability"
UPDATES = ("size", "mode", "uid", "gid", "atime", "mtime")


def sources(repo, want):
    """(relative path, size) of the repo's isofuse/ and tests/ files,
    copied under copyNN/ until about ``want`` files."""
    files = [(os.path.relpath(full, repo), os.path.getsize(full))
             for full in tarball_sources(repo)]
    copies = max(1, min(50, round(want / len(files))))
    return [(f"tree/copy{c:02d}/{rel}", size) for c in range(copies) for rel, size in files]


def run(coroutine):
    """Drive one operation that never awaits; FUSEError is its answer."""
    import pyfuse3
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    except pyfuse3.FUSEError:
        return None
    raise RuntimeError("the operation awaited")


class Replay:
    def __init__(self, ops, ctx):
        self.ops, self.ctx = ops, ctx
        self.dirs = {"": 1}
        import pyfuse3
        self.EntryAttributes = pyfuse3.EntryAttributes

    def folder(self, path):
        ino = self.dirs.get(path)
        if ino is None:
            parent, _, name = path.rpartition("/")
            pino = self.folder(parent)
            bname = os.fsencode(name)
            run(self.ops.lookup(pino, bname, self.ctx))
            ino = self.dirs[path] = run(self.ops.mkdir(pino, bname, stat.S_IFDIR | 0o755,
                                                       self.ctx)).st_ino
            run(self.ops.getattr(pino, self.ctx))
        return ino

    def setattr(self, ino, fh, **fields):
        attr = self.EntryAttributes()
        f = types.SimpleNamespace(**{"update_" + n: False for n in UPDATES})
        for name, value in fields.items():
            setattr(attr, "st_" + name, value)
            setattr(f, "update_" + name.replace("_ns", ""), True)
        return run(self.ops.setattr(ino, attr, f, fh, self.ctx))

    def file(self, path, size, data):
        ops, ctx = self.ops, self.ctx
        parent, _, name = path.rpartition("/")
        pino = self.folder(parent)
        bname = os.fsencode(name)
        run(ops.lookup(pino, bname, ctx))
        info, attr = run(ops.create(pino, bname, stat.S_IFREG | 0o644,
                                    os.O_WRONLY | os.O_CREAT | os.O_EXCL, ctx))
        ino, fh = attr.st_ino, info.fh
        run(ops.getattr(pino, ctx))
        direct = getattr(info, "direct_io", False)
        for off in range(0, size, RECORD):
            if not direct:      # a page-cache write probes first; a direct one does not
                run(ops.getxattr(ino, CAPABILITY, ctx))
            run(ops.write(fh, off, data[:min(RECORD, size - off)]))
        now = time.time_ns()
        self.setattr(ino, fh, atime_ns=now, mtime_ns=now)
        run(ops.getattr(ino, ctx))
        run(ops.getxattr(ino, CAPABILITY, ctx))
        self.setattr(ino, fh, uid=0, gid=0)
        self.setattr(ino, fh, mode=stat.S_IFREG | 0o644)
        run(ops.release(fh))


def build(upper, src):
    sys.path.insert(0, src)
    from isofuse.cli.stage import parse_options
    from isofuse.fuseops.stage_ops import StageOperations
    from isofuse.stage.disc import Disc
    from isofuse.stage.overlay import Overlay
    profile, _ = parse_options([])
    overlay = Overlay(upper, [])
    disc = Disc(overlay, profile)
    ops = StageOperations(overlay, disc)
    ops.init()
    disc.wait()
    return ops, overlay


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="cProfile, top 35 by tottime")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", default=REPO,
                        help="the folder holding the isofuse package to replay into "
                             "(an export of an older commit, to compare)")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--dir", default="/dev/shm",
                        help="where the upper folder goes (tmpfs: the system calls stay "
                             "cheap and steady, the stage's own Python is what is left)")
    args = parser.parse_args(argv)
    files = sources(REPO, args.files)
    data = b"x" * RECORD
    ctx = types.SimpleNamespace(uid=0, gid=0, umask=0o022, pid=os.getpid())
    best = None
    for _ in range(args.repeat):
        work = tempfile.mkdtemp(prefix="stage-replay-", dir=args.dir)
        try:
            ops, overlay = build(work, args.src)
            replay = Replay(ops, ctx)
            profiler = cProfile.Profile() if args.profile else None
            t0, c0 = time.perf_counter(), os.times()
            if profiler:
                profiler.enable()
            for path, size in files:
                replay.file(path, size, data)
            if profiler:
                profiler.disable()
            took, c1 = time.perf_counter() - t0, os.times()
            user, system = c1.user - c0.user, c1.system - c0.system
            overlay.close()
        finally:
            shutil.rmtree(work)
        best = user if best is None else min(best, user)
        print(f"{len(files)} files: {took:.3f} s, {took / len(files) * 1e6:.1f} us a file "
              f"(user {user / len(files) * 1e6:.1f}, system {system / len(files) * 1e6:.1f})",
              flush=True)
        if profiler:
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
            break
    print(f"best: {best / len(files) * 1e6:.1f} us of user CPU a file (the stage's Python)")


if __name__ == "__main__":
    main()
