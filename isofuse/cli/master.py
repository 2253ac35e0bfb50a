"""``isofuse master``: make an ISO 9660 image from folders, mkisofs style."""

import argparse
import os
import stat
import sys
import time

from ..bulk import collector_paused
from ..master import layout as layout_mod
from ..master.isotree import TreeError
from ..master.naming import NameRules
from ..master.options import (DEEP_ALLOW, DEEP_DROP, ROCK_KEEP, ROCK_RATIONALIZED,
                              BootSpec, MasterOptions)
from ..master.sourcetree import SourceError, scan
from ..master.stream import ImageStream, SourceChanged

DESCRIPTION = """\
Make an ISO 9660 image (with Rock Ridge, Joliet, El Torito) from folders and
files.  Option names follow mkisofs/genisoimage, so existing scripts switch
by changing the command name.  The image size is known before writing:
-print-size prints it (in 2048-byte sectors) and writes nothing.

Examples:
  isofuse master -r -J -V PHOTOS -o photos.iso ~/Pictures/2026
  isofuse master -r -J -graft-points -o out.iso docs/=~/Documents README=notes.txt
  isofuse master -r -J -b boot/isolinux.bin -c boot/boot.cat -no-emul-boot \\
      -boot-load-size 4 -boot-info-table -o boot.iso tree/
"""


