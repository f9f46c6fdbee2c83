"""microace.cbor: every class of bad input, RFC 8949 Appendix A, deterministic encoding, RFC 8392.

Values travel back from MicroPython in a "wire" form that repr/literal_eval carries exactly
(text as UTF-8 bytes, floats as their IEEE 754 double bytes, tags and bools as tuples), so a
comparison on the host cannot be fooled by 1 == True == 1.0 or by NaN.
"""

import ast
import json
import math
import struct

import cbor2
import cbor2._types
import pytest

from tests.support.vectors import shared_vectors

MP_HELPERS = r'''
import gc, struct
from microace import cbor
from microace.errors import DecodeError

def _cbw(v):
    t = type(v)
    if t is str:
        return ('str', v.encode())
    if t is float:
        return ('float', 'nan' if v != v else struct.pack('>d', v))
    if t is bool:
        return ('bool', v)
    if t is list:
        return [_cbw(x) for x in v]
    if t is dict:
        return {_cbw(k): _cbw(x) for k, x in v.items()}
    if t is cbor.Tag:
        return ('tag', v.tag, _cbw(v.value))
    return v

def _cbtry(b, limits=(), full=True):
    try:
        v = cbor.decode(b, *limits)
        return ('ok', _cbw(v) if full else None)
    except DecodeError as e:
        return ('err', e.args[0])
    except Exception as e:
        return ('escaped', type(e).__name__, repr(e))

def _cbrun(blobs, limits=(), full=True):
    # Collect first and fill a preallocated list: the heap stays in one piece; print streams.
    gc.collect()
    r = [None] * len(blobs)
    for i in range(len(blobs)):
        r[i] = _cbtry(blobs[i], limits, full)
    print(r)
'''

CHUNK_CHARS = 2000  # source per exec call: small enough to compile in a small heap


class Expr:
    """An input given as MicroPython source, for inputs too big to send as a literal."""

    def __init__(self, source):
        self.source = source

    def __repr__(self):
        return self.source


TAG_TYPES = (cbor2.CBORTag, cbor2._types.CBORTag)  # the C and the pure-Python decoder's
SIMPLE_TYPES = (cbor2.CBORSimpleValue, cbor2._types.CBORSimpleValue)  # tuple subclasses


def wire(v):
    """The host twin of _cbw, for values from cbor2 or written in a test."""
    if isinstance(v, SIMPLE_TYPES):
        return ("unsupported", repr(v))
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else struct.pack(">d", v))
    if isinstance(v, str):
        return ("str", v.encode())
    if isinstance(v, (list, tuple)):
        return [wire(x) for x in v]
    if isinstance(v, dict):
        return {hashable(wire(k)): wire(x) for k, x in v.items()}
    if isinstance(v, TAG_TYPES):
        return ("tag", v.tag, wire(v.value))
    if v is None or isinstance(v, (int, bytes)):
        return v
    return ("unsupported", repr(v))


def hashable(w):
    """A wire form usable as a dict key (cbor2 decodes array keys; we reject them)."""
    if isinstance(w, list):
        return tuple(map(hashable, w))
    if isinstance(w, dict):
        return tuple(sorted(((hashable(k), hashable(x)) for k, x in w.items()), key=repr))
    return w


def run_lines(mp, code):
    """exec code, literal_eval its last output line (MicroPython may print warnings before)."""
    out = mp.exec(code).strip().splitlines()
    return ast.literal_eval(out[-1])


def chunks(sources, limit=CHUNK_CHARS):
    """Group source snippets into lists of at most `limit` characters (one exec call each)."""
    chunk, size = [], 0
    for source in sources:
        if chunk and size + len(source) > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(source)
        size += len(source) + 2
    if chunk:
        yield chunk


def setup_helpers(mp):
    mp.exec(MP_HELPERS)


