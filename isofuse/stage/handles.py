"""Open files and directories of a stage, by handle number.

A file stays usable through its handles after its last name is gone
(unlink, or a rename over it), as on any POSIX filesystem: the handles are
also found by inode number, so fstat, ftruncate and friends of an unlinked
file still answer.
"""


class Handle:
    __slots__ = ("ino", "fd", "rel", "data", "stream", "wrote", "was_read", "source", "attr",
                 "inos", "clears_set_id")

    def __init__(self, ino, fd=None, rel=None, data=None, stream=None):
        self.ino, self.fd, self.rel, self.data, self.stream = ino, fd, rel, data, stream
        self.wrote = False      # written or changed through it: the model hears at close
        self.was_read = False   # a first read may change the file's atime
        self.source = None      # the layer a read-only handle reads (lower layers never change)
        self.attr = None        # that entry's attributes when it was opened
        self.inos = ()          # the numbers the handle answers for once unlinked
        # a direct-I/O handle of a writer without CAP_FSETID: its writes
        # clear S_ISUID/S_ISGID here, since the kernel leaves that to us
        self.clears_set_id = False


class OpenFiles:
    def __init__(self, inodes):
        self._inodes = inodes       # stage.inodes.InodeMap
        self._handles = {}          # handle number -> Handle
        self._by_ino = {}           # inode number -> {handle number: Handle} of open files
        self._next = 1

    def add(self, handle):
        number = self._next
        self._next += 1
        self._handles[number] = handle
        return number

    def __getitem__(self, number):
        return self._handles[number]

    def get(self, number):
        return self._handles.get(number)

    def track(self, number, handle, inode):
        """Find ``handle`` by its inode numbers too (for an unlinked file)."""
        handle.inos = {inode, self._inodes.resolve(inode)}
        for ino in handle.inos:
            self._by_ino.setdefault(ino, {})[number] = handle

    def pop(self, number):
        handle = self._handles.pop(number, None)
        if handle is not None:
            for ino in handle.inos:
                handles = self._by_ino.get(ino)
                if handles is not None:
                    handles.pop(number, None)
                    if not handles:
                        del self._by_ino[ino]
        return handle

    def writable_of(self, inode):
        """A handle of a file open for writing (its descriptor is of the
        upper file) with that number, or None: fchmod, fchown, futimens
        through it need no path walk in the upper folder."""
        for ino in (inode, self._inodes.resolve(inode)):
            for handle in self._by_ino.get(ino, {}).values():
                if handle.fd is not None and handle.source is None:
                    return handle
        return None

    def of_inode(self, inode):
        """A handle of an open file with that number (one whose last name
        is gone), or None."""
        for ino in (inode, self._inodes.resolve(inode)):
            handles = self._by_ino.get(ino)
            if handles:
                return next(iter(handles.values()))
        return None
