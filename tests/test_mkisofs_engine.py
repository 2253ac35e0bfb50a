"""What the mkisofs parser reads and the engine now does (issue #12):
-hide*, -sort/--sort-weight, -hide-rr-moved, the descriptor identifiers,
--modification-date=/-volume_date, -C's volume size, -isohybrid-* marks
after --efi-boot, -volset-size 1, the size model with hybrid areas and
MD5, and ISO level 4's deep folders.  Each is compared with xorrisofs,
xorriso or genisoimage, run on the same tree."""

import os
import struct
import subprocess
import sys

import pytest

from isofuse.master.options import MasterOptions
from isofuse.master.sizing import SizeModel
from isofuse.master.sourcetree import scan
from isofuse.reader import open_image

ISOFUSE = [sys.executable, "-m", "isofuse.cli.main", "master"]
ISOHDPFX = "/usr/lib/ISOLINUX/isohdpfx.bin"
ISOLINUX_BIN = "/usr/lib/ISOLINUX/isolinux.bin"


def run(argv, cwd=None, check=True):
    result = subprocess.run([str(a) for a in argv], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def master(*args, cwd=None, check=True):
    return run(ISOFUSE + list(args), cwd=cwd, check=check)


def both(tmp_path, reference, *words, cwd=None):
    """The same line through isofuse master and a reference program."""
    ours, theirs = tmp_path / "ours.iso", tmp_path / "theirs.iso"
    master("-o", ours, *words, cwd=cwd)
    run([reference, "-quiet", "-o", theirs, *words], cwd=cwd)
    return ours, theirs


def listing(image, *view):
    return sorted(run(["isoinfo", "-i", image, *view, "-f"]).stdout.split())


def extract(image, view, path):
    return subprocess.run(["isoinfo", "-i", str(image), view, "-x", path],
                          stdout=subprocess.PIPE, check=True).stdout


def pvd(image, sector=16):
    with open(image, "rb") as f:
        f.seek(sector * 2048)
        return f.read(2048)


def volume_space_size(image, sector=16):
    return struct.unpack("<I", pvd(image, sector)[80:84])[0]


def data_order(image):
    """The files' paths in the order of their data on the disc (xorriso)."""
    out = run(["xorriso", "-indev", image, "-find", "/", "-type", "f", "-exec",
               "report_lba"]).stdout
    rows = []
    for line in out.splitlines():
        if line.startswith("File data lba:"):
            fields = [f.strip() for f in line.split(":", 1)[1].split(",")]
            rows.append((int(fields[1]), fields[4].strip("'")))
    return [path for _, path in sorted(rows)]


def print_size(*words, cwd=None):
    return int(master(*words, "-print-size", cwd=cwd).stdout)


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    for path, text in (("docs/readme.txt", "read me\n"), ("notes.txt", "notes\n"),
                       ("keep.c", "int main;\n"), ("sub/s.txt", "only in Joliet\n"),
                       ("sub/deeper/t.txt", "t\n"), ("zz.bin", "z" * 5000)):
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        (src / path).write_text(text)
    return src


# ---- 1. -hide, -hide-list, -hide-joliet, -hide-joliet-list, -hide-joliet-trans-tbl ----

HIDE_LINE = ("-R", "-J", "-hide", "notes.txt", "-hide", "sub", "-hide-joliet", "keep.c")


def test_hide_leaves_files_out_of_one_tree_as_xorrisofs_does(tree, tmp_path):
    ours, theirs = both(tmp_path, "xorrisofs", *HIDE_LINE, tree)
    for view in ("-R", "-J"):
        assert listing(ours, view) == listing(theirs, view), view
    assert "/notes.txt" not in listing(ours, "-R") and "/notes.txt" in listing(ours, "-J")
    assert "/keep.c" in listing(ours, "-R") and "/keep.c" not in listing(ours, "-J")
    # the data of files that only Joliet shows is written
    assert extract(ours, "-J", "/sub/s.txt") == b"only in Joliet\n"
    assert extract(ours, "-J", "/sub/deeper/t.txt") == b"t\n"
    assert extract(ours, "-J", "/notes.txt") == b"notes\n"
    assert os.path.getsize(ours) == print_size(*HIDE_LINE, tree) * 2048
    with open_image(str(ours)) as img:      # our reader: the Rock Ridge tree
        names = sorted(c.name for c in img.listdir(img.root))
    assert names == [b"docs", b"keep.c", b"zz.bin"]


def test_hide_lists_as_genisoimage(tree, tmp_path):
    (tmp_path / "iso.list").write_text("notes.txt\nzz.bin\n")
    (tmp_path / "joliet.list").write_text("readme.txt\n")
    line = ("-R", "-J", "-hide-list", tmp_path / "iso.list",
            "-hide-joliet-list", tmp_path / "joliet.list", tree)
    ours, theirs = both(tmp_path, "genisoimage", *line)
    for view in ("-R", "-J"):
        assert listing(ours, view) == listing(theirs, view), view
    assert "/zz.bin" not in listing(ours, "-R")
    assert extract(ours, "-J", "/zz.bin") == b"z" * 5000
    assert os.path.getsize(ours) == print_size(*line) * 2048


def test_hide_joliet_trans_tbl_as_genisoimage(tree, tmp_path):
    line = ("-R", "-J", "-T", "-hide-joliet-trans-tbl", tree)
    ours, theirs = both(tmp_path, "genisoimage", *line)
    for view in ("-R", "-J", "-l"):
        view = () if view == "-l" else (view,)
        assert listing(ours, *view) == listing(theirs, *view), view
    assert "/TRANS.TBL" in listing(ours, "-R")
    assert not any("TRANS.TBL" in p for p in listing(ours, "-J"))


# ---- 2. -sort, --sort-weight ----

def test_sort_file_orders_the_data_as_genisoimage(tree, tmp_path):
    sort = tmp_path / "sort.txt"
    # disk paths as given on the command line (genisoimage matches them so)
    sort.write_text(f"{tree}/sub/deeper/t.txt 20\n{tree}/zz.bin 10\n{tree}/docs 5\n"
                    f"{tree}/keep.c -1\n")
    ours, theirs = both(tmp_path, "genisoimage", "-R", "-sort", sort, tree)
    assert data_order(ours) == data_order(theirs)
    assert data_order(ours)[:3] == ["/sub/deeper/t.txt", "/zz.bin", "/docs/readme.txt"]
    assert data_order(ours)[-1] == "/keep.c"
    # the order changes nothing of the size
    assert print_size("-R", "-sort", sort, tree) == print_size("-R", tree) \
        == os.path.getsize(ours) // 2048
    assert extract(ours, "-R", "/zz.bin") == b"z" * 5000


def test_sort_weight_orders_the_data_as_xorrisofs(tree, tmp_path):
    line = ("-R", "--sort-weight", "3", "/sub", "--sort-weight", "9", "/zz.bin", tree)
    ours, theirs = both(tmp_path, "xorrisofs", *line)

    def weights(image):
        return [9 if p == "/zz.bin" else 3 if p.startswith("/sub/") else 0
                for p in data_order(image)]
    # heavier first in both; within one weight xorrisofs keeps its own
    # (path) order and isofuse its tree order, as without weights
    assert weights(ours) == weights(theirs) == [9, 3, 3, 0, 0, 0]
    assert sorted(data_order(ours)) == sorted(data_order(theirs))


def test_no_sort_keeps_the_image_byte_identical(tree, tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    images = []
    for words in ((), ("--sort-weight", "0", "/zz.bin")):
        out = tmp_path / f"i{len(images)}.iso"
        subprocess.run(ISOFUSE + ["-R", "-J", *words, "-o", str(out), str(tree)],
                       env=env, check=True)
        images.append(out.read_bytes())
    assert images[0] == images[1]


# ---- 3. -hide-rr-moved ----

def test_hide_rr_moved_names_the_relocation_folder_as_both_tools(tmp_path):
    src = tmp_path / "deep"
    deep = src.joinpath(*"abcdefghi")
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("deep\n")
    for reference in ("genisoimage", "xorrisofs"):
        ours, theirs = both(tmp_path, reference, "-R", "-hide-rr-moved", src)
        assert listing(ours) == listing(theirs), reference
        assert "/_RR_MOVE" in listing(ours)
    with open_image(str(ours)) as img:
        assert img.resolve("a/b/c/d/e/f/g/h/i/f.txt") is not None
    raw = run(["isoinfo", "-i", ours, "-R", "-l"]).stdout
    assert " .rr_moved" in raw and " rr_moved" not in raw


# ---- 4. the descriptor's identifiers ----

ID_WORDS = ("-V", "ci@da~ta.x", "-volset", "v@s 1", "-publisher", "P@b lisher~",
            "-p", "prep arer", "-A", "a#p$p", "-sysid", "s@y", "-copyright", "co-py.t_xt",
            "-abstract", "abs.txt", "-biblio", "bib.txt")
FIELDS = {"system": (8, 40), "volume": (40, 72), "volume set": (190, 318),
          "publisher": (318, 446), "preparer": (446, 574), "application": (574, 702),
          "copyright": (702, 739), "abstract": (739, 776), "bibliographic": (776, 813)}


def test_identifiers_as_xorrisofs_records_them(tree, tmp_path):
    ours, theirs = both(tmp_path, "xorrisofs", "-J", *ID_WORDS, tree)
    for sector in (16, 17):        # the primary and the Joliet descriptor
        mine, reference = pvd(ours, sector), pvd(theirs, sector)
        for name, (start, end) in FIELDS.items():
            assert mine[start:end] == reference[start:end], (sector, name)
    assert pvd(ours)[40:72].rstrip() == b"ci@da~ta.x"


def test_cloud_localds_volume_id_is_cidata(tmp_path):
    for name in ("user-data", "meta-data"):
        (tmp_path / name).write_text("#cloud-config\n")
    master("-output", "seed.img", "-volid", "cidata", "-joliet", "-rock", "user-data",
           "meta-data", cwd=tmp_path)
    assert pvd(tmp_path / "seed.img")[40:72].rstrip() == b"cidata"
    assert "Volume id: cidata" in run(["isoinfo", "-d", "-i",
                                       tmp_path / "seed.img"]).stdout


# ---- 5. --modification-date=, -volume_date ----

def dates(image):
    sector = pvd(image)
    return [sector[o:o + 17] for o in (813, 830, 847, 864)]


def xorriso_native(tmp_path, tree, *commands):
    out = tmp_path / "native.iso"
    run(["xorriso", "-outdev", out, *commands, "-map", tree, "/", "-commit"])
    return out


def test_modification_date_to_the_hundredth_as_xorrisofs(tree, tmp_path):
    ours, theirs = both(tmp_path, "xorrisofs", "--modification-date=2021020304050607", tree)
    assert dates(ours) == dates(theirs)
    assert dates(ours)[0] == b"2021020304050607\x00"


@pytest.mark.parametrize("words", [
    ("c", "2020010203040506", "m", "2020020203040506", "x", "2030010203040506",
     "f", "2019010203040506"),
    ("uuid", "2021020304050607", "c", "2020010203040506", "x", "=1600000000"),
    ("x", "2030010203040506", "x", "default"),
])
def test_volume_date_as_xorriso(tree, tmp_path, words):
    pairs = list(zip(words[::2], words[1::2]))
    native = [w for kind, when in pairs for w in ("-volume_date", kind, when)]
    theirs = xorriso_native(tmp_path, tree, *native)
    ours = tmp_path / "ours.iso"
    master(*native, "-o", ours, tree)
    if pairs[0][0] == "x":      # c and m are the time of mastering: compare x and f
        assert dates(ours)[2:] == dates(theirs)[2:] == [b"0" * 16 + b"\x00"] * 2
    else:
        assert dates(ours) == dates(theirs)


def test_volume_date_refuses_a_bad_time(tree, tmp_path):
    result = master("-volume_date", "x", "soon", "-o", tmp_path / "x.iso", tree,
                    check=False)
    assert result.returncode == 2 and "-volume_date" in result.stderr
    assert "Traceback" not in result.stderr


# ---- 6. -C: the session's own length ----

def test_next_session_gives_its_own_length_as_genisoimage_and_xorrisofs(tree, tmp_path):
    first = tmp_path / "first.iso"
    run(["genisoimage", "-quiet", "-R", "-o", first, tree / "docs"])
    nwa = (os.path.getsize(first) // 2048 + 31) // 32 * 32
    line = ("-R", "-M", first, "-C", f"0,{nwa}", tree / "sub")
    sizes = {}
    for program in ("isofuse", "genisoimage", "xorrisofs"):
        out = tmp_path / f"{program}.iso"
        if program == "isofuse":
            master("-o", out, *line)
        else:
            run([program, "-quiet", "-o", out, *line])
        sizes[program] = volume_space_size(out, 16)
        assert sizes[program] == os.path.getsize(out) // 2048, program
    assert sizes["isofuse"] == print_size(*line)
    disc = tmp_path / "disc.iso"
    with open(disc, "wb") as f:
        f.write(first.read_bytes())
        f.seek(nwa * 2048)
        f.write((tmp_path / "isofuse.iso").read_bytes())
    # every reader still finds both sessions (xorriso has no table of
    # contents in a plain file: it is told where, as for genisoimage's)
    found = run(["xorriso", "-load", "sbsector", nwa, "-indev", disc, "-find", "/",
                 "-name", "t.txt"]).stdout
    assert "/deeper/t.txt" in found
    info = run([sys.executable, "-m", "isofuse.cli.main", "info", disc]).stdout
    assert "Sessions:     2" in info
    with open_image(str(disc)) as img:
        assert img.resolve("deeper/t.txt") is not None


def test_append_to_keeps_the_whole_volume_at_sector_16(tree, tmp_path):
    image = tmp_path / "grown.iso"
    master("-R", "-o", image, tree / "docs")
    first_size = os.path.getsize(image)
    master("-R", "--append-to", image, tree / "sub")
    # behind the first session on a 64 KiB boundary (master.session.GROW_ALIGNMENT)
    second = (first_size // 2048 + 31) // 32 * 32
    assert volume_space_size(image, 16) == os.path.getsize(image) // 2048
    # the session's own descriptors: its own length, as -C writes them
    assert volume_space_size(image, second + 16) == os.path.getsize(image) // 2048 - second


# ---- 7. parser fixes ----

@pytest.fixture
def boot_tree(tmp_path):
    src = tmp_path / "boot"
    (src / "isolinux").mkdir(parents=True)
    (src / "isolinux" / "isolinux.bin").write_bytes(open(ISOLINUX_BIN, "rb").read())
    (src / "boot").mkdir()
    with open(src / "boot" / "efi.img", "wb") as f:
        f.truncate(64 * 1024)
    return src


def system_area(image):
    """The partition tables xorriso reports: types, flags and paths (the
    starts depend on each program's data layout)."""
    out = run(["xorriso", "-indev", image, "-report_system_area", "plain"]).stdout
    rows = []
    for line in out.splitlines():
        label, _, rest = line.partition(":")
        if label.startswith(("MBR partition ", "GPT partition path", "GPT entry array",
                             "APM", "System area summary")):
            rows.append((label.strip(), [f for f in rest.split() if not f.isdigit()]))
    return rows


@pytest.mark.skipif(not os.path.exists(ISOHDPFX), reason="syslinux isohdpfx.bin missing")
@pytest.mark.parametrize("marks", [
    ("--efi-boot", "boot/efi.img", "-isohybrid-gpt-basdat"),
    ("--efi-boot", "boot/efi.img", "-isohybrid-gpt-basdat", "-isohybrid-apm-hfsplus"),
    ("-isohybrid-gpt-basdat", "--efi-boot", "boot/efi.img"),
])
def test_isohybrid_marks_after_efi_boot_mark_nothing(boot_tree, tmp_path, marks):
    line = ("-R", "-isohybrid-mbr", ISOHDPFX, "-b", "isolinux/isolinux.bin", "-c",
            "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4",
            "-boot-info-table", *marks, boot_tree)
    ours, theirs = both(tmp_path, "xorrisofs", *line)
    assert system_area(ours) == system_area(theirs)


def test_volset_size_one_is_accepted_other_sizes_refused(tree, tmp_path):
    assert print_size("-volset-size", "1", "-volset-seqno", "1", tree) == print_size(tree)
    for option in ("-volset-size", "-volset-seqno"):
        result = master(option, "2", "-print-size", tree, check=False)
        assert result.returncode == 2 and option in result.stderr
        assert "more than one volume" in result.stderr


# ---- 8. the size model with hybrid areas and MD5 ----

def _size_model_and_layout(tree, **options):
    from isofuse.master.layout import Layout
    root = scan([str(tree)])
    opts = MasterOptions(rock="rationalized", **options)
    model = SizeModel(root, opts).total_sectors()
    whole = Layout(root, MasterOptions(rock="rationalized", **options))
    return model, whole.total_sectors - whole.base


@pytest.mark.parametrize("options", [
    dict(md5=True),
    dict(append_partitions=[(2, "0xef", ISOHDPFX)]),
    dict(partition_offset=16),
])
def test_size_model_counts_hybrid_areas_and_md5(tree, options):
    model, layout = _size_model_and_layout(tree, **options)
    plain, _ = _size_model_and_layout(tree)
    assert model == layout and model > plain


# ---- 10. ISO level 4: folders deeper than 8 levels stay where they are ----

def test_level_4_keeps_deep_folders_in_place_as_genisoimage_and_xorrisofs(tmp_path):
    """ISO 9660:1999 has no depth limit: no relocation (docs/mkisofs-options.md;
    xorrisofs 1.5.4 relocates at level 4 only with -hide-rr-moved)."""
    src = tmp_path / "deep"
    deep = src.joinpath(*"abcdefghijk")
    deep.mkdir(parents=True)
    (deep / "g.txt").write_text("eleven down\n")
    for reference in ("genisoimage", "xorrisofs"):
        ours, theirs = both(tmp_path, reference, "-R", "-iso-level", "4", src)
        assert listing(ours, "-R") == listing(theirs, "-R"), reference
        assert not any("rr_moved" in p.lower() for p in listing(theirs)), reference
    assert not any("rr_moved" in p.lower() for p in listing(ours))
    assert "/a/b/c/d/e/f/g/h/i/j/k/g.txt" in listing(ours)
    master("-R", "-iso-level", "4", "-hide-rr-moved", "-o", ours, src)
    assert not any("rr_moved" in p.lower() for p in listing(ours))
    with open_image(str(ours)) as img:
        assert img.resolve("a/b/c/d/e/f/g/h/i/j/k/g.txt") is not None


@pytest.mark.parametrize("words", [
    ("-R", "-hide", "zz.bin"),
    ("-R", "-J", "-hide", "sub", "-hide-joliet", "sub", "-hide", "zz.bin",
     "-hide-joliet", "zz.bin"),
])
def test_files_in_no_tree_keep_their_data_as_xorrisofs_and_genisoimage(tree, tmp_path,
                                                                        words):
    """xorriso documents it ("the data content of such hidden files will be
    included"); genisoimage does the same (measured)."""
    for reference in ("xorrisofs", "genisoimage"):
        ours, theirs = both(tmp_path, reference, *words, tree)
        for image in (ours, theirs):
            data = image.read_bytes()
            assert b"z" * 5000 in data and b"only in Joliet\n" in data, (reference, image)
        assert listing(ours, "-R") == listing(theirs, "-R"), reference
    assert os.path.getsize(ours) == print_size(*words, tree) * 2048


def test_a_hard_link_only_joliet_shows_shares_the_data(tmp_path):
    src = tmp_path / "links"
    (src / "a").mkdir(parents=True)
    (src / "a" / "big").write_bytes(b"q" * 9000)
    os.link(src / "a" / "big", src / "link")
    image = tmp_path / "l.iso"
    master("-R", "-J", "-hide", "a", "-o", image, src)
    extents = {line.split("[")[1].split()[0]
               for line in run(["isoinfo", "-i", image, "-J", "-l"]).stdout.splitlines()
               if line.endswith((" big ", " link "))}
    assert len(extents) == 1                    # one copy of the data
    assert extract(image, "-J", "/a/big") == b"q" * 9000
    assert os.path.getsize(image) == print_size("-R", "-J", "-hide", "a", src) * 2048
