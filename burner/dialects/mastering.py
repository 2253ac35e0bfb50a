"""growisofs' mkisofs options, read by isofuse master's own parser
(``isofuse.cli.master.parse_command_line``) and mastered on the fly, as
growisofs pipes mkisofs into the drive.

The options are parsed before any drive is opened (a typo is refused with
the option named); the tree is built when the burner knows where the session
goes: at sector 0 for -Z, or -- for -M -- merged over the disc's last
session at its next writable address (what growisofs passes to mkisofs as
``-C start,next -M device``).
"""

from ..errors import SOURCE, USAGE, BurnError
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
    options replace)."""

    def __init__(self, mkisofs_argv, previous=None, msinfo=None, now=None):
        from isofuse.cli.master import UsageError, build_tree
        from isofuse.master import layout as layout_mod
        from isofuse.master.isotree import TreeError
        from isofuse.master.sourcetree import SourceError
        from isofuse.master.stream import ImageStream
        argv = list(mkisofs_argv)
        if previous is not None:
            argv += ["-C", f"{msinfo[0]},{msinfo[1]}", "-M", previous]
        cmd = _parse(argv)
        self.warnings = []
        self.label = ", ".join(cmd.sources)
        try:
            root, options = build_tree(cmd, self.warnings.append)
            if options.now is None:
                options.now = now
            self.layout = layout_mod.Layout(root, options, warn=self.warnings.append)
        except UsageError as exc:
            raise BurnError(f"mkisofs options: {exc}", USAGE) from None
        except (SourceError, TreeError, layout_mod.LayoutError) as exc:
            raise BurnError(str(exc), SOURCE) from None
        self.mastered_for = options.session_start or 0
        self.stream = ImageStream(self.layout)
        self.size = self.stream.size