def decode_all(mp, blobs, *limits, full=True):
    """cbor.decode's verdicts in MicroPython: ('ok', wire) | ('err', reason) | ('escaped', ...).

    With full=False a success comes back as ('ok', None): for values too big to send back.
    """
    setup_helpers(mp)
    verdicts = []
    for chunk in chunks(map(repr, blobs)):
        mp.exec("gc.collect()")  # before the chunk's inputs are built
        verdicts += run_lines(mp, "_cbrun([%s], %r, %r)" % (", ".join(chunk), limits, full))
    assert len(verdicts) == len(blobs)
    return verdicts


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


def expect_reason(mp, reason, hexes, *limits):
    blobs = [h(x) if isinstance(x, str) else x for x in hexes]
    got = decode_all(mp, blobs, *limits)
    bad = [(b, v) for b, v in zip(blobs, got) if v != ("err", reason)]
    assert not bad, "expected DecodeError(%r) for: %r" % (reason, bad)
    return len(blobs)


# --- bad input, one class each --------------------------------------------------------------

def heads_cut_short():
    """Every head whose argument bytes are missing: 1, 2, 4 and 8-byte arguments, all majors."""
    cases = []
    for major in range(7):
        for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            for have in range(size):
                cases.append(bytes([major << 5 | ai]) + b"\x01" * have)
    for ai, size in ((25, 2), (26, 4), (27, 8)):  # floats
        for have in range(size):
            cases.append(bytes([0xE0 | ai]) + b"\x00" * have)
    return cases


def test_truncated(mp):
    cases = [b""] + heads_cut_short() + [
        h("41"), h("44010203"), h("5801"), h("590002 00"), h("5a00000002 00"),
        h("5b0000000000000002 00"),
        h("61"), h("6261"), h("7801"),
        h("c1"), h("d818"), h("c1c1"),
        h("82 01 4201"), h("a1 01 6261"), h("81 c1"),
        h("5b ffffffffffffffff"), h("7b ffffffffffffffff"), h("5a ffffffff 00"),
        Expr("b'\\x59\\xff\\xff' + bytes(300)"),
    ]
    assert expect_reason(mp, "truncated", cases) == 139


def test_count_exceeds_input_before_allocating(mp):
    cases = ["9b ffffffffffffffff", "bb ffffffffffffffff", "9a ffffffff", "ba 7fffffff 00",
             "82 01", "83 01 02", "a1 01", "a2 01 02 03", "99 ffff" + "00" * 100,
             "81 82 01", "a1 01 a1 02", Expr("b'\\xb9\\x01\\x00' + bytes(511)")]
    assert expect_reason(mp, "count exceeds input", cases) == 12
    # Nothing proportional to the declared sizes was allocated on the way to the error.
    used = run_lines(mp, """
gc.collect()
_a = gc.mem_alloc()
for _b in (b'\\x9b' + b'\\xff' * 8, b'\\x5b' + b'\\xff' * 8, b'\\x7a\\x7f\\xff\\xff\\xff'):
    _cbtry(_b)
print(gc.mem_alloc() - _a)
""")
    assert used < 4096, used  # three exceptions and their tracebacks


def test_depth_limit(mp):
    # Depth counts open arrays, maps and tags; an empty container is a level too.
    ok = [b"\x81" * 15 + b"\x80", b"\x81" * 16 + b"\x00", b"\xa1\x00" * 15 + b"\xa0",
          b"\xc1" * 15 + b"\x80", b"\xc1" * 16 + b"\x00",
          b"\x81" * 14 + b"\x90" + b"\x80" * 16]  # 16 empty arrays side by side at depth 16
    got = decode_all(mp, ok)
    assert [v[0] for v in got] == ["ok"] * len(ok), got
    deep = [b"\x81" * 16 + b"\x80", b"\x81" * 17 + b"\x00", b"\xa1\x00" * 16 + b"\xa0",
            b"\xc1" * 16 + b"\x80", b"\xc1" * 17 + b"\x00", b"\x81" * 216 + b"\x00",
            b"\x81" * 16 + b"\xa1\x00\x00", b"\x82\x00" + b"\x81" * 15 + b"\x80"]
    assert expect_reason(mp, "too deep", deep) == 8
    # The limits are parameters.
    assert decode_all(mp, [h("8180")], 1) == [("err", "too deep")]
    assert decode_all(mp, [h("8180")], 2) == [("ok", [[]])]
    assert decode_all(mp, [h("00")], 0) == [("ok", 0)]


