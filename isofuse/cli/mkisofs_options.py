"""The options of ``isofuse master``: every spelling mkisofs, genisoimage and
xorrisofs document, with how many arguments follow it and what it sets.

One table, read by the parser (isofuse.cli.mkisofs_args), by ``--help`` and
by the README's option table.  Spelling rules (xorrisofs 1.5, checked
against ``xorriso -as mkisofs``): a multi-letter option written with one dash
may also be written with two (``-output``, ``--output``); a one-letter option
only with one (``-o``, never ``--o``); values are the next arguments, never
glued to a one-letter option (``-oFILE`` is an error); multi-letter options
with one value also take ``-NAME=VALUE`` (genisoimage does, and the Linux
kernel's genimage.sh writes ``-input-charset=utf-8``); ``--modification-date``
only as ``--modification-date=VALUE`` (xorrisofs).  Options that exist
only with two dashes (``--md5``, ``--grub2-mbr``) are listed with them.
"""

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

# What an option does with its arguments (see mkisofs_args.apply).
TRUE = "true"          # settings[dest] = True
CONST = "const"        # settings[dest] = const
STORE = "store"        # settings[dest] = convert(value) (the last one wins)
APPEND = "append"      # settings[dest].append(convert(value or values))
BOOT = "boot"          # an El Torito word: the entry builder takes it (const: its kind)
HELP = "help"
VERSION = "version"
REFUSED = "refused"    # an error naming the reason


class ValueProblem(ValueError):
    """A value an option cannot take; the message says what it wants."""


def integer(text):
    try:
        return int(text, 0)
    except ValueError:
        raise ValueProblem("a number") from None


def decimal(text):
    try:
        return int(text, 10)
    except ValueError:
        raise ValueProblem("a decimal number") from None


def octal_mode(text):
    try:
        mode = int(text, 8)
    except ValueError:
        raise ValueProblem("an octal mode like 0755") from None
    if not 0 <= mode <= 0o7777:
        raise ValueProblem("an octal mode of at most 4 digits (0000-7777)")
    return mode


def iso_level(text):
    if text not in ("1", "2", "3", "4"):
        raise ValueProblem("1, 2, 3 or 4")
    return int(text)


def owner_id(kind):
    """A uid or gid: a number or a name of this system (genisoimage takes both)."""
    def convert(text):
        if text.isdigit():
            return int(text)
        import grp
        import pwd
        try:
            return pwd.getpwnam(text).pw_uid if kind == "user" else grp.getgrnam(text).gr_gid
        except KeyError:
            raise ValueProblem(f"a number or a {kind} name of this system") from None
    return convert


def single_volume(text):
    """-volset-size / -volset-seqno: only 1 (ECMA-119 §8.4.10-11 as written:
    one volume in its set; K3b 0.11 passes "-volset-size 1 -volset-seqno 1")."""
    if text.strip() != "1":
        raise ValueProblem("1: volume sets of more than one volume are not made")
    return 1


def load_size(text):
    """-boot-load-size N|full ("full": the whole image, the mkisofs default)."""
    if text == "full":
        return None
    size = integer(text)
    if not 1 <= size <= 65535:      # El Torito: a 16-bit sector count
        raise ValueProblem("a count of 512-byte sectors from 1 to 65535, or 'full'")
    return size


def modification_date(text):
    if len(text) != 16 or not text.isdigit() or not "1970" <= text[:4] <= "2999":
        raise ValueProblem("16 digits YYYYMMDDhhmmsscc (GMT), year 1970-2999")
    return text


def append_partition(values):
    number, kind, path = values
    if number not in ("1", "2", "3", "4", "5", "6", "7", "8"):
        raise ValueProblem("a partition NUMBER 1-8, a TYPE (0xNN or a GUID) and a FILE")
    return (int(number), kind, path)


def sort_weight(values):
    weight, path = values
    return (integer(weight), path)


def volume_date(values):
    """-volume_date KIND TIME as xorriso documents it: uuid takes 16 digits
    (recorded literally, hundredths too); c, m, x, f also take =SECONDS
    and "default" (None: c and m the time of mastering, x and f unset)."""
    kind, when = values
    if kind not in ("c", "m", "x", "f", "uuid"):
        raise ValueProblem("c, m, x, f or uuid and a time (YYYYMMDDhhmmsscc)")
    if kind != "uuid" and when in ("default", "overridden"):
        return (kind, None)
    if kind != "uuid" and when.startswith("=") and when[1:].isdigit():
        return (kind, int(when[1:]))
    try:
        return (kind, modification_date(when))
    except ValueProblem:
        if kind == "uuid":
            raise
        raise ValueProblem("a time YYYYMMDDhhmmsscc (GMT), =SECONDS or default") from None


