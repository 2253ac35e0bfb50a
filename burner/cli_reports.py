"""What isofuse-burn prints about drives and discs: --list, --msinfo and the
cdrecord-style reports (-toc, -atip, -checkdrive, ...)."""

import json
import os
import sys

from . import errors, recorder
from . import cli_common
from .cli_common import probe
from .errors import BurnError


def cmd_list(args):
    from .discovery import candidate_devices, udev_summary
    devices = args.device
    found = {}
    if not devices:
        devices, found = candidate_devices()
    rows = []
    worst = 0
    for device in devices:
        try:
            drive = cli_common.open_drive(device, write=False)
        except BurnError as exc:
            rows.append({"device": device, "error": str(exc)})
            worst = max(worst, exc.code)
            continue
        try:
            row = _list_row(drive)
        except BurnError as exc:
            row = {"device": device, "error": str(exc)}
            worst = max(worst, exc.code)
        finally:
            drive.t.close()
        if device in found:
            row["udev"] = udev_summary(found[device])
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1))
    elif not rows:
        print("no optical drives found (no /dev/sr*; a simulated one: --device sim:PATH)")
    for row in rows if not args.json else ():
        print(_describe(row))
    return worst


def _list_row(drive):
    """A drive's --list entry: the probe, plus the medium's write speeds
    (GET PERFORMANCE) when the drive writes it."""
    from .layers import list_speeds
    status = probe(drive)
    row = status.as_dict()
    if status.medium and status.writes_medium:
        row.update(list_speeds(drive, status).as_dict())
    return row


def _describe(row):
    if "error" in row:
        return f"{row['device']}: {row['error']}"
    if not row["mmc"]:
        return f"{row['device']}: {row['vendor']} {row['product']}: not an MMC drive"
    kind = ("writes " + ", ".join(row["writable_profiles"])) if row["can_write"] \
        else "read-only drive (cannot write)"
    text = f"{row['device']}: {row['vendor']} {row['product']}, {kind}"
    if not row["medium"]:
        return text + "; no disc"
    text += (f"; disc: {row['profile']}, {row['state']}, {row['sessions']} session(s), "
             f"{row['recorded_blocks']} sectors recorded")
    if row.get("next_writable") is not None:
        text += f", next writable {row['next_writable']}, {row['free_blocks']} free"
    if row.get("write_speeds_x"):
        text += "; write speeds " + ", ".join(f"{x:g}x" for x in row["write_speeds_x"])
    return text


def cmd_msinfo(args):
    from .sense import ScsiError
    if len(args.device) != 1:
        raise BurnError("--msinfo needs exactly one --device", errors.USAGE)
    drive = cli_common.open_drive(args.device[0], write=False)
    try:
        status = probe(drive)
        if not status.is_mmc:
            raise BurnError(f"{status.device} is not an MMC drive", errors.NOT_MMC)
        start, nwa = recorder.msinfo(drive, status)
    except ScsiError as exc:
        raise BurnError(f"{args.device[0]}: {exc}", errors.NO_SESSION) from None
    finally:
        drive.t.close()
    print(json.dumps({"start": start, "next": nwa}) if args.json else f"{start},{nwa}")
    return 0


def cmd_report(args, request):
    """cdrecord's -msinfo, -toc, -atip, -checkdrive, -inq, -prcap, -scanbus and
    --devices, printed in cdrecord's layouts (dialects/reports.py)."""
    if request.reports[0] in ("scanbus", "devices"):
        return cmd_drive_list(args, request)
    if len(args.device) != 1:
        raise BurnError(f"-{request.reports[0]} needs exactly one drive (dev=DEVICE)",
                        errors.USAGE)
    drive = cli_common.open_drive(args.device[0], write=False)
    try:
        for report in request.reports:          # xorrecord: -atip -toc in one run
            sys.stdout.write(_report_text(drive, args, request, report))
            sys.stdout.flush()
    finally:
        drive.t.close()
    return 0


