"""What a dialect adds to the common burn, at the points the burner offers:
after the probe (options that depend on the disc), after the plan and before
the first WRITE (checks of the write type, the countdown), and around the
source (padding).  Every refusal here comes before anything is written."""

import select
import sys
import time

from .. import features, pages
from ..errors import CANNOT_WRITE, NO_SESSION, SOURCE, BurnError
from isofuse.format.sectors import sectors_for

sleep = time.sleep          # tests replace it: the countdown's seconds
DVD_R_DL = 0x15


def tune_options(request):
    """Right after the probe: growisofs -Z wants a blank (or overwritable)
    disc; --multi_if_possible: -multi where the disc can take more sessions
    (not a DVD-R DL, not a DVD-RW that takes disc-at-once only)."""
    def tune(status, opts):
        _check_initial_session(request, status)
        if request.multi_if_possible:
            dvd_minus = status.profile_info.family == "dvd-r"
            opts.multi = not (dvd_minus and (status.profile == DVD_R_DL or
                                             not features.incremental_current(status.features)))
    return tune


def before_write(request, program):
    """Called with the probe and the plan, before the first WRITE; without a
    progress reporter (growisofs -dry-run) only the checks run."""
    def check(status, plan, opts, progress):
        _check_write_type(request, status, plan, program)
        _check_growing(request, status, plan, program)
        if progress is None:
            return
        if program in ("cdrecord", "wodim", "xorrecord", "cdrskin") and request.verbose:
            from .cdprogress import track_header
            track_header(plan.blocks)
        if request.gracetime:
            countdown(request.gracetime, opts.dummy, _mode_name(status, plan, opts))
    return check


def _mode_name(status, plan, opts):
    family = status.profile_info.family
    if family == "cd":
        mode = "SAO" if plan.write_type == pages.WT_SAO else "TAO"
    elif family == "dvd-r":
        mode = "SAO" if plan.write_type == pages.WT_SAO else "incremental"
    else:
        mode = "sequential" if not status.profile_info.overwritable else "overwrite"
    return f"{mode} mode for {'multi' if opts.multi else 'single'} session"


def _check_write_type(request, status, plan, program):
    p = status.profile_info
    if request.xa and p.family != "cd":
        raise BurnError(f"-xa: mode 2 (CD-ROM XA) tracks exist on CD only; the disc is a "
                        f"{p.name}: leave out -xa; nothing was written", CANNOT_WRITE)
    wanted = request.write_type
    if wanted is None:
        return
    option = "-tao" if wanted == "tao" else "-sao/-dao"
    if p.family == "dvd-r" and wanted == "sao" and plan.write_type != pages.WT_SAO:
        why = (f"disc-at-once needs a blank {p.name} and no -multi; this burn is "
               "incremental: leave out -sao/-dao")
    elif p.family == "dvd-r" and wanted == "tao" and plan.write_type == pages.WT_SAO:
        why = (f"a blank {p.name} without -multi is written disc-at-once (and closed); "
               "add -multi for incremental writing, or leave out -tao")
    elif p.family not in ("cd", "dvd-r") and wanted == "tao":
        why = f"a {p.name} has no track-at-once mode: leave out -tao"
    else:
        return
    raise BurnError(f"{option}: {why}; nothing was written", CANNOT_WRITE)


def _check_initial_session(request, status):
    """growisofs -Z: an initial session, so a sequential disc must be blank."""
    if not request.initial_session or status.profile_info.overwritable:
        return
    if status.disc is not None and status.disc.status != 0:
        raise BurnError(f"growisofs -Z: the {status.profile_info.name} in {status.device} "
                        "already has a session; -M adds one (or blank a rewritable disc); "
                        "nothing was written", NO_SESSION)


def _check_growing(request, status, plan, program):
    """xorrecord treats overwritable media as blank unless told
    --grow_overwriteable_iso: a session mastered for a later sector needs it."""
    if program not in ("xorrecord", "cdrskin") or request.grow_overwritable:
        return
    if status.profile_info.overwritable and plan.start:
        raise BurnError(f"the image continues the ISO volume on the "
                        f"{status.profile_info.name} (it starts at sector {plan.start}): add "
                        "--grow_overwriteable_iso to grow it; nothing was written", SOURCE)


def countdown(seconds, dummy=False, mode="", out=None, tty=None):
    """cdrecord's gracetime: on a terminal the seconds count down on one
    line; otherwise the line is printed once (Brasero watches for "Last chance
    to quit, ") and the time is waited all the same."""
    out = out or sys.stdout
    tty = out.isatty() if tty is None else tty
    kind = "dummy" if dummy else "real"
    if mode:
        out.write(f"Starting to write CD/DVD in {kind} {mode}.\n")
    head = f"Last chance to quit, starting {kind} write in "
    if not tty:
        out.write(f"{head}{seconds:4d} seconds.\n")
        out.flush()
        sleep(seconds)
        return
    for left in range(seconds, 0, -1):
        out.write(f"\r{head}{left:4d} seconds.")
        out.flush()
        sleep(1)
    out.write(f"\r{head}{0:4d} seconds. Operation starts.\n")
    out.flush()


def wait_for_input(stream=None):
    """-waiti: do not open the drive before standard input has data (or EOF),
    so the mkisofs feeding it can read the disc first."""
    stream = stream or sys.stdin
    select.select([stream], [], [])


class Padded:
    """A source followed by ``pad`` zero bytes (cdrecord -pad, padsize=)."""

    def __init__(self, source, pad):
        self.inner = source
        self.pad = pad
        self.size = source.size + pad

    def __getattr__(self, name):        # label, rereadable, descriptors, close, ...
        return getattr(self.inner, name)

    def read(self, offset, size):
        real = max(0, min(size, self.inner.size - offset))
        data = self.inner.read(offset, real) if real else b""
        return data + bytes(max(0, min(size, self.size - offset) - len(data)))


def next_session_image(source, nwa):
    """Whether an image was mastered for the next session at ``nwa`` (mkisofs
    -C x,nwa, as xorrisofs and genisoimage make it): sessionaddr.placement,
    which also gives standard input sized by its own descriptor the
    session's own length."""
    from ..sessionaddr import placement
    found = placement(source, [nwa])
    if found.start != nwa:
        return False
    if found.sectors and getattr(source, "size_from_descriptor", False):
        source.size = found.sectors * 2048
    return True


class Grown:
    """An image for the next session of an overwritable disc, whose
    descriptor copy for sector 16 counts the whole grown volume: the volume
    space size (ECMA-119 §8.4.8, bytes 80-87 both-endian) of its primary and
    supplementary descriptors set to start + its sectors, as xorrecord
    --grow_overwriteable_iso and growisofs -M do -- readers, and the next
    -msinfo, take the volume's end from there."""

    def __init__(self, source, start):
        self.inner = source
        self.start = start
        from ..sessionaddr import descriptor_area
        self.area = descriptor_area(source)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def read(self, offset, size):
        return self.inner.read(offset, size)

    def descriptors(self):
        from isofuse.master.session import grown_descriptor_copy
        return grown_descriptor_copy(self.area, self.start + sectors_for(self.inner.size))


