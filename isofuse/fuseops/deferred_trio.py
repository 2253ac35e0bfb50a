"""pyfuse3 imported without trio until something uses trio.

pyfuse3 imports trio when it is imported (about 50 ms, 130 ms from a cold
page cache: most of a stage mount's start) but reaches it only through
its module attribute ``pyfuse3.trio`` while serving.  The stage serves
without trio (``fuseops.blocking_loop`` takes that attribute's place), so
it imports pyfuse3 with a stand-in for trio in ``sys.modules``: the first
use of any of the stand-in's attributes imports the real trio, puts it in
``sys.modules`` and answers from it, so code that does use trio in this
process gets it all the same, a moment later.
"""

import importlib
import sys
import types


class _DeferredTrio(types.ModuleType):
    """Stands for trio in ``sys.modules`` until an attribute is asked for."""

    def __getattr__(self, name):
        value = getattr(_real_trio(), name)
        if not name.startswith("__"):
            setattr(self, name, value)      # the next use is direct
        return value


def _real_trio():
    current = sys.modules.get("trio")
    if not isinstance(current, _DeferredTrio):
        return importlib.import_module("trio")
    del sys.modules["trio"]
    try:
        return importlib.import_module("trio")
    except BaseException:
        sys.modules["trio"] = current
        raise


def import_pyfuse3():
    """pyfuse3, with trio deferred when neither is imported yet."""
    if "pyfuse3" not in sys.modules and "trio" not in sys.modules:
        sys.modules["trio"] = _DeferredTrio("trio")
    return importlib.import_module("pyfuse3")
