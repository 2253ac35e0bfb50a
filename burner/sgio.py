"""Linux SG_IO transport for /dev/sr* and /dev/sg* (ctypes + fcntl.ioctl).

struct sg_io_hdr from <scsi/sg.h>; 88 bytes on x86-64 (checked below).
"""

import ctypes
import errno
import fcntl
import os

from . import sense as sense_mod
from .transport import FROM_DEVICE, NONE, TO_DEVICE, Transport

SG_IO = 0x2285
SG_DXFER = {NONE: -1, TO_DEVICE: -2, FROM_DEVICE: -3}
SENSE_LEN = 64
CHECK_CONDITION = 0x02
DRIVER_SENSE = 0x08


class SgIoHdr(ctypes.Structure):
    _fields_ = [
        ("interface_id", ctypes.c_int), ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte), ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort), ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p), ("cmdp", ctypes.c_void_p),
        ("sbp", ctypes.c_void_p), ("timeout", ctypes.c_uint),
        ("flags", ctypes.c_uint), ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p), ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte), ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte), ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort), ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint), ("info", ctypes.c_uint)]


assert ctypes.sizeof(SgIoHdr) == (88 if ctypes.sizeof(ctypes.c_void_p) == 8 else 64)


def open_device(path, write=True):
    """Open like the established burners: O_RDWR|O_EXCL|O_NONBLOCK.
    O_NONBLOCK lets a drive without medium open at all; O_EXCL keeps the
    kernel's own users (mounts, other burners) away while we write.
    Probing (write=False) opens read-only and shared."""
    flags = os.O_NONBLOCK | os.O_CLOEXEC
    flags |= (os.O_RDWR | os.O_EXCL) if write else os.O_RDONLY
    return os.open(path, flags)


class SgioTransport(Transport):
    def __init__(self, path, write=True):
        self.name = path
        self.path = path
        self.fd = open_device(path, write)

    def _execute(self, cdb, direction, data, length, timeout, name):
        cdb_buf = ctypes.create_string_buffer(cdb, len(cdb))
        if direction == TO_DEVICE:
            buf = ctypes.create_string_buffer(bytes(data), len(data))
            size = len(data)
        else:
            size = length if direction == FROM_DEVICE else 0
            buf = ctypes.create_string_buffer(max(size, 1))
        sense_buf = ctypes.create_string_buffer(SENSE_LEN)
        hdr = SgIoHdr(interface_id=ord("S"), dxfer_direction=SG_DXFER[direction],
                      cmd_len=len(cdb), mx_sb_len=SENSE_LEN, dxfer_len=size,
                      dxferp=ctypes.cast(buf, ctypes.c_void_p) if size else None,
                      cmdp=ctypes.cast(cdb_buf, ctypes.c_void_p),
                      sbp=ctypes.cast(sense_buf, ctypes.c_void_p),
                      timeout=int(timeout * 1000))
        try:
            fcntl.ioctl(self.fd, SG_IO, hdr, True)
        except OSError as exc:
            raise sense_mod.TransportError(
                f"{self.path}: {name}: SG_IO failed: {os.strerror(exc.errno)}") from None
        if hdr.status == CHECK_CONDITION or hdr.driver_status & DRIVER_SENSE:
            decoded = sense_mod.decode(sense_buf.raw[:hdr.sb_len_wr])
            if decoded is not None and decoded.key not in (0, 1):
                raise sense_mod.ScsiError(decoded, name)
        if hdr.host_status or (hdr.status and hdr.status != CHECK_CONDITION):
            raise sense_mod.TransportError(
                f"{self.path}: {name}: SCSI status {hdr.status:#x}, host status "
                f"{hdr.host_status:#x}, driver status {hdr.driver_status:#x}")
        if direction == FROM_DEVICE:
            return buf.raw[:max(0, size - hdr.resid)]
        return b""

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def is_busy_error(exc):
    return isinstance(exc, OSError) and exc.errno == errno.EBUSY
