"""Drive logic per medium profile: check, then write, then close.

Sequences (what libburn, cdrecord and growisofs send; docs/burner-mmc.md):

* CD-R/RW track at once: MODE SELECT page 05h (TAO, BUFE where the drive
  has BUF, test write, multisession bits, track mode 4, mode 1 blocks),
  WRITE(10) at the NWA in 32 KiB chunks (track padded to 300 sectors),
  SYNCHRONIZE CACHE -- which ends a TAO track: libburn and cdrecord send no
  CLOSE TRACK there, and some drives refuse one -- then CLOSE SESSION (page
  05h's multisession bits decide whether the disc stays appendable).
* CD-R/RW session at once (cdrecord -sao/-dao, blank disc, feature 002Eh):
  page 05h write type 2, SEND CUE SHEET (lead-in, track 1 pre-gap from LBA
  -150, index 1 at 0, lead-out), WRITEs from -150 on, SYNCHRONIZE CACHE; no
  CLOSE: the drive writes lead-in and lead-out.  -xa: data block type 10
  (mode 2 form 1) in an XA session, TAO or SAO.
* DVD-R/-RW sequential: disc-at-once on a blank disc without --multi (page
  05h write type 2 without link size or packets, RESERVE TRACK, WRITEs,
  SYNCHRONIZE CACHE: the drive closes track, session and disc itself);
  otherwise incremental (write type 0, LS_V with the link size of feature
  0021h), CLOSE TRACK, CLOSE SESSION.
* DVD+R(DL), BD-R: no page 05h; WRITE at the NWA, SYNCHRONIZE CACHE, CLOSE
  TRACK, then CLOSE SESSION (stays appendable) or finalize (DVD+R: close
  function 101b, BD-R 110b).
* DVD+RW, DVD-RW restricted overwrite, BD-RE: FORMAT UNIT when READ FORMAT
  CAPACITIES says unformatted, WRITE anywhere, SYNCHRONIZE CACHE.
  Multisession grows the ISO: the new session goes behind the old one and its
  descriptors are put over the start of sectors 16-31, read back first and
  written as one whole 32 KiB ECC block (burner/descriptorblock.py).
* BD-R SRM+POW (feature 0038h current; formatted with FORMAT UNIT 32h): grown
  the same way, but new data go at the drive's next writable address, in
  whole 64 KiB clusters; the descriptor block at 16 is a pseudo-overwrite the
  drive remaps; then SYNCHRONIZE CACHE and CLOSE TRACK, and the session stays
  open (growisofs grows a POW disc within one session).
"""

import hashlib
from dataclasses import dataclass, field
from typing import Optional

from . import features as feat
from . import descriptorblock, layers, mmc, pages
from .drive import SECTOR
from .formatting import format_medium
from .errors import (CANNOT_WRITE, DISC_CLOSED, NO_DUMMY, NO_MEDIUM, NO_SESSION, NOT_MMC,
                     SOURCE, TOO_BIG, USAGE, WRITE_FAILED, BurnError,
                     transport_code)
from .profiles import is_cd
from .sense import UNIT_ATTENTION, ScsiError, TransportError
from isofuse.format import FormatError
from isofuse.format.sectors import round_up

CHUNK_SECTORS = 16           # 32 KiB per WRITE(10): what wodim and growisofs send
MIN_CD_TRACK = 300           # Red Book: a data track is at least 4 seconds
OVERWRITE_ALIGN = 16         # grown sessions start on 32 KiB (ECC block) boundaries
DESCRIPTOR_BLOCK = 16        # sectors 16-31: the descriptors a reader looks at first
BUFFER_POLL_EVERY = 32       # chunks between READ BUFFER CAPACITY polls
FINALIZE_DVD_PLUS_R = 5      # CLOSE function 101b: finalize with minimal radius
FINALIZE_BD_R = 6            # CLOSE function 110b: finalize the disc
RESTRICTED_OVERWRITE = 0x13  # the DVD-RW profile written in ECC blocks
CD_MASTERING = 0x002E        # feature: CD Mastering (SAO bit: byte 4 bit 5)
BD_CLUSTER = 32              # BD recording unit (64 KiB): POW tracks end on one
NO_SPARE = (3, 0x32)         # NO DEFECT SPARE LOCATION AVAILABLE: POW spare used up


