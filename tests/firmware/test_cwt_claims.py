"""Claim rules of microace.cwt (RFC 8392 §3-4, RFC 8747 §3, RFC 9200 §5.10, RFC 9203 §3.2).

Most cases go straight to cwt.validate with a claims map (CBOR bytes made on the host, so NaN,
infinities and odd types arrive exactly as an AS could send them); the cases that depend on the
COSE layer (symmetric keys in unencrypted tokens, issuer-bound keys, Encrypted_COSE_Key) go
through cwt.verify with tokens minted by python-cwt.
"""

import struct

import cbor2
import pytest

from tests.support import tokenfactory as tf
from tests.support.tokenfactory import AUD, ISS, NOW

ES = tf.signing_key("ES256", b"claims-es256")
HMAC = tf.symmetric_key(5, b"claims-hmac")
CCM = tf.symmetric_key(10, b"claims-ccm")
RS_KEK = tf.symmetric_key(11, b"claims-kek")
BOUND = tf.symmetric_key(4, b"claims-bound")
POP = tf.signing_key("ES256", b"pop")
POP_MAP = tf.cose_key_map(POP)
SYM_POP = tf.cose_key_map(tf.symmetric_key(10, b"pop-sym"))


@pytest.fixture
def fw(mp):
    tf.mp_setup(mp, {"claims": [(ES, None), (HMAC, None), (CCM, None), (RS_KEK, None),
                                (BOUND, ISS)]})
    return mp


def validate(mp, cases):
    """cases: (name, claims map or CBOR bytes, expected, options) -> assert every verdict."""
    rows = []
    for _, c, _, opt in cases:
        raw = c if isinstance(c, bytes) else cbor2.dumps(c)
        rows.append(("claims", raw, opt.get("aud", AUD), opt.get("now", NOW),
                     opt.get("issuers", (None,)), opt.get("leeway", 0),
                     opt.get("encrypted", False)))
    results = mp.map("_tf_validate", rows)
    bad = ["%s: expected %s, got %r" % (name, want, r)
           for (name, _, want, _), r in zip(cases, results) if tf.verdict(r) != want]
    assert not bad, "\n".join(bad)
    assert len(results) == len(cases)
    return results


def case(name, claims, expected, **opt):
    return (name, claims, expected, opt)


def raw_claims(**kw):
    """CBOR bytes of tf.claims() with some values given as raw CBOR (NaN of any width...)."""
    raw = {tf.CLAIM[name]: v for name, v in kw.items()}
    items = [(k, raw.get(k, cbor2.dumps(v))) for k, v in tf.claims().items()]
    items += [(k, v) for k, v in raw.items() if k not in tf.claims()]
    return bytes([0xA0 + len(items)]) + b"".join(cbor2.dumps(k) + v for k, v in items)


def half(bits):
    return b"\xf9" + struct.pack(">H", bits)


def single(value):
    return b"\xfa" + struct.pack(">f", value)


def double(value):
    return b"\xfb" + struct.pack(">d", value)


NAN, INF = float("nan"), float("inf")


def test_valid_baseline(fw):
    results = validate(fw, [case("claims()", tf.claims(), "ok")])
    assert results[0][1] == tf.claims()


