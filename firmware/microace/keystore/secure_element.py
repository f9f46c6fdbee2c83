"""The key store's ATECC608 (`AteccVerifier`, over the chip driver atecc608.py): which slot
holds what, and what the store does there. The AS public key sits in a locked slot and ES256
verification runs in the chip; a secret slot's key MACs the store record; the board's EDHOC
key is made (GenKey) and used (ECDH) in a private-key slot.

Nothing here has run against a real chip yet: see docs/ATECC608.md.
"""

import hashlib

from micropython import const

from microace.cose import ALG_ES256
from microace.crypto import p256
from microace.errors import KeyStoreError, VerifyError
from microace.keystore.atecc608 import (ADDRESS, NONCE_MSGDIGBUF, VERIFY_SOURCE_MSGDIGBUF,
                                        ZONE_DATA, Atecc608, data_address,
                                        public_key_slot_problems, slot_locked)

# The slot configuration of each use (Configuration Zone: KeyConfig, SlotConfig).
# The AS public key: KeyConfig KeyType P-256 (4 << 2) and Lockable (bit 5), nothing else;
# SlotConfig 0: readable in the clear, WriteConfig Always until the slot is locked.
_PUBKEY_KEY_CONFIG = const(0x0030)
_PUBKEY_SLOT_CONFIG = const(0x0000)
# The record MAC key: KeyConfig KeyType 7 (not an ECC key, 7 << 2) and Lockable (bit 5);
# SlotConfig IsSecret (bit 7: never read out), MAC allowed (NoMac, bit 4, clear), WriteConfig
# Always until the slot is locked.
_MAC_KEY_KEY_CONFIG = const(0x003C)
_MAC_KEY_SLOT_CONFIG = const(0x0080)
# The board's EDHOC key: KeyConfig Private, PubInfo, KeyType 4 (P-256), Lockable. SlotConfig:
# ReadKey 0b0100 (ECDH permitted, result in the clear), IsSecret (never read), WriteConfig
# 0b0010 (GenKey may write).
_PRIVKEY_KEY_CONFIG = const(0x0033)
_PRIVKEY_SLOT_CONFIG = const(0x2084)

_RECORD_LABEL = b"microace-record-mac1"
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)  # P-256 order

PROTECTION = ("AS public key in a locked ATECC608 slot: cannot be swapped; "
              "ES256 verify runs in the chip")
UNMACED = ("the rest of the record is NOT authenticated (no mac_slot): a flash writer can add "
           "keys (EdDSA, HMAC, AES) for the issuer, change issuer, audience, scope map and "
           "limits, and clear sealed")
MACED = ("the rest of the record is MACed by the chip: a flash writer cannot change it, but "
         "can put back an older sealed record of this board, and code run on the board can "
         "have the chip MAC any record")


