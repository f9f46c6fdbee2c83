"""Constant-time comparison for secrets such as MAC tags."""


def ct_eq(a, b, a_at=0, b_at=0, n=None):
    """Return whether a == b, taking time that depends only on the lengths; with n, whether
    a[a_at:a_at + n] == b[b_at:b_at + n] (no slices made).

    Lengths are public, so a mismatch returns at once. Otherwise every byte pair is
    XORed and ORed into one accumulator with no early exit; the values stay below 256,
    so each step is the same small-int operation whatever the data. (Big-int XOR is
    faster but not constant time: mpz results are trimmed of leading zero digits, which
    takes longer the more leading bytes agree.)
    """
    if n is None:
        if len(a) != len(b):
            return False
        n = len(a)
    diff = 0
    for i in range(n):
        diff |= a[a_at + i] ^ b[b_at + i]
    return diff == 0
