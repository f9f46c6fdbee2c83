"""Provisioning, sealing and authenticated re-provisioning of the persistent key store, every
bad input refused with a clear KeyStoreError and nothing written, and tokens minted by
python-cwt verified with the provisioned keys."""

import cbor2
import pytest

from tests.support import tokenfactory as tf
from keystore_util import (CCM, CONFIG, ED, ES, HS, MP_SETUP, OWNER, bundle, cose_key,
                           entry, key_bytes, key_status, proof)

OTHER_ES = tf.signing_key("ES256", b"as-es256-2")


class Store:
    """A file-backed store in MicroPython (`_st`), and its file on the host."""

    def __init__(self, mp, path):
        self.mp = mp
        self.dir = str(path)
        self.file = path / "keystore.bin"
        mp.exec("_st = _ks_open(%r)" % self.dir)

    def call(self, code, **blobs):
        """Run `_st.<code>` with the named byte strings bound -> ("ok", value) or (error, msg)."""
        for name, data in blobs.items():
            self.mp.send(name, data)
        return self.mp.eval("_ks_try(lambda: _st.%s)" % code)

    def ok(self, code, **blobs):
        verdict, value = self.call(code, **blobs)
        assert verdict == "ok", value
        return value

    def refused(self, code, why, **blobs):
        """The call fails with KeyStoreError naming `why`; neither the file nor RAM changed."""
        before = self.bytes()
        status = self.ok("status()")
        verdict, msg = self.call(code, **blobs)
        assert verdict == "KeyStoreError", (verdict, msg)
        assert why in msg, msg
        assert self.bytes() == before, "the store file changed"
        assert self.ok("status()") == status
        return msg

    def bytes(self):
        return self.file.read_bytes() if self.file.exists() else None

    def reopen(self):
        self.mp.exec("_st = _ks_open(%r)" % self.dir)
        return self.ok("status()")


@pytest.fixture
def st(mp, tmp_path):
    mp.exec(MP_SETUP)
    return Store(mp, tmp_path / "state")


def test_first_provisioning(st):
    assert st.ok("status()") == {"backend": "file", "sealed": False, "gen": 0, "keys": [],
                                 "config": None, "protection": "none: key file in the state "
                                 "directory (development and CI)"}
    s = st.ok("provision(_b)", _b=bundle([entry(ES, iss=tf.ISS), ED, HS, CCM]))
    assert (s["gen"], s["sealed"]) == (1, False)
    assert s["keys"] == [key_status(ES, tf.ISS), key_status(ED), key_status(HS),
                         key_status(CCM)]
    assert s["config"] == CONFIG
    assert st.reopen() == s
    assert b"d" not in cbor2.loads(st.bytes()[13:])  # nothing but the state in the file


def test_config_defaults(st):
    s = st.ok("provision(_b)", _b=bundle([HS], config={"audience": "a", "issuer": "i"}))
    assert s["config"] == {"audience": "a", "issuer": "i", "as_uri": None, "scope_map": {},
                           "limits": {}}


def test_idempotent_provisioning_writes_nothing(st):
    b = bundle([ES, HS])
    st.ok("provision(_b)", _b=b)
    written = st.bytes()
    for _ in range(2):
        assert st.ok("provision(_b)", _b=b)["gen"] == 1
        assert st.bytes() == written
    st.ok("seal()")
    sealed = st.bytes()
    # sealed: the same bundle needs no proof and writes nothing; seal() again neither
    assert st.ok("provision(_b)", _b=b)["gen"] == 2
    assert st.ok("seal()")["gen"] == 2
    assert st.bytes() == sealed
    # the same keys in another CBOR encoding, owner left out: still the same state
    b2 = cbor2.dumps({"owner": OWNER, "config": CONFIG, "v": 1,
                      "keys": [{"key": cbor2.dumps(dict(reversed(list(cose_key(k).items())))),
                                "iss": None} for k in (ES, HS)]})
    assert st.ok("provision(_b)", _b=b2)["gen"] == 2
    assert st.ok("provision(_b)", _b=bundle([ES, HS], owner=None))["gen"] == 2
    assert st.bytes() == sealed


