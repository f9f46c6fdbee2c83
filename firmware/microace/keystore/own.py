"""The board's own static DH key for EDHOC (RFC 9528 methods 1 and 3), kept by the key store.

Made on the board and kept there: its private part is never returned, not even to the host.
On the file and NVS media it is the record's "own" field, written like every change (one
atomic record write); with an ATECC608 and an "edhoc_slot" the chip makes it (GenKey) and
does the ECDH, and the record keeps only the public part (the field: edhoc_record.py).
`EdhocKeyStore` is the store of boards whose board.json enables EDHOC (wiring.open_store);
the others never load this.
"""

from microace.errors import KeyStoreError
from microace.keystore.edhoc_record import credential, generate, handle, shape_problem
from microace.keystore.persistent import PersistentKeyStore


class EdhocKeyStore(PersistentKeyStore):
    """PersistentKeyStore with the board's EDHOC key: generate, edhoc_key, edhoc_credential,
    ecdh, edhoc_status."""

    def __init__(self, medium, chip=None):
        super().__init__(medium, chip)
        own = self._state and self._state.get("own")
        if own is not None and shape_problem(own):
            raise KeyStoreError("store corrupt: " + shape_problem(own))

    def generate(self, kid, sub):
        """Make the board's EDHOC key (kid bytes, CCS sub text) in provisioning mode; it
        replaces the previous one -> edhoc_status()."""
        s = dict(self._open_for("generate"))
        s["own"] = generate(self._chip, kid, sub)
        self._write(s)
        return self.edhoc_status()

    def _own(self):
        return self._state and self._state.get("own")

    def edhoc_key(self):
        """The handle of the board's EDHOC key (kid, public point, sub), or None."""
        own = self._own()
        return handle(own) if own else None

    def edhoc_credential(self):
        """The RS's CCS (RFC 9528 §3.5.2) built from its key, or None."""
        own = self._own()
        return credential(own) if own else None

    def ecdh(self, h, peer):
        """x of d*peer for the board's key d (h: edhoc_key()) and a validated point peer."""
        own = self._own()
        if not own or h.kid != own["kid"]:
            raise KeyStoreError("ecdh: not the board's EDHOC key")
        if own["d"] is None:
            return self._chip.ecdh(self._chip.edhoc_slot, peer[0].to_bytes(32, "big"),
                                   peer[1].to_bytes(32, "big"))
        from microace.crypto import ecdh

        return ecdh.ecdh(int.from_bytes(own["d"], "big"), peer)

    def edhoc_status(self):
        """kid, sub, fingerprint and where the private key lives; None without a key."""
        return self.status().get("edhoc")
