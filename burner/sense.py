"""Sense data (SPC-4 §4.5): fixed (70h/71h) and descriptor (72h/73h) formats,
decoded into key/ASC/ASCQ and a message a user can act on."""

from dataclasses import dataclass
from typing import Optional

NO_SENSE, RECOVERED, NOT_READY, MEDIUM_ERROR, HARDWARE_ERROR, ILLEGAL_REQUEST, \
    UNIT_ATTENTION, DATA_PROTECT, BLANK_CHECK = range(9)

KEY_NAMES = {0: "no sense", 1: "recovered error", 2: "not ready", 3: "medium error",
             4: "hardware error", 5: "illegal request", 6: "unit attention",
             7: "data protect", 8: "blank check", 0xB: "aborted command"}

# (ASC, ASCQ) -> message; ASCQ None matches any qualifier.  Codes from SPC-4
# Annex D and MMC-6 Annex F, the ones a burner meets.
MESSAGES = {
    (0x04, 0x01): "the drive is becoming ready",
    (0x04, 0x04): "the drive is formatting the medium",
    (0x04, 0x07): "an operation is in progress",
    (0x04, 0x08): "long write in progress",
    (0x04, None): "the drive is not ready",
    (0x0C, 0x00): "write error",
    (0x0C, 0x09): "buffer underrun: the data did not arrive fast enough",
    (0x0C, None): "write error",
    (0x11, None): "unrecovered read error (scratched or damaged disc?)",
    (0x1A, 0x00): "parameter list length error",
    (0x20, 0x00): "the drive does not know this command",
    (0x21, 0x00): "address beyond the end of the medium",
    (0x21, 0x02): "invalid address for write (not the next writable address)",
    (0x24, 0x00): "invalid field in the command",
    (0x26, 0x00): "invalid field in the parameter list (write parameters rejected)",
    (0x28, 0x00): "medium changed",
    (0x29, None): "the drive was reset",
    (0x2C, 0x00): "command sequence error",
    (0x30, 0x05): "the medium cannot be written in this drive",
    (0x30, 0x10): "the medium is not formatted",
    (0x30, None): "incompatible medium",
    (0x31, None): "the medium format is corrupted",
    (0x32, 0x00): "no defect spare location available (the disc's spare area is used up)",
    (0x3A, None): "no medium in the drive",
    (0x53, 0x02): "medium removal is prevented",
    (0x57, 0x00): "unable to read the table of contents",
    (0x63, 0x00): "end of user area: the medium is full",
    (0x64, 0x00): "illegal mode for this track (wrong write type)",
    (0x72, None): "session fixation error",
    (0x73, 0x00): "CD control error",
    (0x73, 0x01): "power calibration area almost full",
    (0x73, 0x02): "power calibration area is full",
    (0x73, 0x03): "power calibration failed",
    (0x73, None): "power calibration area problem",
}


@dataclass(frozen=True)
class Sense:
    key: int
    asc: int
    ascq: int
    progress: Optional[float] = None   # 0..1 from sense-key-specific bytes, if valid
    info: Optional[int] = None         # INFORMATION field (the failed LBA), if valid
    field: Optional[tuple] = None      # ILLEGAL REQUEST: (in CDB?, byte, bit or None)
    deferred: bool = False             # response code 71h/73h: about an earlier command

    @property
    def message(self):
        text = MESSAGES.get((self.asc, self.ascq)) or MESSAGES.get((self.asc, None))
        return text or f"{KEY_NAMES.get(self.key, 'sense key %X' % self.key)}"

    def __str__(self):
        return f"{self.message} [sense {self.key:X}/{self.asc:02X}/{self.ascq:02X}]"


