"""cdrecord's ``dev=`` forms mapped to a device node.

cdrecord names drives by path or by SCSI address ``bus,target,lun`` (also
``target,lun`` on bus 0, and with a transport prefix such as ``ATA:`` or
``ATAPI:``); ``-scanbus`` prints those addresses.  On Linux the bus is the
SCSI host number and the address belongs to the sysfs device directory
``/sys/bus/scsi/devices/H:C:T:L`` (kernel Documentation/ABI/testing/
sysfs-bus-scsi), whose ``block/srN`` and ``scsi_generic/sgN`` children name
the nodes (burner/sysfs.py reads the same tree the other way round).
``sysfs`` and ``dev_root`` are parameters so tests can give a fake tree.
"""

import os
import re

from .. import sysfs as sysfs_mod
from . import DialectError

ADDRESS = re.compile(r"^(?:(\d+),)?(\d+),(\d+)$")
PREFIXES = ("ATA:", "ATAPI:", "SCSI:", "USCSI:", "REMOTE:")


def resolve(spec, sysfs=None, dev_root="/dev"):
    """The node (or ``sim:PATH``) that ``dev=spec`` means."""
    if spec.startswith("sim:") or spec.startswith("/"):
        return spec
    rest = spec
    for prefix in PREFIXES:
        if rest.upper().startswith(prefix):
            rest = rest[len(prefix):]
            break
    if rest.startswith("/"):
        return rest
    match = ADDRESS.match(rest)
    if not match:
        raise DialectError(f"dev={spec}: not a device path (/dev/sr0), sim:PATH or a SCSI "
                           "address bus,target,lun (-scanbus lists them)")
    bus = int(match.group(1) or 0)
    target, lun = int(match.group(2)), int(match.group(3))
    node = node_for_address(bus, target, lun, sysfs, dev_root)
    if node is None:
        raise DialectError(f"dev={spec}: no drive at SCSI address {bus},{target},{lun} "
                           f"(host {bus}, target {target}, lun {lun}; -scanbus lists the "
                           "drives, or give the path: dev=/dev/sr0)")
    return node


def _devices_dir(sysfs):
    return os.path.join(sysfs or sysfs_mod.SYSFS, "bus", "scsi", "devices")


def node_for_address(bus, target, lun, sysfs=None, dev_root="/dev"):
    """/dev/srN (else /dev/sgN) of the SCSI device host:*:target:lun."""
    root = _devices_dir(sysfs)
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return None
    for name in names:
        if not sysfs_mod.SCSI_ADDRESS.match(name):
            continue
        host, _channel, tgt, ln = (int(x) for x in name.split(":"))
        if (host, tgt, ln) != (bus, target, lun):
            continue
        for kind in ("block", "scsi_generic"):
            nodes = _children(os.path.join(root, name), kind)
            if nodes:
                return os.path.join(dev_root, nodes[0])
    return None


def _children(device_dir, kind):
    """Names under DEVICE/kind/ (newer kernels) or DEVICE/kind:NAME links (older)."""
    try:
        return sorted(os.listdir(os.path.join(device_dir, kind)))
    except OSError:
        pass
    try:
        return sorted(n.split(":", 1)[1] for n in os.listdir(device_dir)
                      if n.startswith(kind + ":"))
    except OSError:
        return []


def address_of(node, sysfs=None):
    """(bus, target, lun) of a node as -scanbus prints it, or None."""
    directory = sysfs_mod.scsi_address(node, sysfs)
    if directory is None:
        return None
    host, _channel, target, lun = (int(x) for x in os.path.basename(directory).split(":"))
    return host, target, lun
