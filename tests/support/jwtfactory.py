"""Host-side JWT minting for the tests: PyJWT and joserfc make tokens, the firmware checks them.

Keys are tokenfactory's python-cwt keys (so a board key store holds them as COSE_Keys with their
kid and alg); `mint_pyjwt` and `mint_joserfc` are the two independent libraries; `craft` puts
a JWS together from any header and payload bytes and signs it with python-cwt's key, for the
tokens a correct issuer never makes. `MP_JWT` is the MicroPython side: the RS's own dispatcher
(access_token.verify) on a token, with tokenfactory's key stores and verdicts.
"""

import base64
import json

from tests.support import tokenfactory as tf
from tests.support.tokenfactory import AUD, ISS, NOW

ALG_NAMES = {-7: "ES256", -8: "EdDSA", 5: "HS256"}


def b64(data):
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def unb64(text):
    text = text if isinstance(text, bytes) else text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def claims(**kw):
    """A valid JWT claims set for AUD at NOW; keyword None drops a claim."""
    c = {"iss": ISS, "aud": AUD, "exp": NOW + 3600, "nbf": NOW - 60, "iat": NOW - 60,
         "jti": "jti-1", "scope": "read"}
    for name, value in kw.items():
        if value is None:
            c.pop(name, None)
        else:
            c[name] = value
    return c


def alg_of(key):
    return ALG_NAMES[key.alg]


def _signer(key):
    """What the two libraries take: a PEM private key, or the HMAC secret."""
    return key.key if key.kty == 4 else tf.pem(key, private=True)


def mint_pyjwt(claims_map, key, headers=None, kid=True):
    import jwt
    h = dict(headers or {})
    if kid:
        h["kid"] = key.kid.decode()
    return jwt.encode(claims_map, _signer(key), algorithm=alg_of(key), headers=h).encode()


def mint_joserfc(claims_map, key, headers=None, kid=True):
    from joserfc import jwt
    from joserfc.jwk import ECKey, OctKey, OKPKey
    from joserfc.jws import JWSRegistry
    alg = alg_of(key)
    k = {"ES256": ECKey, "EdDSA": OKPKey, "HS256": OctKey}[alg].import_key(_signer(key))
    h = {"alg": alg}
    h.update(headers or {})
    if kid:
        h["kid"] = key.kid.decode()
    # Header parameters joserfc does not know (the shapes add some) go out as given.
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    return jwt.encode(h, claims_map, k, algorithms=[alg], registry=registry).encode()


MINTERS = {"pyjwt": mint_pyjwt, "joserfc": mint_joserfc}


def craft(header, payload, key, sig=None):
    """header.payload (dicts as compact JSON, or the exact bytes given) signed by python-cwt's
    `key` over the ASCII bytes (ES256 raw r||s, EdDSA, HMAC-SHA256), unless `sig` is given."""
    enc = [p if isinstance(p, bytes) else json.dumps(p, separators=(",", ":")).encode()
           for p in (header, payload)]
    signing_input = b64(enc[0]) + b"." + b64(enc[1])
    if sig is None:
        sig = key.sign(signing_input)
    return signing_input + b"." + b64(sig)


def header(key, **kw):
    h = {"alg": alg_of(key), "kid": key.kid.decode()}
    h.update(kw)
    return {k: v for k, v in h.items() if v is not None}


MP_JWT = """
from microace import access_token as _tf_at
def _tf_token(store, token, aud, now, issuer=None, leeway=0):
    return _tf_run(_tf_at.verify, token, _tf_stores[store], aud, now, issuer, leeway)
"""


def mp_setup(mp, stores):
    tf.mp_setup(mp, stores)
    mp.exec(MP_JWT)


def verdicts(mp, store, tokens, aud=AUD, now=NOW, issuer=None):
    """The firmware's verdict on each token (see tokenfactory.verdict)."""
    return mp.map("_tf_token", [(store, t, aud, now, issuer) for t in tokens])


# Nested JWTs (RFC 7519 §5.2): a JWE (A128KW + A128CBC-HS256, cty JWT) around a JWS.
KW_HEADER = {"alg": "A128KW", "enc": "A128CBC-HS256", "cty": "JWT"}


def kw_key(kid, secret=None):
    """(COSE_Key bytes for a board store, the 16-byte secret) of an A128KW key (COSE alg -3)."""
    import cbor2
    secret = secret or tf._seed(b"a128kw:" + kid, 16)
    return cbor2.dumps({1: 4, 2: kid, 3: -3, -1: secret}), secret


def encrypt_joserfc(jws, kid, secret, headers=None):
    from joserfc import jwe
    from joserfc.jwk import OctKey
    h = dict(KW_HEADER, kid=kid.decode())
    h.update(headers or {})
    return jwe.encrypt_compact(h, jws, OctKey.import_key(secret)).encode()


def encrypt_jwcrypto(jws, kid, secret):
    from jwcrypto import jwe, jwk
    key = jwk.JWK(kty="oct", k=b64(secret).decode())
    token = jwe.JWE(jws, protected=dict(KW_HEADER, kid=kid.decode()))
    token.add_recipient(key)
    return token.serialize(compact=True).encode()


ENCRYPTERS = {"joserfc": encrypt_joserfc, "jwcrypto": encrypt_jwcrypto}


def craft_jwe(header, plaintext, secret, cek=None, iv=None, pad=None):
    """A JWE compact built by hand from any header (dict or exact bytes): the CEK wrapped under
    `secret` (RFC 3394), A128CBC-HS256 with a valid tag over whatever is encrypted; `pad`
    replaces the PKCS #7 padding (for tokens a correct issuer never makes)."""
    import hashlib
    import hmac
    import os

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap
    cek, iv = cek or os.urandom(32), iv or os.urandom(16)
    head = b64(header if isinstance(header, bytes)
               else json.dumps(header, separators=(",", ":")).encode())
    n = 16 - len(plaintext) % 16
    padded = plaintext + (pad if pad is not None else bytes([n]) * n)
    enc = Cipher(algorithms.AES(cek[16:]), modes.CBC(iv)).encryptor()
    ct = enc.update(padded) + enc.finalize()
    al = (8 * len(head)).to_bytes(8, "big")
    tag = hmac.new(cek[:16], head + iv + ct + al, hashlib.sha256).digest()[:16]
    return b".".join([head, b64(aes_key_wrap(secret, cek)), b64(iv), b64(ct), b64(tag)])
