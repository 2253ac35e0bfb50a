"""Progress reports: a live line on a terminal, plain lines otherwise, JSON
lines with --json.  One reporter per device (parallel burns each get one)."""

import json
import sys
import threading
import time

_lock = threading.Lock()     # parallel burns share stderr/stdout


def _eta(seconds):
    if seconds is None or seconds != seconds or seconds > 360000:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """mode: "tty", "plain", "json" or "quiet"."""

    def __init__(self, device, mode="plain", stream=None, one_x_kbs=176.4,
                 clock=time.monotonic, interval=None):
        self.device = device
        self.mode = mode
        self.stream = stream or (sys.stdout if mode == "json" else sys.stderr)
        self.one_x = one_x_kbs
        self.clock = clock
        self.interval = interval if interval is not None else (0.25 if mode == "tty" else 5.0)
        self.started = None
        self.last = 0.0
        self.live = False

    def _emit(self, text, record):
        with _lock:
            if self.mode == "json":
                record = dict(record, device=self.device)
                self.stream.write(json.dumps(record) + "\n")
            elif self.mode == "tty":
                self.stream.write(("\r" + text + "\033[K") if record.get("event") == "progress"
                                  else (("\n" if self.live else "") + text + "\n"))
                self.live = record.get("event") == "progress"
            elif self.mode == "plain":
                self.stream.write(text + "\n")
            self.stream.flush()

    def message(self, text, event="info", **extra):
        self._emit(f"{self.device}: {text}", dict(event=event, message=text, **extra))

    def phase(self, name, text=None):
        self._emit(f"{self.device}: {text or name}", {"event": "phase", "phase": name,
                                                       "message": text or name})

    def set_medium(self, one_x_kbs):
        self.one_x = one_x_kbs

    def update(self, done, total, buffer_fill=None, force=False, what="written"):
        now = self.clock()
        if self.started is None or what != getattr(self, "_what", what):
            self.started, self.last, self._what, self._reported = now, 0.0, what, None
        self._what = what
        if not force and now - self.last < self.interval and done < total:
            return
        if done == getattr(self, "_reported", None):
            return                         # the same line twice says nothing new
        self._reported = done
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        speed_x = rate / 1000 / self.one_x if elapsed > 0.2 or done >= total else 0.0
        eta = (total - done) / rate if rate > 0 else None
        buf = "" if buffer_fill is None else f"  buffer {buffer_fill * 100:3.0f}%"
        pct = 100.0 * done / total if total else 100.0
        text = (f"{self.device}: {done / 1e6:8.1f} of {total / 1e6:.1f} MB {what} ({pct:5.1f}%)"
                f"  {speed_x:5.1f}x{buf}  ETA {_eta(eta)}")
        self._emit(text, {"event": "progress", "what": what, "bytes": done, "total": total,
                          "speed_x": round(speed_x, 2), "bytes_per_second": round(rate),
                          "buffer": None if buffer_fill is None else round(buffer_fill, 3),
                          "eta_seconds": None if eta is None else round(eta, 1)})

    def fraction(self, what, value):
        """Progress of blanking/formatting (the drive reports a fraction)."""
        now = self.clock()
        if now - self.last < self.interval and value < 1.0:
            return
        self.last = now
        self._emit(f"{self.device}: {what} {value * 100:5.1f}%",
                   {"event": "progress", "what": what, "fraction": round(value, 4)})

    def result(self, ok, text, code=0, **extra):
        self._emit(f"{self.device}: {text}", dict(event="result", ok=ok, message=text,
                                                   exit_status=code, **extra))