@dataclass
class Options:
    dummy: bool = False
    multi: bool = False
    speed_x: Optional[float] = None      # None/0 = maximum
    overburn: bool = False
    verify: bool = False
    underrun_free: Optional[bool] = None  # None: where the drive has it
    device_hint: str = ""                 # how the user named the drive, for messages
    write_type: Optional[str] = None      # "tao" or "sao" (cdrecord -tao/-sao/-dao);
    #                                       None: the medium's usual one
    xa: bool = False                      # CD: mode 2 form 1 (CD-ROM XA) data track


@dataclass
class Plan:
    """Decided before the first write."""
    start: int                      # first LBA written
    blocks: int                     # sectors written (padding included)
    track: int = 0                  # number of the track to close
    family: str = ""
    descriptors: Optional[bytes] = None   # overwritable multisession: copy to 16
    write_type: int = pages.WT_TAO
    digests: list = field(default_factory=list)
    extra_digests: list = field(default_factory=list)   # (lba, blocks, digest)
    sent: int = 0                   # sectors the drive accepted
    descriptor_block: Optional[bytes] = None   # sectors 16-31 as written (grown_block)


def check_writable(status, opts, want_append=False):
    """The refusals that depend only on the drive and the disc."""
    if not status.is_mmc:
        raise BurnError(f"{status.device} is not a CD/DVD/BD drive (not an MMC device: "
                        f"{status.vendor} {status.product})", NOT_MMC)
    if not status.can_write:
        raise BurnError(f"{status.device}: drive cannot write ({status.vendor} "
                        f"{status.product} is a read-only drive)", CANNOT_WRITE)
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive (insert one, or use --wait)",
                        NO_MEDIUM)
    p = status.profile_info
    if not p.writable:
        raise BurnError(f"{status.device}: the disc is a {p.name}: it cannot be written",
                        CANNOT_WRITE)
    if not status.writes_medium:
        writes = ", ".join(sorted({profile_name(n) for n in status.writable_profiles})) \
            or "nothing"
        raise BurnError(f"{status.device}: this drive cannot write a {p.name} (it writes "
                        f"{writes})", CANNOT_WRITE)
    sequential = not p.overwritable or p.pseudo_overwrite
    if sequential and status.disc and status.disc.status == mmc.DISC_COMPLETE:
        raise BurnError(f"{status.device}: the {p.name} is closed (complete): nothing can "
                        "be added" + (" (blank it first: --blank fast)"
                                      if status.disc.erasable else ""), DISC_CLOSED)
    if status.damaged_track is not None:
        raise BurnError(f"{status.device}: track {status.damaged_track} of the {p.name} was "
                        "left open by an aborted write (the drive marks it damaged); close "
                        f"it first: isofuse-burn -d {status.device} --close", DISC_CLOSED)
    if sequential and not p.pseudo_overwrite and status.disc is not None \
            and status.disc.status == mmc.DISC_APPENDABLE \
            and status.disc.last_session_state == mmc.SESSION_INCOMPLETE:
        # tracks in a session that is not closed (blank=unclose, or a burn cut
        # between its track and its session): a new session cannot start there
        raise BurnError(f"{status.device}: the last session of the {p.name} is not closed "
                        "(its tracks are there, its lead-out is not); close it first: "
                        f"isofuse-burn -d {status.device} --close --multi (cdrecord -fix "
                        "-multi)", DISC_CLOSED)
    _check_dummy(status, opts)


def _check_dummy(status, opts):
    p = status.profile_info
    if opts.dummy:
        if not p.dummy:
            raise BurnError(f"{status.device}: a {p.name} has no test-write mode; --dummy "
                            "is possible on CD-R/RW and DVD-R/RW only", NO_DUMMY)
        if is_cd(status.profile) and not status.test_write:
            raise BurnError(f"{status.device}: this drive cannot do test writes", NO_DUMMY)


