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
    (root, facts about that session)."""
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
                "view": image.view, "volume_id": image.descriptors.primary.volume_id}
    return root, info


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
