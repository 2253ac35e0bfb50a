"""The mkisofs command-line grammar, which argparse cannot express.

- Exact names only: ``-o`` is not ``-output``'s prefix and ``-pad`` is not
  ``-p ad``; an unknown word is an error naming the nearest option.
- An option's values are the next arguments (``-append_partition 2 0xef
  efi.img`` takes three), never glued to a one-letter option (``-oFILE``);
  a multi-letter option with one value also takes ``-NAME=VALUE`` (as
  genisoimage does), ``--modification-date=`` only that way (as xorrisofs).
- Words not starting with ``-`` (and every word after ``--``) are sources;
  a lone ``-`` is a source too.  Options and sources may be mixed.
- El Torito words build the boot catalog entries as xorrisofs documents:
  there is always a "current entry"; -b/-e set its image, the modifiers
  (-no-emul-boot, -boot-load-size, -boot-info-table ...) set its properties
  whether they come before or after -b/-e, -eltorito-alt-boot closes it.

Everything here only looks at words: no file is read, nothing is written.
"""

import difflib
from dataclasses import dataclass, field
from typing import Dict, List

from ..master.options import BootSpec
from ..master.sysarea import appended_partition_of
from . import mkisofs_options as table


class UsageError(Exception):
    """A command line that cannot be used; the message is one line."""


def _spelling_map():
    """Every spelling -> its spec.  The documented names come first: a
    two-dash name documented with its own meaning (xorrisofs' --efi-boot)
    is not the two-dash form of a one-dash name (genisoimage's -efi-boot)."""
    spellings = {}
    for spec in table.OPTIONS:
        for name in spec.names:
            assert name not in spellings, name    # one meaning per spelling
            spellings[name] = spec
    for spec in table.OPTIONS:
        for name in spec.spellings:
            spellings.setdefault(name, spec)
    return spellings


SPELLINGS: Dict[str, table.OptionSpec] = _spelling_map()


def defaults():
    """The settings of an empty command line: every dest of the table."""
    values = {}
    for spec in table.OPTIONS:
        if spec.dest is None:
            continue
        if spec.action == table.APPEND:
            values[spec.dest] = []
        elif spec.action == table.TRUE:
            values[spec.dest] = False
        else:
            values.setdefault(spec.dest, None)
    return values


@dataclass
class Words:
    """What a command line says, before any file is looked at."""
    settings: dict = field(default_factory=defaults)
    sources: List[str] = field(default_factory=list)
    boot: List[BootSpec] = field(default_factory=list)
    explicit: set = field(default_factory=set)      # dests given on the line
    boot_marks: set = field(default_factory=set)    # El Torito modifiers given
    seen: set = field(default_factory=set)          # options given (first spelling)
    help: bool = False
    version: bool = False


def nearest(word):
    """The known spelling closest to ``word`` (for the error message)."""
    stem = word.split("=", 1)[0]
    close = difflib.get_close_matches(stem, SPELLINGS, n=1, cutoff=0.5)
    if close:
        return close[0]
    dashes = "-" + stem.lstrip("-")
    close = difflib.get_close_matches(dashes, SPELLINGS, n=1, cutoff=0.0)
    return close[0] if close else None


def _unknown(word):
    stem = word.split("=", 1)[0]
    spec = SPELLINGS.get(stem)
    if spec is not None and spec.nargs:
        return UsageError(f"{word}: {stem} takes its value as the next argument "
                          f"({stem} {spec.metavar or 'VALUE'})")
    if spec is not None:
        return UsageError(f"{word}: {stem} takes no value")
    glued = SPELLINGS.get(word[:2])
    prefix_of = any(name.startswith(word) for name in SPELLINGS)
    if glued is not None and glued.nargs and len(word) > 2 and "=" not in word \
            and not prefix_of:
        # -oFILE: getopt would have split it; mkisofs words never are
        hint = f" (did you mean {word[:2]} {word[2:]}?)"
    else:
        guess = nearest(word)
        hint = f" (did you mean {guess}?)" if guess else ""
    return UsageError(f"unknown option {word}{hint}; isofuse master --help lists them")


def parse_words(argv):
    """Read the words of a command line into Words, or raise UsageError."""
    words = Words()
    boot = BootEntries()
    i, count = 0, len(argv)
    while i < count:
        word = argv[i]
        i += 1
        if word == "--":
            words.sources.extend(argv[i:])
            break
        if not word.startswith("-") or word == "-":
            words.sources.append(word)
            continue
        spec, values = _lookup(word)
        if spec is None:
            raise _unknown(word)
        if values is None:
            if i + spec.nargs > count:
                need = spec.metavar or "VALUE"
                raise UsageError(f"{word} needs {spec.nargs if spec.nargs > 1 else 'a'} "
                                 f"value{'s' if spec.nargs > 1 else ''} ({word} {need})")
            values = argv[i:i + spec.nargs]
            i += spec.nargs
        _apply(words, boot, word, spec, values)
    words.boot = boot.finish()
    words.boot_marks = boot.marks
    _check_partition_images(words)
    return words


def _check_partition_images(words):
    """-e --interval:appended_partition_N:all:: needs -append_partition N."""
    numbers = {number for number, _, _ in words.settings["append_partitions"]}
    for spec in words.boot:
        number = appended_partition_of(spec.image_path)
        if number is not None and number not in numbers:
            raise UsageError(f"{spec.image_path}: no -append_partition {number} makes "
                             "that partition")


