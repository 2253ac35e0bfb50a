"""What the simulated drive says about itself: INQUIRY, GET CONFIGURATION
(MMC-6 §6.6, features §5.3) and the capabilities page 2Ah (MMC-3 §5.5.10).

A write feature is listed only when the drive kind has it, and is *current*
only when the drive can write the medium loaded (docs/burner-sim-contract.md
item 4).  Feature 0000h lists every profile the drive reads.
"""

from . import simperf
from .simkinds import CD, DVD, BD
from .simsense import invalid_cdb_field

LINK_SIZES = (16,)                  # feature 0021h: DVD-R link size, in sectors
BUFFER_KB = 2048


def inquiry(sim, cdb, data):
    """SPC-4 §6.4.2 standard INQUIRY data; peripheral type 5 = CD/DVD device."""
    out = bytearray(96)
    out[0] = 5 if sim.state.kind == "mmc" else 0
    out[2], out[3], out[4] = 0x05, 0x02, 91
    out[8:16] = b"ISOFUSE ".ljust(8)
    out[16:32] = sim.drive_kind.product.encode()[:16].ljust(16)
    out[32:36] = b"1.0 "
    return _allocation(bytes(out), int.from_bytes(cdb[3:5], "big"))


def _allocation(reply, length):
    """The host gets at most the allocation length it asked for."""
    return reply[:length]


def _feature(code, current, body=b"", version=0, persistent=False):
    """MMC-6 §5.2.2 feature descriptor: code, version (bits 5-2), persistent
    (bit 1), current (bit 0), additional length."""
    flags = (version & 0x0F) << 2 | (0x02 if persistent else 0) | (0x01 if current else 0)
    return code.to_bytes(2, "big") + bytes([flags, len(body)]) + body


def _profile_list(sim, current):
    body = b"".join(p.to_bytes(2, "big") + bytes([1 if p == current else 0, 0])
                    for p in sim.drive_kind.reads)
    return _feature(0x0000, True, body, persistent=True)


def _write_features(sim, current):
    """(code, is current, body, version) for each write feature of the drive."""
    kind, st = sim.drive_kind, sim.state
    writes = lambda *ps: current in ps and kind.writes_profile(current)  # noqa: E731
    out = []
    if kind.writes_profile(0x14) or kind.writes_profile(0x11):
        links = bytes(LINK_SIZES)
        body = (0x0100).to_bytes(2, "big") + bytes([0x01, len(links)]) + links
        body += bytes(-len(body) % 4)
        incremental = writes(0x11, 0x14, 0x15) and not (current == 0x14 and st.quick_blanked)
        out.append((0x0021, incremental, body, 1))          # §5.3.11 Incremental Streaming
    if kind.writes_profile(0x1A) or kind.writes_profile(0x43):
        out.append((0x0023, writes(0x13, 0x14, 0x1A, 0x43), bytes([0x07, 0, 0, 0]), 1))
    if kind.writes_profile(0x13):
        out.append((0x0026, writes(0x13), bytes(4), 0))     # Restricted Overwrite
        out.append((0x002C, writes(0x13), bytes([0x0F, 0, 0, 0]), 0))   # Rigid RO
    if kind.writes_profile(0x1A):
        out.append((0x002A, writes(0x1A), bytes([0x01, 0x00, 0, 0]), 0))   # DVD+RW, Write
    if kind.writes_profile(0x1B):
        out.append((0x002B, writes(0x1B), bytes([0x01, 0, 0, 0]), 0))      # DVD+R, Write
    if kind.writes_profile(0x09):
        # §5.3.17 CD Track at Once: BUF, Test Write, CD-RW; data types: mode 1
        out.append((0x002D, writes(0x09, 0x0A), bytes([0x46, 0, 0x00, 0x01]), 2))
        # §5.3.18 CD Mastering: BUF, SAO, Test Write, CD-RW (no raw);
        # bytes 5-7 the longest cue sheet taken (4 KiB)
        out.append((0x002E, writes(0x09, 0x0A), bytes([0x66, 0x00, 0x10, 0x00]), 0))
    if kind.writes_profile(0x11):
        # §5.3.19 DVD-R/-RW Write: BUF, RDL, Test Write, DVD-RW
        out.append((0x002F, writes(0x11, 0x14, 0x15), bytes([0x4E, 0, 0, 0]), 1))
    if kind.writes_profile(0x2B):
        out.append((0x003B, writes(0x2B), bytes([0x01, 0, 0, 0]), 0))      # DVD+R DL
    if kind.writes_profile(0x41):
        out.append((0x0041, writes(0x41, 0x42, 0x43), bytes([0, 0, 0, 0]) + bytes(24), 1))
    if kind.pseudo_overwrite:
        # BD-R Pseudo-Overwrite: current while a BD-R formatted SRM+POW is loaded
        out.append((0x0038, writes(0x41) and st.pow, bytes(4), 0))
    return out


