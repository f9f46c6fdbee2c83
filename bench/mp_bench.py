"""MicroPython side of `make bench`: times microace's public APIs on the unix port.

bench/run.py mints the tokens and keys on the host and feeds them as one JSON object on stdin
(bytes as hex); this prints one JSON line. Modes: "bench" times the cases named in "cases"
(default: all); "alloc" measures the heap the firmware modules take and the bytes one ES256
CWT verify allocates (GC off). bench/mp_check.py is the small-heap check.
Each case is built (key store, tables) just before it is timed and dropped after, so the heap
holds one case at a time.

Run by bench/run.py, which compiles firmware/ with mpy-cross into a temporary directory:
MICROPYPATH=<that dir> micropython -X heapsize=64k bench/mp_bench.py < material.json
"""

import gc
import json
import sys
import time
from binascii import unhexlify

# Each case imports what it uses, so a small case runs in a small heap.


def cwt_verifier(m, name, table=False):
    """A call that verifies token `name` with its AS key (ES256: with the key's table if
    `table`, built here), checked once before it is timed."""
    from microace import cose, cwt
    from microace.crypto import p256
    from microace.keystore import SoftwareKeyStore

    key = cose.parse_key(m["keys"][name])
    keys = SoftwareKeyStore()
    keys.add(key, table=p256.make_table(key.public) if table else None)
    token, audience, now = m["tokens"][name], m["audience"], m["now"]

    def run():
        return cwt.verify(token, keys, audience, now=now)

    assert run().aud == audience
    return run


def jwt_verifier(m, table=False):
    """A call that verifies the ES256 CWT's twin JWT (same claims, same AS key) through the
    JWT module, as /authz-info does (access_token.verify)."""
    from microace import access_token, cose
    from microace.crypto import p256
    from microace.keystore import SoftwareKeyStore

    key = cose.parse_key(m["keys"]["es256"])
    keys = SoftwareKeyStore()
    keys.add(key, table=p256.make_table(key.public) if table else None)
    token, audience, now = m["tokens"]["jwt_es256"], m["audience"], m["now"]

    def run():
        return access_token.verify(token, keys, audience, now=now)

    assert run().aud == audience
    return run


def nested_verifier(m, name):
    """A call that verifies a nested token carrying cnf.osc, as /authz-info does
    (access_token.verify): Encrypt0(Sign1) CWT or JWE(JWS) JWT, the same claims, the ES256
    AS key with its table, the A128CCM or A128KW key shared with the RS."""
    from microace import access_token, cose
    from microace.crypto import p256
    from microace.keystore import SoftwareKeyStore

    key = cose.parse_key(m["keys"]["es256"])
    keys = SoftwareKeyStore()
    keys.add(key, table=p256.make_table(key.public))
    for shared in ("a128ccm", "a128kw"):
        keys.add(cose.parse_key(m["keys"][shared]))
    token, audience, now = m["tokens"][name], m["audience"], m["now"]

    def run():
        return access_token.verify(token, keys, audience, now=now)

    assert run().encrypted
    return run


def signed(m, name):
    """(public key, Sig_structure bytes, signature) of a Sign1 token, as cose.verify builds them."""
    from microace import cbor, cose

    parts = cbor.decode(m["tokens"][name]).value
    tbs = cbor.encode(["Signature1", parts[0], b"", parts[2]])
    return cose.parse_key(m["keys"][name]).public, tbs, parts[3]


def p256_verifier(m, table):
    from hashlib import sha256

    from microace.crypto import p256

    Q, tbs, sig = signed(m, "es256")
    digest = sha256(tbs).digest()
    table = p256.load_table(p256.make_table(Q), Q) if table else None
    assert p256.verify(Q, digest, sig, table)
    return lambda: p256.verify(Q, digest, sig, table)


def ed25519_verifier(m):
    from microace.crypto import ed25519

    A, tbs, sig = signed(m, "eddsa")
    assert ed25519.verify(A, tbs, sig)
    return lambda: ed25519.verify(A, tbs, sig)


def hmac_call(m):
    from microace.crypto.hmac import hmac_sha256

    key, msg = m["hmac"]["key"], m["hmac"]["msg"]
    assert hmac_sha256(key, msg) == m["hmac"]["mac"]
    return lambda: hmac_sha256(key, msg)


