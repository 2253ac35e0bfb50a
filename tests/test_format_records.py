"""Byte-literal tests of the record decoders in isofuse.format.

Every input is written out by hand from the layouts of ECMA-119, SUSP 1.12,
RRIP 1.12, El Torito 1.0 and the zisofs format (offsets counted from 0), never
produced by the project's own encoders, so a decoder and an encoder cannot
share one misreading of the spec.
"""

import calendar
import os
import struct
import zlib

import pytest

from isofuse.format import FormatError
from isofuse.format import dates, descriptors, dirrecord, eltorito, names, numbers
from isofuse.format import rockridge, susp, zisofs


# ---- hand encodings used to write the literals --------------------------------

def le16(v):
    return bytes([v & 0xFF, v >> 8])


def be16(v):
    return bytes([v >> 8, v & 0xFF])


def le32(v):
    return bytes([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, v >> 24])


def be32(v):
    return le32(v)[::-1]


def both16(v):
    return le16(v) + be16(v)


def both32(v):
    return le32(v) + be32(v)


def utc(*fields):
    return calendar.timegm(tuple(fields) + (0, 0, 0))


# ---- ECMA-119 §7: numbers -----------------------------------------------------

class TestNumbers:
    def test_711(self):
        assert numbers.u711(b"\x00\xfe", 1) == 254

    def test_721_722(self):
        assert numbers.u721(b"\x34\x12", 0) == 0x1234
        assert numbers.u722(b"\x12\x34", 0) == 0x1234

    def test_731_732(self):
        assert numbers.u731(b"\xff\x78\x56\x34\x12", 1) == 0x12345678
        assert numbers.u732(b"\x12\x34\x56\x78", 0) == 0x12345678

    def test_723_733_agree(self):
        seen = []
        cb = lambda f, lo, hi: seen.append((f, lo, hi))
        assert numbers.u723(b"\x00\x08\x08\x00", 0, on_mismatch=cb) == 2048
        assert numbers.u733(b"\x10\x00\x00\x00\x00\x00\x00\x10", 0, on_mismatch=cb) == 16
        assert seen == []

    def test_723_mismatch_little_endian_wins_and_is_reported(self):
        seen = []
        value = numbers.u723(b"\x00\x08\x00\x02", 0, field="block size",
                             on_mismatch=lambda f, lo, hi: seen.append((f, lo, hi)))
        assert value == 2048
        assert seen == [("block size", 2048, 2)]

    def test_733_mismatch_little_endian_wins_and_is_reported(self):
        seen = []
        raw = b"\x05\x00\x00\x00" + b"\x00\x00\x00\x09"
        value = numbers.u733(raw, 0, field="size",
                             on_mismatch=lambda f, lo, hi: seen.append((f, lo, hi)))
        assert value == 5
        assert seen == [("size", 5, 9)]

    def test_733_mismatch_default_handler_silent(self):
        assert numbers.u733(b"\x01\x00\x00\x00\x00\x00\x00\x02", 0) == 1

    @pytest.mark.parametrize("fn,size", [(numbers.u711, 1), (numbers.u721, 2),
                                         (numbers.u722, 2), (numbers.u731, 4),
                                         (numbers.u732, 4), (numbers.u723, 4),
                                         (numbers.u733, 8)])
    def test_truncated_field_raises(self, fn, size):
        with pytest.raises(FormatError):
            fn(b"\x00" * (size - 1), 0)
        with pytest.raises(FormatError):
            fn(b"\x00" * size, 1)
        with pytest.raises(FormatError):
            fn(b"\x00" * (size + 4), -1)


# ---- ECMA-119 §9.1.5 / §8.4.26.1: dates -------------------------------------------

class TestBinaryDate:
    def test_plain_gmt(self):
        # 2021-03-04 05:06:07 GMT
        assert dates.decode_binary_date(bytes([121, 3, 4, 5, 6, 7, 0])) == \
            utc(2021, 3, 4, 5, 6, 7)

    def test_positive_offset(self):
        # 12:00 at GMT+2 (8 units of 15 min) is 10:00 GMT
        assert dates.decode_binary_date(bytes([100, 1, 1, 12, 0, 0, 8])) == \
            utc(2000, 1, 1, 10, 0, 0)

    def test_negative_offset(self):
        # 12:00 at GMT-5 (-20 units = 0xEC) is 17:00 GMT
        assert dates.decode_binary_date(bytes([100, 1, 1, 12, 0, 0, 0xEC])) == \
            utc(2000, 1, 1, 17, 0, 0)

    def test_extreme_valid_offsets(self):
        assert dates.decode_binary_date(bytes([100, 1, 1, 13, 0, 0, 52])) == \
            utc(2000, 1, 1, 0, 0, 0)
        assert dates.decode_binary_date(bytes([100, 1, 1, 0, 0, 0, 256 - 48])) == \
            utc(2000, 1, 1, 12, 0, 0)

    @pytest.mark.parametrize("offset", [53, 100, 127, 256 - 53, 128])
    def test_out_of_range_offset_ignored(self, offset):
        assert dates.decode_binary_date(bytes([100, 1, 1, 12, 0, 0, offset])) == \
            utc(2000, 1, 1, 12, 0, 0)

    def test_minus_49_to_52_applied_like_the_kernel(self):
        # ECMA-119 allows -48..+52; the kernel's sanity check is +-52 and we
        # follow it (a -13 h stamp is not garbage).
        assert dates.decode_binary_date(bytes([100, 1, 1, 0, 0, 0, 256 - 52])) == \
            utc(2000, 1, 1, 13, 0, 0)

    def test_all_zero_is_not_specified(self):
        assert dates.decode_binary_date(bytes(7)) is None

    def test_year_after_2038_is_positive(self):
        # 2040-06-01: year byte 140 must not be read as signed
        value = dates.decode_binary_date(bytes([140, 6, 1, 0, 0, 0, 0]))
        assert value == utc(2040, 6, 1, 0, 0, 0)
        assert value > 2 ** 31
        # the largest year the byte holds
        assert dates.decode_binary_date(bytes([255, 12, 31, 23, 59, 59, 0])) == \
            utc(2155, 12, 31, 23, 59, 59)

    def test_1970_and_before(self):
        assert dates.decode_binary_date(bytes([70, 1, 1, 0, 0, 0, 0])) == 0
        assert dates.decode_binary_date(bytes([0, 1, 1, 0, 0, 0, 0])) == utc(1900, 1, 1, 0, 0, 0)

    def test_garbage_fields_stay_bounded(self):
        value = dates.decode_binary_date(bytes([100, 200, 99, 99, 99, 99, 0]))
        assert utc(2000, 1, 1, 0, 0, 0) <= value < utc(2001, 1, 1, 0, 0, 0)

    def test_truncated(self):
        with pytest.raises(FormatError):
            dates.decode_binary_date(bytes(6))


