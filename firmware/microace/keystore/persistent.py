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
from microace.keystore import SoftwareKeyStore, fingerprint, hex_kid, parse_key


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
        from microace.keystore import record  # loaded on use: app.py drops it after start

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

    def status(self):
        """What the store holds and how it is protected: never key bytes."""
        s = self._state
        keys = []
        for h, (key, table) in zip(self._handles, self._keys):
            keys.append({"kid": hex_kid(h.kid), "alg": h.alg, "kty": h.kty, "issuer": h.issuer,
                         "fingerprint": fingerprint(key), "table": table is not None})
        st = {"backend": "atecc608" if self._chip else self._medium.name,
              "protection": self.describe(),
              "sealed": bool(s and s["sealed"]), "gen": s["gen"] if s else 0,
              "keys": keys, "config": s["config"] if s else None}
        if s and "own" in s:  # the board's EDHOC key (keystore/edhoc_record.py)
            from microace.keystore.edhoc_record import status

            st["edhoc"] = status(s["own"], self._chip, self._medium)
        return st

    def challenge(self):
        """16 fresh random bytes for the next provision() with a proof (single use)."""
        self._challenge = os.urandom(16)
        return self._challenge

    def provision(self, bundle, proof=None):
        """Make the store hold what `bundle` says (see bundle.py) -> status().

        Nothing is written when the bundle is refused or changes nothing. A sealed store takes
        a different bundle only with proof = bundle.proof(owner, bundle, challenge()), and
        stays sealed.
        """
        from microace.keystore import bundle as bundles

        challenge, self._challenge = self._challenge, None  # single use, whatever happens
        old = self._state
        state, keys = bundles.state(bundle, old, self._stored_table)
        if old is not None:
            if "own" in old:  # the board's EDHOC key outlives re-provisioning
                state["own"] = old["own"]
            state["gen"] = old["gen"]
            state["sealed"] = old["sealed"]
            if state == old:
                return self.status()  # idempotent: the store already holds this
            if old["sealed"]:
                bundles.check_proof(old["owner"], bundle, proof, challenge)
        if self._chip is not None:
            self._to_chip(keys)
        self._write(state, keys)
        return self.status()

    def seal(self):
        """Refuse every change from now on, except an authenticated provision()."""
        s = self._provisioned("seal")
        if self._in_chip is not None:
            self._chip.lock_slot(self._chip.slot)  # for good: the AS key cannot be swapped
        if not s["sealed"]:
            s = dict(s)
            s["sealed"] = True
            self._write(s)
        if self._chip is not None:  # after the sealed record is written: a locked MAC key
            self._chip.lock_mac_slot()  # with an unsealed record is a rollback
        return self.status()

    def put(self, key, issuer=None, table=None):
        """Add one key (COSE_Key bytes) in provisioning mode -> its status entry."""
        from microace.keystore import bundle as bundles

        s = self._open_for("put")
        entry, parsed = bundles.entry(len(s["keys"]), {"key": key, "iss": issuer,
                                                       "table": table}, self._stored_table)
        if self.lookup(parsed.kid) is not None:
            raise KeyStoreError("kid %s is already in the store" % hex_kid(parsed.kid))
        s = dict(s)
        s["keys"] = s["keys"] + [entry]
        self._write(s, [k for k, _ in self._keys] + [parsed])
        return self.status()["keys"][-1]

    def erase(self, kid):
        """Remove the key with `kid` in provisioning mode."""
        s = self._open_for("erase")
        h = self.lookup(kid) if kid else None
        if h is None:
            raise KeyStoreError("no key with kid %s" % hex_kid(kid))
        keep = [i for i in range(len(self._keys)) if i != h.slot]
        s = dict(s)
        s["keys"] = [s["keys"][i] for i in keep]
        self._write(s, [self._keys[i][0] for i in keep])

    def list(self):
        """The status entries of the keys, in provisioning mode."""
        self._open_for("list")
        return self.status()["keys"]

    def _provisioned(self, what):
        if self._state is None:
            raise KeyStoreError("%s: the store is not provisioned" % what)
        return self._state

    def _open_for(self, what):
        s = self._provisioned(what)
        if s["sealed"]:
            raise KeyStoreError("store is sealed: %s is refused (re-provision with a proof)"
                                % what)
        return s

    def _chip_key(self):
        """The P-256 point in the chip's slot, or None when it holds none."""
        try:
            x, y = self._chip.read_public_key(self._chip.slot)
        except (KeyStoreError, OSError):  # no key there, or no chip answering
            return None
        return int.from_bytes(x, "big"), int.from_bytes(y, "big")

    def _to_chip(self, keys):
        """Put the ES256 key into the chip unless it is there already (a locked slot with
        another key refuses: KeyStoreError, and nothing is written)."""
        es256 = [k for k in keys if k.alg == cose.ALG_ES256]
        if len(es256) > 1:
            raise KeyStoreError("the ATECC608 holds one ES256 key, the bundle has %d"
                                % len(es256))
        if es256 and es256[0].public != self._chip_key():
            x, y = es256[0].public
            self._chip.provision_public_key(self._chip.slot, x.to_bytes(32, "big"),
                                            y.to_bytes(32, "big"))

    def _stored_table(self, key):
        """The table already stored for this ES256 key: building one takes a while on a board."""
        if self._state is not None:
            for (k, _), entry in zip(self._keys, self._state["keys"]):
                if entry["table"] is not None and k.public == key.public:
                    return entry["table"]
        return None

    def _write(self, state, keys=None):
        """Store `state` as the next generation, then serve it (keys: its cose.Keys, or None
        when they did not change)."""
        state["gen"] = (self._state["gen"] if self._state else 0) + 1
        packed = state if self._chip is None else self._chip.maced(state, self._state is None)
        from microace.keystore import record
        try:
            self._medium.write(record.pack(packed))
        except OSError as e:
            raise KeyStoreError("cannot write the store: %s" % e)
        if keys is None:
            self._state = state
        else:
            self._install(state, keys, True)  # its tables: built, loaded or checked here

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
