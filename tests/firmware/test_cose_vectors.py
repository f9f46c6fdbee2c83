"""COSE and CWT verification in MicroPython against published vectors.

RFC 8392 Appendix A (CWT examples A.3-A.7), the cose-wg/Examples files for the message types
and algorithms the firmware has (and the ones it must refuse), and the RFC 9203 claims set with
an `osc` confirmation. Every file gets an asserted verdict; directory counts are asserted so a
missing or skipped directory fails.
"""

import json

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from tests.support.vectors import vector_file
from cose_vector_util import Example, cose_key, jwk_bytes, rfc8392_claims, rfc8392_key

SETUP = """
from microace import cbor, cose, cwt
from microace.keystore import SoftwareKeyStore
def _cv_store(*keys):
    ks = SoftwareKeyStore()
    for k in keys:
        ks.add(cose.parse_key(k))
    return ks
def _cv_err(stage, e):
    return (stage, type(e).__name__, str(e))
def _cv_cose(msg, external, *keys):
    # -> ('ok', payload) or (stage, error class, reason); stage 'key' = the key was refused
    try:
        ks = _cv_store(*keys)
    except Exception as e:
        return _cv_err('key', e)
    try:
        return ('ok', cose.verify(msg, ks, external_aad=external).payload)
    except Exception as e:
        return _cv_err('verify', e)
def _cv_cwt(token, audience, now, issuer):
    try:
        t = cwt.verify(token, _cv_rfc_ks, audience, now=now, issuer=issuer)
        return ('ok', t.claims, t.encrypted)
    except Exception as e:
        return _cv_err('cwt', e)
def _cv_primitive(key, tbs, sig):
    # the key store's signature / MAC check alone, on a structure the test built
    ks = _cv_store(key)
    h = ks.handles()[0]
    if cose.algorithm(h.alg)[0] == cose.TAG_SIGN1:
        return ks.verify(h, h.alg, tbs, sig)
    return ks.mac_verify(h, h.alg, tbs, sig)
def _cv_osc(claims, encrypted):
    try:
        t = cwt.validate(cbor.decode(claims), SoftwareKeyStore(), 'tempSensorInLivingRoom',
                         1360200000, [None], 0, encrypted)
        return ('ok', t.cnf)
    except Exception as e:
        return _cv_err('validate', e)
"""


@pytest.fixture
def cv(mp):
    mp.exec(SETUP)
    return mp


# ---------------------------------------------------------------------------------------------
# RFC 8392 Appendix A

AUD = "coap://light.example.com"
ISS = "coap://as.example.com"
NOW, EXP, NBF = 1444000000, 1444064944, 1443944944


@pytest.fixture
def rfc8392(cv):
    """The Appendix A data, with the three A.2 keys trusted in `_cv_rfc_ks` inside MicroPython.

    A.2.2 is rebuilt with alg 4 (HMAC 256/64): its hex says alg 10, which A.4/A.7 do not use
    (vectors README §3). A.2.3 loses `d`: the board only ever holds the public key.
    """
    data = json.loads(vector_file("rfc8392/rfc8392_appendix_a.json").read_text())
    keys = [rfc8392_key(data, "A.2.1"), rfc8392_key(data, "A.2.2", alg=4),
            rfc8392_key(data, "A.2.3", drop=(-4,))]
    cv.exec("_cv_rfc_ks = _cv_store(%s)" % ", ".join("bytes.fromhex(%r)" % k.hex() for k in keys))
    data["trusted_keys"] = keys
    data["by_section"] = {e["section"]: e for e in data["examples"]}
    return data


def test_rfc8392_keys_as_printed_are_refused(cv, rfc8392):
    rows = [(rfc8392_key(rfc8392, "A.2.2"), "A.2.2 as encoded: alg 10 with a 32-byte key"),
            (rfc8392_key(rfc8392, "A.2.3"), "A.2.3 with its private d")]
    got = cv.map("_cv_cose", [(b"", b"", key) for key, _ in rows])
    assert [g[:2] for g in got] == [("key", "DecodeError")] * 2, list(zip(rows, got))
    assert "length does not fit alg 10" in got[0][2]
    assert "private key" in got[1][2]


