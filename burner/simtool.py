"""``python3 -m burner.simtool``: create and inspect simulated discs.

    python3 -m burner.simtool create PATH --profile cd-rw [--capacity N]
        [--unformatted] [--read-only-drive] [--not-mmc] [--speed KBS]
        [--fault NAME=VALUE ...] [--image ISO]
    python3 -m burner.simtool show PATH
    python3 -m burner.simtool set PATH [--fault NAME=VALUE ...] [--clear-faults]
        [--insert] [--remove]

Faults: underrun_at=LBA, medium_error_at=LBA, power_calibration=1,
remove_at=LBA, long_write=EVERY:COUNT, corrupt_at=LBA.
"""

import argparse
import json
import sys
from dataclasses import asdict

from . import simstate
from .profiles import BY_NAME


def _faults(items):
    out = {}
    for item in items or ():
        key, _, value = item.partition("=")
        if key == "long_write":
            every, _, count = value.partition(":")
            out[key] = [int(every), int(count or 1)]
        else:
            out[key] = int(value)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m burner.simtool",
                                description="Create and inspect simulated discs (sim:PATH).")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("path")
    c.add_argument("--profile", default="cd-r", choices=sorted(BY_NAME))
    c.add_argument("--capacity", type=int, help="sectors of 2048 bytes")
    c.add_argument("--unformatted", action="store_true",
                   help="DVD+RW/BD-RE that needs FORMAT UNIT first")
    c.add_argument("--read-only-drive", action="store_true")
    c.add_argument("--not-mmc", action="store_true", help="a device that is no MMC drive")
    c.add_argument("--speed", type=int, default=0, help="throttle in kB/s (0 = none)")
    c.add_argument("--fault", action="append")
    c.add_argument("--image", help="a closed disc holding this image")
    s = sub.add_parser("show")
    s.add_argument("path")
    t = sub.add_parser("set")
    t.add_argument("path")
    t.add_argument("--fault", action="append")
    t.add_argument("--clear-faults", action="store_true")
    t.add_argument("--insert", action="store_true")
    t.add_argument("--remove", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "create":
        rewritable = BY_NAME[args.profile] in (0x1A, 0x43)
        simstate.create(args.path, args.profile, args.capacity,
                        formatted=rewritable and not args.unformatted,
                        drive_writes=not args.read_only_drive,
                        kind="disk" if args.not_mmc else "mmc", speed_kbs=args.speed,
                        faults=_faults(args.fault), image=args.image)
    elif args.cmd == "set":
        state = simstate.load(args.path)
        if args.clear_faults:
            state.faults = {}
        state.faults.update(_faults(args.fault))
        if args.insert:
            state.medium = True
        if args.remove:
            state.medium = False
        simstate.save(args.path, state)
    else:
        print(json.dumps(asdict(simstate.load(args.path)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
