"""MicroPython micro-benchmark of microace.crypto.p256 (run on the unix port or a board).

MICROPYPATH=firmware micropython [-X heapsize=64k] bench/mp_p256.py
"""

import gc
import time

from microace.crypto import p256

# Wycheproof ecdsa_secp256r1_sha256_p1363 tcId 1 (msg "123400", valid)
PUB_X = bytes.fromhex("2927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838")
PUB_Y = bytes.fromhex("c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e")
DIGEST = bytes.fromhex("bb5a52f42f9c9261ed4361f59422a1e30036e7c32b270c8807a419feca605023")
SIG = bytes.fromhex(
    "2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18"
    "4cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fadd76"
)


def per_call_us(fn, n):
    t = time.ticks_us()
    for _ in range(n):
        fn()
    return time.ticks_diff(time.ticks_us(), t) / n


def main():
    Q = p256.decode_point(PUB_X, PUB_Y)
    t = time.ticks_us()
    p256._g_table()
    print("G comb table, first use: %d us" % time.ticks_diff(time.ticks_us(), t))
    print("make_table: %d us" % per_call_us(lambda: p256.make_table(Q), 5))
    blob = p256.make_table(Q)
    table = p256.load_table(blob, Q)
    print("table size: %d bytes" % len(blob))
    assert p256.verify(Q, DIGEST, SIG) and p256.verify(Q, DIGEST, SIG, table)
    print("verify, any key: %d us" % per_call_us(lambda: p256.verify(Q, DIGEST, SIG), 50))
    print("verify, table:   %d us" % per_call_us(lambda: p256.verify(Q, DIGEST, SIG, table), 100))
    gc.collect()
    free = gc.mem_free()
    print("heap free before verify: %d" % free)


main()
