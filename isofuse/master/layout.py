"""Layout: every sector of the image decided before any byte is written.

Order on the disc (sectors):

    0-15      system area (zeros)
    16 ...    primary descriptor, [El Torito boot record], [Joliet SVD],
              [ISO 9660:1999 enhanced descriptor], terminator
              [boot catalog]
              path tables: ISO L, ISO M, [Joliet L, Joliet M]
              ISO directories (path table order), each followed by its
              Rock Ridge continuation areas
              [Joliet directories]
              file data, each file from a sector boundary (hard links once,
              empty files and symlinks none)
              padding (150 sectors unless told otherwise)

Sizes depend only on names and System Use contents, never on locations
(CE, CL and PL entries have fixed sizes), so one sizing pass fixes the
layout and one encoding pass fills the locations in.
"""

import os
import stat
import struct
import time
from typing import List

from ..bulk import collector_paused
from ..format import dirrecord as dr
from ..format import descriptors as vd
from ..format import eltorito, pathtable, susp
from ..format.dates import BINARY_LAST, clamp_binary_seconds, encode_binary_date
from .isotree import (FileEntry, build_iso_tree, build_joliet_tree,
                      directories_in_path_table_order)
from .options import MasterOptions
from .rockridge_writer import RockRidgeWriter, entry_size, resolve
from .stream import ImageStream
from . import checksums, naming, sysarea

from ..format.sectors import SECTOR, sectors_for
SYSTEM_AREA_SECTORS = 16
MAX_EXTENT_BYTES = 0xFFFFF800       # ECMA-119 §9.1.4 733 field, sector aligned
MAX_RECORD = 255
_BINARY_DATE_END = BINARY_LAST + 1  # dates from here on are clamped (§9.1.5: year 1900+255)


class LayoutError(Exception):
    """The tree cannot become an image with these options (message says why)."""


# a DataItem met by the data walk whose sector is given once all are met
PENDING = -1



class DataItem:
    """A run of file data in the image: ``size`` bytes from ``path`` (or
    from ``data``) at sector ``sector``; the rest of its last sector is zero."""

    __slots__ = ("sector", "size", "path", "data", "patch_offset", "patch", "source_size",
                 "base", "reader")

    def __init__(self, sector, size, path=None, data=None, source_size=0, reader=None, base=0):
        self.sector = sector
        self.size = size
        self.path = path
        self.data = data
        self.patch_offset = 0       # boot-info-table: bytes replaced in the data
        self.patch = b""
        self.source_size = source_size  # the size the file had when scanned
        self.base = base            # first sector of the session (stream offset 0)
        self.reader = reader        # read(offset, size) when the data is not a file

    @property
    def start(self):
        """Offset in the session's byte stream."""
        return (self.sector - self.base) * SECTOR

    @property
    def end(self):
        return self.start + self.size


class _Record:
    """One directory record to be: sizes now, locations at encoding time."""

    __slots__ = ("identifier", "flags", "target", "length", "date", "inline", "overflow",
                 "ce_location", "part", "size", "tail", "item")

    def __init__(self, identifier, flags, target, length, date, inline, overflow, part, size,
                 tail, item=None):
        self.identifier = identifier
        self.flags = flags
        self.target = target        # DiscEntry whose extent/size the record carries
        self.length = length
        self.date = date
        self.inline = inline        # SU entries in the record
        self.overflow = overflow    # SU entries in a continuation area (after a CE)
        self.ce_location = None
        self.part = part            # which extent of a multi-extent file
        self.size = size            # bytes of the encoded record
        # the bytes after the fixed part (dirrecord.record_tail) when the
        # inline entries hold no location marker and there is no CE, else None
        self.tail = tail
        # the DataItem of a file in one extent, whose sector and size the
        # record carries (None for every other record: see _write_directory)
        self.item = item