def features(sim, current):
    """Every feature of the drive as (code, descriptor bytes, is current)."""
    medium = current != 0
    reads_bd = any(sim.drive_kind.reads_profile(p) for p in BD)
    listed = [
        (0x0000, _profile_list(sim, current), True),
        (0x0001, _feature(0x0001, True, (2).to_bytes(4, "big") + bytes([0x01, 0, 0, 0]),
                          version=2, persistent=True), True),        # Core: ATAPI, DBE
        (0x0003, _feature(0x0003, True, bytes([0x29, 0, 0, 0]), version=1,
                          persistent=True), True),                   # Removable: tray, eject
        (0x001E, _feature(0x001E, current in CD, bytes(4), version=2), current in CD),
        (0x001F, _feature(0x001F, current in DVD, bytes([0x01, 0, 0x01, 0]), version=1),
         current in DVD),
    ]
    if reads_bd:
        listed.append((0x0040, _feature(0x0040, current in BD, bytes(28), version=1),
                       current in BD))
    for code, is_current, body, version in _write_features(sim, current):
        listed.append((code, _feature(code, is_current, body, version), is_current))
    rt_streaming = _feature(0x0107, medium, bytes([0x1F, 0, 0, 0]), version=4)
    listed.append((0x0107, rt_streaming, medium))
    return sorted(listed)


def get_configuration(sim, cdb, data):
    """§6.6: RT 00b all features from the starting feature, 01b only the
    current ones, 10b only the starting one; the header's data length counts
    everything available, the reply is cut at the allocation length."""
    rt = cdb[1] & 3
    if rt == 3:
        raise invalid_cdb_field(1, 1)
    start = int.from_bytes(cdb[2:4], "big")
    current = sim.current_profile()
    chosen = []
    for code, desc, is_current in features(sim, current):
        if code < start or (rt == 1 and not is_current) or (rt == 2 and code != start):
            continue
        chosen.append(desc)
    body = bytes(2) + current.to_bytes(2, "big") + b"".join(chosen)
    reply = len(body).to_bytes(4, "big") + body
    return _allocation(reply, int.from_bytes(cdb[7:9], "big"))


# ---- MODE SENSE page 2Ah -------------------------------------------------------------------
def capabilities_page(sim):
    """MMC-3 §5.5.10 page 2Ah: byte 2 read bits (CD-R, CD-RW, -, DVD-ROM,
    DVD-R, DVD-RAM), byte 3 write bits (CD-R, CD-RW, test write, -, DVD-R),
    byte 4 bit 7 BUF (underrun-free recording) and bit 6 multi-session,
    byte 6 loading mechanism / eject / lock state, bytes 12-13 buffer KB,
    bytes 8-9 maximum and 14-15 current read speed, 18-19 maximum and 20-21
    current write speed, 28-29 current write speed selected (all kB/s; the
    speed fields are obsolete in MMC-6 but real drives fill them and wodim
    divides by them)."""
    kind = sim.drive_kind
    page = bytearray(2 + 0x1C)
    page[0], page[1] = 0x2A, 0x1C
    read_bits = 0x03 if kind.reads_profile(0x09) else 0
    read_bits |= 0x18 if kind.reads_profile(0x11) else 0
    write_bits = (0x01 if kind.writes_profile(0x09) else 0) \
        | (0x02 if kind.writes_profile(0x0A) else 0) \
        | (0x04 if kind.writes else 0) | (0x10 if kind.writes_profile(0x11) else 0)
    page[2], page[3] = read_bits, write_bits
    page[4] = (0x80 if kind.writes else 0) | 0x40 | 0x10     # BUF, multi-session, mode 2/1
    page[6] = 0x29 | (0x02 if sim.prevent else 0)            # tray, eject, lock (+ state)
    page[12:14] = BUFFER_KB.to_bytes(2, "big")
    max_write, current_write, read = _page_speeds(sim)
    page[8:10] = page[14:16] = read.to_bytes(2, "big")
    page[18:20] = max_write.to_bytes(2, "big")
    page[20:22] = page[28:30] = current_write.to_bytes(2, "big")
    return bytes(page)


def _page_speeds(sim):
    """(maximum write, current write, read) kB/s for page 2Ah: the medium's
    nominal speeds, as GET PERFORMANCE lists them (simperf), capped by the
    disc's throttle when it has one and by SET CD SPEED / SET STREAMING; a
    drive that does not write reports no write speed, and without a medium
    there is only the throttle to go by."""
    writes, read = simperf.medium_speeds_kbs(sim.state) if sim.state.medium else ([], 0)
    if not sim.drive_kind.writes:
        return 0, 0, read
    if not writes:
        return sim.state.speed_kbs, sim.state.speed_kbs, read
    return writes[0], simperf.in_effect(writes, sim.requested_kbs), read


def mode_sense(sim, cdb, data):
    """MODE SENSE(10): header (mode data length, no block descriptors) + page."""
    page = cdb[2] & 0x3F
    if page == 0x2A:
        body = capabilities_page(sim)
    elif page == 0x05:
        from .simpage05 import current_page
        body = current_page(sim)
    else:
        raise invalid_cdb_field(2, 5)
    reply = (len(body) + 6).to_bytes(2, "big") + bytes(6) + body
    return _allocation(reply, int.from_bytes(cdb[7:9], "big"))

