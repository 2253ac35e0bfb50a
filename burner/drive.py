"""A drive: MMC commands sent through a transport, with the waiting and
retrying that real drives need (unit attention after a disc change, "becoming
ready", "long write in progress", Immed commands polled with TEST UNIT READY).
"""

import time
from dataclasses import dataclass, field
from typing import List, Optional

from . import features as feat
from . import mmc, pages, timeouts
from .profiles import BD_R_POW
from .profiles import profile as profile_info
from .sense import ILLEGAL_REQUEST, NOT_READY, UNIT_ATTENTION, ScsiError
from .transport import FROM_DEVICE, NONE, TO_DEVICE

from isofuse.format.sectors import SECTOR


def open_transport(device, write=True):
    """``sim:PATH`` -> simulated drive; anything else -> SG_IO on the node."""
    if device.startswith("sim:"):
        from .sim import SimTransport
        return SimTransport(device[4:])
    from .sgio import SgioTransport
    return SgioTransport(device, write=write)


# Profiles for which READ TRACK INFORMATION may name track FFh: CD-R/RW,
# DVD+R, DVD+R DL (libburn's reading of MMC-5 §6.27).
INVISIBLE_TRACK_PROFILES = (0x09, 0x0A, 0x1B, 0x2B)

# sense (key, asc, ascq) on which the same command is simply sent again
BUSY = {(NOT_READY, 0x04, 0x01), (NOT_READY, 0x04, 0x04), (NOT_READY, 0x04, 0x07),
        (NOT_READY, 0x04, 0x08)}


@dataclass
class Status:
    """Everything a probe learns about a drive and its medium."""
    device: str
    vendor: str = ""
    product: str = ""
    is_mmc: bool = False
    profile: int = 0
    profiles: List[int] = field(default_factory=list)
    features: dict = field(default_factory=dict)
    can_write: bool = False              # the drive writes some medium (write features)
    writes_medium: bool = False          # ... and the one loaded now (feature current)
    underrun_free: bool = False          # BUF: page 2Ah byte 4 bit 7 or the write feature
    test_write: bool = False
    medium: bool = False
    disc: Optional[mmc.DiscInfo] = None
    next_writable: Optional[int] = None
    free_blocks: int = 0
    last_session_start: Optional[int] = None
    recorded_end: int = 0
    formatted: Optional[bool] = None
    capacity_blocks: int = 0
    buffer_kb: int = 0
    last_track: int = 0                  # READ DISC INFORMATION: last track, last session
    damaged_track: Optional[int] = None  # a track left open by an aborted write
    page_writes: set = field(default_factory=set)
    pow_capable: bool = False            # feature 0038h listed: the drive does BD-R POW
    pseudo_overwrite: bool = False       # ... and the BD-R loaded is formatted SRM+POW

    @property
    def profile_info(self):
        """The medium as the burner treats it: a BD-R SRM whose feature 0038h
        is current is written as a pseudo-overwrite disc (profiles.BD_R_POW)."""
        if self.pseudo_overwrite and self.profile == BD_R_POW.number:
            return BD_R_POW
        return profile_info(self.profile)

    @property
    def writable_profiles(self):
        """The profiles this drive writes, from its write features (or, for
        drives without them, page 2Ah's write bits)."""
        if self.features and feat.writes_anything(self.features):
            return [p for p in self.profiles
                    if feat.writes_profile(self.features, p, current_only=False)]
        return [p for p in self.profiles if profile_info(p).name in self.page_writes]

    def as_dict(self):
        d = {"device": self.device, "vendor": self.vendor, "product": self.product,
             "mmc": self.is_mmc, "can_write": self.can_write,
             "writable_profiles": [profile_info(p).name for p in self.writable_profiles],
             "medium": self.medium}
        if self.medium:
            d.update({"profile": self.profile_info.name,
                      "state": self.disc.status_name if self.disc else None,
                      "sessions": self.disc.sessions if self.disc else None,
                      "next_writable": self.next_writable, "free_blocks": self.free_blocks,
                      "last_session_start": self.last_session_start,
                      "recorded_blocks": self.recorded_end})
        return d


