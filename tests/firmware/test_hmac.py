"""HMAC-SHA256 in MicroPython: RFC 4231, Wycheproof, and CPython's hmac for key lengths 0..130."""

import hashlib
import hmac
import json
import random

from tests.support.vectors import vector_file, vector_records

SETUP = """
from microace.crypto.hmac import hmac_sha256
from microace.crypto.ct import ct_eq
"""


def test_rfc4231(mp):
    path = vector_file("pyca-vectors/hmac/rfc-4231-sha256.txt", "cryptography_vectors",
                       "HMAC/rfc-4231-sha256.txt")
    records = [tuple(bytes.fromhex(r[k]) for k in ("Key", "Msg", "MD"))
               for r in vector_records(path, "MD")]
    assert len(records) == 6  # test cases 1-4, 6, 7 (case 5 truncates; not in the file)
    mp.exec(SETUP)
    got = mp.map("hmac_sha256", [(key, msg) for key, msg, _ in records])
    assert got == [mac for _, _, mac in records]


def test_wycheproof(mp):
    # no vectors package ships this file
    data = json.loads(vector_file("wycheproof/hmac_sha256_test.json").read_text())
    tests = [(group["tagSize"] // 8, t) for group in data["testGroups"] for t in group["tests"]]
    assert len(tests) == data["numberOfTests"]
    mp.exec(SETUP + "def _hmac_case(key, msg, size, tag):\n"
                    "    return ct_eq(hmac_sha256(key, msg)[:size], tag)\n")
    rows = [(bytes.fromhex(t["key"]), bytes.fromhex(t["msg"]), size, bytes.fromhex(t["tag"]))
            for size, t in tests]
    got = mp.map("_hmac_case", rows)
    assert len(got) == len(tests)
    for (_, t), verdict in zip(tests, got):
        assert verdict == (t["result"] == "valid"), "tcId %d (%s)" % (t["tcId"], t["comment"])


def test_against_cpython_hmac(mp):
    rng = random.Random(4231)
    msg_lens = (0, 1, 55, 56, 63, 64, 65, 200, 300)  # around SHA-256 padding boundaries
    rows = [(rng.randbytes(key_len), rng.randbytes(rng.choice(msg_lens))) for key_len in range(131)]
    mp.exec(SETUP)
    got = mp.map("hmac_sha256", rows)
    for (key, msg), mac in zip(rows, got):
        assert mac == hmac.new(key, msg, hashlib.sha256).digest(), "key %d B, msg %d B" % (
            len(key), len(msg))
    assert len(got) == 131
