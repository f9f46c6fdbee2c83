"""The key store: hands the rest of the firmware key *handles*, never key bytes.

`lookup(kid) -> Handle or None`; `verify`, `mac_verify`, `decrypt` and `unwrap` take a handle.
`SoftwareKeyStore` runs the operations in the MCU with microace.crypto on keys held in RAM;
`PersistentKeyStore` (persistent.py) keeps them on a medium: a file (file.py), an esp32.NVS
namespace (nvs.py), with the AS key in an ATECC608 secure element (secure_element.py over the
chip driver atecc608.py). Which one a board uses is board wiring: microace.wiring.open_store.
"""

import hashlib

from microace import cbor, cose
from microace.errors import KeyStoreError, VerifyError

# The crypto modules are imported where they are used: a board that only verifies ES256
# tokens never loads Ed25519, SHA-512 or AES-CCM into its heap.


def hex_kid(kid):
    return kid.hex() if kid else "(none)"


def parse_key(raw):
    """COSE_Key bytes -> (cose.Key, its map), refused unless it names its kid and alg."""
    m = cbor.decode(raw)
    key = cose.parse_key(m)
    if not key.kid:
        raise KeyStoreError("COSE_Key has no kid")
    if key.alg is None:
        raise KeyStoreError("COSE_Key has no alg: a stored key is bound to one algorithm")
    return key, m


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

    def add(self, key, issuer=None, table=None, checked=False):
        """Trust `key` (a cose.Key with an alg); ES256 keys may bring their precomputed table
        (checked: this very table was checked against the key already)."""
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
            from microace.crypto import p256

            loaded = p256.load_table(table, key.public, not checked)
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
            from microace.crypto import p256

            return p256.verify(key.public, hashlib.sha256(tbs).digest(), sig, table)
        if alg == cose.ALG_EDDSA:
            from microace.crypto import ed25519

            return ed25519.verify(key.public, tbs, sig)
        raise VerifyError("alg %r is not a signature algorithm" % (alg,))

    def mac_verify(self, handle, alg, tbs, tag):
        from microace.crypto.ct import ct_eq
        from microace.crypto.hmac import hmac_sha256

        key, _ = self._key(handle, alg)
        tag_len = cose.algorithm(alg)[4]
        if cose.algorithm(alg)[0] != cose.TAG_MAC0 or len(tag) != tag_len:
            return False
        return ct_eq(hmac_sha256(key.secret, tbs)[:tag_len], tag)

    def decrypt(self, handle, alg, nonce, aad, ciphertext):
        from microace.crypto import aes_ccm

        key, _ = self._key(handle, alg)
        if cose.algorithm(alg)[0] != cose.TAG_ENCRYPT0:
            raise VerifyError("alg %r is not an encryption algorithm" % (alg,))
        return aes_ccm.decrypt(key.secret, nonce, aad, ciphertext, cose.algorithm(alg)[4])

    def unwrap(self, handle, alg, wrapped):
        """A JWE content key wrapped under this A128KW key (RFC 7518 §4.4) -> its bytes."""
        from microace.crypto import aes_kw

        key, _ = self._key(handle, alg)
        if alg != cose.ALG_A128KW:
            raise VerifyError("alg %r is not a key wrap algorithm" % (alg,))
        return aes_kw.unwrap(key.secret, wrapped)


def fingerprint(key):
    """Short public name of a cose.Key (the host's keys.fingerprint computes the same):
    SHA-256 over a label, kty, alg and the key material; a secret enters only hashed."""
    if key.kty == cose.KTY_EC2:
        material = key.public[0].to_bytes(32, "big") + key.public[1].to_bytes(32, "big")
    elif key.kty == cose.KTY_OKP:
        material = key.public.encoded
    else:
        material = hashlib.sha256(key.secret).digest()
    alg = (key.alg or 0) & 0xFFFF  # an EDHOC static DH key names no alg: 0
    h = hashlib.sha256(b"microace-fp1" + bytes([key.kty]) + alg.to_bytes(2, "big")
                       + material)
    return h.digest()[:8].hex()
