"""What the stage answers about one entry: the fields of a stat, its stable
inode number and how long a cache (the kernel's) may keep the answer.

A plain record, so the stage's operations can be called and checked without
pyfuse3 (the FUSE adapter copies it into its own reply type).
"""

# The fields of struct stat the stage answers with, as os.stat_result names
# them (the FUSE adapter copies exactly these).
STAT_FIELDS = ("st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size",
               "st_blocks", "st_blksize", "st_atime_ns", "st_mtime_ns", "st_ctime_ns")


class Attributes:
    """One answer, never changed once made (a change of the entry makes a
    new one); ``converted`` holds what the FUSE adapter made of it, so an
    answer given again (a cached lookup or getattr) is not converted again."""
    __slots__ = STAT_FIELDS + ("timeout", "converted")

    def __init__(self, st_ino, st_mode, st_nlink=1, st_uid=0, st_gid=0, st_rdev=0,
                 st_size=0, st_blocks=0, st_blksize=4096, st_atime_ns=0, st_mtime_ns=0,
                 st_ctime_ns=0, timeout=0.0):
        self.st_ino, self.st_mode, self.st_nlink = st_ino, st_mode, st_nlink
        self.st_uid, self.st_gid, self.st_rdev = st_uid, st_gid, st_rdev
        self.st_size, self.st_blocks, self.st_blksize = st_size, st_blocks, st_blksize
        self.st_atime_ns, self.st_mtime_ns, self.st_ctime_ns = \
            st_atime_ns, st_mtime_ns, st_ctime_ns
        self.timeout = timeout      # seconds the answer (name and attributes) stays valid
        self.converted = None

    def __repr__(self):
        return "Attributes(%s)" % ", ".join(f"{name}={getattr(self, name)!r}"
                                            for name in STAT_FIELDS + ("timeout",))


def of_stat(ino, st, timeout):
    """Exact (nanosecond) attributes of an upper entry from its lstat/fstat."""
    return Attributes(ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_rdev,
                      st.st_size, st.st_blocks, st.st_blksize, st.st_atime_ns,
                      st.st_mtime_ns, st.st_ctime_ns, timeout)


def of_layer(ino, a, timeout):
    """Attributes of a lower layer's entry (``layers.Attr``: whole seconds;
    an image layer has no block count, so it is the size in 512-byte units
    as du expects)."""
    return Attributes(ino, a.mode, a.nlink, a.uid, a.gid, a.rdev, a.size,
                      (a.size + 511) // 512, 4096, a.atime * 1_000_000_000,
                      a.mtime * 1_000_000_000, a.ctime * 1_000_000_000, timeout)