def test_es256_table_built_on_the_board_or_brought(st, mp):
    """Without a table the board builds it (p256.make_table, timed); a bundle that brings the
    same table describes the same state; a table for another key is refused."""
    st.ok("provision(_b)", _b=bundle([ES]))
    mp.exec("from microace.crypto import p256\nimport time\n"
            "_q = _st.lookup(%r)\n_q = _st._keys[_q.slot][0].public\n"
            "_t0 = time.ticks_us()\n_tab = bytes(p256.make_table(_q))\n"
            "_us = time.ticks_diff(time.ticks_us(), _t0)" % ES.kid)
    print("p256.make_table: %d us, %d bytes" % (mp.eval("_us"), mp.eval("len(_tab)")))
    assert mp.eval("_ks_try(lambda: _st.provision(cbor.encode({'v': 1, 'keys': [{'key': %r, "
                   "'table': _tab}], 'config': %r})))[1]['gen']" % (key_bytes(ES), CONFIG)) == 1
    st.refused("provision(cbor.encode({'v': 1, 'keys': [{'key': %r, 'table': _tab}], "
               "'config': %r}))" % (key_bytes(OTHER_ES), CONFIG),
               "key 0: not a P-256 table for this key")
    st.refused("provision(cbor.encode({'v': 1, 'keys': [{'key': %r, 'table': _tab[:-1]}], "
               "'config': %r}))" % (key_bytes(ES), CONFIG), "key 0: not a P-256 table")
    st.refused("provision(cbor.encode({'v': 1, 'keys': [{'key': %r, 'table': _tab}], "
               "'config': %r}))" % (key_bytes(ED), CONFIG),
               "key 0: only ES256 keys take a verification table")


def _bad_key(changes, key=ES):
    return bundle([entry(key_bytes(key, changes))])


NOT_FOR = "key 0: COSE_Key alg %s is unsupported or does not fit kty %d"
WITH_SCOPES = {name: dict(CONFIG, scope_map=m) for name, m in (
    ("bad AIF", {"r": [["temp", 1]]}), ("AIF text", {"r": "/temp"}),
    ("space", {"a b": [["/t", 1]]}))}

