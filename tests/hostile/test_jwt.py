"""Hostile JWTs (RFC 7515, RFC 7519, RFC 8725) posted to /authz-info: alg confusion, `none`,
duplicate members, non-finite and mistyped numbers, broken base64url, extra segments, oversized
segments, deep nesting, and the two formats inside each other; and nested JWTs (RFC 7516 JWE
around the JWS) with their layers tampered, other algorithms, bad padding under a valid tag,
no JWS inside. Every case is answered 4.00 (malformed) or 4.01 (not verified, or claims
refused) and the RS keeps serving (conftest)."""

import hashlib
import hmac
import json
import time

import cbor2
import pytest

from tests.support import jwtfactory as jf
from tests.support import tokenfactory as tf
from tests.support.rs_peer import AS_KEY, AUDIENCE, ISSUER, KW_SECRET, claims, mint
from tests.hostile.rs_setup import ED_KEY, MAC_KEY
from tests.support.hostile_tokens import sealed
from tests.support.coap_wire import code, post_token


def jwt_claims(**kw):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 3600, "iat": now, "jti": "j1",
         "scope": "read", "cnf": {"kid": "pop"}}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


def text(claims_map, splice):
    """Exact JSON of the claims with `splice` added before the closing brace."""
    return json.dumps(claims_map, separators=(",", ":"))[:-1].encode() + b"," + splice + b"}"


def confused():
    """HS256 MACed with the ES256 key's public PEM as the secret, naming the ES256 key."""
    signing_input = (jf.b64(json.dumps(jf.header(AS_KEY, alg="HS256")).encode()) + b"."
                     + jf.b64(json.dumps(jwt_claims()).encode()))
    return signing_input + b"." + jf.b64(hmac.new(tf.pem(AS_KEY), signing_input,
                                                  hashlib.sha256).digest())


def cases():
    good = jf.craft(jf.header(AS_KEY), jwt_claims(), AS_KEY)
    head, body, sig = good.split(b".")
    osc = {"id": "AQ", "ms": jf.b64(bytes(16)).decode()}
    return {
        # verified, but a signed-only token must not carry the OSCORE master secret: 4.01
        "osc-in-a-jws": (jf.craft(jf.header(AS_KEY), jwt_claims(cnf={"osc": osc}), AS_KEY),
                         "4.01"),
        "osc-in-a-jws-eddsa": (jf.craft(jf.header(ED_KEY), jwt_claims(cnf={"osc": osc}), ED_KEY),
                           "4.01"),
        # verified, but no cnf.osc: not a token for the ACE-OSCORE profile (RFC 9203 §4.2)
        "cnf-kid": (good, "4.00"),
        "alg-confusion-hs256-with-es256-public-key": (confused(), "4.01"),
        "alg-none-empty-signature": (head.replace(head, jf.b64(b'{"alg":"none"}')) + b"." + body
                                     + b".", "4.00"),
        "alg-none-with-signature": (jf.craft({"alg": "none"}, jwt_claims(), AS_KEY), "4.01"),
        "alg-lower-case": (jf.craft(jf.header(AS_KEY, alg="es256"), jwt_claims(), AS_KEY),
                           "4.01"),
        "alg-of-another-key": (jf.craft(jf.header(MAC_KEY, alg="ES256"), jwt_claims(), AS_KEY),
                               "4.01"),
        "duplicate-claim": (jf.craft(jf.header(AS_KEY), text(jwt_claims(), b'"aud":"x"'),
                                     AS_KEY), "4.00"),
        "duplicate-header-alg": (jf.craft(b'{"alg":"none","kid":"as-e2e","alg":"ES256"}',
                                          jwt_claims(), AS_KEY), "4.00"),
        "exp-1e400": (jf.craft(jf.header(AS_KEY), text(jwt_claims(exp=None), b'"exp":1e400'),
                               AS_KEY), "4.00"),
        "exp-string": (jf.craft(jf.header(AS_KEY), jwt_claims(exp=str(int(time.time()) + 60)),
                                AS_KEY), "4.01"),
        "iat-string-exi-string": (jf.craft(jf.header(AS_KEY),
                                           jwt_claims(exp=None, exi="60", iat="now"), AS_KEY),
                                  "4.01"),
        "invalid-base64url": (head + b"." + body[:5] + b"*" + body[6:] + b"." + sig, "4.00"),
        "standard-base64": (head + b"." + body + b"." + sig.replace(b"-", b"+").replace(
            b"_", b"/") + b"+", "4.00"),
        "padding": (good + b"==", "4.00"),
        "fourth-segment": (good + b"." + sig, "4.00"),
        "oversized-header": (jf.craft(jf.header(AS_KEY, x="y" * 300), jwt_claims(), AS_KEY),
                             "4.00"),
        "deep-nesting": (jf.craft(jf.header(AS_KEY), text(jwt_claims(),
                                                          b'"n":' + b"[" * 40 + b"]" * 40),
                                  AS_KEY), "4.00"),
        "hmac-key-hs256-short-tag": (jf.craft(jf.header(MAC_KEY), jwt_claims(), MAC_KEY,
                                              sig=bytes(16)), "4.01"),
        "jwt-in-the-cwt-slot": (sealed(tf.protect(good, AS_KEY)), "4.00"),
        "cwt-in-the-jwt-slot": (jf.craft(jf.header(AS_KEY), cbor2.dumps(claims()), AS_KEY),
                                "4.00"),
        "cwt-base64url": (jf.b64(mint(claims())), "4.00"),
    }


