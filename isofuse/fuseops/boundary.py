"""The errno boundary: whatever an operation lets through becomes an errno.

pyfuse3 answers a request with the errno of a FUSEError; any other
exception ends its main loop, and with it the mount ("transport endpoint is
not connected" for every program using it -- a staging folder gone in the
middle of a copy).  An unexpected error (a bug) must fail one request, not
the mount: it is logged with its traceback and answered with EIO; an
OSError keeps its errno.
"""

import errno
import functools
import inspect
import logging

import pyfuse3

log = logging.getLogger(__name__)


def _guarded(name, operation):
    @functools.wraps(operation)
    async def guarded(*args, **kwargs):
        try:
            return await operation(*args, **kwargs)
        except pyfuse3.FUSEError:
            raise
        except OSError as exc:
            raise pyfuse3.FUSEError(exc.errno or errno.EIO) from None
        except Exception:  # noqa: BLE001 -- this is the boundary
            log.exception("unexpected error in %s", name)
            raise pyfuse3.FUSEError(errno.EIO) from None
    return guarded


def errno_boundary(cls):
    """Class decorator: every pyfuse3 operation ``cls`` defines is guarded."""
    for name, member in list(vars(cls).items()):
        if inspect.iscoroutinefunction(member) and hasattr(pyfuse3.Operations, name):
            setattr(cls, name, _guarded(name, member))
    return cls