def test_wrong_types(fw):
    c = tf.claims
    validate(fw, [
        case("iss int", c(iss=1), "ClaimError"),
        case("iss bytes", c(iss=b"as"), "ClaimError"),
        case("iss true", c(iss=True), "ClaimError"),
        case("iss array", c(iss=[ISS]), "ClaimError"),
        case("sub int", c(sub=7), "ClaimError"),
        case("aud int", c(aud=1), "ClaimError"),
        case("aud bytes", c(aud=b"rs1"), "ClaimError"),
        case("aud true", c(aud=True), "ClaimError"),
        case("aud map", c(aud={"rs1": 1}), "ClaimError"),
        case("aud []", c(aud=[]), "ClaimError"),
        case("aud [1]", c(aud=[1]), "ClaimError"),
        case("aud [rs1, 1]", c(aud=["rs1", 1]), "ClaimError"),
        case("aud [[rs1]]", c(aud=[["rs1"]]), "ClaimError"),
        case("exp text", c(exp="x"), "ClaimError"),
        case("exp true", c(exp=True), "ClaimError"),
        case("exp false", c(exp=False), "ClaimError"),
        case("exp bytes", c(exp=b"\x01"), "ClaimError"),
        case("exp array", c(exp=[NOW + 10]), "ClaimError"),
        case("exp tag 1 (epoch date)", c(exp=cbor2.CBORTag(1, NOW + 10)), "ClaimError"),
        case("exp bignum", c(exp=cbor2.CBORTag(2, b"\x01")), "ClaimError"),
        case("nbf text", c(nbf="x"), "ClaimError"),
        case("nbf true", c(nbf=True), "ClaimError"),
        case("iat text", c(iat="x"), "ClaimError"),
        case("iat true", c(iat=True), "ClaimError"),
        case("cti text", c(cti="cti-1"), "ClaimError"),
        case("cti int", c(cti=1), "ClaimError"),
        case("cnonce text", c(cnonce="n"), "ClaimError"),
        case("exi text", c(exi="60"), "ClaimError"),
        case("exi negative", c(exi=-1), "ClaimError"),
        case("exi float", c(exi=60.0), "ClaimError"),
        case("exi true", c(exi=True), "ClaimError"),
        case("ace_profile text", c(ace_profile="coap_oscore"), "ClaimError"),
        case("ace_profile true", c(ace_profile=True), "ClaimError"),
        case("scope int", c(scope=5), "ScopeError"),
        case("scope map", c(scope={"read": 1}), "ScopeError"),
        case("scope true", c(scope=True), "ScopeError"),
        case("duplicate exp label",
             b"\xa2\x04" + cbor2.dumps(NOW + 9) + b"\x04" + cbor2.dumps(NOW + 10), "DecodeError"),
    ])


def test_non_finite_dates(fw):
    """NumericDate is a finite number (RFC 8392 §2); NaN and ±Inf reject in every float width."""
    cases = []
    for claim in ("exp", "nbf", "iat"):
        for label, raw in [("half NaN", half(0x7E00)), ("half +Inf", half(0x7C00)),
                           ("half -Inf", half(0xFC00)), ("single NaN", single(NAN)),
                           ("single +Inf", single(INF)), ("double NaN", double(NAN)),
                           ("double -Inf", double(-INF)), ("double +Inf", double(INF)),
                           ("NaN with payload", b"\xfb\x7f\xf0\x00\x00\x00\x00\x00\x01")]:
            cases.append(case("%s %s" % (claim, label), raw_claims(**{claim: raw}),
                              "ClaimError"))
    # finite floats of every width are fine
    cases += [case("exp half 65504.0 (past)", raw_claims(exp=half(0x7BFF)), "ClaimError"),
              case("exp single", raw_claims(exp=single(2.0 ** 31)), "ok"),
              case("exp double", raw_claims(exp=double(NOW + 0.5)), "ok"),
              case("iat half -Inf", raw_claims(iat=half(0xFC00)), "ClaimError")]
    validate(fw, cases)
    assert len(cases) == 31


def test_exp_exi_rules(fw):
    c = tf.claims
    exi = dict(exp=None, nbf=None, exi=60)
    validate(fw, [
        case("no exp, no exi", c(exp=None), "ClaimError"),
        case("no exp, no exi, no time", c(exp=None, nbf=None), "ClaimError", now=None),
        case("exi without cti", c(cti=None, **exi), "ClaimError"),
        case("exi with cti", c(**exi), "ok"),
        case("exi 0 with cti", c(exp=None, nbf=None, exi=0), "ok"),
        case("exi, no trusted time", c(**exi), "ok", now=None),
        case("exi + exp, no trusted time", c(exp=NOW + 10, nbf=None, exi=60), "ClaimError",
             now=None),
        case("exi + nbf, no trusted time", c(exp=None, exi=60), "ClaimError", now=None),
        case("exp, no trusted time (fail closed)", c(nbf=None), "ClaimError", now=None),
        case("exp + exi, time known", c(exi=60), "ok"),
    ])


