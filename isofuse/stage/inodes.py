"""Stable inode numbers for the merged tree, and which paths each one has.

An entry's number comes from something that outlives the mount, so
``find -inum``, backup tools and ``tar --listed-incremental`` see the same
number after a remount:

- an entry only a lower layer has gets a hash of that layer's identity of
  it (layer, device, inode number: hard links of a lower layer share it too),
  with the top bit set so it cannot meet an upper number;
- a copy-up keeps that number, as overlayfs does: the upper copy of a folder
  or of a file no other lower name links to gets an xattr
  ``user.isofuse.origin`` with it (hidden from users).  A number that changed
  under a running program would break it: the kernel drops a cached entry
  whose number changed, and a process whose working folder it was then gets
  ENOENT from getcwd;
- any other entry in the upper folder has its upper file's own inode number
  (so hard links share one, whatever their type).

Where a copy-up does change the number (symlinks, special files, lower files
with several names, an upper filesystem without user xattrs) the kernel may
still name the entry by the old number for a while; the old number then
stays an alias of the new one until the path is removed.  The root is
always ``ROOT`` (FUSE's root node).
"""

import hashlib
import os
import stat

ROOT = 1
LOWER_BIT = 1 << 63
UPPER_ALT_BIT = 1 << 62
RESERVED_BELOW = 100        # numbers of the root and the control files
ORIGIN_XATTR = "user.isofuse.origin"


def upper_ino(st_ino):
    if RESERVED_BELOW <= st_ino < UPPER_ALT_BIT:
        return st_ino
    return UPPER_ALT_BIT | (st_ino % UPPER_ALT_BIT)   # tiny or huge upper numbers


def lower_ino(identity):
    digest = hashlib.blake2b(repr(identity).encode(), digest_size=8).digest()
    return LOWER_BIT | (int.from_bytes(digest, "big") % LOWER_BIT)


def keep_origin(path, attr):
    """At copy-up: give the upper copy at ``path`` the number its lower
    original had (folders, and files no other lower name shares: two
    copies must never share a number)."""
    if stat.S_ISDIR(attr.mode) or (stat.S_ISREG(attr.mode) and attr.nlink == 1):
        try:
            os.setxattr(path, ORIGIN_XATTR, lower_ino(attr.identity).to_bytes(8, "big"),
                        follow_symlinks=False)
        except OSError:
            pass        # no user xattrs there: the number changes at copy-up


def upper_number(path, st):
    """The number of the upper entry at ``path`` (``st``: its lstat)."""
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        try:
            value = os.getxattr(path, ORIGIN_XATTR, follow_symlinks=False)
        except OSError:
            value = b""
        if len(value) == 8 and value[0] & 0x80:
            return int.from_bytes(value, "big")
    return upper_ino(st.st_ino)


class UpperNumbers:
    """upper_number, with the xattr read once per version of an upper file
    instead of at every lookup and getattr (a hot path).  The xattr is
    written only on a fresh copy before it is renamed into place, and users
    cannot set it, so a file whose inode and ctime are unchanged keeps its
    number; a reused inode number comes with a new ctime."""
    LIMIT = 1 << 16

    def __init__(self):
        self._known = {}

    def __call__(self, path, st):
        key = (st.st_ino, st.st_ctime_ns)
        number = self._known.get(key)
        if number is None:
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            number = self._known[key] = upper_number(path, st)
        return number

    def remember(self, st, number):
        """The stage knows the number of the upper file ``st`` describes (it
        has just created it, or changed it through a handle or path whose
        number it knows): no xattr to read for this version."""
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        self._known[(st.st_ino, st.st_ctime_ns)] = number


class InodeMap:
    """Path <-> inode number, many paths to one number (hard links)."""

    def __init__(self):
        self._by_rel = {b"": ROOT}
        self._names = {ROOT: {b"": None}}    # an ordered set per number
        self._alias = {}                     # old number -> current number
        self._aliases_of = {}                # current number -> its old numbers

    def ino(self, rel):
        return self._by_rel.get(rel)

    def bind(self, rel, ino):
        """``rel`` has number ``ino`` now.  When that replaces the path's
        only old number (a copy-up), the old one becomes an alias."""
        old = self._by_rel.get(rel)
        if old == ino or not rel:
            return
        if old is not None:
            self._drop_name(old, rel)
            if old not in self._names:
                self._alias[old] = ino
                self._aliases_of.setdefault(ino, set()).add(old)
        stale = self._alias.pop(ino, None)
        if stale is not None:
            self._aliases_of.get(stale, set()).discard(ino)
        self._by_rel[rel] = ino
        self._names.setdefault(ino, {})[rel] = None

    def unbind(self, rel):
        """The path is gone (unlink, rmdir, replaced by a rename)."""
        ino = self._by_rel.pop(rel, None)
        if ino is not None:
            self._drop_name(ino, rel)
        return ino

    def _drop_name(self, ino, rel):
        names = self._names.get(ino)
        if names is not None:
            names.pop(rel, None)
            if not names:
                del self._names[ino]
                for alias in self._aliases_of.pop(ino, ()):
                    self._alias.pop(alias, None)

    def resolve(self, ino):
        target = self._alias.get(ino)
        if target is None:          # the common case: a current number
            return ino
        for _ in range(7):          # aliases point to current numbers; 8 steps at most
            ino = target
            target = self._alias.get(ino)
            if target is None:
                return ino
        return target

    def rel(self, ino):
        """One path of the number (None if it has none: an unlinked file)."""
        names = self._names.get(self.resolve(ino))
        return next(iter(names)) if names else None

    def rel_and_shared(self, ino):
        """``rel(ino)`` and whether the number has other paths too (whose
        cached answers a change to it makes stale), in one look-up: every
        write and setattr asks both."""
        names = self._names.get(self.resolve(ino))
        if not names:
            return None, False
        return next(iter(names)), len(names) > 1

    def name_count(self, ino):
        return len(self._names.get(self.resolve(ino), ()))

    def move(self, old, new, is_dir=True):
        """A rename: ``old`` (and, for a directory, everything below it)
        now is ``new``; what ``new`` named before has lost that name."""
        prefix = old + b"/"
        if is_dir:
            moved = [(rel, ino) for rel, ino in self._by_rel.items()
                     if rel == old or rel.startswith(prefix)]
        else:   # a file: no scan (rsync renames every file it copies)
            moved = [(old, self._by_rel[old])] if old in self._by_rel else []
        self.unbind(new)
        for rel, ino in moved:      # aliases of moved numbers stay
            del self._by_rel[rel]
            self._names[ino].pop(rel, None)
        for rel, ino in moved:
            target = new + rel[len(old):]
            self.unbind(target)
            self._by_rel[target] = ino
            self._names.setdefault(ino, {})[target] = None
        for _, ino in moved:
            if not self._names.get(ino, True):
                del self._names[ino]