def test_item_limit(mp):
    # Every head counts: containers, keys, values and tags. The default limit is 512 ...
    ok = [Expr("b'\\x99\\x01\\xff' + bytes(511)"),  # 1 + 511; then 1 + 256 + 255
          Expr("b'\\x82\\x99\\x00\\xff' + bytes(255) + b'\\x99\\x00\\xfe' + bytes(254)")]
    assert decode_all(mp, ok, full=False) == [("ok", None)] * 2
    too_many = [Expr("b'\\x99\\x02\\x00' + bytes(512)"),
                Expr("b'\\x82' + (b'\\x99\\x00\\xff' + bytes(255)) * 2"),
                Expr("b'\\x9b' + (600).to_bytes(8, 'big') + bytes(600)")]
    assert expect_reason(mp, "too many items", too_many) == 3
    # ... and a parameter: here 21.
    ok = [b"\xaa" + b"".join(bytes([i, i]) for i in range(10)),   # 1 + 20
          b"\x93\xc1\x00" + bytes(18),                             # 1 + 19 + 1 (the tag)
          b"\x82\x89" + bytes(9) + b"\x89" + bytes(9)]               # 1 + 2 + 18
    assert decode_all(mp, ok, 16, 21, full=False) == [("ok", None)] * 3
    too_many = [b"\xab" + b"".join(bytes([i, i]) for i in range(11)),
                b"\x94\xc1\x00" + bytes(19),
                b"\x82\x89" + bytes(9) + b"\x8a" + bytes(10),
                b"\x81\xc1\xc1\xc1\x91" + bytes(17)]  # 1 + 3 + 1 + 17
    assert expect_reason(mp, "too many items", too_many, 16, 21) == 4
    assert decode_all(mp, [h("83010203")], 16, 3) == [("err", "too many items")]
    assert decode_all(mp, [h("83010203")], 16, 4) == [("ok", [1, 2, 3])]


def test_reserved_additional_info(mp):
    cases = [bytes([major << 5 | ai]) + bytes(9) for major in range(8) for ai in (28, 29, 30)]
    cases += [h("81 1c"), h("a1 01 fd")]
    assert expect_reason(mp, "reserved additional info", cases) == 26


def test_indefinite_lengths_and_break(mp):
    cases = ["ff", "5f ff", "5f 4101 ff", "7f ff", "7f 6161 ff", "9f ff", "9f 01 02 ff",
             "bf ff", "bf 01 02 ff", "1f", "3f", "df 00", "81 ff", "82 01 ff",
             "a1 01 9f ff", "c1 bf ff", "9f 00 ff"]
    assert expect_reason(mp, "indefinite length or break", cases) == 17


def test_trailing_bytes(mp):
    cases = ["00 00", "a0 00", "80 ff", "4100 00", "f6 f6", "c1 00 00", "8101 01", "6161 61"]
    assert expect_reason(mp, "trailing bytes", cases) == 8
    end = run_lines(mp, "print(repr(cbor.decode_prefix(b'\\x00\\x82\\x01\\x02\\xff', 1)))")
    assert end == ([1, 2], 4)


def test_duplicate_map_keys(mp):
    cases = ["a2 01 00 01 01", "a2 20 00 20 00", "a2 1b ffffffffffffffff 00 1b ffffffffffffffff 00",
             "a2 6161 00 6161 01", "a2 60 00 60 00", "a2 4161 00 4161 01", "a2 40 00 40 00",
             "a3 01 00 02 00 01 00",
             "a2 01 00 18 01 00",     # the same value 1, once preferred, once not
             "a2 6161 00 7801 61 00",
             "81 a2 02 00 02 00", "a1 00 a2 00 00 00 00"]
    assert expect_reason(mp, "duplicate map key", cases) == 12
    # Same bytes, different types are different keys.
    got = decode_all(mp, [h("a3 6161 01 4161 02 01 03"), h("a2 00 00 20 00")])
    assert got == [("ok", {("str", b"a"): 1, b"a": 2, 1: 3}), ("ok", {0: 0, -1: 0})]


