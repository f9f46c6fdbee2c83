"""Power loss while the key store writes: the store is always exactly the old or the new state.

- kill -9 of a MicroPython unix-port process that rewrites a file-backed store in a loop, at
  random moments (seeded), then the next process loads it and reports what it found;
- a cut after every block write/erase of LittleFS (the board's file system, VfsLfs2 on a RAM
  block device that stops taking writes);
- a truncated or bit-flipped store file fails closed with a clear KeyStoreError, a leftover
  keystore.bin.tmp is ignored.
(NVS power cuts: test_keystore_nvs.py.)
"""

import os
import random
import select
import signal
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from keystore_util import ES, HS, MP_SETUP, OWNER, RAM_BLOCKS, bundle, key_bytes
from microace_host.unix_port import micropython_command

ITERATIONS = 150
TIME_BUDGET = 40  # seconds for the kill loop, whatever the machine
MESSAGE = b"microace power-loss check"

WRITER = """
import hashlib
from microace import cbor, cose
from microace.keystore import fingerprint
from microace.keystore.bundle import proof
from microace.keystore.file import FileMedium
from microace.keystore.persistent import PersistentKeyStore
ES_KEY = %(es)r
SIG = %(sig)r
MSG = %(msg)r
OWNER = %(owner)r
def hs_key(i):
    return cbor.encode({1: 4, 2: b'hs', 3: 5, -1: hashlib.sha256(b'k%%d' %% i).digest()})
def bundle(i):
    return cbor.encode({'v': 1, 'owner': OWNER, 'keys': [{'key': ES_KEY}, {'key': hs_key(i)}],
                        'config': {'audience': 'aud-%%d' %% i, 'issuer': 'as'}})
def view(s):
    # gen, step, sealed, and whether the state is whole: the HMAC key is the one of its step,
    # the ES256 key verifies a signature with its stored table
    st = s.status()
    if not st['gen']:
        return '0 -1 0 1'
    i = int(st['config']['audience'][4:])
    keys = st['keys']
    whole = (len(keys) == 2 and keys[0]['table'] and
             keys[1]['fingerprint'] == fingerprint(cose.parse_key(hs_key(i))) and
             s.verify(s.lookup(b'as-es256'), -7, MSG, SIG))
    return '%%d %%d %%d %%d' %% (st['gen'], i, st['sealed'], whole)
try:
    s = PersistentKeyStore(FileMedium(%(dir)r))
except Exception as e:
    print('E', type(e).__name__, e)
    raise SystemExit
print('L', view(s))
gen, i, sealed, _ = [int(v) for v in view(s).split()]
while True:
    if gen %% 5 == 4 and not sealed:
        sealed = 1
        print('B', gen + 1, i, sealed)
        s.seal()
    else:
        i += 1
        b = bundle(i)
        p = proof(OWNER, b, s.challenge()) if sealed else None
        print('B', gen + 1, i, sealed)
        s.provision(b, p)
    gen += 1
    print('D', gen, i, sealed, 1)  # the next process checks what it finds in full
"""


def _state(fields):
    return tuple(int(v) for v in fields[:3]), fields[3] == "1"


def _run_until_killed(argv, env, rng, deadline):
    """Start the writer, wait for its load report, let it write for a random while, kill -9.
    -> complete output lines."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    while b"\nL " not in b"\n" + out and proc.poll() is None and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            out += os.read(proc.stdout.fileno(), 65536)
    time.sleep(rng.uniform(0, 0.03))
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it ended by itself (a store that failed to load: the output says so)
    out += proc.stdout.read()
    proc.wait()
    return out.decode().split("\n")[:-1]  # a line cut by the kill has no newline


def test_kill_during_writes(mpy_firmware, tmp_path):
    state_dir = tmp_path / "state"
    key = ec.derive_private_key(int.from_bytes(ES.to_dict()[-4], "big"), ec.SECP256R1())
    r, s = decode_dss_signature(key.sign(MESSAGE, ec.ECDSA(hashes.SHA256())))
    code = WRITER % {"es": key_bytes(ES), "sig": r.to_bytes(32, "big") + s.to_bytes(32, "big"),
                     "msg": MESSAGE, "owner": OWNER, "dir": str(state_dir)}
    argv, env = micropython_command("-c", code, heap="256k", firmware=mpy_firmware)
    rng = random.Random(20240611)
    deadline = time.monotonic() + TIME_BUDGET
    committed, in_flight = (0, -1, 0), None
    stats = {"runs": 0, "in flight": 0, "then new": 0, "then old": 0, "tmp left": 0,
             "writes": 0}
    while stats["runs"] < ITERATIONS and time.monotonic() < deadline:
        lines = _run_until_killed(argv, env, rng, deadline)
        stats["runs"] += 1
        stats["tmp left"] += (state_dir / "keystore.bin.tmp").exists()
        for line in lines:
            kind, fields = line[:1], line[2:].split()
            assert kind != "E", "the store did not load after a kill: " + line
            if kind == "L":
                got, whole = _state(fields)
                assert whole, "a torn state loaded: " + line
                assert got in (committed, in_flight), (
                    "loaded %s, expected %s or %s" % (got, committed, in_flight))
                if in_flight is not None:  # the last run was killed during a write
                    stats["then new" if got == in_flight else "then old"] += 1
                committed, in_flight = got, None
            elif kind == "B":
                in_flight = _state(fields + ["1"])[0]
            elif kind == "D":
                got = _state(fields)[0]
                assert got == in_flight, line
                committed, in_flight = got, None
                stats["writes"] += 1
        stats["in flight"] += in_flight is not None
    print("power loss: %s, last gen %d" % (stats, committed[0]))
    assert stats["runs"] >= 50, "too slow: %s" % stats
    assert stats["in flight"] >= stats["runs"] // 2, stats  # most kills hit a write
    # and both outcomes of a cut write happened: the old state and the new one
    assert stats["then new"] and stats["then old"], stats
    assert committed[2] == 1 and stats["writes"] > stats["runs"]  # sealed path ran too


@pytest.fixture
def ks(mp):
    mp.exec(MP_SETUP)
    return mp


def test_damaged_store_file_fails_closed(ks, tmp_path):
    """Truncated at any length or one bit flipped anywhere (sampled, seeded): open_store raises
    KeyStoreError("store corrupt: ...") and never anything else; the original loads again."""
    d = str(tmp_path)
    ks.send("_pl_b", bundle([ES, HS]))
    ks.exec("_ks_open(%r).provision(_pl_b)" % d)
    size = (tmp_path / "keystore.bin").stat().st_size
    rng = random.Random(7)
    cuts = list(range(0, 64)) + sorted(rng.sample(range(64, size), 150))
    flips = sorted(rng.sample(range(size * 8), 300))
    ks.exec("""
