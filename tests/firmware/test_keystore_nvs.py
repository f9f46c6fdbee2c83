"""The NVS medium (keystore/nvs.py) against an in-test esp32.NVS stand-in that runs inside
MicroPython with the exact method signatures of ports/esp32/esp32_nvs.c: NVS(namespace);
set_i32(key, value); get_i32(key); set_blob(key, buffer); get_blob(key, bytearray) ->
length; erase_key(key); commit(); positional arguments only; errors are OSError(-code,
"ESP_ERR_...") as check_esp_err raises them.

Power cuts: `_FakeNVS.cut = n` makes the n-th change (set_*, erase_key, commit) stop the
program (_PowerCut). Two models of what survives: "commit" (the API contract: nothing before
commit()) and "each" (what ESP-IDF really does: every set/erase is written at once, each one
atomic). After every cut, a fresh stand-in and store must show exactly the old or the new state.
"""

from pathlib import Path

import pytest

from keystore_util import CCM, ED, ES, HS, MP_SETUP, bundle, key_status

NVS_STAND_IN = Path(__file__).with_name("standins") / "esp32_nvs.py"

STAND_IN = NVS_STAND_IN.read_text() + """
from microace.keystore.nvs import NvsMedium
def _nv_reset(model='commit'):
    _FakeNVS.flash = {}
    _FakeNVS.cut = None
    _FakeNVS.each = model == 'each'
def _nv_store(ns='microace'):
    return PersistentKeyStore(NvsMedium(ns, _FakeNVS))
def _nv_view(ns='microace'):
    # what a reboot finds: (gen, sealed, kids) or the error
    r = _ks_try(lambda: _nv_store(ns).status())
    if r[0] != 'ok':
        return r
    s = r[1]
    return (s['gen'], s['sealed'], [k['kid'] for k in s['keys']])
def _nv_slots(ns='microace'):
    f = _FakeNVS.flash.get(ns, {})
    return sorted((k, v[1] if v[0] == 'i32' else len(v[1])) for k, v in f.items())
"""


@pytest.fixture
def nv(mp):
    mp.exec(MP_SETUP)
    mp.exec(STAND_IN)
    mp.exec("_nv_reset()")
    for name, keys in {"_nv_b1": [ES], "_nv_b2": [ES, HS], "_nv_b3": [ED, CCM]}.items():
        mp.send(name, bundle(keys))
    return mp


def test_stand_in_has_the_esp32_signatures(nv):
    """The stand-in refuses what the C functions refuse, so the medium cannot rely on more."""
    nv.exec("_nv_n = _FakeNVS('t')")
    refused = ["_nv_n.set_i32(key='a', value=1)", "_nv_n.set_i32('a', 2**31)",
               "_nv_n.get_blob('a', b'')", "_nv_n.get_i32('a')", "_nv_n.set_i32('k' * 16, 1)",
               "_FakeNVS()", "_nv_n.commit(1)"]
    got = [nv.eval("_ks_try(lambda: %s)[0]" % code) for code in refused]
    assert got == ["TypeError", "OverflowError", "TypeError", "OSError", "OSError",
                   "TypeError", "TypeError"]
    nv.exec("_nv_n.set_blob('a', b'xyz'); _nv_n.set_i32('a_len', 3)")
    assert nv.eval("_ks_try(_nv_n.get_blob, 'a', bytearray(2))") == (
        "OSError", "(-4364, 'ESP_ERR_NVS_INVALID_LENGTH')")
    nv.exec("_nv_buf = bytearray(5)")
    assert nv.eval("(_nv_n.get_blob('a', _nv_buf), bytes(_nv_buf))") == (3, b"xyz\x00\x00")