class TestTextDate:
    def test_plain(self):
        raw = b"2019122523595950" + b"\x00"
        assert dates.decode_text_date(raw) == (utc(2019, 12, 25, 23, 59, 59), 50)

    def test_offsets(self):
        assert dates.decode_text_date(b"2000010112000000" + bytes([8])) == \
            (utc(2000, 1, 1, 10, 0, 0), 0)
        assert dates.decode_text_date(b"2000010112000000" + bytes([256 - 20])) == \
            (utc(2000, 1, 1, 17, 0, 0), 0)
        # out of range: ignored
        assert dates.decode_text_date(b"2000010112000000" + bytes([60])) == \
            (utc(2000, 1, 1, 12, 0, 0), 0)

    def test_not_specified(self):
        # §8.4.26.1: all digits '0' and offset 0 mean "not specified"
        assert dates.decode_text_date(b"0" * 16 + b"\x00") is None
        # some writers leave the field as zero bytes or spaces
        assert dates.decode_text_date(bytes(17)) is None
        assert dates.decode_text_date(b" " * 16 + b"\x00") is None

    def test_after_2038(self):
        assert dates.decode_text_date(b"2099010100000000\x00") == (utc(2099, 1, 1, 0, 0, 0), 0)

    def test_truncated(self):
        with pytest.raises(FormatError):
            dates.decode_text_date(b"2000010112000000")


# ---- ECMA-119 §8: volume descriptors ------------------------------------------------

def root_record_bytes(extent=20, size=2048):
    """A 34-byte root directory record (§9.1), name 0x00."""
    rec = bytearray(34)
    rec[0] = 34
    rec[2:10] = both32(extent)
    rec[10:18] = both32(size)
    rec[18:25] = bytes([120, 1, 2, 3, 4, 5, 0])
    rec[25] = 0x02
    rec[28:32] = both16(1)
    rec[32] = 1
    rec[33] = 0
    return bytes(rec)


def pvd_sector(vd_type=1, version=1, escapes=b"", block_size=both16(2048),
               text=lambda s, n: s.encode("ascii").ljust(n, b" "), flags=0):
    s = bytearray(2048)
    s[0] = vd_type
    s[1:6] = b"CD001"
    s[6] = version
    s[7] = flags
    s[8:40] = text("LINUX", 32)
    s[40:72] = text("MYVOLUME", 32)
    s[80:88] = both32(1234)
    s[88:88 + len(escapes)] = escapes
    s[120:124] = both16(1)
    s[124:128] = both16(1)
    s[128:132] = block_size
    s[132:140] = both32(10)
    s[140:144] = le32(19)
    s[144:148] = le32(0)
    s[148:152] = be32(21)
    s[152:156] = be32(0)
    s[156:190] = root_record_bytes()
    s[190:318] = text("SET", 128)
    s[318:446] = text("PUBLISHER", 128)
    s[446:574] = text("PREPARER", 128)
    s[574:702] = text("APP", 128)
    s[702:739] = text("COPY", 37)
    s[739:776] = text("ABSTR", 37)
    s[776:813] = text("BIBLIO", 37)
    s[813:830] = b"2020010203040506\x00"
    s[830:847] = b"2021010203040506" + bytes([4])   # GMT+1
    s[847:864] = b"0000000000000000\x00"
    s[864:881] = b"2022123123595999\x00"
    s[881] = 1
    return bytes(s)


def ucs2(s, n):
    raw = s.encode("utf-16-be")
    while len(raw) < n - 1:
        raw += b"\x00 "
    return raw.ljust(n, b"\x00")