@dataclass(frozen=True)
class OptionSpec:
    names: Tuple[str, ...]              # the spellings as documented
    action: str
    dest: Optional[str] = None
    nargs: int = 0
    convert: Optional[Callable] = None  # takes the value (nargs 1) or the tuple
    const: object = None
    metavar: str = ""
    help: str = ""
    group: str = ""
    equals: bool = False                # only as --NAME=VALUE

    @property
    def spellings(self):
        """Every accepted spelling: multi-letter one-dash names with two too."""
        out = []
        for name in self.names:
            out.append(name)
            if not name.startswith("--") and len(name) > 2:
                out.append("-" + name)
        return out


def _o(names, action, dest=None, nargs=0, convert=None, const=None, metavar="", help="",
       group="", equals=False):
    return OptionSpec(tuple(names.split()), action, dest, nargs, convert, const, metavar,
                      help, group, equals)


def _refused(names, reason, group="refused"):
    return OptionSpec(tuple(names.split()), REFUSED, help=reason, group=group)


OUTPUT, EXT, NAMES, VOLUME, FILES, BOOT_G, HYBRID, SESSION = (
    "output", "Rock Ridge and Joliet", "ISO 9660 names", "volume", "which files, and how",
    "El Torito boot", "hybrid (disk) booting and checksums", "multisession")

NO_UDF = "UDF is not implemented: isofuse writes ISO 9660 with Rock Ridge and Joliet"
NO_HFS = "HFS and HFS+ hybrids (Apple) are not implemented"
NO_JIGDO = "jigdo files are not produced"
NO_ARCH = "boot blocks for this architecture are not implemented (x86 BIOS and EFI are)"
NO_XA = "CD-ROM XA attributes and other sector types are not written"

