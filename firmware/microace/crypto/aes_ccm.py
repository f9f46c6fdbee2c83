"""AES-CCM (RFC 3610, NIST SP 800-38C) on cryptolib.aes, for COSE algs 10-13 and 30-33.

Nonce 7..13 bytes (length field L = 15 - nonce length), tag 4..16 bytes (even),
AES-128 or AES-256. The CBC-MAC is one CBC call over the whole formatted input and the
CTR keystream one ECB call over all counter blocks; XOR is done on big ints.
"""

from cryptolib import aes
from micropython import const

from microace.crypto.ct import ct_eq
from microace.errors import DecodeError, VerifyError

_MODE_ECB = const(1)
_MODE_CBC = const(2)
_ZERO_IV = bytes(16)
_TAG_LENS = (4, 6, 8, 10, 12, 14, 16)


def _checked_q(key, nonce, tag_len, payload_len):
    """Check the parameters; return q = 15 - nonce length, the byte size of the
    payload-length field and of the counter (L in RFC 3610)."""
    if len(key) != 16 and len(key) != 32:
        raise DecodeError("AES-CCM key size")
    if not 7 <= len(nonce) <= 13:
        raise DecodeError("AES-CCM nonce size")
    if tag_len not in _TAG_LENS:
        raise DecodeError("AES-CCM tag size")
    q = 15 - len(nonce)
    if payload_len >> (8 * q):
        raise DecodeError("AES-CCM payload too long for the nonce size")
    return q


def _xor(a, b1):
    """a XOR b for b1 = 0x01 | b (b as long as a), in time independent of the result.

    The 0x01 above b keeps every int len(a) + 1 bytes long: mpz results are trimmed of
    leading zero digits, so without it the time would grow with the number of leading
    zero bytes of the plaintext or tag, an oracle when decrypting forged data.
    """
    return (int.from_bytes(a, "big") ^ int.from_bytes(b1, "big")).to_bytes(
        len(a) + 1, "big")[1:]


def _keystream(key, nonce, q, payload_len):
    """Return a buffer holding 0x01 | S_1 | ... | S_m | S_0 from offset 15, where
    S_i = AES_K(A_i) (RFC 3610 §2.3): the payload's keystream comes with the byte
    _xor needs in front of it; S_0, for the tag, is the last block."""
    blocks = (payload_len + 15) >> 4
    ctr = bytearray(16 * (blocks + 2))
    ctr[15] = 1
    # A_i = flags | nonce | i with flags = L' = q - 1; A_0 is the last block, counter 0.
    ctr[16:] = (bytes((q - 1,)) + nonce + bytes(q)) * (blocks + 1)
    for i in range(1, blocks + 1):
        at = 16 * i + 15  # last byte of A_i; i < 2^(8q) was checked, so it fits
        count = i
        while count:
            ctr[at] = count & 0xFF
            count >>= 8
            at -= 1
    counters = memoryview(ctr)[16:]
    aes(key, _MODE_ECB).encrypt(counters, counters)
    return ctr


def _cbc_mac(key, nonce, q, aad, payload, tag_len):
    """Return the CBC-MAC block T over B_0 | encoded AAD | payload (RFC 3610 §2.2)."""
    aad_len = len(aad)
    payload_len = len(payload)
    if aad_len == 0:
        head = b""
    elif aad_len < 0xFF00:
        head = aad_len.to_bytes(2, "big")
    else:  # 2^16 - 2^8 <= l(a) < 2^32; longer AAD cannot exist in memory here
        head = b"\xff\xfe" + aad_len.to_bytes(4, "big")
    aad_end = 16 + len(head) + aad_len
    payload_at = (aad_end + 15) & ~15
    buf = bytearray(payload_at + ((payload_len + 15) & ~15))
    # B_0 = flags (Adata, M' = (M - 2) / 2, L' = L - 1) | nonce | l(m)
    buf[0] = (0x40 if aad_len else 0) | ((tag_len - 2) >> 1) << 3 | (q - 1)
    buf[1:16 - q] = nonce
    buf[16 - q:16] = payload_len.to_bytes(q, "big")
    buf[16:aad_end - aad_len] = head
    buf[aad_end - aad_len:aad_end] = aad
    buf[payload_at:payload_at + payload_len] = payload
    aes(key, _MODE_CBC, _ZERO_IV).encrypt(buf, buf)
    return buf[-16:]


def encrypt(key, nonce, aad, plaintext, tag_len):
    """Return ciphertext | tag (tag_len bytes)."""
    n = len(plaintext)
    q = _checked_q(key, nonce, tag_len, n)
    mac = _cbc_mac(key, nonce, q, aad, plaintext, tag_len)
    stream = _keystream(key, nonce, q, n)
    s0 = len(stream) - 16
    return (_xor(plaintext, memoryview(stream)[15:16 + n])
            + _xor(mac[:tag_len], b"\x01" + stream[s0:s0 + tag_len]))


def decrypt(key, nonce, aad, data, tag_len):
    """Return the plaintext of data = ciphertext | tag.

    Raises VerifyError when the tag does not match (no plaintext leaves) and
    DecodeError for bad parameters or data shorter than the tag.
    """
    n = len(data) - tag_len
    if n < 0:
        raise DecodeError("AES-CCM data shorter than the tag")
    q = _checked_q(key, nonce, tag_len, n)
    stream = _keystream(key, nonce, q, n)
    data = memoryview(data)
    plaintext = _xor(data[:n], memoryview(stream)[15:16 + n])
    s0 = len(stream) - 16
    tag_stream = b"\x01" + stream[s0:s0 + tag_len]
    stream = None  # free the keystream before the MAC buffer is allocated
    mac = _cbc_mac(key, nonce, q, aad, plaintext, tag_len)
    if not ct_eq(_xor(mac[:tag_len], tag_stream), data[n:]):
        raise VerifyError("AES-CCM tag mismatch")
    return plaintext
