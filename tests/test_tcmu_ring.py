"""burner.tcmu without a kernel: a bytearray laid out as the TCMU mailbox,
command ring and data area (include/uapi/linux/target_core_user.h), answered
by a SimTransport.  The offsets written here are the header's (the union
after the 8-byte entry header is 8-aligned: cdb_off at 24, iov[] at 48)."""

import struct

import pytest

from burner import simstate, tcmu
from burner.sim import SimTransport

CMDR_OFF, CMDR_SIZE = 128, 4096
DATA_OFF = CMDR_OFF + CMDR_SIZE
SIZE = DATA_OFF + 1024 * 1024


def _ring(flags=tcmu.CAP_READ_LEN):
    buf = bytearray(SIZE)
    struct.pack_into("<HHIII", buf, 0, 2, flags, CMDR_OFF, CMDR_SIZE, 0)
    return buf


class Writer:
    """Plays the kernel: queues entries at cmd_head."""

    def __init__(self, buf):
        self.buf = buf
        self.data = DATA_OFF

    def head(self):
        return struct.unpack_from("<I", self.buf, 12)[0]

    def queue(self, cdb, iov_sizes=(), payload=b"", op=tcmu.OP_CMD, pad_to=None):
        head = self.head()
        off = CMDR_OFF + head
        length = pad_to or (48 + 16 * len(iov_sizes) + 16 + 7) // 8 * 8
        struct.pack_into("<IHBB", self.buf, off, length | op, 7, 0, 0)
        if op == tcmu.OP_CMD:
            cdb_off = off + 48 + 16 * len(iov_sizes)
            struct.pack_into("<III", self.buf, off + 8, len(iov_sizes), 0, 0)
            struct.pack_into("<Q", self.buf, off + 24, cdb_off)
            self.buf[cdb_off:cdb_off + len(cdb)] = cdb
            iovs = []
            for i, n in enumerate(iov_sizes):
                struct.pack_into("<QQ", self.buf, off + 48 + 16 * i, self.data, n)
                iovs.append((self.data, n))
                self.data += n
            pos = 0
            for base, n in iovs:
                self.buf[base:base + n] = payload[pos:pos + n].ljust(n, b"\0")[:n]
                pos += n
        struct.pack_into("<I", self.buf, 12, (head + length) % CMDR_SIZE)
        return off, iovs if op == tcmu.OP_CMD else []


@pytest.fixture
def sim(tmp_path):
    path = tmp_path / "disc.img"
    simstate.create(str(path), "cd-r")
    transport = SimTransport(str(path))
    yield transport
    transport.close()


def _serve(buf, sim, trace=None):
    ring = tcmu.Ring(buf)
    responder = tcmu.Responder(sim, trace)
    cmds = list(_answer_all(ring, responder))
    ring.close()
    return cmds


def _answer_all(ring, responder):
    for cmd in ring.pending():
        responder.answer(ring, cmd)
        yield cmd


def test_layout_matches_the_uapi_header():
    assert (tcmu.MB_CMDR_OFF, tcmu.MB_HEAD, tcmu.MB_TAIL) == (4, 12, 64)
    assert (tcmu.REQ_IOV_CNT, tcmu.REQ_CDB_OFF, tcmu.REQ_IOV) == (8, 24, 48)
    assert (tcmu.RSP_STATUS, tcmu.RSP_READ_LEN, tcmu.RSP_SENSE) == (8, 12, 16)


def test_inquiry_data_in_and_residual(sim):
    buf = _ring()
    off, iovs = Writer(buf).queue(bytes([0x12, 0, 0, 0, 0xFF, 0]), [200, 100])
    cmds = _serve(buf, sim)
    assert [c.cdb[0] for c in cmds] == [0x12]
    assert buf[off + tcmu.RSP_STATUS] == tcmu.GOOD
    read_len, = struct.unpack_from("<I", buf, off + tcmu.RSP_READ_LEN)
    assert read_len == 96                     # the residual: 255 asked, 96 sent
    assert buf[off + tcmu.ENT_UFLAGS] & tcmu.UFLAG_READ_LEN
    base = iovs[0][0]
    assert buf[base] == 5 and buf[base + 1] & 0x80        # type 5, removable
    assert bytes(buf[base + 8:base + 16]) == b"ISOFUSE "
    assert struct.unpack_from("<I", buf, 64)[0] == struct.unpack_from("<I", buf, 12)[0]


def test_data_split_over_iovecs(sim):
    """READ DISC INFORMATION, 34 bytes asked, over iovecs of 10 and 24."""
    buf = _ring()
    _, iovs = Writer(buf).queue(bytes([0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0]), [10, 24])
    _serve(buf, sim)
    reply = bytes(buf[iovs[0][0]:iovs[0][0] + 10]) + bytes(buf[iovs[1][0]:iovs[1][0] + 24])
    assert reply == sim.execute(bytes([0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0]),
                                "from-device", length=34)


