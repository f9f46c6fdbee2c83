"""JWT access tokens in JWS compact serialization (RFC 7519, RFC 7515) -> Token.

Loaded only when a JWT arrives (access_token.py). Everything is parsed strictly before any
signature work: three base64url segments (RFC 7515 §2: no padding, no other characters,
canonical final bits), bounded sizes, JSON through jsonstrict (duplicate names, non-finite
numbers and deep nesting refused). The key is chosen by the board's allow-list exactly as for
COSE (kid -> key -> the key's algorithm); the header's `alg` must name that algorithm (RFC 8725
§3.1: never `none`, never a different one). The signature covers the ASCII bytes of
header.payload as received. Claims go through the same engine as CWT (claims.py).
"""

import binascii

from micropython import const

from microace import claims as engine, cose
from microace.errors import ClaimError, DecodeError, VerifyError
from microace.jsonstrict import loads_object

_MAX_TOKEN = const(4096)  # characters; the RS's max_token_bytes is the tighter limit
_MAX_HEADER = const(256)  # characters of the header segment
# JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1; "Ed25519" is RFC 9864's fully-specified name
# for the same) -> the COSE algorithm a board key is bound to.
_ALGS = {"ES256": cose.ALG_ES256, "EdDSA": cose.ALG_EDDSA, "Ed25519": cose.ALG_EDDSA,
         "HS256": cose.ALG_HMAC256_256}
_SIG_LEN = {cose.ALG_ES256: 64, cose.ALG_EDDSA: 64, cose.ALG_HMAC256_256: 32}
_TYPES = ("at+jwt", "application/at+jwt", "jwt", "application/jwt")  # RFC 9068 §2.1, 7519 §5.1
# Header parameters this board reads; a JWS header may carry others, which it ignores
# (RFC 7515 §4) unless they are listed in crit. These it refuses outright: a JWT nested in
# a JWS (cty, RFC 7519 §5.2: only JWE around JWS nests, jwe.py), JWE parameters (enc, zip),
# unencoded payloads (b64, RFC 7797) and keys or key references in the token (RFC 8725
# §3.10: the key comes from the allow-list only).
_REFUSED = ("cty", "enc", "zip", "b64", "jwk", "jku", "x5u", "x5c")

# The claims engine's name table (positions _ISS ... _EXI of claims.py, then the type of jti):
# RFC 7519 §4.1, RFC 9200 §8.14 (ace_profile, cnonce, exi), RFC 8693 §4.2 (scope).
NAMES = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf", "scope", "ace_profile",
         "cnonce", "exi", str)
# OSCORE Security Context parameters as JSON members (RFC 9203 §3.2.1, Figure 9); byte-string
# values are base64url text.
_OSC_NAMES = {"id": 0, "version": 1, "ms": 2, "hkdf": 3, "alg": 4, "salt": 5, "contextId": 6}
_OSC_BINARY = (0, 2, 5, 6)

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_VALUE = bytearray(b"\xff" * 256)
for _i in range(64):
    _VALUE[_ALPHABET[_i]] = _i


def b64url_decode(seg):
    """base64url without padding (RFC 7515 §2, RFC 4648 §5) -> bytes; anything else, even what
    binascii would skip or accept (other characters, '=', non-zero unused bits), rejects."""
    n = len(seg)
    if n % 4 == 1:
        raise DecodeError("base64url segment has an impossible length")
    for c in seg:
        if _VALUE[c] == 0xFF:
            raise DecodeError("character outside the base64url alphabet")
    if n and _VALUE[seg[-1]] & (0x0F if n % 4 == 2 else 0x03 if n % 4 == 3 else 0):
        raise DecodeError("base64url segment is not canonical")  # RFC 4648 §3.5
    std = bytes(seg).replace(b"-", b"+").replace(b"_", b"/") + b"=" * (-n % 4)
    return binascii.a2b_base64(std)


def _text_bytes(value, what):
    if not isinstance(value, str):
        raise ClaimError("%s must be base64url text" % what)
    return b64url_decode(value.encode())


def _osc(value, encrypted):
    """A JSON OSCORE_Input_Material (RFC 9203 Figure 9) -> the integer-labelled map."""
    if not isinstance(value, dict):
        raise ClaimError("cnf osc must be an object")
    material = {}
    for name, v in value.items():
        label = _OSC_NAMES.get(name)
        if label is None:
            raise ClaimError("OSCORE_Input_Material member %r is unknown" % name)
        material[label] = _text_bytes(v, name) if label in _OSC_BINARY else v
    return engine.check_osc(material, encrypted)


def _jwk(jwk, encrypted):
    """A public JWK (RFC 7517, RFC 7518 §6.2, RFC 8037 §2) -> cose.Key, checked as COSE_Key."""
    if not isinstance(jwk, dict):
        raise ClaimError("cnf jwk must be an object")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if "d" in jwk:
        raise DecodeError("cnf jwk holds a private key")
    if kty == "oct":  # RFC 7800 §3.3: a symmetric key travels only encrypted (a JWE)
        raise ClaimError("symmetric cnf jwk is not supported (use osc)" if encrypted
                         else "symmetric cnf key in an unencrypted token")
    if kty == "EC" and crv == "P-256":
        m = {1: cose.KTY_EC2, -1: cose.CRV_P256, -2: _text_bytes(jwk.get("x"), "x"),
             -3: _text_bytes(jwk.get("y"), "y")}
    elif kty == "OKP" and crv == "Ed25519":
        m = {1: cose.KTY_OKP, -1: cose.CRV_ED25519, -2: _text_bytes(jwk.get("x"), "x")}
    else:
        raise ClaimError("cnf jwk must be an EC P-256 or OKP Ed25519 key")
    kid = jwk.get("kid")
    if kid is not None:
        if not isinstance(kid, str):
            raise ClaimError("cnf jwk kid must be a string")
        m[2] = kid.encode()
    return "key", cose.parse_key(m)


