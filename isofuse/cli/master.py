"""``isofuse master``: make an ISO 9660 image from folders, mkisofs style.

The command line is read by our own mkisofs-dialect parser
(isofuse.cli.mkisofs_args, the option table in isofuse.cli.mkisofs_options):
``parse_command_line`` turns it into a ParsedCommand, the rest of this
module runs one.
"""

import argparse
import codecs
import os
import stat
import sys
import time
from dataclasses import dataclass, field, replace as _replace
from typing import List, Optional

from ..bulk import collector_paused
from ..format.sectors import SECTOR
from ..master import layout as layout_mod
from ..master.isotree import TreeError
from ..master.naming import NameRules
from ..master import session
from ..master.options import MasterOptions
from ..master.sourcetree import ScanRules, SourceError
from ..master.stream import SourceChanged
from .mkisofs_args import UsageError, parse_words
from .mkisofs_help import help_text

DESCRIPTION = """\
Make an ISO 9660 image (with Rock Ridge, Joliet, El Torito) from folders and
files.  Option names follow mkisofs/genisoimage/xorrisofs, so existing
scripts switch by changing the command name.  The image size is known before
writing: -print-size prints it (in 2048-byte sectors) and writes nothing.
"""


def add_parser(sub):
    """``isofuse master`` in the sub-command parser: every word after
    ``master`` goes to parse_command_line untouched (argparse would read
    ``-output`` as ``-o utput``: no '-' is an option prefix here)."""
    p = sub.add_parser("master", help="make an ISO image from folders (mkisofs options)",
                       add_help=False, prefix_chars="\x01")
    p.add_argument("words", nargs=argparse.REMAINDER)
    p.set_defaults(run=run)


@dataclass
class ParsedCommand:
    """An ``isofuse master`` (mkisofs) command line, read and checked.

    options   the MasterOptions of the image (names, extensions, boot, hybrid)
    sources   the SOURCE words (graft-point specs "DISC/PATH=SOURCE" when
              graft_points), -path-list lines included, in order: what
              isofuse.master.sourcetree.scan takes
    scan      the ScanRules for scan: exclusions, hiding, links, owners
    output    -o FILE ('-' standard output) or None; print_size: -print-size
    quiet, verbose, skip_unreadable: messages and unreadable sources
    previous, msinfo, append_to, remove: multisession (-M, -C, --append-to)
    help, version: --help / -version was given (nothing else is checked then)
    sort_rules  [(PATTERN, WEIGHT)] from -sort and --sort-weight
    """
    options: MasterOptions
    sources: List[str] = field(default_factory=list)
    graft_points: bool = False
    scan: ScanRules = field(default_factory=ScanRules)
    output: Optional[str] = None
    print_size: bool = False
    quiet: bool = False
    verbose: bool = False
    skip_unreadable: bool = False
    previous: Optional[str] = None
    msinfo: Optional[str] = None
    append_to: Optional[str] = None
    remove: List[str] = field(default_factory=list)
    sort_rules: list = field(default_factory=list)
    help: bool = False
    version: bool = False


def parse_command_line(argv):
    """Read a mkisofs/genisoimage/xorrisofs command line (without the
    program name) into a ParsedCommand.

    Raises UsageError with a one-line message for an unknown option (naming
    the nearest known one), a refused option (naming the reason), a missing
    or malformed value, or options that do not go together; -path-list,
    -exclude-list, -hide-list and -sort files are read here (an unreadable
    one is a UsageError too).  Nothing is written and no source is looked
    at.  A line with --help or -version returns at once with .help or
    .version set.  Stable for other front ends (growisofs passes its
    mkisofs options through this)."""
    words = parse_words(list(argv))
    if words.help or words.version:
        return ParsedCommand(options=MasterOptions(), help=words.help, version=words.version)
    s = words.settings
    sources = list(words.sources)
    for path in s["path_lists"]:
        sources.extend(_lines_of("-path-list", path))
    cmd = ParsedCommand(
        options=_master_options(words), sources=sources, graft_points=s["graft_points"],
        scan=_scan_rules(s), output=s["output"], print_size=s["print_size"],
        quiet=s["quiet"], verbose=s["verbose"] and not s["quiet"],
        skip_unreadable=s["skip_unreadable"], previous=s["previous"], msinfo=s["msinfo"],
        append_to=s["append_to"], remove=list(s["remove"]),
        sort_rules=_sort_rules(s))
    _check_sessions(cmd)
    return cmd


