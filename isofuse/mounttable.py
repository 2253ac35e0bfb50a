"""Fields of the kernel's mount tables (/proc/mounts, /proc/self/mountinfo)."""

import re

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def unescape(field):
    """The kernel writes space, tab, newline and backslash in paths as
    three-digit octal escapes (\\040, \\011, \\012, \\134)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)