_pl_path = %r + '/keystore.bin'
with open(_pl_path, 'rb') as f:
    _pl_good = f.read()
def _pl_load(blob):
    with open(_pl_path, 'wb') as f:
        f.write(blob)
    return _ks_try(lambda: _ks_open(%r).status()['gen'])
def _pl_flip(i):
    b = bytearray(_pl_good)
    b[i >> 3] ^= 1 << (i & 7)
    return _pl_load(b)
""" % (d, d))
    got = ks.eval("[_pl_load(_pl_good[:n]) for n in %r]" % cuts)
    got += ks.eval("[_pl_flip(i) for i in %r]" % flips)
    bad = [g for g in got if g[0] != "KeyStoreError" or not g[1].startswith("store corrupt: ")]
    assert not bad and len(got) == len(cuts) + len(flips), bad[:5]
    assert {g[1] for g in got} >= {
        "store corrupt: not a microace key store record", "store corrupt: CRC mismatch",
        "store corrupt: length %d, 0 bytes present (truncated or torn write)" % (size - 13)}
    assert ks.eval("_pl_load(_pl_good)") == ("ok", 1)


def test_leftover_tmp_is_ignored(ks, tmp_path):
    d = str(tmp_path)
    ks.send("_pl_b", bundle([ES]))
    ks.exec("_ks_open(%r).provision(_pl_b)" % d)
    good = (tmp_path / "keystore.bin").read_bytes()
    for tmp in (b"", good[:100], good + b"x", bundle([HS])):
        (tmp_path / "keystore.bin.tmp").write_bytes(tmp)
        assert ks.eval("_ks_open(%r).status()['keys'][0]['kid']" % d) == ES.kid.hex()


LFS_CUT = RAM_BLOCKS + """
def _lfs_mount(data):
    dev = _RamBlocks(data)
    vfs.mount(vfs.VfsLfs2(dev), '/cut')
    return dev
def _lfs_view():
    r = _ks_try(lambda: _ks_open('/cut/state').status())
    return r if r[0] != 'ok' else (r[1]['gen'], [k['kid'] for k in r[1]['keys']])
def _lfs_try(image, cut, code):
    # run code with the power cut after `cut` block writes; then mount what reached the blocks
    dev = _lfs_mount(bytearray(image))
    dev.left = cut
    r = _ks_try(lambda: eval(code))
    try:
        vfs.umount('/cut')
    except OSError:
        pass
    dev.left = None
    _lfs_mount(dev.data)
    view = _lfs_view()
    vfs.umount('/cut')
    return r[0], dev.dropped, view
"""


def test_littlefs_cut_after_every_block_write(ks):
    """Provision on LittleFS, then replay the next write (a re-provisioning that drops a key)
    with the power cut after 0, 1, 2, ... block programs/erases until one run completes."""
    ks.exec(LFS_CUT)
    ks.send("_pl_b1", bundle([ES, HS]))
    ks.send("_pl_b2", bundle([ES]))
    ks.exec("_pl_img = bytearray(b'\\xff' * 128 * 512)\nvfs.VfsLfs2.mkfs(_RamBlocks(_pl_img))\n"
            "_lfs_mount(_pl_img)\n_ks_open('/cut/state').provision(_pl_b1)\nvfs.umount('/cut')\n"
            "_pl_img = bytes(_pl_img)")
    old = (1, [ES.kid.hex(), HS.kid.hex()])
    new = (2, [ES.kid.hex()])
    seen = []
    for cut in range(200):
        verdict, dropped, view = ks.eval("_lfs_try(_pl_img, %d, '_ks_open(\"/cut/state\")"
                                         ".provision(_pl_b2)')" % cut)
        assert view in (old, new), (cut, verdict, view)
        seen.append(view[0])
        if not dropped:
            assert (verdict, view) == ("ok", new)
            break
    else:
        pytest.fail("the write never completed")
    print("littlefs: cut after each of %d block programs/erases -> gen %s" % (cut, seen))
    assert cut >= 3 and seen[0] == 1  # several steps, each one cut
