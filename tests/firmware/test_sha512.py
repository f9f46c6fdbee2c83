"""SHA-512 in MicroPython: FIPS 180-4 examples, and CPython's hashlib for every length 0..300."""

import hashlib
import random

# Digests per mp.map call: the repr of the results must fit a 32 KB heap (pytest --heap 32k).
ROWS = 8

SETUP = """
from microace.crypto.sha512 import sha512, SHA512
"""

# FIPS 180-4 / NIST CSRC examples (SHA512.pdf, SHA2_Additional.pdf)
FIPS = [
    (b"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
          "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    (b"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
     "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"),
    (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
     b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",  # the 896-bit message
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
     "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"),
]


def test_fips_examples(mp):
    mp.exec(SETUP)
    got = mp.map("sha512", [(msg,) for msg, _ in FIPS], max_rows=ROWS)
    assert [d.hex() for d in got] == [digest for _, digest in FIPS]


def test_million_a(mp):
    mp.exec(SETUP)
    got = mp.eval("(lambda h, c: [h.update(c) for _ in range(100)] and h.digest())"
                  "(SHA512(), b'a' * 10000)")
    assert got.hex() == ("e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                         "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")


def test_every_length_to_300_against_hashlib(mp):
    # covers the padding edges 111/112 (length field fits or spills) and 127/128, 239/240
    rng = random.Random(512)
    messages = [rng.randbytes(n) for n in range(301)]
    mp.exec(SETUP)
    got = mp.map("sha512", [(m,) for m in messages], max_rows=ROWS)
    assert len(got) == 301
    for m, digest in zip(messages, got):
        assert digest == hashlib.sha512(m).digest(), "length %d" % len(m)


def test_incremental_matches_one_shot(mp):
    rng = random.Random(180)
    cases = []
    for n in (0, 1, 111, 112, 127, 128, 129, 255, 256, 300, 517):
        data = rng.randbytes(n)
        cuts = sorted(rng.randrange(n + 1) for _ in range(rng.randrange(4)))
        cases.append((data, cuts))
    mp.exec(SETUP + """
def _pieces(data, cuts):
    h = SHA512()
    start = 0
    for cut in cuts + [len(data)]:
        h.update(memoryview(data)[start:cut] if cut & 1 else bytearray(data[start:cut]))
        start = cut
    first = h.digest()
    return first, h.digest()
""")
    got = mp.map("_pieces", cases, max_rows=ROWS)
    for (data, cuts), (first, again) in zip(cases, got):
        assert first == again == hashlib.sha512(data).digest(), "%d bytes cut at %r" % (
            len(data), cuts)
    assert len(got) == len(cases)


def test_update_after_digest_and_constructor_data(mp):
    mp.exec(SETUP)
    got = mp.eval("(lambda h: (h.digest(), h.update(b'def'), h.digest()))(SHA512(b'abc'))")
    assert got[0] == hashlib.sha512(b"abc").digest()
    assert got[2] == hashlib.sha512(b"abcdef").digest()
