"""The key store: hands the rest of the firmware key *handles*, never key bytes.

`lookup(kid) -> Handle or None`; `verify`, `mac_verify` and `decrypt` take a handle. Backends
(issue-3: file, nvs, atecc608) share this API; `SoftwareKeyStore` runs the operations in the
MCU with microace.crypto, on keys the backend loaded.
"""

import hashlib

from microace import cose
from microace.crypto import aes_ccm, ed25519, p256
from microace.crypto.ct import ct_eq
from microace.crypto.hmac import hmac_sha256
from microace.errors import KeyStoreError, VerifyError


class Handle:
    """What callers may know of a key: kid, algorithm, key type, and the issuer it speaks for."""

    def __init__(self, slot, kid, alg, kty, issuer=None):
        self.slot = slot
        self.kid = kid
        self.alg = alg
        self.kty = kty
        self.issuer = issuer


class SoftwareKeyStore:
    """Keys held in RAM by a backend; every operation runs in software."""

    def __init__(self):
        self._keys = []  # slot -> (cose.Key, verification table or None)
        self._handles = []

    def describe(self):
        return "none: keys in RAM (development and tests)"

    def add(self, key, issuer=None, table=None):
        """Trust `key` (a cose.Key with an alg); ES256 keys may bring their precomputed table."""
        if key.alg is None:
            raise KeyStoreError("a trusted key must carry its alg")
        for h in self._handles:
            if h.kid == key.kid:
                raise KeyStoreError("kid %s is already in the store"
                                    % (key.kid.hex() if key.kid else "(none)"))
        loaded = None
        if table is not None:
            if key.alg != cose.ALG_ES256:
                raise KeyStoreError("only ES256 keys take a verification table")
            loaded = p256.load_table(table, key.public)
        handle = Handle(len(self._keys), key.kid, key.alg, key.kty, issuer)
        self._keys.append((key, loaded))
        self._handles.append(handle)
        return handle

    def handles(self):
        return list(self._handles)

    def lookup(self, kid):
        """The handle for `kid`; with no kid, the store's only key (else None)."""
        if kid is None:
            return self._handles[0] if len(self._handles) == 1 else None
        for h in self._handles:
            if h.kid == kid:
                return h
        return None

    def _key(self, handle, alg):
        key, table = self._keys[handle.slot]
        if alg != key.alg:
            raise VerifyError("alg %r is not the algorithm bound to the key" % (alg,))
        return key, table

    def verify(self, handle, alg, tbs, sig):
        key, table = self._key(handle, alg)
        if alg == cose.ALG_ES256:
            return p256.verify(key.public, hashlib.sha256(tbs).digest(), sig, table)
        if alg == cose.ALG_EDDSA:
            return ed25519.verify(key.public, tbs, sig)
        raise VerifyError("alg %r is not a signature algorithm" % (alg,))

    def mac_verify(self, handle, alg, tbs, tag):
        key, _ = self._key(handle, alg)
        tag_len = cose.algorithm(alg)[4]
        if cose.algorithm(alg)[0] != cose.TAG_MAC0 or len(tag) != tag_len:
            return False
        return ct_eq(hmac_sha256(key.secret, tbs)[:tag_len], tag)

    def decrypt(self, handle, alg, nonce, aad, ciphertext):
        key, _ = self._key(handle, alg)
        if cose.algorithm(alg)[0] != cose.TAG_ENCRYPT0:
            raise VerifyError("alg %r is not an encryption algorithm" % (alg,))
        return aes_ccm.decrypt(key.secret, nonce, aad, ciphertext, cose.algorithm(alg)[4])
