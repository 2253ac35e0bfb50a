"""Requests first: pacing work done in a background thread of the daemon.

The model of the disc is built in a thread of its own while the mount
answers requests, but both run Python under one interpreter lock: a
request that waits for the lock while the builder holds it waits up to
the switch interval (5 ms) after every system call it makes, and listing
a fresh mount took twice as long.  So the builder looks, between small
pieces of work, at how much CPU time the other threads of the process
used since it last looked; while they are busy it sleeps (releasing the
lock) until they are idle.  It also starts only once they have been idle
for a moment (a mount is busiest right after it returns: ``ls`` of what
was just mounted).  A caller that needs the result (``hurry``) lets it
start and run at full speed from then on (docs/stage-model-memory.md).
"""

import threading
import time

LOOK_EVERY = 0.002      # seconds of work between looks
NAP = 0.004             # seconds slept while the others are busy
BUSY_SHARE = 0.05       # the others' share of the time that counts as busy
# At most this long without working (a mount kept busy for minutes still
# gets its model built, at a few per cent of the time).
LONGEST_PAUSE = 0.1
QUIET = 0.03            # seconds the others are idle before the work starts
LONGEST_START = 1.0     # ... or at most this long after start() (then paced as usual)


class Pacer:
    def __init__(self):
        self._thread = None
        self._mark = (0.0, 0.0)
        self._hurried = threading.Event()

    def start(self):
        """Pace the calling thread from now on: return once the other
        threads have been idle for QUIET seconds, ``hurry`` was called,
        or LONGEST_START seconds have passed."""
        self._thread = threading.current_thread()
        deadline = time.monotonic() + LONGEST_START
        while True:
            wall, others = self._look()
            if self._hurried.wait(QUIET):
                break
            now, used = self._look()
            if used - others <= BUSY_SHARE * (now - wall) or now >= deadline:
                break
        self._mark = self._look()

    def hurry(self):
        """Someone waits for the work: no more pauses."""
        self._thread = None
        self._hurried.set()

    @staticmethod
    def _look():
        # process time minus this thread's: what the other threads used
        return time.monotonic(), time.process_time() - time.thread_time()

    def pause_if_busy(self):
        """Called between pieces of work (cheap when not time to look)."""
        if self._thread is None or threading.current_thread() is not self._thread:
            return
        wall, others = self._mark
        now = time.monotonic()
        if now - wall < LOOK_EVERY:
            return
        paused = 0.0
        while True:
            now, used = self._look()
            busy = used - others > BUSY_SHARE * (now - wall)
            wall, others = now, used
            if not busy or paused >= LONGEST_PAUSE or self._thread is None:
                break
            time.sleep(NAP)
            paused += NAP
        self._mark = (wall, others)
