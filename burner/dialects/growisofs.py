"""The growisofs command line translated to isofuse-burn.

growisofs(1) (dvd+rw-tools): ``growisofs [-dry-run] [-dvd-compat] [-overburn]
[-speed=N] -Z|-M /dev/dvd <mkisofs options>``.  -Z writes an initial
session, -M merges a new one into the disc's last session (growisofs runs
mkisofs with -C and -M itself), ``-Z /dev/dvd=image.iso`` burns a prepared
image and ``-M /dev/dvd=/dev/zero`` closes a multisession disc.  Without
-dvd-compat a write-once DVD stays appendable (growisofs' default); with it
the disc is closed.  growisofs' own options may stand anywhere; every other
argument goes to mkisofs -- here to isofuse master's option parser, which
refuses what it does not know before any drive is opened.
"""

from . import DialectError, Request
from .devaddr import resolve

# -use-the-force-luke=WORD[,WORD...]: those that mean something here
FORCE_ACCEPTED = {
    "tty": "no effect (isofuse-burn does not look at the terminal before burning)",
    "notray": "no effect (isofuse-burn does not reload the tray after burning)",
    "noload": "no effect (isofuse-burn does not load the tray before burning)",
    "4gms": "no effect (isofuse-burn does not refuse sessions that start beyond 4 GiB)",
}
FORCE_REFUSED = {  # None: handled in _force
    "seek": "growing at a given sector is not supported: -M finds the next session itself",
    "spare": "BD spare areas are the "
    "burner's formatting choice (isofuse-burn --format)", "break": "the layer break is "
    "chosen by the burner (docs/burner-mmc.md)", "4gms": "4 GiB files need -iso-level 3",
    "moi": "not supported",
    "wrvfy": "write-and-verify is not supported; isofuse-burn --verify reads the disc back",
    "null": "not supported", "dao": None,
}
STDIN_NAMES = ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")   # K3b, Brasero, scripts
MKISOFS_FORBIDDEN = {"-o": "growisofs writes to the disc; isofuse master -o FILE makes an "
                           "image file",
                     "-C": "growisofs finds -C itself (the disc's msinfo)",
                     "-cdrecord-params": "growisofs finds -C itself (the disc's msinfo)",
                     "-prev-session": "use -M DEVICE"}


class _Line:
    def __init__(self):
        self.request = Request("growisofs")
        self.mode = None
        self.target = None
        self.mkisofs = []
        self.compat = False
        self.flags = []


def _target(line, mode, value, option):
    if line.mode is not None:
        raise DialectError(f"{option}: give one of -Z or -M, once")
    if not value:
        raise DialectError(f"{option} needs a device: {option} /dev/sr0")
    line.mode, line.target = mode, value


def _force(line, value):
    for word in (value or "").split(","):
        name, _, arg = word.partition(":")
        if name == "dao" and not arg:
            line.request.write_type = "sao"
        elif name == "dummy":
            line.flags.append("--dummy")
        elif name == "tracksize":           # K3b: the sectors coming on standard input
            line.flags += ["--size", str(_whole(word, arg) * 2048)]
        elif name == "bufsize":
            _whole(word, arg.rstrip("kKmM"))    # the burner reads ahead on its own

        elif name in FORCE_ACCEPTED:
            line.request.notes.append(f"-use-the-force-luke={word}: {FORCE_ACCEPTED[name]}")
        elif name in FORCE_REFUSED:
            raise DialectError(f"-use-the-force-luke={word}: "
                               f"{FORCE_REFUSED[name] or 'a track size for DAO is not supported'}")
        else:
            raise DialectError(f"-use-the-force-luke={word}: unknown")


def _whole(word, text):
    try:
        return int(text)
    except ValueError:
        raise DialectError(f"-use-the-force-luke={word}: give a number") from None


def _speed(value):
    try:
        speed = float(value)
    except ValueError:
        raise DialectError(f"-speed={value}: give N x of the medium (-speed=4)") from None
    return f"{speed:g}"


