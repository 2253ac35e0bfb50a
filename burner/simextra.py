"""Answers the simulated drive lacked that real burners (wodim, cdrskin,
growisofs) and the kernel's SCSI layer ask for once the drive is a real
SCSI device (burner/tcmu.py, docs/tcmu.md):

* INQUIRY with EVPD=1 (SPC-4 §6.4.4, §7.8): the supported-pages page 00h and
  the unit serial number page 80h; the kernel reads them at attach time.
* INQUIRY standard data with the RMB bit (SPC-4 §6.4.2 byte 1 bit 7): an
  MMC drive has removable media.
* MODE SENSE(10) page code 3Fh, "return all pages" (SPC-4 §6.11, §7.5.1):
  the capabilities page 2Ah and, where the medium has one, the write
  parameters page 05h; wodim asks for 3Fh before it trusts page 2Ah.
* MODE SENSE page 01h, read/write error recovery (MMC-6 §7.3): libburn
  asks for it.
* GET EVENT STATUS NOTIFICATION (MMC-6 §6.7), polled, media class only:
  the kernel's sr driver and growisofs poll it for the tray and the medium.
* MODE SENSE(6) / MODE SELECT(6) (SPC-4 §6.9, §6.11): the same pages with the
  4-byte mode parameter header; MMC-6 §7.2 lists only the 10-byte forms, but
  wodim probes with the 6-byte ones first.

Each entry is registered in sim.DISPATCH.
"""

from . import simfeatures, simpage05
from .simsense import Check, invalid_cdb_field

SERIAL = b"ISOFUSE-SIM-0001"
HEADER10, HEADER6 = 8, 4


def inquiry(sim, cdb, data):
    if cdb[1] & 0x01:
        return _vpd(sim, cdb)
    if cdb[2]:
        raise invalid_cdb_field(2)             # page code without EVPD
    out = bytearray(simfeatures.inquiry(sim, cdb, data))
    if len(out) > 1 and sim.state.kind == "mmc":
        out[1] |= 0x80                          # RMB: removable medium
    return bytes(out)


def _vpd(sim, cdb):
    page = cdb[2]
    head = bytes([5 if sim.state.kind == "mmc" else 0, page])
    if page == 0x00:
        body = bytes([0x00, 0x80])
    elif page == 0x80:
        body = SERIAL
    else:
        raise invalid_cdb_field(2)
    reply = head + len(body).to_bytes(2, "big") + body
    return reply[:int.from_bytes(cdb[3:5], "big")]


ERROR_RECOVERY = 0x01
READ_RETRIES, WRITE_RETRIES = 5, 5


def error_recovery_page():
    """Read/write error recovery page 01h (MMC-6 §7.3), page length 0Ah:
    byte 2 the recovery bits (AWRE, ARRE, TB, RC, PER, DTE, DCR) all 0 --
    full recovery, only unrecovered errors reported, which is how the sim
    reports its faults; byte 3 read retry count, byte 8 write retry count,
    bytes 10-11 recovery time limit (0: the drive's own).  libburn asks for
    it; the sim takes no MODE SELECT of it."""
    page = bytearray(12)
    page[0], page[1] = ERROR_RECOVERY, 0x0A
    page[3], page[8] = READ_RETRIES, WRITE_RETRIES
    return bytes(page)


def _pages(sim, code):
    """The mode pages for page code `code` (3Fh: all we have, ascending).
    Page 30h, which wodim asks for, is vendor specific: refused, as most
    drives do (5/24/00)."""
    if code == ERROR_RECOVERY:
        return error_recovery_page()
    if code == 0x2A:
        return simfeatures.capabilities_page(sim)
    if code == 0x05:
        return simpage05.current_page(sim)
    if code == 0x3F:
        body = error_recovery_page()
        if simpage05.has_page05(sim):
            body += simpage05.current_page(sim)
        return body + simfeatures.capabilities_page(sim)
    raise invalid_cdb_field(2, 5)


def mode_sense10(sim, cdb, data):
    if cdb[2] & 0x3F not in (0x3F, ERROR_RECOVERY):
        return simfeatures.mode_sense(sim, cdb, data)
    body = _pages(sim, cdb[2] & 0x3F)
    reply = (len(body) + HEADER10 - 2).to_bytes(2, "big") + bytes(6) + body
    return reply[:int.from_bytes(cdb[7:9], "big")]


def mode_sense6(sim, cdb, data):
    body = _pages(sim, cdb[2] & 0x3F)
    reply = bytes([len(body) + HEADER6 - 1, 0, 0, 0]) + body
    return reply[:cdb[4]]


def mode_select6(sim, cdb, data):
    """MODE SELECT(6): the 4-byte header becomes the 10-byte one and the
    page goes through MODE SELECT(10)'s checks."""
    data = bytes(data or b"")
    if len(data) < HEADER6:
        raise Check(5, 0x1A, 0x00)
    header10 = bytes(6) + bytes([0, data[3]])    # block descriptor length
    cdb10 = bytes([0x55, cdb[1], 0, 0, 0, 0, 0]) + \
        (len(data) + 4).to_bytes(2, "big") + bytes(1)
    return simpage05.mode_select(sim, cdb10, header10 + data[HEADER6:])


MEDIA_CLASS = 4                   # MMC-6 §6.7.2.3: notification class 4 = media


def get_event_status(sim, cdb, data):
    """Polled only (bit 0 of byte 1; asynchronous is not supported: 5/24/00).
    The media class says whether a disc is in; no event is pending (a
    change is reported by the unit attention 6/28/00 instead)."""
    if not cdb[1] & 0x01:
        raise invalid_cdb_field(1, 0)
    supported = 1 << MEDIA_CLASS
    if cdb[4] & supported:
        # media status byte: bit 1 media present, bit 0 tray open (MMC-6 §6.7.2.3)
        present = 0x01 if sim.tray_open else (0x02 if sim.state.medium else 0x00)
        body = bytes([0x00, present, 0, 0])          # event code 0: no change
        head = (len(body) + 2).to_bytes(2, "big") + bytes([MEDIA_CLASS, supported])
    else:
        body = b""
        head = (2).to_bytes(2, "big") + bytes([0x80, supported])   # NEA
    return (head + body)[:int.from_bytes(cdb[7:9], "big")]


ENTRIES = {0x4A: get_event_status, 0x12: inquiry, 0x5A: mode_sense10, 0x1A: mode_sense6, 0x15: mode_select6}
