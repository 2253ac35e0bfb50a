"""``isofuse master --help``, made from the option table."""

import textwrap

from . import mkisofs_options as table

USAGE = """\
usage: isofuse master [OPTION...] -o IMAGE|- SOURCE...
       isofuse master [OPTION...] -print-size SOURCE...

A SOURCE folder's contents go to the root of the image, a file goes to the
root; with -graft-points, DISC/PATH=SOURCE puts SOURCE at DISC/PATH.
Options are mkisofs's, spelled exactly (no abbreviations); a value is the
next argument.  Multi-letter options may also be written with two dashes.

Examples:
  isofuse master -r -J -V PHOTOS -o photos.iso ~/Pictures/2026
  isofuse master -output seed.iso -volid cidata -joliet -rock \\
      user-data meta-data
  isofuse master -r -J -b boot/isolinux.bin -c boot/boot.cat -no-emul-boot \\
      -boot-load-size 4 -boot-info-table -o boot.iso tree/
"""


def _signature(spec):
    names = ", ".join(spec.names)
    if spec.equals:
        return f"{names}={spec.metavar}"
    return f"{names} {spec.metavar}".rstrip()


def help_text():
    out = [USAGE]
    groups = {}
    for spec in table.OPTIONS:
        groups.setdefault(spec.group, []).append(spec)
    for group, specs in groups.items():
        if group == "refused":
            continue
        out.append(f"\n{group}:")
        for spec in specs:
            sig = _signature(spec)
            text = textwrap.wrap(spec.help, 78 - 31, break_on_hyphens=False)
            if len(sig) > 28:
                out.append(f"  {sig}")
                sig = ""
            out.append(f"  {sig:<28} {text[0]}")
            out.extend(f"  {'':<28} {more}" for more in text[1:])
    out.append("\nrefused (an error that says why):")
    for spec in groups.get("refused", []):
        out.append(textwrap.fill(" ".join(spec.names), 78, initial_indent="  ",
                                 subsequent_indent="  ", break_on_hyphens=False,
                                 break_long_words=False))
        out.append(textwrap.fill(spec.help, 78, initial_indent=" " * 8,
                                 subsequent_indent=" " * 8))
    return "\n".join(out)
