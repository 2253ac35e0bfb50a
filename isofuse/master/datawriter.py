"""A second process that writes an image's file data while this one encodes
its metadata (``isofuse master -o FILE``: both are interpreter work, and a
machine has more than one core).

The child is forked once the layout is planned and shares it (copy on
write).  Forking before planning, with each process planning the same
deterministic layout, avoids the page copies but was slower on this
2-CPU machine: planning twice takes the CPU the kernel and the rest of the
machine need meanwhile (median of 8 alternating runs over 100,000 files:
1.93 s forked after planning, 2.05 s before).  If the child disappears,
the parent writes the data itself.

Protocol over a socket pair: the parent sends (start of the image in the
output, output is a regular file) with the output's file descriptor
attached; the child answers with one message: K (done), S + text (a
source file changed), O + errno, I (interrupted).  A closed socket without
a descriptor cancels the child.
"""

import fcntl
import os
import signal
import socket
import stat
import struct

from .stream import SourceChanged

_HANDOVER = struct.Struct("<q?")


def takes_positional_writes(fd):
    """Whether an output can be written at offsets by two processes: a
    regular file, a block device (a USB stick), or /dev/null -- not a pipe,
    socket, terminal or tape.  An fd opened for appending cannot."""
    out_stat = os.fstat(fd)
    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
        return False
    mode = out_stat.st_mode
    if stat.S_ISREG(mode) or stat.S_ISBLK(mode):
        return True
    return stat.S_ISCHR(mode) and out_stat.st_rdev == os.makedev(1, 3)  # /dev/null


class DataWriter:
    """The child process for ``layout``; use as a context manager around
    the write (leaving it stops a child that got no work).
    ``progress(done, total)`` is called in the child as the data is
    written."""

    def __init__(self, layout, progress=None):
        self._sock, child_end = socket.socketpair()
        self._pid = os.fork()
        if self._pid == 0:
            status = 2
            try:
                self._sock.close()
                status = _serve(layout, child_end, progress)
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
        base = os.lseek(out_fd, 0, os.SEEK_CUR)
        try:
            socket.send_fds(self._sock, [_HANDOVER.pack(base, out_is_file)], [out_fd])
        except OSError:
            pass                    # the child is gone: the reply is empty
        for offset, piece in stream.metadata_pieces():
            view, written = memoryview(piece), 0
            while written < len(view):
                written += os.pwrite(out_fd, view[written:], base + offset + written)
        reply = _receive_all(self._sock)
        self.close(answered=True)
        if reply == b"":
            # the child died: write the data here
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


def _serve(layout, sock, progress):
    """The child: wait for the output, write the file data, answer."""
    from .stream import ImageStream
    try:
        message, fds, _, _ = socket.recv_fds(sock, _HANDOVER.size, 1)
    except OSError:
        return 3
    if not fds:
        return 0                # cancelled
    out_fd = fds[0]
    base, out_is_file = _HANDOVER.unpack(message)
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
