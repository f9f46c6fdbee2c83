"""MicroPython side of bench/edhoc.py: P-256 ECDH and one EDHOC responder handshake.

Reads one JSON object on stdin (bytes as hex) and prints one JSON line: µs per call (median of
batches, as mp_bench.py) of a variable-base ECDH, a fixed-base k*G, and a whole responder
handshake (message_1 -> message_2, message_3 -> session: three ECDHs, one k*G, the KDFs and
AES-CCM) and the heap a handshake in progress holds; with "once", one handshake only (for the
smallest heap that runs it, bench/edhoc.py bisects). The handshake uses edhoc's test-only
_ephemeral argument, so that the host can prepare message_3.
"""

import gc
import json
import sys
from binascii import unhexlify

from microace import edhoc
from microace.crypto import ecdh
from mp_bench import time_op


class Keys:
    """The key store's ecdh() with a given static key (Trace 2's)."""

    def __init__(self, d):
        self.d = int.from_bytes(d, "big")

    def ecdh(self, handle, point):
        return ecdh.ecdh(self.d, point)


class Handle:
    kid = b"\x32"


def main():
    m = {k: unhexlify(v) if isinstance(v, str) else v
         for k, v in json.loads(sys.stdin.read()).items()}

    if m.get("once"):
        r = edhoc.Responder(Keys(m["sk_r"]), Handle(), m["cred_r"],
                            edhoc.TrustedClients([{"cred": m["cred_i"], "scope": "read"}]))
        r.message_1(m["message_1"], _ephemeral=(int.from_bytes(m["y"], "big"), m["c_r"]))
        print(r.message_3(m["c_r"], m["message_3"]).prk_out == m["prk_out"])
        return
    k = int.from_bytes(m["k"], "big")
    Q = ecdh.decompress(m["peer_x"])
    assert ecdh.ecdh(k, Q) == m["shared"]
    from microace.crypto import p256

    V = p256.decode_point(m["verify_q"][:32], m["verify_q"][32:])
    assert p256.verify(V, m["digest"], m["sig"])
    out = {"ecdh": time_op(lambda: ecdh.ecdh(k, Q), m["batch_ms"] * 1000, m["runs"]),
           "verify": time_op(lambda: p256.verify(V, m["digest"], m["sig"]),
                             m["batch_ms"] * 1000, m["runs"]),
           "keygen": time_op(lambda: ecdh.multiply_base(k), m["batch_ms"] * 1000, m["runs"])}
    r = edhoc.Responder(Keys(m["sk_r"]), Handle(), m["cred_r"],
                        edhoc.TrustedClients([{"cred": m["cred_i"], "scope": "read"}]))
    y = int.from_bytes(m["y"], "big")
    m1, m3, c_r = m["message_1"], m["message_3"], m["c_r"]

    def handshake():
        r.message_1(m1, _ephemeral=(y, c_r))
        return r.message_3(c_r, m3).prk_out

    assert handshake() == m["prk_out"]
    out["handshake"] = time_op(handshake, m["batch_ms"] * 1000, m["runs"])
    gc.collect()
    before = gc.mem_alloc()
    r.message_1(m1, _ephemeral=(y, c_r))
    gc.collect()
    out["in_progress"] = gc.mem_alloc() - before
    r.abort(c_r)
    print(json.dumps(out))


main()
