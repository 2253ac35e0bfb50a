"""The options every benchmark has, and the frame of its main function."""

import argparse
import os
import shutil
import signal
import sys

from .common import REPO, BenchError, default_workdir, set_log_prefix


COLD_EPILOG = """\
Run as root for cold-cache numbers (sync; echo 3 > /proc/sys/vm/drop_caches);
otherwise it says so and the cold numbers are warm."""


def parser(prog, description, epilog):
    """An ArgumentParser keeping the texts' layout; the epilog starts with
    what root changes (the cold numbers)."""
    return argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,                 # exact option names only
        description=description, epilog=COLD_EPILOG + "  " + epilog)


def add_common(parser, quick_help, keep_help, workdir_help="images, trees, mount "
               "points and logs"):
    """--workdir, --quick, --keep, --json: the same in every script."""
    parser.add_argument("--workdir", default=default_workdir(),
                        help=f"where {workdir_help} go (default: $ISOFUSE_BENCH_DIR "
                             "or /var/tmp/isofuse-bench; must be outside the "
                             "repository)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--keep", action="store_true", help=keep_help)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def add_isofuse_cmd(parser, subcommand=""):
    parser.add_argument("--isofuse-cmd", metavar="CMD",
                        help="command that runs isofuse (default: this checkout via "
                             f"'{os.path.basename(sys.executable)} -m isofuse.cli.main"
                             f"{' ' + subcommand if subcommand else ''}')")


def names_option(value, known, what, parser):
    """A comma-separated list of names, each one of ``known``."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    for n in names:
        if n not in known:
            parser.error(f"unknown {what} {n!r} (choose from {', '.join(known)})")
    return names


def defaults(args, quick, full):
    """Fill the options left at None: ``quick`` values with --quick, else ``full``."""
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def have_tools(prog, tools):
    """True when every program is on PATH; else says which is not."""
    missing = [t for t in tools if not shutil.which(t)]
    for tool in missing:
        print(f"{prog}: {tool} not found", file=sys.stderr)
    return not missing


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def workdir_of(args, prog):
    """The real path of --workdir, made; None (after a message) when it is
    inside the repository."""
    workdir = os.path.realpath(args.workdir)
    repo = os.path.realpath(REPO)
    if workdir == repo or workdir.startswith(repo + os.sep):
        print(f"{prog}: the work folder must be outside the repository", file=sys.stderr)
        return None
    os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
    return workdir


def start(prog, parse_args, argv):
    """(args, work folder) of the command line, or (args, None) when the
    work folder may not be used (said on stderr: exit status 2)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return args, workdir_of(args, prog)


def run_main(prog, log_prefix, body, cleanup, interrupted_msg):
    """Call ``body()`` with SIGINT/SIGTERM/SIGHUP turned into
    KeyboardInterrupt, so that every ``finally`` below runs; ``cleanup()``
    runs last whatever happened.  Returns the exit status: body's, 1 for a
    BenchError, 130 when interrupted."""
    set_log_prefix(log_prefix)
    # a shell may start us with SIGINT ignored (background job): take it back
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    try:
        return body()
    except BenchError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {interrupted_msg}", file=sys.stderr)
        return 130
    finally:
        try:
            cleanup()
        except KeyboardInterrupt:
            # a second Ctrl-C during clean-up: finish it anyway
            cleanup()
