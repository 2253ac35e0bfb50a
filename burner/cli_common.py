"""What every isofuse-burn command shares: opening and probing a drive, the
mounted-disc check, confirmation, progress output."""

import os
import sys

from . import errors
from .errors import BurnError
from .progress import Progress

CDRECORD_DIALECTS = ("cdrecord", "wodim", "xorrecord", "cdrskin")


def open_drive(device, write=True):
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


def probe(drive):
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


def confirm(question, args):
    if args.yes:
        return True
    if not sys.stdin.isatty():
        return False
    answer = input(question + " [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def is_folder(spec):
    return spec not in ("-",) and not spec.startswith("sim:") and os.path.isdir(spec)


def progress_for(args, device, parallel=False):
    """The progress reporter: cdrecord's or growisofs' progress lines for
    their dialects (K3b and Brasero read them), isofuse-burn's own otherwise."""
    mode = progress_mode(args, parallel)
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


def progress_mode(args, parallel=False):
    if args.json:
        return "json"
    if args.quiet:
        return "quiet"
    return "tty" if sys.stderr.isatty() and not parallel else "plain"
