"""COSE (RFC 9052/9053): COSE_Sign1, COSE_Mac0, COSE_Encrypt0, COSE_Key, algorithm registry.

The key that checks a message is chosen by the board's allow-list (the key store), never by
the message: kid -> key -> the key's algorithm -> the structure that algorithm needs. The
message's protected `alg` must equal the key's algorithm. Sig/MAC/Enc structures are built
over the protected-header bytes exactly as received (RFC 9052 §4.4, §6.3, §5.3).
"""

from micropython import const

from microace import cbor
from microace.errors import DecodeError, VerifyError

# COSE message tags (RFC 9052 §2) and the CWT tag (RFC 8392 §6).
TAG_ENCRYPT0 = const(16)
TAG_MAC0 = const(17)
TAG_SIGN1 = const(18)
_TAG_CWT = const(61)

# COSE Header Parameters registry (RFC 9052 §3.1).
_HDR_ALG = const(1)
_HDR_CRIT = const(2)
_HDR_CONTENT_TYPE = const(3)
_HDR_KID = const(4)
_HDR_IV = const(5)
_HDR_PARTIAL_IV = const(6)
UNDERSTOOD_HEADERS = (_HDR_ALG, _HDR_CRIT, _HDR_CONTENT_TYPE, _HDR_KID, _HDR_IV,
                      _HDR_PARTIAL_IV)

# COSE Algorithms registry (RFC 9053): alg -> (structure tag, key type, key/nonce/tag bytes).
ALG_ES256 = const(-7)
ALG_EDDSA = const(-8)
_ALG_HMAC256_64 = const(4)
ALG_HMAC256_256 = const(5)
ALG_AES_CCM_16_64_128 = const(10)
ALG_A128KW = const(-3)
ALG_DIRECT_HKDF_SHA256 = const(-10)  # names OSCORE's HKDF (RFC 9203 §3.2.1), no COSE message

KTY_OKP = const(1)
KTY_EC2 = const(2)
KTY_SYMMETRIC = const(4)

#         alg: (structure,    kty,           key, nonce, tag)
ALGORITHMS = {
    ALG_ES256: (TAG_SIGN1, KTY_EC2, 0, 0, 64),  # ES256 (RFC 9053 §2.1)
    ALG_EDDSA: (TAG_SIGN1, KTY_OKP, 0, 0, 64),  # EdDSA with Ed25519 (RFC 9053 §2.2)
    _ALG_HMAC256_64: (TAG_MAC0, KTY_SYMMETRIC, 32, 0, 8),  # HMAC 256/64 (RFC 9053 §3.1)
    ALG_HMAC256_256: (TAG_MAC0, KTY_SYMMETRIC, 32, 0, 32),  # HMAC 256/256
    # AES-CCM (RFC 9053 §4.2): AES-CCM-L-M-keybits, L = 16 or 64 bits, M = tag bits
    ALG_AES_CCM_16_64_128: (TAG_ENCRYPT0, KTY_SYMMETRIC, 16, 13, 8),  # AES-CCM-16-64-128
    11: (TAG_ENCRYPT0, KTY_SYMMETRIC, 32, 13, 8),  # AES-CCM-16-64-256
    12: (TAG_ENCRYPT0, KTY_SYMMETRIC, 16, 7, 8),  # AES-CCM-64-64-128
    13: (TAG_ENCRYPT0, KTY_SYMMETRIC, 32, 7, 8),  # AES-CCM-64-64-256
    30: (TAG_ENCRYPT0, KTY_SYMMETRIC, 16, 13, 16),  # AES-CCM-16-128-128
    31: (TAG_ENCRYPT0, KTY_SYMMETRIC, 32, 13, 16),  # AES-CCM-16-128-256
    32: (TAG_ENCRYPT0, KTY_SYMMETRIC, 16, 7, 16),  # AES-CCM-64-128-128
    33: (TAG_ENCRYPT0, KTY_SYMMETRIC, 32, 7, 16),  # AES-CCM-64-128-256
    # A128KW (RFC 9053 §6.2.1): wraps a JWE's content key (jwe.py), protects no COSE message
    ALG_A128KW: (0, KTY_SYMMETRIC, 16, 0, 8),
}

# COSE Key Common Parameters and Key Type Parameters (RFC 9052 §7.1, RFC 9053 §7).
KEY_KTY = const(1)
KEY_KID = const(2)
_KEY_ALG = const(3)
KEY_CRV = const(-1)  # EC2 / OKP
KEY_X = const(-2)
KEY_Y = const(-3)
_KEY_D = const(-4)
_KEY_K = const(-1)  # Symmetric
CRV_P256 = const(1)
CRV_ED25519 = const(6)

