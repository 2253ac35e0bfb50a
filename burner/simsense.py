"""Sense data as the simulated drive sends it (SPC-4 §4.5.3 fixed format).

Besides key/ASC/ASCQ a refusal can carry what a real drive puts there:
the INFORMATION field (the sector a read or write failed on, VALID bit),
the sense-key-specific field pointer (which byte, and bit, of the CDB or of
the parameter list was rejected) and the deferred-error response code 71h.
"""

from .sense import fixed

CURRENT, DEFERRED = 0x70, 0x71      # SPC-4 §4.5.3: response codes


class Check(Exception):
    """A CHECK CONDITION the simulated drive answers with.

    ``field``: (byte, bit or None, in_cdb) -- SPC-4 §4.5.2.4.2 field pointer:
    byte 15 SKSV (bit 7), C/D (bit 6, 1 = the CDB, 0 = the parameter list),
    BPV (bit 3) and bit pointer (bits 2-0); bytes 16-17 the byte's index.
    ``info``: the INFORMATION field (bytes 3-6) with the VALID bit."""

    def __init__(self, key, asc, ascq, progress=None, info=None, field=None,
                 deferred=False):
        super().__init__(f"{key:X}/{asc:02X}/{ascq:02X}")
        self.key, self.asc, self.ascq = key, asc, ascq
        self.sense = build(key, asc, ascq, progress, info, field, deferred)


def build(key, asc, ascq, progress=None, info=None, field=None, deferred=False):
    out = bytearray(fixed(key, asc, ascq, progress))
    out[0] = DEFERRED if deferred else CURRENT
    if info is not None:
        out[0] |= 0x80                          # VALID: INFORMATION holds the LBA
        out[3:7] = (info & 0xFFFFFFFF).to_bytes(4, "big")
    if field is not None and progress is None:
        byte, bit, in_cdb = field
        out[15] = 0x80 | (0x40 if in_cdb else 0) | (0x08 | (bit & 7) if bit is not None else 0)
        out[16:18] = byte.to_bytes(2, "big")
    return bytes(out)


def in_cdb(byte, bit=None):
    """Field pointer into the CDB."""
    return (byte, bit, True)


def in_parameters(byte, bit=None):
    """Field pointer into the parameter list (MODE SELECT / FORMAT UNIT data)."""
    return (byte, bit, False)


def invalid_cdb_field(byte, bit=None):
    return Check(5, 0x24, 0x00, field=in_cdb(byte, bit))


def invalid_parameter(byte, bit=None):
    return Check(5, 0x26, 0x00, field=in_parameters(byte, bit))


def sequence_error():
    """5/2C/00 COMMAND SEQUENCE ERROR (SPC-4 Annex D)."""
    return Check(5, 0x2C, 0x00)


def field_pointer(sense):
    """Decode the field pointer of raw fixed sense: (byte, bit or None,
    in_cdb) or None when SKSV is clear -- for tests and tools."""
    if len(sense) < 18 or not sense[15] & 0x80:
        return None
    bit = sense[15] & 7 if sense[15] & 0x08 else None
    return int.from_bytes(sense[16:18], "big"), bit, bool(sense[15] & 0x40)
