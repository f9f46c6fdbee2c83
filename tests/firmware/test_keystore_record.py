"""The key store record (keystore/record.py): byte-exact format, and every damaged record
refused with KeyStoreError("store corrupt: ...") and nothing else."""

import random
import struct
import zlib

import cbor2
import pytest

from keystore_util import CONFIG, KS_TRY, OWNER

STATE = {"gen": 7, "sealed": True, "owner": OWNER,
         "keys": [{"key": cbor2.dumps({1: 4, 2: b"k1", 3: 5, -1: bytes(32)}), "iss": "as",
                   "table": None},
                  {"key": b"\xa1\x01\x02", "iss": None, "table": bytes(range(256)) * 3}],
         "config": CONFIG}


def host_record(state, version=1):
    """The record as the contract defines it, made with cbor2 and zlib."""
    body = cbor2.dumps(state, canonical=True)
    return b"MACE" + struct.pack(">BII", version, len(body), zlib.crc32(body)) + body


SETUP = KS_TRY + """
from microace.keystore import record
"""


@pytest.fixture
def rec(mp):
    mp.exec(SETUP)
    return mp


def test_pack_is_the_contract_format(rec):
    """Deterministic CBOR body (RFC 8949 §4.2.1) behind magic, version, length and CRC32."""
    rec.exec("_rec_state = %r" % (STATE,))
    assert rec.eval("record.pack(_rec_state)") == host_record(STATE)
    assert rec.eval("record.unpack(record.pack(_rec_state)) == _rec_state") is True
    assert rec.eval("record.gen(record.pack(_rec_state))") == 7


def test_unpack_reads_host_records(rec):
    for gen in (0, 23, 24, 2**32, 2**64 - 1):
        state = dict(STATE, gen=gen)
        rec.send("_rec_blob", host_record(state))
        assert rec.eval("_ks_try(record.unpack, _rec_blob)") == ("ok", state)
        assert rec.eval("record.gen(_rec_blob)") == gen
        assert rec.eval("record.gen(bytearray(_rec_blob))") == gen


def test_every_truncation_and_extension_is_corrupt(rec):
    blob = host_record(STATE)
    rec.send("_rec_blob", blob)
    rec.exec("""
def _rec_cut(blob):
    bad = []
    for n in range(len(blob)):
        r = _ks_try(record.unpack, blob[:n])
        if r[0] != 'KeyStoreError' or not r[1].startswith('store corrupt: '):
            bad.append((n, r))
    return bad
""")
    assert rec.eval("_rec_cut(_rec_blob)") == []
    assert rec.eval("_ks_try(record.unpack, _rec_blob[:-1])") == (
        "KeyStoreError", "store corrupt: length %d, %d bytes present (truncated or torn write)"
        % (len(blob) - 13, len(blob) - 14))
    assert rec.eval("_ks_try(record.unpack, _rec_blob + b'\\x00')") == (
        "KeyStoreError", "store corrupt: length %d, %d bytes present (truncated or torn write)"
        % (len(blob) - 13, len(blob) - 12))


def test_every_bit_flip_is_corrupt(rec):
    """CRC32 finds every single-bit error; header flips fail on magic/version/length."""
    blob = host_record(dict(STATE, keys=STATE["keys"][:1]))  # ~350 bytes: 2800 flips
    rec.send("_rec_blob", blob)
    rec.exec("""
def _rec_flips(blob, check):
    out = []
    b = bytearray(blob)
    for i in range(len(b) * 8):
        b[i >> 3] ^= 1 << (i & 7)
        r = _ks_try(check, bytes(b))
        b[i >> 3] ^= 1 << (i & 7)
        if r[0] != 'KeyStoreError' or not r[1].startswith('store corrupt: '):
            out.append((i, r))
    return out
""")
    assert rec.eval("_rec_flips(_rec_blob, record.unpack)") == []
    assert rec.eval("_rec_flips(_rec_blob, record.gen)") == []


