"""Constant-time comparison for secrets such as MAC tags."""


def ct_eq(a, b):
    """Return whether a == b, taking time that depends only on the lengths.

    Lengths are public, so a mismatch returns at once. Otherwise every byte pair is
    XORed and ORed into one accumulator with no early exit; the values stay below 256,
    so each step is the same small-int operation whatever the data. (Big-int XOR is
    faster but not constant time: mpz results are trimmed of leading zero digits, which
    takes longer the more leading bytes agree.)
    """
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
