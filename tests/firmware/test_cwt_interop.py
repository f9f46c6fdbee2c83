"""python-cwt mints, the firmware verifies: every supported algorithm and claim shape, and every
tampered variant rejected with its error class (RFC 8392, RFC 9052/9053, RFC 8747).

Verdicts come back from MicroPython as ("ok", claims, cnf, encrypted) or "ErrorClass: reason".
"""

import cbor2
import pytest

from tests.support import tokenfactory as tf
from tests.support.tokenfactory import AUD, NOW

ES = tf.signing_key("ES256", b"as-es256")
ED = tf.signing_key("EdDSA", b"as-ed25519")
SYM = {alg: tf.symmetric_key(alg, b"as-sym-%d" % alg) for alg in (4, 5) + tf.CCM_ALGS}
AS_KEYS = {"ES256": ES, "EdDSA": ED, **{"alg%d" % alg: k for alg, k in SYM.items()}}
RS_KEK = tf.symmetric_key(10, b"rs-kek")  # the RS's own key for Encrypted_COSE_Key
# Keys of an attacker: the same kids and algorithms, other key material.
EVIL = {"ES256": tf.signing_key("ES256", ES.kid, seed=b"evil"),
        "EdDSA": tf.signing_key("EdDSA", ED.kid, seed=b"evil"),
        **{"alg%d" % alg: tf.symmetric_key(alg, k.kid, seed=b"evil") for alg, k in SYM.items()}}
ALL = [(k, None) for k in AS_KEYS.values()] + [(RS_KEK, None)]


@pytest.fixture
def fw(mp):
    stores = {"all": ALL}
    stores.update({"one-" + name: [(k, None)] for name, k in AS_KEYS.items()})
    stores.update({"evil-" + name: [(k, None)] for name, k in EVIL.items()})
    tf.mp_setup(mp, stores)
    return mp


def verify(mp, rows):
    """rows: (store, token) or (store, token, aud, now) -> results, in MicroPython."""
    full = [(r + (AUD, NOW))[:4] for r in rows]
    return mp.map("_tf_verify", full)


def check(results, cases, expected):
    """Compare verdict class names with `expected`, naming every case that differs."""
    got = [tf.verdict(r) for r in results]
    bad = ["%s: expected %s, got %r" % (name, want, r)
           for name, want, r, g in zip(cases, expected, results, got) if g != want]
    assert not bad, "\n".join(bad)
    assert len(got) == len(expected)


# -- accepted: every algorithm, tagged / untagged / CWT tag ----------------------------------

def test_every_alg_round_trip(fw):
    names, rows = [], []
    c = tf.claims()
    for name, key in AS_KEYS.items():
        for shape, token in [("cwt.encode", tf.mint(c, key)),
                             ("cwt.encode tagged 61", tf.mint(c, key, tagged=True)),
                             ("untagged COSE", tf.protect(c, key, cose_tag=False))]:
            for store in ("all", "one-" + name):
                names.append("%s %s in %s" % (name, shape, store))
                rows.append((store, token))
    results = verify(fw, rows)
    check(results, names, ["ok"] * len(rows))
    for name, r in zip(names, results):
        assert r[1] == c, name
        assert r[3] == (AS_KEYS[name.split()[0]].kty == 4 and
                        AS_KEYS[name.split()[0]].alg not in (4, 5)), name
    assert len(rows) == 3 * 2 * 12


def test_claim_shapes(fw):
    ccm = SYM[10]
    shapes = [
        ("aud string", tf.claims(aud="rs1")),
        ("aud array", tf.claims(aud=["rs0", "rs1", "rs2"])),
        ("aud array of one", tf.claims(aud=["rs1"])),
        ("float exp", tf.claims(exp=NOW + 0.5)),
        ("float iat and nbf", tf.claims(iat=NOW - 0.25, nbf=NOW - 0.75)),
        ("exi + cti, no exp", tf.claims(exp=None, nbf=None, iat=None, exi=3600, cti=b"\x00\x07")),
        ("no scope, no iat", tf.claims(scope=None, iat=None)),
        ("AIF scope bstr", tf.claims(scope=cbor2.dumps([["/temp", 1]]))),
        ("ace_profile and sub", tf.claims(ace_profile=2, sub="client-1", cnonce=b"\x01\x02")),
        ("private claim", {**tf.claims(), -70000: "x"}),
    ]
    names, rows, want = [], [], []
    for label, c in shapes:
        for key in (ES, ED, SYM[4], ccm):
            names.append("%s, alg %d" % (label, key.alg))
            rows.append(("all", tf.protect(c, key)))  # COSE layer: keeps exactly these claims
            want.append(c)
    results = verify(fw, rows)
    check(results, names, ["ok"] * len(rows))
    for name, r, c in zip(names, results, want):
        assert r[1] == c, name


