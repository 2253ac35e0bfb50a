"""What gets burned: a staging folder (mastered on the fly, no temp file), an
image file, standard input, or another disc (block device or ``sim:``).

A source has ``size`` (bytes), ``read(offset, size)`` for sequential reading
(``rereadable`` says whether earlier bytes can be read again: --verify
pinpoints bad sectors then) and ``close()``.
"""

import os
import stat
import sys
import time

from . import copying
from .errors import SOURCE, USAGE, BurnError

from isofuse.format.sectors import SECTOR
ISO_PVD_OFFSET = 16 * SECTOR


class FileSource:
    rereadable = True

    def __init__(self, path):
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise BurnError(f"{path}: {exc.strerror}", SOURCE) from None
        self.size = os.fstat(self.fd).st_size
        self.label = path

    def read(self, offset, size):
        return os.pread(self.fd, size, offset)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class BlockDeviceSource(FileSource):
    """A disc in a drive, copied 1:1 through the kernel's block device.  The
    recorded tracks come from the drive (SG_IO on the same node, read-only:
    READ TRACK INFORMATION / READ TOC), so gaps between sessions and CD
    run-out blocks are never read; a node that is no MMC drive is read whole.
    Unreadable sectors are retried (copying.read_retrying) and then fail the
    read -- an image with holes is not a copy."""
    RETRIES = copying.RETRIES

    def __init__(self, path, sleep=None, disc_map=None):
        super().__init__(path)
        self.sleep = sleep or time.sleep
        self.reader = copying.FdReader(self.fd, path)
        length = os.lseek(self.fd, 0, os.SEEK_END)
        self.disc_map = disc_map or _block_device_map(path, self.reader) or copying.DiscMap(
            [copying.Extent(1, 1, 0, (length + SECTOR - 1) // SECTOR)], "the device size")
        self.size = min(length, self.disc_map.end * SECTOR)

    def read(self, offset, size):
        return copying.read_bytes(self, offset, min(size, max(0, self.size - offset)))


def _block_device_map(path, reader):
    """The drive's track map of a block device that is an MMC drive, else None."""
    if not stat.S_ISBLK(os.stat(path).st_mode):
        return None
    from .drive import Drive
    from .sgio import SgioTransport
    try:
        with SgioTransport(path, write=False) as t:
            drive = Drive(t)
            if not drive.inquiry().is_mmc:
                return None
            return copying.map_from_drive(drive, drive.configuration().current_profile,
                                          reader)
    except Exception:       # not SCSI (a loop device, USB stick), or no SG_IO access
        return None


class SimDiscSource:
    """Another (simulated) disc read through its drive with READ(10), 1:1:
    the recorded tracks only, as MMC says where they are.  ``drive`` is for
    tests (an object with the Drive methods copying.map_from_drive uses)."""
    rereadable = True
    RETRIES = copying.RETRIES

    def __init__(self, device, drive=None, sleep=None):
        from .drive import Drive, open_transport
        from .sense import ScsiError
        self.drive = drive or Drive(open_transport(device, write=False))
        self.label = device
        self.sleep = sleep or time.sleep
        self.reader = copying.DriveReader(self.drive, device)
        try:
            profile = self.drive.configuration().current_profile
            self.disc_map = copying.map_from_drive(self.drive, profile, self.reader)
        except ScsiError as exc:
            self.close()
            raise BurnError(f"{device}: cannot find the recorded tracks: {exc}", SOURCE) from None
        self.size = self.disc_map.end * SECTOR

    def read(self, offset, size):
        return copying.read_bytes(self, offset, min(size, max(0, self.size - offset)))

    def close(self):
        self.drive.t.close()


class PipeSource:
    """Standard input.  The size must be known before writing (the drive is
    told how much comes, and the free space is checked): ``--size`` or the
    ISO's own volume size, read from its primary volume descriptor."""
    rereadable = False

    def __init__(self, stream=None, size=None):
        self.stream = stream or sys.stdin.buffer
        self.label = "standard input"
        self.pos = 0
        # The head (up to the primary descriptor) is read first in any case:
        # it tells which address the image was mastered for (sessionaddr).
        from .sessionaddr import HEAD
        self.head = self._read_exact(HEAD if size is None else min(size, HEAD))
        self.size_from_descriptor = size is None
        if size is None:
            from isofuse.format import FormatError
            from isofuse.format.descriptors import decode_volume_descriptor
            try:
                pvd = decode_volume_descriptor(self.head[ISO_PVD_OFFSET:])
            except FormatError:
                raise BurnError("standard input: no ISO 9660 primary volume descriptor at "
                                "sector 16; give the size with --size BYTES", USAGE) from None
            # For a later session this may count the whole volume; the
            # burner corrects it once it knows the session's start.
            size = pvd.volume_space_size * pvd.logical_block_size
        self.size = size

    def _read_exact(self, n):
        parts, got = [], 0
        while got < n:
            chunk = self.stream.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def read(self, offset, size):
        if offset != self.pos:
            raise BurnError("standard input can only be read once, in order", SOURCE)
        out = b""
        if offset < len(self.head):
            out = self.head[offset:offset + size]
        rest = size - len(out)
        if rest > 0:
            out += self._read_exact(rest)
        self.pos += len(out)
        if len(out) < size and self.pos < self.size:
            raise BurnError(f"standard input ended after {self.pos} of {self.size} bytes",
                            SOURCE)
        return out

    def close(self):
        pass


class MasteredSource:
    """Folders mastered on the fly with the staging profile (``isofuse
    master -r -J -iso-level 2``), streamed from the layout: nothing is
    written to a temporary file.  For a next session: ``previous`` is the
    disc (image file or device) whose session ``sbsector`` the new tree is
    merged over, ``session_start`` the drive's next writable address.  The
    session itself is isofuse's session engine's (isofuse.master.session)."""
    rereadable = True

    def __init__(self, paths, volume_id=None, previous=None, sbsector=None,
                 session_start=0, removes=(), now=None):
        from isofuse.master import session
        from isofuse.master.options import staging_profile
        if removes and previous is None:
            raise BurnError("--remove needs --multi and a disc with a previous session", USAGE)
        options = staging_profile()
        if volume_id:
            options.volume_id = volume_id
        # One creation time for every drive of a parallel burn (same image on
        # all discs); SOURCE_DATE_EPOCH makes the image reproducible.
        options.now = now
        options.source_date_epoch = _epoch()
        # The first sector of the disc this session is made for (mkisofs -C's
        # second number): its extents count from there.
        options.session_start = session_start or 0
        self.label = ", ".join(paths) or "(previous session)"
        continued = None if previous is None else session.Continuation(
            previous, sbsector=sbsector, start=options.session_start,
            removals=tuple(removes), keep_volume_id=not volume_id)
        self._plan(session.Sources(list(paths)), options, continued)

    def _plan(self, sources, options, continued, session_error=None):
        """Plan the session (the engine's errors as BurnErrors;
        ``session_error`` makes the BurnError of a SessionError); sets the
        layout, the stream and the size."""
        from isofuse.master import layout as layout_mod, session
        from isofuse.master.isotree import TreeError
        from isofuse.master.sourcetree import SourceError
        self.warnings = []
        try:
            self.session = session.plan_session(sources, options, continued,
                                                warn=self.warnings.append)
        except session.SessionError as exc:
            if session_error is not None:
                raise session_error(exc) from None
            raise BurnError(str(exc), USAGE if exc.usage else SOURCE) from None
        except (SourceError, TreeError, layout_mod.LayoutError) as exc:
            raise BurnError(str(exc), SOURCE) from None
        except Exception as exc:   # the tree module's own errors: one line, no traceback
            raise BurnError(f"{self.label}: {exc}", SOURCE) from None
        self.layout = self.session.layout
        self.mastered_for = self.session.start
        self.stream = self.session.stream()
        self.size = self.stream.size

    def clone(self):
        """The same image for another drive: layout and metadata shared, its
        own stream (file handles are not shared between threads).  Parallel
        burns master once, so every disc gets byte-identical data even though
        reading the sources changes their access times."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.stream = self.session.stream(self.stream.metadata)
        return other

    def descriptors(self):
        """The copy of this session's volume descriptors for sector 16 of a
        grown volume (isofuse.master.session.Session.grown_copy: the whole
        volume's size in them, as isofuse master grows an image and as
        _image_descriptors copies an image's)."""
        return self.session.grown_copy(self.stream)

    def read(self, offset, size):
        from isofuse.master.stream import SourceChanged
        try:
            return self.stream.read(offset, size)
        except SourceChanged as exc:
            raise BurnError(f"{exc}; stopped", SOURCE) from None

    def close(self):
        self.stream.close()


def _epoch():
    from isofuse.master.session import SessionError, source_date_epoch
    try:
        return source_date_epoch()
    except SessionError as exc:
        raise BurnError(str(exc), USAGE) from None


def open_source(spec, size=None):
    """An image file, '-', a block device or a ``sim:`` disc (folders go
    through MasteredSource, decided by the caller)."""
    if spec == "-":
        return PipeSource(size=size)
    if spec.startswith("sim:"):
        return SimDiscSource(spec)
    try:
        st = os.stat(spec)
    except OSError as exc:
        raise BurnError(f"{spec}: {exc.strerror}", SOURCE) from None
    if stat.S_ISBLK(st.st_mode):
        return BlockDeviceSource(spec)
    if stat.S_ISREG(st.st_mode):
        src = FileSource(spec)
        if size is not None:
            try:
                src.size = checked_size(src, size)
            except BurnError:
                src.close()
                raise
        return src
    raise BurnError(f"{spec}: not a folder, image file, block device or '-'", SOURCE)


def iso_volume_bytes(source):
    """The size the ISO 9660 image at the start of ``source`` says it has
    (ECMA-119 8.4.8 volume space size x 8.4.12 logical block size), or None
    when there is no primary volume descriptor at sector 16."""
    from isofuse.format import FormatError
    from isofuse.format.descriptors import decode_volume_descriptor
    try:
        pvd = decode_volume_descriptor(source.read(ISO_PVD_OFFSET, SECTOR))
    except (FormatError, OSError, BurnError):
        return None
    return pvd.volume_space_size * pvd.logical_block_size


def checked_size(source, size):
    """``--size`` for an image file: the file's own size, or smaller only
    when that is what the image's ISO volume says it holds (a padded image).
    Anything else would burn something other than what was asked."""
    if size <= 0:
        raise BurnError(f"--size {size}: give a positive number of bytes", USAGE)
    if size == source.size:
        return size
    if size > source.size:
        raise BurnError(f"--size {size} is larger than {source.label} ({source.size} bytes); "
                        "the drive would be promised data that does not exist", USAGE)
    volume = iso_volume_bytes(source)
    if volume == size:
        return size
    said = f"its ISO volume says {volume} bytes" if volume else "it holds no ISO 9660 volume"
    raise BurnError(f"--size {size} differs from {source.label}: the file has {source.size} "
                    f"bytes and {said}; leave --size out to burn the whole file", USAGE)
