"""``isofuse-burn``: write a staging folder, an image, standard input or
another disc to CD/DVD/BD drives (or simulated ones, ``sim:PATH``)."""

import argparse
import os
import sys
import time

from . import errors
from .cli_burn import cmd_burn, cmd_dry_run, cmd_image_out
from .cli_common import progress_for
from .cli_reports import cmd_list, cmd_msinfo, cmd_report
from .errors import BurnError

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
















# ---- the burn of one device ------------------------------------------------------------------






























# ---- commands --------------------------------------------------------------------------------




























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
            return copying.burn_copy(args, cmd_burn, lambda label: progress_for(args, label))
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
