"""``isofuse``: the command line.

    isofuse mount IMAGE MOUNTPOINT [-f] [-o OPTIONS]
    isofuse info IMAGE [--json]
    isofuse IMAGE MOUNTPOINT -o OPTIONS   (the form mount.fuse3 uses, so that
                                           ``mount -t fuse.isofuse`` and fstab work)
"""

import argparse
import gc
import importlib
import logging
import os
import sys

from .. import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

SUBCOMMANDS = ("mount", "info", "master", "stage")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser(command=None):
    """The parser for every sub-command, or for ``command`` alone: a run
    imports only the modules of its own command (start-up time is part of
    every short command's time; the reader alone takes 50 ms to import)."""
    parser = argparse.ArgumentParser(
        prog="isofuse", allow_abbrev=False,
        formatter_class=_Formatter,
        description="Make and check data discs (CD, DVD, Blu-ray) on Linux.",
        epilog="Run 'isofuse COMMAND --help' for the options of a command.\n"
               "mount(8) and fstab: 'mount -t fuse.isofuse IMAGE DIR -o OPTIONS'.")
    parser.add_argument("--version", action="version", version=f"isofuse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS if command is None else (command,):
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # mount.fuse3 runs "isofuse SOURCE MOUNTPOINT -o opts": no sub-command.
    if argv and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-") \
            and len([a for a in argv if not a.startswith("-")]) >= 2:
        argv.insert(0, "mount")
    parser = build_parser(argv[0] if argv and argv[0] in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    level = logging.DEBUG if getattr(args, "debug", False) else logging.WARNING
    logging.basicConfig(level=level, format="isofuse: %(levelname)s: %(message)s")
    if args.command == "master":
        return args.run(args, argv[1:])
    if args.command == "stage":
        return args.run(args, drive_probe=drive_probe())
    return args.run(args)


DRIVE_PROBE_GROUP = "isofuse.drive_probe"


def drive_probe():
    """The drive probe a package registered under the entry point group
    ``isofuse.drive_probe`` (isofuse-burn's burner.driveprobe:probe, see
    setup.cfg), looked up when a drive is first asked (the look-up takes
    a tenth of a second).  isofuse itself reads images and folders only:
    talking to drives is the burner's, and isofuse does not import it.
    Without a registered probe, asking raises OSError saying so."""
    def probe(device):
        from importlib.metadata import entry_points
        found = sorted(entry_points(group=DRIVE_PROBE_GROUP), key=lambda ep: ep.name)
        if not found:
            raise OSError("reading a disc in a drive needs isofuse's burner "
                          "(isofuse-burn), which is not installed")
        try:
            probe_of_burner = found[0].load()
        except ImportError as exc:  # registered, but broken or half removed
            raise OSError(f"isofuse's drive probe cannot be loaded: {exc}") from None
        return probe_of_burner(device)
    return probe


def program():
    """The ``isofuse`` command: main(), then a quick exit.

    Once a command has finished, nothing remains but freeing what it built:
    for a 100,000-file tree that is half a million objects linked in cycles,
    which the interpreter took about a second to take apart at exit.  The
    output is flushed and the process ends without that.
    """
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        # Ctrl-C: the command has cleaned up on its way out (an unfinished
        # image file is removed); a traceback would only alarm
        print("isofuse: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # the reader of our output went away (isofuse info ... | head): as
        # for any Unix filter, end quietly with the status SIGPIPE would give
        code = 141
    gc.disable()    # nothing is left to collect, and a collection would walk it all
    try:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        code = code or 1
    os._exit(code or 0)


if __name__ == "__main__":
    program()
