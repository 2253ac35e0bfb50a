"""py-spy on an isofuse daemon, and a summary of what it sampled.

py-spy (``pip install py-spy``) writes "raw" (collapsed) stacks: one line a
stack, frames joined by ";", the sample count last."""

import contextlib
import os
import shutil
import signal
import subprocess
import time

from .common import log

RATE = 250                     # samples a second


def short_frame(frame):
    """'func (path/to/isofuse/x/y.py:123)' -> 'func (isofuse/x/y.py)'."""
    name, sep, where = frame.partition(" (")
    if not sep:
        return frame
    filename = where.rstrip(")").rsplit(":", 1)[0]
    parts = filename.split("/")
    if "isofuse" in parts:
        parts = parts[parts.index("isofuse"):]
        return f"{name} ({'/'.join(parts)})"
    return f"{name} ({parts[-1]})"


def isofuse_work(frame):
    """isofuse's own request-handling code: the CLI and the session's serve
    loop are in every sample and say nothing."""
    return ("isofuse/" in frame and "isofuse/cli/" not in frame
            and not frame.startswith("serve ("))


def summarise(path, seconds, rate=RATE, top=12):
    """Top frames by self samples, and by total samples in isofuse's code."""
    self_count, total_count = {}, {}
    samples = in_isofuse = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            try:
                n = int(n)
            except ValueError:
                continue
            frames = [fr for fr in stack.split(";")
                      if fr and not fr.startswith(("thread ", "process "))]
            if not frames:
                continue
            samples += n
            leaf = short_frame(frames[-1]) or "<native/unknown>"
            self_count[leaf] = self_count.get(leaf, 0) + n
            ours = {short_frame(fr) for fr in frames if isofuse_work(fr)}
            in_isofuse += bool(ours) * n
            for fr in ours:
                total_count[fr] = total_count.get(fr, 0) + n

    def best(d):
        return [[fr, round(100.0 * c / samples, 1)]
                for fr, c in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"file": path, "samples": samples, "seconds": round(seconds, 2),
            "busy_fraction": round(samples / (seconds * rate), 2) if seconds else None,
            "isofuse_code_pct": round(100.0 * in_isofuse / samples, 1) if samples else None,
            "top_self_pct": best(self_count) if samples else [],
            "top_total_isofuse_pct": best(total_count) if samples else []}


def render(label, s):
    return "\n".join([
        f"py-spy, isofuse daemon, {label}: {s['samples']} samples over "
        f"{s['seconds']:.1f} s, daemon busy ~{(s['busy_fraction'] or 0):.0%} of one core, "
        f"{s['isofuse_code_pct']}% of the samples inside isofuse code ({s['file']})",
        "  top self:  " + "; ".join(f"{fr} {x}%" for fr, x in s["top_self_pct"][:8]),
        "  top total (isofuse code): " + "; ".join(
            f"{fr} {x}%" for fr, x in s["top_total_isofuse_pct"][:8])])


def find_pyspy():
    exe = shutil.which("py-spy")
    if not exe:
        log("py-spy not found (pip install py-spy): no profile")
    return exe


class Recorder:
    """py-spy on daemons: ``attach`` to a running one (its work only), or
    ``wrap`` its argv (start-up and mounting included).  The raw outputs
    and the seconds they cover collect in ``outputs``."""

    def __init__(self, pyspy, outdir, stem):
        self.pyspy, self.outdir, self.stem = pyspy, outdir, stem
        self.outputs = []           # (path, seconds or None)
        os.makedirs(outdir, exist_ok=True)

    def _out(self):
        return os.path.join(self.outdir, f"{self.stem}-{len(self.outputs)}.txt")

    def _base(self, out):
        return [self.pyspy, "record", "--format", "raw", "--rate", str(RATE),
                "--nonblocking", "--output", out]

    def wrap(self, argv):
        out = self._out()
        self.outputs.append((out, None))
        return [*self._base(out), "--", *argv]

    def attach(self, pid):
        out = self._out()
        spy = subprocess.Popen([*self._base(out), "--pid", str(pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)             # let py-spy attach
        return spy, out, time.perf_counter()

    def detach(self, handle):
        spy, out, t0 = handle
        seconds = time.perf_counter() - t0
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
        self.outputs.append((out, seconds))

    def merge(self, wall):
        """One file of all outputs, summarised; wrapped daemons are sampled
        over their whole life, so ``wall`` stands in for their seconds."""
        merged = os.path.join(self.outdir, f"{self.stem}.txt")
        seconds = 0.0
        with open(merged, "w") as w:
            for out, s in self.outputs:
                seconds += s or 0.0
                with contextlib.suppress(OSError):
                    with open(out) as f:
                        w.write(f.read())
                    os.unlink(out)
        return summarise(merged, seconds or wall)

