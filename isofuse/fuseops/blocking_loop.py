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

Waiting costs no system call when reads of /dev/fuse block (as libfuse
opens it): pyfuse3's own read(2), made without the GIL, is the wait, and
a poll(2) before each request (one a request, 14 a file of tar -xf) would
only say what the read finds out anyway.  A descriptor opened
non-blocking is polled, with the wakeup pipe.

A signal (SIGINT, SIGTERM, SIGHUP) ends the loop as under trio: its
handler asks pyfuse3 to stop.  Polling, the wakeup descriptor Python
writes on any signal ends the poll.  Reading, the signal interrupts the
read (EINTR: Python's handlers are installed without SA_RESTART) and
pyfuse3 comes back for the next request, where the loop ends; a signal
that lands after the last check and before the read would leave it
blocked until the next request, so a watcher thread (the stop signals
blocked in it, so they reach the serving thread) reads the wakeup pipe
and, after a stop signal, sends it to the serving thread again every
50 ms until the loop has ended.  An unmount ends the loop through
pyfuse3 (a read of /dev/fuse that finds the connection gone).
"""

import contextlib
import os
import select
import signal
import sys
import threading
import types

import pyfuse3

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RESEND_EVERY = 0.05     # seconds between two tries to end a blocked read


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

    def __init__(self):
        self.lowlevel = self
        self.from_thread = self
        self._closing = False
        self._wake_read = self._wake_write = None
        self._pollers = {}      # fd -> poll object of it and the wakeup pipe
        self._reads_block = {}  # fd -> its reads block (pyfuse3's read is the wait)
        self._watcher = None    # the thread that makes sure a stop signal ends a read
        self._ended = threading.Event()
        self._serving_thread = None
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
        if self._closing:
            raise ClosedResourceError()
        blocks = self._reads_block.get(fd)
        if blocks is None:
            blocks = self._reads_block[fd] = os.get_blocking(fd)
            if blocks:
                self._start_watcher()
        if blocks:
            return      # pyfuse3's read waits, without the GIL
        poller = self._pollers.get(fd)
        if poller is None:
            poller = self._pollers[fd] = select.poll()
            poller.register(fd, select.POLLIN)
            poller.register(self._wake_read, select.POLLIN)
        while not self._closing:
            for ready, _ in poller.poll():
                if ready == self._wake_read:
                    _drain(self._wake_read)
                elif ready == fd:
                    return
        raise ClosedResourceError()

    # ---- the watcher of blocking reads ----------------------------------------------------------
    def _start_watcher(self):
        os.set_blocking(self._wake_read, True)     # the watcher's end only
        self._watcher = threading.Thread(target=self._watch, name="isofuse-signal-watcher",
                                         daemon=True)
        self._watcher.start()

    def _watch(self):
        """Read the wakeup pipe (the signal numbers Python's handler
        writes); after a stop signal, send it to the serving thread again
        until the loop has ended (see the module's docstring)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        stops = {int(sig) for sig in STOP_SIGNALS}
        while True:
            try:
                received = os.read(self._wake_read, 64)
            except OSError:
                return
            if not received:
                return      # the write end is closed: serving is over
            stop = next((number for number in received if number in stops), None)
            while stop is not None and not self._ended.wait(RESEND_EVERY):
                signal.pthread_kill(self._serving_thread, stop)

    # ---- serving ---------------------------------------------------------------------------------
    def run(self, main):
        """Run the coroutine ``main`` (pyfuse3.main(...)) to its end."""
        saved_trio = pyfuse3.trio
        self._serving_thread = threading.get_ident()
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        saved_handlers = {sig: signal.signal(sig, self._stop) for sig in STOP_SIGNALS}
        saved_wakeup = signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        pyfuse3.trio = self
        try:
            return _run_to_end(main)
        finally:
            pyfuse3.trio = saved_trio
            self._ended.set()
            signal.set_wakeup_fd(saved_wakeup)
            os.close(self._wake_write)      # the watcher reads to the end and returns
            if self._watcher is not None:
                # before the old handlers are back: a signal it sent last is
                # still handled by _stop
                self._watcher.join()
            for sig, handler in saved_handlers.items():
                signal.signal(sig, handler)
            os.close(self._wake_read)

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
