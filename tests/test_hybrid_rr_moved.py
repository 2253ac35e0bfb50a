"""rr_moved carries the RRIP "RE" entry on its own records (as libisofs
writes it), so Rock Ridge readers hide the relocation directory: xorriso,
bsdtar and our reader (the Linux kernel: test_master_kernel.py)."""

import os
import subprocess

from corpus import run
from mountutil import ISOFUSE

from isofuse.format import dirrecord as dr
from isofuse.format import susp
from isofuse.reader.image import open_image

DEEP = "a/b/c/d/e/f/g/h/i/j"


def deep_tree(base):
    os.makedirs(os.path.join(base, DEEP))
    with open(os.path.join(base, DEEP, "f.txt"), "w") as f:
        f.write("deep\n")
    return base


def signatures(record):
    return [entry.signature.decode() for entry in susp.iter_entries(record.system_use)]


def records_of(data, sector, length):
    return list(dr.iter_records(data[sector * 2048:sector * 2048 + length]))


def rr_moved_signatures(image):
    """{"record": [...], ".": [...], "..": [...]}: the SUSP signatures of
    rr_moved's record in the root and of its own "." and ".."."""
    data = open(image, "rb").read()
    root = dr.decode_record(data[16 * 2048 + 156:16 * 2048 + 190])
    for record in records_of(data, root.data_start, root.data_length):
        if record.name.lower() == b"rr_moved":
            inside = records_of(data, record.data_start, record.data_length)
            return {"record": signatures(record), ".": signatures(inside[0]),
                    "..": signatures(inside[1])}
    raise AssertionError("no rr_moved in the root")


def xorriso(*args):
    return subprocess.run(["xorriso", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=True).stdout.decode()


def test_rr_moved_is_hidden_by_rock_ridge_readers(tmp_path):
    src = deep_tree(str(tmp_path / "src"))
    ours = str(tmp_path / "ours.iso")
    theirs = str(tmp_path / "xorriso.iso")
    run(ISOFUSE + ["master", "-quiet", "-R", "-o", ours, src])
    run(["xorrisofs", "-quiet", "-R", "-rr_reloc_dir", "rr_moved", "-o", theirs, src])
    # RE where libisofs puts it: rr_moved's record, its "." and ".."
    for image in (ours, theirs):
        got = rr_moved_signatures(image)
        assert all("RE" in sigs for sigs in got.values()), (image, got)
    # xorriso neither finds nor lists it, but the deep file is there
    assert xorriso("-indev", ours, "-find", "/", "-name", "rr_moved").strip() == ""
    assert xorriso("-indev", ours, "-ls", "/").split() == ["'a'"]
    assert f"'/{DEEP}/f.txt'" in xorriso("-indev", ours, "-find", "/")
    # bsdtar: no rr_moved entry
    names = run(["bsdtar", "tf", ours]).stdout.decode().split()
    assert f"{DEEP}/f.txt" in names
    assert not [n for n in names if "rr_moved" in n.lower()], names
    # our reader: the root holds only "a"
    with open_image(ours) as image:
        assert [child.name for child in image.listdir(image.root)] == [b"a"]
