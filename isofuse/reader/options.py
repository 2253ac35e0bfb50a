"""How an image is read (the kernel's isofs mount options), apart from the
reader itself: ``isofuse mount``'s option parser and the stage need the
options before, or without, reading an image."""

from dataclasses import dataclass
from typing import Optional


@dataclass
class ReadOptions:
    """What to read and how; names follow the kernel's isofs mount options."""
    rock: bool = True            # use Rock Ridge when present (norock: False)
    joliet: bool = True          # use Joliet when present and no Rock Ridge
    session: Optional[int] = None  # 0-based session, default the newest
    sbsector: Optional[int] = None  # session start sector, overrides session
    mapping: str = "normal"      # plain names: "normal" (lower case, no ;1) or "off"
    uid: Optional[int] = None    # owner for every file (overrides Rock Ridge)
    gid: Optional[int] = None
    fmode: Optional[int] = None  # permissions of files without Rock Ridge
    dmode: Optional[int] = None  # permissions of directories without Rock Ridge
    override_rock_perm: bool = False
    showassoc: bool = False      # show associated files (flag 0x04)
    hide: bool = False           # hide files with the hidden flag (0x01)
    nocompress: bool = False     # show zisofs files as stored
    directory_cache_entries: int = 200_000
    block_cache_bytes: int = 64 << 20
