"""growisofs' mkisofs options, read by isofuse master's own parser
(``isofuse.cli.master.parse_command_line``) and mastered on the fly, as
growisofs pipes mkisofs into the drive.

The options are parsed before any drive is opened (a typo is refused with
the option named); the tree is built when the burner knows where the session
goes: at sector 0 for -Z, or -- for -M -- merged over the disc's last
session at its next writable address (what growisofs passes to mkisofs as
``-C start,next -M device``).
"""

from ..errors import USAGE, BurnError
from ..sources import MasteredSource
from . import DialectError


def _parse(argv):
    from isofuse.cli.master import UsageError, parse_command_line
    try:
        return parse_command_line(list(argv))
    except UsageError as exc:
        raise DialectError(f"mkisofs options: {exc}") from None


def parse(mkisofs_argv):
    """The ParsedCommand of growisofs' mkisofs options; refuses -o, -C, -M,
    -print-size (growisofs' own business) and a line without folders."""
    cmd = _parse(mkisofs_argv)
    if cmd.help or cmd.version:
        raise DialectError("mkisofs options: --help/-version: use isofuse master --help")
    if cmd.output or cmd.msinfo or cmd.previous or cmd.append_to or cmd.print_size:
        raise DialectError("mkisofs options: -o, -C, -M and -print-size are growisofs' own "
                           "business (it writes to the disc and finds the session itself)")
    return cmd


class MkisofsSource(MasteredSource):
    """Folders mastered with the user's mkisofs options: the same stream,
    descriptors and reads as MasteredSource (whose staging profile these
    options replace).  ``previous`` and ``msinfo`` (start, next): growisofs
    -M, the disc's last session continued at its next writable address."""

    def __init__(self, mkisofs_argv, previous=None, msinfo=None, now=None):
        from isofuse.cli.master import UsageError, session_inputs
        from isofuse.master import session
        cmd = _parse(mkisofs_argv)
        self.label = ", ".join(cmd.sources)
        options = cmd.options
        if options.now is None:
            options.now = now
        warnings = []
        try:
            sources, _ = session_inputs(cmd, warnings.append)
        except UsageError as exc:
            raise BurnError(f"mkisofs options: {exc}", USAGE) from None
        continued = None
        if previous is not None:
            # what growisofs passes to mkisofs as -C start,next -M device
            continued = session.Continuation(previous, sbsector=msinfo[0], start=msinfo[1])
        self._plan(sources, options, continued, session_error=_mkisofs_error)
        self.warnings[:0] = warnings


def _mkisofs_error(exc):
    """A session engine's refusal, named as isofuse master names it."""
    where = "-C: " if exc.about == "start" else ""
    return BurnError(f"mkisofs options: {where}{exc}", USAGE)
