"""What cdrecord prints for -msinfo, -toc, -atip, -checkdrive, -inq, -prcap,
-scanbus and --devices, made from drive facts (pure functions: text only).

Layouts follow cdrecord/wodim (wodim.c print_msinfo, print_toc, print_track;
scsi_mmc.c) so that their parsers keep working:

* -msinfo: ``"%d,%d\\n"`` (start of the last session's first track, next
  writable address); with -v first ``"session offset: %d\\n"``.  K3b's
  K3b::MsInfoFetcher splits the first line of stdout at the comma; mkisofs
  -C takes the same text.
* -atip: K3b and Brasero scripts and shell scripts look for ``Is erasable`` /
  ``Is not erasable``, ``ATIP start of lead out: N (mm:ss/ff)`` and
  ``Disk type:`` (a disc is in the drive); Brasero's cdrecord plugin reacts to
  ``Disk sub type: Ultra High speed+``, which is never printed here.  ATIP
  itself (READ TOC format 0100b) is not read: the lead-out is the medium's
  capacity from READ TRACK INFORMATION, and the lines cdrecord takes from
  ATIP alone (writing power, lead-in, manufacturer) are left out, as cdrskin
  does.
* -toc: ``first: F last L`` then ``track:   N lba: ... (...) mm:ss:ff adr: 1
  control: 4 mode: 1`` and ``track:lout`` for the lead-out.
"""

CD_MSF_OFFSET = 150          # MSF 00:02:00 is LBA 0 (MMC-6 §4.2.3.6 / Red Book)
NEGATIVE_MSF_OFFSET = 450150  # lead-in LBAs count down from MSF 100:00:00


def msf(lba):
    """(minutes, seconds, frames) of a CD address as cdrecord prints it."""
    value = lba + (CD_MSF_OFFSET if lba >= 0 else NEGATIVE_MSF_OFFSET)
    return value // 4500, value // 75 % 60, value % 75


def msinfo(start, nwa, verbose=0):
    """cdrecord -msinfo, byte for byte."""
    return (f"session offset: {start}\n" if verbose else "") + f"{start},{nwa}\n"


def _track_line(number, lba, mode):
    m, s, f = msf(lba)
    head = "track:lout " if number == 0xAA else f"track: {number:3d} "
    return (f"{head}lba: {lba:9d} ({lba * 4:9d}) {m:02d}:{s:02d}:{f:02d} adr: 1 "
            f"control: 4 mode: {mode}\n")


def toc(tracks):
    """cdrecord -toc from READ TOC format 0 descriptors [(track, lba), ...]
    with the lead-out (AAh) last."""
    numbered = [(n, lba) for n, lba in tracks if n != 0xAA]
    lead_out = [lba for n, lba in tracks if n == 0xAA]
    out = f"first: {numbered[0][0]} last {numbered[-1][0]}\n"
    for number, lba in numbered:
        out += _track_line(number, lba, 1)
    for lba in lead_out:
        out += _track_line(0xAA, lba, -1)
    return out


DEVICE_TYPES = {5: "CD-ROM", 0: "Disk", 7: "Optical Storage"}


def inquiry(facts):
    """The drive block cdrecord prints before -checkdrive, -atip and -inq."""
    kind = DEVICE_TYPES.get(facts["type"], f"type {facts['type']}")
    return (f"Device type    : {'Removable ' if facts['removable'] else ''}{kind}\n"
            f"Version        : {facts['version']}\n"
            f"Response Format: {facts['response_format']}\n"
            f"Vendor_info    : '{facts['vendor']}'\n"
            f"Identification : '{facts['product']}'\n"
            f"Revision       : '{facts['revision']}'\n")


def checkdrive(facts, status):
    """-checkdrive: the inquiry block, then the driver flags and the write
    modes isofuse-burn uses with this drive."""
    flags = "MMC-3" + (" BURNFREE" if status.underrun_free else "")
    modes = ["TAO"]
    if any(p in (0x11, 0x14, 0x15) for p in status.writable_profiles):
        modes.append("SAO")
    return inquiry(facts) + (f"Driver flags   : {flags}\n"
                             f"Supported modes: {' '.join(modes)}\n")


def atip(facts, status, profile_name):
    """-atip: the drive, then what is known of the medium (see the module text)."""
    out = checkdrive(facts, status) + f"Current: {profile_name}\n"
    if status.profile_info.family != "cd":
        return out + f"Mounted media type: {profile_name}\n" + _blocks(status)
    erasable = status.disc is not None and status.disc.erasable
    out += "ATIP info from disk:\n"
    out += f"  Is {'' if erasable else 'not '}erasable\n"
    if status.capacity_blocks:
        m, s, f = msf(status.capacity_blocks)
        out += f"  ATIP start of lead out: {status.capacity_blocks} ({m:02d}:{s:02d}/{f:02d})\n"
    out += ("Disk type:    Phase change\n" if erasable
            else "Disk type:    write once (dye type not read)\n")
    return out + _blocks(status)


def _blocks(status):
    total = status.capacity_blocks
    if not total:
        return ""
    free = status.free_blocks if status.next_writable is not None or \
        status.profile_info.overwritable else 0
    return f"Blocks total: {total} Blocks current: {total} Blocks remaining: {free}\n"


