"""Host side of the key store tests: keys, bundles, proofs and fingerprints made here with
cbor2/hashlib/hmac (independently of the firmware), and the MicroPython helpers they drive."""

import hashlib
import hmac

import cbor2

import tokenfactory as tf

OWNER = hashlib.sha256(b"microace-test-owner").digest()
CONFIG = {"audience": tf.AUD, "issuer": tf.ISS, "as_uri": "coaps://as.example/token",
          "scope_map": {"read": [["/temp", 1]], "admin": [["/temp", 5], ["/led", 12]]},
          "limits": {"max_tokens": 8, "max_token_bytes": 1024}}
PROOF_LABEL = b"microace-reprovision"

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


MP_SETUP = """
import os
from microace import cbor
from microace.errors import KeyStoreError
from microace.keystore import open_store
from microace.keystore.file import FileMedium
from microace.keystore.persistent import PersistentKeyStore
def _ks_try(f, *a):
    try:
        return ('ok', f(*a))
    except KeyStoreError as e:
        return ('KeyStoreError', str(e))
    except Exception as e:
        return (type(e).__name__, str(e))
def _ks_open(d):
    return open_store({'keystore': {'backend': 'file', 'dir': d}})
"""


def send(mp, name, data):
    """Bind `name` to bytes(data) in MicroPython, sent in small hex pieces."""
    mp.exec("%s = bytearray()" % name)
    for at in range(0, len(data), 512):
        mp.exec("%s += bytes.fromhex(%r)" % (name, data[at:at + 512].hex()))
    mp.exec("%s = bytes(%s)" % (name, name))