class TestVolumeDescriptors:
    def test_pvd_every_field(self):
        d = descriptors.decode_volume_descriptor(pvd_sector())
        assert d.type == 1 and d.version == 1
        assert d.system_id == "LINUX"
        assert d.volume_id == "MYVOLUME"
        assert d.volume_space_size == 1234
        assert d.volume_set_size == 1
        assert d.volume_sequence_number == 1
        assert d.logical_block_size == 2048
        assert d.path_table_size == 10
        assert d.l_path_table == 19
        assert d.m_path_table == 21
        assert d.root_record == root_record_bytes()
        assert d.volume_set_id == "SET"
        assert d.publisher_id == "PUBLISHER"
        assert d.preparer_id == "PREPARER"
        assert d.application_id == "APP"
        assert d.copyright_file_id == "COPY"
        assert d.abstract_file_id == "ABSTR"
        assert d.bibliographic_file_id == "BIBLIO"
        assert d.creation_time == (utc(2020, 1, 2, 3, 4, 5), 6)
        assert d.modification_time == (utc(2021, 1, 2, 2, 4, 5), 6)
        assert d.expiration_time is None
        assert d.effective_time == (utc(2022, 12, 31, 23, 59, 59), 99)
        assert d.file_structure_version == 1
        assert d.mismatches == []
        assert d.joliet_level == 0 and not d.is_enhanced
        assert descriptors.is_descriptor(pvd_sector())

    def test_root_record_decodes(self):
        d = descriptors.decode_volume_descriptor(pvd_sector())
        rec = dirrecord.decode_record(d.root_record)
        assert rec.is_self and rec.is_directory
        assert rec.extent == 20 and rec.data_length == 2048

    @pytest.mark.parametrize("escape,level", [(b"%/@", 1), (b"%/C", 2), (b"%/E", 3)])
    def test_joliet_levels(self, escape, level):
        d = descriptors.decode_volume_descriptor(
            pvd_sector(vd_type=2, escapes=escape, text=ucs2))
        assert d.joliet_level == level
        assert not d.is_enhanced
        # identifiers are UCS-2 big endian in a Joliet descriptor
        assert d.volume_id == "MYVOLUME"
        assert d.system_id == "LINUX"
        assert d.publisher_id == "PUBLISHER"
        assert d.copyright_file_id == "COPY"

    def test_joliet_non_ascii_volume_id(self):
        d = descriptors.decode_volume_descriptor(
            pvd_sector(vd_type=2, escapes=b"%/E",
                       text=lambda s, n: ucs2("Ünïcode" if s == "MYVOLUME" else s, n)))
        assert d.volume_id == "Ünïcode"

    def test_svd_without_joliet_escape(self):
        d = descriptors.decode_volume_descriptor(pvd_sector(vd_type=2, escapes=b""))
        assert d.joliet_level == 0 and not d.is_enhanced
        assert d.volume_id == "MYVOLUME"

    def test_enhanced_descriptor_version_2(self):
        d = descriptors.decode_volume_descriptor(pvd_sector(vd_type=2, version=2))
        assert d.is_enhanced
        assert d.joliet_level == 0
        assert d.file_structure_version == 1

    def test_primary_is_never_joliet(self):
        d = descriptors.decode_volume_descriptor(pvd_sector(vd_type=1, escapes=b"%/E"))
        assert d.joliet_level == 0

    @pytest.mark.parametrize("size", [512, 1024, 4096])
    def test_block_size_not_2048_refused(self, size):
        with pytest.raises(FormatError, match="block size"):
            descriptors.decode_volume_descriptor(pvd_sector(block_size=both16(size)))

    def test_block_size_mismatch_le_wins(self):
        d = descriptors.decode_volume_descriptor(
            pvd_sector(block_size=le16(2048) + be16(512)))
        assert d.logical_block_size == 2048
        assert ("logical block size", 2048, 512) in d.mismatches

    def test_volume_space_mismatch_reported(self):
        s = bytearray(pvd_sector())
        s[84:88] = be32(99)
        d = descriptors.decode_volume_descriptor(bytes(s))
        assert d.volume_space_size == 1234
        assert d.mismatches == [("volume space size", 1234, 99)]

    def test_not_a_descriptor(self):
        s = bytearray(pvd_sector())
        s[1:6] = b"CD002"
        assert not descriptors.is_descriptor(bytes(s))
        with pytest.raises(FormatError):
            descriptors.decode_volume_descriptor(bytes(s))

    def test_short_sector(self):
        with pytest.raises(FormatError):
            descriptors.decode_volume_descriptor(pvd_sector()[:2047])

    @pytest.mark.parametrize("vd_type", [0, 3, 255])
    def test_wrong_type(self, vd_type):
        with pytest.raises(FormatError):
            descriptors.decode_volume_descriptor(pvd_sector(vd_type=vd_type))

    def test_el_torito_boot_record(self):
        s = bytearray(2048)
        s[0] = 0
        s[1:6] = b"CD001"
        s[6] = 1
        s[7:7 + 23] = b"EL TORITO SPECIFICATION"
        s[71:75] = le32(33)
        b = descriptors.decode_boot_record(bytes(s))
        assert b.is_el_torito
        assert b.catalog_sector == 33

    def test_other_boot_record(self):
        s = bytearray(2048)
        s[1:6] = b"CD001"
        s[7:7 + 6] = b"OTHER "
        s[71:75] = le32(33)
        b = descriptors.decode_boot_record(bytes(s))
        assert not b.is_el_torito
        assert b.catalog_sector is None

    def test_boot_record_wrong_type(self):
        with pytest.raises(FormatError):
            descriptors.decode_boot_record(pvd_sector())


# ---- ECMA-119 §9.1: directory records -----------------------------------------------

def record(name, extent=30, size=100, flags=0, su=b"", date=(110, 7, 8, 9, 10, 11, 0),
           ext_attr=0):
    body = bytearray(33)
    body[1] = ext_attr
    body[2:10] = both32(extent)
    body[10:18] = both32(size)
    body[18:25] = bytes(date)
    body[25] = flags
    body[26] = 0
    body[27] = 0
    body[28:32] = both16(1)
    body[32] = len(name)
    out = bytes(body) + name
    if len(name) % 2 == 0:
        out += b"\x00"
    out += su
    assert len(out) % 2 == 0 or su  # records of even length unless su is odd
    return bytes([len(out)]) + out[1:]


