"""Writes firmware/microace/crypto/p256_g.py: G's signed comb table for p256.py, as a bytes
constant. Frozen into a firmware, a bytes constant stays in flash, so G's 2 KB table takes
no heap (it did as a bytearray filled on first use: docs/BENCHMARKS.md, "The board proxy").

    python build-support/p256_g_table.py        # rewrite the module
    python build-support/p256_g_table.py --check  # exit 1 if the module is not this table

Computed here in plain affine arithmetic, independently of p256.py's Jacobian code; the
firmware test tests/firmware/test_p256.py checks p256._comb_table(G) against it too."""

import sys
from pathlib import Path

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
TEETH = 6  # p256._TEETH: the table's geometry must match it
COLS = (256 + TEETH - 1) // TEETH
MODULE = Path(__file__).resolve().parent.parent / "firmware/microace/crypto/p256_g.py"


def add(p1, p2):
    """Affine addition on P-256 (no point at infinity arises in the table)."""
    (x1, y1), (x2, y2) = p1, p2
    if p1 == p2:
        m = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        m = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (m * m - x1 - x2) % P
    return x3, (m * (x1 - x3) - y1) % P


def times_two_to(point, k):
    for _ in range(k):
        point = add(point, point)
    return point


def table():
    """Entry i: B_top + sum over t < top of (+B_t if bit t of i else -B_t), B_t = 2^(COLS t) G."""
    bases = [G]
    for _ in range(TEETH - 1):
        bases.append(times_two_to(bases[-1], COLS))
    top = TEETH - 1
    out = bytearray()
    for i in range(1 << top):
        point = bases[top]
        for t in range(top):
            x, y = bases[t]
            point = add(point, (x, y) if i >> t & 1 else (x, -y % P))
        out += point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")
    return bytes(out)


def source():
    data = table()
    lines = ['"""G\'s signed comb table for p256.py (6 teeth, 32 affine points x || y), as a bytes',
             "constant: frozen, it stays in flash. Written by build-support/p256_g_table.py;",
             'do not edit."""', "", "TABLE = ("]
    for at in range(0, len(data), 22):
        lines.append('    b"' + "".join("\\x%02x" % b for b in data[at:at + 22]) + '"')
    lines.append(")")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if MODULE.read_text() == source() else 1)
    MODULE.write_text(source())
