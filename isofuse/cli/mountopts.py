"""mount(8)-style ``-o`` options for ``isofuse mount`` (and for
``mount -t fuse.isofuse`` / fstab, which pass them through mount.fuse3).

Names and meanings follow the kernel's iso9660 options (see mount(8),
"Mount options for iso9660"), so an fstab line can switch between the two.
"""

from dataclasses import dataclass, field

from ..reader.options import ReadOptions


class OptionError(ValueError):
    pass


# Generic mount(8)/mount.fuse3 options that mean nothing for a read-only FUSE
# image, accepted and ignored so fstab lines work.
IGNORED = {"ro", "defaults", "auto", "noauto", "user", "users", "nouser", "owner",
           "nofail", "_netdev", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
           "async", "sync", "atime", "noatime", "relatime", "norelatime",
           "strictatime", "diratime", "nodiratime", "cruft", "utf8", "unhide",
           "rw", "loop"}
IGNORED_WITH_VALUE = {"check", "iocharset", "block", "conv", "comment"}
# Options that are on by being named (they take no value).
FLAG_OPTIONS = frozenset({"norock", "nojoliet", "showassoc", "hide", "nocompress",
                          "overriderockperm", "allow_other", "allow_root", "foreground"})


@dataclass
class MountOptions:
    read: ReadOptions = field(default_factory=ReadOptions)
    allow_other: bool = False
    allow_root: bool = False
    foreground: bool = False
    log_file: str = None
    rw_requested: bool = False
    nice: int = None            # the daemon's nice value; None: fuseops.priority's default


def _number(name, value, base=10):
    try:
        number = int(value, base)
    except (TypeError, ValueError):
        raise OptionError(f"option {name} needs a number, not {value!r}") from None
    if number < 0:
        raise OptionError(f"option {name} must not be negative")
    return number


def _nice(value):
    try:
        nice = int(value)
    except (TypeError, ValueError):
        raise OptionError(f"option nice needs a number from -20 to 19, not {value!r}") \
            from None
    if not -20 <= nice <= 19:
        raise OptionError(f"option nice takes -20 to 19, not {nice}")
    return nice


def parse(option_strings, result=None):
    """Parse one or more comma-separated option strings."""
    result = result or MountOptions()
    read = result.read
    for text in option_strings:
        for item in filter(None, text.split(",")):
            name, has_value, value = item.partition("=")
            if not has_value:
                value = None
            elif name in FLAG_OPTIONS:
                # a flag takes no value, as the kernel's iso9660 parser
                # says: "norock=no" must not switch Rock Ridge off
                raise OptionError(f"option {name} takes no value (got {item!r})")
            if name == "log" and not value:
                raise OptionError("option log needs a file name (log=FILE)")
            if name == "norock":
                read.rock = False
            elif name == "nojoliet":
                read.joliet = False
            elif name == "uid":
                read.uid = _number(name, value)
            elif name == "gid":
                read.gid = _number(name, value)
            elif name in ("mode", "fmode"):
                read.fmode = _number(name, value, 8) & 0o7777
            elif name == "dmode":
                read.dmode = _number(name, value, 8) & 0o7777
            elif name == "session":
                read.session = _number(name, value)
            elif name == "sbsector":
                read.sbsector = _number(name, value)
            elif name == "map":
                mapping = {"n": "normal", "normal": "normal", "o": "off", "off": "off"}
                if value not in mapping:
                    raise OptionError("map= takes normal or off")
                read.mapping = mapping[value]
            elif name == "showassoc":
                read.showassoc = True
            elif name == "hide":
                read.hide = True
            elif name == "nocompress":
                read.nocompress = True
            elif name == "overriderockperm":
                read.override_rock_perm = True
            elif name == "allow_other":
                result.allow_other = True
            elif name == "allow_root":
                result.allow_root = True
            elif name == "foreground":
                result.foreground = True
            elif name == "log":
                result.log_file = value
            elif name == "nice":
                result.nice = _nice(value)
            elif name in IGNORED and value is None:
                if name == "rw":
                    result.rw_requested = True
            elif name in IGNORED_WITH_VALUE or name.startswith("x-"):
                pass
            else:
                raise OptionError(f"unknown mount option {item!r}")
    return result
