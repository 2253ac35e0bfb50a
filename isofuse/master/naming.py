"""Names on the disc: mkisofs-compatible translation to ISO 9660 identifiers
and to Joliet names, with collision resolution inside each directory.

ISO 9660 (ECMA-119 §7.5, §7.6, levels in §10): d-characters A-Z 0-9 _;
level 1 is 8.3 for files and 8 for directories, levels 2 and 3 allow 30
characters for name + extension (the dot not counted) and 31 for directories, ISO 9660:1999 (the
enhanced descriptor, "level 4") up to 207 bytes with no version number.
Colliding names get a numeric tail as genisoimage does: the first (in sorted
order of the original names) keeps its name, later ones end in 000, 001, ...
"""

import functools
import re
import unicodedata
from dataclasses import dataclass

D_CHARACTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
JOLIET_FORBIDDEN = frozenset("*/:;?\\")
_JOLIET_INVALID = re.compile(r"[*/:;?\\\x00-\x1f]")
# Names that Joliet keeps unchanged (printable ASCII, none of * / : ; ? \\).
_JOLIET_PLAIN = re.compile(rb"[^*/:;?\\\x00-\x1f\x80-\xff]*").fullmatch
# The same for several names joined by newlines.
_JOLIET_PLAIN_LINES = re.compile(rb"[^*/:;?\\\x00-\x09\x0b-\x1f\x80-\xff]*").fullmatch
JOLIET_MAX = 64
JOLIET_LONG_MAX = 103
LEVEL4_MAX = 207
# -iso-level 4 with Rock Ridge: a record of a longer identifier has no room
# for a CE entry (33 + 193 + 28 = 254 of 255 bytes, ECMA-119 §9.1, SUSP
# §5.1), so genisoimage cuts names to 193 bytes there (observed, 1.1.11)
LEVEL4_ROCK_RIDGE_MAX = 193


@dataclass(frozen=True)
class NameRules:
    level: int = 1                   # 1, 2, 3 or 4 (ISO 9660:1999)
    version_numbers: bool = True     # ";1" on file names (-N turns it off)
    allow_lowercase: bool = False    # -allow-lowercase
    relaxed: bool = False            # -relaxed-filenames: any printable 7-bit ASCII
    untranslated: bool = False       # -U: names as given (implies relaxed, lowercase)
    omit_period: bool = False        # -d: no "." after a name without extension
    allow_leading_dots: bool = False  # -L
    full_31: bool = False            # -l: 31-character names at level 1
    max_37: bool = False             # -max-iso9660-filenames: 37 characters
    allow_multidot: bool = False     # -allow-multidot: dots stay in names (genisoimage)
    level4_limit: int = LEVEL4_MAX   # bytes of a level 4 name (isotree.iso_rules)

    @property
    def file_limit(self):
        """Characters for name + "." + extension (without ";1").  Levels 2
        and 3 allow 30 for name and extension together: ECMA-119 §7.5.1
        does not count the separator, so the identifier has 31 (as -l's
        31-character names at level 1, and as xorrisofs and genisoimage
        write them)."""
        if self.level >= 4:
            return self.level4_limit
        if self.max_37:
            return 37
        if self.level == 1 and not self.full_31:
            return 12  # 8 + "." + 3
        return 31

    @property
    def dir_limit(self):
        if self.level >= 4:
            return self.level4_limit
        if self.max_37:
            return 37
        if self.level == 1 and not self.full_31:
            return 8
        return 31