@pytest.mark.parametrize("name, blob, why", [
    ("empty", b"", "not a microace key store record"),
    ("other magic", b"MACF" + host_record(STATE)[4:], "not a microace key store record"),
    ("version 2", host_record(STATE, version=2), "record version 2"),
    ("version 0", host_record(STATE, version=0), "record version 0"),
])
def test_header_errors(rec, name, blob, why):
    rec.send("_rec_blob", blob)
    verdict, msg = rec.eval("_ks_try(record.unpack, _rec_blob)")
    assert verdict == "KeyStoreError" and msg.startswith("store corrupt: ") and why in msg, msg


def _sealed(body):
    """A record whose CRC and length are right around any body."""
    return b"MACE" + struct.pack(">BII", 1, len(body), zlib.crc32(body)) + body


@pytest.mark.parametrize("name, body, why", [
    ("not CBOR", b"\xff\x00", "body is not CBOR"),
    ("truncated CBOR", cbor2.dumps(STATE, canonical=True)[:-1], "body is not CBOR"),
    ("two items", cbor2.dumps(STATE, canonical=True) + b"\x00", "trailing bytes"),
    ("an array", cbor2.dumps([1, 2]), "wrong shape"),
    ("gen missing", cbor2.dumps({k: v for k, v in STATE.items() if k != "gen"}), "wrong shape"),
    ("negative gen", cbor2.dumps(dict(STATE, gen=-1)), "wrong shape"),
    ("gen true", cbor2.dumps(dict(STATE, gen=True)), "wrong shape"),
    ("sealed 1", cbor2.dumps(dict(STATE, sealed=1)), "wrong shape"),
    ("short owner", cbor2.dumps(dict(STATE, owner=bytes(31))), "wrong shape"),
    ("config list", cbor2.dumps(dict(STATE, config=[])), "wrong shape"),
    ("extra field", cbor2.dumps(dict(STATE, x=1)), "wrong shape"),
    ("key entry text", cbor2.dumps(dict(STATE, keys=[{"key": "k", "iss": None, "table": None}])),
     "key entry has the wrong shape"),
    ("key entry short", cbor2.dumps(dict(STATE, keys=[{"key": b"k"}])),
     "key entry has the wrong shape"),
    ("table text", cbor2.dumps(dict(STATE, keys=[{"key": b"k", "iss": None, "table": "t"}])),
     "key entry has the wrong shape"),
])
def test_body_errors(rec, name, body, why):
    rec.send("_rec_blob", _sealed(body))
    verdict, msg = rec.eval("_ks_try(record.unpack, _rec_blob)")
    assert verdict == "KeyStoreError" and msg.startswith("store corrupt: ") and why in msg, msg


@pytest.mark.parametrize("name, body", [
    ("gen not first", cbor2.dumps({"a": 1, "gen": 2})),
    ("gen text", cbor2.dumps({"gen": "2"})),
    ("array", cbor2.dumps([1])),
    ("nothing", b""),
])
def test_gen_needs_gen_first(rec, name, body):
    rec.send("_rec_blob", _sealed(body))
    verdict, msg = rec.eval("_ks_try(record.gen, _rec_blob)")
    assert (verdict, msg) == ("KeyStoreError", "store corrupt: body does not start with gen")


def test_random_damage_never_escapes(rec):
    """Seeded random overwrites, splices and garbage: only KeyStoreError comes out."""
    rng = random.Random(3)
    blob = host_record(STATE)
    cases = [bytes(rng.randrange(256) for _ in range(rng.randrange(40))) for _ in range(40)]
    for _ in range(80):
        b = bytearray(blob)
        at = rng.randrange(len(b))
        b[at:at + rng.randrange(1, 9)] = bytes(rng.randrange(256) for _ in range(rng.randrange(9)))
        cases.append(bytes(b))
    rec.exec("def _rec_kind(b):\n    return _ks_try(record.unpack, b)[0]")
    got = rec.map("_rec_kind", [(c,) for c in cases])
    assert len(got) == len(cases) and set(got) == {"KeyStoreError"}, got
