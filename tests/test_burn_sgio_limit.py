"""The drive logic keeps every command within the SG_IO transport's 64 KiB
(transport.MAX_TRANSFER), proved on the simulated drive with that limit
imposed on it.

The simulated drive itself has no limit -- a drive takes any transfer
length its CDB states (docs/simulated-drive.md, "Transfer length") -- so
without this the simulator would no longer catch a burner that sends more
than SG_IO takes.  Here ``SimTransport.max_transfer`` is set to SG_IO's
limit, as ``SgioTransport`` has it, and the burner's paths run through the
command line: any larger transfer would be refused before the simulator
saw it, and fail the run.
"""

import os

import pytest

from burner import transport
from burner.sim import SimTransport
from burner_support import make_disc, make_tree, run


@pytest.fixture
def sizes(monkeypatch):
    """The SG_IO limit on the simulator; the transfer sizes it was sent."""
    seen = []
    plain = SimTransport.execute

    def execute(self, cdb, direction=transport.NONE, data=None, length=0, timeout=30,
                name=None):
        seen.append(len(data) if direction == transport.TO_DEVICE else length)
        return plain(self, cdb, direction, data, length, timeout, name)
    monkeypatch.setattr(SimTransport, "max_transfer", transport.MAX_TRANSFER)
    monkeypatch.setattr(SimTransport, "execute", execute)
    return seen


def _folder(tmp_path, name="tree"):
    return make_tree(tmp_path / name, {"big.bin": os.urandom(700_000),
                                       "dir/small.txt": b"small\n" * 100})


@pytest.mark.parametrize("profile", ["cd-r", "dvd+rw", "dvd-r", "bd-r", "bd-re"])
def test_a_burn_verified_stays_within_sg_io(tmp_path, sizes, profile):
    disc = make_disc(tmp_path, profile)
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", _folder(tmp_path))
    assert code == 0, err
    assert max(sizes) <= transport.MAX_TRANSFER
    assert sum(sizes) > 700_000 * 2           # the image went out and was read back


def test_growing_and_copying_stay_within_sg_io(tmp_path, sizes):
    """A DVD+RW grown (sectors 16-31 read back and rewritten, the new
    session verified), then copied to an image file (--image-out reads)."""
    disc = make_disc(tmp_path, "dvd+rw")
    assert run("--device", f"sim:{disc}", "--multi", _folder(tmp_path, "one"))[0] == 0
    code, _, err = run("--device", f"sim:{disc}", "--multi", "--verify", "--add",
                       _folder(tmp_path, "two"))
    assert code == 0, err
    code, _, err = run("--image-out", tmp_path / "copy.iso", f"sim:{disc}")
    assert code == 0, err
    assert os.path.getsize(tmp_path / "copy.iso") > 1_400_000
    assert max(sizes) <= transport.MAX_TRANSFER


def test_the_limit_is_really_imposed(tmp_path, sizes):
    """The fixture's limit refuses, as SgioTransport does, one byte over."""
    disc = make_disc(tmp_path, "dvd+rw")
    with SimTransport(disc) as sim:
        with pytest.raises(ValueError, match="limit of 65536"):
            sim.execute(bytes([0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 33, 0, 0]),
                        transport.FROM_DEVICE, length=transport.MAX_TRANSFER + 1)