BAD_BUNDLES = [
    # wrong key type for the alg (RFC 9053: ES256 needs EC2, EdDSA OKP, HMAC/CCM Symmetric)
    ("EC2 key with alg EdDSA", _bad_key({3: -8}), NOT_FOR % (-8, 2)),
    ("OKP key with alg ES256", _bad_key({3: -7}, ED), NOT_FOR % (-7, 1)),
    ("EC2 key with alg HS256", _bad_key({3: 5}), NOT_FOR % (5, 2)),
    ("symmetric key with alg ES256", _bad_key({3: -7}, HS), NOT_FOR % (-7, 4)),
    ("symmetric key with alg EdDSA", _bad_key({3: -8}, CCM), NOT_FOR % (-8, 4)),
    # unknown or missing alg, kid
    ("unknown alg", _bad_key({3: -999}), "key 0: COSE_Key alg -999 is unsupported"),
    ("alg text", _bad_key({3: "ES256"}), "key 0: COSE_Key alg 'ES256' is unsupported"),
    ("no alg", _bad_key({3: None}, HS), "key 0: COSE_Key has no alg"),
    ("no kid", _bad_key({2: None}), "key 0: COSE_Key has no kid"),
    ("empty kid", _bad_key({2: b""}), "key 0: COSE_Key has no kid"),
    # truncated or damaged key material
    ("truncated COSE_Key", bundle([entry(key_bytes(ES)[:-5])]), "key 0: truncated"),
    ("COSE_Key not a map", bundle([entry(cbor2.dumps([1, 2]))]),
     "key 0: COSE_Key must be a map"),
    ("short x", _bad_key({-2: bytes(31)}), "key 0: COSE_Key parameter -2 must be a 32-byte"),
    ("point off the curve", _bad_key({-3: bytes(32)}), "key 0: not a P-256 point"),
    ("EC2 on P-384", _bad_key({-1: 2}), "key 0: EC2 key must be on P-256"),
    ("private EC2 key", _bad_key({-4: bytes(range(32))}), "key 0: COSE_Key holds a private key"),
    ("private OKP key", _bad_key({-4: bytes(32)}, ED), "key 0: COSE_Key holds a private key"),
    # symmetric key of the wrong length for its alg
    ("HS256 with 16 bytes", _bad_key({-1: bytes(16)}, HS),
     "key 0: symmetric key length does not fit alg 5"),
    ("A128CCM with 32 bytes", _bad_key({-1: bytes(32)}, CCM), "length does not fit alg 10"),
    ("HS256 with no k", _bad_key({-1: None}, HS), "key 0: COSE_Key parameter -1 must be a"),
    # kid collision, entries
    ("kid twice", bundle([ES, entry(key_bytes(HS, {2: ES.kid}))]),
     "key 1: kid 61732d6573323536 is used twice"),
    ("entry not a map", cbor2.dumps({"v": 1, "keys": [key_bytes(ES)], "config": CONFIG,
                                     "owner": OWNER}), "key 0: entry must be a map"),
    ("entry unknown field", bundle([dict(entry(ES), kid=b"x")]),
     "key 0: entry has an unknown field 'kid'"),
    ("iss not text", bundle([entry(ES, iss=5)]), "key 0: iss must be a non-empty text string"),
    # the bundle itself
    ("truncated bundle", bundle([ES])[:-3], "bundle is not CBOR: truncated"),
    ("bundle not a map", cbor2.dumps([1]), "bundle must be a map"),
    ("version 2", bundle([ES], v=2), "bundle version must be 1"),
    ("unknown bundle field", bundle([ES], seal=True), "bundle has an unknown field 'seal'"),
    ("no keys", bundle([]), "bundle needs a non-empty keys array"),
    ("short owner", bundle([ES], owner=bytes(16)), "bundle owner must be 32 bytes"),
    ("no config", cbor2.dumps({"v": 1, "keys": [entry(ES)], "owner": OWNER}),
     "config must be a map"),
    ("no audience", bundle([ES], config={"issuer": "i"}), "config audience must be a non-empty"),
    ("empty issuer", bundle([ES], config={"audience": "a", "issuer": ""}),
     "config issuer must be"),
    ("unknown config field", bundle([ES], config=dict(CONFIG, aud="x")),
     "config has an unknown field 'aud'"),
    ("bad AIF", bundle([ES], config=WITH_SCOPES["bad AIF"]),
     "scope_map 'r': AIF path must be a text string starting with /"),
    ("AIF not an array", bundle([ES], config=WITH_SCOPES["AIF text"]),
     "scope_map 'r': not an AIF array"),
    ("scope name with space", bundle([ES], config=WITH_SCOPES["space"]),
     "must be text without spaces"),
    ("negative limit", bundle([ES], config=dict(CONFIG, limits={"max_tokens": -1})),
     "config limits 'max_tokens'"),
]


@pytest.mark.parametrize("name, data, why", BAD_BUNDLES, ids=[b[0] for b in BAD_BUNDLES])
def test_bad_bundle_refused_on_a_fresh_store(st, name, data, why):
    msg = st.refused("provision(_b)", why, _b=data)
    assert st.bytes() is None, msg


def test_bad_bundles_refused_on_a_provisioned_store(st):
    """The same bundles against a provisioned, open store: each refused, nothing written."""
    st.ok("provision(_b)", _b=bundle([ES, HS]))
    for name, data, why in BAD_BUNDLES:
        if name != "short owner":  # an open store takes a new owner: checked below
            st.refused("provision(_b)", why, _b=data)
    st.refused("provision(_b)", "bundle owner must be 32 bytes", _b=bundle([ES], owner=bytes(16)))


def test_first_provisioning_needs_an_owner(st):
    st.refused("provision(_b)", "bundle owner must be 32 bytes (required the first time)",
               _b=bundle([ES], owner=None))
    assert st.bytes() is None


