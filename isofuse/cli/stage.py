"""``isofuse stage``: mount the staging directory that is the future disc."""

import argparse
import os
import sys

from ..master.options import ROCK_KEEP, ROCK_RATIONALIZED, staging_profile
from ..reader.errors import ReaderError
from . import mountopts

HELP = """\
Mount a writable staging directory that is the future disc.  Copy files in
with any tool; UPPER (a normal folder) keeps every change, read-only lower
layers (--lower: folders, or ISO images / discs such as the last session of
a multisession disc) show through where UPPER has nothing.

The mount shows the disc it will become:
  df MOUNTPOINT                     the medium and exactly how full the disc will be
                                    (equals 'isofuse master -print-size' of the tree)
  MOUNTPOINT/.isofuse/report        every rule broken and every name change
                                    (original -> ISO 9660 -> Joliet)
  MOUNTPOINT/.isofuse/size          sectors, bytes, percent of the medium
  MOUNTPOINT/.isofuse/image.iso     the image of the current tree (cp it, burn it,
                                    boot it); while it is open the tree refuses changes
                                    (EBUSY), so what you read is consistent
  MOUNTPOINT/.isofuse/msinfo        start,next of the lower image's last session

Default profile: the HOWTO's disc: Rock Ridge with mkisofs -r semantics,
Joliet, ISO level 2 names, a 700 MB CD, report mode (same image as
'isofuse master -r -J -iso-level 2').

Options for -o (comma separated):
  level=1|2|3|4        ISO 9660 level of the plain names (default 2)
  norock / keeprock    no Rock Ridge / Rock Ridge keeping owners and modes (-R)
  nojoliet / joliet-long   no Joliet / 103-character Joliet names
  medium=NAME|SECTORS|DRIVE  cd650 cd700 dvd dvd-dl dvd+r-dl bd25 bd50, a sector
                       count, or the blank space of the disc in a drive
                       (/dev/srN, or sim:PATH for a simulated one)
  multisession         the image is the next session of the disc or image given
                       as the first image --lower (sim:PATH, /dev/srN, IMAGE): its
                       files stay where they are, image.iso holds the new session
                       only, to be written at msinfo's next sector (isofuse-burn
                       --multi writes it there)
  strict               refuse what would break the disc: names Joliet cannot hold,
                       paths over 255 characters, directories deeper than 8 levels
                       without Rock Ridge (ENAMETOOLONG), data beyond the medium (ENOSPC)
  report               allow everything and list it in .isofuse/report (default)
  control=NAME         name of the control directory (default .isofuse)
  showcontrol          list the control directory in the root
  allow_other          let other users use the mount: without it every other
                       user (root too, when a user mounted it) gets EACCES, as
                       on any FUSE mount.  Permissions are then checked as on
                       a local disk.  A user other than root can use it only
                       when /etc/fuse.conf has the line user_allow_other.
Upper-folder format: a whiteout is a file .wh.NAME (for names over 251 bytes,
.wh..wh.long.HASH holding the name), an opaque folder holds .wh..wh..opq,
.wh..wh.tmp.* are work files; names starting with .wh. are reserved.
"""

FUSE_CONF = "/etc/fuse.conf"


def allow_other_problem(conf=FUSE_CONF, euid=None):
    """Why ``-o allow_other`` would fail for this user (fusermount3 refuses
    it unless root or ``user_allow_other`` is in fuse.conf), or None."""
    if (os.geteuid() if euid is None else euid) == 0:
        return None
    try:
        with open(conf) as f:
            if any(line.strip() == "user_allow_other" for line in f):
                return None
    except OSError:
        pass
    return (f"-o allow_other needs the line user_allow_other in {conf} "
            "(ask root to add it), or mount as root")

def add_parser(sub):
    p = sub.add_parser("stage", help="mount the staging directory of a future disc",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                       allow_abbrev=False)
    p.add_argument("upper", help="folder that keeps every change (created if missing)")
    p.add_argument("mountpoint", help="existing empty directory")
    p.add_argument("--lower", action="append", default=[], metavar="DIR|IMAGE",
                   help="read-only lower layer, topmost first (repeatable)")
    p.add_argument("-o", dest="options", action="append", default=[], metavar="OPTIONS")
    p.add_argument("-f", "--foreground", action="store_true",
                   help="stay in the foreground (default: detach once mounted)")
    p.add_argument("-d", "--debug", action="store_true", help="log debug messages")
    p.set_defaults(run=run)


