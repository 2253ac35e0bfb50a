"""The reader parses only what is asked for, and caches what it parsed."""

import os

from corpus import run
from isofuse.reader import ReadOptions, open_image


def make_wide_tree(root, dirs=200, files_per_dir=50):
    for d in range(dirs):
        path = os.path.join(root, f"dir{d:04d}", "sub")
        os.makedirs(path)
        for f in range(files_per_dir):
            with open(os.path.join(path, f"file{f:03d}.txt"), "w") as out:
                out.write(f"{d}/{f}\n")


def test_opening_and_looking_up_parse_only_the_path(tmp_path):
    src = tmp_path / "src"
    make_wide_tree(str(src))
    image = tmp_path / "wide.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(image), str(src)])
    with open_image(str(image)) as iso:
        assert iso.tree.directories_parsed == 0      # opening reads descriptors + root record
        node = iso.resolve("dir0123/sub/file042.txt")
        assert iso.read(node, 0, 100) == b"123/42\n"
        assert iso.tree.directories_parsed == 3      # /, dir0123, dir0123/sub
        iso.resolve("dir0123/sub/file043.txt")
        assert iso.tree.directories_parsed == 3      # cached
        assert len(iso.listdir(iso.root)) == 200
        assert iso.tree.directories_parsed == 3


def test_directory_cache_is_bounded(tmp_path):
    src = tmp_path / "src"
    make_wide_tree(str(src), dirs=30, files_per_dir=40)
    image = tmp_path / "wide.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(image), str(src)])
    with open_image(str(image), ReadOptions(directory_cache_entries=100)) as iso:
        for d in range(30):
            iso.resolve(f"dir{d:04d}/sub/file000.txt")
        parsed = iso.tree.directories_parsed
        assert len(iso.tree._listings) <= 4           # 100 entries of budget, 41 each
        # evicted directories parse again, with the same result
        node = iso.resolve("dir0000/sub/file039.txt")
        assert iso.read(node, 0, 10) == b"0/39\n"
        assert iso.tree.directories_parsed > parsed
