"""JWT access tokens on the board (microace.jwt through access_token.verify): the RFC 7515 and
RFC 8037 examples, tokens from two independent libraries (PyJWT, joserfc) in several shapes,
tamper variants, and the strict parsing that runs before any signature work.

The RFC examples carry no `aud` (A.1, A.3) or no JSON at all (RFC 8037 A.4): for those the
signature layer is checked on its own (the firmware's split + the key store's verify), and the
full verification is shown to get past the signature and stop at the claim or payload check
(AudienceError / DecodeError), while the same token with one signature bit changed stops at
the signature (VerifyError).
"""

import json

import cbor2
import pytest

from tests.support import jwtfactory as jf
from tests.support import tokenfactory as tf
from tests.support.tokenfactory import AUD, ISS, NOW

ES = tf.signing_key("ES256", b"jwt-es")
ED = tf.signing_key("EdDSA", b"jwt-ed")
HS = tf.symmetric_key(5, b"jwt-hs")
BOUND = tf.signing_key("ES256", b"jwt-bound")
KEYS = {"ES256": ES, "EdDSA": ED, "HS256": HS}

# RFC 7515 Appendix A.1 (HS256), A.3 (ES256), A.5 (alg none); RFC 8037 Appendix A.4 (Ed25519).
RFC_PAYLOAD = ("eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19y"
               "b290Ijp0cnVlfQ")
