"""isofuse master's mkisofs-dialect command line (issue #12): the grammar,
the El Torito entry rules, and every spelling the argparse front end
misread (each test here failed on that front end: it split the words).
Images are checked with isoinfo, xorriso and our reader."""

import calendar
import os
import stat
import subprocess
import sys

import pytest

from isofuse.cli.master import UsageError, parse_command_line
from isofuse.reader import open_image
from reader_support import paths

ISOFUSE = [sys.executable, "-m", "isofuse.cli.main", "master"]


def master(*args, cwd=None, check=True):
    result = subprocess.run(ISOFUSE + [str(a) for a in args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def isoinfo(image, *flags):
    return subprocess.run(["isoinfo", "-i", str(image), *flags], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True).stdout


def iso_paths(image):
    return sorted(isoinfo(image, "-f").split())


def rr_names(image):
    """Rock Ridge paths as our reader sees them."""
    return paths(image)


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "readme.txt").write_text("read me\n")
    (src / "notes.txt").write_text("notes\n")
    (src / "keep.c").write_text("int main;\n")
    return src


# ---- words the old front end split -------------------------------------------------------

def test_output_long_spelling_writes_that_file(tree, tmp_path):
    # cloud-localds: genisoimage -output seed.iso ...; with a stale seed.iso
    # the old front end wrote ./utput and read seed.iso as a source
    (tmp_path / "seed.iso").write_bytes(b"stale")
    master("-quiet", "-output", "seed.iso", "-volid", "cidata", "-joliet", "-rock",
           tree / "notes.txt", cwd=tmp_path)
    assert not (tmp_path / "utput").exists()
    assert iso_paths(tmp_path / "seed.iso") == ["/NOTES.TXT;1"]
    # (the primary descriptor holds it in upper case: the layout's rule)
    assert "volume id: cidata" in isoinfo(tmp_path / "seed.iso", "-d").lower()


def test_pad_pads_and_sets_no_preparer(tree, tmp_path):
    cmd = parse_command_line(["-pad", "-o", "x.iso", str(tree)])
    assert cmd.options.padding_sectors == 150 and cmd.options.preparer == ""
    padded, bare = tmp_path / "p.iso", tmp_path / "n.iso"
    master("-quiet", "-pad", "-o", padded, tree)
    master("-quiet", "-no-pad", "-o", bare, tree)
    assert os.path.getsize(padded) - os.path.getsize(bare) == 150 * 2048
    assert "Data preparer id: \n" in isoinfo(padded, "-d") or \
        "Data preparer id:" not in isoinfo(padded, "-d").replace("Data preparer id: \n", "")


def test_f_follows_links(tree, tmp_path):
    (tree / "link.txt").symlink_to("notes.txt")
    followed, kept = tmp_path / "f.iso", tmp_path / "k.iso"
    master("-quiet", "-R", "-f", "-o", followed, tree)
    master("-quiet", "-R", "-o", kept, tree)
    with open_image(str(followed)) as img:
        node = img.resolve("link.txt")
        assert node.symlink is None and stat.S_ISREG(node.mode)
        assert img.read(node, 0, 100) == b"notes\n"
    with open_image(str(kept)) as img:
        assert img.resolve("link.txt").symlink == b"notes.txt"
    # -f is not -full-iso9660-filenames: names stay 8.3
    assert "/README.TXT;1" in "".join(iso_paths(followed))


def test_follow_links_refuses_a_loop(tree, tmp_path):
    (tree / "docs" / "up").symlink_to("..")
    result = master("-quiet", "-f", "-o", tmp_path / "l.iso", tree, check=False)
    assert result.returncode == 1 and "would never end" in result.stderr


@pytest.mark.parametrize("spelling", ["-m", "-exclude", "-x", "-old-exclude"])
def test_m_excludes_instead_of_adding_a_source(tree, tmp_path, spelling):
    image = tmp_path / "m.iso"
    master("-quiet", "-R", spelling, "*.txt", "-o", image, tree)
    assert rr_names(image) == ["/docs", "/keep.c"]


def test_exclude_with_a_slash_matches_the_disk_path(tree, tmp_path):
    image = tmp_path / "m.iso"
    master("-quiet", "-R", "-m", f"{tree}/docs", "-o", image, tree)
    assert rr_names(image) == ["/keep.c", "/notes.txt"]


def test_exclude_list_and_no_bak(tree, tmp_path):
    (tree / "notes.txt~").write_text("old")
    (tree / "#draft#").write_text("old")
    (tree / "data.bak").write_text("old")
    listing = tmp_path / "excl"
    listing.write_text("keep.c\n\nreadme.txt\n")
    image = tmp_path / "e.iso"
    master("-quiet", "-R", "-no-bak", "-exclude-list", listing, "-o", image, tree)
    assert rr_names(image) == ["/docs", "/notes.txt"]


def test_cache_inodes_is_not_a_boot_catalog(tree, tmp_path):
    cmd = parse_command_line(["-cache-inodes", "-o", "x", str(tree)])
    assert cmd.options.boot == [] and cmd.options.boot_catalog == "boot.catalog"
    image = tmp_path / "c.iso"
    master("-quiet", "-cache-inodes", "-o", image, tree)
    assert "El Torito" not in isoinfo(image, "-d")
    assert not any("ACHE" in p for p in iso_paths(image))


def test_no_cache_inodes_gives_hard_links_their_own_data(tree, tmp_path):
    os.link(tree / "notes.txt", tree / "same.txt")
    shared, split = tmp_path / "s.iso", tmp_path / "n.iso"
    master("-quiet", "-R", "-o", shared, tree)
    master("-quiet", "-R", "-no-cache-inodes", "-o", split, tree)
    def extents(image):
        with open_image(str(image)) as img:
            return {img.resolve(n).extents[0][0] for n in ("notes.txt", "same.txt")}
    assert len(extents(shared)) == 1 and len(extents(split)) == 2


def test_v_is_verbose_not_ambiguous(tree, tmp_path):
    result = master("-v", "-m", "keep.c", "-o", tmp_path / "v.iso", tree)
    assert "excluded" in result.stderr and "writing" in result.stderr
    result = master("-verbose", "-quiet", "-o", tmp_path / "q.iso", tree)
    assert result.stderr == ""


def test_hide_is_not_help(tree, tmp_path):
    image = tmp_path / "h.iso"
    master("-quiet", "-R", "-J", "-hide", "notes.txt", "-o", image, tree)
    assert "/notes.txt" not in rr_names(image)
    assert "notes.txt" in isoinfo(image, "-J", "-f")


def test_hide_rr_moved_is_accepted_and_rr_moved_stays_hidden(tmp_path):
    src = tmp_path / "deep"
    deep = src.joinpath(*"abcdefghij")
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("deep\n")
    image = tmp_path / "d.iso"
    master("-quiet", "-R", "-hide-rr-moved", "-o", image, src)
    names = rr_names(image)
    assert "/a/b/c/d/e/f/g/h/i/j/f.txt" in names
    assert not any("rr_moved" in n for n in names)


@pytest.mark.parametrize("words, field, value", [
    (["-exclude", "x"], "exclude", ("x",)),
    (["-partition_offset", "16"], "partition_offset", 16),
    (["-checksum_algorithm_iso", "md5,sha1"], "md5", True),
    (["-checksum_algorithm_iso", "sha256"], "md5", False),
    (["-eltorito-platform", "efi", "-b", "e.img"], "platform", 0xEF),
    (["--mbr-force-bootable"], "mbr_force_bootable", True),
    (["-G", "boot.img"], "system_area_file", "boot.img"),
])
def test_words_once_read_as_glued_short_options(words, field, value):
    cmd = parse_command_line(words + ["-o", "x.iso", "src"])
    if field == "exclude":
        assert cmd.scan.exclude == value and cmd.sources == ["src"]
    elif field == "platform":
        assert [b.platform for b in cmd.options.boot] == [value]
    else:
        assert getattr(cmd.options, field) == value
    assert cmd.options.preparer == "" and cmd.options.boot_catalog == "boot.catalog"


@pytest.mark.parametrize("word, reason", [
    ("-chrp-boot", "architecture"), ("-udf", "UDF"), ("-hfs", "HFS"), ("-apple", "HFS"),
    ("-jigdo-jigdo", "jigdo"), ("-z", "zisofs"), ("--protective-msdos-label", "partition"),
])
def test_refused_options_say_why(word, reason):
    with pytest.raises(UsageError) as info:
        parse_command_line([word, "x", "-o", "x.iso", "src"])
    assert word in str(info.value) and reason in str(info.value)


def test_refused_before_anything_is_written(tmp_path):
    result = master("-o", tmp_path / "x.iso", "-udf", tmp_path / "missing", check=False)
    assert result.returncode == 2 and "-udf is not supported: UDF" in result.stderr
    assert not (tmp_path / "x.iso").exists()


# ---- the grammar -------------------------------------------------------------------------------

@pytest.mark.parametrize("word, nearest", [
    ("-outp", "-output"), ("-out", "-output"), ("--v", "-v"), ("-volumeid", "-volid"),
    ("-rational_rock", "-rational-rock"), ("-oimage.iso", "-o image.iso"),
])
def test_unknown_word_names_the_nearest_option(word, nearest):
    with pytest.raises(UsageError) as info:
        parse_command_line([word, "src"])
    message = str(info.value)
    assert f"unknown option {word}" in message and f"did you mean {nearest}?" in message
    assert "\n" not in message


def test_unknown_option_fails_before_sources_are_read(tmp_path):
    out = tmp_path / "out.iso"
    result = master("-o", out, "-bogus", tmp_path / "no-such-folder", check=False)
    assert result.returncode == 2
    assert "unknown option -bogus" in result.stderr and "no-such-folder" not in result.stderr
    assert not out.exists()


def test_values_follow_and_equals_forms():
    cmd = parse_command_line(["-volid", "A", "--volid", "B", "-append_partition", "2",
                              "0xef", "efi.img", "--modification-date=2020010203040506",
                              "-input-charset=utf-8", "-o", "x", "src"])
    assert cmd.options.volume_id == "B"
    assert cmd.options.append_partitions == [(2, "0xef", "efi.img")]
    assert cmd.options.modification_date == "2020010203040506"
    assert cmd.scan.input_charset == "utf-8" and cmd.sources == ["src"]
    for bad in (["-o"], ["-o=x"], ["--modification-date", "2020010203040506"],
                ["-append_partition", "2", "0xef"], ["-iso-level", "5"],
                ["-dir-mode", "999"]):
        with pytest.raises(UsageError):
            parse_command_line(bad + ["src"])


def test_double_dash_ends_options_and_dash_is_a_source():
    cmd = parse_command_line(["-o", "x", "--", "-weird", "-"])
    assert cmd.sources == ["-weird", "-"]


def test_help_explains_and_writes_nothing(tmp_path):
    result = master("--help", cwd=tmp_path)
    assert "-isohybrid-mbr" in result.stdout and "-udf" in result.stdout
    assert "exact" in result.stdout and os.listdir(tmp_path) == []
    assert parse_command_line(["-help"]).help


def test_parse_command_line_contract(tmp_path):
    listing = tmp_path / "paths"
    listing.write_text("b\nc=d\n")
    cmd = parse_command_line(["-graft-points", "-print-size", "a", "-path-list",
                              str(listing), "-r", "-J"])
    assert cmd.sources == ["a", "b", "c=d"] and cmd.graft_points and cmd.print_size
    assert cmd.output is None and cmd.options.rock == "rationalized" and cmd.options.joliet
    with pytest.raises(UsageError):
        parse_command_line(["-path-list", str(tmp_path / "none"), "-o", "x"])
    with pytest.raises(UsageError):
        parse_command_line(["-o", "x"])             # no SOURCE


# ---- El Torito words ---------------------------------------------------------------------------

def boot(words):
    return parse_command_line(words + ["-o", "x", "src"]).options.boot


def test_modifiers_before_b_bind_to_its_entry():
    # live-build's grub-pc line
    (entry,) = boot(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                     "-b", "boot/grub/grub_eltorito"])
    assert (entry.image_path, entry.emulation, entry.load_size, entry.info_table) == \
        ("boot/grub/grub_eltorito", "none", 4, True)


