"""The cdrecord command line (cdrecord, wodim, and the cdrecord emulations
xorrecord and cdrskin) translated to isofuse-burn.

Option names and meanings: cdrecord(1)/wodim(1) and xorrecord(1) (libisoburn
xorriso/xorrecord.texi); README.md has the table of every option and what it
maps to.  cdrecord accepts ``key=value`` with or without a leading dash
(K3b passes ``-tsize=Ns``, scripts ``-dev=0,0,0`` and ``-speed=8``).
"""

import os
import re

from . import DialectError, Request
from .devaddr import resolve

from isofuse.format.sectors import SECTOR
CDRECORD_PAD = 15 * SECTOR       # -pad: cdrecord's 15 sectors (30 KiB) of zeros
XORRECORD_PAD = 300 * 1024       # xorrecord's default padsize=300k
SIZE = re.compile(r"^(\d+)([bkmgs]?)$", re.IGNORECASE)
SCALE = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "s": SECTOR}

AUDIO = "audio CDs are not supported yet (isofuse-burn writes data discs)"
MODE2 = ("mode 2 form 2 and mixed-form tracks are not supported: isofuse-burn writes mode 1 "
         "(-data) or mode 2 form 1 (-xa) data tracks")
RAW = "raw and clone writing are not supported: isofuse-burn writes data tracks (-data)"
CDTEXT = "CD-TEXT and audio track options are not supported (no audio CDs yet)"

# single-dash words refused: why, and what to use instead
REFUSED_WORDS = {
    "-audio": AUDIO, "-swab": AUDIO, "-preemp": AUDIO, "-nopreemp": AUDIO, "-copy": AUDIO,
    "-nocopy": AUDIO, "-scms": AUDIO, "-useinfo": CDTEXT, "-text": CDTEXT,
    "-xa2": MODE2, "-xamix": MODE2, "-mode2": MODE2,
    "-cdi": MODE2, "-raw": RAW, "-raw96r": RAW, "-raw96p": RAW, "-raw16": RAW, "-clone": RAW,
    "-packet": "packet writing is not supported", "-noclose": "packet writing is not supported",
    "-shorttrack": "short tracks are an audio/SAO feature: not supported",
    "-noshorttrack": "short tracks are an audio/SAO feature: not supported",
    "-load": "loading without burning is not supported; isofuse-burn --wait waits for a disc",
    "-lock": "locking the tray without burning is not supported",
    "-reset": "SCSI bus resets are not sent by isofuse-burn",
    "-abort": "isofuse-burn sends no abort sequence; --close closes what an aborted write "
              "left open",
    "-setdropts": "driver options are given with the burn (driveropts=burnfree)",
    "-format": "use blank=format_overwrite (DVD-RW, DVD+RW, BD-RE) or isofuse-burn --format",
    "-minfo": "use -atip or -toc (or isofuse-burn --list)",
    "-media-info": "use -atip or -toc (or isofuse-burn --list)",
}
REFUSED_KEYS = {
    "cuefile": "cue sheets (audio/SAO layouts) are not supported",
    "textfile": CDTEXT, "mcn": CDTEXT, "isrc": CDTEXT, "index": CDTEXT,
    "pregap": "pregaps are an audio feature: not supported",
    "defpregap": "pregaps are an audio feature: not supported",
    "pktsize": "packet writing is not supported",
    "ts": "the transfer size is fixed at 32 KiB per WRITE (what wodim and growisofs send)",
    "debug": "no debug levels; -v shows what is done",
    "kdebug": "no kernel debug levels", "kd": "no kernel debug levels",
    "dvd_obs": "isofuse-burn writes 32 KiB per WRITE on every medium",
    "modesty_on_drive": "the drive buffer is not throttled by isofuse-burn",
    "use_immed_bit": "long commands always use Immed (polled with TEST UNIT READY)",
    "write_start_address": "isofuse-burn writes where the disc's next session belongs",
    "stdio_sync": "stdio: pseudo drives do not exist here; use sim:PATH",
    "drive_scsi_dev_family": "give the node itself: dev=/dev/sgN or dev=/dev/srN",
    "format": "use blank=format_overwrite",
    "blank_help": "use blank=help",
}
XORRECORD_ONLY = ("--grow_overwriteable_iso", "--multi_if_possible")
BLANK_MODES = {"all": "all", "disc": "all", "disk": "all", "fast": "fast", "minimal": "fast",
               "as_needed": "as_needed", "session": "session", "track": "track",
               "unclose": "unclose"}
