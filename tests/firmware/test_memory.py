"""Heap: the token verify path needs at most 32 KB of heap beyond the loaded code.

On a board the firmware is frozen into flash and its code takes no heap; the unix port loads
.mpy code into the heap. So each check first measures what the imports take in a fresh
process, then runs the verification in another process with `-X heapsize=<code + 32k>`:
if verification needs more than 32 KB of working heap, it raises MemoryError and fails.
"""

import json

import pytest

from tests.support import tokenfactory as tf
from tests.support.mp_harness import run_micropython

WORKING_HEAP = 32 * 1024

IMPORTS = """
import gc
from binascii import unhexlify
from microace import cose, cwt
from microace.keystore import SoftwareKeyStore
from microace.crypto import {crypto}
gc.collect()
"""

VERIFY = """
ks = SoftwareKeyStore()
ks.add(cose.parse_key(unhexlify({key!r})){table})
tok = cwt.verify(unhexlify({token!r}), ks, {aud!r}, now={now})
print(json.dumps(sorted(tok.claims)))
"""


def _case(alg, with_table=False):
    """(crypto module, trusted key hex, token hex, table expression) for one algorithm."""
    if alg in ("ES256", "EdDSA"):
        key = tf.signing_key(alg, b"mem-" + alg.encode())
        crypto = "p256" if alg == "ES256" else "ed25519"
    else:
        key = tf.symmetric_key(alg, b"mem-%d" % alg)
        crypto = "hmac" if alg == 4 else "aes_ccm"
    token = tf.protect(tf.claims(), key)
    table = ""
    if with_table:
        table = ", table=p256.make_table(cose.parse_key(unhexlify(%r)).public)" % (
            tf.trusted_key(key).hex())
    return crypto, tf.trusted_key(key).hex(), token.hex(), table


@pytest.mark.parametrize("alg,with_table", [
    ("ES256", False), ("ES256", True), ("EdDSA", False), (4, False), (10, False)])
def test_verify_path_fits_in_32k_of_working_heap(mpy_firmware, alg, with_table):
    crypto, key, token, table = _case(alg, with_table)
    imports = "import json\n" + IMPORTS.format(crypto=crypto)
    code_heap = int(run_micropython(imports + "print(gc.mem_alloc())", mpy_firmware,
                                    heap="512k"))
    if with_table:
        # the table lives in flash on a board (stored with the key); here it is built first
        # and counted as loaded data, like the code
        setup = imports + "t = " + table[len(", table="):] + "\ngc.collect()\n"
        code_heap = int(run_micropython(setup + "print(gc.mem_alloc())", mpy_firmware,
                                        heap="1024k"))
    heap = "%dk" % ((code_heap + WORKING_HEAP) // 1024 + 1)
    out = run_micropython(imports + VERIFY.format(key=key, token=token, aud=tf.AUD, now=tf.NOW,
                                                  table=table), mpy_firmware, heap=heap)
    assert json.loads(out) == sorted(tf.claims())
