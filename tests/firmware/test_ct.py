"""ct_eq: the constant-time comparison used for every MAC tag."""

CASES = [
    # (what, a, b, expected)
    ("equal", b"\x00\x01\x02\x03" * 4, b"\x00\x01\x02\x03" * 4, True),
    ("first byte differs", b"\x80" + bytes(15), bytes(16), False),
    ("last byte differs", bytes(15) + b"\x01", bytes(16), False),
    ("one bit in the middle", bytes(7) + b"\x10" + bytes(8), bytes(16), False),
    ("all bytes differ", b"\xff" * 8, bytes(8), False),
    ("b is a prefix of a", b"abcdef", b"abc", False),
    ("a is a prefix of b", b"abc", b"abcdef", False),
    ("empty", b"", b"", True),
    ("empty vs one byte", b"", b"\x00", False),
    ("one byte equal", b"\xa5", b"\xa5", True),
]


def test_ct_eq_cases(mp):
    mp.exec("from microace.crypto.ct import ct_eq")
    got = mp.eval("[ct_eq(a, b) for a, b in %r]" % ([(a, b) for _, a, b, _ in CASES],))
    assert len(got) == len(CASES)
    for (what, _, _, expected), verdict in zip(CASES, got):
        assert verdict is expected, what


def test_ct_eq_buffer_types(mp):
    # Tags arrive as slices of received messages: bytes, bytearray and memoryview mix.
    mp.exec("from microace.crypto.ct import ct_eq")
    got = mp.eval("[ct_eq(bytearray(b'tag!'), b'tag!'), ct_eq(memoryview(b'xtag!')[1:], b'tag!'),"
                  " ct_eq(b'tag!', bytearray(b'tag?'))]")
    assert got == [True, True, False]