def test_exp_nbf_boundaries(fw):
    """exp: now must be before it (RFC 8392 §3.1.4); nbf: now at or after it (§3.1.5)."""
    c = tf.claims
    exp = NOW + 100
    validate(fw, [
        case("now == exp - 1", c(exp=exp), "ok", now=exp - 1),
        case("now == exp", c(exp=exp), "ClaimError", now=exp),
        case("now == exp + 1", c(exp=exp), "ClaimError", now=exp + 1),
        case("leeway 5, now == exp + 4", c(exp=exp), "ok", now=exp + 4, leeway=5),
        case("leeway 5, now == exp + 5", c(exp=exp), "ClaimError", now=exp + 5, leeway=5),
        case("float exp, now just before", c(exp=exp + 0.5), "ok", now=exp),
        case("float exp, float now just before", c(exp=exp + 0.5), "ok", now=exp + 0.25),
        case("float exp, now == exp", c(exp=exp + 0.5), "ClaimError", now=exp + 0.5),
        case("float exp, now after", c(exp=exp + 0.5), "ClaimError", now=exp + 1),
        case("exp in the past", c(exp=NOW - 1), "ClaimError"),
        case("exp negative", c(exp=-1), "ClaimError"),
        case("exp 2^64 - 1", c(exp=2 ** 64 - 1), "ok"),
        case("nbf in the future", c(nbf=NOW + 10), "ClaimError"),
        case("nbf == now + 1", c(nbf=NOW + 1), "ClaimError"),
        case("nbf == now", c(nbf=NOW), "ok"),
        case("nbf in the past", c(nbf=NOW - 3600), "ok"),
        case("leeway 5, nbf == now + 5", c(nbf=NOW + 5), "ok", leeway=5),
        case("leeway 5, nbf == now + 6", c(nbf=NOW + 6), "ClaimError", leeway=5),
        case("float nbf just after now", c(nbf=NOW + 0.5), "ClaimError"),
        case("iat in the future is not checked", c(iat=NOW + 3600), "ok"),
    ])


def test_audience(fw):
    """aud matches exactly (RFC 8392 §3.1.3, RFC 9200 §5.10.1): no prefix, case or space games."""
    c = tf.claims
    validate(fw, [
        case("rs1", c(aud="rs1"), "ok"),
        case("rs10 for rs1", c(aud="rs10"), "AudienceError"),
        case("rs1 for rs10", c(aud="rs1"), "AudienceError", aud="rs10"),
        case("'rs1 ' for rs1", c(aud="rs1 "), "AudienceError"),
        case("' rs1' for rs1", c(aud=" rs1"), "AudienceError"),
        case("'rs1 rs2' for rs1", c(aud="rs1 rs2"), "AudienceError"),
        case("RS1 for rs1", c(aud="RS1"), "AudienceError"),
        case("rs1 NUL for rs1", c(aud="rs1\x00"), "AudienceError"),
        case("empty aud", c(aud=""), "AudienceError"),
        case("rs for rs1", c(aud="rs"), "AudienceError"),
        case("missing aud", c(aud=None), "AudienceError"),
        case("array with rs1 last", c(aud=["rs2", "rs1"]), "ok"),
        case("array of prefixes", c(aud=["rs10", "rs", "rs1 "]), "AudienceError"),
        case("array with 'rs1 rs2'", c(aud=["rs1 rs2"]), "AudienceError"),
    ])


