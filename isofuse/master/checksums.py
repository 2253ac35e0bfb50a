"""libisofs' MD5 checksums (xorrisofs --md5), which ``xorriso -md5 on
-check_md5`` and ``-check_md5_r`` verify (libisofs doc/checksums.txt,
doc/susp_aaip_2_0.txt, doc/susp_aaip_isofs_names.txt; docs/hybrid-boot.md).

On the disc, in session order:

* the superblock tag, in the sector after the descriptor set terminator:
  MD5 of the session's sectors before it;
* the tree tag, after the ISO 9660 directories: MD5 of everything before it;
* after the file data, the checksum array: 16-byte MD5s -- [0] the session
  from its start up to the array, [1..N] each file's data as written,
  [N+1] the MD5 of entries 0..N;
* the session tag after the array: MD5 of everything before it.

A tag is one line of text in a zero-padded sector:
``NAME pos=P range_start=S range_size=R [next=T] md5=H self=M\\n`` where
``self`` is the MD5 of the line up to the end of ``md5=H``.

Rock Ridge carries the rest as AAIP "AL" entries: each file has
"isofs.cx" (its array index, 4 bytes big endian), the root's "." has
"isofs.ca" (array start, array end, entry count as 4-byte numbers each
preceded by their length, then 1, 16 and "MD5").

The MD5s of the data are known only once every byte before the array has
been read, so the array and the session tag are produced on demand by one
pass over the stream (a second read of the file data).
"""

import hashlib

from ..format.sectors import SECTOR, sectors_for
MD5_SIZE = 16
SB_TAG = "libisofs_sb_checksum_tag_v1"
TREE_TAG = "libisofs_tree_checksum_tag_v1"
SESSION_TAG = "libisofs_checksum_tag_v1"
RELOCATED_SB_TAG = "libisofs_rlsb32_checksum_tag_v1"
AL_HEADER = 5                    # "AL", length, version 1, flags
AAIP_ISOFS = b"\x04"             # AAIP's short form of the namespace "isofs."
CX_ENTRY_SIZE = AL_HEADER + 2 + 3 + 2 + 4
CA_ENTRY_SIZE = AL_HEADER + 2 + 3 + 2 + 20
READ_CHUNK = 8 << 20


def encode_tag(name, pos, range_start, range_size, md5, next_tag=None):
    """A checksum tag sector (``md5``: 16 bytes)."""
    text = f"{name} pos={pos} range_start={range_start} range_size={range_size}"
    if next_tag is not None:
        text += f" next={next_tag}"
    return _tag_sector(text, md5)


def _tag_sector(text, md5):
    """The tag line ``text`` with its md5= and self= fields, in a zero-padded sector."""
    text += f" md5={md5.hex()}"
    text += f" self={hashlib.md5(text.encode('ascii')).hexdigest()}\n"
    return text.encode("ascii").ljust(SECTOR, b"\x00")


def relocated_superblock_tag(head, session_start):
    """The tag libisofs puts behind the descriptor copy at sectors 16-31 of
    a grown image ("libisofs_rlsb32_checksum_tag_v1", measured on xorriso
    1.5.4's grown images): ``head`` is sectors 0 up to the tag (the system
    area and the copy), which it covers; ``session_start`` names the
    session the copy is of.  Without it xorriso -md5 on checks the copy
    against the tag the first session left there, and refuses the image."""
    pos = len(head) // SECTOR
    text = (f"{RELOCATED_SB_TAG} pos={pos} range_start=0 range_size={pos} "
            f"session_start={session_start}")
    return _tag_sector(text, hashlib.md5(head).digest())


def _al_entry(name, value):
    """One AL entry holding one name/value pair (AAIP 2.0: component
    records as in RRIP's SL, flags 0: nothing continues)."""
    area = bytes((0, len(name))) + name + bytes((0, len(value))) + value
    return b"AL" + bytes((AL_HEADER + len(area), 1, 0)) + area


def _len_bytes(value, length):
    # AAIP's number form: a length byte, then the number most significant byte first
    return bytes((length,)) + value.to_bytes(length, "big")


def encode_cx(index):
    """The AL entry "isofs.cx" of a file: its checksum array index."""
    return _al_entry(AAIP_ISOFS + b"cx", index.to_bytes(4, "big"))