def flip(token, index):
    parts = token.split(b".")
    raw = bytearray(jf.unb64(parts[index]))
    raw[len(raw) // 2] ^= 0x04
    return b".".join(parts[:index] + [jf.b64(bytes(raw))] + parts[index + 1:])


def jwe_cases():
    """Nested JWTs: the JWE (A128KW + A128CBC-HS256 under the RS's wrap key) around a JWS."""
    osc = {"id": "AQ", "ms": jf.b64(bytes(16)).decode()}
    inner = jf.craft(jf.header(AS_KEY), jwt_claims(cnf={"osc": osc}), AS_KEY)
    h = dict(jf.KW_HEADER, kid="as-rs1-kw")
    good = jf.craft_jwe(h, inner, KW_SECRET)
    parts = good.split(b".")
    head, body, _ = inner.split(b".")
    return {
        "jwe-tag-flipped": (flip(good, 4), "4.01"),
        "jwe-iv-flipped": (flip(good, 2), "4.01"),
        "jwe-ciphertext-flipped": (flip(good, 3), "4.01"),
        "jwe-wrapped-key-flipped": (flip(good, 1), "4.01"),
        "jwe-header-changed-aad": (jf.b64(json.dumps(dict(h, x=1)).encode()) + b"."
                                   + b".".join(parts[1:]), "4.01"),
        "jwe-dir-empty-key": (b".".join(parts[:1] + [b""] + parts[2:]), "4.00"),
        "jwe-enc-a128gcm": (jf.craft_jwe(dict(h, enc="A128GCM"), inner, KW_SECRET), "4.01"),
        "jwe-alg-rsa-oaep": (jf.craft_jwe(dict(h, alg="RSA-OAEP"), inner, KW_SECRET), "4.01"),
        "jwe-zip": (jf.craft_jwe(dict(h, zip="DEF"), inner, KW_SECRET), "4.00"),
        "jwe-no-cty": (jf.craft_jwe({k: v for k, v in h.items() if k != "cty"}, inner,
                                    KW_SECRET), "4.00"),
        "jwe-kid-of-the-signing-key": (jf.craft_jwe(dict(h, kid="as-e2e"), inner, KW_SECRET),
                                       "4.01"),
        "jwe-bad-padding-valid-tag": (jf.craft_jwe(h, inner + b"x" * (-len(inner) % 16),
                                                   KW_SECRET, pad=bytes(16)), "4.01"),
        "jwe-bare-claims": (jf.craft_jwe(h, json.dumps(jwt_claims(cnf={"osc": osc})).encode(),
                                         KW_SECRET), "4.00"),
        "jwe-in-a-jwe": (jf.craft_jwe(h, jf.craft_jwe(h, b"{}", KW_SECRET), KW_SECRET), "4.00"),
        "jwe-six-segments": (good + b".AA", "4.00"),
        "jwe-duplicate-header-kid": (jf.craft_jwe(json.dumps(h)[:-1].encode()
                                                  + b',"kid":"x"}', inner, KW_SECRET), "4.00"),
        "jwe-inner-jws-forged": (jf.craft_jwe(h, head + b"." + body + b"." + jf.b64(bytes(64)),
                                              KW_SECRET), "4.01"),
        # verified and decrypted, but no cnf.osc: not for the ACE-OSCORE profile
        "jwe-inner-cnf-kid": (jf.craft_jwe(h, jf.craft(jf.header(AS_KEY), jwt_claims(),
                                                       AS_KEY), KW_SECRET), "4.00"),
    }


CASES = cases()
CASES.update(jwe_cases())


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_jwt(peer, name):
    token, want = CASES[name]
    assert code(post_token(peer, token).code) == want