def profile_name(number):
    from .profiles import profile
    return profile(number).name


def _dvd_minus_write_type(status, opts):
    """Disc-at-once on a blank DVD-R/-RW burned without --multi (one session,
    closed by the drive); incremental otherwise, which needs feature 0021h
    current (a quick-blanked DVD-RW takes disc-at-once only)."""
    blank = status.disc is not None and status.disc.status == mmc.DISC_BLANK
    if blank and not opts.multi:
        return pages.WT_SAO
    if not feat.incremental_current(status.features) or not feat.link_sizes(status.features):
        what = "--multi" if opts.multi else "adding a session to this disc"
        raise BurnError(f"{status.device}: the {status.profile_info.name} cannot be written "
                        f"incrementally (feature 0021h is not current: a quick-blanked "
                        f"DVD-RW takes one disc-at-once session only), so {what} is "
                        "impossible; blank it fully (--blank all) for multisession",
                        CANNOT_WRITE)
    return pages.WT_INCREMENTAL


def _cd_session_at_once(status):
    """CD SAO (cdrecord -sao/-dao): the drive needs feature 002Eh (CD
    Mastering) current with its SAO bit (MMC-6 §5.3.18, byte 4 bit 5), and
    the disc must be blank: a session-at-once disc is described by one cue
    sheet from its lead-in on (libburn writes SAO on blank CDs only)."""
    mastering = status.features.get(CD_MASTERING)
    if status.features and not (mastering and mastering.current and mastering.bit(0, 5)):
        raise BurnError(f"{status.device}: this drive cannot write a {status.profile_info.name} "
                        "session-at-once (no CD Mastering/SAO feature); write it "
                        "track-at-once (-tao, or leave out -sao/-dao)", CANNOT_WRITE)
    if status.disc is None or status.disc.status != mmc.DISC_BLANK:
        raise BurnError(f"{status.device}: session-at-once needs a blank CD; this "
                        f"{status.profile_info.name} already holds a session: add one "
                        "track-at-once (-tao)" + (", or blank it first (blank=fast)"
                                                 if status.disc and status.disc.erasable
                                                 else ""), CANNOT_WRITE)
    return pages.WT_SAO


def plan_burn(drive, status, size, opts, descriptors=None, start=None):
    """Where the data goes and how many sectors.  ``start`` is the sector the
    source was mastered for (None: not an ISO image, or unknown); data is
    only written where it was made to be read from.  Refuses a source larger
    than the free space unless --overburn."""
    check_writable(status, opts)
    p = status.profile_info
    blocks = (size + SECTOR - 1) // SECTOR
    write_type = pages.WT_TAO
    if p.family == "cd":
        blocks = max(blocks, MIN_CD_TRACK)
        if opts.write_type == "sao":
            write_type = _cd_session_at_once(status)
    if status.profile == RESTRICTED_OVERWRITE:
        # DVD-RW restricted overwrite takes whole 32 KiB ECC blocks only
        blocks = round_up(blocks, OVERWRITE_ALIGN)
    if p.pseudo_overwrite:
        # whole clusters, as growisofs writes BD: the next NWA stays aligned
        blocks = round_up(blocks, BD_CLUSTER)
        first, free, track = _pseudo_overwrite_start(drive, status, start, descriptors)
    elif p.overwritable:
        first, track = _overwritable_start(status, start, descriptors), 1
        free = max(0, status.capacity_blocks - first) if status.capacity_blocks else blocks
    else:
        if p.family == "dvd-r":
            write_type = _dvd_minus_write_type(status, opts)
        ti = drive.writable_track(status)
        if ti.next_writable is None:
            raise BurnError(f"{status.device}: the drive reports no writable address "
                            "(closed disc?)", DISC_CLOSED)
        first, free, track = ti.next_writable, ti.free_blocks, ti.track
        _check_start(status, start, first)
    if blocks > free and not opts.overburn:
        raise BurnError(f"{status.device}: the source needs {blocks} sectors "
                        f"({blocks * SECTOR / 1e6:.1f} MB) but the {p.name} has {free} free "
                        f"({free * SECTOR / 1e6:.1f} MB); --overburn to try anyway", TOO_BIG)
    return Plan(first, blocks, track, p.family, descriptors, write_type)