def test_cnf_forms(fw):
    pop_ec = tf.signing_key("ES256", b"pop-ec")
    pop_ed = tf.signing_key("EdDSA", b"pop-ed")
    pop_sym = tf.symmetric_key(10, b"pop-sym")
    ec_map, ed_map, sym_map = (tf.cose_key_map(k) for k in (pop_ec, pop_ed, pop_sym))
    ec_point = (int.from_bytes(ec_map[-2], "big"), int.from_bytes(ec_map[-3], "big"))
    inner_osc = tf.protect(tf.claims(cnf={4: tf.osc()}), SYM[5])  # Mac0, carried encrypted
    cases = [
        ("EC2 COSE_Key in Sign1", tf.mint(tf.claims(cnf={1: ec_map}), ES),
         ("key", 2, b"pop-ec", -7, ec_point, None), False),
        ("OKP COSE_Key in Mac0", tf.mint(tf.claims(cnf={1: ed_map}), SYM[5]),
         ("key", 1, b"pop-ed", -8, ed_map[-2], None), False),
        ("symmetric COSE_Key in Encrypt0", tf.mint(tf.claims(cnf={1: sym_map}), SYM[11]),
         ("key", 4, b"pop-sym", 10, None, sym_map[-1]), True),
        ("symmetric COSE_Key in Encrypt0(Sign1)",
         tf.mint(tf.mint(tf.claims(cnf={1: sym_map}), ES), SYM[31]),
         ("key", 4, b"pop-sym", 10, None, sym_map[-1]), True),
        ("Encrypted_COSE_Key in Sign1",
         tf.mint(tf.claims(cnf={2: tf.encrypted_cose_key(pop_sym, RS_KEK)}), ES),
         ("key", 4, b"pop-sym", 10, None, sym_map[-1]), False),
        ("Encrypted_COSE_Key (EC2) in Mac0",
         tf.mint(tf.claims(cnf={2: tf.encrypted_cose_key(pop_ec, RS_KEK)}), SYM[4]),
         ("key", 2, b"pop-ec", -7, ec_point, None), False),
        ("kid in Sign1", tf.mint(tf.claims(cnf={3: b"pop-kid"}), ED), ("kid", b"pop-kid"), False),
        ("osc in Encrypt0", tf.protect(tf.claims(cnf={4: tf.osc()}), SYM[12]),
         ("osc", tf.osc()), True),
        ("osc, all fields, in Encrypt0",
         tf.protect(tf.claims(cnf={4: tf.osc(version=1, hkdf=5, alg=10, contextId=b"\x37")}),
                    SYM[33]),
         ("osc", tf.osc(version=1, hkdf=5, alg=10, contextId=b"\x37")), True),
        ("osc in Encrypt0(Mac0)", tf.protect(inner_osc, SYM[13]), ("osc", tf.osc()), True),
    ]
    results = verify(fw, [("all", t) for _, t, _, _ in cases])
    check(results, [c[0] for c in cases], ["ok"] * len(cases))
    for (name, _, cnf, encrypted), r in zip(cases, results):
        assert r[2] == cnf, name
        assert r[3] is encrypted, name


