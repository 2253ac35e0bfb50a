"""The burner's edge with the world: what SG_IO reports (sgio), transport
failures and their exit status, --size against an image file, the mounted
check by SCSI address (sysfs), and opening a drive without root."""

import ctypes
import errno
import os

import pytest

from burner import cli, cli_common, errors, sense, sgio, sources
from burner.errors import BurnError
from burner.transport import FROM_DEVICE, NONE

from burner_support import make_disc, run


# ---- a fake kernel for SG_IO -----------------------------------------------------------------
def fake_ioctl(status=0, sense_bytes=b"", host=0, driver=0, data=b"", fail=None):
    """An fcntl.ioctl that completes SG_IO as the kernel would: fills the
    sg_io_hdr's status fields, copies sense into the sense buffer and data
    into the data-in buffer; or fails with errno ``fail``."""
    def ioctl(fd, request, hdr, mutate=True):
        assert request == sgio.SG_IO
        if fail is not None:
            raise OSError(fail, os.strerror(fail))
        hdr.status, hdr.host_status, hdr.driver_status = status, host, driver
        n = min(len(sense_bytes), hdr.mx_sb_len)
        if n:
            ctypes.memmove(hdr.sbp, sense_bytes, n)
        hdr.sb_len_wr = n
        if data and hdr.dxferp:
            ctypes.memmove(hdr.dxferp, data, len(data))
            hdr.resid = hdr.dxfer_len - len(data)
        return 0
    return ioctl


@pytest.fixture
def node(tmp_path):
    path = tmp_path / "sr0"
    path.write_bytes(b"")
    return str(path)


def transport(node, monkeypatch, **kw):
    monkeypatch.setattr(sgio.fcntl, "ioctl", fake_ioctl(**kw))
    return sgio.SgioTransport(node)


def test_good_status_returns_the_data(node, monkeypatch):
    t = transport(node, monkeypatch, data=b"abcd")
    assert t.execute(bytes(10), FROM_DEVICE, length=8) == b"abcd"


@pytest.mark.parametrize("sense_bytes", [
    b"",                                        # CHECK CONDITION, nothing in the buffer
    bytes(18),                                  # all zeros: no response code
    b"\x7f" + bytes(17),                        # a response code SPC-4 does not define
    bytes([0x70, 0, 0]) + bytes(15),            # fixed format saying "no sense" 0/00/00
])
def test_check_condition_without_usable_sense_is_an_error(node, monkeypatch, sense_bytes):
    t = transport(node, monkeypatch, status=sgio.CHECK_CONDITION, sense_bytes=sense_bytes,
                  driver=sgio.DRIVER_SENSE if sense_bytes else 0)
    with pytest.raises(sense.TransportError) as info:
        t.execute(bytes(10), NONE, name="WRITE(10)")
    assert info.value.kind == "no-sense"
    assert info.value.command == "WRITE(10)"
    assert "did not say why" in str(info.value)


def test_check_condition_with_sense_is_a_scsi_error(node, monkeypatch):
    t = transport(node, monkeypatch, status=sgio.CHECK_CONDITION,
                  sense_bytes=sense.fixed(3, 0x0C, 0x00), driver=sgio.DRIVER_SENSE)
    with pytest.raises(sense.ScsiError) as info:
        t.execute(bytes(10), NONE, name="WRITE(10)")
    assert (info.value.key, info.value.asc) == (3, 0x0C)


def test_recovered_error_is_success(node, monkeypatch):
    t = transport(node, monkeypatch, status=sgio.CHECK_CONDITION,
                  sense_bytes=sense.fixed(1, 0x17, 0x01), driver=sgio.DRIVER_SENSE,
                  data=b"xy")
    assert t.execute(bytes(10), FROM_DEVICE, length=2) == b"xy"


@pytest.mark.parametrize("fields,kind", [
    ({"host": sgio.DID_TIME_OUT}, "timeout"),
    ({"driver": sgio.DRIVER_TIMEOUT}, "timeout"),
    ({"host": sgio.DID_NO_CONNECT}, "gone"),
    ({"host": 0x07}, "io"),                         # DID_ERROR
    ({"status": 0x18}, "io"),                       # RESERVATION CONFLICT
])
def test_host_and_driver_status_say_what_happened(node, monkeypatch, fields, kind):
    t = transport(node, monkeypatch, **fields)
    with pytest.raises(sense.TransportError) as info:
        t.execute(bytes(10), NONE, timeout=120, name="WRITE(10)")
    assert info.value.kind == kind
    if kind == "timeout":
        assert "within 120 s" in str(info.value)


