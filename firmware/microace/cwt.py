"""CWT (RFC 8392) verification and claim validation -> Token.

Verifies the COSE layer with the board's key store, unwraps one level of nesting
(Encrypt0 around Sign1/Mac0, RFC 8392 A.6), then checks every claim the board relies on.
"""

from micropython import const

from microace import cbor, cose
from microace.errors import AudienceError, ClaimError, DecodeError, ScopeError

# CWT Claims registry (RFC 8392 §9.1, RFC 9200 §8.13, RFC 8747 §3.1).
CLAIM_ISS = const(1)
CLAIM_SUB = const(2)
CLAIM_AUD = const(3)
CLAIM_EXP = const(4)
CLAIM_NBF = const(5)
CLAIM_IAT = const(6)
CLAIM_CTI = const(7)
CLAIM_CNF = const(8)
CLAIM_SCOPE = const(9)
CLAIM_ACE_PROFILE = const(38)
CLAIM_CNONCE = const(39)
CLAIM_EXI = const(40)

# CWT Confirmation Methods registry (RFC 8747 §3.1, RFC 9203 §9.2).
CNF_COSE_KEY = const(1)
CNF_ENCRYPTED_COSE_KEY = const(2)
CNF_KID = const(3)
CNF_OSC = const(4)

# OSCORE Input Material parameters (RFC 9203 §3.2.1): label -> required CBOR type.
OSC_ID = const(0)
OSC_MS = const(2)
OSC_FIELDS = {0: (bytes,), 1: (int,), 2: (bytes,), 3: (int, str), 4: (int, str),
              5: (bytes,), 6: (bytes,)}

REGISTERED = (CLAIM_ISS, CLAIM_SUB, CLAIM_AUD, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CTI,
              CLAIM_CNF, CLAIM_SCOPE, CLAIM_ACE_PROFILE, CLAIM_CNONCE, CLAIM_EXI)
INF = float("inf")


class Token:
    """The claims of a verified access token, typed and checked."""

    def __init__(self, claims, encrypted):
        self.claims = claims
        self.encrypted = encrypted  # confidentiality-protected by an Encrypt0 layer
        self.iss = claims.get(CLAIM_ISS)
        self.sub = claims.get(CLAIM_SUB)
        self.aud = claims.get(CLAIM_AUD)
        self.exp = claims.get(CLAIM_EXP)
        self.nbf = claims.get(CLAIM_NBF)
        self.iat = claims.get(CLAIM_IAT)
        self.cti = claims.get(CLAIM_CTI)
        self.scope = claims.get(CLAIM_SCOPE)
        self.exi = claims.get(CLAIM_EXI)
        self.cnonce = claims.get(CLAIM_CNONCE)
        self.ace_profile = claims.get(CLAIM_ACE_PROFILE)
        self.cnf = None  # (method, value): ('key', cose.Key) ('kid', bytes) ('osc', dict)
        self.verified = b""  # the claims bytes the COSE layers verified (set by verify())


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_type(claims, label, name, kinds):
    v = claims.get(label)
    if v is not None and (isinstance(v, bool) or not isinstance(v, kinds)):
        raise ClaimError("%s has the wrong type" % name)
    return v


def _numeric_date(claims, label, name):
    """NumericDate (RFC 8392 §2): integer or float seconds; NaN and infinities reject."""
    v = claims.get(label)
    if v is None:
        return None
    if isinstance(v, float):
        if v != v or v in (INF, -INF):
            raise ClaimError("%s is not a finite NumericDate" % name)
        return v
    if not _is_int(v):
        raise ClaimError("%s must be a NumericDate" % name)
    return v


def _is_nested(payload):
    """The payload is itself a tagged COSE_Sign1/Mac0/Encrypt0 or CWT (RFC 8392 §7.2 step 8).

    A claims map starts with major type 5; tags 16..18 are one byte (0xd0..0xd2), tag 61 two.
    """
    first = payload[0] if payload else 0
    return 0xD0 <= first <= 0xD2 or (first == 0xD8 and payload[1:2] == b"\x3d")


