"""The board's own EDHOC key in the key store: generate() makes it on the board (file medium
and the ATECC608 model: GenKey in a private-key slot), ecdh() uses it (in the chip there),
its CCS is built on the board, doctor's status shows kid/fingerprint/where and never the
private part, re-provisioning keeps it, a sealed store refuses a new one, and a kill -9 while
it is written leaves the old key or the new one, whole."""

import random
import time
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.mp_harness import skip_if_out_of_memory
from keystore_util import ES, HS, MP_SETUP, bundle
from microace_host.keys import fingerprint as host_fingerprint
from microace_host.unix_port import micropython_command
from test_atecc608 import SETUP as ATECC_SETUP
from test_keystore_powerloss import _run_until_killed

MODEL = Path(__file__).with_name("atecc_model.py")
EDHOC_SLOT = 2
AS_SLOT = 9


def peer_point(key):
    n = key.public_key().public_numbers()
    return n.x, n.y


def shared(key, x, y):
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                        ec.SECP256R1()).public_key()
    return key.exchange(ec.ECDH(), pub)


def ccs(sub, kid, x, y):
    """RFC 9528 §3.5.2 CCS as RFC 9529 lays it out, built on the host with cbor2."""
    return cbor2.dumps({2: sub, 8: {1: {1: 2, 2: kid, -1: 1, -2: x, -3: y}}}, canonical=True)


EDHOC_SETUP = MP_SETUP + """
from microace.keystore.own import EdhocKeyStore
def _ek_open(d):
    # a board whose board.json has "edhoc": open_store gives the store with the EDHOC key
    return open_store({'keystore': {'backend': 'file', 'dir': d}, 'edhoc': {}})
"""


@pytest.fixture
def ks(mp):
    mp.exec(EDHOC_SETUP)
    return mp


def check_key(mp, store, peer):
    """ECDH through the store equals cryptography's with the store's public key -> (x, y)."""
    x, y = mp.eval("(lambda h: (h.public[0].to_bytes(32, 'big'), h.public[1].to_bytes(32, 'big')))"
                   "(%s.edhoc_key())" % store)
    got = mp.eval("%s.ecdh(%s.edhoc_key(), %r)" % (store, store, peer_point(peer)))
    assert got == shared(peer, x, y)
    return x, y


def test_file_store_generates_and_keeps_its_key(ks, tmp_path):
    d = str(tmp_path)
    ks.send("_ek_b", bundle([ES, HS]))
    ks.exec("_ek = _ek_open(%r)" % d)
    # not before provisioning
    assert ks.eval("_ks_try(_ek.generate, b'rs', 'rs.example')")[0] == "KeyStoreError"
    ks.exec("_ek.provision(_ek_b)")
    assert ks.eval("_ek.edhoc_key()") is None and ks.eval("'edhoc' in _ek.status()") is False
    # a store opened without "edhoc" (a board that does not serve it) has no generate
    assert ks.eval("hasattr(_ks_open(%r), 'generate')" % d) is False
    for bad in ("b'', 'rs'", "b'rs', ''", "'rs', 'rs'", "b'rs', None"):
        assert ks.eval("_ks_try(_ek.generate, %s)" % bad) == (
            "KeyStoreError", "generate needs a kid (bytes) and a sub (text)")
    st = ks.eval("_ek.generate(b'\\x32', 'rs.example')")
    peer = ec.generate_private_key(ec.SECP256R1())
    x, y = check_key(ks, "_ek", peer)
    m = {1: 2, 2: b"\x32", -1: 1, -2: x, -3: y}
    assert st == {"kid": "32", "sub": "rs.example", "fingerprint": host_fingerprint(m),
                  "where": "file medium (none: key file in the state directory (development "
                           "and CI))"}
    assert ks.eval("_ek.status()['edhoc']") == st
    assert ks.eval("_ek.edhoc_credential()") == ccs("rs.example", b"\x32", x, y)
    # reloaded from the medium: the same key; re-provisioned: still the same key
    ks.exec("_ek = _ek_open(%r)" % d)
    assert check_key(ks, "_ek", peer) == (x, y)
    ks.send("_ek_b2", bundle([ES]))
    ks.exec("_ek.provision(_ek_b2)")
    assert check_key(ks, "_ek", peer) == (x, y)
    # a new key replaces it
    ks.exec("_ek.generate(b'\\x33', 'rs.example')")
    x2, y2 = check_key(ks, "_ek", peer)
    assert (x2, y2) != (x, y) and ks.eval("_ek.status()['edhoc']['kid']") == "33"
    # only the board's key, and only with a handle of it
    ks.exec("from microace.keystore import Handle")
    assert ks.eval("_ks_try(_ek.ecdh, Handle(0, b'as-es256', -7, 2), %r)"
                   % (peer_point(peer),)) == ("KeyStoreError", "ecdh: not the board's EDHOC key")
    # sealed: no new key
    ks.exec("_ek.seal()")
    assert ks.eval("_ks_try(_ek.generate, b'\\x34', 'rs.example')")[0] == "KeyStoreError"
    assert check_key(ks, "_ek", peer) == (x2, y2)


