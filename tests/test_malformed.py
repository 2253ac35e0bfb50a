"""Malformed images: clean errors for image-level damage, a live mount with
EIO (or a missing entry) for entry-level damage.

Each case copies one small valid image (xorriso -as mkisofs -R -J -z) and
patches bytes in one place.  Reader-level checks go through
``isofuse.reader.open_image``; mount-level checks run ``isofuse mount -f`` as
a child process and touch the mount only from short-lived child processes
(ls, cat, find, stat) with timeouts, so a hung request cannot hang pytest.
"""

import os
import random
import subprocess

import pytest

from isofuse.reader import CorruptEntry, ReaderError, open_image

import malformed_support as ms
from malformed_support import (SECTOR, FILES, ZDATA, ZISOFS_NAME, cat, ce_entry, ls,
                               nm_entry, patch, px_entry, replace_system_use, run,
                               set_extent, set_size, susp_entry, write_copy)

# The reader reports each damaged entry of these images with a warning: that
# is its contract (a corrupt image is named, not hidden); other warnings fail.
pytestmark = [pytest.mark.timeout(60), pytest.mark.allow_log(r"damaged\.iso: ")]

ROOT_NAMES = sorted(["hello.txt", "other.txt", "victim.txt", "sub", "zzz_big.bin",
                     ZISOFS_NAME, "link"])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    work = tmp_path_factory.mktemp("malformed")
    path = ms.build_image(str(work))
    return path, ms.Layout(path)


@pytest.fixture
def damaged(base, tmp_path):
    """damaged(patcher) -> path of a patched copy of the base image."""
    path, layout = base

    def make(patcher, name="damaged.iso"):
        data = bytearray(layout.data)
        result = patcher(data, layout)
        if result is not None:
            data = result
        return write_copy(tmp_path, name, data)
    return make


@pytest.fixture
def mounts(tmp_path):
    m = ms.Mounts(tmp_path)
    yield m
    m.cleanup()


def listing(image, path=""):
    node = image.resolve(path)
    assert node is not None, path
    return sorted(c.name.decode() for c in image.listdir(node))


def read_all(image, path):
    node = image.resolve(path)
    return image.read(node, 0, node.size)


