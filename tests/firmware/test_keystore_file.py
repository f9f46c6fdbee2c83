"""The file medium (keystore/file.py) on the unix port's file system and on LittleFS (the
file system of ESP32 boards, VfsLfs2 over a RAM block device), and the store's heap cost."""

import os

import pytest

from conftest import run_micropython
from keystore_util import ES, HS, MP_SETUP, bundle, key_status, send


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
    send(ks, "_ks_b", bundle([ES]))
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
    send(ks, "_ks_b", bundle([ES]))
    ks.exec("_ks_s.provision(_ks_b)")
    before = (d / "keystore.bin").read_bytes()
    (d / "keystore.bin.tmp").mkdir()  # the temp file cannot be opened
    send(ks, "_ks_b2", bundle([ES, HS]))
    verdict, msg = ks.eval("_ks_try(_ks_s.provision, _ks_b2)")
    assert verdict == "KeyStoreError" and msg.startswith("cannot write the store"), msg
    assert (d / "keystore.bin").read_bytes() == before
    assert ks.eval("_ks_s.status()['gen']") == 1  # RAM still serves the stored state
    assert ks.eval("_ks_s.lookup(%r) is None" % HS.kid) is True


LFS = """
import os, vfs
class _RamBlocks:
    # The block device protocol of MicroPython's littlefs (extended interface).
    def __init__(self, blocks, size=512):
        self.size = size
        self.data = bytearray(b'\\xff' * (blocks * size))
    def readblocks(self, n, buf, off=0):
        at = n * self.size + off
        buf[:] = self.data[at:at + len(buf)]
    def writeblocks(self, n, buf, off=None):
        at = n * self.size + (off or 0)
        self.data[at:at + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        if op == 6:
            at = arg * self.size
            self.data[at:at + self.size] = b'\\xff' * self.size
        return 0
_lfs_dev = _RamBlocks(128)
vfs.VfsLfs2.mkfs(_lfs_dev)
vfs.mount(vfs.VfsLfs2(_lfs_dev), '/lfs')
"""


def test_store_on_littlefs(ks):
    """rename() over an existing file is atomic on LittleFS: provision, seal, reload."""
    ks.exec(LFS)
    try:
        send(ks, "_ks_b", bundle([ES, HS]))
        assert ks.eval("_ks_open('/lfs/state').provision(_ks_b)['gen']") == 1
        assert ks.eval("_ks_open('/lfs/state').seal()['gen']") == 2
        s = ks.eval("_ks_open('/lfs/state').status()")
        assert (s["gen"], s["sealed"], s["keys"]) == (2, True, [key_status(ES), key_status(HS)])
        assert ks.eval("sorted(os.listdir('/lfs/state'))") == ["keystore.bin"]
    finally:
        ks.exec("vfs.umount('/lfs')")


def test_store_heap(mpy_firmware, tmp_path, mp):
    """A store with one ES256 key and its table, loaded by the compiled firmware in a fresh
    process: it costs about its record in RAM beyond the modules and G's table, and loads and
    verifies a token in -X heapsize=80k. (Importing microace.keystore alone takes about 49k on
    the 64-bit unix port, where .mpy bytecode lives in the heap, so 32k is out of reach there.)"""
    import tokenfactory as tf

    mp.exec(MP_SETUP)
    send(mp, "_ks_b", bundle([ES]))
    mp.exec("_ks_open(%r).provision(_ks_b)" % str(tmp_path))
    token = tf.mint(tf.claims(), ES)
    code = """
import gc
from microace import cwt
from microace.keystore import open_store
from microace.keystore import persistent, file, record
from microace.crypto import p256
p256._g_table()
gc.collect()
before = gc.mem_alloc()
store = open_store({'keystore': {'backend': 'file', 'dir': %r}})
gc.collect()
used = gc.mem_alloc() - before
t = cwt.verify(bytes.fromhex(%r), store, %r, now=%d)
print(used, t.aud)
""" % (str(tmp_path), token.hex(), tf.AUD, tf.NOW)
    used, aud = run_micropython(code, mpy_firmware, heap="80k").split()
    assert aud == tf.AUD
    size = (tmp_path / "keystore.bin").stat().st_size  # the record: mostly the table
    assert int(used) <= size + 3072, "the store takes %s bytes for a %d-byte record" % (used, size)