def _lines_of(option, path):
    """The non-empty lines of a list file (-path-list, -exclude-list ...)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}") from None
    return [os.fsdecode(line) for line in data.split(b"\n") if line.strip()]


def _charset(option, name):
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise UsageError(f"{option} {name}: not a character set Python knows") from None


def _scan_rules(s):
    exclude = list(s["exclude"])
    for path in s["exclude_lists"]:
        exclude.extend(_lines_of("-exclude-list", path))
    hide = list(s["hide"])
    for path in s["hide_lists"]:
        hide.extend(_lines_of("-hide-list", path))
    hide_joliet = list(s["hide_joliet"])
    for path in s["hide_joliet_lists"]:
        hide_joliet.extend(_lines_of("-hide-joliet-list", path))
    input_charset = s["jcharset"] or s["input_charset"]
    return ScanRules(
        follow_links=s["follow_links"], exclude=tuple(exclude), no_bak=s["no_bak"],
        hide=tuple(hide), hide_joliet=tuple(hide_joliet),
        cache_inodes=s["cache_inodes"] is not False,
        input_charset=_charset("-input-charset", input_charset) if input_charset else None,
        output_charset=_charset("-output-charset", s["output_charset"])
        if s["output_charset"] else None,
        uid=s["uid"], gid=s["gid"], file_mode=s["file_mode"], dir_mode=s["dir_mode"],
        new_dir_mode=s["new_dir_mode"],
        table_name=s["table_name"] or ("TRANS.TBL" if s["trans_tbl"] else None),
        hide_joliet_trans_tbl=s["hide_joliet_trans_tbl"])


def _sort_rules(s):
    rules = []
    if s["sort_file"]:
        for line in _lines_of("-sort", s["sort_file"]):
            path, _, weight = line.rstrip().rpartition(" ")
            path = path.rstrip() or None
            try:
                rules.append((path, int(weight)))
            except (TypeError, ValueError):
                path = None
            if path is None:
                raise UsageError(f"-sort {s['sort_file']}: {line!r} is not 'PATH WEIGHT'")
    rules.extend((path, weight) for weight, path in s["sort_weights"])
    return rules


def _name_rules(s):
    untranslated = s["untranslated"]
    # -max-iso9660-filenames forces -N (genisoimage, xorrisofs): 37 + ";1"
    # would not fit the reader's buffers it was made for
    return NameRules(level=s["level"] or 1,
                     version_numbers=not (s["no_version"] or s["max_37"]),
                     allow_lowercase=s["lowercase"] or untranslated,
                     relaxed=s["relaxed"] or untranslated, untranslated=untranslated,
                     omit_period=s["omit_period"], allow_leading_dots=s["leading_dots"],
                     full_31=s["full_31"], max_37=s["max_37"], allow_multidot=s["multidot"])


def _epoch():
    try:
        return session.source_date_epoch()
    except session.SessionError as exc:
        raise UsageError(str(exc)) from None


def _master_options(words):
    s = words.settings
    rock = s["rock"]
    if rock == "keep" and "-r" in words.seen:
        rock = "rationalized"   # -r -R: -R does not undo -r (genisoimage, xorrisofs)
    if rock is None and "rock" not in words.explicit and any(
            s[k] is not None for k in ("uid", "gid", "file_mode", "dir_mode")):
        rock = "keep"       # genisoimage: -uid, -gid, -*-mode imply Rock Ridge
    options = MasterOptions(
        names=_name_rules(s), rock=rock, rrip_112=s["rrip_112"],
        joliet=s["joliet"] or bool(s["jcharset"]), joliet_long=s["joliet_long"],
        deep=s["deep"], boot=words.boot, source_date_epoch=_epoch(),
        padding_sectors=0 if s["pad"] is False else 150)
    for dest, default in (("volume_id", "CDROM"), ("application", "ISOFUSE"),
                          ("publisher", ""), ("preparer", ""), ("system_id", "LINUX"),
                          ("volume_set_id", ""), ("copyright_file", ""),
                          ("abstract_file", ""), ("bibliographic_file", ""),
                          ("catalog", "boot.catalog")):
        value = s[dest] if s[dest] is not None else default
        setattr(options, "boot_catalog" if dest == "catalog" else dest, value)
    options.hide_rr_moved = s["hide_rr_moved"]
    if s["allow_limited_size"] and options.names.level == 2:
        # level 3 names are level 2's: only files of 4 GiB and more differ
        options.names = _replace(options.names, level=3)
    elif s["allow_limited_size"] and options.names.level == 1:
        raise UsageError("-allow-limited-size: files of 4 GiB and more need -iso-level 2 "
                         "or 3 here (ISO level 1 has no multi-extent files)")
    _check_charsets(options, s)
    _volume_dates(options, s)
    _hybrid_options(options, words)
    return options


def _check_charsets(options, s):
    out = s["output_charset"]
    if out and options.joliet and codecs.lookup(out).name != "utf-8":
        raise UsageError(f"-output-charset {out} with Joliet: the Joliet names are made "
                         "from UTF-8 names; use -output-charset UTF-8 or leave out -J")


def _volume_dates(options, s):
    """--modification-date= and -volume_date: the volume's dates, as
    xorriso sets them (docs/mkisofs-options.md): uuid (and
    --modification-date=) is the volume's creation and modification time
    to the hundredth and the time everything else made now gets; c, m, x,
    f set one descriptor date each, to the second."""
    dates = [("uuid", s["modification_date"])] if s["modification_date"] else []
    dates += s["volume_dates"]
    for kind, when in dates:
        if kind == "uuid":
            options.modification_date = when
            options.now = _date_seconds(when)
        elif when is None:
            options.volume_dates.pop(kind, None)
        else:
            options.volume_dates[kind] = when if isinstance(when, int) \
                else _date_seconds(when)
    if options.now is not None and options.source_date_epoch is not None:
        # the option wins over SOURCE_DATE_EPOCH (xorrisofs): the volume
        # dates come from it, file times are clamped to it
        options.source_date_epoch = options.now


def _date_seconds(text):
    import calendar
    try:
        fields = time.strptime(text[:14], "%Y%m%d%H%M%S")
    except ValueError:
        raise UsageError(f"{text}: not a date YYYYMMDDhhmmsscc") from None
    return calendar.timegm(fields)


def _hybrid_options(options, words):
    s, marks = words.settings, words.boot_marks
    options.hybrid_mbr = s["hybrid_mbr"]
    options.hybrid_gpt_basdat = "gpt-basdat" in marks
    options.hybrid_apm_hfsplus = "apm-hfsplus" in marks
    options.grub2_boot_info = "grub2-boot-info" in marks
    options.partition_offset = s["partition_offset"] or 0
    options.append_partitions = list(s["append_partitions"])
    options.efi_boot_part = s["efi_boot_part"]
    options.appended_part_as_gpt = s["appended_part_as_gpt"]
    options.iso_mbr_part_type = s["iso_mbr_part_type"]
    options.mbr_force_bootable = s["mbr_force_bootable"]
    options.grub2_mbr = s["grub2_mbr"]
    options.system_area_file = s["system_area_file"]
    algorithms = (s["checksum_algorithms"] or "").lower().split(",")
    options.md5 = s["md5"] or "md5" in algorithms


def _check_sessions(cmd):
    previous = cmd.previous or cmd.append_to
    if not cmd.sources and not (previous and cmd.remove):
        raise UsageError("no SOURCE given")
    if cmd.previous and cmd.append_to:
        raise UsageError("use either -M (with -C) or --append-to")
    if cmd.previous and not cmd.msinfo:
        raise UsageError("-M needs -C START,NEXT (the msinfo of the disc or image)")
    if cmd.remove and not previous:
        raise UsageError("--remove applies to a previous session (-M or --append-to)")
    if cmd.msinfo:
        _parse_msinfo(cmd.msinfo)


class Progress:
    """A one-line progress bar on a terminal; nothing otherwise."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done, total):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] "
                         f"{done * 100 // max(total, 1):3d}% {done / 1e6:,.0f}/"
                         f"{total / 1e6:,.0f} MB {rate / 1e6:,.0f} MB/s ETA {eta:,.0f}s ")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _fail(message, status=1):
    print(f"isofuse master: {message}", file=sys.stderr)
    return status


