class ReaderError(Exception):
    """The image as a whole cannot be read (no descriptors, not an image,
    unreadable device).  Its message is meant for the user, one line."""


class CorruptEntry(Exception):
    """One entry (a directory, a file's data) is damaged; the rest of the
    image stays readable.  The FUSE layer turns it into EIO."""
