"""AES-CCM (RFC 3610, NIST SP 800-38C) on cryptolib.aes, for COSE algs 10-13 and 30-33.

Nonce 7..13 bytes (length field L = 15 - nonce length), tag 4..16 bytes (even),
AES-128 or AES-256. The CBC-MAC is one CBC call over the whole formatted input and the
CTR keystream one ECB call over all counter blocks. The key is bytes, or a Cipher: held()
keeps the Ciphers of the last two keys that needed one, so a run of messages under one key
(an OSCORE context's traffic) expands the key for its keystream once, and the heap holds two
keys' worth of them however many contexts there are.

A short message (an AAD of up to 46 bytes, a payload of up to 48: an OSCORE request or
response) is formatted, MACed and keyed in one module buffer, _work, allocated at import: it
allocates only its result. decrypt(..., view=True) hands its plaintext on as a view of that
buffer, valid until the next encrypt or decrypt of this module (any caller's). The RS is one
asyncio loop: a caller that reads the view without an await in between (OSCORE's unprotect)
cannot see it overwritten. A longer message gets buffers of its own.
"""

from cryptolib import aes
from micropython import const

from microace.crypto.ct import ct_eq
from microace.errors import DecodeError, VerifyError

_MODE_ECB = const(1)
_MODE_CBC = const(2)
_ZERO_IV = bytes(16)
_HELD = const(2)  # one OSCORE context: its sender and its recipient key
_BLOCKWISE = const(4)  # keystreams of fewer blocks: block by block, without an ECB object
_SHORT = const(16)  # _xor_into's byte loop up to this length, big ints above
_held = []  # [(key object, Cipher)], the newest first

# The short-message buffer: the CBC-MAC input B_0 | l(a) | a | padding (at most _HEAD
# bytes) | payload (at most _SHORT_MAX), then the counter blocks A_1.. A_m, A_0 (at most 4).
# The MAC runs over the first _KS bytes whatever the message's length (its own last block is
# read: CBC writes each block's chaining value in place), so no view of it is made a message.
# A long message gets two buffers of its own, its MAC input and its counter blocks: two
# smaller blocks of the heap than one of both (a fragmented heap has room for them sooner).
_HEAD = const(64)
_SHORT_MAX = const(48)
_KS = const(112)  # _HEAD + _SHORT_MAX: where the counter blocks start
_work = memoryview(bytearray(176))  # _KS + 4 blocks
_mac_in = _work[:_KS]


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
    if tag_len & 1 or not 4 <= tag_len <= 16:
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


def _put_head(buf, payload_at, nonce, q, aad, payload_len, tag_len):
    """Write the MAC input but its payload (RFC 3610 §2.2) into buf, which may hold an earlier
    message's: B_0 | l(a) | a | zero padding up to payload_at, and zeros in the payload's last
    block, which the payload, written next, leaves as its padding."""
    aad_len = len(aad)
    end = payload_at + ((payload_len + 15) & ~15)
    if end > payload_at:
        buf[end - 16:end] = _ZERO_IV
    if payload_at > 16:
        buf[payload_at - 16:payload_at] = _ZERO_IV
    # B_0 = flags (Adata, M' = (M - 2) / 2, L' = L - 1) | nonce | l(m)
    _put_block(buf, 0, (0x40 if aad_len else 0) | ((tag_len - 2) >> 1) << 3 | (q - 1),
               nonce, payload_len)
    if aad_len >= 0xFF00:
        buf[16:22] = b"\xff\xfe" + aad_len.to_bytes(4, "big")
        buf[22:22 + aad_len] = aad
    elif aad_len:
        buf[16] = aad_len >> 8
        buf[17] = aad_len & 0xFF
        buf[18:18 + aad_len] = aad


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