STRUCTURE_NAMES = {TAG_SIGN1: "COSE_Sign1", TAG_MAC0: "COSE_Mac0", TAG_ENCRYPT0: "COSE_Encrypt0"}


def algorithm(alg):
    """The registry row for `alg`; VerifyError when this firmware does not implement it."""
    row = ALGORITHMS.get(alg) if isinstance(alg, int) and not isinstance(alg, bool) else None
    if row is None:
        raise VerifyError("unsupported alg %r" % (alg,))
    return row


class Key:
    """A parsed COSE_Key: its type, kid, algorithm and validated public point or secret."""

    def __init__(self, kty, kid, alg, public=None, secret=None):
        self.kty = kty
        self.kid = kid
        self.alg = alg
        self.public = public  # p256 point (X, Y) or Ed25519 public key object
        self.secret = secret  # symmetric key bytes (never leaves the key store)

    def is_symmetric(self):
        return self.kty == KTY_SYMMETRIC


def _bstr(m, label, size=None, required=True):
    v = m.get(label)
    if v is None and not required:
        return None
    if not isinstance(v, bytes) or (size is not None and len(v) != size):
        raise DecodeError("COSE_Key parameter %d must be a %sbyte string"
                          % (label, "%d-" % size if size else ""))
    return v


def parse_key(m):
    """COSE_Key map (or its CBOR bytes) -> Key, with the point checked to be on its curve."""
    if isinstance(m, (bytes, bytearray, memoryview)):
        m = cbor.decode(bytes(m))
    if not isinstance(m, dict):
        raise DecodeError("COSE_Key must be a map")
    kty = m.get(KEY_KTY)
    if type(kty) is not int:
        raise DecodeError("COSE_Key kty must be an integer")
    kid = _bstr(m, KEY_KID, required=False)
    alg = m.get(_KEY_ALG)
    row = None
    if alg is not None:
        row = ALGORITHMS.get(alg) if type(alg) is int else None
        if row is None or row[1] != kty:
            raise DecodeError("COSE_Key alg %r is unsupported or does not fit kty %r"
                              % (alg, kty))
    if kty == KTY_EC2:
        if type(m.get(KEY_CRV)) is not int or m[KEY_CRV] != CRV_P256:
            raise DecodeError("EC2 key must be on P-256 (crv 1)")
        from microace.crypto import p256  # loaded only on boards that use it (heap)

        public = p256.decode_point(_bstr(m, KEY_X, 32), _bstr(m, KEY_Y, 32))
    elif kty == KTY_OKP:
        if type(m.get(KEY_CRV)) is not int or m[KEY_CRV] != CRV_ED25519:
            raise DecodeError("OKP key must be Ed25519 (crv 6)")
        from microace.crypto import ed25519

        public = ed25519.decode_public_key(_bstr(m, KEY_X, 32))
    elif kty == KTY_SYMMETRIC:
        secret = _bstr(m, _KEY_K)
        if row is not None and len(secret) != row[2]:
            raise DecodeError("symmetric key length does not fit alg %d" % alg)
        return Key(kty, kid, alg, secret=secret)
    else:
        raise DecodeError("unsupported COSE_Key kty %r" % (kty,))
    if _KEY_D in m:
        raise DecodeError("COSE_Key holds a private key where a public key is expected")
    return Key(kty, kid, alg, public=public)


class Message:
    """A verified COSE message: which structure, its headers, and the payload or plaintext."""

    def __init__(self, structure, handle, protected, unprotected, payload):
        self.structure = structure
        self.handle = handle  # the key store handle that verified it
        self.protected = protected
        self.unprotected = unprotected
        self.payload = payload


def _split(obj):
    """Strip the optional CWT tag and the COSE tag -> (tag or None, array)."""
    if isinstance(obj, cbor.Tag) and obj.tag == _TAG_CWT:
        obj = obj.value
        if not isinstance(obj, cbor.Tag):
            raise DecodeError("CWT tag 61 must enclose a tagged COSE message")
    tag = None
    if isinstance(obj, cbor.Tag):
        tag = obj.tag
        if tag not in STRUCTURE_NAMES:
            raise DecodeError("unexpected CBOR tag %d around the token" % tag)
        obj = obj.value
    if not isinstance(obj, list):
        raise DecodeError("COSE message must be an array")
    return tag, obj


