"""cdrecord's and growisofs' progress lines, for the front ends that read them.

K3b (K3b::CdrecordWriter::slotStdLine) matches
``Track\\s(\\d\\d)\\:\\s*(\\d*)\\sof\\s*(\\d*)\\sMB\\swritten\\s(?:\\(fifo\\s*(\\d*)\\%\\)\\s*)?
(?:\\[buf\\s*(\\d*)\\%\\])?.*`` and takes the track sizes from the ``Track 01: data
N MB`` lines printed before ``Total size:``; Brasero (burn-cdrecord.c)
scans ``Track %2u: %d of %d MB written (fifo %d%%) [buf %d%%] %d.%dx.`` and
``Track %*d: %*s %d MB``.  cdrecord counts MB of 1048576 bytes and ends each
progress line with a carriage return.  isofuse-burn has no fifo of its own
(the source is read as the drive takes it), so the fifo shows 100%.

growisofs: Brasero (plugins/growisofs/burn-growisofs.c
brasero_growisofs_read_stdout) scans ``%10lld/%lld (%4d.%1d%%) @%2d.%1dx,
remaining %*d:%*d`` on standard output; growisofs adds the drive buffer
(RBU) and host buffer (UBU) fill after it.
"""

import sys

from ..progress import Progress

MB = 1048576
CD_FRAMES_PER_SECOND = 75


def track_header(blocks, out=None):
    """The lines cdrecord prints about the track before writing it."""
    out = out or sys.stdout
    size = blocks * 2048
    seconds, frames = divmod(blocks, CD_FRAMES_PER_SECOND)
    out.write(f"Track 01: data  {size // MB:4d} MB        \n"
              f"Total size:     {size // MB:4d} MB ({seconds // 60:02d}:{seconds % 60:02d}."
              f"{frames * 100 // CD_FRAMES_PER_SECOND:02d}) = {blocks} sectors\n")
    out.flush()


class _LineProgress(Progress):
    """Progress whose "written" updates become another program's progress
    lines on standard output (``line``); the other messages go where
    isofuse-burn puts them (standard error)."""

    def __init__(self, device, mode="plain", line_stream=None, **kw):
        super().__init__(device, mode, **kw)
        self.line_stream = line_stream or sys.stdout
        self.written_started = None

    def update(self, done, total, buffer_fill=None, force=False, what="written"):
        if what != "written":
            return super().update(done, total, buffer_fill, force, what)
        now = self.clock()
        if self.written_started is None:
            self.written_started, self.last = now, 0.0
        if not force and now - self.last < self.interval and done < total:
            return None
        self.last = now
        rate = done / max(now - self.written_started, 1e-6)     # bytes per second
        self.line_stream.write(self.line(done, total, rate, buffer_fill))
        self.line_stream.flush()
        return None

    def line(self, done, total, rate, buffer_fill):
        raise NotImplementedError


class CdrecordProgress(_LineProgress):
    """cdrecord's track lines."""

    def __init__(self, device, mode="plain", track_stream=None, **kw):
        super().__init__(device, mode, line_stream=track_stream, **kw)

    def line(self, done, total, rate, buffer_fill):
        speed = rate / 1000 / self.one_x
        buf = 100 if buffer_fill is None else round(buffer_fill * 100)
        end = "\n" if done >= total else "\r"
        return (f"Track 01: {done // MB:4d} of {total // MB:4d} MB written "
                f"(fifo 100%) [buf {buf:3d}%] {speed:5.1f}x.{end}")


class GrowisofsProgress(_LineProgress):
    """growisofs' byte counter lines."""

    def line(self, done, total, rate, buffer_fill):
        left = int((total - done) / rate) if rate > 0 else 0
        pct = 100.0 * done / total if total else 100.0
        buf = 100.0 if buffer_fill is None else buffer_fill * 100
        return (f"{done:10d}/{total} ({pct:4.1f}%) @{rate / 1000 / self.one_x:.1f}x, "
                f"remaining {left // 60}:{left % 60:02d} RBU {buf:5.1f}% UBU 100.0%\n")
