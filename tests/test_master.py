"""Images made by `isofuse master`, checked by readers we did not write:
xorriso, isoinfo, bsdtar, 7z, pycdlib (the real kernel: test_kernel_compare)
and by our own reader through a real mount."""

import os
import random
import stat
import time
import re
import subprocess

import pytest

import corpus as corpus_mod
from corpus import RR_FIELDS, run
from mountutil import ISOFUSE, mounted
from treelisting import format_rows, listing

MASTER = ISOFUSE + ["master", "-quiet"]


def master(*args, env=None, check=True):
    return run(MASTER + list(args), check=check, env=env, timeout=600)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    work = tmp_path_factory.mktemp("mastersrc")
    return {
        "rich": corpus_mod.make_rich_tree(str(work / "rich")),
        "plain": corpus_mod.make_plain_tree(str(work / "plain")),
        "joliet": corpus_mod.make_joliet_tree(str(work / "joliet")),
    }


# the images the tests below check: name -> (tree, options)
IMAGES = {
    "rr-keep-joliet": ("rich", ["-R", "-J", "-iso-level", "2"]),
    "rr-rational": ("rich", ["-r", "-J", "-iso-level", "2"]),
    "rr112-level3": ("rich", ["-R", "-rrip-1.12", "-iso-level", "3", "-J", "-joliet-long"]),
    "plain-level1": ("plain", []),
    "joliet-level4": ("joliet", ["-J", "-iso-level", "4"]),
}


@pytest.fixture(scope="module")
def images(trees, tmp_path_factory):
    work = tmp_path_factory.mktemp("mastered")
    out = {}
    for name, (tree, options) in IMAGES.items():
        path = work / f"{name}.iso"
        master(*options, "-o", path, trees[tree])
        out[name] = (path, trees[tree], options)
    return out


def rr_paths(source):
    return [row["path"] for row in listing(source, hashes=False)]


# ---- size and stream -------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(IMAGES))
def test_print_size_is_exact(images, name):
    path, source, options = images[name]
    sectors = int(master(*options, "-print-size", source).stdout)
    assert sectors * 2048 == os.path.getsize(path)


def test_random_offsets_equal_the_written_image(images, tmp_path, monkeypatch):
    from isofuse.cli.master import build_layout
    from isofuse.cli.main import build_parser
    from isofuse.master.stream import ImageStream
    _, source, options = images["rr-keep-joliet"]
    # a fixed clock: reading the files for the first image changes their atimes
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    path = tmp_path / "fixed.iso"
    master(*options, "-o", path, source, env=dict(os.environ))
    argv = ["master", *options, "-o", "x", source]
    args = build_parser().parse_args(argv)
    layout = build_layout(args, argv[1:], warn=lambda m: None)
    written = open(path, "rb").read()
    rng = random.Random(7)
    with ImageStream(layout) as stream:
        assert stream.size == len(written)
        for _ in range(300):
            offset = rng.randrange(0, len(written))
            size = rng.choice([1, 7, 2048, 5000, 65536, 300_000])
            assert stream.read(offset, size) == written[offset:offset + size], offset


def _many_files_layout(tmp_path, count=300):
    from isofuse.master import layout, options, sourcetree
    src = tmp_path / "many"
    src.mkdir()
    rng = random.Random(11)
    for i in range(count):
        (src / f"f{i:03d}.bin").write_bytes(rng.randbytes(rng.randrange(1, 9000)))
    opts = options.MasterOptions(source_date_epoch=1800000000)
    return layout.Layout(sourcetree.scan([str(src)]), opts)


def test_readahead_leaves_the_bytes_alone(tmp_path, monkeypatch):
    """Sources that look uncached start the readahead thread, in write_to and
    in sequential reads; the bytes are the same, and the thread is gone at
    the end."""
    import threading
    from isofuse.master import stream
    lay = _many_files_layout(tmp_path)
    with stream.ImageStream(lay) as s:
        reference = s.read(0, s.size)     # no readahead: the probe finds the cache
    started = []
    real_start = stream.Readahead.start

    def counting_start(self):
        started.append(self)
        return real_start(self)

    monkeypatch.setattr(stream, "_in_page_cache", lambda fd: False)
    monkeypatch.setattr(stream.Readahead, "start", counting_start)
    out = tmp_path / "out.iso"
    with stream.ImageStream(lay) as s, open(out, "wb") as f:
        s.write_to(f.fileno())
    assert out.read_bytes() == reference
    with stream.ImageStream(lay) as s:
        chunks = [s.read(offset, 32768) for offset in range(0, s.size, 32768)]
    assert b"".join(chunks) == reference
    assert len(started) == 2 and all(r._thread is None for r in started)
    assert not [t for t in threading.enumerate() if t.name == "isofuse-readahead"]


