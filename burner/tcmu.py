"""A TCMU (TCM in userspace) handler: the simulated drive as a real SCSI LUN.

The kernel's LIO target hands every SCSI command sent to a ``user_N``
backstore to userspace through a UIO device: a shared memory region holding
a mailbox, a command ring and a data area (the kernel's
Documentation/target/tcmu-design.rst; the layout is that of
include/uapi/linux/target_core_user.h, see docs/tcmu.md).  This module maps
that region, takes each command entry off the ring, answers its CDB with a
``SimTransport`` (data in or out, sense, residual) and puts the response back
in the same entry.  ``tools/vm run --sim-drive PATH`` runs it in the guest
so /dev/sr0 and /dev/sg0 are the simulated drive.

    python3 -m burner.tcmu serve [--trace] [--ready FILE] NAME=PATH...

The ring parsing (``Ring``) works on any writable buffer, so it is tested
without a kernel on a bytearray laid out like the ring.
"""

import argparse
import contextlib
import mmap
import os
import select
import signal
import struct
import sys
from dataclasses import dataclass

from .sense import ScsiError, TransportError
from .transport import FROM_DEVICE, NONE, TO_DEVICE

# struct tcmu_mailbox (packed): version u16, flags u16, cmdr_off u32,
# cmdr_size u32, cmd_head u32; cmd_tail u32 on its own 64-byte cache line.
MB_VERSION, MB_FLAGS, MB_CMDR_OFF, MB_CMDR_SIZE, MB_HEAD, MB_TAIL = 0, 2, 4, 8, 12, 64
CAP_READ_LEN = 1 << 1          # TCMU_MAILBOX_FLAG_CAP_READ_LEN
# struct tcmu_cmd_entry_hdr (packed, 8 bytes): len_op u32, cmd_id u16,
# kflags u8, uflags u8.  The low 3 bits of len_op are the opcode.
OP_MASK = 0x7
OP_PAD, OP_CMD, OP_TMR = 0, 1, 2
UFLAG_UNKNOWN_OP, UFLAG_READ_LEN = 0x1, 0x2
ENT_UFLAGS = 7
# The union after the header is not packed: its u64 members align it to 8.
# req: iov_cnt u32 @8, iov_bidi_cnt @12, iov_dif_cnt @16, (4 bytes padding),
# cdb_off u64 @24, two u64 pads, iov[] (struct iovec: base u64, len u64) @48.
REQ_IOV_CNT, REQ_BIDI_CNT, REQ_DIF_CNT, REQ_CDB_OFF, REQ_IOV = 8, 12, 16, 24, 48
# rsp: scsi_status u8 @8, pads, read_len u32 @12, sense_buffer[96] @16.
RSP_STATUS, RSP_READ_LEN, RSP_SENSE, SENSE_SIZE = 8, 12, 16, 96

GOOD, CHECK_CONDITION = 0x00, 0x02
# sense for what the handler itself cannot do (SPC-4 fixed format, 70h)
SENSE_INVALID_FIELD = (5, 0x24, 0x00)
SENSE_INTERNAL_FAILURE = (4, 0x44, 0x00)

# Opcodes whose data goes to the device (the ring does not say the
# direction; SPC-4 / MMC-6 define it per command).
DATA_OUT = {0x04: "FORMAT UNIT", 0x15: "MODE SELECT(6)", 0x2A: "WRITE(10)",
            0x2E: "WRITE AND VERIFY(10)", 0x54: "SEND OPC INFORMATION",
            0x55: "MODE SELECT(10)", 0x5D: "SEND CUE SHEET", 0xA3: "SEND KEY",
            0xAA: "WRITE(12)", 0xB6: "SET STREAMING", 0xBF: "SEND DISC STRUCTURE"}
TRACE_NO_DATA = (0x2A, 0x2E, 0xAA)     # the disc's contents: not traced
TRACE_DATA_MAX = 256


def cdb_length(opcode):
    """SPC-4 §4.2.5.1: the group code (top 3 bits) gives the CDB length."""
    return {0: 6, 1: 10, 2: 10, 4: 16, 5: 12}.get(opcode >> 5, 10)


def fixed_sense(key, asc, ascq):
    out = bytearray(18)
    out[0], out[2], out[7], out[12], out[13] = 0x70, key, 10, asc, ascq
    return bytes(out)


@dataclass
class Command:
    """One command entry of the ring."""
    offset: int          # of the entry, from the start of the mapping
    length: int          # of the entry in the ring
    op: int
    cmd_id: int
    cdb: bytes
    iovs: list           # [(offset in the mapping, length)]

    @property
    def data_length(self):
        return sum(n for _, n in self.iovs)


