"""AES Key Unwrap (RFC 3394 §2.2.2, index-based form) on cryptolib.aes: JWE `A128KW`
(RFC 7518 §4.4) key management. Only the key store calls it: the KEK never leaves it."""

from cryptolib import aes
from micropython import const

from microace.crypto.ct import ct_eq
from microace.errors import VerifyError

_MODE_ECB = const(1)
_ICV = b"\xa6" * 8  # RFC 3394 §2.2.3.1: the default initial value


def unwrap(kek, wrapped):
    """Unwrap `wrapped` ((n+1) 64-bit blocks, n >= 2) under the 16/24/32-byte `kek` -> the key
    data; VerifyError when the integrity check value is not A6A6A6A6A6A6A6A6 (constant time)."""
    n = len(wrapped) // 8 - 1
    if len(wrapped) % 8 or n < 2:
        raise VerifyError("wrapped key must be a multiple of 8 bytes, at least 24")
    ecb = aes(kek, _MODE_ECB)
    block = bytearray(16)
    block[:8] = wrapped[:8]  # A
    r = bytearray(wrapped[8:])  # R[1..n]
    for j in range(5, -1, -1):
        for i in range(n, 0, -1):
            t = n * j + i
            k = 7
            while t:  # A ^ t, t as a 64-bit big-endian integer
                block[k] ^= t & 0xFF
                t >>= 8
                k -= 1
            block[8:] = r[8 * i - 8:8 * i]
            ecb.decrypt(block, block)  # B = AES-1(K, (A ^ t) | R[i]); A = MSB64(B)
            r[8 * i - 8:8 * i] = block[8:]  # R[i] = LSB64(B)
    if not ct_eq(block[:8], _ICV):
        raise VerifyError("key unwrap integrity check failed")
    return bytes(r)
