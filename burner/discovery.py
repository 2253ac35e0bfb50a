"""Finding drives: udev's database (ID_CDROM* properties) when there is one,
else the /dev/sr* nodes themselves; waiting for a disc to be inserted."""

import glob
import os
import time

from .drive import Drive, open_transport
from .sense import ScsiError, TransportError


def udev_drives():
    """{devnode: properties} of optical drives udev knows; {} without udev."""
    try:
        import pyudev
        context = pyudev.Context()
        found = {}
        for dev in context.list_devices(subsystem="block", ID_CDROM="1"):
            if dev.device_node:
                found[dev.device_node] = dict(dev.properties)
        return found
    except Exception:       # no udev database (containers) or no pyudev
        return {}


def udev_summary(props):
    """Abilities and media as udev reports them (ID_CDROM_<PROFILE>=1)."""
    abilities = sorted(k[len("ID_CDROM_"):] for k, v in props.items()
                       if k.startswith("ID_CDROM_") and not k.startswith("ID_CDROM_MEDIA")
                       and v == "1")
    media = {k[len("ID_CDROM_MEDIA_"):].lower(): v for k, v in props.items()
             if k.startswith("ID_CDROM_MEDIA_")}
    return {"abilities": abilities, "media": media}


def candidate_devices():
    found = udev_drives()
    nodes = sorted(found) or sorted(glob.glob("/dev/sr[0-9]*"))
    return nodes, found


def udev_block_monitor():
    """A started pyudev monitor of block device events, or None without udev."""
    try:
        import pyudev
        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        monitor.filter_by("block")
        monitor.start()
        return monitor
    except Exception:
        return None


def wait_for_medium(device, timeout, poll=1.0, sleep=time.sleep, clock=time.monotonic,
                    monitor_factory=udev_block_monitor):
    """Wait until the drive has a disc.  udev's monitor wakes us on the
    change event where available; TEST UNIT READY decides in any case
    (the simulated drive and udev-less containers have only that).
    ``monitor_factory`` is for tests (a monitor whose poll() gives events)."""
    monitor = None if device.startswith("sim:") and monitor_factory is udev_block_monitor \
        else monitor_factory()
    deadline = clock() + timeout
    while True:
        try:
            with open_transport(device, write=False) as t:
                if Drive(t).medium_present():
                    return True
        except (ScsiError, TransportError, OSError):
            pass
        if clock() >= deadline:
            return False
        if monitor is not None:
            event = monitor.poll(timeout=min(poll, max(0.0, deadline - clock())))
            if event is not None and event.device_node != os.path.realpath(device):
                continue
        else:
            sleep(poll)
