"""Mode pages: write parameters (05h) and capabilities (2Ah), built and parsed."""

from dataclasses import dataclass

WRITE_PARAMETERS = 0x05
CAPABILITIES = 0x2A

WT_INCREMENTAL, WT_TAO, WT_SAO, WT_RAW = 0, 1, 2, 3
MULTI_CLOSE, MULTI_KEEP = 0b00, 0b11       # byte 3 bits 7-6
TRACK_MODE_DATA_CD, TRACK_MODE_DATA_DVD = 4, 5
BLOCK_MODE1 = 8                            # data block type: mode 1, 2048 bytes
BLOCK_MODE2_FORM1 = 10                     # mode 2 form 1 (CD-ROM XA), 2048 bytes
# Mode 2 form 1 sub-header (bytes 48-51: file number, channel number,
# submode, coding information; CD-ROM XA / ECMA-130 §14.6): submode 08h =
# data, form 1 -- what cdrecord puts there for -xa; the drive adds it.
XA_FORM1_SUBHEADER = bytes([0x00, 0x00, 0x08, 0x00])
SESSION_CDROM, SESSION_XA = 0x00, 0x20
PAGE05_LENGTH = 0x32


@dataclass
class WriteParameters:
    write_type: int = WT_TAO
    test_write: bool = False
    bufe: bool = True                     # buffer-underrun protection
    ls_v: bool = False
    multisession: int = MULTI_CLOSE
    fixed_packet: bool = False
    track_mode: int = TRACK_MODE_DATA_CD
    block_type: int = BLOCK_MODE1
    link_size: int = 0
    session_format: int = SESSION_CDROM
    packet_size: int = 0
    subheader: bytes = bytes(4)           # mode 2: what the drive writes as sub-header


def build_write_parameters(p: WriteParameters):
    """MMC-6 §7.5.4 write parameters page (05h), as a MODE SELECT(10)
    parameter list: 8-byte header (no block descriptors) + 52-byte page.
    Byte 2: BUFE bit 6, LS_V bit 5, test write bit 4, write type bits 3-0;
    byte 3: multi-session bits 7-6, FP bit 5, track mode bits 3-0; byte 4
    data block type; byte 5 link size; byte 8 session format; bytes 10-13
    packet size; bytes 48-51 the mode 2 sub-header."""
    page = bytearray(2 + PAGE05_LENGTH)
    page[0] = WRITE_PARAMETERS
    page[1] = PAGE05_LENGTH
    page[2] = (0x40 if p.bufe else 0) | (0x20 if p.ls_v else 0) \
        | (0x10 if p.test_write else 0) | (p.write_type & 0x0F)
    page[3] = (p.multisession & 3) << 6 | (0x20 if p.fixed_packet else 0) | (p.track_mode & 0x0F)
    page[4] = p.block_type & 0x0F
    page[5] = p.link_size
    page[8] = p.session_format
    page[10:14] = p.packet_size.to_bytes(4, "big")
    page[48:52] = p.subheader
    return bytes(8) + bytes(page)


def parse_write_parameters(page):
    """The inverse of build_write_parameters, for a bare page (§7.5.4)."""
    return WriteParameters(write_type=page[2] & 0x0F, test_write=bool(page[2] & 0x10),
                           bufe=bool(page[2] & 0x40), ls_v=bool(page[2] & 0x20),
                           multisession=page[3] >> 6, fixed_packet=bool(page[3] & 0x20),
                           track_mode=page[3] & 0x0F, block_type=page[4] & 0x0F,
                           link_size=page[5], session_format=page[8],
                           packet_size=int.from_bytes(page[10:14], "big"),
                           subheader=bytes(page[48:52]))


@dataclass
class Capabilities:
    reads: set
    writes: set
    test_write: bool
    multisession: bool
    underrun_protection: bool
    eject: bool
    buffer_kb: int
    max_write_kbs: int

    @property
    def can_write(self):
        return bool(self.writes)


def parse_capabilities(page):
    """MMC-3 §5.5.10 CD/DVD capabilities and mechanical status page (2Ah):
    byte 2 read bits (CD-R, CD-RW, -, DVD-ROM, DVD-R, DVD-RAM), byte 3
    write bits (CD-R, CD-RW, test write, -, DVD-R, DVD-RAM), byte 4 bit 7
    BUF (buffer underrun free recording) and bit 6 multi-session, byte 6
    bit 3 eject, bytes 12-13 buffer size in KB, bytes 18-19 maximum write
    speed in kB/s (obsolete in MMC-6 but still filled by drives).  (Byte 5
    bit 7 is "read bar code", not BUF.)"""
    page = bytes(page) + bytes(max(0, 20 - len(page)))
    reads = {n for bit, n in [(0, "CD-R"), (1, "CD-RW"), (3, "DVD-ROM"), (4, "DVD-R"),
                              (5, "DVD-RAM")] if page[2] >> bit & 1}
    reads.add("CD-ROM")
    writes = {n for bit, n in [(0, "CD-R"), (1, "CD-RW"), (4, "DVD-R"), (5, "DVD-RAM")]
              if page[3] >> bit & 1}
    return Capabilities(reads, writes, bool(page[3] & 0x04), bool(page[4] & 0x40),
                        bool(page[4] & 0x80), bool(page[6] & 0x08),
                        int.from_bytes(page[12:14], "big"), int.from_bytes(page[18:20], "big"))


def build_capabilities(read_bits, write_bits, buffer_kb=2048, max_write_kbs=0):
    """The page as a simulated drive returns it (layout as parse_capabilities)."""
    page = bytearray(2 + 0x1C)
    page[0], page[1] = CAPABILITIES, 0x1C
    page[2], page[3] = read_bits, write_bits
    page[4] = 0xC0 if write_bits else 0        # BUF, multi-session
    page[6] = 0x29                      # tray, eject, lock
    page[12:14] = buffer_kb.to_bytes(2, "big")
    page[18:20] = max_write_kbs.to_bytes(2, "big")
    return bytes(page)


# Page 05h byte -> the fields it holds (MMC-6 §7.5.4), to name the field a
# drive rejected (its sense points at a byte of the MODE SELECT parameter
# list, which starts with the 8-byte mode parameter header).
PAGE05_FIELDS = {2: "write type / test write / LS_V / BUFE", 3: "multi-session / FP / track mode",
                 4: "data block type", 5: "link size", 8: "session format",
                 10: "packet size", 11: "packet size", 12: "packet size", 13: "packet size"}


def rejected_field(parameter_byte):
    """The page 05h field at byte ``parameter_byte`` of the parameter list."""
    page_byte = parameter_byte - 8
    name = PAGE05_FIELDS.get(page_byte)
    return f"page 05h byte {page_byte}" + (f" ({name})" if name else "")
