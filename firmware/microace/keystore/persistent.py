"""The board's key store: state kept on a medium, provisioning, sealing.

A medium (file.FileMedium, nvs.NvsMedium) holds one record (record.py) and replaces it
atomically; this class decides what may be written. A store is empty (never provisioned),
then open (provisioning mode: provision, put, erase, list, seal), then sealed: from then on
only provision() with a proof made from the owner secret changes it. Every change is
checked in full (bundle.py) before one write, so a refused change leaves nothing behind.

With a secure element (secure_element.AteccVerifier) every ES256 verification runs in the chip,
against the key in its slot: an ES256 key on the medium that is not the chip's is refused, so
rewriting the medium cannot swap the AS key. provision() writes a new ES256 AS key into the
slot while it is unlocked; seal() locks the slot for good.
"""

import os

from microace import cose
from microace.errors import DecodeError, KeyStoreError, MicroaceError, VerifyError
from microace.keystore import SoftwareKeyStore, hex_kid, parse_key


class PersistentKeyStore(SoftwareKeyStore):
    """Keys and RS configuration on `medium` (read() -> bytes or None, atomic write(blob));
    `chip`: a secure element for the ES256 AS key (verify, describe, read_public_key,
    provision_public_key, lock_slot and its slot), or None."""

    def __init__(self, medium, chip=None):
        super().__init__()
        self._medium = medium
        self._chip = chip
        self._in_chip = None  # the handle slot whose key the chip holds
        self._state = None  # the record's state; None until the first provisioning
        self._challenge = None
        blob = medium.read()
        if blob is None:
            return
        from microace.keystore import record  # on use: app.py drops it after start-up

        state = record.unpack(blob)
        blob = None  # the tables below need the room
        if chip is not None:  # with a record MAC key: KeyStoreError unless it is the chip's
            chip.check_record(state)
        try:
            self._install(state, [parse_key(e["key"])[0] for e in state["keys"]])
        except MicroaceError as e:
            raise KeyStoreError("store unusable: %s" % e)

    def describe(self):
        if self._chip is None:
            return self._medium.describe()
        if self._in_chip is None:
            return "ATECC608 does not hold an ES256 key of this store: ES256 tokens are " \
                "refused; other keys: " + self._medium.describe()
        return self._chip.describe()

    def verify(self, handle, alg, tbs, sig):
        if self._chip is None or handle.alg != cose.ALG_ES256:
            return super().verify(handle, alg, tbs, sig)
        if handle.slot != self._in_chip:
            raise VerifyError("ES256 key %s is not the one in the ATECC608" % hex_kid(handle.kid))
        return self._chip.verify(handle, alg, tbs, sig)

    # The provisioning side is keystore/provisioning.py's, loaded on use (app.py drops it
    # after start-up): these are its entry points.
    def status(self):
        """What the store holds and how it is protected: never key bytes."""
        return _provisioning().status(self)

    def provision(self, bundle, proof=None):
        """Make the store hold what `bundle` says (see bundle.py) -> status().

        Nothing is written when the bundle is refused or changes nothing. A sealed store takes
        a different bundle only with proof = bundle.proof(owner, bundle, challenge()), and
        stays sealed.
        """
        return _provisioning().provision(self, bundle, proof)

    def seal(self):
        """Refuse every change from now on, except an authenticated provision()."""
        return _provisioning().seal(self)

    def put(self, key, issuer=None, table=None):
        """Add one key (COSE_Key bytes) in provisioning mode -> its status entry."""
        return _provisioning().put(self, key, issuer, table)

    def erase(self, kid):
        """Remove the key with `kid` in provisioning mode."""
        _provisioning().erase(self, kid)

    def list(self):
        """The status entries of the keys, in provisioning mode."""
        return _provisioning().list_keys(self)

    def _open_for(self, what):
        return _provisioning().open_for(self, what)

    def _write(self, state, keys=None):
        _provisioning().write(self, state, keys)

    def challenge(self):
        """16 fresh random bytes for the next provision() with a proof (single use)."""
        self._challenge = os.urandom(16)
        return self._challenge

    def _chip_key(self):
        """The P-256 point in the chip's slot, or None when it holds none."""
        try:
            x, y = self._chip.read_public_key(self._chip.slot)
        except (KeyStoreError, OSError):  # no key there, or no chip answering
            return None
        return int.from_bytes(x, "big"), int.from_bytes(y, "big")

    def _install(self, state, keys, checked=False):
        self._keys = []
        self._handles = []
        for entry, key in zip(state["keys"], keys):
            table = None if self._chip else entry["table"]  # the chip needs no table
            try:
                self.add(key, entry["iss"], table, checked)
            except DecodeError as e:
                # A table of another geometry (firmware update), or one whose entries are not
                # this key's (p256.load_table checks them all): it is derived from the key,
                # so it is rebuilt, never used; the next write stores it.
                from microace.crypto import p256

                print("microace: ES256 table rebuilt:", e)
                entry["table"] = p256.make_table(key.public)
                self.add(key, entry["iss"], entry["table"])
        self._state = state
        if self._chip is not None:
            point = self._chip_key()
            self._in_chip = None
            for i, (key, _) in enumerate(self._keys):
                if key.alg == cose.ALG_ES256 and key.public == point:
                    self._in_chip = i


def _provisioning():
    from microace.keystore import provisioning

    return provisioning