def test_nested(fw):
    c = tf.claims()
    cases = []
    for inner_name, inner_key in (("Sign1 ES256", ES), ("Mac0 HMAC 256/64", SYM[4])):
        for inner_tag in (False, True):
            for outer_tag in (False, True):
                inner = tf.mint(c, inner_key, tagged=inner_tag)
                for alg in (10, 33):
                    # cwt.encode nests a tagged COSE message; a CWT-tagged one goes through
                    # python-cwt's COSE layer (cwt.encode wants a COSE tag on nested claims)
                    outer = (tf.protect(inner, SYM[alg], cwt_tag=outer_tag) if inner_tag
                             else tf.mint(inner, SYM[alg], tagged=outer_tag))
                    cases.append(("Encrypt0 %d%s(%s%s)" % (alg, " 61" * outer_tag, inner_name,
                                                           " 61" * inner_tag), outer))
    # an untagged outer layer: the structure comes from the key's alg
    cases.append(("untagged Encrypt0(Sign1)", tf.protect(tf.mint(c, ES), SYM[10],
                                                         cose_tag=False)))
    results = verify(fw, [("all", t) for _, t in cases])
    check(results, [n for n, _ in cases], ["ok"] * len(cases))
    for (name, _), r in zip(cases, results):
        assert r[1] == c and r[3] is True, name
    assert len(cases) == 17


# -- rejected: tampered and confused tokens --------------------------------------------------

def _sig_variants():
    """ECDSA signature encodings and ranges that must not verify (RFC 9053 §2.1, SEC 1 4.1.4)."""
    token = tf.mint(tf.claims(), ES)
    sig = tf.parts(token)[1][3]
    r, s = sig[:32], sig[32:]
    n = tf.P256_N.to_bytes(32, "big")
    big = (tf.P256_N + 1).to_bytes(32, "big")
    ones = b"\xff" * 32
    zero = bytes(32)
    out = [("DER signature", tf.der_signature(sig)),
           ("r = 0", zero + s), ("s = 0", r + zero),
           ("r = n", n + s), ("s = n", r + n),
           ("r = n + 1", big + s), ("s = n + 1", r + big),
           ("r = 2^256 - 1", ones + s), ("s = 2^256 - 1", r + ones),
           ("r = s = 0", zero + zero),
           ("truncated to 63 bytes", sig[:63]), ("truncated to 32 bytes", sig[:32]),
           ("empty signature", b""), ("signature + 1 byte", sig + b"\x00"),
           ("r and s swapped", s + r)]
    return [(name, tf.replace(token, 3, value)) for name, value in out]


def test_es256_signature_encodings_rejected(fw):
    cases = _sig_variants()
    results = verify(fw, [("all", t) for _, t in cases])
    check(results, [n for n, _ in cases], ["VerifyError"] * len(cases))


def test_es256_high_s_accepted(fw):
    """(r, n - s) is the other valid ECDSA signature of the same message: accepted, as DESIGN.md
    says (ECDSA is malleable; the board does not use signatures as token identifiers)."""
    token = tf.mint(tf.claims(), ES)
    sig = tf.parts(token)[1][3]
    s = int.from_bytes(sig[32:], "big")
    high = tf.replace(token, 3, sig[:32] + (tf.P256_N - s).to_bytes(32, "big"))
    assert tf.verdict(verify(fw, [("all", high)])[0]) == "ok"