def decode(data):
    """Decode sense bytes; None when there is no usable sense."""
    data = bytes(data)
    if len(data) < 2:
        return None
    code = data[0] & 0x7F
    if code in (0x70, 0x71):                      # SPC-4 §4.5.3 fixed format
        if len(data) < 14:
            return Sense(data[2] & 0x0F if len(data) > 2 else 0, 0, 0)
        key = data[2] & 0x0F
        progress, field = _key_specific(key, data[15:18] if len(data) >= 18 else b"")
        info = int.from_bytes(data[3:7], "big") if data[0] & 0x80 else None
        return Sense(key, data[12], data[13], progress, info, field, code == 0x71)
    if code in (0x72, 0x73):                      # SPC-4 §4.5.2 descriptor format
        key = data[1] & 0x0F
        progress = field = info = None
        pos, end = 8, min(len(data), 8 + data[7]) if len(data) > 7 else 0
        while pos + 2 <= end:
            dtype, dlen = data[pos], data[pos + 1]
            if dtype == 0x00 and dlen >= 10 and data[pos + 2] & 0x80:   # information
                info = int.from_bytes(data[pos + 4:pos + 12], "big")
            if dtype == 0x02 and dlen >= 6:                             # sense key specific
                progress, field = _key_specific(key, data[pos + 4:pos + 7])
            pos += 2 + dlen
        return Sense(key, data[2], data[3], progress, info, field, code == 0x73)
    return None


def _key_specific(key, sks):
    """SPC-4 §4.5.2.4: the 3 sense-key-specific bytes, valid when SKSV (bit 7
    of the first) is set.  NOT READY / NO SENSE carry a progress indication
    (§4.5.2.4.4); ILLEGAL REQUEST a field pointer (§4.5.2.4.2): C/D bit 6
    (1 = in the CDB, 0 = in the parameter list), BPV bit 3 with the bit
    pointer in bits 2-0, and the byte in the next two bytes."""
    if len(sks) < 3 or not sks[0] & 0x80:
        return None, None
    if key in (NO_SENSE, NOT_READY):
        return int.from_bytes(sks[1:3], "big") / 65536, None
    if key == ILLEGAL_REQUEST:
        bit = sks[0] & 0x07 if sks[0] & 0x08 else None
        return None, (bool(sks[0] & 0x40), int.from_bytes(sks[1:3], "big"), bit)
    return None, None


def fixed(key, asc, ascq, progress=None):
    """Build fixed-format sense (what the simulated drive returns)."""
    out = bytearray(18)
    out[0] = 0x70
    out[2] = key
    out[7] = 10
    out[12] = asc
    out[13] = ascq
    if progress is not None:
        out[15] = 0x80
        out[16:18] = min(0xFFFF, int(progress * 65536)).to_bytes(2, "big")
    return bytes(out)


class TransportError(Exception):
    """The command did not complete at the transport level (no sense).

    ``kind`` says what happened, so the layers above can tell the user what
    became of the disc: "timeout" (the drive did not answer in time; the
    kernel aborted the command), "gone" (the device disappeared: unplugged,
    powered off, node removed), "permission" (the kernel refused the command:
    EPERM/EACCES, e.g. a write command on a read-only open), "no-sense"
    (CHECK CONDITION without usable sense data), "io" (any other failure
    below SCSI: EIO, a host adapter error, a busy or aborted target).
    ``errno`` is the ioctl's errno when there was one; ``command`` the name of
    the command that failed; ``host_status``/``driver_status``/``scsi_status``
    the sg_io_hdr fields (Linux scsi/sg.h) when the ioctl itself succeeded.
    """

    KINDS = ("timeout", "gone", "permission", "no-sense", "io")

    def __init__(self, message, kind="io", errno=None, command=None, host_status=0,
                 driver_status=0, scsi_status=0):
        super().__init__(message)
        self.kind = kind if kind in self.KINDS else "io"
        self.errno = errno
        self.command = command
        self.host_status = host_status
        self.driver_status = driver_status
        self.scsi_status = scsi_status


class ScsiError(Exception):
    """A command ended with CHECK CONDITION; ``sense`` says why."""

    def __init__(self, sense, command="command"):
        self.sense = sense
        self.command = command
        super().__init__(f"{command}: {sense}")

    @property
    def key(self):
        return self.sense.key

    @property
    def asc(self):
        return self.sense.asc

    @property
    def ascq(self):
        return self.sense.ascq

    def matches(self, key=None, asc=None, ascq=None):
        return ((key is None or self.key == key) and (asc is None or self.asc == asc)
                and (ascq is None or self.ascq == ascq))
