"""System Use areas with their continuation areas (SUSP §5.1 CE chains).

The walk is bounded the way the kernel bounds it: at most 32 continuation
hops, each area inside one logical block and inside the image, and no area
visited twice (a CE loop ends the walk instead of hanging it).
"""

from ..format import FormatError
from ..format import susp
from ..format.sectors import SECTOR


def entries(source, area, skip=0, on_error=None):
    """Yield the SUSP entries of a record's System Use area and of every
    continuation area it chains to, in order (CE entries themselves are
    consumed here)."""
    def report(message):
        if on_error is not None:
            on_error(message)

    visited = set()
    hops = 0
    area = area[skip:]
    while True:
        continuation = None
        for entry in susp.iter_entries(area, on_error=lambda e: report(str(e))):
            if entry.signature == b"CE":
                try:
                    continuation = susp.decode_ce(entry)
                except FormatError as exc:
                    report(str(exc))
                continue
            yield entry
        if continuation is None:
            return
        hops += 1
        key = (continuation.block, continuation.offset)
        if hops > susp.MAX_CE_CHAIN or key in visited:
            report("continuation chain too long or looping; rest ignored")
            return
        visited.add(key)
        if continuation.offset + continuation.length > SECTOR \
                or continuation.block >= source.sectors:
            report(f"continuation area at block {continuation.block} "
                   f"offset {continuation.offset} length {continuation.length} "
                   "is out of bounds")
            return
        area = source.pread(continuation.block * SECTOR + continuation.offset,
                            continuation.length)
