"""isofuse-burn over real SG_IO against QEMU's scsi-cd in the tools/vm guest
(one boot): --list finds a read-only drive with a disc, --msinfo answers,
a burn is refused with "drive cannot write", and copying the disc to an
image reproduces the attached image byte for byte."""

import hashlib
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm_support import (REPO, make_iso, make_tree, no_guest_left_behind,  # noqa: F401
                        run_in_vm, running_guests, vm_setup)

SCRIPT = r'''
cd {repo}
py="${{VM_PYTHON:-python3}}"
burn() {{ "$py" -m burner.cli "$@"; }}
echo "== list"; burn --list --json > /tmp/list.json; rc=$?; cat /tmp/list.json; echo "rc=$rc"
echo "== list-text"; burn --list; echo "rc=$?"
echo "== msinfo"; burn --device /dev/sr0 --msinfo 2>&1; echo "rc=$?"
echo "== burn"; burn --device /dev/sr0 {iso} 2>&1; echo "rc=$?"
echo "== burn-sg"; burn --device /dev/sg0 {iso} 2>&1; echo "rc=$?"
echo "== copy"; burn -q --image-out /tmp/copy.iso /dev/sr0; echo "rc=$?"
sha256sum /tmp/copy.iso; stat -c %s /tmp/copy.iso
'''


def _section(out, name):
    part = out.split(f"== {name}\n", 1)[1]
    return part.split("\n== ", 1)[0]


@pytest.mark.vm
@pytest.mark.slow
def test_real_drive_in_guest(vm_setup, tmp_path):
    src = make_tree(tmp_path / "src", fifo=False)
    iso = make_iso(src, tmp_path / "disc.iso", "-R", "-J")
    assert os.path.getsize(iso) % 2048 == 0
    result = run_in_vm(SCRIPT.format(repo=REPO, iso=iso), images=[iso], timeout=240)
    out = result.stdout
    print(out, result.stderr)

    rows = json.loads(_section(out, "list").split("rc=")[0])
    assert "rc=0" in _section(out, "list")
    row = next(r for r in rows if r["device"] == "/dev/sr0")
    assert row["mmc"] and row["vendor"] == "QEMU" and "CD-ROM" in row["product"]
    assert row["can_write"] is False and row["medium"] is True
    assert row["profile"] in ("CD-ROM", "DVD-ROM") and row["recorded_blocks"] > 0
    assert "read-only drive (cannot write)" in _section(out, "list-text")

    msinfo = _section(out, "msinfo")
    # QEMU's disc is a complete (closed) disc (READ DISC INFORMATION over
    # SG_IO says so): no next session, a clear message and status 7.
    assert "rc=7" in msinfo and "closed: no next session" in msinfo, msinfo

    for name in ("burn", "burn-sg"):
        burn = _section(out, name)
        assert "drive cannot write" in burn and "rc=5" in burn, burn
        assert "Traceback" not in burn

    copy = _section(out, "copy")
    assert "rc=0" in copy
    with open(iso, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    assert want in copy and str(os.path.getsize(iso)) in copy