def test_trusted_clients_in_the_bundle(ks, tmp_path):
    """config edhoc clients: each a CCS with a scope; refused when malformed."""
    key = ec.generate_private_key(ec.SECP256R1())
    n = key.public_key().public_numbers()
    cred = ccs("client", b"\x2b", n.x.to_bytes(32, "big"), n.y.to_bytes(32, "big"))
    from keystore_util import CONFIG
    ks.exec("_ek = _ek_open(%r)" % str(tmp_path))
    good = dict(CONFIG, edhoc={"clients": [{"cred": cred, "scope": "read"}]})
    ks.send("_ek_b", bundle([ES], config=good))
    assert ks.eval("_ek.provision(_ek_b)['config']['edhoc']") == {
        "clients": [{"cred": cred, "scope": "read"}]}
    bad = [
        ({"clients": [{"cred": cred}]}, "edhoc client 0: needs a scope (text or AIF bytes)"),
        ({"clients": [{"cred": b"\xa0", "scope": "read"}]},
         "edhoc client 0: CCS needs a cnf claim"),
        ({"clients": [{"cred": cred, "scope": "read"}] * 2},
         "edhoc client 1: kid 2b is used twice"),
        ({"clients": [{"cred": cred, "scope": b"\x01"}]}, "edhoc client 0: AIF scope must be a "
                                                          "non-empty array"),
        ({"clients": {}}, "config edhoc clients must be an array"),
        ({"peers": []}, "config edhoc has an unknown field 'peers'"),
    ]
    for edhoc, why in bad:
        ks.send("_ek_b", bundle([ES], config=dict(CONFIG, edhoc=edhoc)))
        assert ks.eval("_ks_try(_ek.provision, _ek_b)") == ("KeyStoreError", why)
    assert ks.eval("_ek.status()['config']['edhoc']['clients'][0]['scope']") == "read"


@pytest.fixture
def chip(mp):
    with skip_if_out_of_memory("the driver, the model and p256 compiled from source need "
                               "more heap than this"):
        mp.exec(MODEL.read_text())
        mp.exec(ATECC_SETUP + EDHOC_SETUP)
    mp.exec("m = AteccModel()\nv = AteccVerifier(m, slot=%d)\n"
            "v.configure_public_key_slot(%d)\nv.configure_private_key_slot(%d)\n"
            "v.chip.lock_config()\nv.chip.lock_data()" % (AS_SLOT, AS_SLOT, EDHOC_SLOT))
    return mp


def test_chip_genkey_and_ecdh(chip):
    """GenKey makes a key in the slot and gives its public key; ECDH in the chip equals
    cryptography's; the slot cannot be read; off-curve keys and wrong slots are refused."""
    mp = chip
    x, y = mp.eval("v.generate_private_key(%d)" % EDHOC_SLOT)
    peer = ec.generate_private_key(ec.SECP256R1())
    n = peer.public_key().public_numbers()
    px, py = n.x.to_bytes(32, "big"), n.y.to_bytes(32, "big")
    assert mp.eval("v.ecdh(%d, %r, %r)" % (EDHOC_SLOT, px, py)) == shared(peer, x, y)
    # the public key of the stored key (GenKey mode 0) is the same
    assert mp.eval("bytes(v.chip.execute(se.OP_GENKEY, 0, %d, size=64))" % EDHOC_SLOT) == x + y
    # IsSecret: the private key cannot be read out
    assert mp.eval("_outcome(v.chip.read, se.ZONE_DATA, se.data_address(%d, 0), 32)"
                   % EDHOC_SLOT).startswith("AteccError:15:")
    # a point off the curve: the chip refuses (execution error)
    assert mp.eval("_outcome(v.ecdh, %d, %r, %r)" % (EDHOC_SLOT, px, bytes(31) + b"\x01")) \
        .startswith("AteccError:15:")
    # the AS public-key slot is no private key; slot numbers outside 0..7 never reach the chip
    mp.exec("m.log = []")
    assert mp.eval("_outcome(v.ecdh, %d, %r, %r)" % (AS_SLOT, px, py)).startswith(
        "KeyStoreError:None:ATECC608 EDHOC key slot must be 0..7")
    assert mp.eval("len(m.log)") == 0
    # a new GenKey replaces the key
    x2, y2 = mp.eval("v.generate_private_key(%d)" % EDHOC_SLOT)
    assert (x2, y2) != (x, y)
    assert mp.eval("v.ecdh(%d, %r, %r)" % (EDHOC_SLOT, px, py)) == shared(peer, x2, y2)


