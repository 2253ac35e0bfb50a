"""Rock Ridge (RRIP) System Use entries for the records of the ISO tree.

Entries whose content is a disc location (CL, PL) are left as markers and
filled in once the layout has placed the directories; every entry's size is
fixed before that, so the layout never changes after sizing.
"""

import stat

from ..format import rockridge as rr
from ..format import susp
from ..format.dates import clamp_binary_seconds, encode_binary_date
from . import checksums as md5
from .options import ROCK_RATIONALIZED

CL_MARK = "CL"
PL_MARK = "PL"
CA_MARK = "CA"            # AAIP isofs.ca of the root: known once the data is placed
LOCATION_ENTRY_SIZE = 12  # CL and PL: header + 733 location
# The first 5 bytes of an NM entry holding a whole name, by the name's
# length (the entry is those and the name).
_NM_HEADERS = [rr.encode_nm_entry(bytes(n))[:5] for n in range(rr.MAX_PAYLOAD + 1)]
# PX of RRIP 1.10 and TF with its three times: the same length for every file
_PLAIN_ATTRIBUTES_LENGTH = len(rr.encode_px(0, 1, 0, 0)) + len(rr.encode_tf(0, 0, 0))


def rationalized_mode(mode):
    """mkisofs -r: everything readable by all, executable by all where any
    execute bit was set (and for directories), nothing writable, no
    set-id or sticky bits."""
    kind = stat.S_IFMT(mode)
    perms = 0o444
    if stat.S_ISDIR(mode) or mode & 0o111:
        perms |= 0o111
    return kind | perms