def test_map_key_types(mp):
    cases = ["a1 80 00", "a1 8101 00", "a1 a0 00", "a1 c1 00 00", "a1 f5 00", "a1 f4 00",
             "a1 f6 00", "a1 f9 3c00 00", "a1 fb 3ff0000000000000 00", "a2 01 00 81 01 00"]
    assert expect_reason(mp, "map key type", cases) == 10


def test_simple_values(mp):
    cases = ["%02x" % (0xE0 | i) for i in range(20)] + ["f7", "f8 00", "f8 13", "f8 14",
                                                       "f8 1f", "f8 20", "f8 ff", "81 f7"]
    assert expect_reason(mp, "unsupported simple value", cases) == 28


BAD_UTF8 = [
    "80", "bf", "c0 80", "c1 bf", "c2", "c3 28", "df",              # stray, overlong, short
    "e0 80 80", "e0 9f bf", "e2 82", "e2 28 a1", "e2 82 28",       # overlong, cut, bad cont
    "ed a0 80", "ed bf bf", "ed b0 80",                            # UTF-16 surrogates
    "f0 80 80 80", "f0 8f bf bf", "f0 9f 98", "f0 9f 28 80",       # overlong, cut
    "f4 90 80 80", "f4 bf bf bf", "f5 80 80 80", "f7 bf bf bf",    # above U+10FFFF
    "f8 88 80 80 80", "fc 84 80 80 80 80", "fe", "ff",             # 5/6-byte forms, never valid
    "61 80 61", "e6 b0 b4 e6 b0",                                  # bad byte after good ones
]
GOOD_UTF8 = ["", "00", "7f", "c2 80", "df bf", "e0 a0 80", "ed 9f bf", "ee 80 80", "ef bf bf",
             "f0 90 80 80", "f4 8f bf bf", "f0 9f 98 80 61", "e6 b0 b4", "c3 bc 61 c3 bc"]


def text_item(raw):
    return bytes([0x78, len(raw)]) + raw if len(raw) >= 24 else bytes([0x60 | len(raw)]) + raw


def test_invalid_utf8(mp):
    bad = [text_item(h(x)) for x in BAD_UTF8] + [h("81") + text_item(h("ed a0 80")),
                                                 h("a1") + text_item(h("c0 80")) + h("00")]
    assert expect_reason(mp, "invalid utf-8", bad) == len(BAD_UTF8) + 2
    for x in BAD_UTF8:  # the table itself is right: CPython's strict codec rejects each one
        with pytest.raises(UnicodeDecodeError):
            h(x).decode("utf-8")
    good = [h(x) for x in GOOD_UTF8]
    got = decode_all(mp, [text_item(raw) for raw in good])
    assert got == [("ok", ("str", raw)) for raw in good]


def test_bad_input_never_escapes_as_another_exception(mp):
    # Hand-picked inputs that would trip a careless decoder into IndexError, struct.error,
    # UnicodeError, MemoryError or recursion.
    cases = [h("fb 00"), h("fa"), h("7f"), h("5b 8000000000000000"), h("9b 8000000000000000"),
             Expr("b'\\x81' * 500"), Expr("b'\\xc1' * 500"), Expr("b'\\xa1\\x01' * 300"),
             h("62 c3"), h("61 ff"), h("bb 0000000100000000"), h("1b"), h("d9"),
             Expr("b'\\x9f' * 1000")]
    got = decode_all(mp, cases)
    assert [v[0] for v in got] == ["err"] * len(cases), got


# --- what decodes ---------------------------------------------------------------------------