def test_readahead_stays_within_its_window(tmp_path):
    """The thread announces files only up to its window ahead of the copy."""
    import threading
    from isofuse.master import stream
    lay = _many_files_layout(tmp_path, count=100)
    announced = []
    real_fadvise = os.posix_fadvise
    done = threading.Event()

    def recording_fadvise(fd, offset, length, advice):
        announced.append(os.readlink(f"/proc/self/fd/{fd}"))
        if len(announced) == 10:
            done.set()
        return real_fadvise(fd, offset, length, advice)

    ahead = stream.Readahead(lay.data_items, window_files=10)
    try:
        os.posix_fadvise = recording_fadvise
        ahead.start()
        assert done.wait(10)
        time.sleep(0.2)                 # it would go on here without the window
        assert len(announced) == 10
        ahead.reached(lay.data_items[50].start)
        deadline = time.monotonic() + 10
        while len(announced) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert len(announced) == 60
    finally:
        ahead.stop()
        os.posix_fadvise = real_fadvise
    assert announced[0].endswith("f000.bin") and announced[-1].endswith("f059.bin")


def test_output_to_a_pipe_equals_the_file(images, tmp_path):
    _, source, options = images["rr-keep-joliet"]
    env = dict(os.environ, SOURCE_DATE_EPOCH="1800000000")  # atimes change as we read
    path = tmp_path / "file.iso"
    master(*options, "-o", path, source, env=env)
    piped = master(*options, "-o", "-", source, env=env).stdout
    assert piped == open(path, "rb").read()


def test_source_date_epoch_gives_identical_images(tmp_path):
    tree = corpus_mod.make_rich_tree(str(tmp_path / "tree"))
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    a, b = tmp_path / "a.iso", tmp_path / "b.iso"
    master("-r", "-J", "-o", a, tree, env=env)
    # reading the tree changed atimes; ctimes change with a chmod to the same mode
    for row in listing(tree, hashes=False):
        if row["type"] == "f":
            os.chmod(os.path.join(tree, row["path"]), int(row["mode"], 8))
    master("-r", "-J", "-o", b, tree, env=env)
    assert a.read_bytes() == b.read_bytes()
    from isofuse.reader import open_image
    with open_image(str(a)) as image:
        assert image.descriptors.primary.creation_time[0] == 1_700_000_000


# ---- our reader, mounted ----------------------------------------------------------------------

@pytest.mark.mount
@pytest.mark.parametrize("name", ["rr-keep-joliet", "rr112-level3"])
def test_mounted_equals_source(images, name, tmp_path):
    path, source, _ = images[name]
    fields = RR_FIELDS + ("hardlink",)
    with mounted(path, tmp_path / "mnt"):
        assert format_rows(listing(str(tmp_path / "mnt")), fields) == \
            format_rows(listing(source), fields)


@pytest.mark.mount
def test_rationalized_rock_ridge(images, tmp_path):
    """-r: owner 0:0, everything readable, nothing writable, exec kept."""
    path, source, _ = images["rr-rational"]
    with mounted(path, tmp_path / "mnt"):
        got = {r["path"]: r for r in listing(str(tmp_path / "mnt"))}
    for row in listing(source):
        mine = got[row["path"]]
        assert (mine["uid"], mine["gid"]) == ("0", "0")
        mode = int(row["mode"], 8)
        if row["type"] in "d":
            assert mine["mode"] == "0555"
        elif row["type"] == "f":
            assert mine["mode"] == ("0555" if mode & 0o111 else "0444"), row["path"]
        assert (mine["sha256"], mine["target"], mine["size"]) == \
            (row["sha256"], row["target"], row["size"])


@pytest.mark.mount
def test_joliet_and_plain_views(images, tmp_path):
    path, source, _ = images["joliet-level4"]
    fields = ("path", "type", "size", "sha256")
    with mounted(path, tmp_path / "j"):
        assert format_rows(listing(str(tmp_path / "j")), fields) == \
            format_rows(listing(source), fields)
    path, source, _ = images["plain-level1"]
    with mounted(path, tmp_path / "p"):
        assert format_rows(listing(str(tmp_path / "p")), fields + ("mtime",)) == \
            format_rows(listing(source), fields + ("mtime",))


# ---- xorriso ------------------------------------------------------------------------------------

XORRISO_DIFF = re.compile(r"^(\S) '(.*)' \((DISK|ISO)\) : (.*)$")


