"""File names as users see them.

Plain ISO 9660 identifiers (ECMA-119 §7.5) carry a ";1" version and are
upper case; Joliet identifiers are UCS-2 big endian (read as UTF-16, so
surrogate pairs work).  The mappings follow the Linux kernel's isofs (the
``map=normal`` default and its Joliet rules), so a disc looks the same under
isofuse and under ``mount -t iso9660``.
"""

MAP_NORMAL = "normal"  # lower case, drop ";1" and a trailing "." before it
MAP_OFF = "off"        # the identifier exactly as recorded


def plain_name(raw, mapping=MAP_NORMAL):
    """Map a plain ISO 9660 file identifier to a name (bytes)."""
    if mapping == MAP_OFF:
        return bytes(raw)
    out = bytearray()
    n = len(raw)
    for i, c in enumerate(raw):
        if c == 0:
            break
        if 0x41 <= c <= 0x5A:
            c |= 0x20
        if c == 0x2E and i == n - 3 and raw[i + 1] == 0x3B and raw[i + 2] == 0x31:
            break  # ".;1" at the end
        if c == 0x3B and i == n - 2 and raw[i + 1] == 0x31:
            break  # ";1" at the end
        if c in (0x3B, 0x2F):
            c = 0x2E  # other ';' and '/' (Acorn images) become '.'
        out.append(c)
    return bytes(out)


def joliet_name(raw):
    """Map a Joliet identifier (UCS-2 BE) to UTF-8 bytes."""
    text = bytes(raw[: len(raw) // 2 * 2]).decode("utf-16-be", "replace")
    if len(text) > 2 and text.endswith(";1"):
        text = text[:-2]
    # The kernel drops trailing dots (Windows does not show them either).
    while len(text) >= 2 and text.endswith("."):
        text = text[:-1]
    return text.encode("utf-8", "surrogateescape")
