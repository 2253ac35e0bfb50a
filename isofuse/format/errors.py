class FormatError(ValueError):
    """Bytes that do not decode to a valid record of the expected kind."""