@pytest.mark.parametrize("err,kind", [(errno.EIO, "io"), (errno.EPERM, "permission"),
                                      (errno.ENODEV, "gone"), (errno.ENXIO, "gone")])
def test_ioctl_errno_becomes_a_kind(node, monkeypatch, err, kind):
    t = transport(node, monkeypatch, fail=err)
    with pytest.raises(sense.TransportError) as info:
        t.execute(bytes(10), NONE, name="WRITE(10)")
    assert (info.value.kind, info.value.errno) == (kind, err)


def test_eio_after_the_node_vanished_is_device_gone(node, monkeypatch):
    t = transport(node, monkeypatch, fail=errno.EIO)
    os.unlink(node)
    with pytest.raises(sense.TransportError) as info:
        t.execute(bytes(10), NONE, name="READ(10)")
    assert info.value.kind == "gone"
    assert errors.transport_code(info.value) == errors.DEVICE_GONE


@pytest.mark.parametrize("kind,code", [("timeout", errors.TIMEOUT), ("gone", errors.DEVICE_GONE),
                                       ("permission", errors.NO_ACCESS),
                                       ("io", errors.TRANSPORT), ("no-sense", errors.TRANSPORT)])
def test_a_transport_failure_ends_with_one_line_and_its_exit_status(tmp_path, monkeypatch,
                                                                    capsys, kind, code):
    def failing(args):
        raise sense.TransportError(f"/dev/sr0: WRITE(10): it failed ({kind})", kind=kind)
    monkeypatch.setattr(cli, "cmd_burn", failing)
    disc = make_disc(tmp_path)
    assert cli.main(["--device", disc, str(tmp_path)]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"({kind})" in err


# ---- --size against an image file (item 6) -----------------------------------------------------
def master_image(tmp_path, pad_sectors=0):
    """A small ISO image file (staging profile), padded with zero sectors."""
    from burner_support import make_tree
    tree = make_tree(tmp_path / "tree", {"a.txt": b"hello\n", "d/b.bin": os.urandom(5000)})
    src = sources.MasteredSource([tree])
    try:
        data = src.read(0, src.size)
    finally:
        src.close()
    path = tmp_path / "image.iso"
    path.write_bytes(data + bytes(pad_sectors * 2048))
    return str(path), len(data)


@pytest.mark.parametrize("delta", [2048, -2048, 1])
def test_size_that_is_not_the_image_file_is_refused_before_writing(tmp_path, delta):
    image, volume = master_image(tmp_path)
    disc = make_disc(tmp_path)
    code, _, err = run("--device", "sim:" + disc, "--size", volume + delta, image)
    assert code == errors.USAGE
    assert str(volume + delta) in err and str(volume) in err
    assert "Traceback" not in err
    from burner_support import state
    assert state(disc).nwa == 0 and not state(disc).tracks      # nothing written


def test_size_of_the_iso_volume_in_a_padded_image_is_accepted(tmp_path):
    image, volume = master_image(tmp_path, pad_sectors=10)
    source = sources.open_source(image, volume)
    assert source.size == volume
    source.close()
    with pytest.raises(BurnError) as info:
        sources.open_source(image, volume + 2048)
    assert f"its ISO volume says {volume} bytes" in str(info.value)


# ---- the mounted check by SCSI address (item 8) ------------------------------------------------
@pytest.fixture
def fake_sysfs(tmp_path):
    """Two drives: sg1/sr0 at 1:0:0:0, sg2/sr1 at 2:0:0:0 (relative links, as sysfs has)."""
    root = tmp_path / "sys"
    for host, sg, sr in ((1, "sg1", "sr0"), (2, "sg2", "sr1")):
        dev = root / "devices" / "pci0000:00" / f"host{host}" / f"target{host}:0:0" \
            / f"{host}:0:0:0"
        dev.mkdir(parents=True)
        (root / "class" / "scsi_generic" / sg).mkdir(parents=True)
        (root / "class" / "scsi_generic" / sg / "device").symlink_to(
            os.path.relpath(dev, root / "class" / "scsi_generic" / sg))
        (root / "block" / sr).mkdir(parents=True)
        (root / "block" / sr / "device").symlink_to(os.path.relpath(dev, root / "block" / sr))
    return str(root)


def mount_table(tmp_path, *lines):
    path = tmp_path / "mounts"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_sg_node_of_a_drive_whose_sr_node_is_mounted_is_mounted(tmp_path, fake_sysfs):
    mounts = mount_table(tmp_path, "proc /proc proc rw 0 0",
                         "/dev/sr0 /media/my\\040cd iso9660 ro 0 0")
    assert cli_common.mounted_at("/dev/sg1", fake_sysfs, mounts) == "/media/my cd"
    assert cli_common.mounted_at("/dev/sr0", fake_sysfs, mounts) == "/media/my cd"
    assert cli_common.mounted_at("/dev/sg2", fake_sysfs, mounts) is None     # the other drive
    assert cli_common.mounted_at("/dev/sr1", fake_sysfs, mounts) is None


def test_sim_disc_is_mounted_when_its_image_is(tmp_path, fake_sysfs):
    disc = make_disc(tmp_path)
    mounts = mount_table(tmp_path, f"{disc} /mnt/sim iso9660 ro 0 0")
    assert cli_common.mounted_at("sim:" + disc, fake_sysfs, mounts) == "/mnt/sim"
    assert cli_common.mounted_at("sim:" + disc, fake_sysfs, mount_table(tmp_path)) is None


def test_burning_through_sg_refuses_while_sr_of_the_drive_is_mounted(tmp_path, fake_sysfs,
                                                                      monkeypatch):
    from burner import sysfs
    monkeypatch.setattr(sysfs, "SYSFS", fake_sysfs)
    monkeypatch.setattr(sysfs, "MOUNTS",
                        mount_table(tmp_path, "/dev/sr0 /media/cd iso9660 ro 0 0"))
    image, _ = master_image(tmp_path)
    code, _, err = run("--device", "/dev/sg1", image)
    assert code == errors.MOUNTED
    assert "/media/cd" in err


# ---- burning without root (HOWTO 4.22) ----------------------------------------------------------
def deny_open(monkeypatch, read_only_too=False):
    """os.open in burner.sgio refusing as the kernel does for a node the user
    may not write (EACCES; also for reading with ``read_only_too``)."""
    real = os.open

    def fake_open(path, flags, *mode):
        if flags & os.O_RDWR or read_only_too:
            raise OSError(errno.EACCES, "Permission denied", path)
        return real(path, flags, *mode)
    monkeypatch.setattr(sgio.os, "open", fake_open)


def test_a_node_that_opens_read_only_is_refused_before_any_command(node, monkeypatch, tmp_path):
    deny_open(monkeypatch)
    sent = []
    monkeypatch.setattr(sgio.fcntl, "ioctl", lambda *a: sent.append(a))
    image, _ = master_image(tmp_path)
    code, _, err = run("--device", node, image)
    assert code == errors.NO_DEVICE
    assert "burning needs write access" in err and f"getfacl {node}" in err
    assert "cdrom" in err and err.count("\n") == 1
    assert sent == []                                   # nothing was sent to the drive


def test_permission_denied_says_how_to_get_access(node, monkeypatch, tmp_path):
    deny_open(monkeypatch, read_only_too=True)
    code, _, err = run("--device", node, "--msinfo")
    assert code == errors.NO_DEVICE
    assert "Permission denied" in err and "group" in err and f"getfacl {node}" in err


# ---- every exit status documented ------------------------------------------------------------
def test_every_exit_status_is_in_the_readme_and_the_help():
    import re
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    section = readme[readme.index("## `isofuse-burn`"):readme.index("## `isofuse info`")]
    listed = {int(n) for n in re.findall(r"^\| (\d+) \|", section, re.M)}
    helped = {int(n) for n in re.findall(r"(?:^|\s)(\d+) [a-z]", cli.EPILOG.split("examples")[0])}
    codes = set(errors.NAMES)
    assert listed == codes
    assert codes <= helped
