"""Command line of tools/vm (see ``tools/vm --help``)."""

import argparse
import os
import sys

from . import core

DESCRIPTION = """\
Check isofuse against a real Linux kernel: boot Debian's kernel
(linux-image-amd64) in QEMU (-accel tcg -cpu max), attach image files as real
MMC CD-ROM drives (scsi-cd on virtio-scsi: /dev/sr0 + /dev/sg0, /dev/sr1 +
/dev/sg1, ... in the order given) and run a command inside the guest, or list
an image as the kernel's isofs driver sees it.

The first run installs what is missing (apt-get install qemu-system-x86
busybox-static kmod), downloads and unpacks the kernel package and builds an
initramfs; all of it is cached in $ISOFUSE_VM_CACHE (default
~/.cache/isofuse-vm) and reused later.  A boot takes about 10-20 s."""

EPILOG = """\
examples:
  tools/vm setup
  tools/vm run --image a.iso -- sh -c 'mount -t iso9660 /dev/sr0 /mnt && ls -l /mnt'
  tools/vm run --busybox -- uname -a
  tools/vm run --sim-drive /srv/cdr.img -- wodim -v dev=/dev/sr0 -data a.iso
  tools/vm kernel-listing a.iso --norock --fields path,type,size
exit status: that of the guest command (run); 124 when the time limit
stopped the guest; 2 for usage errors; 1 for other tools/vm failures."""

RUN_HELP = """\
Boot the guest and run CMD in it.  By default CMD runs with the host's
/bin/sh, chrooted into the host's root file system (shared read-only over
9p), so the host's python3 (first on PATH, also in $VM_PYTHON) and the
installed project work inside the guest.  /dev, /proc, /sys are the guest's
own (with the /dev/sr* and /dev/sg* nodes, /dev/fuse), /tmp, /run and
/dev/shm are fresh tmpfs, everything else is read-only.  Folders given with
--share are mounted read-write at the same path.  With several words CMD is
run as a command line; a single word is run as a shell script (so
"run -- 'echo a; echo b'" works).  CMD's stdout, stderr and exit status are
passed back; kernel messages are not mixed in (see --console).  The guest
always powers off; after --timeout seconds QEMU is killed (exit 124)."""

LISTING_HELP = """\
Print the canonical listing (tools/treelisting.py format: path, type, mode,
uid, gid, size, mtime, nlink, rdev, link target, sha256, hardlink group; tab
separated, sorted by path) of IMAGE as mounted by the Linux kernel with
"mount -t iso9660 -o ro[,norock][,nojoliet][,OPTIONS]".  Several images are
listed in one boot; then each listing is preceded by a line "# IMAGE", or
written to --output-dir as BASENAME.txt.  The same format as
"python3 tools/treelisting.py DIR" of a source folder or an isofuse mount, so
the listings can be diffed."""


