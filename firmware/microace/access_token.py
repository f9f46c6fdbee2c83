"""Which verifier an access token needs, by its first byte: a JWS compact JWT is base64url of a
JSON object, so it begins with "e" (the first six bits of '{'; "eyJ" when '"' follows, RFC 7515
§7.1); a CWT is a CBOR array or tag (RFC 8392 §7.2), never 0x65 (a CBOR text string). Anything
else is refused as malformed (4.00).

The JWT modules (jwt, jsonstrict) are imported for each JWT and dropped after it: loaded from
.mpy files their code sits in the heap (~13 KiB on the 64-bit unix port), which a board that
takes a JWT now and then should not give up for good; what stays is ~1 KiB of interned names.
"""

import sys

import microace
from microace import cwt
from microace.errors import DecodeError

_JWT_MODULES = ("jwt", "jsonstrict")


def _verify_jwt(raw, keystore, audience, now, issuer, leeway):
    if raw.count(b".") != 2:  # JWS compact has three segments: garbage costs no import
        raise DecodeError("JWS compact needs exactly three segments")
    try:
        from microace import jwt

        return jwt.verify(raw, keystore, audience, now, issuer, leeway)
    finally:
        jwt = None
        for name in _JWT_MODULES:
            sys.modules.pop("microace." + name, None)
            microace.__dict__.pop(name, None)


def verify(raw, keystore, audience, now=None, issuer=None, leeway=0):
    """Verify an access token of either format -> claims.Token (or a typed error)."""
    first = raw[0] if raw else 0
    if first == 0x65:  # "e"
        return _verify_jwt(raw, keystore, audience, now, issuer, leeway)
    if 0x80 <= first <= 0x9F or 0xC0 <= first <= 0xDB:  # CBOR major type 4 (array) or 6 (tag)
        return cwt.verify(raw, keystore, audience, now, issuer, leeway)
    raise DecodeError("access token is neither a CWT nor a JWT")
