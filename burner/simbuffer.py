"""The simulated drive's write buffer and its burn-free behaviour.

The buffer (2 MiB) fills at the speed the host sends and empties at the
throttled write speed.  The laser starts once the buffer is full (or at
SYNCHRONIZE CACHE); from then on, a host slower than the drive lets the
buffer run dry.  With buffer-underrun protection (page 05h BUFE on CD and
DVD-R, always on DVD+R and BD-R, whose drives link losslessly) the drive
pauses and resumes, and the event is counted; without it the WRITE ends in
3/0C/09 and the track is ruined (MMC-6 §4.2.4.6 / §7.5.4.2 BUFE).
"""

import time

BUFFER_BYTES = 2 << 20
# A drive that empties its buffer this much sooner than the next data arrives
# has run dry; the slack keeps scheduler jitter from counting as a stall.
STARVE_SLACK_S = 0.002


class DriveBuffer:
    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self.clock, self.sleep = clock, sleep
        self.pending = 0.0          # bytes held
        self.last = clock()
        self.burning = False        # the laser is writing (buffer draining)
        self.ran_dry = False        # it stopped for want of data since the last WRITE

    def _drain(self, rate, now):
        """Empty the buffer for the time since the last call; a buffer that
        ran dry while burning stops the laser (``ran_dry``)."""
        if self.burning:
            emptied_at = self.last + self.pending / rate
            if now - emptied_at > STARVE_SLACK_S:
                self.ran_dry, self.burning = True, False
            self.pending = max(0.0, self.pending - (now - self.last) * rate)
        self.last = now

    def accept(self, incoming, rate):
        """Take ``incoming`` bytes; a full buffer makes the host wait (that is
        the throttle).  Returns True if the buffer had run dry before them."""
        now = self.clock()
        if not rate:
            self.pending, self.last, self.burning = 0.0, now, False
            return False
        self._drain(rate, now)
        starved, self.ran_dry = self.ran_dry, False
        over = self.pending + incoming - BUFFER_BYTES
        if over > 0:
            self.burning = True
            self.sleep(over / rate)
            # the buffer drained for as long as the sleep really took
            # (sleeps overshoot; counting only ``over`` would slow the drive)
            after = self.clock()
            self.pending = max(0.0, self.pending - (after - now) * rate)
            self.last = after
        self.pending += incoming
        if self.pending >= BUFFER_BYTES:
            self.burning = True
        return starved

    def flush(self, rate):
        """SYNCHRONIZE CACHE: everything held is written before the answer."""
        now = self.clock()
        if rate:
            self._drain(rate, now)
            if self.pending:
                self.sleep(self.pending / rate)
        self.pending, self.last, self.burning, self.ran_dry = 0.0, self.clock(), False, False

    def lose(self):
        """A reset: what was held never reaches the disc.  Returns the
        number of whole sectors lost."""
        lost = int(self.pending) // 2048
        self.pending, self.burning = 0.0, False
        return lost

    def free(self, rate):
        if rate:
            self._drain(rate, self.clock())
        return int(BUFFER_BYTES - self.pending)