def test_chip_model_rules(chip):
    """The model's rules from the data sheet: GenKey only into P-256 private-key slots whose
    WriteConfig allows it, ECDH only where ReadKey permits it in the clear."""
    mp = chip
    # slot 3: KeyConfig of a blank part (data): no private key -> execution error
    assert mp.eval("_outcome(v.generate_private_key, 3)").startswith("AteccError:15:")
    assert mp.eval("_outcome(v.ecdh, 3, bytes(32), bytes(32))").startswith("AteccError:15:")
    # ReadKey bit 3 set (result must not leave in the clear): ECDH refused
    mp.exec("v.generate_private_key(%d)" % EDHOC_SLOT)
    mp.exec("m.config[20 + 2 * %d] |= 0x08" % EDHOC_SLOT)
    g = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
         0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
    gx, gy = (c.to_bytes(32, "big") for c in g)
    assert mp.eval("_outcome(v.ecdh, %d, %r, %r)" % (EDHOC_SLOT, gx, gy)).startswith(
        "AteccError:15:")
    mp.exec("m.config[20 + 2 * %d] &= ~0x08" % EDHOC_SLOT)
    assert mp.eval("_outcome(v.ecdh, %d, %r, %r)" % (EDHOC_SLOT, gx, gy)).startswith("ok:")
    # WriteConfig without GenKey after the data lock: refused
    mp.exec("m.config[21 + 2 * %d] &= ~0x20" % EDHOC_SLOT)
    assert mp.eval("_outcome(v.generate_private_key, %d)" % EDHOC_SLOT).startswith(
        "AteccError:15:")


def test_store_with_chip_keeps_only_the_public_part(chip, tmp_path):
    """With an edhoc_slot the chip makes the key; the record holds no private part; ECDH
    runs in the chip (the model's command log shows it)."""
    mp = chip
    mp.send("_ek_b", bundle([ES]))
    mp.exec("v.edhoc_slot = %d\n_ek = EdhocKeyStore(FileMedium(%r), v)\n"
            "_ek.provision(_ek_b)" % (EDHOC_SLOT, str(tmp_path)))
    st = mp.eval("_ek.generate(b'\\x32', 'rs.example')")
    assert st["where"] == "ATECC608 slot %d (never leaves the chip)" % EDHOC_SLOT
    peer = ec.generate_private_key(ec.SECP256R1())
    mp.exec("m.log = []")
    x, y = check_key(mp, "_ek", peer)
    assert [p[1] for p in mp.eval("m.log")] == [0x43]
    record = (tmp_path / "keystore.bin").read_bytes()
    own = cbor2.loads(record[13:])["own"]
    assert own == {"kid": b"\x32", "sub": "rs.example", "x": x, "y": y, "d": None}
    assert mp.eval("bytes(v.chip.execute(se.OP_GENKEY, 0, %d, size=64))" % EDHOC_SLOT) == x + y


WRITER = """
from microace import cbor
from microace.keystore.file import FileMedium
from microace.keystore.own import EdhocKeyStore
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
try:
    s = EdhocKeyStore(FileMedium(%(dir)r))
    h = s.edhoc_key()
    # whole: the private part belongs to the public part (d*G has the stored x)
    whole = h is None or s.ecdh(h, G) == h.public[0].to_bytes(32, 'big')
except Exception as e:
    print('E', type(e).__name__, e)
    raise SystemExit
i = int(h.kid[1:]) if h else 0
print('L', i, int(whole))
if not s.status()['gen']:
    s.provision(cbor.encode({'v': 1, 'owner': bytes(32), 'keys': [{'key': %(hs)r}],
                             'config': {'audience': 'a', 'issuer': 'as'}}))
while True:
    i += 1
    print('B', i)
    s.generate(b'k%%d' %% i, 'rs')
    print('D', i)
"""


def test_kill_during_generate(mpy_firmware, tmp_path):
    """kill -9 at random moments of a loop that generates keys: the next process loads the
    last completed key or the one in flight, and its private part fits its public part."""
    from keystore_util import key_bytes
    code = WRITER % {"dir": str(tmp_path / "state"), "hs": key_bytes(HS)}
    argv, env = micropython_command("-c", code, heap="256k", firmware=mpy_firmware)
    rng = random.Random(9528)
    deadline = time.monotonic() + 30
    committed, in_flight, runs, then = 0, None, 0, set()
    while runs < 40 and time.monotonic() < deadline:
        for line in _run_until_killed(argv, env, rng, deadline):
            kind, fields = line[:1], line[2:].split()
            assert kind != "E", "the store did not load after a kill: " + line
            if kind == "L":
                assert fields[1] == "1", "a torn key loaded: " + line
                got = int(fields[0])
                assert got in (committed, in_flight), (got, committed, in_flight)
                if in_flight is not None:
                    then.add(got == in_flight)
                committed, in_flight = got, None
            elif kind == "B":
                in_flight = int(fields[0])
            elif kind == "D":
                committed, in_flight = int(fields[0]), None
        runs += 1
    assert runs >= 15 and committed > runs, (runs, committed)
    assert then, "no kill hit a write"
