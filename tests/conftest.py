import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The interop corpus, built once per test session."""
    import corpus as corpus_mod
    return corpus_mod.build(str(tmp_path_factory.mktemp("corpus")))


@pytest.fixture(scope="session", autouse=True)
def no_mount_left_behind(tmp_path_factory):
    """Safety net behind the per-test fixtures: at the end of the session,
    unmount any FUSE mount below pytest's temporary folder."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    from mountutil import mount_points, unmount
    leftovers = [path for path in mount_points("fuse") if path.startswith(base)]
    for path in leftovers:
        unmount(path)
    assert not leftovers, f"tests left mounts behind: {leftovers}"
