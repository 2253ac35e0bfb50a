"""growisofs -dry-run and the burn plan alike (burner/cli_burn.source_and_plan,
the one function both call): the sectors and the start the dry run says it
would write are the ones the burn writes, and a source the disc cannot
take is refused by both with the same words, nothing written."""

import os
import re

import pytest

from burner_support import make_disc, make_tree, run, state

WOULD = re.compile(r"would write (\d+) sectors \([\d.]+ MB\) of .* at sector (\d+) of the ")
BURNED = re.compile(r"burned (\d+) sectors at (\d+)")


def _tree(tmp_path, name, size):
    return make_tree(tmp_path / name, {f"{name}.bin": os.urandom(size)})


def _grow(mode, disc, tree, *extra):
    return run(*extra, mode, f"sim:{disc}", "-R", "-J", tree, program="growisofs")


@pytest.mark.parametrize("profile, first", [("cd-r", False), ("dvd+rw", False),
                                            ("dvd+rw", True), ("bd-re", True)])
def test_the_dry_run_says_what_the_burn_writes(tmp_path, profile, first):
    disc = make_disc(tmp_path, profile)
    if first:
        code, _, err = _grow("-Z", disc, _tree(tmp_path, "one", 200_000))
        assert code == 0, err
    mode = "-M" if first else "-Z"
    tree = _tree(tmp_path, "two", 150_000)
    before = state(disc)
    code, out, err = _grow(mode, disc, tree, "-dry-run")
    assert code == 0, err
    assert "nothing was written" in out and state(disc) == before
    would = WOULD.search(out)
    assert would, out
    code, out, err = run("--device", f"sim:{disc}", "--multi", *(["--add"] if first else []),
                         tree)
    assert code == 0, err
    burned = BURNED.search(out + err)
    assert burned, out + err
    assert burned.groups() == would.groups()
    sectors, start = map(int, burned.groups())
    assert state(disc).recorded_end >= start + sectors


def test_a_source_too_big_is_refused_alike_and_nothing_written(tmp_path):
    disc = make_disc(tmp_path, "cd-r", capacity=300)
    tree = _tree(tmp_path, "big", 1_000_000)            # 665 sectors on a 300-sector disc
    before = state(disc)
    with open(disc, "rb") as f:
        before_bytes = f.read()
    dry = _grow("-Z", disc, tree, "-dry-run")
    burn = _grow("-Z", disc, tree)
    assert dry[0] == burn[0] != 0
    assert dry[2].strip() and dry[2] == burn[2], (dry, burn)
    assert "Traceback" not in dry[2]
    assert state(disc) == before
    with open(disc, "rb") as f:
        assert f.read() == before_bytes

