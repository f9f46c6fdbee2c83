"""CWT (RFC 8392) verification -> Token.

Verifies the COSE layer with the board's key store, unwraps one level of nesting
(Encrypt0 around Sign1/Mac0, RFC 8392 A.6), then hands the claims to the claims engine
(claims.py) with the CWT labels and the COSE `cnf` methods.
"""

from microace import cbor, claims as engine, cose
from microace.ace import (CLAIM_ACE_PROFILE, CLAIM_AUD, CLAIM_CNF, CLAIM_CNONCE, CLAIM_CTI,
                          CLAIM_EXI, CLAIM_EXP, CLAIM_IAT, CLAIM_ISS, CLAIM_NBF, CLAIM_SCOPE,
                          CLAIM_SUB, CNF_COSE_KEY, CNF_ENCRYPTED_COSE_KEY, CNF_KID, CNF_OSC)
from microace.errors import ClaimError, DecodeError

CNF_KCCS = 11  # draft default, not const: startup.py sets the board's (codepoints.py)

# The claims engine's name table (positions _ISS ... _EXI of claims.py, then the type of cti).
NAMES = (CLAIM_ISS, CLAIM_SUB, CLAIM_AUD, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CTI,
         CLAIM_CNF, CLAIM_SCOPE, CLAIM_ACE_PROFILE, CLAIM_CNONCE, CLAIM_EXI, bytes)


def _is_nested(payload):
    """The payload is itself a tagged COSE_Sign1/Mac0/Encrypt0 or CWT (RFC 8392 §7.2 step 8).

    A claims map starts with major type 5; tags 16..18 are one byte (0xd0..0xd2), tag 61 two.
    """
    first = payload[0] if payload else 0
    return 0xD0 <= first <= 0xD2 or (first == 0xD8 and payload[1:2] == b"\x3d")


def _parse_cnf(cnf, keystore, encrypted):
    """cnf (RFC 8747 §3.1) -> (method, value); secrets only inside a confidential token."""
    method, value = engine.one_method(cnf)
    if method == CNF_COSE_KEY:
        key = cose.parse_key(value)
        # RFC 8747 §3.3: a symmetric PoP key is only sent encrypted.
        if key.is_symmetric() and not encrypted:
            raise ClaimError("symmetric cnf key in an unencrypted token")
        return "key", key
    if method == CNF_ENCRYPTED_COSE_KEY:
        if not isinstance(value, (list, cbor.Tag)):  # RFC 8747 §3.3: the COSE_Encrypt0 itself
            raise DecodeError("Encrypted_COSE_Key must be a COSE_Encrypt0 array")
        msg = cose.verify(value, keystore)
        if msg.structure != cose.TAG_ENCRYPT0:
            raise ClaimError("Encrypted_COSE_Key must be a COSE_Encrypt0")
        return "key", cose.parse_key(msg.payload)
    if method == CNF_KID:
        if not isinstance(value, bytes):
            raise ClaimError("cnf kid must be a byte string")
        return "kid", value
    if method == CNF_OSC:
        return engine.check_osc(value, encrypted)
    if method == CNF_KCCS:  # EDHOC-OSCORE profile §3.1 (edhoc_oscore.py checks the CCS)
        return "kccs", value
    raise ClaimError("unsupported cnf method %r" % (method,))


def verify(buf, keystore, audience, now=None, issuer=None, leeway=0):
    """Verify a CWT (bytes) and validate its claims -> Token. Raises a typed error with a reason.

    `now`: trusted Unix time, or None when the board has none (then `exp`/`nbf` fail closed).
    """
    layers = [cose.verify(buf, keystore)]
    if _is_nested(layers[0].payload):  # one level only: the inner payload is the claims map
        layers.append(cose.verify(layers[0].payload, keystore))
        if _is_nested(layers[1].payload):
            raise DecodeError("token nested more than one level deep")
    claims = cbor.decode(layers[-1].payload)
    if not isinstance(claims, dict):
        raise DecodeError("CWT claims must be a map")
    encrypted = any(m.structure == cose.TAG_ENCRYPT0 for m in layers)
    issuers = [issuer] + [m.handle.issuer for m in layers]
    token = validate(claims, keystore, audience, now, issuers, leeway, encrypted)
    # What the signature (or MAC, or AEAD) covers: it names the token, whatever encoding of
    # its COSE layers came in (another bstr head, an extra unprotected header).
    token.verified = layers[-1].payload
    return token


def validate(claims, keystore, audience, now, issuers, leeway, encrypted):
    """Check a CWT claims map from a verified token -> Token (claims.validate with CWT labels)."""
    return engine.validate(claims, NAMES, _parse_cnf, keystore, audience, now, issuers, leeway,
                           encrypted)
