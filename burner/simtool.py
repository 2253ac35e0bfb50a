"""``python3 -m burner.simtool``: create, change and inspect simulated discs.

    python3 -m burner.simtool create PATH --profile cd-rw [--capacity N]
        [--unformatted] [--drive writer|writer-pow|rom|combo] [--not-mmc] [--speed KBS]
        [--fault NAME=VALUE ...] [--image ISO] [--group GROUP]
    python3 -m burner.simtool show PATH
    python3 -m burner.simtool set PATH [--fault NAME=VALUE ...] [--clear-faults]
        [--insert] [--remove] [--reset] [--power-cycle]

What each fault and state field does: docs/simulated-drive.md.
"""

import argparse
import grp
import json
import os
import sys
from dataclasses import asdict

from . import simstate
from .profiles import BY_NAME

FAULTS = {
    "underrun_at": "LBA: the WRITE covering LBA fails 3/0C/09 (buffer underrun)",
    "medium_error_at": "LBA: the WRITE covering LBA fails 3/0C/00 (write error)",
    "power_calibration": "1: the first WRITE fails 3/73/03 (power calibration)",
    "remove_at": "LBA: the disc is taken out while LBA is written (2/3A/00; track damaged)",
    "long_write": "EVERY:COUNT: every EVERY-th WRITE answers 2/04/08 COUNT times",
    "corrupt_at": "LBA: LBA is stored with one byte flipped, silently",
    "reset_at": "LBA: a bus reset while LBA is written: 6/29/00, buffer lost, track damaged",
    "read_error_at": "LBA[:COUNT]: READ of LBA fails 3/11/00 COUNT times, then reads "
                     "(no COUNT: always); may be given more than once",
    "deferred_error_at": "LBA: the WRITE is taken, the next command gets a deferred "
                         "3/0C/00 (response code 71h) for LBA; track damaged",
    "ready_polls": "N: media commands answer 2/04/01 N times after a load (default 2)",
}


def _int(text, name):
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f"--fault {name}: {text!r} is not a number") from None


def _faults(items):
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if key not in FAULTS or not sep:
            raise ValueError(f"--fault {item!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(sorted(FAULTS))}")
        if key == "long_write":
            every, _, count = value.partition(":")
            out[key] = [_int(every, key), _int(count or "1", key)]
        elif key == "read_error_at":
            lba, _, count = value.partition(":")
            out.setdefault(key, []).append([_int(lba, key), _int(count or "-1", key)])
        else:
            out[key] = _int(value, key)
    return out


def _fault_help():
    return "faults (--fault NAME=VALUE):\n" + "\n".join(
        f"  {name:18} {text}" for name, text in FAULTS.items())


def _parser():
    p = argparse.ArgumentParser(prog="python3 -m burner.simtool",
                                description="Create and inspect simulated discs (sim:PATH).",
                                epilog=_fault_help(),
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", epilog=_fault_help(), allow_abbrev=False,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("path")
    c.add_argument("--profile", default="cd-r", choices=sorted(BY_NAME))
    c.add_argument("--capacity", type=int, help="sectors of 2048 bytes")
    c.add_argument("--unformatted", action="store_true",
                   help="DVD+RW/BD-RE/DVD-RW restricted overwrite that needs FORMAT UNIT")
    c.add_argument("--drive", choices=simstate.DRIVE_KINDS, default=None,
                   help="writer: all formats (default); writer-pow: the same and BD-R "
                        "pseudo-overwrite (feature 0038h); rom: DVD-ROM drive; "
                        "combo: reads DVD, writes CD")
    c.add_argument("--read-only-drive", action="store_true", help="the same as --drive rom")
    c.add_argument("--not-mmc", action="store_true", help="a device that is no MMC drive")
    c.add_argument("--speed", type=int, default=0, help="throttle in kB/s (0 = none)")
    c.add_argument("--fault", action="append", metavar="NAME=VALUE")
    c.add_argument("--image", help="a closed disc holding this image")
    c.add_argument("--group", help="give both files to this group, mode 0660 "
                                   "(e.g. cdrom: its members can burn without root)")
    s = sub.add_parser("show", allow_abbrev=False)
    s.add_argument("path")
    t = sub.add_parser("set", epilog=_fault_help(), allow_abbrev=False,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("path")
    t.add_argument("--fault", action="append", metavar="NAME=VALUE")
    t.add_argument("--clear-faults", action="store_true")
    t.add_argument("--insert", action="store_true",
                   help="put the disc in: 6/28/00, then becoming ready")
    t.add_argument("--remove", action="store_true")
    t.add_argument("--reset", action="store_true", help="a bus reset: 6/29/00 next")
    t.add_argument("--power-cycle", action="store_true",
                   help="power lost and back: an open track is damaged, 6/29/00")
    return p


def _share_with_group(path, group):
    gid = grp.getgrnam(group).gr_gid
    for name in (path, simstate.state_path(path)):
        os.chown(name, -1, gid)
        os.chmod(name, 0o660)


def _create(args):
    profile = BY_NAME[args.profile]
    drive = args.drive or ("rom" if args.read_only_drive else "writer")
    rewritable = profile in (0x13, 0x1A, 0x43)
    simstate.create(args.path, args.profile, args.capacity,
                    formatted=rewritable and not args.unformatted, drive=drive,
                    kind="disk" if args.not_mmc else "mmc", speed_kbs=args.speed,
                    faults=_faults(args.fault), image=args.image)
    if args.group:
        _share_with_group(args.path, args.group)


def _set(args):
    state = simstate.load(args.path)
    if args.clear_faults:
        state.faults, state.read_faults_left = {}, {}
    state.faults.update(_faults(args.fault))
    if args.remove:
        state.medium = False
    if args.insert:
        simstate.load_disc(state)
    if args.reset:
        simstate.attend(state, "reset")
    if args.power_cycle:
        simstate.power_cycle(state)
    simstate.save(args.path, state)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "create":
            _create(args)
        elif args.cmd == "set":
            _set(args)
        else:
            print(json.dumps(asdict(simstate.load(args.path)), indent=1))
    except FileNotFoundError as exc:
        print(f"simtool: {exc.filename}: no such file (no simulated disc there?)",
              file=sys.stderr)
        return 1
    except KeyError as exc:
        print(f"simtool: no group {exc.args[0]!r}", file=sys.stderr)
        return 1
    except (simstate.StateError, ValueError) as exc:
        print(f"simtool: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"simtool: {exc.filename or args.path}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