def _lookup(word):
    """(spec, [value] given after '=', or None); (None, None) if unknown.

    NAME=VALUE is taken for multi-letter options with one value, as
    genisoimage takes it (the Linux kernel's genimage.sh writes
    -input-charset=utf-8) and as xorrisofs takes --modification-date=;
    never for one-letter options (-o=x) and never by prefix."""
    spec = SPELLINGS.get(word)
    if spec is not None:
        if spec.equals:
            raise UsageError(f"{word} takes its value after '=' ({word}={spec.metavar})")
        return spec, None
    name, eq, value = word.partition("=")
    spec = SPELLINGS.get(name)
    if eq and spec is not None and (spec.equals or (spec.nargs == 1 and len(name) > 2)):
        return spec, [value]
    return None, None


def _convert(word, spec, values):
    if spec.convert is None:
        return values[0] if spec.nargs == 1 else tuple(values)
    try:
        return spec.convert(values[0] if spec.nargs == 1 else tuple(values))
    except table.ValueProblem as exc:
        shown = " ".join(values)
        raise UsageError(f"{word} {shown}: wants {exc}") from None


def _apply(words, boot, word, spec, values):
    action = spec.action
    if action == table.REFUSED:
        hint = "; for help: --help" if word == "-h" else ""
        raise UsageError(f"{word} is not supported: {spec.help}{hint}")
    if action == table.HELP:
        words.help = True
        return
    if action == table.VERSION:
        words.version = True
        return
    if action == table.BOOT:
        boot.take(word, spec.const, _convert(word, spec, values) if spec.nargs else None)
        return
    settings = words.settings
    words.seen.add(spec.names[0])
    words.explicit.add(spec.dest)
    if action == table.TRUE:
        settings[spec.dest] = True
    elif action == table.CONST:
        settings[spec.dest] = spec.const
    elif action == table.STORE:
        settings[spec.dest] = _convert(word, spec, values)
    elif action == table.APPEND:
        settings[spec.dest].append(_convert(word, spec, values))
    else:                                              # a table entry without a meaning
        raise AssertionError(f"{word}: unknown action {action}")


PLATFORMS = {"x86": 0x00, "PPC": 0x01, "Mac": 0x02, "efi": 0xEF}


def platform_id(text):
    """-eltorito-platform: a name or a number 0-255 (El Torito §2.1)."""
    if text in PLATFORMS:
        return PLATFORMS[text]
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if not 0 <= value <= 255:
        raise UsageError(f"-eltorito-platform {text}: wants x86, PPC, Mac, efi or a "
                         "number 0-255")
    return value



# An El Torito modifier word -> (entry property, the value it sets; WORD_VALUE:
# the word's own argument, as -boot-load-size 4 gives 4).
WORD_VALUE = object()
ENTRY_MODIFIERS = {
    "no-emul": ("emulation", "none"), "hard-disk": ("emulation", "hdd"),
    "no-boot": ("bootable", False), "load-size": ("load_size", WORD_VALUE),
    "load-seg": ("load_segment", WORD_VALUE), "info-table": ("info_table", True),
    "grub2-boot-info": ("grub2_boot_info", True), "gpt-basdat": ("gpt_basdat", True),
    "apm-hfsplus": ("apm_hfsplus", True),
}

class BootEntries:
    """The El Torito entries as xorrisofs builds them from its words.

    The current entry collects its image (-b, -e) and its modifiers in any
    order; -eltorito-alt-boot closes it if it has an image (and is ignored
    otherwise, as xorrisofs ignores it); a second -b before an
    -eltorito-alt-boot replaces the first image of the entry, as in
    xorrisofs.  The emulation left unsaid is floppy for -b (mkisofs) and
    none for -e.
    """

    def __init__(self):
        self.done: List[BootSpec] = []
        self.platform_for_b = 0x00
        # the modifiers of the entries made (the image-wide flags): one
        # given to an entry that never gets an image marks nothing, as in
        # xorrisofs (-isohybrid-gpt-basdat after --efi-boot makes no GPT)
        self.marks = set()
        self._new()

    def _new(self):
        self.image = None
        self.platform = None
        self.props = {}
        self.entry_marks = set()

    def close(self):
        if self.image is not None:
            self.done.append(self._spec())
            self.marks |= self.entry_marks
        self._new()

    def _spec(self):
        props = dict(self.props)
        emulation = props.pop("emulation", None)
        if emulation is None:
            emulation = "none" if self.platform == 0xEF else "floppy"
        return BootSpec(image_path=self.image, platform=self.platform, emulation=emulation,
                        **props)

    def take(self, word, kind, value):
        if kind in ("bios", "efi", "efi-entry") and value.startswith("--interval:") \
                and appended_partition_of(value) is None:
            raise UsageError(f"{word} {value}: of xorrisofs' interval reader only "
                             "--interval:appended_partition_N:all:: (an appended "
                             "partition as the boot image) is supported")
        if kind in ("bios", "efi"):
            self.image = value
            self.platform = self.platform_for_b if kind == "bios" else 0xEF
        elif kind == "efi-entry":               # --efi-boot IMAGE
            self.close()
            self.image, self.platform = value, 0xEF
            self.props["emulation"] = "none"
            self.close()
        elif kind == "alt":
            self.close()
        elif kind == "platform":
            new = platform_id(value)
            # xorrisofs: a platform other than the current entry's starts a new one
            if self.image is not None and self.platform != new:
                self.close()
            self.platform_for_b = new
        else:
            self._modifier(kind, value)

    def _modifier(self, kind, value):
        self.entry_marks.add(kind)
        try:
            prop, setting = ENTRY_MODIFIERS[kind]
        except KeyError:
            raise AssertionError(f"unknown El Torito word {kind}") from None
        self.props[prop] = value if setting is WORD_VALUE else setting

    def finish(self):
        self.close()
        if len(self.done) > 32:     # xorrisofs' limit of catalog entries
            raise UsageError(f"{len(self.done)} El Torito boot entries: at most 32")
        return self.done