def _parse_msinfo(text):
    try:
        start, nwa = (int(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"-C wants START,NEXT (two sector numbers), not {text!r}") from None
    if start < 0 or nwa <= start:
        raise UsageError(f"-C {text}: the next writable sector must follow the start")
    return start, nwa


def build_layout(args, argv, warn):
    """The Layout of a command line (``args`` from the sub-command parser
    is not needed: ``argv`` is read again)."""
    cmd = parse_command_line(argv)
    root, options = build_tree(cmd, warn)
    return layout_mod.Layout(root, options, warn=warn)


def session_inputs(cmd, warn, say=None):
    """What the session engine (isofuse.master.session) is given for a
    ParsedCommand: (Sources, Continuation or None).  ``say`` gets -v's
    messages; unreadable sources are skipped with a warning under
    -skip-unreadable (``warn``)."""
    def on_error(exc):
        if cmd.skip_unreadable:
            warn(f"skipped: {exc}")
        else:
            raise exc

    if say is not None:
        for spec in cmd.sources:
            say(f"adding {spec}")
    rules = cmd.scan
    output = _output_inside_sources(cmd)
    if output is not None:
        rules = _replace(rules, skip_inode=(output.st_dev, output.st_ino))
    sources = session.Sources(cmd.sources, rules, graft_points=cmd.graft_points,
                              sort_rules=cmd.sort_rules, on_error=on_error, say=say)
    return sources, _continuation(cmd)


def _continuation(cmd):
    """-M PREV -C START,NEXT: continue PREV's session at START, written at
    NEXT; --append-to IMAGE: its newest session, grown behind it."""
    if cmd.append_to and session.is_new_image(cmd.append_to):
        return None         # a growable image begins (build_tree)
    if cmd.append_to:
        return session.Continuation(cmd.append_to, removals=tuple(cmd.remove))
    if cmd.previous:
        last_start, nwa = _parse_msinfo(cmd.msinfo)
        return session.Continuation(cmd.previous, sbsector=last_start, start=nwa,
                                    removals=tuple(cmd.remove))
    return None


def build_tree(cmd, warn, say=None):
    """The tree to master (sources, merged with a previous session) and the
    options for its layout; raises UsageError for what the command line
    got wrong."""
    sources, previous = session_inputs(cmd, warn, say)
    if cmd.append_to and previous is None:
        if cmd.remove:
            raise UsageError(f"--remove: {cmd.append_to} holds no session yet")
        # its first session behind the room for the descriptor copy, as
        # xorriso begins an image it grows: every later session stays listed
        cmd.options.session_start = session.GROWN_FIRST_SESSION
    try:
        root = session.build_tree(sources, cmd.options, previous, warn)
    except session.SessionError as exc:
        raise UsageError(f"-C: {exc}" if exc.about == "start" else str(exc)) from None
    return root, cmd.options


def _output_inside_sources(cmd):
    """The stat of an existing output file below a source folder (the scan
    must leave it out), else None.  Checked by path first: the plain scan
    stays the fast one for every other run."""
    if not cmd.output or cmd.output == "-" or cmd.print_size:
        return None
    try:
        st = os.stat(cmd.output)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    where = os.path.realpath(cmd.output)
    for spec in cmd.sources:
        source = spec.rpartition("=")[2] if cmd.graft_points else spec
        folder = os.path.realpath(source)
        if where.startswith(folder.rstrip("/") + "/") and os.path.isdir(folder):
            return st
    return None


def run(args, argv=None):
    # A one-shot run that builds several objects per file and frees none of
    # them before it ends: the cyclic collector would only walk them again
    # and again (see isofuse.bulk).
    with collector_paused():
        return _run(args, argv)


def _run(args, argv):
    argv = argv if argv is not None else sys.argv[2:]
    try:
        cmd = parse_command_line(argv)
    except UsageError as exc:
        return _fail(str(exc), 2)
    if cmd.help:
        print(DESCRIPTION + "\n" + help_text())
        return 0
    if cmd.version:
        from .. import __version__
        print(f"isofuse master {__version__}")
        return 0
    return run_command(cmd)


def run_command(cmd):
    """Make the image a ParsedCommand describes; the exit status."""
    warn = (lambda m: None) if cmd.quiet else \
        (lambda m: print(f"isofuse master: warning: {m}", file=sys.stderr))
    if not cmd.print_size and not cmd.output and not cmd.append_to:
        return _fail("say where the image goes: -o FILE (or -o - for standard output), "
                     "or -print-size", 2)
    try:
        root, options = build_tree(cmd, warn, _verbose(cmd))
    except UsageError as exc:
        return _fail(str(exc), 2)
    except (SourceError, TreeError, layout_mod.LayoutError) as exc:
        return _fail(str(exc))
    to_stdout = cmd.output == "-"
    if to_stdout and not cmd.print_size and sys.stdout.isatty():
        return _fail("refusing to write an image to a terminal", 2)
    # -C and --append-to: the session's descriptors give its own length, as
    # genisoimage -C and xorrisofs -C write them (_grow adds the whole
    # volume's copy at 16).  Only here: front ends that copy a session's
    # descriptors to sector 16 themselves (isofuse-burn) keep the default.
    options.own_session_size = bool(cmd.msinfo or cmd.append_to)
    progress = Progress(enabled=not cmd.quiet and sys.stderr.isatty())
    return _plan_and_write(cmd, root, options, warn, progress)


def _verbose(cmd):
    """Where -v's messages go (standard error), or None without -v."""
    if not cmd.verbose:
        return None
    return lambda m: print(f"isofuse master: {m}", file=sys.stderr)


def _plan_and_write(args, root, options, warn, progress):
    try:
        planned = session.Session(root, options, warn=warn)
    except (SourceError, TreeError, layout_mod.LayoutError) as exc:
        return _fail(str(exc))
    if args.print_size:
        print(planned.sectors)
        return 0
    if args.verbose:
        where = args.append_to or ("standard output" if args.output == "-" else args.output)
        print(f"isofuse master: writing {planned.sectors} sectors to {where}", file=sys.stderr)
    if args.append_to:
        return _grow(args, planned)
    try:
        _write_image(args.output, planned, progress)
    except SourceChanged as exc:
        return _fail(f"{exc}; no image written")
    except layout_mod.LayoutError as exc:          # found while encoding
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or args.output}: {exc.strerror}")
    return 0