def test_rfc8392_cose_layer(cv, rfc8392):
    """cose.verify alone: A.3/A.4/A.7 give their payload, A.5 the claims, A.6 the A.3 bytes."""
    ex = rfc8392["by_section"]
    expected = {
        "A.3": ex["A.3"]["payload_hex"],
        "A.4": ex["A.4"]["payload_hex"],
        "A.5": ex["A.5"]["expected_plaintext_hex"],
        "A.6": ex["A.3"]["hex"],  # the nested plaintext is the A.3 Sign1, byte for byte
        "A.7": ex["A.7"]["payload_hex"],
    }
    rows = [(bytes.fromhex(ex[s]["hex"]), b"") + tuple(rfc8392["trusted_keys"]) for s in expected]
    got = cv.map("_cv_cose", rows)
    for section, verdict in zip(expected, got):
        assert verdict == ("ok", bytes.fromhex(expected[section])), section


SCENARIOS = [  # (what, audience, now, issuer, expected: None = accepted, else (class, reason))
    ("valid", AUD, NOW, None, None),
    ("last second before exp", AUD, EXP - 1, None, None),
    ("now == nbf", AUD, NBF, None, None),
    ("now == exp", AUD, EXP, None, ("ClaimError", "expired")),  # RFC 8392 §3.1.4: before exp
    ("before nbf", AUD, NBF - 1, None, ("ClaimError", "nbf")),  # §3.1.5: at or after nbf
    ("no trusted time", AUD, None, None, ("ClaimError", "no trusted time")),  # fail closed
    ("other audience", "coap://dark.example.com", NOW, None, ("AudienceError", "aud")),
    ("audience prefix", "coap://light.example.co", NOW, None, ("AudienceError", "aud")),
    ("trusted issuer", AUD, NOW, ISS, None),
    ("other issuer", AUD, NOW, "coap://as.example.org", ("ClaimError", "iss")),
]


def test_rfc8392_cwt_verify(cv, rfc8392):
    """cwt.verify on A.3 (Sign1), A.4 (tag 61 + Mac0), A.5 (Encrypt0), A.6 (Encrypt0(Sign1))."""
    claims = rfc8392_claims(rfc8392["by_section"]["A.1"]["expected_claims"])
    encrypted = {"A.3": False, "A.4": False, "A.5": True, "A.6": True}
    cases = [(s, sc) for s in encrypted for sc in SCENARIOS]
    rows = [(bytes.fromhex(rfc8392["by_section"][s]["hex"]),) + sc[1:4] for s, sc in cases]
    got = cv.map("_cv_cwt", rows)
    assert len(got) == 40
    for (section, (what, _, _, _, error)), verdict in zip(cases, got):
        label = "%s, %s" % (section, what)
        if error is None:
            assert verdict == ("ok", claims, encrypted[section]), label
        else:
            assert verdict[:2] == ("cwt", error[0]), (label, verdict)
            assert error[1] in verdict[2], (label, verdict)


def encrypt0(data, plaintext, iv):
    """A COSE_Encrypt0 (tag 16) under key A.2.1 and alg 10, as RFC 8392 A.5/A.6 build it."""
    [key] = [k for k in data["keys"] if k["section"] == "A.2.1"]
    protected = bytes.fromhex("a1010a")
    aad = cbor2.dumps(["Encrypt0", protected, b""])  # RFC 9052 §5.3
    ciphertext = AESCCM(bytes.fromhex(key["key"]["k_hex"]), tag_length=8).encrypt(
        iv, plaintext, aad)
    unprotected = {4: bytes.fromhex(key["key"]["kid_hex"]), 5: iv}
    return cbor2.dumps(cbor2.CBORTag(16, [protected, unprotected, ciphertext]))


def test_rfc8392_nesting(cv, rfc8392):
    """The inner layer of a nested token is verified, not only decrypted (RFC 8392 §7.2 step 8);
    one level of nesting only. Tokens built here with python's `cryptography` under A.2.1."""
    ex = rfc8392["by_section"]
    a3, a4 = bytes.fromhex(ex["A.3"]["hex"]), bytes.fromhex(ex["A.4"]["hex"])
    iv = bytes.fromhex(ex["A.6"]["iv_hex"])
    assert encrypt0(rfc8392, a3, iv) == bytes.fromhex(ex["A.6"]["hex"])  # the builder is right
    cases = [
        ("Encrypt0(tag 61 Mac0 A.4)", encrypt0(rfc8392, a4, iv), None),
        ("Encrypt0(A.3 with a bad signature)", encrypt0(rfc8392, a3[:-1] + b"\x31", iv),
         ("VerifyError", "COSE_Sign1 does not verify")),
        ("Encrypt0(Encrypt0(A.3))", encrypt0(rfc8392, encrypt0(rfc8392, a3, iv), iv),
         ("DecodeError", "more than one level")),
    ]
    got = cv.map("_cv_cwt", [(token, AUD, NOW, None) for _, token, _ in cases])
    claims = rfc8392_claims(ex["A.1"]["expected_claims"])
    for (what, _, error), verdict in zip(cases, got):
        if error is None:
            assert verdict == ("ok", claims, True), what
        else:
            assert verdict[:2] == ("cwt", error[0]) and error[1] in verdict[2], (what, verdict)


