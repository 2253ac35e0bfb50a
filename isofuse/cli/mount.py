"""``isofuse mount``: mount an ISO 9660 image or disc read-only through FUSE."""

import os
import sys

from ..reader import ReaderError, open_image
from . import mountopts

HELP = """\
Mount an ISO 9660 image (or a disc device such as /dev/sr0) read-only, with
Rock Ridge and Joliet, without a loop device and without root.

The tree shown is Rock Ridge when present, else Joliet, else plain ISO 9660
(names lower-cased and ';1' removed, as the Linux kernel shows them).
Unmount with 'fusermount3 -u MOUNTPOINT' (or umount as root).

Options for -o (comma separated, as for mount -t iso9660):
  norock            ignore Rock Ridge        nojoliet      ignore Joliet
  session=N         read session N (0 = the first; default: the newest)
  sbsector=S        read the session whose descriptors start at sector S+16
  uid=N, gid=N      owner of every file (overrides Rock Ridge)
  mode=OCT, dmode=OCT   permissions of files / directories without Rock Ridge
  overriderockperm  apply mode/dmode over Rock Ridge permissions too
  map=normal|off    plain names: lower case without ';1' (default) or as recorded
  hide              hide entries flagged hidden   showassoc  show associated files
  nocompress        show zisofs files as stored (not decompressed)
  allow_other       let other users see the mount (needs user_allow_other)
  log=FILE          where the background daemon writes its warnings
  nice=N            the daemon's nice value, -20 to 19 (default: -10 where it
                    may raise its priority, as root; else as started)
"""


def add_parser(sub):
    import argparse
    p = sub.add_parser("mount", help="mount an image or disc read-only", allow_abbrev=False,
                       description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="ISO image file or block device")
    p.add_argument("mountpoint", help="existing empty directory")
    p.add_argument("-o", dest="options", action="append", default=[],
                   metavar="OPTIONS", help="mount options, see above")
    p.add_argument("-f", "--foreground", action="store_true",
                   help="stay in the foreground (default: detach once mounted)")
    p.add_argument("-d", "--debug", action="store_true", help="log debug messages")
    p.set_defaults(run=run)


def _fail(message, status=1):
    print(f"isofuse mount: {message}", file=sys.stderr)
    return status


def run(args):
    try:
        opts = mountopts.parse(args.options)
    except mountopts.OptionError as exc:
        return _fail(str(exc), 2)
    if args.foreground:
        opts.foreground = True
    if not os.path.exists(args.image):
        return _fail(f"{args.image}: no such file or device")
    if not os.path.isdir(args.mountpoint):
        return _fail(f"{args.mountpoint}: mount point is not a directory")
    if os.path.ismount(args.mountpoint):
        return _fail(f"{args.mountpoint}: something is already mounted there")
    try:
        image = open_image(args.image, opts.read)
    except ReaderError as exc:
        return _fail(str(exc))
    if opts.rw_requested:
        print(f"isofuse mount: {args.image} is read-only; mounting read-only",
              file=sys.stderr)
    # Imported here: 'isofuse info' must not need the FUSE bindings.
    from ..fuseops.priority import PriorityError, set_daemon_nice
    from ..fuseops.readonly import ReadOnlyImageOperations
    from ..fuseops.session import MountError, fuse_options, serve
    extra = ["allow_root"] if opts.allow_root else []
    try:
        set_daemon_nice(opts.nice)
    except PriorityError as exc:
        image.close()
        return _fail(str(exc))
    try:
        mountpoint = os.path.abspath(args.mountpoint)
        serve(ReadOnlyImageOperations(image, mountpoint), mountpoint,
              fuse_options(os.path.abspath(args.image), opts.allow_other, extra),
              foreground=opts.foreground, log_file=opts.log_file)
    except MountError as exc:
        return _fail(str(exc))
    finally:
        image.close()
    return 0