class _Parser(argparse.ArgumentParser):
    """Exact option names only (the subcommands' parsers are _Parsers too):
    a misspelt --sim-drive must not be read as another option."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def build_parser():
    p = _Parser(prog="tools/vm", description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("setup", help="install and cache everything (idempotent)",
                       description="Install missing host packages, download "
                       "and unpack Debian's kernel and build the initramfs, "
                       "unless already cached.  Prints the cached paths.")
    s.add_argument("--refresh", action="store_true",
                   help="download the newest linux-image-amd64 again")

    r = sub.add_parser("run", help="run a command inside the guest",
                       description=RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--image", "-i", action="append", default=[],
                   metavar="IMG", help="attach IMG as the next CD-ROM drive "
                   "(/dev/sr0, /dev/sr1, ...); repeatable")
    r.add_argument("--sim-drive", action="append", default=[], metavar="PATH",
                   help="attach the simulated disc PATH (as for sim:PATH; made "
                   "with python3 -m burner.simtool create) as a real SCSI MMC "
                   "drive after the --image drives: LIO + TCMU + tcm_loop, "
                   "answered by burner.tcmu (docs/tcmu.md); repeatable")
    r.add_argument("--sim-trace", action="store_true",
                   help="with --sim-drive: append every CDB the drive answers "
                   "to PATH.cdb-trace")
    r.add_argument("--share", "-s", action="append", default=[], metavar="DIR",
                   help="share host folder DIR read-write at the same path; "
                   "repeatable")
    r.add_argument("--busybox", action="store_true",
                   help="run CMD with the initramfs' busybox instead of "
                   "chrooted into the host root (faster, no python)")
    r.add_argument("--env", "-e", action="append", default=[],
                   metavar="NAME=VALUE", help="set an environment variable")
    _common(r)
    r.add_argument("--console", action="store_true",
                   help="print the guest console (kernel messages) to stderr "
                   "afterwards")
    r.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ...",
                   help="the command to run")

    k = sub.add_parser("kernel-listing", help="list images as the kernel sees them",
                       description=LISTING_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    k.add_argument("images", nargs="+", metavar="IMAGE", help="ISO image file")
    k.add_argument("--norock", action="store_true",
                   help="mount with -o norock (ignore Rock Ridge)")
    k.add_argument("--nojoliet", action="store_true",
                   help="mount with -o nojoliet (ignore Joliet)")
    k.add_argument("--options", "-o", default="", metavar="OPTS",
                   help="more comma-separated isofs mount options, "
                   "e.g. map=off,check=r")
    k.add_argument("--fields", default=None, metavar="F1,F2,...",
                   help="fields to print (default: all)")
    k.add_argument("--no-hash", action="store_true",
                   help="do not read file contents (sha256 printed as -)")
    k.add_argument("--output-dir", metavar="DIR",
                   help="write each listing to DIR/BASENAME.txt instead")
    _common(k)
    return p


def _common(p):
    p.add_argument("--timeout", type=float, default=core.DEFAULT_TIMEOUT,
                   metavar="SECONDS", help="hard time limit for the whole "
                   "boot (default %(default)s)")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except core.VMTimeout as exc:
        print("tools/vm: %s" % exc, file=sys.stderr)
        if getattr(args, "console", False) and exc.console:
            print(exc.console, file=sys.stderr)
        return core.TIMEOUT_EXIT
    except core.VMError as exc:
        print("tools/vm: error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tools/vm: interrupted", file=sys.stderr)
        return 130


def _dispatch(parser, args):
    if args.cmd == "setup":
        cfg = core.setup(refresh=args.refresh, quiet=False)
        print("cache:     %s" % core.cache_dir())
        print("kernel:    %s (%s)" % (cfg.kernel, cfg.version))
        print("initramfs: %s" % cfg.initramfs)
        print("qemu:      %s" % cfg.qemu)
        return 0

    if args.timeout <= 0:
        parser.error("--timeout must be positive")

    if args.cmd == "run":
        cmd = list(args.command)
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        if not cmd:
            parser.error("run: no command given (tools/vm run [options] -- CMD ...)")
        env = {}
        for item in args.env:
            name, sep, value = item.partition("=")
            if not sep or not name:
                parser.error("--env wants NAME=VALUE, got %r" % item)
            env[name] = value
        command = cmd[0] if len(cmd) == 1 else cmd
        result = core.run_in_guest(command, images=args.image,
                                   share=args.share, chroot=not args.busybox,
                                   timeout=args.timeout, env=env, text=False,
                                   quiet=False, sim_drives=args.sim_drive,
                                   sim_trace=args.sim_trace)
        sys.stdout.flush()
        sys.stdout.buffer.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.buffer.write(result.stderr)
        sys.stderr.flush()
        if args.console:
            print(result.console, file=sys.stderr)
        return result.returncode

    if args.cmd == "kernel-listing":
        fields = [f for f in args.fields.split(",") if f] if args.fields else None
        extra = [o for o in args.options.split(",") if o]
        if args.output_dir and not os.path.isdir(args.output_dir):
            parser.error("not a directory: %s" % args.output_dir)
        reqs = [core.listing_request(i, args.norock, args.nojoliet, extra)
                for i in args.images]
        listings = core.kernel_listings(reqs, fields=fields,
                                        hashes=not args.no_hash,
                                        timeout=args.timeout, quiet=False)
        for image, lines in zip(args.images, listings):
            text = "".join(line + "\n" for line in lines)
            if args.output_dir:
                name = os.path.basename(image) + ".txt"
                with open(os.path.join(args.output_dir, name), "w") as f:
                    f.write(text)
            else:
                if len(args.images) > 1:
                    print("# " + image)
                sys.stdout.write(text)
        return 0
    raise AssertionError(args.cmd)
