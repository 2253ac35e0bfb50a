"""``isofuse info``: what an image holds (descriptors, extensions, boot
entries, sessions) -- the HOWTO's "CD-info", as text or JSON."""

import json
import sys

from ..reader import ReaderError, ReadOptions, open_image


def add_parser(sub):
    p = sub.add_parser("info", help="describe an image or disc", allow_abbrev=False,
                       description="Show the volume descriptors (volume id, publisher, "
                                   "preparer, application, dates, sizes), the extensions "
                                   "in use, El Torito boot entries and the sessions of an "
                                   "ISO 9660 image or disc.")
    p.add_argument("image", help="ISO image file or block device")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--session", type=int, help="describe session N (0 = the first)")
    p.add_argument("--sbsector", type=int, help="describe the session at sector S")
    p.set_defaults(run=run)


def _text(info):
    lines = [f"Image:        {info['image']} ({info['image_bytes']} bytes)"]
    sessions = info["sessions"]
    lines.append(f"Sessions:     {len(sessions)} (starting at sectors "
                 f"{', '.join(map(str, sessions))}); shown: the one at "
                 f"{info['session_start']}")
    lines.append(f"Extensions:   {', '.join(info['extensions']) or 'none (plain ISO 9660)'}")
    lines.append(f"Tree shown:   {info['tree']}")
    for key, title in (("primary", "Primary volume descriptor"),
                       ("joliet", "Joliet volume descriptor"),
                       ("enhanced", "ISO 9660:1999 enhanced descriptor")):
        desc = info[key]
        if desc is None:
            continue
        lines.append("")
        lines.append(title + ":")
        for field, label in (("volume_id", "Volume id"), ("system_id", "System id"),
                             ("volume_set_id", "Volume set id"),
                             ("publisher", "Publisher"), ("preparer", "Data preparer"),
                             ("application", "Application"),
                             ("copyright_file", "Copyright file"),
                             ("abstract_file", "Abstract file"),
                             ("bibliographic_file", "Bibliographic file"),
                             ("created", "Created"), ("modified", "Modified"),
                             ("expires", "Expires"), ("effective", "Effective")):
            if desc.get(field):
                lines.append(f"  {label + ':':20} {desc[field]}")
        lines.append(f"  {'Volume size:':20} {desc['volume_space_size']} sectors "
                     f"({desc['volume_space_size'] * desc['logical_block_size']} bytes)")
        lines.append(f"  {'Path table size:':20} {desc['path_table_size']} bytes")
    boot = info["boot"]
    if boot:
        lines.append("")
        lines.append(f"El Torito boot catalog at sector {boot['catalog_sector']}"
                     + (f" ({boot['id']})" if boot["id"] else "") + ":")
        for i, e in enumerate(boot["entries"]):
            lines.append(f"  entry {i}: platform {e['platform']}, "
                         f"{'bootable' if e['bootable'] else 'not bootable'}, "
                         f"{e['media']}, load segment 0x{e['load_segment']:04x}, "
                         f"{e['sector_count']} x 512 bytes at sector {e['load_rba']}")
    for warning in info["warnings"]:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def run(args):
    options = ReadOptions(session=args.session, sbsector=args.sbsector)
    try:
        with open_image(args.image, options) as image:
            info = image.info()
    except ReaderError as exc:
        print(f"isofuse info: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(_text(info))
    return 0
