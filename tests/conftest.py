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