class TestDirectoryRecord:
    def test_fields_odd_name(self):
        raw = record(b"FOO.TXT;1", extent=0x123456, size=0x10203, flags=0x01,
                     su=b"PX")
        rec = dirrecord.decode_record(raw)
        assert rec.length == 33 + 9 + 2
        assert rec.extent == 0x123456
        assert rec.data_length == 0x10203
        assert rec.mtime == utc(2010, 7, 8, 9, 10, 11)
        assert rec.flags == 0x01 and not rec.is_directory
        assert rec.volume_sequence_number == 1
        assert rec.name == b"FOO.TXT;1"
        # odd name: no padding, the System Use area follows directly
        assert rec.system_use == b"PX"

    def test_even_name_padding(self):
        raw = record(b"AB;1", su=b"XYZW")
        rec = dirrecord.decode_record(raw)
        assert rec.name == b"AB;1"
        assert rec.length == 33 + 4 + 1 + 4
        assert rec.system_use == b"XYZW"

    def test_dot_and_dotdot(self):
        assert dirrecord.decode_record(record(b"\x00", flags=2)).is_self
        dotdot = dirrecord.decode_record(record(b"\x01", flags=2))
        assert dotdot.is_parent and dotdot.is_directory
        assert dotdot.system_use == b""

    def test_flags(self):
        for flag in (dirrecord.FLAG_HIDDEN, dirrecord.FLAG_DIRECTORY,
                     dirrecord.FLAG_ASSOCIATED, dirrecord.FLAG_RECORD_FORMAT,
                     dirrecord.FLAG_PROTECTION, dirrecord.FLAG_MULTI_EXTENT):
            assert dirrecord.decode_record(record(b"A;1", flags=flag)).flags == flag
        assert dirrecord.FLAG_MULTI_EXTENT == 0x80
        multi = dirrecord.decode_record(record(b"BIG.DAT;1", flags=0x80))
        assert multi.flags & dirrecord.FLAG_MULTI_EXTENT

    def test_ext_attr_shifts_data_start(self):
        rec = dirrecord.decode_record(record(b"A;1", extent=50, ext_attr=2))
        assert rec.ext_attr_length == 2
        assert rec.data_start == 52

    def test_zero_date_is_none(self):
        assert dirrecord.decode_record(record(b"A;1", date=bytes(7))).mtime is None

    def test_le_be_mismatch_in_size_little_wins(self):
        raw = bytearray(record(b"A;1", size=1000))
        raw[14:18] = be32(5)
        assert dirrecord.decode_record(bytes(raw)).data_length == 1000

    def test_record_crossing_sector_end_refused(self):
        raw = record(b"FILE.TXT;1")
        data = bytes(2048 - 20) + raw + bytes(2048)
        with pytest.raises(FormatError, match="past its sector"):
            dirrecord.decode_record(data, 2048 - 20, 2048)

    @pytest.mark.parametrize("length", [1, 2, 16, 32])
    def test_too_short(self, length):
        raw = bytearray(record(b"A;1"))
        raw[0] = length
        with pytest.raises(FormatError):
            dirrecord.decode_record(bytes(raw))

    def test_name_running_past_record(self):
        raw = bytearray(record(b"ABCDE;1"))
        raw[32] = 30
        with pytest.raises(FormatError):
            dirrecord.decode_record(bytes(raw))

    def test_offset_beyond_data(self):
        with pytest.raises(FormatError):
            dirrecord.decode_record(b"", 0)


class TestIterRecords:
    def test_padding_skips_to_next_sector(self):
        s0 = record(b"\x00", flags=2) + record(b"\x01", flags=2) + record(b"A;1")
        s1 = record(b"B;1") + record(b"C;1")
        data = s0.ljust(2048, b"\x00") + s1.ljust(2048, b"\x00")
        recs = list(dirrecord.iter_records(data))
        assert [r.name for r in recs] == [b"\x00", b"\x01", b"A;1", b"B;1", b"C;1"]
        assert recs[3].offset == 2048
        assert recs[4].offset == 2048 + len(record(b"B;1"))

    def test_bad_record_ends_its_sector_only(self):
        bad = bytearray(record(b"BAD;1"))
        bad[0] = 5
        s0 = record(b"A;1") + bytes(bad) + record(b"LOST;1")
        s1 = record(b"B;1")
        data = s0.ljust(2048, b"\x00") + s1.ljust(2048, b"\x00")
        errors = []
        recs = list(dirrecord.iter_records(data,
                                           on_error=lambda off, exc: errors.append(off)))
        assert [r.name for r in recs] == [b"A;1", b"B;1"]
        assert errors == [len(record(b"A;1"))]

    def test_record_across_sector_boundary_reported(self):
        filler = record(b"X" * 200 + b";1")          # 236 bytes
        s0 = filler * 8 + record(b"Y" * 115 + b";1")  # 1888 + 150 = 2038
        assert len(s0) == 2038
        # a record starting 10 bytes before the end of sector 0 crosses it
        s0 += record(b"CROSS;1")[:10]
        s1 = record(b"NEXT;1")
        data = s0 + s1.ljust(2048, b"\x00")
        errors = []
        recs = list(dirrecord.iter_records(data,
                                           on_error=lambda off, exc: errors.append(off)))
        assert recs[-1].name == b"NEXT;1"
        assert errors == [2038]

    def test_short_final_sector(self):
        data = record(b"A;1") + record(b"B;1")
        assert [r.name for r in dirrecord.iter_records(data)] == [b"A;1", b"B;1"]

    def test_empty(self):
        assert list(dirrecord.iter_records(b"")) == []
        assert list(dirrecord.iter_records(bytes(4096))) == []


# ---- SUSP 1.12 -------------------------------------------------------------------------

def entry(sig, payload, version=1):
    return sig + bytes([4 + len(payload), version]) + payload


def sp(skip=0):
    return entry(b"SP", b"\xbe\xef" + bytes([skip]))


def ce(block, offset, length):
    return entry(b"CE", both32(block) + both32(offset) + both32(length))


