"""Host side of the key store tests: keys, bundles, proofs and fingerprints made here with
cbor2/hashlib/hmac (independently of the firmware), and the MicroPython helpers they drive."""

import hashlib
import hmac

import cbor2

from microace_host.wire import PROOF_LABEL
from tests.support import tokenfactory as tf

OWNER = hashlib.sha256(b"microace-test-owner").digest()
CONFIG = {"audience": tf.AUD, "issuer": tf.ISS, "as_uri": "coaps://as.example/token",
          "scope_map": {"read": [["/temp", 1]], "admin": [["/temp", 5], ["/led", 12]]},
          "limits": {"max_tokens": 8, "max_token_bytes": 1024}}

ES = tf.signing_key("ES256", b"as-es256")
ED = tf.signing_key("EdDSA", b"as-ed25519")
HS = tf.symmetric_key(5, b"as-hs256")
CCM = tf.symmetric_key(10, b"as-ccm")


def cose_key(key, changes=None):
    """COSE_Key map of a python-cwt key as the board holds it; changes {label: value} (value
    None drops the label)."""
    m = tf.cose_key_map(key)
    for label, value in (changes or {}).items():
        if value is None:
            m.pop(label, None)
        else:
            m[label] = value
    return m


def key_bytes(key, changes=None):
    return cbor2.dumps(cose_key(key, changes))


def entry(key, iss=None, table=None):
    """A bundle key entry: key is a python-cwt key, a COSE_Key map or COSE_Key bytes."""
    if isinstance(key, dict):
        key = cbor2.dumps(key)
    elif not isinstance(key, bytes):
        key = key_bytes(key)
    e = {"key": key}
    if iss is not None:
        e["iss"] = iss
    if table is not None:
        e["table"] = table
    return e


def bundle(keys, config=None, owner=OWNER, **extra):
    """Bundle bytes: keys is a list of entries or keys; owner None leaves it out."""
    b = {"v": 1, "keys": [k if isinstance(k, dict) and "key" in k else entry(k) for k in keys],
         "config": CONFIG if config is None else config}
    if owner is not None:
        b["owner"] = owner
    b.update(extra)
    return cbor2.dumps(b)


def proof(bundle_bytes, challenge, owner=OWNER):
    """HMAC-SHA256(owner, "microace-reprovision" || SHA-256(bundle) || challenge)."""
    return hmac.new(owner, PROOF_LABEL + hashlib.sha256(bundle_bytes).digest() + challenge,
                    hashlib.sha256).digest()


def fingerprint(m):
    """The contract's fingerprint of a COSE_Key map (the host's keys.fingerprint must agree)."""
    kty, alg = m[1], m[3]
    if kty == 2:
        material = m[-2] + m[-3]
    elif kty == 1:
        material = m[-2]
    else:
        material = hashlib.sha256(m[-1]).digest()
    data = b"microace-fp1" + bytes([kty]) + alg.to_bytes(2, "big", signed=True) + material
    return hashlib.sha256(data).digest()[:8].hex()


def key_status(key, iss=None):
    """The status() entry the store must report for a python-cwt key."""
    m = cose_key(key)
    return {"kid": m[2].hex(), "alg": m[3], "kty": m[1], "issuer": iss,
            "fingerprint": fingerprint(m), "table": m[3] == -7}


# _ks_try(f, *args) -> ('ok', result) or (exception class name, message)
KS_TRY = """
from microace.errors import KeyStoreError
def _ks_try(f, *a):
    try:
        return ('ok', f(*a))
    except KeyStoreError as e:
        return ('KeyStoreError', str(e))
    except Exception as e:
        return (type(e).__name__, str(e))
"""

MP_SETUP = KS_TRY + """
import os
from microace import cbor
from microace.wiring import open_store
from microace.keystore.file import FileMedium
from microace.keystore.persistent import PersistentKeyStore
def _ks_open(d):
    return open_store({'keystore': {'backend': 'file', 'dir': d}})
"""


RAM_BLOCKS = """
import vfs
class _RamBlocks:
    # littlefs block device (extended interface) over a bytearray, the file system of ESP32
    # boards. After `left` programs/erases (None: never) the power is gone and nothing more
    # reaches the blocks. No allocation here: littlefs may call in while the heap is locked
    # (a file closed by the garbage collector).
    def __init__(self, data, size=512):
        self.size = size
        self.data = data
        self.ff = b'\\xff' * size
        self.left = None
        self.dropped = False
    def _powered(self):
        if self.left is None:
            return True
        if self.left == 0:
            self.dropped = True
            return False
        self.left -= 1
        return True
    def readblocks(self, n, buf, off=0):
        at = n * self.size + off
        data = self.data
        for i in range(len(buf)):
            buf[i] = data[at + i]
    def writeblocks(self, n, buf, off=None):
        if self._powered():
            at = n * self.size + (off or 0)
            self.data[at:at + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        if op == 6 and self._powered():
            at = arg * self.size
            self.data[at:at + self.size] = self.ff
        return 0
"""
