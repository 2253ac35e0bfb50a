"""Refusals and failures with a distinct exit status each.

Every refusal happens before the first WRITE; the message is one line that
says what is wrong and, where possible, what to do.
"""

OK = 0
FAILURE = 1            # an unexpected error (a bug): traceback-free summary
USAGE = 2              # wrong command line
NO_DEVICE = 3          # the device cannot be opened / does not exist
NOT_MMC = 4            # not a CD/DVD/BD (MMC) drive
CANNOT_WRITE = 5       # the drive or the medium in it cannot be written
NO_MEDIUM = 6          # no disc in the drive (and --wait not given or timed out)
DISC_CLOSED = 7        # the disc is complete (closed); nothing can be appended
TOO_BIG = 8            # the source does not fit (use --overburn to try anyway)
MOUNTED = 9            # the disc is mounted
NOT_CONFIRMED = 10     # blanking/formatting without --yes or confirmation
NO_DUMMY = 11          # test write impossible on this medium or drive
SOURCE = 12            # the source cannot be read / its size is unknown
WRITE_FAILED = 13      # the drive reported an error while writing: not burned
VERIFY_FAILED = 14     # read-back differs from what was written
INTERRUPTED = 15       # stopped by a signal (Ctrl-C)
NO_SESSION = 16        # --msinfo or --multi needs a previous session that is not there
TRANSPORT = 17         # the kernel or the bus failed a command (I/O error, no sense data)
TIMEOUT = 18           # the drive did not answer in time; the kernel aborted the command
DEVICE_GONE = 19       # the drive disappeared (unplugged, switched off, node removed)
NO_ACCESS = 20         # the kernel refused a command: no write access to the device
OUTPUT = 21            # --image-out: the image file cannot be written (disc full?)
CANNOT_COPY = 22       # a disc that cannot be copied 1:1 onto another disc (multisession)

# sense.TransportError.kind -> exit status
TRANSPORT_CODES = {"timeout": TIMEOUT, "gone": DEVICE_GONE, "permission": NO_ACCESS,
                   "no-sense": TRANSPORT, "io": TRANSPORT}

NAMES = {v: k.lower() for k, v in globals().items() if k.isupper() and isinstance(v, int)}


def transport_code(exc):
    """The exit status for a ``sense.TransportError`` (by its kind)."""
    return TRANSPORT_CODES.get(getattr(exc, "kind", "io"), TRANSPORT)


def access_hint(device):
    """What a user without access to ``device`` can do (README: non-root burning)."""
    return ("to burn without root, join the group owning the node (usually cdrom: "
            "sudo usermod -aG cdrom $USER, then log in again) or check the seat's ACL "
            f"(getfacl {device})")


class BurnError(Exception):
    """A refusal or failure: ``code`` is the exit status."""

    def __init__(self, message, code=FAILURE):
        super().__init__(message)
        self.code = code
