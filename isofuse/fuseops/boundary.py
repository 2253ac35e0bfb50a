"""The errno boundary: whatever an operation lets through becomes an errno.

pyfuse3 answers a request with the errno of a FUSEError; any other
exception ends its main loop, and with it the mount ("transport endpoint is
not connected" for every program using it -- a staging folder gone in the
middle of a copy).  An unexpected error (a bug) must fail one request, not
the mount: it is logged with its traceback and answered with EIO; an
OSError keeps its errno; a damaged entry of an image (the reader's
CorruptEntry, logged by the reader where it is found) is EIO with a one-line
warning, since it is the image's fault, not ours.
"""

import errno
import functools
import inspect
import logging

import pyfuse3

from ..reader.errors import CorruptEntry

log = logging.getLogger(__name__)


def fuse_error(exc, what="an operation"):
    """The FUSEError to answer ``exc`` with (call it in an except block: an
    unexpected one is logged with its traceback)."""
    if isinstance(exc, pyfuse3.FUSEError):
        return exc
    if isinstance(exc, OSError) and exc.errno:
        return pyfuse3.FUSEError(exc.errno)
    if isinstance(exc, CorruptEntry):
        log.warning("%s: %s", what, exc)
        return pyfuse3.FUSEError(errno.EIO)
    log.exception("unexpected error in %s", what)
    return pyfuse3.FUSEError(errno.EIO)


def _guarded(name, operation):
    @functools.wraps(operation)
    async def guarded(*args, **kwargs):
        try:
            return await operation(*args, **kwargs)
        except pyfuse3.FUSEError:
            raise
        except Exception as exc:  # noqa: BLE001 -- this is the boundary
            raise fuse_error(exc, name) from None
    return guarded


def _guarded_plain(name, operation):
    """The same boundary for an operation written as a plain function (one
    that never awaits): one coroutine per request instead of two, the
    wrapper's and the operation's."""
    @functools.wraps(operation)
    async def guarded(*args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except pyfuse3.FUSEError:
            raise
        except Exception as exc:  # noqa: BLE001 -- this is the boundary
            raise fuse_error(exc, name) from None
    return guarded


def errno_boundary(cls):
    """Class decorator: every pyfuse3 operation ``cls`` defines is guarded
    (and, written as a plain function, made the coroutine pyfuse3 awaits)."""
    for name, member in list(vars(cls).items()):
        if not inspect.iscoroutinefunction(getattr(pyfuse3.Operations, name, None)):
            continue
        if inspect.iscoroutinefunction(member):
            setattr(cls, name, _guarded(name, member))
        elif inspect.isfunction(member):
            setattr(cls, name, _guarded_plain(name, member))
    return cls
