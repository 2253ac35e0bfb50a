"""Commands on the medium itself: blank, format, close what is open, finalize."""

from . import closing, errors, formatting
from .cli_common import confirm
from .errors import BurnError


def close_session(drive, status, args, progress):
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


def finalize(drive, status, progress):
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


def blank_or_format(drive, status, args, progress):
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
        if not confirm(f"Blank the {p.name} in {status.device}? Everything on it is lost.",
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
        if not confirm(f"Format the {p.name} in {status.device}? Everything on it is lost.",
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
    if not confirm(f"Blank the {p.name} in {status.device} ({what})?", args):
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