def _parse_cnf(cnf, keystore, encrypted):
    """cnf (RFC 8747 §3.1) -> (method, value); secrets only inside a confidential token."""
    if not isinstance(cnf, dict) or len(cnf) != 1:
        raise ClaimError("cnf must be a map with exactly one confirmation method")
    method, value = next(iter(cnf.items()))
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
        if not isinstance(value, dict):
            raise ClaimError("cnf osc must be a map")
        for label, v in value.items():
            kinds = OSC_FIELDS.get(label)
            if kinds is None or not isinstance(v, kinds) or isinstance(v, bool):
                raise ClaimError("OSCORE_Input_Material field %r is unknown or mistyped"
                                 % (label,))
        if OSC_ID not in value or OSC_MS not in value:
            raise ClaimError("OSCORE_Input_Material needs id and ms")  # RFC 9203 §3.2.1
        if not encrypted:
            raise ClaimError("OSCORE master secret in an unencrypted token")  # RFC 9203 §3.2
        return "osc", value
    raise ClaimError("unsupported cnf method %r" % (method,))


def _check_scope(scope):
    if scope is None:
        return
    if not isinstance(scope, (str, bytes, list)):
        raise ScopeError("scope must be a text string, AIF bytes or an AIF array")


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
    """Check a claims map from a verified token -> Token. `issuers`: each must match iss or be None."""
    for label in REGISTERED:  # null is not "absent": `7: null` must not satisfy "exi needs cti"
        if label in claims and claims[label] is None:
            raise ClaimError("claim %d is null" % label)
    iss = _check_type(claims, CLAIM_ISS, "iss", str)
    _check_type(claims, CLAIM_SUB, "sub", str)
    _check_type(claims, CLAIM_CTI, "cti", bytes)
    _check_type(claims, CLAIM_CNONCE, "cnonce", bytes)
    profile = claims.get(CLAIM_ACE_PROFILE)
    if profile is not None and not _is_int(profile):
        raise ClaimError("ace_profile must be an integer")
    for want in issuers:
        if want is not None and iss != want:
            raise ClaimError("iss %r is not the trusted issuer" % (iss,))

    aud = claims.get(CLAIM_AUD)
    if isinstance(aud, list):
        if not aud or not all(isinstance(a, str) for a in aud):
            raise ClaimError("aud array must hold text strings")
        ok = audience in aud
    elif isinstance(aud, str):
        ok = aud == audience  # exact match: "rs1" is not "rs10" (RFC 8392 §3.1.3)
    elif aud is None:
        raise AudienceError("token has no aud")
    else:
        raise ClaimError("aud must be a text string or an array of them")
    if not ok:
        raise AudienceError("aud does not name this resource server")

    exp = _numeric_date(claims, CLAIM_EXP, "exp")
    nbf = _numeric_date(claims, CLAIM_NBF, "nbf")
    _numeric_date(claims, CLAIM_IAT, "iat")
    exi = claims.get(CLAIM_EXI)
    if exi is not None:
        if not _is_int(exi) or exi < 0:
            raise ClaimError("exi must be an unsigned integer")
        if CLAIM_CTI not in claims:
            raise ClaimError("exi without cti")  # RFC 9200 §5.10.3
    if exp is None and exi is None:
        raise ClaimError("token has neither exp nor exi")
    if exp is not None:
        if now is None:
            raise ClaimError("no trusted time to check exp")
        if now - leeway >= exp:  # RFC 8392 §3.1.4: now must be before exp
            raise ClaimError("token expired")
    if nbf is not None:
        if now is None:
            raise ClaimError("no trusted time to check nbf")
        if now + leeway < nbf:  # RFC 8392 §3.1.5
            raise ClaimError("token not yet valid (nbf)")

    _check_scope(claims.get(CLAIM_SCOPE))
    token = Token(claims, encrypted)
    cnf = claims.get(CLAIM_CNF)
    if cnf is not None:
        token.cnf = _parse_cnf(cnf, keystore, encrypted)
    return token
