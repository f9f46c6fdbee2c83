"""Ed25519 signature verification (RFC 8032 §5.1) in pure MicroPython."""

# Points are in extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x*y = T/Z, on
# -x^2 + y^2 = 1 + d*x^2*y^2, with the complete formulas of RFC 8032 §5.1.4.
# The check is cofactorless, [S]B + [k](-A) == R, compared as encodings: OpenSSL (so the
# host's `cryptography`) and libsodium do the same, and RFC 8032 §5.1.7 allows it.
# [S]B and [k](-A) share one doubling chain (Straus): S in width-_W_B NAF over odd multiples
# of B (built on first use, kept), k in width-_W_A NAF over odd multiples of -A (per call).
# Coordinates are kept reduced mod p; inside the doubling the squares are only folded with
# 2**255 == 19 (mod p), cheaper than `% p` on big ints, and stay below 2**264.
# Heap: importing this file from source and one verify fit in 32 KB on the 64-bit unix port
# (compiling costs about 150 bytes a line there), hence the few, dense lines.

from micropython import const

from microace.crypto.sha512 import SHA512
from microace.errors import DecodeError

_P = const(2**255 - 19)
_M255 = const(2**255 - 1)
_L = const(2**252 + 27742317777372353535851937790883648493)
_D = const(37095705934669439343138083508754565189542113879843219016388785533085940283555)
_D2 = const(16295367250680780974490674513165176452449235426866156013048779062215315747161)
_SQRT_M1 = const(19681161376707505956807079304988542015446066515923890162744021073123829784752)
_BX = const(15112221349535400772501151409588531511454012693041857206046113283949847762202)
_BY = const(46316835694926478169428394003475163141307993866256225615783033603165251855960)

_W_B = const(5)  # 8 points of B, kept for the life of the module
_W_A = const(5)  # 8 points of -A, built per call

_b_table = None


class PublicKey:
    """A decoded Ed25519 public key: its 32-byte encoding (hashed into k) and -A."""

    def __init__(self, encoded, neg_point):
        self.encoded = encoded
        self.neg_point = neg_point


def decode_public_key(pub):
    """Decode a 32-byte public key (RFC 8032 §5.1.3); DecodeError if it is not a point."""
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != 32:
        raise DecodeError("Ed25519 key: not 32 bytes")
    pub = bytes(pub)
    y = int.from_bytes(pub, "little")
    sign = y >> 255
    y &= _M255
    if y >= _P:
        raise DecodeError("Ed25519 key: y >= p")
    # x = sqrt(u / v) = u v^3 (u v^7)^((p-5)/8), times sqrt(-1) when that squares to -u/v
    u = y * y - 1
    v = _D * (u + 1) + 1
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    vxx = v * x * x % _P
    if vxx != u % _P:
        if vxx != -u % _P:
            raise DecodeError("Ed25519 key: not a point")
        x = x * _SQRT_M1 % _P
    if x == 0 and sign:
        raise DecodeError("Ed25519 key: x = 0 with the sign bit set")
    if x & 1 == sign:
        x = _P - x  # the key keeps -A: verify computes [S]B + [k](-A)
    point = (x, y, 1, x * y % _P)
    # A small-order key (8A = identity) verifies forged signatures for any message
    # (Wycheproof "SmallOrderPublicKey", RFC 8032 §5.1.7 leaves it open): never trust one.
    eight = point
    for _ in range(3):
        eight = _add(eight, _cached(eight), 0)
    if eight[0] % _P == 0:
        raise DecodeError("Ed25519 key: small order")
    return PublicKey(pub, point)


def verify(pub, msg, sig):
    """True iff sig is a valid Ed25519 signature of msg (RFC 8032 §5.1.7).

    pub is a PublicKey or its 32-byte encoding (then a bad key raises DecodeError).
    """
    if not isinstance(pub, PublicKey):
        pub = decode_public_key(pub)
    if len(sig) != 64:
        return False
    sig = bytes(sig)
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:  # §5.1.7 step 1: a non-canonical S is malleable, reject
        return False
    h = SHA512(sig[:32])
    h.update(pub.encoded)
    h.update(msg)
    k = int.from_bytes(h.digest(), "little") % _L
    X, Y, Z, _ = _double_scalar_mult(s, k, pub.neg_point)
    zi = pow(Z, _P - 2, _P)
    x = X * zi % _P
    return (Y * zi % _P | (x & 1) << 255).to_bytes(32, "little") == sig[:32]


def _cached(point):
    """(Y+X, Y-X, 2Z, 2dT): the form the addition takes its second operand in."""
    X, Y, Z, T = point
    return Y + X, Y - X, 2 * Z, T * _D2 % _P


def _add(point, cached, negate):
    """point + cached (or - cached when negate): add-2008-hwcd-3, a = -1, 9 multiplications."""
    X, Y, Z, T = point
    yplusx, yminusx, z2, t2d = cached
    if negate:
        yplusx, yminusx, t2d = yminusx, yplusx, -t2d
    a = (Y - X) * yminusx % _P
    b = (Y + X) * yplusx % _P
    c = T * t2d % _P
    d = Z * z2 % _P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _odd_multiples(point, width):
    """Cached [1, 3, 5, ..., 2**(width-1) - 1] * point."""
    twice = _cached(_add(point, _cached(point), 0))
    table = [_cached(point)]
    for _ in range(1, 1 << (width - 2)):
        point = _add(point, twice, 0)
        table.append(_cached(point))
    return table


def _naf(k, width):
    """Width-w NAF of 0 <= k < 2**253, least significant first: 254 bytes, each |digit|
    (odd, so the table index is |digit| >> 1) plus 0x80 when the digit is negative."""
    digits = bytearray(254)
    full = 1 << width
    i = 0
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= full >> 1:
                d -= full
                digits[i] = 0x80 - d
            else:
                digits[i] = d
            k -= d
        k >>= 1
        i += 1
    return digits


def _double_scalar_mult(s, k, point):
    """[s]B + [k]point, with one shared doubling chain."""
    global _b_table
    if _b_table is None:
        _b_table = _odd_multiples((_BX, _BY, 1, _BX * _BY % _P), _W_B)
    b_table = _b_table
    p_table = _odd_multiples(point, _W_A)
    s_digits = _naf(s, _W_B)
    k_digits = _naf(k, _W_A)
    X, Y, Z, T = 0, 1, 1, 0
    for i in range(253, -1, -1):
        # doubling (dbl-2008-hwcd, a = -1); T is only computed when an addition follows
        a = X * X
        a = (a & _M255) + 19 * (a >> 255)
        b = Y * Y
        b = (b & _M255) + 19 * (b >> 255)
        c = Z * Z
        c = (c & _M255) + 19 * (c >> 255)
        h = X + Y
        h *= h
        e = (h & _M255) + 19 * (h >> 255) - a - b
        g = b - a
        f = g - 2 * c
        h = -a - b
        X = e * f % _P
        Y = g * h % _P
        Z = f * g % _P
        ds = s_digits[i]
        dk = k_digits[i]
        if ds or dk:
            point = (X, Y, Z, e * h % _P)
            if ds:
                point = _add(point, b_table[(ds & 0x7F) >> 1], ds & 0x80)
            if dk:
                point = _add(point, p_table[(dk & 0x7F) >> 1], dk & 0x80)
            X, Y, Z, T = point
    return X, Y, Z, T

