"""A second process that writes an image's file data while this one encodes
its metadata (``isofuse master -o FILE``: both are interpreter work, and a
machine has more than one core).

The child is forked as soon as the source tree is scanned, and it plans
the same layout itself: planning is deterministic, and after a fork the
two processes even share the addresses the layout's hash tables are keyed
by.  Neither process then touches objects the other made, so the kernel
copies no page on write (forking after planning made both processes copy
most of the layout's pages, 0.1-0.2 s each for 100,000 files).  The child
checks that its layout matches the parent's before it writes a byte; if it
does not, or the child disappears, the parent writes the data itself.

Protocol over a socket pair: the parent sends (start of the image in the
output, metadata sectors, total sectors, output is a regular file) with the
output's file descriptor attached; the child answers with one message: K
(done), S + text (a source file changed), O + errno, L (its layout differs),
I (interrupted).  A closed socket without a descriptor cancels the child.
"""

import os
import signal
import socket
import stat
import struct

from .stream import SourceChanged

_HANDOVER = struct.Struct("<qqq?")


def takes_positional_writes(fd):
    """Whether an output can be written at offsets by two processes: a
    regular file, a block device (a USB stick), or /dev/null -- not a pipe,
    socket, terminal or tape.  An fd opened for appending cannot."""
    import fcntl
    out_stat = os.fstat(fd)
    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
        return False
    mode = out_stat.st_mode
    if stat.S_ISREG(mode) or stat.S_ISBLK(mode):
        return True
    return stat.S_ISCHR(mode) and out_stat.st_rdev == os.makedev(1, 3)  # /dev/null


def room_for_a_second_plan():
    """Whether the machine has memory for a second copy of what this
    process holds (the child's own layout); otherwise fork after planning,
    sharing the pages."""
    try:
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f
                             if line.startswith("MemAvailable:"))
        with open("/proc/self/statm") as f:
            resident = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, StopIteration, ValueError):
        return False
    # the layout takes about as much again as the scanned tree
    return available > 4 * resident


class DataWriter:
    """The child process; use as a context manager around planning and
    writing (leaving it cancels a child that got no work).

    ``plan`` is called in the child and returns its layout (it must not
    print: warnings are the parent's).  ``progress(done, total)`` is called
    in the child as the data is written.
    """

    def __init__(self, plan, progress=None):
        self._sock, child_end = socket.socketpair()
        self._pid = os.fork()
        if self._pid == 0:
            status = 2
            try:
                self._sock.close()
                status = _serve(plan, child_end, progress)
            finally:
                os._exit(status)
        child_end.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self, answered=False):
        """Reap the child: one that answered is exiting by itself; any
        other (still planning, waiting for work, or writing when this
        process was interrupted) is stopped."""
        if self._pid is None:
            return
        self._sock.close()
        try:
            if not answered:
                os.kill(self._pid, signal.SIGTERM)
            os.waitpid(self._pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass
        self._pid = None

    def write(self, stream, out_fd, out_is_file):
        """Write ``stream`` (an ImageStream) to ``out_fd`` from its current
        position: the metadata from here, the file data from the child.
        Raises SourceChanged or OSError as a sequential write would; leaves
        the position at the end of the image."""
        layout = stream.layout
        base = os.lseek(out_fd, 0, os.SEEK_CUR)
        try:
            socket.send_fds(self._sock, [_HANDOVER.pack(base, layout.metadata_sectors,
                                                         layout.total_sectors, out_is_file)],
                            [out_fd])
        except OSError:
            pass                    # the child is gone: the reply is empty
        metadata = stream.metadata
        written = 0
        while written < len(metadata):
            written += os.pwrite(out_fd, memoryview(metadata)[written:], base + written)
        reply = _receive_all(self._sock)
        self.close(answered=True)
        if reply in (b"L", b""):
            # the child's layout differed, or it died: write the data here
            os.lseek(out_fd, base + stream.metadata_length, os.SEEK_SET)
            stream.write_data(out_fd, out_is_file, None)
        elif reply.startswith(b"S"):
            raise SourceChanged(reply[1:].decode())
        elif reply.startswith(b"O"):
            code = int(reply[1:])
            raise OSError(code, os.strerror(code))
        elif reply != b"K":
            raise SourceChanged("writing the file data stopped")
        if out_is_file:
            os.ftruncate(out_fd, base + stream.size)
        os.lseek(out_fd, base + stream.size, os.SEEK_SET)


def _receive_all(sock):
    """Everything the child says until it is gone (a child that died with
    our message unread resets the connection: that is an end too)."""
    parts = []
    while True:
        try:
            part = sock.recv(4096)
        except ConnectionResetError:
            part = b""
        if not part:
            return b"".join(parts)
        parts.append(part)


def _serve(plan, sock, progress):
    """The child: plan, wait for the output, write the file data, answer."""
    from .stream import ImageStream
    try:
        layout = plan()
    except BaseException:       # the parent's own planning reports it
        return 3
    try:
        message, fds, _, _ = socket.recv_fds(sock, _HANDOVER.size, 1)
    except OSError:
        return 3
    if not fds:
        return 0                # cancelled
    out_fd = fds[0]
    base, metadata_sectors, total_sectors, out_is_file = _HANDOVER.unpack(message)
    if (layout.metadata_sectors, layout.total_sectors) != (metadata_sectors, total_sectors):
        sock.sendall(b"L")
        return 1
    reply = b"K"
    try:
        with ImageStream(layout) as stream:
            os.lseek(out_fd, base + stream.metadata_length, os.SEEK_SET)
            stream.write_data(out_fd, out_is_file, progress)
    except SourceChanged as exc:
        reply = b"S" + str(exc).encode(errors="replace")
    except OSError as exc:
        reply = f"O{exc.errno}".encode()
    except BaseException:       # interrupted: the parent reports it
        reply = b"I"
    try:
        sock.sendall(reply)
    except OSError:
        pass
    return 0 if reply == b"K" else 1