class TestSusp:
    def test_iter_entries(self):
        area = sp() + entry(b"RR", b"\x81") + entry(b"XX", b"")
        got = list(susp.iter_entries(area))
        assert [e.signature for e in got] == [b"SP", b"RR", b"XX"]
        assert got[1].version == 1
        assert got[1].data == b"RR\x05\x01\x81"

    def test_sp(self):
        e = next(susp.iter_entries(sp(skip=3)))
        assert susp.decode_sp(e).skip_length == 3
        assert susp.root_sharing_protocol(sp(skip=0) + entry(b"RR", b"\x81")).skip_length == 0

    def test_sp_bad_check_bytes(self):
        bad = entry(b"SP", b"\xbe\xee\x00")
        with pytest.raises(FormatError):
            susp.decode_sp(next(susp.iter_entries(bad)))
        assert susp.root_sharing_protocol(bad) is None

    def test_sp_must_be_first(self):
        assert susp.root_sharing_protocol(entry(b"RR", b"\x81") + sp()) is None
        assert susp.root_sharing_protocol(b"") is None

    def test_ce(self):
        e = next(susp.iter_entries(ce(100, 200, 300)))
        c = susp.decode_ce(e)
        assert (c.block, c.offset, c.length) == (100, 200, 300)
        assert len(e.data) == 28

    def test_ce_short(self):
        with pytest.raises(FormatError):
            susp.decode_ce(susp.Entry(b"CE", 1, b"CE\x14\x01" + bytes(16)))

    def test_er(self):
        ident, desc, src = b"RRIP_1991A", b"THE ROCK RIDGE", b"PLEASE CONTACT"
        e = entry(b"ER", bytes([len(ident), len(desc), len(src), 1]) + ident + desc + src)
        er = susp.decode_er(next(susp.iter_entries(e)))
        assert er.identifier == "RRIP_1991A"
        assert er.descriptor == "THE ROCK RIDGE"
        assert er.source == "PLEASE CONTACT"
        assert er.version == 1

    def test_er_texts_past_entry(self):
        e = susp.Entry(b"ER", 1, b"ER\x0a\x01" + bytes([10, 10, 10, 1]) + b"AB")
        with pytest.raises(FormatError):
            susp.decode_er(e)

    def test_st_ends_area(self):
        area = entry(b"PX", bytes(32)) + entry(b"ST", b"") + entry(b"NM", b"\x00X")
        assert [e.signature for e in susp.iter_entries(area)] == [b"PX"]

    def test_zero_padding_ends_quietly(self):
        errors = []
        area = entry(b"NM", b"\x00X") + bytes(7)
        got = list(susp.iter_entries(area, on_error=errors.append))
        assert [e.signature for e in got] == [b"NM"] and errors == []

    def test_garbage_length_stops_and_reports(self):
        errors = []
        area = entry(b"NM", b"\x00X") + b"ZZ\x02\x01" + entry(b"PX", bytes(32))
        got = list(susp.iter_entries(area, on_error=errors.append))
        assert [e.signature for e in got] == [b"NM"]
        assert len(errors) == 1 and isinstance(errors[0], FormatError)

    def test_entry_past_area_stops_and_reports(self):
        errors = []
        area = entry(b"NM", b"\x00X") + b"PX\x24\x01" + bytes(10)
        got = list(susp.iter_entries(area, on_error=errors.append))
        assert [e.signature for e in got] == [b"NM"]
        assert len(errors) == 1

    def test_genisoimage_sl_length_modulo_256(self):
        # genisoimage stores an SL entry longer than 255 bytes with its length
        # modulo 256; the component walk finds the real end.
        comps = bytes([0, 250]) + b"a" * 250 + bytes([0, 40]) + b"b" * 40
        raw = b"SL" + bytes([(5 + len(comps)) % 256, 1, 0]) + comps
        assert len(raw) == 299
        area = raw + bytes(20)
        got = list(susp.iter_entries(area))
        assert [len(e.data) for e in got] == [299]
        assert rockridge.collect(got).symlink == b"a" * 250 + b"/" + b"b" * 40

    def test_honest_sl_length_unchanged(self):
        area = entry(b"SL", b"\x00" + bytes([0, 3]) + b"abc") + entry(b"NM", b"\x00n")
        got = list(susp.iter_entries(area))
        assert [e.signature for e in got] == [b"SL", b"NM"]
        assert len(got[0].data) == 10

    def test_short_tail_ignored(self):
        # fewer than 4 bytes cannot be an entry (padding byte of an odd area)
        assert [e.signature for e in susp.iter_entries(entry(b"RE", b"") + b"\x00")] == [b"RE"]


# ---- RRIP 1.12 ------------------------------------------------------------------------

def rr_entries(*raws):
    area = b"".join(raws)
    return list(susp.iter_entries(area))


def px(mode, nlink=1, uid=0, gid=0, serial=None):
    payload = both32(mode) + both32(nlink) + both32(uid) + both32(gid)
    if serial is not None:
        payload += both32(serial)
    return entry(b"PX", payload)


def sl(components, flags=0):
    body = b"".join(bytes([f, len(c)]) + c for f, c in components)
    return entry(b"SL", bytes([flags]) + body)


def nm(name, flags=0):
    return entry(b"NM", bytes([flags]) + name)


