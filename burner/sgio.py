"""Linux SG_IO transport for /dev/sr* and /dev/sg* (ctypes + fcntl.ioctl).

struct sg_io_hdr from <scsi/sg.h>; 88 bytes on x86-64 (checked below).
"""

import ctypes
import errno
import fcntl
import os

from . import sense as sense_mod
from .transport import FROM_DEVICE, MAX_TRANSFER, NONE, TO_DEVICE, Transport

SG_IO = 0x2285
SG_DXFER = {NONE: -1, TO_DEVICE: -2, FROM_DEVICE: -3}
SENSE_LEN = 64

# SAM-5 status codes (the full status byte, sg_io_hdr.status).
GOOD, CHECK_CONDITION, CONDITION_MET = 0x00, 0x02, 0x04
# Linux <scsi/scsi.h>: host_status (DID_*) and driver_status (DRIVER_*, low nibble).
DID_NO_CONNECT, DID_TIME_OUT, DID_BAD_TARGET = 0x01, 0x03, 0x04
DRIVER_TIMEOUT, DRIVER_SENSE = 0x06, 0x08
DRIVER_MASK = 0x0F

# errno of a failed SG_IO ioctl -> TransportError kind.  EPERM is what the
# kernel's SCSI command filter answers for a command a read-only open may not
# send; ENODEV/ENXIO come once the device is gone (unplugged, powered off).
ERRNO_KINDS = {errno.EPERM: "permission", errno.EACCES: "permission",
               errno.ENODEV: "gone", errno.ENXIO: "gone", errno.ENOENT: "gone",
               errno.ETIMEDOUT: "timeout"}


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
    max_transfer = MAX_TRANSFER     # the SG_IO queue limit (transport.py)

    def __init__(self, path, write=True):
        self.name = path
        self.path = path
        self.fd = open_device(path, write)
        self.writable = write
        # The node we opened: when SG_IO fails with EIO and the path no longer
        # names this device, the device has vanished (unplugged, node removed).
        self.rdev = os.fstat(self.fd).st_rdev

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
            raise self._ioctl_failure(exc, name, timeout) from None
        check_outcome(hdr, sense_buf.raw[:min(hdr.sb_len_wr, SENSE_LEN)], self.path, name,
                      timeout)
        if direction == FROM_DEVICE:
            return buf.raw[:max(0, size - hdr.resid)]
        return b""

    def _ioctl_failure(self, exc, name, timeout):
        kind = ERRNO_KINDS.get(exc.errno, "io")
        if kind == "io" and self._vanished():
            kind = "gone"
        return sense_mod.TransportError(
            f"{self.path}: {name}: "
            f"{describe(kind, os.strerror(exc.errno), timeout, self.writable)}",
            kind=kind, errno=exc.errno, command=name)

    def _vanished(self):
        try:
            return os.stat(self.path).st_rdev != self.rdev
        except OSError:
            return True

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def describe(kind, detail, timeout, writable=True):
    """One line for a TransportError of ``kind``, with what the user can do."""
    if kind == "timeout":
        return (f"the drive did not answer within {timeout:g} s and the kernel aborted the "
                f"command ({detail})")
    if kind == "gone":
        return f"the drive is gone (unplugged, switched off or its node removed?): {detail}"
    if kind == "permission":
        how = "" if writable else "; the device is open read-only"
        return (f"the kernel refused the command ({detail}{how}): burning needs the device "
                "opened read-write (group cdrom, or the seat's ACL: getfacl DEVICE)")
    if kind == "no-sense":
        return f"the command failed and the drive did not say why ({detail})"
    return f"the command failed below SCSI ({detail})"


def check_outcome(hdr, sense, path, name, timeout=30):
    """Decide from a completed sg_io_hdr whether the command succeeded.

    A timeout or a lost connection reported by the host adapter comes first
    (the sense buffer is then empty).  CHECK CONDITION (SAM-5 status 02h) is
    an error unless the sense says "recovered" or "no sense" with a reason
    (SPC-4 4.5.6); CHECK CONDITION without decodable sense is an error too --
    nothing proves the command did what was asked.  Any other status than
    GOOD/CONDITION MET (BUSY, RESERVATION CONFLICT, TASK ABORTED) and any host
    or driver error fails the command."""
    fields = {"command": name, "host_status": hdr.host_status,
              "driver_status": hdr.driver_status, "scsi_status": hdr.status}
    driver = hdr.driver_status & DRIVER_MASK
    raw = (f"SCSI status {hdr.status:#x}, host status {hdr.host_status:#x}, "
           f"driver status {hdr.driver_status:#x}")
    if hdr.host_status == DID_TIME_OUT or driver == DRIVER_TIMEOUT:
        raise sense_mod.TransportError(f"{path}: {name}: {describe('timeout', raw, timeout)}",
                                       kind="timeout", **fields)
    if hdr.host_status in (DID_NO_CONNECT, DID_BAD_TARGET):
        raise sense_mod.TransportError(f"{path}: {name}: {describe('gone', raw, timeout)}",
                                       kind="gone", **fields)
    if hdr.status == CHECK_CONDITION or driver == DRIVER_SENSE:
        decoded = sense_mod.decode(sense)
        if decoded is None or (decoded.key, decoded.asc, decoded.ascq) == (0, 0, 0):
            what = "CHECK CONDITION without sense data" if not any(sense) else \
                f"CHECK CONDITION with undecodable sense {bytes(sense[:18]).hex()}"
            raise sense_mod.TransportError(
                f"{path}: {name}: {describe('no-sense', what, timeout)}", kind="no-sense",
                **fields)
        if decoded.key not in (sense_mod.NO_SENSE, sense_mod.RECOVERED):
            raise sense_mod.ScsiError(decoded, name)
    elif hdr.status not in (GOOD, CONDITION_MET):
        raise sense_mod.TransportError(f"{path}: {name}: {describe('io', raw, timeout)}",
                                       kind="io", **fields)
    if hdr.host_status or driver not in (0, DRIVER_SENSE):
        raise sense_mod.TransportError(f"{path}: {name}: {describe('io', raw, timeout)}",
                                       kind="io", **fields)


def is_busy_error(exc):
    return isinstance(exc, OSError) and exc.errno == errno.EBUSY
