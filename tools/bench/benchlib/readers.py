"""The read-only ISO mounts compared: isofuse (this checkout) and fuseiso."""

import os
import shlex
import shutil
import sys

from .common import BenchError, log
from .fusemount import mounted

READER_NAMES = ("isofuse", "fuseiso")


class Reader:
    def __init__(self, name, argv_for):
        self.name = name
        self.argv_for = argv_for      # (image, mountpoint) -> argv (foreground)

    def mount(self, image, mountpoint, logdir, **kw):
        """Context manager: the image mounted, unmounted on the way out."""
        return mounted(self.name, self.argv_for(image, mountpoint), mountpoint,
                       os.path.join(logdir, f"{self.name}.log"), **kw)


def make_readers(names, isofuse_cmd=None):
    readers = []
    for name in names:
        if name == "isofuse":
            base = (shlex.split(isofuse_cmd) if isofuse_cmd
                    else [sys.executable, "-m", "isofuse.cli.main"])
            readers.append(Reader("isofuse", lambda img, mnt, base=base:
                                  [*base, "mount", "-f", img, mnt]))
        elif name == "fuseiso":
            exe = shutil.which("fuseiso")
            if not exe:
                log("fuseiso not found: skipped")
                continue
            # -n: don't touch ~/.mtab.fuseiso; -f: foreground, so we own the pid
            readers.append(Reader("fuseiso", lambda img, mnt, exe=exe:
                                  [exe, "-n", img, mnt, "-f"]))
        else:
            raise BenchError(f"unknown reader {name!r} ({', '.join(READER_NAMES)})")
    if not readers:
        raise BenchError("no reader to measure")
    return readers


ISOFUSE_MOUNT_IMPORTS = ("import pyfuse3, trio, isofuse.cli.main, "
                         "isofuse.fuseops.readonly, isofuse.fuseops.session")
