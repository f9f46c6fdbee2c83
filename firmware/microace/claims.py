"""The one claims engine for every token format (CWT and JWT) -> Token.

A format module (cwt.py, jwt.py) verifies its own envelope, then hands the claims map here with
its table of claim names (`cwt.NAMES`: integer labels, `jwt.NAMES`: JSON member names) and its
own `cnf` parser. The rules (types, iss, aud, exp/nbf/iat, exi, scope, OSCORE input material)
are written once, below.
"""

from micropython import const

from microace.ace import (OSC_ALG, OSC_CONTEXT_ID, OSC_HKDF, OSC_ID, OSC_MS, OSC_SALT,
                          OSC_VERSION)
from microace.cose import ALG_AES_CCM_16_64_128, ALG_DIRECT_HKDF_SHA256, ALG_HMAC256_256
from microace.errors import AudienceError, ClaimError, DecodeError, ScopeError

# Positions in a format's name table: (iss, sub, aud, exp, nbf, iat, cti, cnf, scope,
# ace_profile, cnonce, exi), then the type of the token identifier (cti bytes / jti text).
_ISS = const(0)
_SUB = const(1)
_AUD = const(2)
_EXP = const(3)
_NBF = const(4)
_IAT = const(5)
_CTI = const(6)
_CNF = const(7)
_SCOPE = const(8)
_ACE_PROFILE = const(9)
_CNONCE = const(10)
_EXI = const(11)
_ID_TYPE = const(12)

# OSCORE Input Material parameters (RFC 9203 §3.2.1, ace.py): label -> required CBOR type.
_OSC_FIELDS = {OSC_ID: (bytes,), OSC_VERSION: (int,), OSC_MS: (bytes,), OSC_HKDF: (int, str),
               OSC_ALG: (int, str), OSC_SALT: (bytes,), OSC_CONTEXT_ID: (bytes,)}
# The HKDF and AEAD the material may name (integer or text, RFC 9203 §3.2.1), the ones
# oscore.py implements. HKDF is named by a COSE algorithm: implementations use -10
# (direct+HKDF-SHA-256) or 5 (HMAC 256/256), and RFC 8613's name for the default.
_HKDF_SHA256 = (ALG_DIRECT_HKDF_SHA256, ALG_HMAC256_256, "HKDF SHA-256", "HKDF-SHA-256",
                "direct+HKDF-SHA-256")
_AEADS = (ALG_AES_CCM_16_64_128, "AES-CCM-16-64-128")
_INF = float("inf")
_SHOWN = ("iss", "sub", "aud", "exp", "nbf", "iat", "cti", "cnf", "scope", "ace_profile",
          "cnonce", "exi")  # names in reasons, whatever the format


class Token:
    """The claims of a verified access token, typed and checked (any format)."""

    def __init__(self, claims, names, encrypted):
        self.claims = claims
        self.encrypted = encrypted  # confidentiality-protected (a COSE Encrypt0 layer)
        self.iss = claims.get(names[_ISS])
        self.sub = claims.get(names[_SUB])
        self.aud = claims.get(names[_AUD])
        self.exp = claims.get(names[_EXP])
        self.nbf = claims.get(names[_NBF])
        self.iat = claims.get(names[_IAT])
        self.cti = claims.get(names[_CTI])  # CWT cti (bytes) or JWT jti (text)
        self.scope = claims.get(names[_SCOPE])
        self.exi = claims.get(names[_EXI])
        self.cnonce = claims.get(names[_CNONCE])
        self.ace_profile = claims.get(names[_ACE_PROFILE])
        self.cnf = None  # (method, value): ('key', cose.Key) ('kid', bytes) ('osc', dict)
        # the bytes the signature/MAC covered: names the token (the format's verify)
        self.verified = b""


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_type(claims, names, at, kinds):
    v = claims.get(names[at])
    if v is not None and (isinstance(v, bool) or not isinstance(v, kinds)):
        raise ClaimError("%s has the wrong type" % _SHOWN[at])
    return v


def _numeric_date(claims, names, at):
    """NumericDate (RFC 8392 §2, RFC 7519 §2): integer or float seconds; NaN and infinities
    reject."""
    v = claims.get(names[at])
    if v is None:
        return None
    if isinstance(v, float):
        if v != v or v in (_INF, -_INF):
            raise ClaimError("%s is not a finite NumericDate" % _SHOWN[at])
        return v
    if not is_int(v):
        raise ClaimError("%s must be a NumericDate" % _SHOWN[at])
    return v


