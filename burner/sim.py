"""A simulated MMC drive behind the transport interface, at the CDB level.

It receives CDBs and data buffers and answers with data or sense exactly as
a drive would, so the drive logic above cannot tell it from SG_IO.  The
disc lives in a plain image file plus a state file (see ``simstate``).

Modelled: profiles CD-R, CD-RW, DVD-R, DVD-RW, DVD+R, DVD+RW, BD-R, BD-RE;
sequential recording at the next writable address, tracks and sessions,
CD session gaps (11400 sectors after the first session, 6900 after later
ones: lead-out + lead-in, as on real discs -- hosts must ask, not compute),
test writes that leave the disc untouched, blanking and formatting with
progress, a drive buffer drained at the throttled speed, and faults:
``underrun_at``, ``medium_error_at``, ``power_calibration``, ``remove_at``,
``long_write`` [every, count] and ``corrupt_at`` (silently).
"""

import os
import time

from . import mmc, pages, simstate
from .sense import ScsiError, TransportError, decode, fixed
from .simstate import Track
from .transport import TO_DEVICE, Transport

SECTOR = 2048
CD_FIRST_GAP, CD_NEXT_GAP = 11400, 6900
BUFFER_BYTES = 2 << 20
BUSY_POLLS = 4          # TEST UNIT READY polls an Immed blank/format stays busy


class _Check(Exception):
    def __init__(self, key, asc, ascq, progress=None):
        self.sense = fixed(key, asc, ascq, progress)