def sign1(data, protected, signed_protected, payload):
    """A COSE_Sign1 under key A.2.3 carrying `protected`, signed over `signed_protected`."""
    [key] = [k for k in data["keys"] if k["section"] == "A.2.3"]
    private = ec.derive_private_key(int(key["key"]["d_hex"], 16), ec.SECP256R1())
    tbs = cbor2.dumps(["Signature1", signed_protected, b"", payload])  # RFC 9052 §4.4
    r, s = decode_dss_signature(private.sign(tbs, ec.ECDSA(hashes.SHA256())))
    unprotected = {4: bytes.fromhex(key["key"]["kid_hex"])}
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload,
                                          r.to_bytes(32, "big") + s.to_bytes(32, "big")]))


def test_protected_bytes_as_received(cv, rfc8392):
    """RFC 9052 §4.4: the Sig_structure holds the protected bucket as sent, even when it is not
    the preferred encoding ({1: -7} with -7 as 0x38 0x06 instead of 0x26); a verifier that
    re-encodes the header would accept the second token and refuse the first."""
    payload = bytes.fromhex(rfc8392["by_section"]["A.1"]["hex"])
    long_form, preferred = bytes.fromhex("a1013806"), bytes.fromhex("a10126")
    assert cbor2.loads(long_form) == cbor2.loads(preferred)
    got = cv.map("_cv_cwt", [(sign1(rfc8392, long_form, long_form, payload), AUD, NOW, None),
                             (sign1(rfc8392, long_form, preferred, payload), AUD, NOW, None)])
    assert got[0] == ("ok", rfc8392_claims(rfc8392["by_section"]["A.1"]["expected_claims"]),
                      False)
    assert got[1] == ("cwt", "VerifyError", "COSE_Sign1 does not verify")


def test_rfc8392_a7_float_iat(cv, rfc8392):
    """A.7: the Mac0 verifies and iat decodes as the float64 1443944944.5; as an access token
    it has no aud, so cwt.verify refuses it with AudienceError (not a generic ClaimError)."""
    token = bytes.fromhex(rfc8392["by_section"]["A.7"]["hex"])
    cv.exec("_cv_a7 = bytes.fromhex(%r)" % token.hex())
    iat = cv.eval("cbor.decode(cose.verify(_cv_a7, _cv_rfc_ks).payload)")
    assert iat == {6: 1443944944.5}
    assert cv.eval("cbor.decode(cose.verify(_cv_a7, _cv_rfc_ks).payload)[6] == 1443944944.5")
    assert cv.map("_cv_cwt", [(token, AUD, NOW, None)]) == [
        ("cwt", "AudienceError", "token has no aud")]


# ---------------------------------------------------------------------------------------------
# cose-wg/Examples

OK = "ok"
BAD_SIG = ("verify", "VerifyError", "does not verify")
ALG_SWAP = ("verify", "VerifyError", "is not the algorithm bound to the key")
BAD_TAG = ("verify", "DecodeError", "unexpected CBOR tag")
ALG_UNPROTECTED = ("verify", "DecodeError", "alg must be in the protected header")
NOT_ED25519 = ("key", "DecodeError", "OKP key must be Ed25519")


def unsupported(alg):
    return ("key", "DecodeError", "COSE_Key alg %d is unsupported" % alg)