BLANK_REFUSED = {
    "trtail": "blank=trtail is not supported; blank=fast erases the whole disc",
    "unreserve": "blank=unreserve is not supported; blank=fast erases the whole disc",
    "deformat": "blank=deformat is not supported; blank=all blanks a sequential DVD-RW",
    "deformat_quickest": "blank=deformat_quickest is not supported",
    "deformat_sequential": "blank=deformat_sequential is not supported",
}
BLANK_HELP = """\
Blanking options:
\tall\t\tblank the entire disc
\tdisc\t\tblank the entire disc
\tdisk\t\tblank the entire disc
\tfast\t\tminimally blank the entire disc (PMA, TOC, pregap)
\tminimal\t\tminimally blank the entire disc (PMA, TOC, pregap)
\ttrack\t\tblank a track
\tunclose\t\tunclose last session
\tsession\t\tblank last session
\tas_needed\tblank (fast) or format only what needs it to be written from scratch
\tformat_overwrite\tformat a DVD-RW (restricted overwrite), DVD+RW or BD-RE
refused: trtail unreserve deformat (see README.md)
"""

# isofuse-burn's own options that take a value (passed through in a mixed line)
NATIVE_WITH_VALUE = {"-d", "--device", "--speed", "--add", "--remove", "--blank", "--size",
                     "--volid", "--timeout", "--image-out"}
NATIVE_FLAGS = {"--list", "--scan", "--msinfo", "--dummy", "--multi", "--close", "--finalize",
                "--eject",
                "--verify", "--overburn", "--yes", "--json", "--wait", "-q", "--quiet",
                "--on-the-fly", "--format", "--help", "-h"}
LOOKS_CDRECORD_KEYS = ("dev", "blank", "speed", "driveropts", "gracetime", "fs", "tsize",
                       "padsize", "timeout", "minbuf", "msifile")


def parse_size(key, text):
    """cdrecord/xorrecord sizes: bytes, or with b, k, m, g (powers of 1024) or s
    (2048-byte sectors)."""
    match = SIZE.match(text.strip())
    if not match:
        if text[-1:].lower() == "f":
            raise DialectError(f"{key}={text}: sizes in audio frames (f) are not supported; "
                               "give sectors (s) or bytes")
        raise DialectError(f"{key}={text}: a size is a number with b, k, m, g or s (sectors)")
    return int(match.group(1)) * SCALE[match.group(2).lower()]


def _number(key, text, low=0, high=None):
    try:
        value = int(text)
    except ValueError:
        raise DialectError(f"{key}={text}: give a whole number") from None
    if value < low or (high is not None and value > high):
        raise DialectError(f"{key}={text}: must be between {low} and {high}"
                           if high is not None else f"{key}={text}: must be {low} or more")
    return value


def _speed(text):
    """speed=N: N x of the medium (cdrecord); a trailing x is allowed."""
    value = text[:-1] if text.lower().endswith("x") else text
    try:
        speed = float(value)
    except ValueError:
        raise DialectError(f"speed={text}: give the speed as N x of the medium (speed=8); "
                           "kB/s and c/d/b units are not supported") from None
    if speed < 0:
        raise DialectError(f"speed={text}: must be 0 (maximum) or more")
    return f"{speed:g}"


def looks_like_cdrecord(argv):
    """cdrecord words among isofuse-burn's options (called as isofuse-burn)."""
    for arg in argv:
        key = arg.lstrip("-").split("=", 1)[0] if "=" in arg else None
        if key in LOOKS_CDRECORD_KEYS and not os.path.exists(arg):
            return True
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1 and \
                arg not in ("-d", "-q", "-h") and not _attached_device(arg):
            return True          # a single-dash word: never split into -d ...
        if arg in XORRECORD_ONLY or arg == "--devices":
            return True
    return False


