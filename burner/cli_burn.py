"""Burning: one drive, several in parallel, a dry run, a copy to an image file."""

import os
import sys

from . import closing, errors, recorder, verification
from . import cli_common
from .cli_common import is_folder, mounted_at, probe, progress_for, progress_mode
from .cli_media import blank_or_format, close_session, finalize
from .cli_sources import source_for, start_and_descriptors
from .errors import BurnError
from .progress import Progress


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
    drive = cli_common.open_drive(device)
    try:
        return _burn_opened(drive, device, args, opts, progress)
    finally:
        drive.t.close()


def _burn_opened(drive, device, args, opts, progress):
    from .sense import ScsiError
    source = None
    try:
        status = probe(drive)
        progress.set_medium(status.profile_info.one_x_kbs)
        if getattr(args, "tune_options", None):
            args.tune_options(status, opts)          # a dialect's disc-dependent options
        if args.blank or args.format:
            recorder.check_writable(status, recorder.Options()) if not args.blank else None
            blank_or_format(drive, status, args, progress)
            status = probe(drive)
        if args.finalize:
            return finalize(drive, status, progress)
        if args.close:
            return close_session(drive, status, args, progress)
        if not (args.sources or args.add):
            if args.eject:
                drive.eject()
            return 0
        source, plan = source_and_plan(drive, device, status, args, opts)
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


def source_and_plan(drive, device, status, args, opts):
    """What a burn and a dry run (growisofs -dry-run) do alike before the
    first WRITE: check the disc takes this burn, open the source (a folder
    is mastered for this disc's next session), find where it starts and the
    descriptors a grown volume needs at 16, and plan the burn.  Returns
    (source, plan); the caller closes the source -- unless planning fails,
    then it is closed here before the error goes on."""
    recorder.check_writable(status, opts)
    source, mastered_for = source_for(args, device, drive, status, opts)
    try:
        start, descriptors = start_and_descriptors(source, status, mastered_for)
        plan = recorder.plan_burn(drive, status, source.size, opts, descriptors, start=start)
    except BaseException:
        source.close()
        raise
    return source, plan


def cmd_dry_run(args):
    """growisofs -dry-run: every step up to, not including, the first WRITE
    (the drive is opened read-only; the plan's checks all run)."""
    from .sense import ScsiError
    if len(args.device) != 1:
        raise BurnError("-dry-run needs exactly one drive", errors.USAGE)
    device = args.device[0]
    opts = recorder.Options(dummy=args.dummy, multi=args.multi, speed_x=args.speed or None,
                            overburn=args.overburn, write_type=getattr(args, "write_type", None),
                            xa=getattr(args, "xa", False))
    drive = cli_common.open_drive(device, write=False)
    source = None
    try:
        status = probe(drive)
        if args.finalize:                   # growisofs -dry-run -M DEV=/dev/zero
            closing.check_finalizable(status)
            print(f"{args.program}: dry run: would close (finalize) the "
                  f"{status.profile_info.name} in {device}; nothing was written")
            return 0
        args.tune_options(status, opts)
        source, plan = source_and_plan(drive, device, status, args, opts)
        if plan.descriptors is not None:    # the grown copy's check reads, never writes
            plan.descriptor_block = recorder.grown_block(drive, status, source, plan)
        args.before_write(status, plan, opts, None)     # no progress: checks only
    except ScsiError as exc:                # as burn_one says it: one line, no traceback
        raise BurnError(f"{device}: {exc}", errors.WRITE_FAILED) from None
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
    if len(sources) != 1 or is_folder(sources[0]):
        raise BurnError("--image-out copies one image, device, sim: disc or '-'",
                        errors.USAGE)
    source = open_source(sources[0], args.size)
    progress = Progress(args.image_out, progress_mode(args))
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
        return guarded(devices[0], args, progress_for(args, devices[0]))
    if "-" in args.sources:
        raise BurnError("standard input can feed one drive only", errors.USAGE)
    return burn_parallel(devices, args)


def guarded(device, args, progress):
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
    if sources and all(is_folder(s) for s in sources):
        try:
            args.shared_master = MasteredSource(sources, args.volid, now=args.now)
        except BurnError as exc:
            print(f"isofuse-burn: {exc}", file=sys.stderr)
            return exc.code

    async def one(device):
        progress = progress_for(args, device, parallel=True)
        results[device] = await trio.to_thread.run_sync(guarded, device, args, progress)

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