# file -> verdict with the example's key bound to the algorithm the example intends.
COSE_WG = {
    "sign1-tests/sign-fail-01.json": BAD_TAG,  # tag 998
    "sign1-tests/sign-fail-02.json": BAD_SIG,
    "sign1-tests/sign-fail-03.json": ALG_SWAP,  # alg -999
    "sign1-tests/sign-fail-04.json": ALG_SWAP,  # alg "unknown"
    "sign1-tests/sign-fail-06.json": BAD_SIG,  # protected ctyp added
    "sign1-tests/sign-fail-07.json": BAD_SIG,  # protected ctyp removed
    "sign1-tests/sign-pass-01.json": ALG_UNPROTECTED,  # cose-wg/Examples#107, see DEVIATIONS
    "sign1-tests/sign-pass-02.json": OK,  # external AAD
    "sign1-tests/sign-pass-03.json": OK,  # untagged: structure from the key's alg
    "mac0-tests/HMac-01.json": OK,
    "mac0-tests/mac-fail-01.json": BAD_TAG,  # tag 992
    "mac0-tests/mac-fail-02.json": BAD_SIG,
    "mac0-tests/mac-fail-03.json": ALG_SWAP,
    "mac0-tests/mac-fail-04.json": ALG_SWAP,
    "mac0-tests/mac-fail-06.json": BAD_SIG,
    "mac0-tests/mac-fail-07.json": BAD_SIG,
    "mac0-tests/mac-pass-01.json": ALG_UNPROTECTED,
    "mac0-tests/mac-pass-02.json": ALG_UNPROTECTED,
    "mac0-tests/mac-pass-03.json": ALG_UNPROTECTED,
    "ecdsa-examples/ecdsa-sig-01.json": OK,
    "ecdsa-examples/ecdsa-sig-02.json": unsupported(-35),  # ES384
    "ecdsa-examples/ecdsa-sig-03.json": unsupported(-36),  # ES512
    "ecdsa-examples/ecdsa-sig-04.json": unsupported(-36),  # ES512 over a P-256 key
    "eddsa-examples/eddsa-sig-01.json": OK,
    "eddsa-examples/eddsa-sig-02.json": NOT_ED25519,  # Ed448
    "hmac-examples/HMac-enc-01.json": OK,  # HMAC 256/256
    "hmac-examples/HMac-enc-02.json": unsupported(6),  # HMAC 384/384
    "hmac-examples/HMac-enc-03.json": unsupported(7),  # HMAC 512/512
    "hmac-examples/HMac-enc-04.json": BAD_SIG,
    "hmac-examples/HMac-enc-05.json": OK,  # HMAC 256/64
    "CWT/A_3.json": OK,  # ES256, empty unprotected map, no kid: the store's only key
    "CWT/A_4.json": OK,
    "CWT/A_5.json": OK,
    "CWT/A_6.json": OK,  # outer layer only: the plaintext is the A_3 Sign1
    "CWT/A_7.json": OK,
}
COSE_WG.update(("aes-ccm-examples/aes-ccm-enc-%02d.json" % i, OK) for i in range(1, 9))
COSE_WG.update(("encrypted-tests/%s.json" % n, unsupported(1))  # A128GCM: not in this firmware
               for n in ["aes-gcm-01", "enc-pass-01", "enc-pass-02", "enc-pass-03"]
               + ["enc-fail-%02d" % i for i in (1, 2, 3, 4, 6, 7)])

# Files not marked "fail" that the firmware must nevertheless reject, and why.
DEVIATIONS = {
    # Mislabelled upstream (cose-wg/Examples#107): the protected bucket is sent as h'A0' but the
    # signature / tag / AAD was computed over h''. RFC 9052 §4.4/§6.3/§5.3 use the bytes as
    # received, so they cannot verify (test_cose_wg_107_bytes_as_received shows it). The
    # firmware refuses them even earlier: their alg is in the unprotected bucket.
    "sign1-tests/sign-pass-01.json": "cose-wg#107",
    "mac0-tests/mac-pass-01.json": "cose-wg#107",
    "encrypted-tests/enc-pass-01.json": "cose-wg#107",
    # alg in the unprotected bucket: RFC 9052 §3.1 wants alg authenticated; this firmware takes
    # it only from the protected bucket (DESIGN.md, cose.py). The MAC itself is right (see below).
    "mac0-tests/mac-pass-02.json": "alg unprotected",
    "mac0-tests/mac-pass-03.json": "alg unprotected",
    # Algorithms or curves this firmware does not implement.
    "encrypted-tests/aes-gcm-01.json": "A128GCM",
    "encrypted-tests/enc-pass-02.json": "A128GCM",
    "encrypted-tests/enc-pass-03.json": "A128GCM",
    "ecdsa-examples/ecdsa-sig-02.json": "ES384",
    "ecdsa-examples/ecdsa-sig-03.json": "ES512",
    "ecdsa-examples/ecdsa-sig-04.json": "ES512",
    "eddsa-examples/eddsa-sig-02.json": "Ed448",
    "hmac-examples/HMac-enc-02.json": "HMAC 384",
    "hmac-examples/HMac-enc-03.json": "HMAC 512",
}