def encode_ca(start, end, count):
    """The AL entry "isofs.ca" of the root: the checked range starts at
    ``start``, the array at ``end`` with ``count`` entries of 16 bytes."""
    value = _len_bytes(start, 4) + _len_bytes(end, 4) + _len_bytes(count, 4) \
        + _len_bytes(MD5_SIZE, 1) + b"MD5"
    return _al_entry(AAIP_ISOFS + b"ca", value)


def array_sectors(files):
    return sectors_for(MD5_SIZE * (files + 2))


class ChecksumPlan:
    """Where the tags and the array go and what they hold.

    ``index_of(node)`` numbers the regular files (1.. in ISO tree order,
    hard links share one); the layout fixes the sectors with ``place``.
    """

    def __init__(self, session_start):
        self.session_start = session_start
        self._indexes = {}
        self.files = []                  # the node (or key) of index i + 1
        self.sb_tag_sector = self.tree_tag_sector = None
        self.array_sector = self.session_tag_sector = None
        self._tail = None

    def number(self, key):
        index = self._indexes.get(key)
        if index is None:
            self.files.append(key)
            index = self._indexes[key] = len(self.files)
        return index

    def index_of(self, key):
        return self._indexes.get(key)

    @property
    def entries(self):
        return len(self.files) + 2

    def ca_entry(self):
        return encode_ca(self.session_start, self.array_sector, self.entries)

    # ---- metadata tags (from the encoded metadata) ---------------------------------------------
    def put_metadata_tags(self, meta, base):
        """Write the superblock and tree tags into ``meta`` (the session's
        bytes up to the first file data, stream offset 0 = sector base)."""
        for sector, name, next_tag in ((self.sb_tag_sector, SB_TAG, self.tree_tag_sector),
                                       (self.tree_tag_sector, TREE_TAG,
                                        self.session_tag_sector)):
            offset = (sector - base) * SECTOR
            digest = hashlib.md5(memoryview(meta)[:offset]).digest()
            meta[offset:offset + SECTOR] = encode_tag(name, sector, self.session_start,
                                                      sector - self.session_start, digest,
                                                      next_tag)

    # ---- array and session tag (one pass over the stream) --------------------------------------
    def tail_reader(self, stream_factory, items_of_file):
        """A read(offset, size) for the DataItem holding the array and the
        session tag; ``items_of_file(key)`` gives a file's DataItem (None
        when it has no data in this session)."""
        def read(offset, size):
            if self._tail is None:
                self._tail = self._compute_tail(stream_factory, items_of_file)
            return self._tail[offset:offset + size]
        return read

    def _compute_tail(self, stream_factory, items_of_file):
        session = hashlib.md5()
        file_md5 = {}
        wanted = {}
        for key in self.files:
            item = items_of_file(key)
            if item is None:
                file_md5[key] = hashlib.md5().digest()
            else:
                wanted.setdefault(id(item), (item, []))[1].append(key)
        with stream_factory() as stream:
            end = (self.array_sector - self.session_start) * SECTOR
            position = 0
            for item, keys in sorted(wanted.values(), key=lambda pair: pair[0].start):
                position = _hash_range(stream, session, position, item.start)
                digest = hashlib.md5()
                position = _hash_range(stream, session, position, item.end, digest)
                for key in keys:
                    file_md5[key] = digest.digest()
            _hash_range(stream, session, position, end)
        entries = [session.digest()] + [file_md5[key] for key in self.files]
        entries.append(hashlib.md5(b"".join(entries)).digest())
        array = b"".join(entries).ljust(array_sectors(len(self.files)) * SECTOR, b"\x00")
        session.update(array)
        tag = encode_tag(SESSION_TAG, self.session_tag_sector, self.session_start,
                         self.session_tag_sector - self.session_start, session.digest())
        return array + tag


def _hash_range(stream, session, start, end, also=None):
    """Feed stream bytes [start, end) to ``session`` (and ``also``)."""
    position = start
    while position < end:
        data = stream.read(position, min(READ_CHUNK, end - position))
        if not data:
            raise OSError("the image ended before its checksum array")
        session.update(data)
        if also is not None:
            also.update(data)
        position += len(data)
    return position