def test_issuer(fw):
    c = tf.claims
    validate(fw, [
        case("required issuer matches", c(), "ok", issuers=(ISS,)),
        case("required issuer, other iss", c(iss="coaps://other.example"), "ClaimError",
             issuers=(ISS,)),
        case("required issuer, iss is a prefix", c(iss=ISS[:-1]), "ClaimError", issuers=(ISS,)),
        case("required issuer, iss + '/'", c(iss=ISS + "/"), "ClaimError", issuers=(ISS,)),
        case("required issuer, no iss", c(iss=None), "ClaimError", issuers=(ISS,)),
        case("two layers, second issuer differs", c(), "ClaimError", issuers=(ISS, "other")),
        case("no issuer required, no iss", c(iss=None), "ok"),
    ])


def test_issuer_bound_to_key(fw):
    """A key provisioned for an issuer only accepts tokens whose iss names it."""
    rows = [("claims", tf.mint(tf.claims(), BOUND), AUD, NOW, None),
            ("claims", tf.mint(tf.claims(iss="coaps://evil.example"), BOUND), AUD, NOW, None),
            ("claims", tf.mint(tf.claims(iss=None), BOUND), AUD, NOW, None),
            ("claims", tf.mint(tf.claims(), BOUND), AUD, NOW, "coaps://other.example"),
            ("claims", tf.mint(tf.claims(iss="coaps://evil.example"), HMAC), AUD, NOW, None)]
    got = [tf.verdict(r) for r in fw.map("_tf_verify", rows)]
    assert got == ["ok", "ClaimError", "ClaimError", "ClaimError", "ok"]


def test_cnf_rules(fw):
    c = tf.claims
    bad_point = {**POP_MAP, -3: (int.from_bytes(POP_MAP[-3], "big") ^ 1).to_bytes(32, "big")}
    x_too_big = {**POP_MAP, -2: b"\xff" * 32}
    validate(fw, [
        case("EC2 key", c(cnf={1: POP_MAP}), "ok"),
        case("EC2 point not on the curve", c(cnf={1: bad_point}), "DecodeError"),
        case("EC2 x >= p", c(cnf={1: x_too_big}), "DecodeError"),
        case("EC2 x 31 bytes", c(cnf={1: {**POP_MAP, -2: POP_MAP[-2][1:]}}),
             "DecodeError"),
        case("EC2 on P-384", c(cnf={1: {**POP_MAP, -1: 2}}), "DecodeError"),
        case("EC2 key with private d", c(cnf={1: {**POP_MAP, -4: b"\x01" * 32}}),
             "DecodeError"),
        case("OKP y >= p", c(cnf={1: {1: 1, -1: 6, -2: b"\xff" * 31 + b"\x7f"}}), "DecodeError"),
        case("kty EC2 with alg EdDSA", c(cnf={1: {**POP_MAP, 3: -8}}), "DecodeError"),
        case("unknown kty", c(cnf={1: {1: 7, -1: 1}}), "DecodeError"),
        case("COSE_Key not a map", c(cnf={1: [1, 2]}), "DecodeError"),
        case("two methods", c(cnf={1: POP_MAP, 3: b"kid"}), "ClaimError"),
        case("no method", c(cnf={}), "ClaimError"),
        case("cnf an array", c(cnf=[1, POP_MAP]), "ClaimError"),
        case("cnf a kid directly", c(cnf=b"kid"), "ClaimError"),
        case("unknown method 5", c(cnf={5: b"x"}), "ClaimError"),
        case("unknown method 'jwk'", c(cnf={"jwk": {}}), "ClaimError"),
        case("kid text", c(cnf={3: "kid"}), "ClaimError"),
        case("kid", c(cnf={3: b"kid"}), "ok"),
        case("symmetric COSE_Key, unencrypted", c(cnf={1: SYM_POP}), "ClaimError"),
        case("symmetric COSE_Key, encrypted", c(cnf={1: SYM_POP}), "ok", encrypted=True),
        case("symmetric key length not for its alg",
             c(cnf={1: {**SYM_POP, -1: b"\x00" * 15}}), "DecodeError", encrypted=True),
        case("osc, unencrypted", c(cnf={4: tf.osc()}), "ClaimError"),
        case("osc, encrypted", c(cnf={4: tf.osc()}), "ok", encrypted=True),
    ])