COUNTS = {"sign1-tests": 9, "mac0-tests": 10, "encrypted-tests": 10, "ecdsa-examples": 4,
          "eddsa-examples": 2, "hmac-examples": 5, "aes-ccm-examples": 8, "CWT": 5}
GLOBS = {"sign1-tests": "*.json", "mac0-tests": "*.json", "encrypted-tests": "*.json",
         "ecdsa-examples": "ecdsa-sig-0*.json", "eddsa-examples": "eddsa-sig-0*.json",
         "hmac-examples": "HMac-enc-0*.json", "aes-ccm-examples": "aes-ccm-enc-0*.json",
         "CWT": "*.json"}


@pytest.fixture(scope="module")
def examples():
    root = vector_file("cose-wg")
    found = {d: sorted((root / d).glob(g)) for d, g in GLOBS.items()}
    assert {d: len(files) for d, files in found.items()} == COUNTS
    loaded = {}
    for files in found.values():
        for path in files:
            ex = Example(path)
            loaded[ex.name] = ex
    assert sorted(loaded) == sorted(COSE_WG)
    return loaded


def check(verdict, expected, ex, label):
    if expected == OK:
        assert verdict == ("ok", ex.plaintext), label
    else:
        assert verdict[:2] == expected[:2], (label, verdict)
        assert expected[2] in verdict[2], (label, verdict)


def test_cose_wg_labels_and_deviations(examples):
    """The table agrees with each file's "fail" label except for the listed DEVIATIONS."""
    assert all(COSE_WG[n] != OK for n, ex in examples.items() if ex.fail)
    rejected_passes = {n for n, ex in examples.items() if not ex.fail and COSE_WG[n] != OK}
    assert rejected_passes == set(DEVIATIONS)


def test_cose_wg_examples(cv, examples):
    names = sorted(examples)
    got = cv.map("_cv_cose", [(examples[n].message, examples[n].external, examples[n].key())
                              for n in names])
    assert len(got) == len(COSE_WG) == 53
    for name, verdict in zip(names, got):
        check(verdict, COSE_WG[name], examples[name], name)


# For the unsupported algorithms: a supported key of the same type under the message's kid
# must not make the message verify either (the message's alg must equal the key's).
SUBSTITUTE = {
    "encrypted-tests/aes-gcm-01.json": ALG_SWAP,
    "encrypted-tests/enc-fail-01.json": BAD_TAG,
    "encrypted-tests/enc-fail-02.json": ALG_SWAP,
    "encrypted-tests/enc-fail-03.json": ALG_SWAP,
    "encrypted-tests/enc-fail-04.json": ALG_SWAP,
    "encrypted-tests/enc-fail-06.json": ALG_SWAP,
    "encrypted-tests/enc-fail-07.json": ALG_SWAP,
    "encrypted-tests/enc-pass-01.json": ALG_UNPROTECTED,
    "encrypted-tests/enc-pass-02.json": ALG_SWAP,
    "encrypted-tests/enc-pass-03.json": ALG_UNPROTECTED,
    "ecdsa-examples/ecdsa-sig-02.json": ALG_SWAP,
    "ecdsa-examples/ecdsa-sig-03.json": ALG_SWAP,
    "ecdsa-examples/ecdsa-sig-04.json": ALG_SWAP,
    # EdDSA (-8) names no curve: an Ed25519 key takes the alg, and the Ed448 signature fails.
    "eddsa-examples/eddsa-sig-02.json": BAD_SIG,
    "hmac-examples/HMac-enc-02.json": ALG_SWAP,
    "hmac-examples/HMac-enc-03.json": ALG_SWAP,
}