def _write_image(output, planned, progress):
    """Write the image to ``output`` ('-': standard output); an unfinished
    image file is removed whatever stopped it."""
    from ..master.datawriter import DataWriter, takes_positional_writes
    to_stdout = output == "-"
    out_fd = None
    try:
        if to_stdout:
            out_fd = sys.stdout.fileno()
        else:
            out_fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                             0o644)
        with planned.stream() as stream:
            if not to_stdout and hasattr(os, "fork") and takes_positional_writes(out_fd):
                # a file, a block device, /dev/null: a second process writes
                # the file data meanwhile (see master.datawriter)
                with DataWriter(planned.layout, progress) as writer:
                    stream.write_to(out_fd, progress, writer=writer)
            else:
                stream.write_to(out_fd, progress)   # a pipe, a FIFO, a tape: in order
    except (Exception, KeyboardInterrupt):      # half an image is no image
        # (not SystemExit: DataWriter's second process leaves by it)
        _remove_partial(output, to_stdout)
        raise
    finally:
        if out_fd is not None and not to_stdout:
            os.close(out_fd)


def _remove_partial(path, to_stdout):
    """Remove an unfinished image file -- never a device (-o /dev/sdb,
    -o /dev/null) or anything else that is not a regular file."""
    if not to_stdout and path:
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass


