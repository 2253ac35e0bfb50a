"""Rock Ridge encoders: what the master writes reads back the same, and long
symlinks are split the way every reader joins them."""

import random

from isofuse.format import rockridge, susp


def _components(blob):
    return list(rockridge._sl_components(blob))


def _round_trip(target):
    entries = rockridge.encode_sl(target)
    assert all(len(entry) <= 255 for entry in entries)
    got = rockridge.collect(e for blob in entries for e in susp.iter_entries(blob))
    return entries, got.symlink


def test_symlink_targets_round_trip_and_split_inside_components():
    rng = random.Random(5)
    targets = [b"/", b"a//b", b"../x/./y", b"/abs/path", b"x" * 600,
               b"/" + b"/".join(b"component%03d" % i for i in range(60))]
    targets += [b"/".join(bytes(rng.choice(b"abc.") for _ in range(rng.randint(1, 40)))
                          for _ in range(rng.randint(1, 60))) for _ in range(500)]
    for target in targets:
        entries, back = _round_trip(target)
        assert back == target
        for blob in entries[:-1]:
            # RRIP §4.1.3.1: the entry's last component continues in the next
            # entry (libarchive starts every SL entry without a separator, the
            # kernel adds one unless the component is continued)
            assert _components(blob)[-1][0] & rockridge.SL_CONTINUE, target


def test_names_longer_than_one_entry_use_continued_nm_entries():
    for name in (b"a", b"x" * 250, b"y" * 251, "ü".encode() * 300):
        entries = rockridge.encode_nm(name)
        assert all(len(entry) <= 255 for entry in entries)
        got = rockridge.collect(e for blob in entries for e in susp.iter_entries(blob))
        assert got.name == name


def test_tf_from_encoded_dates_equals_the_entry_built_field_by_field():
    """encode_tf (and the writer's encode_tf_dates with cached dates) gives
    the SUSP entry of RRIP §4.1.6 built field by field, for times inside
    and outside what the 7-byte form holds (clamped to 1900..2155), and
    decodes back to the clamped times."""
    from isofuse.format.dates import (BINARY_FIRST, BINARY_LAST, clamp_binary_seconds,
                                      encode_binary_date)
    rng = random.Random(7)
    flags = rockridge.TF_MODIFY | rockridge.TF_ACCESS | rockridge.TF_ATTRIBUTES
    edges = [BINARY_FIRST - 1, BINARY_FIRST, 0, 2 ** 31, BINARY_LAST, BINARY_LAST + 1,
             BINARY_LAST + 86400 * 800]
    for _ in range(3000):
        times = [rng.choice(edges + [rng.randrange(-4 * 10 ** 9, 8 * 10 ** 9)]) for _ in range(3)]
        stamps = [encode_binary_date(clamp_binary_seconds(t)) for t in times]
        expected = susp.encode_entry(b"TF", bytes((flags,)) + b"".join(stamps))
        assert rockridge.encode_tf(*times) == expected
        assert rockridge.encode_tf_dates(*stamps) == expected
    assert encode_binary_date(BINARY_LAST)[0] == 255    # year byte 255 is 2155
