"""Lazy, random-access ISO 9660 image reader (no FUSE, no trio).

Entry point: :func:`isofuse.reader.image.open_image`.
"""

from .errors import ReaderError, CorruptEntry
from .image import IsoImage, ReadOptions, open_image

__all__ = ["ReaderError", "CorruptEntry", "IsoImage", "ReadOptions", "open_image"]
