"""Dialect front ends of isofuse-burn: the command lines of cdrecord/wodim,
xorrecord/cdrskin and growisofs, translated to isofuse-burn's own options.

A dialect is chosen by the program name (``isofuse-cdrecord``,
``isofuse-growisofs``, or ``isofuse-burn`` called through a link named
cdrecord, wodim, xorrecord, cdrskin, growisofs) or, for ``isofuse-burn``
itself, by the look of the argument list (``dev=``, ``blank=``, single-dash
words such as ``-data``, growisofs' ``-Z``/``-M``).  Translation happens
entirely before any drive is opened: an option that is not understood, or
understood but not supported, ends the run with a one-line message naming
it (and the isofuse-burn equivalent where there is one).  Single-dash words
are looked up whole, never split into short options (argparse would read
``-dao`` as ``-d ao``).  The result is a :class:`Request`: argv for the
ordinary isofuse-burn parser plus the settings that have no isofuse-burn
spelling (reports, write type, countdown, padding); there is no second burner.
"""

import os
from dataclasses import dataclass, field
from typing import List, Optional

# program name -> dialect
PROGRAMS = {"cdrecord": "cdrecord", "wodim": "wodim", "isofuse-cdrecord": "cdrecord",
            "xorrecord": "xorrecord", "cdrskin": "cdrskin",
            "growisofs": "growisofs", "isofuse-growisofs": "growisofs"}
GROWISOFS_ONLY = ("-dvd-compat", "-dry-run", "-use-the-force-luke")


class DialectError(Exception):
    """A command line refused before anything is opened (exit status 2)."""


@dataclass
class Request:
    """What a dialect command line asks for."""
    dialect: str
    argv: List[str] = field(default_factory=list)      # isofuse-burn's own options
    reports: List[str] = field(default_factory=list)   # msinfo toc atip checkdrive prcap
    #                                    inq scanbus devices, printed in this order
    verbose: int = 0
    write_type: Optional[str] = None   # "tao" or "sao" (-dao is -sao)
    xa: bool = False                    # -xa/-xa1: CD mode 2 form 1 (CD-ROM XA) track
    gracetime: int = 0
    pad_bytes: int = 0
    underrun_free: Optional[bool] = None
    msifile: Optional[str] = None
    waiti: bool = False
    dry_run: bool = False
    print_size: bool = False            # growisofs -dry-run ... -print-size (Brasero)
    grow_overwritable: bool = False
    multi_if_possible: bool = False
    initial_session: bool = False       # growisofs -Z: the disc must be blank or overwritable
    mkisofs: Optional[List[str]] = None  # growisofs: master the folders with these options
    text: Optional[str] = None          # printed instead of doing anything (help, version)
    notes: List[str] = field(default_factory=list)


def program_dialect(program):
    """The dialect a program name asks for, or None (isofuse-burn itself)."""
    name = os.path.basename(program or "")
    if name.endswith(".py"):
        name = name[:-3]
    return PROGRAMS.get(name)


def _growisofs_style(argv):
    return any(a in ("-Z", "-M") or a[:2] in ("-Z", "-M") and len(a) > 2 and a[2] in "/s"
               for a in argv)


def guess(argv):
    """The dialect of an isofuse-burn command line: "growisofs" (-Z/-M),
    "mixed" (cdrecord words among isofuse-burn options) or None (native)."""
    from .cdrecord import looks_like_cdrecord
    if _growisofs_style(argv):
        return "growisofs"
    for arg in argv:
        if arg.split("=", 1)[0] in GROWISOFS_ONLY:
            raise DialectError(f"{arg} is a growisofs option: it goes with -Z DEVICE or "
                               "-M DEVICE (growisofs -dvd-compat -Z /dev/sr0=image.iso); "
                               "isofuse-burn burns without it (--dummy for a test write)")
    return "mixed" if looks_like_cdrecord(argv) else None


def translate(dialect, argv, environ=None):
    """The Request for ``argv`` in ``dialect`` (raises DialectError)."""
    environ = os.environ if environ is None else environ
    if dialect == "growisofs":
        from .growisofs import translate as growisofs
        return growisofs(argv)
    from .cdrecord import translate as cdrecord
    return cdrecord(dialect, argv, environ)
