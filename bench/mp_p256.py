"""MicroPython micro-benchmark of microace.crypto.p256 (unix port or a board).

    MICROPYPATH=firmware micropython [-X heapsize=64k] bench/mp_p256.py

Prints the best of several runs (a loaded machine only adds time) in microseconds.
"""

import gc
import time

from microace.crypto import p256

# Wycheproof ecdsa_secp256r1_sha256_p1363 tcId 1 (message b"123400", valid)
PUB_X = bytes.fromhex("2927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838")
PUB_Y = bytes.fromhex("c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e")
DIGEST = bytes.fromhex("bb5a52f42f9c9261ed4361f59422a1e30036e7c32b270c8807a419feca605023")
SIG = bytes.fromhex(
    "2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18"
    "4cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fadd76"
)


def best_us(fn, runs):
    best = None
    for _ in range(runs):
        t = time.ticks_us()
        fn()
        dt = time.ticks_diff(time.ticks_us(), t)
        best = dt if best is None else min(best, dt)
    return best


def main():
    Q = p256.decode_point(PUB_X, PUB_Y)
    gc.collect()
    free = gc.mem_free()
    t = time.ticks_us()
    blob = p256.make_table(Q)
    made = time.ticks_diff(time.ticks_us(), t)
    table = p256.load_table(blob, Q)
    built = time.ticks_diff(time.ticks_us(), t) - made
    gc.collect()
    print("Q's table: %d bytes, %d bytes of heap (G's, a bytes constant: %d)"
          % (len(blob), free - gc.mem_free(), len(p256._G_COMB)))
    print("first make_table: %d us, load_table (checks every entry): %d us" % (made, built))
    assert p256.verify(Q, DIGEST, SIG) and p256.verify(Q, DIGEST, SIG, table)
    print("verify, any key: %d us" % best_us(lambda: p256.verify(Q, DIGEST, SIG), 50))
    print("verify, table:   %d us" % best_us(lambda: p256.verify(Q, DIGEST, SIG, table), 100))
    blob = table = None
    try:
        print("make_table: %d us" % best_us(lambda: p256.make_table(Q), 5))
    except MemoryError:
        print("make_table: MemoryError at this heap size")


main()
