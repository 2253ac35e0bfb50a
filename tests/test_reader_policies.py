"""Policies the reader follows on doubtful input, and says so in the log."""

import logging
import struct

from corpus import run
from isofuse.format import dirrecord as dr
from isofuse.reader import open_image


def test_big_endian_half_disagreeing_is_logged_once_and_little_endian_wins(tmp_path, caplog):
    src = tmp_path / "src"
    src.mkdir()
    (src / "file.txt").write_bytes(b"x" * 1000)
    image = tmp_path / "img.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(image), str(src)])
    with open_image(str(image)) as iso:
        root_sector = iso.root.extents[0][0]
    data = bytearray(image.read_bytes())
    base = root_sector * 2048
    for record in dr.iter_records(bytes(data[base:base + 2048])):
        if record.name.startswith(b"FILE"):
            # ECMA-119 §9.1.4: data length, big endian half at bytes 14-17
            struct.pack_into(">I", data, base + record.offset + 14, 999_999)
    image.write_bytes(bytes(data))
    caplog.set_level(logging.WARNING, logger="isofuse.reader")
    with open_image(str(image)) as iso:
        for _ in range(3):
            iso.tree._listings = type(iso.tree._listings)(10)   # parse again
            node = iso.resolve("file.txt")
        assert node.size == 1000
        assert iso.read(node, 0, 2000) == b"x" * 1000
    messages = [r.getMessage() for r in caplog.records if "endian" in r.getMessage()]
    assert len(messages) == 1 and "little endian" in messages[0]
