"""Every isofuse command takes its option names exactly: an abbreviation is
an error naming it, never another option (argparse matches prefixes unless
told not to)."""

import subprocess

import pytest


@pytest.mark.parametrize("argv,word", [
    (["--vers"], "--vers"),
    (["info", "--jso", "x.iso"], "--jso"),
    (["mount", "--hel", "x.iso", "mnt"], "--hel"),
    (["stage", "--lowe", "lower", "upper", "mnt"], "--lowe"),
])
def test_an_abbreviated_option_is_refused(argv, word, tmp_path):
    proc = subprocess.run(["isofuse", *argv], cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert word in proc.stderr and "Traceback" not in proc.stderr


def test_a_closed_output_pipe_ends_quietly(tmp_path):
    """isofuse info ... | head: no traceback when the reader goes away."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n")
    image = tmp_path / "a.iso"
    subprocess.run(["isofuse", "master", "-quiet", "-r", "-o", str(image), str(tmp_path / "src")],
                   check=True)
    proc = subprocess.Popen(["isofuse", "info", "--json", str(image)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()                 # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) in (0, 141), err
    assert "Traceback" not in err, err


@pytest.mark.parametrize("word", ["multisession=no", "showcontrol=0", "norock=1"])
def test_a_stage_switch_with_a_value_is_refused(word, tmp_path):
    """-o multisession=no must not be read as multisession: an error, exit 2,
    before anything is mounted."""
    (tmp_path / "mnt").mkdir()
    proc = subprocess.run(["isofuse", "stage", "-o", word, "upper", "mnt"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert word in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "upper").exists()


@pytest.mark.parametrize("word,named", [("norock=no", "norock=no"), ("hide=0", "hide=0"),
                                        ("allow_other=1", "allow_other=1"), ("log", "log=FILE")])
def test_a_mount_switch_with_a_value_is_refused(word, named, tmp_path):
    """isofuse mount -o norock=no must not be read as norock (the kernel's
    iso9660 option parser refuses a value on a flag too): exit 2, named,
    before anything is mounted."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n")
    image = tmp_path / "a.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(image),
                    str(tmp_path / "src")], check=True, capture_output=True)
    (tmp_path / "mnt").mkdir()
    proc = subprocess.run(["isofuse", "mount", "-o", word, str(image), "mnt"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "Traceback" not in proc.stderr
    with open("/proc/mounts") as mounts:
        assert str(tmp_path / "mnt") not in mounts.read()