def test_cnf_unsupported_alg_is_a_decode_error(fw):
    """A PoP COSE_Key whose alg this board does not implement is a malformed/unsupported key
    (DecodeError, 4.00), not a failed signature (VerifyError)."""
    validate(fw, [case("EC2 key with alg ES384", tf.claims(cnf={1: {**POP_MAP, 3: -35}}),
                       "DecodeError")])


def test_osc_fields(fw):
    """OSCORE_Input_Material (RFC 9203 §3.2.1): id and ms required, every field typed."""
    o = tf.osc
    cases = [
        ("missing ms", o(ms=None)), ("missing id", o(id=None)), ("empty map", {}),
        ("id text", o(id="1")), ("id int", o(id=1)), ("ms text", o(ms="secret")),
        ("ms int", o(ms=5)), ("version text", o(version="1")), ("version true", o(version=True)),
        ("version bytes", o(version=b"\x01")), ("hkdf bytes", o(hkdf=b"\x05")),
        ("alg bytes", o(alg=b"\x0a")), ("alg true", o(alg=True)), ("salt text", o(salt="s")),
        ("contextId int", o(contextId=1)), ("contextId text", o(contextId="c")),
        ("unknown label 7", {**o(), 7: b"x"}), ("text label", {**o(), "ms": b"x"}),
    ]
    rows = [case("osc " + name, tf.claims(cnf={4: m}), "ClaimError", encrypted=True)
            for name, m in cases]
    rows += [case("osc not a map", tf.claims(cnf={4: [b"\x01", b"ms"]}), "ClaimError",
                  encrypted=True),
             case("osc with all fields", tf.claims(cnf={4: o(version=1, hkdf="HKDF SHA-256",
                                                             alg="AES-CCM-16-64-128",
                                                             contextId=b"")}),
                  "ok", encrypted=True)]
    validate(fw, rows)


def test_osc_values_are_checked_once_here(fw):
    """What the context is derived from is checked at the token layer, before any crypto
    (oscore.Context.from_ace takes it as checked): an empty ms, or a version, HKDF or AEAD
    this firmware does not implement, is a DecodeError (4.00); the ones it does, by number
    or by name (RFC 9203 §3.2.1), pass."""
    o = tf.osc
    unsupported = [("ms empty", o(ms=b"")), ("version 2", o(version=2)),
                   ("hkdf -11", o(hkdf=-11)), ("hkdf SHA-512", o(hkdf="HKDF SHA-512")),
                   ("alg 11", o(alg=11)), ("alg A128GCM", o(alg="A128GCM"))]
    accepted = [("version 1", o(version=1)), ("hkdf -10", o(hkdf=-10)), ("hkdf 5", o(hkdf=5)),
                ("hkdf name", o(hkdf="HKDF SHA-256")), ("hkdf other name", o(hkdf="HKDF-SHA-256")),
                ("hkdf COSE name", o(hkdf="direct+HKDF-SHA-256")), ("alg 10", o(alg=10)),
                ("alg name", o(alg="AES-CCM-16-64-128")), ("salt empty", o(salt=b""))]
    validate(fw, [case("osc " + n, tf.claims(cnf={4: m}), "DecodeError", encrypted=True)
                  for n, m in unsupported]
             + [case("osc " + n, tf.claims(cnf={4: m}), "ok", encrypted=True)
                for n, m in accepted])


