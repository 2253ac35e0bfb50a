"""Write parameters page 05h (MMC-6 §7.5.4) in the simulated drive: the page
the drive holds for the loaded medium, and MODE SELECT validation with the
field pointer of the first field it rejects (docs/burner-sim-contract.md 3).

Only CD-R/RW and the DVD-R family have the page (MMC-6 §7.5.3: DVD+R, DVD+RW,
BD do not); the byte offsets below are of the page, those in the sense are
of the MODE SELECT parameter list (8-byte header + block descriptors + page).
"""

from .simfeatures import LINK_SIZES
from .simsense import Check, invalid_parameter

PAGE_CODE, PAGE_LENGTH = 0x05, 0x32
WT_INCREMENTAL, WT_TAO, WT_DAO = 0, 1, 2
TRACK_MODE_CD, TRACK_MODE_DVD = 4, 5
BLOCK_MODE1 = 8
BLOCK_MODE2_FORM1 = 10                       # CD-ROM XA mode 2 form 1, 2048 bytes (-xa)
SESSION_XA = 0x20
DVD_PACKET_SIZE = 16                         # fixed packet: one ECC block
SUBMODE_FORM2 = 0x20                         # sub-header submode bit 5: form 2
CD_SESSION_FORMATS = (0x00, 0x10, 0x20)      # CD-DA/CD-ROM, CD-I, CD-ROM XA


def has_page05(sim):
    return sim.info.family in ("cd", "dvd-r")


def dvd_write_types(sim):
    """A DVD-RW quick-blanked (BLANK minimal) has no Incremental Streaming
    (feature 0021h not current): DAO only, as libburn's cookbook observed."""
    if sim.state.profile == 0x14 and sim.state.quick_blanked:
        return (WT_DAO,)
    return (WT_INCREMENTAL, WT_DAO)


def default_page(sim):
    """The page as a drive reports it before any MODE SELECT."""
    page = bytearray(2 + PAGE_LENGTH)
    page[0], page[1] = PAGE_CODE, PAGE_LENGTH
    if sim.info.family == "cd":
        page[2], page[3], page[4] = 0x40 | WT_TAO, TRACK_MODE_CD, BLOCK_MODE1
    elif WT_INCREMENTAL in dvd_write_types(sim):
        page[2], page[3], page[4] = 0x40 | 0x20 | WT_INCREMENTAL, TRACK_MODE_DVD, BLOCK_MODE1
        page[5] = LINK_SIZES[0]
    else:
        page[2], page[3], page[4] = 0x40 | WT_DAO, TRACK_MODE_DVD, BLOCK_MODE1
    return bytes(page)


def current_page(sim):
    sim.need_medium()
    if not has_page05(sim):
        raise Check(5, 0x24, 0x00, field=(2, 5, True))   # MODE SENSE: no such page here
    if sim.page05 is None:
        sim.page05 = default_page(sim)
    return sim.page05


class Page05:
    """Decoded fields of a page 05h (MMC-6 §7.5.4.2)."""

    def __init__(self, page):
        self.bufe = bool(page[2] & 0x40)
        self.ls_v = bool(page[2] & 0x20)
        self.test_write = bool(page[2] & 0x10)
        self.write_type = page[2] & 0x0F
        self.multisession = page[3] >> 6
        self.fixed_packet = bool(page[3] & 0x20)
        self.track_mode = page[3] & 0x0F
        self.block_type = page[4] & 0x0F
        self.link_size = page[5]
        self.session_format = page[8]
        self.packet_size = int.from_bytes(page[10:14], "big")
        self.subheader = bytes(page[48:52])  # file, channel, submode, coding (mode 2)


def _rejections(sim, p):
    """(page byte, bit, is wrong) in the order a drive checks them."""
    cd = sim.info.family == "cd"
    incremental = p.write_type == WT_INCREMENTAL
    allowed = (WT_TAO, WT_DAO) if cd else dvd_write_types(sim)
    blocks = (BLOCK_MODE1, BLOCK_MODE2_FORM1) if cd else (BLOCK_MODE1,)
    xa = p.block_type == BLOCK_MODE2_FORM1
    # CD SAO: the cue sheet gives each track's mode and data form, so track
    # mode and data block type are not checked (libburn sends 0 for both)
    cd_sao = cd and p.write_type == WT_DAO
    yield 2, 3, p.write_type not in allowed
    yield 2, 4, p.test_write and not sim.info.dummy
    yield 2, 5, p.ls_v != (not cd and incremental)
    yield 3, 7, p.multisession not in (0b00, 0b11)
    # MMC-6 §7.5.4.9/.17: fixed packets go with Incremental on a DVD-R, whose
    # packet is one 16-sector ECC block (growisofs selects FP=1, size 16);
    # variable packets (FP=0) have no packet size.
    yield 3, 5, p.fixed_packet and (cd or not incremental)
    yield 3, 3, not cd_sao and p.track_mode != (TRACK_MODE_CD if cd else TRACK_MODE_DVD)
    yield 4, 3, not cd_sao and p.block_type not in blocks
    yield 5, 7, p.link_size != 0 if (cd or not incremental) else p.link_size not in LINK_SIZES
    yield 8, 7, cd and p.session_format not in CD_SESSION_FORMATS
    yield 8, 7, xa and p.session_format != SESSION_XA   # mode 2 sits in an XA session
    yield 10, 7, p.packet_size != (DVD_PACKET_SIZE if p.fixed_packet else 0)
    yield 50, 5, xa and bool(p.subheader[2] & SUBMODE_FORM2)  # form 1 data, not form 2


def mode_select(sim, cdb, data):
    """MODE SELECT(10) of page 05h: every field checked for the medium and
    write type; 5/26/00 names the first rejected byte (SPC-4 §4.5.2.4.2)."""
    sim.need_medium()
    data = bytes(data or b"")
    if len(data) < 8:
        raise Check(5, 0x1A, 0x00)
    base = 8 + int.from_bytes(data[6:8], "big")
    page = data[base:]
    if len(page) < 2 or page[0] & 0x3F != PAGE_CODE:
        raise invalid_parameter(base, 5)
    if not has_page05(sim) or not sim.drive_kind.writes_profile(sim.state.profile):
        raise invalid_parameter(base, 5)
    if page[1] != PAGE_LENGTH or len(page) < 2 + PAGE_LENGTH:
        raise invalid_parameter(base + 1, 7)
    page = page[:2 + PAGE_LENGTH]
    for byte, bit, wrong in _rejections(sim, Page05(page)):
        if wrong:
            raise invalid_parameter(base + byte, bit)
    sim.page05 = bytes(page)
    return b""


def params(sim):
    """The page in force, decoded (the default one if none was selected)."""
    if sim.page05 is None:
        sim.page05 = default_page(sim)
    return Page05(sim.page05)
