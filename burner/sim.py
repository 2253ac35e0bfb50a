"""A simulated MMC drive behind the transport interface, at the CDB level.

It receives CDBs and data buffers and answers with data or sense exactly as
a drive would, so the drive logic above cannot tell it from SG_IO, and it
refuses what real drives refuse (docs/burner-sim-contract.md; what it models
and why: docs/simulated-drive.md).  The disc lives in a plain image file
plus a state file (``simstate``).  The work is split by command group:

* ``simfeatures``  INQUIRY, GET CONFIGURATION, MODE SENSE (page 2Ah)
* ``simpage05``    MODE SELECT / MODE SENSE of the write parameters page
* ``simdisc``      disc and track information, TOC, capacity, READ(10)
* ``simwrite``     WRITE, SYNCHRONIZE CACHE, CLOSE, RESERVE, speeds, buffer
* ``simformat``    BLANK, FORMAT UNIT, READ FORMAT CAPACITIES (``simblank``: the
  partial blanking types)
* ``simcue``       SEND CUE SHEET and the CD session-at-once WRITEs
* ``simread``      READ(12) and READ CD

``DISPATCH`` maps an opcode to a function ``(sim, cdb, data) -> bytes``;
other modules may add entries to it.
"""

import os
import time

from . import (mmc, simcue, simdisc, simextra, simfeatures, simformat, simkinds,
               simpage05, simperf, simread, simstate, simwrite)
from .sense import ScsiError, TransportError, decode
from .simbuffer import DriveBuffer
from .simsense import Check
from .transport import TO_DEVICE, Transport

from isofuse.format.sectors import SECTOR
CD_FIRST_GAP, CD_NEXT_GAP = simwrite.SESSION_GAP["cd"]
SAVE_EVERY_S = 1.0          # a write in progress is saved this often (a killed host)
REPORT_LUNS, REQUEST_SENSE = 0xA0, 0x03
NO_ATTENTION = (mmc.INQUIRY, REPORT_LUNS, REQUEST_SENSE)   # SPC-4 §5.14: UA not reported
ATTENTION_SENSE = {"reset": (6, 0x29, 0x00), "medium_changed": (6, 0x28, 0x00)}


def _tur(sim, cdb, data):
    if sim.busy:
        sim.busy -= 1
        raise Check(2, 0x04, 0x07, 1 - (sim.busy + 1) / sim.busy_total)
    sim.need_medium()
    return b""


def _start_stop(sim, cdb, data):
    """START STOP UNIT (MMC-6 §6.40): eject (LoEj=1, Start=0) opens the tray,
    load (LoEj=1, Start=1) closes it.  An eject of an open tray and a load of
    a closed one do nothing (growisofs reloads with eject, eject, load).  The
    tray comes back with the same disc (tests reuse it): the change (6/28/00)
    goes to the first command after the load, not to START STOP UNIT.
    While it is open media commands answer 2/3A/02; closing the sim closes
    it (the next open finds the disc back, changed)."""
    if cdb[4] & 0x02:
        if cdb[4] & 0x01:
            sim.close_tray()
        elif not sim.tray_open:
            if sim.prevent:
                raise Check(5, 0x53, 0x02)
            sim.state.ejects += 1
            sim.tray_open = True
            sim.save()
    return b""


def _prevent(sim, cdb, data):
    sim.prevent = bool(cdb[4] & 1)
    return b""


DISPATCH = {
    mmc.TEST_UNIT_READY: _tur,
    mmc.INQUIRY: simfeatures.inquiry,
    mmc.GET_CONFIGURATION: simfeatures.get_configuration,
    mmc.MODE_SENSE_10: simfeatures.mode_sense,
    mmc.MODE_SELECT_10: simpage05.mode_select,
    mmc.READ_DISC_INFORMATION: simdisc.disc_information,
    mmc.READ_TRACK_INFORMATION: simdisc.track_information,
    mmc.READ_TOC: simdisc.toc,
    mmc.READ_CAPACITY: simdisc.capacity,
    mmc.READ_10: simdisc.read10,
    mmc.WRITE_10: simwrite.write10,
    mmc.SYNCHRONIZE_CACHE: simwrite.synchronize_cache,
    mmc.CLOSE_TRACK_SESSION: simwrite.close_track_session,
    mmc.RESERVE_TRACK: simwrite.reserve_track,
    mmc.SEND_CUE_SHEET: simcue.send_cue_sheet,
    mmc.SET_CD_SPEED: simwrite.set_cd_speed,
    mmc.SET_STREAMING: simwrite.set_streaming,
    mmc.READ_BUFFER_CAPACITY: simwrite.read_buffer_capacity,
    mmc.BLANK: simformat.blank,
    mmc.FORMAT_UNIT: simformat.format_unit,
    mmc.READ_FORMAT_CAPACITIES: simformat.read_format_capacities,
    mmc.START_STOP_UNIT: _start_stop,
    mmc.PREVENT_ALLOW: _prevent,
    0xAC: simperf.handle_get_performance,          # GET PERFORMANCE
    0xAD: simperf.handle_read_disc_structure,      # READ DISC STRUCTURE (format 20h)
    0xBF: simperf.handle_send_disc_structure,      # SEND DISC STRUCTURE (format 20h)
}
# EVPD INQUIRY, MODE SENSE page 3Fh and the 6-byte MODE commands (simextra.py)
DISPATCH.update(simextra.ENTRIES)
# READ(12) and READ CD (simread.py)
DISPATCH.update(simread.ENTRIES)


