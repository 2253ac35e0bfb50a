"""Multisession: the previous session's tree as the base of the next one.

Files of the previous session keep their extents (the new session's
directories point at them, nothing is copied); new sources are merged on top
(a new file replaces an old one of the same name, folders merge) and paths
can be removed.  The new session starts at ``next_writable`` (msinfo's second
number): its sectors are numbered from there.
"""

import os
import stat

from ..reader import ReadOptions, open_image
from ..reader.volume import read_descriptor_set
from .sourcetree import Node, SourceError


def _node_from_inode(image, inode):
    node = Node(name=inode.name, mode=inode.mode, uid=inode.uid, gid=inode.gid,
                size=inode.size if stat.S_ISREG(inode.mode) else 0, mtime=inode.mtime,
                atime=inode.atime, ctime=inode.ctime, nlink=inode.nlink, rdev=inode.rdev,
                dev_ino=("previous session", inode.ino), symlink=inode.symlink)
    if stat.S_ISREG(inode.mode):
        if inode.zisofs is not None:
            raise SourceError(f"{inode.name.decode(errors='replace')}: zisofs-compressed "
                              "files of a previous session cannot be carried over yet")
        node.old_extents = [(sector, length) for sector, length in inode.extents]
    else:
        node.old_extents = None
    return node


def import_previous(image_path, sbsector=None):
    """The tree of a session of an image or disc (the newest, or the one at
    ``sbsector``), as source nodes whose data stays where it is.  Returns
    (root, facts): the session's "start" and "end" (ECMA-119 §8.4.8 as
    the reader takes it), "volume_end" (volume_end below), "sessions"
    (the starts the reader finds), "view" and "volume_id"."""
    try:
        image = open_image(image_path, ReadOptions(sbsector=sbsector))
    except Exception as exc:  # ReaderError and OSError: say which image
        raise SourceError(f"previous session {image_path}: {exc}") from None
    with image:
        root = _node_from_inode(image, image.root)
        root.name = b""
        stack = [(image.root, root)]
        while stack:
            inode, node = stack.pop()
            for child in image.listdir(inode):
                child_node = _node_from_inode(image, child)
                child_node.parent = node
                node.children[child_node.name] = child_node
                if child.is_dir:
                    stack.append((child, child_node))
        end = image.descriptors.end_sector
        info = {"start": image.descriptors.session_start, "end": end,
                "view": image.view, "volume_id": image.descriptors.primary.volume_id,
                "volume_end": volume_end(image), "sessions": list(image.sessions)}
    return root, info


def volume_end(image):
    """The sector after everything an open image's sessions hold: where
    growing it may start writing (rounded up to session.GROW_ALIGNMENT).

    Sectors 16-31 hold either the first session's descriptors or, in a
    grown image, a copy of the newest one's giving the whole volume's size
    (ECMA-119 §8.4.8); a later session's own descriptors give its own
    length (genisoimage -C, xorriso, isofuse) or the whole volume's (a
    burner's copy), so the newest session is taken to end at start + its
    size unless the copy at 16 is its own -- never short of its end, so
    nothing of it is overwritten."""
    newest = image.descriptors
    size = newest.primary.volume_space_size
    at_16 = read_descriptor_set(image.source, 0).primary
    if at_16 is not None and at_16.root_record == newest.primary.root_record:
        return max(at_16.volume_space_size, newest.end_sector)
    own_end = newest.session_start + size
    return max(own_end, at_16.volume_space_size if at_16 is not None else 0)


def merge(base, new):
    """Put ``new``'s entries over ``base``: files replace, folders merge."""
    for name, child in list(new.children.items()):
        old = base.children.get(name)
        if old is not None and old.is_dir and child.is_dir:
            merge(old, child)
            continue
        child.parent = base
        base.children[name] = child
    return base


def remove_path(root, path):
    """Delete a path (bytes or str) from the tree; False if it was not there."""
    if isinstance(path, str):
        path = os.fsencode(path)
    parts = [p for p in path.split(b"/") if p]
    node = root
    for part in parts[:-1]:
        node = node.children.get(part)
        if node is None or not node.is_dir:
            return False
    return parts and node.children.pop(parts[-1], None) is not None
