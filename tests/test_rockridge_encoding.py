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