def _rejections():
    """(name, store, token, expected error class)."""
    c = tf.claims()
    es_kid, ed_kid = ES.kid, ED.kid
    h4, h5, a10 = SYM[4], SYM[5], SYM[10]
    es_token = tf.mint(c, ES)
    ed_token = tf.mint(c, ED)
    h5_token = tf.mint(c, h5)
    a10_token = tf.mint(c, a10)
    a30_token = tf.mint(c, SYM[30])
    payload = tf.parts(es_token)[1][2]
    iv = {4: a10.kid, 5: bytes(13)}
    cases = []
    for name, key in AS_KEYS.items():
        cases.append(("wrong key with the same kid (%s)" % name, "evil-" + name,
                      tf.mint(c, key), "VerifyError"))
    cases += [
        # the protected alg must equal the key's alg (RFC 9052 §3.1, RFC 9053 §2)
        ("ES256 key, header says EdDSA", "all",
         tf.craft(18, ES, c, {1: -8}, {4: es_kid}), "VerifyError"),
        ("EdDSA key, header says ES256", "all",
         tf.craft(18, ED, c, {1: -7}, {4: ed_kid}), "VerifyError"),
        ("HMAC 256/64 key, header says 256/256", "all",
         tf.craft(17, h4, c, {1: 5}, {4: h4.kid}), "VerifyError"),
        ("HMAC 256/256 key, header says 256/64", "all",
         tf.craft(17, h5, c, {1: 4}, {4: h5.kid}), "VerifyError"),
        ("HMAC 256/256 tag cut to 64 bits", "all",
         tf.replace(h5_token, 3, tf.parts(h5_token)[1][3][:8]), "VerifyError"),
        ("AES-CCM 10 key, header says 30", "all",
         tf.craft(16, a10, c, {1: 30}, iv), "VerifyError"),
        ("unsupported alg ES384 (-35)", "all",
         tf.craft(18, ES, c, {1: -35}, {4: es_kid}), "VerifyError"),
        ("alg only in the unprotected header", "all",
         tf.craft(18, ES, c, b"", {1: -7, 4: es_kid}), "DecodeError"),
        ("alg only unprotected, empty protected map", "all",
         tf.craft(18, ES, c, {}, {1: -7, 4: es_kid}), "DecodeError"),
        ("alg in both buckets", "all",
         tf.craft(18, ES, c, {1: -7}, {1: -7, 4: es_kid}), "DecodeError"),
        ("kid in both buckets", "all",
         tf.craft(18, ES, c, {1: -7, 4: es_kid}, {4: es_kid}), "DecodeError"),
        ("unknown crit label", "all",
         tf.craft(18, ES, c, {1: -7, 2: [99], 99: 1}, {4: es_kid}), "DecodeError"),
        ("crit names a label not in the protected header", "all",
         tf.craft(18, ES, c, {1: -7, 2: [4]}, {4: es_kid}), "DecodeError"),
        ("crit empty array", "all",
         tf.craft(18, ES, c, {1: -7, 2: []}, {4: es_kid}), "DecodeError"),
        ("crit in the unprotected header", "all",
         tf.craft(18, ES, c, {1: -7}, {2: [1], 4: es_kid}), "DecodeError"),
        ("kid not a byte string", "all",
         tf.craft(18, ES, c, {1: -7}, {4: "as-es256"}), "DecodeError"),
        ("protected header not a map", "all",
         tf.craft(18, ES, c, cbor2.dumps([1, -7]), {4: es_kid}), "DecodeError"),
        ("protected header as a map, not a bstr", "all",
         tf.replace(es_token, 0, {1: -7}), "DecodeError"),
        ("unknown kid", "all", tf.craft(18, ES, c, {1: -7}, {4: b"nobody"}), "VerifyError"),
        ("no kid, several keys in the store", "all",
         tf.craft(18, ES, c, {1: -7}, {}), "VerifyError"),
        # a kid naming a key of another type / algorithm
        ("ES256 token, kid of the EdDSA key", "all",
         tf.craft(18, ES, c, {1: -7}, {4: ed_kid}), "VerifyError"),
        ("EdDSA token, kid of an HMAC key", "all",
         tf.craft(18, ED, c, {1: -8}, {4: h4.kid}), "VerifyError"),
        ("HMAC token, kid of an AES-CCM key", "all",
         tf.craft(17, h5, c, {1: 5}, {4: a10.kid}), "VerifyError"),
        ("Encrypt0, kid of the ES256 key", "all",
         tf.craft(16, a10, c, {1: 10}, {4: es_kid, 5: bytes(13)}), "VerifyError"),
        # alg confusion: the signed token re-made as a Mac0 keyed with the public key bytes
        ("Mac0 alg 5 keyed with the ES256 public x||y, kid of ES256", "all",
         tf.craft(17, _hmac_over(ES), payload, {1: 5}, {4: es_kid}), "VerifyError"),
        ("Mac0 alg 5 keyed with the Ed25519 public key, kid of EdDSA", "all",
         tf.craft(17, _hmac_over(ED), payload, {1: 5}, {4: ed_kid}), "VerifyError"),
        ("untagged Mac0 keyed with the Ed25519 public key", "all",
         tf.untag(tf.craft(17, _hmac_over(ED), payload, {1: 5}, {4: ed_kid})),
         "VerifyError"),
        ("Mac0 tag, header keeps alg ES256, HMAC with the public key", "all",
         tf.craft(17, _hmac_over(ES), payload, {1: -7}, {4: es_kid}), "VerifyError"),
        # wrong COSE tags
        ("Sign1 under tag 17 (Mac0)", "all", tf.retag(es_token, 17), "VerifyError"),
        ("Sign1 under tag 16 (Encrypt0)", "all", tf.retag(es_token, 16), "VerifyError"),
        ("Sign1 under tag 98 (COSE_Sign)", "all", tf.retag(es_token, 98), "DecodeError"),
        ("Mac0 under tag 18 (Sign1)", "all", tf.retag(h5_token, 18), "VerifyError"),
        ("Encrypt0 under tag 17 (Mac0)", "all", tf.retag(a10_token, 17), "VerifyError"),
        ("Encrypt0 under tag 96 (COSE_Encrypt)", "all", tf.retag(a10_token, 96), "DecodeError"),
        ("Sign1 under tag 61 then 17", "all", tf.retag(es_token, 61, 17), "VerifyError"),
        ("tag 61 around an untagged array", "all", tf.retag(es_token, 61), "DecodeError"),
        ("tag 61 twice", "all", tf.retag(es_token, 61, 61, 18), "DecodeError"),
        ("COSE tag inside tag 61 inside 18", "all", tf.retag(es_token, 18, 61, 18),
         "DecodeError"),
        ("Sign1 with 3 elements", "all",
         tf.rebuild([18], tf.parts(es_token)[1][:3]), "DecodeError"),
        ("Encrypt0 with 4 elements", "all",
         tf.rebuild([16], tf.parts(a10_token)[1] + [b""]), "DecodeError"),
        ("Sign1 with 5 elements", "all",
         tf.rebuild([18], tf.parts(es_token)[1] + [b""]), "DecodeError"),
        ("detached payload (nil)", "all", tf.replace(es_token, 2, None), "DecodeError"),
        ("signature as text", "all", tf.replace(es_token, 3, "sig"), "DecodeError"),
        # truncations
        ("EdDSA signature truncated to 63 bytes", "all",
         tf.replace(ed_token, 3, tf.parts(ed_token)[1][3][:63]), "VerifyError"),
        ("HMAC 256/256 tag truncated to 31 bytes", "all",
         tf.replace(h5_token, 3, tf.parts(h5_token)[1][3][:31]), "VerifyError"),
        ("HMAC 256/64 tag truncated to 7 bytes", "all",
         tf.replace(tf.mint(c, h4), 3, tf.parts(tf.mint(c, h4))[1][3][:7]), "VerifyError"),
        ("HMAC tag empty", "all", tf.replace(h5_token, 3, b""), "VerifyError"),
        ("AES-CCM ciphertext one byte short", "all",
         tf.replace(a10_token, 2, tf.parts(a10_token)[1][2][:-1]), "VerifyError"),
        ("AES-CCM ciphertext shorter than the tag", "all",
         tf.replace(a10_token, 2, tf.parts(a10_token)[1][2][:7]), "DecodeError"),
        ("AES-CCM-16-128 ciphertext of 15 bytes", "all",
         tf.replace(a30_token, 2, tf.parts(a30_token)[1][2][:15]), "DecodeError"),
        ("AES-CCM ciphertext empty", "all", tf.replace(a10_token, 2, b""), "DecodeError"),
        ("AES-CCM IV of the wrong length", "all",
         tf.replace(a10_token, 1, {4: a10.kid, 5: bytes(12)}), "DecodeError"),
        ("AES-CCM without IV", "all",
         tf.replace(a10_token, 1, {4: a10.kid}), "DecodeError"),
        ("AES-CCM with a Partial IV", "all",
         tf.replace(a10_token, 1, {**tf.parts(a10_token)[1][1], 6: b"\x01"}),
         "DecodeError"),
        ("AES-CCM IV changed", "all",
         tf.replace(a10_token, 1, {4: a10.kid, 5: bytes(13)}), "VerifyError"),
        # nesting deeper than one level (RFC 8392 A.6 allows one)
        ("Encrypt0(Encrypt0(Sign1))", "all",
         tf.mint(tf.mint(es_token, SYM[11]), a10), "DecodeError"),
        ("Encrypt0(Sign1(Mac0))", "all",
         tf.mint(tf.mint(tf.mint(c, h4), ES), a10), "DecodeError"),
        ("Sign1(Sign1(Sign1))", "all",
         tf.mint(tf.mint(es_token, ES), ES), "DecodeError"),
        ("Encrypt0(61(Encrypt0(61(Sign1))))", "all",
         tf.protect(tf.protect(tf.mint(c, ES, tagged=True), SYM[11], cwt_tag=True), a10),
         "DecodeError"),
        ("Encrypt0 around a tampered Sign1", "all",
         tf.mint(tf.replace(es_token, 2, payload[:-1] + b"\x00"), a10), "VerifyError"),
        ("Encrypt0 around an untagged Sign1 (payload is not a claims map)", "all",
         tf.protect(tf.untag(es_token), a10), "DecodeError"),
        ("claims not a map", "all", tf.protect(cbor2.dumps([1, 2]), ES), "DecodeError"),
        ("claims not CBOR", "all", tf.protect(b"\xa1\x01", ES), "DecodeError"),
        ("token not CBOR", "all", b"\xd2\x84\x43", "DecodeError"),
        ("token a map", "all", cbor2.dumps({1: 2}), "DecodeError"),
    ]
    return cases