def add_parser(sub):
    p = sub.add_parser("master", help="make an ISO image from folders (mkisofs options)",
                       description=DESCRIPTION, allow_abbrev=False,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(run=run)


def add_arguments(p):
    out = p.add_argument_group("output")
    out.add_argument("-o", dest="output", metavar="FILE",
                     help="write the image to FILE ('-' for standard output)")
    out.add_argument("-print-size", "--print-size", dest="print_size", action="store_true",
                     help="print the image size in 2048-byte sectors and write nothing")
    out.add_argument("-quiet", "--quiet", dest="quiet", action="store_true",
                     help="no progress and no warnings")
    out.add_argument("-no-pad", "--no-pad", dest="no_pad", action="store_true",
                     help="no 150 sectors of padding at the end")
    out.add_argument("-skip-unreadable", "--skip-unreadable", dest="skip_unreadable",
                     action="store_true",
                     help="leave out files and folders that cannot be read (default: stop)")
    ext = p.add_argument_group("extensions")
    ext.add_argument("-R", "-rock", dest="rock", action="store_const", const=ROCK_KEEP,
                     help="Rock Ridge with owners and modes as they are")
    ext.add_argument("-r", "-rational-rock", dest="rock", action="store_const",
                     const=ROCK_RATIONALIZED,
                     help="Rock Ridge with owner 0 and modes made sensible (readable by all)")
    ext.add_argument("-rrip-1.12", "--rrip-1.12", dest="rrip_112", action="store_true",
                     help="Rock Ridge 1.12: file serial numbers, so hard links stay links")
    ext.add_argument("-J", "-joliet", dest="joliet", action="store_true",
                     help="add a Joliet tree (Windows names, 64 characters)")
    ext.add_argument("-joliet-long", dest="joliet_long", action="store_true",
                     help="allow 103-character Joliet names (not in the Joliet spec)")
    names = p.add_argument_group("ISO 9660 names")
    names.add_argument("-iso-level", dest="level", type=int, choices=(1, 2, 3, 4), default=1,
                       help="1: 8.3 names; 2, 3: 30 characters (3 allows files of 4 GiB "
                            "and more); 4: ISO 9660:1999, 207 characters (default 1)")
    names.add_argument("-N", "-omit-version-number", dest="no_version", action="store_true",
                       help="no ';1' after file names")
    names.add_argument("-d", "-omit-period", dest="omit_period", action="store_true",
                       help="no '.' after names without an extension")
    names.add_argument("-allow-lowercase", dest="lowercase", action="store_true",
                       help="keep lower case letters (violates ISO 9660)")
    names.add_argument("-relaxed-filenames", dest="relaxed", action="store_true",
                       help="allow all printable ASCII characters (violates ISO 9660)")
    names.add_argument("-U", "-untranslated-filenames", dest="untranslated",
                       action="store_true", help="names as given, as far as possible")
    names.add_argument("-L", "-allow-leading-dots", dest="leading_dots", action="store_true",
                       help="keep a leading '.'")
    names.add_argument("-l", "-full-iso9660-filenames", dest="full_31", action="store_true",
                       help="31-character names at level 1")
    names.add_argument("-max-iso9660-filenames", dest="max_37", action="store_true",
                       help="37-character names (violates ISO 9660)")
    names.add_argument("-D", "-disable-deep-relocation", dest="deep",
                       action="store_const", const=DEEP_ALLOW,
                       help="record directories deeper than 8 levels where they are "
                            "(violates ISO 9660; default: move them to rr_moved with "
                            "Rock Ridge, refuse without)")
    names.add_argument("-drop-deep", "--drop-deep", dest="deep", action="store_const",
                       const=DEEP_DROP, help="leave out directories deeper than 8 levels")
    meta = p.add_argument_group("volume")
    meta.add_argument("-V", "-volid", dest="volume_id", default="CDROM",
                      help="volume id (32 characters)")
    meta.add_argument("-A", "-appid", dest="application", default="ISOFUSE",
                      help="application id")
    meta.add_argument("-P", "-publisher", dest="publisher", default="", help="publisher id")
    meta.add_argument("-p", "-preparer", dest="preparer", default="", help="data preparer id")
    meta.add_argument("-sysid", dest="system_id", default="LINUX", help="system id")
    meta.add_argument("-volset", dest="volume_set_id", default="", help="volume set id")
    meta.add_argument("-copyright", dest="copyright_file", default="", help="copyright file")
    meta.add_argument("-abstract", dest="abstract_file", default="", help="abstract file")
    meta.add_argument("-biblio", dest="bibliographic_file", default="",
                      help="bibliographic file")
    boot = p.add_argument_group("El Torito boot")
    boot.add_argument("-b", "-eltorito-boot", dest="boot", action="append", default=[],
                      metavar="IMAGE", type=_boot_entry(0x00),
                      help="BIOS boot image (path on the disc)")
    boot.add_argument("-e", "-efi-boot", dest="boot", action="append", metavar="IMAGE",
                      type=_boot_entry(0xEF), help="EFI boot image (path on the disc)")
    boot.add_argument("-eltorito-alt-boot", dest="alt_boot", action="append_const",
                      const=True, help="start the next boot entry (accepted for "
                      "compatibility: every -b/-e starts one)")
    boot.add_argument("-c", "-eltorito-catalog", dest="catalog", default="boot.catalog",
                      help="path of the boot catalog on the disc")
    boot.add_argument("-no-emul-boot", dest="emul", action="append_const", const="none",
                      help="no emulation (default for -e)")
    boot.add_argument("-hard-disk-boot", dest="emul", action="append_const", const="hdd",
                      help="hard disk emulation")
    boot.add_argument("-boot-load-size", dest="load_size", action="append", type=int,
                      help="512-byte sectors to load (default: the whole image)")
    boot.add_argument("-boot-load-seg", dest="load_seg", action="append",
                      type=lambda v: int(v, 0), help="load segment")
    boot.add_argument("-boot-info-table", dest="info_table", action="append_const",
                      const=True, help="patch a boot info table into the boot image")
    ms = p.add_argument_group("multisession")
    ms.add_argument("-M", "-prev-session", dest="previous", metavar="IMAGE|DEVICE",
                    help="the disc or image whose last session the new one continues")
    ms.add_argument("-C", "-cdrecord-params", dest="msinfo", metavar="START,NEXT",
                    help="msinfo: start of the last session and the next writable "
                         "sector (cdrecord -msinfo, isofuse-burn --msinfo); with -M the "
                         "output holds only the new session, to be written at NEXT")
    ms.add_argument("-append-to", "--append-to", dest="append_to", metavar="IMAGE",
                    help="grow an image file in place: write the new session behind "
                         "its last one and copy the new descriptors to sectors 16-31, so "
                         "every reader sees the newest session")
    ms.add_argument("-remove", "--remove", dest="remove", action="append", default=[],
                    metavar="PATH", help="leave PATH of the previous session out")
    src = p.add_argument_group("sources")
    src.add_argument("-graft-points", dest="graft_points", action="store_true",
                     help="SOURCE may be DISC/PATH=SOURCE")
    src.add_argument("sources", nargs="*", metavar="SOURCE",
                     help="folders (their contents go to the root) and files")


def _boot_entry(platform):
    def make(path):
        return BootSpec(image_path=path, platform=platform,
                        emulation="none" if platform == 0xEF else "floppy")
    return make


def _apply_boot_modifiers(args, argv_order):
    """mkisofs applies -no-emul-boot, -boot-load-size ... to the latest -b/-e:
    walk the command line in order to pair them."""
    specs = list(args.boot)
    current = None
    index = -1
    i = 0
    while i < len(argv_order):
        arg = argv_order[i]
        if arg in ("-b", "-eltorito-boot", "-e", "-efi-boot"):
            index += 1
            current = specs[index] if index < len(specs) else None
            i += 2
            continue
        if current is not None:
            if arg == "-no-emul-boot":
                current.emulation = "none"
            elif arg == "-hard-disk-boot":
                current.emulation = "hdd"
            elif arg == "-boot-info-table":
                current.info_table = True
            elif arg == "-boot-load-size" and i + 1 < len(argv_order):
                current.load_size = int(argv_order[i + 1])
            elif arg == "-boot-load-seg" and i + 1 < len(argv_order):
                current.load_segment = int(argv_order[i + 1], 0)
        i += 1
    return specs


def options_from_args(args, argv):
    rules = NameRules(level=args.level, version_numbers=not args.no_version,
                      allow_lowercase=args.lowercase or args.untranslated,
                      relaxed=args.relaxed or args.untranslated,
                      untranslated=args.untranslated, omit_period=args.omit_period,
                      allow_leading_dots=args.leading_dots, full_31=args.full_31,
                      max_37=args.max_37)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        epoch = int(epoch) if epoch else None
    except ValueError:
        raise UsageError("SOURCE_DATE_EPOCH must be a number of seconds") from None
    return MasterOptions(
        names=rules, rock=args.rock, rrip_112=args.rrip_112, joliet=args.joliet,
        joliet_long=args.joliet_long, deep=args.deep, volume_id=args.volume_id,
        publisher=args.publisher, preparer=args.preparer, application=args.application,
        system_id=args.system_id, volume_set_id=args.volume_set_id,
        copyright_file=args.copyright_file, abstract_file=args.abstract_file,
        bibliographic_file=args.bibliographic_file,
        boot=[b for b in _apply_boot_modifiers(args, argv) if b is not None],
        boot_catalog=args.catalog, padding_sectors=0 if args.no_pad else 150,
        source_date_epoch=epoch)


class UsageError(Exception):
    pass


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


GROW_ALIGN = 32  # sessions appended to image files start on 64 KiB boundaries


def _parse_msinfo(text):
    try:
        start, nwa = (int(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"-C wants START,NEXT (two sector numbers), not {text!r}") from None
    if start < 0 or nwa <= start:
        raise UsageError(f"-C {text}: the next writable sector must follow the start")
    return start, nwa


def build_layout(args, argv, warn):
    root, options = build_tree(args, argv, warn)
    return layout_mod.Layout(root, options, warn=warn)


def build_tree(args, argv, warn):
    """The tree to master (sources, merged with a previous session) and the
    options for its layout."""
    previous = args.previous or args.append_to
    if not args.sources and not (previous and args.remove):
        raise UsageError("no SOURCE given")
    if args.previous and args.append_to:
        raise UsageError("use either -M (with -C) or --append-to")
    if args.previous and not args.msinfo:
        raise UsageError("-M needs -C START,NEXT (the msinfo of the disc or image)")
    if args.remove and not previous:
        raise UsageError("--remove applies to a previous session (-M or --append-to)")
    options = options_from_args(args, argv)

    def on_error(exc):
        if args.skip_unreadable:
            warn(f"skipped: {exc}")
        else:
            raise exc

    root = scan(args.sources, graft_points=args.graft_points, on_error=on_error)
    if previous:
        from ..master.previous import import_previous, merge, remove_path
        last_start = None
        if args.msinfo:
            last_start, options.session_start = _parse_msinfo(args.msinfo)
        old_root, info = import_previous(previous, sbsector=last_start)
        if args.append_to:
            image_sectors = (os.path.getsize(args.append_to) + 2047) // 2048
            start = max(image_sectors, info["end"])
            options.session_start = (start + GROW_ALIGN - 1) // GROW_ALIGN * GROW_ALIGN
        elif options.session_start < info["end"]:
            raise UsageError(f"-C: the next writable sector {options.session_start} lies "
                             f"inside the previous session (it ends at {info['end']})")
        for path in args.remove:
            if not remove_path(old_root, path):
                raise UsageError(f"--remove {path}: not in the previous session")
        if args.sources:
            old_root.mtime = root.mtime or old_root.mtime
        root = merge(old_root, root)
    return root, options


def run(args, argv=None):
    # A one-shot run that builds several objects per file and frees none of
    # them before it ends: the cyclic collector would only walk them again
    # and again (see isofuse.bulk).
    with collector_paused():
        return _run(args, argv)


def _run(args, argv):
    argv = argv if argv is not None else sys.argv[2:]
    warn = (lambda m: None) if args.quiet else \
        (lambda m: print(f"isofuse master: warning: {m}", file=sys.stderr))
    if not args.print_size and not args.output and not args.append_to:
        return _fail("say where the image goes: -o FILE (or -o - for standard output), "
                     "or -print-size", 2)
    try:
        root, options = build_tree(args, argv, warn)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except (SourceError, TreeError, layout_mod.LayoutError) as exc:
        return _fail(str(exc))
    to_stdout = args.output == "-"
    if to_stdout and not args.print_size and sys.stdout.isatty():
        return _fail("refusing to write an image to a terminal", 2)
    progress = Progress(enabled=not args.quiet and sys.stderr.isatty())
    return _plan_and_write(args, root, options, warn, progress)


def _plan_and_write(args, root, options, warn, progress):
    try:
        layout = layout_mod.Layout(root, options, warn=warn)
    except (SourceError, TreeError, layout_mod.LayoutError) as exc:
        return _fail(str(exc))
    if args.print_size:
        print(layout.total_sectors - layout.base)
        return 0
    if args.append_to:
        return _grow(args, layout)
    from ..master.datawriter import DataWriter, takes_positional_writes
    to_stdout = args.output == "-"
    out_fd = None
    try:
        if to_stdout:
            out_fd = sys.stdout.fileno()
        else:
            out_fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                             0o644)
        with ImageStream(layout) as stream:
            if not to_stdout and hasattr(os, "fork") and takes_positional_writes(out_fd):
                # a file, a block device, /dev/null: a second process writes
                # the file data meanwhile (see master.datawriter)
                with DataWriter(layout, progress) as writer:
                    stream.write_to(out_fd, progress, writer=writer)
            else:
                stream.write_to(out_fd, progress)   # a pipe, a FIFO, a tape: in order
    except SourceChanged as exc:
        _remove_partial(args.output, to_stdout)
        return _fail(f"{exc}; no image written")
    except layout_mod.LayoutError as exc:          # found while encoding
        _remove_partial(args.output, to_stdout)
        return _fail(str(exc))
    except KeyboardInterrupt:
        _remove_partial(args.output, to_stdout)     # half an image is no image
        raise
    except OSError as exc:
        _remove_partial(args.output, to_stdout)
        where = exc.filename or args.output
        return _fail(f"{where}: {exc.strerror}")
    finally:
        if out_fd is not None and not to_stdout:
            os.close(out_fd)
    return 0


def _remove_partial(path, to_stdout):
    """Remove an unfinished image file -- never a device (-o /dev/sdb,
    -o /dev/null) or anything else that is not a regular file."""
    if not to_stdout and path:
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass


def _grow(args, layout):
    """Write the new session into the image file, then make it the one
    readers see.  The descriptor copy at 16 is written last and only after
    the session is on disk: an interrupted run leaves the old image intact."""
    progress = Progress(enabled=not args.quiet and sys.stderr.isatty())
    try:
        fd = os.open(args.append_to, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return _fail(f"{args.append_to}: {exc.strerror}")
    try:
        with ImageStream(layout) as stream:
            os.lseek(fd, layout.base * 2048, os.SEEK_SET)
            stream.write_to(fd, progress)
            os.fsync(fd)
            first = layout.pvd_sector - layout.base
            count = layout.terminator_sector - layout.pvd_sector + 1
            descriptors = stream.read(first * 2048, count * 2048)
        os.pwrite(fd, descriptors, 16 * 2048)
        os.fsync(fd)
    except SourceChanged as exc:
        return _fail(f"{exc}; the image was not changed")
    except OSError as exc:
        return _fail(f"{exc.filename or args.append_to}: {exc.strerror}")
    finally:
        os.close(fd)
    return 0
