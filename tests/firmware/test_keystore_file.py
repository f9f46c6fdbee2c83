"""The file medium (keystore/file.py) on the unix port's file system and on LittleFS (the
file system of ESP32 boards, VfsLfs2 over a RAM block device), and the store's heap cost."""

import os

import pytest

from tests.support.mp_harness import run_micropython
from keystore_util import ES, HS, MP_SETUP, RAM_BLOCKS, bundle, key_status


@pytest.fixture
def ks(mp):
    mp.exec(MP_SETUP)
    return mp


def test_medium_round_trip(ks, tmp_path):
    d = str(tmp_path / "state")  # does not exist yet: the first write makes it
    ks.exec("_fm = FileMedium(%r)" % d)
    assert ks.eval("_fm.read()") is None
    ks.exec("_fm.write(b'one')")
    assert ks.eval("_fm.read()") == b"one"
    ks.exec("_fm.write(b'second record')")
    assert ks.eval("_fm.read()") == b"second record"
    assert sorted(os.listdir(d)) == ["keystore.bin"]  # the temp file was renamed away
    assert ks.eval("_fm.describe()") == "none: key file in the state directory (development and CI)"
    assert ks.eval("_fm.name") == "file"


def test_leftover_tmp_is_ignored(ks, tmp_path):
    """Power lost after writing keystore.bin.tmp but before the rename: the store is the old one."""
    d = tmp_path / "state"
    d.mkdir()
    (d / "keystore.bin.tmp").write_bytes(b"half a new record")
    assert ks.eval("_ks_try(lambda: _ks_open(%r).status()['gen'])" % str(d)) == ("ok", 0)
    ks.exec("_ks_s = _ks_open(%r)" % str(d))
    ks.send("_ks_b", bundle([ES]))
    assert ks.eval("_ks_s.provision(_ks_b)['gen']") == 1
    (d / "keystore.bin.tmp").write_bytes(b"garbage again")
    assert ks.eval("_ks_open(%r).status()['keys']" % str(d)) == [key_status(ES)]


def test_unreadable_store_fails_closed(ks, tmp_path):
    (tmp_path / "keystore.bin").mkdir()  # a directory where the file should be
    verdict, msg = ks.eval("_ks_try(_ks_open, %r)" % str(tmp_path))
    assert verdict == "KeyStoreError" and msg.startswith("cannot read "), msg


def test_write_failure_keeps_the_old_state(ks, tmp_path):
    d = tmp_path / "state"
    ks.exec("_ks_s = _ks_open(%r)" % str(d))
    ks.send("_ks_b", bundle([ES]))
    ks.exec("_ks_s.provision(_ks_b)")
    before = (d / "keystore.bin").read_bytes()
    (d / "keystore.bin.tmp").mkdir()  # the temp file cannot be opened
    ks.send("_ks_b2", bundle([ES, HS]))
    verdict, msg = ks.eval("_ks_try(_ks_s.provision, _ks_b2)")
    assert verdict == "KeyStoreError" and msg.startswith("cannot write the store"), msg
    assert (d / "keystore.bin").read_bytes() == before
    assert ks.eval("_ks_s.status()['gen']") == 1  # RAM still serves the stored state
    assert ks.eval("_ks_s.lookup(%r) is None" % HS.kid) is True


LFS = RAM_BLOCKS + """
_lfs_dev = _RamBlocks(bytearray(b'\\xff' * 128 * 512))
vfs.VfsLfs2.mkfs(_lfs_dev)
vfs.mount(vfs.VfsLfs2(_lfs_dev), '/lfs')
"""


def test_store_on_littlefs(ks):
    """rename() over an existing file is atomic on LittleFS: provision, seal, reload."""
    ks.exec(LFS)
    try:
        ks.send("_ks_b", bundle([ES, HS]))
        assert ks.eval("_ks_open('/lfs/state').provision(_ks_b)['gen']") == 1
        assert ks.eval("_ks_open('/lfs/state').seal()['gen']") == 2
        s = ks.eval("_ks_open('/lfs/state').status()")
        assert (s["gen"], s["sealed"], s["keys"]) == (2, True, [key_status(ES), key_status(HS)])
        assert ks.eval("sorted(os.listdir('/lfs/state'))") == ["keystore.bin"]
    finally:
        ks.exec("vfs.umount('/lfs')")


STORE_IMPORTS = """
import gc
from microace import cose, cwt
from microace.keystore import persistent, file, record
from microace.wiring import open_store
from microace.crypto import p256
gc.collect()
"""


def test_store_loads_and_verifies_in_32k_of_working_heap(mpy_firmware, tmp_path, mp):
    """A store with one ES256 key and its table, loaded by the compiled firmware in a fresh
    process with -X heapsize = its code + 32 KB (the method of test_memory.py: on a board the
    code is frozen into flash), then a python-cwt token verified with it. What the loaded
    store keeps is about its record (mostly the table) and small change."""
    from tests.support import tokenfactory as tf

    mp.exec(MP_SETUP)
    mp.send("_ks_b", bundle([ES]))
    mp.exec("_ks_open(%r).provision(_ks_b)" % str(tmp_path))
    size = (tmp_path / "keystore.bin").stat().st_size
    code_heap = int(run_micropython(STORE_IMPORTS + "print(gc.mem_alloc())", mpy_firmware,
                                    heap="512k"))
    code = STORE_IMPORTS + """
before = gc.mem_alloc()
store = open_store({'keystore': {'backend': 'file', 'dir': %r}})
gc.collect()
used = gc.mem_alloc() - before
t = cwt.verify(bytes.fromhex(%r), store, %r, now=%d)
print(used, t.aud)
""" % (str(tmp_path), tf.mint(tf.claims(), ES).hex(), tf.AUD, tf.NOW)
    heap = "%dk" % ((code_heap + 32 * 1024) // 1024 + 1)
    used, aud = run_micropython(code, mpy_firmware, heap=heap).split()
    assert aud == tf.AUD
    # the record, G's table (same size as the key's, built at load), and the objects
    assert int(used) <= 2 * size + 3072, "the store keeps %s bytes for a %d-byte record" % (
        used, size)


def test_open_store_config_errors(ks):
    assert ks.eval("_ks_try(open_store, {})") == (
        "KeyStoreError", "unknown key store backend None")
    assert ks.eval("_ks_try(open_store, {'keystore': {'backend': 'flash'}})") == (
        "KeyStoreError", "unknown key store backend 'flash'")
    assert ks.eval("_ks_try(open_store, {'keystore': {'backend': 'file'}})") == (
        "KeyStoreError", 'the file key store needs "dir"')