def test_sealed_store_refuses_changes(st):
    b = bundle([ES, HS])
    st.ok("provision(_b)", _b=b)
    st.ok("seal()")
    new = bundle([ES, ED])
    st.refused("provision(_b)", "store is sealed: a different bundle needs a proof", _b=new)
    # a proof with no challenge asked for, or from another owner secret, bundle or challenge
    c = st.ok("challenge()")
    st.refused("provision(_b, _p)", "store is sealed: the proof does not match",
               _b=new, _p=proof(new, c, owner=bytes(32)))
    c = st.ok("challenge()")
    st.refused("provision(_b, _p)", "store is sealed: the proof does not match",
               _b=new, _p=proof(b, c))
    c = st.ok("challenge()")
    st.refused("provision(_b, _p)", "store is sealed: the proof does not match",
               _b=new, _p=proof(new, c + b"x")[:31])
    st.refused("provision(_b, _p)", "store is sealed: ask for a challenge()",
               _b=new, _p=proof(new, c))  # the challenge went with the failed try
    c1 = st.ok("challenge()")
    st.ok("challenge()")  # a newer challenge replaces it
    st.refused("provision(_b, _p)", "store is sealed: the proof does not match",
               _b=new, _p=proof(new, c1))
    # put/erase/list are for provisioning mode only
    st.refused("put(_k)", "store is sealed: put is refused", _k=key_bytes(ED))
    st.refused("erase(%r)" % HS.kid, "store is sealed: erase is refused")
    st.refused("list()", "store is sealed: list is refused")
    assert st.reopen()["keys"] == [key_status(ES), key_status(HS)]


def test_authenticated_reprovisioning(st, mp):
    b = bundle([ES, HS])
    st.ok("provision(_b)", _b=b)
    st.ok("seal()")
    new = bundle([ED, CCM], config=dict(CONFIG, audience="rs2"))
    c = st.ok("challenge()")
    assert len(c) == 16
    s = st.ok("provision(_b, _p)", _b=new, _p=proof(new, c))
    assert (s["gen"], s["sealed"], s["keys"]) == (3, True, [key_status(ED), key_status(CCM)])
    assert s["config"]["audience"] == "rs2"
    assert mp.eval("[_st.lookup(k) is None for k in %r]" % ([ES.kid, ED.kid],)) == [True, False]
    assert st.reopen() == s
    # replay: the captured (bundle, proof) does not work again, not even after a new challenge
    newer = bundle([HS])
    c2 = st.ok("challenge()")
    assert st.ok("provision(_b, _p)", _b=newer, _p=proof(newer, c2))["gen"] == 4
    st.refused("provision(_b, _p)", "store is sealed: ask for a challenge()",
               _b=new, _p=proof(new, c))
    st.ok("challenge()")
    st.refused("provision(_b, _p)", "store is sealed: the proof does not match",
               _b=new, _p=proof(new, c))
    # a new owner secret, set with the old one, is the one that counts from then on
    owner2 = bytes(range(32))
    rotated = bundle([HS], owner=owner2)
    c = st.ok("challenge()")
    assert st.ok("provision(_b, _p)", _b=rotated, _p=proof(rotated, c))["gen"] == 5
    c = st.ok("challenge()")
    st.refused("provision(_b, _p)", "the proof does not match", _b=new, _p=proof(new, c))
    c = st.ok("challenge()")
    assert st.ok("provision(_b, _p)", _b=new, _p=proof(new, c, owner=owner2))["gen"] == 6


def test_put_erase_list_in_provisioning_mode(st):
    st.refused("put(_k)", "put: the store is not provisioned", _k=key_bytes(ES))
    st.refused("list()", "list: the store is not provisioned")
    st.refused("seal()", "seal: the store is not provisioned")
    st.ok("provision(_b)", _b=bundle([ES]))
    assert st.ok("put(_k, 'as2')", _k=key_bytes(HS)) == key_status(HS, "as2")
    assert st.ok("put(_k)", _k=key_bytes(ED))["kid"] == ED.kid.hex()
    assert st.ok("list()") == [key_status(ES), key_status(HS, "as2"), key_status(ED)]
    st.refused("put(_k)", "kid 61732d6873323536 is already in the store", _k=key_bytes(HS))
    st.refused("put(_k)", "key 3: symmetric key length", _k=key_bytes(CCM, {-1: bytes(5)}))
    st.refused("put(_k)", "key 3: COSE_Key alg -8 is unsupported or does not fit kty 2",
               _k=key_bytes(ES, {3: -8}))
    st.refused("put(_k, None, b'x')", "key 3: only ES256 keys take", _k=key_bytes(CCM))
    st.ok("erase(%r)" % HS.kid)
    st.refused("erase(b'nope')", "no key with kid 6e6f7065")
    st.refused("erase(None)", "no key with kid (none)")
    s = st.reopen()
    assert (s["gen"], s["keys"]) == (4, [key_status(ES), key_status(ED)])