class Ring:
    """The mailbox and command ring in buf (an mmap or a bytearray)."""

    def __init__(self, buf):
        self.buf = buf
        self.view = memoryview(buf)
        version, = struct.unpack_from("<H", buf, MB_VERSION)
        if version not in (1, 2):
            raise TransportError("TCMU mailbox version %d is not known" % version)
        self.flags, = struct.unpack_from("<H", buf, MB_FLAGS)
        self.cmdr_off, self.cmdr_size = struct.unpack_from("<II", buf, MB_CMDR_OFF)

    @property
    def head(self):
        return struct.unpack_from("<I", self.buf, MB_HEAD)[0]

    @property
    def tail(self):
        return struct.unpack_from("<I", self.buf, MB_TAIL)[0]

    def _set_tail(self, value):
        struct.pack_into("<I", self.buf, MB_TAIL, value % self.cmdr_size)

    def pending(self):
        """Yield the entries between tail and head, advancing the tail after
        each (the caller answers an entry before asking for the next)."""
        while self.tail != self.head:
            off = self.cmdr_off + self.tail
            len_op, cmd_id = struct.unpack_from("<IH", self.buf, off)
            length, op = len_op & ~OP_MASK, len_op & OP_MASK
            if length == 0:
                raise TransportError("TCMU ring entry of length 0 at %d" % self.tail)
            cmd = Command(off, length, op, cmd_id, b"", [])
            if op == OP_CMD:
                self._parse_request(cmd)
            yield cmd
            self._set_tail(self.tail + length)

    def _parse_request(self, cmd):
        count, = struct.unpack_from("<I", self.buf, cmd.offset + REQ_IOV_CNT)
        cdb_off, = struct.unpack_from("<Q", self.buf, cmd.offset + REQ_CDB_OFF)
        opcode = self.buf[cdb_off]
        cmd.cdb = bytes(self.buf[cdb_off:cdb_off + cdb_length(opcode)])
        for i in range(count):
            base, size = struct.unpack_from("<QQ", self.buf, cmd.offset + REQ_IOV + 16 * i)
            cmd.iovs.append((base, size))

    def gather(self, cmd):
        """The data-out bytes of cmd's iovecs, in order."""
        return b"".join(bytes(self.view[b:b + n]) for b, n in cmd.iovs)

    def scatter(self, cmd, data):
        """Copy data-in into cmd's iovecs; returns the bytes placed."""
        pos = 0
        for base, size in cmd.iovs:
            part = data[pos:pos + size]
            self.view[base:base + len(part)] = part
            pos += len(part)
            if pos >= len(data):
                break
        return pos

    def respond(self, cmd, status, sense=b"", read_len=None):
        """Write the response into the entry (over the request fields)."""
        off = cmd.offset
        self.buf[off + RSP_STATUS] = status
        sense = bytes(sense[:SENSE_SIZE])
        self.view[off + RSP_SENSE:off + RSP_SENSE + SENSE_SIZE] = \
            sense + bytes(SENSE_SIZE - len(sense))
        if read_len is not None and self.flags & CAP_READ_LEN:
            struct.pack_into("<I", self.buf, off + RSP_READ_LEN, read_len)
            self.buf[off + ENT_UFLAGS] |= UFLAG_READ_LEN

    def close(self):
        """Release the view (an mmap cannot close while it is exported)."""
        self.view.release()

    def unknown(self, cmd):
        """An entry type this handler does not know (e.g. a TMR)."""
        self.buf[cmd.offset + ENT_UFLAGS] |= UFLAG_UNKNOWN_OP


class Responder:
    """Answers ring commands with a transport (SimTransport); keeps a trace."""

    def __init__(self, transport, trace=None):
        self.transport = transport
        self.trace = trace            # a text file or None

    def answer(self, ring, cmd):
        if cmd.op != OP_CMD:
            if cmd.op != OP_PAD:
                ring.unknown(cmd)
            return
        direction = TO_DEVICE if cmd.cdb[0] in DATA_OUT and cmd.data_length else \
            FROM_DEVICE if cmd.data_length else NONE
        data = ring.gather(cmd) if direction == TO_DEVICE else None
        try:
            # The whole CDB, whatever its transfer length: the kernel's
            # transfer limit for the LUN (hw_max_sectors) is the kernel's;
            # the simulated drive answers any length MMC-6 allows.
            out = self.transport.execute(cmd.cdb, direction, data, cmd.data_length)
        except ScsiError as exc:
            sense = getattr(exc, "sense_bytes", None) or fixed_sense(
                exc.key, exc.asc, exc.ascq)
            ring.respond(cmd, CHECK_CONDITION, sense, read_len=0)
            self._log(cmd, direction, "check %X/%02X/%02X" % (exc.key, exc.asc, exc.ascq),
                      data)
            return
        except (TransportError, ValueError) as exc:
            key = SENSE_INVALID_FIELD if isinstance(exc, ValueError) else \
                SENSE_INTERNAL_FAILURE
            ring.respond(cmd, CHECK_CONDITION, fixed_sense(*key), read_len=0)
            self._log(cmd, direction, "check %X/%02X/%02X (%s)" % (key + (exc,)))
            return
        placed = ring.scatter(cmd, out) if direction == FROM_DEVICE else 0
        read_len = placed if direction == FROM_DEVICE else cmd.data_length
        ring.respond(cmd, GOOD, read_len=read_len)
        self._log(cmd, direction, "ok %d" % read_len, data)

    def _log(self, cmd, direction, result, data=None):
        """One line per CDB: CDB, direction, length, result, and the
        parameter data of a data-out command other than a WRITE."""
        if self.trace is None:
            return
        line = "%s | %s %d | %s" % (cmd.cdb.hex(" "), direction, cmd.data_length, result)
        if data is not None and cmd.cdb[0] not in TRACE_NO_DATA:
            line += " | " + data[:TRACE_DATA_MAX].hex(" ")
        self.trace.write(line + "\n")
        self.trace.flush()