class AteccVerifier:
    """The key store's chip (`chip`: the atecc608.Atecc608 on `i2c`): ES256 verification
    against the AS public key in `slot` (8..15: the 72-byte slots) and the provisioning steps
    that put it there and lock it; the record MAC under the key in `mac_slot`; the board's
    EDHOC key in `edhoc_slot`."""

    def __init__(self, i2c, address=ADDRESS, slot=None, wake=None, mac_slot=None):
        _check_slot(slot)
        self.chip = Atecc608(i2c, address, wake)
        self.slot = slot
        self.mac_slot = _check_mac_slot(mac_slot, slot)  # None: the record is not MACed

    def verify(self, handle, alg, tbs, sig):
        """The key store's verify() for the AS key: SHA-256 in the MCU, ECDSA in the chip."""
        if alg != ALG_ES256 or handle.alg != ALG_ES256:
            raise VerifyError("alg %r is not the algorithm bound to the key" % (alg,))
        return self.verify_es256(hashlib.sha256(tbs).digest(), sig)

    def verify_es256(self, digest, sig):
        """Nonce pass-through of the digest into the message digest buffer, then Verify Stored
        from that buffer, as cryptoauthlib calib_verify_stored does on the ATECC608."""
        if len(digest) != 32 or len(sig) != 64:
            return False
        r = int.from_bytes(sig[:32], "big")
        s = int.from_bytes(sig[32:], "big")
        if not (0 < r < _N and 0 < s < _N):
            return False  # SEC 1 4.1.4 step 1, decided here rather than left to the chip
        self.chip.nonce_load(digest, NONCE_MSGDIGBUF)
        return self.chip.verify_stored(self.slot, sig, VERIFY_SOURCE_MSGDIGBUF)

    def state(self):
        """What the chip says about the AS key slot (for `doctor`); never key bytes."""
        revision = self.chip.info()
        config = self.chip.read_config()
        problems = public_key_slot_problems(config, self.slot)
        if revision[2] != 0x60:
            problems.append("Info revision %s is not an ATECC608" % revision.hex())
        return {"address": self.chip.address, "slot": self.slot, "revision": revision.hex(),
                "slot_locked": slot_locked(config, self.slot), "problems": problems}

    def describe(self):
        try:
            st = self.state()
        except KeyStoreError as exc:
            return "ATECC608 not usable: %s" % exc
        if st["problems"] or not st["slot_locked"]:
            return "AS public key in ATECC608 slot %d NOT protected: %s" % (
                self.slot, "; ".join(st["problems"] or ["slot not locked"]))
        if self.mac_slot is None:
            return PROTECTION + "; " + UNMACED
        if not self.mac_slot_locked():
            return PROTECTION + "; record MAC key in slot %d not locked yet (seal)" \
                % self.mac_slot
        return PROTECTION + "; " + MACED

    def configure_public_key_slot(self, slot):
        """Set SlotConfig and KeyConfig of `slot` for the AS key (configuration zone unlocked;
        takes effect once it is locked)."""
        _check_slot(slot)
        self.chip.configure_slot(slot, _PUBKEY_SLOT_CONFIG, _PUBKEY_KEY_CONFIG)

    def provision_public_key(self, slot, x, y):
        """Write the AS key x, y (32 bytes each, big-endian) into `slot` once its configuration
        can hold it (atecc608.Atecc608.write_public_key), then read it back and compare."""
        _check_slot(slot)
        p256.decode_point(x, y)  # DecodeError unless on the curve
        config = self.chip.read_config()
        if slot_locked(config, slot):
            raise KeyStoreError("ATECC608 slot %d is locked: its key cannot be replaced" % slot)
        problems = public_key_slot_problems(config, slot)
        if problems:
            raise KeyStoreError("ATECC608 slot %d cannot take the AS key: %s"
                                % (slot, "; ".join(problems)))
        self.chip.write_public_key(slot, x, y)
        if self.read_public_key(slot) != (bytes(x), bytes(y)):
            raise KeyStoreError("ATECC608 slot %d reads back a different key" % slot)

    def read_public_key(self, slot):
        """The (x, y) stored in `slot` (data zone locked, slot readable)."""
        _check_slot(slot)
        return self.chip.read_public_key(slot)

    def lock_slot(self, slot):
        """Lock `slot` for good (Lock, SlotLock mode); a no-op when it already is."""
        _check_slot(slot)
        self.chip.lock_slot(slot)

    # -- the board's EDHOC key (RFC 9528 static DH): made in the chip, used there -----------
    edhoc_slot = None  # board.json "edhoc_slot" (0..7): the private-key slot, or None

    def configure_private_key_slot(self, slot):
        """Set SlotConfig and KeyConfig of `slot` for the EDHOC key (configuration zone
        unlocked; takes effect once it is locked)."""
        _check_private_slot(slot)
        self.chip.configure_slot(slot, _PRIVKEY_SLOT_CONFIG, _PRIVKEY_KEY_CONFIG)

    def generate_private_key(self, slot):
        """GenKey (Create): a new random P-256 private key in `slot`, which it never leaves
        -> its public (x, y), checked to be on the curve (the bus is not trusted)."""
        _check_private_slot(slot)
        out = self.chip.genkey(slot)
        p256.decode_point(out[:32], out[32:])
        return out[:32], out[32:]

    def ecdh(self, slot, x, y):
        """ECDH in the chip with the private key in `slot` and the peer's public (x, y)
        -> the 32-byte shared secret (its x coordinate)."""
        _check_private_slot(slot)
        return self.chip.ecdh(slot, x, y)

    # The key store record's MAC: every trust-relevant field of the record (all keys, issuer,
    # audience, scope map, limits, sealed flag, owner) under a key only the chip holds.

    def configure_mac_key_slot(self, slot):
        """SlotConfig and KeyConfig of the record MAC key slot (configuration zone unlocked)."""
        _check_mac_slot(slot, self.slot)
        if slot == self.edhoc_slot:
            raise KeyStoreError("ATECC608 mac_slot must not be the EDHOC key's slot")
        self.chip.configure_slot(slot, _MAC_KEY_SLOT_CONFIG, _MAC_KEY_KEY_CONFIG)

    def new_record_key(self):
        """A fresh random record MAC key into its slot (refused by the chip once locked)."""
        import os

        self.chip.write(ZONE_DATA, data_address(self.mac_slot, 0), os.urandom(32))

    def mac_slot_locked(self):
        return self.chip.is_slot_locked(self.mac_slot)

    def lock_mac_slot(self):
        """Lock the record MAC key for good (seal); a no-op when it already is, or with no
        mac_slot."""
        if self.mac_slot is not None:
            self.chip.lock_slot(self.mac_slot)

    def record_mac(self, body):
        """The MAC of a record body (bytes) under the slot key."""
        return self.chip.mac(self.mac_slot, hashlib.sha256(_RECORD_LABEL + body).digest())

    def maced(self, state, first):
        """The key store state to write, with the chip's MAC over the rest of it (none without
        mac_slot). `first`: the board's first record, which gets a key of its own."""
        if self.mac_slot is None:
            return state
        from microace import cbor

        if first and not self.mac_slot_locked():
            self.new_record_key()
        return dict(state, mac=self.record_mac(cbor.encode(state)))

    def check_record(self, state):
        """Take the MAC out of a record's `state` read at boot; refuse (KeyStoreError) one
        whose MAC is missing or not the chip's over the rest of it, or that is unsealed once
        the MAC key is locked: seal() locks it after writing the sealed record, so that is an
        older record put back."""
        mac = state.pop("mac", None)
        if self.mac_slot is None:
            return
        from microace import cbor
        from microace.crypto.ct import ct_eq

        if type(mac) is not bytes or not ct_eq(self.record_mac(cbor.encode(state)), mac):
            raise KeyStoreError("store unusable: the record's MAC is not the ATECC608's")
        if not state["sealed"] and self.mac_slot_locked():
            raise KeyStoreError("store unusable: an unsealed record, but the ATECC608 was "
                                "sealed (an older record put back)")


def _check_mac_slot(slot, pubkey_slot):
    if slot is not None and (not isinstance(slot, int) or not 0 <= slot <= 15
                             or slot == pubkey_slot):
        raise KeyStoreError("ATECC608 mac_slot must be 0..15 and not the public key slot, "
                            "not %r" % (slot,))
    return slot


def _check_slot(slot):
    if not isinstance(slot, int) or not 8 <= slot <= 15:
        raise KeyStoreError("ATECC608 public key slot must be 8..15 (the 72-byte slots), not %r"
                            % (slot,))


def _check_private_slot(slot):
    if not isinstance(slot, int) or not 0 <= slot <= 7:
        raise KeyStoreError("ATECC608 EDHOC key slot must be 0..7 (a 36-byte slot), not %r"
                            % (slot,))
