import logging
import os
import re
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


# ---- a test that logs an unexpected warning fails (s3ql's checklogs) -----------------

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "allow_log(*patterns): warnings or errors whose message matches one of "
        "the regular expressions are expected by this test (it checks them itself)")


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_unexpected_log(request):
    """Fail a test whose code logged a warning or an error it did not expect.

    In-process code only (a mounted daemon logs to its own file, which the
    mount fixtures check).  A test that provokes a warning on purpose names it
    with ``@pytest.mark.allow_log(regex)``; a test that takes ``caplog``
    inspects the records itself."""
    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield
    finally:
        root.removeHandler(recorder)
    if "caplog" in request.fixturenames:
        return
    allowed = [re.compile(pattern) for marker in request.node.iter_markers("allow_log")
               for pattern in marker.args]
    unexpected = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in recorder.records
                  if not any(p.search(r.getMessage()) for p in allowed)]
    if unexpected:
        pytest.fail("unexpected log records:\n  " + "\n  ".join(unexpected[:10]),
                    pytrace=False)
