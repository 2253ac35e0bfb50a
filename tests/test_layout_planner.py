"""The record encoder, the sector rule and the per-directory planner,
held to images that genisoimage and xorriso wrote, and the size model held
to whole layouts (df == -print-size) on the options it counts itself."""

import os
import random
import struct
import subprocess
import sys

import pytest

from isofuse.format import FormatError
from isofuse.format import dirrecord as dr
from isofuse.master.naming import NameRules
from isofuse.format.sectors import SECTOR
from isofuse.master.layout import Layout
from isofuse.master.options import MasterOptions
from isofuse.master.placement import place_descriptors
from isofuse.master.planner import MAX_EXTENT_BYTES, extent_count_for, extent_lengths_for
from isofuse.master.sizing import SizeModel
from isofuse.master.sourcetree import scan

T0 = 1_700_000_000


def _tree(root, files=150, seed=7):
    """One folder of ``files`` files with names long enough that its
    directory takes several sectors, and a subfolder."""
    rng = random.Random(seed)
    os.makedirs(root / "sub")
    for i in range(files):
        name = f"file{i:04d}_" + "n" * rng.randint(0, 40) + ".txt"
        (root / name).write_bytes(b"x" * rng.randint(0, 5000))
        os.utime(root / name, (T0 + i, T0 + i))
    (root / "sub" / "inner.txt").write_bytes(b"inner")
    return root


def _image(tool, tmp_path, src, *options):
    out = tmp_path / f"{tool}.iso"
    argv = {"genisoimage": ["genisoimage", "-quiet"],
            "xorriso": ["xorriso", "-as", "mkisofs", "-quiet"]}[tool]
    subprocess.run(argv + list(options) + ["-o", str(out), str(src)], check=True,
                   capture_output=True)
    return out.read_bytes()


def _root_extent(image):
    """The root directory's (extent, size) from the primary descriptor's
    root record (ECMA-119 §8.4.18, at byte 156)."""
    pvd = image[16 * SECTOR:17 * SECTOR]
    root = dr.decode_record(pvd, 156)
    return root.extent, root.data_length


def _records_with_offsets(extent):
    """[(offset, length)] of the records of an extent, read sector by sector
    (a zero length byte ends a sector's records)."""
    found = []
    for start in range(0, len(extent), SECTOR):
        pos = start
        while pos < start + SECTOR and extent[pos]:
            found.append((pos, extent[pos]))
            pos += extent[pos]
    return found


@pytest.mark.parametrize("tool,options", [("genisoimage", ("-R",)),
                                          ("xorriso", ("-R", "-J")),
                                          ("genisoimage", ())])
def test_record_offsets_place_records_as_other_masters_do(tmp_path, tool, options):
    """ECMA-119 §6.8.1.1: no record crosses a sector; the next starts the
    next sector.  Given the lengths of the records another master wrote,
    record_offsets puts each where that master did, and extent_bytes is the
    extent's recorded size."""
    image = _image(tool, tmp_path, _tree(tmp_path / "src"), *options)
    extent, size = _root_extent(image)
    found = _records_with_offsets(image[extent * SECTOR:extent * SECTOR + size])
    assert size > 2 * SECTOR            # the rule is exercised
    lengths = [length for _, length in found]
    assert list(dr.record_offsets(lengths)) == [offset for offset, _ in found]
    assert dr.extent_bytes(lengths) == size


@pytest.mark.parametrize("tool", ["genisoimage", "xorriso"])
def test_encoder_remakes_other_masters_records_byte_for_byte(tmp_path, tool):
    """encode_record_into, fed the fields of a record genisoimage or xorriso
    wrote (decoded by hand from §9.1), writes the same bytes."""
    image = _image(tool, tmp_path, _tree(tmp_path / "src", files=40), "-R")
    extent, size = _root_extent(image)
    data = image[extent * SECTOR:extent * SECTOR + size]
    checked = 0
    for offset, length in _records_with_offsets(data):
        raw = data[offset:offset + length]
        extent_le, length_le = struct.unpack_from("<I", raw, 2)[0], \
            struct.unpack_from("<I", raw, 10)[0]
        date7, flags, name_length = raw[18:25], raw[25], raw[32]
        identifier = raw[33:33 + name_length]
        system_use = raw[33 + name_length + (1 - name_length % 2):]
        out = bytearray(length)
        written = dr.encode_record_into(out, 0, extent_le, length_le, date7, flags,
                                        name_length, dr.record_tail(identifier, system_use))
        assert written == length and bytes(out) == raw, identifier
        assert dr.encode_record(extent_le, length_le, date7, flags, identifier,
                                system_use) == raw
        checked += 1
    assert checked > 40


def test_a_record_longer_than_255_bytes_is_refused():
    with pytest.raises(FormatError):
        dr.encode_record_into(bytearray(300), 0, 0, 0, bytes(7), 0, 1, b"a" * 223)


