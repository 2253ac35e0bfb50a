"""Which source a burn writes, mastered for the address it is written at
(burner/sessionaddr.py, docs/burner-mmc.md)."""

from . import errors, recorder
from .cli_common import is_folder
from .errors import BurnError
from isofuse.format.sectors import sectors_for, round_up


def source_for(args, device, drive, status, opts):
    """The source to burn (see _plain_source_for), followed by the zeros of
    a dialect's padding (cdrecord -pad, padsize=)."""
    if getattr(args, "mkisofs", None) is not None:
        source, mastered_for = _mkisofs_source(args, device, drive, status, opts)
    elif getattr(args, "request", None) is not None and args.sources == ["-"] and args.size:
        from .sources import PipeSource
        source, mastered_for = PipeSource(size=args.size), None
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
    if not (opts.multi and has_session(status)):
        return source, None
    nwa = recorder.msinfo(drive, status)[1]
    if not hooks.next_session_image(source, nwa):
        return source, None
    if status.profile_info.overwritable:
        source = hooks.Grown(source, nwa)
    return source, nwa


def has_session(status):
    p = status.profile_info
    return bool(status.recorded_end) if p.overwritable else \
        status.disc is not None and status.disc.status != 0


def _mkisofs_source(args, device, drive, status, opts):
    """growisofs: the folders mastered with its mkisofs options; with -M over
    the disc's last session at its next writable address (mkisofs -C -M)."""
    from .dialects.mastering import MkisofsSource
    if not args.request.initial_session and not has_session(status):
        raise BurnError(f"growisofs -M: the {status.profile_info.name} in {device} holds no "
                        "session to merge with; -Z writes the first one", errors.NO_SESSION)
    if not opts.multi or not has_session(status) or args.request.initial_session:
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
    folders = [s for s in sources if is_folder(s)]
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
    appending = has_session(status)
    if opts.multi and appending:
        start, nwa = recorder.msinfo(drive, status)
        src = MasteredSource(folders, args.volid, previous=previous,
                             sbsector=None if p.overwritable else start,
                             session_start=nwa, removes=args.remove, now=args.now)
        return src, nwa
    if args.remove:
        raise BurnError("--remove needs --multi and a disc with a previous session",
                        errors.NO_SESSION)
    if appending and not p.overwritable and status.next_writable:
        nwa = status.next_writable
        return MasteredSource(folders, args.volid, session_start=nwa, now=args.now), nwa
    shared = getattr(args, "shared_master", None)
    if shared is not None:
        return shared.clone(), 0
    return MasteredSource(folders, args.volid, now=args.now), 0


def start_and_descriptors(source, status, mastered_for):
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
    return start, _image_descriptors(source, start)


def _candidate_starts(status):
    """The sectors a session can be written at on this disc: the next
    writable address of a sequential disc; on overwritable media sector 0
    (a new disc) or, growing, the ISO volume's end rounded up to 32 KiB."""
    if not status.profile_info.overwritable:
        return [status.next_writable or 0]
    if status.recorded_end:
        return [0, round_up(status.recorded_end, recorder.OVERWRITE_ALIGN)]
    return [0]


def _image_descriptors(source, start):
    """An image's descriptor set, as the copy for sector 16 of the grown disc
    (isofuse.master.session.grown_descriptor_copy)."""
    from isofuse.master.session import grown_descriptor_copy
    from .sessionaddr import descriptor_area
    return grown_descriptor_copy(descriptor_area(source), start + sectors_for(source.size))