def _hmac_over(key):
    """An HMAC 256/256 key whose secret is the public key bytes of `key` (alg confusion)."""
    m = tf.cose_key_map(key)
    public = m[-2] + m.get(-3, b"")
    return tf.symmetric_key(5, b"confused", secret=public)


def test_rejections(fw):
    cases = _rejections()
    results = verify(fw, [(store, token) for _, store, token, _ in cases])
    check(results, [c[0] for c in cases], [c[3] for c in cases])


# -- bit flips ---------------------------------------------------------------------------------

def _fixed_iv(key):
    """python-cwt's COSE layer with a fixed IV: the expected verdicts of flips in the unprotected
    bucket are computed from its bytes, so they stay the same from run to run."""
    nonce = bytes(range(7 if key.alg in (12, 13, 32, 33) else 13))
    return lambda payload: tf.protect(payload, key, unprotected={4: key.kid, 5: nonce})


FLIP_TOKENS = {
    "ES256": lambda: tf.mint(tf.claims(), ES),
    "EdDSA": lambda: tf.mint(tf.claims(), ED),
    "alg4": lambda: tf.mint(tf.claims(), SYM[4]),
    "alg5": lambda: tf.mint(tf.claims(), SYM[5]),
    "alg10": lambda: _fixed_iv(SYM[10])(tf.claims()),
    "alg33": lambda: _fixed_iv(SYM[33])(tf.claims()),
    "alg12 around ES256": lambda: _fixed_iv(SYM[12])(tf.mint(tf.claims(), ES)),
}