# --------------------------------------------------------------------------
# the UIO device

def find_uio(name, sysfs="/sys/class/uio"):
    """/dev/uioN of the backstore NAME: its UIO name is
    "tcm-user/<hba>/<NAME>/<dev_config>" (target_core_user.c)."""
    for entry in sorted(os.listdir(sysfs)):
        try:
            with open(os.path.join(sysfs, entry, "name")) as f:
                uio_name = f.read().strip()
        except OSError:
            continue
        parts = uio_name.split("/", 3)
        if len(parts) >= 3 and parts[0] == "tcm-user" and parts[2] == name:
            with open(os.path.join(sysfs, entry, "maps", "map0", "size")) as f:
                size = int(f.read().strip(), 0)
            return "/dev/" + entry, size
    raise TransportError("no TCMU device for backstore %s in %s" % (name, sysfs))


@dataclass
class Drive:
    """One backstore served: its UIO device, disc and trace file."""
    uio_name: str
    path: str
    trace_path: str = None


def serve(drives, ready=None, sysfs="/sys/class/uio"):
    """Answer the rings of all drives (one process: a Python start costs
    seconds in an emulated guest) until SIGTERM/SIGINT; each disc is saved
    when its drive is idle and at the end."""
    from .sim import SimTransport
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    with contextlib.ExitStack() as stack:
        served = []
        for drive in drives:
            uio, size = find_uio(drive.uio_name, sysfs)
            transport = SimTransport(drive.path)
            stack.callback(transport.close)
            trace = stack.enter_context(open(drive.trace_path, "a")) \
                if drive.trace_path else None
            fd = os.open(uio, os.O_RDWR | os.O_CLOEXEC)
            stack.callback(os.close, fd)
            buf = stack.enter_context(mmap.mmap(fd, size, mmap.MAP_SHARED,
                                                mmap.PROT_READ | mmap.PROT_WRITE))
            ring = Ring(buf)
            stack.callback(ring.close)          # before the mmap closes
            served.append((fd, ring, Responder(transport, trace), transport))
        if ready:
            with open(ready, "w") as f:
                f.write("%d\n" % os.getpid())
        _loop(served, stop)


def _loop(served, stop):
    by_fd = {fd: rest for fd, *rest in served}
    while not stop:
        try:
            readable, _, _ = select.select(list(by_fd), [], [], 0.5)
        except InterruptedError:
            continue
        for fd in readable:
            os.read(fd, 4)                      # the interrupt count
        for fd, (ring, responder, transport) in by_fd.items():
            done = 0
            for cmd in ring.pending():
                responder.answer(ring, cmd)
                done += 1
            if done:
                os.write(fd, struct.pack("<I", 0))  # tell the kernel
            elif getattr(transport, "dirty", False):
                transport.save()                # idle: keep PATH current


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m burner.tcmu",
                                description="Serve simulated discs through TCMU.",
                                allow_abbrev=False)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve one or more drives", allow_abbrev=False,
                       description="Serve each DRIVE given as NAME=PATH: the "
                       "user_N backstore NAME answered by the simulated disc PATH "
                       "(sim:PATH without sim:).")
    s.add_argument("--trace", action="store_true",
                   help="append one line per CDB to PATH.cdb-trace")
    s.add_argument("--ready", help="write the PID here once every ring is mapped")
    s.add_argument("drives", nargs="+", metavar="NAME=PATH")
    args = p.parse_args(argv)
    drives = []
    for spec in args.drives:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            p.error("a drive is NAME=PATH, not %r" % spec)
        drives.append(Drive(name, path, path + ".cdb-trace" if args.trace else None))
    try:
        serve(drives, args.ready)
    except (TransportError, OSError) as exc:
        print("burner.tcmu: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
