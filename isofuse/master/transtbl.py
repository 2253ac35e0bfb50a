"""mkisofs -T: a translation table (TRANS.TBL) in every folder.

Readers without Rock Ridge see only the short ISO 9660 names; TRANS.TBL
maps each of them back to the original name, one line per entry, as
mkisofs writes it (see docs/mkisofs-options.md):

    TYPE ISO-NAME<spaces>\tORIGINAL-NAME[\tLINK-TARGET]\n

TYPE is F (file), D (folder), L (symbolic link, with its target), B/C
(block/character device) or P (FIFO).  The ISO names are computed by the
same naming rules the ISO 9660 tree uses (isofuse.master.naming), with the
table itself among the entries, so they are the names on the disc.
"""

import os
import stat

from . import naming
from .sourcetree import Node

NAME_COLUMN = 34        # mkisofs pads the ISO name to this width


def _kind(node):
    mode = node.mode
    if node.is_dir:
        return b"D"
    if node.is_symlink:
        return b"L"
    if stat.S_ISBLK(mode):
        return b"B"
    if stat.S_ISCHR(mode):
        return b"C"
    if stat.S_ISFIFO(mode):
        return b"P"
    return b"F"


def table_bytes(children, table_name, rules):
    """The table of one folder whose entries are ``children`` (Nodes; the
    table itself is not among them)."""
    entries = [(c.name, c.is_dir) for c in children] + [(table_name, False)]
    # (the table's own name takes part in the collisions, as on the disc)
    identifiers = naming.assign_iso_names(entries, rules)
    lines = []
    for child, ident in sorted(zip(children, identifiers), key=lambda p: p[1]):
        line = _kind(child) + b" " + ident.ljust(NAME_COLUMN) + b"\t" + child.name
        if child.is_symlink:
            line += b"\t" + child.symlink
        lines.append(line + b"\n")
    return b"".join(lines)


def add_tables(root, rules, name="TRANS.TBL", fixed_time=None, engine_files=()):
    """Put a table into every folder of the tree (replacing a file of that
    name, as mkisofs does); returns the table nodes.  ``engine_files`` are
    the disc paths of files the layout adds later (the boot catalog): they
    are listed where they will be, as mkisofs lists them."""
    table_name = name.encode() if isinstance(name, str) else name
    later = {}
    for path in engine_files:
        parent, _, leaf = os.fsencode(path).strip(b"/").rpartition(b"/")
        later.setdefault(parent, []).append(Node(name=leaf, mode=stat.S_IFREG | 0o444))
    made = []
    folders = [root] + [n for n in root.walk() if n.is_dir]
    for folder in folders:
        children = [c for n, c in folder.children.items() if n != table_name]
        extra = later.get(folder.path_on_disc().strip(b"/"), [])
        children += [c for c in extra if c.name not in folder.children]
        data = table_bytes(children, table_name, rules)
        when = folder.mtime if fixed_time is None else min(folder.mtime, fixed_time)
        node = Node(name=table_name, mode=stat.S_IFREG | 0o444, size=len(data), mtime=when,
                    atime=when, ctime=when, data=data)
        node.parent = folder
        folder.children[table_name] = node
        made.append(node)
    return made