def test_stored_table_of_another_key_is_not_used(st, mp):
    """A flash writer puts another key's ES256 table under the stored key's header (the
    record's CRC made to fit): the store does not use it, so that key's tokens stay refused
    and the stored key's verify; one log line; the key's fingerprint is what it is."""
    import struct
    import zlib

    st.ok("provision(_b)", _b=bundle([ES]))
    mp.exec("from microace.crypto import p256\nfrom microace import cose as _cose\n"
            "_other = p256.make_table(_cose.parse_key(cbor.decode(%r)).public)"
            % key_bytes(OTHER_ES))
    other = mp.eval("bytes(_other)")
    blob = st.bytes()
    state = cbor2.loads(blob[13:])
    table = state["keys"][0]["table"]
    assert table[:65] != other[:65] and len(table) == len(other)
    state["keys"][0]["table"] = table[:65] + other[65:]
    body = cbor2.dumps(state, canonical=True)
    st.file.write_bytes(blob[:5] + struct.pack(">II", len(body), zlib.crc32(body)) + body)
    out = mp.exec("_st = _ks_open(%r)" % st.dir)
    assert "ES256 table rebuilt: not a P-256 table for this key" in out
    assert st.ok("status()")["keys"] == [key_status(ES)]
    mp.exec("from microace import cwt as _cwt\nfrom microace.errors import MicroaceError\n"
            "def _st_verify(tok):\n    try:\n"
            "        return 'ok:' + _cwt.verify(tok, _st, %r, now=%d).aud\n"
            "    except MicroaceError as e:\n        return '%%s:%%s' %% (type(e).__name__, e)"
            % (tf.AUD, tf.NOW))
    forged = tf.protect(tf.claims(), OTHER_ES, unprotected={4: ES.kid})  # the other key
    got = mp.map("_st_verify", [(tf.mint(tf.claims(), ES),), (forged,)])
    assert [g.split(":")[0] for g in got] == ["ok", "VerifyError"], got


def test_tokens_verify_with_the_provisioned_store(st, mp):
    """python-cwt mints, the store provisioned (and reloaded from its file) verifies."""
    mp.exec("from microace import cwt as _cwt\nfrom microace.errors import MicroaceError\n"
            "def _st_verify(tok):\n    try:\n"
            "        return 'ok:' + _cwt.verify(tok, _st, %r, now=%d).aud\n"
            "    except MicroaceError as e:\n        return '%%s:%%s' %% (type(e).__name__, e)"
            % (tf.AUD, tf.NOW))
    st.ok("provision(_b)", _b=bundle([entry(ES, iss=tf.ISS), ED, HS]))
    st.ok("seal()")
    st.reopen()
    c = tf.claims()
    tokens = [tf.mint(c, ES), tf.mint(c, ED), tf.mint(c, HS), tf.mint(c, ES, tagged=True),
              tf.mint(c, OTHER_ES), tf.mint(c, tf.signing_key("ES256", ES.kid, seed=b"evil")),
              tf.mint(tf.claims(iss="coaps://other.example"), ES)]
    got = mp.map("_st_verify", [(t,) for t in tokens])
    assert [g.split(":")[0] for g in got] == ["ok"] * 4 + ["VerifyError"] * 2 + ["ClaimError"], got
    # after re-provisioning without ES, its tokens no longer verify; ED's still do
    new = bundle([ED])
    p = proof(new, st.ok("challenge()"))
    st.ok("provision(_b, _p)", _b=new, _p=p)
    got = mp.map("_st_verify", [(tokens[0],), (tokens[1],)])
    assert [g.split(":")[0] for g in got] == ["VerifyError", "ok"], got


