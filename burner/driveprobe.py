"""The drive probe ``isofuse stage`` uses (registered in setup.cfg under the
entry point group ``isofuse.drive_probe``): what the disc in a drive offers
a staged session, so isofuse itself never imports the burner.

``probe(device)`` takes /dev/srN or sim:PATH and returns DriveFacts, or
raises OSError with a one-line message when the drive cannot be asked.
"""

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class DriveFacts:
    """medium: the profile's name, or None without a disc; free_blocks:
    the blank space (READ TRACK INFORMATION, MMC-6 §6.27); msinfo: (start
    of the last session, next writable address), or None when the disc
    has no session to continue."""
    medium: Optional[str]
    free_blocks: int
    msinfo: Optional[Tuple[int, int]]


def probe(device):
    """DriveFacts of the disc in ``device``."""
    from .drive import Drive, open_transport
    from .errors import BurnError
    from .recorder import msinfo
    from .sense import ScsiError, TransportError
    try:
        transport = open_transport(device, write=False)
    except (OSError, ScsiError, TransportError) as exc:
        raise OSError(str(exc)) from None
    drive = Drive(transport)
    try:
        try:
            status = drive.probe()
        except (OSError, ScsiError, TransportError) as exc:  # closed below
            raise OSError(str(exc)) from None
        if not status.is_mmc or not status.medium:
            return DriveFacts(None, 0, None)
        try:
            sessions = msinfo(drive, status)
        except (OSError, ScsiError, TransportError, BurnError):
            sessions = None
        return DriveFacts(status.profile_info.name, status.free_blocks or 0, sessions)
    finally:
        transport.close()