def _check_start(status, start, first):
    """A session mastered for one sector and written at another shows the
    wrong tree (or none): refuse before writing."""
    if start == first:
        return
    if start is None:
        if first == 0:
            return
        raise BurnError(f"{status.device}: the disc already holds data and its next session "
                        f"starts at sector {first}; the source is no ISO 9660 session made "
                        "for that address, so it would not read back as burned (master it for "
                        f"this disc: isofuse master -C {status.last_session_start or 0},"
                        f"{first} -M {status.device} ..., or burn the folder with --multi)",
                        SOURCE)
    raise BurnError(f"{status.device}: the image was mastered for sector {start} but the "
                    f"drive writes the next session at {first}; it would not read back as "
                    f"burned (master it with -C {status.last_session_start or 0},{first}, "
                    "or burn the folder itself)", SOURCE)


def _overwritable_start(status, start, descriptors):
    """DVD+RW/BD-RE: sector 0, or -- growing -- the aligned end of the ISO
    volume already there, whose readers find the new session through the
    descriptor copy at 16."""
    if not start:
        return 0
    if descriptors is None:
        raise BurnError(f"{status.device}: internal: a grown session needs its descriptors",
                        USAGE)
    end = status.recorded_end
    if start % OVERWRITE_ALIGN or start < end:
        raise BurnError(f"{status.device}: the image was mastered for sector {start}, which "
                        f"is not behind the disc's ISO volume (it ends at {end}; the next "
                        f"session starts at {round_up(end, OVERWRITE_ALIGN)})",
                        SOURCE)
    return start


def _pseudo_overwrite_start(drive, status, start, descriptors):
    """BD-R SRM+POW: (first sector, free sectors, track) of the next track.
    Unrecorded sectors are written only at the next writable address; only
    the descriptor block at 16 is written again (remapped by the drive)."""
    ti = drive.writable_track(status)
    if ti.next_writable is None:
        raise BurnError(f"{status.device}: the drive reports no writable address on the "
                        "BD-R SRM+POW (closed disc?)", DISC_CLOSED)
    first = ti.next_writable
    if start == 0 and first:
        raise BurnError(f"{status.device}: the BD-R SRM+POW already holds data up to sector "
                        f"{first}; it cannot be written again from sector 0: add a session "
                        "with --multi (grown like a DVD+RW), or use a new disc", SOURCE)
    _check_start(status, start, first)
    if first and descriptors is None:
        raise BurnError(f"{status.device}: internal: a grown session needs its descriptors",
                        USAGE)
    if first and status.recorded_end > first:
        raise BurnError(f"{status.device}: the ISO volume on the BD-R SRM+POW claims "
                        f"{status.recorded_end} sectors but only {first} are recorded; a "
                        "session grown behind it would overlap it", SOURCE)
    return first, ti.free_blocks, ti.track


def _write_parameters(status, plan, opts):
    """Page 05h for CD and DVD-R/-RW (MMC-6 §7.5.4); None where there is none."""
    p = status.profile_info
    bufe = status.underrun_free if opts.underrun_free is None else opts.underrun_free
    multi = pages.MULTI_KEEP if opts.multi else pages.MULTI_CLOSE
    if p.family == "cd":
        # -xa: mode 2 form 1 blocks; the host still sends 2048 bytes and the
        # drive writes the sub-header given in bytes 48-51 (cdrecord's way)
        return pages.WriteParameters(
            write_type=plan.write_type, test_write=opts.dummy, bufe=bufe, multisession=multi,
            track_mode=pages.TRACK_MODE_DATA_CD,
            block_type=pages.BLOCK_MODE2_FORM1 if opts.xa else pages.BLOCK_MODE1,
            session_format=pages.SESSION_XA if opts.multi or opts.xa else pages.SESSION_CDROM,
            subheader=pages.XA_FORM1_SUBHEADER if opts.xa else bytes(4))
    if p.family != "dvd-r":
        return None
    if plan.write_type == pages.WT_SAO:      # disc-at-once: no link, no packets
        return pages.WriteParameters(
            write_type=pages.WT_SAO, test_write=opts.dummy, bufe=bufe,
            multisession=pages.MULTI_CLOSE, track_mode=pages.TRACK_MODE_DATA_DVD,
            block_type=pages.BLOCK_MODE1)
    return pages.WriteParameters(
        write_type=pages.WT_INCREMENTAL, test_write=opts.dummy, bufe=bufe, ls_v=True,
        link_size=feat.link_sizes(status.features)[0], multisession=multi,
        track_mode=pages.TRACK_MODE_DATA_DVD, block_type=pages.BLOCK_MODE1)