class OptionError(ValueError):
    pass


# The -o words that are switches: a value after one is a mistake, not a yes.
FLAG_OPTIONS = frozenset({"norock", "keeprock", "nojoliet", "joliet-long", "multisession",
                          "strict", "report", "showcontrol", "allow_other"})


def parse_options(option_strings, drive_probe=None):
    """The stage's Profile and its mount options from the -o words;
    ``drive_probe`` (see run) answers medium=DRIVE."""
    from ..stage.disc import MEDIA, Profile
    level, rock, joliet, joliet_long = 2, ROCK_RATIONALIZED, True, False
    profile = Profile()
    extra = {"control": b".isofuse", "showcontrol": False, "allow_other": False}
    for text in option_strings:
        for item in filter(None, text.split(",")):
            name, has_value, value = item.partition("=")
            if name in FLAG_OPTIONS and has_value:
                # a flag takes no value: "multisession=no" must not switch it on
                raise OptionError(f"option {name} takes no value (got {item!r})")
            if name == "level" and value in ("1", "2", "3", "4"):
                level = int(value)
            elif name == "norock":
                rock = None
            elif name == "keeprock":
                rock = ROCK_KEEP
            elif name == "nojoliet":
                joliet = False
            elif name == "joliet-long":
                joliet_long = True
            elif name == "medium":
                if value in MEDIA:
                    profile.medium, profile.medium_sectors = value, MEDIA[value]
                elif value.isdigit() and int(value) > 0:
                    profile.medium, profile.medium_sectors = f"{value} sectors", int(value)
                elif value.startswith(("/dev/", "sim:")):
                    profile.medium, profile.medium_sectors = _disc_space(value, drive_probe)
                else:
                    raise OptionError(f"medium={value}: use one of {', '.join(MEDIA)}, "
                                      "a number of sectors, or a drive (/dev/srN, sim:PATH)")
            elif name == "multisession":
                profile.next_session = True
            elif name == "strict":
                profile.strict = True
            elif name == "report":
                profile.strict = False
            elif name == "control" and value and "/" not in value:
                extra["control"] = os.fsencode(value)
            elif name == "showcontrol":
                extra["showcontrol"] = True
            elif name == "allow_other":
                extra["allow_other"] = True
            elif name in mountopts.IGNORED and name != "ro" and not value:
                pass  # generic mount(8) options (fstab lines), as for isofuse mount
            else:
                raise OptionError(f"unknown or malformed option {item!r}")
    profile.master = staging_profile(level=level, rock=rock, joliet=joliet,
                                     joliet_long=joliet_long)
    return profile, extra


def _probe(drive_probe, device):
    """What the drive probe says about ``device``; OptionError when there
    is no probe (isofuse-burn, which brings it, is not installed)."""
    if drive_probe is None:
        raise OptionError(f"{device}: reading a disc in a drive needs isofuse's burner "
                          "(isofuse-burn), which is not installed")
    return drive_probe(device)


def _disc_space(device, drive_probe):
    """The blank space of the disc in a drive, as the drive reports it
    (READ TRACK INFORMATION: free blocks of the next track)."""
    try:
        facts = _probe(drive_probe, device)
    except OSError as exc:
        raise OptionError(f"medium={device}: {exc}") from None
    if not facts.medium:
        raise OptionError(f"medium={device}: no disc in an optical drive there")
    if not facts.free_blocks:
        raise OptionError(f"medium={device}: the disc has no blank space left")
    return f"{device} ({facts.medium})", facts.free_blocks


def _is_drive(spec):
    return spec.startswith("sim:") or (spec.startswith("/dev/") and os.path.exists(spec)
                                       and not os.path.isfile(spec))