def _parse_cnf(cnf, keystore, encrypted):
    """cnf (RFC 7800 §3.1) -> (method, value): osc (RFC 9203), jwk (§3.2) or kid (§3.4)."""
    method, value = engine.one_method(cnf)
    if method == "osc":
        return _osc(value, encrypted)
    if method == "jwk":
        return _jwk(value, encrypted)
    if method == "kid":
        if not isinstance(value, str):
            raise ClaimError("cnf kid must be a string")
        return "kid", value.encode()
    raise ClaimError("unsupported cnf method %r" % (method,))


def check_header(header, refused):
    """The JOSE header rules a JWS and a JWE share (RFC 7515 §4.1, RFC 7516 §4.1): parameters
    in `refused` absent, crit understood or refused, typ a JWT type if present -> (alg, kid)."""
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise DecodeError("JOSE header needs alg as a string")
    for name in refused:
        if name in header:
            raise DecodeError("JOSE header parameter %s is not supported" % name)
    crit = header.get("crit")
    if crit is not None:  # RFC 7515 §4.1.11: this board understands no extension
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise DecodeError("crit must be a non-empty array of strings")
        raise DecodeError("unknown critical header %r" % (crit[0],))
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TYPES):
        raise DecodeError("typ %r is not a JWT access token" % (typ,))
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise DecodeError("kid must be a string")
    return alg, kid


def _header(header):
    """The JWS header's COSE algorithm and kid (RFC 8725 §3.1: alg from a fixed list)."""
    alg, kid = check_header(header, _REFUSED)
    cose_alg = _ALGS.get(alg)
    if cose_alg is None:  # "none", lower-case names, RS256, ...: RFC 8725 §3.1
        raise VerifyError("JWS alg %r is not accepted" % alg)
    return cose_alg, kid


def segments(token, count):
    """Compact serialization -> (bytes, its `count` non-empty segments); DecodeError for any
    other shape, an oversized token or an oversized header segment (the first)."""
    if len(token) > _MAX_TOKEN:
        raise DecodeError("JWT too large")
    token = bytes(token)
    parts = token.split(b".")
    if len(parts) != count:  # JWS compact has three (RFC 7515 §7.1), JWE five (RFC 7516 §7.1)
        raise DecodeError("JOSE compact serialization needs exactly %d segments" % count)
    if not all(parts):
        raise DecodeError("empty JOSE segment")
    if len(parts[0]) > _MAX_HEADER:
        raise DecodeError("JOSE header too large")
    return token, parts


def split(token):
    """JWS compact -> (signing input, header dict, payload dict, signature bytes); DecodeError
    before any crypto for anything that is not exactly three canonical segments of JSON."""
    token, parts = segments(token, 3)
    head, body, sig = parts  # an empty signature is alg none (RFC 7515 A.5)
    header = loads_object(b64url_decode(head))
    payload = loads_object(b64url_decode(body))
    return token[:len(head) + 1 + len(body)], header, payload, b64url_decode(sig)


def verify(token, keystore, audience, now=None, issuer=None, leeway=0, outer=None):
    """Verify a JWS-compact JWT (bytes) and validate its claims -> Token. Raises a typed error.

    `now`: trusted Unix time, or None when the board has none (then `exp`/`nbf` fail closed).
    `outer`: the key handle of the JWE this JWS came out of (a nested JWT, jwe.py), or None;
    only then is the token confidential, so cnf may carry a secret (RFC 7800 §3.3).
    """
    signing_input, header, claims, sig = split(token)
    alg, kid = _header(header)
    handle = keystore.lookup(kid.encode() if kid is not None else None)
    if handle is None:
        raise VerifyError("no trusted key for kid %r" % (kid,))
    if alg != handle.alg:
        raise VerifyError("JWS alg %s is not the algorithm bound to the key" % header["alg"])
    if len(sig) != _SIG_LEN[alg]:
        raise VerifyError("JWS signature has the wrong length")
    if alg == cose.ALG_HMAC256_256:
        ok = keystore.mac_verify(handle, alg, signing_input, sig)  # constant-time compare
    else:
        ok = keystore.verify(handle, alg, signing_input, sig)  # ES256 raw r||s (RFC 7518 §3.4)
    if not ok:
        raise VerifyError("JWS signature does not verify")
    cnonce = claims.get("cnonce")
    if cnonce is not None:  # RFC 9200 §5.10: bytes; in JSON base64url text
        claims["cnonce"] = _text_bytes(cnonce, "cnonce")
    issuers = [issuer, handle.issuer, outer.issuer if outer is not None else None]
    token = engine.validate(claims, NAMES, _parse_cnf, keystore, audience, now, issuers, leeway,
                            outer is not None)
    # What the signature covers names the token, whatever else came around it.
    token.verified = signing_input
    return token