def test_alt_boot_starts_a_new_entry():
    bios, efi = boot(["-b", "isolinux.bin", "-no-emul-boot", "-boot-load-size", "4",
                      "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot",
                      "-isohybrid-gpt-basdat"])
    assert (bios.platform, bios.load_size, bios.gpt_basdat) == (0, 4, False)
    assert (efi.platform, efi.emulation, efi.load_size, efi.gpt_basdat) == \
        (0xEF, "none", None, True)


def test_second_b_replaces_and_stray_alt_boots_are_ignored():
    (entry,) = boot(["-eltorito-alt-boot", "-b", "a.bin", "-no-emul-boot", "-b", "b.bin",
                     "-eltorito-alt-boot"])
    assert entry.image_path == "b.bin" and entry.emulation == "none"
    assert boot(["-b", "f.img"])[0].emulation == "floppy"


def test_efi_boot_and_platform_switch():
    bios, efi = boot(["-b", "a.bin", "-no-emul-boot", "--efi-boot", "e.img"])
    assert (efi.platform, efi.emulation) == (0xEF, "none")
    first, second = boot(["-b", "a.bin", "-no-emul-boot", "-eltorito-platform", "efi",
                          "-b", "e.img", "-no-emul-boot"])
    assert (first.platform, second.platform) == (0, 0xEF)
    with pytest.raises(UsageError):
        boot(["-eltorito-platform", "amiga"])


