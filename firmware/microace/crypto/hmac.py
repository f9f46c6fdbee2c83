"""HMAC-SHA256 (RFC 2104) on hashlib.sha256."""

from hashlib import sha256

_BLOCK = 64  # SHA-256 block size, bytes
_ZEROS = bytes(_BLOCK)
# The pads as ints below a 0x01 sentinel byte: key ^ pad then always has 65 bytes with
# the top byte set, so from_bytes/XOR/to_bytes do the same work for every key (an mpz
# is trimmed of leading zero digits, which would make the time depend on the key).
_IPAD = int.from_bytes(b"\x36" * _BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _BLOCK, "big")


def hmac_pads(key):
    """Return (K ^ ipad, K ^ opad), the two 64-byte blocks HMAC hashes first.

    Computed once per key; hkdf_expand reuses them for every block.
    """
    if len(key) > _BLOCK:
        key = sha256(key).digest()  # RFC 2104 §2: longer keys are hashed first
    k = int.from_bytes(b"\x01" + key + _ZEROS[len(key):], "big")
    return ((k ^ _IPAD).to_bytes(_BLOCK + 1, "big")[1:],
            (k ^ _OPAD).to_bytes(_BLOCK + 1, "big")[1:])


def hmac_with_pads(pads, msg):
    """HMAC-SHA256 of msg under the key that hmac_pads turned into pads."""
    inner = sha256(pads[0])
    inner.update(msg)
    outer = sha256(pads[1])
    outer.update(inner.digest())
    return outer.digest()


def hmac_sha256(key, msg):
    """Return the 32-byte HMAC-SHA256 of msg under key (any length; truncate the result
    for HMAC 256/64)."""
    return hmac_with_pads(hmac_pads(key), msg)
