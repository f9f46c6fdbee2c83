"""AES-CCM (RFC 3610, NIST SP 800-38C) on cryptolib.aes, for COSE algs 10-13 and 30-33.

Nonce 7..13 bytes (length field L = 15 - nonce length), tag 4..16 bytes (even),
AES-128 or AES-256. The CBC-MAC is one CBC call over the whole formatted input and the
CTR keystream one ECB call over all counter blocks. The key is bytes, or a Cipher: held()
keeps the Ciphers of the last two keys that needed one, so a run of messages under one key
(an OSCORE context's traffic) expands the key for its keystream once, and the heap holds two
keys' worth of them however many contexts there are.
"""

from cryptolib import aes
from micropython import const

from microace.crypto.ct import ct_eq
from microace.errors import DecodeError, VerifyError

_MODE_ECB = const(1)
_MODE_CBC = const(2)
_ZERO_IV = bytes(16)
_TAG_LENS = (4, 6, 8, 10, 12, 14, 16)
_HELD = const(2)  # one OSCORE context: its sender and its recipient key
_BLOCKWISE = const(4)  # keystreams of fewer blocks: block by block, without an ECB object
_SHORT = const(16)  # _xor_into's byte loop up to this length, big ints above
_held = []  # [(key object, Cipher)], the newest first


class Cipher:
    """A key and one CBC object of it (a key expansion: a few hundred bytes of heap, more
    than a short message's AES work allocates; one object a key, as the heap of a board
    allows). The object chains its IV from call to call and cryptolib cannot reset it, so
    `chain` holds that IV (the last block it wrote), and every use undoes it:
      - the CBC-MAC XORs it into B_0: E(B_0 ^ chain ^ chain) = E(B_0), the zero-IV MAC;
      - one block B alone (CTR): chain ^= B, then E(chain ^ old chain) = E(B), in chain,
        which is the object's IV again.
    So a short message makes no AES object; a long one's keystream gets an ECB object (one
    call, not a Python loop a block)."""

    def __init__(self, key):
        if len(key) != 16 and len(key) != 32:
            raise DecodeError("AES-CCM key size")
        self.key = key
        self.cbc = aes(key, _MODE_CBC, _ZERO_IV)
        self.chain = bytearray(16)  # the CBC object's IV now: zero until its first call

    def encrypt_block(self, buf, at):
        """buf[at:at + 16] = AES_K(buf[at:at + 16]), through the CBC object."""
        chain = self.chain
        for i in range(16):
            chain[i] ^= buf[at + i]
        self.cbc.encrypt(chain, chain)
        buf[at:at + 16] = chain

    def mac(self, buf):
        """CBC-MAC with a zero IV over buf (whole blocks), in place: T is its last block."""
        chain = self.chain
        for i in range(16):
            buf[i] ^= chain[i]
        self.cbc.encrypt(buf, buf)
        last = len(buf) - 16
        for i in range(16):  # the object's IV from now on (a slice would allocate)
            chain[i] = buf[last + i]


def held(key):
    """The Cipher of `key` (the very bytes object, compared by identity: no secret is
    compared), made on first use and kept until _HELD newer keys have needed one."""
    for k, cipher in _held:
        if k is key:
            return cipher
    cipher = Cipher(key)
    _held.insert(0, (key, cipher))
    del _held[_HELD:]
    return cipher


def _checked_q(nonce, tag_len, payload_len):
    """Check the parameters; return q = 15 - nonce length, the byte size of the
    payload-length field and of the counter (L in RFC 3610)."""
    if not 7 <= len(nonce) <= 13:
        raise DecodeError("AES-CCM nonce size")
    if tag_len not in _TAG_LENS:
        raise DecodeError("AES-CCM tag size")
    q = 15 - len(nonce)
    if payload_len >> (8 * q):
        raise DecodeError("AES-CCM payload too long for the nonce size")
    return q


def _put_block(buf, at, flags, nonce, count):
    """Write flags | nonce | count, the layout of B_0 and of the counter blocks A_i
    (RFC 3610 §2.2, §2.3), all 16 bytes of the block at `at`; _checked_q saw that count
    fits."""
    buf[at] = flags
    buf[at + 1:at + 1 + len(nonce)] = nonce
    for i in range(at + 15, at + len(nonce), -1):
        buf[i] = count & 0xFF
        count >>= 8