def _drive_msinfo(spec, drive_probe):
    """"start,next" as a drive reports it (a disc in /dev/srN or sim:PATH),
    or None for an image file or a drive that cannot tell (the caller then
    derives it from the image)."""
    if not _is_drive(spec) or drive_probe is None:
        return None
    try:
        facts = drive_probe(spec)
    except OSError as exc:
        # the image's own guess ignores the drive's lead-in and lead-out
        # gap: say so rather than stage a next session silently elsewhere
        print(f"isofuse stage: {spec}: {exc}; the next session's start is "
              "taken from the image", file=sys.stderr)
        return None
    if facts.msinfo is None:
        return None
    start, nwa = facts.msinfo
    return f"{start},{nwa}"


def _image_msinfo(image):
    """"start,next" of an image file: its newest session, and where growing
    it puts the next one (isofuse.master.session)."""
    from ..master.previous import volume_end
    from ..master.session import grow_start
    return f"{image.descriptors.session_start},{grow_start(volume_end(image))}"


def _fail(message, status=1):
    print(f"isofuse stage: {message}", file=sys.stderr)
    return status


def run(args, drive_probe=None):
    """``drive_probe(device)``: what a disc in a drive (/dev/srN, sim:PATH)
    offers -- an object with ``medium`` (the profile's name, None without a
    disc), ``free_blocks`` and ``msinfo`` ((start, next) or None); OSError
    when the drive cannot be asked.  The entry point hands it over
    (isofuse.cli.main.drive_probe); None: no drive can be read."""
    try:
        profile, extra = parse_options(args.options, drive_probe)
    except OptionError as exc:
        return _fail(str(exc), 2)
    if extra["allow_other"] and (problem := allow_other_problem()):
        return _fail(problem, 2)
    if not os.path.isdir(args.mountpoint):
        return _fail(f"{args.mountpoint}: mount point is not a directory")
    if os.path.ismount(args.mountpoint):
        return _fail(f"{args.mountpoint}: something is already mounted there")
    upper = os.path.abspath(args.upper)
    mountpoint = os.path.abspath(args.mountpoint)
    if upper == mountpoint or upper.startswith(mountpoint + os.sep) \
            or mountpoint.startswith(upper + os.sep):
        return _fail("UPPER and MOUNTPOINT must not contain each other")
    try:
        os.makedirs(upper, exist_ok=True)
    except OSError as exc:
        return _fail(f"{upper}: {exc.strerror}")
    from ..stage.layers import ImageLayer, open_lower
    from ..stage.disc import Disc
    from ..stage.overlay import Overlay
    lowers = []
    msinfo = None
    try:
        for i, spec in enumerate(args.lower):
            # sim:PATH is a simulated drive whose disc is the image PATH
            path = spec[4:] if spec.startswith("sim:") else spec
            if not os.path.exists(path):
                return _fail(f"{spec}: no such folder, image or device")
            layer = open_lower(path, f"lower{i}")
            lowers.append(layer)
            if isinstance(layer, ImageLayer) and msinfo is None:
                msinfo = _drive_msinfo(spec, drive_probe) or _image_msinfo(layer.image)
    except ReaderError as exc:
        for layer in lowers:
            layer.close()
        return _fail(str(exc))
    if profile.next_session:
        if msinfo is None:
            for layer in lowers:
                layer.close()
            return _fail("-o multisession needs a lower layer that is a disc or an image "
                         "(its last session is continued)", 2)
        profile.master.session_start = int(msinfo.split(",")[1])
    overlay = Overlay(upper, lowers)
    disc = Disc(overlay, profile)
    from ..fuseops.deferred_trio import import_pyfuse3
    import_pyfuse3()        # the stage serves without trio: not imported unless used
    from ..fuseops.session import MountError, fuse_options, serve
    from ..fuseops.stage_ops import StageOperations
    ops = StageOperations(overlay, disc, control_name=extra["control"],
                          show_control=extra["showcontrol"], msinfo=msinfo)
    try:
        serve(ops, mountpoint, fuse_options(upper, extra["allow_other"], read_only=False,
                                            subtype="isofuse-stage"),
              foreground=args.foreground, blocking=StageOperations.NEVER_AWAITS)
    except MountError as exc:
        return _fail(str(exc))
    finally:
        overlay.close()
    return 0
