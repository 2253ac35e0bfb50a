"""GET CONFIGURATION features (MMC-6 §5.3) and what the burner decides from them.

A drive lists in feature 0000h every profile it can *read* as well as those it
can write (MMC-6 §5.3, feature 0000h), so "can write" is never taken from that list: it
comes from the write features below, whose "current" bit (byte 2 bit 0) says
whether the medium loaded now can be written by this drive.
"""

from dataclasses import dataclass

# Feature codes (MMC-6 §5.3); "byte N" counts from the feature descriptor's start.
PROFILE_LIST = 0x0000
INCREMENTAL_STREAMING = 0x0021        # Incremental Streaming Writable
RESTRICTED_OVERWRITE = 0x0026
DVD_PLUS_RW = 0x002A                  # (byte 4 bit 0: Write)
DVD_PLUS_R = 0x002B                   # (byte 4 bit 0: Write)
RIGID_RESTRICTED_OVERWRITE = 0x002C
CD_TAO = 0x002D                       # (byte 4: BUF bit 6, CD-RW bit 1)
CD_MASTERING = 0x002E                 # (byte 4: BUF bit 6, SAO bit 5)
DVD_MINUS_WRITE = 0x002F              # (byte 4: BUF bit 6, RDL bit 3, DVD-RW bit 1)
DVD_PLUS_R_DL = 0x003B                # (byte 4 bit 0: Write)
BD_WRITE = 0x0041
BD_R_PSEUDO_OVERWRITE = 0x0038        # current: a BD-R formatted SRM+POW is loaded

NAMES = {INCREMENTAL_STREAMING: "Incremental Streaming Writable",
         RESTRICTED_OVERWRITE: "Restricted Overwrite", DVD_PLUS_RW: "DVD+RW",
         DVD_PLUS_R: "DVD+R", RIGID_RESTRICTED_OVERWRITE: "Rigid Restricted Overwrite",
         CD_TAO: "CD Track at Once", CD_MASTERING: "CD Mastering",
         DVD_MINUS_WRITE: "DVD-R/-RW Write", DVD_PLUS_R_DL: "DVD+R Double Layer",
         BD_WRITE: "BD Write"}

# The features that let a drive write each profile (MMC-6 §5.4: the features
# each profile requires).  The first one
# present decides.
WRITE_FEATURES_FOR = {
    0x09: (CD_TAO, CD_MASTERING), 0x0A: (CD_TAO, CD_MASTERING),
    0x11: (DVD_MINUS_WRITE,), 0x14: (DVD_MINUS_WRITE,), 0x15: (DVD_MINUS_WRITE,),
    0x13: (RESTRICTED_OVERWRITE, RIGID_RESTRICTED_OVERWRITE),
    0x1A: (DVD_PLUS_RW,), 0x1B: (DVD_PLUS_R,), 0x2B: (DVD_PLUS_R_DL,),
    0x41: (BD_WRITE,), 0x42: (BD_WRITE,), 0x43: (BD_WRITE,),
}

# Features that are also present on drives that only read the medium: they
# carry a Write bit (byte 4 bit 0) that says whether the drive writes it.
_WRITE_BIT = {DVD_PLUS_RW, DVD_PLUS_R, DVD_PLUS_R_DL}


@dataclass(frozen=True)
class Feature:
    code: int
    current: bool
    data: bytes            # the bytes after the 4-byte feature header

    def bit(self, byte, bit):
        return len(self.data) > byte and bool(self.data[byte] >> bit & 1)

    @property
    def writes(self):
        """Whether the feature means writing (the Write bit where it has one)."""
        return self.bit(0, 0) if self.code in _WRITE_BIT else self.code in NAMES


def parse_features(data):
    """{feature code: Feature} of a GET CONFIGURATION reply (§6.6.2: an 8-byte
    header whose bytes 0-3 give the length that follows, then feature
    descriptors: code, byte 2 bit 0 current, byte 3 additional length)."""
    out = {}
    if len(data) < 8:
        return out
    end = min(len(data), 4 + int.from_bytes(data[0:4], "big"))
    pos = 8
    while pos + 4 <= end:
        code = int.from_bytes(data[pos:pos + 2], "big")
        size = data[pos + 3]
        out[code] = Feature(code, bool(data[pos + 2] & 1), bytes(data[pos + 4:pos + 4 + size]))
        pos += 4 + size
    return out


def writes_profile(features, profile, current_only=True):
    """Whether the drive writes ``profile`` (the medium loaded, with
    ``current_only``: the feature must be current, i.e. apply to it now)."""
    for code in WRITE_FEATURES_FOR.get(profile, ()):
        feature = features.get(code)
        if feature is None or not feature.writes:
            continue
        if current_only and not feature.current:
            continue
        if code == CD_TAO and profile == 0x0A and not feature.bit(0, 1):
            continue                       # a CD-R-only writer: no CD-RW bit
        if code == DVD_MINUS_WRITE and profile == 0x14 and not feature.bit(0, 1):
            continue
        if code == DVD_MINUS_WRITE and profile == 0x15 and not feature.bit(0, 3):
            continue
        return True
    return False


def writes_anything(features):
    return any(f.writes for f in features.values())


def link_sizes(features):
    """Link sizes a drive accepts for incremental writing (MMC-6 §5.3, feature
    0021h: byte 7 is the number of link sizes, one byte each from byte 8)."""
    feature = features.get(INCREMENTAL_STREAMING)
    if feature is None or len(feature.data) < 4:
        return []
    count = feature.data[3]
    return list(feature.data[4:4 + count])


def incremental_current(features):
    """Incremental streaming is possible on the medium loaded (a quick-blanked
    DVD-RW, for one, takes only disc-at-once)."""
    feature = features.get(INCREMENTAL_STREAMING)
    return feature is not None and feature.current


def underrun_free(features, profile):
    """BUF (buffer underrun free recording) for the medium's write feature:
    byte 4 bit 6 of 002Dh/002Eh/002Fh, byte 6 bit 0 of 0021h
    (MMC-6 §5.3)."""
    for code in WRITE_FEATURES_FOR.get(profile, ()):
        feature = features.get(code)
        if feature is not None and code in (CD_TAO, CD_MASTERING, DVD_MINUS_WRITE) \
                and feature.bit(0, 6):
            return True
    feature = features.get(INCREMENTAL_STREAMING)
    return feature is not None and feature.bit(2, 0)


def pseudo_overwrite(features):
    """(the drive has BD-R Pseudo-Overwrite, the disc loaded is formatted for
    it): feature 0038h listed, and its current bit (MMC-6 §5.3)."""
    feature = features.get(BD_R_PSEUDO_OVERWRITE)
    return feature is not None, feature is not None and feature.current