def check_osc(material, encrypted):
    """OSCORE_Input_Material (RFC 9203 §3.2.1) with integer labels -> the same map, checked:
    ClaimError for a field missing, unknown or mistyped, or the secret in the clear;
    DecodeError (4.00) for an empty ms or a version, HKDF or AEAD this firmware lacks."""
    if not isinstance(material, dict):
        raise ClaimError("cnf osc must be a map")
    for label, v in material.items():
        kinds = _OSC_FIELDS.get(label)
        if kinds is None or not isinstance(v, kinds) or isinstance(v, bool):
            raise ClaimError("OSCORE_Input_Material field %r is unknown or mistyped" % (label,))
    if OSC_ID not in material or OSC_MS not in material:
        raise ClaimError("OSCORE_Input_Material needs id and ms")  # RFC 9203 §3.2.1
    if not encrypted:
        raise ClaimError("OSCORE master secret in an unencrypted token")  # RFC 9203 §3.2
    # What oscore.Context.from_ace derives from, checked here once, before any crypto; the
    # types are right (above: no bool, no float), so `in` cannot confuse True with 1.
    if not material[OSC_MS]:
        raise DecodeError("OSCORE input material with an empty ms")
    if material.get(OSC_VERSION, 1) != 1:
        raise DecodeError("OSCORE version not supported")
    if material.get(OSC_HKDF, ALG_DIRECT_HKDF_SHA256) not in _HKDF_SHA256:
        raise DecodeError("OSCORE HKDF not supported")
    if material.get(OSC_ALG, ALG_AES_CCM_16_64_128) not in _AEADS:
        raise DecodeError("OSCORE AEAD algorithm not supported")
    return "osc", material


def one_method(cnf):
    """cnf holds exactly one confirmation method (RFC 8747 §3.1, RFC 7800 §3.1)."""
    if not isinstance(cnf, dict) or len(cnf) != 1:
        raise ClaimError("cnf must be a map with exactly one confirmation method")
    return next(iter(cnf.items()))


def _check_aud(aud, audience):
    if isinstance(aud, list):
        if not aud or not all(isinstance(a, str) for a in aud):
            raise ClaimError("aud array must hold text strings")
        ok = audience in aud
    elif isinstance(aud, str):
        ok = aud == audience  # exact: "rs1" is not "rs10" (RFC 8392 §3.1.3, RFC 7519 §4.1.3)
    elif aud is None:
        raise AudienceError("token has no aud")
    else:
        raise ClaimError("aud must be a text string or an array of them")
    if not ok:
        raise AudienceError("aud does not name this resource server")


def validity(claims, names, now, leeway, what="token"):
    """exp and nbf of a claims set (a token's, or a CCS's: the EDHOC-OSCORE profile's
    AUTH_CRED_C) against the trusted `now` -> exp; ClaimError outside them, and when there is
    no trusted now to check one that is present (fail closed)."""
    exp = _numeric_date(claims, names, _EXP)
    nbf = _numeric_date(claims, names, _NBF)
    if exp is not None:
        if now is None:
            raise ClaimError("no trusted time to check exp")
        if now - leeway >= exp:  # RFC 8392 §3.1.4, RFC 7519 §4.1.4: now must be before exp
            raise ClaimError("%s expired" % what)
    if nbf is not None:
        if now is None:
            raise ClaimError("no trusted time to check nbf")
        if now + leeway < nbf:  # RFC 8392 §3.1.5, RFC 7519 §4.1.5
            raise ClaimError("%s not yet valid (nbf)" % what)
    return exp


def validate(claims, names, parse_cnf, keystore, audience, now, issuers, leeway, encrypted):
    """Check a claims map from a verified token -> Token. `names`: the format's name table;
    `parse_cnf(cnf, keystore, encrypted)` -> (method, value); `issuers`: each must match iss or
    be None; `now`: trusted Unix time or None (then exp and nbf fail closed)."""
    for name in names[:_ID_TYPE]:  # null is not "absent": `cti: null` must not satisfy exi
        if name in claims and claims[name] is None:
            raise ClaimError("claim %s is null" % (name,))
    iss = _check_type(claims, names, _ISS, str)
    _check_type(claims, names, _SUB, str)
    _check_type(claims, names, _CTI, names[_ID_TYPE])
    _check_type(claims, names, _CNONCE, bytes)
    profile = claims.get(names[_ACE_PROFILE])
    if profile is not None and not is_int(profile):
        raise ClaimError("ace_profile must be an integer")
    for want in issuers:
        if want is not None and iss != want:
            raise ClaimError("iss %r is not the trusted issuer" % (iss,))
    _check_aud(claims.get(names[_AUD]), audience)

    exp = validity(claims, names, now, leeway)
    _numeric_date(claims, names, _IAT)
    exi = claims.get(names[_EXI])
    if exi is not None:
        if not is_int(exi) or exi < 0:
            raise ClaimError("exi must be an unsigned integer")
        if names[_CTI] not in claims:
            raise ClaimError("exi without cti")  # RFC 9200 §5.10.3
    if exp is None and exi is None:
        raise ClaimError("token has neither exp nor exi")

    scope = claims.get(names[_SCOPE])
    if scope is not None and not isinstance(scope, (str, bytes, list)):
        raise ScopeError("scope must be a text string, AIF bytes or an AIF array")
    token = Token(claims, names, encrypted)
    cnf = claims.get(names[_CNF])
    if cnf is not None:
        token.cnf = parse_cnf(cnf, keystore, encrypted)
    return token