class Layout:
    def __init__(self, root, options: MasterOptions, warn=None):
        self.root_node = root
        self.options = options
        self.warnings = []
        self._warn = warn or self.warnings.append
        self.fixed_time = options.source_date_epoch
        self.volume_time = options.source_date_epoch if options.source_date_epoch is not None \
            else (options.now if options.now is not None else int(time.time()))
        with collector_paused():
            self._plan()

    # ---- planning ----------------------------------------------------------------------------
    def _plan(self):
        opts = self.options
        self._add_boot_catalog()
        self.iso_root = build_iso_tree(self.root_node, opts, self._warn)
        self.joliet_root = build_joliet_tree(self.root_node, opts) if opts.joliet else None
        self._count_links()
        # seconds -> 7-byte date (§9.1.5), for the records and Rock Ridge TF
        self._date_cache = {}
        self.checksums = self._new_checksum_plan()
        hook = (self.checksums, self._checksum_index) if self.checksums else None
        self.rr = RockRidgeWriter(opts, self._link_count, self._serial,
                                  self.fixed_time, self._date_cache, hook) if opts.rock else None
        self.iso_dirs = directories_in_path_table_order(self.iso_root)
        self.joliet_dirs = directories_in_path_table_order(self.joliet_root) \
            if self.joliet_root else []
        self._check_paths()

        # A later session (multisession) numbers its sectors from where it
        # will be written; its stream starts there.
        self.base = opts.session_start
        sector = self._place_descriptors(self.base + SYSTEM_AREA_SECTORS)

        self.iso_pt_size = sum(pathtable.record_size(len(self._pt_name(d)))
                               for d in self.iso_dirs)
        pt_sectors = sectors_for(self.iso_pt_size)
        self.iso_l_table, self.iso_m_table = sector, sector + pt_sectors
        sector += 2 * pt_sectors
        if self.joliet_root:
            self.joliet_pt_size = sum(pathtable.record_size(len(self._pt_name(d)))
                                      for d in self.joliet_dirs)
            jpt = sectors_for(self.joliet_pt_size)
            self.joliet_l_table, self.joliet_m_table = sector, sector + jpt
            sector += 2 * jpt

        # The file data's DataItems (one per hard-linked file), placed after
        # the metadata below.
        self._extents = {}
        # ISO directories, sized from their records, each followed by its
        # Rock Ridge continuation areas (as libisofs places them): every
        # directory's share of the image depends on that directory alone,
        # which lets the staging filesystem keep the size up to date.
        # A plain file's record is only measured here and made when the
        # metadata is encoded (_write_directory): -print-size never needs
        # it, and isofuse master makes it while its second process is
        # already writing the file data.
        for directory in self.iso_dirs:
            directory.records, directory.record_sizes = self._iso_records(directory)
            directory.size = self._packed_bytes(directory.record_sizes)
            directory.extent = sector
            sector += directory.size // SECTOR
            sector += self._place_continuations(directory.records, sector)
        if self.checksums:
            self.checksums.tree_tag_sector = sector   # after the ISO 9660 directories
            sector += 1
        for directory in self.joliet_dirs:
            directory.records, directory.record_sizes = self._joliet_records(directory)
            directory.size = self._packed_bytes(directory.record_sizes)
            directory.extent = sector
            sector += directory.size // SECTOR
        self.metadata_sectors = sector
        if self.partition_offset:
            # the partition's copy of the path tables and directories
            self.copy_delta = self.metadata_sectors - self.iso_l_table
            self.metadata_sectors += self.copy_delta

        self.system_area = self._new_system_area()
        self.data_end = self._place_data(self.metadata_sectors)
        if self.checksums:
            self.data_end = self._place_checksum_tail(self.data_end)
        self.total_sectors = self.data_end + opts.padding_sectors
        if self.system_area is not None:
            self.total_sectors = self.system_area.settle(self.data_end, opts.padding_sectors)
        # the ISO file system's size (appended partitions come after it)
        self.volume_sectors = self.total_sectors if self.system_area is None \
            else self.system_area.volume_sectors
        self._boot_entries = self._plan_boot()
        self.system_area_bytes = self._plan_system_area()

    def _place_descriptors(self, sector):
        """Sectors for the volume descriptors from ``sector`` on (ECMA-119
        §8: primary first, terminator last), the superblock checksum tag
        and the boot catalog; returns the sector after them."""
        opts = self.options
        self.pvd_sector = sector
        sector += 1
        self.boot_record_sector = None
        if opts.boot:
            self.boot_record_sector = sector
            sector += 1
        self.joliet_svd_sector = None
        if self.joliet_root:
            self.joliet_svd_sector = sector
            sector += 1
        self.evd_sector = None
        if opts.enhanced:
            self.evd_sector = sector
            sector += 1
        self.terminator_sector = sector
        sector += 1
        if self.checksums:
            self.checksums.sb_tag_sector = sector     # right after the terminator
            sector += 1
        self.catalog_sector = None
        if opts.boot:
            self.catalog_sector = sector
            sector += 1
        self.partition_offset = opts.partition_offset
        if self.partition_offset:
            sector = self._place_partition_descriptors(sector)
        return sector

    def _place_partition_descriptors(self, sector):
        """-partition_offset P: the partition starting at sector P gets its
        own descriptor set at its sector 16 (P + 16), as libisofs writes it."""
        offset = self.partition_offset
        if offset < SYSTEM_AREA_SECTORS:
            raise LayoutError(f"-partition_offset {offset}: it must be 0 or at least 16")
        if self.options.md5:
            raise LayoutError("--md5 with -partition_offset is not supported yet")
        first = SYSTEM_AREA_SECTORS + offset
        if sector > first:
            raise LayoutError(f"-partition_offset {offset} is too small: the volume "
                              f"descriptors reach sector {sector}")
        sector = first
        pvd = sector
        sector += 1
        joliet_svd = evd = None
        if self.joliet_root:
            joliet_svd, sector = sector, sector + 1
        if self.options.enhanced:
            evd, sector = sector, sector + 1
        self.partition_descriptor_sectors = (pvd, joliet_svd, evd, sector)
        return sector + 1

    @staticmethod
    def _place_continuations(records, sector):
        """Give each record's continuation area a place from ``sector`` on,
        packed without crossing sectors; returns the sectors used."""
        used, offset = 0, 0
        for record in records:
            if record.__class__ is _Record and record.overflow:
                length = sum(entry_size(e) for e in record.overflow)
                if offset + length > SECTOR:
                    used += 1
                    offset = 0
                record.ce_location = (sector + used, offset, length)
                offset += length
        return used + (1 if offset else 0)

    def _pt_name(self, directory):
        return b"\x00" if directory.parent is None else directory.identifier

    def _check_paths(self):
        if self.options.names.level >= 4:
            return
        for directory in self.iso_dirs:
            base = self._iso_path_length(directory)     # once per directory
            for child in directory.children:
                path = base + len(child.identifier) + 1
                if path > 255:
                    self._warn(f"path longer than ISO 9660's 255 characters: "
                               f"{child.node.path_on_disc().decode(errors='replace')}")
                    return

    @staticmethod
    def _iso_path_length(entry):
        length, e = 0, entry
        while e.parent is not None:
            length += len(e.identifier) + 1
            e = e.parent
        return length

    # ---- links, serials --------------------------------------------------------------------
    @staticmethod
    def _key(node):
        """One key per file: hard links (same device and inode) share it."""
        if node.is_regular and node.nlink > 1 and node.dev_ino is not None:
            return node.dev_ino
        return node

    def _count_links(self):
        # Only files with several links on the source can have several
        # names in the tree; every other file counts one.
        counts = {}
        for node in self.root_node.walk():
            if node.nlink > 1 and not node.is_dir:
                key = self._key(node)
                counts[key] = counts.get(key, 0) + 1
        self._links = counts
        self._serial_numbers = {}

    def _link_count(self, node):
        return self._links.get(self._key(node), 1)

    def _serial(self, node):
        key = self._key(node)
        serial = self._serial_numbers.get(key)
        if serial is None:
            serial = len(self._serial_numbers) + 1
            self._serial_numbers[key] = serial
        return serial

    # ---- boot ----------------------------------------------------------------------------------
    def _add_boot_catalog(self):
        self.catalog_node = None
        self.boot_nodes = []
        if not self.options.boot:
            return
        from .sourcetree import Node
        path = self.options.boot_catalog.strip("/").encode()
        parent = self._find(os.path.dirname(path), create_dirs=True)
        name = os.path.basename(path)
        t = self.options.source_date_epoch or self.options.now or int(time.time())
        node = Node(name=name, mode=stat.S_IFREG | 0o444, mtime=t, atime=t, ctime=t,
                    size=SECTOR, data=b"")
        node.parent = parent
        parent.children[name] = node
        self.catalog_node = node
        for spec in self.options.boot:
            found = self._find(spec.image_path.strip("/").encode())
            if found is None or not found.is_regular:
                raise LayoutError(f"boot image {spec.image_path} is not a file in the tree")
            self.boot_nodes.append(found)

    def _find(self, path, create_dirs=False):
        node = self.root_node
        for part in filter(None, path.split(b"/")):
            child = node.children.get(part)
            if child is None:
                if not create_dirs:
                    return None
                from .sourcetree import new_directory
                child = new_directory(part, node.mtime)
                child.parent = node
                node.children[part] = child
            node = child
        return node

    def _plan_boot(self):
        if not self.options.boot:
            return []
        entries = []
        for spec, node in zip(self.options.boot, self.boot_nodes):
            extent = self._extents[self._key(node)].sector
            media = {"none": 0, "hdd": 4}.get(spec.emulation)
            if spec.emulation == "floppy":
                media = {1200 * 1024: 1, 1440 * 1024: 2, 2880 * 1024: 3}.get(node.size)
                if media is None:
                    raise LayoutError(f"floppy emulation needs a 1.2, 1.44 or 2.88 MB image, "
                                      f"{spec.image_path} has {node.size} bytes")
            count = spec.load_size
            if count is None:
                count = 1 if spec.emulation != "none" else max(1, (node.size + 511) // 512)
            if count > 0xFFFF:
                raise LayoutError(f"boot image {spec.image_path} is too large to load "
                                  f"whole; give -boot-load-size")
            entries.append(eltorito.BootEntry(platform=spec.platform, bootable=spec.bootable,
                                              media_type=media, load_segment=spec.load_segment,
                                              system_type=0, sector_count=count,
                                              load_rba=extent))
            grub2 = spec.grub2_boot_info or (self.options.grub2_boot_info and spec is
                                             self._grub2_default_entry())
            if spec.info_table or grub2:
                self._patch_boot_image(node, extent, spec.info_table, grub2)
        return entries

    def _grub2_default_entry(self):
        """--grub2-boot-info without a marked entry: the first (BIOS) one."""
        boot = self.options.boot
        return None if any(spec.grub2_boot_info for spec in boot) else boot[0]

    def _patch_boot_image(self, node, extent, info_table, grub2):
        """mkisofs -boot-info-table: bytes 8-63 of the boot image get the
        primary descriptor's sector, the image's sector and length and a
        32-bit sum of the image's words from byte 64 on.  xorrisofs
        --grub2-boot-info: bytes 2548-2555 get the image's 512-byte address
        + 5 (sysarea.grub2_boot_info_patch)."""
        with open(node.path, "rb") as f:
            content = f.read()
        if len(content) < 64:
            raise LayoutError(f"boot image {node.path} is too small for a boot info table")
        patched = bytearray(content)
        if info_table:
            padded = content[64:] + b"\x00" * (-len(content[64:]) % 4)
            checksum = sum(struct.unpack(f"<{len(padded) // 4}I", padded)) & 0xFFFFFFFF
            patched[8:64] = struct.pack("<IIII", self.pvd_sector, extent, len(content),
                                        checksum) + bytes(40)
        end = 64
        if grub2:
            offset, value = sysarea.grub2_boot_info_patch(extent)
            if len(content) < offset + len(value):
                raise LayoutError(f"boot image {node.path} is too small for "
                                  "--grub2-boot-info (needs 2556 bytes)")
            patched[offset:offset + len(value)] = value
            end = offset + len(value)
        for item in self.data_items:
            if item.path == node.path and item.sector == extent:
                item.patch_offset, item.patch = 8, bytes(patched[8:end])

    # ---- MD5 checksums (--md5: checksums.py) -----------------------------------------------------
    def _new_checksum_plan(self):
        """Number the files (ISO tree order, depth first) for the checksum
        array; None without --md5."""
        if not self.options.md5:
            return None
        if not self.options.rock:
            raise LayoutError("--md5 needs Rock Ridge (-R or -r): the file checksums "
                              "are recorded in Rock Ridge (AAIP) entries")
        if self.options.session_start:
            # a grown image's first superblock no longer matches the first
            # session's tags: xorriso would refuse to load it
            raise LayoutError("--md5 is not supported for a later session (-C, -append-to) yet")
        plan = checksums.ChecksumPlan(self.options.session_start)
        stack = [self.iso_root]
        while stack:
            directory = stack.pop()
            for child in directory.children:
                node = child.node
                if child.is_dir:
                    continue
                if node.is_regular and node.old_extents is None:
                    plan.number(self._key(node))
            stack.extend(reversed([c for c in directory.children if c.is_dir]))
        return plan

    def _checksum_index(self, node):
        return self.checksums.index_of(self._key(node))

    def _place_checksum_tail(self, sector):
        """The checksum array and the session tag from ``sector`` on (one
        DataItem made on demand); returns the sector after them."""
        plan = self.checksums
        plan.array_sector = sector
        plan.session_tag_sector = sector + checksums.array_sectors(len(plan.files))
        size = (plan.session_tag_sector + 1 - sector) * SECTOR
        reader = plan.tail_reader(lambda: ImageStream(self), self._checksummed_item)
        self.data_items.append(DataItem(sector, size, reader=reader, base=self.base))
        return plan.session_tag_sector + 1

    def _checksummed_item(self, key):
        """What a checksummed file's MD5 covers: its DataItem, the boot
        catalog's sector, or None (no data: an empty file)."""
        if key is self.catalog_node:
            return DataItem(self.catalog_sector, SECTOR, base=self.base)
        return self._extents.get(key)

    # ---- system area (hybrid images: sysarea.py) ------------------------------------------------
    def _new_system_area(self):
        opts = self.options
        if not sysarea.wanted(opts):
            return None
        problem = sysarea.unsupported(opts)
        if problem is None and not opts.boot and (opts.hybrid_mbr or opts.grub2_mbr):
            problem = "-isohybrid-mbr and --grub2-mbr need an El Torito boot image (-b)"
        if problem is None and self.base:
            problem = "hybrid system areas belong to a first session, not to --append-to"
        if problem is not None:
            raise LayoutError(problem)
        try:
            return sysarea.SystemArea(opts, self.volume_time, self._hybrid_flags())
        except sysarea.SystemAreaError as exc:
            raise LayoutError(str(exc)) from None

    def _hybrid_flags(self):
        """[(gpt_basdat, apm_hfsplus)] per El Torito entry.  xorrisofs marks
        "the current boot image"; the global flags without a marked entry
        go to the EFI entries (else the last one)."""
        opts, boot = self.options, self.options.boot
        flags = [[spec.gpt_basdat, spec.apm_hfsplus] for spec in boot]
        efi = [i for i, spec in enumerate(boot) if spec.platform == 0xEF] or [len(boot) - 1]
        for column, wanted in ((0, opts.hybrid_gpt_basdat), (1, opts.hybrid_apm_hfsplus)):
            if wanted and not any(f[column] for f in flags):
                for i in efi:
                    flags[i][column] = True
        return [tuple(f) for f in flags]

    def _boot_nodes_in_tree_order(self):
        """The boot images' nodes in the order the data walk meets them."""
        wanted = set(self.boot_nodes)
        found, stack = [], [self.iso_root]
        while stack:
            directory = stack.pop()
            subdirs = []
            for record in directory.records[2:]:
                target = record.node if record.__class__ is FileEntry else \
                    (None if record.target.is_dir else record.target.node)
                if record.__class__ is not FileEntry and record.flags & dr.FLAG_DIRECTORY:
                    subdirs.append(record.target)
                elif target in wanted and target not in found:
                    found.append(target)
            stack.extend(reversed(subdirs))
        return found

    def _plan_system_area(self):
        """The 32 KiB system area (None without hybrid options); the GPT
        backup becomes data at the image's end."""
        if self.system_area is None:
            return None
        images = [sysarea.BootImage(entry.load_rba, node.size, gpt_basdat, apm_hfsplus,
                                    entry.platform == 0xEF)
                  for entry, node, (gpt_basdat, apm_hfsplus)
                  in zip(self._boot_entries, self.boot_nodes, self._hybrid_flags())]
        try:
            area, tail = self.system_area.encode(images)
        except sysarea.SystemAreaError as exc:
            raise LayoutError(str(exc)) from None
        extra = [DataItem(sector, size, path, source_size=size, base=self.base)
                 for sector, size, path in self.system_area.partition_items()]
        extra += [DataItem(sector, len(data), data=data, base=self.base) for sector, data in tail]
        self.data_items.extend(sorted(extra, key=lambda item: item.sector))
        return area

    # ---- records --------------------------------------------------------------------------------
    def _date(self, node):
        t = node.mtime
        if self.fixed_time is not None and t > self.fixed_time:
            t = self.fixed_time
        if not 0 <= t < _BINARY_DATE_END:
            t = clamp_binary_seconds(t)
        return t

    def _split_su(self, identifier, entries):
        """Entries that fit in the record, and the rest for a continuation area."""
        room = MAX_RECORD - dr.record_length(len(identifier), susp.CE_LENGTH)
        inline, used = [], 0
        for i, entry in enumerate(entries):
            size = entry_size(entry)
            if used + size > room:
                overflow = entries[i:]
                break
            inline.append(entry)
            used += size
        else:
            overflow = []
        if sum(entry_size(e) for e in overflow) > SECTOR:
            raise LayoutError(f"Rock Ridge data for {identifier!r} exceeds one "
                              "continuation area")
        return inline, overflow

    def _record(self, identifier, flags, target, length, date, entries, part=0):
        if not entries:
            tail = dr.record_tail(identifier)
            return _Record(identifier, flags, target, length, date, (), (), part,
                           33 + len(tail), tail)
        total, plain = 0, True
        for e in entries:
            if e.__class__ is bytes:
                total += len(e)
            else:
                total += entry_size(e)
                plain = False
        size = dr.record_length(len(identifier), total)
        if size <= MAX_RECORD:      # the common case: everything in the record
            return _Record(identifier, flags, target, length, date, entries, (), part, size,
                           dr.record_tail(identifier, b"".join(entries)) if plain else None)
        inline, overflow = self._split_su(identifier, entries)
        su = sum(entry_size(e) for e in inline) + susp.CE_LENGTH
        return _Record(identifier, flags, target, length, date, inline, overflow, part,
                       dr.record_length(len(identifier), su), None)

    def _iso_records(self, directory):
        """The ISO 9660 records of a directory and the size of each.  A
        plain file (one link, one extent, its Rock Ridge entries within the
        record: the common case) is only measured; its FileEntry stands in
        the list for the record _write_directory makes."""
        rr = self.rr
        is_root = directory.parent is None
        parent = directory.parent or directory
        records = [
            self._record(b"\x00", dr.FLAG_DIRECTORY, directory, 0, self._date(directory.node),
                         rr.for_self(directory, is_root) if rr else []),
            self._record(b"\x01", dr.FLAG_DIRECTORY, parent, 0, self._date(parent.node),
                         rr.for_parent(directory) if rr else []),
        ]
        sizes = [records[0].size, records[1].size]
        su_length = rr.plain_file_su_length if rr else lambda node: 0
        for child in directory.children:
            node = child.node
            if node.is_regular and node.nlink == 1 and node.old_extents is None \
                    and node.size <= MAX_EXTENT_BYTES:
                n = su_length(node)
                if n is not None:
                    # dirrecord.record_length inlined: once per file
                    length = 33 + len(child.identifier) + (1 - len(child.identifier) % 2) + n
                    length += length & 1
                    if length <= MAX_RECORD:
                        records.append(child)
                        sizes.append(length)
                        continue
            first = len(records)
            entries = rr.for_child(child) if rr else []
            if child.is_dir:
                records.append(self._record(child.identifier, dr.FLAG_DIRECTORY, child, 0,
                                            self._date(node), entries))
            elif child.is_placeholder:
                records.append(self._record(child.identifier, 0, child.relocated_to, 0,
                                            self._date(node), entries))
            elif node.old_extents is None and node.size <= MAX_EXTENT_BYTES:
                # one extent (also for symlinks and devices)
                records.append(self._record(child.identifier, 0, child,
                                            node.size if node.is_regular else 0,
                                            self._date(node), entries))
            else:
                records.extend(self._file_records(child, entries))
            sizes += [record.size for record in records[first:]]
        return records, sizes

    @staticmethod
    def _wrong_room(directory):
        # a record made now is not as long as planned: the directory would
        # spill into the next one's sectors
        raise LayoutError(f"internal error: a record in {directory.node.path_on_disc()!r} "
                          "does not take the room planned for it")

    def _file_records(self, child, entries):
        node = child.node
        size = node.size if node.is_regular else 0
        old = node.old_extents
        if old is not None and len(old) > 1:
            # an earlier session's multi-extent file keeps its own split
            return [self._record(child.identifier,
                                 dr.FLAG_MULTI_EXTENT if i < len(old) - 1 else 0, child,
                                 length, self._date(node), entries, part=i)
                    for i, (_, length) in enumerate(old)]
        if size <= MAX_EXTENT_BYTES:
            return [self._record(child.identifier, 0, child, size, self._date(node), entries)]
        if self.options.names.level < 3:
            raise LayoutError(f"{node.path_on_disc().decode(errors='replace')} is 4 GiB or "
                              "larger: it needs -iso-level 3 (multi-extent files)")
        records = []
        left = size
        while left > 0:
            part = min(left, MAX_EXTENT_BYTES)
            left -= part
            flags = dr.FLAG_MULTI_EXTENT if left > 0 else 0
            # Every record carries the Rock Ridge entries (as libisofs does):
            # readers that list records one by one still show the real name.
            records.append(self._record(child.identifier, flags, child, part,
                                        self._date(node), entries, part=len(records)))
        return records

    def _joliet_records(self, directory):
        """The Joliet records of a directory and the size of each; a plain
        file is only measured, as in _iso_records."""
        parent = directory.parent or directory
        records = [self._record(b"\x00", dr.FLAG_DIRECTORY, directory, 0,
                                self._date(directory.node), None),
                   self._record(b"\x01", dr.FLAG_DIRECTORY, parent, 0,
                                self._date(parent.node), None)]
        sizes = [records[0].size, records[1].size]
        for child in directory.children:
            node = child.node
            if child.is_dir:
                record = self._record(child.identifier, dr.FLAG_DIRECTORY, child, 0,
                                      self._date(node), None)
                records.append(record)
                sizes.append(record.size)
                continue
            if not node.is_regular:
                continue  # Joliet has no symlinks, devices or FIFOs
            if node.old_extents is None and node.size <= MAX_EXTENT_BYTES:
                # the common case, once per file: one extent
                # (dirrecord.record_length inlined)
                length = 33 + len(child.identifier) + (1 - len(child.identifier) % 2)
                records.append(child)
                sizes.append(length + (length & 1))
                continue
            parts = self._extent_lengths(node)
            if len(parts) > 1 and self.options.names.level < 3:
                continue  # reported for the ISO tree already
            for i, part in enumerate(parts):
                flags = dr.FLAG_MULTI_EXTENT if i < len(parts) - 1 else 0
                record = self._record(child.identifier, flags, child, part,
                                      self._date(node), None, part=i)
                records.append(record)
                sizes.append(record.size)
        return records, sizes

    @staticmethod
    def _packed_bytes(sizes):
        used = 0
        for length in sizes:
            if used % SECTOR + length > SECTOR:
                used += SECTOR - used % SECTOR
            used += length
        return max(sectors_for(used), 1) * SECTOR

    # ---- file data ------------------------------------------------------------------------------
    def _data_item(self, node):
        """The DataItem of a regular file's data (one per hard-linked file;
        None for an empty file, the boot catalog and data of an earlier
        session, which take no new sector).  Its sector comes later, from
        _place_data."""
        if node.size == 0 or node.old_extents is not None or node is self.catalog_node:
            return None
        key = self._key(node)
        item = self._extents.get(key)
        if item is None:
            item = self._extents[key] = DataItem(None, node.size, node.path, node.data,
                                                 node.size, node.reader, self.base)
        return item

    def _place_data(self, sector):
        """Give every file's data its sectors from ``sector`` on, in ISO tree
        order (directories depth first, records in order), then the files
        only the Joliet tree shows (-hide); with sort weights (-sort) the
        heavier files first, ties in that order.  Returns the sector after
        the last.  Hard-linked files get one place."""
        # hybrid images: the boot images first, as xorrisofs places them
        placed_first = self._boot_nodes_in_tree_order() if self.system_area else ()
        order = []                  # [(DataItem, node)] in placement order
        for node in placed_first:
            item = self._data_item(node)
            if item is not None and item.sector is None:
                item.sector = PENDING
                order.append((item, node))
        first = len(order)
        self._collect_data(self.iso_root, frozenset(placed_first), order)
        if self.options.hide_iso:
            if self.joliet_root is not None:
                self._collect_data(self.joliet_root, frozenset(placed_first), order)
            self._collect_unlisted(frozenset(placed_first), order)
        weights = self.options.sort_weights
        if weights:
            # genisoimage -sort, xorrisofs --sort-weight: heavier first
            order[first:] = sorted(order[first:], key=lambda pair: -weights.get(pair[1], 0))
        self.data_items: List[DataItem] = [item for item, _ in order]
        for item in self.data_items:
            item.sector = sector
            sector += (item.size + SECTOR - 1) // SECTOR
        return sector

    def _collect_unlisted(self, placed_first, order):
        """Append the files no tree lists (-hide without Joliet, or hidden
        from both trees): xorrisofs and genisoimage write their data all
        the same.  In name order below each folder, for a stable image."""
        hidden = self.options.hide_iso
        stack = [(self.root_node, False)]
        while stack:
            node, inside = stack.pop()
            folders = []
            for name in sorted(node.children):
                kid = node.children[name]
                below = inside or kid in hidden
                if kid.is_dir:
                    folders.append((kid, below))
                elif below and kid.is_regular and kid not in placed_first:
                    item = self._data_item(kid)
                    if item is not None and item.sector is None:
                        item.sector = PENDING
                        order.append((item, kid))
            stack.extend(reversed(folders))

    def _collect_data(self, root, placed_first, order):
        """Append (DataItem, node) of every file of a tree not met yet to
        ``order``, in the tree's order (marking each item PENDING)."""
        append = order.append
        item_of = self._data_item
        extents, catalog, base = self._extents, self.catalog_node, self.base
        stack = [root]
        while stack:
            directory = stack.pop()
            subdirs = []
            for record in directory.records[2:]:        # after "." and ".."
                if record.__class__ is FileEntry:           # a plain file's record to be
                    node = record.node
                    if not node.size or node is catalog or node in placed_first:
                        continue
                    item = extents.get(node)
                    if item is None and node.nlink > 1:
                        # the Joliet tree's records stand for hard links too
                        item = item_of(node)
                    elif item is None:
                        # _data_item inlined: a file with one link, met once
                        item = extents[node] = DataItem(None, node.size, node.path,
                                                        node.data, node.size, node.reader,
                                                        base)
                elif record.item is not None:
                    item, node = record.item, record.target.node
                else:
                    if record.flags & dr.FLAG_DIRECTORY:
                        subdirs.append(record.target)
                        continue
                    target = record.target
                    if target.is_dir or not target.node.is_regular:
                        continue                    # a CL placeholder, symlink, device
                    node = target.node
                    item = item_of(node)            # hard links, multi-extent files
                    if item is None:
                        continue
                if item.sector is None:
                    item.sector = PENDING
                    append((item, node))
            stack.extend(reversed(subdirs))

    @staticmethod
    def _extent_lengths(node):
        """How a file's data splits into extents (sizes only: usable before
        the data has its place)."""
        old = node.old_extents
        if old is not None:
            return [length for _, length in old]
        return Layout._extent_lengths_for(node.size)

    @staticmethod
    def _extent_lengths_for(size):
        parts = []
        while True:
            part = min(size, MAX_EXTENT_BYTES)
            parts.append(part)
            size -= part
            if size <= 0:
                return parts

    def file_extents(self, node):
        """[(sector, bytes)] of a file's data, split at MAX_EXTENT_BYTES."""
        if node is self.catalog_node:
            return [(self.catalog_sector, SECTOR)]
        old = node.old_extents
        if old is not None:
            return old
        item = self._extents.get(self._key(node))
        size = node.size if node.is_regular else 0
        if item is None:
            return [(0, 0)] if size == 0 else None
        out, sector, left = [], item.sector, size
        while True:
            part = min(left, MAX_EXTENT_BYTES)
            out.append((sector, part))
            sector += sectors_for(part)
            left -= part
            if left <= 0:
                break
        return out

    # ---- encoding --------------------------------------------------------------------------------
    def encode_metadata(self):
        """Every byte before the first file's data (sectors 0..metadata_sectors)."""
        meta = bytearray((self.metadata_sectors - self.base) * SECTOR)
        # directories first: their extents are final, the descriptors need root records
        self._write_trees(meta)
        sectors = (self.pvd_sector, self.joliet_svd_sector, self.evd_sector,
                   self.terminator_sector)
        # with -partition_offset the whole image's descriptors count appended
        # partitions in (xorriso 1.5.4, observed); the partition's own end at them.
        # A later session gives its own length with own_session_size, as
        # genisoimage -C and xorrisofs -C write it (cdrecord -isosize reads
        # it so), else the whole volume's (for a copy at sector 16).  Hybrid
        # areas belong to a first session (base 0).
        own = self.base if self.options.own_session_size else 0
        self._write_descriptor_set(meta, sectors, 0, self.total_sectors
                                   if self.partition_offset else self.volume_sectors - own)
        if self.boot_record_sector is not None:
            self._put(meta, self.boot_record_sector, vd.encode_boot_record(self.catalog_sector))
            self._put(meta, self.catalog_sector, eltorito.encode_catalog(self._boot_entries))
        if self.partition_offset:
            # -partition_offset: the partition's own descriptors and trees,
            # addresses counted from the partition's start (libisofs writes
            # them the same way); the El Torito catalog stays absolute
            shift, delta = self.partition_offset, self.copy_delta
            self._write_trees(meta, delta, shift)
            self._write_descriptor_set(meta, self.partition_descriptor_sectors, delta - shift,
                                       self.volume_sectors - shift)
        if self.system_area_bytes is not None:
            meta[0:len(self.system_area_bytes)] = self.system_area_bytes
        if self.checksums:
            self.checksums.put_metadata_tags(meta, self.base)   # last: they cover the rest
        return bytes(meta)

    def _write_trees(self, meta, delta=0, shift=0):
        """Directories and path tables (``delta``/``shift``: the partition's
        copy, see _write_directory)."""
        for directory in self.iso_dirs:
            self._write_directory(meta, directory, True, delta, shift)
        for directory in self.joliet_dirs:
            self._write_directory(meta, directory, False, delta, shift)
        self._write_path_tables(meta, self.iso_dirs, self.iso_l_table + delta,
                                self.iso_m_table + delta, delta - shift)
        if self.joliet_root:
            self._write_path_tables(meta, self.joliet_dirs, self.joliet_l_table + delta,
                                    self.joliet_m_table + delta, delta - shift)

    def _write_descriptor_set(self, meta, sectors, moved, volume_sectors):
        """The primary, [Joliet], [ISO 9660:1999] descriptors and the
        terminator (ECMA-119 §8) at ``sectors``; ``moved`` is added to every
        address of the trees they describe."""
        opts = self.options
        pvd, joliet_svd, evd, terminator = sectors
        common = dict(volume_space_size=volume_sectors, **self._volume_dates())
        meta_fields = dict(system_id=opts.system_id, volume_id=opts.volume_id,
                           volume_set_id=opts.volume_set_id, publisher_id=opts.publisher,
                           preparer_id=opts.preparer, application_id=opts.application,
                           copyright_file_id=opts.copyright_file,
                           abstract_file_id=opts.abstract_file,
                           bibliographic_file_id=opts.bibliographic_file)
        iso_root_record = self._root_record(self.iso_root, moved)
        tables = dict(path_table_size=self.iso_pt_size, l_path_table=self.iso_l_table + moved,
                      m_path_table=self.iso_m_table + moved, root_record=iso_root_record)
        self._put(meta, pvd, vd.encode_volume_descriptor(
            vd.TYPE_PRIMARY, 1, **tables, **common, **self._plain(meta_fields)))
        if joliet_svd is not None:
            self._put(meta, joliet_svd, vd.encode_volume_descriptor(
                vd.TYPE_SUPPLEMENTARY, 1, path_table_size=self.joliet_pt_size,
                l_path_table=self.joliet_l_table + moved,
                m_path_table=self.joliet_m_table + moved,
                root_record=self._root_record(self.joliet_root, moved), escape_sequences=b"%/E",
                **common, **meta_fields))
        if evd is not None:
            self._put(meta, evd, vd.encode_volume_descriptor(
                vd.TYPE_SUPPLEMENTARY, 2, **tables, file_structure_version=2,
                **common, **self._plain(meta_fields)))
        self._put(meta, terminator, vd.encode_terminator())
        if opts.modification_date:
            # --modification-date= / -volume_date uuid: creation and
            # modification dates literally, hundredths too (§8.4.26.1
            # bytes 15-16), as xorrisofs writes them for GRUB's search
            literal = opts.modification_date[:16].encode("ascii")
            for sector in (pvd, joliet_svd, evd):
                if sector is not None:
                    start = (sector - self.base) * SECTOR
                    meta[start + 813:start + 829] = literal     # creation
                    meta[start + 830:start + 846] = literal     # modification

    def _volume_dates(self):
        """The descriptors' four dates in seconds (-volume_date c|m|x|f;
        c and m default to the volume's time, x and f to none)."""
        given = self.options.volume_dates
        return dict(created=given.get("c", self.volume_time),
                    modified=given.get("m", self.volume_time),
                    expires=given.get("x"), effective=given.get("f"))

    # how the primary (and ISO 9660:1999) descriptor records each
    # identifier, following xorrisofs (docs/mkisofs-options.md)
    _PLAIN_FORMS = dict(system_id=naming.a_characters, volume_id=naming.as_given,
                        volume_set_id=naming.as_given, publisher_id=naming.a_characters,
                        preparer_id=naming.a_characters, application_id=naming.a_characters,
                        copyright_file_id=naming.d_characters,
                        abstract_file_id=naming.d_characters,
                        bibliographic_file_id=naming.d_characters)

    @classmethod
    def _plain(cls, fields):
        return {k: cls._PLAIN_FORMS[k](v) for k, v in fields.items()}

    def _root_record(self, root, moved=0):
        return dr.encode_record(root.extent + moved, root.size,
                                encode_binary_date(self._date(root.node)),
                                dr.FLAG_DIRECTORY, b"\x00")

    def _put(self, meta, sector, data):
        start = (sector - self.base) * SECTOR
        meta[start:start + len(data)] = data

    def _write_directory(self, meta, directory, rock, delta=0, shift=0):
        """Encode a directory's records into ``meta``.  With
        -partition_offset it is encoded twice: the second copy ``delta``
        sectors after the first, every address in it ``shift`` sectors
        lower (relative to the partition's start)."""
        pos = (directory.extent + delta - self.base) * SECTOR
        end_of_sector = pos + SECTOR
        date_cache = self._date_cache
        pack_fixed, be32, sequence_be = dr.FIXED_PART.pack_into, dr.U32BE, dr.VOLUME_SEQUENCE_1_BE
        pad_after = dr.PAD_AFTER_IDENTIFIER
        # the System Use of a plain file (ISO 9660 tree with Rock Ridge)
        plain_su = self.rr.plain_file_su if rock and self.rr else lambda node: b""
        extents = self._extents
        plain_date = self.fixed_time is None
        for record, planned in zip(directory.records, directory.record_sizes):
            if record.__class__ is FileEntry:
                # A plain file, measured at planning (see _iso_records): its
                # record is made here, once per file and tree.
                node = record.node
                identifier = record.identifier
                tail = identifier + pad_after[len(identifier) & 1] + plain_su(node)
                if not len(tail) & 1:
                    tail += b"\x00"
                size = 33 + len(tail)
                if size != planned:
                    self._wrong_room(directory)
                item = extents.get(node)
                if item is not None:
                    extent, length = item.sector - shift, item.size
                else:                   # an empty file (extent 0), the boot catalog
                    extent, length = self.file_extents(node)[0]
                    if extent:
                        extent -= shift
                mtime = node.mtime
                if not (plain_date and 0 <= mtime < _BINARY_DATE_END):
                    mtime = self._date(node)
                date = date_cache.get(mtime)
                if date is None:
                    date = date_cache[mtime] = encode_binary_date(mtime)
                if pos + size > end_of_sector:          # records never cross sectors
                    pos = end_of_sector
                    end_of_sector += SECTOR
                # dirrecord.encode_record_into inlined
                pack_fixed(meta, pos, size, 0, extent, be32(extent), length, be32(length), date,
                           0, 0, 0, 1, sequence_be, len(identifier))
                meta[pos + 33:pos + size] = tail
                pos += size
                if pos == end_of_sector:
                    end_of_sector += SECTOR
                continue
            size = record.size
            if pos + size > end_of_sector:              # records never cross sectors
                pos = end_of_sector
                end_of_sector += SECTOR
            self._write_record(meta, pos, record, rock, delta, shift)
            pos += size
            if pos == end_of_sector:
                end_of_sector += SECTOR

    def _write_record(self, meta, pos, record, rock, delta, shift):
        """A record other than a plain file's, and its continuation area."""
        item = record.item
        flags = record.flags
        moved = delta - shift                 # directories and their CE areas
        if item is not None:                      # a file in one extent
            extent, length = item.sector - shift, item.size
        elif flags & dr.FLAG_DIRECTORY:           # ".", ".." and subdirectories
            extent, length = record.target.extent + moved, record.target.size
        elif record.target.is_dir:                # CL placeholder
            extent, length = record.target.extent + moved, 0
        else:
            extent, length = self.file_extents(record.target.node)[record.part]
            if extent:
                extent -= shift
        date = self._date_cache.get(record.date)
        if date is None:
            date = self._date_cache[record.date] = encode_binary_date(record.date)
        tail = record.tail
        if tail is not None:
            dr.FIXED_PART.pack_into(meta, pos, record.size, 0, extent, dr.U32BE(extent), length,
                                    dr.U32BE(length), date, flags, 0, 0, 1,
                                    dr.VOLUME_SEQUENCE_1_BE, len(record.identifier))
            meta[pos + 33:pos + record.size] = tail
        else:
            su = b"".join(resolve(e, moved) for e in record.inline)
            if record.overflow:
                sector, offset, ce_length = record.ce_location
                su += susp.encode_ce(sector + moved, offset, ce_length)
            dr.encode_record_into(meta, pos, extent, length, date, flags, record.identifier, su)
        if rock and record.overflow:
            sector, offset, ce_length = record.ce_location
            area = b"".join(resolve(e, moved) for e in record.overflow)
            start = (sector + delta - self.base) * SECTOR + offset
            meta[start:start + ce_length] = area

    def _write_path_tables(self, meta, dirs, l_table, m_table, moved=0):
        """ECMA-119 §9.4 path tables (``moved``: added to every directory's
        extent, for -partition_offset's second tree)."""
        little = b"".join(pathtable.encode_record(self._pt_name(d), d.extent + moved,
                                                  d.parent.number if d.parent else 1)
                          for d in dirs)
        big = b"".join(pathtable.encode_record(self._pt_name(d), d.extent + moved,
                                               d.parent.number if d.parent else 1, True)
                       for d in dirs)
        self._put(meta, l_table, little)
        self._put(meta, m_table, big)

    @property
    def size(self):
        """Bytes of this session's stream (the whole image for a first session)."""
        return (self.total_sectors - self.base) * SECTOR

    def boot_catalog_bytes(self):
        return eltorito.encode_catalog(self._boot_entries) if self._boot_entries else None
