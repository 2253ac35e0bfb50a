"""READ(12) and READ CD in the simulated drive (docs/simulated-drive.md).

READ(12) (A8h, MMC-6's READ (12) command) is READ(10) with a 4-byte transfer length;
READ CD (BEh, MMC-6's READ CD command) reads CD sectors with a chosen set of fields.
Both answer any transfer length MMC-6 allows, as a drive does: the limit
of a host's transport (64 KiB for SG_IO, ``sgio.SgioTransport``) is not the
drive's.  Length 0 transfers nothing and is not an error; a range past the
recorded data or the medium's end is refused 5/21/00 (LOGICAL BLOCK ADDRESS
OUT OF RANGE) by ``simdisc.read_blocks``, the same rule as READ(10).

Every sector the simulator writes is a CD-ROM Mode 1 sector (ECMA-130
§14.4: 12 bytes of sync, a 4-byte header, 2048 bytes of user data, then
EDC and ECC), so READ CD returns the sync, the header and the user data;
the fields the simulator does not model (EDC/ECC, C2 error information,
sub-channel data) are refused 5/24/00 (INVALID FIELD IN CDB).
"""

from . import profiles, simdisc
from .simsense import Check, invalid_cdb_field

from isofuse.format.sectors import SECTOR

READ_12, READ_CD = 0xA8, 0xBE

# READ CD byte 1 bits 4-2, Expected Sector Type (MMC-6, READ CD): 000b any type,
# 001b CD-DA, 010b Mode 1, 011b Mode 2 formless, 100b/101b Mode 2 Form 1/2.
ANY_TYPE, MODE_1 = 0, 2
OTHER_TYPES = (1, 3, 4, 5)
# READ CD byte 9: SYNC (bit 7), Header Codes (bits 6-5: 00b none, 01b the
# 4-byte header, 10b the sub-header only, 11b all headers), User Data (bit 4),
# EDC & ECC (bit 3), C2 Error Information (bits 2-1).
SYNC_BIT, USER_DATA_BIT, EDC_ECC_BIT, C2_BITS = 0x80, 0x10, 0x08, 0x06
HEADER_NONE, HEADER_ONLY, SUBHEADER_ONLY, ALL_HEADERS = 0, 1, 2, 3
SYNC = b"\x00" + b"\xff" * 10 + b"\x00"      # ECMA-130 §14.1: the sync pattern
MSF_OFFSET = 150                              # LBA 0 is at 00:02:00 (2 s of 75 frames)


def read12(sim, cdb, data):
    """Bytes 2-5 the LBA, 6-9 the transfer length in blocks."""
    return simdisc.read_blocks(sim, int.from_bytes(cdb[2:6], "big"),
                               int.from_bytes(cdb[6:10], "big"))


def read_cd(sim, cdb, data):
    """Bytes 2-5 the starting LBA, 6-8 the transfer length in blocks, 9 the
    main-channel fields, 10 bits 2-0 the sub-channel selection."""
    sim.need_medium()
    if not profiles.is_cd(sim.state.profile):
        raise Check(5, 0x30, 0x02)              # CANNOT READ MEDIUM - INCOMPATIBLE FORMAT
    sector_type = (cdb[1] >> 2) & 0x07
    if sector_type in OTHER_TYPES:
        raise Check(5, 0x64, 0x00)              # ILLEGAL MODE FOR THIS TRACK
    if sector_type not in (ANY_TYPE, MODE_1):
        raise invalid_cdb_field(1, 4)
    fields, header = cdb[9], (cdb[9] >> 5) & 0x03
    if fields & (EDC_ECC_BIT | C2_BITS):
        raise invalid_cdb_field(9, 3 if fields & EDC_ECC_BIT else 2)
    if cdb[10] & 0x07:
        raise invalid_cdb_field(10, 2)
    if fields & SYNC_BIT and header == HEADER_NONE:
        raise invalid_cdb_field(9, 7)           # a sync without its header: no such format
    lba = int.from_bytes(cdb[2:6], "big")
    blocks = int.from_bytes(cdb[6:9], "big")
    user = simdisc.read_blocks(sim, lba, blocks)
    if fields & USER_DATA_BIT and not fields & SYNC_BIT and header == HEADER_NONE:
        return user                             # the common case: 2048 bytes a sector
    out = bytearray()
    for i in range(blocks):
        if fields & SYNC_BIT:
            out += SYNC
        if header in (HEADER_ONLY, ALL_HEADERS):    # Mode 1 has no sub-header
            out += _header(lba + i)
        if fields & USER_DATA_BIT:
            out += user[i * SECTOR:(i + 1) * SECTOR]
    return bytes(out)


def _header(lba):
    """ECMA-130 §14.2: minute, second, frame of the sector's address in BCD,
    then the mode byte (1)."""
    minute, rest = divmod(lba + MSF_OFFSET, 60 * 75)
    second, frame = divmod(rest, 75)
    return bytes(((v // 10) << 4 | v % 10) for v in (minute, second, frame)) + b"\x01"


ENTRIES = {READ_12: read12, READ_CD: read_cd}