def _prepare(drive, status, plan, opts, progress):
    p = status.profile_info
    drive.lock(True)
    kbs = opts.speed_x * p.one_x_kbs if opts.speed_x else None
    last_lba = (status.capacity_blocks or plan.start + plan.blocks) - 1
    drive.set_speed(is_cd(status.profile), kbs, last_lba)   # SET STREAMING: end = last LBA
    params = _write_parameters(status, plan, opts)
    if params is not None:
        _select_write_parameters(drive, status, params)
    decision = layers.prepare_layer_break(drive, status, plan, multi=opts.multi)
    if decision.sent or decision.break_lba is not None:
        progress.message(f"double layer: {decision.note}")
    if plan.write_type == pages.WT_SAO and p.family == "dvd-r":
        drive.reserve_track(plan.blocks)
    if plan.write_type == pages.WT_SAO and p.family == "cd":
        form = mmc.CUE_FORM_MODE2_FORM1 if opts.xa else mmc.CUE_FORM_MODE1
        drive.send_cue_sheet(mmc.data_track_cue_sheet(plan.blocks, form))
    if p.overwritable and status.formatted is False:
        format_medium(drive, status, progress)


def _select_write_parameters(drive, status, params):
    try:
        drive.mode_select_write_parameters(params)
    except ScsiError as exc:
        where = ""
        if exc.sense.field is not None and not exc.sense.field[0]:
            where = f" (it rejected {pages.rejected_field(exc.sense.field[1])})"
        raise BurnError(f"{status.device}: the drive refused the write parameters{where}: "
                        f"{exc.sense}; nothing was written", WRITE_FAILED) from None


# ---- writing -------------------------------------------------------------------------------
def write_plan(drive, status, source, plan, opts, progress):
    """Send the data and close; raises BurnError on any drive error."""
    p = status.profile_info
    if plan.descriptors is not None and plan.descriptor_block is None:
        plan.descriptor_block = grown_block(drive, status, source, plan)
    try:
        _prepare(drive, status, plan, opts, progress)
        progress.phase("write", ("test write (dummy): " if opts.dummy else "writing ")
                       + f"{plan.blocks} sectors at {plan.start} on the {p.name}")
        drive.writing = True
        if plan.write_type == pages.WT_SAO and p.family == "cd":
            _send_pregap(drive)
        _send_data(drive, source, plan, opts, progress)
        if plan.descriptors is not None:          # grown ISO: make the new session visible
            _write_extra(drive, DESCRIPTOR_BLOCK, plan.descriptor_block, plan)
        progress.phase("close", "flushing the drive cache and closing")
        drive.synchronize()
        _close(drive, status, plan, opts)
    except ScsiError as exc:
        raise _write_failed(status, plan, exc) from None
    except TransportError as exc:
        raise _write_failed(status, plan, exc) from None
    finally:
        drive.writing = False
        try:
            drive.lock(False)
        except Exception:
            pass