def test_atecc608_holds_the_es256_as_key(mp, tmp_path):
    """With a secure element (the command-level chip model of test_atecc608.py, personalized
    as docs/BOARDS.md says): provision() writes the ES256 AS key into the slot, tokens verify
    in the chip, seal() locks the slot, and no proof can swap the key afterwards."""
    from pathlib import Path

    mp.exec(MP_SETUP)
    mp.exec(Path(__file__).with_name("atecc_model.py").read_text())
    mp.exec("from microace.keystore.secure_element import AteccVerifier, PROTECTION, UNMACED\n"
            "PROTECTION = PROTECTION + '; ' + UNMACED  # no record MAC key: said so\n"
            "_m = AteccModel()\n_v = AteccVerifier(_m, slot=9)\n_v.configure_public_key_slot(9)\n"
            "_v.chip.lock_config()\n_v.chip.lock_data()\n"
            "_st = PersistentKeyStore(FileMedium(%r), _v)" % str(tmp_path))
    mp.exec("from microace import cwt as _cwt\n"
            "def _se_verify(tok):\n    _m.log = []\n"
            "    r = _ks_try(lambda: _cwt.verify(tok, _st, %r, now=%d) and 'ok')\n"
            "    return r[0], [p[1] for p in _m.log]" % (tf.AUD, tf.NOW))
    st = Store.__new__(Store)
    st.mp, st.dir, st.file = mp, str(tmp_path), tmp_path / "keystore.bin"
    assert st.ok("describe()").startswith("ATECC608 does not hold an ES256 key of this store")
    s = st.ok("provision(_b)", _b=bundle([ES, HS]))
    assert s["backend"] == "atecc608"
    assert "NOT protected" in s["protection"]  # written, not locked yet
    x, y = cose_key(ES)[-2], cose_key(ES)[-3]
    assert mp.eval("_v.read_public_key(9)") == (x, y)
    token = tf.mint(tf.claims(), ES)
    forged = tf.mint(tf.claims(), tf.signing_key("ES256", ES.kid, seed=b"evil"))
    assert mp.map("_se_verify", [(token,), (forged,), (tf.mint(tf.claims(), HS),)]) == [
        ("ok", [0x16, 0x45]),  # Nonce (digest), Verify Stored: in the chip
        ("VerifyError", [0x16, 0x45]),  # the chip says miscompare
        ("ok", [])]  # HMAC: in the MCU
    assert st.ok("seal()")["protection"] == st.ok("describe()") == mp.eval("PROTECTION")
    assert mp.eval("_v.state()['slot_locked']") is True
    # another ES256 AS key cannot go in, not even with the owner's proof
    other = bundle([OTHER_ES, HS])
    st.refused("provision(_b, _p)", "ATECC608 slot 9 is locked: its key cannot be replaced",
               _b=other, _p=proof(other, st.ok("challenge()")))
    # the other keys and the config still change with a proof
    new = bundle([ES, ED])
    assert st.ok("provision(_b, _p)", _b=new, _p=proof(new, st.ok("challenge()")))["gen"] == 3
    two = bundle([ES, OTHER_ES])
    st.refused("provision(_b, _p)", "the ATECC608 holds one ES256 key, the bundle has 2",
               _b=two, _p=proof(two, st.ok("challenge()")))
    mp.exec("_st = PersistentKeyStore(FileMedium(%r), _v)" % str(tmp_path))
    assert st.ok("describe()") == mp.eval("PROTECTION")
    assert mp.map("_se_verify", [(token,), (forged,)]) == [("ok", [0x16, 0x45]),
                                                           ("VerifyError", [0x16, 0x45])]
    # the medium rewritten with another ES256 key (flash access): refused, not verified
    # in software
    tampered = bundle([OTHER_ES, ED])
    mp.exec("_st2 = PersistentKeyStore(FileMedium(%r))" % str(tmp_path / "other"))
    mp.send("_b", tampered)
    mp.exec("_st2.provision(_b)\n_st = PersistentKeyStore(FileMedium(%r), _v)"
            % str(tmp_path / "other"))
    assert st.ok("describe()").startswith("ATECC608 does not hold an ES256 key of this store")
    assert mp.map("_se_verify", [(tf.mint(tf.claims(), OTHER_ES),)]) == [("VerifyError", [])]
    # open_store builds the same from board.json (machine.I2C and Pin stand-ins here)
    mp.exec("import sys\nclass _Machine:\n    @staticmethod\n    def Pin(n):\n        return n\n"
            "    @staticmethod\n    def I2C(i, scl, sda, freq):\n"
            "        _m.bus = (i, scl, sda, freq)\n        return _m\n"
            "sys.modules['machine'] = _Machine")
    try:
        cfg = {"keystore": {"backend": "atecc608", "address": 0x60, "slot": 9,
                            "i2c": {"id": 0, "scl": 9, "sda": 8, "freq": 400000},
                            "medium": {"backend": "file", "dir": str(tmp_path)}}}
        s = mp.eval("open_store(%r).status()" % cfg)
        assert (s["backend"], s["protection"], s["gen"]) == ("atecc608", mp.eval("PROTECTION"), 3)
        assert mp.eval("_m.bus") == (0, 9, 8, 400000)
        del cfg["keystore"]["i2c"]["sda"]
        assert mp.eval("_ks_try(open_store, %r)" % cfg) == (
            "KeyStoreError", 'the atecc608 key store needs "i2c": {"scl": PIN, "sda": PIN}')
    finally:
        mp.exec("del sys.modules['machine']")