class TestRockRidge:
    def test_px_36(self):
        rr = rockridge.collect(rr_entries(px(0o100644, 2, 1000, 100)))
        assert rr.mode == 0o100644 and rr.nlink == 2
        assert rr.uid == 1000 and rr.gid == 100
        assert rr.serial is None
        assert rr.present
        assert len(px(0o100644)) == 36

    def test_px_44_serial(self):
        raw = px(0o40755, 3, 0, 0, serial=0xABCDEF)
        assert len(raw) == 44
        rr = rockridge.collect(rr_entries(raw))
        assert rr.mode == 0o40755 and rr.serial == 0xABCDEF

    def test_px_too_short_is_an_error_not_a_crash(self):
        c = rockridge.collector()
        for e in rr_entries(entry(b"PX", both32(0o644)), nm(b"keep")):
            c.add(e)
        rr = c.result()
        assert rr.mode is None and rr.name == b"keep"
        assert len(c.errors) == 1

    def test_pn_high_low(self):
        rr = rockridge.collect(rr_entries(entry(b"PN", both32(8) + both32(3))))
        assert os.major(rr.rdev) == 8 and os.minor(rr.rdev) == 3

    def test_pn_all_in_low(self):
        dev = os.makedev(259, 70000)
        rr = rockridge.collect(rr_entries(entry(b"PN", both32(0) + both32(dev))))
        assert os.major(rr.rdev) == 259 and os.minor(rr.rdev) == 70000

    def test_pn_old_16_bit_in_low(self):
        # (8 << 8) | 1: the old Linux encoding a zero high half often carries
        rr = rockridge.collect(rr_entries(entry(b"PN", both32(0) + both32(0x0801))))
        assert os.major(rr.rdev) == 8 and os.minor(rr.rdev) == 1

    def test_pn_garbage_halves_are_an_error_not_a_crash(self):
        # both halves 0xFFFFFFFF used to raise OverflowError out of collect()
        c = rockridge.collector()
        for e in rr_entries(entry(b"PN", both32(0xFFFFFFFF) + both32(0xFFFFFFFF)),
                            nm(b"dev")):
            c.add(e)
        rr = c.result()
        assert rr.rdev is None and rr.name == b"dev"
        assert len(c.errors) == 1
        c = rockridge.collector()
        c.add(rr_entries(entry(b"PN", both32(1) + both32(0x80000000)))[0])
        assert c.result().rdev is None and c.errors

    def test_pn_short(self):
        c = rockridge.collector()
        c.add(rr_entries(entry(b"PN", both32(1)))[0])
        assert c.result().rdev is None and c.errors

    def test_sl_multi_component(self):
        rr = rockridge.collect(rr_entries(sl([(0, b"usr"), (0, b"share"), (0, b"doc")])))
        assert rr.symlink == b"usr/share/doc"

    def test_sl_dot_dotdot_root(self):
        rr = rockridge.collect(rr_entries(
            sl([(0x08, b""), (0, b"a"), (0x04, b""), (0x02, b""), (0, b"b")])))
        assert rr.symlink == b"/a/.././b"

    def test_sl_root_only(self):
        assert rockridge.collect(rr_entries(sl([(0x08, b"")]))).symlink == b"/"

    def test_sl_relative_parent(self):
        assert rockridge.collect(rr_entries(sl([(0x04, b""), (0, b"x")]))).symlink == b"../x"

    def test_sl_component_continued_across_entries(self):
        first = sl([(0, b"dir"), (0x01, b"long")], flags=0x01)
        second = sl([(0, b"name"), (0, b"tail")])
        rr = rockridge.collect(rr_entries(first, second))
        assert rr.symlink == b"dir/longname/tail"

    def test_sl_component_continued_within_entry(self):
        rr = rockridge.collect(rr_entries(sl([(0x01, b"ab"), (0x01, b"cd"), (0, b"ef")])))
        assert rr.symlink == b"abcdef"

    def test_sl_xorriso_root_marker_in_middle(self):
        # xorriso writes "a//b" as a, <root>, b
        rr = rockridge.collect(rr_entries(sl([(0, b"a"), (0x08, b""), (0, b"b")])))
        assert rr.symlink == b"a//b"

    def test_sl_absolute_with_empty_component(self):
        rr = rockridge.collect(rr_entries(sl([(0x08, b""), (0, b"a"), (0x08, b""),
                                              (0, b"b")])))
        assert rr.symlink == b"/a//b"

    def test_sl_truncated_component_tolerated(self):
        raw = bytearray(sl([(0, b"abc"), (0, b"defgh")]))
        # cut the last component's content short, entry length says so
        raw = raw[:-3]
        raw[2] = len(raw)
        rr = rockridge.collect(rr_entries(bytes(raw)))
        assert rr.symlink.startswith(b"abc/")

    def test_nm_simple_and_continued(self):
        assert rockridge.collect(rr_entries(nm(b"hello.txt"))).name == b"hello.txt"
        rr = rockridge.collect(rr_entries(nm(b"a_very_", 0x01), nm(b"long_", 0x01),
                                          nm(b"name")))
        assert rr.name == b"a_very_long_name"

    def test_nm_after_complete_name_ignored(self):
        rr = rockridge.collect(rr_entries(nm(b"first"), nm(b"second")))
        assert rr.name == b"first"

    def test_nm_current_parent(self):
        assert rockridge.collect(rr_entries(nm(b"", 0x02))).name is None
        assert rockridge.collect(rr_entries(nm(b"", 0x04))).name is None

    def test_tf_short_form_several_stamps(self):
        t_mod = bytes([120, 5, 6, 7, 8, 9, 0])
        t_acc = bytes([121, 1, 2, 3, 4, 5, 4])   # GMT+1
        t_att = bytes([122, 12, 31, 23, 59, 58, 0])
        raw = entry(b"TF", bytes([0x02 | 0x04 | 0x08]) + t_mod + t_acc + t_att)
        rr = rockridge.collect(rr_entries(raw))
        assert rr.times == {"modify": utc(2020, 5, 6, 7, 8, 9),
                            "access": utc(2021, 1, 2, 2, 4, 5),
                            "attributes": utc(2022, 12, 31, 23, 59, 58)}

    def test_tf_creation_first_in_order(self):
        t1 = bytes([100, 1, 1, 0, 0, 0, 0])
        t2 = bytes([101, 1, 1, 0, 0, 0, 0])
        rr = rockridge.collect(rr_entries(entry(b"TF", bytes([0x01 | 0x02]) + t1 + t2)))
        assert rr.times == {"creation": utc(2000, 1, 1, 0, 0, 0),
                            "modify": utc(2001, 1, 1, 0, 0, 0)}

    def test_tf_long_form(self):
        stamps = b"2030010203040500\x00" + b"2031060708091000" + bytes([256 - 4])
        rr = rockridge.collect(rr_entries(entry(b"TF", bytes([0x80 | 0x02 | 0x04]) + stamps)))
        assert rr.times == {"modify": utc(2030, 1, 2, 3, 4, 5),
                            "access": utc(2031, 6, 7, 9, 9, 10)}

    def test_tf_after_2038_short_form_positive(self):
        rr = rockridge.collect(rr_entries(entry(b"TF", b"\x02" + bytes([150, 1, 1, 0, 0, 0, 0]))))
        assert rr.times["modify"] == utc(2050, 1, 1, 0, 0, 0)

    def test_tf_truncated_keeps_complete_stamps(self):
        raw = entry(b"TF", b"\x06" + bytes([120, 1, 1, 0, 0, 0, 0]) + bytes([121, 1]))
        rr = rockridge.collect(rr_entries(raw))
        assert rr.times == {"modify": utc(2020, 1, 1, 0, 0, 0)}

    def test_cl_pl_re(self):
        rr = rockridge.collect(rr_entries(entry(b"CL", both32(77))))
        assert rr.child_link == 77
        rr = rockridge.collect(rr_entries(entry(b"PL", both32(18)), entry(b"RE", b"")))
        assert rr.parent_link == 18 and rr.relocated

    def test_cl_short(self):
        c = rockridge.collector()
        c.add(rr_entries(entry(b"CL", le32(77)))[0])
        assert c.result().child_link is None and c.errors

    def test_zf(self):
        raw = entry(b"ZF", b"pz" + bytes([4, 15]) + both32(100000))
        assert len(raw) == 16
        rr = rockridge.collect(rr_entries(raw))
        zf = rr.zisofs
        assert zf.algorithm == b"pz"
        assert zf.header_size == 16
        assert zf.block_log2 == 15
        assert zf.uncompressed_size == 100000

    def test_unknown_entries_ignored(self):
        rr = rockridge.collect(rr_entries(entry(b"RR", b"\x89"), entry(b"AL", b"\x00\x00")))
        assert not rr.present

    def test_everything_together(self):
        rr = rockridge.collect(rr_entries(
            entry(b"RR", b"\x89"), px(0o120777, 1, 5, 6), nm(b"link"),
            sl([(0, b"target")]), entry(b"TF", b"\x02" + bytes([120, 1, 1, 0, 0, 0, 0]))))
        assert rr.name == b"link" and rr.symlink == b"target"
        assert rr.mode == 0o120777 and rr.uid == 5 and rr.gid == 6
        assert rr.seen == {b"PX", b"NM", b"SL", b"TF"}