def _send_data(drive, source, plan, opts, progress):
    total = plan.blocks * SECTOR
    lba, done, n, fill = plan.start, 0, 0, None
    while done < total:
        want = min(CHUNK_SECTORS * SECTOR, total - done)
        data = source.read(done, want) if done < source.size else b""
        if len(data) < want:
            data = data + bytes(want - len(data))      # padding / CD minimum
        drive.write(lba, data)
        plan.sent += want // SECTOR
        if opts.verify:
            plan.digests.append(hashlib.sha256(data).digest())
        lba += want // SECTOR
        done += want
        n += 1
        if n % BUFFER_POLL_EVERY == 0:
            try:
                fill = drive.buffer_capacity().fill
            except ScsiError:
                fill = None
        progress.update(done, total, fill)
    progress.update(done, total, fill, force=True)


def _send_pregap(drive):
    """CD SAO: track 1's pre-gap, LBA -150 to -1 (the cue sheet's index 0),
    zeros, sent before the data as cdrecord and libburn send it."""
    lba = -mmc.CUE_PREGAP
    while lba < 0:
        blocks = min(CHUNK_SECTORS, -lba)
        drive.write(lba, bytes(blocks * SECTOR))
        lba += blocks


def grown_block(drive, status, source, plan):
    """Sectors 16-31 for a grown session, decided before anything is
    written: the block read back from the disc (READ(10)) with the new
    descriptors over its start through their terminator (ECMA-119 §8.3), so
    the first session's data behind its own descriptors stays; refused when
    the new set would cover something the grown volume still names
    (descriptorblock.check_replaced_sectors)."""
    try:
        old = bytes(drive.read(DESCRIPTOR_BLOCK, descriptorblock.SECTORS))
    except (ScsiError, TransportError) as exc:
        raise BurnError(f"{status.device}: sectors {DESCRIPTOR_BLOCK}-"
                        f"{DESCRIPTOR_BLOCK + descriptorblock.SECTORS - 1} (the volume "
                        f"descriptors) cannot be read back: {exc}; nothing was written",
                        WRITE_FAILED) from None
    block = descriptorblock.merged_block(old, plan.descriptors)
    volume = descriptorblock.FutureVolume(drive, source, plan.start, block)
    try:
        descriptorblock.check_replaced_sectors(volume, old, plan.descriptors, status.device)
    except (ScsiError, TransportError, FormatError) as exc:
        raise BurnError(f"{status.device}: reading the grown volume's tree failed: {exc}; "
                        "nothing was written", WRITE_FAILED) from None
    return block


