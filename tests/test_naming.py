"""Name translation: the fast paths taken for plain names give exactly what
the general path gives, for every rule set (the general path is the one
checked against genisoimage by the mastering tests)."""

import itertools
import random

import pytest

from isofuse.master import naming
from isofuse.master.naming import NameRules


def _names(seed, alphabet, count, longest):
    rng = random.Random(seed)
    names = {bytes(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))
             for _ in range(count)}
    names |= {b"readme", b"README.TXT", b"a.b", b"abcdefghi.txt", b"abcdefgh.tx", b"x.",
              b"_", b"a" * 31, b"a" * 32, b"abc.defg", b".hidden", b"a..b", b"a.b.c.d",
              "été.txt".encode(), b"note-000.txt", b"Note-000.TXT", b"new\nline.txt"}
    return sorted(names)


def _in_directories(names, size):
    return [names[k:k + size] for k in range(0, len(names), size)]


# every switch that changes what the fast path does (relaxed turns it off)
RULE_SETS = [NameRules(level=level, allow_lowercase=f[0], omit_period=f[1],
                       version_numbers=not f[2], full_31=f[3], max_37=f[4], relaxed=f[5])
             for level in (1, 2, 3, 4) for f in itertools.product([False, True], repeat=6)]


@pytest.fixture
def general_path_only(monkeypatch):
    def assign(entries, rules):
        with monkeypatch.context() as m:
            m.setattr(naming, "_plain_translation", lambda r: None)
            return naming.assign_iso_names(entries, rules)
    return assign


def test_iso_names_fast_path_equals_the_general_path(general_path_only):
    names = _names(1, b"abcXYZ019_.-~ +#", 1000, 45)
    for rules in RULE_SETS:
        for is_dir in (False, True):
            for folder in _in_directories(names, 97):    # collisions within each
                entries = [(name, is_dir) for name in folder]
                assert naming.assign_iso_names(entries, rules) == \
                    general_path_only(entries, rules), rules


def test_joliet_names_fast_path_equals_the_general_path(monkeypatch):
    names = _names(2, b"abc*/:;?\\\x01\x7f\xc3\xa9 .Z~", 3000, 120)
    for long_names in (False, True):
        for folder in _in_directories(names, 50):
            entries = [(name, i % 3 == 0) for i, name in enumerate(folder)]
            fast = naming.assign_joliet_names(entries, long_names)
            with monkeypatch.context() as m:
                m.setattr(naming, "_JOLIET_PLAIN", lambda raw: None)
                general = naming.assign_joliet_names(entries, long_names)
            assert fast == general


def test_plain_joliet_identifiers_equal_the_general_path_and_its_order():
    # whole directories of plain names (the case the fast path takes), and
    # directories with one name it must refuse
    plain = [name for name in _names(3, b"abcXYZ019_.-~ +#()", 2000, 70)
             if all(0x20 <= c < 0x7F and c not in b"*/:;?\\" for c in name)]
    for long_names in (False, True):
        compared = 0
        for folder in _in_directories(plain, 11):
            entries = [(name, False) for name in folder]
            general = [naming.joliet_identifier(n)
                       for n in naming.assign_joliet_names(entries, long_names)]
            fast = naming.plain_joliet_identifiers(folder, long_names)
            limit = naming.JOLIET_LONG_MAX if long_names else naming.JOLIET_MAX
            if any(len(name) > limit for name in folder):
                assert fast is None
                continue
            assert fast == general
            assert fast == sorted(fast)     # in the order of the sorted names
            compared += 1
        assert compared > 50
    for odd in (b"a*b", b"x" * 104, "é".encode(), b"tab\there", b"new\nline"):
        assert naming.plain_joliet_identifiers([b"plain", odd], True) is None


def test_sort_keys_given_with_the_names_equal_iso_sort_key():
    names = _names(4, b"abcXYZ019_.-~ +#", 600, 40)
    for rules in RULE_SETS:
        for folder in _in_directories(names, 89):
            entries = [(name, i % 4 == 0) for i, name in enumerate(folder)]
            keys = [None] * len(entries)
            idents = naming.assign_iso_names(entries, rules, keys)
            assert keys == [naming.iso_sort_key(ident) for ident in idents], rules
