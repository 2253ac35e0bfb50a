"""``isofuse-burn``: write a staging folder, an image, standard input or
another disc to CD/DVD/BD drives (or simulated ones, ``sim:PATH``)."""

import argparse
import json
import os
import sys
import time

from . import closing, errors, formatting, recorder, verification
from .errors import BurnError
from .progress import Progress

DESCRIPTION = """\
Write to CD/DVD/BD drives over SCSI MMC (SG_IO), or to a simulated drive.

SOURCE is one of:
  FOLDER ...      mastered on the fly with the staging profile (isofuse master
                  -r -J -iso-level 2) and streamed to the drive: no temporary image
  IMAGE           an image file
  -               standard input (size from --size or from the ISO's own descriptor)
  /dev/srN|sim:P  another disc, copied 1:1 (unreadable sectors are retried)

DEVICE is /dev/srN, /dev/sgN or sim:PATH (a simulated drive whose disc is the
image file PATH, state in PATH.state.json; create one with
"python3 -m burner.simtool create PATH --profile cd-r").  Several --device burn
the same source in parallel.

cdrecord/wodim/xorrecord and growisofs command lines work too (dev=, -multi,
-msinfo, blank=, growisofs -Z/-M ...; also as isofuse-cdrecord and
isofuse-growisofs): README.md has the table of every option.

Multisession: --multi leaves the disc appendable.  On a disc that already has
sessions, --multi with FOLDERs stages them over the disc's last session (old
files kept, --remove PATH deletes) and writes the next session.
"""

EPILOG = """\
exit status (README.md says what to do about each):
   0 ok                          12 source unreadable (sectors named), size unknown
   1 internal error (a bug)      13 write failed (says whether the disc is spoiled)
   2 usage (--size != image)     14 verify failed
   3 device cannot be opened     15 interrupted
   4 not an MMC drive            16 no previous session
   5 drive or disc cannot write  17 transport failure (kernel/bus: see dmesg)
   6 no disc (--wait)            18 timeout: the drive did not answer
   7 disc closed                 19 device gone (unplugged, switched off)
   8 source too big (--overburn) 20 no access: burning needs a read-write open
   9 disc mounted                21 image file cannot be written (space, TMPDIR)
  10 not confirmed (--yes)       22 multisession disc onto a disc: use --image-out
  11 no test write on this medium

burning without root: write access to the node is all it takes (group cdrom,
or the seat's ACL: getfacl /dev/sr0).

examples:
  isofuse-burn --list
  isofuse-burn --device /dev/sr0 --verify photos/ docs/
  isofuse-burn dev=/dev/sr0 --multi --msinfo
  isofuse-burn --device /dev/sr0 --multi new-files/ --remove old/draft.txt
  isofuse-burn --device /dev/sr0 --blank fast --yes
  isofuse-burn --device sim:/tmp/disc.img --dummy image.iso
"""

