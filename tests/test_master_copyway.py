"""How `isofuse master` copies large files: copy_file_range where the kernel
shares or offloads the copy, a buffered read and write elsewhere
(isofuse/master/copyway.py).  Both ways must give the random-access
stream's bytes, and xorriso must extract every source file from them."""

import os
import random
import subprocess
import tempfile

import pytest

from isofuse.master import copyway, layout, options, sourcetree, stream


def _findmnt_type(path):
    """The filesystem type as util-linux's findmnt sees it (the last of
    mounts stacked on one place is the one seen)."""
    return subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", str(path)],
                          capture_output=True, text=True, check=True).stdout.split()[-1]


def test_filesystem_type_is_the_one_findmnt_names(tmp_path):
    assert copyway.filesystem_type(os.stat(tmp_path).st_dev) == _findmnt_type(tmp_path)
    assert copyway.filesystem_type(os.stat("/dev/shm").st_dev) == _findmnt_type("/dev/shm")


def test_a_device_no_mount_names_has_no_type():
    assert copyway.filesystem_type(os.makedev(4095, 1048575)) is None


def test_the_kernel_copy_is_kept_only_within_one_sharing_filesystem(tmp_path, monkeypatch):
    here = tmp_path / "a"
    here.write_bytes(b"x")
    there = tempfile.NamedTemporaryFile(dir="/dev/shm", prefix="isofuse-copyway-")
    try:
        with open(here, "rb") as src, open(tmp_path / "b", "wb") as same:
            fs = copyway.filesystem_type(os.fstat(src.fileno()).st_dev)
            assert copyway.kernel_copy_pays(src.fileno(), same.fileno()) == \
                (fs not in copyway.PIPE_COPY_FILESYSTEMS)
            # a filesystem that shares blocks (reflink) keeps copy_file_range
            monkeypatch.setattr(copyway, "PIPE_COPY_FILESYSTEMS", frozenset())
            assert copyway.kernel_copy_pays(src.fileno(), same.fileno())
            if os.fstat(there.fileno()).st_dev != os.fstat(src.fileno()).st_dev:
                # between filesystems copy_file_range only says EXDEV
                assert not copyway.kernel_copy_pays(src.fileno(), there.fileno())
    finally:
        there.close()       # and removed


def _large_files_layout(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = random.Random(5)
    # above SMALL_FILE, across BOUNCE_CHUNK and COPY_CHUNK boundaries, odd sizes
    for i, size in enumerate([stream.SMALL_FILE + 1, 3 * stream.BOUNCE_CHUNK + 77,
                              stream.COPY_CHUNK + 2049, 700_001]):
        (src / f"f{i}.bin").write_bytes(rng.randbytes(size))
    (src / "small.txt").write_bytes(b"between the large ones\n")
    return layout.Layout(sourcetree.scan([str(src)]),
                         options.MasterOptions(source_date_epoch=1800000000,
                                               rock=options.ROCK_KEEP))


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_both_ways_write_the_streams_bytes(tmp_path, monkeypatch, kernel_copy):
    lay = _large_files_layout(tmp_path)
    with stream.ImageStream(lay) as s:
        reference = s.read(0, s.size)
    used = []

    def choose(src_fd, out_fd):
        used.append(kernel_copy)
        return kernel_copy

    monkeypatch.setattr(stream, "kernel_copy_pays", choose)
    calls = []
    real_cfr = os.copy_file_range
    monkeypatch.setattr(os, "copy_file_range",
                        lambda *a: calls.append(a) or real_cfr(*a))
    out = tmp_path / "out.iso"
    with stream.ImageStream(lay) as s, open(out, "wb") as f:
        f.write(b"\xff" * 4096)           # not at the start of the output file
        f.flush()
        s.write_to(f.fileno())
    written = out.read_bytes()[4096:]
    assert written == reference
    assert len(used) == 4                 # once per large file
    assert bool(calls) == kernel_copy
    image = tmp_path / "image.iso"
    image.write_bytes(written)
    extracted = tmp_path / "extracted"
    subprocess.run(["xorriso", "-indev", str(image), "-osirrox", "on",
                    "-extract", "/", str(extracted)], check=True, capture_output=True)
    source = tmp_path / "src"
    assert sorted(os.listdir(extracted)) == sorted(os.listdir(source))
    for name in os.listdir(source):
        assert (extracted / name).read_bytes() == (source / name).read_bytes(), name


def test_a_file_shorter_than_planned_is_refused_by_the_buffered_copy(tmp_path, monkeypatch):
    lay = _large_files_layout(tmp_path)
    with open(tmp_path / "src" / "f1.bin", "r+b") as f:
        f.truncate(stream.BOUNCE_CHUNK)
    monkeypatch.setattr(stream, "kernel_copy_pays", lambda src_fd, out_fd: False)
    with stream.ImageStream(lay) as s, open(tmp_path / "out.iso", "wb") as f:
        with pytest.raises(stream.SourceChanged):
            s.write_to(f.fileno())


def test_a_kernel_copy_that_is_refused_midway_goes_on_through_the_buffer(tmp_path,
                                                                          monkeypatch):
    """copy_file_range copies each file's first 8 MiB chunk but says EXDEV
    for the next (as an overlay or a network filesystem may): the rest of
    the 8 MiB + 2049 byte file comes through the buffer, and the bytes are
    the stream's."""
    import errno
    lay = _large_files_layout(tmp_path)
    with stream.ImageStream(lay) as s:
        reference = s.read(0, s.size)
    monkeypatch.setattr(stream, "kernel_copy_pays", lambda src_fd, out_fd: True)
    real_cfr, calls = os.copy_file_range, []

    def refusing_midway(src, dst, count, offset_src=None, offset_dst=None):
        calls.append(offset_src)
        if offset_src:
            raise OSError(errno.EXDEV, "cross-device")
        return real_cfr(src, dst, count, offset_src, offset_dst)

    monkeypatch.setattr(os, "copy_file_range", refusing_midway)
    out = tmp_path / "out.iso"
    with stream.ImageStream(lay) as s, open(out, "wb") as f:
        s.write_to(f.fileno())
    assert out.read_bytes() == reference
    assert calls.count(stream.COPY_CHUNK) == 1       # refused once, mid-file