def test_check_condition_carries_the_sense(sim):
    buf = _ring()
    off, _ = Writer(buf).queue(bytes([0xE7] + [0] * 9), [8])
    _serve(buf, sim)
    assert buf[off + tcmu.RSP_STATUS] == tcmu.CHECK_CONDITION
    sense = bytes(buf[off + tcmu.RSP_SENSE:off + tcmu.RSP_SENSE + 18])
    assert sense[0] & 0x7F == 0x70 and sense[2] & 0x0F == 5 and sense[12] == 0x20


class Lines:
    """A trace file in a list."""

    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines.append(text)

    def flush(self):
        pass


BIG = bytes(range(256)) * 8 * 64        # 64 sectors, 128 KiB: over SG_IO's 64 KiB


def _written(sim):
    """The 64 sectors of BIG written at LBA 0 of the CD-R through the ring
    in ONE WRITE(10) of 128 KiB; returns the ring and its writer."""
    buf = _ring()
    writer = Writer(buf)
    off, _ = writer.queue(bytes([0x2A, 0, 0, 0, 0, 0, 0, 0, 64, 0]), [len(BIG)], BIG)
    trace = Lines()
    _serve(buf, sim, trace)
    assert buf[off + tcmu.RSP_STATUS] == tcmu.GOOD, trace.lines
    sim.execute(bytes([0x35] + [0] * 9))                   # SYNCHRONIZE CACHE
    return buf, writer


def _one(buf, writer, sim, cdb, size):
    """Queue one data-in command, answer it; (status, data, sense, trace)."""
    off, iovs = writer.queue(cdb, [size])
    trace = Lines()
    _serve(buf, sim, trace)
    base = iovs[0][0]
    sense = bytes(buf[off + tcmu.RSP_SENSE:off + tcmu.RSP_SENSE + 18])
    return buf[off + tcmu.RSP_STATUS], bytes(buf[base:base + size]), sense, trace.lines


@pytest.mark.parametrize("cdb", [
    bytes([0x28, 0, 0, 0, 0, 0, 0, 0, 64, 0]),                  # READ(10)
    bytes([0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0]),            # READ(12)
    bytes([0xBE, 0x08, 0, 0, 0, 0, 0, 0, 64, 0x10, 0, 0]),      # READ CD, Mode 1, user data
], ids=["read10", "read12", "read-cd"])
def test_reads_over_64_kib_are_answered_whole(sim, cdb):
    """MMC-6 §6.15/§6.16/§6.20: a drive takes any transfer length the CDB
    states; the 64 KiB is SG_IO's limit (transport.MAX_TRANSFER), not the
    drive's.  One CDB in the ring, answered whole: one trace line, one
    READ to the simulated drive, the bytes written."""
    buf, writer = _written(sim)
    status, data, sense, trace = _one(buf, writer, sim, cdb, len(BIG))
    assert status == tcmu.GOOD, (sense.hex(), trace)
    assert data == BIG
    assert len(trace) == 1 and trace[0].startswith(
        cdb.hex(" ") + " | from-device 131072 | ok 131072")


@pytest.mark.parametrize("cdb", [
    bytes([0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 65, 0, 0]),            # READ(12), one past
    bytes([0xBE, 0, 0, 0, 0, 0, 0, 0, 65, 0x10, 0, 0]),         # READ CD, one past
], ids=["read12", "read-cd"])
def test_reads_past_the_recorded_end_are_out_of_range(tmp_path, cdb):
    """MMC-6: a read past the end of the recorded data is 5/21/00 (LOGICAL
    BLOCK ADDRESS OUT OF RANGE), with the first sector that fails in the
    INFORMATION field -- not 5/24/00, the length is a valid field.  A
    closed CD of one 64-sector track; sectors 0-63 in one command read."""
    image = tmp_path / "image.iso"
    image.write_bytes(BIG)
    path = tmp_path / "cd.img"
    simstate.create(str(path), "cd-r", image=str(image))
    with SimTransport(str(path)) as cd:
        buf = _ring()
        writer = Writer(buf)
        good = cdb[:9] + bytes([64]) + cdb[10:] if cdb[0] == 0xA8 else \
            cdb[:8] + bytes([64]) + cdb[9:]
        status, data, _, _ = _one(buf, writer, cd, good, len(BIG))
        assert status == tcmu.GOOD and data == BIG
        status, _, sense, trace = _one(buf, writer, cd, cdb, 65 * 2048)
    assert status == tcmu.CHECK_CONDITION, trace
    assert (sense[2] & 0x0F, sense[12], sense[13]) == (5, 0x21, 0x00)
    assert sense[0] & 0x80 and int.from_bytes(sense[3:7], "big") == 64


def test_read12_any_length_up_to_the_medium_end(tmp_path):
    """A formatted DVD+RW reads to its last sector; READ(12) of the largest
    transfer length (FFFFFFFFh blocks) from the last sector is refused at
    the medium's end, 5/21/00 naming the first sector past it."""
    path = tmp_path / "dvd.img"
    simstate.create(str(path), "dvd+rw", capacity=200, formatted=True)
    with SimTransport(str(path)) as dvd:
        last = dvd.execute(bytes([0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0]),
                           "from-device", length=200 * 2048)
        assert len(last) == 200 * 2048
        with pytest.raises(tcmu.ScsiError) as refused:
            dvd.execute(bytes([0xA8, 0, 0, 0, 0, 199, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]),
                        "from-device", length=2048)
    assert (refused.value.key, refused.value.asc, refused.value.ascq) == (5, 0x21, 0x00)
    assert int.from_bytes(refused.value.sense_bytes[3:7], "big") == 200