def prcap(caps, profiles):
    """-prcap: MODE SENSE page 2Ah (MMC-3 §5.5.10) as cdrecord lists it."""
    out = "Drive capabilities, per MMC-3 page 2A:\n\n"
    for medium in ("CD-R", "CD-RW", "DVD-ROM", "DVD-R", "DVD-RAM"):
        out += f"  Does {'' if medium in caps.reads else 'not '}read {medium} media\n"
        if medium != "DVD-ROM":
            out += f"  Does {'' if medium in caps.writes else 'not '}write {medium} media\n"
    out += f"  Does {'' if caps.test_write else 'not '}support test writing\n\n"
    out += f"  Does {'' if caps.underrun_protection else 'not '}support Buffer-Underrun-Free " \
           "recording\n"
    out += f"  Does {'' if caps.eject else 'not '}support ejection of CD via START/STOP " \
           "command\n"
    out += f"\n  Buffer size in KB: {caps.buffer_kb}\n"
    if caps.max_write_kbs:
        out += (f"  Maximum write speed: {caps.max_write_kbs:5d} kB/s (CD "
                f"{caps.max_write_kbs // 176:3d}x, DVD {caps.max_write_kbs // 1385:2d}x)\n")
    if profiles:
        out += "\nSupported profiles according to MMC-4 feature 0x0000:\n"
        out += "".join(f"  {name}\n" for name in profiles)
    return out


def scanbus_line(address, number, facts):
    bus, target, lun = address
    return (f"\t{bus},{target},{lun}\t{number:3d}) '{facts['vendor']}' "
            f"'{facts['product']}' '{facts['revision']}' Removable CD-ROM\n")


def devices(rows, program):
    """--devices: wodim's overview (xorrecord/cdrskin: their one-line form)."""
    if program in ("xorrecord", "cdrskin"):
        return "".join(f"{i}  -dev '{node}' {perms} :  '{facts['vendor'].strip()}' "
                       f"'{facts['product'].strip()}' \n"
                       for i, (node, perms, facts) in enumerate(rows))
    line = "-" * 73 + "\n"
    out = f"{program}: Overview of accessible drives ({len(rows)} found) :\n" + line
    for i, (node, perms, facts) in enumerate(rows):
        out += (f"{i:2d}  dev='{node}'\t{perms} : '{facts['vendor'].strip()}' "
                f"'{facts['product'].strip()}'\n")
    return out + line


def permissions(mode):
    """rwrw--: read/write for owner, group, others (as wodim --devices shows)."""
    bits = [(0o400, "r"), (0o200, "w"), (0o040, "r"), (0o020, "w"), (0o004, "r"), (0o002, "w")]
    return "".join(ch if mode & bit else "-" for bit, ch in bits)


def version(program, release):
    # K3b takes the first number after "Cdrecord", "Wodim" or "growisofs" as
    # the version and enables features by it (k3bdefaultexternalprograms.cpp)
    name = {"wodim": "Wodim 1.1.11", "growisofs": "growisofs 7.1"}.get(
        program, "Cdrecord-Clone 2.01")
    return (f"{name} (isofuse-burn {release} emulation: data discs only)\n"
            "Copyright (C) the isofuse authors (GPL-3.0-or-later)\n")


CDRECORD_USAGE = """\
Usage: {name} [options] track
isofuse-burn's {name} command line: one data track (an image, a folder or - for
standard input) per run.  README.md has the table of every option.
Options:
\t-version\tprint version information and exit
\tdev=target\tthe drive: /dev/srN, /dev/sgN, sim:PATH or bus,target,lun
\tgracetime=#\tseconds to wait before the first write (a countdown)
\ttimeout=#\taccepted (every command has its own timeout)
\t-v -V -s\tverbosity (-v adds 'session offset:' to -msinfo)
\tdriveropts=opt\tburnfree or noburnfree (buffer underrun protection)
\t-checkdrive -inq -prcap -atip -toc -msinfo  print drive, disc and session facts
\tmsifile=path\tsave the -msinfo numbers in a file
\t-scanbus --devices\tlist the drives
\t-dummy\t\ta test write: the laser stays off
\t-multi\t\tleave the disc appendable; -fix closes what an aborted write left open
\t-nofix\t\tas -multi (the session is always closed)
\t-waiti\t\twait for standard input before opening the drive
\t-immed minbuf=#\taccepted
\t-force\t\taccepted (overrides nothing)
\t-tao -sao -dao\twrite type: CD track- or session-at-once (SAO: blank CD), DVD-R DAO
\t-eject\t\teject the disc after writing
\tspeed=#\t\twrite speed as N x of the medium
\tblank=type\tfast, all, session, track, unclose, as_needed, format_overwrite (blank=help)
\tfs=# tsize=#\tbuffer size (accepted), track size (b k m g s)
\t-overburn\twrite beyond the disc's nominal size
\t-data -xa -xa1\tdata track: mode 1, or mode 2 form 1 (CD-ROM XA, CD only)
\t-pad padsize=# -nopad\tzeros after the track
"""
XORRECORD_EXTRA = """\
\t--grow_overwriteable_iso\tgrow the ISO volume on DVD+RW, BD-RE, DVD-RW RO
\t--multi_if_possible\t-multi where the disc can take more sessions
"""
GROWISOFS_USAGE = """\
Usage: growisofs [-dry-run] [-dvd-compat] [-overburn] [-speed=1] -[Z|M] /dev/dvd <mkisofs options>
isofuse-burn's growisofs command line; the mkisofs options are isofuse master's.
  -Z /dev/dvd ...\tan initial session       -Z /dev/dvd=image.iso\ta prepared image
  -M /dev/dvd ...\tmerge a new session      -dvd-compat\tclose the disc
  -M /dev/dvd=/dev/zero\tclose an appendable disc without writing
  -dry-run\t\tcheck everything, write nothing (with -print-size: the size)
  -use-the-force-luke=dao,tty,notray,noload,dummy,tracksize:N,bufsize:N
README.md has the table of every option.
"""


def usage(program, dialect):
    if dialect == "growisofs":
        return GROWISOFS_USAGE
    text = CDRECORD_USAGE.format(name=program)
    return text + (XORRECORD_EXTRA if dialect in ("xorrecord", "cdrskin") else "")
