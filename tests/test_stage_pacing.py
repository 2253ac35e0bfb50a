"""The pacer of the stage's background model build (isofuse.stage.pacing):
the work waits while other threads of the process are busy, starts when
they are idle, and runs at once when someone needs it (``hurry``).  The
oracle is the kernel's accounting of CPU time per thread; the bounds are
loose (a loaded machine slows every thread)."""

import threading
import time

from isofuse.stage.pacing import QUIET, Pacer


def _paced(pacer, started, worked, pieces=50):
    def run():
        pacer.start()
        started.append(time.monotonic())
        for _ in range(pieces):
            sum(range(20000))        # a piece of work holding the interpreter lock
            pacer.pause_if_busy()
        worked.append(time.monotonic())
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _spin(stop):
    while not stop.is_set():
        sum(range(1000))


def test_the_work_starts_once_the_process_is_idle():
    pacer, started, worked = Pacer(), [], []
    t0 = time.monotonic()
    _paced(pacer, started, worked).join(30)
    assert started and worked
    assert started[0] - t0 >= QUIET * 0.9       # it waited for a quiet moment first


def test_busy_threads_hold_the_work_back_until_hurry():
    pacer, started, worked = Pacer(), [], []
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,))
    spinner.start()
    try:
        thread = _paced(pacer, started, worked)
        time.sleep(0.3)
        assert not started                      # the spinner keeps the process busy
        pacer.hurry()
        thread.join(30)
        assert started and worked               # hurried: it ran beside the spinner
    finally:
        stop.set()
        spinner.join()


def test_pieces_of_work_in_other_threads_are_not_paced():
    pacer = Pacer()
    pacer.start()
    other = []
    thread = threading.Thread(target=lambda: other.append(pacer.pause_if_busy()))
    thread.start()
    thread.join(5)
    assert other == [None]


def test_a_process_kept_busy_still_gets_the_work_done():
    pacer, started, worked = Pacer(), [], []
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,))
    spinner.start()
    try:
        _paced(pacer, started, worked).join(60)
        assert started and worked               # nobody hurried it
    finally:
        stop.set()
        spinner.join()