@pytest.mark.parametrize("interval", ["--interval:appended_partition_2:all::",
                                      "--interval:appended_partition_2:::"])
def test_an_appended_partition_as_efi_image(interval):
    """archiso's and Ubuntu's spellings: the EFI entry's image is partition 2."""
    from isofuse.master.sysarea import appended_partition_of
    _, efi = boot(["-b", "a.bin", "-no-emul-boot", "-append_partition", "2", "0xef",
                   "esp.img", "-eltorito-alt-boot", "-e", interval, "-no-emul-boot"])
    assert (efi.image_path, efi.platform) == (interval, 0xEF)
    assert appended_partition_of(efi.image_path) == 2
    assert appended_partition_of("boot/grub/efi.img") is None


@pytest.mark.parametrize("words,message", [
    (["-e", "--interval:appended_partition_3:all::"], "no -append_partition 3"),
    (["-append_partition", "2", "0xef", "x", "-e",
      "--interval:local_fs:0s-15s:zero_mbrpt:ubuntu.iso"], "only --interval:appended"),
    (["-append_partition", "2", "0xef", "x", "-e", "--interval:appended_partition_2:0s-9s::"],
     "only --interval:appended"),
])
def test_other_interval_forms_are_refused(words, message):
    with pytest.raises(UsageError, match=message):
        boot(words)


