"""Multisession end to end: stage over the last session of a disc in a
(simulated) drive, burn the next session, mount the result."""

import os
import shutil
import subprocess
import sys

import pytest

from mountutil import ISOFUSE, mounted, staged
from treelisting import format_rows, listing

pytestmark = pytest.mark.mount
BURN = [sys.executable, "-m", "burner.cli"]


def burn(*args):
    result = subprocess.run(BURN + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


@pytest.mark.parametrize("profile", ["cd-r", "dvd+r"])
def test_stage_over_last_session_then_burn_the_next(tmp_path, profile):
    first = tmp_path / "first"
    (first / "dir").mkdir(parents=True)
    (first / "dir" / "old.txt").write_bytes(b"goes away\n")
    (first / "keep.bin").write_bytes(os.urandom(50_000))
    disc = tmp_path / "disc"
    subprocess.run([sys.executable, "-m", "burner.simtool", "create", str(disc),
                    "--profile", profile], check=True, stdout=subprocess.DEVNULL)
    burn("-q", "--multi", "-d", f"sim:{disc}", first)
    start, nwa = map(int, burn("--msinfo", "-d", f"sim:{disc}").strip().split(","))
    upper, mnt = tmp_path / "upper", tmp_path / "mnt"
    with staged(upper, mnt, [f"sim:{disc}"], [f"multisession,medium=sim:{disc}"]):
        assert (mnt / ".isofuse" / "msinfo").read_text().strip() == f"{start},{nwa}"
        assert sorted(os.listdir(mnt)) == ["dir", "keep.bin"]
        os.unlink(mnt / "dir" / "old.txt")
        (mnt / "new.txt").write_bytes(b"second session\n")
        expected = format_rows(listing(str(mnt)), ("path", "type", "size", "sha256"))
        session = tmp_path / "next.iso"
        shutil.copyfile(mnt / ".isofuse" / "image.iso", session)
        st = os.statvfs(mnt)
        # df: the new session alone, old files are referenced, not copied
        assert (st.f_blocks - st.f_bfree) * 2048 == os.path.getsize(session)
        assert os.path.getsize(session) < 50_000 + 400 * 2048
    burn("-q", "--multi", "-d", f"sim:{disc}", session)
    with mounted(disc, tmp_path / "check"):
        got = format_rows(listing(str(tmp_path / "check")), ("path", "type", "size", "sha256"))
    assert got == expected
    info = subprocess.run(ISOFUSE + ["info", "--json", str(disc)], stdout=subprocess.PIPE,
                          check=True).stdout.decode()
    import json
    assert len(json.loads(info)["sessions"]) == 2