def assert_one_line_reader_error(path):
    with pytest.raises(ReaderError) as info:
        open_image(path)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def assert_mount_refused(path, tmp_path):
    mnt = os.path.join(str(tmp_path), "refused")
    os.makedirs(mnt, exist_ok=True)
    try:
        r = subprocess.run(ms.ISOFUSE + ["mount", path, mnt], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    finally:
        if ms.is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt])
            pytest.fail("a damaged image was mounted")
    err = r.stderr.decode()
    assert r.returncode != 0
    assert err.startswith("isofuse mount: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert os.listdir(mnt) == []


# ---- sanity: the undamaged image -----------------------------------------------

def test_base_image_reads(base):
    path, layout = base
    with open_image(path) as image:
        assert listing(image) == ROOT_NAMES
        assert read_all(image, "hello.txt") == FILES["hello.txt"]
        assert read_all(image, ZISOFS_NAME) == ZDATA
        assert image.resolve(ZISOFS_NAME).zisofs is not None
        assert image.resolve("link").symlink == b"hello.txt"


# ---- image-level damage: ReaderError / refused mount ---------------------------------

def _random_bytes(data, layout):
    return bytearray(random.Random(7).randbytes(len(data)))


def _zeros(data, layout):
    return bytearray(len(data))


def _cut_before_descriptors(data, layout):
    return data[:16 * SECTOR + 100]


def _cut_in_system_area(data, layout):
    return data[:5 * SECTOR]


def _no_cd001(data, layout):
    for sector in range(16, 20):
        patch(data, sector * SECTOR + 1, b"XX001")


def _pvd_block_size_512(data, layout):
    # the only primary descriptor refused (ECMA-119 §8.4.12); no other PVD
    patch(data, 16 * SECTOR + 128, both16_(512))


def both16_(v):
    return ms.both16(v)


def _no_primary(data, layout):
    data[16 * SECTOR] = 3      # the PVD becomes a partition descriptor (§8.6)


def _both_root_records_garbage(data, layout):
    # PVD and Joliet SVD root records (§8.4.18, byte 156) get length 1
    for sector in range(16, 20):
        if data[sector * SECTOR + 1:sector * SECTOR + 6] == b"CD001" \
                and data[sector * SECTOR] in (1, 2):
            data[sector * SECTOR + 156] = 1


IMAGE_LEVEL = {
    "random": _random_bytes,
    "zeros": _zeros,
    "cut-before-descriptors": _cut_before_descriptors,
    "cut-in-system-area": _cut_in_system_area,
    "no-cd001": _no_cd001,
    "pvd-block-size-512": _pvd_block_size_512,
    "no-primary": _no_primary,
    "both-root-records-garbage": _both_root_records_garbage,
}


def test_pvd_root_record_garbage_falls_back_to_joliet(damaged):
    def patcher(data, layout):
        data[16 * SECTOR + 156] = 1
    with open_image(damaged(patcher)) as image:
        assert image.view == "joliet"
        # Joliet has no symbolic links
        assert {"hello.txt", "other.txt", "sub", "zzz_big.bin"} <= set(listing(image))
        assert read_all(image, "sub/deeper/leaf.txt") == FILES["sub/deeper/leaf.txt"]


@pytest.mark.parametrize("case", sorted(IMAGE_LEVEL))
def test_image_level_reader_error(damaged, case):
    message = assert_one_line_reader_error(damaged(IMAGE_LEVEL[case]))
    assert "damaged.iso" in message


@pytest.mark.mount
@pytest.mark.parametrize("case", ["random", "zeros", "cut-before-descriptors",
                                  "pvd-block-size-512"])
def test_image_level_mount_refused(damaged, tmp_path, case):
    assert_mount_refused(damaged(IMAGE_LEVEL[case]), tmp_path)


def test_empty_file_reader_error(tmp_path):
    assert_one_line_reader_error(write_copy(tmp_path, "empty.iso", b""))


def _cut_after_descriptors(data, layout):
    # descriptors (PVD, Joliet SVD, terminator) survive; every directory is gone
    assert layout.root_sector > 18
    return data[:layout.root_sector * SECTOR]


def test_cut_after_descriptors_reader_error(damaged):
    assert_one_line_reader_error(damaged(_cut_after_descriptors))


@pytest.mark.mount
def test_cut_after_descriptors_mount_refused(damaged, tmp_path):
    assert_mount_refused(damaged(_cut_after_descriptors), tmp_path)


def test_cut_after_descriptors_never_crashes(damaged):
    # Whatever the policy, the only exceptions are the reader's own.
    path = damaged(_cut_after_descriptors)
    try:
        image = open_image(path)
    except ReaderError:
        return
    with image:
        with pytest.raises(CorruptEntry):
            image.listdir(image.root)


# ---- truncated in the middle of file data ---------------------------------------------

def _cut_in_big_file(data, layout):
    start = layout.extent("zzz_big.bin") * SECTOR
    # every other file's data lies before the big file's
    for rel, (_, extents, size) in layout.nodes.items():
        if rel != "zzz_big.bin" and size and extents[0][0] * SECTOR >= start \
                and not rel.startswith("link"):
            raise AssertionError(f"{rel} lies after the big file")
    return data[:start + 50000]


def test_cut_in_file_data_reader(damaged):
    with open_image(damaged(_cut_in_big_file)) as image:
        assert listing(image) == ROOT_NAMES
        assert read_all(image, "hello.txt") == FILES["hello.txt"]
        assert read_all(image, "sub/deeper/leaf.txt") == FILES["sub/deeper/leaf.txt"]
        big = image.resolve("zzz_big.bin")
        assert big.size == len(FILES["zzz_big.bin"])
        assert image.read(big, 0, 4096) == FILES["zzz_big.bin"][:4096]
        with pytest.raises(CorruptEntry):
            image.read(big, 0, big.size)
        with pytest.raises(CorruptEntry):
            image.read(big, 60000, 100)


@pytest.mark.mount
def test_cut_in_file_data_mount(damaged, mounts):
    mnt = mounts.mount(damaged(_cut_in_big_file))
    assert ls(mnt)[1] == ROOT_NAMES
    rc, out, err = cat(os.path.join(mnt, "zzz_big.bin"))
    assert rc != 0 and "Input/output error" in err
    r = run(["head", "-c", "4096", os.path.join(mnt, "zzz_big.bin")])
    assert r.stdout == FILES["zzz_big.bin"][:4096]
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    assert cat(os.path.join(mnt, "sub/inner.txt"))[1] == FILES["sub/inner.txt"]
    mounts.assert_alive(mnt)


# ---- continuation areas (SUSP §5.1) ----------------------------------------------------
#
# xorriso leaves sectors 1-15 (system area) zero: crafted continuation areas
# go there.  hello.txt's own System Use area is replaced by NM + CE.

def _with_ce(first_ce, areas):
    """Patcher: hello.txt gets NM "hello.txt" + ``first_ce``; ``areas`` maps
    (block, offset) to the bytes of a continuation area."""
    def patcher(data, layout):
        replace_system_use(data, layout, "hello.txt", nm_entry(b"hello.txt") + first_ce)
        for (block, offset), raw in areas.items():
            assert 1 <= block < 16 and offset + len(raw) <= SECTOR
            patch(data, block * SECTOR + offset, raw)
    return patcher


def _ce_chain(hops, final=px_entry(0o100600)):
    """A chain of ``hops`` CE entries; the last area holds ``final``."""
    slots = [(1 + i // 16, (i % 16) * 128) for i in range(hops)]
    areas = {}
    for i, (block, offset) in enumerate(slots):
        if i + 1 < len(slots):
            nb, no = slots[i + 1]
            nxt = ce_entry(nb, no, 28 if i + 2 < len(slots) else len(final))
            areas[(block, offset)] = nxt
        else:
            areas[(block, offset)] = final
    first_len = 28 if hops > 1 else len(final)
    return _with_ce(ce_entry(slots[0][0], slots[0][1], first_len), areas)


_SELF_AREA = px_entry(0o100600) + ce_entry(1, 0, 36 + 28)
_A = px_entry(0o100600) + ce_entry(2, 0, 28)
_B = ce_entry(1, 0, len(_A))

CE_CASES = {
    # name: (patcher, mode hello.txt must get, or None: not checked)
    "chain-5-followed": (_ce_chain(5), 0o600),
    "loop-self": (_with_ce(ce_entry(1, 0, len(_SELF_AREA)), {(1, 0): _SELF_AREA}), 0o600),
    "loop-two-areas": (_with_ce(ce_entry(1, 0, len(_A)), {(1, 0): _A, (2, 0): _B}), 0o600),
    "chain-40": (_ce_chain(40), None),
    "beyond-image": (_with_ce(ce_entry(10 ** 6, 0, 100), {}), None),
    "beyond-image-huge": (_with_ce(ce_entry(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), {}), None),
    "past-its-block": (_with_ce(ce_entry(1, 2000, 200), {}), None),
}


@pytest.mark.parametrize("case", sorted(CE_CASES))
def test_ce_reader(damaged, case):
    patcher, mode = CE_CASES[case]
    with open_image(damaged(patcher)) as image:
        assert listing(image) == ROOT_NAMES
        hello = image.resolve("hello.txt")
        assert hello is not None
        assert read_all(image, "hello.txt") == FILES["hello.txt"]
        if mode is not None:
            assert hello.mode & 0o7777 == mode
        # the neighbours keep their Rock Ridge data
        assert image.resolve("other.txt").mode & 0o7777 == ms.FILE_MODE


def test_ce_chain_40_is_capped(damaged):
    # the kernel stops after 32 hops; the PX at hop 40 is never reached
    with open_image(damaged(_ce_chain(40))) as image:
        assert image.resolve("hello.txt").mode & 0o7777 != 0o600


@pytest.mark.mount
@pytest.mark.parametrize("case", ["loop-self", "chain-40", "beyond-image"])
def test_ce_mount(damaged, mounts, case):
    mnt = mounts.mount(damaged(CE_CASES[case][0]))
    assert ls(mnt)[1] == ROOT_NAMES
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    assert cat(os.path.join(mnt, "sub/deeper/leaf.txt"))[1] == FILES["sub/deeper/leaf.txt"]
    mounts.assert_alive(mnt)


# ---- directory and file extents beyond the image --------------------------------------

def _dir_beyond(data, layout):
    set_extent(data, layout.record_offset("sub"), 10 ** 6)


def _file_beyond(data, layout):
    set_extent(data, layout.record_offset("victim.txt"), 10 ** 6)


def _file_partly_beyond(data, layout):
    # starts inside the image, runs past its end
    set_size(data, layout.record_offset("victim.txt"),
             len(data) - layout.extent("victim.txt") * SECTOR + 5000)


def test_dir_extent_beyond_image_reader(damaged):
    with open_image(damaged(_dir_beyond)) as image:
        assert listing(image) == ROOT_NAMES
        with pytest.raises(CorruptEntry):
            image.listdir(image.resolve("sub"))
        assert read_all(image, "hello.txt") == FILES["hello.txt"]


@pytest.mark.mount
def test_dir_extent_beyond_image_mount(damaged, mounts):
    mnt = mounts.mount(damaged(_dir_beyond))
    assert ls(mnt)[1] == ROOT_NAMES
    rc, _, err = ls(os.path.join(mnt, "sub"))
    assert rc != 0 and "Input/output error" in err
    assert cat(os.path.join(mnt, "other.txt"))[1] == FILES["other.txt"]
    mounts.assert_alive(mnt)


@pytest.mark.parametrize("patcher", [_file_beyond, _file_partly_beyond])
def test_file_extent_beyond_image_reader(damaged, patcher):
    with open_image(damaged(patcher)) as image:
        assert listing(image) == ROOT_NAMES
        victim = image.resolve("victim.txt")
        with pytest.raises(CorruptEntry):
            image.read(victim, 0, victim.size)
        assert read_all(image, "hello.txt") == FILES["hello.txt"]


@pytest.mark.mount
def test_file_extent_beyond_image_mount(damaged, mounts):
    mnt = mounts.mount(damaged(_file_beyond))
    victim = os.path.join(mnt, "victim.txt")
    r = run(["stat", "-c", "%s", victim])
    assert r.returncode == 0 and int(r.stdout) == len(FILES["victim.txt"])
    rc, _, err = cat(victim)
    assert rc != 0 and "Input/output error" in err
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    assert ls(mnt)[1] == ROOT_NAMES
    mounts.assert_alive(mnt)


# ---- both-byte-order mismatch (ECMA-119 §7.3.3): little endian wins -----------------

def _size_be_wrong(data, layout):
    off = layout.record_offset("hello.txt") + 14        # BE half of the 733 size
    patch(data, off, (999999).to_bytes(4, "big"))


def _extent_be_wrong(data, layout):
    off = layout.record_offset("hello.txt") + 6         # BE half of the 733 extent
    patch(data, off, (10 ** 6).to_bytes(4, "big"))


@pytest.mark.parametrize("patcher", [_size_be_wrong, _extent_be_wrong])
def test_le_be_mismatch_reader(damaged, patcher):
    with open_image(damaged(patcher)) as image:
        hello = image.resolve("hello.txt")
        assert hello.size == len(FILES["hello.txt"])
        assert read_all(image, "hello.txt") == FILES["hello.txt"]


@pytest.mark.mount
def test_le_be_mismatch_mount(damaged, mounts):
    mnt = mounts.mount(damaged(_size_be_wrong))
    r = run(["stat", "-c", "%s", os.path.join(mnt, "hello.txt")])
    assert int(r.stdout) == len(FILES["hello.txt"])
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    mounts.assert_alive(mnt)


# ---- garbage in one record's System Use area -------------------------------------------

def _susp_all_ff(data, layout):
    start, end = layout.su_span("victim.txt")
    patch(data, start, b"\xff" * (end - start))


def _susp_random(data, layout):
    start, end = layout.su_span("victim.txt")
    patch(data, start, random.Random(3).randbytes(end - start))


def _susp_bad_length_after_nm(data, layout):
    replace_system_use(data, layout, "victim.txt",
                       nm_entry(b"victim.txt") + b"ZZ\x02\x01" + px_entry(0o100600))


def _susp_short_px(data, layout):
    replace_system_use(data, layout, "victim.txt",
                       susp_entry(b"PX", b"\x00" * 8) + nm_entry(b"victim.txt"))


def _susp_huge_nm(data, layout):
    replace_system_use(data, layout, "victim.txt", b"NM\xff\x01\x00victim")


SUSP_GARBAGE = {"all-ff": _susp_all_ff, "random": _susp_random,
                "bad-length-after-nm": _susp_bad_length_after_nm,
                "short-px": _susp_short_px, "nm-past-area": _susp_huge_nm}


@pytest.mark.parametrize("case", sorted(SUSP_GARBAGE))
def test_garbage_susp_reader(damaged, case):
    with open_image(damaged(SUSP_GARBAGE[case])) as image:
        names = listing(image)
        # the damaged entry keeps its ISO 9660 name (victim.txt;1 -> victim.txt)
        # or is missing; everything else lists with its Rock Ridge data
        assert set(names) - {"victim.txt"} == set(ROOT_NAMES) - {"victim.txt"}
        assert image.resolve("other.txt").mode & 0o7777 == ms.FILE_MODE
        assert image.resolve("link").symlink == b"hello.txt"
        victim = image.resolve("victim.txt")
        if victim is not None:
            assert read_all(image, "victim.txt") == FILES["victim.txt"]


@pytest.mark.mount
def test_garbage_susp_mount(damaged, mounts):
    mnt = mounts.mount(damaged(_susp_random))
    rc, names, _ = ls(mnt)
    assert rc == 0
    assert set(names) - {"victim.txt"} == set(ROOT_NAMES) - {"victim.txt"}
    r = run(["stat", "-c", "%a", os.path.join(mnt, "other.txt")])
    assert r.stdout.strip() == b"640"
    assert run(["readlink", os.path.join(mnt, "link")]).stdout.strip() == b"hello.txt"
    mounts.assert_alive(mnt)


# ---- directory record length byte 1..32 ------------------------------------------------

def _bad_record_length(length):
    def patcher(data, layout):
        data[layout.record_offset("other.txt")] = length
    return patcher


def _root_names_before(layout, rel):
    """Names whose records come before ``rel``'s in the root's sector."""
    pos = layout.record_offset(rel)
    return sorted(name for name, (p, _, _) in layout.nodes.items()
                  if "/" not in name and p // SECTOR == pos // SECTOR and p < pos)


@pytest.mark.parametrize("length", list(range(1, 33)))
def test_record_length_too_small_reader(damaged, base, length):
    _, layout = base
    before = _root_names_before(layout, "other.txt")
    assert before  # hello.txt, link, ... precede other.txt
    with open_image(damaged(_bad_record_length(length))) as image:
        names = listing(image)
        assert set(before) <= set(names) <= set(ROOT_NAMES)
        assert "other.txt" not in names
        assert read_all(image, "hello.txt") == FILES["hello.txt"]


@pytest.mark.mount
def test_record_length_too_small_mount(damaged, base, mounts):
    _, layout = base
    mnt = mounts.mount(damaged(_bad_record_length(7)))
    rc, names, _ = ls(mnt)
    assert rc == 0
    assert set(_root_names_before(layout, "other.txt")) <= set(names)
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    mounts.assert_alive(mnt)


# ---- directory loops ----------------------------------------------------------------------

def _deeper_to_root(data, layout):
    set_extent(data, layout.record_offset("sub/deeper"), layout.root_sector)


def _deeper_to_parent(data, layout):
    set_extent(data, layout.record_offset("sub/deeper"), layout.extent("sub"))


def _sub_to_root(data, layout):
    set_extent(data, layout.record_offset("sub"), layout.root_sector)


def _sub_to_file_data(data, layout):
    set_extent(data, layout.record_offset("sub"), layout.extent("hello.txt"))


def _sub_to_big_data(data, layout):
    set_extent(data, layout.record_offset("sub"), layout.extent("zzz_big.bin") + 1)


LOOPS = {"deeper-to-root": _deeper_to_root, "deeper-to-parent": _deeper_to_parent,
         "sub-to-root": _sub_to_root, "sub-to-file-data": _sub_to_file_data,
         "sub-to-big-data": _sub_to_big_data}


def _walk(image, node, seen, depth=0):
    assert depth < 50
    for child in image.listdir(node):
        seen.append(child.name)
        if child.is_dir:
            try:
                _walk(image, child, seen, depth + 1)
            except CorruptEntry:
                pass


@pytest.mark.parametrize("case", sorted(LOOPS))
def test_directory_loop_reader(damaged, case):
    with open_image(damaged(LOOPS[case])) as image:
        seen = []
        _walk(image, image.root, seen)
        assert len(seen) < 100
        assert set(ROOT_NAMES) - {"sub"} <= {n.decode() for n in seen}
        assert read_all(image, "hello.txt") == FILES["hello.txt"]


@pytest.mark.mount
@pytest.mark.parametrize("case", ["deeper-to-root", "sub-to-root"])
def test_directory_loop_find_terminates(damaged, mounts, case):
    mnt = mounts.mount(damaged(LOOPS[case]))
    r = run(["find", mnt], timeout=20)
    found = r.stdout.decode().splitlines()
    assert len(found) < 100
    for name in ("hello.txt", "zzz_big.bin", "link"):
        assert os.path.join(mnt, name) in found
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    mounts.assert_alive(mnt)


# ---- zisofs with a corrupt block table / zlib stream ---------------------------------

def _zisofs_patch(fn):
    def patcher(data, layout):
        start = layout.extent(ZISOFS_NAME) * SECTOR
        # the stored file: 16-byte header, then (blocks + 1) u32 LE offsets
        blocks = (len(ZDATA) + 32767) >> 15
        table = [int.from_bytes(data[start + 16 + 4 * i:start + 20 + 4 * i], "little")
                 for i in range(blocks + 1)]
        fn(data, start, table)
    return patcher


def _z_table_decreasing(data, start, table):
    patch(data, start + 16 + 4, (table[0] - 1).to_bytes(4, "little"))


def _z_table_past_data(data, start, table):
    patch(data, start + 16 + 4 * (len(table) - 1), (10 ** 7).to_bytes(4, "little"))


def _z_stream_garbage(data, start, table):
    patch(data, start + table[0], b"\xff" * (table[1] - table[0]))


def _z_stream_truncated(data, start, table):
    # the first block's stream ends early (a valid deflate header, then zeros)
    patch(data, start + table[0] + 2, bytes(table[1] - table[0] - 2))


def _z_bad_magic(data, start, table):
    patch(data, start, b"\x00" * 8)


def _z_block_log2(data, start, table):
    data[start + 13] = 30


ZISOFS_CASES = {"table-decreasing": _z_table_decreasing,
                "table-past-data": _z_table_past_data,
                "stream-garbage": _z_stream_garbage,
                "stream-truncated": _z_stream_truncated,
                "bad-magic": _z_bad_magic, "block-log2-30": _z_block_log2}


@pytest.mark.parametrize("case", sorted(ZISOFS_CASES))
def test_zisofs_corrupt_reader(damaged, case):
    with open_image(damaged(_zisofs_patch(ZISOFS_CASES[case]))) as image:
        node = image.resolve(ZISOFS_NAME)
        assert node.zisofs is not None
        with pytest.raises(CorruptEntry):
            image.read(node, 0, node.size)
        assert read_all(image, "hello.txt") == FILES["hello.txt"]


@pytest.mark.mount
@pytest.mark.parametrize("case", ["table-decreasing", "stream-garbage"])
def test_zisofs_corrupt_mount(damaged, mounts, case):
    mnt = mounts.mount(damaged(_zisofs_patch(ZISOFS_CASES[case])))
    rc, _, err = cat(os.path.join(mnt, ZISOFS_NAME))
    assert rc != 0 and "Input/output error" in err
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    assert ls(mnt)[1] == ROOT_NAMES
    mounts.assert_alive(mnt)


# ---- several kinds of damage in one image, one mount -------------------------------------

@pytest.mark.mount
def test_many_damages_one_mount(damaged, mounts):
    def patcher(data, layout):
        _file_beyond(data, layout)
        _dir_beyond(data, layout)
        _zisofs_patch(_z_stream_garbage)(data, layout)
        _ce_chain(40)(data, layout)
    mnt = mounts.mount(damaged(patcher))
    for _ in range(3):   # repeated failures must not wear the daemon down
        assert cat(os.path.join(mnt, "victim.txt"))[0] != 0
        assert cat(os.path.join(mnt, ZISOFS_NAME))[0] != 0
        assert ls(os.path.join(mnt, "sub"))[0] != 0
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    assert cat(os.path.join(mnt, "other.txt"))[1] == FILES["other.txt"]
    mounts.assert_alive(mnt)


# ---- Rock Ridge entries with impossible values ------------------------------------------

def _pn_garbage(data, layout):
    replace_system_use(data, layout, "victim.txt",
                       nm_entry(b"victim.txt") + px_entry(0o20644)
                       + susp_entry(b"PN", ms.both32(0xFFFFFFFF) + ms.both32(0xFFFFFFFF)))


def _symlink_without_sl(data, layout):
    replace_system_use(data, layout, "victim.txt",
                       nm_entry(b"victim.txt") + px_entry(0o120777))


def _cl_entry(target):
    def patcher(data, layout):
        replace_system_use(data, layout, "victim.txt",
                           nm_entry(b"victim.txt") + px_entry(0o40755)
                           + susp_entry(b"CL", ms.both32(target(layout))))
    return patcher


RR_VALUES = {
    "pn-garbage": _pn_garbage,
    "symlink-without-sl": _symlink_without_sl,
    "cl-to-root": _cl_entry(lambda layout: layout.root_sector),
    "cl-beyond-image": _cl_entry(lambda layout: 10 ** 6),
    "cl-to-file-data": _cl_entry(lambda layout: layout.extent("hello.txt")),
    "cl-to-sector-0": _cl_entry(lambda layout: 0),
}


@pytest.mark.parametrize("case", sorted(RR_VALUES))
def test_impossible_rock_ridge_values_reader(damaged, case):
    with open_image(damaged(RR_VALUES[case])) as image:
        names = listing(image)
        assert set(names) - {"victim.txt"} == set(ROOT_NAMES) - {"victim.txt"}
        seen = []
        _walk(image, image.root, seen)
        assert len(seen) < 100


@pytest.mark.mount
@pytest.mark.parametrize("case", ["pn-garbage", "symlink-without-sl", "cl-to-root"])
def test_impossible_rock_ridge_values_mount(damaged, mounts, case):
    mnt = mounts.mount(damaged(RR_VALUES[case]))
    rc, names, _ = ls(mnt)
    assert rc == 0
    assert set(names) - {"victim.txt"} == set(ROOT_NAMES) - {"victim.txt"}
    run(["ls", "-l", mnt])
    run(["readlink", os.path.join(mnt, "victim.txt")])
    r = run(["find", mnt], timeout=20)
    assert len(r.stdout.splitlines()) < 100
    assert cat(os.path.join(mnt, "hello.txt"))[1] == FILES["hello.txt"]
    mounts.assert_alive(mnt)