class SimTransport(Transport):
    def __init__(self, path):
        self.path = os.fspath(path)
        self.name = "sim:" + self.path
        try:
            self.state = simstate.load(self.path)
        except FileNotFoundError:
            raise TransportError(f"sim:{self.path}: no simulated disc there (create one with "
                                 f"python3 -m burner.simtool create {self.path})") from None
        self.fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        self.write_params = pages.WriteParameters(write_type=pages.WT_TAO) \
            if self.state.profile in (0x09, 0x0A) else pages.WriteParameters(
                write_type=pages.WT_INCREMENTAL, track_mode=pages.TRACK_MODE_DATA_DVD)
        self.busy = 0
        self.busy_total = 1
        self.writes = 0
        self.long_write_left = 0
        self.calibrated = False
        self.reserved = None
        self.requested_kbs = 0
        self.pending = 0.0           # bytes in the drive buffer
        self.last_drain = time.monotonic()
        self.dummy_backup = None     # state to restore after a test write
        self.prevent = False

    # ---- transport ---------------------------------------------------------------------------
    def _execute(self, cdb, direction, data, length, timeout, name):
        if self.fd < 0:
            raise TransportError(f"{self.name}: closed")
        try:
            out = self._dispatch(cdb, data if direction == TO_DEVICE else None)
        except _Check as check:
            raise ScsiError(decode(check.sense), name) from None
        out = out or b""
        return bytes(out[:length])

    def close(self):
        if self.fd >= 0:
            self._restore_after_dummy()
            os.close(self.fd)
            self.fd = -1

    # ---- helpers -----------------------------------------------------------------------------
    @property
    def info(self):
        return self.state.info

    def _save(self):
        if self.dummy_backup is None:
            simstate.save(self.path, self.state)

    def _restore_after_dummy(self):
        if self.dummy_backup is not None:
            self.state = self.dummy_backup
            self.dummy_backup = None

    def _need_medium(self):
        if not self.state.medium:
            raise _Check(2, 0x3A, 0x00)
        if self.busy:
            raise _Check(2, 0x04, 0x07, 1 - self.busy / self.busy_total)

    def _sequential(self):
        return not self.info.overwritable

    def _has_page05(self):
        return self.info.family in ("cd", "dvd-r")

    def _drain(self, incoming):
        """Model the drive buffer: it empties at the throttled speed; a full
        buffer makes the host wait (that is the throttle)."""
        speed = self.state.speed_kbs
        if self.requested_kbs and speed:
            speed = min(speed, self.requested_kbs)
        now = time.monotonic()
        if not speed:
            self.pending = 0
            self.last_drain = now
            return
        rate = speed * 1000.0
        self.pending = max(0.0, self.pending - (now - self.last_drain) * rate)
        self.last_drain = now
        over = self.pending + incoming - BUFFER_BYTES
        if over > 0:
            time.sleep(over / rate)
            # the buffer drained for as long as the sleep really took
            # (sleeps overshoot; counting only ``over`` would slow the drive)
            after = time.monotonic()
            self.pending = max(0.0, self.pending - (after - now) * rate)
            self.last_drain = after
        self.pending += incoming

    # ---- dispatch ----------------------------------------------------------------------------
    def _dispatch(self, cdb, data):
        op = cdb[0]
        st = self.state
        if st.kind != "mmc":
            if op == mmc.INQUIRY:
                return self._inquiry(peripheral=0)
            if op == mmc.TEST_UNIT_READY:
                return b""
            raise _Check(5, 0x20, 0x00)
        handler = {
            mmc.TEST_UNIT_READY: self._tur, mmc.INQUIRY: lambda c, d: self._inquiry(),
            mmc.GET_CONFIGURATION: self._configuration,
            mmc.READ_DISC_INFORMATION: self._disc_info,
            mmc.READ_TRACK_INFORMATION: self._track_info, mmc.READ_TOC: self._toc,
            mmc.READ_CAPACITY: self._capacity, mmc.MODE_SENSE_10: self._mode_sense,
            mmc.MODE_SELECT_10: self._mode_select, mmc.WRITE_10: self._write,
            mmc.READ_10: self._read, mmc.SYNCHRONIZE_CACHE: self._sync,
            mmc.CLOSE_TRACK_SESSION: self._close, mmc.BLANK: self._blank,
            mmc.FORMAT_UNIT: self._format, mmc.READ_FORMAT_CAPACITIES: self._format_caps,
            mmc.RESERVE_TRACK: self._reserve, mmc.SET_CD_SPEED: self._set_cd_speed,
            mmc.SET_STREAMING: self._set_streaming, mmc.READ_BUFFER_CAPACITY: self._buffer,
            mmc.START_STOP_UNIT: self._start_stop, mmc.PREVENT_ALLOW: self._prevent,
        }.get(op)
        if handler is None:
            raise _Check(5, 0x20, 0x00)
        return handler(cdb, data)

    def _tur(self, cdb, data):
        if self.busy:
            self.busy -= 1
            raise _Check(2, 0x04, 0x07, 1 - (self.busy + 1) / self.busy_total)
        self._need_medium()
        return b""

    def _inquiry(self, peripheral=5):
        out = bytearray(96)
        out[0] = peripheral
        out[2], out[3], out[4] = 0x05, 0x02, 91
        out[8:16] = b"ISOFUSE ".ljust(8)
        product = ("SIM " + self.info.name if self.state.drive_writes else "SIM ROM DRIVE")
        out[16:32] = product.encode()[:16].ljust(16)
        out[32:36] = b"1.0 "
        return bytes(out)

    def _drive_profiles(self):
        if not self.state.drive_writes:
            return [0x10, 0x08]
        return [0x43, 0x41, 0x40, 0x1B, 0x1A, 0x14, 0x11, 0x10, 0x0A, 0x09, 0x08]

    def _current_profile(self):
        st = self.state
        if not st.medium:
            return 0
        if not st.drive_writes:       # a ROM drive sees any disc as a ROM disc
            return 0x08 if st.profile in (0x08, 0x09, 0x0A) else 0x10
        return st.profile

    def _configuration(self, cdb, data):
        current = self._current_profile()
        descs = b"".join(p.to_bytes(2, "big") + bytes([1 if p == current else 0, 0])
                         for p in self._drive_profiles())
        feature0 = b"\x00\x00\x03" + bytes([len(descs)]) + descs
        core = b"\x00\x01\x0b\x08" + (1).to_bytes(4, "big") + b"\x01\x00\x00\x00"
        body = bytes(2) + current.to_bytes(2, "big") + feature0 + core
        return (len(body)).to_bytes(4, "big") + body

    def _disc_info(self, cdb, data):
        self._need_medium()
        st = self.state
        status = {"blank": 0, "appendable": 1, "complete": 2}[st.status]
        if self.info.overwritable:
            status = 2 if st.formatted and st.recorded_end else 0
            last_state = 3 if status else 0
        else:
            last_state = 3 if st.status == "complete" else (1 if st.open_track is not None else 0)
        erasable = st.profile in (0x0A, 0x14, 0x1A, 0x43)
        sessions = st.closed_sessions + (0 if st.status == "complete" else 1)
        next_track = len(st.tracks) + (0 if st.status == "complete" else 1)
        first_last = next(
            (i + 1 for i, t in enumerate(st.tracks) if t.session == sessions), next_track)
        out = bytearray(34)
        out[1] = 32
        out[2] = (0x10 if erasable else 0) | last_state << 2 | status
        out[3] = 1
        out[4], out[9] = sessions & 0xFF, sessions >> 8
        out[5], out[10] = first_last & 0xFF, first_last >> 8
        out[6], out[11] = next_track & 0xFF, next_track >> 8
        out[8] = 0x20 if st.profile in (0x09, 0x0A) and st.closed_sessions else 0
        return bytes(out)

    def _track_reply(self, number, session, start, nwa, free, size, blank, last):
        out = bytearray(36)
        out[1] = 34
        out[2], out[32] = number & 0xFF, number >> 8
        out[3], out[33] = session & 0xFF, session >> 8
        out[5] = 4 if self.info.family == "cd" else 5
        out[6] = (0x40 if blank else 0) | 1
        out[7] = (0x01 if nwa is not None else 0) | (0x02 if last is not None else 0)
        out[8:12] = start.to_bytes(4, "big")
        out[12:16] = (nwa or 0).to_bytes(4, "big")
        out[16:20] = max(0, free).to_bytes(4, "big")
        out[24:28] = size.to_bytes(4, "big")
        out[28:32] = (last or 0).to_bytes(4, "big")
        return bytes(out)

    def _track_info(self, cdb, data):
        self._need_medium()
        st = self.state
        if cdb[1] & 3 != 1:
            raise _Check(5, 0x24, 0x00)
        number = int.from_bytes(cdb[2:6], "big")
        if self.info.overwritable:
            if number not in (1, mmc.INVISIBLE_TRACK):
                raise _Check(5, 0x24, 0x00)
            return self._track_reply(1, 1, 0, st.recorded_end, st.capacity - st.recorded_end,
                                     st.capacity, not st.recorded_end,
                                     st.recorded_end - 1 if st.recorded_end else None)
        if number == mmc.INVISIBLE_TRACK or number == len(st.tracks) + 1:
            if st.status == "complete":
                raise _Check(5, 0x24, 0x00)
            session = st.closed_sessions + 1
            start = st.open_track if st.open_track is not None else st.nwa
            return self._track_reply(len(st.tracks) + 1, session, start, st.nwa,
                                     st.capacity - st.nwa, st.capacity - start, True,
                                     st.nwa - 1 if st.nwa > start else None)
        if not 1 <= number <= len(st.tracks):
            raise _Check(5, 0x24, 0x00)
        t = st.tracks[number - 1]
        return self._track_reply(number, t.session, t.start, None, 0, t.size, False, t.end - 1)

    def _toc(self, cdb, data):
        self._need_medium()
        st = self.state
        fmt = cdb[2] & 0x0F
        if not st.tracks:
            raise _Check(5, 0x24, 0x00)        # blank disc: no TOC
        if fmt == 1:
            starts = st.session_starts()
            last = st.tracks[-1].session
            first_track = next(i + 1 for i, t in enumerate(st.tracks) if t.session == last)
            body = bytes([1, last]) + bytes([0, 0x14, first_track, 0]) \
                + starts[-1].to_bytes(4, "big")
            return len(body).to_bytes(2, "big") + body
        if fmt == 0:
            descs = b"".join(bytes([0, 0x14, i + 1, 0]) + t.start.to_bytes(4, "big")
                             for i, t in enumerate(st.tracks))
            descs += bytes([0, 0x14, 0xAA, 0]) + st.tracks[-1].end.to_bytes(4, "big")
            body = bytes([1, len(st.tracks)]) + descs
            return len(body).to_bytes(2, "big") + body
        raise _Check(5, 0x24, 0x00)

    def _capacity(self, cdb, data):
        self._need_medium()
        last = max(self.state.recorded_end, 1) - 1
        return last.to_bytes(4, "big") + SECTOR.to_bytes(4, "big")

    def _mode_sense(self, cdb, data):
        page = cdb[2] & 0x3F
        if page == pages.CAPABILITIES:
            writes = 0x17 if self.state.drive_writes else 0
            body = pages.build_capabilities(0x3B, writes, buffer_kb=BUFFER_BYTES >> 10,
                                            max_write_kbs=self.state.speed_kbs or 0)
        elif page == pages.WRITE_PARAMETERS:
            self._need_medium()
            if not self._has_page05():
                raise _Check(5, 0x24, 0x00)    # DVD+R/+RW, BD: there is no page 05h
            body = pages.build_write_parameters(self.write_params)[8:]
        else:
            raise _Check(5, 0x24, 0x00)
        header = (len(body) + 6).to_bytes(2, "big") + bytes(6)
        return header + body

    def _mode_select(self, cdb, data):
        self._need_medium()
        page = data[8 + int.from_bytes(data[6:8], "big"):]
        if not page or page[0] & 0x3F != pages.WRITE_PARAMETERS:
            raise _Check(5, 0x26, 0x00)
        if not self._has_page05() or not self.state.drive_writes:
            raise _Check(5, 0x26, 0x00)
        params = pages.parse_write_parameters(page)
        allowed = (pages.WT_TAO, pages.WT_SAO) if self.info.family == "cd" \
            else (pages.WT_INCREMENTAL, pages.WT_SAO)
        if params.write_type not in allowed:
            raise _Check(5, 0x26, 0x00)
        self.write_params = params
        return b""

    # ---- writing -----------------------------------------------------------------------------
    def _start_dummy(self):
        if self.dummy_backup is None:
            self.dummy_backup = simstate.DiscState(**{
                k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in vars(self.state).items()})

    def _write(self, cdb, data):
        self._need_medium()
        st = self.state
        lba = int.from_bytes(cdb[2:6], "big")
        blocks = int.from_bytes(cdb[7:9], "big")
        if len(data) != blocks * SECTOR:
            raise _Check(5, 0x24, 0x00)
        if not st.drive_writes:
            raise _Check(5, 0x20, 0x00)
        faults = st.faults
        if "long_write" in faults:
            every, count = faults["long_write"]
            if self.long_write_left == 0 and self.writes % every == 0:
                self.long_write_left = count + 1
            if self.long_write_left > 1:
                self.long_write_left -= 1
                raise _Check(2, 0x04, 0x08)
            self.long_write_left = 0
        self.writes += 1
        if self._has_page05():
            wp = self.write_params
            if self.info.family == "cd" and (wp.track_mode != 4 or wp.block_type != 8):
                raise _Check(5, 0x64, 0x00)
            if wp.test_write:
                self._start_dummy()
        if faults.get("power_calibration") and not self.calibrated:
            raise _Check(3, 0x73, 0x03)
        self.calibrated = True
        if self.info.overwritable:
            if not st.formatted:
                raise _Check(5, 0x30, 0x10)
        else:
            if st.status == "complete":
                raise _Check(5, 0x21, 0x02)
            if lba != st.nwa:
                raise _Check(5, 0x21, 0x02)
        if lba + blocks > st.capacity:
            raise _Check(5, 0x63, 0x00)
        end = lba + blocks
        stored = len(data) // SECTOR
        error = None
        for key, sense in (("remove_at", (2, 0x3A, 0x00)), ("underrun_at", (3, 0x0C, 0x09)),
                           ("medium_error_at", (3, 0x0C, 0x00))):
            at = faults.get(key)
            if at is not None and lba <= at < end:
                stored = min(stored, at - lba)
                error = error or (key, sense)
        self._drain(stored * SECTOR)
        if stored and self.dummy_backup is None:
            payload = bytearray(data[:stored * SECTOR])
            at = faults.get("corrupt_at")
            if at is not None and lba <= at < lba + stored:
                payload[(at - lba) * SECTOR] ^= 0xFF
            os.pwrite(self.fd, payload, lba * SECTOR)
        if self._sequential():
            if st.open_track is None:
                st.open_track = lba
                self._save()
            st.nwa = lba + stored
        st.recorded_end = max(st.recorded_end, lba + stored)
        if error:
            key, sense = error
            if key == "remove_at":
                st.medium = False
            self._save()
            raise _Check(*sense)
        return b""

    def _read(self, cdb, data):
        self._need_medium()
        lba = int.from_bytes(cdb[2:6], "big")
        blocks = int.from_bytes(cdb[7:9], "big")
        if lba + blocks > self.state.recorded_end:
            raise _Check(5, 0x21, 0x00)
        out = os.pread(self.fd, blocks * SECTOR, lba * SECTOR)
        return out + bytes(blocks * SECTOR - len(out))

    def _sync(self, cdb, data):
        self._need_medium()
        self._drain(0)
        speed = self.state.speed_kbs
        if self.pending and speed:        # the buffer is written out before we answer
            time.sleep(self.pending / (speed * 1000.0))
            self.pending = 0
        self._save()
        return b""

    def _close(self, cdb, data):
        self._need_medium()
        st = self.state
        function = cdb[2] & 7
        if self.info.overwritable:
            return b""       # DVD+RW: stops background formatting; BD-RE: nothing to do
        if function == mmc.CLOSE_TRACK:
            if st.open_track is None:
                raise _Check(5, 0x2C, 0x00)
            st.tracks.append(Track(st.open_track, st.nwa - st.open_track,
                                   st.closed_sessions + 1))
            st.open_track = None
            if st.status == "blank":
                st.status = "appendable"
            self._save()
            return b""
        if function not in (mmc.CLOSE_SESSION, 5, mmc.FINALIZE):
            raise _Check(5, 0x24, 0x00)
        if st.open_track is not None:
            raise _Check(5, 0x2C, 0x00)
        session = st.closed_sessions + 1
        if not st.session_tracks(session):
            raise _Check(5, 0x2C, 0x00)      # nothing to close
        st.closed_sessions = session
        if self._has_page05():
            keep = self.write_params.multisession == pages.MULTI_KEEP and function == 2
        else:
            keep = function == mmc.CLOSE_SESSION
        if keep:
            st.status = "appendable"
            if self.info.family == "cd":
                st.nwa += CD_FIRST_GAP if session == 1 else CD_NEXT_GAP
        else:
            st.status = "complete"
        self._save()
        return b""

    def _blank(self, cdb, data):
        self._need_medium()
        st = self.state
        if st.profile not in (0x0A, 0x14):
            raise _Check(5, 0x30, 0x05)
        kind = cdb[1] & 7
        if kind not in (mmc.BLANK_ALL, mmc.BLANK_MINIMAL):
            raise _Check(5, 0x24, 0x00)
        if kind == mmc.BLANK_ALL:
            os.ftruncate(self.fd, 0)
        st.tracks, st.closed_sessions, st.status = [], 0, "blank"
        st.nwa = st.recorded_end = 0
        st.open_track = None
        self._save()
        self.busy = self.busy_total = BUSY_POLLS * (3 if kind == mmc.BLANK_ALL else 1)
        return b""

    def _format(self, cdb, data):
        self._need_medium()
        st = self.state
        if not self.info.overwritable:
            raise _Check(5, 0x30, 0x05)
        if data is None or len(data) < 12:
            raise _Check(5, 0x1A, 0x00)
        fmt_type = data[8] >> 2
        if fmt_type not in (0x00, 0x26, 0x30, 0x31):
            raise _Check(5, 0x26, 0x00)
        st.formatted = True
        self._save()
        self.busy = self.busy_total = BUSY_POLLS
        return b""

    def _format_caps(self, cdb, data):
        self._need_medium()
        st = self.state
        kind = 2 if st.formatted else 1
        fmt_type = 0x30 if st.profile == 0x43 else 0x26
        descs = st.capacity.to_bytes(4, "big") + bytes([kind]) + (SECTOR).to_bytes(3, "big")
        if self.info.overwritable:
            descs += st.capacity.to_bytes(4, "big") + bytes([fmt_type << 2]) + bytes(3)
        return bytes([0, 0, 0, len(descs)]) + descs

    def _reserve(self, cdb, data):
        self._need_medium()
        if self.info.family not in ("dvd-r", "dvd+r", "bd-r"):
            raise _Check(5, 0x24, 0x00)
        self.reserved = int.from_bytes(cdb[5:9], "big")
        return b""

    def _set_cd_speed(self, cdb, data):
        write = int.from_bytes(cdb[4:6], "big")
        self.requested_kbs = 0 if write == 0xFFFF else write
        return b""

    def _set_streaming(self, cdb, data):
        if data and len(data) >= 28:
            self.requested_kbs = int.from_bytes(data[20:24], "big")
        return b""

    def _buffer(self, cdb, data):
        self._drain(0)
        free = int(BUFFER_BYTES - self.pending)
        return bytes([0, 10, 0, 0]) + BUFFER_BYTES.to_bytes(4, "big") + free.to_bytes(4, "big")

    def _start_stop(self, cdb, data):
        if cdb[4] & 0x02 and not cdb[4] & 0x01:
            if self.prevent:
                raise _Check(5, 0x53, 0x02)
            # The tray comes back with the same disc: tests reuse it.
            self.state.ejects += 1
            self._save()
        return b""

    def _prevent(self, cdb, data):
        self.prevent = bool(cdb[4] & 1)
        return b""
