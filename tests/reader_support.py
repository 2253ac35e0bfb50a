"""Walking an image's newest tree through isofuse's own reader (no mount)."""

from isofuse.reader import open_image


def entries(image):
    """(open image, "/path", inode) for every entry, depth first; the image
    stays open while the walk runs (file data can be read on the way)."""
    with open_image(str(image)) as img:
        stack = [(img.root, "")]
        while stack:
            inode, prefix = stack.pop()
            for child in img.listdir(inode):
                path = prefix + "/" + child.name.decode("utf-8", "surrogateescape")
                yield img, path, child
                if child.is_dir:
                    stack.append((child, path))


def paths(image, files_only=False):
    """Sorted paths of every entry (or of the non-directories)."""
    return sorted(path for _, path, node in entries(image)
                  if not (files_only and node.is_dir))


def resident_bytes(path):
    """Bytes of ``path`` in the page cache, as util-linux's fincore counts them."""
    import subprocess
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def evict_from_page_cache(path):
    """Drop the file's pages (written out first: dirty pages stay), and
    check with fincore that none is left."""
    import os
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    assert resident_bytes(path) == 0, f"{path}: pages still cached"