# ---- what the options do -----------------------------------------------------------------------

def test_level2_names_use_all_30_characters(tmp_path):
    src = tmp_path / "long"
    src.mkdir()
    (src / ("a" * 40 + ".txt")).write_text("x")
    ours, theirs = tmp_path / "o.iso", tmp_path / "x.iso"
    master("-quiet", "-iso-level", "2", "-o", ours, src)
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-iso-level", "2", "-o",
                    str(theirs), str(src)], check=True, capture_output=True)
    assert iso_paths(ours) == iso_paths(theirs) == ["/" + "A" * 27 + ".TXT;1"]


def test_input_charset_converts_names(tmp_path):
    src = tmp_path / "latin"
    src.mkdir()
    (src / "caf\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape")) \
        .write_text("x")
    image = tmp_path / "c.iso"
    master("-quiet", "-R", "-J", "-input-charset", "iso8859-1", "-o", image, src)
    assert rr_names(image) == ["/café.txt"]
    joliet = subprocess.run(["isoinfo", "-i", str(image), "-J", "-j", "iso8859-1", "-f"],
                            check=True, capture_output=True).stdout
    assert joliet.split() == ["/café.txt".encode("latin-1")]
    result = master("-R", "-J", "-output-charset", "latin1", "-o", image, src, check=False)
    assert result.returncode == 2 and "Joliet" in result.stderr


def test_output_and_joliet_charsets(tmp_path):
    src = tmp_path / "utf"
    src.mkdir()
    (src / "café.txt").write_text("x")
    image = tmp_path / "o.iso"
    master("-quiet", "-R", "-output-charset", "iso8859-1", "-o", image, src)
    with open_image(str(image)) as img:
        assert [c.name for c in img.listdir(img.root)] == ["café.txt".encode("latin-1")]
    master("-quiet", "-jcharset", "iso8859-1", "-o", image, src)
    joliet = subprocess.run(["isoinfo", "-i", str(image), "-J", "-j", "iso8859-1", "-f"],
                            check=True, capture_output=True).stdout
    # -jcharset = -input-charset and -J: the UTF-8 name read as Latin-1
    assert joliet.split() == ["/cafÃ©.txt".encode("latin-1")]


def test_translation_tables(tree, tmp_path):
    image = tmp_path / "t.iso"
    master("-quiet", "-T", "-o", image, tree)
    paths = iso_paths(image)
    assert "/TRANS.TBL;1" in paths and "/DOCS/TRANS.TBL;1" in paths
    table = isoinfo(image, "-x", "/TRANS.TBL;1")
    rows = sorted(tuple(line.split()) for line in table.splitlines())
    assert rows == [("D", "DOCS", "docs"), ("F", "KEEP.C;1", "keep.c"),
                    ("F", "NOTES.TXT;1", "notes.txt")]
    master("-quiet", "-table-name", "NAMES.TBL", "-o", image, tree)
    assert "/NAMES.TBL;1" in iso_paths(image)


