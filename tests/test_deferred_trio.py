"""The stage serves without trio (fuseops.blocking_loop), so it imports
pyfuse3 with trio deferred (fuseops.deferred_trio): trio is not imported
unless something uses it, and then it is the real trio."""

import os
import re
import subprocess
import sys

from mountutil import daemon_log, staged

STAND_IN_THEN_REAL = """
import sys
from isofuse.fuseops.deferred_trio import import_pyfuse3
pyfuse3 = import_pyfuse3()
assert type(sys.modules["trio"]).__name__ == "_DeferredTrio", sys.modules["trio"]
assert not [name for name in sys.modules if name.startswith("trio.")]
import trio                       # the stand-in, still
lowlevel = trio.lowlevel          # first use: the real trio is imported
real = sys.modules["trio"]
assert real is not trio and hasattr(real, "__file__") and real.lowlevel is lowlevel
assert trio.run is real.run
import trio.abc                   # a submodule import finds the real package
assert sys.modules["trio.abc"] is real.abc
print("real trio", real.__version__)
"""


def test_trio_is_imported_at_its_first_use_and_is_the_real_one():
    out = subprocess.run([sys.executable, "-c", STAND_IN_THEN_REAL], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert out.stdout.startswith("real trio ")


def test_trio_already_imported_is_left_alone():
    code = ("import sys, trio\n"
            "from isofuse.fuseops.deferred_trio import import_pyfuse3\n"
            "import_pyfuse3()\n"
            "assert sys.modules['trio'] is trio and hasattr(trio, '__file__')\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_stage_daemon_serves_without_importing_trio(tmp_path):
    lower, upper, mnt = tmp_path / "lower", tmp_path / "upper", tmp_path / "mnt"
    lower.mkdir()
    (lower / "a.txt").write_text("from below\n")
    # the interpreter's own import log (python -X importtime) in the daemon's log
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    with staged(upper, mnt, lowers=[lower], env=env):
        assert (mnt / "a.txt").read_text() == "from below\n"
        (mnt / "b.txt").write_text("new\n")
        os.rename(mnt / "b.txt", mnt / "c.txt")
        assert os.statvfs(mnt).f_blocks > 0
        assert sorted(os.listdir(mnt)) == ["a.txt", "c.txt"]
    assert (upper / "c.txt").read_text() == "new\n"
    imported = re.findall(r"^import time:.*\|\s*(\S+)$", daemon_log(mnt), re.M)
    # (the extension module pyfuse3 itself gets no line of its own)
    assert "pyfuse3._pyfuse3" in imported and "isofuse.fuseops.stage_ops" in imported
    assert [name for name in imported if name == "trio" or name.startswith("trio.")] == []