def test_fingerprints_agree_with_the_host(st):
    """keystore.fingerprint on the board == microace_host.keys.fingerprint on the host."""
    keys = pytest.importorskip("microace_host.keys")
    s = st.ok("provision(_b)", _b=bundle([ES, ED, HS, CCM]))
    assert [k["fingerprint"] for k in s["keys"]] == [
        keys.fingerprint(cose_key(k)) for k in (ES, ED, HS, CCM)]


def test_atecc608_record_mac_covers_every_trust_relevant_field(mp, tmp_path):
    """With a record MAC key in the chip (mac_slot), a flash writer who adds a key for the
    issuer, widens the scope map, changes the audience, raises a limit or clears `sealed`
    (the CRC made to fit) gets a store that refuses to open: it fails closed, and the RS does
    not start. An older, unsealed record put back after sealing is refused too."""
    import struct
    import zlib
    from pathlib import Path

    mp.exec(MP_SETUP)
    mp.exec(Path(__file__).with_name("atecc_model.py").read_text())
    mp.exec("from microace.keystore.secure_element import AteccVerifier, PROTECTION, MACED\n"
            "_m = AteccModel()\n_v = AteccVerifier(_m, slot=9, mac_slot=5)\n"
            "_v.configure_public_key_slot(9)\n_v.configure_mac_key_slot(5)\n"
            "_v.chip.lock_config()\n_v.chip.lock_data()\n"
            "_st = PersistentKeyStore(FileMedium(%r), _v)" % str(tmp_path))
    st = Store.__new__(Store)
    st.mp, st.dir, st.file = mp, str(tmp_path), tmp_path / "keystore.bin"
    st.ok("provision(_b)", _b=bundle([entry(ES, iss=tf.ISS)]))
    assert "NOT protected" in st.ok("describe()")  # nothing locked yet
    unsealed = st.bytes()
    st.ok("seal()")
    assert st.ok("describe()") == mp.eval("PROTECTION + '; ' + MACED")
    sealed = st.bytes()
    assert st.reopen()["sealed"] is True  # the chip's MAC matches its own record
    # the secret never comes out of the chip
    verdict, msg = mp.eval("_ks_try(_v.chip.read, 2, 5 << 3, 32)")
    assert verdict == "KeyStoreError" and "status 0x0f" in msg, msg

    def tampered(change):
        state = cbor2.loads(sealed[13:])
        change(state)
        body = cbor2.dumps(state, canonical=True)
        return sealed[:5] + struct.pack(">II", len(body), zlib.crc32(body)) + body

    changes = {
        "another key for the issuer": lambda s: s["keys"].append(
            {"key": key_bytes(HS), "iss": tf.ISS, "table": None}),
        "wider scope map": lambda s: s["config"]["scope_map"].update(all=[["/", 15]]),
        "audience": lambda s: s["config"].update(audience="rs-other"),
        "limit": lambda s: s["config"]["limits"].update(max_tokens=64),
        "issuer": lambda s: s["keys"][0].update(iss="coaps://evil.example"),
        "sealed cleared": lambda s: s.update(sealed=False),
        "MAC dropped": lambda s: s.pop("mac"),
    }
    for what, change in changes.items():
        st.file.write_bytes(tampered(change))
        verdict, msg = mp.eval("_ks_try(PersistentKeyStore, FileMedium(%r), _v)" % st.dir)
        assert (verdict, msg.split(":")[0]) == ("KeyStoreError", "store unusable"), (what, msg)
    st.file.write_bytes(unsealed)  # a record the board wrote itself, from before the seal
    verdict, msg = mp.eval("_ks_try(PersistentKeyStore, FileMedium(%r), _v)" % st.dir)
    assert verdict == "KeyStoreError" and "older record" in msg, msg
    st.file.write_bytes(sealed)
    keys = st.reopen()["keys"]
    assert [(k["kid"], k["issuer"]) for k in keys] == [(ES.kid.hex(), tf.ISS)]
