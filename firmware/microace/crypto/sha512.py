"""SHA-512 (FIPS 180-4) in pure MicroPython: hashlib on the boards has none, Ed25519 needs it.

Words are Python ints kept below 2**64. On a board every such word is a big int anyway
(small ints hold 31 bits there), so one int per word is the fewest big-int operations; splitting
into 32-bit halves only wins where small ints hold 62 bits (the unix port), and loses on boards.
A rotation is one shift of the word doubled to 128 bits (x * _DOUBLE == x | x << 64); the bits
this leaves above bit 63 are cut by the one mask on each sum.
"""

import struct

_MASK = 0xFFFFFFFFFFFFFFFF
_DOUBLE = 0x10000000000000001

_IV = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)

# FIPS 180-4 §4.2.3, as bytes: as 80 big ints they would take 5 KB of heap for good.
_K = bytes.fromhex(
    "428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc"
    "3956c25bf348b53859f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118"
    "d807aa98a303024212835b0145706fbe243185be4ee4b28c550c7dc3d5ffb4e2"
    "72be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235c19bf174cf692694"
    "e49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c65"
    "2de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5"
    "983e5152ee66dfaba831c66d2db43210b00327c898fb213fbf597fc7beef0ee4"
    "c6e00bf33da88fc2d5a79147930aa72506ca6351e003826f142929670a0e6e70"
    "27b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed53380d139d95b3df"
    "650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b"
    "a2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30"
    "d192e819d6ef5218d69906245565a910f40e35855771202a106aa07032bbd1b8"
    "19a4c116b8d2d0c81e376c085141ab532748774cdf8eeb9934b0bcb5e19b48a8"
    "391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373682e6ff3d6b2b8a3"
    "748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec"
    "90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532b"
    "ca273eceea26619cd186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed178"
    "06f067aa72176fba0a637dc5a2c898a6113f9804bef90dae1b710b35131c471b"
    "28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc431d67c49c100d4c"
    "4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817"
)


def _compress(h, block, offset):
    """Mix the 128-byte block at block[offset:] into the state list h (FIPS 180-4 §6.4.2)."""
    M = _MASK
    D = _DOUBLE
    w = list(struct.unpack_from(">16Q", block, offset))
    a, b, c, d, e, f, g, hh = h
    for t in range(80):
        j = t & 15
        if j == 0:  # 16 round constants at a time: 80 would be 5 KB of big ints on the heap
            K = struct.unpack_from(">16Q", _K, t << 3)
        if t > 15:  # the message schedule, kept as a ring of 16 words
            x = w[(j + 1) & 15]
            xx = x * D
            y = w[(j + 14) & 15]
            yy = y * D
            w[j] = ((xx >> 1 ^ xx >> 8 ^ x >> 7) + (yy >> 19 ^ yy >> 61 ^ y >> 6)
                    + w[(j + 9) & 15] + w[j]) & M
        x = e * D
        t1 = hh + (x >> 14 ^ x >> 18 ^ x >> 41) + (g ^ (e & (f ^ g))) + K[j] + w[j]
        hh = g
        g = f
        f = e
        e = (d + t1) & M
        x = a * D
        t1 += (x >> 28 ^ x >> 34 ^ x >> 39) + ((a & b) | (c & (a | b)))
        d = c
        c = b
        b = a
        a = t1 & M
    for i, v in enumerate((a, b, c, d, e, f, g, hh)):
        h[i] = (h[i] + v) & M


class SHA512:
    """Incremental SHA-512 like hashlib's: update() any number of times, then digest().

    Whole blocks are hashed straight from the caller's buffer; at most 127 bytes are kept.
    """

    def __init__(self, data=b""):
        self._h = list(_IV)
        self._pending = b""
        self._length = 0
        self.update(data)

    def update(self, data):
        n = len(data)
        self._length += n
        i = 0
        if self._pending:
            i = 128 - len(self._pending)
            self._pending += bytes(data[:i])
            if len(self._pending) < 128:
                return
            _compress(self._h, self._pending, 0)
        while n - i >= 128:
            _compress(self._h, data, i)
            i += 128
        self._pending = bytes(data[i:])

    def digest(self):
        """The 64-byte hash of everything so far; the object stays usable."""
        h = list(self._h)
        bits = self._length << 3
        # FIPS 180-4 §5.1.2: 0x80, zeros up to 112 mod 128, the length in bits as 128 bits
        tail = self._pending + b"\x80" + bytes((111 - len(self._pending)) % 128)
        tail += struct.pack(">QQ", bits >> 64, bits & _MASK)
        for offset in range(0, len(tail), 128):
            _compress(h, tail, offset)
        return struct.pack(">8Q", *h)


def sha512(data):
    """SHA-512 of data (bytes-like) as 64 bytes."""
    return SHA512(data).digest()