# ---- El Torito 1.0 -----------------------------------------------------------------

def validation_entry(platform=0, id_string=b"TESTER"):
    e = bytearray(32)
    e[0] = 0x01
    e[1] = platform
    e[4:4 + len(id_string)] = id_string
    e[30] = 0x55
    e[31] = 0xAA
    total = sum(struct.unpack("<16H", bytes(e))) & 0xFFFF
    e[28:30] = le16((0x10000 - total) & 0xFFFF)
    return bytes(e)


def boot_entry(bootable=True, media=0, segment=0, system_type=0, count=4, rba=40):
    e = bytearray(32)
    e[0] = 0x88 if bootable else 0x00
    e[1] = media
    e[2:4] = le16(segment)
    e[4] = system_type
    e[6:8] = le16(count)
    e[8:12] = le32(rba)
    return bytes(e)


class TestElTorito:
    def test_validation_and_default_entry(self):
        data = validation_entry(id_string=b"MY BOOT") + \
            boot_entry(media=0, segment=0x7C0, count=4, rba=40)
        cat = eltorito.decode_catalog(data.ljust(2048, b"\x00"))
        assert cat.platform == 0 and cat.id_string == "MY BOOT"
        assert len(cat.entries) == 1
        e = cat.entries[0]
        assert e.bootable and e.media_type == 0 and e.media_name == "no emulation"
        assert e.load_segment == 0x7C0 and e.sector_count == 4 and e.load_rba == 40
        assert e.platform_name == "x86"

    def test_checksum_wrong(self):
        v = bytearray(validation_entry())
        v[28] ^= 0x01
        with pytest.raises(FormatError, match="checksum"):
            eltorito.decode_catalog(bytes(v) + boot_entry())

    def test_missing_key_bytes(self):
        v = bytearray(validation_entry())
        v[31] = 0
        with pytest.raises(FormatError):
            eltorito.decode_catalog(bytes(v) + boot_entry())

    def test_truncated(self):
        with pytest.raises(FormatError):
            eltorito.decode_catalog(validation_entry())

    def test_efi_section(self):
        header = bytearray(32)
        header[0] = 0x91
        header[1] = 0xEF
        header[2:4] = le16(1)
        header[4:8] = b"UEFI"
        data = validation_entry() + boot_entry(media=2, count=4, rba=40) + \
            bytes(header) + boot_entry(media=0, count=2880, rba=50) + \
            boot_entry(rba=999)   # after the last section: not read
        cat = eltorito.decode_catalog(data.ljust(2048, b"\x00"))
        assert len(cat.entries) == 2
        assert cat.entries[0].media_name == "1.44M floppy"
        efi = cat.entries[1]
        assert efi.platform == 0xEF and efi.platform_name == "EFI"
        assert efi.sector_count == 2880 and efi.load_rba == 50
        assert efi.section_id == b"UEFI"

    def test_more_sections_then_last(self):
        h1 = bytearray(32)
        h1[0], h1[1], h1[2:4] = 0x90, 0x00, le16(1)
        h2 = bytearray(32)
        h2[0], h2[1], h2[2:4] = 0x91, 0xEF, le16(1)
        data = validation_entry() + boot_entry(rba=1) + bytes(h1) + boot_entry(rba=2) + \
            bytes(h2) + boot_entry(bootable=False, rba=3)
        cat = eltorito.decode_catalog(data.ljust(2048, b"\x00"))
        assert [e.load_rba for e in cat.entries] == [1, 2, 3]
        assert [e.platform for e in cat.entries] == [0, 0, 0xEF]
        assert not cat.entries[2].bootable

    def test_section_count_past_end_bounded(self):
        h = bytearray(32)
        h[0], h[1], h[2:4] = 0x91, 0xEF, le16(0xFFFF)
        data = validation_entry() + boot_entry() + bytes(h) + boot_entry(rba=7)
        cat = eltorito.decode_catalog(data)
        assert [e.load_rba for e in cat.entries] == [40, 7]


# ---- zisofs ----------------------------------------------------------------------------

ZMAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"