def test_read_cd_sync_and_header_fields(sim):
    """READ CD byte 9 B0h (sync, header, user data; no EDC/ECC): sync (ECMA-130
    §14.1: 00h, ten FFh, 00h), the header (§14.2: the address in BCD MSF,
    LBA + 150 frames, then mode 1) and the user data: 2064 bytes a sector,
    40 sectors (over 64 KiB) in one command."""
    buf, writer = _written(sim)
    cdb = bytes([0xBE, 0, 0, 0, 0, 0, 0, 0, 40, 0xB0, 0, 0])
    status, data, sense, trace = _one(buf, writer, sim, cdb, 40 * 2064)
    assert status == tcmu.GOOD, (sense.hex(), trace)
    for i in (0, 39):
        sector = data[i * 2064:(i + 1) * 2064]
        assert sector[:12] == b"\x00" + b"\xff" * 10 + b"\x00"
        second, frame = divmod(i + 150, 75)         # minute 0: under 60 s
        bcd = bytes(int(str(v), 16) for v in (0, second, frame))
        assert sector[12:16] == bcd + b"\x01"
        assert sector[16:] == BIG[i * 2048:(i + 1) * 2048]


def test_read_cd_refusals_follow_the_medium(sim, tmp_path):
    """Expected sector type CD-DA on a Mode 1 track: 5/64/00 (ILLEGAL MODE
    FOR THIS TRACK); READ CD on a DVD: 5/30/02 (not a CD medium)."""
    buf, writer = _written(sim)
    cdb = bytes([0xBE, 0x04, 0, 0, 0, 0, 0, 0, 1, 0x10, 0, 0])
    status, _, sense, _ = _one(buf, writer, sim, cdb, 2048)
    assert status == tcmu.CHECK_CONDITION
    assert (sense[2] & 0x0F, sense[12], sense[13]) == (5, 0x64, 0x00)
    dvd = tmp_path / "dvd.img"
    simstate.create(str(dvd), "dvd+rw")
    with SimTransport(str(dvd)) as other:
        with pytest.raises(tcmu.ScsiError) as refused:
            other.execute(bytes([0xBE, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0, 0]),
                          "from-device", length=2048)
    assert (refused.value.key, refused.value.asc, refused.value.ascq) == (5, 0x30, 0x02)


def test_sg_io_keeps_its_64_kib_limit():
    """The limit is the SG_IO transport's: it refuses a larger transfer
    before any ioctl (so before opening anything matters), the simulated
    drive has none."""
    from burner import sgio, transport
    assert sgio.SgioTransport.max_transfer == transport.MAX_TRANSFER == 64 * 1024
    assert SimTransport.max_transfer is None

    class Unsent(sgio.SgioTransport):
        def __init__(self):
            self.name = "/dev/null-drive"

        def _execute(self, *args):
            raise AssertionError("sent")
    with pytest.raises(ValueError, match="exceeds this transport's limit of 65536"):
        Unsent().execute(bytes([0xA8] + [0] * 11), "from-device", length=64 * 1024 + 2048)


def test_pad_entry_and_wrap_around(sim):
    """A PAD entry up to the ring's end, then a command at offset 0: the
    tail follows the head around the ring."""
    buf = _ring()
    struct.pack_into("<I", buf, 12, CMDR_SIZE - 256)
    struct.pack_into("<I", buf, 64, CMDR_SIZE - 256)
    writer = Writer(buf)
    writer.queue(b"", op=tcmu.OP_PAD, pad_to=256)
    off, _ = writer.queue(bytes([0x00] * 6))               # TEST UNIT READY
    assert off == CMDR_OFF
    cmds = _serve(buf, sim)
    assert [c.op for c in cmds] == [tcmu.OP_PAD, tcmu.OP_CMD]
    assert struct.unpack_from("<I", buf, 64)[0] == struct.unpack_from("<I", buf, 12)[0]


def test_unknown_entry_is_flagged(sim):
    buf = _ring()
    off, _ = Writer(buf).queue(b"", op=tcmu.OP_TMR, pad_to=64)
    _serve(buf, sim)
    assert buf[off + tcmu.ENT_UFLAGS] & tcmu.UFLAG_UNKNOWN_OP


def test_without_read_len_capability_no_residual_is_written(sim):
    buf = _ring(flags=0)
    off, _ = Writer(buf).queue(bytes([0x12, 0, 0, 0, 0xFF, 0]), [255])
    _serve(buf, sim)
    assert not buf[off + tcmu.ENT_UFLAGS] & tcmu.UFLAG_READ_LEN


def test_bad_mailbox_version():
    buf = bytearray(SIZE)
    with pytest.raises(Exception, match="mailbox version"):
        tcmu.Ring(buf)