A1 = ("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + RFC_PAYLOAD
      + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").encode()
A1_K = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
A3 = ("eyJhbGciOiJFUzI1NiJ9." + RFC_PAYLOAD + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfT"
      "jDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q").encode()
A3_X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
A3_Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
A5 = ("eyJhbGciOiJub25lIn0." + RFC_PAYLOAD + ".").encode()
E4 = (b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09P"
      b"GcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
E4_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
E4_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
A1_NOW = 1300819000  # before A.1's exp 1300819380

MP_RFC = """
from microace import cose as _rc, jwt as _rj
from microace.jsonstrict import loads_object as _rjson
from microace.keystore import SoftwareKeyStore as _rKS
def _rfc_store(name, key):
    ks = _rKS()
    ks.add(key)
    _tf_stores[name] = ks
def _rfc_sig(store, token):
    head, body, sig = token.split(b'.')
    alg, kid = _rj._header(_rjson(_rj.b64url_decode(head)))
    signing_input, sig = head + b'.' + body, _rj.b64url_decode(sig)
    ks = _tf_stores[store]
    h = ks.lookup(None)
    if alg == _rc.ALG_HMAC256_256:
        return ks.mac_verify(h, alg, signing_input, sig)
    return ks.verify(h, alg, signing_input, sig)
# A.1's key is 64 bytes: longer than a COSE HMAC 256/256 key, so no COSE_Key parse for it.
_rfc_store('a1', _rc.Key(_rc.KTY_SYMMETRIC, None, _rc.ALG_HMAC256_256,
                         secret=_rj.b64url_decode(%r)))
""" % A1_K.encode()


def flip_sig(token):
    """The token with one bit of its signature's first byte changed."""
    head, body, sig = token.split(b".")
    raw = bytearray(jf.unb64(sig))
    raw[0] ^= 1
    return head + b"." + body + b"." + jf.b64(bytes(raw))


@pytest.fixture
def fw(mp):
    jf.mp_setup(mp, {"jwt": [(ES, None), (ED, None), (HS, None), (BOUND, ISS)],
                     "a3": [(cbor2.dumps({1: 2, -1: 1, -2: jf.unb64(A3_X), -3: jf.unb64(A3_Y),
                                          3: -7}), None)],
                     "e4": [(cbor2.dumps({1: 1, -1: 6, -2: jf.unb64(E4_X), 3: -8}), None)],
                     "es-only": [(ES, None)]})
    mp.exec(MP_RFC)
    return mp


def verdicts(mp, store, tokens, **kw):
    return [tf.verdict(r) for r in jf.verdicts(mp, store, tokens, **kw)]


@pytest.mark.parametrize("store,token", [("a1", A1), ("a3", A3)], ids=["A.1-HS256", "A.3-ES256"])
def test_rfc7515_examples(fw, store, token):
    assert fw.eval("_rfc_sig(%r, %r)" % (store, token)) is True
    assert fw.eval("_rfc_sig(%r, %r)" % (store, flip_sig(token))) is False
    # The examples name no audience: past the signature, the claims engine refuses them for
    # that reason; the same token with a signature bit changed stops at the signature.
    got = jf.verdicts(fw, store, [token, flip_sig(token)], aud="rs1", now=A1_NOW)
    assert got[0] == "AudienceError: token has no aud"
    assert tf.verdict(got[1]) == "VerifyError"


def test_rfc7515_a5_alg_none_is_refused(fw):
    # As printed (empty signature), and with a signature added: neither reaches a key.
    with_sig = A5 + jf.b64(b"\x00" * 32)
    got = jf.verdicts(fw, "a3", [A5, with_sig], aud="rs1", now=A1_NOW)
    assert got[0] == "DecodeError: empty JOSE segment"
    assert got[1] == "VerifyError: JWS alg 'none' is not accepted"


def test_rfc8037_a4_ed25519(fw):
    assert fw.eval("_rfc_sig('e4', %r)" % E4) is True
    assert fw.eval("_rfc_sig('e4', %r)" % flip_sig(E4)) is False
    # Its payload is text, not a JWT claims set: refused before the signature is looked at.
    assert verdicts(fw, "e4", [E4]) == ["DecodeError"]


def test_rfc8037_a4_key_signs_a_jwt_that_verifies(fw):
    """A JWT signed by joserfc with RFC 8037 A.1's private key verifies with its public key."""
    from joserfc import jwt
    from joserfc.jwk import OKPKey
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": E4_X, "d": E4_D})
    token = jwt.encode({"alg": "EdDSA"}, jf.claims(), key, algorithms=["EdDSA"]).encode()
    got = jf.verdicts(fw, "e4", [token, flip_sig(token)])
    assert got[0][0] == "ok" and got[0][1]["aud"] == AUD
    assert tf.verdict(got[1]) == "VerifyError"


SHAPES = {  # name -> (claims, header extras, kid in header, expected verdict)
    "baseline": (jf.claims(), {}, True, "ok"),
    "aud-array": (jf.claims(aud=["rs0", AUD]), {}, True, "ok"),
    "typ-at+jwt": (jf.claims(), {"typ": "at+jwt"}, True, "ok"),
    "typ-application-at+jwt": (jf.claims(), {"typ": "application/at+jwt"}, True, "ok"),
    "exp-float": (jf.claims(exp=NOW + 0.5), {}, True, "ok"),
    "scope-aif": (jf.claims(scope=[["/temp", 1], ["/led", 5]]), {}, True, "ok"),
    "exi-jti-no-exp": (jf.claims(exp=None, exi=3600), {}, True, "ok"),
    "cnf-kid": (jf.claims(cnf={"kid": "client-key-1"}), {}, True, "ok"),
    "cnf-jwk-ec": (jf.claims(cnf={"jwk": {"kty": "EC", "crv": "P-256",
                                          "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                          "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}),
                   {}, True, "ok"),
    "extra-claims-and-header": (jf.claims(name="x", n=[1, {"a": None}]), {"x-note": "hi"},
                                True, "ok"),
    "no-kid-several-keys": (jf.claims(), {}, False, "VerifyError"),
    "expired": (jf.claims(exp=NOW), {}, True, "ClaimError"),
    "other-audience": (jf.claims(aud="rs10"), {}, True, "AudienceError"),
    "typ-other": (jf.claims(), {"typ": "dpop+jwt"}, True, "DecodeError"),
    # RFC 9203 §3.2 / RFC 7800 §3.3: the OSCORE master secret only in a confidential token,
    # and a JWS is not one (a nested JWT is: test_jwe.py).
    "cnf-osc-in-clear": (jf.claims(cnf={"osc": {"id": "AQ", "ms": "-a-Dg2jjU-eIiOFCa9lObw"}}),
                         {}, True, "ClaimError"),
}


@pytest.mark.parametrize("minter", sorted(jf.MINTERS))
@pytest.mark.parametrize("alg", sorted(KEYS))
def test_interop_shapes(fw, minter, alg):
    mint, key = jf.MINTERS[minter], KEYS[alg]
    tokens = [mint(c, key, h, kid) for c, h, kid, _ in SHAPES.values()]
    got = jf.verdicts(fw, "jwt", tokens)
    bad = ["%s: expected %s, got %r" % (name, want, r)
           for (name, (_, _, _, want)), r in zip(SHAPES.items(), got) if tf.verdict(r) != want]
    assert not bad, "\n".join(bad)
    ok = got[0]
    assert ok[1] == jf.claims()


def test_interop_cnf_and_claims_come_through(fw):
    jwk = SHAPES["cnf-jwk-ec"][0]
    got = jf.verdicts(fw, "jwt", [jf.mint_pyjwt(jwk, ES),
                                  jf.mint_joserfc(SHAPES["cnf-kid"][0], HS)])
    assert got[0][2][0] == "key" and got[0][2][1] == 2  # EC2 COSE key from the JWK
    assert tuple(got[0][2][4]) == (int.from_bytes(jf.unb64(A3_X), "big"),
                            int.from_bytes(jf.unb64(A3_Y), "big"))
    assert got[1][2] == ("kid", b"client-key-1")


@pytest.mark.parametrize("minter", sorted(jf.MINTERS))
@pytest.mark.parametrize("alg", sorted(KEYS))
def test_tampered_tokens_are_refused(fw, minter, alg):
    key = KEYS[alg]
    token = jf.MINTERS[minter](jf.claims(), key)
    head, body, sig = token.split(b".")
    other = json.loads(jf.unb64(body))
    other["scope"] = "write"
    cases = {
        "signature bit": (flip_sig(token), "VerifyError"),
        "payload swapped": (head + b"." + jf.b64(json.dumps(other).encode()) + b"." + sig,
                            "VerifyError"),
        "header kid swapped": (jf.b64(json.dumps(dict(json.loads(jf.unb64(head)),
                                                      kid="jwt-bound")).encode())
                               + b"." + body + b"." + sig, "VerifyError"),
        "signature a byte short": (head + b"." + body + b"." + jf.b64(jf.unb64(sig)[:-1]),
                                   "VerifyError"),
        "one more segment": (token + b"." + sig, "DecodeError"),
    }
    got = verdicts(fw, "jwt", [t for t, _ in cases.values()])
    assert got == [want for _, want in cases.values()], dict(zip(cases, got))


def test_alg_must_be_the_keys(fw):
    """The header's alg names the key's algorithm or the token is refused, whatever the
    signature: HS256 with the ES256 public key as the HMAC secret, ES256 on an HS256 key,
    lower-case names, `none`, algorithms the board does not have."""
    pub = tf.pem(ES)
    import hmac
    import hashlib
    h = jf.header(ES, alg="HS256")
    signing_input = jf.b64(json.dumps(h).encode()) + b"." + jf.b64(json.dumps(jf.claims()).encode())
    confused = signing_input + b"." + jf.b64(hmac.new(pub, signing_input, hashlib.sha256).digest())
    cases = [confused,
             jf.craft(jf.header(HS, alg="ES256"), jf.claims(), HS, sig=b"\x01" * 64),
             jf.craft(jf.header(ES, alg="es256"), jf.claims(), ES),
             jf.craft(jf.header(ES, alg="none"), jf.claims(), ES),
             jf.craft(jf.header(ES, alg="RS256"), jf.claims(), ES),
             jf.craft(jf.header(ES, alg="ES384"), jf.claims(), ES, sig=b"\x01" * 96),
             jf.craft({"kid": "jwt-es"}, jf.claims(), ES)]
    assert verdicts(fw, "jwt", cases) == ["VerifyError"] * 6 + ["DecodeError"]


def test_issuer_bound_key(fw):
    got = verdicts(fw, "jwt", [jf.mint_pyjwt(jf.claims(), BOUND),
                               jf.mint_pyjwt(jf.claims(iss="coaps://other.example"), BOUND)])
    assert got == ["ok", "ClaimError"]


def test_no_kid_uses_the_only_key(fw):
    assert verdicts(fw, "es-only", [jf.mint_joserfc(jf.claims(), ES, kid=False)]) == ["ok"]


def payload_with(text):
    """A claims set as exact JSON text: a valid one with `text` spliced in before the '}'."""
    base = json.dumps(jf.claims(), separators=(",", ":"))
    return (base[:-1] + "," + text + "}").encode()


PARSING = {  # name -> (header, payload, expected) signed correctly by ES
    "duplicate claim": (None, payload_with('"aud":"rs1"'), "DecodeError"),
    "duplicate exp last wins elsewhere": (None, payload_with('"exp":99999999999'),
                                          "DecodeError"),
    "duplicate header alg": (b'{"alg":"HS256","kid":"jwt-es","alg":"ES256"}', None,
                             "DecodeError"),
    "exp 1e400": (None, json.dumps(jf.claims(exp=None))[:-1].encode() + b',"exp":1e400}',
                  "DecodeError"),
    "exp -1e400": (None, json.dumps(jf.claims(exp=None))[:-1].encode() + b',"exp":-1e400}',
                   "DecodeError"),
    "exp text": (None, json.dumps(jf.claims(exp="1700003600")).encode(), "ClaimError"),
    "exp true": (None, json.dumps(jf.claims(exp=True)).encode(), "ClaimError"),
    "nbf array": (None, json.dumps(jf.claims(nbf=[1])).encode(), "ClaimError"),
    "exi text": (None, json.dumps(jf.claims(exp=None, exi="60")).encode(), "ClaimError"),
    "iss number": (None, json.dumps(jf.claims(iss=7)).encode(), "ClaimError"),
    "jti number": (None, json.dumps(jf.claims(jti=7)).encode(), "ClaimError"),
    "aud object": (None, json.dumps(jf.claims(aud={"rs1": 1})).encode(), "ClaimError"),
    "null exp": (None, json.dumps(jf.claims(exp=None))[:-1].encode() + b',"exp":null}',
                 "ClaimError"),
    "deep nesting": (None, payload_with('"x":' + "[" * 9 + "]" * 9), "DecodeError"),
    "nesting at the bound": (None, payload_with('"x":' + "[" * 7 + "]" * 7), "ok"),
    "leading zero": (None, payload_with('"x":01'), "DecodeError"),
    "NaN literal": (None, payload_with('"x":NaN'), "DecodeError"),
    "trailing comma": (None, payload_with('"x":1,'), "DecodeError"),
    "single quotes": (None, payload_with("'x':1"), "DecodeError"),
    "lone surrogate": (None, payload_with('"x":"\\ud800"'), "DecodeError"),
    "invalid utf-8": (None, payload_with('"x":"') [:-0] + b'\xc0\xaf"}', "DecodeError"),
    "payload an array": (None, b"[1]", "DecodeError"),
    "payload CBOR": (None, cbor2.dumps(tf.claims()), "DecodeError"),
    "trailing text": (None, json.dumps(jf.claims()).encode() + b" x", "DecodeError"),
    "crit unknown": (b'{"alg":"ES256","kid":"jwt-es","crit":["exp"],"exp":1}', None,
                     "DecodeError"),
    "crit empty": (b'{"alg":"ES256","kid":"jwt-es","crit":[]}', None, "DecodeError"),
    "cty nested": (b'{"alg":"ES256","kid":"jwt-es","cty":"JWT"}', None, "DecodeError"),
    "jwk in header": (b'{"alg":"ES256","kid":"jwt-es","jwk":{"kty":"EC"}}', None,
                      "DecodeError"),
    "b64 false": (b'{"alg":"ES256","kid":"jwt-es","b64":false,"crit":["b64"]}', None,
                  "DecodeError"),
    "kid number": (b'{"alg":"ES256","kid":1}', None, "DecodeError"),
    "unknown kid": (b'{"alg":"ES256","kid":"nobody"}', None, "VerifyError"),
    "header whitespace ok": (b'{ "alg" : "ES256" ,\r\n "kid":"jwt-es" }', None, "ok"),
}


def test_strict_json(fw):
    tokens = [jf.craft(h or jf.header(ES), p or jf.claims(), ES)
              for h, p, _ in PARSING.values()]
    full = jf.verdicts(fw, "jwt", tokens)
    got = [tf.verdict(r) for r in full]
    bad = ["%s: expected %s, got %s" % (n, w, r)
           for (n, (_, _, w)), g, r in zip(PARSING.items(), got, full) if g != w]
    assert not bad, "\n".join(bad)


def test_strict_base64url(fw):
    token = jf.craft(jf.header(ES), jf.claims(), ES)
    head, body, sig = token.split(b".")
    plus = head.replace(b"-", b"+") if b"-" in head else head[:-1] + b"+"
    cases = {
        "padding on the header": head + b"==." + body + b"." + sig,
        "padding on the signature": token + b"==",
        "standard alphabet": plus + b"." + body + b"." + sig,
        "whitespace": head + b"." + body[:10] + b" " + body[10:] + b"." + sig,
        "newline": head + b".\n" + body + b"." + sig,
        "impossible length": head + b"." + body + b"A." + sig if len(body) % 4 == 0
        else head + b"." + body + b"." + sig + b"A" * (5 - len(sig) % 4),
        "non-canonical last character": head + b"." + body + b"." + sig[:-1]
        + bytes([sig[-1] + 1]),
        "empty payload": head + b".." + sig,
        "two segments": head + b"." + body,
        "four segments": token + b".",
        "five segments (JWE)": token + b".AA.AA",
        "oversized header": jf.craft(jf.header(ES, pad="x" * 200), jf.claims(), ES),
        "oversized token": jf.craft(jf.header(ES), jf.claims(pad="x" * 3200), ES),
    }
    got = verdicts(fw, "jwt", list(cases.values()))
    assert got == ["DecodeError"] * len(cases), dict(zip(cases, got))


def test_formats_are_told_apart_by_their_first_bytes(fw):
    jws = jf.craft(jf.header(ES), jf.claims(), ES)
    cwt_token = tf.protect(tf.claims(cnf={3: b"k"}), ES)
    cases = {
        "a CWT": cwt_token,
        "a JWT": jws,
        "a JWT as the payload of a COSE_Sign1": tf.protect(jws, ES),
        "a CWT as the payload of a JWS": jf.craft(jf.header(ES), cwt_token, ES),
        "a JWT with a leading space": b" " + jws,
        "a CBOR map": cbor2.dumps(tf.claims()),
        "JSON, not base64url": json.dumps(jf.claims()).encode(),
        "empty": b"",
    }
    got = verdicts(fw, "jwt", list(cases.values()))
    want = ["ok", "ok", "DecodeError", "DecodeError", "DecodeError", "DecodeError",
            "DecodeError", "DecodeError"]
    assert got == want, dict(zip(cases, got))


def test_cnf_osc_members_are_read_as_rfc9203_names(fw):
    """The claims engine sees RFC 9203 Figure 9's JSON osc as the integer-labelled map (the
    check that refuses it in a JWS runs last: the message says it got that far)."""
    osc = {"alg": "AES-CCM-16-64-128", "id": "AQ", "ms": "-a-Dg2jjU-eIiOFCa9lObw"}
    got = jf.verdicts(fw, "jwt", [
        jf.mint_pyjwt(jf.claims(cnf={"osc": osc}), ES),
        jf.mint_pyjwt(jf.claims(cnf={"osc": dict(osc, ms="not base64url!")}), ES),
        jf.mint_pyjwt(jf.claims(cnf={"osc": dict(osc, extra=1)}), ES),
        jf.mint_pyjwt(jf.claims(cnf={"osc": {"ms": osc["ms"]}}), ES),
        jf.mint_pyjwt(jf.claims(cnf={"jwk": {"kty": "oct", "k": "AAAA"}}), ES),
        jf.mint_pyjwt(jf.claims(cnf={"kid": "a", "osc": osc}), ES),
    ])
    assert got[0] == "ClaimError: OSCORE master secret in an unencrypted token"
    assert tf.verdict(got[1]) == "DecodeError"
    assert got[2] == "ClaimError: OSCORE_Input_Material member 'extra' is unknown"
    assert got[3] == "ClaimError: OSCORE_Input_Material needs id and ms"
    assert got[4] == "ClaimError: symmetric cnf key in an unencrypted token"
    assert got[5] == "ClaimError: cnf must be a map with exactly one confirmation method"


def test_cnonce_is_base64url(fw):
    got = jf.verdicts(fw, "jwt", [jf.mint_pyjwt(jf.claims(cnonce="AQID"), ES),
                                  jf.mint_pyjwt(jf.claims(cnonce=5), ES)])
    assert got[0][0] == "ok" and got[0][1]["cnonce"] == b"\x01\x02\x03"
    assert tf.verdict(got[1]) == "ClaimError"
