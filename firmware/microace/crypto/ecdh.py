"""P-256 ECDH and key generation (EDHOC, RFC 9528) on p256.py's engine.

One engine, three uses: verify (p256.verify), variable-base k*Q (the wNAF events of
verify's Q half alone) and fixed-base k*G (G's comb events alone).  A module of its
own so that a board that only verifies does not load this code.  Not constant time:
see docs/SECURITY.md.
"""

from micropython import const

from microace.crypto.p256 import (
    _G_COMB, _comb_events, _inv, _odd_multiples, _run, _wnaf_events)
from microace.errors import DecodeError

# p256.py's curve constants (const() names cannot be imported)
_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)
_Q = const(2)  # p256's selector of the second table


def _to_affine(X, Y, Z):
    if not Z:
        raise DecodeError("P-256 result is the point at infinity")
    p = _P
    zi = _inv(Z, p)
    zi2 = zi * zi % p
    return X * zi2 % p, Y * zi2 % p * zi % p


def _check_scalar(k):
    if not 0 < k < _N:
        raise DecodeError("P-256 scalar out of range")


def scalar_from_bytes(d):
    """A 32-byte big-endian private key -> its scalar; DecodeError unless in [1, n-1]."""
    if len(d) != 32:
        raise DecodeError("P-256 private key length")
    k = int.from_bytes(d, "big")
    _check_scalar(k)
    return k


def multiply(k, Q):
    """k*Q, affine, for a validated point Q = (X, Y) (p256.decode_point or decompress)
    and 0 < k < n."""
    _check_scalar(k)
    events = _wnaf_events(k, _Q)
    events.reverse()  # recoded lowest digit first; _run adds highest first
    X, Y, Z = _run(events, (None, _odd_multiples(Q[0], Q[1])))
    return _to_affine(X, Y, Z)


def multiply_base(k):
    """k*G through G's comb table (the public key of private scalar k), affine."""
    _check_scalar(k)
    events = _comb_events(k, 0)
    events.reverse()  # one a column, lowest first; _run adds highest first
    X, Y, Z = _run(events, (_G_COMB,))
    return _to_affine(X, Y, Z)


def generate_scalar(rand=None):
    """A private scalar uniform in [1, n-1]: 32 random bytes, drawn again while out of
    range (rejection sampling, FIPS 186-5 A.2.2; a redraw has probability < 2^-32)."""
    if rand is None:
        from os import urandom as rand
    while True:
        k = int.from_bytes(rand(32), "big")
        if 0 < k < _N:
            return k


def decompress(x, parity=0):
    """The point with 32-byte x coordinate x and y of this parity (SEC 1 2.3.4).
    EDHOC sends P-256 keys as x alone (RFC 9528 §3.7, Appendix B); ECDH uses only the x
    of the result, so either y serves.  DecodeError when x >= p or x is on no point
    (the validation of §9.2; the identity has no x)."""
    if len(x) != 32:
        raise DecodeError("P-256 coordinate length")
    p = _P
    X = int.from_bytes(x, "big")
    if X >= p:
        raise DecodeError("P-256 x not below p")
    a = ((X * X - 3) * X + _B) % p
    Y = pow(a, (p + 1) >> 2, p)  # p = 3 mod 4: the square root when there is one
    if Y * Y % p != a:
        raise DecodeError("not a P-256 point")
    if Y & 1 != parity & 1:
        Y = p - Y
    return X, Y


def ecdh(k, Q):
    """The ECDH shared secret (SEC 1 3.3.1): the 32-byte x coordinate of k*Q."""
    return multiply(k, Q)[0].to_bytes(32, "big")


def public_bytes(k):
    """x || y (64 bytes) of k*G."""
    X, Y = multiply_base(k)
    return X.to_bytes(32, "big") + Y.to_bytes(32, "big")