def _ascii_fold(text):
    """Best-effort ASCII for names with accents (é -> e), like mkisofs does
    with its default charset mapping; anything else becomes "_" later."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=None)
def _invalid_characters(rules):
    """A pattern matching the characters ``rules`` do not allow (they become
    "_"), used after upper-casing unless lower case is allowed."""
    if rules.untranslated or rules.level >= 4:
        return re.compile(r"[/\x00]")
    if rules.relaxed:
        return re.compile(r"[^\x21-\x7e]|[/;]")
    dot = "." if rules.allow_multidot else ""
    if rules.allow_lowercase:
        return re.compile(rf"[^A-Za-z0-9_{dot}]")
    return re.compile(rf"[^A-Z0-9_{dot}]")


def _map_chars(text, rules):
    if not (rules.allow_lowercase or rules.untranslated or rules.level >= 4):
        text = text.upper()
    return _invalid_characters(rules).sub("_", text)


def _decode(raw):
    return raw.decode("utf-8", "surrogateescape")


def iso_name(raw, is_dir, rules):
    """Translate one name; returns (base, extension) without version, as str.

    Directories have no extension (None); a file's extension is what follows
    its last dot (earlier dots become "_").
    """
    text = _decode(raw)
    if rules.level >= 4:
        # ISO 9660:1999 §7.5: any characters up to 207 bytes; ";" stays a
        # version separator to many readers (pycdlib, the kernel's mapping).
        return _cut_bytes(text.replace("/", "_").replace(";", "_"), rules.level4_limit), None
    text = _ascii_fold(text)
    if not rules.untranslated and not text.isascii():
        text = text.encode("ascii", "replace").decode("ascii").replace("?", "_")
    if text.startswith(".") and not rules.allow_leading_dots:
        text = "_" + text[1:]
    keep_dots = rules.untranslated or rules.allow_multidot
    if is_dir:
        base = _map_chars(text, rules)
        if not keep_dots:
            base = base.replace(".", "_")
        elif rules.allow_multidot and "." in base[1:] and rules.dir_limit == 8:
            # genisoimage cuts a dotted folder name as 8.3 at level 1
            name, _, ext = base.rpartition(".")
            return f"{name[:8]}.{ext[:3]}", None
        return base[:rules.dir_limit] or "_", None
    base, dot, ext = text.rpartition(".")
    if not dot or not base:
        base, ext = text, ""
    base, ext = _map_chars(base, rules), _map_chars(ext, rules)
    if not keep_dots:
        base = base.replace(".", "_")
    base, ext = _cut_to_level(base, ext, rules)
    return base or "_", ext


def _cut_to_level(base, ext, rules):
    """Name and extension (str or bytes) cut to what the level allows:
    8.3 at level 1, else name + "." + extension within the file limit."""
    if rules.level == 1 and not rules.full_31 and not rules.max_37:
        return base[:8], ext[:3]
    limit = rules.file_limit
    ext = ext[:limit - 2]
    return base[:limit - 1 - len(ext)], ext


def _cut_bytes(text, limit):
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def iso_identifier(base, ext, is_dir, rules):
    """The recorded file identifier (bytes), version included for files."""
    if is_dir:
        return base.encode("utf-8", "surrogateescape")
    if rules.level >= 4:
        return base.encode("utf-8", "surrogateescape")
    name = base
    if ext:
        name += "." + ext
    elif not rules.omit_period:
        name += "."
    if rules.version_numbers:
        name += ";1"
    return name.encode("ascii", "replace")


def _with_tail(base, counter, room):
    digits = "%03d" % counter
    return base[:max(room - len(digits), 0)] + digits


_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]+").fullmatch
_PRINTABLE_LINES = re.compile(rb"[\x20-\x7e]+(?:\n[\x20-\x7e]+)*").fullmatch


@functools.lru_cache(maxsize=None)
def _plain_translation(rules):
    """For printable ASCII names the translation is a byte mapping (upper
    case unless lower case is allowed, every other character but the dot
    to "_") plus the length cut: assign_iso_names does that with
    bytes.translate instead of the general path.  None when the rules
    translate differently (relaxed, untranslated, ISO 9660:1999)."""
    if rules.level >= 4 or rules.untranslated or rules.relaxed or rules.allow_multidot:
        return None
    keep = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    if rules.allow_lowercase:
        keep += b"abcdefghijklmnopqrstuvwxyz"
    table = bytearray(b"_" * 256)
    for c in keep:
        table[c] = c
    if not rules.allow_lowercase:
        for c in b"abcdefghijklmnopqrstuvwxyz":
            table[c] = c - 32
    return bytes(table)


@functools.lru_cache(maxsize=None)
def _plain_limits(rules):
    """What the fast path needs of ``rules``, looked up once: (directory
    limit, 8.3 or not, file limit, version suffix, fold case for the
    collision key, omit the period)."""
    eight_three = rules.level == 1 and not rules.full_31 and not rules.max_37
    return (rules.dir_limit, eight_three, rules.file_limit,
            b";1" if rules.version_numbers else b"", rules.allow_lowercase, rules.omit_period)


def assign_iso_names(entries, rules, sort_keys=None):
    """Give every (raw_name, is_dir) in one directory a unique identifier.

    Returns a list of identifiers in the order of ``entries``.  Entries are
    processed in sorted order of their original names, so the result does
    not depend on the order the folder was read in.  A ``sort_keys`` list
    (as long as ``entries``) receives each identifier's iso_sort_key, made
    from the parts at hand rather than by splitting the identifier again.
    """
    raws = [raw for raw, _ in entries]
    order = sorted(range(len(entries)), key=raws.__getitem__)
    taken = set()
    result = [None] * len(entries)
    table = _plain_translation(rules)
    if table is not None:
        dir_limit, eight_three, file_limit, suffix, fold, omit_period = _plain_limits(rules)
        # one check for the whole directory when every name is printable
        lines = b"\n".join(raws)
        all_printable = _PRINTABLE_LINES(lines) is not None \
            and lines.count(b"\n") == len(raws) - 1
    for i in order:
        raw, is_dir = entries[i]
        if table is not None and raw[:1] != b"." and (all_printable or _PRINTABLE_ASCII(raw)):
            # The common case, once per file: a printable ASCII name not
            # starting with a dot.  Exactly what iso_name, iso_identifier and
            # _collision_key make of it, with bytes.translate for the mapping.
            if is_dir:
                name = ident = raw.translate(table)[:dir_limit]
                sort_key = (name, b"", b"")
            else:
                base, dot, ext = raw.rpartition(b".")
                if not dot:
                    base, ext = raw, b""
                base, ext = base.translate(table), ext.translate(table)
                if eight_three:             # _cut_to_level
                    base, ext = base[:8], ext[:3]
                else:
                    ext = ext[:file_limit - 2]
                    base = base[:file_limit - 1 - len(ext)]
                if ext:
                    name = base + b"." + ext
                else:
                    name = base if omit_period else base + b"."
                ident = name + suffix
                # iso_sort_key(ident): the base holds no dot (it became "_")
                sort_key = (base, ext, suffix[1:])
            key = name.upper() if fold else name
            if key not in taken:
                taken.add(key)
                result[i] = ident
                if sort_keys is not None:
                    sort_keys[i] = sort_key
                continue
        base, ext = iso_name(raw, is_dir, rules)
        ident = iso_identifier(base, ext, is_dir, rules)
        key = _collision_key(ident, rules)
        counter = 0
        while key in taken:
            if is_dir or ext is None:
                room = rules.dir_limit if is_dir else rules.file_limit
                new_base = _with_tail(base, counter, room)
            else:
                room = 8 if (rules.level == 1 and not rules.full_31 and not rules.max_37) \
                    else rules.file_limit - 1 - len(ext)
                new_base = _with_tail(base, counter, room)
            ident = iso_identifier(new_base, ext, is_dir, rules)
            key = _collision_key(ident, rules)
            counter += 1
        taken.add(key)
        result[i] = ident
        if sort_keys is not None:
            sort_keys[i] = iso_sort_key(ident)
    return result


def _collision_key(ident, rules):
    # Names differing only in case collide where readers map case.
    key = ident.split(b";")[0]
    return key.upper() if rules.level < 4 else key


def iso_sort_key(ident):
    """ECMA-119 §9.3: order by name, then extension, each padded with
    spaces (0x20 sorts before every d-character), then version."""
    name, _, version = ident.partition(b";")
    base, dot, ext = name.partition(b".")
    return (base, ext, version)


# ---- Joliet ----------------------------------------------------------------------

def _utf16_units(text):
    return len(text.encode("utf-16-be")) // 2


def _cut_utf16(text, units):
    out = []
    used = 0
    for ch in text:
        need = 2 if ord(ch) > 0xFFFF else 1
        if used + need > units:
            break
        out.append(ch)
        used += need
    return "".join(out)


def joliet_name(raw, is_dir, long_names=False):
    """A Joliet name (str): forbidden characters to "_", cut to 64 UTF-16
    units (103 with -joliet-long) keeping a short extension."""
    limit = JOLIET_LONG_MAX if long_names else JOLIET_MAX
    text = _decode(raw)
    if not text.isascii():
        text = text.encode("utf-16-be", "replace").decode("utf-16-be", "replace")
    text = _JOLIET_INVALID.sub("_", text)
    if _utf16_units(text) <= limit:
        return text
    base, dot, ext = text.rpartition(".")
    if dot and not is_dir and 0 < len(ext) <= 10:
        return _cut_utf16(base, limit - 1 - _utf16_units(ext)) + "." + ext
    return _cut_utf16(text, limit)


def plain_joliet_identifiers(raw_names, long_names=False):
    """The Joliet identifiers of one directory's names when every name is
    printable ASCII without a forbidden character and within the limit
    (the common case): each name as it is, in UTF-16; None otherwise.
    Such identifiers sort as their names do (a zero byte before each)."""
    limit = JOLIET_LONG_MAX if long_names else JOLIET_MAX
    if not raw_names:
        return []
    if max(map(len, raw_names)) > limit:
        return None
    # One check, one conversion and one split for the whole directory: a
    # newline cannot be in a plain name, and in UTF-16 it is the only
    # source of the bytes 00 0A at an even offset (no name holds a NUL).
    lines = b"\n".join(raw_names)
    if not _JOLIET_PLAIN_LINES(lines) or lines.count(b"\n") != len(raw_names) - 1:
        return None     # a name that is not plain (or holds a newline itself)
    return lines.decode("ascii").encode("utf-16-be").split(b"\x00\n")


def assign_joliet_names(entries, long_names=False):
    limit = JOLIET_LONG_MAX if long_names else JOLIET_MAX
    raws = [raw for raw, _ in entries]
    order = sorted(range(len(entries)), key=raws.__getitem__)
    taken = set()
    result = [None] * len(entries)
    for i in order:
        raw, is_dir = entries[i]
        if len(raw) <= limit and _JOLIET_PLAIN(raw):
            # printable ASCII without a forbidden character: kept as it is
            name = raw.decode("ascii")
        else:
            name = joliet_name(raw, is_dir, long_names)
        counter = 0
        while name in taken:
            base, dot, ext = name.rpartition(".")
            if not dot or is_dir:
                base, ext = name, ""
            digits = "%03d" % counter
            room = limit - _utf16_units(digits) - (_utf16_units(ext) + 1 if ext else 0)
            name = _cut_utf16(base, room) + digits + ("." + ext if ext else "")
            counter += 1
        taken.add(name)
        result[i] = name
    return result


def joliet_identifier(name):
    return name.encode("utf-16-be")


# ---- the primary descriptor's identifiers (ECMA-119 §8.4, §7.4) ----------------------------
# §7.4.1 a-characters and §7.4.2 d-characters (Annex A's table)
D_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
A_CHARACTERS = D_CHARACTERS | frozenset(" !\"%&'()*+,-./:;<=>?")


def a_characters(text):
    """An a-characters field (system, publisher, preparer, application id,
    §8.4.5, §8.4.20-22) as xorrisofs writes it: upper case, anything else
    '_'."""
    return "".join(c if c in A_CHARACTERS else "_" for c in text.upper())


def d_characters(text):
    """A d-characters field (the copyright, abstract and bibliographic file
    ids, §8.4.23-25) as xorrisofs writes it: upper case, anything else '_'
    (the '.' too)."""
    return "".join(c if c in D_CHARACTERS else "_" for c in text.upper())


def as_given(text):
    """The volume id and volume set id (§8.4.6, §8.4.13: d-characters by
    the standard) as genisoimage and xorrisofs record them: the bytes given,
    UTF-8, lower case kept (``-V cidata`` is what cloud-init looks for).
    Returned as the text whose Latin-1 encoding is those bytes, which is
    how the descriptor encoder writes a field."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")