def _positions(span):
    a, b = span
    return sorted({a, a + 1, (a + b) // 2, b - 1} & set(range(a, b)))


def _expect_protected(token):
    """The firmware's class for a token whose protected-header bytes were changed: malformed or
    incomplete headers are DecodeError (RFC 9052 §3), a well-formed one fails as VerifyError
    (its alg is no longer the key's, or the signature/tag/AEAD no longer matches)."""
    prot, unprotected = tf.parts(token)[1][:2]
    try:
        p = tf.strict_loads(prot)
    except Exception:
        return "DecodeError"
    if (not isinstance(p, dict) or any(not isinstance(k, (int, str, bytes)) for k in p)
            or any(k in p for k in unprotected) or 1 not in p or 2 in p
            or not isinstance(p.get(4, b""), bytes)):
        return "DecodeError"
    return "VerifyError"


def test_bit_flips_in_verified_parts(fw):
    """One bit flipped at several positions of the protected header, the payload or ciphertext
    and the signature/tag: never accepted, each with the class its damage calls for."""
    names, rows, want = [], [], []
    for name, make in FLIP_TOKENS.items():
        token = make()
        spans = tf.spans(token)
        for part in ("protected", "payload", "signature", "ciphertext"):
            if part not in spans:
                continue
            for at in _positions(spans[part]):
                for bit in (0, 3, 7):
                    bad = tf.flip(token, at, bit)
                    names.append("%s: %s byte %d bit %d" % (name, part, at, bit))
                    rows.append(("all", bad))
                    want.append(_expect_protected(bad) if part == "protected"
                                else "VerifyError")
    results = verify(fw, rows)
    check(results, names, want)
    assert len(rows) >= 7 * 3 * 9


def _expect_unprotected(original, token, store_kids, key_kid, baseline):
    """What a flip inside the unprotected map may do. The bucket is not integrity-protected
    (RFC 9052 §3): a flip that changes nothing the verification uses still verifies, e.g. kid
    label 4 -> 0/5/6/20 leaves a Sign1/Mac0 without kid, which a store of one key resolves to
    that key. So the token may verify only if the kid it names now still picks the same key (and,
    for Encrypt0, the IV is intact); then the verdict is the unflipped token's (`baseline`). A
    malformed bucket is DecodeError; a kid naming no key or another key, or a changed IV, is
    VerifyError."""
    start = tf.spans(original)["unprotected"][0]
    try:
        tags, array = tf.parts(token)
        tf.strict_loads(token)
    except Exception:
        return "DecodeError"
    _, orig = tf.parts(original)
    u = array[1]
    if len(array) != len(orig) or not isinstance(u, dict) or array[0] != orig[0]:
        return "DecodeError"
    head = token[start]
    if head >> 5 == 5 and head & 31 < 24 and len(u) != head & 31:
        return "DecodeError"  # duplicate label: cbor2 keeps the last one, the firmware rejects
    p = tf.strict_loads(array[0])
    if (any(not isinstance(k, (int, str, bytes)) for k in u) or any(k in p for k in u)
            or 1 in u or 2 in u or not isinstance(u.get(4, b""), bytes)):
        return "DecodeError"
    kid = u.get(4)
    named = store_kids[0] if kid is None and len(store_kids) == 1 else kid
    if named != key_kid:
        return "VerifyError"
    if len(array) == 3:  # Encrypt0: the IV (nonce) is an input to AES-CCM
        iv = u.get(5)
        if 6 in u or not isinstance(iv, bytes) or len(iv) != len(orig[1][5]):
            return "DecodeError"
        if iv != orig[1][5]:
            return "VerifyError"
    if array[2:] != orig[2:]:
        return "VerifyError"
    return baseline


def test_bit_flips_in_unprotected_header(fw):
    all_kids = [k.kid for k, _ in ALL]
    tokens = {name: make() for name, make in FLIP_TOKENS.items()}
    stores = {name: (("all", all_kids), ("one-" + name.split()[0],
                                         [AS_KEYS[name.split()[0]].kid]))
              for name in tokens}
    # unflipped: all verify, except the nested token in a store without its inner key
    base_rows = [(store, tokens[name]) for name in tokens for store, _ in stores[name]]
    baseline = [tf.verdict(r) for r in verify(fw, base_rows)]
    assert baseline == ["ok"] * 12 + ["ok", "VerifyError"], baseline
    baseline = dict(zip(base_rows, baseline))

    names, rows, want = [], [], []
    for name, token in tokens.items():
        key_kid = AS_KEYS[name.split()[0]].kid
        start, end = tf.spans(token)["unprotected"]
        for at in range(start, end) if end - start <= 16 else _positions((start, end)) + [
                start + 2, start + 3]:
            for bit in (0, 2, 4, 7):
                bad = tf.flip(token, at, bit)
                for store, kids in stores[name]:
                    names.append("%s: unprotected byte %d bit %d, store %s"
                                 % (name, at, bit, store))
                    rows.append((store, bad))
                    want.append(_expect_unprotected(token, bad, kids, key_kid,
                                                    baseline[store, token]))
    results = verify(fw, rows)
    check(results, names, want)
    for name, r, w in zip(names, results, want):
        if w == "ok":
            assert r[1] == tf.claims(), name
    # the documented case happens: a relabelled kid verifies with the store's only key...
    assert any(w == "ok" and "store one-" in n for n, w in zip(names, want))
    # ...and never with a store of several keys
    assert not any(w == "ok" and "store all" in n for n, w in zip(names, want))


def test_bit_flips_in_kid(fw):
    """Every flip inside the kid names an unknown key (or another key of another alg)."""
    names, rows = [], []
    for name, make in FLIP_TOKENS.items():
        token = make()
        for at in range(*tf.spans(token)["kid"]):
            for bit in range(8):
                for store in ("all", "one-" + name.split()[0]):
                    names.append("%s: kid byte %d bit %d, store %s" % (name, at, bit, store))
                    rows.append((store, tf.flip(token, at, bit)))
    results = verify(fw, rows)
    check(results, names, ["VerifyError"] * len(rows))