INF = float("inf")
RFC8949_APPENDIX_A = [  # (hex, value) for the examples in our subset
    ("00", 0), ("01", 1), ("0a", 10), ("17", 23), ("1818", 24), ("1819", 25), ("1864", 100),
    ("1903e8", 1000), ("1a000f4240", 1000000), ("1b000000e8d4a51000", 1000000000000),
    ("1bffffffffffffffff", 18446744073709551615), ("3bffffffffffffffff", -18446744073709551616),
    ("20", -1), ("29", -10), ("3863", -100), ("3903e7", -1000),
    ("f90000", 0.0), ("f98000", -0.0), ("f93c00", 1.0), ("fb3ff199999999999a", 1.1),
    ("f93e00", 1.5), ("f97bff", 65504.0), ("fa47c35000", 100000.0),
    ("fa7f7fffff", 3.4028234663852886e38), ("fb7e37e43c8800759c", 1.0e300),
    ("f90001", 5.960464477539063e-8), ("f90400", 0.00006103515625), ("f9c400", -4.0),
    ("fbc010666666666666", -4.1), ("f97c00", INF), ("f97e00", math.nan), ("f9fc00", -INF),
    ("fa7f800000", INF), ("fa7fc00000", math.nan), ("faff800000", -INF),
    ("fb7ff0000000000000", INF), ("fb7ff8000000000000", math.nan), ("fbfff0000000000000", -INF),
    ("f4", False), ("f5", True), ("f6", None),
    ("c249010000000000000000", cbor2.CBORTag(2, h("010000000000000000"))),
    ("c349010000000000000000", cbor2.CBORTag(3, h("010000000000000000"))),
    ("c074323031332d30332d32315432303a30343a30305a", cbor2.CBORTag(0, "2013-03-21T20:04:00Z")),
    ("c11a514b67b0", cbor2.CBORTag(1, 1363896240)),
    ("c1fb41d452d9ec200000", cbor2.CBORTag(1, 1363896240.5)),
    ("d74401020304", cbor2.CBORTag(23, h("01020304"))),
    ("d818456449455446", cbor2.CBORTag(24, h("6449455446"))),
    ("d82076687474703a2f2f7777772e6578616d706c652e636f6d",
     cbor2.CBORTag(32, "http://www.example.com")),
    ("40", b""), ("4401020304", h("01020304")),
    ("60", ""), ("6161", "a"), ("6449455446", "IETF"), ("62225c", '"\\'), ("62c3bc", "\u00fc"),
    ("63e6b0b4", "\u6c34"), ("64f0908591", "\U00010151"),
    ("80", []), ("83010203", [1, 2, 3]), ("8301820203820405", [1, [2, 3], [4, 5]]),
    ("98190102030405060708090a0b0c0d0e0f101112131415161718181819", list(range(1, 26))),
    ("a0", {}), ("a201020304", {1: 2, 3: 4}), ("a26161016162820203", {"a": 1, "b": [2, 3]}),
    ("826161a161626163", ["a", {"b": "c"}]),
    ("a56161614161626142616361436164614461656145",
     {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}),
]

RFC8949_APPENDIX_A_OUTSIDE = [  # (hex, our reason) for the examples outside our subset
    ("f0", "unsupported simple value"), ("f818", "unsupported simple value"),
    ("f8ff", "unsupported simple value"), ("f7", "unsupported simple value"),
    ("5f42010243030405ff", "indefinite length or break"),
    ("7f657374726561646d696e67ff", "indefinite length or break"),
    ("9fff", "indefinite length or break"), ("9f018202039f0405ffff", "indefinite length or break"),
    ("9f01820203820405ff", "indefinite length or break"),
    ("83018202039f0405ff", "indefinite length or break"),
    ("83019f0203ff820405", "indefinite length or break"),
    ("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", "indefinite length or break"),
    ("bf61610161629f0203ffff", "indefinite length or break"),
    ("826161bf61626163ff", "indefinite length or break"),
    ("bf6346756ef563416d7421ff", "indefinite length or break"),
]