def _open_state(path):
    try:
        return simstate.load(path)
    except FileNotFoundError:
        raise TransportError(f"sim:{path}: no simulated disc there (create one with "
                             f"python3 -m burner.simtool create {path})") from None
    except simstate.StateError as exc:
        raise TransportError(f"sim:{exc}") from None
    except OSError as exc:
        raise TransportError(f"sim:{path}: cannot read the disc's state: "
                             f"{exc.strerror}") from None


class SimTransport(Transport):
    def __init__(self, path):
        self.path = os.fspath(path)
        self.name = "sim:" + self.path
        self.state = _open_state(self.path)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot open the disc image: "
                                 f"{exc.strerror}") from None
        self.drive_kind = simkinds.kind(self.state.drive)
        self.page05 = None          # MODE SELECT page 05h in force (None: the default)
        self.busy = 0
        self.busy_total = 1
        self.writes = 0
        self.long_write_left = 0
        self.calibrated = False
        self.requested_kbs = 0
        self.buffer = DriveBuffer()
        self.dummy_backup = None     # state to restore after a test write
        self.prevent = False
        self.tray_open = False       # ejected; closed by a load or by closing the sim
        self.last_save = time.monotonic()
        self.dirty = False

    # ---- transport ---------------------------------------------------------------------------
    def _execute(self, cdb, direction, data, length, timeout, name):
        if self.fd < 0:
            raise TransportError(f"{self.name}: closed")
        try:
            out = self._dispatch(cdb, data if direction == TO_DEVICE else None)
        except Check as check:
            error = ScsiError(decode(check.sense), name)
            error.sense_bytes = check.sense       # raw, for the field pointer
            raise error from None
        out = out or b""
        return bytes(out[:length])

    def close(self):
        if self.fd >= 0:
            self.close_tray()        # the next open finds the disc back, changed
            self._restore_after_dummy()
            if self.dirty:
                self.save()
            os.close(self.fd)
            self.fd = -1

    def _dispatch(self, cdb, data):
        op = cdb[0]
        if self.state.kind != "mmc":
            if op == mmc.INQUIRY:
                return simfeatures.inquiry(self, cdb, data)
            if op == mmc.TEST_UNIT_READY:
                return b""
            raise Check(5, 0x20, 0x00)
        handler = DISPATCH.get(op)
        if handler is None:
            raise Check(5, 0x20, 0x00)
        if op not in NO_ATTENTION:
            self._report_pending()
        return handler(self, cdb, data)

    def _report_pending(self):
        """A unit attention, then a deferred error, each reported once to
        the next command (contract item 6)."""
        st = self.state
        if st.attention:
            what = st.attention.pop(0)
            self.save()
            raise Check(*ATTENTION_SENSE[what])
        if st.deferred:
            key, asc, ascq, lba = st.deferred
            st.deferred = None
            self.save()
            raise Check(key, asc, ascq, info=lba, deferred=True)

    def close_tray(self):
        """The tray goes in with the disc: 6/28/00 then "becoming ready"."""
        if not self.tray_open:
            return
        self.tray_open = False
        if self.state.medium:
            simstate.load_disc(self.state)
            self.page05 = None
        self.save()

    # ---- what the command modules use ----------------------------------------------------------
    @property
    def info(self):
        return self.state.info

    def need_medium(self):
        """Media-access commands: no disc, a disc the drive cannot read,
        becoming ready after a load, or busy blanking/formatting."""
        st = self.state
        self.need_tray_in()
        if not st.medium:
            raise Check(2, 0x3A, 0x00)
        if st.becoming_ready > 0:
            st.becoming_ready -= 1
            self.save()
            raise Check(2, 0x04, 0x01)
        if not self.drive_kind.reads_profile(st.profile):
            raise Check(2, 0x30, 0x00)               # incompatible medium installed
        if self.busy:
            raise Check(2, 0x04, 0x07, 1 - self.busy / self.busy_total)

    def need_tray_in(self):
        if self.tray_open:
            raise Check(2, 0x3A, 0x02)               # medium not present - tray open

    def current_profile(self):
        st = self.state
        if not st.medium or self.tray_open or st.becoming_ready > 0 \
                or not self.drive_kind.reads_profile(st.profile):
            return 0
        return st.profile

    def read_error_faults(self):
        """read_error_at as (LBA, times it fails; -1 = always)."""
        value = self.state.faults.get("read_error_at")
        if value is None:
            return []
        if isinstance(value, int):
            return [(value, -1)]
        return [(int(v[0]), int(v[1])) for v in value]

    def save(self):
        if self.dummy_backup is None:
            simstate.save(self.path, self.state)
        self.last_save = time.monotonic()
        self.dirty = False

    def save_now_and_then(self):
        """After a WRITE: keep the file current enough that a host killed
        mid-write leaves the disc as far as it was written."""
        self.dirty = True
        if time.monotonic() - self.last_save >= SAVE_EVERY_S:
            self.save()

    def start_dummy(self):
        if self.dummy_backup is None:
            self.dummy_backup = simstate.DiscState(**{
                k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in vars(self.state).items()})

    def _restore_after_dummy(self):
        if self.dummy_backup is not None:
            self.state = self.dummy_backup
            self.dummy_backup = None