class Drive:
    def __init__(self, transport, sleep=time.sleep, clock=time.monotonic):
        self.t = transport
        self.name = transport.name
        self.sleep = sleep
        self.clock = clock
        # Set from the first WRITE until the disc is closed: a unit attention
        # then means the drive was reset or the disc changed under the burn,
        # so the data already sent is not trustworthy: never retried.
        self.writing = False

    # ---- the one place commands go through ---------------------------------------------------
    def cmd(self, cdb, direction=NONE, data=None, length=0, timeout=timeouts.DEFAULT,
            busy_wait=0.0, attention_retries=2):
        """Send one command.  Unit attention (a disc change or reset the drive
        reports once) is retried before the burn starts, never during it;
        "in progress" states are retried while ``busy_wait`` seconds allow."""
        deadline = self.clock() + busy_wait
        delay = 0.01
        while True:
            try:
                return self.t.execute(cdb, direction, data, length, timeout, mmc.name(cdb))
            except ScsiError as exc:
                s = exc.sense
                if s.key == UNIT_ATTENTION and attention_retries > 0 and not self.writing:
                    attention_retries -= 1
                    continue
                if (s.key, s.asc, s.ascq) in BUSY and self.clock() < deadline:
                    self.sleep(delay)
                    delay = min(delay * 2, 0.5)
                    continue
                raise

    def wait_ready(self, limit=timeouts.POLL_READY, progress=None):
        """Poll TEST UNIT READY until the drive is no longer busy; report the
        progress indicator the drive gives (blank/format) to ``progress``."""
        deadline = self.clock() + limit
        delay = 0.01
        while True:
            try:
                self.t.execute(mmc.test_unit_ready(), NONE, None, 0, timeouts.DEFAULT,
                               "TEST UNIT READY")
                if progress:
                    progress(1.0)
                return
            except ScsiError as exc:
                s = exc.sense
                if s.key == UNIT_ATTENTION and not self.writing:
                    continue
                if (s.key, s.asc, s.ascq) not in BUSY or self.clock() > deadline:
                    raise
                if progress and s.progress is not None:
                    progress(s.progress)
                self.sleep(delay)
                delay = min(delay * 2, 1.0)

    # ---- probing -----------------------------------------------------------------------------
    def inquiry(self):
        return mmc.parse_inquiry(self.cmd(mmc.inquiry(), FROM_DEVICE, length=96))

    def configuration(self):
        return mmc.parse_configuration(
            self.cmd(mmc.get_configuration(), FROM_DEVICE, length=1024))

    def capabilities(self):
        reply = self.cmd(mmc.mode_sense(pages.CAPABILITIES), FROM_DEVICE, length=256)
        return pages.parse_capabilities(mmc.mode_page(reply))

    def disc_info(self):
        return mmc.parse_disc_information(
            self.cmd(mmc.read_disc_information(), FROM_DEVICE, length=34))

    def track_info(self, track=mmc.INVISIBLE_TRACK):
        return mmc.parse_track_information(
            self.cmd(mmc.read_track_information(track), FROM_DEVICE, length=36))

    def toc_session(self):
        return mmc.parse_toc_session(self.cmd(mmc.read_toc(1, length=12), FROM_DEVICE,
                                              length=12))

    def read_capacity(self):
        return mmc.parse_read_capacity(self.cmd(mmc.read_capacity(), FROM_DEVICE, length=8))

    def format_capacities(self):
        return mmc.parse_format_capacities(
            self.cmd(mmc.read_format_capacities(), FROM_DEVICE, length=252))

    def buffer_capacity(self):
        return mmc.parse_buffer_capacity(
            self.cmd(mmc.read_buffer_capacity(), FROM_DEVICE, length=12))

    def medium_present(self):
        try:
            self.cmd(mmc.test_unit_ready(), busy_wait=timeouts.POLL_READY)
            return True
        except ScsiError as exc:
            if exc.sense.key == NOT_READY and exc.sense.asc == 0x3A:
                return False
            raise

    def probe(self):
        """What ``--list`` shows and what the burner checks before writing."""
        st = Status(self.name)
        inq = self.inquiry()
        st.vendor, st.product, st.is_mmc = inq.vendor, inq.product, inq.is_mmc
        if not st.is_mmc:
            return st
        self._probe_abilities(st)
        st.medium = self.medium_present()
        if not st.medium:
            return st
        if not st.profile:                 # some drives need a moment after loading
            self._probe_abilities(st)
        self._probe_disc(st)
        return st

    def _probe_abilities(self, st):
        """Drive abilities: profiles, features, page 2Ah.  Writing is decided
        from the write features (MMC-6 §5.3), never from the profile list,
        which names every profile the drive can read."""
        reply = self.cmd(mmc.get_configuration(), FROM_DEVICE, length=1024)
        cfg = mmc.parse_configuration(reply)
        st.profiles, st.profile = cfg.profiles, cfg.current_profile
        st.features = feat.parse_features(reply)
        st.pow_capable, current = feat.pseudo_overwrite(st.features)
        st.pseudo_overwrite = current and st.profile == BD_R_POW.number
        try:
            caps = self.capabilities()
        except ScsiError:
            caps = None
        if caps is not None:
            st.test_write, st.buffer_kb, st.page_writes = caps.test_write, caps.buffer_kb, \
                caps.writes
        if feat.writes_anything(st.features):
            st.can_write = True
            st.writes_medium = feat.writes_profile(st.features, st.profile)
            st.underrun_free = feat.underrun_free(st.features, st.profile) or \
                bool(caps and caps.underrun_protection)
        else:              # an old drive without write features: page 2Ah decides
            st.can_write = bool(caps and caps.can_write)
            st.writes_medium = profile_info(st.profile).name in st.page_writes
            st.underrun_free = bool(caps and caps.underrun_protection)

    def _probe_disc(self, st):
        try:
            st.disc = self.disc_info()
            st.last_track = st.disc.last_track_last_session
        except ScsiError:
            st.disc = None
        if st.profile_info.overwritable and not st.pseudo_overwrite:
            self._probe_overwritable(st)
            return
        if st.disc is not None and st.disc.status != mmc.DISC_COMPLETE:
            try:
                ti = self.writable_track()
                st.next_writable, st.free_blocks = ti.next_writable, ti.free_blocks
                if ti.next_writable is not None:
                    st.capacity_blocks = ti.next_writable + ti.free_blocks
                if ti.damaged:
                    st.damaged_track = ti.track
            except ScsiError:
                pass
        if st.disc is not None and st.disc.status != mmc.DISC_BLANK:
            try:
                st.last_session_start = self.toc_session().last_session_start
            except ScsiError:
                pass
            try:
                last, _ = self.read_capacity()
                st.recorded_end = last + 1
            except ScsiError:
                pass
        if st.pseudo_overwrite:
            # grown like a DVD+RW: what counts is the ISO volume at 16, whose
            # descriptors each new session rewrites (growisofs does the same)
            blank = st.disc is not None and st.disc.status == mmc.DISC_BLANK
            st.recorded_end = 0 if blank else self.iso_volume_end()

    def _probe_overwritable(self, st):
        """DVD+RW, DVD-RW restricted overwrite, BD-RE: READ CAPACITY gives the
        formatted size, not what is recorded, so the ISO image's end comes
        from its own primary volume descriptor at sector 16 (as growisofs
        finds it)."""
        try:
            st.formatted = self.format_capacities().formatted
        except ScsiError:
            st.formatted = None
        try:
            last, _ = self.read_capacity()
            st.capacity_blocks = last + 1
        except ScsiError:
            pass
        st.free_blocks = st.capacity_blocks
        if st.formatted is False:
            return
        end = self.iso_volume_end()
        if end:
            st.recorded_end = end
            st.free_blocks = max(0, st.capacity_blocks - end)

    def iso_volume_end(self):
        """The volume space size of the ISO 9660 volume at sector 16, or 0."""
        from isofuse.format import FormatError
        from isofuse.format.descriptors import decode_volume_descriptor
        try:
            return decode_volume_descriptor(self.read(16, 1)).volume_space_size
        except (ScsiError, FormatError):
            return 0

    def writable_track(self, status=None):
        """READ TRACK INFORMATION of the track to write next.  Track FFh (the
        invisible track) is defined for CD and DVD+R(DL) only; DVD-R/-RW and
        BD-R are asked by the last track's number, overwritable media by
        track 1 (the choice libburn makes after MMC-5).  A drive that rejects
        FFh anyway is asked by number."""
        profile = status.profile if status else self._profile()
        if profile_info(profile).overwritable:
            return self.track_info(1)
        if profile in INVISIBLE_TRACK_PROFILES:
            try:
                return self.track_info(mmc.INVISIBLE_TRACK)
            except ScsiError as exc:
                if not exc.matches(ILLEGAL_REQUEST, 0x24):
                    raise
        last = status.last_track if status and status.last_track else \
            self.disc_info().last_track_last_session
        return self.track_info(last)

    def _profile(self):
        return self.configuration().current_profile

    # ---- writing -----------------------------------------------------------------------------
    def write(self, lba, data):
        """WRITE(10) at ``lba``; "long write in progress" means the drive is
        still busy with its buffer: the same WRITE is sent again."""
        self.cmd(mmc.write10(lba, len(data) // SECTOR), TO_DEVICE, data,
                 timeout=timeouts.WRITE, busy_wait=timeouts.POLL_WRITE_BUSY)

    def read(self, lba, blocks):
        return self.cmd(mmc.read10(lba, blocks), FROM_DEVICE, length=blocks * SECTOR,
                        timeout=timeouts.READ)

    def mode_select_write_parameters(self, params):
        data = pages.build_write_parameters(params)
        self.cmd(mmc.mode_select(len(data)), TO_DEVICE, data)

    def synchronize(self):
        self.cmd(mmc.synchronize_cache(), timeout=timeouts.SYNC, busy_wait=timeouts.POLL_CLOSE)
        self.wait_ready(timeouts.POLL_CLOSE)

    def close(self, function, track=0):
        self.cmd(mmc.close_track_session(function, track), timeout=timeouts.CLOSE,
                 busy_wait=timeouts.POLL_CLOSE)
        self.wait_ready(timeouts.POLL_CLOSE)

    def blank(self, kind, progress=None, address=0):
        self.cmd(mmc.blank(kind, address=address), timeout=timeouts.BLANK)
        self.wait_ready(timeouts.POLL_BLANK_ALL, progress)

    def format(self, blocks, fmt_type, progress=None, param=0, subtype=0):
        data = mmc.format_parameters(blocks, fmt_type, param, subtype=subtype)
        self.cmd(mmc.format_unit(), TO_DEVICE, data, timeout=timeouts.FORMAT)
        self.wait_ready(timeouts.POLL_FORMAT, progress)

    def send_cue_sheet(self, sheet):
        self.cmd(mmc.send_cue_sheet(len(sheet)), TO_DEVICE, sheet)

    def reserve_track(self, blocks):
        self.cmd(mmc.reserve_track(blocks), timeout=timeouts.RESERVE)

    def set_speed(self, is_cd, kbs, end_lba=0):
        """CD: SET CD SPEED; DVD/BD: SET STREAMING.  ``kbs`` None = maximum.
        Drives that reject the request keep their own speed: not fatal."""
        try:
            if is_cd:
                self.cmd(mmc.set_cd_speed(0xFFFF, 0xFFFF if kbs is None else int(kbs)))
            else:
                value = 0x7FFFFFFF if kbs is None else int(kbs)
                data = mmc.streaming_descriptor(end_lba, value, value)
                self.cmd(mmc.set_streaming(len(data)), TO_DEVICE, data)
        except ScsiError:
            pass

    def lock(self, prevent):
        try:
            self.cmd(mmc.prevent_allow(prevent))
        except ScsiError:
            pass

    def eject(self):
        self.lock(False)
        self.cmd(mmc.start_stop(eject=True, start=False))