NON_PREFERRED = [  # RFC 8949 §4.1: decoders accept longer-than-needed heads
    ("1800", 0), ("190001", 1), ("1a00000017", 23), ("1b0000000000000018", 24), ("3800", -1),
    ("5800", b""), ("590001 61", b"a"), ("7a00000001 61", "a"), ("9800", []),
    ("9b0000000000000001 01", [1]), ("b800", {}), ("b90001 01 02", {1: 2}),
    ("d80100", cbor2.CBORTag(1, 0)), ("f90000", 0.0), ("fa3f800000", 1.0),
    ("fb3ff0000000000000", 1.0),
]


def test_rfc8949_appendix_a(mp):
    cases = RFC8949_APPENDIX_A + NON_PREFERRED
    got = decode_all(mp, [h(x) for x, _ in cases])
    bad = [(x, v, g) for (x, v), g in zip(cases, got) if g != ("ok", wire(v))]
    assert not bad, bad
    # Our table agrees with cbor2 on every entry (cbor2 maps some tags to Python types).
    for x, v in cases:
        if not isinstance(v, cbor2.CBORTag):
            assert wire(cbor2.loads(h(x))) == wire(v), x
    outside = RFC8949_APPENDIX_A_OUTSIDE
    got = decode_all(mp, [h(x) for x, _ in outside])
    assert got == [("err", reason) for _, reason in outside]


def test_byte_strings_are_the_exact_bytes(mp):
    got = run_lines(mp, r"""
_v = cbor.decode(bytearray(b'\x82\x43\xa1\x01\x26\x40'))
_w = cbor.decode(memoryview(b'\x00\x41\xff\x00')[1:3])
print(repr([type(_v[0]) is bytes, _v[0], type(_v[1]) is bytes, type(_w) is bytes, _w]))
""")
    assert got == [True, b"\xa1\x01\x26", True, True, b"\xff"]


def test_tag_api(mp):
    got = run_lines(mp, """
_t = cbor.Tag(61, [1])
print(repr([_t.tag, _t.value, repr(cbor.Tag(61, b'x')), _t == cbor.Tag(61, [1]),
            _t != cbor.Tag(61, [2]), _t != cbor.Tag(62, [1]), _t == [1]]))
""")
    assert got == [61, [1], "Tag(61, b'x')", True, True, True, False]


# --- deterministic encoding -----------------------------------------------------------------

ENCODINGS = [  # (MicroPython expression, expected hex) — RFC 8949 §4.2.1 shortest heads
    ("0", "00"), ("23", "17"), ("24", "1818"), ("255", "18ff"), ("256", "190100"),
    ("65535", "19ffff"), ("65536", "1a00010000"), ("2**32-1", "1affffffff"),
    ("2**32", "1b0000000100000000"), ("2**64-1", "1bffffffffffffffff"),
    ("-1", "20"), ("-24", "37"), ("-25", "3818"), ("-256", "38ff"), ("-257", "390100"),
    ("-65536", "39ffff"), ("-65537", "3a00010000"), ("-2**32", "3affffffff"),
    ("-2**32-1", "3b0000000100000000"), ("-2**64", "3bffffffffffffffff"),
    ("b''", "40"), ("b'a'*23", "57" + "61" * 23), ("b'a'*24", "5818" + "61" * 24),
    ("bytearray(b'\\x01\\x02')", "420102"), ("memoryview(b'xyz')[1:]", "42797a"),
    ("'a'*255", "78ff" + "61" * 255), ("'a'*256", "790100" + "61" * 256),
    ("'\\u00fc\\u6c34'", "65c3bce6b0b4"), ("''", "60"),
    ("[]", "80"), ("[1, [2, 3]]", "8201820203"), ("(1, 2)", "820102"),
    ("[0]*24", "9818" + "00" * 24),
    ("False", "f4"), ("True", "f5"), ("None", "f6"),
    ("cbor.Tag(18, [b'', {}])", "d28240a0"),
    ("cbor.Tag(61, 1)", "d83d01"), ("cbor.Tag(2**64-1, 0)", "dbffffffffffffffff00"),
    ("{}", "a0"),
    # RFC 8949 §4.2.1's own example order: 10, 100, -1, "z", "aa", [100], [-1], false
    ("{False: 8, (-1,): 7, (100,): 6, 'aa': 5, 'z': 4, -1: 3, 100: 2, 10: 1}",
     "a8 0a01 186402 2003 617a04 62616105 81186406 812007 f408"),
    ("{b'\\x00': 1, 'a': 2, 0: 3, -1: 4, 24: 5, b'': 6}", "a6 0003 181805 2004 4006 410001 616102"),
    ("{1: {3: 0, 2: 0}, 0: [{'b': 0, 'a': 0}]}", "a2 0081a2616100616200 01a2020003 00"),
]


