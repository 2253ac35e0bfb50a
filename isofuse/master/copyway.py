"""Whether the kernel's copy_file_range is worth it for one source and output.

copy_file_range pays where the filesystem shares blocks (btrfs, XFS: a
reflink) or copies on the server (NFS 4.2, SMB).  Elsewhere the kernel copies
through a pipe of page references, and an image puts file data at sector
offsets that rarely fall on the boundaries of the page cache's large folios:
on ext4 (kernel 6.18), 2 GiB at such an offset took 0.84 s that way against
0.60 s read and written through a 256 KiB buffer; on tmpfs the two are equal
(0.98 / 0.91 s).  Between two filesystems copy_file_range only says EXDEV.
"""

import functools
import os

from ..mounttable import mount_entries

# Filesystems whose copy_file_range is the pipe copy (no block sharing, no
# offload), measured as above; anything not listed keeps copy_file_range.
PIPE_COPY_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "tmpfs"})


def kernel_copy_pays(src_fd, out_fd):
    """True when copying ``src_fd`` to ``out_fd`` (both regular files) with
    copy_file_range can beat a read and a write."""
    src_dev, out_dev = os.fstat(src_fd).st_dev, os.fstat(out_fd).st_dev
    if src_dev != out_dev:
        return False
    return filesystem_type(out_dev) not in PIPE_COPY_FILESYSTEMS


@functools.lru_cache(maxsize=16)
def filesystem_type(st_dev):
    """The type of the filesystem mounted as device ``st_dev`` (from the
    mount table), or None when no mount names it (btrfs subvolumes below
    the mounted one, no /proc)."""
    wanted = f"{os.major(st_dev)}:{os.minor(st_dev)}"
    try:
        return next((entry.fs_type for entry in mount_entries() if entry.device == wanted),
                    None)
    except OSError:
        return None
