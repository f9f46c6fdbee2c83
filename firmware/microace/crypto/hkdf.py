"""HKDF-SHA256 (RFC 5869), as OSCORE and COSE key derivation use it."""

from microace.crypto.hmac import hmac_pads, hmac_sha256, hmac_with_pads
from microace.errors import DecodeError

_HASH_LEN = 32


def hkdf_extract(salt, ikm):
    """Return PRK = HMAC(salt, IKM) (§2.2).

    An empty salt stands for HashLen zero bytes; HMAC pads both to the same block.
    """
    return hmac_sha256(salt, ikm)


def hkdf_expand(prk, info, length):
    """Return `length` bytes of OKM = T(1) | T(2) | ... (§2.3).

    Raises DecodeError when length is outside 0..255*HashLen or PRK is shorter than
    HashLen.
    """
    if not 0 <= length <= 255 * _HASH_LEN:
        raise DecodeError("HKDF output length")
    if len(prk) < _HASH_LEN:
        raise DecodeError("HKDF PRK shorter than the hash")
    pads = hmac_pads(prk)
    okm = bytearray(length)
    block = b""
    for start in range(0, length, _HASH_LEN):
        block = hmac_with_pads(pads, block + info + bytes((start // _HASH_LEN + 1,)))
        end = min(start + _HASH_LEN, length)
        okm[start:end] = block[:end - start]
    return bytes(okm)


def hkdf(ikm, salt, info, length):
    """Extract then expand: `length` bytes of key material from IKM."""
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)