def _xor_into(out, at, a, a_at, b, b_at, n):
    """out[at + i] = a[a_at + i] ^ b[b_at + i] for i < n (out may be a or b), in time
    independent of the data. Up to _SHORT bytes (an OSCORE message, a tag, a block) a byte
    loop, the same small-int step each time (as in ct_eq), allocating nothing; longer ones
    on big ints, several times faster per byte."""
    if n <= _SHORT:
        for i in range(n):
            out[at + i] = a[a_at + i] ^ b[b_at + i]
        return
    # The 0x01 above b keeps every int n + 1 bytes long: mpz results are trimmed of leading
    # zero digits, so without it the time would grow with the number of leading zero bytes
    # of the result (a plaintext, when decrypting forged data: an oracle).
    x = int.from_bytes(a[a_at:a_at + n], "big") ^ int.from_bytes(
        b"\x01" + b[b_at:b_at + n], "big")
    out[at:at + n] = x.to_bytes(n + 1, "big")[1:]


def _keystream(cipher, nonce, q, payload_len):
    """Return S_1 | ... | S_m | S_0 where S_i = AES_K(A_i) (RFC 3610 §2.3): the payload's
    keystream from offset 0, and S_0, for the tag, in the last block."""
    blocks = (payload_len + 15) >> 4
    ctr = bytearray(16 * (blocks + 1))
    # A_i = flags | nonce | i with flags = L' = q - 1; A_0 is the last block.
    for i in range(blocks + 1):
        _put_block(ctr, 16 * i, q - 1, nonce, i + 1 if i < blocks else 0)
    if blocks < _BLOCKWISE:
        for i in range(blocks + 1):
            cipher.encrypt_block(ctr, 16 * i)
    else:
        aes(cipher.key, _MODE_ECB).encrypt(ctr, ctr)
    return ctr


def _cbc_mac(cipher, nonce, q, aad, payload, tag_len):
    """Return a buffer that ends in the CBC-MAC block T over B_0 | encoded AAD | payload
    (RFC 3610 §2.2)."""
    aad_len = len(aad)
    payload_len = len(payload)
    aad_at = 16 if not aad_len else 18 if aad_len < 0xFF00 else 22
    payload_at = (aad_at + aad_len + 15) & ~15
    buf = bytearray(payload_at + ((payload_len + 15) & ~15))
    # B_0 = flags (Adata, M' = (M - 2) / 2, L' = L - 1) | nonce | l(m)
    _put_block(buf, 0, (0x40 if aad_len else 0) | ((tag_len - 2) >> 1) << 3 | (q - 1),
               nonce, payload_len)
    if aad_at == 22:  # 2^16 - 2^8 <= l(a) < 2^32; longer AAD cannot exist in memory
        buf[16:22] = b"\xff\xfe" + aad_len.to_bytes(4, "big")
    elif aad_len:
        buf[16] = aad_len >> 8
        buf[17] = aad_len & 0xFF
    buf[aad_at:aad_at + aad_len] = aad
    buf[payload_at:payload_at + payload_len] = payload
    cipher.mac(buf)
    return buf


def encrypt(key, nonce, aad, plaintext, tag_len):
    """Return ciphertext | tag (tag_len bytes)."""
    n = len(plaintext)
    q = _checked_q(nonce, tag_len, n)
    cipher = key if type(key) is Cipher else Cipher(key)
    mac = _cbc_mac(cipher, nonce, q, aad, plaintext, tag_len)
    out = _keystream(cipher, nonce, q, n)
    s0 = len(out) - 16
    _xor_into(out, 0, plaintext, 0, out, 0, n)
    # U = T XOR S_0 (first tag_len bytes), after the ciphertext: n <= s0, so S_0 is read
    # before it is overwritten.
    _xor_into(out, n, mac, len(mac) - 16, out, s0, tag_len)
    return bytes(memoryview(out)[:n + tag_len])


def decrypt(key, nonce, aad, data, tag_len):
    """Return the plaintext of data = ciphertext | tag.

    Raises VerifyError when the tag does not match (no plaintext leaves) and
    DecodeError for bad parameters or data shorter than the tag.
    """
    n = len(data) - tag_len
    if n < 0:
        raise DecodeError("AES-CCM data shorter than the tag")
    q = _checked_q(nonce, tag_len, n)
    cipher = key if type(key) is Cipher else Cipher(key)
    out = _keystream(cipher, nonce, q, n)
    s0 = len(out) - 16
    _xor_into(out, 0, data, 0, out, 0, n)
    # The received U XOR S_0, which must equal T (§2.5), after the plaintext (n <= s0).
    _xor_into(out, n, data, n, out, s0, tag_len)
    out = memoryview(out)
    plaintext = out[:n]
    mac = memoryview(_cbc_mac(cipher, nonce, q, aad, plaintext, tag_len))[-16:]
    if not ct_eq(mac[:tag_len], out[n:n + tag_len]):
        raise VerifyError("AES-CCM tag mismatch")
    mac = cipher = None  # a one-call cipher's MAC buffer goes before the plaintext copy
    return bytes(plaintext)