@pytest.mark.parametrize("options", [
    dict(), dict(joliet=True), dict(joliet=True, names=NameRules(level=4)),
    dict(partition_offset=16, joliet=True)])
def test_descriptors_are_placed_once_for_layout_and_size_model(tmp_path, options):
    """The layout's descriptors are where place_descriptors says, and the
    size model's total is the layout's (-print-size) for the same options."""
    src = _tree(tmp_path / "src", files=60)
    opts = MasterOptions(rock="rationalized", source_date_epoch=T0, **options)
    layout = Layout(scan([str(src)]), opts)
    place = place_descriptors(opts)
    assert (layout.pvd_sector, layout.joliet_svd_sector, layout.evd_sector,
            layout.terminator_sector) == (place.pvd, place.joliet_svd, place.evd,
                                          place.terminator)
    assert SizeModel(scan([str(src)]), opts).total_sectors() == layout.total_sectors


def test_plain_files_have_a_size_and_no_record_object(tmp_path):
    """The planner only measures a plain file's record: its DirectoryPlan
    lists PlannedRecords for the other children only."""
    src = _tree(tmp_path / "src", files=30)
    os.symlink("file0000_.txt", src / "link")
    layout = Layout(scan([str(src)]), MasterOptions(rock="rationalized", joliet=True))
    root = layout.iso_dirs[0]
    special = root.plan.special
    kinds = {root.children[i].node.name: len(records) for i, records in special.items()}
    assert kinds == {b"sub": 1, b"link": 1}
    assert len(root.plan.sizes) == 2 + len(root.children)
    joliet_root = layout.joliet_dirs[0]
    # Joliet records no symlink: its child gets no record at all
    assert sorted(len(r) for r in joliet_root.plan.special.values()) == [0, 1]


def _root_identifiers(image):
    extent, size = _root_extent(image)
    data = image[extent * SECTOR:extent * SECTOR + size]
    return sorted(dr.decode_record(data, offset).name
                  for offset, _ in _records_with_offsets(data))[2:]


def test_level_4_names_with_rock_ridge_leave_room_for_a_ce_as_genisoimage(tmp_path):
    """-iso-level 4 -R: a 220-byte name would leave its record no room for
    the CE entry its Rock Ridge name needs (it ended in a traceback);
    genisoimage cuts such names to 193 bytes, and so do we.  Without Rock
    Ridge both keep 207."""
    src = tmp_path / "src"
    src.mkdir()
    (src / ("a" * 220)).write_bytes(b"long")
    (src / ("d" * 220)).mkdir()
    for options in (["-R"], []):
        ours = tmp_path / "ours.iso"
        result = subprocess.run([sys.executable, "-m", "isofuse.cli.main", "master", "-quiet",
                                 "-iso-level", "4", *options, "-o", str(ours), str(src)],
                                capture_output=True)
        assert result.returncode == 0, result.stderr
        theirs = _image("genisoimage", tmp_path, src, "-iso-level", "4", *options)
        names = _root_identifiers(ours.read_bytes())
        assert names == _root_identifiers(theirs)
        assert {len(n) for n in names} == ({193} if options else {207})


@pytest.mark.parametrize("options", [
    dict(rock="rationalized", joliet=True),
    dict(rock="rationalized", joliet=True, md5=True),
    dict(joliet=True, partition_offset=16),
    dict(rock="rationalized", names=NameRules(level=4))])
def test_metadata_pieces_are_the_metadata(tmp_path, options):
    """A sequential writer gets the metadata a few directories at a time
    (the whole of it is never held): the pieces, at their offsets, are the
    bytes encode_metadata makes, for any window."""
    src = _tree(tmp_path / "src", files=120)
    for i in range(30):
        os.makedirs(src / f"dir{i:02d}" / "deeper")
        (src / f"dir{i:02d}" / "deeper" / "f.txt").write_bytes(b"%d" % i)
    layout = Layout(scan([str(src)]), MasterOptions(source_date_epoch=T0, **options))
    whole = layout.encode_metadata()
    for window in (1, 5 * SECTOR, 1 << 20):
        joined = bytearray()
        for offset, piece in layout.metadata_pieces(window):
            assert offset == len(joined)
            joined += piece
        assert joined == whole, window


def test_extent_count_is_the_number_of_extents_a_size_splits_into():
    # ECMA-119 6.5.1 / 9.1.4: a file's data is split into extents of at most
    # MAX_EXTENT_BYTES, one record each; the stage counts them on every write
    for size in (0, 1, 2047, 2048, MAX_EXTENT_BYTES - 1, MAX_EXTENT_BYTES,
                 MAX_EXTENT_BYTES + 1, 2 * MAX_EXTENT_BYTES, 3 * MAX_EXTENT_BYTES + 5):
        lengths = extent_lengths_for(size)
        assert sum(lengths) == size and all(0 < n <= MAX_EXTENT_BYTES for n in lengths[:-1])
        assert extent_count_for(size) == len(lengths), size
    assert extent_count_for(MAX_EXTENT_BYTES + 1) == 2