def test_deterministic_encoding(mp):
    setup_helpers(mp)
    exprs = "[%s]" % ", ".join(e for e, _ in ENCODINGS)
    got = run_lines(mp, "print(repr([cbor.encode(x) for x in %s]))" % exprs)
    assert len(got) == len(ENCODINGS)
    bad = [(e, x, g.hex()) for (e, x), g in zip(ENCODINGS, got) if g != h(x)]
    assert not bad, bad


def test_encode_rejects_what_it_does_not_support(mp):
    setup_helpers(mp)
    got = run_lines(mp, """
_r = []
for _x in (2**64, -2**64-1, 1.5, {1, 2}, object(), [1, 2**70], {1: 1.0}):
    try:
        cbor.encode(_x)
        _r.append('encoded')
    except (ValueError, TypeError) as e:
        _r.append(type(e).__name__)
print(repr(_r))
""")
    assert got == ["ValueError", "ValueError", "TypeError", "TypeError", "TypeError",
                   "ValueError", "TypeError"]


def test_encode_decode_round_trip(mp):
    setup_helpers(mp)
    got = run_lines(mp, r"""
_vals = [0, 23, 24, -24, -25, 2**64-1, -2**64, b'', b'\x00' * 300, '', 'x' * 300,
         '\u20ac\U0001f600', [], [[[]]], {}, {1: {2: {3: []}}}, {b'k': 'v', 'k': b'v', -5: None},
         True, False, None, cbor.Tag(18, [b'\xa1\x01&', {4: b'kid'}, b'payload', b'sig']),
         cbor.Tag(61, cbor.Tag(17, []))]
print(repr([cbor.decode(cbor.encode(v)) == v for v in _vals]))
""")
    assert got == [True] * 22


# --- RFC 8392 Appendix A --------------------------------------------------------------------

def claims_from_json(obj):
    def val(v):
        if isinstance(v, dict) and set(v) == {"bytes_hex"}:
            return bytes.fromhex(v["bytes_hex"])
        if isinstance(v, dict):
            return {int(k): val(x) for k, x in v.items()}
        return v
    return val(obj)


def test_rfc8392_appendix_a_tokens(mp):
    data = json.loads(shared_vectors("rfc8392", "rfc8392_appendix_a.json").read_text())
    items = data["examples"] + data["keys"]
    got = decode_all(mp, [h(e["hex"]) for e in items])
    for e, (status, value) in zip(items, got):
        assert status == "ok", (e["name"], value)
        # Our decoding equals cbor2's, structure for structure.
        assert value == wire(cbor2.loads(h(e["hex"]))), e["name"]
        if e.get("kind") == "claims_set":
            assert value == wire(claims_from_json(e["expected_claims"])), e["name"]
        elif "cbor_tags" in e:
            for tag in e["cbor_tags"]:
                assert value[:2] == ("tag", tag), e["name"]
                value = value[2]
            assert value[0] == h(e["protected_hex"]), e["name"]  # protected bstr as received
            assert value[1] == wire(claims_from_json(e["unprotected"])), e["name"]
            if "ciphertext_hex" in e:
                assert value[2] == h(e["ciphertext_hex"]), e["name"]
            if "payload_hex" in e:
                assert value[2] == h(e["payload_hex"]), e["name"]
                assert decode_all(mp, [value[2]]) == [
                    ("ok", wire(claims_from_json(e["expected_claims"])))], e["name"]
    assert len(got) == 9
