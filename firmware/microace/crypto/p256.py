"""ECDSA P-256 / SHA-256 signature verification (COSE ES256) in pure MicroPython.

Why this shape: big-int multiplication and `%` are C calls costing about 1 us per
field multiplication on the unix port, so the cost is the number of field
multiplications plus the bytecodes around them.  Points are Jacobian, table points
affine (mixed additions); one inner loop (`_run`) does all point arithmetic.

- Any key: u1*G + u2*Q in one pass of 256 doublings; u2 as width-5 NAF over the odd
  multiples Q..15Q (built per call), u1 through the comb table of G in the last 32
  steps (Shamir's trick, shared doublings).
- Provisioned key: signed comb tables (8 teeth, 32 columns) for G and for Q, so one
  pass of 31 shared doublings and 64 mixed additions; no doubling of Q at verify time.
- The result is checked as X == r*Z^2 (mod p), so Z is never inverted.

Tables are bytes (x || y big-endian per entry) and entries are read on use, so a
table costs its size and nothing more in RAM.  The comb table of G is built on first
use (about 6 ms on the unix port) and kept.
"""

from micropython import const
from microace.errors import DecodeError

_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)
_GX = const(0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296)
_GY = const(0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
_ALL_ONES = const((1 << 256) - 1)

_TABLE_VERSION = const(1)
_HEADER = const(65)  # version byte, x, y
_COMB_SIZE = const(128 * 64)  # 128 affine points

# An op is a small int: op < 0 doubles -op times; op >= 0 adds a table point:
# bit 0 negates it, bit 1 selects the table, op >> 2 is its byte offset.
_OP_Q = const(2)

# Comb scalar transposition: bit 32*t + j of the recoded scalar (tooth t, column j)
# is moved to bit 8*b + t by swapping index bits 0<->5, 1<->6, 2<->7 (delta swaps),
# so column j becomes byte b = (j & 7) << 2 | j >> 3 of the little-endian bytes.
_SWAPS = (
    (31, int.from_bytes((bytes(4) + b"\xaa" * 4) * 4, "big")),
    (62, int.from_bytes((bytes(8) + b"\xcc" * 8) * 2, "big")),
    (124, int.from_bytes(bytes(16) + b"\xf0" * 16, "big")),
)

_g_comb = None


def _inv(a, m):
    """a^-1 mod m by extended Euclid (5x faster than pow(a, m - 2, m) here)."""
    x0, x1, r0, r1 = 0, 1, m, a
    while r1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        x0, x1 = x1, x0 - q * x1
    return x0 % m


def _run(ops, tabs, X=0, Y=0, Z=0):
    """Run point ops on the Jacobian accumulator (X, Y, Z); Z == 0 is infinity."""
    p = _P
    from_bytes = int.from_bytes
    for op in ops:
        if op < 0:
            for _ in range(-op):
                # dbl-2001-b (a = -3): 3M + 5S
                d = Z * Z % p
                g = Y * Y % p
                b = X * g % p
                a = 3 * (X - d) * (X + d) % p
                Z = (Y * Z << 1) % p
                X = (a * a - (b << 3)) % p
                Y = (a * ((b << 2) - X) - (g * g << 3)) % p
            continue
        t = tabs[op >> 1 & 1]
        o = op >> 2
        x = from_bytes(t[o : o + 32], "big")
        y = from_bytes(t[o + 32 : o + 64], "big")
        if op & 1:
            y = p - y
        if not Z:
            X, Y, Z = x, y, 1
            continue
        # madd-2004-hmv: 8M + 3S
        zz = Z * Z % p
        h = (x * zz - X) % p
        s = (y * (zz * Z % p) - Y) % p
        if not h:
            if s:  # P + (-P)
                Z = 0
            else:  # P + P
                X, Y, Z = _run((-1,), None, x, y, 1)
            continue
        Z = Z * h % p
        hh = h * h % p
        hhh = hh * h % p
        v = X * hh % p
        X = (s * s - (v << 1) - hhh) % p
        Y = (s * (v - X) - Y * hhh) % p
    return X, Y, Z


def _affine(pts, out, at):
    """Write Jacobian points as affine x || y into out[at:], with one inversion
    (Montgomery's trick)."""
    p = _P
    prefix = []
    acc = 1
    for _, _, Z in pts:
        prefix.append(acc)
        acc = acc * Z % p
    inv = _inv(acc, p)
    for i in range(len(pts) - 1, -1, -1):
        X, Y, Z = pts[i]
        zi = inv * prefix[i] % p
        inv = inv * Z % p
        zi2 = zi * zi % p
        o = at + 64 * i
        out[o : o + 32] = (X * zi2 % p).to_bytes(32, "big")
        out[o + 32 : o + 64] = (Y * zi2 % p * zi % p).to_bytes(32, "big")


def _comb_table(x, y, out, at):
    """Write the signed comb table of P = (x, y) into out[at:]: entry i (0..127) is
    2^224 P + sum over t < 7 of (+1 if bit t of i else -1) * 2^(32 t) P."""
    bases = bytearray(1024)  # B_t = 2^(32 t) P and D_t = 2 B_t: B_0, D_0, B_1, ..
    chain = []
    X, Y, Z = x, y, 1
    for _ in range(8):
        chain.append((X, Y, Z))
        X, Y, Z = _run((-1,), None, X, Y, Z)
        chain.append((X, Y, Z))
        X, Y, Z = _run((-31,), None, X, Y, Z)
    _affine(chain, bases, 0)
    chain = None
    bases = (bases,)
    todo = []  # entries not yet in out; they are converted 16 at a time
    for i in range(128):
        if not i:
            # B_7 + (-B_6) + ... + (-B_0)
            X, Y, Z = _run([14 << 8] + [t << 8 | 1 for t in range(12, -1, -2)], bases)
        else:
            t = 6
            while not i >> t:
                t -= 1
            j = i ^ 1 << t  # entry i = entry j + D_t
            if j >> 4 == i >> 4:
                X, Y, Z = todo[j & 15]
            else:
                o = at + 64 * j
                X = int.from_bytes(out[o : o + 32], "big")
                Y = int.from_bytes(out[o + 32 : o + 64], "big")
                Z = 1
            X, Y, Z = _run(((2 * t + 1) << 8,), bases, X, Y, Z)
        todo.append((X, Y, Z))
        if len(todo) == 16:
            _affine(todo, out, at + 64 * (i - 15))
            todo = []


def _g_table():
    global _g_comb
    if _g_comb is None:
        out = bytearray(_COMB_SIZE)
        _comb_table(_GX, _GY, out, 0)
        _g_comb = memoryview(out)
    return _g_comb


def _comb_events(k, sel):
    """Events (pos << 16 | op) adding k*P from P's comb table, one per column."""
    neg = 0
    if not k & 1:  # k*P = -((n - k)*P); the recoding needs k odd
        k = _N - k
        neg = 1
    # k odd: k = sum of (2 c_i - 1) 2^i over the bits c_i of c, all digits +-1
    c = (k + _ALL_ONES) >> 1
    for d, m in _SWAPS:
        s = ((c >> d) ^ c) & m
        c ^= s ^ (s << d)
    cols = c.to_bytes(32, "little")
    ev = []
    for j in range(32):
        b = cols[(j & 7) << 2 | j >> 3]
        if b & 0x80:
            ev.append(j << 16 | (b & 0x7F) << 8 | sel | neg)
        else:  # the column's digits all negated
            ev.append(j << 16 | (b ^ 0x7F) << 8 | sel | neg ^ 1)
    return ev


def _wnaf_events(k, sel):
    """Events adding k*P from the odd multiples P, 3P, .., 15P: width-5 NAF of k,
    recoded on 28-bit chunks so the arithmetic stays in small ints."""
    ev = []
    base = 0
    while k:
        c = k & 0xFFFFFFF
        q = 0
        while q < 24:
            if c >> q & 1:
                d = c >> q & 31
                if d > 16:
                    d -= 32
                c -= d << q
                if d > 0:
                    ev.append((base + q) << 16 | (d >> 1) << 8 | sel)
                else:
                    ev.append((base + q) << 16 | (-d >> 1) << 8 | sel | 1)
                q += 5
            else:
                q += 1
        # c now holds k - (digits so far) over these 28 bits, its low 24 bits zero
        k = (k >> 28 << 4) + (c >> 24)
        base += 24
    return ev


def _odd_multiples(x, y):
    """Q, 3Q, .., 15Q for Q = (x, y) as affine bytes.  Co-Z additions (Meloni; DBLU and
    ZADDU of Goundar et al. 2010) keep 2Q on the Z of the newest multiple: 7M a step."""
    p = _P
    out = bytearray(512)
    e = y * y % p
    X = 4 * x * e % p  # Q on Z = 2y: (x Z^2, y Z^3)
    Y = e * e % p << 3
    Z = 2 * y
    m = 3 * (x * x - 1) % p
    dX = (m * m - 2 * X) % p  # 2Q on the same Z
    dY = (m * (X - dX) - Y) % p
    pts = [(x, y, 1)]
    for _ in range(7):
        h = (dX - X) % p
        c = h * h % p
        w1 = dX * c % p
        w2 = X * c % p
        dd = dY - Y
        dY = dY * (w1 - w2) % p
        X = (dd * dd - w1 - w2) % p
        Y = (dd * (w1 - X) - dY) % p
        Z = Z * h % p
        dX = w1
        pts.append((X, Y, Z))
    _affine(pts, out, 0)
    return memoryview(out)


def _ops(events):
    """Events -> ops, highest position first, with the doublings between them."""
    events.sort(reverse=True)
    ops = []
    at = events[0] >> 16
    for e in events:
        pos = e >> 16
        if pos != at:
            ops.append(pos - at)
            at = pos
        ops.append(e & 0xFFFF)
    if at:
        ops.append(-at)
    return ops


def decode_point(x, y):
    """32-byte big-endian coordinates -> (X, Y); DecodeError unless on the curve."""
    if len(x) != 32 or len(y) != 32:
        raise DecodeError("P-256 coordinate length")
    X = int.from_bytes(x, "big")
    Y = int.from_bytes(y, "big")
    p = _P
    if X >= p or Y >= p or (Y * Y - (X * X - 3) * X - _B) % p:
        raise DecodeError("not a P-256 point")
    return X, Y


def make_table(Q):
    """Fixed-base table for Q (8257 bytes): version, x, y, then the comb entries."""
    out = bytearray(_HEADER + _COMB_SIZE)
    out[0] = _TABLE_VERSION
    out[1:33] = Q[0].to_bytes(32, "big")
    out[33:65] = Q[1].to_bytes(32, "big")
    _comb_table(Q[0], Q[1], out, _HEADER)
    return bytes(out)


def load_table(blob, Q):
    """Check that blob is a make_table result for Q; return the table for verify.
    Also builds G's table now, while the heap is unfragmented."""
    if (
        len(blob) != _HEADER + _COMB_SIZE
        or blob[0] != _TABLE_VERSION
        or bytes(blob[1:33]) != Q[0].to_bytes(32, "big")
        or bytes(blob[33:65]) != Q[1].to_bytes(32, "big")
    ):
        raise DecodeError("not a P-256 table for this key")
    _g_table()
    return memoryview(blob)[_HEADER:]


def verify(Q, digest, sig, table=None):
    """ECDSA verify (SEC 1 4.1.4) of raw r || s over a SHA-256 digest with key Q."""
    if len(sig) != 64 or len(digest) != 32:
        return False
    n = _N
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not (0 < r < n and 0 < s < n):
        return False
    w = _inv(s, n)
    u1 = int.from_bytes(digest, "big") * w % n
    u2 = r * w % n
    if table is None:
        ev = _wnaf_events(u2, _OP_Q)
        tabs = (_g_table(), _odd_multiples(Q[0], Q[1]))
    else:
        ev = _comb_events(u2, _OP_Q)
        tabs = (_g_table(), table)
    if u1:
        ev += _comb_events(u1, 0)
    X, _, Z = _run(_ops(ev), tabs)
    if not Z:
        return False
    # x(R) mod n == r, without inverting Z: X == x * Z^2 for x in {r, r + n} below p
    zz = Z * Z % _P
    return X == r * zz % _P or (r + n < _P and X == (r + n) * zz % _P)
