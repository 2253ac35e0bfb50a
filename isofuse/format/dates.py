"""Date and time fields.

ECMA-119 §8.4.26.1 (17-byte text form, used in volume descriptors and in the
Rock Ridge TF long form) and §9.1.5 (7-byte binary form, used in directory
records and the TF short form).  Both carry an offset from GMT in 15-minute
units, signed; ECMA-119 allows -48..+52, the Linux kernel applies any offset
in -52..+52 and ignores others, and so do we (MAX_GMT_OFFSET).

Dates are returned as POSIX seconds (int), or None where the field says
"not specified".  The 7-byte form's year byte counts years since 1900 as an
unsigned number (1900..2155): Linux 6.1 reads years past 2038 as negative in
Rock Ridge TF fields; we follow the standard, not that bug.
"""

import calendar
import time

from .errors import FormatError

MAX_GMT_OFFSET = 52  # 13 hours, in 15-minute units (ECMA-119 §9.1.5 field 7)


def _signed8(byte):
    return byte - 256 if byte > 127 else byte


def _apply_offset(seconds, offset_units):
    if -MAX_GMT_OFFSET <= offset_units <= MAX_GMT_OFFSET:
        seconds -= offset_units * 15 * 60
    return seconds


def _timegm(year, month, day, hour, minute, second):
    # calendar.timegm normalises out-of-range fields (month 13 ...) instead of
    # failing; clamp to sane values first so garbage stays bounded.
    month = min(max(month, 1), 12)
    day = min(max(day, 1), 31)
    hour = min(hour, 23)
    minute = min(minute, 59)
    second = min(second, 59)
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


_DATE_CACHE = {}
_DATE_CACHE_LIMIT = 1 << 16


def decode_binary_date(data):
    """ECMA-119 §9.1.5: 7 bytes: years since 1900, month, day, h, m, s, offset."""
    # Whole directories share a handful of dates: decode each one once (a
    # plain dict: this runs for every record and every Rock Ridge stamp).
    key = data[:7] if data.__class__ is bytes else bytes(data[:7])
    try:
        return _DATE_CACHE[key]
    except KeyError:
        pass
    if len(key) < 7:
        raise FormatError("7-byte date truncated")
    value = _binary_date(key)
    if len(_DATE_CACHE) < _DATE_CACHE_LIMIT:
        _DATE_CACHE[key] = value
    return value


def _binary_date(data):
    year, month, day, hour, minute, second = data[0:6]
    if month == 0 and day == 0:
        return None  # all zero: not specified
    seconds = _timegm(1900 + year, month, day, hour, minute, second)
    return _apply_offset(seconds, _signed8(data[6]))


def decode_text_date(data):
    """ECMA-119 §8.4.26.1: "YYYYMMDDHHMMSScc" digits + signed offset byte.

    Returns (seconds, hundredths) or None when not specified (all digits zero
    or not digits at all).
    """
    if len(data) < 17:
        raise FormatError("17-byte date truncated")
    digits = bytes(data[0:16])
    if not digits.isdigit() or digits == b"0" * 16:
        return None
    text = digits.decode("ascii")
    year, month, day = int(text[0:4]), int(text[4:6]), int(text[6:8])
    hour, minute, second = int(text[8:10]), int(text[10:12]), int(text[12:14])
    hundredths = int(text[14:16])
    if year == 0 or month == 0 or day == 0:
        return None
    seconds = _timegm(year, month, day, hour, minute, second)
    return _apply_offset(seconds, _signed8(data[16])), hundredths


def encode_binary_date(seconds, offset_units=0):
    """The 7-byte form of a POSIX time (GMT, offset 0 unless given)."""
    t = time.gmtime(seconds + offset_units * 15 * 60)
    if not 1900 <= t.tm_year <= 2155:
        raise FormatError(f"year {t.tm_year} cannot be stored in a 7-byte date")
    return bytes([t.tm_year - 1900, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min,
                  t.tm_sec, offset_units & 0xFF])


def format_iso_time(seconds):
    """Human/JSON form of a POSIX time: ISO 8601 in UTC."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def encode_text_date(seconds):
    """§8.4.26.1 17-byte form in GMT; None gives "not specified" (all zero
    digits and a zero offset)."""
    if seconds is None:
        return b"0" * 16 + b"\x00"
    t = time.gmtime(seconds)
    if not 1 <= t.tm_year <= 9999:
        raise FormatError(f"year {t.tm_year} cannot be stored in a 17-byte date")
    return (b"%04d%02d%02d%02d%02d%02d00" % (t.tm_year, t.tm_mon, t.tm_mday,
                                             t.tm_hour, t.tm_min, t.tm_sec)) + b"\x00"


BINARY_FIRST = -2208988800      # 1900-01-01T00:00:00Z
BINARY_LAST = 5869583999        # 2155-12-31T23:59:59Z: year byte 255


def clamp_binary_seconds(seconds):
    """Keep a time inside what the 7-byte form can hold (1900..2155)."""
    return min(max(seconds, BINARY_FIRST), BINARY_LAST)
