"""How `isofuse stage` serves its requests (``fuseops.blocking_loop``: no
event loop, one request after the other): a signal or an aborted
connection still ends the daemon cleanly, as the kernel sees it (the
mount table, /sys/fs/fuse/connections), and what was written stays in the
upper folder; tar's stream of requests gives what tar gives a plain
folder."""

import os
import select
import signal
import subprocess
import tarfile
import threading
import types

import pytest

from isofuse.fuseops.blocking_loop import BlockingLoop, ClosedResourceError, _run_to_end
from isofuse.fuseops.fusectl import CONNECTIONS, connection_number
from mountutil import daemon_log, is_mounted, staged, unexpected_daemon_log

pytestmark = pytest.mark.mount


def test_a_coroutine_that_never_suspends_runs_to_its_end():
    async def answer():
        return 42
    assert _run_to_end(answer()) == 42


def test_an_operation_that_awaits_is_refused_not_hung():
    @types.coroutine
    def suspend():
        yield "an event loop's trap"

    async def needs_a_loop():
        await suspend()
    with pytest.raises(RuntimeError, match="needs an event loop"):
        _run_to_end(needs_a_loop())


def _wait_for(loop, fd):
    """``loop.wait_readable(fd)`` served as the stage serves (BlockingLoop.run)."""
    async def wait():
        await loop.wait_readable(fd)
    return loop.run(wait())


@pytest.mark.parametrize("spin_ns", [0, 50_000, 200_000_000])
def test_waiting_for_a_request_returns_once_it_is_there(spin_ns):
    """Whether the request comes during the spin (200 ms) or after it
    (none, 50 us): the wait returns with the request there, not before;
    one already there ends the wait at once (a watchdog that would end it
    by closing never fires)."""
    loop = BlockingLoop(spin_ns=spin_ns)
    request_r, request_w = os.pipe()
    try:
        timer = threading.Timer(0.05, os.write, (request_w, b"r"))
        timer.start()
        _wait_for(loop, request_r)
        assert select.select([request_r], [], [], 0)[0] == [request_r]
        timer.join()
        assert os.read(request_r, 1) == b"r"
        os.write(request_w, b"s")
        watchdog = threading.Timer(10, loop.notify_closing, (request_r,))
        watchdog.start()
        try:
            _wait_for(loop, request_r)
        finally:
            watchdog.cancel()
        assert os.read(request_r, 1) == b"s"
    finally:
        os.close(request_r)
        os.close(request_w)


def test_closing_ends_a_wait_that_spins():
    loop = BlockingLoop(spin_ns=200_000_000)
    request_r, request_w = os.pipe()
    try:
        closer = threading.Timer(0.02, loop.notify_closing, (request_r,))
        closer.start()
        with pytest.raises(ClosedResourceError):
            _wait_for(loop, request_r)
        closer.join()
    finally:
        os.close(request_r)
        os.close(request_w)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_ends_the_daemon_and_unmounts(tmp_path, signum):
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt) as proc:
        (mnt / "kept.txt").write_bytes(b"through the stage\n")
        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 0
        assert not is_mounted(mnt)
    assert (upper / "kept.txt").read_bytes() == b"through the stage\n"


def test_an_aborted_connection_ends_the_daemon_without_a_traceback(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("aborting a FUSE connection needs root")
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt) as proc:
        (mnt / "a.txt").write_bytes(b"x")
        number = connection_number(str(mnt))
        assert number is not None
        with open(f"{CONNECTIONS}/{number}/abort", "w") as f:
            f.write("1")
        assert proc.wait(timeout=20) == 0
        assert not is_mounted(mnt)          # the daemon unmounted on its way out
    assert not unexpected_daemon_log(daemon_log(mnt))
    assert (upper / "a.txt").read_bytes() == b"x"


def test_tar_extracts_what_a_plain_folder_holds(tmp_path):
    """Many requests one after the other (tar sets owner, mode and times of
    each file through its descriptor): the same tree as tar into a folder."""
    source = tmp_path / "source"
    for d in range(4):
        (source / f"d{d}").mkdir(parents=True)
        for i in range(40):
            path = source / f"d{d}" / f"f{i}.txt"
            path.write_bytes(os.urandom(100 + 997 * i))
            os.chmod(path, 0o600 + i % 8)
            os.utime(path, ns=(1_000_000_000 * (i + 1), 2_000_000_000 * (i + 1)))
    archive = tmp_path / "t.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(source, arcname=".")
    folder, upper, mnt = tmp_path / "folder", tmp_path / "upper", tmp_path / "mnt"
    folder.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(folder)], check=True)
    with staged(upper, mnt):
        subprocess.run(["tar", "-xf", str(archive), "-C", str(mnt)], check=True)
        through_mount = _tree(mnt)
    assert through_mount == _tree(folder)
    assert _tree(upper) == _tree(folder)


def _tree(root):
    rows = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            with open(path, "rb") if os.path.isfile(path) else open(os.devnull, "rb") as f:
                data = f.read()
            rows.append((os.path.relpath(path, root), st.st_mode, st.st_size,
                         st.st_mtime_ns if os.path.isfile(path) else None, data))
    return sorted(rows)


def test_cp_and_rsync_write_what_they_read(tmp_path):
    """Their creates are write-only (direct I/O): data, a sparse file's
    holes and an empty file arrive as in the source, and read back through
    the mount and from the upper folder alike."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "empty").write_bytes(b"")
    (source / "odd.bin").write_bytes(os.urandom(3 * 65536 + 7))
    with open(source / "sparse.bin", "wb") as f:
        f.write(b"head")
        f.seek(8 << 20)
        f.write(b"tail")
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt):
        subprocess.run(["cp", "-a", str(source), str(mnt / "cp")], check=True)
        subprocess.run(["rsync", "-a", str(source) + "/", str(mnt / "rsync")], check=True)
        for copy in ("cp", "rsync"):
            for name in ("empty", "odd.bin", "sparse.bin"):
                want = (source / name).read_bytes()
                assert (mnt / copy / name).read_bytes() == want, (copy, name)
                assert (upper / copy / name).read_bytes() == want, (copy, name)