def _headers(protected_bytes, unprotected):
    """Decode and check the two header buckets (RFC 9052 §3)."""
    if not isinstance(protected_bytes, bytes):
        raise DecodeError("protected header must be a byte string")
    protected = cbor.decode(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, dict) or not isinstance(unprotected, dict):
        raise DecodeError("header buckets must be maps")
    for label in unprotected:
        if label in protected:
            raise DecodeError("header %r is in both buckets" % (label,))  # RFC 9052 §3
    if _HDR_ALG in unprotected or _HDR_ALG not in protected:
        raise DecodeError("alg must be in the protected header")
    if _HDR_CRIT in unprotected:
        raise DecodeError("crit must be in the protected header")  # RFC 9052 §3.1
    crit = protected.get(_HDR_CRIT)
    if crit is not None:
        if not isinstance(crit, list) or not crit:
            raise DecodeError("crit must be a non-empty array")
        for label in crit:
            if label not in UNDERSTOOD_HEADERS:
                raise DecodeError("unknown critical header %r" % (label,))
            if label not in protected:
                raise DecodeError("critical header %r is not in the protected header" % (label,))
    kid = protected.get(_HDR_KID, unprotected.get(_HDR_KID))
    if kid is not None and not isinstance(kid, bytes):
        raise DecodeError("kid must be a byte string")
    return protected, unprotected, kid


def verify(buf, keystore, external_aad=b""):
    """Verify a COSE_Sign1 / COSE_Mac0 / COSE_Encrypt0 with a key from `keystore` -> Message.

    Tagged or untagged: an untagged message takes its structure from the key's algorithm.
    """
    obj = cbor.decode(buf) if isinstance(buf, (bytes, bytearray, memoryview)) else buf
    tag, parts = _split(obj)
    if len(parts) not in (3, 4):
        raise DecodeError("COSE message must have 3 or 4 elements")
    protected, unprotected, kid = _headers(parts[0], parts[1])
    handle = keystore.lookup(kid)
    if handle is None:
        raise VerifyError("no trusted key for kid %s" % (kid.hex() if kid else "(none)"))
    alg = protected[_HDR_ALG]
    if alg != handle.alg:
        raise VerifyError("alg %r is not the algorithm bound to the key" % (alg,))
    structure, _, _, nonce_len, tag_len = algorithm(alg)
    if structure not in STRUCTURE_NAMES:
        raise VerifyError("alg %r protects no COSE message" % (alg,))
    if tag is not None and tag != structure:
        raise VerifyError("%s tag on a token for a %s key"
                          % (STRUCTURE_NAMES[tag], STRUCTURE_NAMES[structure]))
    if len(parts) != (3 if structure == TAG_ENCRYPT0 else 4):
        raise DecodeError("wrong number of elements for %s" % STRUCTURE_NAMES[structure])
    if structure == TAG_ENCRYPT0:
        ciphertext = parts[2]
        if not isinstance(ciphertext, bytes):
            raise DecodeError("ciphertext must be a byte string (detached is not supported)")
        if _HDR_PARTIAL_IV in protected or _HDR_PARTIAL_IV in unprotected:
            raise DecodeError("Partial IV is not supported for tokens")
        iv = protected.get(_HDR_IV, unprotected.get(_HDR_IV))
        if not isinstance(iv, bytes) or len(iv) != nonce_len:
            raise DecodeError("IV must be a %d-byte string" % nonce_len)
        if len(ciphertext) < tag_len:
            raise DecodeError("ciphertext shorter than its tag")
        aad = cbor.encode(["Encrypt0", parts[0], external_aad])  # RFC 9052 §5.3
        payload = keystore.decrypt(handle, alg, iv, aad, ciphertext)
    else:
        payload, sig = parts[2], parts[3]
        if not isinstance(payload, bytes):
            raise DecodeError("payload must be a byte string (detached is not supported)")
        if not isinstance(sig, bytes):
            raise DecodeError("signature/tag must be a byte string")
        if structure == TAG_SIGN1:
            tbs = cbor.encode(["Signature1", parts[0], external_aad, payload])  # RFC 9052 §4.4
            ok = keystore.verify(handle, alg, tbs, sig)
        else:
            tbs = cbor.encode(["MAC0", parts[0], external_aad, payload])  # RFC 9052 §6.3
            ok = keystore.mac_verify(handle, alg, tbs, sig)
        if not ok:
            raise VerifyError("%s does not verify" % STRUCTURE_NAMES[structure])
    return Message(structure, handle, protected, unprotected, payload)