def _attached_device(arg):
    """isofuse-burn's -d/dev/sr0 or -dsim:PATH (argparse's attached form)."""
    return arg.startswith("-d") and (arg[2:3] == "/" or arg[2:].startswith("sim:"))


class _Line:
    """The command line being read: what each option asked for."""

    def __init__(self, dialect, mixed, environ):
        self.dialect = "cdrecord" if mixed else dialect
        self.mixed = mixed
        self.request = Request(self.dialect)
        self.device = environ.get("CDR_DEVICE") or None
        self.native = []
        self.flags = []
        self.tracks = []
        self.blank = None
        self.size = None
        self.fix = False
        self.multi = False
        self.reports = []
        self.pad = None
        self.data = False
        self.isosize = False
        if self.dialect == "xorrecord":
            self.pad = XORRECORD_PAD

    def refuse(self, option, why):
        raise DialectError(f"{option}: {why}")


# ---- single-dash words -----------------------------------------------------------------------
def _verbose(line, arg):
    line.request.verbose += arg.count("v")


def _report(name):
    def add(line, arg):
        line.reports.append(name)
    return add


def _flag(*native):
    def add(line, arg):
        line.flags.extend(native)
    return add


def _write_type(kind):
    def add(line, arg):
        line.request.write_type = kind
    return add


def _multi(line, arg):
    line.multi = True


def _nofix(line, arg):
    line.multi = True
    line.request.notes.append("-nofix: the session is closed with the disc left appendable "
                              "(as -multi); isofuse-burn never leaves a session open")


def _fix(line, arg):
    line.fix = True


def _pad(size):
    def set_pad(line, arg):
        line.pad = size
    return set_pad


def _accept(note=None):
    def accept(line, arg):
        if note:
            line.request.notes.append(f"{arg}: {note}")
    return accept


def _data(line, arg):
    line.data = True


def _xa(line, arg):
    """-xa / -xa1: a CD-ROM XA mode 2 form 1 data track (K3b's choice for
    multisession CDs).  cdrecord's -xa1 sends 2056-byte sectors with the
    sub-header; here both send 2048 bytes and the drive adds the sub-header
    (page 05h bytes 48-51): the disc is the same."""
    line.data = True
    line.request.xa = True


def _isosize(line, arg):
    line.isosize = True


def _waiti(line, arg):
    line.request.waiti = True


def _text(kind):
    def show(line, arg):
        line.request.text = kind
    return show


WORDS = {
    "-v": _verbose, "-vv": _verbose, "-vvv": _verbose, "-V": _accept("no SCSI command log"),
    "-VV": _accept("no SCSI command log"), "-s": _accept(), "-silent": _accept(),
    "-data": _data, "-mode1": _data, "-isosize": _isosize, "-xa": _xa, "-xa1": _xa,
    "-tao": _write_type("tao"), "-sao": _write_type("sao"), "-dao": _write_type("sao"),
    "-multi": _multi, "-fix": _fix, "-nofix": _nofix,
    "-msinfo": _report("msinfo"), "-toc": _report("toc"), "-atip": _report("atip"),
    "-prcap": _report("prcap"), "-checkdrive": _report("checkdrive"), "-inq": _report("inq"),
    "-scanbus": _report("scanbus"),
    "-dummy": _flag("--dummy"), "-eject": _flag("--eject"),
    "-overburn": _flag("--overburn"), "-ignsize": _flag("--overburn"),
    "-pad": _pad(CDRECORD_PAD), "-nopad": _pad(0),
    "-immed": _accept("long commands use Immed already"),
    "-force": _accept("no refusal of isofuse-burn is overridden by -force"),
    "-waiti": _waiti, "-version": _text("version"), "-help": _text("help"),
}


# ---- key=value -------------------------------------------------------------------------------
def _dev(line, key, value):
    line.device = value          # resolved at the end: option refusals come first


def _blank(line, key, value):
    if value == "help":
        line.request.text = "blank-help"
    elif value in BLANK_REFUSED:
        line.refuse(f"blank={value}", BLANK_REFUSED[value])
    elif value == "format_overwrite":
        line.blank = "format"
    elif value in BLANK_MODES:
        line.blank = BLANK_MODES[value]
    else:
        line.refuse(f"blank={value}", "unknown blanking type (blank=help lists them)")


