"""Lazy, random-access ISO 9660 image reader (no FUSE, no trio).

Entry point: :func:`isofuse.reader.image.open_image`.

The errors are imported at once; the reader itself (and the format layer
under it) when first named: ``isofuse stage`` over folders catches
ReaderError but never reads an image, and importing the reader from a cold
page cache costs about 30 ms of the stage's mount time.
"""

import importlib

from .errors import ReaderError, CorruptEntry

__all__ = ["ReaderError", "CorruptEntry", "IsoImage", "ReadOptions", "open_image"]
_FROM_IMAGE = ("IsoImage", "ReadOptions", "open_image")


def __getattr__(name):
    """IsoImage, ReadOptions, open_image and the submodules, on first use
    (PEP 562)."""
    if name == "ReadOptions":
        from .options import ReadOptions
        return ReadOptions
    if name in _FROM_IMAGE:
        from . import image
        return getattr(image, name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