def test_owner_and_mode_overrides_win_over_rationalizing(tree, tmp_path):
    image = tmp_path / "o.iso"
    master("-quiet", "-r", "-uid", "1234", "-gid", "99", "-file-mode", "0640",
           "-dir-mode", "0750", "-o", image, tree)
    with open_image(str(image)) as img:
        f, d = img.resolve("notes.txt"), img.resolve("docs")
        assert (f.uid, f.gid, stat.S_IMODE(f.mode)) == (1234, 99, 0o640)
        assert stat.S_IMODE(d.mode) == 0o750


def test_new_dir_mode_for_graft_point_folders(tree, tmp_path):
    image = tmp_path / "g.iso"
    master("-quiet", "-R", "-new-dir-mode", "0700", "-graft-points", "-o", image,
           f"made/here/notes.txt={tree / 'notes.txt'}")
    with open_image(str(image)) as img:
        assert stat.S_IMODE(img.resolve("made/here").mode) == 0o700


def test_modification_date_sets_the_volume_dates(tree, tmp_path):
    image = tmp_path / "d.iso"
    master("-quiet", "--modification-date=2021020304050600", "-o", image, tree)
    with open_image(str(image)) as img:
        created = img.descriptors.primary.creation_time
    assert created[0] == calendar.timegm((2021, 2, 3, 4, 5, 6, 0, 0, 0))


def test_path_list_adds_sources(tree, tmp_path):
    listing = tmp_path / "list"
    listing.write_text(f"{tree / 'keep.c'}\n{tree / 'docs'}\n")
    image = tmp_path / "p.iso"
    master("-quiet", "-R", "-path-list", listing, "-o", image)
    assert rr_names(image) == ["/keep.c", "/readme.txt"]


def test_output_inside_its_source_is_left_out(tree, tmp_path):
    (tree / "self.iso").write_bytes(b"old image")
    master("-quiet", "-R", "-o", "self.iso", ".", cwd=tree)
    assert "/self.iso" not in rr_names(tree / "self.iso")


def test_allow_multidot_as_genisoimage(tmp_path):
    src = tmp_path / "md"
    (src / "dir.with.dots").mkdir(parents=True)
    (src / "archive.tar.gz").write_text("x")
    ours, theirs = tmp_path / "o.iso", tmp_path / "g.iso"
    master("-quiet", "-allow-multidot", "-o", ours, src)
    subprocess.run(["genisoimage", "-quiet", "-allow-multidot", "-o", str(theirs), str(src)],
                   check=True, capture_output=True)
    assert iso_paths(ours) == iso_paths(theirs)


def test_grown_after_xorriso_keeps_the_session_chain(tree, tmp_path):
    image = tmp_path / "grow.iso"
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name)
    subprocess.run(["xorriso", "-dev", str(image), "-add", str(tmp_path / "one"), "--",
                    "-commit"], check=True, capture_output=True)
    master("-quiet", "-R", "--append-to", image, tmp_path / "two")
    toc = subprocess.run(["xorriso", "-indev", str(image), "-toc"], capture_output=True,
                         text=True)
    assert "broken" not in toc.stderr + toc.stdout
    assert (toc.stdout + toc.stderr).count("ISO session  :") == 2
    info = subprocess.run(ISOFUSE[:-1] + ["info", str(image)], capture_output=True,
                          text=True, check=True).stdout
    assert "Sessions:     2" in info


def test_readme_lists_every_option():
    from isofuse.cli import mkisofs_options
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    section = readme.split("## `isofuse master`")[1].split("\n## ")[0]
    missing = [spec.names[0] for spec in mkisofs_options.OPTIONS
               if f"`{spec.names[0]}`" not in section]
    assert missing == []


def test_allow_limited_size_takes_big_files_at_level_2(tmp_path):
    src = tmp_path / "big"
    src.mkdir()
    with open(src / "huge.img", "wb") as f:      # sparse: nothing is read for -print-size
        f.truncate(4 * 1024 ** 3 + 4096)
    refused = master("-iso-level", "2", "-print-size", src, check=False)
    assert refused.returncode == 1 and "-iso-level 3" in refused.stderr
    sized = master("-iso-level", "2", "-allow-limited-size", "-print-size", src)
    assert int(sized.stdout) * 2048 > 4 * 1024 ** 3
    assert parse_command_line(["-allow-limited-size", "-iso-level", "2", "-o", "x",
                               "s"]).options.names.level == 3
    with pytest.raises(UsageError):
        parse_command_line(["-allow-limited-size", "-o", "x", "s"])


def test_hide_joliet_is_a_hiding_option(tree, tmp_path):
    image = tmp_path / "hj.iso"
    master("-quiet", "-R", "-J", "-hide-joliet", "keep.c", "-o", image, tree)
    assert "/keep.c" in rr_names(image)
    assert "keep.c" not in isoinfo(image, "-J", "-f")