OPTIONS = (
    # ---- output ----
    _o("-o -output", STORE, "output", 1, metavar="FILE",
       help="write the image to FILE ('-' for standard output)", group=OUTPUT),
    _o("-print-size", TRUE, "print_size",
       help="print the image size in 2048-byte sectors and write nothing", group=OUTPUT),
    _o("-quiet -q", TRUE, "quiet", help="no progress and no warnings", group=OUTPUT),
    _o("-v -verbose", TRUE, "verbose",
       help="say what is done: sources, excluded files, the size", group=OUTPUT),
    _o("-pad", CONST, "pad", const=True,
       help="150 sectors (300 KiB) of padding at the end (the default)", group=OUTPUT),
    _o("-no-pad", CONST, "pad", const=False, help="no padding at the end", group=OUTPUT),
    _o("-skip-unreadable", TRUE, "skip_unreadable",
       help="leave out files and folders that cannot be read (default: stop)", group=OUTPUT),
    _o("--no-emul-toc", TRUE, "no_emul_toc",
       help="no emulated multisession table of contents (isofuse never writes one)",
       group=OUTPUT),
    _o("-gui", TRUE, "gui", help="accepted: messages are the same", group=OUTPUT),
    _o("--no_rc", TRUE, "no_rc", help="accepted: isofuse reads no startup files",
       group=OUTPUT),
    _o("-help", HELP, help="this help", group=OUTPUT),
    _o("-version", VERSION, help="the version of isofuse", group=OUTPUT),
    # ---- Rock Ridge, Joliet ----
    _o("-R -rock", CONST, "rock", const="keep",
       help="Rock Ridge with owners and modes as they are", group=EXT),
    _o("-r -rational-rock", CONST, "rock", const="rationalized",
       help="Rock Ridge with owner 0 and modes made sensible (readable by all)", group=EXT),
    _o("--norock", CONST, "rock", const=None, help="no Rock Ridge", group=EXT),
    _o("-rrip-1.12", TRUE, "rrip_112",
       help="Rock Ridge 1.12: file serial numbers, so hard links stay links", group=EXT),
    _o("--hardlinks", TRUE, "rrip_112", help="same as -rrip-1.12", group=EXT),
    _o("-J -joliet", TRUE, "joliet", help="add a Joliet tree (Windows names)", group=EXT),
    _o("-joliet-long", TRUE, "joliet_long",
       help="103-character Joliet names (not in the Joliet spec)", group=EXT),
    _o("-T -translation-table", TRUE, "trans_tbl",
       help="a TRANS.TBL in every folder: ISO 9660 name and original name", group=EXT),
    _o("-table-name", STORE, "table_name", 1, metavar="NAME",
       help="the name of the -T tables (implies -T; default TRANS.TBL)", group=EXT),
    _o("-hide-joliet-trans-tbl", TRUE, "hide_joliet_trans_tbl",
       help="leave the -T tables out of the Joliet tree", group=EXT),
    _o("-input-charset", STORE, "input_charset", 1, metavar="CHARSET",
       help="the charset of the source file names (default UTF-8)", group=EXT),
    _o("-output-charset", STORE, "output_charset", 1, metavar="CHARSET",
       help="the charset of the Rock Ridge names (default UTF-8)", group=EXT),
    _o("-jcharset", STORE, "jcharset", 1, metavar="CHARSET",
       help="-input-charset CHARSET and -J (genisoimage)", group=EXT),
    # ---- ISO 9660 names ----
    _o("-iso-level", STORE, "level", 1, iso_level, metavar="LEVEL",
       help="1: 8.3 names; 2, 3: 31 characters (3 allows files of 4 GiB and more); "
            "4: ISO 9660:1999, 207 characters (default 1)", group=NAMES),
    _o("-N -omit-version-number", TRUE, "no_version", help="no ';1' after file names",
       group=NAMES),
    _o("-d -omit-period", TRUE, "omit_period", help="no '.' after names without an extension",
       group=NAMES),
    _o("-allow-lowercase", TRUE, "lowercase", help="keep lower case (violates ISO 9660)",
       group=NAMES),
    _o("-relaxed-filenames", TRUE, "relaxed",
       help="all printable ASCII characters (violates ISO 9660)", group=NAMES),
    _o("-U -untranslated-filenames", TRUE, "untranslated",
       help="names as given, as far as possible", group=NAMES),
    _o("-L -allow-leading-dots -ldots", TRUE, "leading_dots", help="keep a leading '.'",
       group=NAMES),
    _o("-l -full-iso9660-filenames", TRUE, "full_31", help="31-character names at level 1",
       group=NAMES),
    _o("-allow-multidot", TRUE, "multidot",
       help="keep the dots of file names (a.tar.gz, not A_TAR.GZ; violates ISO 9660)",
       group=NAMES),
    _o("-max-iso9660-filenames", TRUE, "max_37",
       help="37-character names (violates ISO 9660)", group=NAMES),
    _o("-D -disable-deep-relocation", CONST, "deep", const="allow",
       help="record folders deeper than 8 levels where they are (violates ISO 9660; "
            "default: move them to rr_moved with Rock Ridge, refuse without)", group=NAMES),
    _o("-drop-deep", CONST, "deep", const="drop",
       help="leave out folders deeper than 8 levels", group=NAMES),
    _o("-hide-rr-moved", TRUE, "hide_rr_moved",
       help="hide the folder of relocated deep folders (Rock Ridge readers never show "
            "it: RRIP RE)", group=NAMES),
    # ---- volume ----
    _o("-V -volid", STORE, "volume_id", 1, metavar="ID", help="volume id (32 characters)",
       group=VOLUME),
    _o("-A -appid", STORE, "application", 1, metavar="ID", help="application id",
       group=VOLUME),
    _o("-P -publisher", STORE, "publisher", 1, metavar="ID", help="publisher id",
       group=VOLUME),
    _o("-p -preparer", STORE, "preparer", 1, metavar="ID", help="data preparer id",
       group=VOLUME),
    _o("-sysid", STORE, "system_id", 1, metavar="ID", help="system id", group=VOLUME),
    _o("-volset", STORE, "volume_set_id", 1, metavar="ID", help="volume set id",
       group=VOLUME),
    _o("-copyright", STORE, "copyright_file", 1, metavar="FILE",
       help="copyright file (a file on the disc)", group=VOLUME),
    _o("-abstract", STORE, "abstract_file", 1, metavar="FILE", help="abstract file",
       group=VOLUME),
    _o("-biblio", STORE, "bibliographic_file", 1, metavar="FILE", help="bibliographic file",
       group=VOLUME),
    _o("-volset-size", STORE, "volset_size", 1, single_volume, metavar="1",
       help="volumes in the volume set: 1 (K3b writes it; more are not made)",
       group=VOLUME),
    _o("-volset-seqno", STORE, "volset_seqno", 1, single_volume, metavar="1",
       help="this volume's number in the set: 1 (more volumes are not made)",
       group=VOLUME),
    _o("--modification-date", STORE, "modification_date", 1, modification_date,
       metavar="YYYYMMDDhhmmsscc", equals=True,
       help="the volume's creation and modification time (GMT)", group=VOLUME),
    _o("-volume_date", APPEND, "volume_dates", 2, volume_date, metavar="c|m|x|f|uuid TIME",
       help="one volume date (creation, modification, expiration, effective; uuid: "
            "creation and modification to the hundredth, as --modification-date)",
       group=VOLUME),
    # ---- which files, and how ----
    _o("-graft-points", TRUE, "graft_points", help="SOURCE may be DISC/PATH=SOURCE",
       group=FILES),
    _o("-path-list", APPEND, "path_lists", 1, metavar="FILE",
       help="more SOURCEs, one a line", group=FILES),
    _o("-f -follow-links", TRUE, "follow_links",
       help="follow symbolic links: record what they point to", group=FILES),
    _o("-m -exclude", APPEND, "exclude", 1, metavar="PATTERN",
       help="leave out files whose name (or, with a '/', path) matches", group=FILES),
    _o("-x -old-exclude", APPEND, "exclude", 1, metavar="PATH", help="same as -m",
       group=FILES),
    _o("-exclude-list", APPEND, "exclude_lists", 1, metavar="FILE",
       help="-m for every line of FILE", group=FILES),
    _o("-no-bak -nobak", TRUE, "no_bak",
       help="leave out backup files (names with '~' or '#', or ending in .bak)", group=FILES),
    _o("-hide", APPEND, "hide", 1, metavar="PATTERN",
       help="not in the ISO 9660 / Rock Ridge tree (the Joliet tree keeps it, with its data)",
       group=FILES),
    _o("-hide-list", APPEND, "hide_lists", 1, metavar="FILE", help="-hide for every line",
       group=FILES),
    _o("-hide-joliet", APPEND, "hide_joliet", 1, metavar="PATTERN",
       help="not in the Joliet tree", group=FILES),
    _o("-hide-joliet-list", APPEND, "hide_joliet_lists", 1, metavar="FILE",
       help="-hide-joliet for every line", group=FILES),
    _o("-cache-inodes", CONST, "cache_inodes", const=True,
       help="files with the same inode share their data (the default)", group=FILES),
    _o("-no-cache-inodes", CONST, "cache_inodes", const=False,
       help="every name gets its own copy of the data", group=FILES),
    _o("-allow-limited-size", TRUE, "allow_limited_size",
       help="files of 4 GiB and more also at ISO levels 1 and 2 (in several extents)",
       group=FILES),
    _o("-sort", STORE, "sort_file", 1, metavar="FILE",
       help="data placement: lines 'PATH WEIGHT', heavier files first", group=FILES),
    _o("--sort-weight", APPEND, "sort_weights", 2, sort_weight, metavar="WEIGHT PATH",
       help="a weight for a path on the disc (and what is below it)", group=FILES),
    _o("-uid", STORE, "uid", 1, owner_id("user"), metavar="UID",
       help="owner of every file (Rock Ridge)", group=FILES),
    _o("-gid", STORE, "gid", 1, owner_id("group"), metavar="GID",
       help="group of every file (Rock Ridge)", group=FILES),
    _o("-file-mode", STORE, "file_mode", 1, octal_mode, metavar="MODE",
       help="permissions of every plain file (Rock Ridge)", group=FILES),
    _o("-dir-mode", STORE, "dir_mode", 1, octal_mode, metavar="MODE",
       help="permissions of every folder (Rock Ridge)", group=FILES),
    _o("-new-dir-mode", STORE, "new_dir_mode", 1, octal_mode, metavar="MODE",
       help="permissions of folders made for graft points (default 0555)", group=FILES),
    # ---- El Torito ----
    _o("-b -eltorito-boot", BOOT, nargs=1, const="bios", metavar="IMAGE",
       help="the boot image of the current entry, for BIOS (a path on the disc)",
       group=BOOT_G),
    _o("-e -efi-boot", BOOT, nargs=1, const="efi", metavar="IMAGE",
       help="the boot image of the current entry, for EFI (a path on the disc, or "
            "--interval:appended_partition_N:all:: for appended partition N)",
       group=BOOT_G),
    _o("--efi-boot", BOOT, nargs=1, const="efi-entry", metavar="IMAGE",
       help="an EFI entry of its own (-eltorito-alt-boot -e IMAGE -no-emul-boot "
            "-eltorito-alt-boot)", group=BOOT_G),
    _o("-eltorito-alt-boot", BOOT, const="alt",
       help="end the current entry; later boot options apply to a new one", group=BOOT_G),
    _o("-eltorito-platform", BOOT, nargs=1, const="platform", metavar="x86|PPC|Mac|efi|N",
       help="platform of the next -b (a different one starts a new entry)", group=BOOT_G),
    _o("-c -eltorito-catalog", STORE, "catalog", 1, metavar="PATH",
       help="path of the boot catalog on the disc (default boot.catalog)", group=BOOT_G),
    _o("-no-emul-boot", BOOT, const="no-emul", help="no emulation (boot loaders)",
       group=BOOT_G),
    _o("-hard-disk-boot", BOOT, const="hard-disk", help="hard disk emulation", group=BOOT_G),
    _o("-no-boot", BOOT, const="no-boot", help="the entry is not bootable", group=BOOT_G),
    _o("-boot-load-size", BOOT, nargs=1, convert=load_size, const="load-size",
       metavar="N|full", help="512-byte sectors to load (default: the whole image)",
       group=BOOT_G),
    _o("-boot-load-seg", BOOT, nargs=1, convert=integer, const="load-seg", metavar="SEG",
       help="load segment", group=BOOT_G),
    _o("-boot-info-table", BOOT, const="info-table",
       help="patch a boot info table into the boot image (ISOLINUX, GRUB)", group=BOOT_G),
    _o("--grub2-boot-info", BOOT, const="grub2-boot-info",
       help="patch the image's address at byte 2548 of the boot image (GRUB2)",
       group=BOOT_G),
    # ---- hybrid ----
    _o("-isohybrid-mbr", STORE, "hybrid_mbr", 1, metavar="FILE",
       help="ISOLINUX isohybrid MBR (isohdpfx.bin): the image boots from a disk too",
       group=HYBRID),
    _o("-isohybrid-gpt-basdat", BOOT, const="gpt-basdat",
       help="the current boot image as a GPT Basic Data partition", group=HYBRID),
    _o("-isohybrid-apm-hfsplus", BOOT, const="apm-hfsplus",
       help="the current boot image in an Apple Partition Map", group=HYBRID),
    _o("-partition_offset", STORE, "partition_offset", 1, decimal, metavar="LBA",
       help="the first partition starts at LBA (16: mountable as a partition)",
       group=HYBRID),
    _o("-append_partition", APPEND, "append_partitions", 3, append_partition,
       metavar="N TYPE FILE",
       help="FILE as partition N (1-4) behind the image; TYPE 0xNN or a GPT type GUID",
       group=HYBRID),
    _o("-appended_part_as_gpt", TRUE, "appended_part_as_gpt",
       help="the appended partitions in GPT (not MBR)", group=HYBRID),
    _o("-efi-boot-part", STORE, "efi_boot_part", 1, metavar="FILE|--efi-boot-image",
       help="FILE as the GPT's EFI system partition, in front of the file data "
            "(--efi-boot-image: the first EFI boot image)", group=HYBRID),
    _o("--mbr-force-bootable", TRUE, "mbr_force_bootable",
       help="an MBR partition marked bootable (0x80) even beside a protective MBR",
       group=HYBRID),
    _o("-iso_mbr_part_type", STORE, "iso_mbr_part_type", 1, metavar="TYPE",
       help="partition type of the ISO partition (0xNN, a GUID or default)", group=HYBRID),
    _o("--grub2-mbr", STORE, "grub2_mbr", 1, metavar="FILE",
       help="GRUB2 boot.img in the system area, patched with the boot image address",
       group=HYBRID),
    _o("-G -generic-boot --embedded-boot", STORE, "system_area_file", 1, metavar="FILE",
       help="the first 32 KiB of FILE as the system area, verbatim", group=HYBRID),
    _o("--md5 -md5", TRUE, "md5",
       help="MD5 checksums of the session and of every file (xorriso -check_md5)",
       group=HYBRID),
    _o("-checksum_algorithm_iso", STORE, "checksum_algorithms", 1, metavar="ALG,...",
       help="with md5 in the list: as --md5 (other algorithms go to jigdo files, which "
            "are not made)", group=HYBRID),
    # ---- multisession ----
    _o("-M -prev-session -dev", STORE, "previous", 1, metavar="IMAGE|DEVICE",
       help="the disc or image whose last session the new one continues", group=SESSION),
    _o("-C -cdrecord-params", STORE, "msinfo", 1, metavar="START,NEXT",
       help="msinfo: start of the last session and the next writable sector; with -M "
            "the output holds only the new session, to be written at NEXT", group=SESSION),
    _o("-append-to", STORE, "append_to", 1, metavar="IMAGE",
       help="grow an image file in place: the new session behind the newest one, where "
            "xorriso's growing puts it", group=SESSION),
    _o("-remove", APPEND, "remove", 1, metavar="PATH",
       help="leave PATH of the previous session out", group=SESSION),
    # ---- refused ----
    _refused("-udf -dvd-video", NO_UDF),
    _refused("-hfs -h -apple -g -hfsplus -map -H -magic -probe -mac-name -no-mac-files "
             "-boot-hfs-file -part -auto -no-desktop -hide-hfs -hide-hfs-list -hfs-volid "
             "-icon-position -root-info -input-hfs-charset -output-hfs-charset -hfs-unlock "
             "-hfs-bless -hfs-bless-by -hfs-parms -hfs-type -hfs-creator -cluster-size "
             "-hide-hfsplus -hide-hfsplus-list -hfsplus-file-creator-type -hfsplus-serial-no "
             "-hfsplus-block-size -apm-block-size -isohybrid-gpt-hfsplus -appended_part_as_apm "
             "--cap --netatalk --double --ethershare --exchange --sgi --macbin --single "
             "--ushare --xinet --dave --sfm --osx-double --osx-hfs", NO_HFS),
    _refused("-jigdo-jigdo -jigdo-template -jigdo-min-file-size -jigdo-force-md5 "
             "-jigdo-force-checksum -jigdo-exclude -jigdo-map -md5-list -checksum-list "
             "-jigdo-checksum-algorithm -jigdo-template-compress "
             "-checksum_algorithm_template", NO_JIGDO),
    _refused("-B -sparc-boot -sparc-label -sunx86-boot -sunx86-label -mips-boot -mipsel-boot "
             "-hppa-cmdline -hppa-kernel-32 -hppa-kernel-64 -hppa-bootloader -hppa-ramdisk "
             "-hppa-hdrversion -alpha-boot --grub2-sparc-core -prep-boot -prep-boot-part "
             "-chrp-boot -chrp-boot-part", NO_ARCH),
    _refused("--protective-msdos-label -part_like_isohybrid "
             "--gpt_disk_guid -partition_sec_hd -partition_hd_cyl -partition_cyl_align",
             "this partition table variant is not implemented (-isohybrid-mbr, "
             "-isohybrid-gpt-basdat, -append_partition and --grub2-mbr are)"),
    _refused("-XA -xa -s -sectype", NO_XA),
    _refused("-z -transparent-compression --zisofs-version-2 --zisofs2-susp-z2 "
             "--zisofs2-susp-zf",
             "writing zisofs-compressed files is not implemented (isofuse mount reads them)"),
    _refused("--acl --xattr --xattr-any --for_backup --scdbackup_tag",
             "ACLs and extended attributes (AAIP) are not recorded"),
    _refused("-eltorito-id -eltorito-selcrit --boot-catalog-hide",
             "El Torito section ids, selection criteria and a hidden catalog are not "
             "implemented"),
    _refused("-hidden -hidden-list", "the ISO 9660 'hidden' (existence) flag is not set"),
    _refused("-root -old-root --old-root-no-md5 --old-root-no-ino --old-root-devno",
             "use graft points (-graft-points DISC/PATH=SOURCE) instead"),
    _refused("-split-output -stream-file-name -stream-media-size",
             "the image is written as one file or stream"),
    _refused("-log-file", "messages go to standard error (redirect it: 2>FILE)"),
    _refused("-check-oldnames -check-session -force-rr -no-rr -use-fileversion",
             "previous sessions are read with their Rock Ridge names as they are"),
    _refused("-ucs-level -joliet-utf16 -untranslated_name_len -file_name_limit "
             "-disallow_dir_id_ext -rr_reloc_dir -no-iso-translate",
             "this naming variant is not implemented"),
    _refused("--quoted_path_list --set_all_file_dates --sort-weight-list "
             "--sort-weight-patterns --application_use --emul-toc --old-empty --stdio_sync "
             "-no-split-symlink-components -no-split-symlink-fields -debug -i -a",
             "not implemented"),
)