def _growisofs_word(line, argv, i):
    """growisofs' own option at argv[i]: the index after it, or None."""
    arg = argv[i]
    if arg in ("-Z", "-M"):
        _target(line, arg[1], argv[i + 1] if i + 1 < len(argv) else "", arg)
        return i + 2
    if arg[:2] in ("-Z", "-M") and len(arg) > 2 and arg[2] in "/s":
        _target(line, arg[1], arg[2:], arg[:2])
        return i + 1
    key, eq, value = arg.partition("=")
    if arg == "-dvd-compat":
        line.compat = True
    elif arg == "-dry-run":
        line.request.dry_run = True
    elif arg in ("-print-size", "--print-size"):
        line.request.print_size = True
    elif arg == "-overburn":
        line.flags.append("--overburn")
    elif key == "-speed" and eq:
        line.flags += ["--speed", _speed(value)]
    elif key == "-use-the-force-luke":
        _force(line, value)
    elif arg in ("-version", "--version"):
        line.request.text = "version"
    elif arg in ("-h", "-help", "--help"):
        line.request.text = "help"
    else:
        return None
    return i + 1


def translate(argv):
    line = _Line()
    i = 0
    while i < len(argv):
        after = _growisofs_word(line, argv, i)
        if after is None:
            word = argv[i].split("=", 1)[0]
            if word in MKISOFS_FORBIDDEN:
                raise DialectError(f"{argv[i]}: {MKISOFS_FORBIDDEN[word]}")
            line.mkisofs.append(argv[i])
            after = i + 1
        i = after
    return _finish(line)


def _finish(line):
    request = line.request
    if request.text:
        return request
    if request.print_size and not request.dry_run:
        raise DialectError("-print-size goes with -dry-run (growisofs -dry-run ... "
                           "-print-size prints the session's size in sectors)")
    if line.mode is None:
        raise DialectError("say what to do: -Z /dev/sr0 (initial session) or -M /dev/sr0 "
                           "(add a session), followed by mkisofs options and folders")
    device, eq, image = line.target.partition("=")
    if line.target.startswith("sim:"):
        device, eq, image = _split_sim(line.target)
    request.argv = ["--device", resolve(device)] + line.flags
    if eq:
        return _finish_image(line, image)
    request.mkisofs = line.mkisofs           # parsed (and its folders found) by mastering
    request.initial_session = line.mode == "Z"
    if _stays_appendable(line):
        request.argv.append("--multi")      # growisofs leaves DVD±R appendable
    return request


def _stays_appendable(line):
    """growisofs leaves a write-once DVD appendable unless -dvd-compat or a
    disc-at-once write (-use-the-force-luke=dao), which closes it."""
    return line.mode == "M" or not (line.compat or line.request.write_type == "sao")


def _finish_zero(line):
    """-M DEVICE=/dev/zero: nothing more to write, close the disc for good
    (growisofs(1): to close a multisession DVD±R; the disc must have a
    session, so -Z makes no sense)."""
    if line.mode != "M":
        raise DialectError("-Z DEVICE=/dev/zero writes no session: -M DEVICE=/dev/zero "
                           "closes an appendable disc")
    if line.flags:
        raise DialectError(f"-M DEVICE=/dev/zero writes nothing: {' '.join(line.flags)} "
                           "does not go with it")
    line.request.argv.append("--finalize")
    return line.request


def _split_sim(target):
    """sim:PATH=IMAGE: the '=' after the sim path."""
    path, eq, image = target[4:].partition("=")
    return "sim:" + path, eq, image


def _finish_image(line, image):
    request = line.request
    if line.mkisofs:
        raise DialectError(f"-{line.mode} DEVICE=IMAGE burns a prepared image: no mkisofs "
                           f"options with it ({' '.join(line.mkisofs)})")
    if not image:
        raise DialectError(f"-{line.mode} {line.target}: name the image after '='")
    if image == "/dev/zero":
        return _finish_zero(line)
    request.initial_session = line.mode == "Z"
    if _stays_appendable(line):
        request.argv.append("--multi")
    request.argv.append("-" if image in STDIN_NAMES else image)
    return request