def xorriso_compare(image, source):
    """xorriso's -compare_r report, as (path, complaint) pairs."""
    result = subprocess.run(["xorriso", "-indev", str(image), "-compare_r", str(source), "/"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = result.stdout.decode(errors="replace")
    diffs = []
    for line in text.splitlines():
        m = XORRISO_DIFF.match(line)
        if m:
            diffs.append((os.path.relpath(m.group(2), str(source)), m.group(4).split(":")[0]
                          .strip()))
    return text, diffs


@pytest.mark.parametrize("name", ["rr-keep-joliet", "rr112-level3"])
def test_xorriso_compare_matches(images, name):
    path, source, _ = images[name]
    text, diffs = xorriso_compare(path, source)
    # No difference at all: the relocation folder of the 12-level tree carries
    # RRIP "RE", so xorriso hides it as it hides its own, and the moved
    # directories compare equal at their real place.
    assert diffs == [], text


def test_xorriso_check_media(images):
    path, _, _ = images["rr-keep-joliet"]
    result = subprocess.run(["xorriso", "-indev", str(path), "-check_media", "--"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = result.stdout.decode(errors="replace")
    assert result.returncode == 0, text
    assert re.search(r"Media checks :.*good", text) or "+ good" in text or \
        re.search(r"[0-9]+ blocks.*good", text), text
    assert "unreadable" not in text.lower() or "0 unreadable" in text.lower(), text


# ---- isoinfo --------------------------------------------------------------------------------------

def isoinfo_paths(image, flag):
    text = run(["isoinfo", flag, "-l", "-i", str(image)] if flag else
               ["isoinfo", "-l", "-i", str(image)]).stdout.decode("utf-8", "replace")
    paths, current = [], None
    for line in text.splitlines():
        m = re.match(r"^Directory listing of (.*)$", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^\S[-rwxsStT]{9}\s.*\]\s\s(.*?)\s?$", line)
        if m and current is not None:
            name = re.sub(r" ->( .*)?$", "", m.group(1))
            if name in (".", ".."):
                continue
            paths.append((current + name).lstrip("/"))
    return sorted(paths)


def test_isoinfo_reads_rock_ridge_and_joliet(images):
    path, source, _ = images["rr-keep-joliet"]
    # isoinfo walks the ISO tree, where the deep directories live in rr_moved
    # (their CL placeholders show as files), and it mangles some long UTF-8
    # names in its output: compare the ASCII names above the relocation.
    shallow = lambda p: p.isascii() and not p.startswith(("level01/level02/level03/level04/"
                                                          "level05/level06/level07/level08",
                                                          "rr_moved"))
    expected = sorted(p for p in rr_paths(source) if shallow(p))
    got = [p for p in isoinfo_paths(path, "-R") if shallow(p)]
    assert got == expected
    text = run(["isoinfo", "-d", "-i", str(path)]).stdout.decode()
    assert "Rock Ridge signatures version 1 found" in text
    assert "Joliet with UCS level 3 found" in text
    joliet = isoinfo_paths(path, "-J")
    # Joliet holds everything but symlinks, devices and FIFOs
    types = {r["path"]: r["type"] for r in listing(source, hashes=False)}
    assert len(joliet) == sum(1 for t in types.values() if t in "fd") + 0


def test_isoinfo_extracts_file_contents(images, tmp_path):
    path, source, _ = images["rr-keep-joliet"]
    data = run(["isoinfo", "-R", "-i", str(path), "-x", "/data/random.bin"]).stdout
    assert data == open(os.path.join(source, "data", "random.bin"), "rb").read()


# ---- bsdtar and 7z --------------------------------------------------------------------------------------

def test_bsdtar_extracts_the_tree(images, tmp_path):
    path, source, _ = images["rr-keep-joliet"]
    out = tmp_path / "x"
    out.mkdir()
    run(["bsdtar", "-xpf", str(path), "-C", str(out)])
    fields = ("path", "type", "mode", "size", "mtime", "target", "sha256")
    got = format_rows(listing(str(out)), fields)
    want = format_rows(listing(source), fields)
    # As root bsdtar recreates devices, FIFOs, owners and modes: all equal.
    # (Long symlinks are split inside a component on purpose: libarchive
    # starts every SL entry without a separator.)
    assert got == want


def test_7z_extracts_file_data(images, tmp_path):
    path, source, _ = images["joliet-level4"]
    out = tmp_path / "x"
    run(["7z", "x", "-y", f"-o{out}", str(path)])
    fields = ("path", "type", "size", "sha256")
    assert format_rows(listing(str(out)), fields) == format_rows(listing(source), fields)


# ---- pycdlib --------------------------------------------------------------------------------------------

def test_pycdlib_opens_and_walks(images):
    import pycdlib
    for name in ("rr-keep-joliet", "rr112-level3", "plain-level1", "joliet-level4"):
        path, source, options = images[name]
        iso = pycdlib.PyCdlib()
        iso.open(str(path))
        try:
            seen = []
            facade = iso.get_rock_ridge_facade() if ("-R" in options or "-r" in options) \
                else (iso.get_joliet_facade() if "-J" in options else None)
            if facade is None:
                for dirpath, dirs, files in iso.walk(iso_path="/"):
                    seen.extend(files)
                assert len(seen) == sum(1 for r in listing(source) if r["type"] == "f")
                continue
            for dirpath, dirs, files in facade.walk("/"):
                seen.extend(f"{dirpath.rstrip('/')}/{f}".lstrip("/") for f in files)
            want = [r["path"] for r in listing(source, hashes=False)
                    if r["type"] == "f"]
            assert sorted(set(want) - set(seen)) == [], name
        finally:
            iso.close()


# ---- El Torito -------------------------------------------------------------------------------------------

def test_el_torito_entries_and_boot_info_table(tmp_path):
    src = tmp_path / "src"
    (src / "boot").mkdir(parents=True)
    bios = os.urandom(4096)
    (src / "boot" / "bios.img").write_bytes(bios)
    (src / "boot" / "efi.img").write_bytes(os.urandom(65536))
    (src / "readme").write_bytes(b"bootable\n")
    image = tmp_path / "boot.iso"
    master("-r", "-J", "-b", "boot/bios.img", "-no-emul-boot", "-boot-load-size", "4",
           "-boot-info-table", "-c", "boot/boot.cat", "-eltorito-alt-boot",
           "-e", "boot/efi.img", "-no-emul-boot", "-o", image, src)
    report = run(["xorriso", "-indev", str(image), "-report_el_torito", "plain"]
                 ).stdout.decode()
    rows = re.findall(r"El Torito boot img :\s+(\d+)\s+(\S+)\s+(\S)\s+(\S+)\s+(0x[0-9a-f]+)"
                      r"\s+\S+\s+(\d+)\s+(\d+)", report)
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == \
        [("BIOS", "y", "none", "4"), ("UEFI", "y", "none", "128")], report
    assert re.search(r"El Torito cat path : /boot/boot.cat", report), report
    # boot info table (mkisofs -boot-info-table): PVD sector, image sector, length, sum
    import struct
    data = image.read_bytes()
    lba = int(rows[0][6])
    patched = data[lba * 2048:lba * 2048 + len(bios)]
    pvd, file_lba, length, checksum = struct.unpack_from("<IIII", patched, 8)
    assert (pvd, file_lba, length) == (16, lba, len(bios))
    words = struct.unpack(f"<{(len(bios) - 64) // 4}I", bios[64:])
    assert checksum == sum(words) & 0xFFFFFFFF
    assert patched[64:] == bios[64:] and patched[:8] == bios[:8]



def test_a_hard_linked_boot_image_gets_its_boot_info_table(tmp_path):
    """The boot image's data is placed once for all its links, under the
    path of the link met first (/a.bin here): the table still goes in.
    xorriso reads the table back (-report_el_torito: "boot-info-table")."""
    src = tmp_path / "src"
    (src / "boot").mkdir(parents=True)
    (src / "boot" / "z.bin").write_bytes(os.urandom(6000))
    os.link(src / "boot" / "z.bin", src / "a.bin")
    image = tmp_path / "linked.iso"
    master("-R", "-b", "boot/z.bin", "-no-emul-boot", "-boot-info-table", "-o", image, src)
    report = run(["xorriso", "-indev", str(image), "-report_el_torito", "plain"]
                 ).stdout.decode()
    assert re.search(r"El Torito img opts :\s+1\s+boot-info-table", report), report

# ---- errors ------------------------------------------------------------------------------------------------

def test_errors_name_the_problem(tmp_path):
    result = master("-o", tmp_path / "x.iso", tmp_path / "missing", check=False)
    assert result.returncode == 1 and b"missing" in result.stderr
    assert b"Traceback" not in result.stderr
    result = master(tmp_path, check=False)
    assert result.returncode == 2 and b"-o FILE" in result.stderr
    unreadable = tmp_path / "src"
    unreadable.mkdir()
    (unreadable / "ok.txt").write_bytes(b"ok")
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "huge", "wb") as f:
        f.truncate(5 * 1024 ** 3)
    result = master("-o", tmp_path / "y.iso", big, check=False)
    assert result.returncode == 1 and b"-iso-level 3" in result.stderr
    assert not (tmp_path / "y.iso").exists()


def test_file_shrinking_while_writing_stops_cleanly(tmp_path):
    from isofuse.master import layout, options, sourcetree, stream
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(100_000))
    lay = layout.Layout(sourcetree.scan([str(src)]), options.MasterOptions())
    (src / "a.bin").write_bytes(b"short")
    with stream.ImageStream(lay) as s:
        with pytest.raises(stream.SourceChanged, match="a.bin"):
            s.read(0, s.size)


@pytest.mark.slow
@pytest.mark.mount
def test_multi_extent_file_over_4gib(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    size = 4 * 1024 ** 3 + 4096 + 17
    with open(src / "huge.bin", "wb") as f:
        f.truncate(size)
        f.seek(0xFFFFF800 - 5)
        f.write(b"ACROSS-THE-EXTENT-BOUNDARY")
        f.seek(size - 3)
        f.write(b"END")
    image = tmp_path / "big.iso"
    sectors = int(master("-R", "-iso-level", "3", "-print-size", src).stdout)
    master("-R", "-iso-level", "3", "-o", image, src)
    assert os.path.getsize(image) == sectors * 2048
    listing_text = run(["isoinfo", "-R", "-l", "-i", str(image)]).stdout.decode()
    assert listing_text.count("huge.bin") == 2   # two records, one per extent
    with mounted(image, tmp_path / "mnt"):
        path = tmp_path / "mnt" / "huge.bin"
        assert os.path.getsize(path) == size
        with open(path, "rb") as f:
            f.seek(0xFFFFF800 - 5)
            assert f.read(26) == b"ACROSS-THE-EXTENT-BOUNDARY"
            f.seek(size - 3)
            assert f.read() == b"END"
    os.unlink(image)


# ---- multisession -------------------------------------------------------------------------------------

@pytest.fixture
def two_sessions(tmp_path):
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    for path, data in ((s1 / "old.txt", b"first\n"), (s1 / "keep" / "kept.bin", os.urandom(9000)),
                       (s2 / "new.txt", b"second\n"), (s2 / "keep" / "added.txt", b"added\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    expected = tmp_path / "expected"     # what the newest session must show
    for src in (s1, s2):
        subprocess.run(["cp", "-a", f"{src}/.", str(expected)], check=True) \
            if expected.exists() else subprocess.run(["cp", "-a", str(src), str(expected)],
                                                     check=True)
    os.unlink(expected / "old.txt")
    return s1, s2, expected


def _tree_rows(root):
    return format_rows(listing(str(root)), ("path", "type", "size", "sha256"))


@pytest.mark.mount
def test_append_to_grows_an_image_in_place(two_sessions, tmp_path):
    s1, s2, expected = two_sessions
    image = tmp_path / "disc.iso"
    master("-R", "-J", "-o", image, s1)
    first_size = os.path.getsize(image)
    master("-R", "-J", "--append-to", image, "--remove", "old.txt", s2)
    assert os.path.getsize(image) > first_size
    with mounted(image, tmp_path / "mnt"):
        assert _tree_rows(tmp_path / "mnt") == _tree_rows(expected)
    # old data is referenced, not copied: the new session is small
    assert os.path.getsize(image) - first_size < 400 * 2048
    # every other reader sees the newest session too
    text, diffs = xorriso_compare(image, expected)
    assert [d for d in diffs if d[1] not in ("st_mtime", "st_ctime", "st_atime")] == [], text
    out = tmp_path / "x"
    out.mkdir()
    run(["bsdtar", "-xf", str(image), "-C", str(out)])
    assert _tree_rows(out) == _tree_rows(expected)


@pytest.mark.mount
def test_new_session_with_msinfo_glued_behind_the_first(two_sessions, tmp_path):
    """mkisofs -M/-C style: the output holds the new session only, written at
    NEXT; readers take the newest session, older ones stay reachable."""
    s1, s2, expected = two_sessions
    # the first session by another writer: genisoimage
    first = tmp_path / "first.iso"
    run(["genisoimage", "-quiet", "-R", "-J", "-o", str(first), str(s1)])
    nwa = (os.path.getsize(first) // 2048 + 31) // 32 * 32
    second = tmp_path / "second.iso"
    size = int(master("-R", "-J", "-M", first, "-C", f"0,{nwa}", "--remove", "old.txt",
                      "-print-size", s2).stdout)
    master("-R", "-J", "-M", first, "-C", f"0,{nwa}", "--remove", "old.txt", "-o", second, s2)
    assert os.path.getsize(second) == size * 2048
    disc = tmp_path / "disc.iso"
    with open(disc, "wb") as out:
        out.write(first.read_bytes())
        out.seek(nwa * 2048)
        out.write(second.read_bytes())
    info = subprocess.run(ISOFUSE + ["info", "--json", str(disc)], stdout=subprocess.PIPE,
                          check=True).stdout
    import json
    assert json.loads(info)["sessions"] == [0, nwa]
    with mounted(disc, tmp_path / "new"):
        assert _tree_rows(tmp_path / "new") == _tree_rows(expected)
    with mounted(disc, tmp_path / "old", ["session=0"]):
        assert _tree_rows(tmp_path / "old") == _tree_rows(s1)
    # xorriso reads the new session through its own descriptors
    text, diffs = xorriso_compare_session(disc, nwa, expected)
    assert [d for d in diffs if d[1] not in ("st_mtime", "st_ctime", "st_atime")] == [], text


def xorriso_compare_session(image, start, source):
    result = subprocess.run(["xorriso", "-load", "sbsector", str(start), "-indev", str(image),
                             "-compare_r", str(source), "/"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = result.stdout.decode(errors="replace")
    diffs = [(os.path.relpath(m.group(2), str(source)), m.group(4).split(":")[0].strip())
             for m in map(XORRISO_DIFF.match, text.splitlines()) if m]
    return text, diffs


def test_msinfo_errors_are_clear(two_sessions, tmp_path):
    s1, s2, _ = two_sessions
    first = tmp_path / "first.iso"
    master("-R", "-o", first, s1)
    r = master("-R", "-M", first, "-o", tmp_path / "x.iso", s2, check=False)
    assert r.returncode == 2 and b"-C" in r.stderr
    r = master("-R", "-M", first, "-C", "0,5", "-o", tmp_path / "x.iso", s2, check=False)
    assert r.returncode == 2 and b"inside the previous session" in r.stderr
    r = master("-R", "--append-to", first, "--remove", "nope", s2, check=False)
    assert r.returncode == 2 and b"not in the previous session" in r.stderr


def test_paths_over_255_characters_are_reported(tmp_path):
    """ECMA-119 §6.8.2.1: a path is at most 255 characters; a longer one is
    written (readers cope) but named in a warning."""
    src = tmp_path / "src"
    short = src / "short"
    short.mkdir(parents=True)
    (short / "ok.txt").write_bytes(b"ok")
    deep = src
    for level in range(7):                  # 7 folders under the root: 8 levels
        deep = deep / (f"{level}" * 31)
    deep.mkdir(parents=True)
    (deep / ("far" * 8 + "x.txt")).write_bytes(b"far")   # 7 x 32 + 32 = 256
    (deep / "near.txt").write_bytes(b"near")              # 7 x 32 + 11 = 235
    def warnings_of(tree, image):
        result = subprocess.run(ISOFUSE + ["master", "-iso-level", "2", "-o", str(image),
                                           str(tree)], stderr=subprocess.PIPE, check=True)
        return [line for line in result.stderr.decode().splitlines() if "255" in line]

    warnings = warnings_of(src, tmp_path / "long.iso")
    assert len(warnings) == 1 and "farfar" in warnings[0]
    assert warnings_of(short, tmp_path / "short.iso") == []



def _grown_after_planning(tmp_path, sizes):
    """A layout of files of ``sizes``, each of which then grows by one byte."""
    from isofuse.master import layout, options, sourcetree
    src = tmp_path / "src"
    src.mkdir()
    rng = random.Random(3)
    for name, size in sizes.items():
        (src / name).write_bytes(rng.randbytes(size))
    lay = layout.Layout(sourcetree.scan([str(src)]), options.MasterOptions())
    return lay, src


@pytest.mark.parametrize("size", [700, 2048, 300_000, 3 * 1024 * 1024 + 5])
def test_a_file_that_grew_after_planning_is_refused_not_cut(tmp_path, size):
    """The image would hold the planned bytes only: a cut copy that reads
    back without error.  Random reads that reach the planned end and both
    sequential writers (the buffer and the kernel copy, small files in
    batches) refuse instead, naming the file."""
    from isofuse.master import stream
    lay, src = _grown_after_planning(tmp_path, {"grows.bin": size, "same.txt": 5})
    with open(src / "grows.bin", "ab") as f:
        f.write(b"+")
    with stream.ImageStream(lay) as s:
        with pytest.raises(stream.SourceChanged, match="grows.bin.*longer"):
            s.read(0, s.size)
        item = next(i for i in s.items if i.path and i.path.endswith(b"grows.bin"))
        start = (item.sector - item.base) * 2048
        assert len(s.read(start, min(size, 4096) - 1)) == min(size, 4096) - 1
        with pytest.raises(stream.SourceChanged, match="grows.bin"):
            s.read(start + size - 10, 10)
    for kernel_copy in (True, False):
        with stream.ImageStream(lay) as s, open(tmp_path / "out.iso", "wb") as f:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(stream, "kernel_copy_pays", lambda src_fd, out_fd: kernel_copy)
                with pytest.raises(stream.SourceChanged, match="grows.bin.*longer"):
                    s.write_to(f.fileno())
    from isofuse.master.datawriter import DataWriter       # the data from a child
    with open(tmp_path / "out.iso", "wb") as f, stream.ImageStream(lay) as s:
        with pytest.raises(stream.SourceChanged, match="grows.bin.*longer"):
            with DataWriter(lay) as writer:
                s.write_to(f.fileno(), writer=writer)


def test_a_file_rewritten_to_its_planned_size_is_no_growth(tmp_path):
    """Only bytes beyond the planned end count: a file of the same size
    (here rewritten) is written, as before."""
    from isofuse.master import stream
    lay, src = _grown_after_planning(tmp_path, {"a.bin": 300_000, "b.txt": 2048})
    (src / "b.txt").write_bytes(b"x" * 2048)
    with stream.ImageStream(lay) as s, open(tmp_path / "out.iso", "wb") as f:
        s.write_to(f.fileno())
    extract = ["isoinfo", "-i", str(tmp_path / "out.iso"), "-x"]
    assert run(extract + ["/B.TXT;1"]).stdout == b"x" * 2048        # the new bytes
    assert run(extract + ["/A.BIN;1"]).stdout == (src / "a.bin").read_bytes()


def test_data_writer_output_equals_sequential_and_reports_errors(tmp_path):
    """A DataWriter child writes the file data while the parent encodes
    the metadata.  The bytes equal the sequential output's; a source that
    shrank is reported by name, like sequentially; no child process is left
    behind."""
    from isofuse.master import stream
    from isofuse.master.datawriter import DataWriter
    lay = _many_files_layout(tmp_path, count=200)
    with stream.ImageStream(lay) as s:
        reference = s.read(0, s.size)
    out = tmp_path / "parallel.iso"
    with open(out, "wb") as f:
        f.write(b"\xff" * 4096)             # an offset: the image starts where the fd is
        f.flush()
        with DataWriter(lay) as writer, stream.ImageStream(lay) as s:
            s.write_to(f.fileno(), writer=writer)
        assert f.tell() == 4096 + len(reference)
    assert out.read_bytes()[4096:] == reference
    victim = sorted((tmp_path / "many").iterdir())[150]
    victim.write_bytes(b"")
    with open(tmp_path / "broken.iso", "wb") as f, stream.ImageStream(lay) as s:
        with pytest.raises(stream.SourceChanged, match=victim.name):
            with DataWriter(lay) as writer:
                s.write_to(f.fileno(), writer=writer)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_data_writer_gone_means_the_parent_writes_the_data(tmp_path):
    import signal
    from isofuse.master import stream
    from isofuse.master.datawriter import DataWriter
    lay = _many_files_layout(tmp_path, count=60)
    with stream.ImageStream(lay) as s:
        reference = s.read(0, s.size)
    out = tmp_path / "fallback.iso"
    with open(out, "wb") as f, DataWriter(lay) as writer, stream.ImageStream(lay) as s:
        os.kill(writer._pid, signal.SIGKILL)
        s.write_to(f.fileno(), writer=writer)
    assert out.read_bytes() == reference
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_data_writer_on_a_device_writes_its_zeros_and_null_is_positional(tmp_path):
    """On a block device the gaps between files cannot be skipped with a
    seek (old data would show through): the child writes them.  Checked on
    a file full of 0xff bytes written as a device would be.  /dev/null (a
    node with its numbers here) takes positional writes; a pipe does not."""
    from isofuse.master import stream
    from isofuse.master.datawriter import DataWriter, takes_positional_writes
    lay = _many_files_layout(tmp_path, count=120)
    with stream.ImageStream(lay) as s:
        reference = s.read(0, s.size)
    out = tmp_path / "device.img"
    out.write_bytes(b"\xff" * (4096 + len(reference) + 8192))
    fd = os.open(out, os.O_WRONLY)
    try:
        os.lseek(fd, 4096, os.SEEK_SET)
        with DataWriter(lay) as writer, stream.ImageStream(lay) as s:
            writer.write(s, fd, False)
        assert os.lseek(fd, 0, os.SEEK_CUR) == 4096 + len(reference)
    finally:
        os.close(fd)
    data = out.read_bytes()
    assert data[4096:4096 + len(reference)] == reference
    assert data[:4096] == b"\xff" * 4096 and data[-8192:] == b"\xff" * 8192  # not truncated
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    with open(null, "wb") as f:
        assert takes_positional_writes(f.fileno())
    with open(tmp_path / "appended", "ab") as f:
        assert not takes_positional_writes(f.fileno())
    read_end, write_end = os.pipe()
    try:
        assert not takes_positional_writes(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_master_cli_to_a_fifo_and_to_null(tmp_path):
    """An output that takes no positional writes (a FIFO) gets the image
    in order, byte for byte what a file gets; /dev/null works too (and
    stays a device)."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"f{i}.txt").write_bytes(os.urandom(3000 + i))
    epoch = {**os.environ, "SOURCE_DATE_EPOCH": "1600000000"}
    reference = tmp_path / "ref.iso"
    run(MASTER + ["-R", "-J", "-o", str(reference), str(src)], env=epoch)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with open(tmp_path / "from-fifo.iso", "wb") as copy:
        reader = subprocess.Popen(["cat", str(fifo)], stdout=copy)
        try:
            run(MASTER + ["-R", "-J", "-o", str(fifo), str(src)], env=epoch, timeout=120)
        finally:
            reader.wait(timeout=60)
    assert (tmp_path / "from-fifo.iso").read_bytes() == reference.read_bytes()
    run(MASTER + ["-R", "-J", "-o", "/dev/null", str(src)], env=epoch)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_failed_run_removes_its_image_file_but_never_a_device(tmp_path):
    from isofuse.cli.master import _remove_partial
    partial = tmp_path / "partial.iso"
    partial.write_bytes(b"x")
    _remove_partial(str(partial), False)
    assert not partial.exists()
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    _remove_partial(str(device), False)
    assert device.exists()


def test_drop_deep_leaves_the_deep_folders_out_of_every_tree(tmp_path):
    """--drop-deep leaves directories below level 8 out of the ISO 9660
    tree and out of the Joliet tree (whose files would otherwise point at
    data the image does not hold: this used to end in a traceback), with a
    warning naming them; isoinfo lists both trees without them."""
    src = tmp_path / "src"
    deep = src / "a" / "b" / "c" / "d" / "e" / "f" / "g" / "h" / "i"
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_bytes(b"deep")
    (src / "a" / "b" / "shallow.txt").write_bytes(b"shallow")
    for extra in ([], ["-R"]):
        image = tmp_path / f"drop{len(extra)}.iso"
        result = run(ISOFUSE + ["master", "-J", "--drop-deep", *extra, "-o", str(image),
                                str(src)])
        assert "left out (deeper than 8 levels): /a/b/c/d/e/f/g/h" in result.stderr.decode()
        for flag in ("-J", "-R" if extra else None):
            paths = isoinfo_paths(image, flag)
            names = [p.split(";")[0].lower() for p in paths]
            assert "a/b/shallow.txt" in names, (flag, paths)
            assert not any("/h" in p or "deep" in p for p in names), (flag, paths)


def test_an_interrupted_run_leaves_no_image_and_no_traceback(tmp_path, monkeypatch):
    """Ctrl-C while writing removes the unfinished image file (half an image
    must not pass for one); the command ends with status 130 and one line,
    not a traceback (checked on a run blocked opening a FIFO nobody reads)."""
    import signal
    from isofuse.cli import main as cli_main
    from isofuse.master import stream
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a" * 5000)
    out = tmp_path / "out.iso"

    def interrupted(self, fd, *args, **kwargs):
        os.write(fd, b"\0" * 4096)
        raise KeyboardInterrupt

    monkeypatch.setattr(stream.ImageStream, "write_to", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli_main.main(["master", "-quiet", "-o", str(out), str(src)])
    assert not out.exists()

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Ctrl-C's default disposition in the child, whatever pytest inherited: a
    # shell starts background jobs with SIGINT ignored, and so would the child
    proc = subprocess.Popen(MASTER + ["-o", str(fifo), str(src)], stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:      # until it waits in open() on the FIFO
            try:
                with open(f"/proc/{proc.pid}/wchan") as f:
                    if f.read() in ("wait_for_partner", "fifo_open"):
                        break
            except OSError:
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"interrupted" in err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_records_measured_at_planning_are_checked_when_made(tmp_path, monkeypatch):
    """Planning only measures a plain file's record (it is made while the
    metadata is encoded).  Each one made is checked against the room
    planned for it: a measurement that is off by one byte stops the run
    with an internal error instead of writing a directory over the next."""
    from isofuse.master import layout as layout_mod, stream
    from isofuse.master.rockridge_writer import RockRidgeWriter
    lay = _many_files_layout(tmp_path, count=40)
    # plain files: a size in the plan, no record object until encoding
    assert any(len(d.plan.sizes) > 2 + sum(len(r) for r in d.plan.special.values())
               for d in lay.iso_dirs)
    with stream.ImageStream(lay) as s:
        s.read(0, s.size)                       # made and checked: no error
    measured = RockRidgeWriter.plain_file_su_length
    monkeypatch.setattr(RockRidgeWriter, "plain_file_su_length",
                        lambda self, node: measured(self, node) - 2)
    from isofuse.master.options import ROCK_KEEP, MasterOptions
    wrong = layout_mod.Layout(lay.root_node, MasterOptions(rock=ROCK_KEEP,
                                                           source_date_epoch=1800000000))
    with pytest.raises(layout_mod.LayoutError, match="internal error"):
        wrong.encode_metadata()


def test_dates_outside_the_seven_byte_range_are_clamped_not_fatal(tmp_path):
    """A file dated after 2155 (or before 1900) cannot have its date in a
    directory record or a TF entry: it gets the last (first) date the
    7-byte form holds, for isoinfo and for our reader.  Dates in 2156-2158
    used to end the run with a traceback."""
    src = tmp_path / "src"
    src.mkdir()
    for name, when in (("late.txt", 5903000000), ("far.txt", 10 ** 10),
                       ("early.txt", -2300000000)):
        (src / name).write_bytes(name.encode())
        os.utime(src / name, (when, when))
    image = tmp_path / "dates.iso"
    run(MASTER + ["-R", "-J", "-o", str(image), str(src)])
    listing = run(["isoinfo", "-R", "-l", "-i", str(image)]).stdout.decode()
    assert listing.count("Dec 31 2155") == 2, listing  # isoinfo shows no year before 1901
    from isofuse.format.dates import BINARY_FIRST, BINARY_LAST
    from isofuse.reader import open_image
    with open_image(str(image)) as disc:
        times = {name: disc.resolve(name).mtime for name in ("late.txt", "far.txt", "early.txt")}
    # (the filesystem may itself keep no date before 1901-12-13)
    early = max(os.lstat(src / "early.txt")[stat.ST_MTIME], BINARY_FIRST)
    assert times == {"late.txt": BINARY_LAST, "far.txt": BINARY_LAST, "early.txt": early}
