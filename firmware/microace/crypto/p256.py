"""ECDSA P-256 / SHA-256 signature verification (COSE ES256) in pure MicroPython.

Big-int `*` and `%` are C calls (about 0.3 and 0.7 us for 256-bit operands on the
unix port), so the cost is the count of field multiplications and reductions.
Points are Jacobian, table points affine (mixed additions); one loop (`_run`)
does all the point arithmetic of a verification.

- Any key: u1*G + u2*Q in one pass of 256 shared doublings (Shamir's trick);
  u2 as width-5 NAF over Q, 3Q, .., 15Q (made per call), u1 through G's comb table
  in the last 37 steps.
- Provisioned key: signed comb tables (6 teeth, 43 columns) of G and of Q, so one
  pass of 42 shared doublings and 86 mixed additions; no doubling of Q.
- The result is compared as X == r*Z^2 (mod p): Z is never inverted.

Tables are bytes (x || y big-endian per entry), read entry by entry: a table costs
its size in RAM and no more.  G's table (2 KB) is a bytes constant (p256_g.py): frozen
into a firmware it stays in flash and costs no heap.
"""

from micropython import const
from microace.crypto.p256_g import TABLE as _G_COMB
from microace.errors import DecodeError

_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)

# Comb geometry: _TEETH rows of _COLS signed digits cover the scalar; a table holds
# the 2^(_TEETH - 1) column sums whose top digit is +1.  6 teeth: 2 KB tables, 42
# doublings and 86 additions a verification (about 1.4 ms on the unix port); 7 teeth:
# 4 KB, 36 and 74 (about 1.25 ms), but the 4 KB more that G's and Q's tables then take
# are what the whole RS misses to serve in a 48 KB heap (the board proxy, frozen:
# tests/e2e/test_heap.py); 8 teeth: 8 KB, 31 and 64 (1.13 ms).
_TEETH = const(6)
_COLS = const((256 + _TEETH - 1) // _TEETH)  # at most 64
_ENTRIES = const(1 << _TEETH - 1)
_ALL_ONES = const((1 << _TEETH * _COLS) - 1)
_ROW = const((1 << _COLS) - 1)

_TABLE_VERSION = const(_TEETH)
_HEADER = const(65)  # version byte, x, y
_COMB_SIZE = const(64 * _ENTRIES)  # affine points
_BATCH = const(4)  # points per inversion while building a table (a power of 2)

# An event adds a table point at a bit position: pos << 16 | entry << 6 | table << 1
# | negate, where table 1 (_Q) is the second table; entry << 6 is its byte offset.
_Q = const(2)

# Comb transposition: with the rows spread 64 bits apart, bit 64 t + j (tooth t,
# column j) moves to bit 8 b + t by swapping index bits 0<->6, 1<->7, 2<->8 (three
# delta swaps), so column j is byte b = (j & 7) << 3 | j >> 3 of the little-endian bytes.
_SWAPS = (
    (63, int.from_bytes((bytes(8) + b"\xaa" * 8) * 4, "big")),
    (126, int.from_bytes((bytes(16) + b"\xcc" * 16) * 2, "big")),
    (252, int.from_bytes(bytes(32) + b"\xf0" * 32, "big")),
)



def _inv(a, m):
    """a^-1 mod m by extended Euclid (60 us; pow(a, m - 2, m) takes 380 us here)."""
    x0, x1, r0, r1 = 0, 1, m, a
    while r1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        x0, x1 = x1, x0 - q * x1
    return x0 % m


def _run(events, tabs, X=0, Y=0, Z=0, at=None):
    """Add the events' table points to the Jacobian (X, Y, Z), highest position first,
    doubling between positions and down to position 0 (from `at` if given).
    Z == 0 is the point at infinity."""
    p = _P
    from_bytes = int.from_bytes
    n_events = len(events)
    if at is None:
        at = events[0] >> 16
    i = 0
    while True:
        pos = events[i] >> 16 if i < n_events else 0
        for _ in range(at - pos):
            # dbl-2001-b (a = -3): 3M + 5S
            d = Z * Z % p
            g = Y * Y % p
            b = X * g % p
            a = 3 * (X - d) * (X + d) % p
            Z = (Y * Z << 1) % p
            X = (a * a - (b << 3)) % p
            Y = (a * ((b << 2) - X) - (g * g << 3)) % p
        at = pos
        if i == n_events:
            return X, Y, Z
        op = events[i]
        i += 1
        t = tabs[op >> 1 & 1]
        o = op & 0xFFC0
        x = from_bytes(t[o : o + 32], "big")
        y = from_bytes(t[o + 32 : o + 64], "big")
        if op & 1:
            y = p - y
        if not Z:
            X, Y, Z = x, y, 1
            continue
        # madd-2004-hmv: 8M + 3S; v and hhh stay unreduced (one 768-bit % is
        # cheaper than two 512-bit ones)
        zz = Z * Z % p
        h = (x * zz - X) % p
        s = (y * (zz * Z % p) - Y) % p
        if not h:
            if s:  # P + (-P)
                Z = 0
            else:  # P + P
                X, Y, Z = _run((), None, x, y, 1, 1)
            continue
        Z = Z * h % p
        hh = h * h % p
        hhh = hh * h
        v = X * hh
        X = (s * s - (v << 1) - hhh) % p
        Y = (s * (v - X) - Y * hhh) % p


def _put(out, o, X, Y):
    out[o : o + 32] = X.to_bytes(32, "big")
    out[o + 32 : o + 64] = Y.to_bytes(32, "big")


def _affine(out, at, zs):
    """Make the Jacobian points at out[at:] (X || Y, with their Zs in zs) affine in
    place, with one inversion (Montgomery's trick)."""
    p = _P
    from_bytes = int.from_bytes
    prefix = []
    acc = 1
    for Z in zs:
        prefix.append(acc)
        acc = acc * Z % p
    inv = _inv(acc, p)
    for i in range(len(zs) - 1, -1, -1):
        zi = inv * prefix[i] % p
        inv = inv * zs[i] % p
        zi2 = zi * zi % p
        o = at + 64 * i
        X = from_bytes(out[o : o + 32], "big")
        Y = from_bytes(out[o + 32 : o + 64], "big")
        _put(out, o, X * zi2 % p, Y * zi2 % p * zi % p)


def _comb_table(x, y, out, at):
    """Write the signed comb table of P = (x, y) into out[at:]: entry i is
    B_top + sum over t < top of (+B_t if bit t of i else -B_t), B_t = 2^(_COLS t) P.
    Points are made affine _BATCH at a time, which bounds the memory used."""
    top = _TEETH - 1
    bases = bytearray(128 * _TEETH)  # B_0, D_0, B_1, D_1, .. with D_t = 2 B_t
    zs = []
    X, Y, Z = x, y, 1
    for t in range(_TEETH):
        _put(bases, 128 * t, X, Y)
        X, Y, zd = _run((), None, X, Y, Z, 1)
        _put(bases, 128 * t + 64, X, Y)
        zs += (Z, zd)
        if len(zs) == _BATCH or t == top:
            _affine(bases, 64 * (2 * t + 2 - len(zs)), zs)
            zs = []
        if t < top:
            X, Y, Z = _run((), None, X, Y, zd, _COLS - 1)
    bases = (bases,)
    for i in range(_ENTRIES):
        if not i:  # B_top - B_(top-1) - ... - B_0
            X, Y, Z = _run([top << 7] + [t << 7 | 1 for t in range(top)], bases)
        else:
            t = top - 1
            while not i >> t:
                t -= 1
            j = i ^ 1 << t  # entry i = entry j + D_t
            o = at + 64 * j
            X = int.from_bytes(out[o : o + 32], "big")
            Y = int.from_bytes(out[o + 32 : o + 64], "big")
            Z = zs[j % _BATCH] if j // _BATCH == i // _BATCH else 1
            X, Y, Z = _run(((2 * t + 1) << 6,), bases, X, Y, Z)
        _put(out, at + 64 * i, X, Y)
        zs.append(Z)
        if len(zs) == _BATCH:
            _affine(out, at + 64 * (i + 1 - _BATCH), zs)
            zs = []


def _comb_events(k, sel):
    """The events adding k*P (0 < k < n) from P's comb table, one a column."""
    neg = sel
    if not k & 1:  # k*P = -((n - k)*P); the recoding needs k odd
        k = _N - k
        neg |= 1
    # k odd: k = sum of (2 c_i - 1) 2^i over the bits c_i of c, every digit +-1
    c = (k + _ALL_ONES) >> 1
    w = 0
    for t in range(_TEETH - 1, -1, -1):
        w = w << 64 | c >> _COLS * t & _ROW
    for d, m in _SWAPS:
        s = ((w >> d) ^ w) & m
        w ^= s ^ (s << d)
    cols = w.to_bytes(64, "little")
    events = [0] * _COLS
    for j in range(_COLS):
        b = cols[(j & 7) << 3 | j >> 3]
        if b >> _TEETH - 1:
            events[j] = j << 16 | (b & _ENTRIES - 1) << 6 | neg
        else:  # the column with all its digits negated
            events[j] = j << 16 | (b ^ _ENTRIES - 1) << 6 | neg ^ 1
    return events


def _wnaf_events(k, sel):
    """The events adding k*P from P, 3P, .., 15P: the width-5 NAF of k, recoded
    28 bits at a time so the arithmetic stays in small ints."""
    events = []
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
                    events.append((base + q) << 16 | (d >> 1) << 6 | sel)
                else:
                    events.append((base + q) << 16 | (-d >> 1) << 6 | sel | 1)
                q += 5
            else:
                q += 1
        # c is k minus the digits so far, over these 28 bits; its low 24 bits are 0
        k = (k >> 28 << 4) + (c >> 24)
        base += 24
    return events


def _odd_multiples(x, y):
    """Q, 3Q, .., 15Q for Q = (x, y) as affine bytes.  Co-Z additions (DBLU and
    ZADDU, Goundar et al. 2010) keep 2Q on the Z of the newest multiple: 7M a step."""
    p = _P
    out = bytearray(512)
    e = y * y % p
    X = 4 * x * e % p  # Q on Z = 2y: (x Z^2, y Z^3)
    Y = e * e % p << 3
    Z = 2 * y
    m = 3 * (x * x - 1) % p
    dX = (m * m - 2 * X) % p  # 2Q on the same Z
    dY = (m * (X - dX) - Y) % p
    _put(out, 0, x, y)
    zs = [1]
    for k in range(1, 8):
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
        _put(out, 64 * k, X, Y)
        zs.append(Z)
    _affine(out, 0, zs)
    return memoryview(out)


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
    """Fixed-base table for Q: 2113 bytes (a bytearray: no second copy is made),
    version, x, y, then the comb entries."""
    out = bytearray(_HEADER + _COMB_SIZE)
    out[0] = _TABLE_VERSION
    out[1:33] = Q[0].to_bytes(32, "big")
    out[33:65] = Q[1].to_bytes(32, "big")
    _comb_table(Q[0], Q[1], out, _HEADER)
    return out


class _Stored:
    """The `out` of _comb_table when a stored table is checked rather than built: each batch
    of entries is built in a small buffer and compared with the stored bytes; entries of
    earlier batches are read from the stored table (found equal already). slice.start/stop
    need MICROPY_PY_BUILTINS_SLICE_ATTRS (the unix and ESP32 ports have them)."""

    def __init__(self, blob):
        self.blob = blob
        self.buf = bytearray(64 * _BATCH)
        self.batch = 0
        self.same = True

    def _at(self, key):
        o = key.start - _HEADER
        return o // (64 * _BATCH), o % (64 * _BATCH)

    def __getitem__(self, key):
        b, o = self._at(key)
        if b == self.batch:
            return self.buf[o : o + key.stop - key.start]
        return self.blob[key]

    def __setitem__(self, key, value):
        b, o = self._at(key)
        if b != self.batch:
            self.compare()
            self.batch = b
        self.buf[o : o + len(value)] = value

    def compare(self):
        at = _HEADER + 64 * _BATCH * self.batch
        if bytes(self.blob[at : at + 64 * _BATCH]) != self.buf:
            self.same = False


def load_table(blob, Q, entries=True):
    """Check that blob is make_table(Q); return the table for verify.
    Every entry is checked, not just the header: a table of another key Q' under Q's
    header would make verify accept Q''s signatures, and one changed entry lets whoever
    chose it forge. The entries are built again, a batch at a time (the time of a
    make_table, once per boot; 256 bytes of RAM beyond it, not a second table).
    entries=False: the caller made or checked this very table already (the header only)."""
    if (
        len(blob) != _HEADER + _COMB_SIZE
        or blob[0] != _TABLE_VERSION
        or bytes(blob[1:33]) != Q[0].to_bytes(32, "big")
        or bytes(blob[33:65]) != Q[1].to_bytes(32, "big")
    ):
        raise DecodeError("not a P-256 table for this key")
    stored = _Stored(blob)
    if entries:
        _comb_table(Q[0], Q[1], stored, _HEADER)
        stored.compare()
        import gc

        gc.collect()  # its garbage is spread over the heap: free it while it is one piece
    if not stored.same:
        raise DecodeError("not a P-256 table for this key (its entries are another key's)")
    return memoryview(blob)[_HEADER:]


def verify(Q, digest, sig, table=None):
    """ECDSA verification (SEC 1 v2 4.1.4) of raw r || s over a SHA-256 digest."""
    if len(sig) != 64 or len(digest) != 32:
        return False
    n = _N
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not (0 < r < n and 0 < s < n):
        return False
    w = _inv(s, n)
    u1 = int.from_bytes(digest, "big") * w % n
    u2 = r * w % n  # never 0
    if table is None:
        events = _wnaf_events(u2, _Q)
        tabs = (_G_COMB, _odd_multiples(Q[0], Q[1]))
    else:
        events = _comb_events(u2, _Q)
        tabs = (_G_COMB, table)
    if u1:
        events += _comb_events(u1, 0)
    events.sort(reverse=True)
    X, _, Z = _run(events, tabs)
    if not Z:
        return False
    # x(R) mod n == r without inverting Z: X == x Z^2 for x = r, or r + n if below p
    p = _P
    zz = Z * Z % p
    return X == r * zz % p or (r + n < p and X == (r + n) * zz % p)
