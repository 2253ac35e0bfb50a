"""The read-only mount daemon's nice value (``-o nice=N``).

Read back from /proc/PID/stat (field 19, the nice value, proc(5)) of the
foreground daemon; a daemon without CAP_SYS_NICE is made with util-linux's
setpriv, which drops the capability from the bounding set."""

import os
import subprocess

import pytest

from burner_support import make_tree
from corpus import run
from isofuse.cli import mountopts
from mountutil import ISOFUSE, is_mounted, mounted, unmount

WITHOUT_SYS_NICE = ["setpriv", "--bounding-set=-sys_nice", "--"]


def nice_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[16])                 # field 19 of proc(5), after pid and comm


@pytest.fixture
def image(tmp_path):
    src = make_tree(tmp_path / "src", {"a.txt": b"a\n"})
    iso = tmp_path / "p.iso"
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(iso), str(src)])
    return iso


def test_the_option_takes_minus_20_to_19():
    assert mountopts.parse(["nice=-10"]).nice == -10
    assert mountopts.parse(["ro,nice=19"]).nice == 19
    assert mountopts.parse([]).nice is None
    for bad in ("nice=20", "nice=-21", "nice=low", "nice="):
        with pytest.raises(mountopts.OptionError, match="nice"):
            mountopts.parse([bad])


@pytest.mark.mount
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the default raises the priority")
def test_as_root_the_daemon_runs_at_nice_minus_10_or_as_asked(image, tmp_path):
    with mounted(image, tmp_path / "m1") as daemon:
        assert (tmp_path / "m1" / "a.txt").read_bytes() == b"a\n"
        assert nice_of(daemon.pid) == -10
    with mounted(image, tmp_path / "m2", options=["nice=3"]) as daemon:
        assert nice_of(daemon.pid) == 3
    with mounted(image, tmp_path / "m3", prefix=["nice", "-n", "5"]) as daemon:
        assert nice_of(daemon.pid) == 5          # started low: kept


@pytest.mark.mount
def test_without_the_right_the_default_stays_and_an_explicit_value_is_refused(image,
                                                                              tmp_path):
    with mounted(image, tmp_path / "m1", prefix=WITHOUT_SYS_NICE) as daemon:
        assert (tmp_path / "m1" / "a.txt").read_bytes() == b"a\n"
        assert nice_of(daemon.pid) == 0
    try:
        refused = subprocess.run(WITHOUT_SYS_NICE + ISOFUSE + [
            "mount", "-o", "nice=-5", str(image), str(tmp_path / "m1")],
            capture_output=True, text=True, timeout=60)
        left_mounted = is_mounted(tmp_path / "m1")
    finally:
        unmount(str(tmp_path / "m1"))       # were it mounted after all (a regression)
    assert refused.returncode == 1
    assert not left_mounted
    assert refused.stderr.strip() == ("isofuse mount: nice=-5: a nice value below 0 "
                                      "needs root or CAP_SYS_NICE")