class TestZisofs:
    def test_header(self):
        h = zisofs.decode_header(ZMAGIC + le32(100000) + bytes([4, 15, 0, 0]))
        assert h.uncompressed_size == 100000
        assert h.header_size == 16
        assert h.block_log2 == 15 and h.block_size == 32768
        assert h.block_count == 4
        assert h.table_offset == 16 and h.table_size == 20

    def test_header_block_17_and_exact_multiple(self):
        h = zisofs.decode_header(ZMAGIC + le32(2 * 131072) + bytes([4, 17, 0, 0]))
        assert h.block_count == 2

    def test_header_empty_file(self):
        h = zisofs.decode_header(ZMAGIC + le32(0) + bytes([4, 15, 0, 0]))
        assert h.block_count == 0 and h.table_size == 4

    def test_bad_magic(self):
        with pytest.raises(FormatError):
            zisofs.decode_header(b"\x00" * 8 + le32(1) + bytes([4, 15, 0, 0]))

    @pytest.mark.parametrize("log2", [0, 14, 18, 255])
    def test_bad_block_size(self, log2):
        with pytest.raises(FormatError):
            zisofs.decode_header(ZMAGIC + le32(1) + bytes([4, log2, 0, 0]))

    def test_header_size_too_small(self):
        with pytest.raises(FormatError):
            zisofs.decode_header(ZMAGIC + le32(1) + bytes([3, 15, 0, 0]))

    def test_truncated_header(self):
        with pytest.raises(FormatError):
            zisofs.decode_header(ZMAGIC + le32(1))

    def test_block_table(self):
        h = zisofs.decode_header(ZMAGIC + le32(70000) + bytes([4, 15, 0, 0]))
        table = le32(32) + le32(100) + le32(100) + le32(180)
        assert zisofs.decode_block_table(table, h) == [32, 100, 100, 180]

    def test_block_table_decreasing_refused(self):
        h = zisofs.decode_header(ZMAGIC + le32(70000) + bytes([4, 15, 0, 0]))
        with pytest.raises(FormatError):
            zisofs.decode_block_table(le32(32) + le32(100) + le32(90) + le32(180), h)

    def test_block_table_truncated(self):
        h = zisofs.decode_header(ZMAGIC + le32(70000) + bytes([4, 15, 0, 0]))
        with pytest.raises(FormatError):
            zisofs.decode_block_table(le32(32) + le32(100), h)

    def test_hand_built_file_roundtrip(self):
        # a whole zisofs file as mkzftree lays it out, decoded by hand
        payload = (b"zisofs!" * 7000)[:40000]
        blocks = [zlib.compress(payload[:32768]), zlib.compress(payload[32768:])]
        table_start = 16
        first = table_start + 4 * 3
        offsets = [first, first + len(blocks[0]), first + len(blocks[0]) + len(blocks[1])]
        data = ZMAGIC + le32(len(payload)) + bytes([4, 15, 0, 0]) + \
            b"".join(le32(o) for o in offsets) + b"".join(blocks)
        h = zisofs.decode_header(data)
        table = zisofs.decode_block_table(data[h.table_offset:], h)
        out = b"".join(zlib.decompress(data[a:b]) for a, b in zip(table, table[1:]))
        assert out == payload


# ---- names -----------------------------------------------------------------------------

class TestNames:
    @pytest.mark.parametrize("raw,expected", [
        (b"FOO.;1", b"foo"),
        (b"A;1", b"a"),
        (b"README.TXT;1", b"readme.txt"),
        (b"DIR", b"dir"),
        (b"FILE.TAR.GZ;1", b"file.tar.gz"),
        (b"V;2", b"v.2"),          # other versions kept, ';' shown as '.'
        (b"A/B;1", b"a.b"),        # Acorn '/' separator
        (b"MIXED_9;1", b"mixed_9"),
    ])
    def test_plain_normal(self, raw, expected):
        assert names.plain_name(raw) == expected

    def test_plain_off(self):
        assert names.plain_name(b"FOO.;1", names.MAP_OFF) == b"FOO.;1"

    def test_joliet_surrogate_pair_and_version(self):
        raw = "Bild \U0001F600.jpg;1".encode("utf-16-be")
        assert raw.count(b"\xd8\x3d") == 1   # really a surrogate pair on disc
        assert names.joliet_name(raw) == "Bild \U0001F600.jpg".encode("utf-8")

    def test_joliet_plain(self):
        assert names.joliet_name("Ärger.txt".encode("utf-16-be")) == "Ärger.txt".encode()
        assert names.joliet_name("ab;1".encode("utf-16-be")) == b"ab"
        # a name that is only ";1" long stays (kernel: length > 2)
        assert names.joliet_name(";1".encode("utf-16-be")) == b";1"

    def test_joliet_trailing_dot_removed(self):
        assert names.joliet_name("name.;1".encode("utf-16-be")) == b"name"

    def test_joliet_odd_length_and_lone_surrogate_do_not_crash(self):
        assert names.joliet_name(b"\x00a\x00") == b"a"
        assert names.joliet_name(b"\xd8\x00\x00b")  # replaced, not raised


# ---- garbage in, FormatError (or a value) out: never another exception -------------------

def test_decoders_only_raise_format_error():
    import random
    rnd = random.Random(20261127)
    sigs = [b"PX", b"PN", b"SL", b"NM", b"TF", b"CL", b"PL", b"RE", b"ZF", b"SP",
            b"CE", b"ER", b"ST"]
    for _ in range(3000):
        area = b""
        for _ in range(rnd.randint(1, 4)):
            body = rnd.randbytes(rnd.randint(0, 40))
            length = 4 + len(body) if rnd.random() < 0.8 else rnd.randint(0, 255)
            area += rnd.choice(sigs) + bytes([length, 1]) + body
        errors = []
        entries = list(susp.iter_entries(area, on_error=errors.append))
        c = rockridge.collector()
        for e in entries:
            c.add(e)
            for decode in (susp.decode_ce, susp.decode_sp, susp.decode_er):
                try:
                    decode(e)
                except FormatError:
                    pass
        c.result()
        list(dirrecord.iter_records(rnd.randbytes(rnd.randint(0, 300)),
                                    on_error=lambda off, exc: None))
        for fn, raw in ((dates.decode_binary_date, rnd.randbytes(7)),
                        (names.plain_name, rnd.randbytes(rnd.randint(0, 12))),
                        (names.joliet_name, rnd.randbytes(rnd.randint(0, 12))),
                        (zisofs.decode_header, ZMAGIC + rnd.randbytes(8))):
            try:
                fn(raw)
            except FormatError:
                pass
