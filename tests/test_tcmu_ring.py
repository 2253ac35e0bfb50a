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
SIZE = DATA_OFF + 256 * 1024


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


def test_write_goes_to_the_disc_and_big_reads_split(sim):
    """WRITE(10) data out (direction from the opcode), then a READ(10) of 64
    sectors, larger than the transport's 64 KiB: split, same bytes."""
    data = bytes(range(256)) * 8 * 64
    buf = _ring()
    writer = Writer(buf)
    writer.queue(bytes([0x2A, 0, 0, 0, 0, 0, 0, 0, 64, 0]), [len(data)], data)
    _serve(buf, sim)
    sim.execute(bytes([0x35] + [0] * 9))                   # SYNCHRONIZE CACHE
    off, iovs = writer.queue(bytes([0x28, 0, 0, 0, 0, 0, 0, 0, 64, 0]), [len(data)])
    trace = []

    class Lines:
        def write(self, text):
            trace.append(text)

        def flush(self):
            pass
    _serve(buf, sim, Lines())
    assert buf[off + tcmu.RSP_STATUS] == tcmu.GOOD, trace
    assert bytes(buf[iovs[0][0]:iovs[0][0] + len(data)]) == data
    assert trace and trace[0].startswith("28 00 00 00 00 00 00 00 40 00 | from-device 131072 | ok")


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
