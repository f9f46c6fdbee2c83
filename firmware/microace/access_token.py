"""Which verifier an access token needs, by its first byte: a JWS compact JWT is base64url of a
JSON object, so it begins with "e" (the first six bits of '{'; "eyJ" when '"' follows, RFC 7515
§7.1), and so does a nested JWT (a JWE, RFC 7516 §7.1, five segments); a CWT is a CBOR array
or tag (RFC 8392 §7.2), never 0x65 (a CBOR text string). Anything else is refused as
malformed (4.00).

The JWT modules (jwt, jsonstrict; for a nested JWT also jwe, crypto.aes_kw, crypto.aes_cbc_hs)
are imported for each JWT and dropped after it: loaded from .mpy files their code sits in the
heap (~13 KiB on the 64-bit unix port, ~4.5 KiB more for a nested JWT), which a board that
takes a JWT now and then should not give up for good; what stays is ~1 KiB of interned names.
"""

import sys

import microace
from microace import cwt
from microace.errors import DecodeError

_JWT_MODULES = ("jwe", "jwt", "jsonstrict", "crypto.aes_kw", "crypto.aes_cbc_hs")


def _verify_jwt(raw, keystore, audience, now, issuer, leeway):
    dots = raw.count(b".")
    if dots != 2 and dots != 4:  # JWS compact: three segments; nested (JWE): five
        raise DecodeError("a JWT needs three (JWS) or five (JWE) segments")  # no import
    try:
        outer = None
        if dots == 4:  # RFC 7519 §5.2: a JWE around the JWS
            from microace import jwe

            raw, outer = jwe.decrypt(raw, keystore)
        from microace import jwt

        return jwt.verify(raw, keystore, audience, now, issuer, leeway, outer)
    finally:
        jwe = jwt = None
        for name in _JWT_MODULES:
            sys.modules.pop("microace." + name, None)
            parent, _, leaf = name.rpartition(".")
            package = sys.modules.get("microace." + parent) if parent else microace
            if package is not None:
                package.__dict__.pop(leaf, None)


def verify(raw, keystore, audience, now=None, issuer=None, leeway=0):
    """Verify an access token of either format -> claims.Token (or a typed error)."""
    first = raw[0] if raw else 0
    if first == 0x65:  # "e"
        return _verify_jwt(raw, keystore, audience, now, issuer, leeway)
    if 0x80 <= first <= 0x9F or 0xC0 <= first <= 0xDB:  # CBOR major type 4 (array) or 6 (tag)
        return cwt.verify(raw, keystore, audience, now, issuer, leeway)
    raise DecodeError("access token is neither a CWT nor a JWT")
