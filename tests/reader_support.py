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