def _write_extra(drive, lba, data, plan):
    drive.write(lba, data)
    plan.extra_digests.append((lba, len(data) // SECTOR, hashlib.sha256(data).digest()))


def _close(drive, status, plan, opts):
    """The end of the track and session, per medium (see the module text)."""
    p = status.profile_info
    if p.pseudo_overwrite:
        drive.close(mmc.CLOSE_TRACK, plan.track)    # the session stays open (growisofs)
        return
    if p.overwritable:
        return
    if p.family == "cd":
        if plan.write_type == pages.WT_SAO:
            return                                  # SAO: the drive wrote lead-in and -out
        if not opts.dummy:
            drive.close(mmc.CLOSE_SESSION)         # page 05h says keep open or not
        return
    if p.family == "dvd-r":
        if plan.write_type == pages.WT_SAO:
            return                                  # the drive closed it (DAO)
        drive.close(mmc.CLOSE_TRACK, plan.track)
        if not opts.dummy:
            drive.close(mmc.CLOSE_SESSION)
        return
    drive.close(mmc.CLOSE_TRACK, plan.track)        # DVD+R, BD-R
    if opts.dummy:
        return
    if opts.multi:
        drive.close(mmc.CLOSE_SESSION)
    else:
        drive.close(FINALIZE_BD_R if p.family == "bd-r" else FINALIZE_DVD_PLUS_R)


def _write_failed(status, plan, exc):
    """One line: what failed, where, and what state the disc is in now."""
    if isinstance(exc, ScsiError):
        where = exc.sense.info if exc.sense.info is not None else plan.start + plan.sent
        what = f"{exc.command}: {exc.sense}"
        if (exc.sense.key, exc.sense.asc) == NO_SPARE:
            what += (" (the BD-R's spare areas, which take the pseudo-overwrites, are full: "
                     "its sessions cannot be rewritten any more)")
        if exc.sense.key == UNIT_ATTENTION:
            what = (f"the drive reported {'a reset' if exc.sense.asc == 0x29 else 'a medium change'}"
                    f" in the middle of the burn ({exc.sense}); what was sent before it is "
                    "not trustworthy")
        text = f"{status.device}: writing failed at sector {where}: {what}"
        code = WRITE_FAILED
    else:            # the transport failed (timeout, device gone): see errors.py
        text = f"{status.device}: writing failed: {exc}"
        code = transport_code(exc)
    return BurnError(f"{text}; the disc was NOT burned completely: {_disc_state(status, plan)}",
                     code)


def _disc_state(status, plan):
    p = status.profile_info
    if plan.sent == 0:
        return "nothing was written, the disc is unchanged"
    if p.pseudo_overwrite:
        shows = "the new session" if plan.extra_digests else \
            "the previous session" if plan.descriptors is not None else "no complete session"
        return (f"{plan.sent} sectors were written at {plan.start} (that space is used up); "
                f"readers still see {shows}; close the open track with: isofuse-burn -d "
                f"{status.device} --close --multi")
    if p.overwritable:
        return f"{plan.sent} sectors were written; burn again (it overwrites)"
    if status.disc is not None and status.disc.erasable:
        return (f"{plan.sent} sectors were written; blank it (--blank fast) and burn again, "
                f"or close the open session with: isofuse-burn -d {status.device} --close")
    return (f"{plan.sent} sectors were written: this write-once disc is spoiled there; "
            f"the session can be closed with: isofuse-burn -d {status.device} --close "
            "(the rest of the disc stays usable if it is appendable)")


# ---- multisession --------------------------------------------------------------------------
def msinfo(drive, status):
    """(start of the last session, next writable address) as the drive says
    (READ TOC format 1, READ TRACK INFORMATION); on overwritable media the
    grown ISO's volume size gives the next start."""
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive", NO_MEDIUM)
    p = status.profile_info
    if p.pseudo_overwrite:
        return _pseudo_overwrite_msinfo(status)
    if p.overwritable:
        if not status.recorded_end:
            raise BurnError(f"{status.device}: the {p.name} holds no ISO 9660 session yet",
                            NO_SESSION)
        end = status.recorded_end
        return 0, round_up(end, OVERWRITE_ALIGN)
    if status.disc is None or status.disc.status == mmc.DISC_BLANK:
        raise BurnError(f"{status.device}: the disc is blank: there is no previous session",
                        NO_SESSION)
    if status.disc.status == mmc.DISC_COMPLETE:
        raise BurnError(f"{status.device}: the disc is closed: no next session possible",
                        DISC_CLOSED)
    if status.next_writable is None:
        raise BurnError(f"{status.device}: the drive reports no next writable address for "
                        f"the appendable {p.name}", NO_SESSION)
    if status.last_session_start is None:
        raise BurnError(f"{status.device}: the drive does not report the last session",
                        NO_SESSION)
    return status.last_session_start, status.next_writable


def _pseudo_overwrite_msinfo(status):
    """BD-R SRM+POW: the previous tree is the ISO volume at 16 (sector 0, as on
    a DVD+RW); the next session goes at the drive's next writable address,
    behind that volume (growisofs takes the NWA the same way)."""
    if status.disc is not None and status.disc.status == mmc.DISC_COMPLETE:
        raise BurnError(f"{status.device}: the BD-R SRM+POW is closed: no next session "
                        "possible", DISC_CLOSED)
    if not status.recorded_end:
        raise BurnError(f"{status.device}: the BD-R SRM+POW holds no ISO 9660 session yet",
                        NO_SESSION)
    nwa = status.next_writable
    if nwa is None or nwa < status.recorded_end:
        raise BurnError(f"{status.device}: the drive's next writable address ({nwa}) is not "
                        f"behind the ISO volume (it ends at {status.recorded_end})",
                        NO_SESSION)
    return 0, nwa