def build_parser():
    p = argparse.ArgumentParser(prog="isofuse-burn", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("sources", nargs="*", metavar="SOURCE")
    p.add_argument("-d", "--device", action="append", default=[],
                   help="drive to use (repeat for parallel burns); also dev=DEVICE")
    p.add_argument("--list", "--scan", dest="list", action="store_true",
                   help="list drives: abilities, disc, state, sessions")
    p.add_argument("--msinfo", action="store_true",
                   help='print "start,next" of the last session and the next one')
    p.add_argument("--speed", type=float, help="write speed as N x of the medium (0: maximum)")
    p.add_argument("--dummy", action="store_true",
                   help="test write: the laser stays off (CD-R/RW, DVD-R/RW only)")
    p.add_argument("--multi", action="store_true",
                   help="leave the disc appendable; on an appendable disc: next session")
    p.add_argument("--add", action="append", default=[], metavar="SOURCE",
                   help="same as a SOURCE argument (reads well with --multi)")
    p.add_argument("--remove", action="append", default=[], metavar="PATH",
                   help="with --multi: leave PATH of the previous session out")
    p.add_argument("--blank", choices=("fast", "all", "as_needed", "session", "track",
                                       "unclose"),
                   help="blank a CD-RW/DVD-RW first; as_needed: blank (fast) or format only "
                        "what cannot be written from scratch as it is; session: erase the "
                        "last session, track: the last track, unclose: reopen the last "
                        "session (CD-RW, sequential DVD-RW)")
    p.add_argument("--format", nargs="?", const="quick", choices=("quick", "full", "pow"),
                   help="format a DVD+RW, DVD-RW (to restricted overwrite) or BD-RE; "
                        "BD-RE: quick certification by default, 'full' certifies the "
                        "whole disc (hours); 'pow': a blank BD-R for pseudo-overwrite "
                        "(then --multi grows it like a DVD+RW), where the drive has it")
    p.add_argument("--close", action="store_true",
                   help="close a track and session an aborted write left open (cdrecord "
                        "-fix); with --multi the disc stays appendable")
    p.add_argument("--finalize", action="store_true",
                   help="close an appendable DVD±R/-RW or BD-R for good without writing "
                        "(growisofs -M DEV=/dev/zero)")
    p.add_argument("--eject", action="store_true", help="eject the disc at the end")
    p.add_argument("--verify", action="store_true",
                   help="read everything back and compare the SHA-256 of every sector")
    p.add_argument("--overburn", action="store_true",
                   help="write even if the source is larger than the free space")
    p.add_argument("--yes", action="store_true", help="do not ask before blanking/formatting")
    p.add_argument("--json", action="store_true", help="JSON output (lines while burning)")
    p.add_argument("--size", type=int, metavar="BYTES", help="size of the data on stdin")
    p.add_argument("--volid", help="volume ID of a mastered folder")
    p.add_argument("--wait", action="store_true", help="wait for a disc to be inserted")
    p.add_argument("--timeout", type=float, default=600, help="seconds --wait waits")
    p.add_argument("--image-out", metavar="FILE",
                   help="write the source to an image file instead of a drive "
                        "(e.g. copy a disc: --image-out copy.iso /dev/sr0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    p.add_argument("--on-the-fly", action="store_true",
                   help="copying a disc onto a write-once disc: write while reading the "
                        "source (by default it is read completely first, so an unreadable "
                        "sector costs no disc)")
    return p


# ---- helpers ---------------------------------------------------------------------------------
def _open_drive(device, write=True):
    """Open the drive; burning needs a read-write open (the kernel's SCSI
    command filter passes the MMC write commands only then), so a node that
    opens read-only is refused here, before any command is sent."""
    import errno
    from .drive import Drive, open_transport
    from .sense import TransportError
    try:
        return Drive(open_transport(device, write=write))
    except TransportError as exc:
        raise BurnError(str(exc), errors.NO_DEVICE) from None
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = " (in use by another program?)" if exc.errno == errno.EBUSY else ""
            raise BurnError(f"{device}: {exc.strerror}{hint}", errors.NO_DEVICE) from None
        if write:
            try:            # would a read-only open work?  Then say what is missing.
                open_transport(device, write=False).close()
            except OSError:
                pass
            else:
                raise BurnError(f"{device}: can be opened read-only only, and burning needs "
                                f"write access; {errors.access_hint(device)}",
                                errors.NO_DEVICE) from None
        raise BurnError(f"{device}: {exc.strerror}; {errors.access_hint(device)}",
                        errors.NO_DEVICE) from None


def _probe(drive):
    from .sense import ScsiError, TransportError
    try:
        return drive.probe()
    except ScsiError as exc:
        raise BurnError(f"{drive.name}: probing failed: {exc}", errors.NOT_MMC) from None
    except TransportError as exc:       # a timeout or a vanished drive is not "not MMC"
        raise BurnError(f"{drive.name}: probing failed: {exc}",
                        errors.transport_code(exc)) from None


def mounted_at(device, sysfs=None, mounts=None):
    """Mount point of the disc in ``device`` (or of the sim disc image):
    /dev/sgN and /dev/srM of one drive are the same drive (sysfs module)."""
    from .sysfs import mounted_at as by_scsi_address
    return by_scsi_address(device, sysfs, mounts)


def _confirm(question, args):
    if args.yes:
        return True
    if not sys.stdin.isatty():
        return False
    answer = input(question + " [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _is_folder(spec):
    return spec not in ("-",) and not spec.startswith("sim:") and os.path.isdir(spec)


def _progress(args, device, parallel=False):
    """The progress reporter: cdrecord's or growisofs' progress lines for
    their dialects (K3b and Brasero read them), isofuse-burn's own otherwise."""
    mode = _mode(args, parallel)
    if mode in ("json", "quiet") or parallel:
        return Progress(device, mode)
    program = getattr(args, "program", None)
    if program in CDRECORD_DIALECTS and args.request.verbose:    # cdrecord: with -v only
        from .dialects.cdprogress import CdrecordProgress
        return CdrecordProgress(device, mode)
    if program == "growisofs":
        from .dialects.cdprogress import GrowisofsProgress
        return GrowisofsProgress(device, mode)
    return Progress(device, mode)


CDRECORD_DIALECTS = ("cdrecord", "wodim", "xorrecord", "cdrskin")


def _mode(args, parallel=False):
    if args.json:
        return "json"
    if args.quiet:
        return "quiet"
    return "tty" if sys.stderr.isatty() and not parallel else "plain"


# ---- the burn of one device ------------------------------------------------------------------
def _source_for(args, device, drive, status, opts):
    """The source to burn (see _plain_source_for), followed by the zeros of
    a dialect's padding (cdrecord -pad, padsize=)."""
    if getattr(args, "mkisofs", None) is not None:
        source, mastered_for = _mkisofs_source(args, device, drive, status, opts)
    elif getattr(args, "request", None) is not None and args.sources == ["-"] and args.size:
        from .dialects.hooks import SizedStdin
        source, mastered_for = SizedStdin(args.size), None
    else:
        source, mastered_for = _plain_source_for(args, device, drive, status, opts)
    if getattr(args, "request", None) is not None and mastered_for is None:
        source, mastered_for = _next_session_image(source, drive, status, opts)
    if getattr(args, "pad_bytes", 0):
        from .dialects.hooks import Padded
        source = Padded(source, args.pad_bytes)
    return source, mastered_for


def _next_session_image(source, drive, status, opts):
    """A dialect's image for the next session (made with mkisofs -C by the
    user, as cdrecord users do): mastered for the next writable address
    when its root directory lies there; on overwritable media its descriptor
    copy counts the grown volume (dialects/hooks.Grown)."""
    from .dialects import hooks
    if not (opts.multi and _has_session(status)):
        return source, None
    nwa = recorder.msinfo(drive, status)[1]
    if not hooks.next_session_image(source, nwa):
        return source, None
    if status.profile_info.overwritable:
        source = hooks.Grown(source, nwa)
    return source, nwa


def _has_session(status):
    p = status.profile_info
    return bool(status.recorded_end) if p.overwritable else \
        status.disc is not None and status.disc.status != 0


def _mkisofs_source(args, device, drive, status, opts):
    """growisofs: the folders mastered with its mkisofs options; with -M over
    the disc's last session at its next writable address (mkisofs -C -M)."""
    from .dialects.mastering import MkisofsSource
    if not args.request.initial_session and not _has_session(status):
        raise BurnError(f"growisofs -M: the {status.profile_info.name} in {device} holds no "
                        "session to merge with; -Z writes the first one", errors.NO_SESSION)
    if not opts.multi or not _has_session(status) or args.request.initial_session:
        return MkisofsSource(args.mkisofs, now=args.now), 0
    start, nwa = recorder.msinfo(drive, status)
    previous = device[4:] if device.startswith("sim:") else device
    src = MkisofsSource(args.mkisofs, previous=previous, msinfo=(start, nwa), now=args.now)
    return src, nwa


def _plain_source_for(args, device, drive, status, opts):
    """Open the source; folders are mastered for the address they will be
    written at (as mkisofs -C does): with --multi on a disc with sessions,
    staged over the last one; without --multi on an appendable sequential
    disc, a session of their own at the next writable address.  Returns the
    source and the sector it was mastered for (None: an image; its own
    descriptor says)."""
    from .sources import MasteredSource, open_source
    sources = list(args.sources) + list(args.add)
    folders = [s for s in sources if _is_folder(s)]
    if folders and len(folders) != len(sources):
        raise BurnError("mix of folders and images: give either folders (mastered "
                        "together) or one image/device/-", errors.USAGE)
    if not folders:
        if len(sources) != 1:
            raise BurnError("give one image, device or '-' (or folders)", errors.USAGE)
        if args.remove:
            raise BurnError("--remove applies to folders burned as a next session",
                            errors.USAGE)
        return open_source(sources[0], args.size), None
    p = status.profile_info
    previous = device[4:] if device.startswith("sim:") else device
    has_session = _has_session(status)
    if opts.multi and has_session:
        start, nwa = recorder.msinfo(drive, status)
        src = MasteredSource(folders, args.volid, previous=previous,
                             sbsector=None if p.overwritable else start,
                             session_start=nwa, removes=args.remove, now=args.now)
        return src, nwa
    if args.remove:
        raise BurnError("--remove needs --multi and a disc with a previous session",
                        errors.NO_SESSION)
    if has_session and not p.overwritable and status.next_writable:
        nwa = status.next_writable
        return MasteredSource(folders, args.volid, session_start=nwa, now=args.now), nwa
    shared = getattr(args, "shared_master", None)
    if shared is not None:
        return shared.clone(), 0
    return MasteredSource(folders, args.volid, now=args.now), 0


def _start_and_descriptors(source, status, mastered_for):
    """Where the source belongs -- of the addresses this disc can take it
    at -- and, for a grown session on overwritable media, the descriptors to
    copy to sector 16."""
    from .sessionaddr import placement
    if mastered_for is not None:
        start = mastered_for
    else:
        found = placement(source, _candidate_starts(status))
        start = found.start
        if found.sectors and getattr(source, "size_from_descriptor", False):
            source.size = found.sectors * 2048     # a later session's own length
    if not (status.profile_info.overwritable and start):
        return start, None
    if hasattr(source, "descriptors"):
        return start, source.descriptors()
    return start, _image_descriptors(source)


def _candidate_starts(status):
    """The sectors a session can be written at on this disc: the next
    writable address of a sequential disc; on overwritable media sector 0
    (a new disc) or, growing, the ISO volume's end rounded up to 32 KiB."""
    if not status.profile_info.overwritable:
        return [status.next_writable or 0]
    if status.recorded_end:
        return [0, -(-status.recorded_end // recorder.OVERWRITE_ALIGN) * recorder.OVERWRITE_ALIGN]
    return [0]


def _image_descriptors(source):
    """An image's descriptor set (sector 16 up to its terminator, ECMA-119
    §8.3) as read from the image."""
    data = source.read(16 * 2048, 16 * 2048)
    out = b""
    for pos in range(0, len(data) - 2047, 2048):
        out += data[pos:pos + 2048]
        if data[pos] == 255:
            break
    return out


def burn_one(device, args, progress):
    """Burn (or blank/format/close) one device; returns the exit status."""
    opts = recorder.Options(dummy=args.dummy, multi=args.multi, speed_x=args.speed or None,
                            overburn=args.overburn, verify=args.verify,
                            underrun_free=getattr(args, "underrun_free", None),
                            write_type=getattr(args, "write_type", None),
                            xa=getattr(args, "xa", False))
    if args.wait:
        from .discovery import wait_for_medium
        progress.phase("wait", "waiting for a disc")
        if not wait_for_medium(device, args.timeout):
            raise BurnError(f"{device}: no disc inserted within {args.timeout:g} s",
                            errors.NO_MEDIUM)
    where = mounted_at(device)
    if where:
        raise BurnError(f"{device}: the disc is mounted at {where}; unmount it first",
                        errors.MOUNTED)
    drive = _open_drive(device)
    try:
        return _burn_opened(drive, device, args, opts, progress)
    finally:
        drive.t.close()


def _burn_opened(drive, device, args, opts, progress):
    from .sense import ScsiError
    source = None
    try:
        status = _probe(drive)
        progress.set_medium(status.profile_info.one_x_kbs)
        if getattr(args, "tune_options", None):
            args.tune_options(status, opts)          # a dialect's disc-dependent options
        if args.blank or args.format:
            recorder.check_writable(status, recorder.Options()) if not args.blank else None
            _blank_or_format(drive, status, args, progress)
            status = _probe(drive)
        if args.finalize:
            return _finalize(drive, status, progress)
        if args.close:
            return _close_session(drive, status, args, progress)
        if not (args.sources or args.add):
            if args.eject:
                drive.eject()
            return 0
        recorder.check_writable(status, opts)
        source, mastered_for = _source_for(args, device, drive, status, opts)
        start, descriptors = _start_and_descriptors(source, status, mastered_for)
        plan = recorder.plan_burn(drive, status, source.size, opts, descriptors, start=start)
        if getattr(args, "before_write", None):
            args.before_write(status, plan, opts, progress)   # a dialect's last checks
        recorder.write_plan(drive, status, source, plan, opts, progress)
        if args.verify and not args.dummy:
            verification.verify(drive, status, source, plan, progress)
        if args.eject:
            drive.eject()
        what = "test write finished (nothing was recorded)" if args.dummy else \
            f"burned {plan.blocks} sectors at {plan.start}" + (" and verified" if args.verify
                                                               else "")
        progress.result(True, what, 0, start=plan.start, sectors=plan.blocks)
        return 0
    except ScsiError as exc:
        raise BurnError(f"{device}: {exc}", errors.WRITE_FAILED) from None
    finally:
        if source is not None:
            source.close()


def _close_session(drive, status, args, progress):
    """--close (cdrecord -fix): close what an aborted write left open."""
    from .sense import ScsiError
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive", errors.NO_MEDIUM)
    progress.phase("close", "closing the open track and session")
    try:
        closed = closing.close_open_track(drive, status, args.multi)
    except ScsiError as exc:
        raise BurnError(f"{status.device}: closing failed: {exc.sense}",
                        errors.WRITE_FAILED) from None
    if closed.nothing_open:      # cdrecord -fix after a -multi or -nofix burn
        progress.result(True, "nothing was left open: the last session is closed and the "
                        "disc stays appendable", 0)
        return 0
    what = (f"closed track {closed.track} and the session" if closed.track
            else "closed the session") + (" (the disc stays appendable)" if args.multi else "")
    progress.result(True, what, 0)
    return 0


def _finalize(drive, status, progress):
    """--finalize (growisofs -M DEV=/dev/zero): close the disc for good."""
    from .sense import ScsiError
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive", errors.NO_MEDIUM)
    progress.phase("close", "finalizing the disc")
    try:
        closed = closing.finalize_disc(drive, status)
    except ScsiError as exc:
        raise BurnError(f"{status.device}: finalizing failed: {exc.sense}",
                        errors.WRITE_FAILED) from None
    what = f"closed track {closed.track} and " if closed.track else ""
    progress.result(True, f"{what}finalized the {status.profile_info.name}: it is closed "
                    "(complete)", 0)
    return 0


def _blank_or_format(drive, status, args, progress):
    from .mmc import BLANK_ALL, BLANK_MINIMAL
    from .sense import ScsiError
    p = status.profile_info
    if not status.is_mmc:
        raise BurnError(f"{status.device} is not an MMC drive", errors.NOT_MMC)
    if not status.medium:
        raise BurnError(f"{status.device}: no disc in the drive", errors.NO_MEDIUM)
    if args.blank == "as_needed":
        _as_needed(status, args)
    if args.blank in closing.PARTIAL_BLANK:
        _blank_partially(drive, status, args, progress)
    elif args.blank:
        if status.profile not in (0x0A, 0x14, 0x13):
            raise BurnError(f"{status.device}: a {p.name} cannot be blanked (only CD-RW and "
                            "DVD-RW)", errors.CANNOT_WRITE)
        if status.disc and status.disc.status == 0 and args.blank == "fast":
            return
        if not _confirm(f"Blank the {p.name} in {status.device}? Everything on it is lost.",
                        args):
            raise BurnError(f"{status.device}: blanking needs confirmation (--yes)",
                            errors.NOT_CONFIRMED)
        progress.phase("blank", f"blanking ({args.blank})")
        try:
            drive.blank(BLANK_ALL if args.blank == "all" else BLANK_MINIMAL,
                        lambda v: progress.fraction("blanking", v))
        except ScsiError as exc:
            raise BurnError(f"{status.device}: blanking failed: {exc.sense}",
                            errors.WRITE_FAILED) from None
    if args.format:
        if args.format != "pow" and not (p.overwritable or status.profile == 0x14):
            raise BurnError(f"{status.device}: a {p.name} is not formatted (only DVD+RW, "
                            "DVD-RW and BD-RE; a blank BD-R with --format pow)",
                            errors.CANNOT_WRITE)
        if not _confirm(f"Format the {p.name} in {status.device}? Everything on it is lost.",
                        args):
            raise BurnError(f"{status.device}: formatting needs confirmation (--yes)",
                            errors.NOT_CONFIRMED)
        try:
            formatting.format_medium(drive, status, progress, how=args.format)
        except BurnError:
            raise
        except ScsiError as exc:
            raise BurnError(f"{status.device}: formatting failed: {exc.sense}",
                            errors.WRITE_FAILED) from None


def _blank_partially(drive, status, args, progress):
    """--blank session|track|unclose (cdrecord blank=...): MMC-6 §6.2.3."""
    from .sense import ScsiError
    kind, address = closing.partial_blank(status, args.blank)
    p = status.profile_info
    what = {"session": "its last session is erased", "track": f"track {address} is erased",
            "unclose": "its last session is reopened"}[args.blank]
    if not _confirm(f"Blank the {p.name} in {status.device} ({what})?", args):
        raise BurnError(f"{status.device}: blanking needs confirmation (--yes)",
                        errors.NOT_CONFIRMED)
    progress.phase("blank", f"blanking ({args.blank})")
    try:
        drive.blank(kind, lambda v: progress.fraction("blanking", v), address=address)
    except ScsiError as exc:
        raise BurnError(f"{status.device}: blanking failed: {exc.sense}",
                        errors.WRITE_FAILED) from None


def _as_needed(status, args):
    """xorrecord's blank=as_needed: make the disc writable from scratch --
    format what is unformatted, blank (fast) a rewritable disc that is not
    blank, leave a blank disc alone; a written write-once disc cannot be."""
    p = status.profile_info
    args.blank = None
    if p.overwritable:
        if status.formatted is False:
            args.format = args.format or "quick"
        return
    if status.disc is None or status.disc.status == 0:
        return
    if not status.disc.erasable:
        raise BurnError(f"{status.device}: blank=as_needed: the {p.name} is written and "
                        "cannot be blanked", errors.DISC_CLOSED)
    args.blank = "fast"


# ---- commands --------------------------------------------------------------------------------
def cmd_list(args):
    from .discovery import candidate_devices, udev_summary
    devices = args.device
    found = {}
    if not devices:
        devices, found = candidate_devices()
    rows = []
    worst = 0
    for device in devices:
        try:
            drive = _open_drive(device, write=False)
        except BurnError as exc:
            rows.append({"device": device, "error": str(exc)})
            worst = max(worst, exc.code)
            continue
        try:
            row = _list_row(drive)
        except BurnError as exc:
            row = {"device": device, "error": str(exc)}
            worst = max(worst, exc.code)
        finally:
            drive.t.close()
        if device in found:
            row["udev"] = udev_summary(found[device])
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1))
    elif not rows:
        print("no optical drives found (no /dev/sr*; a simulated one: --device sim:PATH)")
    for row in rows if not args.json else ():
        print(_describe(row))
    return worst


def _list_row(drive):
    """A drive's --list entry: the probe, plus the medium's write speeds
    (GET PERFORMANCE) when the drive writes it."""
    from .layers import list_speeds
    status = _probe(drive)
    row = status.as_dict()
    if status.medium and status.writes_medium:
        row.update(list_speeds(drive, status).as_dict())
    return row


def _describe(row):
    if "error" in row:
        return f"{row['device']}: {row['error']}"
    if not row["mmc"]:
        return f"{row['device']}: {row['vendor']} {row['product']}: not an MMC drive"
    kind = ("writes " + ", ".join(row["writable_profiles"])) if row["can_write"] \
        else "read-only drive (cannot write)"
    text = f"{row['device']}: {row['vendor']} {row['product']}, {kind}"
    if not row["medium"]:
        return text + "; no disc"
    text += (f"; disc: {row['profile']}, {row['state']}, {row['sessions']} session(s), "
             f"{row['recorded_blocks']} sectors recorded")
    if row.get("next_writable") is not None:
        text += f", next writable {row['next_writable']}, {row['free_blocks']} free"
    if row.get("write_speeds_x"):
        text += "; write speeds " + ", ".join(f"{x:g}x" for x in row["write_speeds_x"])
    return text


def cmd_msinfo(args):
    from .sense import ScsiError
    if len(args.device) != 1:
        raise BurnError("--msinfo needs exactly one --device", errors.USAGE)
    drive = _open_drive(args.device[0], write=False)
    try:
        status = _probe(drive)
        if not status.is_mmc:
            raise BurnError(f"{status.device} is not an MMC drive", errors.NOT_MMC)
        start, nwa = recorder.msinfo(drive, status)
    except ScsiError as exc:
        raise BurnError(f"{args.device[0]}: {exc}", errors.NO_SESSION) from None
    finally:
        drive.t.close()
    print(json.dumps({"start": start, "next": nwa}) if args.json else f"{start},{nwa}")
    return 0


def cmd_report(args, request):
    """cdrecord's -msinfo, -toc, -atip, -checkdrive, -inq, -prcap, -scanbus and
    --devices, printed in cdrecord's layouts (dialects/reports.py)."""
    if request.reports[0] in ("scanbus", "devices"):
        return _cmd_drive_list(args, request)
    if len(args.device) != 1:
        raise BurnError(f"-{request.reports[0]} needs exactly one drive (dev=DEVICE)",
                        errors.USAGE)
    drive = _open_drive(args.device[0], write=False)
    try:
        for report in request.reports:          # xorrecord: -atip -toc in one run
            sys.stdout.write(_report_text(drive, args, request, report))
            sys.stdout.flush()
    finally:
        drive.t.close()
    return 0


def _report_text(drive, args, request, report):
    from .dialects import query, reports
    from .sense import ScsiError
    if report == "inq":
        return reports.inquiry(query.inquiry_facts(drive))
    status = _probe(drive)
    if not status.is_mmc:
        raise BurnError(f"{status.device} is not an MMC drive", errors.NOT_MMC)
    facts = query.inquiry_facts(drive)
    if report == "checkdrive":
        return reports.checkdrive(facts, status)
    if report == "atip":
        if not status.medium:             # cdrecord's words; the drive block first
            sys.stdout.write(reports.checkdrive(facts, status))
            raise BurnError(f"{status.device}: No disk / Wrong disk!", errors.NO_MEDIUM)
        return reports.atip(facts, status, status.profile_info.name)
    if report == "prcap":
        return reports.prcap(drive.capabilities(), query.profile_names(status))
    if report == "msinfo":
        return _dialect_msinfo(drive, status, args, request)
    try:
        return reports.toc(_toc_tracks(drive, status))
    except ScsiError:
        raise BurnError(f"{status.device}: Cannot read TOC/PMA (the disc is blank)",
                        errors.NO_SESSION) from None


def _toc_tracks(drive, status):
    """READ TOC on sequential media; an overwritable disc shows its grown ISO
    volume as one track (there is no TOC on it)."""
    from .dialects import query
    if status.profile_info.overwritable:
        if not status.recorded_end:
            raise BurnError(f"{status.device}: Cannot read TOC/PMA (no ISO 9660 volume on "
                            f"the {status.profile_info.name})", errors.NO_SESSION)
        return [(1, 0), (0xAA, status.recorded_end)]
    return query.toc_tracks(drive)


def _dialect_msinfo(drive, status, args, request):
    """cdrecord -msinfo: byte for byte what cdrecord prints (and msifile=)."""
    from .dialects import reports
    if request.dialect in ("xorrecord", "cdrskin") and status.profile_info.overwritable \
            and not request.grow_overwritable:
        raise BurnError(f"{status.device}: the {status.profile_info.name} counts as blank "
                        "for xorrecord: add --grow_overwriteable_iso to continue its ISO "
                        "volume", errors.NO_SESSION)
    start, nwa = recorder.msinfo(drive, status)
    if request.msifile:
        try:
            with open(request.msifile, "w") as f:
                f.write(f"{start},{nwa}")
        except OSError as exc:
            raise BurnError(f"msifile={request.msifile}: {exc.strerror}",
                            errors.OUTPUT) from None
    return reports.msinfo(start, nwa, request.verbose)


def _cmd_drive_list(args, request):
    """-scanbus / --devices: the drives, as cdrecord and wodim list them."""
    from .discovery import candidate_devices
    from .dialects import devaddr, query, reports
    devices = args.device or candidate_devices()[0]
    rows, bus_lines = [], {}
    for node in devices:
        try:
            drive = _open_drive(node, write=False)
        except BurnError:
            continue                       # cdrecord lists the drives it can open
        try:
            facts = query.inquiry_facts(drive)
        finally:
            drive.t.close()
        path = node[4:] if node.startswith("sim:") else node
        rows.append((node, reports.permissions(os.stat(path).st_mode), facts))
        address = devaddr.address_of(node) if not node.startswith("sim:") else None
        bus = address[0] if address else node
        bus_lines.setdefault(bus, []).append(
            reports.scanbus_line(address, address[0] * 100 + address[1], facts) if address
            else f"\t{node}\t  0) '{facts['vendor']}' '{facts['product']}' "
                 f"'{facts['revision']}' Removable CD-ROM\n")
    if request.reports[0] == "devices":
        sys.stdout.write(reports.devices(rows, request.dialect))
    else:
        for bus, lines in bus_lines.items():
            sys.stdout.write((f"scsibus{bus}:\n" if isinstance(bus, int) else "") +
                             "".join(lines))
    return 0


def cmd_dry_run(args):
    """growisofs -dry-run: every step up to, not including, the first WRITE
    (the drive is opened read-only; the plan's checks all run)."""
    if len(args.device) != 1:
        raise BurnError("-dry-run needs exactly one drive", errors.USAGE)
    device = args.device[0]
    opts = recorder.Options(dummy=args.dummy, multi=args.multi, speed_x=args.speed or None,
                            overburn=args.overburn, write_type=getattr(args, "write_type", None),
                            xa=getattr(args, "xa", False))
    drive = _open_drive(device, write=False)
    source = None
    try:
        status = _probe(drive)
        if args.finalize:                   # growisofs -dry-run -M DEV=/dev/zero
            closing.check_finalizable(status)
            print(f"{args.program}: dry run: would close (finalize) the "
                  f"{status.profile_info.name} in {device}; nothing was written")
            return 0
        args.tune_options(status, opts)
        recorder.check_writable(status, opts)
        source, mastered_for = _source_for(args, device, drive, status, opts)
        start, descriptors = _start_and_descriptors(source, status, mastered_for)
        plan = recorder.plan_burn(drive, status, source.size, opts, descriptors, start=start)
        args.before_write(status, plan, opts, None)     # no progress: checks only
    finally:
        if source is not None:
            source.close()
        drive.t.close()
    if args.request.print_size:             # Brasero: growisofs -dry-run ... -print-size
        print(source.size // 2048)          # as mkisofs prints it: the number on stdout,
        print(f"Total extents scheduled to be written = {source.size // 2048}",
              file=sys.stderr)              # the sentence Brasero reads on stderr
        return 0
    ending = "grow its ISO volume" if status.profile_info.overwritable else \
        "leave it appendable" if opts.multi else "close it"
    print(f"{args.program}: dry run: would write {plan.blocks} sectors "
          f"({plan.blocks * 2048 / 1e6:.1f} MB) of {source.label} at sector {plan.start} of "
          f"the {status.profile_info.name} in {device} and {ending}; nothing was written")
    return 0


def cmd_image_out(args):
    """Copy a source into an image file.  A disc's recorded tracks go to
    their own offsets (the gaps between sessions stay holes of a sparse
    file), so the copy mounts with every session; a copy left incomplete by
    an unreadable sector is removed, and the error names every such sector."""
    import stat
    from . import copying
    from .sources import open_source
    sources = list(args.sources) + list(args.add)
    if len(sources) != 1 or _is_folder(sources[0]):
        raise BurnError("--image-out copies one image, device, sim: disc or '-'",
                        errors.USAGE)
    source = open_source(sources[0], args.size)
    progress = Progress(args.image_out, _mode(args))
    try:
        try:
            fd = os.open(args.image_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                         0o644)
        except OSError as exc:
            raise BurnError(f"{args.image_out}: {exc.strerror}", errors.OUTPUT) from None
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        try:
            if hasattr(source, "disc_map"):
                done = copying.copy_extents(source, fd, progress)
                what = f"{source.disc_map.describe()}, {done} bytes"
            else:
                done = copying.copy_sequentially(source, fd, progress)
                what = f"{done} bytes"
            if regular:
                os.fsync(fd)
        except BaseException as exc:
            os.close(fd)
            fd = -1
            if regular:
                os.unlink(args.image_out)
                if isinstance(exc, BurnError):
                    exc.args = (f"{exc}; the incomplete {args.image_out} was removed",)
            raise
        finally:
            if fd >= 0:
                os.close(fd)
    finally:
        source.close()
    progress.result(True, f"copied {what} from {source.label}", 0, bytes=done)
    return 0


def cmd_burn(args):
    devices = args.device
    if not devices:
        raise BurnError("say which drive: --device /dev/srN (or sim:PATH); --list shows them",
                        errors.USAGE)
    if len(set(devices)) != len(devices):
        raise BurnError("the same --device is given twice", errors.USAGE)
    if len(devices) == 1:
        return _guarded(devices[0], args, _progress(args, devices[0]))
    if "-" in args.sources:
        raise BurnError("standard input can feed one drive only", errors.USAGE)
    return burn_parallel(devices, args)


def _guarded(device, args, progress):
    from .sense import TransportError
    try:
        try:
            return burn_one(device, args, progress)
        except TransportError as exc:      # outside the write itself (probing, closing)
            raise BurnError(f"{device}: {exc}", errors.transport_code(exc)) from None
    except BurnError as exc:
        if progress.mode == "json":
            progress.result(False, str(exc), exc.code, error=errors.NAMES.get(exc.code))
        print(f"{getattr(args, 'program', 'isofuse-burn')}: {exc}", file=sys.stderr)
        return exc.code


def burn_parallel(devices, args):
    """The same source to several drives at once (trio; the blocking SCSI
    work runs in threads, each drive with its own source reader)."""
    import trio
    from .sources import MasteredSource
    results = {}
    sources = list(args.sources) + list(args.add)
    if sources and all(_is_folder(s) for s in sources):
        try:
            args.shared_master = MasteredSource(sources, args.volid, now=args.now)
        except BurnError as exc:
            print(f"isofuse-burn: {exc}", file=sys.stderr)
            return exc.code

    async def one(device):
        progress = _progress(args, device, parallel=True)
        results[device] = await trio.to_thread.run_sync(_guarded, device, args, progress)

    async def main():
        async with trio.open_nursery() as nursery:
            for device in devices:
                nursery.start_soon(one, device)

    try:
        trio.run(main)
    finally:
        if getattr(args, "shared_master", None) is not None:
            args.shared_master.close()
    return max(results.values())


def _request_for(argv, program):
    """The dialect's Request (None: an isofuse-burn line of its own);
    DialectError when the line is refused."""
    from . import dialects
    dialect = dialects.program_dialect(program) or dialects.guess(argv)
    return dialects.translate(dialect, argv) if dialect else None


def _apply_request(args, request, program):
    """Hand the settings without an isofuse-burn spelling to the burn paths."""
    from .dialects import hooks
    args.request = request
    args.program = program
    if request is None:
        return
    args.underrun_free = request.underrun_free
    args.write_type = request.write_type
    args.xa = request.xa
    args.pad_bytes = request.pad_bytes
    args.tune_options = hooks.tune_options(request)
    args.before_write = hooks.before_write(request, program)
    if request.mkisofs is not None:
        from .dialects.mastering import parse
        args.mkisofs = request.mkisofs
        args.sources = list(parse(request.mkisofs).sources)


def main(argv=None, program=None):
    from .dialects import DialectError
    argv = list(sys.argv[1:] if argv is None else argv)
    program = program or os.path.basename(sys.argv[0] or "isofuse-burn")
    try:
        request = _request_for(argv, program)
        name = _program_name(program)
        if request is not None and request.text:
            return _print_text(request, name)
        args = build_parser().parse_args(request.argv if request else argv)
        _apply_request(args, request, name)
    except DialectError as exc:
        print(f"{_program_name(program)}: {exc}; nothing was done", file=sys.stderr)
        return errors.USAGE
    args.now = int(time.time())
    return _run(args)


def _program_name(program):
    from . import dialects
    return dialects.program_dialect(program) or "isofuse-burn"


def _print_text(request, name):
    from isofuse import __version__
    from .dialects import cdrecord, reports
    if request.text == "blank-help":
        sys.stderr.write(cdrecord.BLANK_HELP)
    elif request.text == "version":
        sys.stdout.write(reports.version(name, __version__))
    else:
        sys.stdout.write(reports.usage(name, request.dialect))
    return 0


def _run(args):
    from .sense import TransportError
    request = args.request
    try:
        if args.dummy and args.verify:
            raise BurnError("--verify has nothing to read after --dummy", errors.USAGE)
        for note in request.notes if request else ():
            print(f"{args.program}: {note}", file=sys.stderr)
        if request is not None and request.waiti:
            from .dialects.hooks import wait_for_input
            wait_for_input()
        if request is not None and request.reports:
            return cmd_report(args, request)
        if args.list:
            return cmd_list(args)
        if args.msinfo:
            return cmd_msinfo(args)
        if args.image_out:
            return cmd_image_out(args)
        if request is not None and request.dry_run:
            return cmd_dry_run(args)
        from . import copying
        if args.device and copying.is_disc_spec((args.sources + args.add + [""])[0]) \
                and len(args.sources + args.add) == 1:
            return copying.burn_copy(args, cmd_burn, lambda label: _progress(args, label))
        if not (args.sources or args.add or args.blank or args.format or args.eject
                or args.close or args.finalize):
            raise BurnError("nothing to do: give a SOURCE, --blank, --format, --close, --eject, "
                            "--list or --msinfo (see --help)", errors.USAGE)
        return cmd_burn(args)
    except BurnError as exc:
        print(f"{args.program}: {exc}", file=sys.stderr)
        return exc.code
    except TransportError as exc:     # the drive logic had nothing to add: say what happened
        print(f"{args.program}: {exc}", file=sys.stderr)
        return errors.transport_code(exc)
    except KeyboardInterrupt:
        print(f"{args.program}: interrupted; a disc being written is probably unusable",
              file=sys.stderr)
        return errors.INTERRUPTED


def main_cdrecord():
    """The isofuse-cdrecord entry point: cdrecord's command line."""
    return main(program="isofuse-cdrecord")


def main_growisofs():
    """The isofuse-growisofs entry point: growisofs' command line."""
    return main(program="isofuse-growisofs")


if __name__ == "__main__":
    sys.exit(main())