def test_round_trip_alternates_slots(nv):
    """Each write goes to the other slot; once it is committed the old slot is erased."""
    assert nv.eval("_nv_view()") == (0, False, [])
    assert nv.eval("_nv_slots()") == []
    nv.exec("_nv_s = _nv_store()")
    assert nv.eval("_nv_s.provision(_nv_b1)['gen']") == 1
    first = nv.eval("_nv_slots()")
    assert [k for k, _ in first] == ["ks_a", "ks_a_len"] and first[0][1] == first[1][1]
    assert nv.eval("_nv_s.provision(_nv_b2)['gen']") == 2
    assert [k for k, _ in nv.eval("_nv_slots()")] == ["ks_b", "ks_b_len"]
    assert nv.eval("_nv_view()") == (2, False, [ES.kid.hex(), HS.kid.hex()])
    assert nv.eval("_nv_s.seal()['gen']") == 3
    assert [k for k, _ in nv.eval("_nv_slots()")] == ["ks_a", "ks_a_len"]
    assert nv.eval("_nv_view()") == (3, True, [ES.kid.hex(), HS.kid.hex()])
    s = nv.eval("_nv_store().status()")
    assert s["backend"] == "nvs" and s["keys"] == [key_status(ES), key_status(HS)]
    assert s["protection"] == ("not on the visible filesystem; encrypted at rest only when NVS "
                               "encryption is enabled")
    assert nv.eval("_nv_view('other')") == (0, False, [])  # namespaces are separate


def test_open_store_uses_esp32_nvs(nv):
    """open_store imports esp32.NVS only for the nvs backend (here: the stand-in as esp32)."""
    nv.exec("import sys\nclass _Esp32:\n    NVS = _FakeNVS\nsys.modules['esp32'] = _Esp32")
    try:
        s = nv.eval("open_store({'keystore': {'backend': 'nvs', 'namespace': 'rs'}})"
                    ".provision(_nv_b1)")
        assert (s["backend"], s["gen"]) == ("nvs", 1)
        assert nv.eval("_nv_view('rs')") == (1, False, [ES.kid.hex()])
        assert nv.eval("open_store({'keystore': {'backend': 'nvs'}}).status()['gen']") == 0
    finally:
        nv.exec("del sys.modules['esp32']")


def _cut_everywhere(nv, model):
    """Provision b1, then cut the power at every change of the writes of b2, seal and b3."""
    nv.exec("_nv_reset(%r)" % model)
    nv.exec("_nv_store().provision(_nv_b1)")
    steps = [("_nv_s.provision(_nv_b2)", (2, False, [ES.kid.hex(), HS.kid.hex()])),
             ("_nv_s.seal()", (3, True, [ES.kid.hex(), HS.kid.hex()])),
             ("_nv_s.provision(_nv_b3, _nv_proof(_nv_b3, _nv_s.challenge()))",
              (4, True, [ED.kid.hex(), CCM.kid.hex()]))]
    results = []
    old = (1, False, [ES.kid.hex()])
    for code, new in steps:
        for cut in range(12):
            nv.exec("_nv_flash = {k: dict(v) for k, v in _FakeNVS.flash.items()}")
            nv.exec("_nv_s = _nv_store()\n_FakeNVS.cut = %d" % cut)
            verdict = nv.eval("_ks_try(lambda: %s)[0]" % code)
            nv.exec("_FakeNVS.cut = None")
            after = nv.eval("_nv_view()")
            results.append((code, cut, verdict, after == new))
            assert after in (old, new), (model, code, cut, verdict, after)
            if verdict == "ok":
                assert after == new, (model, code, cut, after)
            if verdict == "ok":
                break
            nv.exec("_FakeNVS.flash = _nv_flash")  # the next try starts from the same flash
        else:
            pytest.fail("%s never completed" % code)
        old = new
    return results


PROOF = """
from microace.keystore.bundle import proof as _nv_proof_of
def _nv_proof(b, challenge):
    return _nv_proof_of(%r, b, challenge)
"""


@pytest.mark.parametrize("model", ["commit", "each"])
def test_power_cut_at_every_change(nv, model):
    from keystore_util import OWNER

    nv.exec(PROOF % OWNER)
    results = _cut_everywhere(nv, model)
    # A write: set_blob, set_i32, commit, then erase_key of the other slot's two keys and
    # commit: 6 changes (the slot written was erased by the write before); a cut before each.
    assert [r[1] for r in results if r[2] == "_PowerCut"] == [0, 1, 2, 3, 4, 5] * 3
    assert [r[2] for r in results if r[2] != "_PowerCut"] == ["ok"] * 3
    # the new state counts once commit() got through ("each": once set_i32 did), not before
    applied = 3 if model == "commit" else 2
    assert [r[3] for r in results] == [cut >= applied for cut in range(7)] * 3, results


