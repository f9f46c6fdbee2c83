"""AES_128_CBC_HMAC_SHA_256 decryption (RFC 7518 §5.2.2.2, §5.2.3: JWE `A128CBC-HS256`).

The tag is checked in constant time before any decryption, so a padding error can only
follow a valid tag: no padding oracle (RFC 7518 §5.2.2.2 step 2 before step 3)."""

from cryptolib import aes
from micropython import const

from microace.crypto.ct import ct_eq
from microace.crypto.hmac import hmac_sha256
from microace.errors import DecodeError, VerifyError

_MODE_CBC = const(2)


def decrypt(key, aad, iv, ciphertext, tag):
    """32-byte `key` (MAC_KEY || ENC_KEY), 16-byte iv and tag -> plaintext; VerifyError for a
    wrong tag or padding."""
    if len(key) != 32 or len(iv) != 16 or len(tag) != 16:
        raise DecodeError("A128CBC-HS256 needs a 32-byte key, 16-byte IV and 16-byte tag")
    if not ciphertext or len(ciphertext) % 16:
        raise DecodeError("A128CBC-HS256 ciphertext must be whole AES blocks")
    al = (8 * len(aad)).to_bytes(8, "big")  # AL: the AAD length in bits, 64-bit big-endian
    mac = hmac_sha256(key[:16], aad + iv + ciphertext + al)
    if not ct_eq(mac[:16], tag):  # T = the first 16 octets of M
        raise VerifyError("JWE authentication tag does not verify")
    plain = aes(key[16:], _MODE_CBC, iv).decrypt(ciphertext)
    pad = plain[-1]
    # PKCS #7 (RFC 5652 §6.3), strictly: 1..16 bytes, each equal to the count
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise VerifyError("JWE plaintext padding is invalid")
    return plain[:-pad]