def _driveropts(line, key, value):
    for opt in value.split(","):
        if opt == "burnfree":
            line.request.underrun_free = True
        elif opt == "noburnfree":
            line.request.underrun_free = False
        elif opt == "burnproof":      # the name before cdrecord 1.11a02 (K3b still knows it)
            line.request.underrun_free = True
        else:
            line.refuse(f"driveropts={opt}", "only burnfree and noburnfree are supported")


def _tsize(line, key, value):
    line.size = parse_size(key, value)
    if line.size <= 0:
        line.refuse(f"tsize={value}", "the track size must be positive")


def _padsize(line, key, value):
    line.pad = parse_size(key, value)


def _fs(line, key, value):
    parse_size(key, value)       # validated; the burner reads ahead on its own


def _gracetime(line, key, value):
    line.request.gracetime = _number(key, value, 0, 999)


def _timeout(line, key, value):
    _number(key, value, 1)
    line.request.notes.append("timeout=: each command has its own timeout "
                              "(burner/timeouts.py); the value is not used")


def _minbuf(line, key, value):
    _number(key, value, 25, 95)  # cdrecord's range check


def _msifile(line, key, value):
    line.request.msifile = value


def _speed_key(line, key, value):
    line.flags += ["--speed", _speed(value)]


def _stream_recording(line, key, value):
    if value != "off":
        line.refuse(f"stream_recording={value}", "stream recording (no defect management) "
                    "is not supported; leave it out or say off")


KEYS = {"dev": _dev, "blank": _blank, "driveropts": _driveropts, "tsize": _tsize,
        "padsize": _padsize, "fs": _fs, "gracetime": _gracetime, "timeout": _timeout,
        "minbuf": _minbuf, "msifile": _msifile, "speed": _speed_key,
        "stream_recording": _stream_recording}


# ---- reading the line ------------------------------------------------------------------------
def _native(line, argv, i):
    """A mixed line passes isofuse-burn's own options through; returns the
    index of the next argument, or None if argv[i] is not one of them."""
    arg = argv[i]
    if not line.mixed:
        return None
    if arg in NATIVE_WITH_VALUE or (arg == "--format" and i + 1 < len(argv)
                                    and argv[i + 1] in ("quick", "full")):
        if i + 1 >= len(argv):
            raise DialectError(f"{arg} needs a value")
        line.native += [arg, argv[i + 1]]
        return i + 2
    if arg in NATIVE_FLAGS or arg.split("=", 1)[0] in NATIVE_WITH_VALUE:
        line.native.append(arg)
        return i + 1
    if _attached_device(arg):
        line.native += ["--device", arg[2:]]
        return i + 1
    return None


def _one(line, arg):
    """One cdrecord argument that is not an isofuse-burn option."""
    if arg == "-":
        line.tracks.append(arg)
    elif arg == "--devices":
        line.reports.append("devices")
    elif arg in XORRECORD_ONLY:
        if line.dialect not in ("xorrecord", "cdrskin") and not line.mixed:
            line.refuse(arg, f"an xorrecord/cdrskin option, not one of {line.dialect}")
        if arg == "--grow_overwriteable_iso":
            line.request.grow_overwritable = True
        else:
            line.request.multi_if_possible = True
    elif "=" in arg and not os.path.exists(arg):
        _key_value(line, arg)
    elif arg.startswith("-"):
        _word(line, arg)
    else:
        line.tracks.append(arg)


def _key_value(line, arg):
    key, _, value = arg.lstrip("-").partition("=")
    if key in KEYS:
        KEYS[key](line, key, value)
    elif key in REFUSED_KEYS:
        line.refuse(f"{key}=", REFUSED_KEYS[key])
    else:
        line.refuse(arg, f"unknown {line.dialect} option (isofuse-burn --help lists its own)")