def _report_text(drive, args, request, report):
    from .dialects import query, reports
    from .sense import ScsiError
    if report == "inq":
        return reports.inquiry(query.inquiry_facts(drive))
    status = probe(drive)
    if not status.is_mmc:
        raise BurnError(f"{status.device} is not an MMC drive", errors.NOT_MMC)
    facts = query.inquiry_facts(drive)
    if report == "checkdrive":
        return reports.checkdrive(facts, status)
    if report == "atip":
        if not status.medium:             # cdrecord's words; the drive block first
            sys.stdout.write(reports.checkdrive(facts, status))
            raise BurnError(f"{status.device}: No disk / Wrong disk!", errors.NO_MEDIUM)
        return reports.atip(facts, status, status.profile_info.name)
    if report == "prcap":
        return reports.prcap(drive.capabilities(), query.profile_names(status))
    if report == "msinfo":
        return dialect_msinfo(drive, status, args, request)
    try:
        return reports.toc(_toc_tracks(drive, status))
    except ScsiError:
        raise BurnError(f"{status.device}: Cannot read TOC/PMA (the disc is blank)",
                        errors.NO_SESSION) from None


def _toc_tracks(drive, status):
    """READ TOC on sequential media; an overwritable disc shows its grown ISO
    volume as one track (there is no TOC on it)."""
    from .dialects import query
    if status.profile_info.overwritable:
        if not status.recorded_end:
            raise BurnError(f"{status.device}: Cannot read TOC/PMA (no ISO 9660 volume on "
                            f"the {status.profile_info.name})", errors.NO_SESSION)
        return [(1, 0), (0xAA, status.recorded_end)]
    return query.toc_tracks(drive)


def dialect_msinfo(drive, status, args, request):
    """cdrecord -msinfo: byte for byte what cdrecord prints (and msifile=)."""
    from .dialects import reports
    if request.dialect in ("xorrecord", "cdrskin") and status.profile_info.overwritable \
            and not request.grow_overwritable:
        raise BurnError(f"{status.device}: the {status.profile_info.name} counts as blank "
                        "for xorrecord: add --grow_overwriteable_iso to continue its ISO "
                        "volume", errors.NO_SESSION)
    start, nwa = recorder.msinfo(drive, status)
    if request.msifile:
        try:
            with open(request.msifile, "w") as f:
                f.write(f"{start},{nwa}")
        except OSError as exc:
            raise BurnError(f"msifile={request.msifile}: {exc.strerror}",
                            errors.OUTPUT) from None
    return reports.msinfo(start, nwa, request.verbose)


def cmd_drive_list(args, request):
    """-scanbus / --devices: the drives, as cdrecord and wodim list them."""
    from .discovery import candidate_devices
    from .dialects import devaddr, query, reports
    devices = args.device or candidate_devices()[0]
    rows, bus_lines = [], {}
    for node in devices:
        try:
            drive = cli_common.open_drive(node, write=False)
        except BurnError:
            continue                       # cdrecord lists the drives it can open
        try:
            facts = query.inquiry_facts(drive)
        finally:
            drive.t.close()
        path = node[4:] if node.startswith("sim:") else node
        rows.append((node, reports.permissions(os.stat(path).st_mode), facts))
        address = devaddr.address_of(node) if not node.startswith("sim:") else None
        bus = address[0] if address else node
        bus_lines.setdefault(bus, []).append(
            reports.scanbus_line(address, address[0] * 100 + address[1], facts) if address
            else f"\t{node}\t  0) '{facts['vendor']}' '{facts['product']}' "
                 f"'{facts['revision']}' Removable CD-ROM\n")
    if request.reports[0] == "devices":
        sys.stdout.write(reports.devices(rows, request.dialect))
    else:
        for bus, lines in bus_lines.items():
            sys.stdout.write((f"scsibus{bus}:\n" if isinstance(bus, int) else "") +
                             "".join(lines))
    return 0