def _counter_blocks(cipher, buf, at, nonce, q, blocks):
    """S_1 | ... | S_m | S_0 into buf from `at`, where S_i = AES_K(A_i) (RFC 3610 §2.3): the
    payload's keystream (m = blocks), then S_0, for the tag. Up to _BLOCKWISE blocks through
    the Cipher's CBC object; more through one ECB object over all of buf (then at is 0 and buf
    holds exactly these blocks)."""
    # A_i = flags | nonce | i with flags = L' = q - 1; A_0 is the last block.
    for i in range(blocks + 1):
        _put_block(buf, at + 16 * i, q - 1, nonce, i + 1 if i < blocks else 0)
    if blocks < _BLOCKWISE:
        for i in range(blocks + 1):
            cipher.encrypt_block(buf, at + 16 * i)
    else:
        aes(cipher.key, _MODE_ECB).encrypt(buf, buf)


def _ccm(key, nonce, aad, data, n, tag_len, sealing):
    """CCM (RFC 3610 §2.2-2.5) of the n-byte payload of data -> a view of its result in the
    message's buffer: ciphertext | tag when sealing, else the verified plaintext (VerifyError
    when the tag does not match, and no plaintext leaves)."""
    q = _checked_q(nonce, tag_len, n)
    cipher = key if type(key) is Cipher else Cipher(key)
    blocks = (n + 15) >> 4
    # The payload's offset in the MAC input: after B_0 and the AAD with its length field (2
    # bytes, or 6 from 2^16 - 2^8 on; longer AAD cannot exist in memory), padded to a block.
    aad_len = len(aad)
    payload_at = (aad_len + (18 if aad_len < 0xFF00 else 22) + 15) & ~15 if aad_len else 16
    t_at = payload_at + 16 * blocks - 16  # where the CBC-MAC leaves T
    if payload_at <= _HEAD and n <= _SHORT_MAX:
        mac = ks = _work
        ks_at = _KS
    else:
        mac = bytearray(t_at + 16)
        ks = bytearray(16 * (blocks + 1))
        ks_at = 0
    s0 = ks_at + 16 * blocks
    _put_head(mac, payload_at, nonce, q, aad, n, tag_len)
    _counter_blocks(cipher, ks, ks_at, nonce, q, blocks)
    if sealing:
        mac[payload_at:payload_at + n] = data
    else:
        # The plaintext into the MAC input, and in place of its keystream (the copy that
        # leaves: the MAC overwrites its input); then U XOR S_0 in place of S_0.
        _xor_into(mac, payload_at, data, 0, ks, ks_at, n)
        _xor_into(ks, ks_at, data, 0, ks, ks_at, n)
        _xor_into(ks, s0, data, n, ks, s0, tag_len)
    cipher.mac(_mac_in if mac is _work else mac)
    view = ks if ks is _work else memoryview(ks)
    if not sealing:
        if not ct_eq(mac, ks, t_at, s0, tag_len):  # U XOR S_0 must equal T (§2.5)
            raise VerifyError("AES-CCM tag mismatch")
        return view[ks_at:ks_at + n]
    # The keystream turns into the output in place: the ciphertext, then U = T XOR S_0 (first
    # tag_len bytes); n <= 16 * blocks, so each byte of S_0 is read before the tag overwrites it.
    _xor_into(ks, ks_at, data, 0, ks, ks_at, n)
    _xor_into(ks, ks_at + n, mac, t_at, ks, s0, tag_len)
    return view[ks_at:ks_at + n + tag_len]


def encrypt(key, nonce, aad, plaintext, tag_len):
    """Return ciphertext | tag (tag_len bytes)."""
    return bytes(_ccm(key, nonce, aad, plaintext, len(plaintext), tag_len, True))


def decrypt(key, nonce, aad, data, tag_len, view=False):
    """Return the plaintext of data = ciphertext | tag, as bytes; with view, as a view of the
    buffer it was made in: for a short message the module buffer, valid until this module's
    next encrypt or decrypt (read it, or copy what is kept, before anything else can run).

    Raises VerifyError when the tag does not match (no plaintext leaves) and
    DecodeError for bad parameters or data shorter than the tag.
    """
    n = len(data) - tag_len
    if n < 0:
        raise DecodeError("AES-CCM data shorter than the tag")
    plaintext = _ccm(key, nonce, aad, data, n, tag_len, False)
    return plaintext if view else bytes(plaintext)
