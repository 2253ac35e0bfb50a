"""Helpers for the burner tests: simulated discs, small trees, running the CLI."""

import contextlib
import io
import os
import subprocess
import sys

from burner import cli, simstate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_disc(tmp_path, profile="cd-r", name=None, **kw):
    path = str(tmp_path / (name or f"{profile}.disc"))
    rewritable = profile in ("dvd+rw", "bd-re")
    kw.setdefault("formatted", rewritable)
    simstate.create(path, profile, **kw)
    return path


def make_tree(root, files):
    """files: {relative path: bytes}."""
    root = str(root)
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return root


def run(*args, stdin=None, program=None):
    """Run isofuse-burn in-process (as ``program``: a dialect's name, as if
    called through a link of that name): (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in args], program=program)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def run_process(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "burner.cli"] + [str(a) for a in args],
                          input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=REPO)


def state(path):
    return simstate.load(path)


def disc_bytes(path, start, count):
    with open(path, "rb") as f:
        f.seek(start * 2048)
        data = f.read(count * 2048)
    return data + bytes(count * 2048 - len(data))
