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
from array import array

from ..bulk import collector_paused
from ..format import descriptors as vd
from ..format import eltorito
from ..format.sectors import SECTOR, sectors_for
from .dataplace import DataItem, DataPlacement, file_key
from .direncode import DirectoryEncoder, path_table_size
from .isotree import build_iso_tree, build_joliet_tree, directories_in_path_table_order
from .options import MasterOptions
from .placement import SYSTEM_AREA_SECTORS, place_descriptors
from .planner import MAX_EXTENT_BYTES, DirectoryPlanner, LayoutError, RecordDates
from .rockridge_writer import RockRidgeWriter
from .stream import ImageStream
from . import checksums, naming, sysarea

# metadata_pieces: about this many bytes of directories per piece
METADATA_WINDOW = 1 << 20

__all__ = ["Layout", "LayoutError", "DataItem", "MAX_EXTENT_BYTES", "SECTOR",
           "SYSTEM_AREA_SECTORS", "file_key", "sectors_for"]

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
        self.dates = RecordDates(self.fixed_time)
        self.checksums = self._new_checksum_plan()
        hook = (self.checksums, self._checksum_index) if self.checksums else None
        self.rr = RockRidgeWriter(opts, self._link_count, self._serial,
                                  self.fixed_time, self.dates.cache, hook) if opts.rock else None
        self.iso_dirs = directories_in_path_table_order(self.iso_root)
        self.joliet_dirs = directories_in_path_table_order(self.joliet_root) \
            if self.joliet_root else []
        self._check_paths()
        # A later session (multisession) numbers its sectors from where it
        # will be written; its stream starts there.
        self.base = opts.session_start
        sector = self._place_descriptors()
        sector = self._place_path_tables(sector)
        # The file data's DataItems (one per hard-linked file), placed after
        # the metadata below.
        self.data = DataPlacement(opts, self.base, self.catalog_node, self.catalog_sector)
        self.data_items = self.data.data_items      # extended by the checksum and GPT tails
        self.metadata_sectors = self._place_directories(sector)
        if self.partition_offset:
            # the partition's copy of the path tables and directories
            self.copy_delta = self.metadata_sectors - self.iso_l_table
            self.metadata_sectors += self.copy_delta
        self.system_area = self._new_system_area()
        data_start = self.metadata_sectors
        if self.system_area is not None:
            # -efi-boot-part DISKFILE: its data in front of the files' data
            data_start = self.system_area.place_prepended(data_start)
        self.data_end = self._place_data(data_start)
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

    def _place_descriptors(self):
        """The volume descriptors, the superblock checksum tag and the boot
        catalog (placement.place_descriptors); returns the sector after."""
        place = place_descriptors(self.options, self.base)
        self.pvd_sector = place.pvd
        self.boot_record_sector = place.boot_record
        self.joliet_svd_sector = place.joliet_svd
        self.evd_sector = place.evd
        self.terminator_sector = place.terminator
        self.catalog_sector = place.catalog
        if self.checksums:
            self.checksums.sb_tag_sector = place.superblock_tag
        self.partition_offset = self.options.partition_offset
        if self.partition_offset:
            self.partition_descriptor_sectors = place.partition_descriptors
        return place.end

    def _place_path_tables(self, sector):
        """The L and M path tables of each tree from ``sector`` on."""
        self.iso_pt_size = path_table_size(self.iso_dirs)
        pt_sectors = sectors_for(self.iso_pt_size)
        self.iso_l_table, self.iso_m_table = sector, sector + pt_sectors
        sector += 2 * pt_sectors
        if self.joliet_root:
            self.joliet_pt_size = path_table_size(self.joliet_dirs)
            jpt = sectors_for(self.joliet_pt_size)
            self.joliet_l_table, self.joliet_m_table = sector, sector + jpt
            sector += 2 * jpt
        return sector

    def _place_directories(self, sector):
        """The ISO directories, sized by the planner, each followed by its
        Rock Ridge continuation areas (as libisofs places them): every
        directory's share of the image depends on that directory alone,
        which lets the staging filesystem keep the size up to date.  Then
        the checksum tree tag and the Joliet directories.  A plain file's
        record is only measured here and made when the metadata is encoded
        (direncode): -print-size never needs it, and isofuse master makes
        it while its second process is already writing the file data."""
        planner = DirectoryPlanner(self.options, self.rr, self.dates)
        for directory in self.iso_dirs:
            plan = directory.plan = planner.iso_plan(directory)
            directory.size = plan.extent_bytes
            directory.extent = sector
            sector += plan.extent_bytes // SECTOR
            plan.ce_start = sector
            sector += plan.ce_sectors
        if self.checksums:
            self.checksums.tree_tag_sector = sector   # after the ISO 9660 directories
            sector += 1
        for directory in self.joliet_dirs:
            plan = directory.plan = planner.joliet_plan(directory)
            directory.size = plan.extent_bytes
            directory.extent = sector
            sector += plan.extent_bytes // SECTOR
        return sector

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
    def _count_links(self):
        # Only files with several links on the source can have several
        # names in the tree; every other file counts one.
        counts = {}
        for node in self.root_node.walk():
            if node.nlink > 1 and not node.is_dir:
                key = file_key(node)
                counts[key] = counts.get(key, 0) + 1
        self._links = counts
        self._serial_numbers = {}

    def _link_count(self, node):
        return self._links.get(file_key(node), 1)

    def _serial(self, node):
        key = file_key(node)
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
            if sysarea.appended_partition_of(spec.image_path) is not None:
                self.boot_nodes.append(None)    # -e --interval:appended_partition_N:all::
                continue
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
        self._boot_sizes = []           # bytes of each entry's image
        if not self.options.boot:
            return []
        entries = []
        for spec, node in zip(self.options.boot, self.boot_nodes):
            extent, size = self._boot_image_place(spec, node)
            self._boot_sizes.append(size)
            media = {"none": 0, "hdd": 4}.get(spec.emulation)
            if spec.emulation == "floppy":
                media = {1200 * 1024: 1, 1440 * 1024: 2, 2880 * 1024: 3}.get(size)
                if media is None:
                    raise LayoutError(f"floppy emulation needs a 1.2, 1.44 or 2.88 MB image, "
                                      f"{spec.image_path} has {size} bytes")
            count = spec.load_size
            if count is None:
                count = 1 if spec.emulation != "none" else max(1, (size + 511) // 512)
            if count > 0xFFFF:
                raise LayoutError(f"boot image {spec.image_path} is too large to load "
                                  f"whole; give -boot-load-size")
            entries.append(eltorito.BootEntry(platform=spec.platform, bootable=spec.bootable,
                                              media_type=media, load_segment=spec.load_segment,
                                              system_type=0, sector_count=count,
                                              load_rba=extent))
            grub2 = spec.grub2_boot_info or (self.options.grub2_boot_info and spec is
                                             self._grub2_default_entry())
            if (spec.info_table or grub2) and node is not None:
                self._patch_boot_image(node, extent, spec.info_table, grub2)
        return entries

    def _boot_image_place(self, spec, node):
        """(sector, bytes) of an El Torito image: its file's data, or the
        appended partition it names (sysarea.appended_partition_of)."""
        if node is not None:
            return self.data.items[file_key(node)].sector, node.size
        if self.system_area is None:
            raise LayoutError(f"boot image {spec.image_path}: no partition is appended")
        try:
            return self.system_area.boot_image_partition(
                sysarea.appended_partition_of(spec.image_path))
        except sysarea.SystemAreaError as exc:
            raise LayoutError(str(exc)) from None

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
        end = 64
        if grub2:
            offset, value = sysarea.grub2_boot_info_patch(extent)
            if len(content) < offset + len(value):
                raise LayoutError(f"boot image {node.path} is too small for "
                                  "--grub2-boot-info (needs 2556 bytes)")
            patched[offset:offset + len(value)] = value
            end = offset + len(value)
        if info_table:
            # the sum covers the image as written, GRUB2's boot info included
            # (xorriso 1.5.4 then reports "boot-info-table")
            body = bytes(patched[64:]) + b"\x00" * (-len(content[64:]) % 4)
            checksum = sum(struct.unpack(f"<{len(body) // 4}I", body)) & 0xFFFFFFFF
            patched[8:64] = struct.pack("<IIII", self.pvd_sector, extent, len(content),
                                        checksum) + bytes(40)
        # The boot file's data item, by its key: a hard-linked boot image's
        # item carries the path of whichever link was met first.
        by_key = self.data.items
        item = by_key[file_key(node)]
        index = next(i for i, placed in enumerate(self.data_items) if placed is item)
        # a patched copy takes the item's place (FileData has no room for a
        # patch: one in 100,000 files needs one)
        copy = DataItem.patched(item, 8, bytes(patched[8:end]))
        self.data_items[index] = copy
        for key in [key for key, value in by_key.items() if value is item]:
            by_key[key] = copy

    # ---- MD5 checksums (--md5: checksums.py) -----------------------------------------------------
    def _new_checksum_plan(self):
        """Number the files (ISO tree order, depth first) for the checksum
        array; None without --md5."""
        if not self.options.md5:
            return None
        if not self.options.rock:
            raise LayoutError("--md5 needs Rock Ridge (-R or -r): the file checksums "
                              "are recorded in Rock Ridge (AAIP) entries")
        plan = checksums.ChecksumPlan(self.options.session_start)
        stack = [self.iso_root]
        while stack:
            directory = stack.pop()
            for child in directory.children:
                node = child.node
                if child.is_dir:
                    continue
                if node.is_regular and node.old_extents is None:
                    plan.number(file_key(node))
            stack.extend(reversed([c for c in directory.children if c.is_dir]))
        return plan

    def _checksum_index(self, node):
        return self.checksums.index_of(file_key(node))

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
        return self.data.items.get(key)

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
        wanted = {node for node in self.boot_nodes if node is not None}
        found, stack = [], [self.iso_root]
        while stack:
            directory = stack.pop()
            subdirs = []
            for child in directory.children:
                if child.is_dir:
                    subdirs.append(child)
                elif child.node in wanted and child.node not in found \
                        and not child.is_placeholder:
                    found.append(child.node)
            stack.extend(reversed(subdirs))
        return found

    def _plan_system_area(self):
        """The 32 KiB system area (None without hybrid options); the GPT
        backup becomes data at the image's end."""
        if self.system_area is None:
            return None
        images = [sysarea.BootImage(entry.load_rba, size, gpt_basdat, apm_hfsplus,
                                    entry.platform == 0xEF)
                  for entry, size, (gpt_basdat, apm_hfsplus)
                  in zip(self._boot_entries, self._boot_sizes, self._hybrid_flags())]
        try:
            area, tail = self.system_area.encode(images)
        except sysarea.SystemAreaError as exc:
            raise LayoutError(str(exc)) from None
        extra = [DataItem(sector, size, path, source_size=size, base=self.base)
                 for sector, size, path in self.system_area.partition_items()]
        extra += [DataItem(sector, len(data), data=data, base=self.base) for sector, data in tail]
        # by sector: -efi-boot-part DISKFILE's data lies before the files'
        self.data_items[:] = sorted(self.data_items + extra, key=lambda item: item.sector)
        return area

    # ---- file data (dataplace.py) ------------------------------------------------------------
    def _place_data(self, sector):
        """Every file's data from ``sector`` on (DataPlacement.place); hybrid
        images place the boot images first, as xorrisofs does."""
        placed_first = self._boot_nodes_in_tree_order() if self.system_area else ()
        trees = [self.iso_root]
        if self.options.hide_iso and self.joliet_root is not None:
            trees.append(self.joliet_root)
        return self.data.place(sector, trees, self.root_node, placed_first)

    def file_extents(self, node):
        """[(sector, bytes)] of a file's data, split at MAX_EXTENT_BYTES."""
        return self.data.file_extents(node)

    def data_bounds(self):
        """(starts, ends): each of ``data_items``' first and last byte + 1 in
        the session's stream, packed (an int object per file and end would
        add up).  Made once and shared by the streams over this layout:
        ``data_items`` is final once the layout is planned."""
        bounds = getattr(self, "_data_bounds", None)
        if bounds is None:
            items = self.data_items
            bounds = self._data_bounds = (array("q", [item.start for item in items]),
                                          array("q", [item.end for item in items]))
        return bounds

    # ---- encoding --------------------------------------------------------------------------------
    def encode_metadata(self):
        """Every byte before the first file's data (sectors 0..metadata_sectors),
        as the bytearray it was encoded in: a copy to bytes would double the
        peak memory (20 MiB of metadata for 100,000 files)."""
        meta = bytearray((self.metadata_sectors - self.base) * SECTOR)
        encoder = self._encoder(meta, self.base)
        # directories first: their extents are final, the descriptors need root records
        self._write_directories(encoder)
        self._write_head(encoder)
        if self.partition_offset:
            # -partition_offset: the partition's own descriptors and trees,
            # addresses counted from the partition's start (libisofs writes
            # them the same way); the El Torito catalog stays absolute
            shift, delta = self.partition_offset, self.copy_delta
            self._write_trees(encoder, delta, shift)
            self._write_descriptor_set(encoder, self.partition_descriptor_sectors,
                                       delta - shift, self.volume_sectors - shift)
        if self.system_area_bytes is not None:
            meta[0:len(self.system_area_bytes)] = self.system_area_bytes
        if self.checksums:
            self.checksums.put_metadata_tags(meta, self.base)   # last: they cover the rest
        return meta

    def metadata_pieces(self, window=METADATA_WINDOW):
        """(stream offset, bytes) pieces that joined are encode_metadata(),
        a few directories of about ``window`` bytes at a time: a sequential
        writer then never holds the whole metadata.  Metadata that is
        finished as a whole (--md5 tags cover it, -partition_offset copies
        it) comes in one piece."""
        if self.checksums or self.partition_offset:
            yield 0, self.encode_metadata()
            return
        dirs = [(d, True) for d in self.iso_dirs] + [(d, False) for d in self.joliet_dirs]
        first = dirs[0][0].extent
        head = bytearray((first - self.base) * SECTOR)
        self._write_head(self._encoder(head, self.base))
        if self.system_area_bytes is not None:
            head[0:len(self.system_area_bytes)] = self.system_area_bytes
        yield 0, head
        del head
        i = 0
        while i < len(dirs):
            start = dirs[i][0].extent
            j = i + 1       # each directory with its CE areas ends where the next starts
            while j < len(dirs) and (dirs[j][0].extent - start) * SECTOR < window:
                j += 1
            end = dirs[j][0].extent if j < len(dirs) else self.metadata_sectors
            piece = bytearray((end - start) * SECTOR)
            encoder = self._encoder(piece, start)
            for directory, rock in dirs[i:j]:
                encoder.directory(directory, rock)
            yield (start - self.base) * SECTOR, piece
            i = j

    def _encoder(self, buffer, first_sector):
        """A DirectoryEncoder writing the sectors from ``first_sector`` on
        into ``buffer``."""
        return DirectoryEncoder(buffer, first_sector, self.rr, self.dates, self.data.items,
                                self.file_extents)

    def _write_directories(self, encoder):
        for directory in self.iso_dirs:
            encoder.directory(directory, True)
        for directory in self.joliet_dirs:
            encoder.directory(directory, False)

    def _write_head(self, encoder):
        """The path tables, volume descriptors and El Torito records (the
        sectors before the first directory; the system area aside)."""
        self._write_path_tables(encoder)
        sectors = (self.pvd_sector, self.joliet_svd_sector, self.evd_sector,
                   self.terminator_sector)
        # with -partition_offset the whole image's descriptors count appended
        # partitions in (xorriso 1.5.4, observed); the partition's own end at them.
        # A later session gives its own length with own_session_size, as
        # genisoimage -C and xorrisofs -C write it (cdrecord -isosize reads
        # it so), else the whole volume's (for a copy at sector 16).  Hybrid
        # areas belong to a first session (base 0).
        own = self.base if self.options.own_session_size else 0
        self._write_descriptor_set(encoder, sectors, 0, self.total_sectors
                                   if self.partition_offset else self.volume_sectors - own)
        if self.boot_record_sector is not None:
            encoder.put(self.boot_record_sector, vd.encode_boot_record(self.catalog_sector))
            encoder.put(self.catalog_sector, eltorito.encode_catalog(self._boot_entries))

    def _write_trees(self, encoder, delta=0, shift=0):
        """Directories and path tables (``delta``/``shift``: the partition's
        copy, see DirectoryEncoder.directory)."""
        for directory in self.iso_dirs:
            encoder.directory(directory, True, delta, shift)
        for directory in self.joliet_dirs:
            encoder.directory(directory, False, delta, shift)
        self._write_path_tables(encoder, delta, shift)

    def _write_path_tables(self, encoder, delta=0, shift=0):
        encoder.path_tables(self.iso_dirs, self.iso_l_table + delta,
                            self.iso_m_table + delta, delta - shift)
        if self.joliet_root:
            encoder.path_tables(self.joliet_dirs, self.joliet_l_table + delta,
                                self.joliet_m_table + delta, delta - shift)

    def _write_descriptor_set(self, encoder, sectors, moved, volume_sectors):
        """The primary, [Joliet], [ISO 9660:1999] descriptors and the
        terminator (ECMA-119 §8) at ``sectors``; ``moved`` is added to every
        address of the trees they describe."""
        opts = self.options
        pvd, joliet_svd, evd, terminator = sectors
        common = dict(volume_space_size=volume_sectors, **self._volume_dates())
        if opts.modification_date:
            # --modification-date= / -volume_date uuid: GRUB searches for it
            common["literal_date"] = opts.modification_date[:16].encode("ascii")
        meta_fields = dict(system_id=opts.system_id, volume_id=opts.volume_id,
                           volume_set_id=opts.volume_set_id, publisher_id=opts.publisher,
                           preparer_id=opts.preparer, application_id=opts.application,
                           copyright_file_id=opts.copyright_file,
                           abstract_file_id=opts.abstract_file,
                           bibliographic_file_id=opts.bibliographic_file)
        iso_root_record = encoder.root_record(self.iso_root, moved)
        tables = dict(path_table_size=self.iso_pt_size, l_path_table=self.iso_l_table + moved,
                      m_path_table=self.iso_m_table + moved, root_record=iso_root_record)
        encoder.put(pvd, vd.encode_volume_descriptor(
            vd.TYPE_PRIMARY, 1, **tables, **common, **self._plain(meta_fields)))
        if joliet_svd is not None:
            encoder.put(joliet_svd, vd.encode_volume_descriptor(
                vd.TYPE_SUPPLEMENTARY, 1, path_table_size=self.joliet_pt_size,
                l_path_table=self.joliet_l_table + moved,
                m_path_table=self.joliet_m_table + moved,
                root_record=encoder.root_record(self.joliet_root, moved), escape_sequences=b"%/E",
                **common, **meta_fields))
        if evd is not None:
            encoder.put(evd, vd.encode_volume_descriptor(
                vd.TYPE_SUPPLEMENTARY, 2, **tables, file_structure_version=2,
                **common, **self._plain(meta_fields)))
        encoder.put(terminator, vd.encode_terminator())

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

    @property
    def size(self):
        """Bytes of this session's stream (the whole image for a first session)."""
        return (self.total_sectors - self.base) * SECTOR

    def boot_catalog_bytes(self):
        return eltorito.encode_catalog(self._boot_entries) if self._boot_entries else None
