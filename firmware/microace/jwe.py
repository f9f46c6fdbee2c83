"""The outer layer of a nested JWT (RFC 7519 §5.2, §11.2: sign, then encrypt): a JWE in compact
serialization (RFC 7516 §7.1) around a JWS, so the token may carry a secret (cnf osc).

Loaded only when a five-segment token arrives (access_token.py). One algorithm pair, nothing
else: key management A128KW (RFC 7518 §4.4) under a key of the board's allow-list, content
encryption A128CBC-HS256 (RFC 7518 §5.2.3), cty "JWT". Everything is parsed before any
crypto; the wrapped key is unwrapped in the key store (the key never leaves it); the tag is
checked before decryption. This is what cwt.py does with Encrypt0(Sign1), one level deep.
"""

import os

from micropython import const

from microace import cose
from microace.errors import DecodeError, VerifyError
from microace.jsonstrict import loads_object
from microace.jwt import b64url_decode, check_header, segments

_CEK_WRAPPED = const(40)  # A128CBC-HS256's 32-byte CEK wrapped: one more 64-bit block
# The JWE header parameters refused outright: compression (zip, RFC 7516 §4.1.3: a
# compression oracle), keys or key references in the token (RFC 8725 §3.10) and the
# parameters of other key management algorithms (ECDH-ES epk/apu/apv, PBES2 p2s/p2c,
# AES-GCMKW iv/tag: RFC 7518 §4.6-§4.8).
_REFUSED = ("zip", "jwk", "jku", "x5u", "x5c", "epk", "apu", "apv", "p2s", "p2c", "iv", "tag")


def decrypt(token, keystore):
    """JWE compact (bytes) -> (the inner JWS bytes, the key handle that unwrapped its CEK).

    Raises DecodeError for a malformed token, VerifyError for one that does not decrypt.
    """
    token, parts = segments(token, 5)
    head, wrapped, iv, ciphertext, tag = parts
    header = loads_object(b64url_decode(head))
    alg, kid = check_header(header, _REFUSED)
    enc = header.get("enc")
    if not isinstance(enc, str):  # RFC 7516 §4.1.2: required
        raise DecodeError("JWE header needs enc as a string")
    if enc != "A128CBC-HS256":
        raise VerifyError("JWE enc %r is not accepted" % enc)
    if header.get("cty") != "JWT":  # RFC 7519 §5.2: a nested JWT says so; no bare JWE
        raise DecodeError("JWE must carry a nested JWT (cty JWT)")
    if alg != "A128KW":  # dir, RSA, ECDH-ES, ...: refused (RFC 8725 §3.1)
        raise VerifyError("JWE alg %r is not accepted" % alg)
    handle = keystore.lookup(kid.encode() if kid is not None else None)
    if handle is None:
        raise VerifyError("no trusted key for kid %r" % (kid,))
    if handle.alg != cose.ALG_A128KW:
        raise VerifyError("JWE alg A128KW is not the algorithm bound to the key")
    wrapped, iv = b64url_decode(wrapped), b64url_decode(iv)
    ciphertext, tag = b64url_decode(ciphertext), b64url_decode(tag)
    if len(wrapped) != _CEK_WRAPPED:
        raise DecodeError("JWE encrypted key must be %d bytes" % _CEK_WRAPPED)
    try:
        cek = keystore.unwrap(handle, cose.ALG_A128KW, wrapped)
    except VerifyError:  # RFC 7516 §11.5: a bad wrapped key looks like a bad tag
        cek = os.urandom(32)
    from microace.crypto import aes_cbc_hs

    # RFC 7516 §5.2 step 14: the AAD is the ASCII of the protected header as received
    return aes_cbc_hs.decrypt(cek, head, iv, ciphertext, tag), handle
