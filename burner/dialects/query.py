"""Drive facts for the cdrecord reports (reports.py), read with the
drive's public commands."""

from .. import mmc
from ..profiles import profile as profile_info
from ..transport import FROM_DEVICE


def inquiry_facts(drive):
    """SPC-4 §6.4.2 standard INQUIRY data: byte 0 bits 4-0 device type, byte
    1 bit 7 RMB (removable), byte 2 VERSION, byte 3 bits 3-0 response data
    format, vendor 8-15, product 16-31, revision 32-35 (kept padded as
    cdrecord shows them)."""
    data = drive.cmd(mmc.inquiry(), FROM_DEVICE, length=96)
    data = bytes(data) + bytes(max(0, 36 - len(data)))
    text = lambda b: b.decode("ascii", "replace")  # noqa: E731
    return {"type": data[0] & 0x1F, "removable": bool(data[1] & 0x80), "version": data[2],
            "response_format": data[3] & 0x0F, "vendor": text(data[8:16]),
            "product": text(data[16:32]), "revision": text(data[32:36])}


def toc_tracks(drive):
    """READ TOC format 0000b (MMC-6 §6.26.3.2): [(track, start lba), ...,
    (AAh, lead-out)]."""
    return mmc.parse_toc_tracks(drive.cmd(mmc.read_toc(0), FROM_DEVICE, length=804))


def profile_names(status):
    return [profile_info(p).name for p in status.profiles]
