"""HMAC-SHA256 in MicroPython: RFC 4231, Wycheproof, and CPython's hmac for key lengths 0..130."""

import hashlib
import hmac
import importlib
import json
import random
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"

SETUP = """
from microace.crypto.hmac import hmac_sha256
from microace.crypto.ct import ct_eq
def _b(at, n):
    return bytes(_blob[at:at + n])
"""


def vector_file(shared_path, package, package_path):
    """A vector file from ../shared/vectors, else from an installed vectors package."""
    path = VECTORS / shared_path
    if path.exists():
        return path
    try:
        path = Path(importlib.import_module(package).__file__).parent / package_path
    except ImportError:
        path = None
    if path is None or not path.exists():
        pytest.skip("needs ../shared/vectors/%s or the %s package" % (shared_path, package))
    return path


def run_batches(mp, function, rows, limit=2000):
    """Return [function(*row) for row in rows] computed in MicroPython, about `limit`
    characters of source per call. Byte strings travel as slices `_b(at, n)` of one hex
    blob per call: MicroPython interns short string literals for good, which would fill
    the heap of the long-lived process."""
    results, start = [], 0
    while start < len(rows):
        blob, texts, size = bytearray(), [], 0
        for row in rows[start:]:
            fields = []
            for value in row:
                if isinstance(value, bytes):
                    fields.append("_b(%d,%d)" % (len(blob), len(value)))
                    blob += value
                else:
                    fields.append(repr(value))
            texts.append("(%s)," % ",".join(fields))
            size += len(texts[-1]) + 2 * len(row)
            if size + 2 * len(blob) > limit:
                break
        mp.exec("_blob = bytearray()")
        for at in range(0, len(blob), 512):  # small pieces of source, for a 32k heap
            mp.exec("_blob += bytes.fromhex(%r)" % blob[at:at + 512].hex())
        results += mp.eval("[%s(*r) for r in [%s]]" % (function, "".join(texts)))
        start += len(texts)
    mp.exec("_blob = None")
    return results


def read_rfc4231(path):
    """(key, msg, mac) records of the pyca RFC 4231 file (Len/Key/Msg/MD lines)."""
    records, fields = [], {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = (part.strip() for part in line.split("=", 1))
            fields[name] = value
            if name == "MD":
                records.append(tuple(bytes.fromhex(fields[k]) for k in ("Key", "Msg", "MD")))
                fields = {}
    return records


def test_rfc4231(mp):
    records = read_rfc4231(vector_file("pyca-vectors/hmac/rfc-4231-sha256.txt",
                                       "cryptography_vectors", "HMAC/rfc-4231-sha256.txt"))
    assert len(records) == 6  # test cases 1-4, 6, 7 (case 5 truncates; not in the file)
    mp.exec(SETUP)
    got = run_batches(mp, "hmac_sha256", [(key, msg) for key, msg, _ in records])
    assert got == [mac for _, _, mac in records]


def test_wycheproof(mp):
    path = VECTORS / "wycheproof" / "hmac_sha256_test.json"
    if not path.exists():
        pytest.skip("needs ../shared/vectors/wycheproof/hmac_sha256_test.json"
                    " (no vectors package ships it)")
    data = json.loads(path.read_text())
    tests = [(group["tagSize"] // 8, t) for group in data["testGroups"] for t in group["tests"]]
    assert len(tests) == data["numberOfTests"]
    mp.exec(SETUP + "def _hmac_case(key, msg, size, tag):\n"
                    "    return ct_eq(hmac_sha256(key, msg)[:size], tag)\n")
    rows = [(bytes.fromhex(t["key"]), bytes.fromhex(t["msg"]), size, bytes.fromhex(t["tag"]))
            for size, t in tests]
    got = run_batches(mp, "_hmac_case", rows)
    assert len(got) == len(tests)
    for (_, t), verdict in zip(tests, got):
        assert verdict == (t["result"] == "valid"), "tcId %d (%s)" % (t["tcId"], t["comment"])


def test_against_cpython_hmac(mp):
    rng = random.Random(4231)
    msg_lens = (0, 1, 55, 56, 63, 64, 65, 200, 300)  # around SHA-256 padding boundaries
    rows = [(rng.randbytes(key_len), rng.randbytes(rng.choice(msg_lens))) for key_len in range(131)]
    mp.exec(SETUP)
    got = run_batches(mp, "hmac_sha256", rows)
    for (key, msg), mac in zip(rows, got):
        assert mac == hmac.new(key, msg, hashlib.sha256).digest(), "key %d B, msg %d B" % (
            len(key), len(msg))
    assert len(got) == 131
