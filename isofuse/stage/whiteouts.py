"""Markers in the upper folder: whiteouts, opaque folders, work files.

A whiteout says "NAME of the lower layers is deleted".  For a name of up to
251 bytes it is an empty file ``.wh.NAME`` (the form overlayfs tools and
aufs use).  A longer name leaves no room for the 4-byte prefix within
NAME_MAX (255), so its whiteout is ``.wh..wh.long.HASH``: HASH is the first
32 hex digits of the SHA-256 of the name, and the file holds the full name
(the name is checked on lookup, so a hash collision cannot hide a file).

Markers are made under a work name and renamed into place, so a killed
daemon leaves either no marker or a complete one.
"""

import errno
import hashlib
import itertools
import os
import secrets
import shutil

WHITEOUT_PREFIX = b".wh."
OPAQUE = b".wh..wh..opq"
TEMP_PREFIX = b".wh..wh.tmp."
LONG_PREFIX = b".wh..wh.long."
NAME_MAX = 255


def check_name(name):
    """Linux's NAME_MAX for every name the stage is asked about."""
    if len(name) > NAME_MAX:
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))


def whiteout_name(name):
    if len(WHITEOUT_PREFIX) + len(name) <= NAME_MAX:
        return WHITEOUT_PREFIX + name
    return LONG_PREFIX + hashlib.sha256(name).hexdigest()[:32].encode()


# Work names: a random part per process and a counter (one urandom call per
# name was a system call per created file).
_TEMP_RUN = secrets.token_hex(4).encode()
_temp_numbers = itertools.count()


def temp_path(directory):
    """A work name in ``directory`` (removed at mount if left over)."""
    return os.path.join(directory, TEMP_PREFIX + b"%s.%x" % (_TEMP_RUN, next(_temp_numbers)))


def is_whiteout(directory, name):
    marker = os.path.join(directory, whiteout_name(name))
    if not whiteout_name(name).startswith(LONG_PREFIX):
        return os.path.lexists(marker)
    try:
        with open(marker, "rb") as f:
            return f.read() == name
    except OSError:
        return False


def make_whiteout(directory, name):
    marker = os.path.join(directory, whiteout_name(name))
    if os.path.lexists(marker):
        return
    temp = temp_path(directory)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if whiteout_name(name).startswith(LONG_PREFIX):
                os.write(fd, name)      # the full name, checked on lookup
        finally:
            os.close(fd)
        os.rename(temp, marker)
    except BaseException:
        remove_quietly(temp)
        raise


def drop_whiteout(directory, name):
    try:
        os.unlink(os.path.join(directory, whiteout_name(name)))
    except FileNotFoundError:
        pass


def whited_out(directory, names):
    """The lower names that the markers among ``names`` (a listing of the
    upper ``directory``) delete."""
    hidden = set()
    for name in names:
        if not name.startswith(WHITEOUT_PREFIX) or name == OPAQUE \
                or name.startswith(TEMP_PREFIX):
            continue
        if name.startswith(LONG_PREFIX):
            try:
                with open(os.path.join(directory, name), "rb") as f:
                    hidden.add(f.read())
            except OSError:
                pass
        else:
            hidden.add(name[len(WHITEOUT_PREFIX):])
    return hidden


def make_opaque(directory):
    marker = os.path.join(directory, OPAQUE)
    if not os.path.lexists(marker):
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o600))


def is_opaque(directory):
    return os.path.lexists(os.path.join(directory, OPAQUE))


def clear_markers(directory):
    """Whiteouts and the opaque marker inside an upper folder about to go."""
    for name in os.listdir(directory):
        if name.startswith(WHITEOUT_PREFIX):
            os.unlink(os.path.join(directory, name))


def remove_quietly(path):
    """Remove a work file or folder (cleanup after a failure: never raises)."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def clean_work_files(root):
    """Remove what an interrupted operation left (never a user's file)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            if name.startswith(TEMP_PREFIX):
                remove_quietly(os.path.join(dirpath, name))
        dirnames[:] = [d for d in dirnames if not d.startswith(TEMP_PREFIX)]