def _grow(args, planned):
    """Write the new session into the image file, then make it the one
    readers see.  The descriptor copy at 16 is written last and only after
    the session is on disk: an interrupted run leaves the old image intact."""
    progress = Progress(enabled=not args.quiet and sys.stderr.isatty())
    try:
        fd = os.open(args.append_to, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        return _fail(f"{args.append_to}: {exc.strerror}")
    try:
        with planned.stream() as stream:
            os.lseek(fd, planned.start * SECTOR, os.SEEK_SET)
            stream.write_to(fd, progress)
            # The session's own descriptors (as written above) say its own
            # size, as xorriso and genisoimage -C write them (xorriso chains
            # sessions by start + size); the copy at 16 counts the whole
            # volume for readers that look only there
            system_area = os.pread(fd, session.DESCRIPTOR_COPY_SECTOR * SECTOR, 0)
            copy = planned.grown_copy(stream, system_area.ljust(
                session.DESCRIPTOR_COPY_SECTOR * SECTOR, b"\x00"))
        os.fsync(fd)
        os.pwrite(fd, copy, session.DESCRIPTOR_COPY_SECTOR * SECTOR)
        os.fsync(fd)
    except SourceChanged as exc:
        return _fail(f"{exc}; the image was not changed")
    except OSError as exc:
        return _fail(f"{exc.filename or args.append_to}: {exc.strerror}")
    finally:
        os.close(fd)
    return 0