def test_symmetric_cnf_needs_an_encrypt0_layer(fw):
    """RFC 8747 §3.3 / RFC 9203 §3.2: a symmetric PoP key travels only encrypted."""
    sym = tf.claims(cnf={1: SYM_POP})
    osc = tf.claims(cnf={4: tf.osc()})
    tokens = [
        ("symmetric COSE_Key in Sign1", tf.mint(sym, ES), "ClaimError"),
        ("symmetric COSE_Key in Mac0", tf.mint(sym, HMAC), "ClaimError"),
        ("symmetric COSE_Key in Sign1, CWT tag", tf.mint(sym, ES, tagged=True), "ClaimError"),
        ("osc in Sign1", tf.protect(osc, ES), "ClaimError"),
        ("osc in Mac0", tf.protect(osc, HMAC), "ClaimError"),
        ("osc in untagged Mac0", tf.protect(osc, HMAC, cose_tag=False), "ClaimError"),
        ("symmetric COSE_Key in Encrypt0", tf.mint(sym, CCM), "ok"),
        ("osc in Encrypt0(Sign1)", tf.protect(tf.protect(osc, ES), CCM), "ok"),
        ("osc in Encrypt0(Mac0)", tf.protect(tf.protect(osc, HMAC), CCM), "ok"),
    ]
    got = fw.map("_tf_verify", [("claims", t, AUD, NOW) for _, t, _ in tokens])
    bad = ["%s: expected %s, got %r" % (n, w, g) for (n, _, w), g in zip(tokens, got)
           if tf.verdict(g) != w]
    assert not bad, "\n".join(bad)


def test_encrypted_cose_key(fw):
    """cnf Encrypted_COSE_Key (RFC 8747 §3.3): decrypted with the RS's key, else rejected."""
    pop = tf.symmetric_key(10, b"pop-sym")
    good = tf.encrypted_cose_key(pop, RS_KEK)
    stranger = tf.encrypted_cose_key(pop, tf.symmetric_key(11, b"claims-kek", seed=b"other"))
    tampered = list(good)
    tampered[2] = bytes([good[2][0] ^ 1]) + good[2][1:]
    as_mac0 = tf.parts(tf.protect(cbor2.dumps(tf.cose_key_map(pop)), HMAC))[1]
    not_a_key = tf.parts(tf.protect(cbor2.dumps([1, 2]), RS_KEK))[1]
    with_private = tf.parts(tf.protect(cbor2.dumps({**POP_MAP, -4: b"\x01" * 32}),
                                       RS_KEK))[1]
    validate(fw, [
        case("Encrypted_COSE_Key", tf.claims(cnf={2: good}), "ok"),
        case("tagged Encrypted_COSE_Key", tf.claims(cnf={2: cbor2.CBORTag(16, good)}), "ok"),
        case("encrypted for another RS key (same kid)", tf.claims(cnf={2: stranger}),
             "VerifyError"),
        case("ciphertext flipped", tf.claims(cnf={2: tampered}), "VerifyError"),
        case("a Mac0 instead of an Encrypt0", tf.claims(cnf={2: as_mac0}), "ClaimError"),
        case("plaintext not a COSE_Key", tf.claims(cnf={2: not_a_key}), "DecodeError"),
        case("plaintext a private key", tf.claims(cnf={2: with_private}), "DecodeError"),
        case("not a COSE message", tf.claims(cnf={2: {1: 2}}), "DecodeError"),
    ])


def test_encrypted_cose_key_as_bstr_rejected(fw):
    wrapped = cbor2.dumps(tf.encrypted_cose_key(tf.symmetric_key(10, b"pop-sym"), RS_KEK))
    validate(fw, [case("Encrypted_COSE_Key as a bstr", tf.claims(cnf={2: wrapped}),
                       "DecodeError")])


def test_null_claims_rejected(fw):
    c = tf.claims
    exi = dict(exp=None, nbf=None, exi=60)
    validate(fw, [
        case("cti null satisfies exi's need for cti", c(cti=None, **exi) | {7: None},
             "ClaimError"),
        case("exp null in an exi token", c(**exi) | {4: None}, "ClaimError"),
        case("nbf null", c() | {5: None}, "ClaimError"),
        case("cnf null", c() | {8: None}, "ClaimError"),
        case("iss null", c() | {1: None}, "ClaimError"),
        case("scope null", c() | {9: None}, "ClaimError"),
    ])
