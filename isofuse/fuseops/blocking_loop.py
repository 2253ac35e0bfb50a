"""Serve pyfuse3's request loop without an event loop, for operations that
never await (the stage's: each request runs to completion).

pyfuse3 reaches its event loop through one module object (``pyfuse3.trio``;
``pyfuse3.asyncio.enable()`` swaps in asyncio the same way) and uses only:
``lowlevel.current_trio_token``, ``lowlevel.current_task().name``,
``lowlevel.wait_readable``, ``lowlevel.notify_closing``, ``open_nursery``,
``Lock`` and ``ClosedResourceError``.  Here they are, for one worker task:
waiting for the next request is a blocking poll(2) of /dev/fuse, so the
loop's coroutine never suspends and runs to its end in one ``send`` --
per request no scheduler pass, no epoll registration, no lock handoff
(a third of the daemon's Python time per request under trio, profiled).

After each request the loop keeps asking (poll with no timeout) for
``SPIN_NS`` before it sleeps: a client such as tar sends its next request
a few microseconds after our answer, and a daemon that went to sleep in
between is woken by an interprocessor interrupt, which in a virtual
machine costs more than the request itself.  Measured with tools/bench/
stage's untar on a 2-CPU VM (3 rounds each, ratio to fuse-overlayfs):
no spin 1.25x, 10 us 0.93x, 20 us 0.65x, 50 us 0.69x, 200 us 0.65x.  The
price is at most ``SPIN_NS`` of CPU after a request that no other
follows; an idle mount sleeps.

A signal (SIGINT, SIGTERM, SIGHUP) ends the loop as under trio: its
handler asks pyfuse3 to stop, and the wakeup descriptor Python writes on
any signal ends the poll.  An unmount ends it through pyfuse3 (a read of
/dev/fuse that finds the connection gone).
"""

import contextlib
import os
import select
import signal
import sys
import time
import types

import pyfuse3

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SPIN_NS = 50_000        # how long a request's answer is followed by polling, not sleep


class ClosedResourceError(Exception):
    """The FUSE descriptor is being closed (pyfuse3.terminate)."""


class _Lock:
    """pyfuse3's read lock: one task, nothing to exclude."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False


class _Nursery:
    """Runs the tasks started in it one after the other when the block
    ends (pyfuse3 starts one per worker; with one worker, one)."""

    def __init__(self):
        self._started = []

    async def __aenter__(self):
        return self

    def start_soon(self, func, *args, name=None):
        self._started.append(func(*args))

    async def __aexit__(self, *exc):
        while self._started:
            await self._started.pop(0)
        return False


class BlockingLoop:
    """The stand-in for the trio module inside pyfuse3 while ``run`` serves."""

    ClosedResourceError = ClosedResourceError
    Lock = _Lock

    def __init__(self, spin_ns=SPIN_NS):
        self.spin_ns = spin_ns
        self.lowlevel = self
        self.from_thread = self
        self._closing = False
        self._wake_read = self._wake_write = None
        self._pollers = {}      # fd -> poll object of it and the wakeup pipe
        self._task = types.SimpleNamespace(name="pyfuse3-worker")

    # ---- what pyfuse3 calls --------------------------------------------------------------------
    @staticmethod
    def current_trio_token():
        return "blocking"

    def current_task(self):
        return self._task

    @staticmethod
    def open_nursery():
        return _Nursery()

    def notify_closing(self, fd):
        self._closing = True

    async def wait_readable(self, fd):
        poller = self._pollers.get(fd)
        if poller is None:
            poller = self._pollers[fd] = select.poll()
            poller.register(fd, select.POLLIN)
            poller.register(self._wake_read, select.POLLIN)
        deadline = time.monotonic_ns() + self.spin_ns
        while not self._closing and not poller.poll(0) and time.monotonic_ns() < deadline:
            pass
        while not self._closing:
            for ready, _ in poller.poll():
                if ready == self._wake_read:
                    _drain(self._wake_read)
                elif ready == fd:
                    return
        raise ClosedResourceError()

    # ---- serving ---------------------------------------------------------------------------------
    def run(self, main):
        """Run the coroutine ``main`` (pyfuse3.main(...)) to its end."""
        saved_trio = pyfuse3.trio
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        saved_handlers = {sig: signal.signal(sig, self._stop) for sig in STOP_SIGNALS}
        saved_wakeup = signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        pyfuse3.trio = self
        try:
            return _run_to_end(main)
        finally:
            pyfuse3.trio = saved_trio
            signal.set_wakeup_fd(saved_wakeup)
            for sig, handler in saved_handlers.items():
                signal.signal(sig, handler)
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _stop(self, signum, frame):
        pyfuse3.terminate()     # calls notify_closing: the poll loop ends


def _drain(fd):
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 512):
            pass


def _run_to_end(coroutine):
    """Drive a coroutine that never suspends; one that does is a bug here."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a FUSE operation awaited: it needs an event loop "
                       "(serve it with trio)")


def serve_blocking(main):
    """Run pyfuse3's main loop (the coroutine ``main``) without trio."""
    if sys.platform != "linux":
        raise RuntimeError("the blocking loop polls /dev/fuse (Linux)")
    return BlockingLoop().run(main)