class RockRidgeWriter:
    def __init__(self, options, link_counts, serials, fixed_time=None, dates=None,
                 checksums=None):
        self.options = options
        # --md5: checksums.ChecksumPlan and the array index of a file's node
        self.checksums, self.checksum_index = checksums or (None, None)
        self.rationalize = options.rock == ROCK_RATIONALIZED
        self.link_counts = link_counts
        self.serials = serials
        self.fixed_time = fixed_time  # SOURCE_DATE_EPOCH: atime/ctime from mtime
        self._px_cache = {}
        self._tf_cache = {}
        # seconds -> the 7-byte date of clamp_binary_seconds(seconds): may
        # be shared with the directory records' dates
        self._dates = {} if dates is None else dates
        self._file_attribute_cache = {}

    def _px(self, node, nlink):
        if self.options.rrip_112:
            mode, uid, gid = node.mode, node.uid, node.gid
            if self.rationalize:
                mode, uid, gid = rationalized_mode(mode), 0, 0
            return rr.encode_px(mode, nlink, uid, gid, self.serials(node))
        # Most files share owner, mode and link count: encode each once
        # (keyed by the source's values, so a hit skips rationalizing too).
        key = (node.mode, nlink, node.uid, node.gid)
        px = self._px_cache.get(key)
        if px is None:
            mode, uid, gid = node.mode, node.uid, node.gid
            if self.rationalize:
                mode, uid, gid = rationalized_mode(mode), 0, 0
            px = self._px_cache[key] = rr.encode_px(mode, nlink, uid, gid)
        return px

    def _tf(self, node):
        mtime = node.mtime
        if self.fixed_time is not None:
            key = (min(mtime, self.fixed_time),) * 3
        else:
            key = (mtime, node.atime, node.ctime)
        tf = self._tf_cache.get(key)
        if tf is None:
            # Files seldom share all three times, but many share each one
            # (a folder unpacked at once): each second is encoded once.
            dates = self._dates
            modify, access, change = key
            tf = self._tf_cache[key] = rr.encode_tf_dates(
                dates.get(modify) or self._new_date(modify),
                dates.get(access) or self._new_date(access),
                dates.get(change) or self._new_date(change))
        return tf

    def _new_date(self, seconds):
        date = self._dates[seconds] = encode_binary_date(clamp_binary_seconds(seconds))
        return date

    def attributes(self, node):
        """PX, TF and the type-specific entries of a node (no name)."""
        if node.is_dir:
            nlink = 2 + sum(1 for c in node.children.values() if c.is_dir)
        else:
            # a file with one link on the source is one name on the disc
            nlink = 1 if node.nlink == 1 else self.link_counts(node)
        entries = [self._px(node, nlink), self._tf(node)]
        if node.symlink is not None:
            entries.extend(rr.encode_sl(node.symlink))
        elif stat.S_ISCHR(node.mode) or stat.S_ISBLK(node.mode):
            entries.append(rr.encode_pn(node.rdev))
        return entries

    def _plain(self, node):
        """Whether a regular file with one link has the plain entries: its
        name in one NM entry, PX without a serial number (RRIP 1.10), TF."""
        return len(node.name) <= rr.MAX_PAYLOAD and not self.options.rrip_112

    def plain_file_su_length(self, node):
        """len(plain_file_su(node)), without encoding anything (planning
        measures most records before it makes them); None where that is
        None."""
        if not self._plain(node):
            return None
        extra = md5.CX_ENTRY_SIZE if self.checksums is not None else 0
        return 5 + len(node.name) + _PLAIN_ATTRIBUTES_LENGTH + extra

    def plain_file_su(self, node):
        """The System Use bytes of a regular file with one link and plain
        entries (NM, PX, TF joined), or None for any other entry: the
        common case, once per file."""
        if not self._plain(node):
            return None
        name = node.name
        # PX and TF depend on these values alone: most files share them
        key = (node.mode, node.uid, node.gid, node.mtime, node.atime, node.ctime)
        attributes = self._file_attribute_cache.get(key)
        if attributes is None:
            attributes = self._file_attribute_cache[key] = self._px(node, 1) + self._tf(node)
        if self.checksums is not None:
            return _NM_HEADERS[len(name)] + name + attributes + \
                md5.encode_cx(self.checksum_index(node))
        return _NM_HEADERS[len(name)] + name + attributes

    def for_child(self, entry):
        """Entries of a child's record: NM, attributes, CL/RE markers."""
        node = entry.node
        entries = rr.encode_nm(node.name)
        entries.extend(self.attributes(node))
        if entry.is_placeholder:
            entries.append((CL_MARK, entry.relocated_to))
        elif entry.is_relocated or entry.is_relocation_dir:
            # RRIP §4.1.5.3: RE hides a moved directory from its rr_moved
            # listing; libisofs also puts it on rr_moved's own record, so
            # Rock Ridge readers (Linux, xorriso, libarchive) hide rr_moved.
            entries.append(rr.encode_re())
        if self.checksums is not None and node.is_regular:
            index = self.checksum_index(node)
            if index is not None:               # (not data of an earlier session)
                entries.append(md5.encode_cx(index))
        return entries

    def for_self(self, directory, is_root):
        entries = []
        if is_root:
            entries.append(susp.encode_sp(0))  # SUSP §5.3: first in the root's "."
        entries.extend(self.attributes(directory.node))
        if is_root:
            ident, desc, source = rr.ER_RRIP_112 if self.options.rrip_112 else rr.ER_RRIP_110
            entries.append(susp.encode_er(ident, desc, source))
        if directory.is_relocation_dir:
            entries.append(rr.encode_re())   # as libisofs marks rr_moved's "."
        if is_root and self.checksums is not None:
            entries.append((CA_MARK, self.checksums))
        return entries

    def for_parent(self, directory):
        parent = directory.parent or directory
        entries = self.attributes(parent.node)
        if directory.is_relocated:
            # RRIP §4.1.5.2: ".." of a moved directory names its real parent.
            entries.append((PL_MARK, directory.placeholder.parent))
        elif directory.is_relocation_dir:
            entries.append(rr.encode_re())   # and its ".."
        return entries


def entry_size(item):
    if not isinstance(item, tuple):
        return len(item)
    return md5.CA_ENTRY_SIZE if item[0] == CA_MARK else LOCATION_ENTRY_SIZE


def resolve(item, moved=0):
    """An entry's bytes; CL/PL point ``moved`` sectors from their target
    (-partition_offset's second tree)."""
    if not isinstance(item, tuple):
        return item
    mark, target = item
    if mark == CA_MARK:
        return target.ca_entry()
    location = target.extent + moved
    return rr.encode_cl(location) if mark == CL_MARK else rr.encode_pl(location)
