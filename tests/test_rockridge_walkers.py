"""The reader's one-pass Rock Ridge walker agrees with the general one.

`rockridge.quick_collect` reads the common case (PX, TF, one NM) in one pass
and declines anything else; the reader falls back to `susp.iter_entries` +
`rockridge.collector`.  Whenever the quick walker answers, its answer must be
the general walker's, with no error the general walker would have reported;
random entry sequences (well-formed, truncated and damaged) hold it to that.
"""

from hypothesis import given, settings, strategies as st

from isofuse.format import rockridge, susp
from isofuse.format.numbers import pack_733

u32 = st.integers(min_value=0, max_value=2**32 - 1)


def _entry(signature, payload, version=1):
    return signature + bytes([4 + len(payload) if len(payload) < 252 else 255, version]) + payload


@st.composite
def px_entries(draw):
    fields = [draw(u32) for _ in range(4)]
    if draw(st.booleans()):
        fields.append(draw(u32))          # RRIP 1.12 4.1.1: the file serial number
    return _entry(b"PX", b"".join(pack_733(v) for v in fields))


@st.composite
def tf_entries(draw):
    flags = draw(st.integers(min_value=0, max_value=0xFF))
    long_form = flags & 0x80
    count = bin(flags & 0x7F).count("1")
    stamp = st.binary(min_size=17 if long_form else 7, max_size=17 if long_form else 7)
    payload = bytes([flags]) + b"".join(draw(stamp) for _ in range(count))
    if draw(st.booleans()):
        payload = payload[:draw(st.integers(min_value=0, max_value=len(payload)))]
    return _entry(b"TF", payload)


@st.composite
def nm_entries(draw):
    flags = draw(st.sampled_from([0, 0, 0, 1, 2, 4]))   # RRIP 4.1.4: CONTINUE, CURRENT, PARENT
    return _entry(b"NM", bytes([flags]) + draw(st.binary(min_size=0, max_size=40)))


@st.composite
def other_entries(draw):
    kind = draw(st.sampled_from(["RR", "SL", "PN", "ST", "CE", "ZF", "SP", "junk", "pad", "short"]))
    if kind == "RR":
        return _entry(b"RR", b"\x81")
    if kind == "SL":
        target = draw(st.binary(min_size=1, max_size=20))
        return _entry(b"SL", b"\x00" + bytes([0, len(target)]) + target)
    if kind == "PN":
        return _entry(b"PN", pack_733(draw(u32)) + pack_733(draw(u32)))
    if kind == "ST":
        return _entry(b"ST", b"")
    if kind == "CE":
        return _entry(b"CE", pack_733(20) + pack_733(0) + pack_733(10))
    if kind == "ZF":
        return _entry(b"ZF", b"pz" + bytes([4, 15]) + pack_733(100))
    if kind == "SP":
        return _entry(b"SP", b"\xbe\xef\x00")
    if kind == "junk":
        return draw(st.binary(min_size=1, max_size=12))
    if kind == "pad":
        return b"\x00" * draw(st.integers(min_value=1, max_value=3))
    return draw(st.sampled_from([b"PX\x02\x01", b"NM\x03\x01", b"TF"]))


areas = st.lists(st.one_of(px_entries(), tf_entries(), nm_entries(), nm_entries(),
                           other_entries()), max_size=6).map(b"".join)


def general(area):
    errors = []
    collector = rockridge.collector()
    for entry in susp.iter_entries(area, on_error=errors.append):
        collector.add(entry)
    result = collector.result()
    return result, errors + list(collector.errors)


def fields(rr):
    return {name: getattr(rr, name) for name in rr.__slots__ if name != "seen"} | {
        "present": rr.present}


@settings(max_examples=1500, deadline=None)
@given(areas)
def test_quick_walker_answers_as_the_general_one(area):
    quick = rockridge.quick_collect(area)
    if quick is None:
        return  # declined: the reader takes the general path
    slow, errors = general(area)
    assert errors == []
    assert fields(quick) == fields(slow)


def test_the_quick_walker_answers_the_common_case():
    # The property above would pass vacuously if quick_collect declined all:
    # the shape our images and xorriso's have (RR, PX, TF, NM) must be taken.
    area = (_entry(b"RR", b"\x89") + _entry(b"PX", b"".join(pack_733(v) for v in
                                                            (0o100644, 1, 0, 0, 7)))
            + _entry(b"TF", b"\x0e" + b"\x00" * 21) + _entry(b"NM", b"\x00readme.txt"))
    quick = rockridge.quick_collect(area)
    assert quick is not None
    assert (quick.mode, quick.serial, quick.name) == (0o100644, 7, b"readme.txt")
    assert fields(quick) == fields(general(area)[0])


def test_the_quick_walker_declines_what_needs_the_general_one():
    symlink = _entry(b"SL", b"\x00\x00\x03abc")
    continued_name = _entry(b"NM", b"\x01part") + _entry(b"NM", b"\x00two")
    continuation = _entry(b"CE", pack_733(20) + pack_733(0) + pack_733(10))
    for area in (symlink, continued_name, continuation):
        assert rockridge.quick_collect(area) is None