def substitute_key(ex, examples):
    """A key the firmware supports, of the example's key type, under the example's kid."""
    jwk = ex.jwk
    if jwk["kty"] == "oct":
        secret = jwk_bytes(jwk, "k")
        alg = 10 if len(secret) == 16 else 5  # AES-CCM-16-64-128 or HMAC 256/256
        return cose_key({"kty": "oct", "kid": jwk["kid"], "k_hex": secret[:32].hex()}, alg)
    donor = examples["ecdsa-examples/ecdsa-sig-01.json" if jwk["kty"] == "EC"
                     else "eddsa-examples/eddsa-sig-01.json"]
    return cose_key(dict(donor.jwk, kid=jwk["kid"]), donor.alg)


def test_cose_wg_unsupported_alg_with_substitute_key(cv, examples):
    assert set(SUBSTITUTE) == {n for n, v in COSE_WG.items() if v[0] == "key"}
    names = sorted(SUBSTITUTE)
    got = cv.map("_cv_cose", [(examples[n].message, examples[n].external,
                               substitute_key(examples[n], examples)) for n in names])
    for name, verdict in zip(names, got):
        check(verdict, SUBSTITUTE[name], examples[name], name + " (substitute key)")


def test_cose_wg_external_aad_is_bound(cv, examples):
    """sign-pass-02 verifies only with its external AAD."""
    ex = examples["sign1-tests/sign-pass-02.json"]
    assert ex.external
    rows = [(ex.message, ex.external, ex.key()), (ex.message, b"", ex.key()),
            (ex.message, ex.external[:-1] + b"\x00", ex.key())]
    got = cv.map("_cv_cose", rows)
    check(got[0], OK, ex, "with external")
    check(got[1], BAD_SIG, ex, "without external")
    check(got[2], BAD_SIG, ex, "wrong external")


def _parts(ex):
    msg = cbor2.loads(ex.message)
    return msg.value if isinstance(msg, cbor2.CBORTag) else msg


def _structure(ex, protected):
    """The Sig_structure / MAC_structure (RFC 9052 §4.4, §6.3) over `protected` bytes."""
    context = "Signature1" if ex.name.startswith("sign1") else "MAC0"
    return cbor2.dumps([context, protected, ex.external, _parts(ex)[2]])


def test_cose_wg_107_bytes_as_received(cv, examples):
    """cose-wg/Examples#107: sign-pass-01 and mac-pass-01 carry h'A0' but were signed/MACed
    over h''. Over the bytes as received (RFC 9052 §4.4/§6.3) the key store's check fails; over
    h'' (the file's own intermediates) it succeeds. mac-pass-02/03 MAC correctly: the firmware
    refuses them only because their alg is unprotected."""
    rows, expected = [], []
    for name, intermediate in [("sign1-tests/sign-pass-01.json", "ToBeSign_hex"),
                               ("mac0-tests/mac-pass-01.json", "ToMac_hex"),
                               ("mac0-tests/mac-pass-02.json", "ToMac_hex"),
                               ("mac0-tests/mac-pass-03.json", "ToMac_hex")]:
        ex = examples[name]
        received, sig = _parts(ex)[0], _parts(ex)[3]
        computed_over = bytes.fromhex(ex.intermediates[intermediate])
        assert _structure(ex, b"") == computed_over, name
        rows.append((ex.key(), _structure(ex, received), sig))
        expected.append((name, "over h'%s' as received" % received.hex(), received == b""))
        if received != b"":
            rows.append((ex.key(), computed_over, sig))
            expected.append((name, "over h'' as in its intermediates", True))
    assert len(rows) == 6
    got = cv.map("_cv_primitive", rows)
    assert [e[:2] + (g,) for e, g in zip(expected, got)] == expected


# ---------------------------------------------------------------------------------------------
# RFC 9203: claims set with cnf.osc (Figures 5/6)


def test_rfc9203_osc_claims(cv):
    data = json.loads(vector_file("rfc9203/rfc9203_examples.json").read_text())
    vector = data["vectors"].get("cwt_claims_set_with_osc")
    if not vector or not vector.get("hex"):
        pytest.skip("rfc9203_examples.json has no CBOR claims set with cnf.osc")
    claims = bytes.fromhex(vector["hex"])
    osc = cbor2.loads(claims)[8][4]
    assert set(osc) == {0, 2}
    got = cv.map("_cv_osc", [(claims, True), (claims, False)])
    assert got[0] == ("ok", ("osc", osc))
    assert got[1][:2] == ("validate", "ClaimError") and "unencrypted" in got[1][2], got[1]