def ccm_call(m):
    """Encrypt then decrypt with the parameters of COSE alg 10 (AES-CCM-16-64-128)."""
    from microace.crypto import aes_ccm

    c = m["ccm"]
    key, nonce, aad, pt = c["key"], c["nonce"], c["aad"], c["plaintext"]
    assert aes_ccm.encrypt(key, nonce, aad, pt, 8) == c["ciphertext"]

    def run():
        return aes_ccm.decrypt(key, nonce, aad, aes_ccm.encrypt(key, nonce, aad, pt, 8), 8)

    assert run() == pt
    return run


def cbor_call(m, claims):
    from microace import cbor

    buf = m["tokens"]["es256"]
    if claims:
        buf = cbor.decode(buf).value[2]
    return lambda: cbor.decode(buf)


CASES = (
    ("es256_table", lambda m: cwt_verifier(m, "es256", table=True)),
    ("es256_any", lambda m: cwt_verifier(m, "es256")),
    ("p256_any", lambda m: p256_verifier(m, False)),
    ("p256_table", lambda m: p256_verifier(m, True)),
    ("jwt_es256_table", lambda m: jwt_verifier(m, table=True)),
    ("jwt_es256_any", lambda m: jwt_verifier(m)),
    ("eddsa", lambda m: cwt_verifier(m, "eddsa")),
    ("ed25519", ed25519_verifier),
    ("hmac200", hmac_call),
    ("ccm100", ccm_call),
    ("cbor_token", lambda m: cbor_call(m, False)),
    ("cbor_claims", lambda m: cbor_call(m, True)),
    ("mac0", lambda m: cwt_verifier(m, "mac0")),
    ("encrypt0", lambda m: cwt_verifier(m, "encrypt0")),
    ("nested_cwt", lambda m: nested_verifier(m, "nested_cwt")),
    ("nested_jwt", lambda m: nested_verifier(m, "nested_jwt")),
)


def batch_us(fn, n):
    gc.collect()  # every batch starts from the same heap
    t = time.ticks_us()
    for _ in range(n):
        fn()
    return time.ticks_diff(time.ticks_us(), t)


def time_op(fn, min_batch_us, runs):
    """Median µs per call over `runs` batches, each lasting at least min_batch_us."""
    n = 1
    dt = batch_us(fn, n)
    while dt < min_batch_us:
        n = max(n + 1, n * min_batch_us * 5 // (4 * max(dt, 1)))
        dt = batch_us(fn, n)
    samples = [dt / n] + [batch_us(fn, n) / n for _ in range(runs - 1)]
    samples.sort()
    return {"us": samples[len(samples) // 2], "min": samples[0], "max": samples[-1],
            "calls": n}


def bench(m):
    out = {}
    wanted = m.get("cases")
    for name, build in CASES:
        if wanted is not None and name not in wanted:
            continue
        fn = build(m)
        out[name] = time_op(fn, m["batch_ms"] * 1000, m["runs"])
        fn = None  # drop the case's key store and tables before the next one
    return out


def allocated(fn):
    """Bytes allocated by one call with the GC off: all it allocates, an upper bound on its
    peak (a MemoryError here means the heap is too small for the count, not for the call)."""
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        fn()
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def alloc(m):
    gc.collect()
    before = gc.mem_alloc()
    from microace import cwt  # noqa: F401 (what a CWT verify loads: cbor, cose, crypto, ...)
    from microace.keystore import SoftwareKeyStore  # noqa: F401

    gc.collect()
    out = {"modules": gc.mem_alloc() - before}
    for name, table in (("es256_table", True), ("es256_any", False)):
        verify = cwt_verifier(m, "es256", table)
        gc.collect()
        out[name + "_in_use"] = gc.mem_alloc()  # modules, key store, tables, this script, data
        out[name] = allocated(verify)
        verify = None
    return out


def main():
    m = json.loads(globals().get("_MACE_IN") or sys.stdin.read())  # bench/device.py
    for group in ("tokens", "keys", "hmac", "ccm"):  # hex -> bytes, once
        if group in m:
            m[group] = {k: unhexlify(v) for k, v in m[group].items()}
    out = bench(m) if m["mode"] == "bench" else alloc(m)
    v = sys.implementation.version
    out["micropython"] = "%d.%d.%d%s (%s)" % (v[0], v[1], v[2], "-" + v[3] if len(v) > 3 and v[3]
                                              else "", sys.version.split("; ")[-1])
    print(json.dumps(out))


if __name__ == "__main__":  # also when bench/device.py runs it at the REPL
    main()