def _word(line, arg):
    if arg in WORDS:
        WORDS[arg](line, arg)
    elif arg in REFUSED_WORDS:
        line.refuse(arg, REFUSED_WORDS[arg])
    else:
        hint = " (isofuse-burn's options start with --: isofuse-burn --help)" \
            if line.mixed else ""
        line.refuse(arg, f"unknown {line.dialect} option{hint}")


def translate(dialect, argv, environ):
    """argv of cdrecord/wodim/xorrecord/cdrskin (or an isofuse-burn line with
    cdrecord words: dialect "mixed") -> Request."""
    line = _Line(dialect, dialect == "mixed", environ)
    i = 0
    while i < len(argv):
        after = _native(line, argv, i)
        if after is not None:
            i = after
            continue
        _one(line, argv[i])
        i += 1
    return _finish(line)


# ---- the Request -----------------------------------------------------------------------------
def _device_args(line, needed):
    if line.device:
        return ["--device", resolve(line.device)]
    if needed and not line.mixed:       # isofuse-burn's own checks apply to a mixed line
        raise DialectError("no drive given: dev=/dev/sr0 (or sim:PATH; -scanbus and "
                           "--devices list the drives; CDR_DEVICE is read too)")
    return []


def _finish(line):
    request = line.request
    if request.text:
        return request
    if line.reports:
        return _finish_report(line)
    if len(line.tracks) > 1:
        raise DialectError(f"{len(line.tracks)} tracks given ({' '.join(line.tracks)}): "
                           "isofuse-burn writes one data track per session")
    request.argv = _device_args(line, True) + line.native + line.flags
    request.argv += _blank_args(line)
    if line.multi:
        request.argv.append("--multi")
    if line.fix:
        return _finish_fix(line)
    if line.isosize:
        line.size = _iso_size(line)
    if line.size is not None:
        request.argv += ["--size", str(line.size)]
    if line.tracks and line.tracks[0] != "-" and line.size is not None and \
            os.path.isdir(line.tracks[0]):
        raise DialectError("tsize= applies to an image or standard input, not a folder")
    request.pad_bytes = line.pad or 0
    _check_audio_names(line)
    request.argv += line.tracks
    if not (line.tracks or line.blank or "--eject" in line.flags or line.native):
        raise DialectError("No tracks specified. Need at least one (an image file, a "
                           "folder or - for standard input)")
    return request


def _iso_size(line):
    """-isosize: the track is as long as the ISO volume it holds (ECMA-119
    §8.4.8 volume space size); standard input is read that way anyway."""
    from ..errors import BurnError
    from ..sources import FileSource, iso_volume_bytes
    if not line.tracks or line.tracks[0] == "-":
        return line.size
    try:
        source = FileSource(line.tracks[0])
    except BurnError as exc:
        raise DialectError(f"-isosize: {exc}") from None
    try:
        size = iso_volume_bytes(source)
    finally:
        source.close()
    if size is None:
        raise DialectError(f"-isosize: {line.tracks[0]} holds no ISO 9660 volume")
    return size


def _check_audio_names(line):
    """cdrecord writes a track named *.wav or *.au as audio unless -data says
    otherwise; isofuse-burn would write it as data: refuse instead."""
    for track in line.tracks:
        if track.lower().endswith((".wav", ".au")) and not line.data:
            line.refuse(track, "cdrecord writes .wav/.au files as audio tracks: " + AUDIO +
                        " (say -data to burn the file as data)")


def _blank_args(line):
    if line.blank == "format":
        return ["--format", "quick", "--yes"]
    if line.blank:
        # the command line is the confirmation: cdrecord does not ask
        return ["--blank", line.blank, "--yes"]
    return []


def _finish_fix(line):
    if line.tracks:
        raise DialectError("-fix closes what is on the disc: no tracks with it")
    line.request.argv.append("--close")
    return line.request


def _finish_report(line):
    request = line.request
    request.reports = list(dict.fromkeys(line.reports))
    if line.tracks:
        raise DialectError(f"No tracks allowed with -{request.reports[0]}")
    lists = {"scanbus", "devices"}
    if lists & set(request.reports) and len(request.reports) > 1:
        raise DialectError("-scanbus and --devices go alone")
    needs_device = not lists & set(request.reports)
    request.argv = _device_args(line, needs_device) + line.native
    return request