def _corrupt(nv, code):
    nv.exec("_nv_f = _FakeNVS.flash['microace']\n" + code)


TORN = [  # what a write to slot b cut short can leave (b's length first, then its blob)
    "_nv_f['ks_b'] = ('blob', _nv_f['ks_a'][1][:-1])",  # shorter than its length
    "_nv_f['ks_b'] = ('blob', _nv_f['ks_a'][1][:100] + b'!' + _nv_f['ks_a'][1][101:])",
    "_nv_f['ks_b'] = ('blob', _nv_f['ks_a'][1][:12] + bytes([_nv_f['ks_a'][1][12] ^ 1])"
    " + _nv_f['ks_a'][1][13:])",  # its CRC
    "_nv_f['ks_b'] = ('blob', bytes(len(_nv_f['ks_a'][1])))",  # erased, not yet written
    "_nv_f['ks_b'] = ('blob', _nv_f['ks_a'][1] + b'x')",  # longer than its length
]
LENGTHS = ["len(_nv_f['ks_a'][1])", "len(_nv_f['ks_a'][1]) + 1", "0", "-5", "2**31 - 1"]


def test_torn_blob_uses_the_other_slot(nv):
    """Slot a holds the store; slot b holds what a cut-short write left: a is used, and the
    next write goes to b, never over a."""
    nv.exec("_nv_store().provision(_nv_b1)")
    old = (1, False, [ES.kid.hex()])
    nv.exec("_nv_saved = dict(_FakeNVS.flash['microace'])")
    cases = [(blob, "_nv_f['ks_b_len'] = ('i32', %s)" % n) for blob in TORN for n in LENGTHS]
    cases += [("_nv_f['ks_b'] = ('i32', 5)", "_nv_f['ks_b_len'] = ('i32', 9)"),  # other type
              ("pass", "_nv_f['ks_b_len'] = ('i32', 9)"),  # a length, no blob
              ("_nv_f['ks_b'] = ('blob', b'MACE')", "pass")]  # a blob, no length
    for blob, length in cases:
        _corrupt(nv, blob + "\n" + length)
        assert nv.eval("_nv_view()") == old, (blob, length)
        nv.exec("_nv_good = _FakeNVS.flash['microace']['ks_a']")
        assert nv.eval("_nv_store().provision(_nv_b3)['gen']") == 2, (blob, length)
        assert [k for k, _ in nv.eval("_nv_slots()")] == ["ks_b", "ks_b_len"]
        assert nv.eval("_nv_view()") == (2, False, [ED.kid.hex(), CCM.kid.hex()])
        nv.exec("_FakeNVS.flash['microace'] = dict(_nv_saved)")


def test_damaged_record_fails_closed_without_rollback(nv):
    """At rest only the newest record exists: damaging it stops the store (KeyStoreError),
    it never falls back to an older state such as the one before seal()."""
    nv.exec("_nv_s = _nv_store()\n_nv_s.provision(_nv_b1)\n_nv_s.seal()")
    assert [k for k, _ in nv.eval("_nv_slots()")] == ["ks_b", "ks_b_len"]
    for damage in TORN:
        nv.exec("_nv_saved = dict(_FakeNVS.flash['microace'])")
        _corrupt(nv, "_nv_f['ks_a'] = _nv_f['ks_b']\n" + damage + "\ndel _nv_f['ks_a']")
        assert nv.eval("_nv_view()") == (
            "KeyStoreError", "store corrupt: no valid record in NVS namespace 'microace'"), damage
        nv.exec("_FakeNVS.flash['microace'] = _nv_saved")
    assert nv.eval("_nv_view()") == (2, True, [ES.kid.hex()])


def test_first_write_cut_short_is_no_store(nv):
    """A blob whose length never got written (power lost during the first write): no store."""
    nv.exec("_nv_n = _FakeNVS('microace')\n_nv_n.set_blob('ks_a', b'MACE')\n_nv_n.commit()")
    assert nv.eval("_nv_view()") == (0, False, [])
    assert nv.eval("_nv_store().provision(_nv_b1)['gen']") == 1
    assert nv.eval("_nv_view()") == (1, False, [ES.kid.hex()])
